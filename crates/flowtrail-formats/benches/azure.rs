//! Benchmarks the Azure decoders on generated in-memory `PT1H.json` blobs of about 100k tuples.

#[path = "harness.rs"]
mod harness;

use std::fmt::Write;

use flowtrail_formats::flow::azure::{AzureNsg, AzureVnet};
use flowtrail_formats::{decode_all, DecodeContext, Format, VecSink};

const RECORDS: usize = 60;
const GROUPS: usize = 4;
const TUPLES_PER_GROUP: usize = 417; // 60 × 4 × 417 = 100 080 tuples

/// Returns one tuple: v2 NSG (`T`/`U`, A/D, B/C/E) or VNet (protocol number, state, encryption).
fn tuple(out: &mut String, vnet: bool, n: usize) {
    let t = 1_710_766_800 + n / 30;
    let (a, b, c) = ((n >> 8) & 0xff, n & 0xff, (n * 7) & 0xff);
    let state = ["B", "C", "E"][n % 3];
    let counters = if state == "B" {
        String::from(",,,")
    } else {
        format!(
            "{},{},{},{}",
            n % 50 + 1,
            n % 9000 + 60,
            n % 40 + 1,
            n % 70000 + 60
        )
    };
    if vnet {
        let state = if n.is_multiple_of(11) { "D" } else { state };
        let enc = if n.is_multiple_of(5) { "X" } else { "NX" };
        let _ = writeln!(
            out,
            "\"{}{:03},10.{a}.{b}.4,203.0.{c}.{b},{},443,6,{},{state},{enc},{counters}\",",
            t,
            n % 1000,
            40_000 + n % 20_000,
            if n.is_multiple_of(2) { "O" } else { "I" }
        );
    } else {
        let _ = writeln!(
            out,
            "\"{t},10.{a}.{b}.4,203.0.{c}.{b},{},443,{},{},{},{state},{counters}\",",
            40_000 + n % 20_000,
            if n.is_multiple_of(4) { "U" } else { "T" },
            if n.is_multiple_of(2) { "O" } else { "I" },
            if n.is_multiple_of(13) { "D" } else { "A" }
        );
    }
}

/// Builds a pretty-ish `{"records":[...]}` document in Network Watcher's layout.
fn document(vnet: bool) -> Vec<u8> {
    let mut out = String::from("{\"records\":[\n");
    let mut n = 0;
    for r in 0..RECORDS {
        if r > 0 {
            out.push_str(",\n");
        }
        if vnet {
            let _ = write!(
                out,
                "{{\"time\":\"2024-03-18T13:{r:02}:00.0000000Z\",\"flowLogVersion\":4,\"flowLogGUID\":\"abababab-0000-1111-2222-333333333333\",\
                 \"macAddress\":\"0022480A0B0C\",\"category\":\"FlowLogFlowEvent\",\
                 \"flowLogResourceID\":\"/SUBSCRIPTIONS/11111111-2222-3333-4444-5555555555AA/RESOURCEGROUPS/NETWORKWATCHERRG/PROVIDERS/MICROSOFT.NETWORK/NETWORKWATCHERS/NETWORKWATCHER_WESTEUROPE/FLOWLOGS/BENCH\",\
                 \"targetResourceID\":\"/subscriptions/11111111-2222-3333-4444-5555555555aa/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/vnet\",\
                 \"operationName\":\"FlowLogFlowEvent\",\"flowRecords\":{{\"flows\":["
            );
        } else {
            let _ = write!(
                out,
                "{{\"time\":\"2024-03-18T13:{r:02}:00.0000000Z\",\"systemId\":\"0a0a0a0a-1b1b-2c2c-3d3d-4e4e4e4e4e4e\",\
                 \"category\":\"NetworkSecurityGroupFlowEvent\",\
                 \"resourceId\":\"/SUBSCRIPTIONS/11111111-2222-3333-4444-5555555555AA/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/BENCH-NSG\",\
                 \"operationName\":\"NetworkSecurityGroupFlowEvents\",\"properties\":{{\"Version\":2,\"flows\":["
            );
        }
        for g in 0..GROUPS {
            if g > 0 {
                out.push(',');
            }
            if vnet {
                let _ = writeln!(
                    out,
                    "{{\"aclID\":\"aaaaaaaa-0000-0000-0000-00000000000{g}\",\"flowGroups\":[{{\"rule\":\"UserRule_{g}\",\"flowTuples\":["
                );
            } else {
                let _ = writeln!(
                    out,
                    "{{\"rule\":\"UserRule_{g}\",\"flows\":[{{\"mac\":\"000D3A00000{g}\",\"flowTuples\":["
                );
            }
            for _ in 0..TUPLES_PER_GROUP {
                tuple(&mut out, vnet, n);
                n += 1;
            }
            // Drop the last comma (and its newline).
            out.truncate(out.len() - 2);
            out.push_str("]}]}");
        }
        out.push_str("]}}");
    }
    out.push_str("\n]}\n");
    out.into_bytes()
}

/// Checks that every generated tuple decodes (so the benchmark measures the happy path).
fn check(format: &dyn Format, ctx: &DecodeContext, input: &[u8]) {
    let mut sink = VecSink::default();
    decode_all(format, ctx, input, &mut sink);
    assert!(sink.rejected.is_empty(), "{:?}", sink.rejected.first());
    assert_eq!(sink.flows.len(), RECORDS * GROUPS * TUPLES_PER_GROUP);
}

fn main() {
    let ctx = DecodeContext::default();
    let nsg = document(false);
    check(&AzureNsg, &ctx, &nsg);
    harness::bench(
        "azure_nsg PT1H.json (100k v2 tuples)",
        &AzureNsg,
        &ctx,
        &nsg,
    );
    let vnet = document(true);
    check(&AzureVnet, &ctx, &vnet);
    harness::bench(
        "azure_vnet PT1H.json (100k tuples)",
        &AzureVnet,
        &ctx,
        &vnet,
    );
}
