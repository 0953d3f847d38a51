//! AWS VPC Flow Logs, default format (version 2), as delivered to S3.
//!
//! Layout: `AWSLogs/<account>/vpcflowlogs/<region>/YYYY/MM/DD/
//! <account>_vpcflowlogs_<region>_<flow_log_id>_<YYYYMMDDTHHmmZ>_<hash>.log.gz`, one gzip
//! member per file, first line the field-name header. Each file covers one hour (its records'
//! `start`/`end` fall inside it); the hours of successive files are spread over two days.
//!
//! The traffic model: four (account, region) flow logs, 2000 ENIs with private IPv4 (and
//! IPv6) addresses, each ENI talking to other ENIs of its VPC or to ~3000 internet hosts.
//! ENIs, internal servers and internet hosts are picked with Zipf-like popularity. Records
//! are per packet direction (request or response), as AWS writes them; responses from web
//! servers carry most bytes.

use std::collections::HashSet;
use std::ops::Range;
use std::path::Path;

use anyhow::{Context, Result};
use libdeflater::{CompressionLvl, Compressor};

use crate::rng::{fmix32, Rng, Zipf};
use crate::{
    civil, effective_files, ephemeral_port, needle_records, push_random_public_ipv4, push_u64,
    run_parallel, share, write_file, GenStats, BASE_EPOCH, NEEDLE_BYTES, NEEDLE_IP, NEEDLE_PACKETS,
    PUBLIC_FIRST_OCTETS, SPAN_HOURS,
};

/// Header line of every generated file (the default format's field names).
pub const AWS_VPC_HEADER: &str = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status";

/// libdeflate level: 4 compresses within ~5% of level 6 (gzip's default; the level AWS uses is
/// not documented) at about twice the speed: 10M records stay well under a minute on 2 cores.
const GZIP_LEVEL: i32 = 4;

const ENIS: usize = 2000;
const EXTERNAL_V4: usize = 3000;
const EXTERNAL_V6: usize = 80;

/// (account, region, share of the ENIs, IPv4 prefix of its VPC).
const FLOW_LOGS: &[(&str, &str, usize, &str)] = &[
    ("123456789012", "us-east-1", 800, "10.0."),
    ("123456789012", "eu-west-1", 500, "10.1."),
    ("210987654321", "us-east-1", 450, "172.31."),
    ("345678901234", "ap-southeast-2", 250, "10.20."),
];

/// IPv6 /32s of large providers, for synthetic internet IPv6 hosts.
const V6_PREFIXES: &[&str] = &[
    "2600:1f18",
    "2a00:1450",
    "2606:4700",
    "2a03:2880",
    "2620:1ec",
];

struct FlowLog {
    account: &'static str,
    region: &'static str,
    flow_log_id: String,
    enis: Range<usize>,
    /// Which ENIs of this flow log appear in records.
    eni_pick: Zipf,
    /// Which ENIs act as internal servers (different popularity order, see `server_index`).
    server_pick: Zipf,
}

struct Eni {
    id: Vec<u8>,
    ip4: Vec<u8>,
    ip6: Vec<u8>,
}

struct World {
    flow_logs: Vec<FlowLog>,
    enis: Vec<Eni>,
    ext4: Vec<Vec<u8>>,
    ext4_pick: Zipf,
    ext6: Vec<Vec<u8>>,
    ext6_pick: Zipf,
}

