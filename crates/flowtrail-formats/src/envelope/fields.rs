//! Field helpers shared by the firewall decoders: numbers, addresses, protocol names, civil time
//! and the `extra` JSON builder. None of them allocates except [`Extra`], which reuses its buffer.

use std::net::IpAddr;

use crate::time::days_from_civil;

use crate::util::push_json_str_u as push_json_str;
pub(crate) use crate::util::{clip_to as clip, parse_u64_bytes as parse_u64};

/// Parses a port number (0–65535).
pub(crate) fn parse_u16(s: &[u8]) -> Option<u16> {
    if s.len() > 5 {
        return None;
    }
    parse_u64(s).and_then(|v| u16::try_from(v).ok())
}

/// Parses an IPv4 or IPv6 address in text form (an IPv6 zone suffix `%eth0` is dropped).
pub(crate) use crate::util::parse_ip_zoned as parse_ip;

/// Returns the address unless it is the unspecified address (`0.0.0.0`, `::`), which firewalls
/// write for "no translation".
pub(crate) fn ip_or_none(ip: Option<IpAddr>) -> Option<IpAddr> {
    ip.filter(|ip| !ip.is_unspecified())
}

/// Returns the IANA number of a protocol keyword as firewalls write it (any case), or of a
/// decimal number.
pub(crate) fn protocol_number(name: &str) -> Option<u8> {
    if let Some(n) = parse_u64(name.as_bytes()) {
        return u8::try_from(n).ok();
    }
    let lower = |k: &str| name.eq_ignore_ascii_case(k);
    Some(if lower("tcp") {
        6
    } else if lower("udp") {
        17
    } else if lower("icmp") {
        1
    } else if lower("icmp6") || lower("icmpv6") || lower("ipv6-icmp") {
        58
    } else if lower("gre") {
        47
    } else if lower("esp") {
        50
    } else if lower("ah") {
        51
    } else if lower("sctp") {
        132
    } else if lower("igmp") {
        2
    } else if lower("ospf") {
        89
    } else if lower("pim") {
        103
    } else if lower("eigrp") {
        88
    } else if lower("vrrp") {
        112
    } else if lower("ipip") || lower("ipinip") {
        4
    } else if lower("ipv6") {
        41
    } else {
        return None;
    })
}

/// Returns the bit of a TCP flag name (`SYN`, `ACK`, ...) in the `tcp_flags` column, or 0.
pub(crate) fn tcp_flag_bit(name: &str) -> u16 {
    match name {
        "FIN" | "fin" => 1,
        "SYN" | "syn" => 2,
        "RST" | "rst" => 4,
        "PSH" | "psh" => 8,
        "ACK" | "ack" => 16,
        "URG" | "urg" => 32,
        "ECE" | "ece" => 64,
        "CWR" | "cwr" => 128,
        _ => 0,
    }
}

/// Converts a civil date and time (read as UTC) to µs since the epoch; `None` when the date does
/// not exist (February 30, hour 24...). Leap seconds (`:60`) are accepted as `:59`.
pub(crate) fn civil_micros(
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    micros: u32,
) -> Option<i64> {
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        _ => return None,
    };
    if !(1..=9999).contains(&year)
        || day == 0
        || day > days_in_month
        || hour > 23
        || minute > 59
        || second > 60
        || micros > 999_999
    {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let secs =
        days * 86_400 + i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second.min(59));
    Some(secs * 1_000_000 + i64::from(micros))
}

/// Builds the compact JSON object of the `extra` column in a reusable buffer.
#[derive(Debug, Default)]
pub(crate) struct Extra {
    buf: String,
    closed: bool,
}

impl Extra {
    /// Starts a new object, keeping the buffer's capacity.
    pub(crate) fn clear(&mut self) {
        self.buf.clear();
        self.closed = false;
    }

    fn key(&mut self, key: &str) {
        if self.closed {
            self.buf.pop();
            self.closed = false;
        }
        self.buf.push(if self.buf.is_empty() { '{' } else { ',' });
        push_json_str(&mut self.buf, key);
        self.buf.push(':');
    }

    /// Adds a string member (skipped when `value` is empty).
    pub(crate) fn str(&mut self, key: &str, value: &str) {
        if !value.is_empty() {
            self.key(key);
            push_json_str(&mut self.buf, value);
        }
    }

    /// Adds a string member when `value` is present and not empty.
    pub(crate) fn opt_str(&mut self, key: &str, value: Option<&str>) {
        if let Some(v) = value {
            self.str(key, v);
        }
    }

    /// Adds a numeric member.
    pub(crate) fn num(&mut self, key: &str, value: u64) {
        use std::fmt::Write;
        self.key(key);
        let _ = write!(self.buf, "{value}");
    }

    /// Returns the finished object, or `None` when no member was added.
    pub(crate) fn finish(&mut self) -> Option<&str> {
        if self.buf.is_empty() {
            return None;
        }
        if !self.closed {
            self.buf.push('}');
            self.closed = true;
        }
        Some(self.buf.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(parse_u64(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_u64(b"18446744073709551616"), None);
        assert_eq!(parse_u64(b""), None);
        assert_eq!(parse_u64(b"1a"), None);
        assert_eq!(parse_u16(b"65535"), Some(65535));
        assert_eq!(parse_u16(b"65536"), None);
        assert_eq!(parse_u16(b"514514"), None);
    }

    #[test]
    fn addresses_and_protocols() {
        assert_eq!(parse_ip("fe80::1%eth0"), "fe80::1".parse().ok());
        assert_eq!(parse_ip("1192.168.2.2"), None);
        assert_eq!(ip_or_none(parse_ip("0.0.0.0")), None);
        assert_eq!(protocol_number("TCP"), Some(6));
        assert_eq!(protocol_number("47"), Some(47));
        assert_eq!(protocol_number("300"), None);
        assert_eq!(protocol_number("ip"), None);
    }

    #[test]
    fn civil_time() {
        assert_eq!(civil_micros(1970, 1, 1, 0, 0, 0, 0), Some(0));
        assert_eq!(civil_micros(2023, 2, 29, 0, 0, 0, 0), None);
        assert!(civil_micros(2024, 2, 29, 0, 0, 0, 0).is_some());
        assert_eq!(civil_micros(2024, 1, 1, 24, 0, 0, 0), None);
    }

    #[test]
    fn extra_json() {
        let mut e = Extra::default();
        assert_eq!(e.finish(), None);
        e.str("a", "x\"y");
        e.str("empty", "");
        e.num("n", 7);
        assert_eq!(e.finish(), Some(r#"{"a":"x\"y","n":7}"#));
        e.clear();
        e.str("b", "\u{1}");
        assert_eq!(e.finish(), Some(r#"{"b":"\u0001"}"#));
        assert_eq!(clip("héllo", 2), "h");
    }
}
