#!/usr/bin/env bash
# make fuzz [FUZZ_SECONDS=60]: libFuzzer over the framer and JSON-RPC decoding, seeded from
# Tests/Corpus. New crashing inputs land in .build/fuzz/; add them to Tests/Corpus with the fix.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
mkdir -p .build/fuzz/corpus
cp Tests/Corpus/*.ndjson Tests/Corpus/*.lsp .build/fuzz/corpus/
sources=(JSONValue JSONCodec ParseErrorWording Framing FrameDecoder Message Params ResponseError ErrorCode)
files=()
for source in "${sources[@]}"; do files+=("Sources/JSONRPC/$source.swift"); done
# (gold warns once per ASan helper symbol; those lines are dropped, everything else shows.)
swiftc -O -sanitize=fuzzer,address -parse-as-library -module-name JSONRPCFuzz -I Sources/CJansson \
  fuzz/FuzzFraming.swift "${files[@]}" -o .build/fuzz/fuzz-framing 2> >(grep -v "Cannot export local symbol" >&2)
cd .build/fuzz
./fuzz-framing -max_total_time="$seconds" -max_len=65536 -print_final_stats=1 corpus 2>&1 | tail -15
