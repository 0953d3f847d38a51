//! Envelopes: the transport wrappers that precede a vendor's own message on a line.
//!
//! Firewalls (Cisco ASA/FTD, PAN-OS, FortiGate) reach flowtrail through syslog, so each of their
//! lines may start with a syslog header written by the device, by a relay or by the daemon that
//! wrote the file. [`syslog::parse`] strips that header and returns its parts (time, host,
//! application) and the vendor message, which the firewall decoders then read.
//!
//! The module also holds the small allocation-free helpers those decoders share: integer and
//! address parsing, civil-time arithmetic and the builder of the JSON `extra` column.

pub mod syslog;

mod fields;

pub(crate) use fields::{
    civil_micros, clip, ip_or_none, parse_ip, parse_u16, parse_u64, protocol_number, tcp_flag_bit,
    Extra,
};
