//! Feed parsers: plain lists, CSV with a column mapping (built-ins for abuse.ch URLhaus, Feodo
//! Tracker and ThreatFox), STIX 2.1 and MISP event JSON.
//!
//! Every parser takes the whole feed text, never panics, and returns [`Parsed`]: the indicators
//! it understood plus a [`ParseReport`] naming each entry it skipped and why (unsupported
//! indicator type, bad value, revoked, AND-joined STIX pattern...). Comment and header lines are
//! not entries and are not reported.

mod csv;
mod list;
mod misp;
mod stix;
mod stix_pattern;

use std::fmt::Display;
use std::path::Path;

use serde::{Deserialize, Serialize};

pub use self::csv::{parse_csv, split_csv_line, ColumnRef, CsvMapping};
pub use self::list::parse_list;
pub use self::misp::parse_misp;
pub use self::stix::parse_stix;
pub use self::stix_pattern::{parse_pattern, PatternIoc};

use crate::ti::Indicator;
use crate::Error;

/// At most this many skipped entries are described one by one; the rest are only counted.
pub const MAX_SKIP_DETAILS: usize = 1000;

/// One entry a parser did not turn into an indicator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    /// Where: `line 12`, a STIX id, `event <uuid> attribute <uuid>`.
    pub location: String,
    /// Why, naming the value: `unsupported MISP type "sha256"`, `bad IP address "1.2.3"`.
    pub reason: String,
}

/// What a parser skipped.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParseReport {
    /// Indicators produced.
    pub parsed: usize,
    /// Entries skipped (all of them, also those beyond [`MAX_SKIP_DETAILS`]).
    pub skipped_total: usize,
    /// The first [`MAX_SKIP_DETAILS`] skipped entries.
    pub skipped: Vec<Skipped>,
}

impl ParseReport {
    /// Records a skipped entry.
    pub fn skip(&mut self, location: impl Display, reason: impl Display) {
        self.skipped_total += 1;
        if self.skipped.len() < MAX_SKIP_DETAILS {
            self.skipped.push(Skipped {
                location: location.to_string(),
                reason: reason.to_string(),
            });
        }
    }

    /// Counts of the described skipped entries (the first [`MAX_SKIP_DETAILS`]) per reason with
    /// the value stripped (the text before the first quote), most frequent first: a compact
    /// summary for CLI output.
    pub fn reason_summary(&self) -> Vec<(String, usize)> {
        let mut counts: Vec<(String, usize)> = Vec::new();
        for s in &self.skipped {
            let key = s.reason.split('"').next().unwrap_or("").trim().to_string();
            match counts.iter_mut().find(|(k, _)| *k == key) {
                Some((_, n)) => *n += 1,
                None => counts.push((key, 1)),
            }
        }
        counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        counts
    }
}

/// A parser's result.
#[derive(Debug, Clone, Default)]
pub struct Parsed {
    /// The indicators, each with `feed` set.
    pub indicators: Vec<Indicator>,
    /// What was skipped.
    pub report: ParseReport,
}

impl Parsed {
    pub(crate) fn push(&mut self, ind: Indicator) {
        self.report.parsed += 1;
        self.indicators.push(ind);
    }
}

/// How a feed file is parsed. Saved with the feed in the
/// [`IntelStore`](crate::store::IntelStore) so `intel update` re-parses it the same way.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum FeedFormat {
    /// One indicator a line, kind auto-detected ([`parse_list`]).
    List,
    /// CSV with a column mapping ([`parse_csv`]).
    Csv {
        /// The mapping.
        mapping: Box<CsvMapping>,
    },
    /// abuse.ch URLhaus CSV ([`CsvMapping::urlhaus`]).
    Urlhaus,
    /// abuse.ch Feodo Tracker IP blocklist CSV ([`CsvMapping::feodo`]).
    Feodo,
    /// abuse.ch ThreatFox CSV ([`CsvMapping::threatfox`]).
    Threatfox,
    /// STIX 2.1 JSON: bundle, bare objects, NDJSON, TAXII envelopes ([`parse_stix`]).
    Stix,
    /// MISP event JSON ([`parse_misp`]).
    Misp,
}

