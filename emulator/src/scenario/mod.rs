//! Scenarios: business rules a schema cannot express, written as data in YAML files next to the
//! specs (`*.yaml` with `sandgate-scenarios: 1`; YAML anchors and merge keys allowed), checked
//! before state and fabrication.
//!
//! ```yaml
//! sandgate-scenarios: 1
//! api: shop-api                    # every version of this API
//! scenarios:
//!   - name: capture more than remains
//!     operations: [captureAuthorization]
//!     load: {collection: '/client-id/{client_id}/authorization', id: '{{request.path.authorization_id}}'}
//!     when:
//!       - {field: request.body.amount, gt: '{{state.remaining_authorization_amount}}'}
//!     then:
//!       status: 409
//!       body: {code: 409, error: auth_amount_exceeded, error_description: '…'}
//! ```
//!
//! The first scenario of an operation whose conditions all hold answers. `load` reads one stored
//! object as `state` (the collections `state` keeps, or any other name, e.g. a counter): by `id`,
//! or the first whose fields equal `where: {field: template, …}` (text, ignoring case; a template
//! with no value, such as an optional query parameter not sent, does not filter), or with `all:
//! true` every such object as a list (`state.0` is the first); `select: field` takes that field of
//! each object instead of the whole object (one stored object can answer several shapes);
//! conditions test `request.…` and `state.…` fields (see `condition`); `then` answers with
//! `status` and either a whole `body` or `merge` fields laid over the fabricated documented body
//! (only the fields that body documents, when its schema admits no others),
//! and may `update` the loaded object (`upsert: true` creates it; a dotted key such as
//! `details.available_credit` sets a nested field) and raise a `webhook: {event, payload}` for the
//! application's subscriptions. `then: {continue: true, update: …}` (no status) only applies its
//! update and webhook and lets the request go on to the next scenarios, the state and
//! fabrication: a side effect, such as the credit an authorization holds, for a request another
//! stage answers (put it after the scenarios that refuse). An update key ending in `[]` appends to
//! that list; `create: {collection, id, object}` (or a list of them) stores a new object in
//! another collection (a capture of the loaded authorization). `related: {account: {collection, id}}` loads more
//! objects by id (the id a template over the request and `state`), read as `account.*` in
//! conditions and templates and changed with `then.update_related: {account: {field: value}}`
//! (a release gives the account back the credit its authorization held). Every value is a
//! template over `request.*`, `state.*`, the related objects, `now`, `today`, `random_id` (a
//! fresh nine-digit id, the same throughout one run), `api.version` (the version the request
//! called), `messages.<key>`: the file's `messages: {<key>: {en: …, fr: …}}` in the language
//! the request asks for (`lang` query parameter, else a documented `Accept-Language` header;
//! else the first language listed), and `localized.<name>`: any such `{en, fr}` value (a plan's
//! message) in that language; `text.<name>` is a value as text. In `update`, `~` (null)
//! removes the field.

pub mod condition;

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::error::EmulatorError;
use crate::events::Event;
use crate::state::{StateStore, Tenant};
use condition::Condition;
use sandgate_openapi::infer::collection_key;
use sandgate_openapi::template::text;
use sandgate_openapi::validate::ParsedRequest;
use sandgate_openapi::{Api, OpenApiError};

/// The key that marks a YAML file as scenarios rather than an OpenAPI document.
pub const MARKER: &str = "sandgate-scenarios";

/// One scenario file as read.
#[derive(Debug, Clone)]
pub struct ScenarioFile {
    /// Where it was read from.
    pub file: PathBuf,
    /// Its contents.
    pub doc: Value,
}

/// Reads every scenario file under `dir` (recursively). A file that does not parse is an error
/// naming it; files without the marker (OpenAPI documents) are skipped.
pub fn load_dir(dir: &Path) -> Result<Vec<ScenarioFile>, OpenApiError> {
    let mut files = Vec::new();
    if dir.is_dir() {
        sandgate_openapi::load::collect_files(dir, &mut files)?;
    }
    files.sort();
    let mut out = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).map_err(|source| OpenApiError::Io { file: file.clone(), source })?;
        if !text.contains(MARKER) {
            continue;
        }
        let doc = read_file_contents(&file, &text)?;
        if doc.get(MARKER).is_some() {
            out.push(ScenarioFile { file, doc });
        }
    }
    Ok(out)
}

