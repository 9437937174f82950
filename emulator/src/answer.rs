//! Answers an invalid request: with the error the API documents for it, when the document says
//! which one (`x-sandgate-validation-error`) and the operation lists it; else with problem+json
//! 400 listing every violation, when the operation's documented client error (400, else 422,
//! else 4XX, else `default`) accepts it; else with a body in that documented error's own shape:
//! what the emulator knows (the message, the status, each violation) set on the properties
//! named for it (`message`, `detail`, `title`, `status`, `code`, `errors[].field`…), the rest
//! fabricated, and the whole mended until it conforms.
//!
//! The extension, at the top of a document (inherited by documents that extend it):
//!
//! ```yaml
//! x-sandgate-validation-error:
//!   status: 409
//!   body: {url: '{{request.path}}', error: wrong_inputs, field_errors: '{{violations}}'}
//!   violation: {param: '{{param}}', msg: '{{message}}', value: '{{value}}'}
//!   max_violations: 10
//!   locations: [path, query, cookie, body]   # optional; the default is every location
//! ```
//!
//! `body` may use `request.path`, `request.method` and `violations` (the list of rendered
//! `violation`s); `violation` may use `param` (the parameter, or the body field as `a.b`), `in`,
//! `pointer`, `message` and `value` (as text; absent when nothing was sent). An operation uses the
//! documented shape only when its response for `status` accepts what the template renders. A
//! request with a violation outside `locations` (the POS API's missing header, which its gateway
//! answers 400) gets problem+json 400 instead.

use serde_json::{json, Map, Value};

use std::sync::Arc;

use crate::conform::Conforms;
use crate::EmuResponse;
use sandgate_core::problem::{problem_body, ProblemKind, PROBLEM_JSON};
use sandgate_openapi::generate::{CompiledSet, Program};
use sandgate_openapi::shape::{child, deref, fields, types};
use sandgate_openapi::validate::{In, Violation, MAX_VIOLATIONS};
use sandgate_openapi::Operation;

/// Messages and values are cut to this many characters in a documented error body (the POS
/// `FieldError` allows 200 and 500).
const MAX_TEXT: usize = 200;

/// How one operation answers an invalid request.
#[derive(Debug)]
pub struct ErrorAnswer {
    documented: Option<Documented>,
    /// The operation's 400 is an OAuth error (`code`, `error`, `error_description` beside the
    /// problem members), as a token endpoint's is.
    oauth: bool,
    /// The documented client error, when problem+json (plain or OAuth) does not fit it.
    shaped: Option<Shaped>,
    /// The media type problem+json goes out as when it fits the documented client error but that
    /// is documented under another JSON type (Azure's `default: application/json`).
    problem_media: Option<String>,
}

/// The operation's documented client error in its own shape.
#[derive(Debug)]
struct Shaped {
    status: u16,
    media_type: String,
    schema: Value,
    schemas: Arc<sandgate_openapi::SchemaSet>,
    program: Program,
    conforms: Conforms,
}

/// The documented statuses an invalid request may be answered with, in order of preference.
const CLIENT_ERRORS: [sandgate_openapi::StatusKey; 4] = [
    sandgate_openapi::StatusKey::Code(400),
    sandgate_openapi::StatusKey::Code(422),
    sandgate_openapi::StatusKey::Range(4),
    sandgate_openapi::StatusKey::Default,
];

/// The documented error, rendered from templates.
#[derive(Debug, Clone)]
struct Documented {
    status: u16,
    media_type: String,
    body: Value,
    violation: Value,
    max: usize,
    /// The locations it covers (`None`: all).
    locations: Option<Vec<In>>,
}

