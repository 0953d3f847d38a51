//! A small TAXII 2.1 client: reads every object of one collection, page by page, so
//! `flowtrail intel add|update` can take a collection as a feed.
//!
//! A source is written `taxii+http://[user@]HOST:PORT/API_ROOT/collections/ID/` (the objects
//! endpoint `.../objects/` may be given too). The client sends
//! `GET <collection>/objects/` with `Accept: application/taxii+json;version=2.1` and HTTP basic
//! auth, follows the envelope's `more` + `next` (as the `next` query parameter, with the same
//! `limit` and filters) and stops at
//! [`MAX_TOTAL_BYTES`] / [`MAX_OBJECTS`] / [`MAX_PAGES`]. The objects of all pages are
//! returned as one STIX bundle for the STIX parser.
//!
//! Only plain HTTP is built in (no TLS library); `taxii+https://` sources are refused with a
//! clear message.

use std::time::Duration;

use anyhow::{bail, Context};
use serde_json::Value;

/// The media type TAXII 2.1 servers answer with.
pub const TAXII_MEDIA_TYPE: &str = "application/taxii+json;version=2.1";
/// Cap on the bytes read over all pages.
pub const MAX_TOTAL_BYTES: u64 = 1 << 30;
/// Cap on the objects read over all pages.
pub const MAX_OBJECTS: usize = 5_000_000;
/// Cap on the pages requested.
pub const MAX_PAGES: usize = 100_000;
/// The page size asked for (`limit`); servers answer with at most their own maximum.
pub const PAGE_LIMIT: &str = "1000";
/// Environment variable holding the password when `--password` is not given.
pub const PASSWORD_ENV: &str = "FLOWTRAIL_TAXII_PASSWORD";

/// True when `source` names a TAXII collection rather than a file.
pub fn is_taxii(source: &str) -> bool {
    let s = source.trim_start().to_ascii_lowercase();
    s.starts_with("taxii+http://") || s.starts_with("taxii+https://")
}

/// A parsed TAXII source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// `http` or `https`.
    pub scheme: String,
    /// User from the URL's userinfo, if any.
    pub user: Option<String>,
    /// Password from the URL's userinfo, if any (never stored).
    pub password: Option<String>,
    /// `host[:port]`.
    pub authority: String,
    /// The collection path, starting and ending with `/`, without `objects/`.
    pub collection_path: String,
    /// The `#added_after=` fragment: where the last fetch stopped (`X-TAXII-Date-Added-Last`).
    pub added_after: Option<String>,
}

impl Source {
    /// Parses `taxii+http(s)://[user[:password]@]host[:port]/path/collections/ID/[objects/]`.
    pub fn parse(source: &str) -> anyhow::Result<Source> {
        let s = source.trim();
        let (scheme, rest) = if let Some(r) = strip_prefix_ci(s, "taxii+http://") {
            ("http", r)
        } else if let Some(r) = strip_prefix_ci(s, "taxii+https://") {
            ("https", r)
        } else {
            bail!("{source}: not a TAXII source (expected taxii+http://HOST:PORT/API_ROOT/collections/ID/)");
        };
        let added_after = rest
            .split_once('#')
            .and_then(|(_, f)| f.strip_prefix("added_after="))
            .map(percent_decode)
            .filter(|a| !a.is_empty());
        let rest = rest.split(['?', '#']).next().unwrap_or("");
        let (auth_part, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let (userinfo, authority) = match auth_part.rfind('@') {
            Some(i) => (Some(&auth_part[..i]), &auth_part[i + 1..]),
            None => (None, auth_part),
        };
        if authority.is_empty() {
            bail!("{source}: no host");
        }
        let (user, password) = match userinfo {
            Some(u) => match u.split_once(':') {
                Some((a, b)) => (Some(percent_decode(a)), Some(percent_decode(b))),
                None => (Some(percent_decode(u)), None),
            },
            None => (None, None),
        };
        let mut path = path.to_string();
        if !path.ends_with('/') {
            path.push('/');
        }
        if let Some(p) = path.strip_suffix("objects/") {
            path = p.to_string();
        }
        if !path.contains("/collections/") || path.ends_with("/collections/") {
            bail!("{source}: expected a collection URL ending in /collections/<id>/");
        }
        Ok(Source {
            scheme: scheme.to_string(),
            user: user.filter(|u| !u.is_empty()),
            password,
            authority: authority.to_string(),
            collection_path: path,
            added_after,
        })
    }

    /// The objects endpoint (`http://host/.../collections/ID/objects/`).
    pub fn objects_url(&self) -> String {
        format!(
            "{}://{}{}objects/",
            self.scheme, self.authority, self.collection_path
        )
    }

    /// The source as shown and stored with the feed: with the user, never with the password.
    pub fn display(&self, user: Option<&str>) -> String {
        let user = user.or(self.user.as_deref());
        let userinfo = user.map_or(String::new(), |u| format!("{}@", percent_encode(u)));
        format!(
            "taxii+{}://{userinfo}{}{}",
            self.scheme, self.authority, self.collection_path
        )
    }

    /// [`Source::display`] plus `#added_after=<cursor>` so the next `intel update` asks only
    /// for objects added since.
    pub fn stored(&self, user: Option<&str>, cursor: Option<&str>) -> String {
        let mut s = self.display(user);
        if let Some(c) = cursor {
            s.push_str("#added_after=");
            s.push_str(c);
        }
        s
    }
}

/// Credentials for basic auth.
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    /// User name.
    pub user: Option<String>,
    /// Password.
    pub password: Option<String>,
}

