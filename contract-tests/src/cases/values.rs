//! Valid requests for one operation: values fabricated by the emulator's generator from the
//! request side of each schema, plus boundaries (min/max, lengths, every enum value, empty and
//! full arrays, every `oneOf` branch). Each request is checked by the emulator's own validator
//! before it is sent, so a "valid" case is valid by the spec, not by hope.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value};

use sandgate_openapi::generate::{CompiledSet, Program};
use sandgate_openapi::validate::{RequestCheck, Verdict};
use sandgate_openapi::{shape, Api, OpenApiError, Operation, SchemaSet};

use super::encode::{encode, Body, Draft, Encoded};
use crate::error::ContractError;

/// Longest string a length boundary is tried with.
const MAX_BOUNDARY_LENGTH: u64 = 512;
/// Most items a "full array" boundary holds.
const MAX_BOUNDARY_ITEMS: u64 = 32;

/// Free text outside ASCII: accents, a symbol, CJK, an emoji (four bytes in UTF-8).
const UNICODE_TEXT: &str = "Zoë ✓ 東京 🚀";
/// The name of the property added where a schema admits undeclared ones.
const EXTRA_PROPERTY: &str = "x-contract-extra";

/// Generators and the validator of one operation.
pub struct OperationValues {
    /// `programs[i]`: the generator of `op.parameters[i]` (none without a schema).
    params: Vec<Option<Program>>,
    /// The generator of the body, with the index of its media type.
    body: Option<(usize, Option<Program>)>,
    /// The request-side component schemas (readOnly properties removed, writeOnly kept).
    schemas: Arc<SchemaSet>,
    set: Arc<CompiledSet>,
    /// The emulator's validator of the operation's requests.
    pub check: RequestCheck,
    /// Fixed values by parameter name (`--set`), sent whatever is generated.
    fixed: Vec<(String, Value)>,
}

/// A value that sits on a boundary of its schema.
#[derive(Debug, Clone)]
pub struct Boundary {
    /// Which value: a parameter, a body property, or the whole body.
    pub target: Target,
    /// The value.
    pub value: Value,
    /// For people: `minimum of query parameter limit`.
    pub label: String,
}

/// Where a boundary or a mutation applies.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// `op.parameters[i]`.
    Param(usize),
    /// A top-level property of the body.
    BodyProperty(String),
    /// The body.
    Body,
}

/// Compiles the request side of each API's component schemas once.
#[derive(Default)]
pub struct RequestSchemas {
    compiled: HashMap<usize, (Arc<SchemaSet>, Arc<CompiledSet>)>,
}

impl RequestSchemas {
    fn get(&mut self, schemas: &Arc<SchemaSet>) -> Result<(Arc<SchemaSet>, Arc<CompiledSet>), OpenApiError> {
        let key = Arc::as_ptr(schemas) as usize;
        if let Some(found) = self.compiled.get(&key) {
            return Ok(found.clone());
        }
        let defs = schemas.defs.iter().map(|(name, schema)| (name.clone(), request_side(schema))).collect();
        let request = Arc::new(SchemaSet::new(defs));
        let set = CompiledSet::compile(&request)?;
        self.compiled.insert(key, (Arc::clone(&request), Arc::clone(&set)));
        Ok((request, set))
    }
}

impl OperationValues {
    /// Compiles the generators and validator of `op`; `fixed` pins parameters by name.
    /// `Err` names the operation and the schema that cannot be compiled.
    pub fn compile(
        op: &Operation,
        schemas: &mut RequestSchemas,
        fixed: &[(String, Value)],
    ) -> Result<OperationValues, ContractError> {
        OperationValues::compile_schemas(op, schemas, fixed)
            .map_err(|why| ContractError::Unplannable { operation: op.pointer.clone(), why })
    }

    fn compile_schemas(
        op: &Operation,
        schemas: &mut RequestSchemas,
        fixed: &[(String, Value)],
    ) -> Result<OperationValues, OpenApiError> {
        let (request_schemas, set) = schemas.get(&op.schemas)?;
        let program = |schema: &Value| Program::compile(&request_side(schema), &request_schemas, &set);
        let mut params = Vec::with_capacity(op.parameters.len());
        for param in &op.parameters {
            params.push(param.schema.as_ref().map(program).transpose()?);
        }
        let body = match &op.request_body {
            Some(body) => {
                // JSON first: it is what clients send most and what the validator reads in full.
                let media = body
                    .content
                    .iter()
                    .position(|m| m.media_type.contains("json"))
                    .or_else(|| (!body.content.is_empty()).then_some(0));
                match media {
                    Some(index) => Some((index, body.content[index].schema.as_ref().map(program).transpose()?)),
                    None => None,
                }
            }
            None => None,
        };
        let check = RequestCheck::compile(op)?;
        Ok(OperationValues { params, body, schemas: request_schemas, set, check, fixed: fixed.to_vec() })
    }

