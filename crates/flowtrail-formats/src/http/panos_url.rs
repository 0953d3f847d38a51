//! Palo Alto Networks PAN-OS URL Filtering logs: THREAT logs of subtype `url`, as CSV over
//! syslog (BSD or IETF header, or none) or as Strata Logging Service (Cortex Data Lake) JSON.
//!
//! One URL log per line. The decoder strips the syslog header (see
//! [`crate::envelope::syslog`]), splits the CSV (RFC 4180: quoted fields may hold commas, `""` is
//! a quote) and reads columns by position: PAN-OS appends columns across releases and never
//! reorders them, so 8.1 (76 columns), 9.1 (79), 10.x and 11.x (120+) layouts are all read the
//! same way, extra trailing columns are ignored and a missing later column leaves its field
//! empty. A record needs the 32 columns up to the URL.
//!
//! # What is stored
//!
//! * `THREAT` logs of subtype `url` become rows.
//! * `TRAFFIC` logs are skipped (`panos_url: TRAFFIC log (use --format panos)`): they are flows,
//!   read by the `panos` decoder. Other THREAT subtypes (virus, spyware, vulnerability, file,
//!   wildfire...) and other log types are skipped with a reason, as are the CEF renderings.
//!
//! # Field mapping (1-based CSV columns; Strata JSON key in parentheses)
//!
//! | column | PAN-OS field |
//! |---|---|
//! | `time` | 108 High Resolution Timestamp (`TimeGeneratedHighResolution`) when readable, else 7 Generated Time (`TimeGenerated`), else 2 Receive Time |
//! | `client_ip` | 8 Source Address (`SourceAddress`): the connection's initiator, pre-NAT |
//! | `server_ip`, `server_port` | 9 Destination Address, 26 Destination Port |
//! | `url`, `host`, `domain`, `path`, `query` | 32 URL/Filename (`URL`), logged without a scheme (`consent.cmp.oath.com/`, `test.fr:9999/`); under TLS without decryption it is the SNI host plus `/` |
//! | `scheme` | not logged; inferred as `https` when the application is `ssl` or the session was decrypted (flag `0x01000000`), `http` for `web-browsing` without decryption, otherwise none |
//! | `method` | 64 HTTP Method (`HTTPMethod`), upper-cased; `unknown` is none |
//! | `user_agent`, `referrer`, `content_type` | 47 User Agent, 50 Referer, 42 Content Type (filled only for plain or decrypted HTTP) |
//! | `user` | 13 Source User (`SourceUser`), except when flag `0x00080000` says the column holds an X-Forwarded-For value (then kept as `src_user` in `extra`) |
//! | `device` | 60 Device Name (`DeviceName`), else the syslog host |
//! | `action` | 31 Action: `alert`, `allow`, `continue`, `override` → allowed; `block-url`, `block-continue`, `block-override`, `override-lockout`, `deny`, `drop*`, `reset-*`, `block` → denied |
//! | `extra` | `serial` (3), `rule` (12), `rule_uuid` (77), `category` (34), `url_category_list` (76), `app` (15), `vsys` (16), `src_zone`/`dst_zone` (17/18), `in_interface`/`out_interface` (19/20), `session_id` (23), `repeat_count` (24, when > 1), `src_port` (25), `nat_src_ip`/`nat_dst_ip` (10/11, unless none), `nat_src_port`/`nat_dst_port` (27/28, unless 0), `action` (31, as logged), `sequence_number` (37), `url_index` (46), `xff` (49), `xff_ip` (80), `dst_user` (14), `http_headers` (75), `reason`/`justification` (109/110). Strata JSON keeps its other non-null keys under their own names |
//!
//! No byte counts, status or duration: URL logs carry none.
//!
//! # Time
//!
//! PAN-OS CSV times are device-local without an offset, except the High Resolution Timestamp
//! (10.0+), which carries the device's offset; when it is readable its offset applies to the
//! other columns too, otherwise [`DecodeContext::utc_offset_secs`] does (UTC by default). Dates
//! are `YYYY/MM/DD HH:MM:SS` or `M/D/YY H:MM[:SS]`. Strata JSON times are UTC ISO 8601.
//!
//! ## Sample (PAN-OS 8.1 layout, from Palo Alto's public sample as copied into Elastic's tests)
//!
//! ```text
//! Nov 30 16:44:36 PA-220 1,2018/11/30 16:44:36,012801096514,THREAT,url,2049,2018/11/30 16:44:36,192.168.15.224,175.16.199.1,192.168.1.63,175.16.199.1,new_outbound_from_trust,,,ssl,vsys1,trust,untrust,ethernet1/2,ethernet1/1,send_to_mac,2018/11/30 16:44:36,28191,1,52984,443,37679,443,0x403000,tcp,alert,"consent.cmp.oath.com/",(9999),Web-URL-Allowlist,informational,client-to-server,7726,0x0,...
//! ```
//!
//! ## References
//!
//! * Palo Alto Networks, *PAN-OS Administrator's Guide — Syslog Field Descriptions: Threat Log
//!   Fields* (9.1, 10.x and 11.x editions).
//! * flowtrail's format research notes (`docs/formats.md` of the shared docs), sections 5.3 and
//!   9.6.

