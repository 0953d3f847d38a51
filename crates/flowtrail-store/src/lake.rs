//! A lake on the local file system: partition layout, staging, commits and recovery.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

use arrow::array::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

use crate::manifest::{Commit, CommittedFile, InputEntry, InputKey};

/// Errors of the lake, each naming the path involved.
#[derive(Debug, thiserror::Error)]
pub enum LakeError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: writing Parquet: {source}")]
    Parquet {
        path: PathBuf,
        source: parquet::errors::ParquetError,
    },
    #[error("{path}: another flowtrail ingest holds this lake's lock; wait for it or stop it")]
    Locked { path: PathBuf },
}

pub(crate) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> LakeError + '_ {
    move |source| LakeError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A normalized table of the lake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Table {
    Flows,
    Http,
}

impl Table {
    /// Returns the table's folder name (also its SQL name).
    pub fn dir(self) -> &'static str {
        match self {
            Table::Flows => "flows",
            Table::Http => "http",
        }
    }
}

/// A Hive partition: one UTC hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Partition {
    /// Hours since the Unix epoch.
    pub epoch_hour: i64,
}

impl Partition {
    /// Returns the partition holding a row whose `time` is `micros`.
    pub fn of_micros(micros: i64) -> Partition {
        Partition {
            epoch_hour: micros.div_euclid(3_600_000_000),
        }
    }

    /// Returns the relative folder, `date=YYYY-MM-DD/hour=HH`.
    pub fn dir(self) -> String {
        let days = self.epoch_hour.div_euclid(24);
        let hour = self.epoch_hour.rem_euclid(24);
        let (y, m, d) = flowtrail_schema::time::civil_from_days(days);
        format!("date={y:04}-{m:02}-{d:02}/hour={hour:02}")
    }
}

/// A Parquet file written to `_staging`, waiting for its commit.
#[derive(Debug, Clone)]
pub struct StagedFile {
    pub file: CommittedFile,
}

/// The lock file queries hold shared while they run, and a replacing commit (compaction) holds
/// exclusively while it swaps files, so a flowtrail query sees a partition either before or
/// after a swap: never a vanished file, never both the old files and their replacement.
const READERS_LOCK: &str = "_manifest/readers.lock";
/// Bytes a staged Parquet file is buffered in before each write to the file system.
const WRITE_BUFFER: usize = 1 << 20;

/// Opens (creating if missing, never truncating) a file used only for its lock.
fn open_lock_file(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
}

/// A query's shared hold on its lake's readers lock, released when dropped (see
/// [`ReadGuard::acquire`]).
pub struct ReadGuard {
    _file: Option<File>,
}

impl ReadGuard {
    /// Waits for a file swap in progress to end, then holds the lake's readers lock shared until
    /// dropped. Best effort: a lake without a `_manifest` folder (nothing ingested yet) or on a
    /// read-only medium gives an empty guard, as there is no writer to exclude.
    pub fn acquire(root: &Path) -> ReadGuard {
        let p = root.join(READERS_LOCK);
        let file = open_lock_file(&p)
            .or_else(|_| File::open(&p))
            .ok()
            .filter(|f| f.lock_shared().is_ok());
        ReadGuard { _file: file }
    }
}

/// An exclusive hold on the readers lock for the span of a file swap.
struct SwapGuard<'a>(&'a File);

impl<'a> SwapGuard<'a> {
    fn take(f: &'a File, path: &Path) -> Result<SwapGuard<'a>, LakeError> {
        f.lock().map_err(io(path))?;
        Ok(SwapGuard(f))
    }
}

impl Drop for SwapGuard<'_> {
    fn drop(&mut self) {
        let _ = self.0.unlock();
    }
}

/// An open lake, holding its exclusive ingest lock until dropped.
pub struct Lake {
    root: PathBuf,
    run_id: String,
    seq: AtomicU64,
    journal: Mutex<File>,
    ingested: Mutex<HashMap<InputKey, InputEntry>>,
    _lock: File,
    /// The readers lock (see [`READERS_LOCK`]), taken exclusively around file swaps.
    readers: Mutex<File>,
    /// What recovery did when the lake was opened: (files moved into place, staged files removed).
    pub recovered: (u64, u64),
    failpoint: Option<Failpoint>,
    commits: AtomicU64,
}

