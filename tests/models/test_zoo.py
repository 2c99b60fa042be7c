"""Models off the image-classifier path, exported here with Debian's PyTorch and delivered end to end: a
recurrent model with a two-layer GRU state whose batch dim is at position 1 and an int64 scalar input, and a
small transformer encoder taking int64 token ids and a float mask. Each is packed with PyTorch's own outputs as
its expected outputs (so `mdk verify` compares libmdk with PyTorch), verified as a directory and as an archive,
accepted, probed, benchmarked, run through its generated test.py and C example, and served: request.json,
curl.sh and the OpenAPI example answer with PyTorch's numbers."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import requests
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))
import mdktest  # noqa: E402
from mdkserver import Server  # noqa: E402
from mdktest import run  # noqa: E402

ROOT = os.environ.get("MDK_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
LIB = os.environ.get("MDK_LIBRARY", os.path.join(ROOT, "build", "libmdk.so.0"))
RTOL, ATOL = 1e-4, 1e-5


class Streaming(torch.nn.Module):
    """One step of a streaming audio model: a frame [N, 64], the sample rate (a scalar), and the GRU state
    [2, N, 32] in, a score per frame and the new state out."""

    def __init__(self):
        super().__init__()
        self.gru = torch.nn.GRU(64, 32, num_layers=2)
        self.head = torch.nn.Linear(32, 3)

    def forward(self, audio, sr, state):
        x = audio * (sr.to(torch.float32) / 16000.0)
        out, new_state = self.gru(x.unsqueeze(0), state)
        return torch.softmax(self.head(out[0]), dim=-1), new_state


class Encoder(torch.nn.Module):
    """Token ids [N, T] and a mask [N, T] (1 for tokens, 0 for padding): one attention layer and a mean of
    the unmasked positions, [N, 16]."""

    def __init__(self):
        super().__init__()
        self.emb = torch.nn.Embedding(100, 16)
        self.q, self.k, self.v = torch.nn.Linear(16, 16), torch.nn.Linear(16, 16), torch.nn.Linear(16, 16)
        self.ff = torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.ReLU(), torch.nn.Linear(32, 16))

    def forward(self, ids, mask):
        h = self.emb(ids)
        att = torch.matmul(self.q(h), self.k(h).transpose(1, 2)) / 4.0
        att = att + (1.0 - mask.unsqueeze(1)) * -1e4
        h = h + torch.matmul(torch.softmax(att, dim=-1), self.v(h))
        h = h + self.ff(h)
        return (h * mask.unsqueeze(2)).sum(1) / mask.sum(1, keepdim=True)


def export(model, args, names, outs, axes, path):
    torch.onnx.export(model, args, path, input_names=names, output_names=outs, dynamic_axes=axes, opset_version=13)


class Zoo(mdktest.TestCase):
    @classmethod
    def setUpClass(cls):
        torch.manual_seed(0)
        cls._dir = tempfile.TemporaryDirectory(prefix="mdk-zoo-")
        cls.root = cls._dir.name
        cls.bundles = {}
        rng = np.random.default_rng(3)
        # the streaming model: cases of batch 1, 2 and 3
        m = Streaming().eval()
        cases = {}
        for c, n in (("a", 1), ("b", 2), ("c", 3)):
            cases[f"{c}/audio"] = rng.standard_normal((n, 64)).astype(np.float32)
            cases[f"{c}/sr"] = np.array(16000 if c != "b" else 8000, np.int64)
            cases[f"{c}/state"] = rng.standard_normal((2, n, 32)).astype(np.float32)
        d = os.path.join(cls.root, "streaming")
        os.makedirs(d)
        export(m, tuple(torch.from_numpy(cases[f"a/{k}"]) for k in ("audio", "sr", "state")), ["audio", "sr", "state"],
               ["scores", "new_state"], {"audio": {0: "N"}, "state": {1: "N"}, "scores": {0: "N"}, "new_state": {1: "N"}},
               os.path.join(d, "model.onnx"))
        cls.pack(d, "streaming", m, cases, ["audio", "sr", "state"], ["scores", "new_state"])
        # the encoder: batches of sentences with padding, two lengths
        m = Encoder().eval()
        cases = {}
        for c, (n, t) in (("short", (2, 5)), ("long", (3, 9))):
            ids = rng.integers(1, 100, (n, t)).astype(np.int64)
            mask = np.ones((n, t), np.float32)
            mask[0, t - 2:] = 0
            cases[f"{c}/ids"], cases[f"{c}/mask"] = ids, mask
        d = os.path.join(cls.root, "encoder")
        os.makedirs(d)
        export(m, (torch.from_numpy(cases["short/ids"]), torch.from_numpy(cases["short/mask"])), ["ids", "mask"],
               ["embedding"], {"ids": {0: "N", 1: "T"}, "mask": {0: "N", 1: "T"}, "embedding": {0: "N"}},
               os.path.join(d, "model.onnx"))
        cls.pack(d, "encoder", m, cases, ["ids", "mask"], ["embedding"])

    @classmethod
    def pack(cls, d, name, model, cases, inputs, outputs):
        """Packs `model.onnx` in `d` with `cases` and PyTorch's outputs for them as the expected outputs."""
        expected = {}
        with torch.no_grad():
            for c in sorted({k.split("/")[0] for k in cases}):
                got = model(*(torch.from_numpy(cases[f"{c}/{i}"]) for i in inputs))
                for o, v in zip(outputs, got if isinstance(got, tuple) else (got,)):
                    expected[f"{c}/{o}"] = v.numpy()
        np.savez(os.path.join(d, "in.npz"), **cases)
        np.savez(os.path.join(d, "out.npz"), **expected)
        with open(os.path.join(d, "mdk.yaml"), "w") as f:
            f.write(f"name: {name}\nversion: 1.0.0\nmodel: model.onnx\ntask: custom\n"
                    f"test_cases: {{inputs: in.npz, expected_outputs: out.npz, rtol: {RTOL}, atol: {ATOL}}}\n")
        rc, out, err = run("pack", os.path.join(d, "mdk.yaml"), "-o", os.path.join(d, "out"), "--archive")
        if rc != 0:
            raise AssertionError(f"mdk pack {name}: {err}")
        cls.bundles[name] = (os.path.join(d, "out", f"{name}-1.0.0"), cases, expected)

    @classmethod
    def tearDownClass(cls):
        cls._dir.cleanup()

    def test_verify_accept_probe_bench(self):
        for name, (b, cases, _) in self.bundles.items():
            with self.subTest(model=name):
                n_cases = len({k.split("/")[0] for k in cases})
                for form in (b, b + ".mdk"):
                    rc, out, err = run("verify", form)
                    self.assertEqual(rc, 0, out + err)  # libmdk against PyTorch, within rtol/atol
                    self.assertIn(f"{n_cases} passed, 0 failed", out)
                rc, out, err = run("check", b, "--json")
                self.assertEqual(rc, 0, out + err)
                probes = {p["probe"]: p for p in json.loads(out)["probes"]}
                self.assertEqual(probes["valid input"]["verdict"], "pass")
                self.assertEqual(probes["batch of 4 = 4 singles"]["outcome"], "agrees")
                rc, out, err = run("bench", b, "--batch", "2", "--runs", "20", "--warmup", "2")
                self.assertEqual(rc, 0, err)
                self.assertIn("batch 2, threads 1, conc 1", out)
                rc, out, err = run("accept", b + ".mdk", "--duration", "0.5", "--report", self.path("acc-" + name))
                self.assertEqual(rc, 0, out + err)

    def test_generated_python_and_c(self):
        env = mdktest.sanitizer_env(dict(os.environ, PYTHONPATH=os.path.join(ROOT, "bindings", "python"), MDK_LIBRARY=LIB))
        libdir = os.path.dirname(os.path.realpath(LIB))
        for name, (b, cases, expected) in self.bundles.items():
            with self.subTest(model=name):
                n_cases = len({k.split("/")[0] for k in cases})
                p = subprocess.run(["/usr/bin/python3", os.path.join(b, "test_cases", "test.py")], capture_output=True,
                                   text=True, env=env)
                self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
                self.assertIn(f"{n_cases} passed, 0 failed", p.stdout)
                # the C example, built out of the bundle, on the first case's shipped inputs
                ex = self.path("c-" + name)
                shutil.copytree(os.path.join(b, "examples", "c"), ex)
                cflags = "-O2 -Wall -Wextra -Werror" + (" -fsanitize=address,undefined" if mdktest.SANITIZED else "")
                mk = subprocess.run(["make", "-s", "-C", ex, "single", f"MDK_CFLAGS=-I{ROOT}/include",
                                     f"MDK_LIBS=-L{libdir} -lmdk -Wl,-rpath,{libdir}", f"CFLAGS={cflags}"],
                                    capture_output=True, text=True)
                self.assertEqual(mk.returncode, 0, mk.stderr)
                inputs = sorted(os.listdir(os.path.join(b, "examples", "inputs")), key=lambda f: int(f.split("-")[0]))
                run_c = subprocess.run([os.path.join(ex, "single"), b, *[os.path.join(b, "examples", "inputs", f) for f in inputs]],
                                       capture_output=True, text=True, cwd=ex, env=mdktest.sanitizer_env(dict(os.environ)))
                self.assertEqual(run_c.returncode, 0, run_c.stderr)
                first = next(iter(cases)).split("/")[0]  # the bundle's first case: the first in in.npz
                for k, want in expected.items():
                    if k.startswith(first + "/"):
                        np.testing.assert_allclose(np.load(os.path.join(ex, k.split("/")[1] + ".npy")), want, rtol=RTOL, atol=ATOL)

    def test_served(self):
        for name, (b, cases, expected) in self.bundles.items():
            with self.subTest(model=name), Server(b + ".mdk") as s:
                first = json.load(open(os.path.join(b, "examples", "request.json")))
                case = next(iter(cases)).split("/")[0]
                with open(os.path.join(b, "docs", "openapi.json")) as f:
                    api = json.load(f)
                example = api["paths"][f"/v2/models/{name}/infer"]["post"]["requestBody"]["content"]["application/json"]["example"]
                curl = subprocess.run(["sh", os.path.join(b, "examples", "curl.sh")], capture_output=True, text=True,
                                      env=dict(os.environ, MDK_URL=s.url), timeout=60)
                self.assertEqual(curl.returncode, 0, curl.stderr)
                answers = [requests.post(f"{s.url}/v2/models/{name}/infer", json=body, timeout=30).json()
                           for body in (first, example)] + [json.loads(curl.stdout.strip().splitlines()[-1])]
                for body in answers:
                    out = {o["name"]: np.array(o["data"], np.float64).reshape(o["shape"]) for o in body["outputs"]}
                    for k, want in expected.items():
                        if k.startswith(case + "/"):
                            np.testing.assert_allclose(out[k.split("/")[1]], want, rtol=RTOL, atol=ATOL)