use std::borrow::Cow;
use std::net::IpAddr;

use flowtrail_schema::{Action, HttpRecord, RecordSink};

use super::security_util::{clipped, read_json, upper_method, JVal, JsonRecord, ObjWriter, Route};
use super::url::{add_host_unicode, fill_http_url};
use crate::envelope::syslog::{self, Clock};
use crate::envelope::{ip_or_none, parse_ip, parse_u16, parse_u64};
use crate::time::parse_rfc3339;
use crate::{Confidence, DecodeContext, Decoder, Format, RecordKind};

const SKIP_TRAFFIC: &str = "panos_url: TRAFFIC log (use --format panos)";
const SKIP_THREAT: &str = "panos_url: THREAT log of a subtype other than url";
const SKIP_OTHER: &str = "panos_url: log type other than THREAT/url";
const SKIP_CEF: &str =
    "panos_url: CEF rendering (only the CSV syslog and Strata JSON forms are decoded)";

/// The fewest columns a URL log may have (up to URL/Filename).
const MIN_COLUMNS: usize = 32;

/// Flag bit: the session was decrypted.
const FLAG_DECRYPTED: u64 = 0x0100_0000;
/// Flag bit: the Source User column holds an X-Forwarded-For value.
const FLAG_XFF_USER: u64 = 0x0008_0000;

/// PAN-OS URL Filtering logs (THREAT/url): CSV syslog or Strata JSON.
pub struct PanosUrl;

impl Format for PanosUrl {
    fn name(&self) -> &'static str {
        "panos_url"
    }

    fn description(&self) -> &'static str {
        "Palo Alto PAN-OS URL Filtering logs (THREAT/url; CSV syslog or Strata JSON)"
    }

    fn record_kind(&self) -> RecordKind {
        RecordKind::Http
    }

    fn decoder(&self, ctx: &DecodeContext) -> Box<dyn Decoder> {
        Box::new(PanosUrlDecoder::new(ctx))
    }

    fn sniff(&self, prefix: &[u8]) -> Confidence {
        sniff(prefix)
    }
}

/// Certain when the prefix holds THREAT/url lines (CSV or JSON) and no TRAFFIC line (a file
/// of flows is the `panos` decoder's); Maybe when both kinds are mixed.
fn sniff(prefix: &[u8]) -> Confidence {
    let (mut url, mut traffic) = (false, false);
    for line in prefix.split(|b| *b == b'\n').take(50) {
        let has = |n: &[u8]| memchr::memmem::find(line, n).is_some();
        if has(b",THREAT,url,") || (has(b"\"LogType\"") && has(b"\"THREAT\"") && has(b"\"url\"")) {
            url = true;
        } else if has(b",TRAFFIC,") || (has(b"\"LogType\"") && has(b"\"TRAFFIC\"")) {
            traffic = true;
        }
    }
    match (url, traffic) {
        (true, false) => Confidence::Certain,
        (true, true) => Confidence::Maybe,
        _ => Confidence::No,
    }
}

/// Decodes one input of PAN-OS logs, keeping reusable buffers.
pub struct PanosUrlDecoder {
    clock: Clock,
    fields: Vec<Field>,
    extra: String,
}

