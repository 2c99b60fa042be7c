"""The whole pipeline through `mdk run SPEC --image` and `mdk preprocess`: the three worked examples of
docs/examples run verbatim on real models and photos, detection and segmentation mapped back to original
pixels, and bad images and bad specs refused with one line naming file, line and field."""
import json
import os
import shutil
import struct
import subprocess
import sys
import zlib

import cv2
import numpy as np
import onnx
from onnx import helper, numpy_helper
from skimage import data as skdata

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))
import mdktest  # noqa: E402
from mdktest import run  # noqa: E402

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "examples")
OCR = os.path.join(mdktest.MODELS, "ocr")
TV = os.path.join(mdktest.MODELS, "torchvision")


def text_line(rotate=False):
    img = np.full((64, 400, 3), 255, np.uint8)
    cv2.putText(img, "Model 2026", (10, 48), cv2.FONT_HERSHEY_SIMPLEX, 1.6, (0, 0, 0), 3, cv2.LINE_AA)
    return cv2.rotate(img, cv2.ROTATE_180) if rotate else img


def constant_model(path, input_shape, out_name, value):
    """A model whose output is `value` whatever the image (it reads the input, so the input is real)."""
    x = helper.make_tensor_value_info("images", onnx.TensorProto.FLOAT, input_shape)
    y = helper.make_tensor_value_info(out_name, onnx.TensorProto.FLOAT, list(value.shape))
    nodes = [
        helper.make_node("Constant", [], ["c"], value=numpy_helper.from_array(value.astype(np.float32))),
        helper.make_node("Constant", [], ["zero"], value=numpy_helper.from_array(np.array(0, np.float32))),
        helper.make_node("ReduceMean", ["images"], ["m"], keepdims=0),
        helper.make_node("Mul", ["m", "zero"], ["z"]),
        helper.make_node("Add", ["c", "z"], [out_name]),
    ]
    m = helper.make_model(helper.make_graph(nodes, "g", [x], [y]), opset_imports=[helper.make_opsetid("", 13)])
    onnx.save(m, path)


