//! Tests of the NetFlow v5/v9 and IPFIX decoders (`netflow_pcap`, `netflow`): synthetic packets
//! built byte by byte here (and the fixtures made from them, tests/fixtures/netflow), and
//! conformance against the shared corpus: Logstash's netflow codec spec, Elastic Beats goldens
//! and pmacct's nfacctd outputs.
//!
//! # Unsupported or deliberately different (see also PEER_DISAGREEMENTS)
//!
//! * IPFIX over TCP/SCTP, IP fragment reassembly, nfdump/nfcapd files: not read.
//! * Enterprise-specific elements (Cisco AVC/NBAR names, Netscaler, Procera, Ixia, VMware,
//!   Barracuda, Nokia, Streamcore, nProbe, Palo Alto app-id/user-id...) are skipped safely
//!   (their length is honoured) but not stored; only Cisco ASA NSEL v9 fields are mapped.
//! * Options data records (interface names, NBAR application tables, exporter statistics) are
//!   skipped, not stored; only their sampling rate and systemInitTime are used.
//! * v9 scope fields, MPLS label stacks, VRF ids/names, forwarding status, BGP next hops and
//!   L2 segment ids are not stored.

mod common;

use std::collections::BTreeMap;
use std::net::IpAddr;

use flowtrail_formats::flow::netflow::{NetflowPcap, NetflowRaw};
use flowtrail_formats::time::parse_rfc3339;
use flowtrail_formats::{decode_all, Confidence, DecodeContext, Format, VecSink};
use flowtrail_schema::{Action, Direction, FlowRecord, HttpRecord, RecordSink};
use serde_json::Value;

// ---------------------------------------------------------------------------------------------
// Helpers

/// One report, in the order the decoder made them.
#[derive(Debug, Clone, PartialEq)]
enum Ev {
    /// A row: its index in `rows`.
    Flow(usize),
    Skip(u64, &'static str),
    Reject(u64, String),
}

/// Keeps rows (owned, through a VecSink) and the order of every report.
#[derive(Default)]
struct Ordered {
    inner: VecSink,
    events: Vec<Ev>,
}

impl RecordSink for Ordered {
    fn flow(&mut self, r: &FlowRecord<'_>) {
        self.inner.flow(r);
        self.events.push(Ev::Flow(self.inner.flows.len() - 1));
    }
    fn http(&mut self, _r: &HttpRecord<'_>) {
        panic!("netflow decoders emit flows only");
    }
    fn skip(&mut self, line: u64, reason: &'static str) {
        self.inner.skip(line, reason);
        self.events.push(Ev::Skip(line, reason));
    }
    fn reject(&mut self, line: u64, reason: &str, raw: &[u8]) {
        self.inner.reject(line, reason, raw);
        self.events.push(Ev::Reject(line, reason.to_string()));
    }
}

impl Ordered {
    fn rows(&self) -> &[FlowRecord<'static>] {
        &self.inner.flows
    }
    fn rejects(&self) -> Vec<(u64, String)> {
        self.inner
            .rejected
            .iter()
            .map(|r| (r.line, r.reason.clone()))
            .collect()
    }
    fn options(&self) -> usize {
        self.inner
            .skipped
            .iter()
            .filter(|s| s.1 == "netflow: options data record")
            .count()
    }
}

/// Feeds `units` to one decoder of `format` (one `decode` call each), then finishes it.
fn feed(format: &dyn Format, origin: &str, units: &[&[u8]]) -> Ordered {
    let ctx = DecodeContext {
        origin: origin.to_string(),
        ..DecodeContext::default()
    };
    let mut dec = format.decoder(&ctx);
    let mut out = Ordered::default();
    for u in units {
        dec.decode(u, 1, &mut out);
    }
    dec.finish(&mut out);
    out
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("test address")
}

fn extra(row: &FlowRecord<'_>) -> Value {
    row.extra
        .as_deref()
        .map(|e| serde_json::from_str(e).expect("extra is JSON"))
        .unwrap_or(Value::Null)
}

/// The counters as exported, before any sampling multiplication: (bytes, packets).
fn raw_counters(row: &FlowRecord<'_>) -> (Option<u64>, Option<u64>) {
    let x = extra(row);
    if x.get("sampling").is_some() {
        (x["raw_bytes"].as_u64(), x["raw_packets"].as_u64())
    } else {
        (row.bytes_out, row.packets_out)
    }
}

fn t(s: &str) -> i64 {
    parse_rfc3339(s).unwrap_or_else(|| panic!("bad test time {s}"))
}

#[path = "netflow/build.rs"]
mod build;
#[path = "netflow/conformance.rs"]
mod conformance;
#[path = "netflow/synthetic.rs"]
mod synthetic;
