//! The collector state of one input: exporter sessions, template caches, data sets waiting for
//! their template, and the walk over the messages of one datagram (v5, v9, IPFIX).

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fmt::Write;
use std::net::{IpAddr, SocketAddr};

use flowtrail_schema::{Action, Direction, FlowRecord, RecordSink};

use super::record::{ms_to_us, role, uint, Field, Role, Template, TemplateKind, Values};

/// Most data sets kept while waiting for their template, per input.
pub(super) const MAX_PENDING_SETS: usize = 10_000;
/// Most bytes of data sets kept while waiting for their template, per input.
pub(super) const MAX_PENDING_BYTES: usize = 64 << 20;
/// Most exporter sessions (exporter × version × observation domain) per input.
const MAX_SESSIONS: usize = 65_536;
/// Most templates cached per input, all sessions together.
const MAX_TEMPLATES: usize = 65_536;
/// Most samplers remembered per session.
const MAX_SAMPLERS: usize = 1024;
/// Longest raw excerpt attached to a rejection.
const MAX_RAW: usize = 65_535;

/// The skip reason of an options data record (sampling configuration, interface tables, ...).
pub(super) const OPTIONS_SKIP: &str = "netflow: options data record";

/// Identifies whose templates and sequence numbers a message uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct SessionKey {
    exporter: Option<SocketAddr>,
    version: u16,
    /// IPFIX observation domain, v9 source id, v5 `engine_type << 8 | engine_id`.
    domain: u32,
}

#[derive(Debug)]
struct Session {
    /// The exporter as shown in reasons: `ip:port`, or the input's origin when unknown.
    exporter: String,
    /// `exporter` as a JSON string literal, for `extra`.
    exporter_json: String,
    /// The exporter address (the `device` column), when known.
    device: Option<String>,
    /// The sequence number the next message should carry.
    next_seq: Option<u32>,
    /// Lost flows (v5, IPFIX) or export packets (v9) not yet reported on a row.
    pending_gap: u64,
    /// Sampling rates announced in options records, by sampler/selector id (`None`: unkeyed).
    samplers: Vec<(Option<u64>, u64)>,
    /// IPFIX systemInitTimeMilliseconds announced in options records.
    sys_init_ms: Option<u64>,
}

impl Session {
    fn set_sampler(&mut self, key: Option<u64>, rate: u64) {
        if let Some(s) = self.samplers.iter_mut().find(|s| s.0 == key) {
            s.1 = rate;
        } else if self.samplers.len() < MAX_SAMPLERS {
            self.samplers.push((key, rate));
        }
    }

    /// The rate of the sampler a record names, else of the unkeyed sampler (an options record
    /// naming no sampler or selector, which applies to the whole session).
    fn sampler(&self, key: Option<u64>) -> Option<u64> {
        if key.is_some() {
            if let Some(s) = self.samplers.iter().find(|s| s.0 == key) {
                return Some(s.1);
            }
        }
        self.samplers.iter().find(|s| s.0.is_none()).map(|s| s.1)
    }

    /// Checks a message's sequence number against the expected one: a forward jump is added
    /// to `pending_gap`; backward jumps (reordering, exporter restarts) are not losses.
    fn check_sequence(&mut self, seq: u32) {
        if let Some(expected) = self.next_seq {
            let d = seq.wrapping_sub(expected);
            if d != 0 && d < 1 << 31 {
                self.pending_gap += u64::from(d);
            }
        }
    }
}

/// What every record of a message shares.
#[derive(Debug, Clone, Copy)]
struct Header {
    version: u16,
    /// Export time, µs since the epoch.
    export_us: i64,
    /// Exporter uptime at export (v5, v9), ms.
    uptime_ms: Option<u32>,
    domain: u32,
    /// v5: the header's sampling interval.
    sampling: Option<u64>,
}

/// A data set that arrived before its template.
#[derive(Debug)]
struct Pending {
    sid: usize,
    tid: u16,
    hdr: Header,
    line: u64,
    body: Vec<u8>,
}

/// Reusable buffers for the strings a row borrows.
#[derive(Debug, Default)]
struct Out {
    extra: String,
    rule: String,
}

