//! Syslog headers: RFC 3164 (BSD), RFC 5424 (IETF), Cisco's variants, daemon-written files and
//! lines with no header at all.
//!
//! [`parse`] never fails: whatever it cannot read as a header is left in [`Header::message`].
//! It recognises, in order:
//!
//! 1. an RFC 6587 octet count (`123 <166>...`, syslog over TCP saved as is);
//! 2. a `<PRI>` (1–3 digits);
//! 3. RFC 5424: `1 TIMESTAMP HOST APP PROCID MSGID [SD]|- MSG` (the version digit after `<PRI>`;
//!    `-` is "absent" in every field; a UTF-8 BOM before `MSG` is dropped);
//! 4. otherwise an RFC 3164-style header, every part optional:
//!    * Cisco EMBLEM / IOS prefixes: a sequence number `123: ` and a clock mark `*` or `.`;
//!    * a timestamp: `Mmm dd hh:mm:ss`, `Mmm dd yyyy hh:mm:ss` (ASA `logging timestamp` with
//!      year), with or without fraction, day padded with a space or a zero, or RFC 3339
//!      (`2018-06-27T12:17:46Z`, ASA's RFC 5424 timestamp option and rsyslog's high-precision
//!      file format);
//!    * a time-zone abbreviation after the time (`EDT`, `UTC`...; see [`zone_offset`]);
//!    * a colon right after the time (`May  5 17:51:17: %ASA-...`, no host);
//!    * a host, ended by a space or a colon (`fw01 %ASA`, `dev01: %FTD`, `asa-fw-01 : %ASA`); a
//!      token holding `%`, `=`, `,`, `"` or `[` is never a host (it is the message: `%ASA-...`,
//!      FortiGate's `date=...`, PAN-OS's `1,2018/...`);
//!    * a tag `name[pid]: ` (`CiscoASA[999]: `, `sshd: `), stored as [`Header::app`];
//!    * a lone colon (`<34>:%ASA-...`).
//!
//! Files written by a syslog daemon start with the daemon's own RFC 3164 or RFC 3339 time and the
//! sender's host, which this reads the same way; the device's own header, when the daemon kept
//! it, stays in the message, where the vendor decoders look for their anchor anyway.
//!
//! # Times and the missing year
//!
//! A [`Timestamp`] keeps what the header said; [`Clock::resolve`] turns it into µs since the
//! epoch. Times with an offset (RFC 3339, or a known zone abbreviation) are absolute; others are
//! local time, converted with [`DecodeContext::utc_offset_secs`] (UTC when `None`).
//!
//! RFC 3164 times without a year get one from a reference:
//!
//! * with [`DecodeContext::reference_time`] (the file's modification time: after the last line
//!   was written), the year is the latest that puts the time **no more than one day after** the
//!   reference (the day absorbs clock skew and time zones). A file written on 2025-01-02 holding
//!   `Dec 31 23:59:59` gets 2024; `Jan  2 08:00:00` gets 2025.
//! * without it, the most recent time this clock resolved in the same input (a line with a year,
//!   or an RFC 3339 time) is the reference, and the year is the one that puts the time
//!   **nearest** to it (logs move forward a little at a time, across a new year too).
//! * with neither, the time cannot be placed: [`Clock::resolve`] fails with [`NO_YEAR`], and the
//!   decoder rejects the line. The wall clock is never used.
//!
//! Cisco's EMBLEM layout is documented only loosely; this follows the IOS form
//! (`<PRI>seq: *Mmm dd hh:mm:ss.mmm TZ: %FAC-...`), which ASA's `logging emblem` is said to use.

use crate::envelope::civil_micros;
use crate::time::civil_from_days;
use crate::DecodeContext;

/// The parts of a syslog header and the message after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Header<'a> {
    /// `<PRI>` value (facility × 8 + severity), when present.
    pub pri: Option<u16>,
    /// The header's timestamp, as written.
    pub time: Option<Timestamp>,
    /// The sending host (RFC 3164 HOSTNAME / RFC 5424 HOSTNAME), when present.
    pub host: Option<&'a str>,
    /// The tag or RFC 5424 APP-NAME (without `[pid]`), when present.
    pub app: Option<&'a str>,
    /// Everything after the header.
    pub message: &'a [u8],
}

