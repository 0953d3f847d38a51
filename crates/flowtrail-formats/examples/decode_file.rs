//! Decodes one plain-text file fully with one format and prints the rates as JSON, for the
//! benchmark scripts in `bench/` (e.g. `bench/http_vs_goaccess.sh`):
//!
//! ```sh
//! cargo run --release -p flowtrail-formats --example decode_file -- nginx access.log
//! ```
//!
//! Prints `{"format","lines","rows","skipped","rejected","seconds","rows_per_s",
//! "read_seconds","total_seconds","total_rows_per_s","bytes","mb_per_s"}`: `seconds` times the
//! decode alone (the file is already in memory), `total_seconds` the read and the decode. Rows
//! go to a counting sink, so nothing is stored; the first rejection reasons are printed on
//! stderr.

use std::process::ExitCode;
use std::time::Instant;

use flowtrail_formats::{by_name, decode_all, DecodeContext, FlowRecord, HttpRecord, RecordSink};

/// Counts what the decoder reports and keeps the first few rejection reasons.
#[derive(Default)]
struct CountSink {
    rows: u64,
    skipped: u64,
    rejected: u64,
    first_rejections: Vec<String>,
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
        self.skipped += 1;
    }
    fn reject(&mut self, line: u64, reason: &str, _raw: &[u8]) {
        self.rejected += 1;
        if self.first_rejections.len() < 5 {
            self.first_rejections.push(format!("line {line}: {reason}"));
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [format_name, path] = args.as_slice() else {
        eprintln!("usage: decode_file FORMAT FILE   (FORMAT: a name from `flowtrail formats`)");
        return ExitCode::from(2);
    };
    let Some(format) = by_name(format_name) else {
        eprintln!("decode_file: unknown format {format_name:?}");
        return ExitCode::from(2);
    };

    let start = Instant::now();
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("decode_file: cannot read {path}: {e}");
            return ExitCode::from(1);
        }
    };
    let read_seconds = start.elapsed().as_secs_f64();

    let ctx = DecodeContext {
        origin: path.clone(),
        ..DecodeContext::default()
    };
    let mut sink = CountSink::default();
    let decode_start = Instant::now();
    decode_all(format, &ctx, &bytes, &mut sink);
    let seconds = decode_start.elapsed().as_secs_f64();
    let total_seconds = start.elapsed().as_secs_f64();

    let lines = bytecount_lines(&bytes);
    for r in &sink.first_rejections {
        eprintln!("decode_file: rejected {r}");
    }
    let rate = |n: u64, s: f64| if s > 0.0 { n as f64 / s } else { 0.0 };
    let out = serde_json::json!({
        "format": format_name,
        "lines": lines,
        "rows": sink.rows,
        "skipped": sink.skipped,
        "rejected": sink.rejected,
        "seconds": seconds,
        "rows_per_s": rate(sink.rows, seconds).round(),
        "read_seconds": read_seconds,
        "total_seconds": total_seconds,
        "total_rows_per_s": rate(sink.rows, total_seconds).round(),
        "bytes": bytes.len(),
        "mb_per_s": rate(bytes.len() as u64, seconds) / 1e6,
    });
    println!("{out}");
    ExitCode::SUCCESS
}

/// Lines as `decode_all` frames them: a final line without a newline counts.
fn bytecount_lines(bytes: &[u8]) -> u64 {
    let newlines = memchr::memchr_iter(b'\n', bytes).count() as u64;
    newlines + u64::from(bytes.last().is_some_and(|b| *b != b'\n'))
}
