//! STIX 2.1 indicators.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::stix_pattern::parse_pattern;
use super::{add_label, Parsed};
use crate::ti::Indicator;
use crate::time::parse_timestamp;

/// Parses STIX 2.1 content: a bundle, a bare indicator, a JSON array of objects, NDJSON with one
/// object a line (OpenCTI exports), or any JSON holding STIX objects deeper down (TAXII 2.1
/// envelopes `{"objects": [...]}`, a TAXII server's data dump, MISP-STIX mapping files): every
/// object with `"type": "indicator"` anywhere in the document is read.
///
/// * Several versions of one indicator id (TAXII keeps them): the newest `modified` wins; older
///   ones are reported as superseded.
/// * Skipped with a reason: `revoked: true`, `pattern_type` other than `stix` (sigma, snort,
///   suricata, yara), patterns [`parse_pattern`] cannot use, values that do not parse, and a
///   `valid_until` not after `valid_from`.
/// * Kept: `valid_from` / `valid_until` (validity window), `confidence` (0-100), `labels`,
///   `id` (as `reference`) and `name` (as `description`).
pub fn parse_stix(text: &str, feed: &str) -> Parsed {
    let mut out = Parsed::default();
    let mut docs: Vec<Value> = Vec::new();
    match serde_json::from_str::<Value>(text) {
        Ok(v) => docs.push(v),
        Err(whole) => {
            let first = text.lines().map(str::trim).find(|l| !l.is_empty());
            let ndjson = first.is_some_and(|l| serde_json::from_str::<Value>(l).is_ok());
            if !ndjson {
                out.report.skip("document", format!("bad JSON: {whole}"));
                return out;
            }
            for (i, line) in text.lines().enumerate() {
                let l = line.trim();
                if l.is_empty() {
                    continue;
                }
                match serde_json::from_str::<Value>(l) {
                    Ok(v) => docs.push(v),
                    Err(e) => out
                        .report
                        .skip(format!("line {}", i + 1), format!("bad JSON: {e}")),
                }
            }
        }
    }
    let mut found: Vec<&Map<String, Value>> = Vec::new();
    for d in &docs {
        collect(d, &mut found);
    }
    // Newest version per id.
    let mut newest: HashMap<&str, usize> = HashMap::new();
    for (i, obj) in found.iter().enumerate() {
        let Some(id) = obj.get("id").and_then(Value::as_str) else {
            continue;
        };
        match newest.get(id) {
            Some(&j) if modified(found[j]) >= modified(obj) => {}
            _ => {
                newest.insert(id, i);
            }
        }
    }
    for (i, obj) in found.iter().enumerate() {
        let id = obj.get("id").and_then(Value::as_str);
        let loc = id.map_or_else(|| format!("indicator #{}", i + 1), str::to_string);
        if let Some(id) = id {
            if newest.get(id) != Some(&i) {
                let m = obj.get("modified").and_then(Value::as_str).unwrap_or("?");
                out.report.skip(
                    &loc,
                    format!("version modified {m:?} superseded by a newer version"),
                );
                continue;
            }
        }
        indicator(obj, &loc, feed, &mut out);
    }
    out
}

fn modified(obj: &Map<String, Value>) -> i64 {
    obj.get("modified")
        .and_then(Value::as_str)
        .and_then(parse_timestamp)
        .unwrap_or(i64::MIN)
}

/// Collects every STIX indicator object in `v`. JSON nesting is bounded by serde_json's
/// recursion limit, so this recursion is too.
fn collect<'a>(v: &'a Value, out: &mut Vec<&'a Map<String, Value>>) {
    match v {
        Value::Object(m) => {
            if m.get("type").and_then(Value::as_str) == Some("indicator") {
                out.push(m);
                return;
            }
            for child in m.values() {
                collect(child, out);
            }
        }
        Value::Array(a) => {
            for child in a {
                collect(child, out);
            }
        }
        _ => {}
    }
}

