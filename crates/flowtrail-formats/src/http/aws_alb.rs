//! AWS Application Load Balancer access logs (and Classic Load Balancer access logs, the same
//! line without the leading type and the fields ALB added).
//!
//! ALB writes one line per request, space-separated, some fields quoted, into gzipped objects
//! under `AWSLogs/<account>/elasticloadbalancing/<region>/<yyyy>/<mm>/<dd>/`. Example from the
//! AWS documentation (shortened ARNs):
//!
//! ```text
//! https 2018-07-02T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 192.168.131.39:2817 10.0.0.1:80 0.086 0.048 0.037 200 200 0 57 "GET https://www.example.com:443/ HTTP/1.1" "curl/7.46.0" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 "Root=1-58337281-1d84f3d73c47ec4e58577259" "www.example.com" "arn:aws:acm:us-east-2:123456789012:certificate/12345678-1234-1234-1234-123456789012" 1 2018-07-02T22:22:48.364000Z "authenticate,forward" "-" "-" "10.0.0.1:80" "200" "-" "-" TID_1234abcd5678ef90
//! ```
//!
//! Fields, in order: `type time elb client:port target:port request_processing_time
//! target_processing_time response_processing_time elb_status_code target_status_code
//! received_bytes sent_bytes "request" "user_agent" ssl_cipher ssl_protocol target_group_arn
//! "trace_id" "domain_name" "chosen_cert_arn" matched_rule_priority request_creation_time
//! "actions_executed" "redirect_url" "error_reason" "target:port_list"
//! "target_status_code_list" "classification" "classification_reason" conn_trace_id
//! "transformed_host" "transformed_uri" "request_transform_status"`. Older lines stop earlier
//! (at least the request must be there); AWS appends new fields at the end, and values past the
//! known ones are kept in `extra` as `field_<n>` (1-based position).
//!
//! | field | column |
//! |---|---|
//! | `time` | `time`: when the load balancer generated the response (for WebSockets, when the connection closed) |
//! | `elb` | `device` |
//! | `client:port` | `client_ip`, `extra.client_port` |
//! | `target:port` | `server_ip`, `server_port` (the target that served the request; `None` for Lambda targets and requests that reached none) |
//! | the three processing times | `duration_ms` (their sum, when none is `-1`); each also in `extra` |
//! | `elb_status_code` | `status`; `target_status_code` → `extra` |
//! | `received_bytes` / `sent_bytes` | `bytes_out` / `bytes_in` |
//! | `"request"` (`METHOD scheme://host:port/uri HTTP/x`) | `method`, `url`, `scheme`, `host`, `domain`, `path`, `query` (the listener port stays in `url`); `- - -` → `extra.request` |
//! | `"user_agent"` | `user_agent` |
//! | `actions_executed` ending with `waf` | `action` `denied` (AWS WAF blocked the request); otherwise `action` stays `None` |
//! | everything else | `extra`, under the AWS field name (`-` values left out) |
//!
//! Classic Load Balancer lines (`time elb client:port backend:port request_processing_time
//! backend_processing_time response_processing_time elb_status_code backend_status_code
//! received_bytes sent_bytes "request" "user_agent" ssl_cipher ssl_protocol`) are read with the
//! same mapping.
//!
//! ## References
//!
//! * AWS, *Access logs for your Application Load Balancer* and *Access logs for your Classic
//!   Load Balancer* (Elastic Load Balancing user guides).

use std::borrow::Cow;
use std::fmt::Write as _;
use std::net::IpAddr;

use flowtrail_schema::{Action, HttpRecord, RecordSink};

use super::nginx::{
    clip, emit, is_json_number, is_placeholder, parse_ip, parse_secs_micros, parse_status,
    parse_u16, parse_u64, split_request, Item, Items, Obj,
};
use super::url::fill_http_url;
use crate::time::parse_rfc3339;
use crate::{Confidence, DecodeContext, Decoder, Format, RecordKind};

/// AWS ALB (and Classic ELB) access logs.
pub struct AwsAlb;

impl Format for AwsAlb {
    fn name(&self) -> &'static str {
        "aws_alb"
    }

    fn description(&self) -> &'static str {
        "AWS Application (and Classic) Load Balancer access logs"
    }

    fn record_kind(&self) -> RecordKind {
        RecordKind::Http
    }

    fn decoder(&self, _ctx: &DecodeContext) -> Box<dyn Decoder> {
        Box::new(AlbDecoder {
            extra: String::new(),
        })
    }

    fn sniff(&self, prefix: &[u8]) -> Confidence {
        sniff(prefix)
    }
}

const TYPES: [&str; 6] = ["http", "https", "h2", "grpcs", "ws", "wss"];

