//! Request validation: parameters in every location and style, bodies in JSON, form and multipart,
//! checked against the operation's schemas. An invalid request gets the error its spec documents
//! (the POS API's 409 `wrong_inputs`), otherwise problem+json 400, with one entry per violation
//! naming the parameter or the JSON pointer.

use crate::common;

use http::{HeaderMap, HeaderValue, Method};
use sandgate_emulator::{Emulator, EmulatorOptions};
use serde_json::{json, Value};

const TRACE: &str = "5b1f2c7e-3a4d-4e8f-9b0a-1c2d3e4f5a6b";

fn shop() -> Emulator {
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/validation/shop.yaml");
    let apis = sandgate_openapi::load_file(&file).expect("fixture loads");
    Emulator::new(apis, EmulatorOptions::default()).expect("fixture compiles")
}

fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.insert(*name, HeaderValue::from_str(value).expect("header value"));
    }
    map
}

/// The `errors` of a problem+json 400 as `(in, name or pointer)` pairs.
fn errors(response: &sandgate_emulator::EmuResponse) -> Vec<(String, String)> {
    assert_eq!(response.status, 400, "{}", String::from_utf8_lossy(&response.body));
    assert_eq!(response.content_type.as_deref(), Some("application/problem+json"));
    let body = common::json(response);
    assert_eq!(body["type"], "urn:sandgate:problem:invalid-request");
    body["errors"]
        .as_array()
        .expect("errors list")
        .iter()
        .map(|e| {
            let at = e.get("name").or_else(|| e.get("pointer")).and_then(Value::as_str).unwrap_or_default();
            (e["in"].as_str().unwrap_or_default().to_owned(), at.to_owned())
        })
        .collect()
}

fn pair(location: &str, name: &str) -> (String, String) {
    (location.to_owned(), name.to_owned())
}

#[test]
fn valid_requests_pass_in_every_parameter_style_and_body_media_type() {
    let shop = shop();
    // `id` is readOnly, so a request need not send it even though the schema requires it.
    let created = common::call_json(
        &shop,
        Method::POST,
        "/shop/v1/items",
        &HeaderMap::new(),
        &json!({"name": "pen", "price": 2.5, "size": "M", "note": null}),
    );
    assert_eq!(created.status, 201, "{}", String::from_utf8_lossy(&created.body));
    let id = common::json(&created)["id"].as_i64().expect("the server set an id");

    let query = "fields=name,price&tag=a&tag=b&filter[min]=1.5&filter[max]=9&where=%7B%22near%22%3A%22x%22%7D";
    let get = common::call(
        &shop,
        Method::GET,
        &format!("/shop/v1/items/{id}?{query}"),
        &headers(&[("x-trace", TRACE), ("cookie", "theme=dark; session=s-42")]),
    );
    assert_eq!(get.status, 200, "{}", String::from_utf8_lossy(&get.body));

    let form = headers(&[("content-type", "application/x-www-form-urlencoded")]);
    let posted = common::send(&shop, Method::POST, "/shop/v1/items", &form, b"name=pen&price=2.5&tags=a&tags=b&size=3");
    assert_eq!(posted.status, 201, "{}", String::from_utf8_lossy(&posted.body));

    let multipart = headers(&[("content-type", "multipart/form-data; boundary=b0undary")]);
    let body = "--b0undary\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\npen\r\n--b0undary\r\nContent-Disposition: form-data; name=\"count\"\r\n\r\n3\r\n--b0undary\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"p.png\"\r\nContent-Type: image/png\r\n\r\n\u{1}PNG\r\n--b0undary--\r\n";
    let uploaded = common::send(&shop, Method::POST, "/shop/v1/items", &multipart, body.as_bytes());
    assert_eq!(uploaded.status, 201, "{}", String::from_utf8_lossy(&uploaded.body));
}

