//! The checks run on every answer, each with a stable id (Schemathesis's names where it has the
//! check) and a failure that explains itself: where in the spec, which schema path, the value
//! sent back and what was expected.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use sandgate_openapi::shape::Shape;
use sandgate_openapi::validate::body::{admits, essence, is_json};
use sandgate_openapi::{Operation, ResponseSpec, StatusKey};

use crate::cases::Expect;
use crate::spec::Specs;

/// A check's stable id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckId {
    /// No answer is a 5xx.
    NotAServerError,
    /// The status is documented for the operation.
    StatusCodeConformance,
    /// The `Content-Type` is one the response documents.
    ContentTypeConformance,
    /// The body conforms to the documented schema.
    ResponseSchemaConformance,
    /// Every required documented header is present and conforms.
    ResponseHeadersConformance,
    /// An invalid request is refused with a 4xx.
    NegativeDataRejection,
    /// A valid request is not refused as invalid (400, 415, 422…).
    PositiveDataAcceptance,
    /// A request without credentials is refused with 401.
    IgnoredAuth,
    /// A token of another environment is refused with 401.
    EnvironmentSeparation,
    /// A token without the operation's scopes is refused with 403.
    ScopeEnforcement,
    /// What was just created can be read.
    EnsureResourceAvailability,
    /// What was just deleted is gone.
    UseAfterFree,
    /// The answer came within the time budget.
    MaxResponseTime,
    /// Two servers answered the same request alike (differential mode).
    ResponsesAgree,
}

impl CheckId {
    /// Every check, in report order.
    pub const ALL: [CheckId; 14] = [
        CheckId::NotAServerError,
        CheckId::StatusCodeConformance,
        CheckId::ContentTypeConformance,
        CheckId::ResponseSchemaConformance,
        CheckId::ResponseHeadersConformance,
        CheckId::NegativeDataRejection,
        CheckId::PositiveDataAcceptance,
        CheckId::IgnoredAuth,
        CheckId::EnvironmentSeparation,
        CheckId::ScopeEnforcement,
        CheckId::EnsureResourceAvailability,
        CheckId::UseAfterFree,
        CheckId::MaxResponseTime,
        CheckId::ResponsesAgree,
    ];

    /// The id as written in reports and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckId::NotAServerError => "not_a_server_error",
            CheckId::StatusCodeConformance => "status_code_conformance",
            CheckId::ContentTypeConformance => "content_type_conformance",
            CheckId::ResponseSchemaConformance => "response_schema_conformance",
            CheckId::ResponseHeadersConformance => "response_headers_conformance",
            CheckId::NegativeDataRejection => "negative_data_rejection",
            CheckId::PositiveDataAcceptance => "positive_data_acceptance",
            CheckId::IgnoredAuth => "ignored_auth",
            CheckId::EnvironmentSeparation => "environment_separation",
            CheckId::ScopeEnforcement => "scope_enforcement",
            CheckId::EnsureResourceAvailability => "ensure_resource_availability",
            CheckId::UseAfterFree => "use_after_free",
            CheckId::MaxResponseTime => "max_response_time",
            CheckId::ResponsesAgree => "responses_agree",
        }
    }

    /// The check named `id`.
    pub fn parse(id: &str) -> Option<CheckId> {
        CheckId::ALL.into_iter().find(|c| c.as_str() == id)
    }
}

/// An answer as received.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Answer {
    /// The status.
    pub status: u16,
    /// The headers, names lower-case.
    pub headers: Vec<(String, String)>,
    /// The body (lossy UTF-8: only text bodies are checked).
    pub body: String,
    /// How long it took.
    pub elapsed: Duration,
}

impl Answer {
    /// The first header named `name` (lower-case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// One failed check.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Failure {
    /// Which check.
    pub check: CheckId,
    /// One line that identifies the problem (findings with the same line are one violation).
    pub title: String,
    /// The explanation: spec location, schema path, value, expected.
    pub detail: String,
}

/// Which response schema: API, operation, response, and its body (media type index) or a header.
type SchemaKey = (usize, usize, usize, Slot);

/// A schema of a documented response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Slot {
    Body(usize),
    Header(usize),
}

/// A compiled response schema, or why it does not compile.
type Compiled = Result<jsonschema::Validator, String>;

/// Compiles each response schema once and shares it across workers.
#[derive(Default)]
pub struct Validators {
    compiled: Mutex<HashMap<SchemaKey, Arc<Compiled>>>,
}

impl Validators {
    fn get(&self, key: SchemaKey, op: &Operation, schema: &Value) -> Arc<Compiled> {
        let mut compiled = self.compiled.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        Arc::clone(compiled.entry(key).or_insert_with(|| {
            let document = op.schemas.json_schema(schema);
            Arc::new(
                jsonschema::options()
                    .with_draft(jsonschema::Draft::Draft202012)
                    .should_validate_formats(true)
                    .build(&document)
                    .map_err(|e| e.to_string()),
            )
        }))
    }
}

