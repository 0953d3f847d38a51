//! Zscaler Internet Access (ZIA) web logs, as the Nanolog Streaming Service (NSS) sends them
//! in its name-value feed forms.
//!
//! An NSS feed's layout is whatever its *Feed Output Format* says, so the decoder reads the
//! forms that name their fields, and maps fields by name:
//!
//! * **key=value, tab-separated**: the SIEM feed templates (Splunk's `zscalernss-web` and
//!   others), optionally after a syslog header and/or a leading `YYYY-MM-DD HH:MM:SS`:
//!   ```text
//!   2019-10-16 15:44:36\treason=Allowed\tevent_id=6748427317914894361\tprotocol=HTTPS\taction=Allowed\ttransactionsize=663\tresponsesize=65\trequestsize=598\turlcategory=...\tserverip=216.58.204.70\tclienttranstime=0\trequestmethod=CONNECT\trefererURL=None\tuseragent=...\tproduct=NSS\tlocation=...\tClientIP=192.168.0.38\tstatus=200\tuser=first.last@example.com\turl=4171764.fls.doubleclick.net:443\tvendor=Zscaler\thostname=4171764.fls.doubleclick.net\t...
//!   ```
//!   Values may be wrapped in double quotes (dropped). Without any tab after the first key,
//!   pairs are split before each ` name=`.
//! * **JSON**: one object per line, bare or in the Splunk HEC envelope of the Cloud NSS JSON
//!   template, `{"sourcetype":"zscalernss-web","event":{"datetime":"2021-06-17 14:53:16",
//!   "reason":"Allowed",...}}`. Another `sourcetype` (`zscalernss-fw`, `-dns`, `-tunnel`) is
//!   skipped.
//! * **CEF**: the `CEF:0|Zscaler|NSSWeblog|...` template (`act=`, `request=`, `src=`...),
//!   after its syslog header; CEF's `\=`, `\\`, `\n` escapes are decoded.
//!
//! Feeds of delimited values without names (the quoted-CSV sample of Zscaler's help pages)
//! cannot be mapped without their format string and are rejected with that reason.
//!
//! # Field mapping (names are matched case-insensitively; NSS variable names work too)
//!
//! | column | keys |
//! |---|---|
//! | `time` | `epochtime`; else `datetime`/`time`/`rt` (`2021-06-17 14:53:16`, `Mon Jun 20 15:29:11 2022`, `Jun 20 2022 15:29:11`, ISO 8601, epoch), in the feed's zone: `tz`/`timezone` when it names one (`GMT`), else [`DecodeContext::utc_offset_secs`]; else the time before the first key (line prefix or syslog header) |
//! | `action` | `action`/`act`: `Allowed` → allowed, `Blocked` → denied (other verdicts, e.g. `Cautioned`, leave it empty); kept in `extra` as `action` |
//! | `url`, `host`, `path`, `query`, `domain` | `url`/`eurl`/`request` (logged without a scheme: `ebay.com/`, `host:443` for CONNECT) |
//! | `host` (when the URL has none) | `hostname`/`host`/`ehost`/`dhost` |
//! | `scheme` | from the URL when it has one; else `protocol`/`proto`/`app`: `HTTP`, `HTTP_PROXY` → `http`; `HTTPS`, `SSL`, `TUNNEL_SSL` → `https` (the protocol is kept in `extra` as `protocol`) |
//! | `method` | `requestmethod`/`reqmethod`, upper-cased |
//! | `status` | `status`/`respcode`/`statuscode`/`outcome` (leading digits: `200 - OK` is 200) |
//! | `user_agent`, `referrer`, `content_type` | `useragent`/`ua`/`eua`/`requestClientApplication`; `refererURL`/`referer`/`ereferer`/`requestContext`; `contenttype` |
//! | `client_ip` | `ClientIP`/`cip`/`src` (the client's address as Zscaler saw it, possibly behind NAT) |
//! | `server_ip` | `serverip`/`sip`/`dst` (`0.0.0.0`, written when Zscaler blocked before resolving, is none) |
//! | `user`, `device` | `user`/`login`/`elogin`/`suser`; `devicehostname` |
//! | `bytes_out`, `bytes_in` | `requestsize`/`reqsize`/`out`; `responsesize`/`respsize`/`in` (headers included) |
//! | `duration_ms` | `clienttranstime`/`ctime` (client-side transaction time, ms) |
//! | `extra` | every other key under its own name: `reason`, `event_id`, `urlcategory`, `urlsupercategory`, `urlclass`, `location`, `department`, `clientpublicIP`, `threatname`, `threatcategory`, `pagerisk`, `appname`, `appclass`, `dlp*`, `filetype`, `fileclass`, `bwthrottle`, `servertranstime`, `unscannabletype`, `deviceowner`, `transactionsize`... The template constants `product=NSS` and `vendor=Zscaler` are not kept. |
//!
//! `None`, `NA` and `N/A` (Zscaler's "no value") and empty values are absent everywhere.
//! Unreadable addresses, sizes, status codes or times reject the record with the field named.
//!
//! ## References
//!
//! * Zscaler, *NSS Feed Output Format: Web Logs* and *General Guidelines for NSS Feeds and Feed
//!   Formats* (help.zscaler.com).
//! * The Splunk (`zscalernss-web`) and JSON feed templates as published in SIEM vendors'
//!   integration guides; flowtrail's format research notes (`docs/formats.md`), section 9.5.

