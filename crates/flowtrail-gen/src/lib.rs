//! Synthetic flow logs for benchmarks and end-to-end tests.
//!
//! Two generators write files in the exact layout the cloud providers use, so the ingest path
//! (directory walk, file-name parsing, decompression, decoding) is exercised as on real data:
//!
//! * [`gen_aws_vpc`]: AWS VPC Flow Logs, default format (version 2), gzip, S3 key layout.
//! * [`gen_azure_nsg`]: Azure NSG flow logs version 2, `PT1H.json` blobs, blob path layout.
//!
//! Output is a pure function of the arguments (`seed` included), whatever the thread count.
//! Traffic follows Zipf-like popularity so "top talkers" has a clear answer, and the AWS data
//! carries a planted needle with a known answer: see [`NEEDLE_IP`].

mod aws_vpc;
mod azure_nsg;
mod rng;

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use anyhow::{bail, Context, Result};

pub use aws_vpc::{gen_aws_vpc, AWS_VPC_HEADER};
pub use azure_nsg::gen_azure_nsg;
pub use rng::Rng;

/// The external IPv4 address planted in the AWS VPC data. It occurs in exactly
/// [`needle_records`]`(records)` records (1234 whenever at least 1234 records are generated),
/// once per record, as `srcaddr` or `dstaddr`, never both; no other generated address is in
/// 203.0.113.0/24.
pub const NEEDLE_IP: &str = "203.0.113.77";
/// Number of needle records when the data set has at least this many records.
pub const NEEDLE_RECORDS: u64 = 1234;
/// Every needle record has exactly these packet and byte counts (TCP, ACCEPT, OK), so
/// `sum(bytes)` over the needle is `needle_records(records) * NEEDLE_BYTES`
/// (7 404 000 for the full 1234 records).
pub const NEEDLE_PACKETS: u64 = 12;
/// See [`NEEDLE_PACKETS`].
pub const NEEDLE_BYTES: u64 = 6000;

/// Number of records mentioning [`NEEDLE_IP`] in a data set of `records` AWS VPC records.
pub fn needle_records(records: u64) -> u64 {
    records.min(NEEDLE_RECORDS)
}

/// First hour covered by generated data: 2025-06-01T00:00:00Z. Data spans [`SPAN_HOURS`] hours.
pub const BASE_EPOCH: u64 = 1_748_736_000;
/// Generated data is spread over two days.
pub const SPAN_HOURS: u64 = 48;

/// What a generator wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GenStats {
    /// Files written.
    pub files: u64,
    /// Records written: AWS lines (header excluded), or NSG flow tuples.
    pub records: u64,
    /// Bytes written to disk (compressed size for gzip files).
    pub bytes_written: u64,
}

/// Records given to file `i` of `parts` when `total` are spread as evenly as possible.
pub(crate) fn share(total: u64, parts: u64, i: u64) -> u64 {
    total / parts + u64::from(i < total % parts)
}

/// Number of files to write: never more files than records (no empty files, as in S3 and
/// Blob Storage), at least one when there is anything to write.
pub(crate) fn effective_files(records: u64, files: u32) -> Result<u32> {
    if files == 0 {
        bail!("--files must be at least 1");
    }
    Ok(u32::try_from(records.min(u64::from(files))).unwrap_or(files))
}

/// Runs `job(state, file_index)` for every file on a small pool of scoped threads. Each
/// thread has its own `state` (buffers, compressor) from `make_state`. `job` returns
/// `(records, bytes_written)` for the file.
pub(crate) fn run_parallel<S, M, J>(files: u32, make_state: M, job: J) -> Result<GenStats>
where
    M: Fn() -> S + Sync,
    J: Fn(&mut S, u32) -> Result<(u64, u64)> + Sync,
{
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .min(files.max(1) as usize);
    let next = AtomicU32::new(0);
    let failed = AtomicBool::new(false);
    let results: Vec<Result<GenStats>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| -> Result<GenStats> {
                    let mut state = make_state();
                    let mut stats = GenStats::default();
                    while !failed.load(Ordering::Relaxed) {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= files {
                            break;
                        }
                        match job(&mut state, i) {
                            Ok((records, bytes)) => {
                                stats.files += 1;
                                stats.records += records;
                                stats.bytes_written += bytes;
                            }
                            Err(e) => {
                                failed.store(true, Ordering::Relaxed);
                                return Err(e);
                            }
                        }
                    }
                    Ok(stats)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| match h.join() {
                Ok(r) => r,
                Err(_) => Err(anyhow::anyhow!("generator thread panicked")),
            })
            .collect()
    });
    let mut total = GenStats::default();
    for r in results {
        let s = r?;
        total.files += s.files;
        total.records += s.records;
        total.bytes_written += s.bytes_written;
    }
    Ok(total)
}

/// Writes `data` to `path`, creating parent directories.
pub(crate) fn write_file(path: &Path, data: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create directory {}", dir.display()))?;
    }
    std::fs::write(path, data).with_context(|| format!("cannot write {}", path.display()))
}

/// UTC calendar fields of a Unix time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Civil {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

