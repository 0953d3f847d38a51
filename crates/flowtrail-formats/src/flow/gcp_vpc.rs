//! Google Cloud VPC Flow Logs, as Cloud Logging `LogEntry` JSON.
//!
//! A flow record is a `LogEntry` whose `jsonPayload` holds `connection` (the 5-tuple),
//! `bytes_sent`/`packets_sent`, `start_time`/`end_time`, `reporter` and optional metadata
//! blocks (`src_instance`, `dest_vpc`, `src_location`, GKE, gateway, load-balancing...). The log
//! is `projects/<p>/logs/compute.googleapis.com%2Fvpc_flows` (subnet-level configuration) or
//! `.../networkmanagement.googleapis.com%2Fvpc_flows`; both read the same.
//!
//! ## Input shapes
//!
//! Line-framed, so a multi-GiB Cloud Storage export streams:
//!
//! * **NDJSON**, one `LogEntry` per line: the Cloud Storage sink layout
//!   (`<bucket>/compute.googleapis.com/vpc_flows/YYYY/MM/DD/HH:MM:SS_HH:MM:SS_S0.json`);
//! * **Pub/Sub messages**, `{"message":{"data":"<base64 LogEntry>","attributes":{...},
//!   "messageId":...},"subscription":...}` (push) or `{"ackId":...,"message":{...}}` (pull), one
//!   per line; `data` is decoded and read as a `LogEntry`;
//! * **a JSON array** of entries or messages (`gcloud logging read --format=json`), and
//!   **pretty-printed** entries: a value that does not end on its line is collected until its
//!   brackets balance (at most 64 MiB), then read. Each array element is decoded on its own, so a
//!   bad element costs one rejection. Pretty-printers indent the inside of a value, so a line
//!   starting with `{` or `[` in its first column ends the collection: the value before it was
//!   cut short (a truncated NDJSON line) and is rejected as unterminated, without swallowing the
//!   lines after it.
//!
//! `origin_line` is the line where the entry (or array element) starts.
//!
//! ## Sample (one entry, from Google's documented shape)
//!
//! ```text
//! {"insertId":"1a2b3c","jsonPayload":{"connection":{"src_ip":"10.128.0.5","src_port":44370,"dest_ip":"203.0.113.80","dest_port":443,"protocol":6},
//!  "bytes_sent":"4410","packets_sent":"12","start_time":"2024-03-01T10:00:01.112233445Z","end_time":"2024-03-01T10:00:05.998877665Z",
//!  "reporter":"SRC","rtt_msec":"14","src_instance":{"project_id":"acme-prod","region":"europe-west1","vm_name":"web-1","zone":"europe-west1-b"},
//!  "src_vpc":{"project_id":"acme-net","vpc_name":"prod-vpc","subnetwork_name":"web"},"dest_location":{"asn":64500,"continent":"Europe","country":"fra"}},
//!  "logName":"projects/acme-net/logs/compute.googleapis.com%2Fvpc_flows",
//!  "resource":{"type":"gce_subnetwork","labels":{"project_id":"acme-net","location":"europe-west1-b","subnetwork_name":"web","subnetwork_id":"123"}},
//!  "timestamp":"2024-03-01T10:00:30.1Z"}
//! ```
//!
//! ## Field mapping
//!
//! The *reporting side* is `src_*` when `reporter` is `SRC`/`SRC_GATEWAY`, `dest_*` when it is
//! `DEST`/`DEST_GATEWAY`.
//!
//! | column | source |
//! |---|---|
//! | `time`, `end_time` | `start_time`, `end_time` (first and last packet in the aggregation interval; nanoseconds truncated to µs). Without `start_time`: `end_time`, else the entry `timestamp` (write time) |
//! | `src_ip`, `src_port`, `dst_ip`, `dst_port`, `protocol` | `connection.src_ip`, `src_port`, `dest_ip`, `dest_port`, `protocol` (ports only for TCP/UDP; protocol absent for RDMA) |
//! | `bytes_out`, `packets_out` | `bytes_sent`, `packets_sent`: the src→dest direction, **sampled estimates**; `bytes_in`/`packets_in` stay empty (the reverse direction is its own record) |
//! | `flow_state` | `reporter` (`SRC`, `DEST`, `SRC_GATEWAY`, `DEST_GATEWAY`) |
//! | `instance` | reporting side `*_instance.vm_name` |
//! | `device` | reporting side `*_instance.vm_name`, else `*_gateway.name` |
//! | `account` | reporting side `*_instance.project_id`, else `*_vpc.project_id` (the Shared VPC host), else `resource.labels.project_id`, else the project in `logName` |
//! | `region` | reporting side `*_instance.region`, else `*_vpc.subnetwork_region`, else the region of `resource.labels.location` (zone suffix removed) |
//! | `vpc`, `subnet` | reporting side `*_vpc.vpc_name`, `*_vpc.subnetwork_name` (else `resource.labels.subnetwork_name`) |
//! | `action` | `disposition` when present (`ALLOWED` → allowed, `DROPPED`/`DENIED` → denied); classic records have none: `None` |
//! | `rule` | `drop_reason` (newer records of dropped traffic) |
//! | `extra` | `insertId` and every other `jsonPayload` key as written: `rtt_msec`, both sides' `*_instance`/`*_vpc`/`*_location`/`*_gke_details`/`*_google_service`/`*_gateway` objects, `load_balancing`, `disposition`... |
//!
//! `direction` is left to the pipeline (derived from the internal networks).
//!
//! ## Duplicates: one flow, two reporters
//!
//! When both ends of a flow are VMs in subnets with flow logs on, Google logs it twice: once with
//! `reporter` `SRC` (from the sender's subnet) and once with `DEST` (from the receiver's). Their
//! 5-tuples are equal; their times and sampled counts usually differ a little. **Both records are
//! kept**, as two rows whose `flow_state` carries the reporter (and whose `instance`, `account`,
//! `subnet` describe the respective reporter). To count such traffic once, keep the `SRC` row of
//! each pair, e.g. `WHERE flow_state <> 'DEST' OR NOT <both ends are in logged VPCs>`, or in the
//! simplest case (all VPCs logged) `WHERE flow_state IN ('SRC', 'SRC_GATEWAY')` for internal
//! traffic. The reverse direction of a connection is a separate record with its own reporter(s).
//!
//! ## Caveats
//!
//! * Counts are sampled (default rate 0.5) and aggregated (5 s to 15 min): estimates.
//! * int64 fields are JSON strings (`"bytes_sent":"1776"`), int32 numbers; both are read.
//! * Egress is sampled before egress firewall rules: a record does not prove delivery.
//! * Entries of other logs (firewall rules logging, audit) are rejected naming their `logName`.
//!
//! ## References
//!
//! * Google Cloud, *VPC Flow Logs record format*: <https://cloud.google.com/vpc/docs/about-flow-logs-records>
//! * Google Cloud, *View logs routed to Cloud Storage* and Pub/Sub message format.
//! * flowtrail's format research notes (`docs/formats.md` of the shared docs), section 3.

