#!/usr/bin/env python3
"""Measures the physical type of IP columns on a real flowtrail lake, with DuckDB as the reader.

Usage: bench/ip_columns.py LAKE_DIR [WORK_DIR]

Writes the IPv4 flows of the lake twice, with the same zstd compression and row groups:
  text   - src_ip/dst_ip as canonical text (what the lake stores)
  binary - src_ip/dst_ip as 16-byte IPv4-mapped IPv6 (a sortable fixed-width binary)
and reports the bytes per row of the two IP columns and the time of an equality lookup and a
CIDR (/16) filter on each (best of 5, in-process). Needs `pip install duckdb`.
"""
import json
import sys
import time
from pathlib import Path

import duckdb

lake = Path(sys.argv[1])
work = Path(sys.argv[2] if len(sys.argv) > 2 else "/tmp/flowtrail-ipcols")
work.mkdir(parents=True, exist_ok=True)
con = duckdb.connect()
con.execute("SET threads = 2")
src = f"read_parquet('{lake}/flows/**/*.parquet', hive_partitioning = true)"
ipv4 = "src_ip NOT LIKE '%:%' AND dst_ip NOT LIKE '%:%'"
to_bin = (
    "unhex('00000000000000000000ffff' || printf('%02x%02x%02x%02x', "
    "CAST(split_part({c}, '.', 1) AS INT), CAST(split_part({c}, '.', 2) AS INT), "
    "CAST(split_part({c}, '.', 3) AS INT), CAST(split_part({c}, '.', 4) AS INT)))"
)
opts = "(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 1048576)"
t_path, b_path = work / "text.parquet", work / "binary.parquet"
con.execute(f"COPY (SELECT src_ip, dst_ip, bytes_out FROM {src} WHERE {ipv4} ORDER BY time) TO '{t_path}' {opts}")
con.execute(
    f"COPY (SELECT {to_bin.format(c='src_ip')} AS src_ip, {to_bin.format(c='dst_ip')} AS dst_ip, bytes_out "
    f"FROM {src} WHERE {ipv4} ORDER BY time) TO '{b_path}' {opts}"
)
rows = con.execute(f"SELECT count(*) FROM '{t_path}'").fetchone()[0]


def col_bytes(path):
    return con.execute(
        f"SELECT sum(total_compressed_size) FROM parquet_metadata('{path}') "
        "WHERE path_in_schema IN ('src_ip', 'dst_ip')"
    ).fetchone()[0]


def best(sql):
    times = []
    for _ in range(5):
        t = time.perf_counter()
        r = con.execute(sql).fetchall()
        times.append(time.perf_counter() - t)
    return min(times), r


needle = con.execute(f"SELECT dst_ip FROM '{t_path}' WHERE dst_ip LIKE '203.%' LIMIT 1").fetchone()[0]
octets = [int(x) for x in needle.split(".")]
needle_hex = "00000000000000000000ffff" + "".join(f"{o:02x}" for o in octets)
res = {"rows": rows, "needle": needle}
res["text_ip_bytes_per_row"] = col_bytes(t_path) / rows
res["binary_ip_bytes_per_row"] = col_bytes(b_path) / rows
res["eq_text_s"], r1 = best(f"SELECT count(*) FROM '{t_path}' WHERE src_ip = '{needle}' OR dst_ip = '{needle}'")
res["eq_binary_s"], r2 = best(
    f"SELECT count(*) FROM '{b_path}' WHERE src_ip = from_hex('{needle_hex}') OR dst_ip = from_hex('{needle_hex}')"
)
lo = "00000000000000000000ffff0a14" + "0000"
hi = "00000000000000000000ffff0a14" + "ffff"
res["cidr_text_s"], r3 = best(f"SELECT count(*) FROM '{t_path}' WHERE src_ip LIKE '10.20.%'")
res["cidr_binary_s"], r4 = best(
    f"SELECT count(*) FROM '{b_path}' WHERE src_ip BETWEEN from_hex('{lo}') AND from_hex('{hi}')"
)
assert r1 == r2, (r1, r2)
assert r3 == r4, (r3, r4)
res["eq_matches"] = r1[0][0]
res["cidr_matches"] = r3[0][0]
print(json.dumps(res, indent=2))
