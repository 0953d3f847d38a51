//! End-to-end tests of the `flowtrail` binary: real files in, lake on disk, queries out.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

mod common;
use common::{bin, Tmp};

const HEADER: &str = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status";

fn vpc_lines() -> String {
    [
        HEADER,
        "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK",
        "2 123456789010 eni-1235b8ca123456789 172.31.9.69 172.31.9.12 49761 3389 6 20 4249 1418530010 1418530070 REJECT OK",
        "2 123456789010 eni-1235b8ca123456789 203.0.113.7 172.31.9.12 40000 22 6 3 180 1418530010 1418530070 REJECT OK",
        "2 123456789010 eni-1235b8ca123456789 172.31.9.12 198.51.100.9 50000 443 6 10 5000000 1418533610 1418533670 ACCEPT OK",
        "2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA",
    ]
    .join("\n")
        + "\n"
}

const NSG: &str = r#"{"records":[{"time":"2018-11-13T12:00:35.3899262Z","systemId":"a0fca5ce-022c-47b1-9735-89943b42f2fa","category":"NetworkSecurityGroupFlowEvent","resourceId":"/SUBSCRIPTIONS/00000000-0000-0000-0000-000000000000/RESOURCEGROUPS/FABRIKAMRG/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/FABRIAKMVM1-NSG","operationName":"NetworkSecurityGroupFlowEvents","properties":{"Version":2,"flows":[{"rule":"DefaultRule_DenyAllInBound","flows":[{"mac":"000D3AF87856","flowTuples":["1542110402,94.102.49.190,10.5.16.4,28746,443,U,I,D,B,,,,","1542110424,176.119.4.10,10.5.16.4,56509,59336,T,I,D,B,,,,"]}]},{"rule":"DefaultRule_AllowInternetOutBound","flows":[{"mac":"000D3AF87856","flowTuples":["1542110377,10.5.16.4,203.0.113.118,59831,443,T,O,A,B,,,,","1542110379,10.5.16.4,203.0.113.118,59831,443,T,O,A,E,1,66,1,66"]}]}]}}]}"#;

fn gz(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(vec![], flate2::Compression::default());
    e.write_all(data).expect("gz");
    e.finish().expect("gz")
}

fn run(args: &[&str], lake: &Path) -> Output {
    bin()
        .arg("--lake")
        .arg(lake)
        .args(args)
        .output()
        .expect("run flowtrail")
}

fn summary(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "summary JSON: {e}\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn query_json(lake: &Path, args: &[&str]) -> Vec<serde_json::Value> {
    let mut a = vec!["query"];
    a.extend_from_slice(args);
    a.extend_from_slice(&["-o", "json"]);
    let out = run(&a, lake);
    assert!(
        out.status.success(),
        "query failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json array")
}

fn write(p: &Path, data: &[u8]) {
    if let Some(d) = p.parent() {
        std::fs::create_dir_all(d).expect("mkdir");
    }
    std::fs::write(p, data).expect("write");
}