/// A scenario file's contents. YAML merge keys (`<<: *anchor`) are applied, so shared parts of
/// several rules (an account a decision creates) are written once.
fn read_file_contents(file: &Path, text: &str) -> Result<Value, OpenApiError> {
    if file.extension().is_some_and(|e| e.eq_ignore_ascii_case("json")) {
        return sandgate_openapi::load::parse_document(file, text);
    }
    let bad = |e: serde_yaml::Error| OpenApiError::invalid(file, "", format!("not YAML: {e}"));
    let mut yaml: serde_yaml::Value = serde_yaml::from_str(text).map_err(bad)?;
    // A merged map may itself hold a merge key (an alias of a map built with `<<`): apply
    // until none is left.
    for _ in 0..MERGE_DEPTH {
        yaml.apply_merge().map_err(bad)?;
    }
    serde_json::to_value(yaml).map_err(|e| OpenApiError::invalid(file, "", format!("not JSON-shaped YAML: {e}")))
}

/// How deep merge keys may nest (`<<: *a` where `a` itself merges `b`).
const MERGE_DEPTH: usize = 4;

/// A compiled scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Its name, for logs and the `Sandgate-Scenario` header.
    pub name: String,
    load: Option<Load>,
    when: Vec<Condition>,
    /// The answer's status (0: a `continue` scenario, which does not answer).
    pub status: u16,
    body: Option<Value>,
    merge: Option<Map<String, Value>>,
    update: Option<Map<String, Value>>,
    upsert: bool,
    /// `then.webhook`: an event for the application's subscriptions (name, payload template).
    webhook: Option<(String, Value)>,
    /// `then.create`: new objects in other collections (collection template, id, object).
    create: Vec<(String, Value, Value)>,
    /// `related`: more objects loaded by id, by name.
    related: Vec<Related>,
    /// `then.update_related`: updates of related objects, by name.
    update_related: Vec<(String, Map<String, Value>)>,
    /// The file's `messages`: per key, the text per language.
    messages: std::sync::Arc<Map<String, Value>>,
}

/// One object of `related`: its name in templates, its collection template and id template.
#[derive(Debug, Clone)]
struct Related {
    name: String,
    collection: String,
    id: Value,
}

/// Names a related object cannot take: the roots templates already have.
const RESERVED: [&str; 9] = ["request", "state", "api", "now", "today", "random_id", "messages", "localized", "text"];

/// Which stored object(s) a scenario reads as `state`.
#[derive(Debug, Clone)]
struct Load {
    /// The collection's path template.
    collection: String,
    /// How the object is found.
    find: Find,
}

#[derive(Debug, Clone)]
enum Find {
    /// By id (a template).
    Id(Value),
    /// The objects whose fields equal these templates; `all`: every match as a list; `select`:
    /// that field of each object rather than the whole object.
    Where { fields: Map<String, Value>, all: bool, select: Option<String> },
}

/// The most objects `load: {where, all: true}` lists.
const MAX_FOUND: usize = 1_000;

/// What a scenario answers.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// Nothing: its side effects are done, the request goes on (`then: {continue: true}`).
    Continue,
    /// This whole body.
    Body(Value),
    /// These fields over the fabricated documented body.
    Merge(Map<String, Value>),
    /// The fabricated documented body.
    Fabricated,
}