use std::borrow::Cow;

use flowtrail_schema::{Action, HttpRecord, RecordSink};

use super::security_util::{
    clipped, has_offset, read_json, upper_method, JVal, JsonRecord, ObjWriter, Route,
};
use super::url::{add_host_unicode, fill_http_host, fill_http_url};
use crate::envelope::syslog::{self, Clock};
use crate::envelope::{ip_or_none, parse_ip, parse_u64};
use crate::time::parse_rfc3339;
use crate::{Confidence, DecodeContext, Decoder, Format, RecordKind};

const SKIP_OTHER_FEED: &str =
    "zscaler: NSS feed of another log type (JSON sourcetype is not zscalernss-web)";
const NO_NAMES: &str = "not a Zscaler NSS name-value record: no key=value fields and not JSON (a delimited feed needs its feed output format; use a key=value, JSON or CEF feed)";

/// Zscaler ZIA NSS web logs (key=value, JSON or CEF feeds).
pub struct Zscaler;

impl Format for Zscaler {
    fn name(&self) -> &'static str {
        "zscaler"
    }

    fn description(&self) -> &'static str {
        "Zscaler ZIA NSS web logs: key=value (Splunk template), JSON or CEF feeds"
    }

    fn record_kind(&self) -> RecordKind {
        RecordKind::Http
    }

    fn decoder(&self, ctx: &DecodeContext) -> Box<dyn Decoder> {
        Box::new(ZscalerDecoder::new(ctx))
    }

    /// NSS layouts are customer-defined: only the vendor templates' own markers say `Maybe`.
    fn sniff(&self, prefix: &[u8]) -> Confidence {
        for line in prefix.split(|b| *b == b'\n').take(20) {
            let has = |n: &[u8]| memchr::memmem::find(line, n).is_some();
            if has(b"\"zscalernss-web\"")
                || has(b"|Zscaler|NSSWeblog|")
                || (has(b"vendor=Zscaler") && has(b"product=NSS"))
            {
                return Confidence::Maybe;
            }
        }
        Confidence::No
    }
}

/// What a key feeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Z {
    Time,
    Epoch,
    Tz,
    Action,
    Url,
    Host,
    Method,
    Status,
    Ua,
    Referrer,
    ClientIp,
    ServerIp,
    User,
    Device,
    ContentType,
    ReqSize,
    RespSize,
    ClientTime,
    Protocol,
    /// The JSON envelope's `sourcetype`.
    SourceType,
    /// Template constants, not kept.
    Drop,
    /// Everything else: `extra`.
    Extra,
}