use std::borrow::Cow;
use std::fmt;

use flowtrail_schema::{Action, FlowRecord, Micros, RecordSink};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use crate::time::parse_rfc3339;
use crate::util::{
    clip, non_objects_are_default, parse_ip, Key, ObjWriter, Scalar, TeeScalar, Transcode,
};
use crate::{Confidence, DecodeContext, Decoder, Format};

/// Largest multi-line JSON value (pretty-printed entry or array) collected before giving up.
const MAX_VALUE_BYTES: usize = 64 << 20;

/// Bytes of an unterminated value kept as the rejection's raw text.
const MAX_RAW_BYTES: usize = 64 << 10;

/// Google Cloud VPC Flow Logs (Cloud Logging `LogEntry` JSON, Pub/Sub messages, arrays).
pub struct GcpVpc;

impl Format for GcpVpc {
    fn name(&self) -> &'static str {
        "gcp_vpc"
    }

    fn description(&self) -> &'static str {
        "Google Cloud VPC Flow Logs: Cloud Logging LogEntry JSON lines, arrays or Pub/Sub messages"
    }

    fn decoder(&self, _ctx: &DecodeContext) -> Box<dyn Decoder> {
        Box::new(GcpVpcDecoder::new())
    }

    fn sniff(&self, prefix: &[u8]) -> Confidence {
        sniff(prefix)
    }
}

/// Certain for JSON naming `jsonPayload` and `connection`, or a `vpc_flows` log; likely for a
/// Pub/Sub message whose (base64) data starts like one.
fn sniff(prefix: &[u8]) -> Confidence {
    let body = prefix.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(prefix);
    let body = body.trim_ascii_start();
    if !matches!(body.first(), Some(b'{' | b'[')) {
        return Confidence::No;
    }
    let has = |hay: &[u8], needle: &[u8]| memchr::memmem::find(hay, needle).is_some();
    let flowish = |hay: &[u8]| {
        (has(hay, b"\"jsonPayload\"") && has(hay, b"\"connection\"")) || has(hay, b"vpc_flows")
    };
    if flowish(body) {
        return Confidence::Certain;
    }
    if let Some(at) = memchr::memmem::find(body, b"\"data\":\"") {
        let rest = body.get(at + 8..).unwrap_or_default();
        let end = memchr::memchr(b'"', rest).unwrap_or(rest.len());
        let b64 = rest.get(..end.min(4096) / 4 * 4).unwrap_or_default();
        let mut decoded = Vec::new();
        if let Ok(text) = std::str::from_utf8(b64) {
            if base64_decode(text, &mut decoded) && flowish(&decoded) {
                return Confidence::Likely;
            }
        }
    }
    Confidence::No
}

/// Decodes standard or URL-safe base64, padding optional, into `out`; false on a bad character
/// or length.
fn base64_decode(s: &str, out: &mut Vec<u8>) -> bool {
    let s = s.trim_end_matches('=');
    out.reserve(s.len() / 4 * 3 + 2);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return false,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    bits < 6
}

