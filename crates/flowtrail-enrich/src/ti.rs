//! Threat-intelligence indicators and the in-memory matching index [`TiIndex`].
//!
//! Matching rules (what counts as a hit):
//!
//! * **IP / CIDR**: an address matches every indicator whose address equals it or whose network
//!   holds it, most specific first. A CIDR written with host bits set (`89.160.20.129/24`, as
//!   OpenCTI exports) is taken as the whole network (`89.160.20.0/24`): the indicator says /24,
//!   and matching more rather than less is the safer failure for detection. IPv4-mapped IPv6
//!   addresses match as IPv4.
//! * **Domain**: `evil.com` matches `evil.com` and every subdomain (`a.b.evil.com`), never
//!   `notevil.com`. Case-insensitive; a trailing dot, a leading `*.` and a `:port` on the
//!   looked-up host are ignored. Hits come exact domain first, then parents.
//! * **URL**: exact match after normalization ([`normalize_url`]): scheme and host lower-cased,
//!   default port removed, empty path written `/`, fragment dropped; path and query kept
//!   byte-for-byte (no percent-decoding). A URL without a scheme is taken as `http://`.
//! * **User agent**: exact, case-sensitive match after trimming surrounding whitespace.
//! * **Validity**: an indicator applies at time `t` (µs) when `valid_from <= t < valid_until`
//!   (each bound optional). Pass the record's time, not the current time, so old flows are
//!   judged against the intel that was valid then. Use [`ANY_TIME`] to ignore windows.

use std::borrow::Cow;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::hash::FxHashMap;
use crate::net::{parse_ip_loose, Cidr};
use crate::prefix::{PrefixMap, PrefixMapBuilder};
use flowtrail_schema::Micros;

/// Pass as `at` to ignore validity windows.
pub const ANY_TIME: Micros = Micros::MIN;

/// What an indicator's value is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IndicatorKind {
    /// One IPv4 or IPv6 address.
    Ip,
    /// An IPv4 or IPv6 network.
    Cidr,
    /// A domain and all its subdomains.
    Domain,
    /// A URL (normalized).
    Url,
    /// An HTTP User-Agent string (exact).
    UserAgent,
}

impl IndicatorKind {
    /// The lower-case name used in files and reports (`ip`, `cidr`, `domain`, `url`,
    /// `user_agent`).
    pub fn as_str(self) -> &'static str {
        match self {
            IndicatorKind::Ip => "ip",
            IndicatorKind::Cidr => "cidr",
            IndicatorKind::Domain => "domain",
            IndicatorKind::Url => "url",
            IndicatorKind::UserAgent => "user_agent",
        }
    }

    /// Parses a kind name; also accepts common synonyms (`ipv4`, `ip-dst`, `hostname`, `ua`...).
    pub fn parse(s: &str) -> Option<IndicatorKind> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "ip" | "ipv4" | "ipv6" | "ip-src" | "ip-dst" | "ipv4-addr" | "ipv6-addr" | "addr" => {
                IndicatorKind::Ip
            }
            "cidr" | "net" | "network" | "netblock" | "subnet" => IndicatorKind::Cidr,
            "domain" | "hostname" | "host" | "fqdn" | "domain-name" => IndicatorKind::Domain,
            "url" | "uri" => IndicatorKind::Url,
            "user_agent" | "user-agent" | "useragent" | "ua" => IndicatorKind::UserAgent,
            _ => return None,
        })
    }
}

