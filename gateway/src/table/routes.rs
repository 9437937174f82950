//! RouteTable: which API, version and operation a request addresses, and each operation's policy
//! (scopes, deprecation, required headers). Built at start-up from the specs and version rules.
//!
//! Deny by default: only documented operations pass; an unknown version is a 404 that lists the
//! supported ones; a retired version is a 410.

use std::collections::BTreeMap;

use http::{HeaderMap, Method};
use pingora::Error;
use sandgate_core::problem::ProblemKind;
use sandgate_openapi::router::{OperationId, RouteMatch, Router};
use sandgate_openapi::validate::RequestCheck;
use sandgate_openapi::OpenApiError;
use sandgate_openapi::{Api, Operation, ParamLocation, ParamStyle, Parameter};

use crate::config::VersionRule;
use crate::error::reject;
use crate::table::scopes::{ScopeSet, Scopes, TokenScopes};

/// Index of an operation in the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteId {
    /// The API (document).
    pub api: u32,
    /// The operation in it.
    pub op: u32,
}

/// What a request addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selected {
    /// The environment's token endpoint of an API version (its index, for [`RouteTable::token_scopes`]).
    Token(u32),
    /// A documented operation.
    Operation(RouteId),
}

/// What a path addresses, with its raw (percent-encoded) path parameters.
#[derive(Debug)]
pub struct Routed<'r, 'p> {
    /// The token endpoint or an operation.
    pub selected: Selected,
    /// `(name, raw value)` of each path parameter.
    pub params: Vec<(&'r str, &'p str)>,
    /// The API's `x-sandgate-client-id-parameter`.
    client_param: Option<&'r str>,
}

impl<'p> Routed<'_, 'p> {
    /// The client the path speaks for: the parameter the API names in
    /// `x-sandgate-client-id-parameter`, if it has one.
    pub fn client_id(&self) -> Option<&'p str> {
        let name = self.client_param?;
        self.params.iter().find(|(n, _)| *n == name).map(|(_, value)| *value)
    }
}

/// Policy of one operation.
#[derive(Debug)]
pub struct OperationPolicy {
    /// `operationId` or `METHOD path`, for logs.
    pub label: String,
    /// Scopes that may call it (`x-sandgate-scopes`); all scopes when the spec is silent.
    pub scopes: ScopeSet,
    /// Whether it only reads (GET/HEAD/OPTIONS): a read-only application may call it.
    pub read_only: bool,
    /// Header parameters the spec marks required (lower-case names), checked before anything
    /// else reads the request, on both environments.
    pub required_headers: Vec<String>,
    /// Protocols the operation documents an `Upgrade` to (`x-sandgate-upgrade`); usually none.
    pub upgrades: Vec<String>,
    /// The operation's parameter checks (the emulator's validator, parameters only), or why the
    /// spec's schemas could not be compiled.
    pub params: Result<RequestCheck, OpenApiError>,
    /// Documented query parameters: what a proxied request may carry (see `QueryNames`).
    pub query: QueryNames,
    /// `Deprecation` header value (`@<unix time>`), if the operation or its version is deprecated.
    pub deprecation: Option<String>,
    /// `Sunset` header value.
    pub sunset: Option<String>,
    /// `Link` header value pointing at the successor.
    pub successor_link: Option<String>,
}

/// The query keys an operation documents: each parameter's name, `name[…]` for deepObject
/// parameters, and the property names of exploded form objects (which travel as top-level keys).
#[derive(Debug, Default)]
pub struct QueryNames {
    names: Vec<String>,
}

impl QueryNames {
    fn of(op: &Operation) -> QueryNames {
        let mut names = Vec::new();
        for param in op.parameters.iter().filter(|p| p.location == ParamLocation::Query) {
            names.push(param.name.clone());
            let properties = param.schema.as_ref().and_then(|s| s.get("properties")).and_then(|p| p.as_object());
            if param.explode && param.style == ParamStyle::Form {
                names.extend(properties.into_iter().flat_map(|p| p.keys().cloned()));
            }
        }
        QueryNames { names }
    }

