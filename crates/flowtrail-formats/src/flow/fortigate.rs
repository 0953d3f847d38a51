//! Fortinet FortiGate (FortiOS) traffic logs: `key=value` pairs over syslog.
//!
//! Each line is one log: an optional syslog header (FortiOS itself sends only `<PRI>`; a daemon
//! writing files prepends its time and host, see [`crate::envelope::syslog`]), then pairs
//! `key=value` separated by spaces — or by commas in the `csv` syslog format
//! (`date=2018-07-26,time=16:51:36,...`; the separator is the one after the first pair). Values
//! are bare (`srcport=58012`) or double-quoted (`srcintf="port12"`, which may hold spaces,
//! commas and `=`; `\"` and `\\` are unescaped, other backslashes kept). Keys may come in any order.
//!
//! # What is stored
//!
//! * `type=traffic` logs become rows (subtypes `forward`, `local`, `multicast`, `sniffer`...).
//! * Other types (`utm`, `event`, `anomaly`, `dns`...) are skipped with a reason.
//! * **Session-start logs** (`action=start`, written with "log at session start") are skipped
//!   — the end log carries the totals — and so are **interim statistics logs** of long sessions
//!   (log id `...000020`, `LOG_ID_TRAFFIC_STAT`): they repeat the session's cumulative counters
//!   every few minutes, and summing them with the end log would count the bytes several times.
//!   [`FortigateDecoder::keep_start_logs`] and [`FortigateDecoder::keep_interim_logs`] keep them
//!   (interim rows then carry the cumulative counters and `flow_state` `interim`; the deltas are
//!   in `extra`).
//! * The CEF rendering (`CEF:0|Fortinet|Fortigate|...`) is skipped: only key=value is decoded.
//!
//! # Field mapping
//!
//! | column | FortiGate key |
//! |---|---|
//! | `time` | end − `duration` (seconds), else the log time |
//! | `end_time` | the log time when the log has a `duration` (session-end logs) |
//! | log time | `eventtime` (epoch; unit by magnitude: s, ms, µs or ns — FortiOS writes 10- and 19-digit values), else `date` + `time` in the `tz` offset (`+0100`), else in [`DecodeContext::utc_offset_secs`] |
//! | `src_ip`, `src_port`, `dst_ip`, `dst_port` | `srcip`, `srcport`, `dstip`, `dstport` (initiator, responder) |
//! | `protocol` | `proto` |
//! | `bytes_out`, `bytes_in` | `sentbyte`, `rcvdbyte` |
//! | `packets_out`, `packets_in` | `sentpkt`, `rcvdpkt` |
//! | `action` | `accept`, `close`, `timeout`, `server-rst`, `client-rst`, `ip-conn`, `start` → allowed; `deny`, `blocked`, `block`, `drop`, `reject` → denied; others empty |
//! | `flow_state` | `action` as logged (`close`, `timeout`, `client-rst`...); `interim` for kept interim logs |
//! | `rule` | `policyid` (`0` = implicit deny) |
//! | `user` | `user`, else `unauthuser` |
//! | `device` | `devname`, else the syslog host, else `devid` |
//! | `nat_src_ip`, `nat_dst_ip` | `transip` (SNAT), `tranip` (DNAT); `0.0.0.0` = none |
//! | `extra` | `logid`, `subtype`, `devid`, `vd`, `sessionid`, `srcintf`, `dstintf`, `srcintfrole`, `dstintfrole`, `policyname`, `policytype`, `poluuid`, `service`, `app`, `appcat`, `trandisp`, `transport`, `tranport`, `srccountry`, `dstcountry`, `srcname`, `srcmac`, `dstmac`, `utmaction`, `sentdelta`, `rcvddelta`, `duration`, `msg`, `group`, `vpn` (those present) |
//!
//! A missing `srcip`/`dstip`, an invalid address, port or counter rejects the line with the key
//! and value named.
//!
//! ## Sample (Fortinet *Log Message Reference*, `LOG_ID_TRAFFIC_END_FORWARD`, shortened)
//!
//! ```text
//! date=2019-05-10 time=11:37:47 logid="0000000013" type="traffic" subtype="forward" level="notice" vd="vdom1" eventtime=1557513467369913239 srcip=10.1.100.11 srcport=58012 srcintf="port12" dstip=203.0.113.35 dstport=80 dstintf="port11" sessionid=105048 proto=6 action="close" policyid=1 service="HTTP" trandisp="snat" transip=172.16.200.2 transport=58012 duration=116 sentbyte=1188 rcvdbyte=1224 sentpkt=17 rcvdpkt=16
//! ```
//!
//! ## References
//!
//! * Fortinet, *FortiOS Log Message Reference* (traffic log fields, log ids, action values).
//! * flowtrail's format research notes (`docs/formats.md` of the shared docs), section 6.

