//! Tests of the Zeek conn.log decoder: synthetic fixtures (tests/fixtures/zeek_conn) and
//! conformance against the shared corpus (real Zeek TSV from lnav's tests, Zeek's own btest
//! baselines, Elastic's JSON test lines), each row checked against an independent reading of the
//! same line written here (plain splitting and `serde_json::Value`, no decoder code).

mod common;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;

use flowtrail_formats::flow::zeek_conn::ZeekConn;
use flowtrail_formats::time::parse_rfc3339;
use flowtrail_formats::{decode_all, DecodeContext, VecSink};
use flowtrail_schema::{Direction, FlowRecord};
use serde_json::{json, Value};

// ---------------------------------------------------------------------------------------------
// Helpers

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/zeek_conn")
        .join(name);
    common::read(&path)
}

fn decode(input: &[u8]) -> VecSink {
    let mut sink = VecSink::default();
    decode_all(&ZeekConn, &DecodeContext::default(), input, &mut sink);
    assert_accounting(input, &sink);
    sink
}

/// Every report names a distinct line of the input, and no data line is lost: the lines that
/// are neither headers, comments nor blank are exactly the reported ones.
fn assert_accounting(input: &[u8], sink: &VecSink) {
    let mut lines: Vec<u64> = sink.flows.iter().map(|r| r.origin_line).collect();
    lines.extend(sink.rejected.iter().map(|r| r.line));
    lines.extend(sink.skipped.iter().map(|s| s.0));
    lines.sort_unstable();
    let data: Vec<u64> = input
        .split(|b| *b == b'\n')
        .enumerate()
        .filter(|(_, l)| {
            let t = l.trim_ascii();
            !t.is_empty() && t.first() != Some(&b'#')
        })
        .map(|(i, _)| i as u64 + 1)
        .collect();
    assert_eq!(lines, data, "one report per data line");
}

fn ip(s: &str) -> Option<IpAddr> {
    Some(s.parse().expect("test address"))
}

fn s(v: &str) -> Option<std::borrow::Cow<'static, str>> {
    Some(std::borrow::Cow::Owned(v.to_string()))
}

fn extra(row: &FlowRecord<'_>) -> Value {
    row.extra
        .as_deref()
        .map(|e| serde_json::from_str(e).expect("extra is JSON"))
        .unwrap_or(Value::Null)
}