// ---------------------------------------------------------------------------------------------
// Collecting multi-line values

/// Tracks bracket depth across lines, outside strings.
#[derive(Debug, Default, Clone, Copy)]
struct Scan {
    depth: i64,
    in_str: bool,
    escaped: bool,
}

impl Scan {
    fn feed(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if self.in_str {
                if self.escaped {
                    self.escaped = false;
                } else if b == b'\\' {
                    self.escaped = true;
                } else if b == b'"' {
                    self.in_str = false;
                }
                continue;
            }
            match b {
                b'"' => self.in_str = true,
                b'{' | b'[' => self.depth += 1,
                b'}' | b']' => self.depth -= 1,
                _ => {}
            }
        }
    }
}

/// A JSON value spanning several lines, being collected.
#[derive(Debug, Default)]
struct Pending {
    active: bool,
    buf: Vec<u8>,
    start_line: u64,
    scan: Scan,
    /// The value outgrew [`MAX_VALUE_BYTES`]: it is rejected and skipped to its end.
    overflow: bool,
}

/// Splits a JSON array's text into its top-level elements: (byte range, 0-based line offset of
/// the element's first byte). `None` when the text is not a bracket-balanced array.
fn array_elements(text: &[u8]) -> Option<Vec<(usize, usize, u64)>> {
    let mut out = Vec::new();
    let mut scan = Scan::default();
    let mut newlines = 0u64;
    let mut start: Option<(usize, u64)> = None;
    let mut seen_open = false;
    for (i, &b) in text.iter().enumerate() {
        let was_top = scan.depth == 1 && !scan.in_str;
        if b == b'\n' {
            newlines += 1;
        }
        if !seen_open {
            if b == b'[' {
                seen_open = true;
                scan.feed(&[b]);
            } else if !b.is_ascii_whitespace() {
                return None;
            }
            continue;
        }
        if was_top && (b == b',' || b == b']') {
            if let Some((s, line)) = start.take() {
                out.push((s, i, line));
            } else if b == b',' {
                return None;
            }
        } else if was_top && start.is_none() && !b.is_ascii_whitespace() {
            start = Some((i, newlines));
        }
        scan.feed(&[b]);
        if scan.depth == 0 {
            return text
                .get(i + 1..)
                .is_some_and(|rest| rest.iter().all(u8::is_ascii_whitespace))
                .then_some(out);
        }
    }
    None
}

// ---------------------------------------------------------------------------------------------
// The LogEntry shape

/// Declares an object read into `Option<Scalar>` fields; other keys and non-objects ignored.
macro_rules! scalar_object {
    ($name:ident, $visitor:ident { $($key:literal => $field:ident),* $(,)? }) => {
        #[derive(Default)]
        struct $name<'a> {
            $($field: Option<Scalar<'a>>,)*
        }

        impl<'de> Deserialize<'de> for $name<'de> {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_any($visitor)
            }
        }

        struct $visitor;

        impl<'de> Visitor<'de> for $visitor {
            type Value = $name<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = $name::default();
                while let Some(Key(k)) = map.next_key::<Key<'de>>()? {
                    match k.as_ref() {
                        $($key => out.$field = Some(map.next_value()?),)*
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(out)
            }
            non_objects_are_default!();
        }
    };
}

scalar_object!(Connection, ConnectionVisitor {
    "src_ip" => src_ip,
    "src_port" => src_port,
    "dest_ip" => dest_ip,
    "dest_port" => dest_port,
    "protocol" => protocol,
});

scalar_object!(Labels, LabelsVisitor {
    "project_id" => project_id,
    "location" => location,
    "subnetwork_name" => subnetwork_name,
});

scalar_object!(Message, MessageVisitor {
    "data" => data,
});

/// A metadata block of one side (`src_instance`, `dest_vpc`, `src_gateway`...): the string
/// fields flowtrail maps; the whole block is also copied into `extra`.
#[derive(Default)]
struct Side<'a> {
    project_id: Option<Cow<'a, str>>,
    vm_name: Option<Cow<'a, str>>,
    region: Option<Cow<'a, str>>,
    vpc_name: Option<Cow<'a, str>>,
    subnetwork_name: Option<Cow<'a, str>>,
    subnetwork_region: Option<Cow<'a, str>>,
    name: Option<Cow<'a, str>>,
    location: Option<Cow<'a, str>>,
}

/// Reads a [`Side`] block while copying it, whole, into the string.
struct SideSeed<'o>(&'o mut String);

