//! Zeek `conn.log`, in both of Zeek's writers: the ASCII/TSV writer (the default) and JSON
//! lines (`LogAscii::use_json=T`, or JSON streaming plugins).
//!
//! One connection per line; Zeek writes it when the connection ends (or times out), so a file
//! is not sorted by `ts`. Each line is read on its own: **a line whose first non-blank byte is
//! `{` is a JSON record**, any other line is TSV (a header line when it starts with `#`). A file
//! may therefore mix both, as concatenated exports sometimes do.
//!
//! ## TSV
//!
//! (Tab-separated; tabs shown as two spaces.)
//!
//! ```text
//! #separator \x09
//! #set_separator  ,
//! #empty_field  (empty)
//! #unset_field  -
//! #path  conn
//! #open  2024-01-31-12-00-00
//! #fields  ts  uid  id.orig_h  id.orig_p  id.resp_h  id.resp_p  proto  service  duration  orig_bytes  ...
//! #types  time  string  addr  port  addr  port  enum  string  interval  count  ...
//! 1320279567.181431  CdysLK1XpcrXOpVDuh  192.168.2.76  52034  174.129.249.33  80  tcp  http  0.082899  389  ...
//! #close  2024-01-31-13-00-00
//! ```
//!
//! * `#separator` is read first, written `\x`-escaped; the other directives and the records use
//!   it. `#set_separator`, `#empty_field` and `#unset_field` are honoured as written.
//! * Columns are mapped **by the names of the last `#fields` line**, never by position, so
//!   site-added columns (`orig_l2_addr`, `vlan`, `community_id`...) and version differences
//!   (`local_resp`, `ip_proto`) need no configuration. `#types` types the values kept in
//!   `extra`. A file may hold several header blocks (rotation, concatenation): a new
//!   `#separator` starts a new block and a new `#fields` replaces the layout.
//! * `#path` must name a conn log (`conn`, or a `conn`-prefixed variant); records of another log
//!   (`http`...) are rejected with the reason, as are records of a block whose `#fields` lacks
//!   `ts`, `id.orig_h`, `id.resp_h`, or both `proto` and `conn_state`.
//! * Data lines before any `#fields` line are rejected ("line before any #fields header").
//!   Other `#` lines (`#open`, `#close`, comments) and empty lines are not records.
//! * `-` (unset) and `(empty)` (empty container or string) are absent: the column is `None`.
//!   They are compared with the raw value, before `\xHH` escapes are decoded (Zeek escapes a
//!   literal `-` value).
//!
//! ## JSON
//!
//! ```text
//! {"ts":1591367999.430166,"uid":"C5bLoe2Mvxqhawzqqd","id.orig_h":"192.168.4.76","id.orig_p":46378,"id.resp_h":"31.3.245.133","id.resp_p":80,"proto":"tcp","service":"http","duration":0.25411510467529297,"orig_bytes":77,"resp_bytes":295,"conn_state":"SF","missed_bytes":0,"history":"ShADadFf","orig_pkts":6,"orig_ip_bytes":397,"resp_pkts":4,"resp_ip_bytes":511}
//! ```
//!
//! Keys are Zeek's dotted names (a nested `"id":{"orig_h":...}` object is accepted too); unset
//! fields are omitted. `ts` may be epoch seconds (float, the default), epoch milliseconds
//! (integer, `JSON::TS_MILLIS`), or an ISO 8601 string (`JSON::TS_ISO8601`). A `_path` other than
//! a conn log is rejected.
//!
//! ## Field mapping
//!
//! | Zeek field | column |
//! |---|---|
//! | `ts` | `time` (first packet) |
//! | `ts` + `duration` | `end_time` (`None` when `duration` is unset) |
//! | `id.orig_h`, `id.orig_p` | `src_ip`, `src_port` (the originator, as judged by Zeek) |
//! | `id.resp_h`, `id.resp_p` | `dst_ip`, `dst_port` |
//! | `proto` | `protocol`: `tcp` 6, `udp` 17, `icmp` 1 — or **58 when the addresses are IPv6** (Zeek writes `icmp` for ICMPv6); `ip_proto`, when logged, wins |
//! | `orig_bytes`, `resp_bytes` | `bytes_out`, `bytes_in`: **payload** bytes (see below) |
//! | `orig_pkts`, `resp_pkts` | `packets_out`, `packets_in` |
//! | `conn_state` | `flow_state` (`S0`, `SF`, `REJ`, `RSTO`, `OTH`...) |
//! | `local_orig`, `local_resp` | `direction`: T/F → outbound, F/T → inbound, T/T → internal, F/F → external (Zeek's own `Site::local_nets`); unset → derived later by the pipeline. Both also stay in `extra` |
//! | everything else | `extra`, keyed by Zeek name, typed by `#types` (or as JSON wrote it): `uid`, `service`, `history`, `missed_bytes`, `orig_ip_bytes`, `resp_ip_bytes`, `tunnel_parents` (array), `local_orig`/`local_resp` (booleans), site columns |
//!
//! `action` stays `None`: Zeek observes traffic, it does not allow or deny it.
//!
//! **ICMP**: Zeek stores the ICMP type in `id.orig_p` and the code in `id.resp_p`; they are kept
//! as they are, so for ICMP rows `src_port` is the type and `dst_port` the code.
//!
//! **Bytes**: `orig_bytes`/`resp_bytes` count transport payload (from TCP sequence numbers), not
//! bytes on the wire; the IP-level volumes `orig_ip_bytes`/`resp_ip_bytes` are kept in `extra`.
//! Compare Zeek byte counts with NetFlow or VPC logs through those. (Elastic's Zeek pipeline
//! fills `source.bytes`/`destination.bytes` from the IP-level counts instead; its documents
//! therefore show larger numbers than `bytes_out`/`bytes_in` for the same record.)
//!
//! **Times**: TSV `ts`/`duration` have six decimals and are read exactly; JSON floats are
//! rounded to the nearest microsecond (a `double` holds epoch seconds to about 0.1 µs).
//!
//! ## Caveats
//!
//! * `origin_line` is the line in the input, header lines included.
//! * Long-lived connections appear once, at their end (unless a `conn-long` policy writes interim
//!   records, which are stored as separate rows).
//! * Zeek's btest baselines mask `ts` as `XXXXXXXXXX.XXXXXX`: such rows are rejected (`bad ts`).
//!
//! ## References
//!
//! * Zeek documentation, *conn.log* and *Logging framework / ASCII writer* (docs.zeek.org).
//! * `zeek/zeek:scripts/base/protocols/conn/main.zeek` (`Conn::Info`).
//! * flowtrail's format research notes (`docs/formats.md` of the shared docs), section 8.

