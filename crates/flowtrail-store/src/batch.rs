//! Arrow batch builders for the normalized tables, derived from the schema catalogue.

use std::net::IpAddr;
use std::sync::{Arc, OnceLock};

use crate::columns::{dict_type, DictIp, DictText, Int, PlainText};
use arrow::array::{ArrayRef, RecordBatch};
use arrow::datatypes::{
    DataType, Field, Int32Type, Int64Type, Schema, SchemaRef, TimeUnit, TimestampMicrosecondType,
};
use flowtrail_schema::{
    protocol_name, Action, Column, ColumnType, CompactFlow, Direction, FlowRecord, HttpRecord,
    FLOW_COLUMNS, HTTP_COLUMNS,
};

fn data_type(t: ColumnType) -> DataType {
    match t {
        ColumnType::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        ColumnType::Ip | ColumnType::Text => DataType::Utf8,
        ColumnType::Int32 => DataType::Int32,
        ColumnType::Int64 => DataType::Int64,
    }
}

/// Text columns written as Arrow dictionaries: few distinct values per file (a path, a format,
/// an account, an action) or values repeated many times (addresses), so a key per row replaces
/// a copy of the text per row, and the lake encoder writes the keys as they are. Queries see
/// them as plain text (the query layer declares every text column `Utf8View` and DataFusion
/// casts on read; Parquet stores text either way). The flow builder's field types follow this
/// list; `flow_batch_matches_catalogue` fails if they drift apart.
pub const DICT_COLUMNS: &[&str] = &[
    "src_ip",
    "dst_ip",
    "nat_src_ip",
    "nat_dst_ip",
    "client_ip",
    "server_ip",
    "source_format",
    "origin",
    "protocol_name",
    "action",
    "direction",
    "flow_state",
    "rule",
    "device",
    "account",
    "region",
    "vpc",
    "subnet",
    "instance",
    "user",
    "mac",
    "src_country",
    "dst_country",
    "ti_hits",
    "method",
    "scheme",
    "host",
    "domain",
    "content_type",
];

fn schema_of(cols: &[Column]) -> SchemaRef {
    Arc::new(Schema::new(
        cols.iter()
            .map(|c| {
                Field::new(
                    c.name,
                    if DICT_COLUMNS.contains(&c.name) {
                        dict_type()
                    } else {
                        data_type(c.ty)
                    },
                    c.nullable(),
                )
            })
            .collect::<Vec<_>>(),
    ))
}

/// Returns the Arrow schema of the `flows` table (without partition columns).
pub fn flow_schema() -> SchemaRef {
    static S: OnceLock<SchemaRef> = OnceLock::new();
    S.get_or_init(|| schema_of(FLOW_COLUMNS)).clone()
}

/// Returns the Arrow schema of the `http` table (without partition columns).
pub fn http_schema() -> SchemaRef {
    static S: OnceLock<SchemaRef> = OnceLock::new();
    S.get_or_init(|| schema_of(HTTP_COLUMNS)).clone()
}

/// Writes an IP address in canonical text form into `buf` (IPv4 by hand: it is the hot path).
#[cfg(test)]
fn ip_text(ip: &IpAddr, buf: &mut String) {
    buf.clear();
    push_ip_text(ip, buf);
}

/// Appends an IP address in canonical text form to `buf`; an IPv4-mapped IPv6 address is
/// written as plain IPv4 so equality queries match.
pub(crate) fn push_ip_text(ip: &IpAddr, buf: &mut String) {
    match ip {
        IpAddr::V4(v4) => {
            for (i, o) in v4.octets().iter().enumerate() {
                if i > 0 {
                    buf.push('.');
                }
                let o = *o;
                if o >= 100 {
                    buf.push((b'0' + o / 100) as char);
                }
                if o >= 10 {
                    buf.push((b'0' + (o / 10) % 10) as char);
                }
                buf.push((b'0' + o % 10) as char);
            }
        }
        IpAddr::V6(v6) => {
            use std::fmt::Write;
            match v6.to_ipv4_mapped() {
                Some(v4) => push_ip_text(&IpAddr::V4(v4), buf),
                None => {
                    let _ = write!(buf, "{v6}");
                }
            }
        }
    }
}

fn opt_u64(b: &mut Int<Int64Type>, v: Option<u64>) {
    // Counters above i64::MAX are not physical; clamp rather than wrap.
    b.append_option(v.map(|v| v.min(i64::MAX as u64) as i64));
}