/// One threat-intelligence indicator with its provenance. Lookups return references to these.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Indicator {
    /// What `value` is.
    pub kind: IndicatorKind,
    /// The normalized value: an address, a network `a.b.c.d/n`, a lower-case domain, a
    /// normalized URL or a trimmed user agent.
    pub value: String,
    /// The feed it came from. Not written when the indicator is saved inside its feed in an
    /// [`IntelStore`](crate::store::IntelStore) (the store fills it in on load).
    #[serde(default, skip)]
    pub feed: String,
    /// Confidence 0-100 when the feed gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<u8>,
    /// Labels/tags: malware family, threat type, STIX labels, MISP tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
    /// Start of validity (µs, inclusive); `None` = always valid before `valid_until`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<Micros>,
    /// End of validity (µs, exclusive); `None` = no end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<Micros>,
    /// When the feed first saw it (informational; does not limit matching).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_seen: Option<Micros>,
    /// MISP `to_ids` flag (`None` for other feeds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_ids: Option<bool>,
    /// Identifier or link at the source (STIX id, MISP attribute uuid, URLhaus link...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// Short human description (STIX name, MISP comment, threat name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// What lookups return: a reference to the matching [`Indicator`].
pub type Hit = Indicator;

impl Indicator {
    /// Builds an indicator of `kind` from a raw value, normalizing it. An `Ip` value may carry a
    /// port (`1.2.3.4:443`, dropped); a `Cidr` value may be a bare address; a `/32` (`/128`)
    /// network stays a `Cidr` but matches like the address.
    pub fn new(kind: IndicatorKind, raw: &str) -> Result<Indicator, String> {
        let value = match kind {
            IndicatorKind::Ip => match parse_ip_loose(raw) {
                Some(ip) => ip.to_string(),
                None => match Cidr::parse(raw) {
                    // MISP and STIX put networks in address fields.
                    Some(c) if !c.is_host() => return Indicator::new(IndicatorKind::Cidr, raw),
                    Some(c) => c.addr().to_string(),
                    None => return Err(format!("bad IP address {:?}", clip(raw))),
                },
            },
            IndicatorKind::Cidr => match Cidr::parse(raw) {
                Some(c) => c.to_string(),
                None => return Err(format!("bad network {:?}", clip(raw))),
            },
            IndicatorKind::Domain => match normalize_domain(raw) {
                Some(d) => d,
                None => return Err(format!("bad domain {:?}", clip(raw))),
            },
            IndicatorKind::Url => match normalize_url(raw) {
                Some(u) => u.into_owned(),
                None => return Err(format!("bad URL {:?}", clip(raw))),
            },
            IndicatorKind::UserAgent => {
                let t = raw.trim();
                if t.is_empty() {
                    return Err("empty user agent".to_string());
                }
                t.to_string()
            }
        };
        Ok(Indicator {
            kind,
            value,
            feed: String::new(),
            confidence: None,
            labels: Vec::new(),
            valid_from: None,
            valid_until: None,
            first_seen: None,
            to_ids: None,
            reference: None,
            description: None,
        })
    }

    /// Builds an indicator, detecting its kind with [`detect_kind`].
    pub fn detect(raw: &str) -> Result<Indicator, String> {
        match detect_kind(raw) {
            Some(kind) => Indicator::new(kind, raw),
            None => Err(format!("unrecognised indicator {:?}", clip(raw))),
        }
    }

    /// True when the indicator applies at `at` (µs); always true for [`ANY_TIME`].
    #[inline]
    pub fn is_valid_at(&self, at: Micros) -> bool {
        if at == ANY_TIME {
            return true;
        }
        self.valid_from.is_none_or(|f| at >= f) && self.valid_until.is_none_or(|u| at < u)
    }

    /// Sets the feed name (builder style).
    pub fn with_feed(mut self, feed: &str) -> Self {
        self.feed = feed.to_string();
        self
    }
}

