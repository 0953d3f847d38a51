//! IP networks (CIDR) and lenient address parsing shared by every module.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// An IPv4 or IPv6 network: a network address with its host bits cleared and a prefix length.
///
/// IPv4-mapped IPv6 networks (`::ffff:10.0.0.0/104`) are stored as their IPv4 equivalent
/// (`10.0.0.0/8`) so that both spellings match the same addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cidr {
    addr: IpAddr,
    len: u8,
}

impl Cidr {
    /// Builds the network of `addr` with prefix length `len`, clearing host bits. Returns `None`
    /// when `len` exceeds the address width.
    pub fn new(addr: IpAddr, len: u8) -> Option<Cidr> {
        match addr {
            IpAddr::V4(v4) => {
                if len > 32 {
                    return None;
                }
                let bits = u32::from(v4) & mask32(len);
                Some(Cidr {
                    addr: IpAddr::V4(Ipv4Addr::from(bits)),
                    len,
                })
            }
            IpAddr::V6(v6) => {
                if len > 128 {
                    return None;
                }
                if let Some(v4) = v6.to_ipv4_mapped() {
                    if len >= 96 {
                        return Cidr::new(IpAddr::V4(v4), len - 96);
                    }
                }
                let bits = u128::from(v6) & mask128(len);
                Some(Cidr {
                    addr: IpAddr::V6(Ipv6Addr::from(bits)),
                    len,
                })
            }
        }
    }

    /// The single-address network of `ip` (`/32` or `/128`).
    pub fn host(ip: IpAddr) -> Cidr {
        let ip = ip.to_canonical();
        let len = if ip.is_ipv4() { 32 } else { 128 };
        Cidr { addr: ip, len }
    }

    /// Parses `a.b.c.d/n`, `x::y/n` or a bare address (a host network). Host bits may be set;
    /// they are cleared. Surrounding whitespace is ignored.
    pub fn parse(s: &str) -> Option<Cidr> {
        let s = s.trim();
        match s.split_once('/') {
            Some((a, l)) => {
                let addr = IpAddr::from_str(a.trim()).ok()?;
                let l = l.trim();
                if l.is_empty() || l.len() > 3 || !l.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                let len: u8 = l.parse().ok()?;
                Cidr::new(addr, len)
            }
            None => IpAddr::from_str(s).ok().map(Cidr::host),
        }
    }

    /// The network address (host bits cleared).
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The prefix length.
    pub fn prefix_len(&self) -> u8 {
        self.len
    }

    /// True when the network holds a single address.
    pub fn is_host(&self) -> bool {
        self.len == if self.addr.is_ipv4() { 32 } else { 128 }
    }

    /// True when `ip` (IPv4-mapped IPv6 addresses count as IPv4) lies in the network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(n), IpAddr::V4(a)) => u32::from(a) & mask32(self.len) == u32::from(n),
            (IpAddr::V6(n), IpAddr::V6(a)) => u128::from(a) & mask128(self.len) == u128::from(n),
            _ => false,
        }
    }

    /// First and last IPv4 address as integers, or `None` for an IPv6 network.
    pub(crate) fn range_v4(&self) -> Option<(u32, u32)> {
        match self.addr {
            IpAddr::V4(a) => {
                let start = u32::from(a);
                Some((start, start | !mask32(self.len)))
            }
            IpAddr::V6(_) => None,
        }
    }

    /// First and last IPv6 address as integers, or `None` for an IPv4 network.
    pub(crate) fn range_v6(&self) -> Option<(u128, u128)> {
        match self.addr {
            IpAddr::V6(a) => {
                let start = u128::from(a);
                Some((start, start | !mask128(self.len)))
            }
            IpAddr::V4(_) => None,
        }
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

impl FromStr for Cidr {
    type Err = String;
    fn from_str(s: &str) -> Result<Cidr, String> {
        Cidr::parse(s).ok_or_else(|| format!("bad network {s:?}"))
    }
}

impl serde::Serialize for Cidr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Cidr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Cidr, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Cidr::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("bad network {s:?}")))
    }
}

