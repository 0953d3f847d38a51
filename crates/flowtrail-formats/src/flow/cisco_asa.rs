//! Cisco ASA and Firepower Threat Defense (FTD) syslog: connection and deny messages.
//!
//! Each line is one syslog message, whatever header precedes it (see
//! [`crate::envelope::syslog`]); the decoder finds the `%ASA-<sev>-<id>:` tag (also `%FTD-`,
//! `%PIX-`, and the EMBLEM form with a class, `%ASA-session-6-106100`) and reads the message
//! text after it. `message repeated N times: [ ... ]` wrappers are unwrapped (`repeat` in
//! `extra`).
//!
//! # Messages read
//!
//! | id | message | becomes |
//! |---|---|---|
//! | 302013 / 302015 | `Built {inbound\|outbound} {TCP\|UDP} connection <id> for <ifc>:<ip>/<port> (<mapped>/<port>) to ...` | held until its teardown (see below) |
//! | 302014 / 302016 | `Teardown {TCP\|UDP} connection <id> for ... duration <h:mm:ss> bytes <n> [<reason>] [from <ifc>]` | one allowed flow |
//! | 302020 / 302021 | `Built/Teardown ... ICMP connection for faddr <ip>/<id> gaddr <ip>/<n> laddr <ip>/<n> [type <t> code <c>]` | one allowed flow, paired like TCP |
//! | 106001, 106006, 106007, 106015 | `Inbound TCP connection denied from ...`, `Deny inbound UDP from ...`, `Deny TCP (no connection) from ...` | one denied flow |
//! | 106014, 106023 | `Deny ... src <ifc>:<ip>[/<port>] dst <ifc>:<ip>[/<port>] [(type t, code c)] [by access-group "<acl>"]` | one denied flow, `rule` = the ACL |
//! | 106100 | `access-list <acl> {permitted\|denied\|est-allowed} <proto> <ifc>/<ip>(<port>) -> <ifc>/<ip>(<port>) hit-cnt <n> ...` | one flow, allowed or denied as the verb says, `rule` = the ACL, `hit_count` in `extra` |
//! | 710003 | `{TCP\|UDP} access denied by ACL from <ip>/<port> to <ifc>:<ip>/<service>` | one denied flow (to the device itself) |
//!
//! Every other message id is skipped (`cisco_asa: message id without flow data`), and so is a
//! line without an ASA tag (AAA lines, other programs in a shared syslog file).
//!
//! # Pairing built and teardown messages
//!
//! A connection is logged twice: its *built* message has the direction and the NAT mapping, its
//! *teardown* message the duration, the byte count and the reason. The decoder joins them on
//! (device, protocol, connection id) — ICMP has no id, so on (device, faddr, gaddr, laddr with
//! their numbers) — into **one row**:
//!
//! * `time` is the built message's time and `end_time` the teardown's;
//! * a teardown whose build was not seen (it predates the input) still makes a row, with
//!   `time` = teardown time − duration, endpoints in message order and no direction;
//! * a build with no teardown by the end of the input becomes an open row in
//!   [`Decoder::finish`] (`flow_state` `open`, no bytes, no `end_time`); so does a pending build
//!   pushed out by the cap of [`DEFAULT_PENDING_CAP`] pending builds (the oldest goes first), or
//!   replaced by a new build with the same connection id.
//!
//! **Accounting**: every line is reported exactly once. A built line is reported when its fate
//! is known: as `skip` (`cisco_asa: built message paired into its teardown flow`) when its
//! teardown arrives — the row is then reported on the teardown's line — or as an open row on
//! its own line. Reports can therefore arrive out of line order, but
//! `read = stored + skipped + rejected` holds once `finish` has run.
//!
//! # Field mapping
//!
//! | column | built + teardown | denies |
//! |---|---|---|
//! | `src_ip`, `src_port` | the **initiator**: first endpoint for `inbound`, second for `outbound` (Cisco lists the lower-security side first) | `from` / `src` endpoint |
//! | `dst_ip`, `dst_port` | the responder (real address) | `to` / `dst` endpoint |
//! | `nat_src_ip`, `nat_dst_ip` | the parenthesised mapped address of each side, when it differs from the real one (for an inbound connection to a NATed server, `dst_ip` is the real inside address and `nat_dst_ip` the public one) | — |
//! | `protocol` | 6 / 17 / 1 (58 for ICMP between IPv6 addresses) | from the message |
//! | `bytes_out` | the teardown's `bytes`: **the total of both directions** (ASA counts no split and no packets); `bytes_in` and packets stay empty | — |
//! | `action` | `allowed` | `denied` (106100: `permitted`/`est-allowed` → allowed) |
//! | `direction` | `inbound` / `outbound` from the built message (relative to the interfaces' security levels) | 106001/106006/106007/106014: the message's own `inbound`/`outbound` |
//! | `flow_state` | the teardown reason (`TCP FINs`, `SYN Timeout`, `TCP Reset-I`; spaces around `-` removed), `closed` when the teardown gives none (UDP), `open` for an unmatched build | — |
//! | `rule` | — | the ACL (`access-group` or `access-list` name) |
//! | `tcp_flags` | — | 106001 / 106015 `flags SYN ACK ...` |
//! | `user` | the identity-firewall user in parentheses (`(LOCAL\jdoe)`), initiator's first | same |
//! | `device` | the syslog header's host (the ASA's `logging device-id`) | same |
//! | `extra` | `msg_id`, `conn_id`, `src_interface`, `dst_interface`, `teardown_initiator` (`from <ifc>`), `src_host`/`dst_host` (when `names` print a host name instead of an address), `nat_src_port`/`nat_dst_port` (when translated), `icmp_type`, `icmp_code`, `icmp_id`, `interface` (denies `on interface`), `hit_count`, `repeat` | |
//!
//! Host names (`DMZ:shule/5802`) are kept: the address column stays empty and the name goes to
//! `extra`. A token that is neither an address nor a plausible name (`1192.168.2.2`) and a port
//! over 65535 reject the line with the field named.
//!
//! # Time
//!
//! ASA logs local time without a zone unless `logging timestamp rfc5424` is set; a year-less RFC
//! 3164 time gets its year from the input's reference time (see [`crate::envelope::syslog`]).
//! A line without any header time is rejected: the message itself carries none.
//!
//! ## Sample
//!
//! ```text
//! Jan  5 10:00:00 asa-fw-01 : %ASA-6-302013: Built outbound TCP connection 9 for outside:203.0.113.5/443 (203.0.113.5/443) to inside:10.1.1.2/53496 (198.51.100.7/53496)
//! Jan  5 10:00:30 asa-fw-01 : %ASA-6-302014: Teardown TCP connection 9 for outside:203.0.113.5/443 to inside:10.1.1.2/53496 duration 0:00:30 bytes 5120 TCP FINs
//! ```
//!
//! become one row: 10.1.1.2:53496 → 203.0.113.5:443 TCP, outbound, `nat_src_ip` 198.51.100.7,
//! 5120 bytes, 10:00:00–10:00:30, `flow_state` `TCP FINs`, device `asa-fw-01`.
//!
//! ## References
//!
//! * Cisco, *Cisco Secure Firewall ASA Series Syslog Messages* (message texts, teardown reasons).
//! * Cisco TAC document 116149, *ASA Syslog "Built inbound/outbound"* (endpoint order).
//! * flowtrail's format research notes (`docs/formats.md` of the shared docs), section 4.

