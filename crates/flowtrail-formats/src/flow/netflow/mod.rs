//! NetFlow v5, NetFlow v9 (RFC 3954) and IPFIX (RFC 7011) export packets.
//!
//! Two input shapes, both read whole ([`Framing::Document`]):
//!
//! * **`netflow_pcap`**: a classic pcap (µs or ns, either byte order) or pcapng capture of the
//!   export traffic. Link types Ethernet (with 802.1Q/802.1ad tags), Linux cooked (v1 and v2),
//!   BSD loopback and raw IPv4/IPv6 are read; every UDP payload is decoded as NetFlow/IPFIX and
//!   the **exporter is the packet's source address and port**. Non-IP and non-UDP packets are
//!   ignored (they are not records); a UDP payload that is not NetFlow v5/v9 or IPFIX is
//!   skipped (`netflow: UDP payload is not NetFlow v5/v9 or IPFIX`). IP fragments are not
//!   reassembled: a fragmented datagram is rejected once, at its first fragment.
//! * **`netflow`**: raw datagram dumps, the bare UDP payloads written one after another with no
//!   framing (as in the `.dat` files of Logstash's and Beats' test suites). Message boundaries
//!   come from the v5 record count, the IPFIX message length, and for v9 (whose header has no
//!   length) from the flowset walk: a flowset id of 5, 9 or 10 (reserved ids) starts the next
//!   message, and zero padding between messages is skipped. The exporter is unknown: every
//!   message is taken to come from one exporter named by the input's origin.
//!
//! # Accounting and row numbering
//!
//! `origin_line` is the **1-based index of the packet** in the capture (`netflow_pcap`, counting
//! every captured packet) or of the message in the dump (`netflow`). All rows of one packet share
//! it. Each data record of a data set is one record: a row, or a rejection when malformed (a
//! variable-length field running past its set ends the set). Template and options template
//! records are not records and are not reported; a malformed template set is rejected once.
//! Options data records (sampling configuration, interface tables, ...) are skipped with
//! `netflow: options data record`. A truncated or garbage packet is one rejection carrying the
//! packet's index and the reason.
//!
//! Data sets arriving before their template are kept (at most 10 000 sets and 64 MiB per input)
//! and decoded when the template arrives, with their own packet's line and header; at the end
//! of the input each still-undecodable set is rejected once with
//! `no template N for exporter X (observation domain D)`. Beyond the cap a set is rejected at
//! once. Templates are cached per exporter, protocol version, observation domain (v9 source id)
//! and template id; an IPFIX withdrawal removes them.
//!
//! # Field mapping
//!
//! | column | v5 | v9 / IPFIX Information Element |
//! |---|---|---|
//! | `time`, `end_time` | `First`, `Last` (sysUpTime-relative, see below) | 152/153 flowStart/EndMilliseconds, else 150/151 seconds, else 154–157 NTP micro/nanoseconds, else 158/159 delta microseconds from the export time, else 22/21 sysUpTime-relative; `end_time` from 161 flowDurationMilliseconds when only the start is known; `time` falls back to 323/322 observationTime (ASA event time), then the end, then the export time |
//! | `src_ip`, `dst_ip` | `srcaddr`, `dstaddr` | 8/12, or 27/28 (IPv6) |
//! | `src_port`, `dst_port` | `srcport`, `dstport` | 7/11 |
//! | `protocol`, `tcp_flags` | `prot`, `tcp_flags` | 4, 6 |
//! | `bytes_out`, `packets_out` | `dOctets`, `dPkts` | 1/2 octet/packetDeltaCount; when absent or 0, 23/24 post (v9 OUT_BYTES/OUT_PKTS, egress flows); else 231/298 initiator, else 85/86 totals |
//! | `bytes_in`, `packets_in` | — | RFC 5103 reverse 1/2/85/86 (enterprise 29305), else 232/299 responderOctets/Packets (ASA NSEL) |
//! | `direction` | — | 61 flowDirection: 0 ingress → `inbound`, 1 egress → `outbound` |
//! | `action` | — | 233 firewallEvent / ASA v9 40005 NF_F_FW_EVENT: 3 → `denied`; 1, 2, 5 (created, deleted, updated) → `allowed` |
//! | `rule` | — | ASA 33000 ingress ACL id, else 33001 egress (three hex words `0f8e7ff3-fc1a030f-00000000`), when not all zero |
//! | `user` | — | 371 userName, ASA 40000 NF_F_USERNAME |
//! | `nat_src_ip`, `nat_dst_ip` | — | 225/226 (ASA 40001/40002), 281/282 (IPv6); `0.0.0.0` means none |
//! | `device` | exporter address (`netflow_pcap` only) | same |
//! | `extra` | see below | see below |
//!
//! `extra` always holds `version` (5, 9 or 10), `exporter` (`ip:port`, or the origin for raw
//! dumps) and `engine_type`/`engine_id` (v5) or `observation_domain` (v9 source id, IPFIX
//! observation domain) and `template`; then, when present and non-zero: `in_if`/`out_if`
//! (10/14), `src_as`/`dst_as` (16/17), `src_mask`/`dst_mask` (9/13, 29/30), `tos` (5), `vlan`
//! (58), `nat_src_port`/`nat_dst_port` (227/228, ASA 40003/40004), `fw_event`, `fw_ext_event`
//! (ASA 33002), `flow_id` (148), `end_reason` (136), `next_hop` (15/62), `src_mac`/`dst_mac`
//! (56/80), `icmp_type`/`icmp_code` (32/139, ICMP flows), `post_bytes`/`post_packets` (23/24),
//! and the sampling and sequence keys below. Enterprise-specific elements are skipped (their
//! length is honoured); variable-length fields (length 65535, 1- or 3-byte prefix) and
//! reduced-size encodings (a counter sent in fewer bytes than its natural size) are decoded.
//!
//! # Time
//!
//! v5 and v9 timestamps `First`/`Last` (21/22) count milliseconds of exporter uptime. They are
//! made absolute as `export time − (sysUpTime − t)`, with the difference taken as a signed
//! 32-bit value: a counter that wrapped (softflowd's `First = 0xFFFFFFFF` at uptime 3381) lands
//! 3.382 s before the export, and a timestamp slightly *ahead* of the uptime (FortiOS 5.2 sends
//! such) lands after it instead of 49.7 days earlier. v5 export time includes `unix_nsecs`.
//! IPFIX 21/22 are relative to systemInitTimeMilliseconds (160), taken from the record or from
//! an options record of the same session; without it they are unused.
//!
//! # Sampling
//!
//! The sampling rate of a record is, in order: its own 34 samplingInterval or 50
//! samplerRandomInterval, or PSAMP parameters (with 304 selectorAlgorithm: 1 → 305/306
//! samplingPacketInterval/Space, rate (interval + space) / interval; 3 → 309/310
//! samplingSize/Population, rate population / size; 4 → 311 samplingProbability, rate 1/p;
//! without it the first of these present); the v5 header's interval (low 14 bits); the rate an
//! options record announced for the sampler or selector the record names (48 samplerId or 302
//! selectorId); else the rate of an options record that names no sampler (session-wide, as
//! FortiOS and Juniper send it). A sampler announced under an id applies only to the records
//! naming that id. With a rate above 1, all four counters are **multiplied** by it and `extra`
//! keeps `sampling` (the rate) and `raw_bytes`, `raw_packets` (and `raw_bytes_in`,
//! `raw_packets_in`) as exported. Data sets decoded late (their template came after them) are
//! decoded at the end of the message that brought the template, so the sampling options of
//! that message apply to them too.
//!
//! # Lost flows
//!
//! Sequence numbers are followed per session. A forward jump is a loss: in flow records for v5
//! (flow_sequence) and IPFIX (data records), in **export packets** for v9 (its sequence number
//! counts packets). The loss is reported once, as `"seq_gap": n` in the `extra` of the session's
//! next row. Backward jumps (reordering, restarts) are not losses. IPFIX expectations are
//! dropped across a message with an undecodable set (its record count is unknown).
//!
//! # Caveats
//!
//! * A raw dump is taken to come from one exporter: templates of different exporters using the
//!   same source id and template id overwrite each other. Captures do not have this problem.
//! * IPFIX over TCP or SCTP, IP reassembly, and nfdump/nfcapd files are not read.
//! * v9 scope fields (system, interface, ...) are not Information Elements and are ignored.
//!
//! # References
//!
//! * RFC 3954 (NetFlow v9), RFC 7011 (IPFIX), RFC 5103 (biflows), RFC 5476 (PSAMP sampling),
//!   the IANA IPFIX Information Element registry, Cisco's NetFlow v5 record layout and ASA NSEL
//!   field list.
//! * flowtrail's format research notes (`docs/formats.md` of the shared docs), section 7.