#[test]
fn ingest_accounts_for_every_record_and_queries_work() {
    let t = Tmp::new("e2e");
    let logs = t.0.join("logs");
    let key = "AWSLogs/123456789010/vpcflowlogs/us-east-1/2014/12/14/123456789010_vpcflowlogs_us-east-1_fl-1_20141214T0420Z_ab.log.gz";
    write(&logs.join(key), &gz(vpc_lines().as_bytes()));
    write(&logs.join("nsg/PT1H.json"), NSG.as_bytes());
    let bad = format!("{HEADER}\n2 1 eni-1 10.0.0.1 10.0.0.2 99999 22 6 1 1 1418530010 1418530070 ACCEPT OK\n2 1 eni-1 10.0.0.1 10.0.0.2 1 22 6 1 1 1418530010 1418530070 ACCEPT OK\n");
    write(&logs.join("bad.log"), bad.as_bytes());
    let lake = t.0.join("lake");
    let out = run(
        &["ingest", logs.to_str().expect("utf8"), "--summary", "json"],
        &lake,
    );
    // One record rejected: exit code 3.
    assert_eq!(
        out.status.code(),
        Some(3),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = summary(&out);
    let total = &s["total"];
    assert_eq!(total["read"], 11, "{s}");
    assert_eq!(total["stored"], 9);
    assert_eq!(total["rejected"], 1);
    let skipped: u64 = total["skipped"]
        .as_object()
        .expect("map")
        .values()
        .map(|v| v.as_u64().expect("n"))
        .sum();
    assert_eq!(skipped, 1);
    // The rejected record is in the dead-letter file with origin, line and reason.
    let dl = s["deadletter"].as_str().expect("deadletter path");
    let dead = std::fs::read_to_string(dl).expect("read deadletter");
    let rec: serde_json::Value =
        serde_json::from_str(dead.lines().next().expect("a line")).expect("json");
    assert!(rec["origin"].as_str().expect("origin").ends_with("bad.log"));
    assert_eq!(rec["line"], 2);
    assert!(
        rec["reason"].as_str().expect("reason").contains("99999"),
        "{rec}"
    );

    // Partitions by date and hour.
    assert!(lake.join("flows/date=2014-12-14/hour=04").is_dir());
    assert!(lake.join("flows/date=2018-11-13/hour=12").is_dir());

    // Filter language: who talked to 203.0.113.7?
    let rows = query_json(&lake, &["203.0.113.7"]);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["dst_port"], 22);
    assert_eq!(rows[0]["action"], "denied");
    assert_eq!(rows[0]["direction"], "inbound");
    // Account and region come from the S3 key.
    let rows = query_json(&lake, &["--sql", "SELECT DISTINCT account, region FROM flows WHERE source_format = 'aws_vpc' AND origin LIKE '%AWSLogs%'"]);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["account"], "123456789010");
    assert_eq!(rows[0]["region"], "us-east-1");
    // CIDR, port and byte thresholds.
    assert_eq!(
        query_json(&lake, &["src 172.31.0.0/16 and bytes > 1MB"]).len(),
        1
    );
    assert_eq!(
        query_json(&lake, &["denied", "and", "dport", "22"]).len(),
        1
    );
    // Azure: B/C/E deltas sum to the flow total.
    let rows = query_json(&lake, &["--sql", "SELECT sum(bytes_out) + sum(bytes_in) AS b FROM flows WHERE source_format='azure_nsg' AND dst_ip='203.0.113.118'"]);
    assert_eq!(rows[0]["b"], 132);
    // Time range.
    assert_eq!(
        query_json(&lake, &["--since", "2018-01-01", "--columns", "src_ip"]).len(),
        4
    );
    assert_eq!(
        query_json(
            &lake,
            &["--until", "2014-12-14T05:00:00Z", "--columns", "src_ip"]
        )
        .len(),
        4
    );

    // top, CSV output.
    let out = run(
        &[
            "top", "src_ip", "--by", "bytes", "--limit", "1", "-o", "csv",
        ],
        &lake,
    );
    assert!(out.status.success());
    let csv = String::from_utf8_lossy(&out.stdout);
    assert!(
        csv.starts_with("src_ip,flows,bytes,packets\n172.31.9.12,1,5000000,10"),
        "{csv}"
    );

    // --runs repeats the query in one session, timing each run on stderr; rows print once.
    let out = run(
        &["top", "src_ip", "--limit", "1", "-o", "csv", "--runs", "3"],
        &lake,
    );
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), csv);
    let err = String::from_utf8_lossy(&out.stderr);
    for line in ["session: ", "run 1: ", "run 2: ", "run 3: "] {
        assert!(err.contains(line), "{line:?} missing from {err}");
    }
    assert!(!err.contains("run 4: "), "{err}");

    // A repeated ingest adds nothing.
    let out = run(
        &["ingest", logs.to_str().expect("utf8"), "--summary", "json"],
        &lake,
    );
    let s = summary(&out);
    assert_eq!(s["total"]["read"], 0);
    assert_eq!(s["already_ingested"].as_array().expect("list").len(), 3);
    assert_eq!(
        query_json(&lake, &["--sql", "SELECT count(*) AS n FROM flows"])[0]["n"],
        9
    );
}

#[test]
fn bad_inputs_get_one_line_errors_and_others_still_load() {
    let t = Tmp::new("bad");
    let good = t.0.join("good.log");
    write(&good, vpc_lines().as_bytes());
    let trunc = t.0.join("trunc.log.gz");
    let g = gz(vpc_lines().repeat(50).as_bytes());
    write(&trunc, &g[..g.len() / 2]);
    let unknown = t.0.join("unknown.txt");
    write(&unknown, b"hello world\nthis is not a flow log\n");
    let lake = t.0.join("lake");
    let missing = t.0.join("missing.log");
    let out = run(
        &[
            "ingest",
            good.to_str().expect("p"),
            trunc.to_str().expect("p"),
            unknown.to_str().expect("p"),
            missing.to_str().expect("p"),
        ],
        &lake,
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("flowtrail: error:"))
        .collect();
    assert_eq!(lines.len(), 3, "{err}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("missing.log") && l.contains("No such file")),
        "{err}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("unknown.txt") && l.contains("unknown format")),
        "{err}"
    );
    assert!(lines.iter().any(|l| l.contains("trunc.log.gz")), "{err}");
    // The good file was stored in full.
    let rows = query_json(
        &lake,
        &[
            "--sql",
            "SELECT count(*) AS n FROM flows WHERE origin LIKE '%good.log'",
        ],
    );
    assert_eq!(rows[0]["n"], 4);
}

