//! Fuzzes the firewall decoders (Cisco ASA, PAN-OS, FortiGate) and the syslog envelope through
//! `decode_all`, checking the accounting: every report names a line of the input, and every
//! non-blank line is reported exactly once (ASA built lines may be reported after later lines).
#![no_main]

use std::collections::BTreeMap;

use flowtrail_formats::envelope::syslog;
use flowtrail_formats::flow::cisco_asa::CiscoAsa;
use flowtrail_formats::flow::fortigate::Fortigate;
use flowtrail_formats::flow::panos::PanOs;
use flowtrail_formats::{decode_all, DecodeContext, Format};
use flowtrail_schema::{FlowRecord, HttpRecord, RecordSink};
use libfuzzer_sys::fuzz_target;

/// Counts reports per line.
#[derive(Default)]
struct CountingSink {
    per_line: BTreeMap<u64, u32>,
}

impl CountingSink {
    fn take(&mut self, line: u64) {
        assert!(line >= 1, "line numbers are 1-based");
        *self.per_line.entry(line).or_default() += 1;
    }
}

impl RecordSink for CountingSink {
    fn flow(&mut self, r: &FlowRecord<'_>) {
        self.take(r.origin_line);
        assert!(r.src_ip.is_some() || r.dst_ip.is_some() || r.extra.is_some());
        if let Some(extra) = r.extra.as_deref() {
            assert!(extra.starts_with('{') && extra.ends_with('}'));
        }
    }
    fn http(&mut self, _r: &HttpRecord<'_>) {
        panic!("firewall decoders emit flows only");
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
    // The first byte picks the context: with or without a reference time and an offset.
    let ctx = match data.first() {
        Some(b) if b % 3 == 0 => DecodeContext {
            reference_time: Some(1_710_000_000_000_000),
            utc_offset_secs: Some(-5 * 3600),
            ..DecodeContext::default()
        },
        Some(b) if b % 3 == 1 => DecodeContext {
            reference_time: Some(i64::from(*b) * i64::MAX / 255),
            ..DecodeContext::default()
        },
        _ => DecodeContext::default(),
    };
    for line in data.split(|b| *b == b'\n') {
        let _ = syslog::parse(line);
    }
    let mut lines = data.split(|b| *b == b'\n').count() as u64;
    if data.ends_with(b"\n") {
        lines -= 1;
    }
    for format in [&CiscoAsa as &dyn Format, &PanOs, &Fortigate] {
        let _ = format.sniff(data);
        let mut sink = CountingSink::default();
        decode_all(format, &ctx, data, &mut sink);
        for (line, n) in &sink.per_line {
            assert!(*line <= lines, "report for line {line} of {lines}");
            assert_eq!(*n, 1, "line {line} reported {n} times by {}", format.name());
        }
    }
});