mod collector;
mod pcap;
mod record;

use flowtrail_schema::RecordSink;

use crate::{Confidence, DecodeContext, Decoder, Format, Framing};
use collector::{looks_like_netflow, Collector};
use pcap::Datagram;

/// Capture files (pcap, pcapng) of NetFlow v5/v9 or IPFIX export traffic.
pub struct NetflowPcap;

/// Raw NetFlow v5/v9 or IPFIX datagrams written back to back (no capture framing).
pub struct NetflowRaw;

impl Format for NetflowPcap {
    fn name(&self) -> &'static str {
        "netflow_pcap"
    }
    fn description(&self) -> &'static str {
        "NetFlow v5/v9 and IPFIX export traffic in pcap/pcapng captures (exporter = packet source)"
    }
    fn framing(&self) -> Framing {
        Framing::Document
    }
    fn decoder(&self, ctx: &DecodeContext) -> Box<dyn Decoder> {
        Box::new(NetflowDecoder::new(true, ctx))
    }
    fn sniff(&self, prefix: &[u8]) -> Confidence {
        if pcap::capture_kind(prefix).is_none() {
            return Confidence::No;
        }
        let mut first_udp: Option<bool> = None;
        let _ = pcap::for_each_frame(prefix, &mut |frame| {
            if first_udp.is_none() {
                if let Ok(Datagram::Udp { payload, .. }) = pcap::datagram(&frame) {
                    first_udp = Some(looks_like_netflow(payload));
                }
            }
        });
        if first_udp == Some(true) {
            Confidence::Certain
        } else {
            Confidence::Likely
        }
    }
}

