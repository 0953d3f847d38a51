//! Tests of the FortiGate traffic decoder: a synthetic fixture (tests/fixtures/fortigate) and
//! conformance against the shared corpus (Elastic's test log, Sekoia's single-record tests).

mod common;

use std::collections::BTreeMap;
use std::net::IpAddr;

use flowtrail_formats::flow::fortigate::{Fortigate, FortigateDecoder};
use flowtrail_formats::time::parse_rfc3339;
use flowtrail_formats::{Confidence, DecodeContext, Decoder, Format, VecSink};
use flowtrail_schema::{Action, FlowRecord};
use serde_json::Value;

fn fixture(name: &str) -> Vec<u8> {
    common::read(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/fortigate")
            .join(name),
    )
}

fn at(s: &str) -> i64 {
    parse_rfc3339(s).expect("test time")
}

fn ip(s: &str) -> Option<IpAddr> {
    Some(s.parse().expect("test address"))
}

/// Decodes `input` line by line, checking that every non-blank line is reported once, in order.
fn decode_with(input: &[u8], mut dec: FortigateDecoder) -> VecSink {
    let mut sink = VecSink::default();
    let mut want = Vec::new();
    for (i, line) in input.split(|b| *b == b'\n').enumerate() {
        if !line.iter().all(u8::is_ascii_whitespace) {
            want.push(i as u64 + 1);
        }
        dec.decode(line, i as u64 + 1, &mut sink);
    }
    dec.finish(&mut sink);
    let mut got: Vec<u64> = sink.flows.iter().map(|r| r.origin_line).collect();
    got.extend(sink.skipped.iter().map(|s| s.0));
    got.extend(sink.rejected.iter().map(|r| r.line));
    got.sort_unstable();
    assert_eq!(got, want, "every non-blank line is reported once");
    sink
}

