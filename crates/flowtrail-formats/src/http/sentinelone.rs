//! SentinelOne Deep Visibility / Singularity Data Lake events exported as JSON lines (Cloud
//! Funnel 2.0: one flat object per line, dotted keys such as `src.process.user`). The web events
//! become rows; every other event type is skipped with a reason naming its family.
//!
//! ```text
//! {"event.category":"url","event.type":"GET","meta.event.name":"HTTP","event.time":1679651744782,"timestamp":"2023-03-24T09:55:44.782Z","url.address":"https://assets.msn.com/...svg","event.url.action":"GET","endpoint.name":"desktop-jdoe","src.process.user":"desktop-jdoe\\john.doe","src.process.name":"explorer.exe","agent.uuid":"9a25...",...}
//! ```
//!
//! # Which events are rows
//!
//! An event is a web event when its `event.category` is `url`, or its `event.type` is an HTTP
//! method (`GET`, `POST`...) or names a URL/HTTP event, or `meta.event.name` is `HTTP`. Other
//! events are skipped (`sentinelone: DNS event (not an HTTP request)`, `... process event ...`,
//! `... IP Connect/Listen event ...`): process, file, registry, DNS, IP connection, login, task,
//! indicator, script, driver/module and group events are EDR telemetry, not web requests.
//! Connection events (`IP Connect`) would belong to a flow decoder. A line with neither
//! `event.type` nor `event.category` is rejected.
//!
//! # Field mapping
//!
//! | column | source |
//! |---|---|
//! | `time` | `event.time` (epoch ms); else `timestamp` when it is a full ISO 8601 time |
//! | `url`, `scheme`, `host`, `domain`, `path`, `query`, `server_port` | `url.address` |
//! | `method` | `event.url.action`, else an HTTP-method `event.type`; upper-cased |
//! | `device` | `endpoint.name` (the agent's host) |
//! | `user` | `src.process.user` (the process owner as logged, `DOMAIN\user`) |
//! | `client_ip` | `src.ip.address`, when the event has one |
//! | `server_ip`, `server_port` | `dst.ip.address`, `dst.port.number`, when present |
//! | `extra` | every other non-null member under its own key: `event.type`, `event.category`, `src.process.*` (name, pid, command line, hashes, storyline), `agent.uuid`, `site.*`, `account.id`, `event.id`, `trace.id`... |
//!
//! No status, content type, byte counts or action: the agent records the request only.
//!
//! SentinelOne's documentation is not public; the layout follows the Cloud Funnel 2.0 samples of
//! Sekoia's and Elastic's integrations (see `docs/formats.md` of the shared docs, section 9.7).

use std::borrow::Cow;
use std::net::IpAddr;

use flowtrail_schema::{HttpRecord, RecordSink};

use super::security_util::{read_json, upper_method, JVal, JsonRecord, Route};
use super::url::{add_host_unicode, fill_http_url};
use crate::envelope::parse_ip;
use crate::time::parse_rfc3339;
use crate::{Confidence, DecodeContext, Decoder, Format, RecordKind};

/// SentinelOne Deep Visibility (Cloud Funnel 2.0) JSON events: URL/HTTP events.
pub struct SentinelOne;

impl Format for SentinelOne {
    fn name(&self) -> &'static str {
        "sentinelone"
    }

    fn description(&self) -> &'static str {
        "SentinelOne Deep Visibility / Cloud Funnel 2.0 JSON events (URL/HTTP events; others skipped)"
    }

    fn record_kind(&self) -> RecordKind {
        RecordKind::Http
    }

    fn decoder(&self, _ctx: &DecodeContext) -> Box<dyn Decoder> {
        Box::new(SentinelOneDecoder::default())
    }

    fn sniff(&self, prefix: &[u8]) -> Confidence {
        let line = prefix
            .split(|b| *b == b'\n')
            .map(<[u8]>::trim_ascii)
            .find(|l| !l.is_empty());
        let Some(line) = line.filter(|l| l.first() == Some(&b'{')) else {
            return Confidence::No;
        };
        let has = |n: &[u8]| memchr::memmem::find(line, n).is_some();
        if has(b"\"event.type\"") && (has(b"\"endpoint.name\"") || has(b"\"agent.uuid\"")) {
            Confidence::Certain
        } else {
            Confidence::No
        }
    }
}

/// Decodes one input of SentinelOne events.
#[derive(Default)]
pub struct SentinelOneDecoder {
    extra: String,
}

