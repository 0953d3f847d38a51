//! AWS VPC Flow Logs (and Transit Gateway flow logs) in their text form.
//!
//! One record per line, fields separated by spaces. The *default format* is the 14 version-2
//! fields; a *custom format* is any subset of the version 2..8 fields (and newer ones) in any
//! order, so the layout of a line can never be inferred from its `version` or its field count.
//!
//! ## Sample
//!
//! ```text
//! version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status
//! 2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK
//! 2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA
//! ```
//!
//! ## Layout (header handling)
//!
//! The layout of a line is, in order of precedence:
//!
//! 1. the last **header line** seen in the input: a line made only of field names, as S3
//!    delivery writes at the top of every object (`version account-id ...`). Names are matched
//!    hyphenated or underscored (`account_id`, as in Parquet and Athena). A line counts as a
//!    header when every token looks like a lower-case field name and at least one (before the
//!    first record) or more than half (later) are names AWS documents; unknown names are kept,
//!    their values going to `extra`. A header later in the input (concatenated objects) replaces
//!    the layout;
//! 2. [`DecodeContext::aws_fields`], the format of headerless exports (CloudWatch Logs), in any
//!    case, hyphenated or underscored, with or without the console's `${...}`;
//! 3. otherwise the default version 2 layout, for lines of exactly 14 tokens. Any other line is
//!    rejected with a reason asking for `--aws-fields`.
//!
//! A line whose token count differs from its layout is rejected. Empty lines and lines starting
//! with `#` are not records; text from a token starting with `#` to the end of the line is a
//! comment (the AWS documentation examples annotate records that way). Runs of spaces and tabs
//! separate tokens, and a trailing CR is ignored.
//!
//! ## Field mapping
//!
//! | AWS field | column |
//! |---|---|
//! | `start` | `time` (seconds → µs): the Amazon Security Lake convention, not Elastic's `end` |
//! | `end` | `end_time` |
//! | `srcaddr`, `dstaddr`, `srcport`, `dstport`, `protocol` | `src_ip`, `dst_ip`, `src_port`, `dst_port`, `protocol` |
//! | `bytes`, `packets` | `bytes_out`, `packets_out`: one counter per record (packet direction), so `bytes_in`/`packets_in` stay empty |
//! | `action` | `action`: `ACCEPT` → allowed, `REJECT` → denied |
//! | `log-status` | `flow_state` (`OK`) |
//! | `interface-id`, `account-id`, `region`, `vpc-id`, `subnet-id`, `instance-id` | `device`, `account`, `region`, `vpc`, `subnet`, `instance` |
//! | `tcp-flags` | `tcp_flags` |
//! | `pkt-srcaddr`, `pkt-dstaddr` | `nat_src_ip`, `nat_dst_ip` |
//! | `flow-direction` | `direction`: `ingress` → inbound, `egress` → outbound (relative to the interface) |
//! | `reject-reason` | `rule` |
//! | `version` | not stored |
//! | anything else | `extra`, a JSON object of strings keyed by hyphenated name: `{"type":"IPv4","az-id":"use1-az1"}` |
//!
//! `-` means absent in every column (never 0): it leaves the column empty and the key out of
//! `extra`. Values in `extra` are kept as the strings AWS wrote (`"traffic-path":"8"`).
//!
//! ## Records that are not flows
//!
//! `NODATA` (no traffic in the window) and `SKIPDATA` (AWS dropped records) are counted as
//! skipped, never stored, whatever their other fields hold.
//!
//! ## Object key
//!
//! When [`DecodeContext::origin`] follows the S3 layout (`AWSLogs/<account>/vpcflowlogs/<region>/
//! YYYY/MM/DD/...`, or the Hive form `AWSLogs/aws-account-id=<id>/aws-service=vpcflowlogs/
//! aws-region=<region>/year=.../`), its account and region fill records that lack their own.
//! Records of a format without `start` take their time from `end`, else from the object: the
//! file name's `YYYYMMDDTHHmmZ` window, else the date (and hour) folders; with none of these
//! they are rejected.
//!
//! ## Caveats
//!
//! * Two records per conversation (one per direction) and one per interface crossed: nothing is
//!   merged here. `srcaddr`/`dstaddr` follow the packet, not the initiator.
//! * Transit Gateway records (`resource-type`, `tgw-*`, `packets-lost-*`) decode with their own
//!   header or field list; their TGW-specific fields go to `extra`.
//! * Parquet delivery is read elsewhere and fed through [`decoder_for_fields`] and
//!   [`AwsVpcDecoder::decode_tokens`].
//!
//! ## References
//!
//! * <https://docs.aws.amazon.com/vpc/latest/userguide/flow-log-records.html> (fields, versions)
//! * <https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-s3.html> (key layout, header)
//! * <https://docs.aws.amazon.com/vpc/latest/tgw/tgw-flow-logs.html> (Transit Gateway fields)

use std::borrow::Cow;
use std::net::Ipv4Addr;

use flowtrail_schema::{Action, CompactFlow, Direction, FlowRecord, Micros, RecordSink};

use crate::time::days_from_civil;
use crate::{decode_line, Confidence, DecodeContext, Decoder, Format, MAX_LINE};

/// AWS VPC Flow Logs, text form (S3 objects with a header line, CloudWatch exports).
pub struct AwsVpc;

impl Format for AwsVpc {
    fn name(&self) -> &'static str {
        "aws_vpc"
    }

    fn description(&self) -> &'static str {
        "AWS VPC Flow Logs and Transit Gateway flow logs: default v2 or custom format (header line or --aws-fields)"
    }

    fn decoder(&self, ctx: &DecodeContext) -> Box<dyn Decoder> {
        Box::new(AwsVpcDecoder::new(ctx))
    }

    fn sniff(&self, prefix: &[u8]) -> Confidence {
        sniff(prefix)
    }
}

/// Returns a decoder with a fixed layout: `fields` are the column names in order, hyphenated
/// (`account-id`) or underscored (`account_id`).
///
/// Used for Parquet delivery, whose rows arrive as values rather than text lines; feed each row
/// to [`AwsVpcDecoder::decode_tokens`]. `ctx.aws_fields` is ignored; `ctx.origin` still fills
/// account, region and a missing time.
pub fn decoder_for_fields(fields: &[&str], ctx: &DecodeContext) -> AwsVpcDecoder {
    let mut dec = AwsVpcDecoder::new(ctx);
    dec.configured = Some(Layout::from_names(
        fields.iter().copied(),
        LayoutSource::Fields,
    ));
    dec.refresh_strict();
    dec
}

/// Decodes AWS VPC flow log records of one input, keeping its layout and object-key facts.
pub struct AwsVpcDecoder {
    /// The layout of the last header line seen.
    header: Option<Layout>,
    /// The layout given by `aws_fields` or [`decoder_for_fields`].
    configured: Option<Layout>,
    /// The default version 2 layout, used when neither of the above is known.
    default: Layout,
    /// Reused buffer for the `extra` JSON object of the current record.
    extra: String,
    /// Facts read from an S3 object key, if the origin is one.
    key: Option<S3Key>,
    /// Whether a record line has been seen (headers after it must be unambiguous).
    seen_record: bool,
    /// Reused field spans of the current line (see [`split_fields`]).
    spans: Vec<(u32, u32)>,
    /// Whether the layout in force is the default version 2 one, so lines may take
    /// [`strict_v2`]. Off in tests that check the general path against it.
    strict: bool,
    /// Lines decoded by [`strict_v2`] (for tests).
    strict_lines: u64,
}

impl AwsVpcDecoder {
    /// Builds a decoder for one input described by `ctx`.
    pub fn new(ctx: &DecodeContext) -> AwsVpcDecoder {
        let configured = ctx
            .aws_fields
            .as_deref()
            .filter(|f| !f.trim().is_empty())
            .map(|f| Layout::from_names(f.split_ascii_whitespace(), LayoutSource::AwsFields));
        AwsVpcDecoder {
            header: None,
            configured,
            default: Layout {
                slots: Cow::Borrowed(DEFAULT_V2),
                extra_keys: Vec::new(),
                source: LayoutSource::DefaultV2,
            },
            extra: String::new(),
            key: parse_s3_key(&ctx.origin),
            seen_record: false,
            spans: Vec::with_capacity(SPLIT_FIELDS),
            strict: false,
            strict_lines: 0,
        }
        .with_strict_refreshed()
    }

    fn with_strict_refreshed(mut self) -> Self {
        self.refresh_strict();
        self
    }

