//! `flowtrail ingest`: sources → lake, with an accounting summary and exit code.

use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use flowtrail_query::udf::Net;
use flowtrail_store::{InputEntry, Lake};

use crate::cli::{IngestArgs, SummaryFormat};
use crate::input;
use crate::pipeline::{self, Options, Report};

/// Exit code when some records were rejected but every input was read.
pub const EXIT_REJECTED: u8 = 3;

pub fn run(
    lake_dir: &Path,
    a: &IngestArgs,
    enrich: &flowtrail_query::Enrichment,
) -> anyhow::Result<ExitCode> {
    let report = ingest_with(lake_dir, a, enrich)?;
    print_summary(&report, a.summary)?;
    if report.files_written > 0 && a.summary == SummaryFormat::Table {
        let crowded = crowded_partitions(lake_dir, SMALL_FILES_HINT);
        if crowded > 0 {
            eprintln!(
                "hint: {crowded} hour partition(s) hold more than {SMALL_FILES_HINT} files; \
                 `flowtrail compact` rewrites them as fewer, larger files (faster queries)"
            );
        }
    }
    Ok(exit_code(&report))
}

/// Files per hour partition above which ingest suggests `flowtrail compact`.
const SMALL_FILES_HINT: usize = 16;

/// Counts the hour partitions (of both tables) holding more than `limit` Parquet files.
fn crowded_partitions(lake: &Path, limit: usize) -> usize {
    let mut n = 0;
    for table in ["flows", "http"] {
        let Ok(dates) = std::fs::read_dir(lake.join(table)) else {
            continue;
        };
        for d in dates.flatten() {
            let Ok(hours) = std::fs::read_dir(d.path()) else {
                continue;
            };
            for h in hours.flatten() {
                let files = std::fs::read_dir(h.path())
                    .map(|rd| {
                        rd.flatten()
                            .filter(|e| e.path().extension().is_some_and(|x| x == "parquet"))
                            .count()
                    })
                    .unwrap_or(0);
                if files > limit {
                    n += 1;
                }
            }
        }
    }
    n
}

/// Runs an ingest and returns its report (shared with `demo`).
pub fn ingest(lake_dir: &Path, a: &IngestArgs) -> anyhow::Result<Report> {
    ingest_with(lake_dir, a, &flowtrail_query::Enrichment::default())
}

