"""Delivery bundles end to end: a classification bundle (torchvision mobilenet_v2 with the ImageNet recipe and
real photos) and PaddleOCR's text-direction bundle are packed and verified as directories and archives;
tampering is named, packing is reproducible, the generated C examples build and run against the fresh
library, the generated test.py runs with the Python binding, mdk diff tells compatible from breaking, and
hostile archives are refused."""
import io
import json
import os
import shutil
import subprocess
import sys

import cv2
import numpy as np
from skimage import data as skdata

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))
import hostile  # noqa: E402
import mdktest  # noqa: E402
from mdktest import run  # noqa: E402

ROOT = os.environ.get("MDK_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
LIB = os.environ.get("MDK_LIBRARY", os.path.join(ROOT, "build", "libmdk.so.0"))
PHOTOS = ["astronaut", "chelsea", "coffee", "rocket", "hubble_deep_field", "immunohistochemistry", "camera", "coins",
          "horse", "page", "text", "moon"]
TV = os.path.join(mdktest.MODELS, "torchvision")
SANITIZED = mdktest.SANITIZED
sanitizer_env = mdktest.sanitizer_env
OCR = os.path.join(mdktest.MODELS, "ocr")

CLASSIFIER = """name: mobilenet_v2
version: {version}
description: "An ImageNet-style classifier: torchvision mobilenet_v2 with seeded weights."
task: classification
owner: mdk tests
license: For testing mdk only.
model: model.onnx
inputs:
  - {{name: input, dtype: float32, shape: [batch, 3, 224, 224], description: "RGB, ImageNet-normalised"}}
outputs:
  - {{name: logits, dtype: float32, shape: [batch, 1000], description: class scores before softmax}}
labels: labels.txt
preprocess:
  steps:
    - resize: {{width: 224, height: 224, interpolation: bilinear}}
    - color: RGB
    - scale: 1/255
    - normalize: {{mean: {mean}, std: [0.229, 0.224, 0.225]}}
postprocess: {{type: classification, top_k: {top_k}}}
runtime: {{threads: 2, providers: [cpu]}}
limits: {{max_batch: 16, max_image_pixels: 40000000, max_request_bytes: 20000000}}
test_cases:
  images: [{images}]
  rtol: 1e-3
  atol: 1e-4
changelog:
  - {{version: {version}, date: 2026-11-25, changes: A delivery for the tests.}}
performance: {{p99_ms: 50}}
"""


def text_line(rotate=False, text="Model 2026"):
    img = np.full((64, 400, 3), 255, np.uint8)
    cv2.putText(img, text, (10, 48), cv2.FONT_HERSHEY_SIMPLEX, 1.6, (0, 0, 0), 3, cv2.LINE_AA)
    return cv2.rotate(img, cv2.ROTATE_180) if rotate else img


class Bundles(mdktest.TestCase):
    @classmethod
    def setUpClass(cls):
        mdktest.require("models", os.path.isdir(TV) and os.path.isdir(OCR))
        import tempfile
        cls._dir = tempfile.TemporaryDirectory(prefix="mdk-bundle-")
        cls.root = cls._dir.name
        src = os.path.join(cls.root, "src")
        os.makedirs(os.path.join(src, "images"))
        os.symlink(os.path.join(TV, "mobilenet_v2.onnx"), os.path.join(src, "model.onnx"))
        for n in PHOTOS:
            img = getattr(skdata, n)()
            img = img if img.dtype == np.uint8 else (img * 255).astype(np.uint8)
            cv2.imwrite(os.path.join(src, "images", n + ".jpg"), img if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
        with open(os.path.join(src, "labels.txt"), "w") as f:
            f.write("\n".join(f"class {i}" for i in range(1000)) + "\n")
        cls.write_spec("mdk.yaml", "1.0.0")
        # PaddleOCR's text-direction classifier, with the docs example's recipe and rendered text lines
        ocr = os.path.join(cls.root, "ocr")
        os.makedirs(os.path.join(ocr, "lines"))
        os.symlink(os.path.join(OCR, "ch_ppocr_mobile_v2.0_cls_infer.onnx"), os.path.join(ocr, "cls.onnx"))
        lines = []
        for i, word in enumerate(["Model 2026", "Delivery Kit", "HELLO", "ONNX 1.30", "text line", "42 units"]):
            for rot in (False, True):
                p = f"lines/{i}{'r' if rot else 'u'}.png"
                cv2.imwrite(os.path.join(ocr, p), text_line(rot, word))
                lines.append(p)
        with open(os.path.join(ROOT, "docs", "examples", "ocr-direction", "mdk.yaml")) as f:
            spec = f.read().replace("model: ch_ppocr_mobile_v2.0_cls_infer.onnx", "model: cls.onnx")
        with open(os.path.join(ocr, "mdk.yaml"), "w") as f:
            f.write(spec + f"task: classification\ntest_cases:\n  images: [{', '.join(lines)}]\n")
        cls.cls_dir = cls.pack("src/mdk.yaml", "--archive")[0]
        cls.ocr_dir = cls.pack("ocr/mdk.yaml", "--archive")[0]

    @classmethod
    def tearDownClass(cls):
        cls._dir.cleanup()

    @classmethod
    def write_spec(cls, name, version, mean="[0.485, 0.456, 0.406]", top_k=5):
        images = ", ".join(f"images/{n}.jpg" for n in PHOTOS)
        with open(os.path.join(cls.root, "src", name), "w") as f:
            f.write(CLASSIFIER.format(version=version, mean=mean, top_k=top_k, images=images))

    @classmethod
    def pack(cls, spec, *args, out="out"):
        rc, stdout, err = run("pack", os.path.join(cls.root, spec), "-o", os.path.join(cls.root, out), *args)
        if rc != 0:
            raise AssertionError(f"mdk pack {spec}: {err}")
        return stdout.split()

    def copy_bundle(self, src):
        dst = self.path(os.path.basename(src))
        shutil.copytree(src, dst)
        return dst

    def test_layout_and_manifest(self):
        want = ["mdk.yaml", "manifest.json", "labels.txt", "model/model.onnx", "test_cases/inputs.npz",
                "test_cases/expected_outputs.npz", "test_cases/cases.json", "test_cases/test.py", "docs/README.md",
                "docs/openapi.json", "examples/c/single.c", "examples/c/batch.c", "examples/c/threads.c",
                "examples/c/Makefile", "examples/c/CMakeLists.txt", "examples/python/predict.py", "examples/curl.sh",
                "deploy/Dockerfile", "deploy/kserve.yaml"]
        for f in want:
            self.assertTrue(os.path.isfile(os.path.join(self.cls_dir, f)), f)
        with open(os.path.join(self.cls_dir, "manifest.json")) as f:
            m = json.load(f)
        self.assertEqual((m["format"], m["format_version"], m["name"], m["version"]), ("mdk-bundle", 1, "mobilenet_v2", "1.0.0"))
        import hashlib
        listed = {e["path"]: e for e in m["files"]}
        for root, _, files in os.walk(self.cls_dir):
            for name in files:
                rel = os.path.relpath(os.path.join(root, name), self.cls_dir)
                if rel == "manifest.json":
                    continue
                with open(os.path.join(root, name), "rb") as fh:
                    blob = fh.read()
                self.assertEqual(listed[rel]["sha256"], hashlib.sha256(blob).hexdigest(), rel)
                self.assertEqual(listed[rel]["size"], len(blob), rel)
        self.assertEqual(len(listed), sum(len(f) for _, _, f in os.walk(self.cls_dir)) - 1)
        lines = "".join(f"{e['sha256']} {e['size']} {e['path']}\n" for e in sorted(m["files"], key=lambda e: e["path"]))
        self.assertEqual(m["digest"], "sha256:" + hashlib.sha256(lines.encode()).hexdigest())
        with np.load(os.path.join(self.cls_dir, "test_cases/inputs.npz")) as z:
            self.assertEqual(len(z.files), 12)
            self.assertEqual(z["case_01/input"].shape, (1, 3, 224, 224))
        with open(os.path.join(self.cls_dir, "docs/openapi.json")) as f:
            api = json.load(f)
        self.assertIn("/v2/models/mobilenet_v2/infer", api["paths"])
        self.assertIn("/v1/models/mobilenet_v2/predict", api["paths"])
        with open(os.path.join(self.cls_dir, "docs/README.md")) as f:
            card = f.read()
        for needle in ("## Interface", "| `input` | float32 | [batch, 3, 224, 224] | RGB, ImageNet-normalised |",
                       "resize to 224 x 224", "mean 0.485", "ONNX Runtime 1.30.0", "## Troubleshooting", "## Limits",
                       "at most 16 items per batch", "## Version notes and changelog", "P99 latency 50 ms", "12 cases"):
            self.assertIn(needle, card)

    def test_verify_directory_and_archive(self):
        for b in (self.cls_dir, self.cls_dir + ".mdk", self.ocr_dir, self.ocr_dir + ".mdk"):
            with self.subTest(bundle=os.path.basename(b)):
                rc, out, err = run("verify", b)
                self.assertEqual(rc, 0, out + err)
                self.assertIn("integrity: ", out)
                self.assertEqual(out.splitlines()[-1], "12 passed, 0 failed")

    def test_check_bundle(self):
        # image probes through the whole pipeline; the bundle's limits.max_batch (16) is the one enforced
        for b in (self.cls_dir + ".mdk", self.ocr_dir):
            with self.subTest(bundle=os.path.basename(b)):
                rc, out, err = run("check", b, "--json")
                self.assertEqual(rc, 0, out + err)
                p = {x["probe"]: x for x in json.loads(out)["probes"]}
                self.assertEqual(p["valid image"]["outcome"], "ran")
                for name in ("truncated image", "corrupt image", "zero-byte image", "huge image (60000x60000)",
                             "not an image (CSV)"):
                    self.assertEqual((p[name]["verdict"], p[name]["outcome"]), ("pass", "refused"), name)
                self.assertIn("pixel", p["huge image (60000x60000)"]["detail"])
                self.assertIn("empty", p["zero-byte image"]["detail"])
        rc, out, err = run("check", self.cls_dir, "--json")
        p = {x["probe"]: x for x in json.loads(out)["probes"]}
        self.assertEqual(p["batch at max_batch (16)"]["outcome"], "ran")
        self.assertIn("limit of 16 (max_batch)", [x for k, x in p.items() if k.startswith("huge batch")][0]["detail"])

    def test_ocr_bundle_reads_direction(self):
        with open(os.path.join(self.ocr_dir, "test_cases/cases.json")) as f:
            cases = json.load(f)["cases"]
        got = [c["result"]["results"][0]["top"][0]["label"] for c in cases]
        self.assertEqual(got, ["0", "180"] * 6)
        rc, out, err = run("run", self.ocr_dir + ".mdk", "--image", os.path.join(self.root, "ocr/lines/0r.png"))
        self.assertEqual(rc, 0, err)
        self.assertEqual(json.loads(out)["results"][0]["top"][0]["label"], "180")

    def test_tampering_is_named(self):
        b = self.copy_bundle(self.cls_dir)
        model = os.path.join(b, "model/model.onnx")
        with open(model, "r+b") as f:
            f.seek(1000)
            byte = f.read(1)
            f.seek(1000)
            f.write(bytes([byte[0] ^ 1]))
        self.assertFails(["verify", b], ["file 'model/model.onnx' was changed"])
        shutil.copy(os.path.join(self.cls_dir, "model/model.onnx"), model)
        os.remove(os.path.join(b, "docs/openapi.json"))
        self.assertFails(["verify", b], ["file 'docs/openapi.json' is missing"])
        shutil.copy(os.path.join(self.cls_dir, "docs/openapi.json"), os.path.join(b, "docs"))
        with open(os.path.join(b, "examples/extra.sh"), "w") as f:
            f.write("echo hi\n")
        self.assertFails(["verify", b], ["extra file 'examples/extra.sh'"])
        os.remove(os.path.join(b, "examples/extra.sh"))
        os.symlink("mdk.yaml", os.path.join(b, "link.yaml"))
        self.assertFails(["verify", b], ["'link.yaml' is a symbolic link"])
        os.remove(os.path.join(b, "link.yaml"))
        self.assertEqual(run("verify", b)[0], 0)
        arch = self.path("tampered.mdk")
        with open(self.cls_dir + ".mdk", "rb") as f:
            blob = bytearray(f.read())
        blob[len(blob) // 2] ^= 0xFF
        with open(arch, "wb") as f:
            f.write(blob)
        self.assertFails(["verify", arch], ["tampered.mdk"])

    def test_reproducible(self):
        dirs, archive = self.pack("src/mdk.yaml", "--archive", out="again")
        with open(self.cls_dir + ".mdk", "rb") as a, open(archive, "rb") as b:
            self.assertEqual(a.read(), b.read())
        self.assertEqual(subprocess.run(["diff", "-r", self.cls_dir, dirs]).returncode, 0)
        # the bundle's own canonical mdk.yaml packs again into the same bytes
        rc, out, err = run("pack", os.path.join(self.cls_dir, "mdk.yaml"), "-o", self.path("repack"), "--archive")
        self.assertEqual(rc, 0, err)
        with open(self.cls_dir + ".mdk", "rb") as a, open(out.split()[1], "rb") as b:
            self.assertEqual(a.read(), b.read())

    def test_bench_report_embedded(self):
        """A report of mdk bench on the spec's own model is embedded, saying what was timed; a report measured on
        another model, or one that does not say which, is refused."""
        report = self.path("bench.json")
        rc, _, err = run("bench", os.path.join(self.root, "src/mdk.yaml"), "--runs", "5", "--warmup", "1", "--json", report)
        self.assertEqual(rc, 0, err)
        out = self.pack("src/mdk.yaml", "--bench", report, out="benched")[0]
        for doc in ("docs/performance.md", "docs/README.md"):
            with open(os.path.join(out, doc)) as f:
                text = f.read()
            self.assertIn("Timed: the model on tensors", text)
            self.assertIn("| 1 | 1 | 1 |", text)
        other = self.path("other.json")
        rc, _, err = run("bench", self.ocr_dir, "--runs", "5", "--warmup", "1", "--json", other)
        self.assertEqual(rc, 0, err)
        self.assertFails(["pack", os.path.join(self.root, "src/mdk.yaml"), "-o", self.path("b1"), "--bench", other],
                         ["measured another model", "not this bundle's"])
        with open(report) as f:
            j = json.load(f)
        del j["environment"]["model_sha256"]
        with open(report, "w") as f:
            json.dump(j, f)
        self.assertFails(["pack", os.path.join(self.root, "src/mdk.yaml"), "-o", self.path("b2"), "--bench", report],
                         ["does not say which model it measured"])
        with open(report, "w") as f:
            f.write("{}")
        self.assertFails(["pack", os.path.join(self.root, "src/mdk.yaml"), "-o", self.path("b3"), "--bench", report],
                         ["not an mdk bench report"])

    def test_refuses_existing_and_bad_specs(self):
        self.assertFails(["pack", os.path.join(self.root, "src/mdk.yaml"), "-o", os.path.join(self.root, "out")],
                         ["already exists", "--force"])
        with open(os.path.join(self.root, "src/mdk.yaml")) as f:
            good = f.read()
        cases = [
            (good.replace("version: 1.0.0\n", "version: 1.0\n", 1), "version: '1.0' is not a semantic version"),
            (good.replace("dtype: float32, shape: [batch, 3, 224, 224]", "dtype: float16, shape: [batch, 3, 224, 224]"),
             "input 'input' is declared float16 but the model has float32"),
            (good.replace("shape: [batch, 3, 224, 224]", "shape: [batch, 3, 256, 256]"),
             "input 'input' dim 2 is declared 256 but the model has 224"),
            (good.split("test_cases:")[0], "a bundle needs test cases"),
            (good.replace("owner: mdk tests", "owner: mdk tests\nownr: typo"), "unknown field 'ownr'"),
        ]
        for text, needle in cases:
            with self.subTest(needle=needle):
                p = os.path.join(self.root, "src", "bad.yaml")
                with open(p, "w") as f:
                    f.write(text)
                self.assertFails(["pack", p, "-o", self.path("o")], [needle])
                self.assertFalse(os.path.exists(self.path("o/mobilenet_v2-1.0.0")))

    def test_c_examples_build_and_run(self):
        # inside the bundle, make refuses (built files would fail verification) and the bundle stays intact
        inside = subprocess.run(["make", "-s", "-C", os.path.join(self.cls_dir, "examples/c")], capture_output=True, text=True)
        self.assertNotEqual(inside.returncode, 0)
        self.assertIn("inside a bundle", inside.stderr)
        rc, _, err = run("verify", self.cls_dir)
        self.assertEqual(rc, 0, err)
        ex = self.path("c")
        shutil.copytree(os.path.join(self.cls_dir, "examples/c"), ex)
        libdir = os.path.dirname(LIB)
        cflags = "-O2 -Wall -Wextra -Werror" + (" -fsanitize=address,undefined" if SANITIZED else "")
        make = subprocess.run(["make", "-s", "-C", ex, f"MDK_CFLAGS=-I{ROOT}/include",
                               f"MDK_LIBS=-L{libdir} -lmdk -Wl,-rpath,{libdir}", f"CFLAGS={cflags}"],
                              capture_output=True, text=True)
        self.assertEqual(make.returncode, 0, make.stderr)
        photo = os.path.join(self.root, "src/images/chelsea.jpg")
        single = subprocess.run([os.path.join(ex, "single"), self.cls_dir, photo], capture_output=True, text=True)
        self.assertEqual(single.returncode, 0, single.stderr)
        self.assertEqual(len(json.loads(single.stdout)["results"][0]["top"]), 5)
        batch = subprocess.run([os.path.join(ex, "batch"), self.cls_dir, photo, os.path.join(self.root, "src/images/coffee.jpg")],
                               capture_output=True, text=True)
        self.assertEqual(batch.returncode, 0, batch.stderr)
        self.assertEqual(len(json.loads(batch.stdout)["results"]), 2)
        threads = subprocess.run([os.path.join(ex, "threads"), self.cls_dir, "3"], capture_output=True, text=True)
        self.assertEqual(threads.returncode, 0, threads.stderr)
        self.assertIn("0 mismatches", threads.stdout)

    def test_generated_python(self):
        env = sanitizer_env(dict(os.environ, PYTHONPATH=os.path.join(ROOT, "bindings", "python"), MDK_LIBRARY=LIB))
        t = subprocess.run(["/usr/bin/python3", os.path.join(self.cls_dir, "test_cases/test.py")], capture_output=True,
                           text=True, env=env)
        self.assertEqual(t.returncode, 0, t.stdout + t.stderr)
        self.assertIn("pass rate: 100.0%", t.stdout)
        p = subprocess.run(["/usr/bin/python3", os.path.join(self.cls_dir, "examples/python/predict.py"), self.cls_dir,
                            os.path.join(self.root, "src/images/chelsea.jpg")], capture_output=True, text=True, env=env)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("'task': 'classification'", p.stdout)

    def test_diff(self):
        self.write_spec("v11.yaml", "1.1.0", top_k=3)
        new = self.pack("src/v11.yaml")[0]
        rc, out, err = run("diff", self.cls_dir, new)
        self.assertEqual(rc, 0, out + err)
        self.assertIn("compatible postprocessing", out)
        self.assertTrue(out.strip().endswith("compatible: the new bundle can replace the old one in place"))
        self.write_spec("v2.yaml", "2.0.0", mean="[0.5, 0.5, 0.5]")
        new = self.pack("src/v2.yaml")[0]
        rc, out, _ = run("diff", self.cls_dir, new, "--json")
        self.assertEqual(rc, 1)
        report = json.loads(out)
        self.assertTrue(report["breaking"])
        self.assertEqual([c["what"] for c in report["changes"] if c["impact"] == "breaking"], ["preprocessing"])
        rc, out, _ = run("diff", self.cls_dir, self.ocr_dir)
        self.assertEqual(rc, 1)
        for needle in ("BREAKING   name", "BREAKING   input 'input': removed", "BREAKING   input 'x': added"):
            self.assertIn(needle, out)

    def zstd(self, name, raw):
        p = self.path(name)
        with open(p, "wb") as f:
            f.write(subprocess.run(["zstd", "-q", "-c"], input=raw, capture_output=True, check=True).stdout)
        return p

    def test_hostile_archives(self):
        files, name, version = hostile.read_bundle(self.cls_dir)
        for arch, (raw, needles) in hostile.refused(files, name, version).items():
            with self.subTest(archive=arch):
                self.assertFails(["verify", self.zstd(arch + ".mdk", raw)], [arch + ".mdk", *needles])
        p = self.path("notzstd.mdk")
        with open(p, "wb") as f:
            f.write(b"this is not an archive at all" * 10)
        self.assertFails(["verify", p], ["notzstd.mdk"])

    def test_unusual_valid_archives(self):
        """A path just under the limit, hashed whole into the digest, and the directory entries of plain tar."""
        files, name, version = hostile.read_bundle(self.cls_dir)
        for arch, raw in hostile.accepted(files, name, version).items():
            with self.subTest(archive=arch):
                rc, out, err = run("verify", self.zstd(arch + ".mdk", raw))
                self.assertEqual(rc, 0, err)
                self.assertIn(f"{len(PHOTOS)} passed, 0 failed", out)
        # the same bundle, archived by GNU tar as a user would
        p = self.path("gnutar.mdk")
        subprocess.run(["tar", "--zstd", "-C", os.path.dirname(self.cls_dir), "-cf", p,
                        os.path.basename(self.cls_dir)], check=True)
        rc, out, err = run("verify", p)
        self.assertEqual(rc, 0, err)

    def test_long_paths_in_directories(self):
        """A bundle directory holding a path over the limit, or nested too deep, is refused naming it."""
        long_rel = "docs/" + "/".join(["y" * 200] * 6)
        for i, (rel, needle) in enumerate(((long_rel, f"has a path of {len(long_rel)} bytes, the limit is 1024"),
                            ("/".join(["d"] * 17) + "/f", "nested 16 levels deep, the limit is 15"))):
            with self.subTest(rel=rel[:20]):
                d = self.path(f"copy{i}")
                shutil.copytree(self.cls_dir, d)
                full = os.path.join(d, *rel.split("/"))
                os.makedirs(os.path.dirname(full), exist_ok=True)
                with open(full, "wb") as f:
                    f.write(b"extra")
                self.assertFails(["verify", d], [needle])


if __name__ == "__main__":
    mdktest.main()
