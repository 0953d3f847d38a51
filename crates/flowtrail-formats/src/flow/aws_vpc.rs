//! AWS VPC Flow Logs (placeholder being replaced by the real decoder in this same change).
use crate::{Confidence, DecodeContext, Decoder, Format};
use flowtrail_schema::RecordSink;

/// AWS VPC Flow Logs, text form.
pub struct AwsVpc;

impl Format for AwsVpc {
    fn name(&self) -> &'static str {
        "aws_vpc"
    }
    fn description(&self) -> &'static str {
        "AWS VPC Flow Logs"
    }
    fn decoder(&self, _ctx: &DecodeContext) -> Box<dyn Decoder> {
        Box::new(Dec)
    }
    fn sniff(&self, _prefix: &[u8]) -> Confidence {
        Confidence::No
    }
}
struct Dec;
impl Decoder for Dec {
    fn decode(&mut self, unit: &[u8], line: u64, sink: &mut dyn RecordSink) {
        sink.reject(line, "not implemented", unit);
    }
}
