//! Helpers shared by the integration tests of the `flowtrail` binary.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;

/// The `flowtrail` binary under test.
pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_flowtrail"))
}

/// A scratch folder in the system's temp dir, named after the test and the process (so test
/// binaries running at once never share one), emptied on creation and removed on drop.
pub struct Tmp(pub PathBuf);

impl Tmp {
    pub fn new(name: &str) -> Tmp {
        let p = std::env::temp_dir().join(format!("ft-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("mkdir");
        Tmp(p)
    }
}

impl Drop for Tmp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