/// Enrichment values of one flow row (all optional).
#[derive(Debug, Clone, Copy, Default)]
pub struct FlowEnrichment<'a> {
    pub src_country: Option<&'a str>,
    pub src_asn: Option<u32>,
    pub dst_country: Option<&'a str>,
    pub dst_asn: Option<u32>,
    /// Comma-separated feed names.
    pub ti_hits: Option<&'a str>,
}

/// Accumulates flow rows into Arrow columns.
pub struct FlowBatchBuilder {
    time: Int<TimestampMicrosecondType>,
    end_time: Int<TimestampMicrosecondType>,
    source_format: DictText,
    origin: DictText,
    origin_line: Int<Int64Type>,
    src_ip: DictIp,
    src_port: Int<Int32Type>,
    dst_ip: DictIp,
    dst_port: Int<Int32Type>,
    protocol: Int<Int32Type>,
    protocol_name: DictText,
    bytes_out: Int<Int64Type>,
    bytes_in: Int<Int64Type>,
    packets_out: Int<Int64Type>,
    packets_in: Int<Int64Type>,
    action: DictText,
    direction: DictText,
    flow_state: DictText,
    rule: DictText,
    device: DictText,
    account: DictText,
    region: DictText,
    vpc: DictText,
    subnet: DictText,
    instance: DictText,
    user: DictText,
    tcp_flags: Int<Int32Type>,
    nat_src_ip: DictIp,
    nat_dst_ip: DictIp,
    mac: DictText,
    extra: PlainText,
    src_country: DictText,
    src_asn: Int<Int64Type>,
    dst_country: DictText,
    dst_asn: Int<Int64Type>,
    ti_hits: DictText,
    rows: usize,
    /// The input whose format and path keys were looked up last: (id, (format, origin)).
    input: Option<(u64, (i32, i32))>,
}

/// Identifies the input rows come from, for [`FlowBatchBuilder::push_input`]. `id` must be
/// unique per input within a run (two inputs never share one).
#[derive(Debug, Clone, Copy)]
pub struct InputTag<'a> {
    pub id: u64,
    pub source_format: &'a str,
    pub origin: &'a str,
}

impl Default for FlowBatchBuilder {
    fn default() -> Self {
        Self::new()
    }
}

/// Rows a builder reserves room for up front (it grows past this as needed).
const INITIAL_ROWS: usize = 16 * 1024;

fn ts_col(rows: usize) -> Int<TimestampMicrosecondType> {
    Int::with_capacity(rows).with_data_type(data_type(ColumnType::Timestamp))
}

impl FlowBatchBuilder {
    /// Creates an empty builder.
    pub fn new() -> Self {
        Self::with_capacity(INITIAL_ROWS)
    }

    /// Creates an empty builder with room for `rows` rows.
    pub fn with_capacity(rows: usize) -> Self {
        let dict = || DictText::with_capacity(rows);
        let i32c = || Int::<Int32Type>::with_capacity(rows);
        let i64c = || Int::<Int64Type>::with_capacity(rows);
        FlowBatchBuilder {
            time: ts_col(rows),
            end_time: ts_col(rows),
            source_format: dict(),
            origin: dict(),
            origin_line: i64c(),
            src_ip: DictIp::with_capacity(rows),
            src_port: i32c(),
            dst_ip: DictIp::with_capacity(rows),
            dst_port: i32c(),
            protocol: i32c(),
            protocol_name: dict(),
            bytes_out: i64c(),
            bytes_in: i64c(),
            packets_out: i64c(),
            packets_in: i64c(),
            action: dict(),
            direction: dict(),
            flow_state: dict(),
            rule: dict(),
            device: dict(),
            account: dict(),
            region: dict(),
            vpc: dict(),
            subnet: dict(),
            instance: dict(),
            user: dict(),
            tcp_flags: i32c(),
            nat_src_ip: DictIp::with_capacity(rows),
            nat_dst_ip: DictIp::with_capacity(rows),
            mac: dict(),
            extra: PlainText::with_capacity(rows, 32),
            src_country: dict(),
            src_asn: i64c(),
            dst_country: dict(),
            dst_asn: i64c(),
            ti_hits: dict(),
            rows: 0,
            input: None,
        }
    }