    /// Recomputes [`AwsVpcDecoder::strict`] after the layout in force changed.
    fn refresh_strict(&mut self) {
        let layout = self
            .header
            .as_ref()
            .or(self.configured.as_ref())
            .unwrap_or(&self.default);
        self.strict = layout.slots.as_ref() == DEFAULT_V2 && layout.extra_keys.is_empty();
    }

    /// Decodes one row given as values in the decoder's field order (see [`decoder_for_fields`]).
    ///
    /// `-` and the empty string mean absent. Reports the row through exactly one of
    /// `sink.flow`, `sink.skip` or `sink.reject` (a rejected row is kept space-joined).
    pub fn decode_tokens(&mut self, tokens: &[&str], line: u64, sink: &mut dyn RecordSink) {
        self.decode_record(tokens.iter().copied(), line, Raw::Tokens(tokens), sink);
    }

    fn decode_record<'t, I>(
        &mut self,
        tokens: I,
        line: u64,
        raw: Raw<'_>,
        sink: &mut dyn RecordSink,
    ) where
        I: Iterator<Item = &'t str>,
    {
        let AwsVpcDecoder {
            header,
            configured,
            default,
            extra,
            key,
            seen_record: _,
            spans: _,
            strict: _,
            strict_lines: _,
        } = self;
        let layout = header.as_ref().or(configured.as_ref()).unwrap_or(default);
        let slots: &[Slot] = &layout.slots;

        let mut rec = FlowRecord {
            origin_line: line,
            ..FlowRecord::default()
        };
        let mut start: Option<u64> = None;
        let mut end: Option<u64> = None;
        let mut status = Status::Unknown;
        let mut bad: Option<(&'static str, &'t str)> = None;
        extra.clear();
        if extra.capacity() > MAX_KEPT_EXTRA_CAPACITY {
            extra.shrink_to(MAX_KEPT_EXTRA_CAPACITY);
        }

        let mut count = 0usize;
        for tok in tokens {
            count += 1;
            let Some(&slot) = slots.get(count - 1) else {
                continue;
            };
            // AWS writes "-" for fields that do not apply or could not be computed (addresses
            // and counters of NODATA/SKIPDATA records, instance-id of requester-managed ENIs...).
            if tok == "-" || tok.is_empty() {
                continue;
            }
            match slot {
                Slot::Ignore => {}
                Slot::AccountId => rec.account = Some(Cow::Borrowed(tok)),
                Slot::InterfaceId => rec.device = Some(Cow::Borrowed(tok)),
                Slot::SrcAddr => match parse_ip(tok) {
                    Some(ip) => rec.src_ip = Some(ip),
                    None => note(&mut bad, slot, tok),
                },
                Slot::DstAddr => match parse_ip(tok) {
                    Some(ip) => rec.dst_ip = Some(ip),
                    None => note(&mut bad, slot, tok),
                },
                Slot::SrcPort => match parse_u64(tok).and_then(|v| u16::try_from(v).ok()) {
                    Some(p) => rec.src_port = Some(p),
                    None => note(&mut bad, slot, tok),
                },
                Slot::DstPort => match parse_u64(tok).and_then(|v| u16::try_from(v).ok()) {
                    Some(p) => rec.dst_port = Some(p),
                    None => note(&mut bad, slot, tok),
                },
                Slot::Protocol => match parse_u64(tok).and_then(|v| u8::try_from(v).ok()) {
                    Some(p) => rec.protocol = Some(p),
                    None => note(&mut bad, slot, tok),
                },
                Slot::Packets => match parse_u64(tok) {
                    Some(v) => rec.packets_out = Some(v),
                    None => note(&mut bad, slot, tok),
                },
                Slot::Bytes => match parse_u64(tok) {
                    Some(v) => rec.bytes_out = Some(v),
                    None => note(&mut bad, slot, tok),
                },
                Slot::Start => match parse_u64(tok).filter(|v| *v <= MAX_SECONDS) {
                    Some(v) => start = Some(v),
                    None => note(&mut bad, slot, tok),
                },
                Slot::End => match parse_u64(tok).filter(|v| *v <= MAX_SECONDS) {
                    Some(v) => end = Some(v),
                    None => note(&mut bad, slot, tok),
                },
                Slot::Action => match parse_action(tok) {
                    Some(a) => rec.action = Some(a),
                    None => note(&mut bad, slot, tok),
                },
                Slot::LogStatus => {
                    status = if tok.eq_ignore_ascii_case("OK") {
                        Status::Ok
                    } else if tok.eq_ignore_ascii_case("NODATA") {
                        Status::NoData
                    } else if tok.eq_ignore_ascii_case("SKIPDATA") {
                        Status::SkipData
                    } else {
                        Status::Other
                    };
                    rec.flow_state = Some(Cow::Borrowed(tok));
                }
                Slot::VpcId => rec.vpc = Some(Cow::Borrowed(tok)),
                Slot::SubnetId => rec.subnet = Some(Cow::Borrowed(tok)),
                Slot::InstanceId => rec.instance = Some(Cow::Borrowed(tok)),
                Slot::TcpFlags => match parse_u64(tok).and_then(|v| u16::try_from(v).ok()) {
                    Some(v) => rec.tcp_flags = Some(v),
                    None => note(&mut bad, slot, tok),
                },
                Slot::PktSrcAddr => match parse_ip(tok) {
                    Some(ip) => rec.nat_src_ip = Some(ip),
                    None => note(&mut bad, slot, tok),
                },
                Slot::PktDstAddr => match parse_ip(tok) {
                    Some(ip) => rec.nat_dst_ip = Some(ip),
                    None => note(&mut bad, slot, tok),
                },
                Slot::Region => rec.region = Some(Cow::Borrowed(tok)),
                Slot::FlowDirection => {
                    if tok.eq_ignore_ascii_case("ingress") {
                        rec.direction = Some(Direction::Inbound);
                    } else if tok.eq_ignore_ascii_case("egress") {
                        rec.direction = Some(Direction::Outbound);
                    } else {
                        note(&mut bad, slot, tok);
                    }
                }
                Slot::RejectReason => rec.rule = Some(Cow::Borrowed(tok)),
                Slot::Extra(i) => {
                    if let Some(k) = layout.extra_keys.get(usize::from(i)) {
                        extra.push(if extra.is_empty() { '{' } else { ',' });
                        extra.push_str(k);
                        push_json_str(extra, tok);
                    }
                }
            }
        }

        if count != slots.len() {
            let reason = match layout.source {
                LayoutSource::DefaultV2 => format!(
                    "unknown layout: {count} fields, no header line and no field list \
                     (the default version 2 format has 14); pass --aws-fields with the flow log's format"
                ),
                src => format!(
                    "record has {count} fields but {} declares {}",
                    src.describe(),
                    slots.len()
                ),
            };
            return raw.reject(sink, line, &reason);
        }
        match status {
            Status::NoData => return sink.skip(line, "aws_vpc NODATA: no traffic in window"),
            Status::SkipData => return sink.skip(line, "aws_vpc SKIPDATA: records skipped by AWS"),
            Status::Ok | Status::Other | Status::Unknown => {}
        }
        if let Some((field, value)) = bad {
            return raw.reject(sink, line, &format!("bad {field} {:?}", clip(value)));
        }

        let key = key.as_ref();
        let time = match start.or(end) {
            Some(secs) => Some(secs as Micros * 1_000_000),
            None => key.and_then(|k| k.window_start),
        };
        let Some(time) = time else {
            return raw.reject(
                sink,
                line,
                "no time: start and end are absent and the origin is not an S3 key with a date",
            );
        };
        rec.time = time;
        rec.end_time = end.map(|secs| secs as Micros * 1_000_000);
        if let Some(k) = key {
            if rec.account.is_none() {
                rec.account = Some(Cow::Borrowed(k.account.as_str()));
            }
            if rec.region.is_none() {
                rec.region = Some(Cow::Borrowed(k.region.as_str()));
            }
        }
        if !extra.is_empty() {
            extra.push('}');
            rec.extra = Some(Cow::Borrowed(extra.as_str()));
        }
        sink.flow(&rec);
    }
}

