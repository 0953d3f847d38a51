/// The logical type of a column; the store maps it to Arrow/Parquet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// Microseconds since the Unix epoch, UTC (`TIMESTAMP(6) WITH TIME ZONE 'UTC'`).
    Timestamp,
    /// An IPv4 or IPv6 address in canonical text form (see ARCHITECTURE.md, "IP columns").
    Ip,
    /// UTF-8 text.
    Text,
    /// 32-bit signed integer (ports, protocol numbers, status codes, flags).
    Int32,
    /// 64-bit signed integer (counters, line numbers).
    Int64,
}

impl ColumnType {
    /// Returns the SQL type name shown in the docs.
    pub fn sql_name(self) -> &'static str {
        match self {
            ColumnType::Timestamp => "TIMESTAMP(µs, UTC)",
            ColumnType::Ip => "VARCHAR (IP)",
            ColumnType::Text => "VARCHAR",
            ColumnType::Int32 => "INT",
            ColumnType::Int64 => "BIGINT",
        }
    }
}

/// One column of a normalized table: the only place its meaning is written down.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub name: &'static str,
    pub ty: ColumnType,
    /// The OCSF attribute path (and ECS field) this column corresponds to.
    pub ocsf: &'static str,
    pub doc: &'static str,
}

impl Column {
    /// Whether rows may lack a value: every column but `time` and `source_format`, which every
    /// decoder fills.
    pub fn nullable(&self) -> bool {
        self.name != "time" && self.name != "source_format"
    }
}

const fn col(name: &'static str, ty: ColumnType, ocsf: &'static str, doc: &'static str) -> Column {
    Column {
        name,
        ty,
        ocsf,
        doc,
    }
}

use ColumnType::*;

/// Columns of the `flows` table, in storage order. The enrichment columns come last and are
/// nullable: files written before they existed read them as NULL.
pub const FLOW_COLUMNS: &[Column] = &[
    col("time", Timestamp, "start_time / `event.start`", "Start of the flow or of the source's aggregation window (AWS `start`, Azure tuple time, NetFlow first switched). OCSF `time` uses the same value, following Amazon Security Lake."),
    col("end_time", Timestamp, "end_time / `event.end`", "End of the flow or window, where the source reports it."),
    col("source_format", Text, "metadata.product / `event.module`", "Decoder that produced the row: `aws_vpc`, `azure_nsg`, `azure_vnet`, ..."),
    col("origin", Text, "metadata.log_name / `log.file.path`", "File path or object key the row was read from (`-` for stdin)."),
    col("origin_line", Int64, "metadata.log_position / `log.offset`", "1-based line of the record in its origin; for JSON documents (Azure PT1H.json) the 1-based ordinal of the flow tuple in the document."),
    col("src_ip", Ip, "src_endpoint.ip / `source.ip`", "Source address (packet source for per-direction sources like AWS, initiator for connection-oriented sources like Azure v2)."),
    col("src_port", Int32, "src_endpoint.port / `source.port`", "Source port; absent for protocols without ports."),
    col("dst_ip", Ip, "dst_endpoint.ip / `destination.ip`", "Destination address."),
    col("dst_port", Int32, "dst_endpoint.port / `destination.port`", "Destination port."),
    col("protocol", Int32, "connection_info.protocol_num / `network.iana_number`", "IANA IP protocol number (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6)."),
    col("protocol_name", Text, "connection_info.protocol_name / `network.transport`", "Lower-case IANA keyword of `protocol` (tcp, udp, icmp...)."),
    col("bytes_out", Int64, "traffic.bytes_out / `source.bytes`", "Bytes sent source→destination. Sources with a single counter (AWS, NetFlow) put it here."),
    col("bytes_in", Int64, "traffic.bytes_in / `destination.bytes`", "Bytes sent destination→source, where the source reports both directions."),
    col("packets_out", Int64, "traffic.packets_out / `source.packets`", "Packets source→destination (single-counter sources put their count here)."),
    col("packets_in", Int64, "traffic.packets_in / `destination.packets`", "Packets destination→source."),
    col("action", Text, "action / `event.outcome`", "`allowed` or `denied`."),
    col("direction", Text, "connection_info.direction / `network.direction`", "`inbound`/`outbound` as stated by the source relative to its interface (AWS flow-direction, Azure I/O); otherwise derived from the internal networks: `inbound`, `outbound`, `internal` or `external`."),
    col("flow_state", Text, "status_detail", "Source-specific state: Azure `B`/`C`/`E` (begin, continuing, end), AWS log-status."),
    col("rule", Text, "firewall_rule.name / `rule.name`", "Rule, ACL or policy that decided the flow (Azure rule name, AWS reject-reason)."),
    col("device", Text, "device.name / `observer.name`", "What logged the flow: AWS interface id, Azure NSG or flow-log name, firewall host."),
    col("account", Text, "cloud.account.uid / `cloud.account.id`", "Cloud account: AWS account id, Azure subscription id."),
    col("region", Text, "cloud.region / `cloud.region`", "Cloud region, or Azure resource group when no region is known."),
    col("vpc", Text, "cloud... vpc_uid / `network.name`", "AWS VPC id; Azure target resource (VNet/subnet/NIC) for VNet flow logs."),
    col("subnet", Text, "src_endpoint.subnet_uid", "AWS subnet id."),
    col("instance", Text, "src_endpoint.instance_uid / `cloud.instance.id`", "AWS instance id."),
    col("user", Text, "actor.user.name / `user.name`", "User the source attributes the flow to (firewall user-id)."),
    col("tcp_flags", Int32, "connection_info.tcp_flags", "OR of TCP flags seen (FIN 1, SYN 2, RST 4, PSH 8, ACK 16, URG 32)."),
    col("nat_src_ip", Ip, "src_endpoint.intermediate_ips", "Packet-level or translated source address (AWS pkt-srcaddr, firewall NAT source)."),
    col("nat_dst_ip", Ip, "dst_endpoint.intermediate_ips", "Packet-level or translated destination address (AWS pkt-dstaddr, firewall NAT destination)."),
    col("mac", Text, "device.mac / `observer.mac`", "MAC address of the interface that logged the flow (Azure), upper-case hex without separators."),
    col("extra", Text, "unmapped / `event.original`", "Source fields without a column, as a JSON object (e.g. AWS az-id, traffic-path, ECS fields; Azure encryption)."),
    col("src_country", Text, "src_endpoint.location.country / `source.geo.country_iso_code`", "ISO country code of `src_ip` from the GeoIP database given at ingest (`--geoip`)."),
    col("src_asn", Int64, "src_endpoint.autonomous_system.number / `source.as.number`", "Autonomous system number of `src_ip` from the ASN database given at ingest."),
    col("dst_country", Text, "dst_endpoint.location.country / `destination.geo.country_iso_code`", "ISO country code of `dst_ip`."),
    col("dst_asn", Int64, "dst_endpoint.autonomous_system.number / `destination.as.number`", "Autonomous system number of `dst_ip`."),
    col("ti_hits", Text, "enrichments / `threat.indicator.provider`", "Comma-separated names of the intel feeds (`flowtrail intel list`) that listed `src_ip` or `dst_ip` at ingest time; NULL when none did."),
];