    /// Returns the number of rows buffered.
    pub fn len(&self) -> usize {
        self.rows
    }

    /// Returns true when no row is buffered.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Bytes of text buffered over all text columns (the writer flushes before a column nears
    /// Arrow's 2 GiB limit).
    pub fn text_bytes(&self) -> usize {
        let ips = [
            &self.src_ip,
            &self.dst_ip,
            &self.nat_src_ip,
            &self.nat_dst_ip,
        ];
        let dict = [
            &self.source_format,
            &self.origin,
            &self.protocol_name,
            &self.action,
            &self.direction,
            &self.flow_state,
            &self.rule,
            &self.device,
            &self.account,
            &self.region,
            &self.vpc,
            &self.subnet,
            &self.instance,
            &self.user,
            &self.mac,
            &self.src_country,
            &self.dst_country,
            &self.ti_hits,
        ];
        self.extra.text_bytes()
            + ips.iter().map(|c| c.text_bytes()).sum::<usize>()
            + dict.iter().map(|c| c.text_bytes()).sum::<usize>()
    }

    /// Appends one row without enrichment. `direction` is the resolved direction (the
    /// record's own, or derived).
    pub fn push(
        &mut self,
        r: &FlowRecord<'_>,
        source_format: &str,
        origin: &str,
        direction: Option<Direction>,
    ) {
        self.push_enriched(
            r,
            source_format,
            origin,
            direction,
            &FlowEnrichment::default(),
        );
    }

    /// Appends one row with its enrichment values.
    pub fn push_enriched(
        &mut self,
        r: &FlowRecord<'_>,
        source_format: &str,
        origin: &str,
        direction: Option<Direction>,
        e: &FlowEnrichment<'_>,
    ) {
        let keys = (
            self.source_format.key_of(source_format),
            self.origin.key_of(origin),
        );
        self.push_keyed(keys, r, direction, e);
    }

    /// Appends one row of the input `input`: its format and path are looked up once per
    /// input and batch, not compared per row.
    pub fn push_input(
        &mut self,
        input: &InputTag<'_>,
        r: &FlowRecord<'_>,
        direction: Option<Direction>,
        e: &FlowEnrichment<'_>,
    ) {
        let keys = self.input_keys(input);
        self.push_keyed(keys, r, direction, e);
    }

    /// Appends one row of the input `input` given in the compact shape, without enrichment:
    /// the same row [`FlowBatchBuilder::push_input`] appends for [`CompactFlow::to_record`],
    /// with the columns the shape leaves empty counted as nulls.
    pub fn push_compact(
        &mut self,
        input: &InputTag<'_>,
        r: &CompactFlow<'_>,
        direction: Option<Direction>,
    ) {
        let (format_key, origin_key) = self.input_keys(input);
        self.time.append_value(r.time);
        self.end_time.append_value(r.end_time);
        self.source_format.append_key(format_key);
        self.origin.append_key(origin_key);
        self.origin_line
            .append_value(r.origin_line.min(i64::MAX as u64) as i64);
        self.src_ip.append_v4(r.src_ip);
        self.src_port.append_value(i32::from(r.src_port));
        self.dst_ip.append_v4(r.dst_ip);
        self.dst_port.append_value(i32::from(r.dst_port));
        self.protocol.append_value(i32::from(r.protocol));
        self.protocol_name_of(Some(r.protocol));
        self.bytes_out
            .append_value(r.bytes_out.min(i64::MAX as u64) as i64);
        self.bytes_in.append_null();
        self.packets_out
            .append_value(r.packets_out.min(i64::MAX as u64) as i64);
        self.packets_in.append_null();
        self.action_and_direction(Some(r.action), direction);
        self.flow_state.append_static(Some(r.flow_state));
        self.rule.append_null();
        self.device.append_bytes(r.device);
        self.account.append_bytes(r.account);
        self.region.append_option(r.region);
        for c in [
            &mut self.vpc,
            &mut self.subnet,
            &mut self.instance,
            &mut self.user,
            &mut self.mac,
            &mut self.src_country,
            &mut self.dst_country,
            &mut self.ti_hits,
        ] {
            c.append_null();
        }
        self.tcp_flags.append_null();
        self.nat_src_ip.append_option(None);
        self.nat_dst_ip.append_option(None);
        self.extra.append_null();
        self.src_asn.append_null();
        self.dst_asn.append_null();
        self.rows += 1;
    }

