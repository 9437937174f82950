//! Properties, over random seeds (proptest): every schema of the POS specs and of a corpus written
//! to be awkward (composition with a discriminator, recursion, patterns, formats, bounds, 3.0
//! `nullable` and 3.1 type arrays) fabricates values the `jsonschema` crate accepts; a request
//! body fabricated from its operation's schema passes the emulator's validation, and the same body
//! without one of its required fields is rejected naming that field.

use crate::common;

use std::sync::{Arc, OnceLock};

use http::{HeaderMap, Method};
use proptest::prelude::*;
use sandgate_emulator::{Emulator, EmulatorOptions};
use sandgate_openapi::generate::{CompiledSet, Program};
use sandgate_openapi::Api;
use serde_json::{json, Value};

/// Every component schema of the POS specs and the corpus, compiled for fabrication and validation.
struct Corpus {
    schemas: Vec<(String, Program, jsonschema::Validator)>,
}

fn apis() -> Vec<Api> {
    let mut apis = sandgate_openapi::load_dir(&common::specs_dir()).expect("specs load");
    let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/corpus");
    apis.extend(sandgate_openapi::load_dir(&corpus).expect("corpus loads"));
    apis
}

fn corpus() -> &'static Corpus {
    static CORPUS: OnceLock<Corpus> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let mut schemas = Vec::new();
        for api in apis() {
            let set = CompiledSet::compile(&api.schemas).expect("components compile");
            for name in api.schemas.defs.keys() {
                let reference = json!({"$ref": format!("#/$defs/{name}")});
                let program = Program::compile(&reference, &api.schemas, &set).expect("compiles");
                let validator = jsonschema::options()
                    .should_validate_formats(true)
                    .build(&api.schemas.json_schema(&reference))
                    .expect("validator compiles");
                schemas.push((format!("{}#{name}", api.file.display()), program, validator));
            }
        }
        assert!(schemas.len() > 100, "only {} schemas", schemas.len());
        Corpus { schemas }
    })
}

/// The POS operations with a JSON body: path with sample parameters, and the body's generator.
struct Bodies {
    emulator: Emulator,
    operations: Vec<(String, Program, Vec<String>)>,
}

fn bodies() -> &'static Bodies {
    static BODIES: OnceLock<Bodies> = OnceLock::new();
    BODIES.get_or_init(|| {
        let apis = sandgate_openapi::load_file(&common::specs_dir().join("pos-api/v2.5.yaml")).expect("loads");
        let set: Arc<CompiledSet> = CompiledSet::compile(&apis[0].schemas).expect("compiles");
        let samples =
            [("client_id", "demo"), ("account_number", "12345678"), ("authorization_id", "77"), ("capture_id", "5")];
        let mut operations = Vec::new();
        for op in &apis[0].operations {
            let Some(media) =
                op.request_body.as_ref().and_then(|b| b.content.iter().find(|m| m.media_type == "application/json"))
            else {
                continue;
            };
            let Some(schema) = &media.schema else { continue };
            let mut path = format!("{}{}", apis[0].base_path, op.path);
            for (name, value) in samples {
                path = path.replace(&format!("{{{name}}}"), value);
            }
            let resolved = match schema.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix("#/$defs/")) {
                Some(name) => apis[0].schemas.defs.get(name).cloned().unwrap_or_default(),
                None => schema.clone(),
            };
            let required: Vec<String> = resolved["required"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect();
            operations.push((path, Program::compile(schema, &apis[0].schemas, &set).expect("compiles"), required));
        }
        assert!(operations.len() >= 10, "{} operations with a JSON body", operations.len());
        let emulator = Emulator::new(apis, EmulatorOptions::default()).expect("compiles");
        Bodies { emulator, operations }
    })
}

