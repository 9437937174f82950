//! CORS for browser clients whose application lists trust URLs: the preflight (`OPTIONS` with
//! `Origin` and `Access-Control-Request-Method`) is answered here, before routing refuses the
//! `OPTIONS`; an answer to a request whose `Origin` passed the trust check carries
//! `Access-Control-Allow-Origin` (`response`).
//!
//! A preflight carries no credentials, so it cannot say which application will call: it is
//! allowed when the method is documented for the path and some active application trusts the
//! origin. That tells a browser only what the spec already says; the real request is then checked
//! against its own application's trust list. Never a wildcard, and no `Allow-Credentials`
//! (tokens travel in `Authorization`, not cookies).

use http::{HeaderMap, Method};
use pingora::http::ResponseHeader;
use pingora::proxy::Session;
use pingora::Error;
use sandgate_core::problem::ProblemKind;

use crate::directory::Directory;
use crate::error::reject;
use crate::table::routes::{RouteTable, Selected};

/// How long a browser may reuse a preflight answer.
const MAX_AGE_SECS: &str = "600";
/// Headers a browser may read from our answers besides the CORS-safelisted ones.
pub const EXPOSED_HEADERS: &str =
    "x-request-id, ratelimit-limit, ratelimit-remaining, ratelimit-reset, retry-after, deprecation, sunset, link";

/// A preflight's origin and requested method.
#[derive(Debug)]
pub struct Preflight {
    origin: String,
    method: Method,
}

/// The preflight this request is, if it is one.
pub fn preflight(method: &Method, headers: &HeaderMap) -> Option<Preflight> {
    if method != Method::OPTIONS {
        return None;
    }
    let origin = headers.get(http::header::ORIGIN)?.to_str().ok()?.to_owned();
    let requested = headers.get(http::header::ACCESS_CONTROL_REQUEST_METHOD)?.as_bytes();
    Some(Preflight { origin, method: Method::from_bytes(requested).ok()? })
}

/// The preflight's answer: 204 with the allowed method and headers, or a refusal (the method is
/// not documented for the path, or no application trusts the origin).
pub fn answer(
    routes: &RouteTable,
    directory: &Directory,
    path: &str,
    asked: &Preflight,
) -> Result<ResponseHeader, Box<Error>> {
    let routed = super::route::select(routes, &asked.method, path)?;
    let Selected::Operation(id) = routed.selected else {
        return Err(reject(
            ProblemKind::Forbidden,
            "the token endpoint is not for browsers: a client secret must never reach one",
        ));
    };
    if !directory.any_admits_origin(asked.origin.as_bytes()) {
        return Err(reject(
            ProblemKind::UntrustedClient,
            format!("no application lists {} among its trust URLs", asked.origin),
        ));
    }
    let mut allowed_headers = String::from("authorization, content-type");
    for name in &routes.policy(id).required_headers {
        allowed_headers.push_str(", ");
        allowed_headers.push_str(name);
    }
    let mut header = ResponseHeader::build(204, Some(6))?;
    header.insert_header("access-control-allow-origin", asked.origin.as_str())?;
    header.insert_header("access-control-allow-methods", asked.method.as_str())?;
    header.insert_header("access-control-allow-headers", allowed_headers)?;
    header.insert_header("access-control-max-age", MAX_AGE_SECS)?;
    header.insert_header("vary", "origin, access-control-request-method, access-control-request-headers")?;
    header.insert_header("content-length", "0")?;
    Ok(header)
}

/// Writes `header` as the whole answer.
pub async fn write(session: &mut Session, header: ResponseHeader) -> Result<(), Box<Error>> {
    session.write_response_header(Box::new(header), true).await
}
