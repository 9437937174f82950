//! The internal model every part of Sandgate reads: APIs, their operations and responses, with
//! schemas already normalised to JSON Schema 2020-12 (see `normalize`).
//!
//! Built from the raw JSON document so that 3.0 and 3.1 share one model. An API is one
//! document served under its `servers[0]` base path; `x-sandgate-extends: <file>` makes it inherit
//! every operation of that document it does not override (v2.5.1 over v2.5).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Map, Value};

use super::error::OpenApiError;
use super::normalize;
use crate::error::pointer_segment;

/// One OpenAPI document, served under `base_path`.
#[derive(Debug, Clone)]
pub struct Api {
    /// The document it was loaded from.
    pub file: PathBuf,
    /// `info.title`.
    pub title: String,
    /// `info.version`.
    pub version: String,
    /// The path of `servers[0].url` without a trailing slash (`/shop-api/v2.5`), or `""`.
    pub base_path: String,
    /// Every operation, own and inherited, in document order.
    pub operations: Vec<Operation>,
    /// The document's component schemas.
    pub schemas: Arc<SchemaSet>,
    /// `x-sandgate-validation-error`: the error the API documents for an invalid request
    /// (see `validate::answer`), inherited through `x-sandgate-extends` when absent.
    pub validation_error: Option<Value>,
    /// Every other document-level `x-sandgate-*` extension (what the gateway and the control plane
    /// need to know about the API: `x-sandgate-client-id-parameter`,
    /// `x-sandgate-application-types`, …), each inherited through `x-sandgate-extends` when absent.
    pub extensions: Map<String, Value>,
}

impl Api {
    /// The API's name (`shop-api`), or its base path when that has no name-and-version shape:
    /// versions of one API share state and scenarios under it.
    pub fn name(&self) -> &str {
        self.name_and_version().map_or(self.base_path.as_str(), |(name, _)| name)
    }

    /// The API's name and version from its base path (`/shop-api/v2.5` → `("shop-api", "2.5")`),
    /// when the base path has that shape.
    pub fn name_and_version(&self) -> Option<(&str, &str)> {
        let mut segments = self.base_path.trim_start_matches('/').split('/');
        let name = segments.next().filter(|s| !s.is_empty())?;
        let version = segments.next()?.strip_prefix('v').filter(|v| v.starts_with(|c: char| c.is_ascii_digit()))?;
        segments.next().is_none().then_some((name, version))
    }
}

/// The component schemas of one document, normalised, keyed by name (referenced as `#/$defs/Name`).
#[derive(Debug, Default)]
pub struct SchemaSet {
    /// Normalised component schemas.
    pub defs: Map<String, Value>,
    /// Validators of request bodies and (for the gateway) parameters, compiled against these
    /// components, by the text of the schema they check (`validate::RequestCheck`): operations
    /// that take the same body or parameter share one. On Graph, 23 operations take a body that
    /// reaches 460 components; each compiled its own copy.
    pub(crate) shared_validators: SharedValidators,
}

/// Compiled request-side validators by schema text, filled as operations are first requested.
#[derive(Default)]
pub(crate) struct SharedValidators(pub(crate) std::sync::Mutex<HashMap<String, Arc<jsonschema::Validator>>>);

impl std::fmt::Debug for SharedValidators {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedValidators")
    }
}

impl SchemaSet {
    /// The set of `defs`, nothing compiled yet.
    pub fn new(defs: Map<String, Value>) -> SchemaSet {
        SchemaSet { defs, shared_validators: SharedValidators::default() }
    }

    /// A self-contained JSON Schema 2020-12 document for `schema` (its `$ref`s resolve in `$defs`),
    /// ready for the `jsonschema` crate.
    pub fn json_schema(&self, schema: &Value) -> Value {
        let mut root = match schema {
            Value::Object(map) => map.clone(),
            other => return other.clone(),
        };
        root.insert("$schema".into(), Value::String("https://json-schema.org/draft/2020-12/schema".into()));
        root.insert("$defs".into(), Value::Object(self.reachable(&[schema])));
        Value::Object(root)
    }

    /// The component schemas `roots` reference, directly or through each other. A validator
    /// compiled with only these instead of every component of the document does the same job:
    /// on GitHub's spec (about 900 components) an operation's first request spent most of its
    /// time having `jsonschema` index and meta-check components it never reached.
    pub fn reachable(&self, roots: &[&Value]) -> Map<String, Value> {
        let mut found = Map::new();
        let mut pending: Vec<&Value> = roots.to_vec();
        while let Some(value) = pending.pop() {
            match value {
                Value::Object(map) => {
                    if let Some(name) = map.get("$ref").and_then(Value::as_str).and_then(def_name) {
                        if let (false, Some(schema)) = (found.contains_key(&name), self.defs.get(&name)) {
                            found.insert(name, schema.clone());
                            pending.push(schema);
                        }
                    }
                    pending.extend(map.values());
                }
                Value::Array(items) => pending.extend(items),
                _ => {}
            }
        }
        found
    }
}

