//! The URL model shared by every HTTP decoder: split a URL (or a request target) into scheme,
//! host, port, path, query and fragment; lower-case the host; compute the registrable domain with
//! the Public Suffix List; decode punycode host names.
//!
//! ## Splitting
//!
//! [`parse_url`] accepts what HTTP logs contain, without validating it:
//!
//! | input | scheme | host | port | path | query |
//! |---|---|---|---|---|---|
//! | `https://User@Example.COM:8443/a/b?x=1#top` | `https` | `example.com` | 8443 | `/a/b` | `x=1` |
//! | `/index.php?id=3` (origin form) | | | | `/index.php` | `id=3` |
//! | `example.org:443` (CONNECT target, authority form) | | `example.org` | 443 | | |
//! | `www.example.com/page.php` (proxy and firewall logs drop the scheme) | | `www.example.com` | | `/page.php` | |
//! | `http://[2001:db8::1]:8080/` | `http` | `2001:db8::1` | 8080 | `/` | |
//! | `//cdn.example.net/lib.js` (scheme-relative) | | `cdn.example.net` | | `/lib.js` | |
//! | `*` (`OPTIONS *`) | | | | `*` | |
//!
//! * The host is ASCII-lower-cased (a copy only when it has upper-case letters); IPv6 literals
//!   lose their brackets; `user:password@` is dropped; a trailing dot is kept as logged.
//! * Only a decimal port of at most 65535 is a port. `host:abc` keeps `abc` out of the host
//!   (the port is `None`); an unbracketed IPv6 address (`2001:db8::1`) is a host, not `host:port`.
//! * Percent-encoding, `+`, and escapes written by the logging server (`\x22`) are left as logged
//!   everywhere: the path and query are slices of the input.
//! * No port is inferred from the scheme: `server_port` is only filled from an explicit port.
//!
//! ## Registrable domain
//!
//! [`registrable_domain`] applies the Public Suffix List algorithm (longest matching rule,
//! wildcards, exceptions, unlisted TLDs are public suffixes) to a list bundled in the binary
//! (`public_suffix_list.txt`, generated from a PSL snapshot, MPL-2.0): nothing is fetched at
//! build or run time.
//!
//! **The PRIVATE section counts**, as it does in browsers: `alice.github.io` is its own
//! registrable domain, not `github.io`, and `bucket.s3.amazonaws.com` is not grouped under
//! `amazonaws.com`. The `domain` column names the party that controls a host, and on shared
//! hosting platforms that is the tenant, not the platform. The platform stays visible in `host`.
//!
//! IP addresses, single-label names (`localhost`, `intranet`), names that are themselves public
//! suffixes (`co.uk`, `github.io`), names with empty labels (`a..b.com`, `.com`) or with
//! characters that cannot appear in a host name give `None`. A trailing dot is ignored
//! (`www.example.com.` → `example.com`). Rules are matched on the punycode (`xn--`) form that logs
//! carry, and on Unicode forms too.
//!
//! ## Internationalized names
//!
//! Punycode labels (`xn--`) stay as they are in `host`; [`decode_idna_host`] decodes them (RFC
//! 3492, written here) and [`add_host_unicode`] puts the Unicode form into `extra` as
//! `host_unicode`. Decoders call it once `extra` is final.

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::OnceLock;

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
/// (CONNECT targets), scheme-relative `//host/path` and origin-form targets (`/path?q`).
pub fn parse_url(s: &str) -> UrlParts<'_> {
    let mut out = UrlParts::default();
    let mut rest = s;
    let mut authority_follows = false;
    if let Some(i) = rest.find("://") {
        let scheme = rest.get(..i).unwrap_or("");
        if is_scheme(scheme) {
            out.scheme = Some(scheme);
            rest = rest.get(i + 3..).unwrap_or("");
            authority_follows = true;
        }
    } else if let Some(r) = rest.strip_prefix("//") {
        rest = r;
        authority_follows = true;
    }
    if let Some(i) = rest.find('#') {
        out.fragment = rest.get(i + 1..);
        rest = rest.get(..i).unwrap_or("");
    }
    if let Some(i) = rest.find('?') {
        out.query = rest.get(i + 1..);
        rest = rest.get(..i).unwrap_or("");
    }
    if !authority_follows && (rest.starts_with('/') || rest == "*" || rest.is_empty()) {
        out.path = (!rest.is_empty()).then_some(rest);
        return out;
    }
    let (authority, path) = match rest.find('/') {
        Some(i) => (rest.get(..i).unwrap_or(""), rest.get(i..)),
        None => (rest, None),
    };
    let (host, port) = split_authority(authority);
    out.host = lower_host(host);
    out.port = port;
    out.path = path;
    out
}