/// The state of one input.
#[derive(Debug)]
pub(super) struct Collector {
    /// Shown as the exporter when the input has no addresses (raw datagram dumps).
    origin: String,
    sessions: Vec<Session>,
    index: HashMap<SessionKey, usize>,
    templates: HashMap<(usize, u16), Template>,
    pending: Vec<Pending>,
    pending_bytes: usize,
    /// The (session, template id) pairs some pending set waits for.
    waiting: HashSet<(usize, u16)>,
    /// Templates of the current message that pending sets wait for; their sets are decoded
    /// at the end of the message, once its options records (sampling) are known too.
    unlocked: Vec<(usize, u16)>,
    out: Out,
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn clip(b: &[u8]) -> &[u8] {
    b.get(..b.len().min(MAX_RAW)).unwrap_or(b)
}

/// Where the next message of a datagram (or raw dump) starts, after an optional zero padding.
enum Next {
    Start(usize),
    Padding,
    Garbage,
}

fn next_message(rest: &[u8]) -> Next {
    let mut i = 0;
    while rest.get(i) == Some(&0) && rest.get(i + 1) == Some(&0) {
        i += 1;
    }
    match (rest.get(i), rest.get(i + 1)) {
        (Some(0), Some(5 | 9 | 10)) => Next::Start(i),
        (Some(0), None) | (None, _) => Next::Padding,
        _ => Next::Garbage,
    }
}

/// Returns true when `b` starts like a NetFlow v5/v9 or IPFIX message.
pub(super) fn looks_like_netflow(b: &[u8]) -> bool {
    match be16(b, 0) {
        Some(5) => be16(b, 2).is_some_and(|c| (1..=30).contains(&c)) && b.len() >= 24,
        Some(9) => b.len() >= 24 && be16(b, 20).is_some_and(|id| id == 0 || id == 1 || id >= 256),
        Some(10) => {
            be16(b, 2).is_some_and(|l| l >= 20)
                && be16(b, 16).is_some_and(|id| id == 2 || id == 3 || id >= 256)
        }
        _ => false,
    }
}

impl Collector {
    pub fn new(origin: &str) -> Collector {
        Collector {
            origin: if origin.is_empty() {
                "-".to_string()
            } else {
                origin.to_string()
            },
            sessions: Vec::new(),
            index: HashMap::new(),
            templates: HashMap::new(),
            pending: Vec::new(),
            pending_bytes: 0,
            waiting: HashSet::new(),
            unlocked: Vec::new(),
            out: Out::default(),
        }
    }

    /// Decodes the messages of one datagram (pcap) or of a whole raw dump (`raw`: each message
    /// takes the next line number). Returns the last line number used.
    pub fn decode_payload(
        &mut self,
        data: &[u8],
        exporter: Option<SocketAddr>,
        first_line: u64,
        raw: bool,
        sink: &mut dyn RecordSink,
    ) -> u64 {
        let mut line = first_line;
        let mut pos = 0usize;
        let mut first = true;
        while pos < data.len() {
            let rest = data.get(pos..).unwrap_or_default();
            if !first {
                match next_message(rest) {
                    Next::Start(off) => {
                        pos += off;
                        if raw {
                            line += 1;
                        }
                    }
                    Next::Padding => break,
                    Next::Garbage => {
                        if raw {
                            line += 1;
                        }
                        sink.reject(
                            line,
                            &format!(
                                "{} bytes after the last NetFlow/IPFIX message are not a message",
                                rest.len()
                            ),
                            clip(rest),
                        );
                        break;
                    }
                }
            }
            let rest = data.get(pos..).unwrap_or_default();
            let result = match be16(rest, 0) {
                Some(5) => self.v5(rest, exporter, line, sink),
                Some(9) => {
                    let r = self.v9(rest, exporter, line, sink);
                    self.resolve_pending(sink);
                    r
                }
                Some(10) => {
                    let r = self.ipfix(rest, exporter, line, sink);
                    self.resolve_pending(sink);
                    r
                }
                _ if !raw && first => {
                    sink.skip(line, "netflow: UDP payload is not NetFlow v5/v9 or IPFIX");
                    Err(())
                }
                other => {
                    let reason = match other {
                        Some(v) => format!("not a NetFlow/IPFIX message: version {v}"),
                        None => format!("truncated NetFlow message ({} bytes)", rest.len()),
                    };
                    sink.reject(line, &reason, clip(rest));
                    Err(())
                }
            };
            first = false;
            match result {
                Ok(n) => pos += n.max(1),
                Err(()) => break,
            }
        }
        line
    }

    /// Rejects the data sets whose template never came.
    pub fn finish(&mut self, sink: &mut dyn RecordSink) {
        for p in std::mem::take(&mut self.pending) {
            let s = self.sessions.get(p.sid);
            let reason = format!(
                "no template {} for exporter {} (observation domain {})",
                p.tid,
                s.map_or("-", |s| s.exporter.as_str()),
                p.hdr.domain
            );
            sink.reject(p.line, &reason, clip(&p.body));
        }
        self.pending_bytes = 0;
        self.waiting.clear();
    }

