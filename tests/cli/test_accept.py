"""mdk accept, the receiver's one command: a sound bundle is accepted with its report (Markdown, JSON, SVG, the
bench report); a bundle slower than the performance it states, a tampered bundle and a bundle whose test cases
fail are refused with a non-zero exit, naming what failed."""
import json
import os
import sys

import numpy as np
import onnx
from onnx import helper

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))
import mdktest  # noqa: E402
from mdktest import run  # noqa: E402


class Accept(mdktest.TestCase):
    def bundle(self, name, extra=""):
        """A tensor bundle of a two-input model (a float batch and an int64 scalar): packed, its folder returned."""
        d = self.path(name)
        os.makedirs(d)
        x = helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["N", 4])
        k = helper.make_tensor_value_info("k", onnx.TensorProto.INT64, [])
        y = helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["N", 4])
        nodes = [helper.make_node("Cast", ["k"], ["kf"], to=onnx.TensorProto.FLOAT), helper.make_node("Mul", ["x", "kf"], ["y"])]
        onnx.save(helper.make_model(helper.make_graph(nodes, "g", [x, k], [y]), opset_imports=[helper.make_opsetid("", 13)]),
                  os.path.join(d, "m.onnx"))
        np.savez(os.path.join(d, "in.npz"), **{"a/x": np.arange(8, dtype=np.float32).reshape(2, 4), "a/k": np.array(3, np.int64),
                                                "b/x": np.ones((1, 4), np.float32), "b/k": np.array(-1, np.int64)})
        with open(os.path.join(d, "mdk.yaml"), "w") as f:
            f.write(f"name: {name}\nversion: 1.0.0\nmodel: m.onnx\ntest_cases: {{inputs: in.npz}}\n{extra}")
        rc, out, err = run("pack", os.path.join(d, "mdk.yaml"), "-o", os.path.join(d, "out"), "--archive")
        self.assertEqual(rc, 0, err)
        return os.path.join(d, "out", f"{name}-1.0.0")

    def test_accepted_with_report(self):
        b = self.bundle("good", "performance: {p99_ms: 1000, throughput: 1}\n")
        for form in (b, b + ".mdk"):
            with self.subTest(form=os.path.basename(form)):
                rep = self.path("report-" + os.path.basename(form))
                rc, out, err = run("accept", form, "--duration", "0.5", "--report", rep)
                self.assertEqual(rc, 0, out + err)
                self.assertIn("accepted", out)
                self.assertRegex(out, r"pass\s+integrity and test cases\s+every file matches manifest.json; 2 of 2 test cases pass")
                self.assertRegex(out, r"latency\s+P50 [0-9.e+-]+ ms, P99 [0-9.e+-]+ ms")
                with open(os.path.join(rep, "accept.json")) as f:
                    j = json.load(f)
                self.assertEqual(j["verdict"], "accepted")
                self.assertEqual([s["step"] for s in j["steps"]], ["integrity and test cases", "boundary probes", "latency"])
                self.assertTrue(j["digest"].startswith("sha256:"))
                for key in ("cpu", "logical_cores", "mdk", "onnxruntime", "os", "date"):
                    self.assertIn(key, j["environment"])
                lat = j["steps"][2]["report"]["configs"][0]["latency_ms"]
                self.assertLessEqual(lat["p50"], lat["p99"])
                with open(os.path.join(rep, "accept.md")) as f:
                    md = f.read()
                self.assertIn("**Verdict: accepted**", md)
                self.assertIn("| boundary probes |", md)
                with open(os.path.join(rep, "latency.svg")) as f:
                    svg = f.read()
                self.assertTrue(svg.startswith("<svg") and "stated P99 1e+03 ms" in svg)
                self.assertTrue(os.path.isfile(os.path.join(rep, "bench.json")))
        rc, out, _ = run("accept", b, "--duration", "0.5", "--report", self.path("r-json"), "--json")
        self.assertEqual(rc, 0)
        self.assertEqual(json.loads(out)["verdict"], "accepted")

    def test_refused(self):
        # slower than it says: a stated P99 no machine meets
        b = self.bundle("fast", "performance: {p99_ms: 0.000000001}\n")
        rc, out, err = run("accept", b, "--duration", "0.5", "--report", self.path("r1"))
        self.assertEqual(rc, 1, out + err)
        self.assertRegex(out, r"fail\s+latency\s+.*stated: P99 <= 1e-09 ms")
        self.assertIn("refused", out)
        with open(os.path.join(self.path("r1"), "accept.json")) as f:
            self.assertEqual(json.load(f)["verdict"], "refused")
        # a changed file: refused before anything runs, naming the file
        b = self.bundle("tampered")
        with open(os.path.join(b, "test_cases", "cases.json"), "a") as f:
            f.write(" ")
        self.assertFails(["accept", b, "--report", self.path("r2")], ["test_cases/cases.json", "was changed"])
        # not a bundle at all
        self.assertFails(["accept", os.path.join(self.path("tampered"), "m.onnx")], ["is not a bundle"])

    def test_help(self):
        rc, out, _ = run("accept", "--help")
        self.assertEqual(rc, 0)
        self.assertIn("usage: mdk accept BUNDLE", out)


if __name__ == "__main__":
    mdktest.main()
