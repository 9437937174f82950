//! Who is looking: portal sessions (a random cookie, stored as its keyed hash), the member or
//! operator a session acts as, and the checks every form passes (same origin, anti-forgery token).

use base64::Engine;
use subtle::ConstantTimeEq;

use sandgate_control::auth::Actor;
use sandgate_store::{Membership, PortalSession, SessionSubject, StoreError};

use crate::web::{cookie, WebRequest};
use crate::Portal;

/// A fresh random token (32 bytes, base64url).
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    sandgate_core::secret::fill_random(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The session cookie's name (`__Host-` when served over HTTPS: no subdomain can set it).
pub fn session_cookie(portal: &Portal) -> &'static str {
    if portal.settings.secure_cookies {
        "__Host-sg_session"
    } else {
        "sg_session"
    }
}

/// The anonymous forms' anti-forgery cookie.
pub fn csrf_cookie(portal: &Portal) -> &'static str {
    if portal.settings.secure_cookies {
        "__Host-sg_csrf"
    } else {
        "sg_csrf"
    }
}

/// A signed-in viewer.
#[derive(Debug, Clone)]
pub struct Viewer {
    /// The keyed hash of the session cookie.
    pub session_hash: Vec<u8>,
    /// The session.
    pub session: PortalSession,
    /// Who the control plane sees.
    pub actor: Actor,
    /// A person's active memberships (empty for operators).
    pub memberships: Vec<Membership>,
}

impl Viewer {
    /// The person's address, or the operator's label.
    pub fn label(&self) -> String {
        match &self.session.subject {
            SessionSubject::Person(email) => email.clone(),
            SessionSubject::Operator(name) => format!("operator {name}"),
        }
    }

    /// Whether this is an operator.
    pub fn is_operator(&self) -> bool {
        matches!(self.actor, Actor::Operator(_))
    }

    /// The membership the session acts as.
    pub fn membership(&self) -> Option<&Membership> {
        let id = self.session.member_id.as_deref()?;
        self.memberships.iter().find(|m| m.member.id == id)
    }
}

/// The viewer of `request`, when its session cookie names a live session.
pub fn viewer(portal: &Portal, request: &WebRequest) -> Result<Option<Viewer>, StoreError> {
    let Some(token) = request.cookie(session_cookie(portal)).filter(|t| !t.is_empty()) else { return Ok(None) };
    let session_hash = portal.control.keys.secret_hash.hash(token);
    let Some(session) = portal.control.store.portal_session(&session_hash)? else { return Ok(None) };
    match session.subject.clone() {
        SessionSubject::Operator(name) => {
            // A token taken out of the configuration ends its sessions too.
            if !sandgate_control::operators(&portal.control).iter().any(|(known, _)| *known == name) {
                portal.control.store.close_portal_session(&session_hash)?;
                return Ok(None);
            }
            Ok(Some(Viewer { session_hash, session, actor: Actor::Operator(name), memberships: Vec::new() }))
        }
        SessionSubject::Person(email) => {
            let memberships = portal.control.store.memberships(&email)?;
            let current = session
                .member_id
                .clone()
                .filter(|id| memberships.iter().any(|m| m.member.id == *id))
                .or_else(|| memberships.first().map(|m| m.member.id.clone()));
            let actor = match &current {
                Some(id) => match portal.control.store.principal_of_member(id)? {
                    Some(principal) => Actor::Member(principal),
                    None => Actor::Anonymous,
                },
                None => Actor::Anonymous,
            };
            let mut session = session;
            if session.member_id != current {
                if let Some(id) = &current {
                    portal.control.store.switch_portal_session(&session_hash, id)?;
                }
                session.member_id = current;
            }
            Ok(Some(Viewer { session_hash, session, actor, memberships }))
        }
    }
}

/// Opens a new session for `subject` and returns its cookie. Always a fresh id: a cookie set
/// before sign-in (session fixation) is never promoted.
pub fn open(portal: &Portal, subject: &SessionSubject, member_id: Option<&str>) -> Result<String, StoreError> {
    let token = random_token();
    let hash = portal.control.keys.secret_hash.hash(&token);
    let expires_at = portal.control.store.now_unix() + i64::try_from(portal.settings.session_secs).unwrap_or(43_200);
    portal.control.store.open_portal_session(&hash, subject, member_id, &random_token(), expires_at)?;
    Ok(cookie(session_cookie(portal), &token, portal.settings.session_secs, portal.settings.secure_cookies))
}

/// The cookie that deletes the session cookie.
pub fn cleared(portal: &Portal) -> String {
    cookie(session_cookie(portal), "", 0, portal.settings.secure_cookies)
}

/// Why a form was refused before its handler ran.
#[derive(Debug, PartialEq, Eq)]
pub enum Forged {
    /// Sent from another site (`Sec-Fetch-Site` or `Origin`).
    CrossSite,
    /// The anti-forgery token is missing or wrong.
    Token,
}

/// Checks that a form comes from the portal's own pages: the browser says same-origin (or says
/// nothing), any `Origin` other than `null` is the portal's, and the form's `csrf` field matches
/// the session's token (signed in) or the anti-forgery cookie (signed out).
pub fn check_form(portal: &Portal, request: &WebRequest, viewer: Option<&Viewer>) -> Result<(), Forged> {
    if matches!(request.fetch_site.as_deref(), Some("cross-site" | "same-site")) {
        return Err(Forged::CrossSite);
    }
    // `Origin: null` is what browsers send under `Referrer-Policy: no-referrer` (which every page
    // sets); the token and the SameSite=Strict cookies decide then.
    if let Some(origin) = request.origin.as_deref().filter(|o| *o != "null") {
        let own = origin == portal.settings.public_url
            || origin == format!("http://{}", request.host)
            || origin == format!("https://{}", request.host);
        if !own {
            return Err(Forged::CrossSite);
        }
    }
    let expected = match viewer {
        Some(viewer) => viewer.session.csrf.as_str(),
        None => request.cookie(csrf_cookie(portal)).unwrap_or_default(),
    };
    let sent = request.field("csrf");
    if expected.is_empty() || !bool::from(expected.as_bytes().ct_eq(sent.as_bytes())) {
        return Err(Forged::Token);
    }
    Ok(())
}
