use crate::{CompactFlow, FlowRecord, HttpRecord};

/// Receives what a decoder makes of its input: rows, skipped records and rejected records.
///
/// Every input record ends in exactly one call (a flow, an HTTP request, a skip or a
/// rejection), so the pipeline's accounting `read = stored + skipped + rejected` holds by
/// construction.
pub trait RecordSink {
    /// Takes one decoded flow.
    fn flow(&mut self, rec: &FlowRecord<'_>);
    /// Takes one decoded flow in the compact shape; the same as [`RecordSink::flow`] of
    /// [`CompactFlow::to_record`], which is what it does unless a sink has a faster way.
    fn compact_flow(&mut self, rec: &CompactFlow<'_>) {
        self.flow(&rec.to_record());
    }
    /// Takes one decoded HTTP request.
    fn http(&mut self, rec: &HttpRecord<'_>);
    /// Counts a record that is valid but deliberately not stored (e.g. AWS `NODATA`).
    fn skip(&mut self, line: u64, reason: &'static str);
    /// Rejects one malformed record; `raw` is kept in the dead-letter file.
    fn reject(&mut self, line: u64, reason: &str, raw: &[u8]);
}

/// A rejected record as collected by [`VecSink`].
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    pub line: u64,
    pub reason: String,
    pub raw: Vec<u8>,
}

/// A sink that keeps everything in memory: for tests, conformance checks and small inputs.
#[derive(Debug, Default)]
pub struct VecSink {
    pub flows: Vec<FlowRecord<'static>>,
    pub http: Vec<HttpRecord<'static>>,
    pub skipped: Vec<(u64, &'static str)>,
    pub rejected: Vec<Rejection>,
}

fn own(s: &Option<std::borrow::Cow<'_, str>>) -> Option<std::borrow::Cow<'static, str>> {
    s.as_ref().map(|c| std::borrow::Cow::Owned(c.to_string()))
}

impl RecordSink for VecSink {
    fn flow(&mut self, r: &FlowRecord<'_>) {
        self.flows.push(FlowRecord {
            time: r.time,
            end_time: r.end_time,
            origin_line: r.origin_line,
            src_ip: r.src_ip,
            src_port: r.src_port,
            dst_ip: r.dst_ip,
            dst_port: r.dst_port,
            protocol: r.protocol,
            bytes_out: r.bytes_out,
            bytes_in: r.bytes_in,
            packets_out: r.packets_out,
            packets_in: r.packets_in,
            action: r.action,
            direction: r.direction,
            flow_state: own(&r.flow_state),
            rule: own(&r.rule),
            device: own(&r.device),
            account: own(&r.account),
            region: own(&r.region),
            vpc: own(&r.vpc),
            subnet: own(&r.subnet),
            instance: own(&r.instance),
            user: own(&r.user),
            tcp_flags: r.tcp_flags,
            nat_src_ip: r.nat_src_ip,
            nat_dst_ip: r.nat_dst_ip,
            mac: own(&r.mac),
            extra: own(&r.extra),
        });
    }

    fn http(&mut self, r: &HttpRecord<'_>) {
        self.http.push(HttpRecord {
            time: r.time,
            origin_line: r.origin_line,
            client_ip: r.client_ip,
            server_ip: r.server_ip,
            server_port: r.server_port,
            user: own(&r.user),
            device: own(&r.device),
            method: own(&r.method),
            url: own(&r.url),
            scheme: own(&r.scheme),
            host: own(&r.host),
            domain: own(&r.domain),
            path: own(&r.path),
            query: own(&r.query),
            status: r.status,
            user_agent: own(&r.user_agent),
            referrer: own(&r.referrer),
            content_type: own(&r.content_type),
            bytes_in: r.bytes_in,
            bytes_out: r.bytes_out,
            duration_ms: r.duration_ms,
            action: r.action,
            extra: own(&r.extra),
        });
    }

    fn skip(&mut self, line: u64, reason: &'static str) {
        self.skipped.push((line, reason));
    }

    fn reject(&mut self, line: u64, reason: &str, raw: &[u8]) {
        self.rejected.push(Rejection {
            line,
            reason: reason.to_string(),
            raw: raw.to_vec(),
        });
    }
}
