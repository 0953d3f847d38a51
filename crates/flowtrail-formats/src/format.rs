use flowtrail_schema::RecordSink;

/// Which normalized table a format feeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordKind {
    Flow,
    Http,
}

/// How a byte stream is cut into the units a decoder takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// One record per line (`\n`, a trailing `\r` removed). Empty lines are passed too.
    Lines,
    /// The whole input is one document (Azure `PT1H.json`); the pipeline caps its size.
    Document,
}

/// How sure a format is that a sample of input is its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Confidence {
    No,
    Maybe,
    Likely,
    Certain,
}

/// What a decoder may know about its input besides the bytes.
#[derive(Debug, Clone, Default)]
pub struct DecodeContext {
    /// The file path or object key (used for layouts such as `AWSLogs/<account>/...`).
    pub origin: String,
    /// For AWS VPC logs without a header line (CloudWatch exports): the field list, space separated,
    /// in AWS's hyphenated names (`version account-id interface-id ...`).
    pub aws_fields: Option<String>,
    /// UTC offset in seconds for sources that log local time without an offset (PAN-OS, ASA,
    /// FortiGate, Apache); `None` means UTC.
    pub utc_offset_secs: Option<i32>,
    /// A time known to be close to the input's records (µs since epoch: the file's modification
    /// time, or a date in its path), used to infer the year of RFC 3164 syslog timestamps that
    /// omit it. Never the wall clock alone.
    pub reference_time: Option<i64>,
}

/// A log format: describes itself and builds decoders.
pub trait Format: Send + Sync {
    /// Returns the stable snake_case name used with `--format` and in `source_format`.
    fn name(&self) -> &'static str;
    /// Returns a one-line description for `flowtrail formats`.
    fn description(&self) -> &'static str;
    /// Returns the table this format feeds.
    fn record_kind(&self) -> RecordKind {
        RecordKind::Flow
    }
    /// Returns how input is framed before decoding.
    fn framing(&self) -> Framing {
        Framing::Lines
    }
    /// Builds a decoder for one input.
    fn decoder(&self, ctx: &DecodeContext) -> Box<dyn Decoder>;
    /// Scores how likely `prefix` (the first few KiB, decompressed) is this format.
    fn sniff(&self, prefix: &[u8]) -> Confidence;
}

/// Longest line accepted; a longer one is rejected with [`LINE_TOO_LONG`] (its first bytes go
/// to the dead-letter file).
pub const MAX_LINE: usize = 1 << 20;
/// The reject reason of a line longer than [`MAX_LINE`].
pub const LINE_TOO_LONG: &str = "line longer than 1 MiB";

/// Decodes one line of a [`Framing::Lines`] input with its `\n` already removed: a trailing
/// `\r` is removed, and a line longer than [`MAX_LINE`] is rejected instead of decoded.
#[inline]
pub fn decode_line<D: Decoder + ?Sized>(
    dec: &mut D,
    line: &[u8],
    n: u64,
    sink: &mut dyn RecordSink,
) {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.len() > MAX_LINE {
        sink.reject(n, LINE_TOO_LONG, line);
    } else {
        dec.decode(line, n, sink);
    }
}

/// Decodes the records of one input, keeping per-input state (a header line, templates).
pub trait Decoder: Send {
    /// Decodes one framed unit (a line, or a whole document); `line` is its 1-based line number.
    ///
    /// Every record found ends in exactly one of `sink.flow`, `sink.http`, `sink.skip` or
    /// `sink.reject`. Header and comment lines are not records and are not reported.
    fn decode(&mut self, unit: &[u8], line: u64, sink: &mut dyn RecordSink);
    /// Decodes a whole input of [`Framing::Lines`] held in memory: each line (its `\r\n` or
    /// `\n` removed) as [`Decoder::decode`] would, numbered from 1; a line longer than
    /// [`MAX_LINE`] is rejected. A final line without a newline counts; the empty tail after
    /// the last newline does not. A decoder may override this to find line ends while it
    /// parses, with the same result.
    fn decode_lines(&mut self, buf: &[u8], sink: &mut dyn RecordSink) {
        let mut n = 0u64;
        let mut start = 0usize;
        // memchr finds line ends several bytes at a time.
        let ends = memchr::memchr_iter(b'\n', buf)
            .chain((buf.last().is_some_and(|b| *b != b'\n')).then_some(buf.len()));
        for end in ends {
            let line = buf.get(start..end).unwrap_or_default();
            start = end + 1;
            n += 1;
            decode_line(self, line, n, sink);
        }
    }
    /// Called once at the end of the input (for formats that pair records, such as ASA).
    fn finish(&mut self, _sink: &mut dyn RecordSink) {}
}
