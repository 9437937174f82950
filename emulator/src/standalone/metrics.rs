//! What `sandgate emulator` run alone counts, for `/metrics` on its admin listener, and the
//! access line it writes per request (`sandgate::access`, as the gateway's).

use std::time::Duration;

use prometheus::{Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder};

/// The standalone emulator's metrics.
#[derive(Debug, Clone)]
pub struct StandaloneMetrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
}

impl Default for StandaloneMetrics {
    fn default() -> Self {
        StandaloneMetrics::new()
    }
}

impl StandaloneMetrics {
    /// Registers every metric in a fresh registry.
    pub fn new() -> StandaloneMetrics {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new("sandgate_emulator_requests_total", "Requests answered, by method and status"),
            &["method", "status"],
        )
        .expect("valid metric");
        let latency = HistogramVec::new(
            HistogramOpts::new("sandgate_emulator_request_duration_seconds", "Time to answer a request")
                .buckets(vec![0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5]),
            &["method"],
        )
        .expect("valid metric");
        let build = IntGaugeVec::new(Opts::new("sandgate_build_info", "1, labelled with the version"), &["version"])
            .expect("valid metric");
        build.with_label_values(&[env!("CARGO_PKG_VERSION")]).set(1);
        for collector in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(latency.clone()),
            Box::new(build),
            Box::new(prometheus::process_collector::ProcessCollector::for_self()),
        ] {
            registry.register(collector).expect("unique metric names");
        }
        StandaloneMetrics { registry, requests, latency }
    }

    /// Counts one answered request and writes its access line (never a header, query or body).
    pub fn record(&self, method: &str, path: &str, status: u16, took: Duration, bytes_in: usize, bytes_out: usize) {
        let method = match method {
            "GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD" | "OPTIONS" => method,
            _ => "other", // a client chooses the method: the label set stays bounded
        };
        let code = http::StatusCode::from_u16(status).ok();
        self.requests.with_label_values(&[method, code.as_ref().map_or("000", http::StatusCode::as_str)]).inc();
        self.latency.with_label_values(&[method]).observe(took.as_secs_f64());
        tracing::info!(
            target: "sandgate::access",
            method,
            path,
            status,
            bytes_in,
            bytes_out,
            duration_us = took.as_micros() as u64,
        );
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        out
    }
}
