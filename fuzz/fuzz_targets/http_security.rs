//! Fuzzes the security-product HTTP decoders (Zscaler NSS, PAN-OS URL logs, Zeek http.log,
//! SentinelOne events) through `decode_all`, checking their reporting contract: every report
//! names a line of the input, each line is reported at most once and in order, no flows are
//! emitted, `extra` is an object and `host` is lower-case.
#![no_main]

use flowtrail_formats::http::panos_url::PanosUrl;
use flowtrail_formats::http::sentinelone::SentinelOne;
use flowtrail_formats::http::zeek_http::ZeekHttp;
use flowtrail_formats::http::zscaler::Zscaler;
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
        if let Some(host) = &r.host {
            assert!(!host.bytes().any(|b| b.is_ascii_uppercase()), "host {host}");
        }
    }
    fn skip(&mut self, line: u64, reason: &'static str) {
        assert!(!reason.is_empty());
        self.take(line);
    }
    fn reject(&mut self, line: u64, reason: &str, _raw: &[u8]) {
        assert!(!reason.is_empty());
        self.take(line);
    }
}

fuzz_target!(|data: &[u8]| {
    // The first byte picks a UTC offset, so the local-time paths run with offsets too.
    let ctx = DecodeContext {
        utc_offset_secs: data.first().map(|b| (i32::from(*b) - 128) * 900),
        ..DecodeContext::default()
    };
    let max_line = data.split(|b| *b == b'\n').count() as u64;
    for format in [&Zscaler as &dyn Format, &PanosUrl, &ZeekHttp, &SentinelOne] {
        let _ = format.sniff(data);
        let mut sink = LineSink { max_line, last: 0 };
        decode_all(format, &ctx, data, &mut sink);
    }
});
