use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr};

use crate::Micros;

/// Whether the traffic was let through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Permitted by the device or rule that logged it.
    Allowed,
    /// Blocked (rejected or dropped).
    Denied,
}

impl Action {
    /// Returns the lower-case value stored in the `action` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Allowed => "allowed",
            Action::Denied => "denied",
        }
    }
}

/// The direction of a flow relative to the monitored network or interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Into the monitored network (external source, internal destination) or into the interface.
    Inbound,
    /// Out of the monitored network or interface.
    Outbound,
    /// Both ends internal.
    Internal,
    /// Both ends external.
    External,
}

impl Direction {
    /// Returns the lower-case value stored in the `direction` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
            Direction::Internal => "internal",
            Direction::External => "external",
        }
    }
}

/// Returns the IANA keyword of an IP protocol number for the most common protocols.
pub fn protocol_name(proto: u8) -> Option<&'static str> {
    Some(match proto {
        1 => "icmp",
        2 => "igmp",
        4 => "ipip",
        6 => "tcp",
        17 => "udp",
        41 => "ipv6",
        47 => "gre",
        50 => "esp",
        51 => "ah",
        58 => "icmpv6",
        89 => "ospf",
        103 => "pim",
        112 => "vrrp",
        132 => "sctp",
        _ => return None,
    })
}

/// One network flow (or one flow-log record) in the normalized `flows` table.
///
/// Counters are `None` where the source does not report them (never coerced to 0). `bytes_out`
/// and `packets_out` count source→destination, `bytes_in`/`packets_in` destination→source;
/// sources with one counter per record fill only the `_out` pair.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FlowRecord<'a> {
    /// Start of the flow or of the aggregation window (µs since epoch, UTC).
    pub time: Micros,
    /// End of the flow or window, when known.
    pub end_time: Option<Micros>,
    /// 1-based line (or record ordinal for JSON documents) within the input.
    pub origin_line: u64,
    pub src_ip: Option<IpAddr>,
    pub src_port: Option<u16>,
    pub dst_ip: Option<IpAddr>,
    pub dst_port: Option<u16>,
    pub protocol: Option<u8>,
    pub bytes_out: Option<u64>,
    pub bytes_in: Option<u64>,
    pub packets_out: Option<u64>,
    pub packets_in: Option<u64>,
    pub action: Option<Action>,
    /// Direction stated by the source (relative to the interface that logged it); when `None`
    /// the pipeline derives it from the internal networks.
    pub direction: Option<Direction>,
    pub flow_state: Option<Cow<'a, str>>,
    pub rule: Option<Cow<'a, str>>,
    pub device: Option<Cow<'a, str>>,
    pub account: Option<Cow<'a, str>>,
    pub region: Option<Cow<'a, str>>,
    pub vpc: Option<Cow<'a, str>>,
    pub subnet: Option<Cow<'a, str>>,
    pub instance: Option<Cow<'a, str>>,
    pub user: Option<Cow<'a, str>>,
    pub tcp_flags: Option<u16>,
    pub nat_src_ip: Option<IpAddr>,
    pub nat_dst_ip: Option<IpAddr>,
    pub mac: Option<Cow<'a, str>>,
    /// Source fields with no column of their own, as a compact JSON object (nothing is dropped).
    pub extra: Option<Cow<'a, str>>,
}

/// A flow in the shape nearly every line of a cloud flow log takes: IPv4 addresses, one
/// counter pair, the action, and text borrowed from the line. A decoder's fast path reports
/// it through [`crate::RecordSink::compact_flow`], which a sink may store column by column
/// without building the full [`FlowRecord`]; it means exactly [`CompactFlow::to_record`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CompactFlow<'a> {
    pub time: Micros,
    pub end_time: Micros,
    pub origin_line: u64,
    pub src_ip: Ipv4Addr,
    pub src_port: u16,
    pub dst_ip: Ipv4Addr,
    pub dst_port: u16,
    pub protocol: u8,
    pub bytes_out: u64,
    pub packets_out: u64,
    pub action: Action,
    pub flow_state: &'static str,
    /// ASCII text, as bytes: the decoder has checked it without making a `str` of it.
    pub device: &'a [u8],
    /// ASCII text, as bytes (see `device`).
    pub account: &'a [u8],
    pub region: Option<&'a str>,
}

impl<'a> CompactFlow<'a> {
    /// The same flow as a full record (every field not named here is `None`).
    pub fn to_record(&self) -> FlowRecord<'a> {
        FlowRecord {
            time: self.time,
            end_time: Some(self.end_time),
            origin_line: self.origin_line,
            src_ip: Some(IpAddr::V4(self.src_ip)),
            src_port: Some(self.src_port),
            dst_ip: Some(IpAddr::V4(self.dst_ip)),
            dst_port: Some(self.dst_port),
            protocol: Some(self.protocol),
            bytes_out: Some(self.bytes_out),
            packets_out: Some(self.packets_out),
            action: Some(self.action),
            flow_state: Some(Cow::Borrowed(self.flow_state)),
            device: Some(String::from_utf8_lossy(self.device)),
            account: Some(String::from_utf8_lossy(self.account)),
            region: self.region.map(Cow::Borrowed),
            ..FlowRecord::default()
        }
    }
}

/// One HTTP request in the normalized `http` table.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HttpRecord<'a> {
    pub time: Micros,
    pub origin_line: u64,
    pub client_ip: Option<IpAddr>,
    pub server_ip: Option<IpAddr>,
    pub server_port: Option<u16>,
    pub user: Option<Cow<'a, str>>,
    pub device: Option<Cow<'a, str>>,
    pub method: Option<Cow<'a, str>>,
    pub url: Option<Cow<'a, str>>,
    pub scheme: Option<Cow<'a, str>>,
    pub host: Option<Cow<'a, str>>,
    pub domain: Option<Cow<'a, str>>,
    pub path: Option<Cow<'a, str>>,
    pub query: Option<Cow<'a, str>>,
    pub status: Option<u16>,
    pub user_agent: Option<Cow<'a, str>>,
    pub referrer: Option<Cow<'a, str>>,
    pub content_type: Option<Cow<'a, str>>,
    pub bytes_in: Option<u64>,
    pub bytes_out: Option<u64>,
    pub duration_ms: Option<u64>,
    pub action: Option<Action>,
    pub extra: Option<Cow<'a, str>>,
}