/// The component a `#/$defs/Name[/…]` reference points into (JSON pointer escapes undone).
fn def_name(reference: &str) -> Option<String> {
    let rest = reference.strip_prefix(crate::normalize::DEFS_REF)?;
    let name = rest.split('/').next().filter(|name| !name.is_empty())?;
    Some(name.replace("~1", "/").replace("~0", "~"))
}

/// One operation (method + path template) of an API.
#[derive(Debug, Clone)]
pub struct Operation {
    /// The HTTP method.
    pub method: http::Method,
    /// The path template as written in the document (`/stores/{store_id}/orders`).
    pub path: String,
    /// JSON pointer to the operation in its document, for error messages.
    pub pointer: String,
    /// `operationId`, when the document gives one.
    pub operation_id: Option<String>,
    /// `tags`, in document order.
    pub tags: Vec<String>,
    /// Whether the document marks the operation deprecated.
    pub deprecated: bool,
    /// `x-sandgate-deprecated-at`: the date (`YYYY-MM-DD`) it was deprecated, when known.
    pub deprecated_at: Option<String>,
    /// `x-sandgate-scopes`: token scopes allowed to call it (`None` when the document is silent).
    pub scopes: Option<Vec<String>>,
    /// `x-sandgate-upgrade`: protocols a client may switch to with `Upgrade` (e.g. `websocket`).
    /// Empty when the document is silent: the gateway then refuses every upgrade.
    pub upgrades: Vec<String>,
    /// Parameters (path item's and operation's, the operation's winning), `$ref`s resolved.
    pub parameters: Vec<Arc<Parameter>>,
    /// Who may call it: alternatives (any one suffices), each a list of schemes that must all be
    /// satisfied; an empty alternative admits anonymous calls. Empty list: no security.
    pub security: Vec<Vec<SecurityScheme>>,
    /// OpenAPI `callbacks`: requests the API makes back to the caller after answering.
    pub callbacks: Vec<Callback>,
    /// `x-sandgate-resource`: overrides what the state stage infers (see `state::infer`).
    pub resource: Option<Value>,
    /// The documented request body, `$ref` resolved.
    pub request_body: Option<RequestBody>,
    /// Documented responses in document order.
    pub responses: Vec<ResponseSpec>,
    /// The schemas its `$ref`s point into (the document that declared it).
    pub schemas: Arc<SchemaSet>,
    /// For an inherited operation, the document it was inherited from.
    pub inherited_from: Option<PathBuf>,
}

impl Operation {
    /// A name for people: the operationId, else `METHOD path`.
    pub fn label(&self) -> String {
        match &self.operation_id {
            Some(id) => id.clone(),
            None => format!("{} {}", self.method, self.path),
        }
    }

    /// The response documented for `status`: the exact code first, then its range (`5XX`), then
    /// `default`.
    pub fn response_for(&self, status: u16) -> Option<&ResponseSpec> {
        let find = |key: StatusKey| self.responses.iter().find(|r| r.status == key);
        find(StatusKey::Code(status))
            .or_else(|| find(StatusKey::Range(status / 100)))
            .or_else(|| find(StatusKey::Default))
    }

    /// The success response the emulator answers with by default: the lowest documented 2xx code.
    pub fn default_success(&self) -> Option<&ResponseSpec> {
        self.responses
            .iter()
            .filter_map(|r| match r.status {
                StatusKey::Code(code) if (200..300).contains(&code) => Some((code, r)),
                _ => None,
            })
            .min_by_key(|(code, _)| *code)
            .map(|(_, r)| r)
            .or_else(|| self.responses.iter().find(|r| r.status == StatusKey::Range(2)))
    }
}

/// Where a parameter travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamLocation {
    /// In the path template.
    Path,
    /// In the query string.
    Query,
    /// In a header.
    Header,
    /// In a cookie.
    Cookie,
}

/// How a parameter's value is serialised (OpenAPI `style`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamStyle {
    /// `1,2,3` (path and header default).
    Simple,
    /// `.1.2.3` (path).
    Label,
    /// `;id=1,2,3` (path).
    Matrix,
    /// `id=1&id=2` or `id=1,2` (query and cookie default).
    Form,
    /// `id=1%202` (query arrays).
    SpaceDelimited,
    /// `id=1|2` (query arrays).
    PipeDelimited,
    /// `id[role]=admin` (query objects).
    DeepObject,
}

/// One documented parameter.
#[derive(Debug, Clone)]
pub struct Parameter {
    /// Its name (headers: lower-case).
    pub name: String,
    /// Where it travels.
    pub location: ParamLocation,
    /// Whether a request must carry it.
    pub required: bool,
    /// Its normalised schema (from `schema`, or from `content`'s media type), if any.
    pub schema: Option<Value>,
    /// Its serialisation style (the location's default when the document is silent).
    pub style: ParamStyle,
    /// Whether arrays and objects are exploded (`form` defaults to true, every other style to false).
    pub explode: bool,
    /// Documented with `content` instead of `schema`: the value is a JSON document.
    pub json_content: bool,
    /// Its `example`, or the value of the first of its `examples`.
    pub example: Option<Value>,
}