/// The `fixtures:` of `files`: objects every partner finds in a collection
/// (`{collection, id_field, objects}`), checked against `apis` like scenarios.
pub fn fixtures(files: &[ScenarioFile], apis: &[Api]) -> Result<Vec<crate::state::fixtures::Fixture>, OpenApiError> {
    let mut out = Vec::new();
    for ScenarioFile { file, doc } in files {
        let api = doc.get("api").and_then(Value::as_str).unwrap_or_default();
        for (index, spec) in doc.get("fixtures").and_then(Value::as_array).into_iter().flatten().enumerate() {
            let at = format!("/fixtures/{index}");
            let bad = |key: &str, problem: &str| OpenApiError::invalid(file, format!("{at}/{key}"), problem);
            let collection = spec
                .get("collection")
                .and_then(Value::as_str)
                .ok_or_else(|| bad("collection", "a path template is required"))?;
            let id_field = spec
                .get("id_field")
                .and_then(Value::as_str)
                .ok_or_else(|| bad("id_field", "the field holding each id is required"))?;
            let objects = spec
                .get("objects")
                .and_then(Value::as_array)
                .ok_or_else(|| bad("objects", "a list of objects is required"))?;
            if let Some(i) = objects.iter().position(|o| o.get(id_field).is_none()) {
                return Err(bad(&format!("objects/{i}"), &format!("has no {id_field}")));
            }
            let served = apis.iter().filter(|a| a.name() == api).any(|a| {
                a.operations
                    .iter()
                    .any(|op| op.path.trim_end_matches('/').starts_with(collection.trim_end_matches('/')))
            });
            // A table only rules read (the plans an authorization may name) is under no operation.
            if !served && !loaded_collections(doc).contains(&collection) {
                return Err(bad(
                    "collection",
                    &format!("no operation of {api} is under {collection}, and no scenario loads it"),
                ));
            }
            out.push(crate::state::fixtures::Fixture {
                api: api.to_owned(),
                collection: collection.trim_end_matches('/').to_owned(),
                id_field: id_field.to_owned(),
                objects: objects.clone(),
            });
        }
    }
    Ok(out)
}

