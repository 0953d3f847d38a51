//! Where bytes come from: files, folders, globs and stdin, decompressed by their magic bytes.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use flowtrail_store::InputKey;

/// One input named on the command line, after expanding folders and globs.
#[derive(Debug, Clone)]
pub enum InputSpec {
    File(PathBuf),
    Stdin,
    /// An argument that names nothing readable: kept so it is reported, not silently dropped.
    Missing {
        arg: String,
        reason: String,
    },
}

impl InputSpec {
    /// Returns the origin shown to users and stored in the `origin` column.
    pub fn origin(&self) -> String {
        match self {
            InputSpec::File(p) => p.display().to_string(),
            InputSpec::Stdin => "-".into(),
            InputSpec::Missing { arg, .. } => arg.clone(),
        }
    }

    /// Returns the manifest key (canonical path, size, mtime) of a file input.
    pub fn key(&self) -> Option<InputKey> {
        let InputSpec::File(p) = self else {
            return None;
        };
        let meta = std::fs::metadata(p).ok()?;
        let canon = p.canonicalize().unwrap_or_else(|_| p.clone());
        let mtime_ns = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_nanos() as i128)
            .unwrap_or(0);
        Some(InputKey {
            origin: canon.display().to_string(),
            size: meta.len(),
            mtime_ns,
        })
    }

    /// Returns the size in bytes (0 for stdin and missing inputs).
    pub fn size(&self) -> u64 {
        match self {
            InputSpec::File(p) => std::fs::metadata(p).map(|m| m.len()).unwrap_or(0),
            _ => 0,
        }
    }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    for p in entries {
        let hidden = p
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'));
        if hidden {
            continue;
        }
        if p.is_dir() {
            walk(&p, out)?;
        } else if p.is_file() {
            out.push(p);
        }
    }
    Ok(())
}

/// Expands command-line sources into inputs, in a stable (sorted) order per argument.
pub fn expand(sources: &[String]) -> Vec<InputSpec> {
    let mut out = vec![];
    for s in sources {
        if s == "-" {
            out.push(InputSpec::Stdin);
            continue;
        }
        let p = PathBuf::from(s);
        if p.is_dir() {
            let mut files = vec![];
            match walk(&p, &mut files) {
                Ok(()) if files.is_empty() => out.push(InputSpec::Missing {
                    arg: s.clone(),
                    reason: "folder holds no files".into(),
                }),
                Ok(()) => out.extend(files.into_iter().map(InputSpec::File)),
                Err(e) => out.push(InputSpec::Missing {
                    arg: s.clone(),
                    reason: e.to_string(),
                }),
            }
        } else if p.is_file() {
            out.push(InputSpec::File(p));
        } else if s.contains(['*', '?', '[']) {
            match glob::glob(s) {
                Ok(paths) => {
                    let mut files: Vec<PathBuf> = paths.flatten().filter(|p| p.is_file()).collect();
                    files.sort();
                    if files.is_empty() {
                        out.push(InputSpec::Missing {
                            arg: s.clone(),
                            reason: "pattern matches no file".into(),
                        });
                    }
                    out.extend(files.into_iter().map(InputSpec::File));
                }
                Err(e) => out.push(InputSpec::Missing {
                    arg: s.clone(),
                    reason: format!("bad pattern: {e}"),
                }),
            }
        } else {
            let reason = match std::fs::metadata(&p) {
                Err(e) => e.to_string(),
                Ok(_) => "not a regular file or folder".into(),
            };
            out.push(InputSpec::Missing {
                arg: s.clone(),
                reason,
            });
        }
    }
    out
}

/// The compression (or container) an input's magic bytes announce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    Plain,
    Gzip,
    Zstd,
    Bzip2,
    Parquet,
}

impl Container {
    /// Recognizes the container from the first bytes.
    pub fn sniff(head: &[u8]) -> Container {
        if head.starts_with(&[0x1f, 0x8b]) {
            Container::Gzip
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Container::Zstd
        } else if head.starts_with(b"BZh") && head.get(3).is_some_and(|c| (b'1'..=b'9').contains(c))
        {
            Container::Bzip2
        } else if head.starts_with(b"PAR1") {
            Container::Parquet
        } else {
            Container::Plain
        }
    }
}

/// An opened input: decompressed bytes in memory (fast path) or a decompressing stream.
pub enum Payload {
    Memory(Vec<u8>),
    Stream(Box<dyn BufRead + Send>),
    /// A Parquet file (AWS's Parquet delivery), kept whole for the Parquet reader.
    Parquet(Vec<u8>),
}

