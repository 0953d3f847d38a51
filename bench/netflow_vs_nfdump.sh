#!/usr/bin/env bash
# flowtrail vs nfdump on the same NetFlow v9 and IPFIX flows (issue "Flow formats", item 10).
#
#   bench/netflow_vs_nfdump.sh [FLOWS]      FLOWS defaults to 2000000 (per protocol version)
#
# For each of NetFlow v9 and IPFIX:
#   1. bench/gen_netflow.py writes FLOWS deterministic flows as export datagrams (30 records
#      each, the template in every 100th) to a raw dump (flowtrail's `netflow` format);
#   2. the same datagrams are replayed over UDP on 127.0.0.1 to a fresh nfcapd, paced so that it
#      drops nothing; the flow, packet and byte counts nfcapd stored are checked against the
#      generator's (a run that lost datagrams is retried at half the rate);
#   3. nfdump reads nfcapd's files (`nfdump -R DIR -q -o csv|line|pipe|null > /dev/null`,
#      best of RUNS), and flowtrail ingests the raw dump into a fresh lake
#      (`flowtrail ingest DUMP --format netflow`, best of RUNS), whose counts and sums are
#      checked with a query.
# Prints a Markdown report (machine facts and a table of flows/s) on stdout and writes it to
# $NETFLOW_BENCH_DIR/report.md.
#
# Environment knobs (all optional):
#   FLOWTRAIL_BIN      flowtrail binary (default /tmp/ft-release; build one with
#                      `cargo build --release -p flowtrail`)
#   NETFLOW_BENCH_DIR  work directory (default /tmp/flowtrail-netflow-bench); dumps are reused
#                      by later runs with the same FLOWS
#   RUNS               timed runs per job, best reported (default 3)
#   ONCE_OVER_S        a job whose first run takes longer than this is run once (default 10)
#   PPS                replay rate in datagrams per second (default 20000 = 600k flows/s)
#   VERSIONS           protocol versions to run (default "9 10")
#   NFDUMP_OUTPUTS     nfdump output modes to time (default "csv line pipe null")
#
# Needs nfdump (Debian package `nfdump`: nfcapd and nfdump), python3 and GNU time
# (`/usr/bin/time`); as root with apt-get, missing packages are installed.
set -euo pipefail

FLOWS="${1:-2000000}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
GEN="$ROOT/bench/gen_netflow.py"
FT="${FLOWTRAIL_BIN:-/tmp/ft-release}"
WORK="${NETFLOW_BENCH_DIR:-/tmp/flowtrail-netflow-bench}"
RUNS="${RUNS:-3}"
PPS="${PPS:-20000}"
VERSIONS="${VERSIONS:-9 10}"
NFDUMP_OUTPUTS="${NFDUMP_OUTPUTS:-csv line pipe null}"
ONCE_OVER_S="${ONCE_OVER_S:-10}"

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'netflow_vs_nfdump.sh: error: %s\n' "$*" >&2; exit 1; }

[[ "$FLOWS" =~ ^[0-9]+$ && "$FLOWS" -gt 0 ]] || die "FLOWS must be a positive integer, got '$FLOWS'"
[[ "$RUNS" =~ ^[0-9]+$ && "$RUNS" -gt 0 ]] || die "RUNS must be a positive integer"
[[ "$PPS" =~ ^[0-9]+$ && "$PPS" -ge 100 ]] || die "PPS must be an integer >= 100"

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
need_pkg nfcapd nfdump
need_pkg nfdump nfdump
[[ -x /usr/bin/time ]] || need_pkg /usr/bin/time time
command -v python3 >/dev/null || die "python3 not found"
[[ -x "$FT" ]] || die "flowtrail binary '$FT' not found: set FLOWTRAIL_BIN or build one (cargo build --release -p flowtrail)"
mkdir -p "$WORK"

NFCAPD_PID="" TIME_PID=""
cleanup() {
    local p
    for p in $NFCAPD_PID $TIME_PID; do
        kill -KILL "$p" 2>/dev/null || true
    done
    [[ -z "$TIME_PID" ]] || wait "$TIME_PID" 2>/dev/null || true
}
trap cleanup EXIT

