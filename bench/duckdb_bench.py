#!/usr/bin/env python3
"""DuckDB baseline for flowtrail's benchmark: the same jobs on the same generated files.

Usage: duckdb_bench.py DATA_DIR WORK_DIR [--threads N] [--runs 3] [--json-out FILE]

DATA_DIR is what `flowtrail gen aws-vpc --out DATA_DIR` wrote (it holds AWSLogs/...).
WORK_DIR receives the Parquet files DuckDB writes (deleted first if present).

Jobs:
  scan    SELECT count(*), sum(bytes) FROM read_csv(...): decompress and parse only, no output.
  ingest  COPY (SELECT * FROM read_csv('DATA_DIR/**/*.log.gz', delim=' ', header=true, ...))
          TO 'x.parquet' (FORMAT parquet) -- DuckDB's default Parquet settings, then again with
          COMPRESSION zstd. Reports rows/s, output bytes, bytes per row and the codec actually used.
  ip      count(*) and sum(bytes) where srcaddr or dstaddr is the planted needle 203.0.113.77.
  top     top 10 srcaddr by sum(bytes).
Each query runs --runs times in one connection; the first run and the best run are reported.

Each job runs in a fresh child process so that its peak RSS (resource.getrusage in the child,
ru_maxrss) belongs to that job alone. The figure includes the Python interpreter and the DuckDB
module (~50-70 MB before any work). Results are printed as one JSON document on stdout.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import resource
import shutil
import subprocess
import sys
import time

NEEDLE = "203.0.113.77"

# The default AWS VPC format. Typed explicitly: with type sniffing DuckDB samples only the first
# rows, and the NODATA lines ('-' in every numeric field) would otherwise make it pick VARCHAR
# for some files and fail on others. '-' is the format's "absent" marker, so it reads as NULL.
COLUMNS = {
    "version": "INTEGER",
    "account-id": "VARCHAR",
    "interface-id": "VARCHAR",
    "srcaddr": "VARCHAR",
    "dstaddr": "VARCHAR",
    "srcport": "INTEGER",
    "dstport": "INTEGER",
    "protocol": "INTEGER",
    "packets": "BIGINT",
    "bytes": "BIGINT",
    "start": "BIGINT",
    "end": "BIGINT",
    "action": "VARCHAR",
    "log-status": "VARCHAR",
}


def sql_str(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def read_csv_expr(data_dir: str) -> str:
    cols = "{" + ", ".join(f"{sql_str(k)}: {sql_str(v)}" for k, v in COLUMNS.items()) + "}"
    pattern = os.path.join(data_dir, "**", "*.log.gz")
    return (
        f"read_csv({sql_str(pattern)}, delim=' ', header=true, columns={cols}, "
        f"nullstr='-', auto_detect=false)"
    )


def peak_rss_bytes() -> int:
    # Linux reports ru_maxrss in KiB.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def connect(threads: int | None):
    import duckdb

    con = duckdb.connect(":memory:")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    return con


def phase_scan(args) -> dict:
    """Reads and parses the gzip CSV without writing anything: the floor under the ingest time."""
    con = connect(args.threads)
    sql = f"SELECT count(*), sum(bytes) FROM {read_csv_expr(args.data_dir)}"
    t0 = time.perf_counter()
    rows, total = con.execute(sql).fetchone()
    secs = time.perf_counter() - t0
    return {
        "sql": sql,
        "seconds": round(secs, 3),
        "rows": rows,
        "sum_bytes": total,
        "rows_per_s": round(rows / secs) if secs > 0 else None,
        "peak_rss_bytes": peak_rss_bytes(),
    }


def phase_ingest(args) -> dict:
    con = connect(args.threads)
    out = os.path.join(args.work_dir, f"duckdb_{args.variant}.parquet")
    if os.path.exists(out):
        os.remove(out)
    options = "FORMAT parquet" if args.variant == "default" else "FORMAT parquet, COMPRESSION zstd"
    sql = f"COPY (SELECT * FROM {read_csv_expr(args.data_dir)}) TO {sql_str(out)} ({options})"
    t0 = time.perf_counter()
    res = con.execute(sql).fetchall()
    secs = time.perf_counter() - t0
    rows = con.execute(f"SELECT count(*) FROM read_parquet({sql_str(out)})").fetchone()[0]
    copied = res[0][0] if res and res[0] else None
    codecs = [
        r[0]
        for r in con.execute(
            f"SELECT DISTINCT compression FROM parquet_metadata({sql_str(out)}) ORDER BY 1"
        ).fetchall()
    ]
    row_groups = con.execute(
        f"SELECT count(DISTINCT row_group_id) FROM parquet_metadata({sql_str(out)})"
    ).fetchone()[0]
    size = os.path.getsize(out)
    return {
        "variant": args.variant,
        "sql": sql,
        "compression": codecs,
        "seconds": round(secs, 3),
        "rows": rows,
        "rows_reported_by_copy": copied,
        "rows_per_s": round(rows / secs) if secs > 0 else None,
        "output_bytes": size,
        "bytes_per_row": round(size / rows, 2) if rows else None,
        "row_groups": row_groups,
        "peak_rss_bytes": peak_rss_bytes(),
    }


def timed(con, sql: str, runs: int) -> dict:
    times = []
    result = None
    for _ in range(runs):
        t0 = time.perf_counter()
        result = con.execute(sql).fetchall()
        times.append(time.perf_counter() - t0)
    return {
        "sql": sql,
        "first_s": round(times[0], 4),
        "best_s": round(min(times), 4),
        "runs_s": [round(t, 4) for t in times],
        "result": [list(r) for r in result] if result is not None else None,
    }


def phase_queries(args) -> dict:
    con = connect(args.threads)
    src = f"read_parquet({sql_str(os.path.join(args.work_dir, f'duckdb_{args.variant}.parquet'))})"
    ip = (
        f"SELECT count(*), sum(bytes) FROM {src} "
        f"WHERE srcaddr = '{NEEDLE}' OR dstaddr = '{NEEDLE}'"
    )
    top = (
        f"SELECT srcaddr, sum(bytes) AS total_bytes FROM {src} "
        f"GROUP BY srcaddr ORDER BY total_bytes DESC NULLS LAST LIMIT 10"
    )
    out = {
        "variant": args.variant,
        "ip_lookup": timed(con, ip, args.runs),
        "top_talkers": timed(con, top, args.runs),
    }
    out["peak_rss_bytes"] = peak_rss_bytes()
    return out


def run_child(args, phase: str, variant: str) -> dict:
    cmd = [
        sys.executable,
        os.path.abspath(__file__),
        args.data_dir,
        args.work_dir,
        "--phase",
        phase,
        "--variant",
        variant,
        "--runs",
        str(args.runs),
    ]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"duckdb_bench: phase {phase}/{variant} failed (exit {proc.returncode})")
    return json.loads(proc.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data_dir")
    ap.add_argument("work_dir")
    ap.add_argument("--threads", type=int, default=None, help="DuckDB threads (default: DuckDB's own, = cores)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json-out", default=None, help="also write the JSON here")
    ap.add_argument("--phase", choices=["scan", "ingest", "queries"], help=argparse.SUPPRESS)
    ap.add_argument("--variant", default="default", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.phase == "scan":
        print(json.dumps(phase_scan(args)))
        return
    if args.phase == "ingest":
        print(json.dumps(phase_ingest(args)))
        return
    if args.phase == "queries":
        print(json.dumps(phase_queries(args)))
        return

    try:
        import duckdb
    except ImportError:
        raise SystemExit("duckdb_bench: the duckdb module is missing: pip install duckdb")

    files = glob.glob(os.path.join(args.data_dir, "**", "*.log.gz"), recursive=True)
    if not files:
        raise SystemExit(f"duckdb_bench: no *.log.gz under {args.data_dir}")
    if os.path.isdir(args.work_dir):
        shutil.rmtree(args.work_dir)
    os.makedirs(args.work_dir)

    con = duckdb.connect(":memory:")
    threads = args.threads or con.execute("SELECT current_setting('threads')").fetchone()[0]
    con.close()
    report = {
        "duckdb_version": duckdb.__version__,
        "threads": threads,
        "input_files": len(files),
        "input_bytes": sum(os.path.getsize(f) for f in files),
        "ingest": {},
        "queries": {},
    }
    report["scan_only"] = run_child(args, "scan", "default")
    print(f"duckdb_bench: scan only: {report['scan_only']['seconds']} s", file=sys.stderr)
    for variant in ("default", "zstd"):
        report["ingest"][variant] = run_child(args, "ingest", variant)
        print(f"duckdb_bench: ingest {variant}: {report['ingest'][variant]['seconds']} s", file=sys.stderr)
    for variant in ("default", "zstd"):
        report["queries"][variant] = run_child(args, "queries", variant)
        q = report["queries"][variant]
        print(
            f"duckdb_bench: queries on {variant}: ip best {q['ip_lookup']['best_s']} s, "
            f"top best {q['top_talkers']['best_s']} s",
            file=sys.stderr,
        )
    text = json.dumps(report, indent=2)
    if args.json_out:
        with open(args.json_out, "w") as f:
            f.write(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