    /// Whether `key` (decoded) is documented.
    pub fn admits(&self, key: &str) -> bool {
        let base = key.split_once('[').map_or(key, |(base, _)| base);
        self.names.iter().any(|name| name == key || name == base)
    }
}

#[derive(Debug)]
struct VersionEntry {
    api: String,
    version: String,
    policies: Vec<OperationPolicy>,
    token_scopes: TokenScopes,
    /// `x-sandgate-client-id-parameter`: the path parameter that must name the token's client.
    client_id_param: Option<String>,
}

/// The header parameters `op` requires that the gateway checks (a flow id, say): every
/// required one but `accept`, `content-type` and `authorization`, which HTTP itself governs.
pub fn required_headers(op: &Operation) -> impl Iterator<Item = &Parameter> {
    op.parameters
        .iter()
        .map(|p| &**p)
        .filter(|p| p.location == ParamLocation::Header && p.required)
        .filter(|p| !["accept", "content-type", "authorization"].contains(&p.name.as_str()))
}

/// The compiled routes.
#[derive(Debug)]
pub struct RouteTable {
    router: Router,
    entries: Vec<VersionEntry>,
    /// api name → supported versions (sorted).
    supported: BTreeMap<String, Vec<String>>,
    /// (api, version, rule) of retired versions (few; scanned without allocating).
    retired: Vec<(String, String, VersionRule)>,
}

impl RouteTable {
    /// Builds the table from the loaded APIs, the version rules and the known scopes.
    pub fn new(apis: &[Api], rules: &BTreeMap<(String, String), VersionRule>, scopes: &Scopes) -> RouteTable {
        let mut entries = Vec::with_capacity(apis.len());
        let mut supported: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for api in apis {
            let (name, version) = api.name_and_version().unwrap_or(("", ""));
            let rule = rules.get(&(name.to_owned(), version.to_owned())).cloned().unwrap_or_default();
            if !name.is_empty() && !rule.retired {
                supported.entry(name.to_owned()).or_default().push(version.to_owned());
            }
            let policies =
                api.operations
                    .iter()
                    .map(|op| {
                        // An operation overridden by a later version of the same API points at it.
                        let successor = apis.iter().find_map(|later| {
                            let (later_name, later_version) = later.name_and_version()?;
                            let overrides = later_name == name
                                && later_version != version
                                && version_less(version, later_version)
                                && later
                                    .operations
                                    .iter()
                                    .any(|o| o.inherited_from.is_none() && o.method == op.method && o.path == op.path);
                            overrides.then(|| later_version.to_owned())
                        });
                        let op_deprecated_at = op.deprecated_at.as_deref().and_then(date_to_unix);
                        let deprecated_at = match (op.deprecated, op_deprecated_at, rule.deprecated_at) {
                            (_, _, Some(version_date)) => Some(version_date),
                            (true, Some(date), None) => Some(date),
                            (true, None, None) => Some(0),
                            (false, _, None) => None,
                        };
                        let successor = rule.successor.clone().or(successor).filter(|_| deprecated_at.is_some());
                        OperationPolicy {
                            label: op.label(),
                            scopes: op.scopes.as_ref().map_or(ScopeSet::ALL, |list| scopes.set_of(list)),
                            read_only: matches!(op.method, Method::GET | Method::HEAD | Method::OPTIONS),
                            required_headers: required_headers(op).map(|p| p.name.clone()).collect(),
                            upgrades: op.upgrades.clone(),
                            params: RequestCheck::compile_params(op).inspect_err(|e| {
                                tracing::error!(operation = %op.label(), error = %e, "parameters cannot be validated; the operation answers 500 until the spec is fixed");
                            }),
                            query: QueryNames::of(op),
                            deprecation: deprecated_at.map(|t| format!("@{t}")),
                            sunset: rule.sunset.clone(),
                            successor_link: successor.map(|v| format!("</{name}/v{v}>; rel=\"successor-version\"")),
                        }
                    })
                    .collect();
            let token_scopes = TokenScopes::of(api);
            let client_id_param =
                api.extensions.get("x-sandgate-client-id-parameter").and_then(|v| v.as_str()).map(str::to_owned);
            entries.push(VersionEntry {
                api: name.to_owned(),
                version: version.to_owned(),
                policies,
                token_scopes,
                client_id_param,
            });
        }
        for versions in supported.values_mut() {
            versions.sort_by(|a, b| if version_less(a, b) { std::cmp::Ordering::Less } else { b.cmp(a).reverse() });
            versions.dedup();
        }
        let retired =
            rules.iter().filter(|(_, r)| r.retired).map(|((a, v), r)| (a.clone(), v.clone(), r.clone())).collect();
        RouteTable { router: Router::new(apis), entries, supported, retired }
    }

