//! Azure NSG flow logs (versions 1 and 2) and Azure VNet flow logs.
//!
//! Network Watcher writes both as JSON blobs, one per resource, hour and NIC
//! (`.../y=2024/m=03/d=18/h=13/m=00/macAddress=000D3AF87856/PT1H.json`), holding
//! `{"records":[...]}` with one record per minute. Each record nests its flow tuples:
//! NSG `properties.flows[]` (one per rule) → `.flows[]` (one per NIC MAC) → `.flowTuples[]`;
//! VNet `flowRecords.flows[]` (one per ACL) → `.flowGroups[]` (one per rule) → `.flowTuples[]`.
//! A tuple is one comma-separated string; **each tuple becomes one row**.
//!
//! # Input shapes
//!
//! The decoder takes the whole input at once ([`Framing::Document`]; the pipeline caps its size)
//! and accepts:
//!
//! * a `PT1H.json` document `{"records":[...]}` (pretty-printed or not; nested `records` are
//!   followed too, as in one malformed Microsoft doc example);
//! * a JSON array of records;
//! * NDJSON, each line either a document or one bare record (Elastic's test corpus and Event
//!   Hub exports carry one record per line). NDJSON is recognised when the whole input is not
//!   one JSON value but one of its first two non-blank lines is; then each line stands alone and
//!   a bad line costs one rejection;
//! * collector-flattened records with one tuple per object (`rule`, `aclID`, `macAddress` and
//!   `flow.0` at record level, as Sekoia's collector writes them).
//!
//! Invalid JSON (for example a `PT1H.json` copied mid-hour, before its closing `]}`) is one
//! rejection whose reason carries serde's line and column; nothing of that document is stored.
//!
//! # Row numbering
//!
//! `origin_line` is the **1-based ordinal of the flow tuple within the input**, counting tuples
//! in document order across all records (and NDJSON lines). Every report takes the next ordinal:
//! a rejected tuple keeps its place, and a rejected document, NDJSON line, record (one with no
//! tuple container, or of the other Azure format) or rule/ACL entry without tuples takes one
//! ordinal of its own. So rows and rejections of one input never share an `origin_line`.
//!
//! # Counters: B/C/E states are deltas
//!
//! NSG v2 and VNet tuples carry a flow state: `B` (begin, the flow was created), `C`
//! (continuing, emitted every five minutes for a live flow) and `E` (end); VNet adds `D` (denied).
//! The counters of `C` and `E` tuples count only what passed **since the previous tuple of the
//! same flow**; `B` tuples carry none (empty fields in NSG, `0,0,0,0` or empty in VNet). Each
//! tuple is stored as its own row with its own delta counters, unchanged: an empty counter is
//! `None`, a written `0` is `Some(0)`. Hence, for one flow (5-tuple + NIC),
//! `SUM(bytes_out) + SUM(bytes_in)` over its rows is the flow's total bytes, and likewise for
//! packets; never take `MAX` or the last row. Microsoft's bandwidth examples (9125 packets and
//! 5 256 000 bytes for a B/C/E triple) are checked in `tests/azure.rs`.
//!
//! ## Sample
//!
//! ```text
//! {"records":[{"time":"2018-11-13T12:00:35.3899262Z","category":"NetworkSecurityGroupFlowEvent",
//!  "resourceId":"/SUBSCRIPTIONS/<SUB>/RESOURCEGROUPS/FABRIKAMRG/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/FABRIAKMVM1-NSG",
//!  "properties":{"Version":2,"flows":[{"rule":"DefaultRule_AllowInternetOutBound",
//!  "flows":[{"mac":"000D3AF87856","flowTuples":["1542110379,10.5.16.4,203.0.113.117,59932,443,T,O,A,E,1,66,1,66"]}]}]}}]}
//! ```
//!
//! VNet tuple: `1663146003606,10.0.0.6,52.239.184.180,23956,443,6,O,E,NX,3,767,2,1580`.
//!
//! ## Field mapping
//!
//! | column | NSG (`azure_nsg`) | VNet (`azure_vnet`) |
//! |---|---|---|
//! | `time` | tuple field 1, epoch seconds | tuple field 1, epoch milliseconds (seconds when < 10^11) |
//! | `src_ip`, `dst_ip`, `src_port`, `dst_port` | fields 2–5 (flow initiator, responder) | same |
//! | `protocol` | field 6: `T` → 6, `U` → 17, or a number | field 6, IANA number (letters accepted) |
//! | `direction` | field 7: `I` inbound, `O` outbound (relative to the NIC) | same |
//! | `action` | field 8: `A` allowed, `D` denied | `denied` when the state is `D`, else `allowed` |
//! | `flow_state` | field 9 (v2): `B`/`C`/`E`; `None` in v1 | field 8: `B`/`C`/`E`/`D` |
//! | `packets_out`, `bytes_out` | fields 10, 11 (src→dst delta) | fields 10, 11 |
//! | `packets_in`, `bytes_in` | fields 12, 13 (dst→src delta) | fields 12, 13 |
//! | `rule` | `properties.flows[].rule` | `flowGroups[].rule` |
//! | `mac` | `flows[].flows[].mac`, else record `macAddress`, else the blob path | record `macAddress`, else the blob path |
//! | `device` | NSG name (`resourceId`, else the blob path) | flow-log name (`flowLogResourceID` `.../FLOWLOGS/<name>`) |
//! | `account` | subscription id from `resourceId` (else the blob path), lower-cased | subscription id from `flowLogResourceID` (else `targetResourceID`, else the path), lower-cased |
//! | `region` | **resource group** of the NSG (NSG logs name no region) | region of the network watcher (`NETWORKWATCHER_<REGION>`), lower-cased; else the target's resource group |
//! | `vpc` | — | `targetResourceID` (the VNet, subnet or NIC the flow log is enabled on) |
//! | `extra` | — | `{"encryption":"NX","acl_id":"<flowRecords.flows[].aclID>"}` |
//!
//! MAC addresses are stored upper-case without separators (`0022487bC205` → `0022487BC205`).
//! The record's own `time` (when it was written) is not stored; rows carry the tuple time.
//!
//! ## Caveats
//!
//! * NSG tuples are parsed by field count: 8 fields → version 1 (no state, no counters),
//!   13 → version 2, whatever `properties.Version` says.
//! * Microsoft's VNet bandwidth example uses 10-digit seconds (and a `B` tuple later than its
//!   `C`/`E` tuples); tuple times below 10^11 are therefore read as seconds, above as
//!   milliseconds (10^11 s is the year 5138, 10^11 ms is 1973).
//! * A record of the other Azure format (VNet in an `azure_nsg` input or the reverse) is
//!   rejected with a reason naming the right format.
//! * Allowed inbound TCP flows on non-default rules may lack counters (documented by Microsoft),
//!   and the same flow can appear in two blobs when NSGs sit on both subnet and NIC.
//! * The blob path is only a fallback: the record body wins for every field.
//!
//! ## References
//!
//! * Microsoft Learn, *Flow logging for network security groups*:
//!   <https://learn.microsoft.com/azure/network-watcher/nsg-flow-logs-overview>
//! * Microsoft Learn, *Virtual network flow logs*:
//!   <https://learn.microsoft.com/azure/network-watcher/vnet-flow-logs-overview>
//! * flowtrail's format research notes (`docs/formats.md` of the shared docs), section 2.

