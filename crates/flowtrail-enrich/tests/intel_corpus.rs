//! Feed parsers and matching against the third-party intel samples of the shared corpus.
//! Expected counts were established independently (line counts, `grep`, a short Python walk of
//! the JSON) and are explained next to each entry.
#![allow(clippy::unwrap_used)]

mod common;

use common::{corpus, text};
use flowtrail_enrich::feeds::{ColumnRef, CsvMapping, FeedFormat, Parsed};
use flowtrail_enrich::ti::{IndicatorKind, TiIndex, ANY_TIME};
use flowtrail_enrich::time::parse_timestamp;

fn parse(rel: &str, format: &FeedFormat) -> Option<Parsed> {
    let path = corpus(&format!("intel/{rel}"))?;
    let p = format.parse(&text(&path), rel);
    eprintln!(
        "{rel}: {} parsed, {} skipped {:?}",
        p.report.parsed,
        p.report.skipped_total,
        p.report.reason_summary()
    );
    assert_eq!(p.report.parsed, p.indicators.len());
    Some(p)
}

fn counts(rel: &str, format: FeedFormat, parsed: usize, skipped: usize) -> Option<Parsed> {
    let p = parse(rel, &format)?;
    assert_eq!(
        (p.indicators.len(), p.report.skipped_total),
        (parsed, skipped),
        "{rel}: (parsed, skipped); skipped: {:#?}",
        p.report.skipped.iter().take(10).collect::<Vec<_>>()
    );
    Some(p)
}

#[test]
fn plain_lists() {
    use FeedFormat::List;
    // 2,892 entries after the `#` header, all valid: 2,490 networks + 402 addresses (`grep -v
    // '^#' | grep -c /`; the corpus README's "2,492 CIDR" also counted two URL comment lines).
    if let Some(p) = counts("blocklists/firehol/firehol_level1.netset", List, 2892, 0) {
        let cidrs = p
            .indicators
            .iter()
            .filter(|i| i.kind == IndicatorKind::Cidr)
            .count();
        assert_eq!(cidrs, 2490);
        let idx = TiIndex::build(p.indicators);
        // fullbogons: private space matches (the README's warning).
        let hits = idx.match_ip("10.1.2.3".parse().unwrap(), ANY_TIME);
        assert_eq!(hits[0].value, "10.0.0.0/8");
        assert!(idx
            .match_ip("8.8.8.8".parse().unwrap(), ANY_TIME)
            .is_empty());
        assert_eq!(
            idx.match_ip("1.19.200.1".parse().unwrap(), 0)[0].value,
            "1.19.0.0/16"
        );
    }
    counts("blocklists/spamhaus/onezero1010101/drop.txt", List, 1406, 0);
    // NDJSON: 1,406 `cidr` rows; the trailing metadata line is not an entry.
    if let Some(p) = counts(
        "blocklists/spamhaus/onezero1010101/drop_v4.json",
        List,
        1406,
        0,
    ) {
        assert_eq!(p.indicators[0].value, "1.10.16.0/20");
        assert_eq!(p.indicators[0].reference.as_deref(), Some("SBL256894"));
    }
    // 51 IPv6 networks, each line ending with a space.
    if let Some(p) = counts(
        "blocklists/spamhaus/secops-institute/drop_ipv6.txt",
        List,
        51,
        0,
    ) {
        assert!(p.indicators.iter().all(|i| i.kind == IndicatorKind::Cidr));
    }
    // 201 ASN rows: AS numbers are not matchable indicators.
    counts(
        "blocklists/spamhaus/secops-institute/asn_drop.json",
        List,
        0,
        201,
    );
    // Legacy Spamhaus: `1.4.0.0/17 ; SBL256893` and an IPv6 line; `;` header lines.
    if let Some(p) = counts("blocklists/intelmq/spamhaus/drop.txt", List, 2, 0) {
        assert_eq!(p.indicators[1].value, "2a06:e480::/29");
        assert_eq!(p.indicators[1].reference.as_deref(), Some("SBL301771"));
    }
    counts("blocklists/intelmq/spamhaus/asndrop.txt", List, 0, 2);
    // DShield: two /24 rows; the `Start End Netblock ...` column header is reported.
    if let Some(p) = counts("blocklists/intelmq/dshield/block.txt", List, 2, 1) {
        assert_eq!(p.indicators[0].value, "43.229.53.0/24");
        assert_eq!(p.indicators[1].value, "194.63.140.0/24");
    }
    counts("blocklists/intelmq/blocklistde/imap.txt", List, 6, 0);
    counts("lists/feeds2stix/ipsum_level_8_sample.txt", List, 20, 0);
    counts("lists/feeds2stix/cinsscore_sample.txt", List, 10, 0);
    if let Some(p) = counts("lists/feeds2stix/vxvault_sample.txt", List, 10, 0) {
        assert!(p.indicators.iter().all(|i| i.kind == IndicatorKind::Url));
        let idx = TiIndex::build(p.indicators);
        assert_eq!(
            idx.match_url("HTTP://MARSALEK.CY:443/static/abcfg.exe", 0)
                .len(),
            0
        );
        assert_eq!(
            idx.match_url("https://MARSALEK.CY:443/static/abcfg.exe", 0)
                .len(),
            1
        );
        assert_eq!(idx.match_url("http://190.198.218.210:1171/i", 0).len(), 1);
    }
}