impl PanosUrlDecoder {
    pub fn new(ctx: &DecodeContext) -> PanosUrlDecoder {
        PanosUrlDecoder {
            clock: Clock::new(ctx),
            fields: Vec::with_capacity(128),
            extra: String::new(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// CSV

/// One CSV field of a line: its byte range, and whether doubled quotes must be undone.
#[derive(Debug, Clone, Copy)]
struct Field {
    start: usize,
    end: usize,
    doubled_quotes: bool,
}

/// Cuts `line` into at most `max` CSV fields. A quote opens a quoted field only as the first
/// byte of a field; bytes between a closing quote and the next comma are dropped.
fn split_fields(line: &[u8], out: &mut Vec<Field>, max: usize) {
    out.clear();
    let mut pos = 0usize;
    while out.len() < max {
        let rest = line.get(pos..).unwrap_or_default();
        let (field, next) = if rest.first() == Some(&b'"') {
            // Quoted: find the closing quote that is not doubled.
            let body = pos + 1;
            let mut j = body;
            let mut doubled = false;
            while let Some(&c) = line.get(j) {
                if c == b'"' {
                    if line.get(j + 1) == Some(&b'"') {
                        doubled = true;
                        j += 2;
                        continue;
                    }
                    break;
                }
                j += 1;
            }
            let end = j.min(line.len());
            let after = line.get(end..).unwrap_or_default();
            let next = memchr::memchr(b',', after).map(|k| end + k + 1);
            (
                Field {
                    start: body.min(end),
                    end,
                    doubled_quotes: doubled,
                },
                next,
            )
        } else {
            let comma = memchr::memchr(b',', rest).map(|k| pos + k);
            (
                Field {
                    start: pos,
                    end: comma.unwrap_or(line.len()),
                    doubled_quotes: false,
                },
                comma.map(|c| c + 1),
            )
        };
        out.push(field);
        match next {
            Some(n) => pos = n,
            None => return,
        }
    }
}

/// The columns of one record.
struct Cols<'a> {
    csv: &'a [u8],
    /// `csv` as text when it is valid UTF-8 (checked once per line, then sliced per field:
    /// fields are cut at ASCII bytes, so their bounds are character boundaries).
    text: Option<&'a str>,
    fields: &'a [Field],
}

impl<'a> Cols<'a> {
    fn new(csv: &'a [u8], fields: &'a [Field]) -> Cols<'a> {
        Cols {
            csv,
            text: std::str::from_utf8(csv).ok(),
            fields,
        }
    }

    fn field(&self, i: usize) -> Option<&Field> {
        i.checked_sub(1).and_then(|i| self.fields.get(i))
    }

    fn raw(&self, i: usize) -> &'a [u8] {
        self.field(i)
            .and_then(|f| self.csv.get(f.start..f.end))
            .unwrap_or_default()
    }

    /// Returns 1-based column `i`, unquoted ("" when absent).
    fn get(&self, i: usize) -> Cow<'a, str> {
        let Some(f) = self.field(i) else {
            return Cow::Borrowed("");
        };
        let text = match self.text.and_then(|t| t.get(f.start..f.end)) {
            Some(t) => Cow::Borrowed(t),
            None => String::from_utf8_lossy(self.raw(i)),
        };
        if f.doubled_quotes {
            Cow::Owned(text.replace("\"\"", "\""))
        } else {
            text
        }
    }

    fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether column 4 looks like a log type (`THREAT`, `TRAFFIC`...).
    fn typed(&self) -> bool {
        let t = self.raw(4);
        !t.is_empty() && t.iter().all(|b| b.is_ascii_uppercase() || *b == b'_')
    }
}

/// Finds the CSV in a message whose start is hidden behind unknown text: three columns before a
/// `,THREAT,`-like type column.
fn find_csv(msg: &[u8]) -> Option<&[u8]> {
    let types = [
        &b",THREAT,"[..],
        b",TRAFFIC,",
        b",SYSTEM,",
        b",CONFIG,",
        b",DECRYPTION,",
    ];
    let at = types
        .iter()
        .filter_map(|t| memchr::memmem::find(msg, t))
        .min()?;
    let head = msg.get(..at)?;
    // Two commas back: the comma before the receive time; the first column precedes it.
    let mut commas = memchr::memrchr_iter(b',', head);
    commas.next()?;
    let before_time = commas.next()?;
    let first = head
        .get(..before_time)?
        .iter()
        .rposition(|b| matches!(b, b' ' | b',' | b':' | b'>'))
        .map_or(0, |p| p + 1);
    msg.get(first..)
}

