#!/usr/bin/env bash
# make fuzz [FUZZ_SECONDS=60]: libFuzzer over the framer and JSON-RPC decoding, seeded from
# Tests/Corpus. New crashing inputs land in .build/fuzz/; add them to Tests/Corpus with the fix.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
seconds=${1:-60}
mkdir -p .build/fuzz/corpus
cp Tests/Corpus/*.ndjson Tests/Corpus/*.lsp .build/fuzz/corpus/
sources=(JSONValue JSONCodec Framing FrameDecoder Message Params ResponseError ErrorCode)
files=()
for source in "${sources[@]}"; do files+=("Sources/JSONRPC/$source.swift"); done
# (gold warns once per ASan helper symbol; those lines are dropped, everything else shows.)
swiftc -O -sanitize=fuzzer,address -parse-as-library -module-name JSONRPCFuzz -I Sources/CJansson \
  fuzz/FuzzFraming.swift "${files[@]}" -o .build/fuzz/fuzz-framing 2> >(grep -v "Cannot export local symbol" >&2)
cd .build/fuzz
./fuzz-framing -max_total_time="$seconds" -max_len=65536 -print_final_stats=1 corpus 2>&1 | tail -15

# The host-key parser (fuzz/FuzzHostKey.swift over Sources/TofuCore/HostKey.swift), seeded with
# spellings of one address, names and IPv6 forms; invariants in the target's header.
cd "$root"
mkdir -p .build/fuzz/hostkey-corpus
seeds=("127.0.0.1" "0x7f000001" "0x7f.0.0.0x1:443" "0177.0.0.1" "127.1" "2130706433" "127.0.0.1." "::ffff:127.0.0.1"
  "[::ffff:7f00:1]:443" "::127.0.0.1" "64:ff9b::7f00:1" "fe80::1%eth0" "dnac.example.com_443" "DNAC.Example.COM."
  "2001:DB8::5" "[2001:db8::5]:8443" "xn--bcher-kva.example" "１２７．０．０．１" "127。0。0。1" "localhost:4433" "0.0.0.0" "::"
  "a.0x" "1e5.example")
for index in "${!seeds[@]}"; do printf '%s' "${seeds[$index]}" > ".build/fuzz/hostkey-corpus/seed-$index"; done
swiftc -O -sanitize=fuzzer,address -parse-as-library -module-name TofuCoreFuzz \
  fuzz/FuzzHostKey.swift Sources/TofuCore/HostKey.swift -o .build/fuzz/fuzz-hostkey 2> >(grep -v "Cannot export local symbol" >&2)
cd .build/fuzz
./fuzz-hostkey -max_total_time="$seconds" -max_len=512 -dict="$root/fuzz/hostkey.dict" -print_final_stats=1 hostkey-corpus 2>&1 | tail -15