use std::borrow::Cow;
use std::net::IpAddr;

use flowtrail_schema::{Action, FlowRecord, RecordSink};

use crate::envelope::syslog::{self, Clock};
use crate::envelope::{clip, ip_or_none, parse_ip, parse_u16, parse_u64, Extra};
use crate::{Confidence, DecodeContext, Decoder, Format};

const SKIP_NOT_TRAFFIC: &str = "fortigate: not a traffic log (type is not `traffic`)";
const SKIP_START: &str = "fortigate: session start log (the end log carries the totals)";
const SKIP_INTERIM: &str =
    "fortigate: interim statistics log of a long session (the end log carries the totals)";
const SKIP_CEF: &str = "fortigate: CEF rendering (only the key=value format is decoded)";

/// FortiGate traffic logs (key=value).
pub struct Fortigate;

impl Format for Fortigate {
    fn name(&self) -> &'static str {
        "fortigate"
    }
    fn description(&self) -> &'static str {
        "Fortinet FortiGate traffic logs (key=value syslog; start and interim logs skipped)"
    }
    fn decoder(&self, ctx: &DecodeContext) -> Box<dyn Decoder> {
        Box::new(FortigateDecoder::new(ctx))
    }
    fn sniff(&self, prefix: &[u8]) -> Confidence {
        let has = |n: &[u8]| memchr::memmem::find(prefix, n).is_some();
        if has(b"logid=") && has(b"type=") {
            Confidence::Certain
        } else if has(b"devname=") && has(b"srcip=") {
            Confidence::Likely
        } else {
            Confidence::No
        }
    }
}

/// Decodes one input of FortiGate key=value logs.
pub struct FortigateDecoder {
    clock: Clock,
    keep_start: bool,
    keep_interim: bool,
    extra_pairs: Vec<(Val, Val)>,
    extra: Extra,
}

impl FortigateDecoder {
    /// Builds a decoder for one input (skipping start and interim logs).
    pub fn new(ctx: &DecodeContext) -> FortigateDecoder {
        FortigateDecoder {
            clock: Clock::new(ctx),
            keep_start: false,
            keep_interim: false,
            extra_pairs: Vec::with_capacity(32),
            extra: Extra::default(),
        }
    }

    /// Stores session-start logs (`action=start`) as rows too.
    pub fn keep_start_logs(mut self, keep: bool) -> FortigateDecoder {
        self.keep_start = keep;
        self
    }

    /// Stores interim statistics logs (log id `...000020`) as rows too.
    pub fn keep_interim_logs(mut self, keep: bool) -> FortigateDecoder {
        self.keep_interim = keep;
        self
    }
}

/// A value's byte range in the message and whether it holds backslash escapes.
#[derive(Debug, Clone, Copy, Default)]
struct Val {
    start: usize,
    end: usize,
    escaped: bool,
}

