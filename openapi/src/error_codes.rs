//! The error codes an operation documents: the values of a required string property with an
//! `enum` in an object body of one of its error answers (a `{code, error, error_description}`
//! body whose `error` lists `not_enough_credit`, `credit_exceeded`, …). A sandbox client asks for
//! each by name (`Prefer: example=<code>`), and the docs list them.

use serde_json::Value;

use crate::shape::deref;
use crate::{Operation, StatusKey};

/// One documented error code.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorCode<'a> {
    /// The status it is answered with.
    pub status: u16,
    /// The property that carries the code (`error`).
    pub field: &'a str,
    /// The code (`not_enough_credit`).
    pub code: &'a str,
    /// The object schema of the body that carries it (one member of a `oneOf`).
    pub body: &'a Value,
}

/// How deep `oneOf`/`anyOf` members are followed.
const MAX_DEPTH: usize = 8;

/// Every error code `op` documents, each once (the first answer that documents it), in the order
/// of its answers.
pub fn documented(op: &Operation) -> Vec<ErrorCode<'_>> {
    let defs = &op.schemas.defs;
    let mut out: Vec<ErrorCode<'_>> = Vec::new();
    for response in &op.responses {
        let status = match response.status {
            StatusKey::Code(code) if code >= 400 => code,
            StatusKey::Range(class) if class >= 4 => class * 100,
            _ => continue,
        };
        let Some(schema) = response.json().and_then(|media| media.schema.as_ref()) else { continue };
        let mut bodies = Vec::new();
        object_members(schema, defs, 0, &mut bodies);
        for body in bodies {
            let required = body.get("required").and_then(Value::as_array).into_iter().flatten();
            for field in required.filter_map(Value::as_str) {
                let Some(property) = body.get("properties").and_then(|p| p.get(field)).and_then(|p| deref(p, defs))
                else {
                    continue;
                };
                let strings = property.get("enum").and_then(Value::as_array).into_iter().flatten();
                for code in strings.filter_map(Value::as_str) {
                    if !out.iter().any(|known| known.code == code) {
                        out.push(ErrorCode { status, field, code, body });
                    }
                }
            }
        }
    }
    out
}

/// The object schemas `schema` may be: itself, or the members of its `oneOf`/`anyOf`.
fn object_members<'a>(
    schema: &'a Value,
    defs: &'a serde_json::Map<String, Value>,
    depth: usize,
    out: &mut Vec<&'a Value>,
) {
    let Some(schema) = deref(schema, defs) else { return };
    if schema.get("properties").is_some() {
        out.push(schema);
    }
    if depth < MAX_DEPTH {
        for key in ["oneOf", "anyOf"] {
            for member in schema.get(key).and_then(Value::as_array).into_iter().flatten() {
                object_members(member, defs, depth + 1, out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_come_from_required_enum_properties_of_error_bodies() {
        let doc = serde_json::json!({
            "openapi": "3.0.3", "info": {"title": "t", "version": "1"},
            "paths": {"/pay": {"post": {"operationId": "pay", "responses": {
                "200": {"description": "ok", "content": {"application/json": {"schema": {
                    "type": "object", "required": ["state"], "properties": {"state": {"type": "string", "enum": ["done"]}}}}}},
                "409": {"description": "refused", "content": {"application/json": {"schema": {"oneOf": [
                    {"$ref": "#/components/schemas/Wrong"},
                    {"type": "object", "required": ["error", "detail"], "properties": {
                        "error": {"type": "string", "enum": ["no_credit", "closed"]}, "detail": {"type": "string"},
                        "lang": {"type": "string", "enum": ["en", "fr"]}}}]}}}}}}}},
            "components": {"schemas": {"Wrong": {"type": "object", "required": ["error"],
                "properties": {"error": {"type": "string", "enum": ["wrong_inputs"]}}}}}
        });
        let apis = crate::model::build_api(std::path::Path::new("t.yaml"), &doc).expect("builds");
        let codes: Vec<(u16, &str, &str)> =
            documented(&apis.operations[0]).iter().map(|c| (c.status, c.field, c.code)).collect();
        assert_eq!(
            codes,
            [(409, "error", "wrong_inputs"), (409, "error", "no_credit"), (409, "error", "closed")],
            "success answers and optional enums (lang) are not error codes"
        );
    }
}
