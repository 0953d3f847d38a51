//! The ingest manifest: a journal of commits, each naming the inputs it finished and the files
//! it made visible.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Identifies one version of one input: its location, size and modification time.
///
/// Re-ingesting an input with the same key adds nothing. A file that changed (other size or
/// mtime) has a new key and is ingested again.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct InputKey {
    /// Canonical absolute path or object URL.
    pub origin: String,
    pub size: u64,
    /// Modification time in nanoseconds since the epoch (0 where unknown).
    pub mtime_ns: i128,
}

/// What one ingest made of one input: the accounting `read = stored + skipped + rejected`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InputEntry {
    pub key: Option<InputKey>,
    /// The origin as shown to the user and stored in the `origin` column.
    pub origin: String,
    pub format: String,
    pub read: u64,
    pub stored: u64,
    pub skipped: BTreeMap<String, u64>,
    pub rejected: u64,
    /// Why the input could not be read to its end (missing, truncated, unknown format...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl InputEntry {
    /// Returns the number of skipped records over all reasons.
    pub fn skipped_total(&self) -> u64 {
        self.skipped.values().sum()
    }

    /// Adds another entry's counts into this one (for totals).
    pub fn add(&mut self, o: &InputEntry) {
        self.read += o.read;
        self.stored += o.stored;
        self.rejected += o.rejected;
        for (k, v) in &o.skipped {
            *self.skipped.entry(k.clone()).or_default() += v;
        }
    }
}

/// One file a commit makes visible.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommittedFile {
    /// Path relative to the lake root, e.g. `flows/date=2024-01-01/hour=00/aws_vpc-....parquet`.
    pub path: String,
    /// Path of the staged copy relative to the lake root.
    pub staged: String,
    pub rows: u64,
    pub bytes: u64,
}

/// One line of `_manifest/journal.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Commit {
    pub id: String,
    /// RFC 3339 UTC time of the commit.
    pub at: String,
    pub inputs: Vec<InputEntry>,
    pub files: Vec<CommittedFile>,
    /// Files this commit replaces (a compaction), relative to the lake root; they are deleted
    /// once `files` are in place.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removed: Vec<String>,
}