#[test]
fn abusech_csv() {
    // Feodo Tracker: 28 rows, plain quoted header, `# END 28 entries` footer.
    if let Some(p) = counts(
        "abusech/feodotracker/wizard-projects/ipblocklist.csv",
        FeedFormat::Feodo,
        28,
        0,
    ) {
        let first = &p.indicators[0];
        assert_eq!(first.value, "192.9.135.73");
        assert_eq!(first.labels, ["Pikabot"]);
        assert_eq!(first.first_seen, parse_timestamp("2023-05-23T17:51:44Z"));
        let idx = TiIndex::build(p.indicators);
        assert_eq!(idx.match_ip("172.233.221.61".parse().unwrap(), 0).len(), 1);
        assert!(idx
            .match_ip("172.233.221.62".parse().unwrap(), 0)
            .is_empty());
    }
    counts(
        "abusech/feodotracker/intelmq/feodoips.txt",
        FeedFormat::Feodo,
        2,
        0,
    );
    // URLhaus: header in a `#` comment (feeds2stix excerpt), plain (kiritepungaupp subset), and
    // the old per-TLD layout with `URL`/`Threat` capitalised.
    if let Some(p) = counts(
        "abusech/urlhaus/feeds2stix/urlhaus_csv_recent_excerpt.csv",
        FeedFormat::Urlhaus,
        10,
        0,
    ) {
        let i = &p.indicators[0];
        assert_eq!(i.value, "http://182.126.120.150:58801/i");
        assert_eq!(
            i.labels,
            ["malware_download", "32-bit", "elf", "mips", "Mozi"]
        );
        assert_eq!(
            i.reference.as_deref(),
            Some("https://urlhaus.abuse.ch/url/3786237/")
        );
        // `None` tags give no label.
        assert_eq!(p.indicators[8].labels, ["malware_download"]);
        let idx = TiIndex::build(p.indicators);
        assert_eq!(
            idx.match_url("http://182.126.120.150:58801/i#frag", 0)
                .len(),
            1
        );
        assert_eq!(
            idx.match_url(
                "https://pub-462189601a584e8fad4889d4ed31f4f4.r2.dev:443/Zoom%20Setup.exe",
                0
            )
            .len(),
            1
        );
        assert!(idx
            .match_url(
                "https://pub-462189601a584e8fad4889d4ed31f4f4.r2.dev/Zoom Setup.exe",
                0
            )
            .is_empty());
    }
    counts(
        "abusech/urlhaus/kiritepungaupp/urlhaus_csv_online_subset.csv",
        FeedFormat::Urlhaus,
        200,
        0,
    );
    if let Some(p) = counts(
        "abusech/urlhaus/intelmq/urlhaus_tld_feed.txt",
        FeedFormat::Urlhaus,
        2,
        0,
    ) {
        assert_eq!(
            p.indicators[0].value,
            "http://marconuenlist.ch/verif.accounts.docs.net/"
        );
        assert_eq!(p.indicators[0].labels, ["malware_download"]);
        assert!(p.indicators[0].first_seen.is_some());
    }
    // ThreatFox: `", "` separators, 1 url + 4 ip:port.
    if let Some(p) = counts(
        "abusech/threatfox/feeds2stix/threatfox_full_dump_excerpt.csv",
        FeedFormat::Threatfox,
        5,
        0,
    ) {
        assert_eq!(p.indicators[0].kind, IndicatorKind::Url);
        assert_eq!(p.indicators[0].confidence, Some(75));
        assert_eq!(p.indicators[1].value, "8.134.12.90");
        assert_eq!(
            p.indicators[1].labels,
            [
                "Cobalt Strike",
                "botnet_cc",
                "CobaltStrike",
                "cs-watermark-987654321"
            ]
        );
    }
    // Detection picks the built-in mappings.
    for (rel, want) in [
        (
            "abusech/feodotracker/wizard-projects/ipblocklist.csv",
            "feodo",
        ),
        (
            "abusech/urlhaus/feeds2stix/urlhaus_csv_recent_excerpt.csv",
            "urlhaus",
        ),
        (
            "abusech/urlhaus/kiritepungaupp/urlhaus_csv_online_subset.csv",
            "urlhaus",
        ),
        (
            "abusech/threatfox/feeds2stix/threatfox_full_dump_excerpt.csv",
            "threatfox",
        ),
        ("blocklists/firehol/firehol_level1.netset", "list"),
        ("blocklists/spamhaus/onezero1010101/drop_v4.json", "list"),
        ("stix21/oasis-cti-documentation/apt1.json", "stix"),
        (
            "stix21/elastic-ti_custom/test-indicator-ip-ndjson.log",
            "stix",
        ),
        ("misp/pymisp/to_delete2.json", "misp"),
        ("misp/pymisp/existing_event.json", "misp"),
        ("taxii21/oasis-cti-taxii-server/default_data.json", "stix"),
        ("misp-stix/test_events_collection_stix21.json", "stix"),
        ("blocklists/spamhaus/secops-institute/asn_drop.json", "list"),
        ("misp-stix/test_events_collection_1.json", "misp"),
    ] {
        if let Some(path) = corpus(&format!("intel/{rel}")) {
            assert_eq!(FeedFormat::detect(&text(&path)).name(), want, "{rel}");
        }
    }
}

