//! Request validation: checks one request against its operation (parameters by location and
//! style, the body by media type) and reports every violation, naming the parameter or the JSON
//! pointer. The checked request comes back parsed, for the state and scenario stages.
//!
//! Each operation compiles to a [`RequestCheck`] on first use (so a spec of thousands of
//! operations starts at once): one `jsonschema` validator for all parameters together and one per
//! body media type, over a request view of the schemas (see [`request_view`]).

pub mod body;
pub mod params;
pub mod security;

use std::borrow::Cow;
use std::sync::Arc;

use http::HeaderMap;
use jsonschema::error::ValidationErrorKind;
use jsonschema::{Draft, Validator};
use serde_json::{json, Map, Value};

use crate::error::pointer_segment;
use crate::error::OpenApiError;
use crate::shape::Shape;
use crate::{Operation, ParamLocation, SchemaSet};
use body::Reading;
use params::ParamReader;

/// Where a violation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum In {
    /// A path parameter.
    Path,
    /// A query parameter.
    Query,
    /// A header.
    Header,
    /// A cookie.
    Cookie,
    /// The body.
    Body,
}

impl In {
    /// `path`, `query`, `header`, `cookie` or `body`.
    pub fn as_str(self) -> &'static str {
        match self {
            In::Path => "path",
            In::Query => "query",
            In::Header => "header",
            In::Cookie => "cookie",
            In::Body => "body",
        }
    }

    fn of(location: ParamLocation) -> In {
        match location {
            ParamLocation::Path => In::Path,
            ParamLocation::Query => In::Query,
            ParamLocation::Header => In::Header,
            ParamLocation::Cookie => In::Cookie,
        }
    }
}

/// One way a request fails its operation.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    /// Where.
    pub location: In,
    /// The parameter's name (with a pointer inside it for objects: `filter/min`), or, in the body,
    /// the JSON pointer (`/customer/name`; `""` for the body itself).
    pub name: String,
    /// What is wrong, without the value (`value is not of type "integer"`).
    pub message: String,
    /// The value sent, when there was one.
    pub value: Option<Value>,
}

/// A request that passed: its parameters and body as JSON.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParsedRequest {
    /// Path parameters.
    pub path: Map<String, Value>,
    /// Query parameters.
    pub query: Map<String, Value>,
    /// Header parameters (lower-case names).
    pub header: Map<String, Value>,
    /// Cookie parameters.
    pub cookie: Map<String, Value>,
    /// The body, when one was sent in a readable media type.
    pub body: Option<Value>,
}

impl ParsedRequest {
    /// The parameters read at `location` (`Sent::read` reads none in the body).
    fn group_mut(&mut self, location: In) -> &mut Map<String, Value> {
        match location {
            In::Path => &mut self.path,
            In::Query => &mut self.query,
            In::Header => &mut self.header,
            In::Cookie | In::Body => &mut self.cookie,
        }
    }

