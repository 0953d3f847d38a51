//! Microsoft IIS logs in the W3C Extended Log File Format (also written by HTTP.sys, IIS
//! Advanced Logging and some CDNs and caches).
//!
//! ```text
//! #Software: Microsoft Internet Information Services 10.0
//! #Version: 1.0
//! #Date: 2024-01-31 00:00:01
//! #Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken
//! 2024-01-31 00:00:01 10.0.0.5 GET /index.aspx id=3 443 - 198.51.100.7 Mozilla/5.0+(Windows+NT+10.0) - 200 0 0 15
//! ```
//!
//! * **Directives**: `#Fields:` sets the column layout, by name; a later `#Fields:` (IIS writes
//!   the header again after a restart or a configuration change, mid-file) replaces it. `#Date:`
//!   gives the date for layouts without a `date` column (`2002-05-02 17:42:15`, or
//!   `28/Jun/2017 07:28:59`). Other directives (`#Software`, `#Version`, `#Start-Date`,
//!   `#GMT-Offset`, `#Remark`), comments after them, and blank lines are not records.
//! * **Values** are separated by runs of spaces (tabs too). A field with no value is `-`.
//!   IIS writes the spaces of a value as `+`: they are turned back into spaces in
//!   `cs(User-Agent)` only — in URLs, queries and cookies a `+` is also a literal character and
//!   stays as logged. Quoted values (IIS Advanced Logging, Incapsula) are unquoted, `""` inside
//!   them being one quote.
//! * **Times**: `date` and `time` are UTC. `date-local`/`time-local` (Advanced Logging) are
//!   local: the configured UTC offset applies. The time is the one logged (IIS writes the line
//!   when the request completes); `time-taken` is kept in `duration_ms`.
//!
//! ## Lines without a `#Fields` directive
//!
//! Collected and shipped logs often lose their header. IIS always writes the fields it logs in
//! one fixed order (the order of its field list, custom fields last), so a headerless line is
//! read as follows:
//!
//! 1. With 15 values that fit it, the **IIS default field set**: `date time s-ip cs-method
//!    cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status
//!    sc-substatus sc-win32-status time-taken`.
//! 2. Otherwise the values are matched, in order, against IIS's full field order (`date time
//!    s-sitename s-computername s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip
//!    cs-version cs(User-Agent) cs(Cookie) cs(Referer) cs-host sc-status sc-substatus
//!    sc-win32-status sc-bytes cs-bytes time-taken`, then custom fields): each value must fit
//!    its field's shape (a date, an address, a method, a path, a three-digit status, a number, a
//!    Referer with a scheme or a path, a host name without `/`...), and among the matchings the
//!    one closest to the default field set wins (each field outside the default set and each
//!    default field left out costs two, each trailing custom value three, so a known field
//!    beats a custom one). `date`, `time`, `cs-method` and `sc-status` must be present. Custom
//!    values go to `extra.unnamed`.
//!
//! The same matching is used when a line's value count differs from its `#Fields` (lnav has a
//! file whose rows carry more values than their header); when it fails too, the line is
//! rejected with both counts.
//!
//! ## Field mapping
//!
//! | W3C field | column |
//! |---|---|
//! | `date` + `time` (or `date-local` + `time-local`) | `time` |
//! | `c-ip` | `client_ip` (an IPv6 zone `%3` is dropped); not an address → `extra` |
//! | `s-ip`, `s-port` | `server_ip`, `server_port` |
//! | `cs-method` | `method` |
//! | `cs-uri-stem`, `cs-uri-query` | `path`, `query`; `url` is `stem?query` (or `cs-uri` when logged: host, path and query are then taken from it) |
//! | `cs-host`, `cs(Host)` | `host`, `domain` |
//! | `cs-username`, `c-auth-id` | `user` |
//! | `cs(User-Agent)`, `cs(Referer)` (`cs(Referrer)`) | `user_agent`, `referrer` |
//! | `sc-status` | `status`; `sc-substatus`, `sc-win32-status` → `extra` |
//! | `sc-bytes` (`bytes`), `cs-bytes` | `bytes_in`, `bytes_out` (headers included) |
//! | `time-taken` (`TimeTakenMS`) | `duration_ms` |
//! | `s-computername` | `device`; `s-sitename` → `extra.site_name` |
//! | `cs-version` | `extra.http_version` |
//! | every other field, e.g. `cs(Cookie)`, `X-Forwarded-For` | `extra`, under its W3C name |
//!
//! `action` stays `None`.
//!
//! ## The older IIS log file format
//!
//! Before any `#Fields` directive, a line of IIS's older comma-separated format (`client, user,
//! M/D/Y, time, service, server, server-ip, time-taken, bytes-received, bytes-sent, status,
//! win32-status, method, target, parameters,`) is read too. Its date is month first and its
//! times are **local**: the configured UTC offset applies. The service goes to
//! `extra.site_name`, the server name to `device`, bytes received/sent to `bytes_out`/`bytes_in`.
//!
//! ## References
//!
//! * Microsoft, *W3C Logging* and IIS *Customizing W3C extended logging* documentation.
//! * flowtrail's format research notes (`docs/formats.md` of the shared docs), section 9.3.

