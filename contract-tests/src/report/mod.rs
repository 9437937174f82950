//! The results of a run: findings (distinct violations, each with the request sequence that
//! shows it, curl lines, seed and spec hash), outcomes per operation × check, and coverage of the
//! documented statuses and media types. Written as text, JUnit XML and JSON.

pub mod junit;
pub mod progress;
pub mod text;

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::cases::{Auth, Case, Request};
use crate::checks::{status_key, CheckId};
use crate::error::ContractError;
use crate::outcome::{CaseRun, Exchange};
use crate::spec::Specs;

/// Everything a run found.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    /// `sandgate contract` and its version.
    pub tool: String,
    /// The server tested.
    pub base_url: String,
    /// The second server, in differential mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub against: Option<String>,
    /// The base seed.
    pub seed: u64,
    /// SHA-256 of the specs.
    pub spec_hash: String,
    /// The spec files.
    pub specs: Vec<PathBuf>,
    /// Wall time of the run, seconds.
    pub seconds: f64,
    /// Cases run.
    pub cases: usize,
    /// Requests sent.
    pub requests: usize,
    /// Cases not run because the time budget ran out.
    pub cases_not_run: usize,
    /// Sequences that stopped before their tested step, by reason (a setup step that did not
    /// succeed, credentials that could not be had): how many.
    #[serde(default)]
    pub cases_stopped: BTreeMap<String, usize>,
    /// Distinct violations, in the order found.
    pub findings: Vec<Finding>,
    /// Per operation: every check's passes and failures, and coverage.
    pub operations: Vec<OperationOutcome>,
    /// Where the server is stricter than its spec: each distinct reason it gave for refusing a
    /// request the spec allows, with the value that provoked it.
    #[serde(default)]
    pub stricter: Vec<Stricter>,
}

/// A constraint the server enforces and its spec does not state.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Stricter {
    /// The operation that refused.
    pub operation: String,
    /// What the request tried (`empty string of body property name`), from its case.
    pub tried: String,
    /// The status it was refused with.
    pub status: u16,
    /// The fields the server named (`/note`, `scopes.0`), when it named any: refusals that name
    /// the same fields are one constraint, whatever value each request carried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fields: Option<String>,
    /// What the server said, read from its answer (the fields a problem+json names, else its
    /// detail or title, else the start of the body).
    pub reason: String,
    /// How many refused requests gave this reason.
    pub occurrences: usize,
}

/// One distinct violation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Finding {
    /// The check that failed.
    pub check: CheckId,
    /// The operation whose answer failed it.
    pub operation: String,
    /// The API (`title version`).
    pub api: String,
    /// One line.
    pub title: String,
    /// The explanation: spec location, schema path, value, expected.
    pub detail: String,
    /// How many answers showed it.
    pub occurrences: usize,
    /// The case that first showed it (replayable: values bound from answers are re-read).
    pub case: Case,
    /// What was sent and received, the last exchange being the failing one.
    pub exchanges: Vec<Exchange>,
    /// One curl line per exchange, as sent.
    pub curl: Vec<String>,
    /// The base seed of the run.
    pub seed: u64,
    /// SHA-256 of the specs it was found with.
    pub spec_hash: String,
    /// The spec files.
    pub specs: Vec<PathBuf>,
}

/// One operation's results.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OperationOutcome {
    /// The API (`title version`).
    pub api: String,
    /// The operation.
    pub operation: String,
    /// `METHOD /path`.
    pub route: String,
    /// Per check: answers that passed it and that failed it.
    pub checks: BTreeMap<CheckId, (usize, usize)>,
    /// Documented statuses (as written: `200`, `4XX`, `default`).
    pub documented_statuses: Vec<String>,
    /// Statuses answered.
    pub seen_statuses: Vec<u16>,
    /// Documented response media types.
    pub documented_media: Vec<String>,
    /// Media types answered.
    pub seen_media: Vec<String>,
    /// Why the operation was not tested, if it was not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    /// Wall time spent on its cases, seconds.
    pub seconds: f64,
}

