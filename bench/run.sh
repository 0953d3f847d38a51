#!/usr/bin/env bash
# flowtrail vs DuckDB on generated AWS VPC flow logs (and flowtrail alone on Azure NSG logs).
#
#   bench/run.sh [RECORDS]          RECORDS defaults to 10000000
#
# Environment knobs (all optional):
#   FLOWTRAIL_BENCH_DIR  work directory (default /tmp/flowtrail-bench); data sets are kept there
#                        and reused by later runs with the same size
#   FILES                AWS files to generate (default RECORDS/100000, at least 1)
#   NSG_RECORDS          NSG flow tuples to generate (default RECORDS; 0 skips the NSG section)
#   NSG_FILES            NSG PT1H.json blobs (default NSG_RECORDS/25000, at least 1)
#   RUNS                 runs per query (default 5; best and first are reported)
#   SKIP_DUCKDB=1        skip the DuckDB side
#   REGEN=1              regenerate data even if a matching data set exists
#   FLOWTRAIL_BIN        use this flowtrail binary instead of building one
#
# Prints a Markdown report on stdout and writes it to $FLOWTRAIL_BENCH_DIR/report.md.
# See bench/README.md for what is measured and how to read it.
set -euo pipefail

RECORDS="${1:-10000000}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="${FLOWTRAIL_BENCH_DIR:-/tmp/flowtrail-bench}"
RUNS="${RUNS:-5}"
NEEDLE="203.0.113.77"

say() { printf '\n==> %s\n' "$*" >&2; }
die() { printf '\nbench/run.sh: error: %s\n' "$*" >&2; exit 1; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

[[ "$RECORDS" =~ ^[0-9]+$ && "$RECORDS" -gt 0 ]] || die "RECORDS must be a positive integer, got '$RECORDS'"
FILES="${FILES:-$(( RECORDS / 100000 > 0 ? RECORDS / 100000 : 1 ))}"
NSG_RECORDS="${NSG_RECORDS:-$RECORDS}"
NSG_FILES="${NSG_FILES:-$(( NSG_RECORDS / 25000 > 0 ? NSG_RECORDS / 25000 : 1 ))}"

# ---------------------------------------------------------------------------------------------
# Prerequisites
# ---------------------------------------------------------------------------------------------
command -v cargo >/dev/null || die "cargo not found in PATH"
command -v python3 >/dev/null || die "python3 not found in PATH"
if [[ ! -x /usr/bin/time ]]; then
    say "installing GNU time (/usr/bin/time is missing)"
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
        apt-get install -y time >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y time >/dev/null; } \
            || die "could not install the 'time' package; install it (apt-get install time) and retry"
    else
        die "/usr/bin/time (GNU time) is required: apt-get install time"
    fi
fi
if [[ -z "${SKIP_DUCKDB:-}" ]] && ! python3 -c 'import duckdb' 2>/dev/null; then
    say "installing the duckdb Python module"
    python3 -m pip install --quiet duckdb || die "python3 -m pip install duckdb failed; install it or set SKIP_DUCKDB=1"
fi
mkdir -p "$WORK"

# ---------------------------------------------------------------------------------------------
# Build
# ---------------------------------------------------------------------------------------------
target_dir() {
    (cd "$ROOT" && cargo metadata --format-version 1 --no-deps 2>/dev/null \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])') \
        || echo "${CARGO_TARGET_DIR:-$ROOT/target}"
}
if [[ -n "${FLOWTRAIL_BIN:-}" ]]; then
    FT="$FLOWTRAIL_BIN"
    say "using $FT (FLOWTRAIL_BIN), not building"
else
    say "building flowtrail (release)"
    (cd "$ROOT" && cargo build --release -p flowtrail) || die "cargo build --release -p flowtrail failed"
    FT="$(target_dir)/release/flowtrail"
fi
[[ -x "$FT" ]] || die "flowtrail binary not found or not executable: $FT"

# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------

