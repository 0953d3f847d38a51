//! HTTP-log formats: each feeds the `http` table.

pub mod url;