const SLOTS: usize = Z::Drop as usize;

/// Classifies a key, case-insensitively.
fn classify(key: &str) -> Z {
    let mut buf = [0u8; 32];
    let Some(dst) = buf.get_mut(..key.len()) else {
        return Z::Extra;
    };
    dst.copy_from_slice(key.as_bytes());
    dst.make_ascii_lowercase();
    let Ok(k) = std::str::from_utf8(dst) else {
        return Z::Extra;
    };
    match k {
        "datetime" | "time" | "rt" => Z::Time,
        "epochtime" => Z::Epoch,
        "tz" | "timezone" => Z::Tz,
        "action" | "act" => Z::Action,
        "url" | "eurl" | "request" => Z::Url,
        "hostname" | "host" | "ehost" | "dhost" => Z::Host,
        "requestmethod" | "reqmethod" => Z::Method,
        "status" | "respcode" | "statuscode" | "outcome" => Z::Status,
        "useragent" | "ua" | "eua" | "requestclientapplication" => Z::Ua,
        "refererurl" | "referer" | "ereferer" | "referrer" | "requestcontext" => Z::Referrer,
        "clientip" | "cip" | "src" => Z::ClientIp,
        "serverip" | "sip" | "dst" => Z::ServerIp,
        "user" | "login" | "elogin" | "suser" => Z::User,
        "devicehostname" => Z::Device,
        "contenttype" => Z::ContentType,
        "requestsize" | "reqsize" | "out" => Z::ReqSize,
        "responsesize" | "respsize" | "in" => Z::RespSize,
        "clienttranstime" | "ctime" => Z::ClientTime,
        "protocol" | "proto" | "app" => Z::Protocol,
        "sourcetype" => Z::SourceType,
        "product" | "vendor" => Z::Drop,
        _ => Z::Extra,
    }
}

/// The name a mapped key is also kept under in `extra`, if any.
fn kept_as(z: Z) -> Option<&'static str> {
    match z {
        Z::Action => Some("action"),
        Z::Protocol => Some("protocol"),
        _ => None,
    }
}

/// Zscaler's "no value" placeholders.
fn absent(v: &str) -> bool {
    matches!(v.trim(), "" | "None" | "NA" | "N/A")
}

/// The mapped values of one record.
#[derive(Default)]
struct Fields<'a> {
    v: [Option<Cow<'a, str>>; SLOTS],
}

impl<'a> Fields<'a> {
    fn get(&self, z: Z) -> Option<&str> {
        self.v.get(z as usize).and_then(|v| v.as_deref())
    }

    fn set(&mut self, z: Z, value: Cow<'a, str>) {
        if let Some(slot) = self.v.get_mut(z as usize) {
            *slot = Some(value);
        }
    }
}

impl<'de> JsonRecord<'de> for Fields<'de> {
    fn route(&self, key: &str) -> Route {
        if key == "event" {
            return Route::Nest("");
        }
        match classify(key) {
            Z::Drop => Route::Drop,
            Z::Extra => Route::Keep(None),
            z => Route::Field {
                slot: z as u8,
                keep: kept_as(z),
            },
        }
    }

    fn take(&mut self, slot: u8, v: JVal<'de>) {
        if let Some(text) = v.text().filter(|t| !absent(t)) {
            if let Some(s) = self.v.get_mut(usize::from(slot)) {
                *s = Some(text);
            }
        }
    }

    fn discard(&self, json: &str) -> bool {
        matches!(json, "null" | "\"\"" | "\"None\"" | "\"NA\"" | "\"N/A\"")
    }
}

/// A time as read: absolute, or a civil time in the feed's zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ZTime {
    Abs(i64),
    Local(i64, u32, u32, u32, u32, u32),
}

fn month(s: &str) -> Option<u32> {
    const M: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let p = s.get(..3)?;
    M.iter()
        .position(|m| m.eq_ignore_ascii_case(p))
        .and_then(|i| u32::try_from(i + 1).ok())
}

