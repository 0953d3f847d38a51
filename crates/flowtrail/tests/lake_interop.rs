//! Lake files written by flowtrail's own Parquet encoder, read by another engine: DuckDB (PyPI
//! `duckdb`, run through `python3`) must see exactly what flowtrail's query engine sees.
//!
//! The lake is built by the `flowtrail` binary from generated AWS VPC and Azure NSG logs
//! (`flowtrail gen`), a generated VPC version 5 file that fills the columns the default format
//! leaves empty (NAT addresses, TCP flags, VPC/subnet/instance, `extra`), a generated nginx log
//! with unique long URLs, and the format fixtures of `flowtrail-formats`. The sizes are chosen
//! so that the encoder's less common paths are written too: files of more than one data page,
//! an integer column with too many distinct values for a dictionary, text too large for one,
//! plain text over several pages, IPv6 addresses, and nulls in every kind of column.
//!
//! Each check is one SQL query written for both engines (they differ only in how a timestamp
//! becomes epoch microseconds and back); its rows must be equal value for value. After the
//! aggregates and a row-by-row dump of a sample, filter probes (addresses, ports, hosts, time
//! ranges, null tests) run with a `WHERE` clause, which both engines prune with the files'
//! statistics and bloom filters, and as a `CASE` sum over every row, which prunes nothing: the
//! two must agree within each engine and across the engines.
//!
//! Skips with a message when `python3 -c 'import duckdb'` fails (`pip install duckdb`), unless
//! `FLOWTRAIL_REQUIRE_DUCKDB` is set, when that is a failure (`.ci/run` installs duckdb and
//! sets it). Inputs are synthetic (documentation and private addresses).

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use flowtrail_schema::{Column, ColumnType, FLOW_COLUMNS, HTTP_COLUMNS};
use serde_json::{json, Value};

mod common;
use common::{bin, python_module, Tmp};

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../flowtrail-formats/tests/fixtures")
        .join(rel)
}