/// Shortens a value for error messages.
pub(crate) fn clip(s: &str) -> &str {
    let s = s.trim();
    if s.len() <= 120 {
        return s;
    }
    let mut end = 120;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Guesses the kind of a bare value: `scheme://...` is a URL; an address (also `a.b.c.d:port`
/// or `[v6]:port`) an IP; `address/len` a CIDR; a dotted name whose last label is not numeric a
/// domain; `host/path` a URL (scheme `http` assumed). Anything else is `None` (user agents are
/// never guessed).
pub fn detect_kind(raw: &str) -> Option<IndicatorKind> {
    let s = raw.trim();
    if s.is_empty() || s.contains(char::is_whitespace) {
        return None;
    }
    if let Some(i) = s.find("://") {
        return is_scheme(&s[..i]).then_some(IndicatorKind::Url);
    }
    if parse_ip_loose(s).is_some() {
        return Some(IndicatorKind::Ip);
    }
    if let Some(c) = Cidr::parse(s) {
        return Some(if c.is_host() {
            IndicatorKind::Ip
        } else {
            IndicatorKind::Cidr
        });
    }
    if looks_like_domain(s) {
        return Some(IndicatorKind::Domain);
    }
    if let Some((host, _)) = s.split_once('/') {
        let host = host.rsplit_once(':').map_or(host, |(h, p)| {
            if p.bytes().all(|b| b.is_ascii_digit()) {
                h
            } else {
                host
            }
        });
        if looks_like_domain(host) || parse_ip_loose(host).is_some() {
            return Some(IndicatorKind::Url);
        }
    }
    None
}

/// A dotted name with valid labels and a non-numeric last label.
fn looks_like_domain(s: &str) -> bool {
    let Some(d) = normalize_domain(s) else {
        return false;
    };
    match d.rsplit_once('.') {
        Some((_, tld)) => !tld.is_empty() && !tld.bytes().all(|b| b.is_ascii_digit()),
        None => false,
    }
}

fn is_scheme(s: &str) -> bool {
    let mut b = s.bytes();
    b.next().is_some_and(|c| c.is_ascii_alphabetic())
        && b.all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'))
}

/// Normalizes a domain: trimmed, lower-cased, leading `*.` or `.` and trailing `.` removed.
/// Returns `None` for empty names, names over 253 bytes, empty or over-long (63) labels and
/// characters other than letters, digits, `-`, `_` and non-ASCII (IDN) letters.
pub fn normalize_domain(raw: &str) -> Option<String> {
    let mut s = raw.trim();
    s = s.strip_prefix("*.").unwrap_or(s);
    s = s.strip_prefix('.').unwrap_or(s);
    s = s.strip_suffix('.').unwrap_or(s);
    if s.is_empty() || s.len() > 253 {
        return None;
    }
    for label in s.split('.') {
        if label.is_empty() || label.len() > 63 {
            return None;
        }
        if !label
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
        {
            return None;
        }
    }
    Some(if s.is_ascii() {
        s.to_ascii_lowercase()
    } else {
        s.to_lowercase()
    })
}

/// Lower-cases a looked-up host without allocating when it is already lower-case, dropping a
/// trailing dot and a `:port`.
fn lookup_host(host: &str) -> Option<Cow<'_, str>> {
    let mut h = host.trim();
    if let Some((name, port)) = h.rsplit_once(':') {
        if !name.contains(':') && !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) {
            h = name;
        }
    }
    h = h.strip_suffix('.').unwrap_or(h);
    if h.is_empty() {
        return None;
    }
    if h.bytes().any(|b| b.is_ascii_uppercase()) || !h.is_ascii() {
        Some(Cow::Owned(if h.is_ascii() {
            h.to_ascii_lowercase()
        } else {
            h.to_lowercase()
        }))
    } else {
        Some(Cow::Borrowed(h))
    }
}

fn default_port(scheme: &str) -> Option<&'static str> {
    Some(match scheme {
        "http" | "ws" => "80",
        "https" | "wss" => "443",
        "ftp" => "21",
        _ => return None,
    })
}

