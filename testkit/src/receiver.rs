//! A partner's webhook receiver in tests (a `wiremock` server): waiting for deliveries and checking
//! their signature with an HMAC computed here, not with Sandgate's own code.

#![allow(dead_code)]

use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A receiver answering `status` to every POST on `route`, with the runtime that drives it.
pub fn start(route: &str, status: u16) -> (tokio::runtime::Runtime, MockServer) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let receiver = runtime.block_on(MockServer::start());
    let mock = Mock::given(method("POST")).and(path(route)).respond_with(ResponseTemplate::new(status));
    runtime.block_on(mock.mount(&receiver));
    (runtime, receiver)
}

/// Waits until `receiver` has `n` requests (deliveries are asynchronous), at most 10 s.
pub fn received(runtime: &tokio::runtime::Runtime, receiver: &MockServer, n: usize) -> Vec<wiremock::Request> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let requests = runtime.block_on(receiver.received_requests()).expect("recording");
        if requests.len() >= n || Instant::now() > deadline {
            return requests;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Checks `Sandgate-Signature: t=…,v1=HMAC-SHA256(secret, "t.body")` and a current timestamp;
/// returns the JSON body.
pub fn assert_signed(request: &wiremock::Request, secret: &str) -> Value {
    let header = request.headers.get("sandgate-signature").and_then(|v| v.to_str().ok()).expect("signature header");
    let (t, v1) = header.split_once(",v1=").expect("t=…,v1=…");
    let timestamp = t.strip_prefix("t=").expect("t=");
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).expect("key");
    mac.update(format!("{timestamp}.").as_bytes());
    mac.update(&request.body);
    let expected: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(v1, expected, "signature must be HMAC-SHA256(secret, t.body)");
    let now = chrono::Utc::now().timestamp();
    assert!((now - timestamp.parse::<i64>().expect("unix time")).abs() < 60, "timestamp is current");
    serde_json::from_slice(&request.body).expect("JSON payload")
}