#[test]
fn custom_csv_mappings() {
    // ViriBack: Family,URL,IP,FirstSeen (dd-mm-yyyy dates are not parsed: no first_seen).
    let mut viri = CsvMapping::new(ColumnRef::name("URL"), Some(IndicatorKind::Url));
    viri.labels = vec![ColumnRef::name("Family")];
    if let Some(p) = counts(
        "lists/feeds2stix/viriback_dump.csv",
        FeedFormat::Csv {
            mapping: Box::new(viri),
        },
        10,
        0,
    ) {
        assert_eq!(p.indicators[9].labels, ["Lokibot"]);
        assert_eq!(
            p.indicators[9].value,
            "http://unimasa.icu/dapper/five/PvqDq929BSx_A_D_M1n_a.php"
        );
    }
    // The same file's IP column, by position, header row skipped.
    let mut by_ip = CsvMapping::new(ColumnRef::Index(2), Some(IndicatorKind::Ip));
    by_ip.header_rows = 1;
    counts(
        "lists/feeds2stix/viriback_dump.csv",
        FeedFormat::Csv {
            mapping: Box::new(by_ip),
        },
        10,
        0,
    );
    // PhishTank: quoted `"JPMorgan Chase and Co."` target, ISO times with +00:00.
    let mut pt = CsvMapping::new(ColumnRef::name("url"), Some(IndicatorKind::Url));
    pt.labels = vec![ColumnRef::name("target")];
    pt.first_seen = Some(ColumnRef::name("submission_time"));
    pt.reference = Some(ColumnRef::name("phish_detail_url"));
    if let Some(p) = counts(
        "lists/phishtank/vulchain/phishtank_online_valid_subset.csv",
        FeedFormat::Csv {
            mapping: Box::new(pt),
        },
        18,
        0,
    ) {
        assert!(p
            .indicators
            .iter()
            .any(|i| i.labels == ["JPMorgan Chase and Co."]));
        assert_eq!(
            p.indicators[0].first_seen,
            parse_timestamp("2026-08-18T15:55:12Z")
        );
        // `http://allegrolokalnie.623456ip.top` is stored with its path `/`.
        assert_eq!(
            p.indicators[0].value,
            "http://allegrolokalnie.623456ip.top/"
        );
    }
    // SSLBL lists certificate hashes only: the SHA1 column is not a matchable kind.
    let mut sslbl = CsvMapping::new(ColumnRef::name("SHA1"), None);
    sslbl.labels = vec![ColumnRef::name("Listingreason")];
    if let Some(p) = parse(
        "abusech/sslbl/feeds2stix/sslblacklist_1.csv",
        &FeedFormat::Csv {
            mapping: Box::new(sslbl),
        },
    ) {
        assert!(p.indicators.is_empty());
        assert!(p.report.skipped_total > 200);
        assert!(p.report.skipped[0]
            .reason
            .starts_with("unrecognised indicator"));
    }
}

