//! The ingest runtime: inputs → decompress → detect → decode → partitioned batches → lake.
//!
//! Workers (one per core) pull inputs from a queue in sorted order, so each worker's buffers
//! cover a narrow time range and its Parquet files stay large. A worker commits after an input
//! ends once it buffers `flush_rows` rows: it writes one file per (table, hour) to `_staging`,
//! then journals the finished inputs together with those files and moves them into place. An
//! input larger than the buffer is staged in several files and committed when it ends, so
//! memory stays bounded whatever the input size and an input is never half-visible.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use arrow::array::{Array, RecordBatch};
use flowtrail_enrich::{GeoDb, Hit, TiIndex};
use flowtrail_formats::{by_name, sniff, DecodeContext, Format, Framing, LINE_TOO_LONG, MAX_LINE};
use flowtrail_query::udf::{Net, NetSet, DEFAULT_INTERNAL};
use flowtrail_schema::{CompactFlow, Direction, FlowRecord, HttpRecord, Micros, RecordSink};
use flowtrail_store::{
    FlowBatchBuilder, FlowEnrichment, HttpBatchBuilder, InputEntry, InputTag, Lake, Partition,
    StagedFile, Table,
};

use crate::input::{self, CappedLines, InputSpec, Line, Payload};

/// Text a worker buffers before it stages early, whatever `flush_rows` says. Checked every
/// `TEXT_CHECK_ROWS` rows, so with lines of at most `MAX_LINE` bytes a column stays far below
/// Arrow's 2 GiB (32-bit offsets) limit.
const MAX_BUFFERED_TEXT: usize = 512 << 20;
const TEXT_CHECK_ROWS: usize = 256;

/// Rows a new flow buffer reserves before the worker has staged one.
const MIN_ROWS_HINT: usize = 16 * 1024;

/// Bytes of a rejected record kept in the dead-letter file.
const MAX_DEADLETTER_RAW: usize = 64 << 10;

/// Settings of one ingest run.
pub struct Options {
    pub format: Option<&'static dyn Format>,
    pub aws_fields: Option<String>,
    pub threads: usize,
    pub flush_rows: usize,
    pub internal: Vec<Net>,
    pub max_document_bytes: u64,
    pub utc_offset_secs: Option<i32>,
    /// A custom nginx/Apache log format for the `nginx`/`apache` formats.
    pub log_format: Option<String>,
    /// GeoIP/ASN databases for the `*_country`/`*_asn` columns.
    pub geo: Option<Arc<GeoDb>>,
    /// Intel indicators for the `ti_hits` columns.
    pub ti: Option<Arc<TiIndex>>,
}

impl Options {
    /// Returns the default internal networks (RFC 1918, RFC 6598, ULA, link-local, loopback).
    pub fn default_internal() -> Vec<Net> {
        DEFAULT_INTERNAL
            .iter()
            .filter_map(|s| Net::parse(s))
            .collect()
    }
}

/// The outcome of one ingest run.
#[derive(Debug, Default)]
pub struct Report {
    pub inputs: Vec<InputEntry>,
    /// Inputs the manifest already holds (same path, size and mtime).
    pub already: Vec<String>,
    pub files_written: u64,
    pub bytes_written: u64,
    pub deadletter: Option<std::path::PathBuf>,
    /// A failure that stopped the run (the lake could not be written).
    pub fatal: Option<String>,
    pub elapsed: f64,
}

/// Appends rejected records to the run's dead-letter file, created on first use.
struct DeadLetter {
    path: std::path::PathBuf,
    file: Mutex<Option<BufWriter<File>>>,
    used: AtomicBool,
}

impl DeadLetter {
    fn write(&self, origin: &str, format: &str, line: u64, reason: &str, raw: &[u8]) {
        let raw = &raw[..raw.len().min(MAX_DEADLETTER_RAW)];
        let rec = serde_json::json!({
            "origin": origin, "line": line, "format": format, "reason": reason,
            "raw": String::from_utf8_lossy(raw),
        });
        let Ok(mut g) = self.file.lock() else { return };
        if g.is_none() {
            match File::create(&self.path) {
                Ok(f) => *g = Some(BufWriter::new(f)),
                Err(e) => {
                    eprintln!(
                        "flowtrail: error: {}: cannot write dead-letter file: {e}",
                        self.path.display()
                    );
                    return;
                }
            }
        }
        if let Some(w) = g.as_mut() {
            let _ = writeln!(w, "{rec}");
            self.used.store(true, Ordering::Relaxed);
        }
    }