    /// Appends the protocol's name, keyed by its number.
    #[inline]
    fn protocol_name_of(&mut self, protocol: Option<u8>) {
        match protocol {
            Some(p) => self.protocol_name.append_coded(p, protocol_name),
            None => self.protocol_name.append_null(),
        }
    }

    /// Appends the action and direction, keyed by their codes.
    #[inline]
    fn action_and_direction(&mut self, action: Option<Action>, direction: Option<Direction>) {
        match action {
            Some(a) => self.action.append_coded(a as u8, |_| Some(a.as_str())),
            None => self.action.append_null(),
        }
        match direction {
            Some(d) => self.direction.append_coded(d as u8, |_| Some(d.as_str())),
            None => self.direction.append_null(),
        }
    }

    /// The dictionary keys of an input's format and path: looked up once per input and batch.
    #[inline]
    fn input_keys(&mut self, input: &InputTag<'_>) -> (i32, i32) {
        match self.input {
            Some((id, keys)) if id == input.id => keys,
            _ => {
                let keys = (
                    self.source_format.key_of(input.source_format),
                    self.origin.key_of(input.origin),
                );
                self.input = Some((input.id, keys));
                keys
            }
        }
    }

    fn push_keyed(
        &mut self,
        (format_key, origin_key): (i32, i32),
        r: &FlowRecord<'_>,
        direction: Option<Direction>,
        e: &FlowEnrichment<'_>,
    ) {
        self.time.append_value(r.time);
        self.end_time.append_option(r.end_time);
        self.source_format.append_key(format_key);
        self.origin.append_key(origin_key);
        self.origin_line
            .append_value(r.origin_line.min(i64::MAX as u64) as i64);
        self.src_ip.append_option(r.src_ip.as_ref());
        self.src_port.append_option(r.src_port.map(i32::from));
        self.dst_ip.append_option(r.dst_ip.as_ref());
        self.dst_port.append_option(r.dst_port.map(i32::from));
        self.protocol.append_option(r.protocol.map(i32::from));
        self.protocol_name_of(r.protocol);
        opt_u64(&mut self.bytes_out, r.bytes_out);
        opt_u64(&mut self.bytes_in, r.bytes_in);
        opt_u64(&mut self.packets_out, r.packets_out);
        opt_u64(&mut self.packets_in, r.packets_in);
        self.action_and_direction(r.action, direction);
        self.flow_state.append_option(r.flow_state.as_deref());
        self.rule.append_option(r.rule.as_deref());
        self.device.append_option(r.device.as_deref());
        self.account.append_option(r.account.as_deref());
        self.region.append_option(r.region.as_deref());
        self.vpc.append_option(r.vpc.as_deref());
        self.subnet.append_option(r.subnet.as_deref());
        self.instance.append_option(r.instance.as_deref());
        self.user.append_option(r.user.as_deref());
        self.tcp_flags.append_option(r.tcp_flags.map(i32::from));
        self.nat_src_ip.append_option(r.nat_src_ip.as_ref());
        self.nat_dst_ip.append_option(r.nat_dst_ip.as_ref());
        self.mac.append_option(r.mac.as_deref());
        self.extra.append_option(r.extra.as_deref());
        self.src_country.append_option(e.src_country);
        self.src_asn.append_option(e.src_asn.map(i64::from));
        self.dst_country.append_option(e.dst_country);
        self.dst_asn.append_option(e.dst_asn.map(i64::from));
        self.ti_hits.append_option(e.ti_hits);
        self.rows += 1;
    }

