//! Longest-prefix lookup over a set of IP networks: [`PrefixMap`].
//!
//! Networks (CIDRs and single addresses) are either nested or disjoint, never partly
//! overlapping. The builder sorts them, sweeps them once with a stack and produces, per address
//! family, a sorted table of "elementary" ranges: consecutive address ranges covered by exactly
//! the same chain of networks. Each range points at its most specific network; every network
//! points at the one enclosing it. A lookup is a binary search over the range starts (narrowed
//! for IPv4 by a 65,536-entry table on the top 16 bits) followed by a walk up the parent chain,
//! so it costs O(log n) with no allocation, and the table holds at most 2n + 1 ranges.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::net::Cidr;

const NONE: u32 = u32::MAX;

/// IPv4 tables with more ranges than this get the top-16-bit bucket index.
const BUCKET_THRESHOLD: usize = 4096;

/// An immutable map from IP networks to values with longest-prefix lookups. Build it with
/// [`PrefixMapBuilder`].
#[derive(Debug, Clone)]
pub struct PrefixMap<V> {
    nets: Vec<Cidr>,
    values: Vec<V>,
    parent: Vec<u32>,
    v4: Ranges<u32>,
    v4_buckets: Vec<u32>,
    v6: Ranges<u128>,
}

#[derive(Debug, Clone)]
struct Ranges<K> {
    starts: Vec<K>,
    node: Vec<u32>,
}

impl<K: RangeKey> Ranges<K> {
    fn empty() -> Self {
        Ranges {
            starts: vec![K::ZERO],
            node: vec![NONE],
        }
    }

    fn emit(&mut self, pos: K, node: u32) {
        if self.starts.last() == Some(&pos) {
            if let Some(last) = self.node.last_mut() {
                *last = node;
            }
            return;
        }
        if self.node.last() == Some(&node) {
            return;
        }
        self.starts.push(pos);
        self.node.push(node);
    }
}

trait RangeKey: Copy + Ord {
    const ZERO: Self;
    fn succ(self) -> Option<Self>;
}

impl RangeKey for u32 {
    const ZERO: Self = 0;
    fn succ(self) -> Option<Self> {
        self.checked_add(1)
    }
}

impl RangeKey for u128 {
    const ZERO: Self = 0;
    fn succ(self) -> Option<Self> {
        self.checked_add(1)
    }
}

/// Sweeps `(start, end, node)` items (sorted here) into elementary ranges and fills `parent`.
fn sweep<K: RangeKey>(mut items: Vec<(K, K, u32)>, parent: &mut [u32]) -> Ranges<K> {
    // Outer networks first at equal starts, so they are on the stack when inner ones arrive.
    items.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    let mut out = Ranges::empty();
    let mut stack: Vec<(K, u32)> = Vec::new(); // (end, node)
    let close = |stack: &mut Vec<(K, u32)>, out: &mut Ranges<K>, upto: Option<K>| {
        while let Some(&(end, _)) = stack.last() {
            if let Some(start) = upto {
                if end >= start {
                    break;
                }
            }
            stack.pop();
            if let Some(next) = end.succ() {
                out.emit(next, stack.last().map_or(NONE, |t| t.1));
            }
        }
    };
    for (start, end, node) in items {
        close(&mut stack, &mut out, Some(start));
        if let (Some(&(_, top)), Some(p)) = (stack.last(), parent.get_mut(node as usize)) {
            *p = top;
        }
        out.emit(start, node);
        stack.push((end, node));
    }
    close(&mut stack, &mut out, None);
    out
}

impl<V> PrefixMap<V> {
    /// The number of distinct networks.
    pub fn len(&self) -> usize {
        self.nets.len()
    }

    /// True when the map holds no network.
    pub fn is_empty(&self) -> bool {
        self.nets.is_empty()
    }

