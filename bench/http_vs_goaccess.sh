#!/usr/bin/env bash
# flowtrail vs GoAccess vs DuckDB on the same combined access log (issue "HTTP logs", item 5).
#
#   bench/http_vs_goaccess.sh [LINES]       LINES defaults to 2000000
#
# 1. bench/gen_access_log.py writes LINES deterministic Combined Log Format lines (nginx
#    `combined`, Apache `%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i"`);
# 2. on that same file, in the same run:
#    a. flowtrail's decoder alone (`decode_file` example of flowtrail-formats: the file read into
#       memory, decoded with `nginx` into a counting sink; best of RUNS, decode time only);
#    b. `flowtrail ingest --format nginx` into a fresh lake (decode + normalise + Parquet), if
#       FLOWTRAIL_BIN knows the `nginx` format;
#    c. GoAccess (`goaccess FILE --log-format=COMBINED -o report.json|csv`): parses every line
#       and builds its panels; its own total/valid/failed counts are checked;
#    d. DuckDB: the file read as one VARCHAR column, split with regexp_extract (one combined-log
#       regex into client, ident, user, time, method, path, protocol, status, bytes, referer,
#       agent), time/status/bytes cast to types, aggregated so every field is materialised;
#       counts of matched and unmatched lines; best of RUNS, DUCKDB_THREADS threads.
# Prints a Markdown report (machine facts and a table) on stdout and writes it to
# $HTTP_BENCH_DIR/report.md.
#
# Environment knobs (all optional):
#   FLOWTRAIL_BIN      flowtrail binary for row (b) (default /tmp/ft-release)
#   DECODE_FILE_BIN    a built decode_file example (default: built here with cargo, in
#                      CARGO_TARGET_DIR if set)
#   HTTP_BENCH_DIR     work directory (default /tmp/flowtrail-http-bench); the log is reused by
#                      later runs with the same LINES
#   RUNS               timed runs per job, best reported (default 3)
#   ONCE_OVER_S        a job whose first run takes longer than this is run once (default 10)
#   GOACCESS_OUTPUTS   GoAccess outputs to time (default "json csv")
#   DUCKDB_THREADS     DuckDB threads (default 2)
#
# Needs python3, GNU time (`/usr/bin/time`), GoAccess (Debian package `goaccess`) and the duckdb
# Python module; as root, missing packages are installed (apt-get, pip).
set -euo pipefail

LINES="${1:-2000000}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
GEN="$ROOT/bench/gen_access_log.py"
FT="${FLOWTRAIL_BIN:-/tmp/ft-release}"
WORK="${HTTP_BENCH_DIR:-/tmp/flowtrail-http-bench}"
RUNS="${RUNS:-3}"
ONCE_OVER_S="${ONCE_OVER_S:-10}"
GOACCESS_OUTPUTS="${GOACCESS_OUTPUTS:-json csv}"
DUCKDB_THREADS="${DUCKDB_THREADS:-2}"

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'http_vs_goaccess.sh: error: %s\n' "$*" >&2; exit 1; }

[[ "$LINES" =~ ^[0-9]+$ && "$LINES" -gt 0 ]] || die "LINES must be a positive integer, got '$LINES'"
[[ "$RUNS" =~ ^[0-9]+$ && "$RUNS" -gt 0 ]] || die "RUNS must be a positive integer"
[[ "$DUCKDB_THREADS" =~ ^[0-9]+$ && "$DUCKDB_THREADS" -gt 0 ]] || die "DUCKDB_THREADS must be a positive integer"

# ---------------------------------------------------------------------------------------------
# Prerequisites
# ---------------------------------------------------------------------------------------------
need_pkg() { # command package
    command -v "$1" >/dev/null && return
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
        say "installing the Debian package $2 ($1 is missing)"
        apt-get install -y "$2" >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y "$2" >/dev/null; } \
            || die "could not install $2; install it (apt-get install $2) and retry"
    fi
    command -v "$1" >/dev/null || die "$1 not found: apt-get install $2"
}
command -v python3 >/dev/null || die "python3 not found"
[[ -x /usr/bin/time ]] || need_pkg /usr/bin/time time
need_pkg goaccess goaccess
if ! python3 -c 'import duckdb' 2>/dev/null; then
    say "installing the duckdb Python module"
    python3 -m pip install --quiet duckdb 2>/dev/null || python3 -m pip install --quiet --break-system-packages duckdb \
        || die "could not install duckdb: python3 -m pip install duckdb"
