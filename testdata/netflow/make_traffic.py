#!/usr/bin/env python3
"""Writes traffic.pcap: a few synthetic flows between documentation addresses (RFC 5737,
RFC 3849), used as softflowd's input by make-captures.sh. Deterministic: fixed timestamps."""
import struct
import sys

START = 1704067200  # 2024-01-01T00:00:00Z


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ip4(a):
    return bytes(int(x) for x in a.split("."))


def ip6(a):
    import ipaddress

    return ipaddress.IPv6Address(a).packed


def eth(ethertype, payload):
    return b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01" + struct.pack("!H", ethertype) + payload


def ipv4(src, dst, proto, l4):
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 1, 0x4000, 64, proto, 0, ip4(src), ip4(dst))
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return eth(0x0800, hdr + l4)


def ipv6(src, dst, proto, l4):
    return eth(0x86DD, struct.pack("!IHBB16s16s", 0x60000000, len(l4), proto, 64, ip6(src), ip6(dst)) + l4)


def tcp(sport, dport, flags, payload):
    return struct.pack("!HHIIBBHHH", sport, dport, 1, 1, 0x50, flags, 65535, 0, 0) + payload


def udp(sport, dport, payload):
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def icmp(seq):
    body = struct.pack("!BBHHH", 8, 0, 0, 1, seq) + b"x" * 32
    return body[:2] + struct.pack("!H", csum(body)) + body[4:]


SYN, ACK, PSH, FIN = 0x02, 0x10, 0x08, 0x01
packets = []
# TCP 192.0.2.1:40001 <-> 198.51.100.10:443: 5 packets out (SYN, 3 data, FIN), 4 back.
out_flags = [SYN, ACK | PSH, ACK | PSH, ACK | PSH, ACK | FIN]
for i, f in enumerate(out_flags):
    packets.append(ipv4("192.0.2.1", "198.51.100.10", 6, tcp(40001, 443, f, b"a" * (0 if i in (0, 4) else 60))))
    if i < 4:
        packets.append(ipv4("198.51.100.10", "192.0.2.1", 6, tcp(443, 40001, (SYN | ACK) if i == 0 else ACK | PSH, b"b" * (0 if i == 0 else 200))))
# UDP 192.0.2.2:5353 -> 198.51.100.53:53, 3 queries of 32 bytes.
for i in range(3):
    packets.append(ipv4("192.0.2.2", "198.51.100.53", 17, udp(5353, 53, b"q" * 32)))
# ICMP echo 192.0.2.3 -> 198.51.100.1, 2 requests.
for i in range(2):
    packets.append(ipv4("192.0.2.3", "198.51.100.1", 1, icmp(i)))
# IPv6 UDP [2001:db8::1]:1000 -> [2001:db8::2]:2000, 2 datagrams of 100 bytes.
for i in range(2):
    packets.append(ipv6("2001:db8::1", "2001:db8::2", 17, udp(1000, 2000, b"v" * 100)))

out = bytearray(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
for i, p in enumerate(packets):
    ts = START * 1_000_000 + i * 100_000
    out += struct.pack("<IIII", ts // 1_000_000, ts % 1_000_000, len(p), len(p)) + p
open(sys.argv[1] if len(sys.argv) > 1 else "traffic.pcap", "wb").write(out)