fn num(s: &str) -> Option<u32> {
    parse_u64(s.as_bytes()).and_then(|v| u32::try_from(v).ok())
}

/// `H:MM:SS` (a fraction after the seconds is ignored).
fn clock_time(s: &str) -> Option<(u32, u32, u32)> {
    let mut t = s.splitn(3, ':');
    let h = num(t.next()?)?;
    let m = num(t.next()?)?;
    let sec = t.next()?;
    let sec = sec.split(['.', ',']).next().unwrap_or(sec);
    Some((h, m, num(sec)?))
}

/// Reads the time formats NSS templates produce (see the module docs).
fn zs_time(s: &str) -> Option<ZTime> {
    let s = s.trim();
    let b = s.as_bytes();
    if !b.is_empty() && b.iter().all(u8::is_ascii_digit) {
        let v = i64::try_from(parse_u64(b)?).ok()?;
        return if b.len() >= 12 {
            v.checked_mul(1_000).map(ZTime::Abs)
        } else {
            v.checked_mul(1_000_000).map(ZTime::Abs)
        };
    }
    if b.get(4) == Some(&b'-') || b.get(2) == Some(&b'-') {
        if b.get(4) == Some(&b'-') && has_offset(s) {
            return parse_rfc3339(s).map(ZTime::Abs);
        }
        let (date, time) = s.split_once([' ', 'T'])?;
        let mut d = date.splitn(3, '-');
        let (y, mo, day) = (d.next()?, num(d.next()?)?, num(d.next()?)?);
        let year = i64::from(num(y)?) + if y.len() <= 2 { 2000 } else { 0 };
        let (h, mi, sec) = clock_time(time.trim())?;
        return Some(ZTime::Local(year, mo, day, h, mi, sec));
    }
    let mut tok = s.split_ascii_whitespace();
    let mut t: [&str; 5] = [""; 5];
    for slot in t.iter_mut() {
        *slot = tok.next().unwrap_or("");
    }
    let [a, b2, c, d, e] = t;
    // `Mon Jun 20 15:29:11 2022`, `Jun 20 2022 15:29:11` or `Jun 20 15:29:11 2022`.
    let (mo, day, time, year) = if month(b2).is_some() && a.len() == 3 && month(a).is_none() {
        (month(b2)?, c, d, e)
    } else if month(a).is_some() && c.contains(':') {
        (month(a)?, b2, c, d)
    } else if month(a).is_some() {
        (month(a)?, b2, d, c)
    } else {
        return None;
    };
    let (h, mi, sec) = clock_time(time)?;
    Some(ZTime::Local(
        i64::from(num(year)?),
        mo,
        num(day)?,
        h,
        mi,
        sec,
    ))
}

/// The scheme a Zscaler protocol name implies.
fn scheme_of(protocol: &str) -> Option<&'static str> {
    let p = protocol.trim();
    if p.eq_ignore_ascii_case("HTTP") || p.eq_ignore_ascii_case("HTTP_PROXY") {
        Some("http")
    } else if ["HTTPS", "SSL", "TUNNEL_SSL"]
        .iter()
        .any(|k| p.eq_ignore_ascii_case(k))
    {
        Some("https")
    } else {
        None
    }
}

/// Decodes one input of Zscaler NSS web logs.
pub struct ZscalerDecoder {
    clock: Clock,
    extra: String,
}

impl ZscalerDecoder {
    pub fn new(ctx: &DecodeContext) -> ZscalerDecoder {
        ZscalerDecoder {
            clock: Clock::new(ctx),
            extra: String::new(),
        }
    }
}