    fn session(
        &mut self,
        exporter: Option<SocketAddr>,
        version: u16,
        domain: u32,
    ) -> Option<usize> {
        let key = SessionKey {
            exporter,
            version,
            domain,
        };
        if let Some(&i) = self.index.get(&key) {
            return Some(i);
        }
        if self.sessions.len() >= MAX_SESSIONS {
            return None;
        }
        let text = exporter.map_or_else(|| self.origin.clone(), |a| a.to_string());
        let mut json = String::new();
        crate::util::push_json_str_u(&mut json, &text);
        self.sessions.push(Session {
            exporter: text,
            exporter_json: json,
            device: exporter.map(|a| a.ip().to_string()),
            next_seq: None,
            pending_gap: 0,
            samplers: Vec::new(),
            sys_init_ms: None,
        });
        self.index.insert(key, self.sessions.len() - 1);
        Some(self.sessions.len() - 1)
    }

    fn session_or_reject(
        &mut self,
        exporter: Option<SocketAddr>,
        version: u16,
        domain: u32,
        msg: &[u8],
        line: u64,
        sink: &mut dyn RecordSink,
    ) -> Result<usize, ()> {
        self.session(exporter, version, domain).ok_or_else(|| {
            sink.reject(
                line,
                &format!("too many exporter sessions (limit {MAX_SESSIONS})"),
                clip(msg),
            );
        })
    }

    // -----------------------------------------------------------------------------------------
    // NetFlow v5

    fn v5(
        &mut self,
        msg: &[u8],
        exporter: Option<SocketAddr>,
        line: u64,
        sink: &mut dyn RecordSink,
    ) -> Result<usize, ()> {
        let (Some(count), Some(uptime), Some(secs), Some(nsecs), Some(seq), Some(sampling)) = (
            be16(msg, 2),
            be32(msg, 4),
            be32(msg, 8),
            be32(msg, 12),
            be32(msg, 16),
            be16(msg, 22),
        ) else {
            sink.reject(
                line,
                &format!(
                    "truncated NetFlow v5 header ({} bytes, 24 needed)",
                    msg.len()
                ),
                clip(msg),
            );
            return Err(());
        };
        if count > 30 {
            sink.reject(
                line,
                &format!("bad NetFlow v5 record count {count} (at most 30)"),
                clip(msg),
            );
            return Err(());
        }
        let need = 24 + 48 * usize::from(count);
        if msg.len() < need {
            sink.reject(
                line,
                &format!(
                    "truncated NetFlow v5 packet: {count} records need {need} bytes, {} present",
                    msg.len()
                ),
                clip(msg),
            );
            return Err(());
        }
        let engine = u32::from(msg[20]) << 8 | u32::from(msg[21]);
        let sid = self.session_or_reject(exporter, 5, engine, msg, line, sink)?;
        let hdr = Header {
            version: 5,
            export_us: i64::from(secs) * 1_000_000 + i64::from(nsecs / 1000),
            uptime_ms: Some(uptime),
            domain: engine,
            sampling: Some(u64::from(sampling & 0x3fff)),
        };
        let Collector { sessions, out, .. } = self;
        let Some(sess) = sessions.get_mut(sid) else {
            return Err(());
        };
        sess.check_sequence(seq);
        sess.next_seq = Some(seq.wrapping_add(u32::from(count)));
        for r in msg.get(24..need).unwrap_or_default().chunks_exact(48) {
            let v = v5_values(r);
            emit(&v, &hdr, sess, out, None, line, sink);
        }
        Ok(need)
    }

    // -----------------------------------------------------------------------------------------
    // NetFlow v9