use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;

use flowtrail_schema::{Action, Direction, FlowRecord, RecordSink};

use crate::envelope::syslog::{self, Clock};
use crate::envelope::{clip, parse_ip, parse_u16, parse_u64, protocol_number, tcp_flag_bit, Extra};
use crate::{Confidence, DecodeContext, Decoder, Format};

/// Pending built messages kept at most, per input, before the oldest is emitted as open.
pub const DEFAULT_PENDING_CAP: usize = 1_000_000;

/// Built messages longer than this are not held for pairing (they become open rows at once).
const MAX_PENDING_TEXT: usize = 4096;

const SKIP_NO_TAG: &str = "cisco_asa: line without an %ASA-/%FTD- message tag";
const SKIP_OTHER_ID: &str = "cisco_asa: message id without flow data";
const SKIP_PAIRED: &str = "cisco_asa: built message paired into its teardown flow";

/// Cisco ASA / FTD syslog (connection built/teardown pairs, denies, ACL hits).
pub struct CiscoAsa;

impl Format for CiscoAsa {
    fn name(&self) -> &'static str {
        "cisco_asa"
    }
    fn description(&self) -> &'static str {
        "Cisco ASA / FTD syslog (302013-302021 built/teardown pairs, 106xxx denies, 710003)"
    }
    fn decoder(&self, ctx: &DecodeContext) -> Box<dyn Decoder> {
        Box::new(CiscoAsaDecoder::new(ctx))
    }
    fn sniff(&self, prefix: &[u8]) -> Confidence {
        let found = [&b"%ASA-"[..], b"%FTD-", b"%PIX-"].iter().any(|anchor| {
            memchr::memmem::find_iter(prefix, anchor).any(|at| {
                prefix
                    .get(at + anchor.len())
                    .is_some_and(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
            })
        });
        if found {
            Confidence::Certain
        } else {
            Confidence::No
        }
    }
}

/// A built message waiting for its teardown.
#[derive(Debug)]
struct Pending {
    seq: u64,
    line: u64,
    time: i64,
    /// The device, a newline, then the message body from `Built`.
    text: Box<str>,
}

/// Decodes one input of ASA/FTD syslog, pairing built and teardown messages.
pub struct CiscoAsaDecoder {
    clock: Clock,
    pending: HashMap<u64, Pending>,
    /// Keys in arrival order, with the sequence number of the build they were pushed for; stale
    /// entries (paired or replaced builds) are dropped lazily and by compaction.
    order: VecDeque<(u64, u64)>,
    seq: u64,
    cap: usize,
    extra: Extra,
}

impl CiscoAsaDecoder {
    /// Builds a decoder for one input.
    pub fn new(ctx: &DecodeContext) -> CiscoAsaDecoder {
        CiscoAsaDecoder {
            clock: Clock::new(ctx),
            pending: HashMap::new(),
            order: VecDeque::new(),
            seq: 0,
            cap: DEFAULT_PENDING_CAP,
            extra: Extra::default(),
        }
    }

    /// Sets how many built messages may wait for their teardown (at least 1).
    pub fn with_pending_cap(mut self, cap: usize) -> CiscoAsaDecoder {
        self.cap = cap.max(1);
        self
    }

    fn hold(
        &mut self,
        key: u64,
        line: u64,
        time: i64,
        device: &str,
        body: &str,
        sink: &mut dyn RecordSink,
    ) {
        if device.len() + body.len() + 1 > MAX_PENDING_TEXT {
            if let Ok(b) = parse_built(body) {
                self.emit_open(&b, device, line, time, sink);
            }
            return;
        }
        let mut text = String::with_capacity(device.len() + 1 + body.len());
        text.push_str(device);
        text.push('\n');
        text.push_str(body);
        self.seq += 1;
        let p = Pending {
            seq: self.seq,
            line,
            time,
            text: text.into_boxed_str(),
        };
        if let Some(old) = self.pending.insert(key, p) {
            // The same connection id built again: the old build lost its teardown.
            self.release(&old, sink);
        }
        self.order.push_back((key, self.seq));
        while self.pending.len() > self.cap {
            let Some((k, s)) = self.order.pop_front() else {
                break;
            };
            if self.pending.get(&k).is_some_and(|p| p.seq == s) {
                if let Some(old) = self.pending.remove(&k) {
                    self.release(&old, sink);
                }
            }
        }
        if self.order.len() > 2 * self.pending.len() + 1024 {
            let pending = &self.pending;
            self.order
                .retain(|(k, s)| pending.get(k).is_some_and(|p| p.seq == *s));
        }
    }

