//! Time parsing shared by decoders. All results are microseconds since the Unix epoch, UTC.

pub use flowtrail_schema::time::{civil_from_days, days_from_civil, format_rfc3339};

fn num(s: &[u8]) -> Option<u32> {
    if s.is_empty() || s.len() > 9 {
        return None;
    }
    let mut v: u32 = 0;
    for &c in s {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + (c - b'0') as u32;
    }
    Some(v)
}

/// Parses an RFC 3339 / ISO 8601 timestamp such as `2018-11-13T12:00:35.3899262Z` or
/// `2024-01-01 10:00:00+02:00`. A missing offset means UTC. Fractions beyond microseconds are
/// truncated.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.trim().as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !(b[10] == b'T' || b[10] == b' ') {
        return None;
    }
    let y = num(&b[0..4])? as i64;
    let mo = num(&b[5..7])?;
    let d = num(&b[8..10])?;
    let h = num(&b[11..13])?;
    let mi = num(&b[14..16])?;
    let se = num(&b[17..19])?;
    if b[13] != b':'
        || b[16] != b':'
        || !(1..=12).contains(&mo)
        || !(1..=31).contains(&d)
        || h > 23
        || mi > 59
        || se > 60
    {
        return None;
    }
    let mut i = 19;
    let mut micros: i64 = 0;
    if i < b.len() && (b[i] == b'.' || b[i] == b',') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            if i - start < 6 {
                micros = micros * 10 + (b[i] - b'0') as i64;
            }
            i += 1;
        }
        let digits = (i - start).min(6);
        if i == start {
            return None;
        }
        for _ in digits..6 {
            micros *= 10;
        }
    }
    let mut offset_secs: i64 = 0;
    if i < b.len() {
        match b[i] {
            b'Z' | b'z' if i + 1 == b.len() => {}
            b'+' | b'-' => {
                let sign = if b[i] == b'+' { 1 } else { -1 };
                let rest = &b[i + 1..];
                let (oh, om) = match rest.len() {
                    5 if rest[2] == b':' => (num(&rest[0..2])?, num(&rest[3..5])?),
                    4 => (num(&rest[0..2])?, num(&rest[2..4])?),
                    2 => (num(rest)?, 0),
                    _ => return None,
                };
                offset_secs = sign * (oh as i64 * 3600 + om as i64 * 60);
            }
            _ => return None,
        }
    }
    let days = days_from_civil(y, mo, d);
    let secs = days * 86400 + h as i64 * 3600 + mi as i64 * 60 + se as i64 - offset_secs;
    Some(secs * 1_000_000 + micros)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_variants() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339("2018-11-13T12:00:35.3899262Z"),
            Some(1_542_110_435_389_926)
        );
        assert_eq!(
            parse_rfc3339("2018-11-13T14:00:35+02:00"),
            Some(1_542_110_435_000_000)
        );
        assert_eq!(parse_rfc3339("2018-13-13T14:00:35Z"), None);
        assert_eq!(parse_rfc3339("garbage"), None);
    }
}
