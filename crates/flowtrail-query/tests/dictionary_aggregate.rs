//! The dictionary-key aggregation (`dict_agg`) gives exactly DataFusion's answers.
//!
//! A lake is written three ways: by the lake's own encoder (one row group per file, as ingest
//! writes it), by arrow-rs's `ArrowWriter` with small row groups (so that DataFusion splits files
//! into byte ranges), and an older file without some columns. Every query runs with the rule on
//! and off, with one, two and four partitions, and the rows must be identical; the plans must
//! show the rule where it applies and not where it does not.

use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::file::properties::WriterProperties;
use flowtrail_gen::Rng;
use flowtrail_query::{open_session_configured, EngineOptions, Enrichment, TimeRange};
use flowtrail_schema::{Action, Direction, FlowRecord};
use flowtrail_store::batch::FlowBatchBuilder;

/// Base time: 2025-06-01T00:00:00Z in µs.
const T0: i64 = 1_748_736_000_000_000;
const HOUR: i64 = 3_600_000_000;

/// True with probability `percent` %.
fn chance(rng: &mut Rng, percent: u64) -> bool {
    rng.below(100) < percent
}

const DEVICES: &[&str] = &[
    "fw-edge-01",
    "a-rather-long-firewall-name-in-frankfurt",
    "core-router-with-a-long-name-2",
    "x",
];

fn address(rng: &mut Rng, pool: u64) -> IpAddr {
    let n = rng.below(pool);
    if n.is_multiple_of(17) {
        IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, n as u16))
    } else if n.is_multiple_of(3) {
        IpAddr::V4(Ipv4Addr::new(10, (n >> 8) as u8, n as u8, 7))
    } else {
        IpAddr::V4(Ipv4Addr::new(203, 0, (n >> 8) as u8, n as u8))
    }
}

/// One batch of `rows` random flows in hour `hour`, with NULLs in most columns.
fn flows(rng: &mut Rng, hour: i64, rows: usize) -> RecordBatch {
    let mut b = FlowBatchBuilder::with_capacity(rows);
    for i in 0..rows {
        let user = format!("user{}", rng.below(7));
        let r = FlowRecord {
            time: T0 + hour * HOUR + (i as i64) * 1_000_000 % HOUR,
            origin_line: i as u64 + 1,
            src_ip: (!chance(rng, 3)).then(|| address(rng, 600)),
            src_port: (!chance(rng, 5)).then(|| rng.below(65536) as u16),
            dst_ip: (!chance(rng, 2)).then(|| address(rng, 300)),
            dst_port: Some([22, 80, 443, 3389][rng.below(4) as usize]),
            protocol: Some(6),
            bytes_out: (!chance(rng, 4)).then(|| rng.below(1 << 20)),
            bytes_in: (!chance(rng, 30)).then(|| rng.below(1 << 16)),
            packets_out: Some(rng.below(100)),
            packets_in: (!chance(rng, 50)).then(|| rng.below(100)),
            action: Some(if chance(rng, 20) {
                Action::Denied
            } else {
                Action::Allowed
            }),
            device: (!chance(rng, 10)).then(|| Cow::Borrowed(DEVICES[rng.below(4) as usize])),
            user: chance(rng, 20).then_some(Cow::Owned(user)),
            ..FlowRecord::default()
        };
        b.push(&r, "aws_vpc", "s3://bucket/key", Some(Direction::Outbound));
    }
    b.finish()
}

fn file(lake: &Path, hour: i64, name: &str) -> PathBuf {
    let dir = lake.join(format!("flows/date=2025-06-01/hour={hour:02}"));
    std::fs::create_dir_all(&dir).expect("create partition folder");
    dir.join(name)
}

