//! The admin listener: health, readiness, metrics, reload, and the control-plane API under `/v1`.
//! Never a data port.

use std::sync::Arc;

use async_trait::async_trait;
use http::Response;
use pingora::apps::http_app::ServeHttp;
use pingora::protocols::http::ServerSession;
use sandgate_core::problem::{problem_body, ProblemKind, PROBLEM_JSON};
use serde_json::json;

use crate::reload::Process;
use sandgate_control::{self as control, Routes};

/// The admin app.
pub struct AdminApp {
    /// The process.
    pub process: Arc<Process>,
    routes: Routes,
}

impl std::fmt::Debug for AdminApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminApp").finish_non_exhaustive()
    }
}

impl AdminApp {
    /// The admin app of `process`.
    pub fn new(process: Arc<Process>) -> AdminApp {
        AdminApp { process, routes: Routes::new() }
    }
}

#[async_trait]
impl ServeHttp for AdminApp {
    async fn response(&self, session: &mut ServerSession) -> Response<Vec<u8>> {
        let path = session.req_header().uri.path().to_owned();
        if control::owns(&path) {
            return control::serve(&self.process.control, &self.routes, session).await;
        }
        let (status, content_type, body) = match (session.req_header().method.as_str(), path.as_str()) {
            ("GET", "/healthz") => (200, "application/json", json!({"status": "ok"})),
            ("GET", "/readyz") => {
                let shared = &self.process.shared;
                let store = Arc::clone(&shared.store);
                let store_up = tokio::task::spawn_blocking(move || store.ping()).await.unwrap_or(false);
                let stale = shared.freshness.stale(shared.tables.load().settings.max_staleness);
                let draining = shared.draining.load(std::sync::atomic::Ordering::SeqCst);
                match (store_up, stale) {
                    _ if draining => (503, "application/json", json!({"status": "draining"})),
                    (false, _) => (503, "application/json", json!({"status": "store unavailable"})),
                    (true, Some(why)) => (503, "application/json", json!({"status": "stale", "detail": why})),
                    (true, None) => (200, "application/json", json!({"status": "ready"})),
                }
            }
            ("GET", "/metrics") => {
                // The metrics name every application; they are the operator's, like the control
                // plane on this listener (a scraper gets an operator token of its own).
                if let Err(refusal) = self.operator_only(session, "GET /metrics").await {
                    return refusal;
                }
                let dropped = i64::try_from(self.process.shared.store.dropped_events()).unwrap_or(i64::MAX);
                self.process.shared.metrics.activity_dropped.set(dropped);
                let bus = i64::from(self.process.shared.freshness.bus_connected());
                self.process.shared.metrics.change_bus_connected.set(bus);
                return respond(200, "text/plain; version=0.0.4", self.process.shared.metrics.render());
            }
            ("POST", "/reload") => return self.reload(session).await,
            ("POST", "/introspect") => return self.introspect(session).await,
            ("GET", "/") => (
                200,
                "application/json",
                json!({
                    "service": "sandgate admin",
                    "endpoints": ["GET /healthz", "GET /readyz", "GET /metrics", "POST /reload", "POST /introspect", "/v1/… (control plane)"],
                    "openapi": "/v1/openapi.yaml",
                }),
            ),
            (method, _) => {
                if let Some(allowed) = fixed_route_method(&path) {
                    // A route of this listener asked with another method: 405 naming the one it takes.
                    let detail = format!("{path} answers {allowed} only; {method} is not allowed");
                    let body = problem_body(ProblemKind::MethodNotAllowed, &detail, None, None);
                    let mut answer = respond(405, PROBLEM_JSON, body);
                    answer.headers_mut().insert(http::header::ALLOW, http::HeaderValue::from_static(allowed));
                    return answer;
                }
                let detail = format!(
                    "the admin listener serves /healthz, /readyz, /metrics, POST /reload, POST /introspect and the control plane under /v1 (GET /v1/openapi.yaml); {path} is not one of them"
                );
                let body = problem_body(ProblemKind::UnknownRoute, &detail, None, None);
                return respond(404, PROBLEM_JSON, body);
            }
        };
        respond(status, content_type, serde_json::to_vec(&body).unwrap_or_default())
    }
}

