//! `flowtrail intel add|list|remove|update|retro` and the enrichment options of queries.

use std::collections::HashSet;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use flowtrail_enrich::feeds::{parse_bytes, FeedFormat, Parsed};
use flowtrail_enrich::{AssetInventory, GeoDb, IntelStore, UserBindings};
use flowtrail_query::{intel_dir, Enrichment};

use crate::cli::{EnrichArgs, IntelArgs, IntelCommand, RetroArgs, TaxiiArgs};
use crate::output;
use crate::taxii;

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

/// A feed read from its source.
struct Loaded {
    format: FeedFormat,
    parsed: Parsed,
    /// The source to store: a canonical path, or the TAXII collection URL with the user (never
    /// the password) and the `#added_after=` cursor for the next update.
    source: String,
    /// For an incremental TAXII fetch: the ids of every indicator object fetched (new versions
    /// replace, and revocations remove, the stored indicators with that `reference`).
    increment_ids: Option<HashSet<String>>,
}

/// Reads a feed from a file or, for a `taxii+http://` source, from a TAXII 2.1 collection
/// (only the objects added after the source's `#added_after=` cursor when `incremental`).
fn load_feed(
    source: &Path,
    format: Option<&FeedFormat>,
    name: &str,
    auth: &TaxiiArgs,
    incremental: bool,
) -> anyhow::Result<Loaded> {
    let text = source.to_string_lossy();
    if !taxii::is_taxii(&text) {
        let (format, parsed) = read_feed(source, format, name)?;
        let stored = source
            .canonicalize()
            .unwrap_or_else(|_| source.to_path_buf())
            .display()
            .to_string();
        return Ok(Loaded {
            format,
            parsed,
            source: stored,
            increment_ids: None,
        });
    }
    if let Some(f) = format {
        if *f != FeedFormat::Stix {
            anyhow::bail!(
                "{text}: a TAXII 2.1 collection holds STIX objects; --format {} does not apply",
                f.name()
            );
        }
    }
    let src = taxii::Source::parse(&text)?;
    let creds = taxii::credentials(&src, auth.user.as_deref(), auth.password.as_deref());
    let after = if incremental {
        src.added_after.as_deref()
    } else {
        None
    };
    let fetched = taxii::fetch(&src, &creds, after)?;
    let shown = src.display(creds.user.as_deref());
    eprintln!(
        "flowtrail: {shown}: {} {}objects in {} page{}{}",
        fetched.objects,
        if after.is_some() { "new " } else { "" },
        fetched.pages,
        if fetched.pages == 1 { "" } else { "s" },
        fetched
            .date_added_last
            .as_deref()
            .map_or(String::new(), |d| format!(", last added {d}"))
    );
    // Keep the old cursor when nothing new came.
    let cursor = fetched.date_added_last.as_deref().or(after);
    let stored = src.stored(creds.user.as_deref(), cursor);
    let increment_ids = after.map(|_| indicator_ids(&fetched.bundle));
    let (format, parsed) = parse_bytes(fetched.bundle.as_bytes(), Some(&FeedFormat::Stix), name);
    warn_skipped(&shown, &parsed.report);
    Ok(Loaded {
        format,
        parsed,
        source: stored,
        increment_ids,
    })
}

/// The ids of the STIX indicator objects in a bundle.
fn indicator_ids(bundle: &str) -> HashSet<String> {
    let v: serde_json::Value = serde_json::from_str(bundle).unwrap_or_default();
    v.get("objects")
        .and_then(|o| o.as_array())
        .map(|objs| {
            objs.iter()
                .filter(|o| o.get("type").and_then(|t| t.as_str()) == Some("indicator"))
                .filter_map(|o| o.get("id").and_then(|i| i.as_str()).map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

pub fn run(lake: &Path, enrich: &EnrichArgs, a: &IntelArgs) -> anyhow::Result<ExitCode> {
    let dir = intel_dir(lake);
    let mut store = IntelStore::open(&dir)?;
    match &a.command {
        IntelCommand::Add {
            file,
            name,
            format,
            taxii,
        } => {
            let format = format_arg(format)?;
            let Loaded {
                format,
                parsed,
                source,
                ..
            } = load_feed(file, format.as_ref(), name, taxii, false)?;
            if parsed.indicators.is_empty() {
                anyhow::bail!(
                    "{source}: no indicators found (read as {}); pass --format?",
                    format.name()
                );
            }
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
        IntelCommand::Update {
            name,
            file,
            taxii,
            full,
        } => {
            let Some(feed) = store.feed(name) else {
                anyhow::bail!("no feed named {name:?} (see `flowtrail intel list`)");
            };
            let format = feed.meta.format.clone();
            let path = match file {
                Some(f) => f.clone(),
                None => feed.meta.source.clone().into(),
            };
            let incremental = file.is_none() && !full;
            let loaded = load_feed(&path, Some(&format), name, taxii, incremental)?;
            let parsed = match &loaded.increment_ids {
                // Keep the stored indicators the new objects do not replace or revoke.
                Some(ids) => {
                    let mut indicators: Vec<_> = feed
                        .indicators
                        .iter()
                        .filter(|i| i.reference.as_ref().is_none_or(|r| !ids.contains(r)))
                        .cloned()
                        .collect();
                    indicators.extend(loaded.parsed.indicators);
                    Parsed {
                        indicators,
                        report: loaded.parsed.report,
                    }
                }
                None => loaded.parsed,
            };
            store.set_source(name, &loaded.source);
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
