//! Tests of the GCP VPC Flow Logs decoder: synthetic fixtures (tests/fixtures/gcp_vpc) and
//! conformance against the shared corpus (Elastic's LogEntry test lines, read independently here
//! with `serde_json::Value`; Sekoia's tests with their expected ECS-like output).

mod common;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;

use flowtrail_formats::flow::gcp_vpc::GcpVpc;
use flowtrail_formats::time::parse_rfc3339;
use flowtrail_formats::{decode_all, DecodeContext, VecSink};
use flowtrail_schema::{Action, FlowRecord};
use serde_json::{json, Value};

// ---------------------------------------------------------------------------------------------
// Helpers

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/gcp_vpc")
        .join(name);
    common::read(&path)
}

fn decode(input: &[u8]) -> VecSink {
    let mut sink = VecSink::default();
    decode_all(&GcpVpc, &DecodeContext::default(), input, &mut sink);
    assert_lines(input, &sink);
    sink
}

/// Reports name real lines (1..=N), rows in non-decreasing line order.
fn assert_lines(input: &[u8], sink: &VecSink) {
    let n = input.split(|b| *b == b'\n').count() as u64;
    let rows: Vec<u64> = sink.flows.iter().map(|r| r.origin_line).collect();
    assert!(rows.windows(2).all(|w| w[0] <= w[1]), "{rows:?}");
    for l in rows.iter().chain(sink.rejected.iter().map(|r| &r.line)) {
        assert!((1..=n).contains(l), "line {l} of {n}");
    }
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

fn micros(rfc3339: &str) -> i64 {
    parse_rfc3339(rfc3339).expect("timestamp")
}

/// The 1-based line numbers of lines equal to `text`.
fn lines_equal(input: &[u8], text: &str) -> Vec<u64> {
    input
        .split(|b| *b == b'\n')
        .enumerate()
        .filter(|(_, l)| *l == text.as_bytes())
        .map(|(i, _)| i as u64 + 1)
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Fixtures

#[test]
fn entries_map_the_reporting_side() {
    let out = decode(&fixture("entries.ndjson"));
    assert!(out.rejected.is_empty(), "{:?}", out.rejected);
    assert_eq!(out.flows.len(), 9);
    let first = &out.flows[0];
    assert_eq!(
        first,
        &FlowRecord {
            time: micros("2024-03-01T10:00:01.112233Z"),
            end_time: Some(micros("2024-03-01T10:00:05.998877Z")),
            origin_line: 1,
            src_ip: ip("10.128.0.5"),
            src_port: Some(44370),
            dst_ip: ip("203.0.113.80"),
            dst_port: Some(443),
            protocol: Some(6),
            bytes_out: Some(4410),
            packets_out: Some(12),
            flow_state: s("SRC"),
            device: s("web-1"),
            account: s("acme-web"),
            region: s("europe-west1"),
            vpc: s("prod-vpc"),
            subnet: s("web"),
            instance: s("web-1"),
            extra: first.extra.clone(),
            ..FlowRecord::default()
        }
    );
    assert_eq!(
        extra(first),
        json!({"insertId":"e1","dest_location":{"asn":64500,"continent":"Europe","country":"fra"},
               "rtt_msec":"14",
               "src_instance":{"project_id":"acme-web","region":"europe-west1","vm_name":"web-1","zone":"europe-west1-b"},
               "src_vpc":{"project_id":"acme-net","subnetwork_name":"web","vpc_name":"prod-vpc"}})
    );
    // The reverse direction, reported by its receiver: the same VM is the reporting side.
    let back = &out.flows[1];
    assert_eq!(
        (back.src_ip, back.dst_port),
        (ip("203.0.113.80"), Some(44370))
    );
    assert_eq!(back.flow_state.as_deref(), Some("DEST"));
    assert_eq!(back.instance.as_deref(), Some("web-1"));
    assert_eq!((back.bytes_out, back.bytes_in), (Some(91234), None));
    // A VPN tunnel reports: the gateway is the device; the account is its project.
    let gw = &out.flows[4];
    assert_eq!(gw.flow_state.as_deref(), Some("SRC_GATEWAY"));
    assert_eq!(gw.device.as_deref(), Some("vpn-to-dc"));
    assert_eq!(gw.instance, None);
    assert_eq!(
        (gw.account.as_deref(), gw.region.as_deref()),
        (Some("acme-net"), Some("europe-west1"))
    );
    assert_eq!(extra(gw)["src_gateway"]["type"], json!("VPN_TUNNEL"));
    // Dropped traffic (newer records): disposition and drop reason.
    let dropped = &out.flows[5];
    assert_eq!(dropped.action, Some(Action::Denied));
    assert_eq!(dropped.rule.as_deref(), Some("FIREWALL_DENY"));
    assert_eq!(extra(dropped)["disposition"], json!("DROPPED"));
    assert_eq!(extra(dropped)["bytes_dropped"], json!("120"));
    assert_eq!(out.flows.iter().filter(|r| r.action.is_some()).count(), 1);
    // int64 values written as numbers; no metadata: identity from the resource labels.
    let v6 = &out.flows[6];
    assert_eq!((v6.src_ip, v6.protocol), (ip("2001:db8:1::5"), Some(17)));
    assert_eq!((v6.bytes_out, v6.packets_out), (Some(300), Some(3)));
    assert_eq!(v6.account.as_deref(), Some("acme-net"));
    assert_eq!(
        v6.region.as_deref(),
        Some("europe-west1"),
        "zone suffix removed"
    );
    assert_eq!(v6.subnet.as_deref(), Some("web"));
    assert_eq!((v6.instance.as_deref(), v6.vpc.as_deref()), (None, None));
    assert_eq!(v6.end_time, Some(v6.time + 1));
    // ICMP: no ports.
    let icmp = &out.flows[7];
    assert_eq!(
        (icmp.protocol, icmp.src_port, icmp.dst_port),
        (Some(1), None, None)
    );
    // Network Management API log, GKE details, VPC block only.
    let gke = &out.flows[8];
    assert_eq!(
        (
            gke.account.as_deref(),
            gke.region.as_deref(),
            gke.subnet.as_deref(),
            gke.vpc.as_deref()
        ),
        (
            Some("acme-net"),
            Some("us-central1"),
            Some("gke-nodes"),
            Some("prod-vpc")
        )
    );
    assert_eq!(
        extra(gke)["src_gke_details"]["pod"]["pod_name"],
        json!("api-7d9f")
    );
}

/// Google logs a flow between two logged VMs twice (reporter `SRC` and `DEST`): both rows are
/// kept, each describing its reporter; keeping the `SRC` row of each pair counts it once.
#[test]
fn duplicate_reports_are_kept_and_dedupe_on_src() {
    let out = decode(&fixture("entries.ndjson"));
    let (src, dest) = (&out.flows[2], &out.flows[3]);
    let tuple = |r: &FlowRecord<'_>| (r.src_ip, r.src_port, r.dst_ip, r.dst_port, r.protocol);
    assert_eq!(tuple(src), tuple(dest));
    assert_eq!(
        (src.flow_state.as_deref(), dest.flow_state.as_deref()),
        (Some("SRC"), Some("DEST"))
    );
    assert_eq!(
        (src.instance.as_deref(), dest.instance.as_deref()),
        (Some("web-1"), Some("db-1"))
    );
    assert_eq!(
        (src.account.as_deref(), dest.account.as_deref()),
        (Some("acme-web"), Some("acme-db"))
    );
    assert_eq!(
        (src.region.as_deref(), dest.region.as_deref()),
        (Some("europe-west1"), Some("europe-west4"))
    );
    assert_eq!(
        (src.subnet.as_deref(), dest.subnet.as_deref()),
        (Some("web"), Some("db"))
    );
    // Sampled estimates differ a little between the two reports.
    assert_eq!((src.bytes_out, dest.bytes_out), (Some(20480), Some(19968)));
    // The documented rule: drop a DEST row when a SRC row has its 5-tuple and overlaps it.
    let kept: Vec<&FlowRecord<'_>> = out
        .flows
        .iter()
        .filter(|r| {
            r.flow_state.as_deref() != Some("DEST")
                || !out.flows.iter().any(|o| {
                    o.flow_state.as_deref() == Some("SRC")
                        && tuple(o) == tuple(r)
                        && o.time <= r.end_time.unwrap_or(r.time)
                        && r.time <= o.end_time.unwrap_or(o.time)
                })
        })
        .collect();
    assert_eq!(kept.len(), out.flows.len() - 1);
    assert!(kept.iter().any(|r| std::ptr::eq(*r, src)));
    assert!(!kept.iter().any(|r| std::ptr::eq(*r, dest)));
    // The reverse direction (row 1, DEST) has no SRC twin and stays.
    assert!(kept.iter().any(|r| std::ptr::eq(*r, &out.flows[1])));
}

#[test]
fn pretty_entries_and_arrays() {
    let input = fixture("pretty_and_array.json");
    let out = decode(&input);
    let element_starts = lines_equal(&input, "  {");
    assert_eq!(element_starts.len(), 3, "three array elements");
    let rows: Vec<(u64, String)> = out
        .flows
        .iter()
        .map(|r| {
            (
                r.origin_line,
                extra(r)["insertId"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (1, "p0".to_string()),
            (element_starts[0], "p1".to_string()),
            (element_starts[2], "p2".to_string())
        ]
    );
    assert_eq!(out.rejected.len(), 1);
    assert_eq!(out.rejected[0].line, element_starts[1]);
    assert_eq!(
        out.rejected[0].reason,
        "missing jsonPayload.connection.src_ip"
    );
    // Same values as the one-line form.
    let lines = decode(&fixture("entries.ndjson"));
    let same = |a: &FlowRecord<'_>, b: &FlowRecord<'_>| {
        (
            a.time,
            a.end_time,
            a.src_ip,
            a.dst_ip,
            a.bytes_out,
            a.instance.clone(),
        ) == (
            b.time,
            b.end_time,
            b.src_ip,
            b.dst_ip,
            b.bytes_out,
            b.instance.clone(),
        )
    };
    assert!(same(&out.flows[0], &lines.flows[2]));
    assert!(same(&out.flows[1], &lines.flows[0]));
    assert!(same(&out.flows[2], &lines.flows[6]));
}

#[test]
fn pubsub_messages() {
    let out = decode(&fixture("pubsub.ndjson"));
    let direct = decode(&fixture("entries.ndjson"));
    let lines: Vec<u64> = out.flows.iter().map(|r| r.origin_line).collect();
    assert_eq!(
        lines,
        [1, 2, 3, 3],
        "a one-line array of pull messages shares its line"
    );
    for (row, want) in out.flows.iter().zip([2, 3, 6, 7]) {
        let d = &direct.flows[want];
        assert_eq!(
            FlowRecord {
                origin_line: 0,
                ..row.clone()
            },
            FlowRecord {
                origin_line: 0,
                ..d.clone()
            }
        );
    }
    let reasons: Vec<(u64, &str)> = out
        .rejected
        .iter()
        .map(|r| (r.line, r.reason.as_str()))
        .collect();
    assert_eq!(
        reasons,
        [
            (4, "bad message.data: not base64"),
            (
                5,
                "jsonPayload has no connection (log \"projects/acme-net/logs/compute.googleapis.com%2Ffirewall\"): not a VPC flow log record"
            ),
        ]
    );
}

#[test]
fn bad_lines_cost_one_rejection_each() {
    let input = fixture("bad.ndjson");
    let out = decode(&input);
    assert_eq!(out.flows.len(), 1);
    assert_eq!(out.flows[0].origin_line, 8);
    let reasons: Vec<(u64, &str)> = out
        .rejected
        .iter()
        .map(|r| (r.line, r.reason.as_str()))
        .collect();
    assert_eq!(
        reasons,
        [
            (1, "unterminated JSON value starting at line 1"),
            (
                2,
                "jsonPayload has no connection (log \"projects/acme-net/logs/compute.googleapis.com%2Ffirewall\"): not a VPC flow log record"
            ),
            (3, "bad jsonPayload.connection.src_ip \"10.128.0.300\""),
            (4, "bad jsonPayload.bytes_sent \"12x\""),
            (5, "bad jsonPayload.start_time \"yesterday\""),
            (6, "expected a JSON LogEntry object (or an array of them) per line"),
            (7, "expected a JSON LogEntry object (or an array of them) per line"),
            (9, "unterminated JSON value starting at line 9"),
        ]
    );
    // The truncated first line is kept whole for the dead-letter file.
    assert!(out.rejected[0].raw.starts_with(b"{\"insertId\":\"b1\""));
}

#[test]
fn sniffing_picks_gcp() {
    for name in ["entries.ndjson", "pretty_and_array.json", "pubsub.ndjson"] {
        let data = fixture(name);
        let got = flowtrail_formats::sniff(&data[..data.len().min(4096)], "");
        assert_eq!(got.map(|f| f.name()), Some("gcp_vpc"), "{name}");
    }
}

// ---------------------------------------------------------------------------------------------
// Conformance: shared corpus

type Want = BTreeMap<&'static str, String>;

fn render(row: &FlowRecord<'_>, field: &str) -> String {
    fn opt<T: ToString>(v: Option<T>) -> String {
        v.map_or_else(|| "null".to_string(), |v| v.to_string())
    }
    match field {
        "time" | "start" => row.time.to_string(),
        "end_time" => opt(row.end_time),
        "src_ip" => opt(row.src_ip),
        "src_port" => opt(row.src_port),
        "dst_ip" => opt(row.dst_ip),
        "dst_port" => opt(row.dst_port),
        "protocol" => opt(row.protocol),
        "bytes_out" => opt(row.bytes_out),
        "packets_out" => opt(row.packets_out),
        "bytes_in" => opt(row.bytes_in),
        "flow_state" => opt(row.flow_state.as_deref()),
        "instance" => opt(row.instance.as_deref()),
        "device" => opt(row.device.as_deref()),
        "account" => opt(row.account.as_deref()),
        "region" => opt(row.region.as_deref()),
        "vpc" => opt(row.vpc.as_deref()),
        "subnet" => opt(row.subnet.as_deref()),
        other => panic!("unknown field {other}"),
    }
}

/// Where a peer and we disagree and we judge the peer wrong (or following a convention we do
/// not share): (corpus file, 0-based record, field, reason). Every entry must still be hit.
const PEER_DISAGREEMENTS: &[(&str, usize, &str, &str)] = &[
    (
        "gcp-vpc/sekoia-intake-formats/flow_logs_gke.json",
        0,
        "time",
        "Sekoia stamps @timestamp with the LogEntry's write time (timestamp, 12:09:43.654); the flow starts at start_time 12:09:42.501, which Sekoia itself reports as event.start (matched below)",
    ),
    (
        "gcp-vpc/sekoia-intake-formats/flow_logs_gke2.json",
        0,
        "time",
        "Sekoia stamps @timestamp with the LogEntry's write time (timestamp, 12:09:52.418); the flow starts at start_time 12:09:44.421, which Sekoia itself reports as event.start (matched below)",
    ),
];

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "null".to_string(),
        other => other.to_string(),
    }
}

/// Google's documented reading of a LogEntry, written independently of the decoder.
fn reference(entry: &Value) -> Want {
    let p = &entry["jsonPayload"];
    let c = &p["connection"];
    let side = match p["reporter"].as_str() {
        Some("SRC") => "src",
        Some("DEST") => "dest",
        other => panic!("reporter {other:?}"),
    };
    let inst = &p[format!("{side}_instance")];
    let vpc = &p[format!("{side}_vpc")];
    let canon = |v: &Value| {
        v.as_str()
            .expect("address")
            .parse::<IpAddr>()
            .expect("address")
            .to_string()
    };
    let first_text = |vals: &[&Value]| {
        vals.iter()
            .find(|v| !v.is_null())
            .map_or("null".to_string(), |v| text(v))
    };
    let mut w = Want::new();
    w.insert("src_ip", canon(&c["src_ip"]));
    w.insert("dst_ip", canon(&c["dest_ip"]));
    w.insert("src_port", text(&c["src_port"]));
    w.insert("dst_port", text(&c["dest_port"]));
    w.insert("protocol", text(&c["protocol"]));
    w.insert("bytes_out", text(&p["bytes_sent"]));
    w.insert("packets_out", text(&p["packets_sent"]));
    w.insert("bytes_in", "null".to_string());
    w.insert(
        "time",
        micros(p["start_time"].as_str().expect("start_time")).to_string(),
    );
    w.insert(
        "end_time",
        micros(p["end_time"].as_str().expect("end_time")).to_string(),
    );
    w.insert("flow_state", text(&p["reporter"]));
    w.insert("instance", text(&inst["vm_name"]));
    w.insert("device", text(&inst["vm_name"]));
    w.insert(
        "account",
        first_text(&[
            &inst["project_id"],
            &vpc["project_id"],
            &entry["resource"]["labels"]["project_id"],
        ]),
    );
    w.insert(
        "region",
        first_text(&[&inst["region"], &vpc["subnetwork_region"]]),
    );
    w.insert("vpc", text(&vpc["vpc_name"]));
    w.insert(
        "subnet",
        first_text(&[
            &vpc["subnetwork_name"],
            &entry["resource"]["labels"]["subnetwork_name"],
        ]),
    );
    w
}

#[test]
fn conformance_elastic_entries() {
    let Some(dir) = common::corpus("gcp-vpc") else {
        return;
    };
    let name = "gcp-vpc/elastic-integrations/test-vpcflow-event-first7.ndjson";
    let input = common::read(&dir.join("elastic-integrations/test-vpcflow-event-first7.ndjson"));
    let out = decode(&input);
    assert!(out.rejected.is_empty(), "{:?}", out.rejected);
    let entries: Vec<Value> = input
        .split(|b| *b == b'\n')
        .filter(|l| !l.trim_ascii().is_empty())
        .map(|l| serde_json::from_slice(l).expect("corpus JSON"))
        .collect();
    assert_eq!(out.flows.len(), 7);
    assert_eq!(entries.len(), 7);
    let mut checker = common::PeerCheck::new(PEER_DISAGREEMENTS);
    for (i, (row, entry)) in out.flows.iter().zip(&entries).enumerate() {
        checker.want(name, i, &reference(entry), |f| render(row, f));
        // Every jsonPayload key without a column survives in extra.
        let e = extra(row);
        for (k, v) in entry["jsonPayload"].as_object().expect("payload") {
            if [
                "connection",
                "bytes_sent",
                "packets_sent",
                "start_time",
                "end_time",
                "reporter",
            ]
            .contains(&k.as_str())
            {
                continue;
            }
            assert_eq!(&e[k], v, "{name} record {i} extra.{k}");
        }
    }
    checker.count(name, entries.len());
    checker.finish_where(|f| f.contains("/elastic-integrations/"));
}

/// Builds the expected row from a Sekoia `expected` object.
fn sekoia_want(e: &Value) -> Want {
    let mut w = Want::new();
    let t = |v: &Value| micros(v.as_str().expect("time")).to_string();
    w.insert("time", t(&e["@timestamp"]));
    w.insert("start", t(&e["event"]["start"]));
    w.insert("end_time", t(&e["event"]["end"]));
    w.insert("src_ip", text(&e["source"]["ip"]));
    w.insert("src_port", text(&e["source"]["port"]));
    w.insert("dst_ip", text(&e["destination"]["ip"]));
    w.insert("dst_port", text(&e["destination"]["port"]));
    w.insert("protocol", text(&e["network"]["iana_number"]));
    w.insert("bytes_out", text(&e["network"]["bytes"]));
    w.insert("packets_out", text(&e["network"]["packets"]));
    w.insert("instance", text(&e["host"]["name"]));
    w.insert("account", text(&e["cloud"]["project"]["id"]));
    w.insert("region", text(&e["cloud"]["region"]));
    w.insert("vpc", text(&e["network"]["name"]));
    w.insert(
        "flow_state",
        text(&e["google_vpc_flow_logs"]["jsonPayload"]["reporter"]),
    );
    w
}

#[test]
fn conformance_sekoia_intake_formats() {
    let Some(dir) = common::corpus("gcp-vpc") else {
        return;
    };
    let mut paths: Vec<_> = std::fs::read_dir(dir.join("sekoia-intake-formats"))
        .expect("sekoia dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    assert_eq!(paths.len(), 2);
    let mut checker = common::PeerCheck::new(PEER_DISAGREEMENTS);
    for path in paths {
        let test: Value = serde_json::from_slice(&common::read(&path)).expect("test JSON");
        let name = format!(
            "gcp-vpc/sekoia-intake-formats/{}",
            path.file_name().and_then(|n| n.to_str()).expect("name")
        );
        // The message is a pretty-printed LogEntry: exercised through the multi-line path.
        let message = test["input"]["message"].as_str().expect("input.message");
        assert!(message.lines().count() > 10);
        let out = decode(message.as_bytes());
        assert!(out.rejected.is_empty(), "{name}: {:?}", out.rejected);
        assert_eq!(out.flows.len(), 1, "{name}");
        checker.want(&name, 0, &sekoia_want(&test["expected"]), |f| {
            render(&out.flows[0], f)
        });
        checker.count(&name, 1);
    }
    checker.finish_where(|f| f.contains("/sekoia-intake-formats/"));
}

#[test]
fn corpus_files_sniff_as_gcp() {
    let Some(dir) = common::corpus("gcp-vpc") else {
        return;
    };
    let input = common::read(&dir.join("elastic-integrations/test-vpcflow-event-first7.ndjson"));
    assert_eq!(
        flowtrail_formats::sniff(&input[..input.len().min(4096)], "").map(|f| f.name()),
        Some("gcp_vpc")
    );
}