fn stdio(out: &Output) -> String {
    format!(
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// splitmix64: the generated inputs are the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

/// 2025-06-03T10:00:00Z: the hour of the generated VPC v5 file.
const V5_HOUR: u64 = 1_748_944_800;

/// A VPC flow log in a custom version 5 format, all in one hour (so one lake file), with a
/// distinct byte count on nearly every row (more than an integer dictionary takes), IPv4 and
/// IPv6 traffic, and `-` (null) in the optional fields and some byte counts.
fn write_vpc_v5(path: &Path, rows: usize) {
    let mut rng = Rng(5);
    let mut s = String::with_capacity(rows * 260);
    s.push_str(
        "version srcaddr dstaddr srcport dstport protocol start end type packets bytes \
         account-id vpc-id subnet-id instance-id interface-id region az-id sublocation-type \
         sublocation-id action tcp-flags pkt-srcaddr pkt-dstaddr pkt-src-aws-service \
         pkt-dst-aws-service traffic-path flow-direction log-status\n",
    );
    for i in 0..rows {
        let v6 = rng.below(5) == 0;
        let host = rng.below(6000);
        let peer = rng.below(3000);
        let (inside, outside) = if v6 {
            (
                format!("2001:db8:{:x}::{:x}", host % 16, host + 1),
                format!("2001:db8:ff00::{:x}", peer * 7 + 1),
            )
        } else {
            (
                format!("10.{}.{}.{}", host % 7, host / 7 % 256, host % 251 + 1),
                match peer % 3 {
                    0 => format!("203.0.113.{}", peer % 254 + 1),
                    1 => format!("198.51.100.{}", peer % 254 + 1),
                    _ => format!(
                        "100.{}.{}.{}",
                        64 + peer % 64,
                        peer / 64 % 256,
                        peer % 250 + 1
                    ),
                },
            )
        };
        let egress = rng.below(2) == 0;
        let (src, dst) = if egress {
            (inside.clone(), outside.clone())
        } else {
            (outside.clone(), inside.clone())
        };
        let protocol = match rng.below(20) {
            0 => 1,
            1..=5 => 17,
            _ => 6,
        };
        let (sport, dport) = if protocol == 1 {
            ("-".to_string(), "-".to_string())
        } else {
            let service = ["443", "80", "53", "22", "3389", "5432", "8080", "123"];
            let high = (32768 + rng.below(28000)).to_string();
            let svc = rng.pick(&service).to_string();
            if egress {
                (high, svc)
            } else {
                (svc, high)
            }
        };
        let start = V5_HOUR + (i as u64 * 3600 / rows as u64);
        let end = start + 1 + rng.below(59);
        let packets = 1 + rng.below(5000);
        let bytes = match rng.below(50) {
            0 => "-".to_string(),
            _ => (packets * 40 + rng.below(1_000_000_000)).to_string(),
        };
        let account = rng.pick(&["111122223333", "444455556666", "777788889999"]);
        let vpc = format!("vpc-0{:016x}", rng.below(20) * 0x1_0001);
        let subnet = format!("subnet-0{:016x}", rng.below(300) * 0x10_0003);
        let instance = match rng.below(10) {
            0..=2 => "-".to_string(),
            _ => format!("i-0{:016x}", host * 0x1_000f),
        };
        let eni = format!("eni-0{:016x}", host * 0x2_0011 + rng.below(2));
        let region = rng.pick(&["us-east-1", "eu-west-1", "ap-southeast-2", "sa-east-1"]);
        let az = format!("{}-az{}", &region[..4], 1 + rng.below(6));
        let (subtype, subid) = match rng.below(20) {
            0 => ("wavelength", format!("wlz-0{:08x}", rng.below(40))),
            1 => ("outpost", format!("op-0{:016x}", rng.below(5))),
            _ => ("-", "-".to_string()),
        };
        let action = if rng.below(10) == 0 {
            "REJECT"
        } else {
            "ACCEPT"
        };
        let flags = match (protocol, rng.below(20)) {
            (6, 0) => "-".to_string(),
            (6, _) => rng
                .pick(&["2", "3", "18", "19", "1", "4", "27"])
                .to_string(),
            _ => "0".to_string(),
        };
        let (pkt_src, pkt_dst) = match rng.below(10) {
            0 if !v6 => (
                format!("100.64.{}.{}", host % 256, host % 200 + 1),
                dst.clone(),
            ),
            1 => ("-".to_string(), "-".to_string()),
            _ => (src.clone(), dst.clone()),
        };
        let services = ["-", "-", "-", "-", "-", "-", "S3", "DYNAMODB", "EC2"];
        let src_svc = rng.pick(&services);
        let dst_svc = rng.pick(&services);
        let path = match rng.below(3) {
            0 => "-".to_string(),
            _ => (1 + rng.below(8)).to_string(),
        };
        let direction = if egress { "egress" } else { "ingress" };
        let kind = if v6 { "IPv6" } else { "IPv4" };
        let _ = writeln!(
            s,
            "5 {src} {dst} {sport} {dport} {protocol} {start} {end} {kind} {packets} {bytes} \
             {account} {vpc} {subnet} {instance} {eni} {region} {az} {subtype} {subid} {action} \
             {flags} {pkt_src} {pkt_dst} {src_svc} {dst_svc} {path} {direction} OK"
        );
    }
    std::fs::write(path, s).expect("write VPC v5 log");
}

/// 2025-06-03T11:00:00Z: the hour of the generated nginx log.
const WEB_HOUR: u64 = 1_748_948_400;

/// An nginx `combined` log in one hour: a unique query string of ~160 bytes on every line (more
/// distinct text than a dictionary page holds), a few dozen user agents, `-` fields.
fn write_nginx(path: &Path, rows: usize) {
    let mut rng = Rng(80);
    let agents: Vec<String> = (0..40)
        .map(|i| match i % 4 {
            0 => format!("Mozilla/5.0 (X11; Linux x86_64; rv:{}.0) Gecko/20100101 Firefox/{}.0", 100 + i, 100 + i),
            1 => format!("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{}.0.0.0 Safari/537.36", 110 + i),
            2 => format!("curl/8.{}.0", i),
            _ => format!("ExampleBot/{}.{} (+https://bot.example.org/about)", i / 4, i % 7),
        })
        .collect();
    let mut s = String::with_capacity(rows * 330);
    for i in 0..rows {
        let c = rng.below(3000);
        let client = match c % 5 {
            0 => format!("2001:db8:1::{:x}", c + 1),
            1 => format!("192.0.2.{}", c % 254 + 1),
            2 => format!("198.51.100.{}", c % 254 + 1),
            _ => format!("10.1.{}.{}", c / 250, c % 250 + 1),
        };
        let user = match rng.below(10) {
            0 => format!("user{}", rng.below(50)),
            _ => "-".to_string(),
        };
        let t = WEB_HOUR + (i as u64 * 3600 / rows as u64);
        let (mm, ss) = (t % 3600 / 60, t % 60);
        let method = ["GET", "GET", "GET", "POST", "HEAD", "PUT"][rng.below(6) as usize];
        let target = format!(
            "/app/{}/item/{}?session={:016x}&q={:012x}&page={}&ref=campaign-{}-{:016x}\
             &utm_content={:016x}{:016x}&token={:024x}",
            ["shop", "api", "static", "account"][rng.below(4) as usize],
            rng.below(5000),
            rng.next(),
            rng.below(1 << 40),
            rng.below(100),
            rng.below(50),
            rng.next(),
            rng.next(),
            rng.next(),
            rng.next() >> 32 << 32 | rng.below(1 << 32)
        );
        let status = [
            "200", "200", "200", "200", "301", "304", "404", "403", "500",
        ][rng.below(9) as usize];
        let bytes = match rng.below(50) {
            0 => "-".to_string(),
            _ => rng.below(500_000).to_string(),
        };
        let referrer = match rng.below(5) {
            0..=2 => "-".to_string(),
            _ => format!("https://www.example.com/p/{}", rng.below(200)),
        };
        let agent = &agents[rng.below(agents.len() as u64) as usize];
        let _ = writeln!(
            s,
            "{client} - {user} [03/Jun/2025:11:{mm:02}:{ss:02} +0000] \"{method} {target} HTTP/1.1\" \
             {status} {bytes} \"{referrer}\" \"{agent}\""
        );
    }
    std::fs::write(path, s).expect("write nginx log");
}

/// Format fixtures of `flowtrail-formats` that detect on their own, for flows and for HTTP.
const FIXTURES: &[&str] = &[
    "aws_vpc/custom_v5.log",
    "aws_vpc/custom_underscored.log",
    "azure/nsg_v2_bce.PT1H.json",
    "azure/vnet_deny_encryption.PT1H.json",
    "gcp_vpc/entries.ndjson",
    "cisco_asa/denies.log",
    "fortigate/traffic.log",
    "panos/traffic.log",
    "zeek_conn/conn_tsv.log",
    "nfdump_csv/bidir_berlin.csv",
    "apache/access.log",
    "aws_alb/alb.log",
    "iis/advanced.log",
    "iis/u_ex240131.log",
    "nginx/access.log",
    "nginx/upstreaminfo.log",
    "squid/access.log",
    "zeek_http/http_json.log",
    "zscaler/web_kv.log",
    "zscaler/web_json.log",
    "sentinelone/events.log",
    "panos_url/url.log",
];

/// The names of the catalogue's columns of the given types: every column of the schema is
/// checked, including ones added after this test was written.
fn names(cols: &'static [Column], types: &[ColumnType]) -> &'static [&'static str] {
    Vec::leak(
        cols.iter()
            .filter(|c| types.contains(&c.ty))
            .map(|c| c.name)
            .collect(),
    )
}

const TEXT: &[ColumnType] = &[ColumnType::Text, ColumnType::Ip];
const INT: &[ColumnType] = &[ColumnType::Int32, ColumnType::Int64];
const TIME: &[ColumnType] = &[ColumnType::Timestamp];

/// The two engines; their SQL differs only in timestamp conversions.
#[derive(Clone, Copy)]
enum Engine {
    Flowtrail,
    DuckDb,
}

impl Engine {
    /// Epoch microseconds of a timestamp expression.
    fn us(self, e: &str) -> String {
        match self {
            Engine::Flowtrail => format!("CAST({e} AS BIGINT)"),
            Engine::DuckDb => format!("epoch_us({e})"),
        }
    }

    /// The timestamp at `us` epoch microseconds.
    fn ts(self, us: i64) -> String {
        match self {
            Engine::Flowtrail => format!("to_timestamp_micros({us})"),
            Engine::DuckDb => format!("make_timestamptz(CAST({us} AS BIGINT))"),
        }
    }
}

/// One query, in each engine's SQL.
struct Check {
    name: String,
    flowtrail: String,
    duckdb: String,
}

fn check(name: impl Into<String>, sql: impl Fn(Engine) -> String) -> Check {
    Check {
        name: name.into(),
        flowtrail: sql(Engine::Flowtrail),
        duckdb: sql(Engine::DuckDb),
    }
}

/// A result: column names (DuckDB's, which are the query's aliases) and rows.
#[derive(Debug)]
struct Table {
    columns: Vec<String>,
    rows: Vec<Vec<Value>>,
}

impl Table {
    fn col(&self, name: &str) -> usize {
        self.columns
            .iter()
            .position(|c| c == name)
            .unwrap_or_else(|| panic!("no column {name} in {:?}", self.columns))
    }
}

fn q(col: &str) -> String {
    format!("\"{col}\"")
}

fn sql_text(v: &str) -> String {
    format!("'{}'", v.replace('\'', "''"))
}

/// A row of `flowtrail query -o json`: column name to value, null values left out.
type Row = serde_json::Map<String, Value>;

fn flowtrail_query(lake: &Path, sql: &str) -> Vec<Row> {
    let out = bin()
        .args(["query", "--lake"])
        .arg(lake)
        .args(["--sql", sql, "-o", "json"])
        .output()
        .expect("run flowtrail query");
    assert!(
        out.status.success(),
        "flowtrail query failed: {sql}\n{}",
        stdio(&out)
    );
    if out.stdout.iter().all(u8::is_ascii_whitespace) {
        return Vec::new();
    }
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("flowtrail query JSON: {e}\n{sql}\n{}", stdio(&out)))
}

/// Runs `queries` in DuckDB over views `flows` and `http` of the lake's Parquet files; each
/// result as its column names and rows of JSON values (integers, text, null).
const DUCKDB_SCRIPT: &str = r#"
import json, sys
import duckdb
lake = sys.argv[1]
queries = json.load(sys.stdin)
con = duckdb.connect()
for t in ("flows", "http"):
    glob = lake + "/" + t + "/**/*.parquet"
    con.execute("CREATE VIEW " + t + " AS SELECT * FROM read_parquet('" + glob.replace("'", "''")
                + "', hive_partitioning=false)")
def norm(v):
    if v is None or isinstance(v, (str, int)) and not isinstance(v, bool):
        return v
    raise TypeError("unexpected %s value %r" % (type(v).__name__, v))
out = []
for q in queries:
    try:
        cur = con.execute(q)
        cols = [d[0] for d in cur.description]
        rows = [[norm(v) for v in r] for r in cur.fetchall()]
    except Exception as e:
        sys.stderr.write("DuckDB failed on: %s\n%s\n" % (q, e))
        sys.exit(1)
    out.append({"columns": cols, "rows": rows})
json.dump(out, sys.stdout)
"#;

fn duckdb_queries(lake: &Path, queries: &[&str]) -> Vec<Table> {
    let mut child = Command::new("python3")
        .args(["-c", DUCKDB_SCRIPT])
        .arg(lake)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run python3");
    let input = serde_json::to_vec(queries).expect("queries JSON");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&input)
        .expect("write queries");
    let out = child.wait_with_output().expect("wait for python3");
    assert!(
        out.status.success(),
        "DuckDB script failed\n{}",
        stdio(&out)
    );
    let v: Vec<Value> = serde_json::from_slice(&out.stdout).expect("DuckDB results JSON");
    v.into_iter()
        .map(|t| Table {
            columns: serde_json::from_value(t["columns"].clone()).expect("columns"),
            rows: serde_json::from_value(t["rows"].clone()).expect("rows"),
        })
        .collect()
}

/// What the comparisons found: check and row counts, and every disagreement.
#[derive(Default)]
struct Outcome {
    checks: usize,
    rows: usize,
    values: usize,
    mismatches: Vec<String>,
}

/// Runs `checks` in both engines and records where they disagree; returns each check's results,
/// flowtrail's (laid out in DuckDB's columns) and DuckDB's. DuckDB runs its queries while
/// flowtrail runs its own, one at a time.
fn compare(lake: &Path, checks: &[Check], outcome: &mut Outcome) -> Vec<(Table, Table)> {
    // Two flowtrail queries at a time (the machines have two cores), beside DuckDB.
    let next = AtomicUsize::new(0);
    let done: Mutex<Vec<Option<Vec<Row>>>> = Mutex::new((0..checks.len()).map(|_| None).collect());
    let duck = std::thread::scope(|s| {
        let duck = s.spawn(|| {
            duckdb_queries(
                lake,
                &checks.iter().map(|c| c.duckdb.as_str()).collect::<Vec<_>>(),
            )
        });
        for _ in 0..2 {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(c) = checks.get(i) else { break };
                let r = flowtrail_query(lake, &c.flowtrail);
                done.lock().expect("results lock")[i] = Some(r);
            });
        }
        duck.join().expect("DuckDB thread")
    });
    let objects: Vec<_> = done
        .into_inner()
        .expect("results lock")
        .into_iter()
        .map(|r| r.expect("every flowtrail query ran"))
        .collect();
    assert_eq!(duck.len(), checks.len(), "DuckDB result count");
    let mut results = Vec::new();
    for ((c, d), objects) in checks.iter().zip(duck).zip(objects) {
        let mut rows = Vec::with_capacity(objects.len());
        for o in &objects {
            if let Some(k) = o.keys().find(|k| !d.columns.contains(k)) {
                outcome.mismatches.push(format!(
                    "{}: flowtrail returned column {k}, DuckDB columns are {:?}",
                    c.name, d.columns
                ));
            }
            // flowtrail's JSON leaves null values out.
            rows.push(
                d.columns
                    .iter()
                    .map(|k| o.get(k).cloned().unwrap_or(Value::Null))
                    .collect::<Vec<_>>(),
            );
        }
        outcome.checks += 1;
        outcome.rows += rows.len();
        outcome.values += rows.iter().map(Vec::len).sum::<usize>();
        if rows.len() != d.rows.len() {
            outcome.mismatches.push(format!(
                "{}: flowtrail returned {} rows, DuckDB {}\n  SQL: {}",
                c.name,
                rows.len(),
                d.rows.len(),
                c.flowtrail
            ));
        }
        let mut shown = 0;
        for (i, (f, k)) in rows.iter().zip(&d.rows).enumerate() {
            for (j, col) in d.columns.iter().enumerate() {
                if f.get(j) != k.get(j) && shown < 10 {
                    shown += 1;
                    outcome.mismatches.push(format!(
                        "{}: row {i} column {col}: flowtrail {} DuckDB {}\n  flowtrail row: {}\n  \
                         DuckDB row:    {}",
                        c.name,
                        f.get(j).unwrap_or(&Value::Null),
                        k.get(j).unwrap_or(&Value::Null),
                        Value::from(f.clone()),
                        Value::from(k.clone()),
                    ));
                }
            }
        }
        let ours = Table {
            columns: d.columns.clone(),
            rows,
        };
        results.push((ours, d));
    }
    results
}

