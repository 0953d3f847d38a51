//! nginx and Apache httpd access logs: the Common and Combined Log Formats and their common
//! variants, any nginx `log_format` (or Apache `LogFormat`) string given by the operator, and
//! nginx JSON `log_format` lines.
//!
//! Two formats share this decoder: **`nginx`** and **`apache`**. A line cannot tell which server
//! wrote it, so detection gives both the same confidence and the path decides (`apache` or
//! `httpd` in the file path picks `apache`); without a hint, `nginx` wins. The two names differ
//! in one rule only: Apache's `%b` writes `-` for an empty body, so under `apache` a `-` byte
//! count is 0, while nginx always prints a number and a `-` there means "not logged" (`None`).
//!
//! ## Default layout (no format string)
//!
//! ```text
//! 127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326 "http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)"
//! www.example.com:443 192.0.2.7 - - [31/Jan/2024:12:00:00 +0100] "GET /a?b=1 HTTP/2.0" 200 512 "-" "curl/8.5.0" "198.51.100.1, 10.0.0.2"
//! ```
//!
//! The line is anchored on its time, `[dd/Mon/yyyy:HH:MM:SS ±hhmm]`, not on field positions, so
//! the variants met in the field need no configuration:
//!
//! * **Before the time**: `client ident user`, optionally preceded by a virtual host (Apache
//!   `vhost_combined` `%v:%p`, nginx `$host`) or followed by one (`%h:%{remote}p %v:%p`).
//!   With four or more fields the client is the field that is an IP address (or `ip:port`); a
//!   user name with a space (`john doe`) is kept whole; a parenthesised field (`(-)`) and other
//!   unassigned fields go to `extra.prefix`. Fewer than three fields is a rejection.
//! * **After the time**: one or more quoted fields, the last of which is the request line
//!   (extra quoted fields before it go to `extra.prefix`), the status, the byte count, then
//!   optionally the quoted referrer and user agent. After those: a third quoted field that is
//!   a list of IP addresses (nginx's default `main` format: `"$http_x_forwarded_for"`) and
//!   `X-Forwarded-For="..."` become `extra.x_forwarded_for`; any other field (request times,
//!   TLS details, Squid's `%Ss:%Sh`) is kept, in order, in `extra.trailing`.
//! * Quoted fields end at a `"` followed by a space or the end of the line, so escaped quotes
//!   (`\"`, Apache) and unescaped inner quotes (Apache before 2.0.46) do not cut them.
//!   Escapes written by the server (`\x16\x03`, `\"`) are kept as logged.
//! * The time may also be `[2000-10-10T20:55:36Z]` (RFC 3339), `[10/Oct/2000:13:55:36]` or
//!   `[05/02/2025 11:30:29]` (day/month/year, as some Squid common-log setups write it); times
//!   without an offset take the configured UTC offset (`--utc-offset`, else UTC).
//!
//! ## Field mapping
//!
//! | field | column |
//! |---|---|
//! | client (`%h`, `$remote_addr`) | `client_ip`; a port (`ip:port`) → `extra.client_port`; a host name → `extra.client_host` |
//! | ident (`%l`) | `extra.ident` unless `-` |
//! | user (`%u`, `$remote_user`) | `user` unless `-` |
//! | time | `time` (the offset in the log is used) |
//! | request line `METHOD target HTTP/x` | `method`; `url`, `path`, `query` (and `scheme`, `host`, `domain` for absolute-form targets of proxies) via the URL model; the version → `extra.http_version` |
//! | status | `status` |
//! | bytes (`%b`, `$body_bytes_sent`) | `bytes_in` (server → client) |
//! | referrer, user agent | `referrer`, `user_agent` unless `-` or empty |
//! | virtual host (`%v:%p`, `$host`) | `host`, `domain`, `server_port`; `server_ip` when it is an address |
//!
//! A request that is not `METHOD target [HTTP/x]` — `-`, empty, TLS handshake bytes
//! (`\x16\x03\x01...`), scanner junk — is still a record when the line's structure is valid:
//! `method` and `url` stay `None` and the raw request goes to `extra.request` (`-` and an empty
//! request are placeholders and are not kept). Without a virtual host or an absolute-form
//! target, the host is unknown. `action` stays `None`: a web server does not allow or deny in
//! the firewall sense (the status says what happened).
//!
//! Error-log lines (`2024/01/31 12:00:00 [error] 12#12: ...`, `[Wed Oct 11 14:32:52 2000]
//! [error] ...`, `[core:error] [pid ...]`) are valid lines of these servers but not requests:
//! they are skipped, not rejected. Blank lines are not records.
//!
//! ## JSON lines
//!
//! A line starting with `{` is read as a JSON `log_format` (`escape=json`) object whose keys are
//! nginx variable names without `$` (`remote_addr`, `time_local`, `request`, `status`,
//! `body_bytes_sent`, `http_referer`, `http_user_agent`, `host`, ...), plus the common aliases
//! `timestamp`/`time`, `response_status`, `http_referrer`, `http_scheme` and `http_version`.
//! Unknown keys go to `extra`. This path allocates per record (it builds a JSON value).
//!
//! ## Custom formats
//!
//! [`decoder_for_log_format`] compiles an nginx `log_format` — variables `$name`/`${name}`
//! between literals, the way nginx.conf writes it (the `log_format name escape=...` words and
//! the quoting of the segments are accepted and removed) — or an Apache `LogFormat` string
//! (`%h %l %u %t \"%r\" %>s %b`), or one of the names `combined`, `main`, `common`,
//! `vhost_combined`, into a matcher: each variable's value runs to the next literal (a quote
//! preceded by a backslash does not end a quoted value). Variables with a column are mapped as
//! in the table above and below; every other variable goes to `extra` under its name (`-` and
//! empty values are left out).
//!
//! | nginx variable | column |
//! |---|---|
//! | `$time_local`, `$time_iso8601`, `$msec` | `time` |
//! | `$request`; else `$request_method` + `$request_uri`; else `$uri` + `$args` | `method`, `url`, `path`, `query` |
//! | `$host`, else `$http_host`, else `$server_name` | `host`, `domain` |
//! | `$scheme` | `scheme` |
//! | `$server_addr`, `$server_port` | `server_ip`, `server_port` |
//! | `$bytes_sent` (with headers), else `$body_bytes_sent` | `bytes_in` |
//! | `$request_length` | `bytes_out` |
//! | `$request_time` (seconds, ms resolution) | `duration_ms` |
//! | `$sent_http_content_type` | `content_type` |
//! | `$http_x_forwarded_for` | `extra.x_forwarded_for` |
//! | `$server_protocol` | `extra.http_version` |
//!
//! ## References
//!
//! * Apache httpd, *mod_log_config* (format directives, escaping); nginx,
//!   *ngx_http_log_module* (`log_format`, `escape=`) and *embedded variables*.
//! * flowtrail's format research notes (`docs/formats.md` of the shared docs), sections 9.1–9.2.

use std::borrow::Cow;
use std::fmt::Write as _;

use flowtrail_schema::{HttpRecord, RecordSink};

use super::url::{add_host_unicode, fill_http_host, fill_http_url, split_authority};
use crate::time::{days_from_civil, parse_rfc3339};
use crate::{Confidence, DecodeContext, Decoder, Format, RecordKind};

/// nginx access logs (combined/common/main, vhost-prefixed, JSON `log_format` lines).
pub struct Nginx;

/// Apache httpd access logs (common, combined, vhost_combined and their variants).
pub struct Apache;

impl Format for Nginx {
    fn name(&self) -> &'static str {
        "nginx"
    }

    fn description(&self) -> &'static str {
        "nginx access logs: combined/common/main, vhost-prefixed, JSON log_format lines"
    }

    fn record_kind(&self) -> RecordKind {
        RecordKind::Http
    }

    fn decoder(&self, ctx: &DecodeContext) -> Box<dyn Decoder> {
        Box::new(ClfDecoder::new(Flavor::Nginx, ctx))
    }

    fn sniff(&self, prefix: &[u8]) -> Confidence {
        sniff_access(prefix, Flavor::Nginx)
    }
}

