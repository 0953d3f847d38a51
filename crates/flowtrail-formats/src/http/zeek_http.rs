//! Zeek `http.log`, from both of Zeek's writers: ASCII/TSV (the default) and JSON lines.
//!
//! One request/response pair per line (`HTTP::Info`), written when the transaction ends, so a
//! file is not sorted by `ts`. As for `conn.log`, **a line whose first non-blank byte is `{` is
//! JSON**, any other line is TSV (a header line when it starts with `#`).
//!
//! ## TSV
//!
//! ```text
//! #separator \x09
//! #set_separator  ,
//! #empty_field  (empty)
//! #unset_field  -
//! #path  http
//! #fields  ts  uid  id.orig_h  id.orig_p  id.resp_h  id.resp_p  trans_depth  method  host  uri  referrer  version  user_agent  ...
//! #types  time  string  addr  port  addr  port  count  string  string  string  string  string  string  ...
//! 1320279566.452687  CwFs1P2UcUdlSxD2La  192.168.2.76  52026  132.235.215.119  80  1  GET  www.reddit.com  /  -  1.1  Mozilla/5.0 ...
//! ```
//!
//! * `#separator` (written `\x`-escaped) comes first and starts a new header block; the other
//!   directives use the separator. `#set_separator`, `#empty_field` and `#unset_field` are
//!   honoured as written.
//! * Columns are mapped **by the names of the last `#fields` line**, never by position
//!   (`origin`, `client_header_names`, site columns... need no configuration); `#types` types
//!   the values kept in `extra`. A file may hold several blocks.
//! * `#path` must name an http log (`http`, or an `http`-prefixed variant): records of another
//!   log are rejected with the reason, as are records of a block whose `#fields` lacks `ts` or
//!   `id.orig_h`, or has none of `method`, `uri`, `host` and `status_code`.
//! * Data lines before any `#fields` line are rejected. Other `#` lines and blank lines are not
//!   records.
//! * `-` (unset) and `(empty)` are absent. They are compared with the raw value; `\xHH` escapes
//!   (non-printable bytes, the separator) are decoded afterwards, unless the result is not UTF-8
//!   (then the value is kept as written: `/~cect/...uurimisr\xfchma...`).
//!
//! ## JSON
//!
//! Keys are Zeek's dotted names (a nested `"id": {...}` object is accepted); unset fields are
//! omitted. `ts` is epoch seconds (float), epoch milliseconds (integer) or ISO 8601. A `_path`
//! other than an http log is rejected. A Splunk search export line (`{"preview":...,"result":
//! {..., "_raw": "<zeek json>"}}`) is unwrapped: its `_raw` record is decoded, the Splunk
//! envelope dropped.
//!
//! ## Field mapping
//!
//! | Zeek field | column |
//! |---|---|
//! | `ts` | `time` (the request) |
//! | `id.orig_h` | `client_ip` (`id.orig_p` stays in `extra`) |
//! | `id.resp_h`, `id.resp_p` | `server_ip`, `server_port` |
//! | `method` | `method` (as sent) |
//! | `host` (Host header) | `host` (lower-case, port removed) and `domain` |
//! | `uri` | `url` (as logged: usually the origin-form target `/path?q`; absolute for proxy requests, `host:port` for CONNECT), `path`, `query`; `scheme` is `http` unless the URI names one |
//! | `referrer` | `referrer` |
//! | `user_agent` | `user_agent` |
//! | `request_body_len` | `bytes_out` (request body, uncompressed; headers not counted) |
//! | `response_body_len` | `bytes_in` (response body) |
//! | `status_code` | `status` |
//! | `username` | `user` (HTTP basic auth) |
//! | `resp_mime_types` | `content_type`: the first type (Zeek's file analysis, not the Content-Type header); the whole list stays in `extra` |
//! | everything else | `extra`, keyed by Zeek name and typed by `#types`: `uid`, `id.orig_p`, `trans_depth`, `version`, `status_msg`, `info_code`, `tags`, `proxied`, `*_fuids`, `*_filenames`, `orig_mime_types`, `resp_mime_types`, `origin`, site columns... (`password` too, if the sensor was configured to log it) |
//!
//! `action` stays `None` (Zeek observes, it does not block) and `duration_ms` too (http.log has
//! no duration). Bad addresses, ports, counters or status codes reject the record with the field
//! named.
//!
//! ## References
//!
//! * Zeek documentation, *http.log* and *Logging framework / ASCII writer* (docs.zeek.org).
//! * `zeek/zeek:scripts/base/protocols/http/main.zeek` (`HTTP::Info`).
//! * flowtrail's format research notes (`docs/formats.md` of the shared docs), section 8.3.