impl Decoder for AwsVpcDecoder {
    fn decode(&mut self, unit: &[u8], line: u64, sink: &mut dyn RecordSink) {
        let unit = unit.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(unit);
        let trimmed = unit.trim_ascii();
        if trimmed.is_empty() || trimmed.first() == Some(&b'#') {
            return;
        }
        if self.strict && trimmed.first().is_some_and(u8::is_ascii_digit) {
            if let Some(v) = strict_v2(trimmed) {
                self.seen_record = true;
                self.strict_lines += 1;
                return self.emit_strict(&v, line, sink);
            }
        }
        let Ok(text) = std::str::from_utf8(trimmed) else {
            return sink.reject(line, "line is not valid UTF-8", unit);
        };
        // A header starts with a lower-case field name; records of the default format start
        // with the version digit, so this first-byte test keeps header detection off their path.
        if trimmed.first().is_some_and(u8::is_ascii_lowercase) {
            if let Some(layout) = header_layout(text, !self.seen_record) {
                self.header = Some(layout);
                self.refresh_strict();
                return;
            }
        }
        self.seen_record = true;
        let mut spans = std::mem::take(&mut self.spans);
        if split_fields(text, &mut spans) {
            let fields = spans
                .iter()
                .map(|&(a, b)| text.get(a as usize..b as usize).unwrap_or_default());
            self.decode_record(fields, line, Raw::Line(unit), sink);
        } else {
            self.decode_record(Tokens::new(text), line, Raw::Line(unit), sink);
        }
        self.spans = spans;
    }

    /// Lines of the default format in their common shape are parsed where they lie, their end
    /// found by the same scan that finds their fields (a separate pass for line ends was 2-4 %
    /// of an ingest); any other line is cut at its newline and decoded as by `decode`.
    fn decode_lines(&mut self, buf: &[u8], sink: &mut dyn RecordSink) {
        let mut pos = 0usize;
        let mut n = 0u64;
        while let Some(rest) = buf.get(pos..).filter(|r| !r.is_empty()) {
            n += 1;
            if self.strict && rest.first().is_some_and(u8::is_ascii_digit) {
                if let Some((v, len)) = strict_v2_at::<true>(rest) {
                    if len <= MAX_LINE {
                        self.seen_record = true;
                        self.strict_lines += 1;
                        self.emit_strict(&v, n, sink);
                        // Past the line's `\n` (or `\r\n`), or at the end of the input.
                        pos += match rest.get(len) {
                            Some(b'\r') => len + 2,
                            _ => len + 1,
                        };
                        continue;
                    }
                }
            }
            let end = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
            decode_line(self, rest.get(..end).unwrap_or_default(), n, sink);
            pos += end + 1;
        }
    }
}

impl AwsVpcDecoder {
    /// Reports a line [`strict_v2`] parsed, exactly as the general path would.
    fn emit_strict(&self, v: &StrictV2<'_>, line: u64, sink: &mut dyn RecordSink) {
        sink.compact_flow(&CompactFlow {
            time: v.start as Micros * 1_000_000,
            end_time: v.end as Micros * 1_000_000,
            origin_line: line,
            src_ip: v.src,
            src_port: v.src_port,
            dst_ip: v.dst,
            dst_port: v.dst_port,
            protocol: v.protocol,
            bytes_out: v.bytes,
            packets_out: v.packets,
            action: v.action,
            flow_state: v.status,
            device: v.interface,
            account: v.account,
            region: self.key.as_ref().map(|k| k.region.as_str()),
        });
    }
}

/// The fields of a default-format line in its common shape.
struct StrictV2<'a> {
    /// ASCII, as every byte [`strict_v2`] accepts.
    account: &'a [u8],
    interface: &'a [u8],
    src: Ipv4Addr,
    dst: Ipv4Addr,
    src_port: u16,
    dst_port: u16,
    protocol: u8,
    packets: u64,
    bytes: u64,
    start: u64,
    end: u64,
    action: Action,
    status: &'static str,
}

/// Parses a default (version 2) line in the shape AWS writes nearly all of them: version `2`,
/// 14 fields separated by single spaces, every value present, IPv4 addresses, `ACCEPT` or
/// `REJECT`, status `OK`. Fields are found eight bytes at a time and numbers converted eight
/// digits at a time, with no dispatch per field: the general path (split, dispatch, parse) was
/// a quarter of an ingest. Returns `None` for anything else (`-` values, NODATA, IPv6, other
/// blanks, bad numbers, more or fewer fields), which the general path then decodes, reports
/// or rejects; for the lines it accepts, the record is the one the general path builds
/// (`strict_path_agrees_with_the_general_one` checks both on the same lines). Every byte of
/// a line it accepts is ASCII, so its text needs no UTF-8 check.
#[inline]
fn strict_v2(b: &[u8]) -> Option<StrictV2<'_>> {
    strict_v2_at::<false>(b).map(|(v, _)| v)
}

/// [`strict_v2`] on the line at the start of `b`, which runs on to the rest of an input
/// (`IN_BUFFER`) or is the whole line (not). In a buffer the line ends at `\n` or `\r\n`, or
/// at the end of `b`. Returns the fields and where the line's text ends (its length: the
/// `\r\n` or `\n` excluded).
#[inline(always)]
fn strict_v2_at<const IN_BUFFER: bool>(b: &[u8]) -> Option<(StrictV2<'_>, usize)> {
    let mut c = Strict::new(b);
    if c.field()? != b"2" {
        return None;
    }
    let account = c.word()?;
    let interface = c.word()?;
    let src = parse_ipv4(c.field()?)?;
    let dst = parse_ipv4(c.field()?)?;
    let src_port = u16::try_from(c.number()?).ok()?;
    let dst_port = u16::try_from(c.number()?).ok()?;
    let protocol = u8::try_from(c.number()?).ok()?;
    let packets = c.number()?;
    let bytes = c.number()?;
    let start = c.number().filter(|v| *v <= MAX_SECONDS)?;
    let end = c.number().filter(|v| *v <= MAX_SECONDS)?;
    let action = match c.field()? {
        b"ACCEPT" => Action::Allowed,
        b"REJECT" => Action::Denied,
        _ => return None,
    };
    let (status_start, line_end) = c.last_span::<IN_BUFFER>()?;
    if b.get(status_start..line_end)? != b"OK" {
        return None;
    }
    Some((
        StrictV2 {
            account,
            interface,
            src,
            dst,
            src_port,
            dst_port,
            protocol,
            packets,
            bytes,
            start,
            end,
            action,
            status: "OK",
        },
        line_end,
    ))
}

/// A cursor over a line for [`strict_v2`]: fields end at a separator (space, tab or carriage
/// return, as for the general path), which must be a single space, or at the line's end.
struct Strict<'a> {
    b: &'a [u8],
    /// Where the next field starts.
    pos: usize,
    seps: Separators<'a, true>,
}

impl<'a> Strict<'a> {
    fn new(b: &'a [u8]) -> Strict<'a> {
        Strict {
            b,
            pos: 0,
            seps: Separators::<true>::new(b),
        }
    }

    /// The next field: non-empty, ended by one space or by the line's end (then `pos` passes
    /// the end by one, which [`strict_v2`] checks after the last field).
    #[inline(always)]
    fn field(&mut self) -> Option<&'a [u8]> {
        let (start, end) = self.span()?;
        self.b.get(start..end)
    }

    /// The line's last field as its start and end offsets: non-empty, ended by the end of `b`
    /// or, when `b` runs on past the line (`IN_BUFFER`), by `\n` or `\r\n`.
    #[inline(always)]
    fn last_span<const IN_BUFFER: bool>(&mut self) -> Option<(usize, usize)> {
        let at = self.seps.next_at();
        let start = self.pos;
        let ends = match self.b.get(at) {
            None => true,
            Some(b'\n') => IN_BUFFER,
            Some(b'\r') => IN_BUFFER && self.b.get(at + 1) == Some(&b'\n'),
            Some(_) => false,
        };
        (at != start && ends).then_some((start, at))
    }

    /// [`Strict::field`] as its start and end offsets.
    #[inline(always)]
    fn span(&mut self) -> Option<(usize, usize)> {
        let at = self.seps.next_at();
        let start = self.pos;
        if at == start || self.b.get(at).is_some_and(|&c| c != b' ') {
            return None;
        }
        self.pos = at + 1;
        Some((start, at))
    }

    /// A text field as the general path keeps it: not `-`, not a comment. (ASCII: a byte
    /// above 0x7f ends a field as a separator that is not a space does, failing the line.)
    #[inline(always)]
    fn word(&mut self) -> Option<&'a [u8]> {
        let w = self.field()?;
        if w == b"-" || w.first() == Some(&b'#') {
            return None;
        }
        Some(w)
    }

    #[inline(always)]
    fn number(&mut self) -> Option<u64> {
        let (start, end) = self.span()?;
        decimal(self.b, start, end)
    }
}

