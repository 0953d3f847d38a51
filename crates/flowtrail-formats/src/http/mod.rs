//! HTTP-log formats: each feeds the `http` table.

pub mod aws_alb;
pub mod iis;
pub mod nginx;
pub mod panos_url;
mod security_util;
pub mod sentinelone;
pub mod squid;
pub mod url;
pub mod zeek_http;
pub mod zscaler;