mod json;
mod tuple;

use std::borrow::Cow;

use flowtrail_schema::{FlowRecord, RecordSink};

use crate::{Confidence, DecodeContext, Decoder, Format, Framing};
use json::{text, Json, Record, Top};

/// Azure NSG flow logs, versions 1 and 2 (`PT1H.json`, NDJSON or arrays of records).
pub struct AzureNsg;

/// Azure VNet flow logs (`flowLogVersion` 4; the successor of NSG flow logs).
pub struct AzureVnet;

impl Format for AzureNsg {
    fn name(&self) -> &'static str {
        "azure_nsg"
    }
    fn description(&self) -> &'static str {
        "Azure NSG flow logs v1/v2 (PT1H.json, one row per flow tuple)"
    }
    fn framing(&self) -> Framing {
        Framing::Document
    }
    fn decoder(&self, ctx: &DecodeContext) -> Box<dyn Decoder> {
        Box::new(AzureDecoder::new(Kind::Nsg, ctx))
    }
    fn sniff(&self, prefix: &[u8]) -> Confidence {
        sniff(prefix, Kind::Nsg)
    }
}

impl Format for AzureVnet {
    fn name(&self) -> &'static str {
        "azure_vnet"
    }
    fn description(&self) -> &'static str {
        "Azure VNet flow logs (PT1H.json, one row per flow tuple)"
    }
    fn framing(&self) -> Framing {
        Framing::Document
    }
    fn decoder(&self, ctx: &DecodeContext) -> Box<dyn Decoder> {
        Box::new(AzureDecoder::new(Kind::Vnet, ctx))
    }
    fn sniff(&self, prefix: &[u8]) -> Confidence {
        sniff(prefix, Kind::Vnet)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Nsg,
    Vnet,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::Nsg => "NSG flow log",
            Kind::Vnet => "VNet flow log",
        }
    }
    fn format_name(self) -> &'static str {
        match self {
            Kind::Nsg => "azure_nsg",
            Kind::Vnet => "azure_vnet",
        }
    }
}

