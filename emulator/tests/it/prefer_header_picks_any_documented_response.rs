//! `Prefer` (RFC 7240) picks any documented outcome: `code=` a documented status (exact, range or
//! default), `example=` one of its named examples, `dynamic=false` the spec's example. What was
//! honoured comes back in `Preference-Applied`; an undocumented code or unknown example is a 400
//! that lists what is documented.

use crate::common;

use http::{HeaderMap, Method};
use serde_json::json;

const VERIFY: &str = "/pos-api/v2.5/client-id/demo/account/12345678/verify";
const TRANSACTIONS: &str = "/pos-api/v2.5/client-id/demo/transactions";

fn purchase() -> serde_json::Value {
    json!({"amount": 10.0, "verification_code": 1234})
}

fn verify() -> serde_json::Value {
    json!({"format": "sms", "request_id": "a1b2c3d4-0001"})
}

fn prefer(value: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("prefer", value.parse().expect("header"));
    headers
}

fn applied(response: &sandgate_emulator::EmuResponse) -> Option<&str> {
    response.headers.iter().find(|(name, _)| *name == "preference-applied").map(|(_, v)| v.as_str())
}

#[test]
fn code_and_example_select_a_documented_error_with_its_example() {
    let emulator = common::emulator("pos-api/v2.5.yaml");
    let response = common::call_json(
        &emulator,
        Method::POST,
        TRANSACTIONS,
        &prefer("code=409, example=wrong_inputs"),
        &purchase(),
    );
    assert_eq!(response.status, 409);
    let body = common::json(&response);
    assert_eq!(body["error"], "wrong_inputs");
    assert_eq!(body["field_errors"][0], json!({"param": "amount", "msg": "Invalid value", "value": "ten"}));
    assert_eq!(applied(&response), Some("code=409, example=wrong_inputs"));
}

#[test]
fn a_named_example_of_the_success_response() {
    let emulator = common::emulator("pos-api/v2.5.yaml");
    let response = common::call_json(&emulator, Method::POST, VERIFY, &prefer("example=sms"), &verify());
    assert_eq!(response.status, 200);
    assert_eq!(common::json(&response), json!({"verification_code": "verification_sent_to_sms"}));
    let fixed = common::call_json(&emulator, Method::POST, VERIFY, &prefer("dynamic=false"), &verify());
    assert_eq!(common::json(&fixed), json!({"verification_code": 24856785}), "the first example by name");
}

#[test]
fn a_documented_code_without_example_is_fabricated_from_its_schema() {
    let emulator = common::emulator("pos-api/v2.5.yaml");
    for (code, want) in [(404, 404), (503, 503)] {
        let response =
            common::call_json(&emulator, Method::POST, TRANSACTIONS, &prefer(&format!("code={code}")), &purchase());
        assert_eq!(response.status, want, "5XX answers with the asked code");
        let schema = emulator.response_schema(&Method::POST, TRANSACTIONS, code).expect("documented schema");
        let validator = jsonschema::validator_for(&schema).expect("schema compiles");
        let body = common::json(&response);
        assert!(validator.is_valid(&body), "{code}: {body}");
    }
    let plain = common::call_json(&emulator, Method::POST, TRANSACTIONS, &HeaderMap::new(), &purchase());
    assert!((200..300).contains(&plain.status), "no Prefer: the default success");
    assert_eq!(applied(&plain), None);
}

#[test]
fn undocumented_code_unknown_example_and_malformed_preference_are_400_naming_what_exists() {
    let emulator = common::emulator("pos-api/v2.5.yaml");
    let response = common::call_json(&emulator, Method::POST, VERIFY, &prefer("code=418"), &verify());
    assert_eq!(response.status, 400);
    let detail = common::json(&response)["detail"].as_str().unwrap_or_default().to_owned();
    assert!(detail.contains("code=418") && detail.contains("200") && detail.contains("400"), "{detail}");
    let response = common::call_json(&emulator, Method::POST, VERIFY, &prefer("example=nope"), &verify());
    let detail = common::json(&response)["detail"].as_str().unwrap_or_default().to_owned();
    assert_eq!(response.status, 400);
    assert!(detail.contains("security_question") && detail.contains("sms"), "{detail}");
    assert_eq!(common::call_json(&emulator, Method::POST, VERIFY, &prefer("code=teapot"), &verify()).status, 400);
}

#[test]
fn preference_applied_tells_what_was_done_and_bodies_match_their_content_type() {
    let temp = tempfile::Builder::new().prefix("sandgate-prefer-").tempdir().expect("temp dir");
    let dir = temp.path();
    let file = dir.join("things.yaml");
    std::fs::write(
        &file,
        "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /things:\n    get:\n      responses:\n        '200':\n          description: ok\n          content:\n            application/json; charset=utf-8:\n              schema: {type: object, required: [a], properties: {a: {type: integer}}}\n        default:\n          description: any\n          content:\n            application/json:\n              schema: {type: object}\n  /text:\n    get:\n      responses:\n        '200':\n          description: text\n          content:\n            text/plain:\n              example: pong\n",
    )
    .expect("write");
    let apis = sandgate_openapi::load_file(&file).expect("loads");
    let emulator = sandgate_emulator::Emulator::new(apis, Default::default()).expect("compiles");

    let fabricated = common::call(&emulator, Method::GET, "/things", &prefer("dynamic=false"));
    assert_eq!(fabricated.status, 200);
    assert!(common::json(&fabricated)["a"].is_i64(), "a JSON media type with parameters is still JSON");
    assert_eq!(applied(&fabricated), None, "no example exists, so dynamic=false was not applied");

    let empty = common::call(&emulator, Method::GET, "/things", &prefer("code=204"));
    assert_eq!((empty.status, empty.body.len(), empty.content_type.as_deref()), (204, 0, None), "204 never has a body");
    assert_eq!(applied(&empty), Some("code=204"));

    let text = common::call(&emulator, Method::GET, "/text", &HeaderMap::new());
    assert_eq!(
        (text.status, text.content_type.as_deref(), text.body.as_slice()),
        (200, Some("text/plain"), b"pong".as_slice()),
        "text as the spec's text example, never JSON labelled as text"
    );
}
