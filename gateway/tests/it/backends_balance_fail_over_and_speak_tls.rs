//! PRODUCTION backends as an operator runs them: `https://` with their own CA (and a client
//! certificate where the backend asks for one), several endpoints sharing the requests, an
//! endpoint that refuses connections retried around (idempotent requests only) and ejected, and
//! an endpoint failing its health checks taken out of rotation and brought back. `wiremock` and
//! the test kit's TLS server stand in for the operator's backends; nothing in an answer names one.

use sandgate_testkit as common;

use std::time::{Duration, Instant};

use common::tls_backend::TlsBackend;
use common::TestSandgate;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A PRODUCTION token of the demo application.
fn token(sandgate: &TestSandgate) -> String {
    common::access_token(&sandgate.production, &sandgate.production_client_id, &sandgate.production_client_secret)
}

/// `GET …/i18n` through PRODUCTION.
fn get(sandgate: &TestSandgate, token: &str) -> reqwest::blocking::Response {
    let id = &sandgate.production_client_id;
    common::get(&format!("{}/pos-api/v2.5/client-id/{id}/i18n", sandgate.production), Some(token))
}

/// `POST …/transactions` through PRODUCTION (not idempotent).
fn post(sandgate: &TestSandgate, token: &str) -> u16 {
    let id = &sandgate.production_client_id;
    common::http()
        .post(format!("{}/pos-api/v2.5/client-id/{id}/transactions", sandgate.production))
        .bearer_auth(token)
        .header("x-reference-id", "3f0e4a4c-0d7e-4a53-9a43-2f1d0d3b1a11")
        .json(&serde_json::json!({"amount": 10.0}))
        .send()
        .expect("gateway answers")
        .status()
        .as_u16()
}

fn production(upstream: &str, backend: &str) -> String {
    format!("sandgate:\n  environments:\n    production:\n      upstream: {upstream}\n      backend: {backend}\n")
}

#[test]
fn an_https_backend_is_verified_against_its_ca_and_its_name() {
    let backend = TlsBackend::start(false);
    let upstream = format!("'https://127.0.0.1:{}'", backend.addr.port());
    let with_ca = |ca: &std::path::Path, extra: &str| format!("{{tls: {{ca_file: '{}'{extra}}}}}", ca.display());

    let sandgate = TestSandgate::start_with(None, &production(&upstream, &with_ca(&backend.ca_file, "")));
    let answer = get(&sandgate, &token(&sandgate));
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.json::<serde_json::Value>().expect("json")["tls"], true);

    for (case, backend_yaml) in [
        ("the system's roots do not know the backend's CA", "{}".to_owned()),
        ("another CA", with_ca(&backend.other_ca_file, "")),
        ("a name the certificate does not carry", with_ca(&backend.ca_file, ", server_name: wrong.example")),
    ] {
        let sandgate = TestSandgate::start_with(None, &production(&upstream, &backend_yaml));
        let body = common::assert_problem(get(&sandgate, &token(&sandgate)), 502, "upstream-unavailable");
        let text = body.to_string();
        assert!(!text.contains("127.0.0.1") && !text.contains("certificate"), "{case}: internals leaked: {text}");
    }
}

#[test]
fn a_backend_that_asks_for_a_client_certificate_gets_the_configured_one() {
    let backend = TlsBackend::start(true);
    let upstream = format!("'https://127.0.0.1:{}'", backend.addr.port());
    let mtls = format!(
        "{{tls: {{ca_file: '{}', client_cert_file: '{}', client_key_file: '{}'}}}}",
        backend.ca_file.display(),
        backend.client_cert_file.display(),
        backend.client_key_file.display()
    );
    let sandgate = TestSandgate::start_with(None, &production(&upstream, &mtls));
    let answer = get(&sandgate, &token(&sandgate));
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.json::<serde_json::Value>().expect("json")["client_certificate"], true);

    let without = format!("{{tls: {{ca_file: '{}'}}}}", backend.ca_file.display());
    let sandgate = TestSandgate::start_with(None, &production(&upstream, &without));
    common::assert_problem(get(&sandgate, &token(&sandgate)), 502, "upstream-unavailable");
}