#[test]
fn every_parameter_violation_is_listed_by_location_and_name() {
    let shop = shop();
    let query = "fields=name,colour&tag=a&tag=b&tag=c&filter[min]=low&filter[colour]=red&where=%7B%7D";
    let response = common::call(
        &shop,
        Method::GET,
        &format!("/shop/v1/items/0?{query}"),
        &headers(&[("x-trace", "not-a-uuid"), ("cookie", "session=abc")]),
    );
    let found = errors(&response);
    for expected in [
        pair("path", "id"),
        pair("query", "fields/1"),
        pair("query", "tag"),
        pair("query", "filter/min"),
        pair("query", "filter/colour"),
        pair("query", "where/near"),
        pair("header", "x-trace"),
        pair("cookie", "session"),
    ] {
        assert!(found.contains(&expected), "{expected:?} missing from {found:?}");
    }
    assert_eq!(found.len(), 8, "one entry per violation: {found:?}");
    let body = common::json(&response);
    let id = body["errors"].as_array().and_then(|e| e.iter().find(|e| e["name"] == "id")).cloned().unwrap_or_default();
    assert_eq!(id["value"], 0, "the value sent comes back: {id}");
    assert!(id["message"].as_str().is_some_and(|m| m.contains("minimum")), "{id}");

    let missing = common::call(&shop, Method::GET, "/shop/v1/items/7", &HeaderMap::new());
    assert_eq!(errors(&missing), vec![pair("header", "x-trace")]);
    let huge = common::call(&shop, Method::GET, "/shop/v1/items/99999999999", &headers(&[("x-trace", TRACE)]));
    assert_eq!(errors(&huge), vec![pair("path", "id")], "int32 bounds apply");
    let bad_json = common::call(&shop, Method::GET, "/shop/v1/items/7?where=%7Bnope", &headers(&[("x-trace", TRACE)]));
    assert_eq!(errors(&bad_json), vec![pair("query", "where")]);
}

#[test]
fn every_body_violation_is_listed_by_json_pointer() {
    let shop = shop();
    let bad = json!({
        "name": "", "price": 0, "email": "nope", "kind": "car", "sku": "abc-1",
        "tags": ["a", "a"], "size": true, "note": null
    });
    let found = errors(&common::call_json(&shop, Method::POST, "/shop/v1/items", &HeaderMap::new(), &bad));
    for pointer in ["/name", "/price", "/email", "/kind", "/sku", "/tags", "/size"] {
        assert!(found.contains(&pair("body", pointer)), "{pointer} missing from {found:?}");
    }
    assert_eq!(found.len(), 7, "null is allowed for a nullable field: {found:?}");

    let missing = common::call_json(&shop, Method::POST, "/shop/v1/items", &HeaderMap::new(), &json!({"name": "pen"}));
    assert_eq!(errors(&missing), vec![pair("body", "/price")]);

    let json_type = headers(&[("content-type", "application/json")]);
    let malformed = common::send(&shop, Method::POST, "/shop/v1/items", &json_type, b"{\"name\": ");
    assert_eq!(errors(&malformed), vec![pair("body", "")]);
    assert!(common::json(&malformed)["errors"][0]["message"].as_str().is_some_and(|m| m.contains("line 1")));
    let empty = common::send(&shop, Method::POST, "/shop/v1/items", &json_type, b"");
    assert_eq!(errors(&empty), vec![pair("body", "")]);

    let form = headers(&[("content-type", "application/x-www-form-urlencoded")]);
    let form_bad = common::send(&shop, Method::POST, "/shop/v1/items", &form, b"name=pen&price=cheap");
    assert_eq!(errors(&form_bad), vec![pair("body", "/price")]);

    let multipart = headers(&[("content-type", "multipart/form-data; boundary=xx")]);
    let no_photo = "--xx\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\npen\r\n--xx--\r\n";
    let upload_bad = common::send(&shop, Method::POST, "/shop/v1/items", &multipart, no_photo.as_bytes());
    assert_eq!(errors(&upload_bad), vec![pair("body", "/photo")]);

    let text = common::send(&shop, Method::POST, "/shop/v1/items", &headers(&[("content-type", "text/plain")]), b"pen");
    assert_eq!(text.status, 415);
    let detail = common::json(&text)["detail"].as_str().unwrap_or_default().to_owned();
    assert!(detail.contains("text/plain") && detail.contains("multipart/form-data"), "{detail}");
}

