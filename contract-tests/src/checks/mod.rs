//! The checks run on every answer, each with a stable id (Schemathesis's names where it has the
//! check) and a failure that explains itself: where in the spec, which schema path, the value
//! sent back and what was expected. One file per check, listed in `REGISTRY` in the order they
//! run; each decides whether it applies to an answer.

mod content_type_conformance;
mod expected_status;
mod max_response_time;
mod not_a_server_error;
mod response_headers_conformance;
mod response_schema_conformance;
mod status_code_conformance;
#[cfg(test)]
mod testing;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use sandgate_openapi::validate::body::{admits, essence};
use sandgate_openapi::{MediaSpec, Operation, ResponseSpec, StatusKey};

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
pub(crate) type SchemaKey = (usize, usize, usize, Slot);

/// A schema of a documented response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Slot {
    Body(usize),
    Header(usize),
}

/// A compiled response schema, or why it does not compile.
pub(crate) type Compiled = Result<jsonschema::Validator, String>;

/// Compiles each response schema once and shares it across workers.
#[derive(Default)]
pub struct Validators {
    compiled: Mutex<HashMap<SchemaKey, Arc<Compiled>>>,
}

impl Validators {
    pub(crate) fn get(&self, key: SchemaKey, op: &Operation, schema: &Value) -> Arc<Compiled> {
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

/// An answer to one case, with what the checks look it up by.
pub(crate) struct Seen<'a> {
    /// The settings and shared validators.
    pub(crate) cx: &'a Context<'a>,
    /// The API index.
    pub(crate) api: usize,
    /// The operation index.
    pub(crate) op: usize,
    /// The operation.
    pub(crate) operation: &'a Operation,
    /// What the case expected.
    pub(crate) expect: &'a Expect,
    /// What came back.
    pub(crate) answer: &'a Answer,
}

impl Seen<'_> {
    /// Where `pointer` is in the spec, for a failure's detail.
    pub(crate) fn at(&self, pointer: &str) -> String {
        self.cx.specs.location(self.api, self.op, pointer)
    }

    /// The response documented for the answer's status, with its index, if any.
    pub(crate) fn response(&self) -> Option<(usize, &ResponseSpec)> {
        let response = self.operation.response_for(self.answer.status)?;
        let index = self.operation.responses.iter().position(|r| std::ptr::eq(r, response)).unwrap_or_default();
        Some((index, response))
    }

    /// The documented response when it has a body the checks look at.
    pub(crate) fn response_with_body(&self) -> Option<(usize, &ResponseSpec)> {
        let status = self.answer.status;
        self.response().filter(|(_, r)| !r.content.is_empty() && status != 204 && status != 304)
    }

    /// The documented media type the answer's `Content-Type` matches, with its index.
    pub(crate) fn media(&self) -> Option<(usize, &MediaSpec)> {
        let (_, response) = self.response_with_body()?;
        let actual = essence(self.answer.header("content-type")?);
        response.content.iter().enumerate().find(|(_, m)| admits(&m.media_type, &actual))
    }
}

/// What the checks of one answer found: the checks that applied, and their failures.
#[derive(Debug, Default)]
pub(crate) struct Findings {
    ran: Vec<CheckId>,
    failures: Vec<Failure>,
}

impl Findings {
    /// `check` applied to this answer.
    pub(crate) fn ran(&mut self, check: CheckId) {
        self.ran.push(check);
    }

    /// `check` failed: `title` identifies the violation, `detail` explains it.
    pub(crate) fn fail(&mut self, check: CheckId, title: String, detail: String) {
        self.failures.push(Failure { check, title, detail });
    }
}

/// A check: looks at one answer, records whether it applied and what failed.
type Check = fn(&Seen<'_>, &mut Findings);

/// The registry, in the order the checks run and are reported. Each check is one file, named for
/// the property it asserts, and decides itself whether it applies.
const REGISTRY: [Check; 7] = [
    not_a_server_error::check,
    status_code_conformance::check,
    max_response_time::check,
    expected_status::check,
    response_headers_conformance::check,
    content_type_conformance::check,
    response_schema_conformance::check,
];

/// Runs every check that applies to `answer` of operation `(api, op)`; returns the checks that
/// ran and the failures.
pub fn check(
    cx: &Context<'_>,
    api: usize,
    op: usize,
    expect: &Expect,
    answer: &Answer,
) -> (Vec<CheckId>, Vec<Failure>) {
    let seen = Seen { cx, api, op, operation: &cx.specs.apis[api].operations[op], expect, answer };
    let mut findings = Findings::default();
    for check in REGISTRY {
        check(&seen, &mut findings);
    }
    (findings.ran, findings.failures)
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
pub(crate) fn generic(pointer: &str) -> String {
    pointer
        .split('/')
        .map(|segment| if !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()) { "*" } else { segment })
        .collect::<Vec<_>>()
        .join("/")
}

pub(crate) fn or_root(pointer: &str) -> &str {
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
