//! CSV feeds with a column mapping, and the hand-written CSV splitter used by every CSV reader in
//! this crate.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use super::{add_label, is_null, Parsed};
use crate::ti::{clip, detect_kind, Indicator, IndicatorKind};
use crate::time::parse_timestamp;

/// A column, by 0-based position or by header name. A name may list alternatives separated by
/// `|` (`"dst_ip|ip_address"`); names compare case-insensitively after trimming.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ColumnRef {
    /// 0-based position.
    Index(usize),
    /// Header name(s).
    Name(String),
}

impl ColumnRef {
    /// A column by name.
    pub fn name(s: &str) -> ColumnRef {
        ColumnRef::Name(s.to_string())
    }

    fn resolve(&self, header: Option<&[String]>) -> Option<usize> {
        match self {
            ColumnRef::Index(i) => Some(*i),
            ColumnRef::Name(n) => {
                let header = header?;
                n.split('|').map(str::trim).find_map(|alt| {
                    header
                        .iter()
                        .position(|h| h.trim().eq_ignore_ascii_case(alt))
                })
            }
        }
    }
}

/// How to read indicators out of a CSV feed.
///
/// Header handling: when any column is given by name, the header is the most recent line,
/// commented or not, whose fields include the value column's name (URLhaus and ThreatFox put
/// their header in a `#` comment, Feodo Tracker in a plain first row); rows before it are
/// skipped as "no header". `header_rows` plain rows at the start are skipped in any case (use it
/// with positional columns).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CsvMapping {
    /// The column holding the indicator.
    pub value: ColumnRef,
    /// Its kind; `None` detects it per row (unless `kind_column` is set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<IndicatorKind>,
    /// A column naming the kind per row (ThreatFox `ioc_type`: `url`, `domain`, `ip:port`...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind_column: Option<ColumnRef>,
    /// Field delimiter, an ASCII character (default `,`).
    #[serde(default = "default_delimiter")]
    pub delimiter: char,
    /// Lines starting with this character are comments (default `#`).
    #[serde(default = "default_comment")]
    pub comment: Option<char>,
    /// Plain rows to skip at the start (default 0).
    #[serde(default)]
    pub header_rows: usize,
    /// Columns whose values become labels; each field is split on `,`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<ColumnRef>,
    /// Confidence 0-100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<ColumnRef>,
    /// Validity start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<ColumnRef>,
    /// Validity end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<ColumnRef>,
    /// First-seen time (informational).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_seen: Option<ColumnRef>,
    /// Source id or link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<ColumnRef>,
    /// Short description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<ColumnRef>,
}

fn default_delimiter() -> char {
    ','
}

fn default_comment() -> Option<char> {
    Some('#')
}

impl CsvMapping {
    /// A mapping reading indicators of `kind` (`None`: detect) from `value`, everything else
    /// default.
    pub fn new(value: ColumnRef, kind: Option<IndicatorKind>) -> CsvMapping {
        CsvMapping {
            value,
            kind,
            kind_column: None,
            delimiter: ',',
            comment: Some('#'),
            header_rows: 0,
            labels: Vec::new(),
            confidence: None,
            valid_from: None,
            valid_until: None,
            first_seen: None,
            reference: None,
            description: None,
        }
    }

    /// abuse.ch URLhaus CSV dumps (`csv_recent`, `csv_online`, full dump: `id, dateadded, url,
    /// url_status, last_online, threat, tags, urlhaus_link, reporter`, header in a `#` comment or
    /// plain) and the older per-TLD feed (`Dateadded (UTC), URL, URL_status, Threat, Host, ...`).
    /// Labels: `threat` and each of `tags`; first seen: `dateadded`; reference: `urlhaus_link`.
    /// Offline URLs are kept (old flows may still have reached them).
    pub fn urlhaus() -> CsvMapping {
        CsvMapping {
            labels: vec![ColumnRef::name("threat"), ColumnRef::name("tags")],
            first_seen: Some(ColumnRef::name("dateadded|dateadded (utc)")),
            reference: Some(ColumnRef::name("urlhaus_link")),
            ..CsvMapping::new(ColumnRef::name("url"), Some(IndicatorKind::Url))
        }
    }

