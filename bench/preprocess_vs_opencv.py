"""Times `mdk preprocess` against the same recipe in OpenCV + NumPy (bench/recipe_opencv.py) on 100 real
1920x1080 JPEGs, each image as a whole process pinned to one core, checks the outputs agree, and prints
the speed ratio, the reduced-scale JPEG path (--fast) and its deviation from the exact path.

usage: /usr/bin/python3 bench/preprocess_vs_opencv.py [--images N] [--json FILE]
(run scripts/setup.sh first; MDK_BIN overrides the mdk binary)"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import cv2
import numpy as np
from skimage import data as skdata

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MDK = os.environ.get("MDK_BIN", os.path.join(ROOT, "build", "mdk"))
CACHE = os.environ.get("MDK_CACHE") or os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "mdk")
SPEC = os.path.join(ROOT, "docs", "examples", "imagenet-classification", "mdk.yaml")
PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "hubble_deep_field", "immunohistochemistry")


def make_images(n):
    """n distinct 1920x1080 JPEGs cut from the real photos python3-skimage ships (crops, flips, qualities)."""
    out = os.path.join(CACHE, "bench", f"jpeg-1920x1080-{n}")
    if os.path.isdir(out) and len(os.listdir(out)) == n:
        return sorted(os.path.join(out, f) for f in os.listdir(out))
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(0)
    srcs = [cv2.cvtColor(getattr(skdata, p)(), cv2.COLOR_RGB2BGR) for p in PHOTOS]
    for i in range(n):
        src = srcs[i % len(srcs)]
        h, w = src.shape[:2]
        ch, cw = int(h * rng.uniform(0.5, 1)), int(w * rng.uniform(0.5, 1))
        y, x = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
        img = cv2.resize(src[y:y + ch, x:x + cw], (1920, 1080), interpolation=cv2.INTER_CUBIC)
        if i % 2:
            img = img[:, ::-1]
        cv2.imwrite(os.path.join(out, f"{i:03d}.jpg"), img, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(80, 96))])
    return sorted(os.path.join(out, f) for f in os.listdir(out))


def timed(cmds):
    """Runs each command as a process on core 0; returns the total wall time in seconds."""
    t0 = time.perf_counter()
    for c in cmds:
        subprocess.run(["taskset", "-c", "0", *c], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=100)
    ap.add_argument("--json")
    args = ap.parse_args()
    images = make_images(args.images)
    with tempfile.TemporaryDirectory(prefix="mdk-bench-") as tmp:
        spec = os.path.join(tmp, "mdk.yaml")  # the example's preprocessing; its labels file is not needed here
        with open(SPEC) as src, open(spec, "w") as dst:
            dst.writelines(line for line in src if not line.startswith("labels:"))

        def out(kind, i):
            return os.path.join(tmp, f"{kind}-{i}.npy")
        opencv = [["/usr/bin/python3", os.path.join(HERE, "recipe_opencv.py"), p, out("cv", i)] for i, p in enumerate(images)]
        exact = [[MDK, "preprocess", spec, p, "-o", out("mdk", i)] for i, p in enumerate(images)]
        fast = [[MDK, "preprocess", spec, p, "-o", out("fast", i), "--fast"] for i, p in enumerate(images)]
        timed(opencv[:3] + exact[:3] + fast[:3])  # warm the page cache
        t = {"opencv_numpy": timed(opencv), "mdk_exact": timed(exact), "mdk_fast": timed(fast)}
        worst, dev = 0.0, []
        for i in range(len(images)):
            a, b, f = np.load(out("cv", i)), np.load(out("mdk", i)), np.load(out("fast", i))
            worst = max(worst, float(np.abs(a - b).max()))
            # the fast path's deviation in 8-bit pixel units (undoing the normalisation)
            dev.append(np.abs((f - b) * np.array([0.229, 0.224, 0.225])[None, :, None, None] * 255))
        dev = np.concatenate([d.ravel() for d in dev])
    n = len(images)
    res = {
        "images": n, "size": "1920x1080 JPEG", "cores": 1,
        "ms_per_image": {k: 1000 * v / n for k, v in t.items()},
        "speedup_exact": t["opencv_numpy"] / t["mdk_exact"], "speedup_fast": t["opencv_numpy"] / t["mdk_fast"],
        "max_abs_diff_exact_vs_opencv": worst,
        "fast_path_deviation_8bit": {"mean": float(dev.mean()), "p99": float(np.percentile(dev, 99)),
                                     "max": float(dev.max())},
    }
    print(f"preprocessing {n} x 1920x1080 JPEG -> 1x3x224x224 float32, each image a whole process, one core")
    print("| pipeline | ms per image | ratio to OpenCV+NumPy |")
    print("|---|---|---|")
    for k, label in (("opencv_numpy", "OpenCV + NumPy recipe (Python)"), ("mdk_exact", "mdk preprocess"),
                     ("mdk_fast", "mdk preprocess --fast")):
        print(f"| {label} | {res['ms_per_image'][k]:.1f} | {t['opencv_numpy'] / t[k]:.1f}x |")
    print(f"exact path vs OpenCV + NumPy: max abs difference {worst:.2g}")
    d = res["fast_path_deviation_8bit"]
    print(f"fast path vs exact path, in 8-bit pixel units: mean {d['mean']:.3f}, p99 {d['p99']:.2f}, max {d['max']:.1f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=2)
    return 0 if worst <= 1e-5 else 1


if __name__ == "__main__":
    sys.exit(main())
