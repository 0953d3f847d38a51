//! Squid `access.log` in Squid's native format.
//!
//! ```text
//! logformat squid %ts.%03tu %6tr %>a %Ss/%03>Hs %<st %rm %ru %[un %Sh/%<a %mt
//! 1706781600.123    245 10.1.2.3 TCP_MISS/200 5120 GET http://www.example.com/index.html - HIER_DIRECT/93.184.216.34 text/html
//! 1706781601.456  30120 10.1.2.3 TCP_TUNNEL/200 48213 CONNECT api.example.org:443 alice HIER_DIRECT/203.0.113.9 -
//! 1706781602.789      0 10.1.2.4 TCP_DENIED/403 3868 CONNECT 1.2.3.4:80 - HIER_NONE/- text/html
//! ```
//!
//! Values are separated by runs of blanks (the elapsed time is right-aligned). Setups that append
//! `"%{Referer}>h" "%{User-Agent}>h"` are read too; anything after them goes to
//! `extra.trailing`.
//!
//! | field | column |
//! |---|---|
//! | `%ts.%03tu` (epoch, ms) | `time`: when the transaction **ended** (Squid writes the line then; a CONNECT tunnel appears once, when it closes) |
//! | `%6tr` (elapsed ms) | `duration_ms` |
//! | `%>a` | `client_ip` (a host name with `log_fqdn` → `extra.client_host`) |
//! | `%Ss` / `%03>Hs` | `extra.result_code` (`TCP_MISS`, `TCP_DENIED`, `NONE_NONE`...) / `status` (`000`, no reply, is `None`) |
//! | `%<st` | `bytes_in` (to the client, headers included) |
//! | `%rm` | `method` (`-` for transactions without a request) |
//! | `%ru` | `url`, `scheme`, `host`, `domain`, `path`, `query`, `server_port` via the URL model; a CONNECT target is `host:port`. Not a URL (`error:transaction-end-before-headers`, or no method) → `extra.url` |
//! | `%[un` | `user` |
//! | `%Sh` / `%<a` | `extra.hierarchy` (`HIER_DIRECT`, `HIER_NONE`, `FIRSTUP_PARENT`...) / `server_ip` (the server or peer Squid contacted; a name → `extra.peer_host`) |
//! | `%mt` | `content_type` |
//!
//! **Action**: a result code containing `DENIED` (`TCP_DENIED`, `TCP_DENIED_REPLY`...) is
//! `denied`; `NONE...` codes (the transaction ended before a request or reply) leave `action`
//! `None`; every other code is `allowed`.
//!
//! Squid's `common` and `combined` log formats (`%>a %[ui %[un [%tl] "%rm %ru HTTP/%rv" ...`)
//! are the web-server formats: detection gives them to `nginx`, and a `squid` decoder hands
//! such lines to the same code.
//!
//! ## References
//!
//! * Squid, *squid.conf: logformat*; Squid wiki *SquidFaq/SquidLogs* (result and hierarchy
//!   codes).
//! * flowtrail's format research notes (`docs/formats.md` of the shared docs), section 9.4.

use std::borrow::Cow;

use flowtrail_schema::{Action, HttpRecord, RecordSink};

use super::nginx::{
    clip, emit, is_placeholder, parse_ip, parse_secs_micros, parse_status, parse_u64, set_client,
    ClfDecoder, Item, Items, Obj, TrailingWriter,
};
use super::url::fill_http_url;
use crate::{Confidence, DecodeContext, Decoder, Format, RecordKind};

/// Squid native access.log.
pub struct Squid;

impl Format for Squid {
    fn name(&self) -> &'static str {
        "squid"
    }

    fn description(&self) -> &'static str {
        "Squid native access.log (epoch time, result/status, hierarchy, MIME type)"
    }

    fn record_kind(&self) -> RecordKind {
        RecordKind::Http
    }

    fn decoder(&self, ctx: &DecodeContext) -> Box<dyn Decoder> {
        Box::new(SquidDecoder {
            clf: ClfDecoder::nginx(ctx),
            extra: String::new(),
        })
    }

    fn sniff(&self, prefix: &[u8]) -> Confidence {
        sniff(prefix)
    }
}

/// Certain when the first data lines are native Squid lines; likely when most of them are.
fn sniff(prefix: &[u8]) -> Confidence {
    let mut lines: Vec<&[u8]> = prefix.split(|b| *b == b'\n').collect();
    if lines.len() > 1 && prefix.last() != Some(&b'\n') {
        lines.pop();
    }
    let (mut native, mut other) = (0, 0);
    for line in lines.into_iter().take(16) {
        let text = String::from_utf8_lossy(line);
        if text.trim().is_empty() {
            continue;
        }
        if is_native(&text) {
            native += 1;
        } else {
            other += 1;
        }
    }
    if native > 0 && other == 0 {
        Confidence::Certain
    } else if native > other {
        Confidence::Likely
    } else {
        Confidence::No
    }
}

/// `1564655684.277 3387 192.168.0.1 TCP_TUNNEL/200 ...` with at least ten fields.
fn is_native(line: &str) -> bool {
    let mut t = line.split_ascii_whitespace();
    let (Some(time), Some(elapsed), Some(_), Some(code)) = (t.next(), t.next(), t.next(), t.next())
    else {
        return false;
    };
    let epoch = time.split_once('.').is_some_and(|(s, ms)| {
        (9..=11).contains(&s.len()) && parse_u64(s).is_some() && parse_u64(ms).is_some()
    });
    let result = code.split_once('/').is_some_and(|(c, st)| {
        !c.is_empty()
            && c.bytes().all(|b| b.is_ascii_uppercase() || b == b'_')
            && st.len() == 3
            && parse_u64(st).is_some()
    });
    epoch && parse_u64(elapsed).is_some() && result && t.count() >= 6
}

