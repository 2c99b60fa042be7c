#!/usr/bin/env bash
# Installs the Debian packages mdk builds, tests and benchmarks with; a no-op when all are present.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

PKGS=(
  build-essential cmake pkg-config git ca-certificates curl locales zstd
  clang llvm libclang-rt-14-dev
  libprotobuf-c-dev protobuf-c-compiler libonnx-dev libonnx-testdata
  libarchive-dev libcjson-dev libcmocka-dev libyaml-dev libturbojpeg0-dev libspng-dev libsodium-dev libmicrohttpd-dev
  wrk chromium openssl
  python3-numpy python3-onnx python3-torch python3-torchvision
  python3-opencv python3-skimage python3-requests python3-websocket python3-pip python3-setuptools
)
# npm fetches ONNX Runtime and the test models; a machine may already have Node.js from elsewhere.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then PKGS+=(nodejs npm); fi

missing=()
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
    say "installing Debian packages: ${missing[*]}"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# ONNX Runtime's StringNormalizer builds an en_US.UTF-8 locale; generate it once.
if ! locale -a 2>/dev/null | grep -qi '^en_US\.utf-\?8$'; then
    say "generating the en_US.UTF-8 locale"
    as_root sed -i 's/^# *\(en_US.UTF-8 UTF-8\)/\1/' /etc/locale.gen
    grep -q '^en_US.UTF-8 UTF-8' /etc/locale.gen || echo 'en_US.UTF-8 UTF-8' | as_root tee -a /etc/locale.gen >/dev/null
    as_root locale-gen >/dev/null
fi
