"""Real trained models through `mdk run` and `mdk verify`, compared with an independent reference:
torchvision resnet18/mobilenet_v2 (exported by Debian's PyTorch) against PyTorch's own outputs, and the
PaddleOCR det/rec/cls models against ONNX Runtime's Node.js binding, all on real photos."""
import os
import subprocess
import sys

import cv2
import numpy as np
from skimage import data as skdata

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))
import mdktest  # noqa: E402
from mdktest import run  # noqa: E402

TV = os.path.join(mdktest.MODELS, "torchvision")
OCR = os.path.join(mdktest.MODELS, "ocr")
NODE_MODULES = os.path.join(mdktest.CACHE, "node", "node_modules")
REFERENCE_JS = os.path.join(os.path.dirname(__file__), "..", "node", "ort_reference.js")

# PyTorch and ONNX Runtime order float operations differently; these bounds hold for logits of order 1.
TORCH_RTOL, TORCH_ATOL = 1e-3, 1e-4
# Same engine version, one thread on both sides: results agree to float rounding.
NODE_RTOL, NODE_ATOL = 1e-5, 1e-6


TEXT = "Model 2026"


def text_line(rotate):
    """A line of printed text rendered by OpenCV, upright or turned by 180 degrees."""
    img = np.full((64, 400, 3), 255, np.uint8)
    cv2.putText(img, TEXT, (10, 48), cv2.FONT_HERSHEY_SIMPLEX, 1.6, (0, 0, 0), 3, cv2.LINE_AA)
    return cv2.rotate(img, cv2.ROTATE_180) if rotate else img


def ocr_line(img, width):
    """PaddleOCR's rec/cls recipe with OpenCV/NumPy: resize to 48 x width, (x/255 - 0.5) / 0.5, NCHW."""
    x = cv2.resize(img, (width, 48)).astype(np.float32) / 255.0
    return ((x - 0.5) / 0.5).transpose(2, 0, 1)[None].copy()


def ocr_cases():
    """(case name, model file, input) for the three PaddleOCR models on real images: a photo for the
    detector (640x640, ImageNet mean/std), rendered text lines for the recogniser and direction classifier."""
    photo = cv2.cvtColor(skdata.astronaut(), cv2.COLOR_RGB2BGR)
    det = cv2.resize(photo, (640, 640)).astype(np.float32) / 255.0
    det = (det - np.array([0.485, 0.456, 0.406], np.float32)) / np.array([0.229, 0.224, 0.225], np.float32)
    return [
        ("det", "ch_PP-OCRv4_det_infer.onnx", det.transpose(2, 0, 1)[None].copy()),
        ("rec", "ch_PP-OCRv4_rec_infer.onnx", ocr_line(text_line(False), 320)),
        ("cls-upright", "ch_ppocr_mobile_v2.0_cls_infer.onnx", ocr_line(text_line(False), 192)),
        ("cls-rotated", "ch_ppocr_mobile_v2.0_cls_infer.onnx", ocr_line(text_line(True), 192)),
    ]


def ctc_decode(probs, keys):
    """Greedy CTC: best class per step, repeats merged, blanks (class 0) dropped."""
    out, prev = [], 0
    for i in probs.argmax(-1):
        if i != 0 and i != prev:
            out.append(keys[i - 1] if i - 1 < len(keys) else " ")
        prev = i
    return "".join(out)


class RealModels(mdktest.TestCase):
    def setUp(self):
        super().setUp()
        mdktest.require("models", os.path.isdir(TV) and os.path.isdir(OCR))

    def test_torchvision_verify_against_pytorch(self):
        for arch in ("resnet18", "mobilenet_v2"):
            with self.subTest(arch=arch):
                rc, out, err = run("verify", os.path.join(TV, arch + ".onnx"), "--cases", os.path.join(TV, arch),
                                   "--rtol", TORCH_RTOL, "--atol", TORCH_ATOL)
                self.assertEqual(rc, 0, out + err)
                self.assertEqual(out.splitlines()[-1], "1 passed, 0 failed")

    def test_torchvision_run_against_pytorch(self):
        for arch in ("resnet18", "mobilenet_v2"):
            with self.subTest(arch=arch):
                out_dir = self.path(arch)
                rc, _, err = run("run", os.path.join(TV, arch + ".onnx"), "--input",
                                 "input=" + os.path.join(TV, arch, "inputs.npy"), "--output-dir", out_dir)
                self.assertEqual(rc, 0, err)
                got = np.load(os.path.join(out_dir, "logits.npy"))
                want = np.load(os.path.join(TV, arch, "expected_outputs.npy"))
                self.assertEqual(got.shape, (2, 1000))
                np.testing.assert_allclose(got, want, rtol=TORCH_RTOL, atol=TORCH_ATOL)
                np.testing.assert_array_equal(got.argmax(1), want.argmax(1))

    def test_paddleocr_against_onnxruntime_node(self):
        env = dict(os.environ, NODE_PATH=NODE_MODULES)
        for case, model, x in ocr_cases():
            with self.subTest(case=case):
                path = os.path.join(OCR, model)
                np.save(self.path("x.npy"), x)
                ref_dir, got_dir = self.path("ref-" + case), self.path("got-" + case)
                subprocess.run(["node", REFERENCE_JS, path, ref_dir, "x=" + self.path("x.npy")], check=True, env=env,
                               timeout=300)
                rc, _, err = run("run", path, "--input", "x=" + self.path("x.npy"), "--output-dir", got_dir,
                                 "--threads", 1)
                self.assertEqual(rc, 0, err)
                self.assertEqual(sorted(os.listdir(got_dir)), sorted(os.listdir(ref_dir)))
                for f in os.listdir(ref_dir):
                    ref, got = np.load(os.path.join(ref_dir, f)), np.load(os.path.join(got_dir, f))
                    self.assertEqual(got.shape, ref.shape)
                    np.testing.assert_allclose(got, ref, rtol=NODE_RTOL, atol=NODE_ATOL)
                    self.check_semantics(case, got)

    def check_semantics(self, case, y):
        """What each model must have seen, independent of any reference."""
        if case == "det":
            self.assertEqual(y.shape, (1, 1, 640, 640))
            self.assertTrue(((y >= 0) & (y <= 1)).all())  # a text probability map
        elif case == "rec":
            self.assertEqual((y.shape[0], y.shape[2]), (1, 6625))
            with open(os.path.join(OCR, "ppocr_keys_v1.txt"), encoding="utf-8") as f:
                keys = [line.rstrip("\n") for line in f]
            self.assertEqual(ctc_decode(y[0], keys), TEXT)
        else:
            self.assertEqual(y.shape, (1, 2))
            np.testing.assert_allclose(y.sum(), 1, rtol=1e-5)
            self.assertGreater(y[0, 0 if case == "cls-upright" else 1], 0.9)  # class 1 means turned by 180


if __name__ == "__main__":
    mdktest.main()
