//! Fuzzes the NetFlow decoders (pcap/pcapng captures and raw v5/v9/IPFIX dumps) through
//! `decode_all`, checking the reporting contract: every report names a packet (line ≥ 1) and
//! every rejection and skip gives a reason. Rows of one packet share its line, so lines are not
//! consecutive; data sets decoded when a late template arrives report their own, earlier line.
#![no_main]

use flowtrail_formats::flow::netflow::{NetflowPcap, NetflowRaw};
use flowtrail_formats::{decode_all, DecodeContext, Format};
use flowtrail_schema::{FlowRecord, HttpRecord, RecordSink};
use libfuzzer_sys::fuzz_target;

struct CheckSink;

impl RecordSink for CheckSink {
    fn flow(&mut self, r: &FlowRecord<'_>) {
        assert!(r.origin_line >= 1);
        if let Some(x) = r.extra.as_deref() {
            assert!(x.starts_with('{') && x.ends_with('}'));
        }
    }
    fn http(&mut self, _r: &HttpRecord<'_>) {
        panic!("NetFlow decoders emit flows only");
    }
    fn skip(&mut self, line: u64, reason: &'static str) {
        assert!(line >= 1 && !reason.is_empty());
    }
    fn reject(&mut self, line: u64, reason: &str, _raw: &[u8]) {
        assert!(line >= 1 && !reason.is_empty());
    }
}

fuzz_target!(|data: &[u8]| {
    let ctx = DecodeContext {
        origin: "fuzz.dat".to_string(),
        ..DecodeContext::default()
    };
    for format in [&NetflowPcap as &dyn Format, &NetflowRaw] {
        let _ = format.sniff(data);
        decode_all(format, &ctx, data, &mut CheckSink);
    }
    // Raw dumps are also fed after a valid pcap header, so the capture walker sees the input.
    let mut cap = vec![
        0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 101, 0, 0, 0,
    ];
    cap.extend_from_slice(data);
    decode_all(&NetflowPcap, &ctx, &cap, &mut CheckSink);
});
