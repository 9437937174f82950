//! Phase 0: the request's span. With `telemetry.otlp_endpoint` set, `sandgate-cli` installs an
//! OpenTelemetry layer for the target [`TARGET`]; each request then gets one server span that
//! continues the caller's W3C `traceparent`, carries an event per phase it passed, and is handed
//! on to the backend in our own `traceparent`. Without it nobody listens to the target and the
//! span is disabled: one callsite check per request, nothing recorded.

use http::HeaderMap;
use opentelemetry::propagation::{Extractor, Injector};
use pingora::http::RequestHeader;
use sandgate_core::environment::Environment;
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The tracing target of request spans and their phase events.
pub const TARGET: &str = "sandgate::trace";

/// The span of a request that just arrived, child of the caller's `traceparent` when it sent one.
pub fn start(env: Environment, req: &RequestHeader) -> tracing::Span {
    let span = tracing::info_span!(
        target: TARGET,
        "request",
        // OpenTelemetry's HTTP convention: the method until the route is known.
        otel.name = req.method.as_str(),
        otel.kind = "server",
        otel.status_code = Empty,
        http.request.method = %req.method,
        url.path = req.uri.path(),
        http.route = Empty,
        http.response.status_code = Empty,
        sandgate.environment = env.as_str(),
        sandgate.client_id = Empty,
        sandgate.upstream_status = Empty,
    );
    if !span.is_disabled() {
        let parent = opentelemetry::global::get_text_map_propagator(|p| p.extract(&HeaderExtractor(&req.headers)));
        let _ = span.set_parent(parent);
    }
    span
}

/// Names the span after the operation the request was routed to (`GET searchCustomers`); the
/// OpenTelemetry span is still being built at this point, so the name takes.
pub fn routed(span: &tracing::Span, method: &str, operation: &str) {
    if span.is_disabled() {
        return;
    }
    span.record("otel.name", format!("{method} {operation}"));
    span.record("http.route", operation);
}

/// Marks that the request passed `phase` (an event on its span).
pub fn passed(span: &tracing::Span, phase: &'static str) {
    tracing::info!(target: TARGET, parent: span, phase, "passed");
}

/// Replaces the `traceparent` (and `tracestate`) the backend gets by this request's span.
pub fn hand_on(span: &tracing::Span, req: &mut RequestHeader) {
    if span.is_disabled() {
        return;
    }
    let mut carrier = Vec::new();
    let context = span.context();
    opentelemetry::global::get_text_map_propagator(|p| p.inject_context(&context, &mut HeaderInjector(&mut carrier)));
    for (name, value) in carrier {
        let _ = req.insert_header(name, value);
    }
}

/// Records the outcome on the span, which ends when the request's context is dropped.
pub fn finish(span: &tracing::Span, status: u16, client_id: Option<&str>, upstream: Option<u16>) {
    if span.is_disabled() {
        return;
    }
    span.record("http.response.status_code", status);
    if let Some(client_id) = client_id {
        span.record("sandgate.client_id", client_id);
    }
    if let Some(upstream) = upstream {
        span.record("sandgate.upstream_status", upstream);
    }
    if status >= 500 || status == 0 {
        span.record("otel.status_code", "ERROR");
    }
}

struct HeaderExtractor<'a>(&'a HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

struct HeaderInjector<'a>(&'a mut Vec<(String, String)>);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        self.0.push((key.to_owned(), value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::TracerProvider as _;
    use tracing_subscriber::layer::SubscriberExt;

    /// `tracing` caches each callsite's interest process-wide: while one test's subscriber wants
    /// the request span, another test on a parallel thread may find it enabled under its own.
    /// The tests below take turns and have the cache rebuilt under their subscriber.
    static ONE_SUBSCRIBER_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

    const CALLER: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn the_span_continues_the_callers_trace_and_the_backend_gets_a_child_of_it() {
        opentelemetry::global::set_text_map_propagator(opentelemetry_sdk::propagation::TraceContextPropagator::new());
        let exporter = opentelemetry_sdk::trace::InMemorySpanExporter::default();
        let provider =
            opentelemetry_sdk::trace::SdkTracerProvider::builder().with_simple_exporter(exporter.clone()).build();
        let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("test"));
        let subscriber = tracing_subscriber::registry().with(layer);
        let _turn = ONE_SUBSCRIBER_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
        let sent = tracing::subscriber::with_default(subscriber, || {
            tracing::callsite::rebuild_interest_cache();
            let mut request = RequestHeader::build("GET", b"/pos-api/v2.5/x", None).expect("request");
            request.insert_header("traceparent", CALLER).expect("header");
            let span = start(Environment::PRODUCTION, &request);
            routed(&span, "GET", "getThing");
            passed(&span, "auth");
            let mut upstream = RequestHeader::build("GET", b"/x", None).expect("request");
            upstream.insert_header("traceparent", CALLER).expect("the client's, to be replaced");
            hand_on(&span, &mut upstream);
            finish(&span, 502, Some("prd_1"), Some(502));
            drop(span);
            upstream.headers.get("traceparent").and_then(|v| v.to_str().ok()).map(str::to_owned)
        });
        let sent = sent.expect("a traceparent for the backend");
        assert!(sent.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"), "the caller's trace: {sent}");
        assert!(!sent.contains("00f067aa0ba902b7"), "our span is the backend's parent, not the caller's: {sent}");
        let spans = exporter.get_finished_spans().expect("spans");
        assert_eq!(spans.len(), 1);
        let span = &spans[0];
        assert_eq!(span.name, "GET getThing");
        assert_eq!(format!("{:032x}", span.span_context.trace_id()), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(format!("{:016x}", span.parent_span_id), "00f067aa0ba902b7");
        assert!(matches!(span.status, opentelemetry::trace::Status::Error { .. }), "a 502 is an error");
        assert_eq!(span.events.len(), 1, "one event per phase passed");
    }

    #[test]
    fn without_a_trace_layer_the_span_is_off_and_nothing_is_handed_on() {
        use tracing_subscriber::Layer;
        // What `sandgate` installs without telemetry: the log, which leaves this target out.
        let log = tracing_subscriber::fmt::layer()
            .with_writer(std::io::sink)
            .with_filter(tracing_subscriber::EnvFilter::new("info,sandgate::trace=off"));
        let subscriber = tracing_subscriber::registry().with(log);
        let _turn = ONE_SUBSCRIBER_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
        tracing::subscriber::with_default(subscriber, || {
            tracing::callsite::rebuild_interest_cache();
            let mut request = RequestHeader::build("GET", b"/x", None).expect("request");
            request.insert_header("traceparent", CALLER).expect("header");
            let span = start(Environment::TRAINING, &request);
            assert!(span.is_disabled());
            let mut upstream = RequestHeader::build("GET", b"/x", None).expect("request");
            hand_on(&span, &mut upstream);
            assert!(upstream.headers.get("traceparent").is_none());
        });
    }
}
