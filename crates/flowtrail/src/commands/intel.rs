//! `flowtrail intel add|list|remove|update|retro` and the enrichment options of queries.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use flowtrail_enrich::feeds::{parse_bytes, FeedFormat, Parsed};
use flowtrail_enrich::{AssetInventory, GeoDb, IntelStore, UserBindings};
use flowtrail_query::{intel_dir, Enrichment};

use crate::cli::{EnrichArgs, IntelArgs, IntelCommand, RetroArgs};
use crate::output;

/// Loads the GeoIP databases, inventory and bindings named on the command line; the intel store
/// is loaded by the query session itself.
pub fn enrichment(a: &EnrichArgs) -> anyhow::Result<Enrichment> {
    let mut e = Enrichment::default();
    if !a.geoip.is_empty() {
        let geo = GeoDb::open(&a.geoip).context("--geoip")?;
        e.geo = Some(Arc::new(geo));
    }
    if let Some(p) = &a.assets {
        let text = std::fs::read_to_string(p).with_context(|| format!("{}", p.display()))?;
        let (inv, report) = AssetInventory::from_csv(&text);
        warn_skipped(&p.display().to_string(), &report);
        e.assets = Some(Arc::new(inv));
    }
    if let Some(p) = &a.user_bindings {
        let text = std::fs::read_to_string(p).with_context(|| format!("{}", p.display()))?;
        let (b, report) = UserBindings::from_csv(&text);
        warn_skipped(&p.display().to_string(), &report);
        e.users = Some(Arc::new(b));
    }
    Ok(e)
}

fn warn_skipped(what: &str, report: &flowtrail_enrich::ParseReport) {
    for s in report.skipped.iter().take(10) {
        eprintln!("flowtrail: {what}: skipped {}: {}", s.location, s.reason);
    }
    if report.skipped_total > 10 {
        eprintln!(
            "flowtrail: {what}: {} more entries skipped",
            report.skipped_total - 10
        );
    }
}

fn format_arg(s: &str) -> anyhow::Result<Option<FeedFormat>> {
    let s = s.trim().to_ascii_lowercase();
    if s == "auto" {
        return Ok(None);
    }
    let name = s.strip_prefix("csv-").unwrap_or(&s);
    FeedFormat::from_name(name).map(Some).ok_or_else(|| {
        anyhow::anyhow!(
            "unknown feed format {s:?} (auto, list, csv-urlhaus, csv-feodo, csv-threatfox, stix, misp)"
        )
    })
}

fn read_feed(
    path: &Path,
    format: Option<&FeedFormat>,
    name: &str,
) -> anyhow::Result<(FeedFormat, Parsed)> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let (format, parsed) = parse_bytes(&bytes, format, name);
    warn_skipped(&path.display().to_string(), &parsed.report);
    Ok((format, parsed))
}

pub fn run(lake: &Path, enrich: &EnrichArgs, a: &IntelArgs) -> anyhow::Result<ExitCode> {
    let dir = intel_dir(lake);
    let mut store = IntelStore::open(&dir)?;
    match &a.command {
        IntelCommand::Add { file, name, format } => {
            let format = format_arg(format)?;
            let (format, parsed) = read_feed(file, format.as_ref(), name)?;
            if parsed.indicators.is_empty() {
                anyhow::bail!(
                    "{}: no indicators found (read as {}); pass --format?",
                    file.display(),
                    format.name()
                );
            }
            let source = file
                .canonicalize()
                .unwrap_or_else(|_| file.clone())
                .display()
                .to_string();
            let meta = store.add_feed(name, &source, format, parsed)?;
            println!(
                "added {} ({}): {} indicators, {} skipped",
                meta.name,
                meta.format.name(),
                meta.indicator_count,
                meta.skipped_count
            );
            store.save()?;
        }
        IntelCommand::List => {
            println!(
                "{:<24} {:<10} {:>10} {:>8}  {:<27} source",
                "name", "format", "indicators", "skipped", "updated"
            );
            for f in store.list() {
                println!(
                    "{:<24} {:<10} {:>10} {:>8}  {:<27} {}",
                    f.name,
                    f.format.name(),
                    f.indicator_count,
                    f.skipped_count,
                    flowtrail_schema::time::format_rfc3339(f.updated_at),
                    f.source
                );
            }
        }
        IntelCommand::Remove { name } => {
            if !store.remove_feed(name) {
                anyhow::bail!("no feed named {name:?} (see `flowtrail intel list`)");
            }
            store.save()?;
            println!("removed {name}");
        }
        IntelCommand::Update { name, file } => {
            let Some(feed) = store.feed(name) else {
                anyhow::bail!("no feed named {name:?} (see `flowtrail intel list`)");
            };
            let format = feed.meta.format.clone();
            let path = match file {
                Some(f) => f.clone(),
                None => feed.meta.source.clone().into(),
            };
            let (_, parsed) = read_feed(&path, Some(&format), name)?;
            if let Some(f) = file {
                let source = f.canonicalize().unwrap_or_else(|_| f.clone());
                store.set_source(name, &source.display().to_string());
            }
            let meta = store.update_feed(name, parsed)?;
            println!(
                "updated {}: {} indicators, {} skipped",
                meta.name, meta.indicator_count, meta.skipped_count
            );
            store.save()?;
        }
        IntelCommand::Retro(r) => return retro(lake, enrich, &store, r),
    }
    Ok(ExitCode::SUCCESS)
}

/// The fields retro-hunting checks, per table.
const RETRO_FIELDS: &[(&str, &[&str])] = &[
    ("flows", &["src_ip", "dst_ip"]),
    (
        "http",
        &["client_ip", "server_ip", "host", "url", "user_agent"],
    ),
];

/// The SQL of `flowtrail intel retro`: one SELECT per checked field, unioned, ordered by time.
pub fn retro_sql(limit: usize) -> String {
    let parts: Vec<String> = RETRO_FIELDS
        .iter()
        .flat_map(|(table, fields)| {
            fields.iter().map(move |f| {
                format!(
                    "SELECT time, '{table}' AS source_table, '{f}' AS field, {f} AS value, \
                     ti_match({f}) AS feed, origin, origin_line FROM {table} \
                     WHERE {f} IS NOT NULL AND ti_match({f}) IS NOT NULL"
                )
            })
        })
        .collect();
    format!(
        "SELECT * FROM ({}) ORDER BY time, origin, origin_line, field LIMIT {limit}",
        parts.join(" UNION ALL ")
    )
}

fn retro(
    lake: &Path,
    enrich: &EnrichArgs,
    store: &IntelStore,
    r: &RetroArgs,
) -> anyhow::Result<ExitCode> {
    if store.indicator_count() == 0 {
        anyhow::bail!("the intel store has no indicators (add a feed with `flowtrail intel add`)");
    }
    let range = super::query::range(&r.range)?;
    let mut e = enrichment(enrich)?;
    e.ti = Some(Arc::new(store.index()));
    let batches = super::query::execute(lake, &range, &retro_sql(r.limit), &e)?;
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    output::write(&batches, output::choose(r.output))?;
    eprintln!(
        "flowtrail: {rows} past record field{} matched {} indicators",
        if rows == 1 { "" } else { "s" },
        store.indicator_count()
    );
    Ok(ExitCode::SUCCESS)
}