use std::borrow::Cow;

use flowtrail_schema::{HttpRecord, RecordSink};

use super::nginx::{
    civil_micros, clip, emit, is_placeholder, parse_ip, parse_status, parse_u16, parse_u64,
    push_json_str, Obj,
};
use super::url::{fill_http_host, fill_http_url};
use crate::{Confidence, DecodeContext, Decoder, Format, RecordKind};

/// Microsoft IIS W3C extended logs.
pub struct Iis;

impl Format for Iis {
    fn name(&self) -> &'static str {
        "iis"
    }

    fn description(&self) -> &'static str {
        "Microsoft IIS W3C extended logs (#Fields layouts, headerless default layout)"
    }

    fn record_kind(&self) -> RecordKind {
        RecordKind::Http
    }

    fn decoder(&self, ctx: &DecodeContext) -> Box<dyn Decoder> {
        Box::new(IisDecoder::new(ctx))
    }

    fn sniff(&self, prefix: &[u8]) -> Confidence {
        sniff(prefix)
    }
}

/// `#Software: Microsoft ...` or a `#Fields:` line with W3C names is certain; headerless lines
/// in the default layout are likely, in another IIS field order possible.
fn sniff(prefix: &[u8]) -> Confidence {
    let prefix = prefix.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(prefix);
    let mut lines: Vec<&[u8]> = prefix.split(|b| *b == b'\n').collect();
    if lines.len() > 1 && prefix.last() != Some(&b'\n') {
        lines.pop();
    }
    let (mut default_rows, mut other_rows, mut not_w3c) = (0, 0, 0);
    let mut spans = Vec::new();
    let mut scratch = String::new();
    let mut fields = Vec::new();
    for line in lines.into_iter().take(32) {
        let Ok(text) = std::str::from_utf8(line) else {
            return Confidence::No;
        };
        let t = text.trim();
        if t.is_empty() {
            continue;
        }
        if let Some(d) = t.strip_prefix('#') {
            if d.starts_with("Software: Microsoft") {
                return Confidence::Certain;
            }
            if let Some(f) = d.strip_prefix("Fields:") {
                let f = f.to_ascii_lowercase();
                return if f.contains("cs-method") || f.contains("c-ip") || f.contains("cs-uri") {
                    Confidence::Certain
                } else {
                    Confidence::No
                };
            }
            continue;
        }
        tokenize(t, &mut spans, &mut scratch);
        let val = |i: usize| spans.get(i).map_or("", |s| s.get(t, &scratch));
        if !infer(spans.len(), val, &mut fields) {
            not_w3c += 1;
        } else if fields.iter().copied().eq(default_fields()) {
            default_rows += 1;
        } else {
            other_rows += 1;
        }
    }
    // Headerless lines: most of them must fit IIS's field order.
    if default_rows + other_rows <= not_w3c {
        Confidence::No
    } else if default_rows > 0 {
        Confidence::Likely
    } else {
        Confidence::Maybe
    }
}

/// What a column feeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Date,
    Time,
    DateLocal,
    TimeLocal,
    ClientIp,
    ServerIp,
    ServerPort,
    Method,
    UriStem,
    UriQuery,
    Uri,
    Username,
    UserAgent,
    Referer,
    Host,
    Status,
    ScBytes,
    CsBytes,
    TimeTaken,
    ComputerName,
    /// Kept in `extra` under its W3C name.
    Extra,
    /// A value past the known fields of a headerless line: `extra.unnamed`.
    Unnamed,
}

const FIELD_SLOTS: usize = Field::Extra as usize;

/// W3C field names (compared case-insensitively) with a column.
const FIELD_NAMES: [(&str, Field); 26] = [
    ("date", Field::Date),
    ("time", Field::Time),
    ("date-local", Field::DateLocal),
    ("time-local", Field::TimeLocal),
    ("c-ip", Field::ClientIp),
    ("s-ip", Field::ServerIp),
    ("s-port", Field::ServerPort),
    ("cs-method", Field::Method),
    ("cs-uri-stem", Field::UriStem),
    ("cs-uri-query", Field::UriQuery),
    ("cs-uri", Field::Uri),
    ("cs-username", Field::Username),
    ("c-auth-id", Field::Username),
    ("cs(User-Agent)", Field::UserAgent),
    ("cs(Referer)", Field::Referer),
    ("cs(Referrer)", Field::Referer),
    ("cs-host", Field::Host),
    ("cs(Host)", Field::Host),
    ("sc-status", Field::Status),
    ("sc-bytes", Field::ScBytes),
    ("bytes", Field::ScBytes),
    ("cs-bytes", Field::CsBytes),
    ("time-taken", Field::TimeTaken),
    ("TimeTakenMS", Field::TimeTaken),
    ("s-computername", Field::ComputerName),
    ("-", Field::Extra),
];

impl Field {
    fn of(name: &str) -> Field {
        FIELD_NAMES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map_or(Field::Extra, |(_, f)| *f)
    }
}

