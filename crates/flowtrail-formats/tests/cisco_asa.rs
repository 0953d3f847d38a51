//! Tests of the Cisco ASA/FTD decoder: synthetic fixtures (tests/fixtures/cisco_asa) and
//! conformance against the shared corpus (Elastic's test logs with their expected outputs, and
//! Sekoia's single-message tests).
//!
//! Accounting under pairing: a built line is reported when its teardown arrives (`skip`, the
//! row going to the teardown's line) or at the end (an open row on its own line), so every
//! non-blank line is reported exactly once, though not in line order. [`reported_once`] checks
//! that for every input.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use flowtrail_formats::flow::cisco_asa::{CiscoAsa, CiscoAsaDecoder};
use flowtrail_formats::time::parse_rfc3339;
use flowtrail_formats::{decode_all, DecodeContext, Decoder, Format, VecSink};
use flowtrail_schema::{Action, Direction, FlowRecord};
use serde_json::Value;

// ---------------------------------------------------------------------------------------------
// Helpers

fn fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/cisco_asa")
        .join(name);
    common::read(&path)
}

/// µs of a UTC RFC 3339 time.
fn at(s: &str) -> i64 {
    parse_rfc3339(s).expect("test time")
}

fn ctx_ref(reference: &str) -> DecodeContext {
    DecodeContext {
        reference_time: Some(at(reference)),
        ..DecodeContext::default()
    }
}

fn decode_with(ctx: &DecodeContext, input: &[u8]) -> VecSink {
    let mut sink = VecSink::default();
    decode_all(&CiscoAsa, ctx, input, &mut sink);
    reported_once(input, &sink);
    sink
}

fn decode(input: &[u8]) -> VecSink {
    decode_with(&ctx_ref("2024-03-19T00:00:00Z"), input)
}

/// Checks the accounting: every non-blank line is reported exactly once (row, skip or reject).
fn reported_once(input: &[u8], sink: &VecSink) {
    let mut want = BTreeSet::new();
    for (i, line) in input.split(|b| *b == b'\n').enumerate() {
        if !line.iter().all(u8::is_ascii_whitespace) {
            want.insert(i as u64 + 1);
        }
    }
    let mut got: Vec<u64> = sink.flows.iter().map(|r| r.origin_line).collect();
    got.extend(sink.skipped.iter().map(|s| s.0));
    got.extend(sink.rejected.iter().map(|r| r.line));
    got.sort_unstable();
    let unique: BTreeSet<u64> = got.iter().copied().collect();
    assert_eq!(got.len(), unique.len(), "a line reported twice: {got:?}");
    assert_eq!(unique, want, "every non-blank line is reported once");
}

fn ip(s: &str) -> Option<IpAddr> {
    Some(s.parse().expect("test address"))
}

fn row(sink: &VecSink, line: u64) -> &FlowRecord<'static> {
    sink.flows
        .iter()
        .find(|r| r.origin_line == line)
        .unwrap_or_else(|| panic!("no row for line {line}: {:?}", sink.rejected))
}

fn extra(r: &FlowRecord<'_>) -> Value {
    r.extra
        .as_deref()
        .map(|e| serde_json::from_str(e).expect("extra is JSON"))
        .unwrap_or(Value::Null)
}

// ---------------------------------------------------------------------------------------------
// Fixtures

