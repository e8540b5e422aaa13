#!/usr/bin/env bash
# make fuzz [FUZZ_SECONDS=60]: every libFuzzer target, one after the other, FUZZ_SECONDS each:
#   framing  the framer and JSON-RPC decoding, seeded from Tests/Corpus
#   http     the HTTP response reader (a controller's answer), seeded from fuzz/http-corpus
#   hostkey  the host-key parser (every spelling of an address has one key), with fuzz/hostkey.dict
# Each is compiled alone from the sources it exercises. New crashing inputs land in
# .build/fuzz/; add them to the target's corpus with the fix.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
root=$PWD
mkdir -p .build/fuzz

# build NAME MODULE SWIFTC-ARGS...: compile one target with libFuzzer and ASan.
# (gold warns once per ASan helper symbol; those lines are dropped, everything else shows.)
build() {
  local name=$1 module=$2
  shift 2
  swiftc -O -sanitize=fuzzer,address -parse-as-library -module-name "$module" "$@" \
    -o ".build/fuzz/fuzz-$name" 2> >(grep -v "Cannot export local symbol" >&2)
}

# run NAME CORPUS-DIR MAX-LEN [LIBFUZZER-FLAGS...]: fuzz for $seconds seconds, print the final stats.
run() {
  local name=$1 corpus=$2 max_len=$3
  shift 3
  echo "== fuzz-$name: $seconds s =="
  (cd .build/fuzz && "./fuzz-$name" -max_total_time="$seconds" -max_len="$max_len" -print_final_stats=1 "$@" "$corpus" 2>&1 | tail -15)
}

mkdir -p .build/fuzz/corpus
cp Tests/Corpus/*.ndjson Tests/Corpus/*.lsp .build/fuzz/corpus/
framing=()
for source in JSONValue JSONCodec ParseErrorWording Framing FrameDecoder Message Params ResponseError ErrorCode; do
  framing+=("Sources/JSONRPC/$source.swift")
done
build framing JSONRPCFuzz -I Sources/CJansson fuzz/FuzzFraming.swift "${framing[@]}"
run framing corpus 65536

mkdir -p .build/fuzz/http-corpus
cp fuzz/http-corpus/* .build/fuzz/http-corpus/
build http HTTPFuzz fuzz/FuzzHTTP.swift Sources/TofuTLS/HTTPResponseReader.swift
run http http-corpus 8192

# The host-key parser (fuzz/FuzzHostKey.swift over Sources/TofuCore/HostKey.swift), seeded with
# spellings of one address, names and IPv6 forms; invariants in the target's header.
mkdir -p .build/fuzz/hostkey-corpus
seeds=("127.0.0.1" "0x7f000001" "0x7f.0.0.0x1:443" "0177.0.0.1" "127.1" "2130706433" "127.0.0.1." "::ffff:127.0.0.1"
  "[::ffff:7f00:1]:443" "::127.0.0.1" "64:ff9b::7f00:1" "fe80::1%eth0" "dnac.example.com_443" "DNAC.Example.COM."
  "2001:DB8::5" "[2001:db8::5]:8443" "xn--bcher-kva.example" "１２７．０．０．１" "127。0。0。1" "localhost:4433" "0.0.0.0" "::"
  "a.0x" "1e5.example")
for index in "${!seeds[@]}"; do printf '%s' "${seeds[$index]}" > ".build/fuzz/hostkey-corpus/seed-$index"; done
build hostkey TofuCoreFuzz fuzz/FuzzHostKey.swift Sources/TofuCore/HostKey.swift
run hostkey hostkey-corpus 512 -dict="$root/fuzz/hostkey.dict"