/// A header timestamp as written: a civil time, with or without year and offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timestamp {
    pub year: Option<i32>,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
    pub micros: u32,
    /// Offset from UTC stated by the header (RFC 3339 offset or a known zone abbreviation).
    pub offset_secs: Option<i32>,
}

/// The reason [`Clock::resolve`] gives when a year cannot be inferred.
pub const NO_YEAR: &str = "syslog timestamp has no year and no reference time is known (the input has no modification time and no earlier line with a year)";

/// The reason given for an impossible date (`Feb 30`).
pub const BAD_DATE: &str = "syslog timestamp is not a valid date";

const DAY_MICROS: i64 = 86_400 * 1_000_000;

/// Turns header timestamps into µs since the epoch for one input (see the module docs).
#[derive(Debug, Clone, Default)]
pub struct Clock {
    default_offset_secs: i32,
    reference: Option<i64>,
    last: Option<i64>,
}

impl Clock {
    /// Builds a clock from the input's time zone and reference time.
    pub fn new(ctx: &DecodeContext) -> Clock {
        Clock {
            default_offset_secs: ctx.utc_offset_secs.unwrap_or(0),
            reference: ctx.reference_time,
            last: None,
        }
    }

    /// The configured offset for local times (0 = UTC).
    pub fn default_offset_secs(&self) -> i32 {
        self.default_offset_secs
    }

    /// Converts a local civil time to µs UTC, using `offset_secs` or else the configured offset.
    #[allow(clippy::too_many_arguments)]
    pub fn local(
        &self,
        year: i64,
        month: u32,
        day: u32,
        hour: u32,
        minute: u32,
        second: u32,
        micros: u32,
        offset_secs: Option<i32>,
    ) -> Option<i64> {
        let off = i64::from(offset_secs.unwrap_or(self.default_offset_secs));
        civil_micros(year, month, day, hour, minute, second, micros).map(|t| t - off * 1_000_000)
    }

    /// Remembers an absolute time seen in the input (a reference for later year-less times).
    pub fn observe(&mut self, micros: i64) {
        self.last = Some(micros);
    }

    /// Resolves a header timestamp to µs UTC, inferring a missing year (see the module docs).
    pub fn resolve(&mut self, ts: &Timestamp) -> Result<i64, &'static str> {
        let at = |year: i64| {
            self.local(
                year,
                u32::from(ts.month),
                u32::from(ts.day),
                u32::from(ts.hour),
                u32::from(ts.minute),
                u32::from(ts.second),
                ts.micros,
                ts.offset_secs,
            )
        };
        let t = if let Some(y) = ts.year {
            at(i64::from(y)).ok_or(BAD_DATE)?
        } else {
            let off = i64::from(ts.offset_secs.unwrap_or(self.default_offset_secs)) * 1_000_000;
            if let Some(r) = self.reference {
                let y0 = civil_from_days(r.saturating_add(off).div_euclid(DAY_MICROS)).0;
                // The latest year (up to 8 back, for February 29) not more than a day after r.
                ((y0 - 8)..=(y0 + 1))
                    .rev()
                    .filter_map(at)
                    .find(|t| *t <= r.saturating_add(DAY_MICROS))
                    .ok_or(BAD_DATE)?
            } else if let Some(r) = self.last {
                let y0 = civil_from_days(r.saturating_add(off).div_euclid(DAY_MICROS)).0;
                ((y0 - 4)..=(y0 + 1))
                    .filter_map(at)
                    .min_by_key(|t| t.abs_diff(r))
                    .ok_or(BAD_DATE)?
            } else {
                return Err(NO_YEAR);
            }
        };
        self.last = Some(t);
        Ok(t)
    }
}

/// Returns the UTC offset of a time-zone abbreviation that firewalls write after the time.
///
/// Only unambiguous abbreviations map to an offset; ambiguous ones (`IST`) are recognised as a
/// zone (`Some(None)`) and leave the configured offset in force.
pub fn zone_offset(abbr: &[u8]) -> Option<Option<i32>> {
    let h = |n: i32| Some(Some(n * 3600));
    match abbr {
        b"UTC" | b"GMT" | b"Z" | b"UT" | b"WET" => h(0),
        b"EST" => h(-5),
        b"EDT" => h(-4),
        b"CST" => h(-6),
        b"CDT" => h(-5),
        b"MST" => h(-7),
        b"MDT" => h(-6),
        b"PST" => h(-8),
        b"PDT" => h(-7),
        b"AKST" => h(-9),
        b"AKDT" => h(-8),
        b"HST" => h(-10),
        b"CET" | b"BST" | b"WEST" => h(1),
        b"CEST" | b"EET" => h(2),
        b"EEST" | b"MSK" => h(3),
        b"JST" | b"KST" => h(9),
        b"AEST" => h(10),
        b"AEDT" => h(11),
        b"NZST" => h(12),
        b"NZDT" => h(13),
        b"IST" | b"AST" | b"ADT" | b"SGT" | b"HKT" => Some(None),
        _ => None,
    }
}