/// Per-column profiles of a table: for text count, distinct, min, max and total length; for
/// integers and timestamps count, distinct, min, max and a sum.
fn profile_checks(
    table: &'static str,
    text: &'static [&'static str],
    ints: &'static [&'static str],
    times: &'static [&'static str],
) -> [Check; 2] {
    let text_check = check(format!("{table}: text column profiles"), move |_| {
        let cols: Vec<String> = text
            .iter()
            .map(|c| {
                let x = q(c);
                format!(
                    "count({x}) AS {c}_n, count(DISTINCT {x}) AS {c}_distinct, \
                     min({x}) AS {c}_min, max({x}) AS {c}_max, sum(length({x})) AS {c}_chars"
                )
            })
            .collect();
        format!("SELECT count(*) AS n, {} FROM {table}", cols.join(", "))
    });
    let int_check = check(
        format!("{table}: integer and time column profiles"),
        move |e| int_profile_sql(e, table, ints, times),
    );
    [text_check, int_check]
}

fn int_profile_sql(e: Engine, table: &str, ints: &[&str], times: &[&str]) -> String {
    let mut cols: Vec<String> = Vec::new();
    for c in ints {
        let x = q(c);
        cols.push(format!(
            "count({x}) AS {c}_n, count(DISTINCT {x}) AS {c}_distinct, min({x}) AS {c}_min, \
             max({x}) AS {c}_max, sum({x}) AS {c}_sum"
        ));
    }
    for c in times {
        let x = q(c);
        // The sum of the microseconds into each day: a sum of whole epoch microseconds would
        // overflow BIGINT.
        cols.push(format!(
            "count({x}) AS {c}_n, count(DISTINCT {x}) AS {c}_distinct, {min} AS {c}_min, \
             {max} AS {c}_max, sum({us} % 86400000000) AS {c}_day_us_sum",
            min = e.us(&format!("min({x})")),
            max = e.us(&format!("max({x})")),
            us = e.us(&x),
        ));
    }
    format!("SELECT count(*) AS n, {} FROM {table}", cols.join(", "))
}