use std::borrow::Cow;
use std::fmt;
use std::net::IpAddr;

use flowtrail_schema::{Direction, FlowRecord, Micros, RecordSink};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};

use crate::time::parse_rfc3339;
use crate::util::{
    clip, f64_secs_micros, is_json_number, parse_ip, parse_secs_micros, parse_u16, parse_u64, Key,
    ObjWriter, Scalar, TeeScalar, Transcode,
};
use crate::zeek::{self, Kind, ZeekColumn};
use crate::{Confidence, DecodeContext, Decoder, Format};

/// Zeek `conn.log`: TSV with header directives, or JSON lines.
pub struct ZeekConn;

impl Format for ZeekConn {
    fn name(&self) -> &'static str {
        "zeek_conn"
    }

    fn description(&self) -> &'static str {
        "Zeek conn.log: TSV with #fields headers (several blocks per file) or JSON lines"
    }

    fn decoder(&self, _ctx: &DecodeContext) -> Box<dyn Decoder> {
        Box::new(ZeekConnDecoder::new())
    }

    fn sniff(&self, prefix: &[u8]) -> Confidence {
        sniff(prefix)
    }
}

/// Scores a prefix: `#path conn` or a `#fields` line with conn columns, or a JSON line with
/// `id.orig_h` and `conn_state`, is certain.
fn sniff(prefix: &[u8]) -> Confidence {
    let prefix = prefix.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(prefix);
    let mut separator = false;
    for line in prefix.split(|b| *b == b'\n').take(64) {
        let line = line.trim_ascii();
        if line.is_empty() {
            continue;
        }
        let has = |needle: &[u8]| memchr::memmem::find(line, needle).is_some();
        if line.first() == Some(&b'{') {
            return if has(b"\"id.orig_h\"") && has(b"\"conn_state\"") {
                Confidence::Certain
            } else if has(b"\"id.orig_h\"") && has(b"\"proto\"") && !has(b"\"method\"") {
                Confidence::Likely
            } else {
                Confidence::No
            };
        }
        if line.starts_with(b"#separator") {
            separator = true;
        } else if let Some(rest) = line.strip_prefix(b"#path") {
            let path = rest.trim_ascii();
            return if path.starts_with(b"conn") {
                Confidence::Certain
            } else {
                Confidence::No
            };
        } else if line.starts_with(b"#fields") {
            return if has(b"id.orig_h") && (has(b"conn_state") || has(b"\tproto")) {
                Confidence::Certain
            } else {
                Confidence::No
            };
        } else if line.first() != Some(&b'#') {
            return Confidence::No;
        }
    }
    if separator {
        Confidence::Maybe
    } else {
        Confidence::No
    }
}