/// Parses the 1 to 19 ASCII digits `b[start..end]` (as [`parse_u64`] does), up to 8 per step.
#[inline(always)]
fn decimal(b: &[u8], start: usize, end: usize) -> Option<u64> {
    match end.checked_sub(start)? {
        1..=8 => digits8(b, start, end),
        9..=16 => Some(digits8(b, start, end - 8)? * 100_000_000 + digits8(b, end - 8, end)?),
        _ => crate::util::parse_u64_bytes(b.get(start..end)?),
    }
}

/// Converts the 1 to 8 ASCII digits `b[start..end]` at once: the eight bytes ending at `end`
/// are loaded as one word (a copy into a padded array stalled on store forwarding), the bytes
/// before `start` replaced by `'0'`, checked to be digits and combined pairwise.
#[inline(always)]
fn digits8(b: &[u8], start: usize, end: usize) -> Option<u64> {
    const ZEROS: u64 = 0x3030_3030_3030_3030;
    let n = end.checked_sub(start)?;
    let w = match end.checked_sub(8).and_then(|s| b.get(s..end)) {
        Some(word) => u64::from_le_bytes(<[u8; 8]>::try_from(word).ok()?),
        None => {
            // Within the line's first eight bytes.
            let mut w = [b'0'; 8];
            w.get_mut(8usize.checked_sub(n)?..)?
                .copy_from_slice(b.get(start..end)?);
            u64::from_le_bytes(w)
        }
    };
    // The low 8 - n bytes (before the field, little-endian) become '0'.
    let pad = match n {
        1..=7 => (1u64 << (8 * (8 - n))) - 1,
        8 => 0,
        _ => return None,
    };
    let w = (w & !pad) | (ZEROS & pad);
    // Every byte 0x30..=0x39: high nibble 3, and adding 6 does not carry out of the low one.
    const NIBBLE_HI: u64 = 0xf0f0_f0f0_f0f0_f0f0;
    if w & NIBBLE_HI != ZEROS || w.wrapping_add(0x0606_0606_0606_0606) & NIBBLE_HI != ZEROS {
        return None;
    }
    // The first digit is the lowest byte and the most significant.
    let x = w & 0x0f0f_0f0f_0f0f_0f0f;
    let x = x.wrapping_mul(10).wrapping_add(x >> 8);
    let x = ((x & 0x0000_00ff_0000_00ff).wrapping_mul(100 + (1_000_000 << 32)))
        .wrapping_add(((x >> 16) & 0x0000_00ff_0000_00ff).wrapping_mul(1 + (10_000 << 32)))
        >> 32;
    Some(x)
}

/// Capacity the `extra` buffer may keep between records.
const MAX_KEPT_EXTRA_CAPACITY: usize = 64 * 1024;

/// Largest `start`/`end` accepted, in seconds (year 9999), so the µs value cannot overflow.
const MAX_SECONDS: u64 = 253_402_300_799;

/// Most tokens a header line may have (AWS documents about 60 fields).
const MAX_HEADER_FIELDS: usize = 256;

/// Most fields a configured layout keeps; later ones are counted but ignored.
const MAX_LAYOUT_FIELDS: usize = 1024;

/// What a column of the layout feeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    /// `version`, or a repeated name: counted, not stored.
    Ignore,
    AccountId,
    InterfaceId,
    SrcAddr,
    DstAddr,
    SrcPort,
    DstPort,
    Protocol,
    Packets,
    Bytes,
    Start,
    End,
    Action,
    LogStatus,
    VpcId,
    SubnetId,
    InstanceId,
    TcpFlags,
    PktSrcAddr,
    PktDstAddr,
    Region,
    FlowDirection,
    RejectReason,
    /// A field kept in `extra`, by index into [`Layout::extra_keys`].
    Extra(u16),
}

impl Slot {
    /// Returns the AWS field name, for rejection reasons.
    fn name(self) -> &'static str {
        match self {
            Slot::Ignore => "version",
            Slot::AccountId => "account-id",
            Slot::InterfaceId => "interface-id",
            Slot::SrcAddr => "srcaddr",
            Slot::DstAddr => "dstaddr",
            Slot::SrcPort => "srcport",
            Slot::DstPort => "dstport",
            Slot::Protocol => "protocol",
            Slot::Packets => "packets",
            Slot::Bytes => "bytes",
            Slot::Start => "start",
            Slot::End => "end",
            Slot::Action => "action",
            Slot::LogStatus => "log-status",
            Slot::VpcId => "vpc-id",
            Slot::SubnetId => "subnet-id",
            Slot::InstanceId => "instance-id",
            Slot::TcpFlags => "tcp-flags",
            Slot::PktSrcAddr => "pkt-srcaddr",
            Slot::PktDstAddr => "pkt-dstaddr",
            Slot::Region => "region",
            Slot::FlowDirection => "flow-direction",
            Slot::RejectReason => "reject-reason",
            Slot::Extra(_) => "field",
        }
    }
}

/// The default (version 2) format, which cannot be changed.
const DEFAULT_V2: &[Slot] = &[
    Slot::Ignore,
    Slot::AccountId,
    Slot::InterfaceId,
    Slot::SrcAddr,
    Slot::DstAddr,
    Slot::SrcPort,
    Slot::DstPort,
    Slot::Protocol,
    Slot::Packets,
    Slot::Bytes,
    Slot::Start,
    Slot::End,
    Slot::Action,
    Slot::LogStatus,
];

/// Fields with a column of their own, by hyphenated name.
const MAPPED: &[(&str, Slot)] = &[
    ("version", Slot::Ignore),
    ("account-id", Slot::AccountId),
    ("interface-id", Slot::InterfaceId),
    ("srcaddr", Slot::SrcAddr),
    ("dstaddr", Slot::DstAddr),
    ("srcport", Slot::SrcPort),
    ("dstport", Slot::DstPort),
    ("protocol", Slot::Protocol),
    ("packets", Slot::Packets),
    ("bytes", Slot::Bytes),
    ("start", Slot::Start),
    ("end", Slot::End),
    ("action", Slot::Action),
    ("log-status", Slot::LogStatus),
    ("vpc-id", Slot::VpcId),
    ("subnet-id", Slot::SubnetId),
    ("instance-id", Slot::InstanceId),
    ("tcp-flags", Slot::TcpFlags),
    ("pkt-srcaddr", Slot::PktSrcAddr),
    ("pkt-dstaddr", Slot::PktDstAddr),
    ("region", Slot::Region),
    ("flow-direction", Slot::FlowDirection),
    ("reject-reason", Slot::RejectReason),
];

/// Documented fields without a column (they go to `extra`), used to recognise header lines.
const KNOWN_EXTRA: &[&str] = &[
    // VPC, versions 3..5
    "type",
    "az-id",
    "sublocation-type",
    "sublocation-id",
    "pkt-src-aws-service",
    "pkt-dst-aws-service",
    "traffic-path",
    // VPC, version 7 (ECS)
    "ecs-cluster-arn",
    "ecs-cluster-name",
    "ecs-container-instance-arn",
    "ecs-container-instance-id",
    "ecs-container-id",
    "ecs-second-container-id",
    "ecs-service-name",
    "ecs-task-definition-arn",
    "ecs-task-arn",
    "ecs-task-id",
    // VPC, later versions
    "resource-id",
    "encryption-status",
    // Transit Gateway flow logs
    "resource-type",
    "tgw-id",
    "tgw-attachment-id",
    "tgw-src-vpc-account-id",
    "tgw-dst-vpc-account-id",
    "tgw-src-vpc-id",
    "tgw-dst-vpc-id",
    "tgw-src-subnet-id",
    "tgw-dst-subnet-id",
    "tgw-src-eni",
    "tgw-dst-eni",
    "tgw-src-az-id",
    "tgw-dst-az-id",
    "tgw-pair-attachment-id",
    "packets-lost-no-route",
    "packets-lost-blackhole",
    "packets-lost-mtu-exceeded",
    "packets-lost-ttl-expired",
];

/// Where a layout came from (for rejection reasons).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LayoutSource {
    Header,
    AwsFields,
    Fields,
    DefaultV2,
}

impl LayoutSource {
    fn describe(self) -> &'static str {
        match self {
            LayoutSource::Header => "the header line",
            LayoutSource::AwsFields => "--aws-fields",
            LayoutSource::Fields => "the field list",
            LayoutSource::DefaultV2 => "the default version 2 format",
        }
    }
}

