//! Palo Alto Networks PAN-OS TRAFFIC logs: CSV over syslog (BSD or IETF header, or none).
//!
//! Each line is one log; the decoder strips the syslog header (see [`crate::envelope::syslog`])
//! and splits the CSV (RFC 4180: quoted fields may hold commas, `""` is a quote). Column 4 is the
//! log type; only `TRAFFIC` logs are flows. Columns are appended across releases and never
//! reordered, so the decoder reads them by position and accepts any number of trailing columns
//! (8.1 writes 65, 9.x 75, 10.x/11.x 100+); a record needs at least the 31 columns up to
//! `Action`, and a missing later column leaves its field empty.
//!
//! # What is stored
//!
//! * Subtypes `end`, `drop` and `deny` (and unknown or empty subtypes) become rows.
//! * **`start` logs are skipped** (`panos: session start log (the end log carries the totals)`):
//!   with "log at session start" enabled, PAN-OS logs each session twice, and the start log's
//!   small counters would be added to the end log's totals. [`PanOsDecoder::keep_start_logs`]
//!   keeps them (as rows with `flow_state` from the subtype and no `end_time`).
//! * Other log types (`THREAT`, `SYSTEM`, `CONFIG`, `DECRYPTION`, `GLOBALPROTECT`, ...) are
//!   skipped with a reason; so are the CEF (`CEF:0|Palo Alto Networks|...`) and JSON (Strata
//!   Logging Service) renderings of the same logs, which this decoder does not read.
//!
//! # Field mapping (1-based columns)
//!
//! | column | PAN-OS field |
//! |---|---|
//! | `time` | 36 Start Time; when unreadable, Generated Time − 37 Elapsed Time |
//! | `end_time` | 103 High Resolution Timestamp (10.x+, ms and offset) if present, else 7 Generated Time (else 2 Receive Time); none for `start` logs |
//! | `src_ip`, `dst_ip` | 8, 9 (pre-NAT initiator and responder) |
//! | `nat_src_ip`, `nat_dst_ip` | 10, 11 (post-NAT; `0.0.0.0` or empty = none) |
//! | `src_port`, `dst_port` | 25, 26 |
//! | `protocol` | 30 (`tcp`, `udp`, `icmp`...; `icmp` on an IPv6 session, flag `0x02000000`, is 58) |
//! | `action` | 31: `allow` → allowed; `deny`, `drop`, `drop ICMP`, `reset-*` → denied. A `drop` or `deny` subtype is denied whatever the action column says |
//! | `bytes_out`, `bytes_in` | 33 Bytes Sent (client→server), 34 Bytes Received; 32 Bytes (total) only when both are missing |
//! | `packets_out`, `packets_in` | 45 Packets Sent, 46 Packets Received; 35 Packets when both are missing |
//! | `flow_state` | 47 Session End Reason (`tcp-fin`, `aged-out`, `policy-deny`...), else the subtype |
//! | `rule` | 12 Rule Name |
//! | `user` | 13 Source User |
//! | `device` | 53 Device Name, else the syslog host |
//! | `extra` | `serial` (3), `subtype` (5), `session_id` (23), `repeat_count` (24, when > 1), `nat_src_port`/`nat_dst_port` (27/28, when not 0), `action` (31, as logged), `app` (15), `vsys` (16), `src_zone`/`dst_zone` (17/18), `in_interface`/`out_interface` (19/20), `dst_user` (14), `category` (38), `rule_uuid` (66) |
//!
//! # Time
//!
//! Every PAN-OS time column is device-local time without an offset, except the High
//! Resolution Timestamp (PAN-OS 10.0+) which carries the device's offset. When that column is
//! readable, its offset is used for the record's other times too; otherwise
//! [`DecodeContext::utc_offset_secs`] applies (UTC by default). Dates are `YYYY/MM/DD HH:MM:SS`,
//! or `M/D/YY H:MM[:SS]` as some exports write them.
//!
//! Invalid addresses, ports or counters reject the record with the field named; an
//! unreadable Start Time only falls back (Sekoia's samples hold `90` there).
//!
//! ## Sample
//!
//! ```text
//! Nov 30 16:09:08 PA-220 1,2018/11/30 16:09:07,012801096514,TRAFFIC,end,2049,2018/11/30 16:09:07,192.168.15.207,203.0.113.1,192.168.1.63,203.0.113.1,new_outbound_from_trust,,,apple-maps,vsys1,trust,untrust,ethernet1/2,ethernet1/1,send_to_mac,2018/11/30 16:09:07,22751,1,55113,443,16418,443,0x400053,tcp,allow,7734,1758,5976,36,2018/11/30 15:59:04,586,computer-and-internet-info,0,32091112,0x0,192.168.0.0-192.168.255.255,United States,0,16,20,tcp-fin,0,0,0,0,,PA-220,from-policy,,,0,,0,,N/A,0,0,0,0
//! ```
//!
//! ## References
//!
//! * Palo Alto Networks, *PAN-OS Administrator's Guide — Syslog Field Descriptions: Traffic Log
//!   Fields* (9.1, 10.x and 11.x editions).
//! * flowtrail's format research notes (`docs/formats.md` of the shared docs), section 5.

