//! Parquet encoding of lake batches, built for the ingest hot path.
//!
//! arrow-rs's `ArrowWriter` re-derives everything per value: it interns every text value into a
//! fresh page dictionary (hashing and comparing each one, even when the batch already holds it
//! as a dictionary key), probes a hash table for every integer, and computes min/max per row.
//! That was ~40 % of ingest time. The batches the lake writes are simple (flat columns of text,
//! dictionary text, 32/64-bit integers and timestamps), so this module writes their column chunks
//! directly:
//!
//! - a dictionary column's keys become the data pages as they are (bit-packed or run-length
//!   encoded, RLE_DICTIONARY) and its values the dictionary page; statistics and the bloom filter
//!   come from the distinct values actually used, not from every row;
//! - an integer column is dictionary-encoded through a direct-address table when its values span
//!   less than 64 Ki (ports, protocols, packet counts), through an open-addressing table
//!   otherwise, and falls back to PLAIN when the dictionary would exceed the size limit;
//! - `DELTA_BINARY_PACKED` where the properties ask for it (line numbers);
//! - plain text is interned when the properties enable a dictionary for it, PLAIN otherwise.
//!
//! The file, row-group and page framing (Thrift headers, footer, bloom filter placement) is
//! still arrow-rs's: each chunk is encoded into a buffer and spliced into a
//! `SerializedFileWriter` row group with `append_column`. Column settings (compression,
//! statistics, bloom filters, encodings) are read from the same `WriterProperties` the
//! `ArrowWriter` path uses, so [`crate::lake::writer_properties`] stays the one place that says
//! how lake files are laid out. Anything outside those shapes is reported by [`supports`], and the
//! caller uses `ArrowWriter` for it.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::io::Write;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::buffer::NullBuffer;
use arrow::datatypes::{DataType, Field, Int32Type, Int64Type, Schema, TimeUnit};
use bytes::Bytes;
use parquet::arrow::{add_encoded_arrow_schema_to_metadata, ArrowSchemaConverter};
use parquet::basic::{Compression, Encoding};
use parquet::bloom_filter::Sbbf;
use parquet::column::page::{CompressedPage, Page, PageWriter};
use parquet::column::writer::ColumnCloseResult;
use parquet::data_type::ByteArray;
use parquet::errors::{ParquetError, Result};
use parquet::file::metadata::ColumnChunkMetaData;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::file::statistics::Statistics;
use parquet::file::writer::{SerializedFileWriter, SerializedPageWriter, TrackedWrite};
use parquet::schema::types::{ColumnDescPtr, ColumnPath};

use crate::columns::FxHasher;

/// One second in the lake's timestamp unit (µs): the step [`Encoder::int_dictionary`] tries
/// for direct addressing when values span more than 64 Ki.
const SECOND: u128 = 1_000_000;

/// Rows per data page (at most): small enough that a reader decodes a page in cache and that
/// early pages of a dictionary column are written at the width of the keys seen so far (64 Ki
/// rows made the lake 2.5 % larger), large enough that page headers cost nothing.
const PAGE_ROWS: usize = 20 * 1024;

/// Bytes of PLAIN values per data page (at most, past the first value) for text columns.
const PAGE_BYTES: usize = 1 << 20;

/// Largest dictionary page written, in bytes of PLAIN-encoded values. Larger than arrow-rs's
/// 1 MiB default on purpose: an hour of flows can hold a few hundred thousand distinct
/// addresses, and their dictionary (~14 bytes each) plus ~18-bit keys stays far smaller than
/// the PLAIN text. Readers (arrow-rs, DuckDB, Trino, Spark) have no such limit.
const DICTIONARY_LIMIT: usize = 8 << 20;

/// Statistics of text longer than this are left out (a truncated max would have to be
/// incremented to stay an upper bound; long URLs and JSON never prune anyway).
const STATS_TEXT_LIMIT: usize = 64;

/// Returns true when every column of `schema` has a shape this module writes.
pub fn supports(schema: &Schema) -> bool {
    schema.fields().iter().all(|f| match f.data_type() {
        DataType::Int32 | DataType::Int64 | DataType::Utf8 => true,
        DataType::Timestamp(TimeUnit::Microsecond, _) => true,
        DataType::Dictionary(k, v) => **k == DataType::Int32 && **v == DataType::Utf8,
        _ => false,
    })
}

/// Writes `batch` as a Parquet file of one row group into `sink`, with the column settings of
/// `props` and the Arrow schema embedded (as `ArrowWriter` does), and returns the sink.
pub fn write_batch<W: Write + Send>(
    sink: W,
    batch: &RecordBatch,
    props: WriterProperties,
) -> Result<W> {
    let schema = batch.schema();
    if !supports(&schema) {
        return Err(ParquetError::General(
            "batch has a column type the lake encoder does not write".into(),
        ));
    }
    let descr = ArrowSchemaConverter::new().convert(&schema)?;
    let mut props = props;
    add_encoded_arrow_schema_to_metadata(&stored_schema(&schema), &mut props);
    let mut w = SerializedFileWriter::new(sink, descr.root_schema_ptr(), Arc::new(props.clone()))?;
    if batch.num_rows() > 0 {
        let mut rg = w.next_row_group()?;
        let mut enc = Encoder::default();
        for (i, col) in batch.columns().iter().enumerate() {
            let desc = descr.column(i);
            let (bytes, close) = enc.column(desc, col, &props)?;
            rg.append_column(&bytes, close)?;
        }
        rg.close()?;
    }
    w.into_inner()
}

/// The Arrow schema embedded in a file: dictionary text declared as plain `Utf8`. Readers take
/// the embedded type as the column's type; a query engine that reads text as `Utf8View`
/// (DataFusion) decodes a `Utf8` column's dictionary pages straight into views, but reads a
/// declared dictionary as a dictionary and then casts it row by row (7 % of a top-talkers
/// query). The pages are dictionary-encoded either way.
fn stored_schema(schema: &Schema) -> Schema {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Dictionary(_, v) => f.as_ref().clone().with_data_type(v.as_ref().clone()),
            _ => f.as_ref().clone(),
        })
        .collect();
    Schema::new_with_metadata(fields, schema.metadata().clone())
}

/// The compressors of a file's pages, created once per file and reused by every column.
#[derive(Default)]
struct Codecs {
    snappy: Option<snap::raw::Encoder>,
    zstd: Option<(i32, zstd::bulk::Compressor<'static>)>,
}

impl Codecs {
    /// Compresses `input` into `out` (replacing its contents); `false` when uncompressed.
    fn compress(&mut self, c: Compression, input: &[u8], out: &mut Vec<u8>) -> Result<bool> {
        let ext = |e: std::io::Error| ParquetError::External(Box::new(e));
        match c {
            Compression::UNCOMPRESSED => Ok(false),
            Compression::SNAPPY => {
                let e = self.snappy.get_or_insert_with(snap::raw::Encoder::new);
                out.clear();
                out.resize(snap::raw::max_compress_len(input.len()), 0);
                let n = e
                    .compress(input, out)
                    .map_err(|e| ParquetError::External(Box::new(e)))?;
                out.truncate(n);
                Ok(true)
            }
            Compression::ZSTD(level) => {
                let level = level.compression_level();
                let c = match &mut self.zstd {
                    Some((l, c)) if *l == level => c,
                    slot => {
                        let c = zstd::bulk::Compressor::new(level).map_err(ext)?;
                        &mut slot.insert((level, c)).1
                    }
                };
                out.clear();
                out.reserve(zstd::zstd_safe::compress_bound(input.len()));
                c.compress_to_buffer(input, out).map_err(ext)?;
                Ok(true)
            }
            other => Err(ParquetError::NYI(format!(
                "lake encoder compression {other:?}"
            ))),
        }
    }
}

/// One column chunk being written into its own buffer.
struct Chunk {
    desc: ColumnDescPtr,
    compression: Compression,
    out: TrackedWrite<Vec<u8>>,
    dictionary_offset: Option<i64>,
    data_offset: Option<i64>,
    uncompressed: i64,
    compressed: i64,
    encodings: Vec<Encoding>,
    rows: u64,
}

impl Chunk {
    fn new(desc: ColumnDescPtr, props: &WriterProperties) -> Result<Chunk> {
        let compression = props.compression(desc.path());
        if !matches!(
            compression,
            Compression::UNCOMPRESSED | Compression::SNAPPY | Compression::ZSTD(_)
        ) {
            return Err(ParquetError::NYI(format!(
                "lake encoder compression {compression:?}"
            )));
        }
        Ok(Chunk {
            compression,
            desc,
            out: TrackedWrite::new(Vec::new()),
            dictionary_offset: None,
            data_offset: None,
            uncompressed: 0,
            compressed: 0,
            encodings: Vec::new(),
            rows: 0,
        })
    }

