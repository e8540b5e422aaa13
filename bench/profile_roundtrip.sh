#!/usr/bin/env bash
# Where an isolated round trip's server CPU goes, by library: tofu-rpc against pin_server, each
# sampled with perf (cpu-clock, 20 kHz) over N round trips of one `listCerts {host}` request,
# client on CPU 0 and server on CPU 1 as `make bench` places them, from 0.1 s after the server
# starts (its start and the 200 warm-up requests are not sampled). Not part of `make bench`:
# it needs perf (Debian: linux-perf) and leaves its data in a temporary directory it removes.
#
#   bench/profile_roundtrip.sh STORE REQUESTS [N]   (after `make bench`: .build-release, .build/bench)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
store=$1 requests=$2 n=${3:-10000}
bench=$root/.build/bench server=$root/.build-release/release/tofu-rpc
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for side in tofu-rpc pin_server; do
    if [ $side = tofu-rpc ]; then command=("$server" --store "$store"); else command=("$bench/pin_server" "$store"); fi
    taskset -c 0 "$bench/loadgen" roundtrip "$n" "$requests" -- \
        taskset -c 1 perf record -q -D 100 -e cpu-clock -F 20000 -o "$work/$side.data" "${command[@]}" > "$work/$side.rt"
    echo "== $side: median round trip $(cut -d' ' -f1 "$work/$side.rt") us (sampled); samples by library:"
    perf report -q -n -i "$work/$side.data" --sort dso --stdio 2>/dev/null | awk 'NF { printf "  %8s %7s  %s\n", $2, $1, $3 }' | head -8
done
