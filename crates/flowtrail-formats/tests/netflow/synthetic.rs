//! Synthetic packets built byte by byte (tests/netflow/build.rs): every mapping, time rule,
//! sampling form, sequence gap and failure mode, with exact expected values.

use super::build::*;
use super::*;

const EXPORT: u32 = 1_700_000_000;

fn v5_first_packet() -> Vec<u8> {
    v5(
        100_000,
        EXPORT,
        500_000_000,
        1000,
        (1, 2),
        0x4000 | 10, // mode 1, 1-in-10
        &[
            V5Rec {
                src: "10.0.0.1",
                dst: "198.51.100.7",
                input: 3,
                output: 4,
                packets: 5,
                bytes: 1000,
                first: 40_000,
                last: 99_000,
                sport: 40000,
                dport: 443,
                flags: 0x1b,
                proto: 6,
                src_as: 64500,
                ..V5Rec::default()
            },
            V5Rec {
                src: "10.0.0.2",
                dst: "198.51.100.8",
                packets: 1,
                bytes: 60,
                // The uptime counter wrapped 100 s ago; the flow began 4.096 s before that.
                first: 0xffff_f000,
                last: 500,
                proto: 17,
                ..V5Rec::default()
            },
        ],
    )
}

fn v5_later_packets() -> Vec<Vec<u8>> {
    let rec = V5Rec {
        src: "10.0.0.3",
        dst: "198.51.100.9",
        packets: 2,
        bytes: 120,
        first: 100_500,
        last: 100_900,
        proto: 6,
        ..V5Rec::default()
    };
    vec![
        // 5 flows lost between the packets: 1000 + 2 + 5.
        v5(
            101_000,
            EXPORT + 1,
            0,
            1007,
            (1, 2),
            0,
            std::slice::from_ref(&rec),
        ),
        v5(102_000, EXPORT + 2, 0, 1008, (1, 2), 0, &[rec]),
    ]
}

#[test]
fn v5_records_times_sampling_and_gaps() {
    let mut dump = v5_first_packet();
    for p in v5_later_packets() {
        dump.extend_from_slice(&p);
    }
    let out = feed(&NetflowRaw, "dumps/synthetic.dat", &[&dump]);
    assert_eq!(out.rejects(), vec![]);
    let rows = out.rows();
    assert_eq!(rows.len(), 4);
    let export_us = i64::from(EXPORT) * 1_000_000 + 500_000;
    assert_eq!(
        rows[0],
        FlowRecord {
            time: export_us - 60_000_000,
            end_time: Some(export_us - 1_000_000),
            origin_line: 1,
            src_ip: Some(ip("10.0.0.1")),
            src_port: Some(40000),
            dst_ip: Some(ip("198.51.100.7")),
            dst_port: Some(443),
            protocol: Some(6),
            bytes_out: Some(10_000),
            packets_out: Some(50),
            tcp_flags: Some(0x1b),
            extra: Some(
                r#"{"version":5,"exporter":"dumps/synthetic.dat","engine_type":1,"engine_id":2,"in_if":3,"out_if":4,"src_as":64500,"src_mask":24,"dst_mask":16,"next_hop":"192.0.2.254","sampling":10,"raw_bytes":1000,"raw_packets":5}"#
                    .into()
            ),
            ..FlowRecord::default()
        }
    );
    // Wrapped uptime: 100 000 ms of uptime since the wrap plus 4096 ms before it.
    assert_eq!(rows[1].time, export_us - 104_096_000);
    assert_eq!(rows[1].end_time, Some(export_us - 99_500_000));
    // The second packet reports the 5 lost flows once, on its first row.
    assert_eq!(rows[2].origin_line, 2);
    assert_eq!(rows[2].time, i64::from(EXPORT + 1) * 1_000_000 - 500_000);
    assert_eq!(extra(&rows[2])["seq_gap"], 5);
    assert_eq!(extra(&rows[2]).get("sampling"), None);
    assert_eq!(rows[2].bytes_out, Some(120));
    assert_eq!(rows[3].origin_line, 3);
    assert_eq!(extra(&rows[3]).get("seq_gap"), None);
}