/// The `messages` of every scenario file of the API named `api` (checked by [`compile`]).
pub fn messages(files: &[ScenarioFile], api: &str) -> Map<String, Value> {
    let of_api = files.iter().filter(|f| f.doc.get("api").and_then(Value::as_str) == Some(api));
    of_api
        .filter_map(|f| f.doc.get("messages").and_then(Value::as_object))
        .flatten()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The collections the scenarios of one file load, as `load` or `related`.
fn loaded_collections(doc: &Value) -> Vec<&str> {
    let scenarios = doc.get("scenarios").and_then(Value::as_array).into_iter().flatten();
    scenarios
        .flat_map(|scenario| {
            let related = scenario.get("related").and_then(Value::as_object).into_iter().flat_map(|m| m.values());
            scenario.get("load").into_iter().chain(related)
        })
        .filter_map(|load| load.get("collection").and_then(Value::as_str))
        .collect()
}

/// Compiles `files` for `apis`: `out[api][op]` lists the scenarios of each operation in file order.
/// Fails naming the file and the JSON pointer of a malformed scenario, an unknown operation or an
/// undocumented status.
pub fn compile(files: &[ScenarioFile], apis: &[Api]) -> Result<Vec<Vec<Vec<Scenario>>>, OpenApiError> {
    let mut out: Vec<Vec<Vec<Scenario>>> = apis.iter().map(|a| vec![Vec::new(); a.operations.len()]).collect();
    let mut static_bodies = StaticBodies::default();
    for ScenarioFile { file, doc } in files {
        let bad = |pointer: String, problem: String| OpenApiError::invalid(file, pointer, problem);
        if doc.get(MARKER).and_then(Value::as_u64) != Some(1) {
            return Err(bad(format!("/{MARKER}"), "only version 1 is known".into()));
        }
        let api_name = doc.get("api").and_then(Value::as_str).ok_or_else(|| {
            bad("/api".into(), "the API's name is required: the first segment of its base path".into())
        })?;
        let targets: Vec<usize> = (0..apis.len()).filter(|&i| apis[i].name() == api_name).collect();
        if targets.is_empty() {
            let known: Vec<&str> = apis.iter().map(Api::name).collect();
            return Err(bad("/api".into(), format!("no loaded API is named {api_name:?}; loaded: {known:?}")));
        }
        let list = doc
            .get("scenarios")
            .and_then(Value::as_array)
            .ok_or_else(|| bad("/scenarios".into(), "a list of scenarios is required".into()))?;
        let messages = match doc.get("messages") {
            None => Map::new(),
            Some(Value::Object(messages)) => {
                let not_texts =
                    |t: &Value| !t.as_object().is_some_and(|t| !t.is_empty() && t.values().all(Value::is_string));
                if let Some((key, _)) = messages.iter().find(|(_, texts)| not_texts(texts)) {
                    return Err(bad(format!("/messages/{key}"), "a message is a map of language: text".into()));
                }
                messages.clone()
            }
            Some(_) => return Err(bad("/messages".into(), "messages is a map of key: {language: text}".into())),
        };
        let messages = std::sync::Arc::new(messages);
        for (index, spec) in list.iter().enumerate() {
            let at = format!("/scenarios/{index}");
            let mut scenario = parse(spec).map_err(|(pointer, problem)| bad(format!("{at}{pointer}"), problem))?;
            scenario.messages = std::sync::Arc::clone(&messages);
            let operations: Vec<&str> = match spec.get("operations").or_else(|| spec.get("operation")) {
                Some(Value::String(one)) => vec![one.as_str()],
                Some(Value::Array(many)) => many.iter().filter_map(Value::as_str).collect(),
                _ => return Err(bad(format!("{at}/operations"), "a list of operationIds is required".into())),
            };
            for operation in operations {
                let mut found = false;
                for &api in &targets {
                    for (op_index, op) in apis[api].operations.iter().enumerate() {
                        if op.operation_id.as_deref() != Some(operation) {
                            continue;
                        }
                        found = true;
                        if scenario.status != 0 && op.response_for(scenario.status).is_none() {
                            return Err(bad(
                                format!("{at}/then/status"),
                                format!(
                                    "{operation} does not document {} in {}",
                                    scenario.status,
                                    apis[api].file.display()
                                ),
                            ));
                        }
                        static_bodies.add(&scenario, op, file, &at);
                        out[api][op_index].push(scenario.clone());
                    }
                }
                if !found {
                    return Err(bad(format!("{at}/operations"), format!("no operation {operation:?} in {api_name}")));
                }
            }
        }
    }
    static_bodies.check()?;
    Ok(out)
}

fn parse(spec: &Value) -> Result<Scenario, (String, String)> {
    let name = spec.get("name").and_then(Value::as_str).ok_or(("/name".to_owned(), "a name is required".to_owned()))?;
    if name.is_empty() || !name.bytes().all(|b| b == b' ' || b.is_ascii_graphic()) {
        return Err(("/name".into(), "a name is printable ASCII (it is sent in the Sandgate-Scenario header)".into()));
    }
    let load = match spec.get("load") {
        None => None,
        Some(load) => {
            let collection = load.get("collection").and_then(Value::as_str);
            let all = load.get("all").and_then(Value::as_bool).unwrap_or(false);
            let select = load.get("select").and_then(Value::as_str).map(str::to_owned);
            let find = match (load.get("id"), load.get("where")) {
                (Some(id), None) if !all && select.is_none() => Find::Id(id.clone()),
                (None, Some(Value::Object(fields))) if !fields.is_empty() => {
                    Find::Where { fields: fields.clone(), all, select }
                }
                _ => {
                    let problem = "load needs a collection and either an id or where: {field: value, …} (all: true lists every match)";
                    return Err(("/load".into(), problem.into()));
                }
            };
            match collection {
                Some(collection) => Some(Load { collection: collection.to_owned(), find }),
                None => return Err(("/load/collection".into(), "load needs a collection".into())),
            }
        }
    };
    let mut related = Vec::new();
    for (name, spec) in spec.get("related").and_then(Value::as_object).into_iter().flatten() {
        let at = format!("/related/{name}");
        if RESERVED.contains(&name.as_str()) || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err((at, format!("a related object's name is a word other than {RESERVED:?}")));
        }
        match (spec.get("collection").and_then(Value::as_str), spec.get("id")) {
            (Some(collection), Some(id)) => {
                related.push(Related { name: name.clone(), collection: collection.to_owned(), id: id.clone() })
            }
            _ => return Err((at, "a related object needs a collection and an id".into())),
        }
    }
    if spec.get("related").is_some_and(|r| !r.is_object()) {
        return Err(("/related".into(), "related is a map of name: {collection, id}".into()));
    }
    let related_names: Vec<String> = related.iter().map(|r| r.name.clone()).collect();
    let mut when = Vec::new();
    for (index, condition) in spec.get("when").and_then(Value::as_array).into_iter().flatten().enumerate() {
        when.push(Condition::parse(condition, &related_names).map_err(|e| (format!("/when/{index}"), e))?);
    }
    let then = spec
        .get("then")
        .and_then(Value::as_object)
        .ok_or(("/then".to_owned(), "then: {status: …} is required".to_owned()))?;
    let continues = then.get("continue").and_then(Value::as_bool).unwrap_or(false);
    let status = match then.get("status") {
        None if continues => 0,
        Some(_) if continues => {
            return Err(("/then/continue".into(), "a scenario that continues does not answer: leave status out".into()))
        }
        status => status
            .and_then(Value::as_u64)
            .and_then(|s| u16::try_from(s).ok())
            .filter(|s| (200..600).contains(s))
            .ok_or(("/then/status".to_owned(), "a status code (200–599) is required".to_owned()))?,
    };
    let object = |key: &str| match then.get(key) {
        None => Ok(None),
        Some(Value::Object(map)) => Ok(Some(map.clone())),
        Some(_) => Err((format!("/then/{key}"), format!("{key} is a map of field: value"))),
    };
    let (merge, update) = (object("merge")?, object("update")?);
    let body = then.get("body").cloned();
    if body.is_some() && merge.is_some() {
        return Err(("/then".into(), "give either body or merge, not both".into()));
    }
    if continues && (body.is_some() || merge.is_some()) {
        return Err(("/then/continue".into(), "a scenario that continues has no body or merge".into()));
    }
    let upsert = then.get("upsert").and_then(Value::as_bool).unwrap_or(false);
    let webhook = match then.get("webhook") {
        None => None,
        Some(hook) => {
            let event = hook.get("event").and_then(Value::as_str);
            let event = event.ok_or(("/then/webhook/event".to_owned(), "the event type is required".to_owned()))?;
            Some((event.to_owned(), hook.get("payload").cloned().unwrap_or(Value::Null)))
        }
    };
    if (update.is_some() || upsert) && !matches!(load, Some(Load { find: Find::Id(_), .. })) {
        return Err(("/then/update".into(), "update needs load: {collection, id}".into()));
    }
    let creates = match then.get("create") {
        None => Vec::new(),
        Some(Value::Array(many)) => many.iter().collect(),
        Some(one) => vec![one],
    };
    let mut create = Vec::with_capacity(creates.len());
    for one in creates {
        let collection = one.get("collection").and_then(Value::as_str);
        match (collection, one.get("id"), one.get("object")) {
            (Some(collection), Some(id), Some(object @ Value::Object(_))) => {
                create.push((collection.to_owned(), id.clone(), object.clone()))
            }
            _ => {
                return Err((
                    "/then/create".into(),
                    "create needs a collection, an id and an object (or a list of them)".into(),
                ))
            }
        }
    }
    let mut update_related = Vec::new();
    for (name, fields) in then.get("update_related").and_then(Value::as_object).into_iter().flatten() {
        let at = format!("/then/update_related/{name}");
        if !related_names.contains(name) {
            return Err((at, format!("no related object {name:?}; related has {related_names:?}")));
        }
        let fields = fields.as_object().ok_or((at, "a map of field: value".to_owned()))?;
        update_related.push((name.clone(), fields.clone()));
    }
    let known = ["name", "operation", "operations", "load", "related", "when", "then", "description"];
    let then_keys = ["status", "body", "merge", "update", "upsert", "webhook", "continue", "create", "update_related"];
    if let Some(unknown) = then.keys().find(|k| !then_keys.contains(&k.as_str())) {
        return Err((format!("/then/{unknown}"), format!("unknown key; then has {then_keys:?}")));
    }
    if let Some(unknown) = spec.as_object().and_then(|m| m.keys().find(|k| !known.contains(&k.as_str()))) {
        return Err((format!("/{unknown}"), format!("unknown key; scenarios have {known:?}")));
    }
    Ok(Scenario {
        name: name.to_owned(),
        load,
        when,
        status,
        body,
        merge,
        update,
        upsert,
        webhook,
        create,
        related,
        update_related,
        messages: std::sync::Arc::default(),
    })
}