/// How a security scheme's credentials travel (OpenAPI `components.securitySchemes`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecurityScheme {
    /// `Authorization: Bearer …` (http bearer, oauth2, openIdConnect).
    Bearer,
    /// `Authorization: Basic …`.
    Basic,
    /// An API key in a header, query parameter or cookie.
    ApiKey {
        /// Where.
        location: ParamLocation,
        /// Its name (headers lower-case).
        name: String,
    },
}

/// One OpenAPI callback.
#[derive(Debug, Clone)]
pub struct Callback {
    /// Its name (the key under `callbacks`).
    pub name: String,
    /// The URL, a runtime expression (`{$request.body#/callback_url}`).
    pub url: String,
    /// The normalised JSON schema of the body the API sends, if documented.
    pub schema: Option<Value>,
}

/// A documented request body.
#[derive(Debug, Clone)]
pub struct RequestBody {
    /// Whether a request must carry one.
    pub required: bool,
    /// Its media types (ranges like `application/*` allowed), in document order.
    pub content: Vec<BodyMedia>,
    /// JSON pointer to the request body in its document.
    pub pointer: String,
}

/// One media type a request body may have.
#[derive(Debug, Clone)]
pub struct BodyMedia {
    /// As written: `application/json`, `multipart/form-data`, `application/*`…
    pub media_type: String,
    /// The normalised schema, if documented.
    pub schema: Option<Value>,
    /// The media type's `example`, or the first of its `examples`.
    pub example: Option<Value>,
    /// Its named `examples` (`$ref`s resolved), sorted by name.
    pub examples: Vec<(String, Value)>,
}

/// A media type's `example` (else the first of its `examples`) and its named `examples`, each
/// `$ref` resolved; one that does not resolve here (an external file) is left out, not fatal.
fn media_examples(file: &Path, doc: &Value, media: &Value, pointer: &str) -> (Option<Value>, Vec<(String, Value)>) {
    let mut examples = Vec::new();
    for (name, example) in media.get("examples").and_then(Value::as_object).into_iter().flatten() {
        let at = format!("{pointer}/examples/{}", pointer_segment(name));
        if let Some(value) = resolve(file, doc, example, &at).ok().and_then(|e| e.get("value")) {
            examples.push((name.clone(), value.clone()));
        }
    }
    let example = media.get("example").cloned().or_else(|| examples.first().map(|(_, v)| v.clone()));
    (example, examples)
}

/// The key of a documented response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusKey {
    /// An exact code, `"200"`.
    Code(u16),
    /// A range, `"5XX"` → `Range(5)`.
    Range(u16),
    /// `default`.
    Default,
}

impl StatusKey {
    /// The concrete status to answer with for this key (a range answers with its first code).
    pub fn status(self) -> u16 {
        match self {
            StatusKey::Code(code) => code,
            StatusKey::Range(class) => class * 100,
            StatusKey::Default => 500,
        }
    }
}

/// One documented response of an operation: its status key over what the document says of it.
/// Operations whose response is the same `$ref` share one [`Response`] (Microsoft Graph's 22,000
/// operations name the same error response 44,000 times); fields read through to it.
#[derive(Debug, Clone)]
pub struct ResponseSpec {
    /// Its status key.
    pub status: StatusKey,
    /// What it documents, shared by every operation that names the same response.
    pub documented: Arc<Response>,
}

impl std::ops::Deref for ResponseSpec {
    type Target = Response;

    fn deref(&self) -> &Response {
        &self.documented
    }
}

/// What a response documents, wherever it is written: inline in an operation, or a component.
#[derive(Debug)]
pub struct Response {
    /// JSON pointer to the response in its document (the component's, for a `$ref`).
    pub pointer: String,
    /// Its media types, in document order.
    pub content: Vec<MediaSpec>,
    /// Its documented headers.
    pub headers: Vec<ResponseHeader>,
    /// Its OpenAPI `links`: operations whose parameters come from this response.
    pub links: Vec<Link>,
}

/// A documented response header.
#[derive(Debug, Clone)]
pub struct ResponseHeader {
    /// Its name, lower-case.
    pub name: String,
    /// Whether every such response must carry it.
    pub required: bool,
    /// Its normalised schema, if documented.
    pub schema: Option<Value>,
}

/// An OpenAPI link: the operation it leads to and where that operation's parameters come from.
#[derive(Debug, Clone)]
pub struct Link {
    /// The link's name.
    pub name: String,
    /// The target's `operationId`.
    pub operation_id: String,
    /// Parameter name → runtime expression (`$response.body#/id`) or literal value.
    pub parameters: Vec<(String, Value)>,
}