/// The v9 messages of `v9_templates_buffering_sampling_and_asa`.
fn v9_messages() -> Vec<Vec<u8>> {
    let t256 = [
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
        (61, 1),
        (10, 2),
        (14, 2),
        (48, 1),
    ];
    let rec256 = |src: &str, dst: &str, dir: u8, bytes: u32, pkts: u32, first: u32, last: u32| {
        W::default()
            .ip(src)
            .ip(dst)
            .u16(1234)
            .u16(53)
            .u8(17)
            .u8(0)
            .u32(bytes)
            .u32(pkts)
            .u32(first)
            .u32(last)
            .u8(dir)
            .u16(5)
            .u16(6)
            .u8(3)
            .done()
    };
    // A: data before any template.
    let a = v9(
        50_000,
        EXPORT + 100,
        10,
        7,
        1,
        &[set(
            256,
            &rec256("10.1.1.1", "10.2.2.2", 0, 300, 3, 49_000, 49_500),
        )],
    );
    // B: templates, the sampler (id 3, 1-in-100) and a record of its own.
    let b = v9(
        51_000,
        EXPORT + 101,
        11,
        7,
        4,
        &[
            set(0, &v9_template(256, &t256)),
            set(
                1,
                &v9_options_template(257, &[(1, 4)], &[(48, 1), (49, 1), (50, 4)]),
            ),
            set(257, &W::default().u32(0).u8(3).u8(2).u32(100).done()),
            set(
                256,
                &rec256("10.1.1.3", "10.2.2.4", 1, 40, 1, 50_900, 50_950),
            ),
        ],
    );
    // C: two packets lost (sequence 12 and 13); Cisco ASA NSEL records.
    let t260 = [
        (8, 4),
        (12, 4),
        (7, 2),
        (11, 2),
        (4, 1),
        (40005, 1),
        (33000, 12),
        (33001, 12),
        (40000, 20),
        (40001, 4),
        (40002, 4),
        (40003, 2),
        (40004, 2),
        (152, 8),
        (323, 8),
        (231, 4),
        (232, 4),
        (148, 4),
        (33002, 2),
    ];
    let asa = |event: u8, user: &str, fwd: u32, rev: u32, ext: u16| {
        let mut name = user.as_bytes().to_vec();
        name.resize(20, 0);
        W::default()
            .ip("10.9.9.9")
            .ip("203.0.113.5")
            .u16(5555)
            .u16(443)
            .u8(6)
            .u8(event)
            .u32(0x0f8e_7ff3)
            .u32(0xfc1a_030f)
            .u32(0)
            .bytes(&[0; 12])
            .bytes(&name)
            .ip("198.51.100.9")
            .ip("203.0.113.5")
            .u16(61000)
            .u16(443)
            .u64(1_700_000_105_250)
            .u64(1_700_000_106_000)
            .u32(fwd)
            .u32(rev)
            .u32(8501)
            .u16(ext)
            .done()
    };
    let mut recs = asa(3, "alice", 0, 0, 1001);
    recs.extend(asa(2, "", 5000, 70_000, 2025));
    let c = v9(
        60_000,
        EXPORT + 110,
        14,
        7,
        3,
        &[set(0, &v9_template(260, &t260)), set(260, &recs)],
    );
    // D: IPv6 ICMP, egress.
    let t261 = [
        (27, 16),
        (28, 16),
        (7, 2),
        (11, 2),
        (4, 1),
        (1, 8),
        (2, 8),
        (22, 4),
        (21, 4),
        (61, 1),
        (139, 2),
    ];
    let rec261 = W::default()
        .ip("2001:db8::1")
        .ip("2001:db8::2")
        .u16(0)
        .u16(0)
        .u8(58)
        .u64(64)
        .u64(1)
        .u32(69_000)
        .u32(69_000)
        .u8(1)
        .u16(0x8000)
        .done();
    let d = v9(
        70_000,
        EXPORT + 120,
        15,
        7,
        2,
        &[set(0, &v9_template(261, &t261)), set(261, &rec261)],
    );
    vec![a, b, c, d]
}

