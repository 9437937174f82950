//! Rewrites OpenAPI schema objects into JSON Schema 2020-12, the one dialect the generator and
//! every validator (emulator, contract tests) work on. 3.1 schemas already are 2020-12: for them
//! only the `$ref` rewriting does anything.
//!
//! - `$ref: '#/components/schemas/X'` → `$ref: '#/$defs/X'` (schemas are bundled under `$defs`);
//! - `nullable: true` → `type: [T, "null"]` (and `null` added to an `enum`), because JSON Schema
//!   validators ignore `nullable`;
//! - boolean `exclusiveMinimum`/`exclusiveMaximum` → the numeric 2020-12 form;
//! - `example` (an annotation the validators do not need) is dropped;
//! - a `pattern` no engine here can parse is moved to `x-sandgate-unparsed-pattern`: served
//!   unenforced and reported by the lint, rather than refusing the whole spec.

use serde_json::{Map, Value};

/// The prefix of component schema references in OpenAPI documents.
pub const COMPONENT_REF: &str = "#/components/schemas/";
/// The prefix the same references get after normalisation.
pub const DEFS_REF: &str = "#/$defs/";

/// Normalises one schema (recursively). Non-object input (e.g. `true`) is returned unchanged.
pub fn schema(input: &Value) -> Value {
    let Some(obj) = input.as_object() else {
        return input.clone();
    };
    let mut out = Map::with_capacity(obj.len());
    for (key, value) in obj {
        match key.as_str() {
            "$ref" => {
                let target = value.as_str().unwrap_or_default();
                let rewritten = match target.strip_prefix(COMPONENT_REF) {
                    Some(name) => format!("{DEFS_REF}{name}"),
                    None => target.to_owned(),
                };
                out.insert(key.clone(), Value::String(rewritten));
            }
            "properties" | "patternProperties" | "$defs" | "definitions" | "dependentSchemas" => {
                let map = value.as_object().map(|m| m.iter().map(|(k, v)| (k.clone(), schema(v))).collect());
                out.insert(key.clone(), map.map(Value::Object).unwrap_or_else(|| value.clone()));
            }
            "items"
            | "additionalProperties"
            | "not"
            | "propertyNames"
            | "contains"
            | "if"
            | "then"
            | "else"
            | "unevaluatedItems"
            | "unevaluatedProperties"
            | "contentSchema" => {
                out.insert(key.clone(), schema(value));
            }
            "allOf" | "anyOf" | "oneOf" | "prefixItems" => {
                let list = value.as_array().map(|a| a.iter().map(schema).collect());
                out.insert(key.clone(), list.map(Value::Array).unwrap_or_else(|| value.clone()));
            }
            "nullable" | "example" => {}
            // A pattern no engine here can read (`[\p{all}]*`, a Java-ism in AWS specs) would stop
            // the spec from being served: it is kept aside, unenforced, for the lint to report.
            "pattern" if value.as_str().is_some_and(|p| !parses(p)) => {
                out.insert(UNPARSED_PATTERN.to_owned(), value.clone());
            }
            _ => {
                out.insert(key.clone(), value.clone());
            }
        }
    }
    if obj.get("nullable").and_then(Value::as_bool) == Some(true) {
        make_nullable(&mut out);
    }
    for (flag, bound) in [("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")] {
        if let Some(Value::Bool(exclusive)) = out.get(flag).cloned() {
            out.remove(flag);
            if exclusive {
                if let Some(limit) = out.remove(bound) {
                    out.insert(flag.to_owned(), limit);
                }
            }
        }
    }
    Value::Object(out)
}

/// Where a `pattern` no engine can parse is kept (validators ignore unknown keywords).
pub const UNPARSED_PATTERN: &str = "x-sandgate-unparsed-pattern";

/// Whether a pattern is a regular expression the generator or the validators can read: the
/// regex crate's syntax (parsed, not compiled: cheap on large specs), else fancy-regex's
/// (look-around, back-references).
fn parses(pattern: &str) -> bool {
    regex_syntax::Parser::new().parse(pattern).is_ok() || fancy_regex::Regex::new(pattern).is_ok()
}

fn make_nullable(out: &mut Map<String, Value>) {
    match out.get_mut("type") {
        Some(Value::String(t)) => {
            let t = std::mem::take(t);
            out.insert("type".into(), Value::Array(vec![Value::String(t), Value::String("null".into())]));
        }
        Some(Value::Array(types)) if !types.iter().any(|t| t == "null") => types.push(Value::String("null".into())),
        _ => {}
    }
    if let Some(Value::Array(values)) = out.get_mut("enum") {
        if !values.contains(&Value::Null) {
            values.push(Value::Null);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_pattern_no_engine_reads_is_set_aside_and_a_readable_one_kept() {
        let out = schema(&json!({"type": "string", "pattern": "[\\p{all}]*"}));
        assert_eq!(out["type"], "string");
        assert_eq!(out[UNPARSED_PATTERN], "[\\p{all}]*");
        assert!(out.get("pattern").is_none(), "{out}");
        for readable in ["^[a-z]+$", "^(?!aws:).+$", "(a)\\1"] {
            assert_eq!(schema(&json!({"pattern": readable}))["pattern"], readable, "{readable}");
        }
    }

    #[test]
    fn schema_nullable_becomes_type_array() {
        let out = schema(&json!({"type": "string", "nullable": true, "enum": ["a"]}));
        assert_eq!(out, json!({"type": ["string", "null"], "enum": ["a", null]}));
    }

    #[test]
    fn schema_component_refs_point_into_defs() {
        let out = schema(&json!({"properties": {"a": {"$ref": "#/components/schemas/A"}}}));
        assert_eq!(out["properties"]["a"]["$ref"], "#/$defs/A");
    }

    #[test]
    fn refs_inside_conditionals_and_dependent_schemas_are_bundled_too() {
        let out = schema(&json!({
            "if": {"$ref": "#/components/schemas/A"},
            "then": {"$ref": "#/components/schemas/B"},
            "else": {"unevaluatedProperties": {"$ref": "#/components/schemas/C"}},
            "dependentSchemas": {"x": {"$ref": "#/components/schemas/D"}}
        }));
        assert_eq!(out["if"]["$ref"], "#/$defs/A");
        assert_eq!(out["then"]["$ref"], "#/$defs/B");
        assert_eq!(out["else"]["unevaluatedProperties"]["$ref"], "#/$defs/C");
        assert_eq!(out["dependentSchemas"]["x"]["$ref"], "#/$defs/D");
    }

    #[test]
    fn schema_boolean_exclusive_bounds_become_numeric() {
        let out = schema(
            &json!({"type": "number", "minimum": 1, "exclusiveMinimum": true, "maximum": 5, "exclusiveMaximum": false}),
        );
        assert_eq!(out, json!({"type": "number", "exclusiveMinimum": 1, "maximum": 5}));
    }
}