impl FeedFormat {
    /// Short name for listings (`list`, `csv`, `urlhaus`, `feodo`, `threatfox`, `stix`,
    /// `misp`).
    pub fn name(&self) -> &'static str {
        match self {
            FeedFormat::List => "list",
            FeedFormat::Csv { .. } => "csv",
            FeedFormat::Urlhaus => "urlhaus",
            FeedFormat::Feodo => "feodo",
            FeedFormat::Threatfox => "threatfox",
            FeedFormat::Stix => "stix",
            FeedFormat::Misp => "misp",
        }
    }

    /// Parses a format name as given on the command line (`csv` needs a mapping and is not
    /// accepted here).
    pub fn from_name(s: &str) -> Option<FeedFormat> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "list" | "txt" | "text" | "plain" => FeedFormat::List,
            "urlhaus" => FeedFormat::Urlhaus,
            "feodo" | "feodotracker" => FeedFormat::Feodo,
            "threatfox" => FeedFormat::Threatfox,
            "stix" | "stix2" | "stix21" | "taxii" => FeedFormat::Stix,
            "misp" => FeedFormat::Misp,
            _ => return None,
        })
    }

    /// Guesses the format from the content: JSON whose top level has MISP keys (`Event`,
    /// `response`, `Attribute`, `Object`) is MISP; JSON with a STIX `type`, `objects` or
    /// `pattern` (also TAXII data with nested `objects`/`collections`, and NDJSON) is STIX; CSV whose header names URLhaus,
    /// Feodo Tracker or ThreatFox columns gets that mapping; anything else is a plain list (which
    /// also reads JSON-lines such as Spamhaus DROP).
    pub fn detect(text: &str) -> FeedFormat {
        let t = text.trim_start_matches('\u{feff}').trim_start();
        if t.starts_with('{') || t.starts_with('[') {
            // Whole document, else its first line (NDJSON).
            let first = t.lines().next().unwrap_or("");
            let doc = serde_json::from_str::<serde_json::Value>(t)
                .or_else(|_| serde_json::from_str::<serde_json::Value>(first));
            return match doc {
                Ok(v) => json_format(&v),
                Err(_) => FeedFormat::List,
            };
        }
        for line in t.lines().take(64) {
            let l = line.to_ascii_lowercase();
            if l.contains("ioc_value") && l.contains("ioc_type") {
                return FeedFormat::Threatfox;
            }
            if l.contains("url_status") || l.contains("urlhaus_link") {
                return FeedFormat::Urlhaus;
            }
            if l.contains("c2_status") || (l.contains("dst_ip") && l.contains("malware")) {
                return FeedFormat::Feodo;
            }
        }
        FeedFormat::List
    }

    /// Parses `text` as this format, tagging indicators with `feed`.
    pub fn parse(&self, text: &str, feed: &str) -> Parsed {
        match self {
            FeedFormat::List => parse_list(text, feed),
            FeedFormat::Csv { mapping } => parse_csv(text, feed, mapping),
            FeedFormat::Urlhaus => parse_csv(text, feed, &CsvMapping::urlhaus()),
            FeedFormat::Feodo => parse_csv(text, feed, &CsvMapping::feodo()),
            FeedFormat::Threatfox => parse_csv(text, feed, &CsvMapping::threatfox()),
            FeedFormat::Stix => parse_stix(text, feed),
            FeedFormat::Misp => parse_misp(text, feed),
        }
    }
}