    /// A valid draft from `seed`: required parameters always, optional ones when `all` or as the
    /// seed picks, the body when required or as the seed picks.
    pub fn draft(&self, op: &Operation, seed: u64, all: bool) -> Draft {
        let mut draft = Draft::default();
        for (index, (param, program)) in op.parameters.iter().zip(&self.params).enumerate() {
            let include = param.required || all || (seed >> (index % 48)) & 1 == 1;
            if let (true, Some(program)) = (include, program) {
                draft.params.push((index, program.generate(seed ^ index as u64)));
            } else if param.required {
                draft.params.push((index, Value::String("x".to_owned())));
            }
        }
        if let Some((media, program)) = &self.body {
            let required = op.request_body.as_ref().is_some_and(|b| b.required);
            if required || all || seed & 1 == 0 {
                let value = program.as_ref().map_or(Value::Object(Map::new()), |p| p.generate(seed));
                draft.body = Some(Body::Value { media: *media, value });
            }
        }
        self.pin(op, &mut draft);
        draft
    }

    /// The requests the spec's own examples make: the parameters' `example`s with the body's
    /// `example`, then each of the body's named `examples`. Parameters without one are generated.
    pub fn spec_examples(&self, op: &Operation, seed: u64) -> Vec<(String, Draft)> {
        let mut base = self.draft(op, seed, false);
        let mut any = false;
        for (index, param) in op.parameters.iter().enumerate() {
            if let Some(example) = &param.example {
                base.params.retain(|(i, _)| *i != index);
                base.params.push((index, example.clone()));
                any = true;
            }
        }
        let media = self.body.as_ref().and_then(|(index, _)| {
            let media = op.request_body.as_ref()?.content.get(*index)?;
            Some((*index, media))
        });
        let mut out = Vec::new();
        if let Some((index, example)) = media.and_then(|(i, m)| m.example.as_ref().map(|e| (i, e))) {
            base.body = Some(Body::Value { media: index, value: example.clone() });
            any = true;
        }
        self.pin(op, &mut base);
        for (index, (name, value)) in media.into_iter().flat_map(|(i, m)| m.examples.iter().map(move |e| (i, e))) {
            let mut draft = base.clone();
            draft.body = Some(Body::Value { media: index, value: value.clone() });
            out.push((format!("valid: spec example {name}"), draft));
        }
        if any {
            out.insert(0, ("valid: the spec's examples".to_owned(), base));
        }
        out
    }

    /// Puts the `--set` values in, whatever was generated.
    pub fn pin(&self, op: &Operation, draft: &mut Draft) {
        for (name, value) in &self.fixed {
            for (index, param) in op.parameters.iter().enumerate() {
                if pins(param, name) {
                    draft.params.retain(|(i, _)| *i != index);
                    draft.params.push((index, value.clone()));
                }
            }
        }
    }

    /// Whether a parameter's value is pinned by `--set`.
    pub fn is_pinned(&self, op: &Operation, index: usize) -> bool {
        op.parameters.get(index).is_some_and(|p| self.fixed.iter().any(|(name, _)| pins(p, name)))
    }

    /// What the emulator's validator says of an encoded request.
    pub fn verdict(&self, encoded: &Encoded) -> Verdict {
        let path_params: Vec<(&str, &str)> =
            encoded.path_params.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        let mut headers = http::HeaderMap::new();
        for (name, value) in &encoded.request.headers {
            if let (Ok(name), Ok(value)) =
                (http::HeaderName::from_bytes(name.as_bytes()), http::HeaderValue::from_str(value))
            {
                headers.append(name, value);
            }
        }
        let query = (!encoded.request.query.is_empty()).then_some(encoded.request.query.as_str());
        let body = encoded.request.body.as_deref().unwrap_or_default().as_bytes();
        self.check.check(&path_params, query, &headers, body)
    }

    /// Encodes `draft` when the validator finds it valid.
    pub fn valid(&self, api: &Api, op: &Operation, draft: &Draft) -> Option<Encoded> {
        let encoded = encode(api, op, draft);
        matches!(self.verdict(&encoded), Verdict::Valid(_)).then_some(encoded)
    }

