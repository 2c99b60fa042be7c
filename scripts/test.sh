#!/usr/bin/env bash
# Runs the whole test suite: sets up and builds, runs every CTest suite (unit, CLI, interop, real models,
# ONNX conformance), then the C and CLI tests again under AddressSanitizer + UndefinedBehaviorSanitizer,
# then each fuzz target briefly. --quick skips the sanitizer and fuzz stages.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

quick=0
for a in "$@"; do
    case "$a" in
        --quick) quick=1 ;;
        -h|--help) sed -n '2,4p' "$0"; exit 0 ;;
        *) die "unknown option '$a'" ;;
    esac
done

"$MDK_ROOT/scripts/setup.sh"
ORT_ROOT=$("$MDK_ROOT/scripts/fetch-ort.sh")
jobs=$(nproc)

say "test suite"
ctest --test-dir "${MDK_BUILD_DIR:-$MDK_ROOT/build}" -j"$jobs" --output-on-failure

[ "$quick" = 1 ] && exit 0

say "ASan + UBSan build"
asan="$MDK_ROOT/build-asan"
[ -f "$asan/CMakeCache.txt" ] ||
    cmake -S "$MDK_ROOT" -B "$asan" -DCMAKE_BUILD_TYPE=Debug -DMDK_SANITIZE=ON -DORT_ROOT="$ORT_ROOT" >/dev/null
cmake --build "$asan" -j"$jobs" >/dev/null
# Sanitizer reports exit with 86, so that no test can mistake one for an ordinary failure (exit 1).
MDK_SANITIZE=1 \
ASAN_OPTIONS=detect_leaks=1:exitcode=86 \
LSAN_OPTIONS=suppressions="$MDK_ROOT/tests/lsan.supp":print_suppressions=0:exitcode=86 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=86 \
    ctest --test-dir "$asan" -L sanitize -j"$jobs" --output-on-failure

say "ThreadSanitizer: one model shared by several threads"
tsan="$MDK_ROOT/build-tsan"
[ -f "$tsan/CMakeCache.txt" ] ||
    cmake -S "$MDK_ROOT" -B "$tsan" -DCMAKE_BUILD_TYPE=Debug -DMDK_TSAN=ON -DORT_ROOT="$ORT_ROOT" >/dev/null
cmake --build "$tsan" -j"$jobs" --target test_model >/dev/null
TSAN_OPTIONS=halt_on_error=1:exitcode=86 "$tsan/tests/test_model"

say "fuzzing"
"$MDK_ROOT/tests/fuzz/run.sh" "${MDK_FUZZ_SECONDS:-20}"