fn indicator(obj: &Map<String, Value>, loc: &str, feed: &str, out: &mut Parsed) {
    if obj.get("revoked").and_then(Value::as_bool) == Some(true) {
        out.report.skip(loc, "revoked");
        return;
    }
    if let Some(pt) = obj.get("pattern_type").and_then(Value::as_str) {
        if !pt.eq_ignore_ascii_case("stix") {
            out.report
                .skip(loc, format!("pattern_type {pt:?} is not supported"));
            return;
        }
    }
    let Some(pattern) = obj.get("pattern").and_then(Value::as_str) else {
        out.report.skip(loc, "no pattern");
        return;
    };
    let valid_from = obj
        .get("valid_from")
        .and_then(Value::as_str)
        .and_then(parse_timestamp);
    let valid_until = obj
        .get("valid_until")
        .and_then(Value::as_str)
        .and_then(parse_timestamp);
    if let (Some(f), Some(u)) = (valid_from, valid_until) {
        if u <= f {
            out.report.skip(loc, "valid_until is not after valid_from");
            return;
        }
    }
    let res = match parse_pattern(pattern) {
        Ok(r) => r,
        Err(reason) => {
            out.report.skip(loc, reason);
            return;
        }
    };
    for r in &res.dropped {
        out.report.skip(loc, format!("OR member dropped: {r}"));
    }
    let confidence = obj
        .get("confidence")
        .and_then(Value::as_u64)
        .filter(|c| *c <= 100)
        .map(|c| c as u8);
    let mut labels = Vec::new();
    if let Some(Value::Array(ls)) = obj.get("labels") {
        for l in ls.iter().filter_map(Value::as_str) {
            add_label(&mut labels, l);
        }
    }
    let name = obj.get("name").and_then(Value::as_str).map(str::to_string);
    for ioc in res.iocs {
        match Indicator::new(ioc.kind, &ioc.value) {
            Ok(mut ind) => {
                ind.feed = feed.to_string();
                ind.confidence = confidence;
                ind.labels = labels.clone();
                ind.valid_from = valid_from;
                ind.valid_until = valid_until;
                ind.reference = obj.get("id").and_then(Value::as_str).map(str::to_string);
                ind.description = name.clone();
                out.push(ind);
            }
            Err(reason) => out.report.skip(loc, reason),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn versions_and_windows() {
        let text = r#"{"type":"bundle","objects":[
          {"type":"indicator","id":"indicator--1","modified":"2020-01-01T00:00:00Z","pattern_type":"stix","pattern":"[url:value = 'http://old/']"},
          {"type":"indicator","id":"indicator--1","modified":"2021-01-01T00:00:00Z","pattern_type":"stix","pattern":"[url:value = 'http://new/']","valid_from":"2021-01-01T00:00:00Z","valid_until":"2022-01-01T00:00:00Z","confidence":80,"labels":["x","x","y"],"name":"n"},
          {"type":"indicator","id":"indicator--2","pattern_type":"yara","pattern":"rule x {}"},
          {"type":"indicator","id":"indicator--3","revoked":true,"pattern":"[ipv4-addr:value = '1.2.3.4']"},
          {"type":"indicator","id":"indicator--4","pattern":"[ipv4-addr:value = '1.2.3.4']","valid_from":"2021-01-01T00:00:00Z","valid_until":"2020-01-01T00:00:00Z"},
          {"type":"indicator","id":"indicator--5","pattern":"[ipv4-addr:value = 'not-ip']"},
          {"type":"malware","id":"malware--1"}
        ]}"#;
        let p = parse_stix(text, "s");
        assert_eq!(p.indicators.len(), 1);
        let i = &p.indicators[0];
        assert_eq!(i.value, "http://new/");
        assert_eq!(i.confidence, Some(80));
        assert_eq!(i.labels, ["x", "y"]);
        assert_eq!(i.description.as_deref(), Some("n"));
        assert_eq!(i.reference.as_deref(), Some("indicator--1"));
        assert!(i.valid_from.is_some() && i.valid_until.is_some());
        let reasons: Vec<_> = p.report.skipped.iter().map(|s| s.reason.as_str()).collect();
        assert_eq!(reasons.len(), 5, "{reasons:?}");
        assert!(reasons[0].contains("superseded"));
        assert_eq!(reasons[1], "pattern_type \"yara\" is not supported");
        assert_eq!(reasons[2], "revoked");
        assert_eq!(reasons[3], "valid_until is not after valid_from");
        assert_eq!(reasons[4], "bad IP address \"not-ip\"");
    }

    #[test]
    fn ndjson_and_garbage() {
        let text = "{\"type\":\"indicator\",\"id\":\"a\",\"pattern\":\"[domain-name:value = 'x.org']\"}\n\n{oops\n";
        let p = parse_stix(text, "s");
        assert_eq!(p.indicators.len(), 1);
        assert_eq!(p.report.skipped[0].location, "line 3");
        let p = parse_stix("not json at all", "s");
        assert!(p.indicators.is_empty());
        assert!(p.report.skipped[0].reason.starts_with("bad JSON"));
    }
}
