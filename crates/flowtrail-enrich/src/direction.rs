//! Flow direction from configurable internal networks ([`InternalNetworks`]).

use std::net::IpAddr;

use flowtrail_schema::Direction;

use crate::net::Cidr;
use crate::prefix::{PrefixMap, PrefixMapBuilder};

/// The default internal networks: RFC 1918 private IPv4, RFC 6598 shared address space
/// (carrier-grade NAT), IPv4 and IPv6 link-local, and IPv6 unique local addresses (ULA).
/// Loopback, multicast and the public ranges are external unless configured.
pub const DEFAULT_INTERNAL: &[&str] = &[
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "100.64.0.0/10",
    "169.254.0.0/16",
    "fc00::/7",
    "fe80::/10",
];

/// The set of networks considered internal, and the direction of a flow relative to it.
#[derive(Debug, Clone)]
pub struct InternalNetworks {
    nets: Vec<Cidr>,
    map: PrefixMap<()>,
}

impl Default for InternalNetworks {
    fn default() -> Self {
        InternalNetworks::new(DEFAULT_INTERNAL.iter().filter_map(|n| Cidr::parse(n)))
    }
}

impl InternalNetworks {
    /// Exactly these networks (an empty set makes every address external).
    pub fn new(nets: impl IntoIterator<Item = Cidr>) -> InternalNetworks {
        let mut b = PrefixMapBuilder::new();
        let mut list = Vec::new();
        for n in nets {
            if b.insert(n, ()).is_none() {
                list.push(n);
            }
        }
        InternalNetworks {
            nets: list,
            map: b.build(),
        }
    }

    /// Parses a list of networks separated by commas and/or whitespace (`"10.0.0.0/8,
    /// 2001:db8::/32"`, as written in a config file or `--internal-networks`). The word
    /// `default` adds [`DEFAULT_INTERNAL`].
    pub fn parse(list: &str) -> Result<InternalNetworks, String> {
        let mut nets = Vec::new();
        for tok in list.split(|c: char| c == ',' || c.is_whitespace()) {
            let t = tok.trim();
            if t.is_empty() {
                continue;
            }
            if t.eq_ignore_ascii_case("default") {
                nets.extend(DEFAULT_INTERNAL.iter().filter_map(|n| Cidr::parse(n)));
                continue;
            }
            nets.push(Cidr::parse(t).ok_or_else(|| format!("bad internal network {t:?}"))?);
        }
        Ok(InternalNetworks::new(nets))
    }

    /// The configured networks.
    pub fn networks(&self) -> &[Cidr] {
        &self.nets
    }

    /// True when `ip` (IPv4-mapped IPv6 counts as IPv4) is in an internal network.
    #[inline]
    pub fn is_internal(&self, ip: IpAddr) -> bool {
        self.map.contains(ip)
    }

    /// The direction of a flow from `src` to `dst`: internal to external is `Outbound`,
    /// external to internal `Inbound`, both internal `Internal`, both external `External`.
    #[inline]
    pub fn classify(&self, src: IpAddr, dst: IpAddr) -> Direction {
        match (self.is_internal(src), self.is_internal(dst)) {
            (true, true) => Direction::Internal,
            (true, false) => Direction::Outbound,
            (false, true) => Direction::Inbound,
            (false, false) => Direction::External,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let n = InternalNetworks::default();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        for s in [
            "10.1.2.3",
            "172.31.255.255",
            "192.168.0.1",
            "100.64.0.1",
            "169.254.1.1",
            "fd00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(n.is_internal(ip(s)), "{s}");
        }
        for s in [
            "172.32.0.1",
            "8.8.8.8",
            "100.128.0.1",
            "2001:db8::1",
            "127.0.0.1",
            "::1",
        ] {
            assert!(!n.is_internal(ip(s)), "{s}");
        }
        assert_eq!(
            n.classify(ip("10.0.0.1"), ip("8.8.8.8")),
            Direction::Outbound
        );
        assert_eq!(
            n.classify(ip("8.8.8.8"), ip("10.0.0.1")),
            Direction::Inbound
        );
        assert_eq!(
            n.classify(ip("10.0.0.1"), ip("fd00::1")),
            Direction::Internal
        );
        assert_eq!(
            n.classify(ip("1.1.1.1"), ip("8.8.8.8")),
            Direction::External
        );
    }

    #[test]
    fn parse_list() {
        let n = InternalNetworks::parse("203.0.113.0/24, default 2001:db8::/32").unwrap();
        assert_eq!(n.networks().len(), 9);
        assert!(n.is_internal("203.0.113.9".parse().unwrap()));
        assert!(n.is_internal("2001:db8::9".parse().unwrap()));
        assert!(InternalNetworks::parse("10.0.0.0/33").is_err());
        assert!(InternalNetworks::parse("").unwrap().networks().is_empty());
    }
}
