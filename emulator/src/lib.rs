//! Sandgate's emulator: serves any OpenAPI document as a realistic TRAINING backend.
//!
//! It is also the project's OpenAPI engine (model, normalised JSON Schemas, fabrication) and holds
//! the problem+json table shared by the gateway and the CLI.
//!
//! The pipeline, stripe-mock style, reads top to bottom in [`Emulator::handle`]:
//! spec (`openapi`) → route (`router`) → validate the request (`validate`) → choose the response
//! (`prefer`) → business rules (`scenario`) → act on the state (`state`) → fabricate (`generate`)
//! → answer. Every answer says when the next `scrub` empties the state. Webhooks grow here in a
//! module of their own.
//!
//! Run it standalone with `sandgate emulator --specs specs/` (see [`standalone`]); the gateway calls
//! [`Emulator::handle`] in-process for the TRAINING environment.

pub mod answer;
pub mod events;
pub mod prefer;
pub mod scenario;
pub mod scrub;
pub mod standalone;
pub mod state;

use std::borrow::Cow;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use http::{HeaderMap, Method};
use serde_json::Value;

use answer::ErrorAnswer;
use events::Event;
use prefer::Preference;
use sandgate_core::problem::{problem_body, ProblemKind, PROBLEM_JSON};
use sandgate_openapi::generate::{CompiledSet, Program};
use sandgate_openapi::router::{OperationId, RouteMatch, Router};
use sandgate_openapi::validate::{ParsedRequest, RequestCheck, Verdict};
use sandgate_openapi::{Api, LoadError, Operation, ResponseSpec, StatusKey};
use state::act::{Acted, Stateful};
use state::{StateBackend, StateStore, Tenant};

/// A request header that fixes the fabrication seed for one request (any u64).
pub const SEED_HEADER: &str = "x-sandgate-seed";
/// A response header naming the scenario that answered.
pub const SCENARIO_HEADER: &str = "sandgate-scenario";

/// One request as the emulator sees it, whoever transported it (the gateway in-process, or HTTP).
#[derive(Debug, Clone, Copy)]
pub struct EmuRequest<'a> {
    /// The HTTP method.
    pub method: &'a Method,
    /// The path, without the query string.
    pub path: &'a str,
    /// The raw query string, without `?`.
    pub query: Option<&'a str>,
    /// The request headers.
    pub headers: &'a HeaderMap,
    /// The request body.
    pub body: &'a [u8],
    /// Whose state it reads and writes (the gateway's verified identity); `None`: the emulator's
    /// configured default tenant.
    pub tenant: Option<Tenant<'a>>,
    /// The calling application (the gateway's verified identity), whose subscriptions receive the
    /// events the request raises.
    pub application: Option<&'a str>,
}

/// The emulator's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct EmuResponse {
    /// HTTP status.
    pub status: u16,
    /// `Content-Type` of `body` (`None` when there is no body).
    pub content_type: Option<String>,
    /// Extra headers (e.g. `Allow` on 405, the headers the spec documents for the answer).
    pub headers: Vec<(Cow<'static, str>, String)>,
    /// The body.
    pub body: Vec<u8>,
}

/// Settings of an emulator.
#[derive(Debug, Clone)]
pub struct EmulatorOptions {
    /// Base seed for fabrication; the same seed and request give the same answer.
    pub seed: u64,
    /// Where created objects are kept.
    pub state: StateBackend,
    /// The environment of requests that carry no tenant (the standalone emulator).
    pub default_environment: String,
    /// The partner of requests that carry no tenant.
    pub default_partner: String,
    /// When scheduled scrubs happen (announced in every answer); `None`: never.
    pub scrub: Option<scrub::ScrubSchedule>,
    /// The bearer tokens (or API keys) accepted from requests without a tenant; empty: any
    /// credential of the documented kind.
    pub tokens: Vec<String>,
    /// Where raised events (scenario webhooks, callbacks) go; `None`: they are dropped.
    pub events: Option<events::Sink>,
}

