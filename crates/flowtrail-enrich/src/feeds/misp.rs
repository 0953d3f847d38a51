//! MISP event JSON.

use serde_json::{Map, Value};

use super::{add_label, Parsed};
use crate::ti::{Indicator, IndicatorKind};
use crate::time::parse_timestamp;

/// Parses MISP events: `{"Event": {...}}`, a bare event object, the REST search answer
/// `{"response": [{"Event": ...}, ...]}`, or a JSON array of any of these. Attributes are read
/// from `Event.Attribute[]` and `Event.Object[].Attribute[]`.
///
/// Types used (anything else is skipped with its type named):
///
/// | MISP type | indicator |
/// |---|---|
/// | `ip-src`, `ip-dst` | IP (or CIDR when MISP holds a network) |
/// | `ip-src\|port`, `ip-dst\|port` | IP (left half) |
/// | `domain`, `hostname` | domain |
/// | `hostname\|port` | domain (left half) |
/// | `domain\|ip` | domain and IP (two indicators) |
/// | `url` | URL |
/// | `user-agent` | user agent |
///
/// `link` (a reference to a report, not an IOC) is skipped. `to_ids` is recorded on every
/// indicator (filter on it if only detection-grade attributes are wanted). Deleted attributes
/// and attributes with a false-positive sighting (`Sighting[].type == "1"`) are skipped; an
/// expiration sighting (`type "2"`) ends validity at its `date_sighting`. Labels are the event
/// and attribute tag names; `description` is the attribute comment or else the event `info`;
/// `reference` is the attribute uuid; `first_seen` comes from the attribute's `first_seen`.
pub fn parse_misp(text: &str, feed: &str) -> Parsed {
    let mut out = Parsed::default();
    let v: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            out.report.skip("document", format!("bad JSON: {e}"));
            return out;
        }
    };
    let mut events = Vec::new();
    find_events(&v, &mut events, 0);
    if events.is_empty() {
        out.report.skip("document", "no MISP event found");
    }
    for ev in events {
        event(ev, feed, &mut out);
    }
    out
}

fn find_events<'a>(v: &'a Value, out: &mut Vec<&'a Map<String, Value>>, depth: usize) {
    if depth > 4 {
        return;
    }
    match v {
        Value::Array(a) => {
            for x in a {
                find_events(x, out, depth + 1);
            }
        }
        Value::Object(m) => {
            if let Some(e) = m.get("Event") {
                match e {
                    Value::Object(em) => out.push(em),
                    other => find_events(other, out, depth + 1),
                }
            } else if let Some(r) = m.get("response") {
                find_events(r, out, depth + 1);
            } else if m.contains_key("Attribute") || m.contains_key("Object") {
                out.push(m);
            }
        }
        _ => {}
    }
}

fn tag_names(m: &Map<String, Value>, labels: &mut Vec<String>) {
    if let Some(Value::Array(tags)) = m.get("Tag") {
        for t in tags {
            if let Some(n) = t.get("name").and_then(Value::as_str) {
                add_label(labels, n);
            }
        }
    }
}

fn event(ev: &Map<String, Value>, feed: &str, out: &mut Parsed) {
    let uuid = ev.get("uuid").and_then(Value::as_str).unwrap_or("?");
    let info = ev
        .get("info")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let mut ev_labels = Vec::new();
    tag_names(ev, &mut ev_labels);
    let ctx = EventCtx {
        uuid,
        info,
        labels: &ev_labels,
        feed,
    };
    if let Some(Value::Array(attrs)) = ev.get("Attribute") {
        for a in attrs {
            if let Value::Object(a) = a {
                attribute(a, &ctx, out);
            }
        }
    }
    if let Some(Value::Array(objs)) = ev.get("Object") {
        for o in objs {
            if o.get("deleted").and_then(Value::as_bool) == Some(true) {
                continue;
            }
            if let Some(Value::Array(attrs)) = o.get("Attribute") {
                for a in attrs {
                    if let Value::Object(a) = a {
                        attribute(a, &ctx, out);
                    }
                }
            }
        }
    }
}

