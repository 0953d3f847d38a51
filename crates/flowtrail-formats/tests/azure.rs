//! Tests of the Azure NSG and VNet flow log decoders: synthetic fixtures (tests/fixtures/azure)
//! and conformance against the shared corpus (Microsoft documentation samples, Elastic's and
//! Sekoia's test files with their expected outputs).

mod common;

use std::collections::BTreeMap;
use std::net::IpAddr;

use flowtrail_formats::flow::azure::{AzureNsg, AzureVnet};
use flowtrail_formats::time::parse_rfc3339;
use flowtrail_formats::{decode_all, DecodeContext, Format, VecSink};
use flowtrail_schema::{Action, Direction, FlowRecord};
use serde_json::{json, Value};

// ---------------------------------------------------------------------------------------------
// Helpers

fn fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/azure")
        .join(name);
    common::read(&path)
}

fn decode(format: &dyn Format, input: &[u8], origin: &str) -> VecSink {
    let ctx = DecodeContext {
        origin: origin.to_string(),
        ..DecodeContext::default()
    };
    let mut sink = VecSink::default();
    decode_all(format, &ctx, input, &mut sink);
    assert_ordinals(&sink);
    sink
}

/// Checks the numbering contract: rows and rejections together take the ordinals 1..=N, each
/// once, in order of appearance (rows are pushed in order, and so are rejections).
fn assert_ordinals(sink: &VecSink) {
    let mut lines: Vec<u64> = sink.flows.iter().map(|r| r.origin_line).collect();
    assert!(
        lines.windows(2).all(|w| w[0] < w[1]),
        "row ordinals out of order: {lines:?}"
    );
    lines.extend(sink.rejected.iter().map(|r| r.line));
    lines.extend(sink.skipped.iter().map(|s| s.0));
    lines.sort_unstable();
    let want: Vec<u64> = (1..=lines.len() as u64).collect();
    assert_eq!(
        lines, want,
        "ordinals must be 1..=N without gaps or repeats"
    );
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

/// Sums the delta counters of each flow (5-tuple + NIC MAC): (packets, bytes), both directions.
fn flow_totals(rows: &[FlowRecord<'_>]) -> BTreeMap<String, (u64, u64)> {
    let mut out: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for r in rows {
        let key = format!(
            "{:?}:{:?}-{:?}:{:?}/{:?}@{:?}",
            r.src_ip, r.src_port, r.dst_ip, r.dst_port, r.protocol, r.mac
        );
        let e = out.entry(key).or_default();
        e.0 += r.packets_out.unwrap_or(0) + r.packets_in.unwrap_or(0);
        e.1 += r.bytes_out.unwrap_or(0) + r.bytes_in.unwrap_or(0);
    }
    out
}

const NSG_ID: &str = "/SUBSCRIPTIONS/11111111-2222-3333-4444-5555555555AA/RESOURCEGROUPS/SYNTH-RG/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/SYNTH-NSG";
const SUB: &str = "11111111-2222-3333-4444-5555555555aa";

// ---------------------------------------------------------------------------------------------
// Fixtures

#[test]
fn nsg_v1_tuples() {
    let out = decode(&AzureNsg, &fixture("nsg_v1.PT1H.json"), "");
    assert!(out.rejected.is_empty(), "{:?}", out.rejected);
    assert_eq!(out.flows.len(), 5);
    let first = &out.flows[0];
    assert_eq!(
        first,
        &FlowRecord {
            time: 1_710_766_801_000_000,
            origin_line: 1,
            src_ip: ip("192.0.2.10"),
            src_port: Some(51529),
            dst_ip: ip("10.0.0.4"),
            dst_port: Some(5358),
            protocol: Some(6),
            action: Some(Action::Denied),
            direction: Some(Direction::Inbound),
            rule: s("DefaultRule_DenyAllInBound"),
            device: s("SYNTH-NSG"),
            account: s(SUB),
            region: s("SYNTH-RG"),
            mac: s("000D3A000001"),
            ..FlowRecord::default()
        }
    );
    assert_eq!(out.flows[1].protocol, Some(17));
    assert_eq!(out.flows[2].action, Some(Action::Allowed));
    assert_eq!(out.flows[2].rule.as_deref(), Some("UserRule_allow-rdp"));
    assert_eq!(out.flows[3].src_ip, ip("2001:db8::12"));
    assert_eq!(out.flows[4].direction, Some(Direction::Outbound));
    for r in &out.flows {
        assert_eq!(r.flow_state, None, "version 1 has no state");
        assert_eq!(
            (r.bytes_out, r.bytes_in, r.packets_out, r.packets_in),
            (None, None, None, None)
        );
        assert_eq!(r.extra, None);
    }
}

#[test]
fn nsg_v2_bce_counters_sum_to_flow_totals() {
    let out = decode(&AzureNsg, &fixture("nsg_v2_bce.PT1H.json"), "");
    assert!(out.rejected.is_empty(), "{:?}", out.rejected);
    assert_eq!(out.flows.len(), 9);
    // B rows carry no counters; every other row carries its own delta.
    for r in &out.flows {
        let counters = [r.packets_out, r.bytes_out, r.packets_in, r.bytes_in];
        match r.flow_state.as_deref() {
            Some("B") => assert_eq!(counters, [None; 4]),
            Some("C" | "E") => assert!(counters.iter().all(Option::is_some)),
            other => panic!("unexpected state {other:?}"),
        }
    }
    let c = &out.flows[4];
    assert_eq!(
        (
            c.packets_out,
            c.bytes_out,
            c.packets_in,
            c.bytes_in,
            c.origin_line
        ),
        (Some(10), Some(1200), Some(8), Some(9000), 5)
    );
    let totals = flow_totals(&out.flows);
    let key = |src: &str, sp: u16, dst: &str, dp: u16, proto: u8| {
        format!(
            "{:?}:{:?}-{:?}:{:?}/{:?}@{:?}",
            ip(src),
            Some(sp),
            ip(dst),
            Some(dp),
            Some(proto),
            s("000D3A000001")
        )
    };
    // The totals documented in tests/fixtures/azure/README.md.
    let want = BTreeMap::from([
        (key("10.0.0.4", 50000, "203.0.113.10", 443, 6), (31, 14060)),
        (key("198.51.100.7", 40000, "10.0.0.4", 22, 6), (5, 400)),
        (key("192.0.2.50", 5353, "10.0.0.4", 161, 17), (0, 0)),
        (key("10.0.0.4", 50100, "198.51.100.20", 80, 6), (9, 2020)),
    ]);
    assert_eq!(totals, want);
}

#[test]
fn vnet_deny_states_and_encryption() {
    let out = decode(&AzureVnet, &fixture("vnet_deny_encryption.PT1H.json"), "");
    assert!(out.rejected.is_empty(), "{:?}", out.rejected);
    assert_eq!(out.flows.len(), 9);
    let first = &out.flows[0];
    assert_eq!(
        first,
        &FlowRecord {
            time: 1_710_766_810_123_000,
            origin_line: 1,
            src_ip: ip("10.1.0.5"),
            src_port: Some(51000),
            dst_ip: ip("203.0.113.50"),
            dst_port: Some(443),
            protocol: Some(6),
            bytes_out: Some(0),
            bytes_in: Some(0),
            packets_out: Some(0),
            packets_in: Some(0),
            action: Some(Action::Allowed),
            direction: Some(Direction::Outbound),
            flow_state: s("B"),
            rule: s("DefaultRule_AllowInternetOutBound"),
            device: s("SYNTH-FLOWLOG"),
            account: s(SUB),
            region: s("westeurope"),
            vpc: s("/subscriptions/11111111-2222-3333-4444-5555555555aa/resourceGroups/synth-rg/providers/Microsoft.Network/virtualNetworks/synth-vnet"),
            mac: s("0022480A0B0C"),
            extra: s(r#"{"encryption":"X","acl_id":"aaaaaaaa-0000-0000-0000-000000000001"}"#),
            ..FlowRecord::default()
        }
    );
    // Empty counters stay None, written zeros stay Some(0).
    assert_eq!(out.flows[2].bytes_out, None);
    assert_eq!(extra(&out.flows[2])["encryption"], "NX_LOCAL_DST");
    // D = denied, whatever the ACL; the encryption-enforcement drop has `unspecified` ids.
    let denied: Vec<&FlowRecord<'_>> = out
        .flows
        .iter()
        .filter(|r| r.action == Some(Action::Denied))
        .collect();
    assert_eq!(denied.len(), 2);
    assert!(denied.iter().all(|r| r.flow_state.as_deref() == Some("D")));
    assert_eq!(denied[0].rule.as_deref(), Some("unspecified"));
    assert_eq!(
        extra(denied[0]),
        json!({"encryption": "NX_NOT_ACCEPTED", "acl_id": "unspecified"})
    );
    // The 10-digit time is seconds (Microsoft's bandwidth example writes such tuples).
    assert_eq!(denied[1].time, 1_710_766_920_000_000);
    assert_eq!(denied[1].rule.as_deref(), Some("UserRule_DenySSH"));
    let icmp = &out.flows[7];
    assert_eq!(
        (icmp.protocol, icmp.src_port, icmp.dst_port),
        (Some(1), Some(0), Some(0))
    );
    assert_eq!(out.flows[8].src_ip, ip("2001:db8::5"));
    let totals = flow_totals(&out.flows);
    assert_eq!(
        totals.values().map(|t| t.1).sum::<u64>(),
        3400 + 56000 + 500 + 800 + 70 + 130 + 336 * 2
    );
}

#[test]
fn blob_path_fills_missing_identity() {
    let input = fixture("nsg_blob_path.PT1H.json");
    let origin = "https://synth.blob.core.windows.net/insights-logs-networksecuritygroupflowevent/resourceId=/SUBSCRIPTIONS/99999999-8888-7777-6666-5555555555BB/RESOURCEGROUPS/PATH-RG/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/PATH-NSG/y=2024/m=03/d=18/h=13/m=00/macAddress=000D3A000002/PT1H.json";
    let out = decode(&AzureNsg, &input, origin);
    assert!(out.rejected.is_empty(), "{:?}", out.rejected);
    assert_eq!(out.flows.len(), 2);
    for r in &out.flows {
        assert_eq!(
            r.account.as_deref(),
            Some("99999999-8888-7777-6666-5555555555bb")
        );
        assert_eq!(r.region.as_deref(), Some("PATH-RG"));
        assert_eq!(r.device.as_deref(), Some("PATH-NSG"));
    }
    assert_eq!(
        out.flows[0].mac.as_deref(),
        Some("000D3A000002"),
        "MAC from the path"
    );
    assert_eq!(
        out.flows[1].mac.as_deref(),
        Some("000D3A000003"),
        "the record's MAC wins"
    );
    // Without a path, nothing is invented.
    let bare = decode(&AzureNsg, &input, "");
    assert_eq!(
        (
            bare.flows[0].account.as_deref(),
            bare.flows[0].mac.as_deref()
        ),
        (None, None)
    );
    // The record's resourceId wins over the path.
    let v2 = decode(&AzureNsg, &fixture("nsg_v2_bce.PT1H.json"), origin);
    assert_eq!(v2.flows[0].device.as_deref(), Some("SYNTH-NSG"));
    assert_eq!(v2.flows[0].account.as_deref(), Some(SUB));
}

#[test]
fn bad_tuples_are_rejected_and_the_rest_decodes() {
    let out = decode(&AzureNsg, &fixture("nsg_bad_tuples.PT1H.json"), "");
    let rows: Vec<u64> = out.flows.iter().map(|r| r.origin_line).collect();
    assert_eq!(rows, [1, 7, 9]);
    let rejected: Vec<(u64, &str, &[u8])> = out
        .rejected
        .iter()
        .map(|r| (r.line, r.reason.as_str(), r.raw.as_slice()))
        .collect();
    assert_eq!(
        rejected,
        [
            (
                2,
                r#"bad dst_port "99999""#,
                &b"1710766811,10.0.0.4,203.0.113.10,50000,99999,T,O,A,B,,,,"[..]
            ),
            (
                3,
                "bad flow tuple: 12 fields (NSG tuples have 8 in version 1, 13 in version 2)",
                &b"1710766812,10.0.0.4,203.0.113.10,50000,443,T,O,A,B,,,"[..]
            ),
            (
                4,
                "bad flow tuple: a JSON number, not a string",
                &b"number"[..]
            ),
            (
                5,
                r#"bad src_ip "10.0.0.300""#,
                &b"1710766813,10.0.0.300,203.0.113.10,50000,443,T,O,A,E,1,2,3,4"[..]
            ),
            (
                6,
                r#"bad bytes_out "x""#,
                &b"1710766814,10.0.0.4,203.0.113.10,50000,443,T,O,A,E,1,x,3,4"[..]
            ),
            (
                8,
                "NSG flow log record has no `properties.flows`",
                format!(
                    r#"{{"category":"NetworkSecurityGroupFlowEvent","resourceId":"{NSG_ID}"}}"#
                )
                .as_bytes()
            ),
        ]
    );
    assert_eq!(out.flows[2].rule.as_deref(), Some("UserRule_web"));
}

#[test]
fn invalid_json_is_one_rejection_with_position() {
    let input = fixture("nsg_truncated.PT1H.json");
    let out = decode(&AzureNsg, &input, "");
    assert!(out.flows.is_empty());
    assert_eq!(out.rejected.len(), 1);
    let r = &out.rejected[0];
    assert_eq!(r.line, 1);
    assert!(
        r.reason.starts_with("invalid JSON: ") && r.reason.contains(" at line 18 column "),
        "{}",
        r.reason
    );
    assert_eq!(r.raw, input);
    // Not JSON at all, and JSON that is not an object or array.
    let out = decode(
        &AzureVnet,
        b"1663146003599,10.0.0.6,52.239.184.180,23956,443,6,O,B,NX,0,0,0,0\n",
        "",
    );
    assert_eq!(out.rejected.len(), 1);
    assert!(
        out.rejected[0].reason.starts_with("invalid JSON: "),
        "{}",
        out.rejected[0].reason
    );
    let out = decode(&AzureVnet, b"\"text\"", "");
    assert_eq!(
        out.rejected[0].reason,
        "expected a JSON object or array of flow log records, found a string"
    );
    // Nothing at all is nothing.
    let out = decode(&AzureNsg, b" \n\r\n", "");
    assert!(out.flows.is_empty() && out.rejected.is_empty());
}

#[test]
fn ndjson_lines_stand_alone() {
    let out = decode(&AzureNsg, &fixture("nsg_mixed.ndjson"), "");
    let rows: Vec<(u64, Option<&str>)> = out
        .flows
        .iter()
        .map(|r| (r.origin_line, r.rule.as_deref()))
        .collect();
    assert_eq!(
        rows,
        [
            (1, Some("UserRule_a")),
            (2, Some("UserRule_b")),
            (3, Some("UserRule_b")),
            (5, Some("UserRule_c"))
        ]
    );
    assert_eq!(out.rejected.len(), 1);
    let r = &out.rejected[0];
    assert_eq!(r.line, 4);
    assert!(
        r.reason.starts_with("invalid JSON: ") && r.reason.contains("at line 4 column"),
        "{}",
        r.reason
    );
    assert!(r.raw.starts_with(br#"{"time":"2024-03-18T13:03:00"#));
}

#[test]
fn array_of_records() {
    let out = decode(&AzureNsg, &fixture("records_array.json"), "");
    assert!(out.rejected.is_empty(), "{:?}", out.rejected);
    assert_eq!(out.flows.len(), 2);
    assert_eq!(out.flows[1].bytes_out, Some(120));
}

#[test]
fn records_of_the_other_format_are_rejected_by_name() {
    let out = decode(&AzureNsg, &fixture("vnet_deny_encryption.PT1H.json"), "");
    assert!(out.flows.is_empty());
    assert_eq!(out.rejected.len(), 1);
    assert_eq!(
        out.rejected[0].reason,
        "VNet flow log record in a NSG flow log input (decode it with format `azure_vnet`)"
    );
    let out = decode(&AzureVnet, &fixture("nsg_v2_bce.PT1H.json"), "");
    assert!(out.flows.is_empty());
    assert_eq!(out.rejected.len(), 3);
    assert!(out.rejected[0].reason.contains("`azure_nsg`"));
}

#[test]
fn sniffing_picks_the_right_format() {
    for (name, want) in [
        ("nsg_v1.PT1H.json", "azure_nsg"),
        ("nsg_v2_bce.PT1H.json", "azure_nsg"),
        ("nsg_mixed.ndjson", "azure_nsg"),
        ("records_array.json", "azure_nsg"),
        ("vnet_deny_encryption.PT1H.json", "azure_vnet"),
    ] {
        let input = fixture(name);
        let prefix = &input[..input.len().min(1024)];
        let got = flowtrail_formats::sniff(prefix, "").map(|f| f.name());
        assert_eq!(got, Some(want), "{name}");
    }
    assert_eq!(
        AzureNsg.sniff(b"2 123456789012 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 40 1 2 ACCEPT OK"),
        flowtrail_formats::Confidence::No
    );
    assert_eq!(
        AzureVnet.sniff(br#"{"records":[{"category":"NetworkSecurityGroupFlowEvent"}]}"#),
        flowtrail_formats::Confidence::No
    );
}

// ---------------------------------------------------------------------------------------------
// Conformance: shared corpus

/// A row as another implementation (or the documentation) says it should be: field name →
/// rendered value; `"null"` means the field must be absent. Fields not listed are not checked.
type Want = BTreeMap<&'static str, String>;

/// Renders a row's field the way [`Want`] holds it.
fn render(row: &FlowRecord<'_>, field: &str) -> String {
    fn opt<T: ToString>(v: Option<T>) -> String {
        v.map_or_else(|| "null".to_string(), |v| v.to_string())
    }
    match field {
        "time" => row.time.to_string(),
        "src_ip" => opt(row.src_ip),
        "src_port" => opt(row.src_port),
        "dst_ip" => opt(row.dst_ip),
        "dst_port" => opt(row.dst_port),
        "protocol" => opt(row.protocol),
        "bytes_out" => opt(row.bytes_out),
        "bytes_in" => opt(row.bytes_in),
        "packets_out" => opt(row.packets_out),
        "packets_in" => opt(row.packets_in),
        "action" => opt(row.action.map(Action::as_str)),
        "direction" => opt(row.direction.map(Direction::as_str)),
        "flow_state" => opt(row.flow_state.as_deref()),
        "rule" => opt(row.rule.as_deref()),
        "mac" => opt(row.mac.as_deref()),
        "device" => opt(row.device.as_deref()),
        "account" => opt(row.account.as_deref()),
        "region" => opt(row.region.as_deref()),
        "vpc" => opt(row.vpc.as_deref()),
        "encryption" | "acl_id" => match &extra(row)[field] {
            Value::String(v) => v.clone(),
            _ => "null".to_string(),
        },
        other => panic!("unknown field {other}"),
    }
}

/// Where we and a peer disagree and we judge the peer wrong (or following a convention we do
/// not share): (corpus file, 0-based record, field, reason). Every entry must still be hit.
const PEER_DISAGREEMENTS: &[(&str, usize, &str, &str)] = &[
    (
        "azure-nsg/sekoia-intake-formats/test_short.json",
        0,
        "src_ip",
        "Sekoia takes source.ip from the collector-added `source_addr` key (1.3.4.2); the flow tuple's source is 1.2.3.4",
    ),
    (
        "azure-nsg/sekoia-intake-formats/test_short.json",
        0,
        "flow_state",
        "the tuple is version 1 (8 fields, no state); Sekoia reports the collector-added `flow_state: begin` key",
    ),
    (
        "azure-nsg/sekoia-intake-formats/continue.json",
        0,
        "time",
        "Sekoia stamps the row with the record's write time; the flow's time is the tuple's epoch (13:21:06 vs 13:21:42)",
    ),
    (
        "azure-nsg/sekoia-intake-formats/test_begin.json",
        0,
        "time",
        "Sekoia stamps the row with the record's write time (2020); the tuple's epoch is 1493763938 (2017)",
    ),
    (
        "azure-nsg/sekoia-intake-formats/test_end.json",
        0,
        "time",
        "Sekoia stamps the row with the record's write time; the flow's time is the tuple's epoch (22:15:56 vs 22:16:46)",
    ),
    (
        "azure-nsg/sekoia-intake-formats/test_short.json",
        0,
        "time",
        "Sekoia stamps the row with the record's write time; the flow's time is the tuple's epoch (10:54:37 vs 10:55:03)",
    ),
];

fn s_json(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn micros(rfc3339: &str) -> String {
    parse_rfc3339(rfc3339).expect("peer timestamp").to_string()
}

fn mac(v: &str) -> String {
    v.chars()
        .filter(|c| *c != '-' && *c != ':')
        .collect::<String>()
        .to_ascii_uppercase()
}

fn canon_ip(v: &str) -> String {
    v.parse::<IpAddr>().expect("peer address").to_string()
}

fn letter(v: Option<&str>) -> String {
    v.map_or("null", |v| match v {
        "Begin" | "begin" | "start" => "B",
        "Continue" | "continue" => "C",
        "End" | "end" => "E",
        "Deny" | "Denied" | "denied" => "D",
        other => panic!("unknown state {other}"),
    })
    .to_string()
}

/// The documentation's reading of an NSG or VNet document, written independently of the
/// decoder (positional splits, no shared code) to cross-check it.
fn reference_rows(doc: &Value, vnet: bool) -> Vec<Want> {
    let mut out = Vec::new();
    for rec in doc["records"].as_array().expect("records") {
        let (id_key, groups_key, inner_key) = if vnet {
            ("flowLogResourceID", "flowRecords", "flowGroups")
        } else {
            ("resourceId", "properties", "flows")
        };
        let id: Vec<&str> = rec[id_key]
            .as_str()
            .expect("resource id")
            .split('/')
            .collect();
        for outer in rec[groups_key]["flows"].as_array().expect("flows") {
            for inner in outer[inner_key].as_array().expect("inner") {
                let (rule, mac_v) = if vnet {
                    (inner["rule"].as_str(), rec["macAddress"].as_str())
                } else {
                    (outer["rule"].as_str(), inner["mac"].as_str())
                };
                for t in inner["flowTuples"].as_array().expect("tuples") {
                    let f: Vec<&str> = t.as_str().expect("tuple").split(',').collect();
                    let mut w = Want::new();
                    let epoch: i64 = f[0].parse().expect("epoch");
                    w.insert(
                        "time",
                        (if vnet {
                            epoch * 1000
                        } else {
                            epoch * 1_000_000
                        })
                        .to_string(),
                    );
                    w.insert("src_ip", f[1].to_string());
                    w.insert("dst_ip", f[2].to_string());
                    w.insert("src_port", f[3].to_string());
                    w.insert("dst_port", f[4].to_string());
                    let proto = match f[5] {
                        "T" => "6",
                        "U" => "17",
                        n => n,
                    };
                    w.insert("protocol", proto.to_string());
                    w.insert(
                        "direction",
                        if f[6] == "I" { "inbound" } else { "outbound" }.to_string(),
                    );
                    let (decision, state) = if vnet {
                        (f[7], Some(f[7]))
                    } else {
                        (f[7], f.get(8).copied())
                    };
                    w.insert(
                        "action",
                        if decision == "D" { "denied" } else { "allowed" }.to_string(),
                    );
                    w.insert("flow_state", state.unwrap_or("null").to_string());
                    let counters = f.get(9..13);
                    for (name, v) in ["packets_out", "bytes_out", "packets_in", "bytes_in"]
                        .into_iter()
                        .zip(counters.unwrap_or(&["", "", "", ""]))
                    {
                        w.insert(
                            name,
                            if v.is_empty() {
                                "null".to_string()
                            } else {
                                v.to_string()
                            },
                        );
                    }
                    w.insert("rule", rule.expect("rule").to_string());
                    w.insert("mac", mac(mac_v.expect("mac")));
                    w.insert("account", id[2].to_ascii_lowercase());
                    if vnet {
                        w.insert("device", id[id.len() - 1].to_string());
                        w.insert(
                            "region",
                            id[8]
                                .trim_start_matches("NETWORKWATCHER_")
                                .to_ascii_lowercase(),
                        );
                        w.insert(
                            "vpc",
                            rec["targetResourceID"]
                                .as_str()
                                .expect("target")
                                .to_string(),
                        );
                        w.insert("encryption", f[8].to_string());
                        w.insert("acl_id", outer["aclID"].as_str().expect("acl").to_string());
                    } else {
                        w.insert("device", id[8].to_string());
                        w.insert("region", id[4].to_string());
                    }
                    out.push(w);
                }
            }
        }
    }
    out
}

#[test]
fn conformance_azure_docs_samples() {
    let (Some(nsg), Some(vnet)) = (common::corpus("azure-nsg"), common::corpus("azure-vnet"))
    else {
        return;
    };
    let mut checker = common::PeerCheck::new(PEER_DISAGREEMENTS);
    for (dir, file, format, is_vnet, rows) in [
        (
            &nsg,
            "azure-docs/nsg-flow-log-v1-sample.PT1H.json",
            &AzureNsg as &dyn Format,
            false,
            12,
        ),
        (
            &nsg,
            "azure-docs/nsg-flow-log-v2-sample.PT1H.json",
            &AzureNsg,
            false,
            11,
        ),
        (
            &vnet,
            "azure-docs/vnet-flow-log-sample.PT1H.json",
            &AzureVnet,
            true,
            19,
        ),
    ] {
        let input = common::read(&dir.join(file));
        let out = decode(format, &input, "");
        let name = format!(
            "{}/{file}",
            dir.file_name().and_then(|n| n.to_str()).unwrap_or("")
        );
        assert!(out.rejected.is_empty(), "{name}: {:?}", out.rejected);
        let doc: Value = serde_json::from_slice(&input).expect("sample is JSON");
        let want = reference_rows(&doc, is_vnet);
        assert_eq!(want.len(), rows, "{name}: tuples in the sample");
        assert_eq!(out.flows.len(), rows, "{name}: rows");
        for (i, (row, w)) in out.flows.iter().zip(&want).enumerate() {
            checker.want(&name, i, w, |f| render(row, f));
        }
        checker.count(&name, out.flows.len());
    }
    checker.finish_where(|f| f.contains("/azure-docs/"));
}

/// Wraps bare tuples in the smallest record of each format.
fn wrap_tuples(tuples: &Value, vnet: bool) -> Vec<u8> {
    let doc = if vnet {
        json!({"records": [{"category": "FlowLogFlowEvent", "macAddress": "000D3A000009",
            "flowRecords": {"flows": [{"aclID": "acl", "flowGroups": [{"rule": "r", "flowTuples": tuples}]}]}}]})
    } else {
        json!({"records": [{"category": "NetworkSecurityGroupFlowEvent",
            "properties": {"Version": 2, "flows": [{"rule": "r", "flows": [{"mac": "000D3A000009", "flowTuples": tuples}]}]}}]})
    };
    serde_json::to_vec(&doc).expect("serialize")
}

#[test]
fn conformance_bandwidth_examples_sum_deltas() {
    let (Some(nsg), Some(vnet)) = (common::corpus("azure-nsg"), common::corpus("azure-vnet"))
    else {
        return;
    };
    for (path, format, is_vnet) in [
        (
            nsg.join("azure-docs/nsg-flow-tuples-bandwidth-example.json"),
            &AzureNsg as &dyn Format,
            false,
        ),
        (
            vnet.join("azure-docs/vnet-flow-tuples-bandwidth-example.json"),
            &AzureVnet,
            true,
        ),
    ] {
        let example: Value = serde_json::from_slice(&common::read(&path)).expect("example is JSON");
        let out = decode(format, &wrap_tuples(&example["tuples"], is_vnet), "");
        assert!(
            out.rejected.is_empty(),
            "{}: {:?}",
            path.display(),
            out.rejected
        );
        assert_eq!(out.flows.len(), 3);
        let states: Vec<Option<&str>> = out.flows.iter().map(|r| r.flow_state.as_deref()).collect();
        assert_eq!(states, [Some("B"), Some("C"), Some("E")]);
        assert_eq!(out.flows[0].bytes_out, None, "B tuples carry no counters");
        let totals = flow_totals(&out.flows);
        assert_eq!(totals.len(), 1, "one flow");
        let (packets, bytes) = totals.values().next().copied().unwrap_or_default();
        eprintln!(
            "{}: 3 rows, {packets} packets, {bytes} bytes",
            path.display()
        );
        assert_eq!(Some(packets), example["expected"]["total_packets"].as_u64());
        assert_eq!(Some(bytes), example["expected"]["total_bytes"].as_u64());
        if is_vnet {
            // The example's 10-digit times are seconds (a documentation quirk).
            assert_eq!(out.flows[0].time, 1_493_763_938_000_000);
        }
    }
}

/// Builds the expected row of one tuple from Elastic's nested `tuples[]` entry.
fn elastic_tuple(t: &Value, rule: Option<&str>, mac_v: Option<&str>, vnet: bool) -> Want {
    let mut w = Want::new();
    w.insert("time", micros(t["timestamp"].as_str().expect("timestamp")));
    w.insert(
        "src_ip",
        canon_ip(t["source"]["ip"].as_str().expect("source.ip")),
    );
    w.insert(
        "src_port",
        s_json(&t["source"]["port"]).expect("source.port"),
    );
    w.insert(
        "dst_ip",
        canon_ip(t["destination"]["ip"].as_str().expect("destination.ip")),
    );
    w.insert(
        "dst_port",
        s_json(&t["destination"]["port"]).expect("destination.port"),
    );
    for (name, v) in [
        ("bytes_out", &t["bytes"]["sent"]),
        ("bytes_in", &t["bytes"]["received"]),
        ("packets_out", &t["packets"]["sent"]),
        ("packets_in", &t["packets"]["received"]),
    ] {
        w.insert(name, s_json(v).unwrap_or_else(|| "null".to_string()));
    }
    if vnet {
        w.insert("protocol", s_json(&t["protocol"]).expect("protocol"));
        w.insert(
            "direction",
            t["flow"]["direction"]
                .as_str()
                .expect("direction")
                .to_ascii_lowercase(),
        );
        w.insert("flow_state", letter(t["flow"]["state"].as_str()));
        w.insert(
            "encryption",
            t["flow"]["encryption"]
                .as_str()
                .expect("encryption")
                .to_string(),
        );
    } else {
        let proto = match t["protocol"].as_str() {
            Some("TCP") => "6",
            Some("UDP") => "17",
            other => panic!("protocol {other:?}"),
        };
        w.insert("protocol", proto.to_string());
        w.insert(
            "direction",
            t["traffic"]["flow"]
                .as_str()
                .expect("flow")
                .to_ascii_lowercase(),
        );
        w.insert(
            "action",
            t["traffic"]["decision"]
                .as_str()
                .expect("decision")
                .to_ascii_lowercase(),
        );
        w.insert("flow_state", letter(t["flow_state"].as_str()));
    }
    if let Some(rule) = rule {
        w.insert("rule", rule.to_string());
    }
    if let Some(m) = mac_v {
        w.insert("mac", mac(m));
    }
    w
}

#[test]
fn conformance_elastic_integrations() {
    let (Some(nsg), Some(vnet)) = (common::corpus("azure-nsg"), common::corpus("azure-vnet"))
    else {
        return;
    };
    let mut checker = common::PeerCheck::new(PEER_DISAGREEMENTS);
    for (path, name, format, is_vnet, rows) in [
        (
            nsg.join("elastic-integrations/test-nsg.log"),
            "azure-nsg/elastic-integrations/test-nsg.log",
            &AzureNsg as &dyn Format,
            false,
            1,
        ),
        (
            vnet.join("elastic-integrations/test-vnet.log"),
            "azure-vnet/elastic-integrations/test-vnet.log",
            &AzureVnet,
            true,
            2,
        ),
    ] {
        let input = common::read(&path);
        let expected_path = path.with_file_name(format!(
            "{}-expected.json",
            path.file_name().and_then(|n| n.to_str()).expect("name")
        ));
        let expected: Value =
            serde_json::from_slice(&common::read(&expected_path)).expect("expected JSON");
        let docs = expected["expected"].as_array().expect("expected[]");
        let out = decode(format, &input, "");
        assert!(out.rejected.is_empty(), "{name}: {:?}", out.rejected);
        assert_eq!(out.flows.len(), rows, "{name}: rows");
        // One Elastic document per input line, holding that record's tuples in order.
        let mut rows_iter = out.flows.iter();
        let mut compared = 0;
        for (record, doc) in docs.iter().enumerate() {
            let mut doc_rows: Vec<&FlowRecord<'_>> = Vec::new();
            if is_vnet {
                let log = &doc["azure_network_watcher_vnet"]["log"];
                let mac_v = log["mac_address"].as_str();
                for flow in log["records"]["flows"].as_array().expect("flows") {
                    for group in flow["groups"].as_array().expect("groups") {
                        for t in group["tuples"].as_array().expect("tuples") {
                            let mut w = elastic_tuple(t, group["rule"].as_str(), mac_v, true);
                            w.insert(
                                "acl_id",
                                flow["acl_id"].as_str().expect("acl_id").to_string(),
                            );
                            let row = rows_iter.next().expect("a row per tuple");
                            checker.want(name, record, &w, |f| render(row, f));
                            doc_rows.push(row);
                        }
                    }
                }
            } else {
                let log = &doc["azure_network_watcher_nsg"]["log"];
                for rule in log["properties"]["flows"].as_array().expect("flows") {
                    for nic in rule["flows"].as_array().expect("nics") {
                        for t in nic["tuples"].as_array().expect("tuples") {
                            let w =
                                elastic_tuple(t, rule["rule"].as_str(), nic["mac"].as_str(), false);
                            let row = rows_iter.next().expect("a row per tuple");
                            checker.want(name, record, &w, |f| render(row, f));
                            doc_rows.push(row);
                        }
                    }
                }
            }
            compared += doc_rows.len();
            // Elastic's top-level ECS fields are arrays of the record's unique values.
            let set = |f: &dyn Fn(&FlowRecord<'_>) -> Option<String>| -> Vec<String> {
                let mut v: Vec<String> = doc_rows.iter().filter_map(|r| f(r)).collect();
                v.sort();
                v.dedup();
                v
            };
            let theirs = |path: &[&str]| -> Vec<String> {
                let v = path.iter().fold(doc, |v, k| &v[*k]);
                let mut out: Vec<String> = match v {
                    Value::Array(a) => a.iter().filter_map(s_json).collect(),
                    other => s_json(other).into_iter().collect(),
                };
                out.sort();
                out.dedup();
                out
            };
            let ours_src_ip = set(&|r| r.src_ip.map(|i| i.to_string()));
            assert_eq!(ours_src_ip, theirs(&["source", "ip"]), "{name}: source.ip");
            assert_eq!(
                set(&|r| r.dst_ip.map(|i| i.to_string())),
                theirs(&["destination", "ip"]),
                "{name}"
            );
            assert_eq!(
                set(&|r| r.src_port.map(|p| p.to_string())),
                theirs(&["source", "port"]),
                "{name}"
            );
            assert_eq!(
                set(&|r| r.dst_port.map(|p| p.to_string())),
                theirs(&["destination", "port"]),
                "{name}"
            );
            assert_eq!(
                set(&|r| r.bytes_out.map(|p| p.to_string())),
                theirs(&["source", "bytes"]),
                "{name}"
            );
            assert_eq!(
                set(&|r| r.bytes_in.map(|p| p.to_string())),
                theirs(&["destination", "bytes"]),
                "{name}"
            );
            assert_eq!(
                set(&|r| r.packets_out.map(|p| p.to_string())),
                theirs(&["source", "packets"]),
                "{name}"
            );
            assert_eq!(
                set(&|r| r.packets_in.map(|p| p.to_string())),
                theirs(&["destination", "packets"]),
                "{name}"
            );
            assert_eq!(
                set(&|r| r.rule.as_deref().map(str::to_string)),
                theirs(&["rule", "name"]),
                "{name}"
            );
            assert_eq!(
                set(&|r| r.direction.map(|d| d.as_str().to_string())),
                theirs(&["network", "direction"]),
                "{name}"
            );
            if is_vnet {
                assert_eq!(
                    set(&|r| r.protocol.map(|p| p.to_string())),
                    theirs(&["network", "iana_number"]),
                    "{name}"
                );
            } else {
                assert_eq!(
                    set(&|r| r
                        .protocol
                        .and_then(flowtrail_schema::protocol_name)
                        .map(str::to_string)),
                    theirs(&["network", "transport"]),
                    "{name}"
                );
            }
        }
        assert!(
            rows_iter.next().is_none(),
            "{name}: more rows than Elastic tuples"
        );
        checker.count(name, compared);
    }
    checker.finish_where(|f| f.contains("/elastic-integrations/"));
}

/// Builds the expected row from a Sekoia `expected` object.
fn sekoia_want(e: &Value, vnet: bool) -> Want {
    let mut w = Want::new();
    w.insert(
        "time",
        micros(e["@timestamp"].as_str().expect("@timestamp")),
    );
    w.insert(
        "src_ip",
        canon_ip(e["source"]["ip"].as_str().expect("source.ip")),
    );
    w.insert(
        "dst_ip",
        canon_ip(e["destination"]["ip"].as_str().expect("destination.ip")),
    );
    w.insert(
        "src_port",
        s_json(&e["source"]["port"]).expect("source.port"),
    );
    w.insert(
        "dst_port",
        s_json(&e["destination"]["port"]).expect("destination.port"),
    );
    for (name, v) in [
        ("bytes_out", &e["source"]["bytes"]),
        ("bytes_in", &e["destination"]["bytes"]),
        ("packets_out", &e["source"]["packets"]),
        ("packets_in", &e["destination"]["packets"]),
    ] {
        w.insert(name, s_json(v).unwrap_or_else(|| "null".to_string()));
    }
    w.insert(
        "direction",
        e["network"]["direction"]
            .as_str()
            .expect("direction")
            .to_string(),
    );
    w.insert(
        "rule",
        e["rule"]["name"].as_str().expect("rule").to_string(),
    );
    let event_type = e["event"]["type"][0].as_str().expect("event.type");
    if vnet {
        w.insert(
            "protocol",
            s_json(&e["network"]["iana_number"]).expect("iana_number"),
        );
        w.insert(
            "mac",
            mac(e["observer"]["mac"].as_str().expect("observer.mac")),
        );
        w.insert("flow_state", letter(Some(event_type)));
        w.insert(
            "action",
            if event_type == "denied" {
                "denied"
            } else {
                "allowed"
            }
            .to_string(),
        );
        let enc = e["action"]["properties"]["FlowEncryption"]
            .as_str()
            .expect("FlowEncryption");
        w.insert("encryption", enc.to_string());
    } else {
        let proto = match e["network"]["transport"].as_str() {
            Some("tcp") => "6",
            Some("udp") => "17",
            other => panic!("transport {other:?}"),
        };
        w.insert("protocol", proto.to_string());
        w.insert("mac", mac(e["source"]["mac"].as_str().expect("source.mac")));
        w.insert(
            "action",
            if event_type == "allowed" {
                "allowed"
            } else {
                "denied"
            }
            .to_string(),
        );
        w.insert(
            "flow_state",
            letter(e["action"]["properties"]["FlowState"].as_str()),
        );
    }
    w
}

#[test]
fn conformance_sekoia_intake_formats() {
    let (Some(nsg), Some(vnet)) = (common::corpus("azure-nsg"), common::corpus("azure-vnet"))
    else {
        return;
    };
    let mut checker = common::PeerCheck::new(PEER_DISAGREEMENTS);
    for (dir, label, format, is_vnet, files) in [
        (&nsg, "azure-nsg", &AzureNsg as &dyn Format, false, 4),
        (&vnet, "azure-vnet", &AzureVnet, true, 6),
    ] {
        let mut paths: Vec<_> = std::fs::read_dir(dir.join("sekoia-intake-formats"))
            .expect("sekoia dir")
            .map(|e| e.expect("dir entry").path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        paths.sort();
        assert_eq!(paths.len(), files, "{label}: Sekoia test files");
        for path in paths {
            let test: Value = serde_json::from_slice(&common::read(&path)).expect("test JSON");
            let name = format!(
                "{label}/sekoia-intake-formats/{}",
                path.file_name().and_then(|n| n.to_str()).expect("name")
            );
            let message = test["input"]["message"].as_str().expect("input.message");
            let out = decode(format, message.as_bytes(), "");
            assert!(out.rejected.is_empty(), "{name}: {:?}", out.rejected);
            assert_eq!(out.flows.len(), 1, "{name}: one flattened tuple");
            checker.want(&name, 0, &sekoia_want(&test["expected"], is_vnet), |f| {
                render(&out.flows[0], f)
            });
            checker.count(&name, 1);
        }
    }
    checker.finish_where(|f| f.contains("/sekoia-intake-formats/"));
}