/// Returns `Certain` for JSON whose prefix names the format's category or structure.
fn sniff(prefix: &[u8], kind: Kind) -> Confidence {
    let body = skip_bom_and_space(prefix);
    if !matches!(body.first(), Some(b'{' | b'[')) {
        return Confidence::No;
    }
    let has = |needle: &[u8]| memchr::memmem::find(body, needle).is_some();
    let yes = match kind {
        // "NetworkSecurityGroupFlowEvent" is the category ("...Events" the operation name).
        Kind::Nsg => {
            has(b"NetworkSecurityGroupFlowEvent")
                || (has(b"\"properties\"") && has(b"\"flowTuples\""))
        }
        Kind::Vnet => has(b"\"flowRecords\"") || has(b"FlowLogFlowEvent"),
    };
    if yes {
        Confidence::Certain
    } else {
        Confidence::No
    }
}

fn skip_bom_and_space(b: &[u8]) -> &[u8] {
    let b = b.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(b);
    let start = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    b.get(start..).unwrap_or_default()
}

/// What the blob path (`DecodeContext::origin`) says, used when a record lacks a field.
#[derive(Debug, Default, Clone, PartialEq)]
struct PathMeta {
    subscription: Option<String>,
    resource_group: Option<String>,
    nsg: Option<String>,
    flow_log: Option<String>,
    region: Option<String>,
    mac: Option<String>,
}

impl PathMeta {
    /// Reads `resourceId=/SUBSCRIPTIONS/<sub>/RESOURCEGROUPS/<rg>/.../NETWORKSECURITYGROUPS/<nsg>/
    /// y=../m=../d=../h=../m=00/macAddress=<MAC>/PT1H.json` and the two VNet layouts
    /// (`flowLogResourceID=/SUBSCRIPTIONS/.../FLOWLOGS/<name>/...` and
    /// `flowLogResourceID=/<SUB>_NETWORKWATCHERRG/NETWORKWATCHER_<REGION>_<NAME>-<RG>-FLOWLOGS/...`).
    fn from_origin(origin: &str) -> PathMeta {
        let ids = ResourceIds::parse(origin);
        let mut subscription = ids.subscription;
        let mut region = ids.network_watcher.and_then(watcher_region);
        // The second VNet layout: `<SUB>_NETWORKWATCHERRG/NETWORKWATCHER_<REGION>_...`.
        let mut prev = "";
        for seg in origin.split('/') {
            if subscription.is_none() {
                if let Some(sub) = strip_suffix_ignore_case(seg, "_NETWORKWATCHERRG") {
                    subscription = Some(sub).filter(|s| !s.is_empty());
                }
            }
            if region.is_none() && strip_suffix_ignore_case(prev, "_NETWORKWATCHERRG").is_some() {
                region = watcher_region(seg);
            }
            prev = seg;
        }
        PathMeta {
            subscription: subscription.map(|s| s.to_ascii_lowercase()),
            resource_group: ids.resource_group.map(str::to_owned),
            nsg: ids.nsg.map(str::to_owned),
            flow_log: ids.flow_log.map(str::to_owned),
            region: region.map(|r| r.to_ascii_lowercase()),
            mac: ids.mac.map(|m| normalize_mac(m).into_owned()),
        }
    }
}

/// The parts of an Azure resource id (or blob path) that flowtrail stores.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
struct ResourceIds<'a> {
    subscription: Option<&'a str>,
    resource_group: Option<&'a str>,
    nsg: Option<&'a str>,
    network_watcher: Option<&'a str>,
    flow_log: Option<&'a str>,
    mac: Option<&'a str>,
}