    fn flush(&self) {
        if let Ok(mut g) = self.file.lock() {
            if let Some(w) = g.as_mut() {
                let _ = w.flush();
            }
        }
    }
}

enum Builder {
    Flow(Box<FlowBatchBuilder>),
    Http(Box<HttpBatchBuilder>),
}

/// Per-worker state: buffers by (table, hour), staged files and finished inputs.
struct Worker<'a> {
    id: usize,
    lake: &'a Lake,
    opts: &'a Options,
    dead: &'a DeadLetter,
    /// `opts.internal` as a set for the per-flow direction test.
    internal: NetSet,
    buffers: BTreeMap<(u8, Partition), Builder>,
    buffered: usize,
    /// Rows the largest flow buffer held when last staged: new flow buffers reserve that much,
    /// so an hour of flows does not regrow (and copy) its columns from 16 Ki rows each time.
    flow_rows_hint: usize,
    staged: Vec<StagedFile>,
    done: Vec<InputEntry>,
    error: Option<String>,
}

/// The sink a decoder writes into for one input.
struct InputSink<'w, 'a> {
    w: &'w mut Worker<'a>,
    entry: InputEntry,
    format: &'static str,
    /// Unique within the run: lets the batch builder look the input's path up once.
    input_id: u64,
}

/// The direction of a flow from whether its source and destination are internal.
fn direction_of(src_internal: bool, dst_internal: bool) -> Direction {
    match (src_internal, dst_internal) {
        (true, true) => Direction::Internal,
        (true, false) => Direction::Outbound,
        (false, true) => Direction::Inbound,
        (false, false) => Direction::External,
    }
}

/// Returns a new input id (see [`InputSink::input_id`]).
fn next_input_id() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

impl InputSink<'_, '_> {
    fn direction(&self, r: &FlowRecord<'_>) -> Option<Direction> {
        if r.direction.is_some() {
            return r.direction;
        }
        let internal = |ip: Option<IpAddr>| ip.map(|ip| self.w.internal.contains(ip));
        Some(direction_of(internal(r.src_ip)?, internal(r.dst_ip)?))
    }

    fn after_push(&mut self) {
        self.entry.read += 1;
        self.entry.stored += 1;
        self.w.buffered += 1;
        // A single input larger than two buffers, or text nearing Arrow's 2 GiB column limit
        // (long lines): stage what we have (not yet visible).
        let text_full = self.w.buffered.is_multiple_of(TEXT_CHECK_ROWS)
            && self.w.text_bytes() >= MAX_BUFFERED_TEXT;
        if text_full || self.w.buffered >= self.w.opts.flush_rows.saturating_mul(2) {
            if let Err(e) = self.w.stage_all() {
                self.w.error.get_or_insert(e);
            }
        }
    }
}

impl RecordSink for InputSink<'_, '_> {
    fn flow(&mut self, r: &FlowRecord<'_>) {
        let dir = self.direction(r);
        let opts = self.w.opts;
        let mut e = FlowEnrichment::default();
        if let Some(geo) = opts.geo.as_deref() {
            if let Some(ip) = r.src_ip {
                let g = geo.lookup(ip);
                e.src_country = g.country_iso;
                e.src_asn = g.asn;
            }
            if let Some(ip) = r.dst_ip {
                let g = geo.lookup(ip);
                e.dst_country = g.country_iso;
                e.dst_asn = g.asn;
            }
        }
        let hits = opts.ti.as_deref().and_then(|ti| {
            let mut hits: Vec<&Hit> = Vec::new();
            for ip in [r.src_ip, r.dst_ip].into_iter().flatten() {
                ti.match_ip_into(ip, r.time, &mut hits);
            }
            flowtrail_query::enrich_udf::feed_names(hits)
        });
        e.ti_hits = hits.as_deref();
        let tag = InputTag {
            id: self.input_id,
            source_format: self.format,
            origin: &self.entry.origin,
        };
        self.w.flow_builder(r.time).push_input(&tag, r, dir, &e);
        self.after_push();
    }

