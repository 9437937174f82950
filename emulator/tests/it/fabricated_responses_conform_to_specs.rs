//! Every response schema of every spec under `specs/`, and of an OpenAPI 3.1 fixture, fabricates
//! values that its own JSON Schema accepts, for many seeds: the generator never answers outside
//! the spec.

use crate::common;

use jsonschema::Draft;
use sandgate_openapi::generate::{CompiledSet, Program};

const SEEDS: u64 = 40;

#[test]
fn every_response_schema_fabricates_valid_json_for_many_seeds() {
    let apis = sandgate_openapi::load_dir(&common::specs_dir()).expect("specs load");
    let checked = assert_fabrications_valid(&apis);
    assert!(checked > 50, "only {checked} response schemas found; are the specs there?");
}

#[test]
fn openapi_31_documents_load_route_and_fabricate_valid_json() {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/openapi-3.1");
    let apis = sandgate_openapi::load_dir(&dir).expect("the 3.1 fixture loads");
    assert_eq!(assert_fabrications_valid(&apis), 4, "listPets, createPet, showPet 200 and 404");
    let emulator = sandgate_emulator::Emulator::new(apis, Default::default()).expect("compiles");
    let headers = http::HeaderMap::new();
    let rex = serde_json::json!({"id": 7, "name": "Rex", "kind": "pet", "species": "dog"});
    assert_eq!(common::call_json(&emulator, http::Method::POST, "/pets-31/pets", &headers, &rex).status, 201);
    let pet = common::json(&common::call(&emulator, http::Method::GET, "/pets-31/pets/7", &headers));
    assert_eq!((&pet["kind"], &pet["name"]), (&serde_json::json!("pet"), &serde_json::json!("Rex")), "{pet}");
    assert!(pet["nickname"].is_null() || pet["nickname"].is_string(), "{pet}");
}

/// Fabricates every JSON response schema of `apis` for many seeds and checks each value against
/// its own schema; returns how many schemas were checked.
fn assert_fabrications_valid(apis: &[sandgate_openapi::Api]) -> usize {
    let mut checked = 0;
    let mut failures = Vec::new();
    for api in apis {
        let set = CompiledSet::compile(&api.schemas).expect("components compile");
        for op in api.operations.iter().filter(|op| op.inherited_from.is_none()) {
            for response in &op.responses {
                for media in response.content.iter().filter(|m| m.media_type.ends_with("json")) {
                    let Some(schema) = &media.schema else { continue };
                    let program = Program::compile(schema, &op.schemas, &set).expect("schema compiles");
                    let validator = jsonschema::options()
                        .with_draft(Draft::Draft202012)
                        .should_validate_formats(true)
                        .build(&op.schemas.json_schema(schema))
                        .unwrap_or_else(|e| {
                            panic!("{}{}: invalid JSON Schema: {e}", api.file.display(), media.pointer)
                        });
                    for seed in 0..SEEDS {
                        let value = program.generate(seed);
                        let first_error = validator
                            .iter_errors(&value)
                            .next()
                            .map(|error| format!("{error} at {}", error.instance_path()));
                        if let Some(error) = first_error {
                            let file = api.file.display();
                            failures.push(format!(
                                "{file} {}{} seed {seed}: {error} in {value}",
                                op.label(),
                                media.pointer
                            ));
                        }
                    }
                    checked += 1;
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} invalid fabrications, first ones:\n{}",
        failures.len(),
        failures[..failures.len().min(5)].join("\n")
    );
    checked
}

#[test]
fn same_seed_gives_identical_output() {
    let emulator = common::emulator("pos-api/v2.5.yaml");
    let headers = http::HeaderMap::new();
    let path = "/pos-api/v2.5/client-id/demo/customers/search?first_name=John&last_name=Smith&dob=1980-01-01";
    let first = common::call(&emulator, http::Method::GET, path, &headers);
    let second = common::call(&emulator, http::Method::GET, path, &headers);
    assert_eq!(first.status, 200);
    assert_eq!(first.body, second.body);
    let other = common::call(&emulator, http::Method::GET, &path.replace("John", "Jane"), &headers);
    assert_ne!(first.body, other.body, "another request should get other data");
}

#[test]
fn list_answers_are_never_empty_and_rates_look_like_rates() {
    let emulator = common::emulator("pos-api/v2.5.yaml");
    let headers = http::HeaderMap::new();
    for seed in 0..30 {
        let path = format!("/pos-api/v2.5/client-id/c{seed}/customers/search?first_name=A&last_name=B&dob=1980-01-01");
        let body = common::json(&common::call(&emulator, http::Method::GET, &path, &headers));
        assert!(body.as_array().is_some_and(|a| !a.is_empty()), "{body}");
        let path = format!("/pos-api/v2.5/client-id/c{seed}/accounts/1/calculate-interest");
        let body = common::json(&common::call_json(
            &emulator,
            http::Method::POST,
            &path,
            &headers,
            &serde_json::json!({"amount": 100.0}),
        ));
        if let Some(air) = body["customer"]["air"].as_f64() {
            assert!((0.0999..=0.3999).contains(&air), "air {air}");
        }
    }
}

#[test]
fn seed_header_pins_the_answer() {
    let emulator = common::emulator("pos-api/v2.5.yaml");
    let mut headers = http::HeaderMap::new();
    headers.insert(sandgate_emulator::SEED_HEADER, "42".parse().expect("header"));
    let a = common::call(
        &emulator,
        http::Method::GET,
        "/pos-api/v2.5/client-id/a/customers/search?first_name=A&last_name=B&dob=1980-01-01",
        &headers,
    );
    let b = common::call(
        &emulator,
        http::Method::GET,
        "/pos-api/v2.5/client-id/b/customers/search?first_name=B&last_name=B&dob=1980-01-01",
        &headers,
    );
    assert_eq!(a.body, b.body);
}