use std::borrow::Cow;
use std::net::IpAddr;

use flowtrail_schema::{HttpRecord, Micros, RecordSink};

use super::security_util::{
    clipped, f64_secs_to_micros, read_json, secs_to_micros, JVal, JsonRecord, ObjWriter, Route,
};
use super::url::{add_host_unicode, fill_http_host, fill_http_url};
use crate::envelope::{parse_ip, parse_u16, parse_u64};
use crate::time::parse_rfc3339;
use crate::zeek::{self, unescape, Kind, ZeekColumn};
use crate::{Confidence, DecodeContext, Decoder, Format, RecordKind};

/// Zeek `http.log`: TSV with header directives, or JSON lines.
pub struct ZeekHttp;

impl Format for ZeekHttp {
    fn name(&self) -> &'static str {
        "zeek_http"
    }

    fn description(&self) -> &'static str {
        "Zeek http.log: TSV with #fields headers (several blocks per file) or JSON lines"
    }

    fn record_kind(&self) -> RecordKind {
        RecordKind::Http
    }

    fn decoder(&self, _ctx: &DecodeContext) -> Box<dyn Decoder> {
        Box::new(ZeekHttpDecoder::default())
    }

    fn sniff(&self, prefix: &[u8]) -> Confidence {
        sniff(prefix)
    }
}

/// `#path http`, a `#fields` line with http columns, or a JSON line with `id.orig_h` and an
/// http field is certain.
fn sniff(prefix: &[u8]) -> Confidence {
    let prefix = prefix.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(prefix);
    for line in prefix.split(|b| *b == b'\n').take(64) {
        let line = line.trim_ascii();
        if line.is_empty() {
            continue;
        }
        let has = |needle: &[u8]| memchr::memmem::find(line, needle).is_some();
        if line.first() == Some(&b'{') {
            let http = [
                &b"\"uri\""[..],
                b"\"method\"",
                b"\"trans_depth\"",
                b"\"status_code\"",
                b"\"user_agent\"",
            ];
            return if has(b"\"id.orig_h\"") && http.iter().any(|k| has(k)) {
                Confidence::Certain
            } else {
                Confidence::No
            };
        }
        if let Some(rest) = line.strip_prefix(b"#path") {
            return if rest.trim_ascii().starts_with(b"http") {
                Confidence::Certain
            } else {
                Confidence::No
            };
        }
        if line.starts_with(b"#fields") {
            return if has(b"id.orig_h") && has(b"\tmethod") && has(b"\turi") {
                Confidence::Certain
            } else {
                Confidence::No
            };
        }
        if line.first() != Some(&b'#') {
            return Confidence::No;
        }
    }
    Confidence::No
}

// ---------------------------------------------------------------------------------------------
// Columns

/// What a column feeds; `Extra` columns go to `extra` only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    Ts,
    OrigH,
    RespH,
    RespP,
    Method,
    Host,
    Uri,
    Referrer,
    UserAgent,
    ReqLen,
    RespLen,
    Status,
    Username,
    /// `resp_mime_types`: the first type is the content type; the list stays in `extra`.
    RespMime,
    Extra,
}

/// Number of mapped columns (all but `Extra`).
const MAPPED: usize = Col::Extra as usize;

impl ZeekColumn for Col {
    fn column(name: &str) -> Col {
        match name {
            "ts" => Col::Ts,
            "id.orig_h" => Col::OrigH,
            "id.resp_h" => Col::RespH,
            "id.resp_p" => Col::RespP,
            "method" => Col::Method,
            "host" => Col::Host,
            "uri" => Col::Uri,
            "referrer" => Col::Referrer,
            "user_agent" => Col::UserAgent,
            "request_body_len" => Col::ReqLen,
            "response_body_len" => Col::RespLen,
            "status_code" => Col::Status,
            "username" => Col::Username,
            "resp_mime_types" => Col::RespMime,
            _ => Col::Extra,
        }
    }

    fn in_extra(self) -> bool {
        matches!(self, Col::Extra | Col::RespMime)
    }

    fn slot(self) -> Option<usize> {
        (self != Col::Extra).then_some(self as usize)
    }