#[test]
fn v9_templates_buffering_sampling_and_asa() {
    let msgs = v9_messages();
    let units: Vec<&[u8]> = msgs.iter().map(Vec::as_slice).collect();
    let out = feed(&NetflowRaw, "v9.dat", &units);
    assert_eq!(out.rejects(), vec![]);
    // Message B: its options record, its own row, then message A's buffered row, decoded with
    // the sampler B announced.
    assert_eq!(out.events[0], Ev::Skip(2, "netflow: options data record"));
    let rows = out.rows();
    assert_eq!(rows.len(), 5);
    let (b, a) = (&rows[0], &rows[1]);
    assert_eq!(a.origin_line, 1);
    assert_eq!(a.src_ip, Some(ip("10.1.1.1")));
    assert_eq!(a.time, i64::from(EXPORT + 100) * 1_000_000 - 1_000_000);
    assert_eq!(
        a.end_time,
        Some(i64::from(EXPORT + 100) * 1_000_000 - 500_000)
    );
    assert_eq!((a.bytes_out, a.packets_out), (Some(30_000), Some(300)));
    assert_eq!(a.direction, Some(Direction::Inbound));
    assert_eq!(
        a.extra.as_deref(),
        Some(
            r#"{"version":9,"exporter":"v9.dat","observation_domain":7,"template":256,"in_if":5,"out_if":6,"sampling":100,"raw_bytes":300,"raw_packets":3}"#
        )
    );
    assert_eq!(b.origin_line, 2);
    assert_eq!(
        (b.bytes_out, b.direction),
        (Some(4000), Some(Direction::Outbound))
    );
    // Message C: ASA NSEL, after two lost packets.
    let (deny, teardown) = (&rows[2], &rows[3]);
    assert_eq!(
        deny,
        &FlowRecord {
            time: 1_700_000_105_250_000,
            origin_line: 3,
            src_ip: Some(ip("10.9.9.9")),
            src_port: Some(5555),
            dst_ip: Some(ip("203.0.113.5")),
            dst_port: Some(443),
            protocol: Some(6),
            bytes_out: Some(0),
            bytes_in: Some(0),
            action: Some(Action::Denied),
            rule: Some("0f8e7ff3-fc1a030f-00000000".into()),
            user: Some("alice".into()),
            nat_src_ip: Some(ip("198.51.100.9")),
            nat_dst_ip: Some(ip("203.0.113.5")),
            extra: Some(
                r#"{"version":9,"exporter":"v9.dat","observation_domain":7,"template":260,"nat_src_port":61000,"nat_dst_port":443,"fw_event":3,"fw_ext_event":1001,"flow_id":8501,"seq_gap":2}"#
                    .into()
            ),
            ..FlowRecord::default()
        }
    );
    assert_eq!(teardown.action, Some(Action::Allowed));
    assert_eq!(
        (teardown.bytes_out, teardown.bytes_in),
        (Some(5000), Some(70_000))
    );
    assert_eq!(teardown.user, None);
    assert_eq!(extra(teardown).get("seq_gap"), None);
    // Message D: IPv6, ICMPv6 type/code, egress.
    let v6 = &rows[4];
    assert_eq!(
        (v6.src_ip, v6.dst_ip),
        (Some(ip("2001:db8::1")), Some(ip("2001:db8::2")))
    );
    assert_eq!(
        (v6.protocol, v6.direction),
        (Some(58), Some(Direction::Outbound))
    );
    assert_eq!(
        (
            extra(v6)["icmp_type"].as_u64(),
            extra(v6)["icmp_code"].as_u64()
        ),
        (Some(128), Some(0))
    );
    assert_eq!(v6.time, i64::from(EXPORT + 120) * 1_000_000 - 1_000_000);
}

/// The IPFIX messages of `ipfix_enterprise_varlen_biflow_sampling_and_withdrawal`.
fn ipfix_messages() -> Vec<Vec<u8>> {
    let t300: Vec<Spec> = vec![
        (8, 4, None),
        (12, 4, None),
        (7, 2, None),
        (11, 2, None),
        (4, 1, None),
        (1, 4, None), // reduced-size octetDeltaCount
        (2, 2, None), // reduced-size packetDeltaCount
        (152, 8, None),
        (153, 8, None),
        (100, 4, Some(9)), // an enterprise element: skipped
        (82, 65535, None), // interfaceName, variable length
        (6, 2, None),
        (302, 4, None),
    ];
    let t301: Vec<Spec> = vec![
        (8, 4, None),
        (12, 4, None),
        (7, 2, None),
        (11, 2, None),
        (4, 1, None),
        (1, 8, None),
        (2, 8, None),
        (1, 8, Some(29305)), // reverseOctetDeltaCount
        (2, 8, Some(29305)), // reversePacketDeltaCount
        (150, 4, None),
        (151, 4, None),
    ];
    let t303 = plain(&[(8, 4), (12, 4), (22, 4), (21, 4), (1, 4)]);
    let templates = [
        ipfix_template(300, &t300),
        ipfix_template(301, &t301),
        ipfix_template(303, &t303),
    ]
    .concat();
    let options = [
        ipfix_options_template(400, 1, &plain(&[(302, 4), (304, 1), (305, 4), (306, 4)])),
        ipfix_options_template(401, 1, &plain(&[(149, 4), (160, 8)])),
    ]
    .concat();
    let m1 = ipfix(
        EXPORT + 200,
        0,
        42,
        &[
            set(2, &templates),
            set(3, &options),
            // Selector 5: systematic count-based, 1 selected then 9 skipped = 1-in-10.
            set(400, &W::default().u32(5).u8(1).u32(1).u32(9).done()),
            set(401, &W::default().u32(42).u64(1_699_000_000_000).done()),
        ],
    );
    let rec300 = |src: &str, name: &[u8], long: bool, selector: u32| {
        let mut w = W::default()
            .ip(src)
            .ip("10.0.0.2")
            .u16(1000)
            .u16(80)
            .u8(6)
            .u32(1500)
            .u16(3)
            .u64(1_700_000_150_000)
            .u64(1_700_000_151_500)
            .u32(0xdead_beef);
        w = if long {
            w.u8(255).u16(name.len() as u16)
        } else {
            w.u8(name.len() as u8)
        };
        w.bytes(name).u16(0x12).u32(selector).done()
    };
    let data300 = [
        rec300("10.0.0.1", b"eth0", false, 5),
        rec300("10.0.0.3", &[b'x'; 300], true, 99),
    ]
    .concat();
    let data301 = W::default()
        .ip("10.7.0.1")
        .ip("10.7.0.2")
        .u16(5000)
        .u16(53)
        .u8(17)
        .u64(100)
        .u64(2)
        .u64(900)
        .u64(3)
        .u32(EXPORT + 190)
        .u32(EXPORT + 195)
        .done();
    let rec303 = W::default()
        .ip("10.5.5.5")
        .ip("10.6.6.6")
        .u32(1000)
        .u32(2000)
        .u32(10)
        .done();
    let m2 = ipfix(
        EXPORT + 201,
        2,
        42,
        &[set(300, &data300), set(301, &data301), set(303, &rec303)],
    );
    // Four data records lost (6..9); a set whose template never comes.
    let m3 = ipfix(
        EXPORT + 202,
        10,
        42,
        &[set(303, &rec303), set(302, &[1, 2, 3, 4, 5, 6, 7, 8])],
    );
    // Template 303 withdrawn, then used; a record whose variable-length field overruns.
    let mut bad300 = rec300("10.0.0.9", b"eth1", false, 5);
    bad300[39] = 200; // interfaceName's length prefix
    let m4 = ipfix(
        EXPORT + 203,
        11,
        42,
        &[
            set(2, &W::default().u16(303).u16(0).done()),
            set(303, &rec303),
            set(300, &bad300),
        ],
    );
    vec![m1, m2, m3, m4]
}

