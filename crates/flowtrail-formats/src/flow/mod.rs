//! Flow-log formats: each feeds the `flows` table.

pub mod aws_vpc;
pub mod azure;
pub mod cisco_asa;
pub mod fortigate;
pub mod gcp_vpc;
pub mod netflow;
pub mod nfdump_csv;
pub mod panos;
pub mod zeek_conn;
