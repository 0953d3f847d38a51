//! Tests of the nfdump CSV decoder. The shared corpus has no nfdump output (nfdump ships no
//! sample captures), so the fixtures were produced by the real tool (Debian's nfdump 1.7.1) from
//! a synthetic capture, see tests/fixtures/nfdump_csv/README.md; the peer for conformance is
//! nfdump's own JSON output of the same capture, read here with `serde_json::Value`.

mod common;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;

use flowtrail_formats::flow::nfdump_csv::NfdumpCsv;
use flowtrail_formats::time::parse_rfc3339;
use flowtrail_formats::{decode_all, DecodeContext, VecSink};
use flowtrail_schema::{Action, FlowRecord};
use serde_json::{json, Value};

// ---------------------------------------------------------------------------------------------
// Helpers

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/nfdump_csv")
        .join(name);
    common::read(&path)
}

fn decode_with(input: &[u8], utc_offset_secs: Option<i32>) -> VecSink {
    let ctx = DecodeContext {
        utc_offset_secs,
        ..DecodeContext::default()
    };
    let mut sink = VecSink::default();
    decode_all(&NfdumpCsv, &ctx, input, &mut sink);
    // One report per line at most, in order.
    let mut lines: Vec<u64> = sink.flows.iter().map(|r| r.origin_line).collect();
    lines.extend(sink.rejected.iter().map(|r| r.line));
    lines.sort_unstable();
    assert!(lines.windows(2).all(|w| w[0] < w[1]), "{lines:?}");
    sink
}

fn decode(input: &[u8]) -> VecSink {
    decode_with(input, None)
}

fn ip(s: &str) -> Option<IpAddr> {
    Some(s.parse().expect("test address"))
}

fn extra(row: &FlowRecord<'_>) -> Value {
    row.extra
        .as_deref()
        .map(|e| serde_json::from_str(e).expect("extra is JSON"))
        .unwrap_or(Value::Null)
}

fn utc(s: &str) -> i64 {
    parse_rfc3339(s).expect("time")
}