    /// The kind of a standard http.log column when `#types` is missing.
    fn kind_of_name(name: &str) -> Kind {
        match name {
            "id.orig_p" | "trans_depth" | "info_code" => Kind::Num,
            "tags"
            | "proxied"
            | "orig_fuids"
            | "orig_filenames"
            | "orig_mime_types"
            | "resp_fuids"
            | "resp_filenames"
            | "resp_mime_types"
            | "client_header_names"
            | "server_header_names" => Kind::Set { num: false },
            _ => Kind::Str,
        }
    }

    fn layout_problem(cols: &[Col]) -> Option<String> {
        let has = |c: Col| cols.contains(&c);
        let missing: Vec<&str> = [(Col::Ts, "ts"), (Col::OrigH, "id.orig_h")]
            .iter()
            .filter(|(c, _)| !has(*c))
            .map(|(_, n)| *n)
            .collect();
        if !missing.is_empty() {
            Some(format!("#fields lacks {}", missing.join(", ")))
        } else if ![Col::Method, Col::Uri, Col::Host, Col::Status]
            .iter()
            .any(|c| has(*c))
        {
            Some(
                "#fields has none of method, uri, host, status_code: not an http.log layout"
                    .to_string(),
            )
        } else {
            None
        }
    }
    fn path_problem(path: &str) -> Option<String> {
        path_problem(path)
    }
}

/// The directives of the current header block.
type Block = zeek::Block<Col>;

/// Returns why records of log `path` are not decoded, if they are not.
fn path_problem(path: &str) -> Option<String> {
    (!path.starts_with("http")).then(|| {
        format!(
            "Zeek log path {:?} is not an http log (this decoder reads http.log only)",
            clipped(path)
        )
    })
}

// ---------------------------------------------------------------------------------------------
// Decoder

/// Decodes one Zeek http.log input, keeping the current TSV header block.
#[derive(Default)]
pub struct ZeekHttpDecoder {
    block: Block,
    extra: String,
}

impl Decoder for ZeekHttpDecoder {
    fn decode(&mut self, unit: &[u8], line: u64, sink: &mut dyn RecordSink) {
        match unit.trim_ascii_start().first() {
            None => {}
            Some(b'{' | b'[') => decode_json(&mut self.extra, unit, line, sink, 0),
            Some(b'#') => {
                if let Ok(text) = std::str::from_utf8(unit) {
                    self.block.directive(text);
                }
            }
            Some(_) => self.decode_tsv(unit, line, sink),
        }
    }
}

/// The mapped values of one record, whichever writer produced it.
#[derive(Default)]
struct Http<'a> {
    time: Micros,
    client_ip: Option<IpAddr>,
    server_ip: Option<IpAddr>,
    server_port: Option<u16>,
    method: Option<&'a str>,
    host: Option<&'a str>,
    uri: Option<&'a str>,
    referrer: Option<&'a str>,
    user_agent: Option<&'a str>,
    bytes_out: Option<u64>,
    bytes_in: Option<u64>,
    status: Option<u16>,
    user: Option<&'a str>,
    content_type: Option<&'a str>,
}

fn emit(h: &Http<'_>, extra: Option<&str>, line: u64, sink: &mut dyn RecordSink) {
    let mut rec = HttpRecord {
        time: h.time,
        origin_line: line,
        client_ip: h.client_ip,
        server_ip: h.server_ip,
        server_port: h.server_port,
        user: h.user.map(Cow::Borrowed),
        method: h.method.map(Cow::Borrowed),
        scheme: Some(Cow::Borrowed("http")),
        status: h.status,
        user_agent: h.user_agent.map(Cow::Borrowed),
        referrer: h.referrer.map(Cow::Borrowed),
        content_type: h.content_type.map(Cow::Borrowed),
        bytes_in: h.bytes_in,
        bytes_out: h.bytes_out,
        extra: extra.map(Cow::Borrowed),
        ..HttpRecord::default()
    };
    if let Some(host) = h.host {
        fill_http_host(&mut rec, host);
    }
    if let Some(uri) = h.uri {
        fill_http_url(&mut rec, uri);
    }
    add_host_unicode(&mut rec);
    sink.http(&rec);
}

// ---------------------------------------------------------------------------------------------
// TSV