impl Response {
    /// The JSON media type (`application/json` or any `+json`), if the response has one.
    pub fn json(&self) -> Option<&MediaSpec> {
        // Compared without parameters (`; charset=utf-8`) and case.
        let essence = |m: &MediaSpec| m.media_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        self.content
            .iter()
            .find(|m| essence(m) == "application/json")
            .or_else(|| self.content.iter().find(|m| essence(m).ends_with("+json")))
    }
}

/// One media type of a response.
#[derive(Debug, Clone)]
pub struct MediaSpec {
    /// E.g. `application/json`.
    pub media_type: String,
    /// The normalised schema, if documented.
    pub schema: Option<Value>,
    /// JSON pointer to the schema in its document.
    pub pointer: String,
    /// The media type's `example`, or the first of its `examples`.
    pub example: Option<Value>,
    /// Its named `examples` (`$ref`s resolved), sorted by name (the JSON model keeps no document
    /// order).
    pub examples: Vec<(String, Value)>,
}

const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/// Builds the model of one document that has already passed the structural check.
pub fn build_api(file: &Path, doc: &Value) -> Result<Api, OpenApiError> {
    let info = doc.get("info");
    let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_owned();
    let mut defs = Map::new();
    if let Some(schemas) = doc.pointer("/components/schemas").and_then(Value::as_object) {
        for (name, schema) in schemas {
            defs.insert(name.clone(), normalize::schema(schema));
        }
    }
    let schemas = Arc::new(SchemaSet::new(defs));
    let mut shared = Shared::default();
    let mut operations = Vec::new();
    for (path, item) in doc.get("paths").and_then(Value::as_object).into_iter().flatten() {
        for method in METHODS {
            let Some(op) = item.get(method) else { continue };
            let pointer = format!("/paths/{}/{method}", pointer_segment(path));
            let at = format!("/paths/{}/parameters", pointer_segment(path));
            let mut parameters = shared.parameters(file, doc, item.get("parameters"), &at)?;
            for own in shared.parameters(file, doc, op.get("parameters"), &format!("{pointer}/parameters"))? {
                parameters.retain(|p| !(p.name == own.name && p.location == own.location));
                parameters.push(own);
            }
            let mut operation = build_operation(file, doc, path, method, op, pointer, &schemas, &mut shared)?;
            operation.parameters = parameters;
            operations.push(operation);
        }
    }
    Ok(Api {
        file: file.to_path_buf(),
        title: text(info.and_then(|i| i.get("title"))),
        version: text(info.and_then(|i| i.get("version"))),
        base_path: base_path(doc),
        operations,
        schemas,
        validation_error: doc.get("x-sandgate-validation-error").cloned(),
        extensions: doc
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(key, _)| key.starts_with("x-sandgate-") && *key != "x-sandgate-validation-error")
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect(),
    })
}

