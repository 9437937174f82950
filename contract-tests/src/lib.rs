//! Sandgate's contract tests: given OpenAPI documents, a base URL and credentials, generate
//! requests (valid with boundaries, invalid, credential cases, stateful sequences), check every
//! answer against the documents and report (text, JUnit XML, JSON), with a replayable request
//! sequence for each violation.
//!
//! The pipeline: `spec` (load and select) → `plan` (cases from `cases`) → `run` (send, bind,
//! check with `checks`; `diff` in differential mode) → `report`. It reuses the emulator's OpenAPI
//! engine: its model, its generator for request data and its validator to decide whether a
//! generated request is valid or invalid before it is sent.

pub mod cases;
pub mod checks;
pub mod cli;
pub mod diff;
pub mod error;
pub mod fetch;
pub mod outcome;
pub mod plan;
pub mod report;
pub mod run;
pub mod spec;

/// Exit code when every check passed.
pub const EXIT_PASSED: u8 = 0;
/// Exit code when a check failed.
pub const EXIT_FAILED: u8 = 1;
/// Exit code of the CLI for usage, config or spec errors.
pub const EXIT_USAGE: u8 = 2;

use std::sync::Arc;
use std::time::Instant;

use cases::Case;
pub use error::ContractError;
use plan::PlanOptions;
use report::Report;
use run::{Settings, Target};
use spec::Specs;

/// One contract run: what to test, against which server, how.
pub struct Job {
    /// The loaded specs.
    pub specs: Specs,
    /// What to generate.
    pub options: PlanOptions,
    /// The server under test.
    pub target: Target,
    /// A second server, in differential mode.
    pub against: Option<Target>,
    /// Workers and budgets.
    pub settings: Settings,
    /// Cases to run instead of planning them (replay): `(api, op, case)`.
    pub cases: Option<Vec<(usize, usize, Case)>>,
}

/// Plans (unless the job brings its cases), runs with a progress display, and reports.
pub async fn check(job: Job) -> Result<Report, ContractError> {
    let Job { specs, options, target, against, settings, cases } = job;
    let planned = match cases {
        Some(cases) => plan::replay(&specs, &options, cases),
        None => plan::plan(&specs, &options)?,
    };
    let specs = Arc::new(specs);
    let total = planned.cases.len();
    let progress = Arc::new(report::progress::Progress::new(total));
    let started = Instant::now();
    let base_url = target.base_url.clone();
    let against_url = against.as_ref().map(|a| a.base_url.clone());
    let on_done = Arc::clone(&progress);
    let runs = run::run(
        Arc::clone(&specs),
        Arc::new(planned.values),
        planned.cases,
        target,
        against,
        settings,
        Arc::new(move |run| on_done.case_done(run)),
    )
    .await;
    progress.finish();
    let runs = runs?;
    Ok(report::build(
        &specs,
        &runs,
        &planned.skipped,
        &planned.selected,
        &base_url,
        against_url.as_deref(),
        options.seed,
        started.elapsed().as_secs_f64(),
        total,
    ))
}
