//! Routing: what a path addresses — the token endpoint of `/{api}/v{version}`, or a documented
//! operation — and the client the path speaks for, when the API names that parameter
//! (`x-sandgate-client-id-parameter`); the headers the operation requires.
//!
//! Runs first after hygiene. Dot segments (`..`, `.`, or their percent-encodings) are refused
//! outright, so no path trick can address another version or API than the one the checks ran for.

use http::{HeaderMap, Method};
use pingora::http::RequestHeader;
use pingora::Error;
use sandgate_core::problem::ProblemKind;

use crate::error::reject;
use crate::table::routes::{OperationPolicy, RouteTable, Routed};

/// Selects the target of `method path`; also returns the path's client id, if any.
pub fn select<'r, 'p>(routes: &'r RouteTable, method: &Method, path: &'p str) -> Result<Routed<'r, 'p>, Box<Error>> {
    if path.split('/').any(is_dot_segment) {
        return Err(reject(ProblemKind::InvalidRequest, "the path must not contain . or .. segments (encoded or not)"));
    }
    if let Some(sequence) = hidden_separator(path) {
        return Err(reject(
            ProblemKind::InvalidRequest,
            format!("the path must not contain {sequence}: a backend that decodes before it normalises would read another path"),
        ));
    }
    let mut segments = path.strip_prefix('/').unwrap_or(path).split('/');
    let api = segments.next().unwrap_or_default();
    let version = segments.next().unwrap_or_default();
    let is_version = version.strip_prefix('v').is_some_and(|v| v.starts_with(|c: char| c.is_ascii_digit()));
    if api.is_empty() || !is_version {
        return Err(reject(
            ProblemKind::UnknownRoute,
            format!("{path} is not an API path; API paths look like /{{api}}/v{{version}}/…, and a token comes from /{{api}}/v{{version}}/oauth/token"),
        ));
    }
    routes.select(method, path)
}

/// The header parameters the operation's spec marks required must be present and non-empty.
pub fn check_required_headers(policy: &OperationPolicy, headers: &HeaderMap) -> Result<(), Box<Error>> {
    match policy.required_headers.iter().find(|name| headers.get(name.as_str()).is_none_or(|v| v.is_empty())) {
        Some(name) => Err(reject(
            ProblemKind::InvalidRequest,
            format!("the header {name} is required by this operation (see its parameters in the spec)"),
        )),
        None => Ok(()),
    }
}

/// Refuses a protocol switch (`Upgrade`, `HTTP2-Settings`, `Connection: upgrade`) unless the
/// operation documents it. After a `101` Pingora relays raw bytes both ways, and no phase sees a
/// later request on that connection; so an undocumented upgrade would be a tunnel past every check.
/// `policy` is `None` for the token endpoint, which documents none. Returns whether a documented
/// upgrade was asked for (the upstream then keeps the handshake; every other request has it
/// stripped by the peer's policy).
pub fn check_upgrade(policy: Option<&OperationPolicy>, headers: &HeaderMap) -> Result<bool, Box<Error>> {
    let connection_upgrade = headers
        .get_all(http::header::CONNECTION)
        .iter()
        .any(|v| v.as_bytes().split(|b| *b == b',').any(|t| t.trim_ascii().eq_ignore_ascii_case(b"upgrade")));
    let upgrade = headers.get(http::header::UPGRADE);
    if upgrade.is_none() && !connection_upgrade && !headers.contains_key("http2-settings") {
        return Ok(false);
    }
    let asked = upgrade.and_then(|v| v.to_str().ok()).unwrap_or_default();
    let documented = policy.is_some_and(|p| {
        !asked.is_empty()
            && asked.split(',').all(|protocol| {
                let name = protocol.trim().split('/').next().unwrap_or_default();
                p.upgrades.iter().any(|u| u.eq_ignore_ascii_case(name))
            })
    });
    if documented {
        return Ok(true);
    }
    Err(reject(
        ProblemKind::UpgradeRefused,
        "this operation does not document a protocol upgrade; send the request without Upgrade / Connection: upgrade",
    ))
}

/// A path separator or terminator hidden from our router but not from every backend: `%2F`,
/// `%5C`, a backslash, `%00` (any case). Parameters never need them; ids that do are not paths.
fn hidden_separator(path: &str) -> Option<&'static str> {
    if path.contains('\\') {
        return Some("a backslash");
    }
    let bytes = path.as_bytes();
    bytes.windows(3).filter(|w| w[0] == b'%').find_map(|w| match [w[1], w[2].to_ascii_uppercase()] {
        [b'2', b'F'] => Some("an encoded / (%2F)"),
        [b'5', b'C'] => Some("an encoded \\ (%5C)"),
        [b'0', b'0'] => Some("an encoded NUL (%00)"),
        _ => None,
    })
}

