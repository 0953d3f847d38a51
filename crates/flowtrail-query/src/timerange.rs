//! `--since` and `--until`: absolute or relative times.

use flowtrail_schema::time::{days_from_civil, format_rfc3339};

/// A half-open time range `[since, until)` in microseconds since the epoch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeRange {
    pub since: Option<i64>,
    pub until: Option<i64>,
}

impl TimeRange {
    /// Returns ` WHERE ...` restricting `time` and the `date` partition, or an empty string.
    pub fn where_clause(&self) -> String {
        let mut c = vec![];
        if let Some(s) = self.since {
            c.push(format!("time >= TIMESTAMP '{}'", format_rfc3339(s)));
            c.push(format!("date >= '{}'", &format_rfc3339(s)[..10]));
        }
        if let Some(u) = self.until {
            c.push(format!("time < TIMESTAMP '{}'", format_rfc3339(u)));
            c.push(format!("date <= '{}'", &format_rfc3339(u)[..10]));
        }
        if c.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", c.join(" AND "))
        }
    }
}

/// Parses a time: relative to `now` (`90s`, `30m`, `24h`, `7d`, `2w`: that long ago), an
/// RFC 3339 timestamp, a date `YYYY-MM-DD` (midnight UTC) or epoch seconds.
pub fn parse_time(s: &str, now_micros: i64) -> Result<i64, String> {
    let s = s.trim();
    let bad = || {
        format!("bad time `{s}`: use a duration ago (30m, 24h, 7d, 2w), a date (2024-05-01), RFC 3339 (2024-05-01T10:00:00Z) or epoch seconds")
    };
    if let Some(t) = flowtrail_formats_rfc3339(s) {
        return Ok(t);
    }
    if let Some(unit) = s.chars().last().filter(|c| c.is_ascii_alphabetic()) {
        let n: i64 = s[..s.len() - 1].parse().map_err(|_| bad())?;
        let secs = match unit {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return Err(bad()),
        };
        return Ok(now_micros - n.saturating_mul(secs).saturating_mul(1_000_000));
    }
    if s.len() == 10 && s.as_bytes().get(4) == Some(&b'-') {
        let y: i64 = s[0..4].parse().map_err(|_| bad())?;
        let m: u32 = s[5..7].parse().map_err(|_| bad())?;
        let d: u32 = s[8..10].parse().map_err(|_| bad())?;
        if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
            return Err(bad());
        }
        return Ok(days_from_civil(y, m, d) * 86_400_000_000);
    }
    if let Ok(n) = s.parse::<i64>() {
        return Ok(n.saturating_mul(1_000_000));
    }
    Err(bad())
}

/// RFC 3339 parsing (kept here so the query crate does not depend on the formats crate).
fn flowtrail_formats_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 19 {
        return None;
    }
    let n = |r: std::ops::Range<usize>| s.get(r).and_then(|x| x.parse::<i64>().ok());
    let (y, mo, d, h, mi, se) = (
        n(0..4)?,
        n(5..7)?,
        n(8..10)?,
        n(11..13)?,
        n(14..16)?,
        n(17..19)?,
    );
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let mut rest = &s[19..];
    let mut micros = 0i64;
    if let Some(r) = rest.strip_prefix('.') {
        let digits: String = r.chars().take_while(|c| c.is_ascii_digit()).collect();
        rest = &r[digits.len()..];
        let mut v: String = digits.chars().take(6).collect();
        while v.len() < 6 {
            v.push('0');
        }
        micros = v.parse().ok()?;
    }
    let off = match rest {
        "" | "Z" | "z" => 0,
        r if r.len() == 6 && (r.starts_with('+') || r.starts_with('-')) => {
            let sign = if r.starts_with('-') { -1 } else { 1 };
            sign * (r[1..3].parse::<i64>().ok()? * 3600 + r[4..6].parse::<i64>().ok()? * 60)
        }
        _ => return None,
    };
    let secs = days_from_civil(y, mo as u32, d as u32) * 86_400 + h * 3600 + mi * 60 + se - off;
    Some(secs * 1_000_000 + micros)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_times() {
        let now = 1_700_000_000_000_000;
        assert_eq!(parse_time("24h", now), Ok(now - 86_400_000_000));
        assert_eq!(parse_time("30m", now), Ok(now - 1_800_000_000));
        assert_eq!(parse_time("1970-01-02", now), Ok(86_400_000_000));
        assert_eq!(parse_time("1970-01-01T01:00:00Z", now), Ok(3_600_000_000));
        assert_eq!(parse_time("1970-01-01T01:00:00+01:00", now), Ok(0));
        assert_eq!(parse_time("60", now), Ok(60_000_000));
        assert!(parse_time("yesterday", now).is_err());
        assert!(parse_time("5y", now).is_err());
    }

    #[test]
    fn where_clause_prunes_partitions() {
        let r = TimeRange {
            since: Some(0),
            until: Some(86_400_000_000),
        };
        let w = r.where_clause();
        assert!(w.contains("time >= TIMESTAMP '1970-01-01T00:00:00Z'"));
        assert!(w.contains("date <= '1970-01-02'"));
    }
}
