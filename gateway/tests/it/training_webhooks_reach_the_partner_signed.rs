//! Sandbox webhooks: a TRAINING capture raises `authorization.captured`, which reaches the
//! application's subscribed receiver (a `wiremock` server standing in for the partner) through the
//! gateway's outbox: signed with the application's secret, and listed in its delivery log.

use sandgate_testkit as common;

use common::admin::Admin;
use common::TestSandgate;
use serde_json::{json, Value};

/// The receiver runs on loopback, which deliveries may reach only when allowed.
const CONFIG: &str = "sandgate:\n  control_plane:\n    webhooks: {first_retry_ms: 100, max_attempts: 3, timeout_secs: 2, allow_private_addresses: true}\n";

#[test]
fn a_capture_in_training_is_delivered_signed_to_the_subscribed_receiver() {
    let (runtime, receiver) = common::receiver::start("/pos-events", 204);
    let sandgate = TestSandgate::start_with(None, CONFIG);
    let op = Admin { base: sandgate.admin.clone(), token: Some(sandgate.operator_token()) };
    let app = sandgate.demo_app_id();
    let subscribe = json!({"trust_list": ["127.0.0.0/8", receiver.uri()],
                           "webhooks": [{"url": format!("{}/pos-events", receiver.uri()), "events": ["authorization.captured"]}]});
    let (status, body) = op.call(reqwest::Method::PATCH, &format!("/v1/applications/{app}"), Some(subscribe));
    assert_eq!(status, 200, "{body}");
    let (_, rotated) = op.post(&format!("/v1/applications/{app}/webhook-secret"), json!({}));
    let secret = rotated["webhook_secret"].as_str().expect("secret").to_owned();

    let token = common::access_token(&sandgate.training, &sandgate.client_id, &sandgate.client_secret);
    let base = format!("{}/pos-api/v2.5.1/client-id/{}", sandgate.training, sandgate.client_id);
    let send = |url: String, body: Value| {
        let response = common::http()
            .post(url)
            .bearer_auth(&token)
            .header("x-reference-id", "3f0e4a4c-0d7e-4a53-9a43-2f1d0d3b1a11")
            .json(&body)
            .send()
            .expect("gateway answers");
        (response.status().as_u16(), response.json::<Value>().unwrap_or(Value::Null))
    };
    let (_, authorization) = send(
        format!("{base}/authorization"),
        json!({"amount": 40.0, "account_number": 12345678, "auto_capture": false,
               "financing_option": {"transaction_type": "regular_purchase"}}),
    );
    let id = authorization["authorization_id"].as_u64().expect("id");
    let (status, captured) = send(format!("{base}/authorization/{id}/capture"), json!({"amount": 15.0}));
    assert_eq!(status, 200, "{captured}");

    let requests = common::receiver::received(&runtime, &receiver, 1);
    let envelope = common::receiver::assert_signed(requests.first().expect("delivered within 10 s"), &secret);
    assert_eq!(envelope["type"], "authorization.captured");
    assert_eq!(
        envelope["data"],
        json!({"authorization_id": id, "amount": 15.0, "remaining_authorization_amount": 25.0})
    );

    let (_, log) = op.get(&format!("/v1/applications/{app}/webhook-deliveries"));
    let deliveries = log["deliveries"].as_array().cloned().unwrap_or_default();
    assert!(deliveries.iter().any(|d| d["event"] == "authorization.captured"), "{log}");
}
