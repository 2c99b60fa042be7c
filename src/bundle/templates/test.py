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


def by_case(npz):
    """{case: {name: array}}: keys CASE/NAME, or plain NAME for a single case called "inputs.npz"."""
    cases = {}
    for key in npz.files:
        case, name = key.split("/", 1) if "/" in key else ("inputs.npz", key)
        cases.setdefault(case, {})[name] = npz[key]
    return cases


inputs = by_case(np.load(os.path.join(cases_dir, "inputs.npz")))
expected = by_case(np.load(os.path.join(cases_dir, "expected_outputs.npz")))
passed = 0
for case, feed in inputs.items():
    got = model.predict(feed)
    ok = case in expected
    for out, want in expected.get(case, {}).items():
        value = np.asarray(got[out])
        if value.shape != want.shape:
            ok = False
            print(f"FAIL {case}: output '{out}': shape {value.shape}, expected {want.shape}")
            continue
        if value.dtype.kind in "USOb" or want.dtype.kind in "USOb":  # strings and bools: equal
            close = value.astype(str) == want.astype(str)
        else:
            close = np.isclose(value, want, rtol=rtol, atol=atol, equal_nan=True)
        if not close.all():
            ok = False
            print(f"FAIL {case}: output '{out}': {int((~close).sum())} of {want.size} values out of tolerance")
    if ok:
        print(f"PASS {case}")
        passed += 1
print(f"{passed} passed, {len(inputs) - passed} failed")
print(f"pass rate: {100.0 * passed / max(1, len(inputs)):.1f}%")
sys.exit(0 if inputs and passed == len(inputs) else 1)
