//! Benchmarks the line-oriented flow decoders on generated in-memory inputs of 100k records:
//! Zeek conn.log (TSV and JSON), GCP VPC Flow Logs (NDJSON LogEntries) and nfdump CSV.

#[path = "harness.rs"]
mod harness;

use std::fmt::Write;

use flowtrail_formats::flow::gcp_vpc::GcpVpc;
use flowtrail_formats::flow::nfdump_csv::NfdumpCsv;
use flowtrail_formats::flow::zeek_conn::ZeekConn;
use flowtrail_formats::{decode_all, DecodeContext, Format, VecSink};

const RECORDS: usize = 100_000;

fn addr(n: usize) -> (usize, usize, usize) {
    ((n >> 8) & 0xff, n & 0xff, (n * 7) & 0xff)
}

fn zeek_tsv() -> Vec<u8> {
    let mut out = String::from(
        "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n#open\t2024-02-01-10-00-00\n\
         #fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents\tip_proto\n\
         #types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tbool\tbool\tcount\tstring\tcount\tcount\tcount\tcount\tset[string]\tcount\n",
    );
    for n in 0..RECORDS {
        let (a, b, c) = addr(n);
        let udp = n % 4 == 0;
        let _ = writeln!(
            out,
            "{}.{:06}\tC{n:017}\t10.{a}.{b}.4\t{}\t203.0.{c}.{b}\t{}\t{}\t{}\t{}.{:06}\t{}\t{}\t{}\tT\tF\t0\t{}\t{}\t{}\t{}\t{}\t(empty)\t{}",
            1_706_781_600 + n / 10,
            n % 1_000_000,
            40_000 + n % 20_000,
            if udp { 53 } else { 443 },
            if udp { "udp" } else { "tcp" },
            if udp { "dns" } else { "ssl" },
            n % 30,
            (n * 13) % 1_000_000,
            n % 9000 + 40,
            n % 70000 + 60,
            if udp { "SF" } else { ["SF", "S0", "RSTO", "REJ"][n % 4] },
            if udp { "Dd" } else { "ShADadFf" },
            n % 50 + 1,
            n % 9000 + 1500,
            n % 40 + 1,
            n % 70000 + 2000,
            if udp { 17 } else { 6 },
        );
    }
    out.push_str("#close\t2024-02-01-11-00-00\n");
    out.into_bytes()
}

fn zeek_json() -> Vec<u8> {
    let mut out = String::new();
    for n in 0..RECORDS {
        let (a, b, c) = addr(n);
        let _ = writeln!(
            out,
            "{{\"ts\":{}.{:06},\"uid\":\"C{n:017}\",\"id.orig_h\":\"10.{a}.{b}.4\",\"id.orig_p\":{},\"id.resp_h\":\"203.0.{c}.{b}\",\"id.resp_p\":443,\
             \"proto\":\"tcp\",\"service\":\"ssl\",\"duration\":{}.{:06},\"orig_bytes\":{},\"resp_bytes\":{},\"conn_state\":\"SF\",\"local_orig\":true,\
             \"local_resp\":false,\"missed_bytes\":0,\"history\":\"ShADadFf\",\"orig_pkts\":{},\"orig_ip_bytes\":{},\"resp_pkts\":{},\"resp_ip_bytes\":{},\"tunnel_parents\":[]}}",
            1_706_781_600 + n / 10,
            n % 1_000_000,
            40_000 + n % 20_000,
            n % 30,
            (n * 13) % 1_000_000,
            n % 9000 + 40,
            n % 70000 + 60,
            n % 50 + 1,
            n % 9000 + 1500,
            n % 40 + 1,
            n % 70000 + 2000,
        );
    }
    out.into_bytes()
}

