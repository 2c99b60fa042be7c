#!/usr/bin/env bash
# Builds the libFuzzer targets with clang and runs each for SECONDS (default 20) from seeds made by NumPy
# and ONNX. A crash, sanitizer report or leak fails the run; the reproducer is kept in build-fuzz/crashes.
set -euo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"

seconds="${1:-20}"
ORT_ROOT=$("$MDK_ROOT/scripts/fetch-ort.sh")
build="$MDK_ROOT/build-fuzz"
[ -f "$build/CMakeCache.txt" ] ||
    cmake -S "$MDK_ROOT" -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DMDK_FUZZ=ON -DMDK_TESTS=OFF -DORT_ROOT="$ORT_ROOT" >/dev/null
cmake --build "$build" -j"$(nproc)" >/dev/null

corpus="$build/corpus"
rm -rf "$corpus" && mkdir -p "$corpus" "$build/crashes"
MDK_BIN="${MDK_BUILD_DIR:-$MDK_ROOT/build}/mdk" /usr/bin/python3 "$MDK_ROOT/tests/fuzz/seeds.py" "$corpus"

status=0
for target in fuzz_npy fuzz_pb fuzz_json fuzz_npz fuzz_sequence fuzz_optional fuzz_graph fuzz_image fuzz_spec fuzz_bundle fuzz_v2; do
    mkdir -p "$corpus/$target"
    if "$build/tests/fuzz/$target" "$corpus/$target" -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 \
        -artifact_prefix="$build/crashes/$target-" -print_final_stats=0 >"$build/$target.log" 2>&1; then
        echo "fuzz $target: $(grep -oE '#[0-9]+' "$build/$target.log" | tail -n1 | tr -d '#') runs, no crash"
    else
        echo "fuzz $target: FAILED"; tail -n 30 "$build/$target.log"; status=1
    fi
done
exit "$status"
