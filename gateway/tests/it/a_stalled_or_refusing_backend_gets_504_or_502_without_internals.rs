//! A PRODUCTION backend that stalls past `environments.production.timeouts.read_ms` gets the
//! partner a 504 `upstream-timeout` in that time, not whenever the backend answers; one that
//! refuses connections gets a 502. Neither answer names the backend's address. `wiremock` stands
//! in for the operator's backend.

use sandgate_testkit as common;

use std::time::{Duration, Instant};

use common::TestSandgate;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

fn call(sandgate: &TestSandgate) -> (reqwest::blocking::Response, Duration) {
    let (id, secret) = (&sandgate.production_client_id, &sandgate.production_client_secret);
    let token = common::access_token(&sandgate.production, id, secret);
    let started = Instant::now();
    let answer = common::get(&format!("{}/pos-api/v2.5/client-id/{id}/i18n", sandgate.production), Some(&token));
    (answer, started.elapsed())
}

#[test]
fn a_stalled_backend_gets_504_at_the_read_timeout_and_a_refusing_one_502() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let backend = runtime.block_on(MockServer::start());
    let stalled = ResponseTemplate::new(200).set_delay(Duration::from_secs(5));
    runtime.block_on(Mock::given(method("GET")).respond_with(stalled).mount(&backend));
    let yaml = "sandgate:\n  environments:\n    production:\n      timeouts: {read_ms: 300}\n";
    let sandgate = TestSandgate::start_with(Some(*backend.address()), yaml);
    let (answer, took) = call(&sandgate);
    assert!(took < Duration::from_secs(3), "answered after {took:?}, not at the 300 ms read timeout");
    let body = common::assert_problem(answer, 504, "upstream-timeout");
    assert!(!body.to_string().contains("127.0.0.1"), "the backend's address leaked: {body}");

    let nobody = common::free_port();
    let sandgate = TestSandgate::start(Some(nobody));
    let (answer, _) = call(&sandgate);
    let body = common::assert_problem(answer, 502, "upstream-unavailable");
    assert!(!body.to_string().contains(&nobody.port().to_string()), "the backend's address leaked: {body}");
}

#[test]
fn a_backend_name_that_does_not_resolve_yet_does_not_stop_the_start() {
    // `.invalid` never resolves (RFC 6761). Sandgate starts, answers 502 without the name, and
    // resolves the name again every minute.
    let yaml = "sandgate:\n  environments:\n    production: {upstream: 'http://backend.invalid:8080'}\n";
    let sandgate = TestSandgate::start_with(None, yaml);
    let (answer, _) = call(&sandgate);
    let body = common::assert_problem(answer, 502, "upstream-unavailable");
    assert!(!body.to_string().contains("backend.invalid"), "the backend's name leaked: {body}");
    assert!(!sandgate.shared.tables.load().upstreams_moved(), "still unresolved: nothing to rebuild");
}