/// Every column of a sample of rows (each `every`-th line of a source, and the first lines of
/// each), ordered by all of them.
fn dump_check(table: &str, text: &[&str], ints: &[&str], times: &[&str], every: u32) -> Check {
    let mut cols: Vec<&str> = Vec::new();
    cols.extend(times);
    cols.extend(text);
    cols.extend(ints);
    let cols: Vec<String> = cols.iter().map(|c| c.to_string()).collect();
    let times: Vec<String> = times.iter().map(|c| c.to_string()).collect();
    let t = table.to_string();
    check(format!("{table}: sampled rows, every column"), move |e| {
        let select: Vec<String> = cols
            .iter()
            .map(|c| {
                if times.contains(c) {
                    format!("{} AS {}", e.us(&q(c)), q(c))
                } else {
                    q(c)
                }
            })
            .collect();
        let order: Vec<String> = (1..=cols.len())
            .map(|i| format!("{i} NULLS FIRST"))
            .collect();
        format!(
            "SELECT {} FROM {t} WHERE origin_line % {every} = 7 OR origin_line <= 12 ORDER BY {}",
            select.join(", "),
            order.join(", ")
        )
    })
}

/// A probe: a predicate that `WHERE` may prune with statistics and bloom filters, counted with
/// it and with a `CASE` over every row.
struct Probe {
    label: String,
    flowtrail: String,
    duckdb: String,
}