    /// Every network with its value, in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&Cidr, &V)> {
        self.nets.iter().zip(self.values.iter())
    }

    /// The index of the most specific network holding `ip`, or `NONE`.
    #[inline]
    fn find(&self, ip: IpAddr) -> u32 {
        match ip.to_canonical() {
            IpAddr::V4(a) => {
                let x = u32::from(a);
                let starts = &self.v4.starts;
                let (lo, hi) = if self.v4_buckets.is_empty() {
                    (0, starts.len())
                } else {
                    let h = (x >> 16) as usize;
                    let lo = self.v4_buckets.get(h).copied().unwrap_or(0) as usize;
                    let hi = self.v4_buckets.get(h + 1).copied().unwrap_or(0) as usize;
                    (lo.saturating_sub(1), hi.max(lo))
                };
                let slice = starts.get(lo..hi).unwrap_or(&[]);
                let i = lo + slice.partition_point(|s| *s <= x);
                match i.checked_sub(1) {
                    Some(i) => self.v4.node.get(i).copied().unwrap_or(NONE),
                    None => NONE,
                }
            }
            IpAddr::V6(a) => {
                let x = u128::from(a);
                let i = self.v6.starts.partition_point(|s| *s <= x);
                match i.checked_sub(1) {
                    Some(i) => self.v6.node.get(i).copied().unwrap_or(NONE),
                    None => NONE,
                }
            }
        }
    }

    /// The most specific network holding `ip` and its value.
    #[inline]
    pub fn longest(&self, ip: IpAddr) -> Option<(&Cidr, &V)> {
        let n = self.find(ip) as usize;
        Some((self.nets.get(n)?, self.values.get(n)?))
    }

    /// Every network holding `ip`, most specific first.
    #[inline]
    pub fn matches(&self, ip: IpAddr) -> Matches<'_, V> {
        Matches {
            map: self,
            next: self.find(ip),
        }
    }

    /// True when some network holds `ip`.
    #[inline]
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.find(ip) != NONE
    }
}

/// Iterator over the networks holding an address, most specific first.
pub struct Matches<'a, V> {
    map: &'a PrefixMap<V>,
    next: u32,
}

impl<'a, V> Iterator for Matches<'a, V> {
    type Item = (&'a Cidr, &'a V);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let n = self.next as usize;
        let net = self.map.nets.get(n)?;
        let v = self.map.values.get(n)?;
        self.next = self.map.parent.get(n).copied().unwrap_or(NONE);
        Some((net, v))
    }
}

/// Collects networks and values, then builds a [`PrefixMap`].
#[derive(Debug, Clone)]
pub struct PrefixMapBuilder<V> {
    index: HashMap<Cidr, usize>,
    nets: Vec<Cidr>,
    values: Vec<V>,
}

impl<V> Default for PrefixMapBuilder<V> {
    fn default() -> Self {
        PrefixMapBuilder {
            index: HashMap::new(),
            nets: Vec::new(),
            values: Vec::new(),
        }
    }
}

impl<V> PrefixMapBuilder<V> {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// The value of `net`, inserted with `default()` when the network is new.
    pub fn entry(&mut self, net: Cidr, default: impl FnOnce() -> V) -> &mut V {
        let i = match self.index.get(&net) {
            Some(&i) => i,
            None => {
                let i = self.nets.len();
                self.index.insert(net, i);
                self.nets.push(net);
                self.values.push(default());
                i
            }
        };
        &mut self.values[i]
    }

    /// Sets the value of `net`, returning the previous one.
    pub fn insert(&mut self, net: Cidr, value: V) -> Option<V> {
        match self.index.get(&net) {
            Some(&i) => Some(std::mem::replace(&mut self.values[i], value)),
            None => {
                self.index.insert(net, self.nets.len());
                self.nets.push(net);
                self.values.push(value);
                None
            }
        }
    }

    /// The number of distinct networks so far.
    pub fn len(&self) -> usize {
        self.nets.len()
    }

    /// True when nothing was inserted.
    pub fn is_empty(&self) -> bool {
        self.nets.is_empty()
    }