/// The key a field kept in `extra` is written under: its W3C name, except for a few fields of
/// the standard set.
fn extra_key(name: &str) -> &str {
    const KEYS: [(&str, &str); 5] = [
        ("s-sitename", "site_name"),
        ("sc-substatus", "sc_substatus"),
        ("sc-win32-status", "sc_win32_status"),
        ("cs-version", "http_version"),
        ("cs(Cookie)", "cookie"),
    ];
    KEYS.iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map_or(name, |(_, k)| k)
}

/// The shape a value must have to be read as a field of a headerless line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Date,
    Time,
    SiteName,
    Word,
    Ip,
    Method,
    Stem,
    Any,
    /// Anything but a protocol version (`HTTP/1.1` is `cs-version`, never a user agent).
    Agent,
    Port,
    Version,
    Referer,
    HostName,
    Status,
    Num,
}

/// IIS's field order: (name, shape, in the default field set, must be present).
const IIS_ORDER: [(&str, Shape, bool, bool); 22] = [
    ("date", Shape::Date, true, true),
    ("time", Shape::Time, true, true),
    ("s-sitename", Shape::SiteName, false, false),
    ("s-computername", Shape::Word, false, false),
    ("s-ip", Shape::Ip, true, false),
    ("cs-method", Shape::Method, true, true),
    ("cs-uri-stem", Shape::Stem, true, false),
    ("cs-uri-query", Shape::Any, true, false),
    ("s-port", Shape::Port, true, false),
    ("cs-username", Shape::Any, true, false),
    ("c-ip", Shape::Ip, true, false),
    ("cs-version", Shape::Version, false, false),
    ("cs(User-Agent)", Shape::Agent, true, false),
    ("cs(Cookie)", Shape::Any, false, false),
    ("cs(Referer)", Shape::Referer, true, false),
    ("cs-host", Shape::HostName, false, false),
    ("sc-status", Shape::Status, true, true),
    ("sc-substatus", Shape::Num, true, false),
    ("sc-win32-status", Shape::Num, true, false),
    ("sc-bytes", Shape::Num, false, false),
    ("cs-bytes", Shape::Num, false, false),
    ("time-taken", Shape::Num, true, false),
];

/// The default field set: the entries of [`IIS_ORDER`] marked default.
fn default_fields() -> impl Iterator<Item = usize> {
    (0..IIS_ORDER.len()).filter(|i| IIS_ORDER.get(*i).is_some_and(|f| f.2))
}

fn is_date(v: &str) -> bool {
    let b = v.as_bytes();
    b.len() == 10
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            _ => c.is_ascii_digit(),
        })
}

fn is_time(v: &str) -> bool {
    let b = v.as_bytes();
    b.len() >= 8
        && b.iter().take(8).enumerate().all(|(i, c)| match i {
            2 | 5 => *c == b':',
            _ => c.is_ascii_digit(),
        })
        && (b.len() == 8
            || (b.get(8) == Some(&b'.') && b.len() > 9 && b.iter().skip(9).all(u8::is_ascii_digit)))
}

fn fits(v: &str, shape: Shape) -> bool {
    let dash = v == "-";
    match shape {
        Shape::Date => is_date(v),
        Shape::Time => is_time(v),
        Shape::SiteName => {
            dash || v.get(..5).is_some_and(|p| p.eq_ignore_ascii_case("w3svc"))
                && v.bytes().skip(5).all(|c| c.is_ascii_digit())
        }
        // A computer name; `W3SVC<n>` is a site name.
        Shape::Word => {
            dash || (!v.contains('/')
                && (v.len() <= 5 || !fits(v, Shape::SiteName))
                && parse_ip(v).is_none()
                && v.bytes().any(|c| c.is_ascii_alphabetic())
                && v.bytes()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.')))
        }
        Shape::Ip => dash || parse_ip(v).is_some(),
        Shape::Method => {
            v.as_bytes().first().is_some_and(u8::is_ascii_uppercase)
                && v.bytes()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'-' || c == b'_')
        }
        Shape::Stem => v.starts_with('/'),
        Shape::Any => !v.is_empty(),
        Shape::Agent => !v.is_empty() && (!v.starts_with("HTTP/") || v.len() > 8),
        Shape::Port => parse_u16(v).is_some(),
        Shape::Version => dash || v.starts_with("HTTP/"),
        Shape::Referer => dash || v.contains(':') || v.starts_with('/'),
        Shape::HostName => {
            dash || (!v.contains('/')
                && v.bytes().all(|c| {
                    c.is_ascii_alphanumeric()
                        || matches!(c, b'-' | b'_' | b'.' | b':' | b'[' | b']')
                }))
        }
        Shape::Status => v.len() == 3 && parse_u64(v).is_some(),
        // IIS always writes its numeric fields; a `-` there is another field.
        Shape::Num => parse_u64(v).is_some(),
    }
}

