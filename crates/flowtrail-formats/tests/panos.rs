//! Tests of the PAN-OS TRAFFIC decoder: a synthetic fixture (tests/fixtures/panos) and
//! conformance against the shared corpus (Elastic's test logs, Sekoia's single-record tests).

mod common;

use std::collections::BTreeMap;
use std::net::IpAddr;

use flowtrail_formats::flow::panos::{PanOs, PanOsDecoder};
use flowtrail_formats::time::parse_rfc3339;
use flowtrail_formats::{Confidence, DecodeContext, Decoder, Format, VecSink};
use flowtrail_schema::{Action, FlowRecord};
use serde_json::Value;

fn fixture(name: &str) -> Vec<u8> {
    common::read(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/panos")
            .join(name),
    )
}

fn at(s: &str) -> i64 {
    parse_rfc3339(s).expect("test time")
}

fn ip(s: &str) -> Option<IpAddr> {
    Some(s.parse().expect("test address"))
}

/// Decodes `input` line by line (start logs kept when asked), checking that every non-blank
/// line is reported exactly once, in order.
fn decode_opts(input: &[u8], ctx: &DecodeContext, keep_start: bool) -> VecSink {
    let mut dec = PanOsDecoder::new(ctx).keep_start_logs(keep_start);
    let mut sink = VecSink::default();
    let mut want = Vec::new();
    for (i, line) in input.split(|b| *b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
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
    decode_opts(input, &DecodeContext::default(), false)
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
    assert_eq!(rows, [1, 3, 4, 5, 10]);
    let skipped: Vec<(u64, &str)> = out.skipped.iter().map(|s| (s.0, s.1)).collect();
    assert_eq!(
        skipped,
        [
            (
                2,
                "panos: session start log (the end log carries the totals)"
            ),
            (6, "panos: THREAT log (not a flow record)"),
            (7, "panos: log type other than TRAFFIC"),
            (
                11,
                "panos: CEF rendering (only the CSV syslog format is decoded)"
            ),
            (
                12,
                "panos: JSON rendering (only the CSV syslog format is decoded)"
            ),
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
            (8, "truncated TRAFFIC log: 9 columns (at least 31 needed)"),
            (9, "bad destination port \"70000\""),
            (
                13,
                "not a PAN-OS CSV log (column 4 is not a log type such as TRAFFIC)"
            ),
        ]
    );

    // 10.x record: the high-resolution timestamp's +02:00 applies to the local columns.
    let r = row(&out, 1);
    assert_eq!(
        (r.time, r.end_time),
        (
            at("2024-03-18T11:08:20Z"),
            Some(at("2024-03-18T11:10:00.250Z"))
        )
    );
    assert_eq!(r.rule.as_deref(), Some("allow web, dns"));
    assert_eq!(r.user.as_deref(), Some("corp\\jdoe"));
    assert_eq!(
        (r.src_ip, r.src_port, r.dst_ip, r.dst_port),
        (ip("10.0.0.5"), Some(50000), ip("203.0.113.10"), Some(443))
    );
    assert_eq!(
        (r.nat_src_ip, r.nat_dst_ip),
        (ip("198.51.100.7"), ip("203.0.113.10"))
    );
    assert_eq!(
        (r.bytes_out, r.bytes_in, r.packets_out, r.packets_in),
        (Some(1000), Some(5000), Some(12), Some(18))
    );
    assert_eq!(
        (r.protocol, r.action, r.flow_state.as_deref()),
        (Some(6), Some(Action::Allowed), Some("tcp-fin"))
    );
    assert_eq!(r.device.as_deref(), Some("PA-3220"));
    let e = extra(r);
    assert_eq!(e["serial"], "015351000012345");
    assert_eq!(e["session_id"], "4242");
    assert_eq!(e["nat_src_port"], 40001);
    assert_eq!(e["src_zone"], "trust");
    assert_eq!(e["app"], "ssl");
    assert_eq!(e["rule_uuid"], "11111111-2222-3333-4444-555555555555");
    // IPv6 ICMP session: protocol 58, no NAT.
    let r = row(&out, 3);
    assert_eq!(
        (r.protocol, r.nat_src_ip, r.user.as_deref()),
        (Some(58), None, None)
    );
    assert_eq!(r.time, at("2024-03-18T13:08:20Z"), "UTC without an offset");
    // deny subtype, reset-both; 0.0.0.0 NAT columns mean none.
    let r = row(&out, 4);
    assert_eq!(
        (r.action, r.flow_state.as_deref(), r.nat_src_ip),
        (Some(Action::Denied), Some("policy-deny"), None)
    );
    assert_eq!(extra(r)["action"], "reset-both");
    // drop subtype: denied even though the action column says allow.
    assert_eq!(row(&out, 5).action, Some(Action::Denied));
    // RFC 5424 header, M/D/YY dates, device from the header.
    let r = row(&out, 10);
    assert_eq!(
        (r.time, r.end_time),
        (at("2024-03-18T13:17:00Z"), Some(at("2024-03-18T13:18:00Z")))
    );
    assert_eq!(r.device.as_deref(), Some("PA-VM"));
}

#[test]
fn start_logs_kept_on_request_and_local_offset() {
    let ctx = DecodeContext {
        utc_offset_secs: Some(-5 * 3600),
        ..DecodeContext::default()
    };
    let out = decode_opts(&fixture("traffic.log"), &ctx, true);
    let r = row(&out, 2);
    assert_eq!((r.end_time, r.flow_state.as_deref()), (None, Some("start")));
    assert_eq!(r.time, at("2024-03-18T18:08:20Z"));
    // The record with its own offset ignores the configured one.
    assert_eq!(row(&out, 1).end_time, Some(at("2024-03-18T11:10:00.250Z")));
}

#[test]
fn sniffing() {
    assert_eq!(PanOs.sniff(&fixture("traffic.log")), Confidence::Certain);
    assert_eq!(
        PanOs.sniff(b"Mar 18 13:14:00 PA 1,2024/03/18 13:14:00,0153,THREAT,url,2561"),
        Confidence::Likely
    );
    assert_eq!(PanOs.sniff(b"a,b,c,TRAFFIC,end"), Confidence::No);
    assert_eq!(
        flowtrail_formats::sniff(&fixture("traffic.log"), "").map(|f| f.name()),
        Some("panos")
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
        "time" => r.end_time.unwrap_or(r.time).to_string(),
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
        "rule" => opt(r.rule.as_deref()),
        "user" => opt(r.user.as_deref()),
        "device" => opt(r.device.as_deref()),
        "nat_src_ip" => opt(r.nat_src_ip),
        "nat_dst_ip" => opt(r.nat_dst_ip),
        other => panic!("unknown field {other}"),
    }
}

/// Where we and a peer disagree and judge the peer wrong: (file, record, field, reason).
///
/// Empty: on the CSV TRAFFIC records, Sekoia and we agree on every compared field once two
/// conventions are applied to its values (`0.0.0.0` NAT = none; user = `domain\name`). The one
/// record we refuse is in [`EXPECTED_REJECTIONS`].
const PEER_DISAGREEMENTS: &[common::PeerDisagreement] = &[];

/// Records a peer keeps and we reject, with why.
const EXPECTED_REJECTIONS: &[(&str, &str, &str)] = &[(
    "sekoia/udp_deny_csv.json",
    "bad source port \"130000\"",
    "the synthetic record's source port 130000 is out of range; Sekoia stores it as is",
)];

fn s(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[test]
fn conformance_elastic_integrations() {
    let Some(dir) = common::corpus("panos") else {
        return;
    };
    let dir = dir.join("elastic-integrations");
    // The traffic subset (no expected file in the corpus): 11 records, one a `start` log.
    let input = common::read(&dir.join("test-panw-panos-traffic-sample-subset.log"));
    let out = decode(&input);
    eprintln!(
        "panos/elastic-integrations/test-panw-panos-traffic-sample-subset.log: {} rows, {} skipped",
        out.flows.len(),
        out.skipped.len()
    );
    assert_eq!(
        (out.flows.len(), out.skipped.len(), out.rejected.len()),
        (10, 1, 0)
    );
    assert_eq!(out.skipped[0].0, 6);
    // Line 1 is the record formats.md quotes: 7734 bytes = 1758 sent + 5976 received, 36
    // packets = 16 + 20, 586 s from 15:59:04 to 16:09:07 (the log's own clock; UTC assumed).
    let r = row(&out, 1);
    assert_eq!(
        (r.bytes_out, r.bytes_in, r.packets_out, r.packets_in),
        (Some(1758), Some(5976), Some(16), Some(20))
    );
    assert_eq!(
        (r.time, r.end_time),
        (at("2018-11-30T15:59:04Z"), Some(at("2018-11-30T16:09:07Z")))
    );
    assert_eq!(
        (r.nat_src_ip, r.device.as_deref(), r.rule.as_deref()),
        (
            ip("192.168.1.63"),
            Some("PA-220"),
            Some("new_outbound_from_trust")
        )
    );
    // Elastic's synthetic `drop`/`deny` subtypes carry action `allow`: the subtype wins.
    assert_eq!(
        (row(&out, 7).action, row(&out, 8).action),
        (Some(Action::Denied), Some(Action::Denied))
    );
    assert_eq!(
        row(&out, 9).flow_state.as_deref(),
        Some("aged-out"),
        "empty subtype"
    );
    assert_eq!(
        row(&out, 10).flow_state.as_deref(),
        Some("aged-out"),
        "subtype `test`"
    );
    // The ICMP session has ports 0, as logged.
    assert_eq!(
        (row(&out, 2).protocol, row(&out, 2).src_port),
        (Some(1), Some(0))
    );
    let kept = decode_opts(&input, &DecodeContext::default(), true);
    assert_eq!(kept.flows.len(), 11);

    // Elastic's "time sample" has type START (tunnel-inspection style, not TRAFFIC) and the
    // URL sample is a THREAT log: Elastic turns them into events, we skip them (no flow totals).
    for (file, reason) in [
        (
            "test-panw-panos-time-sample.log",
            "panos: log type other than TRAFFIC",
        ),
        (
            "test-panw-panos-threat-url-no-xff-sample.log",
            "panos: THREAT log (not a flow record)",
        ),
    ] {
        let out = decode(&common::read(&dir.join(file)));
        assert!(out.flows.is_empty() && out.rejected.is_empty(), "{file}");
        assert!(
            out.skipped.iter().all(|s| s.1 == reason),
            "{file}: {:?}",
            out.skipped
        );
        eprintln!(
            "panos/elastic-integrations/{file}: {} skipped",
            out.skipped.len()
        );
    }
}

#[test]
fn conformance_sekoia_intake_formats() {
    let Some(dir) = common::corpus("panos") else {
        return;
    };
    let mut checker = common::PeerCheck::new(PEER_DISAGREEMENTS);
    let mut paths: Vec<_> = std::fs::read_dir(dir.join("sekoia-intake-formats"))
        .expect("sekoia dir")
        .map(|e| e.expect("entry").path())
        .collect();
    paths.sort();
    let (mut rows, mut skipped, mut rejected) = (0, 0, 0);
    for path in paths {
        let name = format!(
            "sekoia/{}",
            path.file_name().and_then(|n| n.to_str()).expect("name")
        );
        let test: Value = serde_json::from_slice(&common::read(&path)).expect("test JSON");
        let message = test["input"]["message"].as_str().expect("message");
        let out = decode_opts(message.as_bytes(), &DecodeContext::default(), true);
        if let Some((_, reason, _)) = EXPECTED_REJECTIONS.iter().find(|(f, _, _)| *f == name) {
            assert_eq!(out.rejected.len(), 1, "{name}");
            assert_eq!(out.rejected[0].reason, *reason, "{name}");
            rejected += 1;
            continue;
        }
        assert!(out.rejected.is_empty(), "{name}: {:?}", out.rejected);
        let e = &test["expected"];
        let is_csv_traffic = e["log"]["logger"].as_str() == Some("traffic")
            && !message.contains("CEF:")
            && !message.trim_start().starts_with('{');
        if !is_csv_traffic {
            assert!(
                out.flows.is_empty(),
                "{name}: only CSV TRAFFIC logs become rows"
            );
            skipped += out.skipped.len();
            continue;
        }
        assert_eq!(out.flows.len(), 1, "{name}");
        rows += 1;
        let mut w = Want::new();
        w.insert(
            "time",
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
            ("rule", &e["rule"]["name"]),
            ("device", &e["observer"]["name"]),
        ] {
            w.insert(field, s(v).unwrap_or_else(|| "null".into()));
        }
        // `0.0.0.0` is PAN-OS's "no NAT"; we store it as absent (formats.md, section 0).
        for (field, v) in [
            ("nat_src_ip", &e["source"]["nat"]["ip"]),
            ("nat_dst_ip", &e["destination"]["nat"]["ip"]),
        ] {
            let v = s(v)
                .filter(|v| v != "0.0.0.0")
                .unwrap_or_else(|| "null".into());
            w.insert(field, v);
        }
        let proto = match e["network"]["transport"].as_str() {
            Some("tcp") => "6",
            Some("udp") => "17",
            Some("icmp") => "1",
            other => panic!("{name}: transport {other:?}"),
        };
        w.insert("protocol", proto.to_string());
        let user = &e["source"]["user"];
        let user = match (user["domain"].as_str(), user["name"].as_str()) {
            (Some(d), Some(n)) => format!("{d}\\{n}"),
            (None, Some(n)) => n.to_string(),
            _ => "null".to_string(),
        };
        w.insert("user", user);
        let denied = e["event"]["type"]
            .as_array()
            .is_some_and(|t| t.iter().any(|t| t == "denied"));
        w.insert(
            "action",
            if denied { "denied" } else { "allowed" }.to_string(),
        );
        let end_reason = s(&e["paloalto"]["session"]["end_reason"]).expect("end_reason");
        let state = if end_reason == "n/a" {
            s(&e["paloalto"]["Threat_ContentType"]).expect("subtype")
        } else {
            end_reason
        };
        w.insert("flow_state", state);
        checker.want(&name, 0, &w, |f| render(&out.flows[0], f));
    }
    eprintln!(
        "panos/sekoia-intake-formats: {rows} rows compared, {skipped} skipped, {rejected} rejected"
    );
    assert_eq!((rows, rejected), (5, 1));
    checker.finish("sekoia/");
}
