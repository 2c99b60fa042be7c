"""mdk serve on loopback: every endpoint with Debian's python3-requests and curl; v2 responses checked against
the protocol's shapes and the outputs against the same model run in-process by `mdk run`; every v2
datatype round-tripped in JSON and binary; malformed requests, limits, API keys, TLS, versions and hot
reload, dynamic batching, graceful shutdown, the access log and the bundle's generated curl.sh."""
import concurrent.futures as cf
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

import cv2
import numpy as np
import onnx
import requests
from onnx import TensorProto, helper
from skimage import data as skdata

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))
import mdktest  # noqa: E402
from mdkserver import Server, wait_for  # noqa: E402
from mdktest import run  # noqa: E402

TV = os.path.join(mdktest.MODELS, "torchvision")
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
SPEC = """name: mobilenet_v2
version: {version}
description: ImageNet classifier for the server tests
model: model.onnx
preprocess:
  steps:
    - resize: {{width: 224, height: 224, interpolation: bilinear}}
    - color: RGB
    - scale: 1/255
    - normalize: {{mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225]}}
  layout: NCHW
  dtype: float32
postprocess: {{type: classification, activation: softmax, top_k: 3}}
limits: {{max_batch: 16, max_image_pixels: 4000000}}
test_cases:
  images: [cat.jpg, coffee.jpg]
"""


def v2_check(test, body, model, version):
    """The v2 inference response shape."""
    test.assertEqual(body["model_name"], model)
    test.assertEqual(body["model_version"], version)
    for o in body["outputs"]:
        test.assertEqual(set(o) - {"parameters"}, {"name", "datatype", "shape", "data"})
        test.assertEqual(len(o["data"]), int(np.prod(o["shape"])))


