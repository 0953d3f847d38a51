//! Capture files (classic pcap and pcapng) down to UDP payloads: link layer, IPv4/IPv6, UDP.
//!
//! Only what an export stream needs is decoded: no TCP, no IP reassembly (a fragmented datagram
//! is reported once, at its first fragment).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Classic pcap magic numbers as read little-endian: microsecond and nanosecond variants.
const PCAP_US: u32 = 0xa1b2_c3d4;
const PCAP_NS: u32 = 0xa1b2_3c4d;
/// pcapng Section Header Block type (a palindrome, so endianness-free).
const PCAPNG_SHB: u32 = 0x0a0d_0d0a;
/// Largest captured packet accepted (pcap's own maximum snap length is 256 KiB).
const MAX_PACKET: usize = 1 << 20;
/// Most pcapng interfaces remembered per section.
const MAX_INTERFACES: usize = 4096;

/// What kind of capture a prefix starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CaptureKind {
    Pcap,
    PcapNg,
}

/// Recognises the magic number of a capture file.
pub(super) fn capture_kind(data: &[u8]) -> Option<CaptureKind> {
    let le = u32::from_le_bytes(data.get(..4)?.try_into().ok()?);
    let be = u32::from_be_bytes(data.get(..4)?.try_into().ok()?);
    if [PCAP_US, PCAP_NS].contains(&le) || [PCAP_US, PCAP_NS].contains(&be) {
        Some(CaptureKind::Pcap)
    } else if le == PCAPNG_SHB {
        Some(CaptureKind::PcapNg)
    } else {
        None
    }
}

/// One captured frame: its 1-based index in the file, its link type and its captured bytes.
#[derive(Debug, Clone, Copy)]
pub(super) struct Frame<'a> {
    pub index: u64,
    pub linktype: u32,
    pub bytes: &'a [u8],
}

/// A capture-level error: the index of the packet it concerns, a reason and the bytes involved.
#[derive(Debug)]
pub(super) struct CaptureError<'a> {
    pub index: u64,
    pub reason: String,
    pub raw: &'a [u8],
}

#[derive(Clone, Copy)]
struct Endian(bool);

impl Endian {
    fn u16(self, b: &[u8], at: usize) -> Option<u16> {
        let a: [u8; 2] = b.get(at..at + 2)?.try_into().ok()?;
        Some(if self.0 {
            u16::from_be_bytes(a)
        } else {
            u16::from_le_bytes(a)
        })
    }
    fn u32(self, b: &[u8], at: usize) -> Option<u32> {
        let a: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
        Some(if self.0 {
            u32::from_be_bytes(a)
        } else {
            u32::from_le_bytes(a)
        })
    }
}

/// Calls `f` for every packet of a pcap or pcapng file, in order. Returns the error that stopped
/// the walk, if any (a truncated record, a corrupt block).
pub(super) fn for_each_frame<'a>(
    data: &'a [u8],
    f: &mut dyn FnMut(Frame<'a>),
) -> Result<(), CaptureError<'a>> {
    match capture_kind(data) {
        Some(CaptureKind::Pcap) => walk_pcap(data, f),
        Some(CaptureKind::PcapNg) => walk_pcapng(data, f),
        None => Err(CaptureError {
            index: 1,
            reason: "not a pcap or pcapng capture (unknown magic number)".to_string(),
            raw: data.get(..data.len().min(64)).unwrap_or_default(),
        }),
    }
}