/// Parses `YYYY/MM/DD HH:MM:SS` or `M/D/YY H:MM[:SS]` into civil parts.
fn pan_time(s: &str) -> Option<(i64, u32, u32, u32, u32, u32)> {
    let (date, time) = s.trim().split_once(' ')?;
    let n = |x: &str| parse_u64(x.as_bytes()).and_then(|v| u32::try_from(v).ok());
    let mut d = date.splitn(3, '/');
    let (a, b, c) = (d.next()?, d.next()?, d.next()?);
    let (year, month, day) = if a.len() == 4 {
        (i64::from(n(a)?), n(b)?, n(c)?)
    } else {
        let y = n(c)?;
        (
            i64::from(if c.len() <= 2 { 2000 + y } else { y }),
            n(a)?,
            n(b)?,
        )
    };
    let mut t = time.splitn(3, ':');
    let (h, mi) = (n(t.next()?)?, n(t.next()?)?);
    let sec = t.next().map_or(Some(0), n)?;
    Some((year, month, day, h, mi, sec))
}

/// The offset of an ISO 8601 time in seconds (`Z` = 0, `+01:00`, `-0800`).
fn offset_of(s: &str) -> Option<i32> {
    let s = s.trim();
    if s.ends_with(['Z', 'z']) {
        return Some(0);
    }
    let b = s.as_bytes();
    let cut = b.len().checked_sub(6)?;
    let tail = b.get(cut..)?;
    let sign = match tail.first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let h = parse_u64(tail.get(1..3)?)?;
    let m = parse_u64(tail.get(4..6)?)?;
    i32::try_from(h * 3600 + m * 60).ok().map(|v| sign * v)
}

fn action_of(a: &str) -> Option<Action> {
    match a.trim() {
        "alert" | "allow" | "continue" | "override" => Some(Action::Allowed),
        "block-url" | "block-continue" | "block-override" | "override-lockout" | "deny"
        | "block" => Some(Action::Denied),
        a if a.starts_with("drop") || a.starts_with("reset") => Some(Action::Denied),
        _ => None,
    }
}

/// The scheme PAN-OS implies (it does not log one).
fn scheme_of(app: &str, decrypted: bool) -> Option<&'static str> {
    if app == "ssl" || decrypted {
        Some("https")
    } else if app == "web-browsing" {
        Some("http")
    } else {
        None
    }
}

