//! The answers that are not the documented success: a scenario's, and the refusals (401 in the
//! spec's shape, 404 for a stored object that is not there, 503 when the state store fails).

use serde_json::Value;

use crate::compile::{Answer, AnswerBody};
use crate::error::EmulatorError;
use crate::scenario;
use crate::seed::{fnv1a, FNV_OFFSET};
use crate::{EmuResponse, Emulator, SCENARIO_HEADER};
use sandgate_core::problem::{problem_body, ProblemKind, PROBLEM_JSON};
use sandgate_openapi::router::OperationId;

impl Emulator {
    /// The answer of a scenario: its body, or fields over the fabricated documented body.
    pub(crate) fn scenario_answer(
        &self,
        id: OperationId,
        scenario: &scenario::Scenario,
        outcome: scenario::Answer,
        seed: u64,
    ) -> EmuResponse {
        let answers = &self.answers[id.api][id.op];
        // `compile` checked that the status is documented.
        let Some(answer) = answers.for_status(scenario.status) else {
            return problem(ProblemKind::Internal, "a scenario answered an undocumented status");
        };
        let fabricated = || match &answer.body {
            AnswerBody::Generate(program) => program.generate(seed),
            AnswerBody::Example(example) => example.clone(),
            AnswerBody::Empty => Value::Null,
        };
        let body = match outcome {
            scenario::Answer::Body(body) => body,
            scenario::Answer::Fabricated | scenario::Answer::Continue => fabricated(),
            scenario::Answer::Merge(fields) => {
                // Only fields this version documents: one rule can serve versions whose answers
                // differ (`total_amount` in one, `amount` in the next).
                let documented = |name: &String| answer.fields.as_ref().is_none_or(|known| known.contains(name));
                let fields = fields.into_iter().filter(|(name, _)| documented(name));
                match fabricated() {
                    Value::Object(mut object) => {
                        object.extend(fields);
                        Value::Object(object)
                    }
                    _ => Value::Object(fields.collect()),
                }
            }
        };
        let bodiless = matches!(scenario.status, 204 | 205 | 304) || answer.media_type.is_none() || body.is_null();
        let body = if bodiless { Vec::new() } else { serde_json::to_vec(&body).unwrap_or_default() };
        let content_type = if body.is_empty() { None } else { answer.media_type.clone() };
        let headers = vec![(SCENARIO_HEADER.into(), scenario.name.clone())];
        EmuResponse { status: scenario.status, content_type, headers, body }
    }

    /// The 401 of an operation: problem+json when its documented 401 takes it, else the
    /// documented 401 fabricated; `WWW-Authenticate` names the scheme.
    pub(crate) fn unauthorized(&self, id: OperationId, detail: &str) -> EmuResponse {
        let mut response = problem(ProblemKind::Unauthenticated, detail);
        let answer = self.answers[id.api][id.op].for_status(401);
        if let Some(Answer { media_type: Some(media), body: AnswerBody::Generate(program), .. }) = answer {
            if !media.contains("problem+json") {
                response.content_type = Some(media.clone());
                response.body =
                    serde_json::to_vec(&program.generate(fnv1a(FNV_OFFSET, detail.as_bytes()))).unwrap_or_default();
            }
        }
        response.headers.push(("www-authenticate".into(), "Bearer realm=\"sandgate\"".to_owned()));
        response
    }

    /// The 404 of an operation: its documented 404 (example, else fabricated), else problem+json.
    pub(crate) fn not_found(&self, id: OperationId, detail: &str) -> EmuResponse {
        let Some(answer) = self.answers[id.api][id.op].for_status(404) else {
            return problem(ProblemKind::NotFound, detail);
        };
        let body = match (answer.examples.first(), &answer.body) {
            (Some((_, example)), _) | (None, AnswerBody::Example(example)) => {
                serde_json::to_vec(example).unwrap_or_default()
            }
            (None, AnswerBody::Generate(program)) => {
                serde_json::to_vec(&program.generate(fnv1a(FNV_OFFSET, detail.as_bytes()))).unwrap_or_default()
            }
            (None, AnswerBody::Empty) => Vec::new(),
        };
        let content_type = if body.is_empty() { None } else { answer.media_type.clone() };
        EmuResponse { status: 404, content_type, headers: Vec::new(), body }
    }
}

pub(crate) fn state_unavailable(error: &EmulatorError) -> EmuResponse {
    tracing::error!(error = %error, "emulator state unavailable");
    problem(ProblemKind::StoreUnavailable, "the sandbox state could not be read or written; retry")
}

pub(crate) fn problem(kind: ProblemKind, detail: &str) -> EmuResponse {
    EmuResponse {
        status: kind.status(),
        content_type: Some(PROBLEM_JSON.to_owned()),
        headers: Vec::new(),
        body: problem_body(kind, detail, None, None),
    }
}