/// What a fetch returned.
#[derive(Debug)]
pub struct Fetched {
    /// `{"type":"bundle","objects":[...]}` with the objects of every page.
    pub bundle: String,
    /// Objects read.
    pub objects: usize,
    /// Pages read.
    pub pages: usize,
    /// The last `X-TAXII-Date-Added-Last` header seen (for a later `added_after`).
    pub date_added_last: Option<String>,
}

/// Resolves the credentials for `src`: explicit `user`/`password` win over the URL's
/// userinfo; the password falls back to [`PASSWORD_ENV`].
pub fn credentials(src: &Source, user: Option<&str>, password: Option<&str>) -> Credentials {
    let user = user.map(str::to_string).or_else(|| src.user.clone());
    let password = password
        .map(str::to_string)
        .or_else(|| src.password.clone())
        .or_else(|| std::env::var(PASSWORD_ENV).ok().filter(|p| !p.is_empty()));
    Credentials { user, password }
}

/// Reads every object of the collection named by `src`, following pagination.
pub fn fetch(
    src: &Source,
    creds: &Credentials,
    added_after: Option<&str>,
) -> anyhow::Result<Fetched> {
    if src.scheme == "https" {
        bail!(
            "{}: this flowtrail is built without TLS; use a taxii+http:// URL (e.g. through a local TLS-terminating proxy)",
            src.objects_url()
        );
    }
    let config = ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(15)))
        .timeout_global(Some(Duration::from_secs(300)))
        .http_status_as_error(false)
        .max_redirects(5)
        .build();
    let agent = ureq::Agent::new_with_config(config);
    let url = src.objects_url();
    let auth = match (&creds.user, &creds.password) {
        (Some(u), p) => Some(format!(
            "Basic {}",
            base64(format!("{u}:{}", p.as_deref().unwrap_or("")).as_bytes())
        )),
        (None, Some(_)) => bail!("{url}: a password was given without a user (--user)"),
        (None, None) => None,
    };
    let mut objects: Vec<Value> = Vec::new();
    let mut total_bytes: u64 = 0;
    let mut pages = 0usize;
    let mut next: Option<String> = None;
    let mut date_added_last = None;
    loop {
        if pages >= MAX_PAGES {
            bail!("{url}: more than {MAX_PAGES} pages; stopping");
        }
        let shown = match &next {
            Some(n) => format!("{url}?next={n}"),
            None => url.clone(),
        };
        let mut req = agent.get(&url).header("Accept", TAXII_MEDIA_TYPE);
        if let Some(a) = &auth {
            req = req.header("Authorization", a.as_str());
        }
        // Always sent: servers clamp it to their page size, and some (medallion) require it
        // alongside `next`.
        req = req.query("limit", PAGE_LIMIT);
        if let Some(a) = added_after {
            req = req.query("added_after", a);
        }
        if let Some(n) = &next {
            req = req.query("next", n.as_str());
        }
        let mut resp = req.call().with_context(|| format!("GET {shown}"))?;
        let status = resp.status();
        let remaining = MAX_TOTAL_BYTES.saturating_sub(total_bytes).max(1);
        let body = resp
            .body_mut()
            .with_config()
            .limit(remaining)
            .read_to_string()
            .with_context(|| format!("GET {shown}: reading the response (cap {MAX_TOTAL_BYTES} bytes over all pages)"))?;
        if !status.is_success() {
            bail!("GET {shown}: HTTP {}{}", status, error_detail(&body));
        }
        pages += 1;
        total_bytes += body.len() as u64;
        let headers = resp.headers();
        if let Some(h) = ["X-TAXII-Date-Added-Last", "X-TAXII-Date-Added-First"]
            .iter()
            .find_map(|k| headers.get(*k).and_then(|v| v.to_str().ok()))
            .map(str::trim)
            .filter(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_graphic()))
        {
            date_added_last = Some(h.to_string());
        }
        if body.trim().is_empty() {
            // Some servers answer an empty collection with no body.
            break;
        }
        let env: Value = serde_json::from_str(&body)
            .with_context(|| format!("GET {shown}: the answer is not JSON"))?;
        let Value::Object(mut env) = env else {
            bail!("GET {shown}: the answer is not a TAXII envelope (a JSON object)");
        };
        let before = objects.len();
        match env.remove("objects") {
            Some(Value::Array(objs)) => {
                if objects.len() + objs.len() > MAX_OBJECTS {
                    bail!("{url}: more than {MAX_OBJECTS} objects; stopping");
                }
                objects.extend(objs);
            }
            Some(Value::Null) | None => {}
            Some(_) => bail!("GET {shown}: the envelope's \"objects\" is not an array"),
        }
        let more = env.get("more").and_then(Value::as_bool).unwrap_or(false);
        let n = env.get("next").and_then(Value::as_str).map(str::to_string);
        match (more, n) {
            (true, Some(n)) => {
                // The `next` token may stay the same from page to page (medallion does
                // that), so progress is judged by the objects returned.
                if objects.len() == before {
                    bail!("GET {shown}: the envelope says \"more\" but holds no objects");
                }
                next = Some(n);
            }
            (true, None) => {
                bail!("GET {shown}: the envelope says \"more\" but gives no \"next\"")
            }
            (false, _) => break,
        }
    }
    let count = objects.len();
    let bundle = serde_json::json!({"type": "bundle", "objects": objects}).to_string();
    Ok(Fetched {
        bundle,
        objects: count,
        pages,
        date_added_last,
    })
}