#[test]
fn stix_bundles() {
    use FeedFormat::Stix;
    // APT1: 4 /15 networks written as ipv4-addr values, 3 domains; 3 MD5s and 2 AND-joined
    // x509 patterns skipped.
    if let Some(p) = counts("stix21/oasis-cti-documentation/apt1.json", Stix, 7, 5) {
        let idx = TiIndex::build(p.indicators);
        let hits = idx.match_ip("223.167.200.1".parse().unwrap(), ANY_TIME);
        assert_eq!(hits[0].value, "223.166.0.0/15");
        assert_eq!(idx.match_domain("mail.hugesoft.org", ANY_TIME).len(), 1);
        assert!(idx.match_domain("hugesoft.org.evil", ANY_TIME).is_empty());
        // valid_from 2015-05-15: nothing before it.
        let before = parse_timestamp("2015-05-14T00:00:00Z").unwrap();
        assert!(idx.match_domain("hugesoft.org", before).is_empty());
    }
    // Poison Ivy: 25 indicators, 23 usable (65 comparisons joined by OR), 2 on file names; one
    // OR member's value is literally "domain autuo.xicp.net" (a typo in the OASIS example) and
    // is reported as a bad domain.
    if let Some(p) = counts("stix21/oasis-cti-documentation/poisonivy.json", Stix, 64, 3) {
        assert!(p
            .report
            .skipped
            .iter()
            .any(|s| s.reason == "bad domain \"domain autuo.xicp.net\""));
    }
    counts(
        "stix21/oasis-cti-documentation/indicator-for-malicious-url.json",
        Stix,
        1,
        0,
    );
    counts(
        "stix21/oasis-cti-documentation/malware-indicator-for-file-hash.json",
        Stix,
        0,
        1,
    );
    counts(
        "stix21/oasis-cti-documentation/sighting-of-an-indicator.json",
        Stix,
        1,
        0,
    );
    // MATCHES on an e-mail path.
    if let Some(p) = counts(
        "stix21/oasis-cti-documentation/using-granular-markings.json",
        Stix,
        0,
        1,
    ) {
        assert_eq!(
            p.report.skipped[0].reason,
            "object path email-message:from_ref.value is not supported"
        );
    }
    counts("stix21/oasis-cti-documentation/apt1.json", Stix, 7, 5);
    counts(
        "stix21/oasis-cti-documentation/threat-actor-leveraging-attack-patterns-and-malware.json",
        Stix,
        0,
        0,
    );
    counts(
        "stix21/oasis-cti-stix2-json-schemas/indicator-for-c2-ip-address.json",
        Stix,
        1,
        0,
    );
    // Padded brackets `[ ipv4-addr:value = '10.0.0.0' ]`.
    counts(
        "stix21/oasis-cti-stix2-json-schemas/indicator-to-campaign-relationship.json",
        Stix,
        1,
        0,
    );
    counts(
        "stix21/oasis-cti-stix2-json-schemas/indicators-for-C2-with-COA.json",
        Stix,
        1,
        1,
    );
    counts(
        "stix21/oasis-cti-stix2-json-schemas/malicious-email-indicator-with-attachment.json",
        Stix,
        0,
        2,
    );
    // feeds2stix: `[ipv4-addr:value='1.2.3.4']` without spaces; SSLBL x509 hashes skipped.
    counts("stix21/feeds2stix/ipsum_level_8.json", Stix, 58, 0);
    counts("stix21/feeds2stix/cinsscore_bundle.json", Stix, 3, 0);
    counts("stix21/feeds2stix/vxvault_bundle.json", Stix, 101, 0);
    counts("stix21/feeds2stix/sslblacklist_BazarCall.json", Stix, 0, 5);
    // MISP-exported bundle: domain kept; `domain AND resolves_to_refs` and file name skipped.
    if let Some(p) = counts("misp-stix/test_events_collection_stix21.json", Stix, 1, 2) {
        assert!(p
            .report
            .skipped
            .iter()
            .any(|s| s.reason.starts_with("AND-joined comparisons")));
    }
    // 7 non-MISP indicators: domain, IPv4, URL usable; AS number, e-mail AND, MAC, mutex not.
    counts(
        "misp-stix/external_stix21_to_misp_attributes.json",
        Stix,
        3,
        4,
    );
}

