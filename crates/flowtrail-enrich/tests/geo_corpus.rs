//! GeoIP/ASN lookups against MaxMind's real test databases (corpus `mmdb/`), with the known
//! answers listed in the corpus README, a cross-check against the geo/AS fields of Elastic's
//! expected outputs, and MaxMind's corrupt databases (errors, never panics).
#![allow(clippy::unwrap_used)]

mod common;

use std::net::IpAddr;
use std::path::PathBuf;

use common::corpus;
use flowtrail_enrich::geo::GeoDb;
use flowtrail_enrich::Cidr;

fn test_data() -> Option<PathBuf> {
    corpus("mmdb/maxmind-MaxMind-DB/test-data")
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-4)
}

#[test]
fn city_and_asn_known_answers() {
    let Some(dir) = test_data() else { return };
    for city in ["GeoIP2-City-Test.mmdb", "GeoLite2-City-Test.mmdb"] {
        let db = GeoDb::open([dir.join(city), dir.join("GeoLite2-ASN-Test.mmdb")]).unwrap();
        assert_eq!(db.databases().len(), 2);
        assert!(db.databases()[0].database_type().contains("City"));

        let g = db.lookup(ip("81.2.69.142"));
        assert_eq!(
            (g.country_iso, g.city),
            (Some("GB"), Some("London")),
            "{city}"
        );
        assert!(close(g.lat, 51.5142) && close(g.lon, -0.0931), "{g:?}");
        assert_eq!(g.asn, None);
        // IPv4-mapped and 6to4 aliases reach the IPv4 data.
        assert_eq!(db.lookup(ip("::ffff:81.2.69.142")).city, Some("London"));
        assert_eq!(db.lookup(ip("2002:5102:458e::1")).city, Some("London"));

        let g = db.lookup(ip("216.160.83.56"));
        assert_eq!((g.country_iso, g.city), (Some("US"), Some("Milton")));
        assert_eq!((g.asn, g.as_org), (Some(209), None));

        for a in ["89.160.20.112", "89.160.20.129", "89.160.20.156"] {
            let g = db.lookup(ip(a));
            assert_eq!(
                (g.country_iso, g.city),
                (Some("SE"), Some("Linköping")),
                "{a}"
            );
            assert_eq!(
                (g.asn, g.as_org),
                (Some(29518), Some("Bredband2 AB")),
                "{a}"
            );
        }
        assert_eq!(db.lookup(ip("2.125.160.216")).city, Some("Boxford"));
        for a in ["175.16.199.0", "175.16.199.1"] {
            let g = db.lookup(ip(a));
            assert_eq!(
                (g.country_iso, g.city),
                (Some("CN"), Some("Changchun")),
                "{a}"
            );
        }
        // Bhutan: country only (registered_country RO is not used).
        for a in ["67.43.156.93", "67.43.156.13"] {
            let g = db.lookup(ip(a));
            assert_eq!((g.country_iso, g.city), (Some("BT"), None), "{a}");
            assert!(close(g.lat, 27.5) && close(g.lon, 90.5));
            assert_eq!((g.asn, g.as_org), (Some(35908), None));
        }
        let g = db.lookup(ip("2a02:cf40:2:d0::378c:e001"));
        assert_eq!(g.country_iso, Some("NO"));
        assert!(close(g.lat, 62.0) && close(g.lon, 10.0));

        let g = db.lookup(ip("1.128.0.1"));
        assert_eq!(
            (g.country_iso, g.asn, g.as_org),
            (None, Some(1221), Some("Telstra Pty Ltd"))
        );
        assert_eq!(db.lookup(ip("12.81.92.1")).as_org, Some("AT&T Services"));
        for a in ["10.0.0.1", "8.8.8.8", "1.1.1.1", "::1"] {
            assert!(db.lookup(ip(a)).is_empty(), "{a}");
            assert!(db.try_lookup(ip(a)).unwrap().is_empty());
        }
    }
}