impl Default for EmulatorOptions {
    fn default() -> Self {
        EmulatorOptions {
            seed: 0,
            state: StateBackend::Memory,
            default_environment: "training".to_owned(),
            default_partner: "standalone".to_owned(),
            scrub: None,
            tokens: Vec::new(),
            events: None,
        }
    }
}

/// The answer compiled for one documented response: status, media type, how to fill the body,
/// and the named examples a client may ask for.
#[derive(Debug)]
struct Answer {
    status: u16,
    media_type: Option<String>,
    body: AnswerBody,
    examples: Vec<(String, Value)>,
    /// The documented response headers (lower-case) and how to fabricate each.
    headers: Vec<(Cow<'static, str>, Program)>,
}

/// Every documented response of an operation, and the one answered by default.
#[derive(Debug)]
struct OperationAnswers {
    default: Answer,
    by_status: Vec<(StatusKey, Answer)>,
}

impl OperationAnswers {
    /// The answer documented for `code`: exact, then its range (`4XX`), then `default`.
    fn for_status(&self, code: u16) -> Option<&Answer> {
        let find = |key: StatusKey| self.by_status.iter().find(|(k, _)| *k == key).map(|(_, a)| a);
        find(StatusKey::Code(code)).or_else(|| find(StatusKey::Range(code / 100))).or_else(|| find(StatusKey::Default))
    }

    fn documented(&self) -> String {
        let keys: Vec<String> = self
            .by_status
            .iter()
            .map(|(key, _)| match key {
                StatusKey::Code(code) => code.to_string(),
                StatusKey::Range(class) => format!("{class}XX"),
                StatusKey::Default => "default".to_owned(),
            })
            .collect();
        keys.join(", ")
    }
}

#[derive(Debug)]
enum AnswerBody {
    Empty,
    Generate(Program),
    Example(Value),
}

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
}

/// A callback with the generator of its body.
type CompiledCallback = (sandgate_openapi::Callback, Option<Program>);

/// What validating one operation's requests needs: the checks and how to answer a failure.
#[derive(Debug)]
struct Checks {
    request: RequestCheck,
    error: ErrorAnswer,
}

/// Why an emulator could not be built: its documents or scenarios (naming file and pointer), or
/// its state store.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    /// A document or scenario file is unreadable or wrong.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// The state store could not be opened.
    #[error(transparent)]
    State(#[from] state::StateError),
}

