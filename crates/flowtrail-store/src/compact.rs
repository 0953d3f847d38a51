//! Compaction: rewrites the small files of a partition as fewer, larger files sorted by time.
//!
//! Every ingest run writes at least one file per hour it touches (one per worker), so a lake fed
//! every few minutes collects dozens of small files per hour, and every query pays a footer
//! read, a bloom filter probe and a dictionary decode per file. Compaction packs a partition's
//! files into bins of at most `target_rows` rows and rewrites each bin of two or more files as
//! one file, rows sorted by `time` (which lets page statistics prune within the hour). A bin is
//! replaced by one journalled commit: an interrupted compaction is finished or discarded by the
//! next open, never half-applied, and no row is lost or doubled.
//!
//! Memory is bounded by one bin (`target_rows` rows) per thread, whatever the partition's size.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use arrow::array::{new_null_array, ArrayRef, RecordBatch};
use arrow::compute::{cast, concat_batches, sort_to_indices, take};
use arrow::datatypes::SchemaRef;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::lake::{io, Lake, LakeError, Partition, Table};
use crate::{flow_schema, http_schema};

/// A file (or folder) compaction could not read, and why.
pub type FileError = (String, String);

/// What compaction may do.
#[derive(Debug, Clone, Copy)]
pub struct CompactOptions {
    /// Most rows per output file (and per bin read into memory).
    pub target_rows: u64,
    /// Partitions compacted at once (each holds one bin in memory).
    pub threads: usize,
}

impl Default for CompactOptions {
    fn default() -> Self {
        CompactOptions {
            target_rows: 1 << 20,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }
}

/// What compaction did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CompactReport {
    /// Partitions in which at least one bin was rewritten.
    pub partitions: u64,
    /// Files replaced, and the files that replaced them.
    pub files_before: u64,
    pub files_after: u64,
    /// Rows in the rewritten files (the same before and after).
    pub rows: u64,
    pub bytes_before: u64,
    pub bytes_after: u64,
    /// Files left as they were (alone in their bin).
    pub files_kept: u64,
    /// Bins left as they were because a file could not be read: (file or folder, reason).
    pub errors: Vec<FileError>,
}

fn perr(path: &Path) -> impl FnOnce(parquet::errors::ParquetError) -> LakeError + '_ {
    move |source| LakeError::Parquet {
        path: path.to_path_buf(),
        source,
    }
}

/// Parses `date=YYYY-MM-DD/hour=HH` folder names into a partition.
fn partition_of(date: &str, hour: &str) -> Option<Partition> {
    let date = date.strip_prefix("date=")?;
    let hour: i64 = hour.strip_prefix("hour=")?.parse().ok()?;
    let mut it = date.splitn(3, '-');
    let y: i64 = it.next()?.parse().ok()?;
    let m: u32 = it.next()?.parse().ok()?;
    let d: u32 = it.next()?.parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || !(0..24).contains(&hour) {
        return None;
    }
    Some(Partition {
        epoch_hour: flowtrail_schema::time::days_from_civil(y, m, d) * 24 + hour,
    })
}