/// What a column of the current `#fields` layout feeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    Ts,
    Duration,
    OrigH,
    OrigP,
    RespH,
    RespP,
    Proto,
    IpProto,
    OrigBytes,
    RespBytes,
    OrigPkts,
    RespPkts,
    ConnState,
    /// `local_orig`: direction, and kept in `extra`.
    LocalOrig,
    /// `local_resp`: direction, and kept in `extra`.
    LocalResp,
    /// Anything else: `extra` only.
    Extra,
}

impl ZeekColumn for Col {
    fn column(name: &str) -> Col {
        match name {
            "ts" => Col::Ts,
            "duration" => Col::Duration,
            "id.orig_h" => Col::OrigH,
            "id.orig_p" => Col::OrigP,
            "id.resp_h" => Col::RespH,
            "id.resp_p" => Col::RespP,
            "proto" => Col::Proto,
            "ip_proto" => Col::IpProto,
            "orig_bytes" => Col::OrigBytes,
            "resp_bytes" => Col::RespBytes,
            "orig_pkts" => Col::OrigPkts,
            "resp_pkts" => Col::RespPkts,
            "conn_state" => Col::ConnState,
            "local_orig" => Col::LocalOrig,
            "local_resp" => Col::LocalResp,
            _ => Col::Extra,
        }
    }

    fn in_extra(self) -> bool {
        matches!(self, Col::Extra | Col::LocalOrig | Col::LocalResp)
    }

    fn slot(self) -> Option<usize> {
        (self != Col::Extra).then_some(self as usize)
    }

    /// The kind of a standard conn.log column when `#types` is missing.
    fn kind_of_name(name: &str) -> Kind {
        match name {
            "missed_bytes" | "orig_ip_bytes" | "resp_ip_bytes" | "ip_proto" | "vlan"
            | "inner_vlan" => Kind::Num,
            "local_orig" | "local_resp" => Kind::Bool,
            "tunnel_parents" => Kind::Set { num: false },
            _ => Kind::Str,
        }
    }

