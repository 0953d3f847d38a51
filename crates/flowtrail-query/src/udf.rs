//! flowtrail's SQL functions.
//!
//! - `in_cidr(ip, 'net/len')`: whether a text IP lies in a CIDR network (false for NULL or bad IPs).
//! - `community_id(src_ip, dst_ip, protocol, src_port, dst_port)`: Community ID v1, seed 0.
//! - `is_private(ip)`: RFC 1918, RFC 6598, loopback, link-local and ULA addresses.

use std::net::IpAddr;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, BooleanArray, Int32Array, StringArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{cast::as_string_array, DataFusionError, ScalarValue};
use datafusion::logical_expr::{create_udf, ColumnarValue, Volatility};
use datafusion::prelude::SessionContext;

/// A parsed CIDR network.
#[derive(Debug, Clone, Copy)]
pub struct Net {
    bits: u128,
    mask: u128,
    v4: bool,
}

impl Net {
    /// Parses `a.b.c.d/n` or `v6::/n` (a bare address is a /32 or /128).
    pub fn parse(s: &str) -> Option<Net> {
        let (a, p) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p.parse::<u32>().ok()?)),
            None => (s, None),
        };
        let ip: IpAddr = a.trim().parse().ok()?;
        let (bits, width, v4) = ip_bits(ip);
        let p = p.unwrap_or(width);
        if p > width {
            return None;
        }
        let mask = if p == 0 { 0 } else { (!0u128) << (width - p) } & width_mask(width);
        Some(Net {
            bits: bits & mask,
            mask,
            v4,
        })
    }

    /// Returns whether `ip` is inside the network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let (bits, _, v4) = ip_bits(ip);
        v4 == self.v4 && bits & self.mask == self.bits
    }
}

/// A list of networks asked "does any contain this address?" twice per flow at ingest. An
/// IPv4 address is answered from its /16 in two bitmaps (16 KiB, which stay in the L1 cache):
/// every address of the /16 is in some network, or some but not all are, and only then are
/// the networks (as 32-bit pairs) scanned. Answers exactly as
/// `nets.iter().any(|n| n.contains(ip))`.
#[derive(Debug, Clone, Default)]
pub struct NetSet {
    v4: Vec<(u32, u32)>,
    v6: Vec<(u128, u128)>,
    /// Bit `h` set: every address whose top 16 bits are `h` is in a network.
    v4_whole: Vec<u64>,
    /// Bit `h` set: some addresses of /16 `h` are in a network (a longer prefix), so the
    /// networks are scanned.
    v4_part: Vec<u64>,
}

/// /16 networks in IPv4, one bit each.
const V4_HALVES: usize = 1 << 16;

impl NetSet {
    pub fn new(nets: &[Net]) -> NetSet {
        let mut set = NetSet {
            v4_whole: vec![0; V4_HALVES / 64],
            v4_part: vec![0; V4_HALVES / 64],
            ..NetSet::default()
        };
        for n in nets {
            if n.v4 {
                let (bits, mask) = (n.bits as u32, n.mask as u32);
                set.v4.push((bits, mask));
                let first = (bits >> 16) as usize;
                let last = ((bits | !mask) >> 16) as usize;
                // A prefix of 16 bits or fewer covers whole /16s; a longer one, part of one.
                let map = match mask & 0xffff {
                    0 => &mut set.v4_whole,
                    _ => &mut set.v4_part,
                };
                for h in first..=last {
                    if let Some(w) = map.get_mut(h / 64) {
                        *w |= 1 << (h % 64);
                    }
                }
            } else {
                set.v6.push((n.bits, n.mask));
            }
        }
        set
    }

    /// Returns whether any of the networks holds `ip` (an IPv4-mapped IPv6 address as IPv4).
    #[inline]
    pub fn contains(&self, ip: IpAddr) -> bool {
        let v4 = match ip {
            IpAddr::V4(v) => v,
            IpAddr::V6(v) => match v.to_ipv4_mapped() {
                Some(v) => v,
                None => {
                    let bits = u128::from(v);
                    return self.v6.iter().any(|&(b, m)| bits & m == b);
                }
            },
        };
        let bits = u32::from(v4);
        let h = (bits >> 16) as usize;
        let test = |map: &[u64]| map.get(h / 64).is_some_and(|w| w & (1 << (h % 64)) != 0);
        if test(&self.v4_whole) {
            return true;
        }
        test(&self.v4_part) && self.v4.iter().any(|&(b, m)| bits & m == b)
    }
}

fn width_mask(width: u32) -> u128 {
    if width == 128 {
        !0
    } else {
        (1u128 << width) - 1
    }
}

fn ip_bits(ip: IpAddr) -> (u128, u32, bool) {
    match ip {
        IpAddr::V4(v) => (u32::from(v) as u128, 32, true),
        IpAddr::V6(v) => match v.to_ipv4_mapped() {
            Some(v4) => (u32::from(v4) as u128, 32, true),
            None => (u128::from(v), 128, false),
        },
    }
}