impl<'de> DeserializeSeed<'de> for SideSeed<'_> {
    type Value = Side<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Side<'de>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for SideSeed<'_> {
    type Value = Side<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Side<'de>, A::Error> {
        let out = self.0;
        let mut side = Side::default();
        out.push('{');
        let mut first = true;
        while let Some(Key(k)) = map.next_key::<Key<'de>>()? {
            if !first {
                out.push(',');
            }
            first = false;
            crate::util::push_json_str(out, &k);
            out.push(':');
            let slot = match k.as_ref() {
                "project_id" => &mut side.project_id,
                "vm_name" => &mut side.vm_name,
                "region" => &mut side.region,
                "vpc_name" => &mut side.vpc_name,
                "subnetwork_name" => &mut side.subnetwork_name,
                "subnetwork_region" => &mut side.subnetwork_region,
                "name" => &mut side.name,
                "location" => &mut side.location,
                _ => {
                    map.next_value_seed(Transcode(&mut *out))?;
                    continue;
                }
            };
            if let Scalar::Str(s) = map.next_value_seed(TeeScalar(&mut *out))? {
                *slot = Some(s);
            }
        }
        out.push('}');
        Ok(side)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Side<'de>, A::Error> {
        Transcode(self.0).visit_seq(seq)?;
        Ok(Side::default())
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Side<'de>, E> {
        Transcode(self.0).visit_str(v)?;
        Ok(Side::default())
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Side<'de>, E> {
        Transcode(self.0).visit_bool(v)?;
        Ok(Side::default())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Side<'de>, E> {
        Transcode(self.0).visit_i64(v)?;
        Ok(Side::default())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Side<'de>, E> {
        Transcode(self.0).visit_u64(v)?;
        Ok(Side::default())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Side<'de>, E> {
        Transcode(self.0).visit_f64(v)?;
        Ok(Side::default())
    }
    fn visit_unit<E: de::Error>(self) -> Result<Side<'de>, E> {
        Transcode(self.0).visit_unit()?;
        Ok(Side::default())
    }
}

/// `jsonPayload`.
#[derive(Default)]
struct Payload<'a> {
    is_object: bool,
    connection: Option<Connection<'a>>,
    bytes_sent: Option<Scalar<'a>>,
    packets_sent: Option<Scalar<'a>>,
    start_time: Option<Scalar<'a>>,
    end_time: Option<Scalar<'a>>,
    reporter: Option<Scalar<'a>>,
    disposition: Option<Scalar<'a>>,
    drop_reason: Option<Scalar<'a>>,
    src_instance: Side<'a>,
    dest_instance: Side<'a>,
    src_vpc: Side<'a>,
    dest_vpc: Side<'a>,
    src_gateway: Side<'a>,
    dest_gateway: Side<'a>,
}

/// Reads `jsonPayload`, copying its unmapped keys into `extra`.
struct PayloadSeed<'w, 'b>(&'w mut ObjWriter<'b>);

impl<'de> DeserializeSeed<'de> for PayloadSeed<'_, '_> {
    type Value = Payload<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Payload<'de>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for PayloadSeed<'_, '_> {
    type Value = Payload<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Payload<'de>, A::Error> {
        let w = self.0;
        let mut p = Payload {
            is_object: true,
            ..Payload::default()
        };
        while let Some(Key(k)) = map.next_key::<Key<'de>>()? {
            let slot = match k.as_ref() {
                "connection" => {
                    p.connection = Some(map.next_value()?);
                    continue;
                }
                "bytes_sent" => &mut p.bytes_sent,
                "packets_sent" => &mut p.packets_sent,
                "start_time" => &mut p.start_time,
                "end_time" => &mut p.end_time,
                "reporter" => &mut p.reporter,
                "disposition" | "drop_reason" => {
                    let v = map.next_value_seed(TeeScalar(w.key(&k)))?;
                    if k == "disposition" {
                        p.disposition = Some(v);
                    } else {
                        p.drop_reason = Some(v);
                    }
                    continue;
                }
                side @ ("src_instance" | "dest_instance" | "src_vpc" | "dest_vpc"
                | "src_gateway" | "dest_gateway") => {
                    let v = map.next_value_seed(SideSeed(w.key(side)))?;
                    match side {
                        "src_instance" => p.src_instance = v,
                        "dest_instance" => p.dest_instance = v,
                        "src_vpc" => p.src_vpc = v,
                        "dest_vpc" => p.dest_vpc = v,
                        "src_gateway" => p.src_gateway = v,
                        _ => p.dest_gateway = v,
                    }
                    continue;
                }
                other => {
                    map.next_value_seed(Transcode(w.key(other)))?;
                    continue;
                }
            };
            *slot = Some(map.next_value()?);
        }
        Ok(p)
    }
    non_objects_are_default!();
}

/// A `LogEntry`, or a Pub/Sub message wrapping one.
#[derive(Default)]
struct Entry<'a> {
    is_object: bool,
    payload: Option<Payload<'a>>,
    log_name: Option<Scalar<'a>>,
    timestamp: Option<Scalar<'a>>,
    labels: Labels<'a>,
    message: Option<Message<'a>>,
}

/// Reads a `LogEntry` (or Pub/Sub wrapper), copying `insertId` and the unmapped payload keys
/// into `extra`.
struct EntrySeed<'w, 'b>(&'w mut ObjWriter<'b>);

