//! Bad input at the gateway: each gets problem+json with the right status and a stable `type`,
//! nothing panics, and the same server answers a good request afterwards.

use sandgate_testkit as common;

use common::{assert_problem, TestSandgate};

#[test]
fn bad_credentials_tokens_and_paths_get_problem_json() {
    let sandgate = TestSandgate::start(None);
    let (base, id, secret) = (&sandgate.training, sandgate.client_id.as_str(), sandgate.client_secret.as_str());

    // Token endpoint.
    let wrong = common::token_request(base, &[("client_id", id), ("client_secret", "trn_sk_wrong")]);
    let body = assert_problem(wrong, 400, "invalid-client");
    assert_eq!(body["error"], "invalid_client", "the reference API's error code is kept");
    assert!(!body.to_string().contains("trn_sk_wrong"), "a secret is never echoed");
    assert_problem(common::token_request(base, &[("client_id", id)]), 400, "invalid-client");
    assert_problem(
        common::token_request(base, &[("client_id", "trn_unknown"), ("client_secret", secret)]),
        400,
        "invalid-client",
    );
    let unsupported =
        common::token_request(base, &[("grant_type", "password"), ("client_id", id), ("client_secret", secret)]);
    assert_eq!(assert_problem(unsupported, 400, "invalid-token-request")["error"], "unsupported_grant_type");
    let bad_scope = common::token_request(base, &[("client_id", id), ("client_secret", secret), ("scope", "admin")]);
    assert_eq!(assert_problem(bad_scope, 400, "invalid-token-request")["error"], "invalid_scope");
    let json_body = common::http()
        .post(format!("{base}/pos-api/v2.5/oauth/token"))
        .json(&serde_json::json!({"client_id": id, "client_secret": secret}))
        .send()
        .expect("send");
    assert_problem(json_body, 400, "invalid-token-request");
    let at_production = common::token_request(&sandgate.production, &[("client_id", id), ("client_secret", secret)]);
    let body = assert_problem(at_production, 400, "invalid-client");
    assert!(body["detail"].as_str().is_some_and(|d| d.contains("TRAINING")), "names the environment: {body}");

    // API calls.
    let url =
        format!("{base}/pos-api/v2.5/client-id/{id}/customers/search?first_name=John&last_name=Smith&dob=1980-01-01");
    let missing = common::get(&url, None);
    assert!(missing.headers()["www-authenticate"].to_str().is_ok_and(|v| v.starts_with("Bearer")));
    assert_problem(missing, 401, "unauthenticated");
    assert_problem(common::get(&url, Some("not.a.token")), 401, "token-malformed");
    let token = common::access_token(base, id, secret);
    // Change one character in the middle of the signature: still base64, no longer valid.
    let mut tampered = token.clone().into_bytes();
    let at = tampered.len() - 10;
    tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).expect("ascii");
    assert_problem(common::get(&url, Some(&tampered)), 401, "token-signature-invalid");
    let other_client = url.replace(id, "trn_someoneelse");
    assert_problem(common::get(&other_client, Some(&token)), 403, "forbidden");
    let two = common::http()
        .get(&url)
        .header("authorization", format!("Bearer {token}"))
        .header("authorization", format!("Bearer {token}"))
        .header("x-reference-id", "3f0e4a4c-0d7e-4a53-9a43-2f1d0d3b1a11")
        .send()
        .expect("send");
    assert_problem(two, 400, "invalid-request");
    assert_problem(common::get(&format!("{base}/nope"), Some(&token)), 404, "unknown-route");
    assert_problem(
        common::get(&format!("{base}/pos-api/v2.5/client-id/{id}/nothing-here"), Some(&token)),
        404,
        "unknown-route",
    );
    // HTTP clients resolve dot segments themselves, so send these raw.
    for path in ["/pos-api/v2.5/x/%2e%2e/oauth/token", "/pos-api/v2.5/../v2.4/oauth/token"] {
        let raw = common::raw_request(base, &format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
        assert!(raw.starts_with("HTTP/1.1 400"), "{path}: {raw}");
        assert!(raw.contains("urn:sandgate:problem:invalid-request"), "{path}: {raw}");
    }

    // A TRAINING token at PRODUCTION is refused and the detail says where it belongs.
    let prod_url = url.replace(base.as_str(), &sandgate.production);
    let body = assert_problem(common::get(&prod_url, Some(&token)), 401, "token-wrong-environment");
    assert!(body["detail"].as_str().is_some_and(|d| d.contains("TRAINING")), "{body}");

    // Still serving.
    assert_eq!(common::get(&url, Some(&token)).status(), 200);
}

#[test]
fn admin_listener_answers_health_and_never_serves_the_api() {
    let sandgate = TestSandgate::start(None);
    let health = common::get(&format!("{}/healthz", sandgate.admin), None);
    assert_eq!(health.status(), 200);
    assert_eq!(common::get(&format!("{}/readyz", sandgate.admin), None).status(), 200);
    let token = common::access_token(&sandgate.training, &sandgate.client_id, &sandgate.client_secret);
    let api_on_admin =
        common::get(&format!("{}/pos-api/v2.5/client-id/{}/i18n", sandgate.admin, sandgate.client_id), Some(&token));
    assert_problem(api_on_admin, 404, "unknown-route");
    assert_problem(common::token_request(&sandgate.admin, &[("client_id", "x")]), 404, "unknown-route");
    // Its own routes asked with another method: 405 with the method they take (Schemathesis ST204).
    for (method, path, allowed) in
        [("TRACE", "/healthz", "GET"), ("POST", "/metrics", "GET"), ("GET", "/reload", "POST")]
    {
        let answer = common::http()
            .request(method.parse().expect("method"), format!("{}{path}", sandgate.admin))
            .send()
            .expect("answer");
        assert_eq!(answer.headers().get("allow").and_then(|v| v.to_str().ok()), Some(allowed), "{method} {path}");
        assert_problem(answer, 405, "method-not-allowed");
    }
}

/// A rejection that ends the connection says so (`Connection: close`): a client told keep-alive
/// would send its next request into a closed socket and get no answer (found by
/// `sandgate contract`: a request without x-reference-id, then any request on the same connection).
#[test]
fn a_connection_the_gateway_drops_is_announced_as_closed() {
    use std::io::{Read, Write};
    let sandgate = TestSandgate::start(None);
    let (base, id) = (&sandgate.training, sandgate.client_id.as_str());
    let token = common::access_token(base, id, &sandgate.client_secret);
    let path = format!("/pos-api/v2.5/client-id/{id}/i18n");
    let addr = base.trim_start_matches("http://");
    let mut socket = std::net::TcpStream::connect(addr).expect("connect");
    socket.set_read_timeout(Some(std::time::Duration::from_secs(5))).expect("timeout");
    let without_reference = format!("GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n");
    let good = format!("GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nx-reference-id: r\r\n\r\n");
    socket.write_all(format!("{without_reference}{good}").as_bytes()).expect("send both");
    let mut answers = String::new();
    let _ = socket.read_to_string(&mut answers);
    let first = answers.split("\r\n\r\n").next().unwrap_or_default().to_ascii_lowercase();
    assert!(first.starts_with("http/1.1 400"), "{answers}");
    let answered_both = answers.matches("HTTP/1.1 ").count() == 2;
    assert!(
        answered_both || first.contains("connection: close"),
        "the connection was dropped after an answer that promised keep-alive:\n{answers}"
    );
}
