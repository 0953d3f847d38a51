//! The URL model shared by every HTTP decoder: split a URL into scheme, host, port, path, query
//! and fragment; lower-case the host; compute the registrable domain.
//!
//! (First version: the registrable domain is a plain last-two-labels guess; the public suffix
//! list replaces it.)

use std::borrow::Cow;

use flowtrail_schema::HttpRecord;

/// The parts of a URL (or of a request target such as `/path?q`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UrlParts<'a> {
    pub scheme: Option<&'a str>,
    /// Lower-cased host name or address (IPv6 without brackets).
    pub host: Option<Cow<'a, str>>,
    pub port: Option<u16>,
    pub path: Option<&'a str>,
    /// The query without `?`.
    pub query: Option<&'a str>,
    pub fragment: Option<&'a str>,
}

/// Splits `s` into its parts. Accepts absolute URLs, scheme-less `host/path`, `host:port`
/// (CONNECT targets) and origin-form targets (`/path?q`).
pub fn parse_url(s: &str) -> UrlParts<'_> {
    let mut out = UrlParts::default();
    let mut rest = s;
    if let Some(i) = rest.find("://") {
        if rest[..i].chars().all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '-' || c == '.') {
            out.scheme = Some(&rest[..i]);
            rest = &rest[i + 3..];
        }
    }
    if let Some(i) = rest.find('#') {
        out.fragment = Some(&rest[i + 1..]);
        rest = &rest[..i];
    }
    if let Some(i) = rest.find('?') {
        out.query = Some(&rest[i + 1..]);
        rest = &rest[..i];
    }
    if out.scheme.is_some() || !rest.starts_with('/') {
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], Some(&rest[i..])),
            None => (rest, None),
        };
        let authority = authority.rsplit('@').next().unwrap_or(authority);
        let (host, port) = if let Some(h) = authority.strip_prefix('[') {
            match h.split_once(']') {
                Some((h, p)) => (h, p.strip_prefix(':').and_then(|p| p.parse().ok())),
                None => (h, None),
            }
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) if p.chars().all(|c| c.is_ascii_digit()) && !p.is_empty() => (h, p.parse().ok()),
                _ => (authority, None),
            }
        };
        if !host.is_empty() {
            out.host = Some(if host.bytes().any(|b| b.is_ascii_uppercase()) {
                Cow::Owned(host.to_ascii_lowercase())
            } else {
                Cow::Borrowed(host)
            });
        }
        out.port = port;
        out.path = path;
    } else {
        out.path = Some(rest);
    }
    out
}

/// Returns the registrable domain of `host` (a suffix slice of it), or `None` for IP addresses
/// and single-label names.
pub fn registrable_domain(host: &str) -> Option<&str> {
    if host.parse::<std::net::IpAddr>().is_ok() {
        return None;
    }
    let host = host.trim_end_matches('.');
    let mut dots = host.rmatch_indices('.');
    dots.next()?;
    match dots.next() {
        Some((i, _)) => Some(&host[i + 1..]),
        None => Some(host),
    }
}

/// Fills `url`, `scheme`, `host`, `domain`, `path` and `query` of `rec` from `url`; a `host`
/// already set (e.g. from a Host header) is kept when the URL has none.
pub fn fill_http_url<'a>(rec: &mut HttpRecord<'a>, url: &'a str) {
    let p = parse_url(url);
    rec.url = Some(Cow::Borrowed(url));
    if let Some(s) = p.scheme {
        rec.scheme = Some(Cow::Borrowed(s));
    }
    if let Some(h) = p.host {
        rec.host = Some(h);
    }
    if rec.server_port.is_none() {
        rec.server_port = p.port;
    }
    rec.path = p.path.map(Cow::Borrowed);
    rec.query = p.query.map(Cow::Borrowed);
    if let Some(h) = rec.host.as_deref() {
        rec.domain = registrable_domain(h).map(|d| Cow::Owned(d.to_string()));
    }
}
