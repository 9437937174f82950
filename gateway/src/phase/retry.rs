//! Phase 10b (PRODUCTION): what a failed attempt at the backend means — for the endpoint
//! (passive ejection) and for the request (another attempt, or the partner's 502/504).
//!
//! A request is tried again only when all of these hold: its method is idempotent (GET, HEAD,
//! OPTIONS, PUT, DELETE, TRACE), no byte of the backend's answer has arrived, the attempt failed
//! to connect or the connection broke (never a timeout: the backend may still be working on it,
//! and a second wait doubles the partner's), the request body is still whole in Pingora's retry
//! buffer, and the pool's `retries` allow it. The next attempt avoids the endpoints already tried
//! while another is in rotation.

use pingora::{Error, ErrorType};

use crate::ctx::RequestCtx;
use crate::table::pool::Pool;

/// Whether `error` (the backend's failure, before any answer) may be retried on another attempt.
fn retryable(error: &Error) -> bool {
    matches!(
        error.etype(),
        ErrorType::ConnectRefused
            | ErrorType::ConnectError
            | ErrorType::ConnectNoRoute
            | ErrorType::TLSHandshakeFailure
            | ErrorType::InvalidCert
            | ErrorType::HandshakeError
            | ErrorType::ConnectionClosed
            | ErrorType::ReadError
            | ErrorType::WriteError
    )
}

/// Whether a backend answer with `status` counts as the endpoint failing (passive ejection).
pub fn is_backend_failure(status: u16) -> bool {
    matches!(status, 502..=504)
}

/// After a failed attempt: records it on its endpoint, and marks `error` for another attempt
/// when the rules above allow one.
pub fn after_failure(
    pool: &Pool,
    ctx: &mut RequestCtx,
    method: &http::Method,
    body_buffer_truncated: bool,
    mut error: Box<Error>,
) -> Box<Error> {
    if let Some(index) = ctx.endpoint.take() {
        pool.finished(index, true);
        ctx.tried.push(index);
    }
    let again = method.is_idempotent()
        && ctx.upstream.is_none()
        && !body_buffer_truncated
        && retryable(&error)
        && ctx.attempts <= pool.retries();
    error.set_retry(again);
    error
}
