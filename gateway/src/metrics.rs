//! Prometheus metrics, served as text on the admin listener's `/metrics`.
//!
//! Label values come from bounded sets (environments, versions from the specs, status codes,
//! application ids, denial slugs), so cardinality stays bounded by what the operator configured.

use std::sync::OnceLock;

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

/// The gateway's metrics.
#[derive(Debug, Clone)]
pub struct Metrics {
    registry: Registry,
    /// Requests by environment, API version, status and application.
    pub requests: IntCounterVec,
    /// Request latency (seconds) by environment and operation.
    pub latency: HistogramVec,
    /// Time the backend (or the emulator) took, by environment and operation: the rest of
    /// `latency` is the gateway's own.
    pub upstream_latency: HistogramVec,
    /// Denied requests by environment and reason (problem slug).
    pub denials: IntCounterVec,
    /// Calls to deprecated versions or operations by application and version.
    pub deprecated_calls: IntCounterVec,
    /// Time from a committed revocation (or any directory change) to it being in force.
    pub revocation_lag: Histogram,
    /// Data-path activity entries (`request.denied`) dropped because the writer was behind.
    pub activity_dropped: IntGauge,
    /// Admissions decided without the shared budget because Redis did not answer.
    pub rate_limit_fallbacks: IntCounter,
    /// The store version this node's directory holds.
    pub directory_version: IntGauge,
    /// 1 while the change bus is connected (0 without one).
    pub change_bus_connected: IntGauge,
    /// Requests tried again on the backend, by environment.
    pub upstream_retries: IntCounterVec,
    /// 1 while a backend endpoint is in rotation (resolved, healthy, not ejected), by
    /// environment and endpoint (`host:port` from the operator's config).
    pub upstream_endpoint_up: IntGaugeVec,
}

impl Metrics {
    /// Registers every metric in a fresh registry.
    pub fn new() -> Metrics {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new("sandgate_requests_total", "Requests by environment, API version, status and application"),
            &["environment", "version", "status", "application"],
        )
        .expect("valid metric");
        let latency = HistogramVec::new(
            HistogramOpts::new("sandgate_request_duration_seconds", "Time from request to response, in the gateway")
                .buckets(vec![
                    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                ]),
            &["environment", "operation"],
        )
        .expect("valid metric");
        let upstream_latency = HistogramVec::new(
            HistogramOpts::new(
                "sandgate_upstream_duration_seconds",
                "Time from choosing the backend (or calling the emulator) to its response head",
            )
            .buckets(vec![
                0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
            ]),
            &["environment", "operation"],
        )
        .expect("valid metric");
        let build_info = IntGaugeVec::new(
            Opts::new("sandgate_build_info", "1, labelled with the version of this build"),
            &["version"],
        )
        .expect("valid metric");
        build_info.with_label_values(&[env!("CARGO_PKG_VERSION")]).set(1);
        let denials = IntCounterVec::new(
            Opts::new("sandgate_denials_total", "Requests refused by the gateway, by reason (problem slug)"),
            &["environment", "reason"],
        )
        .expect("valid metric");
        let deprecated_calls = IntCounterVec::new(
            Opts::new("sandgate_deprecated_calls_total", "Calls to deprecated API versions or operations"),
            &["application", "version"],
        )
        .expect("valid metric");
        let revocation_lag = Histogram::with_opts(
            HistogramOpts::new(
                "sandgate_revocation_lag_seconds",
                "Time from a store change (e.g. a revocation) to the gateway enforcing it",
            )
            .buckets(vec![0.00001, 0.0001, 0.001, 0.01, 0.1, 1.0]),
        )
        .expect("valid metric");
        let activity_dropped = IntGauge::new(
            "sandgate_activity_dropped_events",
            "request.denied activity entries dropped because the activity writer was behind",
        )
        .expect("valid metric");
        let rate_limit_fallbacks = IntCounter::new(
            "sandgate_rate_limit_fallbacks_total",
            "Admissions decided by rate_limits.when_redis_fails because the shared budget did not answer",
        )
        .expect("valid metric");
        let directory_version =
            IntGauge::new("sandgate_directory_version", "The store version this node's application directory holds")
                .expect("valid metric");
        let change_bus_connected = IntGauge::new(
            "sandgate_change_bus_connected",
            "1 while this node hears other nodes' writes on the change bus (0 without one)",
        )
        .expect("valid metric");
        let upstream_retries = IntCounterVec::new(
            Opts::new("sandgate_upstream_retries_total", "Idempotent requests tried again after a backend failure"),
            &["environment"],
        )
        .expect("valid metric");
        let upstream_endpoint_up = IntGaugeVec::new(
            Opts::new(
                "sandgate_upstream_endpoint_up",
                "1 while a backend endpoint is in rotation (resolved, passing its health checks, not ejected)",
            ),
            &["environment", "endpoint"],
        )
        .expect("valid metric");
        for collector in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(latency.clone()),
            Box::new(upstream_latency.clone()),
            Box::new(build_info),
            Box::new(denials.clone()),
            Box::new(deprecated_calls.clone()),
            Box::new(revocation_lag.clone()),
            Box::new(activity_dropped.clone()),
            Box::new(rate_limit_fallbacks.clone()),
            Box::new(directory_version.clone()),
            Box::new(change_bus_connected.clone()),
            Box::new(upstream_retries.clone()),
            Box::new(upstream_endpoint_up.clone()),
            // process_cpu_seconds_total, process_resident_memory_bytes, process_open_fds, …:
            // the standard names every dashboard already knows.
            Box::new(prometheus::process_collector::ProcessCollector::for_self()),
        ] {
            registry.register(collector).expect("unique metric names");
        }
        Metrics {
            registry,
            requests,
            latency,
            upstream_latency,
            denials,
            deprecated_calls,
            revocation_lag,
            activity_dropped,
            rate_limit_fallbacks,
            directory_version,
            change_bus_connected,
            upstream_retries,
            upstream_endpoint_up,
        }
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        out
    }
}