fi
mkdir -p "$WORK"

if [[ -n "${DECODE_FILE_BIN:-}" ]]; then
    DECODE="$DECODE_FILE_BIN"
else
    command -v cargo >/dev/null || die "cargo not found: set DECODE_FILE_BIN to a built decode_file example"
    say "building the decode_file example (release)"
    (cd "$ROOT" && cargo build --quiet --release -p flowtrail-formats --example decode_file) \
        || die "cargo build of the decode_file example failed"
    DECODE="${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/decode_file"
fi
[[ -x "$DECODE" ]] || die "decode_file example '$DECODE' not found"

jget() { # file key: one value of a JSON object
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"
}
fmt_int() { python3 -c 'import sys; print(f"{int(float(sys.argv[1])):,}")' "$1"; }
rate() { # lines seconds -> "1,234,567" (or "–" when seconds is 0)
    python3 -c 'import sys; n, s = float(sys.argv[1]), float(sys.argv[2]); print(f"{n / s:,.0f}" if s > 0 else "–")' "$1" "$2"
}
lt() { python3 -c 'import sys; sys.exit(not float(sys.argv[1]) < float(sys.argv[2]))' "$1" "$2"; }
load() { cut -d' ' -f1-3 /proc/loadavg; }

# Runs a command RUNS times (once if the first run takes over ONCE_OVER_S seconds) under GNU
# time; sets BEST_WALL, BEST_RSS_MIB (of the run with the best wall time) and copies that run's
# stdout to BEST_OUT.
BEST_OUT="$WORK/best.out"
time_best() { # label cmd...
    local label=$1 tf="$WORK/time.txt" i wall rss
    shift
    BEST_WALL="" BEST_RSS_MIB=""
    for ((i = 1; i <= RUNS; i++)); do
        "${PRE_RUN[@]}"
        /usr/bin/time -o "$tf" -f '%e %M' "$@" >"$WORK/run.out" 2>"$WORK/stderr.txt" \
            || { tail -n 20 "$WORK/stderr.txt" >&2; die "$label failed (exit status above)"; }
        read -r wall rss <"$tf"
        say "  $label run $i: ${wall}s wall, $((rss / 1024)) MiB"
        if [[ -z "$BEST_WALL" ]] || lt "$wall" "$BEST_WALL"; then
            BEST_WALL=$wall BEST_RSS_MIB=$((rss / 1024))
            cp "$WORK/run.out" "$BEST_OUT"
        fi
        lt "$wall" "$ONCE_OVER_S" || break
    done
}
PRE_RUN=(true)

ROWS=()
row() { # tool job wall lines/s rss parsed/failed
    ROWS+=("| $1 | $2 | $3 | **$4** | $5 | $6 |")
}

LOAD_BEFORE=$(load)
DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
say "work directory $WORK, $LINES lines, load $LOAD_BEFORE"

# -- 1. the log ------------------------------------------------------------------------------
LOG="$WORK/access-$LINES.log" META="$WORK/access-$LINES.json"
if [[ -f "$LOG" && -f "$META" && "$(jget "$META" lines)" == "$LINES" && "$(stat -c %s "$LOG")" == "$(jget "$META" bytes)" ]]; then
    say "reusing $LOG"
else
    say "generating $LINES combined log lines"
    python3 "$GEN" "$LINES" "$LOG" >"$META.tmp" && mv "$META.tmp" "$META"
fi
LOG_MIB=$(python3 -c 'import sys; print(f"{int(sys.argv[1]) / 2**20:.0f}")' "$(jget "$META" bytes)")
[[ "$(wc -l <"$LOG")" == "$LINES" ]] || die "$LOG does not have $LINES lines"
# Read it once so every tool starts from a warm page cache.
cat "$LOG" >/dev/null