#[test]
fn built_and_teardown_pair_into_one_row() {
    let out = decode(&fixture("connections.log"));
    assert!(out.rejected.is_empty(), "{:?}", out.rejected);
    // 12 lines: 5 pairs (10 lines) + 1 unpaired teardown + 1 open build = 7 rows, 5 skips.
    assert_eq!(out.flows.len(), 7);
    let skips: Vec<u64> = out.skipped.iter().map(|s| s.0).collect();
    assert_eq!(skips, [3, 1, 2, 8, 11]);
    assert!(out
        .skipped
        .iter()
        .all(|s| s.1 == "cisco_asa: built message paired into its teardown flow"));

    // Outbound TCP with source NAT: the initiator is the second (inside) endpoint.
    let r = row(&out, 5);
    assert_eq!(
        r,
        &FlowRecord {
            time: at("2024-03-18T13:00:00Z"),
            end_time: Some(at("2024-03-18T13:00:30Z")),
            origin_line: 5,
            src_ip: ip("10.0.0.5"),
            src_port: Some(50000),
            dst_ip: ip("203.0.113.10"),
            dst_port: Some(443),
            protocol: Some(6),
            bytes_out: Some(5120),
            action: Some(Action::Allowed),
            direction: Some(Direction::Outbound),
            flow_state: Some("TCP FINs".into()),
            device: Some("asa-fw-01".into()),
            nat_src_ip: ip("198.51.100.7"),
            extra: Some(
                r#"{"msg_id":"302014","conn_id":"101","src_interface":"inside","dst_interface":"outside","teardown_initiator":"inside","nat_src_port":40001}"#
                    .into()
            ),
            ..FlowRecord::default()
        }
    );
    // Inbound to a NATed server: dst is the real address, nat_dst the public one; the user.
    let r = row(&out, 6);
    assert_eq!(
        (r.src_ip, r.dst_ip, r.nat_dst_ip),
        (ip("192.0.2.50"), ip("10.1.0.20"), ip("198.51.100.20"))
    );
    assert_eq!(r.direction, Some(Direction::Inbound));
    assert_eq!(r.user.as_deref(), Some("LOCAL\\jdoe"));
    assert_eq!(
        r.flow_state.as_deref(),
        Some("TCP Reset-O"),
        "spaces around `-` removed"
    );
    assert_eq!(
        (r.time, r.end_time),
        (at("2024-03-18T13:00:01Z"), Some(at("2024-03-18T13:01:01Z")))
    );
    // UDP: no reason → closed.
    let r = row(&out, 4);
    assert_eq!(
        (r.protocol, r.bytes_out, r.flow_state.as_deref()),
        (Some(17), Some(312), Some("closed"))
    );
    assert_eq!(r.src_ip, ip("10.0.0.5"));
    // A teardown whose build predates the input: message order, no direction, start from duration.
    let r = row(&out, 7);
    assert_eq!(
        (r.src_ip, r.dst_ip, r.direction),
        (ip("203.0.113.99"), ip("10.0.0.9"), None)
    );
    assert_eq!(r.time, at("2024-03-18T12:02:00Z"));
    assert_eq!(r.bytes_out, Some(1_000_000));
    // ICMP pair (year-less header: year from the reference time).
    let r = row(&out, 9);
    assert_eq!(
        (r.src_ip, r.dst_ip, r.nat_dst_ip, r.protocol),
        (
            ip("203.0.113.20"),
            ip("10.1.0.30"),
            ip("198.51.100.10"),
            Some(1)
        )
    );
    assert_eq!(
        (r.time, r.end_time),
        (at("2024-03-18T13:03:00Z"), Some(at("2024-03-18T13:03:02Z")))
    );
    assert_eq!(extra(r)["icmp_id"], 28416);
    assert_eq!(extra(r)["icmp_type"], 8);
    // The build never torn down: an open row on its own line, emitted by finish.
    let r = row(&out, 10);
    assert_eq!(r.flow_state.as_deref(), Some("open"));
    assert_eq!(
        (r.src_ip, r.dst_ip, r.dst_port),
        (ip("2001:db8::1"), ip("2001:db8::fe"), Some(22))
    );
    assert_eq!((r.bytes_out, r.end_time), (None, None));
    assert_eq!(extra(r)["dst_interface"], "NP Identity Ifc");
    // A host name instead of an address stays in extra.
    let r = row(&out, 12);
    assert_eq!((r.src_ip, r.dst_ip), (ip("10.0.0.7"), None));
    assert_eq!(extra(r)["dst_host"], "mailhost");
    assert_eq!(r.device.as_deref(), Some("syslog-relay"));
}

