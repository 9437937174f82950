//! Start-up: documents and scenarios compiled into routes, answer generators, callbacks and, on an
//! operation's first request, its request checks. Nothing here runs per request.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use serde_json::Value;

use crate::answer::ErrorAnswer;
use crate::state::act::Stateful;
use crate::{Checks, Emulator, EmulatorError, EmulatorOptions};

use crate::{scenario, state};
use sandgate_openapi::generate::{CompiledSet, Program};
use sandgate_openapi::router::{OperationId, Router};
use sandgate_openapi::validate::RequestCheck;
use sandgate_openapi::{Api, OpenApiError, Operation, Response, ResponseSpec, StatusKey};

/// The answer compiled for one documented response: status, media type, how to fill the body,
/// and the named examples a client may ask for.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) media_type: Option<String>,
    pub(crate) body: AnswerBody,
    pub(crate) examples: Vec<(String, Value)>,
    /// The documented response headers (lower-case) and how to fabricate each.
    pub(crate) headers: Vec<(Cow<'static, str>, Program)>,
    /// The top-level fields of a closed object body (`additionalProperties: false`): a scenario's
    /// `merge` sets only these, so one rule serves versions whose answers differ.
    pub(crate) fields: Option<Vec<String>>,
    /// The response's other documented media types (text, CSV, XML, JWT, binary), in order.
    pub(crate) others: Vec<OtherMedia>,
}

/// A documented media type other than JSON, and how to fill it.
#[derive(Debug)]
pub(crate) struct OtherMedia {
    /// What it is answered with: the documented type, or one in the documented range.
    pub(crate) content_type: String,
    pub(crate) kind: crate::media::Kind,
    /// The spec's example for it, answered as it is.
    pub(crate) example: Option<Value>,
    /// Fabricates the value to write (none: no schema, a short text is written).
    pub(crate) program: Option<Program>,
    /// The XML root element: the schema's `xml.name`, else its component's name.
    pub(crate) root: String,
}

/// Every documented response of an operation, and the one answered by default.
#[derive(Debug)]
pub(crate) struct OperationAnswers {
    pub(crate) default: Arc<Answer>,
    pub(crate) by_status: Vec<(StatusKey, Arc<Answer>)>,
}

impl OperationAnswers {
    /// The answer documented for `code`: exact, then its range (`4XX`), then `default`.
    pub(crate) fn for_status(&self, code: u16) -> Option<&Answer> {
        let find = |key: StatusKey| self.by_status.iter().find(|(k, _)| *k == key).map(|(_, a)| &**a);
        find(StatusKey::Code(code)).or_else(|| find(StatusKey::Range(code / 100))).or_else(|| find(StatusKey::Default))
    }

