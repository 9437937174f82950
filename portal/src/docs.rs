//! API documentation rendered from the specs the gateway serves: every operation with its
//! summary, description, parameters, request example, responses with examples, scopes,
//! deprecation, and the magic TRAINING values of the scenarios beside the spec; and the "try it"
//! panel, which calls TRAINING through the gateway with the signed-in member's TRAINING credential.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use askama::Template;
use serde_json::Value;

use sandgate_control::auth::Actor;
use sandgate_openapi::generate::{CompiledSet, Program};
use sandgate_openapi::model::StatusKey;
use sandgate_openapi::{Api, ParamLocation};
use sandgate_store::StoreError;

use crate::templates::{self, render, Chrome};
use crate::web::Page;
use crate::Ctx;

/// Largest answer body the panel shows.
const MAX_SHOWN_BYTES: usize = 64 * 1024;

/// One parameter as the docs show it.
#[derive(Debug, Clone)]
pub(crate) struct DocParam {
    pub(crate) name: String,
    pub(crate) location: String,
    pub(crate) kind: String,
    pub(crate) required: bool,
    pub(crate) description: String,
    pub(crate) example: String,
    /// The API's client-id path parameter (filled with the credential's id).
    pub(crate) client_id: bool,
}

/// One operation as the docs show it.
#[derive(Debug, Clone)]
pub(crate) struct DocOp {
    pub(crate) anchor: String,
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) operation_id: String,
    pub(crate) summary: String,
    pub(crate) description: String,
    pub(crate) deprecated: bool,
    pub(crate) deprecated_note: String,
    pub(crate) scopes: String,
    pub(crate) parameters: Vec<DocParam>,
    pub(crate) has_body: bool,
    pub(crate) request_example: String,
    /// The request body's component schema, when it names one.
    pub(crate) request_schema: String,
    /// (status, description, example, component schema name or "").
    pub(crate) responses: Vec<(String, String, String, String)>,
    /// (what to send, answer, scenario name).
    pub(crate) scenarios: Vec<(String, String, String)>,
    /// The documented error codes: (status, code, message), each reachable with
    /// `Prefer: example=<code>` in TRAINING.
    pub(crate) error_codes: Vec<(u16, String, String)>,
}

/// One API version.
#[derive(Debug, Clone)]
pub(crate) struct DocApi {
    pub(crate) slug: String,
    pub(crate) title: String,
    pub(crate) version: String,
    pub(crate) base_path: String,
    pub(crate) description: String,
    pub(crate) operations: Vec<DocOp>,
    /// The component schemas the document (and the one it extends) declares: (name, JSON).
    pub(crate) schemas: Vec<(String, String)>,
}

/// Every documented API, built once at start.
#[derive(Debug, Default)]
pub(crate) struct Catalog {
    apis: Vec<DocApi>,
}