impl World {
    fn new(seed: u64) -> World {
        let mut rng = Rng::new(seed, u64::MAX);
        let mut enis = Vec::with_capacity(ENIS);
        let mut flow_logs = Vec::new();
        let mut used_ips = HashSet::new();
        for &(account, region, count, prefix) in FLOW_LOGS {
            let first = enis.len();
            let vpc_hex = rng.below(0xffff) + 1;
            while enis.len() < first + count {
                let mut ip4 = prefix.as_bytes().to_vec();
                push_u64(&mut ip4, rng.below(16) * 16 + rng.below(4));
                ip4.push(b'.');
                push_u64(&mut ip4, rng.range(4, 250));
                if !used_ips.insert(ip4.clone()) {
                    continue;
                }
                let id = format!("eni-0{:016x}", rng.next_u64()).into_bytes();
                // All groups non-zero, so this is the canonical (RFC 5952) text form.
                let ip6 = format!(
                    "2600:1f18:{:x}:{:x}:{:x}:{:x}:{:x}:{:x}",
                    vpc_hex,
                    rng.range(1, 0xffff),
                    rng.range(1, 0xffff),
                    rng.range(1, 0xffff),
                    rng.range(1, 0xffff),
                    rng.range(1, 0xffff)
                )
                .into_bytes();
                enis.push(Eni { id, ip4, ip6 });
            }
            flow_logs.push(FlowLog {
                account,
                region,
                flow_log_id: format!("fl-0{:016x}", rng.next_u64()),
                enis: first..first + count,
                eni_pick: Zipf::new(count, 0.8),
                server_pick: Zipf::new(count.min(200), 1.0),
            });
        }
        let mut ext4 = Vec::with_capacity(EXTERNAL_V4);
        let mut seen = HashSet::new();
        while ext4.len() < EXTERNAL_V4 {
            let mut ip = Vec::with_capacity(15);
            push_random_public_ipv4(&mut ip, &mut rng);
            if seen.insert(ip.clone()) {
                ext4.push(ip);
            }
        }
        let mut ext6 = Vec::with_capacity(EXTERNAL_V6);
        for _ in 0..EXTERNAL_V6 {
            let prefix = V6_PREFIXES[rng.below(V6_PREFIXES.len() as u64) as usize];
            ext6.push(
                format!(
                    "{prefix}:{:x}:{:x}::{:x}",
                    rng.range(0x1000, 0xffff),
                    rng.range(0x100, 0xfff),
                    rng.range(1, 0xffff)
                )
                .into_bytes(),
            );
        }
        World {
            flow_logs,
            enis,
            ext4_pick: Zipf::new(EXTERNAL_V4, 1.1),
            ext4,
            ext6_pick: Zipf::new(EXTERNAL_V6, 1.0),
            ext6,
        }
    }
}

/// A service as seen in the records: destination port on the server side, protocol, weight,
/// and a traffic shape.
#[derive(Clone, Copy)]
struct Service {
    port: u16,
    proto: u8,
    weight: u32,
    shape: Shape,
    /// Share (per million) of this service's records whose peer is on the internet.
    external_ppm: u64,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// Small requests, large responses (HTTP, TLS, databases).
    Bulk,
    /// Interactive (SSH, RDP): medium packets both ways.
    Interactive,
    /// A few small datagrams (DNS, NTP).
    Datagram,
    /// ICMP echo.
    Icmp,
}

/// Port 0 means "a random registered port" (1024..32767), i.e. some application.
#[rustfmt::skip]
const SERVICES: &[Service] = &[
    Service { port: 443, proto: 6, weight: 400, shape: Shape::Bulk, external_ppm: 750_000 },
    Service { port: 80, proto: 6, weight: 100, shape: Shape::Bulk, external_ppm: 700_000 },
    Service { port: 53, proto: 17, weight: 100, shape: Shape::Datagram, external_ppm: 400_000 },
    Service { port: 123, proto: 17, weight: 30, shape: Shape::Datagram, external_ppm: 900_000 },
    Service { port: 22, proto: 6, weight: 50, shape: Shape::Interactive, external_ppm: 300_000 },
    Service { port: 3389, proto: 6, weight: 30, shape: Shape::Interactive, external_ppm: 200_000 },
    Service { port: 8080, proto: 6, weight: 30, shape: Shape::Bulk, external_ppm: 100_000 },
    Service { port: 5432, proto: 6, weight: 30, shape: Shape::Bulk, external_ppm: 0 },
    Service { port: 3306, proto: 6, weight: 20, shape: Shape::Bulk, external_ppm: 0 },
    Service { port: 6379, proto: 6, weight: 20, shape: Shape::Bulk, external_ppm: 0 },
    Service { port: 445, proto: 6, weight: 15, shape: Shape::Interactive, external_ppm: 0 },
    Service { port: 0, proto: 1, weight: 20, shape: Shape::Icmp, external_ppm: 500_000 },
    Service { port: 0, proto: 6, weight: 60, shape: Shape::Bulk, external_ppm: 300_000 },
    Service { port: 0, proto: 17, weight: 25, shape: Shape::Datagram, external_ppm: 300_000 },
];

