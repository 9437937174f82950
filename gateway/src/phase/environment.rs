//! Environment check: the listener fixes the environment; when the environment lists `hosts`,
//! the request's `Host` must be one of them (421 otherwise), so a request meant for one
//! environment's name never runs in another.

use pingora::Error;
use sandgate_core::problem::ProblemKind;

use crate::error::reject;
use crate::table::EnvTables;

/// Checks the `Host` header (`host[:port]`) against the environment's names.
pub fn check(env: &EnvTables, host: Option<&[u8]>) -> Result<(), Box<Error>> {
    if env.hosts.is_empty() {
        return Ok(());
    }
    let name = host.map(strip_port).unwrap_or_default();
    if env.hosts.iter().any(|h| h.as_bytes().eq_ignore_ascii_case(name)) {
        return Ok(());
    }
    Err(reject(
        ProblemKind::MisdirectedRequest,
        format!("this is the {} listener; it serves only {}", env.env.display(), env.hosts.join(", ")),
    ))
}

fn strip_port(host: &[u8]) -> &[u8] {
    if host.first() == Some(&b'[') {
        return host.iter().position(|b| *b == b']').map_or(host, |end| &host[..=end]);
    }
    host.iter().rposition(|b| *b == b':').map_or(host, |colon| &host[..colon])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strip_port_handles_names_and_ipv6() {
        assert_eq!(strip_port(b"api.example.com:8080"), b"api.example.com");
        assert_eq!(strip_port(b"api.example.com"), b"api.example.com");
        assert_eq!(strip_port(b"[::1]:80"), b"[::1]");
    }
}