    /// A value of the request by dotted name, as templates and scenarios name them:
    /// `body.amount`, `body.financing_option.term`, `path.client_id`, `query.limit`,
    /// `header.x-request-id`, `cookie.session`; `body` is the whole body.
    pub fn lookup(&self, name: &str) -> Option<&Value> {
        let (part, rest) = name.split_once('.').unwrap_or((name, ""));
        let mut segments = rest.split('.').filter(|s| !s.is_empty());
        let mut value = match part {
            "body" => self.body.as_ref()?,
            "path" => self.path.get(segments.next()?)?,
            "query" => self.query.get(segments.next()?)?,
            "header" => self.header.get(segments.next()?)?,
            "cookie" => self.cookie.get(segments.next()?)?,
            _ => return None,
        };
        for segment in segments {
            value = match value {
                Value::Object(map) => map.get(segment)?,
                Value::Array(items) => items.get(segment.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(value)
    }
}

/// The verdict on one request.
#[derive(Debug)]
pub enum Verdict {
    /// Valid.
    Valid(ParsedRequest),
    /// Invalid, every violation listed.
    Invalid(Vec<Violation>),
    /// The body's `Content-Type` is not one the operation takes; the documented ones are listed.
    UnsupportedMediaType(Vec<String>),
}

/// Reports at most this many violations (a body of 10 000 bad items gets a bounded answer).
pub const MAX_VIOLATIONS: usize = 50;

/// Headers OpenAPI says a parameter cannot describe: they are ignored even when documented.
const IGNORED_HEADERS: [&str; 3] = ["accept", "content-type", "authorization"];

/// The compiled checks of one operation.
pub struct RequestCheck {
    params: Vec<(In, ParamReader)>,
    /// One validator per parameter, in `params`' order: each value is checked as it is read,
    /// without building one JSON instance of all the parameters first (issue 16: the gateway
    /// checks every proxied request, the emulator every TRAINING request).
    each_param: Vec<ParamValidator>,
    body: Option<BodyCheck>,
}

/// One parameter's own check.
struct ParamValidator {
    required: bool,
    /// Shared by every parameter of the document with the same schema (`shared_validator`).
    validator: Option<Arc<Validator>>,
}

impl std::fmt::Debug for RequestCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestCheck").field("params", &self.params.len()).finish_non_exhaustive()
    }
}

struct BodyCheck {
    required: bool,
    media: Vec<MediaCheck>,
}

struct MediaCheck {
    media_type: String,
    shape: Shape,
    validator: Option<Arc<Validator>>,
    /// Form bodies only: the schema, for fields nested with brackets (`address[city]`).
    form_schema: Option<(Value, Arc<SchemaSet>)>,
}

impl RequestCheck {
    /// Compiles the checks of `op`. Fails (naming the JSON pointer) on a schema the validator
    /// cannot compile, e.g. a `pattern` that is not a regular expression.
    pub fn compile(op: &Operation) -> Result<RequestCheck, OpenApiError> {
        RequestCheck::compile_parts(op, true)
    }

    /// Compiles only the parameter checks of `op` (see [`RequestCheck::check_params`]).
    pub fn compile_params(op: &Operation) -> Result<RequestCheck, OpenApiError> {
        RequestCheck::compile_parts(op, false)
    }

    fn compile_parts(op: &Operation, with_body: bool) -> Result<RequestCheck, OpenApiError> {
        // Each validator (`shared_validator`) gets only the components its own schema reaches, in
        // their request view; a reader needs only the outline, which that view never changes.
        let mut params = Vec::new();
        let mut each_param = Vec::new();
        for param in &op.parameters {
            let location = In::of(param.location);
            if location == In::Header && IGNORED_HEADERS.contains(&param.name.as_str()) {
                continue;
            }
            params.push((location, ParamReader::new(param, &op.schemas.defs)));
            // Shared with every parameter of the document that has the same schema.
            let validator = match &param.schema {
                Some(schema) => Some(shared_validator(&op.schemas, schema).map_err(|problem| {
                    OpenApiError::Validate { pointer: format!("{}/parameters", op.pointer), problem }
                })?),
                None => None,
            };
            each_param.push(ParamValidator { required: param.required, validator });
        }
        let body = match op.request_body.as_ref().filter(|_| with_body) {
            None => None,
            Some(request_body) => {
                let mut media = Vec::with_capacity(request_body.content.len());
                for (index, documented) in request_body.content.iter().enumerate() {
                    // The request view changes what is required, never a value's shape.
                    let shape = documented
                        .schema
                        .as_ref()
                        .map_or(Shape::Scalar(Default::default()), |s| Shape::of(s, &op.schemas.defs));
                    let validator = match &documented.schema {
                        Some(schema) => {
                            Some(shared_validator(&op.schemas, schema).map_err(|problem| OpenApiError::Validate {
                                pointer: format!("{}/content/{index}/schema", request_body.pointer),
                                problem,
                            })?)
                        }
                        None => None,
                    };
                    let is_form = body::essence(&documented.media_type) == "application/x-www-form-urlencoded";
                    let form_schema = documented
                        .schema
                        .as_ref()
                        .filter(|_| is_form)
                        .map(|schema| (schema.clone(), Arc::clone(&op.schemas)));
                    media.push(MediaCheck { media_type: documented.media_type.clone(), shape, validator, form_schema });
                }
                Some(BodyCheck { required: request_body.required, media })
            }
        };
        Ok(RequestCheck { params, each_param, body })
    }