impl Format for Apache {
    fn name(&self) -> &'static str {
        "apache"
    }

    fn description(&self) -> &'static str {
        "Apache httpd access logs: common, combined, vhost_combined and variants"
    }

    fn record_kind(&self) -> RecordKind {
        RecordKind::Http
    }

    fn decoder(&self, ctx: &DecodeContext) -> Box<dyn Decoder> {
        Box::new(ClfDecoder::new(Flavor::Apache, ctx))
    }

    fn sniff(&self, prefix: &[u8]) -> Confidence {
        sniff_access(prefix, Flavor::Apache)
    }
}

/// Which server's conventions apply where the two differ (`-` byte counts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flavor {
    Nginx,
    Apache,
}

/// Scores a prefix: access lines (a CLF time followed by a quoted request) are `Likely`; nginx
/// JSON lines are `Likely` for nginx; a prefix of the server's error-log lines only is `Maybe`.
fn sniff_access(prefix: &[u8], flavor: Flavor) -> Confidence {
    let prefix = prefix.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(prefix);
    let mut lines: Vec<&[u8]> = prefix.split(|b| *b == b'\n').collect();
    // The last line may be cut by the prefix length.
    if lines.len() > 1 && prefix.last() != Some(&b'\n') {
        lines.pop();
    }
    let (mut access, mut json, mut own_errors, mut other) = (0, 0, 0, 0);
    for line in lines.into_iter().take(32) {
        let Ok(text) = std::str::from_utf8(line) else {
            other += 1;
            continue;
        };
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        if text.starts_with('{') {
            if text.contains("\"remote_addr\"")
                && (text.contains("\"request\"") || text.contains("\"status\""))
            {
                json += 1;
            } else {
                other += 1;
            }
        } else if is_nginx_error(text) {
            if flavor == Flavor::Nginx {
                own_errors += 1;
            }
        } else if is_apache_error(text) {
            if flavor == Flavor::Apache {
                own_errors += 1;
            }
        } else if find_time(text, 0).is_some_and(|t| {
            text.get(t.close + 1..)
                .is_some_and(|r| r.trim_start().starts_with('"'))
        }) {
            access += 1;
        } else {
            other += 1;
        }
    }
    if (access > 0 && access >= other) || (flavor == Flavor::Nginx && json > 0 && json >= other) {
        Confidence::Likely
    } else if own_errors > 0 && other == 0 && access == 0 {
        Confidence::Maybe
    } else {
        Confidence::No
    }
}

// ---------------------------------------------------------------------------------------------
// Variables: what a field of a line is, whichever way the line was split

/// A logged value's meaning, named after the nginx variable (Apache directives map onto them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Var {
    RemoteAddr,
    RemoteUser,
    RemotePort,
    TimeLocal,
    TimeIso8601,
    Msec,
    /// A JSON `timestamp`/`time` key: RFC 3339, CLF or epoch seconds.
    AnyTime,
    Request,
    RequestMethod,
    RequestUri,
    Uri,
    Args,
    Scheme,
    Host,
    HttpHost,
    ServerName,
    ServerAddr,
    ServerPort,
    Status,
    BodyBytesSent,
    /// Apache `%b`: `-` means 0.
    BodyBytesClf,
    BytesSent,
    RequestLength,
    RequestTime,
    /// Apache `%D`: microseconds.
    RequestTimeUs,
    Referer,
    UserAgent,
    ContentType,
    Xff,
    ServerProtocol,
    Other,
}

const VAR_SLOTS: usize = Var::Other as usize;

impl Var {
    fn of(name: &str) -> Var {
        match name {
            "remote_addr" => Var::RemoteAddr,
            "remote_user" => Var::RemoteUser,
            "remote_port" => Var::RemotePort,
            "time_local" => Var::TimeLocal,
            "time_iso8601" => Var::TimeIso8601,
            "msec" => Var::Msec,
            "request" => Var::Request,
            "request_method" => Var::RequestMethod,
            "request_uri" => Var::RequestUri,
            "uri" | "document_uri" => Var::Uri,
            "args" | "query_string" => Var::Args,
            "scheme" => Var::Scheme,
            "host" => Var::Host,
            "http_host" => Var::HttpHost,
            "server_name" => Var::ServerName,
            "server_addr" => Var::ServerAddr,
            "server_port" => Var::ServerPort,
            "status" => Var::Status,
            "body_bytes_sent" => Var::BodyBytesSent,
            "bytes_sent" => Var::BytesSent,
            "request_length" => Var::RequestLength,
            "request_time" => Var::RequestTime,
            "http_referer" => Var::Referer,
            "http_user_agent" => Var::UserAgent,
            "sent_http_content_type" => Var::ContentType,
            "http_x_forwarded_for" => Var::Xff,
            "server_protocol" => Var::ServerProtocol,
            _ => Var::Other,
        }
    }

    /// JSON keys: the variable names plus aliases seen in hand-written JSON formats.
    fn of_json_key(key: &str) -> Var {
        let key = key.strip_prefix('$').unwrap_or(key);
        match key {
            "timestamp" | "time" | "@timestamp" => Var::AnyTime,
            "response_status" => Var::Status,
            "http_referrer" => Var::Referer,
            "http_scheme" => Var::Scheme,
            "http_version" => Var::ServerProtocol,
            other => Var::of(other),
        }
    }
}

/// The values of the mapped variables of one line (`None`: not logged, `-` or empty).
#[derive(Default)]
struct Vals<'v> {
    slots: [Option<&'v str>; VAR_SLOTS],
    /// A time already parsed while splitting the line.
    time: Option<i64>,
}

impl<'v> Vals<'v> {
    fn get(&self, v: Var) -> Option<&'v str> {
        self.slots.get(v as usize).copied().flatten()
    }

    /// Stores a value; placeholders (`-`, empty) are absent. Returns false for `Var::Other`.
    fn set(&mut self, v: Var, value: &'v str) -> bool {
        match self.slots.get_mut(v as usize) {
            Some(slot) => {
                if !is_placeholder(value) || v == Var::BodyBytesClf {
                    *slot = Some(value);
                }
                true
            }
            None => false,
        }
    }
}

/// `-` and the empty string mean "not logged".
pub(super) fn is_placeholder(v: &str) -> bool {
    v.is_empty() || v == "-"
}