#[test]
fn denies_and_acl_hits() {
    let out = decode(&fixture("denies.log"));
    assert!(out.rejected.is_empty(), "{:?}", out.rejected);
    assert_eq!(out.flows.len(), 13);
    let r = row(&out, 1);
    assert_eq!(
        (r.action, r.direction, r.protocol, r.tcp_flags),
        (
            Some(Action::Denied),
            Some(Direction::Inbound),
            Some(6),
            Some(2)
        )
    );
    assert_eq!(extra(r)["interface"], "outside");
    assert_eq!(
        (row(&out, 2).protocol, row(&out, 2).dst_port),
        (Some(17), Some(137))
    );
    assert_eq!(row(&out, 3).src_port, Some(53));
    let r = row(&out, 4);
    assert_eq!(
        (r.direction, r.protocol, r.src_port),
        (Some(Direction::Outbound), Some(1), None)
    );
    assert_eq!(
        (extra(r)["icmp_type"].clone(), extra(r)["icmp_code"].clone()),
        (8.into(), 0.into())
    );
    assert_eq!(row(&out, 5).tcp_flags, Some(1 | 8 | 16));
    let r = row(&out, 6);
    assert_eq!(
        (r.rule.as_deref(), r.dst_port),
        (Some("outside_in"), Some(3389))
    );
    assert_eq!(extra(r)["dst_name"], "rdp.example.com");
    assert_eq!(
        (row(&out, 7).protocol, row(&out, 7).src_port),
        (Some(47), None)
    );
    assert_eq!(
        (row(&out, 8).protocol, row(&out, 8).rule.as_deref()),
        (Some(58), Some("outside_in6"))
    );
    let r = row(&out, 9);
    assert_eq!(
        (r.action, r.rule.as_deref()),
        (Some(Action::Allowed), Some("inside_out"))
    );
    let r = row(&out, 10);
    assert_eq!(
        (r.action, extra(r)["hit_count"].clone()),
        (Some(Action::Denied), 21.into())
    );
    let r = row(&out, 11);
    assert_eq!(
        (r.dst_port, extra(r)["dst_service"].clone()),
        (None, "ssh".into())
    );
    assert_eq!(extra(row(&out, 12))["repeat"], 3);
    // EMBLEM class tag and a zone abbreviation: EDT is UTC-4.
    let r = row(&out, 13);
    assert_eq!(
        (r.time, r.device.as_deref()),
        (at("2014-04-15T13:34:34Z"), None)
    );
}

#[test]
fn odd_lines_are_skipped_or_rejected_with_reasons() {
    let out = decode(&fixture("odd.log"));
    let skipped: Vec<(u64, &str)> = out.skipped.iter().map(|s| (s.0, s.1)).collect();
    assert_eq!(
        skipped,
        [
            (1, "cisco_asa: message id without flow data"),
            (2, "cisco_asa: line without an %ASA-/%FTD- message tag"),
        ]
    );
    let rejected: Vec<(u64, &str)> = out
        .rejected
        .iter()
        .map(|r| (r.line, r.reason.as_str()))
        .collect();
    assert_eq!(
        rejected,
        [
            (4, "bad second address \"10.0.0.300\""),
            (5, "bad second port \"70000\""),
            (6, "no timestamp: the line has no syslog header time"),
            (7, "bad duration \"0:99:30\""),
        ]
    );
    assert_eq!(out.flows.len(), 1);
    assert!(out.rejected.iter().all(|r| !r.raw.is_empty()));
}