/// ALB lines (`https 2018-...Z app/...`) are certain; Classic lines likely.
fn sniff(prefix: &[u8]) -> Confidence {
    let text = String::from_utf8_lossy(prefix);
    let Some(line) = text.lines().find(|l| !l.trim().is_empty()) else {
        return Confidence::No;
    };
    let mut t = line.split_ascii_whitespace();
    let (Some(a), Some(b), Some(c), Some(d)) = (t.next(), t.next(), t.next(), t.next()) else {
        return Confidence::No;
    };
    if TYPES.contains(&a) && parse_rfc3339(b).is_some() && c.contains('/') && d.contains(':') {
        Confidence::Certain
    } else if a.ends_with('Z')
        && parse_rfc3339(a).is_some()
        && c.contains(':')
        && line.contains(" \"")
        && line.split_ascii_whitespace().count() >= 13
    {
        Confidence::Likely
    } else {
        Confidence::No
    }
}

/// What a position feeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum F {
    Type,
    Time,
    Elb,
    Client,
    Target,
    ReqTime,
    TargetTime,
    RespTime,
    ElbStatus,
    Request,
    UserAgent,
    Received,
    Sent,
    Actions,
    /// Kept in `extra` under this name.
    Extra(&'static str),
}

const ALB: [F; 33] = [
    F::Type,
    F::Time,
    F::Elb,
    F::Client,
    F::Target,
    F::ReqTime,
    F::TargetTime,
    F::RespTime,
    F::ElbStatus,
    F::Extra("target_status_code"),
    F::Received,
    F::Sent,
    F::Request,
    F::UserAgent,
    F::Extra("ssl_cipher"),
    F::Extra("ssl_protocol"),
    F::Extra("target_group_arn"),
    F::Extra("trace_id"),
    F::Extra("domain_name"),
    F::Extra("chosen_cert_arn"),
    F::Extra("matched_rule_priority"),
    F::Extra("request_creation_time"),
    F::Actions,
    F::Extra("redirect_url"),
    F::Extra("error_reason"),
    F::Extra("target_port_list"),
    F::Extra("target_status_code_list"),
    F::Extra("classification"),
    F::Extra("classification_reason"),
    F::Extra("conn_trace_id"),
    F::Extra("transformed_host"),
    F::Extra("transformed_uri"),
    F::Extra("request_transform_status"),
];

const CLASSIC: [F; 15] = [
    F::Time,
    F::Elb,
    F::Client,
    F::Target,
    F::ReqTime,
    F::TargetTime,
    F::RespTime,
    F::ElbStatus,
    F::Extra("backend_status_code"),
    F::Received,
    F::Sent,
    F::Request,
    F::UserAgent,
    F::Extra("ssl_cipher"),
    F::Extra("ssl_protocol"),
];

/// Decodes ALB/ELB access log lines.
pub struct AlbDecoder {
    extra: String,
}

impl Decoder for AlbDecoder {
    fn decode(&mut self, unit: &[u8], line: u64, sink: &mut dyn RecordSink) {
        let text = String::from_utf8_lossy(unit);
        let s = text.trim();
        if s.is_empty() {
            return;
        }
        if let Err(reason) = decode_line(&mut self.extra, s, line, sink) {
            sink.reject(line, &reason, unit);
        }
    }
}

/// `addr:port` (an IPv6 address optionally in brackets) → address and port.
fn addr_port(v: &str) -> Option<(IpAddr, u16)> {
    let (a, p) = v.rsplit_once(':')?;
    let a = a
        .strip_prefix('[')
        .and_then(|x| x.strip_suffix(']'))
        .unwrap_or(a);
    Some((parse_ip(a)?, parse_u16(p)?))
}

/// A processing time in µs; `-1` (no target reached, or the connection closed) is `None`.
fn proc_time(v: &str) -> Option<i64> {
    parse_secs_micros(v)
}