/// `texts` (`{en: …, fr: …}`) in the language `request` asks for: the `lang` query parameter,
/// else a documented `Accept-Language` header (`fr-CA,fr;q=0.9` → `fr`); else the first listed.
pub(crate) fn localize(texts: &Value, request: &ParsedRequest) -> Option<Value> {
    let texts = texts.as_object()?;
    let asked = request.lookup("query.lang").or_else(|| request.lookup("header.accept-language"));
    let language = asked.map(text).unwrap_or_default();
    let primary = language.split([',', ';', '-', '_']).next().unwrap_or_default().trim();
    let found = texts.iter().find(|(tag, _)| tag.eq_ignore_ascii_case(primary));
    found.or_else(|| texts.iter().next()).map(|(_, text)| text.clone())
}

/// The new value of an updated field: `null` (`~` in YAML) removes the field.
fn updated(template: &Value, lookup: &dyn Fn(&str) -> Option<Value>) -> Option<Value> {
    match template {
        Value::Null => None,
        template => sandgate_openapi::template::render(template, lookup),
    }
}

/// The value at the dotted `path` inside `value` (a number segment indexes a list).
fn dig<'v>(mut value: &'v Value, path: &str) -> Option<&'v Value> {
    for segment in path.split('.') {
        value = match (value, segment.parse::<usize>()) {
            (Value::Array(items), Ok(index)) => items.get(index)?,
            _ => value.get(segment)?,
        };
    }
    Some(value)
}