#[test]
fn stix_ndjson_opencti() {
    use FeedFormat::Stix;
    // The IP and URL exports are all `revoked: true`.
    if let Some(p) = counts(
        "stix21/elastic-ti_custom/test-indicator-ip-ndjson.log",
        Stix,
        0,
        2,
    ) {
        assert!(p.report.skipped.iter().all(|s| s.reason == "revoked"));
    }
    counts(
        "stix21/elastic-ti_custom/test-indicator-url-ndjson.log",
        Stix,
        0,
        1,
    );
    // Domain export: one revoked, two mixed domain+IP OR patterns (4 + 6 comparisons).
    if let Some(p) = counts(
        "stix21/elastic-ti_custom/test-indicator-domain-name-ndjson.log",
        Stix,
        10,
        1,
    ) {
        let idx = TiIndex::build(p.indicators);
        let t = parse_timestamp("2020-01-01T00:00:00Z").unwrap();
        assert_eq!(idx.match_domain("www.webserver.dynssl.com", t).len(), 1);
        // 89.160.20.129 appears in both indicators.
        assert_eq!(idx.match_ip("89.160.20.129".parse().unwrap(), t).len(), 2);
        assert_eq!(idx.match_domain("x.microsoftc.byinter.net", t).len(), 1);
        // valid_from is 2015-05-15.
        let early = parse_timestamp("2010-01-01T00:00:00Z").unwrap();
        assert!(idx
            .match_ip("89.160.20.129".parse().unwrap(), early)
            .is_empty());
    }
}

#[test]
fn taxii_versions() {
    // Three versions of indicator--6770298f: the newest (2017-01-27, x4z9arb.cn/4712 per the
    // corpus README) wins, the two older are reported superseded; the SHA-256 one is skipped.
    if let Some(p) = counts(
        "taxii21/oasis-cti-taxii-server/default_data.json",
        FeedFormat::Stix,
        1,
        3,
    ) {
        assert_eq!(p.indicators[0].value, "http://x4z9arb.cn/4712");
        let superseded = p
            .report
            .skipped
            .iter()
            .filter(|s| s.reason.contains("superseded"))
            .count();
        assert_eq!(superseded, 2);
    }
}