    fn layout_problem(cols: &[Col]) -> Option<String> {
        let has = |c: Col| cols.contains(&c);
        let missing: Vec<&str> = [
            (Col::Ts, "ts"),
            (Col::OrigH, "id.orig_h"),
            (Col::RespH, "id.resp_h"),
        ]
        .iter()
        .filter(|(c, _)| !has(*c))
        .map(|(_, n)| *n)
        .collect();
        if !missing.is_empty() {
            Some(format!("#fields lacks {}", missing.join(", ")))
        } else if !has(Col::Proto) && !has(Col::ConnState) {
            Some("#fields has neither proto nor conn_state: not a conn.log layout".to_string())
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

/// Returns a reason when `path` names a log other than conn.
fn path_problem(path: &str) -> Option<String> {
    if path.starts_with("conn") {
        None
    } else {
        Some(format!(
            "Zeek log path {:?} is not a conn log (this decoder reads conn.log only)",
            clip(path)
        ))
    }
}

/// Decodes one Zeek conn.log input, keeping the current TSV header block.
pub struct ZeekConnDecoder {
    block: Block,
    /// Reused buffer for the `extra` JSON object of the current record.
    extra: String,
}

impl Default for ZeekConnDecoder {
    fn default() -> Self {
        ZeekConnDecoder::new()
    }
}

impl ZeekConnDecoder {
    pub fn new() -> ZeekConnDecoder {
        ZeekConnDecoder {
            block: Block::default(),
            extra: String::new(),
        }
    }
}

impl Decoder for ZeekConnDecoder {
    fn decode(&mut self, unit: &[u8], line: u64, sink: &mut dyn RecordSink) {
        let trimmed = unit.trim_ascii_start();
        match trimmed.first() {
            None => {}
            Some(b'{' | b'[') => decode_json(&mut self.extra, unit, line, sink),
            Some(b'#') => {
                if let Ok(text) = std::str::from_utf8(unit) {
                    self.block.directive(text);
                }
            }
            Some(_) => self.decode_tsv(unit, line, sink),
        }
    }
}

/// A conn.log record's mapped fields, parsed, whichever writer produced it.
#[derive(Debug, Default)]
struct Conn<'a> {
    time: Micros,
    duration: Option<Micros>,
    src_ip: Option<IpAddr>,
    src_port: Option<u16>,
    dst_ip: Option<IpAddr>,
    dst_port: Option<u16>,
    proto: Option<&'a str>,
    ip_proto: Option<u8>,
    bytes_out: Option<u64>,
    bytes_in: Option<u64>,
    packets_out: Option<u64>,
    packets_in: Option<u64>,
    state: Option<&'a str>,
    local_orig: Option<bool>,
    local_resp: Option<bool>,
}

/// Reports a record: a row, or a rejection when `proto` is not a transport Zeek names.
fn emit(conn: &Conn<'_>, extra: Option<&str>, line: u64, raw: &[u8], sink: &mut dyn RecordSink) {
    let v6 = matches!(conn.src_ip, Some(IpAddr::V6(_)));
    let protocol = match (conn.ip_proto, conn.proto) {
        (Some(p), _) => Some(p),
        (None, None) => None,
        (None, Some(name)) => match name.to_ascii_lowercase().as_str() {
            "tcp" => Some(6),
            "udp" => Some(17),
            "icmp" if v6 => Some(58),
            "icmp" => Some(1),
            "unknown_transport" => None,
            _ => return sink.reject(line, &format!("bad proto {:?}", clip(name)), raw),
        },
    };
    let direction = match (conn.local_orig, conn.local_resp) {
        (Some(true), Some(false)) => Some(Direction::Outbound),
        (Some(false), Some(true)) => Some(Direction::Inbound),
        (Some(true), Some(true)) => Some(Direction::Internal),
        (Some(false), Some(false)) => Some(Direction::External),
        _ => None,
    };
    let row = FlowRecord {
        time: conn.time,
        end_time: conn.duration.and_then(|d| conn.time.checked_add(d)),
        origin_line: line,
        src_ip: conn.src_ip,
        src_port: conn.src_port,
        dst_ip: conn.dst_ip,
        dst_port: conn.dst_port,
        protocol,
        bytes_out: conn.bytes_out,
        bytes_in: conn.bytes_in,
        packets_out: conn.packets_out,
        packets_in: conn.packets_in,
        direction,
        flow_state: conn.state.map(Cow::Borrowed),
        extra: extra.map(Cow::Borrowed),
        ..FlowRecord::default()
    };
    sink.flow(&row);
}

// ---------------------------------------------------------------------------------------------
// TSV

impl ZeekConnDecoder {
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
        let mut vals: [Option<&str>; 15] = [None; 15];
        let n = block.split_record(layout, text, &mut w, &mut vals, is_json_number);
        if n != layout.cols.len() {
            let reason = format!("{n} fields, #fields has {}", layout.cols.len());
            return sink.reject(line, &reason, unit);
        }
        let has_extra = w.finish();
        let get = |c: Col| vals.get(c as usize).copied().flatten();
        let conn = match tsv_conn(&get) {
            Ok(conn) => conn,
            Err(reason) => return sink.reject(line, &reason, unit),
        };
        emit(
            &conn,
            has_extra.then_some(self.extra.as_str()),
            line,
            unit,
            sink,
        );
    }
}

/// Parses the mapped TSV values (`None` = unset or empty).
fn tsv_conn<'a>(get: &dyn Fn(Col) -> Option<&'a str>) -> Result<Conn<'a>, String> {
    let bad = |field: &str, v: &str| format!("bad {field} {:?}", clip(v));
    let num = |c: Col, field: &str| -> Result<Option<u64>, String> {
        get(c)
            .map(|v| parse_u64(v).ok_or_else(|| bad(field, v)))
            .transpose()
    };
    let port = |c: Col, field: &str| -> Result<Option<u16>, String> {
        get(c)
            .map(|v| parse_u16(v).ok_or_else(|| bad(field, v)))
            .transpose()
    };
    let addr = |c: Col, field: &str| -> Result<IpAddr, String> {
        let v = get(c).ok_or_else(|| format!("missing {field}"))?;
        parse_ip(v).ok_or_else(|| bad(field, v))
    };
    let boolean = |c: Col, field: &str| -> Result<Option<bool>, String> {
        get(c)
            .map(|v| match v {
                "T" => Ok(true),
                "F" => Ok(false),
                _ => Err(bad(field, v)),
            })
            .transpose()
    };
    let ts = get(Col::Ts).ok_or("missing ts")?;
    let time = parse_secs_micros(ts).ok_or_else(|| bad("ts", ts))?;
    let duration = get(Col::Duration)
        .map(|v| parse_secs_micros(v).ok_or_else(|| bad("duration", v)))
        .transpose()?;
    let ip_proto = get(Col::IpProto)
        .map(|v| {
            parse_u64(v)
                .and_then(|p| u8::try_from(p).ok())
                .ok_or_else(|| bad("ip_proto", v))
        })
        .transpose()?;
    Ok(Conn {
        time,
        duration,
        src_ip: Some(addr(Col::OrigH, "id.orig_h")?),
        src_port: port(Col::OrigP, "id.orig_p")?,
        dst_ip: Some(addr(Col::RespH, "id.resp_h")?),
        dst_port: port(Col::RespP, "id.resp_p")?,
        proto: get(Col::Proto),
        ip_proto,
        bytes_out: num(Col::OrigBytes, "orig_bytes")?,
        bytes_in: num(Col::RespBytes, "resp_bytes")?,
        packets_out: num(Col::OrigPkts, "orig_pkts")?,
        packets_in: num(Col::RespPkts, "resp_pkts")?,
        state: get(Col::ConnState),
        local_orig: boolean(Col::LocalOrig, "local_orig")?,
        local_resp: boolean(Col::LocalResp, "local_resp")?,
    })
}