impl<'de> DeserializeSeed<'de> for EntrySeed<'_, '_> {
    type Value = Entry<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Entry<'de>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for EntrySeed<'_, '_> {
    type Value = Entry<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entry<'de>, A::Error> {
        let w = self.0;
        let mut e = Entry {
            is_object: true,
            ..Entry::default()
        };
        while let Some(Key(k)) = map.next_key::<Key<'de>>()? {
            match k.as_ref() {
                "jsonPayload" => e.payload = Some(map.next_value_seed(PayloadSeed(&mut *w))?),
                "insertId" => {
                    map.next_value_seed(TeeScalar(w.key("insertId")))?;
                }
                "logName" => e.log_name = Some(map.next_value()?),
                "timestamp" => e.timestamp = Some(map.next_value()?),
                "resource" => {
                    let r: ResourceWithLabels<'de> = map.next_value()?;
                    e.labels = r.labels;
                }
                "message" => e.message = Some(map.next_value()?),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(e)
    }
    non_objects_are_default!();
}

/// `resource`: its `labels` (`type` is `gce_subnetwork` or `vpc_flow_logs_config`; not needed).
#[derive(Default)]
struct ResourceWithLabels<'a> {
    labels: Labels<'a>,
}

impl<'de> Deserialize<'de> for ResourceWithLabels<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ResourceWithLabelsVisitor)
    }
}

struct ResourceWithLabelsVisitor;

impl<'de> Visitor<'de> for ResourceWithLabelsVisitor {
    type Value = ResourceWithLabels<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = ResourceWithLabels::default();
        while let Some(Key(k)) = map.next_key::<Key<'de>>()? {
            match k.as_ref() {
                "labels" => out.labels = map.next_value()?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(out)
    }
    non_objects_are_default!();
}

// ---------------------------------------------------------------------------------------------
// Decoding

/// Decodes one input of GCP VPC flow log entries.
pub struct GcpVpcDecoder {
    pending: Pending,
    /// Reused buffer for the `extra` JSON object of the current record.
    extra: String,
    /// Reused buffer for a decoded Pub/Sub `message.data`.
    data: Vec<u8>,
}

impl Default for GcpVpcDecoder {
    fn default() -> Self {
        GcpVpcDecoder::new()
    }
}

impl GcpVpcDecoder {
    pub fn new() -> GcpVpcDecoder {
        GcpVpcDecoder {
            pending: Pending::default(),
            extra: String::new(),
            data: Vec::new(),
        }
    }

    /// Starts collecting a value that does not end on its first line.
    fn start_pending(&mut self, unit: &[u8], line: u64) {
        let p = &mut self.pending;
        p.active = true;
        p.overflow = false;
        p.start_line = line;
        p.scan = Scan::default();
        p.buf.clear();
        p.buf.extend_from_slice(unit);
        p.buf.push(b'\n');
        p.scan.feed(unit);
    }

    /// Adds a line to the value being collected; decodes it once its brackets balance.
    ///
    /// Pretty-printers indent everything inside the outermost brackets, so a line starting with
    /// `{` or `[` in its first column cannot continue the value: the value was cut short (a
    /// truncated NDJSON line). It is rejected and the new line is decoded on its own.
    fn continue_pending(&mut self, unit: &[u8], line: u64, sink: &mut dyn RecordSink) {
        if matches!(unit.first(), Some(b'{' | b'[')) {
            self.reject_pending(sink);
            return self.decode(unit, line, sink);
        }
        let p = &mut self.pending;
        p.scan.feed(unit);
        if !p.overflow {
            if p.buf.len() + unit.len() + 1 > MAX_VALUE_BYTES {
                p.overflow = true;
                let reason = format!(
                    "JSON value starting at line {} exceeds {} MiB",
                    p.start_line,
                    MAX_VALUE_BYTES >> 20
                );
                let raw = p.buf.get(..MAX_RAW_BYTES).unwrap_or(&p.buf);
                sink.reject(p.start_line, &reason, raw);
                p.buf.clear();
            } else {
                p.buf.extend_from_slice(unit);
                p.buf.push(b'\n');
            }
        }
        if p.scan.depth <= 0 {
            self.complete_pending(sink);
        }
    }

    /// Rejects the value being collected as unterminated (unless already rejected as too large).
    fn reject_pending(&mut self, sink: &mut dyn RecordSink) {
        let p = &mut self.pending;
        if p.active && !p.overflow {
            let reason = format!("unterminated JSON value starting at line {}", p.start_line);
            let raw = p.buf.get(..MAX_RAW_BYTES).unwrap_or(&p.buf);
            sink.reject(p.start_line, &reason, raw);
        }
        p.active = false;
        p.buf.clear();
    }

    fn complete_pending(&mut self, sink: &mut dyn RecordSink) {
        let mut buf = std::mem::take(&mut self.pending.buf);
        let start = self.pending.start_line;
        let overflow = self.pending.overflow;
        self.pending.active = false;
        if !overflow {
            self.decode_document(&buf, start, sink);
        }
        buf.clear();
        self.pending.buf = buf;
    }

