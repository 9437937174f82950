//! Answers an invalid request: with the error the API documents for it, when the document says
//! which one (`x-sandgate-validation-error`) and the operation lists it, else with problem+json
//! 400 listing every violation.
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

use crate::EmuResponse;
use sandgate_core::problem::{problem_body, ProblemKind, PROBLEM_JSON};
use sandgate_openapi::validate::{In, Violation, MAX_VIOLATIONS};
use sandgate_openapi::Operation;

/// Messages and values are cut to this many characters in a documented error body (the POS
/// `FieldError` allows 200 and 500).
const MAX_TEXT: usize = 200;

/// How one operation answers an invalid request.
#[derive(Debug, Clone)]
pub struct ErrorAnswer {
    documented: Option<Documented>,
    /// The operation's 400 is an OAuth error (`code`, `error`, `error_description` beside the
    /// problem members), as a token endpoint's is.
    oauth: bool,
}

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
    pub(crate) fn compile(extension: Option<&Value>, op: &Operation) -> Result<ErrorAnswer, String> {
        let documented = match extension {
            Some(extension) => documented(extension, op)?,
            None => None,
        };
        // The problem answer takes the shape of the operation's documented 400 where that differs.
        let sample = [Violation { location: In::Header, name: "x".into(), message: "is required".into(), value: None }];
        let plain: Value = serde_json::from_slice(&problem(&sample, false).body).unwrap_or_default();
        let oauth = conforms(op, 400, &plain) == Some(false)
            && conforms(op, 400, &serde_json::from_slice(&problem(&sample, true).body).unwrap_or_default())
                == Some(true);
        Ok(ErrorAnswer { documented, oauth })
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
            _ => problem(violations, self.oauth),
        }
    }
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
    let detail = match (violations.len(), violations.first()) {
        (1, Some(one)) => format!("{}: {}", describe(one), one.message),
        (count, Some(first)) => format!("{count} problems; first: {}: {}", describe(first), first.message),
        (_, None) => "the request does not conform to the operation".to_owned(),
    };
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

fn describe(violation: &Violation) -> String {
    match violation.location {
        In::Body if violation.name.is_empty() => "body".to_owned(),
        In::Body => format!("body {}", violation.name),
        location => format!("{} parameter {}", location.as_str(), violation.name),
    }
}