const S_TYPE: u8 = 0;
const S_CATEGORY: u8 = 1;
const S_META: u8 = 2;
const S_TIME: u8 = 3;
const S_TIMESTAMP: u8 = 4;
const S_URL: u8 = 5;
const S_METHOD: u8 = 6;
const S_DEVICE: u8 = 7;
const S_USER: u8 = 8;
const S_SRC_IP: u8 = 9;
const S_DST_IP: u8 = 10;
const S_DST_PORT: u8 = 11;
const SLOTS: usize = 12;

struct Event<'a> {
    slots: [Option<JVal<'a>>; SLOTS],
}

impl<'de> JsonRecord<'de> for Event<'de> {
    fn route(&self, key: &str) -> Route {
        let field = |slot| Route::Field { slot, keep: None };
        match key {
            "event.type" => Route::Field {
                slot: S_TYPE,
                keep: Some("event.type"),
            },
            "event.category" => Route::Field {
                slot: S_CATEGORY,
                keep: Some("event.category"),
            },
            "meta.event.name" => Route::Field {
                slot: S_META,
                keep: Some("meta.event.name"),
            },
            "event.time" => field(S_TIME),
            "timestamp" => field(S_TIMESTAMP),
            "url.address" => field(S_URL),
            "event.url.action" => field(S_METHOD),
            "endpoint.name" => field(S_DEVICE),
            "src.process.user" => field(S_USER),
            "src.ip.address" => field(S_SRC_IP),
            "dst.ip.address" => field(S_DST_IP),
            "dst.port.number" => field(S_DST_PORT),
            _ => Route::Keep(None),
        }
    }

    fn take(&mut self, slot: u8, v: JVal<'de>) {
        if let Some(s) = self.slots.get_mut(usize::from(slot)) {
            *s = Some(v);
        }
    }
}

fn is_http_method(t: &str) -> bool {
    [
        "GET", "POST", "PUT", "HEAD", "DELETE", "OPTIONS", "CONNECT", "PATCH", "TRACE",
    ]
    .iter()
    .any(|m| m.eq_ignore_ascii_case(t))
}

/// Returns `None` for a web event, else the skip reason for its family.
fn skip_reason(
    category: Option<&str>,
    ty: Option<&str>,
    meta: Option<&str>,
) -> Option<&'static str> {
    let lower = |s: Option<&str>| s.map(str::to_ascii_lowercase).unwrap_or_default();
    let (cat, ty_l) = (lower(category), lower(ty));
    let web = cat == "url"
        || ty.is_some_and(is_http_method)
        || ty_l == "url"
        || ty_l.starts_with("http")
        || ty_l.starts_with("url ")
        || meta.is_some_and(|m| m.eq_ignore_ascii_case("http"));
    if web {
        return None;
    }
    let family = |k: &str| cat.starts_with(k) || (cat.is_empty() && ty_l.contains(k));
    Some(if family("dns") {
        "sentinelone: DNS event (not an HTTP request)"
    } else if cat == "ip" || (cat.is_empty() && ty_l.starts_with("ip")) {
        "sentinelone: IP Connect/Listen event (a network connection, not an HTTP request)"
    } else if family("process") {
        "sentinelone: process event (not an HTTP request)"
    } else if family("file") {
        "sentinelone: file event (not an HTTP request)"
    } else if family("registry") {
        "sentinelone: registry event (not an HTTP request)"
    } else if family("login") || family("logout") {
        "sentinelone: login/logout event (not an HTTP request)"
    } else if family("scheduled_task") || family("task") {
        "sentinelone: scheduled task event (not an HTTP request)"
    } else if family("indicator") {
        "sentinelone: behavioral indicator event (not an HTTP request)"
    } else if family("command_script") || family("script") {
        "sentinelone: command script event (not an HTTP request)"
    } else if family("driver") || family("module") {
        "sentinelone: driver/module load event (not an HTTP request)"
    } else if family("group") || family("user") {
        "sentinelone: group/account event (not an HTTP request)"
    } else if family("cross_process") {
        "sentinelone: cross-process event (not an HTTP request)"
    } else {
        "sentinelone: event type other than URL/HTTP"
    })
}