/// A deliberate crash for testing recovery: the process aborts at this point of the N-th commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failpoint {
    /// After the files of commit N are staged, before its journal line.
    BeforeJournal(u64),
    /// After the journal line of commit N, before its files are moved into place.
    AfterJournal(u64),
}

impl Failpoint {
    /// Parses `before-journal:N` or `after-journal:N`.
    pub fn parse(s: &str) -> Option<Failpoint> {
        let (what, n) = s.split_once(':')?;
        let n: u64 = n.parse().ok()?;
        match what {
            "before-journal" => Some(Failpoint::BeforeJournal(n)),
            "after-journal" => Some(Failpoint::AfterJournal(n)),
            _ => None,
        }
    }
}

/// Address columns read in full by the everyday questions (see `writer_properties`).
const ADDRESS_COLUMNS: &[&str] = &["src_ip", "dst_ip", "client_ip"];

/// Byte counters, summed by the everyday questions (see `writer_properties`).
const BYTE_COLUMNS: &[&str] = &["bytes_out", "bytes_in"];

/// Columns with bloom filters: the point lookups of an investigation (an address, a host).
const BLOOM_COLUMNS: &[&str] = &["src_ip", "dst_ip", "client_ip", "host", "domain"];

/// Returns the writer properties of every lake file (see ARCHITECTURE.md, "Lake files").
pub fn writer_properties() -> WriterProperties {
    // zstd level 1: the lake's pages are dictionary keys and bit-packed integers already, so
    // level 3 saved 0.03 % of the bytes and cost about a tenth of an ingest's CPU (its larger
    // match tables are set up again for every page).
    let mut b = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(1).unwrap_or_default()))
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_max_row_group_row_count(Some(1 << 20))
        .set_dictionary_enabled(true)
        .set_created_by("flowtrail".into());
    for col in BLOOM_COLUMNS {
        b = b
            .set_column_bloom_filter_enabled(ColumnPath::from(*col), true)
            .set_column_bloom_filter_fpp(ColumnPath::from(*col), 0.01);
    }
    // High-entropy text: dictionary pages only waste time.
    b = b.set_column_dictionary_enabled(ColumnPath::from("extra"), false);
    // Byte counts hardly repeat (48 k distinct in an hour of 100 k VPC flows): their dictionary
    // was as large as the plain values after compression and cost a hash lookup per row,
    // missing the cache. Delta encoding bit-packs them at 2-3 bytes a value, with no codec
    // after it (packed deltas do not compress): 1.25 bytes per flow smaller than plain values
    // with Snappy, and the sums of an IP lookup or a top-talkers query skip decompression.
    for col in BYTE_COLUMNS {
        b = b
            .set_column_dictionary_enabled(ColumnPath::from(*col), false)
            .set_column_encoding(ColumnPath::from(*col), Encoding::DELTA_BINARY_PACKED)
            .set_column_compression(ColumnPath::from(*col), Compression::UNCOMPRESSED);
    }
    // Line numbers climb by one: delta encoding stores a run of them in a few bytes, where
    // plain encoding cost 8 bytes a row before compression (1.1 bytes after).
    b = b
        .set_column_dictionary_enabled(ColumnPath::from("origin_line"), false)
        .set_column_encoding(
            ColumnPath::from("origin_line"),
            Encoding::DELTA_BINARY_PACKED,
        );
    // Min/max cost two string comparisons per row; skip them where they never prune a file:
    // long texts nobody range-filters, and few-valued columns every page mixes (an hour of
    // flows holds both actions and all directions). `protocol` keeps them for protocol_name.
    for col in [
        "origin",
        "extra",
        "url",
        "path",
        "query",
        "user_agent",
        "referrer",
        "protocol_name",
        "action",
        "direction",
        "flow_state",
    ] {
        b = b.set_column_statistics_enabled(ColumnPath::from(col), EnabledStatistics::None);
    }
    // The address columns every lookup reads in full are stored without a codec: their pages
    // are bit-packed dictionary keys, which Snappy shrank by 12-16 % while its decompression
    // was the largest single cost of an IP lookup (30 % of its CPU). On 10 M VPC flows this
    // costs 0.7 bytes per flow and made the IP lookup about 25 % faster (BENCHMARKS.md).
    for col in ADDRESS_COLUMNS {
        b = b.set_column_compression(ColumnPath::from(*col), Compression::UNCOMPRESSED);
    }
    b.build()
}