#[test]
fn misp_attributes_to_stix_mapping() {
    // A mapping document (80 MISP types -> their STIX); every entry reuses one indicator id, so
    // each entry is parsed on its own here.
    let Some(path) = corpus("intel/misp-stix/misp_attributes_to_stix21.json") else {
        return;
    };
    let doc: serde_json::Value = serde_json::from_str(&text(&path)).unwrap();
    let mut usable = Vec::new();
    for (ty, entry) in doc.as_object().unwrap() {
        let p = FeedFormat::Stix.parse(&entry["STIX"].to_string(), "m");
        for i in p.indicators {
            usable.push(format!("{ty}={}", i.value));
        }
    }
    usable.sort();
    assert_eq!(
        usable,
        [
            "domain=circl.lu",
            "hostname=circl.lu",
            "hostname|port=circl.lu",
            "ip-dst=5.6.7.8",
            "ip-dst|port=5.6.7.8",
            "ip-src=1.2.3.4",
            "ip-src|port=1.2.3.4",
            "link=https://misp-project.org/download/",
            "uri=https://vm.misp-project.org/latest/MISP_v2.4.155@ca03678.ova",
            "url=https://vm.misp-project.org/latest/",
            "user-agent=Mozilla Firefox",
        ]
    );
}

#[test]
fn misp_events() {
    use FeedFormat::Misp;
    // Counts from a Python walk over Attribute[] and Object[].Attribute[] with the type table of
    // `parse_misp`: (indicators, skipped).
    counts("misp-stix/test_events_collection_1.json", Misp, 1, 1);
    if let Some(p) = counts("misp-stix/test_events_collection_2.json", Misp, 2, 1) {
        // domain|ip splits into two typed halves.
        assert_eq!(p.indicators[0].value, "circl.lu");
        assert_eq!(p.indicators[1].value, "149.13.33.14");
    }
    counts(
        "misp/pymisp/57c4445b-c548-4654-af0b-4be3950d210f.json",
        Misp,
        0,
        9,
    );
    counts("misp/pymisp/existing_event.json", Misp, 31, 91);
    if let Some(p) = counts("misp/pymisp/long_event.json", Misp, 47, 323) {
        let ids = p
            .indicators
            .iter()
            .filter(|i| i.to_ids == Some(true))
            .count();
        assert_eq!(ids, 34);
    }
    counts("misp/pymisp/to_delete1.json", Misp, 6, 69);
    // FALLCHILL: 90 ip-dst + 3 ip-dst|port (one private), a 125 KB attachment skipped.
    if let Some(p) = counts("misp/pymisp/to_delete2.json", Misp, 93, 35) {
        let idx = TiIndex::build(p.indicators);
        // In three attributes: ip-dst, ip-dst|port (`10.10.30.110|1992`) and an ip-port object.
        let hits = idx.match_ip("10.10.30.110".parse().unwrap(), ANY_TIME);
        assert_eq!(hits.len(), 3);
        assert_eq!(hits[0].to_ids, Some(true));
        assert!(
            hits[0].labels.iter().any(|l| l == "tlp:white"),
            "{:?}",
            hits[0].labels
        );
        assert!(
            idx.match_ip("98.101.211.162".parse().unwrap(), ANY_TIME)
                .len()
                == 1
        );
    }
    counts("misp/pymisp/to_delete3.json", Misp, 43, 53);
    // Ursnif: three domains with a false-positive sighting are dropped.
    if let Some(p) = counts("misp/pymisp/sighting_1.json", Misp, 2, 3) {
        assert!(p
            .report
            .skipped
            .iter()
            .all(|s| s.reason == "false-positive sighting"));
        assert_eq!(p.indicators[0].value, "ooiasjdnqjwbeasdasd.com");
    }
}