// ---------------------------------------------------------------------------------------------
// JSON

/// The mapped keys of a JSON record, as read; everything else went to `extra`.
#[derive(Default)]
struct JsonConn<'a> {
    is_object: bool,
    path: Option<Scalar<'a>>,
    ts: Option<Scalar<'a>>,
    duration: Option<Scalar<'a>>,
    orig_h: Option<Scalar<'a>>,
    orig_p: Option<Scalar<'a>>,
    resp_h: Option<Scalar<'a>>,
    resp_p: Option<Scalar<'a>>,
    proto: Option<Scalar<'a>>,
    ip_proto: Option<Scalar<'a>>,
    orig_bytes: Option<Scalar<'a>>,
    resp_bytes: Option<Scalar<'a>>,
    orig_pkts: Option<Scalar<'a>>,
    resp_pkts: Option<Scalar<'a>>,
    conn_state: Option<Scalar<'a>>,
    local_orig: Option<Scalar<'a>>,
    local_resp: Option<Scalar<'a>>,
}

/// Reads one JSON record, writing its unmapped keys into `extra` as it goes.
struct RecordSeed<'w, 'b> {
    extra: &'w mut ObjWriter<'b>,
}

impl<'de> DeserializeSeed<'de> for RecordSeed<'_, '_> {
    type Value = JsonConn<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for RecordSeed<'_, '_> {
    type Value = JsonConn<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let w = self.extra;
        let mut rec = JsonConn {
            is_object: true,
            ..JsonConn::default()
        };
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            let slot = match key.as_ref() {
                "_path" => &mut rec.path,
                "ts" => &mut rec.ts,
                "duration" => &mut rec.duration,
                "id.orig_h" => &mut rec.orig_h,
                "id.orig_p" => &mut rec.orig_p,
                "id.resp_h" => &mut rec.resp_h,
                "id.resp_p" => &mut rec.resp_p,
                "proto" => &mut rec.proto,
                "ip_proto" => &mut rec.ip_proto,
                "orig_bytes" => &mut rec.orig_bytes,
                "resp_bytes" => &mut rec.resp_bytes,
                "orig_pkts" => &mut rec.orig_pkts,
                "resp_pkts" => &mut rec.resp_pkts,
                "conn_state" => &mut rec.conn_state,
                "local_orig" => {
                    rec.local_orig = Some(map.next_value_seed(TeeScalar(w.key("local_orig")))?);
                    continue;
                }
                "local_resp" => {
                    rec.local_resp = Some(map.next_value_seed(TeeScalar(w.key("local_resp")))?);
                    continue;
                }
                "id" => {
                    map.next_value_seed(IdSeed {
                        rec: &mut rec,
                        extra: &mut *w,
                    })?;
                    continue;
                }
                other => {
                    map.next_value_seed(Transcode(w.key(other)))?;
                    continue;
                }
            };
            *slot = Some(map.next_value()?);
        }
        Ok(rec)
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<de::IgnoredAny>()?.is_some() {}
        Ok(JsonConn::default())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(JsonConn::default())
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(JsonConn::default())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(JsonConn::default())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(JsonConn::default())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(JsonConn::default())
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(JsonConn::default())
    }
}

