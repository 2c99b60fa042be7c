"""mdk check: boundary probes on real models with the expected verdicts; a model that mixes the items of a
batch and a model that never finishes are caught (fail, exit 1) without ending the check; options checked."""
import json
import os
import sys

import onnx
from onnx import TensorProto, helper

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))
import mdktest  # noqa: E402
from mdktest import run  # noqa: E402


def probes(out):
    return {p["probe"]: p for p in json.loads(out)["probes"]}


class Check(mdktest.TestCase):
    def test_mobilenet(self):
        model = os.path.join(mdktest.MODELS, "torchvision", "mobilenet_v2.onnx")
        rc, out, err = run("check", model, "--json", "--max-batch", "8")
        self.assertEqual(rc, 0, err)
        p = probes(out)
        self.assertEqual(p["valid input"]["verdict"], "pass")
        self.assertIn("[1, 1000]", p["valid input"]["detail"])
        self.assertIn("got rank 1 [0]", p["empty tensor"]["detail"])
        self.assertEqual(p["batch 0"]["verdict"], "pass")
        self.assertEqual(p["batch of 4 = 4 singles"]["outcome"], "agrees")
        for axis, size in ((1, 3), (2, 224), (3, 224)):
            d = p[f"input dim {axis} at {size}+1"]
            self.assertEqual((d["verdict"], d["outcome"]), ("pass", "refused"))
            self.assertIn(f"dim {axis} must be {size}", d["detail"])
        self.assertEqual(p["batch at max_batch (8)"]["outcome"], "ran")
        huge = [v for k, v in p.items() if k.startswith("huge batch")][0]
        self.assertEqual(huge["verdict"], "pass")
        self.assertIn("exceeds the limit of 8 (max_batch)", huge["detail"])
        self.assertIn("expected dtype float32, got int64", p["wrong dtype (int64)"]["detail"])
        self.assertIn("unknown input 'no_such_input'", p["wrong input name"]["detail"])
        self.assertIn("'input' is missing", p["no input at all"]["detail"])
        # NaN propagates through a CNN: reported, not a failure
        self.assertEqual(p["NaN input"]["verdict"], "warn")
        doc = json.loads(out)
        self.assertEqual(doc["failed"], 0)
        self.assertEqual(doc["max_batch"], 8)

    def test_text_table(self):
        model = os.path.join(mdktest.MODELS, "ocr", "ch_ppocr_mobile_v2.0_cls_infer.onnx")
        rc, out, err = run("check", model)
        self.assertEqual(rc, 0, err)
        lines = out.strip().splitlines()
        self.assertTrue(lines[1].startswith("PROBE"))
        self.assertRegex(lines[-1], r"^\d+ probes: \d+ passed, 2 warnings, 0 failed$")
        self.assertRegex(out, r"x dim 2 \(dynamic\) at 1 +runs or refused, no crash +pass")

    def test_batch_mixing_model_fails(self):
        # y = x - mean(x over the batch): each item's result depends on the others
        g = helper.make_graph(
            [helper.make_node("ReduceMean", ["x"], ["m"], axes=[0], keepdims=1), helper.make_node("Sub", ["x", "m"], ["y"])],
            "mix", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 8])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 8])])
        path = self.path("mix.onnx")
        onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), path)
        rc, out, err = run("check", path, "--json")
        self.assertEqual(rc, 1, err)
        b = probes(out)["batch of 4 = 4 singles"]
        self.assertEqual((b["verdict"], b["outcome"]), ("fail", "differs"))
        self.assertIn("max abs error", b["detail"])

    def test_hang_is_killed(self):
        # a Loop whose trip count comes from the input: the probe with 1e12 iterations does not end
        body = helper.make_graph(
            [helper.make_node("Identity", ["c_in"], ["c_out"]), helper.make_node("Add", ["v_in", "v_in"], ["v_out"])],
            "body", [helper.make_tensor_value_info("i", TensorProto.INT64, []),
                     helper.make_tensor_value_info("c_in", TensorProto.BOOL, []),
                     helper.make_tensor_value_info("v_in", TensorProto.FLOAT, [1])],
            [helper.make_tensor_value_info("c_out", TensorProto.BOOL, []),
             helper.make_tensor_value_info("v_out", TensorProto.FLOAT, [1])])
        g = helper.make_graph(
            [helper.make_node("Constant", [], ["cond"], value=helper.make_tensor("c", TensorProto.BOOL, [], [True])),
             helper.make_node("Constant", [], ["v0"], value=helper.make_tensor("v", TensorProto.FLOAT, [1], [1.0])),
             helper.make_node("ReduceMax", ["n"], ["m"], keepdims=0),
             helper.make_node("Abs", ["m"], ["am"]),
             helper.make_node("Add", ["am", "big"], ["trips"]),
             helper.make_node("Loop", ["trips", "cond", "v0"], ["y"], body=body)],
            "hang", [helper.make_tensor_value_info("n", TensorProto.INT64, [1])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
            [helper.make_tensor("big", TensorProto.INT64, [], [10**12])])
        path = self.path("hang.onnx")
        onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), path)
        rc, out, err = run("check", path, "--json", "--timeout", "2")
        self.assertEqual(rc, 1, err)
        v = probes(out)["valid input"]
        self.assertEqual((v["verdict"], v["outcome"]), ("fail", "timeout"))
        self.assertIn("no outcome within 2 s", v["detail"])
        self.assertEqual(probes(out)["wrong input name"]["verdict"], "pass")  # the check went on

    def test_bad_options(self):
        model = os.path.join(mdktest.MODELS, "torchvision", "mobilenet_v2.onnx")
        self.assertFails(["check"], ["missing MODEL"], code=2)
        self.assertFails(["check", model, "--max-batch", "0"], ["--max-batch"], code=2)
        self.assertFails(["check", model, "--timeout", "-1"], ["--timeout"], code=2)
        self.assertFails(["check", self.path("none.onnx")], ["none.onnx"])


if __name__ == "__main__":
    mdktest.main()