fn walk_pcap<'a>(data: &'a [u8], f: &mut dyn FnMut(Frame<'a>)) -> Result<(), CaptureError<'a>> {
    let be = u32::from_be_bytes([
        data.first().copied().unwrap_or(0),
        data.get(1).copied().unwrap_or(0),
        data.get(2).copied().unwrap_or(0),
        data.get(3).copied().unwrap_or(0),
    ]);
    let e = Endian([PCAP_US, PCAP_NS].contains(&be));
    let Some(linktype) = e.u32(data, 20) else {
        return Err(CaptureError {
            index: 1,
            reason: format!("truncated pcap file header ({} bytes)", data.len()),
            raw: data,
        });
    };
    // The upper bits may carry FCS information (pcap spec, "LinkType and additional information").
    let linktype = linktype & 0x0fff_ffff;
    let mut pos = 24;
    let mut index = 0u64;
    while pos < data.len() {
        index += 1;
        let rest = data.get(pos..).unwrap_or_default();
        let Some(incl) = e.u32(rest, 8) else {
            return Err(CaptureError {
                index,
                reason: format!("truncated pcap record header ({} bytes)", rest.len()),
                raw: rest,
            });
        };
        let incl = incl as usize;
        if incl > MAX_PACKET {
            return Err(CaptureError {
                index,
                reason: format!("pcap record of {incl} bytes exceeds the {MAX_PACKET}-byte limit"),
                raw: rest.get(..16).unwrap_or(rest),
            });
        }
        let Some(bytes) = rest.get(16..16 + incl) else {
            return Err(CaptureError {
                index,
                reason: format!(
                    "truncated pcap record: {incl} bytes announced, {} present",
                    rest.len().saturating_sub(16)
                ),
                raw: rest,
            });
        };
        f(Frame {
            index,
            linktype,
            bytes,
        });
        pos += 16 + incl;
    }
    Ok(())
}

fn walk_pcapng<'a>(data: &'a [u8], f: &mut dyn FnMut(Frame<'a>)) -> Result<(), CaptureError<'a>> {
    let mut pos = 0;
    let mut index = 0u64;
    let mut e = Endian(false);
    let mut interfaces: Vec<u32> = Vec::new();
    while pos < data.len() {
        let rest = data.get(pos..).unwrap_or_default();
        let bad = |index: u64, reason: String| CaptureError {
            index: index.max(1),
            reason,
            raw: rest.get(..rest.len().min(64)).unwrap_or_default(),
        };
        let Some(btype) = Endian(false).u32(rest, 0) else {
            return Err(bad(
                index + 1,
                format!("truncated pcapng block ({} bytes)", rest.len()),
            ));
        };
        if btype == PCAPNG_SHB {
            // A new section: its own byte order and interfaces.
            match rest.get(8..12) {
                Some([0x1a, 0x2b, 0x3c, 0x4d]) => e = Endian(true),
                Some([0x4d, 0x3c, 0x2b, 0x1a]) => e = Endian(false),
                _ => return Err(bad(index + 1, "bad pcapng byte-order magic".to_string())),
            }
            interfaces.clear();
        }
        let btype = e.u32(rest, 0).unwrap_or(0);
        let Some(blen) = e.u32(rest, 4) else {
            return Err(bad(
                index + 1,
                format!("truncated pcapng block ({} bytes)", rest.len()),
            ));
        };
        let blen = blen as usize;
        if blen < 12 || !blen.is_multiple_of(4) || blen > rest.len() {
            return Err(bad(
                index + 1,
                format!("bad pcapng block length {blen} ({} bytes left)", rest.len()),
            ));
        }
        let body = rest.get(8..blen - 4).unwrap_or_default();
        match btype {
            1 if interfaces.len() < MAX_INTERFACES => {
                interfaces.push(u32::from(e.u16(body, 0).unwrap_or(0)));
            }
            6 | 2 | 3 => {
                index += 1;
                let (iface, caplen, at) = match btype {
                    6 => (e.u32(body, 0), e.u32(body, 12), 20),
                    2 => (e.u16(body, 0).map(u32::from), e.u32(body, 12), 20),
                    // Simple Packet Block: original length only; the data fill the block.
                    _ => (
                        Some(0),
                        e.u32(body, 0)
                            .map(|orig| orig.min(body.len().saturating_sub(4) as u32)),
                        4,
                    ),
                };
                let (Some(iface), Some(caplen)) = (iface, caplen) else {
                    return Err(bad(index, "truncated pcapng packet block".to_string()));
                };
                let Some(bytes) = body.get(at..at + caplen as usize) else {
                    return Err(bad(
                        index,
                        format!("pcapng packet block: captured length {caplen} exceeds the block"),
                    ));
                };
                let Some(&linktype) = interfaces.get(iface as usize) else {
                    return Err(bad(
                        index,
                        format!("pcapng packet block names undeclared interface {iface}"),
                    ));
                };
                f(Frame {
                    index,
                    linktype,
                    bytes,
                });
            }
            _ => {}
        }
        pos += blen;
    }
    Ok(())
}

/// What a frame holds, as far as NetFlow collection is concerned.
#[derive(Debug, PartialEq)]
pub(super) enum Datagram<'a> {
    /// A UDP datagram (or its first fragment, see `fragment`).
    Udp {
        src: SocketAddr,
        payload: &'a [u8],
        /// The IP datagram is fragmented: `payload` is only its first part.
        fragment: bool,
    },
    /// Anything else: other link types or protocols, non-first IP fragments.
    Other,
}

/// Decodes the link, IP and UDP headers of a frame. An error is a frame that claims to be
/// IP/UDP but is cut short or inconsistent.
pub(super) fn datagram<'a>(frame: &Frame<'a>) -> Result<Datagram<'a>, String> {
    let b = frame.bytes;
    let ip = match frame.linktype {
        // Ethernet, with any number (up to 4) of 802.1Q / 802.1ad tags.
        1 => {
            let mut at = 12;
            let mut tags = 0;
            loop {
                let Some(et) = be16(b, at) else {
                    return Ok(Datagram::Other);
                };
                match et {
                    0x8100 | 0x88a8 | 0x9100 if tags < 4 => {
                        at += 4;
                        tags += 1;
                    }
                    0x0800 | 0x86dd => break b.get(at + 2..),
                    _ => return Ok(Datagram::Other),
                }
            }
        }
        // Linux cooked capture v1 and v2.
        113 => match be16(b, 14) {
            Some(0x0800 | 0x86dd) => b.get(16..),
            _ => return Ok(Datagram::Other),
        },
        276 => match be16(b, 0) {
            Some(0x0800 | 0x86dd) => b.get(20..),
            _ => return Ok(Datagram::Other),
        },
        // BSD loopback: the address family in host order (NULL) or network order (LOOP).
        0 | 108 => match b.get(..4) {
            Some(fam) => {
                let le = u32::from_le_bytes([fam[0], fam[1], fam[2], fam[3]]);
                let be = u32::from_be_bytes([fam[0], fam[1], fam[2], fam[3]]);
                let ip_family = |v: u32| matches!(v, 2 | 24 | 28 | 30);
                if ip_family(le) || ip_family(be) {
                    b.get(4..)
                } else {
                    return Ok(Datagram::Other);
                }
            }
            None => return Ok(Datagram::Other),
        },
        // Raw IP (LINKTYPE_RAW, the DLT_RAW values of some systems, IPv4, IPv6).
        101 | 12 | 14 | 228 | 229 => Some(b),
        _ => return Ok(Datagram::Other),
    };
    let Some(ip) = ip else {
        return Ok(Datagram::Other);
    };
    match ip.first().map(|v| v >> 4) {
        Some(4) => ipv4(ip),
        Some(6) => ipv6(ip),
        _ => Ok(Datagram::Other),
    }
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn ipv4(ip: &[u8]) -> Result<Datagram<'_>, String> {
    let ihl = usize::from(ip.first().copied().unwrap_or(0) & 0x0f) * 4;
    if ihl < 20 || ip.len() < ihl {
        return Err(format!(
            "truncated or bad IPv4 header (header length {ihl}, {} bytes captured)",
            ip.len()
        ));
    }
    if ip.get(9) != Some(&17) {
        return Ok(Datagram::Other);
    }
    let frag = be16(ip, 6).unwrap_or(0);
    if frag & 0x1fff != 0 {
        // A later fragment: its datagram was reported at its first fragment.
        return Ok(Datagram::Other);
    }
    let total = usize::from(be16(ip, 2).unwrap_or(0));
    // Trust the captured length when the total length is absent (TSO captures write 0).
    let end = if total >= ihl {
        total.min(ip.len())
    } else {
        ip.len()
    };
    let src = Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]);
    udp(
        IpAddr::V4(src),
        ip.get(ihl..end).unwrap_or_default(),
        frag & 0x2000 != 0,
    )
}

