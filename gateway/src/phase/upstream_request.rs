//! The request as the upstream receives it: no client credentials, and verified identity headers
//! that no client can forge (any copy a client sent is removed first).

use pingora::http::RequestHeader;
use pingora::Result;

use crate::ctx::Principal;
use crate::environment::Environment;

/// The identity headers Sandgate adds; a client's copies are always stripped.
pub const IDENTITY_HEADERS: [&str; 5] = [
    "x-sandgate-environment",
    "x-sandgate-partner",
    "x-sandgate-application",
    "x-sandgate-client-id",
    "x-sandgate-scopes",
];

/// Rewrites `req` for the upstream; `host` is the upstream's authority (as nginx's `proxy_pass`
/// sends it), so the backend sees its own name rather than the gateway's.
pub fn prepare(
    req: &mut RequestHeader,
    env: Environment,
    principal: Option<&Principal>,
    request_id: &str,
    host: &str,
) -> Result<()> {
    req.insert_header(http::header::HOST, host)?;
    req.remove_header(&http::header::AUTHORIZATION);
    req.remove_header("cookie");
    for name in IDENTITY_HEADERS {
        req.remove_header(name);
    }
    req.insert_header("x-sandgate-environment", env.as_str())?;
    if let Some(p) = principal {
        req.insert_header("x-sandgate-partner", p.partner.as_str())?;
        req.insert_header("x-sandgate-application", p.application.as_str())?;
        req.insert_header("x-sandgate-client-id", p.client_id.as_str())?;
        req.insert_header("x-sandgate-scopes", p.scopes.as_str())?;
    }
    req.insert_header(super::request_id::HEADER, request_id)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prepare_strips_credentials_and_forged_identity() {
        let mut req = RequestHeader::build("GET", b"/pos-api/v2.5/x", None).expect("request");
        req.insert_header("authorization", "Bearer secret-token").expect("h");
        req.insert_header("x-sandgate-partner", "forged").expect("h");
        let principal = Principal {
            client_id: "prd_1".into(),
            application: "app_1".into(),
            partner: "ptn_1".into(),
            scopes: "merchant".into(),
            scope_set: crate::table::scopes::ScopeSet(1),
            expires_at: u64::MAX,
        };
        prepare(&mut req, Environment::PRODUCTION, Some(&principal), "req-1", "backend:8443").expect("prepare");
        assert_eq!(req.headers["host"], "backend:8443");
        assert!(req.headers.get("authorization").is_none());
        assert_eq!(req.headers.get_all("x-sandgate-partner").iter().count(), 1);
        assert_eq!(req.headers["x-sandgate-partner"], "ptn_1");
        assert_eq!(req.headers["x-sandgate-environment"], "production");
        assert_eq!(req.headers["x-request-id"], "req-1");
    }
}
