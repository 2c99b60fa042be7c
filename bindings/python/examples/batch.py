"""Several images as one batch, then the same on tensors: the bundle's test inputs stacked along the batch
dim.  usage: batch.py BUNDLE IMAGE..."""
import json
import os
import sys

import mdk
import numpy as np

bundle, images = sys.argv[1], sys.argv[2:]
with mdk.Model(bundle) as model:
    result = model.predict_image(*images)
    print(json.dumps([r["top"][0] if "top" in r else r for r in result["results"]]))
    name = model.inputs[0].name
    with np.load(os.path.join(bundle, "test_cases", "inputs.npz")) as z:
        x = np.concatenate([z[k] for k in sorted(z.files) if k.endswith("/" + name)])
    out = model.predict({name: x})
    print({k: v.shape for k, v in out.items()})
