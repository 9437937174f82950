//! What the emulator takes and gives: one request, whoever transported it, and its answer.

use std::borrow::Cow;

use http::{HeaderMap, Method};

use crate::state::Tenant;

/// A request header that fixes the fabrication seed for one request (any u64).
pub const SEED_HEADER: &str = "x-sandgate-seed";
/// A response header naming the scenario that answered.
pub const SCENARIO_HEADER: &str = "sandgate-scenario";

/// One request as the emulator sees it, whoever transported it (the gateway in-process, or HTTP).
#[derive(Debug, Clone, Copy)]
pub struct EmuRequest<'a> {
    /// The HTTP method.
    pub method: &'a Method,
    /// The path, without the query string.
    pub path: &'a str,
    /// The raw query string, without `?`.
    pub query: Option<&'a str>,
    /// The request headers.
    pub headers: &'a HeaderMap,
    /// The request body.
    pub body: &'a [u8],
    /// Whose state it reads and writes (the gateway's verified identity); `None`: the emulator's
    /// configured default tenant.
    pub tenant: Option<Tenant<'a>>,
    /// The calling application (the gateway's verified identity), whose subscriptions receive the
    /// events the request raises.
    pub application: Option<&'a str>,
}

/// The emulator's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct EmuResponse {
    /// HTTP status.
    pub status: u16,
    /// `Content-Type` of `body` (`None` when there is no body).
    pub content_type: Option<String>,
    /// Extra headers (e.g. `Allow` on 405, the headers the spec documents for the answer).
    pub headers: Vec<(Cow<'static, str>, String)>,
    /// The body.
    pub body: Vec<u8>,
}
