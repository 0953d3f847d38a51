//! Local context: the asset inventory ([`AssetInventory`]) and IP-to-user bindings over time
//! ([`UserBindings`]).

use std::collections::HashMap;
use std::net::IpAddr;

use serde::Serialize;

use crate::feeds::{split_csv_line, ParseReport};
use crate::net::{parse_ip_loose, Cidr};
use crate::prefix::{PrefixMap, PrefixMapBuilder};
use crate::time::parse_timestamp;
use flowtrail_schema::Micros;

/// One inventory entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Asset {
    /// The address or network it covers.
    pub network: Cidr,
    /// Host name.
    pub hostname: Option<String>,
    /// Owner (person or team).
    pub owner: Option<String>,
    /// Criticality, as written in the inventory (`high`, `1`, `crown-jewel`...).
    pub criticality: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
}

/// Which CSV column holds what, from a header row or by position.
struct Columns {
    cols: [Option<usize>; 5],
}

impl Columns {
    fn positional() -> Self {
        Columns {
            cols: [Some(0), Some(1), Some(2), Some(3), Some(4)],
        }
    }

    /// Maps header names onto slots using `names[slot]` synonyms; `None` when the row does not
    /// name the first (key) slot.
    fn from_header(row: &[String], names: &[&[&str]]) -> Option<Self> {
        let mut cols = [None; 5];
        for (slot, syn) in names.iter().enumerate().take(5) {
            cols[slot] = row.iter().position(|h| {
                let h = h.trim().to_ascii_lowercase();
                syn.iter().any(|s| *s == h)
            });
        }
        cols[0].map(|_| Columns { cols })
    }

    fn get<'a>(&self, row: &'a [String], slot: usize) -> Option<&'a str> {
        let i = self.cols.get(slot).copied().flatten()?;
        let v = row.get(i)?.trim();
        (!v.is_empty() && v != "-").then_some(v)
    }
}

/// Iterates non-blank, non-comment (`#`) lines as split CSV rows with their line numbers.
fn csv_rows(text: &str) -> impl Iterator<Item = (usize, Vec<String>)> + '_ {
    text.lines().enumerate().filter_map(|(i, l)| {
        let t = l.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
        if t.is_empty() || t.starts_with('#') {
            None
        } else {
            Some((i + 1, split_csv_line(t, ',')))
        }
    })
}

const ASSET_HEADERS: &[&[&str]] = &[
    &[
        "ip",
        "cidr",
        "network",
        "address",
        "subnet",
        "ip_address",
        "range",
        "net",
    ],
    &["hostname", "host", "name", "fqdn", "asset"],
    &["owner", "contact", "team", "responsible"],
    &["criticality", "priority", "tier", "severity", "importance"],
    &["tags", "tag", "labels", "label"],
];

/// The asset inventory: networks and addresses with host name, owner, criticality and tags,
/// looked up by longest prefix (a `/32` entry beats the `/24` it sits in).
#[derive(Debug, Clone)]
pub struct AssetInventory {
    map: PrefixMap<Asset>,
}

impl AssetInventory {
    /// Builds an inventory from assets; a network listed twice keeps the later entry.
    pub fn new(assets: impl IntoIterator<Item = Asset>) -> AssetInventory {
        let mut b = PrefixMapBuilder::new();
        for a in assets {
            b.insert(a.network, a);
        }
        AssetInventory { map: b.build() }
    }