/// Sizes the bloom filters for a file of `rows` rows. The writer builds each filter at the size
/// for its expected distinct count and folds it down when the column closes; sizing it for a
/// whole 1 Mi-row group made every insert a cache miss (11 % of the write time for 100 k-row
/// files). A quarter of the rows is a generous bound for distinct addresses per hour file.
pub fn writer_properties_for(rows: usize) -> WriterProperties {
    let ndv = (rows as u64 / 4).clamp(4096, 1 << 20);
    let mut b = writer_properties().into_builder();
    for col in BLOOM_COLUMNS {
        b = b.set_column_bloom_filter_max_ndv(ColumnPath::from(*col), ndv);
    }
    b.build()
}

/// `FLOWTRAIL_PARQUET_WRITER=arrow` writes lake files with arrow-rs's `ArrowWriter` instead of
/// the lake's own encoder ([`crate::encode`]): for A/B benchmarks and for ruling the encoder out
/// when a reader disagrees with a file.
fn arrow_writer_forced() -> bool {
    static FORCED: OnceLock<bool> = OnceLock::new();
    *FORCED.get_or_init(|| {
        std::env::var("FLOWTRAIL_PARQUET_WRITER").is_ok_and(|v| v.eq_ignore_ascii_case("arrow"))
    })
}