/// Ports probed by the rejected inbound traffic.
const SCANNED_PORTS: &[u64] = &[22, 23, 3389, 445, 1433, 3306, 8080, 5900, 25, 80];

/// Writes `records` AWS VPC flow-log records (default format v2) into `files` gzip files under
/// `out` in the S3 key layout. See the crate docs for the needle.
///
/// Each thread builds a whole file in memory before compressing it (about 2.3 times the
/// uncompressed file size, ~117 bytes per record), so keep files around 100k records, as AWS
/// does (it closes files at 75 MB).
pub fn gen_aws_vpc(out: &Path, records: u64, files: u32, seed: u64) -> Result<GenStats> {
    let files = effective_files(records, files)?;
    if files == 0 {
        return Ok(GenStats::default());
    }
    let world = World::new(seed);
    let needles = needle_records(records);
    let lvl = CompressionLvl::new(GZIP_LEVEL)
        .map_err(|e| anyhow::anyhow!("bad gzip level {GZIP_LEVEL}: {e:?}"))?;
    run_parallel(
        files,
        || (Vec::new(), Vec::new(), Compressor::new(lvl)),
        |(raw, gz, compressor), i| {
            let n = share(records, u64::from(files), u64::from(i));
            let k = share(needles, u64::from(files), u64::from(i));
            let spec = FileSpec::new(&world, seed, files, i);
            raw.clear();
            raw.extend_from_slice(AWS_VPC_HEADER.as_bytes());
            raw.push(b'\n');
            write_records(raw, &world, &spec, n, k, &mut Rng::new(seed, u64::from(i)));
            gz.resize(compressor.gzip_compress_bound(raw.len()), 0);
            let len = compressor
                .gzip_compress(raw, gz)
                .context("gzip compression failed")?;
            let path = spec.path(&world, out);
            write_file(&path, &gz[..len])?;
            Ok((n, len as u64))
        },
    )
}

/// Where and when one file's records go.
struct FileSpec {
    flow_log: usize,
    /// Start of the file's one-hour window, Unix seconds.
    window: u64,
    hash: u32,
}

impl FileSpec {
    fn new(world: &World, seed: u64, files: u32, i: u32) -> FileSpec {
        let hour = u64::from(i) * SPAN_HOURS / u64::from(files);
        FileSpec {
            flow_log: i as usize % world.flow_logs.len(),
            window: BASE_EPOCH + hour * 3600,
            // Bijective in `i`, so file names never collide.
            hash: fmix32(i ^ (seed as u32)),
        }
    }

    fn path(&self, world: &World, out: &Path) -> std::path::PathBuf {
        let fl = &world.flow_logs[self.flow_log];
        let c = civil(self.window);
        let (y, m, d) = (c.year, c.month, c.day);
        let name = format!(
            "{acct}_vpcflowlogs_{region}_{id}_{y:04}{m:02}{d:02}T{hh:02}{mm:02}Z_{hash:08x}.log.gz",
            acct = fl.account,
            region = fl.region,
            id = fl.flow_log_id,
            hh = c.hour,
            mm = c.minute,
            hash = self.hash,
        );
        out.join("AWSLogs")
            .join(fl.account)
            .join("vpcflowlogs")
            .join(fl.region)
            .join(format!("{y:04}"))
            .join(format!("{m:02}"))
            .join(format!("{d:02}"))
            .join(name)
    }
}

