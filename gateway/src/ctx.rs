//! `RequestCtx`: the one value that travels with a request through every phase.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use crate::directory::AppPolicy;
use crate::principal::Principal;
use crate::table::limiter::Admission;
use crate::table::routes::{RouteId, Selected};
use crate::table::Tables;

/// Per-request state, created by `new_ctx` and filled in phase by phase.
#[derive(Debug)]
pub struct RequestCtx {
    /// When the gateway started on this request.
    pub started: Instant,
    /// The request id: the client's `x-request-id` when acceptable, else a new UUID.
    pub request_id: String,
    /// The tables this request runs with (a reload never changes them mid-request).
    pub tables: Option<Arc<Tables>>,
    /// The client address (after the trusted-proxy resolver).
    pub client_addr: Option<IpAddr>,
    /// What the path addresses, once `route` has run.
    pub selected: Option<Selected>,
    /// The client id a token request was for, for logs (an authenticated request's is its
    /// principal's: see [`RequestCtx::client_id`]).
    pub client_id: Option<String>,
    /// Who is calling, as proven by the token.
    pub principal: Option<Arc<Principal>>,
    /// The caller's application policy.
    pub app: Option<Arc<AppPolicy>>,
    /// The rate-limit decision, for the `RateLimit-*` headers.
    pub admission: Option<Admission>,
    /// Request body bytes seen so far (proxied requests).
    pub body_bytes: usize,
    /// The HTTP parser had turned keep-alive off when the request arrived.
    pub keepalive_off: bool,
    /// The operation documents the protocol upgrade this request asks for.
    pub upgrade: bool,
    /// The request's `Origin` when its application trusts it (the answer allows it, CORS).
    pub cors_origin: Option<String>,
    /// When the request left for the backend (proxied requests).
    pub upstream_started: Option<Instant>,
    /// When the backend's total time (`timeouts.total_ms`, every attempt) runs out.
    pub upstream_deadline: Option<Instant>,
    /// The backend's (or the emulator's) status and the time it took, for the log and metrics.
    pub upstream: Option<(u16, std::time::Duration)>,
    /// The backend endpoint of the attempt under way (index in the environment's pool).
    pub endpoint: Option<usize>,
    /// Endpoints earlier attempts failed on (a retry avoids them).
    pub tried: Vec<usize>,
    /// Attempts at the backend so far.
    pub attempts: u32,
    /// The request's span (disabled unless traces are exported).
    pub span: tracing::Span,
}

impl RequestCtx {
    /// A fresh context.
    pub fn new() -> RequestCtx {
        RequestCtx {
            started: Instant::now(),
            request_id: String::new(),
            tables: None,
            client_addr: None,
            selected: None,
            client_id: None,
            principal: None,
            app: None,
            admission: None,
            body_bytes: 0,
            keepalive_off: false,
            upgrade: false,
            cors_origin: None,
            upstream_started: None,
            upstream_deadline: None,
            upstream: None,
            endpoint: None,
            tried: Vec::new(),
            attempts: 0,
            span: tracing::Span::none(),
        }
    }

    /// The client the request is from, for logs: the token's, else the one a token request named.
    pub fn client_id(&self) -> Option<&str> {
        self.principal.as_ref().map(|p| p.client_id.as_str()).or(self.client_id.as_deref())
    }

    /// The operation, once routed.
    pub fn route(&self) -> Option<RouteId> {
        match self.selected {
            Some(Selected::Operation(id)) => Some(id),
            _ => None,
        }
    }
}

impl Default for RequestCtx {
    fn default() -> Self {
        RequestCtx::new()
    }
}
