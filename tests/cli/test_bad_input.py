"""Bad input to the mdk command: every case ends with one line naming what was wrong (file, input name,
expected vs got), a non-zero exit, and no crash or sanitizer report."""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))
import mdktest  # noqa: E402
from mdktest import node_model, run  # noqa: E402

ADD = node_model("test_add")  # inputs x, y: float32 [3, 4, 5]


class BadInput(mdktest.TestCase):
    def npy(self, name, arr):
        p = self.path(name)
        np.save(p, arr)
        return p

    def write(self, name, data):
        p = self.path(name)
        with open(p, "wb") as f:
            f.write(data)
        return p

    def good(self):
        return self.npy("good.npy", np.zeros((3, 4, 5), np.float32))

    def test_missing_model(self):
        for verb in ("inspect", "run", "verify"):
            extra = ["--cases", self.tmp] if verb == "verify" else []
            self.assertFails([verb, self.path("nope.onnx"), *extra], ["nope.onnx", "No such file"])

    def test_not_onnx(self):
        p = self.write("text.onnx", b"hello, this is not a model\n" * 10)
        self.assertFails(["inspect", p], [p, "not an ONNX model"])
        self.assertFails(["run", p, "--input", "x=random"], [p, "ONNX Runtime cannot create a session"])

    def test_zero_byte_model(self):
        p = self.write("empty.onnx", b"")
        self.assertFails(["inspect", p], [p, "empty file"])
        self.assertFails(["run", p], [p, "empty file"])

    def test_truncated_model(self):
        with open(os.path.join(mdktest.ONNX_NODE, "test_conv_with_strides_padding", "model.onnx"), "rb") as f:
            data = f.read()
        p = self.write("trunc.onnx", data[: len(data) // 2])
        self.assertFails(["inspect", p], [p, "not an ONNX model"])
        self.assertFails(["run", p, "--input", "x=random"], [p])

    def test_directory_as_model(self):
        self.assertFails(["inspect", self.tmp], [self.tmp, "directory"])

    def test_unknown_input_name(self):
        self.assertFails(["run", ADD, "--input", f"z={self.good()}"], ["unknown input 'z'", "inputs are: x, y"])

    def test_missing_input(self):
        self.assertFails(["run", ADD, "--input", f"x={self.good()}"], ["input 'y' is missing"])

    def test_wrong_dtype(self):
        bad = self.npy("f64.npy", np.zeros((3, 4, 5), np.float64))
        self.assertFails(["run", ADD, "--input", f"x={self.good()}", "--input", f"y={bad}"],
                         ["input 'y'", "expected dtype float32, got float64"])

    def test_wrong_rank_and_shape(self):
        rank = self.npy("r2.npy", np.zeros((12, 5), np.float32))
        self.assertFails(["run", ADD, "--input", f"x={rank}", "--input", f"y={self.good()}"],
                         ["input 'x'", "expected rank 3 [3, 4, 5], got rank 2 [12, 5]"])
        shape = self.npy("s.npy", np.zeros((3, 4, 6), np.float32))
        self.assertFails(["run", ADD, "--input", f"x={self.good()}", "--input", f"y={shape}"],
                         ["input 'y'", "dim 2 must be 5", "got 6"])

    def test_malformed_tensor_files(self):
        good = np.zeros((3, 4, 5), np.float32)
        with open(self.npy("ok.npy", good), "rb") as f:
            npy_bytes = f.read()
        cases = {
            "trunc.npy": (npy_bytes[:-7], "expected 240"),
            "header.npy": (b"\x93NUMPY\x01\x00\x10\x00{'descr': '<f4'}" + b"\0" * 8, "malformed .npy header"),
            "magic.npy": (b"PK\x03\x04" + b"\0" * 40, "not a .npy file"),
            "zero.npy": (b"", "not a .npy file"),
            "junk.pb": (b"\xff\xfe\xfd\xfc" * 5, "not an ONNX TensorProto"),
            "bad.json": (b"[[1, 2], [3", "malformed JSON"),
            "ragged.json": (b"[[1, 2], [3]]", "ragged"),
            "what.txt": (b"1 2 3", "expected .npy, .pb or .json"),
        }
        for name, (data, needle) in cases.items():
            with self.subTest(name=name):
                p = self.write(name, data)
                self.assertFails(["run", ADD, "--input", f"x={p}", "--input", f"y={self.good()}"],
                                 ["input 'x'", name, needle])

    def test_json_wrong_shape(self):
        p = self.write("short.json", json.dumps([[0.0] * 5] * 4).encode())
        self.assertFails(["run", ADD, "--input", f"x={p}", "--input", f"y={self.good()}"],
                         ["input 'x'", "expected rank 3"])

    def test_malformed_npz_cases(self):
        d = self.path("cases")
        os.mkdir(d)
        with open(os.path.join(d, "inputs.npz"), "wb") as f:
            f.write(b"PK\x03\x04 definitely not a zip file")
        self.assertFails(["verify", ADD, "--cases", d], ["inputs.npz"])
        np.savez(os.path.join(d, "inputs.npz"), x=np.zeros((3, 4, 5), np.float32))
        self.assertFails(["verify", ADD, "--cases", d], ["expected_outputs.npz", "missing"])

    def test_empty_cases_dir(self):
        self.assertFails(["verify", ADD, "--cases", self.tmp], [self.tmp, "holds no test cases"])
        self.assertFails(["verify", ADD, "--cases", self.path("none")], ["does not exist"])

    def test_random_needs_dims(self):
        ocr_cls = os.path.join(mdktest.MODELS, "ocr", "ch_ppocr_mobile_v2.0_cls_infer.onnx")
        mdktest.require("models", os.path.exists(ocr_cls))
        self.assertFails(["run", ocr_cls, "--input", "x=random"], ["input 'x' dim 0", "--dim p2o.DynamicDimension.0="])

    def test_usage_errors(self):
        self.assertFails(["run"], ["missing MODEL", "--help"], code=2)
        self.assertFails(["run", ADD, "--threads", "0"], ["--threads"], code=2)
        self.assertFails(["run", ADD, "--threads", "2x"], ["--threads"], code=2)
        self.assertFails(["run", ADD, "--dim", "N"], ["--dim"], code=2)
        self.assertFails(["run", ADD, "--bogus"], ["unknown option '--bogus'"], code=2)
        self.assertFails(["verify", ADD], ["missing --cases"], code=2)
        self.assertFails(["verify", ADD, "--cases", self.tmp, "--rtol", "-1"], ["--rtol"], code=2)
        self.assertFails(["inspect"], ["missing MODEL"], code=2)
        self.assertFails(["frobnicate"], ["unknown verb 'frobnicate'"], code=2)

    def test_output_dir_is_a_file(self):
        f = self.write("file", b"x")
        self.assertFails(["run", ADD, "--input", "x=random", "--input", "y=random", "--output-dir", f],
                         ["cannot create output directory"])

    def test_failed_write_leaves_nothing(self):
        out = self.path("out")
        os.makedirs(os.path.join(out, "sum.npy"))  # the output's path is taken by a directory
        self.assertFails(["run", ADD, "--input", "x=random", "--input", "y=random", "--output-dir", out],
                         ["cannot write", "sum.npy"])
        self.assertEqual(os.listdir(out), ["sum.npy"])  # no temporary file left behind


if __name__ == "__main__":
    mdktest.main()