#[test]
fn pattern_validator_cases() {
    // Every pattern of the STIX spec examples and the validator's valid/invalid cases goes
    // through the parser without panicking; the ones naming only matchable paths parse.
    let Some(dir) = corpus("intel/stix21/oasis-cti-pattern-validator") else {
        return;
    };
    let spec = text(&dir.join("spec_examples_v21.txt"));
    let mut n = 0;
    for line in spec.lines().filter(|l| !l.trim().is_empty()) {
        let _ = flowtrail_enrich::feeds::parse_pattern(line);
        n += 1;
    }
    assert_eq!(n, 23);
    let cases: serde_json::Value =
        serde_json::from_str(&text(&dir.join("validator_cases_v21.json"))).unwrap();
    let mut all = Vec::new();
    collect_strings(&cases, &mut all);
    assert!(all.len() >= 64, "{}", all.len());
    for p in &all {
        let _ = flowtrail_enrich::feeds::parse_pattern(p);
    }
    let ok =
        flowtrail_enrich::feeds::parse_pattern("[ipv4-addr:value = '198.51.100.1/32']").unwrap();
    assert_eq!(ok.iocs.len(), 1);
}

fn collect_strings(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) if s.contains('[') || s.contains(':') => out.push(s.clone()),
        serde_json::Value::Array(a) => a.iter().for_each(|x| collect_strings(x, out)),
        serde_json::Value::Object(m) => m.values().for_each(|x| collect_strings(x, out)),
        _ => {}
    }
}

#[test]
fn every_intel_file_parses_without_panic() {
    // Robustness: every corpus intel file through every parser.
    let Some(root) = corpus("intel") else { return };
    let mut files = Vec::new();
    walk(&root, &mut files);
    assert!(files.len() > 50);
    let formats = [
        FeedFormat::List,
        FeedFormat::Urlhaus,
        FeedFormat::Feodo,
        FeedFormat::Threatfox,
        FeedFormat::Stix,
        FeedFormat::Misp,
    ];
    for f in &files {
        let t = text(f);
        for fmt in &formats {
            let p = fmt.parse(&t, "x");
            assert_eq!(p.report.parsed, p.indicators.len());
            // Truncated input too.
            let cut = t
                .char_indices()
                .nth(t.chars().count() / 2)
                .map_or(0, |(i, _)| i);
            let _ = fmt.parse(&t[..cut], "x");
        }
    }
}

fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else {
                out.push(p);
            }
        }
    }
}

#[test]
fn mutated_inputs_never_panic() {
    // Small corpus files with random byte flips, insertions and cuts, through every parser.
    let Some(root) = corpus("intel") else { return };
    let mut files = Vec::new();
    walk(&root, &mut files);
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let noise = b"\"',;#[]{}()|:/\\\n\r\t '=.%@AND OR";
    let formats = [
        FeedFormat::List,
        FeedFormat::Urlhaus,
        FeedFormat::Feodo,
        FeedFormat::Threatfox,
        FeedFormat::Stix,
        FeedFormat::Misp,
    ];
    let mut runs = 0;
    for f in files
        .iter()
        .filter(|f| std::fs::metadata(f).is_ok_and(|m| m.len() < 16_000))
    {
        let orig = std::fs::read(f).unwrap();
        for _ in 0..12 {
            let mut b = orig.clone();
            for _ in 0..1 + rnd() % 8 {
                if b.is_empty() {
                    break;
                }
                let at = (rnd() % b.len() as u64) as usize;
                match rnd() % 3 {
                    0 => b[at] = noise[(rnd() % noise.len() as u64) as usize],
                    1 => b.insert(at, noise[(rnd() % noise.len() as u64) as usize]),
                    _ => b.truncate(at),
                }
            }
            let t = String::from_utf8_lossy(&b);
            for fmt in &formats {
                let p = fmt.parse(&t, "x");
                assert_eq!(p.report.parsed, p.indicators.len());
                runs += 1;
            }
            let _ = flowtrail_enrich::feeds::parse_pattern(&t);
        }
    }
    assert!(runs > 1000, "{runs}");
}