    /// Reads an inventory CSV: `ip_or_cidr, hostname, owner, criticality, tags`. A header row
    /// (first field not an address) maps columns by name (`ip`/`cidr`/`network`/`address`,
    /// `hostname`/`host`/`name`, `owner`/`team`, `criticality`/`priority`/`tier`,
    /// `tags`/`labels`), in any order, other columns ignored; without one the order above is
    /// assumed. Tags split on `;`, `|` or `,` (quote the field for commas). `#` lines are
    /// comments. A network listed twice keeps the later row (the earlier is reported).
    pub fn from_csv(text: &str) -> (AssetInventory, ParseReport) {
        let mut report = ParseReport::default();
        let mut cols: Option<Columns> = None;
        let mut seen: HashMap<Cidr, usize> = HashMap::new();
        let mut assets = Vec::new();
        for (line, row) in csv_rows(text) {
            let first = row.first().map(String::as_str).unwrap_or("");
            if cols.is_none() {
                let header = if Cidr::parse(first).is_none() {
                    Columns::from_header(&row, ASSET_HEADERS)
                } else {
                    None
                };
                let is_header = header.is_some();
                cols = Some(header.unwrap_or_else(Columns::positional));
                if is_header {
                    continue;
                }
            }
            let Some(c) = cols.as_ref() else { continue };
            let key = c.get(&row, 0).unwrap_or("");
            let Some(network) = Cidr::parse(key) else {
                report.skip(
                    format!("line {line}"),
                    format!("bad address or network {key:?}"),
                );
                continue;
            };
            let tags = c
                .get(&row, 4)
                .map(|t| {
                    t.split([';', '|', ','])
                        .map(str::trim)
                        .filter(|x| !x.is_empty())
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            let asset = Asset {
                network,
                hostname: c.get(&row, 1).map(str::to_string),
                owner: c.get(&row, 2).map(str::to_string),
                criticality: c.get(&row, 3).map(str::to_string),
                tags,
            };
            report.parsed += 1;
            if let Some(old_line) = seen.insert(network, line) {
                report.skip(
                    format!("line {old_line}"),
                    format!("network {network} listed again on line {line}; the later row wins"),
                );
            }
            assets.push(asset);
        }
        (AssetInventory::new(assets), report)
    }

    /// The most specific asset covering `ip`.
    #[inline]
    pub fn lookup(&self, ip: IpAddr) -> Option<&Asset> {
        self.map.longest(ip).map(|(_, a)| a)
    }

    /// Every asset covering `ip`, most specific first.
    pub fn lookup_all(&self, ip: IpAddr) -> impl Iterator<Item = &Asset> {
        self.map.matches(ip).map(|(_, a)| a)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// One IP-to-user binding: `user` held the address from `start` (inclusive) to `end`
/// (exclusive; `None` = still holds it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserBinding {
    /// The address.
    pub ip: IpAddr,
    /// User name as exported.
    pub user: String,
    /// Start of the lease/session, µs.
    pub start: Micros,
    /// End of the lease/session, µs, exclusive.
    pub end: Option<Micros>,
}

#[derive(Debug, Clone)]
struct Interval {
    start: Micros,
    end: Micros,
    user: Box<str>,
}

const USER_HEADERS: &[&[&str]] = &[
    &[
        "ip",
        "address",
        "ip_address",
        "client_ip",
        "framed_ip",
        "assigned_ip",
        "src_ip",
        "lease_ip",
    ],
    &[
        "user",
        "username",
        "user_name",
        "login",
        "account",
        "principal",
        "identity",
    ],
    &[
        "start",
        "from",
        "begin",
        "start_time",
        "lease_start",
        "valid_from",
        "login_time",
        "session_start",
    ],
    &[
        "end",
        "to",
        "until",
        "end_time",
        "lease_end",
        "valid_until",
        "logout_time",
        "session_end",
    ],
    &[],
];

/// Which user held an address at a given time (DHCP leases, VPN sessions, NAC logs).
///
/// Overlapping intervals for one address (a lease renewed before the old one expired, a VPN
/// pool handing an address out again): **the interval with the latest start that contains the
/// time wins**; with equal starts, the one added later wins. An interval is `[start, end)`;
/// no end means open-ended.
#[derive(Debug, Clone, Default)]
pub struct UserBindings {
    by_ip: HashMap<IpAddr, Timeline>,
    count: usize,
}

/// One address's intervals sorted by start, with `max_end[i]` = the largest end among
/// intervals `0..=i`, which lets a lookup stop scanning back as soon as no earlier interval can
/// reach the time looked up.
#[derive(Debug, Clone, Default)]
struct Timeline {
    intervals: Vec<Interval>,
    max_end: Vec<Micros>,
}

impl UserBindings {
    /// Builds the index from bindings.
    pub fn new(bindings: impl IntoIterator<Item = UserBinding>) -> UserBindings {
        let mut by_ip: HashMap<IpAddr, Timeline> = HashMap::new();
        let mut count = 0;
        for b in bindings {
            count += 1;
            by_ip
                .entry(b.ip.to_canonical())
                .or_default()
                .intervals
                .push(Interval {
                    start: b.start,
                    end: b.end.unwrap_or(Micros::MAX),
                    user: b.user.into_boxed_str(),
                });
        }
        for tl in by_ip.values_mut() {
            // Stable: equal starts keep input order, so the later one is found first going back.
            tl.intervals.sort_by_key(|iv| iv.start);
            let mut cur = Micros::MIN;
            tl.max_end = tl
                .intervals
                .iter()
                .map(|iv| {
                    cur = cur.max(iv.end);
                    cur
                })
                .collect();
        }
        UserBindings { by_ip, count }
    }

    /// Reads bindings CSV: `ip, user, start, end`, times RFC 3339 / ISO 8601 (no zone = UTC) or
    /// epoch seconds/ms/µs; an empty or `-` end is open-ended. A header row (first field not an
    /// address) maps columns by name (`ip`/`address`/`client_ip`/`framed_ip`,
    /// `user`/`username`/`login`/`account`, `start`/`from`/`lease_start`,
    /// `end`/`to`/`until`/`lease_end`). Rows with a bad address, no user, a bad time or an end
    /// before the start are skipped and reported.
    pub fn from_csv(text: &str) -> (UserBindings, ParseReport) {
        let mut report = ParseReport::default();
        let mut cols: Option<Columns> = None;
        let mut out = Vec::new();
        for (line, row) in csv_rows(text) {
            let loc = format!("line {line}");
            let first = row.first().map(String::as_str).unwrap_or("");
            if cols.is_none() {
                let header = if parse_ip_loose(first).is_none() {
                    Columns::from_header(&row, USER_HEADERS)
                } else {
                    None
                };
                let is_header = header.is_some();
                cols = Some(header.unwrap_or_else(Columns::positional));
                if is_header {
                    continue;
                }
            }
            let Some(c) = cols.as_ref() else { continue };
            let ip_s = c.get(&row, 0).unwrap_or("");
            let Some(ip) = parse_ip_loose(ip_s) else {
                report.skip(&loc, format!("bad IP address {ip_s:?}"));
                continue;
            };
            let Some(user) = c.get(&row, 1) else {
                report.skip(&loc, "no user");
                continue;
            };
            let start_s = c.get(&row, 2).unwrap_or("");
            let Some(start) = parse_timestamp(start_s) else {
                report.skip(&loc, format!("bad start time {start_s:?}"));
                continue;
            };
            let end = match c.get(&row, 3) {
                None => None,
                Some(e) if e.eq_ignore_ascii_case("null") || e.eq_ignore_ascii_case("none") => None,
                Some(e) => match parse_timestamp(e) {
                    Some(t) => Some(t),
                    None => {
                        report.skip(&loc, format!("bad end time {e:?}"));
                        continue;
                    }
                },
            };
            if end.is_some_and(|e| e <= start) {
                report.skip(&loc, "end is not after start");
                continue;
            }
            report.parsed += 1;
            out.push(UserBinding {
                ip,
                user: user.to_string(),
                start,
                end,
            });
        }
        (UserBindings::new(out), report)
    }

    /// The user holding `ip` at `t` (µs), if any. See the type docs for overlaps.
    pub fn user_at(&self, ip: IpAddr, t: Micros) -> Option<&str> {
        let tl = self.by_ip.get(&ip.to_canonical())?;
        let (v, m) = (&tl.intervals, &tl.max_end);
        let mut i = v.partition_point(|iv| iv.start <= t);
        while i > 0 {
            i -= 1;
            if m.get(i).is_none_or(|&e| e <= t) {
                return None;
            }
            let iv = v.get(i)?;
            if t < iv.end {
                return Some(&iv.user);
            }
        }
        None
    }

    /// Number of bindings.
    pub fn len(&self) -> usize {
        self.count
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn assets() {
        let text = "# inventory\nhostname,ip,owner,criticality,tags\n\
            dc1,10.0.0.0/24,infra,high,\"dc;prod\"\n\
            db1,10.0.0.5,dba,critical,db|prod\n\
            bad,10.0.0.999,x,y,z\n\
            dc1b,10.0.0.0/24,infra,high,\n";
        let (inv, rep) = AssetInventory::from_csv(text);
        assert_eq!(inv.len(), 2);
        let a = inv.lookup("10.0.0.5".parse().unwrap()).unwrap();
        assert_eq!(a.hostname.as_deref(), Some("db1"));
        assert_eq!(a.tags, ["db", "prod"]);
        let b = inv.lookup("10.0.0.6".parse().unwrap()).unwrap();
        assert_eq!(b.hostname.as_deref(), Some("dc1b"));
        assert!(inv.lookup("10.0.1.1".parse().unwrap()).is_none());
        assert_eq!(inv.lookup_all("10.0.0.5".parse().unwrap()).count(), 2);
        assert_eq!(rep.parsed, 3);
        assert_eq!(rep.skipped_total, 2);
        assert_eq!(
            rep.skipped[0].reason,
            "bad address or network \"10.0.0.999\""
        );
        assert_eq!(rep.skipped[1].location, "line 3");
        // Positional, no header.
        let (inv, _) = AssetInventory::from_csv("192.168.1.0/24,lan,,low\n");
        let a = inv.lookup("::ffff:192.168.1.7".parse().unwrap()).unwrap();
        assert_eq!(a.owner, None);
        assert_eq!(a.criticality.as_deref(), Some("low"));
    }

    #[test]
    fn users() {
        let text = "ip,user,start,end\n\
            10.0.0.5,alice,2024-01-01T08:00:00Z,2024-01-01T18:00:00Z\n\
            10.0.0.5,bob,2024-01-01T12:00:00Z,2024-01-01T13:00:00Z\n\
            10.0.0.5,carol,2024-01-01T20:00:00Z,\n\
            10.0.0.6,dave,1704096000,1704099600\n\
            10.0.0.7,,1704096000,\n\
            10.0.0.7,erin,yesterday,\n\
            10.0.0.7,erin,1704099600,1704096000\n";
        let (u, rep) = UserBindings::from_csv(text);
        assert_eq!(u.len(), 4);
        assert_eq!(rep.skipped_total, 3);
        let t = |s: &str| parse_timestamp(s).unwrap();
        let ip = "10.0.0.5".parse().unwrap();
        assert_eq!(u.user_at(ip, t("2024-01-01T07:59:59Z")), None);
        assert_eq!(u.user_at(ip, t("2024-01-01T08:00:00Z")), Some("alice"));
        assert_eq!(u.user_at(ip, t("2024-01-01T12:30:00Z")), Some("bob"));
        assert_eq!(u.user_at(ip, t("2024-01-01T13:00:00Z")), Some("alice"));
        assert_eq!(u.user_at(ip, t("2024-01-01T18:00:00Z")), None);
        assert_eq!(u.user_at(ip, t("2030-01-01T00:00:00Z")), Some("carol"));
        let ip6 = "10.0.0.6".parse().unwrap();
        assert_eq!(u.user_at(ip6, 1_704_096_000_000_000), Some("dave"));
        assert_eq!(u.user_at(ip6, 1_704_099_600_000_000), None);
        assert_eq!(u.user_at("10.9.9.9".parse().unwrap(), 0), None);
    }

    #[test]
    fn equal_starts_later_row_wins() {
        let u = UserBindings::new([
            UserBinding {
                ip: "10.0.0.1".parse().unwrap(),
                user: "a".into(),
                start: 0,
                end: None,
            },
            UserBinding {
                ip: "10.0.0.1".parse().unwrap(),
                user: "b".into(),
                start: 0,
                end: Some(10),
            },
        ]);
        assert_eq!(u.user_at("10.0.0.1".parse().unwrap(), 5), Some("b"));
        assert_eq!(u.user_at("10.0.0.1".parse().unwrap(), 10), Some("a"));
    }
}
