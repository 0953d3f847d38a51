#!/usr/bin/env bash
# Regenerates the softflowd export captures in this folder from synthetic traffic.
#
#   make_traffic.py writes traffic.pcap: a few flows between documentation addresses
#   (RFC 5737, RFC 3849) with fixed timestamps. softflowd reads it (-r) and exports NetFlow v5,
#   v9 and IPFIX (plain, bidirectional, sampled) to a UDP port on the loopback interface, where
#   tcpdump captures the export datagrams. Only this synthetic traffic is ever captured.
#
# Needs root (tcpdump on lo) and the Debian packages softflowd and tcpdump:
#   apt-get install -y softflowd tcpdump
# Usage: sudo testdata/netflow/make-captures.sh
set -euo pipefail
cd "$(dirname "$0")"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

python3 make_traffic.py traffic.pcap

capture_once() { # name port softflowd-args...
    local name=$1 port=$2
    shift 2
    tcpdump -i lo -U -w "$work/$name.pcap" "udp and dst host 127.0.0.1 and dst port $port" 2>"$work/tcpdump.log" &
    local tcpdump_pid=$!
    sleep 1.5
    softflowd -d -r traffic.pcap -n "127.0.0.1:$port" -p "$work/softflowd.pid" -c "$work/softflowd.ctl" "$@" \
        >"$work/softflowd.log" 2>&1 &
    local softflowd_pid=$!
    sleep 3
    # softflowd keeps flows open after the end of the file until told to expire them.
    softflowctl -c "$work/softflowd.ctl" expire-all >/dev/null
    sleep 1
    softflowctl -c "$work/softflowd.ctl" shutdown >/dev/null 2>&1 || true
    wait "$softflowd_pid" 2>/dev/null || true
    sleep 0.5
    kill "$tcpdump_pid"
    wait "$tcpdump_pid" 2>/dev/null || true
}

capture() { # name port softflowd-args...; retried: the timing of the loopback capture varies
    local name=$1 try n
    for try in 1 2 3; do
        capture_once "$@"
        n=$(tcpdump -nr "$work/$name.pcap" 2>/dev/null | wc -l)
        if [ "$n" -gt 0 ]; then
            mv "$work/$name.pcap" "softflowd-$name.pcap"
            echo "softflowd-$name.pcap: $n export packets"
            return
        fi
    done
    echo "softflowd-$name.pcap: nothing captured" >&2
    exit 1
}

capture v5 29905 -v 5 -a
capture v9 29909 -v 9 -6 -a
capture ipfix 29910 -v 10 -6 -A milli
capture ipfix-biflow 29911 -v 10 -6 -b -A milli
capture ipfix-sampled 29912 -v 10 -6 -s 2 -A milli