#[test]
fn missing_year_needs_a_reference() {
    let line = b"Mar 18 13:03:00 fw %ASA-2-106006: Deny inbound UDP from 192.0.2.2/137 to 198.51.100.5/137 on interface outside\n";
    let out = decode_with(&DecodeContext::default(), line);
    assert_eq!(out.rejected.len(), 1);
    assert!(out.rejected[0]
        .reason
        .starts_with("syslog timestamp has no year"));
    // An earlier line with a year serves as the reference.
    let mut two = b"Mar 17 2023 10:00:00 fw %ASA-2-106006: Deny inbound UDP from 192.0.2.2/137 to 198.51.100.5/137 on interface outside\n".to_vec();
    two.extend_from_slice(line);
    let out = decode_with(&DecodeContext::default(), &two);
    assert_eq!(out.flows.len(), 2);
    assert_eq!(out.flows[1].time, at("2023-03-18T13:03:00Z"));
    // A configured offset applies to local header times.
    let ctx = DecodeContext {
        utc_offset_secs: Some(3600),
        reference_time: Some(at("2024-03-19T00:00:00Z")),
        ..DecodeContext::default()
    };
    let out = decode_with(&ctx, line);
    assert_eq!(out.flows[0].time, at("2024-03-18T12:03:00Z"));
}

#[test]
fn pending_builds_are_capped_and_replaced() {
    let build = |id: u32, sec: u32| {
        format!("Mar 18 2024 13:00:{sec:02} fw : %ASA-6-302013: Built outbound TCP connection {id} for outside:203.0.113.10/443 (203.0.113.10/443) to inside:10.0.0.5/{} (10.0.0.5/{})\n", 50000 + id, 50000 + id)
    };
    let input = [build(1, 0), build(2, 1), build(3, 2), build(2, 3)].concat();
    let ctx = DecodeContext::default();
    let mut dec = CiscoAsaDecoder::new(&ctx).with_pending_cap(2);
    let mut sink = VecSink::default();
    for (i, line) in input.lines().enumerate() {
        dec.decode(line.as_bytes(), i as u64 + 1, &mut sink);
        if i == 2 {
            // The third build pushed the first out as an open row.
            let lines: Vec<u64> = sink.flows.iter().map(|r| r.origin_line).collect();
            assert_eq!(lines, [1]);
        }
    }
    // Connection 2 built again: its first build is released as open.
    let lines: Vec<u64> = sink.flows.iter().map(|r| r.origin_line).collect();
    assert_eq!(lines, [1, 2]);
    dec.finish(&mut sink);
    let lines: Vec<u64> = sink.flows.iter().map(|r| r.origin_line).collect();
    assert_eq!(lines, [1, 2, 3, 4]);
    assert!(sink
        .flows
        .iter()
        .all(|r| r.flow_state.as_deref() == Some("open")));
}

#[test]
fn sniffing() {
    use flowtrail_formats::Confidence;
    assert_eq!(
        CiscoAsa.sniff(&fixture("connections.log")),
        Confidence::Certain
    );
    assert_eq!(
        CiscoAsa.sniff(b"<34>:%ASA-session-6-106100: x"),
        Confidence::Certain
    );
    assert_eq!(CiscoAsa.sniff(b"100% ASA-like text"), Confidence::No);
    assert_eq!(
        flowtrail_formats::sniff(&fixture("denies.log"), "").map(|f| f.name()),
        Some("cisco_asa")
    );
}

// ---------------------------------------------------------------------------------------------
// Conformance: shared corpus

/// A row as the peer has it: field → rendered value (`null` = absent). Unlisted fields are not
/// compared.
type Want = BTreeMap<&'static str, String>;

fn render(r: &FlowRecord<'_>, field: &str) -> String {
    fn opt<T: ToString>(v: Option<T>) -> String {
        v.map_or_else(|| "null".to_string(), |v| v.to_string())
    }
    match field {
        "time" => r.time.to_string(),
        "src_ip" => opt(r.src_ip),
        "src_port" => opt(r.src_port),
        "dst_ip" => opt(r.dst_ip),
        "dst_port" => opt(r.dst_port),
        "protocol" => opt(r.protocol),
        "bytes_out" => opt(r.bytes_out),
        "action" => opt(r.action.map(Action::as_str)),
        "direction" => opt(r.direction.map(Direction::as_str)),
        "rule" => opt(r.rule.as_deref()),
        "user" => opt(r.user.as_deref()),
        "device" => opt(r.device.as_deref()),
        "nat_src_ip" => opt(r.nat_src_ip),
        "nat_dst_ip" => opt(r.nat_dst_ip),
        "interface" => match &extra(r)["interface"] {
            Value::String(s) => s.clone(),
            _ => "null".to_string(),
        },
        other => panic!("unknown field {other}"),
    }
}

