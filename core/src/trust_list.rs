//! TrustList: an application's CIDRs and trust URLs, parsed once. Empty denies everything.
//!
//! Addresses are compared in canonical form, so `::ffff:10.0.0.1` is `10.0.0.1`. A trust URL is
//! `scheme://host[:port]` without a trailing slash (as the reference portal requires); it matches
//! the `Origin`, or the scheme, host and port of the `Referer`, exactly (default ports made explicit).

use std::net::IpAddr;

use ipnet::IpNet;

/// Parses `10.0.0.0/8`, `::1/128` or a bare address (a /32 or /128). IPv4-mapped IPv6 networks
/// (`::ffff:10.0.0.0/104`) become their IPv4 form, since addresses are compared canonically.
pub fn parse_cidr(text: &str) -> Option<IpNet> {
    let net = text.parse::<IpNet>().ok().or_else(|| text.parse::<std::net::IpAddr>().ok().map(IpNet::from))?;
    let net = match net {
        IpNet::V6(v6) if v6.prefix_len() >= 96 => match v6.addr().to_ipv4_mapped() {
            Some(v4) => IpNet::V4(ipnet::Ipv4Net::new(v4, v6.prefix_len() - 96).ok()?),
            None => IpNet::V6(v6),
        },
        other => other,
    };
    Some(net.trunc())
}

/// One application's trust list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrustList {
    nets: Vec<IpNet>,
    /// Normalised `scheme://host:port`.
    origins: Vec<String>,
}

/// An entry that is neither a CIDR/address nor a trust URL.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{entry:?} is neither an IP address or CIDR nor a trust URL like https://shop.example.com: {why}")]
pub struct TrustEntryError {
    /// The entry.
    pub entry: String,
    /// Why.
    pub why: &'static str,
}

impl TrustList {
    /// Parses whitespace-separated entries.
    pub fn parse(text: &str) -> Result<TrustList, TrustEntryError> {
        let mut list = TrustList::default();
        for entry in text.split_ascii_whitespace() {
            if let Some(net) = parse_cidr(entry) {
                list.nets.push(net);
            } else if let Some((_, rest)) = entry.split_once("://") {
                if entry.ends_with('/') {
                    return Err(TrustEntryError { entry: entry.into(), why: "a trust URL has no trailing slash" });
                }
                if rest.contains(['/', '?', '#']) {
                    return Err(TrustEntryError {
                        entry: entry.into(),
                        why: "a trust URL has no path, query or fragment",
                    });
                }
                let origin = normalise_origin(entry)
                    .ok_or(TrustEntryError { entry: entry.into(), why: "not http(s)://host[:port]" })?;
                list.origins.push(origin);
            } else {
                return Err(TrustEntryError { entry: entry.into(), why: "unrecognised" });
            }
        }
        Ok(list)
    }

    /// Whether the list has no entry (and so admits nobody).
    pub fn is_empty(&self) -> bool {
        self.nets.is_empty() && self.origins.is_empty()
    }

    /// Whether `addr` is on the list.
    pub fn admits_addr(&self, addr: IpAddr) -> bool {
        let addr = addr.to_canonical();
        self.nets.iter().any(|net| net.contains(&addr))
    }

    /// Whether an `Origin` or `Referer` header value is on the list.
    pub fn admits_origin(&self, header: &[u8]) -> bool {
        if self.origins.is_empty() {
            return false;
        }
        let Ok(text) = std::str::from_utf8(header) else { return false };
        normalise_origin(text).is_some_and(|origin| self.origins.contains(&origin))
    }
}

/// `https://Shop.example.com/path?q` → `https://shop.example.com:443`; `None` if not http(s).
fn normalise_origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "https" => 443,
        "http" => 80,
        _ => return None,
    };
    let authority = rest.split(['/', '?', '#']).next()?;
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(']') || authority.starts_with('[') => match port.parse::<u16>() {
            Ok(port) => (host, port),
            Err(_) if authority.starts_with('[') && authority.ends_with(']') => (authority, default_port),
            Err(_) => return None,
        },
        _ => (authority, default_port),
    };
    Some(format!("{scheme}://{}:{port}", host.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admits_cidrs_including_ipv4_mapped_ipv6() {
        let list = TrustList::parse("10.0.0.0/8 2001:db8::/32 192.0.2.7 ::ffff:198.51.100.0/120").expect("valid");
        assert!(list.admits_addr("198.51.100.9".parse().expect("ip")), "mapped network admits the IPv4 form");
        assert!(list.admits_addr("10.1.2.3".parse().expect("ip")));
        assert!(list.admits_addr("::ffff:10.1.2.3".parse().expect("ip")));
        assert!(list.admits_addr("2001:db8::1".parse().expect("ip")));
        assert!(list.admits_addr("192.0.2.7".parse().expect("ip")));
        assert!(!list.admits_addr("192.0.2.8".parse().expect("ip")));
        assert!(!list.admits_addr("11.0.0.1".parse().expect("ip")));
    }

    #[test]
    fn admits_origin_by_scheme_host_and_port() {
        let list = TrustList::parse("https://shop.example.com http://localhost:3000").expect("valid");
        assert!(list.admits_origin(b"https://shop.example.com"));
        assert!(list.admits_origin(b"https://SHOP.example.com:443"));
        assert!(list.admits_origin(b"https://shop.example.com/cart?x=1"));
        assert!(list.admits_origin(b"http://localhost:3000"));
        assert!(!list.admits_origin(b"http://shop.example.com"));
        assert!(!list.admits_origin(b"https://shop.example.com.evil.io"));
        assert!(!list.admits_origin(b"https://evil.io/https://shop.example.com"));
        assert!(!list.admits_origin(b"https://user@shop.example.com"));
        assert!(!list.admits_origin(b"http://localhost:3001"));
    }

    #[test]
    fn parse_refuses_trailing_slash_and_garbage_and_empty_denies() {
        assert!(TrustList::parse("https://shop.example.com/").is_err());
        assert!(TrustList::parse("shop.example.com").is_err());
        assert!(TrustList::parse("ftp://x").is_err());
        let empty = TrustList::parse("").expect("valid");
        assert!(empty.is_empty());
        assert!(!empty.admits_addr("127.0.0.1".parse().expect("ip")));
    }
}