# gen KIND N FILES DIR: generates a data set unless DIR already holds the same one.
gen() {
    local kind="$1" n="$2" files="$3" dir="$4" marker="$4/.flowtrail-bench"
    local want="kind=$kind records=$n files=$files"
    if [[ -z "${REGEN:-}" && -f "$marker" && "$(cat "$marker")" == "$want" ]]; then
        say "reusing $kind data in $dir ($n records, $files files)"
        return
    fi
    rm -rf "$dir"
    say "generating $kind: $n records in $files files -> $dir"
    local t0; t0=$(now)
    "$FT" gen "$kind" --records "$n" --files "$files" --out "$dir" >"$WORK/gen-$kind.log" 2>&1 \
        || { tail -20 "$WORK/gen-$kind.log" >&2; die "flowtrail gen $kind failed (log: $WORK/gen-$kind.log)"; }
    echo "gen_${kind//-/_}_s=$(elapsed "$t0" "$(now)")" >>"$RESULTS"
    echo "$want" >"$marker"
}

# ingest NAME DATA LAKE: timed `flowtrail ingest`, records wall seconds and max RSS.
ingest() {
    local name="$1" data="$2" lake="$3" log="$WORK/ingest-$1.log" tv="$WORK/ingest-$1.time"
    rm -rf "$lake"
    say "ingesting $name: flowtrail ingest $data --lake $lake"
    local t0 t1; t0=$(now)
    /usr/bin/time -v -o "$tv" "$FT" ingest "$data" --lake "$lake" >"$log" 2>&1 \
        || { tail -20 "$log" >&2; die "flowtrail ingest ($name) failed (log: $log, time: $tv)"; }
    t1=$(now)
    local rss_kb; rss_kb=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$tv")
    local cpu; cpu=$(awk -F': ' '/Percent of CPU this job got/ { print $2 }' "$tv")
    {
        echo "${name}_ingest_s=$(elapsed "$t0" "$t1")"
        echo "${name}_ingest_rss_kb=${rss_kb:-0}"
        echo "${name}_ingest_cpu=${cpu:-?}"
    } >>"$RESULTS"
}

# lake_bytes LAKE: bytes under the lake's flows table (whole lake if there is no flows/ dir).
lake_bytes() {
    local lake="$1"
    if [[ -d "$lake/flows" ]]; then du -sb "$lake/flows" | cut -f1; else du -sb "$lake" | cut -f1; fi
}

# timed_query KEY CMD...: runs CMD $RUNS times; records first and best seconds; the output of a
# final untimed run goes to $WORK/KEY.out.
timed_query() {
    local key="$1"; shift
    local times=()
    if command -v hyperfine >/dev/null; then
        local cmdline; cmdline=$(printf '%q ' "$@")
        hyperfine --runs "$RUNS" --warmup 0 -N --export-json "$WORK/$key.hyperfine.json" \
            "$cmdline" >"$WORK/$key.hyperfine.log" 2>&1 \
            || { tail -20 "$WORK/$key.hyperfine.log" >&2; die "query '$key' failed under hyperfine"; }
        mapfile -t times < <(python3 -c 'import json,sys; [print(t) for t in json.load(open(sys.argv[1]))["results"][0]["times"]]' "$WORK/$key.hyperfine.json")
    else
        local i t0 t1
        for ((i = 0; i < RUNS; i++)); do
            t0=$(now)
            "$@" >/dev/null 2>"$WORK/$key.err" || { cat "$WORK/$key.err" >&2; die "query '$key' failed: $*"; }
            t1=$(now)
            times+=("$(elapsed "$t0" "$t1")")
        done
    fi
    "$@" >"$WORK/$key.out" 2>"$WORK/$key.err" || { cat "$WORK/$key.err" >&2; die "query '$key' failed: $*"; }
    local best; best=$(printf '%s\n' "${times[@]}" | sort -g | head -1)
    {
        echo "${key}_first_s=${times[0]}"
        echo "${key}_best_s=${best}"
    } >>"$RESULTS"
}

# inproc_query KEY SQL: runs SQL $RUNS times in one flowtrail session (`query --runs`), records
# the first and best per-run times it prints; the rows go to $WORK/KEY.out.
inproc_query() {
    local key="$1" sql="$2"
    "$FT" query --lake "$AWS_LAKE" --sql "$sql" -o json --runs "$RUNS" \
        >"$WORK/$key.out" 2>"$WORK/$key.err" || { cat "$WORK/$key.err" >&2; die "query '$key' failed"; }
    local times; times=$(awk '/^run [0-9]+: / { print $3 }' "$WORK/$key.err")
    {
        echo "${key}_first_s=$(head -1 <<<"$times")"
        echo "${key}_best_s=$(sort -g <<<"$times" | head -1)"
    } >>"$RESULTS"
}