    fn v9(
        &mut self,
        msg: &[u8],
        exporter: Option<SocketAddr>,
        line: u64,
        sink: &mut dyn RecordSink,
    ) -> Result<usize, ()> {
        let (Some(uptime), Some(secs), Some(seq), Some(source_id)) =
            (be32(msg, 4), be32(msg, 8), be32(msg, 12), be32(msg, 16))
        else {
            sink.reject(
                line,
                &format!(
                    "truncated NetFlow v9 header ({} bytes, 20 needed)",
                    msg.len()
                ),
                clip(msg),
            );
            return Err(());
        };
        let sid = self.session_or_reject(exporter, 9, source_id, msg, line, sink)?;
        if let Some(s) = self.sessions.get_mut(sid) {
            s.check_sequence(seq);
            s.next_seq = Some(seq.wrapping_add(1));
        }
        let hdr = Header {
            version: 9,
            export_us: i64::from(secs) * 1_000_000,
            uptime_ms: Some(uptime),
            domain: source_id,
            sampling: None,
        };
        let mut pos = 20usize;
        while let (Some(id), Some(len)) = (be16(msg, pos), be16(msg, pos + 2)) {
            let len = usize::from(len);
            if id == 0 && len == 0 {
                // Zero padding (Palo Alto fills datagrams with zeros) or a following message.
                break;
            }
            if (2..256).contains(&id) {
                if matches!(id, 5 | 9 | 10) {
                    // The next message of a raw dump (flowset ids 2-255 are reserved).
                    break;
                }
                sink.reject(
                    line,
                    &format!("bad NetFlow v9 flowset id {id} at offset {pos}"),
                    clip(msg.get(pos..).unwrap_or_default()),
                );
                return Err(());
            }
            let Some(body) = msg.get(pos + 4..pos + len).filter(|_| len >= 4) else {
                sink.reject(
                    line,
                    &format!(
                        "NetFlow v9 flowset {id} at offset {pos}: length {len} overruns the packet ({} bytes)",
                        msg.len()
                    ),
                    clip(msg.get(pos..).unwrap_or_default()),
                );
                return Err(());
            };
            match id {
                0 => self.template_set(sid, body, false, TemplateKind::Data, line, sink),
                1 => self.template_set(sid, body, false, TemplateKind::Options, line, sink),
                _ => {
                    self.data_set(sid, id, body, hdr, line, sink);
                }
            }
            pos += len;
        }
        Ok(pos)
    }

    // -----------------------------------------------------------------------------------------
    // IPFIX

    fn ipfix(
        &mut self,
        msg: &[u8],
        exporter: Option<SocketAddr>,
        line: u64,
        sink: &mut dyn RecordSink,
    ) -> Result<usize, ()> {
        let (Some(len), Some(secs), Some(seq), Some(domain)) =
            (be16(msg, 2), be32(msg, 4), be32(msg, 8), be32(msg, 12))
        else {
            sink.reject(
                line,
                &format!(
                    "truncated IPFIX message header ({} bytes, 16 needed)",
                    msg.len()
                ),
                clip(msg),
            );
            return Err(());
        };
        let len = usize::from(len);
        if len < 16 {
            sink.reject(line, &format!("bad IPFIX message length {len}"), clip(msg));
            return Err(());
        }
        let Some(msg) = msg.get(..len) else {
            sink.reject(
                line,
                &format!(
                    "truncated IPFIX message: length {len}, {} bytes present",
                    msg.len()
                ),
                clip(msg),
            );
            return Err(());
        };
        let sid = self.session_or_reject(exporter, 10, domain, msg, line, sink)?;
        if let Some(s) = self.sessions.get_mut(sid) {
            s.check_sequence(seq);
        }
        let hdr = Header {
            version: 10,
            export_us: i64::from(secs) * 1_000_000,
            uptime_ms: None,
            domain,
            sampling: None,
        };
        // Data records of this message, for the next sequence number; `None` once unknown.
        let mut records = Some(0u32);
        let mut pos = 16usize;
        while let (Some(id), Some(slen)) = (be16(msg, pos), be16(msg, pos + 2)) {
            let slen = usize::from(slen);
            let Some(body) = msg.get(pos + 4..pos + slen).filter(|_| slen >= 4) else {
                sink.reject(
                    line,
                    &format!(
                        "IPFIX set {id} at offset {pos}: length {slen} overruns the message ({len} bytes)"
                    ),
                    clip(msg.get(pos..).unwrap_or_default()),
                );
                records = None;
                break;
            };
            match id {
                2 => self.template_set(sid, body, true, TemplateKind::Data, line, sink),
                3 => self.template_set(sid, body, true, TemplateKind::Options, line, sink),
                256.. => {
                    let n = self.data_set(sid, id, body, hdr, line, sink);
                    records = match (records, n) {
                        (Some(a), Some(b)) => Some(a.wrapping_add(b)),
                        _ => None,
                    };
                }
                _ => {
                    sink.reject(
                        line,
                        &format!("bad IPFIX set id {id} at offset {pos}"),
                        clip(body),
                    );
                    records = None;
                }
            }
            pos += slen;
        }
        if let Some(s) = self.sessions.get_mut(sid) {
            s.next_seq = records.map(|n| seq.wrapping_add(n));
        }
        Ok(len)
    }

    // -----------------------------------------------------------------------------------------
    // Templates

