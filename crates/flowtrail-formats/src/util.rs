//! Helpers shared by the decoders (`zeek_conn`, `gcp_vpc`, `nfdump_csv`, `aws_vpc`, the HTTP decoders):
//! allocation-free number, address and time parsing, the reused `extra` JSON object writer, and
//! serde pieces that read JSON values borrowed from the input (or copy them, compactly, into
//! `extra`) without building a `serde_json::Value`.

use std::borrow::Cow;
use std::fmt::{self, Write as _};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

/// Longest input value quoted in a rejection reason.
pub(crate) const MAX_REASON_VALUE: usize = 64;

/// Returns at most [`MAX_REASON_VALUE`] bytes of `s`, cut at a char boundary.
pub(crate) fn clip(s: &str) -> &str {
    clip_to(s, MAX_REASON_VALUE)
}

/// Returns at most `max` bytes of `s` (cut at a character boundary), for error messages.
pub(crate) fn clip_to(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or("")
}

/// Parses a non-negative decimal integer (ASCII digits only, no sign, no spaces).
pub(crate) fn parse_u64(s: &str) -> Option<u64> {
    parse_u64_bytes(s.as_bytes())
}

/// [`parse_u64`] over bytes; `None` on overflow or any byte that is not a digit.
pub(crate) fn parse_u64_bytes(b: &[u8]) -> Option<u64> {
    if b.is_empty() || b.len() > 20 {
        return None;
    }
    if b.len() <= 19 {
        // Nineteen digits cannot overflow: no checked arithmetic on the common path.
        let mut v: u64 = 0;
        for &c in b {
            let d = c.wrapping_sub(b'0');
            if d > 9 {
                return None;
            }
            v = v * 10 + u64::from(d);
        }
        return Some(v);
    }
    let mut v: u64 = 0;
    for &c in b {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(d))?;
    }
    Some(v)
}

/// Parses a port number (0..=65535).
pub(crate) fn parse_u16(s: &str) -> Option<u16> {
    parse_u64(s).and_then(|v| u16::try_from(v).ok())
}

/// Parses an IPv4 (dotted quad) or IPv6 address, the IPv4 case without the `std` parser.
pub(crate) fn parse_ip(s: &str) -> Option<IpAddr> {
    if let Some(v4) = parse_ipv4(s.as_bytes()) {
        return Some(IpAddr::V4(v4));
    }
    if s.contains(':') {
        return s.parse::<Ipv6Addr>().ok().map(IpAddr::V6);
    }
    None
}

/// Parses an IPv4 (dotted quad, hand-parsed) or IPv6 address; an IPv6 zone (`%3`, `%eth0`)
/// is dropped.
pub(crate) fn parse_ip_zoned(s: &str) -> Option<IpAddr> {
    let b = s.as_bytes();
    if b.first().is_some_and(u8::is_ascii_digit) && !s.contains(':') {
        return parse_ipv4(b).map(IpAddr::V4);
    }
    if s.contains(':') {
        let s = s.split_once('%').map_or(s, |(a, _)| a);
        return s.parse().ok();
    }
    None
}

/// Parses a dotted-quad IPv4 address in one pass: four parts of 1-3 digits, each at most 255,
/// no leading zeros (`010.0.0.1` is ambiguous between decimal and octal, so it is refused).
pub(crate) fn parse_ipv4(b: &[u8]) -> Option<Ipv4Addr> {
    if !(7..=15).contains(&b.len()) {
        return None;
    }
    let mut octets = [0u8; 4];
    let mut part = 0usize;
    let mut v: u32 = 0;
    let mut digits = 0u32;
    for &c in b {
        if c == b'.' {
            if digits == 0 || part == 3 {
                return None;
            }
            octets[part] = v as u8;
            part += 1;
            v = 0;
            digits = 0;
            continue;
        }
        let d = c.wrapping_sub(b'0');
        if d > 9 || (digits == 1 && v == 0) || digits == 3 {
            return None;
        }
        v = v * 10 + u32::from(d);
        if v > 255 {
            return None;
        }
        digits += 1;
    }
    if part != 3 || digits == 0 {
        return None;
    }
    octets[3] = v as u8;
    Some(Ipv4Addr::from(octets))
}

/// Parses a non-negative decimal number of seconds (`1320279554.496300`, `2.5`, `7`) into
/// microseconds; digits beyond the sixth decimal are truncated.
pub(crate) fn parse_secs_micros(s: &str) -> Option<i64> {
    // 10^12 seconds is well past the year 30 000; larger values are not times.
    secs_micros(s, 1_000_000_000_000, 18)
}

