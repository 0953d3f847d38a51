//! A tiny deterministic PRNG and a Zipf-like sampler.
//!
//! The generator must be reproducible from a seed and fast (tens of millions of draws per
//! second), but needs no statistical rigour beyond "looks like traffic", so a hand-written
//! wyrand stands in for the `rand` crate.

/// wyrand: one 64-bit state word, one multiply per draw. Also the tests' and benchmarks' source
/// of random data across the workspace.
#[derive(Clone, Debug)]
pub struct Rng {
    state: u64,
}

impl Rng {
    /// A generator whose stream depends on both `seed` and `stream` (e.g. a file index), so
    /// each file gets its own independent sequence whatever the thread scheduling.
    pub fn new(seed: u64, stream: u64) -> Self {
        let mut s = splitmix64(seed ^ splitmix64(stream.wrapping_add(0x5851_f42d_4c95_7f2d)));
        if s == 0 {
            s = 0x9e37_79b9_7f4a_7c15;
        }
        Rng { state: s }
    }

    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0xa076_1d64_78bd_642f);
        let t = u128::from(self.state) * u128::from(self.state ^ 0xe703_7ed1_a0b4_28db);
        ((t >> 64) as u64) ^ (t as u64)
    }

    /// Uniform in `0..n` (`n > 0`); multiply-shift, bias negligible for the small `n` used here.
    #[inline]
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    #[inline]
    pub(crate) fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    /// True with probability `per_million / 1_000_000`.
    #[inline]
    pub(crate) fn chance(&mut self, per_million: u64) -> bool {
        self.below(1_000_000) < per_million
    }

    /// Uniform in `[0, 1)`.
    #[inline]
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Log-uniform integer in `1..=max`: small values are common, large ones rare, as with
    /// packet counts per capture window.
    #[inline]
    pub(crate) fn log_uniform(&mut self, max: u64) -> u64 {
        let v = ((max as f64).ln() * self.unit()).exp() as u64;
        v.clamp(1, max)
    }

    /// Picks an index by integer weights.
    pub(crate) fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u64 = weights.iter().map(|&w| u64::from(w)).sum();
        let mut r = self.below(total.max(1));
        for (i, &w) in weights.iter().enumerate() {
            if r < u64::from(w) {
                return i;
            }
            r -= u64::from(w);
        }
        weights.len().saturating_sub(1)
    }
}

/// SplitMix64 finaliser: a bijective 64-bit mix.
pub(crate) fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// murmur3 fmix32: bijective on u32, so distinct inputs give distinct file-name hashes.
pub(crate) fn fmix32(mut h: u32) -> u32 {
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^ (h >> 16)
}

/// Zipf-like popularity over `n` items: item `k` (0-based) has weight `1 / (k + 1)^s`.
/// Sampling is a binary search over a precomputed cumulative table.
#[derive(Clone, Debug)]
pub(crate) struct Zipf {
    cdf: Vec<u64>,
}

impl Zipf {
    pub(crate) fn new(n: usize, s: f64) -> Self {
        let n = n.max(1);
        let weights: Vec<f64> = (0..n).map(|k| 1.0 / ((k + 1) as f64).powf(s)).collect();
        let total: f64 = weights.iter().sum();
        let mut acc = 0.0;
        let scale = (1u64 << 53) as f64;
        let cdf = weights
            .iter()
            .map(|w| {
                acc += w / total;
                (acc * scale) as u64
            })
            .collect();
        Zipf { cdf }
    }

    #[inline]
    pub(crate) fn sample(&self, rng: &mut Rng) -> usize {
        let u = rng.next_u64() >> 11;
        let i = self.cdf.partition_point(|&c| c <= u);
        i.min(self.cdf.len() - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zipf_prefers_low_ranks() {
        let mut rng = Rng::new(1, 2);
        let z = Zipf::new(1000, 1.1);
        let mut counts = vec![0u32; 1000];
        for _ in 0..100_000 {
            counts[z.sample(&mut rng)] += 1;
        }
        assert!(counts[0] > counts[10]);
        assert!(counts[10] > counts[500]);
        assert!(counts.iter().filter(|&&c| c > 0).count() > 300);
    }

    #[test]
    fn fmix32_is_injective_on_a_sample() {
        let mut seen = std::collections::HashSet::new();
        for i in 0..100_000u32 {
            assert!(seen.insert(fmix32(i)));
        }
    }
}