/// What the checks of one answer need.
pub struct Context<'a> {
    /// The specs.
    pub specs: &'a Specs,
    /// The compiled response schemas.
    pub validators: &'a Validators,
    /// The time budget of one answer.
    pub max_response_time: Duration,
}

/// Runs every check that applies to `answer` of operation `(api, op)`; returns the checks that
/// ran and the failures.
pub fn check(
    cx: &Context<'_>,
    api: usize,
    op: usize,
    expect: &Expect,
    answer: &Answer,
) -> (Vec<CheckId>, Vec<Failure>) {
    let operation = &cx.specs.apis[api].operations[op];
    let at = |pointer: &str| cx.specs.location(api, op, pointer);
    let mut ran = vec![CheckId::NotAServerError, CheckId::StatusCodeConformance, CheckId::MaxResponseTime];
    let mut failures = Vec::new();
    let mut fail = |check: CheckId, title: String, detail: String| failures.push(Failure { check, title, detail });
    let status = answer.status;
    if status >= 500 {
        fail(
            CheckId::NotAServerError,
            format!("{status} server error"),
            format!("the server answered {status}; body: {}", excerpt(&answer.body)),
        );
    }
    if answer.elapsed > cx.max_response_time {
        fail(
            CheckId::MaxResponseTime,
            format!("slower than {} ms", cx.max_response_time.as_millis()),
            format!(
                "the answer took {} ms; the budget is {} ms (--max-response-time)",
                answer.elapsed.as_millis(),
                cx.max_response_time.as_millis()
            ),
        );
    }
    let (check, fails, wanted_text) = expectation(expect);
    ran.push(check);
    if fails(status) {
        let (title, what) = match expect {
            Expect::Invalid { mutation } => (format!("accepted: {mutation}"), format!("a request with {mutation}")),
            Expect::NoCredentials => {
                ("answered without credentials".to_owned(), "a request without credentials".to_owned())
            }
            Expect::ForeignToken => (
                "accepted another environment's token".to_owned(),
                "a request with another environment's token".to_owned(),
            ),
            Expect::MissingScope { scope } => (
                format!("accepted a token with only scope {scope}"),
                format!("a request whose token has only the scope {scope:?}"),
            ),
            Expect::Created => {
                ("created object not found".to_owned(), "reading what the previous step created".to_owned())
            }
            Expect::Deleted => {
                ("deleted object still there".to_owned(), "reading what the previous step deleted".to_owned())
            }
            Expect::Valid | Expect::Setup => {
                (format!("refused a valid request with {status}"), "a request valid by the spec".to_owned())
            }
        };
        let body = if answer.body.is_empty() { String::new() } else { format!(": {}", excerpt(&answer.body)) };
        fail(check, title, format!("{what} was answered {status}{body}; expected {wanted_text}"));
    }
    let Some(response) = operation.response_for(status) else {
        fail(
            CheckId::StatusCodeConformance,
            format!("undocumented status {status}"),
            format!(
                "{status} is not documented for {} at {}; documented: {}",
                operation.label(),
                at(&format!("{}/responses", operation.pointer)),
                documented(operation)
            ),
        );
        return (ran, failures);
    };
    ran.push(CheckId::ResponseHeadersConformance);
    let response_index = operation.responses.iter().position(|r| std::ptr::eq(r, response)).unwrap_or_default();
    for (index, header) in response.headers.iter().enumerate() {
        match answer.header(&header.name) {
            None if header.required => fail(
                CheckId::ResponseHeadersConformance,
                format!("{status} lacks required header {}", header.name),
                format!("the header {} is required by {}", header.name, at(&format!("{}/headers", response.pointer))),
            ),
            Some(value) => {
                let Some(schema) = &header.schema else { continue };
                let validator = cx.validators.get((api, op, response_index, Slot::Header(index)), operation, schema);
                // Read as the emulator reads a header parameter: typed by its schema.
                let typed = match Shape::of(schema, &operation.schemas.defs) {
                    Shape::Scalar(types) => types.coerce(value),
                    Shape::Array(items) => Value::Array(value.split(',').map(|v| items.coerce(v.trim())).collect()),
                    Shape::Object(..) => Value::String(value.to_owned()),
                };
                let problem = validator.as_ref().as_ref().ok().and_then(|v| v.iter_errors(&typed).next());
                if let Some(problem) = problem {
                    fail(
                        CheckId::ResponseHeadersConformance,
                        format!("{status} header {} does not conform", header.name),
                        format!(
                            "header {}: {value:?}: {} ({})",
                            header.name,
                            problem.masked_with("the value"),
                            at(&format!("{}/headers/{}/schema", response.pointer, header.name))
                        ),
                    );
                }
            }
            None => {}
        }
    }
    if response.content.is_empty() || status == 204 || status == 304 {
        return (ran, failures);
    }
    ran.push(CheckId::ContentTypeConformance);
    let documented_types = || response.content.iter().map(|m| m.media_type.as_str()).collect::<Vec<_>>().join(", ");
    let Some(content_type) = answer.header("content-type") else {
        if !answer.body.is_empty() {
            fail(
                CheckId::ContentTypeConformance,
                format!("{status} without Content-Type"),
                format!("a {status} body came without Content-Type; documented: {}", documented_types()),
            );
        }
        return (ran, failures);
    };
    let actual = essence(content_type);
    let Some(media) = response.content.iter().find(|m| admits(&m.media_type, &actual)) else {
        fail(
            CheckId::ContentTypeConformance,
            format!("{status} answered as {actual}"),
            format!(
                "Content-Type {content_type:?} is not documented for {status} at {}; documented: {}",
                at(&response.pointer),
                documented_types()
            ),
        );
        return (ran, failures);
    };
    let (Some(schema), true) = (&media.schema, is_json(&actual)) else { return (ran, failures) };
    ran.push(CheckId::ResponseSchemaConformance);
    let body: Value = match serde_json::from_str(&answer.body) {
        Ok(body) => body,
        Err(e) => {
            fail(
                CheckId::ResponseSchemaConformance,
                format!("{status} body is not JSON"),
                format!("the {actual} body does not parse ({e}): {}", excerpt(&answer.body)),
            );
            return (ran, failures);
        }
    };
    let media_index = response.content.iter().position(|m| std::ptr::eq(m, media)).unwrap_or_default();
    let validator = cx.validators.get((api, op, response_index, Slot::Body(media_index)), operation, schema);
    match validator.as_ref() {
        Err(e) => fail(
            CheckId::ResponseSchemaConformance,
            "response schema does not compile".to_owned(),
            format!("{} cannot be compiled: {e}", at(&media.pointer)),
        ),
        Ok(validator) => {
            for error in validator.iter_errors(&body).take(10) {
                let instance = error.instance_path().as_str().to_owned();
                let schema_path = error.schema_path().as_str().to_owned();
                fail(
                    CheckId::ResponseSchemaConformance,
                    // The masked message names a missing or extra property, never the value: one
                    // line per distinct violation, the same for every instance of it.
                    format!("{status} body at {}: {}", or_root(&generic(&instance)), error.masked_with("the value")),
                    format!(
                        "body{instance}: {} — value {}; schema {}{schema_path}",
                        error.masked_with("the value"),
                        excerpt(&error.instance().to_string()),
                        at(&media.pointer),
                    ),
                );
            }
        }
    }
    (ran, failures)
}

