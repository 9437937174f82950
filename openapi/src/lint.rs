//! A spec lint (`sandgate emulator --check`): what would make answers fabricated from a spec
//! break the spec itself, each named by file and JSON pointer. Schemas no value satisfies (an
//! `allOf` of a closed object and one that requires other properties, bounds that cross, an enum
//! of the wrong type, a discriminator naming a branch with a value the branch refuses), examples
//! that do not conform to their schema, and patterns the generator can only approximate.

use std::path::PathBuf;

use serde_json::{Map, Value};

use crate::error::pointer_segment;
use crate::generate::{pattern_support, Discriminator, PatternSupport};
use crate::shape::{child, deref};
use crate::Api;

/// One problem of a spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The document.
    pub file: PathBuf,
    /// Where in it (a JSON pointer).
    pub pointer: String,
    /// What is wrong, and what the emulator does about it.
    pub problem: String,
    /// Whether answers may break the spec (`false`: a warning; the emulator copes).
    pub error: bool,
}

/// How deep nested schemas are followed.
const MAX_DEPTH: usize = 12;

/// Every finding in `apis`, components first, then each operation's examples.
pub fn lint(apis: &[Api]) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut seen_files = Vec::new();
    for api in apis {
        if !seen_files.contains(&api.file) {
            seen_files.push(api.file.clone());
            for (name, schema) in &api.schemas.defs {
                let mut found = Vec::new();
                schema_findings(schema, &api.schemas.defs, &format!("/components/schemas/{name}"), 0, &mut found);
                out.extend(found.into_iter().map(|(pointer, problem, error)| Finding {
                    file: api.file.clone(),
                    pointer,
                    problem,
                    error,
                }));
            }
        }
        // Every example of the document, checked in one validation: compiling a validator per
        // example (each over every component schema) took minutes on GitHub's spec.
        let mut examples: Vec<(&Value, &Value, String)> = Vec::new();
        // A response several operations name is one response of the document: checked once.
        let mut responses_seen = std::collections::HashSet::new();
        for op in api.operations.iter().filter(|op| op.inherited_from.is_none()) {
            for response in &op.responses {
                if !responses_seen.insert(std::sync::Arc::as_ptr(&response.documented)) {
                    continue;
                }
                for media in &response.content {
                    let Some(schema) = &media.schema else { continue };
                    let at = media.pointer.strip_suffix("/schema").unwrap_or(&media.pointer).to_owned();
                    if media.examples.is_empty() {
                        if let Some(example) = &media.example {
                            examples.push((schema, example, format!("{at}/example")));
                        }
                    }
                    for (name, example) in &media.examples {
                        examples.push((schema, example, format!("{at}/examples/{name}/value")));
                    }
                }
            }
            for parameter in &op.parameters {
                if let (Some(schema), Some(example)) = (&parameter.schema, &parameter.example) {
                    examples.push((schema, example, format!("{}/parameters/{}/example", op.pointer, parameter.name)));
                }
            }
        }
        out.extend(nonconforming(api, &examples));
    }
    out
}

/// The examples of `api` (schema, example, pointer) that do not conform, validated together as one
/// array against `prefixItems` of their schemas.
fn nonconforming(api: &Api, examples: &[(&Value, &Value, String)]) -> Vec<Finding> {
    if examples.is_empty() {
        return Vec::new();
    }
    let schemas: Vec<Value> = examples.iter().map(|(schema, ..)| (*schema).clone()).collect();
    let root = api.schemas.json_schema(&serde_json::json!({"prefixItems": schemas}));
    let Ok(validator) = jsonschema::options().should_validate_formats(true).build(&root) else { return Vec::new() };
    let instance = Value::Array(examples.iter().map(|(_, example, _)| (*example).clone()).collect());
    let mut first: Vec<Option<String>> = vec![None; examples.len()];
    for error in validator.iter_errors(&instance) {
        let path = error.instance_path().as_str().to_owned();
        let Some(inside) = path.strip_prefix('/') else { continue };
        let (index, rest) = inside.split_once('/').unwrap_or((inside, ""));
        let Some(slot) = index.parse::<usize>().ok().and_then(|i| first.get_mut(i)) else { continue };
        if slot.is_none() {
            let at = if rest.is_empty() { String::new() } else { format!("/{rest}") };
            *slot =
                Some(format!("the example does not conform to its schema: {} at {at:?}", error.masked_with("value")));
        }
    }
    examples
        .iter()
        .zip(first)
        .filter_map(|((_, _, pointer), problem)| {
            Some(Finding { file: api.file.clone(), pointer: pointer.clone(), problem: problem?, error: false })
        })
        .collect()
}