impl ZeekHttpDecoder {
    fn decode_tsv(&mut self, unit: &[u8], line: u64, sink: &mut dyn RecordSink) {
        let Ok(text) = std::str::from_utf8(unit) else {
            return sink.reject(line, "line is not valid UTF-8", unit);
        };
        let block = &self.block;
        let layout = match block.record_layout() {
            Ok(layout) => layout,
            Err(reason) => return sink.reject(line, &reason, unit),
        };
        let mut w = ObjWriter::new(&mut self.extra);
        let mut raw: [Option<&str>; MAPPED] = [None; MAPPED];
        let n = block.split_record(layout, text, &mut w, &mut raw, is_decimal_digits);
        if n != layout.cols.len() {
            let reason = format!("{n} fields, #fields has {}", layout.cols.len());
            return sink.reject(line, &reason, unit);
        }
        let has_extra = w.finish();
        // Decode escapes of the text columns; the decoded values outlive the record.
        let get = |c: Col| raw.get(c as usize).copied().flatten();
        let text_col = |c: Col| get(c).map(unescape);
        let first_mime = get(Col::RespMime).map(|v| {
            let first = v.split(block.set_sep.as_str()).next().unwrap_or(v);
            unescape(first)
        });
        let texts = [
            text_col(Col::Method),
            text_col(Col::Host),
            text_col(Col::Uri),
            text_col(Col::Referrer),
            text_col(Col::UserAgent),
            text_col(Col::Username),
            first_mime,
        ];
        let t = |i: usize| texts.get(i).and_then(|v| v.as_deref());
        let http = match tsv_numbers(&get) {
            Ok(mut h) => {
                h.method = t(0);
                h.host = t(1);
                h.uri = t(2);
                h.referrer = t(3);
                h.user_agent = t(4);
                h.user = t(5);
                h.content_type = t(6);
                h
            }
            Err(reason) => return sink.reject(line, &reason, unit),
        };
        emit(&http, has_extra.then_some(self.extra.as_str()), line, sink);
    }
}

/// Parses the time, addresses and numbers of a TSV record.
fn tsv_numbers<'a>(get: &dyn Fn(Col) -> Option<&'a str>) -> Result<Http<'a>, String> {
    let bad = |field: &str, v: &str| format!("bad {field} {:?}", clipped(v));
    let num = |c: Col, field: &str| {
        get(c)
            .map(|v| parse_u64(v.as_bytes()).ok_or_else(|| bad(field, v)))
            .transpose()
    };
    let addr = |c: Col, field: &str| {
        get(c)
            .map(|v| parse_ip(v).ok_or_else(|| bad(field, v)))
            .transpose()
    };
    let ts = get(Col::Ts).ok_or("missing ts")?;
    let time = secs_to_micros(ts).ok_or_else(|| bad("ts", ts))?;
    let client_ip = addr(Col::OrigH, "id.orig_h")?.ok_or("missing id.orig_h")?;
    let server_port = get(Col::RespP)
        .map(|v| parse_u16(v.as_bytes()).ok_or_else(|| bad("id.resp_p", v)))
        .transpose()?;
    let status = get(Col::Status)
        .map(|v| parse_u16(v.as_bytes()).ok_or_else(|| bad("status_code", v)))
        .transpose()?;
    Ok(Http {
        time,
        client_ip: Some(client_ip),
        server_ip: addr(Col::RespH, "id.resp_h")?,
        server_port,
        bytes_out: num(Col::ReqLen, "request_body_len")?,
        bytes_in: num(Col::RespLen, "response_body_len")?,
        status,
        ..Http::default()
    })
}

/// A numeric set element as this decoder has always copied it: ASCII digits only (no sign,
/// fraction or exponent; leading zeros accepted).
fn is_decimal_digits(elem: &str) -> bool {
    elem.bytes().all(|b| b.is_ascii_digit()) && !elem.is_empty()
}

// ---------------------------------------------------------------------------------------------
// JSON

const S_TS: u8 = 0;
const S_ORIG_H: u8 = 1;
const S_RESP_H: u8 = 2;
const S_RESP_P: u8 = 3;
const S_METHOD: u8 = 4;
const S_HOST: u8 = 5;
const S_URI: u8 = 6;
const S_REFERRER: u8 = 7;
const S_UA: u8 = 8;
const S_REQ_LEN: u8 = 9;
const S_RESP_LEN: u8 = 10;
const S_STATUS: u8 = 11;
const S_USER: u8 = 12;
const S_MIME: u8 = 13;
const S_PATH: u8 = 14;
const S_RAW: u8 = 15;
const S_DEPTH: u8 = 16;
const SLOTS: usize = 17;

/// The mapped members of one JSON record.
struct JsonHttp<'a> {
    slots: [Option<JVal<'a>>; SLOTS],
}

