//! Tests of the web-server and proxy decoders (nginx, apache, iis, squid, aws_alb): synthetic
//! fixtures (tests/fixtures/<format>) and conformance against the shared corpus, where every row
//! is compared, field by field, with the outputs of other projects (Elastic, Sekoia, VRL) read
//! here with `serde_json::Value`. A disagreement judged to be the peer's error is listed in
//! `PEER_DISAGREEMENTS` with the reason; every entry must be hit.

mod common;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use flowtrail_formats::http::aws_alb::AwsAlb;
use flowtrail_formats::http::iis::Iis;
use flowtrail_formats::http::nginx::{decoder_for_log_format, Apache, Nginx};
use flowtrail_formats::http::squid::Squid;
use flowtrail_formats::time::parse_rfc3339;
use flowtrail_formats::{decode_all, DecodeContext, Format, HttpRecord, RecordSink, VecSink};
use flowtrail_schema::Action;
use serde_json::{json, Value};

// ---------------------------------------------------------------------------------------------
// Helpers

fn fixture(dir: &str, name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(dir)
        .join(name);
    common::read(&path)
}

fn decode(format: &dyn Format, input: &[u8]) -> VecSink {
    decode_ctx(format, &DecodeContext::default(), input)
}

fn decode_ctx(format: &dyn Format, ctx: &DecodeContext, input: &[u8]) -> VecSink {
    let mut sink = VecSink::default();
    decode_all(format, ctx, input, &mut sink);
    assert_accounting(input, &sink);
    sink
}

/// Decodes with a decoder compiled from a log format.
fn decode_with_format(log_format: &str, input: &[u8]) -> VecSink {
    let mut dec = decoder_for_log_format(log_format).expect("format compiles");
    let mut sink = VecSink::default();
    let mut lines: Vec<&[u8]> = input.split(|b| *b == b'\n').collect();
    if lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    for (i, line) in lines.iter().enumerate() {
        dec.decode(line, i as u64 + 1, &mut sink);
    }
    dec.finish(&mut sink);
    assert_accounting(input, &sink);
    sink
}