    /// Every boundary value of the parameters, the body and the body's top-level properties, one
    /// of each value in turn (a budget then cuts the rarer values of many, not all of the last).
    pub fn boundaries(&self, op: &Operation, seed: u64) -> Vec<Boundary> {
        let mut groups: Vec<Vec<Boundary>> = Vec::new();
        let mut group = |target: Target, schema: &Value, what: &str| {
            let found = self.values_on_edges(schema, seed).into_iter();
            let label = |label: String| format!("{label} of {what}");
            groups.push(found.map(|(value, l)| Boundary { target: target.clone(), value, label: label(l) }).collect());
        };
        for (index, param) in op.parameters.iter().enumerate() {
            if self.is_pinned(op, index) {
                continue;
            }
            if let Some(schema) = &param.schema {
                group(Target::Param(index), schema, &format!("{} parameter {}", location(param.location), param.name));
            }
        }
        if let Some(schema) = self.body_schema(op).map(|s| self.resolve(s)) {
            group(Target::Body, schema, "the body");
            for (name, property) in schema.get("properties").and_then(Value::as_object).into_iter().flatten() {
                group(Target::BodyProperty(name.clone()), property, &format!("body property {name}"));
            }
        }
        let longest = groups.iter().map(Vec::len).max().unwrap_or(0);
        let mut columns: Vec<std::vec::IntoIter<Boundary>> = groups.into_iter().map(Vec::into_iter).collect();
        (0..longest).flat_map(|_| columns.iter_mut().filter_map(Iterator::next).collect::<Vec<_>>()).collect()
    }

    /// The request-side schema of the body that is generated.
    pub fn body_schema<'a>(&self, op: &'a Operation) -> Option<&'a Value> {
        let (media, _) = self.body.as_ref()?;
        op.request_body.as_ref()?.content.get(*media)?.schema.as_ref()
    }

    /// The index of the body's media type.
    pub fn body_media(&self) -> Option<usize> {
        self.body.as_ref().map(|(media, _)| *media)
    }

    /// Follows `$ref`s into the component schemas.
    pub fn resolve<'a>(&'a self, schema: &'a Value) -> &'a Value {
        shape::deref(schema, &self.schemas.defs).unwrap_or(schema)
    }

    fn values_on_edges(&self, schema: &Value, seed: u64) -> Vec<(Value, String)> {
        let schema = self.resolve(schema);
        let mut out = Vec::new();
        let number = |key: &str| schema.get(key).and_then(Value::as_f64);
        let count = |key: &str| schema.get(key).and_then(Value::as_u64);
        if let Some(values) = schema.get("enum").and_then(Value::as_array) {
            out.extend(values.iter().map(|v| (v.clone(), format!("enum value {v}"))));
            return out;
        }
        for key in ["oneOf", "anyOf"] {
            for (index, branch) in schema.get(key).and_then(Value::as_array).into_iter().flatten().enumerate() {
                let program = Program::compile(&request_side(branch), &self.schemas, &self.set);
                if let Ok(program) = program {
                    out.push((program.generate(seed), format!("{key} branch {index}")));
                }
            }
        }
        let types = types_of(schema);
        if types.iter().any(|t| *t == "integer" || *t == "number") {
            let integer = types.contains(&"integer");
            let as_value = |n: f64| {
                if integer {
                    Value::from(n as i64)
                } else {
                    serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number)
                }
            };
            if let Some(min) = number("minimum") {
                out.push((as_value(min), "minimum".to_owned()));
            }
            if let Some(max) = number("maximum") {
                out.push((as_value(max), "maximum".to_owned()));
            }
            if let (true, Some(min)) = (integer, number("exclusiveMinimum")) {
                out.push((as_value(min + 1.0), "exclusive minimum".to_owned()));
            }
            if let (true, Some(max)) = (integer, number("exclusiveMaximum")) {
                out.push((as_value(max - 1.0), "exclusive maximum".to_owned()));
            }
        }
        let free_text = schema.get("pattern").is_none() && schema.get("format").is_none();
        if types.contains(&"string") && free_text {
            for (key, label) in [("minLength", "shortest"), ("maxLength", "longest")] {
                if let Some(length) = count(key).filter(|l| *l <= MAX_BOUNDARY_LENGTH) {
                    out.push((Value::String("a".repeat(length as usize)), format!("{label} string")));
                }
            }
            // What Schemathesis tries first in free text: nothing at all, and letters outside
            // ASCII (a draft the validator finds invalid, say past `maxLength`, is dropped).
            if count("minLength").unwrap_or(0) == 0 {
                out.push((Value::String(String::new()), "empty string".to_owned()));
            }
            out.push((Value::String(UNICODE_TEXT.to_owned()), "unicode string".to_owned()));
        }
        if types.contains(&"null") {
            out.push((Value::Null, "null".to_owned()));
        }
        if types.contains(&"object") && admits_more_properties(schema) {
            if let Ok(program) = Program::compile(&request_side(schema), &self.schemas, &self.set) {
                if let Value::Object(mut map) = program.generate(seed) {
                    // A map's values follow its `additionalProperties` schema.
                    let extra = schema
                        .get("additionalProperties")
                        .filter(|s| s.is_object())
                        .and_then(|s| Program::compile(&request_side(s), &self.schemas, &self.set).ok())
                        .map_or_else(|| Value::String(UNICODE_TEXT.to_owned()), |p| p.generate(seed ^ 1));
                    map.insert(EXTRA_PROPERTY.to_owned(), extra);
                    out.push((Value::Object(map), "an undeclared property".to_owned()));
                }
            }
        }
        if types.contains(&"boolean") {
            out.push((Value::Bool(true), "true".to_owned()));
            out.push((Value::Bool(false), "false".to_owned()));
        }
        if types.contains(&"array") && schema.get("prefixItems").is_none() {
            let min = count("minItems").unwrap_or(0);
            if min == 0 {
                out.push((Value::Array(Vec::new()), "empty array".to_owned()));
            }
            let unique = schema.get("uniqueItems").and_then(Value::as_bool).unwrap_or(false);
            let items = schema.get("items").filter(|items| items.is_object());
            let full = count("maxItems").filter(|max| *max <= MAX_BOUNDARY_ITEMS && *max > 0);
            if let (Some(max), Some(items), false) = (full, items, unique) {
                if let Ok(program) = Program::compile(&request_side(items), &self.schemas, &self.set) {
                    let values = (0..max).map(|i| program.generate(seed.wrapping_add(i))).collect();
                    out.push((Value::Array(values), "full array".to_owned()));
                }
            }
        }
        out
    }

    /// A draft with one boundary value applied over a fabricated one.
    pub fn with(&self, op: &Operation, mut draft: Draft, target: &Target, value: Value) -> Draft {
        match target {
            Target::Param(index) => {
                draft.params.retain(|(i, _)| i != index);
                draft.params.push((*index, value));
            }
            Target::Body => {
                if let Some(media) = self.body_media() {
                    draft.body = Some(Body::Value { media, value });
                }
            }
            Target::BodyProperty(name) => match &mut draft.body {
                Some(Body::Value { value: Value::Object(map), .. }) => {
                    map.insert(name.clone(), value);
                }
                _ => {
                    if let Some(media) = self.body_media() {
                        let mut map = Map::new();
                        map.insert(name.clone(), value);
                        draft.body = Some(Body::Value { media, value: Value::Object(map) });
                    }
                }
            },
        }
        self.pin(op, &mut draft);
        draft
    }
}

