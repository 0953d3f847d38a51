//! End-to-end enrichment: intel feeds (STIX, MISP, plain list) added to a lake, `ti_match` on
//! flows and HTTP, GeoIP/ASN functions on the MaxMind test databases, and retro-hunting over data
//! dated last month. Fixtures are synthetic (documentation addresses and `.example` names).

use std::path::{Path, PathBuf};
use std::process::Output;

mod common;
use common::{bin, Tmp};

fn run(args: &[&str], lake: &Path) -> Output {
    bin()
        .arg("--lake")
        .arg(lake)
        .args(args)
        .output()
        .expect("run flowtrail")
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "status {:?}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The MaxMind test databases, when the shared corpus is present.
fn mmdb_dir() -> Option<PathBuf> {
    let d = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpus/mmdb/maxmind-MaxMind-DB/test-data");
    if d.join("GeoIP2-City-Test.mmdb").is_file() && d.join("GeoLite2-ASN-Test.mmdb").is_file() {
        Some(d)
    } else {
        eprintln!(
            "skipping: MaxMind test databases not found under {}",
            d.display()
        );
        None
    }
}

const STIX: &str = r#"{"type":"bundle","id":"bundle--5d0092c5-5f74-4287-9642-33f4c354e56d","objects":[
 {"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
  "created":"2024-01-01T00:00:00.000Z","modified":"2024-01-01T00:00:00.000Z",
  "name":"C2 server","pattern":"[ipv4-addr:value = '198.51.100.66']","pattern_type":"stix",
  "valid_from":"2024-01-01T00:00:00Z"}]}"#;

const MISP: &str = r#"{"Event":{"uuid":"5f0c6b8e-0000-4000-8000-000000000001","info":"Synthetic UA",
 "Attribute":[{"uuid":"5f0c6b8e-0000-4000-8000-000000000002","type":"user-agent","value":"EvilBot/6.6","to_ids":true}]}}"#;

const LIST: &str = "# synthetic domains\nevil.example\n";

const NOW_SECS_SLACK: u64 = 30 * 86_400;

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

/// Writes a VPC file and a Zeek http.log (JSON) dated ~30 days ago, with one planted match each.
fn write_logs(dir: &Path) -> (PathBuf, PathBuf) {
    let t = now_secs() - NOW_SECS_SLACK;
    let vpc = dir.join("vpc.log");
    let header = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status";
    let lines = [
        header.to_string(),
        format!(
            "2 123456789010 eni-1 10.0.0.5 198.51.100.66 50000 443 6 10 5000 {t} {} ACCEPT OK",
            t + 60
        ),
        format!(
            "2 123456789010 eni-1 10.0.0.5 89.160.20.156 50001 443 6 10 5000 {t} {} ACCEPT OK",
            t + 60
        ),
        format!(
            "2 123456789010 eni-1 10.0.0.6 192.0.2.10 50002 80 6 3 180 {t} {} ACCEPT OK",
            t + 60
        ),
    ];
    std::fs::write(&vpc, lines.join("\n") + "\n").expect("write vpc");
    let http = dir.join("http.log");
    let rec = |ts: u64, host: &str, ua: &str, resp: &str| {
        format!(
            r#"{{"ts":{ts}.25,"uid":"C1","id.orig_h":"10.0.0.7","id.orig_p":51000,"id.resp_h":"{resp}","id.resp_p":80,"method":"GET","host":"{host}","uri":"/x","user_agent":"{ua}","status_code":200}}"#
        )
    };
    let lines = [
        rec(t, "cdn.evil.example", "Mozilla/5.0", "192.0.2.20"),
        rec(t + 1, "www.good.example", "EvilBot/6.6", "192.0.2.21"),
        rec(t + 2, "www.good.example", "Mozilla/5.0", "192.0.2.22"),
    ];
    std::fs::write(&http, lines.join("\n") + "\n").expect("write http");
    (vpc, http)
}