/// Whether every value fits the field it is assigned to by `layout` (indices into
/// [`IIS_ORDER`], `usize::MAX` for a custom value).
fn layout_fits<'v>(n: usize, val: &impl Fn(usize) -> &'v str, layout: &[usize]) -> bool {
    layout.len() == n
        && layout
            .iter()
            .enumerate()
            .all(|(i, k)| IIS_ORDER.get(*k).is_none_or(|f| fits(val(i), f.1)))
}

/// Matches headerless values against IIS's field order (see the module docs); on success
/// `out` holds, per value, the index in [`IIS_ORDER`] or `usize::MAX` for a custom value.
fn infer<'v>(n: usize, val: impl Fn(usize) -> &'v str, out: &mut Vec<usize>) -> bool {
    const BIG: u32 = 1000;
    const M: usize = IIS_ORDER.len();
    const MAX_VALUES: usize = 64;
    if n == 0 || n > MAX_VALUES {
        return false;
    }
    if n == 15
        && default_fields()
            .enumerate()
            .all(|(i, k)| IIS_ORDER.get(k).is_some_and(|f| fits(val(i), f.1)))
    {
        out.clear();
        out.extend(default_fields());
        return true;
    }
    // cost[i][j]: best cost of reading values[..i] as fields[..j]; used[i][j]: whether the last
    // step read value i-1 as field j-1 (else field j-1 was left out).
    let mut cost = [[u32::MAX; M + 1]; MAX_VALUES + 1];
    let mut used = [[false; M + 1]; MAX_VALUES + 1];
    cost[0][0] = 0;
    for i in 0..=n {
        for j in 0..M {
            let here = cost[i][j];
            if here == u32::MAX {
                continue;
            }
            let (_, shape, default, required) = IIS_ORDER[j];
            let skip = here
                + if required {
                    BIG
                } else {
                    2 * u32::from(default)
                };
            if skip < cost[i][j + 1] {
                cost[i][j + 1] = skip;
                used[i][j + 1] = false;
            }
            if i < n && fits(val(i), shape) {
                let take = here + 2 * u32::from(!default);
                if take < cost[i + 1][j + 1] {
                    cost[i + 1][j + 1] = take;
                    used[i + 1][j + 1] = true;
                }
            }
        }
    }
    // Values after the last field are custom fields: they cost a little more than a field
    // outside the default set, so known fields are preferred on a tie.
    let mut best: Option<(u32, usize)> = None;
    for (i, row) in cost.iter().enumerate().take(n + 1) {
        if row[M] == u32::MAX {
            continue;
        }
        let total = row[M] + 3 * (n - i) as u32;
        if best.is_none_or(|(b, _)| total < b) {
            best = Some((total, i));
        }
    }
    let Some((total, consumed)) = best else {
        return false;
    };
    if total >= BIG {
        return false;
    }
    out.clear();
    out.resize(n, usize::MAX);
    let (mut i, mut j) = (consumed, M);
    while j > 0 {
        if used[i][j] {
            out[i - 1] = j - 1;
            i -= 1;
        }
        j -= 1;
    }
    i == 0
}

/// A value of the current line: a range of the line, or of the decoder's scratch buffer.
#[derive(Debug, Clone, Copy)]
struct Span {
    start: usize,
    end: usize,
    scratch: bool,
}

impl Span {
    fn get<'a>(&self, line: &'a str, scratch: &'a str) -> &'a str {
        let src = if self.scratch { scratch } else { line };
        src.get(self.start..self.end).unwrap_or("")
    }
}

/// Splits a data line on runs of blanks; quoted values are unquoted (`""` → `"`, into
/// `scratch`).
fn tokenize(line: &str, spans: &mut Vec<Span>, scratch: &mut String) {
    spans.clear();
    scratch.clear();
    let b = line.as_bytes();
    let mut i = 0;
    loop {
        while b.get(i).is_some_and(|c| *c == b' ' || *c == b'\t') {
            i += 1;
        }
        let Some(&c) = b.get(i) else {
            break;
        };
        if c == b'"' {
            // Find the closing quote; `""` is an escaped quote.
            let start = i + 1;
            let mut j = start;
            let mut doubled = false;
            let end = loop {
                match b.get(j) {
                    None => break b.len(),
                    Some(b'"') if b.get(j + 1) == Some(&b'"') => {
                        doubled = true;
                        j += 2;
                    }
                    Some(b'"') => break j,
                    Some(_) => j += 1,
                }
            };
            let raw = line.get(start..end).unwrap_or("");
            if doubled {
                let s0 = scratch.len();
                scratch.push_str(&raw.replace("\"\"", "\""));
                spans.push(Span {
                    start: s0,
                    end: scratch.len(),
                    scratch: true,
                });
            } else {
                spans.push(Span {
                    start,
                    end,
                    scratch: false,
                });
            }
            i = end + 1;
        } else {
            let start = i;
            while b.get(i).is_some_and(|c| *c != b' ' && *c != b'\t') {
                i += 1;
            }
            spans.push(Span {
                start,
                end: i,
                scratch: false,
            });
        }
    }
}

/// One `#Fields` layout.
#[derive(Debug, Clone)]
struct Layout {
    fields: Vec<Field>,
    names: Vec<String>,
}