jget() { # file key: one value of a JSON object
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"
}
free_port() {
    python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
fmt_int() { python3 -c 'import sys; print(f"{int(float(sys.argv[1])):,}")' "$1"; }
rate() { # flows seconds -> "1,234,567" (or "–" when seconds is 0)
    python3 -c 'import sys; n, s = float(sys.argv[1]), float(sys.argv[2]); print(f"{n / s:,.0f}" if s > 0 else "–")' "$1" "$2"
}
add() { python3 -c 'import sys; print(f"{sum(map(float, sys.argv[1:])):.2f}")' "$@"; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
child_of() { # pid: the first child process of pid, from /proc
    local p f
    for p in /proc/[0-9]*/stat; do
        read -r -a f <"$p" 2>/dev/null || continue
        [[ "${f[3]}" == "$1" ]] && { echo "${f[0]}"; return; }
    done
}

# Runs a command RUNS times (once if the first run takes over ONCE_OVER_S seconds) under GNU
# time; sets BEST_WALL, BEST_CPU, BEST_RSS_MIB (of the run with the best wall time). The
# command's stdout goes to /dev/null unless redirected inside.
time_best() { # label cmd...
    local label=$1 tf="$WORK/time.txt" i wall user sys rss
    shift
    BEST_WALL="" BEST_CPU="" BEST_RSS_MIB=""
    for ((i = 1; i <= RUNS; i++)); do
        "${PRE_RUN[@]}"
        /usr/bin/time -o "$tf" -f '%e %U %S %M' "$@" >/dev/null 2>"$WORK/stderr.txt" \
            || { cat "$WORK/stderr.txt" >&2; die "$label failed"; }
        read -r wall user sys rss <"$tf"
        say "  $label run $i: ${wall}s wall, ${user}s user, ${sys}s sys, $((rss / 1024)) MiB"
        if [[ -z "$BEST_WALL" ]] || python3 -c 'import sys; sys.exit(float(sys.argv[1]) >= float(sys.argv[2]))' "$wall" "$BEST_WALL"; then
            BEST_WALL=$wall BEST_CPU=$(add "$user" "$sys") BEST_RSS_MIB=$((rss / 1024))
        fi
        # A job that takes long is timed once: its rate is stable enough, and the run stays short.
        if python3 -c 'import sys; sys.exit(float(sys.argv[1]) < float(sys.argv[2]))' "$wall" "$ONCE_OVER_S"; then
            break
        fi
    done
}
PRE_RUN=(true)

ROWS=()
row() { # tool input job flows wall cpu rss
    local wall_rate cpu_rate
    if [[ "$5" == paced* ]]; then wall_rate="(paced)"; else wall_rate=$(rate "$4" "$5"); fi
    cpu_rate=$(rate "$4" "$6")
    ROWS+=("| $1 | $2 | $3 | $(fmt_int "$4") | $5 | **$wall_rate** | $6 | $cpu_rate | $7 |")
}

LOAD_BEFORE=$(load)
DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
say "work directory $WORK, $FLOWS flows per version, versions: $VERSIONS, load $LOAD_BEFORE"

for V in $VERSIONS; do
    case "$V" in 9) NAME="NetFlow v9" ;; 10) NAME="IPFIX" ;; *) die "VERSIONS: 9 or 10, got $V" ;; esac
    DUMP="$WORK/v$V.dat" META="$WORK/v$V.json"

    # -- 1. the export stream ----------------------------------------------------------------
    if [[ -f "$META" && -f "$DUMP" && -f "$DUMP.idx" && "$(jget "$META" flows)" == "$FLOWS" ]]; then
        say "$NAME: reusing $DUMP"
    else
        say "$NAME: generating $FLOWS flows"
        python3 "$GEN" write --version "$V" --flows "$FLOWS" "$DUMP" >"$META"
    fi
    DATAGRAMS=$(jget "$META" datagrams) BYTES=$(jget "$META" bytes) PACKETS=$(jget "$META" packets)
    DUMP_MIB=$(python3 -c 'import sys; print(f"{int(sys.argv[1]) / 2**20:.0f}")' "$(jget "$META" dump_bytes)")

    # -- 2. nfcapd collects the same datagrams ------------------------------------------------
    NFDIR="$WORK/nfcapd-v$V"
    pps=$PPS ok=""
    for try in 1 2 3; do
        rm -rf "$NFDIR" && mkdir -p "$NFDIR/flows"
        port=$(free_port)
        # Under GNU time, for its CPU time and peak memory (receiving, decoding, storing).
        /usr/bin/time -o "$NFDIR/time.txt" -f '%U %S %M' \
            nfcapd -w "$NFDIR/flows" -b 127.0.0.1 -p "$port" -t 3600 -B 8388608 >"$NFDIR/nfcapd.log" 2>&1 &
        TIME_PID=$!
        for _ in $(seq 100); do grep -q Startup "$NFDIR/nfcapd.log" && break; sleep 0.1; done
        NFCAPD_PID=$(child_of "$TIME_PID")
        [[ -n "$NFCAPD_PID" ]] && grep -q Startup "$NFDIR/nfcapd.log" \
            || { cat "$NFDIR/nfcapd.log" >&2; die "nfcapd did not start"; }
        say "$NAME: replaying $DATAGRAMS datagrams to nfcapd on 127.0.0.1:$port at $pps/s"
        python3 "$GEN" send "$DUMP" --to "127.0.0.1:$port" --pps "$pps" >"$NFDIR/send.json"
        sleep 1
        # SIGTERM: nfcapd writes its last block and closes the file.
        kill -TERM "$NFCAPD_PID"
        for _ in $(seq 100); do kill -0 "$TIME_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$NFCAPD_PID" 2>/dev/null || true
        wait "$TIME_PID" 2>/dev/null || true
        NFCAPD_PID="" TIME_PID=""
        read -r user sys rss < <(tail -n 1 "$NFDIR/time.txt") || die "no GNU time output for nfcapd"
        NFCAPD_CPU=$(add "$user" "$sys") NFCAPD_MIB=$((rss / 1024))
        stats=$(grep -m1 "^Ident:" "$NFDIR/nfcapd.log" || true)
        got=$(sed -n 's/.* Flows: \([0-9]*\),.*/\1/p' <<<"$stats")
        if [[ "$got" == "$FLOWS" ]]; then ok=1; break; fi
        say "$NAME: nfcapd stored ${got:-no} flows of $FLOWS ($stats); retrying at half the rate"
        pps=$((pps / 2))
    done
    [[ -n "$ok" ]] || die "$NAME: nfcapd kept losing datagrams (see $NFDIR/nfcapd.log)"
    REPLAY_S=$(jget "$NFDIR/send.json" seconds)
    [[ "$(jget "$NFDIR/send.json" sha256)" == "$(jget "$META" sha256)" ]] || die "replayed stream differs from the dump"
    # nfdump's own account of the stored flows must match the generator exactly.
    summary=$(nfdump -N -R "$NFDIR/flows" -o null | grep '^Summary:')
    want="Summary: total flows: $FLOWS, total bytes: $BYTES, total packets: $PACKETS,"
    [[ "$summary" == "$want"* ]] || die "$NAME: nfdump says '$summary', expected '$want'"
    NF_MIB=$(du -sm "$NFDIR/flows" | cut -f1)
    say "$NAME: nfcapd stored all $FLOWS flows ($NF_MIB MiB), ${NFCAPD_CPU}s CPU; counts verified"
    row "nfcapd $(nfdump -V | sed 's/.*Version: *//')" "$NAME over UDP ($DATAGRAMS datagrams)" \
        "collect: decode + store its binary files" "$FLOWS" "paced, ${REPLAY_S}" "$NFCAPD_CPU" "$NFCAPD_MIB"

    # -- 3. nfdump reads the archive -------------------------------------------------------------
    for o in $NFDUMP_OUTPUTS; do
        time_best "nfdump -o $o" nfdump -R "$NFDIR/flows" -q -o "$o"
        row "nfdump" "nfcapd files ($NF_MIB MiB)" "\`-q -o $o > /dev/null\`" "$FLOWS" "$BEST_WALL" "$BEST_CPU" "$BEST_RSS_MIB"
    done

    # -- 4. flowtrail decodes the raw dump into a fresh lake -----------------------------------
    LAKE="$WORK/lake-v$V"
    PRE_RUN=(rm -rf "$LAKE")
    time_best "flowtrail ingest" sh -c '"$1" --lake "$2" ingest "$3" --format netflow --summary json >"$4"' \
        sh "$FT" "$LAKE" "$DUMP" "$WORK/ingest.json"
    PRE_RUN=(true)
    INGEST_WALL=$BEST_WALL INGEST_CPU=$BEST_CPU INGEST_RSS_MIB=$BEST_RSS_MIB
    stored=$(python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))["total"]; print(t["stored"], t["rejected"])' "$WORK/ingest.json")
    [[ "$stored" == "$FLOWS 0" ]] || die "$NAME: flowtrail stored/rejected '$stored', expected '$FLOWS 0'"
    q=$("$FT" --lake "$LAKE" query --sql "SELECT count(*) AS n, sum(bytes_out) AS b, sum(packets_out) AS p FROM flows" -o json)
    got=$(python3 -c 'import json,sys; r=json.loads(sys.argv[1])[0]; print(r["n"], r["b"], r["p"])' "$q")
    [[ "$got" == "$FLOWS $BYTES $PACKETS" ]] || die "$NAME: flowtrail query gives '$got', expected '$FLOWS $BYTES $PACKETS'"
    LAKE_MIB=$(du -sm "$LAKE/flows" | cut -f1)
    say "$NAME: flowtrail stored all $FLOWS flows ($LAKE_MIB MiB of Parquet); counts and sums verified"

    # -- 5. the same question to both stores: how many UDP flows? --------------------------------
    nf_udp=$(nfdump -N -R "$NFDIR/flows" -o null 'proto udp' | sed -n 's/^Summary: total flows: \([0-9]*\),.*/\1/p')
    q=$("$FT" --lake "$LAKE" query --sql "SELECT count(*) AS n FROM flows WHERE protocol = 17" -o json)
    ft_udp=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])[0]["n"])' "$q")
    [[ -n "$nf_udp" && "$nf_udp" == "$ft_udp" ]] || die "$NAME: UDP flows: nfdump $nf_udp, flowtrail $ft_udp"
    time_best "nfdump filter" nfdump -R "$NFDIR/flows" -q -o null 'proto udp'
    NF_QUERY_ROW=("nfdump" "nfcapd files" "query: UDP flows (\`-o null 'proto udp'\`, $(fmt_int "$nf_udp") hits)" \
        "$FLOWS" "$BEST_WALL" "$BEST_CPU" "$BEST_RSS_MIB")
    time_best "flowtrail query" "$FT" --lake "$LAKE" query --sql "SELECT count(*) AS n FROM flows WHERE protocol = 17" -o json
    QUERY_ROW=("flowtrail" "its lake" "query: UDP flows (\`query --sql \"SELECT count(*) … WHERE protocol = 17\"\`)" \
        "$FLOWS" "$BEST_WALL" "$BEST_CPU" "$BEST_RSS_MIB")
    row "flowtrail $("$FT" --version | awk '{print $2}')" "raw $NAME dump ($DUMP_MIB MiB)" \
        "\`ingest --format netflow\`: decode + normalise + Parquet lake ($LAKE_MIB MiB)" "$FLOWS" "$INGEST_WALL" "$INGEST_CPU" "$INGEST_RSS_MIB"
    row "${NF_QUERY_ROW[@]}"
    row "${QUERY_ROW[@]}"
