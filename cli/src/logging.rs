//! The process's log and trace output. Logs go to stderr so that stdout carries only what
//! scripts read (`--json`), through a background writer so a slow terminal or pipe never stalls a
//! request. With `telemetry.otlp_endpoint`, request spans (target `sandgate::trace`, see
//! `sandgate_gateway::phase::trace`) are exported over OTLP/HTTP by a batch processor on a
//! thread of its own; the caller's W3C `traceparent` is continued.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use sandgate_gateway::config::Telemetry;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

/// The log thread's writer: lines collect in a buffer, written out in one `write` once the
/// thread has drained every pending line; it then rests for [`Batched::REST`] before it waits
/// again. Measured under load, writing each access line on its own cost a `write` system call
/// per request, and the thread waking for every line cost the sending worker a futex wake and a
/// context switch per request; resting lets lines queue without waking anyone, so both happen
/// once per batch. Lines appear at most `REST` later; the buffer is flushed at exit.
struct Batched<W: std::io::Write> {
    out: std::io::BufWriter<W>,
}

impl<W: std::io::Write> Batched<W> {
    const REST: std::time::Duration = std::time::Duration::from_millis(2);

    fn new(out: W) -> Batched<W> {
        Batched { out: std::io::BufWriter::with_capacity(256 * 1024, out) }
    }
}

impl<W: std::io::Write> std::io::Write for Batched<W> {
    fn write(&mut self, line: &[u8]) -> std::io::Result<usize> {
        self.out.write(line)
    }

    /// Called by the log thread each time it has drained the queue.
    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()?;
        std::thread::sleep(Self::REST);
        Ok(())
    }
}

/// Keeps the log writer and the trace exporter alive; dropping it flushes both.
pub(crate) struct Guard {
    _logs: tracing_appender::non_blocking::WorkerGuard,
    traces: Option<opentelemetry_sdk::trace::SdkTracerProvider>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(provider) = self.traces.take() {
            if let Err(e) = provider.shutdown() {
                eprintln!("sandgate: the last traces could not be exported: {e}");
            }
        }
    }
}

/// Installs the subscriber: logs at `level` (pretty or `json`), and traces when `telemetry` says
/// where to send them.
pub(crate) fn init(level: &str, json: bool, telemetry: Option<&Telemetry>) -> Guard {
    use std::io::IsTerminal;
    let ansi = std::io::stderr().is_terminal();
    let (writer, logs) = tracing_appender::non_blocking(Batched::new(std::io::stderr()));
    let access = writer.clone();
    sandgate_gateway::phase::log::install(sandgate_gateway::phase::log::AccessWriter {
        json,
        out: Box::new(move |line| {
            use std::io::Write;
            let _ = access.clone().write_all(line);
        }),
    });
    // Pingora's start-up chatter is INFO; keep it out of the default view (RUST_LOG overrides).
    // Request spans are the trace exporter's, not the log's.
    let quiet = "pingora_core=warn,pingora_proxy=warn,sandgate::trace=off";
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(format!("{level},{quiet}")))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Crates that log through `log` (Pingora does, in its hot paths) reach tracing through
    // LogTracer. `log` skips a disabled record with one comparison against its global maximum,
    // so that maximum is the filter's, not TRACE: with TRACE every `debug!` Pingora makes per
    // request went through LogTracer into the filter, only to be dropped (issue 16).
    let _ = tracing_log::LogTracer::init_with_filter(most_verbose(&filter));
    let provider = match telemetry.map(exporter) {
        Some(Ok(provider)) => Some(provider),
        Some(Err(e)) => {
            eprintln!("sandgate: traces are off: cannot set up the OTLP exporter: {e}");
            None
        }
        None => None,
    };
    let Some(provider) = provider else {
        // No traces: one global filter, so every disabled callsite (the request spans, and the
        // debug events of Pingora and tokio) is skipped at its static interest, for free.
        // Per-layer filters (below) would have every such callsite asked on every hit.
        let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(writer).with_ansi(ansi);
        let _ = if json { builder.json().try_init() } else { builder.try_init() };
        return Guard { _logs: logs, traces: None };
    };
    let fmt = tracing_subscriber::fmt::layer().with_writer(writer).with_ansi(ansi);
    let fmt = if json { fmt.json().with_filter(filter).boxed() } else { fmt.with_filter(filter).boxed() };
    let only_requests = tracing_subscriber::filter::Targets::new()
        .with_target(sandgate_gateway::phase::trace::TARGET, tracing::Level::INFO);
    let traces = tracing_opentelemetry::layer().with_tracer(provider.tracer("sandgate")).with_filter(only_requests);
    let _ = tracing_subscriber::registry().with(fmt).with(traces).try_init();
    let traces = Some(provider);
    Guard { _logs: logs, traces }
}

/// The most verbose level `filter` lets through, as `log` names it (TRACE when it cannot tell).
fn most_verbose(filter: &tracing_subscriber::EnvFilter) -> tracing_log::log::LevelFilter {
    filter.max_level_hint().map_or(tracing_log::log::LevelFilter::Trace, |level| tracing_log::AsLog::as_log(&level))
}

fn exporter(telemetry: &Telemetry) -> Result<opentelemetry_sdk::trace::SdkTracerProvider, String> {
    use opentelemetry_sdk::trace::Sampler;
    // reqwest (the exporter's HTTP client) brings no crypto provider of its own: use ring, as
    // Pingora does (installed again, harmlessly, when the process is assembled).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(telemetry.endpoint.clone())
        .build()
        .map_err(|e| e.to_string())?;
    opentelemetry::global::set_text_map_propagator(opentelemetry_sdk::propagation::TraceContextPropagator::new());
    Ok(opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(telemetry.sample_ratio))))
        .with_resource(opentelemetry_sdk::Resource::builder().with_service_name(telemetry.service_name.clone()).build())
        .build())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_log::log::LevelFilter;

    #[test]
    fn log_skips_what_the_filter_would_drop() {
        let filter = |directives: &str| tracing_subscriber::EnvFilter::new(directives);
        assert_eq!(most_verbose(&filter("info,pingora_core=warn,sandgate::trace=off")), LevelFilter::Info);
        assert_eq!(most_verbose(&filter("warn")), LevelFilter::Warn);
        assert_eq!(most_verbose(&filter("warn,sandgate=debug")), LevelFilter::Debug);
        if std::env::var_os("RUST_LOG").is_none() {
            let _logs = init("info", false, None);
            assert_eq!(tracing_log::log::max_level(), LevelFilter::Info, "Pingora's debug! records stop in `log`");
        }
    }
}
