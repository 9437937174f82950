//! The attack suite: forged and confused tokens, cross-environment keys, XFF spoofing, path
//! tricks, double credentials, smuggling, oversized and slow requests, revoked apps, other
//! partners' client ids. Each case asserts the exact status and problem type, and that nothing
//! reached the operator's backend (`wiremock`, a third party here).

use sandgate_testkit as common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use base64::Engine;
use common::TestSandgate;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use sandgate_core::environment::Environment;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

const CONFIG: &str = "sandgate:\n  workers: 2\n  versions:\n    pos-api:\n      \"2\": {retired: true, successor: \"2.5\"}\n  limits:\n    read_timeout_secs: 1\n    max_body_bytes: 65536\n";

struct Case {
    name: &'static str,
    request: String,
    status: u16,
    slug: &'static str,
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn claims(iss: &str, aud: &str, sub: &str, app: &str, exp_offset: i64, nbf_offset: i64) -> serde_json::Value {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs() as i64;
    serde_json::json!({
        "iss": iss, "sub": sub, "aud": aud, "exp": now + exp_offset, "nbf": now + nbf_offset, "iat": now,
        "jti": "j", "typ": "access", "scope": "merchant customer", "app": app, "ptn": "ptn_x",
    })
}

fn sign(alg: Algorithm, key: &[u8], claims: &serde_json::Value) -> String {
    sandgate_gateway::token::crypto::install();
    if alg == Algorithm::HS512 {
        // Sandgate's jsonwebtoken has no HS512 at all: the attacker's token is made by hand.
        use base64::Engine;
        use hmac::Mac;
        let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        let signed = format!("{}.{}", b64(br#"{"alg":"HS512","typ":"JWT"}"#), b64(claims.to_string().as_bytes()));
        let mut mac = hmac::Hmac::<sha2::Sha512>::new_from_slice(key).expect("any key length");
        mac.update(signed.as_bytes());
        return format!("{signed}.{}", b64(&mac.finalize().into_bytes()));
    }
    jsonwebtoken::encode(&Header::new(alg), claims, &EncodingKey::from_secret(key)).expect("sign")
}

/// Sends raw bytes and returns (status, problem type slug or "").
fn send(base: &str, request: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(base.trim_start_matches("http://")).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    stream.write_all(request.as_bytes()).expect("write");
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer);
    let status = text.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    let slug =
        text.split("urn:sandgate:problem:").nth(1).and_then(|rest| rest.split('"').next()).unwrap_or("").to_owned();
    (status, slug)
}

fn post(path: &str, token: &str) -> String {
    format!("POST {path} HTTP/1.1\r\nHost: gateway\r\nx-reference-id: ref-1\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}")
}

fn get(path: &str, auth: Option<&str>, extra: &str) -> String {
    let auth = auth.map(|a| format!("Authorization: {a}\r\n")).unwrap_or_default();
    format!("GET {path} HTTP/1.1\r\nHost: gateway\r\nx-reference-id: ref-1\r\n{auth}{extra}Connection: close\r\n\r\n")
}

#[test]
fn attack_suite_every_case_refused_with_exact_type_and_nothing_reaches_backend() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let backend = runtime.block_on(MockServer::start());
    runtime.block_on(
        Mock::given(any())
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({})))
            .mount(&backend),
    );
    let sandgate = TestSandgate::start_with(Some(*backend.address()), CONFIG);
    let (prod, train) = (sandgate.production.clone(), sandgate.training.clone());
    let id = sandgate.production_client_id.clone();
    let app = sandgate.demo_app_id();
    let prod_key = *sandgate.shared.keys.signing_key(Environment::PRODUCTION).expect("key");
    let train_key = *sandgate.shared.keys.signing_key(Environment::TRAINING).expect("key");
    let token = common::access_token(&prod, &id, &sandgate.production_client_secret);
    let train_token = common::access_token(&train, &sandgate.client_id, &sandgate.client_secret);
    let refresh = {
        let response =
            common::token_request(&prod, &[("client_id", &id), ("client_secret", &sandgate.production_client_secret)]);
        response.json::<serde_json::Value>().expect("json")["refresh_token"].as_str().expect("refresh").to_owned()
    };
    let path = format!("/pos-api/v2.5/client-id/{id}/i18n");
    let bearer = |t: &str| format!("Bearer {t}");
    let good = claims("sandgate/production", "sandgate", &id, &app, 600, -10);
    let none_token = format!("{}.{}.", b64(br#"{"alg":"none","typ":"JWT"}"#), b64(good.to_string().as_bytes()));
    let rs256_token =
        format!("{}.{}.{}", b64(br#"{"alg":"RS256","typ":"JWT"}"#), b64(good.to_string().as_bytes()), b64(b"sig"));
    let tampered = {
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        let mut payload: serde_json::Value =
            serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(&parts[1]).expect("b64"))
                .expect("json");
        payload["scope"] = "merchant customer admin".into();
        parts[1] = b64(payload.to_string().as_bytes());
        parts.join(".")
    };
    let unsigned = format!("{}.", token.rsplit_once('.').expect("jwt").0);
    let token_body = |form: &str| {
        format!(
            "POST /pos-api/v2.5/oauth/token HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{form}",
            form.len()
        )
    };
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{}", sandgate.production_client_secret));

    let cases = vec![
        // Token forgery and algorithm confusion.
        Case { name: "alg none", request: get(&path, Some(&bearer(&none_token)), ""), status: 401, slug: "token-algorithm-rejected" },
        Case { name: "alg HS512", request: get(&path, Some(&bearer(&sign(Algorithm::HS512, &prod_key, &good))), ""), status: 401, slug: "token-algorithm-rejected" },
        Case { name: "alg RS256 header", request: get(&path, Some(&bearer(&rs256_token)), ""), status: 401, slug: "token-algorithm-rejected" },
        Case { name: "HS256 with a guessed key", request: get(&path, Some(&bearer(&sign(Algorithm::HS256, b"secret", &good))), ""), status: 401, slug: "token-signature-invalid" },
        Case { name: "payload tampered (scope)", request: get(&path, Some(&bearer(&tampered)), ""), status: 401, slug: "token-signature-invalid" },
        Case { name: "signature stripped", request: get(&path, Some(&bearer(&unsigned)), ""), status: 401, slug: "token-signature-invalid" },
        Case { name: "wrong audience", request: get(&path, Some(&bearer(&sign(Algorithm::HS256, &prod_key, &claims("sandgate/production", "other", &id, &app, 600, -10)))), ""), status: 401, slug: "token-wrong-audience" },
        Case { name: "wrong issuer", request: get(&path, Some(&bearer(&sign(Algorithm::HS256, &prod_key, &claims("evil", "sandgate", &id, &app, 600, -10)))), ""), status: 401, slug: "token-wrong-audience" },
        Case { name: "expired", request: get(&path, Some(&bearer(&sign(Algorithm::HS256, &prod_key, &claims("sandgate/production", "sandgate", &id, &app, -60, -120)))), ""), status: 401, slug: "token-expired" },
        Case { name: "not yet valid", request: get(&path, Some(&bearer(&sign(Algorithm::HS256, &prod_key, &claims("sandgate/production", "sandgate", &id, &app, 600, 300)))), ""), status: 401, slug: "token-not-yet-valid" },
        Case { name: "refresh token as bearer", request: get(&path, Some(&bearer(&refresh)), ""), status: 401, slug: "token-malformed" },
        Case { name: "garbage token", request: get(&path, Some("Bearer abc"), ""), status: 401, slug: "token-malformed" },
        Case { name: "two-segment token", request: get(&path, Some("Bearer a.b"), ""), status: 401, slug: "token-malformed" },
        Case { name: "empty bearer", request: get(&path, Some("Bearer "), ""), status: 401, slug: "token-malformed" },
        Case { name: "Basic on an API call", request: get(&path, Some(&format!("Basic {basic}")), ""), status: 401, slug: "unauthenticated" },
        Case { name: "no credentials", request: get(&path, None, ""), status: 401, slug: "unauthenticated" },
        // Cross-environment keys and tokens.
        Case { name: "TRAINING token at PRODUCTION", request: get(&path, Some(&bearer(&train_token)), ""), status: 401, slug: "token-wrong-environment" },
        Case { name: "token forged with the TRAINING key", request: get(&path, Some(&bearer(&sign(Algorithm::HS256, &train_key, &claims("sandgate/training", "sandgate", &id, &app, 600, -10)))), ""), status: 401, slug: "token-wrong-environment" },
        Case { name: "PRODUCTION claims signed with the TRAINING key", request: get(&path, Some(&bearer(&sign(Algorithm::HS256, &train_key, &good))), ""), status: 401, slug: "token-signature-invalid" },
        Case { name: "TRAINING credential at the PRODUCTION token endpoint", request: token_body(&format!("client_id={}&client_secret={}", sandgate.client_id, sandgate.client_secret)), status: 400, slug: "invalid-client" },
        // Double credentials.
        Case { name: "two Authorization headers", request: get(&path, Some(&bearer(&token)), &format!("Authorization: {}\r\n", bearer(&token))), status: 400, slug: "invalid-request" },
        Case {
            name: "Basic and body credentials at the token endpoint",
            request: token_body(&format!("client_id={id}&client_secret=x")).replace("Connection: close", &format!("Authorization: Basic {basic}\r\nConnection: close")),
            status: 400,
            slug: "invalid-token-request",
        },
        // Other partners' client id, identity forgery.
        Case { name: "another client's id in the path", request: get("/pos-api/v2.5/client-id/prd_someoneelse/i18n", Some(&bearer(&token)), ""), status: 403, slug: "forbidden" },
        Case { name: "the TRAINING client id in the path", request: get(&format!("/pos-api/v2.5/client-id/{}/i18n", sandgate.client_id), Some(&bearer(&token)), ""), status: 403, slug: "forbidden" },
        // Path tricks.
        Case { name: "dot-dot to another version", request: get(&format!("/pos-api/v2.5/../v2.4/client-id/{id}/i18n"), Some(&bearer(&token)), ""), status: 400, slug: "invalid-request" },
        Case { name: "encoded dot-dot", request: get(&format!("/pos-api/v2.5/%2e%2e/v2.4/client-id/{id}/i18n"), Some(&bearer(&token)), ""), status: 400, slug: "invalid-request" },
        Case { name: "mixed-case encoded dot-dot", request: get(&format!("/pos-api/v2.5/%2E%2e/client-id/{id}/i18n"), Some(&bearer(&token)), ""), status: 400, slug: "invalid-request" },
        Case { name: "dot segment", request: get(&format!("/pos-api/v2.5/client-id/{id}/./i18n"), Some(&bearer(&token)), ""), status: 400, slug: "invalid-request" },
        Case { name: "unknown version", request: get(&format!("/pos-api/v2.4/client-id/{id}/i18n"), Some(&bearer(&token)), ""), status: 404, slug: "unsupported-version" },
        Case { name: "retired version", request: get(&format!("/pos-api/v2/client-id/{id}/i18n"), Some(&bearer(&token)), ""), status: 410, slug: "retired-version" },
        Case { name: "double slash", request: get(&format!("//pos-api/v2.5/client-id/{id}/i18n"), Some(&bearer(&token)), ""), status: 404, slug: "unknown-route" },
        Case { name: "upper-case API name", request: get(&format!("/POS-API/v2.5/client-id/{id}/i18n"), Some(&bearer(&token)), ""), status: 404, slug: "unknown-route" },
        Case { name: "encoded slash", request: get(&format!("/pos-api/v2.5/client-id/{id}%2fi18n"), Some(&bearer(&token)), ""), status: 400, slug: "invalid-request" },
        Case { name: "encoded traversal inside a parameter", request: get(&format!("/pos-api/v2.5/client-id/{id}/authorization/..%2F..%2Fprd_other%2Fauthorization%2F1"), Some(&bearer(&token)), ""), status: 400, slug: "invalid-request" },
        Case { name: "encoded backslash inside a parameter", request: get(&format!("/pos-api/v2.5/client-id/{id}/authorization/1%5C..%5Cx"), Some(&bearer(&token)), ""), status: 400, slug: "invalid-request" },
        Case { name: "encoded NUL inside a parameter", request: get(&format!("/pos-api/v2.5/client-id/{id}/authorization/1%00"), Some(&bearer(&token)), ""), status: 400, slug: "invalid-request" },
        // PRODUCTION validates parameters against the spec too (the backend never sees these).
        Case { name: "path parameter against its schema", request: post(&format!("/pos-api/v2.5/client-id/{id}/accounts/12ab/close"), &token), status: 400, slug: "invalid-request" },
        Case { name: "query parameter against its schema", request: get(&format!("/pos-api/v2.5/client-id/{id}/authorizations?status=bogus"), Some(&bearer(&token)), ""), status: 400, slug: "invalid-request" },
        // Protocol upgrades: after a 101 no check would see the bytes on the connection.
        Case { name: "WebSocket upgrade", request: get(&path, Some(&bearer(&token)), "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"), status: 400, slug: "upgrade-refused" },
        Case { name: "h2c upgrade", request: get(&path, Some(&bearer(&token)), "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\nConnection: Upgrade, HTTP2-Settings\r\n"), status: 400, slug: "upgrade-refused" },
        Case { name: "Connection: upgrade without Upgrade", request: get(&path, Some(&bearer(&token)), "Connection: upgrade\r\n"), status: 400, slug: "upgrade-refused" },
        Case {
            name: "upgrade at the token endpoint",
            request: token_body(&format!("client_id={id}&client_secret={}", sandgate.production_client_secret)).replace("Connection: close", "Upgrade: websocket\r\nConnection: Upgrade"),
            status: 400,
            slug: "upgrade-refused",
        },
        Case { name: "undocumented operation", request: get(&format!("/pos-api/v2.5/client-id/{id}/admin"), Some(&bearer(&token)), ""), status: 404, slug: "unknown-route" },
        Case { name: "wrong method", request: get(&path, Some(&bearer(&token)), "").replacen("GET", "DELETE", 1), status: 405, slug: "method-not-allowed" },
        // Smuggling and sizes.
        Case {
            name: "Content-Length and Transfer-Encoding",
            request: format!("POST /pos-api/v2.5/client-id/{id}/information HTTP/1.1\r\nHost: g\r\nx-reference-id: r\r\nAuthorization: Bearer {token}\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
            status: 400,
            slug: "invalid-request",
        },
        Case {
            name: "declared body over the limit",
            request: format!("POST /pos-api/v2.5/client-id/{id}/information HTTP/1.1\r\nHost: g\r\nx-reference-id: r\r\nAuthorization: Bearer {token}\r\nContent-Length: 70000\r\nConnection: close\r\n\r\n"),
            status: 413,
            slug: "payload-too-large",
        },
        Case { name: "oversized header", request: get(&path, Some(&bearer(&token)), &format!("x-big: {}\r\n", "a".repeat(20_000))), status: 431, slug: "headers-too-large" },
        Case { name: "too many headers", request: get(&path, Some(&bearer(&token)), &(0..120).map(|i| format!("x-h{i}: v\r\n")).collect::<String>()), status: 431, slug: "headers-too-large" },
        Case {
            name: "Content-Length and Transfer-Encoding with Connection: close",
            request: format!("POST /pos-api/v2.5/client-id/{id}/information HTTP/1.1\r\nHost: g\r\nx-reference-id: r\r\nAuthorization: Bearer {token}\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n"),
            status: 400,
            slug: "invalid-request",
        },
        Case { name: "HTTP/1.1 without Host", request: get(&path, Some(&bearer(&token)), "").replace("Host: gateway\r\n", ""), status: 400, slug: "invalid-request" },
        // Pingora's parser refuses this one itself, before any phase runs (a bare 400).
        Case { name: "two Host headers", request: get(&path, Some(&bearer(&token)), "Host: other\r\n"), status: 400, slug: "" },
        Case { name: "missing x-reference-id", request: get(&path, Some(&bearer(&token)), "").replace("x-reference-id: ref-1\r\n", ""), status: 400, slug: "invalid-request" },
        // XFF spoofing from an untrusted peer (the trust list is narrowed below).
        Case { name: "placeholder", request: String::new(), status: 0, slug: "" },
    ];
    let mut failures = Vec::new();
    let mut count = 0;
    for case in cases.iter().filter(|c| c.status != 0) {
        let (status, slug) = send(&prod, &case.request);
        count += 1;
        if (status, slug.as_str()) != (case.status, case.slug) {
            failures.push(format!("{}: got {status} {slug:?}, want {} {:?}", case.name, case.status, case.slug));
        }
    }

    // Trust list: only 192.0.2.0/24; a spoofed X-Forwarded-For from loopback (not a trusted proxy)
    // must not help, nor an IPv4-mapped form, nor an Origin that is not a trust URL.
    sandgate.set_trust_list(&["192.0.2.0/24", "https://shop.example.com"]);
    for (name, extra) in [
        ("XFF spoofing", "X-Forwarded-For: 192.0.2.5\r\n"),
        ("X-Real-IP spoofing", "X-Real-IP: 192.0.2.5\r\n"),
        ("IPv4-mapped XFF", "X-Forwarded-For: ::ffff:192.0.2.5\r\n"),
        ("untrusted Origin", "Origin: https://shop.example.com.evil.io\r\n"),
        ("trust URL in the Referer path", "Referer: https://evil.io/https://shop.example.com\r\n"),
    ] {
        let (status, slug) = send(&prod, &get(&path, Some(&bearer(&token)), extra));
        count += 1;
        if (status, slug.as_str()) != (403, "untrusted-client") {
            failures.push(format!("{name}: got {status} {slug:?}, want 403 untrusted-client"));
        }
    }
    let form = format!("client_id={id}&client_secret={}", sandgate.production_client_secret);
    let (status, slug) = send(&prod, &token_body(&form));
    count += 1;
    if (status, slug.as_str()) != (403, "untrusted-client") {
        failures.push(format!("token from an untrusted address: got {status} {slug:?}"));
    }
    sandgate.set_trust_list(&[]);
    let (status, slug) = send(&prod, &get(&path, Some(&bearer(&token)), ""));
    count += 1;
    if (status, slug.as_str()) != (403, "untrusted-client") {
        failures.push(format!("empty trust list: got {status} {slug:?}"));
    }
    sandgate.set_trust_list(&["127.0.0.0/8", "::1/128"]);

    // Slow client: a body that never arrives is cut off after the read timeout (1 s here).
    let slow = format!(
        "POST /pos-api/v2.5/client-id/{}/information HTTP/1.1\r\nHost: g\r\nx-reference-id: r\r\nAuthorization: Bearer {train_token}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"a\":",
        sandgate.client_id
    );
    let started = Instant::now();
    let (status, _) = send(&train, &slow);
    count += 1;
    if status == 200 || started.elapsed() > Duration::from_secs(4) {
        failures.push(format!("slow body: got {status} after {:?}", started.elapsed()));
    }

    // Revoked credential, then revoked application: refused on the very next request.
    sandgate.store().revoke("operator:test", &id).expect("store");
    let (status, slug) = send(&prod, &get(&path, Some(&bearer(&token)), ""));
    count += 1;
    if (status, slug.as_str()) != (401, "token-revoked") {
        failures.push(format!("revoked credential: got {status} {slug:?}"));
    }
    let (status, slug) = send(
        &train,
        &get(&format!("/pos-api/v2.5/client-id/{}/i18n", sandgate.client_id), Some(&bearer(&train_token)), ""),
    );
    assert_eq!(status, 200, "the TRAINING credential is still fine: {slug}");
    sandgate.store().revoke_app("operator:test", &app, None).expect("store");
    let (status, slug) = send(
        &train,
        &get(&format!("/pos-api/v2.5/client-id/{}/i18n", sandgate.client_id), Some(&bearer(&train_token)), ""),
    );
    count += 1;
    if (status, slug.as_str()) != (401, "token-revoked") {
        failures.push(format!("revoked application: got {status} {slug:?}"));
    }

    common::assert_problem(common::get(&format!("{}/metrics", sandgate.admin), None), 401, "unauthenticated");
    let metrics = common::get_with(&format!("{}/metrics", sandgate.admin), &sandgate.operator_token(), &[])
        .text()
        .expect("metrics");
    let lag_count = metrics
        .lines()
        .find_map(|l| l.strip_prefix("sandgate_revocation_lag_seconds_count "))
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(0);
    assert!(lag_count >= 2, "every revocation is timed: {lag_count}");
    assert!(metrics.contains("reason=\"token-algorithm-rejected\""), "denials are counted by reason");

    assert!(count >= 40, "the suite has {count} cases");
    assert!(failures.is_empty(), "{} of {count} cases failed:\n{}", failures.len(), failures.join("\n"));
    let received = runtime.block_on(backend.received_requests()).expect("recording on");
    assert!(
        received.is_empty(),
        "nothing may reach the backend, got {} requests: {:?}",
        received.len(),
        received.iter().map(|r| r.url.path().to_owned()).collect::<Vec<_>>()
    );
}

/// A token request from `xff` (the client address, since loopback is a trusted proxy here).
fn token_from(base: &str, xff: &str, form: &[(&str, &str)]) -> (u16, serde_json::Value) {
    let body: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
    let response = common::http()
        .post(format!("{base}/pos-api/v2.5/oauth/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-forwarded-for", xff)
        .body(body)
        .send()
        .expect("token request");
    (response.status().as_u16(), response.json().unwrap_or_default())
}

fn slug(body: &serde_json::Value) -> &str {
    body["type"].as_str().and_then(|t| t.strip_prefix("urn:sandgate:problem:")).unwrap_or("")
}

#[test]
fn wrong_secrets_throttle_the_guessing_address_never_the_victim() {
    let sandgate = TestSandgate::start_with(None, "sandgate:\n  trusted_proxies: [\"127.0.0.1/32\"]\n");
    let (train, id, secret) = (&sandgate.training, &sandgate.client_id, &sandgate.client_secret);
    let guess = [("client_id", id.as_str()), ("client_secret", "trn_sk_wrong")];
    let right = [("client_id", id.as_str()), ("client_secret", secret.as_str())];
    let answers: Vec<(u16, String)> = (0..12)
        .map(|_| token_from(train, "127.0.0.5", &guess))
        .map(|(status, body)| (status, slug(&body).to_owned()))
        .collect();
    assert_eq!(answers[0], (400, "invalid-client".to_owned()));
    assert_eq!(answers[11], (429, "token-requests-throttled".to_owned()), "{answers:?}");
    let (status, body) = token_from(train, "127.0.0.9", &right);
    assert_eq!(status, 200, "the victim, elsewhere, is not locked out: {body}");
    let (status, body) = token_from(train, "127.0.0.5", &right);
    assert_eq!(status, 200, "a correct secret works even from the throttled address: {body}");
    let (status, body) = token_from(train, "127.0.0.9", &guess);
    assert_eq!((status, slug(&body)), (400, "invalid-client"), "another address is not throttled");
    let (status, body) = token_from(train, "127.0.0.5", &guess);
    assert_eq!((status, slug(&body)), (429, "token-requests-throttled"));

    // From an address the trust list refuses, a right and a wrong secret get the same answer.
    sandgate.set_trust_list(&["192.0.2.0/24"]);
    let (right_status, right_body) = token_from(train, "127.0.0.9", &right);
    let (wrong_status, wrong_body) = token_from(train, "127.0.0.9", &guess);
    assert_eq!((right_status, slug(&right_body)), (403, "untrusted-client"));
    assert_eq!((wrong_status, slug(&wrong_body)), (403, "untrusted-client"), "no secret oracle");
    assert_eq!(right_body["detail"], wrong_body["detail"]);
}

#[test]
fn refresh_tokens_are_single_use_bound_to_the_secret_and_rechecked() {
    let sandgate = TestSandgate::start(None);
    let (train, id) = (&sandgate.training, sandgate.client_id.clone());
    let mint = |secret: &str, scope: &str| -> serde_json::Value {
        let response = common::token_request(
            train,
            &[("grant_type", "client_credentials"), ("client_id", &id), ("client_secret", secret), ("scope", scope)],
        );
        assert_eq!(response.status(), 200);
        response.json().expect("json")
    };
    let refresh = |token: &serde_json::Value| -> (u16, serde_json::Value) {
        let refresh_token = token["refresh_token"].as_str().expect("refresh token");
        let response =
            common::token_request(train, &[("grant_type", "refresh_token"), ("refresh_token", refresh_token)]);
        (response.status().as_u16(), response.json().unwrap_or_default())
    };
    // Single use: the next refresh token works, a replayed one revokes the chain.
    let first = mint(&sandgate.client_secret, "merchant");
    let (status, second) = refresh(&first);
    assert_eq!(status, 200, "{second}");
    assert_ne!(second["refresh_token"], first["refresh_token"], "a refresh returns the next refresh token");
    let (status, replay) = refresh(&first);
    assert_eq!((status, replay["error"].as_str()), (400, Some("invalid_grant")), "{replay}");
    let (status, body) = refresh(&second);
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "the chain died with the replay");

    // Scopes are checked again: a scope the application lost is not refreshed.
    let customer = mint(&sandgate.client_secret, "customer");
    let app = sandgate.demo_app_id();
    let patch = sandgate_store::AppPatch { scopes: Some(vec!["merchant".into()]), ..Default::default() };
    sandgate.store().update_app("operator:test", &app, &patch).expect("update");
    let (status, body) = refresh(&customer);
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_scope")), "{body}");

    // A rotation without grace ends the refresh tokens minted with the old secret.
    let before = mint(&sandgate.client_secret, "merchant");
    let hasher = &sandgate.shared.keys.secret_hash;
    let (_, new_secret) = sandgate.store().rotate("operator:test", &id, 0, hasher).expect("rotate");
    let (status, body) = refresh(&before);
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
    let after = mint(&new_secret, "merchant");
    assert_eq!(refresh(&after).0, 200, "tokens of the new secret refresh");
}

#[cfg(unix)]
#[test]
fn the_data_directory_is_readable_by_the_service_user_only() {
    use std::os::unix::fs::PermissionsExt;
    let sandgate = TestSandgate::start(None);
    let mode = |path: &std::path::Path| std::fs::metadata(path).expect("metadata").permissions().mode() & 0o777;
    let dir = sandgate.data_dir();
    assert_eq!(mode(dir), 0o700);
    assert_eq!(mode(&dir.join("secrets")), 0o700);
    for entry in std::fs::read_dir(dir.join("secrets")).expect("secrets") {
        let path = entry.expect("entry").path();
        assert_eq!(mode(&path), 0o600, "{}", path.display());
    }
    let databases: Vec<_> = std::fs::read_dir(dir)
        .expect("dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "db"))
        .collect();
    // On the PostgreSQL store (the suite's second run) no database file is kept here.
    assert!(common::postgres::selected() || !databases.is_empty());
    for path in databases {
        assert_eq!(mode(&path), 0o600, "{}", path.display());
    }
}