/// Decodes Squid native lines (and hands common-log lines to the web-server decoder).
pub struct SquidDecoder {
    clf: ClfDecoder,
    extra: String,
}

impl Decoder for SquidDecoder {
    fn decode(&mut self, unit: &[u8], line: u64, sink: &mut dyn RecordSink) {
        let text = String::from_utf8_lossy(unit);
        let s = text.trim();
        if s.is_empty() {
            return;
        }
        if !s.as_bytes().first().is_some_and(u8::is_ascii_digit) || !is_epoch_start(s) {
            // `%>a %[ui %[un [%tl] "%rm %ru HTTP/%rv" ...`: Squid's common/combined formats.
            return self.clf.decode(unit, line, sink);
        }
        if let Err(reason) = decode_native(&mut self.extra, s, line, sink) {
            sink.reject(line, &reason, unit);
        }
    }
}

/// Whether the line starts with `digits.digits` (the native format's time).
fn is_epoch_start(s: &str) -> bool {
    let first = s.split_ascii_whitespace().next().unwrap_or("");
    first
        .split_once('.')
        .is_some_and(|(a, b)| parse_u64(a).is_some() && parse_u64(b).is_some())
}

fn decode_native(
    extra: &mut String,
    s: &str,
    line: u64,
    sink: &mut dyn RecordSink,
) -> Result<(), String> {
    let bad = |field: &str, v: &str| format!("bad {field} {:?}", clip(v));
    // The ten native fields, then whatever follows (quoted headers).
    let mut f: [&str; 10] = [""; 10];
    let mut rest = s;
    for (i, slot) in f.iter_mut().enumerate() {
        rest = rest.trim_start();
        let end = rest.find([' ', '\t']).unwrap_or(rest.len());
        *slot = rest.get(..end).unwrap_or("");
        if slot.is_empty() {
            return Err(format!("{i} fields, the native Squid format has 10"));
        }
        rest = rest.get(end..).unwrap_or("");
    }
    let [time, elapsed, client, result, bytes, method, url, user, hier, mime] = f;
    let mut rec = HttpRecord {
        origin_line: line,
        time: parse_secs_micros(time).ok_or_else(|| bad("time", time))?,
        duration_ms: Some(parse_u64(elapsed).ok_or_else(|| bad("elapsed", elapsed))?),
        ..HttpRecord::default()
    };
    let mut w = Obj::new(extra);
    set_client(&mut rec, &mut w, client);
    let (code, status) = result
        .split_once('/')
        .ok_or_else(|| bad("result code", result))?;
    let status = parse_status(status).ok_or_else(|| bad("status", status))?;
    rec.status = (status != 0).then_some(status);
    w.str("result_code", code);
    rec.action = if code.contains("DENIED") {
        Some(Action::Denied)
    } else if code.starts_with("NONE") {
        None
    } else {
        Some(Action::Allowed)
    };
    if !is_placeholder(bytes) {
        rec.bytes_in = Some(parse_u64(bytes).ok_or_else(|| bad("bytes", bytes))?);
    }
    if !is_placeholder(method) {
        rec.method = Some(Cow::Borrowed(method));
    }
    if rec.method.is_none() || url.starts_with("error:") {
        if !is_placeholder(url) {
            w.str("url", url);
        }
    } else if !is_placeholder(url) {
        fill_http_url(&mut rec, url);
    }
    if !is_placeholder(user) {
        rec.user = Some(Cow::Borrowed(user));
    }
    let (hier_code, peer) = hier.split_once('/').unwrap_or((hier, "-"));
    if !is_placeholder(hier_code) {
        w.str("hierarchy", hier_code);
    }
    if !is_placeholder(peer) {
        match parse_ip(peer) {
            Some(ip) => rec.server_ip = Some(ip),
            None => w.str("peer_host", peer),
        }
    }
    if !is_placeholder(mime) {
        rec.content_type = Some(Cow::Borrowed(mime));
    }
    // Appended request headers: referrer, then user agent.
    let mut quoted = 0;
    let mut trailing = TrailingWriter::default();
    for item in Items::new(rest) {
        match item? {
            Item::Quoted(q) if quoted < 2 => {
                if !is_placeholder(q) {
                    if quoted == 0 {
                        rec.referrer = Some(Cow::Borrowed(q));
                    } else {
                        rec.user_agent = Some(Cow::Borrowed(q));
                    }
                }
                quoted += 1;
            }
            Item::Quoted(v) | Item::Bare(v) => trailing.push(&mut w, v),
        }
    }
    trailing.finish(&mut w);
    let has_extra = w.finish();
    emit(rec, has_extra.then_some(extra.as_str()), sink);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_lines_are_recognised() {
        assert!(is_native(
            "1564655684.277   3387 192.168.0.1 TCP_TUNNEL/200 19131 CONNECT example.org:443 - HIER_DIRECT/example.org -"
        ));
        assert!(!is_native(
            "1.2.3.4 - johndoe [05/02/2025 11:30:29] \"GET https://sub.example.com/1.png HTTP/1.1\" 200 -"
        ));
        assert!(!is_native("1564655684.277 3387 192.168.0.1 TCP_TUNNEL/200"));
    }
}