impl<'de> JsonRecord<'de> for JsonHttp<'de> {
    fn route(&self, key: &str) -> Route {
        let field = |slot| Route::Field { slot, keep: None };
        match key {
            "ts" => field(S_TS),
            "id.orig_h" => field(S_ORIG_H),
            "id.resp_h" => field(S_RESP_H),
            "id.resp_p" => field(S_RESP_P),
            "method" => field(S_METHOD),
            "host" => field(S_HOST),
            "uri" => field(S_URI),
            "referrer" => field(S_REFERRER),
            "user_agent" => field(S_UA),
            "request_body_len" => field(S_REQ_LEN),
            "response_body_len" => field(S_RESP_LEN),
            "status_code" => field(S_STATUS),
            "username" => field(S_USER),
            "resp_mime_types" => Route::Field {
                slot: S_MIME,
                keep: Some("resp_mime_types"),
            },
            "_path" => field(S_PATH),
            "trans_depth" => Route::Field {
                slot: S_DEPTH,
                keep: Some("trans_depth"),
            },
            "id" => Route::Nest("id."),
            // Splunk search export envelope.
            "result" => Route::Nest("result."),
            "result._raw" => field(S_RAW),
            _ => Route::Keep(None),
        }
    }

    fn take(&mut self, slot: u8, v: JVal<'de>) {
        if let Some(s) = self.slots.get_mut(usize::from(slot)) {
            *s = Some(v);
        }
    }
}

fn decode_json(extra: &mut String, unit: &[u8], line: u64, sink: &mut dyn RecordSink, depth: u8) {
    let mut rec = JsonHttp {
        slots: Default::default(),
    };
    let has_extra = match read_json(unit, &mut rec, extra) {
        Ok(has) => has,
        Err(reason) => return sink.reject(line, &reason, unit),
    };
    let slot = |s: u8| {
        rec.slots
            .get(usize::from(s))
            .and_then(Option::as_ref)
            .filter(|v| **v != JVal::Null)
    };
    if let (Some(JVal::Str(raw)), None, 0) = (slot(S_RAW), slot(S_TS), depth) {
        // A Splunk export: decode the wrapped record (the envelope is not kept).
        let raw = raw.to_string();
        return decode_json(extra, raw.as_bytes(), line, sink, 1);
    }
    if let Some(p) = slot(S_PATH) {
        if let Some(problem) = path_problem(p.text().as_deref().unwrap_or("")) {
            return sink.reject(line, &problem, unit);
        }
    }
    let http_fields = [
        S_METHOD, S_HOST, S_URI, S_STATUS, S_DEPTH, S_UA, S_REQ_LEN, S_RESP_LEN,
    ];
    if !http_fields.iter().any(|s| slot(*s).is_some()) {
        return sink.reject(
            line,
            "JSON record has none of method, host, uri, status_code, trans_depth, user_agent, request_body_len, response_body_len: not a Zeek http.log record",
            unit,
        );
    }
    match json_http(&|s| slot(s)) {
        Ok(http) => emit(&http, has_extra.then_some(extra.as_str()), line, sink),
        Err(reason) => sink.reject(line, &reason, unit),
    }
}

/// Reads a JSON `ts`: epoch seconds (float), epoch milliseconds (large integer), or text.
fn json_time(v: &JVal<'_>) -> Option<Micros> {
    match v {
        JVal::F64(f) => f64_secs_to_micros(*f),
        JVal::U64(n) if *n >= 100_000_000_000 => i64::try_from(*n).ok()?.checked_mul(1_000),
        JVal::U64(n) => i64::try_from(*n).ok()?.checked_mul(1_000_000),
        JVal::Str(s) => parse_rfc3339(s).or_else(|| secs_to_micros(s)),
        _ => None,
    }
}

