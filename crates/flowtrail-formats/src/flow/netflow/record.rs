//! Templates and the values of one data record: which Information Elements flowtrail reads and
//! how each field's bytes are decoded (by its declared length, so reduced-size encodings work).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// RFC 5103 private enterprise number of reverse-direction (biflow) Information Elements.
pub(super) const REVERSE_PEN: u32 = 29305;
/// The declared length of an IPFIX variable-length field.
pub(super) const VARLEN: u16 = 0xffff;

/// What a template field means to flowtrail; `Ignore` for everything not stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    Ignore,
    Bytes,
    Packets,
    Proto,
    Tos,
    TcpFlags,
    SrcPort,
    SrcV4,
    SrcMask,
    InIf,
    DstPort,
    DstV4,
    DstMask,
    OutIf,
    NextHopV4,
    SrcAs,
    DstAs,
    EndUptime,
    StartUptime,
    PostBytes,
    PostPackets,
    SrcV6,
    DstV6,
    IcmpTypeCode,
    SamplingInterval,
    SamplerId,
    SamplerRandomInterval,
    SrcMac,
    DstMac,
    Vlan,
    Direction,
    NextHopV6,
    TotalBytes,
    TotalPackets,
    EndReason,
    FlowId,
    StartSecs,
    EndSecs,
    StartMillis,
    EndMillis,
    StartNtp,
    EndNtp,
    StartDeltaMicros,
    EndDeltaMicros,
    SysInitMillis,
    DurationMillis,
    NatSrcV4,
    NatDstV4,
    NatSrcPort,
    NatDstPort,
    InitiatorBytes,
    ResponderBytes,
    FwEvent,
    NatSrcV6,
    NatDstV6,
    InitiatorPackets,
    ResponderPackets,
    SelectorId,
    SelectorAlgorithm,
    SamplingProbability,
    SamplingPacketInterval,
    SamplingPacketSpace,
    SamplingSize,
    SamplingPopulation,
    ObservationSecs,
    ObservationMillis,
    User,
    IngressAcl,
    EgressAcl,
    FwExtEvent,
    RevBytes,
    RevPackets,
    RevTotalBytes,
    RevTotalPackets,
}

/// Maps an Information Element (IPFIX id and enterprise number, or a NetFlow v9 field type with
/// `pen` 0) to its role.
pub(super) fn role(id: u16, pen: u32, v9: bool) -> Role {
    use Role::*;
    if pen == REVERSE_PEN {
        return match id {
            1 => RevBytes,
            2 => RevPackets,
            85 => RevTotalBytes,
            86 => RevTotalPackets,
            _ => Ignore,
        };
    }
    if pen != 0 {
        return Ignore;
    }
    match id {
        1 => Bytes,
        2 => Packets,
        4 => Proto,
        5 => Tos,
        6 => TcpFlags,
        7 => SrcPort,
        8 => SrcV4,
        9 | 29 => SrcMask,
        10 => InIf,
        11 => DstPort,
        12 => DstV4,
        13 | 30 => DstMask,
        14 => OutIf,
        15 => NextHopV4,
        16 => SrcAs,
        17 => DstAs,
        21 => EndUptime,
        22 => StartUptime,
        23 => PostBytes,
        24 => PostPackets,
        27 => SrcV6,
        28 => DstV6,
        32 | 139 => IcmpTypeCode,
        34 => SamplingInterval,
        48 => SamplerId,
        50 => SamplerRandomInterval,
        56 => SrcMac,
        58 => Vlan,
        61 => Direction,
        62 => NextHopV6,
        80 => DstMac,
        85 => TotalBytes,
        86 => TotalPackets,
        136 => EndReason,
        148 => FlowId,
        150 => StartSecs,
        151 => EndSecs,
        152 => StartMillis,
        153 => EndMillis,
        154 | 156 => StartNtp,
        155 | 157 => EndNtp,
        158 => StartDeltaMicros,
        159 => EndDeltaMicros,
        160 => SysInitMillis,
        161 => DurationMillis,
        225 => NatSrcV4,
        226 => NatDstV4,
        227 => NatSrcPort,
        228 => NatDstPort,
        231 => InitiatorBytes,
        232 => ResponderBytes,
        233 => FwEvent,
        281 => NatSrcV6,
        282 => NatDstV6,
        298 => InitiatorPackets,
        299 => ResponderPackets,
        302 => SelectorId,
        304 => SelectorAlgorithm,
        305 => SamplingPacketInterval,
        306 => SamplingPacketSpace,
        309 => SamplingSize,
        310 => SamplingPopulation,
        311 => SamplingProbability,
        322 => ObservationSecs,
        323 => ObservationMillis,
        371 => User,
        // Cisco ASA NSEL field types, NetFlow v9 only (IPFIX sets the enterprise bit for them).
        33000 if v9 => IngressAcl,
        33001 if v9 => EgressAcl,
        33002 if v9 => FwExtEvent,
        40000 if v9 => User,
        40001 if v9 => NatSrcV4,
        40002 if v9 => NatDstV4,
        40003 if v9 => NatSrcPort,
        40004 if v9 => NatDstPort,
        40005 if v9 => FwEvent,
        _ => Ignore,
    }
}