impl Decoder for ZscalerDecoder {
    fn decode(&mut self, unit: &[u8], line: u64, sink: &mut dyn RecordSink) {
        let trimmed = unit.trim_ascii();
        if trimmed.is_empty() {
            return;
        }
        if trimmed.first() == Some(&b'{') {
            let mut f = Fields::default();
            let has_extra = match read_json(unit, &mut f, &mut self.extra) {
                Ok(has) => has,
                Err(reason) => return sink.reject(line, &reason, unit),
            };
            if let Some(st) = f.get(Z::SourceType) {
                if !st.eq_ignore_ascii_case("zscalernss-web") {
                    return sink.skip(line, SKIP_OTHER_FEED);
                }
            }
            let extra = has_extra.then_some(self.extra.as_str());
            return match build(&f, None, &self.clock, extra, line) {
                Ok(rec) => sink.http(&rec),
                Err(reason) => sink.reject(line, &reason, unit),
            };
        }
        let text = String::from_utf8_lossy(unit);
        let mut f = Fields::default();
        let mut w = ObjWriter::new(&mut self.extra);
        let prefix_time = match read_kv(&text, &mut f, &mut w, &mut self.clock) {
            Ok(t) => t,
            Err(reason) => return sink.reject(line, reason, unit),
        };
        let extra = w.finish().then_some(self.extra.as_str());
        match build(&f, prefix_time, &self.clock, extra, line) {
            Ok(rec) => sink.http(&rec),
            Err(reason) => sink.reject(line, &reason, unit),
        }
    }
}

/// Whether `s` starts with `name=` for an identifier `name`.
fn starts_with_key(s: &[u8]) -> bool {
    let mut i = 0;
    while let Some(&c) = s.get(i) {
        let ok = c.is_ascii_alphabetic()
            || c == b'_'
            || (i > 0 && (c.is_ascii_digit() || c == b'.' || c == b'-'));
        if !ok {
            break;
        }
        i += 1;
    }
    i > 0 && s.get(i) == Some(&b'=')
}

/// The offset of the first `name=` that starts the line or follows a blank.
fn first_key(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    (0..b.len()).find(|&i| {
        (i == 0 || matches!(b.get(i - 1), Some(b' ' | b'\t')))
            && starts_with_key(b.get(i..).unwrap_or_default())
    })
}

/// Drops one pair of surrounding double quotes.
fn unquote(v: &str) -> &str {
    v.strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .unwrap_or(v)
}

/// Decodes CEF extension escapes (`\=`, `\\`, `\n`, `\r`).
fn cef_unescape(v: &str) -> Cow<'_, str> {
    if !v.contains('\\') {
        return Cow::Borrowed(v);
    }
    let mut out = String::with_capacity(v.len());
    let mut chars = v.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some(o) => out.push(o),
            None => out.push('\\'),
        }
    }
    Cow::Owned(out)
}

/// Takes one `key=value` pair.
fn take_pair<'a>(f: &mut Fields<'a>, w: &mut ObjWriter<'_>, key: &str, value: Cow<'a, str>) {
    if absent(&value) {
        return;
    }
    match classify(key) {
        Z::Drop => {}
        Z::Extra => w.str(key, &value),
        z => {
            if let Some(name) = kept_as(z) {
                w.str(name, &value);
            }
            f.set(z, value);
        }
    }
}