/// Appends `n` records, `k` of which mention the needle (spread evenly through the file).
fn write_records(buf: &mut Vec<u8>, world: &World, spec: &FileSpec, n: u64, k: u64, rng: &mut Rng) {
    let fl = &world.flow_logs[spec.flow_log];
    let service_weights: Vec<u32> = SERVICES.iter().map(|s| s.weight).collect();
    for i in 0..n {
        // Times advance through the hour, as in a real file, with a little jitter.
        let start = spec.window + (i * 3540 / n.max(1) + rng.below(20)).min(3540);
        let eni = &world.enis[fl.enis.start + fl.eni_pick.sample(rng)];
        buf.extend_from_slice(b"2 ");
        buf.extend_from_slice(fl.account.as_bytes());
        buf.push(b' ');
        buf.extend_from_slice(&eni.id);
        buf.push(b' ');

        let is_needle = (i + 1) * k / n > i * k / n;
        if is_needle {
            let (sp, dp) = if i % 2 == 0 {
                buf.extend_from_slice(&eni.ip4);
                buf.push(b' ');
                buf.extend_from_slice(NEEDLE_IP.as_bytes());
                (ephemeral_port(rng), 443)
            } else {
                buf.extend_from_slice(NEEDLE_IP.as_bytes());
                buf.push(b' ');
                buf.extend_from_slice(&eni.ip4);
                (443, ephemeral_port(rng))
            };
            let end = start + rng.range(1, 59);
            tail(
                buf,
                sp,
                dp,
                6,
                NEEDLE_PACKETS,
                NEEDLE_BYTES,
                start,
                end,
                b"ACCEPT",
            );
            continue;
        }

        if rng.chance(1_000) {
            // No traffic on the ENI during the capture window.
            buf.extend_from_slice(b"- - - - - - - ");
            push_u64(buf, start);
            buf.push(b' ');
            push_u64(buf, start + 59);
            buf.extend_from_slice(b" - NODATA\n");
            continue;
        }

        if rng.chance(50_000) {
            reject(buf, world, eni, rng, start);
            continue;
        }

        let svc = SERVICES[rng.weighted(&service_weights)];
        let external = rng.chance(svc.external_ppm);
        let v6 = rng.chance(10_000);
        let peer: &[u8] = match (external, v6) {
            (true, false) => &world.ext4[world.ext4_pick.sample(rng)],
            (true, true) => &world.ext6[world.ext6_pick.sample(rng)],
            (false, v6) => {
                let j = server_index(fl, fl.server_pick.sample(rng));
                let e = &world.enis[j];
                if v6 {
                    &e.ip6
                } else {
                    &e.ip4
                }
            }
        };
        let me: &[u8] = if v6 { &eni.ip6 } else { &eni.ip4 };
        // For internet peers the ENI is mostly the client (egress web, DNS, NTP); internal
        // peers are picked from the popular "server" ENIs.
        let eni_is_client = if external {
            rng.chance(800_000)
        } else {
            rng.chance(700_000)
        };
        let (client, server) = if eni_is_client {
            (me, peer)
        } else {
            (peer, me)
        };
        let server_port = match (svc.port, svc.proto) {
            (0, 1) => 0,
            (0, _) => rng.range(1024, 32_767),
            (p, _) => u64::from(p),
        };
        let client_port = if svc.proto == 1 {
            0
        } else {
            ephemeral_port(rng)
        };
        let request = rng.chance(500_000);
        let (packets, per_packet) = shape(svc.shape, request, rng);
        let bytes = packets * per_packet;
        let (src, dst, sp, dp) = if request {
            (client, server, client_port, server_port)
        } else {
            (server, client, server_port, client_port)
        };
        buf.extend_from_slice(src);
        buf.push(b' ');
        buf.extend_from_slice(dst);
        let dur = if packets <= 2 {
            rng.below(3)
        } else {
            rng.range(1, 59)
        };
        let end = (start + dur).min(spec.window + 3599);
        let proto = u64::from(svc.proto);
        tail(buf, sp, dp, proto, packets, bytes, start, end, b"ACCEPT");
    }
}

/// Maps a server-popularity rank to an ENI index, in an order unrelated to `eni_pick`'s.
fn server_index(fl: &FlowLog, rank: usize) -> usize {
    let len = fl.enis.len();
    fl.enis.start + (rank * 7 + 3) % len
}

/// Packet count and bytes per packet for one direction of a service.
fn shape(shape: Shape, request: bool, rng: &mut Rng) -> (u64, u64) {
    match shape {
        Shape::Bulk if request => (rng.log_uniform(10_000), rng.range(40, 400)),
        Shape::Bulk => (rng.log_uniform(10_000), rng.range(200, 1460)),
        Shape::Interactive => (rng.log_uniform(5_000), rng.range(60, 1200)),
        Shape::Datagram => (rng.range(1, 4), rng.range(60, 300)),
        Shape::Icmp => (rng.range(1, 10), 84),
    }
}