impl<'a> ResourceIds<'a> {
    /// Reads `/SUBSCRIPTIONS/<sub>/RESOURCEGROUPS/<rg>/PROVIDERS/...`; keys in any case.
    fn parse(s: &'a str) -> ResourceIds<'a> {
        let mut ids = ResourceIds::default();
        let mut prev = "";
        for seg in s.split('/') {
            if !seg.is_empty() {
                let slot = if prev.eq_ignore_ascii_case("subscriptions") {
                    Some(&mut ids.subscription)
                } else if prev.eq_ignore_ascii_case("resourcegroups") {
                    Some(&mut ids.resource_group)
                } else if prev.eq_ignore_ascii_case("networksecuritygroups") {
                    Some(&mut ids.nsg)
                } else if prev.eq_ignore_ascii_case("networkwatchers") {
                    Some(&mut ids.network_watcher)
                } else if prev.eq_ignore_ascii_case("flowlogs") {
                    Some(&mut ids.flow_log)
                } else {
                    None
                };
                if let Some(slot) = slot {
                    slot.get_or_insert(seg);
                }
                if let Some(mac) = strip_prefix_ignore_case(seg, "macAddress=") {
                    ids.mac = Some(mac).filter(|m| !m.is_empty());
                }
            }
            prev = seg;
        }
        ids
    }
}

/// Returns the region of a default-named network watcher (`NetworkWatcher_<region>[_...]`).
fn watcher_region(name: &str) -> Option<&str> {
    let rest = strip_prefix_ignore_case(name, "NetworkWatcher_")?;
    rest.split('_').next().filter(|r| !r.is_empty())
}

fn strip_prefix_ignore_case<'s>(s: &'s str, prefix: &str) -> Option<&'s str> {
    let head = s.get(..prefix.len())?;
    if head.eq_ignore_ascii_case(prefix) {
        s.get(prefix.len()..)
    } else {
        None
    }
}

fn strip_suffix_ignore_case<'s>(s: &'s str, suffix: &str) -> Option<&'s str> {
    let cut = s.len().checked_sub(suffix.len())?;
    let tail = s.get(cut..)?;
    if tail.eq_ignore_ascii_case(suffix) {
        s.get(..cut)
    } else {
        None
    }
}

/// Returns the MAC upper-case without separators, borrowing when it already is.
fn normalize_mac(mac: &str) -> Cow<'_, str> {
    if mac
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b))
    {
        Cow::Borrowed(mac)
    } else {
        Cow::Owned(
            mac.chars()
                .filter(|c| !matches!(c, '-' | ':' | '.'))
                .map(|c| c.to_ascii_uppercase())
                .collect(),
        )
    }
}

/// Returns `s` in ASCII lower case, borrowing when it already is.
fn lower(s: &str) -> Cow<'_, str> {
    if s.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(s.to_ascii_lowercase())
    } else {
        Cow::Borrowed(s)
    }
}

/// Decodes one input of either Azure format; `kind` is the format the caller asked for.
struct AzureDecoder {
    kind: Kind,
    path: PathMeta,
    out: Output,
}

/// The mutable half of the decoder, kept apart so rows can borrow [`PathMeta`] while it changes.
struct Output {
    /// The ordinal the next report (row or rejection) takes.
    next_line: u64,
    /// Reused buffer for the VNet `extra` object (no allocation per row).
    extra: String,
}

impl Output {
    fn take_line(&mut self) -> u64 {
        let line = self.next_line;
        self.next_line = self.next_line.saturating_add(1);
        line
    }

    fn reject(&mut self, sink: &mut dyn RecordSink, reason: &str, raw: &[u8]) {
        let line = self.take_line();
        sink.reject(line, reason, raw);
    }
}

/// Record-level identity shared by the rows of one record (or one NSG NIC / VNet group).
#[derive(Clone, Copy)]
struct RowMeta<'m> {
    device: Option<&'m str>,
    account: Option<&'m str>,
    region: Option<&'m str>,
    vpc: Option<&'m str>,
    mac: Option<&'m str>,
    rule: Option<&'m str>,
    acl_id: Option<&'m str>,
}

impl AzureDecoder {
    fn new(kind: Kind, ctx: &DecodeContext) -> AzureDecoder {
        AzureDecoder {
            kind,
            path: PathMeta::from_origin(&ctx.origin),
            out: Output {
                next_line: 1,
                extra: String::new(),
            },
        }
    }