/// The problems of `schema` at `at` and below: (pointer, problem, whether answers may break).
fn schema_findings(
    schema: &Value,
    defs: &Map<String, Value>,
    at: &str,
    depth: usize,
    out: &mut Vec<(String, String, bool)>,
) {
    let Some(object) = schema.as_object() else { return };
    if depth > MAX_DEPTH {
        return;
    }
    let number = |key: &str| object.get(key).and_then(Value::as_f64);
    for (low, high) in [("minimum", "maximum"), ("minLength", "maxLength"), ("minItems", "maxItems")] {
        if let (Some(min), Some(max)) = (number(low), number(high)) {
            if min > max {
                out.push((at.to_owned(), format!("{low} {min} is above {high} {max}: no value fits"), true));
            }
        }
    }
    if let (Some(Value::String(kind)), Some(Value::Array(values))) = (object.get("type"), object.get("enum")) {
        let fits = |v: &Value| match kind.as_str() {
            "string" => v.is_string(),
            "integer" => v.is_i64() || v.is_u64(),
            "number" => v.is_number(),
            "boolean" => v.is_boolean(),
            "array" => v.is_array(),
            "object" => v.is_object(),
            _ => true,
        };
        if let Some(wrong) = values.iter().find(|v| !fits(v) && !v.is_null()) {
            out.push((format!("{at}/enum"), format!("{wrong} is not of type {kind}: the enum cannot be met"), true));
        }
    }
    if let Some(pattern) = object.get("pattern").and_then(Value::as_str) {
        let problem = match pattern_support(pattern) {
            PatternSupport::Exact => None,
            PatternSupport::Checked => Some((
                "uses look-around: values are generated without it and checked against the whole pattern".to_owned(),
                false,
            )),
            PatternSupport::Unsampled => {
                Some(("cannot be sampled (back-references?): fabricated values may not match it".to_owned(), true))
            }
            PatternSupport::Invalid(e) => Some((e, true)),
        };
        if let Some((problem, error)) = problem {
            out.push((format!("{at}/pattern"), format!("pattern {pattern:?} {problem}"), error));
        }
    }
    if let Some(pattern) = object.get(crate::normalize::UNPARSED_PATTERN).and_then(Value::as_str) {
        let problem = format!(
            "pattern {pattern:?} is not a regular expression any engine here reads: it is not enforced, and values are generated as free text"
        );
        out.push((format!("{at}/pattern"), problem, false));
    }
    // A closed object (additionalProperties: false) that must have a property it does not declare.
    let closed = |member: &Value| {
        let member = deref(member, defs)?;
        (member.get("additionalProperties") == Some(&Value::Bool(false)))
            .then(|| member.get("properties").and_then(Value::as_object).map(|p| p.keys().cloned().collect::<Vec<_>>()))
            .map(Option::unwrap_or_default)
    };
    let required = |member: &Value| -> Vec<String> {
        let Some(member) = deref(member, defs) else { return Vec::new() };
        member
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect()
    };
    if let Some(declared) = closed(schema) {
        if let Some(missing) = required(schema).into_iter().find(|name| !declared.contains(name)) {
            out.push((
                format!("{at}/required"),
                format!("requires {missing:?}, which additionalProperties: false forbids"),
                true,
            ));
        }
    }
    if let Some(Value::Array(members)) = object.get("allOf") {
        for (i, member) in members.iter().enumerate() {
            let Some(declared) = closed(member) else { continue };
            for (j, other) in members.iter().enumerate().filter(|(j, _)| *j != i) {
                if let Some(missing) = required(other).into_iter().find(|name| !declared.contains(name)) {
                    out.push((
                        format!("{at}/allOf/{j}"),
                        format!(
                            "requires {missing:?}, which allOf/{i} forbids (additionalProperties: false): no object satisfies both; \
                             use unevaluatedProperties: false on the whole instead"
                        ),
                        true,
                    ));
                }
            }
        }
    }
    if let Some(discriminator) = Discriminator::of(object) {
        discriminator_findings(object, &discriminator, defs, at, out);
    }
    for key in ["properties", "patternProperties", "$defs"] {
        for (name, member) in object.get(key).and_then(Value::as_object).into_iter().flatten() {
            schema_findings(member, defs, &format!("{at}/{key}/{}", pointer_segment(name)), depth + 1, out);
        }
    }
    for key in ["allOf", "anyOf", "oneOf", "prefixItems"] {
        for (i, member) in object.get(key).and_then(Value::as_array).into_iter().flatten().enumerate() {
            schema_findings(member, defs, &format!("{at}/{key}/{i}"), depth + 1, out);
        }
    }
    for key in ["items", "additionalProperties", "not"] {
        if let Some(member) = object.get(key).filter(|m| m.is_object()) {
            schema_findings(member, defs, &format!("{at}/{key}"), depth + 1, out);
        }
    }
}

