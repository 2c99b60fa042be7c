#!/usr/bin/env bash
# The main job, end to end on a fresh machine: set up and build mdk, then deliver a real trained model as a
# vendor and a receiver would. PaddleOCR's text-direction classifier is packed into a bundle with its
# preprocessing and test cases (text lines rendered upright and upside down), the receiver accepts the .mdk
# (integrity, test cases, probes, latency, a report), serves it and sends one image with curl.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

"$MDK_ROOT/scripts/setup.sh"
mdk="${MDK_BUILD_DIR:-$MDK_ROOT/build}/mdk"
work="$MDK_CACHE/quickstart"
rm -rf "$work"
mkdir -p "$work/vendor/lines"

# The vendor's side: the trained model, its spec (docs/examples/ocr-direction) and test images.
cp "$MDK_CACHE/models/ocr/ch_ppocr_mobile_v2.0_cls_infer.onnx" "$work/vendor/"
/usr/bin/python3 - "$work/vendor/lines" <<'EOF'
import sys, cv2, numpy as np
for i, word in enumerate(["Model 2026", "Delivery Kit", "HELLO", "text line"]):
    img = np.full((64, 400, 3), 255, np.uint8)
    cv2.putText(img, word, (10, 48), cv2.FONT_HERSHEY_SIMPLEX, 1.6, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.imwrite(f"{sys.argv[1]}/{i}-upright.png", img)
    cv2.imwrite(f"{sys.argv[1]}/{i}-upside-down.png", cv2.rotate(img, cv2.ROTATE_180))
EOF
{
    cat "$MDK_ROOT/docs/examples/ocr-direction/mdk.yaml"
    echo "test_cases:"
    echo "  images: [$(cd "$work/vendor" && ls lines/*.png | paste -sd, | sed 's/,/, /g')]"
    echo "performance: {p99_ms: 200}"
} >"$work/vendor/mdk.yaml"

set -x
"$mdk" --version
"$mdk" inspect "$work/vendor/mdk.yaml"
"$mdk" pack "$work/vendor/mdk.yaml" -o "$work/vendor/out" --archive
# The receiver's side: the archive alone.
mkdir -p "$work/receiver"
cp "$work/vendor/out/text-direction-2.0.0.mdk" "$work/receiver/"
cd "$work/receiver"
"$mdk" accept text-direction-2.0.0.mdk --duration 2 --report accept
"$mdk" serve text-direction-2.0.0.mdk --port 0 >port.txt 2>serve.log &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
set +x
port=
for _ in $(seq 1 100); do
    port=$(cat port.txt)
    [ -n "$port" ] && curl -sf "http://127.0.0.1:$port/v2/health/ready" >/dev/null && break
    sleep 0.1
done
[ -n "$port" ] || die "mdk serve did not start: $(cat serve.log)"
set -x
curl -sSf -F "file=@$work/vendor/lines/0-upside-down.png" "http://127.0.0.1:$port/v1/models/text-direction/predict"
echo
kill "$server"
wait "$server"