/// Whether the answer is the emulator refusing the request as invalid (not a business rule).
fn refused_as_invalid(response: &sandgate_emulator::EmuResponse) -> Option<Value> {
    let body: Value = serde_json::from_slice(&response.body).unwrap_or_default();
    (response.status == 400 || body["error"] == "wrong_inputs").then_some(body)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn every_fabricated_value_validates(seed in any::<u64>()) {
        for (name, program, validator) in &corpus().schemas {
            let value = program.generate(seed);
            let first = validator.iter_errors(&value).next().map(|e| format!("{e} at {}", e.instance_path().as_str()));
            prop_assert!(first.is_none(), "{name}, seed {seed}: {value}\n{first:?}");
        }
    }

    #[test]
    fn fabricated_request_bodies_pass_and_lose_a_required_field_fail(seed in any::<u64>(), pick in any::<usize>()) {
        let bodies = bodies();
        for (path, program, required) in &bodies.operations {
            let body = program.generate(seed);
            let response = common::call_json(&bodies.emulator, Method::POST, path, &HeaderMap::new(), &body);
            prop_assert!(refused_as_invalid(&response).is_none(), "{path}, seed {seed}: {body} refused: {}", String::from_utf8_lossy(&response.body));
            if required.is_empty() {
                continue;
            }
            let field = &required[pick % required.len()];
            let mut lacking = body.clone();
            if let Some(object) = lacking.as_object_mut() {
                object.remove(field);
            }
            let response = common::call_json(&bodies.emulator, Method::POST, path, &HeaderMap::new(), &lacking);
            let refusal = refused_as_invalid(&response);
            prop_assert!(refusal.is_some(), "{path}: without {field} it was accepted ({})", response.status);
            let named = refusal.is_some_and(|r| r["field_errors"].as_array().into_iter().flatten().any(|e| e["param"] == field.as_str()));
            prop_assert!(named, "{path}: the refusal does not name {field}");
        }
    }
}

fn fuzz_cases() -> u32 {
    std::env::var("SANDGATE_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(512)
}

/// A body: fabricated-looking JSON, broken JSON, or arbitrary bytes.
fn any_body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::sample::select(vec![
            "{}",
            "[]",
            "null",
            "{\"amount\": \"ten\"}",
            "{\"amount\": -1e400}",
            "{\"amount\": 1e308}",
            "{\"a\":",
            "{\"amount\": 99.5, \"account_number\": 12345678}",
            "\u{0}",
            "amount=1&a[b]=2",
        ])
        .prop_map(|s| s.as_bytes().to_vec()),
        prop::collection::vec(any::<u8>(), 0..64),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: fuzz_cases(), failure_persistence: None, ..ProptestConfig::default() })]

    /// The emulator's validator and pipeline on arbitrary requests to documented paths: never a
    /// panic, never a 5xx, always a body that says what happened.
    #[test]
    fn the_emulator_answers_any_request_without_panic_or_server_error(
        pick in any::<usize>(),
        method in prop::sample::select(vec![Method::GET, Method::POST, Method::PATCH, Method::DELETE]),
        param in "[ -~]{0,16}",
        query in prop::option::of("[ -~&&[^#]]{0,40}"),
        content_type in prop::sample::select(vec!["application/json", "application/x-www-form-urlencoded", "text/plain", ""]),
        body in any_body(),
    ) {
        let bodies = bodies();
        let operations = &bodies.operations;
        let (path, _, _) = &operations[pick % operations.len()];
        // One path segment replaced by arbitrary text (encoded), so parameters see anything.
        let encoded: String = percent_encoding::utf8_percent_encode(&param, percent_encoding::NON_ALPHANUMERIC).to_string();
        let mut segments: Vec<&str> = path.split('/').collect();
        let at = 1 + pick % (segments.len() - 1);
        segments[at] = &encoded;
        let path = segments.join("/");
        let mut headers = HeaderMap::new();
        if let Ok(value) = content_type.parse() {
            headers.insert(http::header::CONTENT_TYPE, value);
        }
        let request = sandgate_emulator::EmuRequest {
            method: &method,
            path: &path,
            query: query.as_deref(),
            headers: &headers,
            body: &body,
            tenant: None,
            application: None,
        };
        let response = bodies.emulator.handle(&request);
        prop_assert!(response.status < 500, "{method} {path}: {} {}", response.status, String::from_utf8_lossy(&response.body));
    }
}