/// A branch the discriminator names with a value its own schema of that property refuses
/// (Spotify: `EpisodeObject`, with no `mapping`, whose `type` admits only `episode`): no object
/// of that branch satisfies both.
fn discriminator_findings(
    object: &Map<String, Value>,
    discriminator: &Discriminator,
    defs: &Map<String, Value>,
    at: &str,
    out: &mut Vec<(String, String, bool)>,
) {
    for key in ["oneOf", "anyOf"] {
        for (i, branch) in object.get(key).and_then(Value::as_array).into_iter().flatten().enumerate() {
            let names = discriminator.values_for(branch);
            let property = child(branch, defs, &discriminator.property).and_then(|p| deref(p, defs));
            let admitted: Vec<&Value> = match property.map(|p| (p.get("const"), p.get("enum"))) {
                Some((Some(value), _)) => vec![value],
                Some((None, Some(Value::Array(values)))) => values.iter().collect(),
                _ => continue,
            };
            if names.is_empty() || names.iter().any(|name| admitted.iter().any(|a| a.as_str() == Some(name))) {
                continue;
            }
            let admitted = admitted.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(", ");
            out.push((
                format!("{at}/{key}/{i}"),
                format!(
                    "the discriminator names this branch {names:?} in {:?}, which admits only {admitted}: no object of it \
                     satisfies both; answers carry the branch's own value (a mapping from that value would fix the spec)",
                    discriminator.property
                ),
                true,
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_unsatisfiable_schemas_bad_examples_and_approximate_patterns() {
        let doc = json!({
            "openapi": "3.0.3", "info": {"title": "t", "version": "1"},
            "paths": {"/pets": {"get": {"operationId": "list", "responses": {"200": {"description": "ok",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Pet"}, "example": {"id": "seven"}}}}}}}},
            "components": {"schemas": {
                "Pet": {"type": "object", "required": ["id"], "properties": {"id": {"type": "integer"},
                        "code": {"type": "string", "pattern": "^(?!aws:).+$"}}},
                "Closed": {"allOf": [
                    {"type": "object", "additionalProperties": false, "properties": {"a": {"type": "string"}}},
                    {"type": "object", "required": ["b"], "properties": {"b": {"type": "string"}}}]},
                "Crossed": {"type": "string", "minLength": 5, "maxLength": 2},
                "Mixed": {"type": "integer", "enum": [1, "two"]}}}
        });
        let api = crate::model::build_api(std::path::Path::new("t.yaml"), &doc).expect("builds");
        let findings = lint(&[api]);
        let at = |pointer: &str| findings.iter().find(|f| f.pointer == pointer).map(|f| (f.problem.clone(), f.error));
        assert!(
            at("/components/schemas/Closed/allOf/1").is_some_and(|(p, e)| e && p.contains("\"b\"")),
            "{findings:?}"
        );
        assert!(at("/components/schemas/Crossed").is_some_and(|(p, _)| p.contains("minLength")), "{findings:?}");
        assert!(at("/components/schemas/Mixed/enum").is_some(), "{findings:?}");
        assert!(
            at("/components/schemas/Pet/properties/code/pattern").is_some_and(|(_, e)| !e),
            "a warning: {findings:?}"
        );
        assert!(
            findings.iter().any(|f| f.pointer.ends_with("/example") && f.problem.contains("does not conform")),
            "{findings:?}"
        );
        assert_eq!(findings.len(), 5, "nothing else: {findings:?}");
    }

    #[test]
    fn a_discriminator_naming_a_branch_with_a_value_the_branch_refuses_is_found() {
        let kind = |value: &str| json!({"type": "object", "properties": {"type": {"type": "string", "enum": [value]}}});
        let doc = json!({
            "openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": {},
            "components": {"schemas": {
                "Track": kind("track"), "Episode": kind("episode"),
                // Spotify: no mapping, so the values are the schema names, which the enums refuse.
                "Implied": {"oneOf": [{"$ref": "#/components/schemas/Track"}, {"$ref": "#/components/schemas/Episode"}],
                            "discriminator": {"propertyName": "type"}},
                // A mapping from each branch's own value: consistent.
                "Mapped": {"oneOf": [{"$ref": "#/components/schemas/Track"}, {"$ref": "#/components/schemas/Episode"}],
                           "discriminator": {"propertyName": "type",
                                             "mapping": {"track": "#/components/schemas/Track", "episode": "Episode"}}}}}
        });
        let api = crate::model::build_api(std::path::Path::new("t.yaml"), &doc).expect("builds");
        let findings = lint(&[api]);
        let pointers: Vec<&str> = findings.iter().map(|f| f.pointer.as_str()).collect();
        assert_eq!(pointers, ["/components/schemas/Implied/oneOf/0", "/components/schemas/Implied/oneOf/1"]);
        assert!(findings[1].error && findings[1].problem.contains("\"episode\""), "{findings:?}");
    }
}