class Pipeline(mdktest.TestCase):
    def example(self, name, model_src, extra=None):
        """Copies docs/examples/NAME into a temporary bundle directory beside its model."""
        d = self.path(name)
        shutil.copytree(os.path.join(EXAMPLES, name), d)
        with open(os.path.join(d, "mdk.yaml")) as f:
            model = [l.split(":", 1)[1].strip() for l in f if l.startswith("model:")][0]
        if isinstance(model_src, str):
            os.symlink(model_src, os.path.join(d, model))
        else:
            model_src(os.path.join(d, model))
        for fname, text in (extra or {}).items():
            with open(os.path.join(d, fname), "w") as f:
                f.write(text)
        return d

    def run_json(self, *args):
        rc, out, err = run("run", *args)
        self.assertEqual(rc, 0, err)
        return json.loads(out)

    def image(self, name, img):
        p = self.path(name)
        cv2.imwrite(p, img)
        return p

    def test_example_classification(self):
        mdktest.require("models", os.path.isdir(TV))
        labels = "\n".join(f"class {i}" for i in range(1000)) + "\n"
        d = self.example("imagenet-classification", os.path.join(TV, "mobilenet_v2.onnx"), {"labels.txt": labels})
        photo = self.image("cat.jpg", cv2.cvtColor(skdata.chelsea(), cv2.COLOR_RGB2BGR))
        res = self.run_json(d, "--image", photo, "--output-dir", self.path("raw"))
        top = res["results"][0]["top"]
        self.assertEqual(res["task"], "classification")
        self.assertEqual(len(top), 5)
        self.assertEqual((res["results"][0]["width"], res["results"][0]["height"]), (451, 300))
        # the same numbers as the recipe in OpenCV/NumPy fed to the model by `mdk run`
        img = cv2.resize(cv2.imread(photo), (224, 224)).astype(np.float32)[..., ::-1] / 255.0
        x = ((img - [0.485, 0.456, 0.406]) / [0.229, 0.224, 0.225]).transpose(2, 0, 1)[None].astype(np.float32)
        np.save(self.path("x.npy"), x)
        rc, _, err = run("run", os.path.join(d, "model.onnx"), "--input", "input=" + self.path("x.npy"),
                         "--output-dir", self.path("ref"))
        self.assertEqual(rc, 0, err)
        logits = np.load(self.path("ref/logits.npy"))[0].astype(np.float64)
        p = np.exp(logits - logits.max())
        p /= p.sum()
        want = np.argsort(-p)[:5]
        self.assertEqual([t["index"] for t in top], want.tolist())
        self.assertEqual(top[0]["label"], f"class {want[0]}")
        np.testing.assert_allclose([t["score"] for t in top], p[want], rtol=1e-4)
        np.testing.assert_allclose(np.load(self.path("raw/logits.npy"))[0], logits, rtol=1e-4, atol=1e-5)

    def test_example_ocr_direction(self):
        mdktest.require("models", os.path.isdir(OCR))
        d = self.example("ocr-direction", os.path.join(OCR, "ch_ppocr_mobile_v2.0_cls_infer.onnx"))
        up, down = self.image("up.png", text_line()), self.image("down.png", text_line(True))
        res = self.run_json(d, "--image", up, "--image", down)
        self.assertEqual([r["top"][0]["label"] for r in res["results"]], ["0", "180"])
        self.assertTrue(all(r["top"][0]["score"] > 0.9 for r in res["results"]))

    def test_example_detector_letterbox(self):
        # boxes in letterboxed model pixels for a 1280x720 photo: scale 0.5, 140 rows of padding on top
        boxes = np.array([[150, 290, 100, 100], [155, 292, 100, 100], [150, 290, 100, 100], [300, 300, 50, 50],
                          [620, 170, 80, 80]], np.float32)
        scores = np.array([[0.05, 0.9, 0.0], [0.0, 0.8, 0.1], [0.0, 0.1, 0.7], [0.1, 0.0, 0.0], [0.6, 0.0, 0.0]],
                          np.float32)
        out = np.concatenate([boxes, scores], 1).T[None]  # [1, 4 + 3, 5]
        d = self.example("yolo-detector", lambda p: constant_model(p, [1, 3, 640, 640], "output0", out),
                         {"labels.txt": "person\ncar\ndog\n"})
        photo = self.image("street.jpg", cv2.resize(cv2.cvtColor(skdata.astronaut(), cv2.COLOR_RGB2BGR), (1280, 720)))
        res = self.run_json(d, "--image", photo)["results"][0]
        dets = res["detections"]
        self.assertEqual([(x["label"], round(x["score"], 3)) for x in dets], [("car", 0.9), ("dog", 0.7), ("person", 0.6)])
        np.testing.assert_allclose(dets[0]["box"], [200, 200, 400, 400], atol=0.01)  # (model - pad) / scale
        np.testing.assert_allclose(dets[1]["box"], [200, 200, 400, 400], atol=0.01)
        np.testing.assert_allclose(dets[2]["box"], [1160, 0, 1280, 140], atol=0.01)  # clipped to the image

    def test_segmentation_maps_back(self):
        seg = np.zeros((1, 3, 64, 64), np.float32)
        seg[0, 1, :, :32] = 5
        seg[0, 2, :, 32:] = 5
        d = self.path("seg")
        os.mkdir(d)
        constant_model(os.path.join(d, "model.onnx"), [1, 3, 64, 64], "mask", seg)
        with open(os.path.join(d, "mdk.yaml"), "w") as f:
            f.write("name: seg\nmodel: model.onnx\nlabels: [background, left, right]\npreprocess:\n  steps:\n"
                    "    - resize: {width: 64, height: 64}\n    - scale: 1/255\npostprocess:\n  type: segmentation\n")
        photo = self.image("p.png", cv2.resize(cv2.cvtColor(skdata.coffee(), cv2.COLOR_RGB2BGR), (128, 96)))
        res = self.run_json(d, "--image", photo)["results"][0]
        self.assertEqual(res["mask"]["size"], [96, 128])
        runs = res["mask"]["runs"]
        mask = np.repeat(runs[0::2], runs[1::2]).reshape(96, 128)
        want = np.where(np.arange(128)[None, :] < 64, 1, 2).repeat(96, 0)
        np.testing.assert_array_equal(mask, want)
        self.assertEqual({c["label"]: c["pixels"] for c in res["classes"]}, {"left": 6144, "right": 6144})

    def test_text_detector_probability_map(self):
        """PaddleOCR's DBNet as a binary segmentation: text pixels are found where the text is."""
        mdktest.require("models", os.path.isdir(OCR))
        d = self.path("det")
        os.mkdir(d)
        os.symlink(os.path.join(OCR, "ch_PP-OCRv4_det_infer.onnx"), os.path.join(d, "det.onnx"))
        with open(os.path.join(d, "mdk.yaml"), "w") as f:
            f.write("name: det\nmodel: det.onnx\npreprocess:\n  steps:\n    - resize: {width: 640, height: 128}\n"
                    "    - color: BGR\n    - scale: 1/255\n"
                    "    - normalize: {mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225]}\n"
                    "postprocess:\n  type: segmentation\n  threshold: 0.3\n")
        canvas = np.full((200, 800, 3), 255, np.uint8)
        canvas[70:134, 200:600] = text_line()
        res = self.run_json(d, "--image", self.image("page.png", canvas))["results"][0]
        runs = res["mask"]["runs"]
        mask = np.repeat(runs[0::2], runs[1::2]).reshape(200, 800)
        inside, outside = mask[80:130, 210:560].mean(), np.concatenate([mask[:60].ravel(), mask[150:].ravel()]).mean()
        self.assertGreater(inside, 0.15)  # DBNet marks shrunk text kernels, not whole boxes
        self.assertLess(outside, 0.01)

    def test_other_inputs_pass_through(self):
        """A model taking an image and a plain tensor: the tensor comes unchanged from --input NAME=FILE."""
        d = self.path("two")
        os.mkdir(d)
        x = helper.make_tensor_value_info("images", onnx.TensorProto.FLOAT, [1, 3, 32, 32])
        f = helper.make_tensor_value_info("factor", onnx.TensorProto.FLOAT, [1])
        y = helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1])
        nodes = [helper.make_node("ReduceMean", ["images"], ["m"], keepdims=0), helper.make_node("Mul", ["m", "factor"], ["y"])]
        onnx.save(helper.make_model(helper.make_graph(nodes, "g", [x, f], [y]), opset_imports=[helper.make_opsetid("", 13)]),
                  os.path.join(d, "model.onnx"))
        with open(os.path.join(d, "mdk.yaml"), "w") as fh:
            fh.write("name: two\nmodel: model.onnx\npreprocess:\n  input: images\n  steps:\n"
                     "    - resize: {width: 32, height: 32}\n    - scale: 1/255\npostprocess: {type: none}\n")
        photo = self.image("p.png", cv2.cvtColor(skdata.coffee(), cv2.COLOR_RGB2BGR))
        np.save(self.path("factor.npy"), np.array([3.0], np.float32))
        res = self.run_json(d, "--image", photo, "--input", "factor=" + self.path("factor.npy"))
        rc, _, err = run("preprocess", d, photo, "-o", self.path("x.npy"))
        self.assertEqual(rc, 0, err)
        np.testing.assert_allclose(res["outputs"][0]["data"], [np.load(self.path("x.npy")).mean() * 3], rtol=1e-5)
        self.assertFails(["run", d, "--image", photo], ["input 'factor' is missing"])

    # ---- bad input ----

    def spec(self, text):
        p = self.path("mdk.yaml")
        with open(p, "w") as f:
            f.write(text)
        return p

    def test_bad_images(self):
        spec = self.spec("name: t\npreprocess:\n  steps:\n    - resize: {width: 32, height: 32}\n")
        ok_jpg = cv2.imencode(".jpg", cv2.cvtColor(skdata.coffee(), cv2.COLOR_RGB2BGR))[1].tobytes()
        ok_png = cv2.imencode(".png", skdata.camera())[1].tobytes()
        sof = ok_jpg.index(b"\xff\xc0")
        jpeg_bomb = ok_jpg[:sof + 5] + struct.pack(">HH", 30000, 30000) + ok_jpg[sof + 9:]
        ihdr = struct.pack(">IIBBBBB", 30000, 30000, 8, 2, 0, 0, 0)
        png_bomb = (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + ihdr +
                    struct.pack(">I", zlib.crc32(b"IHDR" + ihdr)) + ok_png[33:])
        bad_crc = bytearray(ok_png)
        bad_crc[60] ^= 0xFF
        cases = {
            "empty.jpg": (b"", "empty file"),
            "text.jpg": (b"hello, not an image", "not a JPEG or PNG image"),
            "trunc.jpg": (ok_jpg[: len(ok_jpg) // 2], "corrupt or truncated JPEG"),
            "trunc.png": (ok_png[: len(ok_png) // 2], "corrupt or truncated PNG"),
            "crc.png": (bytes(bad_crc), "PNG"),
            "bomb.jpg": (jpeg_bomb, "above the limit"),
            "bomb.png": (png_bomb, "above the limit"),
        }
        for name, (blob, needle) in cases.items():
            with self.subTest(image=name):
                p = self.path(name)
                with open(p, "wb") as f:
                    f.write(blob)
                self.assertFails(["preprocess", spec, p, "-o", self.path("x.npy")], [name, needle])
                self.assertFalse(os.path.exists(self.path("x.npy")))
        from PIL import Image
        Image.fromarray(skdata.coffee()).convert("CMYK").save(self.path("cmyk.jpg"))
        self.assertFails(["preprocess", spec, self.path("cmyk.jpg"), "-o", self.path("x.npy")], ["CMYK"])
        self.assertFails(["preprocess", spec, self.path("missing.png"), "-o", self.path("x.npy")], ["missing.png"])
        small = self.image("small.png", skdata.camera()[:100, :100])
        self.assertFails(["preprocess", spec, small, "-o", self.path("x.npy"), "--max-pixels", "5000"],
                         ["small.png", "100x100 = 10000 pixels, above the limit of 5000"])

    def test_spec_pixel_limit_everywhere(self):
        """limits.max_image_pixels is applied by every front end, not only by the server."""
        d = self.path("lim")
        os.makedirs(d)
        constant_model(os.path.join(d, "m.onnx"), [1, 3, 32, 32], "scores", np.array([[0.2, 0.8]], np.float32))
        with open(os.path.join(d, "mdk.yaml"), "w") as f:
            f.write("name: lim\nmodel: m.onnx\nlimits: {max_image_pixels: 5000}\npreprocess:\n  steps:\n"
                    "    - resize: {width: 32, height: 32}\n    - scale: 1/255\n"
                    "postprocess: {type: classification, top_k: 1}\n")
        spec = os.path.join(d, "mdk.yaml")
        small = self.image("small.png", skdata.camera()[:100, :100])
        tiny = self.image("tiny.png", skdata.camera()[:50, :50])
        needle = "10000 pixels, above the limit of 5000"
        self.assertFails(["preprocess", spec, small, "-o", self.path("x.npy")], ["small.png", needle])
        self.assertFails(["run", spec, "--image", small], ["small.png", needle])
        self.assertEqual(self.run_json(spec, "--image", tiny)["results"][0]["top"][0]["index"], 1)
        # the Python binding, in its own process (which the sanitizer run must prepare to load libmdk)
        code = (f"import mdk\nm = mdk.Model({spec!r})\nprint(m.predict_image({tiny!r})['results'][0]['top'][0]['index'])\n"
                f"try:\n    m.predict_image({small!r})\nexcept mdk.Error as e:\n    print(e)\n")
        env = mdktest.sanitizer_env(dict(os.environ, PYTHONPATH=os.path.join(os.path.dirname(__file__), "..", "..",
                                                                             "bindings", "python")))
        p = subprocess.run(["/usr/bin/python3", "-c", code], capture_output=True, text=True, env=env, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = p.stdout.splitlines()
        self.assertEqual(lines[0], "1")
        self.assertIn(needle, lines[1])

    def test_bad_specs(self):
        img = self.image("i.png", skdata.camera())
        cases = [
            ("name: t\npreproces:\n  steps: []\n", "mdk.yaml:2:1: spec: unknown field 'preproces'"),
            ("name: t\npreprocess:\n  steps:\n    - resize: {width: 8, height: 8, interpolation: linear}\n",
             "mdk.yaml:4:52: preprocess.steps[0].resize.interpolation: unknown value 'linear', expected one of nearest, "
             "bilinear, bicubic, area"),
            ("name: t\npreprocess:\n  steps:\n    - scale: 1/255\n    - resize: {width: 8, height: 8}\n",
             "preprocess.steps[1]: resize works on 8-bit pixels: put it before scale and normalize"),
            ("name: t\npreprocess:\n  steps:\n    - resize: {width: abc, height: 8}\n", "expected a number"),
            ("name: t\npreprocess:\n  steps:\n    - blur: 3\n", "unknown step 'blur'"),
            ("name: t\npreprocess:\n  steps:\n    - normalize: {mean: [1, 2, 3], std: [1, 2]}\n",
             "mean has 3 values and std 2"),
            ("name: t\npreprocess: [\n", "mdk.yaml:3:1"),
            ("name: &a t\n", "anchors"),
            ("name: t\npostprocess:\n  type: detection\n", "detection needs 'output'"),
            ("name: t\nname: u\n", "key 'name' appears twice"),
        ]
        for text, needle in cases:
            with self.subTest(spec=text):
                self.assertFails(["preprocess", self.spec(text), img, "-o", self.path("x.npy")], [needle])

    def test_pipeline_mismatches(self):
        mdktest.require("models", os.path.isdir(OCR))
        img = self.image("i.png", text_line())
        os.symlink(os.path.join(OCR, "ch_ppocr_mobile_v2.0_cls_infer.onnx"), self.path("cls.onnx"))
        base = "name: t\nmodel: cls.onnx\npreprocess:\n  steps:\n    - resize: {width: 192, height: 48}\n"
        self.assertFails(["run", self.spec(base + "  dtype: uint8\n"), "--image", img],
                         ["preprocess produces uint8 but model input 'x' takes float32"])
        self.assertFails(["run", self.spec(base + "labels: [a, b, c]\npostprocess: {type: classification}\n"), "--image", img],
                         ["labels list has 3 entries but output 'softmax_0.tmp_0' gives 2 scores"])
        self.assertFails(["run", self.spec("name: t\nmodel: nope.onnx\n"), "--image", img], ["nope.onnx"])
        self.assertFails(["run", self.spec(base.replace("cls.onnx", "cls.onnx\nlabels: missing.txt")), "--image", img],
                         ["labels", "missing.txt"])


if __name__ == "__main__":
    mdktest.main()