/// Sets (or, with `None`, removes) the field at the dotted `path` of `object`, creating the
/// objects on the way; a last segment ending in `[]` appends to that list instead.
fn set_path(object: &mut Map<String, Value>, path: &str, value: Option<Value>) {
    match path.split_once('.') {
        None if path.ends_with("[]") => {
            let list = object.entry(path.trim_end_matches("[]").to_owned()).or_insert_with(|| Value::Array(Vec::new()));
            if !list.is_array() {
                *list = Value::Array(Vec::new());
            }
            if let (Value::Array(items), Some(value)) = (list, value) {
                items.push(value);
            }
        }
        None => {
            match value {
                Some(value) => object.insert(path.to_owned(), value),
                None => object.remove(path),
            };
        }
        Some((head, rest)) => {
            let inner = object.entry(head.to_owned()).or_insert_with(|| Value::Object(Map::new()));
            if !inner.is_object() {
                *inner = Value::Object(Map::new());
            }
            if let Value::Object(inner) = inner {
                set_path(inner, rest, value);
            }
        }
    }
}

/// Bodies without placeholders, which must conform to the documented response at start-up
/// already. They are checked together, one validator per schema set: each compile checks every
/// component against the meta-schema, which made one compile per scenario most of the POS specs'
/// start-up.
#[derive(Default)]
struct StaticBodies<'a> {
    /// Per schema set, the bodies whose schemas refer to it.
    sets: Vec<(&'a sandgate_openapi::SchemaSet, Vec<StaticBody<'a>>)>,
}

struct StaticBody<'a> {
    schema: &'a Value,
    body: Value,
    file: &'a Path,
    /// The scenario's `then/body`, for the error.
    at: String,
    status: u16,
}

impl<'a> StaticBodies<'a> {
    fn add(&mut self, scenario: &Scenario, op: &'a sandgate_openapi::Operation, file: &'a Path, at: &str) {
        let Some(body) = &scenario.body else { return };
        if !sandgate_openapi::template::names(body).is_empty() {
            return;
        }
        let response = op.response_for(scenario.status).and_then(|r| r.json());
        let Some(schema) = response.and_then(|m| m.schema.as_ref()) else { return };
        let entry =
            StaticBody { schema, body: body.clone(), file, at: format!("{at}/then/body"), status: scenario.status };
        match self.sets.iter_mut().find(|(set, _)| std::ptr::eq(*set, &*op.schemas)) {
            Some((_, bodies)) => bodies.push(entry),
            None => self.sets.push((&op.schemas, vec![entry])),
        }
    }