impl Layout {
    fn parse(spec: &str) -> Layout {
        let names: Vec<String> = spec.split_whitespace().map(str::to_string).collect();
        Layout {
            fields: names.iter().map(|n| Field::of(n)).collect(),
            names,
        }
    }
}

/// Decodes one W3C log, keeping the current `#Fields` layout and `#Date`.
pub struct IisDecoder {
    offset_secs: i64,
    layout: Option<Layout>,
    /// The date of the `#Date` directive, for layouts without a date field.
    header_date: Option<(i64, u32, u32)>,
    spans: Vec<Span>,
    scratch: String,
    extra: String,
    /// The layout inferred for headerless lines: per value an index into [`IIS_ORDER`]
    /// (`usize::MAX` for a custom value), and its field.
    inferred: Vec<usize>,
    inferred_fields: Vec<Field>,
}

impl IisDecoder {
    fn new(ctx: &DecodeContext) -> IisDecoder {
        IisDecoder {
            offset_secs: i64::from(ctx.utc_offset_secs.unwrap_or(0)),
            layout: None,
            header_date: None,
            spans: Vec::new(),
            scratch: String::new(),
            extra: String::new(),
            inferred: Vec::new(),
            inferred_fields: Vec::new(),
        }
    }

    fn directive(&mut self, d: &str) {
        if let Some(spec) = d.strip_prefix("Fields:") {
            self.layout = Some(Layout::parse(spec));
        } else if let Some(date) = d.strip_prefix("Date:") {
            self.header_date = parse_header_date(date.trim());
        }
    }
}

/// `2002-05-02 17:42:15` or `28/Jun/2017 07:28:59` → the date.
fn parse_header_date(s: &str) -> Option<(i64, u32, u32)> {
    let d = s.get(..10)?;
    if is_date(d) {
        let y = parse_u64(d.get(0..4)?)?;
        let m = parse_u64(d.get(5..7)?)?;
        let day = parse_u64(d.get(8..10)?)?;
        return Some((
            i64::try_from(y).ok()?,
            u32::try_from(m).ok()?,
            u32::try_from(day).ok()?,
        ));
    }
    let micros = super::nginx::parse_clf_time(&format!("{}:00:00:00", s.get(..11)?))?;
    let days = micros.div_euclid(86_400_000_000);
    Some(crate::time::civil_from_days(days))
}

fn parse_date(v: &str) -> Option<(i64, u32, u32)> {
    if !is_date(v) {
        return None;
    }
    let n = |a: usize, b: usize| v.get(a..b).and_then(parse_u64);
    Some((
        i64::try_from(n(0, 4)?).ok()?,
        u32::try_from(n(5, 7)?).ok()?,
        u32::try_from(n(8, 10)?).ok()?,
    ))
}

/// `HH:MM:SS[.fff]` → (h, m, s) and µs.
fn parse_time(v: &str) -> Option<((u32, u32, u32), i64)> {
    if !is_time(v) {
        return None;
    }
    let n = |a: usize, b: usize| {
        v.get(a..b)
            .and_then(parse_u64)
            .and_then(|x| u32::try_from(x).ok())
    };
    let mut micros = 0i64;
    if let Some(frac) = v.get(9..) {
        let fb = frac.as_bytes();
        for i in 0..6 {
            micros = micros * 10 + fb.get(i).map_or(0, |c| i64::from(c - b'0'));
        }
    }
    Some(((n(0, 2)?, n(3, 5)?, n(6, 8)?), micros))
}

/// Appends a value of the line (or of the scratch buffer itself) to the scratch buffer.
fn append(scratch: &mut String, line: &str, sp: Span) {
    if sp.scratch {
        let copy = sp.get(line, scratch).to_string();
        scratch.push_str(&copy);
    } else {
        scratch.push_str(sp.get(line, ""));
    }
}