    /// Parses a (v9 or IPFIX) template or options template set and stores its templates.
    fn template_set(
        &mut self,
        sid: usize,
        body: &[u8],
        ipfix: bool,
        kind: TemplateKind,
        line: u64,
        sink: &mut dyn RecordSink,
    ) {
        let mut pos = 0usize;
        loop {
            let rest = body.get(pos..).unwrap_or_default();
            if rest.len() < 4 || rest.iter().all(|b| *b == 0) {
                return; // end or padding
            }
            match parse_template(rest, ipfix, kind) {
                Ok((tid, Some(t), used)) => {
                    pos += used;
                    if tid < 256 {
                        sink.reject(line, &format!("bad template id {tid}"), clip(rest));
                        return;
                    }
                    if !self.insert_template(sid, tid, t) {
                        sink.reject(
                            line,
                            &format!("template cache full ({MAX_TEMPLATES} templates); template {tid} dropped"),
                            clip(rest),
                        );
                        continue;
                    }
                    if self.waiting.remove(&(sid, tid)) {
                        self.unlocked.push((sid, tid));
                    }
                }
                Ok((tid, None, used)) => {
                    // IPFIX withdrawal: template id 2 (or 3) withdraws all of that kind.
                    pos += used;
                    if tid == 2 || tid == 3 {
                        self.templates.retain(|k, t| k.0 != sid || t.kind != kind);
                    } else {
                        self.templates.remove(&(sid, tid));
                    }
                }
                Err(reason) => {
                    sink.reject(line, &reason, clip(rest));
                    return;
                }
            }
        }
    }

    fn insert_template(&mut self, sid: usize, tid: u16, t: Template) -> bool {
        if self.templates.len() >= MAX_TEMPLATES && !self.templates.contains_key(&(sid, tid)) {
            return false;
        }
        self.templates.insert((sid, tid), t);
        true
    }

    /// Decodes the pending data sets that the templates of the message just read unlock.
    fn resolve_pending(&mut self, sink: &mut dyn RecordSink) {
        if self.unlocked.is_empty() {
            return;
        }
        let unlocked = std::mem::take(&mut self.unlocked);
        let (ready, rest): (Vec<Pending>, Vec<Pending>) = std::mem::take(&mut self.pending)
            .into_iter()
            .partition(|p| unlocked.contains(&(p.sid, p.tid)));
        self.pending = rest;
        for p in ready {
            self.pending_bytes -= p.body.len();
            self.data_set(p.sid, p.tid, &p.body, p.hdr, p.line, sink);
        }
    }

    // -----------------------------------------------------------------------------------------
    // Data sets

    /// Decodes a data set, or keeps it until its template arrives. Returns the number of
    /// records it held, `None` when unknown (no template, or a record was malformed).
    fn data_set(
        &mut self,
        sid: usize,
        tid: u16,
        body: &[u8],
        hdr: Header,
        line: u64,
        sink: &mut dyn RecordSink,
    ) -> Option<u32> {
        if !self.templates.contains_key(&(sid, tid)) {
            self.buffer(sid, tid, body, hdr, line, sink);
            return None;
        }
        let Collector {
            templates,
            sessions,
            out,
            ..
        } = self;
        let sess = sessions.get_mut(sid)?;
        let t = templates.get(&(sid, tid))?;
        if t.min_len == 0 {
            sink.reject(
                line,
                &format!("template {tid} describes empty records; data set ignored"),
                clip(body),
            );
            return None;
        }
        let mut pos = 0usize;
        let mut n = 0u32;
        while let Some(rest) = body.get(pos..).filter(|r| !r.is_empty()) {
            if rest.len() < t.min_len || (rest.len() < 4 && rest.iter().all(|b| *b == 0)) {
                break; // padding
            }
            let mut v = Values::default();
            match t.read(rest, &mut v) {
                Ok(used) => {
                    pos += used.max(1);
                    n += 1;
                    match t.kind {
                        TemplateKind::Data => emit(&v, &hdr, sess, out, Some(tid), line, sink),
                        TemplateKind::Options => {
                            if let Some(rate) = v.own_sampling() {
                                sess.set_sampler(v.sampler_key(), rate);
                            }
                            if v.sys_init_ms.is_some() {
                                sess.sys_init_ms = v.sys_init_ms;
                            }
                            sink.skip(line, OPTIONS_SKIP);
                        }
                    }
                }
                Err(reason) => {
                    sink.reject(line, &format!("template {tid}: {reason}"), clip(rest));
                    return None;
                }
            }
        }
        Some(n)
    }