/// Normalizes a URL for exact matching: trimmed; scheme and host lower-cased (`http://` assumed
/// when there is no scheme); a trailing dot on the host and the scheme's default port (http 80,
/// https 443, ftp 21, ws/wss) removed; an empty path written `/`; the fragment dropped. User
/// info, path and query are kept byte-for-byte. Borrows when nothing changes. Returns `None`
/// when there is no host or the value holds whitespace or control characters.
pub fn normalize_url(raw: &str) -> Option<Cow<'_, str>> {
    let s = raw.trim();
    if s.is_empty() || s.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return None;
    }
    let (scheme, rest, had_scheme) = match s.find("://") {
        Some(i) if is_scheme(&s[..i]) => (&s[..i], &s[i + 3..], true),
        Some(_) => return None,
        None => ("http", s, false),
    };
    let rest = rest.split('#').next().unwrap_or(rest);
    let auth_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(auth_end);
    let (userinfo, hostport) = match authority.rfind('@') {
        Some(i) => (&authority[..=i], &authority[i + 1..]),
        None => ("", authority),
    };
    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        let (h, after) = v6.split_once(']')?;
        let port = match after {
            "" => "",
            p => p.strip_prefix(':')?,
        };
        (&hostport[..h.len() + 2], port)
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h, p),
            None => (hostport, ""),
        }
    };
    if !port.bytes().all(|b| b.is_ascii_digit()) || port.len() > 5 {
        return None;
    }
    let host_trim = host.strip_suffix('.').unwrap_or(host);
    if host_trim.is_empty() {
        return None;
    }
    let scheme_lc = scheme.bytes().any(|b| b.is_ascii_uppercase());
    let host_lc = host_trim.bytes().any(|b| b.is_ascii_uppercase()) || !host_trim.is_ascii();
    let unchanged = had_scheme
        && !scheme_lc
        && !host_lc
        && host_trim.len() == host.len()
        && (if port.is_empty() {
            !hostport.ends_with(':')
        } else {
            default_port(scheme) != Some(port)
        })
        && tail.starts_with('/')
        && rest.len() == s.len() - scheme.len() - 3;
    if unchanged {
        return Some(Cow::Borrowed(s));
    }
    let scheme = scheme.to_ascii_lowercase();
    let drop_port = port.is_empty() || default_port(&scheme) == Some(port);
    let mut out = String::with_capacity(s.len() + 8);
    out.push_str(&scheme);
    out.push_str("://");
    out.push_str(userinfo);
    if host_trim.is_ascii() {
        out.push_str(&host_trim.to_ascii_lowercase());
    } else {
        out.push_str(&host_trim.to_lowercase());
    }
    if !drop_port {
        out.push(':');
        out.push_str(port);
    }
    if !tail.starts_with('/') {
        out.push('/');
    }
    out.push_str(tail);
    Some(Cow::Owned(out))
}

/// The host of a URL (lower-cased later by the domain lookup), for [`TiIndex::match_any`].
fn url_host(url: &str) -> Option<&str> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let auth = rest.split(['/', '?', '#']).next()?;
    let hostport = auth.rsplit_once('@').map_or(auth, |(_, h)| h);
    if let Some(v6) = hostport.strip_prefix('[') {
        return v6.split(']').next();
    }
    Some(hostport.split(':').next().unwrap_or(hostport))
}

/// The matching index over a set of indicators. Build it once (from an
/// [`IntelStore`](crate::store::IntelStore) or any iterator of indicators) and share it
/// read-only between threads.
#[derive(Debug, Clone, Default)]
pub struct TiIndex {
    indicators: Vec<Indicator>,
    ips: Option<PrefixMap<Ids>>,
    domains: FxHashMap<Box<str>, Ids>,
    urls: FxHashMap<Box<str>, Ids>,
    user_agents: FxHashMap<Box<str>, Ids>,
    skipped: usize,
}

/// Indicator ids sharing one key; inline when there is one (the usual case), which saves a
/// dependent memory load per lookup.
#[derive(Debug, Clone)]
enum Ids {
    One(u32),
    Many(Vec<u32>),
}

impl Default for Ids {
    fn default() -> Self {
        Ids::Many(Vec::new())
    }
}

impl Ids {
    fn push(&mut self, id: u32) {
        match self {
            Ids::Many(v) if v.is_empty() => *self = Ids::One(id),
            Ids::Many(v) => v.push(id),
            Ids::One(first) => *self = Ids::Many(vec![*first, id]),
        }
    }

    #[inline]
    fn as_slice(&self) -> &[u32] {
        match self {
            Ids::One(x) => std::slice::from_ref(x),
            Ids::Many(v) => v,
        }
    }
}