impl Emulator {
    /// Loads every OpenAPI document and scenario file under `dir` (see [`sandgate_openapi::load_dir`],
    /// [`scenario::load_dir`]) and compiles them.
    pub fn from_dir(dir: &Path, options: EmulatorOptions) -> Result<Emulator, EmulatorError> {
        // Scenario files are read while the documents parse: start-up is mostly parsing.
        let (apis, scenarios) = std::thread::scope(|scope| {
            let scenarios = scope.spawn(|| scenario::load_dir(dir));
            let apis = sandgate_openapi::load_dir(dir);
            (apis, scenarios.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
        });
        Emulator::new(apis?, options)?.with_scenarios(&scenarios?)
    }

    /// Adds the scenarios of `files`; fails naming the file and pointer of a bad one.
    pub fn with_scenarios(mut self, files: &[scenario::ScenarioFile]) -> Result<Emulator, EmulatorError> {
        let compiled = scenario::compile(files, &self.apis)?;
        self.fixtures.extend(scenario::fixtures(files, &self.apis)?);
        for (api, ops) in compiled.into_iter().enumerate() {
            for (op, scenarios) in ops.into_iter().enumerate() {
                self.scenarios[api][op].extend(scenarios);
            }
        }
        Ok(self)
    }

    /// Compiles routes and response generators for `apis`. Fails on a schema the generator cannot
    /// satisfy, naming the file and the JSON pointer.
    pub fn new(apis: Vec<Api>, options: EmulatorOptions) -> Result<Emulator, EmulatorError> {
        let mut compiled: Vec<(Arc<sandgate_openapi::SchemaSet>, Arc<CompiledSet>)> = Vec::new();
        let mut answers = Vec::with_capacity(apis.len());
        let mut stateful = Vec::with_capacity(apis.len());
        let mut callbacks = Vec::with_capacity(apis.len());
        for api in &apis {
            let mut per_op = Vec::with_capacity(api.operations.len());
            let resources = state::infer::infer(api)
                .map_err(|(pointer, problem)| LoadError::invalid(&api.file, pointer, problem))?;
            let mut state_ops = Vec::with_capacity(api.operations.len());
            let mut callback_ops = Vec::with_capacity(api.operations.len());
            for (op, resource) in api.operations.iter().zip(resources) {
                let file = op.inherited_from.as_deref().unwrap_or(&api.file);
                let set = match compiled.iter().find(|(s, _)| Arc::ptr_eq(s, &op.schemas)) {
                    Some((_, set)) => Arc::clone(set),
                    None => {
                        let set = CompiledSet::compile(&op.schemas).map_err(|e| {
                            LoadError::invalid(
                                file,
                                format!("/components/schemas{}", e.pointer.trim_start_matches("#/$defs")),
                                e.problem,
                            )
                        })?;
                        compiled.push((Arc::clone(&op.schemas), Arc::clone(&set)));
                        set
                    }
                };
                per_op.push(
                    compile_answers(op, &set)
                        .map_err(|(pointer, problem)| LoadError::invalid(file, pointer, problem))?,
                );
                let mut compiled_callbacks = Vec::with_capacity(op.callbacks.len());
                for callback in &op.callbacks {
                    let program = callback.schema.as_ref().map(|s| Program::compile(s, &op.schemas, &set)).transpose();
                    let at = |e: sandgate_openapi::generate::CompileError| {
                        LoadError::invalid(
                            file,
                            format!("{}/callbacks/{}{}", op.pointer, callback.name, e.pointer),
                            e.problem,
                        )
                    };
                    compiled_callbacks.push((callback.clone(), program.map_err(at)?));
                }
                callback_ops.push(compiled_callbacks);
                let compiled = resource.map(|r| Stateful::compile(r, op, &set)).transpose();
                state_ops.push(
                    compiled
                        .map_err(|e| LoadError::invalid(file, format!("{}{}", op.pointer, e.pointer), e.problem))?,
                );
            }
            answers.push(per_op);
            stateful.push(state_ops);
            callbacks.push(callback_ops);
        }
        let router = Router::new(&apis);
        let checks = apis.iter().map(|api| api.operations.iter().map(|_| OnceLock::new()).collect()).collect();
        let state = options.state.open()?;
        let scenarios = apis.iter().map(|api| vec![Vec::new(); api.operations.len()]).collect();
        let fixtures = state::fixtures::Fixtures::default();
        Ok(Emulator { apis, router, answers, checks, stateful, callbacks, scenarios, fixtures, state, options })
    }

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
    pub fn scrub(&self, scope: state::ScrubScope<'_>) -> Result<usize, state::StateError> {
        let removed = self.state.scrub(scope);
        // Fixtures come back on the next request that reaches their collection.
        self.fixtures.forget();
        removed
    }

    /// The next scheduled scrub, if scrubs are scheduled.
    pub fn next_scrub(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        self.options.scrub.map(|schedule| schedule.next_after(chrono::Utc::now()))
    }

    /// Answers one request. Never panics on request input; every failure is an HTTP answer, and
    /// every answer carries `Sandgate-Next-Scrub` when scrubs are scheduled.
    pub fn handle(&self, req: &EmuRequest<'_>) -> EmuResponse {
        let mut response = match self.router.find(req.method, req.path) {
            RouteMatch::Found(id, path_params) => {
                let mut response = self.answer(req, id, &path_params);
                self.add_documented_headers(id, &mut response, req);
                response
            }
            RouteMatch::MethodNotAllowed(allowed) => {
                let allow = allowed.iter().map(Method::as_str).collect::<Vec<_>>().join(", ");
                let detail = format!("{} is not served for {}; allowed: {allow}", req.method, req.path);
                let mut response = problem(ProblemKind::MethodNotAllowed, &detail);
                response.headers.push(("allow".into(), allow));
                response
            }
            RouteMatch::NotFound => {
                let detail = format!("no operation matches {} {}", req.method, req.path);
                problem(ProblemKind::UnknownRoute, &detail)
            }
        };
        if let Some(next) = self.next_scrub() {
            let when = next.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            response.headers.push((scrub::NEXT_SCRUB_HEADER.into(), when));
        }
        response
    }

    /// Adds the headers the spec documents for the answer's status that it does not carry yet,
    /// fabricated from their schemas (a client may rely on a documented header being there).
    fn add_documented_headers(&self, id: OperationId, response: &mut EmuResponse, req: &EmuRequest<'_>) {
        let Some(answer) = self.answers[id.api][id.op].for_status(response.status) else { return };
        if answer.headers.is_empty() {
            return;
        }
        let seed = self.seed_for(req, id);
        for (index, (name, program)) in answer.headers.iter().enumerate() {
            if response.headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
                continue;
            }
            let value = match program.generate(seed.wrapping_add(index as u64)) {
                Value::String(text) => text,
                Value::Null => continue,
                other => other.to_string(),
            };
            response.headers.push((name.clone(), value));
        }
    }