use std::borrow::Cow;

use flowtrail_schema::{Action, FlowRecord, RecordSink};

use crate::envelope::syslog::{self, Clock};
use crate::envelope::{clip, ip_or_none, parse_ip, parse_u16, parse_u64, protocol_number, Extra};
use crate::time::parse_rfc3339;
use crate::{Confidence, DecodeContext, Decoder, Format};

const SKIP_START: &str = "panos: session start log (the end log carries the totals)";
const SKIP_THREAT: &str = "panos: THREAT log (not a flow record)";
const SKIP_OTHER_TYPE: &str = "panos: log type other than TRAFFIC";
const SKIP_CEF: &str = "panos: CEF rendering (only the CSV syslog format is decoded)";
const SKIP_JSON: &str = "panos: JSON rendering (only the CSV syslog format is decoded)";

/// The fewest columns a TRAFFIC record may have (up to Action).
const MIN_COLUMNS: usize = 31;

/// PAN-OS TRAFFIC logs (CSV syslog).
pub struct PanOs;

impl Format for PanOs {
    fn name(&self) -> &'static str {
        "panos"
    }
    fn description(&self) -> &'static str {
        "Palo Alto PAN-OS TRAFFIC logs (CSV syslog; start logs skipped)"
    }
    fn decoder(&self, ctx: &DecodeContext) -> Box<dyn Decoder> {
        Box::new(PanOsDecoder::new(ctx))
    }
    fn sniff(&self, prefix: &[u8]) -> Confidence {
        let mut best = Confidence::No;
        let mut spans = Vec::new();
        for line in prefix.split(|b| *b == b'\n').take(50) {
            let msg = syslog::parse(line).message;
            let msg = locate_csv(msg).unwrap_or(msg);
            split_csv(msg, &mut spans, 6);
            let col = |i: usize| spans.get(i).map(|s: &Span| s.raw(msg));
            let date_like = col(1).is_some_and(|d| d.contains(&b'/') && d.contains(&b':'));
            match col(3) {
                Some(b"TRAFFIC") if date_like => return Confidence::Certain,
                Some(b"THREAT" | b"SYSTEM" | b"CONFIG" | b"DECRYPTION" | b"GLOBALPROTECT")
                    if date_like =>
                {
                    best = Confidence::Likely;
                }
                _ => {}
            }
        }
        best
    }
}

/// Decodes one input of PAN-OS CSV logs.
pub struct PanOsDecoder {
    clock: Clock,
    keep_start: bool,
    spans: Vec<Span>,
    extra: Extra,
}

impl PanOsDecoder {
    /// Builds a decoder for one input (skipping `start` logs).
    pub fn new(ctx: &DecodeContext) -> PanOsDecoder {
        PanOsDecoder {
            clock: Clock::new(ctx),
            keep_start: false,
            spans: Vec::with_capacity(128),
            extra: Extra::default(),
        }
    }

