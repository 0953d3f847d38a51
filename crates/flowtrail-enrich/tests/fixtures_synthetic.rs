//! Synthetic fixtures (documentation address ranges, invented names): assets, user bindings,
//! STIX validity windows, the intel store end to end, and flow direction.
#![allow(clippy::unwrap_used)]

mod common;

use std::net::IpAddr;

use common::fixture;
use flowtrail_enrich::feeds::{parse_bytes, FeedFormat};
use flowtrail_enrich::time::parse_timestamp;
use flowtrail_enrich::{AssetInventory, IntelStore, InternalNetworks, TiIndex, UserBindings};
use flowtrail_schema::Direction;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn t(s: &str) -> i64 {
    parse_timestamp(s).unwrap()
}

#[test]
fn asset_inventory() {
    let (inv, rep) = AssetInventory::from_csv(&fixture("assets.csv"));
    assert_eq!(inv.len(), 6);
    assert_eq!(rep.parsed, 6);
    assert_eq!(rep.skipped_total, 1);
    assert_eq!(rep.skipped[0].location, "line 9");
    let web = inv.lookup(ip("192.0.2.10")).unwrap();
    assert_eq!(web.hostname.as_deref(), Some("web-01"));
    assert_eq!(web.criticality.as_deref(), Some("high"));
    assert_eq!(web.tags, ["web", "prod"]);
    let dmz = inv.lookup(ip("192.0.2.99")).unwrap();
    assert_eq!(
        (dmz.hostname.as_deref(), dmz.tags.len()),
        (Some("dmz-segment"), 2)
    );
    assert_eq!(
        inv.lookup(ip("198.51.100.127")).unwrap().owner.as_deref(),
        Some("it")
    );
    assert!(inv.lookup(ip("198.51.100.128")).is_none());
    assert_eq!(
        inv.lookup(ip("2001:db8:10::5")).unwrap().tags,
        ["db", "lab"]
    );
    assert_eq!(
        inv.lookup(ip("2001:db8:10::6"))
            .unwrap()
            .hostname
            .as_deref(),
        Some("v6-lab")
    );
    assert_eq!(inv.lookup_all(ip("192.0.2.11")).count(), 2);
}

#[test]
fn user_bindings() {
    let (u, rep) = UserBindings::from_csv(&fixture("users.csv"));
    assert_eq!(u.len(), 5);
    assert_eq!(rep.skipped_total, 1);
    assert_eq!(rep.skipped[0].reason, "end is not after start");
    let a = ip("192.0.2.50");
    assert_eq!(u.user_at(a, t("2024-03-01T07:59:59Z")), None);
    assert_eq!(u.user_at(a, t("2024-03-01T09:00:00Z")), Some("alice"));
    // Overlap 11:30-12:00: the later start (bob) wins.
    assert_eq!(u.user_at(a, t("2024-03-01T11:45:00Z")), Some("bob"));
    assert_eq!(u.user_at(a, t("2024-03-01T16:59:59Z")), Some("bob"));
    assert_eq!(u.user_at(a, t("2024-03-01T17:00:00Z")), None);
    // +01:00 offset: carol from 08:00Z, open-ended.
    assert_eq!(u.user_at(a, t("2024-03-02T07:59:59Z")), None);
    assert_eq!(u.user_at(a, t("2024-03-02T08:00:00Z")), Some("carol"));
    assert_eq!(u.user_at(a, t("2025-01-01T00:00:00Z")), Some("carol"));
    // Epoch seconds and milliseconds.
    assert_eq!(
        u.user_at(ip("192.0.2.51"), 1_709_280_000_000_000),
        Some("dave")
    );
    assert_eq!(u.user_at(ip("192.0.2.51"), 1_709_283_600_000_000), None);
    assert_eq!(
        u.user_at(ip("2001:db8::51"), 1_709_290_000_000_000),
        Some("erin")
    );
    assert_eq!(u.user_at(ip("192.0.2.52"), t("2024-03-01T09:30:00Z")), None);
}