    /// The answer to a request routed to operation `id`.
    fn answer(&self, req: &EmuRequest<'_>, id: OperationId, path_params: &[(&str, &str)]) -> EmuResponse {
        // ---- authenticate (behind the gateway, a request with a tenant already is)
        let op = &self.apis[id.api].operations[id.op];
        if req.tenant.is_none() {
            if let Err(detail) =
                sandgate_openapi::validate::security::check(&op.security, req.headers, req.query, &self.options.tokens)
            {
                return self.unauthorized(id, &detail);
            }
        }
        // ---- validate the request
        let checks = match self.checks(id) {
            Ok(checks) => checks,
            Err(detail) => return problem(ProblemKind::Internal, detail),
        };
        let parsed = match checks.request.check(path_params, req.query, req.headers, req.body) {
            Verdict::Valid(parsed) => parsed,
            Verdict::Invalid(violations) => return checks.error.respond(req.method, req.path, &violations),
            Verdict::UnsupportedMediaType(documented) => {
                let sent = req.headers.get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("none");
                // 415 when the spec documents it; otherwise the error it documents for a bad
                // request, so that every answer stays within the spec.
                if op.response_for(415).is_some_and(|r| r.status != sandgate_openapi::StatusKey::Default) {
                    let detail = format!("Content-Type {sent} is not accepted here; send one of {documented:?}");
                    return problem(ProblemKind::UnsupportedMediaType, &detail);
                }
                let violation = sandgate_openapi::validate::Violation {
                    location: sandgate_openapi::validate::In::Header,
                    name: "content-type".to_owned(),
                    message: format!("is not a media type this operation takes; send one of {documented:?}"),
                    value: Some(serde_json::Value::String(sent.to_owned())),
                };
                return checks.error.respond(req.method, req.path, &[violation]);
            }
        };
        // ---- answer, then raise the events it caused
        let mut events = Vec::new();
        let response = self.respond(req, id, &parsed, &mut events);
        if (200..300).contains(&response.status) {
            self.callbacks(req, id, &parsed, &response, &mut events);
        }
        if let (false, Some(sink)) = (events.is_empty(), &self.options.events) {
            sink.emit(self.tenant(req), req.application, events);
        }
        response
    }