    /// Decodes one NDJSON line (`n` is its 1-based line number in the input).
    fn decode_line(&mut self, value: &[u8], n: usize, sink: &mut dyn RecordSink) {
        match serde_json::from_slice::<Top<'_>>(value) {
            Ok(top) => self.emit_top(&top, value, sink),
            Err(err) => {
                // serde counts lines within this line only; report the input's line instead.
                let msg = err.to_string();
                let msg = msg
                    .rfind(" at line ")
                    .and_then(|i| msg.get(..i))
                    .unwrap_or(&msg);
                let reason = format!("invalid JSON: {msg} at line {n} column {}", err.column());
                self.out.reject(sink, &reason, value);
            }
        }
    }

    fn emit_top(&mut self, top: &Top<'_>, raw: &[u8], sink: &mut dyn RecordSink) {
        match top {
            Top::Object(rec) => self.emit_record(rec, Some(raw), sink),
            Top::Array(records) => {
                for rec in records {
                    self.emit_record(rec, None, sink);
                }
            }
            Top::Other(ty) => {
                let reason =
                    format!("expected a JSON object or array of flow log records, found a {ty}");
                self.out.reject(sink, &reason, raw);
            }
        }
    }

    /// Emits the tuples of one record; `raw` is the record's text when it is a whole input unit.
    fn emit_record(&mut self, rec: &Record<'_>, raw: Option<&[u8]>, sink: &mut dyn RecordSink) {
        if !rec.is_object {
            self.out.reject(
                sink,
                "flow log record is not a JSON object",
                raw.unwrap_or_default(),
            );
            return;
        }
        if let Some(children) = &rec.records {
            for child in children {
                self.emit_record(child, None, sink);
            }
            return;
        }
        let kind = record_kind(rec).unwrap_or(self.kind);
        if kind != self.kind {
            let reason = format!(
                "{} record in a {} input (decode it with format `{}`)",
                kind.label(),
                self.kind.label(),
                kind.format_name()
            );
            self.out.reject(sink, &reason, &raw_or_ident(raw, rec));
            return;
        }
        match kind {
            Kind::Nsg => emit_nsg(&self.path, &mut self.out, rec, raw, sink),
            Kind::Vnet => emit_vnet(&self.path, &mut self.out, rec, raw, sink),
        }
    }
}

impl Decoder for AzureDecoder {
    fn decode(&mut self, unit: &[u8], _line: u64, sink: &mut dyn RecordSink) {
        // serde_json skips whitespace itself (keeping its line and column numbers true to the
        // input) but not a UTF-8 byte order mark.
        let body = unit.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(unit);
        if skip_bom_and_space(body).is_empty() {
            return;
        }
        // The common case, a whole document (or a single record or array), parses in one go.
        // Anything else is either NDJSON or broken, and only then are lines looked at.
        match serde_json::from_slice::<Top<'_>>(body) {
            Ok(top) => self.emit_top(&top, body, sink),
            Err(_) if looks_like_ndjson(body) => {
                for (i, line) in body.split(|b| *b == b'\n').enumerate() {
                    if !skip_bom_and_space(line).is_empty() {
                        self.decode_line(line, i + 1, sink);
                    }
                }
            }
            Err(err) => self.out.reject(sink, &format!("invalid JSON: {err}"), unit),
        }
    }
}

/// Returns true when the input has several non-blank lines and one of the first two is a JSON
/// value on its own (a pretty-printed document never has a complete value on its first lines;
/// checking two keeps an NDJSON file whose first line is damaged).
fn looks_like_ndjson(body: &[u8]) -> bool {
    let mut lines = body
        .split(|b| *b == b'\n')
        .filter(|l| !skip_bom_and_space(l).is_empty());
    let (Some(first), Some(second)) = (lines.next(), lines.next()) else {
        return false;
    };
    let alone = |l: &[u8]| serde_json::from_slice::<serde::de::IgnoredAny>(l).is_ok();
    alone(first) || alone(second)
}

/// Returns which Azure format a record's own markers say it is, if any.
fn record_kind(rec: &Record<'_>) -> Option<Kind> {
    let named = |want: &str| {
        [&rec.category, &rec.operation_name]
            .iter()
            .any(|v| text(v).is_some_and(|s| s.starts_with(want)))
    };
    let vnet = rec.has_flow_records
        || rec.has_flow_log_version
        || rec.flow_log_resource_id.is_some()
        || named("FlowLogFlowEvent");
    let nsg = rec.has_properties || named("NetworkSecurityGroupFlowEvent");
    match (nsg, vnet) {
        (true, false) => Some(Kind::Nsg),
        (false, true) => Some(Kind::Vnet),
        _ => None,
    }
}

