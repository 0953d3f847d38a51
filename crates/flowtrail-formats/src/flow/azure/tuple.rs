//! Parsing of one comma-separated Azure flow tuple (the hot path: no allocation unless rejected).

use std::net::IpAddr;

use flowtrail_schema::{Action, Direction, Micros};

/// Tuple times below this are epoch seconds, at or above it epoch milliseconds.
///
/// VNet tuples normally carry 13-digit milliseconds, but the bandwidth example of Microsoft's
/// VNet flow log page uses 10-digit seconds, and NSG tuples are seconds. 10^11 seconds is the
/// year 5138 and 10^11 milliseconds is March 1973, so the two ranges cannot be confused for
/// real data.
pub(super) const MILLIS_THRESHOLD: u64 = 100_000_000_000;

/// The most fields any tuple has (NSG v2 and VNet).
const MAX_FIELDS: usize = 13;

/// One decoded flow tuple; strings borrow from the tuple text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Tuple<'a> {
    pub time: Micros,
    pub src_ip: IpAddr,
    pub dst_ip: IpAddr,
    pub src_port: Option<u16>,
    pub dst_port: Option<u16>,
    pub protocol: u8,
    pub direction: Direction,
    pub action: Action,
    /// `B`, `C`, `E` (and `D` for VNet); `None` for NSG version 1.
    pub state: Option<&'a str>,
    pub packets_out: Option<u64>,
    pub bytes_out: Option<u64>,
    pub packets_in: Option<u64>,
    pub bytes_in: Option<u64>,
    /// VNet encryption status (`X`, `NX`, `NX_*`).
    pub encryption: Option<&'a str>,
}

/// Parses an NSG flow tuple: 8 fields (version 1) or 13 (version 2).
pub(super) fn parse_nsg(text: &str) -> Result<Tuple<'_>, String> {
    let (f, n) = split(text);
    if n != 8 && n != MAX_FIELDS {
        return Err(format!(
            "bad flow tuple: {n} fields (NSG tuples have 8 in version 1, 13 in version 2)"
        ));
    }
    let [time, src, dst, sport, dport, proto, dir, decision, state, pkt_out, byt_out, pkt_in, byt_in] =
        f;
    let action = match decision {
        "A" => Action::Allowed,
        "D" => Action::Denied,
        other => return Err(bad("decision", other)),
    };
    let mut t = common(time, src, dst, sport, dport, proto, dir, action)?;
    if n == MAX_FIELDS {
        t.state = Some(match state {
            "B" | "C" | "E" => state,
            other => return Err(bad("flow_state", other)),
        });
        counters(&mut t, pkt_out, byt_out, pkt_in, byt_in)?;
    }
    Ok(t)
}

/// Parses a VNet flow tuple: 13 fields, the decision merged into the state (`D` = denied).
pub(super) fn parse_vnet(text: &str) -> Result<Tuple<'_>, String> {
    let (f, n) = split(text);
    if n != MAX_FIELDS {
        return Err(format!("bad flow tuple: {n} fields (VNet tuples have 13)"));
    }
    let [time, src, dst, sport, dport, proto, dir, state, encryption, pkt_out, byt_out, pkt_in, byt_in] =
        f;
    let action = match state {
        "D" => Action::Denied,
        "B" | "C" | "E" => Action::Allowed,
        other => return Err(bad("flow_state", other)),
    };
    let mut t = common(time, src, dst, sport, dport, proto, dir, action)?;
    t.state = Some(state);
    if !encryption.is_empty() {
        if !encryption
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return Err(bad("encryption", encryption));
        }
        t.encryption = Some(encryption);
    }
    counters(&mut t, pkt_out, byt_out, pkt_in, byt_in)?;
    Ok(t)
}