# -- 2a. flowtrail decoder alone ---------------------------------------------------------------
say "flowtrail decoder (decode_file nginx)"
BEST_DEC="" DEC_JSON="$WORK/decode.json"
for ((i = 1; i <= RUNS; i++)); do
    /usr/bin/time -o "$WORK/time.txt" -f '%e %M' "$DECODE" nginx "$LOG" >"$WORK/decode-run.json" 2>"$WORK/stderr.txt" \
        || { cat "$WORK/stderr.txt" >&2; die "decode_file failed"; }
    read -r wall rss <"$WORK/time.txt"
    secs=$(jget "$WORK/decode-run.json" seconds)
    say "  decode run $i: ${secs}s decode, ${wall}s process wall, $((rss / 1024)) MiB"
    if [[ -z "$BEST_DEC" ]] || lt "$secs" "$BEST_DEC"; then
        BEST_DEC=$secs DEC_WALL=$wall DEC_RSS_MIB=$((rss / 1024))
        cp "$WORK/decode-run.json" "$DEC_JSON"
    fi
done
read -r d_lines d_rows d_skip d_rej d_total < <(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["lines"], d["rows"], d["skipped"], d["rejected"], d["total_seconds"])' "$DEC_JSON")
[[ "$d_lines" == "$LINES" ]] || die "decode_file counted $d_lines lines, expected $LINES"
[[ "$d_rows" == "$LINES" ]] || say "WARNING: flowtrail decoded $d_rows rows of $LINES lines ($d_skip skipped, $d_rej rejected)"
row "flowtrail decoder (\`nginx\`)" "decode in memory into a counting sink (no output)" \
    "$(printf '%.3f' "$BEST_DEC")" "$(rate "$d_rows" "$BEST_DEC")" "–" "$(fmt_int "$d_rows") / $((d_skip + d_rej))"
row "flowtrail decoder (\`nginx\`)" "read file + decode (process wall ${DEC_WALL}s)" \
    "$(printf '%.3f' "$d_total")" "$(rate "$d_rows" "$d_total")" "$DEC_RSS_MIB" "$(fmt_int "$d_rows") / $((d_skip + d_rej))"