/// Whether a template describes flow records or options records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TemplateKind {
    Data,
    Options,
}

/// One field of a template: its role and declared length (`VARLEN` for variable length).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Field {
    pub role: Role,
    pub len: u16,
    /// The field type (IE id without the enterprise bit), for error messages.
    pub id: u16,
}

/// A template or options template, as announced by an exporter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Template {
    pub kind: TemplateKind,
    pub fields: Vec<Field>,
    /// The smallest record size: fixed lengths plus one byte per variable-length field.
    pub min_len: usize,
}

impl Template {
    pub fn new(kind: TemplateKind, fields: Vec<Field>) -> Template {
        let min_len = fields
            .iter()
            .map(|f| {
                if f.len == VARLEN {
                    1
                } else {
                    usize::from(f.len)
                }
            })
            .sum();
        Template {
            kind,
            fields,
            min_len,
        }
    }

    /// Decodes one record at the start of `rest` into `v`; returns its length.
    pub fn read<'p>(&self, rest: &'p [u8], v: &mut Values<'p>) -> Result<usize, String> {
        let mut pos = 0usize;
        for f in &self.fields {
            let len = if f.len == VARLEN {
                match rest.get(pos) {
                    Some(255) => {
                        let Some(l) = rest.get(pos + 1..pos + 3) else {
                            return Err(self.short(f, pos, rest));
                        };
                        pos += 3;
                        usize::from(u16::from_be_bytes([l[0], l[1]]))
                    }
                    Some(&l) => {
                        pos += 1;
                        usize::from(l)
                    }
                    None => return Err(self.short(f, pos, rest)),
                }
            } else {
                usize::from(f.len)
            };
            let Some(bytes) = rest.get(pos..pos + len) else {
                return Err(self.short(f, pos, rest));
            };
            if f.role != Role::Ignore {
                v.set(f.role, bytes);
            }
            pos += len;
        }
        Ok(pos)
    }

    fn short(&self, f: &Field, pos: usize, rest: &[u8]) -> String {
        format!(
            "truncated data record: field type {} at offset {pos} runs past the end of the set ({} bytes)",
            f.id,
            rest.len()
        )
    }
}