/// Where we and a peer disagree and judge the peer wrong (or following a convention we do not
/// share): (corpus file, 0-based record, field, reason). Every entry must still be hit.
const PEER_DISAGREEMENTS: &[common::PeerDisagreement] = &[
    ("sekoia/test_ASA_302013_2.json", 0, "user", "Sekoia splits `EXAMPLE\\john.doe@example.org` into user `john.doe` and host `example.org`; we keep the identity-firewall user as logged"),
    ("sekoia/test_ASA_302020.json", 0, "src_port", "Sekoia reads the ICMP id after `faddr` as a source port; ICMP has no ports (the id is `icmp_id` in extra)"),
    ("sekoia/test_ASA_302020.json", 0, "dst_port", "Sekoia reads the number after `laddr` as a destination port; ICMP has no ports"),
    ("sekoia/test_ASA_302020_2.json", 0, "src_port", "ICMP id read as a port (see test_ASA_302020)"),
    ("sekoia/test_ASA_302020_2.json", 0, "dst_port", "ICMP number read as a port (see test_ASA_302020)"),
    ("sekoia/test_ASA_302021.json", 0, "src_port", "ICMP id read as a port (see test_ASA_302020)"),
    ("sekoia/test_ASA_302021.json", 0, "dst_port", "ICMP number read as a port (see test_ASA_302020)"),
    ("sekoia/test_ASA_302021_2.json", 0, "src_port", "ICMP id read as a port (see test_ASA_302020)"),
    ("sekoia/test_ASA_302021_2.json", 0, "dst_port", "ICMP number read as a port (see test_ASA_302020)"),
    ("sekoia/test_ASA_302021_3.json", 0, "src_port", "ICMP id read as a port (see test_ASA_302020)"),
    ("sekoia/test_ASA_302021_3.json", 0, "dst_port", "ICMP number read as a port (see test_ASA_302020)"),
    ("sekoia/test_ASA_302021_4.json", 0, "src_port", "ICMP id read as a port (see test_ASA_302020)"),
    ("sekoia/test_ASA_302021_4.json", 0, "dst_port", "ICMP number read as a port (see test_ASA_302020)"),
    ("sekoia/test_ASA_302021.json", 0, "user", "Sekoia drops the `(admin)` identity after laddr; we keep it as the user"),
];

