//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// Returns `../shared/corpus/<sub>` (or `$FLOWTRAIL_CORPUS/<sub>`) if it exists; otherwise prints
/// why the test is skipped and returns `None`.
pub fn corpus(sub: &str) -> Option<PathBuf> {
    let root = std::env::var_os("FLOWTRAIL_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus")
        });
    let dir = root.join(sub);
    if dir.exists() {
        Some(dir)
    } else {
        eprintln!(
            "SKIPPED: corpus path {} is absent (set FLOWTRAIL_CORPUS to the shared corpus)",
            dir.display()
        );
        None
    }
}

/// Reads a corpus file as text (invalid UTF-8 replaced), panicking with its path on failure.
pub fn text(path: &Path) -> String {
    let b = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    String::from_utf8_lossy(&b).into_owned()
}

/// A synthetic fixture under `tests/fixtures/`.
pub fn fixture(name: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    text(&p)
}