    /// Emits a pending build as an open flow.
    fn release(&mut self, p: &Pending, sink: &mut dyn RecordSink) {
        let (device, body) = p.text.split_once('\n').unwrap_or(("", &p.text));
        match parse_built(body) {
            Ok(b) => self.emit_open(&b, device, p.line, p.time, sink),
            // Held builds parsed once already; this cannot happen, but stay accountable.
            Err(reason) => sink.reject(p.line, &reason, body.as_bytes()),
        }
    }

    fn emit_open(
        &mut self,
        b: &Built<'_>,
        device: &str,
        line: u64,
        time: i64,
        sink: &mut dyn RecordSink,
    ) {
        let mut f = b.flow();
        f.time = time;
        f.state = Some(Cow::Borrowed("open"));
        self.emit(&f, nonempty(device), line, sink);
    }

    fn emit(&mut self, f: &Flow<'_>, device: Option<&str>, line: u64, sink: &mut dyn RecordSink) {
        let e = &mut self.extra;
        e.clear();
        e.str("msg_id", f.msg_id);
        e.opt_str("conn_id", f.conn_id);
        e.opt_str("src_interface", f.src.ifc);
        e.opt_str("dst_interface", f.dst.ifc);
        e.opt_str("interface", f.interface);
        e.opt_str("teardown_initiator", f.teardown_from);
        if let Some(Addr::Host(h)) = f.src.addr {
            e.str("src_host", h);
        }
        if let Some(Addr::Host(h)) = f.dst.addr {
            e.str("dst_host", h);
        }
        e.opt_str("src_name", f.src.name);
        e.opt_str("dst_name", f.dst.name);
        for (key, ep) in [("nat_src_port", &f.src), ("nat_dst_port", &f.dst)] {
            if let (Some((_, Some(mp))), Some(p)) = (ep.mapped, ep.port) {
                if mp != p {
                    e.num(key, u64::from(mp));
                }
            }
        }
        e.opt_str("dst_service", f.dst_service);
        e.opt_str("protocol", f.proto_name);
        if let Some(t) = f.icmp_type {
            e.num("icmp_type", t);
        }
        if let Some(c) = f.icmp_code {
            e.num("icmp_code", c);
        }
        if let Some(i) = f.icmp_id {
            e.num("icmp_id", i);
        }
        if let Some(h) = f.hit_count {
            e.num("hit_count", h);
        }
        if let Some(r) = f.repeat {
            e.num("repeat", r);
        }
        let mapped_ip = |ep: &Endpoint<'_>| match (ep.mapped, ep.addr) {
            (Some((Addr::Ip(m), _)), Some(Addr::Ip(real))) if m != real => Some(m),
            (Some((Addr::Ip(m), _)), Some(Addr::Host(_))) => Some(m),
            _ => None,
        };
        let row = FlowRecord {
            time: f.time,
            end_time: f.end_time,
            origin_line: line,
            src_ip: f.src.ip(),
            src_port: f.src.port,
            dst_ip: f.dst.ip(),
            dst_port: f.dst.port,
            protocol: f.protocol,
            bytes_out: f.bytes,
            action: Some(if f.denied {
                Action::Denied
            } else {
                Action::Allowed
            }),
            direction: f.direction,
            flow_state: f.state.clone(),
            rule: f.rule.map(Cow::Borrowed),
            device: device.map(Cow::Borrowed),
            user: f.user().map(Cow::Borrowed),
            tcp_flags: f.tcp_flags,
            nat_src_ip: mapped_ip(&f.src),
            nat_dst_ip: mapped_ip(&f.dst),
            extra: e.finish().map(Cow::Borrowed),
            ..FlowRecord::default()
        };
        sink.flow(&row);
    }

    fn decode_line(&mut self, unit: &[u8], line: u64, sink: &mut dyn RecordSink) {
        let header = syslog::parse(unit);
        let text = String::from_utf8_lossy(header.message);
        let Some(tag) = find_tag(&text) else {
            sink.skip(line, SKIP_NO_TAG);
            return;
        };
        if !matches!(
            tag.id,
            302013
                | 302014
                | 302015
                | 302016
                | 302020
                | 302021
                | 106001
                | 106006
                | 106007
                | 106014
                | 106015
                | 106023
                | 106100
                | 710003
        ) {
            sink.skip(line, SKIP_OTHER_ID);
            return;
        }
        let time = match header.time.map(|t| self.clock.resolve(&t)) {
            Some(Ok(t)) => t,
            Some(Err(reason)) => {
                sink.reject(line, reason, unit);
                return;
            }
            None => {
                sink.reject(
                    line,
                    "no timestamp: the line has no syslog header time",
                    unit,
                );
                return;
            }
        };
        let device = header.host.unwrap_or("");
        let body = tag.body;
        let dev_hash = fnv(device.as_bytes(), FNV_OFFSET);
        match tag.id {
            302013 | 302015 | 302020 => {
                let b = match parse_built(body) {
                    Ok(b) => b,
                    Err(reason) => return sink.reject(line, &reason, unit),
                };
                let key = b.key(dev_hash);
                self.hold(key, line, time, device, body, sink);
            }
            302014 | 302016 | 302021 => {
                let t = match parse_teardown(body) {
                    Ok(t) => t,
                    Err(reason) => return sink.reject(line, &reason, unit),
                };
                let key = t.key(dev_hash);
                let held = self.pending.remove(&key);
                let mut f = match &held {
                    Some(p) => {
                        let body = p.text.split_once('\n').map_or("", |(_, b)| b);
                        match parse_built(body) {
                            Ok(b) => {
                                sink.skip(p.line, SKIP_PAIRED);
                                let mut f = b.flow();
                                f.time = p.time;
                                f
                            }
                            Err(reason) => {
                                sink.reject(p.line, &reason, body.as_bytes());
                                t.unpaired(time)
                            }
                        }
                    }
                    None => t.unpaired(time),
                };
                f.msg_id = t.msg_id;
                f.end_time = Some(time);
                f.bytes = t.bytes;
                f.state = Some(t.state());
                f.teardown_from = t.from;
                if f.src.user.is_none() && f.dst.user.is_none() {
                    f.trailing_user = t.user.or(t.ep1.user).or(t.ep2.user);
                }
                f.repeat = tag.repeat;
                self.emit(&f, nonempty(device), line, sink);
            }
            _ => {
                let mut f = match parse_deny(tag.id, body) {
                    Ok(f) => f,
                    Err(reason) => return sink.reject(line, &reason, unit),
                };
                f.time = time;
                f.repeat = tag.repeat;
                self.emit(&f, nonempty(device), line, sink);
            }
        }
    }
}