/// A byte cursor that never panics.
struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }
    fn peek_at(&self, k: usize) -> Option<u8> {
        self.b.get(self.i + k).copied()
    }
    fn rest(&self) -> &'a [u8] {
        self.b.get(self.i..).unwrap_or_default()
    }
    fn skip_spaces(&mut self) {
        while self.peek() == Some(b' ') || self.peek() == Some(b'\t') {
            self.i += 1;
        }
    }
    /// Reads 1..=max ASCII digits as a number.
    fn digits(&mut self, max: usize) -> Option<u32> {
        let start = self.i;
        let mut v: u64 = 0;
        while let Some(c) = self.peek() {
            if !c.is_ascii_digit() || self.i - start >= max {
                break;
            }
            v = v.saturating_mul(10).saturating_add(u64::from(c - b'0'));
            self.i += 1;
        }
        if self.i > start {
            u32::try_from(v).ok()
        } else {
            None
        }
    }
    /// Reads exactly `n` digits.
    fn exact(&mut self, n: usize) -> Option<u32> {
        let start = self.i;
        let v = self.digits(n)?;
        (self.i - start == n).then_some(v)
    }
    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    /// Reads a token up to the next space (or the end).
    fn token(&mut self) -> &'a [u8] {
        let start = self.i;
        while let Some(c) = self.peek() {
            if c == b' ' {
                break;
            }
            self.i += 1;
        }
        self.b.get(start..self.i).unwrap_or_default()
    }
}

/// Splits a line into its syslog header parts and message (see the module docs).
pub fn parse(line: &[u8]) -> Header<'_> {
    let mut c = Cursor { b: line, i: 0 };
    c.skip_spaces();
    // RFC 6587 octet counting: `<len> <PRI>...`.
    let save = c.i;
    if !(c.digits(6).is_some() && c.eat(b' ') && c.peek() == Some(b'<')) {
        c.i = save;
    }
    let mut h = Header::default();
    if c.peek() == Some(b'<') {
        let save = c.i;
        c.i += 1;
        match c.digits(3) {
            Some(p) if c.eat(b'>') && p <= 191 => h.pri = u16::try_from(p).ok(),
            _ => c.i = save,
        }
    }
    if h.pri.is_some() && c.peek() == Some(b'1') && c.peek_at(1) == Some(b' ') {
        let save = c.i;
        c.i += 2;
        if rfc5424(&mut c, &mut h) {
            return h;
        }
        c.i = save;
        h.host = None;
        h.app = None;
        h.time = None;
    }
    // EMBLEM/IOS sequence number `123: ` (only when a time or a clock mark follows).
    let save = c.i;
    if c.digits(10).is_some() && c.eat(b':') && c.eat(b' ') {
        if !matches!(c.peek(), Some(b'*' | b'.' | b'A'..=b'Z' | b'0'..=b'9')) {
            c.i = save;
        }
    } else {
        c.i = save;
    }
    if matches!(c.peek(), Some(b'*' | b'.')) && c.peek_at(1).is_some_and(|b| b.is_ascii_uppercase())
    {
        c.i += 1;
    }
    let save = c.i;
    h.time = bsd_time(&mut c).or_else(|| {
        c.i = save;
        rfc3339_time(&mut c)
    });
    if h.time.is_none() {
        c.i = save;
    } else {
        // A zone abbreviation after the time.
        let save = c.i;
        c.skip_spaces();
        let start = c.i;
        while c.peek().is_some_and(|b| b.is_ascii_uppercase()) {
            c.i += 1;
        }
        let abbr = line.get(start..c.i).unwrap_or_default();
        match zone_offset(abbr) {
            Some(off) if matches!(c.peek(), None | Some(b' ' | b':')) && !abbr.is_empty() => {
                if let Some(t) = h.time.as_mut() {
                    if t.offset_secs.is_none() {
                        t.offset_secs = off;
                    }
                }
            }
            _ => c.i = save,
        }
        c.eat(b':');
        c.skip_spaces();
        if c.eat(b':') {
            c.skip_spaces();
        } else {
            host(&mut c, &mut h);
        }
    }
    if h.time.is_none() && c.eat(b':') {
        c.skip_spaces();
    }
    tag(&mut c, &mut h);
    h.message = c.rest();
    h
}