#[test]
fn pos_api_answers_its_documented_409_wrong_inputs_that_conforms_to_its_schema() {
    let pos = common::emulator("pos-api/v2.5.yaml");
    let path = "/pos-api/v2.5/client-id/demo/transactions";
    let response = common::call_json(
        &pos,
        Method::POST,
        path,
        &HeaderMap::new(),
        &json!({"amount": "ten", "transaction_type": "gift"}),
    );
    assert_eq!(response.status, 409);
    let body = common::json(&response);
    assert_eq!((body["error"].as_str(), body["url"].as_str()), (Some("wrong_inputs"), Some(path)));
    let fields = body["field_errors"].as_array().expect("field_errors");
    let amount = fields.iter().find(|f| f["param"] == "amount").expect("amount named");
    assert_eq!(amount["value"], "ten", "the value as sent, as text");
    assert!(fields.iter().any(|f| f["param"] == "verification_code" && f.get("value").is_none()), "{body}");
    assert!(fields.iter().any(|f| f["param"] == "transaction_type"), "{body}");

    let schema = pos.response_schema(&Method::POST, path, 409).expect("409 schema");
    let validator = jsonschema::options().should_validate_formats(true).build(&schema).expect("compiles");
    assert!(validator.is_valid(&body), "the answer conforms to the documented 409: {body}");

    let no_reference = common::send(
        &pos,
        Method::GET,
        "/pos-api/v2.5/client-id/demo/customers/search?first_name=A&last_name=B&dob=1980-01-01",
        &headers(&[("x-reference-id", "")]),
        b"",
    );
    assert_eq!(
        errors(&no_reference),
        vec![pair("header", "x-reference-id")],
        "a header problem is 400, as at the gateway"
    );
    // The POS API documents no 415: an undocumented media type gets its documented 400.
    let text = common::send(&pos, Method::POST, path, &headers(&[("content-type", "text/plain")]), b"ten");
    assert_eq!(errors(&text), vec![pair("header", "content-type")]);
    assert!(String::from_utf8_lossy(&text.body).contains("application/json"), "names what to send");
    // Every field of the wrong type: more violations than the documented list may hold (10).
    let wrong = json!({
        "transaction_type": 1, "plan_id": [], "term": [], "amount": "x", "vcc_number": [], "account_number": [],
        "customer_id": [], "account_avs": 1, "customer_confirmed": "x", "hold_authorization": "x",
        "verification_code": "x", "request_id": 1, "external_location_id": 1, "external_employee_id": 1
    });
    let capped = common::json(&common::call_json(&pos, Method::POST, path, &HeaderMap::new(), &wrong));
    assert_eq!(capped["field_errors"].as_array().map(Vec::len), Some(10), "{capped}");
    assert!(validator.is_valid(&capped), "{capped}");
}

#[test]
fn every_operation_of_the_shipped_specs_compiles_its_request_checks() {
    let emulator = Emulator::from_dir(&common::specs_dir(), EmulatorOptions::default()).expect("specs load");
    emulator.compile_all_checks().expect("every request schema compiles");
    shop().compile_all_checks().expect("fixture compiles");
}

#[test]
fn operations_with_security_require_credentials_and_configured_tokens() {
    let file = common::specs_dir().join("pos-api/v2.5.yaml");
    let apis = sandgate_openapi::load_file(&file).expect("loads");
    let options = EmulatorOptions { tokens: vec!["sandbox-token".into()], ..EmulatorOptions::default() };
    let pos = Emulator::new(apis, options).expect("compiles");
    let path = "/pos-api/v2.5/client-id/demo/i18n";
    let missing = common::call(&pos, Method::GET, path, &headers(&[("authorization", "")]));
    assert_eq!(missing.status, 401);
    assert_eq!(common::json(&missing)["type"], "urn:sandgate:problem:unauthenticated");
    assert!(missing.headers.iter().any(|(name, value)| *name == "www-authenticate" && value.starts_with("Bearer")));
    let wrong = common::call(&pos, Method::GET, path, &headers(&[("authorization", "Bearer guess")]));
    assert!(common::json(&wrong)["detail"].as_str().is_some_and(|d| d.contains("not one")), "{wrong:?}");
    let right = common::call(&pos, Method::GET, path, &headers(&[("authorization", "Bearer sandbox-token")]));
    assert_eq!(right.status, 200);
    let token = common::send(
        &pos,
        Method::POST,
        "/pos-api/v2.5/oauth/token",
        &headers(&[("authorization", ""), ("content-type", "application/x-www-form-urlencoded")]),
        b"grant_type=client_credentials&client_id=a&client_secret=b",
    );
    assert_ne!(token.status, 401, "security: [] lets anyone call the token endpoint");
}
