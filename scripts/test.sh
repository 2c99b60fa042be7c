#!/usr/bin/env bash
# Runs the whole test suite: sets up and builds, runs every CTest suite (unit, CLI, interop, real models,
# ONNX conformance), then the C and CLI tests again under AddressSanitizer + UndefinedBehaviorSanitizer,
# then each fuzz target briefly. --quick skips the sanitizer and fuzz stages.
# A test that skips for a missing dependency fails the suite, unless --optional LIST names that dependency
# (comma-separated, of: models, wrk, chromium); setup installs all of them, so a plain run needs no option.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

quick=0
optional=
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) quick=1 ;;
        --optional) [ $# -ge 2 ] || die "--optional needs a list, e.g. --optional wrk,chromium"
                    optional="$2"; shift ;;
        --optional=*) optional="${1#--optional=}" ;;
        -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
        *) die "unknown option '$1'" ;;
    esac
    shift
done
for dep in ${optional//,/ }; do
    case "$dep" in
        models|wrk|chromium) ;;
        *) die "--optional: no test depends on '$dep' (known: models, wrk, chromium)" ;;
    esac
done
# Only this option allows skips: a value inherited from the caller's environment does not.
export MDK_TEST_OPTIONAL="$optional"

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
# Allocation stacks are unwound in full: ONNX Runtime has no frame pointers, so the fast unwinder stops inside
# it, and only a full stack tells an object ONNX Runtime allocated for mdk (a leak of mdk's, reported) from its
# own once-only set-up (tests/lsan.supp).
sanitize() {
    local supp="$1" unwind="$2"; shift 2
    MDK_SANITIZE=1 \
    ASAN_OPTIONS=detect_leaks=1:exitcode=86:$unwind \
    LSAN_OPTIONS=suppressions="$supp":print_suppressions=0:exitcode=86:$unwind \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=86 \
        ctest --test-dir "$asan" -j"$jobs" --output-on-failure -L sanitize "$@"
}
fast_unwind='^(server\.|conformance\.|bundle\.|cli\.check$)'
sanitize "$MDK_ROOT/tests/lsan.supp" fast_unwind_on_malloc=0:malloc_context_size=64 -E "$fast_unwind"
# Full unwinding makes every allocation several times slower, too slow for the suites that time themselves:
# the server suite (multi-megabyte JSON bodies, whose requests then time out), mdk check's probes (2 s
# timeouts), the bundle suite (packing and verifying real models: 8 minutes instead of 1.5) and the ONNX
# conformance suite (about 930 processes, about 20 minutes more on 2 cores) run with the fast unwinder. Their stacks of ONNX Runtime's allocations end inside ONNX Runtime and
# cannot be told apart, so there all of them are suppressed; mdk's leaks of its own allocations are still
# found, and its handling of ONNX Runtime objects (src/runtime) is the same code the suites above drive.
printf 'leak:libonnxruntime.so\n' >"$asan/lsan-fast-unwind.supp"
sanitize "$asan/lsan-fast-unwind.supp" fast_unwind_on_malloc=1 -R "$fast_unwind"

say "ThreadSanitizer: one model shared by several threads"
tsan="$MDK_ROOT/build-tsan"
[ -f "$tsan/CMakeCache.txt" ] ||
    cmake -S "$MDK_ROOT" -B "$tsan" -DCMAKE_BUILD_TYPE=Debug -DMDK_TSAN=ON -DORT_ROOT="$ORT_ROOT" >/dev/null
cmake --build "$tsan" -j"$jobs" --target test_model >/dev/null
TSAN_OPTIONS=halt_on_error=1:exitcode=86 "$tsan/tests/test_model"

say "fuzzing"
"$MDK_ROOT/tests/fuzz/run.sh" "${MDK_FUZZ_SECONDS:-20}"