impl ErrorAnswer {
    /// The answer for `op` under the document's `x-sandgate-validation-error` (if any). Fails on
    /// a malformed extension.
    pub(crate) fn compile(
        extension: Option<&Value>,
        op: &Operation,
        set: &Arc<CompiledSet>,
    ) -> Result<ErrorAnswer, String> {
        let documented = match extension {
            Some(extension) => documented(extension, op)?,
            None => None,
        };
        // The problem answer takes the shape of the operation's documented 400 where that differs.
        let sample = [Violation { location: In::Header, name: "x".into(), message: "is required".into(), value: None }];
        let plain: Value = serde_json::from_slice(&problem(&sample, false).body).unwrap_or_default();
        let oauth_body: Value = serde_json::from_slice(&problem(&sample, true).body).unwrap_or_default();
        // One validator per schema: each compiles over every component schema, which is most of an
        // operation's first request on a large spec.
        let for_400 = op.response_for(400).and_then(|r| r.content.iter().find_map(|m| m.schema.as_ref()));
        let validator_400 = for_400.and_then(|schema| validator(op, schema));
        let fits_400 = |body: &Value| validator_400.as_ref().map(|v| v.is_valid(body));
        let oauth = fits_400(&plain) == Some(false) && fits_400(&oauth_body) == Some(true);
        let documented_error = client_error(op);
        let shaped = match documented_error {
            Some((status, media, schema)) => {
                let status = status.status();
                let own;
                let validator = match for_400 {
                    Some(same) if std::ptr::eq(same, schema) => validator_400.as_ref(),
                    _ => {
                        own = validator(op, schema);
                        own.as_ref()
                    }
                };
                let fits = |body: &Value| validator.is_some_and(|v| v.is_valid(body));
                match fits(&plain) || fits(&oauth_body) {
                    true => None,
                    false => Program::compile(schema, &op.schemas, set).ok().map(|program| Shaped {
                        status,
                        media_type: media.media_type.clone(),
                        schema: schema.clone(),
                        schemas: Arc::clone(&op.schemas),
                        program,
                        conforms: Conforms::new(schema, op),
                    }),
                }
            }
            None => None,
        };
        let problem_media = match (&shaped, documented_error) {
            (None, Some((_, media, _))) if !media.media_type.to_ascii_lowercase().contains("problem+json") => {
                Some(media.media_type.clone())
            }
            _ => None,
        };
        Ok(ErrorAnswer { documented, oauth, shaped, problem_media })
    }

    /// The response to a request `method path` with these violations.
    pub fn respond(&self, method: &http::Method, path: &str, violations: &[Violation]) -> EmuResponse {
        match &self.documented {
            Some(d) if d.locations.as_ref().is_none_or(|c| violations.iter().all(|v| c.contains(&v.location))) => {
                EmuResponse {
                    status: d.status,
                    content_type: Some(d.media_type.clone()),
                    headers: Vec::new(),
                    body: render(&d.body, &d.violation, d.max, method, path, violations),
                }
            }
            _ => match &self.shaped {
                Some(shaped) => shaped.respond(path, violations),
                None => {
                    let mut answer = problem(violations, self.oauth);
                    if let Some(media) = &self.problem_media {
                        answer.content_type = Some(media.clone());
                    }
                    answer
                }
            },
        }
    }
}

/// The first documented client error of `op` with a JSON schema: its status key, media type and
/// schema.
fn client_error(op: &Operation) -> Option<(sandgate_openapi::StatusKey, &sandgate_openapi::MediaSpec, &Value)> {
    CLIENT_ERRORS.iter().find_map(|key| {
        let response = op.responses.iter().find(|r| r.status == *key)?;
        let media = response.json()?;
        Some((*key, media, media.schema.as_ref()?))
    })
}

impl Shaped {
    /// The documented error for these violations: known values on the properties named for them,
    /// fabricated elsewhere, mended until it conforms.
    fn respond(&self, path: &str, violations: &[Violation]) -> EmuResponse {
        let status = if self.status >= 400 && self.status < 500 { self.status } else { 400 };
        let detail = summary(violations);
        let known = Known {
            status,
            message: Some(&detail),
            title: "Invalid request",
            error: "invalid_request",
            type_uri: Some("urn:sandgate:problem:invalid-request"),
            path,
            violations,
        };
        let fabricated = self.program.generate(0);
        let mut body = fabricated.clone();
        fill(&mut body, &self.schema, &self.schemas.defs, &known);
        self.conforms.repair(&mut body, &fabricated);
        EmuResponse {
            status,
            content_type: Some(self.media_type.clone()),
            headers: Vec::new(),
            body: serde_json::to_vec(&body).unwrap_or_default(),
        }
    }
}

