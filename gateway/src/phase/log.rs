//! The access log: one structured line per request, through `tracing` (pretty or JSON).
//! Never logs credentials: no headers, no query string, no body.

use crate::ctx::RequestCtx;
use crate::environment::Environment;

/// Writes the access-log line of a finished request.
pub fn access(env: Environment, method: &str, path: &str, status: u16, ctx: &RequestCtx, error: Option<&str>) {
    tracing::info!(
        target: "sandgate::access",
        request_id = %ctx.request_id,
        environment = env.as_str(),
        method,
        path,
        status,
        client_id = ctx.client_id.as_deref().unwrap_or("-"),
        duration_us = ctx.started.elapsed().as_micros() as u64,
        error = error.unwrap_or("-"),
    );
}
