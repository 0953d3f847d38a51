//! `flowtrail gen`: synthetic logs for benchmarks and the demo.

use std::process::ExitCode;

use crate::cli::{GenArgs, GenKind};

pub fn run(a: &GenArgs) -> anyhow::Result<ExitCode> {
    let t = std::time::Instant::now();
    let stats = match a.kind {
        GenKind::AwsVpc => flowtrail_gen::gen_aws_vpc(&a.out, a.records, a.files, a.seed)?,
        GenKind::AzureNsg => flowtrail_gen::gen_azure_nsg(&a.out, a.records, a.files, a.seed)?,
    };
    eprintln!(
        "wrote {} records in {} files ({:.1} MB) to {} in {:.1}s",
        stats.records,
        stats.files,
        stats.bytes_written as f64 / 1e6,
        a.out.display(),
        t.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}