#[allow(clippy::too_many_arguments)] // the document, where in it, and what its operations share
fn build_operation<'doc>(
    file: &Path,
    doc: &'doc Value,
    path: &str,
    method: &str,
    op: &'doc Value,
    pointer: String,
    schemas: &Arc<SchemaSet>,
    shared: &mut Shared<'doc>,
) -> Result<Operation, OpenApiError> {
    let mut responses = Vec::new();
    for (key, response) in op.get("responses").and_then(Value::as_object).into_iter().flatten() {
        let response_pointer = format!("{pointer}/responses/{}", pointer_segment(key));
        let status = parse_status(key).ok_or_else(|| {
            OpenApiError::invalid(
                file,
                &response_pointer,
                format!("{key:?} is not a status code, a range like 5XX, or default"),
            )
        })?;
        let documented = shared.response(file, doc, response, response_pointer)?;
        responses.push(ResponseSpec { status, documented });
    }
    let request_body = match op.get("requestBody") {
        Some(node) => {
            let at = format!("{pointer}/requestBody");
            let body = resolve(file, doc, node, &at)?;
            let content = body
                .get("content")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .map(|(media_type, media)| {
                    let (example, examples) =
                        media_examples(file, doc, media, &format!("{at}/content/{}", pointer_segment(media_type)));
                    BodyMedia {
                        media_type: media_type.clone(),
                        schema: media.get("schema").map(normalize::schema),
                        example,
                        examples,
                    }
                })
                .collect();
            let required = body.get("required").and_then(Value::as_bool).unwrap_or(false);
            Some(RequestBody { required, content, pointer: at })
        }
        None => None,
    };
    let security = security(file, doc, op.get("security").or_else(|| doc.get("security")), &pointer)?;
    let mut callbacks = Vec::new();
    for (name, callback) in op.get("callbacks").and_then(Value::as_object).into_iter().flatten() {
        let at = format!("{pointer}/callbacks/{}", pointer_segment(name));
        let callback = resolve(file, doc, callback, &at)?;
        for (url, item) in callback.as_object().into_iter().flatten() {
            let operation = METHODS.iter().find_map(|m| item.get(*m));
            let body = operation.and_then(|o| o.get("requestBody"));
            let body = match body {
                Some(body) => Some(resolve(file, doc, body, &format!("{at}/requestBody"))?),
                None => None,
            };
            let schema = body
                .and_then(|b| b.get("content"))
                .and_then(Value::as_object)
                .and_then(|content| content.iter().find(|(media, _)| media.contains("json")).map(|(_, m)| m))
                .and_then(|media| media.get("schema"))
                .map(normalize::schema);
            callbacks.push(Callback { name: name.clone(), url: url.clone(), schema });
        }
    }
    let scopes = op
        .get("x-sandgate-scopes")
        .and_then(Value::as_array)
        .map(|list| list.iter().filter_map(Value::as_str).map(str::to_owned).collect());
    Ok(Operation {
        method: method.to_ascii_uppercase().parse().map_err(|_| OpenApiError::invalid(file, &pointer, "bad method"))?,
        path: path.to_owned(),
        pointer,
        operation_id: op.get("operationId").and_then(Value::as_str).map(str::to_owned),
        tags: op
            .get("tags")
            .and_then(Value::as_array)
            .map(|tags| tags.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default(),
        deprecated: op.get("deprecated").and_then(Value::as_bool).unwrap_or(false),
        deprecated_at: op.get("x-sandgate-deprecated-at").and_then(Value::as_str).map(str::to_owned),
        scopes,
        upgrades: op
            .get("x-sandgate-upgrade")
            .and_then(Value::as_array)
            .map(|list| list.iter().filter_map(Value::as_str).map(str::to_ascii_lowercase).collect())
            .unwrap_or_default(),
        parameters: Vec::new(),
        security,
        callbacks,
        resource: op.get("x-sandgate-resource").cloned(),
        request_body,
        responses,
        schemas: Arc::clone(schemas),
        inherited_from: None,
    })
}

/// What several operations of one document share, each built once: responses and parameters
/// named through the same `$ref`, a path item's parameters, and the same object written inline in
/// several places (Graph writes a type's `$select` list, and a `200` answering
/// `{"$ref": "#/components/schemas/…user"}`, inline in every operation about users). On Microsoft
/// Graph beta (22,361 operations) this took the model from 287 MB to 96 MB of heap.
#[derive(Default)]
struct Shared<'doc> {
    responses: Interned<'doc, Response>,
    parameters: Interned<'doc, Parameter>,
}

impl<'doc> Shared<'doc> {
    /// The response `node` (at `at`) documents; a `$ref` is read at its target.
    fn response(
        &mut self,
        file: &Path,
        doc: &'doc Value,
        node: &'doc Value,
        at: String,
    ) -> Result<Arc<Response>, OpenApiError> {
        let target = resolve(file, doc, node, &at)?;
        // The pointer of a response shared by its content is the first place it is written.
        self.responses.get_or_build(target, || build_response(file, doc, target, reference_target(node).unwrap_or(at)))
    }

    /// The parameters listed at `list` (at `pointer`); a `$ref` is read at its target.
    fn parameters(
        &mut self,
        file: &Path,
        doc: &'doc Value,
        list: Option<&'doc Value>,
        pointer: &str,
    ) -> Result<Vec<Arc<Parameter>>, OpenApiError> {
        let mut out = Vec::new();
        for (index, node) in list.and_then(Value::as_array).into_iter().flatten().enumerate() {
            let at = format!("{pointer}/{index}");
            let target = resolve(file, doc, node, &at)?;
            out.push(self.parameters.get_or_build(target, || parameter(file, target, &at))?);
        }
        Ok(out)
    }
}

/// Models built from nodes of one document, found by the node's address, else by an equal node
/// (a hash of its content, then a deep comparison: no node is serialised to be compared).
struct Interned<'doc, T> {
    by_node: HashMap<*const Value, Arc<T>>,
    by_content: HashMap<u64, Vec<(&'doc Value, Arc<T>)>>,
}

impl<T> Default for Interned<'_, T> {
    fn default() -> Self {
        Interned { by_node: HashMap::new(), by_content: HashMap::new() }
    }
}

impl<'doc, T> Interned<'doc, T> {
    fn get_or_build(
        &mut self,
        node: &'doc Value,
        build: impl FnOnce() -> Result<T, OpenApiError>,
    ) -> Result<Arc<T>, OpenApiError> {
        if let Some(built) = self.by_node.get(&std::ptr::from_ref(node)) {
            return Ok(Arc::clone(built));
        }
        let equals = self.by_content.entry(content_hash(node)).or_default();
        let built = match equals.iter().find(|(other, _)| *other == node) {
            Some((_, built)) => Arc::clone(built),
            None => {
                let built = Arc::new(build()?);
                equals.push((node, Arc::clone(&built)));
                built
            }
        };
        self.by_node.insert(std::ptr::from_ref(node), Arc::clone(&built));
        Ok(built)
    }
}