/// The networks `is_private` and direction derivation treat as internal by default.
pub const DEFAULT_INTERNAL: &[&str] = &[
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "fc00::/7",
    "fe80::/10",
    "::1/128",
];

fn string_arg(v: &ColumnarValue, rows: usize) -> Result<ArrayRef, DataFusionError> {
    let arr = v.to_array(rows)?;
    if arr.data_type() == &DataType::Utf8 {
        Ok(arr)
    } else {
        Ok(datafusion::arrow::compute::cast(&arr, &DataType::Utf8)?)
    }
}

fn rows_of(args: &[ColumnarValue]) -> usize {
    args.iter()
        .find_map(|a| match a {
            ColumnarValue::Array(a) => Some(a.len()),
            ColumnarValue::Scalar(_) => None,
        })
        .unwrap_or(1)
}

fn in_cidr(args: &[ColumnarValue]) -> Result<ColumnarValue, DataFusionError> {
    let rows = rows_of(args);
    let [ip, net] = args else {
        return Err(DataFusionError::Plan(
            "in_cidr(ip, 'network/len') takes two arguments".into(),
        ));
    };
    // The usual call has a constant network: parse it once.
    let constant = match net {
        ColumnarValue::Scalar(ScalarValue::Utf8(Some(s))) => {
            Some(Net::parse(s).ok_or_else(|| {
                DataFusionError::Plan(format!("in_cidr: `{s}` is not a CIDR network"))
            })?)
        }
        _ => None,
    };
    let ips = string_arg(ip, rows)?;
    let ips = as_string_array(&ips)?;
    let nets = match constant {
        Some(_) => None,
        None => Some(string_arg(net, rows)?),
    };
    let nets = nets.as_ref().map(|n| as_string_array(n)).transpose()?;
    let out: BooleanArray = (0..ips.len())
        .map(|i| {
            if ips.is_null(i) {
                return Some(false);
            }
            let Ok(addr) = ips.value(i).parse::<IpAddr>() else {
                return Some(false);
            };
            let n = match (&constant, &nets) {
                (Some(n), _) => Some(*n),
                (None, Some(ns)) if !ns.is_null(i) => Net::parse(ns.value(i)),
                _ => None,
            };
            Some(n.is_some_and(|n| n.contains(addr)))
        })
        .collect();
    Ok(ColumnarValue::Array(Arc::new(out)))
}

fn is_private(args: &[ColumnarValue]) -> Result<ColumnarValue, DataFusionError> {
    let rows = rows_of(args);
    let nets: Vec<Net> = DEFAULT_INTERNAL
        .iter()
        .filter_map(|s| Net::parse(s))
        .collect();
    let ips = string_arg(&args[0], rows)?;
    let ips = as_string_array(&ips)?;
    let out: BooleanArray = ips
        .iter()
        .map(|v| {
            v.map(|s| {
                s.parse::<IpAddr>()
                    .is_ok_and(|ip| nets.iter().any(|n| n.contains(ip)))
            })
        })
        .collect();
    Ok(ColumnarValue::Array(Arc::new(out)))
}

fn community_id(args: &[ColumnarValue]) -> Result<ColumnarValue, DataFusionError> {
    let rows = rows_of(args);
    let s = string_arg(&args[0], rows)?;
    let d = string_arg(&args[1], rows)?;
    let (s, d) = (as_string_array(&s)?, as_string_array(&d)?);
    let ints: Vec<ArrayRef> = args[2..5]
        .iter()
        .map(|a| {
            let arr = a.to_array(rows)?;
            Ok(datafusion::arrow::compute::cast(&arr, &DataType::Int32)?)
        })
        .collect::<Result<_, DataFusionError>>()?;
    let int = |k: usize| ints[k].as_any().downcast_ref::<Int32Array>().cloned();
    let (Some(p), Some(sp), Some(dp)) = (int(0), int(1), int(2)) else {
        return Err(DataFusionError::Internal(
            "community_id: integer cast failed".into(),
        ));
    };
    let out: StringArray = (0..rows)
        .map(|i| {
            let src: IpAddr = s.is_valid(i).then(|| s.value(i).parse().ok()).flatten()?;
            let dst: IpAddr = d.is_valid(i).then(|| d.value(i).parse().ok()).flatten()?;
            let proto = u8::try_from(p.is_valid(i).then(|| p.value(i))?).ok()?;
            let port = |a: &Int32Array| {
                if a.is_valid(i) {
                    u16::try_from(a.value(i)).unwrap_or(0)
                } else {
                    0
                }
            };
            Some(flowtrail_schema::community_id_v1(
                0,
                src,
                dst,
                proto,
                port(&sp),
                port(&dp),
            ))
        })
        .collect();
    Ok(ColumnarValue::Array(Arc::new(out)))
}