    fn compact_flow(&mut self, r: &CompactFlow<'_>) {
        let opts = self.w.opts;
        if opts.geo.is_some() || opts.ti.is_some() {
            // Enrichment looks addresses up per row: the full path does that.
            return self.flow(&r.to_record());
        }
        let internal = &self.w.internal;
        let dir = direction_of(
            internal.contains(IpAddr::V4(r.src_ip)),
            internal.contains(IpAddr::V4(r.dst_ip)),
        );
        let tag = InputTag {
            id: self.input_id,
            source_format: self.format,
            origin: &self.entry.origin,
        };
        self.w.flow_builder(r.time).push_compact(&tag, r, Some(dir));
        self.after_push();
    }

    fn http(&mut self, r: &HttpRecord<'_>) {
        let key = (1u8, Partition::of_micros(r.time));
        let b = self
            .w
            .buffers
            .entry(key)
            .or_insert_with(|| Builder::Http(Box::default()));
        let hits = self.w.opts.ti.as_deref().and_then(|ti| {
            let mut hits: Vec<&Hit> = Vec::new();
            for ip in [r.client_ip, r.server_ip].into_iter().flatten() {
                ti.match_ip_into(ip, r.time, &mut hits);
            }
            if let Some(h) = r.host.as_deref() {
                ti.match_domain_into(h, r.time, &mut hits);
            }
            if let Some(u) = r.url.as_deref() {
                ti.match_url_into(u, r.time, &mut hits);
            }
            if let Some(ua) = r.user_agent.as_deref() {
                ti.match_user_agent_into(ua, r.time, &mut hits);
            }
            flowtrail_query::enrich_udf::feed_names(hits)
        });
        if let Builder::Http(b) = b {
            b.push_enriched(r, self.format, &self.entry.origin, hits.as_deref());
        }
        self.after_push();
    }

    fn skip(&mut self, _line: u64, reason: &'static str) {
        self.entry.read += 1;
        *self.entry.skipped.entry(reason.to_string()).or_default() += 1;
    }

    fn reject(&mut self, line: u64, reason: &str, raw: &[u8]) {
        self.entry.read += 1;
        self.entry.rejected += 1;
        self.w
            .dead
            .write(&self.entry.origin, self.format, line, reason, raw);
    }
}

