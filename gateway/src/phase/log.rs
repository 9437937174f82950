//! The access log: one structured line per request, through `tracing` (pretty or JSON), and a
//! `request.denied` entry in the application's activity log when a known client is refused.
//! Never logs credentials: no headers, no query string, no body.

use crate::ctx::RequestCtx;
use crate::metrics::Metrics;
use sandgate_core::environment::Environment;
use sandgate_store::{Store, WhenFull};

/// The client address as the log shows it (canonical, `-` when unknown), written without an
/// allocation per request.
struct ClientAddr(Option<std::net::IpAddr>);

impl std::fmt::Display for ClientAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(addr) => write!(f, "{}", addr.to_canonical()),
            None => f.write_str("-"),
        }
    }
}

/// Longest user agent written to the log (the rest is cut: a client chooses its length).
const MAX_USER_AGENT: usize = 200;

/// Writes the access-log line of a finished request and counts it. `sent` is the body bytes
/// written to the client.
pub fn access(
    env: Environment,
    req: &pingora::http::RequestHeader,
    status: u16,
    sent: usize,
    ctx: &RequestCtx,
    error: Option<&str>,
    metrics: &Metrics,
) {
    let (method, path) = (req.method.as_str(), req.uri.path());
    let elapsed = ctx.started.elapsed();
    let operation = match (&ctx.tables, ctx.route()) {
        (Some(tables), Some(id)) => tables.routes.policy(id).label.as_str(),
        _ => "-",
    };
    let user_agent = req.headers.get(http::header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or("-");
    let user_agent = user_agent.get(..MAX_USER_AGENT).unwrap_or(user_agent);
    let upstream_took = ctx.upstream.map(|(_, took)| took).or_else(|| ctx.upstream_started.map(|s| s.elapsed()));
    if let Some(took) = upstream_took {
        metrics.upstream_latency.with_label_values(&[env.as_str(), operation]).observe(took.as_secs_f64());
    }
    let application = ctx.principal.as_ref().map_or("-", |p| p.application.as_str());
    let version = match (&ctx.tables, ctx.route()) {
        (Some(tables), Some(id)) => tables.routes.version_of(id).1,
        _ => "-",
    };
    let status_code = http::StatusCode::from_u16(status).ok();
    let status_text = status_code.as_ref().map_or("000", http::StatusCode::as_str);
    metrics.requests.with_label_values(&[env.as_str(), version, status_text, application]).inc();
    metrics.latency.with_label_values(&[env.as_str(), operation]).observe(elapsed.as_secs_f64());
    if status >= 400 {
        if let Some(reason) = error {
            metrics.denials.with_label_values(&[env.as_str(), reason]).inc();
        }
    }
    if let (Some(tables), Some(id)) = (&ctx.tables, ctx.route()) {
        if tables.routes.policy(id).deprecation.is_some() {
            metrics.deprecated_calls.with_label_values(&[application, version]).inc();
        }
    }
    tracing::info!(
        target: "sandgate::access",
        request_id = %ctx.request_id,
        environment = env.as_str(),
        method,
        path,
        status,
        operation,
        client_id = ctx.client_id.as_deref().unwrap_or("-"),
        client_addr = %ClientAddr(ctx.client_addr),
        user_agent,
        bytes_in = ctx.body_bytes,
        bytes_out = sent,
        upstream_status = ctx.upstream.map_or(0, |(status, _)| status),
        upstream_us = upstream_took.map_or(0, |took| took.as_micros() as u64),
        duration_us = elapsed.as_micros() as u64,
        error = error.unwrap_or("-"),
    );
}

/// Logs a fault (not a rejection): what Pingora's own error log would print, minus the request
/// line, whose query string may hold whatever a client put there (secrets included).
pub fn fault(env: Environment, method: &str, path: &str, ctx: &RequestCtx, error: &pingora::Error) {
    if matches!(error.etype(), pingora::ErrorType::CustomCode(..)) {
        return;
    }
    if crate::error::client_gone(error) {
        tracing::debug!(request_id = %ctx.request_id, environment = env.as_str(), method, path, "client went away");
        return;
    }
    tracing::error!(
        request_id = %ctx.request_id,
        environment = env.as_str(),
        method,
        path,
        source = ?error.esource(),
        error = %error.etype().as_str(),
        context = error.context.as_ref().map_or("", |c| c.as_str()),
        "request failed",
    );
}

/// Queues a `request.denied` activity entry when an authenticated client was refused (scope,
/// trust list, revocation, rate limit…). Dropped rather than waited for when the activity writer
/// is behind: a flood of refusals must never slow the data path.
pub fn denial(
    env: Environment,
    method: &str,
    path: &str,
    status: u16,
    ctx: &RequestCtx,
    reason: Option<&str>,
    store: &Store,
) {
    let (Some(principal), Some(reason), true) = (&ctx.principal, reason, (400..500).contains(&status)) else { return };
    let details = serde_json::json!({
        "reason": reason, "status": status, "environment": env.as_str(), "method": method, "path": path,
        "request_id": ctx.request_id,
    });
    store.record_event_queued(
        WhenFull::Drop,
        format!("client:{}", principal.client_id),
        Some(&principal.partner),
        Some(&principal.application),
        "request.denied",
        details,
    );
}