fn gcp() -> Vec<u8> {
    let mut out = String::new();
    for n in 0..RECORDS {
        let (a, b, c) = addr(n);
        let src = n % 2 == 0;
        let (side, other_loc) = if src {
            ("src", "dest")
        } else {
            ("dest", "src")
        };
        let _ = writeln!(
            out,
            "{{\"insertId\":\"i{n:012}\",\"jsonPayload\":{{\"bytes_sent\":\"{}\",\"connection\":{{\"dest_ip\":\"203.0.{c}.{b}\",\"dest_port\":443,\"protocol\":6,\
             \"src_ip\":\"10.{a}.{b}.4\",\"src_port\":{}}},\"{other_loc}_location\":{{\"asn\":64500,\"continent\":\"Europe\",\"country\":\"fra\"}},\
             \"end_time\":\"2024-03-01T10:{:02}:{:02}.998877665Z\",\"packets_sent\":\"{}\",\"reporter\":\"{}\",\"rtt_msec\":\"14\",\
             \"{side}_instance\":{{\"project_id\":\"acme-web\",\"region\":\"europe-west1\",\"vm_name\":\"web-{}\",\"zone\":\"europe-west1-b\"}},\
             \"{side}_vpc\":{{\"project_id\":\"acme-net\",\"subnetwork_name\":\"web\",\"vpc_name\":\"prod-vpc\"}},\"start_time\":\"2024-03-01T10:{:02}:{:02}.112233445Z\"}},\
             \"logName\":\"projects/acme-net/logs/compute.googleapis.com%2Fvpc_flows\",\"receiveTimestamp\":\"2024-03-01T11:00:31.123456789Z\",\
             \"resource\":{{\"labels\":{{\"location\":\"europe-west1-b\",\"project_id\":\"acme-net\",\"subnetwork_id\":\"1001\",\"subnetwork_name\":\"web\"}},\"type\":\"gce_subnetwork\"}},\
             \"timestamp\":\"2024-03-01T11:00:30.1Z\"}}",
            n % 90000 + 60,
            40_000 + n % 20_000,
            (n / 60) % 60,
            n % 60,
            n % 80 + 1,
            if src { "SRC" } else { "DEST" },
            n % 16,
            (n / 60) % 60,
            n % 60,
        );
    }
    out.into_bytes()
}

fn nfdump() -> Vec<u8> {
    let mut out = String::from(
        "ts,te,td,sa,da,sp,dp,pr,flg,fwd,stos,ipkt,ibyt,opkt,obyt,in,out,sas,das,smk,dmk,dtos,dir,nh,nhb,svln,dvln,ismc,odmc,idmc,osmc,mpls1,mpls2,mpls3,mpls4,mpls5,mpls6,mpls7,mpls8,mpls9,mpls10,cl,sl,al,ra,eng,exid,tr\n",
    );
    for n in 0..RECORDS {
        let (a, b, c) = addr(n);
        let udp = n % 4 == 0;
        let (m, s) = ((n / 60) % 60, n % 60);
        let _ = writeln!(
            out,
            "2024-01-05 10:{m:02}:{s:02},2024-01-05 10:{m:02}:{s:02},1.500,10.{a}.{b}.4,203.0.{c}.{b},{},{},{},{},0,0,{},{},0,0,3,7,0,64500,24,0,0,0,192.0.2.1,0.0.0.0,0,0,\
             00:00:00:00:00:00,00:00:00:00:00:00,00:00:00:00:00:00,00:00:00:00:00:00,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,    0.000,    0.000,    0.000,192.0.2.254,0/0,1,2024-01-05 10:{m:02}:{s:02}.500",
            40_000 + n % 20_000,
            if udp { 53 } else { 443 },
            if udp { "UDP" } else { "TCP" },
            if udp { "........" } else { "...AP.SF" },
            n % 50 + 1,
            n % 70000 + 60,
        );
    }
    out.push_str("Summary\nflows,bytes,packets,avg_bps,avg_pps,avg_bpp\n100000,1,1,1,1,1\n");
    out.into_bytes()
}

/// Checks that every generated record decodes (so the benchmark measures the happy path).
fn check(name: &str, format: &dyn Format, ctx: &DecodeContext, input: &[u8]) {
    let mut sink = VecSink::default();
    decode_all(format, ctx, input, &mut sink);
    assert!(
        sink.rejected.is_empty(),
        "{name}: {:?}",
        sink.rejected.first()
    );
    assert_eq!(sink.flows.len(), RECORDS, "{name}");
}

fn main() {
    let ctx = DecodeContext::default();
    let cases: [(&str, &dyn Format, Vec<u8>); 4] = [
        ("zeek_conn TSV (100k records)", &ZeekConn, zeek_tsv()),
        ("zeek_conn JSON (100k records)", &ZeekConn, zeek_json()),
        ("gcp_vpc NDJSON (100k entries)", &GcpVpc, gcp()),
        ("nfdump_csv 1.7 layout (100k rows)", &NfdumpCsv, nfdump()),
    ];
    for (name, format, input) in &cases {
        check(name, *format, &ctx, input);
        harness::bench(name, *format, &ctx, input);
    }
}