    /// Takes the buffered rows as a record batch, leaving the builder empty.
    pub fn finish(&mut self) -> RecordBatch {
        let cols: Vec<ArrayRef> = vec![
            self.time.finish(),
            self.end_time.finish(),
            self.source_format.finish(),
            self.origin.finish(),
            self.origin_line.finish(),
            self.src_ip.finish(),
            self.src_port.finish(),
            self.dst_ip.finish(),
            self.dst_port.finish(),
            self.protocol.finish(),
            self.protocol_name.finish(),
            self.bytes_out.finish(),
            self.bytes_in.finish(),
            self.packets_out.finish(),
            self.packets_in.finish(),
            self.action.finish(),
            self.direction.finish(),
            self.flow_state.finish(),
            self.rule.finish(),
            self.device.finish(),
            self.account.finish(),
            self.region.finish(),
            self.vpc.finish(),
            self.subnet.finish(),
            self.instance.finish(),
            self.user.finish(),
            self.tcp_flags.finish(),
            self.nat_src_ip.finish(),
            self.nat_dst_ip.finish(),
            self.mac.finish(),
            self.extra.finish(),
            self.src_country.finish(),
            self.src_asn.finish(),
            self.dst_country.finish(),
            self.dst_asn.finish(),
            self.ti_hits.finish(),
        ];
        self.rows = 0;
        self.input = None;
        // The column list mirrors FLOW_COLUMNS; a mismatch is a programming error caught by tests.
        RecordBatch::try_new(flow_schema(), cols).unwrap_or_else(|e| {
            unreachable!("flow batch columns out of step with FLOW_COLUMNS: {e}")
        })
    }
}

/// Accumulates HTTP rows into Arrow columns.
pub struct HttpBatchBuilder {
    time: Int<TimestampMicrosecondType>,
    texts: Vec<TextCol>,
    client_ip: DictIp,
    server_ip: DictIp,
    server_port: Int<Int32Type>,
    status: Int<Int32Type>,
    bytes_in: Int<Int64Type>,
    bytes_out: Int<Int64Type>,
    duration_ms: Int<Int64Type>,
    origin_line: Int<Int64Type>,
    rows: usize,
}

/// A text column of `http`: dictionary-encoded or plain (see [`DICT_COLUMNS`]).
enum TextCol {
    Dict(DictText),
    Plain(PlainText),
}

impl TextCol {
    fn append_option(&mut self, v: Option<&str>) {
        match self {
            TextCol::Dict(c) => c.append_option(v),
            TextCol::Plain(c) => c.append_option(v),
        }
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            TextCol::Dict(c) => c.finish(),
            TextCol::Plain(c) => c.finish(),
        }
    }
}

impl Default for HttpBatchBuilder {
    fn default() -> Self {
        Self::new()
    }
}

/// Text columns of `http`, in the order `HttpBatchBuilder::texts` holds them.
const HTTP_TEXTS: &[&str] = &[
    "source_format",
    "origin",
    "user",
    "device",
    "method",
    "url",
    "scheme",
    "host",
    "domain",
    "path",
    "query",
    "user_agent",
    "referrer",
    "content_type",
    "action",
    "extra",
    "ti_hits",
];

impl HttpBatchBuilder {
    /// Creates an empty builder.
    pub fn new() -> Self {
        Self::with_capacity(INITIAL_ROWS)
    }

    /// Creates an empty builder with room for `rows` rows.
    pub fn with_capacity(rows: usize) -> Self {
        HttpBatchBuilder {
            time: ts_col(rows),
            texts: HTTP_TEXTS
                .iter()
                .map(|name| {
                    if DICT_COLUMNS.contains(name) {
                        TextCol::Dict(DictText::with_capacity(rows))
                    } else {
                        TextCol::Plain(PlainText::with_capacity(rows, 24))
                    }
                })
                .collect(),
            client_ip: DictIp::with_capacity(rows),
            server_ip: DictIp::with_capacity(rows),
            server_port: Int::with_capacity(rows),
            status: Int::with_capacity(rows),
            bytes_in: Int::with_capacity(rows),
            bytes_out: Int::with_capacity(rows),
            duration_ms: Int::with_capacity(rows),
            origin_line: Int::with_capacity(rows),
            rows: 0,
        }
    }

    /// Returns the number of rows buffered.
    pub fn len(&self) -> usize {
        self.rows
    }

    /// Returns true when no row is buffered.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Bytes of text buffered over all text columns.
    pub fn text_bytes(&self) -> usize {
        self.client_ip.text_bytes()
            + self.server_ip.text_bytes()
            + self
                .texts
                .iter()
                .map(|t| match t {
                    TextCol::Dict(c) => c.text_bytes(),
                    TextCol::Plain(c) => c.text_bytes(),
                })
                .sum::<usize>()
    }

    /// Appends one row without enrichment.
    pub fn push(&mut self, r: &HttpRecord<'_>, source_format: &str, origin: &str) {
        self.push_enriched(r, source_format, origin, None);
    }