impl Worker<'_> {
    /// The flow buffer of the hour `time` falls in, created on first use.
    fn flow_builder(&mut self, time: Micros) -> &mut FlowBatchBuilder {
        let hint = self.flow_rows_hint;
        let b = self
            .buffers
            .entry((0u8, Partition::of_micros(time)))
            .or_insert_with(|| Builder::Flow(Box::new(FlowBatchBuilder::with_capacity(hint))));
        match b {
            Builder::Flow(b) => b,
            // Table 0 is only ever given flow buffers.
            Builder::Http(_) => unreachable!("an HTTP buffer under the flows table key"),
        }
    }

    /// Bytes of text in all buffers.
    fn text_bytes(&self) -> usize {
        self.buffers
            .values()
            .map(|b| match b {
                Builder::Flow(b) => b.text_bytes(),
                Builder::Http(b) => b.text_bytes(),
            })
            .sum()
    }

    fn stage_all(&mut self) -> Result<(), String> {
        let buffers = std::mem::take(&mut self.buffers);
        let largest = buffers
            .values()
            .filter_map(|b| match b {
                Builder::Flow(b) => Some(b.len()),
                Builder::Http(_) => None,
            })
            .max();
        if let Some(rows) = largest {
            self.flow_rows_hint =
                rows.clamp(MIN_ROWS_HINT, self.opts.flush_rows.max(MIN_ROWS_HINT));
        }
        for ((table_tag, part), b) in buffers {
            let (table, batch): (Table, RecordBatch) = match b {
                Builder::Flow(mut b) => (Table::Flows, b.finish()),
                Builder::Http(mut b) => (Table::Http, b.finish()),
            };
            let _ = table_tag;
            let f = self
                .lake
                .stage(table, part, &format!("w{}", self.id), &[batch])
                .map_err(|e| e.to_string())?;
            self.staged.push(f);
        }
        self.buffered = 0;
        Ok(())
    }

    fn commit(&mut self, report: &Mutex<Report>) -> Result<(), String> {
        self.stage_all()?;
        let files = std::mem::take(&mut self.staged);
        let inputs = std::mem::take(&mut self.done);
        let (n, bytes) = (
            files.len() as u64,
            files.iter().map(|f| f.file.bytes).sum::<u64>(),
        );
        self.lake
            .commit(inputs.clone(), files)
            .map_err(|e| e.to_string())?;
        if let Ok(mut r) = report.lock() {
            r.files_written += n;
            r.bytes_written += bytes;
            r.inputs.extend(inputs);
        }
        Ok(())
    }

    /// Decodes one input into the buffers; returns its accounting entry.
    fn ingest(&mut self, spec: &InputSpec) -> InputEntry {
        let origin = spec.origin();
        let base = InputEntry {
            key: spec.key(),
            origin: origin.clone(),
            ..Default::default()
        };
        let payload = match input::open(spec) {
            Ok(p) => p,
            Err(e) => {
                return InputEntry {
                    error: Some(e),
                    ..base
                }
            }
        };
        let ctx = DecodeContext {
            origin: origin.clone(),
            aws_fields: self.opts.aws_fields.clone(),
            utc_offset_secs: self.opts.utc_offset_secs,
            reference_time: base.key.as_ref().map(|k| (k.mtime_ns / 1000) as i64),
        };
        match payload {
            Payload::Memory(buf) => {
                let Some(format) = self.pick_format(&buf, &origin) else {
                    return InputEntry {
                        error: Some(unknown_format(&buf)),
                        ..base
                    };
                };
                let mut dec = self.decoder(format, &ctx);
                let mut sink = InputSink {
                    w: self,
                    entry: InputEntry {
                        format: format.name().into(),
                        ..base
                    },
                    format: format.name(),
                    input_id: next_input_id(),
                };
                match format.framing() {
                    Framing::Lines => dec.decode_lines(&buf, &mut sink),
                    Framing::Document => {
                        if buf.len() as u64 > sink.w.opts.max_document_bytes {
                            return InputEntry {
                                error: Some(too_big(
                                    buf.len() as u64,
                                    sink.w.opts.max_document_bytes,
                                )),
                                ..sink.entry
                            };
                        }
                        dec.decode(&buf, 1, &mut sink);
                    }
                }
                dec.finish(&mut sink);
                sink.entry
            }
            Payload::Stream(mut r) => {
                let head = match r.fill_buf_owned() {
                    Ok(h) => h,
                    Err(e) => {
                        return InputEntry {
                            error: Some(format!("reading: {e}")),
                            ..base
                        }
                    }
                };
                let Some(format) = self.pick_format(&head, &origin) else {
                    return InputEntry {
                        error: Some(unknown_format(&head)),
                        ..base
                    };
                };
                let mut dec = self.decoder(format, &ctx);
                let mut sink = InputSink {
                    w: self,
                    entry: InputEntry {
                        format: format.name().into(),
                        ..base
                    },
                    format: format.name(),
                    input_id: next_input_id(),
                };
                match format.framing() {
                    Framing::Lines => {
                        let mut lines = CappedLines::new(r, MAX_LINE);
                        let mut buf = Vec::with_capacity(4096);
                        let mut n = 0u64;
                        loop {
                            match lines.next_line(&mut buf) {
                                Ok(Some(Line::Ok(l))) => {
                                    n += 1;
                                    dec.decode(&l, n, &mut sink);
                                    buf = l;
                                }
                                Ok(Some(Line::TooLong(l))) => {
                                    n += 1;
                                    sink.reject(n, LINE_TOO_LONG, &l);
                                }
                                Ok(None) => break,
                                Err(e) => {
                                    sink.entry.error =
                                        Some(format!("read error after line {n}: {e}"));
                                    break;
                                }
                            }
                        }
                    }
                    Framing::Document => {
                        let cap = sink.w.opts.max_document_bytes;
                        let mut doc = Vec::new();
                        let res = std::io::Read::read_to_end(
                            &mut std::io::Read::take(r, cap + 1),
                            &mut doc,
                        );
                        if let Err(e) = res {
                            sink.entry.error =
                                Some(format!("read error after {} bytes: {e}", doc.len()));
                            // A damaged document (truncated gzip, cut blob) cannot be parsed.
                            return sink.entry;
                        }
                        if doc.len() as u64 > cap {
                            return InputEntry {
                                error: Some(too_big(doc.len() as u64, cap)),
                                ..sink.entry
                            };
                        }
                        dec.decode(&doc, 1, &mut sink);
                    }
                }
                dec.finish(&mut sink);
                sink.entry
            }
            Payload::Parquet(bytes) => {
                let mut sink = InputSink {
                    w: self,
                    entry: InputEntry {
                        format: "aws_vpc".into(),
                        ..base
                    },
                    format: "aws_vpc",
                    input_id: next_input_id(),
                };
                if let Err(e) = decode_aws_parquet(bytes, &ctx, &mut sink) {
                    sink.entry.error = Some(e);
                }
                sink.entry
            }
        }
    }

    /// Builds the decoder for one input: the format's own, or a compiled custom log format.
    fn decoder(
        &self,
        format: &dyn Format,
        ctx: &DecodeContext,
    ) -> Box<dyn flowtrail_formats::Decoder> {
        match &self.opts.log_format {
            Some(lf) if matches!(format.name(), "nginx" | "apache") => {
                flowtrail_formats::http::nginx::decoder_for_log_format_ctx(lf, ctx)
                    .unwrap_or_else(|_| format.decoder(ctx))
            }
            _ => format.decoder(ctx),
        }
    }

    fn pick_format(&self, head: &[u8], origin: &str) -> Option<&'static dyn Format> {
        self.opts
            .format
            .or_else(|| sniff(&head[..head.len().min(64 << 10)], origin))
    }
}