# -- 2b. flowtrail ingest --------------------------------------------------------------------
FT_VERSION="(not run)"
FT_FORMATS=""
[[ -x "$FT" ]] && FT_FORMATS=$("$FT" formats 2>/dev/null || true)
if grep -qw nginx <<<"$FT_FORMATS"; then
    FT_VERSION="$("$FT" --version | awk '{print $2}') ($FT)"
    LAKE="$WORK/lake"
    PRE_RUN=(rm -rf "$LAKE")
    say "flowtrail ingest --format nginx"
    time_best "flowtrail ingest" sh -c '"$1" --lake "$2" ingest "$3" --format nginx --summary json' \
        sh "$FT" "$LAKE" "$LOG"
    PRE_RUN=(true)
    read -r stored skipped rejected < <(python3 -c '
import json, sys
t = json.load(open(sys.argv[1]))["total"]
print(t.get("stored", 0), t.get("skipped", 0), t.get("rejected", 0))' "$BEST_OUT") \
        || die "could not read the ingest summary (see $BEST_OUT)"
    [[ "$stored" == "$LINES" ]] || say "WARNING: flowtrail ingest stored $stored of $LINES lines ($skipped skipped, $rejected rejected)"
    LAKE_MIB=$(du -sm "$LAKE" | cut -f1)
    row "flowtrail ingest" "\`ingest --format nginx\`: decode + normalise + Parquet lake ($LAKE_MIB MiB)" \
        "$BEST_WALL" "$(rate "$stored" "$BEST_WALL")" "$BEST_RSS_MIB" "$(fmt_int "$stored") / $((skipped + rejected))"
else
    say "SKIP: $FT does not list the nginx format (the release binary predates the HTTP decoders); no ingest row"
    row "flowtrail ingest" "skipped: \`$FT\` predates the HTTP decoders (no \`nginx\` in \`flowtrail formats\`)" "–" "–" "–" "–"
fi

# -- 2c. GoAccess ------------------------------------------------------------------------------
GA_VERSION=$(goaccess --version 2>/dev/null | sed -n 's/^GoAccess - \([0-9][0-9.]*[0-9]\).*/\1/p' | head -n 1)
for o in $GOACCESS_OUTPUTS; do
    out="$WORK/goaccess.$o"
    say "GoAccess -o $o"
    time_best "goaccess -o $o" goaccess "$LOG" --log-format=COMBINED --no-global-config --no-progress -o "$out"
    if [[ "$o" == json ]]; then
        read -r total valid failed < <(python3 -c '
import json, sys
g = json.load(open(sys.argv[1]))["general"]
print(g["total_requests"], g["valid_requests"], g["failed_requests"])' "$out") || die "could not read $out"
        GA_BYTES=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["general"]["bandwidth"])' "$out")
        [[ "$total" == "$LINES" ]] || say "WARNING: GoAccess read $total requests of $LINES lines"
        [[ "$failed" == 0 ]] || say "WARNING: GoAccess failed to parse $failed lines"
        counts="$(fmt_int "$valid") / $failed"
    else
        # The CSV's general rows end in value, key: ...,"20000","valid_requests".
        counts=$(python3 -c '
import csv, sys
g = {r[-1]: r[-2] for r in csv.reader(open(sys.argv[1])) if len(r) > 3 and r[2] == "general"}
print("{:,} / {}".format(int(g["valid_requests"]), g["failed_requests"]) if "valid_requests" in g else "(see JSON row)")' "$out" 2>/dev/null || echo "(see JSON row)")
    fi
    row "GoAccess $GA_VERSION" "\`--log-format=COMBINED -o report.$o\`: parse + build its panels" \
        "$BEST_WALL" "$(rate "$LINES" "$BEST_WALL")" "$BEST_RSS_MIB" "$counts"
done

# -- 2d. DuckDB ----------------------------------------------------------------------------------
DUCK_PY="$WORK/duckdb_regex.py"
cat >"$DUCK_PY" <<'PY'
import json, sys, time
import duckdb

path, threads, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
# Combined Log Format: client ident user [time] "method target protocol" status bytes "referer" "agent"
REGEX = r'^(\S+) (\S+) (.*?) \[([^\]]+)\] "(\S+) (\S+) ?([^"]*)" (\d{3}) (\d+|-) "((?:[^"\\]|\\.)*)" "((?:[^"\\]|\\.)*)"'
NAMES = ["client", "ident", "user", "time", "method", "path", "protocol", "status", "bytes", "referer", "agent"]
con = duckdb.connect()
con.execute(f"SET threads = {threads}")
sql = f"""
WITH lines AS (
    SELECT line FROM read_csv(?, columns = {{'line': 'VARCHAR'}}, delim = '\\x01', header = false,
                              quote = '', escape = '', auto_detect = false, strict_mode = false)
), parsed AS (
    SELECT regexp_extract(line, '{REGEX.replace("'", "''")}', {NAMES!r}) AS r FROM lines
)
SELECT
    count(*) AS lines,
    count(*) FILTER (WHERE r.client <> '') AS parsed,
    count(*) FILTER (WHERE r.client = '') AS failed,
    count(strptime(nullif(r.time, ''), '%d/%b/%Y:%H:%M:%S %z')) AS times,
    sum(try_cast(nullif(r.status, '') AS INTEGER)) AS status_sum,
    sum(try_cast(nullif(r.bytes, '-') AS BIGINT)) AS bytes_sum,
    sum(length(r.client) + length(r.ident) + length(r.user) + length(r.method) + length(r.path)
        + length(r.protocol) + length(r.referer) + length(r.agent)) AS text_chars
FROM parsed
"""
best = None
for i in range(runs):
    t = time.perf_counter()
    row = con.execute(sql, [path]).fetchone()
    s = time.perf_counter() - t
    print(f"  duckdb run {i + 1}: {s:.2f}s", file=sys.stderr)
    if best is None or s < best:
        best = s
print(json.dumps({"seconds": best, "lines": row[0], "parsed": row[1], "failed": row[2], "times": row[3],
                  "bytes_sum": row[5], "version": duckdb.__version__}))
PY
say "DuckDB regexp_extract ($DUCKDB_THREADS threads, best of $RUNS in one process)"
/usr/bin/time -o "$WORK/time.txt" -f '%e %M' python3 "$DUCK_PY" "$LOG" "$DUCKDB_THREADS" "$RUNS" >"$WORK/duckdb.json" \
    || die "the DuckDB query failed"
read -r _ rss <"$WORK/time.txt"
read -r dk_secs dk_lines dk_parsed dk_failed dk_times dk_bytes DK_VERSION < <(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(d["seconds"], d["lines"], d["parsed"], d["failed"], d["times"], d["bytes_sum"], d["version"])' "$WORK/duckdb.json")
[[ -z "${GA_BYTES:-}" || "$GA_BYTES" == "$dk_bytes" ]] || say "WARNING: byte totals differ: GoAccess $GA_BYTES, DuckDB $dk_bytes"
[[ "$dk_times" == "$dk_parsed" ]] || say "WARNING: DuckDB parsed the time of $dk_times of $dk_parsed matched lines"
[[ "$dk_lines" == "$LINES" ]] || say "WARNING: DuckDB read $dk_lines lines of $LINES"
[[ "$dk_failed" == 0 ]] || say "WARNING: the DuckDB regex failed on $dk_failed lines"
row "DuckDB $DK_VERSION" "read_csv as one column + \`regexp_extract\` (11 groups) + casts, aggregated; $DUCKDB_THREADS threads" \
    "$(printf '%.2f' "$dk_secs")" "$(rate "$dk_parsed" "$dk_secs")" "$((rss / 1024)) (process)" "$(fmt_int "$dk_parsed") / $dk_failed"

LOAD_AFTER=$(load)
COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
{
    echo "## HTTP access logs: flowtrail vs GoAccess vs DuckDB"
    echo
    echo "| machine | |"
    echo "|---|---|"
    echo "| date | $DATE |"
    echo "| CPU | $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), nproc $(nproc) |"
    echo "| memory | $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo) |"
    echo "| load average (1, 5, 15 min) | before $LOAD_BEFORE, after $LOAD_AFTER |"
    echo "| versions | flowtrail-formats at $COMMIT (decode_file example); flowtrail ingest $FT_VERSION; GoAccess $GA_VERSION; DuckDB $DK_VERSION |"
    echo "| data | $(fmt_int "$LINES") Combined Log Format lines, $LOG_MIB MiB (\`bench/gen_access_log.py\`); best of $RUNS run(s) (once for jobs over ${ONCE_OVER_S}s) |"
    echo
    echo "| tool | job | wall s | lines/s | peak RSS MiB | parsed / failed lines |"
    echo "|---|---|---:|---:|---:|---:|"
    printf '%s\n' "${ROWS[@]}"
    echo
    echo "- All tools read the same file from a warm page cache."
    echo "- The jobs differ: the flowtrail decoder row is parsing alone (every field typed: time,"
    echo "  client address, status, bytes, URL split into path/query, extra JSON), in one thread;"
    echo "  GoAccess parses and aggregates into its report panels (one parsing thread in 1.7)"
    echo "  and writes the report; DuckDB splits each line with one regex and casts time, status and"
    echo "  bytes, with $DUCKDB_THREADS threads. DuckDB's time is the query alone (best of $RUNS in one"
    echo "  process); its RSS is that process's peak."
    echo "- flowtrail's decoder reads the whole file into memory first, so its RSS is about the"
    echo "  file size; \`flowtrail ingest\` streams."
    echo "- The machine is shared: compare only figures from the same run."
} | tee "$WORK/report.md"
