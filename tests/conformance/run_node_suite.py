"""Runs ONNX's backend node test suite (Debian's libonnx-testdata) through `mdk verify` with ONNX's
tolerances and checks the outcome against known_failures.txt: an unlisted failure, a crash, or a listed
test that passes all fail this run.

usage: run_node_suite.py [--jobs N] [--json FILE] [TEST...]"""
import argparse
import concurrent.futures
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "pylib"))
import mdktest  # noqa: E402

RTOL, ATOL = 1e-3, 1e-7  # ONNX's own backend-test tolerances


def known_failures():
    known = {}
    with open(os.path.join(HERE, "known_failures.txt")) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                name, reason = line.split(":", 1)
                known[name.strip()] = reason.strip()
    return known


def verify(name):
    d = os.path.join(mdktest.ONNX_NODE, name)
    try:
        p = subprocess.run([mdktest.MDK, "verify", os.path.join(d, "model.onnx"), "--cases", d,
                            "--rtol", str(RTOL), "--atol", str(ATOL)], capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired:
        return name, "timeout", "no result in 300 s"
    text = (p.stdout + p.stderr).strip().splitlines()
    detail = next((line for line in text if not line.startswith("PASS")), "")
    if p.returncode == 0:
        return name, "pass", ""
    if p.returncode == 1:
        return name, "fail", detail
    return name, "crash", f"exit {p.returncode}: {detail}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--json")
    ap.add_argument("tests", nargs="*")
    args = ap.parse_args()
    if not os.path.isdir(mdktest.ONNX_NODE):
        print(f"{mdktest.ONNX_NODE} is missing: install libonnx-testdata (scripts/deps.sh)")
        return 1
    names = args.tests or sorted(n for n in os.listdir(mdktest.ONNX_NODE)
                                 if os.path.isfile(os.path.join(mdktest.ONNX_NODE, n, "model.onnx")))
    known = known_failures()
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as ex:
        results = list(ex.map(verify, names))
    passed = [n for n, s, _ in results if s == "pass"]
    unexpected = [(n, s, d) for n, s, d in results if s != "pass" and (n not in known or s != "fail")]
    expected = [n for n, s, _ in results if s == "fail" and n in known]
    stale = [n for n in passed if n in known]
    for n, s, d in unexpected:
        print(f"UNEXPECTED {s.upper()} {n}: {d}")
    for n in stale:
        print(f"UNEXPECTED PASS {n}: listed in known_failures.txt ({known[n]}); remove it from the list")
    print(f"ONNX node suite: {len(passed)} of {len(names)} tests pass; {len(expected)} known failures "
          f"(tests/conformance/known_failures.txt)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"total": len(names), "passed": len(passed), "known_failures": len(expected),
                       "unexpected": [{"test": n, "status": s, "detail": d} for n, s, d in unexpected],
                       "stale": stale, "rtol": RTOL, "atol": ATOL}, f, indent=2)
    failed = len(unexpected) + len(stale)
    print(f"{len(passed) - len(stale)} passed, {failed} failed, {len(expected)} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
