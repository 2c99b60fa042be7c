"""mdk's preprocessing against the same recipe written with Debian's OpenCV and NumPy, on real photos
(python3-skimage's data folder, as PNG and re-encoded as JPEG, one upscaled to 1920x1080): decoding and the
uint8 resize stage must be identical, the final float tensor within 1e-5; NMS against torchvision.ops.nms."""
import os
import subprocess
import sys

import cv2
import numpy as np
import torch
import torchvision
from skimage import data as skdata

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))
import mdktest  # noqa: E402
from mdktest import run  # noqa: E402

INTERP = {"nearest": cv2.INTER_NEAREST, "bilinear": cv2.INTER_LINEAR, "bicubic": cv2.INTER_CUBIC, "area": cv2.INTER_AREA}
MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
FLOAT_TOL = 1e-5


def photos():
    """Real photos in BGR (as cv2.imread gives them), and one upscaled to 1920x1080."""
    bgr = {n: cv2.cvtColor(getattr(skdata, n)(), cv2.COLOR_RGB2BGR) for n in ("astronaut", "chelsea", "coffee", "rocket")}
    bgr["camera"] = skdata.camera()
    bgr["hd"] = cv2.resize(bgr["astronaut"], (1920, 1080), interpolation=cv2.INTER_CUBIC)
    return bgr