/// Rows without their line numbers, for comparing two renderings of the same flows.
fn unlined(rows: &[FlowRecord<'static>]) -> Vec<FlowRecord<'static>> {
    rows.iter()
        .map(|r| FlowRecord {
            origin_line: 0,
            ..r.clone()
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Fixtures

#[test]
fn legacy_layout_rows() {
    let out = decode(&fixture("legacy_utc.csv"));
    assert!(out.rejected.is_empty(), "{:?}", out.rejected);
    assert!(out.skipped.is_empty());
    assert_eq!(out.flows.len(), 12, "the Summary trailer is not records");
    let udp = &out.flows[0];
    assert_eq!(
        udp,
        &FlowRecord {
            time: utc("2024-01-05T10:00:02Z"),
            end_time: Some(utc("2024-01-05T10:00:02Z")),
            origin_line: 2,
            src_ip: ip("192.0.2.10"),
            src_port: Some(53000),
            dst_ip: ip("203.0.113.53"),
            dst_port: Some(53),
            protocol: Some(17),
            bytes_out: Some(58),
            packets_out: Some(1),
            extra: udp.extra.clone(),
            ..FlowRecord::default()
        }
    );
    let e = extra(udp);
    assert_eq!(e["eng"], json!("17/1"));
    assert!(e.get("tr").is_some(), "received time kept");
    assert_eq!(e.get("nh"), None, "0.0.0.0 placeholders left out");
    assert_eq!(e.get("ismc"), None);
    assert_eq!(e.get("mpls1"), None);
    assert_eq!(e.get("cl"), None, "0.000 latency left out");
    // ICMP echo request: nfdump 1.7.1 encodes type 8 code 0 as dp 2048.
    let echo = &out.flows[2];
    assert_eq!(
        (echo.protocol, echo.src_port, echo.dst_port),
        (Some(1), Some(0), Some(2048))
    );
    assert_eq!(
        (
            extra(echo)["icmp_type"].clone(),
            extra(echo)["icmp_code"].clone()
        ),
        (json!(8), json!(0))
    );
    // ICMPv6 by name, destination unreachable 3/3.
    assert_eq!(out.flows[4].protocol, Some(58));
    assert_eq!(extra(&out.flows[4])["icmp_type"], json!(128));
    assert_eq!(extra(&out.flows[6])["icmp_code"], json!(3));
    // TCP flags; not on UDP rows.
    let tcp = &out.flows[7];
    assert_eq!((tcp.protocol, tcp.tcp_flags), (Some(6), Some(27)));
    assert_eq!(tcp.end_time, Some(utc("2024-01-05T10:00:01Z")));
    assert_eq!(udp.tcp_flags, None);
    // ESP by name.
    assert_eq!(out.flows[9].protocol, Some(50));
    assert_eq!(out.flows[10].tcp_flags, Some(2));
    assert_eq!(out.flows[11].tcp_flags, Some(20));
    for r in &out.flows {
        assert_eq!(
            (r.bytes_in, r.packets_in),
            (None, None),
            "unidirectional: no reverse counters"
        );
        assert_eq!(r.device, None, "no exporter address from nfpcapd");
    }
}

#[test]
fn bidirectional_output_in_local_time() {
    let utc_rows = decode(&fixture("legacy_utc.csv"));
    // Generated with TZ=Europe/Berlin (UTC+1 in January).
    let out = decode_with(&fixture("bidir_berlin.csv"), Some(3600));
    assert!(out.rejected.is_empty(), "{:?}", out.rejected);
    assert_eq!(out.flows.len(), 9);
    let tcp = out
        .flows
        .iter()
        .find(|r| r.dst_port == Some(443))
        .expect("the TCP flow");
    assert_eq!(tcp.time, utc("2024-01-05T10:00:00Z"));
    assert_eq!(
        (tcp.packets_out, tcp.bytes_out, tcp.packets_in, tcp.bytes_in),
        (Some(4), Some(260), Some(3), Some(1120))
    );
    let utc_tcp = utc_rows
        .flows
        .iter()
        .find(|r| r.dst_port == Some(443))
        .expect("the TCP flow");
    assert_eq!(tcp.time, utc_tcp.time);
    // An ICMP echo has no reverse flow under -B (different dp): the 0 counters are absent.
    let echo = out
        .flows
        .iter()
        .find(|r| r.dst_port == Some(2048))
        .expect("echo");
    assert_eq!((echo.packets_in, echo.bytes_in), (None, None));
    // Without the offset the same text reads an hour late.
    let naive = decode(&fixture("bidir_berlin.csv"));
    assert_eq!(naive.flows[0].time - out.flows[0].time, 3_600_000_000);
}

#[test]
fn headerless_quiet_output_uses_the_default_layout() {
    let with_header = decode(&fixture("legacy_utc.csv"));
    let quiet = decode(&fixture("headerless_q.csv"));
    assert!(quiet.rejected.is_empty(), "{:?}", quiet.rejected);
    assert_eq!(unlined(&quiet.flows), unlined(&with_header.flows));
    assert_eq!(quiet.flows[0].origin_line, 1);
}

#[test]
fn concatenated_outputs_and_trailers() {
    let out = decode(&fixture("concatenated.csv"));
    assert!(out.rejected.is_empty(), "{:?}", out.rejected);
    let got: Vec<(u64, Option<u8>)> = out
        .flows
        .iter()
        .map(|r| (r.origin_line, r.protocol))
        .collect();
    assert_eq!(
        got,
        [(2, Some(17)), (3, Some(17)), (8, Some(6)), (9, Some(6))]
    );
}

#[test]
fn newer_camel_case_header() {
    let out = decode(&fixture("newer_camel.csv"));
    assert!(out.rejected.is_empty(), "{:?}", out.rejected);
    assert_eq!(out.flows.len(), 4);
    let tcp = &out.flows[0];
    assert_eq!(
        tcp,
        &FlowRecord {
            time: utc("2024-01-05T10:00:00.125Z"),
            end_time: Some(utc("2024-01-05T10:00:01.635Z")),
            origin_line: 2,
            src_ip: ip("192.0.2.10"),
            src_port: Some(40000),
            dst_ip: ip("198.51.100.20"),
            dst_port: Some(443),
            protocol: Some(6),
            bytes_out: Some(260),
            bytes_in: Some(1120),
            packets_out: Some(4),
            packets_in: Some(3),
            flow_state: Some("CREATE".into()),
            device: Some("192.0.2.254".into()),
            user: Some("alice".into()),
            tcp_flags: Some(27),
            nat_src_ip: ip("203.0.113.7"),
            extra: tcp.extra.clone(),
            ..FlowRecord::default()
        }
    );
    assert_eq!(
        extra(tcp),
        json!({"input":"3","output":"7"}),
        "dir I is the default"
    );
    // ICMP as `type.code`.
    let echo = &out.flows[1];
    assert_eq!((echo.protocol, echo.dst_port), (Some(1), Some(2048)));
    assert_eq!(extra(echo)["icmp_type"], json!(8));
    assert_eq!(extra(echo)["direction"], json!("E"));
    assert_eq!(echo.user, None, "<unknown> is no user");
    let v6 = &out.flows[2];
    assert_eq!(
        (v6.protocol, v6.dst_port, v6.device.as_deref()),
        (Some(58), Some(32768), Some("2001:db8::fe"))
    );
    assert_eq!((v6.nat_src_ip, v6.nat_dst_ip), (None, None));
    assert_eq!(out.flows[3].device, None);
}

#[test]
fn csv_fast_epoch_milliseconds() {
    let out = decode(&fixture("csv_fast.csv"));
    assert!(out.rejected.is_empty(), "{:?}", out.rejected);
    assert_eq!(out.flows.len(), 2);
    let r = &out.flows[0];
    assert_eq!(
        (r.time, r.end_time),
        (
            utc("2024-01-05T10:00:00Z"),
            Some(utc("2024-01-05T10:00:01.5Z"))
        )
    );
    assert_eq!(
        (r.packets_out, r.bytes_out, r.tcp_flags),
        (Some(4), Some(260), Some(27))
    );
    assert_eq!(extra(r), json!({"dstAS":"64500","input":"3","output":"7"}));
    assert_eq!(out.flows[1].src_ip, ip("2001:db8::10"));
}

#[test]
fn bad_lines_are_rejected_with_reasons() {
    let out = decode(&fixture("bad_lines.csv"));
    let rows: Vec<u64> = out.flows.iter().map(|r| r.origin_line).collect();
    assert_eq!(rows, [3, 12]);
    assert_eq!(out.flows[1].protocol, Some(17));
    let reasons: Vec<(u64, &str)> = out
        .rejected
        .iter()
        .map(|r| (r.line, r.reason.as_str()))
        .collect();
    assert_eq!(
        reasons,
        [
            (1, "line before the nfdump csv header (ts,te,td,sa,da,... or firstSeen,lastSeen,...), and not the 48 columns of headerless nfdump 1.6/1.7 output"),
            (4, "bad sa \"192.0.2.999\""),
            (5, "bad dp \"99999\""),
            (6, "bad pr \"XYZ\""),
            (7, "10 fields, the header has 11"),
            (9, "bad ts \"0000-00-00 00:00:00.000\": no start time"),
            (10, "bad ts \"2024-01-05 25:00:00\""),
            (11, "bad ipkt \"abc\""),
        ]
    );
}

#[test]
fn sniffing_picks_nfdump() {
    for name in [
        "legacy_utc.csv",
        "bidir_berlin.csv",
        "newer_camel.csv",
        "csv_fast.csv",
        "headerless_q.csv",
    ] {
        let data = fixture(name);
        let got = flowtrail_formats::sniff(&data[..data.len().min(4096)], "");
        assert_eq!(got.map(|f| f.name()), Some("nfdump_csv"), "{name}");
    }
}

// ---------------------------------------------------------------------------------------------
// Conformance: nfdump's own JSON rendering of the same capture

/// Where nfdump's JSON and its CSV (as we read it) disagree and the difference is the CSV's, not
/// ours: (fixture, 0-based record, field, reason). Every entry must be hit.
const PEER_DISAGREEMENTS: &[(&str, usize, &str, &str)] = &[];

type Want = BTreeMap<&'static str, String>;

fn render(row: &FlowRecord<'_>, field: &str) -> String {
    fn opt<T: ToString>(v: Option<T>) -> String {
        v.map_or_else(|| "null".to_string(), |v| v.to_string())
    }
    match field {
        "time" => (row.time / 1_000_000).to_string(),
        "end_time" => opt(row.end_time.map(|t| t / 1_000_000)),
        "src_ip" => opt(row.src_ip),
        "dst_ip" => opt(row.dst_ip),
        "src_port" => opt(row.src_port),
        "dst_port" => opt(row.dst_port),
        "protocol" => opt(row.protocol),
        "packets_out" => opt(row.packets_out),
        "bytes_out" => opt(row.bytes_out),
        "tcp_flags" => opt(row.tcp_flags),
        "icmp_type" | "icmp_code" => match &extra(row)[field] {
            Value::Null => "null".to_string(),
            v => v.to_string(),
        },
        other => panic!("unknown field {other}"),
    }
}

/// nfdump's JSON record, read independently: times to the second (the 1.7.1 CSV prints whole
/// seconds; the JSON keeps milliseconds), ICMP type/code as NetFlow's `type*256+code` port.
fn json_want(r: &Value) -> Want {
    let secs =
        |k: &str| (utc(&format!("{}Z", r[k].as_str().expect("time"))) / 1_000_000).to_string();
    let text = |v: &Value| match v {
        Value::Null => "null".to_string(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let addr = |v4: &str, v6: &str| {
        let v = if r[v4].is_null() { &r[v6] } else { &r[v4] };
        v.as_str()
            .expect("address")
            .parse::<IpAddr>()
            .expect("address")
            .to_string()
    };
    let mut w = Want::new();
    w.insert("time", secs("first"));
    w.insert("end_time", secs("last"));
    w.insert("src_ip", addr("src4_addr", "src6_addr"));
    w.insert("dst_ip", addr("dst4_addr", "dst6_addr"));
    w.insert("protocol", text(&r["proto"]));
    w.insert("packets_out", text(&r["in_packets"]));
    w.insert("bytes_out", text(&r["in_bytes"]));
    if r["icmp_type"].is_null() {
        w.insert("src_port", text(&r["src_port"]));
        w.insert("dst_port", text(&r["dst_port"]));
    } else {
        let (t, c) = (
            r["icmp_type"].as_u64().expect("type"),
            r["icmp_code"].as_u64().expect("code"),
        );
        w.insert("src_port", "0".to_string());
        w.insert("dst_port", (t * 256 + c).to_string());
        w.insert("icmp_type", t.to_string());
        w.insert("icmp_code", c.to_string());
    }
    let flags = r["tcp_flags"].as_str().map(|f| {
        f.bytes()
            .zip([128u16, 64, 32, 16, 8, 4, 2, 1])
            .filter(|(c, _)| *c != b'.')
            .map(|(_, bit)| bit)
            .sum::<u16>()
    });
    let tcp = r["proto"].as_u64() == Some(6);
    w.insert(
        "tcp_flags",
        flags
            .filter(|_| tcp)
            .map_or("null".to_string(), |f| f.to_string()),
    );
    w
}

#[test]
fn conformance_with_nfdump_json() {
    let file = "nfdump_csv/legacy_utc.csv";
    let out = decode(&fixture("legacy_utc.csv"));
    let peer: Vec<Value> =
        serde_json::from_slice(&fixture("legacy_utc.nfdump.json")).expect("nfdump JSON");
    assert_eq!(out.flows.len(), peer.len());
    let mut mismatches = Vec::new();
    let mut used = std::collections::HashSet::new();
    for (i, (row, r)) in out.flows.iter().zip(&peer).enumerate() {
        for (field, theirs) in json_want(r) {
            let ours = render(row, field);
            if ours == theirs {
                continue;
            }
            if let Some(entry) = PEER_DISAGREEMENTS
                .iter()
                .find(|(f, n, fd, _)| *f == file && *n == i && *fd == field)
            {
                used.insert(entry.2);
            } else {
                mismatches.push(format!(
                    "{file} record {i} {field}: ours {ours:?}, JSON {theirs:?}"
                ));
            }
        }
    }
    eprintln!("{file}: {} rows compared with nfdump -o json", peer.len());
    assert!(
        mismatches.is_empty(),
        "mismatches:\n{}",
        mismatches.join("\n")
    );
    assert_eq!(
        used.len(),
        PEER_DISAGREEMENTS.len(),
        "stale PEER_DISAGREEMENTS entries"
    );
}

#[test]
fn pf_actions() {
    let input = b"firstSeen,srcAddr,dstAddr,proto,pfAction,pfRule\n\
2024-01-05 10:00:00.000,192.0.2.1,198.51.100.1,6,block,12\n\
2024-01-05 10:00:00.000,192.0.2.1,198.51.100.1,6,pass,3\n\
2024-01-05 10:00:00.000,192.0.2.1,198.51.100.1,6,match,4\n";
    let out = decode(input);
    let got: Vec<(Option<Action>, Option<&str>)> = out
        .flows
        .iter()
        .map(|r| (r.action, r.rule.as_deref()))
        .collect();
    assert_eq!(
        got,
        [
            (Some(Action::Denied), Some("12")),
            (Some(Action::Allowed), Some("3")),
            (None, Some("4"))
        ]
    );
}