/// Files up to this size are read whole; larger ones are streamed so memory stays bounded.
const WHOLE_FILE_MAX: u64 = 256 << 20;
/// Largest decompressed size decoded in memory with libdeflate.
const INFLATE_MAX: usize = 1 << 30;

/// Opens an input and undoes its compression.
pub fn open(spec: &InputSpec) -> Result<Payload, String> {
    match spec {
        InputSpec::Missing { reason, .. } => Err(reason.clone()),
        InputSpec::Stdin => {
            let mut r = BufReader::with_capacity(1 << 16, std::io::stdin());
            let head = r
                .fill_buf()
                .map_err(|e| format!("reading stdin: {e}"))?
                .to_vec();
            stream(Container::sniff(&head), Box::new(r))
        }
        InputSpec::File(p) => {
            let mut f = File::open(p).map_err(|e| e.to_string())?;
            let size = f.metadata().map(|m| m.len()).unwrap_or(0);
            if size <= WHOLE_FILE_MAX {
                let mut buf = Vec::with_capacity(size as usize);
                f.read_to_end(&mut buf).map_err(|e| e.to_string())?;
                match Container::sniff(&buf) {
                    Container::Plain => Ok(Payload::Memory(buf)),
                    Container::Parquet => Ok(Payload::Parquet(buf)),
                    Container::Gzip => match inflate_whole(&buf) {
                        Some(out) => Ok(Payload::Memory(out)),
                        // Multi-member, oversized or damaged: the streaming decoder handles the
                        // first two and reports exactly where the third goes wrong.
                        None => stream(Container::Gzip, Box::new(std::io::Cursor::new(buf))),
                    },
                    c => stream(c, Box::new(std::io::Cursor::new(buf))),
                }
            } else {
                let mut r = BufReader::with_capacity(1 << 16, f);
                let head = r.fill_buf().map_err(|e| e.to_string())?.to_vec();
                if Container::sniff(&head) == Container::Parquet {
                    return Err("Parquet input larger than 256 MiB is not supported yet".into());
                }
                stream(Container::sniff(&head), Box::new(r))
            }
        }
    }
}

fn stream(c: Container, r: Box<dyn BufRead + Send>) -> Result<Payload, String> {
    let cap = 1 << 16;
    Ok(Payload::Stream(match c {
        Container::Plain => r,
        Container::Gzip => Box::new(BufReader::with_capacity(
            cap,
            flate2::bufread::MultiGzDecoder::new(r),
        )),
        Container::Zstd => Box::new(BufReader::with_capacity(
            cap,
            zstd::stream::read::Decoder::with_buffer(r).map_err(|e| format!("zstd: {e}"))?,
        )),
        Container::Bzip2 => Box::new(BufReader::with_capacity(
            cap,
            bzip2::bufread::MultiBzDecoder::new(r),
        )),
        Container::Parquet => {
            return Err("Parquet cannot be read from a stream; pass the file".into())
        }
    }))
}

/// Inflates a single-member gzip file in one call with libdeflate (several times faster than
/// zlib). Returns `None` when the member is not alone, too large or damaged.
fn inflate_whole(gz: &[u8]) -> Option<Vec<u8>> {
    let n = gz.len();
    if n < 18 {
        return None;
    }
    // ISIZE: the uncompressed size modulo 2^32, little-endian, in the last 4 bytes.
    let isize = u32::from_le_bytes([gz[n - 4], gz[n - 3], gz[n - 2], gz[n - 1]]) as usize;
    if isize > INFLATE_MAX || isize == 0 {
        return None;
    }
    let mut out = vec![0u8; isize];
    // The member must fill the output and end where the file ends: a second member whose size
    // happened to match the first's was otherwise dropped without a word.
    match gzip_member(gz, &mut out) {
        Some((used_in, len)) if used_in == n && len == isize => Some(out),
        _ => None,
    }
}

