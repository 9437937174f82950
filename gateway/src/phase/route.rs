//! Routing: what a path addresses — the token endpoint of `/{api}/v{version}`, or a documented
//! operation — and the path's `client-id/{client_id}` when present.
//!
//! Runs first after hygiene. Dot segments (`..`, `.`, or their percent-encodings) are refused
//! outright, so no path trick can address another version or API than the one the checks ran for.

use http::{HeaderMap, Method};
use pingora::Error;
use sandgate_emulator::problem::ProblemKind;

use crate::error::reject;
use crate::table::routes::{OperationPolicy, RouteTable, Selected};

/// Selects the target of `method path`; also returns the path's client id, if any.
pub fn select<'p>(
    routes: &RouteTable,
    method: &Method,
    path: &'p str,
) -> Result<(Selected, Option<&'p str>), Box<Error>> {
    if path.split('/').any(is_dot_segment) {
        return Err(reject(ProblemKind::InvalidRequest, "the path must not contain . or .. segments (encoded or not)"));
    }
    let mut segments = path.strip_prefix('/').unwrap_or(path).split('/');
    let api = segments.next().unwrap_or_default();
    let version = segments.next().unwrap_or_default();
    let is_version = version.strip_prefix('v').is_some_and(|v| v.starts_with(|c: char| c.is_ascii_digit()));
    if api.is_empty() || !is_version {
        return Err(reject(
            ProblemKind::UnknownRoute,
            format!("{path} is not an API path; API paths look like /{{api}}/v{{version}}/…, e.g. /pos-api/v2.5/oauth/token"),
        ));
    }
    let client_id = match (segments.next(), segments.next()) {
        (Some("client-id"), Some(id)) if !id.is_empty() => Some(id),
        _ => None,
    };
    Ok((routes.select(method, path)?, client_id))
}

/// The reference API requires `x-reference-id` on the operations whose spec says so.
pub fn check_required_headers(policy: &OperationPolicy, headers: &HeaderMap) -> Result<(), Box<Error>> {
    if policy.requires_reference_id && headers.get("x-reference-id").is_none_or(|v| v.is_empty()) {
        return Err(reject(
            ProblemKind::InvalidRequest,
            "the header x-reference-id is required (a GUID that identifies the flow)",
        ));
    }
    Ok(())
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
    use crate::table::scopes::Scopes;

    fn routes() -> RouteTable {
        let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs/pos-api/v2.5.yaml");
        let apis = sandgate_emulator::openapi::load_file(&file).expect("spec");
        RouteTable::new(&apis, &Default::default(), &Scopes::from_apis(&apis))
    }

    #[test]
    fn select_returns_target_and_path_client_id() {
        let routes = routes();
        let (selected, client) =
            select(&routes, &Method::GET, "/pos-api/v2.5/client-id/trn_1/customers/search").expect("route");
        assert!(matches!(selected, Selected::Operation(_)));
        assert_eq!(client, Some("trn_1"));
        let (selected, client) = select(&routes, &Method::POST, "/pos-api/v2.5/oauth/token").expect("token");
        assert_eq!((selected, client), (Selected::Token, None));
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
        ] {
            let err = select(&routes, &Method::GET, path).expect_err(path);
            assert_eq!(kind_of(&err), kind, "{path}");
        }
    }
}
