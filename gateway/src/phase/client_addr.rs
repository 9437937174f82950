//! The one client-address resolver, feeding the trust list, the rate limiter and the logs.
//!
//! The client is the socket peer, unless the peer is a configured trusted proxy: then it is the
//! right-most `X-Forwarded-For` entry that is not itself a trusted proxy. A client that is not a
//! trusted proxy cannot move its address by sending `X-Forwarded-For`.

use std::net::IpAddr;

use http::HeaderMap;
use ipnet::IpNet;

/// The client address of a request from `peer`.
pub fn resolve(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let peer = peer.to_canonical();
    let is_trusted = |addr: &IpAddr| trusted.iter().any(|net| net.contains(addr));
    if !is_trusted(&peer) {
        return peer;
    }
    // All X-Forwarded-For headers form one list, in order; walk it from the right.
    let entries: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    for entry in entries.iter().rev() {
        match parse_entry(entry) {
            Some(addr) if is_trusted(&addr) => continue,
            Some(addr) => return addr,
            // A malformed hop means we cannot trust anything to its left.
            None => return peer,
        }
    }
    peer
}

fn parse_entry(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim_start_matches('[');
    let entry = entry.split(']').next().unwrap_or(entry);
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.rsplit_once(':').and_then(|(ip, _)| ip.parse().ok()))
        .map(|a: IpAddr| a.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append("x-forwarded-for", v.parse().expect("header"));
        }
        map
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn resolve_ignores_xff_from_untrusted_peers() {
        let trusted = vec![crate::config::parse_cidr("10.0.0.0/8").expect("cidr")];
        assert_eq!(resolve(ip("203.0.113.9"), &headers(&["127.0.0.1"]), &trusted), ip("203.0.113.9"));
    }

    #[test]
    fn resolve_takes_rightmost_untrusted_hop_behind_trusted_proxies() {
        let trusted = vec![crate::config::parse_cidr("10.0.0.0/8").expect("cidr")];
        let xff = headers(&["1.1.1.1, 198.51.100.7", "10.0.0.2"]);
        assert_eq!(resolve(ip("10.0.0.1"), &xff, &trusted), ip("198.51.100.7"));
        assert_eq!(resolve(ip("::ffff:10.0.0.1"), &xff, &trusted), ip("198.51.100.7"), "IPv4-mapped peer");
        assert_eq!(resolve(ip("10.0.0.1"), &headers(&["[2001:db8::1]:443"]), &trusted), ip("2001:db8::1"));
        assert_eq!(resolve(ip("10.0.0.1"), &headers(&["garbage"]), &trusted), ip("10.0.0.1"));
        assert_eq!(resolve(ip("10.0.0.1"), &HeaderMap::new(), &trusted), ip("10.0.0.1"));
    }
}