#[test]
fn stdin_and_compressions_and_forced_format() {
    let t = Tmp::new("stdin");
    let lake = t.0.join("lake");
    // Headerless lines from stdin, with an explicit field list (CloudWatch export style).
    let body: String = vpc_lines()
        .lines()
        .skip(1)
        .map(|l| format!("{l}\n"))
        .collect();
    let mut child = bin()
        .arg("--lake")
        .arg(&lake)
        .args([
            "ingest",
            "-",
            "--format",
            "aws_vpc",
            "--aws-fields",
            HEADER,
            "--summary",
            "json",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&zstd::encode_all(body.as_bytes(), 3).expect("zstd"))
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(summary(&out)["total"]["stored"], 4);
    // bzip2 file.
    let p = t.0.join("x.log.bz2");
    let mut e = bzip2::write::BzEncoder::new(vec![], bzip2::Compression::fast());
    e.write_all(vpc_lines().as_bytes()).expect("bz");
    write(&p, &e.finish().expect("bz"));
    let out = run(
        &["ingest", p.to_str().expect("p"), "--summary", "json"],
        &lake,
    );
    assert!(out.status.success());
    assert_eq!(summary(&out)["total"]["stored"], 4);
    // Unknown --format is a clear error.
    let out = run(
        &["ingest", p.to_str().expect("p"), "--format", "nope"],
        &lake,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown format `nope`"));
}

#[test]
fn bad_queries_fail_clearly() {
    let t = Tmp::new("badq");
    let lake = t.0.join("lake");
    let p = t.0.join("a.log");
    write(&p, vpc_lines().as_bytes());
    assert!(run(&["ingest", p.to_str().expect("p")], &lake)
        .status
        .success());
    let out = run(&["query", "port", "99999"], &lake);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("99999"));
    let out = run(&["query", "--sql", "SELEC nonsense"], &lake);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad query"));
    let out = run(&["query", "--since", "yesterday"], &lake);
    assert_eq!(out.status.code(), Some(1));
    let out = bin()
        .arg("--lake")
        .arg(t.0.join("nolake"))
        .args(["query", "tcp"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no lake here"));
}

#[test]
fn interrupted_ingest_is_finished_without_loss_or_duplicates() {
    let t = Tmp::new("crash");
    let lake = t.0.join("lake");
    let logs = t.0.join("logs");
    for i in 0..6 {
        write(&logs.join(format!("f{i}.log")), vpc_lines().as_bytes());
    }
    // Crash for real at both dangerous points: after the journal line of the 2nd commit (its
    // files still staged), then, in a second run, with the 2nd commit's files staged but not
    // journalled.
    for fp in ["after-journal:2", "before-journal:2"] {
        let out = bin()
            .arg("--lake")
            .arg(&lake)
            .args([
                "ingest",
                logs.to_str().expect("p"),
                "--flush-rows",
                "1",
                "--threads",
                "1",
            ])
            .env("FLOWTRAIL_FAILPOINT", fp)
            .output()
            .expect("run");
        assert!(
            !out.status.success(),
            "{fp}: the failpoint should have aborted the ingest"
        );
    }
    // Leave an uncommitted staged file behind as a killed writer would.
    write(
        &lake.join("_staging/flows-0-w0-dead.parquet"),
        b"PAR1 partial",
    );
    let out = run(
        &["ingest", logs.to_str().expect("p"), "--summary", "json"],
        &lake,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!lake.join("_staging/flows-0-w0-dead.parquet").exists());
    assert!(String::from_utf8_lossy(&out.stderr).contains("recovered an interrupted ingest"));
    let rows = query_json(
        &lake,
        &[
            "--sql",
            "SELECT count(*) AS n, count(DISTINCT origin) AS f FROM flows",
        ],
    );
    assert_eq!(rows[0]["n"], 24);
    assert_eq!(rows[0]["f"], 6);
}

#[test]
fn aws_parquet_delivery_is_read_by_column_names() {
    use arrow::array::{ArrayRef, Int32Array, Int64Array, RecordBatch, StringArray};
    use std::sync::Arc;
    let t = Tmp::new("parquet");
    // The columns AWS writes for the Parquet delivery option (underscored names, typed).
    let cols: Vec<(&str, ArrayRef)> = vec![
        ("version", Arc::new(Int32Array::from(vec![2, 2, 2]))),
        (
            "account_id",
            Arc::new(StringArray::from(vec!["123456789010"; 3])),
        ),
        (
            "interface_id",
            Arc::new(StringArray::from(vec!["eni-1"; 3])),
        ),
        (
            "srcaddr",
            Arc::new(StringArray::from(vec![
                Some("10.0.0.1"),
                Some("10.0.0.2"),
                None,
            ])),
        ),
        (
            "dstaddr",
            Arc::new(StringArray::from(vec![
                Some("198.51.100.1"),
                Some("10.0.0.9"),
                None,
            ])),
        ),
        (
            "srcport",
            Arc::new(Int32Array::from(vec![Some(40000), Some(5), None])),
        ),
        (
            "dstport",
            Arc::new(Int32Array::from(vec![Some(443), Some(22), None])),
        ),
        (
            "protocol",
            Arc::new(Int32Array::from(vec![Some(6), Some(6), None])),
        ),
        (
            "packets",
            Arc::new(Int64Array::from(vec![Some(10), Some(1), None])),
        ),
        (
            "bytes",
            Arc::new(Int64Array::from(vec![Some(1000), Some(40), None])),
        ),
        (
            "start",
            Arc::new(Int64Array::from(vec![
                1_700_000_000,
                1_700_000_000,
                1_700_000_000,
            ])),
        ),
        (
            "end",
            Arc::new(Int64Array::from(vec![
                1_700_000_060,
                1_700_000_060,
                1_700_000_060,
            ])),
        ),
        (
            "action",
            Arc::new(StringArray::from(vec![
                Some("ACCEPT"),
                Some("REJECT"),
                None,
            ])),
        ),
        (
            "log_status",
            Arc::new(StringArray::from(vec!["OK", "OK", "NODATA"])),
        ),
    ];
    let batch = RecordBatch::try_from_iter(cols).expect("batch");
    let p =
        t.0.join("AWSLogs/123456789010/vpcflowlogs/eu-west-1/2023/11/14/x.log.parquet");
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    let f = std::fs::File::create(&p).expect("create");
    let mut w = parquet::arrow::ArrowWriter::try_new(f, batch.schema(), None).expect("writer");
    w.write(&batch).expect("write");
    w.close().expect("close");
    let lake = t.0.join("lake");
    let out = run(
        &["ingest", p.to_str().expect("p"), "--summary", "json"],
        &lake,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = summary(&out);
    assert_eq!(s["total"]["read"], 3);
    assert_eq!(s["total"]["stored"], 2);
    let rows = query_json(
        &lake,
        &[
            "--sql",
            "SELECT src_ip, dst_port, bytes_out, action, region FROM flows ORDER BY src_ip",
        ],
    );
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["src_ip"], "10.0.0.1");
    assert_eq!(rows[0]["dst_port"], 443);
    assert_eq!(rows[0]["bytes_out"], 1000);
    assert_eq!(rows[0]["region"], "eu-west-1");
    assert_eq!(rows[1]["action"], "denied");
}

#[test]
fn every_flow_format_lands_in_one_table_and_one_query_spans_them() {
    let t = Tmp::new("allformats");
    let fx = Path::new(env!("CARGO_MANIFEST_DIR")).join("../flowtrail-formats/tests/fixtures");
    let testdata = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/netflow");
    let inputs: &[(PathBuf, &str)] = &[
        (fx.join("azure/nsg_v2_bce.PT1H.json"), "nsg.json"),
        (fx.join("azure/vnet_deny_encryption.PT1H.json"), "vnet.json"),
        (fx.join("cisco_asa/connections.log"), "asa.log"),
        (fx.join("fortigate/traffic.log"), "forti.log"),
        (fx.join("gcp_vpc/entries.ndjson"), "gcp.ndjson"),
        (fx.join("netflow/synthetic_v9.dat"), "v9.dat"),
        (fx.join("nfdump_csv/legacy_utc.csv"), "nfdump.csv"),
        (fx.join("panos/traffic.log"), "panos.log"),
        (fx.join("zeek_conn/conn_tsv.log"), "conn.log"),
        (testdata.join("softflowd-ipfix.pcap"), "softflowd.pcap"),
    ];
    let dir = t.0.join("in");
    for (src, name) in inputs {
        write(
            &dir.join(name),
            &std::fs::read(src).unwrap_or_else(|e| panic!("{}: {e}", src.display())),
        );
    }
    write(&dir.join("vpc.log"), vpc_lines().as_bytes());
    let lake = t.0.join("lake");
    let out = run(
        &["ingest", dir.to_str().expect("p"), "--summary", "json"],
        &lake,
    );
    let s = summary(&out);
    assert_eq!(s["failed_inputs"], 0, "{s}");
    // Accounting holds per input and in total.
    for i in s["inputs"].as_array().expect("inputs") {
        let skipped: u64 = i["skipped"]
            .as_object()
            .expect("map")
            .values()
            .map(|v| v.as_u64().expect("n"))
            .sum();
        assert_eq!(
            i["read"].as_u64().expect("read"),
            i["stored"].as_u64().expect("stored")
                + skipped
                + i["rejected"].as_u64().expect("rejected"),
            "{i}"
        );
    }
    let rows = query_json(
        &lake,
        &[
            "--sql",
            "SELECT source_format, count(*) AS n FROM flows GROUP BY 1 ORDER BY 1",
        ],
    );
    let formats: Vec<&str> = rows
        .iter()
        .map(|r| r["source_format"].as_str().expect("fmt"))
        .collect();
    assert_eq!(
        formats,
        [
            "aws_vpc",
            "azure_nsg",
            "azure_vnet",
            "cisco_asa",
            "fortigate",
            "gcp_vpc",
            "netflow",
            "netflow_pcap",
            "nfdump_csv",
            "panos",
            "zeek_conn"
        ]
    );
    let stored: u64 = rows.iter().map(|r| r["n"].as_u64().expect("n")).sum();
    assert_eq!(stored, s["total"]["stored"].as_u64().expect("stored"));
    // One filter over every source: TCP flows with a known destination port, any format.
    let any = query_json(
        &lake,
        &[
            "tcp and dport 0-65535",
            "--columns",
            "source_format",
            "--limit",
            "100000",
        ],
    );
    let mut seen: Vec<&str> = any
        .iter()
        .map(|r| r["source_format"].as_str().expect("fmt"))
        .collect();
    seen.sort();
    seen.dedup();
    assert!(seen.len() >= 9, "{seen:?}");
}

fn zscaler_line(time: &str, user: &str, device: &str, client: &str, url: &str, ua: &str) -> String {
    let host = url.split('/').next().unwrap_or(url);
    [
        time.to_string(),
        "reason=Allowed".into(),
        "action=Allowed".into(),
        "protocol=HTTPS".into(),
        "requestmethod=GET".into(),
        "status=200".into(),
        "serverip=198.51.100.40".into(),
        format!("ClientIP={client}"),
        format!("user={user}"),
        format!("url={url}"),
        format!("hostname={host}"),
        format!("useragent={ua}"),
        format!("devicehostname={device}"),
        "responsesize=1065".into(),
        "requestsize=598".into(),
    ]
    .join("\t")
}

#[test]
fn http_logs_answer_who_visited_a_domain_and_join_with_flows() {
    let t = Tmp::new("http");
    let lake = t.0.join("lake");
    let z = [
        zscaler_line(
            "2024-02-01 10:00:00",
            "alice@example.com",
            "LAPTOP-ALICE",
            "10.3.0.5",
            "login.evil.example/verify?id=1",
            "Mozilla/5.0 (Windows NT 10.0) Chrome/121.0",
        ),
        zscaler_line(
            "2024-02-01 10:05:00",
            "bob@example.com",
            "LAPTOP-BOB",
            "10.3.0.6",
            "cdn.evil.example/payload.exe",
            "curl/8.5.0",
        ),
        zscaler_line(
            "2024-02-01 10:06:00",
            "alice@example.com",
            "LAPTOP-ALICE",
            "10.3.0.5",
            "evil.example/",
            "Mozilla/5.0 (Windows NT 10.0) Chrome/121.0",
        ),
        zscaler_line(
            "2024-02-01 10:07:00",
            "carol@example.com",
            "MAC-CAROL",
            "10.3.0.7",
            "www.notevil.example/",
            "Safari/605.1",
        ),
    ]
    .join("\n")
        + "\n";
    let zf = t.0.join("zscaler.log");
    write(&zf, z.as_bytes());
    let out = run(
        &[
            "ingest",
            zf.to_str().expect("p"),
            "--format",
            "zscaler",
            "--summary",
            "json",
        ],
        &lake,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(summary(&out)["total"]["stored"], 4);

    // nginx combined log from stdin, detected by content.
    let nginx = "203.0.113.9 - - [01/Feb/2024:10:00:30 +0000] \"GET /wp-login.php?x=1 HTTP/1.1\" 404 153 \"-\" \"sqlmap/1.7\"\n";
    let mut child = bin()
        .arg("--lake")
        .arg(&lake)
        .args(["ingest", "-", "--summary", "json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(nginx.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = summary(&out);
    assert_eq!(s["inputs"][0]["format"], "nginx");
    assert_eq!(s["total"]["stored"], 1);

    // Which users requested URLs on evil.example (any subdomain), from which devices, with which UAs?
    let out = run(
        &[
            "top",
            "user,device,user_agent",
            "--table",
            "http",
            "--by",
            "flows",
            "domain evil.example",
            "-o",
            "json",
        ],
        &lake,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[0]["user"], "alice@example.com");
    assert_eq!(rows[0]["device"], "LAPTOP-ALICE");
    assert_eq!(rows[0]["requests"], 2);
    assert_eq!(rows[1]["user"], "bob@example.com");
    assert_eq!(rows[1]["user_agent"], "curl/8.5.0");
    // Filter language on HTTP fields.
    let rows = query_json(
        &lake,
        &["--table", "http", "status 4xx and ua contains sqlmap"],
    );
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["client_ip"], "203.0.113.9");
    let rows = query_json(
        &lake,
        &[
            "--table",
            "http",
            "url contains payload",
            "--columns",
            "host,domain,path",
        ],
    );
    assert_eq!(rows[0]["host"], "cdn.evil.example");
    assert_eq!(rows[0]["domain"], "evil.example");
    assert_eq!(rows[0]["path"], "/payload.exe");

    // SQL join between http and flows by client IP and time.
    let vpc = format!("{HEADER}\n2 1 eni-1 10.3.0.6 198.51.100.40 50000 443 6 900 9000000 1706781900 1706781960 ACCEPT OK\n");
    let vf = t.0.join("vpc.log");
    write(&vf, vpc.as_bytes());
    assert!(run(&["ingest", vf.to_str().expect("p")], &lake)
        .status
        .success());
    let rows = query_json(
        &lake,
        &[
            "--sql",
            "SELECT h.user, h.url, f.bytes_out FROM http h JOIN flows f ON f.src_ip = h.client_ip \
             AND f.time BETWEEN h.time - INTERVAL '5 minutes' AND h.time + INTERVAL '5 minutes' ORDER BY h.time",
        ],
    );
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["user"], "bob@example.com");
    assert_eq!(rows[0]["bytes_out"], 9_000_000);
}

/// Every Parquet file under `dir`, recursively.
fn parquet_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![];
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(parquet_files(&p));
            } else if p.extension().is_some_and(|x| x == "parquet") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn compaction_keeps_every_row_and_survives_a_crash() {
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let t = Tmp::new("compact");
    let lake = t.0.join("lake");
    // Five ingest runs of the same hour (two files in reverse time order each): five small
    // files in each of the two hour partitions.
    for i in 0..5 {
        let f = t.0.join(format!("in{i}.log"));
        let mut text = String::from(HEADER);
        text.push('\n');
        for j in (0..4).rev() {
            let start = 1418530010 + i * 100 + j * 10;
            text.push_str(&format!(
                "2 123456789010 eni-{i} 10.0.0.{j} 198.51.100.{i} 4000{j} 443 6 2 {} {start} {} ACCEPT OK\n",
                100 * (i + 1) + j,
                start + 60
            ));
        }
        // A second hour.
        text.push_str(&format!(
            "2 123456789010 eni-{i} 10.0.1.{i} 198.51.100.9 5000{i} 22 6 1 7 1418533610 1418533670 REJECT OK\n"
        ));
        write(&f, text.as_bytes());
        let out = run(&["ingest", f.to_str().expect("p")], &lake);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let all = "SELECT time, src_ip, dst_ip, src_port, bytes_out, action, origin, origin_line \
               FROM flows ORDER BY time, src_ip, origin_line";
    let before = query_json(&lake, &["--sql", all]);
    assert_eq!(before.len(), 25);
    let files_before = parquet_files(&lake.join("flows"));
    assert_eq!(files_before.len(), 10, "{files_before:?}");

    // Crash right after the journal line of the first replacement: new file staged, old files
    // still in place. The next run must finish that replacement, not double its rows.
    let out = bin()
        .arg("--lake")
        .arg(&lake)
        .args(["compact", "--threads", "1"])
        .env("FLOWTRAIL_FAILPOINT", "after-journal:1")
        .output()
        .expect("run");
    assert!(!out.status.success(), "the failpoint should have aborted");
    let out = run(&["compact", "--json"], &lake);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("recovered an interrupted run"));
    let s = summary(&out);
    // The interrupted run had replaced one partition; this run does the other.
    assert_eq!(s["tables"]["flows"]["files_before"], 5);
    assert_eq!(s["tables"]["flows"]["files_after"], 1);

    let after = query_json(&lake, &["--sql", all]);
    assert_eq!(after, before, "compaction changed the rows");
    let files_after = parquet_files(&lake.join("flows"));
    assert_eq!(files_after.len(), 2, "{files_after:?}");
    assert!(parquet_files(&lake.join("_staging")).is_empty());

    // Rows of a compacted file are in time order.
    for f in &files_after {
        let r = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(f).expect("open"))
            .expect("parquet")
            .build()
            .expect("reader");
        let mut times = vec![];
        for b in r {
            let b = b.expect("batch");
            let c = b
                .column_by_name("time")
                .expect("time")
                .as_any()
                .downcast_ref::<arrow::array::TimestampMicrosecondArray>()
                .expect("ts")
                .clone();
            times.extend(c.values().iter().copied());
        }
        assert!(times.windows(2).all(|w| w[0] <= w[1]), "{f:?}: {times:?}");
    }

    // Nothing left to do: a second compaction rewrites nothing.
    let s = summary(&run(&["compact", "--json"], &lake));
    assert_eq!(s["tables"]["flows"]["files_before"], 0);
    assert_eq!(s["tables"]["flows"]["files_kept"], 2);
}

#[test]
fn compaction_covers_http_and_leaves_damaged_files_alone() {
    let t = Tmp::new("compact-bad");
    let lake = t.0.join("lake");
    for i in 0..2 {
        let f = t.0.join(format!("access{i}.log"));
        let text: String = (0..3)
            .map(|j| {
                format!(
                    "203.0.113.{i} - - [14/Dec/2014:04:0{j}:5{i} +0000] \"GET /p{j} HTTP/1.1\" 200 {} \"-\" \"curl/8.{i}\"\n",
                    100 + j
                )
            })
            .collect();
        write(&f, text.as_bytes());
        let out = run(
            &["ingest", "--format", "nginx", f.to_str().expect("p")],
            &lake,
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v = t.0.join(format!("vpc{i}.log"));
        write(&v, vpc_lines().as_bytes());
        let out = run(&["ingest", v.to_str().expect("p")], &lake);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let all = "SELECT time, client_ip, url, status, bytes_out, user_agent, origin, origin_line \
               FROM http ORDER BY time, origin";
    let before = query_json(&lake, &["--sql", all]);
    assert_eq!(before.len(), 6);
    // A damaged file beside the flow files of the first hour.
    let hour = parquet_files(&lake.join("flows"))[0]
        .parent()
        .expect("dir")
        .to_path_buf();
    let junk = hour.join("junk.parquet");
    write(&junk, b"PAR1 not really parquet");

    let out = run(&["compact", "--json"], &lake);
    assert_eq!(out.status.code(), Some(1), "a damaged file is an error");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("junk.parquet") && err.contains("left as it is"),
        "{err}"
    );
    let s = summary(&out);
    assert_eq!(s["tables"]["http"]["files_before"], 2);
    assert_eq!(s["tables"]["http"]["files_after"], 1);
    // The flow files were still compacted; the damaged one was not touched.
    assert!(s["tables"]["flows"]["files_after"].as_u64().expect("n") >= 1);
    assert_eq!(
        s["tables"]["flows"]["errors"]
            .as_array()
            .expect("errors")
            .len(),
        1
    );
    assert!(junk.exists());
    assert_eq!(query_json(&lake, &["--sql", all]), before);
    assert_eq!(parquet_files(&lake.join("http")).len(), 1);
}

#[test]
fn queries_during_compaction_see_every_row_once() {
    // Many small files (one commit per input, per hour), compacted in bins of two or three
    // files, while queries run back to back: every query must succeed with the full answer,
    // never hitting a file compaction just removed or counting a bin and its replacement.
    let t = Tmp::new("compact-race");
    let lake = t.0.join("lake");
    let inputs = t.0.join("in");
    let mut rows = 0u64;
    let mut bytes = 0u64;
    for i in 0..60u64 {
        let mut text = String::from(HEADER);
        text.push('\n');
        for j in 0..40u64 {
            // Three hours, so each input lands in three partitions.
            let start = 1418530000 + (j % 3) * 3600 + i;
            let b = 1000 + i * 40 + j;
            text.push_str(&format!(
                "2 123456789010 eni-{i} 10.0.{i}.{j} 198.51.100.7 4{j:04} 443 6 3 {b} {start} {} ACCEPT OK\n",
                start + 30
            ));
            rows += 1;
            bytes += b;
        }
        write(&inputs.join(format!("f{i:02}.log")), text.as_bytes());
    }
    let out = run(
        &[
            "ingest",
            "--threads",
            "1",
            "--flush-rows",
            "10",
            inputs.to_str().expect("p"),
        ],
        &lake,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let files = parquet_files(&lake.join("flows")).len();
    assert!(files >= 150, "expected many small files, got {files}");

    let sql = "SELECT count(*) AS n, sum(bytes_out) AS b FROM flows";
    let want = (rows, bytes);
    let answer = |lake: &Path| -> Result<(u64, u64), String> {
        let out = run(&["query", "--sql", sql, "-o", "json"], lake);
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).into_owned());
        }
        let v: serde_json::Value = serde_json::from_slice(&out.stdout)
            .map_err(|e| format!("{e}: {}", String::from_utf8_lossy(&out.stdout)))?;
        let r = &v[0];
        Ok((r["n"].as_u64().unwrap_or(0), r["b"].as_u64().unwrap_or(0)))
    };
    assert_eq!(answer(&lake), Ok(want), "before compaction");

    let done = std::sync::atomic::AtomicBool::new(false);
    let (compacted, answers) = std::thread::scope(|s| {
        let c = s.spawn(|| {
            let out = run(
                &["compact", "--threads", "2", "--target-rows", "45", "--json"],
                &lake,
            );
            done.store(true, std::sync::atomic::Ordering::SeqCst);
            out
        });
        let q = s.spawn(|| {
            let mut answers = Vec::new();
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                answers.push(answer(&lake));
            }
            answers
        });
        (c.join().expect("compact"), q.join().expect("queries"))
    });
    assert!(
        compacted.status.success(),
        "{}",
        String::from_utf8_lossy(&compacted.stderr)
    );
    let s = summary(&compacted);
    let after = s["tables"]["flows"]["files_after"].as_u64().unwrap_or(0);
    assert!(after >= 25, "expected many swaps (one per new file): {s}");
    eprintln!("{} queries ran during compaction: {s}", answers.len());
    assert!(!answers.is_empty());
    let bad: Vec<_> = answers.iter().filter(|a| **a != Ok(want)).collect();
    assert!(
        bad.is_empty(),
        "{} of {} queries during compaction went wrong: {:?}",
        bad.len(),
        answers.len(),
        bad.first()
    );
    assert!(parquet_files(&lake.join("flows")).len() < files / 2);
    assert_eq!(answer(&lake), Ok(want), "after compaction");
}

