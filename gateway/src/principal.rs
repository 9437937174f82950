//! `Principal`: who is calling, as a verified token proves it. A leaf: the context, the token
//! cache and the phases all name it, and it names only the scope set.

use http::HeaderValue;

use crate::table::scopes::ScopeSet;

/// Who is calling, as proven by a verified token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// Client id.
    pub client_id: String,
    /// Application id.
    pub application: String,
    /// Partner id.
    pub partner: String,
    /// Space-separated scopes, as in the token.
    pub scopes: String,
    /// The same scopes as a set.
    pub scope_set: ScopeSet,
    /// Token expiry (Unix seconds).
    pub expires_at: u64,
    /// The same identity as the upstream request's header values, made once per verified token
    /// (the token cache keeps them) rather than copied into every request.
    pub headers: IdentityHeaders,
}

/// The `x-sandgate-*` identity values the upstream request carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityHeaders {
    /// `x-sandgate-partner`.
    pub partner: HeaderValue,
    /// `x-sandgate-application`.
    pub application: HeaderValue,
    /// `x-sandgate-client-id`.
    pub client_id: HeaderValue,
    /// `x-sandgate-scopes`.
    pub scopes: HeaderValue,
}

impl Principal {
    /// Who a verified token says is calling; `None` when a value cannot travel in a header (a
    /// control character: never in ids and scopes this gateway issued).
    pub fn new(
        client_id: String,
        application: String,
        partner: String,
        scopes: String,
        scope_set: ScopeSet,
        expires_at: u64,
    ) -> Option<Principal> {
        let value = |text: &str| HeaderValue::from_str(text).ok();
        let headers = IdentityHeaders {
            partner: value(&partner)?,
            application: value(&application)?,
            client_id: value(&client_id)?,
            scopes: value(&scopes)?,
        };
        Some(Principal { client_id, application, partner, scopes, scope_set, expires_at, headers })
    }
}
