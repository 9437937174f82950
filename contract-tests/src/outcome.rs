//! What a run produced: each case's exchanges (request as sent, answer) and the checks that ran
//! on them. Written by `run`, read by `diff` and `report`, so those two never need `run`.

use serde::{Deserialize, Serialize};

use crate::cases::{Auth, Case, Request};
use crate::checks::{Answer, CheckId, Failure};

/// One request as sent, with its answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Exchange {
    /// The operation.
    pub operation: String,
    /// The request as sent (bound values in; credentials shown as `$TOKEN`).
    pub request: Request,
    /// Which credentials it carried.
    pub auth: Auth,
    /// The answer (`None`: the request failed in transport).
    pub answer: Option<Answer>,
}

/// One case as run.
#[derive(Debug, Clone)]
pub struct CaseRun {
    /// The API and operation the case tests.
    pub api: usize,
    /// The operation index.
    pub op: usize,
    /// The case.
    pub case: Case,
    /// What was sent and received, in order (fewer than the steps when a setup step failed).
    pub exchanges: Vec<Exchange>,
    /// Per exchange: `(api, op)`, checks that ran and failures.
    pub results: Vec<StepResult>,
    /// Why the case stopped early, if it did (a setup step that did not succeed).
    pub stopped: Option<String>,
}

/// The checks of one exchange.
#[derive(Debug, Clone)]
pub struct StepResult {
    /// The API of the step.
    pub api: usize,
    /// The operation of the step.
    pub op: usize,
    /// Checks that ran.
    pub ran: Vec<CheckId>,
    /// Those that failed.
    pub failures: Vec<Failure>,
}