#[test]
fn stix_validity_windows() {
    let (format, p) = parse_bytes(fixture("stix_validity.json").as_bytes(), None, "fixture");
    assert_eq!(format, FeedFormat::Stix);
    // 1 IP + (domain + network) + user agent; the AND of two observations is skipped.
    assert_eq!(p.indicators.len(), 4);
    assert_eq!(p.report.skipped_total, 1);
    assert!(p.report.skipped[0]
        .reason
        .contains("observation expressions joined by AND"));
    let idx = TiIndex::build(p.indicators);
    let c2 = ip("203.0.113.7");
    assert!(idx.match_ip(c2, t("2023-12-31T23:59:59Z")).is_empty());
    let hits = idx.match_ip(c2, t("2024-01-15T00:00:00Z"));
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].confidence, Some(85));
    assert_eq!(hits[0].labels, ["c2", "example-family"]);
    assert_eq!(
        hits[0].description.as_deref(),
        Some("C2 address for January")
    );
    assert_eq!(hits[0].feed, "fixture");
    // valid_until is exclusive.
    assert!(idx.match_ip(c2, t("2024-02-01T00:00:00Z")).is_empty());
    // The OR pattern: domain with subdomains and a /24, both from February.
    assert!(idx
        .match_domain("www.login.example.net", t("2024-01-31T00:00:00Z"))
        .is_empty());
    assert_eq!(
        idx.match_domain("www.login.example.net", t("2024-02-02T00:00:00Z"))
            .len(),
        1
    );
    assert!(idx
        .match_domain("example.net", t("2024-02-02T00:00:00Z"))
        .is_empty());
    assert_eq!(
        idx.match_ip(ip("198.51.100.200"), t("2030-01-01T00:00:00Z"))
            .len(),
        1
    );
    assert_eq!(
        idx.match_user_agent("ExampleBot/6.6", t("2024-06-01T00:00:00Z"))
            .len(),
        1
    );
    assert!(idx
        .match_user_agent("examplebot/6.6", t("2024-06-01T00:00:00Z"))
        .is_empty());
    assert!(idx
        .match_ip(ip("203.0.113.8"), t("2024-06-01T00:00:00Z"))
        .is_empty());
}

#[test]
fn store_end_to_end() {
    let dir = std::env::temp_dir().join(format!("ft-enrich-it-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut store = IntelStore::open(&dir).unwrap();
    let (fmt, p) = parse_bytes(fixture("stix_validity.json").as_bytes(), None, "ignored");
    store
        .add_feed("stix-fixture", "tests/fixtures/stix_validity.json", fmt, p)
        .unwrap();
    let list = b"# synthetic list\n192.0.2.66\n2001:db8:bad::/48\nbad.example.org\nhttp://bad.example.org/x\n";
    let (fmt, p) = parse_bytes(list, None, "ignored");
    assert_eq!(fmt, FeedFormat::List);
    store.add_feed("list", "inline", fmt, p).unwrap();
    store.save().unwrap();

    let loaded = IntelStore::load(&dir).unwrap();
    let names: Vec<_> = loaded
        .list()
        .map(|m| (m.name.clone(), m.indicator_count))
        .collect();
    assert_eq!(
        names,
        [("stix-fixture".to_string(), 4), ("list".to_string(), 4)]
    );
    let idx = loaded.into_index();
    assert_eq!(idx.len(), 8);
    let when = t("2024-01-10T00:00:00Z");
    assert_eq!(
        idx.match_ip(ip("203.0.113.7"), when)[0].feed,
        "stix-fixture"
    );
    assert_eq!(idx.match_ip(ip("2001:db8:bad::1"), when)[0].feed, "list");
    assert_eq!(idx.match_any("http://bad.example.org/x", when).len(), 2);
    assert_eq!(idx.match_any("mail.bad.example.org", when).len(), 1);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn direction() {
    let nets = InternalNetworks::default();
    assert_eq!(
        nets.classify(ip("192.168.1.10"), ip("203.0.113.5")),
        Direction::Outbound
    );
    assert_eq!(
        nets.classify(ip("203.0.113.5"), ip("10.0.0.1")),
        Direction::Inbound
    );
    assert_eq!(
        nets.classify(ip("100.64.1.1"), ip("172.16.0.1")),
        Direction::Internal
    );
    assert_eq!(
        nets.classify(ip("fe80::1"), ip("fd12::1")),
        Direction::Internal
    );
    assert_eq!(
        nets.classify(ip("2001:db8::1"), ip("198.51.100.1")),
        Direction::External
    );
    let custom = InternalNetworks::parse("198.51.100.0/24").unwrap();
    assert_eq!(
        custom.classify(ip("198.51.100.1"), ip("10.0.0.1")),
        Direction::Outbound
    );
}