    /// Whether `api` is the name of an API the specs describe (in a supported version).
    pub fn serves(&self, api: &str) -> bool {
        self.supported.contains_key(api)
    }

    /// How many operations each API (each entry of a `RouteId`'s `api`) has.
    pub fn operation_counts(&self) -> impl Iterator<Item = usize> + '_ {
        self.entries.iter().map(|entry| entry.policies.len())
    }

    /// The policy of operation `id`.
    pub fn policy(&self, id: RouteId) -> &OperationPolicy {
        &self.entries[id.api as usize].policies[id.op as usize]
    }

    /// The scopes the token endpoint selected as `Selected::Token(index)` may grant.
    pub fn token_scopes(&self, index: u32) -> &TokenScopes {
        static NONE: TokenScopes = TokenScopes { names: Vec::new(), default: None };
        self.entries.get(index as usize).map_or(&NONE, |e| &e.token_scopes)
    }

    /// `(api, version)` of an operation, for metrics and logs.
    pub fn version_of(&self, id: RouteId) -> (&str, &str) {
        let entry = &self.entries[id.api as usize];
        (&entry.api, &entry.version)
    }

    /// Selects what `method path` addresses, with the path parameters as the router read them
    /// (one lookup serves the client-id check and PRODUCTION's parameter validation). `path` has
    /// passed `route::select` (API-shaped, no dot segments).
    pub fn select<'r, 'p>(&'r self, method: &Method, path: &'p str) -> Result<Routed<'r, 'p>, Box<Error>> {
        let mut segments = path.trim_start_matches('/').splitn(3, '/');
        let api = segments.next().unwrap_or_default();
        let version = segments.next().unwrap_or_default().trim_start_matches('v');
        let rest = segments.next().unwrap_or_default();
        let Some(versions) = self.supported.get(api) else {
            let apis: Vec<&str> = self.supported.keys().map(String::as_str).collect();
            return Err(reject(
                ProblemKind::UnknownRoute,
                format!("no API named {api:?}; this gateway serves: {}", apis.join(", ")),
            ));
        };
        if let Some((_, _, rule)) = self.retired.iter().find(|(a, v, _)| a == api && v == version) {
            let successor = rule.successor.as_deref().map(|s| format!("; move to v{s}")).unwrap_or_default();
            return Err(reject(ProblemKind::RetiredVersion, format!("{api} v{version} has been retired{successor}")));
        }
        if !versions.iter().any(|v| v == version) {
            let list: Vec<String> = versions.iter().map(|v| format!("v{v}")).collect();
            return Err(reject(
                ProblemKind::UnsupportedVersion,
                format!("{api} has no version v{version}; supported: {}", list.join(", ")),
            ));
        }
        if rest == "oauth/token" {
            let entry = self.entries.iter().position(|e| e.api == api && e.version == version).unwrap_or_default();
            return Ok(Routed { selected: Selected::Token(entry as u32), params: Vec::new(), client_param: None });
        }
        match self.router.find(method, path) {
            RouteMatch::Found(id, params) => Ok(Routed {
                selected: Selected::Operation(RouteId { api: id.api as u32, op: id.op as u32 }),
                params,
                client_param: self.entries.get(id.api).and_then(|e| e.client_id_param.as_deref()),
            }),
            RouteMatch::MethodNotAllowed(allowed) => {
                let allowed: Vec<&str> = allowed.iter().map(Method::as_str).collect();
                Err(reject(
                    ProblemKind::MethodNotAllowed,
                    format!("{method} is not allowed here; allowed: {}", allowed.join(", ")),
                ))
            }
            RouteMatch::NotFound => {
                Err(reject(ProblemKind::UnknownRoute, format!("{api} v{version} has no operation at {path}")))
            }
        }
    }

    /// Among operations sharing a method and path that their keys' fragments tell apart (AWS's
    /// `/#X-Amz-Target=…`), the one the request names by header or query parameter, as the
    /// emulator picks it: its scopes and parameter checks are the ones that apply. A request that
    /// names none of them, where each must be named, is refused: no operation's checks would be
    /// the right ones.
    pub fn disambiguate<'r, 'p>(
        &self,
        routed: Routed<'r, 'p>,
        headers: &HeaderMap,
        query: Option<&str>,
    ) -> Result<Routed<'r, 'p>, Box<Error>> {
        let Selected::Operation(id) = routed.selected else { return Ok(routed) };
        let found = OperationId { api: id.api as usize, op: id.op as usize };
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let Some(named) = self.router.disambiguate(found, header, query) else {
            let detail = "several operations share this method and path, told apart by a header or query parameter \
                          their keys name (as X-Amz-Target); the request names none of them";
            return Err(reject(ProblemKind::UnknownRoute, detail));
        };
        Ok(Routed { selected: Selected::Operation(RouteId { api: named.api as u32, op: named.op as u32 }), ..routed })
    }
}