impl TiIndex {
    /// Indexes `indicators`. Values are re-validated; the few that do not parse (possible only
    /// for hand-edited stores) are counted in [`TiIndex::invalid_count`] and ignored.
    pub fn build(indicators: impl IntoIterator<Item = Indicator>) -> TiIndex {
        let mut idx = TiIndex::default();
        let mut ips = PrefixMapBuilder::<Ids>::new();
        for ind in indicators {
            let id = idx.indicators.len() as u32;
            let ok = match ind.kind {
                IndicatorKind::Ip | IndicatorKind::Cidr => match Cidr::parse(&ind.value) {
                    Some(c) => {
                        ips.entry(c, Ids::default).push(id);
                        true
                    }
                    None => false,
                },
                IndicatorKind::Domain => match normalize_domain(&ind.value) {
                    Some(d) => {
                        idx.domains.entry(d.into_boxed_str()).or_default().push(id);
                        true
                    }
                    None => false,
                },
                IndicatorKind::Url => match normalize_url(&ind.value) {
                    Some(u) => {
                        idx.urls.entry(u.into()).or_default().push(id);
                        true
                    }
                    None => false,
                },
                IndicatorKind::UserAgent => {
                    let t = ind.value.trim();
                    if t.is_empty() {
                        false
                    } else {
                        idx.user_agents.entry(t.into()).or_default().push(id);
                        true
                    }
                }
            };
            if ok {
                idx.indicators.push(ind);
            } else {
                idx.skipped += 1;
            }
        }
        if !ips.is_empty() {
            idx.ips = Some(ips.build());
        }
        idx
    }

    /// The number of indexed indicators.
    pub fn len(&self) -> usize {
        self.indicators.len()
    }

    /// True when nothing is indexed.
    pub fn is_empty(&self) -> bool {
        self.indicators.is_empty()
    }

    /// Indicators whose stored value did not parse and were left out.
    pub fn invalid_count(&self) -> usize {
        self.skipped
    }

    /// Every indexed indicator.
    pub fn indicators(&self) -> &[Indicator] {
        &self.indicators
    }