RESULTS="$WORK/flowtrail-results.txt"
: >"$RESULTS"
{
    echo "records=$RECORDS"
    echo "files=$FILES"
    echo "nsg_records=$NSG_RECORDS"
    echo "nsg_files=$NSG_FILES"
    echo "runs=$RUNS"
    echo "load_before=$(cut -d' ' -f1-3 /proc/loadavg)"
} >>"$RESULTS"

# ---------------------------------------------------------------------------------------------
# AWS VPC: flowtrail
# ---------------------------------------------------------------------------------------------
AWS_DATA="$WORK/data/aws-vpc-$RECORDS-$FILES"
AWS_LAKE="$WORK/lake-aws"
gen aws-vpc "$RECORDS" "$FILES" "$AWS_DATA"
echo "aws_input_bytes=$(find "$AWS_DATA" -name '*.log.gz' -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')" >>"$RESULTS"
ingest aws "$AWS_DATA" "$AWS_LAKE"

say "querying the AWS lake ($RUNS runs each)"
"$FT" query --lake "$AWS_LAKE" --sql "SELECT count(*) FROM flows" -o json >"$WORK/aws_rows.out" 2>"$WORK/aws_rows.err" \
    || { cat "$WORK/aws_rows.err" >&2; die "flowtrail query (row count) failed"; }
echo "aws_lake_bytes=$(lake_bytes "$AWS_LAKE")" >>"$RESULTS"
timed_query ft_ip "$FT" query --lake "$AWS_LAKE" \
    --sql "SELECT count(*), sum(bytes_out) FROM flows WHERE src_ip='$NEEDLE' OR dst_ip='$NEEDLE'" -o json
timed_query ft_top "$FT" top src_ip --by bytes --lake "$AWS_LAKE" --limit 10 -o json
# The same two questions in one session (the lake opened once, as by the web UI or a notebook),
# with DuckDB's exact SQL for the top talkers, so both engines are timed the same way.
inproc_query ft_ip_inproc \
    "SELECT count(*), sum(bytes_out) FROM flows WHERE src_ip='$NEEDLE' OR dst_ip='$NEEDLE'"
inproc_query ft_top_inproc \
    "SELECT src_ip, sum(bytes_out) AS total_bytes FROM flows GROUP BY src_ip ORDER BY total_bytes DESC NULLS LAST LIMIT 10"

# ---------------------------------------------------------------------------------------------
# AWS VPC: DuckDB
# ---------------------------------------------------------------------------------------------
DUCK_JSON="$WORK/duckdb.json"
rm -f "$DUCK_JSON"
if [[ -z "${SKIP_DUCKDB:-}" ]]; then
    say "DuckDB on the same files (bench/duckdb_bench.py)"
    python3 "$ROOT/bench/duckdb_bench.py" "$AWS_DATA" "$WORK/duckdb" --runs "$RUNS" --json-out "$DUCK_JSON" >/dev/null \
        || die "bench/duckdb_bench.py failed"
fi

# ---------------------------------------------------------------------------------------------
# Azure NSG: flowtrail ingest rate
# ---------------------------------------------------------------------------------------------
if [[ "$NSG_RECORDS" -gt 0 ]]; then
    NSG_DATA="$WORK/data/azure-nsg-$NSG_RECORDS-$NSG_FILES"
    NSG_LAKE="$WORK/lake-nsg"
    gen azure-nsg "$NSG_RECORDS" "$NSG_FILES" "$NSG_DATA"
    echo "nsg_input_bytes=$(find "$NSG_DATA" -name 'PT1H.json' -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')" >>"$RESULTS"
    ingest nsg "$NSG_DATA" "$NSG_LAKE"
    "$FT" query --lake "$NSG_LAKE" --sql "SELECT count(*) FROM flows" -o json >"$WORK/nsg_rows.out" 2>"$WORK/nsg_rows.err" \
        || { cat "$WORK/nsg_rows.err" >&2; die "flowtrail query (NSG row count) failed"; }
    echo "nsg_lake_bytes=$(lake_bytes "$NSG_LAKE")" >>"$RESULTS"