fn decode_line(
    extra: &mut String,
    s: &str,
    line: u64,
    sink: &mut dyn RecordSink,
) -> Result<(), String> {
    let bad = |field: &str, v: &str| format!("bad {field} {:?}", clip(v));
    let first = s.split_ascii_whitespace().next().unwrap_or("");
    let layout: &[F] = if TYPES.contains(&first) {
        &ALB
    } else if parse_rfc3339(first).is_some() {
        &CLASSIC
    } else {
        return Err(format!(
            "not an ALB line: starts with {:?}, not a type (http, https, h2, grpcs, ws, wss) or a time",
            clip(first)
        ));
    };
    let mut rec = HttpRecord {
        origin_line: line,
        ..HttpRecord::default()
    };
    let mut w = Obj::new(extra);
    let mut seen_time = false;
    let mut request = None;
    let mut target: Option<(IpAddr, u16)> = None;
    let mut times: [Option<Option<i64>>; 3] = [None; 3];
    let mut n = 0usize;
    for item in Items::new(s) {
        let v = match item? {
            Item::Quoted(v) | Item::Bare(v) => v,
        };
        let f = layout.get(n).copied();
        n += 1;
        let Some(f) = f else {
            if !is_placeholder(v) {
                w.str(&format!("field_{n}"), v);
            }
            continue;
        };
        match f {
            F::Type => w.str("type", v),
            F::Time => {
                rec.time = parse_rfc3339(v).ok_or_else(|| bad("time", v))?;
                seen_time = true;
            }
            F::Elb => rec.device = Some(Cow::Borrowed(v)),
            F::Client => {
                if !is_placeholder(v) {
                    let (ip, port) = addr_port(v).ok_or_else(|| bad("client:port", v))?;
                    rec.client_ip = Some(ip);
                    let _ = write!(w.key("client_port"), "{port}");
                }
            }
            F::Target => {
                if !is_placeholder(v) {
                    target = Some(addr_port(v).ok_or_else(|| bad("target:port", v))?);
                }
            }
            F::ReqTime | F::TargetTime | F::RespTime => {
                let (i, name) = match f {
                    F::ReqTime => (0, "request_processing_time"),
                    F::TargetTime => (1, "target_processing_time"),
                    _ => (2, "response_processing_time"),
                };
                if let Some(slot) = times.get_mut(i) {
                    *slot = Some(proc_time(v));
                }
                if is_json_number(v) {
                    w.raw(name, v);
                } else if !is_placeholder(v) {
                    w.str(name, v);
                }
            }
            F::ElbStatus => {
                if !is_placeholder(v) {
                    rec.status = Some(parse_status(v).ok_or_else(|| bad("elb_status_code", v))?);
                }
            }
            F::Received | F::Sent => {
                let n = parse_u64(v).ok_or_else(|| {
                    bad(
                        if f == F::Received {
                            "received_bytes"
                        } else {
                            "sent_bytes"
                        },
                        v,
                    )
                })?;
                if f == F::Received {
                    rec.bytes_out = Some(n);
                } else {
                    rec.bytes_in = Some(n);
                }
            }
            F::Request => request = Some(v),
            F::UserAgent => {
                if !is_placeholder(v) {
                    rec.user_agent = Some(Cow::Borrowed(v));
                }
            }
            F::Actions => {
                if !is_placeholder(v) {
                    if v.rsplit(',').next() == Some("waf") {
                        rec.action = Some(Action::Denied);
                    }
                    w.str("actions_executed", v);
                }
            }
            F::Extra(name) => {
                if !is_placeholder(v) {
                    if matches!(
                        name,
                        "target_status_code" | "backend_status_code" | "matched_rule_priority"
                    ) && parse_u64(v).is_some()
                    {
                        w.raw(name, v);
                    } else {
                        w.str(name, v);
                    }
                }
            }
        }
    }
    let needed = layout
        .iter()
        .position(|f| *f == F::Request)
        .map_or(0, |p| p + 1);
    if n < needed || !seen_time {
        return Err(format!(
            "{n} fields, an access log line has at least {needed}"
        ));
    }
    match request.and_then(split_request) {
        Some(r) => {
            rec.method = Some(Cow::Borrowed(r.method));
            fill_http_url(&mut rec, r.target);
            if let Some(v) = r.version {
                w.str("http_version", v.strip_prefix("HTTP/").unwrap_or(v));
            }
        }
        None => {
            if let Some(r) = request.filter(|r| !is_placeholder(r)) {
                w.str("request", r);
            }
        }
    }
    // The server is the target; the listener port stays in `url`.
    rec.server_ip = target.map(|t| t.0);
    rec.server_port = target.map(|t| t.1);
    if let [Some(Some(a)), Some(Some(b)), Some(Some(c))] = times {
        rec.duration_ms = u64::try_from((a + b + c) / 1000).ok();
    }
    let has_extra = w.finish();
    emit(rec, has_extra.then_some(extra.as_str()), sink);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_with_ports() {
        assert_eq!(
            addr_port("192.168.131.39:2817"),
            Some(("192.168.131.39".parse().expect("ip"), 2817))
        );
        assert_eq!(
            addr_port("[2001:db8::1]:443"),
            Some(("2001:db8::1".parse().expect("ip"), 443))
        );
        assert_eq!(
            addr_port("2001:db8::1:443"),
            Some(("2001:db8::1".parse().expect("ip"), 443))
        );
        assert_eq!(addr_port("-"), None);
        assert_eq!(proc_time("-1"), None);
        assert_eq!(proc_time("0.086"), Some(86_000));
    }
}