/// Columns of the `http` table, in storage order.
pub const HTTP_COLUMNS: &[Column] = &[
    col("time", Timestamp, "time / `@timestamp`", "When the request was made (or logged), UTC."),
    col("source_format", Text, "metadata.product / `event.module`", "Decoder that produced the row: `nginx`, `apache`, `iis`, `squid`, `zscaler`, `panos_url`, `zeek_http`, `sentinelone`, `aws_alb`."),
    col("origin", Text, "metadata.log_name / `log.file.path`", "File path or object key the row was read from."),
    col("origin_line", Int64, "metadata.log_position / `log.offset`", "1-based line of the record in its origin."),
    col("client_ip", Ip, "src_endpoint.ip / `client.ip`", "Address of the client that made the request."),
    col("server_ip", Ip, "dst_endpoint.ip / `server.ip`", "Address of the server (or proxy upstream)."),
    col("server_port", Int32, "dst_endpoint.port / `server.port`", "Server port."),
    col("user", Text, "actor.user.name / `user.name`", "Authenticated or attributed user."),
    col("device", Text, "device.name / `host.name`", "Client device name (EDR agent, proxy location)."),
    col("method", Text, "http_request.http_method / `http.request.method`", "Request method, upper-case."),
    col("url", Text, "http_request.url.url_string / `url.full`", "Full URL with query, as logged."),
    col("scheme", Text, "http_request.url.scheme / `url.scheme`", "URL scheme."),
    col("host", Text, "http_request.url.hostname / `url.domain`", "Host name, lower-case."),
    col("domain", Text, "http_request.url.domain / `url.registered_domain`", "Registrable domain of `host` (public suffix list)."),
    col("path", Text, "http_request.url.path / `url.path`", "URL path."),
    col("query", Text, "http_request.url.query_string / `url.query`", "Query string without `?`."),
    col("status", Int32, "http_response.code / `http.response.status_code`", "HTTP status code."),
    col("user_agent", Text, "http_request.user_agent / `user_agent.original`", "User agent, whole."),
    col("referrer", Text, "http_request.referrer / `http.request.referrer`", "Referer header."),
    col("content_type", Text, "http_response.content_type / `http.response.mime_type`", "Response content type."),
    col("bytes_in", Int64, "traffic.bytes_in / `http.response.bytes`", "Bytes server→client."),
    col("bytes_out", Int64, "traffic.bytes_out / `http.request.bytes`", "Bytes client→server."),
    col("duration_ms", Int64, "duration / `event.duration`", "Request duration in milliseconds."),
    col("action", Text, "action / `event.outcome`", "`allowed` or `denied` (proxy and firewall verdicts)."),
    col("extra", Text, "unmapped", "Source fields without a column, as a JSON object."),
    col("ti_hits", Text, "enrichments / `threat.indicator.provider`", "Comma-separated names of the intel feeds that listed the client or server address, host (or a parent domain), URL or user agent at ingest time; NULL when none did."),
];