fi
echo "load_after=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$RESULTS"

# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------
say "writing the report"
python3 - "$WORK" "$ROOT" >"$WORK/report.md" <<'PY'
import json, os, platform, re, subprocess, sys

work, root = sys.argv[1], sys.argv[2]
r = {}
with open(os.path.join(work, "flowtrail-results.txt")) as f:
    for line in f:
        k, _, v = line.strip().partition("=")
        r[k] = v

def num(k, default=None):
    try:
        return float(r[k])
    except (KeyError, ValueError):
        return default

def load_json(path):
    """Parses a JSON document, or JSON lines (returns the list of lines)."""
    try:
        text = open(path).read()
    except OSError:
        return None
    try:
        return json.loads(text)
    except ValueError:
        out = []
        for line in text.splitlines():
            line = line.strip()
            if line:
                try:
                    out.append(json.loads(line))
                except ValueError:
                    return None
        return out

def scalars(v):
    """Scalars of a JSON value in document order (object values in key order)."""
    if isinstance(v, dict):
        for x in v.values():
            yield from scalars(x)
    elif isinstance(v, list):
        for x in v:
            yield from scalars(x)
    else:
        yield v

def numbers(path):
    v = load_json(path)
    if v is None:
        return []
    return [x for x in scalars(v) if isinstance(x, (int, float)) and not isinstance(x, bool)]

IP_RE = re.compile(r"^(\d{1,3}(\.\d{1,3}){3}|[0-9a-fA-F:]*:[0-9a-fA-F:.]+)$")

def ips(path):
    v = load_json(path)
    if v is None:
        return []
    return [x for x in scalars(v) if isinstance(x, str) and IP_RE.match(x)]

def fmt_int(x):
    return "n/a" if x is None else f"{int(round(x)):,}"

def fmt_s(x):
    return "n/a" if x is None else f"{x:.3f} s"

def fmt_mib(b):
    return "n/a" if b is None else f"{b / 2**20:,.0f} MiB"

def ratio(a, b):
    return "n/a" if not a or not b else f"{a / b:.2f}x"

records = int(num("records", 0))
needle_expected = min(records, 1234)
duck = load_json(os.path.join(work, "duckdb.json")) if os.path.exists(os.path.join(work, "duckdb.json")) else None

ft_rows = (numbers(os.path.join(work, "aws_rows.out")) or [None])[0]
ft_ingest_s = num("aws_ingest_s")
ft_rate = records / ft_ingest_s if ft_ingest_s else None
ft_lake = num("aws_lake_bytes")
ft_bpf = ft_lake / ft_rows if ft_lake and ft_rows else None
ft_ip = numbers(os.path.join(work, "ft_ip.out"))
ft_top = ips(os.path.join(work, "ft_top.out"))

def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"

def mem_total():
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                return f"{int(line.split()[1]) / 2**20:.1f} GiB"
    except OSError:
        pass
    return "unknown"

def sh(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, cwd=root).stdout.strip()
    except OSError:
        return "unknown"

p = print
p(f"# flowtrail benchmark: {records:,} AWS VPC flow records\n")
p("## Machine\n")
p(f"- date: {sh(['date', '-u', '+%Y-%m-%dT%H:%M:%SZ'])}")
p(f"- CPU: {cpu_model()}, nproc {os.cpu_count()}")
p(f"- memory: {mem_total()}")
p(f"- load average before / after: {r.get('load_before', '?')} / {r.get('load_after', '?')} (other work on the machine distorts timings)")
p(f"- flowtrail: git {sh(['git', 'rev-parse', '--short', 'HEAD'])}{' (dirty tree)' if sh(['git', 'status', '--porcelain']) else ''}, {sh(['rustc', '--version'])}")
if duck:
    p(f"- DuckDB {duck.get('duckdb_version')} (Python), threads {duck.get('threads')}")
gen_s = num("gen_aws_vpc_s")
p(f"- input: {int(num('files', 0))} gzip files, {fmt_mib(num('aws_input_bytes'))} compressed"
  + (f", generated in {gen_s:.1f} s" if gen_s else " (reused from an earlier run)"))
p()