/// Reads the host after an RFC 3164 time, and the `:` or ` : ` after it.
fn host<'a>(c: &mut Cursor<'a>, h: &mut Header<'a>) {
    let start = c.i;
    while let Some(b) = c.peek() {
        if b == b' ' || b == b':' {
            break;
        }
        if !(b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_')) || c.i - start > 255 {
            c.i = start;
            return;
        }
        c.i += 1;
    }
    if c.i == start || c.peek().is_none() {
        c.i = start;
        return;
    }
    h.host =
        c.b.get(start..c.i)
            .and_then(|s| std::str::from_utf8(s).ok());
    c.eat(b':');
    c.skip_spaces();
    if c.peek() == Some(b':') && matches!(c.peek_at(1), None | Some(b' ')) {
        c.i += 1;
        c.skip_spaces();
    }
}

/// Reads a tag `name[pid]: ` at the cursor, if there is one.
fn tag<'a>(c: &mut Cursor<'a>, h: &mut Header<'a>) {
    let start = c.i;
    while c
        .peek()
        .is_some_and(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'/'))
    {
        c.i += 1;
    }
    let name_end = c.i;
    if name_end == start || name_end - start > 48 {
        c.i = start;
        return;
    }
    if c.eat(b'[') {
        while c.peek().is_some_and(|b| b.is_ascii_digit()) {
            c.i += 1;
        }
        if !c.eat(b']') {
            c.i = start;
            return;
        }
    }
    if c.eat(b':') && matches!(c.peek(), None | Some(b' ')) {
        h.app =
            c.b.get(start..name_end)
                .and_then(|s| std::str::from_utf8(s).ok());
        c.skip_spaces();
    } else {
        c.i = start;
    }
}

fn month(b: &[u8]) -> Option<u8> {
    const MONTHS: [&[u8; 3]; 12] = [
        b"jan", b"feb", b"mar", b"apr", b"may", b"jun", b"jul", b"aug", b"sep", b"oct", b"nov",
        b"dec",
    ];
    let lower = [
        b.first()?.to_ascii_lowercase(),
        b.get(1)?.to_ascii_lowercase(),
        b.get(2)?.to_ascii_lowercase(),
    ];
    MONTHS
        .iter()
        .position(|m| **m == lower)
        .and_then(|i| u8::try_from(i + 1).ok())
}

/// Reads `hh:mm:ss[.frac]` into the timestamp.
fn clock(c: &mut Cursor<'_>, ts: &mut Timestamp) -> Option<()> {
    let hour = c.digits(2)?;
    if !c.eat(b':') {
        return None;
    }
    let minute = c.exact(2)?;
    if !c.eat(b':') {
        return None;
    }
    let second = c.exact(2)?;
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    (ts.hour, ts.minute, ts.second) = (hour as u8, minute as u8, second as u8);
    if matches!(c.peek(), Some(b'.' | b',')) && c.peek_at(1).is_some_and(|b| b.is_ascii_digit()) {
        c.i += 1;
        let mut micros = 0u32;
        let mut n = 0;
        while let Some(d) = c.peek().filter(u8::is_ascii_digit) {
            if n < 6 {
                micros = micros * 10 + u32::from(d - b'0');
                n += 1;
            }
            c.i += 1;
        }
        for _ in n..6 {
            micros *= 10;
        }
        ts.micros = micros;
    }
    Some(())
}