/// Splits on commas into at most [`MAX_FIELDS`] slots; also returns the real field count.
fn split(text: &str) -> ([&str; MAX_FIELDS], usize) {
    // Commas are found eight bytes at a time (SWAR): tuples are ~60 bytes of short fields,
    // where `str::split` and `memchr_iter` pay more setup per field than they save (callgrind,
    // instructions per tuple: ~1160 with `memchr_iter`, ~830 with a byte loop, ~730 here).
    // Commas are ASCII, so every cut is a char boundary.
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const COMMAS: u64 = 0x2c2c_2c2c_2c2c_2c2c;
    let bytes = text.as_bytes();
    let mut fields = [""; MAX_FIELDS];
    let mut n = 0usize;
    let mut start = 0usize;
    let mut cut = |i: usize| {
        if let Some(slot) = fields.get_mut(n) {
            *slot = text.get(start..i).unwrap_or("");
        }
        n += 1;
        start = i + 1;
    };
    let mut chunks = bytes.chunks_exact(8);
    let mut base = 0usize;
    for chunk in &mut chunks {
        let word = <[u8; 8]>::try_from(chunk).map_or(0, u64::from_le_bytes) ^ COMMAS;
        // Exact per-byte zero test (no borrow crosses bytes): the high bit of a byte of `hits`
        // is set iff that byte of `word` is zero, i.e. the input byte was a comma.
        let mut hits = !(((word & LOW7) + LOW7) | word | LOW7);
        while hits != 0 {
            cut(base + (hits.trailing_zeros() / 8) as usize);
            hits &= hits - 1;
        }
        base += 8;
    }
    for (j, &b) in chunks.remainder().iter().enumerate() {
        if b == b',' {
            cut(base + j);
        }
    }
    if let Some(slot) = fields.get_mut(n) {
        *slot = text.get(start..).unwrap_or("");
    }
    (fields, n + 1)
}

/// Parses an address; dotted-quad IPv4 in canonical form takes a fast path, anything else
/// (IPv6, or IPv4 the fast path declines) goes to the standard parser.
fn ip(s: &str) -> Option<IpAddr> {
    fast_ipv4(s).map(IpAddr::from).or_else(|| s.parse().ok())
}

fn fast_ipv4(s: &str) -> Option<[u8; 4]> {
    let mut out = [0u8; 4];
    let mut octet = 0usize;
    let mut value: u32 = 0;
    let mut digits = 0usize;
    for b in s.bytes() {
        match b {
            b'0'..=b'9' => {
                // A leading zero ("01") is declined; the standard parser decides about it.
                if digits == 1 && value == 0 {
                    return None;
                }
                value = value * 10 + u32::from(b - b'0');
                digits += 1;
                if value > 255 {
                    return None;
                }
            }
            b'.' if digits > 0 => {
                *out.get_mut(octet)? = value as u8;
                octet += 1;
                value = 0;
                digits = 0;
            }
            _ => return None,
        }
    }
    if digits == 0 || octet != 3 {
        return None;
    }
    *out.get_mut(3)? = value as u8;
    Some(out)
}

#[allow(clippy::too_many_arguments)] // the eight leading fields every tuple version shares
fn common<'a>(
    time: &str,
    src: &str,
    dst: &str,
    sport: &str,
    dport: &str,
    proto: &str,
    dir: &str,
    action: Action,
) -> Result<Tuple<'a>, String> {
    let epoch = parse_u64(time).ok_or_else(|| bad("time", time))?;
    let time_us = if epoch < MILLIS_THRESHOLD {
        // Cannot overflow: epoch < 10^11, so the product stays below 10^17.
        (epoch * 1_000_000) as Micros
    } else {
        epoch
            .checked_mul(1_000)
            .and_then(|us| Micros::try_from(us).ok())
            .ok_or_else(|| bad("time", time))?
    };
    Ok(Tuple {
        time: time_us,
        src_ip: ip(src).ok_or_else(|| bad("src_ip", src))?,
        dst_ip: ip(dst).ok_or_else(|| bad("dst_ip", dst))?,
        src_port: port(sport).ok_or_else(|| bad("src_port", sport))?,
        dst_port: port(dport).ok_or_else(|| bad("dst_port", dport))?,
        protocol: protocol(proto).ok_or_else(|| bad("protocol", proto))?,
        direction: match dir {
            "I" => Direction::Inbound,
            "O" => Direction::Outbound,
            other => return Err(bad("direction", other)),
        },
        action,
        state: None,
        packets_out: None,
        bytes_out: None,
        packets_in: None,
        bytes_in: None,
        encryption: None,
    })
}