/// Runs an ingest with enrichment (GeoIP from `enrich`; intel from `enrich.ti`, else the lake's
/// intel store).
pub fn ingest_with(
    lake_dir: &Path,
    a: &IngestArgs,
    enrich: &flowtrail_query::Enrichment,
) -> anyhow::Result<Report> {
    let format = a
        .format
        .as_deref()
        .map(pipeline::format_by_name)
        .transpose()?;
    let internal = if a.internal.is_empty() {
        Options::default_internal()
    } else {
        a.internal
            .iter()
            .map(|s| {
                Net::parse(s)
                    .ok_or_else(|| anyhow::anyhow!("--internal: `{s}` is not a CIDR network"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?
    };
    let threads = a.threads.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
    });
    let opts = Options {
        format,
        aws_fields: a.aws_fields.clone(),
        threads,
        flush_rows: a.flush_rows.max(1) as usize,
        internal,
        max_document_bytes: a.max_document_mib.saturating_mul(1 << 20),
        utc_offset_secs: a.utc_offset.as_deref().map(parse_offset).transpose()?,
        log_format: a.log_format.clone(),
        geo: enrich.geo.clone(),
        ti: match &enrich.ti {
            Some(ti) => Some(ti.clone()),
            None => flowtrail_query::load_intel(lake_dir).context("loading the intel store")?,
        },
    };
    let lake = open_for_writing(lake_dir, "ingest")?;
    let specs = input::expand(&a.sources);
    let total: u64 = specs.iter().map(|s| s.size()).sum();
    let bar = (std::io::stderr().is_terminal() && total > 0).then(|| {
        let b = indicatif::ProgressBar::new(total);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} ingest [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    });
    let start = std::time::Instant::now();
    let mut report = pipeline::run(&lake, specs, &opts, a.force, bar.as_ref());
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    report.elapsed = start.elapsed().as_secs_f64();
    Ok(report)
}

/// Opens the lake to write (ingest or compact): takes its lock, reports what recovery finished
/// for an interrupted `what`, and arms the test-only crash injection of the recovery tests
/// (`FLOWTRAIL_FAILPOINT=after-journal:N|before-journal:N`).
pub(crate) fn open_for_writing(lake_dir: &Path, what: &str) -> anyhow::Result<Lake> {
    let mut lake =
        Lake::open(lake_dir).with_context(|| format!("opening lake {}", lake_dir.display()))?;
    if let Ok(fp) = std::env::var("FLOWTRAIL_FAILPOINT") {
        lake.set_failpoint(flowtrail_store::Failpoint::parse(&fp));
    }
    if lake.recovered != (0, 0) {
        eprintln!(
            "flowtrail: recovered an interrupted {what}: {} journalled change(s) finished, {} uncommitted file(s) removed",
            lake.recovered.0, lake.recovered.1
        );
    }
    Ok(lake)
}

/// Parses `+09:30`, `-0800`, `+2`, `UTC` or `Z` into seconds east of UTC.
fn parse_offset(s: &str) -> anyhow::Result<i32> {
    let bad = || anyhow::anyhow!("--utc-offset: `{s}` is not an offset like +09:30, -0800 or UTC");
    let t = s.trim();
    if t.eq_ignore_ascii_case("utc") || t == "Z" {
        return Ok(0);
    }
    let (sign, rest) = match t.as_bytes().first() {
        Some(b'+') => (1, &t[1..]),
        Some(b'-') => (-1, &t[1..]),
        _ => return Err(bad()),
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    let (h, m) = match digits.len() {
        1 | 2 => (digits.parse::<i32>().map_err(|_| bad())?, 0),
        4 => (
            digits[..2].parse::<i32>().map_err(|_| bad())?,
            digits[2..].parse::<i32>().map_err(|_| bad())?,
        ),
        _ => return Err(bad()),
    };
    if h > 14 || m > 59 {
        return Err(bad());
    }
    Ok(sign * (h * 3600 + m * 60))
}

pub fn exit_code(r: &Report) -> ExitCode {
    if r.fatal.is_some() || r.inputs.iter().any(|i| i.error.is_some()) {
        ExitCode::from(1)
    } else if r.inputs.iter().any(|i| i.rejected > 0) {
        ExitCode::from(EXIT_REJECTED)
    } else {
        ExitCode::SUCCESS
    }
}

fn skipped_text(e: &InputEntry) -> String {
    if e.skipped.is_empty() {
        return "0".into();
    }
    let parts: Vec<String> = e.skipped.iter().map(|(k, v)| format!("{v} {k}")).collect();
    format!("{} ({})", e.skipped_total(), parts.join("; "))
}

/// Prints errors (one line each, naming the input), the per-input table and the totals.
pub fn print_summary(r: &Report, fmt: SummaryFormat) -> anyhow::Result<()> {
    for i in &r.inputs {
        if let Some(e) = &i.error {
            eprintln!("flowtrail: error: {}: {e}", i.origin);
        }
    }
    if let Some(f) = &r.fatal {
        eprintln!("flowtrail: error: ingest stopped: {f}");
    }
    let mut total = InputEntry::default();
    for i in &r.inputs {
        total.add(i);
    }
    let failed = r.inputs.iter().filter(|i| i.error.is_some()).count();
    if fmt == SummaryFormat::Json {
        let v = serde_json::json!({
            "inputs": r.inputs,
            "already_ingested": r.already,
            "total": {"read": total.read, "stored": total.stored, "skipped": total.skipped, "rejected": total.rejected},
            "failed_inputs": failed,
            "files_written": r.files_written,
            "bytes_written": r.bytes_written,
            "seconds": r.elapsed,
            "deadletter": r.deadletter,
            "fatal": r.fatal,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    // Per input: all of them when few, otherwise only those with something to say.
    let show_all = r.inputs.len() <= 20;
    let rows: Vec<&InputEntry> = r
        .inputs
        .iter()
        .filter(|i| show_all || i.error.is_some() || i.rejected > 0)
        .collect();
    if !rows.is_empty() {
        eprintln!(
            "{:<12} {:>10} {:>10} {:>10} {:>9}  input",
            "format", "read", "stored", "skipped", "rejected"
        );
        for i in rows {
            eprintln!(
                "{:<12} {:>10} {:>10} {:>10} {:>9}  {}{}",
                if i.format.is_empty() { "-" } else { &i.format },
                i.read,
                i.stored,
                i.skipped_total(),
                i.rejected,
                i.origin,
                if i.error.is_some() { "  (FAILED)" } else { "" }
            );
        }
    }
    let rate = if r.elapsed > 0.0 {
        total.read as f64 / r.elapsed
    } else {
        0.0
    };
    eprintln!(
        "ingested {} input(s) in {:.2}s ({:.0} records/s): read {} = stored {} + skipped {} + rejected {}",
        r.inputs.len(),
        r.elapsed,
        rate,
        total.read,
        total.stored,
        skipped_text(&total),
        total.rejected
    );
    eprintln!(
        "wrote {} Parquet file(s), {:.1} MB{}",
        r.files_written,
        r.bytes_written as f64 / 1e6,
        if r.already.is_empty() {
            String::new()
        } else {
            format!(
                "; {} input(s) already in the lake were skipped",
                r.already.len()
            )
        }
    );
    if failed > 0 {
        eprintln!("{failed} input(s) failed (see errors above)");
    }
    if let Some(d) = &r.deadletter {
        eprintln!("rejected records are in {}", d.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crowded_partitions_are_counted() {
        let lake = std::env::temp_dir().join(format!("ft-crowded-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&lake);
        for (dir, files) in [
            ("flows/date=2024-01-01/hour=00", 17),
            ("flows/date=2024-01-01/hour=01", 16),
            ("http/date=2024-01-02/hour=05", 20),
        ] {
            let d = lake.join(dir);
            std::fs::create_dir_all(&d).expect("mkdir");
            for i in 0..files {
                std::fs::write(d.join(format!("f{i}.parquet")), b"").expect("write");
            }
            std::fs::write(d.join("notes.txt"), b"").expect("write");
        }
        assert_eq!(crowded_partitions(&lake, 16), 2);
        assert_eq!(crowded_partitions(&lake, 20), 0);
        let _ = std::fs::remove_dir_all(&lake);
    }
}