/// Turns the collected values into the record's columns; values without a column were written
/// to `w` already. Errors are rejection reasons.
fn build<'v>(
    vals: &Vals<'v>,
    offset_secs: i64,
    rec: &mut HttpRecord<'v>,
    w: &mut Obj<'_>,
) -> Result<(), String> {
    let bad = |field: &str, v: &str| format!("bad {field} {:?}", clip(v));
    rec.time = match vals.time {
        Some(t) => t,
        None => {
            if let Some(v) = vals.get(Var::TimeLocal) {
                parse_bracket_time(v.trim_start_matches('[').trim_end_matches(']'), offset_secs)
                    .ok_or_else(|| bad("time_local", v))?
            } else if let Some(v) = vals.get(Var::TimeIso8601) {
                parse_rfc3339(v).ok_or_else(|| bad("time_iso8601", v))?
            } else if let Some(v) = vals.get(Var::Msec) {
                parse_secs_micros(v).ok_or_else(|| bad("msec", v))?
            } else if let Some(v) = vals.get(Var::AnyTime) {
                parse_rfc3339(v)
                    .or_else(|| parse_bracket_time(v, offset_secs))
                    .or_else(|| parse_secs_micros(v))
                    .ok_or_else(|| bad("timestamp", v))?
            } else {
                return Err("no time ($time_local, $time_iso8601 or $msec)".to_string());
            }
        }
    };
    if let Some(c) = vals.get(Var::RemoteAddr) {
        set_client(rec, w, c);
    }
    if let Some(p) = vals.get(Var::RemotePort) {
        write_num_or_str(w, "client_port", p);
    }
    rec.user = vals.get(Var::RemoteUser).map(Cow::Borrowed);
    // Server side first, so an explicit port wins over the one of an absolute URL.
    if let Some(a) = vals.get(Var::ServerAddr) {
        match parse_ip(a) {
            Some(ip) => rec.server_ip = Some(ip),
            None => w.str("server_addr", a),
        }
    }
    if let Some(p) = vals.get(Var::ServerPort) {
        rec.server_port = Some(parse_u16(p).ok_or_else(|| bad("server_port", p))?);
    }
    let host = vals
        .get(Var::Host)
        .or(vals.get(Var::HttpHost))
        .or(vals.get(Var::ServerName));
    if let Some(h) = host {
        fill_http_host(rec, h);
        if rec.server_ip.is_none() {
            rec.server_ip = rec.host.as_deref().and_then(parse_ip);
        }
    }
    if vals.get(Var::Host).is_some() || vals.get(Var::HttpHost).is_some() {
        if let Some(name) = vals.get(Var::ServerName) {
            w.str("server_name", name);
        }
    }
    // The request.
    let mut target = None;
    if let Some(r) = vals.get(Var::Request) {
        match split_request(r) {
            Some(req) => {
                rec.method = Some(Cow::Borrowed(req.method));
                target = Some(req.target);
                if let Some(v) = req.version {
                    w.str("http_version", v.strip_prefix("HTTP/").unwrap_or(v));
                }
            }
            None => w.str("request", r),
        }
    }
    if rec.method.is_none() {
        rec.method = vals.get(Var::RequestMethod).map(Cow::Borrowed);
    }
    if target.is_none() {
        target = vals.get(Var::RequestUri);
    }
    match target {
        Some(t) if !is_placeholder(t) => fill_http_url(rec, t),
        _ => {
            rec.path = vals.get(Var::Uri).map(Cow::Borrowed);
            rec.query = vals.get(Var::Args).map(Cow::Borrowed);
        }
    }
    if rec.scheme.is_none() {
        rec.scheme = vals.get(Var::Scheme).map(Cow::Borrowed);
    }
    if vals.get(Var::Request).is_none() {
        if let Some(p) = vals.get(Var::ServerProtocol) {
            w.str("http_version", p.strip_prefix("HTTP/").unwrap_or(p));
        }
    }
    if let Some(s) = vals.get(Var::Status) {
        rec.status = Some(parse_status(s).ok_or_else(|| bad("status", s))?);
    }
    let body = match (vals.get(Var::BodyBytesSent), vals.get(Var::BodyBytesClf)) {
        (Some(b), _) => Some(parse_u64(b).ok_or_else(|| bad("body_bytes_sent", b))?),
        (None, Some("-")) => Some(0),
        (None, Some(b)) => Some(parse_u64(b).ok_or_else(|| bad("bytes", b))?),
        (None, None) => None,
    };
    rec.bytes_in = match vals.get(Var::BytesSent) {
        Some(b) => {
            if let Some(body) = body {
                let _ = write!(w.key("body_bytes_sent"), "{body}");
            }
            Some(parse_u64(b).ok_or_else(|| bad("bytes_sent", b))?)
        }
        None => body,
    };
    if let Some(b) = vals.get(Var::RequestLength) {
        rec.bytes_out = Some(parse_u64(b).ok_or_else(|| bad("request_length", b))?);
    }
    if let Some(t) = vals.get(Var::RequestTime) {
        rec.duration_ms = Some(parse_secs_ms(t).ok_or_else(|| bad("request_time", t))?);
    } else if let Some(t) = vals.get(Var::RequestTimeUs) {
        rec.duration_ms = Some(parse_u64(t).ok_or_else(|| bad("request time (%D)", t))? / 1000);
    }
    rec.referrer = vals.get(Var::Referer).map(Cow::Borrowed);
    rec.user_agent = vals.get(Var::UserAgent).map(Cow::Borrowed);
    rec.content_type = vals.get(Var::ContentType).map(Cow::Borrowed);
    if let Some(x) = vals.get(Var::Xff) {
        w.str("x_forwarded_for", x);
    }
    Ok(())
}

/// Fills `client_ip` from `addr`, `ip:port` or `[v6]:port`; a host name goes to `extra`.
pub(super) fn set_client(rec: &mut HttpRecord<'_>, w: &mut Obj<'_>, client: &str) {
    if let Some(ip) = parse_ip(client) {
        rec.client_ip = Some(ip);
        return;
    }
    let (host, port) = split_authority(client);
    match parse_ip(host) {
        Some(ip) => {
            rec.client_ip = Some(ip);
            if let Some(p) = port {
                let _ = write!(w.key("client_port"), "{p}");
            }
        }
        None => w.str("client_host", client),
    }
}

fn write_num_or_str(w: &mut Obj<'_>, key: &str, v: &str) {
    if parse_u64(v).is_some() {
        w.raw(key, v);
    } else {
        w.str(key, v);
    }
}

// ---------------------------------------------------------------------------------------------
// The decoder for the default layout (and JSON lines)

/// Decodes nginx/Apache access lines in the default (anchored) layout and JSON lines.
pub struct ClfDecoder {
    flavor: Flavor,
    offset_secs: i64,
    extra: String,
}

impl ClfDecoder {
    /// A decoder with nginx's conventions (for Squid's common-log variant).
    pub(super) fn nginx(ctx: &DecodeContext) -> ClfDecoder {
        ClfDecoder::new(Flavor::Nginx, ctx)
    }

    fn new(flavor: Flavor, ctx: &DecodeContext) -> ClfDecoder {
        ClfDecoder {
            flavor,
            offset_secs: i64::from(ctx.utc_offset_secs.unwrap_or(0)),
            extra: String::new(),
        }
    }
}

impl Decoder for ClfDecoder {
    fn decode(&mut self, unit: &[u8], line: u64, sink: &mut dyn RecordSink) {
        let text = String::from_utf8_lossy(unit);
        let s = text.trim();
        if s.is_empty() {
            return;
        }
        if s.starts_with('{') {
            return decode_json(&mut self.extra, self.offset_secs, s, unit, line, sink);
        }
        if is_nginx_error(s) {
            return sink.skip(line, "nginx error log line (not an access record)");
        }
        if is_apache_error(s) {
            return sink.skip(line, "Apache error log line (not an access record)");
        }
        let mut vals = Vals::default();
        let mut w = Obj::new(&mut self.extra);
        if let Err(reason) = split_clf(s, self.flavor, self.offset_secs, &mut vals, &mut w) {
            return sink.reject(line, &reason, unit);
        }
        let mut rec = HttpRecord {
            origin_line: line,
            ..HttpRecord::default()
        };
        if let Err(reason) = build(&vals, self.offset_secs, &mut rec, &mut w) {
            return sink.reject(line, &reason, unit);
        }
        let has_extra = w.finish();
        emit(rec, has_extra.then_some(self.extra.as_str()), sink);
    }
}

/// Sends a record with its `extra`, adding `host_unicode` for punycode hosts.
pub(super) fn emit(rec: HttpRecord<'_>, extra: Option<&str>, sink: &mut dyn RecordSink) {
    let mut rec = HttpRecord {
        extra: extra.map(Cow::Borrowed),
        ..rec
    };
    add_host_unicode(&mut rec);
    sink.http(&rec);
}

/// Where the time of a line is: byte offsets of its brackets and the parsed time.
struct TimeSpan {
    open: usize,
    close: usize,
    micros: i64,
}

/// Finds the first `[...]` holding a time (CLF, RFC 3339 or day/month/year).
fn find_time(s: &str, offset_secs: i64) -> Option<TimeSpan> {
    let b = s.as_bytes();
    let mut from = 0;
    for _ in 0..8 {
        let open = from + memchr::memchr(b'[', b.get(from..)?)?;
        let content_start = open + 1;
        let close = content_start + memchr::memchr(b']', b.get(content_start..)?)?;
        if close - content_start <= 40 {
            if let Some(micros) = s
                .get(content_start..close)
                .and_then(|c| parse_bracket_time(c, offset_secs))
            {
                return Some(TimeSpan {
                    open,
                    close,
                    micros,
                });
            }
        }
        from = open + 1;
    }
    None
}