p("## AWS VPC: ingest and queries\n")
d_def = (duck or {}).get("ingest", {}).get("default", {})
d_zst = (duck or {}).get("ingest", {}).get("zstd", {})
q_def = (duck or {}).get("queries", {}).get("default", {})
q_zst = (duck or {}).get("queries", {}).get("zstd", {})
def_codec = "/".join(d_def.get("compression", [])) or "default"
zst_codec = "/".join(d_zst.get("compression", [])) or "zstd"

def d_rate(d):
    return records / d["seconds"] if d.get("seconds") else None

def q(dq, key, field):
    return dq.get(key, {}).get(field)

runs = int(num("runs", 3))
rows = [
    ("ingest wall time", fmt_s(ft_ingest_s), fmt_s(d_def.get("seconds")), fmt_s(d_zst.get("seconds"))),
    ("ingest rows/s", fmt_int(ft_rate), fmt_int(d_rate(d_def)), fmt_int(d_rate(d_zst))),
    ("flowtrail rows/s ÷ DuckDB rows/s", "", ratio(ft_rate, d_rate(d_def)), ratio(ft_rate, d_rate(d_zst))),
    ("rows stored", fmt_int(ft_rows), fmt_int(d_def.get("rows")), fmt_int(d_zst.get("rows"))),
    ("output size", fmt_mib(ft_lake), fmt_mib(d_def.get("output_bytes")), fmt_mib(d_zst.get("output_bytes"))),
    ("bytes per flow", f"{ft_bpf:.1f}" if ft_bpf else "n/a",
     f"{d_def['bytes_per_row']:.1f}" if d_def.get("bytes_per_row") else "n/a",
     f"{d_zst['bytes_per_row']:.1f}" if d_zst.get("bytes_per_row") else "n/a"),
    ("ingest peak RSS", fmt_mib(num("aws_ingest_rss_kb", 0) * 1024 or None),
     fmt_mib(d_def.get("peak_rss_bytes")), fmt_mib(d_zst.get("peak_rss_bytes"))),
    ("ingest CPU use", r.get("aws_ingest_cpu", "?"), "", ""),
    (f"IP lookup, one session, best of {runs}", fmt_s(num("ft_ip_inproc_best_s")), fmt_s(q(q_def, "ip_lookup", "best_s")), fmt_s(q(q_zst, "ip_lookup", "best_s"))),
    ("IP lookup, one session, first run", fmt_s(num("ft_ip_inproc_first_s")), fmt_s(q(q_def, "ip_lookup", "first_s")), fmt_s(q(q_zst, "ip_lookup", "first_s"))),
    ("flowtrail ÷ DuckDB time (IP lookup, best)", "", ratio(num("ft_ip_inproc_best_s"), q(q_def, "ip_lookup", "best_s")), ratio(num("ft_ip_inproc_best_s"), q(q_zst, "ip_lookup", "best_s"))),
    (f"IP lookup, whole CLI run, best of {runs}", fmt_s(num("ft_ip_best_s")), "", ""),
    (f"top 10 src by bytes (same SQL), one session, best of {runs}", fmt_s(num("ft_top_inproc_best_s")), fmt_s(q(q_def, "top_talkers", "best_s")), fmt_s(q(q_zst, "top_talkers", "best_s"))),
    ("top 10 src by bytes, one session, first run", fmt_s(num("ft_top_inproc_first_s")), fmt_s(q(q_def, "top_talkers", "first_s")), fmt_s(q(q_zst, "top_talkers", "first_s"))),
    ("flowtrail ÷ DuckDB time (top talkers, best)", "", ratio(num("ft_top_inproc_best_s"), q(q_def, "top_talkers", "best_s")), ratio(num("ft_top_inproc_best_s"), q(q_zst, "top_talkers", "best_s"))),
    (f"`flowtrail top src_ip` (flows, bytes, packets), whole CLI run, best of {runs}", fmt_s(num("ft_top_best_s")), "", ""),
    ("query peak RSS", "", fmt_mib(q_def.get("peak_rss_bytes")), fmt_mib(q_zst.get("peak_rss_bytes"))),
]
if duck:
    p(f"| | flowtrail | DuckDB → Parquet ({def_codec}, default) | DuckDB → Parquet ({zst_codec}) |")
    p("|---|---:|---:|---:|")
    for row in rows:
        p("| " + " | ".join(row) + " |")
