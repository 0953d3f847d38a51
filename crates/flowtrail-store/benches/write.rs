//! Store benchmark: appending normalized flow rows to a batch builder, and writing a batch as a
//! lake Parquet file (the lake's writer settings), with arrow-rs's `ArrowWriter` and with the
//! lake's own encoder (`flowtrail_store::encode`). `cargo bench -p flowtrail-store`.
//!
//! The rows look like a VPC flow log hour: a few hundred ENIs, private sources talking to a mix
//! of private and public addresses, the same input path on every row.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use flowtrail_gen::Rng;
use flowtrail_schema::{Action, Direction, FlowRecord};
use flowtrail_store::FlowBatchBuilder;

const ROWS: usize = 1_000_000;

fn records() -> Vec<(FlowRecord<'static>, String)> {
    let mut rng = Rng::new(0x9e37_79b9_7f4a_7c15, 0);
    let enis: Vec<String> = (0..300).map(|i| format!("eni-{i:017x}")).collect();
    let t0 = 1_748_797_200_000_000i64;
    (0..ROWS)
        .map(|i| {
            let src = Ipv4Addr::new(10, 0, rng.below(40) as u8, rng.below(250) as u8);
            let dst = if rng.below(3) == 0 {
                Ipv4Addr::new(10, 0, rng.below(40) as u8, rng.below(250) as u8)
            } else {
                Ipv4Addr::from(rng.next_u64() as u32)
            };
            let start = t0 + (i as i64 * 3_600_000_000 / ROWS as i64);
            let r = FlowRecord {
                time: start,
                end_time: Some(start + 60_000_000),
                origin_line: i as u64 + 2,
                src_ip: Some(IpAddr::V4(src)),
                dst_ip: Some(IpAddr::V4(dst)),
                src_port: Some(rng.below(65535) as u16),
                dst_port: Some([443u16, 80, 22, 53, 3389][rng.below(5) as usize]),
                protocol: Some(if rng.below(10) == 0 { 17 } else { 6 }),
                bytes_out: Some(rng.below(1 << 20)),
                packets_out: Some(rng.below(1000) + 1),
                action: Some(if rng.below(8) == 0 {
                    Action::Denied
                } else {
                    Action::Allowed
                }),
                flow_state: Some("OK".into()),
                account: Some("123456789012".into()),
                region: Some("us-east-1".into()),
                ..Default::default()
            };
            (r, enis[rng.below(300) as usize].clone())
        })
        .collect()
}

fn main() {
    let recs = records();
    let origin = "/data/AWSLogs/123456789012/vpcflowlogs/us-east-1/2025/06/01/\
                  123456789012_vpcflowlogs_us-east-1_fl-0123456789abcdef0_20250601T1700Z_0a1b2c3d.log.gz";
    let dir = std::env::temp_dir().join(format!("flowtrail-store-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");

    let mut best_push = f64::MAX;
    let mut best_write = f64::MAX;
    let mut bytes = 0u64;
    let mut best_encode = f64::MAX;
    let mut encode_bytes = 0u64;
    for round in 0..3 {
        let start = Instant::now();
        let mut b = FlowBatchBuilder::new();
        for (r, eni) in &recs {
            let r = FlowRecord {
                device: Some(eni.as_str().into()),
                ..r.clone()
            };
            b.push(&r, "aws_vpc", origin, Some(Direction::Outbound));
        }
        let batch = b.finish();
        best_push = best_push.min(start.elapsed().as_secs_f64());

        let path = dir.join(format!("r{round}.parquet"));
        let start = Instant::now();
        let file = std::fs::File::create(&path).expect("create");
        let mut w = parquet::arrow::ArrowWriter::try_new(
            file,
            batch.schema(),
            Some(flowtrail_store::lake::writer_properties_for(ROWS)),
        )
        .expect("writer");
        w.write(&batch).expect("write");
        w.close().expect("close");
        best_write = best_write.min(start.elapsed().as_secs_f64());
        bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);

        let path = dir.join(format!("e{round}.parquet"));
        let start = Instant::now();
        let file = std::fs::File::create(&path).expect("create");
        flowtrail_store::encode::write_batch(
            file,
            &batch,
            flowtrail_store::lake::writer_properties_for(ROWS),
        )
        .expect("lake encoder");
        best_encode = best_encode.min(start.elapsed().as_secs_f64());
        encode_bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    }
    let _ = std::fs::remove_dir_all(&dir);
    println!(
        "flow batch push (incl. record clone)   {:>12.0} rows/s",
        ROWS as f64 / best_push
    );
    println!(
        "flow parquet write                     {:>12.0} rows/s  {:.2} bytes/row",
        ROWS as f64 / best_write,
        bytes as f64 / ROWS as f64
    );
    println!(
        "flow parquet write (lake encoder)      {:>12.0} rows/s  {:.2} bytes/row",
        ROWS as f64 / best_encode,
        encode_bytes as f64 / ROWS as f64
    );
}