/// Reads a nested `"id": {"orig_h": ..., ...}` object into the record.
struct IdSeed<'r, 'a, 'w, 'b> {
    rec: &'r mut JsonConn<'a>,
    extra: &'w mut ObjWriter<'b>,
}

impl<'de> DeserializeSeed<'de> for IdSeed<'_, 'de, '_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for IdSeed<'_, 'de, '_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            let slot = match key.as_ref() {
                "orig_h" => &mut self.rec.orig_h,
                "orig_p" => &mut self.rec.orig_p,
                "resp_h" => &mut self.rec.resp_h,
                "resp_p" => &mut self.rec.resp_p,
                other => {
                    let name = format!("id.{other}");
                    map.next_value_seed(Transcode(self.extra.key(&name)))?;
                    continue;
                }
            };
            *slot = Some(map.next_value()?);
        }
        Ok(())
    }
}

fn decode_json(extra: &mut String, unit: &[u8], line: u64, sink: &mut dyn RecordSink) {
    let mut w = ObjWriter::new(extra);
    let mut de = serde_json::Deserializer::from_slice(unit);
    let parsed = RecordSeed { extra: &mut w }
        .deserialize(&mut de)
        .and_then(|rec| de.end().map(|()| rec));
    let rec = match parsed {
        Ok(rec) => rec,
        Err(err) => {
            // serde's line is always 1 here: give the column only.
            let msg = err.to_string();
            let msg = msg
                .rfind(" at line ")
                .and_then(|i| msg.get(..i))
                .unwrap_or(&msg);
            let reason = format!("invalid JSON: {msg} at column {}", err.column());
            return sink.reject(line, &reason, unit);
        }
    };
    if !rec.is_object {
        return sink.reject(
            line,
            "expected a JSON object (one Zeek record per line)",
            unit,
        );
    }
    let has_extra = w.finish();
    if let Some(p) = &rec.path {
        if let Some(problem) = path_problem(p.as_str().unwrap_or("")) {
            return sink.reject(line, &problem, unit);
        }
    }
    if rec.proto.is_none() && rec.conn_state.is_none() {
        return sink.reject(
            line,
            "JSON record has neither proto nor conn_state: not a Zeek conn.log record",
            unit,
        );
    }
    let conn = match json_conn(&rec) {
        Ok(conn) => conn,
        Err(reason) => return sink.reject(line, &reason, unit),
    };
    emit(&conn, has_extra.then_some(extra.as_str()), line, unit, sink);
}