fn non_empty(c: Cow<'_, str>) -> Option<Cow<'_, str>> {
    if c.trim().is_empty() {
        None
    } else {
        Some(c)
    }
}

impl Decoder for PanosUrlDecoder {
    fn decode(&mut self, unit: &[u8], line: u64, sink: &mut dyn RecordSink) {
        let trimmed = unit.trim_ascii();
        if trimmed.is_empty() {
            return;
        }
        if trimmed.first() == Some(&b'{') {
            return decode_json(&mut self.extra, unit, line, sink);
        }
        let header = syslog::parse(unit);
        let msg = header.message;
        if msg.starts_with(b"CEF:") || memchr::memmem::find(msg, b"|Palo Alto Networks|").is_some()
        {
            return sink.skip(line, SKIP_CEF);
        }
        let mut csv = msg;
        split_fields(csv, &mut self.fields, 256);
        if !Cols::new(csv, &self.fields).typed() {
            if let Some(found) = find_csv(unit) {
                csv = found;
                split_fields(csv, &mut self.fields, 256);
            }
        }
        let cols = Cols::new(csv, &self.fields);
        if !cols.typed() {
            return sink.reject(
                line,
                "not a PAN-OS CSV log (column 4 is not a log type such as THREAT)",
                unit,
            );
        }
        match (cols.raw(4), cols.raw(5)) {
            (b"THREAT", b"url") => {}
            (b"THREAT", _) => return sink.skip(line, SKIP_THREAT),
            (b"TRAFFIC", _) => return sink.skip(line, SKIP_TRAFFIC),
            _ => return sink.skip(line, SKIP_OTHER),
        }
        if cols.len() < MIN_COLUMNS {
            let reason = format!(
                "truncated THREAT/url log: {} columns (at least {MIN_COLUMNS} needed)",
                cols.len()
            );
            return sink.reject(line, &reason, unit);
        }
        let mut w = ObjWriter::new(&mut self.extra);
        match csv_row(&cols, &self.clock, &mut w, line, header.host) {
            Ok(mut rec) => {
                let has_extra = w.finish();
                rec.extra = has_extra.then_some(Cow::Borrowed(self.extra.as_str()));
                add_host_unicode(&mut rec);
                sink.http(&rec);
            }
            Err(reason) => sink.reject(line, &reason, unit),
        }
    }
}

/// Builds the row of one CSV URL log (all but `extra`, written into `w`).
fn csv_row<'a>(
    cols: &Cols<'a>,
    clock: &Clock,
    w: &mut ObjWriter<'_>,
    line: u64,
    host: Option<&'a str>,
) -> Result<HttpRecord<'a>, String> {
    let f = |i: usize| cols.get(i);
    let bad = |name: &str, v: &str| format!("bad {name} {:?}", clipped(v));
    let ip = |i: usize, name: &str| -> Result<Option<IpAddr>, String> {
        let v = f(i);
        let v = v.trim();
        if v.is_empty() {
            return Ok(None);
        }
        parse_ip(v).map(Some).ok_or_else(|| bad(name, v))
    };
    let port = |i: usize, name: &str| -> Result<Option<u16>, String> {
        let v = f(i);
        let v = v.trim();
        if v.is_empty() {
            return Ok(None);
        }
        parse_u16(v.as_bytes())
            .map(Some)
            .ok_or_else(|| bad(name, v))
    };
    let client_ip = ip(8, "source address")?.ok_or("missing source address (column 8)")?;
    let server_ip = ip(9, "destination address")?;
    let src_port = port(25, "source port")?;
    let dst_port = port(26, "destination port")?;
    let nat_src = ip_or_none(ip(10, "NAT source address")?);
    let nat_dst = ip_or_none(ip(11, "NAT destination address")?);
    let nat_sport = port(27, "NAT source port")?.filter(|p| *p != 0);
    let nat_dport = port(28, "NAT destination port")?.filter(|p| *p != 0);

    // Time: the high-resolution timestamp, whose offset also applies to the local columns.
    let hires_text = if cols.len() >= 108 {
        f(108)
    } else {
        Cow::Borrowed("")
    };
    let hires = parse_rfc3339(&hires_text);
    let offset = hires.and_then(|_| offset_of(&hires_text));
    let local = |i: usize| {
        pan_time(&f(i)).and_then(|(y, mo, d, h, mi, s)| clock.local(y, mo, d, h, mi, s, 0, offset))
    };
    let time = hires
        .or_else(|| local(7))
        .or_else(|| local(2))
        .ok_or_else(|| bad("generated time", &f(7)))?;

    let flags = f(29);
    let flags = flags
        .trim()
        .strip_prefix("0x")
        .and_then(|h| u64::from_str_radix(h, 16).ok())
        .unwrap_or(0);
    let app = f(15);
    let src_user = f(13);
    let xff_user = flags & FLAG_XFF_USER != 0;
    let action_text = f(31);
    let method = f(64);

    w.non_empty("serial", f(3).trim());
    w.non_empty("rule", &f(12));
    if cols.len() >= 77 {
        w.non_empty("rule_uuid", &f(77));
    }
    w.non_empty("category", &f(34));
    w.non_empty("url_category_list", &f(76));
    w.non_empty("app", &app);
    w.non_empty("vsys", &f(16));
    w.non_empty("src_zone", &f(17));
    w.non_empty("dst_zone", &f(18));
    w.non_empty("in_interface", &f(19));
    w.non_empty("out_interface", &f(20));
    w.non_empty("session_id", f(23).trim());
    if let Some(r) = parse_u64(f(24).trim().as_bytes()).filter(|r| *r > 1) {
        w.num("repeat_count", r);
    }
    if let Some(p) = src_port {
        w.num("src_port", u64::from(p));
    }
    if nat_src.is_some() {
        w.str("nat_src_ip", f(10).trim());
    }
    if nat_dst.is_some() {
        w.str("nat_dst_ip", f(11).trim());
    }
    if let Some(p) = nat_sport {
        w.num("nat_src_port", u64::from(p));
    }
    if let Some(p) = nat_dport {
        w.num("nat_dst_port", u64::from(p));
    }
    w.non_empty("action", action_text.trim());
    w.non_empty("sequence_number", f(37).trim());
    w.non_empty("url_index", f(46).trim());
    w.non_empty("xff", &f(49));
    w.non_empty("xff_ip", &f(80));
    if xff_user {
        w.non_empty("src_user", &src_user);
    }
    w.non_empty("dst_user", &f(14));
    w.non_empty("http_headers", &f(75));
    w.non_empty("reason", &f(109));
    w.non_empty("justification", &f(110));

    let mut rec = HttpRecord {
        time,
        origin_line: line,
        client_ip: Some(client_ip),
        server_ip,
        server_port: dst_port,
        user: if xff_user { None } else { non_empty(src_user) },
        device: non_empty(f(60)).or_else(|| host.map(Cow::Borrowed)),
        method: non_empty(method).map(|m| match m {
            Cow::Borrowed(b) => upper_method(b),
            Cow::Owned(o) => Cow::Owned(o.to_ascii_uppercase()),
        }),
        scheme: scheme_of(app.trim(), flags & FLAG_DECRYPTED != 0).map(Cow::Borrowed),
        user_agent: non_empty(f(47)),
        referrer: non_empty(f(50)),
        content_type: non_empty(f(42)),
        action: action_of(&action_text),
        ..HttpRecord::default()
    };
    if let Some(url) = non_empty(f(32)) {
        fill_url(&mut rec, url);
    }
    Ok(rec)
}