fn ipv6(ip: &[u8]) -> Result<Datagram<'_>, String> {
    let Some(src) = ip.get(8..24) else {
        return Err(format!(
            "truncated IPv6 header ({} bytes captured)",
            ip.len()
        ));
    };
    let mut src16 = [0u8; 16];
    src16.copy_from_slice(src);
    let plen = usize::from(be16(ip, 4).unwrap_or(0));
    let end = if plen == 0 {
        ip.len()
    } else {
        (40 + plen).min(ip.len())
    };
    let mut next = ip.get(6).copied().unwrap_or(0);
    let mut at = 40;
    let mut fragment = false;
    for _ in 0..8 {
        match next {
            17 => {
                return udp(
                    IpAddr::V6(Ipv6Addr::from(src16)),
                    ip.get(at..end).unwrap_or_default(),
                    fragment,
                )
            }
            0 | 43 | 60 => {
                let Some(&len) = ip.get(at + 1) else {
                    return Err("truncated IPv6 extension header".to_string());
                };
                next = ip.get(at).copied().unwrap_or(59);
                at += (usize::from(len) + 1) * 8;
            }
            44 => {
                let Some(off) = be16(ip, at + 2) else {
                    return Err("truncated IPv6 fragment header".to_string());
                };
                if off & 0xfff8 != 0 {
                    return Ok(Datagram::Other);
                }
                fragment = off & 1 != 0;
                next = ip.get(at).copied().unwrap_or(59);
                at += 8;
            }
            _ => return Ok(Datagram::Other),
        }
    }
    Ok(Datagram::Other)
}