    fn write(&mut self, page: Page, uncompressed: usize) -> Result<i64> {
        let spec = SerializedPageWriter::new(&mut self.out)
            .write_page(CompressedPage::new(page, uncompressed))?;
        self.uncompressed += spec.uncompressed_size as i64;
        self.compressed += spec.compressed_size as i64;
        Ok(spec.offset as i64)
    }

    fn note(&mut self, e: Encoding) {
        if !self.encodings.contains(&e) {
            self.encodings.push(e);
        }
    }

    fn compressed(&mut self, body: &[u8], z: &mut Squeeze<'_>) -> Result<Bytes> {
        let scratch = &mut *z.out;
        Ok(match z.codecs.compress(self.compression, body, scratch)? {
            true => Bytes::copy_from_slice(scratch),
            false => Bytes::copy_from_slice(body),
        })
    }

    fn dictionary_page(&mut self, plain: &[u8], n: usize, scratch: &mut Squeeze<'_>) -> Result<()> {
        let buf = self.compressed(plain, scratch)?;
        let offset = self.write(
            Page::DictionaryPage {
                buf,
                num_values: n as u32,
                encoding: Encoding::PLAIN,
                is_sorted: false,
            },
            plain.len(),
        )?;
        self.dictionary_offset = Some(offset);
        self.note(Encoding::PLAIN);
        Ok(())
    }

    /// Writes a v1 data page of `rows` rows whose body (levels, then values) is `body`.
    fn data_page(
        &mut self,
        body: &[u8],
        rows: usize,
        encoding: Encoding,
        scratch: &mut Squeeze<'_>,
    ) -> Result<()> {
        let buf = self.compressed(body, scratch)?;
        let offset = self.write(
            Page::DataPage {
                buf,
                num_values: rows as u32,
                encoding,
                def_level_encoding: Encoding::RLE,
                rep_level_encoding: Encoding::RLE,
                statistics: None,
            },
            body.len(),
        )?;
        self.data_offset.get_or_insert(offset);
        self.rows += rows as u64;
        self.note(encoding);
        if self.desc.max_def_level() > 0 {
            self.note(Encoding::RLE);
        }
        Ok(())
    }

    fn finish(
        self,
        statistics: Option<Statistics>,
        bloom: Option<Sbbf>,
    ) -> Result<(Bytes, ColumnCloseResult)> {
        let mut b = ColumnChunkMetaData::builder(self.desc.clone())
            .set_compression(self.compression)
            .set_encodings(self.encodings.clone())
            .set_num_values(self.rows as i64)
            .set_total_compressed_size(self.compressed)
            .set_total_uncompressed_size(self.uncompressed)
            .set_data_page_offset(self.data_offset.unwrap_or(0))
            .set_dictionary_page_offset(self.dictionary_offset);
        if let Some(s) = statistics {
            b = b.set_statistics(s);
        }
        let metadata = b.build()?;
        let bytes_written = self.out.bytes_written() as u64;
        let rows = self.rows;
        let buf = self.out.into_inner()?;
        Ok((
            Bytes::from(buf),
            ColumnCloseResult {
                bytes_written,
                rows_written: rows,
                metadata,
                bloom_filter: bloom,
                column_index: None,
                offset_index: None,
            },
        ))
    }
}

/// A page compressor and its output buffer, borrowed from the [`Encoder`].
struct Squeeze<'a> {
    codecs: &'a mut Codecs,
    out: &'a mut Vec<u8>,
}

/// Scratch buffers and compressors reused across the columns of a file.
#[derive(Default)]
struct Encoder {
    codecs: Codecs,
    page: Vec<u8>,
    compressed: Vec<u8>,
    levels: Vec<u32>,
    values: Vec<u32>,
    deltas: Vec<i64>,
    direct: Vec<u32>,
    table: Vec<u32>,
}

type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// How a column's values go into its data pages.
enum Layout<'a> {
    /// Dictionary keys, one per row (null rows hold any key).
    Keys {
        keys: &'a [u32],
        bit_width: u8,
    },
    Plain,
    Delta,
}

/// A physical integer type of the lake (INT32, INT64).
trait Int: Copy + Ord + Default + 'static {
    const WIDTH: usize;
    fn as_i64(self) -> i64;
    fn put(self, out: &mut Vec<u8>);
    fn statistics(min: Option<Self>, max: Option<Self>, nulls: u64) -> Statistics;
    fn bloom(self, f: &mut Sbbf);
}

impl Int for i32 {
    const WIDTH: usize = 4;
    fn as_i64(self) -> i64 {
        i64::from(self)
    }
    fn put(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
    fn statistics(min: Option<i32>, max: Option<i32>, nulls: u64) -> Statistics {
        Statistics::int32(min, max, None, Some(nulls), false)
    }
    fn bloom(self, f: &mut Sbbf) {
        f.insert(&self);
    }
}

impl Int for i64 {
    const WIDTH: usize = 8;
    fn as_i64(self) -> i64 {
        self
    }
    fn put(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
    fn statistics(min: Option<i64>, max: Option<i64>, nulls: u64) -> Statistics {
        Statistics::int64(min, max, None, Some(nulls), false)
    }
    fn bloom(self, f: &mut Sbbf) {
        f.insert(&self);
    }
}

fn is_valid(nulls: Option<&NullBuffer>, i: usize) -> bool {
    nulls.is_none_or(|n| n.is_valid(i))
}

/// True when every one of the `rows` (at least one) is null: most columns of most formats are,
/// and their chunks are written without a pass over the rows.
fn all_null(nulls: Option<&NullBuffer>, rows: usize) -> bool {
    rows > 0 && nulls.is_some_and(|n| n.null_count() == rows)
}

/// Bits needed to store keys below `n` (0 for a one-entry dictionary, as arrow-rs writes).
fn key_width(n: usize) -> u8 {
    let max = n.saturating_sub(1) as u64;
    (64 - max.leading_zeros()) as u8
}

fn statistics_wanted(props: &WriterProperties, path: &ColumnPath) -> bool {
    props.statistics_enabled(path) != EnabledStatistics::None
}

fn new_bloom(props: &WriterProperties, path: &ColumnPath, ndv: u64) -> Result<Option<Sbbf>> {
    match props.bloom_filter_properties(path) {
        Some(p) => Ok(Some(Sbbf::new_with_ndv_fpp(
            ndv.clamp(1, p.ndv().max(1)),
            p.fpp(),
        )?)),
        None => Ok(None),
    }
}

impl Encoder {
    fn squeeze(&mut self) -> Squeeze<'_> {
        Squeeze {
            codecs: &mut self.codecs,
            out: &mut self.compressed,
        }
    }