fn reasons(sink: &VecSink) -> Vec<(u64, String)> {
    sink.rejected
        .iter()
        .map(|r| (r.line, r.reason.clone()))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Fixtures

#[test]
fn tsv_rows_map_every_column() {
    let out = decode(&fixture("conn_tsv.log"));
    assert!(out.rejected.is_empty(), "{:?}", out.rejected);
    assert_eq!(out.flows.len(), 5);
    let first = &out.flows[0];
    assert_eq!(
        first,
        &FlowRecord {
            time: 1_706_781_600_123_456,
            end_time: Some(1_706_781_602_623_456),
            origin_line: 9,
            src_ip: ip("10.1.0.5"),
            src_port: Some(51000),
            dst_ip: ip("198.51.100.20"),
            dst_port: Some(443),
            protocol: Some(6),
            bytes_out: Some(1200),
            bytes_in: Some(48000),
            packets_out: Some(40),
            packets_in: Some(45),
            direction: Some(Direction::Outbound),
            flow_state: s("SF"),
            extra: first.extra.clone(),
            ..FlowRecord::default()
        }
    );
    assert_eq!(
        extra(first),
        json!({"uid":"CAaaaaaaaaaaaaaaa1","service":"ssl","local_orig":true,"local_resp":false,
               "missed_bytes":0,"history":"ShADadFf","orig_ip_bytes":3300,"resp_ip_bytes":50400,
               "tunnel_parents":[]})
    );
    // UDP, both ends local.
    assert_eq!(out.flows[1].protocol, Some(17));
    assert_eq!(out.flows[1].direction, Some(Direction::Internal));
    assert_eq!(out.flows[1].end_time, Some(1_706_781_601_000_418));
    // ICMP echo: type 8 and code 0 stay in the ports.
    let icmp = &out.flows[2];
    assert_eq!(
        (icmp.protocol, icmp.src_port, icmp.dst_port),
        (Some(1), Some(8), Some(0))
    );
    assert_eq!(icmp.direction, Some(Direction::Inbound));
    assert_eq!(
        extra(icmp).get("history"),
        None,
        "unset fields stay out of extra"
    );
    // Zeek writes `icmp` for ICMPv6: IPv6 addresses make it 58. Unset counters are None.
    let v6 = &out.flows[3];
    assert_eq!(
        (v6.protocol, v6.src_port, v6.dst_port),
        (Some(58), Some(128), Some(129))
    );
    assert_eq!((v6.end_time, v6.bytes_out, v6.bytes_in), (None, None, None));
    assert_eq!((v6.packets_out, v6.packets_in), (Some(1), Some(0)));
    assert_eq!(v6.direction, Some(Direction::External));
    assert_eq!(
        extra(v6)["tunnel_parents"],
        json!(["CTunnelAAAAAAAAAA1", "CTunnelAAAAAAAAAA2"])
    );
    // Escapes are decoded in extra; unset local flags give no direction.
    let s0 = &out.flows[4];
    assert_eq!(extra(s0)["service"], json!("weird-svc"));
    assert_eq!(s0.direction, None);
    assert_eq!((s0.bytes_out, s0.bytes_in), (Some(0), Some(0)));
    assert_eq!(s0.flow_state.as_deref(), Some("S0"));
}

#[test]
fn header_blocks_replace_the_layout_and_bad_rows_are_rejected() {
    let out = decode(&fixture("multi_block.log"));
    let rows: Vec<(u64, &str)> = out
        .flows
        .iter()
        .map(|r| (r.origin_line, r.flow_state.as_deref().unwrap_or("")))
        .collect();
    assert_eq!(rows, [(10, "SF"), (11, "S0"), (21, "SF")]);
    // Block 1 (older Zeek: no local_resp, no ip_proto).
    let old = &out.flows[0];
    assert_eq!(old.direction, None);
    assert_eq!(old.protocol, Some(6));
    assert_eq!(extra(old)["local_orig"], json!(true));
    // Block 2: site columns land in extra, typed by #types.
    let site = &out.flows[2];
    assert_eq!(extra(site)["vlan"], json!(42));
    assert_eq!(extra(site)["orig_l2_addr"], json!("00:11:22:33:44:55"));
    assert_eq!(site.direction, Some(Direction::Internal));
    assert_eq!(
        reasons(&out),
        [
            (
                1,
                "line before any #fields header (a Zeek TSV log starts with #separator and #fields lines)"
                    .to_string()
            ),
            (22, "5 fields, #fields has 24".to_string()),
            (23, "bad id.orig_h \"10.3.0.999\"".to_string()),
            (24, "bad id.orig_p \"70000\"".to_string()),
            (25, "bad orig_bytes \"x12\"".to_string()),
            (26, "bad ts \"XXXXXXXXXX.XXXXXX\"".to_string()),
            (27, "bad proto \"sctp\"".to_string()),
            (
                37,
                "Zeek log path \"http\" is not a conn log (this decoder reads conn.log only)"
                    .to_string()
            ),
        ]
    );
}

#[test]
fn json_lines() {
    let out = decode(&fixture("conn_json.log"));
    let lines: Vec<u64> = out.flows.iter().map(|r| r.origin_line).collect();
    assert_eq!(lines, [1, 2, 3, 5, 11]);
    let first = &out.flows[0];
    assert_eq!(first.time, 1_706_781_600_123_456);
    assert_eq!(first.end_time, Some(1_706_781_602_623_456));
    assert_eq!(
        extra(first)["community_id"],
        json!("1:AAAAAAAAAAAAAAAAAAAAAAAAAAA=")
    );
    assert_eq!(extra(first)["tunnel_parents"], json!([]));
    // ISO 8601 ts.
    assert_eq!(out.flows[1].time, 1_706_781_601_000_001);
    assert_eq!(out.flows[1].end_time, Some(1_706_781_601_000_418));
    // Millisecond ts, a nested id object, ICMPv6.
    let v6 = &out.flows[2];
    assert_eq!(v6.time, 1_706_781_602_500_000);
    assert_eq!(
        (v6.src_ip, v6.dst_ip),
        (ip("2001:db8::5"), ip("2001:db8:1::9"))
    );
    assert_eq!(
        (v6.protocol, v6.src_port, v6.dst_port),
        (Some(58), Some(135), Some(0))
    );
    assert_eq!(extra(v6)["id.vlan"], json!(7));
    // unknown_transport: ip_proto gives the protocol; _path is not kept, _write_ts is.
    let gre = &out.flows[3];
    assert_eq!(gre.protocol, Some(47));
    assert_eq!(gre.direction, Some(Direction::Inbound));
    assert_eq!(extra(gre).get("_path"), None);
    assert_eq!(
        extra(gre)["_write_ts"],
        json!("2024-02-01T10:00:10.000000Z")
    );
    assert_eq!(out.flows[4].flow_state.as_deref(), Some("REJ"));
    let reasons = reasons(&out);
    assert_eq!(reasons.len(), 5, "{reasons:?}");
    assert_eq!(reasons[0], (6, "bad orig_bytes \"many\"".to_string()));
    assert_eq!(
        reasons[1],
        (
            7,
            "JSON record has neither proto nor conn_state: not a Zeek conn.log record".to_string()
        )
    );
    assert_eq!(
        reasons[2],
        (
            8,
            "Zeek log path \"http\" is not a conn log (this decoder reads conn.log only)"
                .to_string()
        )
    );
    assert_eq!(reasons[3].0, 9);
    assert!(
        reasons[3].1.starts_with("invalid JSON: EOF"),
        "{}",
        reasons[3].1
    );
    assert_eq!(
        reasons[4],
        (
            10,
            "expected a JSON object (one Zeek record per line)".to_string()
        )
    );
}

#[test]
fn tsv_and_json_lines_mix() {
    let out = decode(&fixture("mixed.log"));
    assert!(out.rejected.is_empty(), "{:?}", out.rejected);
    let got: Vec<(u64, Option<u64>)> = out
        .flows
        .iter()
        .map(|r| (r.origin_line, r.bytes_out))
        .collect();
    assert_eq!(got, [(8, Some(10)), (9, Some(11)), (10, Some(12))]);
}

#[test]
fn both_writers_give_the_same_row() {
    let tsv = decode(&fixture("conn_tsv.log"));
    let json = decode(&fixture("conn_json.log"));
    let (a, b) = (&tsv.flows[0], &json.flows[0]);
    fn strip(r: &FlowRecord<'static>) -> FlowRecord<'static> {
        FlowRecord {
            origin_line: 0,
            extra: None,
            ..r.clone()
        }
    }
    assert_eq!(strip(a), strip(b));
    let (mut ea, mut eb) = (extra(a), extra(b));
    for e in [&mut ea, &mut eb] {
        let obj = e.as_object_mut().expect("object");
        obj.remove("uid");
        obj.remove("community_id");
    }
    assert_eq!(ea, eb, "extra is typed the same way by #types and by JSON");
}

#[test]
fn sniffing_picks_zeek() {
    for name in ["conn_tsv.log", "conn_json.log", "multi_block.log"] {
        let data = fixture(name);
        let got = flowtrail_formats::sniff(&data[..data.len().min(4096)], "");
        // multi_block.log starts with a stray data line: no format claims it.
        if name == "multi_block.log" {
            assert!(got.is_none_or(|f| f.name() != "aws_vpc"), "{name}");
        } else {
            assert_eq!(got.map(|f| f.name()), Some("zeek_conn"), "{name}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Conformance: shared corpus

/// A row as the independent reading says it should be: field → rendered value ("null" absent).
type Want = BTreeMap<&'static str, String>;

fn render(row: &FlowRecord<'_>, field: &str) -> String {
    fn opt<T: ToString>(v: Option<T>) -> String {
        v.map_or_else(|| "null".to_string(), |v| v.to_string())
    }
    match field {
        "time" => row.time.to_string(),
        "end_time" => opt(row.end_time),
        "src_ip" => opt(row.src_ip),
        "src_port" => opt(row.src_port),
        "dst_ip" => opt(row.dst_ip),
        "dst_port" => opt(row.dst_port),
        "protocol" => opt(row.protocol),
        "bytes_out" => opt(row.bytes_out),
        "bytes_in" => opt(row.bytes_in),
        "packets_out" => opt(row.packets_out),
        "packets_in" => opt(row.packets_in),
        "flow_state" => opt(row.flow_state.as_deref()),
        "direction" => opt(row.direction.map(Direction::as_str)),
        extra_key => match extra(row).get(extra_key) {
            None => "null".to_string(),
            Some(Value::String(v)) => v.clone(),
            Some(v) => v.to_string(),
        },
    }
}

/// Disagreements with a peer judged to be the peer's error: (corpus file, 0-based record,
/// field, reason). The Zeek corpus carries no peer outputs (Elastic's expected documents were not
/// copied), so every row is compared with the reading of Zeek's own format rules below; the table
/// stays empty unless a peer output is added. Every entry must be hit.
const PEER_DISAGREEMENTS: &[(&str, usize, &str, &str)] = &[];

/// Decimal seconds → µs by string surgery (no float, no decoder code), rounded to the nearest
/// microsecond on the seventh decimal (JSON durations carry up to 17 digits).
fn secs_to_micros(v: &str) -> i64 {
    let (int, frac) = v.split_once('.').unwrap_or((v, ""));
    let frac = format!("{frac:0<7}");
    let round = i64::from(frac.as_bytes()[6] >= b'5');
    int.parse::<i64>().expect("seconds") * 1_000_000
        + frac[..6].parse::<i64>().expect("fraction")
        + round
}

fn zeek_proto(proto: &str, orig_h: &str, ip_proto: Option<&str>) -> String {
    if let Some(p) = ip_proto {
        return p.to_string();
    }
    match proto {
        "tcp" => "6",
        "udp" => "17",
        "icmp" if orig_h.contains(':') => "58",
        "icmp" => "1",
        _ => "null",
    }
    .to_string()
}

fn canon_ip(v: &str) -> String {
    v.parse::<IpAddr>().expect("corpus address").to_string()
}

/// Reads a Zeek TSV log the plain way: `#fields` names, tab-split rows, `-`/`(empty)` absent.
fn tsv_reference(text: &str) -> Vec<Want> {
    let mut names: Vec<&str> = Vec::new();
    let mut out = Vec::new();
    for line in text.lines() {
        if let Some(f) = line.strip_prefix("#fields\t") {
            names = f.split('\t').collect();
            continue;
        }
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let vals: BTreeMap<&str, &str> = names
            .iter()
            .copied()
            .zip(line.split('\t'))
            .filter(|(_, v)| *v != "-" && *v != "(empty)")
            .collect();
        let get = |k: &str| vals.get(k).copied();
        let num = |k: &str| get(k).map_or("null".to_string(), str::to_string);
        let ts = secs_to_micros(get("ts").expect("ts"));
        let mut w = Want::new();
        w.insert("time", ts.to_string());
        w.insert(
            "end_time",
            get("duration").map_or("null".to_string(), |d| (ts + secs_to_micros(d)).to_string()),
        );
        w.insert("src_ip", canon_ip(get("id.orig_h").expect("orig_h")));
        w.insert("dst_ip", canon_ip(get("id.resp_h").expect("resp_h")));
        w.insert("src_port", num("id.orig_p"));
        w.insert("dst_port", num("id.resp_p"));
        w.insert(
            "protocol",
            zeek_proto(
                get("proto").unwrap_or(""),
                get("id.orig_h").unwrap_or(""),
                get("ip_proto"),
            ),
        );
        w.insert("bytes_out", num("orig_bytes"));
        w.insert("bytes_in", num("resp_bytes"));
        w.insert("packets_out", num("orig_pkts"));
        w.insert("packets_in", num("resp_pkts"));
        w.insert("flow_state", num("conn_state"));
        let dir = match (get("local_orig"), get("local_resp")) {
            (Some("T"), Some("F")) => "outbound",
            (Some("F"), Some("T")) => "inbound",
            (Some("T"), Some("T")) => "internal",
            (Some("F"), Some("F")) => "external",
            _ => "null",
        };
        w.insert("direction", dir.to_string());
        for key in [
            "uid",
            "history",
            "orig_ip_bytes",
            "resp_ip_bytes",
            "missed_bytes",
        ] {
            w.insert(key, num(key));
        }
        for key in [
            "orig_l2_addr",
            "resp_l2_addr",
            "vlan",
            "inner_vlan",
            "service",
        ] {
            if names.contains(&key) {
                w.insert(key, num(key));
            }
        }
        out.push(w);
    }
    out
}

/// Reads one Zeek JSON line with `serde_json::Value`.
fn json_reference(v: &Value) -> Want {
    let text = |k: &str| {
        v.get(k).map(|x| match x {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
    };
    let num = |k: &str| text(k).unwrap_or_else(|| "null".to_string());
    let ts = match &v["ts"] {
        Value::String(s) => parse_rfc3339(s).expect("ISO ts"),
        Value::Number(n) => secs_to_micros(&n.to_string()),
        other => panic!("ts {other}"),
    };
    let mut w = Want::new();
    w.insert("time", ts.to_string());
    w.insert(
        "end_time",
        text("duration").map_or("null".to_string(), |d| {
            (ts + secs_to_micros(&d)).to_string()
        }),
    );
    let orig_h = text("id.orig_h").expect("orig_h");
    w.insert("src_ip", canon_ip(&orig_h));
    w.insert("dst_ip", canon_ip(&text("id.resp_h").expect("resp_h")));
    w.insert("src_port", num("id.orig_p"));
    w.insert("dst_port", num("id.resp_p"));
    w.insert(
        "protocol",
        zeek_proto(&num("proto"), &orig_h, text("ip_proto").as_deref()),
    );
    w.insert("bytes_out", num("orig_bytes"));
    w.insert("bytes_in", num("resp_bytes"));
    w.insert("packets_out", num("orig_pkts"));
    w.insert("packets_in", num("resp_pkts"));
    w.insert("flow_state", num("conn_state"));
    let dir = match (v.get("local_orig"), v.get("local_resp")) {
        (Some(Value::Bool(true)), Some(Value::Bool(false))) => "outbound",
        (Some(Value::Bool(false)), Some(Value::Bool(true))) => "inbound",
        (Some(Value::Bool(true)), Some(Value::Bool(true))) => "internal",
        (Some(Value::Bool(false)), Some(Value::Bool(false))) => "external",
        _ => "null",
    };
    w.insert("direction", dir.to_string());
    for key in [
        "uid",
        "history",
        "service",
        "orig_ip_bytes",
        "resp_ip_bytes",
    ] {
        w.insert(key, num(key));
    }
    w
}

#[test]
fn conformance_lnav_real_tsv() {
    let Some(dir) = common::corpus("zeek") else {
        return;
    };
    let path = dir.join("lnav/logfile_bro_conn.log.0");
    let input = common::read(&path);
    let out = decode(&input);
    assert!(out.rejected.is_empty(), "{:?}", out.rejected);
    let want = tsv_reference(std::str::from_utf8(&input).expect("UTF-8"));
    assert_eq!(out.flows.len(), want.len());
    assert_eq!(out.flows.len(), 92);
    let mut checker = common::PeerCheck::new(PEER_DISAGREEMENTS);
    let name = "zeek/lnav/logfile_bro_conn.log.0";
    for (i, (row, w)) in out.flows.iter().zip(&want).enumerate() {
        checker.want(name, i, w, |f| render(row, f));
    }
    checker.count(name, want.len());
    checker.finish_where(|_| true);
}

/// Zeek's btest baselines mask `ts` as `XXXXXXXXXX.XXXXXX` (corpus README): as they are, every
/// row is rejected for its ts; with the mask replaced by a made-up time per row, every row must
/// decode and match the reading of its line.
#[test]
fn conformance_zeek_btest_baselines() {
    let Some(dir) = common::corpus("zeek") else {
        return;
    };
    let mut paths: Vec<_> = std::fs::read_dir(dir.join("zeek-btest-baselines"))
        .expect("baselines")
        .map(|e| e.expect("entry").path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.contains("--conn"))
        })
        .collect();
    paths.sort();
    assert_eq!(paths.len(), 6, "conn baselines");
    let mut checker = common::PeerCheck::new(PEER_DISAGREEMENTS);
    for path in paths {
        let name = format!(
            "zeek/zeek-btest-baselines/{}",
            path.file_name().and_then(|n| n.to_str()).expect("name")
        );
        let input = String::from_utf8(common::read(&path)).expect("UTF-8");
        let masked = decode(input.as_bytes());
        assert!(
            masked.flows.is_empty(),
            "{name}: masked rows must not decode"
        );
        assert!(
            masked
                .rejected
                .iter()
                .all(|r| r.reason == "bad ts \"XXXXXXXXXX.XXXXXX\""),
            "{name}: {:?}",
            masked.rejected
        );
        let mut n = 0;
        let unmasked: String = input
            .lines()
            .map(|l| {
                if let Some(rest) = l.strip_prefix("XXXXXXXXXX.XXXXXX") {
                    n += 1;
                    format!("{}.{:06}{rest}\n", 1_600_000_000 + n, n * 1111)
                } else {
                    format!("{l}\n")
                }
            })
            .collect();
        let out = decode(unmasked.as_bytes());
        assert!(out.rejected.is_empty(), "{name}: {:?}", out.rejected);
        assert_eq!(out.flows.len(), masked.rejected.len(), "{name}");
        let want = tsv_reference(&unmasked);
        assert_eq!(out.flows.len(), want.len(), "{name}");
        for (i, (row, w)) in out.flows.iter().zip(&want).enumerate() {
            checker.want(&name, i, w, |f| render(row, f));
        }
        checker.count(&name, want.len());
    }
    checker.finish_where(|_| true);
}

#[test]
fn conformance_elastic_json() {
    let Some(dir) = common::corpus("zeek") else {
        return;
    };
    let name = "zeek/elastic-integrations/test-conn.log";
    let input = common::read(&dir.join("elastic-integrations/test-conn.log"));
    let out = decode(&input);
    assert!(out.rejected.is_empty(), "{:?}", out.rejected);
    let docs: Vec<Value> = input
        .split(|b| *b == b'\n')
        .filter(|l| !l.trim_ascii().is_empty())
        .map(|l| serde_json::from_slice(l).expect("corpus JSON"))
        .collect();
    assert_eq!(out.flows.len(), docs.len());
    assert_eq!(out.flows.len(), 18);
    let mut checker = common::PeerCheck::new(PEER_DISAGREEMENTS);
    for (i, (row, doc)) in out.flows.iter().zip(&docs).enumerate() {
        checker.want(name, i, &json_reference(doc), |f| render(row, f));
    }
    // The ICMP line keeps type 3 / code 3 in the ports; the ISO-8601 line reads as UTC.
    assert_eq!(
        (out.flows[3].src_port, out.flows[3].dst_port),
        (Some(3), Some(3))
    );
    assert_eq!(out.flows[16].time, 1_623_272_113_160_328);
    checker.count(name, docs.len());
    checker.finish_where(|_| true);
}

#[test]
fn corpus_http_logs_are_not_conn_logs() {
    let Some(dir) = common::corpus("zeek") else {
        return;
    };
    for file in [
        "lnav/logfile_bro_http.log.0",
        "zeek-btest-baselines/opt.basic--http.log",
    ] {
        let input = common::read(&dir.join(file));
        assert_ne!(
            flowtrail_formats::sniff(&input[..input.len().min(4096)], file).map(|f| f.name()),
            Some("zeek_conn"),
            "{file}"
        );
        let out = decode(&input);
        assert!(out.flows.is_empty(), "{file}");
        assert!(out
            .rejected
            .iter()
            .all(|r| r.reason.contains("not a conn log")));
    }
    for file in [
        "lnav/logfile_bro_conn.log.0",
        "elastic-integrations/test-conn.log",
    ] {
        let input = common::read(&dir.join(file));
        assert_eq!(
            flowtrail_formats::sniff(&input[..input.len().min(4096)], file).map(|f| f.name()),
            Some("zeek_conn"),
            "{file}"
        );
    }
}
