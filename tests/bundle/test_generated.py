"""What a bundle ships for its receiver, for a tensor-only model with several inputs of different dtypes, a 0-d
input and a batch dim at position 1 (an RNN-like state): cases.json lists every case, the model card counts
them and shows every input, example inputs and request.json are the first test case, and each generated
artefact is executed: test.py and predict.py with the Python binding, request.json, curl.sh and the OpenAPI
example against a real `mdk serve`, each answer checked against the bundle's expected outputs; the bundle
passes mdk check's probes and mdk accept."""
import json
import os
import subprocess
import sys

import numpy as np
import onnx
import requests
from onnx import helper

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))
import mdktest  # noqa: E402
from mdkserver import Server  # noqa: E402
from mdktest import run  # noqa: E402

ROOT = os.environ.get("MDK_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
LIB = os.environ.get("MDK_LIBRARY", os.path.join(ROOT, "build", "libmdk.so.0"))


def stateful_model(path):
    """y = x * rate + mean(state over its first axis); new_state = state + 1, mask passed as a count. Inputs:
    x float32 [N, 4], rate int64 [] (0-d), state float32 [2, N, 4] (batch at position 1), mask bool [N]."""
    x = helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["N", 4])
    rate = helper.make_tensor_value_info("rate", onnx.TensorProto.INT64, [])
    state = helper.make_tensor_value_info("state", onnx.TensorProto.FLOAT, [2, "N", 4])
    mask = helper.make_tensor_value_info("mask", onnx.TensorProto.BOOL, ["N"])
    y = helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["N", 4])
    new_state = helper.make_tensor_value_info("new_state", onnx.TensorProto.FLOAT, [2, "N", 4])
    kept = helper.make_tensor_value_info("kept", onnx.TensorProto.INT64, ["N"])
    one = helper.make_tensor("one", onnx.TensorProto.FLOAT, [], [1.0])
    nodes = [
        helper.make_node("Cast", ["rate"], ["rf"], to=onnx.TensorProto.FLOAT),
        helper.make_node("Mul", ["x", "rf"], ["xr"]),
        helper.make_node("ReduceMean", ["state"], ["sm"], axes=[0], keepdims=0),
        helper.make_node("Add", ["xr", "sm"], ["y"]),
        helper.make_node("Add", ["state", "one"], ["new_state"]),
        helper.make_node("Cast", ["mask"], ["kept"], to=onnx.TensorProto.INT64),
    ]
    g = helper.make_graph(nodes, "stateful", [x, rate, state, mask], [y, new_state, kept], initializer=[one])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), path)


