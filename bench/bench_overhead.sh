#!/usr/bin/env bash
# Does `mdk bench` add measurable overhead? Times the same model with the same thread count in one run, in
# alternating rounds: a bare ONNX Runtime C loop (bench/ort_threads.c, one request at a time) and `mdk bench`,
# then prints the ratio of their median P50 latencies (target: at most 1.02).
# usage: bench/bench_overhead.sh [MODEL] [THREADS] [SECONDS] [ROUNDS]   (run scripts/setup.sh first)
set -euo pipefail
. "$(dirname "$0")/../scripts/lib.sh"

model="${1:-$MDK_CACHE/models/torchvision/mobilenet_v2.onnx}"
threads="${2:-1}" seconds="${3:-3}" rounds="${4:-3}"
mdk="${MDK_BIN:-$MDK_ROOT/build/mdk}"
ORT_ROOT=$("$MDK_ROOT/scripts/fetch-ort.sh")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cc -O2 -o "$tmp/ort_threads" "$MDK_ROOT/bench/ort_threads.c" -I"$ORT_ROOT/include" -L"$ORT_ROOT/lib" -lonnxruntime -lpthread \
    -Wl,-rpath,"$ORT_ROOT/lib"
# the input shape: the model's first input with its dynamic batch dim set to 1
shape=$("$mdk" inspect "$model" --json | /usr/bin/python3 -c \
    'import json,sys; i=json.load(sys.stdin)["inputs"][0]; print(" ".join(str(d) if isinstance(d,int) else "1" for d in i["shape"]))')
ort=() mdkp=()
for r in $(seq "$rounds"); do
    ort+=("$("$tmp/ort_threads" "$model" "$threads" 1 "$seconds" $shape | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["p50_ms"])')")
    "$mdk" bench "$model" --threads "$threads" --duration "$seconds" --warmup 20 --json "$tmp/b.json" >/dev/null
    mdkp+=("$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["configs"][0]["latency_ms"]["p50"])' "$tmp/b.json")")
done
/usr/bin/python3 - "$model" "$threads" "$seconds" "${ort[*]}" "${mdkp[*]}" <<'PY'
import statistics, sys
model, threads, seconds, ort, mdk = sys.argv[1], sys.argv[2], sys.argv[3], list(map(float, sys.argv[4].split())), list(map(float, sys.argv[5].split()))
o, m = statistics.median(ort), statistics.median(mdk)
print(f"model {model}, {threads} thread(s), {seconds} s x {len(ort)} alternating rounds")
print(f"bare ONNX Runtime C loop: P50 {o:.3f} ms (rounds: {', '.join(f'{x:.3f}' for x in ort)})")
print(f"mdk bench:                P50 {m:.3f} ms (rounds: {', '.join(f'{x:.3f}' for x in mdk)})")
print(f"ratio mdk / bare: {m / o:.3f} (target <= 1.02)")
PY
