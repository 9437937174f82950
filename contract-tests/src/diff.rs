//! Differential mode: the same sequence sent to two servers (the TRAINING emulator and a
//! PRODUCTION backend), each pair of answers compared by status, media type, documented
//! headers and body shape (the types of the fields both carry, not values: the data differs by
//! design).

use serde_json::Value;

use crate::checks::{CheckId, Failure};
use crate::outcome::CaseRun;
use crate::spec::Specs;

/// Most shape differences reported per answer.
const MAX_DIFFERENCES: usize = 5;

/// Adds a `responses_agree` result to each step of `run` that `other` (from `other_url`) ran too.
pub fn compare(specs: &Specs, run: &mut CaseRun, other: &CaseRun, other_url: &str) {
    for (index, (mine, theirs)) in run.exchanges.iter().zip(&other.exchanges).enumerate() {
        let (Some(a), Some(b)) = (&mine.answer, &theirs.answer) else { continue };
        let mut differences = Vec::new();
        if a.status != b.status {
            differences.push(format!("status {} here, {} at {other_url}", a.status, b.status));
        }
        let media = |answer: &crate::checks::Answer| {
            answer.header("content-type").map(sandgate_openapi::validate::body::essence).unwrap_or_default()
        };
        if media(a) != media(b) {
            differences.push(format!("Content-Type {:?} here, {:?} at {other_url}", media(a), media(b)));
        }
        // Headers the spec documents for this answer that only one server sends.
        let step = run.results.get(index).map(|r| &specs.apis[r.api].operations[r.op]);
        let documented = step.and_then(|op| op.response_for(a.status)).filter(|_| a.status == b.status);
        for header in documented.into_iter().flat_map(|r| &r.headers) {
            match (a.header(&header.name).is_some(), b.header(&header.name).is_some()) {
                (true, false) => differences.push(format!("header {} sent here, not at {other_url}", header.name)),
                (false, true) => differences.push(format!("header {} not sent here, sent at {other_url}", header.name)),
                _ => {}
            }
        }
        if a.status == b.status {
            let parsed = (serde_json::from_str::<Value>(&a.body), serde_json::from_str::<Value>(&b.body));
            if let (Ok(x), Ok(y)) = parsed {
                shape_differences("", &x, &y, other_url, &mut differences);
            }
        }
        let Some(result) = run.results.get_mut(index) else { continue };
        result.ran.push(CheckId::ResponsesAgree);
        if !differences.is_empty() {
            differences.truncate(MAX_DIFFERENCES);
            let title = differences[0].split(" here").next().unwrap_or_default().to_owned();
            result.failures.push(Failure {
                check: CheckId::ResponsesAgree,
                title: format!("answers differ: {title}"),
                detail: differences.join("; "),
            });
        }
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Where two JSON values differ in shape: the types of what both carry.
fn shape_differences(at: &str, a: &Value, b: &Value, other_url: &str, out: &mut Vec<String>) {
    if out.len() >= MAX_DIFFERENCES {
        return;
    }
    match (a, b) {
        // Keys on one side only are optional data that happened to be there, not a different
        // shape: only fields both answers carry are compared.
        (Value::Object(x), Value::Object(y)) => {
            for (key, value) in x {
                if let Some(other) = y.get(key) {
                    shape_differences(&format!("{at}/{key}"), value, other, other_url, out);
                }
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            if let (Some(first), Some(other)) = (x.first(), y.first()) {
                shape_differences(&format!("{at}/0"), first, other, other_url, out);
            }
        }
        // A null against a value is optional data, not a different shape.
        (Value::Null, _) | (_, Value::Null) => {}
        _ if kind(a) != kind(b) => {
            let at = if at.is_empty() { "the body" } else { at };
            out.push(format!("{at} is {} here, {} at {other_url}", kind(a), kind(b)));
        }
        _ => {}
    }
}
