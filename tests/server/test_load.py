"""A load test with wrk on a real model: mdk serve answers every request of a sustained run on the v2 binary
endpoint and on the image upload endpoint without a single error."""
import json
import os
import re
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))
import mdktest  # noqa: E402
from mdkserver import Server, pack_classifier  # noqa: E402

LUA = """local f = io.open(os.getenv("MDK_BODY"), "rb")
wrk.body = f:read("*a")
f:close()
wrk.method = "POST"
wrk.headers["Content-Type"] = os.getenv("MDK_TYPE")
local hl = os.getenv("MDK_HEADER_LEN")
if hl ~= nil and hl ~= "" then wrk.headers["Inference-Header-Content-Length"] = hl end
"""
SPEC = """name: mobilenet_v2
version: 1.0.0
model: model.onnx
preprocess:
  steps:
    - resize: {shorter_side: 256}
    - center_crop: {width: 224, height: 224}
    - color: RGB
    - scale: 1/255
  layout: NCHW
postprocess: {type: classification, top_k: 5}
test_cases: {images: [cat.jpg]}
"""


@mdktest.skip_unless("wrk", os.path.exists("/usr/bin/wrk"))
class Load(mdktest.TestCase):
    def wrk(self, url, body, ctype, header_len=None, seconds=5):
        lua = self.path("post.lua")
        with open(lua, "w") as f:
            f.write(LUA)
        env = dict(os.environ, MDK_BODY=body, MDK_TYPE=ctype, MDK_HEADER_LEN=str(header_len or ""))
        out = subprocess.run(["wrk", "-t1", "-c16", f"-d{seconds}s", "-s", lua, url], env=env, capture_output=True,
                             text=True, check=True).stdout
        requests = int(re.search(r"(\d+) requests in", out).group(1))
        self.assertGreater(requests, 20, out)
        self.assertNotIn("Non-2xx", out)
        self.assertNotIn("Socket errors", out)
        return requests

    def test_sustained_load_without_errors(self):
        src = pack_classifier(self.tmp, SPEC, self.path("repo"))
        x = np.random.default_rng(0).random((1, 3, 224, 224), dtype=np.float32)
        head = json.dumps({"inputs": [{"name": "input", "shape": [1, 3, 224, 224], "datatype": "FP32",
                                       "parameters": {"binary_data_size": x.nbytes}}],
                           "parameters": {"binary_data_output": True}}).encode()
        with open(self.path("binary.body"), "wb") as f:
            f.write(head + x.tobytes())
        with Server(self.path("repo"), "--poll", "0") as s:
            n1 = self.wrk(s.url + "/v2/models/mobilenet_v2/infer", self.path("binary.body"), "application/octet-stream",
                          len(head))
            n2 = self.wrk(s.url + "/v1/models/mobilenet_v2/predict", os.path.join(src, "cat.jpg"), "image/jpeg")
            metrics = __import__("requests").get(s.url + "/metrics", timeout=30).text
        done = sum(float(line.split()[-1]) for line in metrics.splitlines()
                   if line.startswith("mdk_requests_total") and 'code="200"' in line and "mobilenet_v2" in line)
        self.assertGreaterEqual(done, n1 + n2)  # every request wrk counted was answered 200


if __name__ == "__main__":
    mdktest.main()
