//! Builders of synthetic export packets and capture files, byte by byte.
#![allow(dead_code)]

/// A big-endian byte writer.
#[derive(Default, Clone)]
pub struct W(pub Vec<u8>);

impl W {
    pub fn u8(mut self, v: u8) -> W {
        self.0.push(v);
        self
    }
    pub fn u16(mut self, v: u16) -> W {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub fn u32(mut self, v: u32) -> W {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub fn u64(mut self, v: u64) -> W {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub fn ip(mut self, s: &str) -> W {
        match s.parse::<std::net::IpAddr>().expect("test address") {
            std::net::IpAddr::V4(a) => self.0.extend_from_slice(&a.octets()),
            std::net::IpAddr::V6(a) => self.0.extend_from_slice(&a.octets()),
        }
        self
    }
    pub fn bytes(mut self, b: &[u8]) -> W {
        self.0.extend_from_slice(b);
        self
    }
    pub fn done(self) -> Vec<u8> {
        self.0
    }
}

// ---------------------------------------------------------------------------------------------
// NetFlow v5

/// One v5 record; `Default` is an all-zero record.
#[derive(Clone, Default)]
pub struct V5Rec {
    pub src: &'static str,
    pub dst: &'static str,
    pub input: u16,
    pub output: u16,
    pub packets: u32,
    pub bytes: u32,
    pub first: u32,
    pub last: u32,
    pub sport: u16,
    pub dport: u16,
    pub flags: u8,
    pub proto: u8,
    pub tos: u8,
    pub src_as: u16,
    pub dst_as: u16,
}

/// A v5 packet: header fields as named in Cisco's layout, then the records.
pub fn v5(
    uptime: u32,
    secs: u32,
    nsecs: u32,
    seq: u32,
    engine: (u8, u8),
    sampling: u16,
    recs: &[V5Rec],
) -> Vec<u8> {
    let mut w = W::default()
        .u16(5)
        .u16(recs.len() as u16)
        .u32(uptime)
        .u32(secs)
        .u32(nsecs)
        .u32(seq)
        .u8(engine.0)
        .u8(engine.1)
        .u16(sampling);
    for r in recs {
        w = w
            .ip(if r.src.is_empty() { "0.0.0.0" } else { r.src })
            .ip(if r.dst.is_empty() { "0.0.0.0" } else { r.dst })
            .ip("192.0.2.254")
            .u16(r.input)
            .u16(r.output)
            .u32(r.packets)
            .u32(r.bytes)
            .u32(r.first)
            .u32(r.last)
            .u16(r.sport)
            .u16(r.dport)
            .u8(0)
            .u8(r.flags)
            .u8(r.proto)
            .u8(r.tos)
            .u16(r.src_as)
            .u16(r.dst_as)
            .u8(24)
            .u8(16)
            .u16(0);
    }
    w.done()
}

// ---------------------------------------------------------------------------------------------
// NetFlow v9 and IPFIX

/// A flowset / set: id, length, body, zero padding to a multiple of 4.
pub fn set(id: u16, body: &[u8]) -> Vec<u8> {
    let pad = (4 - body.len() % 4) % 4;
    W::default()
        .u16(id)
        .u16((4 + body.len() + pad) as u16)
        .bytes(body)
        .bytes(&vec![0; pad])
        .done()
}

/// A v9 packet; `count` is the header's record count.
pub fn v9(
    uptime: u32,
    secs: u32,
    seq: u32,
    source_id: u32,
    count: u16,
    sets: &[Vec<u8>],
) -> Vec<u8> {
    let mut w = W::default()
        .u16(9)
        .u16(count)
        .u32(uptime)
        .u32(secs)
        .u32(seq)
        .u32(source_id);
    for s in sets {
        w = w.bytes(s);
    }
    w.done()
}

/// A v9 template record.
pub fn v9_template(tid: u16, fields: &[(u16, u16)]) -> Vec<u8> {
    let mut w = W::default().u16(tid).u16(fields.len() as u16);
    for (id, len) in fields {
        w = w.u16(*id).u16(*len);
    }
    w.done()
}

/// A v9 options template record (scope and option lengths in bytes).
pub fn v9_options_template(tid: u16, scope: &[(u16, u16)], opts: &[(u16, u16)]) -> Vec<u8> {
    let mut w = W::default()
        .u16(tid)
        .u16(4 * scope.len() as u16)
        .u16(4 * opts.len() as u16);
    for (id, len) in scope.iter().chain(opts) {
        w = w.u16(*id).u16(*len);
    }
    w.done()
}

/// An IPFIX message around `sets`.
pub fn ipfix(secs: u32, seq: u32, domain: u32, sets: &[Vec<u8>]) -> Vec<u8> {
    let len: usize = 16 + sets.iter().map(Vec::len).sum::<usize>();
    let mut w = W::default()
        .u16(10)
        .u16(len as u16)
        .u32(secs)
        .u32(seq)
        .u32(domain);
    for s in sets {
        w = w.bytes(s);
    }
    w.done()
}

/// An IPFIX field specifier: (IE id, length, enterprise number).
pub type Spec = (u16, u16, Option<u32>);

fn specs(mut w: W, fields: &[Spec]) -> W {
    for (id, len, pen) in fields {
        match pen {
            Some(pen) => w = w.u16(id | 0x8000).u16(*len).u32(*pen),
            None => w = w.u16(*id).u16(*len),
        }
    }
    w
}

/// An IPFIX template record.
pub fn ipfix_template(tid: u16, fields: &[Spec]) -> Vec<u8> {
    specs(W::default().u16(tid).u16(fields.len() as u16), fields).done()
}

/// An IPFIX options template record: the first `scope` fields are scope fields.
pub fn ipfix_options_template(tid: u16, scope: u16, fields: &[Spec]) -> Vec<u8> {
    specs(
        W::default().u16(tid).u16(fields.len() as u16).u16(scope),
        fields,
    )
    .done()
}

/// Plain IPFIX field specifiers (no enterprise number).
pub fn plain(fields: &[(u16, u16)]) -> Vec<Spec> {
    fields.iter().map(|(id, len)| (*id, *len, None)).collect()
}

// ---------------------------------------------------------------------------------------------
// Link, IP, UDP and capture files

/// Ethernet (optionally 802.1Q-tagged) + IPv4 + UDP around `payload`. `frag`: set the
/// more-fragments flag.
pub fn eth_ipv4_udp(
    src: &str,
    sport: u16,
    dst: &str,
    dport: u16,
    payload: &[u8],
    vlan: bool,
    frag: bool,
) -> Vec<u8> {
    let mut w = W::default()
        .bytes(&[0x02, 0, 0, 0, 0, 2])
        .bytes(&[0x02, 0, 0, 0, 0, 1]);
    if vlan {
        w = w.u16(0x8100).u16(10);
    }
    w.u16(0x0800)
        .bytes(&ipv4_udp(src, sport, dst, dport, payload, frag))
        .done()
}

/// IPv4 + UDP (checksums left zero, as allowed for UDP over IPv4).
pub fn ipv4_udp(
    src: &str,
    sport: u16,
    dst: &str,
    dport: u16,
    payload: &[u8],
    frag: bool,
) -> Vec<u8> {
    W::default()
        .u8(0x45)
        .u8(0)
        .u16((28 + payload.len()) as u16)
        .u16(0x1234)
        .u16(if frag { 0x2000 } else { 0x4000 })
        .u8(64)
        .u8(17)
        .u16(0)
        .ip(src)
        .ip(dst)
        .u16(sport)
        .u16(dport)
        .u16((8 + payload.len()) as u16)
        .u16(0)
        .bytes(payload)
        .done()
}

/// Ethernet + IPv6 + UDP around `payload`.
pub fn eth_ipv6_udp(src: &str, sport: u16, dst: &str, dport: u16, payload: &[u8]) -> Vec<u8> {
    W::default()
        .bytes(&[0x02, 0, 0, 0, 0, 2])
        .bytes(&[0x02, 0, 0, 0, 0, 1])
        .u16(0x86dd)
        .u32(0x6000_0000)
        .u16((8 + payload.len()) as u16)
        .u8(17)
        .u8(64)
        .ip(src)
        .ip(dst)
        .u16(sport)
        .u16(dport)
        .u16((8 + payload.len()) as u16)
        .u16(0)
        .bytes(payload)
        .done()
}

/// Linux cooked capture (SLL) + IPv4 + UDP.
pub fn sll_ipv4_udp(src: &str, sport: u16, dst: &str, dport: u16, payload: &[u8]) -> Vec<u8> {
    W::default()
        .u16(0) // packet type: to us
        .u16(1) // ARPHRD_ETHER
        .u16(6)
        .bytes(&[0x02, 0, 0, 0, 0, 2, 0, 0])
        .u16(0x0800)
        .bytes(&ipv4_udp(src, sport, dst, dport, payload, false))
        .done()
}

/// An ARP request frame (not IP: ignored by the decoder).
pub fn eth_arp() -> Vec<u8> {
    W::default()
        .bytes(&[0xff; 6])
        .bytes(&[0x02, 0, 0, 0, 0, 2])
        .u16(0x0806)
        .bytes(&[0, 1, 8, 0, 6, 4, 0, 1])
        .bytes(&[0; 20])
        .done()
}

/// A classic little-endian microsecond pcap file.
pub fn pcap(linktype: u32, frames: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    for v in [0u32, 0, 65535, linktype] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    for (i, f) in frames.iter().enumerate() {
        for v in [1_700_000_000 + i as u32, 0, f.len() as u32, f.len() as u32] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(f);
    }
    out
}

fn ng_block(out: &mut Vec<u8>, btype: u32, body: &[u8]) {
    let pad = (4 - body.len() % 4) % 4;
    let len = (12 + body.len() + pad) as u32;
    out.extend_from_slice(&btype.to_be_bytes());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(body);
    out.extend_from_slice(&vec![0; pad]);
    out.extend_from_slice(&len.to_be_bytes());
}

/// A big-endian pcapng file: one interface of `linktype`; frames as Enhanced Packet Blocks,
/// except the last, written as a Simple Packet Block.
pub fn pcapng(linktype: u16, frames: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    let shb = W::default()
        .u32(0x1a2b_3c4d)
        .u16(1)
        .u16(0)
        .u64(u64::MAX)
        .done();
    ng_block(&mut out, 0x0a0d_0d0a, &shb);
    let idb = W::default().u16(linktype).u16(0).u32(65535).done();
    ng_block(&mut out, 1, &idb);
    // A name resolution block, which readers skip.
    ng_block(&mut out, 4, &[0, 0, 0, 0]);
    for (i, f) in frames.iter().enumerate() {
        if i + 1 == frames.len() {
            let spb = W::default().u32(f.len() as u32).bytes(f).done();
            ng_block(&mut out, 3, &spb);
        } else {
            let epb = W::default()
                .u32(0)
                .u32(0)
                .u32(i as u32)
                .u32(f.len() as u32)
                .u32(f.len() as u32)
                .bytes(f)
                .done();
            ng_block(&mut out, 6, &epb);
        }
    }
    out
}