impl Val {
    fn raw<'a>(&self, msg: &'a [u8]) -> &'a [u8] {
        msg.get(self.start..self.end).unwrap_or_default()
    }

    fn text<'a>(&self, msg: &'a [u8]) -> Cow<'a, str> {
        let raw = String::from_utf8_lossy(self.raw(msg));
        if !self.escaped {
            return raw;
        }
        let mut out = String::with_capacity(raw.len());
        let mut chars = raw.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                // Only `\"` and `\\` are escapes; other backslashes are data (`DOMAIN\user`).
                match chars.next() {
                    Some(n @ ('"' | '\\')) => out.push(n),
                    Some(n) => {
                        out.push('\\');
                        out.push(n);
                    }
                    None => out.push('\\'),
                }
            } else {
                out.push(c);
            }
        }
        Cow::Owned(out)
    }
}

/// The keys the decoder maps to columns.
#[derive(Debug, Default)]
struct Known {
    ty: Option<Val>,
    logid: Option<Val>,
    eventtime: Option<Val>,
    date: Option<Val>,
    time: Option<Val>,
    tz: Option<Val>,
    srcip: Option<Val>,
    dstip: Option<Val>,
    srcport: Option<Val>,
    dstport: Option<Val>,
    proto: Option<Val>,
    sentbyte: Option<Val>,
    rcvdbyte: Option<Val>,
    sentpkt: Option<Val>,
    rcvdpkt: Option<Val>,
    action: Option<Val>,
    policyid: Option<Val>,
    user: Option<Val>,
    unauthuser: Option<Val>,
    duration: Option<Val>,
    devname: Option<Val>,
    devid: Option<Val>,
    transip: Option<Val>,
    tranip: Option<Val>,
}

/// Keys copied to `extra` when present.
fn extra_key(key: &[u8]) -> bool {
    matches!(
        key,
        b"logid"
            | b"subtype"
            | b"devid"
            | b"vd"
            | b"sessionid"
            | b"srcintf"
            | b"dstintf"
            | b"srcintfrole"
            | b"dstintfrole"
            | b"policyname"
            | b"policytype"
            | b"poluuid"
            | b"service"
            | b"app"
            | b"appcat"
            | b"trandisp"
            | b"transport"
            | b"tranport"
            | b"srccountry"
            | b"dstcountry"
            | b"srcname"
            | b"srcmac"
            | b"dstmac"
            | b"utmaction"
            | b"sentdelta"
            | b"rcvddelta"
            | b"duration"
            | b"msg"
            | b"group"
            | b"vpn"
    )
}

/// Walks the pairs of `msg`, calling `f(key, value)` with their ranges for each.
fn pairs(msg: &[u8], mut f: impl FnMut(Val, Val)) {
    let mut i = 0;
    let mut sep: Option<u8> = None;
    let is_sep = |b: u8, sep: Option<u8>| b == b' ' || b == b'\t' || Some(b) == sep;
    while i < msg.len() {
        // Skip separators.
        while msg.get(i).is_some_and(|b| is_sep(*b, sep)) {
            i += 1;
        }
        let key_start = i;
        while msg
            .get(i)
            .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-' || *b == b'.')
        {
            i += 1;
        }
        let key = Val {
            start: key_start,
            end: i,
            escaped: false,
        };
        if i == key_start || msg.get(i) != Some(&b'=') {
            // Not a pair: skip this token.
            while msg.get(i).is_some_and(|b| !is_sep(*b, sep)) {
                i += 1;
            }
            if i == key_start {
                i += 1;
            }
            continue;
        }
        i += 1;
        let val = if msg.get(i) == Some(&b'"') {
            let start = i + 1;
            let mut j = start;
            let mut escaped = false;
            loop {
                match msg.get(j) {
                    None | Some(b'"') => break,
                    Some(b'\\') => {
                        escaped = true;
                        j += 2;
                    }
                    Some(_) => j += 1,
                }
            }
            let end = j.min(msg.len());
            i = end + 1;
            Val {
                start,
                end,
                escaped,
            }
        } else {
            let start = i;
            while msg
                .get(i)
                .is_some_and(|b| !is_sep(*b, sep) && (sep.is_some() || *b != b','))
            {
                i += 1;
            }
            Val {
                start,
                end: i,
                escaped: false,
            }
        };
        if sep.is_none() {
            sep = Some(if msg.get(i) == Some(&b',') {
                b','
            } else {
                b' '
            });
        }
        f(key, val);
    }
}