impl Decoder for SentinelOneDecoder {
    fn decode(&mut self, unit: &[u8], line: u64, sink: &mut dyn RecordSink) {
        if unit.trim_ascii().is_empty() {
            return;
        }
        let mut ev = Event {
            slots: Default::default(),
        };
        let has_extra = match read_json(unit, &mut ev, &mut self.extra) {
            Ok(has) => has,
            Err(reason) => return sink.reject(line, &reason, unit),
        };
        let get = |s: u8| {
            ev.slots
                .get(usize::from(s))
                .and_then(Option::as_ref)
                .filter(|v| **v != JVal::Null)
        };
        let text = |s: u8| match get(s) {
            Some(JVal::Str(v)) if !v.trim().is_empty() => Some(v.as_ref()),
            _ => None,
        };
        let (ty, cat) = (text(S_TYPE), text(S_CATEGORY));
        if ty.is_none() && cat.is_none() {
            return sink.reject(
                line,
                "not a SentinelOne Deep Visibility event (no event.type or event.category)",
                unit,
            );
        }
        if let Some(reason) = skip_reason(cat, ty, text(S_META)) {
            return sink.skip(line, reason);
        }
        let bad = |name: &str, s: u8| {
            format!(
                "bad {name} {}",
                get(s).map_or_else(|| "null".to_string(), JVal::describe)
            )
        };
        let from_ms = |ms: u64| i64::try_from(ms).ok().and_then(|v| v.checked_mul(1_000));
        let time = match get(S_TIME) {
            Some(v) => match v.as_u64().and_then(from_ms) {
                Some(t) => Some(t),
                None => return sink.reject(line, &bad("event.time", S_TIME), unit),
            },
            None => text(S_TIMESTAMP).and_then(parse_rfc3339),
        };
        let Some(time) = time else {
            return sink.reject(
                line,
                &format!("missing event.time (timestamp {})", {
                    get(S_TIMESTAMP).map_or_else(|| "null".to_string(), JVal::describe)
                }),
                unit,
            );
        };
        let addr = |s: u8, name: &str| -> Result<Option<IpAddr>, String> {
            match text(s) {
                None => Ok(None),
                Some(v) => parse_ip(v).map(Some).ok_or_else(|| bad(name, s)),
            }
        };
        let (client_ip, server_ip) = match (
            addr(S_SRC_IP, "src.ip.address"),
            addr(S_DST_IP, "dst.ip.address"),
        ) {
            (Ok(c), Ok(s)) => (c, s),
            (Err(r), _) | (_, Err(r)) => return sink.reject(line, &r, unit),
        };
        let server_port = match get(S_DST_PORT) {
            None => None,
            Some(v) => match v.as_u64().and_then(|p| u16::try_from(p).ok()) {
                Some(p) => Some(p),
                None => return sink.reject(line, &bad("dst.port.number", S_DST_PORT), unit),
            },
        };
        let method = text(S_METHOD).or(ty.filter(|t| is_http_method(t)));
        let mut rec = HttpRecord {
            time,
            origin_line: line,
            client_ip,
            server_ip,
            server_port,
            user: text(S_USER).map(Cow::Borrowed),
            device: text(S_DEVICE).map(Cow::Borrowed),
            method: method.map(upper_method),
            extra: has_extra.then_some(Cow::Borrowed(self.extra.as_str())),
            ..HttpRecord::default()
        };
        if let Some(url) = text(S_URL) {
            fill_http_url(&mut rec, url);
        }
        add_host_unicode(&mut rec);
        sink.http(&rec);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_families() {
        assert_eq!(skip_reason(Some("url"), Some("GET"), None), None);
        assert_eq!(skip_reason(None, Some("POST"), None), None);
        assert_eq!(skip_reason(Some("x"), Some("y"), Some("HTTP")), None);
        assert_eq!(
            skip_reason(Some("dns"), Some("DNS Resolved"), None),
            Some("sentinelone: DNS event (not an HTTP request)")
        );
        assert!(
            skip_reason(None, Some("IPConnect"), None).is_some_and(|r| r.contains("IP Connect"))
        );
        assert!(skip_reason(Some("ip"), Some("IP Connect"), None)
            .is_some_and(|r| r.contains("IP Connect")));
        assert!(
            skip_reason(Some("scheduled_task"), Some("Task Start"), None)
                .is_some_and(|r| r.contains("scheduled task"))
        );
        assert_eq!(
            skip_reason(Some("weird"), None, None),
            Some("sentinelone: event type other than URL/HTTP")
        );
    }
}
