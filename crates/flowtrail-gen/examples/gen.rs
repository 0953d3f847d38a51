//! Generates a data set without the `flowtrail` CLI:
//! `cargo run --release -p flowtrail-gen --example gen -- aws-vpc|azure-nsg OUT RECORDS FILES [SEED]`.

use std::path::Path;
use std::time::Instant;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [kind, out, records, files, rest @ ..] = args.as_slice() else {
        anyhow::bail!("usage: gen aws-vpc|azure-nsg OUT RECORDS FILES [SEED]");
    };
    let records: u64 = records.parse()?;
    let files: u32 = files.parse()?;
    let seed: u64 = rest.first().map(|s| s.parse()).transpose()?.unwrap_or(1);
    let t = Instant::now();
    let stats = match kind.as_str() {
        "aws-vpc" => flowtrail_gen::gen_aws_vpc(Path::new(out), records, files, seed)?,
        "azure-nsg" => flowtrail_gen::gen_azure_nsg(Path::new(out), records, files, seed)?,
        other => anyhow::bail!("unknown kind {other:?}"),
    };
    let secs = t.elapsed().as_secs_f64();
    eprintln!(
        "{kind}: {} files, {} records, {} bytes in {secs:.2} s ({:.0} records/s)",
        stats.files,
        stats.records,
        stats.bytes_written,
        stats.records as f64 / secs
    );
    Ok(())
}