/// A gzip file of two members (`cat a.gz b.gz`) whose second member inflates to exactly the
/// first one's size: the whole-file inflate must not stop after the first member.
#[test]
fn every_member_of_a_concatenated_gzip_is_read() {
    let t = Tmp::new("gzip-members");
    let rec = |port: u16, eni: &str| {
        format!("2 123456789010 {eni} 10.0.0.1 10.0.0.2 {port} 22 6 1 100 1418530010 1418530070 ACCEPT OK\n")
    };
    let first = format!("{HEADER}\n{}", rec(1001, "eni-1"));
    let (b, c) = (rec(2002, "eni-1"), rec(3003, "eni-1"));
    // Lengthen the last record's interface id until both members inflate to the same size.
    let pad = first.len() - b.len() - c.len();
    let second = b + &rec(3003, &format!("eni-1{}", "0".repeat(pad)));
    assert_eq!(first.len(), second.len(), "members of the same size");
    let mut data = gz(first.as_bytes());
    data.extend_from_slice(&gz(second.as_bytes()));
    let logs = t.0.join("logs");
    write(&logs.join("two-members.log.gz"), &data);
    let lake = t.0.join("lake");
    let out = run(
        &["ingest", logs.to_str().expect("utf8"), "--summary", "json"],
        &lake,
    );
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = summary(&out);
    assert_eq!(s["total"]["read"], 3, "{s}");
    assert_eq!(s["total"]["stored"], 3, "{s}");
    let rows = query_json(
        &lake,
        &["--sql", "SELECT src_port FROM flows ORDER BY src_port"],
    );
    let ports: Vec<i64> = rows
        .iter()
        .map(|r| r["src_port"].as_i64().expect("port"))
        .collect();
    assert_eq!(ports, [1001, 2002, 3003]);
}