/// Inflates the gzip member at the start of `gz` into `out`: `(input bytes used, output bytes
/// written)`, or `None` when the data is damaged or does not fit. The safe binding
/// (`libdeflater`) does not report the input used, hence the direct call.
#[allow(unsafe_code)]
fn gzip_member(gz: &[u8], out: &mut [u8]) -> Option<(usize, usize)> {
    use libdeflate_sys as sys;
    // SAFETY: the decompressor is checked for NULL, used by this call only and freed once;
    // the input and output pointers come from live slices with their exact lengths, which
    // libdeflate never reads or writes past; the two result pointers are to local integers.
    unsafe {
        let d = sys::libdeflate_alloc_decompressor();
        if d.is_null() {
            return None;
        }
        let (mut used_in, mut used_out) = (0usize, 0usize);
        let r = sys::libdeflate_gzip_decompress_ex(
            d,
            gz.as_ptr().cast(),
            gz.len(),
            out.as_mut_ptr().cast(),
            out.len(),
            &mut used_in,
            &mut used_out,
        );
        sys::libdeflate_free_decompressor(d);
        (r == sys::libdeflate_result_LIBDEFLATE_SUCCESS).then_some((used_in, used_out))
    }
}

/// Reads lines from a stream with a cap on line length, so one runaway line cannot exhaust memory.
pub struct CappedLines<R> {
    r: R,
    max: usize,
}

/// One line from [`CappedLines`].
pub enum Line {
    Ok(Vec<u8>),
    /// The line exceeded the cap; its first bytes are kept for the dead-letter file.
    TooLong(Vec<u8>),
}

impl<R: BufRead> CappedLines<R> {
    pub fn new(r: R, max: usize) -> Self {
        CappedLines { r, max }
    }

    /// Returns the next line without its `\n` (and `\r`), `Ok(None)` at the end.
    pub fn next_line(&mut self, buf: &mut Vec<u8>) -> std::io::Result<Option<Line>> {
        buf.clear();
        let mut too_long = false;
        let mut any = false;
        loop {
            let avail = self.r.fill_buf()?;
            if avail.is_empty() {
                break;
            }
            any = true;
            let (chunk, done) = match memchr::memchr(b'\n', avail) {
                Some(i) => (&avail[..i], Some(i + 1)),
                None => (avail, None),
            };
            if !too_long {
                if buf.len() + chunk.len() > self.max {
                    too_long = true;
                    let room = self.max.saturating_sub(buf.len()).min(chunk.len());
                    buf.extend_from_slice(&chunk[..room]);
                } else {
                    buf.extend_from_slice(chunk);
                }
            }
            let used = done.unwrap_or(avail.len());
            self.r.consume(used);
            if done.is_some() {
                break;
            }
        }
        if !any {
            return Ok(None);
        }
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
        let line = std::mem::take(buf);
        Ok(Some(if too_long {
            Line::TooLong(line)
        } else {
            Line::Ok(line)
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capped_lines() {
        let data = b"short\r\nthis line is too long\nlast".to_vec();
        let mut l = CappedLines::new(std::io::Cursor::new(data), 8);
        let mut buf = vec![];
        let mut got = vec![];
        while let Some(line) = l.next_line(&mut buf).expect("read") {
            got.push(match line {
                Line::Ok(v) => format!("ok:{}", String::from_utf8_lossy(&v)),
                Line::TooLong(v) => format!("long:{}", String::from_utf8_lossy(&v)),
            });
        }
        assert_eq!(got, vec!["ok:short", "long:this lin", "ok:last"]);
    }

    #[test]
    fn containers() {
        assert_eq!(Container::sniff(&[0x1f, 0x8b, 8]), Container::Gzip);
        assert_eq!(Container::sniff(b"BZh9"), Container::Bzip2);
        assert_eq!(Container::sniff(b"PAR1xx"), Container::Parquet);
        assert_eq!(Container::sniff(b"2 123"), Container::Plain);
    }

    #[test]
    fn gzip_whole_and_multi_member() {
        use std::io::Write;
        let mut one = flate2::write::GzEncoder::new(vec![], flate2::Compression::fast());
        one.write_all(b"hello\n").expect("w");
        let one = one.finish().expect("gz");
        assert_eq!(inflate_whole(&one).as_deref(), Some(&b"hello\n"[..]));
        let mut world = flate2::write::GzEncoder::new(vec![], flate2::Compression::fast());
        world.write_all(b"world\n").expect("w");
        let mut two = one.clone();
        two.extend_from_slice(&world.finish().expect("gz"));
        // Two members of the same size: the whole-file inflate declines (it would stop after
        // the first), the stream reads both.
        assert_eq!(inflate_whole(&two), None);
        let Payload::Stream(mut r) =
            stream(Container::Gzip, Box::new(std::io::Cursor::new(two))).expect("s")
        else {
            panic!("stream expected")
        };
        let mut s = String::new();
        r.read_to_string(&mut s).expect("read");
        assert_eq!(s, "hello\nworld\n");
    }
}