    fn column(
        &mut self,
        desc: ColumnDescPtr,
        col: &ArrayRef,
        props: &WriterProperties,
    ) -> Result<(Bytes, ColumnCloseResult)> {
        match col.data_type() {
            DataType::Dictionary(_, _) => {
                let d = col.as_dictionary::<Int32Type>();
                let values = d.values().as_string::<i32>();
                let texts: Vec<&[u8]> = (0..values.len())
                    .map(|i| values.value(i).as_bytes())
                    .collect();
                let keys = d.keys();
                self.dictionary_text(desc, keys.values(), keys.nulls(), &texts, props)
            }
            DataType::Utf8 => {
                let a = col.as_string::<i32>();
                self.text(desc, a, props)
            }
            DataType::Int32 => {
                let a = col.as_primitive::<Int32Type>();
                self.integers(desc, a.values(), a.nulls(), props)
            }
            DataType::Int64 => {
                let a = col.as_primitive::<Int64Type>();
                self.integers(desc, a.values(), a.nulls(), props)
            }
            DataType::Timestamp(TimeUnit::Microsecond, _) => {
                let a = col.as_primitive::<arrow::datatypes::TimestampMicrosecondType>();
                self.integers(desc, a.values(), a.nulls(), props)
            }
            other => Err(ParquetError::NYI(format!("lake encoder type {other}"))),
        }
    }

    /// Writes the data pages of a column: levels from `nulls`, values by `put(start, end)`.
    fn pages(
        &mut self,
        chunk: &mut Chunk,
        rows: usize,
        nulls: Option<&NullBuffer>,
        bounds: &[usize],
        encoding: Encoding,
        mut put: impl FnMut(usize, usize, &mut Vec<u8>, &mut Vec<u32>, &mut Vec<i64>),
    ) -> Result<()> {
        let nullable = chunk.desc.max_def_level() > 0;
        let empty = all_null(nulls, rows);
        let mut start = 0;
        for &end in bounds.iter().chain(std::iter::once(&rows)) {
            if end <= start {
                continue;
            }
            self.page.clear();
            if nullable {
                self.page.extend_from_slice(&[0; 4]);
                let n = end - start;
                match nulls {
                    // What `hybrid` writes for eight or more zeros.
                    Some(_) if empty && n >= 8 => rle_run(n, 0, 1, &mut self.page),
                    Some(nb) if nb.null_count() > 0 => {
                        self.levels.clear();
                        self.levels
                            .extend((start..end).map(|i| u32::from(nb.is_valid(i))));
                        hybrid(&self.levels, 1, &mut self.page);
                    }
                    _ => rle_run(n, 1, 1, &mut self.page),
                }
                let len = (self.page.len() - 4) as u32;
                self.page[..4].copy_from_slice(&len.to_le_bytes());
            }
            if !empty {
                put(
                    start,
                    end,
                    &mut self.page,
                    &mut self.values,
                    &mut self.deltas,
                );
            } else if encoding == Encoding::DELTA_BINARY_PACKED {
                // A delta page holds its header even with no values; readers require it.
                delta_binary_packed(&[], &mut self.page);
            }
            let mut z = Squeeze {
                codecs: &mut self.codecs,
                out: &mut self.compressed,
            };
            chunk.data_page(&self.page, end - start, encoding, &mut z)?;
            start = end;
        }
        Ok(())
    }

    /// A text column whose rows are keys into `dict` (the distinct values).
    fn dictionary_text(
        &mut self,
        desc: ColumnDescPtr,
        keys: &[i32],
        nulls: Option<&NullBuffer>,
        dict: &[&[u8]],
        props: &WriterProperties,
    ) -> Result<(Bytes, ColumnCloseResult)> {
        let rows = keys.len();
        if all_null(nulls, rows) {
            return self.text_chunk(desc, rows, nulls, None, &|_| &[], props);
        }
        // Only the values some row uses go into the dictionary, the statistics and the bloom
        // filter (a batch cut from a larger dictionary may hold others). The builder's own
        // dictionaries hold only used values, so the common case keeps the keys as they are.
        let mut seen = vec![false; dict.len()];
        let compact: Vec<u32> = keys.iter().map(|&k| k as u32).collect();
        for (i, &k) in compact.iter().enumerate() {
            if !is_valid(nulls, i) {
                continue;
            }
            *seen.get_mut(k as usize).ok_or_else(|| {
                ParquetError::General(format!(
                    "dictionary key {} out of range at row {i}",
                    k as i32
                ))
            })? = true;
        }
        let distinct = seen.iter().filter(|&&s| s).count();
        let mut compact = compact;
        let used: Vec<&[u8]> = if distinct == dict.len() {
            dict.to_vec()
        } else {
            let mut remap = vec![u32::MAX; dict.len()];
            let mut used = Vec::with_capacity(distinct);
            for (k, v) in dict.iter().enumerate() {
                if seen[k] {
                    remap[k] = used.len() as u32;
                    used.push(*v);
                }
            }
            for c in compact.iter_mut() {
                *c = remap
                    .get(*c as usize)
                    .copied()
                    .filter(|&r| r != u32::MAX)
                    .unwrap_or(0);
            }
            used
        };
        self.text_chunk(
            desc,
            rows,
            nulls,
            Some((&used, &compact)),
            &|i| {
                let k = keys.get(i).copied().unwrap_or(0) as usize;
                dict.get(k).copied().unwrap_or(&[])
            },
            props,
        )
    }

    /// A plain text column: interned into a dictionary when the properties enable one for it.
    fn text(
        &mut self,
        desc: ColumnDescPtr,
        a: &arrow::array::StringArray,
        props: &WriterProperties,
    ) -> Result<(Bytes, ColumnCloseResult)> {
        let rows = a.len();
        let nulls = a.nulls();
        let value = |i: usize| a.value(i).as_bytes();
        let mut interned = None;
        if props.dictionary_enabled(desc.path()) && a.null_count() < rows {
            let mut index: FxMap<&[u8], u32> = FxMap::default();
            let mut dict: Vec<&[u8]> = Vec::new();
            let mut keys: Vec<u32> = Vec::with_capacity(rows);
            let mut bytes = 0usize;
            let mut fits = true;
            for i in 0..rows {
                if !is_valid(nulls, i) {
                    keys.push(0);
                    continue;
                }
                let v = value(i);
                let k = match index.get(v) {
                    Some(&k) => k,
                    None => {
                        bytes += 4 + v.len();
                        if bytes > DICTIONARY_LIMIT {
                            fits = false;
                            break;
                        }
                        let k = dict.len() as u32;
                        dict.push(v);
                        index.insert(v, k);
                        k
                    }
                };
                keys.push(k);
            }
            if fits {
                interned = Some((dict, keys));
            }
        }
        let d = interned.as_ref().map(|(d, k)| (d.as_slice(), k.as_slice()));
        self.text_chunk(desc, rows, nulls, d, &value, props)
    }

