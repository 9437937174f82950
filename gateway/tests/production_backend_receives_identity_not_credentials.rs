//! With a backend configured, PRODUCTION proxies to it: the backend gets verified identity
//! headers, never the client's token or forged identity headers. `wiremock` stands in for the
//! operator's production backend (a third party).

mod common;

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
