//! With `telemetry.otlp_endpoint`, the real binary exports one span per request over OTLP/HTTP
//! (protobuf) and continues the caller's W3C `traceparent`: the trace id a client sent is in what
//! the collector receives. `wiremock` stands in for the operator's OpenTelemetry collector.

use sandgate_testkit as common;

use std::time::{Duration, Instant};

use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The trace id the client sends, as hex (in `traceparent`) and as the raw bytes OTLP carries.
const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

#[test]
fn a_request_span_continuing_the_callers_trace_reaches_the_collector() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let collector = runtime.block_on(MockServer::start());
    runtime.block_on(
        Mock::given(method("POST")).and(path("/v1/traces")).respond_with(ResponseTemplate::new(200)).mount(&collector),
    );
    let temp = common::temp_dir("otlp");
    let config = temp.path().join("sandgate.yaml");
    let endpoint = format!("http://{}/v1/traces", collector.address());
    std::fs::write(
        &config,
        format!("sandgate:\n  telemetry: {{otlp_endpoint: '{endpoint}', service_name: sandgate-test}}\n"),
    )
    .expect("config");
    let data_dir = temp.path().join("data");
    let (mut command, ports) =
        crate::process::sandgate(&["up", "--json", "--config", &config.display().to_string()], &data_dir);
    command.env("OTEL_BSP_SCHEDULE_DELAY", "100"); // export within 100 ms instead of 5 s
    let crate::process::Up { mut child, banner } = crate::process::start(command, ports);
    let training = format!("http://{}", ports[0]);
    let (id, secret) = (banner["client_id"].as_str().expect("id"), banner["client_secret"].as_str().expect("secret"));
    let token = common::access_token(&training, id, secret);
    let answer = common::http()
        .get(format!("{training}/pos-api/v2.5/client-id/{id}/i18n"))
        .bearer_auth(&token)
        .header("x-reference-id", "3f0e4a4c-0d7e-4a53-9a43-2f1d0d3b1a11")
        .header("traceparent", format!("00-{TRACE_ID}-00f067aa0ba902b7-01"))
        .send()
        .expect("answer");
    assert_eq!(answer.status(), 200);

    let wanted: Vec<u8> = (0..16).map(|i| u8::from_str_radix(&TRACE_ID[2 * i..2 * i + 2], 16).expect("hex")).collect();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let received = runtime.block_on(collector.received_requests()).unwrap_or_default();
        let continued = received.iter().any(|r| r.body.windows(16).any(|w| w == wanted.as_slice()));
        if continued {
            let exported = &received[0];
            let content_type = exported.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
            assert_eq!(content_type, "application/x-protobuf");
            assert!(received.iter().any(|r| r.body.windows(13).any(|w| w == b"sandgate-test")), "service.name is set");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no span with the caller's trace id reached the collector ({} exports)",
            received.len()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
}
