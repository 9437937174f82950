//! The access log: one structured line per request (text or JSON, in the shape of the rest of
//! the log), and a `request.denied` entry in the application's activity log when a known client
//! is refused. Never logs credentials: no headers, no query string, no body.
//!
//! The line is written by hand into a per-thread buffer and handed to the process's log writer
//! (installed by [`install`]), not formatted by `tracing`'s generic field visitor: measured under
//! load (issue 16), that visitor cost about 5 % of a proxied request's CPU. Without an installed
//! writer (tests with a subscriber of their own), the same fields go through `tracing` as the
//! event's message.

use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::OnceLock;

use crate::ctx::RequestCtx;
use crate::metrics::Metrics;
use sandgate_core::environment::Environment;
use sandgate_store::{Store, WhenFull};

/// The target of access lines (a log filter can name it: `RUST_LOG=sandgate::access=off`).
pub const TARGET: &str = "sandgate::access";

/// Takes one whole access line; never blocks.
pub type LineSink = Box<dyn Fn(&[u8]) + Send + Sync>;

/// Where access lines go, and in which format.
pub struct AccessWriter {
    /// JSON lines (`log.format: json`), else text.
    pub json: bool,
    /// The process's non-blocking log writer.
    pub out: LineSink,
}

static WRITER: OnceLock<AccessWriter> = OnceLock::new();

/// Sends access lines to `writer` from now on (once per process; later calls are ignored).
pub fn install(writer: AccessWriter) {
    let _ = WRITER.set(writer);
}

thread_local! {
    /// The line being written, and the timestamp's whole second, written once per second.
    static LINE: std::cell::RefCell<(Vec<u8>, i64, String)> =
        const { std::cell::RefCell::new((Vec::new(), i64::MIN, String::new())) };
}

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
    let resolve = || metrics.route(env.as_str(), operation);
    let cached = match (&ctx.tables, ctx.route()) {
        (Some(tables), Some(id)) => tables.env(env).route_metrics.get(id.api as usize, id.op as usize, resolve),
        _ => None,
    };
    let route_metrics = cached.map_or_else(|| std::borrow::Cow::Owned(resolve()), std::borrow::Cow::Borrowed);
    if let Some(took) = upstream_took {
        route_metrics.upstream_latency.observe(took.as_secs_f64());
    }
    let application = ctx.principal.as_ref().map_or("-", |p| p.application.as_str());
    let version = match (&ctx.tables, ctx.route()) {
        (Some(tables), Some(id)) => tables.routes.version_of(id).1,
        _ => "-",
    };
    let status_code = http::StatusCode::from_u16(status).ok();
    let status_text = status_code.as_ref().map_or("000", http::StatusCode::as_str);
    metrics.requests.with_label_values(&[env.as_str(), version, status_text, application]).inc();
    route_metrics.latency.observe(elapsed.as_secs_f64());
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
    let line = Line {
        request_id: &ctx.request_id,
        environment: env.as_str(),
        method,
        path,
        status,
        operation,
        client_id: ctx.client_id().unwrap_or("-"),
        client_addr: ctx.client_addr,
        user_agent,
        bytes_in: ctx.body_bytes,
        bytes_out: sent,
        upstream_status: ctx.upstream.map_or(0, |(status, _)| status),
        upstream_us: upstream_took.map_or(0, |took| took.as_micros() as u64),
        duration_us: elapsed.as_micros() as u64,
        error: error.unwrap_or("-"),
    };
    if !tracing::enabled!(target: TARGET, tracing::Level::INFO) {
        return;
    }
    match WRITER.get() {
        Some(writer) => line.write(writer),
        // No writer installed (tests with a subscriber of their own): the same fields, as the
        // event's message.
        None => {
            let mut fields = Vec::new();
            line.text_fields(&mut fields);
            tracing::info!(target: TARGET, "{}", String::from_utf8_lossy(&fields).trim_start());
        }
    }
}

/// One access line's fields, in the order they are written.
struct Line<'a> {
    request_id: &'a str,
    environment: &'a str,
    method: &'a str,
    path: &'a str,
    status: u16,
    operation: &'a str,
    client_id: &'a str,
    client_addr: Option<std::net::IpAddr>,
    user_agent: &'a str,
    bytes_in: usize,
    bytes_out: usize,
    upstream_status: u16,
    upstream_us: u64,
    duration_us: u64,
    error: &'a str,
}

/// A field's value: text is JSON-escaped in JSON and `Debug`-quoted in text, as the rest of the
/// log writes it.
enum Field<'a> {
    Text(&'a str),
    Number(u64),
    Addr(Option<std::net::IpAddr>),
}