/// Lists the partitions of `table`: (partition, folder), in time order.
fn partitions(lake: &Lake, table: Table) -> Result<Vec<(Partition, PathBuf)>, LakeError> {
    let mut out = Vec::new();
    let tdir = lake.root().join(table.dir());
    let Ok(dates) = fs::read_dir(&tdir) else {
        return Ok(out);
    };
    for d in dates.flatten() {
        let dname = d.file_name().to_string_lossy().into_owned();
        let Ok(hours) = fs::read_dir(d.path()) else {
            continue;
        };
        for h in hours.flatten() {
            let hname = h.file_name().to_string_lossy().into_owned();
            if let Some(p) = partition_of(&dname, &hname) {
                out.push((p, h.path()));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// A lake file and its row count (from its footer).
struct FileInfo {
    path: PathBuf,
    rows: u64,
    bytes: u64,
}

/// Lists a partition's files with their row counts; a file whose footer cannot be read is
/// left out and reported (it stays where it is).
fn list_files(dir: &Path) -> Result<(Vec<FileInfo>, Vec<FileError>), LakeError> {
    let mut out = Vec::new();
    let mut bad = Vec::new();
    for e in fs::read_dir(dir).map_err(io(dir))?.flatten() {
        let path = e.path();
        if path.extension().and_then(|x| x.to_str()) != Some("parquet") {
            continue;
        }
        let info = fs::File::open(&path).map_err(io(&path)).and_then(|file| {
            let bytes = file.metadata().map(|m| m.len()).unwrap_or(0);
            let b = ParquetRecordBatchReaderBuilder::try_new(file).map_err(perr(&path))?;
            let rows = b.metadata().file_metadata().num_rows().max(0) as u64;
            Ok((rows, bytes))
        });
        match info {
            Ok((rows, bytes)) => out.push(FileInfo { path, rows, bytes }),
            Err(e) => bad.push((path.display().to_string(), e.to_string())),
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok((out, bad))
}

/// Packs files into bins of at most `target` rows, in name order (names carry the run, so
/// neighbours are close in ingest time). A file alone in its bin is not rewritten.
fn bins(files: Vec<FileInfo>, target: u64) -> Vec<Vec<FileInfo>> {
    let mut out: Vec<Vec<FileInfo>> = Vec::new();
    let mut cur: Vec<FileInfo> = Vec::new();
    let mut rows = 0u64;
    for f in files {
        if !cur.is_empty() && rows + f.rows > target {
            out.push(std::mem::take(&mut cur));
            rows = 0;
        }
        rows += f.rows;
        cur.push(f);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Reads a lake file as batches in the current schema (older files may lack newer columns, or
/// store a column as another Arrow type).
fn read_as(path: &Path, schema: &SchemaRef) -> Result<Vec<RecordBatch>, LakeError> {
    let file = fs::File::open(path).map_err(io(path))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|b| b.with_batch_size(64 * 1024).build())
        .map_err(perr(path))?;
    let mut out = Vec::new();
    for b in reader {
        let b = b.map_err(|e| perr(path)(e.into()))?;
        let mut cols: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
        for f in schema.fields() {
            let col = match b.column_by_name(f.name()) {
                Some(c) if c.data_type() == f.data_type() => c.clone(),
                Some(c) => cast(c, f.data_type()).map_err(|e| perr(path)(e.into()))?,
                None => new_null_array(f.data_type(), b.num_rows()),
            };
            cols.push(col);
        }
        out.push(RecordBatch::try_new(schema.clone(), cols).map_err(|e| perr(path)(e.into()))?);
    }
    Ok(out)
}

/// Sorts a batch by its `time` column (stable, so equal times keep their ingest order).
fn sort_by_time(batch: &RecordBatch, path: &Path) -> Result<RecordBatch, LakeError> {
    let Some(time) = batch.column_by_name("time") else {
        return Ok(batch.clone());
    };
    let idx = sort_to_indices(time, None, None).map_err(|e| perr(path)(e.into()))?;
    let cols = batch
        .columns()
        .iter()
        .map(|c| take(c, &idx, None))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| perr(path)(e.into()))?;
    RecordBatch::try_new(batch.schema(), cols).map_err(|e| perr(path)(e.into()))
}

/// Compacts every partition of `table`, `opts.threads` partitions at a time. A bin whose files
/// cannot be read (a damaged file) is left as it is and reported in [`CompactReport::errors`];
/// the other bins still compact. Only a failure to write or commit the lake stops the run.
pub fn compact(
    lake: &Lake,
    table: Table,
    opts: &CompactOptions,
) -> Result<CompactReport, LakeError> {
    let schema = match table {
        Table::Flows => flow_schema(),
        Table::Http => http_schema(),
    };
    let parts = partitions(lake, table)?;
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let results: Mutex<Vec<Result<CompactReport, LakeError>>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..opts.threads.clamp(1, parts.len().max(1)) {
            scope.spawn(|| {
                let mut mine = CompactReport::default();
                while !stop.load(Ordering::Relaxed) {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some((part, dir)) = parts.get(i) else {
                        break;
                    };
                    match compact_partition(lake, table, *part, dir, &schema, opts) {
                        Ok(r) => mine.add(&r),
                        Err(e) => {
                            stop.store(true, Ordering::Relaxed);
                            if let Ok(mut res) = results.lock() {
                                res.push(Err(e));
                            }
                            return;
                        }
                    }
                }
                if let Ok(mut res) = results.lock() {
                    res.push(Ok(mine));
                }
            });
        }
    });
    let mut report = CompactReport::default();
    for r in results.into_inner().unwrap_or_default() {
        report.add(&r?);
    }
    report.errors.sort();
    Ok(report)
}

impl CompactReport {
    fn add(&mut self, o: &CompactReport) {
        self.partitions += o.partitions;
        self.files_before += o.files_before;
        self.files_after += o.files_after;
        self.rows += o.rows;
        self.bytes_before += o.bytes_before;
        self.bytes_after += o.bytes_after;
        self.files_kept += o.files_kept;
        self.errors.extend(o.errors.iter().cloned());
    }
}

/// Compacts the bins of one partition.
fn compact_partition(
    lake: &Lake,
    table: Table,
    part: Partition,
    dir: &Path,
    schema: &SchemaRef,
    opts: &CompactOptions,
) -> Result<CompactReport, LakeError> {
    let mut report = CompactReport::default();
    let files = match list_files(dir) {
        Ok((files, bad)) => {
            report.files_kept += bad.len() as u64;
            report.errors.extend(bad);
            files
        }
        Err(e) => {
            report
                .errors
                .push((dir.display().to_string(), e.to_string()));
            return Ok(report);
        }
    };
    for bin in bins(files, opts.target_rows.max(1)) {
        if bin.len() < 2 {
            report.files_kept += bin.len() as u64;
            continue;
        }
        let sorted = match read_bin(&bin, schema, dir) {
            Ok(b) => b,
            Err((path, e)) => {
                report.errors.push((path, e.to_string()));
                report.files_kept += bin.len() as u64;
                continue;
            }
        };
        let rows_in = sorted.num_rows() as u64;
        let staged = lake.stage(table, part, "c", &[sorted])?;
        let removed: Vec<String> = bin
            .iter()
            .filter_map(|f| {
                f.path
                    .strip_prefix(lake.root())
                    .ok()
                    .map(|p| p.to_string_lossy().into_owned())
            })
            .collect();
        if removed.len() != bin.len() || staged.file.rows != rows_in {
            return Err(perr(dir)(parquet::errors::ParquetError::General(
                "compaction bookkeeping mismatch; nothing was replaced".into(),
            )));
        }
        report.files_before += bin.len() as u64;
        report.files_after += 1;
        report.rows += rows_in;
        report.bytes_before += bin.iter().map(|f| f.bytes).sum::<u64>();
        report.bytes_after += staged.file.bytes;
        lake.commit_replacing(Vec::new(), vec![staged], removed)?;
    }
    if report.files_after > 0 {
        report.partitions = 1;
    }
    Ok(report)
}

/// Reads a bin's files into one batch sorted by time; on failure names the file that failed.
fn read_bin(
    bin: &[FileInfo],
    schema: &SchemaRef,
    dir: &Path,
) -> Result<RecordBatch, (String, LakeError)> {
    let mut batches = Vec::new();
    for f in bin {
        let name = || f.path.display().to_string();
        let bs = read_as(&f.path, schema).map_err(|e| (name(), e))?;
        let n: u64 = bs.iter().map(|b| b.num_rows() as u64).sum();
        if n != f.rows {
            let e = parquet::errors::ParquetError::General(format!(
                "footer says {} rows, read {n}",
                f.rows
            ));
            return Err((name(), perr(&f.path)(e)));
        }
        batches.extend(bs);
    }
    let dname = || dir.display().to_string();
    let all = concat_batches(schema, &batches).map_err(|e| (dname(), perr(dir)(e.into())))?;
    drop(batches);
    sort_by_time(&all, dir).map_err(|e| (dname(), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_folders_parse() {
        let p = partition_of("date=1970-01-02", "hour=03").expect("partition");
        assert_eq!(p.epoch_hour, 27);
        assert_eq!(p.dir(), "date=1970-01-02/hour=03");
        assert!(partition_of("date=2024-13-01", "hour=00").is_none());
        assert!(partition_of("date=2024-01-01", "hour=24").is_none());
        assert!(partition_of("x", "hour=01").is_none());
    }

    #[test]
    fn bins_respect_the_target() {
        let f = |rows| FileInfo {
            path: PathBuf::new(),
            rows,
            bytes: 0,
        };
        let b = bins(vec![f(4), f(4), f(4), f(9), f(1)], 8);
        let sizes: Vec<Vec<u64>> = b
            .iter()
            .map(|b| b.iter().map(|f| f.rows).collect())
            .collect();
        assert_eq!(sizes, vec![vec![4, 4], vec![4], vec![9], vec![1]]);
    }
}