    /// Checks only the parameters (path, query, header, cookie) of a request, never its body:
    /// what the gateway enforces in front of a real backend. Returns every violation found.
    pub fn check_params(
        &self,
        path_params: &[(&str, &str)],
        query: Option<&str>,
        headers: &HeaderMap,
    ) -> Result<(), Vec<Violation>> {
        let mut violations = self.read_each_param(path_params, query, headers, |_, _, _| {});
        if violations.is_empty() {
            return Ok(());
        }
        violations.sort_by(|a, b| (a.location as u8, &a.name).cmp(&(b.location as u8, &b.name)));
        Err(violations)
    }

    /// Reads each parameter and checks it against its own validator; `keep` gets every value
    /// read, valid or not.
    fn read_each_param(
        &self,
        path_params: &[(&str, &str)],
        query: Option<&str>,
        headers: &HeaderMap,
        mut keep: impl FnMut(In, &str, Value),
    ) -> Vec<Violation> {
        let sent = Sent::of(path_params, query, headers);
        let mut violations = Vec::new();
        for ((location, reader), check) in self.params.iter().zip(&self.each_param) {
            let violation =
                |message: String, value| Violation { location: *location, name: reader.name.clone(), message, value };
            match sent.read(*location, reader) {
                None if check.required => violations.push(violation("is required".to_owned(), None)),
                None => {}
                Some(Err(message)) => violations.push(violation(format!("value {message}"), None)),
                Some(Ok(value)) => {
                    if let Some(validator) = check.validator.as_ref().filter(|v| !v.is_valid(&value)) {
                        let room = MAX_VIOLATIONS.saturating_sub(violations.len());
                        for error in validator.iter_errors(&value).take(room) {
                            // The parameter's name, then a pointer inside it (`filter/min`).
                            let name = format!("{}{}", reader.name, unescape(&pointer_of(&error)));
                            violations.push(Violation { name, ..violation(message_of(&error), value_of(&error)) });
                        }
                    }
                    keep(*location, &reader.name, value);
                }
            }
        }
        violations
    }

    fn read_params(
        &self,
        path_params: &[(&str, &str)],
        query: Option<&str>,
        headers: &HeaderMap,
    ) -> (ParsedRequest, Vec<Violation>) {
        let mut parsed = ParsedRequest::default();
        let violations = self.read_each_param(path_params, query, headers, |location, name, value| {
            parsed.group_mut(location).insert(name.to_owned(), value);
        });
        (parsed, violations)
    }