/// Every report names a distinct line, and every line that is neither blank nor a `#`
/// directive is reported.
fn assert_accounting(input: &[u8], sink: &VecSink) {
    let mut lines: Vec<u64> = sink.http.iter().map(|r| r.origin_line).collect();
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

fn t(rfc3339: &str) -> i64 {
    parse_rfc3339(rfc3339).expect("test time")
}

fn extra(row: &HttpRecord<'_>) -> Value {
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

fn s<'r>(row: &'r Option<std::borrow::Cow<'_, str>>) -> Option<&'r str> {
    row.as_deref()
}

/// The columns of a row as text, for compact assertions.
fn cols(r: &HttpRecord<'_>) -> [Option<String>; 10] {
    [
        r.method.as_deref().map(str::to_string),
        r.url.as_deref().map(str::to_string),
        r.host.as_deref().map(str::to_string),
        r.domain.as_deref().map(str::to_string),
        r.path.as_deref().map(str::to_string),
        r.query.as_deref().map(str::to_string),
        r.status.map(|v| v.to_string()),
        r.bytes_in.map(|v| v.to_string()),
        r.user_agent.as_deref().map(str::to_string),
        r.referrer.as_deref().map(str::to_string),
    ]
}

fn want(v: [Option<&str>; 10]) -> [Option<String>; 10] {
    v.map(|x| x.map(str::to_string))
}

// ---------------------------------------------------------------------------------------------
// nginx / apache fixtures

#[test]
fn nginx_combined_and_variants() {
    let out = decode(&Nginx, &fixture("nginx", "access.log"));
    let lines: Vec<u64> = out.http.iter().map(|r| r.origin_line).collect();
    assert_eq!(lines, [1, 2, 4, 5, 6, 7, 8, 11]);
    let r = &out.http[0];
    assert_eq!(
        r.time,
        t("2024-01-31T11:00:00Z"),
        "the logged +0100 offset is used"
    );
    assert_eq!(r.client_ip, ip("192.0.2.10"));
    assert_eq!(
        cols(r),
        want([
            Some("GET"),
            Some("/index.html?lang=en&x=%20y"),
            None,
            None,
            Some("/index.html"),
            Some("lang=en&x=%20y"),
            Some("200"),
            Some("5120"),
            Some("Mozilla/5.0 (X11; Linux x86_64; rv:122.0) Gecko/20100101 Firefox/122.0"),
            Some("https://www.example.com/start"),
        ])
    );
    assert_eq!(extra(r), json!({"http_version": "1.1"}));
    assert_eq!(r.action, None);
    // nginx `main`: IPv6 client, user, X-Forwarded-For.
    let r = &out.http[1];
    assert_eq!(
        (r.client_ip, s(&r.user)),
        (ip("2001:db8::7"), Some("alice"))
    );
    assert_eq!(r.referrer, None, "a `-` referrer is absent");
    assert_eq!(
        extra(r),
        json!({"http_version": "2.0", "x_forwarded_for": "198.51.100.1, 10.0.0.2"})
    );
    // Virtual host prefix: host and domain.
    let r = &out.http[2];
    assert_eq!(
        (s(&r.host), s(&r.domain), r.client_ip),
        (
            Some("www.example.org"),
            Some("example.org"),
            ip("192.0.2.11")
        )
    );
    // TLS handshake bytes and `-`: records without method or URL.
    let r = &out.http[3];
    assert_eq!((r.method.as_deref(), r.url.as_deref()), (None, None));
    assert_eq!(
        extra(r)["request"],
        json!(r"\x16\x03\x01\x02\x00\x01\x00\x01\xFC\x03\x03")
    );
    assert_eq!(r.status, Some(400));
    let r = &out.http[4];
    assert_eq!(
        (r.method.as_deref(), r.status, r.bytes_in),
        (None, Some(408), Some(0))
    );
    assert_eq!(r.extra, None);
    // Absolute-form target (a proxy): host from the URL, lower-cased; `-` bytes under nginx.
    let r = &out.http[5];
    assert_eq!(
        cols(r),
        want([
            Some("GET"),
            Some("http://Shop.Example.CO.UK:8080/cart?id=7"),
            Some("shop.example.co.uk"),
            Some("example.co.uk"),
            Some("/cart"),
            Some("id=7"),
            Some("200"),
            None,
            Some("Go-http-client/1.1"),
            None,
        ])
    );
    assert_eq!((s(&r.scheme), r.server_port), (Some("http"), Some(8080)));
    assert_eq!(extra(r)["trailing"], json!(["0.012", "0.010", "."]));
    // CONNECT to a punycode host: host kept, Unicode form in extra.
    let r = &out.http[6];
    assert_eq!(
        (s(&r.host), s(&r.domain), r.server_port, s(&r.path)),
        (
            Some("www.xn--bcher-kva.de"),
            Some("xn--bcher-kva.de"),
            Some(443),
            None
        )
    );
    assert_eq!(extra(r)["host_unicode"], json!("www.bücher.de"));
    // A JSON log_format line.
    let r = &out.http[7];
    assert_eq!(r.time, t("2024-01-31T11:00:08Z"));
    assert_eq!(
        (
            s(&r.host),
            s(&r.path),
            s(&r.query),
            r.status,
            r.bytes_in,
            r.duration_ms
        ),
        (
            Some("api.example.com"),
            Some("/json"),
            Some("q=1"),
            Some(302),
            Some(0),
            Some(250)
        )
    );
    assert_eq!(r.referrer, None, "empty JSON values are absent");
    assert_eq!(
        extra(r),
        json!({"upstream_addr": "10.0.0.5:8080", "http_version": "1.1"})
    );
    assert_eq!(
        out.skipped,
        [(9, "nginx error log line (not an access record)")]
    );
    assert_eq!(
        reasons(&out),
        [
            (
                10,
                "no [dd/Mon/yyyy:HH:MM:SS ±hhmm] time in the line".to_string()
            ),
            (12, "bad status \"abc\"".to_string()),
        ]
    );
}

#[test]
fn apache_doc_examples_and_variants() {
    let out = decode(&Apache, &fixture("apache", "access.log"));
    let r = &out.http[0];
    // Apache docs: 127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326
    assert_eq!(r.time, t("2000-10-10T20:55:36Z"));
    assert_eq!((r.client_ip, s(&r.user)), (ip("127.0.0.1"), Some("frank")));
    assert_eq!(
        cols(r),
        want([
            Some("GET"),
            Some("/apache_pb.gif"),
            None,
            None,
            Some("/apache_pb.gif"),
            None,
            Some("200"),
            Some("2326"),
            None,
            None
        ])
    );
    let r = &out.http[1];
    assert_eq!(s(&r.referrer), Some("http://www.example.com/start.html"));
    assert_eq!(s(&r.user_agent), Some("Mozilla/4.08 [en] (Win98; I ;Nav)"));
    // vhost_combined: host, port; Apache's `-` byte count is 0.
    let r = &out.http[2];
    assert_eq!(
        (s(&r.host), s(&r.domain), r.server_port, r.bytes_in),
        (
            Some("www.example.com"),
            Some("example.com"),
            Some(443),
            Some(0)
        )
    );
    // Escaped quotes stay as logged and do not end the fields.
    let r = &out.http[3];
    assert_eq!(s(&r.query), Some(r#"a=\"b\""#));
    assert_eq!(s(&r.user_agent), Some(r#"Agent with \"quotes\""#));
    let r = &out.http[4];
    assert_eq!(extra(r)["x_forwarded_for"], json!("203.0.113.1, 10.0.0.1"));
    assert_eq!(
        out.skipped,
        [(6, "Apache error log line (not an access record)")]
    );
    assert_eq!(
        reasons(&out),
        [(
            7,
            "expected `client ident user` before the time, found 1 field(s)".to_string()
        )]
    );
    // The same line under nginx: a `-` byte count is "not logged".
    let nginx = decode(&Nginx, &fixture("apache", "access.log"));
    assert_eq!(nginx.http[2].bytes_in, None);
}

const INGRESS_UPSTREAMINFO: &str = "log_format upstreaminfo '$remote_addr - $remote_user [$time_local] \"$request\" '\n    '$status $body_bytes_sent \"$http_referer\" \"$http_user_agent\" '\n    '$request_length $request_time [$proxy_upstream_name] [$proxy_alternative_upstream_name] $upstream_addr '\n    '$upstream_response_length $upstream_response_time $upstream_status $req_id';";

#[test]
fn custom_log_format() {
    let out = decode_with_format(INGRESS_UPSTREAMINFO, &fixture("nginx", "upstreaminfo.log"));
    let r = &out.http[0];
    assert_eq!(r.time, t("2024-01-31T12:00:00Z"));
    assert_eq!((r.client_ip, s(&r.user)), (ip("192.0.2.20"), Some("bob")));
    assert_eq!(
        (s(&r.method), s(&r.path), s(&r.query), r.status),
        (Some("GET"), Some("/some/path"), Some("x=1"), Some(200))
    );
    assert_eq!(
        (r.bytes_in, r.bytes_out, r.duration_ms),
        (Some(12312), Some(462), Some(50))
    );
    assert_eq!(
        extra(r),
        json!({"proxy_upstream_name": "default-web-80", "upstream_addr": "10.0.50.80:9000",
               "upstream_response_length": "19437", "upstream_response_time": "0.049",
               "upstream_status": "200", "req_id": "5a3b2c1d4e5f60718293a4b5c6d7e8f9",
               "http_version": "2.0"})
    );
    let r = &out.http[1];
    assert_eq!(r.user, None);
    assert_eq!(
        extra(r),
        json!({"proxy_upstream_name": "default-web-80", "req_id": "0a1b2c3d4e5f60718293a4b5c6d7e8f9",
               "http_version": "1.1"})
    );
    assert_eq!(out.rejected.len(), 1);
    assert!(
        out.rejected[0]
            .reason
            .starts_with("line does not match the log format"),
        "{}",
        out.rejected[0].reason
    );

    // escape=json: values are unescaped.
    let fmt = r#"log_format j escape=json '{"ts":"$time_iso8601","ip":"$remote_addr","req":"$request","st":"$status","ua":"$http_user_agent"}';"#;
    let out = decode_with_format(fmt, &fixture("nginx", "json_escape.log"));
    let r = &out.http[0];
    assert_eq!(s(&r.query), Some(r#"s="quoted""#));
    assert_eq!(s(&r.user_agent), Some(r#"Agent "x" \ y"#));

    // Apache LogFormat strings and names compile to the same reading.
    let line = b"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] \"GET /apache_pb.gif HTTP/1.0\" 200 2326\n";
    for f in ["common", r#"%h %l %u %t \"%r\" %>s %b"#] {
        let out = decode_with_format(f, line);
        assert_eq!(out.http.len(), 1, "{f}");
        assert_eq!(out.http[0].bytes_in, Some(2326));
        assert_eq!(out.http[0].time, t("2000-10-10T20:55:36Z"));
    }
    for bad in ["", "$remote_addr $status", "$a$b [$time_local]", "'open"] {
        assert!(decoder_for_log_format(bad).is_err(), "{bad:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// IIS fixtures

#[test]
fn iis_headers_and_mid_file_layout_change() {
    let out = decode(&Iis, &fixture("iis", "u_ex240131.log"));
    let r = &out.http[0];
    assert_eq!(r.time, t("2024-01-31T00:00:01Z"), "IIS times are UTC");
    assert_eq!(
        (r.client_ip, r.server_ip, r.server_port),
        (ip("198.51.100.20"), ip("10.0.0.5"), Some(443))
    );
    assert_eq!(
        cols(r),
        want([
            Some("GET"),
            Some("/index.aspx?id=3&q=a+b"),
            None,
            None,
            Some("/index.aspx"),
            Some("id=3&q=a+b"),
            Some("200"),
            None,
            Some("Mozilla/5.0 (Windows NT 10.0; Win64; x64)"),
            Some("https://www.example.com/"),
        ])
    );
    assert_eq!(r.duration_ms, Some(15));
    assert_eq!(extra(r), json!({"sc_substatus": 0, "sc_win32_status": 0}));
    let r = &out.http[1];
    assert_eq!(
        (r.client_ip, s(&r.user)),
        (ip("fe80::1"), Some(r"CONTOSO\alice"))
    );
    assert_eq!(
        extra(r),
        json!({"sc_substatus": 1, "sc_win32_status": 2_148_074_254u64})
    );
    // Second block: every standard field plus a custom one.
    let r = &out.http[2];
    assert_eq!(r.origin_line, 12);
    assert_eq!(
        (s(&r.host), s(&r.domain), s(&r.device)),
        (
            Some("shop.example.co.uk"),
            Some("example.co.uk"),
            Some("WEB01")
        )
    );
    assert_eq!(
        (r.bytes_in, r.bytes_out, r.duration_ms),
        (Some(5230), Some(410), Some(2))
    );
    assert_eq!(
        extra(r),
        json!({"site_name": "W3SVC1", "http_version": "1.1", "cookie": "ASP.NET_SessionId=abc",
               "sc_substatus": 0, "sc_win32_status": 0, "X-Forwarded-For": "203.0.113.50,10.0.0.9"})
    );
    assert_eq!(
        reasons(&out),
        [
            (
                13,
                "13 fields, #Fields declares 23 (and they do not fit IIS's field order either)"
                    .to_string()
            ),
            (14, "bad sc-status \"999x\"".to_string()),
        ]
    );
}

#[test]
fn iis_headerless_lines_are_inferred() {
    let out = decode(&Iis, &fixture("iis", "headerless.log"));
    let r = &out.http[0];
    assert_eq!(
        (
            r.client_ip,
            r.server_ip,
            s(&r.path),
            s(&r.query),
            r.duration_ms
        ),
        (
            ip("198.51.100.30"),
            ip("10.0.0.5"),
            Some("/a"),
            Some("q=1"),
            Some(7)
        )
    );
    let r = &out.http[1];
    assert_eq!(
        (
            s(&r.user_agent),
            s(&r.host),
            r.bytes_in,
            r.bytes_out,
            r.duration_ms
        ),
        (
            Some("curl/8.5.0"),
            Some("www.example.net"),
            Some(900),
            Some(120),
            Some(4)
        )
    );
    assert_eq!(extra(r)["site_name"], json!("W3SVC2"));
    assert_eq!(extra(r)["http_version"], json!("1.1"));
    let r = &out.http[2];
    assert_eq!(
        (s(&r.device), r.status, r.duration_ms),
        (Some("webhost-7"), Some(304), Some(1))
    );
    assert_eq!(extra(r)["unnamed"], json!(["198.51.100.99"]));
    assert_eq!(
        reasons(&out),
        [(
            4,
            "no #Fields directive, and the 6 fields do not fit IIS's field order".to_string()
        )]
    );
}

#[test]
fn iis_advanced_logging_and_time_only_layouts() {
    let ctx = DecodeContext {
        utc_offset_secs: Some(3600),
        ..DecodeContext::default()
    };
    let out = decode_ctx(&Iis, &ctx, &fixture("iis", "advanced.log"));
    let r = &out.http[0];
    assert_eq!(
        r.time,
        t("2024-02-01T00:00:00.250Z"),
        "local times take the offset"
    );
    assert_eq!(
        (
            r.client_ip,
            s(&r.user_agent),
            s(&r.referrer),
            s(&r.host),
            r.duration_ms
        ),
        (
            ip("198.51.100.40"),
            Some("Mozilla/5.0 (X11; Linux x86_64)"),
            Some("https://www.example.com/?a=b c"),
            Some("www.example.com"),
            Some(31)
        )
    );
    // Quoted values keep their `+`; `""` is a quote.
    assert_eq!(s(&out.http[1].user_agent), Some(r#"Agent "quoted" +plus"#));

    let out = decode(&Iis, &fixture("iis", "ftp_time_only.log"));
    assert_eq!(
        out.http[0].time,
        t("2024-02-02T08:00:01Z"),
        "date from #Date"
    );
    assert_eq!(s(&out.http[0].method), Some("[1]USER"));
    assert_eq!(out.http[1].url, None);
}

// ---------------------------------------------------------------------------------------------
// Squid and ALB fixtures

#[test]
fn squid_native_lines() {
    let out = decode(&Squid, &fixture("squid", "access.log"));
    let r = &out.http[0];
    assert_eq!(r.time, 1_706_781_600_123_000);
    assert_eq!(
        (r.client_ip, r.server_ip),
        (ip("10.1.2.3"), ip("93.184.216.34"))
    );
    assert_eq!(
        cols(r),
        want([
            Some("GET"),
            Some("http://www.example.com/index.html?x=1"),
            Some("www.example.com"),
            Some("example.com"),
            Some("/index.html"),
            Some("x=1"),
            Some("200"),
            Some("5120"),
            None,
            None
        ])
    );
    assert_eq!(
        (r.duration_ms, s(&r.content_type), r.action),
        (Some(245), Some("text/html"), Some(Action::Allowed))
    );
    assert_eq!(
        extra(r),
        json!({"result_code": "TCP_MISS", "hierarchy": "HIER_DIRECT"})
    );
    // CONNECT host:port.
    let r = &out.http[1];
    assert_eq!(
        (
            s(&r.method),
            s(&r.host),
            s(&r.domain),
            r.server_port,
            s(&r.user)
        ),
        (
            Some("CONNECT"),
            Some("api.example.org"),
            Some("example.org"),
            Some(443),
            Some("alice")
        )
    );
    // Denied, to an address.
    let r = &out.http[2];
    assert_eq!(
        (r.action, r.status, s(&r.host), s(&r.domain)),
        (Some(Action::Denied), Some(403), Some("192.0.2.80"), None)
    );
    let r = &out.http[3];
    assert_eq!(
        (r.status, s(&r.user_agent), r.referrer.as_deref()),
        (Some(407), Some("Mozilla/5.0"), None)
    );
    // A transaction that ended before any request.
    let r = &out.http[4];
    assert_eq!(
        (r.method.as_deref(), r.status, r.action),
        (None, None, None)
    );
    assert_eq!(
        extra(r)["url"],
        json!("error:transaction-end-before-headers")
    );
    let r = &out.http[5];
    assert_eq!(r.client_ip, None);
    assert_eq!(extra(r)["client_host"], json!("proxyclient.example.net"));
    assert_eq!(s(&r.referrer), Some("https://www.example.com/"));
    assert_eq!(
        extra(&out.http[6])["peer_host"],
        json!("parent.example.net")
    );
    // The common-log variant goes through the web-server reading.
    let r = &out.http[7];
    assert_eq!(
        (s(&r.user), r.status, r.bytes_in),
        (Some("carol"), Some(200), Some(512))
    );
    assert_eq!(
        reasons(&out),
        [
            (
                9,
                "no [dd/Mon/yyyy:HH:MM:SS ±hhmm] time in the line".to_string()
            ),
            (10, "4 fields, the native Squid format has 10".to_string()),
        ]
    );
}

#[test]
fn alb_documentation_examples() {
    let out = decode(&AwsAlb, &fixture("aws_alb", "alb.log"));
    let r = &out.http[0];
    assert_eq!(r.time, t("2018-07-02T22:23:00.186641Z"));
    assert_eq!(
        (r.client_ip, r.server_ip, r.server_port),
        (ip("192.168.131.39"), ip("10.0.0.1"), Some(80))
    );
    assert_eq!(
        cols(r),
        want([
            Some("GET"),
            Some("http://www.example.com:80/"),
            Some("www.example.com"),
            Some("example.com"),
            Some("/"),
            None,
            Some("200"),
            Some("366"),
            Some("curl/7.46.0"),
            None
        ])
    );
    assert_eq!(
        (r.bytes_out, r.duration_ms, s(&r.device), r.action),
        (
            Some(34),
            Some(1),
            Some("app/my-loadbalancer/50dc6c495c0c9188"),
            None
        )
    );
    let e = extra(r);
    assert_eq!(e["type"], json!("http"));
    assert_eq!(e["client_port"], json!(2817));
    assert_eq!(e["target_status_code"], json!(200));
    assert_eq!(
        e["trace_id"],
        json!("Root=1-58337262-36d228ad5d99923122bbe354")
    );
    assert_eq!(e["conn_trace_id"], json!("TID_1234abcd5678ef90"));
    assert_eq!(e.get("ssl_cipher"), None, "`-` values are left out");
    // HTTPS: 0.086 + 0.048 + 0.037 s.
    let r = &out.http[1];
    assert_eq!(r.duration_ms, Some(171));
    assert_eq!(extra(r)["ssl_protocol"], json!("TLSv1.2"));
    // Lambda target: no server.
    let r = &out.http[3];
    assert_eq!(
        (r.server_ip, r.server_port, r.status),
        (None, None, Some(502))
    );
    assert_eq!(s(&r.query), Some("x=1"));
    // Blocked by WAF, -1 processing times, a field from a newer version.
    let r = &out.http[4];
    assert_eq!(
        (r.action, r.duration_ms, r.status),
        (Some(Action::Denied), None, Some(403))
    );
    assert_eq!(extra(r)["request_processing_time"], json!(-1));
    assert_eq!(extra(r)["field_34"], json!("extra-future-value"));
    // Classic ELB.
    let r = &out.http[5];
    assert_eq!(
        (s(&r.device), r.server_ip, r.duration_ms, s(&r.scheme)),
        (
            Some("my-loadbalancer"),
            ip("10.0.0.1"),
            Some(2),
            Some("https")
        )
    );
    assert_eq!(extra(r)["backend_status_code"], json!(200));
    assert_eq!(
        reasons(&out),
        [
            (
                7,
                "11 fields, an access log line has at least 13".to_string()
            ),
            (8, "bad time \"not-a-time\"".to_string()),
        ]
    );
}

#[test]
fn sniffing_picks_the_right_format() {
    let cases: [(&str, &str, &str, &str); 9] = [
        ("nginx", "access.log", "", "nginx"),
        ("apache", "access.log", "", "nginx"),
        (
            "apache",
            "access.log",
            "/var/log/apache2/access.log",
            "apache",
        ),
        (
            "apache",
            "access.log",
            "/var/log/httpd/access_log",
            "apache",
        ),
        ("iis", "u_ex240131.log", "", "iis"),
        ("iis", "headerless.log", "", "iis"),
        ("iis", "advanced.log", "", "iis"),
        ("squid", "access.log", "", "squid"),
        ("aws_alb", "alb.log", "", "aws_alb"),
    ];
    for (dir, name, hint, want) in cases {
        let data = fixture(dir, name);
        let got = flowtrail_formats::sniff(&data[..data.len().min(4096)], hint);
        assert_eq!(got.map(|f| f.name()), Some(want), "{dir}/{name} {hint:?}");
    }
}

/// Checks the sink contract on arbitrary bytes: no panic, lines in range.
#[test]
fn junk_does_not_panic() {
    struct Count(u64);
    impl RecordSink for Count {
        fn flow(&mut self, _: &flowtrail_formats::FlowRecord<'_>) {
            panic!("HTTP decoders emit HTTP rows only");
        }
        fn http(&mut self, r: &HttpRecord<'_>) {
            assert!(r
                .extra
                .as_deref()
                .is_none_or(|e| serde_json::from_str::<Value>(e).is_ok()));
            self.0 += 1;
        }
        fn skip(&mut self, _: u64, _: &'static str) {
            self.0 += 1;
        }
        fn reject(&mut self, _: u64, reason: &str, _: &[u8]) {
            assert!(!reason.is_empty());
            self.0 += 1;
        }
    }
    let inputs: [&[u8]; 8] = [
        b"[",
        b"1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] \"",
        b"1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.1\" 200 1 \"a\\",
        b"#Fields: date time\n2024-01-01 00:00:00\n2024-01-01",
        b"1.1 1 1.1.1.1 A/200 1 GET x - H/- - \"\xff",
        b"http 2018-07-02T22:23:00Z a 1:1 - 0 0 0 200 - 1 1 \"\" \"\xc3",
        b"{\"remote_addr\":[1,{}],\"status\":1e99}",
        b"\xff\xfe\x00\n\n\r\n",
    ];
    for f in [&Nginx as &dyn Format, &Apache, &Iis, &Squid, &AwsAlb] {
        for input in inputs {
            let mut c = Count(0);
            decode_all(f, &DecodeContext::default(), input, &mut c);
            let _ = f.sniff(input);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Conformance: shared corpus

/// A row as a peer says it should be: field → rendered value ("null" when absent).
type Want = BTreeMap<String, String>;

fn render(row: &HttpRecord<'_>, field: &str) -> String {
    fn opt<T: ToString>(v: Option<T>) -> String {
        v.map_or_else(|| "null".to_string(), |v| v.to_string())
    }
    match field {
        "time" => row.time.to_string(),
        "client_ip" => opt(row.client_ip),
        "server_ip" => opt(row.server_ip),
        "server_port" => opt(row.server_port),
        "user" => opt(row.user.as_deref()),
        "method" => opt(row.method.as_deref()),
        "url" => opt(row.url.as_deref()),
        "host" => opt(row.host.as_deref()),
        "domain" => opt(row.domain.as_deref()),
        "path" => opt(row.path.as_deref()),
        "query" => opt(row.query.as_deref()),
        "status" => opt(row.status),
        "bytes_in" => opt(row.bytes_in),
        "bytes_out" => opt(row.bytes_out),
        "duration_ms" => opt(row.duration_ms),
        "user_agent" => opt(row.user_agent.as_deref()),
        "referrer" => opt(row.referrer.as_deref()),
        "content_type" => opt(row.content_type.as_deref()),
        "device" => opt(row.device.as_deref()),
        extra_key => match extra(row).get(extra_key) {
            None => "null".to_string(),
            Some(Value::String(v)) => v.clone(),
            Some(v) => v.to_string(),
        },
    }
}

/// Disagreements with a peer judged to be the peer's error (or a deliberate difference of
/// model): (corpus file, 0-based record, field, reason). Every entry must be hit.
const PEER_DISAGREEMENTS: &[(&str, usize, &str, &str)] = &[
    (
        "nginx/sekoia-intake-formats/json_combined_http_error.json",
        0,
        "user_agent",
        "the user agent is `-`, nginx's placeholder for an absent header; Sekoia keeps the dash as a value",
    ),
    (
        "nginx/sekoia-intake-formats/extended.json",
        0,
        "content_type",
        "the MIME type is the 4th field after the user agent in Sekoia's customer format; without that log_format the trailing fields stay in extra.trailing",
    ),
    (
        "nginx/sekoia-intake-formats/extended_backslash.json",
        0,
        "content_type",
        "same customer format as extended.json: the MIME type is an unnamed trailing field",
    ),
    (
        "nginx/sekoia-intake-formats/json_get_failed_graylog.json",
        0,
        "server_ip",
        "Sekoia takes upstream_addr (the backend nginx proxied to) as the destination; the server that logged the request is nginx itself, the upstream stays in extra",
    ),
    (
        "nginx/sekoia-intake-formats/json_get_failed_graylog.json",
        0,
        "server_port",
        "same: the upstream's port, not the server's",
    ),
    (
        "nginx/sekoia-intake-formats/json_get_graylog.json",
        0,
        "server_ip",
        "same as json_get_failed_graylog: upstream_addr is not the server",
    ),
    (
        "nginx/sekoia-intake-formats/json_get_graylog.json",
        0,
        "server_port",
        "same: the upstream's port",
    ),
    (
        "squid/sekoia-intake-formats/common_log_format_1.json",
        0,
        "time",
        "`[05/02/2025 11:30:29]` is read day first, in the order of the CLF time it replaces (`%d/%b/%Y`); Sekoia reads it month first",
    ),
    (
        "squid/sekoia-intake-formats/common_log_format_2.json",
        0,
        "time",
        "same numeric date, read day first",
    ),
    (
        "squid/sekoia-intake-formats/connect_ip.json",
        0,
        "server_ip",
        "a denied CONNECT to 1.2.3.4 (`HIER_NONE/-`): Squid contacted no server; the target address is the host, and server_ip is the peer Squid talked to",
    ),
    (
        "squid/sekoia-intake-formats/error.json",
        0,
        "status",
        "`000` means Squid sent no HTTP reply: no status, not a status 0",
    ),
    (
        "squid/sekoia-intake-formats/get.json",
        0,
        "status",
        "`TCP_HIT_ABORTED/000`: no reply was sent, so there is no status",
    ),
    (
        "squid/sekoia-intake-formats/get_user_agent.json",
        0,
        "status",
        "`TCP_HIT_ABORTED/000`: no reply was sent, so there is no status",
    ),
    (
        "iis/elastic-integrations/test-iis-access.log",
        3,
        "query",
        "Elastic percent-decodes the query (`%23` → `#`); flowtrail keeps URLs as logged",
    ),
    (
        "iis/elastic-integrations/test-iis-access.log",
        4,
        "path",
        "Elastic's URI parser gives up on the Struts exploit stem and sets no url.path; the stem is the path as logged",
    ),
    (
        "iis/elastic-integrations/test-iis-access.log",
        5,
        "referrer",
        "`example.com` without a scheme is not a Referer value (browsers send absolute URLs): in IIS's field order it is cs-host",
    ),
    (
        "iis/elastic-integrations/test-iis-access.log",
        5,
        "host",
        "same line: Elastic reads the host as the referrer, so it has no host",
    ),
    (
        "iis/sekoia-intake-formats/sample.json",
        0,
        "duration_ms",
        "Sekoia's event.duration 2000 is time-taken (2 ms) in µs; the column is milliseconds",
    ),
];

fn sorted_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("corpus folder")
        .map(|e| e.expect("entry").path())
        .collect();
    v.sort();
    v
}

fn rel(path: &Path) -> String {
    let s = path.display().to_string();
    s.split("/corpus/").nth(1).unwrap_or(&s).to_string()
}

fn canon_ip(v: &str) -> String {
    v.parse::<IpAddr>()
        .map_or_else(|_| v.to_string(), |ip| ip.to_string())
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// Reads a Sekoia expected document: the fields flowtrail has columns for.
fn sekoia_want(e: &Value, squid: bool) -> Want {
    let mut w = Want::new();
    let mut put = |k: &str, v: Option<String>| {
        if let Some(v) = v {
            w.insert(k.to_string(), v);
        }
    };
    put(
        "time",
        e.get("@timestamp")
            .and_then(Value::as_str)
            .map(|s| parse_rfc3339(s).expect("Sekoia time").to_string()),
    );
    put(
        "client_ip",
        e.pointer("/source/ip").and_then(text).map(|v| canon_ip(&v)),
    );
    put("method", e.pointer("/http/request/method").and_then(text));
    put("url", e.pointer("/url/original").and_then(text));
    put("path", e.pointer("/url/path").and_then(text));
    put("query", e.pointer("/url/query").and_then(text));
    put(
        "status",
        e.pointer("/http/response/status_code").and_then(text),
    );
    put("bytes_in", e.pointer("/http/response/bytes").and_then(text));
    put(
        "user_agent",
        e.pointer("/user_agent/original").and_then(text),
    );
    put(
        "referrer",
        e.pointer("/http/request/referrer").and_then(text),
    );
    put("user", e.pointer("/user/name").and_then(text));
    put(
        "content_type",
        e.pointer("/http/response/mime_type").and_then(text),
    );
    put("domain", e.pointer("/url/registered_domain").and_then(text));
    put(
        "host",
        e.pointer("/url/domain")
            .or(e.pointer("/destination/domain"))
            .and_then(text)
            .filter(|h| h.parse::<IpAddr>().is_err()),
    );
    put(
        "server_ip",
        e.pointer("/server/ip")
            .or(e.pointer("/destination/ip"))
            .and_then(text),
    );
    put("server_port", e.pointer("/destination/port").and_then(text));
    if squid {
        put("duration_ms", e.pointer("/event/duration").and_then(text));
    }
    if let Some(ns) = e.pointer("/event/duration").and_then(Value::as_f64) {
        if !squid {
            put("duration_ms", Some(((ns / 1e6).round() as u64).to_string()));
        }
    }
    if let Some(b) = e.pointer("/client/bytes").and_then(text) {
        put("bytes_out", Some(b));
    }
    if let Some(b) = e.pointer("/server/bytes").and_then(text) {
        put("bytes_in", Some(b));
    }
    put("device", e.pointer("/observer/name").and_then(text));
    w
}

/// Sekoia tests: one record per file; error-log inputs must be skipped, and inputs without a
/// time are rejected (a row needs a time).
fn sekoia_conformance(
    sub: &str,
    format: &dyn Format,
    squid: bool,
    skipped: &[&str],
    rejected: &[(&str, &str)],
) {
    let Some(dir) = common::corpus(sub) else {
        return;
    };
    let mut checker = common::PeerCheck::new(PEER_DISAGREEMENTS);
    let mut seen = 0;
    for path in sorted_files(&dir) {
        let name = rel(&path);
        let doc: Value = serde_json::from_slice(&common::read(&path)).expect("Sekoia JSON");
        let input = doc["input"]["message"].as_str().expect("message");
        let out = decode(format, input.as_bytes());
        let file = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        seen += 1;
        if skipped.contains(&file) {
            assert_eq!(
                (out.http.len(), out.skipped.len()),
                (0, 1),
                "{name}: skipped"
            );
            continue;
        }
        if let Some((_, why)) = rejected.iter().find(|(f, _)| *f == file) {
            assert_eq!(out.http.len(), 0, "{name}");
            assert!(
                out.rejected[0].reason.contains(why),
                "{name}: {:?}",
                out.rejected
            );
            continue;
        }
        assert_eq!(out.http.len(), 1, "{name}: {:?}", out.rejected);
        checker.want(&name, 0, &sekoia_want(&doc["expected"], squid), |f| {
            render(&out.http[0], f)
        });
        checker.count(&name, 1);
    }
    assert!(seen > 0);
    checker.finish(sub);
}

#[test]
fn conformance_nginx_sekoia() {
    sekoia_conformance(
        "nginx/sekoia-intake-formats",
        &Nginx,
        false,
        &[
            "combined_error.json",
            "json_OCSP_error_01.json",
            "json_OCSP_error_02.json",
        ],
        &[("json_get.json", "no time")],
    );
}

#[test]
fn conformance_apache_sekoia() {
    sekoia_conformance(
        "apache/sekoia-intake-formats",
        &Apache,
        false,
        &[
            "error.json",
            "error_2.json",
            "error_module.json",
            "modsecurity.json",
            "needs_striping.json",
            "process_id.json",
        ],
        &[],
    );
}

#[test]
fn conformance_squid_sekoia() {
    sekoia_conformance("squid/sekoia-intake-formats", &Squid, true, &[], &[]);
}

#[test]
fn conformance_iis_sekoia_legacy_format() {
    sekoia_conformance("iis/sekoia-intake-formats", &Iis, false, &[], &[]);
}

/// Splits a request line the plain way for the VRL comparisons.
fn request_want(w: &mut Want, request: &str) {
    let parts: Vec<&str> = request.split(' ').collect();
    match parts.as_slice() {
        [m, target, v] if v.starts_with("HTTP/") && m.chars().all(|c| c.is_ascii_alphabetic()) => {
            w.insert("method".into(), m.to_string());
            w.insert("url".into(), target.to_string());
            w.insert(
                "http_version".into(),
                v.trim_start_matches("HTTP/").to_string(),
            );
        }
        _ => {
            w.insert("method".into(), "null".into());
            w.insert("url".into(), "null".into());
            let raw = if request.is_empty() || request == "-" {
                "null"
            } else {
                request
            };
            w.insert("request".into(), raw.to_string());
        }
    }
}

/// VRL placeholders: `-` and empty values are absent in flowtrail.
fn vrl_text(v: Option<&Value>) -> String {
    match v.and_then(text) {
        Some(s) if s != "-" && !s.is_empty() => s,
        _ => "null".to_string(),
    }
}

/// The VRL vectors of nginx and Apache: access lines are compared, error-format lines must not
/// give rows, lines without a time are rejected.
fn vrl_conformance(file: &str, format: &dyn Format, checker: &mut common::PeerCheck) {
    let Some(dir) = common::corpus(file.split('/').next().unwrap_or("")) else {
        return;
    };
    let path = dir.join(file.split_once('/').map_or(file, |x| x.1));
    let doc: Value = serde_json::from_slice(&common::read(&path)).expect("VRL JSON");
    let mut vectors: Vec<(Value, Option<&str>, Option<&Value>)> = Vec::new();
    for v in doc["doc_examples"].as_array().into_iter().flatten() {
        vectors.push((
            v["value"].clone(),
            v["format_or_arg"].as_str(),
            v.get("expected"),
        ));
    }
    for v in doc["unit_test_vectors"].as_array().into_iter().flatten() {
        let expected = v.get("expected");
        vectors.push((
            v["args"]["value"].clone(),
            v["args"]["format"].as_str(),
            expected,
        ));
    }
    let mut compared = 0;
    for (i, (value, fmt, expected)) in vectors.iter().enumerate() {
        let line = value.as_str().expect("value");
        let fmt = fmt.unwrap_or("common");
        let out = if fmt == "ingress_upstreaminfo" {
            decode_with_format(INGRESS_UPSTREAMINFO, line.as_bytes())
        } else {
            decode(format, line.as_bytes())
        };
        let exp = expected.filter(|e| e.get("timestamp").is_some());
        let (Some(exp), false) = (exp, fmt == "error") else {
            // Error-log formats, expected errors and VRL's results without a time: no row.
            assert!(out.http.is_empty(), "{file} vector {i}: {line}");
            continue;
        };
        assert_eq!(out.http.len(), 1, "{file} vector {i}: {:?}", out.rejected);
        let g = |keys: &[&str]| keys.iter().find_map(|k| exp.get(*k));
        let mut w = Want::new();
        w.insert(
            "time".into(),
            t(exp["timestamp"].as_str().expect("timestamp")).to_string(),
        );
        // Only what VRL returned is compared (it leaves `-` fields out; so do we, except Apache's
        // `-` byte count, which is 0).
        let mut put = |field: &str, keys: &[&str]| {
            if let Some(v) = g(keys) {
                w.insert(field.into(), vrl_text(Some(v)));
            }
        };
        put("client_ip", &["client", "host", "remote_addr"]);
        put("user", &["user", "remote_user"]);
        put("status", &["status"]);
        put("bytes_in", &["size", "body_bytes_size"]);
        put("referrer", &["referer", "referrer", "http_referer"]);
        put("user_agent", &["agent", "http_user_agent"]);
        if let Some(c) = w.get_mut("client_ip") {
            *c = canon_ip(c);
        }
        if let Some(r) = g(&["request", "message"]).and_then(Value::as_str) {
            request_want(&mut w, r);
        }
        if let Some(ident) = g(&["identity"]) {
            w.insert("ident".into(), vrl_text(Some(ident)));
        }
        if fmt == "main" {
            w.insert(
                "x_forwarded_for".into(),
                vrl_text(g(&["http_x_forwarded_for"])),
            );
        }
        if fmt == "ingress_upstreaminfo" {
            w.insert("bytes_out".into(), vrl_text(g(&["request_length"])));
            let secs = g(&["request_time"])
                .and_then(Value::as_f64)
                .expect("request_time");
            w.insert(
                "duration_ms".into(),
                ((secs * 1000.0).round() as u64).to_string(),
            );
            for k in [
                "proxy_upstream_name",
                "proxy_alternative_upstream_name",
                "upstream_addr",
                "upstream_response_length",
                "upstream_response_time",
                "upstream_status",
                "req_id",
            ] {
                w.insert(k.into(), vrl_text(exp.get(k)));
            }
        }
        checker.want(file, i, &w, |f| render(&out.http[0], f));
        compared += 1;
    }
    checker.count(file, compared);
    assert!(compared > 0);
}

#[test]
fn conformance_nginx_vrl() {
    let mut checker = common::PeerCheck::new(PEER_DISAGREEMENTS);
    vrl_conformance(
        "nginx/vrl/parse_nginx_log-vectors.json",
        &Nginx,
        &mut checker,
    );
    checker.finish("nginx/vrl");
}

#[test]
fn conformance_apache_vrl() {
    let mut checker = common::PeerCheck::new(PEER_DISAGREEMENTS);
    vrl_conformance(
        "apache/vrl/parse_apache_log-vectors.json",
        &Apache,
        &mut checker,
    );
    vrl_conformance(
        "apache/vrl/parse_common_log-vectors.json",
        &Apache,
        &mut checker,
    );
    checker.finish("apache/vrl");
}

/// Elastic's expected documents for six headerless IIS lines of different layouts.
#[test]
fn conformance_iis_elastic() {
    let Some(dir) = common::corpus("iis/elastic-integrations") else {
        return;
    };
    let input = common::read(&dir.join("test-iis-access.log"));
    let expected: Value = serde_json::from_slice(&common::read(
        &dir.join("test-iis-access.log-expected.json"),
    ))
    .expect("expected JSON");
    let docs = expected["expected"].as_array().expect("documents");
    let out = decode(&Iis, &input);
    assert!(out.rejected.is_empty(), "{:?}", out.rejected);
    assert_eq!(out.http.len(), docs.len());
    assert_eq!(out.http.len(), 6);
    let name = "iis/elastic-integrations/test-iis-access.log";
    let mut checker = common::PeerCheck::new(PEER_DISAGREEMENTS);
    for (i, (row, e)) in out.http.iter().zip(docs).enumerate() {
        let mut w = Want::new();
        let mut put = |k: &str, v: Option<String>| {
            w.insert(k.to_string(), v.unwrap_or_else(|| "null".to_string()));
        };
        put("time", e["@timestamp"].as_str().map(|s| t(s).to_string()));
        put("client_ip", e.pointer("/source/ip").and_then(text));
        put("server_ip", e.pointer("/destination/ip").and_then(text));
        put("server_port", e.pointer("/destination/port").and_then(text));
        put("method", e.pointer("/http/request/method").and_then(text));
        put("path", e.pointer("/url/path").and_then(text));
        put("query", e.pointer("/url/query").and_then(text));
        put("host", e.pointer("/url/domain").and_then(text));
        put(
            "status",
            e.pointer("/http/response/status_code").and_then(text),
        );
        put(
            "bytes_in",
            e.pointer("/http/response/body/bytes").and_then(text),
        );
        put(
            "bytes_out",
            e.pointer("/http/request/body/bytes").and_then(text),
        );
        put(
            "user_agent",
            e.pointer("/user_agent/original").and_then(text),
        );
        put(
            "referrer",
            e.pointer("/http/request/referrer").and_then(text),
        );
        put(
            "device",
            e.pointer("/iis/access/server_name").and_then(text),
        );
        put(
            "site_name",
            e.pointer("/iis/access/site_name").and_then(text),
        );
        put(
            "sc_substatus",
            e.pointer("/iis/access/sub_status").and_then(text),
        );
        put(
            "sc_win32_status",
            e.pointer("/iis/access/win32_status").and_then(text),
        );
        checker.want(name, i, &w, |f| render(row, f));
    }
    checker.count(name, 6);
    checker.finish(name);
}

/// Corpus files without peer outputs: every line must decode (or be a documented rejection),
/// and a few rows are checked by hand.
#[test]
fn corpus_files_decode() {
    let Some(root) = common::corpus("") else {
        return;
    };
    // (file, format, rows, rejected lines)
    let files: [(&str, &dyn Format, usize, &[u64]); 17] = [
        (
            "nginx/elastic-integrations/test-access.log",
            &Nginx,
            14,
            &[],
        ),
        (
            "apache/elastic-integrations/test-access-basic.log",
            &Apache,
            17,
            &[],
        ),
        (
            "apache/elastic-integrations/test-access-vhost.log",
            &Apache,
            2,
            &[],
        ),
        ("apache/lnav/logfile_access_log.0", &Apache, 3, &[]),
        // Line 2 lacks the ident and user fields (lnav's "bad" log).
        ("apache/lnav/logfile_bad_access_log.0", &Apache, 2, &[2]),
        (
            "apache/lnav/logfile_shop_access_log.0.first300",
            &Apache,
            300,
            &[],
        ),
        ("iis/elastic-beats/access.log", &Iis, 1, &[]),
        ("iis/elastic-beats/access-full.log", &Iis, 1, &[]),
        ("iis/elastic-beats/access-azure.log", &Iis, 1, &[]),
        (
            "iis/elastic-integrations/test-iis-access-newer-lines.log",
            &Iis,
            2,
            &[],
        ),
        (
            "iis/elastic-integrations/test-iis10-access.log",
            &Iis,
            8,
            &[],
        ),
        ("iis/elastic-integrations/test-ipv6zone.log", &Iis, 1, &[]),
        ("iis/lnav/logfile_w3c.0", &Iis, 1, &[]),
        ("iis/lnav/logfile_w3c.1", &Iis, 1, &[]),
        ("iis/lnav/logfile_w3c.2", &Iis, 14, &[]),
        ("iis/lnav/logfile_w3c.3", &Iis, 3, &[]),
        ("iis/lnav/logfile_w3c.4", &Iis, 2, &[]),
    ];
    let more: [(&str, &dyn Format, usize, &[u64]); 2] = [
        ("iis/lnav/logfile_w3c.5", &Iis, 1, &[]),
        ("iis/lnav/logfile_w3c.6", &Iis, 1, &[]),
    ];
    for (file, format, rows, rejected) in files.into_iter().chain(more) {
        let out = decode(format, &common::read(&root.join(file)));
        let rej: Vec<u64> = out.rejected.iter().map(|r| r.line).collect();
        assert_eq!(rej, rejected, "{file}: {:?}", out.rejected);
        assert_eq!(out.http.len(), rows, "{file}");
        eprintln!("{file}: {rows} rows decoded");
    }
    // Spot checks.
    let out = decode(
        &Nginx,
        &common::read(&root.join("nginx/elastic-integrations/test-access.log")),
    );
    let r = &out.http[12];
    assert_eq!(
        (s(&r.host), r.client_ip),
        (Some("lessons.example.com"), ip("192.168.0.1"))
    );
    assert_eq!(r.time, t("2020-06-09T19:10:39Z"));
    let out = decode(
        &Apache,
        &common::read(&root.join("apache/elastic-integrations/test-access-vhost.log")),
    );
    let r = &out.http[1];
    assert_eq!(
        (r.client_ip, s(&r.host), r.server_port),
        (ip("192.168.33.2"), Some("vhost1.domaine.fr"), Some(22222))
    );
    assert_eq!(extra(r)["client_port"], json!(11111));
    let out = decode(&Iis, &common::read(&root.join("iis/lnav/logfile_w3c.4")));
    let r = &out.http[0];
    assert_eq!(
        (s(&r.host), s(&r.path), s(&r.query)),
        (
            Some("www.example.com"),
            Some("/page.php"),
            Some("variable=test")
        )
    );
    let out = decode(&Iis, &common::read(&root.join("iis/lnav/logfile_w3c.5")));
    assert_eq!(
        (
            out.http[0].client_ip,
            out.http[0].status,
            out.http[0].duration_ms
        ),
        (ip("157.55.39.146"), Some(404), Some(283)),
        "rows with more values than #Fields are read in IIS's field order"
    );
}