/// Reads a name-value line into `f` and `w`; returns the time found before the first key.
fn read_kv<'a>(
    text: &'a str,
    f: &mut Fields<'a>,
    w: &mut ObjWriter<'_>,
    clock: &mut Clock,
) -> Result<Option<i64>, &'static str> {
    let (prefix, body, cef) = match text.find("CEF:") {
        Some(at) if text.get(at..).is_some_and(|t| t.contains('|')) => {
            // The extension starts after the seventh unescaped `|` of the CEF header.
            let cef_text = text.get(at..).unwrap_or("");
            let b = cef_text.as_bytes();
            let mut pipes = 0;
            let mut ext = None;
            let mut i = 0;
            while let Some(&c) = b.get(i) {
                if c == b'\\' {
                    i += 2;
                    continue;
                }
                if c == b'|' {
                    pipes += 1;
                    if pipes == 7 {
                        ext = Some(i + 1);
                        break;
                    }
                }
                i += 1;
            }
            let Some(ext) = ext else {
                return Err("truncated CEF header (fewer than 8 fields)");
            };
            (
                text.get(..at).unwrap_or(""),
                cef_text.get(ext..).unwrap_or(""),
                true,
            )
        }
        _ => {
            let start = first_key(text).ok_or(NO_NAMES)?;
            (
                text.get(..start).unwrap_or(""),
                text.get(start..).unwrap_or(""),
                false,
            )
        }
    };
    if !cef && body.contains('\t') {
        for piece in body.split('\t') {
            if let Some((k, v)) = piece.split_once('=') {
                take_pair(f, w, k.trim(), Cow::Borrowed(unquote(v.trim())));
            }
        }
    } else {
        // Pairs separated by blanks: a pair ends where the next ` name=` starts.
        let b = body.as_bytes();
        let boundary = |i: usize| {
            (i == 0 || b.get(i - 1) == Some(&b' '))
                && starts_with_key(b.get(i..).unwrap_or_default())
        };
        let mut start = (0..b.len()).find(|&i| boundary(i));
        while let Some(s) = start {
            let next = (s + 1..b.len()).find(|&i| boundary(i));
            let end = next.unwrap_or(b.len());
            if let Some((k, v)) = body.get(s..end).and_then(|p| p.split_once('=')) {
                let v = unquote(v.trim());
                let v = if cef {
                    cef_unescape(v)
                } else {
                    Cow::Borrowed(v)
                };
                take_pair(f, w, k, v);
            }
            start = next;
        }
    }
    Ok(prefix_time(prefix, clock))
}

/// The time of the text before the first key: a bare date-time, or a syslog header's.
fn prefix_time(prefix: &str, clock: &mut Clock) -> Option<i64> {
    let p = prefix.trim();
    if p.is_empty() {
        return None;
    }
    if let Some(t) = zs_time(p).and_then(|t| resolve(t, clock, None)) {
        return Some(t);
    }
    let header = syslog::parse(p.as_bytes());
    if let Some(ts) = header.time {
        return clock.resolve(&ts).ok();
    }
    let rest = std::str::from_utf8(header.message).ok()?;
    let rest = rest.split(['\t']).next().unwrap_or(rest);
    zs_time(rest).and_then(|t| resolve(t, clock, None))
}

fn resolve(t: ZTime, clock: &Clock, offset: Option<i32>) -> Option<i64> {
    match t {
        ZTime::Abs(v) => Some(v),
        ZTime::Local(y, mo, d, h, mi, s) => clock.local(y, mo, d, h, mi, s, 0, offset),
    }
}