impl Decoder for CiscoAsaDecoder {
    fn decode(&mut self, unit: &[u8], line: u64, sink: &mut dyn RecordSink) {
        if unit.iter().all(u8::is_ascii_whitespace) {
            return;
        }
        self.decode_line(unit, line, sink);
    }

    fn finish(&mut self, sink: &mut dyn RecordSink) {
        let mut left: Vec<Pending> = self.pending.drain().map(|(_, p)| p).collect();
        left.sort_by_key(|p| p.seq);
        self.order.clear();
        for p in &left {
            self.release(p, sink);
        }
    }
}

fn nonempty(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// FNV-1a, continuing from `h` (pairing keys; collisions across 64 bits are negligible).
fn fnv(bytes: &[u8], mut h: u64) -> u64 {
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The message tag and the text after it.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Tag<'a> {
    id: u32,
    body: &'a str,
    repeat: Option<u64>,
}

/// Finds `%ASA-[class-]<sev>-<id>[:]` and returns the id and the body after it.
fn find_tag(text: &str) -> Option<Tag<'_>> {
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(rel) = memchr::memchr(b'%', bytes.get(from..)?) {
        let at = from + rel;
        from = at + 1;
        let rest = text.get(at + 1..)?;
        let Some(after) = ["ASA-", "FTD-", "PIX-"]
            .iter()
            .find_map(|p| rest.strip_prefix(p))
        else {
            continue;
        };
        let end = after.find([':', ' ']).unwrap_or(after.len());
        let token = after.get(..end)?;
        let mut parts = token.rsplit('-');
        let (Some(id), Some(sev)) = (parts.next(), parts.next()) else {
            continue;
        };
        if id.len() != 6 || sev.len() != 1 || !sev.as_bytes().iter().all(u8::is_ascii_digit) {
            continue;
        }
        let Some(id) = parse_u64(id.as_bytes()).and_then(|v| u32::try_from(v).ok()) else {
            continue;
        };
        let body = after.get(end..)?.trim_start_matches(':').trim_start();
        let (body, repeat) = unwrap_repeat(body);
        return Some(Tag { id, body, repeat });
    }
    None
}

/// Unwraps `message repeated N times: [ body]`.
fn unwrap_repeat(body: &str) -> (&str, Option<u64>) {
    let Some(rest) = body.strip_prefix("message repeated ") else {
        return (body, None);
    };
    let Some((n, inner)) = rest.split_once(" times: [") else {
        return (body, None);
    };
    let inner = inner.trim().trim_end_matches(']').trim();
    (inner, parse_u64(n.as_bytes()))
}

/// An address as logged: an IP, or a host name when `names` is configured.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Addr<'a> {
    Ip(IpAddr),
    Host(&'a str),
}

/// Parses an address or host name; `field` names it in the error.
fn addr<'a>(s: &'a str, field: &str) -> Result<Addr<'a>, String> {
    if let Some(ip) = parse_ip(s) {
        return Ok(Addr::Ip(ip));
    }
    let name_like = !s.is_empty()
        && s.len() <= 253
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
        && s.bytes().any(|b| b.is_ascii_alphabetic() || b == b'_');
    if name_like {
        Ok(Addr::Host(s))
    } else {
        Err(format!("bad {field} {:?}", clip(s, 64)))
    }
}

fn port(s: &str, field: &str) -> Result<u16, String> {
    parse_u16(s.as_bytes()).ok_or_else(|| format!("bad {field} {:?}", clip(s, 64)))
}

/// One side of a connection.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Endpoint<'a> {
    ifc: Option<&'a str>,
    addr: Option<Addr<'a>>,
    port: Option<u16>,
    /// The NAT-mapped address and port in parentheses.
    mapped: Option<(Addr<'a>, Option<u16>)>,
    /// An identity-firewall user in parentheses (`(LOCAL\jdoe)`).
    user: Option<&'a str>,
    /// A host-name annotation in parentheses (`51635(host.example.com)`).
    name: Option<&'a str>,
}

impl Endpoint<'_> {
    fn ip(&self) -> Option<IpAddr> {
        match self.addr {
            Some(Addr::Ip(ip)) => Some(ip),
            _ => None,
        }
    }
    fn is_v6(&self) -> bool {
        matches!(self.addr, Some(Addr::Ip(IpAddr::V6(_))))
    }
}

/// A small cursor over message text.
#[derive(Debug, Clone, Copy)]
struct P<'a> {
    s: &'a str,
}

