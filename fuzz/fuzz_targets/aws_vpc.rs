//! Fuzzes the AWS VPC flow log decoder: arbitrary bytes through `decode_all` (lines parsed in
//! place, as the pipeline reads an inflated file) with the implicit
//! default layout, with a custom `aws_fields` list and an S3 origin, and row-wise through
//! `decode_tokens`. Checks the accounting invariant (at most one outcome per line) and that
//! `extra` is always a braced object.
#![no_main]

use flowtrail_formats::flow::aws_vpc::{decoder_for_fields, AwsVpc};
use flowtrail_formats::{decode_all, DecodeContext, Format};
use flowtrail_schema::{FlowRecord, HttpRecord, RecordSink};
use libfuzzer_sys::fuzz_target;

/// Counts outcomes and checks each flow without keeping it.
#[derive(Default)]
struct CountSink {
    outcomes: u64,
}

impl RecordSink for CountSink {
    fn flow(&mut self, r: &FlowRecord<'_>) {
        self.outcomes += 1;
        if let Some(extra) = &r.extra {
            assert!(
                extra.starts_with('{') && extra.ends_with('}'),
                "extra {extra:?}"
            );
        }
    }
    fn http(&mut self, _r: &HttpRecord<'_>) {
        panic!("aws_vpc never emits http records");
    }
    fn skip(&mut self, _line: u64, _reason: &'static str) {
        self.outcomes += 1;
    }
    fn reject(&mut self, _line: u64, reason: &str, _raw: &[u8]) {
        assert!(!reason.is_empty());
        self.outcomes += 1;
    }
}

const CUSTOM: &str =
    "version srcaddr dstaddr srcport dstport protocol start end type packets bytes \
    account_id vpc-id subnet-id instance-id interface-id region az-id action tcp-flags pkt-srcaddr \
    pkt-dstaddr flow-direction reject-reason traffic-path future_field log-status";

fuzz_target!(|data: &[u8]| {
    let lines = data.split(|b| *b == b'\n').count() as u64;
    let _ = AwsVpc.sniff(data);

    let mut sink = CountSink::default();
    decode_all(&AwsVpc, &DecodeContext::default(), data, &mut sink);
    assert!(sink.outcomes <= lines);

    let ctx = DecodeContext {
        origin: "bucket/AWSLogs/123456789012/vpcflowlogs/us-east-1/2024/02/29/\
                 123456789012_vpcflowlogs_us-east-1_fl-1_20240229T2355Z_ab.log.gz"
            .to_string(),
        aws_fields: Some(CUSTOM.to_string()),
        ..DecodeContext::default()
    };
    let mut sink = CountSink::default();
    decode_all(&AwsVpc, &ctx, data, &mut sink);
    assert!(sink.outcomes <= lines);

    // Row-wise: each line's space-separated values as one row of the custom layout.
    let fields: Vec<&str> = CUSTOM.split_whitespace().collect();
    let mut dec = decoder_for_fields(&fields, &ctx);
    let mut sink = CountSink::default();
    let text = String::from_utf8_lossy(data);
    for (i, line) in text.lines().enumerate() {
        let row: Vec<&str> = line.split(' ').collect();
        dec.decode_tokens(&row, i as u64 + 1, &mut sink);
    }
    assert_eq!(sink.outcomes, text.lines().count() as u64);
});