/// Classifies a JSON feed by its top-level keys: MISP envelopes (`Event`, `response`, a bare
/// event with `Attribute`/`Object`), STIX (`type` of a STIX object or bundle, or `objects`), or a
/// JSON-lines list.
fn json_format(v: &serde_json::Value) -> FeedFormat {
    use serde_json::Value;
    match v {
        Value::Array(a) => a.first().map_or(FeedFormat::List, json_format),
        Value::Object(m) => {
            if m.contains_key("Event")
                || m.contains_key("response")
                || m.contains_key("Attribute")
                || m.contains_key("Object")
            {
                FeedFormat::Misp
            } else if m.contains_key("objects")
                || m.contains_key("pattern")
                || m.get("type").and_then(Value::as_str).is_some_and(|t| {
                    t == "bundle"
                        || t == "indicator"
                        || t.contains("--")
                        || m.contains_key("spec_version")
                })
                || m.values()
                    .any(|x| x.get("objects").is_some() || x.get("collections").is_some())
            {
                FeedFormat::Stix
            } else {
                FeedFormat::List
            }
        }
        _ => FeedFormat::List,
    }
}

/// Reads a feed file (invalid UTF-8 replaced) and parses it; `format = None` detects it.
/// Returns the format used with the result.
pub fn parse_file(
    path: &Path,
    format: Option<&FeedFormat>,
    feed: &str,
) -> Result<(FeedFormat, Parsed), Error> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    Ok(parse_bytes(&bytes, format, feed))
}

/// Parses feed bytes (invalid UTF-8 replaced); `format = None` detects it.
pub fn parse_bytes(bytes: &[u8], format: Option<&FeedFormat>, feed: &str) -> (FeedFormat, Parsed) {
    let text = String::from_utf8_lossy(bytes);
    let format = match format {
        Some(f) => f.clone(),
        None => FeedFormat::detect(&text),
    };
    let parsed = format.parse(&text, feed);
    (format, parsed)
}

/// True for the spellings feeds use for "no value".
pub(crate) fn is_null(s: &str) -> bool {
    let s = s.trim();
    s.is_empty()
        || s == "-"
        || s.eq_ignore_ascii_case("none")
        || s.eq_ignore_ascii_case("null")
        || s.eq_ignore_ascii_case("n/a")
        || s.eq_ignore_ascii_case("nan")
}

/// Appends `label` (trimmed) unless null or already present.
pub(crate) fn add_label(labels: &mut Vec<String>, label: &str) {
    let l = label.trim();
    if !is_null(l) && l.len() <= 256 && !labels.iter().any(|x| x == l) {
        labels.push(l.to_string());
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn detect_formats() {
        assert_eq!(FeedFormat::detect("1.2.3.4\n"), FeedFormat::List);
        assert_eq!(
            FeedFormat::detect("# id,dateadded,url,url_status,last_online\n"),
            FeedFormat::Urlhaus
        );
        assert_eq!(
            FeedFormat::detect("\"first_seen_utc\",\"dst_ip\",\"dst_port\",\"c2_status\"\n"),
            FeedFormat::Feodo
        );
        assert_eq!(
            FeedFormat::detect("{\"type\":\"bundle\",\"objects\":[]}"),
            FeedFormat::Stix
        );
        assert_eq!(
            FeedFormat::detect("{\"Event\":{\"Attribute\":[]}}"),
            FeedFormat::Misp
        );
        assert_eq!(
            FeedFormat::detect("{\"cidr\":\"1.0.0.0/8\"}"),
            FeedFormat::List
        );
    }

    #[test]
    fn report_caps_details() {
        let mut r = ParseReport::default();
        for i in 0..MAX_SKIP_DETAILS + 5 {
            r.skip(format!("line {i}"), "bad IP address \"x\"");
        }
        assert_eq!(r.skipped_total, MAX_SKIP_DETAILS + 5);
        assert_eq!(r.skipped.len(), MAX_SKIP_DETAILS);
        assert_eq!(
            r.reason_summary(),
            vec![("bad IP address".to_string(), MAX_SKIP_DETAILS)]
        );
    }
}