/// Builds the report of `runs`.
#[allow(clippy::too_many_arguments)]
pub fn build(
    specs: &Specs,
    runs: &[CaseRun],
    skipped: &[(usize, usize, ContractError)],
    selected: &[(usize, usize)],
    base_url: &str,
    against: Option<&str>,
    seed: u64,
    seconds: f64,
    planned: usize,
) -> Report {
    let api_name = |a: usize| format!("{} {}", specs.apis[a].title, specs.apis[a].version).trim().to_owned();
    let mut operations: BTreeMap<(usize, usize), OperationOutcome> = BTreeMap::new();
    for (a, api) in specs.apis.iter().enumerate() {
        for (o, op) in api.operations.iter().enumerate() {
            if !selected.contains(&(a, o)) {
                continue;
            }
            let mut documented_media: Vec<String> =
                op.responses.iter().flat_map(|r| r.content.iter().map(|m| m.media_type.clone())).collect();
            documented_media.sort();
            documented_media.dedup();
            operations.insert(
                (a, o),
                OperationOutcome {
                    api: api_name(a),
                    operation: op.label(),
                    route: format!("{} {}{}", op.method, api.base_path, op.path),
                    checks: BTreeMap::new(),
                    documented_statuses: op.responses.iter().map(status_key).collect(),
                    seen_statuses: Vec::new(),
                    documented_media,
                    seen_media: Vec::new(),
                    skipped: skipped.iter().find(|(x, y, _)| (*x, *y) == (a, o)).map(|(_, _, why)| why.to_string()),
                    seconds: 0.0,
                },
            );
        }
    }
    let shared = FindingContext { specs, base_url, seed, api_name: &api_name };
    let mut findings: Vec<Finding> = Vec::new();
    let mut requests = 0;
    let mut cases_stopped = BTreeMap::new();
    let mut stricter = Vec::new();
    for run in runs {
        requests += run.exchanges.len();
        if let Some(why) = &run.stopped {
            *cases_stopped.entry(why.clone()).or_default() += 1;
        }
        for (index, (exchange, result)) in run.exchanges.iter().zip(&run.results).enumerate() {
            // A setup step of an operation that was not selected still reports what it found.
            record_findings(&mut findings, run, index, result, &shared);
            if result.failures.iter().any(|f| f.check == CheckId::PositiveDataAcceptance) {
                record_stricter(&mut stricter, run, index);
            }
            let Some(outcome) = operations.get_mut(&(result.api, result.op)) else { continue };
            if let Some(answer) = &exchange.answer {
                outcome.seconds += answer.elapsed.as_secs_f64();
                if !outcome.seen_statuses.contains(&answer.status) {
                    outcome.seen_statuses.push(answer.status);
                }
                let media = answer.header("content-type").map(sandgate_openapi::validate::body::essence);
                if let Some(media) = media.filter(|m| !outcome.seen_media.contains(m)) {
                    outcome.seen_media.push(media);
                }
            }
            for check in &result.ran {
                let failed = result.failures.iter().any(|f| f.check == *check);
                let counts = outcome.checks.entry(*check).or_default();
                if failed {
                    counts.1 += 1;
                } else {
                    counts.0 += 1;
                }
            }
        }
    }
    for outcome in operations.values_mut() {
        outcome.seen_statuses.sort_unstable();
        outcome.seen_media.sort();
    }
    Report {
        tool: format!("sandgate contract {}", env!("CARGO_PKG_VERSION")),
        base_url: base_url.to_owned(),
        against: against.map(str::to_owned),
        seed,
        spec_hash: specs.hash.clone(),
        specs: specs.files.clone(),
        seconds,
        cases: runs.len(),
        requests,
        cases_not_run: planned.saturating_sub(runs.len()),
        cases_stopped,
        findings,
        operations: operations.into_values().collect(),
        stricter,
    }
}

/// Adds what the server said when it refused valid step `index` of `run`: a new constraint, or
/// one more occurrence of a known one (same operation and status, and the same fields named or,
/// when none is, the same words).
fn record_stricter(stricter: &mut Vec<Stricter>, run: &CaseRun, index: usize) {
    let exchange = &run.exchanges[index];
    let Some(answer) = &exchange.answer else { return };
    let (fields, reason) = refusal(&answer.body);
    let same = |s: &&mut Stricter| {
        s.operation == exchange.operation
            && s.status == answer.status
            && match (&s.fields, &fields) {
                (Some(known), Some(new)) => known == new,
                (None, None) => s.reason == reason,
                _ => false,
            }
    };
    if let Some(known) = stricter.iter_mut().find(same) {
        known.occurrences += 1;
        return;
    }
    let title = run.case.title.strip_prefix("valid: ").unwrap_or(&run.case.title);
    let tried =
        if index + 1 == run.case.steps.len() { title.to_owned() } else { format!("step {} of {title}", index + 1) };
    let operation = exchange.operation.clone();
    stricter.push(Stricter { operation, tried, status: answer.status, fields, reason, occurrences: 1 });
}