/// An inbound scan or probe blocked by a security group (or, rarely, blocked egress).
fn reject(buf: &mut Vec<u8>, world: &World, eni: &Eni, rng: &mut Rng, start: u64) {
    let egress = rng.chance(100_000);
    let tcp = rng.chance(900_000);
    let port = if rng.chance(800_000) {
        SCANNED_PORTS[rng.below(SCANNED_PORTS.len() as u64) as usize]
    } else {
        rng.range(1, 65_535)
    };
    let scanner_is_random = rng.chance(600_000);
    let write_external = |buf: &mut Vec<u8>, rng: &mut Rng| {
        if scanner_is_random {
            push_random_public_ipv4(buf, rng);
        } else {
            buf.extend_from_slice(&world.ext4[world.ext4_pick.sample(rng)]);
        }
    };
    if egress {
        buf.extend_from_slice(&eni.ip4);
        buf.push(b' ');
        write_external(buf, rng);
    } else {
        write_external(buf, rng);
        buf.push(b' ');
        buf.extend_from_slice(&eni.ip4);
    }
    let packets = rng.range(1, 3);
    let per_packet = if tcp {
        [40, 44, 60][rng.below(3) as usize]
    } else {
        rng.range(28, 120)
    };
    let end = start + rng.below(3);
    let proto = if tcp { 6 } else { 17 };
    tail(
        buf,
        ephemeral_port(rng),
        port,
        proto,
        packets,
        packets * per_packet,
        start,
        end,
        b"REJECT",
    );
}

/// Writes ` srcport dstport protocol packets bytes start end action OK\n`.
#[allow(clippy::too_many_arguments)]
#[inline]
fn tail(
    buf: &mut Vec<u8>,
    sp: u64,
    dp: u64,
    proto: u64,
    packets: u64,
    bytes: u64,
    start: u64,
    end: u64,
    action: &[u8],
) {
    for v in [sp, dp, proto, packets, bytes, start, end] {
        buf.push(b' ');
        push_u64(buf, v);
    }
    buf.push(b' ');
    buf.extend_from_slice(action);
    buf.extend_from_slice(b" OK\n");
}