    /// Stores `start` logs as rows too (they double-count bytes when the end log is also kept).
    pub fn keep_start_logs(mut self, keep: bool) -> PanOsDecoder {
        self.keep_start = keep;
        self
    }
}

/// One CSV field: its byte range and whether it holds doubled quotes to undo.
#[derive(Debug, Clone, Copy)]
struct Span {
    start: usize,
    end: usize,
    escaped: bool,
}

impl Span {
    fn raw<'a>(&self, line: &'a [u8]) -> &'a [u8] {
        line.get(self.start..self.end).unwrap_or_default()
    }
}

/// Splits `line` into CSV fields (at most `max`), recording spans; a quote opens a quoted field
/// only at the start of a field.
fn split_csv(line: &[u8], spans: &mut Vec<Span>, max: usize) {
    spans.clear();
    let mut i = 0;
    loop {
        if spans.len() == max {
            return;
        }
        if line.get(i) == Some(&b'"') {
            let start = i + 1;
            let mut j = start;
            let mut escaped = false;
            loop {
                match line.get(j) {
                    None => break,
                    Some(b'"') if line.get(j + 1) == Some(&b'"') => {
                        escaped = true;
                        j += 2;
                    }
                    Some(b'"') => break,
                    Some(_) => j += 1,
                }
            }
            spans.push(Span {
                start,
                end: j.min(line.len()),
                escaped,
            });
            // Skip the closing quote and anything up to the next comma.
            let next = memchr::memchr(b',', line.get(j..).unwrap_or_default()).map(|k| j + k);
            match next {
                Some(c) => i = c + 1,
                None => return,
            }
        } else {
            let next = memchr::memchr(b',', line.get(i..).unwrap_or_default()).map(|k| i + k);
            let end = next.unwrap_or(line.len());
            spans.push(Span {
                start: i,
                end,
                escaped: false,
            });
            match next {
                Some(c) => i = c + 1,
                None => return,
            }
        }
    }
}

/// Returns the CSV part of a message: from its start when column 4 looks like a log type,
/// otherwise from three columns before the first `,TRAFFIC,`-like type column found.
fn locate_csv(msg: &[u8]) -> Option<&[u8]> {
    for ty in [&b",TRAFFIC,"[..], b",THREAT,", b",SYSTEM,", b",CONFIG,"] {
        if let Some(at) = memchr::memmem::find(msg, ty) {
            // Back up over two more commas (serial, receive time) to the first column.
            let head = msg.get(..at)?;
            let mut commas = 0;
            let mut start = at;
            while start > 0 {
                start -= 1;
                if head.get(start) == Some(&b',') {
                    commas += 1;
                    if commas == 2 {
                        break;
                    }
                }
            }
            if commas < 2 {
                return None;
            }
            // `start` is the comma before the receive time; the FUTURE_USE column precedes it.
            let first = head
                .get(..start)?
                .iter()
                .rposition(|b| *b == b' ' || *b == b',' || *b == b':' || *b == b'>')
                .map_or(0, |p| p + 1);
            return msg.get(first..);
        }
    }
    None
}

/// Parses `YYYY/MM/DD HH:MM:SS` or `M/D/YY H:MM[:SS]` as civil parts.
fn pan_time(s: &str) -> Option<(i64, u32, u32, u32, u32, u32)> {
    let (date, time) = s.trim().split_once(' ')?;
    let mut d = date.split('/');
    let (a, b, c) = (d.next()?, d.next()?, d.next()?);
    let num = |x: &str| parse_u64(x.as_bytes()).and_then(|v| u32::try_from(v).ok());
    let (y, mo, day) = if a.len() == 4 {
        (i64::from(num(a)?), num(b)?, num(c)?)
    } else {
        let y = num(c)?;
        let y = if c.len() <= 2 { 2000 + y } else { y };
        (i64::from(y), num(a)?, num(b)?)
    };
    let mut t = time.split(':');
    let h = num(t.next()?)?;
    let mi = num(t.next()?)?;
    let sec = match t.next() {
        Some(x) => num(x)?,
        None => 0,
    };
    Some((y, mo, day, h, mi, sec))
}

