"""Runs @NAME@ @VERSION@'s test cases with the mdk Python binding and NumPy, and prints the pass rate.
usage: python3 test_cases/test.py [BUNDLE_DIR]  (default: the bundle this file is in)"""
import json
import os
import sys

import mdk
import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
bundle = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(here)
cases_dir = os.path.join(bundle, "test_cases")
with open(os.path.join(cases_dir, "cases.json")) as f:
    meta = json.load(f)
rtol, atol = meta["rtol"], meta["atol"]
model = mdk.Model(bundle)
inputs = np.load(os.path.join(cases_dir, "inputs.npz"))
expected = np.load(os.path.join(cases_dir, "expected_outputs.npz"))
names = sorted({k.split("/")[0] for k in inputs.files})
passed = 0
for case in names:
    feed = {k.split("/", 1)[1]: inputs[k] for k in inputs.files if k.startswith(case + "/")}
    got = model.predict(feed)
    ok = True
    for k in expected.files:
        if not k.startswith(case + "/"):
            continue
        out = k.split("/", 1)[1]
        want = expected[k]
        close = np.isclose(got[out], want, rtol=rtol, atol=atol, equal_nan=True)
        if got[out].shape != want.shape or not close.all():
            ok = False
            print(f"FAIL {case}: output '{out}': {int((~close).sum())} of {want.size} values out of tolerance")
    if ok:
        print(f"PASS {case}")
        passed += 1
print(f"{passed} passed, {len(names) - passed} failed")
print(f"pass rate: {100.0 * passed / max(1, len(names)):.1f}%")
sys.exit(0 if passed == len(names) else 1)