fn too_big(n: u64, cap: u64) -> String {
    format!(
        "document of {n} bytes or more is larger than --max-document-mib ({} MiB)",
        cap >> 20
    )
}

fn unknown_format(head: &[u8]) -> String {
    let first = head.split(|b| *b == b'\n').next().unwrap_or(&[]);
    let shown: String = String::from_utf8_lossy(&first[..first.len().min(60)]).into();
    format!("unknown format (first line starts {shown:?}); pass --format (see `flowtrail formats`)")
}

trait FillOwned {
    fn fill_buf_owned(&mut self) -> std::io::Result<Vec<u8>>;
}

impl FillOwned for Box<dyn std::io::BufRead + Send> {
    fn fill_buf_owned(&mut self) -> std::io::Result<Vec<u8>> {
        Ok(self.fill_buf()?.to_vec())
    }
}

/// Decodes AWS's Parquet delivery: column names are the text field names with underscores.
fn decode_aws_parquet(
    bytes: Vec<u8>,
    ctx: &DecodeContext,
    sink: &mut dyn RecordSink,
) -> Result<(), String> {
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let builder = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes))
        .map_err(|e| format!("not a readable Parquet file: {e}"))?;
    let names: Vec<String> = builder
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().replace('_', "-"))
        .collect();
    let refs: Vec<&str> = names.iter().map(|s| s.as_str()).collect();
    let mut dec = flowtrail_formats::flow::aws_vpc::decoder_for_fields(&refs, ctx);
    let reader = builder
        .with_batch_size(8192)
        .build()
        .map_err(|e| e.to_string())?;
    let mut line = 0u64;
    for batch in reader {
        let batch = batch.map_err(|e| format!("Parquet read error after row {line}: {e}"))?;
        let cols: Vec<arrow::array::ArrayRef> = batch
            .columns()
            .iter()
            .map(|c| arrow::compute::cast(c, &arrow::datatypes::DataType::Utf8))
            .collect::<Result<_, _>>()
            .map_err(|e| format!("Parquet column not convertible to text: {e}"))?;
        let strs: Vec<&arrow::array::StringArray> = cols
            .iter()
            .filter_map(|c| c.as_any().downcast_ref::<arrow::array::StringArray>())
            .collect();
        let mut tokens: Vec<&str> = Vec::with_capacity(strs.len());
        for row in 0..batch.num_rows() {
            line += 1;
            tokens.clear();
            for s in &strs {
                tokens.push(if s.is_null(row) { "-" } else { s.value(row) });
            }
            dec.decode_tokens(&tokens, line, sink);
        }
    }
    Ok(())
}

