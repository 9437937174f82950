//! With a backend configured, PRODUCTION proxies to it: the backend gets verified identity
//! headers, never the client's token or forged identity headers. `wiremock` stands in for the
//! operator's production backend (a third party).

use sandgate_testkit as common;

use common::TestSandgate;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[test]
fn production_request_is_proxied_with_identity_headers_only() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let backend = runtime.block_on(MockServer::start());
    runtime.block_on(
        Mock::given(method("GET"))
            .and(path("/pos-api/v2.5/client-id/any/i18n"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"en": {}})))
            .mount(&backend),
    );
    let sandgate = TestSandgate::start(Some(*backend.address()));
    let (id, secret) = (&sandgate.production_client_id, &sandgate.production_client_secret);
    let token = common::access_token(&sandgate.production, id, secret);

    let url = format!("{}/pos-api/v2.5/client-id/{id}/i18n", sandgate.production);
    let response = common::http()
        .get(&url)
        .header("authorization", format!("Bearer {token}"))
        .header("x-sandgate-partner", "forged-partner")
        .header("x-request-id", "req-abc-1")
        .header("x-reference-id", "3f0e4a4c-0d7e-4a53-9a43-2f1d0d3b1a11")
        .send()
        .expect("send");
    // The mock only answers /client-id/any/i18n, so this path gets wiremock's 404: proxied as is.
    assert_eq!(response.status(), 404);
    assert_eq!(response.headers()["x-request-id"], "req-abc-1");

    let received = runtime.block_on(backend.received_requests()).expect("recording on");
    assert_eq!(received.len(), 1, "exactly one request reached the backend");
    let request = &received[0];
    assert!(request.headers.get("authorization").is_none(), "the token must not reach the backend");
    assert_eq!(request.headers["x-sandgate-environment"], "production");
    assert_eq!(request.headers["x-sandgate-client-id"], id.as_str());
    let partners: Vec<_> = request.headers.get_all("x-sandgate-partner").iter().collect();
    assert_eq!(partners.len(), 1);
    assert_ne!(partners[0], "forged-partner");
    assert_eq!(request.headers["x-request-id"], "req-abc-1");
    assert_eq!(request.headers["host"], backend.address().to_string().as_str(), "the backend sees its own name");
}

#[test]
fn the_backend_sees_origin_form_documented_query_and_our_forwarding_headers_only() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let backend = runtime.block_on(MockServer::start());
    runtime.block_on(
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!([])))
            .mount(&backend),
    );
    let sandgate = TestSandgate::start(Some(*backend.address()));
    let (id, secret) = (&sandgate.production_client_id, &sandgate.production_client_secret);
    let token = common::access_token(&sandgate.production, id, secret);
    let target = format!(
        "http://elsewhere.example/pos-api/v2.5/client-id/{id}/customers/search?first_name=Ann&debug=true&last_name=Lee&dob=1990-02-03&x_sandgate_partner=p"
    );
    let request = format!(
        "GET {target} HTTP/1.1\r\nHost: elsewhere.example\r\nAuthorization: Bearer {token}\r\nx-reference-id: 3f0e4a4c-0d7e-4a53-9a43-2f1d0d3b1a11\r\n\
         x_sandgate_partner: forged\r\nX-Sandgate-Debug: 1\r\nX-Forwarded-For: 10.9.9.9\r\nForwarded: for=10.9.9.9\r\nX-Real-IP: 10.9.9.9\r\n\
         X-Original-URL: /admin\r\nX-Rewrite-URL: /admin\r\nX-HTTP-Method-Override: DELETE\r\nConnection: close\r\n\r\n"
    );
    let answer = common::raw_request(&sandgate.production, &request);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let received = runtime.block_on(backend.received_requests()).expect("recording on");
    assert_eq!(received.len(), 1);
    let request = &received[0];
    assert_eq!(request.url.path(), format!("/pos-api/v2.5/client-id/{id}/customers/search"), "origin form");
    assert_eq!(request.headers["host"], backend.address().to_string().as_str());
    assert_eq!(
        request.url.query(),
        Some("first_name=Ann&last_name=Lee&dob=1990-02-03"),
        "undocumented query parameters are dropped"
    );
    assert_eq!(request.headers["x-forwarded-for"], "127.0.0.1", "set from the resolved client address");
    assert_eq!(request.headers.get_all("x-forwarded-for").iter().count(), 1);
    assert_eq!(request.headers["forwarded"], "for=127.0.0.1");
    for name in [
        "x_sandgate_partner",
        "x-sandgate-debug",
        "x-real-ip",
        "x-original-url",
        "x-rewrite-url",
        "x-http-method-override",
    ] {
        assert!(request.headers.get(name).is_none(), "{name} reached the backend");
    }
}

#[test]
fn rejected_production_request_never_reaches_the_backend() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let backend = runtime.block_on(MockServer::start());
    let sandgate = TestSandgate::start(Some(*backend.address()));
    let url = format!("{}/pos-api/v2.5/client-id/{}/i18n", sandgate.production, sandgate.production_client_id);
    common::assert_problem(common::get(&url, None), 401, "unauthenticated");
    common::assert_problem(common::get(&url, Some("forged")), 401, "token-malformed");
    let received = runtime.block_on(backend.received_requests()).expect("recording on");
    assert!(received.is_empty(), "nothing may reach the backend: {received:?}");
}

/// A backend that records the request line it receives (wiremock rebuilds the URL and so cannot
/// tell an absolute-form target from an origin-form one).
fn request_line_recorder() -> (std::net::SocketAddr, std::sync::mpsc::Receiver<String>) {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (lines, received) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream);
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            let mut header = String::new();
            while reader.read_line(&mut header).is_ok_and(|n| n > 2) {
                header.clear();
            }
            let _ = lines.send(line.trim_end().to_owned());
            let _ = reader
                .get_mut()
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-type: application/json\r\n\r\n[]");
        }
    });
    (addr, received)
}

#[test]
fn an_absolute_form_target_reaches_the_backend_in_origin_form() {
    let (backend, lines) = request_line_recorder();
    let sandgate = TestSandgate::start(Some(backend));
    let (id, secret) = (&sandgate.production_client_id, &sandgate.production_client_secret);
    let token = common::access_token(&sandgate.production, id, secret);
    let path = format!("/pos-api/v2.5/client-id/{id}/i18n");
    let request = format!(
        "GET http://elsewhere.example{path} HTTP/1.1\r\nHost: elsewhere.example\r\nAuthorization: Bearer {token}\r\nx-reference-id: 3f0e4a4c-0d7e-4a53-9a43-2f1d0d3b1a11\r\nConnection: close\r\n\r\n"
    );
    let answer = common::raw_request(&sandgate.production, &request);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let line = lines.recv_timeout(std::time::Duration::from_secs(5)).expect("the backend got a request");
    assert_eq!(line, format!("GET {path} HTTP/1.1"));
}