/// Converts Unix seconds to UTC calendar fields (Howard Hinnant's `civil_from_days`).
pub(crate) fn civil(epoch: u64) -> Civil {
    let days = (epoch / 86_400) as i64;
    let secs = epoch % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    Civil {
        year,
        month,
        day,
        hour: (secs / 3600) as u32,
        minute: ((secs / 60) % 60) as u32,
        second: (secs % 60) as u32,
    }
}

/// Appends the decimal form of `v`.
#[inline]
pub(crate) fn push_u64(buf: &mut Vec<u8>, mut v: u64) {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    buf.extend_from_slice(&tmp[i..]);
}

/// Appends `v` as exactly `width` decimal digits (zero-padded, truncated from the left).
pub(crate) fn push_padded(buf: &mut Vec<u8>, v: u64, width: usize) {
    let mut tmp = [b'0'; 20];
    let mut v = v;
    let width = width.min(tmp.len());
    for slot in tmp[..width].iter_mut().rev() {
        *slot = b'0' + (v % 10) as u8;
        v /= 10;
    }
    buf.extend_from_slice(&tmp[..width]);
}

/// First octets of public IPv4 space used for synthetic "internet" hosts. Deliberately avoids
/// private, shared, loopback, link-local, multicast and documentation ranges (so 203.0.113.0/24
/// stays free for the needle).
pub(crate) const PUBLIC_FIRST_OCTETS: &[u8] = &[
    3, 13, 18, 20, 23, 31, 34, 35, 40, 44, 52, 54, 64, 66, 69, 74, 76, 91, 93, 99, 104, 107, 108,
    140, 142, 146, 151, 157, 162, 173, 176, 185, 188, 195, 199, 204, 205, 208, 209, 212, 216, 217,
];

/// Appends a random public IPv4 address as text.
pub(crate) fn push_random_public_ipv4(buf: &mut Vec<u8>, rng: &mut rng::Rng) {
    let i = rng.below(PUBLIC_FIRST_OCTETS.len() as u64) as usize;
    let a = PUBLIC_FIRST_OCTETS.get(i).copied().unwrap_or(52);
    push_u64(buf, u64::from(a));
    buf.push(b'.');
    push_u64(buf, rng.below(256));
    buf.push(b'.');
    push_u64(buf, rng.below(256));
    buf.push(b'.');
    push_u64(buf, rng.range(1, 254));
}

/// Ephemeral (client) port: the union of the Linux and Windows default ranges.
#[inline]
pub(crate) fn ephemeral_port(rng: &mut rng::Rng) -> u64 {
    rng.range(32_768, 65_535)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_matches_known_dates() {
        let c = civil(BASE_EPOCH);
        assert_eq!((c.year, c.month, c.day, c.hour), (2025, 6, 1, 0));
        let c = civil(BASE_EPOCH + 47 * 3600 + 59 * 60 + 7);
        assert_eq!(
            (c.year, c.month, c.day, c.hour, c.minute, c.second),
            (2025, 6, 2, 23, 59, 7)
        );
        let c = civil(951_782_400); // 2000-02-29
        assert_eq!((c.year, c.month, c.day), (2000, 2, 29));
    }

    #[test]
    fn number_formatting() {
        let mut b = Vec::new();
        push_u64(&mut b, 0);
        b.push(b' ');
        push_u64(&mut b, 18_446_744_073_709_551_615);
        b.push(b' ');
        push_padded(&mut b, 7, 2);
        push_padded(&mut b, 2025, 4);
        assert_eq!(b, b"0 18446744073709551615 072025");
    }

    #[test]
    fn shares_add_up() {
        let total: u64 = (0..7).map(|i| share(100, 7, i)).sum();
        assert_eq!(total, 100);
    }
}

#[cfg(test)]
pub(crate) mod tests_support {
    use std::path::{Path, PathBuf};

    use anyhow::{Context, Result};

    /// A fresh, empty directory under the system temp dir.
    pub(crate) fn temp_dir(tag: &str) -> PathBuf {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!(
            "flowtrail-gen-{tag}-{}-{}-{nanos}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    /// Every file under `dir`, sorted.
    pub(crate) fn walk(dir: &Path) -> Result<Vec<PathBuf>> {
        let mut out = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).with_context(|| d.display().to_string())? {
                let p = e?.path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    out.push(p);
                }
            }
        }
        out.sort();
        Ok(out)
    }

    /// Decompresses a single-member gzip file (size from the ISIZE trailer).
    pub(crate) fn gunzip(gz: &[u8]) -> Result<Vec<u8>> {
        let tail: [u8; 4] = gz
            .get(gz.len().saturating_sub(4)..)
            .and_then(|s| s.try_into().ok())
            .context("gzip too short")?;
        let mut out = vec![0u8; u32::from_le_bytes(tail) as usize];
        let n = libdeflater::Decompressor::new()
            .gzip_decompress(gz, &mut out)
            .map_err(|e| anyhow::anyhow!("gunzip: {e}"))?;
        out.truncate(n);
        Ok(out)
    }
}