/// Splits a line of the default layout into `vals`; fields without a column go to `w`.
fn split_clf<'a>(
    s: &'a str,
    flavor: Flavor,
    offset_secs: i64,
    vals: &mut Vals<'a>,
    w: &mut Obj<'_>,
) -> Result<(), String> {
    let t = find_time(s, offset_secs).ok_or("no [dd/Mon/yyyy:HH:MM:SS ±hhmm] time in the line")?;
    vals.time = Some(t.micros);
    // Before the time: [vhost] client ident user.
    let prefix = s.get(..t.open).unwrap_or("");
    let mut toks: [&str; 12] = [""; 12];
    let mut n = 0;
    for tok in prefix.split_ascii_whitespace() {
        *toks
            .get_mut(n)
            .ok_or("more than 12 fields before the time")? = tok;
        n += 1;
    }
    let toks = toks.get(..n).unwrap_or(&[]);
    if n < 3 {
        return Err(format!(
            "expected `client ident user` before the time, found {n} field(s)"
        ));
    }
    let is_addr = |t: &str| parse_ip(t).is_some() || parse_ip(split_authority(t).0).is_some();
    let tok = |i: usize| toks.get(i).copied().unwrap_or("");
    // Indices of vhost, client, ident and the first user token; unassigned tokens are extras.
    let (vhost, client, ident, user_from, unassigned): (
        Option<usize>,
        usize,
        usize,
        usize,
        Option<usize>,
    ) = if n == 3 {
        (None, 0, 1, 2, None)
    } else if is_addr(tok(1)) {
        (Some(0), 1, 2, 3, None)
    } else if is_addr(tok(0)) {
        let paren = tok(1).starts_with('(') && tok(1).ends_with(')');
        let r = if paren { 2 } else { 1 };
        if n - r == 2 || tok(r) == "-" {
            (None, 0, r, r + 1, paren.then_some(1))
        } else {
            (Some(r), 0, r + 1, r + 2, paren.then_some(1))
        }
    } else {
        (Some(0), 1, 2, 3, None)
    };
    let mut prefix_extra: [&str; 4] = [""; 4];
    let mut np = 0;
    if let Some(u) = unassigned {
        prefix_extra[0] = tok(u);
        np = 1;
    }
    if let Some(v) = vhost {
        vals.set(Var::Host, tok(v));
    }
    vals.set(Var::RemoteAddr, tok(client));
    let ident = tok(ident);
    if !is_placeholder(ident) {
        w.str("ident", ident);
    }
    // The user runs to the end of the prefix: a name may contain spaces.
    if let Some(first) = toks.get(user_from) {
        let start = first.as_ptr() as usize - prefix.as_ptr() as usize;
        let user = prefix.get(start..).unwrap_or("").trim_end();
        vals.set(Var::RemoteUser, user);
    }
    // After the time: quoted fields up to the status; the last of them is the request.
    let rest = s.get(t.close + 1..).unwrap_or("");
    let mut items = Items::new(rest);
    let mut request = None;
    let mut status = None;
    for item in items.by_ref() {
        match item? {
            Item::Quoted(q) => {
                if let Some(prev) = request.replace(q) {
                    if let Some(slot) = prefix_extra.get_mut(np) {
                        *slot = prev;
                        np += 1;
                    }
                }
            }
            Item::Bare(b) => {
                status = Some(b);
                break;
            }
        }
    }
    if np > 0 {
        let out = w.key("prefix");
        push_str_array(out, prefix_extra.get(..np).unwrap_or(&[]));
    }
    let request = request.ok_or("no quoted request line after the time")?;
    let status = status.ok_or("no status after the request line")?;
    if !is_placeholder(request) {
        vals.set(Var::Request, request);
    }
    vals.set(Var::Status, status);
    // Bytes, then the quoted referrer and user agent; anything else is kept in order.
    let mut quoted = 0;
    let mut bytes_seen = false;
    let mut trailing = TrailingWriter::default();
    for item in items {
        match item? {
            Item::Bare(b) if !bytes_seen && quoted == 0 => {
                bytes_seen = true;
                let var = match flavor {
                    Flavor::Apache => Var::BodyBytesClf,
                    Flavor::Nginx => Var::BodyBytesSent,
                };
                vals.set(var, b);
            }
            Item::Bare(b) => {
                if let Some(v) = b
                    .strip_prefix("X-Forwarded-For=")
                    .or_else(|| b.strip_prefix("x-forwarded-for="))
                {
                    let v = v.trim_matches('"');
                    if !is_placeholder(v) {
                        vals.set(Var::Xff, v);
                    }
                } else if b != "-" {
                    trailing.push(w, b);
                }
            }
            Item::Quoted(q) => {
                bytes_seen = true;
                match quoted {
                    0 => {
                        vals.set(Var::Referer, q);
                    }
                    1 => {
                        vals.set(Var::UserAgent, q);
                    }
                    2 if is_placeholder(q) || is_ip_list(q) => {
                        vals.set(Var::Xff, q);
                    }
                    _ => trailing.push(w, q),
                }
                quoted += 1;
            }
        }
    }
    trailing.finish(w);
    Ok(())
}

/// `1.2.3.4, 10.0.0.1` (X-Forwarded-For values).
fn is_ip_list(s: &str) -> bool {
    s.split(',').all(|p| parse_ip(p.trim()).is_some())
}

/// Writes `"trailing":[...]` lazily, only when there is something to keep.
#[derive(Default)]
pub(super) struct TrailingWriter {
    open: bool,
}

impl TrailingWriter {
    pub(super) fn push(&mut self, w: &mut Obj<'_>, v: &str) {
        let out = if self.open {
            let out = w.buf();
            out.push(',');
            out
        } else {
            self.open = true;
            let out = w.key("trailing");
            out.push('[');
            out
        };
        push_json_str(out, v);
    }

    pub(super) fn finish(self, w: &mut Obj<'_>) {
        if self.open {
            w.buf().push(']');
        }
    }
}

/// One field after the time: a quoted string (without its quotes) or a bare token.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Item<'a> {
    Quoted(&'a str),
    Bare(&'a str),
}

/// Splits the part of a line after the time into quoted strings and bare tokens.
pub(super) struct Items<'a> {
    s: &'a str,
    pos: usize,
    failed: bool,
}

impl<'a> Items<'a> {
    pub(super) fn new(s: &'a str) -> Items<'a> {
        Items {
            s,
            pos: 0,
            failed: false,
        }
    }
}

impl<'a> Iterator for Items<'a> {
    type Item = Result<Item<'a>, String>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let b = self.s.as_bytes();
        while b.get(self.pos).is_some_and(|c| *c == b' ' || *c == b'\t') {
            self.pos += 1;
        }
        let start = self.pos;
        match b.get(start)? {
            b'"' => match quoted_end(b, start + 1) {
                Some(end) => {
                    self.pos = end + 1;
                    Some(Ok(Item::Quoted(self.s.get(start + 1..end).unwrap_or(""))))
                }
                None => {
                    self.failed = true;
                    Some(Err(format!(
                        "unterminated quoted field {:?}",
                        clip(self.s.get(start..).unwrap_or(""))
                    )))
                }
            },
            _ => {
                let mut end = start;
                while let Some(&c) = b.get(end) {
                    if c == b' ' || c == b'\t' {
                        break;
                    }
                    // `key="a b"`: the quoted value belongs to the token.
                    if c == b'"' && end > start && b.get(end - 1) == Some(&b'=') {
                        end = quoted_end(b, end + 1).map_or(b.len(), |e| e + 1);
                        continue;
                    }
                    end += 1;
                }
                self.pos = end;
                Some(Ok(Item::Bare(self.s.get(start..end).unwrap_or(""))))
            }
        }
    }
}

