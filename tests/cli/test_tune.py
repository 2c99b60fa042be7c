"""mdk tune: the staged search measures distinct configurations, ranks them by the objective (P99 limit
respected), and writes the winner into a spec's runtime block, keeping the rest of the file; bad options
and specs refused."""
import json
import os
import shutil
import sys

import cv2
from skimage import data as skdata

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))
import mdktest  # noqa: E402
from mdktest import run  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")

MODEL = os.path.join(mdktest.MODELS, "torchvision", "mobilenet_v2.onnx")
KEYS = ("graph_optimization_level", "execution_mode", "intra_op_threads", "inter_op_threads", "batch", "concurrency")


class Tune(mdktest.TestCase):
    def test_throughput(self):
        rc, out, err = run("tune", MODEL, "--objective", "throughput", "--budget", "0.2", "--batch", "1,2",
                           "--concurrency", "1,2", "--json", self.path("t.json"))
        self.assertEqual(rc, 0, err)
        with open(self.path("t.json")) as f:
            r = json.load(f)
        configs = r["configs"]
        seen = {tuple(c[k] for k in KEYS) for c in configs}
        self.assertEqual(len(seen), len(configs))  # nothing measured twice
        self.assertEqual({c["graph_optimization_level"] for c in configs}, {"basic", "extended", "all"})
        self.assertEqual({c["execution_mode"] for c in configs}, {"sequential", "parallel"})
        self.assertIn(2, {c["batch"] for c in configs})
        self.assertIn(2, {c["concurrency"] for c in configs})
        self.assertEqual(r["best"]["throughput"], max(c["throughput"] for c in configs))
        self.assertEqual([c["throughput"] for c in configs], sorted((c["throughput"] for c in configs), reverse=True))
        for c in configs:
            self.assertGreater(c["requests"], 0)
            self.assertLessEqual(c["p50_ms"], c["p99_ms"])
        self.assertIn("best: graph_optimization_level", out)
        self.assertEqual(len(out.strip().splitlines()), len(configs) + 3)

    def test_latency_with_p99_limit(self):
        rc, out, err = run("tune", MODEL, "--objective", "latency", "--budget", "0.2", "--p99-ms", "100000",
                           "--json", self.path("l.json"))
        self.assertEqual(rc, 0, err)
        with open(self.path("l.json")) as f:
            r = json.load(f)
        self.assertEqual(r["best"]["p50_ms"], min(c["p50_ms"] for c in r["configs"]))
        self.assertEqual({(c["batch"], c["concurrency"]) for c in r["configs"]}, {(1, 1)})
        # an impossible limit: reported, and the ranking puts configurations within it first (none here)
        rc, out, err = run("tune", MODEL, "--objective", "latency", "--budget", "0.1", "--p99-ms", "0.001",
                           "--max-threads", "1")
        self.assertEqual(rc, 0, err)
        self.assertIn("no configuration meets --p99-ms 0.001", err)
        self.assertIn("(P99 over the limit)", out)

    def test_writes_spec(self):
        d = self.path("spec")
        os.makedirs(d)
        shutil.copy(MODEL, os.path.join(d, "model.onnx"))
        spec = os.path.join(d, "mdk.yaml")
        with open(os.path.join(ROOT, "docs", "examples", "imagenet-classification", "mdk.yaml")) as f:
            text = f.read().replace("labels: labels.txt\n", "")
        text = text.replace("postprocess:", "runtime:\n  # measured on the build machine\n  threads: 7\n"
                            "  providers: [cpu]\n  batch: 3\nlimits:\n  max_batch: 16\npostprocess:")
        with open(spec, "w") as f:
            f.write(text)
        rc, out, err = run("tune", spec, "--objective", "throughput", "--budget", "0.1", "--batch", "1,2",
                           "--concurrency", "1", "--max-threads", "1", "--spec", spec, "--json", self.path("s.json"))
        self.assertEqual(rc, 0, err)
        with open(self.path("s.json")) as f:
            best = json.load(f)["best"]
        with open(spec) as f:
            new = f.read()
        block = new[new.index("runtime:"):new.index("limits:")]
        self.assertIn(f"  threads: {best['intra_op_threads']}\n", block)
        self.assertIn(f"  batch: {best['batch']}\n", block)
        self.assertIn(f"  execution_mode: {best['execution_mode']}\n", block)
        self.assertIn(f"  graph_optimization_level: {best['graph_optimization_level']}\n", block)
        self.assertIn("  providers: [cpu]\n", block)
        self.assertIn("# measured on the build machine", block)
        self.assertNotIn("threads: 7", new)
        self.assertNotIn("batch: 3", new)
        self.assertTrue(new.startswith("# Image classification"))
        self.assertIn("max_batch: 16", new)
        self.assertEqual(sorted(os.listdir(d)), ["mdk.yaml", "model.onnx"])  # no temporary file left
        # the spec still loads, now with those defaults
        cv2.imwrite(self.path("cat.jpg"), cv2.cvtColor(skdata.chelsea(), cv2.COLOR_RGB2BGR))
        rc, out, err = run("run", spec, "--image", self.path("cat.jpg"))
        self.assertEqual(rc, 0, err)

    def test_refusals(self):
        self.assertFails(["tune", MODEL], ["--objective"], code=2)
        self.assertFails(["tune", MODEL, "--objective", "speed"], ["--objective"], code=2)
        self.assertFails(["tune", MODEL, "--objective", "latency", "--p99-ms", "0"], ["--p99-ms"], code=2)
        self.assertFails(["tune", "--objective", "latency"], ["missing MODEL"], code=2)
        inline = self.path("inline.yaml")
        with open(inline, "w") as f:
            f.write(f"name: m\nversion: 1.0.0\nmodel: {MODEL}\nruntime: {{threads: 2}}\n")
        self.assertFails(["tune", MODEL, "--objective", "latency", "--budget", "0.05", "--max-threads", "1",
                          "--spec", inline], ["written inline"])
        with open(inline) as f:
            self.assertIn("runtime: {threads: 2}", f.read())
        bad = self.path("bad.yaml")
        with open(bad, "w") as f:
            f.write("name: m\nversion: one\n")
        self.assertFails(["tune", MODEL, "--objective", "latency", "--spec", bad], ["version"])


if __name__ == "__main__":
    mdktest.main()