#[test]
fn ipfix_enterprise_varlen_biflow_sampling_and_withdrawal() {
    let msgs = ipfix_messages();
    let units: Vec<&[u8]> = msgs.iter().map(Vec::as_slice).collect();
    let out = feed(&NetflowRaw, "ipfix.dat", &units);
    assert_eq!(out.options(), 2);
    let rows = out.rows();
    assert_eq!(rows.len(), 5);
    let a = &rows[0];
    assert_eq!(
        a,
        &FlowRecord {
            time: 1_700_000_150_000_000,
            end_time: Some(1_700_000_151_500_000),
            origin_line: 2,
            src_ip: Some(ip("10.0.0.1")),
            src_port: Some(1000),
            dst_ip: Some(ip("10.0.0.2")),
            dst_port: Some(80),
            protocol: Some(6),
            bytes_out: Some(15_000),
            packets_out: Some(30),
            tcp_flags: Some(0x12),
            extra: Some(
                r#"{"version":10,"exporter":"ipfix.dat","observation_domain":42,"template":300,"sampling":10,"raw_bytes":1500,"raw_packets":3}"#
                    .into()
            ),
            ..FlowRecord::default()
        }
    );
    // The 3-byte length prefix. Selector 99 was never announced: no sampling applies (keyed
    // samplers apply only to the records naming them).
    assert_eq!(rows[1].src_ip, Some(ip("10.0.0.3")));
    assert_eq!(rows[1].bytes_out, Some(1500));
    assert_eq!(extra(&rows[1]).get("sampling"), None);
    // RFC 5103 biflow: reverse counters are the `_in` pair; times in seconds.
    let bi = &rows[2];
    assert_eq!(
        (bi.bytes_out, bi.packets_out, bi.bytes_in, bi.packets_in),
        (Some(100), Some(2), Some(900), Some(3))
    );
    assert_eq!(bi.time, i64::from(EXPORT + 190) * 1_000_000);
    assert_eq!(bi.end_time, Some(i64::from(EXPORT + 195) * 1_000_000));
    // sysUpTime-relative IPFIX times use systemInitTimeMilliseconds from the options record.
    let rel = &rows[3];
    assert_eq!(rel.time, 1_699_000_001_000_000);
    assert_eq!(rel.end_time, Some(1_699_000_002_000_000));
    assert_eq!(extra(rel).get("seq_gap"), None);
    // Message 3: four records lost since message 2 (sequence 2 + 4 records = 6, got 10).
    assert_eq!(rows[4].origin_line, 3);
    assert_eq!(extra(&rows[4])["seq_gap"], 4);
    assert_eq!(
        out.rejects(),
        vec![
            (
                4,
                "template 300: truncated data record: field type 82 at offset 40 runs past the end of the set (52 bytes)"
                    .to_string()
            ),
            (3, "no template 302 for exporter ipfix.dat (observation domain 42)".to_string()),
            (4, "no template 303 for exporter ipfix.dat (observation domain 42)".to_string()),
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// Captures

const A: &str = "192.0.2.10";
const B: &str = "192.0.2.20";

fn v9_pair_template(order_src_first: bool) -> Vec<u8> {
    let fields: &[(u16, u16)] = if order_src_first {
        &[(8, 4), (12, 4), (1, 4)]
    } else {
        &[(12, 4), (8, 4), (2, 4)]
    };
    set(0, &v9_template(256, fields))
}

/// The frames of the synthetic capture (see tests/fixtures/netflow/README.md).
fn capture_frames() -> Vec<Vec<u8>> {
    let v6_ipfix = ipfix(
        EXPORT + 300,
        0,
        1,
        &[
            set(
                2,
                &ipfix_template(
                    256,
                    &plain(&[
                        (27, 16),
                        (28, 16),
                        (7, 2),
                        (11, 2),
                        (4, 1),
                        (1, 8),
                        (2, 8),
                        (152, 8),
                    ]),
                ),
            ),
            set(
                256,
                &W::default()
                    .ip("2001:db8:1::5")
                    .ip("2001:db8:2::6")
                    .u16(33000)
                    .u16(443)
                    .u8(6)
                    .u64(4242)
                    .u64(7)
                    .u64(1_700_000_299_000)
                    .done(),
            ),
        ],
    );
    let dns = W::default().u16(0x1234).u16(0x8400).u16(0).u16(1).done();
    let mut truncated_v5 = v5_first_packet();
    truncated_v5.truncate(24 + 48);
    let pair = |src: &str, dst: &str, n: u32| W::default().ip(src).ip(dst).u32(n).done();
    vec![
        // 1: v5 from A over a VLAN.
        eth_ipv4_udp(
            A,
            2055,
            "198.51.100.1",
            2055,
            &v5_first_packet(),
            true,
            false,
        ),
        // 2: ARP: not IP, not reported.
        eth_arp(),
        // 3: IPFIX over IPv6.
        eth_ipv6_udp("2001:db8::10", 4739, "2001:db8::1", 4739, &v6_ipfix),
        // 4: mDNS from A: UDP but not NetFlow.
        eth_ipv4_udp(A, 5353, "224.0.0.251", 5353, &dns, false, false),
        // 5: the first fragment of a fragmented export datagram.
        eth_ipv4_udp(
            A,
            2055,
            "198.51.100.1",
            2055,
            &v5_first_packet(),
            false,
            true,
        ),
        // 6, 7, 8: A and B both use source id 0 and template 256, with different layouts.
        eth_ipv4_udp(
            A,
            2055,
            "198.51.100.1",
            2055,
            &v9(1000, EXPORT, 1, 0, 1, &[v9_pair_template(true)]),
            false,
            false,
        ),
        eth_ipv4_udp(
            B,
            2055,
            "198.51.100.1",
            2055,
            &v9(
                1000,
                EXPORT,
                1,
                0,
                2,
                &[
                    v9_pair_template(false),
                    set(256, &pair("10.20.0.2", "10.20.0.1", 9)),
                ],
            ),
            false,
            false,
        ),
        eth_ipv4_udp(
            A,
            2055,
            "198.51.100.1",
            2055,
            &v9(
                2000,
                EXPORT + 1,
                2,
                0,
                1,
                &[set(256, &pair("10.10.0.1", "10.10.0.2", 777))],
            ),
            false,
            false,
        ),
        // 9: a v5 packet cut after its first record.
        eth_ipv4_udp(A, 2055, "198.51.100.1", 2055, &truncated_v5, false, false),
    ]
}

fn check_capture(out: &Ordered, device_v4: &str) {
    let rows = out.rows();
    assert_eq!(rows.len(), 5, "{:?}", out.events);
    assert_eq!((rows[0].origin_line, rows[1].origin_line), (1, 1));
    assert_eq!(rows[0].device.as_deref(), Some(device_v4));
    assert_eq!(extra(&rows[0])["exporter"], format!("{device_v4}:2055"));
    let v6 = &rows[2];
    assert_eq!(v6.origin_line, 3);
    assert_eq!(v6.device.as_deref(), Some("2001:db8::10"));
    assert_eq!(extra(v6)["exporter"], "[2001:db8::10]:4739");
    assert_eq!(
        (v6.src_ip, v6.bytes_out, v6.packets_out),
        (Some(ip("2001:db8:1::5")), Some(4242), Some(7))
    );
    // Each exporter's template 256 decodes its own records.
    let b = &rows[3];
    assert_eq!((b.origin_line, b.device.as_deref()), (7, Some(B)));
    assert_eq!(
        (b.src_ip, b.dst_ip, b.packets_out, b.bytes_out),
        (Some(ip("10.20.0.1")), Some(ip("10.20.0.2")), Some(9), None)
    );
    let a = &rows[4];
    assert_eq!((a.origin_line, a.device.as_deref()), (8, Some(device_v4)));
    assert_eq!(
        (a.src_ip, a.dst_ip, a.bytes_out, a.packets_out),
        (
            Some(ip("10.10.0.1")),
            Some(ip("10.10.0.2")),
            Some(777),
            None
        )
    );
    assert_eq!(
        out.inner.skipped,
        vec![(4, "netflow: UDP payload is not NetFlow v5/v9 or IPFIX")]
    );
    assert_eq!(
        out.rejects(),
        vec![
            (5, format!("fragmented UDP datagram from {device_v4}:2055 (IP reassembly is not supported)")),
            (9, "truncated NetFlow v5 packet: 2 records need 120 bytes, 72 present".to_string()),
        ]
    );
}

#[test]
fn pcap_exporters_links_and_failures() {
    let file = pcap(1, &capture_frames());
    let out = feed(&NetflowPcap, "synthetic.pcap", &[&file]);
    check_capture(&out, A);
    // The same frames in a pcapng file (EPBs and a final SPB).
    let file = pcapng(1, &capture_frames());
    let out = feed(&NetflowPcap, "synthetic.pcapng", &[&file]);
    check_capture(&out, A);
}

#[test]
fn pcap_other_link_types_and_truncation() {
    let payload = v5_first_packet();
    // Linux cooked capture.
    let file = pcap(
        113,
        &[sll_ipv4_udp(A, 9995, "198.51.100.1", 2055, &payload)],
    );
    let out = feed(&NetflowPcap, "", &[&file]);
    assert_eq!(out.rows().len(), 2);
    assert_eq!(extra(&out.rows()[0])["exporter"], format!("{A}:9995"));
    // Raw IPv4 (LINKTYPE_RAW).
    let file = pcap(
        101,
        &[ipv4_udp(B, 2055, "198.51.100.1", 2055, &payload, false)],
    );
    let out = feed(&NetflowPcap, "", &[&file]);
    assert_eq!(out.rows().len(), 2);
    assert_eq!(out.rows()[0].device.as_deref(), Some(B));
    // A capture cut inside its second packet: the first decodes, the second is one rejection.
    let frames = vec![
        eth_ipv4_udp(A, 2055, "198.51.100.1", 2055, &payload, false, false),
        eth_ipv4_udp(A, 2055, "198.51.100.1", 2055, &payload, false, false),
    ];
    let mut file = pcap(1, &frames);
    file.truncate(file.len() - 10);
    let out = feed(&NetflowPcap, "", &[&file]);
    assert_eq!(out.rows().len(), 2);
    assert_eq!(
        out.rejects(),
        vec![(
            2,
            "truncated pcap record: 162 bytes announced, 152 present".to_string()
        )]
    );
    // Not a capture at all.
    let out = feed(&NetflowPcap, "", &[b"hello"]);
    assert_eq!(
        out.rejects(),
        vec![(
            1,
            "not a pcap or pcapng capture (unknown magic number)".to_string()
        )]
    );
}

/// A raw dump: v5, v9 (template and data), 4 bytes of zero padding, IPFIX, then garbage.
fn raw_dump() -> Vec<u8> {
    let mut dump = v5_first_packet();
    dump.extend(v9(
        1000,
        EXPORT,
        1,
        0,
        2,
        &[
            v9_pair_template(true),
            set(
                256,
                &W::default().ip("10.3.0.1").ip("10.3.0.2").u32(64).done(),
            ),
        ],
    ));
    dump.extend([0, 0, 0, 0]);
    dump.extend(ipfix_messages().remove(0));
    dump.extend(b"\x01\x02junk");
    dump
}

#[test]
fn raw_dump_message_boundaries() {
    let out = feed(&NetflowRaw, "dump.dat", &[&raw_dump()]);
    let lines: Vec<u64> = out.rows().iter().map(|r| r.origin_line).collect();
    assert_eq!(lines, vec![1, 1, 2]);
    assert_eq!(out.rows()[2].bytes_out, Some(64));
    assert_eq!(out.options(), 2);
    assert!(out.inner.skipped.iter().all(|s| s.0 == 3));
    assert_eq!(
        out.rejects(),
        vec![(
            4,
            "6 bytes after the last NetFlow/IPFIX message are not a message".to_string()
        )]
    );
    // Garbage from the start is one rejection.
    let out = feed(&NetflowRaw, "", &[b"\x00\x07abcdefgh"]);
    assert_eq!(
        out.rejects(),
        vec![(1, "not a NetFlow/IPFIX message: version 7".to_string())]
    );
    // Malformed headers and sets.
    let out = feed(&NetflowRaw, "", &[&v5_first_packet()[..20]]);
    assert_eq!(
        out.rejects(),
        vec![(
            1,
            "truncated NetFlow v5 header (20 bytes, 24 needed)".to_string()
        )]
    );
    let mut bad = ipfix(EXPORT, 0, 1, &[set(256, &[0; 8])]);
    bad[19] = 200; // set length beyond the message
    let out = feed(&NetflowRaw, "", &[&bad]);
    assert_eq!(
        out.rejects(),
        vec![(
            1,
            "IPFIX set 256 at offset 16: length 200 overruns the message (28 bytes)".to_string()
        )]
    );
    let out = feed(&NetflowRaw, "", &[&v9(1, 2, 3, 4, 1, &[set(7, &[0; 4])])]);
    assert_eq!(
        out.rejects(),
        vec![(1, "bad NetFlow v9 flowset id 7 at offset 20".to_string())]
    );
}

#[test]
fn sniffing() {
    let cap = pcap(1, &capture_frames());
    assert_eq!(NetflowPcap.sniff(&cap), Confidence::Certain);
    assert_eq!(
        NetflowPcap.sniff(&pcapng(1, &capture_frames())),
        Confidence::Certain
    );
    let dns_first = pcap(1, &capture_frames()[3..4]);
    assert_eq!(NetflowPcap.sniff(&dns_first), Confidence::Likely);
    assert_eq!(NetflowPcap.sniff(&raw_dump()), Confidence::No);
    assert_eq!(NetflowRaw.sniff(&raw_dump()), Confidence::Likely);
    assert_eq!(NetflowRaw.sniff(&v9_messages()[1]), Confidence::Likely);
    assert_eq!(NetflowRaw.sniff(&ipfix_messages()[0]), Confidence::Likely);
    assert_eq!(NetflowRaw.sniff(&cap), Confidence::No);
    assert_eq!(NetflowRaw.sniff(b"{\"records\":[]}"), Confidence::No);
    assert_eq!(
        NetflowRaw.sniff(b"2 123456789012 eni-1 10.0.0.1"),
        Confidence::No
    );
    let by_content = |b: &[u8]| flowtrail_formats::sniff(b, "").map(|f| f.name());
    assert_eq!(by_content(&cap), Some("netflow_pcap"));
    assert_eq!(by_content(&raw_dump()), Some("netflow"));
}

// ---------------------------------------------------------------------------------------------
// Fixtures and robustness

/// The fixture files, rebuilt from the builders; `FLOWTRAIL_BLESS=1` rewrites them.
fn fixtures() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("synthetic_exporters.pcap", pcap(1, &capture_frames())),
        ("synthetic_exporters.pcapng", pcapng(1, &capture_frames())),
        ("synthetic_dump.dat", raw_dump()),
        ("synthetic_v9.dat", v9_messages().concat()),
        ("synthetic_ipfix.dat", ipfix_messages().concat()),
    ]
}

#[test]
fn fixtures_are_current() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/netflow");
    for (name, bytes) in fixtures() {
        let path = dir.join(name);
        if std::env::var_os("FLOWTRAIL_BLESS").is_some() {
            std::fs::write(&path, &bytes).expect("write fixture");
        }
        assert_eq!(
            common::read(&path),
            bytes,
            "{name} is stale: rerun with FLOWTRAIL_BLESS=1"
        );
    }
    // The dumps decode as their parts did.
    let out = feed(
        &NetflowRaw,
        "",
        &[&common::read(&dir.join("synthetic_v9.dat"))],
    );
    assert_eq!(
        (out.rows().len(), out.options(), out.rejects().len()),
        (5, 1, 0)
    );
    let out = feed(
        &NetflowRaw,
        "",
        &[&common::read(&dir.join("synthetic_ipfix.dat"))],
    );
    assert_eq!(
        (out.rows().len(), out.options(), out.rejects().len()),
        (5, 2, 3)
    );
}

