//! The Parquet lake: columnar batches, partitioned atomic writes and the ingest manifest.
//!
//! Invariant: only this crate writes Parquet into a lake. Layout:
//!
//! ```text
//! <lake>/flows/date=YYYY-MM-DD/hour=HH/<source>-<run>-<worker>-<seq>.parquet
//! <lake>/http/date=.../hour=.../...
//! <lake>/_staging/      files written but not yet committed (never read by queries)
//! <lake>/_manifest/journal.jsonl   one line per commit: the inputs and the files it made visible
//! <lake>/_deadletter/<run>.ndjson  rejected records with origin, line and reason
//! ```
//!
//! A commit appends its journal line (fsynced) *before* moving its files from `_staging` into
//! the table folders; recovery at the next open finishes the moves of every journalled commit
//! and deletes staged files that no commit names. So a killed ingest leaves no half-written
//! file visible, and re-running it neither loses nor duplicates rows.

pub mod batch;
pub mod columns;
pub mod compact;
pub mod encode;
pub mod lake;
pub mod manifest;

pub use batch::{
    flow_schema, http_schema, FlowBatchBuilder, FlowEnrichment, HttpBatchBuilder, InputTag,
};
pub use compact::{compact, CompactOptions, CompactReport};
pub use lake::{Failpoint, Lake, LakeError, Partition, ReadGuard, StagedFile, Table};
pub use manifest::{InputEntry, InputKey};