fn probe(label: impl Into<String>, pred: impl Fn(Engine) -> String) -> Probe {
    Probe {
        label: label.into(),
        flowtrail: pred(Engine::Flowtrail),
        duckdb: pred(Engine::DuckDb),
    }
}

/// Checks for `probes`: all of them as `CASE` sums in one scan (one column per probe), then each
/// probe's count with `WHERE` (one row per probe, in queries of up to 24 probes so that two can
/// run at once).
fn probe_checks(table: &str, probes: &[Probe]) -> Vec<Check> {
    let pred = |p: &Probe, e: Engine| match e {
        Engine::Flowtrail => p.flowtrail.clone(),
        Engine::DuckDb => p.duckdb.clone(),
    };
    let mut checks = vec![check(format!("{table}: filter probes, full scan"), |e| {
        let sums: Vec<String> = probes
            .iter()
            .enumerate()
            .map(|(i, p)| format!("sum(CASE WHEN {} THEN 1 ELSE 0 END) AS p{i}", pred(p, e)))
            .collect();
        format!("SELECT {} FROM {table}", sums.join(", "))
    })];
    let ids: Vec<usize> = (0..probes.len()).collect();
    for chunk in ids.chunks(24) {
        let name = format!(
            "{table}: filter probes {}-{}, WHERE",
            chunk[0],
            chunk[chunk.len() - 1]
        );
        checks.push(check(name, |e| {
            let u: Vec<String> = chunk
                .iter()
                .map(|&i| {
                    format!(
                        "SELECT {i} AS probe, count(*) AS n FROM {table} WHERE {}",
                        pred(&probes[i], e)
                    )
                })
                .collect();
            format!(
                "SELECT probe, n FROM ({}) AS u ORDER BY probe",
                u.join(" UNION ALL ")
            )
        }));
    }
    checks
}

/// Within one engine's probe results (the full scan first, then the `WHERE` queries), `WHERE`
/// and the full scan must count the same rows.
fn probe_consistency(
    engine: &str,
    table: &str,
    probes: &[Probe],
    results: &[&Table],
    outcome: &mut Outcome,
) {
    let Some((scanned, filtered)) = results.split_first() else {
        return;
    };
    for (i, probe) in probes.iter().enumerate() {
        let w = filtered.iter().find_map(|t| {
            let (p, n) = (t.col("probe"), t.col("n"));
            t.rows
                .iter()
                .find(|r| r[p].as_u64() == Some(i as u64))
                .and_then(|r| r[n].as_i64())
        });
        let s = scanned
            .rows
            .first()
            .and_then(|r| r[scanned.col(&format!("p{i}"))].as_i64());
        if w != s || w.is_none() {
            outcome.mismatches.push(format!(
                "{engine} {table} probe `{}`: WHERE counted {w:?} rows, a full scan {s:?} \
                 (pruning by statistics or bloom filter dropped rows)",
                probe.label
            ));
        }
    }
}

fn ints_of(t: &Table, col: &str) -> Vec<i64> {
    let c = t.col(col);
    t.rows.iter().filter_map(|r| r[c].as_i64()).collect()
}

fn texts_of(t: &Table, col: &str) -> Vec<String> {
    let c = t.col(col);
    let mut v: Vec<String> = t
        .rows
        .iter()
        .filter_map(|r| r[c].as_str().map(str::to_string))
        .collect();
    v.sort();
    v.dedup();
    v
}

/// About `n` values spread over `v` (first and last included).
fn spread<T: Clone>(v: &[T], n: usize) -> Vec<T> {
    if v.is_empty() {
        return Vec::new();
    }
    let step = (v.len() / n).max(1);
    let mut out: Vec<T> = v.iter().step_by(step).cloned().collect();
    if let Some(last) = v.last() {
        out.push(last.clone());
    }
    out
}

/// Equality probes for sampled values of a text column, and for values no row holds.
fn text_probes(col: &'static str, sample: &[String], n: usize, absent: &[&str]) -> Vec<Probe> {
    let mut out: Vec<Probe> = spread(sample, n)
        .into_iter()
        .chain(absent.iter().map(|s| s.to_string()))
        .map(|v| {
            let pred = format!("{} = {}", q(col), sql_text(&v));
            probe(format!("{col} = '{v}'"), move |_| pred.clone())
        })
        .collect();
    if let (Some(lo), Some(hi)) = (sample.get(sample.len() / 3), sample.get(sample.len() / 2)) {
        let pred = format!(
            "{c} >= {} AND {c} < {}",
            sql_text(lo),
            sql_text(hi),
            c = q(col)
        );
        out.push(probe(format!("{col} in ['{lo}', '{hi}')"), move |_| {
            pred.clone()
        }));
    }
    out
}