impl Lake {
    /// Opens (creating if needed) the lake at `root`, takes its ingest lock and recovers from any
    /// interrupted ingest.
    pub fn open(root: &Path) -> Result<Lake, LakeError> {
        for d in ["_staging", "_manifest", "_deadletter", "flows", "http"] {
            let p = root.join(d);
            fs::create_dir_all(&p).map_err(io(&p))?;
        }
        let lock_path = root.join("_manifest/lock");
        let lock = open_lock_file(&lock_path).map_err(io(&lock_path))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                return Err(LakeError::Locked {
                    path: root.to_path_buf(),
                })
            }
            Err(fs::TryLockError::Error(e)) => return Err(io(&lock_path)(e)),
        }
        let readers_path = root.join(READERS_LOCK);
        let readers = open_lock_file(&readers_path).map_err(io(&readers_path))?;
        let jpath = root.join("_manifest/journal.jsonl");
        let (commits, _bad_tail) = read_journal(&jpath)?;
        // Finishing an interrupted replacement is a swap: keep queries out while it happens.
        let swap = commits
            .iter()
            .any(|c| c.removed.iter().any(|r| root.join(r).exists()));
        let _swap = match swap {
            true => Some(SwapGuard::take(&readers, &readers_path)?),
            false => None,
        };
        let mut moved = 0;
        let mut ingested = HashMap::new();
        for c in &commits {
            for f in &c.files {
                let fin = root.join(&f.path);
                let staged = root.join(&f.staged);
                if !fin.exists() && staged.exists() {
                    if let Some(parent) = fin.parent() {
                        fs::create_dir_all(parent).map_err(io(parent))?;
                    }
                    fs::rename(&staged, &fin).map_err(io(&staged))?;
                    moved += 1;
                }
            }
            // A compaction journalled but interrupted: its new files are in place now, so the
            // files they replace go (their rows would otherwise be counted twice).
            for r in &c.removed {
                let p = root.join(r);
                if p.exists() {
                    fs::remove_file(&p).map_err(io(&p))?;
                    moved += 1;
                }
            }
            for i in &c.inputs {
                if let Some(k) = &i.key {
                    ingested.insert(k.clone(), i.clone());
                }
            }
        }
        // Whatever is still staged belongs to no commit: an interrupted ingest's partial output.
        let mut removed = 0;
        let staging = root.join("_staging");
        for e in fs::read_dir(&staging).map_err(io(&staging))?.flatten() {
            if fs::remove_file(e.path()).is_ok() {
                removed += 1;
            }
        }
        drop(_swap);
        let journal = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&jpath)
            .map_err(io(&jpath))?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        Ok(Lake {
            root: root.to_path_buf(),
            run_id: format!("{:x}{:04x}", nanos / 1_000_000, std::process::id() & 0xffff),
            seq: AtomicU64::new(0),
            journal: Mutex::new(journal),
            ingested: Mutex::new(ingested),
            _lock: lock,
            readers: Mutex::new(readers),
            recovered: (moved, removed),
            failpoint: None,
            commits: AtomicU64::new(0),
        })
    }

    /// Arms a crash point (tests of the recovery path only).
    pub fn set_failpoint(&mut self, f: Option<Failpoint>) {
        self.failpoint = f;
    }

    /// Returns the lake's root folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Returns this run's id (part of every file name it writes).
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// Returns what an earlier ingest recorded for this exact input version, if any.
    pub fn ingested(&self, key: &InputKey) -> Option<InputEntry> {
        self.ingested.lock().ok().and_then(|m| m.get(key).cloned())
    }

    /// Returns a path for this run's dead-letter file.
    pub fn deadletter_path(&self) -> PathBuf {
        self.root
            .join("_deadletter")
            .join(format!("{}.ndjson", self.run_id))
    }

    /// Writes `batches` (all of one partition) as one Parquet file in `_staging`.
    pub fn stage(
        &self,
        table: Table,
        partition: Partition,
        prefix: &str,
        batches: &[RecordBatch],
    ) -> Result<StagedFile, LakeError> {
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let name = format!("{prefix}-{}-{seq:05}.parquet", self.run_id);
        let staged_rel = format!("_staging/{}-{}-{name}", table.dir(), partition.epoch_hour);
        let final_rel = format!("{}/{}/{name}", table.dir(), partition.dir());
        let path = self.root.join(&staged_rel);
        // Parquet's writer hands its sink 8 KiB at a time; written as is, most writes started
        // and ended inside a file-system block, which the kernel zeroes before copying (2.5 %
        // of one ingest's profile). A large buffer makes the writes few (5,645 → 939 for 2 M
        // rows).
        let file = std::io::BufWriter::with_capacity(
            WRITE_BUFFER,
            File::create(&path).map_err(io(&path))?,
        );
        let schema = match batches.first() {
            Some(b) => b.schema(),
            None => crate::flow_schema(),
        };
        let perr = |source| LakeError::Parquet {
            path: path.clone(),
            source,
        };
        let rows_in: usize = batches.iter().map(|b| b.num_rows()).sum();
        let props = writer_properties_for(rows_in);
        let rows = rows_in as u64;
        let file = match batches {
            [batch] if crate::encode::supports(&schema) && !arrow_writer_forced() => {
                crate::encode::write_batch(file, batch, props).map_err(perr)?
            }
            _ => {
                let mut w = ArrowWriter::try_new(file, schema, Some(props)).map_err(perr)?;
                for b in batches {
                    w.write(b).map_err(|source| LakeError::Parquet {
                        path: path.clone(),
                        source,
                    })?;
                }
                w.into_inner().map_err(|source| LakeError::Parquet {
                    path: path.clone(),
                    source,
                })?
            }
        };
        let file = file.into_inner().map_err(|e| io(&path)(e.into_error()))?;
        // Made durable by the commit that journals it (all of a commit's files at once).
        let bytes = file.metadata().map(|m| m.len()).unwrap_or(0);
        Ok(StagedFile {
            file: CommittedFile {
                path: final_rel,
                staged: staged_rel,
                rows,
                bytes,
            },
        })
    }

    /// Commits: journals `inputs` and `files` durably, then moves the files into their partitions.
    pub fn commit(&self, inputs: Vec<InputEntry>, files: Vec<StagedFile>) -> Result<(), LakeError> {
        self.commit_replacing(inputs, files, Vec::new())
    }

    /// Flushes staged files to disk before their commit is journalled, several at once: one
    /// `fsync` after another cost ~2 ms per file of waiting (an ingest of 100 hour files
    /// commits them ten at a time).
    fn sync_staged(&self, files: &[StagedFile]) -> Result<(), LakeError> {
        const AT_ONCE: usize = 8;
        let sync = |f: &StagedFile| -> Result<(), LakeError> {
            let path = self.root.join(&f.file.staged);
            File::open(&path)
                .and_then(|h| h.sync_all())
                .map_err(io(&path))
        };
        if files.len() <= 1 {
            return files.iter().try_for_each(sync);
        }
        let per = files.len().div_ceil(AT_ONCE);
        std::thread::scope(|scope| {
            let handles: Vec<_> = files
                .chunks(per)
                .map(|chunk| scope.spawn(move || chunk.iter().try_for_each(sync)))
                .collect();
            handles.into_iter().try_for_each(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(io(&self.root)(std::io::Error::other(
                        "fsync thread panicked",
                    )))
                })
            })
        })
    }

    /// Commits `files` in place of `removed` (paths relative to the root): journalled first, so
    /// an interrupted replacement is finished by the next [`Lake::open`], never half-applied.
    pub fn commit_replacing(
        &self,
        inputs: Vec<InputEntry>,
        files: Vec<StagedFile>,
        removed: Vec<String>,
    ) -> Result<(), LakeError> {
        if inputs.is_empty() && files.is_empty() && removed.is_empty() {
            return Ok(());
        }
        let nth = self.commits.fetch_add(1, Ordering::SeqCst) + 1;
        if self.failpoint == Some(Failpoint::BeforeJournal(nth)) {
            std::process::abort();
        }
        self.sync_staged(&files)?;
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let commit = Commit {
            id: format!("{}-{seq}", self.run_id),
            at: flowtrail_schema::time::format_rfc3339(now_micros()),
            inputs,
            files: files.into_iter().map(|s| s.file).collect(),
            removed,
        };
        let jpath = self.root.join("_manifest/journal.jsonl");
        let mut line = serde_json::to_string(&commit).unwrap_or_default();
        line.push('\n');
        {
            let mut j = self
                .journal
                .lock()
                .map_err(|_| io(&jpath)(std::io::Error::other("journal lock poisoned")))?;
            j.write_all(line.as_bytes()).map_err(io(&jpath))?;
            j.sync_data().map_err(io(&jpath))?;
        }
        if self.failpoint == Some(Failpoint::AfterJournal(nth)) {
            std::process::abort();
        }
        // A replacement swaps files under running queries' feet: wait for them, and keep new
        // ones out until the old files are gone. Plain ingest commits only add files and never
        // wait (a live listener must not stall behind a long query).
        let rpath = self.root.join(READERS_LOCK);
        let readers = match commit.removed.is_empty() {
            true => None,
            false => Some(
                self.readers
                    .lock()
                    .map_err(|_| io(&rpath)(std::io::Error::other("readers lock poisoned")))?,
            ),
        };
        let _swap = match readers.as_deref() {
            Some(f) => Some(SwapGuard::take(f, &rpath)?),
            None => None,
        };
        for f in &commit.files {
            let fin = self.root.join(&f.path);
            if let Some(parent) = fin.parent() {
                fs::create_dir_all(parent).map_err(io(parent))?;
            }
            let staged = self.root.join(&f.staged);
            fs::rename(&staged, &fin).map_err(io(&staged))?;
        }
        for r in &commit.removed {
            let p = self.root.join(r);
            match fs::remove_file(&p) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io(&p)(e)),
            }
        }
        if let Ok(mut m) = self.ingested.lock() {
            for i in commit.inputs {
                if let Some(k) = &i.key {
                    m.insert(k.clone(), i);
                }
            }
        }
        Ok(())
    }
}