    /// Validates the bodies of each set as one array against `prefixItems` of their schemas;
    /// fails naming the first body (in file order) that does not conform.
    fn check(self) -> Result<(), OpenApiError> {
        for (set, bodies) in self.sets {
            let schemas: Vec<Value> = bodies.iter().map(|b| b.schema.clone()).collect();
            let root = set.json_schema(&serde_json::json!({"prefixItems": schemas}));
            let validator = jsonschema::options().should_validate_formats(true).build(&root);
            let validator = validator.map_err(|e| {
                OpenApiError::invalid(
                    bodies[0].file,
                    &bodies[0].at,
                    format!("the documented schema does not compile: {e}"),
                )
            })?;
            let instance = Value::Array(bodies.iter().map(|b| b.body.clone()).collect());
            let first = validator
                .iter_errors(&instance)
                .filter_map(|error| {
                    let path = error.instance_path().as_str().to_owned();
                    let inside = path.strip_prefix('/')?;
                    let (index, rest) = inside.split_once('/').unwrap_or((inside, ""));
                    let index: usize = index.parse().ok()?;
                    Some((index, format!("/{rest}"), error.masked_with("value").to_string()))
                })
                .min_by_key(|(index, ..)| *index);
            if let Some((index, path, problem)) = first {
                let StaticBody { file, at, status, .. } = &bodies[index];
                let path = if path == "/" { "" } else { &path };
                let problem = format!("does not conform to the documented {status}: {problem} at {path:?}");
                return Err(OpenApiError::invalid(file, at.as_str(), problem));
            }
        }
        Ok(())
    }
}

impl Scenario {
    /// Whether the scenario reads or writes the collection with this template (`load`,
    /// `related`, `create`): its fixtures must be there first, to be found, or listed in order.
    pub fn touches(&self, collection: &str) -> bool {
        self.load.as_ref().is_some_and(|load| load.collection == collection)
            || self.related.iter().any(|related| related.collection == collection)
            || self.create.iter().any(|(created, ..)| created == collection)
    }