impl Decoder for IisDecoder {
    fn decode(&mut self, unit: &[u8], line: u64, sink: &mut dyn RecordSink) {
        let text = String::from_utf8_lossy(unit);
        let s = text.trim();
        if s.is_empty() {
            return;
        }
        if let Some(d) = s.strip_prefix('#') {
            self.directive(d.trim_start());
            return;
        }
        if self.layout.is_none() && is_legacy(s) {
            return decode_legacy(&mut self.extra, self.offset_secs, s, unit, line, sink);
        }
        tokenize(s, &mut self.spans, &mut self.scratch);
        let n = self.spans.len();
        // The layout: the #Fields one when the count matches, else an inferred one (the one of
        // the previous line while lines fit it).
        let declared = self.layout.as_ref().is_some_and(|l| l.fields.len() == n);
        if !declared {
            let (spans, scratch) = (&self.spans, self.scratch.as_str());
            let val = |i: usize| spans.get(i).map_or("", |sp| sp.get(s, scratch));
            if layout_fits(n, &val, &self.inferred) {
                // Still the layout of the previous line.
            } else if infer(n, val, &mut self.inferred) {
                self.inferred_fields.clear();
                self.inferred_fields.extend(self.inferred.iter().map(|k| {
                    IIS_ORDER
                        .get(*k)
                        .map_or(Field::Unnamed, |(name, ..)| Field::of(name))
                }));
            } else {
                let reason = match &self.layout {
                    Some(l) => format!(
                        "{n} fields, #Fields declares {} (and they do not fit IIS's field order either)",
                        l.fields.len()
                    ),
                    None => format!(
                        "no #Fields directive, and the {n} fields do not fit IIS's field order"
                    ),
                };
                self.inferred.clear();
                return sink.reject(line, &reason, unit);
            }
        }
        let layout = self.layout.as_ref().filter(|_| declared);
        let inferred = &self.inferred;
        let inferred_fields = &self.inferred_fields;
        // Column i's name and field.
        let col = |i: usize| -> (&str, Field) {
            match layout {
                Some(l) => (
                    l.names.get(i).map_or("", String::as_str),
                    l.fields.get(i).copied().unwrap_or(Field::Extra),
                ),
                None => (
                    inferred
                        .get(i)
                        .and_then(|k| IIS_ORDER.get(*k))
                        .map_or("", |f| f.0),
                    inferred_fields.get(i).copied().unwrap_or(Field::Unnamed),
                ),
            }
        };
        let mut slots: [Option<usize>; FIELD_SLOTS] = [None; FIELD_SLOTS];
        for i in 0..n {
            if let Some(slot) = slots.get_mut(col(i).1 as usize) {
                slot.get_or_insert(i);
            }
        }
        let idx = |f: Field| slots.get(f as usize).copied().flatten();
        let span = |f: Field| idx(f).and_then(|i| self.spans.get(i)).copied();

        // Rewritten values go to the scratch buffer before anything borrows it.
        let mut ua_span = None;
        if let Some(sp) = span(Field::UserAgent) {
            let quoted = sp.scratch || s.as_bytes().get(sp.start.wrapping_sub(1)) == Some(&b'"');
            let v = sp.get(s, "");
            if !quoted && v.contains('+') {
                let start = self.scratch.len();
                self.scratch
                    .extend(v.chars().map(|c| if c == '+' { ' ' } else { c }));
                ua_span = Some(Span {
                    start,
                    end: self.scratch.len(),
                    scratch: true,
                });
            }
        }
        let base = span(Field::Uri).or(span(Field::UriStem));
        let query = span(Field::UriQuery);
        let mut url_span = None;
        if let (Some(b), Some(q)) = (base, query) {
            let (bv, qv) = (b.get(s, &self.scratch), q.get(s, &self.scratch));
            if !is_placeholder(bv) && !is_placeholder(qv) && !bv.contains('?') {
                let start = self.scratch.len();
                append(&mut self.scratch, s, b);
                self.scratch.push('?');
                append(&mut self.scratch, s, q);
                url_span = Some(Span {
                    start,
                    end: self.scratch.len(),
                    scratch: true,
                });
            }
        }

        let scratch = self.scratch.as_str();
        let val = |i: usize| self.spans.get(i).map_or("", |sp| sp.get(s, scratch));
        let field = |f: Field| idx(f).map(val).filter(|v| !is_placeholder(v));
        let bad = |name: &str, v: &str| format!("bad {name} {:?}", clip(v));

        let mut rec = HttpRecord {
            origin_line: line,
            ..HttpRecord::default()
        };
        // Time.
        let (date, time, offset) = match (field(Field::Date), field(Field::Time)) {
            (d, Some(t)) => (d, t, 0),
            (_, None) => match (field(Field::DateLocal), field(Field::TimeLocal)) {
                (d, Some(t)) => (d, t, self.offset_secs),
                _ => return sink.reject(line, "no time field", unit),
            },
        };
        let date =
            match date {
                Some(d) => match parse_date(d) {
                    Some(d) => d,
                    None => return sink.reject(line, &bad("date", d), unit),
                },
                None => match self.header_date {
                    Some(d) => d,
                    None => return sink.reject(
                        line,
                        "no date: the layout has no date field and no #Date directive came before",
                        unit,
                    ),
                },
            };
        let Some((clock, micros)) = parse_time(time) else {
            return sink.reject(line, &bad("time", time), unit);
        };
        rec.time = match civil_micros(date, clock, micros, offset) {
            Some(t) => t,
            None => return sink.reject(line, &bad("date/time", time), unit),
        };
        let mut w = Obj::new(&mut self.extra);
        // Addresses and host.
        if let Some(c) = field(Field::ClientIp) {
            match parse_ip(c) {
                Some(ip) => rec.client_ip = Some(ip),
                None => w.str("c-ip", c),
            }
        }
        if let Some(a) = field(Field::ServerIp) {
            match parse_ip(a) {
                Some(ip) => rec.server_ip = Some(ip),
                None => w.str("s-ip", a),
            }
        }
        if let Some(p) = field(Field::ServerPort) {
            match parse_u16(p) {
                Some(p) => rec.server_port = Some(p),
                None => return sink.reject(line, &bad("s-port", p), unit),
            }
        }
        if let Some(h) = field(Field::Host) {
            fill_http_host(&mut rec, h);
        }
        // Request: with cs-uri the URL model splits it; else stem and query are the columns.
        rec.method = field(Field::Method).map(Cow::Borrowed);
        let url = url_span.map(|sp| sp.get(s, scratch)).or_else(|| {
            base.map(|b| b.get(s, scratch))
                .filter(|b| !is_placeholder(b))
        });
        if let Some(u) = url {
            if field(Field::Uri).is_some() {
                fill_http_url(&mut rec, u);
            } else {
                rec.url = Some(Cow::Borrowed(u));
                rec.path = field(Field::UriStem).map(Cow::Borrowed);
            }
        }
        if rec.query.is_none() {
            rec.query = field(Field::UriQuery).map(Cow::Borrowed);
        }
        rec.user = field(Field::Username).map(Cow::Borrowed);
        rec.user_agent = ua_span
            .map(|sp| sp.get(s, scratch))
            .or_else(|| field(Field::UserAgent))
            .map(Cow::Borrowed);
        rec.referrer = field(Field::Referer).map(Cow::Borrowed);
        if let Some(v) = field(Field::Status) {
            match parse_status(v) {
                Some(st) => rec.status = Some(st),
                None => return sink.reject(line, &bad("sc-status", v), unit),
            }
        }
        for (f, name) in [
            (Field::ScBytes, "sc-bytes"),
            (Field::CsBytes, "cs-bytes"),
            (Field::TimeTaken, "time-taken"),
        ] {
            let Some(v) = field(f) else {
                continue;
            };
            let Some(n) = parse_u64(v) else {
                return sink.reject(line, &bad(name, v), unit);
            };
            match f {
                Field::ScBytes => rec.bytes_in = Some(n),
                Field::CsBytes => rec.bytes_out = Some(n),
                _ => rec.duration_ms = Some(n),
            }
        }
        rec.device = field(Field::ComputerName).map(Cow::Borrowed);
        // Everything else into extra, in column order.
        let mut unnamed_open = false;
        for i in 0..n {
            let (name, f) = col(i);
            let v = val(i);
            match f {
                Field::Extra if !is_placeholder(v) => {
                    let key = extra_key(name);
                    let v = if key == "http_version" {
                        v.strip_prefix("HTTP/").unwrap_or(v)
                    } else {
                        v
                    };
                    if matches!(key, "sc_substatus" | "sc_win32_status") && parse_u64(v).is_some() {
                        w.raw(key, v);
                    } else {
                        w.str(key, v);
                    }
                }
                Field::Unnamed => {
                    let out = if unnamed_open {
                        let out = w.buf();
                        out.push(',');
                        out
                    } else {
                        unnamed_open = true;
                        let out = w.key("unnamed");
                        out.push('[');
                        out
                    };
                    push_json_str(out, v);
                }
                // A second column of a kind already mapped (e.g. two host columns).
                Field::Extra => {}
                _ if idx(f) != Some(i) && !is_placeholder(v) => {
                    if unnamed_open {
                        w.buf().push(']');
                        unnamed_open = false;
                    }
                    w.str(name, v);
                }
                _ => {}
            }
        }
        if unnamed_open {
            w.buf().push(']');
        }
        let has_extra = w.finish();
        emit(rec, has_extra.then_some(self.extra.as_str()), sink);
    }
}

