//! Lookup throughput: IP matching over 100,000 generated indicators (mixed /32 and CIDRs),
//! domain and URL matching, and GeoIP/ASN lookups on MaxMind's test databases (from the shared
//! corpus; skipped when absent). std::time only; run with
//! `cargo bench -p flowtrail-enrich --bench lookups`.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::time::Instant;

use flowtrail_enrich::geo::GeoDb;
use flowtrail_enrich::ti::{Indicator, IndicatorKind, TiIndex};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

fn report(what: &str, n: usize, secs: f64) {
    println!(
        "{what:<48} {:>10.2} M lookups/s  ({:.0} ns each, {n} lookups)",
        n as f64 / secs / 1e6,
        secs * 1e9 / n as f64
    );
}

fn main() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);

    // 100,000 IP indicators: 70% IPv4 /32, 20% IPv4 networks /12-/30 (DROP-like), 10% IPv6
    // (/128 and /32-/64).
    let mut inds = Vec::with_capacity(100_000);
    let mut hosts = Vec::new();
    for i in 0..100_000u32 {
        let r = rng.next();
        let ind = match i % 10 {
            0..=6 => {
                let a = Ipv4Addr::from(r as u32);
                hosts.push(IpAddr::V4(a));
                Indicator::new(IndicatorKind::Ip, &a.to_string())
            }
            7 | 8 => {
                let len = 12 + (r >> 40) as u32 % 19;
                Indicator::new(
                    IndicatorKind::Cidr,
                    &format!("{}/{len}", Ipv4Addr::from(r as u32)),
                )
            }
            _ => {
                let a = Ipv6Addr::from(((r as u128) << 64) | u128::from(rng.next()));
                if r & 1 == 0 {
                    Indicator::new(IndicatorKind::Ip, &a.to_string())
                } else {
                    Indicator::new(IndicatorKind::Cidr, &format!("{a}/{}", 32 + (r >> 50) % 33))
                }
            }
        };
        inds.push(ind.expect("generated indicator").with_feed("bench"));
    }
    let t = Instant::now();
    let idx = TiIndex::build(inds);
    println!(
        "built IP index over {} indicators in {:.1} ms",
        idx.len(),
        t.elapsed().as_secs_f64() * 1e3
    );

    // Query mix: 10% known hosts (hits), 90% random IPv4 (mostly misses or CIDR hits).
    let n = 5_000_000;
    let queries: Vec<IpAddr> = (0..n)
        .map(|i| {
            if i % 10 == 0 {
                hosts[(rng.next() % hosts.len() as u64) as usize]
            } else {
                IpAddr::V4(Ipv4Addr::from(rng.next() as u32))
            }
        })
        .collect();
    let at = 1_700_000_000_000_000;
    let t = Instant::now();
    let mut found = 0usize;
    for q in &queries {
        found += usize::from(idx.first_ip(black_box(*q), at).is_some());
    }
    report(
        "ip first_ip (100k indicators)",
        n,
        t.elapsed().as_secs_f64(),
    );
    let mut out = Vec::with_capacity(16);
    let t = Instant::now();
    let mut total = 0usize;
    for q in &queries {
        out.clear();
        idx.match_ip_into(black_box(*q), at, &mut out);
        total += out.len();
    }
    report(
        "ip match_ip_into, all hits (100k indicators)",
        n,
        t.elapsed().as_secs_f64(),
    );
    let t = Instant::now();
    for q in &queries {
        total += idx.match_ip(black_box(*q), at).len();
    }
    report(
        "ip match_ip -> Vec (100k indicators)",
        n,
        t.elapsed().as_secs_f64(),
    );
    println!("  ({found} of {n} queries matched; {total} hits)");
    let v6: Vec<IpAddr> = (0..1_000_000)
        .map(|_| {
            IpAddr::V6(Ipv6Addr::from(
                ((rng.next() as u128) << 64) | u128::from(rng.next()),
            ))
        })
        .collect();
    let t = Instant::now();
    for q in &v6 {
        black_box(idx.first_ip(black_box(*q), at));
    }
    report(
        "ip first_ip, random IPv6",
        v6.len(),
        t.elapsed().as_secs_f64(),
    );

    // Domains: 100,000 registered names; queries are 3-4 label hosts, 10% under a listed name.
    let words = [
        "alpha", "beta", "gamma", "delta", "cdn", "api", "mail", "www", "img", "static",
    ];
    let tlds = ["com", "net", "org", "io", "ru", "cn", "top", "xyz"];
    let mut names = Vec::new();
    let mut dom = Vec::new();
    for i in 0..100_000u64 {
        let name = format!(
            "{}{}.{}",
            words[(rng.next() % 10) as usize],
            i,
            tlds[(rng.next() % 8) as usize]
        );
        dom.push(
            Indicator::new(IndicatorKind::Domain, &name)
                .expect("domain")
                .with_feed("bench"),
        );
        names.push(name);
    }
    let didx = TiIndex::build(dom);
    let hostsq: Vec<String> = (0..2_000_000u64)
        .map(|i| {
            let w = words[(rng.next() % 10) as usize];
            if i % 10 == 0 {
                format!("{w}.{}", names[(rng.next() % names.len() as u64) as usize])
            } else {
                format!(
                    "{w}.{}{}.example.{}",
                    words[(rng.next() % 10) as usize],
                    rng.next() % 1000,
                    tlds[(rng.next() % 8) as usize]
                )
            }
        })
        .collect();
    let mut out = Vec::new();
    let t = Instant::now();
    let mut hits = 0;
    for h in &hostsq {
        out.clear();
        didx.match_domain_into(black_box(h), at, &mut out);
        hits += out.len();
    }
    report(
        "domain match_domain_into (100k domains)",
        hostsq.len(),
        t.elapsed().as_secs_f64(),
    );
    println!("  ({hits} hits)");

    // URLs: 100,000 URLs, already-normalized queries (the common case: borrow, no allocation).
    let urls: Vec<String> = (0..100_000u64)
        .map(|i| {
            format!(
                "http://{}/path/{i}/file.exe?x={}",
                names[i as usize],
                rng.next() % 100
            )
        })
        .collect();
    let uidx = TiIndex::build(
        urls.iter()
            .map(|u| Indicator::new(IndicatorKind::Url, u).expect("url")),
    );
    let uq: Vec<&String> = (0..1_000_000u64)
        .map(|_| &urls[(rng.next() % urls.len() as u64) as usize])
        .collect();
    let t = Instant::now();
    let mut hits = 0;
    for u in &uq {
        hits += uidx.match_url(black_box(u), at).len();
    }
    report(
        "url match_url -> Vec (100k URLs, all hits)",
        uq.len(),
        t.elapsed().as_secs_f64(),
    );
    let mut out = Vec::new();
    let t = Instant::now();
    for u in &uq {
        out.clear();
        uidx.match_url_into(black_box(u), at, &mut out);
        hits += out.len();
    }
    report(
        "url match_url_into (100k URLs, all hits)",
        uq.len(),
        t.elapsed().as_secs_f64(),
    );
    let mixed: Vec<String> = uq
        .iter()
        .map(|u| {
            u.replacen("http://", "HTTP://", 1)
                .replacen("/path", ":80/path", 1)
        })
        .collect();
    let t = Instant::now();
    for u in &mixed {
        out.clear();
        uidx.match_url_into(black_box(u), at, &mut out);
        hits += out.len();
    }
    report(
        "url match_url_into, needs normalizing",
        mixed.len(),
        t.elapsed().as_secs_f64(),
    );
    println!("  ({hits} hits)");

    // GeoIP on MaxMind's test databases.
    let dir = std::env::var_os("FLOWTRAIL_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus"))
        .join("mmdb/maxmind-MaxMind-DB/test-data");
    let city = dir.join("GeoLite2-City-Test.mmdb");
    let asn = dir.join("GeoLite2-ASN-Test.mmdb");
    if !city.is_file() || !asn.is_file() {
        println!("SKIPPED GeoIP: {} absent", dir.display());
        return;
    }
    let geo = GeoDb::open([&city, &asn]).expect("test databases");
    let known: Vec<IpAddr> = [
        "89.160.20.112",
        "81.2.69.142",
        "175.16.199.1",
        "67.43.156.13",
        "216.160.83.56",
        "2.125.160.216",
    ]
    .iter()
    .map(|s| s.parse().expect("ip"))
    .collect();
    let gq: Vec<IpAddr> = (0..2_000_000usize)
        .map(|i| {
            if i % 2 == 0 {
                known[i / 2 % known.len()]
            } else {
                IpAddr::V4(Ipv4Addr::from(rng.next() as u32))
            }
        })
        .collect();
    let t = Instant::now();
    let mut with_country = 0;
    for q in &gq {
        with_country += usize::from(geo.lookup(black_box(*q)).country_iso.is_some());
    }
    report(
        "geo lookup City+ASN (50% known test IPs)",
        gq.len(),
        t.elapsed().as_secs_f64(),
    );
    println!("  ({with_country} with a country)");
    let hit_only: Vec<IpAddr> = (0..1_000_000usize)
        .map(|i| known[i % known.len()])
        .collect();
    let t = Instant::now();
    for q in &hit_only {
        black_box(geo.lookup(black_box(*q)));
    }
    report(
        "geo lookup City+ASN (all hits, full decode)",
        hit_only.len(),
        t.elapsed().as_secs_f64(),
    );
}
