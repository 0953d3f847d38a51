//! Helpers shared by the conformance tests.
#![allow(dead_code)]

use std::path::PathBuf;

/// Returns `../shared/corpus/<sub>` (or `$FLOWTRAIL_CORPUS/<sub>`) if it exists; otherwise prints
/// why the test is skipped and returns `None`.
pub fn corpus(sub: &str) -> Option<PathBuf> {
    let root = std::env::var_os("FLOWTRAIL_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus")
        });
    let dir = root.join(sub);
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "SKIPPED: corpus folder {} is absent (set FLOWTRAIL_CORPUS to the shared corpus)",
            dir.display()
        );
        None
    }
}

/// Reads a file of the corpus as bytes, panicking with its path on failure (tests only).
pub fn read(path: &std::path::Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// One field on which we knowingly disagree with a peer's expected output:
/// (file, record index, field, why the peer is wrong).
pub type PeerDisagreement = (&'static str, usize, &'static str, &'static str);

/// Compares our fields with a peer's expected output. A difference is allowed only when the
/// disagreement table lists it, and every listed entry must still occur (no stale entries).
pub struct PeerCheck {
    table: &'static [PeerDisagreement],
    used: std::collections::HashSet<(String, usize, String)>,
    mismatches: Vec<String>,
    /// Records compared so far.
    pub compared: usize,
    /// Lines for the test log (rows compared per file...), printed by `finish`.
    notes: Vec<String>,
}

impl PeerCheck {
    pub fn new(table: &'static [PeerDisagreement]) -> Self {
        PeerCheck {
            table,
            used: Default::default(),
            mismatches: vec![],
            compared: 0,
            notes: vec![],
        }
    }

    /// Checks one field of `record` of `file`.
    pub fn field(&mut self, file: &str, record: usize, field: &str, ours: &str, theirs: &str) {
        if ours == theirs {
            return;
        }
        if self
            .table
            .iter()
            .any(|(f, i, fd, _)| *f == file && *i == record && *fd == field)
        {
            self.used
                .insert((file.to_string(), record, field.to_string()));
        } else {
            self.mismatches.push(format!(
                "{file} record {record} {field}: ours {ours:?}, theirs {theirs:?}"
            ));
        }
    }

    /// Checks every field of a peer's expected row (one record compared), `ours` rendering our
    /// value of a field.
    pub fn want<K: AsRef<str>>(
        &mut self,
        file: &str,
        record: usize,
        want: &std::collections::BTreeMap<K, String>,
        ours: impl Fn(&str) -> String,
    ) {
        self.compared += 1;
        for (field, theirs) in want {
            let field = field.as_ref();
            self.field(file, record, field, &ours(field), theirs);
        }
    }

    /// Notes that `rows` rows of `file` were compared (printed by `finish`).
    pub fn count(&mut self, file: &str, rows: usize) {
        self.notes.push(format!("{file}: {rows} rows compared"));
    }

    /// A line for the test log, printed by `finish`.
    pub fn note(&mut self, line: String) {
        self.notes.push(line);
    }

    /// Asserts no unlisted mismatch, and that every entry for files under `prefix` was hit.
    pub fn finish(self, prefix: &str) {
        self.finish_where(|f| f.starts_with(prefix));
    }

    /// Like `finish`, checking the entries of the files `mine` selects.
    pub fn finish_where(self, mine: impl Fn(&str) -> bool) {
        for line in &self.notes {
            eprintln!("{line}");
        }
        assert!(
            self.mismatches.is_empty(),
            "mismatches:\n{}",
            self.mismatches.join("\n")
        );
        for (f, i, fd, _) in self.table {
            if mine(f) {
                assert!(
                    self.used.contains(&(f.to_string(), *i, fd.to_string())),
                    "stale PEER_DISAGREEMENTS entry {f} {i} {fd}"
                );
            }
        }
    }
}