/// Builds the row of one record.
fn build<'a>(
    f: &'a Fields<'_>,
    prefix_time: Option<i64>,
    clock: &Clock,
    extra: Option<&'a str>,
    line: u64,
) -> Result<HttpRecord<'a>, String> {
    let bad = |name: &str, v: &str| format!("bad {name} {:?}", clipped(v));
    let offset = f
        .get(Z::Tz)
        .and_then(|tz| syslog::zone_offset(tz.trim().as_bytes()))
        .flatten();
    let time = if let Some(e) = f.get(Z::Epoch) {
        match zs_time(e) {
            Some(ZTime::Abs(t)) => t,
            _ => return Err(bad("epochtime", e)),
        }
    } else if let Some(d) = f.get(Z::Time) {
        zs_time(d)
            .and_then(|t| resolve(t, clock, offset))
            .ok_or_else(|| bad("datetime", d))?
    } else {
        prefix_time.ok_or("missing datetime (no time field and no time before the first key)")?
    };
    let ip = |z: Z, name: &str| {
        f.get(z)
            .map(|v| parse_ip(v.trim()).ok_or_else(|| bad(name, v)))
            .transpose()
    };
    let count = |z: Z, name: &str| {
        f.get(z)
            .map(|v| parse_u64(v.trim().as_bytes()).ok_or_else(|| bad(name, v)))
            .transpose()
    };
    let status = f
        .get(Z::Status)
        .map(|v| {
            let digits = v.trim_start();
            let end = digits
                .bytes()
                .position(|c| !c.is_ascii_digit())
                .unwrap_or(digits.len());
            digits
                .get(..end)
                .and_then(|d| d.parse::<u16>().ok())
                .ok_or_else(|| bad("status", v))
        })
        .transpose()?;
    let borrowed = |z: Z| f.get(z).map(Cow::Borrowed);
    let mut rec = HttpRecord {
        time,
        origin_line: line,
        client_ip: ip(Z::ClientIp, "ClientIP")?,
        server_ip: ip_or_none(ip(Z::ServerIp, "serverip")?),
        user: borrowed(Z::User),
        device: borrowed(Z::Device),
        method: f.get(Z::Method).map(upper_method),
        scheme: f.get(Z::Protocol).and_then(scheme_of).map(Cow::Borrowed),
        status,
        user_agent: borrowed(Z::Ua),
        referrer: borrowed(Z::Referrer),
        content_type: borrowed(Z::ContentType),
        bytes_out: count(Z::ReqSize, "requestsize")?,
        bytes_in: count(Z::RespSize, "responsesize")?,
        duration_ms: count(Z::ClientTime, "clienttranstime")?,
        action: f.get(Z::Action).and_then(|a| {
            if a.eq_ignore_ascii_case("allowed") {
                Some(Action::Allowed)
            } else if a.eq_ignore_ascii_case("blocked") {
                Some(Action::Denied)
            } else {
                None
            }
        }),
        extra: extra.map(Cow::Borrowed),
        ..HttpRecord::default()
    };
    if let Some(host) = f.get(Z::Host) {
        fill_http_host(&mut rec, host.trim());
    }
    if let Some(url) = f.get(Z::Url) {
        fill_http_url(&mut rec, url);
    }
    add_host_unicode(&mut rec);
    Ok(rec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        assert_eq!(classify("ClientIP"), Z::ClientIp);
        assert_eq!(classify("refererURL"), Z::Referrer);
        assert_eq!(classify("requestClientApplication"), Z::Ua);
        assert_eq!(classify("urlcategory"), Z::Extra);
        assert_eq!(classify(&"x".repeat(40)), Z::Extra);
        assert_eq!(classify("vendor"), Z::Drop);
    }

    #[test]
    fn times() {
        assert_eq!(
            zs_time("2019-10-16 15:44:36"),
            Some(ZTime::Local(2019, 10, 16, 15, 44, 36))
        );
        assert_eq!(
            zs_time("Mon Jun 20 15:29:11 2022"),
            Some(ZTime::Local(2022, 6, 20, 15, 29, 11))
        );
        assert_eq!(
            zs_time("Thu Sep  6 22:55:48 2012"),
            Some(ZTime::Local(2012, 9, 6, 22, 55, 48))
        );
        assert_eq!(
            zs_time("Jun 20 2022 15:29:11"),
            Some(ZTime::Local(2022, 6, 20, 15, 29, 11))
        );
        assert_eq!(
            zs_time("May 29 1:52:07 2017"),
            Some(ZTime::Local(2017, 5, 29, 1, 52, 7))
        );
        assert_eq!(
            zs_time("1578128400"),
            Some(ZTime::Abs(1_578_128_400_000_000))
        );
        assert_eq!(
            zs_time("2024-03-25T09:17:30Z"),
            Some(ZTime::Abs(1_711_358_250_000_000))
        );
        assert_eq!(zs_time("yesterday"), None);
        assert_eq!(zs_time(""), None);
    }

    #[test]
    fn key_positions() {
        assert_eq!(first_key("2019-10-16 15:44:36\treason=Allowed"), Some(20));
        assert_eq!(first_key("a=b"), Some(0));
        assert_eq!(first_key("\"x\",\"y\""), None);
        assert_eq!(cef_unescape(r"a\=b\\c\nd"), "a=b\\c\nd");
        assert_eq!(unquote("\"GMT\""), "GMT");
    }
}