    /// Everything after validation: `Prefer`, business rules, state, fabrication.
    fn respond(
        &self,
        req: &EmuRequest<'_>,
        id: OperationId,
        parsed: &ParsedRequest,
        events: &mut Vec<Event>,
    ) -> EmuResponse {
        // ---- choose the response (the default success, or what `Prefer` asks for)
        let preference = match Preference::from_headers(req.headers) {
            Ok(preference) => preference,
            Err(detail) => return problem(ProblemKind::InvalidRequest, &detail),
        };
        let answers = &self.answers[id.api][id.op];
        let (status, answer) = match preference.code {
            None => (answers.default.status, &answers.default),
            Some(code) => match answers.for_status(code) {
                Some(answer) => (code, answer),
                None => {
                    let op = &self.apis[id.api].operations[id.op];
                    let detail = format!("Prefer: code={code}: {} documents {}", op.label(), answers.documented());
                    return problem(ProblemKind::InvalidRequest, &detail);
                }
            },
        };
        let mut applied = prefer::Applied::default();
        if let Some(code) = preference.code {
            applied.push("code", &code.to_string());
        }
        // ---- fixtures the partner should find, then business rules (unless `Prefer` picked one)
        if !self.fixtures.is_empty() {
            let (scenarios, stateful) = (&self.scenarios[id.api][id.op], &self.stateful[id.api][id.op]);
            let touches = |collection: &str| {
                stateful.as_ref().is_some_and(|s| s.resource.collection == collection)
                    || scenarios.iter().any(|s| s.collection() == Some(collection))
            };
            let api = self.apis[id.api].name();
            if let Err(e) = self.fixtures.ensure(self.state.as_ref(), self.tenant(req), api, &touches, &parsed.path) {
                return state_unavailable(&e);
            }
        }
        if preference.code.is_none() {
            for scenario in &self.scenarios[id.api][id.op] {
                match scenario.run(self.apis[id.api].name(), parsed, self.state.as_ref(), self.tenant(req)) {
                    Ok(None) => {}
                    Ok(Some((outcome, event))) => {
                        events.extend(event);
                        return self.scenario_answer(id, scenario, outcome, self.seed_for(req, id));
                    }
                    Err(e) => return state_unavailable(&e),
                }
            }
        }
        // ---- act on the state (unless the client picked an outcome with `Prefer`)
        if let (None, Some(stateful)) = (preference.code, &self.stateful[id.api][id.op]) {
            return match stateful.act(self.state.as_ref(), self.tenant(req), parsed, self.seed_for(req, id)) {
                Ok(Acted::Done(body)) => {
                    let bodiless = matches!(status, 204 | 205 | 304) || answer.media_type.is_none();
                    let body = match body {
                        Some(value) if !bodiless => serde_json::to_vec(&value).unwrap_or_default(),
                        _ => Vec::new(),
                    };
                    let content_type = if body.is_empty() { None } else { answer.media_type.clone() };
                    EmuResponse { status, content_type, headers: Vec::new(), body }
                }
                Ok(Acted::NotFound(detail)) => self.not_found(id, &detail),
                Ok(Acted::NoFreeId(detail)) => problem(ProblemKind::Conflict, &detail),
                Err(e) => state_unavailable(&e),
            };
        }
        // ---- fill the body: a named example, the spec's example, or fabricated data
        let example = match &preference.example {
            Some(name) => match answer.examples.iter().find(|(n, _)| n == name) {
                Some((_, value)) => {
                    applied.push("example", name);
                    Some(value)
                }
                None => {
                    let names: Vec<&str> = answer.examples.iter().map(|(n, _)| n.as_str()).collect();
                    let detail = format!("Prefer: example={name}: the {status} response has the examples {names:?}");
                    return problem(ProblemKind::InvalidRequest, &detail);
                }
            },
            None if preference.dynamic == Some(false) => {
                let first = answer.examples.first().map(|(_, v)| v);
                if first.is_some() {
                    applied.push("dynamic", "false");
                }
                first
            }
            None => None,
        };
        // 204, 205 and 304 never carry a body, whatever the spec says.
        let bodiless = matches!(status, 204 | 205 | 304);
        let body = match (example, &answer.body) {
            _ if bodiless => Vec::new(),
            (Some(example), _) | (None, AnswerBody::Example(example)) => {
                serde_json::to_vec(example).unwrap_or_default()
            }
            (None, AnswerBody::Empty) => Vec::new(),
            (None, AnswerBody::Generate(program)) => {
                if preference.dynamic == Some(true) {
                    applied.push("dynamic", "true");
                }
                serde_json::to_vec(&program.generate(self.seed_for(req, id))).unwrap_or_default()
            }
        };
        let content_type = if body.is_empty() { None } else { answer.media_type.clone() };
        let headers = applied.header().map(|value| ("preference-applied".into(), value)).into_iter().collect();
        EmuResponse { status, content_type, headers, body }
    }