// ---------------------------------------------------------------------------------------------
// The older "IIS log file format" (comma-separated, fixed fields, local time)

/// `client, user, M/D/Y, time, service, server, server ip, time taken, bytes received, bytes
/// sent, status, win32 status, method, target, parameters,`
fn is_legacy(s: &str) -> bool {
    let mut f = s.split(',').map(str::trim);
    let (Some(_), Some(_), Some(date), Some(time)) = (f.next(), f.next(), f.next(), f.next())
    else {
        return false;
    };
    legacy_date(date).is_some() && is_time(time) && s.split(',').count() >= 15
}

/// `11/20/2023` or `11/20/23` (month first, as IIS writes it).
fn legacy_date(v: &str) -> Option<(i64, u32, u32)> {
    let mut p = v.split('/');
    let (m, d, y) = (p.next()?, p.next()?, p.next()?);
    if p.next().is_some() || m.len() > 2 || d.len() > 2 || !(y.len() == 2 || y.len() == 4) {
        return None;
    }
    let y = i64::try_from(parse_u64(y)?).ok()?;
    let y = if y < 100 { 2000 + y } else { y };
    Some((
        y,
        u32::try_from(parse_u64(m)?).ok()?,
        u32::try_from(parse_u64(d)?).ok()?,
    ))
}