impl Catalog {
    pub(crate) fn build(apis: &[Api]) -> Catalog {
        // Each document is read once and borrowed by every operation it describes (a large spec
        // has thousands of operations; copying it per operation made start-up quadratic).
        let mut documents: HashMap<PathBuf, Value> = HashMap::new();
        let files = apis.iter().flat_map(|api| {
            std::iter::once(&api.file).chain(api.operations.iter().filter_map(|op| op.inherited_from.as_ref()))
        });
        for file in files {
            documents.entry(file.clone()).or_insert_with(|| {
                std::fs::read_to_string(file)
                    .ok()
                    .and_then(|text| serde_yaml::from_str::<Value>(&text).ok())
                    .unwrap_or(Value::Null)
            });
        }
        let load = |path: &Path| documents.get(path).unwrap_or(&Value::Null);
        let mut out = Vec::new();
        for api in apis {
            let document = load(&api.file);
            let beside = scenario_file(&api.file);
            let (scenarios, messages) = (scenarios(&beside), &beside["messages"]);
            let client_param = api.extensions.get("x-sandgate-client-id-parameter").and_then(Value::as_str);
            let compiled = CompiledSet::compile(&api.schemas).ok();
            let mut operations = Vec::new();
            for (index, op) in api.operations.iter().enumerate() {
                let source = op.inherited_from.as_deref().map_or(document, load);
                let raw = &source["paths"][op.path.as_str()][op.method.as_str().to_ascii_lowercase().as_str()];
                let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
                let op_id = op.operation_id.clone().unwrap_or_default();
                let parameters = op
                    .parameters
                    .iter()
                    .map(|p| {
                        let described = raw["parameters"]
                            .as_array()
                            .and_then(|list| {
                                list.iter()
                                    .map(|q| resolve(source, q))
                                    .find(|q| q["name"].as_str() == Some(p.name.as_str()))
                            })
                            .map(|q| text(&q["description"]))
                            .unwrap_or_default();
                        let client_id = p.location == ParamLocation::Path && Some(p.name.as_str()) == client_param;
                        DocParam {
                            name: p.name.clone(),
                            location: match p.location {
                                ParamLocation::Path => "path",
                                ParamLocation::Query => "query",
                                ParamLocation::Header => "header",
                                ParamLocation::Cookie => "cookie",
                            }
                            .to_owned(),
                            kind: p.schema.as_ref().map(schema_kind).unwrap_or_default(),
                            required: p.required,
                            description: described,
                            // The client-id parameter takes the chosen credential's id, never the example.
                            example: if client_id {
                                String::new()
                            } else {
                                p.example.as_ref().map(plain).unwrap_or_default()
                            },
                            client_id,
                        }
                    })
                    .collect();
                let request_example = raw["requestBody"]["content"]["application/json"]
                    .get("example")
                    .or_else(|| {
                        raw["requestBody"]["content"]["application/json"]["examples"]
                            .as_object()
                            .and_then(|m| m.values().next())
                            .map(|e| &e["value"])
                    })
                    .map(pretty)
                    .or_else(|| {
                        // No example in the spec: one generated from the schema, as TRAINING would.
                        let schema = op.request_body.as_ref()?.content.first()?.schema.as_ref()?;
                        let set = compiled.as_ref()?;
                        let program = Program::compile(schema, &op.schemas, set).ok()?;
                        Some(pretty(&program.generate(1)))
                    })
                    .unwrap_or_default();
                let responses = op
                    .responses
                    .iter()
                    .map(|r| {
                        let status = match r.status {
                            StatusKey::Code(code) => code.to_string(),
                            StatusKey::Range(class) => format!("{class}XX"),
                            StatusKey::Default => "default".to_owned(),
                        };
                        let raw_response = resolve(source, &raw["responses"][status.as_str()]);
                        let example = raw_response["content"]["application/json"]
                            .get("example")
                            .or_else(|| {
                                raw_response["content"]["application/json"]["examples"]
                                    .as_object()
                                    .and_then(|m| m.values().next())
                                    .map(|e| &e["value"])
                            })
                            .map(pretty)
                            .unwrap_or_default();
                        let schema = schema_name(&raw_response["content"]["application/json"]["schema"]);
                        (status, text(&raw_response["description"]), example, schema)
                    })
                    .collect();
                operations.push(DocOp {
                    anchor: format!("op-{index}"),
                    method: op.method.as_str().to_owned(),
                    path: op.path.clone(),
                    summary: text(&raw["summary"]),
                    description: text(&raw["description"]),
                    deprecated: op.deprecated,
                    deprecated_note: op.deprecated_at.clone().map(|at| format!("since {at}")).unwrap_or_default(),
                    scopes: op.scopes.clone().unwrap_or_default().join(", "),
                    parameters,
                    has_body: op.request_body.is_some(),
                    request_schema: schema_name(
                        &resolve(source, &raw["requestBody"])["content"]["application/json"]["schema"],
                    ),
                    request_example,
                    responses,
                    scenarios: scenarios.iter().filter(|s| s.0.contains(&op_id)).map(|s| s.1.clone()).collect(),
                    error_codes: sandgate_openapi::error_codes::documented(op)
                        .iter()
                        .map(|c| {
                            let message = messages[c.code]["en"].as_str().unwrap_or_default().to_owned();
                            (c.status, c.code.to_owned(), message)
                        })
                        .collect(),
                    operation_id: op_id,
                });
            }
            // The components of this document and of those it inherits operations from.
            let mut sources = vec![api.file.clone()];
            for op in &api.operations {
                if let Some(from) = &op.inherited_from {
                    if !sources.contains(from) {
                        sources.push(from.clone());
                    }
                }
            }
            let mut schemas: Vec<(String, String)> = Vec::new();
            for source in &sources {
                let document = load(source);
                for (name, schema) in document["components"]["schemas"].as_object().into_iter().flatten() {
                    if !schemas.iter().any(|(known, _)| known == name) {
                        schemas.push((name.clone(), pretty(schema)));
                    }
                }
            }
            schemas.sort();
            let slug = api.base_path.trim_matches('/').replace('/', "-");
            out.push(DocApi {
                slug: if slug.is_empty() { "api".to_owned() } else { slug },
                title: api.title.clone(),
                version: api.version.clone(),
                base_path: api.base_path.clone(),
                description: document["info"]["description"].as_str().unwrap_or_default().to_owned(),
                operations,
                schemas,
            });
        }
        Catalog { apis: out }
    }