/// Writes the test lake: encoder files, multi-row-group ArrowWriter files and an old file.
fn write_lake(lake: &Path) {
    std::fs::create_dir_all(lake.join("http")).expect("create http folder");
    let mut rng = Rng::new(0x5eed_1234_abcd_ef01, 0);
    for hour in 0..3 {
        for part in 0..2 {
            let batch = flows(&mut rng, hour, 3000 + 500 * part as usize);
            let props = flowtrail_store::lake::writer_properties_for(batch.num_rows());
            let f = std::fs::File::create(file(lake, hour, &format!("enc-{part}.parquet")))
                .expect("create file");
            flowtrail_store::encode::write_batch(f, &batch, props).expect("encode");
        }
    }
    for hour in 3..5 {
        let batch = flows(&mut rng, hour, 5000);
        let props = WriterProperties::builder()
            .set_max_row_group_row_count(Some(700))
            .build();
        let f = std::fs::File::create(file(lake, hour, "arrow.parquet")).expect("create file");
        let mut w = ArrowWriter::try_new(f, batch.schema(), Some(props)).expect("writer");
        w.write(&batch).expect("write");
        w.close().expect("close");
    }
    // An older file: no `user`, `bytes_in` or `device` columns.
    let batch = flows(&mut rng, 5, 2000);
    let keep: Vec<usize> = batch
        .schema()
        .fields()
        .iter()
        .enumerate()
        .filter(|(_, f)| !["user", "bytes_in", "device"].contains(&f.name().as_str()))
        .map(|(i, _)| i)
        .collect();
    let batch = batch.project(&keep).expect("project");
    let f = std::fs::File::create(file(lake, 5, "old.parquet")).expect("create file");
    let mut w = ArrowWriter::try_new(f, batch.schema(), None).expect("writer");
    w.write(&batch).expect("write");
    w.close().expect("close");
}

struct Lake(PathBuf);