/// Returns the index of the `"` that closes a quoted field whose content starts at `from`: the
/// first unescaped quote followed by a blank or the end of the line; failing that, the first
/// unescaped quote.
fn quoted_end(b: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    let mut first = None;
    while let Some(&c) = b.get(i) {
        match c {
            b'\\' => {
                i += 2;
                continue;
            }
            b'"' => {
                if matches!(b.get(i + 1), None | Some(b' ') | Some(b'\t')) {
                    return Some(i);
                }
                first.get_or_insert(i);
            }
            _ => {}
        }
        i += 1;
    }
    first
}

/// `2024/01/31 12:00:00 [error] ...`
fn is_nginx_error(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() > 21
        && b.get(..20).is_some_and(|h| {
            h.iter().enumerate().all(|(i, c)| match i {
                4 | 7 => *c == b'/',
                10 => *c == b' ',
                13 | 16 => *c == b':',
                19 => *c == b' ',
                _ => c.is_ascii_digit(),
            })
        })
        && b.get(20) == Some(&b'[')
}

/// `[Wed Oct 11 14:32:52 2000] [error] [client ...] ...`, `[core:error] [pid ...] ...`: one of
/// the first two bracket groups is `[module:level]` or `[level]`.
fn is_apache_error(s: &str) -> bool {
    let mut rest = s;
    for _ in 0..2 {
        let Some(r) = rest.strip_prefix('[') else {
            return false;
        };
        let Some(end) = r.find(']') else {
            return false;
        };
        let group = r.get(..end).unwrap_or("");
        let level = group.rsplit(':').next().unwrap_or("");
        let module_ok = group
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b':'));
        if module_ok
            && (matches!(
                level,
                "emerg" | "alert" | "crit" | "error" | "warn" | "notice" | "info" | "debug"
            ) || (level.starts_with("trace") && level.len() == 6))
        {
            return true;
        }
        rest = r.get(end + 1..).unwrap_or("").trim_start();
    }
    false
}

// ---------------------------------------------------------------------------------------------
// JSON lines

fn decode_json(
    extra: &mut String,
    offset_secs: i64,
    s: &str,
    raw: &[u8],
    line: u64,
    sink: &mut dyn RecordSink,
) {
    let map: serde_json::Map<String, serde_json::Value> = match serde_json::from_str(s) {
        Ok(m) => m,
        Err(e) => return sink.reject(line, &format!("invalid JSON line: {e}"), raw),
    };
    // Numbers become strings so every value is read the same way.
    let texts: Vec<(Var, &str, Cow<'_, str>)> = map
        .iter()
        .filter_map(|(k, v)| {
            let text = match v {
                serde_json::Value::String(s) => Cow::Borrowed(s.as_str()),
                serde_json::Value::Number(n) => Cow::Owned(n.to_string()),
                serde_json::Value::Bool(b) => Cow::Owned(b.to_string()),
                serde_json::Value::Null => return None,
                other => Cow::Owned(other.to_string()),
            };
            Some((Var::of_json_key(k), k.as_str(), text))
        })
        .collect();
    let mut vals = Vals::default();
    let mut w = Obj::new(extra);
    for (var, key, text) in &texts {
        let value: &str = text;
        if !vals.set(*var, value) && !is_placeholder(value) {
            match map.get(*key) {
                Some(serde_json::Value::String(_)) | None => w.str(key, value),
                Some(other) => w.raw(key, &other.to_string()),
            }
        }
    }
    let mut rec = HttpRecord {
        origin_line: line,
        ..HttpRecord::default()
    };
    if let Err(reason) = build(&vals, offset_secs, &mut rec, &mut w) {
        return sink.reject(line, &reason, raw);
    }
    let has_extra = w.finish();
    emit(rec, has_extra.then_some(extra.as_str()), sink);
}

// ---------------------------------------------------------------------------------------------
// Custom log formats

/// Compiles an nginx `log_format` (or Apache `LogFormat`) into a decoder for lines written with
/// it. Accepts the format as nginx.conf writes it (`log_format main '...' '...';`), the bare
/// string, or one of the names `combined`, `main`, `common`, `vhost_combined`. Errors describe
/// what is wrong with the format.
pub fn decoder_for_log_format(fmt: &str) -> Result<Box<dyn Decoder>, String> {
    decoder_for_log_format_ctx(fmt, &DecodeContext::default())
}

/// [`decoder_for_log_format`] with a context (for the UTC offset of times logged without one).
pub fn decoder_for_log_format_ctx(
    fmt: &str,
    ctx: &DecodeContext,
) -> Result<Box<dyn Decoder>, String> {
    let compiled = LogFormat::compile(fmt)?;
    Ok(Box::new(LogFormatDecoder {
        format: compiled,
        offset_secs: i64::from(ctx.utc_offset_secs.unwrap_or(0)),
        extra: String::new(),
        spans: Vec::new(),
        unescaped: Vec::new(),
    }))
}

const NGINX_COMBINED: &str = "$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent \"$http_referer\" \"$http_user_agent\"";
const NGINX_MAIN: &str = "$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent \"$http_referer\" \"$http_user_agent\" \"$http_x_forwarded_for\"";
const APACHE_COMMON: &str = "%h %l %u %t \"%r\" %>s %b";
const APACHE_VHOST_COMBINED: &str =
    "%v:%p %h %l %u %t \"%r\" %>s %O \"%{Referer}i\" \"%{User-Agent}i\"";

/// One piece of a compiled format.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Lit(String),
    Var(Var, String),
}

#[derive(Debug, Clone)]
struct LogFormat {
    pieces: Vec<Piece>,
    /// `escape=json`: values are JSON-escaped and are unescaped when read.
    json: bool,
}

impl LogFormat {
    fn compile(fmt: &str) -> Result<LogFormat, String> {
        let mut text = fmt.trim();
        let mut json = false;
        if let Some(rest) = text.strip_prefix("log_format") {
            // log_format NAME [escape=default|json|none] 'segment' ...;
            let mut rest = rest.trim_start();
            let name_end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            rest = rest.get(name_end..).unwrap_or("").trim_start();
            if let Some(r) = rest.strip_prefix("escape=") {
                let end = r.find(char::is_whitespace).unwrap_or(r.len());
                json = r.get(..end) == Some("json");
                rest = r.get(end..).unwrap_or("").trim_start();
            }
            text = rest;
        }
        let text = text.strip_suffix(';').unwrap_or(text).trim_end();
        let joined = join_quoted_segments(text)?;
        let body = match joined.as_deref().unwrap_or(text) {
            "combined" => NGINX_COMBINED,
            "main" => NGINX_MAIN,
            "common" => APACHE_COMMON,
            "vhost_combined" => APACHE_VHOST_COMBINED,
            other => other,
        };
        if body.is_empty() {
            return Err("empty log format".to_string());
        }
        let pieces = if !body.contains('$') && body.contains('%') {
            apache_pieces(body)?
        } else {
            nginx_pieces(body)?
        };
        for pair in pieces.windows(2) {
            if let [Piece::Var(_, a), Piece::Var(_, b)] = pair {
                return Err(format!(
                    "variables {a} and {b} follow each other with nothing between them: their values cannot be told apart"
                ));
            }
        }
        let has_time = pieces.iter().any(|p| {
            matches!(
                p,
                Piece::Var(
                    Var::TimeLocal | Var::TimeIso8601 | Var::Msec | Var::AnyTime,
                    _
                )
            )
        });
        if !has_time {
            return Err(
                "the format logs no time ($time_local, $time_iso8601, $msec or Apache %t)"
                    .to_string(),
            );
        }
        Ok(LogFormat { pieces, json })
    }
}

/// `'a' 'b'` or `"a" "b"` (nginx.conf segments) → `ab`; `None` when `s` is not quoted.
fn join_quoted_segments(s: &str) -> Result<Option<String>, String> {
    let mut chars = s.chars().peekable();
    let Some(&q0) = chars.peek() else {
        return Ok(None);
    };
    if q0 != '\'' && q0 != '"' {
        return Ok(None);
    }
    let mut out = String::new();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let Some(q) = chars.next() else {
            break;
        };
        if q != '\'' && q != '"' {
            return Err(format!(
                "unexpected {q:?} between quoted segments of the format"
            ));
        }
        let mut closed = false;
        while let Some(c) = chars.next() {
            if c == '\\' {
                if let Some(n) = chars.next() {
                    if n != q {
                        out.push('\\');
                    }
                    out.push(n);
                }
            } else if c == q {
                closed = true;
                break;
            } else {
                out.push(c);
            }
        }
        if !closed {
            return Err("unterminated quoted segment in the format".to_string());
        }
    }
    Ok(Some(out))
}

