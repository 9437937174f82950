//! The request as the upstream receives it: origin-form target with only documented query
//! parameters, no client credentials, none of the headers a client could use to speak for the
//! gateway (the whole `x-sandgate-` namespace in either spelling, forwarding and override
//! headers), and the verified identity and client address added by us.

use std::net::IpAddr;

use pingora::http::RequestHeader;
use pingora::{Error, ErrorType, Result};

use crate::principal::Principal;
use crate::table::routes::QueryNames;
use sandgate_core::environment::Environment;

/// The prefix of every header Sandgate adds; a client's copies are always stripped.
pub const IDENTITY_PREFIX: &str = "x-sandgate-";

/// Headers only the gateway may set: forwarding chains (set by us from the resolved client
/// address) and the method/URL overrides some frameworks honour, which would let a client
/// reach another operation than the one the checks ran for.
const CLIENT_FORBIDDEN: [&str; 12] = [
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
    "x-forwarded-port",
    "x-real-ip",
    "x-original-url",
    "x-rewrite-url",
    "x-original-method",
    "x-http-method-override",
    "x-http-method",
    "x-method-override",
];

/// What the upstream request is built from.
#[derive(Debug, Clone, Copy)]
pub struct Forwarding<'a> {
    /// The environment.
    pub env: Environment,
    /// Who is calling.
    pub principal: Option<&'a Principal>,
    /// The request id.
    pub request_id: &'a str,
    /// The upstream's authority (as nginx's `proxy_pass` sends it).
    pub host: &'a str,
    /// The client address the trust list and rate limit used.
    pub client_addr: Option<IpAddr>,
    /// The operation's documented query keys; others are dropped.
    pub query: Option<&'a QueryNames>,
}

/// Rewrites `req` for the upstream.
pub fn prepare(req: &mut RequestHeader, fwd: &Forwarding<'_>) -> Result<()> {
    rewrite_target(req, fwd.query)?;
    req.insert_header(http::header::HOST, fwd.host)?;
    req.remove_header(&http::header::AUTHORIZATION);
    req.remove_header("cookie");
    let reserved: Vec<http::HeaderName> =
        req.headers.keys().filter(|name| is_reserved(name.as_str())).cloned().collect();
    for name in reserved {
        req.remove_header(&name);
    }
    req.insert_header("x-sandgate-environment", fwd.env.as_str())?;
    if let Some(p) = fwd.principal {
        req.insert_header("x-sandgate-partner", p.headers.partner.clone())?;
        req.insert_header("x-sandgate-application", p.headers.application.clone())?;
        req.insert_header("x-sandgate-client-id", p.headers.client_id.clone())?;
        req.insert_header("x-sandgate-scopes", p.headers.scopes.clone())?;
    }
    if let Some(addr) = fwd.client_addr {
        req.insert_header("x-forwarded-for", addr.to_string())?;
        let forwarded = match addr {
            IpAddr::V4(v4) => format!("for={v4}"),
            IpAddr::V6(v6) => format!("for=\"[{v6}]\""),
        };
        req.insert_header("forwarded", forwarded)?;
    }
    req.insert_header(super::request_id::HEADER, fwd.request_id)?;
    Ok(())
}

/// Whether a client-sent header named `name` (lower case) is the gateway's alone. Underscores
/// count as dashes: some servers (CGI, WSGI, Rails) read `x_sandgate_partner` as the same header.
fn is_reserved(name: &str) -> bool {
    let prefix = name.as_bytes().get(..IDENTITY_PREFIX.len()).unwrap_or_default();
    let reserved_prefix =
        prefix.iter().zip(IDENTITY_PREFIX.as_bytes()).all(|(a, b)| a == b || (*a == b'_' && *b == b'-'))
            && prefix.len() == IDENTITY_PREFIX.len();
    reserved_prefix
        || CLIENT_FORBIDDEN.iter().any(|forbidden| {
            forbidden.len() == name.len()
                && forbidden.bytes().zip(name.bytes()).all(|(f, n)| f == n || (f == b'-' && n == b'_'))
        })
}

