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
