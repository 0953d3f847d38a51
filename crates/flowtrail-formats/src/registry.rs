//! The list of every format flowtrail knows, and content-based detection.

use crate::flow;
use crate::{Confidence, Format};

/// Every format, in the order `flowtrail formats` lists them.
pub static FORMATS: &[&dyn Format] = &[
    &flow::aws_vpc::AwsVpc,
    &flow::azure::AzureNsg,
    &flow::azure::AzureVnet,
    &flow::cisco_asa::CiscoAsa,
    &flow::panos::PanOs,
    &flow::fortigate::Fortigate,
    &flow::zeek_conn::ZeekConn,
    &flow::gcp_vpc::GcpVpc,
    &flow::nfdump_csv::NfdumpCsv,
    &flow::netflow::NetflowPcap,
    &flow::netflow::NetflowRaw,
    &crate::http::zscaler::Zscaler,
    &crate::http::panos_url::PanosUrl,
    &crate::http::zeek_http::ZeekHttp,
    &crate::http::sentinelone::SentinelOne,
    &crate::http::nginx::Nginx,
    &crate::http::nginx::Apache,
    &crate::http::iis::Iis,
    &crate::http::squid::Squid,
    &crate::http::aws_alb::AwsAlb,
];

/// Returns the format named `name` (its `source_format` value).
pub fn by_name(name: &str) -> Option<&'static dyn Format> {
    FORMATS.iter().copied().find(|f| f.name() == name)
}

/// Returns the format most likely to have written `prefix`, if any says more than `No`.
///
/// `path_hint` breaks ties: a format whose name appears in the path wins among equals.
pub fn sniff(prefix: &[u8], path_hint: &str) -> Option<&'static dyn Format> {
    let hint = path_hint.to_ascii_lowercase();
    let mut best: Option<(Confidence, bool, &'static dyn Format)> = None;
    for f in FORMATS.iter().copied() {
        let c = f.sniff(prefix);
        if c == Confidence::No {
            continue;
        }
        let hinted = hint_matches(f.name(), &hint);
        if best.is_none_or(|(bc, bh, _)| (c, hinted) > (bc, bh)) {
            best = Some((c, hinted, f));
        }
    }
    best.map(|(_, _, f)| f)
}

fn hint_matches(name: &str, hint: &str) -> bool {
    match name {
        "aws_vpc" => hint.contains("vpcflowlogs") || hint.contains("vpc"),
        "azure_nsg" => hint.contains("networksecuritygroup"),
        "azure_vnet" => hint.contains("flowlogflowevent") || hint.contains("flowlogresourceid"),
        "cisco_asa" => ["asa", "ftd", "cisco", "firepower"]
            .iter()
            .any(|k| hint.contains(k)),
        "panos" => ["panos", "pan-os", "paloalto", "palo-alto", "palo_alto"]
            .iter()
            .any(|k| hint.contains(k)),
        "fortigate" => ["fortigate", "fortinet", "fortios", "fgt"]
            .iter()
            .any(|k| hint.contains(k)),
        "apache" => hint.contains("apache") || hint.contains("httpd"),
        "iis" => ["iis", "w3svc", "u_ex", "inetpub"]
            .iter()
            .any(|k| hint.contains(k)),
        "aws_alb" => hint.contains("elasticloadbalancing") || hint.contains("alb"),
        other => hint.contains(other),
    }
}