/// [`parse_secs_micros`] with the decoder's own limits: `None` unless the whole seconds are
/// below `max_secs` and the fraction, when there is a `.`, has 1 to `max_frac_digits` digits.
pub(crate) fn secs_micros(s: &str, max_secs: u64, max_frac_digits: usize) -> Option<i64> {
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (s, None),
    };
    let secs = parse_u64(int).filter(|v| *v < max_secs)?;
    let mut micros: i64 = 0;
    if let Some(frac) = frac {
        let fb = frac.as_bytes();
        if fb.is_empty() || fb.len() > max_frac_digits || !fb.iter().all(u8::is_ascii_digit) {
            return None;
        }
        for i in 0..6 {
            micros = micros * 10 + fb.get(i).map_or(0, |c| i64::from(c - b'0'));
        }
    }
    i64::try_from(secs)
        .ok()?
        .checked_mul(1_000_000)?
        .checked_add(micros)
}

/// Converts a JSON number of seconds (possibly fractional) to microseconds, rounding to the
/// nearest microsecond (an `f64` holds epoch seconds to about 0.1 µs). `None` when out of range.
pub(crate) fn f64_secs_micros(v: f64) -> Option<i64> {
    let us = (v * 1e6).round();
    if us.is_finite() && us.abs() < 1e18 {
        Some(us as i64)
    } else {
        None
    }
}

/// Returns true when `s` is a JSON number as written by the producers we read (no leading `+`,
/// optional fraction and exponent).
pub(crate) fn is_json_number(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(b.first() == Some(&b'-'));
    let digits = |i: &mut usize| {
        let start = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i > start
    };
    if b.get(i) == Some(&b'0') {
        i += 1;
    } else if !digits(&mut i) {
        return false;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if !digits(&mut i) {
            return false;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if !digits(&mut i) {
            return false;
        }
    }
    i == b.len()
}

/// Appends `s` as a JSON string literal (`\n`, `\r`, `\t` as such, other control
/// characters as `\u00XX`).
pub(crate) fn push_json_str(out: &mut String, s: &str) {
    push_json_escaped(out, s, true);
}

/// Appends `s` as a JSON string literal with every control character as `\u00XX` (also `\n`,
/// `\r`, `\t`): the spelling the firewall decoders' `extra` has always had.
pub(crate) fn push_json_str_u(out: &mut String, s: &str) {
    push_json_escaped(out, s, false);
}

#[inline]
fn push_json_escaped(out: &mut String, s: &str, short: bool) {
    out.push('"');
    if !s.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20) {
        out.push_str(s);
    } else {
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' if short => out.push_str("\\n"),
                '\r' if short => out.push_str("\\r"),
                '\t' if short => out.push_str("\\t"),
                c if (c as u32) < 0x20 => {
                    let _ = write!(out, "\\u{:04x}", c as u32);
                }
                c => out.push(c),
            }
        }
    }
    out.push('"');
}

/// Writes a JSON object into a buffer reused across records (no allocation per record once
/// the buffer has grown). Keys are written in call order; duplicates are the caller's concern.
pub(crate) struct ObjWriter<'b> {
    out: &'b mut String,
    keys: usize,
}