/// Reads `Mmm dd [yyyy ]hh:mm:ss[.frac]`.
fn bsd_time(c: &mut Cursor<'_>) -> Option<Timestamp> {
    let m = month(c.rest())?;
    c.i += 3;
    if c.peek() != Some(b' ') {
        return None;
    }
    c.skip_spaces();
    let day = c.digits(2)?;
    if !(1..=31).contains(&day) || c.peek() != Some(b' ') {
        return None;
    }
    c.skip_spaces();
    let mut ts = Timestamp {
        year: None,
        month: m,
        day: day as u8,
        hour: 0,
        minute: 0,
        second: 0,
        micros: 0,
        offset_secs: None,
    };
    if c.peek_at(4) == Some(b' ') {
        let y = c.exact(4)?;
        ts.year = i32::try_from(y).ok();
        c.skip_spaces();
    }
    clock(c, &mut ts)?;
    Some(ts)
}

/// Reads an RFC 3339 time `yyyy-mm-dd(T| )hh:mm:ss[.frac][Z|±hh:mm|±hhmm]`.
fn rfc3339_time(c: &mut Cursor<'_>) -> Option<Timestamp> {
    let year = c.exact(4)?;
    let month = if c.eat(b'-') {
        c.exact(2)?
    } else {
        return None;
    };
    let day = if c.eat(b'-') {
        c.exact(2)?
    } else {
        return None;
    };
    if !(c.eat(b'T') || c.eat(b' ')) || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let mut ts = Timestamp {
        year: i32::try_from(year).ok(),
        month: month as u8,
        day: day as u8,
        hour: 0,
        minute: 0,
        second: 0,
        micros: 0,
        offset_secs: None,
    };
    clock(c, &mut ts)?;
    if c.eat(b'Z') || c.eat(b'z') {
        ts.offset_secs = Some(0);
    } else if matches!(c.peek(), Some(b'+' | b'-')) {
        let sign = if c.peek() == Some(b'-') { -1 } else { 1 };
        c.i += 1;
        let oh = c.exact(2)?;
        c.eat(b':');
        let om = c.exact(2)?;
        ts.offset_secs = Some(sign * (oh as i32 * 3600 + om as i32 * 60));
    }
    Some(ts)
}

