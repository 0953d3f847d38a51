#!/usr/bin/env python3
"""Deterministic NetFlow v9 / IPFIX export stream for bench/netflow_vs_nfdump.sh.

    gen_netflow.py write --version 9|10 --flows N DUMP
        Writes the export datagrams back to back to DUMP (flowtrail's `netflow` raw dump) and
        their lengths to DUMP.idx (little-endian u32 each); prints a JSON summary.
    gen_netflow.py send DUMP --to 127.0.0.1:PORT [--pps 10000]
        Sends the datagrams of DUMP (split with DUMP.idx) over UDP, paced to PPS datagrams per
        second; prints a JSON summary. Loopback addresses only.

Stream: 30 flow records per datagram, the template set in the first datagram and then in every
100th. One exporter (v9 source id / IPFIX observation domain 1), correct sequence numbers
(v9: export packets, IPFIX: data records). Flow j starts at 2025-06-01T00:00:00Z + j ms and
lasts up to a minute; each datagram is exported one second after the last end among its flows.
Addresses: sources in 10.0.0.0/16, destinations in 198.18.0.0/15 (benchmarking range,
RFC 2544). The output is a pure function of --version and --flows.

v9 template (46-byte records): IPV4_SRC_ADDR, IPV4_DST_ADDR, L4_SRC_PORT, L4_DST_PORT,
PROTOCOL, TCP_FLAGS, SRC_TOS, IN_BYTES(4), IN_PKTS(4), FIRST_SWITCHED, LAST_SWITCHED
(sysUptime-relative), INPUT_SNMP, OUTPUT_SNMP, SRC_AS, DST_AS, SRC_MASK, DST_MASK,
IPV4_NEXT_HOP, DIRECTION. IPFIX (62 bytes): the same with octet/packetDeltaCount as 8 bytes
and flowStart/EndMilliseconds instead of the uptime-relative times.
"""
import argparse
import hashlib
import json
import socket
import struct
import sys
import time

T0_MS = 1_748_736_000_000  # 2025-06-01T00:00:00Z
BOOT_MS = T0_MS - 86_400_000  # exporter booted a day earlier (v9 sysUptime base)
PER_DATAGRAM = 30
TEMPLATE_EVERY = 100
TEMPLATE_ID = 256
DOMAIN = 1

V9_FIELDS = [(8, 4), (12, 4), (7, 2), (11, 2), (4, 1), (6, 1), (5, 1), (1, 4), (2, 4),
             (22, 4), (21, 4), (10, 2), (14, 2), (16, 2), (17, 2), (9, 1), (13, 1), (15, 4),
             (61, 1)]
V9_RECORD = struct.Struct("!IIHHBBBIIIIHHHHBBIB")
IPFIX_FIELDS = [(8, 4), (12, 4), (7, 2), (11, 2), (4, 1), (6, 1), (5, 1), (1, 8), (2, 8),
                (152, 8), (153, 8), (10, 2), (14, 2), (16, 2), (17, 2), (9, 1), (13, 1),
                (15, 4), (61, 1)]
IPFIX_RECORD = struct.Struct("!IIHHBBBQQQQHHHHBBIB")

# (destination port, protocol, tcp flags) by popularity; ICMP carries type*256+code in dport.
SERVICES = [(443, 6, 0x1B)] * 10 + [(80, 6, 0x1B)] * 3 + [(53, 17, 0)] * 4 + [
    (123, 17, 0), (22, 6, 0x1A), (3389, 6, 0x02), (8080, 6, 0x1B), (0x0800, 1, 0)]


def mix(x):
    """32-bit integer hash (murmur3 finaliser)."""
    x = (x ^ (x >> 16)) * 0x85EBCA6B & 0xFFFFFFFF
    x = (x ^ (x >> 13)) * 0xC2B2AE35 & 0xFFFFFFFF
    return x ^ (x >> 16)


def flow(j):
    """Field values of flow j (deterministic)."""
    h = mix(j * 0x9E3779B1 & 0xFFFFFFFF)
    g = mix(h ^ 0x5BD1E995)
    dport, proto, flags = SERVICES[h % len(SERVICES)]
    src = 0x0A000000 | (g & 0xFFFF)
    dst = 0xC6120000 | ((h >> 8) & 0x1FFFF)
    sport = 0 if proto == 1 else 1024 + (g >> 16) % 64000
    packets = 1 + (g >> 5) % 200
    nbytes = packets * (40 + (h >> 13) % 1400)
    start = T0_MS + j
    end = start + (h >> 3) % 60_000
    return (src, dst, sport, dport, proto, flags, (h >> 24) & 0xFC, nbytes, packets, start,
            end, 1 + h % 8, 9 + g % 8, 64500 + h % 10, 64510 + g % 10, 16, 24,
            0xC6120001, h & 1)