#[test]
fn every_prefix_and_byte_flip_is_safe() {
    for (name, bytes) in fixtures() {
        for format in [&NetflowPcap as &dyn Format, &NetflowRaw] {
            for cut in 0..bytes.len() {
                let mut sink = VecSink::default();
                decode_all(format, &DecodeContext::default(), &bytes[..cut], &mut sink);
                assert!(
                    sink.rejected
                        .iter()
                        .all(|r| r.line >= 1 && !r.reason.is_empty()),
                    "{name}"
                );
            }
            for i in (0..bytes.len()).step_by(3) {
                let mut m = bytes.clone();
                m[i] ^= 0xa5;
                let mut sink = VecSink::default();
                decode_all(format, &DecodeContext::default(), &m, &mut sink);
            }
        }
    }
}

#[test]
fn pending_sets_are_capped() {
    // 10 001 data sets for a template that never comes: the last is rejected at once, the
    // others at the end, each once.
    let mut dump = Vec::new();
    for seq in 0..10_001u32 {
        dump.extend(ipfix(EXPORT, seq, 1, &[set(999, &[0; 4])]));
    }
    let out = feed(&NetflowRaw, "cap.dat", &[&dump]);
    let rejects = out.rejects();
    assert_eq!(rejects.len(), 10_001);
    assert_eq!(rejects[0].0, 10_001);
    assert!(
        rejects[0].1.ends_with("buffer of undecoded sets full"),
        "{}",
        rejects[0].1
    );
    assert_eq!(
        rejects[1],
        (
            1,
            "no template 999 for exporter cap.dat (observation domain 1)".to_string()
        )
    );
}

