#!/usr/bin/env bash
# Sets up a Debian 12 machine for mdk and builds it: Debian packages, ONNX Runtime (assembled, checked),
# the real test models, then a CMake build in build/. Idempotent; downloads are cached in $MDK_CACHE
# (default ~/.cache/mdk), outside the work tree.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

"$MDK_ROOT/scripts/deps.sh"
ORT_ROOT=$("$MDK_ROOT/scripts/fetch-ort.sh")
export ORT_ROOT
"$MDK_ROOT/scripts/fetch-models.sh" >/dev/null

build="${MDK_BUILD_DIR:-$MDK_ROOT/build}"
if [ ! -f "$build/CMakeCache.txt" ]; then
    say "configuring $build"
    cmake -S "$MDK_ROOT" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DORT_ROOT="$ORT_ROOT" >/dev/null
fi
say "building"
cmake --build "$build" -j"$(nproc)" >/dev/null
say "ready: $build/mdk"
