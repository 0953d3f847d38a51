//! A tiny benchmark harness shared by the decoder benchmarks (`#[path]`-included), so the
//! formats crate needs no benchmarking dependency. Prints records/s and MB/s per case.

use std::time::Instant;

use flowtrail_formats::{decode_all, DecodeContext, Format, VecSink};
use flowtrail_schema::{FlowRecord, HttpRecord, RecordSink};

/// Counts rows without keeping them, so the benchmark measures decoding alone.
#[derive(Default)]
pub struct CountSink {
    pub rows: u64,
    pub other: u64,
}

impl RecordSink for CountSink {
    fn flow(&mut self, r: &FlowRecord<'_>) {
        self.rows += 1;
        std::hint::black_box(r);
    }
    fn http(&mut self, r: &HttpRecord<'_>) {
        self.rows += 1;
        std::hint::black_box(r);
    }
    fn skip(&mut self, _line: u64, _reason: &'static str) {
        self.other += 1;
    }
    fn reject(&mut self, _line: u64, _reason: &str, _raw: &[u8]) {
        self.other += 1;
    }
}

/// Decodes `input` repeatedly for about two seconds and prints the rate.
pub fn bench(name: &str, format: &dyn Format, ctx: &DecodeContext, input: &[u8]) {
    // Warm up and check that the input decodes at all.
    let mut check = VecSink::default();
    decode_all(format, ctx, input, &mut check);
    assert!(
        !check.flows.is_empty() || !check.http.is_empty(),
        "{name}: input decodes to no rows"
    );
    let start = Instant::now();
    let mut iters = 0u64;
    let mut rows = 0u64;
    while start.elapsed().as_secs_f64() < 2.0 {
        let mut sink = CountSink::default();
        decode_all(format, ctx, input, &mut sink);
        rows += sink.rows;
        iters += 1;
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{name:<40} {:>12.0} records/s {:>9.1} MB/s ({iters} iterations)",
        rows as f64 / secs,
        (input.len() as u64 * iters) as f64 / secs / 1e6
    );
}
