//! Where an operation documents its client error in a shape of its own (not problem+json), an
//! invalid request gets that shape: the documented status (400, else 422, else `default` as 400),
//! the message and each violation on the properties named for them, and a body that conforms.

use crate::common;

use http::{HeaderMap, Method};
use sandgate_emulator::{Emulator, EmulatorOptions};
use serde_json::{json, Value};

fn shaped() -> Emulator {
    let spec = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/errors/shaped.yaml");
    let apis = sandgate_openapi::load_file(&spec).expect("fixture loads");
    Emulator::new(apis, EmulatorOptions::default()).expect("compiles")
}

/// Sends the request and checks the answer against the status it documents.
fn refused(emulator: &Emulator, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let response = match body {
        Some(body) => common::call_json(emulator, method.clone(), path, &HeaderMap::new(), &body),
        None => common::call(emulator, method.clone(), path, &HeaderMap::new()),
    };
    let answer: Value = serde_json::from_slice(&response.body).expect("a JSON body");
    let route = path.split('?').next().unwrap_or(path);
    let schema = emulator.response_schema(&method, route, response.status).expect("a documented status");
    assert!(jsonschema::validator_for(&schema).expect("compiles").is_valid(&answer), "{answer} does not conform");
    (response.status, answer)
}

#[test]
fn a_custom_400_gets_its_fields_and_each_violation() {
    let (status, body) = refused(&shaped(), Method::POST, "/shaped-api/v1/orders", Some(json!({"sku": "ab"})));
    assert_eq!(status, 400);
    assert_eq!(body["error"], 400, "an integer error code carries the status: {body}");
    assert_eq!(body["title"], "Invalid request");
    assert!(body["detail"].as_str().is_some_and(|d| d.contains("2 problems")), "{body}");
    let fields: Vec<&str> =
        body["fields"].as_array().expect("fields").iter().filter_map(|f| f["field"].as_str()).collect();
    assert!(fields.contains(&"quantity") && fields.contains(&"sku"), "each violation, by field: {body}");
}

#[test]
fn only_422_documented_answers_422() {
    let (status, body) = refused(&shaped(), Method::POST, "/shaped-api/v1/refunds", Some(json!({"sku": "abc"})));
    assert_eq!(status, 422, "not an undocumented 400: {body}");
    assert!(body["errors"][0].as_str().is_some_and(|e| e.contains("quantity")), "{body}");
}

#[test]
fn a_default_error_shape_answers_400_in_that_shape() {
    let (status, body) = refused(&shaped(), Method::GET, "/shaped-api/v1/notes?limit=99", None);
    assert_eq!((status, &body["code"]), (400, &json!(400)), "{body}");
    assert!(body["message"].as_str().is_some_and(|m| m.contains("limit")), "{body}");
}

#[test]
fn problem_json_that_fits_the_documented_error_goes_out_as_its_documented_media_type() {
    let emulator = shaped();
    let response = common::call(&emulator, Method::GET, "/shaped-api/v1/tags", &HeaderMap::new());
    assert_eq!(response.status, 400);
    assert_eq!(response.content_type.as_deref(), Some("application/json"), "documented as application/json");
    let body: Value = serde_json::from_slice(&response.body).expect("JSON");
    assert!(body["detail"].as_str().is_some_and(|d| d.contains("api-version")), "{body}");
}
