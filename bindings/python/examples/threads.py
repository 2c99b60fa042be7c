"""One model shared by several Python threads: libmdk runs them concurrently (ctypes releases the GIL during
inference) and each thread must get the single-threaded result.  usage: threads.py BUNDLE [THREADS]"""
import os
import sys
from concurrent.futures import ThreadPoolExecutor

import mdk
import numpy as np

bundle = sys.argv[1]
n_threads = int(sys.argv[2]) if len(sys.argv) > 2 else 4
with mdk.Model(bundle) as model:
    name = model.inputs[0].name
    with np.load(os.path.join(bundle, "test_cases", "inputs.npz")) as z:
        feeds = [z[k] for k in sorted(z.files) if k.endswith("/" + name)]
    reference = [model.predict({name: x}) for x in feeds]

    def work(i):
        got = model.predict({name: feeds[i % len(feeds)]})
        want = reference[i % len(feeds)]
        return all(np.array_equal(got[k], want[k]) for k in want)

    with ThreadPoolExecutor(n_threads) as pool:
        results = list(pool.map(work, range(n_threads * 10)))
print(f"{n_threads} threads, {len(results)} inferences: {results.count(False)} mismatches")
sys.exit(0 if all(results) else 1)