/// `scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )` (RFC 3986).
fn is_scheme(s: &str) -> bool {
    let b = s.as_bytes();
    b.first().is_some_and(u8::is_ascii_alphabetic)
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'))
}

/// Splits `[userinfo@]host[:port]` into the host (brackets removed) and a valid port.
pub fn split_authority(authority: &str) -> (&str, Option<u16>) {
    let authority = match authority.rfind('@') {
        Some(i) => authority.get(i + 1..).unwrap_or(""),
        None => authority,
    };
    if let Some(h) = authority.strip_prefix('[') {
        return match h.split_once(']') {
            Some((h, p)) => (h, p.strip_prefix(':').and_then(parse_port)),
            None => (h, None),
        };
    }
    match authority.rfind(':') {
        // More than one colon and no brackets: an IPv6 literal written bare.
        Some(i) if authority.get(..i).is_some_and(|h| h.contains(':')) => (authority, None),
        Some(i) => (
            authority.get(..i).unwrap_or(""),
            authority.get(i + 1..).and_then(parse_port),
        ),
        None => (authority, None),
    }
}

fn parse_port(s: &str) -> Option<u16> {
    if s.is_empty() || s.len() > 5 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Lower-cases a host (a copy only when needed); an empty host is `None`.
fn lower_host(host: &str) -> Option<Cow<'_, str>> {
    if host.is_empty() {
        None
    } else if host.bytes().any(|b| b.is_ascii_uppercase()) {
        Some(Cow::Owned(host.to_ascii_lowercase()))
    } else {
        Some(Cow::Borrowed(host))
    }
}

/// Fills `url`, `scheme`, `host`, `domain`, `path` and `query` of `rec` from `url`, and
/// `server_port` from an explicit port when it is not set yet. A `host` already set (e.g. from a
/// Host header or a virtual host name) is kept when the URL has none.
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
    set_domain(rec);
}

/// Sets `host` (and `domain`) from a Host header, virtual host or SNI value written
/// `host[:port]`, and `server_port` from its port when it is not set yet. `-` and empty values
/// are ignored.
pub fn fill_http_host<'a>(rec: &mut HttpRecord<'a>, authority: &'a str) {
    if authority.is_empty() || authority == "-" {
        return;
    }
    let (host, port) = split_authority(authority);
    if let Some(h) = lower_host(host) {
        rec.host = Some(h);
        set_domain(rec);
    }
    if rec.server_port.is_none() {
        rec.server_port = port;
    }
}

/// Computes `domain` from `host`, borrowing from the input when the host does.
fn set_domain(rec: &mut HttpRecord<'_>) {
    rec.domain = match &rec.host {
        Some(Cow::Borrowed(h)) => registrable_domain(h).map(Cow::Borrowed),
        Some(Cow::Owned(h)) => registrable_domain(h).map(|d| Cow::Owned(d.to_string())),
        None => None,
    };
}