/// Registers every flowtrail function with `ctx`.
pub fn register_all(ctx: &SessionContext) {
    ctx.register_udf(create_udf(
        "in_cidr",
        vec![DataType::Utf8, DataType::Utf8],
        DataType::Boolean,
        Volatility::Immutable,
        Arc::new(in_cidr),
    ));
    ctx.register_udf(create_udf(
        "is_private",
        vec![DataType::Utf8],
        DataType::Boolean,
        Volatility::Immutable,
        Arc::new(is_private),
    ));
    ctx.register_udf(create_udf(
        "community_id",
        vec![
            DataType::Utf8,
            DataType::Utf8,
            DataType::Int32,
            DataType::Int32,
            DataType::Int32,
        ],
        DataType::Utf8,
        Volatility::Immutable,
        Arc::new(community_id),
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nets() {
        let n = Net::parse("10.0.0.0/8").expect("net");
        assert!(n.contains("10.255.1.2".parse().expect("ip")));
        assert!(!n.contains("11.0.0.1".parse().expect("ip")));
        assert!(n.contains("::ffff:10.1.1.1".parse().expect("ip")));
        let v6 = Net::parse("2001:db8::/32").expect("net");
        assert!(v6.contains("2001:db8:1::5".parse().expect("ip")));
        assert!(!v6.contains("2001:db9::5".parse().expect("ip")));
        assert!(Net::parse("0.0.0.0/0")
            .expect("net")
            .contains("8.8.8.8".parse().expect("ip")));
        assert!(Net::parse("10.0.0.0/33").is_none());
        assert!(Net::parse("nope/8").is_none());
    }

    #[test]
    fn net_set_answers_as_the_nets_do() {
        let mut nets: Vec<Net> = DEFAULT_INTERNAL
            .iter()
            .filter_map(|s| Net::parse(s))
            .collect();
        nets.push(Net::parse("203.0.113.7").expect("net"));
        nets.push(Net::parse("2001:db8:ffff::/48").expect("net"));
        let set = NetSet::new(&nets);
        let probes = [
            "10.0.0.1",
            "9.255.255.255",
            "11.0.0.0",
            "172.16.0.1",
            "172.32.0.1",
            "192.168.5.5",
            "100.64.0.1",
            "100.128.0.1",
            "127.0.0.1",
            "169.254.1.1",
            "203.0.113.7",
            "203.0.113.8",
            "8.8.8.8",
            "0.0.0.0",
            "255.255.255.255",
            "::ffff:10.1.2.3",
            "::ffff:8.8.8.8",
            "fc00::1",
            "fd12::1",
            "fe00::1",
            "fe80::1",
            "febf::1",
            "fec0::1",
            "::1",
            "::2",
            "::",
            "2001:db8:ffff:1::1",
            "2001:db8:fffe::1",
        ];
        for p in probes {
            let ip: IpAddr = p.parse().expect("ip");
            let want = nets.iter().any(|n| n.contains(ip));
            assert_eq!(set.contains(ip), want, "{p}");
        }
        assert!(!NetSet::new(&[]).contains("10.0.0.1".parse().expect("ip")));
    }

    #[test]
    fn net_set_bitmaps_agree_with_a_scan_at_every_prefix_length() {
        // Networks of every IPv4 prefix length (whole /16s, parts of one, /0 and /32), probed
        // at their edges and around them, and at addresses spread over the whole space.
        let mut nets = Vec::new();
        let mut probes = Vec::new();
        let mut x: u32 = 0x9e37_79b9;
        for len in 0..=32u32 {
            x = x.wrapping_mul(0x0101_0101).wrapping_add(0x7f4a_7c15);
            let net = Net::parse(&format!("{}/{len}", std::net::Ipv4Addr::from(x))).expect("net");
            let (lo, hi) = (net.bits as u32, (net.bits as u32) | !(net.mask as u32));
            for p in [lo, hi, lo.wrapping_sub(1), hi.wrapping_add(1), lo ^ 0x10000] {
                probes.push(p);
            }
            if len != 0 {
                nets.push(net);
            }
        }
        for i in 0..5000u32 {
            probes.push(i.wrapping_mul(0x9e37_79b9));
        }
        for k in [0, 1, 3, nets.len()] {
            let nets = &nets[..k];
            let set = NetSet::new(nets);
            for &p in &probes {
                let ip = IpAddr::V4(p.into());
                let want = nets.iter().any(|n| n.contains(ip));
                assert_eq!(set.contains(ip), want, "{ip} with {k} networks");
            }
        }
        // /0 holds every address.
        let all = NetSet::new(&[Net::parse("0.0.0.0/0").expect("net")]);
        assert!(probes.iter().all(|&p| all.contains(IpAddr::V4(p.into()))));
    }
}