    #[inline]
    fn push_ids<'a>(&'a self, ids: &Ids, at: Micros, out: &mut Vec<&'a Hit>) {
        for &id in ids.as_slice() {
            if let Some(ind) = self.indicators.get(id as usize) {
                if ind.is_valid_at(at) {
                    out.push(ind);
                }
            }
        }
    }

    /// Every IP/CIDR indicator holding `ip` and valid at `at`, most specific first.
    pub fn match_ip(&self, ip: IpAddr, at: Micros) -> Vec<&Hit> {
        let mut out = Vec::new();
        self.match_ip_into(ip, at, &mut out);
        out
    }

    /// Like [`TiIndex::match_ip`], appending to `out` (no allocation when `out` has room).
    #[inline]
    pub fn match_ip_into<'a>(&'a self, ip: IpAddr, at: Micros, out: &mut Vec<&'a Hit>) {
        if let Some(ips) = &self.ips {
            for (_, ids) in ips.matches(ip) {
                self.push_ids(ids, at, out);
            }
        }
    }

    /// The most specific valid IP/CIDR indicator holding `ip`, without allocating.
    #[inline]
    pub fn first_ip(&self, ip: IpAddr, at: Micros) -> Option<&Hit> {
        let ips = self.ips.as_ref()?;
        for (_, ids) in ips.matches(ip) {
            for &id in ids.as_slice() {
                if let Some(ind) = self.indicators.get(id as usize) {
                    if ind.is_valid_at(at) {
                        return Some(ind);
                    }
                }
            }
        }
        None
    }

    /// Domain indicators for `host` and each parent domain, valid at `at`, exact domain first.
    /// `host` may carry a `:port` and a trailing dot; case is ignored.
    pub fn match_domain(&self, host: &str, at: Micros) -> Vec<&Hit> {
        let mut out = Vec::new();
        self.match_domain_into(host, at, &mut out);
        out
    }

    /// Like [`TiIndex::match_domain`], appending to `out`.
    pub fn match_domain_into<'a>(&'a self, host: &str, at: Micros, out: &mut Vec<&'a Hit>) {
        if self.domains.is_empty() {
            return;
        }
        let Some(h) = lookup_host(host) else {
            return;
        };
        let mut rest: &str = &h;
        loop {
            if let Some(ids) = self.domains.get(rest) {
                self.push_ids(ids, at, out);
            }
            match rest.split_once('.') {
                Some((_, parent)) if !parent.is_empty() => rest = parent,
                _ => break,
            }
        }
    }

    /// URL indicators equal to `url` after normalization, valid at `at`.
    pub fn match_url(&self, url: &str, at: Micros) -> Vec<&Hit> {
        let mut out = Vec::new();
        self.match_url_into(url, at, &mut out);
        out
    }

    /// Like [`TiIndex::match_url`], appending to `out` (no allocation for an already
    /// normalized URL when `out` has room).
    pub fn match_url_into<'a>(&'a self, url: &str, at: Micros, out: &mut Vec<&'a Hit>) {
        if self.urls.is_empty() {
            return;
        }
        if let Some(u) = normalize_url(url) {
            if let Some(ids) = self.urls.get(u.as_ref()) {
                self.push_ids(ids, at, out);
            }
        }
    }

    /// User-agent indicators equal to `ua` (trimmed, case-sensitive), valid at `at`.
    pub fn match_user_agent(&self, ua: &str, at: Micros) -> Vec<&Hit> {
        let mut out = Vec::new();
        self.match_user_agent_into(ua, at, &mut out);
        out
    }

    /// Like [`TiIndex::match_user_agent`], appending to `out`.
    pub fn match_user_agent_into<'a>(&'a self, ua: &str, at: Micros, out: &mut Vec<&'a Hit>) {
        if let Some(ids) = self.user_agents.get(ua.trim()) {
            self.push_ids(ids, at, out);
        }
    }

    /// Matches a value of unknown kind (for a generic `ti_match(x)`): an address (also with a
    /// port) goes to [`TiIndex::match_ip`]; a URL (`scheme://`) to [`TiIndex::match_url`] plus its
    /// host to the domain or IP lookup; a domain-like value to [`TiIndex::match_domain`]; any
    /// other value to [`TiIndex::match_user_agent`].
    pub fn match_any(&self, value: &str, at: Micros) -> Vec<&Hit> {
        let v = value.trim();
        if let Some(ip) = parse_ip_loose(v) {
            return self.match_ip(ip, at);
        }
        if v.contains("://") {
            let mut out = self.match_url(v, at);
            if let Some(host) = url_host(v) {
                match parse_ip_loose(host) {
                    Some(ip) => self.match_ip_into(ip, at, &mut out),
                    None => self.match_domain_into(host, at, &mut out),
                }
            }
            return out;
        }
        if !v.contains(char::is_whitespace) && looks_like_domain(v.split(':').next().unwrap_or(v)) {
            return self.match_domain(v, at);
        }
        self.match_user_agent(v, at)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ind(kind: IndicatorKind, v: &str) -> Indicator {
        Indicator::new(kind, v).unwrap()
    }

    #[test]
    fn url_normalization() {
        let n = |s| normalize_url(s).map(|c| c.into_owned());
        assert_eq!(
            n("HTTP://Example.COM:80/a/B?x=1#frag").as_deref(),
            Some("http://example.com/a/B?x=1")
        );
        assert_eq!(
            n("https://example.com:443").as_deref(),
            Some("https://example.com/")
        );
        assert_eq!(
            n("https://example.com:8443/x").as_deref(),
            Some("https://example.com:8443/x")
        );
        assert_eq!(n("example.com/x").as_deref(), Some("http://example.com/x"));
        assert_eq!(
            n("http://example.com.?q").as_deref(),
            Some("http://example.com/?q")
        );
        assert_eq!(
            n("http://user@Host:/p").as_deref(),
            Some("http://user@host/p")
        );
        assert_eq!(
            n("http://[2001:DB8::1]:80/").as_deref(),
            Some("http://[2001:db8::1]/")
        );
        assert!(matches!(
            normalize_url("http://182.126.120.150:58801/i"),
            Some(Cow::Borrowed(_))
        ));
        assert_eq!(n("http:///x"), None);
        assert_eq!(n("http://a b/"), None);
        assert_eq!(n("http://host:99999999/"), None);
        assert_eq!(n(""), None);
    }

    #[test]
    fn kinds_detected() {
        use IndicatorKind::*;
        for (v, k) in [
            ("1.2.3.4", Some(Ip)),
            ("8.134.12.90:7777", Some(Ip)),
            ("2a02:cf40:2:d0::378c:e001", Some(Ip)),
            ("10.0.0.0/8", Some(Cidr)),
            ("10.0.0.1/32", Some(Ip)),
            ("Evil.Example.com.", Some(Domain)),
            ("http://x4z9arb.cn/4712/", Some(Url)),
            ("x4z9arb.cn/4712/", Some(Url)),
            ("1.2.3.4/x.exe", Some(Url)),
            ("AS260", None),
            ("1.2.3", None),
            ("hello world", None),
            ("", None),
        ] {
            assert_eq!(detect_kind(v), k, "{v}");
        }
    }

    #[test]
    fn index_matches() {
        let mut a = ind(IndicatorKind::Cidr, "10.0.0.0/8");
        a.feed = "bogons".into();
        let mut b = ind(IndicatorKind::Ip, "10.1.2.3");
        b.valid_from = Some(100);
        b.valid_until = Some(200);
        let idx = TiIndex::build(vec![
            a,
            b,
            ind(IndicatorKind::Domain, "Evil.com"),
            ind(IndicatorKind::Domain, "b.evil.com"),
            ind(IndicatorKind::Url, "http://evil.com/x"),
            ind(IndicatorKind::UserAgent, " Evil/1.0 "),
        ]);
        let ip = "10.1.2.3".parse().unwrap();
        assert_eq!(idx.match_ip(ip, 150).len(), 2);
        assert_eq!(idx.match_ip(ip, 150)[0].value, "10.1.2.3");
        assert_eq!(idx.match_ip(ip, 200).len(), 1);
        assert_eq!(idx.match_ip(ip, 99)[0].feed, "bogons");
        assert_eq!(idx.match_ip(ip, ANY_TIME).len(), 2);
        assert!(idx.match_ip("11.0.0.1".parse().unwrap(), 0).is_empty());
        assert_eq!(idx.first_ip(ip, 0).unwrap().value, "10.0.0.0/8");
        let d: Vec<_> = idx
            .match_domain("A.B.EVIL.com:8080", 0)
            .iter()
            .map(|h| h.value.as_str())
            .collect();
        assert_eq!(d, ["b.evil.com", "evil.com"]);
        assert_eq!(idx.match_domain("evil.com.", 0).len(), 1);
        assert!(idx.match_domain("notevil.com", 0).is_empty());
        assert!(idx.match_domain("com", 0).is_empty());
        assert!(idx.match_domain("", 0).is_empty());
        assert_eq!(idx.match_url("HTTP://EVIL.com:80/x#y", 0).len(), 1);
        assert!(idx.match_url("http://evil.com/X", 0).is_empty());
        assert_eq!(idx.match_user_agent("Evil/1.0", 0).len(), 1);
        assert!(idx.match_user_agent("evil/1.0", 0).is_empty());
        assert_eq!(idx.match_any("http://x.evil.com/x", 0).len(), 1);
        assert_eq!(idx.match_any("http://evil.com/x", 0).len(), 2);
        assert_eq!(idx.match_any("10.9.9.9:53", 0).len(), 1);
        assert_eq!(idx.match_any("http://10.9.9.9/", 0).len(), 1);
        assert_eq!(idx.match_any("Evil/1.0", 0).len(), 1);
        assert_eq!(idx.match_any("www.evil.com", 0).len(), 1);
    }
}
