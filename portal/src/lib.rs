//! The developer portal: server-rendered pages for partners (sign-up, sandbox credentials,
//! applications, credentials, developers, activity, production review, API docs with "try it")
//! and operators (review queue, partners, revocation, scrub, mail outbox), on a listener of its
//! own (`portal.listen`), never the admin listener.
//!
//! Each request: read (form capped) → who is looking (session cookie) → same-origin and
//! anti-forgery checks on every form → the page's handler on a blocking thread → HTML with the
//! security headers. Writes go through the control plane's own routes and rules in-process
//! (`sandgate_control::call_as`), so the activity log names the acting member; reads use the
//! control plane's permission rules (`Actor`) on the store's records.

mod accounts;
mod docs;
mod form;
mod operator;
mod partner;
pub mod session;
mod templates;
pub mod web;

use std::sync::Arc;

use async_trait::async_trait;
use http::Response;
use pingora::apps::http_app::ServeHttp;
use pingora::protocols::http::ServerSession;

use sandgate_control::context::ControlContext;
use sandgate_control::http::{Problem, Reply, Request};
use sandgate_control::Routes;
use sandgate_core::control_config::PortalSettings;
use sandgate_openapi::Api;

use crate::session::Viewer;
use crate::web::{Page, WebRequest};

/// Calls TRAINING through the gateway for the docs' "try it" panel. The process that assembles
/// the portal provides it (it holds the gateway's token issuer).
pub trait TryIt: Send + Sync {
    /// A TRAINING access token for `client_id` (an active TRAINING credential), with every scope
    /// of its application.
    fn token(&self, client_id: &str) -> Result<String, String>;
    /// The TRAINING listener's base URL (`http://127.0.0.1:8080`).
    fn training_url(&self) -> String;
    /// The first commands for a new TRAINING credential (get a token, make a first call), as
    /// `sandgate up` prints them for the demo; empty when no spec suggests one.
    fn first_steps(&self, client_id: &str, secret: &str) -> String;
}

/// What every page handler shares.
pub struct Portal {
    /// The control plane (store, keys, settings, rules).
    pub control: Arc<ControlContext>,
    routes: Routes,
    /// The portal's settings.
    pub settings: PortalSettings,
    docs: docs::Catalog,
    try_it: Option<Arc<dyn TryIt>>,
}

impl std::fmt::Debug for Portal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Portal").field("settings", &self.settings).finish_non_exhaustive()
    }
}

impl Portal {
    /// The portal over `control`, documenting `apis`.
    pub fn new(
        control: Arc<ControlContext>,
        settings: PortalSettings,
        apis: &[Api],
        try_it: Option<Arc<dyn TryIt>>,
    ) -> Portal {
        Portal { control, routes: Routes::new(), settings, docs: docs::Catalog::build(apis), try_it }
    }

    /// Runs a control-plane call as the viewer (same routes, rules and activity log as the API).
    fn call(
        &self,
        viewer: &Viewer,
        method: http::Method,
        path: &str,
        query: &str,
        body: serde_json::Value,
    ) -> Result<Reply, Problem> {
        let request = Request {
            method,
            path: path.to_owned(),
            query: query.to_owned(),
            authorization: None,
            accepts_csv: false,
            body: bytes::Bytes::from(serde_json::to_vec(&body).unwrap_or_default()),
        };
        sandgate_control::call_as(&self.control, &self.routes, &viewer.actor, &request)
    }

    /// Like [`Portal::call`], asking for CSV.
    fn call_csv(&self, viewer: &Viewer, path: &str, query: &str) -> Result<Reply, Problem> {
        let request = Request {
            method: http::Method::GET,
            path: path.to_owned(),
            query: query.to_owned(),
            authorization: None,
            accepts_csv: true,
            body: bytes::Bytes::new(),
        };
        sandgate_control::call_as(&self.control, &self.routes, &viewer.actor, &request)
    }
}

/// The portal as a Pingora HTTP app.
#[derive(Debug)]
pub struct PortalApp {
    portal: Arc<Portal>,
}

impl PortalApp {
    /// The app serving `portal`.
    pub fn new(portal: Arc<Portal>) -> PortalApp {
        PortalApp { portal }
    }
}

#[async_trait]
impl ServeHttp for PortalApp {
    async fn response(&self, session: &mut ServerSession) -> Response<Vec<u8>> {
        let request = match web::read(session).await {
            Ok(request) => request,
            Err(web::ReadError::TooLarge) => {
                return templates::message_page(
                    413,
                    "Too much data",
                    "The form is larger than the portal accepts (256 KiB).",
                    "/",
                    "Home",
                )
                .into_response();
            }
            Err(web::ReadError::Broken) => return Page::html(400, String::new()).into_response(),
        };
        let portal = Arc::clone(&self.portal);
        let page = tokio::task::spawn_blocking(move || route(&portal, &request)).await;
        page.unwrap_or_else(|_| {
            templates::message_page(
                500,
                "Something went wrong",
                "The page could not be built; nothing was changed. Try again.",
                "/",
                "Home",
            )
        })
        .into_response()
    }
}