/// Why a server refused, in its own words: the fields it names (a problem+json's `field` or
/// `pointer`, or those of its `errors` / `invalid_params` items), and what it said (each field's
/// `detail`/`message`/`reason`, else the body's `detail`, `message` or `title`, else the start
/// of the body).
pub fn refusal(body: &str) -> (Option<String>, String) {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(body) else {
        return (None, crate::checks::excerpt(body));
    };
    let text = |v: &serde_json::Value, keys: &[&str]| keys.iter().find_map(|k| v.get(*k)?.as_str().map(str::to_owned));
    const PLACE: [&str; 5] = ["pointer", "field", "name", "path", "parameter"];
    const WHY: [&str; 4] = ["detail", "message", "reason", "title"];
    let errors = ["errors", "invalid_params", "invalid-params"].iter().find_map(|k| value.get(*k)?.as_array());
    let mut places = Vec::new();
    let mut reasons = Vec::new();
    for error in errors.into_iter().flatten() {
        let place = text(error, &PLACE);
        let why = text(error, &WHY);
        reasons.extend(match (&place, why) {
            (Some(place), Some(why)) => Some(format!("{place}: {why}")),
            (place, why) => place.clone().or(why),
        });
        places.extend(place);
    }
    if reasons.is_empty() {
        places.extend(text(&value, &["field", "pointer"]));
        reasons.extend(text(&value, &["detail", "message", "error_description", "title", "error"]));
    }
    let reason = if reasons.is_empty() { crate::checks::excerpt(body) } else { reasons.join("; ") };
    ((!places.is_empty()).then(|| places.join(", ")), reason)
}

/// What every finding of a run shares.
struct FindingContext<'a> {
    specs: &'a Specs,
    base_url: &'a str,
    seed: u64,
    api_name: &'a dyn Fn(usize) -> String,
}

/// Adds the failures of step `index` of `run` to `findings`: a new finding, or one more
/// occurrence of a known one (same check, operation, API and problem).
fn record_findings(
    findings: &mut Vec<Finding>,
    run: &CaseRun,
    index: usize,
    result: &crate::run::StepResult,
    cx: &FindingContext<'_>,
) {
    let operation = &run.exchanges[index].operation;
    for failure in &result.failures {
        let api = (cx.api_name)(result.api);
        let same = findings.iter_mut().find(|f| {
            f.check == failure.check && f.operation == *operation && f.api == api && f.title == failure.title
        });
        if let Some(known) = same {
            known.occurrences += 1;
            continue;
        }
        let exchanges = run.exchanges[..=index].to_vec();
        let curl = exchanges.iter().map(|e| curl(cx.base_url, &e.request, &e.auth)).collect();
        let mut case = run.case.clone();
        case.steps.truncate(index + 1);
        findings.push(Finding {
            check: failure.check,
            operation: operation.clone(),
            api,
            title: failure.title.clone(),
            detail: failure.detail.clone(),
            occurrences: 1,
            case,
            exchanges,
            curl,
            seed: cx.seed,
            spec_hash: cx.specs.hash.clone(),
            specs: cx.specs.files.clone(),
        });
    }
}

/// A curl line that sends `request` again (credentials as `$TOKEN`, never the secret itself).
pub fn curl(base_url: &str, request: &Request, auth: &Auth) -> String {
    let quote = |text: &str| format!("'{}'", text.replace('\'', "'\\''"));
    let mut line = format!("curl -sS -i -X {} {}", request.method, quote(&format!("{base_url}{}", request.target())));
    for (name, value) in &request.headers {
        line.push_str(&format!(" -H {}", quote(&format!("{name}: {value}"))));
    }
    match auth {
        Auth::Without => {}
        Auth::Default => line.push_str(" -H \"Authorization: Bearer $TOKEN\""),
        Auth::Foreign => line.push_str(" -H \"Authorization: Bearer $FOREIGN_TOKEN\""),
        Auth::Scope { .. } => line.push_str(" -H \"Authorization: Bearer $SCOPED_TOKEN\""),
    }
    if let Some(body) = &request.body {
        line.push_str(&format!(" --data-binary {}", quote(body)));
    }
    line
}

impl Report {
    /// Whether every check passed.
    pub fn passed(&self) -> bool {
        self.findings.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::refusal;

    #[test]
    fn a_refusal_is_read_for_the_fields_it_names_and_its_words() {
        let sandgate =
            r#"{"detail":"must be one of [a, b]; got \"x\"","field":"type","status":422,"title":"Invalid value"}"#;
        assert_eq!(refusal(sandgate), (Some("type".to_owned()), "must be one of [a, b]; got \"x\"".to_owned()));
        let listed =
            r#"{"title":"bad","errors":[{"pointer":"/a","detail":"empty"},{"pointer":"/b","message":"long"}]}"#;
        assert_eq!(refusal(listed), (Some("/a, /b".to_owned()), "/a: empty; /b: long".to_owned()));
        assert_eq!(refusal(r#"{"title":"nope"}"#), (None, "nope".to_owned()));
        assert_eq!(refusal("plain words"), (None, "plain words".to_owned()));
    }
}