    /// Decodes a complete value: an entry, or an array whose elements are decoded one by one.
    fn decode_document(&mut self, text: &[u8], line: u64, sink: &mut dyn RecordSink) {
        let first = text.trim_ascii_start().first().copied();
        if first == Some(b'[') {
            let Some(elements) = array_elements(text) else {
                // Not a well-formed array: let serde say where.
                let reason = match serde_json::from_slice::<IgnoredAny>(text) {
                    Err(e) => json_error("", &e, line),
                    Ok(_) => "invalid JSON array".to_string(),
                };
                return sink.reject(line, &reason, text);
            };
            for (start, end, offset) in elements {
                let el = text.get(start..end).unwrap_or_default().trim_ascii_end();
                let el_line = line + offset;
                if let Err(e) = decode_value(el, el_line, &mut self.extra, &mut self.data, sink) {
                    sink.reject(el_line, &json_error("", &e, el_line), el);
                }
            }
            return;
        }
        if let Err(e) = decode_value(text, line, &mut self.extra, &mut self.data, sink) {
            sink.reject(line, &json_error("", &e, line), text);
        }
    }
}

/// Formats a serde error with the input's line (serde counts from the value's first line).
fn json_error(what: &str, err: &serde_json::Error, first_line: u64) -> String {
    let msg = err.to_string();
    let msg = msg
        .rfind(" at line ")
        .and_then(|i| msg.get(..i))
        .unwrap_or(&msg);
    let line = first_line + (err.line() as u64).saturating_sub(1);
    format!(
        "invalid JSON{what}: {msg} at line {line} column {}",
        err.column()
    )
}

impl Decoder for GcpVpcDecoder {
    fn decode(&mut self, unit: &[u8], line: u64, sink: &mut dyn RecordSink) {
        if self.pending.active {
            return self.continue_pending(unit, line, sink);
        }
        let body = unit.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(unit);
        match body.trim_ascii_start().first() {
            None => {}
            Some(b'{') => {
                match decode_value(body, line, &mut self.extra, &mut self.data, sink) {
                    Ok(()) => {}
                    // A pretty-printed entry: collect its lines.
                    Err(e) if e.is_eof() => {
                        self.start_pending(body, line);
                        if self.pending.scan.depth <= 0 {
                            self.complete_pending(sink);
                        }
                    }
                    Err(e) => sink.reject(line, &json_error("", &e, line), unit),
                }
            }
            Some(b'[') => {
                self.start_pending(body, line);
                if self.pending.scan.depth <= 0 {
                    self.complete_pending(sink);
                }
            }
            Some(_) => sink.reject(
                line,
                "expected a JSON LogEntry object (or an array of them) per line",
                unit,
            ),
        }
    }

    fn finish(&mut self, sink: &mut dyn RecordSink) {
        self.reject_pending(sink);
    }
}

/// Parses one JSON value (an entry or a Pub/Sub wrapper) and reports it. Returns serde's error
/// when the text is not valid JSON (the caller decides whether more lines may complete it).
fn decode_value(
    text: &[u8],
    line: u64,
    extra: &mut String,
    data: &mut Vec<u8>,
    sink: &mut dyn RecordSink,
) -> Result<(), serde_json::Error> {
    let mut w = ObjWriter::new(extra);
    let mut de = serde_json::Deserializer::from_slice(text);
    let entry = EntrySeed(&mut w).deserialize(&mut de)?;
    de.end()?;
    if !entry.is_object {
        sink.reject(line, "expected a JSON object (a LogEntry)", text);
        return Ok(());
    }
    if let Some(msg) = &entry.message {
        let Some(b64) = msg.data.as_ref().and_then(Scalar::as_str) else {
            sink.reject(line, "Pub/Sub message has no message.data string", text);
            return Ok(());
        };
        data.clear();
        if !base64_decode(b64, data) {
            sink.reject(line, "bad message.data: not base64", text);
            return Ok(());
        }
        let mut w = ObjWriter::new(extra);
        let mut de = serde_json::Deserializer::from_slice(data);
        let inner = EntrySeed(&mut w)
            .deserialize(&mut de)
            .and_then(|e| de.end().map(|()| e));
        match inner {
            Err(e) => {
                let reason = json_error(" in message.data", &e, 1);
                let reason = reason.replacen("at line 1 column", "at column", 1);
                sink.reject(line, &reason, text);
            }
            Ok(inner) if !inner.is_object || inner.message.is_some() => {
                sink.reject(line, "message.data is not a LogEntry object", text);
            }
            Ok(inner) => {
                let has_extra = w.finish();
                emit_entry(
                    &inner,
                    has_extra.then_some(extra.as_str()),
                    line,
                    text,
                    sink,
                );
            }
        }
        return Ok(());
    }
    let has_extra = w.finish();
    emit_entry(
        &entry,
        has_extra.then_some(extra.as_str()),
        line,
        text,
        sink,
    );
    Ok(())
}

