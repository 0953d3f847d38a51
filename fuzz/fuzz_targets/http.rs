//! Fuzzes the web-server and proxy decoders (nginx, apache, iis, squid, aws_alb, and a
//! compiled nginx log_format) through `decode_all`, checking their reporting contract: every
//! report names a line of the input, each line is reported at most once and in order, rows are
//! HTTP rows whose `extra` is a JSON object. Also exercises the URL model on the same bytes.
#![no_main]

use flowtrail_formats::http::aws_alb::AwsAlb;
use flowtrail_formats::http::iis::Iis;
use flowtrail_formats::http::nginx::{decoder_for_log_format, Apache, Nginx};
use flowtrail_formats::http::squid::Squid;
use flowtrail_formats::http::url::{decode_idna_host, parse_url, registrable_domain};
use flowtrail_formats::{decode_all, DecodeContext, Format};
use flowtrail_schema::{FlowRecord, HttpRecord, RecordSink};
use libfuzzer_sys::fuzz_target;

struct LineSink {
    max_line: u64,
    last: u64,
}

impl LineSink {
    fn take(&mut self, line: u64) {
        assert!(
            (1..=self.max_line).contains(&line),
            "line {line} of {}",
            self.max_line
        );
        assert!(line > self.last, "line {line} reported after {}", self.last);
        self.last = line;
    }
}

impl RecordSink for LineSink {
    fn flow(&mut self, _r: &FlowRecord<'_>) {
        panic!("HTTP decoders emit HTTP rows only");
    }
    fn http(&mut self, r: &HttpRecord<'_>) {
        self.take(r.origin_line);
        if let Some(extra) = &r.extra {
            assert!(extra.starts_with('{') && extra.ends_with('}'), "{extra}");
        }
    }
    fn skip(&mut self, line: u64, _reason: &'static str) {
        self.take(line);
    }
    fn reject(&mut self, line: u64, reason: &str, _raw: &[u8]) {
        assert!(!reason.is_empty());
        self.take(line);
    }
}

fuzz_target!(|data: &[u8]| {
    let ctx = DecodeContext {
        utc_offset_secs: data.first().map(|b| (i32::from(*b) - 128) * 900),
        ..DecodeContext::default()
    };
    let max_line = data.split(|b| *b == b'\n').count() as u64;
    for format in [&Nginx as &dyn Format, &Apache, &Iis, &Squid, &AwsAlb] {
        let _ = format.sniff(data);
        let mut sink = LineSink { max_line, last: 0 };
        decode_all(format, &ctx, data, &mut sink);
    }
    let mut dec = decoder_for_log_format("main").expect("compiles");
    let mut sink = LineSink { max_line, last: 0 };
    for (i, line) in data.split(|b| *b == b'\n').enumerate() {
        dec.decode(line, i as u64 + 1, &mut sink);
    }
    // The URL model and the log_format compiler on the raw bytes.
    if let Ok(text) = std::str::from_utf8(data) {
        let parts = parse_url(text);
        if let Some(host) = parts.host.as_deref() {
            if let Some(d) = registrable_domain(host) {
                assert!(host.strip_suffix('.').unwrap_or(host).ends_with(d));
            }
            let _ = decode_idna_host(host);
        }
        let _ = decoder_for_log_format(text);
    }
});
