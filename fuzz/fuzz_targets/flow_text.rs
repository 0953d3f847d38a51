//! Fuzzes the line-oriented flow decoders (Zeek conn.log, GCP VPC Flow Logs, nfdump CSV)
//! through `decode_all`, checking their reporting contract: reports name lines of the input,
//! rows come in non-decreasing line order, and Zeek and nfdump report each line at most once.
#![no_main]

use flowtrail_formats::flow::gcp_vpc::GcpVpc;
use flowtrail_formats::flow::nfdump_csv::NfdumpCsv;
use flowtrail_formats::flow::zeek_conn::ZeekConn;
use flowtrail_formats::{decode_all, DecodeContext, Format};
use flowtrail_schema::{FlowRecord, HttpRecord, RecordSink};
use libfuzzer_sys::fuzz_target;

/// Asserts that reports name lines 1..=max_line in non-decreasing order.
struct LineSink {
    max_line: u64,
    last: u64,
    /// Whether a line may carry several reports (GCP: several array elements on one line).
    shared_lines: bool,
}

impl LineSink {
    fn take(&mut self, line: u64) {
        assert!(
            (1..=self.max_line).contains(&line),
            "line {line} of {}",
            self.max_line
        );
        if self.shared_lines {
            assert!(line >= self.last, "line {line} after {}", self.last);
        } else {
            assert!(line > self.last, "line {line} reported after {}", self.last);
        }
        self.last = line;
    }
}

impl RecordSink for LineSink {
    fn flow(&mut self, r: &FlowRecord<'_>) {
        self.take(r.origin_line);
        assert!(r.src_ip.is_some() && r.dst_ip.is_some());
        if let Some(extra) = &r.extra {
            assert!(extra.starts_with('{') && extra.ends_with('}'), "{extra}");
        }
    }
    fn http(&mut self, _r: &HttpRecord<'_>) {
        panic!("flow decoders emit flows only");
    }
    fn skip(&mut self, line: u64, _reason: &'static str) {
        self.take(line);
    }
    fn reject(&mut self, line: u64, reason: &str, _raw: &[u8]) {
        assert!(!reason.is_empty());
        // GCP rejects a multi-line value at its first line, after later lines were read.
        if self.shared_lines {
            assert!((1..=self.max_line).contains(&line));
        } else {
            self.take(line);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    // The first byte picks a UTC offset, so the nfdump local-time path is exercised too.
    let ctx = DecodeContext {
        utc_offset_secs: data.first().map(|b| (i32::from(*b) - 128) * 900),
        ..DecodeContext::default()
    };
    let max_line = data.split(|b| *b == b'\n').count() as u64;
    for (format, shared_lines) in [
        (&ZeekConn as &dyn Format, false),
        (&GcpVpc, true),
        (&NfdumpCsv, false),
    ] {
        let _ = format.sniff(data);
        let mut sink = LineSink {
            max_line,
            last: 0,
            shared_lines,
        };
        decode_all(format, &ctx, data, &mut sink);
    }
});
