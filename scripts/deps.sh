#!/usr/bin/env bash
# Installs the Debian packages mdk builds, tests and benchmarks with; a no-op when all are present.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

PKGS=(
  build-essential cmake pkg-config git ca-certificates curl
  clang llvm libclang-rt-14-dev
  libprotobuf-c-dev protobuf-c-compiler libonnx-dev libonnx-testdata
  zlib1g-dev libarchive-dev libcjson-dev libcmocka-dev
  nodejs npm
  python3-numpy python3-onnx python3-torch python3-torchvision
  python3-opencv python3-skimage python3-requests
)

missing=()
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# The machine may ship Node.js from another repository under the same command names.
if command -v node >/dev/null && command -v npm >/dev/null; then
    missing=("${missing[@]/nodejs/}"); missing=("${missing[@]/npm/}")
fi
read -r -a missing <<<"${missing[*]}"
if [ "${#missing[@]}" -gt 0 ]; then
    say "installing Debian packages: ${missing[*]}"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