fn json_http<'r, 'a>(slot: &dyn Fn(u8) -> Option<&'r JVal<'a>>) -> Result<Http<'r>, String>
where
    'a: 'r,
{
    let bad = |field: &str, v: &JVal<'_>| format!("bad {field} {}", v.describe());
    let text = |s: u8, field: &str| -> Result<Option<&'r str>, String> {
        match slot(s) {
            None => Ok(None),
            Some(JVal::Str(v)) => Ok(Some(v.as_ref())),
            Some(other) => Err(bad(field, other)),
        }
    };
    let num = |s: u8, field: &str| {
        slot(s)
            .map(|v| v.as_u64().ok_or_else(|| bad(field, v)))
            .transpose()
    };
    let small = |s: u8, field: &str| -> Result<Option<u16>, String> {
        slot(s)
            .map(|v| {
                v.as_u64()
                    .and_then(|n| u16::try_from(n).ok())
                    .ok_or_else(|| bad(field, v))
            })
            .transpose()
    };
    let addr = |s: u8, field: &str| -> Result<Option<IpAddr>, String> {
        slot(s)
            .map(|v| match v {
                JVal::Str(a) => parse_ip(a).ok_or_else(|| bad(field, v)),
                other => Err(bad(field, other)),
            })
            .transpose()
    };
    let ts = slot(S_TS).ok_or("missing ts")?;
    let time = json_time(ts).ok_or_else(|| bad("ts", ts))?;
    let client_ip = addr(S_ORIG_H, "id.orig_h")?.ok_or("missing id.orig_h")?;
    let content_type = match slot(S_MIME) {
        Some(JVal::List(first)) => first.as_deref(),
        Some(JVal::Str(s)) => Some(s.as_ref()),
        _ => None,
    };
    Ok(Http {
        time,
        client_ip: Some(client_ip),
        server_ip: addr(S_RESP_H, "id.resp_h")?,
        server_port: small(S_RESP_P, "id.resp_p")?,
        method: text(S_METHOD, "method")?,
        host: text(S_HOST, "host")?,
        uri: text(S_URI, "uri")?,
        referrer: text(S_REFERRER, "referrer")?,
        user_agent: text(S_UA, "user_agent")?,
        bytes_out: num(S_REQ_LEN, "request_body_len")?,
        bytes_in: num(S_RESP_LEN, "response_body_len")?,
        status: small(S_STATUS, "status_code")?,
        user: text(S_USER, "username")?,
        content_type,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::is_json_number;

    type Layout = crate::zeek::Layout<Col>;

    #[test]
    fn directives_and_layouts() {
        let mut b = Block::default();
        b.directive("#separator \\x7c");
        b.directive("#set_separator|;");
        b.directive("#path|http");
        b.directive("#fields|ts|id.orig_h|method|resp_mime_types");
        b.directive("#types|time|addr|string|vector[string]");
        assert_eq!((b.sep.as_str(), b.set_sep.as_str()), ("|", ";"));
        let layout = b.layout.as_ref().expect("layout");
        assert_eq!(
            layout.cols,
            [Col::Ts, Col::OrigH, Col::Method, Col::RespMime]
        );
        assert_eq!(layout.kinds[3], Kind::Set { num: false });
        assert!(layout.problem.is_none());
        let names = |s: &str| s.split(' ').map(str::to_string).collect::<Vec<_>>();
        assert!(Layout::new(names("ts id.orig_h proto conn_state"))
            .problem
            .is_some());
        assert!(Layout::new(names("id.orig_h uri")).problem.is_some());
        assert_eq!(path_problem("http_2"), None);
        assert!(path_problem("conn").is_some());
    }

    #[test]
    fn json_numbers() {
        for ok in [
            "0",
            "42",
            "-1",
            "0.25",
            "1320279566.452687",
            "1e9",
            "2.5E-3",
        ] {
            assert!(is_json_number(ok), "{ok}");
        }
        for bad in ["", "-", "01", "1.", ".5", "+1", "1e", "inf", "NaN", "12a"] {
            assert!(!is_json_number(bad), "{bad}");
        }
    }

    #[test]
    fn escapes() {
        assert_eq!(unescape("/a\\x20b"), "/a b");
        assert_eq!(unescape("/r\\xfchma"), "/r\\xfchma");
        assert_eq!(unescape("plain"), "plain");
    }

    #[test]
    fn sniffing() {
        assert_eq!(
            sniff(b"#separator \\x09\n#set_separator\t,\n#path\thttp\n"),
            Confidence::Certain
        );
        assert_eq!(sniff(b"#separator \\x09\n#path\tconn\n"), Confidence::No);
        assert_eq!(
            sniff(br#"{"ts":1.5,"id.orig_h":"10.0.0.1","method":"GET"}"#),
            Confidence::Certain
        );
        assert_eq!(
            sniff(br#"{"ts":1.5,"id.orig_h":"10.0.0.1","conn_state":"SF"}"#),
            Confidence::No
        );
        assert_eq!(sniff(b"GET / HTTP/1.1\n"), Confidence::No);
    }
}