impl Format for NetflowRaw {
    fn name(&self) -> &'static str {
        "netflow"
    }
    fn description(&self) -> &'static str {
        "Raw NetFlow v5/v9 and IPFIX datagrams written back to back (.dat dumps)"
    }
    fn framing(&self) -> Framing {
        Framing::Document
    }
    fn decoder(&self, ctx: &DecodeContext) -> Box<dyn Decoder> {
        Box::new(NetflowDecoder::new(false, ctx))
    }
    fn sniff(&self, prefix: &[u8]) -> Confidence {
        if looks_like_netflow(prefix) {
            Confidence::Likely
        } else {
            Confidence::No
        }
    }
}

/// The decoder of both formats: a collector fed by packets (pcap) or by the whole dump (raw).
struct NetflowDecoder {
    pcap: bool,
    collector: Collector,
    /// Raw dumps: the line number of the next message.
    next_line: u64,
}

impl NetflowDecoder {
    fn new(pcap: bool, ctx: &DecodeContext) -> NetflowDecoder {
        NetflowDecoder {
            pcap,
            collector: Collector::new(&ctx.origin),
            next_line: 1,
        }
    }
}

impl Decoder for NetflowDecoder {
    fn decode(&mut self, unit: &[u8], _line: u64, sink: &mut dyn RecordSink) {
        if unit.is_empty() {
            return;
        }
        if !self.pcap {
            let last = self
                .collector
                .decode_payload(unit, None, self.next_line, true, sink);
            self.next_line = last + 1;
            return;
        }
        let collector = &mut self.collector;
        let result = pcap::for_each_frame(unit, &mut |frame| match pcap::datagram(&frame) {
            Ok(Datagram::Udp {
                src,
                payload,
                fragment: false,
            }) => {
                collector.decode_payload(payload, Some(src), frame.index, false, sink);
            }
            Ok(Datagram::Udp {
                src,
                payload,
                fragment: true,
            }) => {
                if looks_like_netflow(payload) {
                    sink.reject(
                        frame.index,
                        &format!(
                            "fragmented UDP datagram from {src} (IP reassembly is not supported)"
                        ),
                        payload,
                    );
                } else {
                    sink.skip(
                        frame.index,
                        "netflow: UDP payload is not NetFlow v5/v9 or IPFIX",
                    );
                }
            }
            Ok(Datagram::Other) => {}
            Err(reason) => sink.reject(frame.index, &reason, frame.bytes),
        });
        if let Err(e) = result {
            sink.reject(e.index, &e.reason, e.raw);
        }
    }

    fn finish(&mut self, sink: &mut dyn RecordSink) {
        self.collector.finish(sink);
    }
}