/// Numeric, segment-wise version order: 2.5 < 2.5.1 < 2.10.
fn version_less(a: &str, b: &str) -> bool {
    let parse = |v: &str| v.split('.').map(|p| p.parse::<u64>().unwrap_or(0)).collect::<Vec<_>>();
    parse(a) < parse(b)
}

fn date_to_unix(date: &str) -> Option<i64> {
    chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()?.and_hms_opt(0, 0, 0).map(|t| t.and_utc().timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::kind_of;

    fn table(rules: &[(&str, &str, VersionRule)]) -> RouteTable {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs/pos-api/v2.5.1.yaml");
        let mut apis = sandgate_openapi::load_file(&dir).expect("v2.5.1");
        apis.extend(sandgate_openapi::load_file(&dir.with_file_name("v2.5.yaml")).expect("v2.5"));
        let rules = rules.iter().map(|(a, v, r)| ((a.to_string(), v.to_string()), r.clone())).collect();
        RouteTable::new(&apis, &rules, &Scopes::from_apis(&apis))
    }

    #[test]
    fn select_unknown_version_lists_supported_ones() {
        let err = table(&[]).select(&Method::GET, "/pos-api/v9/client-id/c/i18n").expect_err("v9");
        assert_eq!(kind_of(&err), ProblemKind::UnsupportedVersion);
        assert!(err.context.as_ref().is_some_and(|c| c.as_str().contains("v2.5, v2.5.1")), "{err:?}");
    }

    #[test]
    fn operations_told_apart_by_fragment_get_their_own_policy() {
        let op = |scope: &str, id: &str| {
            serde_json::json!({"operationId": id, "x-sandgate-scopes": [scope],
                "responses": {"200": {"description": "ok"}}})
        };
        let doc = serde_json::json!({"openapi": "3.0.3", "info": {"title": "t", "version": "1"},
            "servers": [{"url": "/svc/v1"}],
            "paths": {
                "/#X-Amz-Target=Svc.Describe": {"post": op("svc:read", "describe")},
                "/#X-Amz-Target=Svc.Delete": {"post": op("svc:admin", "delete")}}});
        let apis = vec![sandgate_openapi::model::build_api(std::path::Path::new("svc.yaml"), &doc).expect("model")];
        let table = RouteTable::new(&apis, &BTreeMap::new(), &Scopes::from_apis(&apis));
        let label = |target: Option<&str>| {
            let mut headers = HeaderMap::new();
            if let Some(target) = target {
                headers.insert("x-amz-target", target.parse().expect("header"));
            }
            let routed = table.select(&Method::POST, "/svc/v1/").expect("routes");
            match table.disambiguate(routed, &headers, None).map(|r| r.selected) {
                Ok(Selected::Operation(id)) => Ok(table.policy(id).label.clone()),
                Ok(Selected::Token(_)) => panic!("an operation"),
                Err(refused) => Err(kind_of(&refused)),
            }
        };
        assert_eq!(label(Some("Svc.Delete")), Ok("delete".to_owned()));
        assert_eq!(label(Some("Svc.Describe")), Ok("describe".to_owned()));
        // Naming none of them (or naming one not quite) is refused, not checked as another one.
        assert_eq!(label(None), Err(ProblemKind::UnknownRoute));
        assert_eq!(label(Some("Svc.Delete ")), Err(ProblemKind::UnknownRoute));
    }

    #[test]
    fn select_retired_version_is_410() {
        let rule = VersionRule { retired: true, successor: Some("2.5".into()), ..VersionRule::default() };
        let err =
            table(&[("pos-api", "2", rule)]).select(&Method::GET, "/pos-api/v2/client-id/c/i18n").expect_err("retired");
        assert_eq!(kind_of(&err), ProblemKind::RetiredVersion);
    }

    #[test]
    fn deprecated_operation_points_at_its_successor() {
        let table = table(&[]);
        let Ok(Routed { selected: Selected::Operation(id), .. }) =
            table.select(&Method::POST, "/pos-api/v2.5/client-id/c/accounts/1/calculate-interest")
        else {
            panic!("calculate-interest must route");
        };
        let policy = table.policy(id);
        assert_eq!(policy.deprecation.as_deref(), Some("@1632268800"));
        assert_eq!(policy.successor_link.as_deref(), Some("</pos-api/v2.5.1>; rel=\"successor-version\""));
        let routed = table.select(&Method::GET, "/pos-api/v2.5.1/client-id/c/customers/search");
        let Ok(Routed { selected: Selected::Operation(id), .. }) = routed else {
            panic!("inherited operation must route");
        };
        assert!(table.policy(id).deprecation.is_none());
        assert_eq!(
            routed.ok().and_then(|r| r.client_id()),
            Some("c"),
            "the spec's x-sandgate-client-id-parameter, inherited by v2.5.1"
        );
        assert_eq!(table.policy(id).required_headers, ["x-reference-id"], "read from the spec");
    }

    #[test]
    fn select_token_endpoint_and_wrong_method() {
        let table = table(&[]);
        let Ok(Routed { selected: Selected::Token(index), .. }) =
            table.select(&Method::POST, "/pos-api/v2.5/oauth/token")
        else {
            panic!("the token endpoint routes");
        };
        let scopes = table.token_scopes(index);
        assert_eq!(
            (scopes.names.as_slice(), scopes.default.as_deref()),
            (&["merchant".to_owned(), "customer".to_owned()][..], Some("merchant")),
            "read from the spec"
        );
        let err = table.select(&Method::DELETE, "/pos-api/v2.5/client-id/c/i18n").expect_err("405");
        assert_eq!(kind_of(&err), ProblemKind::MethodNotAllowed);
        let err = table.select(&Method::GET, "/other-api/v1/x").expect_err("404");
        assert_eq!(kind_of(&err), ProblemKind::UnknownRoute);
    }
}