impl<'a> P<'a> {
    fn ws(&mut self) {
        self.s = self.s.trim_start();
    }
    /// Consumes `lit` (after optional spaces) if it is next.
    fn lit(&mut self, lit: &str) -> bool {
        let t = self.s.trim_start();
        match t.strip_prefix(lit) {
            Some(rest) => {
                self.s = rest;
                true
            }
            None => false,
        }
    }
    fn expect(&mut self, lit: &str, what: &str) -> Result<(), String> {
        if self.lit(lit) {
            Ok(())
        } else {
            Err(format!(
                "unexpected text where {what} was expected: {:?}",
                clip(self.s.trim_start(), 48)
            ))
        }
    }
    /// Takes the next word (up to a space).
    fn word(&mut self) -> &'a str {
        self.ws();
        let end = self.s.find(' ').unwrap_or(self.s.len());
        let (w, rest) = self.s.split_at(end);
        self.s = rest;
        w
    }
    /// Takes text up to the first of `stops` (or the end).
    fn until(&mut self, stops: &[char]) -> &'a str {
        let end = self.s.find(stops).unwrap_or(self.s.len());
        let (w, rest) = self.s.split_at(end);
        self.s = rest;
        w
    }
    /// Reads parenthesised groups after an endpoint into it: a mapped `ip/port`, ICMP
    /// `type t, code c`, a user or a host-name annotation.
    fn groups(&mut self, ep: &mut Endpoint<'a>, icmp: &mut (Option<u64>, Option<u64>)) {
        loop {
            let t = self.s.trim_start();
            let Some(inner_start) = t.strip_prefix('(') else {
                return;
            };
            let Some(close) = inner_start.find(')') else {
                return;
            };
            let inner = inner_start.get(..close).unwrap_or_default();
            self.s = inner_start.get(close + 1..).unwrap_or_default();
            if let Some(tc) = inner.strip_prefix("type ") {
                let (ty, code) = tc.split_once(',').unwrap_or((tc, ""));
                icmp.0 = parse_u64(ty.trim().as_bytes());
                icmp.1 = parse_u64(code.trim().trim_start_matches("code").trim().as_bytes());
                continue;
            }
            if ep.mapped.is_none() && ep.user.is_none() {
                if let Some((a, p)) = inner.rsplit_once('/') {
                    if let (Ok(a), Some(p)) = (addr(a, "mapped address"), parse_u16(p.as_bytes())) {
                        ep.mapped = Some((a, Some(p)));
                        continue;
                    }
                } else if let Some(ip) = parse_ip(inner) {
                    ep.mapped = Some((Addr::Ip(ip), None));
                    continue;
                }
            }
            let user_like = inner.contains('\\') || inner.contains('@') || !inner.contains('.');
            if user_like {
                ep.user = ep.user.or(Some(inner));
            } else {
                ep.name = ep.name.or(Some(inner));
            }
        }
    }
}

/// Reads `<ifc>:<addr>/<port>` (the connection form; the port optional unless `with_port`);
/// `side` names it in errors.
fn conn_endpoint<'a>(p: &mut P<'a>, side: &str, with_port: bool) -> Result<Endpoint<'a>, String> {
    p.ws();
    let (ifc, rest) =
        p.s.split_once(':')
            .ok_or_else(|| format!("bad {side} endpoint {:?}: no interface", clip(p.s, 64)))?;
    p.s = rest;
    let token = p.until(&[' ', '(']);
    let mut ep = Endpoint {
        ifc: Some(ifc),
        ..Endpoint::default()
    };
    match token.rsplit_once('/') {
        Some((a, pt)) => {
            ep.addr = Some(addr(a, &format!("{side} address"))?);
            ep.port = Some(port(pt, &format!("{side} port"))?);
        }
        None if !with_port => ep.addr = Some(addr(token, &format!("{side} address"))?),
        None => {
            return Err(format!(
                "bad {side} endpoint {:?}: no port",
                clip(token, 64)
            ))
        }
    }
    Ok(ep)
}

/// Reads `<addr>/<port>` (the deny form, no interface).
fn plain_endpoint<'a>(p: &mut P<'a>, side: &str) -> Result<Endpoint<'a>, String> {
    p.ws();
    let token = p.until(&[' ', '(']);
    let (a, pt) = token
        .rsplit_once('/')
        .ok_or_else(|| format!("bad {side} endpoint {:?}: no port", clip(token, 64)))?;
    Ok(Endpoint {
        addr: Some(addr(a, &format!("{side} address"))?),
        port: Some(port(pt, &format!("{side} port"))?),
        ..Endpoint::default()
    })
}

/// A row in the making.
#[derive(Debug, Clone, Default)]
struct Flow<'a> {
    msg_id: &'a str,
    time: i64,
    end_time: Option<i64>,
    src: Endpoint<'a>,
    dst: Endpoint<'a>,
    protocol: Option<u8>,
    proto_name: Option<&'a str>,
    denied: bool,
    direction: Option<Direction>,
    state: Option<Cow<'a, str>>,
    rule: Option<&'a str>,
    bytes: Option<u64>,
    tcp_flags: Option<u16>,
    conn_id: Option<&'a str>,
    interface: Option<&'a str>,
    teardown_from: Option<&'a str>,
    trailing_user: Option<&'a str>,
    dst_service: Option<&'a str>,
    icmp_type: Option<u64>,
    icmp_code: Option<u64>,
    icmp_id: Option<u64>,
    hit_count: Option<u64>,
    repeat: Option<u64>,
}

impl<'a> Flow<'a> {
    fn user(&self) -> Option<&'a str> {
        self.src.user.or(self.dst.user).or(self.trailing_user)
    }
}

/// What a built message says (TCP/UDP with an id, or ICMP).
#[derive(Debug, Clone, Copy)]
struct Built<'a> {
    msg_id: &'a str,
    outbound: bool,
    protocol: u8,
    conn_id: Option<&'a str>,
    /// TCP/UDP: the first and second endpoints; ICMP: faddr and laddr (gaddr is laddr's mapping).
    ep1: Endpoint<'a>,
    ep2: Endpoint<'a>,
    icmp: (Option<u64>, Option<u64>),
    icmp_id: Option<u64>,
    key_text: [&'a str; 3],
}

