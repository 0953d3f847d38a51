#!/usr/bin/env bash
# Ingest rate with all enrichers on versus off, on the same generated AWS VPC files.
#
#   bench/enrich_on_off.sh DATA_DIR [INDICATORS]
#
# DATA_DIR: generated VPC logs (e.g. from bench/run.sh, /tmp/flowtrail-bench/data/aws-vpc-...).
# Enrichers on: an intel store of INDICATORS (default 100,000) generated IPs and CIDRs, plus the
# MaxMind City and ASN test databases from ../shared/corpus (GeoIP and ASN for both ends).
# FLOWTRAIL_BIN: the release binary (default target/release/flowtrail via cargo).
set -euo pipefail
DATA="${1:?usage: bench/enrich_on_off.sh DATA_DIR [INDICATORS]}"
N="${2:-100000}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${FLOWTRAIL_BIN:-}"
if [[ -z "$BIN" ]]; then
    cargo build --release -p flowtrail --manifest-path "$ROOT/Cargo.toml" >&2
    BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/flowtrail"
fi
MMDB="${FLOWTRAIL_CORPUS:-$ROOT/../shared/corpus}/mmdb/maxmind-MaxMind-DB/test-data"
[[ -f "$MMDB/GeoIP2-City-Test.mmdb" ]] || { echo "missing $MMDB/GeoIP2-City-Test.mmdb" >&2; exit 1; }
WORK="${ENRICH_BENCH_DIR:-/tmp/flowtrail-enrich-bench}"
rm -rf "$WORK" && mkdir -p "$WORK"
# Indicators: N/2 single IPs and N/2 /24 networks in ranges the generator uses for external
# hosts, so a realistic share of flows hits; plus the generator's planted needle.
python3 - "$N" > "$WORK/feed.txt" <<'PY'
import random, sys
n = int(sys.argv[1]); r = random.Random(7)
print("# synthetic feed for the enrichment benchmark")
print("203.0.113.77")
for i in range(n // 2):
    print(f"{r.randint(11, 223)}.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}")
for i in range(n // 2):
    print(f"{r.randint(11, 223)}.{r.randint(0, 255)}.{r.randint(0, 255)}.0/24")
PY
run() { # name, lake, extra args...
    local name="$1" lake="$2"; shift 2
    /usr/bin/time -v "$BIN" --lake "$lake" "$@" ingest "$DATA" --summary json > "$WORK/$name.json" 2> "$WORK/$name.time"
    local wall rss rows
    wall=$(python3 -c "import json;print(json.load(open('$WORK/$name.json'))['seconds'])")
    rows=$(python3 -c "import json;print(json.load(open('$WORK/$name.json'))['total']['read'])")
    rss=$(awk -F: '/Maximum resident/ {gsub(/ /,"",$2); print int($2/1024)}' "$WORK/$name.time")
    echo "$name $wall $rows $rss"
}
"$BIN" --lake "$WORK/lake-on" intel add "$WORK/feed.txt" --name bench-feed >&2
off=$(run off "$WORK/lake-off")
on=$(run on "$WORK/lake-on" --geoip "$MMDB/GeoIP2-City-Test.mmdb,$MMDB/GeoLite2-ASN-Test.mmdb")
hits=$("$BIN" --lake "$WORK/lake-on" query --sql "SELECT count(*) AS n FROM flows WHERE ti_hits IS NOT NULL" -o csv | tail -1)
geo=$("$BIN" --lake "$WORK/lake-on" query --sql "SELECT count(*) AS n FROM flows WHERE dst_country IS NOT NULL OR src_country IS NOT NULL" -o csv | tail -1)
read -r _ woff roff moff <<<"$off"
read -r _ won ron mon <<<"$on"
echo "| ingest | wall s | records/s | peak RSS MiB |"
echo "|---|---:|---:|---:|"
awk -v w="$woff" -v r="$roff" -v m="$moff" 'BEGIN { printf "| enrichers off | %.2f | %.0f | %d |\n", w, r/w, m }'
awk -v w="$won" -v r="$ron" -v m="$mon" 'BEGIN { printf "| enrichers on (%s indicators, GeoIP City + ASN) | %.2f | %.0f | %d |\n", "'"$N"'", w, r/w, m }'
awk -v a="$woff" -v b="$won" 'BEGIN { printf "\nslowdown with enrichers on: %.1f %%\n", (b/a - 1) * 100 }'
echo "rows with a threat-intel hit: $hits; rows with a country on either end: $geo"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ)"