class Generated(mdktest.TestCase):
    @classmethod
    def setUpClass(cls):
        import tempfile
        cls._dir = tempfile.TemporaryDirectory(prefix="mdk-generated-")
        d = cls.root = cls._dir.name
        stateful_model(os.path.join(d, "m.onnx"))
        rng = np.random.default_rng(7)
        cases = {}
        for c, n in (("first", 2), ("second", 1), ("third", 3)):
            cases[f"{c}/x"] = rng.standard_normal((n, 4)).astype(np.float32)
            cases[f"{c}/rate"] = np.array(n + 1, np.int64)
            cases[f"{c}/state"] = rng.standard_normal((2, n, 4)).astype(np.float32)
            cases[f"{c}/mask"] = rng.random(n) > 0.5
        np.savez(os.path.join(d, "in.npz"), **cases)
        cls.cases = cases
        with open(os.path.join(d, "mdk.yaml"), "w") as f:
            f.write("name: stateful\nversion: 1.2.0\nmodel: m.onnx\ntest_cases: {inputs: in.npz}\n")
        rc, out, err = run("pack", os.path.join(d, "mdk.yaml"), "-o", os.path.join(d, "out"), "--archive")
        if rc != 0:
            raise AssertionError(err)
        cls.b = os.path.join(d, "out", "stateful-1.2.0")

    @classmethod
    def tearDownClass(cls):
        cls._dir.cleanup()

    def expected(self, case):
        c = {k.split("/")[1]: v for k, v in self.cases.items() if k.startswith(case + "/")}
        return {"y": c["x"] * c["rate"] + c["state"].mean(axis=0), "new_state": c["state"] + 1,
                "kept": c["mask"].astype(np.int64)}

    def test_cases_json_and_model_card(self):
        with open(os.path.join(self.b, "test_cases", "cases.json")) as f:
            cj = json.load(f)
        self.assertEqual([c["name"] for c in cj["cases"]], ["first", "second", "third"])
        self.assertEqual(cj["cases"][0]["inputs"], ["x", "rate", "state", "mask"])
        self.assertEqual(cj["cases"][0]["outputs"], ["y", "new_state", "kept"])
        with open(os.path.join(self.b, "docs", "README.md")) as f:
            card = f.read()
        self.assertIn("3 cases (0 from images)", card)
        for i, name in enumerate(["x", "rate", "state", "mask"]):
            self.assertIn(f"--input {name}=stateful-1.2.0/examples/inputs/{i + 1}-{name}.npy", card)
        self.assertNotIn("JPEG", card)  # no image troubleshooting for a model without images
        # the quick start's command, run as written from the bundle's parent folder
        line = [l for l in card.splitlines() if l.startswith("mdk run stateful-1.2.0/ --input")][0]
        args = line.split()[2:]
        args[args.index("out/")] = self.path("out")
        p = subprocess.run([mdktest.MDK, "run", *args], cwd=os.path.dirname(self.b), capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        for name, want in self.expected("first").items():
            np.testing.assert_allclose(np.load(os.path.join(self.path("out"), name + ".npy")), want, rtol=1e-5, atol=1e-6)

    def test_spec_served_before_packing(self):
        with Server(os.path.join(self.root, "mdk.yaml")) as s:
            with open(os.path.join(self.b, "examples", "request.json")) as f:
                req = json.load(f)
            r = requests.post(f"{s.url}/v2/models/stateful/infer", json=req, timeout=30)
            self.assertEqual(r.status_code, 200, r.text)
            self.assertEqual(requests.get(f"{s.url}/v2/models/stateful", timeout=30).json()["versions"], ["1.2.0"])
            self.check_v2_answer(r.json(), "first")

    def test_canonical_spec_packs_again(self):
        rc, out, err = run("pack", os.path.join(self.b, "mdk.yaml"), "-o", self.path("again"), "--archive")
        self.assertEqual(rc, 0, err)
        with open(self.b + ".mdk", "rb") as a, open(out.split()[1], "rb") as b:
            self.assertEqual(a.read(), b.read())

    def test_python_test_and_example(self):
        env = mdktest.sanitizer_env(dict(os.environ, PYTHONPATH=os.path.join(ROOT, "bindings", "python"), MDK_LIBRARY=LIB))
        p = subprocess.run(["/usr/bin/python3", os.path.join(self.b, "test_cases", "test.py")], capture_output=True,
                           text=True, env=env)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("3 passed, 0 failed", p.stdout)
        p = subprocess.run(["/usr/bin/python3", os.path.join(self.b, "examples", "python", "predict.py"), self.b],
                           capture_output=True, text=True, env=env)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("y float32 (2, 4)", p.stdout)
        self.assertIn("new_state float32 (2, 2, 4)", p.stdout)

    def test_probes_and_acceptance(self):
        """The batch is the named dim N wherever it sits (x[N, 4], state[2, N, 4], mask[N]); probes start from the
        first test case, so a valid stateful model passes every probe, and the receiver accepts the archive."""
        rc, out, err = run("check", self.b, "--json")
        self.assertEqual(rc, 0, out + err)
        probes = {p["probe"]: p for p in json.loads(out)["probes"]}
        self.assertEqual(probes["valid input"]["verdict"], "pass")
        self.assertEqual(probes["batch of 4 = 4 singles"]["outcome"], "agrees")
        self.assertEqual(probes["batch at max_batch (64)"]["verdict"], "pass")
        self.assertNotIn("state dim 1 (dynamic) at 1", probes)  # the batch, not an independent dim
        rc, out, err = run("accept", self.b + ".mdk", "--duration", "0.5", "--report", self.path("acc"))
        self.assertEqual(rc, 0, out + err)
        self.assertIn("accepted", out)

    def test_bench_batch_is_the_named_dim(self):
        """--batch sets N on x, state (at position 1) and mask alike; the bundle's first case fills it; a --dim
        for N conflicts; given inputs set the batch the report states."""
        rc, out, err = run("bench", self.b, "--batch", "1,3", "--runs", "20", "--warmup", "2", "--json", self.path("b.json"))
        self.assertEqual(rc, 0, err)
        with open(self.path("b.json")) as f:
            configs = json.load(f)["configs"]
        self.assertEqual([c["batch"] for c in configs], [1, 3])
        rc, out, err = run("bench", os.path.join(self.root, "m.onnx"), "--batch", "4", "--runs", "10", "--warmup", "1")
        self.assertEqual(rc, 0, err)
        self.assertIn("batch 4, threads 1, conc 1", out)
        self.assertFails(["bench", os.path.join(self.root, "m.onnx"), "--dim", "N=4"],
                         ["--dim N=4 sets the batch, which is dim 'N' of the inputs: use --batch"], code=2)
        c = {k.split("/")[1]: v for k, v in self.cases.items() if k.startswith("third/")}  # a batch of 3
        args = []
        for name, value in c.items():
            np.save(self.path(name + ".npy"), value)
            args += ["--input", f"{name}={self.path(name + '.npy')}"]
        rc, out, err = run("bench", self.b, *args, "--runs", "10", "--warmup", "1", "--json", self.path("c.json"))
        self.assertEqual(rc, 0, err)
        with open(self.path("c.json")) as f:
            self.assertEqual(json.load(f)["configs"][0]["batch"], 3)

    def check_v2_answer(self, body, case):
        out = {o["name"]: np.array(o["data"]).reshape(o["shape"]) for o in body["outputs"]}
        for name, want in self.expected(case).items():
            np.testing.assert_allclose(out[name], want, rtol=1e-5, atol=1e-6)

    def test_served_with_request_json_curl_and_openapi_example(self):
        with Server(self.b + ".mdk") as s:
            with open(os.path.join(self.b, "examples", "request.json")) as f:
                req = json.load(f)
            r = requests.post(f"{s.url}/v2/models/stateful/infer", json=req, timeout=30)
            self.assertEqual(r.status_code, 200, r.text)
            self.check_v2_answer(r.json(), "first")
            p = subprocess.run(["sh", os.path.join(self.b, "examples", "curl.sh")], capture_output=True, text=True,
                               env=dict(os.environ, MDK_URL=s.url), timeout=60)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.check_v2_answer(json.loads(p.stdout.strip().splitlines()[-1]), "first")
            with open(os.path.join(self.b, "docs", "openapi.json")) as f:
                api = json.load(f)
            example = api["paths"]["/v2/models/stateful/infer"]["post"]["requestBody"]["content"]["application/json"]["example"]
            r = requests.post(f"{s.url}/v2/models/stateful/infer", json=example, timeout=30)
            self.assertEqual(r.status_code, 200, r.text)
            self.check_v2_answer(r.json(), "first")


if __name__ == "__main__":
    mdktest.main()