impl<'b> ObjWriter<'b> {
    /// Clears `out` and opens an object.
    pub(crate) fn new(out: &'b mut String) -> ObjWriter<'b> {
        out.clear();
        out.push('{');
        ObjWriter { out, keys: 0 }
    }

    /// Writes `"name":` (with the separating comma) and returns the buffer for the value.
    pub(crate) fn key(&mut self, name: &str) -> &mut String {
        if self.keys > 0 {
            self.out.push(',');
        }
        self.keys += 1;
        push_json_str(self.out, name);
        self.out.push(':');
        self.out
    }

    pub(crate) fn str(&mut self, name: &str, value: &str) {
        let out = self.key(name);
        push_json_str(out, value);
    }

    /// Writes a value that is already JSON text (a number, `true`, an array...).
    pub(crate) fn raw(&mut self, name: &str, json: &str) {
        self.key(name).push_str(json);
    }

    /// Writes a string member unless `value` is empty.
    pub(crate) fn non_empty(&mut self, name: &str, value: &str) {
        if !value.is_empty() {
            self.str(name, value);
        }
    }

    /// Writes a numeric member.
    pub(crate) fn num(&mut self, name: &str, v: u64) {
        let _ = write!(self.key(name), "{v}");
    }

    /// The buffer, to continue a value opened with [`ObjWriter::key`].
    pub(crate) fn buf(&mut self) -> &mut String {
        self.out
    }

    /// The buffer state, to undo members with [`ObjWriter::undo`].
    pub(crate) fn mark(&self) -> (usize, usize) {
        (self.out.len(), self.keys)
    }

    /// Removes the members written since `mark`.
    pub(crate) fn undo(&mut self, mark: (usize, usize)) {
        self.out.truncate(mark.0);
        self.keys = mark.1;
    }

    /// Closes the object; returns whether it holds any key (an empty `{}` is stored as `None`).
    pub(crate) fn finish(self) -> bool {
        self.out.push('}');
        self.keys > 0
    }
}

/// A JSON value read without allocation where possible: strings borrow from the input unless
/// they contain escapes; arrays and objects are skipped and only named.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Scalar<'a> {
    Str(Cow<'a, str>),
    U64(u64),
    I64(i64),
    F64(f64),
    Bool(bool),
    Null,
    /// An array or object (skipped).
    Other(&'static str),
}

impl<'a> Scalar<'a> {
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Scalar::Str(s) => Some(s),
            _ => None,
        }
    }

    /// A non-negative integer, written as a number or (proto3 JSON `int64`) as a string.
    pub(crate) fn as_u64(&self) -> Option<u64> {
        match self {
            Scalar::U64(v) => Some(*v),
            Scalar::Str(s) => parse_u64(s.trim()),
            Scalar::F64(f) if f.fract() == 0.0 && *f >= 0.0 && *f < 1.8e19 => Some(*f as u64),
            _ => None,
        }
    }

    /// Renders the value for a rejection reason (`"abc"`, `12`, `a JSON object`).
    pub(crate) fn describe(&self) -> String {
        match self {
            Scalar::Str(s) => format!("{:?}", clip(s)),
            Scalar::U64(v) => v.to_string(),
            Scalar::I64(v) => v.to_string(),
            Scalar::F64(v) => v.to_string(),
            Scalar::Bool(v) => v.to_string(),
            Scalar::Null => "null".to_string(),
            Scalar::Other(t) => format!("a JSON {t}"),
        }
    }

    /// Writes the value as JSON (arrays and objects, already skipped, as `null`).
    pub(crate) fn write_json(&self, out: &mut String) {
        match self {
            Scalar::Str(s) => push_json_str(out, s),
            Scalar::U64(v) => {
                let _ = write!(out, "{v}");
            }
            Scalar::I64(v) => {
                let _ = write!(out, "{v}");
            }
            Scalar::F64(v) => write_f64(out, *v),
            Scalar::Bool(v) => out.push_str(if *v { "true" } else { "false" }),
            Scalar::Null | Scalar::Other(_) => out.push_str("null"),
        }
    }
}

pub(crate) fn write_f64(out: &mut String, v: f64) {
    if v.is_finite() {
        let _ = write!(out, "{v}");
    } else {
        out.push_str("null");
    }
}

impl<'de> Deserialize<'de> for Scalar<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ScalarVisitor)
    }
}

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Owned(v)))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Scalar::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Scalar::I64(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Scalar::U64(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Scalar::F64(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Scalar::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Scalar::Null)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map
            .next_entry::<de::IgnoredAny, de::IgnoredAny>()?
            .is_some()
        {}
        Ok(Scalar::Other("object"))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<de::IgnoredAny>()?.is_some() {}
        Ok(Scalar::Other("array"))
    }
}

/// An object key, borrowed when it has no escapes.
pub(crate) struct Key<'a>(pub Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Key<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object key")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Key(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Key(Cow::Owned(v.to_owned())))
    }
}

/// Copies any JSON value, compactly, into a string while it is being parsed (serde's
/// "transcoding"): used to keep unmapped source fields in `extra` without a `Value` tree.
/// Nesting is bounded by `serde_json`'s recursion limit.
pub(crate) struct Transcode<'o>(pub &'o mut String);