/// A hash of what `node` holds (object members in key order), equal for equal nodes.
fn content_hash(node: &Value) -> u64 {
    use std::hash::{Hash, Hasher};
    fn feed(node: &Value, state: &mut std::collections::hash_map::DefaultHasher) {
        std::mem::discriminant(node).hash(state);
        match node {
            Value::Null => {}
            Value::Bool(flag) => flag.hash(state),
            Value::Number(number) => number.hash(state),
            Value::String(text) => text.hash(state),
            Value::Array(items) => {
                items.len().hash(state);
                items.iter().for_each(|item| feed(item, state));
            }
            Value::Object(members) => {
                members.len().hash(state);
                for (key, value) in members {
                    key.hash(state);
                    feed(value, state);
                }
            }
        }
    }
    let mut state = std::collections::hash_map::DefaultHasher::new();
    feed(node, &mut state);
    state.finish()
}

/// The JSON pointer a local `$ref` node names (`#/components/responses/error` → `/components/…`).
fn reference_target(node: &Value) -> Option<String> {
    node.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix('#')).map(str::to_owned)
}

/// The model of one response object (already resolved), found at `response_pointer`.
fn build_response(
    file: &Path,
    doc: &Value,
    response: &Value,
    response_pointer: String,
) -> Result<Response, OpenApiError> {
    let mut content = Vec::new();
    for (media_type, media) in response.get("content").and_then(Value::as_object).into_iter().flatten() {
        let media_pointer = format!("{response_pointer}/content/{}", pointer_segment(media_type));
        let (example, examples) = media_examples(file, doc, media, &media_pointer);
        content.push(MediaSpec {
            media_type: media_type.clone(),
            schema: media.get("schema").map(normalize::schema),
            pointer: format!("{media_pointer}/schema"),
            example,
            examples,
        });
    }
    let mut headers = Vec::new();
    for (name, header) in response.get("headers").and_then(Value::as_object).into_iter().flatten() {
        let header = resolve(file, doc, header, &format!("{response_pointer}/headers/{}", pointer_segment(name)))?;
        headers.push(ResponseHeader {
            name: name.to_ascii_lowercase(),
            required: header.get("required").and_then(Value::as_bool).unwrap_or(false),
            schema: header.get("schema").map(normalize::schema),
        });
    }
    let mut links = Vec::new();
    for (name, link) in response.get("links").and_then(Value::as_object).into_iter().flatten() {
        let link = resolve(file, doc, link, &format!("{response_pointer}/links/{}", pointer_segment(name)))?;
        // `operationRef` links are not followed: only `operationId` names a target reliably.
        let Some(operation_id) = link.get("operationId").and_then(Value::as_str) else { continue };
        let parameters = link
            .get("parameters")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect();
        links.push(Link { name: name.clone(), operation_id: operation_id.to_owned(), parameters });
    }
    Ok(Response { pointer: response_pointer, content, headers, links })
}

/// The security requirements in force (the operation's own, else the document's), each scheme
/// resolved in `components.securitySchemes`.
fn security(
    file: &Path,
    doc: &Value,
    requirements: Option<&Value>,
    at: &str,
) -> Result<Vec<Vec<SecurityScheme>>, OpenApiError> {
    let mut alternatives = Vec::new();
    for requirement in requirements.and_then(Value::as_array).into_iter().flatten() {
        let mut all = Vec::new();
        for name in requirement.as_object().into_iter().flat_map(|m| m.keys()) {
            let scheme =
                doc.pointer(&format!("/components/securitySchemes/{}", pointer_segment(name))).ok_or_else(|| {
                    OpenApiError::invalid(
                        file,
                        format!("{at}/security"),
                        format!("security scheme {name:?} is not defined"),
                    )
                })?;
            let text = |key: &str| scheme.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
            all.push(match text("type").as_str() {
                "http" if text("scheme").eq_ignore_ascii_case("basic") => SecurityScheme::Basic,
                "apiKey" => {
                    let location = match text("in").as_str() {
                        "query" => ParamLocation::Query,
                        "cookie" => ParamLocation::Cookie,
                        _ => ParamLocation::Header,
                    };
                    let name = text("name");
                    let name = if location == ParamLocation::Header { name.to_ascii_lowercase() } else { name };
                    SecurityScheme::ApiKey { location, name }
                }
                _ => SecurityScheme::Bearer,
            });
        }
        alternatives.push(all);
    }
    Ok(alternatives)
}