fn nginx_pieces(body: &str) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut lit = String::new();
    let mut rest = body;
    while let Some(i) = rest.find('$') {
        lit.push_str(rest.get(..i).unwrap_or(""));
        let after = rest.get(i + 1..).unwrap_or("");
        let (name, next) = if let Some(braced) = after.strip_prefix('{') {
            let end = braced
                .find('}')
                .ok_or("unterminated ${...} in the format")?;
            (
                braced.get(..end).unwrap_or(""),
                braced.get(end + 1..).unwrap_or(""),
            )
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (
                after.get(..end).unwrap_or(""),
                after.get(end..).unwrap_or(""),
            )
        };
        if name.is_empty() {
            lit.push('$');
        } else {
            if !lit.is_empty() {
                pieces.push(Piece::Lit(std::mem::take(&mut lit)));
            }
            pieces.push(Piece::Var(Var::of(name), name.to_string()));
        }
        rest = next;
    }
    lit.push_str(rest);
    if !lit.is_empty() {
        pieces.push(Piece::Lit(lit));
    }
    Ok(pieces)
}

/// Translates Apache `LogFormat` directives into the nginx variables with the same meaning.
fn apache_pieces(body: &str) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut lit = String::new();
    let mut chars = body.char_indices().peekable();
    let push_var = |pieces: &mut Vec<Piece>, lit: &mut String, var: Var, name: &str| {
        if !lit.is_empty() {
            pieces.push(Piece::Lit(std::mem::take(lit)));
        }
        pieces.push(Piece::Var(var, name.to_string()));
    };
    while let Some((_, c)) = chars.next() {
        if c == '\\' {
            // `\"` in an Apache config string.
            if let Some((_, n)) = chars.next() {
                lit.push(match n {
                    'n' => '\n',
                    't' => '\t',
                    other => other,
                });
            }
            continue;
        }
        if c != '%' {
            lit.push(c);
            continue;
        }
        // Modifiers: `<`, `>`, status conditions `!400,501`.
        while chars
            .peek()
            .is_some_and(|(_, m)| matches!(m, '<' | '>' | '!' | ',') || m.is_ascii_digit())
        {
            chars.next();
        }
        let mut arg = String::new();
        if chars.peek().is_some_and(|(_, m)| *m == '{') {
            chars.next();
            let mut closed = false;
            for (_, a) in chars.by_ref() {
                if a == '}' {
                    closed = true;
                    break;
                }
                arg.push(a);
            }
            if !closed {
                return Err("unterminated %{...} in the format".to_string());
            }
        }
        let Some((_, d)) = chars.next() else {
            return Err("format ends with a lone %".to_string());
        };
        let arg_l = arg.to_ascii_lowercase();
        let (var, name): (Var, String) = match d {
            '%' => {
                lit.push('%');
                continue;
            }
            'h' | 'a' => (Var::RemoteAddr, "remote_addr".into()),
            'l' => (Var::Other, "ident".into()),
            'u' => (Var::RemoteUser, "remote_user".into()),
            't' if arg.is_empty() => {
                lit.push('[');
                push_var(&mut pieces, &mut lit, Var::TimeLocal, "time_local");
                lit.push(']');
                continue;
            }
            't' if arg == "sec" => (Var::Msec, "time_sec".into()),
            't' => (Var::Other, format!("time_{arg}")),
            'r' => (Var::Request, "request".into()),
            's' => (Var::Status, "status".into()),
            'b' => (Var::BodyBytesClf, "body_bytes_sent".into()),
            'B' => (Var::BodyBytesSent, "body_bytes_sent".into()),
            'O' => (Var::BytesSent, "bytes_sent".into()),
            'I' => (Var::RequestLength, "request_length".into()),
            'D' => (Var::RequestTimeUs, "request_time_us".into()),
            'T' if arg_l == "ms" => (Var::Other, "request_time_ms".into()),
            'T' => (Var::RequestTime, "request_time".into()),
            'v' => (Var::ServerName, "server_name".into()),
            'V' => (Var::Host, "host".into()),
            'p' if arg.is_empty() || arg_l == "canonical" || arg_l == "local" => {
                (Var::ServerPort, "server_port".into())
            }
            'p' => (Var::RemotePort, "remote_port".into()),
            'A' => (Var::ServerAddr, "server_addr".into()),
            'U' => (Var::Uri, "uri".into()),
            'q' => (Var::Other, "query".into()),
            'm' => (Var::RequestMethod, "request_method".into()),
            'H' => (Var::ServerProtocol, "server_protocol".into()),
            'i' => match arg_l.as_str() {
                "referer" => (Var::Referer, "http_referer".into()),
                "user-agent" => (Var::UserAgent, "http_user_agent".into()),
                "x-forwarded-for" => (Var::Xff, "http_x_forwarded_for".into()),
                "host" => (Var::HttpHost, "http_host".into()),
                _ => (Var::Other, format!("http_{}", arg_l.replace('-', "_"))),
            },
            'o' if arg_l == "content-type" => (Var::ContentType, "sent_http_content_type".into()),
            'o' => (Var::Other, format!("sent_http_{}", arg_l.replace('-', "_"))),
            other => (Var::Other, format!("apache_{other}")),
        };
        push_var(&mut pieces, &mut lit, var, &name);
    }
    if !lit.is_empty() {
        pieces.push(Piece::Lit(lit));
    }
    Ok(pieces)
}

/// Decodes lines written with one compiled log format.
struct LogFormatDecoder {
    format: LogFormat,
    offset_secs: i64,
    extra: String,
    /// Reused: byte ranges of the values of the current line, one per variable piece.
    spans: Vec<(usize, usize)>,
    /// Reused: JSON-unescaped copies of values (escape=json only).
    unescaped: Vec<String>,
}

impl Decoder for LogFormatDecoder {
    fn decode(&mut self, unit: &[u8], line: u64, sink: &mut dyn RecordSink) {
        let text = String::from_utf8_lossy(unit);
        let s = text.trim_end();
        if s.trim_start().is_empty() {
            return;
        }
        if let Err(reason) = match_pieces(&self.format.pieces, s, &mut self.spans) {
            return sink.reject(line, &reason, unit);
        }
        // Unescape JSON-escaped values first (they must outlive the record).
        let mut n_unescaped = 0;
        if self.format.json {
            for &(a, b) in &self.spans {
                let v = s.get(a..b).unwrap_or("");
                if v.contains('\\') {
                    if self.unescaped.len() <= n_unescaped {
                        self.unescaped.push(String::new());
                    }
                    if let Some(buf) = self.unescaped.get_mut(n_unescaped) {
                        json_unescape_into(v, buf);
                    }
                    n_unescaped += 1;
                }
            }
        }
        let mut vals = Vals::default();
        let mut w = Obj::new(&mut self.extra);
        let mut k = 0;
        let vars = self.format.pieces.iter().filter_map(|p| match p {
            Piece::Var(v, name) => Some((*v, name.as_str())),
            Piece::Lit(_) => None,
        });
        for ((var, name), &(a, b)) in vars.zip(&self.spans) {
            let mut value = s.get(a..b).unwrap_or("");
            if self.format.json && value.contains('\\') {
                if let Some(u) = self.unescaped.get(k) {
                    value = u.as_str();
                }
                k += 1;
            }
            if !vals.set(var, value) && !is_placeholder(value) {
                w.str(name, value);
            }
        }
        let mut rec = HttpRecord {
            origin_line: line,
            ..HttpRecord::default()
        };
        if let Err(reason) = build(&vals, self.offset_secs, &mut rec, &mut w) {
            return sink.reject(line, &reason, unit);
        }
        let has_extra = w.finish();
        emit(rec, has_extra.then_some(self.extra.as_str()), sink);
    }
}