/// One operation's latency histograms in one environment.
#[derive(Debug, Clone)]
pub struct RouteMetrics {
    /// `sandgate_request_duration_seconds` of the operation.
    pub latency: Histogram,
    /// `sandgate_upstream_duration_seconds` of the operation.
    pub upstream_latency: Histogram,
}

impl Metrics {
    /// The latency histograms of `operation` in environment `env`.
    pub fn route(&self, env: &str, operation: &str) -> RouteMetrics {
        RouteMetrics {
            latency: self.latency.with_label_values(&[env, operation]),
            upstream_latency: self.upstream_latency.with_label_values(&[env, operation]),
        }
    }
}

/// Each operation's [`RouteMetrics`] in one environment, looked up on its first request: the
/// label lookup hashes both labels and takes the family's lock, which every request paid before
/// (issue 16). Indexed like the route table (API, then operation); built with the tables, so a
/// reload starts afresh. Its histograms belong to the process's one [`Metrics`].
#[derive(Debug, Default)]
pub struct RouteMetricsCache {
    by_api: Box<[Box<[OnceLock<RouteMetrics>]>]>,
}

impl RouteMetricsCache {
    /// An empty cache for APIs with these numbers of operations.
    pub fn new(operations_per_api: impl Iterator<Item = usize>) -> RouteMetricsCache {
        RouteMetricsCache {
            by_api: operations_per_api.map(|count| (0..count).map(|_| OnceLock::new()).collect()).collect(),
        }
    }

    /// The histograms of operation `op` of API `api`, resolved by `resolve` the first time;
    /// `None` outside the table.
    pub fn get(&self, api: usize, op: usize, resolve: impl FnOnce() -> RouteMetrics) -> Option<&RouteMetrics> {
        self.by_api.get(api)?.get(op).map(|slot| slot.get_or_init(resolve))
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_operation_resolves_its_histograms_once_and_counts_into_its_own_series() {
        let metrics = Metrics::new();
        let cache = RouteMetricsCache::new([2, 1].into_iter());
        let mut lookups = 0;
        for _ in 0..3 {
            let resolve = || {
                lookups += 1;
                metrics.route("production", "getB")
            };
            cache.get(0, 1, resolve).expect("in the table").latency.observe(0.001);
        }
        assert_eq!(lookups, 1, "looked up on the first request only");
        cache.get(1, 0, || metrics.route("production", "getC")).expect("in the table").latency.observe(0.001);
        assert!(cache.get(1, 1, || metrics.route("production", "none")).is_none());
        assert!(cache.get(2, 0, || metrics.route("production", "none")).is_none());
        let text = String::from_utf8(metrics.render()).expect("utf-8");
        for line in [
            "sandgate_request_duration_seconds_count{environment=\"production\",operation=\"getB\"} 3",
            "sandgate_request_duration_seconds_count{environment=\"production\",operation=\"getC\"} 1",
        ] {
            assert!(text.contains(line), "{line} in\n{text}");
        }
        assert!(!text.contains("operation=\"none\""), "nothing resolved outside the table");
    }
}
