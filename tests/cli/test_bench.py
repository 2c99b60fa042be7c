"""mdk bench: every configuration of batch x threads x concurrency measured, percentiles ordered, reports
written as JSON (with the Markdown table mdk pack embeds), Markdown and well-formed SVG, bad options refused."""
import json
import os
import sys
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))
import mdktest  # noqa: E402
from mdktest import node_model, run  # noqa: E402


class Bench(mdktest.TestCase):
    def test_configurations_and_reports(self):
        model = os.path.join(mdktest.MODELS, "torchvision", "mobilenet_v2.onnx")
        rc, out, err = run("bench", model, "--batch", "1,2", "--threads", "1,2", "--concurrency", "1,2", "--runs", "12",
                           "--warmup", "2", "--json", self.path("b.json"), "--report", self.path("rep"))
        self.assertEqual(rc, 0, err)
        with open(self.path("b.json")) as f:
            r = json.load(f)
        env = r["environment"]
        self.assertEqual((env["mdk"], env["onnxruntime"]), ("0.1.0", "1.30.0"))
        self.assertGreater(env["logical_cores"], 0)
        self.assertTrue(env["cpu"])
        configs = r["configs"]
        self.assertEqual(len(configs), 8)
        self.assertEqual({(c["batch"], c["threads"], c["concurrency"]) for c in configs},
                         {(b, t, c) for b in (1, 2) for t in (1, 2) for c in (1, 2)})
        for c in configs:
            lat = c["latency_ms"]
            self.assertEqual(c["requests"], 12)
            self.assertTrue(0 < lat["min"] <= lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["p99.9"] <= lat["max"], lat)
            self.assertTrue(lat["min"] <= lat["mean"] <= lat["max"])
            self.assertGreater(c["throughput"], 0)
            self.assertGreater(c["load_ms"], 0)
            self.assertGreater(c["peak_rss_mb"], 10)
            self.assertGreaterEqual(c["cpu_percent"], 0)
        self.assertIn("| 2 | 2 | 2 |", r["markdown"])
        self.assertEqual(len(out.strip().splitlines()), 9)
        for f in ("bench.json", "bench.md", "latency.svg", "concurrency.svg"):
            self.assertTrue(os.path.exists(os.path.join(self.path("rep"), f)), f)
        for f in ("latency.svg", "concurrency.svg"):
            root = ET.parse(os.path.join(self.path("rep"), f)).getroot()
            self.assertTrue(root.tag.endswith("svg"))

    def test_duration_and_dims(self):
        p = os.path.join(mdktest.MODELS, "ocr", "ch_ppocr_mobile_v2.0_cls_infer.onnx")
        rc, out, err = run("bench", p, "--duration", "0.5", "--warmup", "1", "--dim", "p2o.DynamicDimension.1=48",
                           "--dim", "x:3=192", "--json", self.path("d.json"))
        self.assertEqual(rc, 0, err)
        with open(self.path("d.json")) as f:
            c = json.load(f)["configs"][0]
        self.assertGreater(c["requests"], 1)

    def test_bad_options(self):
        add = node_model("test_add")
        self.assertFails(["bench"], ["missing MODEL"], code=2)
        self.assertFails(["bench", add, "--batch", "0"], ["--batch"], code=2)
        self.assertFails(["bench", add, "--threads", "a,b"], ["--threads"], code=2)
        self.assertFails(["bench", add, "--duration", "-1"], ["--duration"], code=2)
        self.assertFails(["bench", add, "--image", "x.jpg"], ["--image needs a bundle"], code=2)
        self.assertFails(["bench", self.path("none.onnx")], ["none.onnx"])
        ocr = os.path.join(mdktest.MODELS, "ocr", "ch_ppocr_mobile_v2.0_cls_infer.onnx")
        self.assertFails(["bench", ocr, "--runs", "2"], ["--dim p2o.DynamicDimension.1="])


if __name__ == "__main__":
    mdktest.main()
