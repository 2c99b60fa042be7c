#!/usr/bin/env bash
# The main job, end to end on a fresh machine: set up and build mdk, then inspect a real trained model,
# run it on real photos and check its outputs against PyTorch's own.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

"$MDK_ROOT/scripts/setup.sh"
mdk="${MDK_BUILD_DIR:-$MDK_ROOT/build}/mdk"
tv="$MDK_CACHE/models/torchvision"

set -x
"$mdk" --version
"$mdk" inspect "$tv/resnet18.onnx"
"$mdk" run "$tv/resnet18.onnx" --input "input=$tv/resnet18/inputs.npy"
"$mdk" verify "$tv/resnet18.onnx" --cases "$tv/resnet18" --rtol 1e-3 --atol 1e-4