    /// Runs the scenario for one request: `None` when a condition does not hold; else its answer
    /// and the webhook event it raises, if any.
    pub fn run(
        &self,
        api: &Api,
        request: &ParsedRequest,
        store: &dyn StateStore,
        tenant: Tenant<'_>,
    ) -> Result<Option<(Answer, Option<Event>)>, EmulatorError> {
        let now = chrono::Utc::now();
        // A fresh id for what the scenario creates: nine digits (it fits the narrowest id schema of
        // the reference API), the same everywhere in one run so the answer names what was stored.
        // Drawn on first use: most scenarios on the request path never ask for one.
        let fresh_id = std::cell::OnceCell::new();
        let base = |name: &str| -> Option<Value> {
            match name {
                "now" => Some(Value::String(now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))),
                "today" => Some(Value::String(now.format("%Y-%m-%d").to_string())),
                "random_id" => Some(
                    fresh_id
                        .get_or_init(|| {
                            let random = uuid::Uuid::new_v4().as_u128() % 900_000_000;
                            Value::from(100_000_000 + u64::try_from(random).unwrap_or(0))
                        })
                        .clone(),
                ),
                // The version the request called (`2.5.1`), for rules whose answers differ by version.
                "api.version" => api.name_and_version().map(|(_, version)| Value::String(version.to_owned())),
                _ if name.starts_with("messages.") => localize(self.messages.get(&name["messages.".len()..])?, request),
                _ => name.strip_prefix("request.").and_then(|n| request.lookup(n)).cloned(),
            }
        };
        let (loaded, state) = match &self.load {
            None => (None, None),
            Some(Load { collection, find: Find::Id(id) }) => {
                let key = collection_key(api.name(), collection, &request.path);
                let id = sandgate_openapi::template::render(id, &base).map(|v| text(&v)).unwrap_or_default();
                let state = store.get(tenant, &key, &id)?;
                (Some((key, id)), state)
            }
            Some(Load { collection, find: Find::Where { fields, all, select } }) => {
                let key = collection_key(api.name(), collection, &request.path);
                // A template with no value (an optional parameter not sent) does not filter.
                let wanted: Vec<(&str, String)> = fields
                    .iter()
                    .filter_map(|(field, value)| {
                        sandgate_openapi::template::render(value, &base).map(|v| (field.as_str(), text(&v)))
                    })
                    .collect();
                let wanted: Vec<(&str, &str)> = wanted.iter().map(|(f, v)| (*f, v.as_str())).collect();
                let found = store.find(tenant, &key, &wanted, select.as_deref(), if *all { MAX_FOUND } else { 1 })?;
                let state = if *all { Some(Value::Array(found)) } else { found.into_iter().next() };
                (None, state)
            }
        };
        let with_state = |name: &str| -> Option<Value> {
            match name.strip_prefix("state") {
                Some("") => state.clone(),
                Some(path) if path.starts_with('.') => dig(state.as_ref()?, &path[1..]).cloned(),
                _ => base(name),
            }
        };
        // The related objects, each found by an id over the request and `state`.
        let mut related = Vec::with_capacity(self.related.len());
        for Related { name, collection, id } in &self.related {
            let key = collection_key(api.name(), collection, &request.path);
            let id = sandgate_openapi::template::render(id, &with_state).map(|v| text(&v)).unwrap_or_default();
            let object = store.get(tenant, &key, &id)?;
            related.push((name.as_str(), key, id, object));
        }
        let lookup_plain = |name: &str| -> Option<Value> {
            let (root, path) = name.split_once('.').unwrap_or((name, ""));
            match related.iter().find(|(related, ..)| *related == root) {
                Some((.., object)) if path.is_empty() => object.clone(),
                Some((.., object)) => dig(object.as_ref()?, path).cloned(),
                None => with_state(name),
            }
        };
        // `localized.plan.message`: that field (`{en: …, fr: …}`) in the request's language.
        // `text.request.body.amount`: that value as text (a field documented as a string).
        let lookup = |name: &str| -> Option<Value> {
            if let Some(name) = name.strip_prefix("localized.") {
                return localize(&lookup_plain(name)?, request);
            }
            if let Some(name) = name.strip_prefix("text.") {
                return lookup_plain(name).map(|value| Value::String(text(&value)));
            }
            lookup_plain(name)
        };
        if !self.when.iter().all(|c| c.holds(&lookup)) {
            return Ok(None);
        }
        if let (Some(update), Some((key, id))) = (&self.update, &loaded) {
            if state.is_some() || self.upsert {
                let mut object = state.clone().and_then(|s| s.as_object().cloned()).unwrap_or_default();
                for (field, value) in update {
                    set_path(&mut object, field, updated(value, &lookup));
                }
                store.put(tenant, key, id, &Value::Object(object))?;
            }
        }
        for (name, fields) in &self.update_related {
            let Some((_, key, id, Some(object))) = related.iter().find(|(related, ..)| related == name) else {
                continue; // nothing to update: the related object does not exist
            };
            let mut object = object.as_object().cloned().unwrap_or_default();
            for (field, value) in fields {
                set_path(&mut object, field, updated(value, &lookup));
            }
            store.put(tenant, key, id, &Value::Object(object))?;
        }
        for (collection, id, object) in &self.create {
            let key = collection_key(api.name(), collection, &request.path);
            let id = sandgate_openapi::template::render(id, &lookup).map(|v| text(&v)).unwrap_or_default();
            let object = sandgate_openapi::template::render(object, &lookup).unwrap_or(Value::Null);
            store.insert_new(tenant, &key, &id, &object)?;
        }
        let event = self.webhook.as_ref().map(|(name, payload)| Event {
            name: name.clone(),
            payload: sandgate_openapi::template::render(payload, &lookup).unwrap_or(Value::Null),
            url: None,
        });
        let answer = match (&self.body, &self.merge) {
            _ if self.status == 0 => Answer::Continue,
            // The loaded object as it is (a lookup): moved into the answer, not copied.
            (Some(Value::String(whole)), _) if whole == "{{state}}" => Answer::Body(state.unwrap_or(Value::Null)),
            (Some(body), _) => Answer::Body(sandgate_openapi::template::render(body, &lookup).unwrap_or(Value::Null)),
            (None, Some(merge)) => Answer::Merge(
                merge
                    .iter()
                    .filter_map(|(k, v)| sandgate_openapi::template::render(v, &lookup).map(|v| (k.clone(), v)))
                    .collect(),
            ),
            (None, None) => Answer::Fabricated,
        };
        Ok(Some((answer, event)))
    }
}