    /// Raises the operation's OpenAPI callbacks after a successful answer: each to the URL its
    /// runtime expression names, with a body fabricated from its schema.
    fn callbacks(
        &self,
        req: &EmuRequest<'_>,
        id: OperationId,
        parsed: &ParsedRequest,
        response: &EmuResponse,
        events: &mut Vec<Event>,
    ) {
        let compiled = &self.callbacks[id.api][id.op];
        if compiled.is_empty() {
            return;
        }
        let response_body: Option<Value> = serde_json::from_slice(&response.body).ok();
        for (callback, program) in compiled {
            let Some(url) = events::expand(&callback.url, req, parsed, response.status, response_body.as_ref()) else {
                continue;
            };
            let seed = self.seed_for(req, id) ^ fnv1a(FNV_OFFSET, callback.name.as_bytes());
            let payload = program.as_ref().map_or(Value::Null, |p| p.generate(seed));
            events.push(Event { name: callback.name.clone(), payload, url: Some(url) });
        }
    }

    /// Whose state a request reads: its tenant, else the configured default.
    fn tenant<'a>(&'a self, req: &EmuRequest<'a>) -> Tenant<'a> {
        req.tenant.unwrap_or(Tenant {
            environment: &self.options.default_environment,
            partner: &self.options.default_partner,
        })
    }

    /// The answer of a scenario: its body, or fields over the fabricated documented body.
    fn scenario_answer(
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
            scenario::Answer::Fabricated => fabricated(),
            scenario::Answer::Merge(fields) => match fabricated() {
                Value::Object(mut object) => {
                    object.extend(fields);
                    Value::Object(object)
                }
                _ => Value::Object(fields),
            },
        };
        let bodiless = matches!(scenario.status, 204 | 205 | 304) || answer.media_type.is_none() || body.is_null();
        let body = if bodiless { Vec::new() } else { serde_json::to_vec(&body).unwrap_or_default() };
        let content_type = if body.is_empty() { None } else { answer.media_type.clone() };
        let headers = vec![(SCENARIO_HEADER.into(), scenario.name.clone())];
        EmuResponse { status: scenario.status, content_type, headers, body }
    }

    /// The 401 of an operation: problem+json when its documented 401 takes it, else the
    /// documented 401 fabricated; `WWW-Authenticate` names the scheme.
    fn unauthorized(&self, id: OperationId, detail: &str) -> EmuResponse {
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
    fn not_found(&self, id: OperationId, detail: &str) -> EmuResponse {
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

    /// The compiled checks of an operation, compiled on first use. A schema the validator cannot
    /// compile answers every request of that operation with a 500 naming the schema.
    fn checks(&self, id: OperationId) -> Result<&Checks, &str> {
        let cell = &self.checks[id.api][id.op];
        let compiled = cell.get_or_init(|| {
            let api = &self.apis[id.api];
            let op = &api.operations[id.op];
            let file = op.inherited_from.as_deref().unwrap_or(&api.file);
            let checks = RequestCheck::compile(op).and_then(|request| {
                let error = ErrorAnswer::compile(api.validation_error.as_ref(), op)?;
                Ok(Checks { request, error })
            });
            checks.map_err(|e| {
                let detail = format!("the spec {} cannot be validated against: {e}", file.display());
                tracing::error!(operation = %op.label(), "{detail}");
                detail
            })
        });
        compiled.as_ref().map_err(String::as_str)
    }

    /// Compiles the request checks of every operation now (rather than on first use), returning
    /// the first failure: for tests and for start-up when a spec should be checked in full.
    pub fn compile_all_checks(&self) -> Result<(), String> {
        for (api, ops) in self.apis.iter().enumerate() {
            for op in 0..ops.operations.len() {
                self.checks(OperationId { api, op }).map_err(str::to_owned)?;
            }
        }
        Ok(())
    }

    /// The seed of one request: the configured seed, the operation and the request's own
    /// identity (method, path, query), or the `x-sandgate-seed` header when sent.
    fn seed_for(&self, req: &EmuRequest<'_>, id: OperationId) -> u64 {
        if let Some(seed) = req.headers.get(SEED_HEADER).and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok()) {
            return seed;
        }
        let mut hash = fnv1a(FNV_OFFSET ^ self.options.seed, req.method.as_str().as_bytes());
        hash = fnv1a(hash, req.path.as_bytes());
        hash = fnv1a(hash, req.query.unwrap_or_default().as_bytes());
        hash ^ ((id.api as u64) << 32 | id.op as u64)
    }
}