def datagrams(version, n):
    """Yields (datagram, its records, their bytes, their packets)."""
    ipfix = version == 10
    fields = IPFIX_FIELDS if ipfix else V9_FIELDS
    rec = IPFIX_RECORD if ipfix else V9_RECORD
    assert rec.size == sum(length for _, length in fields)
    tmpl = struct.pack("!HH", TEMPLATE_ID, len(fields)) + b"".join(
        struct.pack("!HH", i, length) for i, length in fields)
    tmpl_set = struct.pack("!HH", 2 if ipfix else 0, 4 + len(tmpl)) + tmpl
    j = 0
    k = 0
    sent_records = 0
    while j < n:
        m = min(PER_DATAGRAM, n - j)
        body = bytearray()
        last_end = nbytes = npackets = 0
        for i in range(j, j + m):
            f = flow(i)
            last_end = max(last_end, f[10])
            nbytes += f[7]
            npackets += f[8]
            if ipfix:
                body += rec.pack(*f)
            else:
                body += rec.pack(*f[:9], f[9] - BOOT_MS, f[10] - BOOT_MS, *f[11:])
        body += b"\0" * (-len(body) % 4)
        data_set = struct.pack("!HH", TEMPLATE_ID, 4 + len(body)) + body
        with_template = k % TEMPLATE_EVERY == 0
        sets = (tmpl_set if with_template else b"") + data_set
        export_s = last_end // 1000 + 1
        if ipfix:
            hdr = struct.pack("!HHIII", 10, 16 + len(sets), export_s, sent_records & 0xFFFFFFFF,
                              DOMAIN)
        else:
            count = m + (1 if with_template else 0)
            hdr = struct.pack("!HHIIII", 9, count, export_s * 1000 - BOOT_MS, export_s,
                              k & 0xFFFFFFFF, DOMAIN)
        yield hdr + sets, m, nbytes, npackets
        sent_records += m
        j += m
        k += 1


def write(args):
    total_bytes = total_packets = 0
    sha = hashlib.sha256()
    count = 0
    size = 0
    with open(args.dump, "wb") as out, open(args.dump + ".idx", "wb") as idx:
        for d, _, nbytes, npackets in datagrams(args.version, args.flows):
            total_bytes += nbytes
            total_packets += npackets
            out.write(d)
            idx.write(struct.pack("<I", len(d)))
            sha.update(d)
            count += 1
            size += len(d)
    json.dump({"version": args.version, "flows": args.flows, "datagrams": count,
               "dump_bytes": size, "bytes": total_bytes, "packets": total_packets,
               "sha256": sha.hexdigest()}, sys.stdout)
    print()


def send(args):
    host, _, port = args.to.rpartition(":")
    if not host.startswith("127.") and host not in ("localhost", "::1"):
        sys.exit("gen_netflow.py: sends to loopback addresses only")
    data = open(args.dump, "rb").read()
    lens = [x for (x,) in struct.iter_unpack("<I", open(args.dump + ".idx", "rb").read())]
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 22)
    s.connect((host, int(port)))
    burst = max(1, args.pps // 200)  # one burst every 5 ms
    t0 = time.monotonic()
    pos = 0
    sha = hashlib.sha256()
    for i, n in enumerate(lens):
        d = data[pos:pos + n]
        pos += n
        sha.update(d)
        s.send(d)
        if i % burst == burst - 1:
            ahead = t0 + (i + 1) / args.pps - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)
    elapsed = time.monotonic() - t0
    json.dump({"datagrams": len(lens), "seconds": round(elapsed, 3),
               "sha256": sha.hexdigest()}, sys.stdout)
    print()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("write")
    w.add_argument("--version", type=int, choices=(9, 10), default=9)
    w.add_argument("--flows", type=int, default=2_000_000)
    w.add_argument("dump")
    s = sub.add_parser("send")
    s.add_argument("dump")
    s.add_argument("--to", required=True)
    s.add_argument("--pps", type=int, default=10_000)
    args = p.parse_args()
    write(args) if args.cmd == "write" else send(args)


if __name__ == "__main__":
    main()
