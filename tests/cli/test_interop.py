"""mdk's tensor codecs against NumPy and ONNX's own Python code: files written by np.save / np.savez /
onnx.numpy_helper are read by mdk and written back, then compared by those same independent libraries."""
import json
import os
import subprocess
import sys

import numpy as np
import onnx
from onnx import numpy_helper

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pylib"))
import mdktest  # noqa: E402

NUMERIC = ["float32", "float64", "float16", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
           "uint64", "bool"]


def sample(dtype, shape=(2, 3, 4), seed=0):
    rng = np.random.default_rng(seed)
    if dtype == "bool":
        return rng.integers(0, 2, shape).astype(bool)
    if np.dtype(dtype).kind == "f":
        return (rng.standard_normal(shape) * 100).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, shape, dtype=dtype, endpoint=True)


def conv(*args):
    p = subprocess.run([mdktest.TENSORCONV, *args], capture_output=True, text=True)
    if p.returncode != 0:
        raise AssertionError(f"tensorconv {' '.join(args)}: {p.stderr}")


def read_pb(path):
    t = onnx.TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    return numpy_helper.to_array(t)


class Interop(mdktest.TestCase):
    def check_npy(self, arr, name):
        src, back = self.path(name + ".npy"), self.path(name + ".back.npy")
        np.save(src, arr)
        conv(src, back)
        got = np.load(back)
        if arr.dtype.kind != "U":  # mdk writes native (little-endian) order
            self.assertEqual(got.dtype, arr.dtype.newbyteorder("<"))
        self.assertEqual(got.shape, arr.shape)
        np.testing.assert_array_equal(got, arr)
        return back

    def test_npy_every_numeric_dtype(self):
        for dt in NUMERIC:
            with self.subTest(dtype=dt):
                self.check_npy(sample(dt), dt)

    def test_npy_special_layouts(self):
        a = sample("float32", (3, 5))
        self.check_npy(np.asfortranarray(a), "fortran")
        self.check_npy(a.astype(">f4"), "bigendian")  # read back as native little-endian
        self.check_npy(np.array(3.5, np.float64), "scalar")
        self.check_npy(np.zeros((0, 4), np.int32), "empty")
        self.check_npy(sample("int16", (2, 3, 4, 5, 6)).transpose(4, 2, 0, 3, 1).copy(order="F"), "fortran5d")
        self.check_npy(np.array([np.nan, np.inf, -np.inf, -0.0], np.float32), "special")

    def test_npy_strings(self):
        u = np.array([["héllo", "wörld", ""], ["a", "日本語", "x" * 40]])
        back = np.load(self.check_npy(u, "unicode"))
        self.assertEqual(back.dtype.kind, "U")
        s = np.array([b"abc", b"", b"xyz\x01"], dtype="S4")
        src, out = self.path("bytes.npy"), self.path("bytes.back.npy")
        np.save(src, s)
        conv(src, out)
        np.testing.assert_array_equal(np.load(out), s.astype("U"))

    def test_npy_bfloat16_as_uint16_bits(self):
        bits = np.array([0x3F80, 0x4049, 0xC000], np.uint16)  # 1.0, 3.140625, -2.0 as bfloat16
        src, pb = self.path("bf.npy"), self.path("bf.pb")
        np.save(src, bits)
        conv(src, pb)
        self.assertEqual(read_pb(pb).dtype, np.uint16)

    def test_pb_from_onnx_numpy_helper(self):
        for dt in NUMERIC:
            with self.subTest(dtype=dt):
                arr = sample(dt)
                src, out = self.path(dt + ".pb"), self.path(dt + ".npy")
                t = numpy_helper.from_array(arr, name="t_" + dt)
                with open(src, "wb") as f:
                    f.write(t.SerializeToString())
                conv(src, out)
                np.testing.assert_array_equal(np.load(out), arr)

    def test_pb_typed_fields(self):
        # TensorProto's typed repeated fields (not raw_data), as older exporters write them.
        cases = [
            (onnx.TensorProto.FLOAT, "float_data", [1.5, -2.0], np.float32),
            (onnx.TensorProto.INT32, "int32_data", [-7, 9], np.int32),
            (onnx.TensorProto.INT8, "int32_data", [-128, 127], np.int8),
            (onnx.TensorProto.UINT16, "int32_data", [0, 65535], np.uint16),
            (onnx.TensorProto.BOOL, "int32_data", [1, 0], np.bool_),
            (onnx.TensorProto.INT64, "int64_data", [-(2 ** 62), 5], np.int64),
            (onnx.TensorProto.DOUBLE, "double_data", [0.1, 1e300], np.float64),
            (onnx.TensorProto.UINT32, "uint64_data", [0, 2 ** 32 - 1], np.uint32),
            (onnx.TensorProto.UINT64, "uint64_data", [0, 2 ** 64 - 1], np.uint64),
        ]
        for dt, field, values, npdt in cases:
            with self.subTest(field=field, dtype=npdt):
                t = onnx.TensorProto(data_type=dt, dims=[2])
                getattr(t, field).extend(values)
                src, out = self.path("typed.pb"), self.path("typed.npy")
                with open(src, "wb") as f:
                    f.write(t.SerializeToString())
                conv(src, out)
                np.testing.assert_array_equal(np.load(out), np.array(values, dtype=npdt))

    def test_pb_strings_and_written_pb(self):
        arr = np.array([b"alpha", b"", b"gamma"], dtype=object)
        t = numpy_helper.from_array(arr, name="s")
        src, out = self.path("s.pb"), self.path("s2.pb")
        with open(src, "wb") as f:
            f.write(t.SerializeToString())
        conv(src, out)
        self.assertEqual([x.decode() if isinstance(x, bytes) else x for x in read_pb(out)], ["alpha", "", "gamma"])
        for dt in NUMERIC:
            with self.subTest(dtype=dt):
                arr = sample(dt)
                src, pb = self.path(dt + ".npy"), self.path(dt + ".out.pb")
                np.save(src, arr)
                conv(src, pb)
                np.testing.assert_array_equal(read_pb(pb), arr)

    def test_json_written(self):
        for dt in NUMERIC:
            with self.subTest(dtype=dt):
                arr = sample(dt)
                src, js = self.path(dt + ".npy"), self.path(dt + ".json")
                np.save(src, arr)
                conv(src, js)
                with open(js) as f:
                    doc = json.load(f)
                self.assertEqual(doc["shape"], list(arr.shape))
                np.testing.assert_array_equal(np.array(doc["data"], dtype=arr.dtype).reshape(arr.shape), arr)

    def test_json_special_values_round_trip(self):
        arr = np.array([np.nan, np.inf, -np.inf, 1e-45, 3.4028235e38], np.float32)
        src, js, back = self.path("sp.npy"), self.path("sp.json"), self.path("sp.back.npy")
        np.save(src, arr)
        conv(src, js)
        conv(js, back)
        np.testing.assert_array_equal(np.load(back), arr)

    def test_npz_stored_and_deflated(self):
        arrays = {"x": sample("float32"), "ids": sample("int64", (7,)), "mask": sample("bool", (2, 2)),
                  "names": np.array(["a", "bc"])}
        for saver in (np.savez, np.savez_compressed):
            with self.subTest(saver=saver.__name__):
                src, out = self.path("a.npz"), self.path("b.npz")
                saver(src, **arrays)
                conv("--npz", src, out)
                with np.load(out) as z:
                    self.assertEqual(sorted(z.files), sorted(arrays))
                    for k, v in arrays.items():
                        np.testing.assert_array_equal(z[k], v)

    def test_compare_matches_numpy_allclose(self):
        rng = np.random.default_rng(3)
        for trial in range(20):
            a = rng.standard_normal(50).astype(np.float32)
            b = a + rng.standard_normal(50).astype(np.float32) * 10 ** rng.uniform(-6, -1)
            rtol, atol = 10 ** rng.uniform(-5, -2), 10 ** rng.uniform(-7, -3)
            pa, pb = self.path("a.npy"), self.path("b.npy")
            np.save(pa, a)
            np.save(pb, b)
            p = subprocess.run([mdktest.TENSORCONV, "--compare", pa, pb, repr(rtol), repr(atol)],
                               capture_output=True, text=True, check=True)
            res = json.loads(p.stdout)
            a64, b64 = a.astype(np.float64), b.astype(np.float64)
            close = np.abs(a64 - b64) <= atol + rtol * np.abs(b64)
            self.assertEqual(bool(res["pass"]), bool(close.all()), f"trial {trial}")
            self.assertEqual(res["mismatches"], int((~close).sum()))
            self.assertAlmostEqual(res["max_abs_err"], float(np.abs(a64 - b64).max()), places=12)


if __name__ == "__main__":
    mdktest.main()