class RealBundles(mdktest.TestCase):
    """PaddleOCR's recognizer (a text line resized to height 48 at its own width) and text detector (DBNet as a
    segmentation) as image bundles, and ONNX's StringNormalizer as a tensor bundle with string inputs and
    outputs: each packed, verified as a directory and an archive, accepted, run through its test.py, and
    served with its curl.sh and its OpenAPI example, whose answers equal the bundle's expected outputs."""

    @classmethod
    def setUpClass(cls):
        import cv2
        ocr = os.path.join(mdktest.MODELS, "ocr")
        mdktest.require("models", os.path.isdir(ocr))
        cls._dir = tempfile.TemporaryDirectory(prefix="mdk-real-")
        root = cls.root = cls._dir.name
        os.makedirs(os.path.join(root, "lines"))
        lines = []
        for i, (word, width) in enumerate((("Model 2026", 400), ("mdk", 160), ("Delivery Kit 1.0", 560))):
            img = np.full((64, width, 3), 255, np.uint8)
            cv2.putText(img, word, (8, 46), cv2.FONT_HERSHEY_SIMPLEX, 1.4, (0, 0, 0), 3, cv2.LINE_AA)
            lines.append(f"lines/{i}.png")
            cv2.imwrite(os.path.join(root, lines[-1]), img)
        images = ", ".join(lines)
        specs = {
            "text-rec": ("ch_PP-OCRv4_rec_infer.onnx", "preprocess:\n  steps:\n    - resize: {shorter_side: 48}\n    - color: BGR\n"
                         "    - scale: 1/255\n    - normalize: {mean: 0.5, std: 0.5}\n"),
            "text-det": ("ch_PP-OCRv4_det_infer.onnx", "preprocess:\n  steps:\n    - resize: {width: 640, height: 64}\n"
                         "    - color: BGR\n    - scale: 1/255\n"
                         "    - normalize: {mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225]}\n"
                         "postprocess: {type: segmentation, threshold: 0.3}\n"),
        }
        cls.bundles = {}
        for name, (model, steps) in specs.items():
            os.symlink(os.path.join(ocr, model), os.path.join(root, model))
            with open(os.path.join(root, name + ".yaml"), "w") as f:
                f.write(f"name: {name}\nversion: 1.0.0\nmodel: {model}\n{steps}test_cases: {{images: [{images}]}}\n")
            cls.bundles[name] = cls.pack(os.path.join(root, name + ".yaml"))
        # string tensors in and out: ONNX's StringNormalizer test model with its own test data as the case
        import onnx
        from onnx import numpy_helper
        node = os.path.join(mdktest.ONNX_NODE, "test_strnormalizer_export_monday_casesensintive_lower")
        shutil.copy(os.path.join(node, "model.onnx"), os.path.join(root, "strings.onnx"))
        read = lambda p: numpy_helper.to_array(onnx.load_tensor(os.path.join(node, "test_data_set_0", p)))
        np.savez(os.path.join(root, "s_in.npz"), x=read("input_0.pb").astype(str))
        np.savez(os.path.join(root, "s_out.npz"), y=read("output_0.pb").astype(str))
        with open(os.path.join(root, "strings.yaml"), "w") as f:
            f.write("name: strings\nversion: 1.0.0\nmodel: strings.onnx\n"
                    "test_cases: {inputs: s_in.npz, expected_outputs: s_out.npz}\n")
        cls.bundles["strings"] = cls.pack(os.path.join(root, "strings.yaml"))

    @classmethod
    def pack(cls, spec):
        rc, out, err = run("pack", spec, "-o", os.path.join(cls.root, "out"), "--archive")
        if rc != 0:
            raise AssertionError(f"mdk pack {spec}: {err}")
        return out.split()[0]

    @classmethod
    def tearDownClass(cls):
        cls._dir.cleanup()

    def test_verify_and_accept(self):
        for name, b in self.bundles.items():
            with self.subTest(bundle=name):
                for form in (b, b + ".mdk"):
                    rc, out, err = run("verify", form)
                    self.assertEqual(rc, 0, out + err)
                    self.assertIn(" passed, 0 failed", out)
                rc, out, err = run("accept", b + ".mdk", "--duration", "0.5", "--report", self.path("acc-" + name))
                self.assertEqual(rc, 0, out + err)

    def test_generated_test_py(self):
        env = mdktest.sanitizer_env(dict(os.environ, PYTHONPATH=os.path.join(ROOT, "bindings", "python"), MDK_LIBRARY=LIB))
        for name, b in self.bundles.items():
            with self.subTest(bundle=name):
                p = subprocess.run(["/usr/bin/python3", os.path.join(b, "test_cases", "test.py")], capture_output=True,
                                   text=True, env=env)
                self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def test_served(self):
        for name, b in self.bundles.items():
            with self.subTest(bundle=name), Server(b + ".mdk") as s:
                curl = subprocess.run(["sh", os.path.join(b, "examples", "curl.sh")], capture_output=True, text=True,
                                      env=dict(os.environ, MDK_URL=s.url), timeout=120)
                self.assertEqual(curl.returncode, 0, curl.stderr)
                answer = json.loads(curl.stdout.strip().splitlines()[-1])
                with open(os.path.join(b, "docs", "openapi.json")) as f:
                    api = json.load(f)
                example = api["paths"][f"/v2/models/{name}/infer"]["post"]["requestBody"]["content"]["application/json"]["example"]
                r = requests.post(f"{s.url}/v2/models/{name}/infer", json=example, timeout=120)
                self.assertEqual(r.status_code, 200, r.text)
                # the OpenAPI example is the first case: the answer is its expected output
                want = np.load(os.path.join(b, "test_cases", "expected_outputs.npz"))
                first = want.files[0].split("/")[0] if "/" in want.files[0] else None
                for o in r.json()["outputs"]:
                    key = f"{first}/{o['name']}" if first else o["name"]
                    got = np.array(o["data"]).reshape(o["shape"])
                    if got.dtype.kind in "US":
                        self.assertEqual(got.tolist(), want[key].tolist())
                    else:
                        np.testing.assert_allclose(got, want[key], rtol=1e-4, atol=1e-5)
                if name == "strings":
                    self.assertEqual(answer["outputs"][0]["data"], want["y"].tolist())
                elif name == "text-det":  # an image through the whole pipeline, the upload named by its file
                    self.assertEqual(answer["results"][0]["image"], "01-0.png")
                else:  # no postprocessing: the recognizer's raw scores, [1, T, 6625] with T from the image's width
                    self.assertEqual(answer["outputs"][0]["shape"][2], 6625)


if __name__ == "__main__":
    mdktest.main()