    /// abuse.ch Feodo Tracker IP blocklist CSV (`first_seen_utc, dst_ip, dst_port, c2_status,
    /// last_online, malware`; newer exports name the address `ip_address`). Labels: `malware`;
    /// first seen: `first_seen_utc`. The port is not part of the indicator.
    pub fn feodo() -> CsvMapping {
        CsvMapping {
            labels: vec![ColumnRef::name("malware")],
            first_seen: Some(ColumnRef::name("first_seen_utc|first_seen")),
            ..CsvMapping::new(
                ColumnRef::name("dst_ip|ip_address"),
                Some(IndicatorKind::Ip),
            )
        }
    }

    /// abuse.ch ThreatFox CSV (`first_seen_utc, ioc_id, ioc_value, ioc_type, threat_type,
    /// fk_malware, malware_alias, malware_printable, last_seen_utc, confidence_level, reference,
    /// tags, anonymous, reporter`, `", "`-separated). Kind from `ioc_type` (`ip:port` -> IP
    /// without the port; hash types are skipped); confidence from `confidence_level`; labels:
    /// `malware_printable`, `threat_type`, `tags`.
    pub fn threatfox() -> CsvMapping {
        CsvMapping {
            kind_column: Some(ColumnRef::name("ioc_type")),
            labels: vec![
                ColumnRef::name("malware_printable"),
                ColumnRef::name("threat_type"),
                ColumnRef::name("tags"),
            ],
            confidence: Some(ColumnRef::name("confidence_level")),
            first_seen: Some(ColumnRef::name("first_seen_utc")),
            reference: Some(ColumnRef::name("ioc_id")),
            ..CsvMapping::new(ColumnRef::name("ioc_value|ioc"), None)
        }
    }

    fn columns(&self) -> impl Iterator<Item = &ColumnRef> {
        std::iter::once(&self.value)
            .chain(self.kind_column.iter())
            .chain(self.labels.iter())
            .chain(self.confidence.iter())
            .chain(self.valid_from.iter())
            .chain(self.valid_until.iter())
            .chain(self.first_seen.iter())
            .chain(self.reference.iter())
            .chain(self.description.iter())
    }

    fn uses_names(&self) -> bool {
        self.columns().any(|c| matches!(c, ColumnRef::Name(_)))
    }

    fn resolve(&self, header: Option<&[String]>) -> Option<Resolved> {
        let r = |c: &Option<ColumnRef>| c.as_ref().and_then(|c| c.resolve(header));
        Some(Resolved {
            value: self.value.resolve(header)?,
            kind_column: r(&self.kind_column),
            labels: self
                .labels
                .iter()
                .filter_map(|c| c.resolve(header))
                .collect(),
            confidence: r(&self.confidence),
            valid_from: r(&self.valid_from),
            valid_until: r(&self.valid_until),
            first_seen: r(&self.first_seen),
            reference: r(&self.reference),
            description: r(&self.description),
        })
    }
}

struct Resolved {
    value: usize,
    kind_column: Option<usize>,
    labels: Vec<usize>,
    confidence: Option<usize>,
    valid_from: Option<usize>,
    valid_until: Option<usize>,
    first_seen: Option<usize>,
    reference: Option<usize>,
    description: Option<usize>,
}

/// Kind from a type name such as ThreatFox `ioc_type` or a MISP-like type.
fn kind_from_type_name(t: &str) -> Option<IndicatorKind> {
    let t = t.trim().to_ascii_lowercase();
    if let Some(k) = IndicatorKind::parse(&t) {
        return Some(k);
    }
    if t.contains("url") {
        Some(IndicatorKind::Url)
    } else if t.contains("domain") || t.contains("hostname") {
        Some(IndicatorKind::Domain)
    } else if t.starts_with("ip") {
        Some(IndicatorKind::Ip)
    } else if t.contains("user") && t.contains("agent") {
        Some(IndicatorKind::UserAgent)
    } else {
        None
    }
}