done

LOAD_AFTER=$(load)
COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
{
    echo "## NetFlow: flowtrail vs nfdump"
    echo
    echo "| machine | |"
    echo "|---|---|"
    echo "| date | $DATE |"
    echo "| CPU | $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), nproc $(nproc) |"
    echo "| memory | $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo) |"
    echo "| load average (1, 5, 15 min) | before $LOAD_BEFORE, after $LOAD_AFTER |"
    echo "| versions | $(nfdump -V | sed 's/.*Version: *//') (nfcapd, nfdump); flowtrail $("$FT" --version | awk '{print $2}') at $COMMIT ($FT) |"
    echo "| data | $(fmt_int "$FLOWS") flows per protocol version, 30 per datagram, template every 100 datagrams; best of $RUNS run(s) |"
    echo
    echo "| tool | input | job | flows | wall s | flows/s (wall) | CPU s | flows per CPU-s | max RSS MiB |"
    echo "|---|---|---|---:|---:|---:|---:|---:|---:|"
    printf '%s\n' "${ROWS[@]}"
    echo
    echo "- Both sides hold the same flows: nfcapd received the datagrams of the dump flowtrail"
    echo "  reads (same SHA-256), and the flow, packet and byte totals of nfdump and of a flowtrail"
    echo "  query were checked against the generator's."
    echo "- The jobs differ: nfdump reads nfcapd's already decoded binary files (the decoding"
    echo "  happened in nfcapd, whose CPU time is shown; its wall time is the paced replay) and"
    echo "  prints text to /dev/null; flowtrail decodes the raw datagrams, normalises them to its"
    echo "  schema and writes a compressed, partitioned Parquet lake. \`-o null\` reads the files"
    echo "  and prints only statistics: nfdump's floor."
    echo "- The query rows are whole CLI runs (process start included) over all flows; flows/s there"
    echo "  is flows covered per second. nfdump reads every record of its files; flowtrail reads only"
    echo "  the Parquet column the query needs. Both answers were checked to be equal."
    echo "- flowtrail's pure decoder rate (in memory, no Parquet) is measured by"
    echo "  \`cargo bench -p flowtrail-formats --bench netflow\` (BENCHMARKS.md, \"Decoders\")."
    echo "- The machine is shared: compare only figures from the same run."
} | tee "$WORK/report.md"