/// Reads the four delta counters; an empty counter (as in `B` tuples) is `None`.
fn counters(
    t: &mut Tuple<'_>,
    pkt_out: &str,
    byt_out: &str,
    pkt_in: &str,
    byt_in: &str,
) -> Result<(), String> {
    t.packets_out = counter(pkt_out).ok_or_else(|| bad("packets_out", pkt_out))?;
    t.bytes_out = counter(byt_out).ok_or_else(|| bad("bytes_out", byt_out))?;
    t.packets_in = counter(pkt_in).ok_or_else(|| bad("packets_in", pkt_in))?;
    t.bytes_in = counter(byt_in).ok_or_else(|| bad("bytes_in", byt_in))?;
    Ok(())
}

/// Returns `Some(None)` for an empty counter, `Some(Some(n))` for a number, `None` if invalid.
fn counter(s: &str) -> Option<Option<u64>> {
    if s.is_empty() {
        Some(None)
    } else {
        parse_u64(s).map(Some)
    }
}

/// Returns `Some(None)` for an empty port, `Some(Some(p))` for a valid one, `None` if invalid.
fn port(s: &str) -> Option<Option<u16>> {
    if s.is_empty() {
        return Some(None);
    }
    parse_u64(s).and_then(|v| u16::try_from(v).ok()).map(Some)
}

/// Maps NSG protocol letters (`T` TCP, `U` UDP) and IANA numbers (VNet) to the protocol number.
fn protocol(s: &str) -> Option<u8> {
    match s {
        "T" => Some(6),
        "U" => Some(17),
        _ => parse_u64(s).and_then(|v| u8::try_from(v).ok()),
    }
}