/// What is known about an error answer, to set on the properties of its documented body that are
/// named for it: an invalid request's, or a documented error code's (`Prefer: example=`).
pub(crate) struct Known<'a> {
    pub(crate) status: u16,
    /// The message (`message`, `detail`, `error_description`…), when there is one.
    pub(crate) message: Option<&'a str>,
    pub(crate) title: &'a str,
    /// A word for the error (`error`, `code` when they are text).
    pub(crate) error: &'a str,
    /// A problem type URI for `type`, when the error has one.
    pub(crate) type_uri: Option<&'a str>,
    /// The path called (`url`, `instance`).
    pub(crate) path: &'a str,
    /// The problems, for a documented list of them (`errors`, `field_errors`…).
    pub(crate) violations: &'a [Violation],
}

/// Sets on `body`'s properties (those `schema` declares) what `known` says, by property name, where
/// the value's type fits; the caller mends the result to the schema.
pub(crate) fn fill(body: &mut Value, schema: &Value, defs: &Map<String, Value>, known: &Known<'_>) {
    let Some(object) = body.as_object_mut() else { return };
    for field in fields(schema, defs) {
        let Some(property) = child(schema, defs, &field.name) else { continue };
        let admitted = types(property, defs);
        let candidates = known_values(&field.name, property, defs, known);
        if let Some(value) = candidates.into_iter().find(|v| admitted.admits(v)) {
            object.insert(field.name, value);
        }
    }
}

/// What is known that a property of this name may carry, best first.
fn known_values(name: &str, property: &Value, defs: &Map<String, Value>, known: &Known<'_>) -> Vec<Value> {
    let Known { status, message, title, error, type_uri, path, violations } = *known;
    let lower = name.to_ascii_lowercase();
    match lower.as_str() {
        "message" | "detail" | "description" | "error_description" | "error_message" | "msg" | "reason" => {
            message.map(|m| json!(m)).into_iter().collect()
        }
        "title" => vec![json!(title)],
        "status" | "status_code" | "statuscode" | "http_status" => vec![json!(status), json!(status.to_string())],
        "code" | "error_code" => vec![json!(status), json!(error)],
        "error" => vec![json!(error), json!(status), json!({"code": status, "message": message.unwrap_or(title)})],
        "type" => type_uri.map(|t| json!(t)).into_iter().collect(),
        "instance" | "path" | "url" | "uri" => vec![json!(path)],
        _ => violation_list(&lower, property, defs, violations).into_iter().collect(),
    }
}

/// `violations` as the list a property with this name documents (`errors`, `field_errors`,
/// `violations`…: items shaped as its item schema names their fields); `None` for other names.
fn violation_list(name: &str, property: &Value, defs: &Map<String, Value>, violations: &[Violation]) -> Option<Value> {
    let listed = ["errors", "field_errors", "violations", "details", "fields", "invalid_params", "problems", "issues"];
    if !listed.contains(&name.to_ascii_lowercase().as_str()) {
        return None;
    }
    let item = child(property, defs, "");
    Some(Value::Array(violations.iter().take(MAX_VIOLATIONS).map(|v| violation_item(v, item, defs)).collect()))
}

/// One violation as an item of the documented list: an object with its fields named as the item
/// schema names them, or a line of text.
fn violation_item(violation: &Violation, item: Option<&Value>, defs: &Map<String, Value>) -> Value {
    let line = format!("{}: {}", describe(violation), violation.message);
    let Some(item) = item.and_then(|i| deref(i, defs)) else { return json!(line) };
    let names = fields(item, defs);
    if names.is_empty() {
        return json!(line);
    }
    let mut out = Map::new();
    for field in names {
        let value = match field.name.to_ascii_lowercase().as_str() {
            "name" | "param" | "parameter" | "field" | "property" | "key" => Some(json!(param_of(violation))),
            "message" | "msg" | "detail" | "reason" | "description" | "error" => Some(json!(cut(&violation.message))),
            "in" | "location" => Some(json!(violation.location.as_str())),
            "pointer" | "path" => Some(json!(violation.name)),
            "value" => value_text(violation).map(Value::String),
            _ => None,
        };
        if let Some(value) = value {
            out.insert(field.name, value);
        }
    }
    Value::Object(out)
}