#[test]
fn country_and_isp_databases() {
    let Some(dir) = test_data() else { return };
    let db = GeoDb::open([dir.join("GeoIP2-Country-Test.mmdb")]).unwrap();
    let g = db.lookup(ip("81.2.69.142"));
    assert_eq!((g.country_iso, g.city, g.lat), (Some("GB"), None, None));
    let db = GeoDb::open([dir.join("GeoIP2-ISP-Test.mmdb")]).unwrap();
    let g = db.lookup(ip("1.128.0.1"));
    assert_eq!((g.asn, g.as_org), (Some(1221), Some("Telstra Pty Ltd")));
    // Field-wise merge: the first database with a field wins.
    let db = GeoDb::open([
        dir.join("GeoIP2-Country-Test.mmdb"),
        dir.join("GeoLite2-City-Test.mmdb"),
    ])
    .unwrap();
    let g = db.lookup(ip("89.160.20.112"));
    assert_eq!((g.country_iso, g.city), (Some("SE"), Some("Linköping")));
    assert!(GeoDb::new().lookup(ip("89.160.20.112")).is_empty());
}

#[test]
fn generic_test_databases() {
    // IPv4-only and IPv6 trees with record sizes 24/28/32: lookups answer or find nothing,
    // IPv6 addresses on IPv4 trees find nothing, nothing panics.
    let Some(dir) = test_data() else { return };
    for size in [24, 28, 32] {
        for fam in ["ipv4", "ipv6", "mixed"] {
            let p = dir.join(format!("MaxMind-DB-test-{fam}-{size}.mmdb"));
            let db = GeoDb::open([&p]).unwrap();
            for a in [
                "1.1.1.1",
                "1.1.1.3",
                "::1:ffff:ffff",
                "::2:0:40",
                "2001:db8::1",
                "::ffff:1.1.1.1",
            ] {
                // These databases hold `{"ip": ...}` records: no geo fields.
                assert!(db.lookup(ip(a)).is_empty(), "{} {a}", p.display());
                let _ = db.try_lookup(ip(a));
            }
        }
    }
    for name in [
        "MaxMind-DB-test-decoder.mmdb",
        "MaxMind-DB-test-nested.mmdb",
        "MaxMind-DB-test-pointer-decoder.mmdb",
        "MaxMind-DB-string-value-entries.mmdb",
        "MaxMind-DB-no-ipv4-search-tree.mmdb",
        "MaxMind-DB-test-metadata-pointers.mmdb",
        "GeoIP2-Enterprise-Test.mmdb",
        "GeoIP2-Domain-Test.mmdb",
        "GeoIP2-Anonymous-IP-Test.mmdb",
    ] {
        let db = GeoDb::open([dir.join(name)]).unwrap_or_else(|e| panic!("{name}: {e}"));
        for a in ["1.1.1.1", "::1.1.1.0", "81.2.69.160", "2001:218::", "::"] {
            let _ = db.lookup(ip(a));
        }
    }
    let ent = GeoDb::open([dir.join("GeoIP2-Enterprise-Test.mmdb")]).unwrap();
    assert_eq!(ent.lookup(ip("74.209.24.0")).country_iso, Some("US"));
}

#[test]
fn corrupt_databases_error_without_panic() {
    let Some(root) = corpus("mmdb/maxmind-MaxMind-DB") else {
        return;
    };
    let mut files = vec![
        root.join("test-data/GeoIP2-City-Test-Broken-Double-Format.mmdb"),
        root.join("test-data/GeoIP2-City-Test-Invalid-Node-Count.mmdb"),
        root.join("test-data/MaxMind-DB-test-broken-pointers-24.mmdb"),
        root.join("test-data/MaxMind-DB-test-broken-search-tree-24.mmdb"),
    ];
    for sub in ["libmaxminddb", "maxminddb-golang", "maxminddb-python"] {
        if let Ok(rd) = std::fs::read_dir(root.join("bad-data").join(sub)) {
            files.extend(rd.flatten().map(|e| e.path()));
        }
    }
    assert!(files.len() >= 25, "{}", files.len());
    let mut opened = 0;
    let mut lookup_errors = 0;
    for f in &files {
        match GeoDb::open([f]) {
            Err(e) => eprintln!("{}: open error: {e}", f.display()),
            Ok(db) => {
                opened += 1;
                for a in [
                    "1.1.1.1",
                    "81.2.69.142",
                    "89.160.20.112",
                    "2001:db8::1",
                    "::",
                    "255.255.255.255",
                ] {
                    if db.try_lookup(ip(a)).is_err() {
                        lookup_errors += 1;
                    }
                    let _ = db.lookup(ip(a));
                }
                let _ = db.verify();
            }
        }
    }
    eprintln!(
        "{} corrupt files: {opened} opened, {lookup_errors} lookup errors",
        files.len()
    );
    // A reader that "works" on every broken file would be suspicious.
    assert!(opened < files.len() || lookup_errors > 0);
    assert!(GeoDb::open([root.join("does-not-exist.mmdb")]).is_err());
    assert!(GeoDb::open([root.join("LICENSE-MIT")]).is_err());
}