/// Parses a non-empty run of ASCII digits without overflow.
fn parse_u64(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    let mut v: u64 = 0;
    for b in s.bytes() {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(v)
}

/// Formats a rejection reason naming the field and (a clipped copy of) its value.
pub(super) fn bad(field: &str, value: &str) -> String {
    format!("bad {field} {:?}", clip(value))
}

/// Returns at most 64 bytes of `s`, cut on a character boundary.
pub(super) fn clip(s: &str) -> &str {
    let mut end = s.len().min(64);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nsg_v2_begin_has_no_counters() {
        let t =
            parse_nsg("1542110377,10.5.16.4,203.0.113.118,59831,443,T,O,A,B,,,,").expect("valid");
        assert_eq!(t.time, 1_542_110_377_000_000);
        assert_eq!(t.protocol, 6);
        assert_eq!(t.direction, Direction::Outbound);
        assert_eq!(t.action, Action::Allowed);
        assert_eq!(t.state, Some("B"));
        assert_eq!(
            (t.packets_out, t.bytes_out, t.packets_in, t.bytes_in),
            (None, None, None, None)
        );
    }

    #[test]
    fn nsg_v2_counters_map_to_directions() {
        let t = parse_nsg("1542110379,10.5.16.4,203.0.113.115,44931,443,T,O,A,C,30,16978,24,14008")
            .expect("valid");
        assert_eq!(
            (t.packets_out, t.bytes_out, t.packets_in, t.bytes_in),
            (Some(30), Some(16978), Some(24), Some(14008))
        );
    }

    #[test]
    fn nsg_v1_and_numeric_protocol() {
        let t = parse_nsg("1487282421,192.0.2.95,10.1.0.4,51529,5358,U,I,D").expect("valid");
        assert_eq!((t.protocol, t.action, t.state), (17, Action::Denied, None));
        let t = parse_nsg("1487282421,2001:db8::1,2001:db8::2,0,0,58,I,A").expect("valid");
        assert_eq!(t.protocol, 58);
    }

    #[test]
    fn vnet_millis_seconds_and_deny() {
        let t = parse_vnet("1663145998065,203.0.113.153,10.0.0.6,55188,22,6,I,D,NX,0,0,0,0")
            .expect("valid");
        assert_eq!(t.time, 1_663_145_998_065_000);
        assert_eq!(t.action, Action::Denied);
        assert_eq!(t.encryption, Some("NX"));
        assert_eq!(t.bytes_out, Some(0));
        let t =
            parse_vnet("1493763938,185.170.185.105,10.2.0.4,35370,23,6,I,B,NX,,,,").expect("valid");
        assert_eq!(t.time, 1_493_763_938_000_000);
        assert_eq!(t.bytes_out, None);
    }

    #[test]
    fn rejections_name_the_field() {
        let cases = [
            ("x,1.2.3.4,5.6.7.8,1,2,T,I,A", "bad time \"x\""),
            ("1,1.2.3.999,5.6.7.8,1,2,T,I,A", "bad src_ip \"1.2.3.999\""),
            ("1,1.2.3.4,5.6.7.8,1,70000,T,I,A", "bad dst_port \"70000\""),
            ("1,1.2.3.4,5.6.7.8,1,2,Q,I,A", "bad protocol \"Q\""),
            ("1,1.2.3.4,5.6.7.8,1,2,T,X,A", "bad direction \"X\""),
            ("1,1.2.3.4,5.6.7.8,1,2,T,I,Y", "bad decision \"Y\""),
            ("1,1.2.3.4,5.6.7.8,1,2,T,I,A,Z,,,,", "bad flow_state \"Z\""),
            (
                "1,1.2.3.4,5.6.7.8,1,2,T,I,A,E,1,-5,1,1",
                "bad bytes_out \"-5\"",
            ),
            (
                "1,1.2.3.4",
                "bad flow tuple: 2 fields (NSG tuples have 8 in version 1, 13 in version 2)",
            ),
            (
                "99999999999999999999,1.2.3.4,5.6.7.8,1,2,T,I,A",
                "bad time \"99999999999999999999\"",
            ),
        ];
        for (tuple, reason) in cases {
            assert_eq!(parse_nsg(tuple).err().as_deref(), Some(reason), "{tuple}");
        }
        assert_eq!(
            parse_vnet("1,1.2.3.4,5.6.7.8,1,2,6,I,A,NX,0,0,0,0")
                .err()
                .as_deref(),
            Some("bad flow_state \"A\"")
        );
    }

    #[test]
    fn addresses_fast_path_agrees_with_std() {
        for a in [
            "0.0.0.0",
            "10.5.16.4",
            "255.255.255.255",
            "256.1.1.1",
            "1.2.3",
            "1.2.3.4.5",
            "01.2.3.4",
            "1..2.3",
            ".1.2.3",
            "1.2.3.",
            "1.2.3.4 ",
            "",
            "2001:db8::1",
            "::ffff:1.2.3.4",
            "1.2.3.0400",
        ] {
            assert_eq!(ip(a), a.parse::<IpAddr>().ok(), "{a:?}");
        }
        assert_eq!(
            split("a,,b"),
            (["a", "", "b", "", "", "", "", "", "", "", "", "", ""], 3)
        );
        for t in [
            "1663146003599,10.0.0.6,52.239.184.180,23956,443,6,O,B,NX,0,0,0,0",
            "1542110377,10.5.16.4,203.0.113.118,59831,443,T,O,A,B,,,,",
            ",,,,,,,,,,,,",
            "-,-,\u{1}-,,\u{ac}\u{2c}\u{2d},é,ü,",
            "a,b",
        ] {
            let (fields, n) = split(t);
            let want: Vec<&str> = t.split(',').collect();
            assert_eq!(n, want.len(), "{t:?}");
            assert_eq!(
                &fields[..n.min(MAX_FIELDS)],
                &want[..n.min(MAX_FIELDS)],
                "{t:?}"
            );
        }
        assert_eq!(split("").1, 1);
        assert_eq!(split(&",".repeat(20)).1, 21);
    }

    #[test]
    fn clip_respects_char_boundaries() {
        let s = "é".repeat(40);
        assert!(clip(&s).len() <= 64);
        assert!(s.starts_with(clip(&s)));
    }
}