/// Parses `+HHMM`, `-HH:MM` or `+HH` as seconds.
fn tz_offset(s: &str) -> Option<i32> {
    let b = s.trim().as_bytes();
    let sign = match b.first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digits: Vec<u8> = b.get(1..)?.iter().copied().filter(|c| *c != b':').collect();
    let (h, m) = match digits.len() {
        4 => (parse_u64(digits.get(..2)?)?, parse_u64(digits.get(2..)?)?),
        2 => (parse_u64(&digits)?, 0),
        _ => return None,
    };
    i32::try_from(h * 3600 + m * 60).ok().map(|v| sign * v)
}

/// Converts an epoch in s, ms, µs or ns (by magnitude) to µs.
fn epoch_micros(v: u64) -> i64 {
    let micros = if v < 100_000_000_000 {
        v.saturating_mul(1_000_000)
    } else if v < 100_000_000_000_000 {
        v.saturating_mul(1_000)
    } else if v < 100_000_000_000_000_000 {
        v
    } else {
        v / 1_000
    };
    i64::try_from(micros).unwrap_or(i64::MAX)
}

impl Decoder for FortigateDecoder {
    fn decode(&mut self, unit: &[u8], line: u64, sink: &mut dyn RecordSink) {
        if unit.iter().all(u8::is_ascii_whitespace) {
            return;
        }
        let header = syslog::parse(unit);
        let msg = header.message;
        if msg.starts_with(b"CEF:") || memchr::memmem::find(msg, b"|Fortinet|").is_some() {
            return sink.skip(line, SKIP_CEF);
        }
        let mut k = Known::default();
        let extra_pairs = &mut self.extra_pairs;
        extra_pairs.clear();
        pairs(msg, |kv, v| {
            let key = kv.raw(msg);
            let slot = match key {
                b"type" => &mut k.ty,
                b"logid" => &mut k.logid,
                b"eventtime" => &mut k.eventtime,
                b"date" => &mut k.date,
                b"time" => &mut k.time,
                b"tz" => &mut k.tz,
                b"srcip" => &mut k.srcip,
                b"dstip" => &mut k.dstip,
                b"srcport" => &mut k.srcport,
                b"dstport" => &mut k.dstport,
                b"proto" => &mut k.proto,
                b"sentbyte" => &mut k.sentbyte,
                b"rcvdbyte" => &mut k.rcvdbyte,
                b"sentpkt" => &mut k.sentpkt,
                b"rcvdpkt" => &mut k.rcvdpkt,
                b"action" => &mut k.action,
                b"policyid" => &mut k.policyid,
                b"user" => &mut k.user,
                b"unauthuser" => &mut k.unauthuser,
                b"duration" => &mut k.duration,
                b"devname" => &mut k.devname,
                b"devid" => &mut k.devid,
                b"transip" => &mut k.transip,
                b"tranip" => &mut k.tranip,
                _ => &mut None,
            };
            if slot.is_none() {
                *slot = Some(v);
            }
            if extra_key(key) && extra_pairs.len() < 64 {
                extra_pairs.push((kv, v));
            }
        });
        let text = |v: Option<Val>| v.map(|v| v.text(msg));
        let Some(ty) = text(k.ty) else {
            return sink.reject(
                line,
                "not a FortiGate key=value log (no `type` field)",
                unit,
            );
        };
        if ty != "traffic" {
            return sink.skip(line, SKIP_NOT_TRAFFIC);
        }
        let action_text = text(k.action);
        if action_text.as_deref() == Some("start") && !self.keep_start {
            return sink.skip(line, SKIP_START);
        }
        let logid = text(k.logid);
        let interim = logid
            .as_deref()
            .is_some_and(|id| id.len() == 10 && id.ends_with("000020"));
        if interim && !self.keep_interim {
            return sink.skip(line, SKIP_INTERIM);
        }
        match self.row(&k, msg, line, header.host, interim) {
            Ok(row) => sink.flow(&row),
            Err(reason) => sink.reject(line, &reason, unit),
        }
    }
}