/// Validates the path, query and header parameters of a request to a real backend against the
/// spec (the emulator validates its own requests); with `refuse_undocumented` (config
/// `limits.undocumented_query: refuse`) an undocumented query parameter is a 400.
/// `path_params` are the ones `select` read.
pub fn check_parameters(
    policy: &OperationPolicy,
    path_params: &[(&str, &str)],
    req: &RequestHeader,
    refuse_undocumented: bool,
) -> Result<(), Box<Error>> {
    let check = policy.params.as_ref().map_err(|_| {
        reject(ProblemKind::Internal, "this operation's spec cannot be enforced; the operator has been told")
    })?;
    let query = req.uri.query();
    if refuse_undocumented {
        let unknown: Vec<String> = query
            .map(|q| form_urlencoded::parse(q.as_bytes()).map(|(k, _)| k.into_owned()).collect::<Vec<_>>())
            .unwrap_or_default()
            .into_iter()
            .filter(|key: &String| !policy.query.admits(key))
            .collect();
        if !unknown.is_empty() {
            return Err(reject(
                ProblemKind::InvalidRequest,
                format!("query parameter {} is not documented for this operation", unknown.join(", ")),
            ));
        }
    }
    check.check_params(path_params, query, &req.headers).map_err(|violations| {
        let listed: Vec<String> = violations
            .iter()
            .take(5)
            .map(|v| format!("{} parameter {}: {}", v.location.as_str(), v.name, v.message))
            .collect();
        reject(ProblemKind::InvalidRequest, listed.join("; "))
    })
}

/// `.` or `..`, also percent-encoded (`%2e`, `%2E`), without allocating.
fn is_dot_segment(segment: &str) -> bool {
    let bytes = segment.as_bytes();
    let (mut i, mut dots) = (0, 0);
    while i < bytes.len() {
        if bytes[i] == b'.' {
            i += 1;
        } else if bytes.len() >= i + 3 && bytes[i..i + 3].eq_ignore_ascii_case(b"%2e") {
            i += 3;
        } else {
            return false;
        }
        dots += 1;
    }
    (1..=2).contains(&dots)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::kind_of;
    use crate::table::routes::Selected;
    use crate::table::scopes::Scopes;

    fn routes() -> RouteTable {
        let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs/pos-api/v2.5.yaml");
        let apis = sandgate_openapi::load_file(&file).expect("spec");
        RouteTable::new(&apis, &Default::default(), &Scopes::from_apis(&apis))
    }

    #[test]
    fn select_returns_target_and_path_client_id() {
        let routes = routes();
        let routed = select(&routes, &Method::GET, "/pos-api/v2.5/client-id/trn_1/customers/search").expect("route");
        assert!(matches!(routed.selected, Selected::Operation(_)));
        assert_eq!(routed.client_id(), Some("trn_1"));
        let routed = select(&routes, &Method::POST, "/pos-api/v2.5/oauth/token").expect("token");
        assert!(matches!((routed.selected, routed.client_id()), (Selected::Token(_), None)));
    }

    #[test]
    fn undocumented_query_parameters_are_refused_only_when_configured() {
        let routes = routes();
        let path = "/pos-api/v2.5/client-id/c/customers/search";
        let routed = select(&routes, &Method::GET, path).expect("routes");
        let Selected::Operation(id) = routed.selected else { panic!("an operation") };
        let policy = routes.policy(id);
        let target = format!("{path}?first_name=Ann&last_name=Lee&dob=1990-02-03&debug=1");
        let mut req = RequestHeader::build(Method::GET, target.as_bytes(), None).expect("request");
        req.append_header("x-reference-id", "3f0e4a4c-0d7e-4a53-9a43-2f1d0d3b1a11").expect("h");
        assert!(check_parameters(policy, &routed.params, &req, false).is_ok(), "dropped later, not refused");
        let refused = check_parameters(policy, &routed.params, &req, true).expect_err("refused");
        assert_eq!(kind_of(&refused), ProblemKind::InvalidRequest);
        assert!(refused.context.as_ref().is_some_and(|c| c.as_str().contains("debug")), "names it: {refused:?}");
    }

    #[test]
    fn select_refuses_non_api_paths_and_dot_segments() {
        let routes = routes();
        for (path, kind) in [
            ("/", ProblemKind::UnknownRoute),
            ("/favicon.ico", ProblemKind::UnknownRoute),
            ("/pos-api/latest/x", ProblemKind::UnknownRoute),
            ("/pos-api/v2.5/../v2.4/x", ProblemKind::InvalidRequest),
            ("/pos-api/v2.5/%2e%2E/x", ProblemKind::InvalidRequest),
            ("/pos-api/v2.5/client-id/c/./i18n", ProblemKind::InvalidRequest),
            (
                "/pos-api/v2.5/client-id/c/accounts/..%2F..%2Fprd_other%2Faccounts%2F1/close",
                ProblemKind::InvalidRequest,
            ),
            ("/pos-api/v2.5/client-id/c/accounts/1%5c..%5Cx/close", ProblemKind::InvalidRequest),
            ("/pos-api/v2.5/client-id/c/accounts/1\\x/close", ProblemKind::InvalidRequest),
            ("/pos-api/v2.5/client-id/c/accounts/1%00/close", ProblemKind::InvalidRequest),
        ] {
            let err = select(&routes, &Method::GET, path).expect_err(path);
            assert_eq!(kind_of(&err), kind, "{path}");
        }
    }
}