/// The columns of one record.
struct Cols<'a> {
    csv: &'a [u8],
    spans: &'a [Span],
}

impl<'a> Cols<'a> {
    /// Returns 1-based column `i`, unquoted (empty when absent).
    fn get(&self, i: usize) -> Cow<'a, str> {
        let Some(sp) = i.checked_sub(1).and_then(|i| self.spans.get(i)) else {
            return Cow::Borrowed("");
        };
        let raw = String::from_utf8_lossy(sp.raw(self.csv));
        if sp.escaped {
            Cow::Owned(raw.replace("\"\"", "\""))
        } else {
            raw
        }
    }

    fn is_type_column(&self) -> bool {
        let ty = self
            .spans
            .get(3)
            .map(|s| s.raw(self.csv))
            .unwrap_or_default();
        !ty.is_empty() && ty.iter().all(|b| b.is_ascii_uppercase() || *b == b'_')
    }
}

impl Decoder for PanOsDecoder {
    fn decode(&mut self, unit: &[u8], line: u64, sink: &mut dyn RecordSink) {
        if unit.iter().all(u8::is_ascii_whitespace) {
            return;
        }
        let header = syslog::parse(unit);
        let msg = header.message;
        if msg.starts_with(b"CEF:") || memchr::memmem::find(msg, b"|Palo Alto Networks|").is_some()
        {
            sink.skip(line, SKIP_CEF);
            return;
        }
        if msg.first() == Some(&b'{') {
            sink.skip(line, SKIP_JSON);
            return;
        }
        let mut csv = msg;
        split_csv(csv, &mut self.spans, 200);
        if !(Cols {
            csv,
            spans: &self.spans,
        })
        .is_type_column()
        {
            if let Some(found) = locate_csv(unit) {
                csv = found;
                split_csv(csv, &mut self.spans, 200);
            }
        }
        let cols = Cols {
            csv,
            spans: &self.spans,
        };
        if !cols.is_type_column() {
            return sink.reject(
                line,
                "not a PAN-OS CSV log (column 4 is not a log type such as TRAFFIC)",
                unit,
            );
        }
        match cols.get(4).as_ref() {
            "TRAFFIC" => {}
            "THREAT" => return sink.skip(line, SKIP_THREAT),
            _ => return sink.skip(line, SKIP_OTHER_TYPE),
        }
        if cols.spans.len() < MIN_COLUMNS {
            let reason = format!(
                "truncated TRAFFIC log: {} columns (at least {MIN_COLUMNS} needed)",
                cols.spans.len()
            );
            return sink.reject(line, &reason, unit);
        }
        if cols.get(5).as_ref() == "start" && !self.keep_start {
            return sink.skip(line, SKIP_START);
        }
        match build_row(&cols, &self.clock, &mut self.extra, line, header.host) {
            Ok(row) => sink.flow(&row),
            Err(reason) => sink.reject(line, &reason, unit),
        }
    }
}

