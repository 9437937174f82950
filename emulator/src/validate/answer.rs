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
//! ```
//!
//! `body` may use `request.path`, `request.method` and `violations` (the list of rendered
//! `violation`s); `violation` may use `param` (the parameter, or the body field as `a.b`), `in`,
//! `pointer`, `message` and `value` (as text; absent when nothing was sent). An operation uses the
//! documented shape only when its response for `status` accepts what the template renders.

use serde_json::{json, Map, Value};

use super::{Violation, MAX_VIOLATIONS};
use crate::openapi::Operation;
use crate::problem::{problem_body, ProblemKind, PROBLEM_JSON};
use crate::{template, EmuResponse};

/// Messages and values are cut to this many characters in a documented error body (the POS
/// `FieldError` allows 200 and 500).
const MAX_TEXT: usize = 200;

/// How one operation answers an invalid request.
#[derive(Debug, Clone)]
pub enum ErrorAnswer {
    /// The documented error, rendered from templates.
    Documented {
        /// Its status.
        status: u16,
        /// Its media type.
        media_type: String,
        /// The body template.
        body: Value,
        /// The template of one violation.
        violation: Value,
        /// Violations listed at most.
        max: usize,
    },
    /// problem+json 400.
    Problem,
}

impl ErrorAnswer {
    /// The answer for `op` under the document's `x-sandgate-validation-error` (if any). Fails on
    /// a malformed extension.
    pub fn compile(extension: Option<&Value>, op: &Operation) -> Result<ErrorAnswer, String> {
        let Some(extension) = extension else { return Ok(ErrorAnswer::Problem) };
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
        let answer = ErrorAnswer::Documented {
            status,
            media_type: String::new(),
            body: field("body")?.clone(),
            violation: extension.get("violation").cloned().unwrap_or(Value::Null),
            max,
        };
        // Only an operation that documents `status` with a JSON schema accepting the rendered body
        // uses it; the sample has one violation with a value and one without.
        let Some(media) = op.response_for(status).and_then(|r| r.json()) else { return Ok(ErrorAnswer::Problem) };
        let Some(schema) = &media.schema else { return Ok(ErrorAnswer::Problem) };
        let Ok(validator) = jsonschema::options().should_validate_formats(true).build(&op.schemas.json_schema(schema))
        else {
            return Ok(ErrorAnswer::Problem);
        };
        let sample = [
            Violation { location: super::In::Query, name: "lang".into(), message: "is required".into(), value: None },
            Violation {
                location: super::In::Body,
                name: "/amount".into(),
                message: "value is not of type \"number\"".into(),
                value: Some(json!("ten")),
            },
        ];
        let rendered: Value = match &answer {
            ErrorAnswer::Documented { body, violation, max, .. } => {
                serde_json::from_slice(&render(body, violation, *max, &op.method, &op.path, &sample))
                    .unwrap_or_default()
            }
            ErrorAnswer::Problem => Value::Null,
        };
        if !validator.is_valid(&rendered) {
            return Ok(ErrorAnswer::Problem);
        }
        match answer {
            ErrorAnswer::Documented { status, body, violation, max, .. } => {
                Ok(ErrorAnswer::Documented { status, media_type: media.media_type.clone(), body, violation, max })
            }
            problem => Ok(problem),
        }
    }

    /// The response to a request `method path` with these violations.
    pub fn respond(&self, method: &http::Method, path: &str, violations: &[Violation]) -> EmuResponse {
        match self {
            ErrorAnswer::Documented { status, media_type, body, violation, max } => EmuResponse {
                status: *status,
                content_type: Some(media_type.clone()),
                headers: Vec::new(),
                body: render(body, violation, *max, method, path, violations),
            },
            ErrorAnswer::Problem => problem(violations),
        }
    }
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
            template::render(violation, &|name| match name {
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
    let rendered = template::render(body, &|name| match name {
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
        super::In::Body if violation.name.is_empty() => "body".to_owned(),
        super::In::Body => {
            violation.name.trim_start_matches('/').replace('/', ".").replace("~1", "/").replace("~0", "~")
        }
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
/// (body), `message` and the `value` sent.
pub fn problem(violations: &[Violation]) -> EmuResponse {
    let errors: Vec<Value> = violations
        .iter()
        .map(|v| {
            let mut entry = Map::new();
            entry.insert("in".into(), json!(v.location.as_str()));
            let key = if v.location == super::In::Body { "pointer" } else { "name" };
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
    EmuResponse {
        status: ProblemKind::InvalidRequest.status(),
        content_type: Some(PROBLEM_JSON.to_owned()),
        headers: Vec::new(),
        body: problem_body(ProblemKind::InvalidRequest, &detail, None, Some(extra)),
    }
}

fn describe(violation: &Violation) -> String {
    match violation.location {
        super::In::Body if violation.name.is_empty() => "body".to_owned(),
        super::In::Body => format!("body {}", violation.name),
        location => format!("{} parameter {}", location.as_str(), violation.name),
    }
}
