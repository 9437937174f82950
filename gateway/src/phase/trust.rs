//! Trust list: the caller's application admits the client address, or the request's `Origin`
//! (else `Referer`) is one of its trust URLs. An empty list admits nobody.
//!
//! Runs after `auth` (needs the application), before `scope`. Also applied at the token endpoint.

use std::net::IpAddr;

use pingora::Error;
use sandgate_core::problem::ProblemKind;

use crate::error::reject;
use sandgate_core::trust_list::TrustList;

/// The header a trust URL is matched against: `Origin`, else `Referer`.
pub fn origin_of(headers: &http::HeaderMap) -> Option<&[u8]> {
    headers.get(http::header::ORIGIN).or_else(|| headers.get(http::header::REFERER)).map(|v| v.as_bytes())
}

/// The request's `Origin` when the application lists it among its trust URLs: the answer then
/// carries `Access-Control-Allow-Origin` for it (see `cors`).
pub fn browser_origin(trust: &TrustList, headers: &http::HeaderMap) -> Option<String> {
    let origin = headers.get(http::header::ORIGIN)?;
    trust.admits_origin(origin.as_bytes()).then(|| origin.to_str().ok().map(str::to_owned)).flatten()
}

/// Admits or refuses `addr` (or the request's origin) for an application's trust list.
pub fn check(trust: &TrustList, addr: IpAddr, origin: Option<&[u8]>) -> Result<(), Box<Error>> {
    if trust.admits_addr(addr) || origin.is_some_and(|o| trust.admits_origin(o)) {
        return Ok(());
    }
    let why = if trust.is_empty() {
        "the application's trust list is empty"
    } else {
        "it is not on the application's trust list"
    };
    Err(reject(ProblemKind::UntrustedClient, format!("requests from {} are refused: {why}", addr.to_canonical())))
}