/// Reads the RFC 5424 fields after `<PRI>1 `; false when the line does not fit.
fn rfc5424<'a>(c: &mut Cursor<'a>, h: &mut Header<'a>) -> bool {
    let nil_or = |t: &'a [u8]| -> Option<&'a str> {
        if t == b"-" || t.is_empty() {
            None
        } else {
            std::str::from_utf8(t).ok()
        }
    };
    if c.eat(b'-') {
        h.time = None;
    } else {
        match rfc3339_time(c) {
            Some(t) => h.time = Some(t),
            None => return false,
        }
    }
    if !c.eat(b' ') {
        return false;
    }
    h.host = nil_or(c.token());
    if !c.eat(b' ') {
        return false;
    }
    h.app = nil_or(c.token());
    if !c.eat(b' ') {
        return false;
    }
    let _procid = c.token();
    if !c.eat(b' ') {
        return false;
    }
    let _msgid = c.token();
    if !c.eat(b' ') {
        // No structured data and no message.
        h.message = c.rest();
        return c.peek().is_none();
    }
    // Structured data: `-` or `[id k="v" ...][...]`, values may hold `\]`, `\"`, spaces.
    if !c.eat(b'-') {
        while c.peek() == Some(b'[') {
            let mut in_quotes = false;
            loop {
                match c.peek() {
                    None => return false,
                    Some(b'\\') if in_quotes => c.i += 2,
                    Some(b'"') => {
                        in_quotes = !in_quotes;
                        c.i += 1;
                    }
                    Some(b']') if !in_quotes => {
                        c.i += 1;
                        break;
                    }
                    Some(_) => c.i += 1,
                }
            }
        }
    }
    c.eat(b' ');
    let msg = c.rest();
    h.message = msg.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(msg);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(y: Option<i32>, mo: u8, d: u8, h: u8, mi: u8, s: u8) -> Timestamp {
        Timestamp {
            year: y,
            month: mo,
            day: d,
            hour: h,
            minute: mi,
            second: s,
            micros: 0,
            offset_secs: None,
        }
    }

    fn parts(
        line: &str,
    ) -> (
        Option<u16>,
        Option<Timestamp>,
        Option<&str>,
        Option<&str>,
        &str,
    ) {
        let h = parse(line.as_bytes());
        (
            h.pri,
            h.time,
            h.host,
            h.app,
            std::str::from_utf8(h.message).expect("utf-8"),
        )
    }

    #[test]
    fn rfc3164_with_and_without_year_and_host() {
        let (pri, t, host, app, msg) = parts("<166>Jan  5 10:00:00 fw01 %ASA-6-302013: Built");
        assert_eq!(
            (pri, host, app, msg),
            (Some(166), Some("fw01"), None, "%ASA-6-302013: Built")
        );
        assert_eq!(t, Some(ts(None, 1, 5, 10, 0, 0)));
        let (_, t, host, _, msg) = parts("Jan 5 2024 10:00:00 fw01 : %ASA-6-1: x");
        assert_eq!(
            (t, host, msg),
            (
                Some(ts(Some(2024), 1, 5, 10, 0, 0)),
                Some("fw01"),
                "%ASA-6-1: x"
            )
        );
        let (_, _, host, _, msg) = parts("<188>May  5 17:51:17: %ASA-4-313005: No");
        assert_eq!((host, msg), (None, "%ASA-4-313005: No"));
        let (_, _, host, _, msg) = parts("May  5 17:51:17 dev01: %FTD-6-302013: Built");
        assert_eq!((host, msg), (Some("dev01"), "%FTD-6-302013: Built"));
        let (_, _, host, app, msg) =
            parts("Oct 10 2018 12:34:56 localhost CiscoASA[999]: %ASA-6-305011: Built");
        assert_eq!(
            (host, app, msg),
            (Some("localhost"), Some("CiscoASA"), "%ASA-6-305011: Built")
        );
        let (_, _, host, _, msg) = parts("Jul 15 13:38:08 81.2.69.142 %ASA-6-302015: Built");
        assert_eq!((host, msg), (Some("81.2.69.142"), "%ASA-6-302015: Built"));
        let (_, _, host, _, msg) = parts("Jan  5 10:00:00 %ASA-6-302013: Built");
        assert_eq!((host, msg), (None, "%ASA-6-302013: Built"));
    }

    #[test]
    fn vendor_payloads_are_not_hosts() {
        let (_, _, host, _, msg) = parts("Nov 30 16:09:08 PA-220 1,2018/11/30 16:09:07,0128");
        assert_eq!((host, msg), (Some("PA-220"), "1,2018/11/30 16:09:07,0128"));
        let (_, _, host, _, msg) = parts("Nov 30 16:09:08 1,2018/11/30 16:09:07,0128");
        assert_eq!((host, msg), (None, "1,2018/11/30 16:09:07,0128"));
        let (pri, t, host, _, msg) = parts("<189>date=2023-01-17 time=17:35:53 devname=\"x\"");
        assert_eq!(
            (pri, t, host, msg),
            (
                Some(189),
                None,
                None,
                "date=2023-01-17 time=17:35:53 devname=\"x\""
            )
        );
        let (_, _, host, _, msg) = parts("Dec  1 14:43:00 FW-appliance date=2021-12-01 time=1");
        assert_eq!(
            (host, msg),
            (Some("FW-appliance"), "date=2021-12-01 time=1")
        );
        let (_, _, _, _, msg) = parts(": 1,2023/08/01 04:03:24,0267");
        assert_eq!(msg, "1,2023/08/01 04:03:24,0267");
        let (_, _, _, _, msg) = parts(" time=15:22:43 devname=\"abc\"");
        assert_eq!(msg, "time=15:22:43 devname=\"abc\"");
    }

    #[test]
    fn rfc5424_and_rfc3339() {
        let (pri, t, host, app, msg) = parts(
            "<165>1 2024-01-05T10:00:00.123Z host app 12 ID47 [ex@32473 a=\"x\\]y\"][b c=\"d\"] msg here",
        );
        assert_eq!(
            (pri, host, app, msg),
            (Some(165), Some("host"), Some("app"), "msg here")
        );
        let t = t.expect("time");
        assert_eq!(
            (t.year, t.micros, t.offset_secs),
            (Some(2024), 123_000, Some(0))
        );
        let (_, t, host, app, msg) = parts("<14>1 - - - - - - \u{feff}1,2018/11/30");
        assert_eq!((t, host, app, msg), (None, None, None, "1,2018/11/30"));
        let (_, t, host, _, msg) = parts("<166>2018-06-27T12:17:46Z asa : %ASA-6-110002: Failed");
        assert_eq!((host, msg), (Some("asa"), "%ASA-6-110002: Failed"));
        assert_eq!(t.and_then(|t| t.offset_secs), Some(0));
        let (_, t, host, _, _) = parts("2024-01-05T10:00:00.123456+01:00 fw01 %ASA-6-1: x");
        let t = t.expect("time");
        assert_eq!(
            (t.micros, t.offset_secs, host),
            (123_456, Some(3600), Some("fw01"))
        );
    }

    #[test]
    fn cisco_variants() {
        let (_, t, host, _, msg) = parts("Apr 15 2014 09:34:34 EDT: %ASA-session-5-106100: x");
        assert_eq!((host, msg), (None, "%ASA-session-5-106100: x"));
        assert_eq!(t.and_then(|t| t.offset_secs), Some(-4 * 3600));
        let (pri, t, _, _, msg) = parts("<34>:%ASA-session-6-106100: x");
        assert_eq!((pri, t, msg), (Some(34), None, "%ASA-session-6-106100: x"));
        let (_, t, _, _, msg) = parts("<187>45: *Mar  1 00:09:13.867 UTC: %ASA-6-302013: Built");
        assert_eq!(msg, "%ASA-6-302013: Built");
        assert_eq!(
            t.map(|t| (t.month, t.micros, t.offset_secs)),
            Some((3, 867_000, Some(0)))
        );
        let (_, _, _, _, msg) = parts("27 <166>Jan  5 10:00:00 fw01 %ASA-6-1: x");
        assert_eq!(msg, "%ASA-6-1: x");
        let (_, t, host, _, msg) = parts("%ASA-6-302013: Built");
        assert_eq!((t, host, msg), (None, None, "%ASA-6-302013: Built"));
    }

    #[test]
    fn year_inference() {
        let mut c = Clock::new(&DecodeContext {
            reference_time: civil_micros(2025, 1, 2, 12, 0, 0, 0),
            ..DecodeContext::default()
        });
        assert_eq!(
            c.resolve(&ts(None, 12, 31, 23, 59, 59)),
            Ok(civil_micros(2024, 12, 31, 23, 59, 59, 0).unwrap_or_default())
        );
        assert_eq!(
            c.resolve(&ts(None, 1, 3, 8, 0, 0)),
            Ok(civil_micros(2025, 1, 3, 8, 0, 0, 0).unwrap_or_default())
        );
        assert_eq!(
            c.resolve(&ts(None, 1, 4, 8, 0, 0)),
            Ok(civil_micros(2024, 1, 4, 8, 0, 0, 0).unwrap_or_default())
        );
        assert_eq!(
            c.resolve(&ts(None, 2, 29, 0, 0, 0)),
            Ok(civil_micros(2024, 2, 29, 0, 0, 0, 0).unwrap_or_default())
        );
        // No reference: an earlier line with a year serves, nearest year wins.
        let mut c = Clock::new(&DecodeContext::default());
        assert_eq!(c.resolve(&ts(None, 1, 1, 0, 0, 0)), Err(NO_YEAR));
        assert!(c.resolve(&ts(Some(2023), 12, 31, 23, 0, 0)).is_ok());
        assert_eq!(
            c.resolve(&ts(None, 1, 1, 0, 30, 0)),
            Ok(civil_micros(2024, 1, 1, 0, 30, 0, 0).unwrap_or_default())
        );
        assert_eq!(
            c.resolve(&ts(None, 3, 10, 0, 0, 0)),
            Ok(civil_micros(2024, 3, 10, 0, 0, 0, 0).unwrap_or_default())
        );
        // Local time with a configured offset.
        let mut c = Clock::new(&DecodeContext {
            utc_offset_secs: Some(-8 * 3600),
            ..DecodeContext::default()
        });
        assert_eq!(
            c.resolve(&ts(Some(2024), 1, 1, 0, 0, 0)),
            Ok(civil_micros(2024, 1, 1, 8, 0, 0, 0).unwrap_or_default())
        );
    }

    #[test]
    fn garbage_never_panics() {
        for line in [
            "",
            "<",
            "<999>",
            "<1>1",
            "<1>1 ",
            "Jan",
            "Jan 5",
            "Jan 55 1",
            "1: *",
            "2024-01-0",
            "<1>1 2024-01-01T00:00:00Z h a p m [x",
            "\u{0}\u{ff}",
        ] {
            let _ = parse(line.as_bytes());
        }
    }
}