class Serve(mdktest.TestCase):
    @classmethod
    def setUpClass(cls):
        mdktest.require("models", os.path.isdir(TV))
        cls._dir = tempfile.TemporaryDirectory(prefix="mdk-serve-")
        root = cls.root = cls._dir.name
        src = os.path.join(root, "src")
        os.makedirs(src)
        os.symlink(os.path.join(TV, "mobilenet_v2.onnx"), os.path.join(src, "model.onnx"))
        for n, img in (("cat", skdata.chelsea()), ("coffee", skdata.coffee())):
            cv2.imwrite(os.path.join(src, n + ".jpg"), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
        cls.cat = os.path.join(src, "cat.jpg")
        for v in ("1.0.0", "1.1.0"):
            with open(os.path.join(src, f"v{v}.yaml"), "w") as f:
                f.write(SPEC.format(version=v))
            rc, out, err = run("pack", os.path.join(src, f"v{v}.yaml"), "-o", os.path.join(root, "packed"))
            assert rc == 0, err
        cls.repo = os.path.join(root, "repo")
        os.makedirs(os.path.join(cls.repo, "mobilenet_v2"))
        shutil.copytree(os.path.join(root, "packed", "mobilenet_v2-1.0.0"), os.path.join(cls.repo, "mobilenet_v2", "1.0.0"))
        cls.server = Server(cls.repo, "--access-log", os.path.join(root, "access.log"), "--poll", "0")
        cls.url = cls.server.url

    @classmethod
    def tearDownClass(cls):
        if hasattr(cls, "server"):
            cls.server.stop()
        cls._dir.cleanup()

    def post(self, path, **kw):
        return requests.post(self.url + path, timeout=60, **kw)

    def get(self, path, **kw):
        return requests.get(self.url + path, timeout=60, **kw)

    def test_server_and_model_metadata(self):
        r = self.get("/v2").json()
        self.assertEqual(r["name"], "mdk")
        self.assertIn("binary_tensor_data", r["extensions"])
        self.assertEqual(self.get("/v2/health/live").status_code, 200)
        self.assertEqual(self.get("/v2/health/ready").json(), {"ready": True})
        m = self.get("/v2/models/mobilenet_v2").json()
        self.assertEqual(m["name"], "mobilenet_v2")
        self.assertEqual(m["versions"], ["1.0.0"])
        self.assertEqual(m["platform"], "onnxruntime_onnx")
        self.assertEqual(m["inputs"], [{"name": "input", "datatype": "FP32", "shape": [-1, 3, 224, 224]}])
        self.assertEqual(m["outputs"], [{"name": "logits", "datatype": "FP32", "shape": [-1, 1000]}])
        self.assertEqual(self.get("/v2/models/mobilenet_v2/versions/1.0.0").json()["version"], "1.0.0")
        self.assertEqual(self.get("/v2/models/mobilenet_v2/ready").json()["ready"], True)
        self.assertEqual(self.get("/v2/models/mobilenet_v2/versions/1.0.0/ready").status_code, 200)

    def test_infer_json_and_binary_against_in_process(self):
        x = np.random.default_rng(1).random((2, 3, 224, 224), dtype=np.float32)
        np.save(self.path("x.npy"), x)
        rc, out, err = run("run", os.path.join(self.repo, "mobilenet_v2", "1.0.0", "model", "model.onnx"),
                           "--input", "input=" + self.path("x.npy"), "--output-dir", self.path("ref"))
        self.assertEqual(rc, 0, err)
        want = np.load(self.path("ref/logits.npy"))
        for nested in (False, True):
            r = self.post("/v2/models/mobilenet_v2/infer", json={"id": "req-7", "inputs": [
                {"name": "input", "shape": [2, 3, 224, 224], "datatype": "FP32",
                 "data": x.tolist() if nested else x.ravel().tolist()}]})
            self.assertEqual(r.status_code, 200, r.text)
            body = r.json()
            v2_check(self, body, "mobilenet_v2", "1.0.0")
            self.assertEqual(body["id"], "req-7")
            got = np.array(body["outputs"][0]["data"], dtype=np.float32).reshape(body["outputs"][0]["shape"])
            np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
        head = json.dumps({"inputs": [{"name": "input", "shape": [2, 3, 224, 224], "datatype": "FP32",
                                       "parameters": {"binary_data_size": x.nbytes}}],
                           "parameters": {"binary_data_output": True}}).encode()
        r = self.post("/v2/models/mobilenet_v2/versions/1.0.0/infer", data=head + x.tobytes(),
                      headers={"Inference-Header-Content-Length": str(len(head)), "Content-Type": "application/octet-stream"})
        self.assertEqual(r.status_code, 200, r.text)
        n = int(r.headers["Inference-Header-Content-Length"])
        meta = json.loads(r.content[:n])
        self.assertEqual(meta["outputs"][0]["parameters"]["binary_data_size"], 8000)
        np.testing.assert_array_equal(np.frombuffer(r.content[n:], dtype=np.float32).reshape(2, 1000), want)

    def test_every_datatype_round_trips(self):
        types = {"BOOL": (TensorProto.BOOL, np.bool_), "UINT8": (TensorProto.UINT8, np.uint8),
                 "UINT16": (TensorProto.UINT16, np.uint16), "UINT32": (TensorProto.UINT32, np.uint32),
                 "UINT64": (TensorProto.UINT64, np.uint64), "INT8": (TensorProto.INT8, np.int8),
                 "INT16": (TensorProto.INT16, np.int16), "INT32": (TensorProto.INT32, np.int32),
                 "INT64": (TensorProto.INT64, np.int64), "FP16": (TensorProto.FLOAT16, np.float16),
                 "FP32": (TensorProto.FLOAT, np.float32), "FP64": (TensorProto.DOUBLE, np.float64),
                 "BYTES": (TensorProto.STRING, object)}
        nodes = [helper.make_node("Identity", [f"in_{k}"], [f"out_{k}"]) for k in types]
        g = helper.make_graph(nodes, "identities", [helper.make_tensor_value_info(f"in_{k}", t, [2, 3]) for k, (t, _) in types.items()],
                              [helper.make_tensor_value_info(f"out_{k}", t, [2, 3]) for k, (t, _) in types.items()])
        path = os.path.join(self.tmp, "identities.onnx")
        onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), path)
        rng = np.random.default_rng(3)
        data = {}
        for k, (_, dt) in types.items():
            if k == "BOOL":
                data[k] = rng.random((2, 3)) > 0.5
            elif k == "BYTES":
                data[k] = np.array([["a", "héllo", ""], ["x y", "0", "end"]], dtype=object)
            elif k.startswith("FP"):
                data[k] = (rng.random((2, 3)) * 100 - 50).astype(dt)
            else:  # JSON numbers are exact up to 2^53; the binary round trip below covers the full range
                info = np.iinfo(dt)
                data[k] = np.array([[max(info.min, -2**53), min(info.max, 2**53), 0], [1, 2, 3]], dtype=dt)
        with Server(path, self.repo, "--poll", "0") as s:  # a bare model and a repository side by side
            idx = requests.post(s.url + "/v2/repository/index", timeout=30).json()
            self.assertEqual(sorted((e["name"], e["version"]) for e in idx), [("identities", "1"), ("mobilenet_v2", "1.0.0")])
            inputs = []
            for k, a in data.items():
                flat = a.ravel().tolist()
                inputs.append({"name": f"in_{k}", "shape": [2, 3], "datatype": k,
                               "data": [bool(v) for v in flat] if k == "BOOL" else flat})
            r = requests.post(s.url + "/v2/models/identities/infer", json={"inputs": inputs}, timeout=60)
            self.assertEqual(r.status_code, 200, r.text)
            outs = {o["name"]: o for o in r.json()["outputs"]}
            for k, a in data.items():
                o = outs[f"out_{k}"]
                self.assertEqual((o["datatype"], o["shape"]), (k, [2, 3]), k)
                if k in ("UINT64", "INT64"):  # exact beyond 2^53: compare as text-parsed integers
                    self.assertEqual([int(v) for v in o["data"]], [int(v) for v in a.ravel()], k)
                else:
                    np.testing.assert_array_equal(np.array(o["data"], dtype=a.dtype), a.ravel(), err_msg=k)
            # binary in and out, BYTES as 4-byte length + bytes; integers at their type's limits
            for k, a in data.items():
                if k not in ("BOOL", "BYTES") and not k.startswith("FP"):
                    info = np.iinfo(a.dtype)
                    data[k] = np.array([[info.min, info.max, 0], [1, 2, 3]], dtype=a.dtype)
            blobs, inputs = [], []
            for k, a in data.items():
                if k == "BYTES":
                    b = b"".join(len(v.encode()).to_bytes(4, "little") + v.encode() for v in a.ravel())
                else:
                    b = a.tobytes()
                blobs.append(b)
                inputs.append({"name": f"in_{k}", "shape": [2, 3], "datatype": k, "parameters": {"binary_data_size": len(b)}})
            head = json.dumps({"inputs": inputs, "outputs": [{"name": f"out_{k}", "parameters": {"binary_data": True}}
                                                             for k in data]}).encode()
            r = requests.post(s.url + "/v2/models/identities/infer", data=head + b"".join(blobs), timeout=60,
                              headers={"Inference-Header-Content-Length": str(len(head))})
            self.assertEqual(r.status_code, 200, r.text)
            n = int(r.headers["Inference-Header-Content-Length"])
            meta, off = json.loads(r.content[:n]), n
            for o, (k, a) in zip(meta["outputs"], data.items()):
                size = o["parameters"]["binary_data_size"]
                self.assertEqual(r.content[off:off + size], blobs[list(data).index(k)], k)
                off += size
            self.assertEqual(off, len(r.content))

    def test_requested_outputs_and_bad_requests(self):
        x = [0.5] * (3 * 224 * 224)
        good = {"name": "input", "shape": [1, 3, 224, 224], "datatype": "FP32", "data": x}
        r = self.post("/v2/models/mobilenet_v2/infer", json={"inputs": [good], "outputs": [{"name": "logits"}]})
        self.assertEqual([o["name"] for o in r.json()["outputs"]], ["logits"])
        cases = [
            (b"{not json", 400, "not valid JSON"),
            (b"[]", 400, "JSON object"),
            (json.dumps({"inputs": []}).encode(), 400, "non-empty array"),
            (json.dumps({"inputs": [dict(good, shape=[1, 3, 224, 225], data=x + [0.0] * 672)]}).encode(), 400,
             "dim 3 must be 224"),
            (json.dumps({"inputs": [dict(good, datatype="FP64")]}).encode(), 400, "expected dtype float32, got float64"),
            (json.dumps({"inputs": [dict(good, datatype="FLOAT")]}).encode(), 400, "\"datatype\" must be one of"),
            (json.dumps({"inputs": [dict(good, data=x[:-1])]}).encode(), 400, "150527 data elements for shape of 150528"),
            (json.dumps({"inputs": [dict(good, data=["a"] * len(x))]}).encode(), 400, "is the string \"a\", expected a number"),
            (json.dumps({"inputs": [dict(good, name="image")]}).encode(), 400, "unknown input 'image'"),
            (json.dumps({"inputs": [good], "outputs": [{"name": "probs"}]}).encode(), 400, "unknown output 'probs'"),
            (json.dumps({"inputs": [dict(good, shape=[17, 3, 224, 224], data=x * 17)]}).encode(), 413,
             "batch of 17 exceeds the limit of 16"),
        ]
        for body, code, needle in cases:
            r = self.post("/v2/models/mobilenet_v2/infer", data=body)
            self.assertEqual(r.status_code, code, (needle, r.text))
            self.assertEqual(r.headers["Content-Type"], "application/json")
            self.assertIn(needle, r.json()["error"])
        r = self.post("/v2/models/mobilenet_v2/infer", data=b"{}", headers={"Inference-Header-Content-Length": "99"})
        self.assertEqual(r.status_code, 400)
        self.assertIn("Inference-Header-Content-Length", r.json()["error"])
        self.assertEqual(self.post("/v2/models/resnet/infer", json={"inputs": [good]}).status_code, 404)
        r = self.post("/v2/models/mobilenet_v2/versions/3.0.0/infer", json={"inputs": [good]})
        self.assertEqual((r.status_code, r.json()["error"]), (404, "model 'mobilenet_v2' has no version '3.0.0'"))
        self.assertEqual(self.get("/v2/models/mobilenet_v2/infer").status_code, 405)
        self.assertEqual(self.get("/v3/nothing").status_code, 404)

    def test_predict_upload(self):
        with open(self.cat, "rb") as f:
            jpg = f.read()
        r1 = self.post("/v1/models/mobilenet_v2/predict", files={"file": ("cat.jpg", jpg, "image/jpeg")})
        self.assertEqual(r1.status_code, 200, r1.text)
        r2 = self.post("/v1/models/mobilenet_v2/predict", data=jpg, headers={"Content-Type": "image/jpeg"})
        self.assertEqual(r1.json()["results"][0]["image"], "cat.jpg")  # the uploaded file's name
        self.assertEqual(r2.json()["results"][0]["image"], 0)          # a bare body has none
        self.assertEqual(r1.json()["results"][0]["top"], r2.json()["results"][0]["top"])
        rc, out, err = run("run", os.path.join(self.repo, "mobilenet_v2", "1.0.0"), "--image", self.cat)
        self.assertEqual(rc, 0, err)
        self.assertEqual(r1.json()["results"][0]["top"], json.loads(out)["results"][0]["top"])
        # the one-line curl call
        p = subprocess.run(["curl", "-sS", "-F", f"file=@{self.cat}", self.url + "/v1/models/mobilenet_v2/predict"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(json.loads(p.stdout)["results"][0]["top"], r1.json()["results"][0]["top"])
        bad = [
            ({"data": jpg[:len(jpg) // 2]}, 400, ""),
            ({"data": b""}, 400, "empty"),
            ({"data": b"GIF89a" + b"\0" * 64}, 400, "JPEG or PNG"),
            ({"files": {"note": (None, "hello")}}, 400, "no file in the form"),
            ({"files": [("file", ("a.jpg", jpg, "image/jpeg")), ("file", ("b.jpg", jpg, "image/jpeg"))]}, 400,
             "one image per request: the form has 2 files"),
        ]
        big = cv2.imencode(".png", np.zeros((2100, 2100, 3), np.uint8))[1].tobytes()  # 4.4 Mpx > 4 Mpx limit
        bad.append(({"data": big}, 413, "pixels"))
        for kw, code, needle in bad:
            r = self.post("/v1/models/mobilenet_v2/predict", **kw)
            self.assertEqual(r.status_code, code, r.text)
            self.assertIn(needle, r.json()["error"])
        # one preprocessing sample per answered upload (decoding and preprocessing together)
        m = {k: float(v) for k, v in (line.rsplit(" ", 1) for line in self.get("/metrics").text.splitlines()
                                       if line and not line.startswith("#"))}
        self.assertEqual(m['mdk_preprocess_seconds_count{model="mobilenet_v2"}'],
                         m['mdk_requests_total{model="mobilenet_v2",version="1.0.0",endpoint="predict",code="200"}'])

    def test_openapi_docs_and_metrics(self):
        doc = self.get("/openapi.json").json()
        self.assertEqual(doc["openapi"], "3.0.3")
        for p in ("/v2/models/mobilenet_v2/infer", "/v1/models/mobilenet_v2/predict", "/v2/health/ready", "/metrics"):
            self.assertIn(p, doc["paths"])
        page = self.get("/docs")
        self.assertIn("/docs/swagger-ui-bundle.js", page.text)
        self.assertNotIn("//cdn", page.text)
        js = self.get("/docs/swagger-ui-bundle.js")
        self.assertEqual(js.status_code, 200)
        self.assertGreater(len(js.content), 500000)
        self.assertEqual(self.get("/docs/swagger-ui.css").headers["Content-Type"], "text/css; charset=utf-8")
        self.assertEqual(self.get("/docs/nothing.js").status_code, 404)
        self.post("/v2/models/mobilenet_v2/infer", data=b"{")
        m = self.get("/metrics")
        self.assertTrue(m.headers["Content-Type"].startswith("text/plain; version=0.0.4"))
        samples = {}
        for line in m.text.splitlines():
            if line and not line.startswith("#"):
                k, v = line.rsplit(" ", 1)
                samples[k] = float(v)
        self.assertGreaterEqual(samples['mdk_requests_total{model="mobilenet_v2",version="1.0.0",endpoint="infer",code="400"}'], 1)
        for h in ("mdk_request_seconds", "mdk_inference_seconds", "mdk_queue_seconds", "mdk_preprocess_seconds"):
            self.assertIn(h + '_bucket{model="mobilenet_v2",le="+Inf"}', samples)
        self.assertIn('mdk_queue_depth{model="mobilenet_v2"}', samples)
        self.assertIn("mdk_inflight_requests", samples)

    def test_repository_versions_and_hot_reload(self):
        repo = os.path.join(self.tmp, "repo")
        os.makedirs(os.path.join(repo, "mobilenet_v2"))
        shutil.copytree(os.path.join(self.root, "packed", "mobilenet_v2-1.0.0"), os.path.join(repo, "mobilenet_v2", "1.0.0"))
        with Server(repo, "--poll", "0.2", "--verify") as s:  # each version's test cases pass before it serves
            meta = lambda: requests.get(s.url + "/v2/models/mobilenet_v2", timeout=30).json()  # noqa: E731
            self.assertEqual(meta()["versions"], ["1.0.0"])
            shutil.copytree(os.path.join(self.root, "packed", "mobilenet_v2-1.1.0"), os.path.join(repo, "mobilenet_v2", ".1.1.0"))
            os.rename(os.path.join(repo, "mobilenet_v2", ".1.1.0"), os.path.join(repo, "mobilenet_v2", "1.1.0"))
            self.assertTrue(wait_for(lambda: meta()["versions"] == ["1.0.0", "1.1.0"]), meta())
            with open(self.cat, "rb") as f:
                jpg = f.read()
            r = requests.post(s.url + "/v1/models/mobilenet_v2/predict", data=jpg, timeout=30)
            self.assertEqual(r.status_code, 200)
            x = {"inputs": [{"name": "input", "shape": [1, 3, 224, 224], "datatype": "FP32", "data": [0.0] * 150528}]}
            self.assertEqual(requests.post(s.url + "/v2/models/mobilenet_v2/infer", json=x, timeout=30).json()["model_version"], "1.1.0")
            self.assertEqual(requests.post(s.url + "/v2/models/mobilenet_v2/versions/1.0.0/infer", json=x,
                                           timeout=30).json()["model_version"], "1.0.0")
            idx = requests.post(s.url + "/v2/repository/index", timeout=30).json()
            self.assertEqual([(e["name"], e["version"], e["state"]) for e in idx],
                             [("mobilenet_v2", "1.0.0", "READY"), ("mobilenet_v2", "1.1.0", "READY")])
            self.assertEqual(requests.post(s.url + "/v2/repository/models/mobilenet_v2/unload", timeout=30).status_code, 200)
            self.assertEqual(requests.get(s.url + "/v2/models/mobilenet_v2", timeout=30).status_code, 404)
            self.assertEqual(requests.get(s.url + "/v2/health/ready", timeout=30).status_code, 503)
            r = requests.post(s.url + "/v2/repository/models/mobilenet_v2/load", timeout=60)
            self.assertEqual(r.status_code, 200, r.text)
            self.assertEqual(meta()["versions"], ["1.0.0", "1.1.0"])
            self.assertEqual(requests.post(s.url + "/v2/repository/models/nothing/load", timeout=60).status_code, 400)
            # a version removed from the repository stops being served
            shutil.rmtree(os.path.join(repo, "mobilenet_v2", "1.1.0"))
            self.assertTrue(wait_for(lambda: meta()["versions"] == ["1.0.0"]), meta())

    def test_unload_sticks_for_packed_layout(self):
        # bundles as mdk pack writes them (NAME-VERSION/): an unloaded model stays unloaded across scans
        with Server(os.path.join(self.root, "packed"), "--poll", "0.1") as s:
            m = s.url + "/v2/models/mobilenet_v2"
            self.assertEqual(requests.get(m, timeout=30).json()["versions"], ["1.0.0", "1.1.0"])
            self.assertEqual(requests.post(s.url + "/v2/repository/models/mobilenet_v2/unload", timeout=30).status_code, 200)
            time.sleep(0.6)
            self.assertEqual(requests.get(m, timeout=30).status_code, 404)
            self.assertEqual(requests.post(s.url + "/v2/repository/models/mobilenet_v2/load", timeout=60).status_code, 200)
            self.assertEqual(requests.get(m, timeout=30).json()["versions"], ["1.0.0", "1.1.0"])

    def test_hot_swap_under_load_has_no_failures(self):
        repo = os.path.join(self.tmp, "swap")
        os.makedirs(os.path.join(repo, "mobilenet_v2"))
        shutil.copytree(os.path.join(self.root, "packed", "mobilenet_v2-1.0.0"), os.path.join(repo, "mobilenet_v2", "1.0.0"))
        with open(self.cat, "rb") as f:
            jpg = f.read()
        with Server(repo, "--poll", "0.1") as s:
            stop = threading.Event()
            codes, versions = [], set()

            def hammer():
                with requests.Session() as sess:
                    while not stop.is_set():
                        r = sess.post(s.url + "/v1/models/mobilenet_v2/predict", data=jpg, timeout=60)
                        codes.append(r.status_code)
                        m = sess.get(s.url + "/v2/models/mobilenet_v2", timeout=60)
                        codes.append(m.status_code)
                        versions.add(tuple(m.json().get("versions", [])))

            threads = [threading.Thread(target=hammer) for _ in range(4)]
            for t in threads:
                t.start()
            time.sleep(1)
            shutil.copytree(os.path.join(self.root, "packed", "mobilenet_v2-1.1.0"), os.path.join(repo, "mobilenet_v2", ".new"))
            os.rename(os.path.join(repo, "mobilenet_v2", ".new"), os.path.join(repo, "mobilenet_v2", "1.1.0"))
            self.assertTrue(wait_for(lambda: ("1.0.0", "1.1.0") in versions, timeout=30))
            shutil.rmtree(os.path.join(repo, "mobilenet_v2", "1.0.0"))
            self.assertTrue(wait_for(lambda: ("1.1.0",) in versions, timeout=30))
            time.sleep(0.5)
            stop.set()
            for t in threads:
                t.join()
        self.assertGreater(len(codes), 20)
        self.assertEqual(set(codes), {200}, f"{len([c for c in codes if c != 200])} of {len(codes)} failed")

    def test_limits(self):
        with Server(self.repo, "--poll", "0", "--max-body-bytes", "100000", "--max-inflight", "2", "--workers", "1") as s:
            r = requests.post(s.url + "/v2/models/mobilenet_v2/infer", data=b"{" + b" " * 200000 + b"}", timeout=60)
            self.assertEqual(r.status_code, 413)
            self.assertIn("exceeds 100000 bytes", r.json()["error"])
            big = np.zeros((8, 3, 224, 224), np.float32)
            head = json.dumps({"inputs": [{"name": "input", "shape": [8, 3, 224, 224], "datatype": "FP32",
                                           "parameters": {"binary_data_size": big.nbytes}}]}).encode()
            r = requests.post(s.url + "/v2/models/mobilenet_v2/infer", data=head + big.tobytes(), timeout=60,
                              headers={"Inference-Header-Content-Length": str(len(head))})
            self.assertEqual(r.status_code, 413)  # 4.8 MB > 100 kB
        with Server(self.repo, "--poll", "0", "--max-inflight", "2", "--workers", "1") as s:
            x = np.zeros((16, 3, 224, 224), np.float32)
            head = json.dumps({"inputs": [{"name": "input", "shape": [16, 3, 224, 224], "datatype": "FP32",
                                           "parameters": {"binary_data_size": x.nbytes}}]}).encode()

            def one(_):
                return requests.post(s.url + "/v2/models/mobilenet_v2/infer", data=head + x.tobytes(), timeout=120,
                                     headers={"Inference-Header-Content-Length": str(len(head))})
            with cf.ThreadPoolExecutor(8) as ex:
                rs = list(ex.map(one, range(8)))
            codes = sorted(r.status_code for r in rs)
            self.assertIn(429, codes)
            self.assertIn(200, codes)
            self.assertIn("too many requests in flight (at most 2)", [r for r in rs if r.status_code == 429][0].json()["error"])
        with Server(self.repo, "--poll", "0", "--workers", "1", "--request-timeout-ms", "1") as s:
            with cf.ThreadPoolExecutor(6) as ex:
                rs = list(ex.map(lambda _: requests.post(s.url + "/v2/models/mobilenet_v2/infer", data=head + x.tobytes(),
                                                         headers={"Inference-Header-Content-Length": str(len(head))},
                                                         timeout=120), range(6)))
            late = [r for r in rs if r.status_code == 503]
            self.assertTrue(late)
            self.assertIn("longer than the 1 ms request timeout", late[0].json()["error"])

    def test_dynamic_batching(self):
        with Server(self.repo, "--poll", "0", "--workers", "1", "--max-batch-size", "8", "--max-queue-delay-us", "200000") as s:
            rng = np.random.default_rng(5)
            xs = [rng.random((1, 3, 224, 224), dtype=np.float32) for _ in range(6)]

            def one(x):
                head = json.dumps({"inputs": [{"name": "input", "shape": [1, 3, 224, 224], "datatype": "FP32",
                                               "parameters": {"binary_data_size": x.nbytes}}],
                                   "parameters": {"binary_data_output": True}}).encode()
                r = requests.post(s.url + "/v2/models/mobilenet_v2/infer", data=head + x.tobytes(), timeout=60,
                                  headers={"Inference-Header-Content-Length": str(len(head))})
                n = int(r.headers["Inference-Header-Content-Length"])
                return np.frombuffer(r.content[n:], dtype=np.float32)
            with cf.ThreadPoolExecutor(6) as ex:
                batched = list(ex.map(one, xs))
            singles = [one(x) for x in xs]
            for a, b in zip(batched, singles):  # each request got its own row back, in order
                np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
            m = requests.get(s.url + "/metrics", timeout=30).text
            line = [x for x in m.splitlines() if x.startswith('mdk_batch_size_bucket{model="mobilenet_v2",le="1"}')][0]
            total = [x for x in m.splitlines() if x.startswith('mdk_batch_size_count{model="mobilenet_v2"}')][0]
            self.assertLess(int(line.split()[-1]), int(total.split()[-1]))  # some executions ran several requests

    def test_api_keys_and_sighup(self):
        keys = os.path.join(self.tmp, "keys")
        with open(keys, "w") as f:
            f.write("# clients\nalpha-key\n")
        with Server(self.repo, "--poll", "0", "--api-keys", keys) as s:
            m = s.url + "/v2/models/mobilenet_v2"
            self.assertEqual(requests.get(m, timeout=30).status_code, 401)
            self.assertEqual(requests.get(m, headers={"Authorization": "Bearer wrong"}, timeout=30).status_code, 401)
            self.assertEqual(requests.get(m, headers={"Authorization": "Bearer alpha-key"}, timeout=30).status_code, 200)
            self.assertEqual(requests.get(s.url + "/v2/health/ready", timeout=30).status_code, 200)
            r = requests.get(m, timeout=30)
            self.assertEqual(r.headers["WWW-Authenticate"], "Bearer")
            self.assertIn("API key", r.json()["error"])
            with open(keys, "w") as f:
                f.write("beta-key\n")
            s.signal(signal.SIGHUP)
            self.assertTrue(wait_for(lambda: requests.get(m, headers={"Authorization": "Bearer beta-key"}, timeout=30).status_code == 200))
            self.assertEqual(requests.get(m, headers={"Authorization": "Bearer alpha-key"}, timeout=30).status_code, 401)

    def test_tls(self):
        cert, key = os.path.join(self.tmp, "cert.pem"), os.path.join(self.tmp, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1",
                        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
        with Server(self.repo, "--poll", "0", "--tls-cert", cert, "--tls-key", key, scheme="https") as s:
            r = requests.get(s.url + "/v2/models/mobilenet_v2", verify=cert, timeout=30)
            self.assertEqual(r.status_code, 200)
            with self.assertRaises(requests.exceptions.ConnectionError):
                requests.get(s.url.replace("https", "http") + "/v2", timeout=5)

    def test_graceful_shutdown(self):
        s = Server(self.repo, "--poll", "0", "--workers", "1")
        x = np.zeros((16, 3, 224, 224), np.float32)
        head = json.dumps({"inputs": [{"name": "input", "shape": [16, 3, 224, 224], "datatype": "FP32",
                                       "parameters": {"binary_data_size": x.nbytes}}]}).encode()
        with cf.ThreadPoolExecutor(3) as ex:
            futs = [ex.submit(requests.post, s.url + "/v2/models/mobilenet_v2/infer", data=head + x.tobytes(), timeout=120,
                              headers={"Inference-Header-Content-Length": str(len(head))}) for _ in range(3)]
            # all three uploads admitted (on a loaded machine 0.3 s was not always enough), still running:
            # one worker needs about a second per batch of 16
            time.sleep(1.0)
            s.signal(signal.SIGTERM)
            codes = [f.result().status_code for f in futs]
        self.assertEqual(codes, [200, 200, 200])
        self.assertEqual(s.proc.wait(timeout=60), 0)
        err = s.stderr()
        self.assertIn("finishing", err)
        self.assertIn("stopped", err)
        s.stop()
        with self.assertRaises(requests.exceptions.ConnectionError):
            requests.get(s.url + "/v2", timeout=5)

    def test_access_log(self):
        self.get("/v2/health/live")

        def entries():
            with open(os.path.join(self.root, "access.log")) as f:
                return [json.loads(line) for line in f]
        # the line is written when libmicrohttpd reports the request complete, just after the response
        self.assertTrue(wait_for(lambda: any(e["endpoint"] == "live" for e in entries())))
        last = [e for e in entries() if e["endpoint"] == "live"][-1]
        self.assertEqual(last["status"], 200)
        self.assertEqual(last["remote"], "127.0.0.1")
        self.assertGreaterEqual(last["ms"], 0)
        self.assertEqual(set(last), {"time", "remote", "endpoint", "status", "request_bytes", "response_bytes", "ms"})

    def test_bundle_curl_example(self):
        b = os.path.join(self.repo, "mobilenet_v2", "1.0.0")
        p = subprocess.run(["sh", os.path.join(b, "examples", "curl.sh"), self.cat], capture_output=True, text=True,
                           timeout=60, env=dict(os.environ, MDK_URL=self.url))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("ready", p.stdout)
        self.assertIn('"task": "classification"', p.stdout)

    def test_dockerfile_matches_the_server(self):
        """No Docker engine runs here: the generated Dockerfile is checked piece by piece instead. Its Debian
        packages (with their dependencies) provide every shared library mdk and libmdk load, and its
        ENTRYPOINT serves the bundle from the /models/NAME/VERSION/ layout it copies it into."""
        import re
        b = os.path.join(self.repo, "mobilenet_v2", "1.0.0")
        with open(os.path.join(b, "deploy", "Dockerfile")) as f:
            docker = f.read()
        listed = re.search(r"apt-get install -y --no-install-recommends \\\n\s+([^\\]+)\\", docker).group(1).split()
        deps = subprocess.run(["apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests", "--no-conflicts",
                               "--no-breaks", "--no-replaces", "--no-enhances", *listed], capture_output=True, text=True).stdout
        closure = {line.strip() for line in deps.splitlines() if line and not line.startswith(" ")}
        missing = []
        for binary in (mdktest.MDK, os.path.join(os.path.dirname(mdktest.MDK), "libmdk.so")):
            for line in subprocess.run(["ldd", binary], capture_output=True, text=True).stdout.splitlines():
                m = re.search(r"=> (/\S+)", line)
                if not m or "onnxruntime" in m.group(1) or "libmdk" in m.group(1) or "libasan" in m.group(1) \
                        or "libubsan" in m.group(1):
                    continue  # installed from the mdk/ folder the Dockerfile copies, or sanitizer builds
                pkg = ""
                for path in (m.group(1), os.path.realpath(m.group(1))):
                    pkg = pkg or subprocess.run(["dpkg", "-S", path], capture_output=True, text=True).stdout.split(":")[0]
                prio = subprocess.run(["dpkg-query", "-W", "-f=${Priority}", pkg], capture_output=True, text=True).stdout
                if pkg not in closure and prio != "required":
                    missing.append(f"{m.group(1)} ({pkg})")
        self.assertEqual(missing, [])
        entry = json.loads(re.search(r"^ENTRYPOINT (\[.*\])$", docker, re.M).group(1))
        self.assertEqual(entry[:2], ["mdk", "serve"])
        args = [a if a != "8080" else "0" for a in entry[2:]]
        models = os.path.join(self.tmp, "models")
        shutil.copytree(self.repo, models)
        args[args.index("/models")] = models
        self.assertIn("0.0.0.0", args)  # reachable from outside the container
        p = subprocess.Popen([mdktest.MDK, "serve", *args[:-1], "--poll", "0", args[-1]], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        try:
            port = int(p.stdout.readline())
            self.assertEqual(requests.get(f"http://127.0.0.1:{port}/v2/health/ready", timeout=30).status_code, 200)
        finally:
            p.terminate()
            self.assertEqual(p.wait(timeout=60), 0)
            p.stdout.close()
            p.stderr.close()

    def test_bad_startup(self):
        self.assertFails(["serve"], ["missing REPOSITORY"], code=2)
        self.assertFails(["serve", self.repo, "--port", "70000"], ["--port"], code=2)
        self.assertFails(["serve", self.repo, "--tls-cert", "x.pem"], ["--tls-key"], code=2)
        rc, out, err = run("serve", os.path.join(self.tmp, "missing"), "--port", "0")
        self.assertEqual(rc, 1)
        self.assertIn("cannot open", err)
        empty = os.path.join(self.tmp, "empty")
        os.makedirs(empty)
        rc, out, err = run("serve", empty, "--port", "0")
        self.assertEqual(rc, 1)
        self.assertIn("no model to serve", err)


if __name__ == "__main__":
    mdktest.main()
