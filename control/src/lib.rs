//! The control-plane API on the admin listener: partners and members, applications, credentials,
//! invitations, production review, revocation, the activity log, connections and webhooks.
//! Described by `specs/control-plane/v1.yaml`, served at `GET /v1/openapi.yaml`.
//!
//! Each request: read (body capped) → route (matchit) → authenticate → run the handler on a
//! blocking thread (the store is SQLite) → respond. Handlers check who may do what and validate
//! input; the store runs each write in one transaction with its activity-log entry.

pub mod auth;
pub mod context;
pub mod http;
pub mod mail;
pub mod rules;
pub mod settings;
pub mod webhooks;

mod activity;
mod applications;
mod connections;
mod credentials;
mod emulator;
pub mod partners;

use std::sync::Arc;

use ::http::Response;
use pingora::protocols::http::ServerSession;
use sandgate_core::problem::ProblemKind;
use serde_json::Value;

use self::auth::Actor;
use self::http::{Problem, Reply, Request};
use crate::context::ControlContext;

/// The control plane's own OpenAPI document, compiled in so it always matches the binary.
pub const OPENAPI_YAML: &str = include_str!("../../specs/control-plane/v1.yaml");

/// What a handler gets.
pub struct Call<'a> {
    /// Process state: store, keys, settings.
    pub control: &'a ControlContext,
    /// Who is calling.
    pub actor: &'a Actor,
    /// The request.
    pub request: &'a Request,
    params: Vec<(String, String)>,
}

impl Call<'_> {
    /// A path parameter (always present: the route matched).
    pub fn param(&self, name: &str) -> &str {
        self.params.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str())
    }

    /// The caller as the activity log names it.
    pub fn actor_label(&self) -> String {
        self.actor.label()
    }
}

