#!/usr/bin/env bash
# Assembles ONNX Runtime in the official release layout (include/ + lib/) for Debian 12, which has no package:
# the shared library from the npm package onnxruntime-node, the C headers from Debian 13's libonnxruntime-dev.
# Prints the resulting ORT_ROOT. Idempotent; downloads are cached and checked against pinned sha256 sums.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

ORT_NPM_VERSION=1.30.0
ORT_NPM_SHA256=6e3390d6b783e7be946fad629292799da28d0b42f84856e50d2c1b0383291e75
ORT_DEB_SUITE=trixie
ORT_DEB_VERSION=1.21.0+dfsg-1
declare -A ORT_DEB_SHA256=(
  [amd64]=14f7d959d5deacbcf1504830d4189f91fc67382b399ed9ae9d3aa9c4050ced08
  [arm64]=""
)

case "$(uname -m)" in
    x86_64) npm_arch=x64; deb_arch=amd64 ;;
    aarch64) npm_arch=arm64; deb_arch=arm64 ;;
    *) die "no ONNX Runtime build for $(uname -m)" ;;
esac

root="$MDK_CACHE/ort/onnxruntime-$ORT_NPM_VERSION-$npm_arch"
if [ -f "$root/.complete" ]; then echo "$root"; exit 0; fi

dl="$MDK_CACHE/downloads"
mkdir -p "$dl"

tgz=$(npm_fetch onnxruntime-node "$ORT_NPM_VERSION" "$ORT_NPM_SHA256")

deb="$dl/libonnxruntime-dev_${ORT_DEB_VERSION}_$deb_arch.deb"
if [ ! -f "$deb" ]; then
    say "downloading libonnxruntime-dev $ORT_DEB_VERSION ($ORT_DEB_SUITE) with apt"
    # A private apt state that reuses the mirror of the system's own sources with the suite changed.
    mirror=$(grep -hsE '^(URIs:|deb )' /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null \
        | grep -oE 'https?://[^ ]+/debian/?' | grep -v security | head -n1 || true)
    [ -n "$mirror" ] || mirror=http://deb.debian.org/debian
    apt_dir=$(mktemp -d)
    mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
    echo "deb [arch=$deb_arch signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] ${mirror%/} $ORT_DEB_SUITE main" >"$apt_dir/sources.list"
    opts=(-o "Dir::Etc::sourcelist=$apt_dir/sources.list" -o Dir::Etc::sourceparts=- -o "Dir::State::Lists=$apt_dir/lists"
          -o "Dir::Cache=$apt_dir/cache" -o Dir::State::status=/dev/null -o APT::Get::List-Cleanup=0
          -o "APT::Architecture=$deb_arch" -o APT::Sandbox::User=root)
    apt-get "${opts[@]}" -qq update
    (cd "$apt_dir" && apt-get "${opts[@]}" -qq download "libonnxruntime-dev=$ORT_DEB_VERSION")
    mv "$apt_dir"/libonnxruntime-dev_*.deb "$deb"
    rm -rf "$apt_dir"
fi
if [ -n "${ORT_DEB_SHA256[$deb_arch]}" ]; then check_sha256 "$deb" "${ORT_DEB_SHA256[$deb_arch]}"; fi

say "assembling ONNX Runtime in $root"
tmp=$(mktemp -d)
tar -xzf "$tgz" -C "$tmp" "package/bin/napi-v6/linux/$npm_arch/libonnxruntime.so.1"
dpkg-deb -x "$deb" "$tmp/deb"
rm -rf "$root"
mkdir -p "$root/lib" "$root/include"
cp "$tmp/package/bin/napi-v6/linux/$npm_arch/libonnxruntime.so.1" "$root/lib/"
ln -s libonnxruntime.so.1 "$root/lib/libonnxruntime.so"
cp "$tmp"/deb/usr/include/onnxruntime/*.h "$root/include/"
echo "$ORT_NPM_VERSION" >"$root/VERSION"
rm -rf "$tmp"
touch "$root/.complete"
echo "$root"
