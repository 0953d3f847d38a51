//! Fuzzes the Azure NSG and VNet decoders through `decode_all`, checking the accounting
//! contract: every report (row or rejection) takes the next ordinal, starting at 1.
#![no_main]

use flowtrail_formats::flow::azure::{AzureNsg, AzureVnet};
use flowtrail_formats::{decode_all, DecodeContext, Format};
use flowtrail_schema::{FlowRecord, HttpRecord, RecordSink};
use libfuzzer_sys::fuzz_target;

/// Asserts that reports arrive numbered 1, 2, 3, ... and that rows look sane.
struct OrdinalSink {
    next: u64,
}

impl OrdinalSink {
    fn take(&mut self, line: u64) {
        assert_eq!(line, self.next, "reports must take consecutive ordinals");
        self.next += 1;
    }
}

impl RecordSink for OrdinalSink {
    fn flow(&mut self, r: &FlowRecord<'_>) {
        self.take(r.origin_line);
        assert!(r.src_ip.is_some() && r.dst_ip.is_some() && r.action.is_some());
    }
    fn http(&mut self, _r: &HttpRecord<'_>) {
        panic!("Azure decoders emit flows only");
    }
    fn skip(&mut self, line: u64, _reason: &'static str) {
        self.take(line);
    }
    fn reject(&mut self, line: u64, reason: &str, _raw: &[u8]) {
        self.take(line);
        assert!(!reason.is_empty());
    }
}

fuzz_target!(|data: &[u8]| {
    // The first byte picks a blob path, so the path fallbacks are exercised too.
    let origin = match data.first() {
        Some(b) if b % 2 == 0 => "resourceId=/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/N/y=2024/m=01/d=01/h=00/m=00/macAddress=000D3A000001/PT1H.json",
        _ => "",
    };
    let ctx = DecodeContext {
        origin: origin.to_string(),
        ..DecodeContext::default()
    };
    for format in [&AzureNsg as &dyn Format, &AzureVnet] {
        let _ = format.sniff(data);
        let mut sink = OrdinalSink { next: 1 };
        decode_all(format, &ctx, data, &mut sink);
    }
});