impl AdminApp {
    /// `Ok` when the request carries an operator token; else the 401/403 answer to send.
    async fn operator_only(&self, session: &ServerSession, what: &str) -> Result<(), Response<Vec<u8>>> {
        let header = session.req_header().headers.get("authorization").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let process = Arc::clone(&self.process);
        let actor = tokio::task::spawn_blocking(move || {
            let operators = control::operators(&process.control);
            let (store, hash) = (&process.control.store, &process.control.keys.secret_hash);
            match control::auth::authenticate(header.as_deref(), &operators, store, hash) {
                Ok(control::auth::Actor::Operator(_)) => Ok(()),
                Ok(control::auth::Actor::Member(_)) => Err(403),
                _ => Err(401),
            }
        })
        .await
        .unwrap_or(Err(500));
        match actor {
            Ok(()) => Ok(()),
            Err(403) => {
                let detail = format!("only an operator may call {what}");
                Err(respond(403, PROBLEM_JSON, problem_body(ProblemKind::Forbidden, &detail, None, None)))
            }
            Err(401) => {
                let detail = format!("{what} needs Authorization: Bearer <operator token>");
                let mut response =
                    respond(401, PROBLEM_JSON, problem_body(ProblemKind::Unauthenticated, &detail, None, None));
                response
                    .headers_mut()
                    .insert("www-authenticate", http::HeaderValue::from_static("Bearer realm=\"sandgate-admin\""));
                Err(response)
            }
            Err(_) => Err(respond(
                500,
                PROBLEM_JSON,
                problem_body(ProblemKind::Internal, "authentication failed", None, None),
            )),
        }
    }

    /// `POST /introspect` (RFC 7662), for operators (a backend gets an operator token of its
    /// own): `token=<access or refresh token>` as a form; whether it is active now and its claims.
    async fn introspect(&self, session: &mut ServerSession) -> Response<Vec<u8>> {
        if let Err(refusal) = self.operator_only(session, "POST /introspect").await {
            return refusal;
        }
        let mut body = Vec::new();
        loop {
            match session.read_request_body().await {
                Ok(Some(chunk)) if body.len() + chunk.len() <= 16 * 1024 => body.extend_from_slice(&chunk),
                Ok(None) => break,
                _ => {
                    let detail = "the body must be a form of at most 16 KiB: token=<token>";
                    return respond(400, PROBLEM_JSON, problem_body(ProblemKind::InvalidRequest, detail, None, None));
                }
            }
        }
        let Some(token) = form_urlencoded::parse(&body).find(|(name, _)| name == "token").map(|(_, v)| v.into_owned())
        else {
            let detail = "send the token as a form field: token=<token> (RFC 7662)";
            return respond(400, PROBLEM_JSON, problem_body(ProblemKind::InvalidRequest, detail, None, None));
        };
        let shared = &self.process.shared;
        let answer = sandgate_gateway::token::introspect::introspect(&shared.tables.load(), &shared.directory, &token);
        let mut response = respond(200, "application/json", serde_json::to_vec(&answer).unwrap_or_default());
        response.headers_mut().insert("cache-control", http::HeaderValue::from_static("no-store"));
        response
    }

    /// `POST /reload`, for operators only.
    async fn reload(&self, session: &mut ServerSession) -> Response<Vec<u8>> {
        if let Err(refusal) = self.operator_only(session, "POST /reload").await {
            return refusal;
        }
        let process = Arc::clone(&self.process);
        match tokio::task::spawn_blocking(move || process.reload()).await {
            Ok(Ok(report)) => {
                let body = json!({"reloaded": true, "needs_restart": report.needs_restart});
                respond(200, "application/json", serde_json::to_vec(&body).unwrap_or_default())
            }
            Ok(Err(e)) => {
                let detail = format!("configuration refused, the previous one stays in force: {e}");
                respond(400, PROBLEM_JSON, problem_body(ProblemKind::InvalidRequest, &detail, None, None))
            }
            Err(_) => respond(500, PROBLEM_JSON, problem_body(ProblemKind::Internal, "reload failed", None, None)),
        }
    }
}

/// The one method a fixed route of this listener answers (the control plane under `/v1` routes
/// its own).
fn fixed_route_method(path: &str) -> Option<&'static str> {
    match path {
        "/" | "/healthz" | "/readyz" | "/metrics" => Some("GET"),
        "/reload" | "/introspect" => Some("POST"),
        _ => None,
    }
}

fn respond(status: u16, content_type: &str, body: Vec<u8>) -> Response<Vec<u8>> {
    control::http::build(status, content_type, body)
}