    fn buffer(
        &mut self,
        sid: usize,
        tid: u16,
        body: &[u8],
        hdr: Header,
        line: u64,
        sink: &mut dyn RecordSink,
    ) {
        if self.pending.len() >= MAX_PENDING_SETS
            || self.pending_bytes + body.len() > MAX_PENDING_BYTES
        {
            let exporter = self.sessions.get(sid).map_or("-", |s| s.exporter.as_str());
            sink.reject(
                line,
                &format!(
                    "no template {tid} for exporter {exporter} (observation domain {}); buffer of undecoded sets full",
                    hdr.domain
                ),
                clip(body),
            );
            return;
        }
        self.pending_bytes += body.len();
        self.waiting.insert((sid, tid));
        self.pending.push(Pending {
            sid,
            tid,
            hdr,
            line,
            body: body.to_vec(),
        });
    }
}

/// Parses one template record at the start of `rest`: its id, the template (`None` for an
/// IPFIX withdrawal) and its length in bytes.
fn parse_template(
    rest: &[u8],
    ipfix: bool,
    kind: TemplateKind,
) -> Result<(u16, Option<Template>, usize), String> {
    let tid = be16(rest, 0).unwrap_or(0);
    let truncated = || format!("truncated template {tid} ({} bytes)", rest.len());
    // (total field count, scope field count, header length)
    let (count, scope, mut pos) = match (ipfix, kind) {
        (true, TemplateKind::Data) => (usize::from(be16(rest, 2).ok_or_else(truncated)?), 0, 4),
        (true, TemplateKind::Options) => {
            let count = usize::from(be16(rest, 2).ok_or_else(truncated)?);
            if count == 0 {
                return Ok((tid, None, 4));
            }
            let scope = usize::from(be16(rest, 4).ok_or_else(truncated)?);
            if scope > count {
                return Err(format!(
                    "options template {tid}: scope field count {scope} exceeds field count {count}"
                ));
            }
            (count, scope, 6)
        }
        (false, TemplateKind::Data) => (usize::from(be16(rest, 2).ok_or_else(truncated)?), 0, 4),
        (false, TemplateKind::Options) => {
            // Lengths in bytes of the scope and option field lists.
            let scope_len = usize::from(be16(rest, 2).ok_or_else(truncated)?);
            let opt_len = usize::from(be16(rest, 4).ok_or_else(truncated)?);
            if scope_len % 4 != 0 || opt_len % 4 != 0 {
                return Err(format!(
                    "options template {tid}: scope length {scope_len} / option length {opt_len} not multiples of 4"
                ));
            }
            ((scope_len + opt_len) / 4, scope_len / 4, 6)
        }
    };
    if ipfix && kind == TemplateKind::Data && count == 0 {
        return Ok((tid, None, 4));
    }
    let mut fields = Vec::with_capacity(count.min(rest.len() / 4));
    for i in 0..count {
        let (Some(raw_id), Some(len)) = (be16(rest, pos), be16(rest, pos + 2)) else {
            return Err(truncated());
        };
        pos += 4;
        let (id, pen) = if ipfix && raw_id & 0x8000 != 0 {
            let pen = be32(rest, pos).ok_or_else(truncated)?;
            pos += 4;
            (raw_id & 0x7fff, pen)
        } else {
            (raw_id, 0)
        };
        // NetFlow v9 scope field types (system, interface, ...) are not Information Elements.
        let r = if !ipfix && i < scope {
            Role::Ignore
        } else {
            role(id, pen, !ipfix)
        };
        fields.push(Field { role: r, len, id });
    }
    Ok((tid, Some(Template::new(kind, fields)), pos))
}

/// Reads the fixed 48-byte NetFlow v5 record.
fn v5_values(r: &[u8]) -> Values<'_> {
    let ip = |at: usize| {
        r.get(at..at + 4)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .map(IpAddr::from)
    };
    let n = |at: usize, len: usize| r.get(at..at + len).and_then(uint);
    Values {
        src: ip(0),
        dst: ip(4),
        next_hop: ip(8),
        in_if: n(12, 2),
        out_if: n(14, 2),
        packets: n(16, 4),
        bytes: n(20, 4),
        start_uptime: n(24, 4).map(|v| v as u32),
        end_uptime: n(28, 4).map(|v| v as u32),
        src_port: n(32, 2).map(|v| v as u16),
        dst_port: n(34, 2).map(|v| v as u16),
        tcp_flags: n(37, 1).map(|v| v as u16),
        proto: n(38, 1).map(|v| v as u8),
        tos: n(39, 1).map(|v| v as u8),
        src_as: n(40, 2),
        dst_as: n(42, 2),
        src_mask: n(44, 1).map(|v| v as u8),
        dst_mask: n(45, 1).map(|v| v as u8),
        ..Values::default()
    }
}