struct EventCtx<'a> {
    uuid: &'a str,
    info: Option<&'a str>,
    labels: &'a [String],
    feed: &'a str,
}

/// Booleans MISP may write as `true`, `"1"`, `1`, `"true"`.
fn misp_bool(v: Option<&Value>) -> Option<bool> {
    match v? {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => Some(n.as_u64() != Some(0)),
        Value::String(s) => match s.as_str() {
            "1" | "true" | "True" => Some(true),
            "0" | "false" | "False" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

fn attribute(a: &Map<String, Value>, ctx: &EventCtx<'_>, out: &mut Parsed) {
    let auuid = a.get("uuid").and_then(Value::as_str).unwrap_or("?");
    let loc = format!("event {} attribute {auuid}", ctx.uuid);
    if misp_bool(a.get("deleted")) == Some(true) {
        out.report.skip(&loc, "deleted");
        return;
    }
    let ty = a.get("type").and_then(Value::as_str).unwrap_or("");
    let value = a.get("value").and_then(Value::as_str).unwrap_or("").trim();
    let halves = |v: &str| -> (String, String) {
        match v.split_once('|') {
            Some((l, r)) => (l.to_string(), r.to_string()),
            None => (v.to_string(), String::new()),
        }
    };
    let wanted: Vec<(IndicatorKind, String)> = match ty {
        "ip-src" | "ip-dst" => vec![(IndicatorKind::Ip, value.to_string())],
        "ip-src|port" | "ip-dst|port" => vec![(IndicatorKind::Ip, halves(value).0)],
        "domain" | "hostname" => vec![(IndicatorKind::Domain, value.to_string())],
        "hostname|port" => vec![(IndicatorKind::Domain, halves(value).0)],
        "domain|ip" => {
            let (d, ip) = halves(value);
            vec![(IndicatorKind::Domain, d), (IndicatorKind::Ip, ip)]
        }
        "url" => vec![(IndicatorKind::Url, value.to_string())],
        "user-agent" => vec![(IndicatorKind::UserAgent, value.to_string())],
        "link" => {
            out.report
                .skip(&loc, "MISP type \"link\" is a reference, not an indicator");
            return;
        }
        other => {
            out.report
                .skip(&loc, format!("unsupported MISP type {other:?}"));
            return;
        }
    };
    // Sightings: false positive drops the attribute, expiration ends its validity.
    let mut valid_until = None;
    if let Some(Value::Array(sightings)) = a.get("Sighting") {
        for s in sightings {
            let t = match s.get("type") {
                Some(Value::String(t)) => t.as_str(),
                Some(Value::Number(n)) if n.as_u64() == Some(1) => "1",
                Some(Value::Number(n)) if n.as_u64() == Some(2) => "2",
                _ => "0",
            };
            let date = s.get("date_sighting").and_then(|d| match d {
                Value::String(s) => parse_timestamp(s),
                Value::Number(n) => n.as_i64().and_then(|x| x.checked_mul(1_000_000)),
                _ => None,
            });
            match t {
                "1" => {
                    out.report.skip(&loc, "false-positive sighting");
                    return;
                }
                "2" => {
                    if let Some(d) = date {
                        valid_until = Some(valid_until.map_or(d, |u: i64| u.min(d)));
                    }
                }
                _ => {}
            }
        }
    }
    let to_ids = misp_bool(a.get("to_ids"));
    let mut labels = ctx.labels.to_vec();
    tag_names(a, &mut labels);
    let comment = a
        .get("comment")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|c| !c.is_empty());
    let first_seen = a
        .get("first_seen")
        .and_then(Value::as_str)
        .and_then(parse_timestamp);
    for (kind, v) in wanted {
        match Indicator::new(kind, &v) {
            Ok(mut ind) => {
                ind.feed = ctx.feed.to_string();
                ind.to_ids = to_ids;
                ind.labels = labels.clone();
                ind.valid_until = valid_until;
                ind.first_seen = first_seen;
                ind.reference = (auuid != "?").then(|| auuid.to_string());
                ind.description = comment.or(ctx.info).map(str::to_string);
                out.push(ind);
            }
            Err(reason) => out.report.skip(&loc, format!("{ty}: {reason}")),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn attribute_types() {
        let text = r#"{"Event":{"uuid":"e1","info":"Test event","Tag":[{"name":"tlp:white"}],
          "Attribute":[
            {"uuid":"a1","type":"ip-dst","value":"98.101.211.162","to_ids":true,"comment":"C2"},
            {"uuid":"a2","type":"ip-dst|port","value":"10.10.30.110|1992","to_ids":"1"},
            {"uuid":"a3","type":"domain|ip","value":"circl.lu|149.13.33.14","to_ids":false},
            {"uuid":"a4","type":"sha256","value":"ab"},
            {"uuid":"a5","type":"link","value":"https://example.org/report"},
            {"uuid":"a6","type":"hostname","value":"Evil.Example.com","Tag":[{"name":"apt"}]},
            {"uuid":"a7","type":"ip-src","value":"1.2.3.4","Sighting":[{"type":"1"}]},
            {"uuid":"a8","type":"url","value":"http://x.example/a","Sighting":[{"type":"2","date_sighting":"1510922092"}]},
            {"uuid":"a9","type":"ip-dst","value":"999.1.1.1"},
            {"uuid":"a10","type":"ip-dst","value":"10.0.0.0/8","deleted":true}
          ],
          "Object":[{"name":"ip-port","Attribute":[
            {"uuid":"o1","type":"ip-dst","object_relation":"ip","value":"5.6.7.8","to_ids":true},
            {"uuid":"o2","type":"port","object_relation":"dst-port","value":"443"}]}]}}"#;
        let p = parse_misp(text, "m");
        let vals: Vec<_> = p.indicators.iter().map(|i| i.value.as_str()).collect();
        assert_eq!(
            vals,
            [
                "98.101.211.162",
                "10.10.30.110",
                "circl.lu",
                "149.13.33.14",
                "evil.example.com",
                "http://x.example/a",
                "5.6.7.8"
            ]
        );
        let first = &p.indicators[0];
        assert_eq!(first.to_ids, Some(true));
        assert_eq!(first.description.as_deref(), Some("C2"));
        assert_eq!(first.labels, ["tlp:white"]);
        assert_eq!(first.reference.as_deref(), Some("a1"));
        assert_eq!(p.indicators[1].to_ids, Some(true));
        assert_eq!(p.indicators[1].description.as_deref(), Some("Test event"));
        assert_eq!(p.indicators[2].to_ids, Some(false));
        assert_eq!(p.indicators[4].labels, ["tlp:white", "apt"]);
        assert_eq!(p.indicators[5].valid_until, Some(1_510_922_092_000_000));
        let reasons: Vec<_> = p.report.skipped.iter().map(|s| s.reason.as_str()).collect();
        assert_eq!(
            reasons,
            [
                "unsupported MISP type \"sha256\"",
                "MISP type \"link\" is a reference, not an indicator",
                "false-positive sighting",
                "ip-dst: bad IP address \"999.1.1.1\"",
                "deleted",
                "unsupported MISP type \"port\"",
            ]
        );
        assert_eq!(p.report.skipped[0].location, "event e1 attribute a4");
    }

    #[test]
    fn envelopes() {
        let rest = r#"{"response":[{"Event":{"uuid":"x","Attribute":[{"type":"domain","value":"a.com"}]}},{"Event":{"uuid":"y","Attribute":[{"type":"domain","value":"b.com"}]}}]}"#;
        assert_eq!(parse_misp(rest, "m").indicators.len(), 2);
        let bare =
            r#"{"uuid":"x","info":"i","Attribute":[{"type":"url","value":"http://a.com/"}]}"#;
        assert_eq!(parse_misp(bare, "m").indicators.len(), 1);
        let none = parse_misp("{\"foo\":1}", "m");
        assert_eq!(none.report.skipped[0].reason, "no MISP event found");
        assert!(parse_misp("[", "m").report.skipped[0]
            .reason
            .starts_with("bad JSON"));
    }
}
