//! The request path, one phase per module, in the order they run:
//!
//! 1. `request_id` — take the client's `x-request-id` when it is sane, else mint one;
//! 2. `route` — what the path addresses: the token endpoint or an API call (`/{api}/v{ver}/…`);
//! 3. token endpoint — answered in place (`crate::token::endpoint`), the rest is skipped;
//! 4. `auth` — the bearer token, and that the path's `client_id` is the token's client;
//! 5. `forward` — TRAINING: the emulator in-process; PRODUCTION: the configured backend, or 503;
//! 6. `upstream_request` — strip credentials, add verified identity headers (proxied requests);
//! 7. `fail` — any rejection above becomes problem+json;
//! 8. `log` — one access-log line per request.
//!
//! Trust lists, scopes, rate limits and version rules join between `auth` and `forward`.

pub mod auth;
pub mod fail;
pub mod forward;
pub mod log;
pub mod request_id;
pub mod route;
pub mod upstream_request;