/// Turns one data record into a row.
fn emit(
    v: &Values<'_>,
    hdr: &Header,
    sess: &mut Session,
    out: &mut Out,
    tid: Option<u16>,
    line: u64,
    sink: &mut dyn RecordSink,
) {
    let export_us = hdr.export_us;
    let sys_init = v.sys_init_ms.or(sess.sys_init_ms);
    // sysUpTime-relative times: v5/v9 against the header's uptime (serial arithmetic, so a
    // wrapped counter and a slightly-ahead clock both work); IPFIX against systemInitTime.
    let relative = |t: u32| -> Option<i64> {
        match hdr.uptime_ms {
            Some(up) => export_us.checked_sub(i64::from(up.wrapping_sub(t) as i32) * 1000),
            None => sys_init.and_then(|init| ms_to_us(init.checked_add(u64::from(t))?)),
        }
    };
    let delta = |d: u64| export_us.checked_sub(i64::try_from(d).ok()?);
    let start = v
        .start_abs
        .or_else(|| v.start_delta_us.and_then(delta))
        .or_else(|| v.start_uptime.and_then(relative));
    let mut end = v
        .end_abs
        .or_else(|| v.end_delta_us.and_then(delta))
        .or_else(|| v.end_uptime.and_then(relative));
    if end.is_none() {
        if let (Some(s), Some(d)) = (start, v.duration_ms) {
            end = ms_to_us(d).and_then(|d| s.checked_add(d));
        }
    }
    let time = start.or(v.observation_us).or(end).unwrap_or(export_us);

    // Counters: the delta counter; a v9 OUT_BYTES/OUT_PKTS (post) count when the delta is
    // absent or zero (egress flows of some exporters); then NSEL initiator/responder or totals.
    let pick = |main: Option<u64>, post: Option<u64>| match (main, post) {
        (None | Some(0), Some(p)) if p > 0 => Some(p),
        (m, _) => m,
    };
    let raw_bytes_out = pick(v.bytes, v.post_bytes)
        .or(v.init_bytes)
        .or(v.total_bytes);
    let raw_packets_out = pick(v.packets, v.post_packets)
        .or(v.init_packets)
        .or(v.total_packets);
    let raw_bytes_in = v.rev_bytes.or(v.resp_bytes).or(v.rev_total_bytes);
    let raw_packets_in = v.rev_packets.or(v.resp_packets).or(v.rev_total_packets);
    let rate = v
        .own_sampling()
        .or(hdr.sampling)
        .or_else(|| sess.sampler(v.sampler_key()))
        .filter(|r| *r > 1);
    let scale = |c: Option<u64>| match rate {
        Some(r) => c.map(|c| c.saturating_mul(r)),
        None => c,
    };

    let direction = match v.direction {
        Some(0) => Some(Direction::Inbound),
        Some(1) => Some(Direction::Outbound),
        _ => None,
    };
    // firewallEvent / NF_F_FW_EVENT: 1 created, 2 deleted, 5 updated (allowed flows), 3 denied.
    let action = match v.fw_event {
        Some(1 | 2 | 5) => Some(Action::Allowed),
        Some(3) => Some(Action::Denied),
        _ => None,
    };

    out.rule.clear();
    for acl in [v.ingress_acl, v.egress_acl].into_iter().flatten() {
        if acl.iter().any(|b| *b != 0) {
            if acl.len() == 12 {
                for (i, w) in acl.chunks_exact(4).enumerate() {
                    if i > 0 {
                        out.rule.push('-');
                    }
                    let _ = write!(
                        out.rule,
                        "{:08x}",
                        u32::from_be_bytes([w[0], w[1], w[2], w[3]])
                    );
                }
            } else {
                for b in acl {
                    let _ = write!(out.rule, "{b:02x}");
                }
            }
            break;
        }
    }
    let user = v
        .user
        .map(|u| {
            let end = u.iter().rposition(|b| *b != 0).map_or(0, |i| i + 1);
            u.get(..end).unwrap_or_default()
        })
        .and_then(|u| std::str::from_utf8(u).ok())
        .filter(|u| !u.is_empty());

    let gap = std::mem::take(&mut sess.pending_gap);
    let x = &mut out.extra;
    x.clear();
    x.push_str("{\"version\":");
    push_u64(x, u64::from(hdr.version));
    x.push_str(",\"exporter\":");
    x.push_str(&sess.exporter_json);
    if hdr.version == 5 {
        push_field(x, "engine_type", u64::from(hdr.domain >> 8));
        push_field(x, "engine_id", u64::from(hdr.domain & 0xff));
    } else {
        push_field(x, "observation_domain", u64::from(hdr.domain));
    }
    if let Some(t) = tid {
        push_field(x, "template", u64::from(t));
    }
    let nonzero = [
        ("in_if", v.in_if),
        ("out_if", v.out_if),
        ("src_as", v.src_as),
        ("dst_as", v.dst_as),
        ("src_mask", v.src_mask.map(u64::from)),
        ("dst_mask", v.dst_mask.map(u64::from)),
        ("tos", v.tos.map(u64::from)),
        ("vlan", v.vlan.map(u64::from)),
        ("nat_src_port", v.nat_src_port.map(u64::from)),
        ("nat_dst_port", v.nat_dst_port.map(u64::from)),
        ("fw_event", v.fw_event.map(u64::from)),
        ("fw_ext_event", v.fw_ext_event),
        ("flow_id", v.flow_id),
        ("end_reason", v.end_reason.map(u64::from)),
    ];
    for (k, val) in nonzero {
        if let Some(val) = val.filter(|v| *v != 0) {
            push_field(x, k, val);
        }
    }
    if let Some(nh) = v.next_hop.filter(|a| !a.is_unspecified()) {
        let _ = write!(x, ",\"next_hop\":\"{nh}\"");
    }
    for (k, mac) in [("src_mac", v.src_mac), ("dst_mac", v.dst_mac)] {
        if let Some(m) = mac.filter(|m| m.iter().any(|b| *b != 0)) {
            let _ = write!(
                x,
                ",\"{k}\":\"{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}\"",
                m[0], m[1], m[2], m[3], m[4], m[5]
            );
        }
    }
    if let (Some(icmp), Some(1 | 58)) = (v.icmp, v.proto) {
        push_field(x, "icmp_type", u64::from(icmp >> 8));
        push_field(x, "icmp_code", u64::from(icmp & 0xff));
    }
    if v.post_bytes.is_some() || v.post_packets.is_some() {
        for (k, val) in [
            ("post_bytes", v.post_bytes),
            ("post_packets", v.post_packets),
        ] {
            if let Some(val) = val {
                push_field(x, k, val);
            }
        }
    }
    if let Some(r) = rate {
        push_field(x, "sampling", r);
        for (k, val) in [
            ("raw_bytes", raw_bytes_out),
            ("raw_packets", raw_packets_out),
            ("raw_bytes_in", raw_bytes_in),
            ("raw_packets_in", raw_packets_in),
        ] {
            if let Some(val) = val {
                push_field(x, k, val);
            }
        }
    }
    if gap > 0 {
        push_field(x, "seq_gap", gap);
    }
    x.push('}');

    let row = FlowRecord {
        time,
        end_time: end,
        origin_line: line,
        src_ip: v.src,
        src_port: v.src_port,
        dst_ip: v.dst,
        dst_port: v.dst_port,
        protocol: v.proto,
        bytes_out: scale(raw_bytes_out),
        bytes_in: scale(raw_bytes_in),
        packets_out: scale(raw_packets_out),
        packets_in: scale(raw_packets_in),
        action,
        direction,
        rule: (!out.rule.is_empty()).then_some(Cow::Borrowed(out.rule.as_str())),
        device: sess.device.as_deref().map(Cow::Borrowed),
        user: user.map(Cow::Borrowed),
        tcp_flags: v.tcp_flags,
        nat_src_ip: v.nat_src.filter(|a| !a.is_unspecified()),
        nat_dst_ip: v.nat_dst.filter(|a| !a.is_unspecified()),
        extra: Some(Cow::Borrowed(out.extra.as_str())),
        ..FlowRecord::default()
    };
    sink.flow(&row);
}

fn push_u64(out: &mut String, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    for &c in buf.get(i..).unwrap_or_default() {
        out.push(char::from(c));
    }
}

fn push_field(out: &mut String, key: &str, v: u64) {
    out.push_str(",\"");
    out.push_str(key);
    out.push_str("\":");
    push_u64(out, v);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_and_strings() {
        let mut s = String::new();
        push_u64(&mut s, 0);
        push_u64(&mut s, u64::MAX);
        assert_eq!(s, "018446744073709551615");
        let mut s = String::new();
        crate::util::push_json_str_u(&mut s, "a\"b\\\n");
        assert_eq!(s, r#""a\"b\\\u000a""#);
    }

    #[test]
    fn message_boundaries() {
        assert!(matches!(next_message(&[0, 0, 0, 9]), Next::Start(2)));
        assert!(matches!(next_message(&[0, 0, 0]), Next::Padding));
        assert!(matches!(next_message(&[]), Next::Padding));
        assert!(matches!(next_message(&[1, 2]), Next::Garbage));
    }
}