impl<'a> Built<'a> {
    fn key(&self, dev_hash: u64) -> u64 {
        pair_key(dev_hash, self.protocol, self.conn_id, self.key_text)
    }

    /// The row of this connection so far: initiator first.
    fn flow(&self) -> Flow<'a> {
        let (src, dst) = if self.outbound {
            (self.ep2, self.ep1)
        } else {
            (self.ep1, self.ep2)
        };
        Flow {
            msg_id: self.msg_id,
            src,
            dst,
            protocol: Some(self.protocol),
            direction: Some(if self.outbound {
                Direction::Outbound
            } else {
                Direction::Inbound
            }),
            conn_id: self.conn_id,
            icmp_type: self.icmp.0,
            icmp_code: self.icmp.1,
            icmp_id: self.icmp_id,
            ..Flow::default()
        }
    }
}

fn pair_key(dev_hash: u64, protocol: u8, conn_id: Option<&str>, key_text: [&str; 3]) -> u64 {
    let h = fnv(&[protocol], dev_hash);
    match conn_id {
        Some(id) => fnv(id.as_bytes(), h),
        None => key_text
            .iter()
            .fold(fnv(b"icmp", h), |h, t| fnv(b" ", fnv(t.as_bytes(), h))),
    }
}

/// Reads `<proto> connection <id>` or `ICMP connection`; returns (protocol, id).
fn proto_and_id<'a>(p: &mut P<'a>) -> Result<(u8, Option<&'a str>), String> {
    p.lit("Probe ");
    let proto = p.word();
    let protocol = match proto {
        "TCP" => 6,
        "UDP" => 17,
        "ICMP" => 1,
        other => return Err(format!("bad protocol {:?}", clip(other, 32))),
    };
    p.expect("connection", "`connection`")?;
    let id = if protocol == 1 {
        None
    } else {
        let id = p.word();
        if parse_u64(id.as_bytes()).is_none() {
            return Err(format!("bad connection id {:?}", clip(id, 32)));
        }
        Some(id)
    };
    p.expect("for", "`for`")?;
    Ok((protocol, id))
}

/// Reads the ICMP form `faddr <ip>/<n> [(u)] gaddr <ip>/<n> laddr <ip>/<n> [(u)] [type t code c]`.
#[allow(clippy::type_complexity)]
fn icmp_endpoints<'a>(
    p: &mut P<'a>,
) -> Result<
    (
        Endpoint<'a>,
        Endpoint<'a>,
        (Option<u64>, Option<u64>),
        Option<u64>,
        [&'a str; 3],
    ),
    String,
> {
    let mut icmp = (None, None);
    let read = |p: &mut P<'a>, name: &str| -> Result<(Addr<'a>, u64, &'a str), String> {
        p.expect(name, &format!("`{name}`"))?;
        p.ws();
        let token = p.until(&[' ', '(']);
        let (a, n) = token.rsplit_once('/').unwrap_or((token, "0"));
        let a = addr(a, name)?;
        let n = parse_u64(n.as_bytes())
            .ok_or_else(|| format!("bad {name} number {:?}", clip(n, 32)))?;
        Ok((a, n, token))
    };
    let (fa, fn_, ft) = read(p, "faddr")?;
    let mut ep1 = Endpoint {
        addr: Some(fa),
        ..Endpoint::default()
    };
    p.groups(&mut ep1, &mut icmp);
    let (ga, _, gt) = read(p, "gaddr")?;
    let mut skip = Endpoint::default();
    p.groups(&mut skip, &mut icmp);
    let (la, ln, lt) = read(p, "laddr")?;
    let mut ep2 = Endpoint {
        addr: Some(la),
        mapped: Some((ga, None)),
        ..Endpoint::default()
    };
    p.groups(&mut ep2, &mut icmp);
    if p.lit("type ") {
        icmp.0 = parse_u64(p.word().as_bytes());
        if p.lit("code ") {
            icmp.1 = parse_u64(p.word().as_bytes());
        }
    }
    let id = [fn_, ln].into_iter().find(|n| *n != 0);
    Ok((ep1, ep2, icmp, id, [ft, gt, lt]))
}

fn parse_built(body: &str) -> Result<Built<'_>, String> {
    let mut p = P { s: body };
    p.expect("Built", "`Built`")?;
    let outbound = match p.word() {
        "outbound" => true,
        "inbound" => false,
        other => return Err(format!("bad direction {:?}", clip(other, 32))),
    };
    let (protocol, conn_id) = proto_and_id(&mut p)?;
    if protocol == 1 {
        let (ep1, ep2, icmp, icmp_id, key_text) = icmp_endpoints(&mut p)?;
        let v6 = ep1.is_v6() || ep2.is_v6();
        return Ok(Built {
            msg_id: "302020",
            outbound,
            protocol: if v6 { 58 } else { 1 },
            conn_id: None,
            ep1,
            ep2,
            icmp,
            icmp_id,
            key_text,
        });
    }
    let mut icmp = (None, None);
    let mut ep1 = conn_endpoint(&mut p, "first", true)?;
    p.groups(&mut ep1, &mut icmp);
    p.expect("to", "`to`")?;
    let mut ep2 = conn_endpoint(&mut p, "second", true)?;
    p.groups(&mut ep2, &mut icmp);
    Ok(Built {
        msg_id: if protocol == 6 { "302013" } else { "302015" },
        outbound,
        protocol,
        conn_id,
        ep1,
        ep2,
        icmp,
        icmp_id: None,
        key_text: [""; 3],
    })
}

