//! The skeleton path end to end: client credentials → token → POS API call through the gateway
//! to the emulator → a JSON answer that validates against the operation's response schema.

use sandgate_testkit as common;

use base64::Engine;
use common::TestSandgate;
use http::Method;

#[test]
fn token_then_customers_search_validates_against_spec() {
    let sandgate = TestSandgate::start(None);
    let token_response = common::token_request(
        &sandgate.training,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &sandgate.client_id),
            ("client_secret", &sandgate.client_secret),
        ],
    );
    assert_eq!(token_response.status(), 200);
    let token: serde_json::Value = token_response.json().expect("json");
    assert_eq!(token["token_type"], "bearer");
    assert_eq!(token["expires_in"], 1200);
    assert_eq!(token["scope"], "merchant");
    let access = token["access_token"].as_str().expect("access token");

    let path = format!("/pos-api/v2.5/client-id/{}/customers/search", sandgate.client_id);
    let response = common::get(
        &format!("{}{path}?first_name=John&last_name=Smith&dob=1980-01-01", sandgate.training),
        Some(access),
    );
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert!(response.headers().contains_key("x-request-id"));
    let body: serde_json::Value = response.json().expect("json body");

    let schema = sandgate.emulator.response_schema(&Method::GET, &path, 200).expect("documented 200 schema");
    let validator = jsonschema::options().should_validate_formats(true).build(&schema).expect("schema compiles");
    let errors: Vec<String> = validator.iter_errors(&body).map(|e| format!("{e} at {}", e.instance_path())).collect();
    assert!(errors.is_empty(), "response breaks the spec: {errors:?}\n{body}");
    assert!(body.as_array().is_some_and(|a| !a.is_empty() || schema.get("minItems").is_none()));
}

#[test]
fn token_response_validates_against_the_token_schema() {
    let sandgate = TestSandgate::start(None);
    let response = common::token_request(
        &sandgate.training,
        &[("client_id", &sandgate.client_id), ("client_secret", &sandgate.client_secret), ("scope", "customer")],
    );
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().expect("json");
    assert_eq!(body["scope"], "customer");
    let schema =
        sandgate.emulator.response_schema(&Method::POST, "/pos-api/v2.5/oauth/token", 200).expect("token schema");
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    assert!(validator.is_valid(&body), "{body}");
}

#[test]
fn http_basic_credentials_and_refresh_grant_work() {
    let sandgate = TestSandgate::start(None);
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", sandgate.client_id, sandgate.client_secret));
    let response = common::http()
        .post(format!("{}/pos-api/v2.5/oauth/token", sandgate.training))
        .header("authorization", format!("Basic {basic}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .expect("send");
    assert_eq!(response.status(), 200);
    let first: serde_json::Value = response.json().expect("json");
    let refresh = first["refresh_token"].as_str().expect("refresh token");

    let refreshed =
        common::token_request(&sandgate.training, &[("grant_type", "refresh_token"), ("refresh_token", refresh)]);
    assert_eq!(refreshed.status(), 200);
    let second: serde_json::Value = refreshed.json().expect("json");
    let access = second["access_token"].as_str().expect("access token");
    assert_ne!(Some(access), first["access_token"].as_str());
    let url = format!("{}/pos-api/v2.5/client-id/{}/terms-and-conditions", sandgate.training, sandgate.client_id);
    assert_eq!(common::get(&url, Some(access)).status(), 200);

    // A refresh token is not a bearer token.
    common::assert_problem(common::get(&url, Some(refresh)), 401, "token-malformed");
}

#[test]
fn prefer_header_reaches_the_emulator_through_training() {
    let sandgate = TestSandgate::start(None);
    let access = common::access_token(&sandgate.training, &sandgate.client_id, &sandgate.client_secret);
    let url = format!("{}/pos-api/v2.5/client-id/{}/transactions", sandgate.training, sandgate.client_id);
    let response = common::http()
        .post(&url)
        .bearer_auth(&access)
        .header("x-reference-id", "3f0e4a4c-0d7e-4a53-9a43-2f1d0d3b1a11")
        .header("prefer", "code=409, example=wrong_inputs")
        .json(&serde_json::json!({"amount": 10.0, "verification_code": 1234}))
        .send()
        .expect("send");
    assert_eq!(response.status(), 409);
    assert_eq!(response.headers()["preference-applied"], "code=409, example=wrong_inputs");
    let body: serde_json::Value = response.json().expect("json");
    assert_eq!(body["error"], "wrong_inputs");
}

#[test]
fn an_invalid_request_through_training_gets_the_documented_409_wrong_inputs() {
    let sandgate = TestSandgate::start(None);
    let access = common::access_token(&sandgate.training, &sandgate.client_id, &sandgate.client_secret);
    let path = format!("/pos-api/v2.5/client-id/{}/transactions", sandgate.client_id);
    let response = common::http()
        .post(format!("{}{path}", sandgate.training))
        .bearer_auth(&access)
        .header("x-reference-id", "3f0e4a4c-0d7e-4a53-9a43-2f1d0d3b1a11")
        .json(&serde_json::json!({"amount": "ten"}))
        .send()
        .expect("send");
    assert_eq!(response.status(), 409);
    let body: serde_json::Value = response.json().expect("json");
    assert_eq!((body["error"].as_str(), body["url"].as_str()), (Some("wrong_inputs"), Some(path.as_str())));
    let params: Vec<&str> =
        body["field_errors"].as_array().into_iter().flatten().filter_map(|f| f["param"].as_str()).collect();
    assert_eq!(params, ["amount", "verification_code"], "{body}");
    let schema = sandgate.emulator.response_schema(&Method::POST, &path, 409).expect("409 documented");
    let validator = jsonschema::validator_for(&schema).expect("compiles");
    assert!(validator.is_valid(&body), "{body}");
}
