"""@NAME@ @VERSION@ from Python with the mdk binding (bindings/python of mdk; numpy is its only dependency).
usage: python3 predict.py BUNDLE_DIR [IMAGE]   (without IMAGE: the inputs of the bundle's first test case)"""
import sys

import mdk
import numpy as np

bundle = sys.argv[1]
model = mdk.Model(bundle)
print("inputs:", [(i.name, i.dtype, i.shape) for i in model.inputs])
print("outputs:", [(o.name, o.dtype, o.shape) for o in model.outputs])
if len(sys.argv) > 2:
    print(model.predict_image(sys.argv[2]))  # the bundle's pre- and post-processing, JSON result as a dict
else:
    cases = np.load(f"{bundle}/test_cases/inputs.npz")
    # keys are CASE/NAME, or plain NAME when the bundle has a single case
    first = cases.files[0].split("/", 1)[0] if "/" in cases.files[0] else None
    feed = {k.split("/", 1)[1] if first else k: cases[k] for k in cases.files
            if (first and k.startswith(first + "/")) or (not first and "/" not in k)}
    for name, value in model.predict(feed).items():
        print(name, value.dtype, value.shape, value.ravel()[:8])