fn s(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Elastic's files: (file, reference time the test run used for year-less headers, rows, skips,
/// rejects). Elastic's expected files were generated in 2026 and its ASA tests run in UTC.
const ELASTIC_FILES: &[(&str, &str, usize, usize, usize)] = &[
    ("test-302020-direction.log", "2026-09-01T00:00:00Z", 3, 0, 0),
    ("test-repeat-deny.log", "2026-09-01T00:00:00Z", 1, 0, 0),
    // 59 lines: 23 rows (10 builds left open), 35 skipped ids, 1 reject (`1192.168.2.2`).
    (
        "test-additional-messages-subset.log",
        "2026-09-01T00:00:00Z",
        23,
        35,
        1,
    ),
    // 11 lines: one UDP pair, 4 unpaired teardowns, 1 open build, 1 deny = 7 rows; 3 NAT ids + 1 paired build skipped.
    ("test-asa-subset.log", "2026-09-01T00:00:00Z", 7, 4, 0),
    // 21 lines: 4 open builds, 2 ICMP pairs, 4 denies = 10 rows; 7 other ids, 2 paired, 2 untagged.
    ("test-non-canonical.log", "2026-09-01T00:00:00Z", 10, 11, 0),
];

#[test]
fn conformance_elastic_integrations() {
    let Some(dir) = common::corpus("cisco-asa") else {
        return;
    };
    let mut checker = common::PeerCheck::new(PEER_DISAGREEMENTS);
    for (file, reference, rows, skips, rejects) in ELASTIC_FILES {
        let path = dir.join("elastic-integrations").join(file);
        let input = common::read(&path);
        let out = decode_with(&ctx_ref(reference), &input);
        eprintln!(
            "cisco-asa/elastic-integrations/{file}: {} rows, {} skipped, {} rejected",
            out.flows.len(),
            out.skipped.len(),
            out.rejected.len()
        );
        assert_eq!(
            (out.flows.len(), out.skipped.len(), out.rejected.len()),
            (*rows, *skips, *rejects),
            "{file}: {:?}",
            out.rejected
        );
        let expected_path = path.with_file_name(format!("{file}-expected.json"));
        if !expected_path.exists() {
            continue;
        }
        let expected: Value =
            serde_json::from_slice(&common::read(&expected_path)).expect("expected JSON");
        for (i, doc) in expected["expected"]
            .as_array()
            .expect("expected[]")
            .iter()
            .enumerate()
        {
            let line = i as u64 + 1;
            let r = row(&out, line);
            let mut w = Want::new();
            w.insert(
                "time",
                at(doc["@timestamp"].as_str().expect("@timestamp")).to_string(),
            );
            w.insert("src_ip", s(&doc["source"]["ip"]).expect("source.ip"));
            w.insert(
                "dst_ip",
                s(&doc["destination"]["ip"]).expect("destination.ip"),
            );
            w.insert(
                "src_port",
                s(&doc["source"]["port"]).unwrap_or_else(|| "null".into()),
            );
            w.insert(
                "dst_port",
                s(&doc["destination"]["port"]).unwrap_or_else(|| "null".into()),
            );
            w.insert(
                "nat_src_ip",
                s(&doc["source"]["nat"]["ip"]).unwrap_or_else(|| "null".into()),
            );
            w.insert(
                "nat_dst_ip",
                s(&doc["destination"]["nat"]["ip"]).unwrap_or_else(|| "null".into()),
            );
            w.insert(
                "direction",
                s(&doc["network"]["direction"]).expect("direction"),
            );
            w.insert(
                "device",
                s(&doc["observer"]["hostname"]).expect("observer.hostname"),
            );
            w.insert(
                "action",
                match doc["event"]["outcome"].as_str() {
                    Some("failure") => "denied",
                    _ => "allowed",
                }
                .to_string(),
            );
            if let Some(ifc) = s(&doc["observer"]["ingress"]["interface"]["name"]) {
                w.insert("interface", ifc);
            }
            if let Some(n) = s(&doc["network"]["iana_number"]) {
                w.insert("protocol", n);
            }
            checker.want(&format!("elastic/{file}"), i, &w, |f| render(r, f));
        }
    }
    checker.finish("elastic/");
}

/// What each Sekoia test should become: a row (`true`) or a skip (`false`).
const SEKOIA_TESTS: &[(&str, bool)] = &[
    ("test_106001.json", true),
    ("test_106006.json", true),
    ("test_430002.json", false),
    ("test_430003.json", false),
    ("test_430005.json", false),
    ("test_ASA_106012.json", false),
    ("test_ASA_106015.json", true),
    ("test_ASA_106023.json", true),
    ("test_ASA_106100.json", true),
    ("test_ASA_110003.json", false),
    ("test_ASA_302013_1.json", true),
    ("test_ASA_302013_2.json", true),
    ("test_ASA_302014.json", true),
    ("test_ASA_302020.json", true),
    ("test_ASA_302020_2.json", true),
    ("test_ASA_302021.json", true),
    ("test_ASA_302021_2.json", true),
    ("test_ASA_302021_3.json", true),
    ("test_ASA_302021_4.json", true),
    ("test_ASA_305011.json", false),
    ("test_ASA_305012.json", false),
    ("test_ASA_313005.json", false),
    ("test_ASA_313008.json", false),
    ("test_ASA_609002.json", false),
    ("test_ASA_852001.json", false),
    ("test_FTD_430002_1.json", false),
    ("test_FTD_430003_1.json", false),
    ("test_FTD_430003_2.json", false),
    ("test_FTD_430003_3.json", false),
];

#[test]
fn conformance_sekoia_intake_formats() {
    let Some(dir) = common::corpus("cisco-asa") else {
        return;
    };
    let mut checker = common::PeerCheck::new(PEER_DISAGREEMENTS);
    let mut files: Vec<String> = std::fs::read_dir(dir.join("sekoia-intake-formats"))
        .expect("sekoia dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let listed: Vec<&str> = SEKOIA_TESTS.iter().map(|(f, _)| *f).collect();
    assert_eq!(files, listed, "every Sekoia test is listed");
    for (file, is_row) in SEKOIA_TESTS {
        let test: Value =
            serde_json::from_slice(&common::read(&dir.join("sekoia-intake-formats").join(file)))
                .expect("test JSON");
        // Sekoia's messages carry no syslog header (Sekoia stamps them on receipt): give them one.
        let message = test["input"]["message"].as_str().expect("message");
        let line = format!("Jan  1 2024 00:00:00 sekoia-test : {message}\n");
        let out = decode_with(&DecodeContext::default(), line.as_bytes());
        assert!(out.rejected.is_empty(), "{file}: {:?}", out.rejected);
        if !is_row {
            assert_eq!(out.skipped.len(), 1, "{file}");
            continue;
        }
        assert_eq!(out.flows.len(), 1, "{file}");
        let e = &test["expected"];
        let mut w = Want::new();
        w.insert("src_ip", s(&e["source"]["ip"]).expect("source.ip"));
        w.insert(
            "dst_ip",
            s(&e["destination"]["ip"]).expect("destination.ip"),
        );
        w.insert(
            "src_port",
            s(&e["source"]["port"]).unwrap_or_else(|| "null".into()),
        );
        w.insert(
            "dst_port",
            s(&e["destination"]["port"]).unwrap_or_else(|| "null".into()),
        );
        let proto = match e["network"]["transport"].as_str() {
            Some("tcp") => "6",
            Some("udp") => "17",
            Some("icmp") => "1",
            other => panic!("{file}: transport {other:?}"),
        };
        w.insert("protocol", proto.to_string());
        if let Some(d) = e["network"]["direction"].as_str() {
            w.insert("direction", d.to_ascii_lowercase());
        }
        if let Some(b) = s(&e["network"]["bytes"]) {
            w.insert("bytes_out", b);
        }
        let code = e["event"]["code"].as_str().expect("code");
        if matches!(code, "106023" | "106100") {
            w.insert("rule", s(&e["event"]["reason"]).expect("reason"));
        }
        let action = e["action"]["name"].as_str().unwrap_or_default();
        if matches!(action, "deny" | "denied") {
            w.insert("action", "denied".to_string());
        } else if matches!(action, "permitted" | "built" | "teardown") {
            w.insert("action", "allowed".to_string());
        }
        let user = match (e["user"]["domain"].as_str(), e["user"]["name"].as_str()) {
            (Some(d), Some(n)) => format!("{d}\\{n}"),
            (None, Some(n)) => n.to_string(),
            _ => "null".to_string(),
        };
        w.insert("user", user);
        checker.want(&format!("sekoia/{file}"), 0, &w, |f| {
            render(&out.flows[0], f)
        });
    }
    eprintln!(
        "cisco-asa/sekoia-intake-formats: {} rows compared",
        checker.compared
    );
    checker.finish("sekoia/");
}