fn udp(src: IpAddr, seg: &[u8], fragment: bool) -> Result<Datagram<'_>, String> {
    let (Some(sport), Some(ulen)) = (be16(seg, 0), be16(seg, 4)) else {
        return Err(format!("truncated UDP header ({} bytes)", seg.len()));
    };
    let ulen = usize::from(ulen);
    let end = if ulen >= 8 && !fragment {
        ulen.min(seg.len())
    } else {
        seg.len()
    };
    Ok(Datagram::Udp {
        src: SocketAddr::new(src, sport),
        payload: seg.get(8..end).unwrap_or_default(),
        fragment,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eth_udp_v4(payload: &[u8]) -> Vec<u8> {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x81, 0x00, 0, 5, 0x08, 0x00]);
        let total = 20 + 8 + payload.len();
        f.extend_from_slice(&[
            0x45,
            0,
            (total >> 8) as u8,
            total as u8,
            0,
            0,
            0,
            0,
            64,
            17,
            0,
            0,
        ]);
        f.extend_from_slice(&[192, 0, 2, 1, 198, 51, 100, 2]);
        let ulen = 8 + payload.len();
        f.extend_from_slice(&[0x08, 0x07, 0x08, 0x07, (ulen >> 8) as u8, ulen as u8, 0, 0]);
        f.extend_from_slice(payload);
        f
    }

    #[test]
    fn ethernet_vlan_ipv4_udp() {
        let bytes = eth_udp_v4(b"hello");
        let frame = Frame {
            index: 1,
            linktype: 1,
            bytes: &bytes,
        };
        assert_eq!(
            datagram(&frame),
            Ok(Datagram::Udp {
                src: "192.0.2.1:2055".parse().expect("addr"),
                payload: b"hello",
                fragment: false
            })
        );
    }

    #[test]
    fn pcap_both_byte_orders() {
        let pkt = eth_udp_v4(b"x");
        for be in [false, true] {
            let w32 = |v: u32| if be { v.to_be_bytes() } else { v.to_le_bytes() };
            let mut file = Vec::new();
            file.extend_from_slice(&w32(PCAP_US));
            file.extend_from_slice(&[0; 16]);
            file.extend_from_slice(&w32(1));
            file.extend_from_slice(&w32(0));
            file.extend_from_slice(&w32(0));
            file.extend_from_slice(&w32(pkt.len() as u32));
            file.extend_from_slice(&w32(pkt.len() as u32));
            file.extend_from_slice(&pkt);
            let mut n = 0;
            for_each_frame(&file, &mut |f| {
                n += 1;
                assert_eq!((f.index, f.linktype, f.bytes.len()), (1, 1, pkt.len()));
            })
            .expect("walk");
            assert_eq!(n, 1);
            file.pop();
            let err = for_each_frame(&file, &mut |_| {}).expect_err("truncated");
            assert!(
                err.reason.contains("truncated pcap record"),
                "{}",
                err.reason
            );
        }
    }
}