/// A check, the statuses that fail it, and what was expected instead.
type Expectation = (CheckId, fn(u16) -> bool, &'static str);

/// The check an answer to `expect` is held to, which statuses fail it, and what was expected.
/// Most fail only on what they are about (`ensure_resource_availability` on a 404 or 410,
/// `use_after_free` on a 2xx); the credential checks want their exact status.
fn expectation(expect: &Expect) -> Expectation {
    match expect {
        Expect::Invalid { .. } => (CheckId::NegativeDataRejection, |s| s < 400, "a 4xx"),
        // Refusals for who is asking (401, 403), for what is there (404, 409) or for how often
        // (429) are not about the request's shape; Schemathesis admits the same statuses.
        Expect::Valid | Expect::Setup => (
            CheckId::PositiveDataAcceptance,
            |s| (400..500).contains(&s) && !matches!(s, 401 | 403 | 404 | 409 | 429),
            "a status other than 400, 405, 406, 413, 415, 422 and the like",
        ),
        Expect::NoCredentials => (CheckId::IgnoredAuth, |s| s != 401, "401"),
        Expect::ForeignToken => (CheckId::EnvironmentSeparation, |s| s != 401, "401"),
        Expect::MissingScope { .. } => (CheckId::ScopeEnforcement, |s| s != 403, "403"),
        Expect::Created => (CheckId::EnsureResourceAvailability, |s| s == 404 || s == 410, "a 2xx"),
        Expect::Deleted => (CheckId::UseAfterFree, |s| (200..300).contains(&s), "404 or 410"),
    }
}

/// The documented statuses of `op`, as written.
pub fn documented(op: &Operation) -> String {
    op.responses.iter().map(status_key).collect::<Vec<_>>().join(", ")
}

/// A response's key as written (`200`, `4XX`, `default`).
pub fn status_key(response: &ResponseSpec) -> String {
    match response.status {
        StatusKey::Code(code) => code.to_string(),
        StatusKey::Range(class) => format!("{class}XX"),
        StatusKey::Default => "default".to_owned(),
    }
}

/// A pointer with array indexes as `*`: the same violation in every item is one violation.
fn generic(pointer: &str) -> String {
    pointer
        .split('/')
        .map(|segment| if !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()) { "*" } else { segment })
        .collect::<Vec<_>>()
        .join("/")
}

fn or_root(pointer: &str) -> &str {
    if pointer.is_empty() {
        "the root"
    } else {
        pointer
    }
}

/// At most 300 characters of `text`.
pub fn excerpt(text: &str) -> String {
    const MAX: usize = 300;
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}… ({} bytes)", &text[..cut], text.len()),
        None => text.to_owned(),
    }
}