    fn api(&self, slug: &str) -> Option<&DocApi> {
        self.apis.iter().find(|a| a.slug == slug)
    }
}

/// The scenario file beside a spec (`scenarios.yaml` in its folder), or null.
fn scenario_file(spec: &Path) -> Value {
    let Some(folder) = spec.parent() else { return Value::Null };
    let Ok(text) = std::fs::read_to_string(folder.join("scenarios.yaml")) else { return Value::Null };
    serde_yaml::from_str::<Value>(&text).unwrap_or(Value::Null)
}

/// The scenarios of a scenario file, as (operation ids, (what to send, answer, name)).
fn scenarios(document: &Value) -> Vec<(Vec<String>, (String, String, String))> {
    let mut out = Vec::new();
    for scenario in document["scenarios"].as_array().into_iter().flatten() {
        let operations: Vec<String> = scenario["operations"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|o| o.as_str().map(str::to_owned))
            .collect();
        let when: Vec<String> = scenario["when"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| {
                let field = c["field"].as_str().unwrap_or_default().trim_start_matches("request.");
                if let Some(value) = c.get("equals") {
                    format!("{field} = {}", plain(value))
                } else if let Some(values) = c["in"].as_array() {
                    format!("{field} one of {}", values.iter().map(plain).collect::<Vec<_>>().join(", "))
                } else {
                    field.to_owned()
                }
            })
            .collect();
        let then = &scenario["then"];
        if then["status"].is_null() {
            continue; // a side effect (`continue: true`), not an outcome
        }
        let answer = match then["body"].get("error").or_else(|| then["body"].get("code")) {
            Some(error) => format!("{} {}", then["status"], plain(error)),
            None => then["status"].to_string(),
        };
        out.push((operations, (when.join(" and "), answer, scenario["name"].as_str().unwrap_or_default().to_owned())));
    }
    out
}

/// `value`, or what its local `$ref` (`#/components/…`) points to in `document` (a few hops).
fn resolve<'a>(document: &'a Value, value: &'a Value) -> &'a Value {
    let mut current = value;
    for _ in 0..8 {
        let Some(pointer) = current.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix('#')) else {
            return current;
        };
        match document.pointer(pointer) {
            Some(target) => current = target,
            None => return current,
        }
    }
    current
}

/// The component a schema refers to (`#/components/schemas/Name` → `Name`), or `""`; for a
/// list, the component of its items.
fn schema_name(schema: &Value) -> String {
    let schema = if schema["type"] == "array" { &schema["items"] } else { schema };
    schema["$ref"].as_str().and_then(|r| r.strip_prefix("#/components/schemas/")).map(str::to_owned).unwrap_or_default()
}

fn plain(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

fn schema_kind(schema: &Value) -> String {
    let kind = match &schema["type"] {
        Value::String(kind) => kind.clone(),
        Value::Array(kinds) => kinds.iter().map(plain).collect::<Vec<_>>().join(" | "),
        _ => "any".to_owned(),
    };
    match schema["format"].as_str() {
        Some(format) => format!("{kind} ({format})"),
        None => kind,
    }
}

#[derive(Template)]
#[template(path = "docs.html")]
struct Index<'a> {
    chrome: Chrome,
    apis: &'a [DocApi],
}

#[derive(Template)]
#[template(path = "docs_api.html")]
struct ApiPage<'a> {
    chrome: Chrome,
    api: &'a DocApi,
    /// The viewer's TRAINING credentials: (client id, application name).
    credentials: Vec<(String, String)>,
    result_anchor: String,
    result_status: String,
    result_body: String,
    /// What the "try it" form sent, shown again with its answer.
    sent: Vec<(String, String)>,
}

impl ApiPage<'_> {
    /// A try-it field's value: what was just sent for this operation, else the example.
    fn value<'b>(&'b self, anchor: &str, field: impl AsRef<str>, example: &'b str) -> &'b str {
        let field = field.as_ref();
        if self.result_anchor != anchor {
            return example;
        }
        self.sent.iter().find(|(k, _)| k == field).map_or(example, |(_, v)| v.as_str())
    }
}

pub(crate) fn index(ctx: &Ctx<'_>) -> Page {
    render(200, &Index { chrome: Chrome::new(ctx, "API documentation"), apis: &ctx.portal.docs.apis })
}

