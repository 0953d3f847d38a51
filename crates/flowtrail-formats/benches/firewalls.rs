//! Benchmarks the firewall decoders (Cisco ASA, PAN-OS, FortiGate) on generated in-memory syslog
//! files of about 100k lines each, headers included.

#[path = "harness.rs"]
mod harness;

use std::fmt::Write;

use flowtrail_formats::flow::cisco_asa::CiscoAsa;
use flowtrail_formats::flow::fortigate::Fortigate;
use flowtrail_formats::flow::panos::PanOs;
use flowtrail_formats::DecodeContext;

const LINES: usize = 100_000;

/// ASA: built/teardown pairs (two lines per connection, interleaved by 50 connections), one deny
/// and one skipped NAT message every 20 lines.
fn asa() -> Vec<u8> {
    let mut out = String::with_capacity(LINES * 200);
    let mut n = 0;
    while n < LINES {
        let base = n;
        for k in 0..50 {
            let id = base + k;
            let (a, b) = ((id >> 8) & 0xff, id & 0xff);
            let _ = writeln!(
                out,
                "<166>Mar 18 2024 13:{:02}:{:02} asa-fw-01 : %ASA-6-302013: Built outbound TCP connection {id} for outside:203.0.{a}.{b}/443 (203.0.{a}.{b}/443) to inside:10.0.{a}.{b}/{} (198.51.100.7/{})",
                (id / 60) % 60,
                id % 60,
                40_000 + id % 20_000,
                20_000 + id % 20_000
            );
        }
        for k in 0..50 {
            let id = base + k;
            let (a, b) = ((id >> 8) & 0xff, id & 0xff);
            let _ = writeln!(
                out,
                "<166>Mar 18 2024 13:{:02}:{:02} asa-fw-01 : %ASA-6-302014: Teardown TCP connection {id} for outside:203.0.{a}.{b}/443 to inside:10.0.{a}.{b}/{} duration 0:00:{:02} bytes {} TCP FINs",
                (id / 60 + 1) % 60,
                id % 60,
                40_000 + id % 20_000,
                id % 60,
                id * 37 % 1_000_000
            );
            if k % 10 == 0 {
                let _ = writeln!(
                    out,
                    "<164>Mar 18 2024 13:{:02}:{:02} asa-fw-01 : %ASA-4-106023: Deny tcp src outside:192.0.2.{b}/{} dst inside:10.0.0.{a}/22 by access-group \"outside_in\" [0x0, 0x0]",
                    (id / 60) % 60,
                    id % 60,
                    1024 + id % 60_000
                );
                let _ = writeln!(
                    out,
                    "<166>Mar 18 2024 13:{:02}:{:02} asa-fw-01 : %ASA-6-305011: Built dynamic TCP translation from inside:10.0.{a}.{b}/40000 to outside:198.51.100.7/20000",
                    (id / 60) % 60,
                    id % 60
                );
            }
        }
        n += 110;
    }
    out.into_bytes()
}

/// PAN-OS: TRAFFIC end logs in the 10.x layout (with a high-resolution timestamp), one start log
/// (skipped) in ten.
fn panos() -> Vec<u8> {
    let mut out = String::with_capacity(LINES * 600);
    for n in 0..LINES {
        let (a, b) = ((n >> 8) & 0xff, n & 0xff);
        let subtype = if n % 10 == 0 { "start" } else { "end" };
        let (m, s) = ((n / 60) % 60, n % 60);
        let _ = write!(
            out,
            "<14>Mar 18 13:{m:02}:{s:02} PA-3220 1,2024/03/18 13:{m:02}:{s:02},015351000012345,TRAFFIC,{subtype},2561,2024/03/18 13:{m:02}:{s:02},10.0.{a}.{b},203.0.113.{b},198.51.100.7,203.0.113.{b},allow-web,corp\\user{b},,ssl,vsys1,trust,untrust,ethernet1/2,ethernet1/1,default,2024/03/18 13:{m:02}:{s:02},{n},1,{},443,{},443,0x400053,tcp,allow,{},{},{},{},2024/03/18 13:{m:02}:00,{s},computer-and-internet-info,0,{n},0x0,10.0.0.0-10.255.255.255,United States,0,{},{},tcp-fin,0,0,0,0,,PA-3220,from-policy,,,0,,0,,N/A,0,0,0,0,11111111-2222-3333-4444-555555555555,0,0",
            40_000 + n % 20_000,
            20_000 + n % 20_000,
            n % 90_000 + 1500,
            n % 9_000 + 500,
            n % 80_000 + 1000,
            n % 40 + 10,
            n % 20 + 5,
            n % 20 + 5
        );
        for _ in 68..103 {
            out.push(',');
        }
        let _ = writeln!(out, ",2024-03-18T13:{m:02}:{s:02}.250+00:00,,,,,,,,,,,,,");
    }
    out.into_bytes()
}

/// FortiGate: forward traffic end logs in the default key=value format.
fn fortigate() -> Vec<u8> {
    let mut out = String::with_capacity(LINES * 700);
    for n in 0..LINES {
        let (a, b) = ((n >> 8) & 0xff, n & 0xff);
        let action = ["close", "timeout", "client-rst", "deny"][n % 4];
        let _ = writeln!(
            out,
            "<189>date=2024-03-18 time=13:{:02}:{:02} devname=\"FGT-EDGE\" devid=\"FGT60F0000000001\" eventtime={} tz=\"+0000\" logid=\"0000000013\" type=\"traffic\" subtype=\"forward\" level=\"notice\" vd=\"root\" srcip=10.0.{a}.{b} srcport={} srcintf=\"internal\" srcintfrole=\"lan\" dstip=203.0.113.{b} dstport=443 dstintf=\"wan1\" dstintfrole=\"wan\" srccountry=\"Reserved\" dstcountry=\"United States\" sessionid={n} proto=6 action=\"{action}\" policyid=12 policytype=\"policy\" poluuid=\"ccb269e0-5735-51e9-a218-a397dd08b7eb\" policyname=\"LAN to Internet\" service=\"HTTPS\" trandisp=\"snat\" transip=198.51.100.7 transport={} appcat=\"unscanned\" duration={} sentbyte={} rcvdbyte={} sentpkt={} rcvdpkt={} osname=\"Windows\" srcmac=\"02:00:00:00:00:01\"",
            (n / 60) % 60,
            n % 60,
            1_710_767_400_000_000_000u64 + n as u64 * 1_000_000_000,
            40_000 + n % 20_000,
            20_000 + n % 20_000,
            n % 300,
            n % 90_000 + 1500,
            n % 80_000 + 1000,
            n % 40 + 10,
            n % 20 + 5
        );
    }
    out.into_bytes()
}

fn main() {
    let ctx = DecodeContext::default();
    harness::bench("cisco_asa (built/teardown pairs)", &CiscoAsa, &ctx, &asa());
    harness::bench("panos (TRAFFIC, 10.x layout)", &PanOs, &ctx, &panos());
    harness::bench(
        "fortigate (traffic key=value)",
        &Fortigate,
        &ctx,
        &fortigate(),
    );
}