impl FortigateDecoder {
    fn row<'a>(
        &'a mut self,
        k: &Known,
        msg: &'a [u8],
        line: u64,
        host: Option<&'a str>,
        interim: bool,
    ) -> Result<FlowRecord<'a>, String> {
        let text = |v: Option<Val>| v.map(|v| v.text(msg));
        let bad = |key: &str, v: &str| format!("bad {key} {:?}", clip(v, 64));
        let ip = |key: &str, v: Option<Val>| -> Result<Option<IpAddr>, String> {
            match text(v) {
                None => Ok(None),
                Some(t) if t.trim().is_empty() => Ok(None),
                Some(t) => parse_ip(t.trim()).map(Some).ok_or_else(|| bad(key, &t)),
            }
        };
        let num = |key: &str, v: Option<Val>| -> Result<Option<u64>, String> {
            match text(v) {
                None => Ok(None),
                Some(t) if t.trim().is_empty() => Ok(None),
                Some(t) => parse_u64(t.trim().as_bytes())
                    .map(Some)
                    .ok_or_else(|| bad(key, &t)),
            }
        };
        let port = |key: &str, v: Option<Val>| -> Result<Option<u16>, String> {
            match text(v) {
                None => Ok(None),
                Some(t) if t.trim().is_empty() => Ok(None),
                Some(t) => parse_u16(t.trim().as_bytes())
                    .map(Some)
                    .ok_or_else(|| bad(key, &t)),
            }
        };
        let src_ip = ip("srcip", k.srcip)?.ok_or("missing srcip")?;
        let dst_ip = ip("dstip", k.dstip)?.ok_or("missing dstip")?;
        let src_port = port("srcport", k.srcport)?;
        let dst_port = port("dstport", k.dstport)?;
        let protocol = match num("proto", k.proto)? {
            Some(p) => Some(u8::try_from(p).map_err(|_| bad("proto", &p.to_string()))?),
            None => None,
        };
        let log_time = match num("eventtime", k.eventtime)? {
            Some(e) => epoch_micros(e),
            None => {
                let date = text(k.date).ok_or("missing eventtime and date")?;
                let time = text(k.time).ok_or("missing eventtime and time")?;
                let offset = text(k.tz).and_then(|tz| tz_offset(&tz));
                let mut d = date.trim().split('-');
                let mut t = time.trim().split(':');
                let n = |x: Option<&str>| x.and_then(|x| parse_u64(x.as_bytes()));
                let parts = (
                    n(d.next()),
                    n(d.next()),
                    n(d.next()),
                    n(t.next()),
                    n(t.next()),
                    n(t.next()),
                );
                let at = match parts {
                    (Some(y), Some(mo), Some(da), Some(h), Some(mi), s) => self.clock.local(
                        i64::try_from(y).unwrap_or(0),
                        u32::try_from(mo).unwrap_or(0),
                        u32::try_from(da).unwrap_or(0),
                        u32::try_from(h).unwrap_or(99),
                        u32::try_from(mi).unwrap_or(99),
                        u32::try_from(s.unwrap_or(0)).unwrap_or(99),
                        0,
                        offset,
                    ),
                    _ => None,
                };
                at.ok_or_else(|| {
                    format!("bad date/time {:?}", clip(&format!("{date} {time}"), 64))
                })?
            }
        };
        let duration = num("duration", k.duration)?;
        let (time, end_time) = match duration {
            Some(d) => (
                log_time - i64::try_from(d.min(1 << 40)).unwrap_or(0) * 1_000_000,
                Some(log_time),
            ),
            None => (log_time, None),
        };
        let action_text = text(k.action);
        let action = action_text.as_deref().and_then(|a| match a {
            "accept" | "close" | "timeout" | "server-rst" | "client-rst" | "ip-conn" | "start" => {
                Some(Action::Allowed)
            }
            "deny" | "blocked" | "block" | "drop" | "reject" => Some(Action::Denied),
            _ => None,
        });
        let nat_src_ip = ip_or_none(ip("transip", k.transip)?);
        let nat_dst_ip = ip_or_none(ip("tranip", k.tranip)?);
        let row_counters = (
            num("sentbyte", k.sentbyte)?,
            num("rcvdbyte", k.rcvdbyte)?,
            num("sentpkt", k.sentpkt)?,
            num("rcvdpkt", k.rcvdpkt)?,
        );
        let extra = &mut self.extra;
        extra.clear();
        for (kv, v) in &self.extra_pairs {
            let key = String::from_utf8_lossy(kv.raw(msg));
            extra.str(&key, &v.text(msg));
        }
        let nonempty = |c: Option<Cow<'a, str>>| c.filter(|c| !c.trim().is_empty());
        let state = if interim {
            Some(Cow::Borrowed("interim"))
        } else {
            nonempty(action_text)
        };
        Ok(FlowRecord {
            time,
            end_time,
            origin_line: line,
            src_ip: Some(src_ip),
            src_port,
            dst_ip: Some(dst_ip),
            dst_port,
            protocol,
            bytes_out: row_counters.0,
            bytes_in: row_counters.1,
            packets_out: row_counters.2,
            packets_in: row_counters.3,
            action,
            flow_state: state,
            rule: nonempty(text(k.policyid)),
            device: nonempty(text(k.devname))
                .or_else(|| host.map(Cow::Borrowed))
                .or_else(|| nonempty(text(k.devid))),
            user: nonempty(text(k.user)).or_else(|| nonempty(text(k.unauthuser))),
            nat_src_ip,
            nat_dst_ip,
            extra: extra.finish().map(Cow::Borrowed),
            ..FlowRecord::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(msg: &str) -> Vec<(String, String)> {
        let mut out = Vec::new();
        pairs(msg.as_bytes(), |k, v| {
            out.push((
                String::from_utf8_lossy(k.raw(msg.as_bytes())).into_owned(),
                v.text(msg.as_bytes()).into_owned(),
            ));
        });
        out
    }

    #[test]
    fn tokenizer() {
        let p = collect(r#"date=2019-05-10 msg="a b=c, d" x="q\"uote" empty= e="" n=5"#);
        let want: Vec<(String, String)> = [
            ("date", "2019-05-10"),
            ("msg", "a b=c, d"),
            ("x", "q\"uote"),
            ("empty", ""),
            ("e", ""),
            ("n", "5"),
        ]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        assert_eq!(p, want);
        let p = collect(r#"date=2018-07-26,time=16:51:36,logid="0000000013",user="a,b",n=1"#);
        assert_eq!(p.len(), 5);
        assert_eq!(p[3], ("user".to_string(), "a,b".to_string()));
        let p = collect("garbage tokens srcip=1.2.3.4 =x trailing");
        assert_eq!(p, [("srcip".to_string(), "1.2.3.4".to_string())]);
        let _ = collect("x=\"unterminated");
        let _ = collect("\\\"=\"\\");
    }

    #[test]
    fn epochs_and_zones() {
        assert_eq!(epoch_micros(1_557_513_467), 1_557_513_467_000_000);
        assert_eq!(epoch_micros(1_557_513_467_369), 1_557_513_467_369_000);
        assert_eq!(epoch_micros(1_557_513_467_369_913), 1_557_513_467_369_913);
        assert_eq!(
            epoch_micros(1_557_513_467_369_913_239),
            1_557_513_467_369_913
        );
        assert_eq!(tz_offset("+0100"), Some(3600));
        assert_eq!(tz_offset("-08:00"), Some(-8 * 3600));
        assert_eq!(tz_offset("UTC"), None);
    }
}