/// The viewer's active TRAINING credentials (a member's, of the applications it may read).
fn training_credentials(ctx: &Ctx<'_>) -> Result<Vec<(String, String)>, StoreError> {
    let Some(viewer) = ctx.viewer else { return Ok(Vec::new()) };
    let Actor::Member(principal) = &viewer.actor else { return Ok(Vec::new()) };
    let store = &ctx.portal.control.store;
    let mut out = Vec::new();
    for app in store.applications(&principal.member.partner_id)? {
        if app.status != "active" || viewer.actor.reader_of_app(&app).is_err() {
            continue;
        }
        for credential in store.credentials(&app.id)? {
            if credential.status == "active" && credential.environment == "training" {
                out.push((credential.client_id, app.fields.name.clone()));
            }
        }
    }
    Ok(out)
}

pub(crate) fn api_page(ctx: &Ctx<'_>, slug: &str, result: Option<(String, String, String, u16)>) -> Page {
    let Some(api) = ctx.portal.docs.api(slug) else { return templates::not_found(ctx) };
    let credentials = match training_credentials(ctx) {
        Ok(credentials) => credentials,
        Err(e) => return templates::store_down(&e),
    };
    let (result_anchor, result_status, result_body, status) = result.unwrap_or_default();
    let sent = if result_anchor.is_empty() { Vec::new() } else { ctx.request.form.clone() };
    let page = ApiPage {
        chrome: Chrome::new(ctx, &api.title),
        api,
        credentials,
        result_anchor,
        result_status,
        result_body,
        sent,
    };
    render(if status == 0 { 200 } else { status }, &page)
}

/// Sends one operation to TRAINING through the gateway and shows the answer under it.
pub(crate) fn try_it(ctx: &Ctx<'_>, slug: &str) -> Page {
    let Some(api) = ctx.portal.docs.api(slug) else { return templates::not_found(ctx) };
    let r = ctx.request;
    let Some(op) = api.operations.iter().find(|o| o.anchor == r.field("operation")) else {
        return templates::not_found(ctx);
    };
    let anchor = op.anchor.clone();
    let outcome = (|| -> Result<(String, String), String> {
        let credentials = training_credentials(ctx).map_err(|_| "the store is unavailable; try again".to_owned())?;
        let client_id = r.field("client_id");
        if !credentials.iter().any(|(id, _)| id == client_id) {
            return Err("choose one of your TRAINING credentials".to_owned());
        }
        let try_it = ctx.portal.try_it.as_ref().ok_or("TRAINING is not served by this process")?;
        let token = try_it.token(client_id)?;
        let mut path = op.path.clone();
        let mut query = form_urlencoded::Serializer::new(String::new());
        let mut headers = Vec::new();
        for p in &op.parameters {
            let mut value = r.field(&format!("p.{}", p.name)).to_owned();
            if value.is_empty() && p.client_id {
                value = client_id.to_owned();
            }
            match p.location.as_str() {
                "path" => path = path.replace(&format!("{{{}}}", p.name), &crate::web::segment(&value)),
                "query" if !value.is_empty() => {
                    query.append_pair(&p.name, &value);
                }
                "header" if !p.example.is_empty() => headers.push((p.name.clone(), p.example.clone())),
                _ => {}
            }
        }
        let query = query.finish();
        let url = format!(
            "{}{}{path}{}{query}",
            try_it.training_url(),
            api.base_path,
            if query.is_empty() { "" } else { "?" }
        );
        let method = http::Method::from_bytes(op.method.as_bytes()).map_err(|e| e.to_string())?;
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::blocking::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .map_err(|e| format!("could not make the call: {e}"))?;
        let mut request = client.request(method, &url).bearer_auth(token);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        if op.has_body {
            request = request.header("content-type", "application/json").body(r.field("body").to_owned());
        }
        let answer = request.send().map_err(|e| format!("the gateway did not answer: {e}"))?;
        let status = answer.status();
        let text = answer.text().unwrap_or_default();
        let body = serde_json::from_str::<Value>(&text).map(|v| pretty(&v)).unwrap_or(text);
        let mut body = body;
        if body.len() > MAX_SHOWN_BYTES {
            let mut cut = MAX_SHOWN_BYTES;
            while !body.is_char_boundary(cut) {
                cut -= 1;
            }
            body.truncate(cut);
            body.push_str("\n… (cut)");
        }
        Ok((format!("{} {} → {status}", op.method, url.trim_start_matches(&try_it.training_url())), body))
    })();
    match outcome {
        Ok((status, body)) => api_page(ctx, slug, Some((anchor, status, body, 200))),
        Err(problem) => api_page(ctx, slug, Some((anchor, "Not sent".to_owned(), problem, 422))),
    }
}