type Handler = fn(&Call<'_>) -> Result<Reply, Problem>;

/// Who may reach an endpoint before the handler's own checks.
#[derive(Clone, Copy, PartialEq)]
enum Access {
    /// No credentials needed.
    Public,
    /// An operator token or a member key.
    Authenticated,
}

const ENDPOINTS: &[(&str, &str, Access, Handler)] = &[
    ("GET", "/v1/openapi.yaml", Access::Public, openapi),
    ("GET", "/v1/me", Access::Authenticated, partners::me),
    ("POST", "/v1/partners", Access::Authenticated, partners::create),
    ("GET", "/v1/partners", Access::Authenticated, partners::list),
    ("GET", "/v1/partners/{partner_id}", Access::Authenticated, partners::show),
    ("POST", "/v1/partners/{partner_id}/members", Access::Authenticated, partners::add_member),
    ("GET", "/v1/partners/{partner_id}/members", Access::Authenticated, partners::members),
    ("POST", "/v1/partners/{partner_id}/members/{member_id}/revoke", Access::Authenticated, partners::revoke_member),
    ("POST", "/v1/partners/{partner_id}/applications", Access::Authenticated, applications::create),
    ("GET", "/v1/partners/{partner_id}/applications", Access::Authenticated, applications::list),
    ("GET", "/v1/partners/{partner_id}/activity", Access::Authenticated, activity::of_partner),
    ("GET", "/v1/applications/{application_id}", Access::Authenticated, applications::show),
    ("PATCH", "/v1/applications/{application_id}", Access::Authenticated, applications::update),
    ("POST", "/v1/applications/{application_id}/revoke", Access::Authenticated, applications::revoke),
    (
        "POST",
        "/v1/applications/{application_id}/webhook-secret",
        Access::Authenticated,
        applications::rotate_webhook_secret,
    ),
    ("GET", "/v1/applications/{application_id}/activity", Access::Authenticated, activity::of_application),
    ("GET", "/v1/applications/{application_id}/webhook-deliveries", Access::Authenticated, activity::deliveries),
    ("POST", "/v1/applications/{application_id}/credentials", Access::Authenticated, credentials::issue),
    ("GET", "/v1/applications/{application_id}/credentials", Access::Authenticated, credentials::list),
    ("POST", "/v1/credentials/{client_id}/rotate", Access::Authenticated, credentials::rotate),
    ("POST", "/v1/credentials/{client_id}/revoke", Access::Authenticated, credentials::revoke),
    ("POST", "/v1/applications/{application_id}/invitations", Access::Authenticated, credentials::invite),
    ("GET", "/v1/applications/{application_id}/invitations", Access::Authenticated, credentials::invitations),
    ("POST", "/v1/invitations/{invitation_id}/verify", Access::Public, credentials::verify),
    ("POST", "/v1/invitations/{invitation_id}/reset", Access::Authenticated, credentials::reset),
    ("POST", "/v1/invitations/{invitation_id}/resend", Access::Authenticated, credentials::resend),
    ("POST", "/v1/invitations/{invitation_id}/revoke", Access::Authenticated, credentials::revoke_invitation),
    ("POST", "/v1/applications/{application_id}/review", Access::Authenticated, applications::submit),
    ("GET", "/v1/applications/{application_id}/review", Access::Authenticated, applications::reviews),
    ("POST", "/v1/applications/{application_id}/review/approve", Access::Authenticated, applications::approve),
    ("POST", "/v1/applications/{application_id}/review/reject", Access::Authenticated, applications::reject),
    (
        "PUT",
        "/v1/entities/{entity_type}/{entity_id}/connections/{application_id}",
        Access::Authenticated,
        connections::connect,
    ),
    (
        "DELETE",
        "/v1/entities/{entity_type}/{entity_id}/connections/{application_id}",
        Access::Authenticated,
        connections::disconnect,
    ),
    ("GET", "/v1/entities/{entity_type}/{entity_id}/connections", Access::Authenticated, connections::list),
    ("GET", "/v1/entities/{entity_type}/{entity_id}/benefits", Access::Authenticated, connections::benefits),
    ("GET", "/v1/mail", Access::Authenticated, mail::list),
    ("POST", "/v1/emulator/scrub", Access::Authenticated, emulator::scrub),
];

/// Every endpoint as (method, path template): what `sandgate admin` must be able to call.
pub fn endpoints() -> impl Iterator<Item = (&'static str, &'static str)> {
    ENDPOINTS.iter().map(|(method, path, _, _)| (*method, *path))
}

/// The compiled route table: path template → the endpoints (by method) on it.
pub struct Routes {
    router: matchit::Router<Vec<usize>>,
}

impl Routes {
    /// Compiles the endpoint table (`ENDPOINTS`).
    pub fn new() -> Routes {
        let mut by_path: Vec<(&str, Vec<usize>)> = Vec::new();
        for (index, (_, path, _, _)) in ENDPOINTS.iter().enumerate() {
            match by_path.iter_mut().find(|(p, _)| p == path) {
                Some((_, list)) => list.push(index),
                None => by_path.push((path, vec![index])),
            }
        }
        let mut router = matchit::Router::new();
        for (path, list) in by_path {
            // The table is a constant; a bad template is a programming error caught by every test.
            router.insert(path, list).expect("control-plane route templates are valid and distinct");
        }
        Routes { router }
    }
}

impl Default for Routes {
    fn default() -> Self {
        Routes::new()
    }
}

/// Whether `path` belongs to the control plane.
pub fn owns(path: &str) -> bool {
    path == "/v1" || path.starts_with("/v1/")
}

/// Serves one control-plane request.
pub async fn serve(control: &Arc<ControlContext>, routes: &Routes, session: &mut ServerSession) -> Response<Vec<u8>> {
    let request = match http::read(session).await {
        Ok(request) => request,
        Err(http::ReadError::TooLarge) => {
            let detail = format!("the body is larger than {} bytes", http::MAX_BODY_BYTES);
            return http::respond(Err(Problem::new(ProblemKind::PayloadTooLarge, detail, Some("body".to_owned()))));
        }
        Err(http::ReadError::Broken) => {
            return http::respond(Err(Problem::new(ProblemKind::InvalidRequest, "the body could not be read", None)));
        }
    };
    let (index, params) = match routes.find(&request.method, &request.path) {
        Ok(found) => found,
        Err(Unrouted::Problem(problem)) => return http::respond(Err(problem)),
        Err(Unrouted::Method(allowed, problem)) => {
            let mut response = http::respond(Err(problem));
            if let Ok(value) = ::http::HeaderValue::from_str(&allowed) {
                response.headers_mut().insert("allow", value);
            }
            return response;
        }
    };
    let (_, _, access, handler) = ENDPOINTS[index];
    let control = Arc::clone(control);
    let outcome = tokio::task::spawn_blocking(move || {
        let operators = operators(&control);
        let actor = match auth::authenticate(
            request.authorization.as_deref(),
            &operators,
            &control.store,
            &control.keys.secret_hash,
        ) {
            Ok(actor) => actor,
            // A public endpoint (the OTP is the credential) does not care about a stale header.
            Err(_) if access == Access::Public => Actor::Anonymous,
            Err(auth::AuthError::Invalid(detail)) => {
                return Err(Problem::new(ProblemKind::Unauthenticated, detail, None))
            }
            Err(auth::AuthError::Unavailable) => {
                let detail = "the credential store is unavailable; try again";
                return Err(Problem::new(ProblemKind::StoreUnavailable, detail, None));
            }
        };
        if access == Access::Authenticated && matches!(actor, Actor::Anonymous) {
            let detail = "send Authorization: Bearer <operator token or member key>";
            return Err(Problem::new(ProblemKind::Unauthenticated, detail, None));
        }
        handler(&Call { control: &control, actor: &actor, request: &request, params })
    })
    .await;
    http::respond(outcome.unwrap_or_else(|_| Err(Problem::new(ProblemKind::Internal, "the request failed", None))))
}

/// Runs one control-plane call in-process as `actor`: the developer portal's way in, through the
/// same routes, checks, store code and activity log as the HTTP API. Blocking (the store is).
pub fn call_as(control: &ControlContext, routes: &Routes, actor: &Actor, request: &Request) -> Result<Reply, Problem> {
    let (index, params) = match routes.find(&request.method, &request.path) {
        Ok(found) => found,
        Err(Unrouted::Problem(problem) | Unrouted::Method(_, problem)) => return Err(problem),
    };
    let (_, _, access, handler) = ENDPOINTS[index];
    if access == Access::Authenticated && matches!(actor, Actor::Anonymous) {
        return Err(Problem::new(ProblemKind::Unauthenticated, "sign in first", None));
    }
    handler(&Call { control, actor, request, params })
}

/// Why a request matched no endpoint.
enum Unrouted {
    /// No endpoint at the path, or an undecodable parameter.
    Problem(Problem),
    /// The path exists with other methods (listed, for `Allow`).
    Method(String, Problem),
}

impl Routes {
    /// The endpoint for `method` and `path`, with its decoded path parameters.
    fn find(&self, method: &::http::Method, path: &str) -> Result<(usize, Vec<(String, String)>), Unrouted> {
        let Ok(matched) = self.router.at(path) else {
            let detail = format!("no control-plane endpoint at {path}; see GET /v1/openapi.yaml");
            return Err(Unrouted::Problem(Problem::new(ProblemKind::UnknownRoute, detail, None)));
        };
        let mut params: Vec<(String, String)> = Vec::with_capacity(matched.params.len());
        for (name, raw) in matched.params.iter() {
            // Ids travel percent-encoded (`loc%201`); the store knows them decoded.
            let Ok(value) = percent_encoding::percent_decode_str(raw).decode_utf8() else {
                let detail = format!("the path parameter {name} is not valid UTF-8 once percent-decoded");
                return Err(Unrouted::Problem(Problem::new(
                    ProblemKind::InvalidRequest,
                    detail,
                    Some(name.to_owned()),
                )));
            };
            params.push((name.to_owned(), value.into_owned()));
        }
        let Some(&index) = matched.value.iter().find(|&&i| ENDPOINTS[i].0 == method.as_str()) else {
            let allowed: Vec<&str> = matched.value.iter().map(|&i| ENDPOINTS[i].0).collect();
            let detail = format!("{method} {path} is not supported; use {}", allowed.join(", "));
            return Err(Unrouted::Method(
                allowed.join(", "),
                Problem::new(ProblemKind::MethodNotAllowed, detail, None),
            ));
        };
        Ok((index, params))
    }
}

/// The operator tokens in force: the configured ones and the local one.
pub fn operators(control: &ControlContext) -> Vec<(String, [u8; 32])> {
    let mut tokens = control.settings.load().operator_tokens.clone();
    tokens.push(("local".to_owned(), control.local_operator));
    tokens
}

fn openapi(call: &Call<'_>) -> Result<Reply, Problem> {
    let names: Vec<String> =
        call.control.settings.load().environments.0.iter().map(|env| env.as_str().to_owned()).collect();
    let plans = call.control.settings.load().plans.clone();
    let document = served_spec(&names, &plans, call.control.app_types.all())
        .ok_or_else(|| Problem::new(ProblemKind::Internal, "the control-plane spec could not be rendered", None))?;
    Ok(Reply::Raw(200, "application/yaml", document.into_bytes()))
}

/// The control-plane spec as this process serves it: where a value must name one of the
/// configured environments, or a scope or webhook event of an application type the loaded specs
/// declare, the spec says which (they are configuration and specs, so the file in `specs/`
/// cannot). A credential's environment is matched in any case; an application's plan is `""`
/// (the default) or one of the configured ones.
fn served_spec(environments: &[String], plans: &[String], types: &[rules::AppType]) -> Option<String> {
    let mut spec: Value = serde_yaml::from_str(OPENAPI_YAML).ok()?;
    let any_case: Vec<String> = environments
        .iter()
        .map(|name| {
            name.chars()
                .map(|c| match (c.to_ascii_lowercase(), c.to_ascii_uppercase()) {
                    (lower, upper) if lower != upper => format!("[{lower}{upper}]"),
                    _ => regex_syntax::escape(&c.to_string()),
                })
                .collect()
        })
        .collect();
    let issue = spec.pointer_mut("/components/schemas/IssueCredential/properties/environment")?;
    issue["pattern"] = Value::String(format!("^(?:{})$", any_case.join("|")));
    let scrub =
        spec.pointer_mut("/paths/~1v1~1emulator~1scrub/post/requestBody/content/application~1json/schema/oneOf")?;
    for branch in scrub.as_array_mut()? {
        if let Some(environment) = branch.pointer_mut("/properties/environment") {
            environment["enum"] = Value::from(environments.to_vec());
        }
    }
    let mut plan_names = vec![String::new()];
    plan_names.extend(plans.iter().cloned());
    for schema in ["CreateApplication", "UpdateApplication"] {
        let plan = spec.pointer_mut(&format!("/components/schemas/{schema}/properties/plan"))?;
        plan["enum"] = Value::from(plan_names.clone());
    }
    if !types.is_empty() {
        application_types(&mut spec, types)?;
    }
    serde_yaml::to_string(&spec).ok()
}

/// A new application's scopes and webhook events are its type's (one `oneOf` branch per type);
/// an update's are those of some type (which one is the stored application's).
fn application_types(spec: &mut Value, types: &[rules::AppType]) -> Option<()> {
    let branch = |kind: &rules::AppType| {
        serde_json::json!({
            "title": kind.name,
            "properties": {
                "type": {"enum": [kind.name]},
                "scopes": {"items": {"enum": kind.scopes}},
                "webhooks": {"items": {"properties": {"events": {"items": {"enum": kind.events}}}}},
            },
        })
    };
    let create = spec.pointer_mut("/components/schemas/CreateApplication")?;
    create["oneOf"] = Value::Array(types.iter().map(branch).collect());
    let mut scopes: Vec<&String> = types.iter().flat_map(|t| &t.scopes).collect();
    scopes.sort();
    scopes.dedup();
    let update = spec.pointer_mut("/components/schemas/UpdateApplication/properties/scopes/items")?;
    update["enum"] = serde_json::json!(scopes);
    Some(())
}

/// `201`/`200` JSON from a serialisable value.
pub(crate) fn json_reply(status: u16, value: impl serde::Serialize) -> Result<Reply, Problem> {
    let value = serde_json::to_value(value)
        .map_err(|_| Problem::new(ProblemKind::Internal, "could not encode the answer", None))?;
    Ok(Reply::Json(status, value))
}

/// A JSON object from pairs.
pub(crate) fn object(pairs: impl IntoIterator<Item = (&'static str, Value)>) -> Value {
    Value::Object(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spec_documents_exactly_the_served_endpoints() {
        let spec: serde_yaml::Value = serde_yaml::from_str(OPENAPI_YAML).expect("the control-plane spec parses");
        let mut documented: Vec<(String, String)> = Vec::new();
        for (path, item) in spec["paths"].as_mapping().expect("paths") {
            let path = path.as_str().expect("path").to_owned();
            for method in ["get", "put", "post", "delete", "patch"] {
                if item.get(method).is_some() {
                    documented.push((method.to_ascii_uppercase(), path.clone()));
                }
            }
        }
        let mut served: Vec<(String, String)> =
            ENDPOINTS.iter().map(|(method, path, _, _)| ((*method).to_owned(), (*path).to_owned())).collect();
        for (method, path) in [("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/metrics"), ("POST", "/reload")] {
            served.push((method.to_owned(), path.to_owned()));
        }
        documented.sort();
        served.sort();
        assert_eq!(documented, served);
    }

    #[test]
    fn a_trust_entry_the_spec_admits_is_one_the_server_accepts() {
        let spec: Value = serde_yaml::from_str(OPENAPI_YAML).expect("the control-plane spec parses");
        let schema = spec["components"]["schemas"]["TrustEntry"].clone();
        let validator = jsonschema::options().should_validate_formats(true).build(&schema).expect("compiles");
        let admitted = [
            "10.0.0.0/8",
            "192.0.2.7",
            "0.0.0.0/0",
            "2001:db8::1",
            "https://shop.example.com",
            "HTTP://a:8080",
            "https://x:65535",
            "http://[::1]",
            "255.255.255.255/32",
        ];
        for entry in admitted.iter().filter(|e| validator.is_valid(&Value::from(**e))) {
            assert!(
                sandgate_core::trust_list::TrustList::parse(entry).is_ok(),
                "the spec admits {entry:?}, the server refuses it"
            );
        }
        for refused in [
            "shop.example.com",
            "https://shop.example.com/",
            "https://a/b",
            "ftp://a",
            "10.0.0.0/33",
            "https://a:65536",
            "https://u@a",
            "1.2.3",
            "256.1.1.1",
            "",
        ] {
            assert!(!validator.is_valid(&Value::from(refused)), "the spec admits {refused:?}");
            assert!(
                sandgate_core::trust_list::TrustList::parse(refused).map_or(true, |list| list.is_empty()),
                "{refused:?}"
            );
        }
        for stated in ["10.0.0.0/8", "192.0.2.7", "2001:db8::1", "https://shop.example.com", "HTTP://a:8080"] {
            assert!(validator.is_valid(&Value::from(stated)), "the spec refuses {stated:?}");
        }
    }

    #[test]
    fn the_served_spec_names_the_configured_environments() {
        let served =
            served_spec(&["training".to_owned(), "mi".to_owned()], &["standard".to_owned()], &[]).expect("renders");
        let spec: Value = serde_yaml::from_str(&served).expect("YAML");
        let pattern = spec["components"]["schemas"]["IssueCredential"]["properties"]["environment"]["pattern"]
            .as_str()
            .expect("a pattern");
        let regex = regex::Regex::new(pattern).expect("a regex");
        for accepted in ["training", "TRAINING", "Mi", "mi"] {
            assert!(regex.is_match(accepted), "{accepted} against {pattern}");
        }
        for refused in ["production", "", "trainingx", "m"] {
            assert!(!regex.is_match(refused), "{refused} against {pattern}");
        }
        let scrub =
            &spec["paths"]["/v1/emulator/scrub"]["post"]["requestBody"]["content"]["application/json"]["schema"];
        assert_eq!(scrub["oneOf"][1]["properties"]["environment"]["enum"], serde_json::json!(["training", "mi"]));
        for schema in ["CreateApplication", "UpdateApplication"] {
            let plan = &spec["components"]["schemas"][schema]["properties"]["plan"]["enum"];
            assert_eq!(plan, &serde_json::json!(["", "standard"]), "{schema}: the default and the configured plans");
        }
        assert_eq!(
            spec["paths"].as_object().map(|p| p.len()),
            serde_yaml::from_str::<Value>(OPENAPI_YAML).ok().and_then(|s| s["paths"].as_object().map(|p| p.len()))
        );
    }

    #[test]
    fn the_served_spec_gives_each_application_type_its_scopes_and_events() {
        let types = [
            rules::AppType { name: "generic".into(), scopes: vec!["merchant".into()], events: vec!["a.b".into()] },
            rules::AppType { name: "hardware".into(), scopes: vec!["device".into()], events: vec![] },
        ];
        let served = served_spec(&["training".to_owned()], &[], &types).expect("renders");
        let spec: Value = serde_yaml::from_str(&served).expect("YAML");
        let create = &spec["components"]["schemas"]["CreateApplication"];
        let branches = create["oneOf"].as_array().expect("one branch per type");
        assert_eq!(branches.len(), 2);
        assert_eq!(branches[1]["properties"]["type"]["enum"], serde_json::json!(["hardware"]));
        assert_eq!(branches[1]["properties"]["scopes"]["items"]["enum"], serde_json::json!(["device"]));
        let update = &spec["components"]["schemas"]["UpdateApplication"]["properties"]["scopes"]["items"]["enum"];
        assert_eq!(update, &serde_json::json!(["device", "merchant"]));
    }

    #[test]
    fn public_endpoints_are_marked_so_in_the_spec() {
        let spec: serde_yaml::Value = serde_yaml::from_str(OPENAPI_YAML).expect("parses");
        for (method, path, access, _) in ENDPOINTS {
            let operation = &spec["paths"][*path][method.to_ascii_lowercase().as_str()];
            let public = operation.get("security").and_then(|s| s.as_sequence()).is_some_and(|s| s.is_empty());
            assert_eq!(public, *access == Access::Public, "{method} {path}");
        }
    }
}
