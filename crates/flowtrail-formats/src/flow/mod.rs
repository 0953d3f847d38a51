//! Flow-log formats: each feeds the `flows` table.

pub mod aws_vpc;
pub mod azure;