fn setup(tmp: &Tmp) -> PathBuf {
    let lake = tmp.0.join("lake");
    let (vpc, http) = write_logs(&tmp.0);
    ok(&run(
        &["ingest", vpc.to_str().expect("path"), "--format", "aws_vpc"],
        &lake,
    ));
    ok(&run(
        &[
            "ingest",
            http.to_str().expect("path"),
            "--format",
            "zeek_http",
        ],
        &lake,
    ));
    for (file, text, name, format) in [
        ("feed.stix.json", STIX, "acme-stix", "auto"),
        ("feed.misp.json", MISP, "acme-misp", "misp"),
        ("domains.txt", LIST, "acme-domains", "list"),
    ] {
        let p = tmp.0.join(file);
        std::fs::write(&p, text).expect("write feed");
        let out = ok(&run(
            &[
                "intel",
                "add",
                p.to_str().expect("path"),
                "--name",
                name,
                "--format",
                format,
            ],
            &lake,
        ));
        assert!(out.contains(&format!("added {name}")), "{out}");
    }
    lake
}

#[test]
fn intel_add_list_update_remove() {
    let tmp = Tmp::new("crud");
    let lake = setup(&tmp);
    let list = ok(&run(&["intel", "list"], &lake));
    for (name, format) in [
        ("acme-stix", "stix"),
        ("acme-misp", "misp"),
        ("acme-domains", "list"),
    ] {
        let line = list
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("{name} not listed: {list}"));
        assert!(line.contains(format), "{line}");
    }
    // Update from a new file: the feed gains an indicator.
    let p = tmp.0.join("domains2.txt");
    std::fs::write(&p, "evil.example\nworse.example\n").expect("write");
    let out = ok(&run(
        &["intel", "update", "acme-domains", p.to_str().expect("path")],
        &lake,
    ));
    assert!(out.contains("2 indicators"), "{out}");
    // And again from its (new) stored source.
    let out = ok(&run(&["intel", "update", "acme-domains"], &lake));
    assert!(out.contains("2 indicators"), "{out}");
    ok(&run(&["intel", "remove", "acme-misp"], &lake));
    let list = ok(&run(&["intel", "list"], &lake));
    assert!(!list.contains("acme-misp"), "{list}");
    assert!(!run(&["intel", "remove", "acme-misp"], &lake)
        .status
        .success());
    // A duplicate name is refused.
    let stix = tmp.0.join("feed.stix.json");
    let out = run(
        &[
            "intel",
            "add",
            stix.to_str().expect("path"),
            "--name",
            "acme-stix",
        ],
        &lake,
    );
    assert!(!out.status.success());
}

#[test]
fn ti_match_marks_flows_and_http_with_the_feed() {
    let tmp = Tmp::new("match");
    let lake = setup(&tmp);
    let out = ok(&run(
        &[
            "query",
            "--sql",
            "SELECT dst_ip, ti_match(dst_ip) AS feed FROM flows WHERE ti_match(dst_ip) IS NOT NULL",
            "-o",
            "csv",
        ],
        &lake,
    ));
    assert_eq!(out.trim(), "dst_ip,feed\n198.51.100.66,acme-stix", "{out}");
    let out = ok(&run(
        &[
            "query",
            "--sql",
            "SELECT host, user_agent, ti_match(host) AS host_feed, ti_match(user_agent) AS ua_feed \
             FROM http ORDER BY time",
            "-o",
            "csv",
        ],
        &lake,
    ));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        [
            "host,user_agent,host_feed,ua_feed",
            "cdn.evil.example,Mozilla/5.0,acme-domains,",
            "www.good.example,EvilBot/6.6,,acme-misp",
            "www.good.example,Mozilla/5.0,,",
        ],
        "{out}"
    );
}

