//! Arrow batch builders for the normalized tables, derived from the schema catalogue.

use std::net::IpAddr;
use std::sync::{Arc, OnceLock};

use arrow::array::{
    ArrayRef, Int32Builder, Int64Builder, RecordBatch, StringBuilder, TimestampMicrosecondBuilder,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use flowtrail_schema::{
    protocol_name, Column, ColumnType, Direction, FlowRecord, HttpRecord, FLOW_COLUMNS,
    HTTP_COLUMNS,
};

fn data_type(t: ColumnType) -> DataType {
    match t {
        ColumnType::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        ColumnType::Ip | ColumnType::Text => DataType::Utf8,
        ColumnType::Int32 => DataType::Int32,
        ColumnType::Int64 => DataType::Int64,
    }
}

fn schema_of(cols: &[Column]) -> SchemaRef {
    Arc::new(Schema::new(
        cols.iter()
            .map(|c| {
                Field::new(
                    c.name,
                    data_type(c.ty),
                    c.name != "time" && c.name != "source_format",
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
fn ip_text(ip: &IpAddr, buf: &mut String) {
    buf.clear();
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
            // An IPv4-mapped address is stored as plain IPv4 so equality queries match.
            match v6.to_ipv4_mapped() {
                Some(v4) => ip_text(&IpAddr::V4(v4), buf),
                None => {
                    let _ = write!(buf, "{v6}");
                }
            }
        }
    }
}

fn opt_ip(b: &mut StringBuilder, ip: &Option<IpAddr>, scratch: &mut String) {
    match ip {
        Some(ip) => {
            ip_text(ip, scratch);
            b.append_value(scratch.as_str());
        }
        None => b.append_null(),
    }
}

fn opt_u64(b: &mut Int64Builder, v: Option<u64>) {
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
    time: TimestampMicrosecondBuilder,
    end_time: TimestampMicrosecondBuilder,
    source_format: StringBuilder,
    origin: StringBuilder,
    origin_line: Int64Builder,
    src_ip: StringBuilder,
    src_port: Int32Builder,
    dst_ip: StringBuilder,
    dst_port: Int32Builder,
    protocol: Int32Builder,
    protocol_name: StringBuilder,
    bytes_out: Int64Builder,
    bytes_in: Int64Builder,
    packets_out: Int64Builder,
    packets_in: Int64Builder,
    action: StringBuilder,
    direction: StringBuilder,
    flow_state: StringBuilder,
    rule: StringBuilder,
    device: StringBuilder,
    account: StringBuilder,
    region: StringBuilder,
    vpc: StringBuilder,
    subnet: StringBuilder,
    instance: StringBuilder,
    user: StringBuilder,
    tcp_flags: Int32Builder,
    nat_src_ip: StringBuilder,
    nat_dst_ip: StringBuilder,
    mac: StringBuilder,
    extra: StringBuilder,
    src_country: StringBuilder,
    src_asn: Int64Builder,
    dst_country: StringBuilder,
    dst_asn: Int64Builder,
    ti_hits: StringBuilder,
    scratch: String,
    rows: usize,
}

impl Default for FlowBatchBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl FlowBatchBuilder {
    /// Creates an empty builder.
    pub fn new() -> Self {
        FlowBatchBuilder {
            time: TimestampMicrosecondBuilder::new().with_timezone("UTC"),
            end_time: TimestampMicrosecondBuilder::new().with_timezone("UTC"),
            source_format: StringBuilder::new(),
            origin: StringBuilder::new(),
            origin_line: Int64Builder::new(),
            src_ip: StringBuilder::new(),
            src_port: Int32Builder::new(),
            dst_ip: StringBuilder::new(),
            dst_port: Int32Builder::new(),
            protocol: Int32Builder::new(),
            protocol_name: StringBuilder::new(),
            bytes_out: Int64Builder::new(),
            bytes_in: Int64Builder::new(),
            packets_out: Int64Builder::new(),
            packets_in: Int64Builder::new(),
            action: StringBuilder::new(),
            direction: StringBuilder::new(),
            flow_state: StringBuilder::new(),
            rule: StringBuilder::new(),
            device: StringBuilder::new(),
            account: StringBuilder::new(),
            region: StringBuilder::new(),
            vpc: StringBuilder::new(),
            subnet: StringBuilder::new(),
            instance: StringBuilder::new(),
            user: StringBuilder::new(),
            tcp_flags: Int32Builder::new(),
            nat_src_ip: StringBuilder::new(),
            nat_dst_ip: StringBuilder::new(),
            mac: StringBuilder::new(),
            extra: StringBuilder::new(),
            src_country: StringBuilder::new(),
            src_asn: Int64Builder::new(),
            dst_country: StringBuilder::new(),
            dst_asn: Int64Builder::new(),
            ti_hits: StringBuilder::new(),
            scratch: String::with_capacity(48),
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
        self.time.append_value(r.time);
        self.end_time.append_option(r.end_time);
        self.source_format.append_value(source_format);
        self.origin.append_value(origin);
        self.origin_line
            .append_value(r.origin_line.min(i64::MAX as u64) as i64);
        opt_ip(&mut self.src_ip, &r.src_ip, &mut self.scratch);
        self.src_port.append_option(r.src_port.map(i32::from));
        opt_ip(&mut self.dst_ip, &r.dst_ip, &mut self.scratch);
        self.dst_port.append_option(r.dst_port.map(i32::from));
        self.protocol.append_option(r.protocol.map(i32::from));
        self.protocol_name
            .append_option(r.protocol.and_then(protocol_name));
        opt_u64(&mut self.bytes_out, r.bytes_out);
        opt_u64(&mut self.bytes_in, r.bytes_in);
        opt_u64(&mut self.packets_out, r.packets_out);
        opt_u64(&mut self.packets_in, r.packets_in);
        self.action.append_option(r.action.map(|a| a.as_str()));
        self.direction.append_option(direction.map(|d| d.as_str()));
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
        opt_ip(&mut self.nat_src_ip, &r.nat_src_ip, &mut self.scratch);
        opt_ip(&mut self.nat_dst_ip, &r.nat_dst_ip, &mut self.scratch);
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
            Arc::new(self.time.finish()),
            Arc::new(self.end_time.finish()),
            Arc::new(self.source_format.finish()),
            Arc::new(self.origin.finish()),
            Arc::new(self.origin_line.finish()),
            Arc::new(self.src_ip.finish()),
            Arc::new(self.src_port.finish()),
            Arc::new(self.dst_ip.finish()),
            Arc::new(self.dst_port.finish()),
            Arc::new(self.protocol.finish()),
            Arc::new(self.protocol_name.finish()),
            Arc::new(self.bytes_out.finish()),
            Arc::new(self.bytes_in.finish()),
            Arc::new(self.packets_out.finish()),
            Arc::new(self.packets_in.finish()),
            Arc::new(self.action.finish()),
            Arc::new(self.direction.finish()),
            Arc::new(self.flow_state.finish()),
            Arc::new(self.rule.finish()),
            Arc::new(self.device.finish()),
            Arc::new(self.account.finish()),
            Arc::new(self.region.finish()),
            Arc::new(self.vpc.finish()),
            Arc::new(self.subnet.finish()),
            Arc::new(self.instance.finish()),
            Arc::new(self.user.finish()),
            Arc::new(self.tcp_flags.finish()),
            Arc::new(self.nat_src_ip.finish()),
            Arc::new(self.nat_dst_ip.finish()),
            Arc::new(self.mac.finish()),
            Arc::new(self.extra.finish()),
            Arc::new(self.src_country.finish()),
            Arc::new(self.src_asn.finish()),
            Arc::new(self.dst_country.finish()),
            Arc::new(self.dst_asn.finish()),
            Arc::new(self.ti_hits.finish()),
        ];
        self.rows = 0;
        // The column list mirrors FLOW_COLUMNS; a mismatch is a programming error caught by tests.
        RecordBatch::try_new(flow_schema(), cols).unwrap_or_else(|e| {
            unreachable!("flow batch columns out of step with FLOW_COLUMNS: {e}")
        })
    }
}

/// Accumulates HTTP rows into Arrow columns.
pub struct HttpBatchBuilder {
    time: TimestampMicrosecondBuilder,
    texts: Vec<StringBuilder>,
    client_ip: StringBuilder,
    server_ip: StringBuilder,
    server_port: Int32Builder,
    status: Int32Builder,
    bytes_in: Int64Builder,
    bytes_out: Int64Builder,
    duration_ms: Int64Builder,
    origin_line: Int64Builder,
    scratch: String,
    rows: usize,
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
        HttpBatchBuilder {
            time: TimestampMicrosecondBuilder::new().with_timezone("UTC"),
            texts: HTTP_TEXTS.iter().map(|_| StringBuilder::new()).collect(),
            client_ip: StringBuilder::new(),
            server_ip: StringBuilder::new(),
            server_port: Int32Builder::new(),
            status: Int32Builder::new(),
            bytes_in: Int64Builder::new(),
            bytes_out: Int64Builder::new(),
            duration_ms: Int64Builder::new(),
            origin_line: Int64Builder::new(),
            scratch: String::new(),
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
        opt_ip(&mut self.client_ip, &r.client_ip, &mut self.scratch);
        opt_ip(&mut self.server_ip, &r.server_ip, &mut self.scratch);
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
        let mut texts: Vec<ArrayRef> = self
            .texts
            .iter_mut()
            .map(|b| Arc::new(b.finish()) as ArrayRef)
            .collect();
        let mut cols = Vec::with_capacity(schema.fields().len());
        for f in schema.fields() {
            let a: ArrayRef = match f.name().as_str() {
                "time" => Arc::new(self.time.finish()),
                "origin_line" => Arc::new(self.origin_line.finish()),
                "client_ip" => Arc::new(self.client_ip.finish()),
                "server_ip" => Arc::new(self.server_ip.finish()),
                "server_port" => Arc::new(self.server_port.finish()),
                "status" => Arc::new(self.status.finish()),
                "bytes_in" => Arc::new(self.bytes_in.finish()),
                "bytes_out" => Arc::new(self.bytes_out.finish()),
                "duration_ms" => Arc::new(self.duration_ms.finish()),
                name => {
                    let i = HTTP_TEXTS
                        .iter()
                        .position(|t| *t == name)
                        .unwrap_or_else(|| unreachable!("http column {name} has no builder"));
                    std::mem::replace(
                        &mut texts[i],
                        Arc::new(arrow::array::StringArray::from(Vec::<Option<&str>>::new())),
                    )
                }
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
    use arrow::array::{Array, StringArray};

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
        let dst = batch
            .column_by_name("dst_ip")
            .and_then(|c| c.as_any().downcast_ref::<StringArray>())
            .expect("dst_ip");
        assert_eq!(dst.value(0), "192.0.2.1");
        let pn = batch.column_by_name("protocol_name").expect("pn");
        assert!(!pn.is_null(0));
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