    /// Checks one request. `path_params` are the router's raw (percent-encoded) segments.
    pub fn check(
        &self,
        path_params: &[(&str, &str)],
        query: Option<&str>,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Verdict {
        let (mut parsed, mut violations) = self.read_params(path_params, query, headers);
        if let Some(check) = &self.body {
            match check.read(headers, body) {
                Ok((value, validator)) => {
                    if let (Some(value), Some(validator)) = (&value, validator) {
                        let room = MAX_VIOLATIONS.saturating_sub(violations.len());
                        for error in validator.iter_errors(value).take(room) {
                            violations.push(body_violation(&error));
                        }
                    }
                    parsed.body = value;
                }
                Err(BodyError::Violation(violation)) => violations.push(violation),
                Err(BodyError::Unsupported) => {
                    return Verdict::UnsupportedMediaType(check.media.iter().map(|m| m.media_type.clone()).collect())
                }
            }
        }
        if violations.is_empty() {
            return Verdict::Valid(parsed);
        }
        // Reported in request order (path, query, header, cookie, body), then by name, whatever
        // order the validator walked the schema in.
        violations.sort_by(|a, b| (a.location as u8, &a.name).cmp(&(b.location as u8, &b.name)));
        Verdict::Invalid(violations)
    }
}

/// What a request sent, for reading its parameters.
struct Sent<'a> {
    path_params: &'a [(&'a str, &'a str)],
    query_pairs: Vec<(Cow<'a, str>, Cow<'a, str>)>,
    cookie_pairs: Vec<(Cow<'a, str>, Cow<'a, str>)>,
    headers: &'a HeaderMap,
}

impl<'a> Sent<'a> {
    fn of(path_params: &'a [(&'a str, &'a str)], query: Option<&'a str>, headers: &'a HeaderMap) -> Sent<'a> {
        let query_pairs = query.map(|q| form_urlencoded::parse(q.as_bytes()).collect()).unwrap_or_default();
        let cookie_header = headers.get(http::header::COOKIE).and_then(|v| v.to_str().ok()).unwrap_or_default();
        Sent { path_params, query_pairs, cookie_pairs: params::cookie_pairs(cookie_header), headers }
    }

    /// The parameter `reader` reads at `location`, `None` when not sent.
    fn read(&self, location: In, reader: &ParamReader) -> Option<Result<Value, String>> {
        match location {
            In::Path => self.path_params.iter().find(|(n, _)| *n == reader.name).map(|(_, raw)| {
                let decoded = percent_encoding::percent_decode_str(raw).decode_utf8_lossy();
                reader.from_path(&decoded)
            }),
            In::Query => reader.from_pairs(&self.query_pairs),
            In::Cookie => reader.from_pairs(&self.cookie_pairs),
            In::Header => match self.headers.get(reader.name.as_str()).map(|v| v.to_str()) {
                Some(Ok(text)) => Some(reader.from_header(text)),
                Some(Err(_)) => Some(Err("is not visible ASCII".to_owned())),
                None => None,
            },
            In::Body => None,
        }
    }
}

enum BodyError {
    Violation(Violation),
    Unsupported,
}

impl BodyCheck {
    /// The body as JSON (`None` when absent or opaque) and the validator of its media type.
    fn read(&self, headers: &HeaderMap, body: &[u8]) -> Result<(Option<Value>, Option<&Validator>), BodyError> {
        let whole = |message: String| {
            BodyError::Violation(Violation { location: In::Body, name: String::new(), message, value: None })
        };
        if body.is_empty() {
            return match self.required {
                true => Err(whole("a request body is required".to_owned())),
                false => Ok((None, None)),
            };
        }
        let content_type = headers.get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
        let content_type = match (content_type, self.media.as_slice()) {
            (Some(content_type), _) => content_type,
            // One documented media type: a body without a label is read as that type.
            (None, [only]) => only.media_type.as_str(),
            (None, _) => return Err(BodyError::Unsupported),
        };
        let essence = body::essence(content_type);
        let media = self.media.iter().find(|m| body::admits(&m.media_type, &essence)).ok_or(BodyError::Unsupported)?;
        let schema = media.form_schema.as_ref().map(|(schema, set)| (schema, &set.defs));
        let value = body::read(Reading::of(&essence), content_type, body, &media.shape, schema).map_err(whole)?;
        Ok((value, media.validator.as_deref()))
    }
}

/// The validator of a request-side `schema` (a body's or a parameter's, in its request view),
/// compiled once per document: another operation taking the same body gets the same one.
fn shared_validator(schemas: &SchemaSet, schema: &Value) -> Result<Arc<Validator>, String> {
    let schema = request_view(schema);
    let key = schema.to_string();
    let cached = |key: &str| schemas.shared_validators.0.lock().ok().and_then(|map| map.get(key).map(Arc::clone));
    if let Some(validator) = cached(&key) {
        return Ok(validator);
    }
    // Compiled outside the lock: two first requests for the same body may both compile it; the
    // first stored is kept.
    let defs = request_view_defs(schemas.reachable(&[&schema]));
    let validator = Arc::new(build(schema, defs)?);
    match schemas.shared_validators.0.lock() {
        Ok(mut map) => Ok(Arc::clone(map.entry(key).or_insert(validator))),
        Err(_) => Ok(validator),
    }
}

fn build(mut schema: Value, defs: Map<String, Value>) -> Result<Validator, String> {
    if let Value::Object(root) = &mut schema {
        root.insert("$defs".into(), Value::Object(defs));
    }
    jsonschema::options()
        .with_draft(Draft::Draft202012)
        .should_validate_formats(true)
        .build(&schema)
        .map_err(|e| e.to_string())
}

fn body_violation(error: &jsonschema::ValidationError<'_>) -> Violation {
    Violation { location: In::Body, name: pointer_of(error), message: message_of(error), value: value_of(error) }
}

/// The pointer of the value at fault: for a missing or unexpected property, the property itself.
fn pointer_of(error: &jsonschema::ValidationError<'_>) -> String {
    let base = error.instance_path().as_str().to_owned();
    match error.kind() {
        ValidationErrorKind::Required { property } => {
            format!("{base}/{}", pointer_segment(property.as_str().unwrap_or_default()))
        }
        ValidationErrorKind::AdditionalProperties { unexpected } if unexpected.len() == 1 => {
            format!("{base}/{}", pointer_segment(&unexpected[0]))
        }
        _ => base,
    }
}

fn message_of(error: &jsonschema::ValidationError<'_>) -> String {
    match error.kind() {
        ValidationErrorKind::Required { .. } => "is required".to_owned(),
        ValidationErrorKind::AdditionalProperties { unexpected } if unexpected.len() == 1 => {
            "is not a documented property (additionalProperties is false)".to_owned()
        }
        _ => error.masked_with("value").to_string(),
    }
}

fn value_of(error: &jsonschema::ValidationError<'_>) -> Option<Value> {
    match error.kind() {
        ValidationErrorKind::Required { .. } => None,
        ValidationErrorKind::AdditionalProperties { unexpected } if unexpected.len() == 1 => {
            error.instance().get(&unexpected[0]).cloned()
        }
        _ => Some(error.instance().clone().into_owned()),
    }
}

fn unescape(segment: &str) -> String {
    segment.replace("~1", "/").replace("~0", "~")
}

/// The request side of a schema: `readOnly` properties are not required (OpenAPI: they are only
/// sent in responses), and `int32`/`int64` integers get the bounds their format implies.
pub fn request_view(schema: &Value) -> Value {
    let mut out = schema.clone();
    apply_request_view(&mut out);
    out
}

fn request_view_defs(mut defs: Map<String, Value>) -> Map<String, Value> {
    defs.values_mut().for_each(apply_request_view);
    defs
}

fn apply_request_view(schema: &mut Value) {
    let Value::Object(map) = schema else { return };
    let read_only: Vec<String> = map
        .get("properties")
        .and_then(Value::as_object)
        .map(|properties| {
            properties
                .iter()
                .filter(|(_, p)| p.get("readOnly").and_then(Value::as_bool) == Some(true))
                .map(|(name, _)| name.clone())
                .collect()
        })
        .unwrap_or_default();
    if let (false, Some(Value::Array(required))) = (read_only.is_empty(), map.get_mut("required")) {
        required.retain(|name| !read_only.iter().any(|r| name == r));
    }
    let bounds = match map.get("format").and_then(Value::as_str) {
        Some("int32") => Some((json!(i32::MIN), json!(i32::MAX))),
        Some("int64") => Some((json!(i64::MIN), json!(i64::MAX))),
        _ => None,
    };
    if let Some((low, high)) = bounds {
        if !map.contains_key("minimum") && !map.contains_key("exclusiveMinimum") {
            map.insert("minimum".into(), low);
        }
        if !map.contains_key("maximum") && !map.contains_key("exclusiveMaximum") {
            map.insert("maximum".into(), high);
        }
    }
    for (key, value) in map.iter_mut() {
        match key.as_str() {
            "properties" | "patternProperties" | "$defs" | "dependentSchemas" => {
                if let Value::Object(children) = value {
                    children.values_mut().for_each(apply_request_view);
                }
            }
            "allOf" | "anyOf" | "oneOf" | "prefixItems" => {
                if let Value::Array(children) = value {
                    children.iter_mut().for_each(apply_request_view);
                }
            }
            "items"
            | "additionalProperties"
            | "not"
            | "if"
            | "then"
            | "else"
            | "contains"
            | "propertyNames"
            | "unevaluatedItems"
            | "unevaluatedProperties" => apply_request_view(value),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body_validator_of(check: &RequestCheck) -> Arc<Validator> {
        let body = check.body.as_ref().expect("a body check");
        Arc::clone(body.media[0].validator.as_ref().expect("a validator"))
    }

    #[test]
    fn operations_taking_the_same_body_share_its_validator() {
        let body = |schema: Value| {
            json!({"requestBody": {"required": true, "content": {"application/json": {"schema": schema}}},
                "responses": {"204": {"description": "done"}}})
        };
        let pet = json!({"$ref": "#/components/schemas/Pet"});
        let doc = json!({"openapi": "3.0.3", "info": {"title": "t", "version": "1"},
            "paths": {
                "/pets": {"post": body(pet.clone())},
                "/shelters/{id}/pets": {"post": body(pet), "put": body(json!({"type": "array"}))}},
            "components": {"schemas": {"Pet": {"type": "object", "required": ["name"],
                "properties": {"name": {"type": "string"}}}}}});
        let api = crate::model::build_api(std::path::Path::new("pets.yaml"), &doc).expect("model");
        let check = |method: &str, path: &str| {
            let op =
                api.operations.iter().find(|op| op.method.as_str() == method && op.path == path).expect("operation");
            RequestCheck::compile(op).expect("compiles")
        };
        let (create, adopt, replace) =
            (check("POST", "/pets"), check("POST", "/shelters/{id}/pets"), check("PUT", "/shelters/{id}/pets"));
        assert!(Arc::ptr_eq(&body_validator_of(&create), &body_validator_of(&adopt)));
        assert!(!Arc::ptr_eq(&body_validator_of(&create), &body_validator_of(&replace)));
        // Shared, it still checks what its schema says.
        assert!(!body_validator_of(&adopt).is_valid(&json!({"age": 3})));
        assert!(body_validator_of(&adopt).is_valid(&json!({"name": "Rex"})));
        assert!(!body_validator_of(&replace).is_valid(&json!({"name": "Rex"})));
    }

    #[test]
    fn each_parameter_is_checked_alone_and_named_as_the_partner_sent_it() {
        let doc = json!({"openapi": "3.0.3", "info": {"title": "t", "version": "1"},
            "paths": {"/shops/{shop_id}/orders": {"get": {
                "parameters": [
                    {"name": "shop_id", "in": "path", "required": true,
                        "schema": {"type": "string", "pattern": "^[a-z0-9_]{1,20}$"}},
                    {"name": "x-reference-id", "in": "header", "required": true,
                        "schema": {"type": "string", "minLength": 1, "maxLength": 36}},
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100}},
                    {"name": "status", "in": "query", "schema": {"$ref": "#/components/schemas/Status"}},
                    {"name": "ids", "in": "query", "explode": false,
                        "schema": {"type": "array", "items": {"type": "integer"}, "maxItems": 3}},
                    {"name": "filter", "in": "query", "style": "deepObject", "schema": {"type": "object",
                        "required": ["min"], "properties": {"min": {"type": "number"}, "max": {"type": "number"}}}},
                    {"name": "session", "in": "cookie", "required": true, "schema": {"type": "string", "minLength": 8}}],
                "responses": {"200": {"description": "ok"}}}}},
            "components": {"schemas": {"Status": {"type": "string", "enum": ["open", "closed"]}}}});
        let api = crate::model::build_api(std::path::Path::new("shop.yaml"), &doc).expect("model");
        let op = &api.operations[0];
        let (emulator, gateway) =
            (RequestCheck::compile(op).expect("compiles"), RequestCheck::compile_params(op).expect("compiles"));
        let seen = |violations: Vec<Violation>| -> Vec<(In, String, String, Option<Value>)> {
            violations.into_iter().map(|v| (v.location, v.name, v.message, v.value)).collect()
        };
        let ok = |location: In, name: &str, message: &str, value: Value| {
            (location, name.to_owned(), message.to_owned(), Some(value))
        };
        let missing = |location: In, name: &str| (location, name.to_owned(), "is required".to_owned(), None);
        let (ref_ok, cookie_ok): (&[(&str, &str)], _) = (&[("x-reference-id", "r")], ("cookie", "session=abcdefgh"));
        // (the path's shop_id, the query, the headers) and what each check reports, in this order:
        // path, query, header, cookie, then by name, a pointer inside the value after its name.
        type Case<'a> = (&'a str, Option<&'a str>, Vec<(&'a str, &'a str)>, Vec<(In, String, String, Option<Value>)>);
        let cases: Vec<Case> = vec![
            (
                "shop_1",
                Some("limit=5&status=open&ids=1,2&filter[min]=1"),
                vec![("x-reference-id", "r-1"), cookie_ok],
                vec![],
            ),
            (
                "Shop!",
                None,
                vec![],
                vec![
                    ok(In::Path, "shop_id", "value does not match \"^[a-z0-9_]{1,20}$\"", json!("Shop!")),
                    missing(In::Header, "x-reference-id"),
                    missing(In::Cookie, "session"),
                ],
            ),
            (
                "shop_1",
                Some("limit=0&status=lost&ids=1,x,3,4"),
                vec![("x-reference-id", ""), ("cookie", "session=short")],
                vec![
                    ok(In::Query, "ids", "value has more than 3 items", json!([1, "x", 3, 4])),
                    ok(In::Query, "ids/1", "value is not of type \"integer\"", json!("x")),
                    ok(In::Query, "limit", "value is less than the minimum of 1", json!(0)),
                    ok(In::Query, "status", "value is not one of \"open\" or \"closed\"", json!("lost")),
                    ok(In::Header, "x-reference-id", "value is shorter than 1 character", json!("")),
                    ok(In::Cookie, "session", "value is shorter than 8 characters", json!("short")),
                ],
            ),
            (
                "shop_1",
                Some("limit=ten&filter[max]=2"),
                vec![("x-reference-id", "0123456789012345678901234567890123456789")],
                vec![
                    missing(In::Query, "filter/min"),
                    ok(In::Query, "limit", "value is not of type \"integer\"", json!("ten")),
                    ok(
                        In::Header,
                        "x-reference-id",
                        "value is longer than 36 characters",
                        json!("0123456789012345678901234567890123456789"),
                    ),
                    missing(In::Cookie, "session"),
                ],
            ),
            (
                "shop_1",
                Some("filter[min]=low"),
                [ref_ok, &[cookie_ok]].concat(),
                vec![ok(In::Query, "filter/min", "value is not of type \"number\"", json!("low"))],
            ),
            (
                "",
                Some("status=OPEN&status=closed"),
                [ref_ok, &[cookie_ok]].concat(),
                vec![
                    ok(In::Path, "shop_id", "value does not match \"^[a-z0-9_]{1,20}$\"", json!("")),
                    ok(In::Query, "status", "value is not one of \"open\" or \"closed\"", json!("OPEN")),
                ],
            ),
            (
                "shop%201",
                Some("limit=101"),
                [ref_ok, &[cookie_ok]].concat(),
                vec![
                    ok(In::Path, "shop_id", "value does not match \"^[a-z0-9_]{1,20}$\"", json!("shop 1")),
                    ok(In::Query, "limit", "value is greater than the maximum of 100", json!(101)),
                ],
            ),
        ];
        for (shop, query, sent, expected) in cases {
            let mut headers = HeaderMap::new();
            for (name, value) in &sent {
                headers.insert(http::HeaderName::from_static(name), http::HeaderValue::from_str(value).expect("value"));
            }
            let path = [("shop_id", shop)];
            let context = format!("shop {shop:?}, query {query:?}, headers {sent:?}");
            let by_emulator = match emulator.check(&path, query, &headers, b"") {
                Verdict::Valid(parsed) => {
                    assert_eq!(parsed.query.get("limit"), Some(&json!(5)), "the values read are kept: {context}");
                    Vec::new()
                }
                Verdict::Invalid(violations) => seen(violations),
                Verdict::UnsupportedMediaType(_) => panic!("no body here"),
            };
            assert_eq!(by_emulator, expected, "the emulator: {context}");
            let by_gateway = gateway.check_params(&path, query, &headers).map_or_else(seen, |()| Vec::new());
            assert_eq!(by_gateway, expected, "the gateway: {context}");
        }
    }
}