impl<'de> DeserializeSeed<'de> for Transcode<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Transcode<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        push_json_str(self.0, v);
        Ok(())
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        self.0.push_str(if v { "true" } else { "false" });
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        let _ = write!(self.0, "{v}");
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        let _ = write!(self.0, "{v}");
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        write_f64(self.0, v);
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.0.push_str("null");
        Ok(())
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.0.push_str("null");
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let out = self.0;
        out.push('{');
        let mut first = true;
        while let Some(Key(k)) = map.next_key::<Key<'de>>()? {
            if !first {
                out.push(',');
            }
            first = false;
            push_json_str(out, &k);
            out.push(':');
            map.next_value_seed(Transcode(&mut *out))?;
        }
        out.push('}');
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let out = self.0;
        out.push('[');
        let mut first = true;
        loop {
            let mark = out.len();
            if !first {
                out.push(',');
            }
            if seq.next_element_seed(Transcode(&mut *out))?.is_none() {
                out.truncate(mark);
                break;
            }
            first = false;
        }
        out.push(']');
        Ok(())
    }
}

/// Reads a [`Scalar`] and also writes it, as JSON, to the string (for fields that both fill a
/// column and stay in `extra`).
pub(crate) struct TeeScalar<'o>(pub &'o mut String);

impl<'de> DeserializeSeed<'de> for TeeScalar<'_> {
    type Value = Scalar<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Scalar<'de>, D::Error> {
        let v = Scalar::deserialize(d)?;
        v.write_json(self.0);
        Ok(v)
    }
}