/// Builds the row of one TRAFFIC record.
fn build_row<'a>(
    cols: &Cols<'a>,
    clock: &Clock,
    extra: &'a mut Extra,
    line: u64,
    host: Option<&'a str>,
) -> Result<FlowRecord<'a>, String> {
    let columns = cols.spans.len();
    let field = |i: usize| cols.get(i);
    let ip = |i: usize, name: &str| -> Result<Option<std::net::IpAddr>, String> {
        let v = field(i);
        let v = v.trim();
        if v.is_empty() {
            return Ok(None);
        }
        parse_ip(v)
            .map(Some)
            .ok_or_else(|| format!("bad {name} {:?}", clip(v, 64)))
    };
    let num = |i: usize, name: &str| -> Result<Option<u64>, String> {
        let v = field(i);
        let v = v.trim();
        if v.is_empty() {
            return Ok(None);
        }
        parse_u64(v.as_bytes())
            .map(Some)
            .ok_or_else(|| format!("bad {name} {:?}", clip(v, 64)))
    };
    let port = |i: usize, name: &str| -> Result<Option<u16>, String> {
        let v = field(i);
        let v = v.trim();
        if v.is_empty() {
            return Ok(None);
        }
        parse_u16(v.as_bytes())
            .map(Some)
            .ok_or_else(|| format!("bad {name} {:?}", clip(v, 64)))
    };
    let src_ip = ip(8, "source address")?.ok_or("missing source address (column 8)")?;
    let dst_ip = ip(9, "destination address")?.ok_or("missing destination address (column 9)")?;
    let nat_src = ip_or_none(ip(10, "NAT source address")?);
    let nat_dst = ip_or_none(ip(11, "NAT destination address")?);
    let src_port = port(25, "source port")?;
    let dst_port = port(26, "destination port")?;
    let nat_src_port = port(27, "NAT source port")?;
    let nat_dst_port = port(28, "NAT destination port")?;

    // Times: the high-resolution timestamp's offset applies to the local columns.
    let hires_text = if columns >= 103 {
        field(103)
    } else {
        Cow::Borrowed("")
    };
    let hires = parse_rfc3339(&hires_text);
    let offset = hires.and_then(|_| rfc3339_offset(&hires_text));
    let local = |i: usize| {
        pan_time(&field(i))
            .and_then(|(y, mo, d, h, mi, s)| clock.local(y, mo, d, h, mi, s, 0, offset))
    };
    let generated = local(7)
        .or_else(|| local(2))
        .ok_or_else(|| format!("bad generated time {:?}", clip(&field(7), 64)))?;
    let elapsed = num(37, "elapsed time").ok().flatten();
    let start = local(36).unwrap_or_else(|| {
        generated
            - elapsed.map_or(0, |e| {
                i64::try_from(e.min(1 << 40)).unwrap_or(0) * 1_000_000
            })
    });
    let subtype = field(5);
    let end_time = if subtype == "start" {
        None
    } else {
        Some(hires.unwrap_or(generated))
    };

    let flags = field(29);
    let ipv6_session = flags
        .strip_prefix("0x")
        .and_then(|h| u64::from_str_radix(h, 16).ok())
        .is_some_and(|f| f & 0x0200_0000 != 0)
        || src_ip.is_ipv6();
    let proto = field(30);
    let protocol =
        protocol_number(proto.trim()).map(|p| if p == 1 && ipv6_session { 58 } else { p });
    let action_text = field(31);
    let action = match action_text.trim() {
        _ if matches!(subtype.as_ref(), "drop" | "deny") => Some(Action::Denied),
        "allow" => Some(Action::Allowed),
        a if a.starts_with("deny")
            || a.starts_with("drop")
            || a.starts_with("reset")
            || a == "block" =>
        {
            Some(Action::Denied)
        }
        _ => None,
    };
    let (mut bytes_out, bytes_in) = (num(33, "bytes sent")?, num(34, "bytes received")?);
    if bytes_out.is_none() && bytes_in.is_none() {
        bytes_out = num(32, "bytes")?;
    }
    let (mut packets_out, packets_in) = (num(45, "packets sent")?, num(46, "packets received")?);
    if packets_out.is_none() && packets_in.is_none() {
        packets_out = num(35, "packets")?;
    }
    let end_reason = field(47);
    let state = match end_reason.trim() {
        "" | "n/a" => subtype.clone(),
        _ => end_reason,
    };
    let repeat = num(24, "repeat count").ok().flatten();

    extra.clear();
    extra.str("serial", field(3).trim());
    extra.str("subtype", &subtype);
    extra.str("session_id", field(23).trim());
    if let Some(r) = repeat.filter(|r| *r > 1) {
        extra.num("repeat_count", r);
    }
    if let Some(p) = nat_src_port.filter(|p| *p != 0) {
        extra.num("nat_src_port", u64::from(p));
    }
    if let Some(p) = nat_dst_port.filter(|p| *p != 0) {
        extra.num("nat_dst_port", u64::from(p));
    }
    extra.str("action", action_text.trim());
    if protocol.is_none() {
        extra.str("protocol", proto.trim());
    }
    extra.str("app", &field(15));
    extra.str("vsys", &field(16));
    extra.str("src_zone", &field(17));
    extra.str("dst_zone", &field(18));
    extra.str("in_interface", &field(19));
    extra.str("out_interface", &field(20));
    extra.str("dst_user", &field(14));
    extra.str("category", &field(38));
    if columns >= 66 {
        extra.str("rule_uuid", &field(66));
    }
    let text = |c: Cow<'a, str>| -> Option<Cow<'a, str>> {
        if c.trim().is_empty() {
            None
        } else {
            Some(c)
        }
    };
    Ok(FlowRecord {
        time: start,
        end_time,
        origin_line: line,
        src_ip: Some(src_ip),
        src_port,
        dst_ip: Some(dst_ip),
        dst_port,
        protocol,
        bytes_out,
        bytes_in,
        packets_out,
        packets_in,
        action,
        direction: None,
        flow_state: text(state),
        rule: text(field(12)),
        device: text(field(53)).or_else(|| host.map(Cow::Borrowed)),
        user: text(field(13)),
        nat_src_ip: nat_src,
        nat_dst_ip: nat_dst,
        extra: extra.finish().map(Cow::Borrowed),
        ..FlowRecord::default()
    })
}