/// Matches `s` against the pieces, writing each variable's byte range to `spans`.
fn match_pieces(pieces: &[Piece], s: &str, spans: &mut Vec<(usize, usize)>) -> Result<(), String> {
    spans.clear();
    let b = s.as_bytes();
    let mut pos = 0usize;
    let mut i = 0usize;
    while let Some(piece) = pieces.get(i) {
        match piece {
            Piece::Lit(l) => {
                if !s.get(pos..).is_some_and(|r| r.starts_with(l.as_str())) {
                    return Err(format!(
                        "line does not match the log format: expected {:?} at byte {pos}",
                        clip(l)
                    ));
                }
                pos += l.len();
            }
            Piece::Var(var, name) => {
                let end = match pieces.get(i + 1) {
                    None => s.len(),
                    Some(Piece::Lit(next)) => {
                        let fixed = (*var == Var::TimeLocal).then(|| pos + 26).filter(|e| {
                            s.get(*e..).is_some_and(|r| r.starts_with(next.as_str()))
                                && s.get(pos..*e).is_some_and(|v| parse_clf_time(v).is_some())
                        });
                        match fixed {
                            Some(e) => e,
                            None => find_literal(b, pos, next.as_bytes()).ok_or_else(|| {
                                format!(
                                    "line does not match the log format: no {:?} after ${name}",
                                    clip(next)
                                )
                            })?,
                        }
                    }
                    Some(Piece::Var(..)) => return Err("adjacent variables".to_string()),
                };
                spans.push((pos, end));
                pos = end;
            }
        }
        i += 1;
    }
    if pos != s.len() {
        return Err(format!(
            "line does not match the log format: unexpected {:?} at the end",
            clip(s.get(pos..).unwrap_or(""))
        ));
    }
    Ok(())
}

/// Finds `lit` in `b` from `from`; an occurrence starting with a quote preceded by an odd number
/// of backslashes is an escaped quote and is skipped.
fn find_literal(b: &[u8], from: usize, lit: &[u8]) -> Option<usize> {
    let first = *lit.first()?;
    let mut i = from;
    loop {
        let at = i + memchr::memmem::find(b.get(i..)?, lit)?;
        if first == b'"' {
            let slashes = b
                .get(from..at)
                .map_or(0, |v| v.iter().rev().take_while(|c| **c == b'\\').count());
            if slashes % 2 == 1 {
                i = at + 1;
                continue;
            }
        }
        return Some(at);
    }
}

/// Decodes JSON string escapes (`\"`, `\\`, `\n`, `\uXXXX`...) of `s` into `out`.
fn json_unescape_into(s: &str, out: &mut String) {
    out.clear();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('b') => out.push('\u{8}'),
            Some('f') => out.push('\u{c}'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    Some(ch) => out.push(ch),
                    None => {
                        out.push_str("\\u");
                        out.push_str(&hex);
                    }
                }
            }
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers shared with the other web-log decoders (iis, squid, aws_alb)

pub(super) use crate::util::{clip, is_json_number, parse_u16, parse_u64};

/// An HTTP status: one to three digits (`000` is a status as logged by proxies for "none").
pub(super) fn parse_status(s: &str) -> Option<u16> {
    if s.is_empty() || s.len() > 3 {
        return None;
    }
    parse_u16(s)
}

pub(super) use crate::util::parse_ip_zoned as parse_ip;

/// Parses non-negative decimal seconds (`1564655684.277`, `0.5`) into microseconds.
pub(super) fn parse_secs_micros(s: &str) -> Option<i64> {
    crate::util::secs_micros(s, 100_000_000_000, 18)
}

/// Parses non-negative decimal seconds into whole milliseconds (`0.010` → 10, `2.75` → 2750).
pub(super) fn parse_secs_ms(s: &str) -> Option<u64> {
    parse_secs_micros(s).and_then(|us| u64::try_from(us / 1000).ok())
}

/// µs since the epoch of a civil date and time at `offset_secs` east of UTC, validated.
pub(super) fn civil_micros(
    date: (i64, u32, u32),
    time: (u32, u32, u32),
    micros: i64,
    offset_secs: i64,
) -> Option<i64> {
    let (y, mo, d) = date;
    let (h, mi, s) = time;
    if !(1..=12).contains(&mo)
        || !(1..=31).contains(&d)
        || h > 23
        || mi > 59
        || s > 60
        || !(0..=9999).contains(&y)
    {
        return None;
    }
    let days = days_from_civil(y, mo, d);
    let secs =
        days * 86_400 + i64::from(h) * 3600 + i64::from(mi) * 60 + i64::from(s) - offset_secs;
    Some(secs * 1_000_000 + micros)
}

fn digits(b: &[u8]) -> Option<u32> {
    if b.is_empty() || b.len() > 9 {
        return None;
    }
    let mut v = 0u32;
    for &c in b {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v * 10 + u32::from(d);
    }
    Some(v)
}

fn month(b: &[u8]) -> Option<u32> {
    let m = match b {
        [a, b, c] => [
            a.to_ascii_lowercase(),
            b.to_ascii_lowercase(),
            c.to_ascii_lowercase(),
        ],
        _ => return None,
    };
    Some(match &m {
        b"jan" => 1,
        b"feb" => 2,
        b"mar" => 3,
        b"apr" => 4,
        b"may" => 5,
        b"jun" => 6,
        b"jul" => 7,
        b"aug" => 8,
        b"sep" => 9,
        b"oct" => 10,
        b"nov" => 11,
        b"dec" => 12,
        _ => return None,
    })
}

/// A clock time, its µs and the bytes after it.
type Clock<'a> = ((u32, u32, u32), i64, &'a [u8]);

/// Parses `HH:MM:SS[.frac]` at the start of `b`; returns the time, the µs and the rest.
fn clock(b: &[u8]) -> Option<Clock<'_>> {
    if b.get(2) != Some(&b':') || b.get(5) != Some(&b':') {
        return None;
    }
    let t = (
        digits(b.get(0..2)?)?,
        digits(b.get(3..5)?)?,
        digits(b.get(6..8)?)?,
    );
    let mut rest = b.get(8..)?;
    let mut micros = 0i64;
    if let Some(frac) = rest.strip_prefix(b".").or_else(|| rest.strip_prefix(b",")) {
        let n = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        for i in 0..6 {
            micros = micros * 10
                + frac
                    .get(i)
                    .filter(|_| i < n)
                    .map_or(0, |c| i64::from(c - b'0'));
        }
        rest = frac.get(n..)?;
    }
    Some((t, micros, rest))
}

/// `+0200`, `-0700`, `+05:30` → seconds east of UTC.
fn tz_offset(b: &[u8]) -> Option<i64> {
    let (sign, rest) = match b.split_first()? {
        (b'+', r) => (1, r),
        (b'-', r) => (-1, r),
        _ => return None,
    };
    let (h, m) = match rest {
        [a, b, c, d] => (digits(&[*a, *b])?, digits(&[*c, *d])?),
        [a, b, b':', c, d] => (digits(&[*a, *b])?, digits(&[*c, *d])?),
        _ => return None,
    };
    if h > 23 || m > 59 {
        return None;
    }
    Some(sign * (i64::from(h) * 3600 + i64::from(m) * 60))
}

/// Parses the CLF time `10/Oct/2000:13:55:36 -0700` (fraction and offset optional; no offset
/// means UTC). Returns µs since the epoch.
pub(super) fn parse_clf_time(s: &str) -> Option<i64> {
    parse_bracket_time(s, 0).filter(|_| s.as_bytes().get(6) == Some(&b'/'))
}