    /// Writes a text chunk: dictionary-encoded when `dict` is given and fits, PLAIN otherwise.
    #[allow(clippy::too_many_arguments)]
    fn text_chunk<'v>(
        &mut self,
        desc: ColumnDescPtr,
        rows: usize,
        nulls: Option<&NullBuffer>,
        dict: Option<(&[&'v [u8]], &[u32])>,
        value: &dyn Fn(usize) -> &'v [u8],
        props: &WriterProperties,
    ) -> Result<(Bytes, ColumnCloseResult)> {
        let path = desc.path().clone();
        let mut chunk = Chunk::new(desc, props)?;
        let null_count = nulls.map_or(0, |n| n.null_count()) as u64;
        let dict = dict.filter(|(d, _)| {
            props.dictionary_enabled(&path)
                && !d.is_empty()
                && d.iter().map(|v| 4 + v.len()).sum::<usize>() <= DICTIONARY_LIMIT
        });
        let want_stats = statistics_wanted(props, &path);
        let mut min: Option<&'v [u8]> = None;
        let mut max: Option<&'v [u8]> = None;
        let mut see = |v: &'v [u8]| {
            if min.is_none_or(|m| v < m) {
                min = Some(v);
            }
            if max.is_none_or(|m| v > m) {
                max = Some(v);
            }
        };
        let bloom = match dict {
            Some((d, keys)) => {
                let mut bloom = new_bloom(props, &path, d.len() as u64)?;
                let mut plain = Vec::with_capacity(d.iter().map(|v| 4 + v.len()).sum());
                for v in d {
                    plain.extend_from_slice(&(v.len() as u32).to_le_bytes());
                    plain.extend_from_slice(v);
                    if let Some(f) = bloom.as_mut() {
                        f.insert(*v);
                    }
                    if want_stats {
                        see(v);
                    }
                }
                chunk.dictionary_page(&plain, d.len(), &mut self.squeeze())?;
                let bit_width = key_width(d.len());
                let bounds: Vec<usize> = (PAGE_ROWS..rows).step_by(PAGE_ROWS).collect();
                let layout = Layout::Keys { keys, bit_width };
                self.keyed_pages(&mut chunk, rows, nulls, &bounds, &layout)?;
                bloom
            }
            None => {
                let mut bloom = new_bloom(props, &path, rows as u64 / 4)?;
                let mut bounds = Vec::new();
                let mut page_bytes = 0usize;
                let mut page_rows = 0usize;
                let rows_with_values = if all_null(nulls, rows) { 0 } else { rows };
                for i in 0..rows_with_values {
                    if !is_valid(nulls, i) {
                        page_rows += 1;
                        continue;
                    }
                    let v = value(i);
                    if page_rows > 0
                        && (page_bytes + v.len() > PAGE_BYTES || page_rows >= PAGE_ROWS)
                    {
                        bounds.push(i);
                        page_bytes = 0;
                        page_rows = 0;
                    }
                    page_bytes += 4 + v.len();
                    page_rows += 1;
                    if let Some(f) = bloom.as_mut() {
                        f.insert(v);
                    }
                    if want_stats {
                        see(v);
                    }
                }
                self.pages(
                    &mut chunk,
                    rows,
                    nulls,
                    &bounds,
                    Encoding::PLAIN,
                    |s, e, page, _, _| {
                        for i in s..e {
                            if is_valid(nulls, i) {
                                let v = value(i);
                                page.extend_from_slice(&(v.len() as u32).to_le_bytes());
                                page.extend_from_slice(v);
                            }
                        }
                    },
                )?;
                bloom
            }
        };
        let stats = want_stats.then(|| {
            let short = |v: Option<&[u8]>| {
                v.filter(|v| v.len() <= STATS_TEXT_LIMIT)
                    .map(|v| ByteArray::from(v.to_vec()))
            };
            match (short(min), short(max)) {
                (Some(lo), Some(hi)) => {
                    Statistics::byte_array(Some(lo), Some(hi), None, Some(null_count), false)
                }
                _ => Statistics::byte_array(None, None, None, Some(null_count), false),
            }
        });
        chunk.finish(stats, bloom)
    }

    /// Writes data pages of dictionary keys.
    fn keyed_pages(
        &mut self,
        chunk: &mut Chunk,
        rows: usize,
        nulls: Option<&NullBuffer>,
        bounds: &[usize],
        layout: &Layout<'_>,
    ) -> Result<()> {
        let Layout::Keys { keys, bit_width } = *layout else {
            return Err(ParquetError::General("keyed pages without keys".into()));
        };
        let has_nulls = nulls.is_some_and(|n| n.null_count() > 0);
        self.pages(
            chunk,
            rows,
            nulls,
            bounds,
            Encoding::RLE_DICTIONARY,
            |s, e, page, scratch, _| {
                let slice = keys.get(s..e).unwrap_or(&[]);
                let valid: &[u32] = if has_nulls {
                    scratch.clear();
                    scratch.extend(
                        (s..e)
                            .zip(slice)
                            .filter(|(i, _)| is_valid(nulls, *i))
                            .map(|(_, k)| *k),
                    );
                    scratch
                } else {
                    slice
                };
                // Each page at the width of its own largest key: keys are numbered in order of
                // first appearance and rows arrive roughly in time order, so early pages of a
                // time or counter column need fewer bits than the whole dictionary.
                let max = valid.iter().copied().max().unwrap_or(0);
                let width = key_width(max as usize + 1).min(bit_width);
                page.push(width);
                hybrid(valid, width, page);
            },
        )
    }

    /// An integer (or timestamp) column.
    fn integers<T: Int>(
        &mut self,
        desc: ColumnDescPtr,
        values: &[T],
        nulls: Option<&NullBuffer>,
        props: &WriterProperties,
    ) -> Result<(Bytes, ColumnCloseResult)> {
        let path = desc.path().clone();
        let rows = values.len();
        let null_count = nulls.map_or(0, |n| n.null_count());
        let (min, max) = if null_count == 0 {
            // Every row has a value (most columns): plain passes the compiler vectorizes.
            (values.iter().copied().min(), values.iter().copied().max())
        } else if null_count == rows {
            (None, None)
        } else {
            let valid = values
                .iter()
                .enumerate()
                .filter(|(i, _)| is_valid(nulls, *i))
                .map(|(_, v)| *v);
            (valid.clone().min(), valid.max())
        };
        let mut chunk = Chunk::new(desc, props)?;
        let forced = props.encoding(&path);
        let bounds: Vec<usize> = (PAGE_ROWS..rows).step_by(PAGE_ROWS).collect();
        let mut bloom_values: Option<Vec<T>> = None;
        let dictionary = match (min, max) {
            (Some(lo), Some(hi))
                if props.dictionary_enabled(&path)
                    && forced.is_none_or(|e| e == Encoding::RLE_DICTIONARY) =>
            {
                self.int_dictionary(values, nulls, lo, hi)
            }
            _ => None,
        };
        match dictionary {
            Some((dict, keys)) => {
                let mut plain = Vec::with_capacity(dict.len() * T::WIDTH);
                for v in &dict {
                    v.put(&mut plain);
                }
                chunk.dictionary_page(&plain, dict.len(), &mut self.squeeze())?;
                let layout = Layout::Keys {
                    keys: &keys,
                    bit_width: key_width(dict.len()),
                };
                self.keyed_pages(&mut chunk, rows, nulls, &bounds, &layout)?;
                self.values = keys;
                bloom_values = Some(dict);
            }
            None => {
                let layout = match forced {
                    Some(Encoding::DELTA_BINARY_PACKED) => Layout::Delta,
                    _ => Layout::Plain,
                };
                let encoding = match layout {
                    Layout::Delta => Encoding::DELTA_BINARY_PACKED,
                    _ => Encoding::PLAIN,
                };
                self.pages(
                    &mut chunk,
                    rows,
                    nulls,
                    &bounds,
                    encoding,
                    |s, e, page, _, deltas| {
                        let slice = values.get(s..e).unwrap_or(&[]);
                        let valid = (s..e).zip(slice).filter(|(i, _)| is_valid(nulls, *i));
                        match layout {
                            Layout::Delta => {
                                deltas.clear();
                                deltas.extend(valid.map(|(_, v)| v.as_i64()));
                                delta_binary_packed(deltas, page);
                            }
                            _ => {
                                if nulls.is_none_or(|n| n.null_count() == 0) {
                                    page.reserve(slice.len() * T::WIDTH);
                                    for v in slice {
                                        v.put(page);
                                    }
                                } else {
                                    for (_, v) in valid {
                                        v.put(page);
                                    }
                                }
                            }
                        }
                    },
                )?;
            }
        }
        let bloom = match props.bloom_filter_properties(&path) {
            None => None,
            Some(_) => {
                let distinct = bloom_values.as_ref().map_or(rows / 4, |d| d.len());
                let mut f = new_bloom(props, &path, distinct as u64)?;
                if let Some(f) = f.as_mut() {
                    match &bloom_values {
                        Some(d) => d.iter().for_each(|v| v.bloom(f)),
                        None => values
                            .iter()
                            .enumerate()
                            .filter(|(i, _)| is_valid(nulls, *i))
                            .for_each(|(_, v)| v.bloom(f)),
                    }
                }
                f
            }
        };
        let stats =
            statistics_wanted(props, &path).then(|| T::statistics(min, max, null_count as u64));
        chunk.finish(stats, bloom)
    }