else:
    p("| | flowtrail |")
    p("|---|---:|")
    for row in rows:
        if row[1]:
            p(f"| {row[0]} | {row[1]} |")
p()

# Correctness cross-checks.
exp = f"{needle_expected} records, {needle_expected * 6000:,} bytes"
got = f"{int(ft_ip[0])} records, {int(ft_ip[1]):,} bytes" if len(ft_ip) >= 2 else "unparsed (see ft_ip.out)"
ok = len(ft_ip) >= 2 and int(ft_ip[0]) == needle_expected and int(ft_ip[1]) == needle_expected * 6000
p(f"- IP lookup answer: flowtrail {got}; planted {exp} → {'OK' if ok else 'MISMATCH'}")
duck_top = [row[0] for row in q(q_def, "top_talkers", "result") or []]
if duck_top:
    if ft_top:
        same = ft_top[:10] == duck_top[:10]
        p(f"- top talkers: flowtrail and DuckDB lists {'agree' if same else 'DIFFER'} (DuckDB #1 {duck_top[0]}, flowtrail #1 {ft_top[0]})")
    else:
        p("- top talkers: could not read IPs from flowtrail's JSON (see ft_top.out)")
scan = (duck or {}).get("scan_only") or {}
if scan.get("seconds"):
    p(f"- DuckDB read+parse only (`count(*)` over `read_csv`, nothing written): {scan['seconds']:.3f} s, "
      f"{fmt_int(records / scan['seconds'])} rows/s; the rest of its ingest time is the Parquet writer.")
if ft_rows is not None and ft_rows != records:
    p(f"- flowtrail stored {int(ft_rows):,} of {records:,} generated records (NODATA lines are ~0.1% of the input)")
p("- \"One session\" rows: flowtrail `query --sql ... --runs N` (the lake opened once, each run planned "
  "and executed, times printed per run) beside DuckDB's `execute().fetchall()` calls on one connection. "
  "\"Whole CLI run\" rows add process start and lake opening, which DuckDB's figures do not include.")
ft_top_same = ips(os.path.join(work, "ft_top_inproc.out"))
if duck_top and ft_top_same:
    p(f"- top talkers, same SQL: lists {'agree' if ft_top_same[:10] == duck_top[:10] else 'DIFFER'}")
ft_ip_same = numbers(os.path.join(work, "ft_ip_inproc.out"))
if len(ft_ip_same) >= 2:
    p(f"- IP lookup in one session: {int(ft_ip_same[0])} records, {int(ft_ip_same[1]):,} bytes")
p("- Peak RSS: flowtrail from `/usr/bin/time -v`; DuckDB from `getrusage` in a fresh Python process "
  "per job (includes the interpreter and the duckdb module, about 60 MB).")
p()

nsg_n = int(num("nsg_records", 0))
if nsg_n and num("nsg_ingest_s"):
    nsg_rows = (numbers(os.path.join(work, "nsg_rows.out")) or [None])[0]
    s = num("nsg_ingest_s")
    inb = num("nsg_input_bytes")
    p(f"## Azure NSG v2: flowtrail ingest ({nsg_n:,} flow tuples)\n")
    p("| | flowtrail |")
    p("|---|---:|")
    p(f"| input | {int(num('nsg_files', 0))} PT1H.json blobs, {fmt_mib(inb)} |")
    p(f"| ingest wall time | {fmt_s(s)} |")
    p(f"| tuples/s | {fmt_int(nsg_n / s)} |")
    p(f"| input MiB/s | {inb / 2**20 / s:,.1f} |" if inb else "| input MiB/s | n/a |")
    p(f"| rows stored | {fmt_int(nsg_rows)} |")
    lb = num("nsg_lake_bytes")
    p(f"| bytes per flow | {lb / nsg_rows:.1f} |" if lb and nsg_rows else "| bytes per flow | n/a |")
    p(f"| ingest peak RSS | {fmt_mib(num('nsg_ingest_rss_kb', 0) * 1024 or None)} |")
    p()
PY
cat "$WORK/report.md"
say "report written to $WORK/report.md (raw results in $WORK)"