/// Adds `"host_unicode"` to `rec.extra` when `rec.host` has punycode labels that decode. Call it
/// once `extra` is final; it copies `extra` only for such hosts.
pub fn add_host_unicode(rec: &mut HttpRecord<'_>) {
    let Some(host) = rec.host.as_deref() else {
        return;
    };
    if !has_punycode_label(host) {
        return;
    }
    let Some(unicode) = decode_idna_host(host) else {
        return;
    };
    let mut obj =
        String::with_capacity(rec.extra.as_deref().map_or(0, str::len) + unicode.len() + 20);
    match rec.extra.as_deref().and_then(|e| e.strip_suffix('}')) {
        Some(open) if open.len() > 1 => {
            obj.push_str(open);
            obj.push(',');
        }
        _ => obj.push('{'),
    }
    obj.push_str("\"host_unicode\":");
    crate::util::push_json_str_u(&mut obj, &unicode);
    obj.push('}');
    rec.extra = Some(Cow::Owned(obj));
}

fn has_punycode_label(host: &str) -> bool {
    host.split('.')
        .any(|l| l.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("xn--")))
}

// ---------------------------------------------------------------------------------------------
// Public Suffix List

/// The bundled list: one rule per line (`//` comments), see the file's header for its origin.
const PSL_DATA: &str = include_str!("public_suffix_list.txt");

/// The rule is listed as is.
const RULE: u8 = 1;
/// `*.<name>` is listed.
const WILDCARD: u8 = 2;
/// `!<name>` is listed.
const EXCEPTION: u8 = 4;

/// FNV-1a: the keys are short, trusted strings; SipHash's DoS resistance buys nothing here.
#[derive(Default)]
struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

struct Psl {
    rules: HashMap<&'static str, u8, BuildHasherDefault<Fnv>>,
    /// Most labels a rule can match (a wildcard counts its `*`).
    max_labels: usize,
}

fn psl() -> &'static Psl {
    static PSL: OnceLock<Psl> = OnceLock::new();
    PSL.get_or_init(|| {
        let mut rules: HashMap<&'static str, u8, BuildHasherDefault<Fnv>> = HashMap::default();
        rules.reserve(12_000);
        let mut max_labels = 1;
        for line in PSL_DATA.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with("//") {
                continue;
            }
            let (name, flag) = if let Some(n) = line.strip_prefix("*.") {
                (n, WILDCARD)
            } else if let Some(n) = line.strip_prefix('!') {
                (n, EXCEPTION)
            } else {
                (line, RULE)
            };
            let labels = name.split('.').count() + usize::from(flag == WILDCARD);
            max_labels = max_labels.max(labels);
            *rules.entry(name).or_insert(0) |= flag;
        }
        Psl { rules, max_labels }
    })
}

/// Returns the registrable domain of `host` (a suffix slice of it, without a trailing dot), or
/// `None` for IP addresses, single labels, public suffixes themselves and malformed names.
pub fn registrable_domain(host: &str) -> Option<&str> {
    let host = host.strip_suffix('.').unwrap_or(host);
    if host.is_empty() || host.len() > 253 || !host.contains('.') || host.contains(':') {
        return None;
    }
    let mut has_upper = false;
    for b in host.bytes() {
        match b {
            b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | 0x80..=0xff => {}
            b'A'..=b'Z' => has_upper = true,
            _ => return None,
        }
    }
    if host.split('.').any(str::is_empty) {
        return None;
    }
    // A numeric last label is an IPv4 address (or a malformed one, `1.2.3.999`), never a TLD.
    // (IPv6 addresses were excluded by their colons.)
    if host
        .rsplit('.')
        .next()
        .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let labels = if has_upper || !host.is_ascii() {
        let lower = host.to_lowercase();
        domain_labels(&lower)?
    } else {
        domain_labels(host)?
    };
    // Take as many labels from the end of the original host.
    let mut start = host.len();
    for _ in 0..labels {
        start = host
            .get(..start.saturating_sub(1))?
            .rfind('.')
            .map_or(0, |i| i + 1);
    }
    host.get(start..)
}