class AgainstOpenCV(mdktest.TestCase):
    @classmethod
    def setUpClass(cls):
        import tempfile
        cls._dir = tempfile.TemporaryDirectory(prefix="mdk-cv-")
        cls.files = []
        for name, img in photos().items():
            for ext in ("png", "jpg"):
                p = os.path.join(cls._dir.name, f"{name}.{ext}")
                cv2.imwrite(p, img)
                cls.files.append(p)

    @classmethod
    def tearDownClass(cls):
        cls._dir.cleanup()

    def spec(self, steps, dtype="float32", layout="NCHW"):
        p = self.path("spec.yaml")
        with open(p, "w") as f:
            f.write("name: t\npreprocess:\n  steps:\n")
            for s in steps:
                f.write(f"    - {s}\n")
            f.write(f"  dtype: {dtype}\n  layout: {layout}\n")
        return p

    def preprocess(self, spec, image, *extra):
        out = self.path("x.npy")
        rc, _, err = run("preprocess", spec, image, "-o", out, *extra)
        self.assertEqual(rc, 0, err)
        return np.load(out)

    def test_decoding_matches_imread(self):
        spec = self.spec(["color: BGR"], dtype="uint8", layout="NHWC")
        prog = self.path("progressive.jpg")
        cv2.imwrite(prog, photos()["coffee"], [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])
        gray = self.path("gray.jpg")
        cv2.imwrite(gray, photos()["camera"])
        for f in self.files + [prog, gray]:
            with self.subTest(image=os.path.basename(f)):
                got = self.preprocess(spec, f)[0]
                np.testing.assert_array_equal(got, cv2.imread(f, cv2.IMREAD_COLOR))

    def test_uint8_resize_stage_identical(self):
        sizes = [(224, 224), (192, 48), (640, 640), (300, 200)]
        for interp, code in INTERP.items():
            spec = self.spec([f"resize: {{width: W, height: H, interpolation: {interp}}}", "color: BGR"], "uint8", "NHWC")
            for f in self.files:
                ref_src = cv2.imread(f, cv2.IMREAD_COLOR)
                h, w = ref_src.shape[:2]
                for (W, H) in sizes + [(w // 2, h // 2), (w // 3, h // 3)]:
                    with open(spec) as fh:
                        text = fh.read()
                    s2 = self.path("s2.yaml")
                    with open(s2, "w") as fh:
                        fh.write(text.replace("W,", f"{W},").replace("H,", f"{H},"))
                    got = self.preprocess(s2, f)[0]
                    ref = cv2.resize(ref_src, (W, H), interpolation=code)
                    diff = (got != ref).sum()
                    self.assertEqual(diff, 0, f"{interp} {os.path.basename(f)} -> {W}x{H}: {diff} values differ")

    def test_resize_random_sizes_identical(self):
        rng = np.random.default_rng(0)
        for t in range(120):
            cn = int(rng.choice([1, 2, 3, 4]))
            sh, sw = int(rng.integers(1, 300)), int(rng.integers(1, 300))
            img = rng.integers(0, 256, (sh, sw, cn) if cn > 1 else (sh, sw), dtype=np.uint8)
            dw, dh = int(rng.integers(1, 400)), int(rng.integers(1, 400))
            if t % 4 == 0:
                dw, dh = max(1, sw // 2), max(1, sh // 2)
            np.save(self.path("in.npy"), img)
            for k, code in enumerate(INTERP.values()):
                subprocess.run([mdktest.RESIZETOOL, self.path("in.npy"), self.path("out.npy"), str(dw), str(dh), str(k)],
                               check=True)
                got, ref = np.load(self.path("out.npy")), cv2.resize(img, (dw, dh), interpolation=code)
                self.assertTrue(np.array_equal(got, ref), f"{img.shape} -> {dw}x{dh} interp {k}")

    def test_classification_recipe_float(self):
        spec = self.spec(["resize: {width: 224, height: 224, interpolation: bilinear}", "color: RGB", "scale: 1/255",
                          f"normalize: {{mean: {MEAN}, std: {STD}}}"])
        for f in self.files:
            with self.subTest(image=os.path.basename(f)):
                got = self.preprocess(spec, f)
                img = cv2.imread(f)
                img = cv2.resize(img, (224, 224), interpolation=cv2.INTER_LINEAR)
                img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0
                ref = ((img - MEAN) / STD).transpose(2, 0, 1)[None].astype(np.float32)
                self.assertEqual(got.shape, (1, 3, 224, 224))
                self.assertEqual(got.dtype, np.float32)
                self.assertLessEqual(float(np.abs(got - ref).max()), FLOAT_TOL)

    def test_paddleocr_cls_recipe(self):
        spec = self.spec(["resize: {width: 192, height: 48}", "color: BGR", "scale: 1/255",
                          "normalize: {mean: 0.5, std: 0.5}"])
        f = self.files[1]
        got = self.preprocess(spec, f)
        img = cv2.resize(cv2.imread(f), (192, 48)).astype(np.float32) / 255.0
        ref = ((img - 0.5) / 0.5).transpose(2, 0, 1)[None]
        self.assertLessEqual(float(np.abs(got - ref).max()), FLOAT_TOL)

    def test_gray_and_nhwc_and_float16(self):
        spec = self.spec(["resize: {width: 100, height: 80, interpolation: area}", "color: GRAY"], "uint8", "NHWC")
        for f in self.files[:4]:
            got = self.preprocess(spec, f)
            ref = cv2.cvtColor(cv2.resize(cv2.imread(f), (100, 80), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2GRAY)
            self.assertEqual(got.shape, (1, 80, 100, 1))
            np.testing.assert_array_equal(got[0, :, :, 0], ref)
        spec = self.spec(["resize: {width: 64, height: 64}", "scale: 1/255"], "float16", "NHWC")
        got = self.preprocess(spec, self.files[0])
        ref = cv2.cvtColor(cv2.resize(cv2.imread(self.files[0]), (64, 64)), cv2.COLOR_BGR2RGB).astype(np.float32) / 255
        self.assertEqual(got.dtype, np.float16)
        np.testing.assert_allclose(got[0].astype(np.float32), ref, atol=1e-3)

    def test_letterbox(self):
        spec = self.spec(["letterbox: {width: 640, height: 640, pad: 114}", "color: BGR"], "uint8", "NHWC")
        for f in (self.files[2], self.files[-1]):
            img = cv2.imread(f)
            h, w = img.shape[:2]
            r = min(640 / w, 640 / h)
            nw, nh = int(round(w * r)), int(round(h * r))
            ref = np.full((640, 640, 3), 114, np.uint8)
            top, left = (640 - nh) // 2, (640 - nw) // 2
            ref[top:top + nh, left:left + nw] = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_LINEAR)
            np.testing.assert_array_equal(self.preprocess(spec, f)[0], ref)

    def test_shorter_side_and_center_crop(self):
        spec = self.spec(["resize: {shorter_side: 256}", "center_crop: {width: 224, height: 224}", "color: BGR"],
                         "uint8", "NHWC")
        for f in self.files[2:6]:
            img = cv2.imread(f)
            h, w = img.shape[:2]
            nw, nh = (256, int(256 * h / w)) if w <= h else (int(256 * w / h), 256)
            r = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_LINEAR)
            top, left = int(round((nh - 224) / 2.0)), int(round((nw - 224) / 2.0))
            np.testing.assert_array_equal(self.preprocess(spec, f)[0], r[top:top + 224, left:left + 224])

    def test_png_variants_match_imread(self):
        rgba = cv2.cvtColor(photos()["chelsea"], cv2.COLOR_BGR2BGRA)
        rgba[..., 3] = np.arange(rgba.shape[1], dtype=np.uint8)[None, :]
        variants = {
            "gray.png": skdata.camera(),
            "gray16.png": (skdata.camera().astype(np.uint16) * 257 + 3),
            "rgb16.png": photos()["coffee"].astype(np.uint16) * 256 + 200,
            "rgba.png": rgba,
            "graya.png": None,
            "palette.png": None,
        }
        spec = self.spec(["color: BGR"], "uint8", "NHWC")
        for name, img in variants.items():
            p = self.path(name)
            if img is None:  # gray + alpha and palette PNGs through PIL (OpenCV writes neither)
                from PIL import Image
                if name == "graya.png":
                    Image.fromarray(np.stack([skdata.camera(), skdata.camera()[::-1]], -1), "LA").save(p)
                else:
                    Image.fromarray(skdata.chelsea()).convert("P", palette=Image.ADAPTIVE, colors=64).save(p)
            else:
                cv2.imwrite(p, img)
            with self.subTest(png=name):
                np.testing.assert_array_equal(self.preprocess(spec, p)[0], cv2.imread(p, cv2.IMREAD_COLOR))

    def test_exif_orientation(self):
        from PIL import Image
        base = Image.fromarray(skdata.chelsea()[:200, :300])
        spec = self.spec(["color: BGR"], "uint8", "NHWC")
        for o in range(1, 9):
            p = self.path(f"o{o}.jpg")
            exif = Image.Exif()
            exif[0x0112] = o
            base.save(p, exif=exif, quality=95)
            with self.subTest(orientation=o):
                ref = cv2.imread(p, cv2.IMREAD_COLOR)
                got = self.preprocess(spec, p)[0]
                self.assertEqual(got.shape, ref.shape)
                np.testing.assert_array_equal(got, ref)

    def test_fast_path_deviation(self):
        """The reduced-scale JPEG path changes results; its deviation from the exact path stays small."""
        spec = self.spec(["resize: {width: 224, height: 224, interpolation: area}", "scale: 1/255"])
        f = [p for p in self.files if p.endswith("hd.jpg")][0]
        exact, fast = self.preprocess(spec, f), self.preprocess(spec, f, "--fast")
        self.assertEqual(exact.shape, fast.shape)
        d = np.abs(exact - fast) * 255
        self.assertLess(float(d.mean()), 2.0)
        self.assertGreater(float(d.max()), 0)  # it really took another path

    def test_nms_matches_torchvision(self):
        rng = np.random.default_rng(1)
        for trial in range(30):
            n = int(rng.integers(1, 400))
            xy = rng.uniform(0, 500, (n, 2)).astype(np.float32)
            wh = rng.uniform(1, 150, (n, 2)).astype(np.float32)
            boxes = np.concatenate([xy, xy + wh], 1).astype(np.float32)
            scores = rng.uniform(0, 1, n).astype(np.float32)
            classes = rng.integers(0, 5, n).astype(np.int32)
            iou = float(rng.uniform(0.1, 0.9))
            np.save(self.path("b.npy"), boxes)
            np.save(self.path("s.npy"), scores)
            np.save(self.path("c.npy"), classes)
            subprocess.run([mdktest.NMSTOOL, self.path("b.npy"), self.path("s.npy"), repr(iou), self.path("k.npy")], check=True)
            ref = torchvision.ops.nms(torch.from_numpy(boxes), torch.from_numpy(scores), iou).numpy()
            np.testing.assert_array_equal(np.load(self.path("k.npy")), ref, f"trial {trial}")
            subprocess.run([mdktest.NMSTOOL, self.path("b.npy"), self.path("s.npy"), repr(iou), self.path("k.npy"),
                            self.path("c.npy")], check=True)
            ref = torchvision.ops.batched_nms(torch.from_numpy(boxes), torch.from_numpy(scores),
                                              torch.from_numpy(classes.astype(np.int64)), iou).numpy()
            np.testing.assert_array_equal(np.load(self.path("k.npy")), ref, f"class-aware trial {trial}")


if __name__ == "__main__":
    mdktest.main()