fn now_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

/// Reads every complete commit of a journal; a torn last line (a crash mid-write) is ignored and
/// reported in the second value.
pub fn read_journal(path: &Path) -> Result<(Vec<Commit>, usize), LakeError> {
    let f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((vec![], 0)),
        Err(e) => return Err(io(path)(e)),
    };
    let mut out = vec![];
    let mut bad = 0;
    for line in BufReader::new(f).lines() {
        let line = line.map_err(io(path))?;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Commit>(&line) {
            Ok(c) => out.push(c),
            Err(_) => bad += 1,
        }
    }
    Ok((out, bad))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FlowBatchBuilder;
    use flowtrail_schema::FlowRecord;

    fn tmp(name: &str) -> PathBuf {
        let p = std::env::temp_dir().join(format!("ft-lake-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&p);
        p
    }

    fn batch(n: usize) -> RecordBatch {
        let mut b = FlowBatchBuilder::new();
        for i in 0..n {
            b.push(
                &FlowRecord {
                    time: 3_600_000_000 * 5 + i as i64,
                    ..Default::default()
                },
                "t",
                "o",
                None,
            );
        }
        b.finish()
    }

    #[test]
    fn partition_dir() {
        assert_eq!(Partition::of_micros(0).dir(), "date=1970-01-01/hour=00");
        assert_eq!(
            Partition::of_micros(1_542_110_435_389_926).dir(),
            "date=2018-11-13/hour=12"
        );
    }

    #[test]
    fn commit_makes_files_visible_and_recovery_cleans_staging() {
        let root = tmp("commit");
        let key = InputKey {
            origin: "/x".into(),
            size: 1,
            mtime_ns: 2,
        };
        {
            let lake = Lake::open(&root).expect("open");
            // Second opener is refused while the first holds the lock.
            assert!(matches!(Lake::open(&root), Err(LakeError::Locked { .. })));
            let p = Partition::of_micros(3_600_000_000 * 5);
            let f = lake
                .stage(Table::Flows, p, "t", &[batch(10)])
                .expect("stage");
            assert!(root.join(&f.file.staged).exists());
            assert!(!root.join(&f.file.path).exists());
            let entry = InputEntry {
                key: Some(key.clone()),
                read: 10,
                stored: 10,
                ..Default::default()
            };
            lake.commit(vec![entry], vec![f.clone()]).expect("commit");
            assert!(root.join(&f.file.path).exists());
            // An uncommitted staged file, as a killed ingest leaves it.
            lake.stage(Table::Flows, p, "t", &[batch(3)])
                .expect("stage");
        }
        let lake = Lake::open(&root).expect("reopen");
        assert_eq!(lake.recovered, (0, 1));
        assert_eq!(lake.ingested(&key).map(|e| e.stored), Some(10));
        let _ = fs::remove_dir_all(&root);
    }

    #[test]
    fn recovery_finishes_journalled_moves() {
        let root = tmp("recover");
        let rel;
        {
            let lake = Lake::open(&root).expect("open");
            let f = lake
                .stage(Table::Flows, Partition::of_micros(0), "t", &[batch(2)])
                .expect("stage");
            rel = f.file.path.clone();
            // Simulate a crash after the journal line and before the rename.
            let commit = Commit {
                id: "c".into(),
                at: "now".into(),
                inputs: vec![],
                files: vec![f.file],
                removed: vec![],
            };
            let mut j = OpenOptions::new()
                .append(true)
                .open(root.join("_manifest/journal.jsonl"))
                .expect("j");
            writeln!(j, "{}", serde_json::to_string(&commit).expect("json")).expect("write");
            writeln!(j, "{{\"id\": \"torn").expect("write");
        }
        let lake = Lake::open(&root).expect("reopen");
        assert_eq!(lake.recovered, (1, 0));
        assert!(root.join(rel).exists());
        let _ = fs::remove_dir_all(&root);
    }
}
