//! Helpers shared by the integration tests of the `flowtrail` binary.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Stdio};

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

/// Whether `python3` can import `module`. When it cannot, the test skips with a message naming
/// the pip package, unless the environment variable `require` is set (CI installs the module
/// and sets it): then the missing module is a failure, not a skip.
pub fn python_module(module: &str, require: &str) -> bool {
    let ok = Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            std::env::var_os(require).is_none(),
            "{require} is set but python3 cannot import {module} (python3 -m pip install {module})"
        );
        eprintln!("SKIPPED: python3 module {module} not installed (pip install {module})");
    }
    ok
}
