//! `flowtrail compact`: fewer, larger, time-sorted files per hour partition.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use flowtrail_store::{compact, CompactOptions, CompactReport, Table};

use crate::cli::{CompactArgs, TableArg};
use crate::commands::query::check_lake;

pub fn run(lake_dir: &Path, a: &CompactArgs) -> anyhow::Result<ExitCode> {
    check_lake(lake_dir)?;
    let lake = super::ingest::open_for_writing(lake_dir, "run")?;
    let tables: &[Table] = match a.table {
        Some(TableArg::Flows) => &[Table::Flows],
        Some(TableArg::Http) => &[Table::Http],
        None => &[Table::Flows, Table::Http],
    };
    let mut opts = CompactOptions {
        target_rows: a.target_rows,
        ..CompactOptions::default()
    };
    if let Some(t) = a.threads {
        opts.threads = t.max(1);
    }
    let start = std::time::Instant::now();
    let mut total = Vec::new();
    for &t in tables {
        let r = compact(&lake, t, &opts).with_context(|| format!("compacting {}", t.dir()))?;
        total.push((t, r));
    }
    let secs = start.elapsed().as_secs_f64();
    let errors: Vec<&(String, String)> = total.iter().flat_map(|(_, r)| &r.errors).collect();
    for (what, why) in &errors {
        eprintln!("flowtrail: error: {what}: {why} (left as it is)");
    }
    if a.json {
        let tables: serde_json::Map<String, serde_json::Value> = total
            .iter()
            .map(|(t, r)| (t.dir().to_string(), report_json(r)))
            .collect();
        println!(
            "{}",
            serde_json::json!({ "tables": tables, "seconds": secs })
        );
    } else {
        for (t, r) in &total {
            println!(
                "{}: {} partition(s) compacted: {} file(s) -> {} ({} rows, {:.1} MB -> {:.1} MB); {} file(s) already large enough",
                t.dir(),
                r.partitions,
                r.files_before,
                r.files_after,
                r.rows,
                r.bytes_before as f64 / 1e6,
                r.bytes_after as f64 / 1e6,
                r.files_kept
            );
        }
        println!("done in {secs:.2}s");
    }
    Ok(if errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn report_json(r: &CompactReport) -> serde_json::Value {
    serde_json::json!({
        "partitions": r.partitions,
        "files_before": r.files_before,
        "files_after": r.files_after,
        "rows": r.rows,
        "bytes_before": r.bytes_before,
        "bytes_after": r.bytes_after,
        "files_kept": r.files_kept,
        "errors": r.errors.iter().map(|(what, why)| serde_json::json!({"file": what, "error": why})).collect::<Vec<_>>(),
    })
}
