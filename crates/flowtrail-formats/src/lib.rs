//! Log format decoders: bytes in, normalized records out.
//!
//! Invariants: this crate performs no I/O and never panics on input (every decoder is fuzzed).
//! A malformed record is rejected through [`RecordSink::reject`]; it never aborts the stream.
//!
//! Adding a format: write `flow/<name>.rs` with a [`Format`] implementation and list it in
//! [`registry::FORMATS`].

pub mod envelope;
pub mod flow;
mod format;
pub mod http;
pub mod registry;
pub mod time;
mod util;
mod zeek;

pub use flowtrail_schema::{FlowRecord, HttpRecord, RecordSink, VecSink};
pub use format::{
    decode_line, Confidence, DecodeContext, Decoder, Format, Framing, RecordKind, LINE_TOO_LONG,
    MAX_LINE,
};
pub use registry::{by_name, sniff, FORMATS};

/// Decodes a whole in-memory input with `format` into `sink`: frames it and feeds the decoder.
///
/// The pipeline does the same with streaming framing; this helper serves tests, fuzz targets and
/// benchmarks.
pub fn decode_all(
    format: &dyn Format,
    ctx: &DecodeContext,
    input: &[u8],
    sink: &mut dyn RecordSink,
) {
    let mut dec = format.decoder(ctx);
    match format.framing() {
        Framing::Lines => {
            // A final line without a newline counts; the empty tail after the last one does not.
            let mut start = 0usize;
            let mut n = 0u64;
            let ends = memchr::memchr_iter(b'\n', input)
                .chain((input.last().is_some_and(|b| *b != b'\n')).then_some(input.len()));
            for end in ends {
                let line = &input[start..end];
                start = end + 1;
                n += 1;
                dec.decode(line.strip_suffix(b"\r").unwrap_or(line), n, sink);
            }
        }
        Framing::Document => dec.decode(input, 1, sink),
    }
    dec.finish(sink);
}