/// A short detail from a TAXII error message body (`title`, `description`), or the body's
/// start.
fn error_detail(body: &str) -> String {
    if let Ok(Value::Object(m)) = serde_json::from_str::<Value>(body) {
        let parts: Vec<&str> = ["title", "description"]
            .iter()
            .filter_map(|k| m.get(*k).and_then(Value::as_str))
            .collect();
        if !parts.is_empty() {
            return format!(": {}", parts.join(": "));
        }
    }
    let t = body.trim();
    if t.is_empty() {
        return String::new();
    }
    let cut: String = t.chars().take(200).collect();
    format!(": {cut}")
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    if head.eq_ignore_ascii_case(prefix) {
        s.get(prefix.len()..)
    } else {
        None
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            if let Some(v) = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &c in s.as_bytes() {
        if c.is_ascii_alphanumeric() || b"-._~".contains(&c) {
            out.push(c as char);
        } else {
            out.push_str(&format!("%{c:02X}"));
        }
    }
    out
}

fn base64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b0 = chunk.first().copied().unwrap_or(0) as u32;
        let b1 = chunk.get(1).copied().unwrap_or(0) as u32;
        let b2 = chunk.get(2).copied().unwrap_or(0) as u32;
        let n = (b0 << 16) | (b1 << 8) | b2;
        for (i, shift) in [18u32, 12, 6, 0].iter().enumerate() {
            if i <= chunk.len() {
                out.push(A[((n >> shift) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_sources() {
        let s = Source::parse("taxii+http://alice:p%40ss@127.0.0.1:5000/api1/collections/abc/")
            .unwrap();
        assert_eq!(s.user.as_deref(), Some("alice"));
        assert_eq!(s.password.as_deref(), Some("p@ss"));
        assert_eq!(
            s.objects_url(),
            "http://127.0.0.1:5000/api1/collections/abc/objects/"
        );
        assert_eq!(
            s.display(None),
            "taxii+http://alice@127.0.0.1:5000/api1/collections/abc/"
        );
        let t = Source::parse("TAXII+HTTP://h/api1/collections/abc/objects").unwrap();
        assert_eq!(t.collection_path, "/api1/collections/abc/");
        assert_eq!(
            t.display(Some("b c")),
            "taxii+http://b%20c@h/api1/collections/abc/"
        );
        assert_eq!(t.added_after, None);
        let c = t.stored(None, Some("2024-02-05T00:00:00.000000Z"));
        assert_eq!(
            Source::parse(&c).unwrap().added_after.as_deref(),
            Some("2024-02-05T00:00:00.000000Z")
        );
        assert!(Source::parse("taxii+http://h/api1/").is_err());
        assert!(Source::parse("http://h/api1/collections/x/").is_err());
        assert!(is_taxii("taxii+https://x/"));
        assert!(!is_taxii("feed.json"));
    }

    #[test]
    fn base64_matches_rfc4648() {
        for (i, o) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(i.as_bytes()), o);
        }
    }

    #[test]
    fn error_details() {
        assert_eq!(
            error_detail(r#"{"title":"Unauthorized","http_status":"401"}"#),
            ": Unauthorized"
        );
        assert_eq!(error_detail(""), "");
    }
}