#[test]
fn geo_and_asn_functions() {
    let Some(dir) = mmdb_dir() else { return };
    let tmp = Tmp::new("geo");
    let lake = setup(&tmp);
    let geoip = format!(
        "{},{}",
        dir.join("GeoIP2-City-Test.mmdb").display(),
        dir.join("GeoLite2-ASN-Test.mmdb").display()
    );
    let out = ok(&run(
        &[
            "--geoip",
            &geoip,
            "query",
            "--sql",
            "SELECT dst_ip, geo_country(dst_ip) AS cc, asn(dst_ip) AS asn, as_org(dst_ip) AS org \
             FROM flows WHERE dst_ip = '89.160.20.156'",
            "-o",
            "csv",
        ],
        &lake,
    ));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(lines[1].starts_with("89.160.20.156,SE,29518,"), "{out}");
    // Addresses the databases do not know give NULL.
    let out = ok(&run(
        &[
            "--geoip",
            &geoip,
            "query",
            "--sql",
            "SELECT geo_country('192.0.2.10') AS cc, asn('not an ip') AS asn",
            "-o",
            "csv",
        ],
        &lake,
    ));
    assert_eq!(out.trim(), "cc,asn\n,", "{out}");
}

#[test]
fn asset_and_user_functions() {
    let tmp = Tmp::new("ctx");
    let lake = setup(&tmp);
    let assets = tmp.0.join("assets.csv");
    std::fs::write(&assets, "ip,hostname,owner\n10.0.0.5,build-01,ci\n").expect("write");
    let users = tmp.0.join("users.csv");
    std::fs::write(
        &users,
        "ip,user,start,end\n10.0.0.5,alice,2000-01-01T00:00:00Z,2100-01-01T00:00:00Z\n",
    )
    .expect("write");
    let out = ok(&run(
        &[
            "--assets",
            assets.to_str().expect("path"),
            "--user-bindings",
            users.to_str().expect("path"),
            "query",
            "--sql",
            "SELECT DISTINCT src_ip, asset(src_ip) AS host, user_at(src_ip, time) AS usr \
             FROM flows ORDER BY src_ip",
            "-o",
            "csv",
        ],
        &lake,
    ));
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        ["src_ip,host,usr", "10.0.0.5,build-01,alice", "10.0.0.6,,"],
        "{out}"
    );
}

#[test]
fn retro_finds_last_months_matches() {
    let tmp = Tmp::new("retro");
    let lake = setup(&tmp);
    let out = ok(&run(
        &["intel", "retro", "--since", "90d", "-o", "csv"],
        &lake,
    ));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines.first().copied(),
        Some("time,source_table,field,value,feed,origin,origin_line"),
        "{out}"
    );
    let has = |table: &str, field: &str, value: &str, feed: &str| {
        lines.iter().any(|l| {
            l.contains(&format!(",{table},{field},{value},{feed},")) && l.contains(".log,")
        })
    };
    assert!(
        has("flows", "dst_ip", "198.51.100.66", "acme-stix"),
        "{out}"
    );
    assert!(
        has("http", "host", "cdn.evil.example", "acme-domains"),
        "{out}"
    );
    assert!(
        has("http", "user_agent", "EvilBot/6.6", "acme-misp"),
        "{out}"
    );
    assert_eq!(lines.len(), 4, "{out}");
    // Outside the window: nothing.
    let out = ok(&run(
        &["intel", "retro", "--since", "7d", "-o", "csv"],
        &lake,
    ));
    assert!(out.lines().count() <= 1, "{out}");
}