/// What a teardown message says.
#[derive(Debug, Clone, Copy)]
struct Teardown<'a> {
    msg_id: &'a str,
    protocol: u8,
    conn_id: Option<&'a str>,
    ep1: Endpoint<'a>,
    ep2: Endpoint<'a>,
    duration: Option<u64>,
    bytes: Option<u64>,
    reason: &'a str,
    from: Option<&'a str>,
    user: Option<&'a str>,
    icmp: (Option<u64>, Option<u64>),
    icmp_id: Option<u64>,
    key_text: [&'a str; 3],
}

impl<'a> Teardown<'a> {
    fn key(&self, dev_hash: u64) -> u64 {
        pair_key(dev_hash, self.protocol, self.conn_id, self.key_text)
    }

    /// The teardown reason with spaces around `-` removed, or `closed`.
    fn state(&self) -> Cow<'a, str> {
        let r = self.reason.trim();
        if r.is_empty() {
            Cow::Borrowed("closed")
        } else if r.contains(" -") || r.contains("- ") {
            Cow::Owned(r.replace(" - ", "-").replace(" -", "-").replace("- ", "-"))
        } else {
            Cow::Borrowed(r)
        }
    }

    /// The row of a teardown whose build was not seen: message order, no direction.
    fn unpaired(&self, end: i64) -> Flow<'a> {
        Flow {
            msg_id: self.msg_id,
            time: end.saturating_sub(self.duration.map_or(0, |d| {
                i64::try_from(d.min(1 << 40)).unwrap_or(0) * 1_000_000
            })),
            src: self.ep1,
            dst: self.ep2,
            protocol: Some(self.protocol),
            conn_id: self.conn_id,
            icmp_type: self.icmp.0,
            icmp_code: self.icmp.1,
            icmp_id: self.icmp_id,
            ..Flow::default()
        }
    }
}

/// Parses `h:mm:ss` (hours unbounded) into seconds.
fn duration(s: &str) -> Option<u64> {
    let mut parts = s.split(':');
    let (h, m, sec) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let (h, m, sec) = (
        parse_u64(h.as_bytes())?,
        parse_u64(m.as_bytes())?,
        parse_u64(sec.as_bytes())?,
    );
    (m < 60 && sec < 61).then(|| h.saturating_mul(3600).saturating_add(m * 60 + sec))
}

fn parse_teardown(body: &str) -> Result<Teardown<'_>, String> {
    let mut p = P { s: body };
    p.expect("Teardown", "`Teardown`")?;
    let (protocol, conn_id) = proto_and_id(&mut p)?;
    let mut t = Teardown {
        msg_id: "302014",
        protocol,
        conn_id,
        ep1: Endpoint::default(),
        ep2: Endpoint::default(),
        duration: None,
        bytes: None,
        reason: "",
        from: None,
        user: None,
        icmp: (None, None),
        icmp_id: None,
        key_text: [""; 3],
    };
    if protocol == 1 {
        let (ep1, ep2, icmp, icmp_id, key_text) = icmp_endpoints(&mut p)?;
        t.msg_id = "302021";
        t.protocol = if ep1.is_v6() || ep2.is_v6() { 58 } else { 1 };
        (t.ep1, t.ep2, t.icmp, t.icmp_id, t.key_text) = (ep1, ep2, icmp, icmp_id, key_text);
    } else {
        t.msg_id = if protocol == 6 { "302014" } else { "302016" };
        let mut icmp = (None, None);
        t.ep1 = conn_endpoint(&mut p, "first", true)?;
        p.groups(&mut t.ep1, &mut icmp);
        p.expect("to", "`to`")?;
        t.ep2 = conn_endpoint(&mut p, "second", true)?;
        p.groups(&mut t.ep2, &mut icmp);
    }
    if p.lit("duration ") {
        let d = p.word();
        t.duration = Some(duration(d).ok_or_else(|| format!("bad duration {:?}", clip(d, 32)))?);
    }
    if p.lit("bytes ") {
        let b = p.word();
        t.bytes =
            Some(parse_u64(b.as_bytes()).ok_or_else(|| format!("bad bytes {:?}", clip(b, 32)))?);
    }
    // The rest: [reason] [from <ifc>] [(<user>)].
    let mut rest = p.s.trim();
    if rest.ends_with(')') {
        if let Some(open) = rest.rfind('(') {
            t.user = rest.get(open + 1..rest.len() - 1);
            rest = rest.get(..open).unwrap_or_default().trim_end();
        }
    }
    let split = if rest.starts_with("from ") {
        Some(0)
    } else {
        rest.rfind(" from ").map(|i| i + 1)
    };
    if let Some(i) = split {
        let tail = rest.get(i + 5..).unwrap_or_default().trim();
        if !tail.is_empty() && !tail.contains(' ') {
            t.from = Some(tail);
            rest = rest.get(..i).unwrap_or_default().trim_end();
        }
    }
    t.reason = rest;
    Ok(t)
}

/// Reads `flags A B C` up to `on interface`, as `tcp_flags` bits.
fn flags(p: &mut P<'_>) -> Option<u16> {
    if !p.lit("flags") {
        return None;
    }
    let mut bits = 0;
    loop {
        let save = *p;
        let w = p.word();
        if w.is_empty() || w == "on" {
            *p = save;
            break;
        }
        bits |= tcp_flag_bit(w);
    }
    Some(bits)
}

/// Reads `on interface <ifc>` at the end.
fn on_interface<'a>(p: &mut P<'a>) -> Option<&'a str> {
    if p.lit("on interface") {
        let rest = p.s.trim();
        p.s = "";
        nonempty(rest)
    } else {
        None
    }
}

fn direction_word(w: &str) -> Option<Direction> {
    if w.eq_ignore_ascii_case("inbound") {
        Some(Direction::Inbound)
    } else if w.eq_ignore_ascii_case("outbound") {
        Some(Direction::Outbound)
    } else {
        None
    }
}