/// The number of labels of the registrable domain of a lower-case, well-formed name.
fn domain_labels(host: &str) -> Option<usize> {
    let psl = psl();
    // Byte offsets where the last 1, 2, 3... labels start.
    let mut starts = [0usize; 16];
    let mut n = 0usize;
    let mut end = host.len();
    while n < starts.len() {
        match host.get(..end).and_then(|h| h.rfind('.')) {
            Some(i) => {
                starts[n] = i + 1;
                end = i;
                n += 1;
            }
            None => {
                starts[n] = 0;
                n += 1;
                break;
            }
        }
    }
    let total_labels = host.split('.').count();
    let suffix_of = |m: usize| {
        host.get(starts.get(m - 1).copied().unwrap_or(0)..)
            .unwrap_or("")
    };
    let mut best = 0usize;
    let mut prev_flags = 0u8;
    for m in 1..=n.min(psl.max_labels) {
        let flags = psl.rules.get(suffix_of(m)).copied().unwrap_or(0);
        if flags & EXCEPTION != 0 {
            best = m - 1;
            break;
        }
        if flags & RULE != 0 {
            best = m;
        }
        if prev_flags & WILDCARD != 0 {
            best = best.max(m);
        }
        prev_flags = flags;
    }
    let best = best.max(1);
    // The registrable domain is the public suffix plus one label.
    (best < total_labels && best < n).then_some(best + 1)
}

// ---------------------------------------------------------------------------------------------
// Punycode (RFC 3492)

/// Decodes the punycode (`xn--`) labels of `host` to Unicode. Returns `None` when no label is
/// punycode or one of them does not decode to a valid internationalized label (bad digits,
/// overflow, a result that is plain ASCII or holds control characters, a label over 63 bytes).
pub fn decode_idna_host(host: &str) -> Option<String> {
    if !has_punycode_label(host) {
        return None;
    }
    let mut out = String::with_capacity(host.len() * 2);
    for (i, label) in host.split('.').enumerate() {
        if i > 0 {
            out.push('.');
        }
        match label.get(..4) {
            Some(p) if p.eq_ignore_ascii_case("xn--") => {
                if label.len() > 63 {
                    return None;
                }
                let decoded = punycode_decode(label.get(4..)?)?;
                if decoded.is_ascii() || decoded.chars().any(char::is_control) {
                    return None;
                }
                out.push_str(&decoded);
            }
            _ => out.push_str(label),
        }
    }
    Some(out)
}

const BASE: u32 = 36;
const TMIN: u32 = 1;
const TMAX: u32 = 26;
const SKEW: u32 = 38;
const DAMP: u32 = 700;
const INITIAL_BIAS: u32 = 72;
const INITIAL_N: u32 = 128;

fn adapt(delta: u32, numpoints: u32, first: bool) -> u32 {
    let mut delta = if first { delta / DAMP } else { delta / 2 };
    delta += delta / numpoints.max(1);
    let mut k = 0;
    while delta > ((BASE - TMIN) * TMAX) / 2 {
        delta /= BASE - TMIN;
        k += BASE;
    }
    k + (BASE - TMIN + 1) * delta / (delta + SKEW)
}

fn digit_value(b: u8) -> Option<u32> {
    match b {
        b'a'..=b'z' => Some(u32::from(b - b'a')),
        b'A'..=b'Z' => Some(u32::from(b - b'A')),
        b'0'..=b'9' => Some(u32::from(b - b'0') + 26),
        _ => None,
    }
}