/// Elastic's expected outputs carry geo/AS fields computed from the same test databases:
/// enriching their IPs must give the same country, city, location and AS.
#[test]
fn matches_elastic_expected_geo() {
    let Some(dir) = test_data() else { return };
    let Some(root) = corpus("") else { return };
    let db = GeoDb::open([
        dir.join("GeoLite2-City-Test.mmdb"),
        dir.join("GeoLite2-ASN-Test.mmdb"),
    ])
    .unwrap();
    let files = [
        "cisco-asa/elastic-integrations/test-302020-direction.log-expected.json",
        "aws-vpc/elastic-integrations/test-v8-samples.log-expected.json",
        "aws-vpc/elastic-integrations/test-v5-all-fields.log-expected.json",
        "iis/elastic-integrations/test-iis-access.log-expected.json",
        "panos/elastic-integrations/test-panw-panos-time-sample.log-expected.json",
        "panos/elastic-integrations/test-panw-panos-threat-url-no-xff-sample.log-expected.json",
    ];
    let doc_ranges: Vec<Cidr> = ["192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"]
        .iter()
        .map(|n| Cidr::parse(n).unwrap())
        .collect();
    let mut checked = 0;
    let mut doc_skipped = 0;
    for f in files {
        let path = root.join(f);
        if !path.is_file() {
            eprintln!("SKIPPED: {} absent", path.display());
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(&common::text(&path)).unwrap();
        for doc in v["expected"].as_array().into_iter().flatten() {
            for side in ["source", "destination", "client", "server"] {
                let s = &doc[side];
                let Some(addr) = s["ip"].as_str() else {
                    continue;
                };
                if s.get("geo").is_none() && s.get("as").is_none() {
                    continue;
                }
                let a = ip(addr);
                if doc_ranges.iter().any(|n| n.contains(a)) {
                    // Elastic's newer test databases also map the documentation ranges
                    // (203.0.113.20 -> Madrid, AS64502); MaxMind's do not.
                    assert!(db.lookup(a).is_empty(), "{f} {addr}");
                    doc_skipped += 1;
                    continue;
                }
                let g = db.lookup(a);
                let geo = &s["geo"];
                assert_eq!(
                    g.country_iso,
                    geo["country_iso_code"].as_str(),
                    "{f} {addr}"
                );
                assert_eq!(g.city, geo["city_name"].as_str(), "{f} {addr}");
                if let Some(lat) = geo["location"]["lat"].as_f64() {
                    assert!(close(g.lat, lat), "{f} {addr}");
                    assert!(
                        close(g.lon, geo["location"]["lon"].as_f64().unwrap()),
                        "{f} {addr}"
                    );
                }
                assert_eq!(
                    g.asn.map(u64::from),
                    s["as"]["number"].as_u64(),
                    "{f} {addr}"
                );
                assert_eq!(
                    g.as_org,
                    s["as"]["organization"]["name"].as_str(),
                    "{f} {addr}"
                );
                checked += 1;
            }
        }
    }
    eprintln!(
        "{checked} Elastic geo/AS expectations checked, {doc_skipped} in documentation ranges"
    );
    assert!(checked >= 10, "{checked}");
}