impl ErrorAnswer {
    /// The answer to a well-formed request refused on its content (an idempotency key reused
    /// with another body): the API's documented error whatever the violations' location, else
    /// problem+json 409.
    pub fn respond_refusal(&self, method: &http::Method, path: &str, violations: &[Violation]) -> EmuResponse {
        match &self.documented {
            Some(d) => EmuResponse {
                status: d.status,
                content_type: Some(d.media_type.clone()),
                headers: Vec::new(),
                body: render(&d.body, &d.violation, d.max, method, path, violations),
            },
            None => {
                let detail =
                    violations.iter().map(|v| format!("{} {}", v.name, v.message)).collect::<Vec<_>>().join("; ");
                let body = problem_body(ProblemKind::Conflict, &detail, None, None);
                EmuResponse { status: 409, content_type: Some(PROBLEM_JSON.to_owned()), headers: Vec::new(), body }
            }
        }
    }
}

/// The validator of `schema`, one of `op`'s (`None`: it does not compile).
fn validator(op: &Operation, schema: &Value) -> Option<jsonschema::Validator> {
    jsonschema::options().should_validate_formats(true).build(&op.schemas.json_schema(schema)).ok()
}

/// Whether `body` conforms to the JSON schema `op` documents for `status` (`None`: none documented).
fn conforms(op: &Operation, status: u16, body: &Value) -> Option<bool> {
    let schema = op.response_for(status)?.content.iter().find_map(|m| m.schema.as_ref())?;
    let validator = jsonschema::options().should_validate_formats(true).build(&op.schemas.json_schema(schema)).ok()?;
    Some(validator.is_valid(body))
}

/// The documented error of `op`, if it documents `status` with a schema that accepts what the
/// templates render (checked with one violation with a value and one without).
fn documented(extension: &Value, op: &Operation) -> Result<Option<Documented>, String> {
    let field =
        |name: &str| extension.get(name).ok_or_else(|| format!("x-sandgate-validation-error: {name} is required"));
    let status = field("status")?
        .as_u64()
        .and_then(|s| u16::try_from(s).ok())
        .filter(|s| (400..500).contains(s))
        .ok_or("x-sandgate-validation-error: status must be a 4xx code")?;
    let max = match extension.get("max_violations") {
        None => MAX_VIOLATIONS,
        Some(value) => value
            .as_u64()
            .and_then(|m| usize::try_from(m).ok())
            .filter(|m| *m > 0)
            .ok_or("x-sandgate-validation-error: max_violations must be a positive integer")?,
    };
    let locations = match extension.get("locations") {
        None => None,
        Some(Value::Array(names)) => Some(
            names
                .iter()
                .map(|n| match n.as_str() {
                    Some("path") => Ok(In::Path),
                    Some("query") => Ok(In::Query),
                    Some("header") => Ok(In::Header),
                    Some("cookie") => Ok(In::Cookie),
                    Some("body") => Ok(In::Body),
                    _ => Err(format!(
                        "x-sandgate-validation-error: locations: {n} is not path, query, header, cookie or body"
                    )),
                })
                .collect::<Result<Vec<In>, String>>()?,
        ),
        Some(_) => return Err("x-sandgate-validation-error: locations is a list".into()),
    };
    let body = field("body")?.clone();
    let violation = extension.get("violation").cloned().unwrap_or(Value::Null);
    let Some(media) = op.response_for(status).and_then(|r| r.json()) else { return Ok(None) };
    let sample = [
        Violation { location: In::Query, name: "lang".into(), message: "is required".into(), value: None },
        Violation {
            location: In::Body,
            name: "/amount".into(),
            message: "value is not of type \"number\"".into(),
            value: Some(json!("ten")),
        },
    ];
    let rendered: Value =
        serde_json::from_slice(&render(&body, &violation, max, &op.method, &op.path, &sample)).unwrap_or_default();
    if conforms(op, status, &rendered) != Some(true) {
        return Ok(None);
    }
    Ok(Some(Documented { status, media_type: media.media_type.clone(), body, violation, max, locations }))
}