fn mask32(len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(len.min(32)))
    }
}

fn mask128(len: u8) -> u128 {
    if len == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(len.min(128)))
    }
}

/// Parses an address leniently: surrounding whitespace, an IPv4 `:port` suffix, IPv6 in
/// brackets with or without `:port`, and an IPv6 zone (`%eth0`) are accepted. IPv4-mapped IPv6
/// addresses are returned as IPv4.
pub fn parse_ip_loose(s: &str) -> Option<IpAddr> {
    let s = s.trim();
    if let Ok(ip) = IpAddr::from_str(s) {
        return Some(ip.to_canonical());
    }
    if let Some(rest) = s.strip_prefix('[') {
        let (inner, after) = rest.split_once(']')?;
        if !(after.is_empty() || is_port_suffix(after)) {
            return None;
        }
        let inner = inner.split('%').next().unwrap_or(inner);
        return Ipv6Addr::from_str(inner)
            .ok()
            .map(|a| IpAddr::V6(a).to_canonical());
    }
    if let Some((host, port)) = s.rsplit_once(':') {
        if !host.contains(':') && is_port_suffix(&s[host.len()..]) && !port.is_empty() {
            return Ipv4Addr::from_str(host).ok().map(IpAddr::V4);
        }
    }
    if let Some((addr, _zone)) = s.split_once('%') {
        return Ipv6Addr::from_str(addr)
            .ok()
            .map(|a| IpAddr::V6(a).to_canonical());
    }
    None
}

/// True for `:` followed by 1-5 digits.
fn is_port_suffix(s: &str) -> bool {
    match s.strip_prefix(':') {
        Some(p) => !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()),
        None => false,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn cidr_parse_and_contains() {
        let c = Cidr::parse("89.160.20.129/24").unwrap();
        assert_eq!(c.to_string(), "89.160.20.0/24");
        assert!(c.contains("89.160.20.1".parse().unwrap()));
        assert!(c.contains("::ffff:89.160.20.200".parse().unwrap()));
        assert!(!c.contains("89.160.21.1".parse().unwrap()));
        assert_eq!(Cidr::parse("10.0.0.1").unwrap().to_string(), "10.0.0.1/32");
        assert!(Cidr::parse("10.0.0.1/33").is_none());
        assert!(Cidr::parse("10.0.0.1/").is_none());
        assert!(Cidr::parse("10.0.0.1/+8").is_none());
        assert_eq!(
            Cidr::parse("2a06:e480::/29").unwrap().to_string(),
            "2a06:e480::/29"
        );
        assert_eq!(
            Cidr::parse("::ffff:10.1.0.0/104").unwrap().to_string(),
            "10.0.0.0/8"
        );
        assert_eq!(
            Cidr::parse("0.0.0.0/0").unwrap().range_v4(),
            Some((0, u32::MAX))
        );
        let v6 = Cidr::parse("::/0").unwrap();
        assert_eq!(v6.range_v6(), Some((0, u128::MAX)));
        assert!(v6.contains("2001:db8::1".parse().unwrap()));
        assert!(!v6.contains("1.2.3.4".parse().unwrap()));
    }

    #[test]
    fn loose_ip() {
        let p = |s| parse_ip_loose(s).map(|a| a.to_string());
        assert_eq!(p(" 1.2.3.4 ").as_deref(), Some("1.2.3.4"));
        assert_eq!(p("8.134.12.90:7777").as_deref(), Some("8.134.12.90"));
        assert_eq!(p("[2001:db8::1]:443").as_deref(), Some("2001:db8::1"));
        assert_eq!(p("[2001:db8::1]").as_deref(), Some("2001:db8::1"));
        assert_eq!(p("fe80::1%eth0").as_deref(), Some("fe80::1"));
        assert_eq!(p("::ffff:1.2.3.4").as_deref(), Some("1.2.3.4"));
        assert_eq!(p("1.2.3.4:"), None);
        assert_eq!(p("1.2.3.4:123456"), None);
        assert_eq!(p("example.com:80"), None);
        assert_eq!(p(""), None);
    }
}
