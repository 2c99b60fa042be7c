"""The mdk verbs doing their job: --version/--help, inspect checked against ONNX's own Python reading of
the graph, run's outputs and file naming, and verify on both case layouts."""
import collections
import json
import os
import re
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))
import mdktest  # noqa: E402
from mdktest import node_model, run  # noqa: E402

ADD = node_model("test_add")


def onnx_facts(path):
    """What inspect must report, computed with the onnx package."""
    m = onnx.load(path)
    ops = collections.Counter()
    params = 0

    def walk(g):
        nonlocal params
        for init in g.initializer:
            params += int(np.prod(init.dims)) if init.dims else 1
        for n in g.node:
            ops[n.op_type] += 1
            for a in n.attribute:
                if n.op_type == "Constant" and a.type == onnx.AttributeProto.TENSOR:
                    params += int(np.prod(a.t.dims)) if a.t.dims else 1
                if a.type == onnx.AttributeProto.GRAPH:
                    walk(a.g)
                for sg in a.graphs:
                    walk(sg)
    walk(m.graph)
    inits = {i.name for i in m.graph.initializer}
    inputs = [i for i in m.graph.input if i.name not in inits]

    def shape(v):
        return [d.dim_value if d.HasField("dim_value") else (d.dim_param or None)
                for d in v.type.tensor_type.shape.dim]
    return {
        "inputs": [(i.name, shape(i)) for i in inputs],
        "outputs": [(o.name, shape(o)) for o in m.graph.output],
        "ops": dict(ops),
        "params": params,
        "opsets": {(o.domain, o.version) for o in m.opset_import},
        "ir": m.ir_version,
        "producer": m.producer_name,
        "meta": {p.key: p.value for p in m.metadata_props},
    }