#[test]
fn ingest_fills_enrichment_columns() {
    let tmp = Tmp::new("ingest");
    let lake = tmp.0.join("lake");
    for (file, text, name) in [
        ("feed.stix.json", STIX, "acme-stix"),
        ("feed.misp.json", MISP, "acme-misp"),
        ("domains.txt", LIST, "acme-domains"),
    ] {
        let p = tmp.0.join(file);
        std::fs::write(&p, text).expect("write feed");
        ok(&run(
            &["intel", "add", p.to_str().expect("path"), "--name", name],
            &lake,
        ));
    }
    let (vpc, http) = write_logs(&tmp.0);
    let geo = mmdb_dir().map(|d| {
        format!(
            "{},{}",
            d.join("GeoIP2-City-Test.mmdb").display(),
            d.join("GeoLite2-ASN-Test.mmdb").display()
        )
    });
    let mut args: Vec<&str> = Vec::new();
    if let Some(g) = &geo {
        args.extend(["--geoip", g.as_str()]);
    }
    let ingest = |file: &Path, format: &str| {
        let mut a = args.clone();
        a.extend(["ingest", file.to_str().expect("path"), "--format", format]);
        ok(&run(&a, &lake));
    };
    ingest(&vpc, "aws_vpc");
    ingest(&http, "zeek_http");
    let out = ok(&run(
        &[
            "query",
            "--sql",
            "SELECT dst_ip, dst_country, dst_asn, ti_hits FROM flows ORDER BY dst_ip",
            "-o",
            "csv",
        ],
        &lake,
    ));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    assert_eq!(lines[1], "192.0.2.10,,,", "{out}");
    assert_eq!(lines[2], "198.51.100.66,,,acme-stix", "{out}");
    if geo.is_some() {
        assert_eq!(lines[3], "89.160.20.156,SE,29518,", "{out}");
    } else {
        assert_eq!(lines[3], "89.160.20.156,,,", "{out}");
    }
    let out = ok(&run(
        &[
            "query",
            "--sql",
            "SELECT host, user_agent, ti_hits FROM http ORDER BY time",
            "-o",
            "csv",
        ],
        &lake,
    ));
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        [
            "host,user_agent,ti_hits",
            "cdn.evil.example,Mozilla/5.0,acme-domains",
            "www.good.example,EvilBot/6.6,acme-misp",
            "www.good.example,Mozilla/5.0,",
        ],
        "{out}"
    );
}

/// Files written before the enrichment columns existed stay queryable: the missing columns
/// read as NULL.
#[test]
fn old_files_without_enrichment_columns_are_queryable() {
    use arrow::array::{Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
    use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
    use std::sync::Arc;

    let tmp = Tmp::new("old");
    let lake = tmp.0.join("lake");
    let dir = lake.join("flows/date=2024-05-01/hour=10");
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::create_dir_all(lake.join("http")).expect("mkdir");
    let schema = Arc::new(Schema::new(vec![
        Field::new(
            "time",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
        Field::new("source_format", DataType::Utf8, false),
        Field::new("origin", DataType::Utf8, true),
        Field::new("origin_line", DataType::Int64, true),
        Field::new("src_ip", DataType::Utf8, true),
        Field::new("dst_ip", DataType::Utf8, true),
        Field::new("extra", DataType::Utf8, true),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(
                TimestampMicrosecondArray::from(vec![1_714_557_600_000_000i64])
                    .with_timezone("UTC"),
            ),
            Arc::new(StringArray::from(vec!["aws_vpc"])),
            Arc::new(StringArray::from(vec!["old.log"])),
            Arc::new(Int64Array::from(vec![7i64])),
            Arc::new(StringArray::from(vec!["10.0.0.1"])),
            Arc::new(StringArray::from(vec!["198.51.100.66"])),
            Arc::new(StringArray::from(vec![None::<&str>])),
        ],
    )
    .expect("batch");
    let file = std::fs::File::create(dir.join("old.parquet")).expect("create");
    let mut w = parquet::arrow::ArrowWriter::try_new(file, schema, None).expect("writer");
    w.write(&batch).expect("write");
    w.close().expect("close");
    let out = ok(&run(
        &[
            "query",
            "--sql",
            "SELECT dst_ip, dst_country, dst_asn, ti_hits, bytes_out FROM flows",
            "-o",
            "csv",
        ],
        &lake,
    ));
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        [
            "dst_ip,dst_country,dst_asn,ti_hits,bytes_out",
            "198.51.100.66,,,,"
        ],
        "{out}"
    );
    // And retro-hunting still finds it through the SQL function.
    let p = tmp.0.join("stix.json");
    std::fs::write(&p, STIX).expect("write");
    ok(&run(
        &[
            "intel",
            "add",
            p.to_str().expect("path"),
            "--name",
            "acme-stix",
        ],
        &lake,
    ));
    let out = ok(&run(&["intel", "retro", "-o", "csv"], &lake));
    assert!(
        out.contains(",flows,dst_ip,198.51.100.66,acme-stix,old.log,7"),
        "{out}"
    );
}