/// Returns `<p>` of `projects/<p>/logs/...`.
fn log_project(log_name: &str) -> Option<&str> {
    log_name
        .strip_prefix("projects/")?
        .split('/')
        .next()
        .filter(|p| !p.is_empty())
}

/// Returns the region of a zone (`us-east1-b` → `us-east1`); a region is returned as is.
fn region_of(location: &str) -> &str {
    match location.rsplit_once('-') {
        Some((region, zone))
            if zone.len() == 1
                && zone.bytes().all(|b| b.is_ascii_lowercase())
                && region.contains('-') =>
        {
            region
        }
        _ => location,
    }
}

fn emit_entry(
    entry: &Entry<'_>,
    extra: Option<&str>,
    line: u64,
    raw: &[u8],
    sink: &mut dyn RecordSink,
) {
    let log_name = entry.log_name.as_ref().and_then(Scalar::as_str);
    let Some(p) = entry.payload.as_ref().filter(|p| p.is_object) else {
        let reason = match log_name {
            Some(name) => format!(
                "LogEntry of log {:?} has no jsonPayload object: not a VPC flow log record",
                clip(name)
            ),
            None => "LogEntry has no jsonPayload object: not a VPC flow log record".to_string(),
        };
        return sink.reject(line, &reason, raw);
    };
    let Some(c) = &p.connection else {
        let reason = match log_name {
            Some(name) => format!(
                "jsonPayload has no connection (log {:?}): not a VPC flow log record",
                clip(name)
            ),
            None => "jsonPayload has no connection: not a VPC flow log record".to_string(),
        };
        return sink.reject(line, &reason, raw);
    };
    match build_row(entry, p, c, extra, line) {
        Ok(row) => sink.flow(&row),
        Err(reason) => sink.reject(line, &reason, raw),
    }
}