fn render(
    body: &Value,
    violation: &Value,
    max: usize,
    method: &http::Method,
    path: &str,
    violations: &[Violation],
) -> Vec<u8> {
    let items: Vec<Value> = violations
        .iter()
        .take(max)
        .filter_map(|v| {
            let param = param_of(v);
            let text = value_text(v);
            sandgate_openapi::template::render(violation, &|name| match name {
                "param" => Some(Value::String(param.clone())),
                "in" => Some(Value::String(v.location.as_str().to_owned())),
                "pointer" => Some(Value::String(v.name.clone())),
                "message" => Some(Value::String(cut(&v.message))),
                "value" => text.clone().map(Value::String),
                _ => None,
            })
        })
        .collect();
    let items = Value::Array(items);
    let rendered = sandgate_openapi::template::render(body, &|name| match name {
        "request.path" => Some(Value::String(path.to_owned())),
        "request.method" => Some(Value::String(method.to_string())),
        "violations" => Some(items.clone()),
        _ => None,
    });
    serde_json::to_vec(&rendered.unwrap_or_default()).unwrap_or_default()
}

/// A parameter's name, or a body field as dotted path (`customer.name`; the body itself: `body`).
fn param_of(violation: &Violation) -> String {
    match violation.location {
        In::Body if violation.name.is_empty() => "body".to_owned(),
        In::Body => violation.name.trim_start_matches('/').replace('/', ".").replace("~1", "/").replace("~0", "~"),
        _ => violation.name.clone(),
    }
}

fn value_text(violation: &Violation) -> Option<String> {
    violation.value.as_ref().map(|value| match value {
        Value::String(s) => cut(s),
        other => cut(&other.to_string()),
    })
}

fn cut(text: &str) -> String {
    match text.char_indices().nth(MAX_TEXT) {
        Some((end, _)) => text[..end].to_owned(),
        None => text.to_owned(),
    }
}

/// problem+json 400: `errors` lists each violation with `in`, `name` (parameters) or `pointer`
/// (body), `message` and the `value` sent; `oauth` adds RFC 6749's `error: invalid_request`.
pub fn problem(violations: &[Violation], oauth: bool) -> EmuResponse {
    let errors: Vec<Value> = violations
        .iter()
        .map(|v| {
            let mut entry = Map::new();
            entry.insert("in".into(), json!(v.location.as_str()));
            let key = if v.location == In::Body { "pointer" } else { "name" };
            entry.insert(key.into(), json!(v.name));
            entry.insert("message".into(), json!(v.message));
            if let Some(value) = &v.value {
                entry.insert("value".into(), value.clone());
            }
            Value::Object(entry)
        })
        .collect();
    let detail = summary(violations);
    let mut extra = Map::new();
    extra.insert("errors".into(), Value::Array(errors));
    if oauth {
        extra.insert("code".into(), json!(400));
        extra.insert("error".into(), json!("invalid_request"));
        extra.insert("error_description".into(), json!(detail));
    }
    EmuResponse {
        status: ProblemKind::InvalidRequest.status(),
        content_type: Some(PROBLEM_JSON.to_owned()),
        headers: Vec::new(),
        body: problem_body(ProblemKind::InvalidRequest, &detail, None, Some(extra)),
    }
}

/// One line on what is wrong with the request.
fn summary(violations: &[Violation]) -> String {
    match (violations.len(), violations.first()) {
        (1, Some(one)) => format!("{}: {}", describe(one), one.message),
        (count, Some(first)) => format!("{count} problems; first: {}: {}", describe(first), first.message),
        (_, None) => "the request does not conform to the operation".to_owned(),
    }
}

fn describe(violation: &Violation) -> String {
    match violation.location {
        In::Body if violation.name.is_empty() => "body".to_owned(),
        In::Body => format!("body {}", violation.name),
        location => format!("{} parameter {}", location.as_str(), violation.name),
    }
}
