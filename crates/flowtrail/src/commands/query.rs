//! `flowtrail query` and `flowtrail top`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use flowtrail_query::{open_session_with, parse_time, Enrichment, TimeRange, TopBy};

use crate::cli::{By, ExecArgs, QueryArgs, RangeArgs, TopArgs};
use crate::output;

fn now_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

pub(crate) fn range(r: &RangeArgs) -> anyhow::Result<TimeRange> {
    let now = now_micros();
    let p = |s: &Option<String>, flag: &str| -> anyhow::Result<Option<i64>> {
        s.as_deref()
            .map(|s| parse_time(s, now).map_err(|e| anyhow::anyhow!("{flag}: {e}")))
            .transpose()
    };
    Ok(TimeRange {
        since: p(&r.since, "--since")?,
        until: p(&r.until, "--until")?,
    })
}

pub(crate) fn check_lake(lake: &Path) -> anyhow::Result<()> {
    if !lake.join("flows").is_dir() {
        anyhow::bail!(
            "{}: no lake here (run `flowtrail ingest ... --lake {}` first, or pass --lake / FLOWTRAIL_LAKE)",
            lake.display(),
            lake.display()
        );
    }
    Ok(())
}

pub(crate) fn execute(
    lake: &Path,
    range: &TimeRange,
    sql: &str,
    enrich: &Enrichment,
) -> anyhow::Result<Vec<arrow::array::RecordBatch>> {
    execute_timed(lake, range, sql, enrich, &ExecArgs::default())
}

/// Runs `sql` `exec.runs` times in one session (the lake opened once, like a connection kept
/// open by a UI or a notebook) and returns the last run's rows. With `--timing` or several
/// runs, prints the session set-up time and each run's time (planning + execution) to stderr.
pub(crate) fn execute_timed(
    lake: &Path,
    range: &TimeRange,
    sql: &str,
    enrich: &Enrichment,
    exec: &ExecArgs,
) -> anyhow::Result<Vec<arrow::array::RecordBatch>> {
    check_lake(lake)?;
    // Held for the whole session: a compaction waits to swap files until the query is done.
    let _readers = flowtrail_store::ReadGuard::acquire(lake);
    let show = exec.timing || exec.runs > 1;
    let t0 = std::time::Instant::now();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let ctx = open_session_with(lake, range, enrich)
            .await
            .context("opening the lake")?;
        if show {
            eprintln!("session: {:.4} s", t0.elapsed().as_secs_f64());
        }
        let mut last = Vec::new();
        for run in 1..=exec.runs.max(1) {
            let t = std::time::Instant::now();
            let df = ctx
                .sql(sql)
                .await
                .map_err(|e| anyhow::anyhow!("bad query: {e}"))?;
            last = df
                .collect()
                .await
                .map_err(|e| anyhow::anyhow!("query failed: {e}"))?;
            if show {
                eprintln!("run {run}: {:.4} s", t.elapsed().as_secs_f64());
            }
        }
        Ok(last)
    })
}

pub fn run_query(lake: &Path, a: &QueryArgs, enrich: &Enrichment) -> anyhow::Result<ExitCode> {
    let range = range(&a.range)?;
    let sql = match &a.sql {
        Some(sql) => sql.clone(),
        None => {
            let filter = a.filter.join(" ");
            let cols = (!a.columns.is_empty()).then_some(a.columns.as_slice());
            flowtrail_query::filter_sql(a.table.table(), &filter, cols, Some(a.limit))?
        }
    };
    let batches = execute_timed(lake, &range, &sql, enrich, &a.exec)?;
    output::write(&batches, output::choose(a.output))?;
    Ok(ExitCode::SUCCESS)
}

pub fn run_top(lake: &Path, a: &TopArgs, enrich: &Enrichment) -> anyhow::Result<ExitCode> {
    let range = range(&a.range)?;
    let fields: Vec<String> = a
        .field
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    let by = match a.by {
        By::Bytes => TopBy::Bytes,
        By::Flows => TopBy::Flows,
        By::Packets => TopBy::Packets,
    };
    let sql =
        flowtrail_query::top_sql_for(a.table.table(), &fields, by, &a.filter.join(" "), a.limit)?;
    let batches = execute_timed(lake, &range, &sql, enrich, &a.exec)?;
    output::write(&batches, output::choose(a.output))?;
    Ok(ExitCode::SUCCESS)
}
