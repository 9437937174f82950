//! Every error code the POS specs document (the enum of an error answer's `error` field) can be
//! reached on purpose: `Prefer: example=<code>` answers it with its documented status and body
//! shape and the message `scenarios.yaml` gives it (in French with `lang=fr`), and the README's
//! table lists it for the operation.

use crate::common;

use http::{HeaderMap, Method};
use sandgate_emulator::{Emulator, EmulatorOptions};
use sandgate_openapi::generate::{CompiledSet, Program};
use sandgate_openapi::{Operation, ParamLocation};
use serde_json::Value;

/// A valid request for `op`: every path parameter and required query and header parameter
/// fabricated from its schema, and the body when one is documented.
fn valid_request(op: &Operation) -> (String, HeaderMap, Option<Value>) {
    let set = CompiledSet::compile(&op.schemas).expect("schemas compile");
    let fabricate = |schema: &Value| Program::compile(schema, &op.schemas, &set).expect("compiles").generate(7);
    let text = |value: Value| match value {
        Value::String(text) => text,
        other => other.to_string(),
    };
    let (mut path, mut query, mut headers) = (op.path.clone(), Vec::<String>::new(), HeaderMap::new());
    for parameter in &op.parameters {
        let Some(schema) = &parameter.schema else { continue };
        let value = text(fabricate(schema));
        match parameter.location {
            ParamLocation::Path => path = path.replace(&format!("{{{}}}", parameter.name), &value),
            ParamLocation::Query if parameter.required => query
                .push(form_urlencoded::Serializer::new(String::new()).append_pair(&parameter.name, &value).finish()),
            ParamLocation::Header if parameter.required => {
                headers.insert(
                    http::HeaderName::from_bytes(parameter.name.as_bytes()).expect("header name"),
                    value.parse().expect("header value"),
                );
            }
            _ => {}
        }
    }
    if !query.is_empty() {
        path = format!("{path}?{}", query.join("&"));
    }
    let body = op.request_body.as_ref().and_then(|b| b.content.first()).and_then(|m| m.schema.as_ref()).map(fabricate);
    (path, headers, body)
}

#[test]
fn prefer_example_answers_every_documented_error_code_with_its_message() {
    let specs = common::specs_dir();
    let pos = Emulator::from_dir(&specs, EmulatorOptions::default()).expect("POS specs load");
    let files = sandgate_emulator::scenario::load_dir(&specs).expect("scenario files");
    let messages = sandgate_emulator::scenario::messages(&files, "pos-api");
    let readme = std::fs::read_to_string(specs.join("../README.md")).expect("README");
    let (mut reached, mut problems) = (0, Vec::new());
    for api in pos.apis().iter().filter(|api| api.name() == "pos-api") {
        let base = api.base_path.clone();
        for op in &api.operations {
            let label = op.label();
            let takes_lang = op.parameters.iter().any(|p| p.name == "lang" && p.location == ParamLocation::Query);
            let row = readme.lines().find(|line| line.starts_with(&format!("| `{label}` |")));
            for code in sandgate_openapi::error_codes::documented(op) {
                let (path, mut headers, body) = valid_request(op);
                let separator = if path.contains('?') { '&' } else { '?' };
                let path = format!("{base}{path}{separator}lang=fr");
                headers.insert("prefer", format!("example={}", code.code).parse().expect("header"));
                let form = op.request_body.as_ref().and_then(|b| b.content.first()).map(|m| m.media_type.as_str())
                    == Some("application/x-www-form-urlencoded");
                let response = match &body {
                    Some(Value::Object(fields)) if form => {
                        let mut encoded = form_urlencoded::Serializer::new(String::new());
                        for (name, value) in fields {
                            encoded.append_pair(name, &value.as_str().map_or_else(|| value.to_string(), str::to_owned));
                        }
                        headers.insert(
                            http::header::CONTENT_TYPE,
                            "application/x-www-form-urlencoded".parse().expect("type"),
                        );
                        common::send(&pos, op.method.clone(), &path, &headers, encoded.finish().as_bytes())
                    }
                    Some(body) => common::call_json(&pos, op.method.clone(), &path, &headers, body),
                    None => common::send(&pos, op.method.clone(), &path, &headers, b""),
                };
                let answer: Value = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
                let route = path.split('?').next().unwrap_or(&path);
                let schema = pos.response_schema(&op.method, route, code.status).expect("documented");
                let conforms = jsonschema::validator_for(&schema).expect("compiles").is_valid(&answer);
                // French where the operation documents `lang`, else the first language.
                let language = if takes_lang { "fr" } else { "en" };
                let message = messages.get(code.code).and_then(|texts| texts.get(language));
                let says = answer.as_object().is_some_and(|a| message.is_some_and(|m| a.values().any(|v| v == m)));
                if response.status != code.status || answer[code.field] != code.code || !conforms || !says {
                    problems.push(format!("{label} {}: {} {answer}", code.code, response.status));
                }
                if !row.is_some_and(|row| row.contains(&format!("`{}`", code.code))) {
                    problems.push(format!("README: the row of `{label}` does not list `{}`", code.code));
                }
                reached += 1;
            }
        }
    }
    assert!(problems.is_empty(), "{} problems:\n{}", problems.len(), problems.join("\n"));
    assert!(reached > 100, "every operation of both versions documents several codes: {reached}");
}

#[test]
fn an_unknown_code_is_refused_naming_the_documented_ones() {
    let pos = Emulator::from_dir(&common::specs_dir(), EmulatorOptions::default()).expect("POS specs load");
    let mut headers = HeaderMap::new();
    headers.insert("prefer", "example=no_such_code".parse().expect("header"));
    let body = serde_json::json!({"account_number": 12345678, "transaction_type": "deposit", "amount": 1.0, "verification_code": 1234});
    let response = common::call_json(&pos, Method::POST, "/pos-api/v2.5/client-id/demo/transactions", &headers, &body);
    assert_eq!(response.status, 400);
    let detail = common::json(&response)["detail"].as_str().unwrap_or_default().to_owned();
    assert!(detail.contains("not_enough_credit") && detail.contains("limit_payment_amount_24"), "{detail}");
}

#[test]
fn a_documented_list_of_field_problems_names_a_field_the_operation_takes() {
    let pos = Emulator::from_dir(&common::specs_dir(), EmulatorOptions::default()).expect("POS specs load");
    let mut headers = HeaderMap::new();
    headers.insert("prefer", "example=wrong_inputs".parse().expect("header"));
    let path = "/pos-api/v2.5/client-id/demo/authorization";
    let body = serde_json::json!({"account_number": 12345678, "amount": 10.0, "auto_capture": false,
                                  "financing_option": {"transaction_type": "regular_purchase"}});
    let response = common::call_json(&pos, Method::POST, path, &headers, &body);
    assert_eq!(response.status, 409);
    let answer = common::json(&response);
    assert_eq!(answer["url"], path, "the path called, not a made-up URL: {answer}");
    let required = ["account_number", "financing_option", "amount", "auto_capture"];
    let param = answer["field_errors"][0]["param"].as_str().unwrap_or_default().to_owned();
    assert!(required.contains(&param.as_str()), "a field of the request, not a made-up word: {answer}");
}