#[test]
fn requests_are_shared_and_a_refusing_endpoint_is_retried_around_then_ejected() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let ok = ResponseTemplate::new(200).set_body_json(serde_json::json!({"ok": true}));
    let (a, b) = (runtime.block_on(MockServer::start()), runtime.block_on(MockServer::start()));
    for server in [&a, &b] {
        runtime.block_on(Mock::given(method("GET")).respond_with(ok.clone()).mount(server));
        runtime.block_on(Mock::given(method("POST")).respond_with(ok.clone()).mount(server));
    }
    let both = format!("['http://{}', 'http://{}']", a.address(), b.address());
    let sandgate = TestSandgate::start_with(None, &production(&both, "{}"));
    let token = token(&sandgate);
    for _ in 0..10 {
        assert_eq!(get(&sandgate, &token).status(), 200);
    }
    let received = |server: &MockServer| runtime.block_on(server.received_requests()).map_or(0, |r| r.len());
    assert_eq!((received(&a), received(&b)), (5, 5), "round robin shares the requests");

    // One endpoint refuses connections. Never ejected here, so every other request meets it:
    // an idempotent GET is tried again on the other endpoint, a POST is not (502).
    let dead = common::free_port();
    let with_dead = format!("['http://{dead}', 'http://{}']", b.address());
    let sandgate = TestSandgate::start_with(None, &production(&with_dead, "{eject: {after_failures: 0}}"));
    let token =
        common::access_token(&sandgate.production, &sandgate.production_client_id, &sandgate.production_client_secret);
    for _ in 0..6 {
        assert_eq!(get(&sandgate, &token).status(), 200, "a GET that met the dead endpoint was tried again");
    }
    let posts: Vec<u16> = (0..6).map(|_| post(&sandgate, &token)).collect();
    assert!(posts.contains(&502) && posts.contains(&200), "a POST is never tried twice: {posts:?}");

    // With ejection (two failures in a row), the dead endpoint leaves the rotation: every POST
    // then reaches the live one.
    let sandgate = TestSandgate::start_with(
        None,
        &production(&with_dead, "{eject: {after_failures: 2, for_ms: 60000}, retries: 0}"),
    );
    let token =
        common::access_token(&sandgate.production, &sandgate.production_client_id, &sandgate.production_client_secret);
    let warm: Vec<u16> = (0..4).map(|_| post(&sandgate, &token)).collect();
    assert_eq!(warm.iter().filter(|s| **s == 502).count(), 2, "two failures eject it: {warm:?}");
    assert!((0..6).all(|_| post(&sandgate, &token) == 200), "the ejected endpoint gets no more requests");
}

#[test]
fn an_endpoint_failing_its_health_checks_leaves_the_rotation_and_comes_back() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let (sick, well) = (runtime.block_on(MockServer::start()), runtime.block_on(MockServer::start()));
    let answer = |status: u16| ResponseTemplate::new(status).set_body_json(serde_json::json!({}));
    runtime.block_on(Mock::given(path("/healthz")).respond_with(answer(503)).mount(&sick));
    runtime.block_on(Mock::given(path("/healthz")).respond_with(answer(200)).mount(&well));
    for server in [&sick, &well] {
        runtime.block_on(Mock::given(method("GET")).respond_with(answer(200)).mount(server));
    }
    let upstream = format!("['http://{}', 'http://{}']", sick.address(), well.address());
    let checks =
        "{health_check: {path: /healthz, interval_ms: 100, timeout_ms: 100, unhealthy_after: 2, healthy_after: 2}}";
    let sandgate = TestSandgate::start_with(None, &production(&upstream, checks));
    let token = token(&sandgate);
    let traffic = |server: &MockServer| {
        runtime
            .block_on(server.received_requests())
            .map_or(0, |r| r.iter().filter(|r| r.url.path() != "/healthz").count())
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let before = traffic(&sick);
        for _ in 0..6 {
            assert_eq!(get(&sandgate, &token).status(), 200);
        }
        if traffic(&sick) == before {
            break; // out of rotation
        }
        assert!(Instant::now() < deadline, "the endpoint failing its checks still gets requests");
        std::thread::sleep(Duration::from_millis(100));
    }

    runtime.block_on(sick.reset());
    runtime.block_on(Mock::given(method("GET")).respond_with(answer(200)).mount(&sick));
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let before = traffic(&sick);
        for _ in 0..6 {
            assert_eq!(get(&sandgate, &token).status(), 200);
        }
        if traffic(&sick) > before {
            break; // back in rotation
        }
        assert!(Instant::now() < deadline, "the endpoint passing its checks again never came back");
        std::thread::sleep(Duration::from_millis(100));
    }
}
