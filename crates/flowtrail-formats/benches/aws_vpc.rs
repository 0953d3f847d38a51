//! Decoding throughput of AWS VPC flow logs: the default version 2 format, and a custom
//! version 5 format declared by a header line (every v5 field, so `extra` is built per record).
//!
//! Run with `cargo bench -p flowtrail-formats --bench aws_vpc`.

#[path = "harness.rs"]
mod harness;

use std::fmt::Write as _;

use flowtrail_formats::flow::aws_vpc::AwsVpc;
use flowtrail_formats::DecodeContext;

const LINES: usize = 200_000;

/// A small deterministic generator (xorshift64*), so runs decode identical inputs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Writes one address: mostly private IPv4, some public IPv4, a few IPv6.
fn addr(r: &mut Rng, out: &mut String) {
    match r.below(20) {
        0 => {
            let _ = write!(
                out,
                "2001:db8:{:x}:a100::{:x}",
                r.below(0xffff),
                r.below(0xffff)
            );
        }
        1..=6 => {
            let _ = write!(
                out,
                "{}.{}.{}.{}",
                1 + r.below(222),
                r.below(256),
                r.below(256),
                r.below(256)
            );
        }
        _ => {
            let _ = write!(
                out,
                "10.{}.{}.{}",
                r.below(256),
                r.below(256),
                1 + r.below(254)
            );
        }
    }
}

fn default_v2(lines: usize) -> Vec<u8> {
    let mut r = Rng(0x9E37_79B9_7F4A_7C15);
    let mut out = String::with_capacity(lines * 120);
    // No header line: the layout is the implicit default (as in CloudWatch exports).
    for _ in 0..lines {
        if r.below(200) == 0 {
            let start = 1_700_000_000 + r.below(86_400);
            let _ = writeln!(
                out,
                "2 123456789012 eni-0a1b2c3d4e5f{:05} - - - - - - - {start} {} - NODATA",
                r.below(100_000),
                start + 60
            );
            continue;
        }
        let _ = write!(
            out,
            "2 123456789012 eni-0a1b2c3d4e5f{:05} ",
            r.below(100_000)
        );
        addr(&mut r, &mut out);
        out.push(' ');
        addr(&mut r, &mut out);
        let start = 1_700_000_000 + r.below(86_400);
        let _ = writeln!(
            out,
            " {} {} {} {} {} {start} {} {} OK",
            1024 + r.below(64_000),
            [443, 80, 22, 53, 3389][r.below(5) as usize],
            [6, 6, 6, 17, 1][r.below(5) as usize],
            1 + r.below(5_000),
            40 + r.below(5_000_000),
            start + r.below(60),
            if r.below(10) == 0 { "REJECT" } else { "ACCEPT" },
        );
    }
    out.into_bytes()
}

fn custom_v5(lines: usize) -> Vec<u8> {
    let mut r = Rng(0xD1B5_4A32_D192_ED03);
    let mut out = String::with_capacity(lines * 260);
    out.push_str(
        "version srcaddr dstaddr srcport dstport protocol start end type packets bytes account-id vpc-id \
         subnet-id instance-id interface-id region az-id sublocation-type sublocation-id action tcp-flags \
         pkt-srcaddr pkt-dstaddr pkt-src-aws-service pkt-dst-aws-service traffic-path flow-direction log-status\n",
    );
    for _ in 0..lines {
        let mut src = String::new();
        let mut dst = String::new();
        addr(&mut r, &mut src);
        addr(&mut r, &mut dst);
        let start = 1_700_000_000 + r.below(86_400);
        let egress = r.below(2) == 0;
        let _ = writeln!(
            out,
            "5 {src} {dst} {} {} 6 {start} {} IPv4 {} {} 123456789012 vpc-0abcdefab012345678 \
             subnet-0aaaaaaaa01234567 i-0c50d5961bcb2d47b eni-0a1b2c3d4e5f{:05} us-east-1 use1-az{} - - {} {} \
             {src} {dst} {} - {} {} OK",
            1024 + r.below(64_000),
            [443, 80, 22][r.below(3) as usize],
            start + r.below(60),
            1 + r.below(5_000),
            40 + r.below(5_000_000),
            r.below(100_000),
            1 + r.below(6),
            if r.below(10) == 0 { "REJECT" } else { "ACCEPT" },
            [2, 18, 3, 19, 1][r.below(5) as usize],
            if r.below(4) == 0 { "S3" } else { "-" },
            if egress { "8" } else { "-" },
            if egress { "egress" } else { "ingress" },
        );
    }
    out.into_bytes()
}

fn main() {
    let ctx = DecodeContext::default();
    let v2 = default_v2(LINES);
    harness::bench("aws_vpc default v2 (200k lines)", &AwsVpc, &ctx, &v2);
    let v5 = custom_v5(LINES);
    harness::bench("aws_vpc custom v5 header (200k lines)", &AwsVpc, &ctx, &v5);
}
