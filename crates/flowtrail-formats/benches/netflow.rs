//! Benchmarks the NetFlow decoders on generated exports of about 100k flow records each:
//! v5, v9 and IPFIX raw dumps, and the IPFIX export inside a pcap capture.

#[path = "harness.rs"]
mod harness;

use flowtrail_formats::flow::netflow::{NetflowPcap, NetflowRaw};
use flowtrail_formats::{decode_all, DecodeContext, Format, VecSink};

const RECORDS: usize = 100_000;

fn be16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_be_bytes());
}
fn be32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// NetFlow v5: packets of 30 records.
fn v5_dump() -> (Vec<u8>, usize) {
    let mut out = Vec::new();
    let mut n = 0usize;
    let mut seq = 0u32;
    while n < RECORDS {
        be16(&mut out, 5);
        be16(&mut out, 30);
        be32(&mut out, 3_600_000 + n as u32);
        be32(&mut out, 1_700_000_000 + (n / 1000) as u32);
        be32(&mut out, 0);
        be32(&mut out, seq);
        out.extend_from_slice(&[0, 0, 0, 0]);
        for _ in 0..30 {
            let (a, b) = ((n >> 8) as u8, n as u8);
            out.extend_from_slice(&[10, 0, a, b, 198, 51, b, a, 0, 0, 0, 0]);
            be16(&mut out, 1);
            be16(&mut out, 2);
            be32(&mut out, (n % 50 + 1) as u32);
            be32(&mut out, (n % 9000 + 60) as u32);
            be32(&mut out, 3_500_000 + n as u32);
            be32(&mut out, 3_550_000 + n as u32);
            be16(&mut out, 40_000 + (n % 20_000) as u16);
            be16(&mut out, 443);
            out.extend_from_slice(&[0, 0x1b, 6, 0]);
            be16(&mut out, 64500);
            be16(&mut out, 64501);
            out.extend_from_slice(&[24, 16, 0, 0]);
            n += 1;
        }
        seq += 30;
    }
    (out, n)
}

/// The flow template of the v9 and IPFIX dumps: (field type, length).
const FIELDS: &[(u16, u16)] = &[
    (8, 4),
    (12, 4),
    (7, 2),
    (11, 2),
    (4, 1),
    (6, 1),
    (1, 4),
    (2, 4),
    (22, 4),
    (21, 4),
    (10, 2),
    (14, 2),
    (16, 4),
    (17, 4),
    (5, 1),
    (61, 1),
];
const IPFIX_FIELDS: &[(u16, u16)] = &[
    (8, 4),
    (12, 4),
    (7, 2),
    (11, 2),
    (4, 1),
    (6, 2),
    (1, 8),
    (2, 8),
    (152, 8),
    (153, 8),
    (10, 4),
    (14, 4),
    (16, 4),
    (17, 4),
    (5, 1),
    (61, 1),
];

fn record(out: &mut Vec<u8>, n: usize, fields: &[(u16, u16)]) {
    for &(id, len) in fields {
        let v: u64 = match id {
            8 => 0x0a00_0000 | (n as u64 & 0xffff),
            12 => 0xc633_0000 | (n as u64 & 0xffff),
            7 => 40_000 + (n as u64 % 20_000),
            11 => 443,
            4 => 6,
            1 => n as u64 % 9000 + 60,
            2 => n as u64 % 50 + 1,
            22 => 3_500_000 + n as u64,
            21 => 3_550_000 + n as u64,
            152 => 1_700_000_000_000 + n as u64,
            153 => 1_700_000_000_500 + n as u64,
            _ => n as u64 % 7,
        };
        out.extend_from_slice(&v.to_be_bytes()[8 - usize::from(len)..]);
    }
}

/// v9 (`ipfix` false) or IPFIX messages: a template in every 20th message, 30 records each.
fn templated_dump(ipfix: bool) -> (Vec<u8>, usize) {
    let fields = if ipfix { IPFIX_FIELDS } else { FIELDS };
    let mut out = Vec::new();
    let mut n = 0usize;
    let mut msg = 0u32;
    while n < RECORDS {
        let mut sets = Vec::new();
        if msg.is_multiple_of(20) {
            let mut t = Vec::new();
            be16(&mut t, 256);
            be16(&mut t, fields.len() as u16);
            for &(id, len) in fields {
                be16(&mut t, id);
                be16(&mut t, len);
            }
            be16(&mut sets, if ipfix { 2 } else { 0 });
            be16(&mut sets, 4 + t.len() as u16);
            sets.extend_from_slice(&t);
        }
        let mut d = Vec::new();
        for _ in 0..30 {
            record(&mut d, n, fields);
            n += 1;
        }
        while d.len() % 4 != 0 {
            d.push(0);
        }
        be16(&mut sets, 256);
        be16(&mut sets, 4 + d.len() as u16);
        sets.extend_from_slice(&d);
        if ipfix {
            be16(&mut out, 10);
            be16(&mut out, 16 + sets.len() as u16);
            be32(&mut out, 1_700_000_000 + msg);
            be32(&mut out, msg * 30);
            be32(&mut out, 1);
        } else {
            be16(&mut out, 9);
            be16(&mut out, 31);
            be32(&mut out, 3_600_000 + msg * 10);
            be32(&mut out, 1_700_000_000 + msg);
            be32(&mut out, msg);
            be32(&mut out, 1);
        }
        out.extend_from_slice(&sets);
        msg += 1;
    }
    (out, n)
}

/// Wraps each IPFIX message of a dump into an Ethernet/IPv4/UDP frame of a pcap file.
fn pcap_of(dump: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for v in [0xa1b2_c3d4u32, 0x0004_0002, 0, 0, 65535, 1] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    let mut pos = 0;
    while pos + 4 <= dump.len() {
        let len = usize::from(u16::from_be_bytes([dump[pos + 2], dump[pos + 3]]));
        let msg = &dump[pos..pos + len];
        let mut f = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 8, 0];
        f.extend_from_slice(&[0x45, 0]);
        be16(&mut f, (28 + len) as u16);
        f.extend_from_slice(&[0, 0, 0x40, 0, 64, 17, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2]);
        be16(&mut f, 4739);
        be16(&mut f, 4739);
        be16(&mut f, (8 + len) as u16);
        be16(&mut f, 0);
        f.extend_from_slice(msg);
        for v in [0u32, 0, f.len() as u32, f.len() as u32] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&f);
        pos += len;
    }
    out
}

fn check(format: &dyn Format, input: &[u8], records: usize) {
    let mut sink = VecSink::default();
    decode_all(format, &DecodeContext::default(), input, &mut sink);
    assert!(sink.rejected.is_empty(), "{:?}", sink.rejected.first());
    assert_eq!(sink.flows.len(), records);
}

fn main() {
    let ctx = DecodeContext::default();
    let (v5, n) = v5_dump();
    check(&NetflowRaw, &v5, n);
    harness::bench("netflow v5 dump (100k records)", &NetflowRaw, &ctx, &v5);
    let (v9, n) = templated_dump(false);
    check(&NetflowRaw, &v9, n);
    harness::bench("netflow v9 dump (100k records)", &NetflowRaw, &ctx, &v9);
    let (ipfix, n) = templated_dump(true);
    check(&NetflowRaw, &ipfix, n);
    harness::bench(
        "netflow IPFIX dump (100k records)",
        &NetflowRaw,
        &ctx,
        &ipfix,
    );
    let cap = pcap_of(&ipfix);
    check(&NetflowPcap, &cap, n);
    harness::bench(
        "netflow_pcap IPFIX capture (100k records)",
        &NetflowPcap,
        &ctx,
        &cap,
    );
}