/// Runs an ingest of `specs` into `lake`.
pub fn run(
    lake: &Lake,
    specs: Vec<InputSpec>,
    opts: &Options,
    force: bool,
    progress: Option<&indicatif::ProgressBar>,
) -> Report {
    let dead = DeadLetter {
        path: lake.deadletter_path(),
        file: Mutex::new(None),
        used: AtomicBool::new(false),
    };
    let report = Mutex::new(Report::default());
    let (tx, rx) = crossbeam_channel::unbounded::<InputSpec>();
    let mut seen: HashMap<String, ()> = HashMap::new();
    for s in specs {
        // The same file named twice (a folder and a glob) is read once.
        if let Some(k) = s.key() {
            if seen.insert(k.origin.clone(), ()).is_some() {
                continue;
            }
            if !force && lake.ingested(&k).is_some() {
                if let Ok(mut r) = report.lock() {
                    r.already.push(s.origin());
                }
                if let Some(p) = progress {
                    p.inc(s.size());
                }
                continue;
            }
        }
        let _ = tx.send(s);
    }
    drop(tx);
    let fatal: Mutex<Option<String>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for id in 0..opts.threads.max(1) {
            let rx = rx.clone();
            let (dead, report, fatal) = (&dead, &report, &fatal);
            scope.spawn(move || {
                let mut w = Worker {
                    id,
                    lake,
                    opts,
                    dead,
                    internal: NetSet::new(&opts.internal),
                    buffers: BTreeMap::new(),
                    buffered: 0,
                    flow_rows_hint: MIN_ROWS_HINT,
                    staged: vec![],
                    done: vec![],
                    error: None,
                };
                while let Ok(spec) = rx.recv() {
                    if fatal.lock().map(|f| f.is_some()).unwrap_or(true) {
                        break;
                    }
                    let size = spec.size();
                    let entry = w.ingest(&spec);
                    w.done.push(entry);
                    if let Some(p) = progress {
                        p.inc(size);
                    }
                    let res = match w.error.take() {
                        Some(e) => Err(e),
                        None if w.buffered >= opts.flush_rows || !w.staged.is_empty() => {
                            w.commit(report)
                        }
                        None => Ok(()),
                    };
                    if let Err(e) = res {
                        if let Ok(mut f) = fatal.lock() {
                            f.get_or_insert(e);
                        }
                        return;
                    }
                }
                if let Err(e) = w.commit(report) {
                    if let Ok(mut f) = fatal.lock() {
                        f.get_or_insert(e);
                    }
                }
            });
        }
    });
    dead.flush();
    let mut r = report.into_inner().unwrap_or_default();
    r.fatal = fatal.into_inner().unwrap_or(None);
    if dead.used.load(Ordering::Relaxed) {
        r.deadletter = Some(dead.path);
    }
    r.inputs.sort_by(|a, b| a.origin.cmp(&b.origin));
    r
}

/// Resolves `--format`.
pub fn format_by_name(name: &str) -> anyhow::Result<&'static dyn Format> {
    by_name(name).ok_or_else(|| {
        let names: Vec<&str> = flowtrail_formats::FORMATS
            .iter()
            .map(|f| f.name())
            .collect();
        anyhow::anyhow!(
            "unknown format `{name}`; known formats: {}",
            names.join(", ")
        )
    })
}