    pub(crate) fn documented(&self) -> String {
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
pub(crate) enum AnswerBody {
    Empty,
    Generate(Program),
    Example(Value),
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
        for (api, messages) in self.apis.iter().zip(&mut self.messages) {
            messages.extend(scenario::messages(files, api.name()));
        }
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
        let mut sets = Vec::with_capacity(apis.len());
        for api in &apis {
            let mut shared_answers = SharedAnswers::default();
            let mut op_sets = Vec::with_capacity(api.operations.len());
            let mut per_op = Vec::with_capacity(api.operations.len());
            let resources = state::infer::infer(api)
                .map_err(|(pointer, problem)| OpenApiError::invalid(&api.file, pointer, problem))?;
            let mut state_ops = Vec::with_capacity(api.operations.len());
            let mut callback_ops = Vec::with_capacity(api.operations.len());
            for (op, resource) in api.operations.iter().zip(resources) {
                let file = op.inherited_from.as_deref().unwrap_or(&api.file);
                let set = match compiled.iter().find(|(s, _)| Arc::ptr_eq(s, &op.schemas)) {
                    Some((_, set)) => Arc::clone(set),
                    None => {
                        let set = CompiledSet::compile(&op.schemas).map_err(|e| {
                            e.in_file(file, |p| format!("/components/schemas{}", p.trim_start_matches("#/$defs")))
                        })?;
                        compiled.push((Arc::clone(&op.schemas), Arc::clone(&set)));
                        set
                    }
                };
                per_op.push(compile_answers(op, &set, file, &mut shared_answers)?);
                op_sets.push(Arc::clone(&set));
                let mut compiled_callbacks = Vec::with_capacity(op.callbacks.len());
                for callback in &op.callbacks {
                    let program = callback.schema.as_ref().map(|s| Program::compile(s, &op.schemas, &set)).transpose();
                    let at =
                        |e: OpenApiError| e.in_file(file, |p| format!("{}/callbacks/{}{p}", op.pointer, callback.name));
                    compiled_callbacks.push((callback.clone(), program.map_err(at)?));
                }
                callback_ops.push(compiled_callbacks);
                let compiled = resource.map(|r| Stateful::compile(r, op, &set)).transpose();
                state_ops.push(compiled.map_err(|e| e.in_file(file, |p| format!("{}{p}", op.pointer)))?);
            }
            answers.push(per_op);
            stateful.push(state_ops);
            callbacks.push(callback_ops);
            sets.push(op_sets);
        }
        let router = Router::new(&apis);
        let checks = apis.iter().map(|api| api.operations.iter().map(|_| OnceLock::new()).collect()).collect();
        let state = options.state.open()?;
        let scenarios = apis.iter().map(|api| vec![Vec::new(); api.operations.len()]).collect();
        let fixtures = state::fixtures::Fixtures::default();
        let fabricated = Default::default();
        let messages = apis.iter().map(|_| serde_json::Map::new()).collect();
        Ok(Emulator {
            apis,
            router,
            answers,
            checks,
            stateful,
            callbacks,
            scenarios,
            fixtures,
            state,
            options,
            fabricated,
            sets,
            messages,
        })
    }

    /// The compiled checks of an operation, compiled on first use. A schema the validator cannot
    /// compile answers every request of that operation with a 500 naming the schema.
    pub(crate) fn checks(&self, id: OperationId) -> Result<&Checks, &str> {
        let cell = &self.checks[id.api][id.op];
        let compiled = cell.get_or_init(|| {
            let api = &self.apis[id.api];
            let op = &api.operations[id.op];
            let file = op.inherited_from.as_deref().unwrap_or(&api.file);
            let checks = RequestCheck::compile(op).map_err(|e| e.to_string()).and_then(|request| {
                let error = ErrorAnswer::compile(api.validation_error.as_ref(), op, &self.sets[id.api][id.op])?;
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
    pub fn compile_all_checks(&self) -> Result<(), EmulatorError> {
        for (api, ops) in self.apis.iter().enumerate() {
            for op in 0..ops.operations.len() {
                self.checks(OperationId { api, op }).map_err(|detail| EmulatorError::Uncheckable {
                    operation: ops.operations[op].label(),
                    detail: detail.to_owned(),
                })?;
            }
        }
        Ok(())
    }
}

/// Answers already compiled for one document, by the documented response they answer and the
/// status key it is listed under: operations that name the same response share one answer.
#[derive(Default)]
pub(crate) struct SharedAnswers(HashMap<(*const Response, StatusKey), Arc<Answer>>);

/// The answers of `op`; a schema the generator cannot compile is reported in `file`.
pub(crate) fn compile_answers(
    op: &Operation,
    set: &Arc<CompiledSet>,
    file: &Path,
    shared: &mut SharedAnswers,
) -> Result<OperationAnswers, OpenApiError> {
    let mut by_status = Vec::with_capacity(op.responses.len());
    for response in &op.responses {
        let key = (Arc::as_ptr(&response.documented), response.status);
        let answer = match shared.0.get(&key) {
            Some(answer) => Arc::clone(answer),
            None => {
                let answer = Arc::new(compile_answer(op, response, set, file)?);
                shared.0.insert(key, Arc::clone(&answer));
                answer
            }
        };
        by_status.push((response.status, answer));
    }
    let default = match op.default_success().or_else(|| op.responses.first()) {
        Some(response) => {
            let found = by_status.iter().find(|(status, _)| *status == response.status).map(|(_, a)| Arc::clone(a));
            found.map_or_else(|| compile_answer(op, response, set, file).map(Arc::new), Ok)?
        }
        None => Arc::new(Answer {
            status: 204,
            media_type: None,
            body: AnswerBody::Empty,
            examples: Vec::new(),
            headers: Vec::new(),
            fields: None,
            others: Vec::new(),
        }),
    };
    Ok(OperationAnswers { default, by_status })
}

fn compile_answer(
    op: &Operation,
    response: &ResponseSpec,
    set: &Arc<CompiledSet>,
    file: &Path,
) -> Result<Answer, OpenApiError> {
    let status = response.status.status();
    let mut headers = Vec::with_capacity(response.headers.len());
    for (index, header) in response.headers.iter().enumerate() {
        // Content-Type and Content-Length are the transport's; OpenAPI says to ignore them here.
        let (Some(schema), false) = (&header.schema, matches!(header.name.as_str(), "content-type" | "content-length"))
        else {
            continue;
        };
        let program = Program::compile(schema, &op.schemas, set)
            .map_err(|e| e.in_file(file, |p| format!("{}/headers/{index}/schema{p}", response.pointer)))?;
        headers.push((Cow::Owned(header.name.clone()), program));
    }
    let mut others = Vec::new();
    for media in response.content.iter().filter(|m| crate::media::Kind::of(&m.media_type) != crate::media::Kind::Json) {
        let program = media.schema.as_ref().map(|schema| Program::compile(schema, &op.schemas, set)).transpose();
        let program = program.map_err(|e| e.in_file(file, |p| format!("{}{p}", media.pointer)))?;
        let root = media.schema.as_ref().map_or_else(|| "response".to_owned(), |s| xml_root(s, &op.schemas));
        let (kind, content_type) = crate::media::concrete(&media.media_type, media.schema.is_some());
        others.push(OtherMedia { content_type, kind, example: media.example.clone(), program, root });
    }
    // A JSON body goes out only under a JSON media type; the others are written by their kind.
    let Some(media) = response.json() else {
        return Ok(Answer {
            status,
            media_type: None,
            body: AnswerBody::Empty,
            examples: Vec::new(),
            headers,
            fields: None,
            others,
        });
    };
    let body = match (&media.schema, &media.example) {
        (Some(schema), _) => AnswerBody::Generate(
            Program::compile(schema, &op.schemas, set)
                .map_err(|e| e.in_file(file, |p| format!("{}{p}", media.pointer)))?,
        ),
        (None, Some(example)) => AnswerBody::Example(example.clone()),
        (None, None) => AnswerBody::Empty,
    };
    // A lone `example` can be asked for as `example=default`.
    let mut examples = media.examples.clone();
    if let (true, Some(example)) = (examples.is_empty(), &media.example) {
        examples.push(("default".to_owned(), example.clone()));
    }
    let fields = media.schema.as_ref().and_then(|schema| closed_fields(schema, &op.schemas));
    Ok(Answer { status, media_type: Some(media.media_type.clone()), body, examples, headers, fields, others })
}

/// The XML root element of a body with `schema`: its `xml.name`, else the name of the component
/// it refers to, else `response`.
fn xml_root(schema: &Value, schemas: &sandgate_openapi::SchemaSet) -> String {
    let named = schema.get("$ref").and_then(Value::as_str).and_then(|r| r.rsplit('/').next());
    let target = sandgate_openapi::shape::deref(schema, &schemas.defs);
    let xml_name = target.and_then(|t| t.get("xml")).and_then(|x| x.get("name")).and_then(Value::as_str);
    xml_name.or(named).unwrap_or("response").to_owned()
}

/// The property names of `schema` when it is an object that admits no others (following one
/// `$ref` into the component schemas).
fn closed_fields(schema: &Value, schemas: &sandgate_openapi::SchemaSet) -> Option<Vec<String>> {
    let schema = match schema.get("$ref").and_then(Value::as_str).and_then(|r| r.rsplit_once('/')) {
        Some((_, name)) => schemas.defs.get(name)?,
        None => schema,
    };
    if schema.get("additionalProperties") != Some(&Value::Bool(false)) {
        return None;
    }
    Some(schema.get("properties")?.as_object()?.keys().cloned().collect())
}