/// The columns of one format, in order.
struct Layout {
    slots: Cow<'static, [Slot]>,
    /// For each `Slot::Extra(i)`: the JSON-escaped key followed by `:` (`"az-id":`).
    extra_keys: Vec<String>,
    source: LayoutSource,
}

impl Layout {
    fn from_names<'n>(names: impl IntoIterator<Item = &'n str>, source: LayoutSource) -> Layout {
        let mut slots = Vec::new();
        let mut extra_keys = Vec::new();
        let mut seen: Vec<String> = Vec::new();
        for raw in names {
            let name = normalize_name(raw);
            if slots.len() >= MAX_LAYOUT_FIELDS || seen.contains(&name) {
                slots.push(Slot::Ignore);
                continue;
            }
            let slot = match mapped_slot(&name) {
                Some(slot) => slot,
                None => {
                    let mut key = String::with_capacity(name.len() + 3);
                    push_json_str(&mut key, &name);
                    key.push(':');
                    // MAX_LAYOUT_FIELDS keeps the index far below u16::MAX.
                    let index = u16::try_from(extra_keys.len()).unwrap_or(u16::MAX);
                    extra_keys.push(key);
                    Slot::Extra(index)
                }
            };
            seen.push(name);
            slots.push(slot);
        }
        Layout {
            slots: Cow::Owned(slots),
            extra_keys,
            source,
        }
    }
}