fn compile_answers(op: &Operation, set: &Arc<CompiledSet>) -> Result<OperationAnswers, (String, String)> {
    let mut by_status = Vec::with_capacity(op.responses.len());
    for response in &op.responses {
        by_status.push((response.status, compile_answer(op, response, set)?));
    }
    let default = match op.default_success().or_else(|| op.responses.first()) {
        Some(response) => compile_answer(op, response, set)?,
        None => {
            Answer { status: 204, media_type: None, body: AnswerBody::Empty, examples: Vec::new(), headers: Vec::new() }
        }
    };
    Ok(OperationAnswers { default, by_status })
}

fn compile_answer(op: &Operation, response: &ResponseSpec, set: &Arc<CompiledSet>) -> Result<Answer, (String, String)> {
    let status = response.status.status();
    let mut headers = Vec::with_capacity(response.headers.len());
    for (index, header) in response.headers.iter().enumerate() {
        // Content-Type and Content-Length are the transport's; OpenAPI says to ignore them here.
        let (Some(schema), false) = (&header.schema, matches!(header.name.as_str(), "content-type" | "content-length"))
        else {
            continue;
        };
        let program = Program::compile(schema, &op.schemas, set)
            .map_err(|e| (format!("{}/headers/{index}/schema{}", response.pointer, e.pointer), e.problem))?;
        headers.push((Cow::Owned(header.name.clone()), program));
    }
    // Bodies are JSON, so only a JSON media type gets one; a response documented only as XML or
    // text answers without a body rather than with JSON under another label.
    let Some(media) = response.json() else {
        return Ok(Answer { status, media_type: None, body: AnswerBody::Empty, examples: Vec::new(), headers });
    };
    let body = match (&media.schema, &media.example) {
        (Some(schema), _) => AnswerBody::Generate(
            Program::compile(schema, &op.schemas, set)
                .map_err(|e| (format!("{}{}", media.pointer, e.pointer), e.problem))?,
        ),
        (None, Some(example)) => AnswerBody::Example(example.clone()),
        (None, None) => AnswerBody::Empty,
    };
    // A lone `example` can be asked for as `example=default`.
    let mut examples = media.examples.clone();
    if let (true, Some(example)) = (examples.is_empty(), &media.example) {
        examples.push(("default".to_owned(), example.clone()));
    }
    Ok(Answer { status, media_type: Some(media.media_type.clone()), body, examples, headers })
}

fn state_unavailable(error: &state::StateError) -> EmuResponse {
    tracing::error!(error = %error, "emulator state unavailable");
    problem(ProblemKind::StoreUnavailable, "the sandbox state could not be read or written; retry")
}

fn problem(kind: ProblemKind, detail: &str) -> EmuResponse {
    EmuResponse {
        status: kind.status(),
        content_type: Some(PROBLEM_JSON.to_owned()),
        headers: Vec::new(),
        body: problem_body(kind, detail, None, None),
    }
}

/// The FNV-1a offset basis.
pub(crate) const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// FNV-1a over `bytes`, continuing from `hash`: cheap, stable seeds from request text.
pub(crate) fn fnv1a(mut hash: u64, bytes: &[u8]) -> u64 {
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}
