//! `RequestCtx`: the one value that travels with a request through every phase.

use std::time::Instant;

use crate::phase::route::Target;

/// Per-request state, created by `new_ctx` and filled in phase by phase.
#[derive(Debug)]
pub struct RequestCtx {
    /// When the gateway started on this request.
    pub started: Instant,
    /// The request id: the client's `x-request-id` when acceptable, else a new UUID.
    pub request_id: String,
    /// What the path addresses, once `route` has run.
    pub target: Option<Target>,
    /// The authenticated client (or the client id a token request was for).
    pub client_id: Option<String>,
    /// The authenticated partner and application, for identity headers.
    pub principal: Option<Principal>,
}

/// Who is calling, as proven by the token.
#[derive(Debug, Clone)]
pub struct Principal {
    /// Client id.
    pub client_id: String,
    /// Application id.
    pub application: String,
    /// Partner id.
    pub partner: String,
    /// Space-separated scopes.
    pub scopes: String,
}

impl RequestCtx {
    /// A fresh context.
    pub fn new() -> RequestCtx {
        RequestCtx {
            started: Instant::now(),
            request_id: String::new(),
            target: None,
            client_id: None,
            principal: None,
        }
    }
}

impl Default for RequestCtx {
    fn default() -> Self {
        RequestCtx::new()
    }
}
