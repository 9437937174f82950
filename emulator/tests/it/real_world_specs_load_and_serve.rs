//! Real-world specs: the OpenAPI Petstore, GitHub's REST API (13 MB, 1,223 operations) and Stripe's
//! API (4.9 MB, form-encoded bodies with deepObject fields) load, route, validate, keep state and
//! answer with data their own schemas accept.

use crate::common;

use std::io::Read;
use std::path::Path;

use http::{HeaderMap, Method};
use sandgate_emulator::{EmuResponse, Emulator, EmulatorOptions};
use serde_json::{json, Value};

fn fixture(relative: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(relative)
}

fn conforming(emulator: &Emulator, method: Method, path: &str, response: &EmuResponse) -> Value {
    let value = if response.body.is_empty() { Value::Null } else { common::json(response) };
    if let Some(schema) = emulator.response_schema(&method, path, response.status) {
        let validator = jsonschema::options().should_validate_formats(true).build(&schema).expect("compiles");
        assert!(validator.is_valid(&value), "{method} {path} → {}: {value}", response.status);
    }
    value
}

#[test]
fn petstore_creates_lists_reads_and_validates() {
    let apis = sandgate_openapi::load_file(&fixture("petstore/petstore.yaml")).expect("petstore loads");
    let store = Emulator::new(apis, EmulatorOptions::default()).expect("compiles");
    let headers = HeaderMap::new();
    let created =
        common::call_json(&store, Method::POST, "/v1/pets", &headers, &json!({"id": 7, "name": "Rex", "tag": "dog"}));
    assert_eq!((created.status, created.body.len()), (201, 0), "201 Null response");
    let rex = common::call(&store, Method::GET, "/v1/pets/7", &headers);
    assert_eq!(conforming(&store, Method::GET, "/v1/pets/7", &rex), json!({"id": 7, "name": "Rex", "tag": "dog"}));
    let list = common::call(&store, Method::GET, "/v1/pets?limit=10", &headers);
    assert_eq!(conforming(&store, Method::GET, "/v1/pets", &list), json!([{"id": 7, "name": "Rex", "tag": "dog"}]));
    let missing = common::call(&store, Method::GET, "/v1/pets/8", &headers);
    assert_eq!(missing.status, 404);
    conforming(&store, Method::GET, "/v1/pets/8", &missing);
    assert_eq!(common::call(&store, Method::GET, "/v1/pets?limit=101", &headers).status, 400, "maximum 100");
    let nameless = common::call_json(&store, Method::POST, "/v1/pets", &headers, &json!({"id": 8}));
    // Petstore documents its errors as `default: Error {code, message}`: that shape, not problem+json.
    assert_eq!(nameless.status, 400);
    let error = conforming(&store, Method::POST, "/v1/pets", &nameless);
    assert_eq!(error["code"], 400, "{error}");
    assert!(error["message"].as_str().is_some_and(|m| m.contains("/name")), "names the missing field: {error}");
}

/// A gzipped fixture written out as `name` in a fresh folder, the way a user's spec folder is.
fn unpacked(gz: &str, name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut text = String::new();
    let file = std::fs::File::open(fixture(gz)).expect("fixture");
    flate2::read::GzDecoder::new(file).read_to_string(&mut text).expect("gunzip");
    std::fs::write(dir.path().join(name), text).expect("write");
    dir
}

#[test]
fn stripe_api_creates_reads_and_validates_form_encoded_customers() {
    let dir = unpacked("stripe/spec3.json.gz", "spec3.json");
    assert!(std::fs::metadata(dir.path().join("spec3.json")).expect("written").len() > 4_500_000, "the 4.9 MB spec");
    let stripe = Emulator::from_dir(dir.path(), EmulatorOptions::default()).expect("Stripe's spec loads");
    assert!(stripe.route_count() > 400, "{} routes", stripe.route_count());

    let mut form = HeaderMap::new();
    form.insert("content-type", http::HeaderValue::from_static("application/x-www-form-urlencoded"));
    let body = b"name=Jenny+Rosen&email=jenny.rosen%40example.com&metadata[order_id]=6735&preferred_locales[0]=en";
    let created = common::send(&stripe, Method::POST, "/v1/customers", &form, body);
    let customer = conforming(&stripe, Method::POST, "/v1/customers", &created);
    assert_eq!(created.status, 200, "{customer}");
    assert_eq!((&customer["name"], &customer["email"]), (&json!("Jenny Rosen"), &json!("jenny.rosen@example.com")));
    assert_eq!(customer["metadata"], json!({"order_id": "6735"}), "a deepObject field");
    let id = customer["id"].as_str().expect("customer id");
    let read = common::call(&stripe, Method::GET, &format!("/v1/customers/{id}"), &HeaderMap::new());
    assert_eq!(read.status, 200);
    assert_eq!(common::json(&read)["name"], "Jenny Rosen");

    let wrong = common::send(&stripe, Method::POST, "/v1/customers", &form, b"balance=lots");
    let problem = common::json(&wrong);
    assert_eq!(wrong.status, 400, "{problem}");
    assert!(problem.to_string().contains("balance"), "names the field: {problem}");
    let mut anonymous = HeaderMap::new();
    anonymous.insert(http::header::AUTHORIZATION, http::HeaderValue::from_static(""));
    let refused = common::call(&stripe, Method::GET, "/v1/customers", &anonymous);
    assert_eq!(refused.status, 401, "basic or bearer credentials are required");
}

#[test]
fn github_rest_api_loads_and_serves() {
    let dir = unpacked("github/api.github.com.json.gz", "api.github.com.json");
    let size = std::fs::metadata(dir.path().join("api.github.com.json")).expect("written").len();
    assert!(size > 10_000_000, "the full 13 MB description");
    let github = Emulator::from_dir(dir.path(), EmulatorOptions::default()).expect("GitHub's spec loads");
    assert!(github.route_count() > 1000, "{} routes", github.route_count());

    let headers = HeaderMap::new();
    for path in ["/users/octocat", "/repos/octocat/hello-world", "/orgs/github/repos?per_page=2"] {
        let response = common::call(&github, Method::GET, path, &headers);
        assert_eq!(response.status, 200, "{path}: {}", String::from_utf8_lossy(&response.body));
        conforming(&github, Method::GET, path.split('?').next().unwrap_or(path), &response);
    }
    let issues = "/repos/octocat/hello-world/issues";
    let created =
        common::call_json(&github, Method::POST, issues, &headers, &json!({"title": "Found a bug", "labels": ["bug"]}));
    let issue = conforming(&github, Method::POST, issues, &created);
    assert_eq!((created.status, &issue["title"]), (201, &json!("Found a bug")));
    let number = issue["number"].as_i64().expect("issue number");
    let read = common::call(&github, Method::GET, &format!("{issues}/{number}"), &headers);
    let body = conforming(&github, Method::GET, &format!("{issues}/{number}"), &read);
    assert_eq!((read.status, &body["title"]), (200, &json!("Found a bug")), "{body}");
    let bad = common::call_json(&github, Method::POST, issues, &headers, &json!({"labels": "bug"}));
    assert!(bad.status == 400 || bad.status == 422, "a title is required: {}", bad.status);
}