/// Generates the `Visitor` methods that read every non-object JSON value as
/// `Default::default()` (arrays are skipped), for readers lenient about a member's type.
macro_rules! non_objects_are_default {
    () => {
        fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> Result<Self::Value, A::Error> {
            while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
            Ok(Default::default())
        }
    };
}
pub(crate) use non_objects_are_default;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_times_addresses() {
        assert_eq!(parse_u64("0"), Some(0));
        assert_eq!(parse_u64("18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_u64("18446744073709551616"), None);
        assert_eq!(parse_u64("-1"), None);
        assert_eq!(parse_u16("65536"), None);
        assert_eq!(
            parse_secs_micros("1320279554.496300"),
            Some(1_320_279_554_496_300)
        );
        assert_eq!(parse_secs_micros("2.5"), Some(2_500_000));
        assert_eq!(parse_secs_micros("3.1234567"), Some(3_123_456));
        assert_eq!(parse_secs_micros("XXXXXXXXXX.XXXXXX"), None);
        assert_eq!(parse_secs_micros("1."), None);
        assert_eq!(
            f64_secs_micros(1547188415.857497),
            Some(1_547_188_415_857_497)
        );
        assert_eq!(parse_ip("10.0.0.1"), "10.0.0.1".parse().ok());
        assert_eq!(parse_ip("fe80::1"), "fe80::1".parse().ok());
        assert_eq!(parse_ip("010.0.0.1"), None);
        assert_eq!(parse_ip("host"), None);
        for ok in ["0", "-1", "1.5", "1e9", "0.25E-3"] {
            assert!(is_json_number(ok), "{ok}");
        }
        for bad in ["", "01", "1.", ".5", "+1", "1e", "T", "XXXX"] {
            assert!(!is_json_number(bad), "{bad}");
        }
    }

    #[test]
    fn ipv4_and_integer_parsers_match_std() {
        // Every string of up to 8 characters over a small alphabet, plus longer shapes.
        let alphabet = [b'0', b'1', b'2', b'5', b'9', b'.', b'x'];
        let mut cases: Vec<String> = vec![
            "255.255.255.255".into(),
            "256.1.1.1".into(),
            "1.2.3.4.".into(),
            ".1.2.3.4".into(),
            "1..2.3".into(),
            "01.2.3.4".into(),
            "1.2.3.04".into(),
            "0.0.0.0".into(),
            "100.200.250.199".into(),
            "1234.1.1.1".into(),
            "1.2.3.4 ".into(),
            "9999999999999999999".into(),
            "09".into(),
        ];
        let mut n = 0u64;
        while n < 7u64.pow(7) {
            let mut x = n;
            let mut t = String::new();
            loop {
                t.push(alphabet[(x % 7) as usize] as char);
                x /= 7;
                if x == 0 {
                    break;
                }
            }
            cases.push(format!("1.{t}"));
            cases.push(t);
            n += 1;
        }
        for c in &cases {
            assert_eq!(
                parse_ipv4(c.as_bytes()),
                c.parse::<Ipv4Addr>().ok(),
                "{c:?}"
            );
            if !c.starts_with('+') {
                assert_eq!(parse_u64(c), c.parse::<u64>().ok(), "{c:?}");
            }
        }
    }

    #[test]
    fn ipv4_parser_matches_std_on_random_and_mutated_addresses() {
        // Lengths 6-17, over the bytes that matter: digits at the octet limits, dots, and bytes
        // either side of '0'..='9' and above 0x7f.
        let mut rng = flowtrail_gen::Rng::new(11, 5);
        let alphabet: &[u8] = b"0123456789.../:x \x80\xff";
        let mut checked = 0;
        let mut valid = 0;
        let mut check = |c: &[u8]| {
            let want = std::str::from_utf8(c)
                .ok()
                .and_then(|s| s.parse::<Ipv4Addr>().ok());
            assert_eq!(parse_ipv4(c), want, "{:?}", String::from_utf8_lossy(c));
            checked += 1;
            valid += usize::from(want.is_some());
        };
        for _ in 0..200_000 {
            let len = 6 + rng.below(12) as usize;
            let c: Vec<u8> = (0..len)
                .map(|_| alphabet[rng.below(alphabet.len() as u64) as usize])
                .collect();
            check(&c);
        }
        // Addresses with 1-3 digit parts, then each with one byte replaced.
        for _ in 0..20_000 {
            let part = |rng: &mut flowtrail_gen::Rng| match rng.below(4) {
                0 => rng.below(10),
                1 => 10 + rng.below(90),
                2 => 100 + rng.below(156),
                _ => 250 + rng.below(10),
            };
            let a = format!(
                "{}.{}.{}.{}",
                part(&mut rng),
                part(&mut rng),
                part(&mut rng),
                part(&mut rng)
            );
            check(a.as_bytes());
            let mut m = a.clone().into_bytes();
            let at = rng.below(m.len() as u64) as usize;
            m[at] = alphabet[rng.below(alphabet.len() as u64) as usize];
            check(&m);
            check(format!("0{a}").as_bytes());
            check(format!("{a}0").as_bytes());
        }
        assert!(
            valid > 20_000,
            "only {valid} of {checked} cases were addresses"
        );
    }

    #[test]
    fn zoned_addresses_match_std() {
        // `parse_ip_zoned` replaced a `std`-parsing copy (zone cut, then `str::parse`).
        let std_zoned = |s: &str| -> Option<IpAddr> {
            let s = match s.find('%') {
                Some(cut) if s.contains(':') => s.get(..cut)?,
                _ => s,
            };
            s.parse().ok()
        };
        for s in [
            "",
            "1.2.3.4",
            "255.255.255.255",
            "256.1.1.1",
            "01.2.3.4",
            "0.0.0.0",
            "1.2.3",
            "1.2.3.4.5",
            "1..3.4",
            "1.2.3.4%eth0",
            "fe80::1%eth0",
            "fe80::1%",
            "::",
            "::ffff:1.2.3.4",
            "1.2.3.04",
            " 1.2.3.4",
            "1.2.3.4 ",
            "a.b.c.d",
            "-",
            "1.2.3.-4",
            "1.2.3.+4",
            "0001.2.3.4",
        ] {
            assert_eq!(parse_ip_zoned(s), std_zoned(s), "{s:?}");
        }
    }

    #[test]
    fn string_escapes() {
        let mut out = String::new();
        push_json_str(&mut out, "a\n\"\\\u{1}é");
        push_json_str_u(&mut out, "a\n\"\\\u{1}é");
        assert_eq!(out, r#""a\n\"\\\u0001é""a\u000a\"\\\u0001é""#);
    }

    #[test]
    fn transcoding_is_compact_json() {
        let mut out = String::new();
        let src = r#"{ "a" : [1, -2, 2.5, "x\"y", true, null, {}], "b": {"c": []} }"#;
        let mut de = serde_json::Deserializer::from_str(src);
        Transcode(&mut out).deserialize(&mut de).expect("valid");
        assert_eq!(out, r#"{"a":[1,-2,2.5,"x\"y",true,null,{}],"b":{"c":[]}}"#);
    }

    #[test]
    fn object_writer() {
        let mut buf = String::from("junk");
        let mut w = ObjWriter::new(&mut buf);
        w.str("a", "b\n");
        w.raw("n", "1");
        assert!(w.finish());
        assert_eq!(buf, r#"{"a":"b\n","n":1}"#);
        let w = ObjWriter::new(&mut buf);
        assert!(!w.finish());
    }
}
