//! Benchmarks the web-server and proxy decoders on generated in-memory inputs of 100k records:
//! nginx combined (and the same lines through a compiled `log_format`), IIS W3C with its
//! default `#Fields`, headerless IIS, Squid native and AWS ALB.

#[path = "harness.rs"]
mod harness;

use std::fmt::Write;

use flowtrail_formats::http::aws_alb::AwsAlb;
use flowtrail_formats::http::iis::Iis;
use flowtrail_formats::http::nginx::{decoder_for_log_format, Nginx};
use flowtrail_formats::http::squid::Squid;
use flowtrail_formats::{DecodeContext, Decoder};

const RECORDS: usize = 100_000;

const AGENTS: [&str; 3] = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
    "curl/8.5.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1",
];

fn nginx_combined() -> Vec<u8> {
    let mut out = String::new();
    for n in 0..RECORDS {
        let _ = writeln!(
            out,
            "10.{}.{}.{} - - [31/Jan/2024:12:{:02}:{:02} +0100] \"GET /shop/item/{}?ref=home&page={} HTTP/1.1\" {} {} \"https://www.example.com/\" \"{}\"",
            (n >> 16) & 0xff,
            (n >> 8) & 0xff,
            n & 0xff,
            (n / 60) % 60,
            n % 60,
            n % 5000,
            n % 7,
            [200, 200, 304, 404][n % 4],
            n % 90_000 + 100,
            AGENTS[n % 3],
        );
    }
    out.into_bytes()
}

fn iis(header: bool) -> Vec<u8> {
    let mut out = String::new();
    if header {
        out.push_str("#Software: Microsoft Internet Information Services 10.0\n#Version: 1.0\n#Date: 2024-01-31 00:00:00\n#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken\n");
    }
    for n in 0..RECORDS {
        let _ = writeln!(
            out,
            "2024-01-31 {:02}:{:02}:{:02} 10.0.0.5 GET /app/page{}.aspx id={} 443 - 198.51.{}.{} {} https://www.example.com/ {} 0 0 {}",
            (n / 3600) % 24,
            (n / 60) % 60,
            n % 60,
            n % 300,
            n,
            (n >> 8) & 0xff,
            n & 0xff,
            AGENTS[n % 3].replace(' ', "+"),
            [200, 302, 404][n % 3],
            n % 900,
        );
    }
    out.into_bytes()
}

fn squid() -> Vec<u8> {
    let mut out = String::new();
    for n in 0..RECORDS {
        if n % 3 == 0 {
            let _ = writeln!(
                out,
                "{}.{:03} {:6} 10.1.{}.{} TCP_TUNNEL/200 {} CONNECT api{}.example.com:443 - HIER_DIRECT/203.0.113.{} -",
                1_706_781_600 + n / 10,
                n % 1000,
                n % 60_000,
                (n >> 8) & 0xff,
                n & 0xff,
                n % 90_000 + 500,
                n % 50,
                n % 250,
            );
        } else {
            let _ = writeln!(
                out,
                "{}.{:03} {:6} 10.1.{}.{} TCP_MISS/200 {} GET http://www.example{}.co.uk/path/{}?q={} alice HIER_DIRECT/198.51.100.{} text/html",
                1_706_781_600 + n / 10,
                n % 1000,
                n % 60_000,
                (n >> 8) & 0xff,
                n & 0xff,
                n % 90_000 + 500,
                n % 50,
                n % 1000,
                n,
                n % 250,
            );
        }
    }
    out.into_bytes()
}

fn alb() -> Vec<u8> {
    let mut out = String::new();
    for n in 0..RECORDS {
        let _ = writeln!(
            out,
            "https 2024-01-31T12:{:02}:{:02}.{:06}Z app/my-lb/50dc6c495c0c9188 198.51.{}.{}:{} 10.0.0.{}:80 0.001 0.0{:02} 0.000 200 200 {} {} \"GET https://www.example.com:443/api/v1/items/{}?x={} HTTP/1.1\" \"{}\" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/tg/73e2d6bc24d8a067 \"Root=1-65ba3a40-{:024x}\" \"www.example.com\" \"arn:aws:acm:us-east-2:123456789012:certificate/12345678-1234-1234-1234-123456789012\" 1 2024-01-31T12:00:00.000000Z \"forward\" \"-\" \"-\" \"10.0.0.{}:80\" \"200\" \"-\" \"-\" TID_{:016x}",
            (n / 60) % 60,
            n % 60,
            n % 1_000_000,
            (n >> 8) & 0xff,
            n & 0xff,
            1024 + n % 60_000,
            n % 250,
            n % 100,
            n % 900 + 100,
            n % 90_000 + 200,
            n % 5000,
            n,
            AGENTS[n % 3],
            n,
            n % 250,
            n,
        );
    }
    out.into_bytes()
}

/// A `Format` wrapper around a compiled log format, for the harness.
struct Compiled(&'static str);

impl flowtrail_formats::Format for Compiled {
    fn name(&self) -> &'static str {
        "nginx_log_format"
    }
    fn description(&self) -> &'static str {
        "compiled nginx log_format"
    }
    fn record_kind(&self) -> flowtrail_formats::RecordKind {
        flowtrail_formats::RecordKind::Http
    }
    fn decoder(&self, _ctx: &DecodeContext) -> Box<dyn Decoder> {
        decoder_for_log_format(self.0).expect("format compiles")
    }
    fn sniff(&self, _prefix: &[u8]) -> flowtrail_formats::Confidence {
        flowtrail_formats::Confidence::No
    }
}

fn main() {
    let ctx = DecodeContext::default();
    let combined = nginx_combined();
    harness::bench("nginx combined", &Nginx, &ctx, &combined);
    harness::bench(
        "nginx combined (log_format)",
        &Compiled("combined"),
        &ctx,
        &combined,
    );
    harness::bench("iis W3C (#Fields)", &Iis, &ctx, &iis(true));
    harness::bench("iis W3C (headerless)", &Iis, &ctx, &iis(false));
    harness::bench("squid native", &Squid, &ctx, &squid());
    harness::bench("aws_alb", &AwsAlb, &ctx, &alb());
}
