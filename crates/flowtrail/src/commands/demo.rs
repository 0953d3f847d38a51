//! `flowtrail demo`: generate realistic logs, ingest them, answer an analyst's first questions.

use std::path::Path;
use std::process::ExitCode;

use crate::cli::{DemoArgs, IngestArgs, OutputFormat, SummaryFormat};
use crate::commands::ingest;
use crate::output;

fn show(lake: &Path, title: &str, sql: &str) -> anyhow::Result<()> {
    println!("\n== {title}\n   {sql}");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let batches = rt.block_on(async {
        let ctx = flowtrail_query::open_session(lake, &Default::default()).await?;
        ctx.sql(sql).await?.collect().await
    })?;
    output::write(&batches, OutputFormat::Table)
}

pub fn run(a: &DemoArgs) -> anyhow::Result<ExitCode> {
    let logs = a.dir.join("logs");
    let lake = a.dir.join("lake");
    if !logs.join("vpc").exists() {
        println!(
            "generating {} AWS VPC flow records and Azure NSG tuples in {}",
            a.records,
            logs.display()
        );
        flowtrail_gen::gen_aws_vpc(&logs.join("vpc"), a.records, 8, 7)?;
        flowtrail_gen::gen_azure_nsg(&logs.join("nsg"), a.records / 4, 4, 7)?;
    }
    println!(
        "ingesting into {} (a second run adds nothing: the manifest knows every input)",
        lake.display()
    );
    let args = IngestArgs {
        sources: vec![logs.display().to_string()],
        format: None,
        aws_fields: None,
        threads: None,
        flush_rows: 1_000_000,
        internal: vec![],
        max_document_mib: 1024,
        utc_offset: None,
        log_format: None,
        summary: SummaryFormat::Table,
        force: false,
    };
    let report = ingest::ingest(&lake, &args)?;
    ingest::print_summary(&report, SummaryFormat::Table)?;
    show(&lake, "Flows per source format", "SELECT source_format, count(*) AS flows, sum(coalesce(bytes_out,0)+coalesce(bytes_in,0)) AS bytes FROM flows GROUP BY 1 ORDER BY 1")?;
    show(
        &lake,
        "Who talked to 203.0.113.77? (flowtrail query 203.0.113.77)",
        &flowtrail_query::top_sql(
            &["src_ip".into(), "dst_ip".into(), "dst_port".into()],
            flowtrail_query::TopBy::Bytes,
            "203.0.113.77",
            5,
        )?,
    )?;
    show(
        &lake,
        "Top talkers out of the network (flowtrail top src_ip outbound)",
        &flowtrail_query::top_sql(
            &["src_ip".into()],
            flowtrail_query::TopBy::Bytes,
            "outbound",
            5,
        )?,
    )?;
    show(&lake, "Denied SSH/RDP attempts by source (flowtrail top src_ip --by flows 'denied and (dport 22 or dport 3389)')", &flowtrail_query::top_sql(&["src_ip".into()], flowtrail_query::TopBy::Flows, "denied and (dport 22 or dport 3389)", 5)?)?;
    println!(
        "\nTry: flowtrail --lake {} query 'dport 3389 and denied' --limit 5",
        lake.display()
    );
    Ok(ExitCode::SUCCESS)
}