fn int_probes(col: &'static str, sample: &[i64], n: usize) -> Vec<Probe> {
    let mut v = sample.to_vec();
    v.sort_unstable();
    v.dedup();
    spread(&v, n)
        .into_iter()
        .map(|x| probe(format!("{col} = {x}"), move |_| format!("{} = {x}", q(col))))
        .collect()
}

/// Time windows between the first and last time of the sample, and the exact first and last.
fn time_probes(sample: &[i64]) -> Vec<Probe> {
    let (Some(&lo), Some(&hi)) = (sample.iter().min(), sample.iter().max()) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let step = ((hi - lo) / 7).max(1);
    let mut a = lo;
    while a < hi {
        let b = a + step;
        out.push(probe(format!("time in [{a}, {b}) us"), move |e| {
            format!("\"time\" >= {} AND \"time\" < {}", e.ts(a), e.ts(b))
        }));
        a = b;
    }
    for x in [lo, hi] {
        out.push(probe(format!("time = {x} us"), move |e| {
            format!("\"time\" = {}", e.ts(x))
        }));
    }
    out
}

fn null_probes(cols: &[&'static str]) -> Vec<Probe> {
    cols.iter()
        .flat_map(|&c| {
            [
                probe(format!("{c} IS NULL"), move |_| format!("{} IS NULL", q(c))),
                probe(format!("{c} IS NOT NULL"), move |_| {
                    format!("{} IS NOT NULL", q(c))
                }),
            ]
        })
        .collect()
}

/// The lake's layout as DuckDB reads it from the file footers: for each table, its columns'
/// chunks and encodings, then its columns' logical types.
fn layout(lake: &Path, tables: &[&str]) -> Vec<Table> {
    let mut queries = Vec::new();
    for table in tables {
        let files = sql_text(&format!("{}/{table}/**/*.parquet", lake.display()));
        queries.push(format!(
            "SELECT path_in_schema AS col, count(*) AS chunks, \
             max(row_group_num_rows) AS max_rows, \
             string_agg(DISTINCT encodings, ' | ' ORDER BY encodings) AS encodings, \
             coalesce(max(total_uncompressed_size) \
                 FILTER (WHERE encodings NOT LIKE '%DICTIONARY%'), 0) AS plain_bytes \
             FROM parquet_metadata({files}) GROUP BY 1 ORDER BY 1"
        ));
        queries.push(format!(
            "SELECT name, logical_type FROM parquet_schema({files}) \
             WHERE logical_type IS NOT NULL GROUP BY ALL ORDER BY 1"
        ));
    }
    duckdb_queries(
        lake,
        &queries.iter().map(String::as_str).collect::<Vec<_>>(),
    )
}

#[test]
fn duckdb_reads_the_lake_as_flowtrail_does() {
    if !python_module("duckdb", "FLOWTRAIL_REQUIRE_DUCKDB") {
        return;
    }
    let started = Instant::now();
    let tmp = Tmp::new("lake");
    let lake = tmp.0.join("lake");
    let inputs = tmp.0.join("in");
    std::fs::create_dir_all(&inputs).expect("mkdir inputs");

    for (kind, records, files, dir) in [
        ("aws-vpc", "50000", "2", "vpc"),
        ("azure-nsg", "20000", "2", "nsg"),
    ] {
        let out = bin()
            .args([
                "gen",
                kind,
                "--records",
                records,
                "--files",
                files,
                "--seed",
                "7",
                "--out",
            ])
            .arg(inputs.join(dir))
            .output()
            .expect("run flowtrail gen");
        assert!(out.status.success(), "gen {kind}\n{}", stdio(&out));
    }
    write_vpc_v5(&inputs.join("vpc-v5.log"), 140_000);
    write_nginx(&inputs.join("access.log"), 70_000);

    let mut ingest = bin();
    ingest
        .arg("ingest")
        .arg(&inputs)
        .args(FIXTURES.iter().map(|f| fixture(f)))
        .arg("--lake")
        .arg(&lake)
        .args(["--summary", "json"])
        // The lake's own encoder is under test, not the arrow-rs writer it can fall back to.
        .env_remove("FLOWTRAIL_PARQUET_WRITER");
    let out = ingest.output().expect("run flowtrail ingest");
    // Exit 3: some fixture lines are rejected on purpose (they test the decoders).
    assert!(
        matches!(out.status.code(), Some(0 | 3)),
        "ingest failed\n{}",
        stdio(&out)
    );
    let summary: Value = serde_json::from_slice(&out.stdout).expect("ingest summary JSON");
    assert_eq!(summary["failed_inputs"], json!(0), "{summary}");
    let stored = summary["total"]["stored"].as_i64().expect("stored");
    let ingested = started.elapsed();

    // What the files are, as DuckDB reads their footers: the encodings the lake promises.
    let mut layouts = Vec::new();
    let tables = ["flows", "http"];
    let footers = layout(&lake, &tables);
    for (&table, l) in tables.iter().zip(footers.chunks(2)) {
        let (meta, schema) = (&l[0], &l[1]);
        let enc = |col: &str| -> String {
            meta.rows
                .iter()
                .find(|r| r[0] == json!(col))
                .and_then(|r| r[meta.col("encodings")].as_str().map(str::to_string))
                .unwrap_or_default()
        };
        let text = if table == "flows" {
            "src_ip"
        } else {
            "client_ip"
        };
        assert!(
            enc(text).contains("RLE_DICTIONARY"),
            "{table}.{text}: {}",
            enc(text)
        );
        assert!(
            enc("origin").contains("RLE_DICTIONARY"),
            "{table}.origin: {}",
            enc("origin")
        );
        assert!(
            enc("origin_line").contains("DELTA_BINARY_PACKED"),
            "{table}.origin_line: {}",
            enc("origin_line")
        );
        let time_type = schema
            .rows
            .iter()
            .find(|r| r[0] == json!("time"))
            .and_then(|r| r[1].as_str())
            .unwrap_or_default()
            .to_string();
        assert!(
            time_type.contains("isAdjustedToUTC=1") && time_type.contains("MICROS=MicroSeconds"),
            "{table}.time: {time_type}"
        );
        for r in &meta.rows {
            layouts.push(format!(
                "  {table}.{}: {} chunks, largest {} rows, encodings {}, largest chunk \
                 without a dictionary {} bytes",
                r[0].as_str().unwrap_or("?"),
                r[1],
                r[2],
                r[3].as_str().unwrap_or("?"),
                r[4]
            ));
        }
    }

    let mut outcome = Outcome::default();

    // Phase 1: aggregates, groups and sampled rows.
    let mut checks = vec![
        check("flows: totals", |e| {
            format!(
                "SELECT count(*) AS n, sum(bytes_out) AS bytes_out, sum(bytes_in) AS bytes_in, \
                 sum(packets_out) AS packets_out, sum(packets_in) AS packets_in, \
                 count(DISTINCT src_ip) AS src_ips, count(DISTINCT dst_ip) AS dst_ips, \
                 count(dst_port) AS dst_ports, {} AS min_time, {} AS max_end_time, \
                 sum(origin_line) AS line_sum, \
                 sum(length(src_ip)) + sum(length(dst_ip)) + sum(length(origin)) \
                 + sum(length(action)) AS text_chars FROM flows",
                e.us("min(\"time\")"),
                e.us("max(end_time)")
            )
        }),
        check("flows: per action", |_| {
            "SELECT action, count(*) AS n, sum(bytes_out) AS bytes_out, \
             count(DISTINCT src_ip) AS src_ips FROM flows GROUP BY action \
             ORDER BY action NULLS FIRST"
                .into()
        }),
        check("flows: per source format and origin", |e| {
            // Sums weighted by the line number tie each value to its row.
            format!(
                "SELECT source_format, origin, count(*) AS n, sum(origin_line) AS lines, \
                 sum(origin_line * length(src_ip)) AS w_src_ip, \
                 sum(origin_line * length(dst_ip)) AS w_dst_ip, \
                 sum(origin_line * (bytes_out % 1000003)) AS w_bytes_out, \
                 sum(origin_line * (bytes_in % 1000003)) AS w_bytes_in, \
                 sum(origin_line * dst_port) AS w_dst_port, \
                 sum(origin_line * src_port) AS w_src_port, \
                 sum(origin_line * ({} % 10000019)) AS w_time, \
                 sum(origin_line * length(extra)) AS w_extra, \
                 sum(origin_line * length(action)) AS w_action, \
                 sum(CASE WHEN end_time IS NULL THEN origin_line ELSE 0 END) AS w_no_end \
                 FROM flows GROUP BY source_format, origin ORDER BY 1 NULLS FIRST, 2 NULLS FIRST",
                e.us("\"time\"")
            )
        }),
        check("flows: per source address", |e| {
            format!(
                "SELECT src_ip, count(*) AS n, sum(bytes_out) AS bytes_out, \
                 sum(packets_out) AS packets_out, count(dst_port) AS dst_ports, \
                 sum(origin_line) AS lines, {} AS first_us, sum(length(dst_ip)) AS dst_chars \
                 FROM flows GROUP BY src_ip ORDER BY src_ip NULLS FIRST",
                e.us("min(\"time\")")
            )
        }),
        check("flows: per destination port and protocol", |_| {
            "SELECT dst_port, protocol, protocol_name, count(*) AS n, sum(bytes_out) AS bytes_out, \
             sum(bytes_in) AS bytes_in, sum(length(dst_ip)) AS dst_chars FROM flows \
             GROUP BY dst_port, protocol, protocol_name \
             ORDER BY 1 NULLS FIRST, 2 NULLS FIRST, 3 NULLS FIRST"
                .into()
        }),
        check("http: totals", |e| {
            format!(
                "SELECT count(*) AS n, count(DISTINCT client_ip) AS clients, \
                 count(status) AS statuses, sum(status) AS status_sum, \
                 sum(bytes_in) AS bytes_in, sum(bytes_out) AS bytes_out, \
                 sum(duration_ms) AS duration_ms, {} AS min_time, {} AS max_time, \
                 sum(origin_line) AS line_sum, \
                 sum(length(url)) + sum(length(user_agent)) + sum(length(client_ip)) AS text_chars \
                 FROM http",
                e.us("min(\"time\")"),
                e.us("max(\"time\")")
            )
        }),
        check("http: per status and method", |_| {
            "SELECT status, method, count(*) AS n, sum(bytes_in) AS bytes_in, \
             count(DISTINCT url) AS urls FROM http GROUP BY status, method \
             ORDER BY 1 NULLS FIRST, 2 NULLS FIRST"
                .into()
        }),
        check("http: per client", |e| {
            format!(
                "SELECT client_ip, count(*) AS n, sum(bytes_in) AS bytes_in, \
                 sum(length(url)) AS url_chars, sum(origin_line * length(user_agent)) AS w_agent, \
                 sum(origin_line * status) AS w_status, {} AS last_us \
                 FROM http GROUP BY client_ip ORDER BY client_ip NULLS FIRST",
                e.us("max(\"time\")")
            )
        }),
    ];
    for (table, cols, every) in [("flows", FLOW_COLUMNS, 101), ("http", HTTP_COLUMNS, 53)] {
        let (text, ints, times) = (names(cols, TEXT), names(cols, INT), names(cols, TIME));
        checks.extend(profile_checks(table, text, ints, times));
        checks.push(dump_check(table, text, ints, times, every));
    }
    let base = compare(&lake, &checks, &mut outcome);
    let result = |name: &str| -> &Table {
        let i = checks
            .iter()
            .position(|c| c.name == name)
            .unwrap_or_else(|| panic!("no check {name}"));
        &base[i].0
    };

    let flow_rows = result("flows: totals").rows[0][0]
        .as_i64()
        .expect("flow rows");
    let http_rows = result("http: totals").rows[0][0]
        .as_i64()
        .expect("http rows");
    assert_eq!(
        flow_rows + http_rows,
        stored,
        "the lake holds every stored record"
    );
    assert!(
        flow_rows > 200_000 && http_rows > 70_000,
        "{flow_rows} {http_rows}"
    );

    // Phase 2: filter probes on values the sampled rows hold.
    let flows = result("flows: sampled rows, every column");
    let http = result("http: sampled rows, every column");
    let src_ips = texts_of(result("flows: per source address"), "src_ip");
    let clients = texts_of(result("http: per client"), "client_ip");
    let mut flow_probes = Vec::new();
    flow_probes.extend(text_probes(
        "src_ip",
        &src_ips,
        12,
        &["192.0.2.254", "2001:db8:dead::1", "~"],
    ));
    flow_probes.extend(text_probes(
        "dst_ip",
        &texts_of(flows, "dst_ip"),
        6,
        &["0.0.0.0"],
    ));
    flow_probes.extend(text_probes(
        "nat_src_ip",
        &texts_of(flows, "nat_src_ip"),
        3,
        &[],
    ));
    flow_probes.extend(text_probes("device", &texts_of(flows, "device"), 3, &[]));
    flow_probes.extend(text_probes("rule", &texts_of(flows, "rule"), 3, &[]));
    flow_probes.extend(text_probes("action", &texts_of(flows, "action"), 2, &[]));
    flow_probes.extend(int_probes("dst_port", &ints_of(flows, "dst_port"), 5));
    flow_probes.extend(int_probes("bytes_out", &ints_of(flows, "bytes_out"), 5));
    flow_probes.extend(int_probes("origin_line", &ints_of(flows, "origin_line"), 4));
    flow_probes.extend(time_probes(&ints_of(flows, "time")));
    flow_probes.extend(null_probes(&[
        "end_time",
        "bytes_in",
        "dst_port",
        "tcp_flags",
        "user",
        "extra",
        "nat_dst_ip",
    ]));
    let mut http_probes = Vec::new();
    http_probes.extend(text_probes(
        "client_ip",
        &clients,
        8,
        &["192.0.2.254", "2001:db8:dead::1"],
    ));
    http_probes.extend(text_probes(
        "host",
        &texts_of(http, "host"),
        4,
        &["absent.example"],
    ));
    http_probes.extend(text_probes(
        "domain",
        &texts_of(http, "domain"),
        3,
        &["absent.example"],
    ));
    http_probes.extend(text_probes("url", &texts_of(http, "url"), 3, &[]));
    http_probes.extend(text_probes(
        "user_agent",
        &texts_of(http, "user_agent"),
        3,
        &[],
    ));
    http_probes.extend(int_probes("status", &ints_of(http, "status"), 4));
    http_probes.extend(int_probes("bytes_in", &ints_of(http, "bytes_in"), 3));
    http_probes.extend(time_probes(&ints_of(http, "time")));
    http_probes.extend(null_probes(&[
        "user",
        "referrer",
        "bytes_in",
        "server_ip",
        "extra",
    ]));
    let flow_checks = probe_checks("flows", &flow_probes);
    let http_checks = probe_checks("http", &http_probes);
    let n = flow_checks.len();
    let checks: Vec<Check> = flow_checks.into_iter().chain(http_checks).collect();
    let probed = compare(&lake, &checks, &mut outcome);
    let (flow_results, http_results) = probed.split_at(n);
    for (table, probes, results) in [
        ("flows", &flow_probes, flow_results),
        ("http", &http_probes, http_results),
    ] {
        let ours: Vec<&Table> = results.iter().map(|r| &r.0).collect();
        let theirs: Vec<&Table> = results.iter().map(|r| &r.1).collect();
        probe_consistency("flowtrail", table, probes, &ours, &mut outcome);
        probe_consistency("DuckDB", table, probes, &theirs, &mut outcome);
    }

    eprintln!(
        "lake written in {:.1}s ({flow_rows} flows, {http_rows} http rows); layout as DuckDB reads it:\n{}",
        ingested.as_secs_f64(),
        layouts.join("\n")
    );
    eprintln!(
        "{} checks ({} probes), {} result rows, {} values compared in {:.1}s: {} disagreement(s)",
        outcome.checks,
        flow_probes.len() + http_probes.len(),
        outcome.rows,
        outcome.values,
        started.elapsed().as_secs_f64(),
        outcome.mismatches.len()
    );
    assert!(
        outcome.mismatches.is_empty(),
        "DuckDB and flowtrail read the lake differently:\n{}",
        outcome.mismatches.join("\n")
    );
}
