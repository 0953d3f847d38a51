//! Measures the physical type of IP columns: text (dictionary + bloom filter, the lake's choice)
//! against a sortable 16-byte binary, on the same rows, for size, equality lookups and CIDR
//! filters through DataFusion. `cargo bench -p flowtrail-query --bench ip_columns`.

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Instant;

use datafusion::arrow::array::{FixedSizeBinaryArray, Int64Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::prelude::{ParquetReadOptions, SessionConfig, SessionContext};

const ROWS: usize = 4_000_000;

fn rng(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// Zipf-like pick among `n` hosts: a few talk a lot.
fn host(state: &mut u64, n: u64) -> u64 {
    let u = (rng(state) % 1_000_000) as f64 / 1_000_000.0;
    ((n as f64).powf(u) as u64).min(n - 1)
}

fn mapped(ip: Ipv4Addr) -> [u8; 16] {
    ip.to_ipv6_mapped().octets()
}

fn main() {
    let dir = std::env::temp_dir().join(format!("ft-ipbench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("mkdir");
    let mut s = 0x1234_5678_9abc_def0u64;
    let mut text = Vec::with_capacity(ROWS);
    let mut bin = Vec::with_capacity(ROWS);
    let mut bytes = Vec::with_capacity(ROWS);
    for i in 0..ROWS {
        let ip = if i % 2 == 0 {
            Ipv4Addr::from(0x0A00_0000 + host(&mut s, 50_000) as u32)
        } else {
            Ipv4Addr::from(
                0x2D00_0000
                    + (host(&mut s, 5_000_000) as u32).wrapping_mul(2_654_435_761) % 0x6000_0000,
            )
        };
        text.push(ip.to_string());
        bin.push(mapped(ip));
        bytes.push((rng(&mut s) % 100_000) as i64);
    }
    let schema = Arc::new(Schema::new(vec![
        Field::new("ip", DataType::Utf8, false),
        Field::new("ip_bin", DataType::FixedSizeBinary(16), false),
        Field::new("bytes", DataType::Int64, false),
    ]));
    let batch = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(StringArray::from(text.clone())),
            Arc::new(FixedSizeBinaryArray::try_from_iter(bin.iter()).expect("fsb")),
            Arc::new(Int64Array::from(bytes)),
        ],
    )
    .expect("batch");
    let path = dir.join("ips.parquet");
    let props = flowtrail_store::lake::writer_properties();
    let mut w = parquet::arrow::ArrowWriter::try_new(
        std::fs::File::create(&path).expect("create"),
        batch.schema(),
        Some(props),
    )
    .expect("writer");
    for off in (0..ROWS).step_by(1 << 20) {
        w.write(&batch.slice(off, (1 << 20).min(ROWS - off)))
            .expect("write");
    }
    let meta = w.close().expect("close");
    let mut size = [0i64; 2];
    for rg in meta.row_groups() {
        for (i, c) in rg.columns().iter().take(2).enumerate() {
            size[i] += c.compressed_size();
        }
    }
    println!("rows: {ROWS}");
    println!(
        "bytes per row, text IP (dictionary + zstd):   {:.2}",
        size[0] as f64 / ROWS as f64
    );
    println!(
        "bytes per row, 16-byte binary IP (zstd):     {:.2}",
        size[1] as f64 / ROWS as f64
    );

    let rt = tokio::runtime::Runtime::new().expect("rt");
    rt.block_on(async {
        let ctx = SessionContext::new_with_config(
            SessionConfig::new().set_bool("datafusion.execution.parquet.pushdown_filters", true),
        );
        flowtrail_query::udf::register_all(&ctx);
        ctx.register_parquet("t", path.to_str().expect("utf8"), ParquetReadOptions::default())
            .await
            .expect("register");
        let needle = text[ROWS / 2 + 1].clone();
        let needle_hex: String = mapped(needle.parse().expect("ip")).iter().map(|b| format!("{b:02x}")).collect();
        let cases = [
            ("equality, text", format!("SELECT count(*), sum(bytes) FROM t WHERE ip = '{needle}'")),
            ("equality, binary", format!("SELECT count(*), sum(bytes) FROM t WHERE ip_bin = X'{needle_hex}'")),
            ("CIDR /8, text + in_cidr()", "SELECT count(*) FROM t WHERE in_cidr(ip, '10.0.0.0/8')".to_string()),
            (
                "CIDR /8, binary range",
                "SELECT count(*) FROM t WHERE ip_bin BETWEEN X'00000000000000000000ffff0a000000' AND X'00000000000000000000ffff0affffff'".to_string(),
            ),
            ("top 10 by bytes, text", "SELECT ip, sum(bytes) b FROM t GROUP BY ip ORDER BY b DESC LIMIT 10".to_string()),
            ("top 10 by bytes, binary", "SELECT ip_bin, sum(bytes) b FROM t GROUP BY ip_bin ORDER BY b DESC LIMIT 10".to_string()),
        ];
        for (name, sql) in cases {
            let mut best = f64::MAX;
            let mut answer = String::new();
            for _ in 0..5 {
                let t = Instant::now();
                let r = ctx.sql(&sql).await.expect("sql").collect().await.expect("run");
                best = best.min(t.elapsed().as_secs_f64());
                answer = format!("{:?}", r.first().map(|b| b.column(0).len()));
            }
            println!("{name:<30} best of 5: {:>8.1} ms  ({answer} rows)", best * 1e3);
        }
    });
    let _ = std::fs::remove_dir_all(&dir);
}