impl Line<'_> {
    fn fields(&self) -> [(&'static str, Field<'_>); 15] {
        [
            ("request_id", Field::Text(self.request_id)),
            ("environment", Field::Text(self.environment)),
            ("method", Field::Text(self.method)),
            ("path", Field::Text(self.path)),
            ("status", Field::Number(u64::from(self.status))),
            ("operation", Field::Text(self.operation)),
            ("client_id", Field::Text(self.client_id)),
            ("client_addr", Field::Addr(self.client_addr)),
            ("user_agent", Field::Text(self.user_agent)),
            ("bytes_in", Field::Number(self.bytes_in as u64)),
            ("bytes_out", Field::Number(self.bytes_out as u64)),
            ("upstream_status", Field::Number(u64::from(self.upstream_status))),
            ("upstream_us", Field::Number(self.upstream_us)),
            ("duration_us", Field::Number(self.duration_us)),
            ("error", Field::Text(self.error)),
        ]
    }

    /// Writes the line to `writer`, in its format, with the time now.
    fn write(&self, writer: &AccessWriter) {
        LINE.with(|cell| {
            let Ok(mut cell) = cell.try_borrow_mut() else { return };
            let (line, second, stamp) = &mut *cell;
            line.clear();
            let now = chrono::Utc::now();
            if now.timestamp() != *second {
                *second = now.timestamp();
                stamp.clear();
                let _ = write!(stamp, "{}", now.format("%Y-%m-%dT%H:%M:%S"));
            }
            let micros = now.timestamp_subsec_micros().min(999_999);
            if writer.json {
                self.json(line, stamp, micros);
            } else {
                self.text(line, stamp, micros);
            }
            line.push(b'\n');
            (writer.out)(line);
        });
    }

    /// As `tracing-subscriber`'s JSON format writes an event.
    fn json(&self, out: &mut Vec<u8>, stamp: &str, micros: u32) {
        let _ = write!(out, "{{\"timestamp\":\"{stamp}.{micros:06}Z\",\"level\":\"INFO\",\"fields\":{{");
        for (index, (name, field)) in self.fields().into_iter().enumerate() {
            if index > 0 {
                out.push(b',');
            }
            let _ = write!(out, "\"{name}\":");
            match field {
                Field::Text(text) => {
                    let _ = serde_json::to_writer(&mut *out, text);
                }
                Field::Number(number) => {
                    let _ = write!(out, "{number}");
                }
                Field::Addr(addr) => {
                    let _ = write!(out, "\"{}\"", ClientAddr(addr));
                }
            }
        }
        let _ = write!(out, "}},\"target\":\"{TARGET}\"}}");
    }

    /// As `tracing-subscriber`'s default text format writes an event.
    fn text(&self, out: &mut Vec<u8>, stamp: &str, micros: u32) {
        let _ = write!(out, "{stamp}.{micros:06}Z  INFO {TARGET}:");
        self.text_fields(out);
    }

    /// The fields as ` name=value` pairs.
    fn text_fields(&self, out: &mut Vec<u8>) {
        for (name, field) in self.fields() {
            let _ = match field {
                // `Debug` escapes char by char with Unicode tables: only for text that needs it.
                Field::Text(text)
                    if text.bytes().all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\' || b == b' ') =>
                {
                    write!(out, " {name}=\"{text}\"")
                }
                Field::Text(text) => write!(out, " {name}={text:?}"),
                Field::Number(number) => write!(out, " {name}={number}"),
                Field::Addr(addr) => write!(out, " {name}={}", ClientAddr(addr)),
            };
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    fn line() -> Line<'static> {
        Line {
            request_id: "req-1",
            environment: "training",
            method: "GET",
            path: "/pos-api/v2.5/client-id/trn_1/i18n",
            status: 200,
            operation: "GET /i18n",
            client_id: "trn_1",
            client_addr: Some(std::net::Ipv4Addr::LOCALHOST.into()),
            user_agent: "curl \"quoted\" \\ and\ta tab\u{1}",
            bytes_in: 0,
            bytes_out: 42,
            upstream_status: 200,
            upstream_us: 17,
            duration_us: 95,
            error: "-",
        }
    }

    fn written(json: bool) -> String {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&lines);
        let writer =
            AccessWriter { json, out: Box::new(move |line| sink.lock().expect("lock").extend_from_slice(line)) };
        line().write(&writer);
        let bytes = lines.lock().expect("lock").clone();
        String::from_utf8(bytes).expect("utf-8")
    }

    #[test]
    fn a_json_line_is_one_json_object_in_the_shape_of_the_rest_of_the_log() {
        let text = written(true);
        assert!(text.ends_with('\n') && text.matches('\n').count() == 1, "{text}");
        let value: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        assert_eq!(value["target"], TARGET);
        assert_eq!(value["level"], "INFO");
        assert_eq!(value["fields"]["request_id"], "req-1");
        assert_eq!(value["fields"]["status"], 200);
        assert_eq!(value["fields"]["client_addr"], "127.0.0.1");
        assert_eq!(value["fields"]["user_agent"], line().user_agent, "escaped and read back whole");
        let stamp = value["timestamp"].as_str().expect("timestamp");
        assert!(chrono::DateTime::parse_from_rfc3339(stamp).is_ok(), "{stamp}");
    }

    #[test]
    fn a_text_line_names_every_field_and_quotes_text() {
        let text = written(false);
        assert!(text.contains(" INFO sandgate::access: request_id=\"req-1\""), "{text}");
        assert!(text.contains(" status=200 "), "{text}");
        assert!(text.contains(" client_addr=127.0.0.1 "), "{text}");
        assert!(text.contains(r#"user_agent="curl \"quoted\" \\ and\ta tab\u{1}""#), "{text}");
        assert_eq!(text.matches('\n').count(), 1, "a client's text cannot start another line: {text}");
    }
}