/// Returns the hyphenated, lower-case spelling of a field name (`${account_id}` → `account-id`).
fn normalize_name(raw: &str) -> String {
    let name = raw.trim();
    let name = name.strip_prefix("${").unwrap_or(name);
    let name = name.strip_suffix('}').unwrap_or(name);
    name.chars()
        .map(|c| {
            if c == '_' {
                '-'
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect()
}

fn mapped_slot(name: &str) -> Option<Slot> {
    MAPPED.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
}

/// Returns whether a (non-normalized) header token names a field AWS documents.
fn is_known_name(token: &str) -> bool {
    let eq = |known: &str| {
        known.len() == token.len()
            && known
                .bytes()
                .zip(token.bytes())
                .all(|(k, t)| k == t.to_ascii_lowercase() || (k == b'-' && t == b'_'))
    };
    MAPPED.iter().any(|(n, _)| eq(n)) || KNOWN_EXTRA.iter().any(|n| eq(n))
}

/// Returns `(known, total)` token counts if every token of `line` looks like a field name.
fn header_counts(line: &str) -> Option<(usize, usize)> {
    let mut known = 0;
    let mut total = 0;
    for tok in Tokens::new(line) {
        total += 1;
        let mut bytes = tok.bytes();
        let first_ok = bytes.next().is_some_and(|b| b.is_ascii_lowercase());
        if total > MAX_HEADER_FIELDS
            || !first_ok
            || !bytes
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        {
            return None;
        }
        if is_known_name(tok) {
            known += 1;
        }
    }
    (total > 0).then_some((known, total))
}

/// Returns the layout declared by `line` if it is a header line.
///
/// At the top of an input one documented name suffices (a format of mostly newer fields);
/// after records, more than half must be documented, so that a record of lower-case values
/// (`ingress`, ECS names) is never taken for a header.
fn header_layout(line: &str, first: bool) -> Option<Layout> {
    let (known, total) = header_counts(line)?;
    let header = if first { known >= 1 } else { known * 2 > total };
    header.then(|| Layout::from_names(Tokens::new(line), LayoutSource::Header))
}

/// Splits a line on runs of spaces, tabs and carriage returns, stopping at a token that starts
/// with `#`. Separators are found eight bytes at a time (a SWAR byte compare per word, then
/// one `trailing_zeros` per separator): scanning byte by byte was a third of this decoder's
/// time, and `memchr3` costs more than that on gaps of a few bytes.
struct Tokens<'a> {
    text: &'a str,
    /// Where the next token may start.
    pos: usize,
    seps: Separators<'a>,
    done: bool,
}

/// The separators (space, tab, carriage return) of a line in order, found eight bytes at a time
/// (a SWAR byte compare per word, then one `trailing_zeros` per separator). Shared by
/// [`Tokens`], [`split_fields`] and [`strict_v2`]; kept in a local, its state stays in registers.
///
/// With `ANY_CONTROL`, every byte below `'!'` or above 0x7f counts as a separator (one compare
/// per word instead of three): for [`strict_v2`], which takes a line only if each separator it
/// meets is a space, so a tab, a carriage return, another control byte or any byte that is not
/// ASCII sends the line to the general path (as a tab or carriage return would anyway), and
/// the lines it takes are ASCII throughout.
struct Separators<'a, const ANY_CONTROL: bool = false> {
    bytes: &'a [u8],
    /// Offset of the word `mask` describes.
    base: usize,
    /// Separators of that word not yet consumed: the high bit of each separator byte.
    mask: u64,
}

impl<'a, const ANY_CONTROL: bool> Separators<'a, ANY_CONTROL> {
    fn new(bytes: &'a [u8]) -> Separators<'a, ANY_CONTROL> {
        Separators {
            bytes,
            base: 0,
            mask: Self::word(bytes, 0),
        }
    }

    #[inline(always)]
    fn word(bytes: &[u8], at: usize) -> u64 {
        match ANY_CONTROL {
            true => controls(bytes, at),
            false => separators(bytes, at),
        }
    }

    /// The offset of the next separator, or the end of the line (from then on, always).
    #[inline(always)]
    fn next_at(&mut self) -> usize {
        let len = self.bytes.len();
        while self.mask == 0 {
            if self.base >= len {
                return len;
            }
            self.base += 8;
            if self.base >= len {
                return len;
            }
            self.mask = Self::word(self.bytes, self.base);
        }
        let at = self.base + (self.mask.trailing_zeros() / 8) as usize;
        self.mask &= self.mask - 1;
        at
    }
}

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// The high bit of every zero byte of `x` (exact: no carry crosses bytes).
fn zero_bytes(x: u64) -> u64 {
    !(((x & !HI).wrapping_add(!HI)) | x) & HI
}

/// The 8 bytes at `at` as a little-endian word; past the line's end, bytes are `fill`.
#[inline(always)]
fn line_word(bytes: &[u8], at: usize, fill: u8) -> u64 {
    match bytes
        .get(at..at + 8)
        .and_then(|c| <[u8; 8]>::try_from(c).ok())
    {
        Some(w) => u64::from_le_bytes(w),
        None => {
            let n = bytes.len();
            let have = n.saturating_sub(at);
            let last = n
                .checked_sub(8)
                .and_then(|s| bytes.get(s..))
                .and_then(|c| <[u8; 8]>::try_from(c).ok());
            match last {
                // The line's last eight bytes end with the `have` wanted: shift them down and
                // fill above, instead of a loop over bytes at the end of every line.
                Some(last) if have > 0 => {
                    (u64::from_le_bytes(last) >> (8 * (8 - have)))
                        | ((LO * u64::from(fill)) << (8 * have))
                }
                _ => {
                    let mut w = [fill; 8];
                    for (d, s) in w.iter_mut().zip(bytes.get(at..).unwrap_or(&[])) {
                        *d = *s;
                    }
                    u64::from_le_bytes(w)
                }
            }
        }
    }
}

/// The high bit of every byte below `'!'` (a space, a tab, a carriage return or another
/// control byte) or above 0x7f among the 8 bytes at `at`; the line ends in `'!'`s, never
/// counted.
#[inline(always)]
fn controls(bytes: &[u8], at: usize) -> u64 {
    let x = line_word(bytes, at, b'!');
    // Per byte: its low seven bits plus 0x80 - 0x21 reach the high bit unless they are below
    // 0x21 (no carry leaves a byte); a byte's own high bit marks it above 0x7f.
    (!((x & !HI).wrapping_add(LO * (0x80 - 0x21))) | x) & HI
}

/// The high bit of every space, tab or carriage return among the 8 bytes at `at`.
#[inline(always)]
fn separators(bytes: &[u8], at: usize) -> u64 {
    // The line's last bytes are padded with zeros (never a separator).
    let x = line_word(bytes, at, 0);
    zero_bytes(x ^ (LO * u64::from(b' ')))
        | zero_bytes(x ^ (LO * u64::from(b'\t')))
        | zero_bytes(x ^ (LO * u64::from(b'\r')))
}

impl<'a> Tokens<'a> {
    fn new(line: &'a str) -> Tokens<'a> {
        Tokens {
            text: line,
            pos: 0,
            seps: Separators::<false>::new(line.as_bytes()),
            done: false,
        }
    }
}

impl<'a> Iterator for Tokens<'a> {
    type Item = &'a str;

    #[inline]
    fn next(&mut self) -> Option<&'a str> {
        while !self.done {
            let end = self.seps.next_at();
            if end >= self.text.len() {
                self.done = true;
            }
            let start = std::mem::replace(&mut self.pos, end + 1);
            if end > start {
                // Both ends are at ASCII bytes or the string's ends, so they are char boundaries.
                let tok = self.text.get(start..end)?;
                if tok.starts_with('#') {
                    self.done = true;
                    return None;
                }
                return Some(tok);
            }
        }
        None
    }
}

/// Fields [`split_fields`] splits a line into at most (AWS documents about 60 fields).
const SPLIT_FIELDS: usize = 64;

/// Splits `line` as [`Tokens`] does into `spans` (start and end of each field), in one pass with
/// its state in registers (the iterator, called once per field, kept its position in memory and
/// was 12 % of an ingest). Returns false when the line has more than [`SPLIT_FIELDS`] fields.
#[inline]
fn split_fields(line: &str, spans: &mut Vec<(u32, u32)>) -> bool {
    spans.clear();
    let bytes = line.as_bytes();
    let len = bytes.len();
    if len > u32::MAX as usize {
        return false;
    }
    let mut seps = Separators::<false>::new(bytes);
    let mut start = 0usize;
    loop {
        let at = seps.next_at();
        if at > start {
            if bytes.get(start) == Some(&b'#') {
                return true;
            }
            if spans.len() == SPLIT_FIELDS {
                return false;
            }
            spans.push((start as u32, at as u32));
        }
        if at >= len {
            return true;
        }
        start = at + 1;
    }
}

/// The input of one record, kept for the dead-letter file if it is rejected.
enum Raw<'a> {
    Line(&'a [u8]),
    Tokens(&'a [&'a str]),
}

impl Raw<'_> {
    fn reject(&self, sink: &mut dyn RecordSink, line: u64, reason: &str) {
        match self {
            Raw::Line(bytes) => sink.reject(line, reason, bytes),
            Raw::Tokens(tokens) => sink.reject(line, reason, tokens.join(" ").as_bytes()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Unknown,
    Ok,
    NoData,
    SkipData,
    Other,
}

/// Keeps the first malformed field of a record.
fn note<'t>(bad: &mut Option<(&'static str, &'t str)>, slot: Slot, value: &'t str) {
    if bad.is_none() {
        *bad = Some((slot.name(), value));
    }
}

use crate::util::{clip, parse_ip, parse_ipv4, parse_u64, push_json_str};

fn parse_action(tok: &str) -> Option<Action> {
    match tok {
        "ACCEPT" => Some(Action::Allowed),
        "REJECT" => Some(Action::Denied),
        _ if tok.eq_ignore_ascii_case("accept") => Some(Action::Allowed),
        _ if tok.eq_ignore_ascii_case("reject") => Some(Action::Denied),
        _ => None,
    }
}

/// What an S3 object key of VPC flow logs tells about its records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Key {
    /// The account folder (`AWSLogs/<account>/` or `aws-account-id=<account>`).
    pub account: String,
    /// The region folder.
    pub region: String,
    /// The date folders (`YYYY/MM/DD` or `year=/month=/day=`), if present and valid.
    pub date: Option<(i64, u32, u32)>,
    /// Best start of the records' window known from the key (µs): the file name's
    /// `YYYYMMDDTHHmmZ` stamp, else the date and optional hour folders.
    pub window_start: Option<Micros>,
}

/// Parses the S3 layout of VPC flow log objects out of an origin path or key.
///
/// Accepts `.../AWSLogs/<account>/vpcflowlogs/<region>/YYYY/MM/DD[/HH]/<file>` and the Hive form
/// `.../AWSLogs/aws-account-id=<id>/aws-service=vpcflowlogs/aws-region=<region>/year=YYYY/
/// month=MM/day=DD[/hour=HH]/<file>`; returns `None` for anything else.
pub fn parse_s3_key(origin: &str) -> Option<S3Key> {
    let at = origin.rfind("AWSLogs")?;
    let mut segs = origin
        .get(at + "AWSLogs".len()..)?
        .split(['/', '\\'])
        .filter(|s| !s.is_empty());
    let hive_value = |seg: &str, key: &str| -> Option<String> {
        let v = seg.strip_prefix(key)?.strip_prefix('=')?;
        (!v.is_empty()).then(|| v.to_string())
    };
    let account_seg = segs.next()?;
    let hive = account_seg.starts_with("aws-account-id=");
    let (account, region) = if hive {
        let account = hive_value(account_seg, "aws-account-id")?;
        if hive_value(segs.next()?, "aws-service")? != "vpcflowlogs" {
            return None;
        }
        (account, hive_value(segs.next()?, "aws-region")?)
    } else {
        if segs.next()? != "vpcflowlogs" {
            return None;
        }
        (account_seg.to_string(), segs.next()?.to_string())
    };
    if account.contains('=') || region.contains('=') {
        return None;
    }
    let rest: Vec<&str> = segs.take(6).collect();
    let folder = |i: usize, key: &str| -> Option<u32> {
        let seg = *rest.get(i)?;
        let digits = if hive {
            seg.strip_prefix(key)?.strip_prefix('=')?
        } else {
            seg
        };
        if digits.is_empty() || digits.len() > 4 {
            return None;
        }
        u32::try_from(parse_u64(digits)?).ok()
    };
    let date = match (folder(0, "year"), folder(1, "month"), folder(2, "day")) {
        (Some(y), Some(m), Some(d)) if (1..=12).contains(&m) && (1..=31).contains(&d) => {
            Some((i64::from(y), m, d))
        }
        _ => None,
    };
    let hour = date.and(folder(3, "hour")).filter(|h| *h < 24);
    let file_stamp = rest
        .last()
        .and_then(|name| name.split('_').find_map(parse_stamp));
    let window_start = file_stamp.or_else(|| {
        let (y, m, d) = date?;
        let secs = days_from_civil(y, m, d) * 86_400 + i64::from(hour.unwrap_or(0)) * 3_600;
        Some(secs * 1_000_000)
    });
    Some(S3Key {
        account,
        region,
        date,
        window_start,
    })
}

/// Parses the `YYYYMMDDTHHmmZ` stamp of a flow log file name (µs).
fn parse_stamp(s: &str) -> Option<Micros> {
    let b = s.as_bytes();
    if b.len() != 14 || b.get(8) != Some(&b'T') || b.get(13) != Some(&b'Z') {
        return None;
    }
    let num =
        |r: std::ops::Range<usize>| -> Option<u32> { u32::try_from(parse_u64(s.get(r)?)?).ok() };
    let (y, mo, d, h, mi) = (
        num(0..4)?,
        num(4..6)?,
        num(6..8)?,
        num(9..11)?,
        num(11..13)?,
    );
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 {
        return None;
    }
    let days = days_from_civil(i64::from(y), mo, d);
    Some((days * 86_400 + i64::from(h) * 3_600 + i64::from(mi) * 60) * 1_000_000)
}

/// Scores a prefix: a header line of AWS field names is certain; a default-format record likely.
fn sniff(prefix: &[u8]) -> Confidence {
    let prefix = prefix.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(prefix);
    let Some(first) = prefix
        .split(|b| *b == b'\n')
        .map(<[u8]>::trim_ascii)
        .find(|l| !l.is_empty())
    else {
        return Confidence::No;
    };
    if matches!(first.first(), Some(b'{' | b'[' | b'#')) {
        return Confidence::No;
    }
    let Ok(first) = std::str::from_utf8(first) else {
        return Confidence::No;
    };
    if let Some((known, total)) = header_counts(first) {
        if known == total && total >= 2 {
            return Confidence::Certain;
        }
        if known * 2 > total && total >= 3 {
            return Confidence::Likely;
        }
        return Confidence::No;
    }
    let mut toks = [""; 14];
    let mut n = 0;
    for tok in first.split_ascii_whitespace() {
        match toks.get_mut(n) {
            Some(slot) => *slot = tok,
            None => return Confidence::No,
        }
        n += 1;
    }
    let [version, account, eni, .., action, status] = toks;
    let account_like = account == "unknown" || parse_u64(account).is_some();
    if n == 14
        && version == "2"
        && (account_like || eni.starts_with("eni-"))
        && matches!(action, "ACCEPT" | "REJECT" | "-")
        && matches!(status, "OK" | "NODATA" | "SKIPDATA")
    {
        Confidence::Likely
    } else {
        Confidence::No
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::LINE_TOO_LONG;
    use flowtrail_schema::VecSink;

    #[test]
    fn tokens_match_a_byte_by_byte_split() {
        // Every separator position and run length around the 8-byte words, multibyte text.
        let pieces = [
            "a",
            "bb",
            "ccc",
            "dddddddd",
            "é",
            "123456789",
            "-",
            "x\u{1F600}y",
        ];
        let seps = [" ", "  ", "\t", " \r ", "\t\t\t\t\t\t\t\t\t"];
        for n in 0..200usize {
            let mut line = String::new();
            if n % 3 == 0 {
                line.push_str(seps[n % seps.len()]);
            }
            for i in 0..(n % 13) {
                line.push_str(pieces[(n + i * 7) % pieces.len()]);
                line.push_str(seps[(n * 3 + i) % seps.len()]);
            }
            if n % 2 == 0 {
                line.push_str("tail");
            }
            let want: Vec<&str> = line
                .split([' ', '\t', '\r'])
                .filter(|t| !t.is_empty())
                .collect();
            let got: Vec<&str> = Tokens::new(&line).collect();
            assert_eq!(got, want, "line {line:?}");
            assert_eq!(split(&line), Some(want), "split_fields, line {line:?}");
        }
    }

    /// Every line decoded with the strict path on and off: the same flows, skips and rejections.
    /// The base line of the default format, and that line with each field replaced in turn by
    /// odd values, its separators varied, fields missing or added.
    fn odd_lines() -> ([&'static str; 14], Vec<String>) {
        let base = [
            "2",
            "123456789012",
            "eni-0a1b2c3d4e5f60718",
            "10.0.1.5",
            "203.0.113.9",
            "44321",
            "443",
            "6",
            "12",
            "3400",
            "1700000000",
            "1700000060",
            "ACCEPT",
            "OK",
        ];
        let odd = [
            "-",
            "",
            "#x",
            "x#",
            "0",
            "00",
            "007",
            "1",
            "255",
            "256",
            "65535",
            "65536",
            "4294967296",
            "9999999999999999999",
            "18446744073709551615",
            "18446744073709551616",
            "253402300799",
            "253402300800",
            "10.0.0.1",
            "010.0.0.1",
            "1.2.3",
            "1.2.3.4.5",
            "::1",
            "2001:db8::5",
            "::ffff:10.0.0.1",
            "ACCEPT",
            "REJECT",
            "accept",
            "Reject",
            "OK",
            "ok",
            "NODATA",
            "SKIPDATA",
            "FAILED",
            "é",
            "a\tb",
            "a\rb",
            "a\u{c}b",
            "a\u{0}b",
            "a\u{1}b",
            "a\u{b}b",
            "a\u{1f}b",
            "a!b",
            "\u{7f}",
            "12a",
            "+1",
            "-1",
            "1.5",
        ];
        let mut lines: Vec<String> = vec![base.join(" ")];
        for i in 0..base.len() {
            for o in odd {
                let mut f: Vec<&str> = base.to_vec();
                f[i] = o;
                lines.push(f.join(" "));
            }
        }
        for (i, sep) in [
            (1, "  "),
            (5, "\t"),
            (9, " \r "),
            (13, " "),
            (2, "\u{1}"),
            (7, "\u{1f}"),
            (3, "\u{b}"),
            (10, "\u{0}"),
        ] {
            let mut l = base[..=i].join(" ");
            l.push_str(sep);
            l.push_str(&base[i + 1..].join(" "));
            lines.push(l);
        }
        lines.push(base[..13].join(" "));
        lines.push(format!("{} extra", base.join(" ")));
        lines.push(format!("{} #comment", base.join(" ")));
        lines.push(format!("  {}\t", base.join(" ")));
        (base, lines)
    }

    #[test]
    fn strict_path_agrees_with_the_general_one() {
        let (base, lines) = odd_lines();
        let input = lines.join("\n");

        let run = |strict: bool, origin: &str| {
            let ctx = DecodeContext {
                origin: origin.into(),
                ..Default::default()
            };
            let mut dec = AwsVpcDecoder::new(&ctx);
            let mut sink = VecSink::default();
            for (n, line) in input.split('\n').enumerate() {
                dec.strict = strict && dec.strict;
                dec.decode(line.as_bytes(), n as u64 + 1, &mut sink);
            }
            (sink, dec.strict_lines)
        };
        let origins = [
            "flows.log",
            "s3://b/AWSLogs/123456789012/vpcflowlogs/eu-west-1/2024/03/05/x_20240305T1200Z_1.log.gz",
        ];
        for origin in origins {
            let (general, none) = run(false, origin);
            let (strict, taken) = run(true, origin);
            assert_eq!(none, 0);
            // The base line and every variant with another valid value took the strict path.
            assert!(taken > 30, "strict path taken {taken} times");
            assert!(general.flows.len() > 100, "{} flows", general.flows.len());
            assert_eq!(strict.flows, general.flows, "{origin}");
            assert_eq!(strict.skipped, general.skipped, "{origin}");
            let rej = |s: &VecSink| -> Vec<(u64, String, Vec<u8>)> {
                s.rejected
                    .iter()
                    .map(|r| (r.line, r.reason.clone(), r.raw.clone()))
                    .collect()
            };
            assert_eq!(rej(&strict), rej(&general), "{origin}");
        }
        // Bytes that are not UTF-8, in a text field and in a number: both paths reject the line.
        let line = base.join(" ");
        for at in [16, 50] {
            let bad = [&line.as_bytes()[..at], b"\xff\xfe", &line.as_bytes()[at..]].concat();
            for strict in [true, false] {
                let mut dec = AwsVpcDecoder::new(&DecodeContext::default());
                dec.strict = strict && dec.strict;
                let mut sink = VecSink::default();
                dec.decode(&bad, 1, &mut sink);
                assert_eq!(dec.strict_lines, 0);
                assert!(sink.flows.is_empty(), "strict {strict}, at {at}");
                assert_eq!(sink.rejected.len(), 1);
                assert_eq!(sink.rejected[0].reason, "line is not valid UTF-8");
            }
        }
    }

    #[test]
    fn lines_parsed_in_place_agree_with_line_by_line() {
        /// The trait's own line loop: every line cut at its newline, then decoded.
        struct LineByLine(AwsVpcDecoder);
        impl Decoder for LineByLine {
            fn decode(&mut self, unit: &[u8], line: u64, sink: &mut dyn RecordSink) {
                self.0.decode(unit, line, sink);
            }
        }
        let (base, lines) = odd_lines();
        let line = base.join(" ");
        let header = "version account-id interface-id srcaddr dstaddr srcport dstport protocol \
                      packets bytes start end action log-status";
        let custom = "srcaddr dstaddr bytes action";
        let long = format!("2 {} {}", "1".repeat(MAX_LINE), base[2..].join(" "));
        let mut inputs: Vec<Vec<u8>> = vec![
            lines.join("\n").into_bytes(),
            format!("{}\n", lines.join("\r\n")).into_bytes(),
            format!("\u{feff}{line}\n{line}\n\n\n{line}").into_bytes(),
            format!("{header}\n{line}\r\n{line}\r\r\n{line}\r").into_bytes(),
            format!("{custom}\n10.0.0.1 10.0.0.2 5 ACCEPT\n{line}\n{header}\n{line}\n")
                .into_bytes(),
            format!("{line}\n{long}\n{line}\n{long}").into_bytes(),
            format!("{line}\n\r\n\r{line}\n \n{line} \n{line}").into_bytes(),
            b"\n".to_vec(),
            Vec::new(),
        ];
        // A line broken off inside every one of its fields, at the input's end.
        for cut in 0..line.len() {
            inputs.push(format!("{line}\n{}", &line[..cut]).into_bytes());
        }
        let origin =
            "s3://b/AWSLogs/123456789012/vpcflowlogs/eu-west-1/2024/03/05/x_20240305T1200Z_1.log.gz";
        let ctx = DecodeContext {
            origin: origin.into(),
            ..Default::default()
        };
        let rej = |s: &VecSink| -> Vec<(u64, String, Vec<u8>)> {
            s.rejected
                .iter()
                .map(|r| (r.line, r.reason.clone(), r.raw.clone()))
                .collect()
        };
        let mut in_place_lines = 0;
        for (i, input) in inputs.iter().enumerate() {
            let mut fast = AwsVpcDecoder::new(&ctx);
            let mut fast_sink = VecSink::default();
            fast.decode_lines(input, &mut fast_sink);
            let mut slow = LineByLine(AwsVpcDecoder::new(&ctx));
            let mut slow_sink = VecSink::default();
            slow.decode_lines(input, &mut slow_sink);
            assert_eq!(fast_sink.flows, slow_sink.flows, "input {i}");
            assert_eq!(fast_sink.skipped, slow_sink.skipped, "input {i}");
            assert_eq!(rej(&fast_sink), rej(&slow_sink), "input {i}");
            in_place_lines += fast.strict_lines;
        }
        // Most lines above took the in-place path; the long lines were rejected, not stored.
        assert!(
            in_place_lines > 300,
            "{in_place_lines} lines parsed in place"
        );
        let mut dec = AwsVpcDecoder::new(&ctx);
        let mut sink = VecSink::default();
        dec.decode_lines(inputs[5].as_slice(), &mut sink);
        assert_eq!(sink.flows.len(), 2);
        assert_eq!(
            rej(&sink)
                .iter()
                .map(|r| (r.0, r.1.as_str()))
                .collect::<Vec<_>>(),
            [(2, LINE_TOO_LONG), (4, LINE_TOO_LONG)]
        );
    }

    #[test]
    fn control_and_separator_masks_are_exact() {
        // Every byte value at every position of a word, among neighbours that are and are not
        // separators, and in a short last word (padded).
        for fill in [b'a', b' ', 0u8, 0xff, b'!'] {
            for at in 0..8 {
                for v in 0..=255u8 {
                    let mut w = [fill; 8];
                    w[at] = v;
                    let want = |pred: &dyn Fn(u8) -> bool| -> u64 {
                        (0..8)
                            .filter(|&i| pred(w[i]))
                            .map(|i| 0x80u64 << (8 * i))
                            .sum()
                    };
                    let control = |b: u8| !(b'!'..0x80).contains(&b);
                    assert_eq!(controls(&w, 0), want(&control), "{w:?}");
                    let seps = want(&|b| matches!(b, b' ' | b'\t' | b'\r'));
                    assert_eq!(separators(&w, 0), seps, "{w:?}");
                    let short = &w[..=at];
                    // The bytes of `short`: the padding is never a separator.
                    let cut = u64::MAX >> (8 * (7 - at));
                    assert_eq!(controls(short, 0), want(&control) & cut, "{short:?}");
                    assert_eq!(separators(short, 0), seps & cut, "{short:?}");
                    // The same bytes ending a longer line.
                    let long = [&[b'a'; 9][..], short].concat();
                    assert_eq!(controls(&long, 9), want(&control) & cut, "{long:?}");
                    assert_eq!(separators(&long, 9), seps & cut, "{long:?}");
                }
            }
        }
    }

    #[test]
    fn decimal_agrees_with_parse_u64() {
        let mut cases: Vec<String> = vec![];
        for n in 1..=21usize {
            for d in ['0', '1', '5', '9'] {
                cases.push(std::iter::repeat_n(d, n).collect());
            }
            let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
            for _ in 0..50 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let digits: String = x.to_string().chars().cycle().take(n).collect();
                cases.push(digits.clone());
                // One byte replaced by a neighbour of the digit range, at each position.
                let pos = (x as usize) % n;
                for bad in ['/', ':', ' ', 'a', '\u{b0}'] {
                    let mut b: Vec<char> = digits.chars().collect();
                    b[pos] = bad;
                    cases.push(b.into_iter().collect());
                }
            }
        }
        cases.extend(["", "18446744073709551615", "18446744073709551616"].map(String::from));
        for c in &cases {
            // At the start of a line and after other text (the word-load path).
            assert_eq!(decimal(c.as_bytes(), 0, c.len()), parse_u64(c), "{c:?}");
            for prefix in ["x", "1234567 ", "99999999"] {
                let line = format!("{prefix}{c}");
                let got = decimal(line.as_bytes(), prefix.len(), line.len());
                assert_eq!(got, parse_u64(c), "{c:?} after {prefix:?}");
            }
        }
    }

    #[test]
    fn strict_path_only_for_the_default_layout() {
        let ctx = DecodeContext::default();
        let mut dec = AwsVpcDecoder::new(&ctx);
        assert!(dec.strict);
        let mut sink = VecSink::default();
        dec.decode(b"version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end log-status action", 1, &mut sink);
        assert!(!dec.strict, "a reordered header turns the strict path off");
        dec.decode(b"version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status", 2, &mut sink);
        assert!(dec.strict, "the default header turns it back on");
        let fields = ["version", "srcaddr", "dstaddr"];
        assert!(!decoder_for_fields(&fields, &ctx).strict);
    }

    #[test]
    fn tokens_split_runs_and_stop_at_comments() {
        let toks: Vec<&str> = Tokens::new("  a  b\tc #comment d").collect();
        assert_eq!(toks, ["a", "b", "c"]);
        assert_eq!(Tokens::new("").count(), 0);
        assert_eq!(Tokens::new("x#y").collect::<Vec<_>>(), ["x#y"]);
        assert_eq!(split("  a  b\tc #comment d"), Some(vec!["a", "b", "c"]));
        assert_eq!(split("a b #"), Some(vec!["a", "b"]));
        assert_eq!(split("a b #c"), Some(vec!["a", "b"]));
        assert_eq!(split("x#y"), Some(vec!["x#y"]));
        assert_eq!(split(""), Some(vec![]));
        // 64 fields fit; 65 do not (the caller then falls back to the iterator).
        let line = vec!["x"; 64].join(" ");
        assert_eq!(split(&line).map(|f| f.len()), Some(64));
        let line = vec!["x"; 65].join(" ");
        assert_eq!(split(&line), None);
    }

    fn split(line: &str) -> Option<Vec<&str>> {
        let mut spans = vec![];
        split_fields(line, &mut spans).then(|| {
            spans
                .iter()
                .map(|&(a, b)| &line[a as usize..b as usize])
                .collect()
        })
    }

    #[test]
    fn numbers_and_addresses() {
        assert_eq!(parse_u64("0"), Some(0));
        assert_eq!(parse_u64("18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_u64("18446744073709551616"), None);
        assert_eq!(parse_u64("-1"), None);
        assert_eq!(parse_u64(""), None);
        for ok in ["0.0.0.0", "255.255.255.255", "10.0.0.71"] {
            assert_eq!(parse_ip(ok), ok.parse().ok(), "{ok}");
        }
        for bad in [
            "256.1.1.1",
            "1.2.3",
            "1.2.3.4.5",
            "01.2.3.4",
            "1..2.3",
            "a.b.c.d",
            "",
        ] {
            assert_eq!(parse_ip(bad), None, "{bad}");
        }
        assert_eq!(parse_ip("2a02:cf40::"), "2a02:cf40::".parse().ok());
    }

    #[test]
    fn json_escaping() {
        let mut s = String::new();
        push_json_str(&mut s, "a\"b\\c\u{1}é");
        assert_eq!(s, r#""a\"b\\c\u0001é""#);
    }

    #[test]
    fn names_normalize() {
        assert_eq!(normalize_name("${Account_ID}"), "account-id");
        assert!(is_known_name("log_status"));
        assert!(!is_known_name("log_statuses"));
    }

    #[test]
    fn s3_keys() {
        let k = parse_s3_key(
            "bucket/p/AWSLogs/123456789012/vpcflowlogs/us-east-1/2018/06/20/\
             123456789012_vpcflowlogs_us-east-1_fl-1234abcd_20180620T1620Z_fe123456.log.gz",
        )
        .expect("key");
        assert_eq!(
            (k.account.as_str(), k.region.as_str()),
            ("123456789012", "us-east-1")
        );
        assert_eq!(k.date, Some((2018, 6, 20)));
        assert_eq!(k.window_start, Some(1_529_511_600_000_000));
        let h = parse_s3_key(
            "s3://b/AWSLogs/aws-account-id=111122223333/aws-service=vpcflowlogs/aws-region=eu-west-1/year=2024/month=01/day=02/hour=03/x.log.gz",
        )
        .expect("hive key");
        assert_eq!(
            (h.account.as_str(), h.region.as_str()),
            ("111122223333", "eu-west-1")
        );
        assert_eq!(h.window_start, Some((1_704_153_600 + 3 * 3600) * 1_000_000));
        assert_eq!(
            parse_s3_key("AWSLogs/1/elasticloadbalancing/us-east-1/2024/01/01/x"),
            None
        );
        assert_eq!(parse_s3_key("/var/log/flows.log"), None);
    }
}