    /// Builds the lookup tables.
    pub fn build(self) -> PrefixMap<V> {
        let mut parent = vec![NONE; self.nets.len()];
        let mut v4 = Vec::new();
        let mut v6 = Vec::new();
        for (i, net) in self.nets.iter().enumerate() {
            if let Some((s, e)) = net.range_v4() {
                v4.push((s, e, i as u32));
            } else if let Some((s, e)) = net.range_v6() {
                v6.push((s, e, i as u32));
            }
        }
        let v4 = sweep(v4, &mut parent);
        let v6 = sweep(v6, &mut parent);
        let v4_buckets = if v4.starts.len() > BUCKET_THRESHOLD {
            // bucket[h] = index of the first range starting at or after h << 16.
            let mut b = Vec::with_capacity(65_537);
            let mut i = 0usize;
            for h in 0..=65_536u64 {
                let bound = h << 16;
                while i < v4.starts.len() && u64::from(v4.starts[i]) < bound {
                    i += 1;
                }
                b.push(i as u32);
            }
            b
        } else {
            Vec::new()
        };
        PrefixMap {
            nets: self.nets,
            values: self.values,
            parent,
            v4,
            v4_buckets,
            v6,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn map(nets: &[&str]) -> PrefixMap<String> {
        let mut b = PrefixMapBuilder::new();
        for n in nets {
            b.insert(Cidr::parse(n).unwrap(), n.to_string());
        }
        b.build()
    }

    fn chain(m: &PrefixMap<String>, ip: &str) -> Vec<String> {
        m.matches(ip.parse().unwrap())
            .map(|(_, v)| v.clone())
            .collect()
    }

    #[test]
    fn nested_and_disjoint() {
        let m = map(&[
            "10.0.0.0/8",
            "10.1.0.0/16",
            "10.1.2.3",
            "10.1.255.0/24",
            "192.168.0.0/16",
            "0.0.0.0/0",
            "255.255.255.255",
            "2001:db8::/32",
            "2001:db8::1",
        ]);
        assert_eq!(
            chain(&m, "10.1.2.3"),
            ["10.1.2.3", "10.1.0.0/16", "10.0.0.0/8", "0.0.0.0/0"]
        );
        assert_eq!(
            chain(&m, "10.1.2.4"),
            ["10.1.0.0/16", "10.0.0.0/8", "0.0.0.0/0"]
        );
        assert_eq!(
            chain(&m, "10.1.255.255"),
            ["10.1.255.0/24", "10.1.0.0/16", "10.0.0.0/8", "0.0.0.0/0"]
        );
        assert_eq!(chain(&m, "10.2.0.0"), ["10.0.0.0/8", "0.0.0.0/0"]);
        assert_eq!(chain(&m, "11.0.0.0"), ["0.0.0.0/0"]);
        assert_eq!(
            chain(&m, "255.255.255.255"),
            ["255.255.255.255", "0.0.0.0/0"]
        );
        assert_eq!(chain(&m, "255.255.255.254"), ["0.0.0.0/0"]);
        assert_eq!(chain(&m, "::ffff:10.1.2.3").len(), 4);
        assert_eq!(chain(&m, "2001:db8::1"), ["2001:db8::1", "2001:db8::/32"]);
        assert_eq!(chain(&m, "2001:db8::2"), ["2001:db8::/32"]);
        assert!(chain(&m, "2001:db9::").is_empty());
        assert!(chain(&m, "::").is_empty());
        assert_eq!(
            m.longest("10.1.9.9".parse().unwrap()).unwrap().1,
            "10.1.0.0/16"
        );
    }

    #[test]
    fn bucketed_matches_naive() {
        // Enough ranges to switch the bucket index on; compare against a linear scan.
        let mut b = PrefixMapBuilder::new();
        let mut nets = Vec::new();
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for i in 0..6000u32 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = [8u8, 16, 20, 24, 28, 32][(i % 6) as usize];
            let ip = IpAddr::V4(std::net::Ipv4Addr::from(x as u32));
            let c = Cidr::new(ip, len).unwrap();
            b.insert(c, i);
            nets.push(c);
        }
        let m = b.build();
        assert!(!m.v4_buckets.is_empty());
        for j in 0..20_000u32 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Half random addresses, half network starts (the range boundaries).
            let ip = if j % 2 == 0 {
                IpAddr::V4(std::net::Ipv4Addr::from(x as u32))
            } else {
                nets[(j as usize) % nets.len()].addr()
            };
            let want = nets
                .iter()
                .filter(|c| c.contains(ip))
                .max_by_key(|c| c.prefix_len())
                .copied();
            assert_eq!(m.longest(ip).map(|(c, _)| *c), want, "{ip}");
        }
    }
}