class Commands(mdktest.TestCase):
    def test_version(self):
        rc, out, err = run("--version")
        self.assertEqual(rc, 0, err)
        self.assertRegex(out, r"^mdk \d+\.\d+\.\d+\nONNX Runtime 1\.30\.0\n$")

    def test_help_for_every_verb(self):
        rc, out, _ = run("--help")
        self.assertEqual(rc, 0)
        verbs = re.findall(r"^  (\w+) ", out, re.M)
        self.assertEqual(set(verbs), {"inspect", "run", "verify", "preprocess", "pack", "diff", "bench", "check", "tune", "accept",
                                      "serve"})
        for verb in verbs:
            rc, vout, err = run(verb, "--help")
            self.assertEqual(rc, 0, err)
            self.assertTrue(vout.startswith(f"usage: mdk {verb}"))

    def inspect_matches(self, path):
        rc, out, err = run("inspect", path, "--json")
        self.assertEqual(rc, 0, err)
        got = json.loads(out)
        want = onnx_facts(path)
        self.assertEqual([(i["name"], i["shape"]) for i in got["inputs"]], want["inputs"])
        self.assertEqual([(o["name"], o["shape"]) for o in got["outputs"]], want["outputs"])
        self.assertEqual({o["op_type"]: o["count"] for o in got["operators"]}, want["ops"])
        self.assertEqual(got["parameters"], want["params"])
        self.assertEqual({(o["domain"], o["version"]) for o in got["opset_imports"]}, want["opsets"])
        self.assertEqual(got["ir_version"], want["ir"])
        self.assertEqual(got["producer_name"], want["producer"])
        self.assertEqual(got["metadata_props"], want["meta"])
        counts = [o["count"] for o in got["operators"]]
        self.assertEqual(counts, sorted(counts, reverse=True))
        rc, text, err = run("inspect", path)
        self.assertEqual(rc, 0, err)
        for name, _ in want["inputs"]:
            self.assertIn(name, text)
        return got

    def test_inspect_node_models(self):
        for name in ("test_add", "test_loop11", "test_if", "test_cast_FLOAT_to_STRING"):
            with self.subTest(model=name):
                self.inspect_matches(node_model(name))

    def test_inspect_real_models(self):
        paths = [os.path.join(mdktest.MODELS, "ocr", f) for f in
                 ("ch_PP-OCRv4_det_infer.onnx", "ch_PP-OCRv4_rec_infer.onnx", "ch_ppocr_mobile_v2.0_cls_infer.onnx")]
        paths += [os.path.join(mdktest.MODELS, "torchvision", a + ".onnx") for a in ("resnet18", "mobilenet_v2")]
        mdktest.require("models", all(map(os.path.exists, paths)))
        for p in paths:
            with self.subTest(model=os.path.basename(p)):
                got = self.inspect_matches(p)
                self.assertGreater(got["parameters"], 100000)

    def test_inspect_metadata_and_symbolic_dims(self):
        x = helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["batch", 3])
        y = helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["batch", 3])
        w = numpy_helper.from_array(np.ones((3,), np.float32), "w")
        g = helper.make_graph([helper.make_node("Mul", ["x", "w"], ["y"])], "g", [x], [y], [w])
        m = helper.make_model(g, producer_name="mdk-test", opset_imports=[helper.make_opsetid("", 13)])
        helper.set_model_props(m, {"author": "mdk", "task": "demo"})
        p = self.path("meta.onnx")
        onnx.save(m, p)
        got = self.inspect_matches(p)
        self.assertEqual(got["inputs"][0]["shape"], ["batch", 3])
        self.assertEqual(got["parameter_bytes"], 12)

    def test_run_writes_named_outputs(self):
        x = helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [2])
        outs = [helper.make_tensor_value_info(n, onnx.TensorProto.FLOAT, [2]) for n in ("out/put:0", "..", "ok-1.b")]
        nodes = [helper.make_node("Identity", ["x"], [o.name]) for o in outs]
        m = helper.make_model(helper.make_graph(nodes, "g", [x], outs), opset_imports=[helper.make_opsetid("", 13)])
        p = self.path("names.onnx")
        onnx.save(m, p)
        inp = self.path("x.json")
        with open(inp, "w") as f:
            f.write("[1.5, -2]")
        out = self.path("out")
        rc, text, err = run("run", p, "--input", f"x={inp}", "--output-dir", out)
        self.assertEqual(rc, 0, err)
        self.assertEqual(sorted(os.listdir(out)), sorted(["out_put_0.npy", "...npy", "ok-1.b.npy"]))
        for f in os.listdir(out):
            np.testing.assert_array_equal(np.load(os.path.join(out, f)), [1.5, -2])

    def test_run_summary_json_and_random(self):
        a = np.arange(60, dtype=np.float32).reshape(3, 4, 5)
        np.save(self.path("a.npy"), a)
        rc, out, err = run("run", ADD, "--input", f"x={self.path('a.npy')}", "--input", f"y={self.path('a.npy')}")
        self.assertEqual(rc, 0, err)
        self.assertIn("sum: float32 [3, 4, 5]", out)
        self.assertIn("min 0  max 118  mean 59", out)
        rc, out, err = run("run", ADD, "--input", f"x={self.path('a.npy')}", "--input", f"y={self.path('a.npy')}", "--json")
        self.assertEqual(rc, 0, err)
        doc = json.loads(out)
        self.assertEqual(doc[0]["name"], "sum")
        self.assertEqual(doc[0]["datatype"], "FP32")
        np.testing.assert_array_equal(np.array(doc[0]["data"]).reshape(3, 4, 5), a * 2)
        # random inputs are reproducible for a seed and differ across seeds
        r1 = run("run", ADD, "--input", "x=random", "--input", "y=random", "--seed", "5", "--json")[1]
        r2 = run("run", ADD, "--input", "x=random", "--input", "y=random", "--seed", "5", "--json")[1]
        r3 = run("run", ADD, "--input", "x=random", "--input", "y=random", "--seed", "6", "--json")[1]
        self.assertEqual(r1, r2)
        self.assertNotEqual(r1, r3)
        vals = np.array(json.loads(r1)[0]["data"])
        self.assertTrue(((vals >= 0) & (vals < 2)).all())

    def test_run_random_with_dims(self):
        p = os.path.join(mdktest.MODELS, "ocr", "ch_ppocr_mobile_v2.0_cls_infer.onnx")
        mdktest.require("models", os.path.exists(p))
        rc, out, err = run("run", p, "--input", "x=random", "--dim", "p2o.DynamicDimension.0=2",
                           "--dim", "p2o.DynamicDimension.1=48", "--dim", "x:3=192", "--json")
        self.assertEqual(rc, 0, err)
        doc = json.loads(out)[0]
        self.assertEqual(doc["shape"], [2, 2])
        probs = np.array(doc["data"]).reshape(2, 2)
        np.testing.assert_allclose(probs.sum(1), 1, rtol=1e-5)

    def test_every_form_of_a_model(self):
        """inspect and run take a bare model, a spec, a bundle directory and a .mdk archive alike, with the same
        outputs (checked against NumPy) and the same interface."""
        d = self.path("forms")
        os.makedirs(d)
        x = helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["N", 3])
        k = helper.make_tensor_value_info("k", onnx.TensorProto.INT64, [])
        y = helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["N", 3])
        nodes = [helper.make_node("Cast", ["k"], ["kf"], to=onnx.TensorProto.FLOAT), helper.make_node("Mul", ["x", "kf"], ["y"])]
        onnx.save(helper.make_model(helper.make_graph(nodes, "g", [x, k], [y]), opset_imports=[helper.make_opsetid("", 13)]),
                  os.path.join(d, "scale.onnx"))
        xs = np.array([[-1, 0.5, 2], [3, 4, -5]], np.float32)
        np.save(os.path.join(d, "x.npy"), xs)
        np.save(os.path.join(d, "k.npy"), np.array(3, np.int64))
        np.savez(os.path.join(d, "in.npz"), x=xs[:1], k=np.array(2, np.int64))
        with open(os.path.join(d, "mdk.yaml"), "w") as f:
            f.write("name: scale\nversion: 1.0.0\nmodel: scale.onnx\ntest_cases: {inputs: in.npz}\n")
        rc, _, err = run("pack", os.path.join(d, "mdk.yaml"), "-o", os.path.join(d, "out"), "--archive")
        self.assertEqual(rc, 0, err)
        forms = {"bare": "scale.onnx", "spec": "mdk.yaml", "bundle": "out/scale-1.0.0", "archive": "out/scale-1.0.0.mdk"}
        for form, rel in forms.items():
            with self.subTest(form=form):
                p = os.path.join(d, rel)
                rc, out, err = run("inspect", p, "--json")
                self.assertEqual(rc, 0, err)
                info = json.loads(out)
                self.assertEqual([(v["name"], v["dtype"]) for v in info["inputs"]], [("x", "float32"), ("k", "int64")])
                if form in ("bundle", "archive"):
                    self.assertEqual(info["bundle"]["name"], "scale")
                    self.assertTrue(info["bundle"]["digest"].startswith("sha256:"))
                out_dir = self.path("o-" + form)
                rc, _, err = run("run", p, "--input", "x=" + os.path.join(d, "x.npy"), "--input",
                                 "k=" + os.path.join(d, "k.npy"), "--output-dir", out_dir)
                self.assertEqual(rc, 0, err)
                np.testing.assert_array_equal(np.load(os.path.join(out_dir, "y.npy")), xs * 3)
                self.assertFails(["run", p], ["no inputs given", "(x, k)", "--input NAME=FILE"], code=2)
        self.assertFails(["run", os.path.join(d, "scale.onnx"), "--image", os.path.join(d, "x.npy")],
                         ["scale.onnx is a bare model", "images need a spec or bundle"])

    def relu_spec(self, name, extra="", dims=(1, 3)):
        """A folder with a Relu model (x and y of `dims`), one test case and an mdk.yaml (plus `extra` lines)."""
        d = self.path(name)
        os.makedirs(d)
        x = helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, list(dims))
        y = helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, list(dims))
        onnx.save(helper.make_model(helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g", [x], [y]),
                                    opset_imports=[helper.make_opsetid("", 13)]), os.path.join(d, "m.onnx"))
        np.savez(os.path.join(d, "in.npz"), x=np.array([[-1, 0, 2]], np.float32))
        with open(os.path.join(d, "mdk.yaml"), "w") as f:
            f.write("name: relu\nversion: 1.0.0\nmodel: m.onnx\ntest_cases: {inputs: in.npz}\n" + extra)
        return d

    def test_declared_shapes_must_say_what_the_model_does(self):
        d = self.relu_spec("fixed", "inputs: [{name: x, shape: [batch, 3]}]\n")  # the model's x is [1, 3]
        self.assertFails(["pack", os.path.join(d, "mdk.yaml"), "-o", self.path("o1")],
                         ["input 'x' dim 0 is declared as the named dim 'batch' but the model fixes it at 1"])
        d = self.relu_spec("dyn", "inputs: [{name: x, shape: [1, 3]}]\n", dims=["N", 3])
        self.assertFails(["pack", os.path.join(d, "mdk.yaml"), "-o", self.path("o2")],
                         ["input 'x' dim 0 is declared 1 but the model's is dynamic ('N')"])
        d = self.relu_spec("ok", "inputs: [{name: x, shape: [N, 3]}]\n", dims=["N", 3])
        rc, _, err = run("pack", os.path.join(d, "mdk.yaml"), "-o", self.path("o3"))
        self.assertEqual(rc, 0, err)

    def test_unknown_names_list_the_model_interface(self):
        d = self.relu_spec("names", "inputs: [{name: z, dtype: float32}]\n")
        self.assertFails(["pack", os.path.join(d, "mdk.yaml"), "-o", self.path("o")],
                         ["declared input 'z' is not an input of the model; its inputs are: x"])
        d = self.relu_spec("names2", "preprocess:\n  input: image\n  steps: [{resize: {width: 3, height: 1}}]\n")
        self.assertFails(["run", d, "--input", "x=random"], ["preprocess.input 'image' is not an input of the model; its inputs are: x"])

    def test_pack_respects_umask(self):
        """The bundle and its files get the modes any program's files get: 0777/0666 less the umask."""
        import stat
        import subprocess
        d = self.relu_spec("um")
        for mask, dmode, fmode in ((0o022, 0o755, 0o644), (0o077, 0o700, 0o600)):
            with self.subTest(umask=oct(mask)):
                out = os.path.join(d, f"out{mask:o}")
                p = subprocess.run([mdktest.MDK, "pack", os.path.join(d, "mdk.yaml"), "-o", out],
                                   capture_output=True, text=True, preexec_fn=lambda: os.umask(mask))
                self.assertEqual(p.returncode, 0, p.stderr)
                b = os.path.join(out, "relu-1.0.0")
                self.assertEqual(stat.S_IMODE(os.stat(b).st_mode), dmode)
                self.assertEqual(stat.S_IMODE(os.stat(os.path.join(b, "model")).st_mode), dmode)
                self.assertEqual(stat.S_IMODE(os.stat(os.path.join(b, "model", "model.onnx")).st_mode), fmode)

    def test_verify_onnx_layout(self):
        d = os.path.join(mdktest.ONNX_NODE, "test_add")
        rc, out, err = run("verify", ADD, "--cases", d)
        self.assertEqual(rc, 0, err)
        self.assertEqual(out.splitlines()[-1], "1 passed, 0 failed")
        rc, out, err = run("verify", ADD, "--cases", d, "--json")
        self.assertEqual(json.loads(out)["passed"], 1)

    def test_verify_npz_layout_and_failure(self):
        rng = np.random.default_rng(0)
        ins, exp = {}, {}
        for k in range(3):
            x, y = rng.standard_normal((2, 3, 4, 5)).astype(np.float32)
            ins[f"case{k}/x"], ins[f"case{k}/y"] = x, y
            exp[f"case{k}/sum"] = x + y
        exp["case2/sum"] = exp["case2/sum"].copy()
        exp["case2/sum"][1, 2, 3] += 0.5
        np.savez(self.path("inputs.npz"), **ins)
        np.savez_compressed(self.path("expected_outputs.npz"), **exp)
        rc, out, err = run("verify", ADD, "--cases", self.tmp)
        self.assertEqual(rc, 1, err)
        lines = out.splitlines()
        self.assertEqual(lines[0], "PASS case0")
        self.assertEqual(lines[1], "PASS case1")
        self.assertTrue(lines[2].startswith("FAIL case2: output 'sum': 1 of 60 elements out of tolerance"), lines[2])
        self.assertIn("worst at index 33", lines[2])
        self.assertEqual(lines[-1], "2 passed, 1 failed")
        rc, out, _ = run("verify", ADD, "--cases", self.tmp, "--atol", "0.6")
        self.assertEqual(rc, 0)

    def test_verify_single_npy_layout(self):
        p = node_model("test_relu")
        x = np.random.default_rng(1).standard_normal((3, 4, 5)).astype(np.float32)
        np.save(self.path("inputs.npy"), x)
        np.save(self.path("expected_outputs.npy"), np.maximum(x, 0))
        rc, out, err = run("verify", p, "--cases", self.tmp, "--rtol", "0", "--atol", "0")
        self.assertEqual(rc, 0, out + err)
        self.assertEqual(out.splitlines()[-1], "1 passed, 0 failed")


if __name__ == "__main__":
    mdktest.main()