/// Reads a `ts` value: epoch seconds (float), epoch milliseconds (large integer), or text.
fn json_time(v: &Scalar<'_>) -> Option<Micros> {
    match v {
        Scalar::F64(f) => f64_secs_micros(*f),
        Scalar::U64(n) if *n >= 100_000_000_000 => i64::try_from(*n).ok()?.checked_mul(1_000),
        Scalar::U64(n) => i64::try_from(*n).ok()?.checked_mul(1_000_000),
        Scalar::Str(s) => parse_rfc3339(s).or_else(|| parse_secs_micros(s)),
        _ => None,
    }
}

fn json_conn<'a>(rec: &'a JsonConn<'_>) -> Result<Conn<'a>, String> {
    fn bad(field: &str, v: &Scalar<'_>) -> String {
        format!("bad {field} {}", v.describe())
    }
    // `null` is absent, like an omitted key.
    let present = |v: &'a Option<Scalar<'_>>| v.as_ref().filter(|v| **v != Scalar::Null);
    let num = |v: &'a Option<Scalar<'_>>, field: &str| -> Result<Option<u64>, String> {
        present(v)
            .map(|v| v.as_u64().ok_or_else(|| bad(field, v)))
            .transpose()
    };
    let port = |v: &'a Option<Scalar<'_>>, field: &str| -> Result<Option<u16>, String> {
        present(v)
            .map(|v| {
                v.as_u64()
                    .and_then(|p| u16::try_from(p).ok())
                    .ok_or_else(|| bad(field, v))
            })
            .transpose()
    };
    let addr = |v: &'a Option<Scalar<'_>>, field: &str| -> Result<IpAddr, String> {
        let v = present(v).ok_or_else(|| format!("missing {field}"))?;
        v.as_str().and_then(parse_ip).ok_or_else(|| bad(field, v))
    };
    let text = |v: &'a Option<Scalar<'_>>, field: &str| -> Result<Option<&'a str>, String> {
        present(v)
            .map(|v| v.as_str().ok_or_else(|| bad(field, v)))
            .transpose()
    };
    let boolean = |v: &'a Option<Scalar<'_>>, field: &str| -> Result<Option<bool>, String> {
        present(v)
            .map(|v| match v {
                Scalar::Bool(b) => Ok(*b),
                Scalar::Str(s) if s == "T" || s == "true" => Ok(true),
                Scalar::Str(s) if s == "F" || s == "false" => Ok(false),
                other => Err(bad(field, other)),
            })
            .transpose()
    };
    let ts = present(&rec.ts).ok_or("missing ts")?;
    let time = json_time(ts).ok_or_else(|| bad("ts", ts))?;
    let duration = present(&rec.duration)
        .map(|v| {
            match v {
                Scalar::F64(f) if *f >= 0.0 => f64_secs_micros(*f),
                Scalar::U64(n) => i64::try_from(*n)
                    .ok()
                    .and_then(|s| s.checked_mul(1_000_000)),
                Scalar::Str(s) => parse_secs_micros(s),
                _ => None,
            }
            .ok_or_else(|| bad("duration", v))
        })
        .transpose()?;
    let ip_proto = present(&rec.ip_proto)
        .map(|v| {
            v.as_u64()
                .and_then(|p| u8::try_from(p).ok())
                .ok_or_else(|| bad("ip_proto", v))
        })
        .transpose()?;
    Ok(Conn {
        time,
        duration,
        src_ip: Some(addr(&rec.orig_h, "id.orig_h")?),
        src_port: port(&rec.orig_p, "id.orig_p")?,
        dst_ip: Some(addr(&rec.resp_h, "id.resp_h")?),
        dst_port: port(&rec.resp_p, "id.resp_p")?,
        proto: text(&rec.proto, "proto")?,
        ip_proto,
        bytes_out: num(&rec.orig_bytes, "orig_bytes")?,
        bytes_in: num(&rec.resp_bytes, "resp_bytes")?,
        packets_out: num(&rec.orig_pkts, "orig_pkts")?,
        packets_in: num(&rec.resp_pkts, "resp_pkts")?,
        state: text(&rec.conn_state, "conn_state")?,
        local_orig: boolean(&rec.local_orig, "local_orig")?,
        local_resp: boolean(&rec.local_resp, "local_resp")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zeek::unescape;

    type Layout = crate::zeek::Layout<Col>;

    #[test]
    fn separator_and_directives() {
        let mut b = Block::default();
        b.directive("#separator \\x7c");
        assert_eq!(b.sep, "|");
        b.directive("#set_separator|;");
        b.directive("#unset_field|NONE");
        b.directive("#path|conn");
        b.directive("#fields|ts|id.orig_h|id.resp_h|proto|tunnel_parents");
        b.directive("#types|time|addr|addr|enum|set[string]");
        assert_eq!(b.set_sep, ";");
        assert_eq!(b.unset, "NONE");
        assert_eq!(b.path.as_deref(), Some("conn"));
        let layout = b.layout.as_ref().expect("layout");
        assert_eq!(layout.cols[1], Col::OrigH);
        assert_eq!(layout.kinds[4], Kind::Set { num: false });
        assert!(layout.problem.is_none());
        // A new block resets everything.
        b.directive("#separator \\x09");
        assert!(b.layout.is_none() && b.path.is_none());
        assert_eq!((b.sep.as_str(), b.unset.as_str()), ("\t", "-"));
    }

    #[test]
    fn layouts_without_conn_columns_have_a_problem() {
        let names = |s: &str| s.split(' ').map(str::to_string).collect::<Vec<_>>();
        assert!(Layout::new(names("ts uid id.orig_h id.resp_h method"))
            .problem
            .is_some());
        assert!(Layout::new(names("uid id.orig_h id.resp_h proto"))
            .problem
            .is_some());
        assert!(Layout::new(names("ts id.orig_h id.resp_h conn_state"))
            .problem
            .is_none());
    }

    #[test]
    fn unescaping() {
        assert_eq!(unescape("plain"), "plain");
        assert_eq!(unescape("a\\x2db"), "a-b");
        assert_eq!(unescape("\\x09"), "\t");
        // Not UTF-8 once decoded: kept as written.
        assert_eq!(unescape("\\xff"), "\\xff");
        assert_eq!(unescape("\\x"), "\\x");
    }

    #[test]
    fn sniffing() {
        let tsv = b"#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n";
        assert_eq!(sniff(tsv), Confidence::Certain);
        let http = b"#separator \\x09\n#path\thttp\n";
        assert_eq!(sniff(http), Confidence::No);
        let fields = b"### BTest baseline\n#separator \\x09\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tproto\n";
        assert_eq!(sniff(fields), Confidence::Certain);
        let json = br#"{"ts":1.5,"id.orig_h":"10.0.0.1","conn_state":"SF"}"#;
        assert_eq!(sniff(json), Confidence::Certain);
        let http_json = br#"{"ts":1.5,"id.orig_h":"10.0.0.1","method":"GET"}"#;
        assert_eq!(sniff(http_json), Confidence::No);
        assert_eq!(sniff(b"#separator \\x09\n"), Confidence::Maybe);
        assert_eq!(sniff(b"hello world\n"), Confidence::No);
    }
}