/// Parses what access logs put between brackets: the CLF time (`10/Oct/2000:13:55:36 -0700`,
/// optional fraction and offset), `05/02/2025 11:30:29` (day/month/year) or RFC 3339. A time
/// without an offset is at `default_offset` seconds east of UTC.
pub(super) fn parse_bracket_time(s: &str, default_offset: i64) -> Option<i64> {
    let b = s.trim().as_bytes();
    if b.get(4) == Some(&b'-') {
        return parse_rfc3339(s);
    }
    if b.get(2) != Some(&b'/') {
        return None;
    }
    let day = digits(b.get(0..2)?)?;
    let (mo, rest) = if b.get(6) == Some(&b'/') {
        (month(b.get(3..6)?)?, b.get(7..)?)
    } else if b.get(5) == Some(&b'/') {
        (digits(b.get(3..5)?)?, b.get(6..)?)
    } else {
        return None;
    };
    let year = i64::from(digits(rest.get(0..4)?)?);
    let rest = match rest.get(4)? {
        b':' | b' ' => rest.get(5..)?,
        _ => return None,
    };
    let (t, micros, rest) = clock(rest)?;
    let offset = match rest {
        [] => default_offset,
        [b' ', tz @ ..] => tz_offset(tz)?,
        _ => return None,
    };
    civil_micros((year, mo, day), t, micros, offset)
}

/// A request line split into its parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct RequestLine<'a> {
    pub method: &'a str,
    pub target: &'a str,
    pub version: Option<&'a str>,
}

/// Splits `METHOD target [HTTP/x.y]`; `None` for anything else (`-`, junk bytes, TLS records).
/// A target with unescaped spaces is kept whole.
pub(super) fn split_request(r: &str) -> Option<RequestLine<'_>> {
    let (method, rest) = r.split_once(' ')?;
    let valid_method = method.len() <= 32
        && method
            .as_bytes()
            .first()
            .is_some_and(u8::is_ascii_alphabetic)
        && method
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_');
    if !valid_method {
        return None;
    }
    let rest = rest.trim();
    let (target, version) = match rest.rsplit_once(' ') {
        Some((t, v)) if v.starts_with("HTTP/") => (t.trim_end(), Some(v)),
        Some(_) => return None,
        None if rest.starts_with("HTTP/") => return None,
        None => (rest, None),
    };
    if target.is_empty() || target.bytes().any(|c| c < 0x20) {
        return None;
    }
    Some(RequestLine {
        method,
        target,
        version,
    })
}

pub(super) use crate::util::{push_json_str, ObjWriter as Obj};

/// Appends a JSON array of strings.
pub(super) fn push_str_array(out: &mut String, items: &[&str]) {
    out.push('[');
    for (i, v) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_json_str(out, v);
    }
    out.push(']');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(
            parse_bracket_time("10/Oct/2000:13:55:36 -0700", 0),
            Some(971_211_336_000_000)
        );
        assert_eq!(
            parse_bracket_time("22/Jan/2019:03:56:14 +0330", 0),
            parse_rfc3339("2019-01-22T00:26:14Z")
        );
        assert_eq!(
            parse_bracket_time("10/Oct/2000:13:55:36.250 +0000", 0),
            Some(971_186_136_250_000)
        );
        assert_eq!(
            parse_bracket_time("10/Oct/2000:13:55:36", 3600),
            Some(971_182_536_000_000)
        );
        assert_eq!(
            parse_bracket_time("05/02/2025 11:30:29", 0),
            parse_rfc3339("2025-02-05T11:30:29Z")
        );
        assert_eq!(
            parse_bracket_time("2000-10-10T20:55:36Z", 0),
            Some(971_211_336_000_000)
        );
        for bad in [
            "",
            "-",
            "1234",
            "10/Foo/2000:13:55:36 +0000",
            "10/Oct/2000:25:55:36 +0000",
            "10/Oct/2000:13:55:36 +07",
            "32/Oct/2000:13:55:36 +0000",
        ] {
            assert_eq!(parse_bracket_time(bad, 0), None, "{bad}");
        }
        assert_eq!(
            parse_secs_micros("1564655684.277"),
            Some(1_564_655_684_277_000)
        );
        assert_eq!(parse_secs_ms("0.010"), Some(10));
        assert_eq!(parse_secs_ms("2.75"), Some(2750));
        assert_eq!(parse_secs_ms("-"), None);
    }

    #[test]
    fn request_lines() {
        let r = split_request("GET /a?b=1 HTTP/1.1").expect("valid");
        assert_eq!(
            (r.method, r.target, r.version),
            ("GET", "/a?b=1", Some("HTTP/1.1"))
        );
        let r = split_request("CONNECT example.com:443 HTTP/1.1").expect("valid");
        assert_eq!(r.target, "example.com:443");
        let r = split_request("GET /old").expect("HTTP/0.9");
        assert_eq!((r.target, r.version), ("/old", None));
        let r = split_request("GET /a b HTTP/1.0").expect("space in target");
        assert_eq!(r.target, "/a b");
        for junk in [
            "-",
            "",
            "\\x16\\x03\\x01\\x00",
            "- - HTTP/1.0",
            "<SCRIPT>X</SCRIPT> / HTTP/1.1",
            "GET",
            "GET  HTTP/1.1",
            "\\n",
        ] {
            assert_eq!(split_request(junk), None, "{junk}");
        }
    }

    #[test]
    fn items_split_quotes() {
        let items: Vec<Item<'_>> = Items::new(r#" "GET / HTTP/1.1" 200 - "a \"b\" c" "x"y z" X-Forwarded-For="1.2.3.4, 5.6.7.8" tail"#)
            .map(|i| i.expect("item"))
            .collect();
        assert_eq!(
            items,
            [
                Item::Quoted("GET / HTTP/1.1"),
                Item::Bare("200"),
                Item::Bare("-"),
                Item::Quoted(r#"a \"b\" c"#),
                Item::Quoted(r#"x"y z"#),
                Item::Bare(r#"X-Forwarded-For="1.2.3.4, 5.6.7.8""#),
                Item::Bare("tail"),
            ]
        );
    }

    #[test]
    fn error_lines() {
        assert!(is_nginx_error(
            "2019/08/25 23:59:53 [error] 9841#9841: *1 x"
        ));
        assert!(!is_nginx_error("2019/08/25 23:59:53 error"));
        assert!(is_apache_error(
            "[Wed Oct 11 14:32:52 2000] [error] [client 127.0.0.1] x"
        ));
        assert!(is_apache_error(
            "[security2:error] [pid 11852:tid 4036848496] x"
        ));
        assert!(is_apache_error(
            "[01/Mar/2021:12:00:19 +0000] [ab:alert] [pid 4803:tid 3814] x"
        ));
        assert!(!is_apache_error(
            "[10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.0\" 200 1"
        ));
    }

    #[test]
    fn formats_compile() {
        let f = LogFormat::compile("log_format main '$remote_addr - $remote_user [$time_local] \"$request\" '\n  '$status $body_bytes_sent';")
            .expect("compiles");
        assert_eq!(
            f.pieces,
            [
                Piece::Var(Var::RemoteAddr, "remote_addr".into()),
                Piece::Lit(" - ".into()),
                Piece::Var(Var::RemoteUser, "remote_user".into()),
                Piece::Lit(" [".into()),
                Piece::Var(Var::TimeLocal, "time_local".into()),
                Piece::Lit("] \"".into()),
                Piece::Var(Var::Request, "request".into()),
                Piece::Lit("\" ".into()),
                Piece::Var(Var::Status, "status".into()),
                Piece::Lit(" ".into()),
                Piece::Var(Var::BodyBytesSent, "body_bytes_sent".into()),
            ]
        );
        let a = LogFormat::compile(r#"%h %l %u %t \"%r\" %>s %b"#).expect("apache");
        let b = LogFormat::compile("common").expect("named");
        assert_eq!(a.pieces, b.pieces);
        assert!(LogFormat::compile("$remote_addr$remote_user [$time_local]").is_err());
        assert!(
            LogFormat::compile("$remote_addr $status").is_err(),
            "no time"
        );
        assert!(LogFormat::compile("").is_err());
        assert!(LogFormat::compile("'unterminated").is_err());
        assert!(
            LogFormat::compile("log_format j escape=json '{\"t\":\"$time_iso8601\"}';")
                .expect("json")
                .json
        );
    }
}