/// One parameter object (already resolved), found at `at`.
fn parameter(file: &Path, param: &Value, at: &str) -> Result<Parameter, OpenApiError> {
    let location = match param.get("in").and_then(Value::as_str) {
        Some("path") => ParamLocation::Path,
        Some("query") => ParamLocation::Query,
        Some("header") => ParamLocation::Header,
        Some("cookie") => ParamLocation::Cookie,
        other => {
            return Err(OpenApiError::invalid(
                file,
                at,
                format!("parameter location {other:?} is not path, query, header or cookie"),
            ))
        }
    };
    let name = param.get("name").and_then(Value::as_str).unwrap_or_default();
    let name = if location == ParamLocation::Header { name.to_ascii_lowercase() } else { name.to_owned() };
    let style = match param.get("style").and_then(Value::as_str) {
        None => match location {
            ParamLocation::Path | ParamLocation::Header => ParamStyle::Simple,
            ParamLocation::Query | ParamLocation::Cookie => ParamStyle::Form,
        },
        Some("simple") => ParamStyle::Simple,
        Some("label") => ParamStyle::Label,
        Some("matrix") => ParamStyle::Matrix,
        Some("form") => ParamStyle::Form,
        Some("spaceDelimited") => ParamStyle::SpaceDelimited,
        Some("pipeDelimited") => ParamStyle::PipeDelimited,
        Some("deepObject") => ParamStyle::DeepObject,
        Some(other) => return Err(OpenApiError::invalid(file, at, format!("unknown parameter style {other:?}"))),
    };
    let explode = param.get("explode").and_then(Value::as_bool).unwrap_or(style == ParamStyle::Form);
    // `content` holds exactly one media type; its schema describes the (JSON) value.
    let content_schema = param.get("content").and_then(Value::as_object).and_then(|c| c.values().next());
    Ok(Parameter {
        name,
        location,
        required: location == ParamLocation::Path || param.get("required").and_then(Value::as_bool).unwrap_or(false),
        schema: param.get("schema").or_else(|| content_schema.and_then(|m| m.get("schema"))).map(normalize::schema),
        style,
        explode,
        json_content: param.get("schema").is_none() && content_schema.is_some(),
        example: param.get("example").cloned().or_else(|| {
            let first = param.get("examples").and_then(Value::as_object).and_then(|e| e.values().next());
            first.and_then(|e| e.get("value")).cloned()
        }),
    })
}

/// Follows a local `$ref` (`#/components/...`) once; other nodes are returned as they are.
fn resolve<'a>(file: &Path, doc: &'a Value, node: &'a Value, at: &str) -> Result<&'a Value, OpenApiError> {
    match node.get("$ref").and_then(Value::as_str) {
        Some(target) => target.strip_prefix('#').and_then(|pointer| doc.pointer(pointer)).ok_or_else(|| {
            OpenApiError::invalid(file, at, format!("$ref {target:?} does not resolve in this document"))
        }),
        None => Ok(node),
    }
}

fn parse_status(key: &str) -> Option<StatusKey> {
    if key == "default" {
        return Some(StatusKey::Default);
    }
    let bytes = key.as_bytes();
    if bytes.len() == 3 && bytes[1..].eq_ignore_ascii_case(b"XX") && (b'1'..=b'5').contains(&bytes[0]) {
        return Some(StatusKey::Range(u16::from(bytes[0] - b'0')));
    }
    key.parse().ok().filter(|code| (100..600).contains(code)).map(StatusKey::Code)
}

fn base_path(doc: &Value) -> String {
    let mut url = doc.pointer("/servers/0/url").and_then(Value::as_str).unwrap_or("").to_owned();
    // Server variables take their default (`https://{region}.example.com/{version}`).
    for (name, variable) in doc.pointer("/servers/0/variables").and_then(Value::as_object).into_iter().flatten() {
        if let Some(default) = variable.get("default").and_then(Value::as_str) {
            url = url.replace(&format!("{{{name}}}"), default);
        }
    }
    // `https://host/path`, `//host/path` (scheme-relative) or `/path`.
    let authority = url.find("://").map(|end| end + 3).or_else(|| url.starts_with("//").then_some(2));
    let path = match authority {
        Some(start) => url[start..].find('/').map_or("", |slash| &url[start + slash..]),
        None => url.as_str(),
    };
    path.trim_end_matches('/').to_owned()
}

