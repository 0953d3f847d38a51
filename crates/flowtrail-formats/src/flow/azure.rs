//! Azure NSG and VNet flow logs (placeholder being replaced in this same change).
use crate::{Confidence, DecodeContext, Decoder, Format, Framing};
use flowtrail_schema::RecordSink;

/// Azure NSG flow logs v1/v2.
pub struct AzureNsg;
/// Azure VNet flow logs.
pub struct AzureVnet;

impl Format for AzureNsg {
    fn name(&self) -> &'static str {
        "azure_nsg"
    }
    fn description(&self) -> &'static str {
        "Azure NSG flow logs"
    }
    fn framing(&self) -> Framing {
        Framing::Document
    }
    fn decoder(&self, _ctx: &DecodeContext) -> Box<dyn Decoder> {
        Box::new(Dec)
    }
    fn sniff(&self, _prefix: &[u8]) -> Confidence {
        Confidence::No
    }
}
impl Format for AzureVnet {
    fn name(&self) -> &'static str {
        "azure_vnet"
    }
    fn description(&self) -> &'static str {
        "Azure VNet flow logs"
    }
    fn framing(&self) -> Framing {
        Framing::Document
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