fn build_row<'a>(
    entry: &'a Entry<'_>,
    p: &'a Payload<'_>,
    c: &'a Connection<'_>,
    extra: Option<&'a str>,
    line: u64,
) -> Result<FlowRecord<'a>, String> {
    fn bad(field: &str, v: &Scalar<'_>) -> String {
        format!("bad jsonPayload.{field} {}", v.describe())
    }
    let present = |v: &'a Option<Scalar<'_>>| v.as_ref().filter(|v| **v != Scalar::Null);
    let addr = |v: &'a Option<Scalar<'_>>, field: &str| {
        let v = present(v).ok_or_else(|| format!("missing jsonPayload.{field}"))?;
        v.as_str()
            .and_then(|s| parse_ip(s.trim()))
            .ok_or_else(|| bad(field, v))
    };
    let int = |v: &'a Option<Scalar<'_>>, field: &str, max: u64| {
        present(v)
            .map(|v| {
                v.as_u64()
                    .filter(|n| *n <= max)
                    .ok_or_else(|| bad(field, v))
            })
            .transpose()
    };
    let time = |v: &'a Option<Scalar<'_>>, field: &str| -> Result<Option<Micros>, String> {
        present(v)
            .map(|v| {
                v.as_str()
                    .and_then(parse_rfc3339)
                    .ok_or_else(|| bad(field, v))
            })
            .transpose()
    };
    let src_ip = addr(&c.src_ip, "connection.src_ip")?;
    let dst_ip = addr(&c.dest_ip, "connection.dest_ip")?;
    let src_port = int(&c.src_port, "connection.src_port", 65535)?;
    let dst_port = int(&c.dest_port, "connection.dest_port", 65535)?;
    let protocol = int(&c.protocol, "connection.protocol", 255)?;
    let bytes_out = int(&p.bytes_sent, "bytes_sent", u64::MAX)?;
    let packets_out = int(&p.packets_sent, "packets_sent", u64::MAX)?;
    let start = time(&p.start_time, "start_time")?;
    let end = time(&p.end_time, "end_time")?;
    let written = present(&entry.timestamp)
        .and_then(Scalar::as_str)
        .and_then(parse_rfc3339);
    let Some(t) = start.or(end).or(written) else {
        return Err("missing jsonPayload.start_time (and end_time, timestamp)".to_string());
    };
    let reporter = present(&p.reporter).and_then(Scalar::as_str);
    let (inst, vpc, gw) = match reporter {
        Some("SRC" | "SRC_GATEWAY") => (
            Some(&p.src_instance),
            Some(&p.src_vpc),
            Some(&p.src_gateway),
        ),
        Some("DEST" | "DEST_GATEWAY") => (
            Some(&p.dest_instance),
            Some(&p.dest_vpc),
            Some(&p.dest_gateway),
        ),
        _ => (None, None, None),
    };
    let pick = |side: Option<&'a Side<'_>>, f: fn(&'a Side<'_>) -> &'a Option<Cow<'a, str>>| {
        side.and_then(|s| f(s).as_deref())
    };
    let label = |v: &'a Option<Scalar<'_>>| present(v).and_then(Scalar::as_str);
    let vm = pick(inst, |s| &s.vm_name);
    let account = pick(inst, |s| &s.project_id)
        .or(pick(vpc, |s| &s.project_id))
        .or(pick(gw, |s| &s.project_id))
        .or(label(&entry.labels.project_id))
        .or(present(&entry.log_name)
            .and_then(Scalar::as_str)
            .and_then(log_project));
    let region = pick(inst, |s| &s.region)
        .or(pick(vpc, |s| &s.subnetwork_region))
        .or(pick(gw, |s| &s.location).map(region_of))
        .or(label(&entry.labels.location).map(region_of));
    let subnet = pick(vpc, |s| &s.subnetwork_name).or(label(&entry.labels.subnetwork_name));
    let action = match present(&p.disposition).and_then(Scalar::as_str) {
        Some(d) if d.eq_ignore_ascii_case("ALLOWED") => Some(Action::Allowed),
        Some(d) if d.eq_ignore_ascii_case("DROPPED") || d.eq_ignore_ascii_case("DENIED") => {
            Some(Action::Denied)
        }
        _ => None,
    };
    Ok(FlowRecord {
        time: t,
        end_time: end,
        origin_line: line,
        src_ip: Some(src_ip),
        src_port: src_port.map(|v| v as u16),
        dst_ip: Some(dst_ip),
        dst_port: dst_port.map(|v| v as u16),
        protocol: protocol.map(|v| v as u8),
        bytes_out,
        packets_out,
        action,
        flow_state: reporter.map(Cow::Borrowed),
        rule: present(&p.drop_reason)
            .and_then(Scalar::as_str)
            .map(Cow::Borrowed),
        device: vm.or(pick(gw, |s| &s.name)).map(Cow::Borrowed),
        account: account.map(Cow::Borrowed),
        region: region.map(Cow::Borrowed),
        vpc: pick(vpc, |s| &s.vpc_name).map(Cow::Borrowed),
        subnet: subnet.map(Cow::Borrowed),
        instance: vm.map(Cow::Borrowed),
        extra: extra.map(Cow::Borrowed),
        ..FlowRecord::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips() {
        let mut out = Vec::new();
        assert!(base64_decode("eyJhIjoxfQ==", &mut out));
        assert_eq!(out, br#"{"a":1}"#);
        out.clear();
        assert!(base64_decode("eyJhIjoxfQ", &mut out));
        assert_eq!(out, br#"{"a":1}"#);
        out.clear();
        assert!(base64_decode("-_8", &mut out));
        assert_eq!(out, [0xfb, 0xff]);
        out.clear();
        assert!(!base64_decode("ab$c", &mut out));
        assert!(!base64_decode("a", &mut out));
    }

    #[test]
    fn array_splitting() {
        let text = b"[\n {\"a\":[1,2]},\n {\"b\":\"]\"}\n]\n";
        let els = array_elements(text).expect("array");
        let parts: Vec<&[u8]> = els
            .iter()
            .map(|(s, e, _)| text[*s..*e].trim_ascii_end())
            .collect();
        assert_eq!(parts, [&b"{\"a\":[1,2]}"[..], &b"{\"b\":\"]\"}"[..]]);
        assert_eq!(els[0].2, 1);
        assert_eq!(els[1].2, 2);
        assert_eq!(array_elements(b"[]").map(|v| v.len()), Some(0));
        assert!(array_elements(b"[1,,2]").is_none());
        assert!(array_elements(b"[1] x").is_none());
        assert!(array_elements(b"{}").is_none());
    }

    #[test]
    fn zones_and_projects() {
        assert_eq!(region_of("us-east1-b"), "us-east1");
        assert_eq!(region_of("europe-central2"), "europe-central2");
        assert_eq!(region_of("global"), "global");
        assert_eq!(
            log_project("projects/my-p/logs/compute.googleapis.com%2Fvpc_flows"),
            Some("my-p")
        );
        assert_eq!(log_project("organizations/1/logs/x"), None);
    }

    #[test]
    fn sniffing() {
        let entry = br#"{"insertId":"x","jsonPayload":{"connection":{"src_ip":"10.0.0.1"}}}"#;
        assert_eq!(sniff(entry), Confidence::Certain);
        assert_eq!(
            sniff(br#"[{"logName":"projects/p/logs/compute.googleapis.com%2Fvpc_flows"}]"#),
            Confidence::Certain
        );
        // {"jsonPayload":{"connection":{}}} in base64.
        let msg = br#"{"message":{"data":"eyJqc29uUGF5bG9hZCI6eyJjb25uZWN0aW9uIjp7fX19","messageId":"1"}}"#;
        assert_eq!(sniff(msg), Confidence::Likely);
        assert_eq!(sniff(br#"{"ts":1,"id.orig_h":"10.0.0.1"}"#), Confidence::No);
        assert_eq!(sniff(b"ts,te,td,sa,da"), Confidence::No);
    }
}