/// Gives each API with `x-sandgate-extends` the operations of its base document that it does not
/// override (same method and path template).
pub fn apply_extends(apis: &mut [Api], docs: &[(PathBuf, Value)]) -> Result<(), OpenApiError> {
    for (index, (file, doc)) in docs.iter().enumerate() {
        let Some(parent) = doc.get("x-sandgate-extends").and_then(Value::as_str) else { continue };
        let base_file = file.parent().unwrap_or(Path::new(".")).join(parent);
        let base_file = base_file.canonicalize().unwrap_or(base_file);
        let base = apis
            .iter()
            .position(|api| api.file.canonicalize().unwrap_or_else(|_| api.file.clone()) == base_file)
            .ok_or_else(|| OpenApiError::invalid(file, "/x-sandgate-extends", format!("{parent:?} was not loaded")))?;
        if base == index {
            return Err(OpenApiError::invalid(file, "/x-sandgate-extends", "a document cannot extend itself"));
        }
        if apis[index].validation_error.is_none() {
            apis[index].validation_error = apis[base].validation_error.clone();
        }
        for (key, value) in apis[base].extensions.clone() {
            apis[index].extensions.entry(key).or_insert(value);
        }
        let inherited: Vec<Operation> = apis[base]
            .operations
            .iter()
            .filter(|op| !apis[index].operations.iter().any(|own| own.method == op.method && own.path == op.path))
            .map(|op| Operation { inherited_from: Some(apis[base].file.clone()), ..op.clone() })
            .collect();
        apis[index].operations.extend(inherited);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_status_accepts_codes_ranges_and_default() {
        assert_eq!(parse_status("200"), Some(StatusKey::Code(200)));
        assert_eq!(parse_status("5XX"), Some(StatusKey::Range(5)));
        assert_eq!(parse_status("default"), Some(StatusKey::Default));
        assert_eq!(parse_status("abc"), None);
        assert_eq!(parse_status("700"), None);
    }

    #[test]
    fn operations_share_what_the_document_writes_once_or_alike() {
        let select = serde_json::json!({"name": "$select", "in": "query",
            "schema": {"type": "array", "items": {"enum": ["id", "name"]}}});
        let found = serde_json::json!({"description": "found",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Pet"}}}});
        let doc = serde_json::json!({
            "openapi": "3.0.3", "info": {"title": "t", "version": "1"},
            "paths": {
                "/pets/{id}": {
                    "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
                    "get": {"parameters": [select], "responses": {"200": found,
                        "4XX": {"$ref": "#/components/responses/error"}}},
                    "delete": {"parameters": [{"name": "$select", "in": "query", "schema": {"type": "string"}}],
                        "responses": {"204": {"description": "gone"},
                        "default": {"$ref": "#/components/responses/error"}}}
                },
                "/owners/{id}/pet": {"get": {"parameters": [select], "responses": {"200": found}}}
            },
            "components": {
                "schemas": {"Pet": {"type": "object"}},
                "responses": {"error": {"description": "failed", "content": {"application/json": {"schema": {"type": "object"}}}}}
            }
        });
        let api = build_api(Path::new("pets.yaml"), &doc).expect("model");
        let op = |method: &str, path: &str| {
            api.operations.iter().find(|op| op.method.as_str() == method && op.path == path).expect("operation")
        };
        let (get_pet, delete_pet, owner_pet) =
            (op("GET", "/pets/{id}"), op("DELETE", "/pets/{id}"), op("GET", "/owners/{id}/pet"));
        let response = |op: &Operation, status: StatusKey| {
            Arc::clone(&op.responses.iter().find(|r| r.status == status).expect("response").documented)
        };
        let parameter =
            |op: &Operation, name: &str| Arc::clone(op.parameters.iter().find(|p| p.name == name).expect("parameter"));

        // One `$ref`: one response, pointing at the component; under each operation's own key.
        let error = response(get_pet, StatusKey::Range(4));
        assert!(Arc::ptr_eq(&error, &response(delete_pet, StatusKey::Default)));
        assert_eq!(error.pointer, "/components/responses/error");
        // The same inline response and parameter written in two operations: built once.
        assert!(Arc::ptr_eq(&response(get_pet, StatusKey::Code(200)), &response(owner_pet, StatusKey::Code(200))));
        assert!(Arc::ptr_eq(&parameter(get_pet, "$select"), &parameter(owner_pet, "$select")));
        // A path item's parameters are its operations' own.
        assert!(Arc::ptr_eq(&parameter(get_pet, "id"), &parameter(delete_pet, "id")));
        // What differs stays apart.
        let (get_select, delete_select) = (parameter(get_pet, "$select"), parameter(delete_pet, "$select"));
        assert!(!Arc::ptr_eq(&get_select, &delete_select));
        assert_eq!(delete_select.schema, Some(serde_json::json!({"type": "string"})));
        assert!(!Arc::ptr_eq(&response(delete_pet, StatusKey::Code(204)), &response(get_pet, StatusKey::Code(200))));
    }

    #[test]
    fn base_path_comes_from_first_server() {
        let doc = serde_json::json!({"servers": [{"url": "https://h.example/pos-api/v2.5/"}]});
        assert_eq!(base_path(&doc), "/pos-api/v2.5");
        assert_eq!(base_path(&serde_json::json!({"servers": [{"url": "/x"}]})), "/x");
        assert_eq!(base_path(&serde_json::json!({})), "");
        assert_eq!(base_path(&serde_json::json!({"servers": [{"url": "//cfportal.example/api"}]})), "/api");
        let variables = serde_json::json!({"servers": [{"url": "https://{region}.example.com/{version}/",
            "variables": {"region": {"default": "eu"}, "version": {"default": "v2"}}}]});
        assert_eq!(base_path(&variables), "/v2");
    }
}