/// The decoded values of one data record (flow or options); fields absent from the template
/// stay `None`.
#[derive(Debug, Default, Clone)]
pub(super) struct Values<'p> {
    pub src: Option<IpAddr>,
    pub dst: Option<IpAddr>,
    pub next_hop: Option<IpAddr>,
    pub nat_src: Option<IpAddr>,
    pub nat_dst: Option<IpAddr>,
    pub src_port: Option<u16>,
    pub dst_port: Option<u16>,
    pub nat_src_port: Option<u16>,
    pub nat_dst_port: Option<u16>,
    pub proto: Option<u8>,
    pub tos: Option<u8>,
    pub tcp_flags: Option<u16>,
    pub bytes: Option<u64>,
    pub packets: Option<u64>,
    pub post_bytes: Option<u64>,
    pub post_packets: Option<u64>,
    pub total_bytes: Option<u64>,
    pub total_packets: Option<u64>,
    pub init_bytes: Option<u64>,
    pub resp_bytes: Option<u64>,
    pub init_packets: Option<u64>,
    pub resp_packets: Option<u64>,
    pub rev_bytes: Option<u64>,
    pub rev_packets: Option<u64>,
    pub rev_total_bytes: Option<u64>,
    pub rev_total_packets: Option<u64>,
    pub in_if: Option<u64>,
    pub out_if: Option<u64>,
    pub src_as: Option<u64>,
    pub dst_as: Option<u64>,
    pub src_mask: Option<u8>,
    pub dst_mask: Option<u8>,
    pub vlan: Option<u16>,
    pub src_mac: Option<[u8; 6]>,
    pub dst_mac: Option<[u8; 6]>,
    pub icmp: Option<u16>,
    pub direction: Option<u8>,
    pub end_reason: Option<u8>,
    pub flow_id: Option<u64>,
    pub fw_event: Option<u8>,
    pub fw_ext_event: Option<u64>,
    pub start_uptime: Option<u32>,
    pub end_uptime: Option<u32>,
    /// Absolute times in µs since the epoch (from 150–157).
    pub start_abs: Option<i64>,
    pub end_abs: Option<i64>,
    pub start_delta_us: Option<u64>,
    pub end_delta_us: Option<u64>,
    pub sys_init_ms: Option<u64>,
    pub duration_ms: Option<u64>,
    pub observation_us: Option<i64>,
    pub sampling_interval: Option<u64>,
    pub sampler_random_interval: Option<u64>,
    pub sampler_id: Option<u64>,
    pub selector_id: Option<u64>,
    pub packet_interval: Option<u64>,
    pub packet_space: Option<u64>,
    pub sampling_size: Option<u64>,
    pub sampling_population: Option<u64>,
    pub selector_algorithm: Option<u8>,
    /// samplingProbability (float64), as its bits.
    pub sampling_probability: Option<u64>,
    pub user: Option<&'p [u8]>,
    pub ingress_acl: Option<&'p [u8]>,
    pub egress_acl: Option<&'p [u8]>,
}

/// Reads an unsigned big-endian integer of 1 to 8 bytes (reduced-size encoding).
pub(super) fn uint(b: &[u8]) -> Option<u64> {
    if b.is_empty() || b.len() > 8 {
        return None;
    }
    Some(b.iter().fold(0u64, |acc, &x| (acc << 8) | u64::from(x)))
}

fn ipv4(b: &[u8]) -> Option<IpAddr> {
    let a: [u8; 4] = b.try_into().ok()?;
    Some(IpAddr::V4(Ipv4Addr::from(a)))
}

fn ipv6(b: &[u8]) -> Option<IpAddr> {
    let a: [u8; 16] = b.try_into().ok()?;
    Some(IpAddr::V6(Ipv6Addr::from(a)))
}

/// Stores an address unless it is unspecified and a real one is already known (templates
/// carrying both IPv4 and IPv6 fields send zeros in the unused family).
fn addr(slot: &mut Option<IpAddr>, new: Option<IpAddr>) {
    if let Some(a) = new {
        if slot.is_none_or(|old| old.is_unspecified() || !a.is_unspecified()) {
            *slot = Some(a);
        }
    }
}

fn mac(b: &[u8]) -> Option<[u8; 6]> {
    b.try_into().ok()
}

/// Seconds between the NTP era (1900) and the Unix epoch.
const NTP_UNIX_OFFSET: i64 = 2_208_988_800;

/// Converts an NTP 64-bit timestamp (dateTimeMicroseconds/Nanoseconds) to µs since the epoch.
fn ntp(b: &[u8]) -> Option<i64> {
    let v = uint(b).filter(|_| b.len() == 8)?;
    let secs = (v >> 32) as i64 - NTP_UNIX_OFFSET;
    let frac = ((v & 0xffff_ffff) * 1_000_000) >> 32;
    secs.checked_mul(1_000_000)?.checked_add(frac as i64)
}

/// Converts milliseconds since the epoch to µs, refusing values that overflow.
pub(super) fn ms_to_us(ms: u64) -> Option<i64> {
    i64::try_from(ms).ok()?.checked_mul(1000)
}