/// Returns the record's own text when known, else a small JSON object identifying it.
fn raw_or_ident<'r>(raw: Option<&'r [u8]>, rec: &Record<'_>) -> Cow<'r, [u8]> {
    if let Some(raw) = raw {
        return Cow::Borrowed(raw);
    }
    let mut out = String::from("{");
    let fields = [
        ("category", &rec.category),
        ("resourceId", &rec.resource_id),
        ("flowLogResourceID", &rec.flow_log_resource_id),
        ("macAddress", &rec.mac_address),
    ];
    for (name, value) in fields {
        if let Some(v) = text(value) {
            if out.len() > 1 {
                out.push(',');
            }
            crate::util::push_json_str_u(&mut out, name);
            out.push(':');
            crate::util::push_json_str_u(&mut out, v);
        }
    }
    out.push('}');
    Cow::Owned(out.into_bytes())
}

/// Emits the tuples of an NSG record: `properties.flows[].flows[].flowTuples[]`, plus any
/// collector-flattened `flow.<n>` tuples.
fn emit_nsg(
    path: &PathMeta,
    out: &mut Output,
    rec: &Record<'_>,
    raw: Option<&[u8]>,
    sink: &mut dyn RecordSink,
) {
    let ids = text(&rec.resource_id)
        .map(ResourceIds::parse)
        .unwrap_or_default();
    let account = ids.subscription.map(lower);
    let record_mac = text(&rec.mac_address).map(normalize_mac);
    let meta = RowMeta {
        device: ids.nsg.or(path.nsg.as_deref()),
        account: account.as_deref().or(path.subscription.as_deref()),
        region: ids.resource_group.or(path.resource_group.as_deref()),
        vpc: None,
        mac: record_mac.as_deref().or(path.mac.as_deref()),
        rule: text(&rec.rule),
        acl_id: None,
    };
    if !rec.has_properties && rec.flat_tuples.is_empty() {
        out.reject(
            sink,
            "NSG flow log record has no `properties.flows`",
            &raw_or_ident(raw, rec),
        );
        return;
    }
    for t in &rec.flat_tuples {
        emit_tuple(Kind::Nsg, out, t, &meta, sink);
    }
    if !rec.has_properties {
        return;
    }
    let Some(rules) = &rec.nsg_rules else {
        out.reject(
            sink,
            "NSG flow log record has no `properties.flows` array",
            &raw_or_ident(raw, rec),
        );
        return;
    };
    for rule in rules {
        let rule_name = text(&rule.rule);
        let nics = match &rule.nics {
            Some(nics) if rule.is_object => nics,
            _ => {
                let reason = format!(
                    "`properties.flows[]` entry (rule {:?}) has no `flows` array",
                    tuple::clip(rule_name.unwrap_or(""))
                );
                out.reject(sink, &reason, &raw_or_ident(raw, rec));
                continue;
            }
        };
        for nic in nics {
            let nic_mac = text(&nic.mac).map(normalize_mac);
            let nic_meta = RowMeta {
                rule: rule_name,
                mac: nic_mac.as_deref().or(meta.mac),
                ..meta
            };
            let tuples = match &nic.tuples {
                Some(tuples) if nic.is_object => tuples,
                _ => {
                    let reason = format!(
                        "`properties.flows[].flows[]` entry (rule {:?}) has no `flowTuples` array",
                        tuple::clip(rule_name.unwrap_or(""))
                    );
                    out.reject(sink, &reason, &raw_or_ident(raw, rec));
                    continue;
                }
            };
            for t in tuples {
                emit_tuple(Kind::Nsg, out, t, &nic_meta, sink);
            }
        }
    }
}

