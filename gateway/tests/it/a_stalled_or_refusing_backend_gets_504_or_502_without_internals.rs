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

/// The answer and its time from a Sandgate whose PRODUCTION `timeouts` are `timeouts`, in front
/// of a backend that answers 5 s late.
fn call_a_stalled_backend(timeouts: &str) -> (reqwest::blocking::Response, Duration) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let backend = runtime.block_on(MockServer::start());
    let stalled = ResponseTemplate::new(200).set_delay(Duration::from_secs(5));
    runtime.block_on(Mock::given(method("GET")).respond_with(stalled).mount(&backend));
    let yaml = format!("sandgate:\n  environments:\n    production:\n      timeouts: {timeouts}\n");
    let sandgate = TestSandgate::start_with(Some(*backend.address()), &yaml);
    call(&sandgate)
}

#[test]
fn a_stalled_backend_gets_504_at_the_read_timeout_and_a_refusing_one_502() {
    let (answer, took) = call_a_stalled_backend("{read_ms: 300}");
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

#[test]
fn the_total_timeout_bounds_the_wait_for_the_head_when_reads_may_take_longer() {
    let (answer, took) = call_a_stalled_backend("{read_ms: 10000, total_ms: 300}");
    assert!(took < Duration::from_secs(3), "answered after {took:?}, not at the 300 ms total timeout");
    common::assert_problem(answer, 504, "upstream-timeout");
}

/// A backend that answers 200 at once, then sends one body chunk every 100 ms: forever (every
/// read is quick, only a total time can stop it), or `then_close` after a few chunks, without
/// the final chunk.
fn trickling_backend(then_close: bool) -> std::net::SocketAddr {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).is_ok_and(|n| n == 1) {
                    head.push(byte[0]);
                }
                let start = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
                if stream.write_all(start.as_bytes()).is_err() {
                    return;
                }
                let mut sent = 0;
                while stream.write_all(b"1\r\n \r\n").is_ok() && !(then_close && sent == 3) {
                    sent += 1;
                    std::thread::sleep(Duration::from_millis(100));
                }
            });
        }
    });
    addr
}

#[test]
fn an_answer_still_streaming_past_the_total_timeout_is_cut() {
    let backend = trickling_backend(false);
    let yaml = "sandgate:\n  environments:\n    production:\n      timeouts: {read_ms: 5000, total_ms: 800}\n";
    let sandgate = TestSandgate::start_with(Some(backend), yaml);
    let (answer, _) = call(&sandgate);
    assert_eq!(answer.status(), 200, "the head arrived in time and was passed on");
    let started = Instant::now();
    let body = answer.text();
    assert!(body.is_err(), "a body that never ends was read to an end: {body:?}");
    assert!(started.elapsed() < Duration::from_secs(5), "cut after {:?}, not at the total timeout", started.elapsed());
}

#[test]
fn an_answer_the_backend_breaks_off_is_passed_on_as_incomplete_never_patched() {
    let backend = trickling_backend(true);
    let sandgate = TestSandgate::start(Some(backend));
    let (answer, _) = call(&sandgate);
    assert_eq!(answer.status(), 200, "the head was passed on as it came");
    let body = answer.text();
    assert!(body.is_err(), "a body the backend broke off reads as complete: {body:?}");
}