    /// Builds the dictionary of an integer column, or `None` when it would exceed arrow-rs's
    /// 1 MiB dictionary page (then PLAIN is smaller and cheaper).
    fn int_dictionary<T: Int>(
        &mut self,
        values: &[T],
        nulls: Option<&NullBuffer>,
        lo: T,
        hi: T,
    ) -> Option<(Vec<T>, Vec<u32>)> {
        let limit = (1usize << 20) / T::WIDTH;
        let mut keys = std::mem::take(&mut self.values);
        keys.clear();
        keys.reserve(values.len());
        let mut dict: Vec<T> = Vec::new();
        let span = (hi.as_i64() as i128 - lo.as_i64() as i128) as u128;
        // Timestamps of most flow logs are whole seconds: an hour of them spans 3.6e9 µs but
        // only 3,600 distinct steps of 1 s, so they are addressed directly by second too.
        let base = lo.as_i64();
        let seconds = span >= 1 << 16
            && span / SECOND < 1 << 16
            && values.iter().enumerate().all(|(i, v)| {
                !is_valid(nulls, i) || v.as_i64().wrapping_sub(base) % SECOND as i64 == 0
            });
        if span < 1 << 16 || seconds {
            // Direct addressing: one load per value, no hashing.
            let step = if seconds { SECOND as i64 } else { 1 };
            self.direct.clear();
            self.direct
                .resize((span / step as u128) as usize + 1, u32::MAX);
            for (i, &v) in values.iter().enumerate() {
                if !is_valid(nulls, i) {
                    keys.push(0);
                    continue;
                }
                let offset = v.as_i64().wrapping_sub(base);
                let slot = if seconds {
                    offset / SECOND as i64
                } else {
                    offset
                } as usize;
                let e = self.direct.get_mut(slot)?;
                if *e == u32::MAX {
                    *e = dict.len() as u32;
                    dict.push(v);
                }
                keys.push(*e);
            }
            return Some((dict, keys));
        }
        // Open addressing on the value; slots hold dictionary index + 1.
        let mut bits = 10u32;
        self.table.clear();
        self.table.resize(1 << bits, 0);
        let slot_of = |v: i64, bits: u32| {
            ((v as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - bits)) as usize
        };
        for (i, &v) in values.iter().enumerate() {
            if !is_valid(nulls, i) {
                keys.push(0);
                continue;
            }
            let x = v.as_i64();
            let mask = (1usize << bits) - 1;
            let mut s = slot_of(x, bits);
            let key = loop {
                let e = self.table[s];
                if e == 0 {
                    if dict.len() >= limit {
                        self.values = keys;
                        return None;
                    }
                    dict.push(v);
                    let k = dict.len() as u32;
                    self.table[s] = k;
                    break k - 1;
                }
                if dict[(e - 1) as usize] == v {
                    break e - 1;
                }
                s = (s + 1) & mask;
            };
            keys.push(key);
            if dict.len() * 2 > 1 << bits {
                bits += 1;
                self.table.clear();
                self.table.resize(1 << bits, 0);
                let mask = (1usize << bits) - 1;
                for (k, d) in dict.iter().enumerate() {
                    let mut s = slot_of(d.as_i64(), bits);
                    while self.table[s] != 0 {
                        s = (s + 1) & mask;
                    }
                    self.table[s] = k as u32 + 1;
                }
            }
        }
        Some((dict, keys))
    }
}

fn uleb(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

/// Appends `values` bit-packed LSB first at `width` bits each (`width` ≤ 64).
fn pack(values: impl Iterator<Item = u64>, width: u32, out: &mut Vec<u8>) {
    if width == 0 {
        return;
    }
    if width <= 32 {
        // Four bytes at a time: the accumulator holds < 32 bits between values.
        let mut acc: u64 = 0;
        let mut bits = 0u32;
        for v in values {
            acc |= v << bits;
            bits += width;
            if bits >= 32 {
                out.extend_from_slice(&(acc as u32).to_le_bytes());
                acc >>= 32;
                bits -= 32;
            }
        }
        let tail = bits.div_ceil(8) as usize;
        out.extend_from_slice(&acc.to_le_bytes()[..tail]);
        return;
    }
    let mut acc: u128 = 0;
    let mut bits = 0u32;
    for v in values {
        acc |= u128::from(v) << bits;
        bits += width;
        while bits >= 8 {
            out.push(acc as u8);
            acc >>= 8;
            bits -= 8;
        }
    }
    if bits > 0 {
        out.push(acc as u8);
    }
}

/// An RLE run of the hybrid encoding: `count` copies of `value`, stored in `bytes` bytes.
fn rle_run(count: usize, value: u32, bytes: usize, out: &mut Vec<u8>) {
    uleb((count as u64) << 1, out);
    out.extend_from_slice(&value.to_le_bytes()[..bytes.min(4)]);
}

/// A bit-packed run of the hybrid encoding (padded with zeros to a multiple of 8 values).
fn packed_run(values: &[u32], width: u8, out: &mut Vec<u8>) {
    let groups = values.len().div_ceil(8);
    uleb(((groups as u64) << 1) | 1, out);
    let w = usize::from(width.min(32));
    if w == 0 {
        return;
    }
    out.reserve(groups * w);
    let mut chunks = values.chunks_exact(8);
    for group in &mut chunks {
        pack_group(group, w, out);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut last = [0u32; 8];
        for (d, v) in last.iter_mut().zip(rest) {
            *d = *v;
        }
        pack_group(&last, w, out);
    }
}

/// Eight values of `w` (1 to 32) bits, packed from the lowest bit up: exactly `w` bytes. Each
/// half of four values fills at most 128 bits, so the group is two shifted words.
#[inline(always)]
fn pack_group(group: &[u32], w: usize, out: &mut Vec<u8>) {
    let half = |vals: &[u32]| {
        vals.iter()
            .enumerate()
            .fold(0u128, |acc, (i, &v)| acc | (u128::from(v) << (i * w)))
    };
    let (lo, hi) = (
        half(group.get(..4).unwrap_or(&[])),
        half(group.get(4..).unwrap_or(&[])),
    );
    // The group's 8w bits: lo, then hi from bit 4w on.
    let shift = (4 * w) as u32;
    let low = lo | hi.checked_shl(shift).unwrap_or(0);
    let high = hi.checked_shr(128 - shift).unwrap_or(0);
    let mut bytes = [0u8; 32];
    bytes[..16].copy_from_slice(&low.to_le_bytes());
    bytes[16..].copy_from_slice(&high.to_le_bytes());
    out.extend_from_slice(bytes.get(..w).unwrap_or(&[]));
}

/// The RLE / bit-packing hybrid encoding of `values` at `width` bits: runs of 8 or more equal
/// values become RLE runs, everything else bit-packed groups of 8. Runs are found with a
/// counter that resets on each change (no branch per value on the data: dictionary keys of
/// addresses rarely repeat, and measuring every run's length cost 3 % of an ingest).
fn hybrid(values: &[u32], width: u8, out: &mut Vec<u8>) {
    let value_bytes = usize::from(width).div_ceil(8);
    let n = values.len();
    let mut literal = 0; // start of the values not yet written
    let mut i = 0;
    while i < n {
        // The first index at which 8 equal values end, scanning from `i` (which starts a run:
        // it follows the end of the previous one).
        let mut run = 1usize;
        let mut k = i + 1;
        while k < n && run < 8 {
            run = if values.get(k) == values.get(k - 1) {
                run + 1
            } else {
                1
            };
            k += 1;
        }
        if run < 8 {
            break;
        }
        let start = k - 8;
        let v = values.get(start).copied().unwrap_or(0);
        let mut j = k;
        while values.get(j) == Some(&v) {
            j += 1;
        }
        let run = j - start;
        // A bit-packed run holds whole groups of 8: borrow from the run to fill the last.
        let pending = start - literal;
        let borrow = ((8 - pending % 8) % 8).min(run);
        if run - borrow >= 8 {
            if pending + borrow > 0 {
                packed_run(
                    values.get(literal..start + borrow).unwrap_or(&[]),
                    width,
                    out,
                );
            }
            rle_run(run - borrow, v, value_bytes, out);
            literal = j;
        }
        i = j;
    }
    if literal < n {
        packed_run(values.get(literal..).unwrap_or(&[]), width, out);
    }
}

/// DELTA_BINARY_PACKED: blocks of 128 deltas in 4 miniblocks of 32, each bit-packed at its own
/// width above the block's smallest delta.
fn delta_binary_packed(values: &[i64], out: &mut Vec<u8>) {
    const BLOCK: usize = 128;
    const MINIBLOCKS: usize = 4;
    const MINI: usize = BLOCK / MINIBLOCKS;
    uleb(BLOCK as u64, out);
    uleb(MINIBLOCKS as u64, out);
    uleb(values.len() as u64, out);
    uleb(zigzag(values.first().copied().unwrap_or(0)), out);
    let deltas: Vec<i64> = values.windows(2).map(|w| w[1].wrapping_sub(w[0])).collect();
    for block in deltas.chunks(BLOCK) {
        let min = block.iter().copied().min().unwrap_or(0);
        uleb(zigzag(min), out);
        let widths_at = out.len();
        out.extend_from_slice(&[0; MINIBLOCKS]);
        for (m, mini) in block.chunks(MINI).enumerate() {
            let rel = |d: &i64| d.wrapping_sub(min) as u64;
            let width = 64 - mini.iter().map(rel).max().unwrap_or(0).leading_zeros();
            out[widths_at + m] = width as u8;
            let pad = MINI - mini.len();
            pack(
                mini.iter().map(rel).chain(std::iter::repeat_n(0, pad)),
                width,
                out,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{
        DictionaryArray, Int32Array, Int64Array, StringArray, TimestampMicrosecondArray,
    };
    use arrow::compute::cast;
    use flowtrail_gen::Rng;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use parquet::file::reader::{FileReader, SerializedFileReader};

    fn dict(values: Vec<Option<String>>) -> ArrayRef {
        let a: DictionaryArray<Int32Type> = values.iter().map(|v| v.as_deref()).collect();
        Arc::new(a)
    }

    /// Every shape the encoder writes, with nulls in awkward places and runs of every length
    /// around the 8-value RLE threshold, over several pages.
    fn batch(rows: usize) -> RecordBatch {
        let mut rng = Rng::new(0x1234_5678_9abc_def1, 0);
        let mut run_value = 0u64;
        let mut run_left = 0u64;
        let mut runs = Vec::with_capacity(rows);
        for _ in 0..rows {
            if run_left == 0 {
                run_value = rng.below(5);
                run_left = rng.below(20) + 1;
            }
            run_left -= 1;
            runs.push(run_value);
        }
        let cols: Vec<(&str, ArrayRef, bool)> = vec![
            (
                "time",
                Arc::new(
                    TimestampMicrosecondArray::from_iter_values(
                        (0..rows).map(|i| 1_700_000_000_000_000 + (i as i64 % 3600) * 1_000_000),
                    )
                    .with_timezone("UTC"),
                ),
                false,
            ),
            (
                "end_time",
                // Whole seconds over a day with nulls: addressed directly by second.
                Arc::new(
                    TimestampMicrosecondArray::from_iter((0..rows).map(|i| {
                        (i % 11 != 3)
                            .then(|| 1_700_000_000_000_000 + rng.below(86_400) as i64 * 1_000_000)
                    }))
                    .with_timezone("UTC"),
                ),
                true,
            ),
            (
                "first_seen",
                // Whole seconds but one value 1 µs off, and a null: the hash dictionary.
                Arc::new(
                    TimestampMicrosecondArray::from_iter((0..rows).map(|i| match i {
                        7 => None,
                        12_345 => Some(1_700_000_000_000_001),
                        _ => Some(1_700_000_000_000_000 + (i as i64 % 5000) * 1_000_000),
                    }))
                    .with_timezone("UTC"),
                ),
                true,
            ),
            (
                "origin",
                dict((0..rows).map(|_| Some("/a/b.log.gz".to_string())).collect()),
                false,
            ),
            (
                "action",
                dict(
                    runs.iter()
                        .map(|&v| {
                            (v != 4).then(|| ["ACCEPT", "REJECT", "x", "y"][v as usize].into())
                        })
                        .collect(),
                ),
                true,
            ),
            ("user", dict(vec![None; rows]), true),
            (
                "src_ip",
                Arc::new(StringArray::from_iter((0..rows).map(|i| {
                    (i % 97 != 0).then(|| format!("10.0.{}.{}", rng.below(8), rng.below(250)))
                }))),
                true,
            ),
            (
                "extra",
                Arc::new(StringArray::from_iter((0..rows).map(|i| {
                    (i % 3 == 0).then(|| format!("{{\"k\":{}}}", rng.next_u64()))
                }))),
                true,
            ),
            (
                "url",
                // Long distinct values: the dictionary would pass its limit, so PLAIN.
                Arc::new(StringArray::from_iter_values(
                    (0..rows).map(|i| format!("https://example.com/{i:0>120}")),
                )),
                true,
            ),
            (
                "dst_port",
                Arc::new(Int32Array::from_iter((0..rows).map(|i| {
                    (i % 5 != 0).then(|| [443, 80, 22, 65535, 0][rng.below(5) as usize])
                }))),
                true,
            ),
            (
                "protocol",
                Arc::new(Int32Array::from_iter_values(runs.iter().map(|&v| v as i32))),
                true,
            ),
            (
                "packets_out",
                // Wide range, few values: the hash dictionary.
                Arc::new(Int64Array::from_iter(
                    (0..rows).map(|i| (i % 7 != 0).then(|| (rng.below(1000) as i64) << 40)),
                )),
                true,
            ),
            (
                "bytes_out",
                // The same shape, but the lake keeps no dictionary for byte counts.
                Arc::new(Int64Array::from_iter(
                    (0..rows).map(|i| (i % 7 != 0).then(|| (rng.below(1000) as i64) << 40)),
                )),
                true,
            ),
            (
                "packets_in",
                // Mostly distinct: past the dictionary limit, so PLAIN.
                Arc::new(Int64Array::from_iter_values(
                    (0..rows).map(|_| rng.next_u64() as i64),
                )),
                true,
            ),
            (
                "origin_line",
                Arc::new(Int64Array::from_iter_values(
                    (0..rows).map(|i| i as i64 + 2),
                )),
                false,
            ),
            (
                "src_asn",
                Arc::new(Int64Array::from_iter((0..rows).map(|_| None::<i64>))),
                true,
            ),
        ];
        let schema = Schema::new(
            cols.iter()
                .map(|(n, a, nullable)| Field::new(*n, a.data_type().clone(), *nullable))
                .collect::<Vec<_>>(),
        );
        RecordBatch::try_new(Arc::new(schema), cols.into_iter().map(|c| c.1).collect())
            .expect("batch")
    }

    fn read(bytes: Vec<u8>) -> RecordBatch {
        let b = ParquetRecordBatchReaderBuilder::try_new(Bytes::from(bytes))
            .expect("reader")
            .with_batch_size(1 << 30)
            .build()
            .expect("build");
        let batches: Vec<RecordBatch> = b.map(|b| b.expect("batch")).collect();
        assert_eq!(batches.len(), 1);
        batches.into_iter().next().expect("one batch")
    }

    fn as_plain(a: &ArrayRef) -> ArrayRef {
        match a.data_type() {
            DataType::Dictionary(_, v) => cast(a, v).expect("cast"),
            _ => a.clone(),
        }
    }

    #[test]
    fn round_trips_every_shape_like_arrow_writer() {
        let rows = 150_000;
        let b = batch(rows);
        let props = crate::lake::writer_properties_for(rows);
        let ours = write_batch(Vec::new(), &b, props.clone()).expect("write");
        let back = read(ours.clone());
        assert_eq!(
            back.schema().as_ref(),
            &stored_schema(&b.schema()),
            "the Arrow schema is embedded, dictionary text as Utf8"
        );
        assert_eq!(back.num_rows(), rows);
        for (i, f) in b.schema().fields().iter().enumerate() {
            assert_eq!(
                as_plain(back.column(i)).as_ref(),
                as_plain(b.column(i)).as_ref(),
                "column {}",
                f.name()
            );
        }
        // The same batch through ArrowWriter reads back identically.
        let mut w = parquet::arrow::ArrowWriter::try_new(Vec::new(), b.schema(), Some(props))
            .expect("arrow writer");
        w.write(&b).expect("write");
        let theirs = read(w.into_inner().expect("close"));
        for i in 0..b.num_columns() {
            assert_eq!(
                as_plain(theirs.column(i)).as_ref(),
                back.column(i).as_ref(),
                "column {i}"
            );
        }
    }

    #[test]
    fn metadata_has_statistics_encodings_and_bloom_filters() {
        let rows = 150_000;
        let b = batch(rows);
        let props = crate::lake::writer_properties_for(rows);
        let bytes = write_batch(Vec::new(), &b, props).expect("write");
        let options = parquet::file::serialized_reader::ReadOptionsBuilder::new()
            .with_reader_properties(
                parquet::file::properties::ReaderProperties::builder()
                    .set_read_bloom_filter(true)
                    .build(),
            )
            .build();
        let r =
            SerializedFileReader::new_with_options(Bytes::from(bytes), options).expect("reader");
        let rg = r.metadata().row_group(0);
        assert_eq!(rg.num_rows(), rows as i64);
        let col = |name: &str| {
            (0..rg.num_columns())
                .map(|i| rg.column(i))
                .find(|c| c.column_path().string() == name)
                .expect("column")
        };
        // Statistics: exact over the values present.
        match col("dst_port").statistics() {
            Some(Statistics::Int32(s)) => {
                assert_eq!((s.min_opt(), s.max_opt()), (Some(&0), Some(&65535)));
                assert_eq!(s.null_count_opt(), Some((rows / 5) as u64));
            }
            other => panic!("dst_port statistics: {other:?}"),
        }
        match col("time").statistics() {
            Some(Statistics::Int64(s)) => assert_eq!(
                (s.min_opt(), s.max_opt()),
                (Some(&1_700_000_000_000_000), Some(&1_700_003_599_000_000))
            ),
            other => panic!("time statistics: {other:?}"),
        }
        match col("src_ip").statistics() {
            Some(Statistics::ByteArray(s)) => {
                assert_eq!(s.min_opt().map(|v| v.data()), Some(&b"10.0.0.0"[..]));
                assert!(s
                    .max_opt()
                    .is_some_and(|v| v.data().starts_with(b"10.0.7.")));
            }
            other => panic!("src_ip statistics: {other:?}"),
        }
        assert!(
            col("action").statistics().is_none(),
            "the lake turns statistics off for action"
        );
        match col("user").statistics() {
            Some(s) => {
                assert_eq!(s.null_count_opt(), Some(rows as u64));
                assert!(s.min_bytes_opt().is_none());
            }
            None => panic!("user has null counts"),
        }
        // Encodings chosen per column.
        let has = |name: &str, e: Encoding| col(name).encodings().any(|x| x == e);
        assert!(has("origin_line", Encoding::DELTA_BINARY_PACKED));
        assert!(has("action", Encoding::RLE_DICTIONARY));
        assert!(has("dst_port", Encoding::RLE_DICTIONARY));
        assert!(has("packets_out", Encoding::RLE_DICTIONARY));
        assert!(has("packets_in", Encoding::PLAIN) && !has("packets_in", Encoding::RLE_DICTIONARY));
        assert!(
            has("bytes_out", Encoding::DELTA_BINARY_PACKED)
                && !has("bytes_out", Encoding::RLE_DICTIONARY)
        );
        assert!(has("url", Encoding::PLAIN) && !has("url", Encoding::RLE_DICTIONARY));
        assert!(
            !has("extra", Encoding::RLE_DICTIONARY),
            "dictionary off for extra"
        );
        assert_eq!(col("bytes_out").compression(), Compression::UNCOMPRESSED);
        assert_eq!(col("src_ip").compression(), Compression::UNCOMPRESSED);
        assert!(matches!(col("time").compression(), Compression::ZSTD(_)));
        // Bloom filters where the lake asks for them, holding the values written.
        let f = r
            .get_row_group(0)
            .expect("row group")
            .get_column_bloom_filter(
                (0..rg.num_columns())
                    .position(|i| rg.column(i).column_path().string() == "src_ip")
                    .expect("src_ip"),
            )
            .cloned()
            .expect("src_ip bloom filter");
        let src = b
            .column_by_name("src_ip")
            .expect("src_ip")
            .as_string::<i32>();
        for i in (0..rows).filter(|i| src.is_valid(*i)).step_by(1000) {
            assert!(
                f.check(&src.value(i)),
                "bloom filter misses {}",
                src.value(i)
            );
        }
        let misses = (0..1000)
            .filter(|i| !f.check(&format!("192.168.{}.{}", i / 250, i % 250).as_str()))
            .count();
        assert!(
            misses > 950,
            "bloom filter rejects absent addresses ({misses}/1000)"
        );
    }

    #[test]
    fn empty_and_all_null_batches() {
        let b = batch(0);
        let bytes = write_batch(Vec::new(), &b, WriterProperties::default()).expect("write");
        let r = SerializedFileReader::new(Bytes::from(bytes)).expect("reader");
        assert_eq!(r.metadata().num_row_groups(), 0);
        let b = batch(9);
        let back = read(write_batch(Vec::new(), &b, WriterProperties::default()).expect("write"));
        assert_eq!(back.column_by_name("user").map(|c| c.null_count()), Some(9));
        assert_eq!(
            back.column_by_name("src_asn").map(|c| c.null_count()),
            Some(9)
        );
    }

    /// The encoder's first `hybrid`, which measured every run: the current one must write the
    /// same bytes.
    fn hybrid_by_runs(values: &[u32], width: u8, out: &mut Vec<u8>) {
        let value_bytes = usize::from(width).div_ceil(8);
        let n = values.len();
        let mut literal = 0;
        let mut i = 0;
        while i < n {
            let v = values[i];
            let mut j = i + 1;
            while j < n && values[j] == v {
                j += 1;
            }
            let run = j - i;
            if run >= 8 {
                let pending = i - literal;
                let borrow = ((8 - pending % 8) % 8).min(run);
                if run - borrow >= 8 {
                    if pending + borrow > 0 {
                        packed_run(&values[literal..i + borrow], width, out);
                    }
                    rle_run(run - borrow, v, value_bytes, out);
                    literal = j;
                }
            }
            i = j;
        }
        if literal < n {
            packed_run(&values[literal..], width, out);
        }
    }

    #[test]
    fn hybrid_writes_what_the_run_by_run_encoder_wrote() {
        let mut rng = Rng::new(0x4859_4252_4944, 0);
        for case in 0..3000 {
            let n = rng.below(300) as usize;
            let mut values = Vec::with_capacity(n);
            while values.len() < n {
                let v = rng.below(1 + case % 9) as u32;
                let len = [1, 1, 2, 7, 8, 9, 15, 16, 17, 40][rng.below(10) as usize];
                values.extend(std::iter::repeat_n(v, len.min(n - values.len())));
            }
            let width = key_width(9).max(1);
            let (mut a, mut b) = (vec![], vec![]);
            hybrid(&values, width, &mut a);
            hybrid_by_runs(&values, width, &mut b);
            assert_eq!(a, b, "values {values:?}");
        }
    }

    #[test]
    fn packed_runs_match_the_bitwise_packer() {
        // Every width, lengths around whole groups, values up to the width's maximum.
        let mut rng = Rng::new(5, 1);
        for width in 1..=32u8 {
            for len in 0..=25usize {
                let max = (1u64 << width) - 1;
                let values: Vec<u32> = (0..len)
                    .map(|i| match i % 3 {
                        0 => max as u32,
                        _ => rng.below(max + 1) as u32,
                    })
                    .collect();
                let mut got = Vec::new();
                packed_run(&values, width, &mut got);
                let mut want = Vec::new();
                let groups = len.div_ceil(8);
                uleb(((groups as u64) << 1) | 1, &mut want);
                let padded = values
                    .iter()
                    .map(|&v| u64::from(v))
                    .chain(std::iter::repeat_n(0, groups * 8 - len));
                pack(padded, u32::from(width), &mut want);
                assert_eq!(got, want, "width {width}, {len} values");
            }
        }
    }

    #[test]
    fn hybrid_runs_decode_through_a_reader() {
        // Dictionary keys in runs of 1..=20 around the 8-value threshold, all widths up to 17.
        for n in [1usize, 2, 3, 200, 1000, 70_000] {
            let values: Vec<Option<String>> = (0..n)
                .map(|i| Some(format!("v{}", (i / (1 + i % 11)) % n.clamp(1, 100_000))))
                .collect();
            let a = dict(values);
            let schema = Schema::new(vec![Field::new("v", a.data_type().clone(), false)]);
            let b = RecordBatch::try_new(Arc::new(schema), vec![a.clone()]).expect("batch");
            let back = read(write_batch(Vec::new(), &b, WriterProperties::default()).expect("w"));
            assert_eq!(
                as_plain(back.column(0)).as_ref(),
                as_plain(&a).as_ref(),
                "n={n}"
            );
        }
    }

    /// A random batch: every column shape, random lengths, null patterns (none, all, runs,
    /// scattered), dictionary sizes (1 to thousands: key widths 0 to 12+) and integer spans
    /// (both dictionary tables and the PLAIN fallback).
    fn random_batch(rng: &mut Rng, rows: usize) -> RecordBatch {
        let null_mode = |rng: &mut Rng| rng.below(4);
        let nulls = |rng: &mut Rng, mode: u64, i: usize| match mode {
            0 => false,
            1 => true,
            2 => (i / (1 + (rng.below(3) as usize) * 7)) % 2 == 1,
            _ => rng.below(3) == 0,
        };
        let card = [1u64, 2, 3, 9, 255, 256, 4097][rng.below(7) as usize];
        let mode = null_mode(rng);
        let d: Vec<Option<String>> = (0..rows)
            .map(|i| (!nulls(rng, mode, i)).then(|| format!("v{}", rng.below(card))))
            .collect();
        let mode = null_mode(rng);
        let t: Vec<Option<String>> = (0..rows)
            .map(|i| (!nulls(rng, mode, i)).then(|| "é".repeat(rng.below(card.min(40)) as usize)))
            .collect();
        let span = [1i64, 2, 300, 65_535, 65_536, 1 << 40, i64::MAX][rng.below(7) as usize];
        let base = rng.next_u64() as i64 / 2;
        let mode = null_mode(rng);
        let i64s: Vec<Option<i64>> = (0..rows)
            .map(|i| {
                (!nulls(rng, mode, i))
                    .then(|| base.wrapping_add((rng.next_u64() as i64).rem_euclid(span)))
            })
            .collect();
        let mode = null_mode(rng);
        let i32s: Vec<Option<i32>> = (0..rows)
            .map(|i| (!nulls(rng, mode, i)).then(|| rng.next_u64() as i32 % (card as i32 + 1)))
            .collect();
        let lines: Vec<i64> = (0..rows as i64).map(|i| i * 3 - 7).collect();
        let cols: Vec<(&str, ArrayRef, bool)> = vec![
            ("action", dict(d), true),
            ("url", Arc::new(StringArray::from(t)), true),
            // The same integers plain (the lake keeps no dictionary for byte counts) and through
            // the dictionary paths (direct-address, by second, open addressing).
            ("bytes_out", Arc::new(Int64Array::from(i64s.clone())), true),
            ("packets_out", Arc::new(Int64Array::from(i64s)), true),
            ("dst_port", Arc::new(Int32Array::from(i32s)), true),
            ("origin_line", Arc::new(Int64Array::from(lines)), false),
        ];
        let schema = Schema::new(
            cols.iter()
                .map(|(n, a, nullable)| Field::new(*n, a.data_type().clone(), *nullable))
                .collect::<Vec<_>>(),
        );
        RecordBatch::try_new(Arc::new(schema), cols.into_iter().map(|c| c.1).collect())
            .expect("batch")
    }

    #[test]
    fn random_batches_round_trip() {
        let mut rng = Rng::new(0x5eed_1234_abcd_0001, 0);
        for round in 0..120 {
            let rows = match round % 6 {
                0 => 1,
                1 => 7,
                2 => 8,
                3 => 9,
                _ => rng.below(5000) as usize + 1,
            };
            let b = random_batch(&mut rng, rows);
            let props = crate::lake::writer_properties_for(rows);
            let back = read(write_batch(Vec::new(), &b, props).expect("write"));
            for (i, f) in b.schema().fields().iter().enumerate() {
                assert_eq!(
                    back.column(i).as_ref(),
                    as_plain(b.column(i)).as_ref(),
                    "round {round}, {rows} rows, column {}",
                    f.name()
                );
            }
        }
    }

    #[test]
    fn unused_dictionary_values_stay_out_of_the_file() {
        let keys = Int32Array::from(vec![Some(3), Some(1), None, Some(3)]);
        let values = StringArray::from(vec!["a", "b", "c", "d"]);
        let a: ArrayRef =
            Arc::new(DictionaryArray::<Int32Type>::try_new(keys, Arc::new(values)).expect("dict"));
        let schema = Schema::new(vec![Field::new("host", a.data_type().clone(), true)]);
        let b = RecordBatch::try_new(Arc::new(schema), vec![a.clone()]).expect("batch");
        let bytes = write_batch(Vec::new(), &b, WriterProperties::default()).expect("write");
        let r = SerializedFileReader::new(Bytes::from(bytes.clone())).expect("reader");
        match r.metadata().row_group(0).column(0).statistics() {
            Some(Statistics::ByteArray(s)) => {
                assert_eq!(s.min_opt().map(|v| v.data()), Some(&b"b"[..]));
                assert_eq!(s.max_opt().map(|v| v.data()), Some(&b"d"[..]));
                assert_eq!(s.null_count_opt(), Some(1));
            }
            other => panic!("statistics: {other:?}"),
        }
        let back = read(bytes);
        assert_eq!(as_plain(back.column(0)).as_ref(), as_plain(&a).as_ref());
    }

    #[test]
    fn delta_binary_packed_handles_extremes() {
        let values: Vec<i64> = vec![0, i64::MAX, i64::MIN, -1, 1, 5, 5, 5, 1 << 40, -(1 << 40)]
            .into_iter()
            .cycle()
            .take(1000)
            .collect();
        let a: ArrayRef = Arc::new(Int64Array::from(values.clone()));
        let schema = Schema::new(vec![Field::new("origin_line", DataType::Int64, false)]);
        let b = RecordBatch::try_new(Arc::new(schema), vec![a.clone()]).expect("batch");
        let back =
            read(write_batch(Vec::new(), &b, crate::lake::writer_properties()).expect("write"));
        assert_eq!(back.column(0).as_ref(), a.as_ref());
    }
}