impl Drop for Lake {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn lake() -> Lake {
    let dir = std::env::temp_dir().join(format!("flowtrail-dictagg-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    write_lake(&dir);
    Lake(dir)
}

/// Runs `sql` and returns its rows as text (sorted, so that the order of ties does not matter),
/// their number and the physical plan.
async fn run(
    lake: &Path,
    range: &TimeRange,
    sql: &str,
    on: bool,
    partitions: usize,
) -> (String, usize, String) {
    let engine = EngineOptions {
        dictionary_aggregate: on,
        settings: vec![
            (
                "datafusion.execution.target_partitions".into(),
                partitions.to_string(),
            ),
            // Split files into byte ranges even when small.
            (
                "datafusion.optimizer.repartition_file_min_size".into(),
                "1024".into(),
            ),
        ],
    };
    let ctx = open_session_configured(lake, range, &Enrichment::default(), &engine)
        .await
        .expect("session");
    let df = ctx.sql(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    let plan = df.clone().create_physical_plan().await.expect("plan");
    let plan = datafusion::physical_plan::displayable(plan.as_ref())
        .indent(true)
        .to_string();
    let batches = df.collect().await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    let count = batches.iter().map(RecordBatch::num_rows).sum();
    let text = pretty_format_batches(&batches).expect("format").to_string();
    let mut lines: Vec<&str> = text.lines().collect();
    lines.sort_unstable();
    (lines.join("\n"), count, plan)
}

/// Checks that `sql` gives the same rows with and without the rule, and whether the rule
/// applied (`expect_rule`) with several partitions.
async fn same(lake: &Path, range: &TimeRange, sql: &str, expect_rule: bool) -> usize {
    let (reference, count, _) = run(lake, range, sql, false, 2).await;
    for partitions in [1, 2, 4] {
        let (rows, _, plan) = run(lake, range, sql, true, partitions).await;
        assert_eq!(
            rows, reference,
            "{sql} with {partitions} partitions differs from DataFusion's answer\nplan:\n{plan}"
        );
        if partitions > 1 {
            assert_eq!(
                plan.contains("DictionaryAggregateExec"),
                expect_rule,
                "{sql}: rule applied = {}, expected {expect_rule}\n{plan}",
                !expect_rule
            );
        }
    }
    count
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dictionary_aggregation_matches_datafusion() {
    let lake = lake();
    let root = lake.0.as_path();
    let all = TimeRange::default();
    let applies = [
        // `flowtrail top` and the benchmark's top talkers.
        &flowtrail_query::top_sql(&["src_ip".into()], flowtrail_query::TopBy::Bytes, "", 1000)
            .expect("top sql") as &str,
        "SELECT src_ip, sum(bytes_out) AS total FROM flows GROUP BY src_ip \
         ORDER BY total DESC NULLS LAST LIMIT 10",
        // NULL sums and a NULL group; count of a column.
        "SELECT dst_ip, sum(bytes_in) AS b, count(bytes_in) AS n, count(*) AS c FROM flows GROUP BY dst_ip",
        // A pushed-down predicate on another column, on the key, and through partitions.
        "SELECT src_ip, count(*) AS c, sum(packets_out) AS p FROM flows \
         WHERE time >= '2025-06-01T01:30:00Z' AND time < '2025-06-01T04:10:00Z' GROUP BY src_ip",
        "SELECT src_ip, count(*) AS c FROM flows WHERE src_ip LIKE '10.%' GROUP BY src_ip",
        "SELECT dst_ip, sum(bytes_out) AS b FROM flows WHERE hour = '03' AND dst_port = 443 GROUP BY dst_ip",
        "SELECT src_ip, sum(bytes_out) AS b FROM flows WHERE bytes_out > 1000000000 GROUP BY src_ip",
        // Keys longer than 15 bytes, a column missing from the old file, a mostly NULL key.
        "SELECT device, count(*) AS c, sum(bytes_out) AS b FROM flows GROUP BY device",
        "SELECT user, count(*) AS c, sum(bytes_in) AS b FROM flows GROUP BY user",
        // An Int32 argument (cast to Int64 by the planner) and an expression.
        "SELECT action, sum(src_port) AS s, count(src_port) AS n FROM flows GROUP BY action",
        "SELECT src_ip, sum(bytes_out * 2 + coalesce(bytes_in, 7)) AS s FROM flows GROUP BY src_ip",
        // Predicates on text columns, answered once per dictionary value: NULL keys, NOT,
        // OR across columns, a function, a column missing from the old file, partitions.
        "SELECT count(*) AS c, sum(bytes_out) AS b FROM flows \
         WHERE src_ip = '203.0.0.1' OR dst_ip = '203.0.0.1'",
        "SELECT count(*) AS c FROM flows WHERE src_ip IS NULL",
        // A column the table declares NOT NULL.
        "SELECT src_ip, count(*) AS c FROM flows WHERE source_format = 'aws_vpc' GROUP BY src_ip",
        "SELECT source_format, count(*) AS c FROM flows WHERE origin LIKE 's3://%' GROUP BY source_format",
        "SELECT dst_ip, count(*) AS c, sum(bytes_in) AS b FROM flows \
         WHERE NOT (src_ip LIKE '10.%') AND dst_port = 443 GROUP BY dst_ip",
        "SELECT src_ip, count(*) AS c FROM flows WHERE in_cidr(dst_ip, '10.0.0.0/8') GROUP BY src_ip",
        "SELECT src_ip, count(*) AS c FROM flows WHERE NOT in_cidr(dst_ip, '10.0.0.0/8') GROUP BY src_ip",
        "SELECT action, count(*) AS c, sum(packets_in) AS p FROM flows \
         WHERE user = 'user3' OR device IS NULL GROUP BY action",
        "SELECT count(*) AS c FROM flows WHERE hour = '05' AND (src_ip = '203.0.0.1' OR user IS NULL)",
        "SELECT src_ip, count(*) AS c FROM flows \
         WHERE src_ip > dst_ip OR (action = 'denied' AND bytes_out > 500000) GROUP BY src_ip",
        // Above the aggregate: HAVING, a join, an outer query.
        "SELECT src_ip, count(*) AS c FROM flows GROUP BY src_ip HAVING count(*) > 15",
        "SELECT a.src_ip, a.c, b.d FROM \
         (SELECT src_ip, count(*) AS c FROM flows GROUP BY src_ip) a JOIN \
         (SELECT dst_ip, sum(bytes_out) AS d FROM flows GROUP BY dst_ip) b ON a.src_ip = b.dst_ip",
        "SELECT count(*) AS groups, sum(c) AS rows FROM \
         (SELECT device, count(*) AS c FROM flows GROUP BY device) t",
    ];
    let mut rows = 0;
    for sql in applies {
        rows += same(root, &all, sql, true).await;
    }
    assert!(rows > 2000, "the queries returned only {rows} rows in all");

    // The empty answer.
    assert_eq!(
        same(
            root,
            &all,
            "SELECT src_ip, count(*) AS c FROM flows WHERE dst_port = 1 GROUP BY src_ip",
            true
        )
        .await,
        0
    );

    // The IP lookup's predicate is answered per dictionary value.
    let (_, _, plan) = run(
        root,
        &all,
        "SELECT count(*) FROM flows WHERE src_ip = '203.0.0.1' OR dst_ip = '203.0.0.1'",
        true,
        2,
    )
    .await;
    assert!(
        plan.contains("predicate by value on [src_ip, dst_ip]"),
        "{plan}"
    );
    // The final aggregate is replaced too: the groups are merged in the operator, with or
    // without GROUP BY, and no DataFusion aggregate is left.
    assert!(
        plan.contains("DictionaryAggregateExec: mode=Final"),
        "{plan}"
    );
    let (_, _, plan) = run(
        root,
        &all,
        "SELECT src_ip, sum(bytes_out) AS total FROM flows GROUP BY src_ip \
         ORDER BY total DESC NULLS LAST LIMIT 10",
        true,
        4,
    )
    .await;
    assert!(
        plan.contains("DictionaryAggregateExec: mode=Final"),
        "{plan}"
    );
    assert!(
        !plan
            .lines()
            .any(|l| l.trim_start().starts_with("AggregateExec")),
        "{plan}"
    );

    // No row matches: still one row without GROUP BY (count 0, sum NULL).
    assert_eq!(
        same(
            root,
            &all,
            "SELECT count(*) AS c, sum(bytes_out) AS b FROM flows WHERE src_ip = '192.0.2.200'",
            true
        )
        .await,
        1
    );

    // Not ours: two keys, other functions, DISTINCT, an integer key, a FILTER clause.
    for sql in [
        "SELECT src_ip, dst_ip, count(*) AS c FROM flows GROUP BY src_ip, dst_ip",
        "SELECT src_ip, avg(bytes_out) AS a FROM flows GROUP BY src_ip",
        "SELECT src_ip, max(bytes_out) AS m FROM flows GROUP BY src_ip",
        "SELECT src_ip, count(DISTINCT dst_ip) AS d FROM flows GROUP BY src_ip",
        "SELECT dst_port, count(*) AS c FROM flows GROUP BY dst_port",
        "SELECT src_ip, count(*) FILTER (WHERE dst_port = 22) AS ssh FROM flows GROUP BY src_ip",
        "SELECT hour, count(*) AS c FROM flows GROUP BY hour",
    ] {
        same(root, &all, sql, false).await;
    }

    // A time range from `--since/--until` (the view's WHERE on `time` and `date`).
    let range = TimeRange {
        since: Some(T0 + HOUR + HOUR / 2),
        until: Some(T0 + 4 * HOUR),
    };
    let top = flowtrail_query::top_sql(&["dst_ip".into()], flowtrail_query::TopBy::Flows, "", 50)
        .expect("top sql");
    assert!(same(root, &range, &top, true).await > 10);
}
