//! Where a webhook may go. Partners choose the URL, so by default a delivery never reaches a
//! loopback, private, link-local or otherwise internal address — not through an IP literal and not
//! through a name that resolves there (the check runs on the resolved addresses, so a DNS answer
//! cannot smuggle one in). Local development opts in to private receivers.

use std::net::{IpAddr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Which receivers a sender may reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destinations {
    /// Public addresses only (the default).
    PublicOnly,
    /// Any address, loopback included (local development, tests).
    Any,
}

/// Ranges no webhook may reach: IANA's special-purpose registries (RFC 6890 and successors),
/// plus every IPv6 form that embeds an IPv4 address a translator or tunnel could turn into an
/// internal one (IPv4-compatible, NAT64, 6to4, Teredo). IPv4-mapped addresses are compared as
/// the IPv4 address they carry.
const INTERNAL: [&str; 30] = [
    "0.0.0.0/8",       // "this network"
    "10.0.0.0/8",      // private
    "100.64.0.0/10",   // carrier-grade NAT
    "127.0.0.0/8",     // loopback
    "169.254.0.0/16",  // link-local (cloud metadata)
    "172.16.0.0/12",   // private
    "192.0.0.0/24",    // IETF protocol assignments
    "192.0.2.0/24",    // documentation
    "192.88.99.0/24",  // 6to4 relay anycast
    "192.168.0.0/16",  // private
    "198.18.0.0/15",   // benchmarking
    "198.51.100.0/24", // documentation
    "203.0.113.0/24",  // documentation
    "224.0.0.0/4",     // multicast
    "240.0.0.0/4",     // reserved, broadcast included
    "::/96",           // unspecified, loopback, IPv4-compatible (deprecated)
    "64:ff9b::/96",    // NAT64
    "64:ff9b:1::/48",  // local-use NAT64
    "100::/64",        // discard-only
    "2001::/32",       // Teredo
    "2001:2::/48",     // benchmarking
    "2001:10::/28",    // ORCHID
    "2001:20::/28",    // ORCHIDv2
    "2001:db8::/32",   // documentation
    "2002::/16",       // 6to4
    "3fff::/20",       // documentation
    "fc00::/7",        // unique local
    "fe80::/10",       // link-local
    "fec0::/10",       // site-local (deprecated)
    "ff00::/8",        // multicast
];

fn internal_ranges() -> &'static [ipnet::IpNet] {
    static RANGES: std::sync::OnceLock<Vec<ipnet::IpNet>> = std::sync::OnceLock::new();
    RANGES.get_or_init(|| INTERNAL.iter().filter_map(|r| r.parse().ok()).collect())
}

/// Whether `ip` is a public unicast address.
pub fn is_public(ip: IpAddr) -> bool {
    let ip = ip.to_canonical();
    !internal_ranges().iter().any(|range| range.contains(&ip))
}

/// A resolver that drops every non-public address and fails when none is left.
#[derive(Debug)]
pub(crate) struct PublicOnlyResolver;

impl Resolve for PublicOnlyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let resolved: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = resolved.into_iter().filter(|a| is_public(a.ip())).collect();
            if public.is_empty() {
                return Err(format!("{host} resolves only to internal addresses").into());
            }
            Ok(Box::new(public.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_range_of_the_list_parses() {
        assert_eq!(internal_ranges().len(), INTERNAL.len());
    }

    #[test]
    fn internal_addresses_are_not_public() {
        for internal in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "255.255.255.255",
            "192.0.0.170",
            "240.0.0.1",
            "64:ff9b::a00:1",
            "64:ff9b::808:808",
            "2002:7f00:1::1",
            "2001:0:4136:e378::1",
            "::127.0.0.1",
            "::10.0.0.1",
            "fec0::1",
            "ff02::1",
            "100::1",
        ] {
            assert!(!is_public(internal.parse().expect("ip")), "{internal}");
        }
        for public in ["8.8.8.8", "93.184.216.34", "2606:4700::1111", "::ffff:8.8.8.8"] {
            assert!(is_public(public.parse().expect("ip")), "{public}");
        }
    }
}