/// Sends the target in origin form (never the absolute form a client may have used) and
/// without the query parameters the operation does not document. The client's bytes are kept
/// as they came whenever nothing needs to change.
fn rewrite_target(req: &mut RequestHeader, query: Option<&QueryNames>) -> Result<()> {
    // Pingora keeps an absolute-form target's scheme and authority off the `Uri` but sends the
    // raw target bytes on; so the raw bytes decide.
    let absolute = req.uri.authority().is_some() || !req.raw_path().starts_with(b"/");
    // One pass over the pairs: each key decoded once, the kept ones in order.
    let (mut kept, mut dropped) = (Vec::new(), false);
    for pair in req.uri.query().unwrap_or_default().split('&').filter(|pair| !pair.is_empty()) {
        let key = pair.split('=').next().unwrap_or_default();
        let key = form_urlencoded::parse(key.as_bytes()).next().map(|(k, _)| k).unwrap_or_default();
        if query.is_none_or(|names| names.admits(&key)) {
            kept.push(pair);
        } else {
            dropped = true;
        }
    }
    if !absolute && !dropped {
        return Ok(());
    }
    let target = match kept.is_empty() {
        true => req.uri.path().to_owned(),
        false => format!("{}?{}", req.uri.path(), kept.join("&")),
    };
    let uri =
        target.parse::<http::Uri>().map_err(|e| Error::because(ErrorType::InternalError, "rewriting the target", e))?;
    req.set_uri(uri);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal() -> Principal {
        let scope_set = crate::table::scopes::ScopeSet(1);
        Principal::new("prd_1".into(), "app_1".into(), "ptn_1".into(), "merchant".into(), scope_set, u64::MAX)
            .expect("header-safe ids")
    }

    fn forwarding<'a>(principal: &'a Principal, query: Option<&'a QueryNames>) -> Forwarding<'a> {
        Forwarding {
            env: Environment::PRODUCTION,
            principal: Some(principal),
            request_id: "req-1",
            host: "backend:8443",
            client_addr: Some("203.0.113.7".parse().expect("ip")),
            query,
        }
    }

    #[test]
    fn prepare_strips_credentials_forged_identity_and_forwarding_headers() {
        let mut req = RequestHeader::build("GET", b"/pos-api/v2.5/x", None).expect("request");
        for (name, value) in [
            ("authorization", "Bearer secret-token"),
            ("x-sandgate-partner", "forged"),
            ("x_sandgate_partner", "forged"),
            ("x-sandgate-anything", "forged"),
            ("X-Forwarded-For", "10.0.0.1"),
            ("forwarded", "for=10.0.0.1"),
            ("x-real-ip", "10.0.0.1"),
            ("x_real_ip", "10.0.0.1"),
            ("x-original-url", "/admin"),
            ("x-rewrite-url", "/admin"),
            ("x-http-method-override", "DELETE"),
            ("x-keep", "kept"),
        ] {
            req.append_header(name.to_owned(), value).expect("h");
        }
        let principal = principal();
        prepare(&mut req, &forwarding(&principal, None)).expect("prepare");
        assert_eq!(req.headers["host"], "backend:8443");
        assert!(req.headers.get("authorization").is_none());
        assert_eq!(req.headers.get_all("x-sandgate-partner").iter().count(), 1);
        assert_eq!(req.headers["x-sandgate-partner"], "ptn_1");
        assert!(req.headers.get("x_sandgate_partner").is_none());
        assert!(req.headers.get("x-sandgate-anything").is_none());
        assert!(req.headers.get("x_real_ip").is_none() && req.headers.get("x-real-ip").is_none());
        for name in ["x-original-url", "x-rewrite-url", "x-http-method-override"] {
            assert!(req.headers.get(name).is_none(), "{name}");
        }
        assert_eq!(req.headers.get_all("x-forwarded-for").iter().count(), 1);
        assert_eq!(req.headers["x-forwarded-for"], "203.0.113.7");
        assert_eq!(req.headers["forwarded"], "for=203.0.113.7");
        assert_eq!(req.headers["x-sandgate-environment"], "production");
        assert_eq!(req.headers["x-request-id"], "req-1");
        assert_eq!(req.headers["x-keep"], "kept");
    }

    #[test]
    fn absolute_form_becomes_origin_form_and_undocumented_query_is_dropped() {
        let spec = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs/pos-api/v2.5.yaml");
        let apis = sandgate_openapi::load_file(&spec).expect("spec");
        let table = crate::table::routes::RouteTable::new(
            &apis,
            &Default::default(),
            &crate::table::scopes::Scopes::from_apis(&apis),
        );
        let path = "/pos-api/v2.5/client-id/c/customers/search";
        let Ok(crate::table::routes::Routed { selected: crate::table::routes::Selected::Operation(id), .. }) =
            table.select(&http::Method::GET, path)
        else {
            panic!("search routes");
        };
        let names = &table.policy(id).query;
        let target = format!("http://evil.example{path}?first_name=Ann&debug=1&last_name=Lee&admin%3Dtrue=1");
        let mut req = RequestHeader::build("GET", target.as_bytes(), None).expect("request");
        let principal = principal();
        prepare(&mut req, &forwarding(&principal, Some(names))).expect("prepare");
        assert_eq!(req.raw_path(), format!("{path}?first_name=Ann&last_name=Lee").as_bytes());
        assert!(req.uri.authority().is_none());
        let mut untouched =
            RequestHeader::build("GET", format!("{path}?first_name=A%20B").as_bytes(), None).expect("r");
        prepare(&mut untouched, &forwarding(&principal, Some(names))).expect("prepare");
        assert_eq!(untouched.raw_path(), format!("{path}?first_name=A%20B").as_bytes(), "kept byte for byte");
    }
}