    /// Appends one row; `ti_hits` is the comma-separated names of the feeds that matched it.
    pub fn push_enriched(
        &mut self,
        r: &HttpRecord<'_>,
        source_format: &str,
        origin: &str,
        ti_hits: Option<&str>,
    ) {
        self.time.append_value(r.time);
        self.origin_line
            .append_value(r.origin_line.min(i64::MAX as u64) as i64);
        self.client_ip.append_option(r.client_ip.as_ref());
        self.server_ip.append_option(r.server_ip.as_ref());
        self.server_port.append_option(r.server_port.map(i32::from));
        self.status.append_option(r.status.map(i32::from));
        opt_u64(&mut self.bytes_in, r.bytes_in);
        opt_u64(&mut self.bytes_out, r.bytes_out);
        opt_u64(&mut self.duration_ms, r.duration_ms);
        let vals: [Option<&str>; 17] = [
            Some(source_format),
            Some(origin),
            r.user.as_deref(),
            r.device.as_deref(),
            r.method.as_deref(),
            r.url.as_deref(),
            r.scheme.as_deref(),
            r.host.as_deref(),
            r.domain.as_deref(),
            r.path.as_deref(),
            r.query.as_deref(),
            r.user_agent.as_deref(),
            r.referrer.as_deref(),
            r.content_type.as_deref(),
            r.action.map(|a| a.as_str()),
            r.extra.as_deref(),
            ti_hits,
        ];
        for (b, v) in self.texts.iter_mut().zip(vals) {
            b.append_option(v);
        }
        self.rows += 1;
    }

