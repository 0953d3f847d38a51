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
        Framing::Lines => dec.decode_lines(input, sink),
        Framing::Document => dec.decode(input, 1, sink),
    }
    dec.finish(sink);
}
