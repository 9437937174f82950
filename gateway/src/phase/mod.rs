//! The request path, one phase per module, in the order they run (see `lib.rs`):
//!
//! 0. `trace` — the request's span (OpenTelemetry, when configured), continuing the caller's
//!    `traceparent`; an event per phase passed; handed on to the backend;
//! 1. `request_id` — take the client's `x-request-id` when it is sane, else mint one;
//! 2. `environment` — the listener fixes the environment; `Host` must be one of its names;
//! 3. `hygiene` — header count and size, one `Host`, smuggling (`Content-Length` +
//!    `Transfer-Encoding`, also seen in the raw head), body size;
//! 4. `client_addr` — the socket peer, or the right-most untrusted hop behind trusted proxies;
//!    (`jwks` answers `GET /.well-known/jwks.json`, the environment's public token keys; `cors`
//!    answers a browser's preflight here, from the spec and the trust URLs);
//! 5. `route` — dot segments and hidden separators refused; the token endpoint (answered in place
//!    by `token`) or a documented operation of a supported version; an undocumented protocol
//!    upgrade refused; the header parameters the spec requires;
//! 6. `auth` — the bearer token, revocation, and the client the path names
//!    (`x-sandgate-client-id-parameter`);
//! 7. `trust` — the application's trust list admits the address or origin (a trusted origin is
//!    allowed on the answer, CORS);
//! 8. `scope` — the token's scopes and the application's permission cover the operation;
//! 9. `rate_limit` — the application's plan has budget left;
//! 10. `forward` — TRAINING: the emulator in-process (`training`); PRODUCTION: parameters
//!     validated against the spec (`route::check_parameters`), then the configured backend, or 503;
//!     `retry` decides after a failed attempt: passive ejection of the endpoint, another
//!     attempt for an idempotent request that got no answer byte;
//! 11. `upstream_request` — origin-form target with documented query parameters only; client
//!     credentials and client-sent identity, forwarding and override headers removed; verified
//!     identity and the client address added (proxied requests);
//! 12. `response` — version-lifecycle, rate-limit and CORS headers;
//! 13. `fail` — any rejection above becomes problem+json;
//! 14. `log` — one access-log line and the metrics; faults logged without the query string.

pub mod auth;
pub mod client_addr;
pub mod cors;
pub mod environment;
pub mod fail;
pub mod forward;
pub mod hygiene;
pub mod jwks;
pub mod log;
pub mod rate_limit;
pub mod request_id;
pub mod response;
pub mod retry;
pub mod route;
pub mod scope;
pub mod token;
pub mod trace;
pub mod training;
pub mod trust;
pub mod upstream_request;

#[cfg(test)]
mod fuzz;