    /// Takes the buffered rows as a record batch, leaving the builder empty.
    pub fn finish(&mut self) -> RecordBatch {
        let schema = http_schema();
        let mut texts: Vec<Option<ArrayRef>> =
            self.texts.iter_mut().map(|b| Some(b.finish())).collect();
        let mut cols = Vec::with_capacity(schema.fields().len());
        for f in schema.fields() {
            let a: ArrayRef = match f.name().as_str() {
                "time" => self.time.finish(),
                "origin_line" => self.origin_line.finish(),
                "client_ip" => self.client_ip.finish(),
                "server_ip" => self.server_ip.finish(),
                "server_port" => self.server_port.finish(),
                "status" => self.status.finish(),
                "bytes_in" => self.bytes_in.finish(),
                "bytes_out" => self.bytes_out.finish(),
                "duration_ms" => self.duration_ms.finish(),
                name => HTTP_TEXTS
                    .iter()
                    .position(|t| *t == name)
                    .and_then(|i| texts[i].take())
                    .unwrap_or_else(|| unreachable!("http column {name} has no builder")),
            };
            cols.push(a);
        }
        self.rows = 0;
        RecordBatch::try_new(schema, cols).unwrap_or_else(|e| {
            unreachable!("http batch columns out of step with HTTP_COLUMNS: {e}")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::AsArray;

    #[test]
    fn flow_batch_matches_catalogue() {
        let mut b = FlowBatchBuilder::new();
        let rec = FlowRecord {
            time: 1_000_000,
            src_ip: Some("10.1.2.3".parse().expect("ip")),
            dst_ip: Some("::ffff:192.0.2.1".parse().expect("ip")),
            protocol: Some(6),
            ..Default::default()
        };
        b.push(&rec, "aws_vpc", "f.log", Some(Direction::Outbound));
        let batch = b.finish();
        assert_eq!(batch.num_rows(), 1);
        assert_eq!(batch.num_columns(), FLOW_COLUMNS.len());
        let dst = batch.column_by_name("dst_ip").expect("dst_ip");
        let dst = arrow::compute::cast(dst, &DataType::Utf8).expect("cast");
        assert_eq!(dst.as_string::<i32>().value(0), "192.0.2.1");
        let pn = batch.column_by_name("protocol_name").expect("pn");
        assert!(!pn.is_null(0));
    }

    /// Random compact flows: addresses from a small pool (so keys repeat), protocols with and
    /// without a name, counters past `i64::MAX`, regions present and absent.
    fn compact_flows(n: usize) -> Vec<(CompactFlow<'static>, Option<Direction>)> {
        use flowtrail_gen::Rng;
        use flowtrail_schema::Action;
        let mut rng = Rng::new(7, 3);
        let words = ["eni-0a", "eni-1b", "", "123456789012", "OK", "eu-west-1"];
        let dirs = [
            None,
            Some(Direction::Inbound),
            Some(Direction::Outbound),
            Some(Direction::Internal),
        ];
        (0..n)
            .map(|i| {
                let mut pick = |k: u64| rng.below(k) as usize;
                let ip = |x: usize| std::net::Ipv4Addr::from(0x0a00_0000 + x as u32 * 7919);
                let f = CompactFlow {
                    time: 1_700_000_000_000_000 + pick(4000) as i64 * 1_000_000,
                    end_time: 1_700_000_060_000_000 - pick(3) as i64,
                    origin_line: i as u64 + 1,
                    src_ip: ip(pick(40)),
                    src_port: pick(70_000).min(65_535) as u16,
                    dst_ip: ip(pick(40)),
                    dst_port: [22, 443, 0, 65_535][pick(4)],
                    protocol: [6, 17, 1, 253, 0][pick(5)],
                    bytes_out: [0, 1, 1 << 40, u64::MAX - 1][pick(4)] + pick(2) as u64,
                    packets_out: [1, 2, u64::MAX - 1][pick(3)],
                    action: [Action::Allowed, Action::Denied][pick(2)],
                    flow_state: ["OK", "NODATA"][pick(2)],
                    device: words[pick(3)].as_bytes(),
                    account: words[3 + pick(2)].as_bytes(),
                    region: [None, Some("eu-west-1"), Some("us-east-1")][pick(3)],
                };
                (f, dirs[pick(4)])
            })
            .collect()
    }

    #[test]
    fn compact_rows_equal_full_rows() {
        let rows = compact_flows(3000);
        let tags = [
            InputTag {
                id: 1,
                source_format: "aws_vpc",
                origin: "a.log",
            },
            InputTag {
                id: 2,
                source_format: "aws_vpc",
                origin: "b.log",
            },
        ];
        let none = FlowEnrichment::default();
        let mut full = FlowBatchBuilder::new();
        let mut compact = FlowBatchBuilder::new();
        let mut mixed = FlowBatchBuilder::new();
        for (i, (f, dir)) in rows.iter().enumerate() {
            let tag = &tags[i / 1000 % 2];
            full.push_input(tag, &f.to_record(), *dir, &none);
            compact.push_compact(tag, f, *dir);
            // Runs of each path, so a key one path issues must be found by the other.
            if i / 7 % 2 == 0 {
                mixed.push_compact(tag, f, *dir);
            } else {
                mixed.push_input(tag, &f.to_record(), *dir, &none);
            }
        }
        let (full, compact, mixed) = (full.finish(), compact.finish(), mixed.finish());
        assert_eq!(full.num_rows(), 3000);
        for (i, c) in FLOW_COLUMNS.iter().enumerate() {
            assert_eq!(full.column(i), compact.column(i), "column {}", c.name);
            assert_eq!(full.column(i), mixed.column(i), "column {} (mixed)", c.name);
        }
    }

    #[test]
    fn text_bytes_count_what_is_buffered() {
        let mut b = FlowBatchBuilder::new();
        let rec = FlowRecord {
            time: 1,
            src_ip: Some("10.1.2.3".parse().expect("ip")),
            extra: Some("{\"k\":\"v\"}".into()),
            ..Default::default()
        };
        for _ in 0..3 {
            b.push(&rec, "aws_vpc", "f.log", None);
        }
        // Per row: extra (9); once: the address (8), "aws_vpc" (7) and "f.log" (5).
        assert_eq!(b.text_bytes(), 3 * 9 + 8 + 7 + 5);
        b.finish();
        assert_eq!(b.text_bytes(), 0);
    }

    #[test]
    fn http_batch_matches_catalogue() {
        let mut b = HttpBatchBuilder::new();
        b.push(
            &HttpRecord {
                time: 5,
                method: Some("GET".into()),
                ..Default::default()
            },
            "nginx",
            "x",
        );
        let batch = b.finish();
        assert_eq!(batch.num_columns(), HTTP_COLUMNS.len());
        assert_eq!(batch.num_rows(), 1);
    }

    #[test]
    fn ipv4_text_is_canonical() {
        let mut s = String::new();
        for ip in ["0.0.0.0", "255.255.255.255", "10.0.100.9", "1.20.3.40"] {
            ip_text(&ip.parse().expect("ip"), &mut s);
            assert_eq!(s, ip);
        }
    }
}
