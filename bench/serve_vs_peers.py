"""mdk serve against its peers, in one run, at the same thread budget: wrk drives `mdk serve` and a minimal
Node.js server on onnxruntime-node (bench/node_server.js) with the same v2 request (binary tensor extension,
then JSON), and bench/ort_threads.c runs the same model in-process on bare ONNX Runtime. Prints throughput
and P99 of each and the ratios the targets are about: mdk / in-process ORT throughput (target >= 0.9) and
mdk against Node.js (target: ahead on throughput and on P99).
usage: /usr/bin/python3 bench/serve_vs_peers.py [--model M] [--seconds S] [--connections C] [--threads T]"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, os.path.join(ROOT, "tests", "pylib"))
import mdktest  # noqa: E402
from mdkserver import Server  # noqa: E402

LUA = """local f = io.open(os.getenv("MDK_BODY"), "rb")
wrk.body = f:read("*a")
f:close()
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/octet-stream"
local hl = os.getenv("MDK_HEADER_LEN")
if hl ~= nil and hl ~= "" then wrk.headers["Inference-Header-Content-Length"] = hl end
"""


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout


def wrk(url, body, header_len, seconds, connections, lua):
    env = dict(os.environ, MDK_BODY=body, MDK_HEADER_LEN=str(header_len or ""))
    out = sh(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", lua, url], env=env)

    def ms(v, unit):
        return float(v) * {"us": 1e-3, "ms": 1.0, "s": 1000.0}[unit]
    p = {k: ms(*re.search(rf"^\s+{k}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()) for k in ("50", "99")}
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {"throughput": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), "p50_ms": p["50"],
            "p99_ms": p["99"], "requests": int(re.search(r"(\d+) requests in", out).group(1)),
            "errors": int(errors.group(1)) if errors else 0 + (sum(map(int, sock.groups())) if sock else 0)}


def batching(a, name, body, lua):
    """Where dynamic batching helps: the same load on four server configurations."""
    t = a.threads
    configs = [(t, 1, 1), (t, 1, 4), (1, t, 1), (1, t, 8)]
    print(f"model {a.model}; wrk -t1 -c{a.connections} -d{a.seconds}s, binary v2 requests of one item")
    print(f"{'workers':>7} {'threads':>7} {'max batch':>9} {'items/s':>9} {'P50 ms':>8} {'P99 ms':>8}")
    for workers, threads, batch in configs:
        with Server(a.model, "--poll", "0", "--workers", workers, "--threads", threads, "--max-batch-size", batch,
                    "--max-queue-delay-us", "2000", "--max-inflight", "4096") as s:
            path = f"{s.url}/v2/models/{name}/infer"
            wrk(path, body[0], body[1], 2, a.connections, lua)
            r = wrk(path, body[0], body[1], a.seconds, a.connections, lua)
        print(f"{workers:7d} {threads:7d} {batch:9d} {r['throughput']:9.1f} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=os.path.join(mdktest.MODELS, "torchvision", "mobilenet_v2.onnx"))
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="thread budget for inference")
    ap.add_argument("--json", help="write the figures here")
    ap.add_argument("--batching", action="store_true",
                    help="instead: mdk serve with and without dynamic batching, at both splits of the thread budget")
    a = ap.parse_args()
    cache = mdktest.CACHE
    node_modules = os.path.join(cache, "node", "node_modules")
    ort_root = sh([os.path.join(ROOT, "scripts", "fetch-ort.sh")]).strip()
    tmp = tempfile.mkdtemp(prefix="mdk-serve-bench-")
    try:
        ort_threads = os.path.join(tmp, "ort_threads")
        sh(["cc", "-O2", "-o", ort_threads, os.path.join(ROOT, "bench", "ort_threads.c"), f"-I{ort_root}/include",
            f"-L{ort_root}/lib", "-lonnxruntime", "-lpthread", f"-Wl,-rpath,{ort_root}/lib"])
        info = json.loads(sh([mdktest.MDK, "inspect", a.model, "--json"]))["inputs"][0]
        shape = [d if isinstance(d, int) and d > 0 else 1 for d in info["shape"]]
        x = np.random.default_rng(0).random(shape, dtype=np.float32)
        bodies = {}
        head = json.dumps({"inputs": [{"name": info["name"], "shape": shape, "datatype": "FP32",
                                       "parameters": {"binary_data_size": x.nbytes}}],
                           "parameters": {"binary_data_output": True}}).encode()
        with open(os.path.join(tmp, "binary.body"), "wb") as f:
            f.write(head + x.tobytes())
        bodies["binary"] = (os.path.join(tmp, "binary.body"), len(head))
        with open(os.path.join(tmp, "json.body"), "w") as f:
            json.dump({"inputs": [{"name": info["name"], "shape": shape, "datatype": "FP32", "data": x.ravel().tolist()}]}, f)
        bodies["json"] = (os.path.join(tmp, "json.body"), None)
        lua = os.path.join(tmp, "post.lua")
        with open(lua, "w") as f:
            f.write(LUA)
        name = os.path.splitext(os.path.basename(a.model))[0]
        if a.batching:
            return batching(a, name, bodies["binary"], lua)
        results = {}
        # in-process: the thread budget as that many concurrent single-threaded runs
        results["ort"] = json.loads(sh([ort_threads, a.model, "1", str(a.threads), str(a.seconds), *map(str, shape)]))
        for fmt, (body, hl) in bodies.items():
            with Server(a.model, "--poll", "0", "--workers", a.threads, "--threads", "1", "--http-threads", "2",
                        "--max-inflight", "4096") as s:
                path = f"{s.url}/v2/models/{name}/infer"
                wrk(path, body, hl, 2, a.connections, lua)  # warm-up
                results[f"mdk_{fmt}"] = wrk(path, body, hl, a.seconds, a.connections, lua)
            node = subprocess.Popen(["node", os.path.join(ROOT, "bench", "node_server.js"), a.model, "0", "1"],
                                    stdout=subprocess.PIPE, text=True,
                                    env=dict(os.environ, NODE_PATH=node_modules, UV_THREADPOOL_SIZE=str(a.threads)))
            try:
                port = int(node.stdout.readline())
                path = f"http://127.0.0.1:{port}/v2/models/{name}/infer"
                wrk(path, body, hl, 2, a.connections, lua)
                results[f"node_{fmt}"] = wrk(path, body, hl, a.seconds, a.connections, lua)
            finally:
                node.terminate()
                node.wait()
    finally:
        shutil.rmtree(tmp)
    print(f"model {a.model}, input {shape}; thread budget {a.threads} (workers x 1 intra-op thread); wrk -t1 "
          f"-c{a.connections} -d{a.seconds}s on the same {os.cpu_count()} cores")
    print(f"{'':34} {'items/s':>9} {'P50 ms':>8} {'P99 ms':>8} {'errors':>7}")
    o = results["ort"]
    print(f"{'bare ONNX Runtime in-process':34} {o['throughput']:9.1f} {o['p50_ms']:8.2f} {o['p99_ms']:8.2f} {'-':>7}")
    for fmt in ("binary", "json"):
        for who in ("mdk", "node"):
            r = results[f"{who}_{fmt}"]
            label = f"{'mdk serve' if who == 'mdk' else 'Node.js onnxruntime-node'} ({fmt})"
            print(f"{label:34} {r['throughput']:9.1f} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f} {r['errors']:7d}")
    mb, nb, mj, nj = results["mdk_binary"], results["node_binary"], results["mdk_json"], results["node_json"]
    ratios = {"mdk_binary_over_ort_throughput": mb["throughput"] / o["throughput"],
              "mdk_over_node_throughput_binary": mb["throughput"] / nb["throughput"],
              "node_over_mdk_p99_binary": nb["p99_ms"] / mb["p99_ms"],
              "mdk_over_node_throughput_json": mj["throughput"] / nj["throughput"],
              "node_over_mdk_p99_json": nj["p99_ms"] / mj["p99_ms"]}
    print(f"mdk serve / in-process ORT throughput (binary): {ratios['mdk_binary_over_ort_throughput']:.3f} (target >= 0.9)")
    for fmt in ("binary", "json"):
        print(f"mdk serve / Node.js throughput ({fmt}): {ratios[f'mdk_over_node_throughput_{fmt}']:.2f}; "
              f"Node.js P99 / mdk serve P99: {ratios[f'node_over_mdk_p99_{fmt}']:.2f} (target: both > 1)")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"results": results, "ratios": ratios, "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}, f,
                      indent=1)
    errors = sum(r.get("errors", 0) for r in results.values())
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