/// Returns the offset in seconds of an RFC 3339 time (`...+01:00`, `...Z`).
fn rfc3339_offset(s: &str) -> Option<i32> {
    let s = s.trim();
    if s.ends_with('Z') || s.ends_with('z') {
        return Some(0);
    }
    let cut = s.len().checked_sub(6)?;
    let tail = s.get(cut..)?.as_bytes();
    let sign = match tail.first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let h = parse_u64(tail.get(1..3)?)?;
    let m = parse_u64(tail.get(4..6)?)?;
    i32::try_from(h * 3600 + m * 60).ok().map(|v| sign * v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_spans() {
        let mut spans = Vec::new();
        let line = br#"a,"b,c",,"d""e",f"#;
        split_csv(line, &mut spans, 100);
        let raw: Vec<&[u8]> = spans.iter().map(|s| s.raw(line)).collect();
        assert_eq!(raw, [&b"a"[..], b"b,c", b"", b"d\"\"e", b"f"]);
        assert!(spans.get(3).is_some_and(|s| s.escaped));
        split_csv(b"\"open", &mut spans, 100);
        assert_eq!(spans.len(), 1);
        split_csv(b"", &mut spans, 100);
        assert_eq!(spans.len(), 1);
    }

    #[test]
    fn times() {
        assert_eq!(
            pan_time("2018/11/30 16:09:07"),
            Some((2018, 11, 30, 16, 9, 7))
        );
        assert_eq!(pan_time("9/16/19 10:00"), Some((2019, 9, 16, 10, 0, 0)));
        assert_eq!(pan_time("90"), None);
        assert_eq!(rfc3339_offset("2024-01-03T13:15:30.547+01:00"), Some(3600));
        assert_eq!(
            rfc3339_offset("2021-11-23T00:44:44.930-08:00"),
            Some(-8 * 3600)
        );
    }

    #[test]
    fn locating_the_csv() {
        let msg = b"junk header 1,2018/11/30 16:09:07,0128,TRAFFIC,end,1";
        assert_eq!(
            locate_csv(msg),
            Some(&b"1,2018/11/30 16:09:07,0128,TRAFFIC,end,1"[..])
        );
        assert_eq!(locate_csv(b",TRAFFIC,"), None);
    }
}