// ---------------------------------------------------------------------------------------------
// Real exporter: softflowd

/// softflowd's export of the synthetic traffic of testdata/netflow/make_traffic.py, captured
/// on the loopback interface by testdata/netflow/make-captures.sh.
#[test]
fn softflowd_captures() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/netflow");
    // (src, sport, dst, dport, proto, packets_out, bytes_out, packets_in, bytes_in, start µs
    // after 2024-01-01T00:00:00Z, end µs after it)
    type Flow = (
        &'static str,
        Option<u16>,
        &'static str,
        Option<u16>,
        u8,
        u64,
        u64,
        Option<u64>,
        Option<u64>,
        i64,
        i64,
    );
    let tcp_out: Flow = (
        "192.0.2.1",
        Some(40001),
        "198.51.100.10",
        Some(443),
        6,
        5,
        380,
        None,
        None,
        0,
        800_000,
    );
    let tcp_back: Flow = (
        "198.51.100.10",
        Some(443),
        "192.0.2.1",
        Some(40001),
        6,
        4,
        760,
        None,
        None,
        0,
        800_000,
    );
    let udp: Flow = (
        "192.0.2.2",
        Some(5353),
        "198.51.100.53",
        Some(53),
        17,
        3,
        180,
        None,
        None,
        900_000,
        1_100_000,
    );
    let icmp: Flow = (
        "192.0.2.3",
        None,
        "198.51.100.1",
        None,
        1,
        2,
        120,
        None,
        None,
        1_200_000,
        1_300_000,
    );
    let v6: Flow = (
        "2001:db8::1",
        Some(1000),
        "2001:db8::2",
        Some(2000),
        17,
        2,
        296,
        None,
        None,
        1_400_000,
        1_500_000,
    );
    let bi = |f: Flow, pin: u64, bin: u64| -> Flow {
        (
            f.0,
            f.1,
            f.2,
            f.3,
            f.4,
            f.5,
            f.6,
            Some(pin),
            Some(bin),
            f.9,
            f.10,
        )
    };
    // Sampled 1-in-2 over all packets: softflowd keeps packets 1, 3, 5, ... of the capture (all
    // five of the outgoing TCP flow, none of its replies, one of each other flow), and the rows
    // are scaled back by the announced interval.
    let sampled = [
        (
            "192.0.2.1",
            Some(40001),
            "198.51.100.10",
            Some(443),
            6,
            10,
            760,
            None,
            None,
            0,
            800_000,
        ),
        (
            "192.0.2.2",
            Some(5353),
            "198.51.100.53",
            Some(53),
            17,
            2,
            120,
            None,
            None,
            1_000_000,
            1_000_000,
        ),
        (
            "192.0.2.3",
            None,
            "198.51.100.1",
            None,
            1,
            2,
            120,
            None,
            None,
            1_200_000,
            1_200_000,
        ),
        (
            "2001:db8::1",
            Some(1000),
            "2001:db8::2",
            Some(2000),
            17,
            2,
            296,
            None,
            None,
            1_400_000,
            1_400_000,
        ),
    ];
    let icmp_v5 = (
        "192.0.2.3",
        Some(0),
        "198.51.100.1",
        Some(2048),
        1,
        2,
        120,
        None,
        None,
        1_200_000,
        1_300_000,
    );
    let cases: [(&str, Vec<Flow>, usize, i64); 5] = [
        ("v5", vec![tcp_out, tcp_back, udp, icmp_v5], 0, 0),
        // The v9 header has whole seconds only: times may be up to 1 s early.
        ("v9", vec![tcp_out, tcp_back, udp, icmp, v6], 1, 1_000_000),
        ("ipfix", vec![tcp_out, tcp_back, udp, icmp, v6], 1, 0),
        (
            "ipfix-biflow",
            vec![
                bi(tcp_out, 4, 760),
                bi(udp, 0, 0),
                bi(icmp, 0, 0),
                bi(v6, 0, 0),
            ],
            1,
            0,
        ),
        ("ipfix-sampled", sampled.to_vec(), 1, 0),
    ];
    let base = 1_704_067_200_000_000i64;
    for (name, mut want, options, tolerance) in cases {
        let path = dir.join(format!("softflowd-{name}.pcap"));
        let Ok(file) = std::fs::read(&path) else {
            eprintln!("SKIPPED: {} is absent", path.display());
            return;
        };
        assert_eq!(NetflowPcap.sniff(&file), Confidence::Certain);
        let out = feed(&NetflowPcap, "", &[&file]);
        assert_eq!(out.rejects(), vec![], "{name}");
        assert_eq!(out.options(), options, "{name}");
        let mut got: Vec<Flow> = Vec::new();
        for r in out.rows() {
            assert_eq!(r.device.as_deref(), Some("127.0.0.1"), "{name}");
            let (mut start, mut end) = (r.time - base, r.end_time.expect("end") - base);
            let w = want
                .iter()
                .find(|w| ip(w.0) == r.src_ip.expect("src") && Some(w.4) == r.protocol);
            if let Some(w) = w {
                // Snap to the expected time when within the tolerance.
                if (w.9 - start).abs() <= tolerance && (w.10 - end).abs() <= tolerance {
                    (start, end) = (w.9, w.10);
                }
            }
            let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
            got.push((
                leak(r.src_ip.expect("src").to_string()),
                r.src_port,
                leak(r.dst_ip.expect("dst").to_string()),
                r.dst_port,
                r.protocol.expect("proto"),
                r.packets_out.expect("packets"),
                r.bytes_out.expect("bytes"),
                r.packets_in,
                r.bytes_in,
                start,
                end,
            ));
            if r.protocol == Some(6) && r.src_port == Some(40001) {
                assert_eq!(r.tcp_flags, Some(0x1b), "{name}: SYN|FIN|PSH|ACK");
            }
        }
        got.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
        want.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
        assert_eq!(got, want, "{name}");
        eprintln!("softflowd {name}: {} rows", got.len());
    }
}