fn decode_legacy(
    extra: &mut String,
    offset_secs: i64,
    s: &str,
    raw: &[u8],
    line: u64,
    sink: &mut dyn RecordSink,
) {
    let bad = |name: &str, v: &str| format!("bad {name} {:?}", clip(v));
    let mut f: [&str; 15] = [""; 15];
    for (slot, v) in f.iter_mut().zip(s.split(',')) {
        *slot = v.trim();
    }
    let [client, user, date, time, service, server, server_ip, taken, received, sent, status, win32, method, target, params] =
        f;
    let Some(t) = legacy_date(date)
        .zip(parse_time(time))
        .and_then(|(d, (clock, micros))| civil_micros(d, clock, micros, offset_secs))
    else {
        return sink.reject(line, &bad("date/time", &format!("{date} {time}")), raw);
    };
    let mut rec = HttpRecord {
        time: t,
        origin_line: line,
        client_ip: parse_ip(client),
        server_ip: parse_ip(server_ip),
        ..HttpRecord::default()
    };
    let num = |name: &str, v: &str| -> Result<Option<u64>, String> {
        if is_placeholder(v) {
            Ok(None)
        } else {
            parse_u64(v).map(Some).ok_or_else(|| bad(name, v))
        }
    };
    let parsed = (|| -> Result<(), String> {
        rec.duration_ms = num("time taken", taken)?;
        rec.bytes_out = num("bytes received", received)?;
        rec.bytes_in = num("bytes sent", sent)?;
        rec.status = match num("status", status)? {
            Some(v) => Some(u16::try_from(v).map_err(|_| bad("status", status))?),
            None => None,
        };
        Ok(())
    })();
    if let Err(reason) = parsed {
        return sink.reject(line, &reason, raw);
    }
    if !is_placeholder(user) {
        rec.user = Some(Cow::Borrowed(user));
    }
    if !is_placeholder(server) {
        rec.device = Some(Cow::Borrowed(server));
    }
    if !is_placeholder(method) {
        rec.method = Some(Cow::Borrowed(method));
    }
    if !is_placeholder(target) {
        rec.url = Some(Cow::Borrowed(target));
        rec.path = Some(Cow::Borrowed(target));
    }
    if !is_placeholder(params) {
        rec.query = Some(Cow::Borrowed(params));
    }
    let mut w = Obj::new(extra);
    if rec.client_ip.is_none() && !is_placeholder(client) {
        w.str("client_host", client);
    }
    if !is_placeholder(service) {
        w.str("site_name", service);
    }
    if parse_u64(win32).is_some() {
        w.raw("sc_win32_status", win32);
    }
    let has_extra = w.finish();
    emit(rec, has_extra.then_some(extra.as_str()), sink);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn infer_names(line: &str) -> Option<Vec<&'static str>> {
        let vals: Vec<&str> = line.split(' ').collect();
        let mut out = Vec::new();
        infer(vals.len(), |i| vals[i], &mut out).then(|| {
            out.iter()
                .map(|k| IIS_ORDER.get(*k).map_or("?", |f| f.0))
                .collect()
        })
    }

    #[test]
    fn headerless_layouts_are_inferred() {
        assert_eq!(
            infer_names("2018-01-01 08:09:10 127.0.0.1 GET / q=100 80 - 67.43.156.13 Mozilla/5.0+(X11) - 200 0 0 123"),
            Some(vec!["date", "time", "s-ip", "cs-method", "cs-uri-stem", "cs-uri-query", "s-port", "cs-username", "c-ip", "cs(User-Agent)", "cs(Referer)", "sc-status", "sc-substatus", "sc-win32-status", "time-taken"])
        );
        // A bare host name is not a Referer: it is cs-host.
        let got = infer_names("2021-11-28 00:00:04 W3SVC1 10.44.0.136 GET /cdgo S=1 443 - 192.0.2.1 HTTP/1.1 Chrome/2.12.1 - example.com 200 0 0 34018 303 46")
            .expect("fits");
        assert_eq!(got.get(2), Some(&"s-sitename"));
        assert_eq!(got.get(12), Some(&"cs(Referer)"));
        assert_eq!(got.get(13), Some(&"cs-host"));
        assert_eq!(got.get(17), Some(&"sc-bytes"));
        // A custom field after time-taken.
        let got = infer_names("2025-11-13 03:15:15 webserver-01 192.168.0.20 GET /x.aspx - 80 - 192.168.0.2 - - 200 0 0 15 -")
            .expect("fits");
        assert_eq!(got.get(2), Some(&"s-computername"));
        assert_eq!(got.get(15), Some(&"time-taken"));
        assert_eq!(got.get(16), Some(&"?"));
        assert_eq!(infer_names("not an iis line"), None);
        assert_eq!(infer_names("2018-01-01 08:09:10 GET"), None);
    }

    #[test]
    fn tokens_unquote() {
        let mut spans = Vec::new();
        let mut scratch = String::new();
        let line = r#"a  "b c" " ""x"" y "  -"#;
        tokenize(line, &mut spans, &mut scratch);
        let vals: Vec<&str> = spans.iter().map(|s| s.get(line, &scratch)).collect();
        assert_eq!(vals, ["a", "b c", " \"x\" y ", "-"]);
    }

    #[test]
    fn header_dates() {
        assert_eq!(parse_header_date("2002-05-02 17:42:15"), Some((2002, 5, 2)));
        assert_eq!(
            parse_header_date("28/Jun/2017 07:28:59"),
            Some((2017, 6, 28))
        );
        assert_eq!(parse_header_date("junk"), None);
    }
}
