//! Community ID flow hashing, version 1 (<https://github.com/corelight/community-id-spec>).
//!
//! The hash is computed on demand (SQL function `community_id(...)`) rather than stored: it is 30
//! characters of high-entropy base64 that compresses to nothing, which would roughly double the
//! lake's bytes per flow.

use base64::Engine;
use sha1::{Digest, Sha1};
use std::net::IpAddr;

/// Returns the Community ID v1 string (`1:` + base64 SHA-1) of a flow, with seed 0 by default.
///
/// Ports are the ICMP type/code for ICMP and ICMPv6, as the spec asks; protocols without ports
/// hash only addresses and protocol.
pub fn community_id_v1(
    seed: u16,
    src: IpAddr,
    dst: IpAddr,
    proto: u8,
    sport: u16,
    dport: u16,
) -> String {
    let has_ports = matches!(proto, 1 | 6 | 17 | 58 | 132);
    let (mut sp, mut dp) = (sport, dport);
    let mut one_way = false;
    if proto == 1 || proto == 58 {
        // ICMP: map type to its counterpart so both directions hash alike.
        let (t, c) = (sport, dport);
        let (counterpart, ow) = icmp_counterpart(proto, t as u8);
        sp = t;
        dp = counterpart.map(u16::from).unwrap_or(c);
        one_way = ow;
    }
    let a = ip_bytes(src);
    let b = ip_bytes(dst);
    let ordered = one_way || (a.as_slice(), sp) < (b.as_slice(), dp) || (a == b && sp <= dp);
    let ((ia, pa), (ib, pb)) = if ordered {
        ((a, sp), (b, dp))
    } else {
        ((b, dp), (a, sp))
    };
    let mut h = Sha1::new();
    h.update(seed.to_be_bytes());
    h.update(&ia);
    h.update(&ib);
    h.update([proto, 0]);
    if has_ports {
        h.update(pa.to_be_bytes());
        h.update(pb.to_be_bytes());
    }
    format!(
        "1:{}",
        base64::engine::general_purpose::STANDARD.encode(h.finalize())
    )
}

fn ip_bytes(ip: IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(v) => v.octets().to_vec(),
        IpAddr::V6(v) => v.octets().to_vec(),
    }
}

/// Returns the ICMP type's counterpart and whether the type is one-way (no counterpart).
fn icmp_counterpart(proto: u8, t: u8) -> (Option<u8>, bool) {
    let pairs: &[(u8, u8)] = if proto == 1 {
        &[
            (8, 0),
            (0, 8),
            (13, 14),
            (14, 13),
            (15, 16),
            (16, 15),
            (10, 9),
            (9, 10),
            (17, 18),
            (18, 17),
        ]
    } else {
        &[
            (128, 129),
            (129, 128),
            (133, 134),
            (134, 133),
            (135, 136),
            (136, 135),
            (130, 131),
            (131, 130),
            (144, 145),
            (145, 144),
        ]
    };
    match pairs.iter().find(|(a, _)| *a == t) {
        Some((_, b)) => (Some(*b), false),
        None => (None, true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Vectors from the Community ID spec's baseline (tcp/udp/icmp samples).
    #[test]
    fn spec_vectors() {
        let ip = |s: &str| s.parse::<IpAddr>().expect("ip");
        assert_eq!(
            community_id_v1(0, ip("128.232.110.120"), ip("66.35.250.204"), 6, 34855, 80),
            "1:LQU9qZlK+B5F3KDmev6m5PMibrg="
        );
        // Reversed direction hashes the same.
        assert_eq!(
            community_id_v1(0, ip("66.35.250.204"), ip("128.232.110.120"), 6, 80, 34855),
            "1:LQU9qZlK+B5F3KDmev6m5PMibrg="
        );
        assert_eq!(
            community_id_v1(0, ip("192.168.1.52"), ip("8.8.8.8"), 17, 54585, 53),
            "1:d/FP5EW3wiY1vCndhwleRRKHowQ="
        );
        assert_eq!(
            community_id_v1(0, ip("192.168.0.89"), ip("192.168.0.1"), 1, 8, 0),
            "1:X0snYXpgwiv9TZtqg64sgzUn6Dk="
        );
    }
}