/// Emits the tuples of a VNet record: `flowRecords.flows[].flowGroups[].flowTuples[]`, plus any
/// collector-flattened `flow.<n>` tuples.
fn emit_vnet(
    path: &PathMeta,
    out: &mut Output,
    rec: &Record<'_>,
    raw: Option<&[u8]>,
    sink: &mut dyn RecordSink,
) {
    let flow_log = text(&rec.flow_log_resource_id)
        .map(ResourceIds::parse)
        .unwrap_or_default();
    let target_text = text(&rec.target_resource_id);
    let target = target_text.map(ResourceIds::parse).unwrap_or_default();
    let account = flow_log.subscription.or(target.subscription).map(lower);
    let region = flow_log.network_watcher.and_then(watcher_region).map(lower);
    let record_mac = text(&rec.mac_address).map(normalize_mac);
    let meta = RowMeta {
        device: flow_log.flow_log.or(path.flow_log.as_deref()),
        account: account.as_deref().or(path.subscription.as_deref()),
        region: region
            .as_deref()
            .or(path.region.as_deref())
            .or(target.resource_group)
            .or(path.resource_group.as_deref()),
        vpc: target_text,
        mac: record_mac.as_deref().or(path.mac.as_deref()),
        rule: text(&rec.rule),
        acl_id: text(&rec.acl_id),
    };
    if !rec.has_flow_records && rec.flat_tuples.is_empty() {
        out.reject(
            sink,
            "VNet flow log record has no `flowRecords.flows`",
            &raw_or_ident(raw, rec),
        );
        return;
    }
    for t in &rec.flat_tuples {
        emit_tuple(Kind::Vnet, out, t, &meta, sink);
    }
    if !rec.has_flow_records {
        return;
    }
    let Some(acls) = &rec.vnet_acls else {
        out.reject(
            sink,
            "VNet flow log record has no `flowRecords.flows` array",
            &raw_or_ident(raw, rec),
        );
        return;
    };
    for acl in acls {
        let acl_id = text(&acl.acl_id);
        let groups = match &acl.groups {
            Some(groups) if acl.is_object => groups,
            _ => {
                let reason = format!(
                    "`flowRecords.flows[]` entry (aclID {:?}) has no `flowGroups` array",
                    tuple::clip(acl_id.unwrap_or(""))
                );
                out.reject(sink, &reason, &raw_or_ident(raw, rec));
                continue;
            }
        };
        for group in groups {
            let rule = text(&group.rule);
            let tuples = match &group.tuples {
                Some(tuples) if group.is_object => tuples,
                _ => {
                    let reason = format!(
                        "`flowGroups[]` entry (rule {:?}) has no `flowTuples` array",
                        tuple::clip(rule.unwrap_or(""))
                    );
                    out.reject(sink, &reason, &raw_or_ident(raw, rec));
                    continue;
                }
            };
            let group_meta = RowMeta {
                rule,
                acl_id,
                ..meta
            };
            for t in tuples {
                emit_tuple(Kind::Vnet, out, t, &group_meta, sink);
            }
        }
    }
}