/// Parses the deny and ACL messages into a row (time and repeat are set by the caller).
fn parse_deny(id: u32, body: &str) -> Result<Flow<'_>, String> {
    let mut p = P { s: body };
    let mut f = Flow {
        denied: true,
        ..Flow::default()
    };
    let mut icmp = (None, None);
    match id {
        106001 | 106006 | 106007 | 106015 => {
            f.msg_id = match id {
                106001 => "106001",
                106006 => "106006",
                106007 => "106007",
                _ => "106015",
            };
            if id == 106001 {
                f.direction = direction_word(p.word());
                p.expect("TCP connection denied", "`TCP connection denied`")?;
                f.protocol = Some(6);
            } else if id == 106015 {
                p.expect("Deny TCP (no connection)", "`Deny TCP (no connection)`")?;
                f.protocol = Some(6);
            } else {
                p.expect("Deny", "`Deny`")?;
                f.direction = direction_word(p.word());
                let proto = p.word();
                f.protocol = protocol_number(proto);
                if f.protocol.is_none() {
                    f.proto_name = Some(proto);
                }
            }
            p.expect("from", "`from`")?;
            f.src = plain_endpoint(&mut p, "source")?;
            p.groups(&mut f.src, &mut icmp);
            p.expect("to", "`to`")?;
            f.dst = plain_endpoint(&mut p, "destination")?;
            p.groups(&mut f.dst, &mut icmp);
            if f.protocol == Some(6) {
                f.tcp_flags = flags(&mut p);
            }
            f.interface = on_interface(&mut p);
        }
        106014 | 106023 => {
            p.expect("Deny", "`Deny`")?;
            let mut proto = p.word();
            if id == 106014 {
                f.msg_id = "106014";
                f.direction = direction_word(proto);
                proto = p.word();
            } else {
                f.msg_id = "106023";
                if proto == "protocol" {
                    proto = p.word();
                }
            }
            p.expect("src", "`src`")?;
            f.src = conn_endpoint(&mut p, "source", false)?;
            p.groups(&mut f.src, &mut icmp);
            p.expect("dst", "`dst`")?;
            f.dst = conn_endpoint(&mut p, "destination", false)?;
            p.groups(&mut f.dst, &mut icmp);
            f.protocol = protocol_number(proto).map(|n| {
                if n == 1 && (f.src.is_v6() || f.dst.is_v6()) {
                    58
                } else {
                    n
                }
            });
            if f.protocol.is_none() {
                f.proto_name = Some(proto);
            }
            if p.lit("by access-group") {
                p.ws();
                let acl =
                    p.s.strip_prefix('"')
                        .and_then(|s| s.split_once('"'))
                        .map(|(a, _)| a);
                f.rule = acl.or_else(|| Some(p.word()));
            }
        }
        106100 => {
            f.msg_id = "106100";
            p.expect("access-list", "`access-list`")?;
            f.rule = nonempty(p.word());
            f.denied = match p.word() {
                "denied" => true,
                "permitted" | "est-allowed" => false,
                other => return Err(format!("bad access-list verb {:?}", clip(other, 32))),
            };
            let proto = p.word();
            f.protocol = protocol_number(proto);
            if f.protocol.is_none() {
                f.proto_name = Some(proto);
            }
            f.src = acl_endpoint(&mut p, "source")?;
            p.groups(&mut f.src, &mut icmp);
            p.expect("->", "`->`")?;
            f.dst = acl_endpoint(&mut p, "destination")?;
            p.groups(&mut f.dst, &mut icmp);
            if f.protocol == Some(1) && (f.src.is_v6() || f.dst.is_v6()) {
                f.protocol = Some(58);
            }
            if p.lit("hit-cnt") {
                f.hit_count = parse_u64(p.word().as_bytes());
            }
        }
        _ => {
            // 710003: `{TCP|UDP} access denied by ACL from <ip>/<port> to <ifc>:<ip>/<service>`.
            f.msg_id = "710003";
            let proto = p.word();
            f.protocol = protocol_number(proto);
            p.expect("access denied by ACL from", "`access denied by ACL from`")?;
            f.src = plain_endpoint(&mut p, "source")?;
            p.expect("to", "`to`")?;
            p.ws();
            let (ifc, rest) = p.s.split_once(':').ok_or_else(|| {
                format!("bad destination endpoint {:?}: no interface", clip(p.s, 64))
            })?;
            p.s = rest;
            let token = p.until(&[' ']);
            let (a, svc) = token.rsplit_once('/').unwrap_or((token, ""));
            f.dst = Endpoint {
                ifc: Some(ifc.trim()),
                addr: Some(addr(a, "destination address")?),
                port: parse_u16(svc.as_bytes()),
                ..Endpoint::default()
            };
            if f.dst.port.is_none() {
                f.dst_service = nonempty(svc);
            }
        }
    }
    f.icmp_type = icmp.0;
    f.icmp_code = icmp.1;
    Ok(f)
}

/// Reads `<ifc>/<addr>(<port>)` (106100; for ICMP the number is the type).
fn acl_endpoint<'a>(p: &mut P<'a>, side: &str) -> Result<Endpoint<'a>, String> {
    p.ws();
    let token = p.until(&[' ', '(']);
    let (ifc, a) = token
        .split_once('/')
        .ok_or_else(|| format!("bad {side} endpoint {:?}: no interface", clip(token, 64)))?;
    let mut ep = Endpoint {
        ifc: Some(ifc),
        addr: Some(addr(a, &format!("{side} address"))?),
        ..Endpoint::default()
    };
    if let Some((pt, after)) = p.s.strip_prefix('(').and_then(|r| r.split_once(')')) {
        ep.port = Some(port(pt, &format!("{side} port"))?);
        p.s = after;
    }
    Ok(ep)
}