/// Fills the URL columns from a value that may be owned (a CSV field with doubled quotes or
/// invalid UTF-8, which is rare): an owned URL is split on a scratch record whose parts are
/// then copied.
fn fill_url<'a>(rec: &mut HttpRecord<'a>, url: Cow<'a, str>) {
    fn owned<'x>(c: Option<Cow<'_, str>>) -> Option<Cow<'x, str>> {
        c.map(|v| Cow::Owned(v.into_owned()))
    }
    match url {
        Cow::Borrowed(u) => fill_http_url(rec, u),
        Cow::Owned(u) => {
            let mut tmp = HttpRecord {
                scheme: rec.scheme.clone(),
                server_port: rec.server_port,
                ..HttpRecord::default()
            };
            fill_http_url(&mut tmp, &u);
            rec.scheme = owned(tmp.scheme);
            rec.host = owned(tmp.host);
            rec.domain = owned(tmp.domain);
            rec.path = owned(tmp.path);
            rec.query = owned(tmp.query);
            rec.server_port = tmp.server_port;
            rec.url = Some(Cow::Owned(u));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Strata Logging Service JSON

const S_TYPE: u8 = 0;
const S_SUBTYPE: u8 = 1;
const S_TIME: u8 = 2;
const S_TIME_HIRES: u8 = 3;
const S_SRC: u8 = 4;
const S_DST: u8 = 5;
const S_DPORT: u8 = 6;
const S_USER: u8 = 7;
const S_APP: u8 = 8;
const S_ACTION: u8 = 9;
const S_URL: u8 = 10;
const S_CTYPE: u8 = 11;
const S_UA: u8 = 12;
const S_REFERER: u8 = 13;
const S_DEVICE: u8 = 14;
const S_METHOD: u8 = 15;
const S_RECEIVED: u8 = 16;
const SLOTS: usize = 17;

struct JsonUrl<'a> {
    slots: [Option<JVal<'a>>; SLOTS],
}

impl<'de> JsonRecord<'de> for JsonUrl<'de> {
    fn route(&self, key: &str) -> Route {
        let field = |slot| Route::Field { slot, keep: None };
        let keep_as = |slot, name| Route::Field {
            slot,
            keep: Some(name),
        };
        match key {
            "LogType" => field(S_TYPE),
            // Both spellings occur (often together, with the same value).
            "Subtype" | "SubType" => field(S_SUBTYPE),
            "TimeGenerated" => field(S_TIME),
            "TimeGeneratedHighResolution" => field(S_TIME_HIRES),
            "TimeReceived" => field(S_RECEIVED),
            "SourceAddress" => field(S_SRC),
            "DestinationAddress" => field(S_DST),
            "DestinationPort" => field(S_DPORT),
            "SourceUser" => field(S_USER),
            "Application" => keep_as(S_APP, "app"),
            "Action" => keep_as(S_ACTION, "action"),
            "URL" => field(S_URL),
            "ContentType" => field(S_CTYPE),
            "UserAgent" => field(S_UA),
            "Referer" => field(S_REFERER),
            "DeviceName" => field(S_DEVICE),
            "HTTPMethod" => field(S_METHOD),
            "DeviceSN" => Route::Keep(Some("serial")),
            "Rule" => Route::Keep(Some("rule")),
            "RuleUUID" => Route::Keep(Some("rule_uuid")),
            "URLCategory" => Route::Keep(Some("category")),
            "URLCategoryList" => Route::Keep(Some("url_category_list")),
            "VirtualLocation" => Route::Keep(Some("vsys")),
            "FromZone" => Route::Keep(Some("src_zone")),
            "ToZone" => Route::Keep(Some("dst_zone")),
            "InboundInterface" => Route::Keep(Some("in_interface")),
            "OutboundInterface" => Route::Keep(Some("out_interface")),
            "SessionID" => Route::Keep(Some("session_id")),
            "SourcePort" => Route::Keep(Some("src_port")),
            "NATSource" => Route::Keep(Some("nat_src_ip")),
            "NATDestination" => Route::Keep(Some("nat_dst_ip")),
            "NATSourcePort" => Route::Keep(Some("nat_src_port")),
            "NATDestinationPort" => Route::Keep(Some("nat_dst_port")),
            "SequenceNo" => Route::Keep(Some("sequence_number")),
            "URLCounter" => Route::Keep(Some("url_index")),
            "X-Forwarded-For" => Route::Keep(Some("xff")),
            "X-Forwarded-ForIP" => Route::Keep(Some("xff_ip")),
            "DestinationUser" => Route::Keep(Some("dst_user")),
            "HTTPHeaders" => Route::Keep(Some("http_headers")),
            _ => Route::Keep(None),
        }
    }

    fn take(&mut self, slot: u8, v: JVal<'de>) {
        if let Some(s) = self.slots.get_mut(usize::from(slot)) {
            *s = Some(v);
        }
    }
}

fn decode_json(extra: &mut String, unit: &[u8], line: u64, sink: &mut dyn RecordSink) {
    let mut rec = JsonUrl {
        slots: Default::default(),
    };
    let has_extra = match read_json(unit, &mut rec, extra) {
        Ok(has) => has,
        Err(reason) => return sink.reject(line, &reason, unit),
    };
    let text = |s: u8| -> Option<&str> {
        match rec.slots.get(usize::from(s))? {
            Some(JVal::Str(v)) if !v.trim().is_empty() => Some(v.as_ref()),
            _ => None,
        }
    };
    match (text(S_TYPE), text(S_SUBTYPE)) {
        (Some("THREAT"), Some("url")) => {}
        (Some("THREAT"), _) => return sink.skip(line, SKIP_THREAT),
        (Some("TRAFFIC"), _) => return sink.skip(line, SKIP_TRAFFIC),
        (Some(_), _) => return sink.skip(line, SKIP_OTHER),
        (None, _) => {
            return sink.reject(
                line,
                "JSON record without LogType: not a PAN-OS Strata Logging Service log",
                unit,
            )
        }
    }
    let bad = |name: &str, s: u8| {
        let v = rec
            .slots
            .get(usize::from(s))
            .and_then(Option::as_ref)
            .map_or_else(|| "null".to_string(), JVal::describe);
        format!("bad {name} {v}")
    };
    let Some(time) = [S_TIME_HIRES, S_TIME, S_RECEIVED]
        .iter()
        .find_map(|s| text(*s).and_then(parse_rfc3339))
    else {
        return sink.reject(line, &bad("TimeGenerated", S_TIME), unit);
    };
    let addr = |s: u8| text(s).map(|v| parse_ip(v).ok_or(()));
    let client_ip = match addr(S_SRC) {
        Some(Ok(ip)) => ip,
        Some(Err(())) => return sink.reject(line, &bad("SourceAddress", S_SRC), unit),
        None => return sink.reject(line, "missing SourceAddress", unit),
    };
    let server_ip = match addr(S_DST) {
        Some(Ok(ip)) => Some(ip),
        Some(Err(())) => return sink.reject(line, &bad("DestinationAddress", S_DST), unit),
        None => None,
    };
    let server_port = match rec.slots.get(usize::from(S_DPORT)).and_then(Option::as_ref) {
        None | Some(JVal::Null) => None,
        Some(v) => match v.as_u64().and_then(|p| u16::try_from(p).ok()) {
            Some(p) => Some(p),
            None => return sink.reject(line, &bad("DestinationPort", S_DPORT), unit),
        },
    };
    let app = text(S_APP).unwrap_or("");
    let mut row = HttpRecord {
        time,
        origin_line: line,
        client_ip: Some(client_ip),
        server_ip,
        server_port,
        user: text(S_USER).map(Cow::Borrowed),
        device: text(S_DEVICE).map(Cow::Borrowed),
        method: text(S_METHOD)
            .filter(|m| !m.eq_ignore_ascii_case("unknown"))
            .map(upper_method),
        scheme: scheme_of(app, false).map(Cow::Borrowed),
        user_agent: text(S_UA).map(Cow::Borrowed),
        referrer: text(S_REFERER).map(Cow::Borrowed),
        content_type: text(S_CTYPE).map(Cow::Borrowed),
        action: text(S_ACTION).and_then(action_of),
        extra: has_extra.then_some(Cow::Borrowed(extra.as_str())),
        ..HttpRecord::default()
    };
    if let Some(url) = text(S_URL) {
        fill_http_url(&mut row, url);
    }
    add_host_unicode(&mut row);
    sink.http(&row);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields() {
        let mut out = Vec::new();
        let line = br#"a,"b,c",,"d""e",f"#;
        split_fields(line, &mut out, 100);
        let cols = Cols::new(line, &out);
        let got: Vec<String> = (1..=5).map(|i| cols.get(i).into_owned()).collect();
        assert_eq!(got, ["a", "b,c", "", "d\"e", "f"]);
        assert_eq!(cols.get(9), "");
        split_fields(b"\"open", &mut out, 100);
        assert_eq!(out.len(), 1);
        split_fields(b"", &mut out, 100);
        assert_eq!(out.len(), 1);
        split_fields(b"a,b,c", &mut out, 2);
        assert_eq!(out.len(), 2);
        split_fields(b"\"x\"junk,y", &mut out, 9);
        let cols = Cols::new(b"\"x\"junk,y", &out);
        assert_eq!((cols.get(1), cols.get(2)), ("x".into(), "y".into()));
    }

    #[test]
    fn times_and_offsets() {
        assert_eq!(
            pan_time("2018/11/30 16:44:36"),
            Some((2018, 11, 30, 16, 44, 36))
        );
        assert_eq!(pan_time("9/16/19 10:00"), Some((2019, 9, 16, 10, 0, 0)));
        assert_eq!(pan_time("90"), None);
        assert_eq!(offset_of("2024-01-12T11:21:15.190+01:00"), Some(3600));
        assert_eq!(offset_of("2024-06-25T21:30:00.103000Z"), Some(0));
        assert_eq!(offset_of("2021-11-23T00:44:44.930-08:00"), Some(-8 * 3600));
    }

    #[test]
    fn finding_the_csv() {
        assert_eq!(
            find_csv(b"junk: 1,2018/11/30 16:44:36,0128,THREAT,url,1"),
            Some(&b"1,2018/11/30 16:44:36,0128,THREAT,url,1"[..])
        );
        assert_eq!(find_csv(b",THREAT,"), None);
    }

    #[test]
    fn actions_and_sniffing() {
        assert_eq!(action_of("alert"), Some(Action::Allowed));
        assert_eq!(action_of("block-url"), Some(Action::Denied));
        assert_eq!(action_of("reset-both"), Some(Action::Denied));
        assert_eq!(action_of("sinkhole"), None);
        assert_eq!(
            sniff(b"1,2018/11/30 16:44:36,0128,THREAT,url,2049\n"),
            Confidence::Certain
        );
        assert_eq!(
            sniff(b"1,2018/11/30 16:44:36,0128,THREAT,url,2049\n1,2018/11/30 16:44:36,0128,TRAFFIC,end,2049\n"),
            Confidence::Maybe
        );
        assert_eq!(
            sniff(b"1,2018/11/30 16:44:36,0128,TRAFFIC,end,2049\n"),
            Confidence::No
        );
    }
}