/// A one-time sign-in link for `email` valid for `ttl_secs` (what `sandgate up` prints for the
/// demo partner's owner).
pub fn sign_in_link(
    control: &ControlContext,
    settings: &PortalSettings,
    email: &str,
    ttl_secs: i64,
) -> Result<String, sandgate_store::StoreError> {
    let token = session::random_token();
    let hash = control.keys.secret_hash.hash(&token);
    control.store.create_portal_link(&hash, email, "sign-in", control.store.now_unix() + ttl_secs)?;
    Ok(format!("{}/signin/link/{token}", settings.public_url))
}

/// Static files, compiled in.
const STYLESHEET: &str = include_str!("../static/portal.css");
const SCRIPT: &str = include_str!("../static/portal.js");

/// Routes one request to its page.
fn route(portal: &Portal, request: &WebRequest) -> Page {
    let segments: Vec<&str> = request.path.trim_matches('/').split('/').collect();
    let method = request.method.as_str();
    match (method, segments.as_slice()) {
        ("GET", ["static", "portal.css"]) => return static_file("text/css; charset=utf-8", STYLESHEET),
        ("GET", ["static", "portal.js"]) => return static_file("text/javascript; charset=utf-8", SCRIPT),
        ("GET", ["healthz"]) => {
            return Page { status: 200, content_type: "text/plain", body: b"ok".to_vec(), headers: Vec::new() }
        }
        ("GET", ["favicon.ico"]) => {
            return Page { status: 204, content_type: "image/x-icon", body: Vec::new(), headers: Vec::new() }
        }
        _ => {}
    }
    let viewer = match session::viewer(portal, request) {
        Ok(viewer) => viewer,
        Err(e) => return templates::store_down(&e),
    };
    if method == "POST" {
        if let Err(forged) = session::check_form(portal, request, viewer.as_ref()) {
            tracing::warn!(path = %request.path, ?forged, "portal form refused");
            return templates::message_page(
                403,
                "This form was refused",
                "It came from another site, or the page was too old. Go back, reload the page and send it again.",
                "/",
                "Home",
            );
        }
    }
    let existing = request.cookie(session::csrf_cookie(portal)).filter(|v| !v.is_empty());
    // Signed-in pages use the session's token; only a signed-out visitor needs one of these.
    let anonymous_csrf = match (&viewer, existing) {
        (Some(_), _) => String::new(),
        (None, Some(token)) => token.to_owned(),
        (None, None) => session::random_token(),
    };
    let ctx = Ctx { portal, request, viewer: viewer.as_ref(), anonymous_csrf };
    let page = match (method, segments.as_slice()) {
        ("GET", [""]) => match &viewer {
            Some(v) if v.is_operator() => Page::redirect("/operator"),
            Some(_) => partner::dashboard(&ctx),
            None => accounts::home(&ctx),
        },
        ("GET", ["signup"]) => accounts::signup_page(&ctx),
        ("POST", ["signup"]) => accounts::signup(&ctx),
        ("GET", ["signin"]) => accounts::signin_page(&ctx),
        ("POST", ["signin"]) => accounts::signin(&ctx),
        ("POST", ["signin", "link"]) => accounts::send_link(&ctx),
        ("GET", ["signin", "link", token]) => accounts::link_page(&ctx, token),
        ("POST", ["signin", "link", token]) => accounts::redeem_link(&ctx, token),
        ("POST", ["signout"]) => accounts::signout(&ctx, false),
        ("POST", ["signout", "everywhere"]) => accounts::signout(&ctx, true),
        ("GET", ["invitations", id]) => accounts::invitation_page(&ctx, id),
        ("POST", ["invitations", id]) => accounts::accept_invitation(&ctx, id),
        ("POST", ["account", "switch"]) => accounts::switch(&ctx),
        ("GET", ["docs"]) => docs::index(&ctx),
        ("GET", ["docs", slug]) => docs::api_page(&ctx, slug, None),
        ("POST", ["docs", slug, "try"]) => docs::try_it(&ctx, slug),
        ("GET", ["operator", "signin"]) => operator::signin_page(&ctx),
        ("POST", ["operator", "signin"]) => operator::signin(&ctx),
        ("GET" | "POST", ["operator", ..]) => operator::route(&ctx, method, &segments[1..]),
        _ => partner::route(&ctx, method, &segments),
    };
    // Signed-out pages carry forms too: give the browser its anti-forgery cookie, with the page
    // whose forms carry it (never with an error or a redirect, which a browser may fetch in
    // parallel, e.g. a missing image, and whose cookie would replace the page's).
    if viewer.is_none() && existing.is_none() && method == "GET" && page.status == 200 {
        let cookie =
            web::cookie(session::csrf_cookie(portal), &ctx.anonymous_csrf, 86_400, portal.settings.secure_cookies);
        return page.with_cookie(cookie);
    }
    page
}

fn static_file(content_type: &'static str, text: &str) -> Page {
    Page { status: 200, content_type, body: text.as_bytes().to_vec(), headers: Vec::new() }
}

/// One request as a handler sees it.
pub(crate) struct Ctx<'a> {
    portal: &'a Portal,
    request: &'a WebRequest,
    viewer: Option<&'a Viewer>,
    /// A signed-out visitor's anti-forgery token: the cookie's, or one minted for this page (the
    /// same value goes into the cookie and the forms).
    anonymous_csrf: String,
}

impl Ctx<'_> {
    /// The anti-forgery token the page's forms carry: the session's, or a signed-out visitor's.
    pub(crate) fn csrf(&self) -> String {
        self.viewer.map_or_else(|| self.anonymous_csrf.clone(), |v| v.session.csrf.clone())
    }
}