/// Decodes one punycode string (the label without `xn--`), per RFC 3492 section 6.2.
pub fn punycode_decode(input: &str) -> Option<String> {
    if input.len() > 63 || !input.is_ascii() {
        return None;
    }
    let (basic, encoded) = match input.rfind('-') {
        Some(i) => (input.get(..i)?, input.get(i + 1..)?),
        None => ("", input),
    };
    let mut output: Vec<char> = basic.chars().collect();
    let mut n = INITIAL_N;
    let mut i: u32 = 0;
    let mut bias = INITIAL_BIAS;
    let mut bytes = encoded.bytes();
    while bytes.len() > 0 {
        let old_i = i;
        let mut w: u32 = 1;
        let mut k = BASE;
        loop {
            let digit = digit_value(bytes.next()?)?;
            i = i.checked_add(digit.checked_mul(w)?)?;
            let t = if k <= bias {
                TMIN
            } else if k >= bias + TMAX {
                TMAX
            } else {
                k - bias
            };
            if digit < t {
                break;
            }
            w = w.checked_mul(BASE - t)?;
            k = k.checked_add(BASE)?;
        }
        let len = u32::try_from(output.len()).ok()? + 1;
        bias = adapt(i - old_i, len, old_i == 0);
        n = n.checked_add(i / len)?;
        i %= len;
        let c = char::from_u32(n)?;
        if c.is_ascii() {
            return None;
        }
        output.insert(usize::try_from(i).ok()?, c);
        i += 1;
    }
    Some(output.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    type Parts<'a> = (
        Option<&'a str>,
        Option<String>,
        Option<u16>,
        Option<&'a str>,
        Option<&'a str>,
    );

    fn parts(s: &str) -> Parts<'_> {
        let p = parse_url(s);
        (
            p.scheme,
            p.host.map(|h| h.into_owned()),
            p.port,
            p.path,
            p.query,
        )
    }

    #[test]
    fn splits_absolute_urls() {
        assert_eq!(
            parts("https://User:pw@Example.COM:8443/a/b?x=1&y=%20#top"),
            (
                Some("https"),
                Some("example.com".into()),
                Some(8443),
                Some("/a/b"),
                Some("x=1&y=%20")
            )
        );
        assert_eq!(parse_url("http://a.example/#frag").fragment, Some("frag"));
        assert_eq!(
            parts("http://[2001:DB8::1]:8080/x"),
            (
                Some("http"),
                Some("2001:db8::1".into()),
                Some(8080),
                Some("/x"),
                None
            )
        );
        assert_eq!(
            parts("http://[::1]/"),
            (Some("http"), Some("::1".into()), None, Some("/"), None)
        );
        // No path, query right after the authority.
        assert_eq!(
            parts("http://example.com?q=1"),
            (
                Some("http"),
                Some("example.com".into()),
                None,
                None,
                Some("q=1")
            )
        );
        // An `@` in the query is not userinfo.
        assert_eq!(
            parts("http://h.example/p?mail=a@b.example"),
            (
                Some("http"),
                Some("h.example".into()),
                None,
                Some("/p"),
                Some("mail=a@b.example")
            )
        );
        // file:/// has no host.
        assert_eq!(
            parts("file:///etc/passwd"),
            (Some("file"), None, None, Some("/etc/passwd"), None)
        );
        // Not a scheme: kept as an authority-less... scheme must start with a letter.
        assert_eq!(parse_url("1http://x/").scheme, None);
    }

    #[test]
    fn splits_request_targets() {
        assert_eq!(
            parts("/index.php?id=3"),
            (None, None, None, Some("/index.php"), Some("id=3"))
        );
        assert_eq!(parts("*"), (None, None, None, Some("*"), None));
        assert_eq!(parts(""), (None, None, None, None, None));
        // CONNECT targets.
        assert_eq!(
            parts("Example.org:443"),
            (None, Some("example.org".into()), Some(443), None, None)
        );
        assert_eq!(
            parts("[2001:db8::5]:443"),
            (None, Some("2001:db8::5".into()), Some(443), None, None)
        );
        assert_eq!(
            parts("1.2.3.4:80"),
            (None, Some("1.2.3.4".into()), Some(80), None, None)
        );
        // Scheme-less host/path (proxy logs) and scheme-relative URLs.
        assert_eq!(
            parts("www.example.com/page.php"),
            (
                None,
                Some("www.example.com".into()),
                None,
                Some("/page.php"),
                None
            )
        );
        assert_eq!(
            parts("//cdn.example.net/lib.js?v=2"),
            (
                None,
                Some("cdn.example.net".into()),
                None,
                Some("/lib.js"),
                Some("v=2")
            )
        );
    }

    #[test]
    fn ports_are_checked() {
        assert_eq!(parts("host.example:99999").1, Some("host.example".into()));
        assert_eq!(parts("host.example:99999").2, None);
        assert_eq!(parts("host.example:abc").1, Some("host.example".into()));
        assert_eq!(parts("host.example:").2, None);
        assert_eq!(parts("http://h.example:0/").2, Some(0));
        // A bare IPv6 address is a host, not host:port.
        assert_eq!(
            parts("2001:db8::1").1,
            Some("2001:db8::1".into()),
            "unbracketed IPv6"
        );
        assert_eq!(parts("2001:db8::1").2, None);
    }

    #[test]
    fn hosts_borrow_unless_upper_case() {
        assert!(matches!(
            parse_url("http://a.example/").host,
            Some(Cow::Borrowed("a.example"))
        ));
        assert!(matches!(
            parse_url("http://A.example/").host,
            Some(Cow::Owned(_))
        ));
    }

    #[test]
    fn registrable_domains() {
        let cases = [
            ("www.example.com", Some("example.com")),
            ("example.com", Some("example.com")),
            ("com", None),
            ("a.b.c.example.co.uk", Some("example.co.uk")),
            ("example.co.uk", Some("example.co.uk")),
            ("co.uk", None),
            ("uk", None),
            // PRIVATE section rules count.
            ("alice.github.io", Some("alice.github.io")),
            ("www.alice.github.io", Some("alice.github.io")),
            ("github.io", None),
            ("github.com", Some("github.com")),
            // Wildcards and exceptions: *.ck and !www.ck; *.kawasaki.jp and !city.kawasaki.jp.
            ("foo.bar.ck", Some("foo.bar.ck")),
            ("bar.ck", None),
            ("www.ck", Some("www.ck")),
            ("a.www.ck", Some("www.ck")),
            ("a.b.kawasaki.jp", Some("a.b.kawasaki.jp")),
            ("b.kawasaki.jp", None),
            ("city.kawasaki.jp", Some("city.kawasaki.jp")),
            ("www.city.kawasaki.jp", Some("city.kawasaki.jp")),
            // Unlisted TLD: the default `*` rule.
            ("www.example.invalidtld", Some("example.invalidtld")),
            // Trailing dot, upper case.
            ("www.example.com.", Some("example.com")),
            ("WWW.Example.COM", Some("Example.COM")),
            // Addresses, single labels, malformed names.
            ("192.168.1.10", None),
            ("1.2.3.999", None),
            ("2001:db8::1", None),
            ("localhost", None),
            ("intranet.", None),
            ("a..example.com", None),
            (".example.com", None),
            ("example.com..", None),
            ("", None),
            (".", None),
            ("exa mple.com", None),
            ("ex/ample.com", None),
            // Underscores appear in real host names.
            ("a_b.example.net", Some("example.net")),
            // IDN suffixes, in punycode as logged and in Unicode.
            ("shop.xn--55qx5d.cn", Some("shop.xn--55qx5d.cn")),
            ("www.shop.公司.cn", Some("shop.公司.cn")),
            ("xn--bcher-kva.de", Some("xn--bcher-kva.de")),
        ];
        for (host, want) in cases {
            assert_eq!(registrable_domain(host), want, "{host:?}");
        }
        // Many labels: only the last few are looked up.
        let long = format!("{}example.org", "a.".repeat(100));
        assert_eq!(registrable_domain(&long), Some("example.org"));
    }

    #[test]
    fn fill_sets_every_url_column() {
        let mut rec = HttpRecord::default();
        fill_http_url(&mut rec, "https://Shop.Example.co.uk:8443/cart?id=1");
        assert_eq!(
            rec.url.as_deref(),
            Some("https://Shop.Example.co.uk:8443/cart?id=1")
        );
        assert_eq!(rec.scheme.as_deref(), Some("https"));
        assert_eq!(rec.host.as_deref(), Some("shop.example.co.uk"));
        assert_eq!(rec.domain.as_deref(), Some("example.co.uk"));
        assert_eq!(rec.path.as_deref(), Some("/cart"));
        assert_eq!(rec.query.as_deref(), Some("id=1"));
        assert_eq!(rec.server_port, Some(8443));
        // An origin-form target keeps a host set before (virtual host), and the domain borrows.
        let mut rec = HttpRecord::default();
        fill_http_host(&mut rec, "www.example.org:8080");
        fill_http_url(&mut rec, "/a?b");
        assert_eq!(rec.host.as_deref(), Some("www.example.org"));
        assert!(matches!(rec.domain, Some(Cow::Borrowed("example.org"))));
        assert_eq!(rec.server_port, Some(8080));
        assert_eq!(rec.path.as_deref(), Some("/a"));
        // A CONNECT target.
        let mut rec = HttpRecord::default();
        fill_http_url(&mut rec, "api.example.com:443");
        assert_eq!(
            (
                rec.host.as_deref(),
                rec.domain.as_deref(),
                rec.server_port,
                rec.path.as_deref()
            ),
            (
                Some("api.example.com"),
                Some("example.com"),
                Some(443),
                None
            )
        );
        let mut rec = HttpRecord::default();
        fill_http_host(&mut rec, "-");
        assert_eq!(rec.host, None);
    }

    #[test]
    fn punycode_rfc3492_samples() {
        // RFC 3492 section 7.1 samples (B), (D) and (L): mixed case and basic code points.
        assert_eq!(
            punycode_decode("ihqwcrb4cv8a8dqg056pqjye").as_deref(),
            Some("他们为什么不说中文")
        );
        assert_eq!(
            punycode_decode("b1abfaaepdrnnbgefbaDotcwatmq2g4l").as_deref(),
            Some("почемужеонинеговорятпорусски")
        );
        assert_eq!(
            punycode_decode("3B-ww4c5e180e575a65lsy2b").as_deref(),
            Some("3年B組金八先生")
        );
        assert_eq!(punycode_decode("bcher-kva").as_deref(), Some("bücher"));
        // Invalid digits and overflow.
        assert_eq!(punycode_decode("abc!"), None);
        assert_eq!(punycode_decode("99999999999999999"), None);
        assert_eq!(punycode_decode("a-").as_deref(), Some("a"));
    }

    #[test]
    fn idna_hosts() {
        assert_eq!(
            decode_idna_host("www.xn--bcher-kva.de").as_deref(),
            Some("www.bücher.de")
        );
        assert_eq!(
            decode_idna_host("XN--55QX5D.cn").as_deref(),
            Some("公司.cn")
        );
        assert_eq!(decode_idna_host("www.example.com"), None);
        // Decodes to plain ASCII: not a valid A-label.
        assert_eq!(decode_idna_host("xn--abc-.com"), None);
        assert_eq!(decode_idna_host("xn--.com"), None);
        assert_eq!(
            decode_idna_host(&format!("xn--{}.com", "a".repeat(70))),
            None
        );

        let mut rec = HttpRecord::default();
        fill_http_url(&mut rec, "http://www.xn--bcher-kva.de/");
        rec.extra = Some(Cow::Borrowed(r#"{"a":1}"#));
        add_host_unicode(&mut rec);
        assert_eq!(
            rec.extra.as_deref(),
            Some(r#"{"a":1,"host_unicode":"www.bücher.de"}"#)
        );
        let mut rec = HttpRecord::default();
        fill_http_url(&mut rec, "http://xn--55qx5d.cn/");
        add_host_unicode(&mut rec);
        assert_eq!(rec.extra.as_deref(), Some(r#"{"host_unicode":"公司.cn"}"#));
        let mut rec = HttpRecord {
            extra: Some(Cow::Borrowed("{}")),
            ..HttpRecord::default()
        };
        fill_http_url(&mut rec, "http://xn--55qx5d.cn/");
        add_host_unicode(&mut rec);
        assert_eq!(rec.extra.as_deref(), Some(r#"{"host_unicode":"公司.cn"}"#));
    }
}