impl<'p> Values<'p> {
    fn set(&mut self, role: Role, b: &'p [u8]) {
        use Role::*;
        let n = || uint(b);
        match role {
            Ignore => {}
            Bytes => self.bytes = n(),
            Packets => self.packets = n(),
            Proto => self.proto = n().map(|v| v as u8),
            Tos => self.tos = n().map(|v| v as u8),
            TcpFlags => self.tcp_flags = n().map(|v| v as u16),
            SrcPort => self.src_port = n().map(|v| v as u16),
            DstPort => self.dst_port = n().map(|v| v as u16),
            SrcV4 => addr(&mut self.src, ipv4(b)),
            DstV4 => addr(&mut self.dst, ipv4(b)),
            SrcV6 => addr(&mut self.src, ipv6(b)),
            DstV6 => addr(&mut self.dst, ipv6(b)),
            SrcMask => self.src_mask = n().map(|v| v as u8),
            DstMask => self.dst_mask = n().map(|v| v as u8),
            InIf => self.in_if = n(),
            OutIf => self.out_if = n(),
            NextHopV4 => addr(&mut self.next_hop, ipv4(b)),
            NextHopV6 => addr(&mut self.next_hop, ipv6(b)),
            SrcAs => self.src_as = n(),
            DstAs => self.dst_as = n(),
            EndUptime => self.end_uptime = n().map(|v| v as u32),
            StartUptime => self.start_uptime = n().map(|v| v as u32),
            PostBytes => self.post_bytes = n(),
            PostPackets => self.post_packets = n(),
            IcmpTypeCode => self.icmp = n().map(|v| v as u16),
            SamplingInterval => self.sampling_interval = n(),
            SamplerId => self.sampler_id = n(),
            SamplerRandomInterval => self.sampler_random_interval = n(),
            SrcMac => self.src_mac = mac(b),
            DstMac => self.dst_mac = mac(b),
            Vlan => self.vlan = n().map(|v| v as u16),
            Direction => self.direction = n().map(|v| v as u8),
            TotalBytes => self.total_bytes = n(),
            TotalPackets => self.total_packets = n(),
            EndReason => self.end_reason = n().map(|v| v as u8),
            FlowId => self.flow_id = n(),
            StartSecs => {
                self.start_abs = self
                    .start_abs
                    .or(n().and_then(|s| s.checked_mul(1000)).and_then(ms_to_us))
            }
            EndSecs => {
                self.end_abs = self
                    .end_abs
                    .or(n().and_then(|s| s.checked_mul(1000)).and_then(ms_to_us))
            }
            // Milliseconds win over seconds whatever the field order.
            StartMillis => self.start_abs = n().and_then(ms_to_us).or(self.start_abs),
            EndMillis => self.end_abs = n().and_then(ms_to_us).or(self.end_abs),
            StartNtp => self.start_abs = self.start_abs.or(ntp(b)),
            EndNtp => self.end_abs = self.end_abs.or(ntp(b)),
            StartDeltaMicros => self.start_delta_us = n(),
            EndDeltaMicros => self.end_delta_us = n(),
            SysInitMillis => self.sys_init_ms = n(),
            DurationMillis => self.duration_ms = n(),
            NatSrcV4 => addr(&mut self.nat_src, ipv4(b)),
            NatDstV4 => addr(&mut self.nat_dst, ipv4(b)),
            NatSrcV6 => addr(&mut self.nat_src, ipv6(b)),
            NatDstV6 => addr(&mut self.nat_dst, ipv6(b)),
            NatSrcPort => self.nat_src_port = n().map(|v| v as u16),
            NatDstPort => self.nat_dst_port = n().map(|v| v as u16),
            InitiatorBytes => self.init_bytes = n(),
            ResponderBytes => self.resp_bytes = n(),
            InitiatorPackets => self.init_packets = n(),
            ResponderPackets => self.resp_packets = n(),
            FwEvent => self.fw_event = n().map(|v| v as u8),
            FwExtEvent => self.fw_ext_event = n(),
            SelectorId => self.selector_id = n(),
            SamplingPacketInterval => self.packet_interval = n(),
            SamplingPacketSpace => self.packet_space = n(),
            SamplingSize => self.sampling_size = n(),
            SamplingPopulation => self.sampling_population = n(),
            SelectorAlgorithm => self.selector_algorithm = n().map(|v| v as u8),
            SamplingProbability => self.sampling_probability = n().filter(|_| b.len() == 8),
            ObservationSecs => {
                self.observation_us = self
                    .observation_us
                    .or(n().and_then(|s| s.checked_mul(1000)).and_then(ms_to_us))
            }
            ObservationMillis => {
                self.observation_us = n().and_then(ms_to_us).or(self.observation_us)
            }
            User => self.user = Some(b),
            IngressAcl => self.ingress_acl = Some(b),
            EgressAcl => self.egress_acl = Some(b),
            RevBytes => self.rev_bytes = n(),
            RevPackets => self.rev_packets = n(),
            RevTotalBytes => self.rev_total_bytes = n(),
            RevTotalPackets => self.rev_total_packets = n(),
        }
    }

