//! A TAXII 2.1 collection as an intel feed, against a real TAXII server: medallion (PyPI
//! `medallion`, the OASIS reference server) run on a free loopback port with its in-memory
//! backend and a page size of 2, so the client has to follow `more`/`next`.
//!
//! Skips with a message when medallion is not installed (`python3 -m pip install medallion`),
//! unless `FLOWTRAIL_REQUIRE_TAXII_SERVER` is set, when that is a failure. Fixtures are synthetic
//! (documentation addresses and `.example` names).

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const USER: &str = "hunter";
const PASSWORD: &str = "s3cret pass";
const API_ROOT: &str = "intel1";
const COLLECTION: &str = "5d3c1a2b-9a1e-4c55-8f0e-1b2a3c4d5e6f";

mod common;
use common::{bin, python_module, Tmp};

/// The medallion process; killed and reaped on drop.
struct Server {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn indicator(n: u32, pattern: &str, name: &str, modified: &str) -> Value {
    json!({
        "type": "indicator",
        "spec_version": "2.1",
        "id": format!("indicator--00000000-0000-4000-8000-{n:012}"),
        "created": "2024-01-01T00:00:00.000Z",
        "modified": modified,
        "name": name,
        "indicator_types": ["malicious-activity"],
        "labels": ["c2"],
        "confidence": 80,
        "pattern": pattern,
        "pattern_type": "stix",
        "valid_from": "2024-01-01T00:00:00Z"
    })
}

/// The collection's objects: three usable indicators (IPv4, domain, URL), one YARA indicator
/// (skipped by the parser) and an identity (not an indicator).
fn objects() -> Vec<Value> {
    vec![
        json!({
            "type": "identity", "spec_version": "2.1",
            "id": "identity--00000000-0000-4000-8000-000000000009",
            "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z",
            "name": "Example CERT", "identity_class": "organization"
        }),
        indicator(
            1,
            "[ipv4-addr:value = '198.51.100.7']",
            "C2 server",
            "2024-01-02T00:00:00.000Z",
        ),
        indicator(
            2,
            "[domain-name:value = 'c2.evil.example']",
            "C2 domain",
            "2024-01-03T00:00:00.000Z",
        ),
        indicator(
            3,
            "[url:value = 'http://dl.evil.example/payload.bin']",
            "Payload URL",
            "2024-01-04T00:00:00.000Z",
        ),
        json!({
            "type": "indicator", "spec_version": "2.1",
            "id": "indicator--00000000-0000-4000-8000-000000000004",
            "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-05T00:00:00.000Z",
            "pattern": "rule x { condition: true }", "pattern_type": "yara",
            "valid_from": "2024-01-01T00:00:00Z"
        }),
    ]
}

/// Medallion's memory-backend data file: one API root with one readable collection.
fn data_file(port: u16) -> Value {
    let objects = objects();
    let manifest: Vec<Value> = objects
        .iter()
        .enumerate()
        .map(|(i, o)| {
            json!({
                "date_added": format!("2024-02-0{}T00:00:00.000000Z", i + 1),
                "id": o["id"],
                "media_type": "application/stix+json;version=2.1",
                "version": o["modified"],
            })
        })
        .collect();
    json!({
        "/discovery": {
            "title": "flowtrail test TAXII server",
            "default": format!("http://127.0.0.1:{port}/{API_ROOT}/"),
            "api_roots": [format!("http://127.0.0.1:{port}/{API_ROOT}/")]
        },
        API_ROOT: {
            "information": {
                "title": "Test API root",
                "versions": ["application/taxii+json;version=2.1"],
                "max_content_length": 9_765_625
            },
            "status": [],
            "collections": [{
                "id": COLLECTION,
                "title": "Test indicators",
                "can_read": true,
                "can_write": true,
                "media_types": ["application/stix+json;version=2.1"],
                "manifest": manifest,
                "objects": objects
            }]
        }
    })
}

fn free_port() -> u16 {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind loopback");
    l.local_addr().expect("local addr").port()
}

fn start_server(dir: &Path) -> Server {
    let port = free_port();
    let data = dir.join("data.json");
    std::fs::write(&data, data_file(port).to_string()).expect("write data");
    let config = json!({
        "backend": {
            "module": "medallion.backends.memory_backend",
            "module_class": "MemoryBackend",
            "filename": data.to_str().expect("path")
        },
        "users": {USER: PASSWORD},
        "taxii": {"max_page_size": 2}
    });
    let config_path = dir.join("config.json");
    std::fs::write(&config_path, config.to_string()).expect("write config");
    let log = dir.join("medallion.log");
    let log_file = std::fs::File::create(&log).expect("log file");
    let child = Command::new("python3")
        .args([
            "-m",
            "medallion.scripts.run",
            "--host",
            "127.0.0.1",
            "--port",
        ])
        .arg(port.to_string())
        .arg(&config_path)
        .stdin(Stdio::null())
        .stdout(log_file.try_clone().expect("log file"))
        .stderr(log_file)
        .spawn()
        .expect("start medallion");
    let mut server = Server { child, port, log };
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return server;
        }
        if let Ok(Some(status)) = server.child.try_wait() {
            panic!(
                "medallion exited with {status} before listening:\n{}",
                std::fs::read_to_string(&server.log).unwrap_or_default()
            );
        }
        assert!(
            Instant::now() < deadline,
            "medallion did not listen on {addr} within 30 s:\n{}",
            std::fs::read_to_string(&server.log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn run(args: &[&str], lake: &Path, password_env: Option<&str>) -> Output {
    let mut c = bin();
    c.arg("--lake").arg(lake).args(args);
    c.env_remove("FLOWTRAIL_TAXII_PASSWORD");
    if let Some(p) = password_env {
        c.env("FLOWTRAIL_TAXII_PASSWORD", p);
    }
    c.output().expect("run flowtrail")
}

fn ok(out: &Output, server: &Server) -> String {
    assert!(
        out.status.success(),
        "status {:?}\nstdout: {}\nstderr: {}\nserver log:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(&server.log).unwrap_or_default()
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Adds objects to the collection through the TAXII API (POST .../objects/).
fn post_objects(server: &Server, objects: &[Value]) {
    let url = format!(
        "http://127.0.0.1:{}/{API_ROOT}/collections/{COLLECTION}/objects/",
        server.port
    );
    let config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build();
    let agent = ureq::Agent::new_with_config(config);
    let media = "application/taxii+json;version=2.1";
    let mut resp = agent
        .post(&url)
        .header("Accept", media)
        .header("Content-Type", media)
        // base64("hunter:s3cret pass")
        .header("Authorization", "Basic aHVudGVyOnMzY3JldCBwYXNz")
        .send(json!({ "objects": objects }).to_string())
        .expect("POST objects");
    let status = resp.status();
    let body = resp.body_mut().read_to_string().unwrap_or_default();
    assert!(status.is_success(), "POST {url}: {status}: {body}");
    assert!(
        body.contains("\"success_count\":2") || body.contains("\"success_count\": 2"),
        "{body}"
    );
}

fn collection_url(server: &Server) -> String {
    format!(
        "taxii+http://127.0.0.1:{}/{API_ROOT}/collections/{COLLECTION}/",
        server.port
    )
}

#[test]
fn taxii_collection_as_feed() {
    if !python_module("medallion", "FLOWTRAIL_REQUIRE_TAXII_SERVER") {
        return;
    }
    let tmp = Tmp::new("feed");
    let server = start_server(&tmp.0);
    let lake = tmp.0.join("lake");
    let url = collection_url(&server);

    // Wrong password: the error names the objects URL and the HTTP status.
    let out = run(
        &[
            "intel",
            "add",
            &url,
            "--name",
            "acme-taxii",
            "--user",
            USER,
            "--password",
            "nope",
        ],
        &lake,
        None,
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    let objects_url = format!(
        "http://127.0.0.1:{}/{API_ROOT}/collections/{COLLECTION}/objects/",
        server.port
    );
    assert!(err.contains(&objects_url), "{err}");
    assert!(err.contains("401"), "{err}");

    // A missing collection: 404 with the URL.
    let missing = url.replace(COLLECTION, "00000000-0000-4000-8000-00000000dead");
    let out = run(
        &["intel", "add", &missing, "--name", "x", "--user", USER],
        &lake,
        Some(PASSWORD),
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("00000000dead/objects/") && err.contains("404"),
        "{err}"
    );

    // The real thing: 5 objects over 3 pages of 2, password from the environment.
    let out = run(
        &["intel", "add", &url, "--name", "acme-taxii", "--user", USER],
        &lake,
        Some(PASSWORD),
    );
    let stdout = ok(&out, &server);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stdout.contains("added acme-taxii (stix): 3 indicators, 1 skipped"),
        "{stdout}"
    );
    assert!(stderr.contains("5 objects in 3 pages"), "{stderr}");
    assert!(stderr.contains("yara"), "{stderr}");

    // Listed with its source (user, no password).
    let list = ok(&run(&["intel", "list"], &lake, None), &server);
    let line = list
        .lines()
        .find(|l| l.starts_with("acme-taxii"))
        .unwrap_or_else(|| panic!("not listed: {list}"));
    assert!(line.contains(" 3 "), "{line}");
    let stored = format!(
        "taxii+http://{USER}@127.0.0.1:{}/{API_ROOT}/collections/{COLLECTION}/",
        server.port
    );
    assert!(line.contains(&stored), "{line}");
    assert!(!list.contains("s3cret"), "{list}");

    // The indicators match: a flow to the listed IP (and not the other one), the domain and
    // the URL.
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
        - 3600;
    let vpc = tmp.0.join("vpc.log");
    std::fs::write(
        &vpc,
        format!(
            "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n\
             2 123456789010 eni-1 10.0.0.5 198.51.100.7 50000 443 6 10 5000 {t} {e} ACCEPT OK\n\
             2 123456789010 eni-1 10.0.0.6 192.0.2.10 50002 80 6 3 180 {t} {e} ACCEPT OK\n",
            e = t + 60
        ),
    )
    .expect("write vpc");
    ok(
        &run(
            &["ingest", vpc.to_str().expect("path"), "--format", "aws_vpc"],
            &lake,
            None,
        ),
        &server,
    );
    let out = ok(
        &run(
            &[
                "query",
                "--sql",
                "SELECT dst_ip, ti_match(dst_ip) AS feed, ti_match('c2.evil.example') AS domain, \
                 ti_match('http://dl.evil.example/payload.bin') AS url FROM flows ORDER BY dst_ip",
                "-o",
                "csv",
            ],
            &lake,
            None,
        ),
        &server,
    );
    assert_eq!(
        out.trim(),
        "dst_ip,feed,domain,url\n\
         192.0.2.10,,acme-taxii,acme-taxii\n\
         198.51.100.7,acme-taxii,acme-taxii,acme-taxii",
        "{out}"
    );

    // `intel update` fetches the collection again with the stored user and the password from
    // the environment; without a password it fails with 401.
    let out = run(&["intel", "update", "acme-taxii"], &lake, None);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("401"),
        "{out:?}"
    );
    let out = run(&["intel", "update", "acme-taxii"], &lake, Some(PASSWORD));
    let stdout = ok(&out, &server);
    assert!(
        stdout.contains("updated acme-taxii: 3 indicators, 0 skipped"),
        "{stdout}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("0 new objects in 1 page"), "{stderr}");

    // New objects on the server: a revocation of the IPv4 indicator and a new one. The next
    // update asks only for objects added since the last fetch (`added_after`), drops the
    // revoked indicator and keeps the others.
    let mut revoked = indicator(
        1,
        "[ipv4-addr:value = '198.51.100.7']",
        "C2 server",
        "2024-03-01T00:00:00.000Z",
    );
    revoked["revoked"] = json!(true);
    let added = indicator(
        5,
        "[ipv4-addr:value = '203.0.113.9']",
        "New C2",
        "2024-03-01T00:00:00.000Z",
    );
    post_objects(&server, &[revoked, added]);
    let out = run(&["intel", "update", "acme-taxii"], &lake, Some(PASSWORD));
    let stdout = ok(&out, &server);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("2 new objects in 1 page"), "{stderr}");
    assert!(
        stdout.contains("updated acme-taxii: 3 indicators, 1 skipped"),
        "{stdout}"
    );
    let matches = |lake: &Path| {
        ok(
            &run(
                &[
                    "query",
                    "--sql",
                    "SELECT ti_match('198.51.100.7') AS old, ti_match('203.0.113.9') AS new, \
                     ti_match('c2.evil.example') AS domain FROM flows LIMIT 1",
                    "-o",
                    "csv",
                ],
                lake,
                None,
            ),
            &server,
        )
    };
    let out = matches(&lake);
    assert_eq!(
        out.trim(),
        "old,new,domain\n,acme-taxii,acme-taxii",
        "{out}"
    );
    // `--full` reads the whole collection again (the server sends the newest version of each
    // object): the same indicators.
    let out = run(
        &["intel", "update", "acme-taxii", "--full"],
        &lake,
        Some(PASSWORD),
    );
    let stdout = ok(&out, &server);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("6 objects in 3 pages"), "{stderr}");
    assert!(
        stdout.contains("updated acme-taxii: 3 indicators"),
        "{stdout}"
    );
    assert_eq!(
        matches(&lake).trim(),
        "old,new,domain\n,acme-taxii,acme-taxii",
        "after --full"
    );

    // --format other than stix is refused for a TAXII source.
    let out = run(
        &[
            "intel", "add", &url, "--name", "y", "--user", USER, "--format", "list",
        ],
        &lake,
        Some(PASSWORD),
    );
    assert!(!out.status.success());
    drop(server);
}