fn decode(input: &[u8]) -> VecSink {
    decode_with(input, FortigateDecoder::new(&DecodeContext::default()))
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

#[test]
fn traffic_fixture() {
    let out = decode(&fixture("traffic.log"));
    let rows: Vec<u64> = out.flows.iter().map(|r| r.origin_line).collect();
    assert_eq!(rows, [1, 2, 3, 4, 10]);
    let skipped: Vec<(u64, &str)> = out.skipped.iter().map(|s| (s.0, s.1)).collect();
    assert_eq!(
        skipped,
        [
            (5, "fortigate: session start log (the end log carries the totals)"),
            (6, "fortigate: interim statistics log of a long session (the end log carries the totals)"),
            (7, "fortigate: not a traffic log (type is not `traffic`)"),
            (9, "fortigate: CEF rendering (only the key=value format is decoded)"),
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
            (8, "bad srcport \"99999\""),
            (12, "not a FortiGate key=value log (no `type` field)"),
        ]
    );

    let r = row(&out, 1);
    assert_eq!(
        r,
        &FlowRecord {
            time: 1_710_767_300_123_456,
            end_time: Some(1_710_767_400_123_456),
            origin_line: 1,
            src_ip: ip("10.0.0.5"),
            src_port: Some(50000),
            dst_ip: ip("203.0.113.10"),
            dst_port: Some(443),
            protocol: Some(6),
            bytes_out: Some(1000),
            bytes_in: Some(5000),
            packets_out: Some(12),
            packets_in: Some(18),
            action: Some(Action::Allowed),
            flow_state: Some("close".into()),
            rule: Some("12".into()),
            device: Some("FGT-EDGE".into()),
            user: Some("jdoe".into()),
            nat_src_ip: ip("198.51.100.7"),
            extra: r.extra.clone(),
            ..FlowRecord::default()
        }
    );
    let e = extra(r);
    assert_eq!(e["policyname"], "LAN to Internet");
    assert_eq!(e["msg"], "a \"quoted\" note, with = signs");
    assert_eq!(e["transport"], "40001");
    assert_eq!(e["devid"], "FGT60F0000000001");
    // Daemon header: the host is the device; seconds eventtime; IPv6.
    let r = row(&out, 2);
    assert_eq!(
        (r.device.as_deref(), r.src_ip, r.protocol),
        (Some("syslog01"), ip("2001:db8::5"), Some(17))
    );
    assert_eq!(
        (r.time, r.end_time),
        (at("2024-03-18T13:10:58Z"), Some(at("2024-03-18T13:11:00Z")))
    );
    // Deny without eventtime: date + time in tz -0500; first of a repeated key wins.
    let r = row(&out, 3);
    assert_eq!(
        (r.action, r.rule.as_deref(), r.nat_dst_ip),
        (Some(Action::Denied), Some("0"), ip("10.1.0.20"))
    );
    assert_eq!((r.time, r.end_time), (at("2024-03-18T18:12:00Z"), None));
    assert_eq!((r.bytes_out, r.bytes_in), (Some(60), None));
    // CSV form with ms eventtime.
    let r = row(&out, 4);
    assert_eq!(
        (r.end_time, r.user.as_deref(), r.flow_state.as_deref()),
        (
            Some(at("2024-03-18T13:13:00Z")),
            Some("a,b"),
            Some("timeout")
        )
    );
    let r = row(&out, 10);
    assert_eq!(
        (r.protocol, r.src_port, r.bytes_out),
        (Some(1), None, Some(84))
    );
}

#[test]
fn interim_and_start_logs_on_request() {
    let dec = FortigateDecoder::new(&DecodeContext::default())
        .keep_interim_logs(true)
        .keep_start_logs(true);
    let out = decode_with(&fixture("traffic.log"), dec);
    let r = row(&out, 6);
    assert_eq!(
        (r.flow_state.as_deref(), r.bytes_out, r.bytes_in),
        (Some("interim"), Some(90000), Some(900_000))
    );
    assert_eq!(extra(r)["sentdelta"], "1000");
    assert_eq!(row(&out, 5).flow_state.as_deref(), Some("start"));
}

#[test]
fn configured_offset_for_logs_without_tz() {
    let line = b"date=2024-03-18 time=13:12:00 logid=\"0000000013\" type=\"traffic\" srcip=192.0.2.50 dstip=10.1.0.20 proto=6 action=\"deny\" policyid=0";
    let ctx = DecodeContext {
        utc_offset_secs: Some(2 * 3600),
        ..DecodeContext::default()
    };
    let out = decode_with(line, FortigateDecoder::new(&ctx));
    assert_eq!(out.flows[0].time, at("2024-03-18T11:12:00Z"));
}

#[test]
fn sniffing() {
    assert_eq!(
        Fortigate.sniff(&fixture("traffic.log")),
        Confidence::Certain
    );
    assert_eq!(
        Fortigate.sniff(b"devname=\"x\" srcip=1.2.3.4"),
        Confidence::Likely
    );
    assert_eq!(Fortigate.sniff(b"%ASA-6-302013: Built"), Confidence::No);
    assert_eq!(
        flowtrail_formats::sniff(&fixture("traffic.log"), "").map(|f| f.name()),
        Some("fortigate")
    );
}

// ---------------------------------------------------------------------------------------------
// Conformance: shared corpus

type Want = BTreeMap<&'static str, String>;

fn render(r: &FlowRecord<'_>, field: &str) -> String {
    fn opt<T: ToString>(v: Option<T>) -> String {
        v.map_or_else(|| "null".to_string(), |v| v.to_string())
    }
    match field {
        "log_time" => r.end_time.unwrap_or(r.time).to_string(),
        "src_ip" => opt(r.src_ip),
        "src_port" => opt(r.src_port),
        "dst_ip" => opt(r.dst_ip),
        "dst_port" => opt(r.dst_port),
        "protocol" => opt(r.protocol),
        "bytes_out" => opt(r.bytes_out),
        "bytes_in" => opt(r.bytes_in),
        "packets_out" => opt(r.packets_out),
        "packets_in" => opt(r.packets_in),
        "action" => opt(r.action.map(Action::as_str)),
        "flow_state" => opt(r.flow_state.as_deref()),
        "user" => opt(r.user.as_deref()),
        "device" => opt(r.device.as_deref()),
        "nat_src_ip" => opt(r.nat_src_ip),
        "nat_dst_ip" => opt(r.nat_dst_ip),
        other => panic!("unknown field {other}"),
    }
}

/// Where we and Sekoia disagree and judge Sekoia wrong: (file, record, field, reason).
const PEER_DISAGREEMENTS: &[common::PeerDisagreement] = &[
    ("sekoia/test_long_lived_session.json", 0, "bytes_out", "interim log (kept on request): Sekoia puts the delta `sentdelta` in source.bytes but the cumulative `sentpkt` in source.packets; we keep both counters cumulative (the deltas are in extra)"),
    ("sekoia/test_long_lived_session.json", 0, "bytes_in", "same mix of delta bytes and cumulative packets (`rcvddelta`)"),
    ("sekoia/traffic_with_pass_and_cert.json", 0, "bytes_out", "interim log: delta bytes (`sentdelta`) next to cumulative values, as above"),
    ("sekoia/traffic_with_pass_and_cert.json", 0, "bytes_in", "interim log: delta bytes (`rcvddelta`), as above"),
    ("sekoia/traffic_with_pass_and_cert.json", 0, "packets_out", "interim log: Sekoia takes `sentpktdelta` here (and `sentpkt` in the other sample); we keep `sentpkt`"),
    ("sekoia/traffic_with_pass_and_cert.json", 0, "packets_in", "interim log: `rcvdpktdelta` instead of `rcvdpkt`, as above"),
    ("sekoia/traffic_with_pass_and_cert.json", 0, "user", "Sekoia keeps only `john.doe` of `john.doe,cn=john.doe`; we keep the user as logged"),
    ("sekoia/test_unauthuser.json", 0, "bytes_out", "interim log: delta bytes (`sentdelta`) next to cumulative packets, as above"),
    ("sekoia/test_unauthuser.json", 0, "bytes_in", "interim log: delta bytes (`rcvddelta`), as above"),
];

/// Records Sekoia keeps and we reject, with why.
const EXPECTED_REJECTIONS: &[(&str, &str, &str)] = &[
    ("sekoia/icmp6.json", "bad srcip \"00192.0.2.100:00:00:00\"", "the anonymised sample's addresses are not addresses (`00192.0.2.100:00:00:00`, `12192.0.2.116`); Sekoia keeps them as text"),
    ("sekoia/traffic_with_referrer.json", "missing srcip", "a FortiWeb log (`log_id`, `src=`, `dst=`), not FortiGate: it has no `srcip`"),
];

struct Checker {
    peer: common::PeerCheck,
    compared: usize,
}

impl Default for Checker {
    fn default() -> Self {
        Checker {
            peer: common::PeerCheck::new(PEER_DISAGREEMENTS),
            compared: 0,
        }
    }
}

impl Checker {
    fn compare(&mut self, file: &str, record: usize, r: &FlowRecord<'_>, want: &Want) {
        self.compared += 1;
        for (field, theirs) in want {
            let ours = render(r, field);
            // Sekoia rounds nanoseconds to microseconds, we truncate: allow 1 µs.
            if *field == "log_time" {
                let (a, b) = (
                    ours.parse::<i64>().unwrap_or(0),
                    theirs.parse::<i64>().unwrap_or(1),
                );
                if (a - b).abs() <= 1 {
                    continue;
                }
            }
            self.peer.field(file, record, field, &ours, theirs);
        }
    }

    fn finish(self, prefix: &str) {
        self.peer.finish(prefix);
    }
}

fn s(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[test]
fn conformance_elastic_integrations() {
    let Some(dir) = common::corpus("fortigate") else {
        return;
    };
    let input =
        common::read(&dir.join("elastic-integrations/test-fortinet-7-4-traffic-subset.log"));
    let out = decode(&input);
    eprintln!(
        "fortigate/elastic-integrations/test-fortinet-7-4-traffic-subset.log: {} rows",
        out.flows.len()
    );
    assert_eq!(
        (out.flows.len(), out.skipped.len(), out.rejected.len()),
        (5, 0, 0)
    );
    // Line 1 is Fortinet's LOG_ID_TRAFFIC_END_FORWARD example (formats.md 6.5).
    let r = row(&out, 1);
    assert_eq!(
        (r.bytes_out, r.bytes_in, r.packets_out, r.packets_in),
        (Some(1188), Some(1224), Some(17), Some(16))
    );
    assert_eq!(
        (r.end_time, r.time),
        (
            Some(1_557_513_467_369_913),
            1_557_513_467_369_913 - 116_000_000
        )
    );
    assert_eq!(
        (r.nat_src_ip, r.flow_state.as_deref(), r.rule.as_deref()),
        (ip("172.16.200.2"), Some("close"), Some("1"))
    );
    // Seconds and nanoseconds eventtime in the same file.
    assert_eq!(row(&out, 3).end_time, Some(1_554_039_772_000_000));
    // `transip=0.0.0.0` (sniffer) is no translation.
    assert_eq!(row(&out, 4).nat_src_ip, None);
    assert_eq!(row(&out, 2).action, Some(Action::Allowed), "server-rst");
}

#[test]
fn conformance_sekoia_intake_formats() {
    let Some(dir) = common::corpus("fortigate") else {
        return;
    };
    let mut checker = Checker::default();
    let mut paths: Vec<_> = std::fs::read_dir(dir.join("sekoia-intake-formats"))
        .expect("sekoia dir")
        .map(|e| e.expect("entry").path())
        .collect();
    paths.sort();
    let (mut rows, mut rejected, mut skipped) = (0, 0, 0);
    for path in paths {
        let name = format!(
            "sekoia/{}",
            path.file_name().and_then(|n| n.to_str()).expect("name")
        );
        let test: Value = serde_json::from_slice(&common::read(&path)).expect("test JSON");
        let message = test["input"]["message"].as_str().expect("message");
        // Interim logs are compared too (kept on request); Sekoia stores them.
        let dec = FortigateDecoder::new(&DecodeContext::default()).keep_interim_logs(true);
        let out = decode_with(message.as_bytes(), dec);
        if let Some((_, reason, _)) = EXPECTED_REJECTIONS.iter().find(|(f, _, _)| *f == name) {
            assert_eq!(
                out.rejected.first().map(|r| r.reason.as_str()),
                Some(*reason),
                "{name}"
            );
            rejected += 1;
            continue;
        }
        // One sample carries a second line of ticket text after the record.
        let junk_lines = out.rejected.len();
        assert!(
            junk_lines <= usize::from(name.ends_with("CEF-5.json")),
            "{name}: {:?}",
            out.rejected
        );
        let e = &test["expected"];
        let is_traffic = e["fortinet"]["fortigate"]["event"]["type"].as_str() == Some("traffic")
            && !message.contains("|Fortinet|");
        if !is_traffic {
            assert!(
                out.flows.is_empty(),
                "{name}: only key=value traffic logs become rows"
            );
            skipped += out.skipped.len();
            continue;
        }
        assert_eq!(out.flows.len(), 1, "{name}");
        rows += 1;
        let mut w = Want::new();
        w.insert(
            "log_time",
            at(e["@timestamp"].as_str().expect("@timestamp")).to_string(),
        );
        for (field, v) in [
            ("src_ip", &e["source"]["ip"]),
            ("dst_ip", &e["destination"]["ip"]),
            ("src_port", &e["source"]["port"]),
            ("dst_port", &e["destination"]["port"]),
            ("bytes_out", &e["source"]["bytes"]),
            ("bytes_in", &e["destination"]["bytes"]),
            ("packets_out", &e["source"]["packets"]),
            ("packets_in", &e["destination"]["packets"]),
            ("nat_src_ip", &e["source"]["nat"]["ip"]),
            ("nat_dst_ip", &e["destination"]["nat"]["ip"]),
        ] {
            w.insert(field, s(v).unwrap_or_else(|| "null".into()));
        }
        if let Some(d) = s(&e["observer"]["hostname"]) {
            w.insert("device", d);
        }
        let proto = match e["network"]["transport"].as_str() {
            Some("tcp") => "6",
            Some("udp") => "17",
            Some("icmp") => "1",
            other => panic!("{name}: transport {other:?}"),
        };
        w.insert("protocol", proto.to_string());
        let user = match (e["user"]["domain"].as_str(), e["user"]["name"].as_str()) {
            (Some(d), Some(n)) => format!("{d}\\{n}"),
            (None, Some(n)) => n.to_string(),
            _ => "null".to_string(),
        };
        w.insert("user", user);
        let action = e["action"]["name"].as_str().expect("action.name");
        // Kept interim logs have `flow_state` `interim`, not their action.
        if !message.contains("logid=\"0000000020\"") {
            w.insert("flow_state", action.to_string());
        }
        let outcome = e["event"]["outcome"].as_str();
        w.insert(
            "action",
            if outcome == Some("failure") {
                "denied"
            } else {
                "allowed"
            }
            .to_string(),
        );
        checker.compare(&name, 0, &out.flows[0], &w);
    }
    eprintln!("fortigate/sekoia-intake-formats: {rows} rows compared, {skipped} skipped, {rejected} rejected");
    assert_eq!((rows, rejected), (14, 2));
    checker.finish("sekoia/");
}