    /// The 1-in-N sampling rate this record states itself, if any (RFC 3954 and RFC 5476
    /// forms). With a PSAMP selectorAlgorithm (304) only that algorithm's parameters count:
    /// 1 systematic count-based (305/306), 3 random n-out-of-N (309/310), 4 uniform
    /// probabilistic (311).
    pub fn own_sampling(&self) -> Option<u64> {
        let count_based = || {
            let i = self.packet_interval.filter(|i| *i > 0)?;
            Some(i.saturating_add(self.packet_space.unwrap_or(0)) / i)
        };
        let n_of_n = || {
            let size = self.sampling_size.filter(|s| *s > 0)?;
            Some(self.sampling_population? / size)
        };
        let probability = || {
            let p = f64::from_bits(self.sampling_probability?);
            (p > 0.0 && p <= 1.0).then(|| (1.0 / p).round() as u64)
        };
        match self.selector_algorithm {
            Some(1) => count_based(),
            Some(3) => n_of_n(),
            Some(4) => probability(),
            _ => self
                .sampling_interval
                .or(self.sampler_random_interval)
                .or_else(count_based)
                .or_else(n_of_n)
                .or_else(probability),
        }
    }

    /// The sampler or selector this record refers to.
    pub fn sampler_key(&self) -> Option<u64> {
        self.sampler_id.or(self.selector_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reduced_size_and_varlen() {
        let t = Template::new(
            TemplateKind::Data,
            vec![
                Field {
                    role: Role::Bytes,
                    len: 2,
                    id: 1,
                },
                Field {
                    role: Role::Ignore,
                    len: VARLEN,
                    id: 82,
                },
                Field {
                    role: Role::SrcV4,
                    len: 4,
                    id: 8,
                },
                Field {
                    role: Role::Ignore,
                    len: VARLEN,
                    id: 83,
                },
                Field {
                    role: Role::Packets,
                    len: 3,
                    id: 2,
                },
            ],
        );
        assert_eq!(t.min_len, 11);
        let mut rec = vec![
            0x01, 0x02, 3, b'a', b'b', b'c', 10, 0, 0, 1, 255, 0, 2, b'x', b'y',
        ];
        rec.extend_from_slice(&[0, 0, 7]);
        let mut v = Values::default();
        assert_eq!(t.read(&rec, &mut v), Ok(rec.len()));
        assert_eq!(v.bytes, Some(258));
        assert_eq!(v.packets, Some(7));
        assert_eq!(v.src, Some("10.0.0.1".parse().expect("ip")));
        let mut v = Values::default();
        let err = t.read(&rec[..rec.len() - 1], &mut v).expect_err("short");
        assert!(err.contains("field type 2"), "{err}");
    }

    #[test]
    fn ntp_time() {
        // 2017-12-14T07:23:45.5Z
        let secs = 1_513_236_225u64 + NTP_UNIX_OFFSET as u64;
        let v = (secs << 32) | 0x8000_0000;
        assert_eq!(ntp(&v.to_be_bytes()), Some(1_513_236_225_500_000));
    }
}