/// One CSV record: its fields or a comment line.
enum Record<'a> {
    Fields(Vec<Cow<'a, str>>),
    Comment(&'a str),
    Bad(&'static str),
}

/// Streams records out of CSV text: RFC 4180 quoting (doubled quotes, delimiters and newlines
/// inside quotes), spaces before an opening quote ignored (abuse.ch `", "`), text after a closing
/// quote appended, an unterminated quote reported for that line only.
struct Reader<'a> {
    s: &'a str,
    pos: usize,
    line: usize,
    delim: char,
    comment: Option<char>,
    /// Byte offset of the last `"` in the text: a quote opened at or after it can never close,
    /// which keeps a file full of stray quotes linear to read.
    last_quote: Option<usize>,
}

impl<'a> Reader<'a> {
    fn new(s: &'a str, delim: char, comment: Option<char>) -> Self {
        let s = s.strip_prefix('\u{feff}').unwrap_or(s);
        Reader {
            last_quote: s.rfind('"'),
            s,
            pos: 0,
            line: 0,
            delim,
            comment,
        }
    }

    /// The next non-blank record with its 1-based starting line.
    fn next_record(&mut self) -> Option<(usize, Record<'a>)> {
        loop {
            let rest = self.s.get(self.pos..).filter(|r| !r.is_empty())?;
            let eol = rest.find('\n').unwrap_or(rest.len());
            let line = &rest[..eol];
            let line_no = self.line + 1;
            let whole_line = (eol + 1).min(rest.len());
            let trimmed = line.trim();
            if trimmed.is_empty() {
                self.advance(rest, whole_line);
                continue;
            }
            if let Some(c) = self.comment {
                if let Some(body) = trimmed.strip_prefix(c) {
                    self.advance(rest, whole_line);
                    return Some((line_no, Record::Comment(body)));
                }
            }
            let last = self.last_quote.and_then(|q| q.checked_sub(self.pos));
            return Some(match split_record(rest, self.delim, last) {
                Some((fields, used)) => {
                    self.advance(rest, used.max(1));
                    (line_no, Record::Fields(fields))
                }
                None => {
                    self.advance(rest, whole_line);
                    (line_no, Record::Bad("unterminated quoted field"))
                }
            });
        }
    }

    /// Consumes `n` bytes of `rest`, counting the lines they cover.
    fn advance(&mut self, rest: &str, n: usize) {
        let used = rest.get(..n).unwrap_or(rest);
        let breaks = used.matches('\n').count();
        self.line += if used.ends_with('\n') {
            breaks
        } else {
            breaks + 1
        };
        self.pos += used.len();
    }
}

/// Splits one record at the start of `s`. Returns the fields and the bytes consumed (including
/// the record's line break), or `None` for a quote left open at the end of the text. `last_quote`
/// is the offset of the last `"` in `s`.
fn split_record(
    s: &str,
    delim: char,
    last_quote: Option<usize>,
) -> Option<(Vec<Cow<'_, str>>, usize)> {
    let b = s.as_bytes();
    let d = delim as u32;
    let mut fields = Vec::new();
    let mut i = 0usize;
    loop {
        // Field start: skip blanks before a possible opening quote.
        let field_start = i;
        let mut j = i;
        while j < b.len() && (b[j] == b' ' || (b[j] == b'\t' && d != u32::from(b'\t'))) {
            j += 1;
        }
        if j < b.len() && b[j] == b'"' {
            // Quoted field.
            let mut val = String::new();
            let mut k = j + 1;
            let mut seg = k;
            loop {
                if last_quote.is_none_or(|l| k > l) {
                    return None;
                }
                let q = s.get(k..)?.find('"')? + k;
                val.push_str(&s[seg..q]);
                if b.get(q + 1) == Some(&b'"') {
                    val.push('"');
                    k = q + 2;
                    seg = k;
                    continue;
                }
                k = q + 1;
                break;
            }
            // Anything up to the delimiter after the closing quote is kept.
            let tail_end = s[k..]
                .find(|c: char| c as u32 == d || c == '\n' || c == '\r')
                .map_or(s.len(), |x| x + k);
            let tail = s[k..tail_end].trim();
            if !tail.is_empty() {
                val.push_str(tail);
            }
            fields.push(Cow::Owned(val));
            i = tail_end;
        } else {
            let end = s[field_start..]
                .find(|c: char| c as u32 == d || c == '\n' || c == '\r')
                .map_or(s.len(), |x| x + field_start);
            fields.push(Cow::Borrowed(&s[field_start..end]));
            i = end;
        }
        match b.get(i) {
            Some(&c) if u32::from(c) == d => {
                i += delim.len_utf8();
                continue;
            }
            Some(b'\r') => {
                i += 1;
                if b.get(i) == Some(&b'\n') {
                    i += 1;
                }
                return Some((fields, i));
            }
            Some(b'\n') => return Some((fields, i + 1)),
            _ => return Some((fields, i.min(s.len()))),
        }
    }
}

/// Splits a single line of CSV (quotes honoured, as in the feed parser). Unterminated quotes
/// yield the raw line as one field.
pub fn split_csv_line(line: &str, delim: char) -> Vec<String> {
    let line = line.trim_end_matches(['\r', '\n']);
    match split_record(line, delim, line.rfind('"')) {
        Some((f, _)) => f.into_iter().map(Cow::into_owned).collect(),
        None => vec![line.to_string()],
    }
}

/// Parses a CSV feed with `mapping`, tagging indicators with `feed`.
pub fn parse_csv(text: &str, feed: &str, mapping: &CsvMapping) -> Parsed {
    let mut out = Parsed::default();
    let value_names: Vec<String> = match &mapping.value {
        ColumnRef::Name(n) => n
            .split('|')
            .map(|x| x.trim().to_ascii_lowercase())
            .collect(),
        ColumnRef::Index(_) => Vec::new(),
    };
    let names = mapping.uses_names();
    let is_header = |fields: &[String]| {
        !value_names.is_empty()
            && fields
                .iter()
                .any(|f| value_names.iter().any(|n| f.trim().eq_ignore_ascii_case(n)))
    };
    let mut resolved: Option<Resolved> = if names { None } else { mapping.resolve(None) };
    let mut to_skip = mapping.header_rows;
    let mut reader = Reader::new(text, mapping.delimiter, mapping.comment);
    while let Some((line_no, rec)) = reader.next_record() {
        let loc = format!("line {line_no}");
        let fields = match rec {
            Record::Comment(body) => {
                if names && body.contains(mapping.delimiter) {
                    let f = split_csv_line(body, mapping.delimiter);
                    if is_header(&f) {
                        resolved = mapping.resolve(Some(&f));
                    }
                }
                continue;
            }
            Record::Bad(reason) => {
                out.report.skip(&loc, reason);
                continue;
            }
            Record::Fields(f) => f,
        };
        if to_skip > 0 {
            to_skip -= 1;
            if names {
                let f: Vec<String> = fields.iter().map(|c| c.to_string()).collect();
                resolved = mapping.resolve(Some(&f));
            }
            continue;
        }
        if names {
            let owned: Vec<String> = fields.iter().map(|c| c.to_string()).collect();
            let value_is_name = resolved
                .as_ref()
                .and_then(|r| owned.get(r.value))
                .is_some_and(|v| value_names.iter().any(|n| v.trim().eq_ignore_ascii_case(n)));
            if (resolved.is_none() && is_header(&owned)) || value_is_name {
                resolved = mapping.resolve(Some(&owned));
                continue;
            }
        }
        let Some(r) = resolved.as_ref() else {
            out.report.skip(
                &loc,
                format!(
                    "no header naming column {:?} before this row",
                    value_names.join("|")
                ),
            );
            continue;
        };
        match csv_row(&fields, r, mapping) {
            Ok(mut ind) => {
                ind.feed = feed.to_string();
                out.push(ind);
            }
            Err(reason) => out.report.skip(&loc, reason),
        }
    }
    out
}

fn field<'a>(fields: &'a [Cow<'a, str>], col: Option<usize>) -> Option<&'a str> {
    let v = fields.get(col?)?.trim();
    (!is_null(v)).then_some(v)
}

fn csv_row(fields: &[Cow<'_, str>], r: &Resolved, m: &CsvMapping) -> Result<Indicator, String> {
    let Some(raw) = fields.get(r.value) else {
        return Err(format!(
            "row has {} fields, no value column {}",
            fields.len(),
            r.value + 1
        ));
    };
    let value = raw.trim();
    if is_null(value) {
        return Err("empty indicator value".to_string());
    }
    let kind = if r.kind_column.is_some() {
        let t = field(fields, r.kind_column).unwrap_or("");
        match kind_from_type_name(t) {
            Some(k) => k,
            None => return Err(format!("unsupported indicator type {:?}", clip(t))),
        }
    } else if let Some(k) = m.kind {
        k
    } else {
        match detect_kind(value) {
            Some(k) => k,
            None => return Err(format!("unrecognised indicator {:?}", clip(value))),
        }
    };
    let mut ind = Indicator::new(kind, value)?;
    for &c in &r.labels {
        if let Some(v) = field(fields, Some(c)) {
            for l in v.split(',') {
                add_label(&mut ind.labels, l);
            }
        }
    }
    ind.confidence = field(fields, r.confidence)
        .and_then(|c| c.trim_end_matches('%').trim().parse::<u8>().ok())
        .filter(|c| *c <= 100);
    ind.valid_from = field(fields, r.valid_from).and_then(parse_timestamp);
    ind.valid_until = field(fields, r.valid_until).and_then(parse_timestamp);
    ind.first_seen = field(fields, r.first_seen).and_then(parse_timestamp);
    ind.reference = field(fields, r.reference).map(str::to_string);
    ind.description = field(fields, r.description).map(str::to_string);
    Ok(ind)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn splitter() {
        let f = |s: &str| split_csv_line(s, ',');
        assert_eq!(f("a,b,,c"), ["a", "b", "", "c"]);
        assert_eq!(f("\"a,b\",\"c\"\"d\""), ["a,b", "c\"d"]);
        assert_eq!(f("\"x\", \"y\", \"z\""), ["x", "y", "z"]);
        assert_eq!(f("\"x\"tail,y"), ["xtail", "y"]);
        assert_eq!(f("say \"hi\",2"), ["say \"hi\"", "2"]);
        assert_eq!(f("\"open,never closed"), ["\"open,never closed"]);
        assert_eq!(f(""), [""]);
        assert_eq!(split_csv_line("a\tb c\t\"d\"", '\t'), ["a", "b c", "d"]);
        assert_eq!(f("é,ü"), ["é", "ü"]);
    }

    #[test]
    fn multiline_and_lines() {
        let text = "# h\nurl,note\n\"http://a.com/x\",\"two\nlines\"\nhttp://b.com/,\"unterminated\nhttp://c.com/,ok\n";
        let m = CsvMapping::new(ColumnRef::name("url"), None);
        let p = parse_csv(text, "f", &m);
        let v: Vec<_> = p.indicators.iter().map(|i| i.value.as_str()).collect();
        assert_eq!(v, ["http://a.com/x", "http://c.com/"]);
        // The unterminated quote on line 5 costs only that line, and is reported.
        assert_eq!(p.report.skipped_total, 1, "{:?}", p.report);
        assert_eq!(p.report.skipped[0].location, "line 5");
    }

    #[test]
    fn threatfox_kinds() {
        let text = "# \"first_seen_utc\",\"ioc_id\",\"ioc_value\",\"ioc_type\",\"confidence_level\",\"tags\"\n\
            \"2024-07-16 06:45:19\", \"1\", \"http://a.top/x.php\", \"url\", \"75\", \"lokibot\"\n\
            \"2024-07-16 05:25:36\", \"2\", \"8.134.12.90:7777\", \"ip:port\", \"100\", \"CobaltStrike,cs\"\n\
            \"2024-07-16 05:25:36\", \"3\", \"abcd\", \"md5_hash\", \"100\", \"None\"\n";
        let p = parse_csv(text, "tf", &CsvMapping::threatfox());
        assert_eq!(p.indicators.len(), 2);
        assert_eq!(p.indicators[1].value, "8.134.12.90");
        assert_eq!(p.indicators[1].confidence, Some(100));
        assert_eq!(p.indicators[1].labels, ["CobaltStrike", "cs"]);
        assert_eq!(p.indicators[1].reference.as_deref(), Some("2"));
        assert_eq!(
            p.report.skipped[0].reason,
            "unsupported indicator type \"md5_hash\""
        );
    }

    #[test]
    fn positional_mapping() {
        let text = "skip me\n1.2.3.4;x\nnot-an-ip;y\n;z\n";
        let mut m = CsvMapping::new(ColumnRef::Index(0), Some(IndicatorKind::Ip));
        m.delimiter = ';';
        m.header_rows = 1;
        m.labels = vec![ColumnRef::Index(1)];
        m.description = Some(ColumnRef::Index(5));
        let p = parse_csv(text, "p", &m);
        assert_eq!(p.indicators.len(), 1);
        assert_eq!(p.indicators[0].labels, ["x"]);
        assert_eq!(p.report.skipped_total, 2);
        assert_eq!(p.report.skipped[0].reason, "bad IP address \"not-an-ip\"");
        assert_eq!(p.report.skipped[1].reason, "empty indicator value");
    }

    #[test]
    fn no_header() {
        let p = parse_csv("1.2.3.4\n", "x", &CsvMapping::feodo());
        assert_eq!(p.indicators.len(), 0);
        assert!(p.report.skipped[0]
            .reason
            .starts_with("no header naming column"));
    }
}
