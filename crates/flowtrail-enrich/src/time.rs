//! Timestamp parsing for feeds and context files.

use flowtrail_schema::time::days_from_civil;
use flowtrail_schema::Micros;

/// Parses a timestamp into microseconds since the epoch (UTC). Accepted forms:
///
/// * RFC 3339 / ISO 8601: `2024-01-02T03:04:05Z`, `2024-01-02 03:04:05` (no zone: UTC),
///   fractions up to nanoseconds (truncated to µs), `+02:00` / `+0200` / `Z` / ` UTC` zones;
/// * a date alone (`2024-01-02`, midnight UTC);
/// * epoch numbers: seconds (optionally with a fraction), milliseconds or microseconds, told
///   apart by magnitude (below 10^11: seconds; below 10^14: milliseconds; else microseconds).
///
/// Returns `None` for anything else, including impossible dates (`2024-02-30`).
pub fn parse_timestamp(s: &str) -> Option<Micros> {
    let s = s.trim();
    let b = s.as_bytes();
    if b.is_empty() {
        return None;
    }
    if b.len() >= 10 && b.get(4) == Some(&b'-') && b.get(7) == Some(&b'-') {
        return parse_iso(b);
    }
    parse_epoch(s)
}

fn parse_epoch(s: &str) -> Option<Micros> {
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (s, None),
    };
    let (neg, digits) = match int.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, int),
    };
    if digits.is_empty() || digits.len() > 18 || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let v: i64 = digits.parse().ok()?;
    let micros = if let Some(f) = frac {
        if f.is_empty() || !f.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        v.checked_mul(1_000_000)?
            .checked_add(frac_micros(f.as_bytes()))?
    } else if v < 100_000_000_000 {
        v.checked_mul(1_000_000)?
    } else if v < 100_000_000_000_000 {
        v.checked_mul(1_000)?
    } else {
        v
    };
    Some(if neg { -micros } else { micros })
}

/// The first six digits of a fraction as microseconds (`"5"` -> 500000).
fn frac_micros(f: &[u8]) -> i64 {
    let mut v = 0i64;
    for i in 0..6 {
        v = v * 10 + f.get(i).map_or(0, |d| i64::from(d - b'0'));
    }
    v
}

fn num(b: &[u8], at: usize, n: usize) -> Option<u32> {
    let d = b.get(at..at + n)?;
    let mut v = 0u32;
    for &c in d {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u32::from(c - b'0');
    }
    Some(v)
}

fn parse_iso(b: &[u8]) -> Option<Micros> {
    let y = num(b, 0, 4)?;
    let mo = num(b, 5, 2)?;
    let d = num(b, 8, 2)?;
    if !(1..=12).contains(&mo) || d == 0 || d > days_in_month(y, mo) {
        return None;
    }
    let days = days_from_civil(i64::from(y), mo, d);
    let mut secs = days * 86_400;
    let mut micros = 0i64;
    let mut i = 10;
    if i < b.len() {
        if !matches!(b[i], b'T' | b't' | b' ') {
            return None;
        }
        i += 1;
        let h = num(b, i, 2)?;
        if b.get(i + 2) != Some(&b':') {
            return None;
        }
        let mi = num(b, i + 3, 2)?;
        i += 5;
        let mut sec = 0;
        if b.get(i) == Some(&b':') {
            sec = num(b, i + 1, 2)?;
            i += 3;
            if b.get(i) == Some(&b'.') || b.get(i) == Some(&b',') {
                let start = i + 1;
                let mut end = start;
                while b.get(end).is_some_and(u8::is_ascii_digit) {
                    end += 1;
                }
                if end == start {
                    return None;
                }
                micros = frac_micros(&b[start..end]);
                i = end;
            }
        }
        if h > 23 || mi > 59 || sec > 60 {
            return None;
        }
        secs += i64::from(h * 3600 + mi * 60 + sec);
        // Zone.
        let rest = &b[i..];
        let offset = match rest {
            [] | [b'Z'] | [b'z'] | b" UTC" | b" Z" | b" GMT" => 0,
            [sign @ (b'+' | b'-'), tail @ ..] => {
                let (oh, om) = match tail.len() {
                    5 if tail[2] == b':' => (num(tail, 0, 2)?, num(tail, 3, 2)?),
                    4 => (num(tail, 0, 2)?, num(tail, 2, 2)?),
                    2 => (num(tail, 0, 2)?, 0),
                    _ => return None,
                };
                if oh > 23 || om > 59 {
                    return None;
                }
                let o = i64::from(oh * 3600 + om * 60);
                if *sign == b'+' {
                    o
                } else {
                    -o
                }
            }
            _ => return None,
        };
        secs -= offset;
    }
    secs.checked_mul(1_000_000)?.checked_add(micros)
}

fn days_in_month(y: u32, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400) => 29,
        _ => 28,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::parse_timestamp as p;

    #[test]
    fn forms() {
        assert_eq!(p("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(p("2020-02-18T02:43:46.000Z"), Some(1_581_993_826_000_000));
        assert_eq!(
            p("2014-05-08T09:00:00.000000Z"),
            Some(1_399_539_600_000_000)
        );
        assert_eq!(p("2024-07-16 06:45:19"), p("2024-07-16T06:45:19Z"));
        assert_eq!(p("2026-08-18T15:55:12+00:00"), p("2026-08-18T15:55:12Z"));
        assert_eq!(p("2024-01-01T02:00:00+02:00"), p("2024-01-01T00:00:00Z"));
        assert_eq!(p("2024-01-01T00:00:00-0130"), p("2024-01-01T01:30:00Z"));
        assert_eq!(p("2024-04-04"), p("2024-04-04T00:00:00Z"));
        assert_eq!(
            p("2024-01-15T12:30:45.123456Z"),
            Some(p("2024-01-15T12:30:45Z").unwrap() + 123_456)
        );
        assert_eq!(p("1510922092"), Some(1_510_922_092_000_000));
        assert_eq!(p("1510922092123"), Some(1_510_922_092_123_000));
        assert_eq!(p("1510922092123456"), Some(1_510_922_092_123_456));
        assert_eq!(p("1510922092.5"), Some(1_510_922_092_500_000));
        for bad in [
            "",
            "abc",
            "2024-02-30",
            "2023-02-29T00:00:00Z",
            "2024-13-01",
            "2024-01-15T25:00:00Z",
            "2024-01-15T12:30:45X",
            "2024/01/15",
            "12.",
            "1e9",
        ] {
            assert_eq!(p(bad), None, "{bad}");
        }
        assert!(p("2024-02-29T12:00:00Z").is_some());
    }
}
