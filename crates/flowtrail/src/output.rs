//! Rendering query results: a table on a terminal, CSV/JSON/NDJSON for scripts.

use std::io::{IsTerminal, Write};

use anyhow::Context;
use arrow::array::RecordBatch;

use crate::cli::OutputFormat;

/// Picks the output format: the one asked for, else a table on a terminal and CSV otherwise.
pub fn choose(asked: Option<OutputFormat>) -> OutputFormat {
    asked.unwrap_or_else(|| {
        if std::io::stdout().is_terminal() {
            OutputFormat::Table
        } else {
            OutputFormat::Csv
        }
    })
}

/// Writes `batches` to stdout in `fmt`.
pub fn write(batches: &[RecordBatch], fmt: OutputFormat) -> anyhow::Result<()> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match fmt {
        OutputFormat::Table => {
            let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
            if rows == 0 {
                writeln!(out, "(no rows)")?;
            } else {
                let t = arrow::util::pretty::pretty_format_batches(batches)
                    .context("formatting table")?;
                writeln!(out, "{t}")?;
                writeln!(out, "({rows} row{})", if rows == 1 { "" } else { "s" })?;
            }
        }
        OutputFormat::Csv => {
            let mut w = arrow::csv::WriterBuilder::new()
                .with_header(true)
                .build(&mut out);
            if batches.is_empty() {
                return Ok(());
            }
            for b in batches {
                w.write(b)?;
            }
        }
        OutputFormat::Json => {
            let mut w = arrow::json::ArrayWriter::new(&mut out);
            for b in batches {
                w.write(b)?;
            }
            w.finish()?;
            if batches.iter().all(|b| b.num_rows() == 0) {
                write!(out, "[]")?;
            }
            writeln!(out)?;
        }
        OutputFormat::Ndjson => {
            let mut w = arrow::json::LineDelimitedWriter::new(&mut out);
            for b in batches {
                w.write(b)?;
            }
            w.finish()?;
        }
    }
    out.flush()?;
    Ok(())
}
