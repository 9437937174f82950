//! Sandgate's emulator: serves any OpenAPI document as a realistic TRAINING backend.
//!
//! It stands on `sandgate-openapi` (model, routing, validation, fabrication). This file holds the
//! `Emulator` and what it offers besides answering; the rest is one module per job: `request`
//! (what it takes and gives), `options`, `compile` (start-up), `pipeline` ([`Emulator::handle`],
//! top to bottom, stripe-mock style: route → validate → `prefer` → `scenario` → `state` →
//! fabricate → `events` → answer), `refusal` (scenario answers and refusals), `answer` (errors in
//! the spec's own shape), `scrub`, `seed`.
//!
//! Run it standalone with `sandgate emulator --specs specs/` (see [`standalone`]); the gateway calls
//! [`Emulator::handle`] in-process for the TRAINING environment.

pub mod answer;
mod compile;
mod conform;
mod error;
mod error_code;
pub mod events;
mod fabricated;
pub mod idempotency;
mod media;
mod options;
mod pipeline;
pub mod prefer;
mod refusal;
mod request;
pub mod scenario;
pub mod scrub;
mod seed;
pub mod standalone;
pub mod state;

use std::sync::OnceLock;

use http::Method;
use serde_json::Value;

use answer::ErrorAnswer;
use sandgate_openapi::generate::Program;
use sandgate_openapi::router::{RouteMatch, Router};
use sandgate_openapi::validate::RequestCheck;
use sandgate_openapi::{Api, Operation};
use state::act::Stateful;
use state::StateStore;

use compile::OperationAnswers;
pub use error::EmulatorError;
pub use options::EmulatorOptions;
pub use request::{EmuRequest, EmuResponse, SCENARIO_HEADER, SEED_HEADER};

/// Serves a set of OpenAPI documents.
#[derive(Debug)]
pub struct Emulator {
    apis: Vec<Api>,
    router: Router,
    /// `answers[api][op]`.
    answers: Vec<Vec<OperationAnswers>>,
    /// `checks[api][op]`: compiled on an operation's first request.
    checks: Vec<Vec<OnceLock<Result<Checks, String>>>>,
    /// `stateful[api][op]`: the operation's part in the state, if any.
    stateful: Vec<Vec<Option<Stateful>>>,
    /// `callbacks[api][op]`: the operation's callbacks with their body generators.
    callbacks: Vec<Vec<Vec<CompiledCallback>>>,
    /// `scenarios[api][op]`: business rules, first match answers.
    scenarios: Vec<Vec<Vec<scenario::Scenario>>>,
    /// Objects every partner finds, seeded on first touch and after each scrub.
    fixtures: state::fixtures::Fixtures,
    state: Box<dyn StateStore>,
    options: EmulatorOptions,
    /// Fabricated bodies already serialised (generation is a pure function of the seed).
    fabricated: fabricated::FabricatedBodies,
    /// `sets[api][op]`: the compiled schemas of the operation's document, for bodies compiled
    /// on demand (a documented error code asked for by name).
    sets: Vec<Vec<std::sync::Arc<sandgate_openapi::generate::CompiledSet>>>,
    /// `messages[api]`: the scenario files' texts per language, by key (an error code's message).
    messages: Vec<serde_json::Map<String, Value>>,
}

/// A callback with the generator of its body.
type CompiledCallback = (sandgate_openapi::Callback, Option<Program>);

/// What validating one operation's requests needs: the checks and how to answer a failure.
#[derive(Debug)]
struct Checks {
    request: RequestCheck,
    error: ErrorAnswer,
}

impl Emulator {
    /// The loaded APIs.
    pub fn apis(&self) -> &[Api] {
        &self.apis
    }

    /// Number of routes served.
    pub fn route_count(&self) -> usize {
        self.router.len()
    }

    /// The operation `method path` resolves to, if any.
    pub fn operation(&self, method: &Method, path: &str) -> Option<&Operation> {
        match self.router.find(method, path) {
            RouteMatch::Found(id, _) => Some(&self.apis[id.api].operations[id.op]),
            _ => None,
        }
    }

    /// The self-contained JSON Schema (2020-12) of the JSON body documented for `status` of the
    /// operation `method path`, for validating responses (tests, contract checks).
    pub fn response_schema(&self, method: &Method, path: &str, status: u16) -> Option<Value> {
        let op = self.operation(method, path)?;
        let schema = op.response_for(status)?.json()?.schema.as_ref()?;
        Some(op.schemas.json_schema(schema))
    }

    /// Removes every stored object in `scope` at once; how many were removed.
    pub fn scrub(&self, scope: state::ScrubScope<'_>) -> Result<usize, EmulatorError> {
        let removed = self.state.scrub(scope);
        // Fixtures come back on the next request that reaches their collection.
        self.fixtures.forget();
        removed
    }

    /// Whether answering may wait on a database server (the state is in PostgreSQL): an async
    /// caller should then call [`Emulator::handle`] from a blocking thread.
    pub fn state_is_remote(&self) -> bool {
        self.state.is_remote()
    }

    /// Whether the state store answers a trivial read (`/readyz`).
    pub fn state_answers(&self) -> bool {
        let probe = state::Tenant { environment: "readyz", partner: "readyz" };
        self.state.count(probe, "readyz").is_ok()
    }

    /// The next scheduled scrub, if scrubs are scheduled.
    pub fn next_scrub(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        self.options.scrub.map(|schedule| schedule.next_after(chrono::Utc::now()))
    }
}