/// Parses one tuple and reports it as a row or a rejection.
fn emit_tuple(
    kind: Kind,
    out: &mut Output,
    t: &Json<'_>,
    meta: &RowMeta<'_>,
    sink: &mut dyn RecordSink,
) {
    let line = out.take_line();
    let text = match t {
        Json::Str(s) => s.as_ref(),
        Json::Other(ty) => {
            sink.reject(
                line,
                &format!("bad flow tuple: a JSON {ty}, not a string"),
                ty.as_bytes(),
            );
            return;
        }
    };
    let parsed = match kind {
        Kind::Nsg => tuple::parse_nsg(text),
        Kind::Vnet => tuple::parse_vnet(text),
    };
    let tp = match parsed {
        Ok(tp) => tp,
        Err(reason) => {
            sink.reject(line, &reason, text.as_bytes());
            return;
        }
    };
    let has_extra = kind == Kind::Vnet && (tp.encryption.is_some() || meta.acl_id.is_some());
    if has_extra {
        let buf = &mut out.extra;
        buf.clear();
        buf.push('{');
        if let Some(e) = tp.encryption {
            buf.push_str("\"encryption\":");
            crate::util::push_json_str_u(buf, e);
        }
        if let Some(acl) = meta.acl_id {
            if tp.encryption.is_some() {
                buf.push(',');
            }
            buf.push_str("\"acl_id\":");
            crate::util::push_json_str_u(buf, acl);
        }
        buf.push('}');
    }
    let row = FlowRecord {
        time: tp.time,
        end_time: None,
        origin_line: line,
        src_ip: Some(tp.src_ip),
        src_port: tp.src_port,
        dst_ip: Some(tp.dst_ip),
        dst_port: tp.dst_port,
        protocol: Some(tp.protocol),
        bytes_out: tp.bytes_out,
        bytes_in: tp.bytes_in,
        packets_out: tp.packets_out,
        packets_in: tp.packets_in,
        action: Some(tp.action),
        direction: Some(tp.direction),
        flow_state: tp.state.map(Cow::Borrowed),
        rule: meta.rule.map(Cow::Borrowed),
        device: meta.device.map(Cow::Borrowed),
        account: meta.account.map(Cow::Borrowed),
        region: meta.region.map(Cow::Borrowed),
        vpc: meta.vpc.map(Cow::Borrowed),
        mac: meta.mac.map(Cow::Borrowed),
        extra: has_extra.then_some(Cow::Borrowed(out.extra.as_str())),
        ..FlowRecord::default()
    };
    sink.flow(&row);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_ids_any_case() {
        let ids = ResourceIds::parse(
            "/SUBSCRIPTIONS/AAAA-BB/RESOURCEGROUPS/FABRIKAMRG/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/VM1-NSG",
        );
        assert_eq!(ids.subscription, Some("AAAA-BB"));
        assert_eq!(ids.resource_group, Some("FABRIKAMRG"));
        assert_eq!(ids.nsg, Some("VM1-NSG"));
        let ids = ResourceIds::parse(
            "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v",
        );
        assert_eq!(
            (ids.subscription, ids.resource_group),
            (Some("x"), Some("rg"))
        );
    }

    #[test]
    fn nsg_blob_path() {
        let p = PathMeta::from_origin(
            "https://acct.blob.core.windows.net/insights-logs-networksecuritygroupflowevent/resourceId=/SUBSCRIPTIONS/ABC-DEF/RESOURCEGROUPS/RG1/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/NSG1/y=2024/m=03/d=18/h=13/m=00/macAddress=00-0d-3a-f8-78-56/PT1H.json",
        );
        assert_eq!(p.subscription.as_deref(), Some("abc-def"));
        assert_eq!(p.resource_group.as_deref(), Some("RG1"));
        assert_eq!(p.nsg.as_deref(), Some("NSG1"));
        assert_eq!(p.mac.as_deref(), Some("000D3AF87856"));
    }

    #[test]
    fn vnet_blob_paths() {
        let p = PathMeta::from_origin(
            "flowLogResourceID=/SUBSCRIPTIONS/S1/RESOURCEGROUPS/NETWORKWATCHERRG/PROVIDERS/MICROSOFT.NETWORK/NETWORKWATCHERS/NETWORKWATCHER_EASTUS/FLOWLOGS/MYLOG/y=2024/m=01/d=01/h=00/m=00/macAddress=112233445566/PT1H.json",
        );
        assert_eq!(p.flow_log.as_deref(), Some("MYLOG"));
        assert_eq!(p.region.as_deref(), Some("eastus"));
        assert_eq!(p.subscription.as_deref(), Some("s1"));
        let p = PathMeta::from_origin(
            "flowLogResourceID=/S2_NETWORKWATCHERRG/NETWORKWATCHER_WESTEUROPE_MYLOG-RG-FLOWLOGS/y=2024/m=01/d=01/h=00/m=00/macAddress=112233445566/PT1H.json",
        );
        assert_eq!(p.subscription.as_deref(), Some("s2"));
        assert_eq!(p.region.as_deref(), Some("westeurope"));
        assert_eq!(p.mac.as_deref(), Some("112233445566"));
    }

    #[test]
    fn sniffing() {
        let nsg = br#"{"records":[{"category":"NetworkSecurityGroupFlowEvent"}]}"#;
        let vnet = br#"{"records":[{"flowRecords":{"flows":[]}}]}"#;
        assert_eq!(sniff(nsg, Kind::Nsg), Confidence::Certain);
        assert_eq!(sniff(nsg, Kind::Vnet), Confidence::No);
        assert_eq!(sniff(vnet, Kind::Vnet), Confidence::Certain);
        assert_eq!(sniff(vnet, Kind::Nsg), Confidence::No);
        assert_eq!(
            sniff(b"NetworkSecurityGroupFlowEvent", Kind::Nsg),
            Confidence::No
        );
    }

    #[test]
    fn json_escaping() {
        let mut s = String::new();
        crate::util::push_json_str_u(&mut s, "a\"b\\c\n");
        assert_eq!(s, r#""a\"b\\c\u000a""#);
    }
}
