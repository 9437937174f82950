//! Invalid requests: a valid draft broken in one way each (a required value missing, a wrong
//! type, out of range, an unknown enum value, a malformed or undocumented body). A mutation is
//! kept only when the emulator's validator agrees the result is invalid, so a server that accepts
//! it really accepts what its spec forbids.

use serde_json::{json, Value};

use sandgate_openapi::validate::Verdict;
use sandgate_openapi::{Api, Operation, ParamLocation};

use super::encode::{Body, Draft, Encoded};
use super::values::{location, types_of, OperationValues, Target};

/// One way to break a request.
#[derive(Debug, Clone)]
pub struct Mutation {
    /// What it breaks, for people: `missing required query parameter limit`.
    pub label: String,
    change: Change,
}

#[derive(Debug, Clone)]
enum Change {
    Remove(Target),
    Set(Target, Value),
    RawBody { content_type: String, text: String },
}

/// Every mutation of `op`'s requests, in a stable order.
pub fn mutations(op: &Operation, values: &OperationValues) -> Vec<Mutation> {
    let mut out = Vec::new();
    for (index, param) in op.parameters.iter().enumerate() {
        // Path parameters cannot go missing (the path would name another resource), and a pinned
        // parameter (`--set`) is what the server needs to answer at all.
        if values.is_pinned(op, index) {
            continue;
        }
        let what = format!("{} parameter {}", location(param.location), param.name);
        if param.required && param.location != ParamLocation::Path {
            out.push(Mutation {
                label: format!("missing required {what}"),
                change: Change::Remove(Target::Param(index)),
            });
        }
        if let Some(schema) = &param.schema {
            for (value, label) in wrong_values(values.resolve(schema)) {
                out.push(Mutation {
                    label: format!("{label} in {what}"),
                    change: Change::Set(Target::Param(index), value),
                });
            }
        }
    }
    let Some(body) = &op.request_body else { return out };
    if body.required {
        out.push(Mutation { label: "missing required body".to_owned(), change: Change::Remove(Target::Body) });
    }
    if let Some(schema) = values.body_schema(op).map(|s| values.resolve(s)) {
        for name in schema.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str) {
            let label = format!("missing required body property {name}");
            out.push(Mutation { label, change: Change::Remove(Target::BodyProperty(name.to_owned())) });
        }
        for (name, property) in schema.get("properties").and_then(Value::as_object).into_iter().flatten() {
            for (value, label) in wrong_values(values.resolve(property)) {
                let label = format!("{label} in body property {name}");
                out.push(Mutation { label, change: Change::Set(Target::BodyProperty(name.clone()), value) });
            }
        }
        for (value, label) in wrong_values(schema) {
            out.push(Mutation { label: format!("{label} as the body"), change: Change::Set(Target::Body, value) });
        }
    }
    let media = values.body_media().and_then(|m| body.content.get(m)).map(|m| m.media_type.as_str());
    if media.is_some_and(|m| m.contains("json")) {
        let label = "malformed JSON body".to_owned();
        let change =
            Change::RawBody { content_type: "application/json".to_owned(), text: "{\"truncated\": ".to_owned() };
        out.push(Mutation { label, change });
    }
    if !body.content.iter().any(|m| m.media_type.contains('*')) {
        let label = "a body in an undocumented media type (application/x-sandgate-unknown)".to_owned();
        let change =
            Change::RawBody { content_type: "application/x-sandgate-unknown".to_owned(), text: "sandgate".to_owned() };
        out.push(Mutation { label, change });
    }
    out
}

impl Mutation {
    /// `draft` broken this way, encoded, when the validator agrees it is invalid.
    pub fn apply(&self, api: &Api, op: &Operation, values: &OperationValues, draft: &Draft) -> Option<Encoded> {
        let mut draft = draft.clone();
        match &self.change {
            Change::Remove(Target::Param(index)) => draft.params.retain(|(i, _)| i != index),
            Change::Remove(Target::Body) => draft.body = None,
            Change::Remove(Target::BodyProperty(name)) => match &mut draft.body {
                Some(Body::Value { value: Value::Object(map), .. }) => {
                    map.remove(name)?;
                }
                _ => return None,
            },
            Change::Set(target, value) => draft = values.with(op, draft, target, value.clone()),
            Change::RawBody { content_type, text } => {
                draft.body = Some(Body::Raw { content_type: content_type.clone(), text: text.clone() })
            }
        }
        let encoded = super::encode::encode(api, op, &draft);
        match values.verdict(&encoded) {
            Verdict::Valid(_) => None,
            Verdict::Invalid(_) | Verdict::UnsupportedMediaType(_) => Some(encoded),
        }
    }
}

/// Values a schema refuses: of another type, beyond its bounds, outside its enum, too long.
fn wrong_values(schema: &Value) -> Vec<(Value, String)> {
    let mut out = Vec::new();
    let types = types_of(schema);
    if types.is_empty() {
        return out;
    }
    let admits = |t: &str| types.contains(&t) || (t == "integer" && types.contains(&"number"));
    if !admits("integer") && !admits("number") && !admits("string") {
        out.push((json!(12345), "a number where the schema wants a ".to_owned() + &types.join(" or ")));
    } else if !admits("string") {
        out.push((json!("not-a-number"), "a string where the schema wants a ".to_owned() + &types.join(" or ")));
    } else if !admits("object") && !admits("array") {
        out.push((
            json!({"sandgate": "object"}),
            "an object where the schema wants a ".to_owned() + &types.join(" or "),
        ));
    }
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        if values.iter().all(Value::is_string) {
            out.push((json!("sandgate-not-in-enum"), "a value outside the enum".to_owned()));
        }
    }
    let number = |key: &str| schema.get(key).and_then(Value::as_f64);
    let integer = types.contains(&"integer");
    let as_value = |n: f64| if integer { json!(n as i64) } else { json!(n) };
    if let Some(max) = number("maximum").filter(|m| m.abs() < 9e15) {
        out.push((as_value(max + 1.0), format!("{} (above the maximum {max})", max + 1.0)));
    }
    if let Some(min) = number("minimum").filter(|m| m.abs() < 9e15) {
        out.push((as_value(min - 1.0), format!("{} (below the minimum {min})", min - 1.0)));
    }
    let format = schema.get("format").and_then(Value::as_str);
    if let Some(format @ ("email" | "date" | "date-time" | "uuid" | "uri" | "ipv4" | "ipv6" | "hostname")) = format {
        out.push((json!(format!("not-a-{format}")), format!("a string that is not a {format}")));
    }
    if let Some(max) = schema.get("maxLength").and_then(Value::as_u64).filter(|m| *m < 4096) {
        out.push((
            json!("a".repeat(max as usize + 1)),
            format!("a string of {} characters (maxLength {max})", max + 1),
        ));
    }
    out
}