/// Whether an object schema admits properties it does not declare (JSON Schema's default; the
/// validator still judges the result, so `patternProperties` or `propertyNames` are safe).
fn admits_more_properties(schema: &Value) -> bool {
    let closed = |key: &str| schema.get(key).is_some_and(|v| v == &Value::Bool(false));
    !closed("additionalProperties") && !closed("unevaluatedProperties")
}

/// Whether `--set name=…` names `param` (header names are case-insensitive).
fn pins(param: &sandgate_openapi::Parameter, name: &str) -> bool {
    match param.location {
        sandgate_openapi::ParamLocation::Header => param.name.eq_ignore_ascii_case(name),
        _ => param.name == name,
    }
}

/// The JSON types a schema admits (`type` as a string or a list).
pub fn types_of(schema: &Value) -> Vec<&str> {
    match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// `path`, `query`, `header` or `cookie`.
pub fn location(location: sandgate_openapi::ParamLocation) -> &'static str {
    use sandgate_openapi::ParamLocation::*;
    match location {
        Path => "path",
        Query => "query",
        Header => "header",
        Cookie => "cookie",
    }
}

/// The request side of a schema: `readOnly` properties are left out (servers set them) and
/// `writeOnly` ones are kept (the generator drops those, as a response never carries them).
pub fn request_side(schema: &Value) -> Value {
    match schema {
        Value::Object(map) => {
            let mut out = Map::with_capacity(map.len());
            let read_only: Vec<String> = map
                .get("properties")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .filter(|(_, p)| p.get("readOnly").and_then(Value::as_bool) == Some(true))
                .map(|(name, _)| name.clone())
                .collect();
            for (key, value) in map {
                match (key.as_str(), value) {
                    ("writeOnly", _) => {}
                    ("properties", Value::Object(properties)) => {
                        let kept = properties
                            .iter()
                            .filter(|(name, _)| !read_only.contains(name))
                            .map(|(name, p)| (name.clone(), request_side(p)))
                            .collect();
                        out.insert(key.clone(), Value::Object(kept));
                    }
                    ("required", Value::Array(names)) => {
                        let kept = names.iter().filter(|n| !read_only.iter().any(|r| *n == r)).cloned().collect();
                        out.insert(key.clone(), Value::Array(kept));
                    }
                    // `enum`, `const`, `default` and examples are data, not schemas.
                    ("enum" | "const" | "default" | "examples" | "example", _) => {
                        out.insert(key.clone(), value.clone());
                    }
                    _ => {
                        out.insert(key.clone(), request_side(value));
                    }
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(request_side).collect()),
        other => other.clone(),
    }
}
