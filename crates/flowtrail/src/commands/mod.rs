//! One module per command; `run` dispatches.

mod compact;
mod demo;
mod gen;
mod ingest;
mod intel;
mod query;

use std::process::ExitCode;

use crate::cli::{Cli, Command};

/// Runs the parsed command line and returns the process exit code.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Demo(a) => demo::run(&a),
        Command::Ingest(a) => ingest::run(&cli.lake, &a, &intel::enrichment(&cli.enrich)?),
        Command::Query(a) => query::run_query(&cli.lake, &a, &intel::enrichment(&cli.enrich)?),
        Command::Top(a) => query::run_top(&cli.lake, &a, &intel::enrichment(&cli.enrich)?),
        Command::Intel(a) => intel::run(&cli.lake, &cli.enrich, &a),
        Command::Gen(a) => gen::run(&a),
        Command::Compact(a) => compact::run(&cli.lake, &a),
        Command::Formats => {
            println!(
                "{:<14} {:<6} {:<10} description",
                "name", "table", "framing"
            );
            for f in flowtrail_formats::FORMATS {
                let table = match f.record_kind() {
                    flowtrail_formats::RecordKind::Flow => "flows",
                    flowtrail_formats::RecordKind::Http => "http",
                };
                let framing = match f.framing() {
                    flowtrail_formats::Framing::Lines => "lines",
                    flowtrail_formats::Framing::Document => "document",
                };
                println!(
                    "{:<14} {:<6} {:<10} {}",
                    f.name(),
                    table,
                    framing,
                    f.description()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Schema { markdown } => {
            if markdown {
                print!("{}", flowtrail_schema::schema_markdown());
            } else {
                for (t, cols) in [
                    ("flows", flowtrail_schema::FLOW_COLUMNS),
                    ("http", flowtrail_schema::HTTP_COLUMNS),
                ] {
                    println!("{t}:");
                    for c in cols {
                        println!("  {:<14} {:<20} {}", c.name, c.ty.sql_name(), c.doc);
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