// Compile-time guard: the needle must not be producible by the random public generator.
const _: () = {
    let mut i = 0;
    while i < PUBLIC_FIRST_OCTETS.len() {
        assert!(PUBLIC_FIRST_OCTETS[i] != 203);
        i += 1;
    }
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests_support::{gunzip, temp_dir, walk};
    use crate::NEEDLE_RECORDS;

    #[test]
    fn layout_header_counts_and_needle() -> Result<()> {
        let dir = temp_dir("aws");
        let stats = gen_aws_vpc(&dir, 50_000, 7, 42)?;
        assert_eq!(stats.files, 7);
        assert_eq!(stats.records, 50_000);
        let files = walk(&dir)?;
        assert_eq!(files.len(), 7);
        let mut lines = 0u64;
        let mut needle = 0u64;
        let mut needle_bytes = 0u64;
        let mut rejects = 0u64;
        let mut nodata = 0u64;
        let mut v6 = 0u64;
        let mut on_disk = 0u64;
        for f in &files {
            let rel = f.strip_prefix(&dir)?.to_string_lossy().into_owned();
            let parts: Vec<&str> = rel.split('/').collect();
            assert_eq!(parts.len(), 8, "{rel}");
            assert_eq!(parts[0], "AWSLogs");
            assert_eq!(parts[2], "vpcflowlogs");
            let (account, region) = (parts[1], parts[3]);
            assert_eq!(account.len(), 12);
            assert!(parts[4] == "2025" && parts[5] == "06", "{rel}");
            let name = parts[7];
            assert!(
                name.starts_with(&format!("{account}_vpcflowlogs_{region}_fl-")),
                "{name}"
            );
            assert!(name.ends_with(".log.gz"), "{name}");
            let stamp = name.split('_').nth(4).unwrap_or_default();
            assert_eq!(stamp.len(), 14, "{name}");
            assert!(
                stamp.starts_with(&format!("2025{}{}T", parts[5], parts[6])),
                "{name}"
            );
            let hour: u64 = stamp[9..11].parse()?;
            let day: u64 = parts[6].parse()?;
            let window = BASE_EPOCH + (day - 1) * 86_400 + hour * 3600;

            let gz = std::fs::read(f)?;
            on_disk += gz.len() as u64;
            let text = String::from_utf8(gunzip(&gz)?)?;
            let mut it = text.lines();
            assert_eq!(it.next(), Some(AWS_VPC_HEADER));
            for line in it {
                lines += 1;
                let fields: Vec<&str> = line.split(' ').collect();
                assert_eq!(fields.len(), 14, "{line}");
                assert_eq!(fields[0], "2");
                assert_eq!(fields[1], account);
                assert!(
                    fields[2].starts_with("eni-0") && fields[2].len() == 21,
                    "{line}"
                );
                let start: u64 = fields[10].parse()?;
                let end: u64 = fields[11].parse()?;
                assert!(
                    start >= window && end < window + 3600 && end >= start,
                    "{line}"
                );
                if fields[13] == "NODATA" {
                    nodata += 1;
                    assert_eq!(&fields[3..10], &["-"; 7]);
                    continue;
                }
                assert_eq!(fields[13], "OK");
                let packets: u64 = fields[8].parse()?;
                let bytes: u64 = fields[9].parse()?;
                assert!((1..=10_000).contains(&packets), "{line}");
                assert!(bytes >= packets * 28 && bytes <= packets * 1500, "{line}");
                let _: u16 = fields[5].parse()?;
                let _: u16 = fields[6].parse()?;
                assert!(["1", "6", "17"].contains(&fields[7]), "{line}");
                if fields[3].contains(':') {
                    v6 += 1;
                }
                if fields[12] == "REJECT" {
                    rejects += 1;
                } else {
                    assert_eq!(fields[12], "ACCEPT");
                }
                let hits = u64::from(fields[3] == NEEDLE_IP) + u64::from(fields[4] == NEEDLE_IP);
                assert!(hits <= 1);
                assert!(!fields[3].starts_with("203.0.113.") || hits == 1, "{line}");
                assert!(!fields[4].starts_with("203.0.113.") || hits == 1, "{line}");
                if hits == 1 {
                    needle += 1;
                    needle_bytes += bytes;
                }
            }
        }
        assert_eq!(lines, 50_000);
        assert_eq!(needle, NEEDLE_RECORDS);
        assert_eq!(needle_bytes, NEEDLE_RECORDS * NEEDLE_BYTES);
        assert_eq!(on_disk, stats.bytes_written);
        assert!((1_500..3_500).contains(&rejects), "rejects {rejects}");
        assert!((10..150).contains(&nodata), "nodata {nodata}");
        assert!((150..1_000).contains(&v6), "ipv6 {v6}");
        std::fs::remove_dir_all(&dir)?;
        Ok(())
    }

    #[test]
    fn deterministic_and_small_sets() -> Result<()> {
        let a = temp_dir("aws-a");
        let b = temp_dir("aws-b");
        gen_aws_vpc(&a, 3000, 3, 7)?;
        gen_aws_vpc(&b, 3000, 3, 7)?;
        let fa = walk(&a)?;
        let fb = walk(&b)?;
        assert_eq!(fa.len(), 3);
        for (x, y) in fa.iter().zip(&fb) {
            assert_eq!(x.strip_prefix(&a)?, y.strip_prefix(&b)?);
            assert_eq!(std::fs::read(x)?, std::fs::read(y)?);
        }
        // Fewer records than files: one record per file; needle takes every record.
        let c = temp_dir("aws-c");
        let stats = gen_aws_vpc(&c, 5, 10, 1)?;
        assert_eq!((stats.files, stats.records), (5, 5));
        let mut needle = 0;
        for f in walk(&c)? {
            let text = String::from_utf8(gunzip(&std::fs::read(&f)?)?)?;
            needle += text.matches(NEEDLE_IP).count();
        }
        assert_eq!(needle, 5);
        assert!(gen_aws_vpc(&c, 5, 0, 1).is_err());
        for d in [a, b, c] {
            std::fs::remove_dir_all(d)?;
        }
        Ok(())
    }
}
