"""Writes seed corpora for the fuzz targets: small valid files made by NumPy and ONNX's own Python code.
usage: seeds.py DIR (creates DIR/<target>/...)"""
import os
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper

out = sys.argv[1]


def put(target, name, data):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


arrays = {
    "f32": np.arange(6, dtype=np.float32).reshape(2, 3), "f16": np.ones(3, np.float16), "i64": np.array(7),
    "u8": np.zeros((2, 2, 2), np.uint8), "b": np.array([True, False]), "s": np.array(["ab", "c"]),
    "f64f": np.asfortranarray(np.ones((2, 3))), "be": np.arange(4, dtype=">i4"), "empty": np.zeros((0, 3), np.float32),
}
tmp = os.path.join(out, "tmp.npy")
for k, a in arrays.items():
    np.save(tmp, a)
    with open(tmp, "rb") as f:
        put("fuzz_npy", k + ".npy", f.read())
    if a.dtype.kind != "U" and a.dtype.byteorder != ">":
        put("fuzz_pb", k + ".pb", numpy_helper.from_array(a, k).SerializeToString())
    put("fuzz_json", k + ".json", ('{"name": "%s", "datatype": "FP32", "shape": %s, "data": %s}' % (
        k, list(a.shape), np.asarray(a, np.float64).ravel().tolist() if a.dtype.kind != "U" else "[]")).encode())
os.remove(tmp)
put("fuzz_json", "nested.json", b"[[1, 2], [3, 4]]")
put("fuzz_json", "strings.json", b'{"datatype": "BYTES", "shape": [2], "data": ["a", "b"]}')
for name, saver in (("stored", np.savez), ("deflated", np.savez_compressed)):
    p = os.path.join(out, name + ".npz")
    saver(p, x=arrays["f32"], y=arrays["s"])
    with open(p, "rb") as f:
        put("fuzz_npz", name + ".npz", f.read())
    os.remove(p)
t = [numpy_helper.from_array(arrays["f32"], "a"), numpy_helper.from_array(arrays["u8"], "b")]
try:
    seq = onnx.SequenceProto(name="s", elem_type=onnx.SequenceProto.TENSOR, tensor_values=t)
    put("fuzz_sequence", "seq.pb", seq.SerializeToString())
    put("fuzz_optional", "opt.pb", onnx.OptionalProto(name="o", elem_type=onnx.OptionalProto.TENSOR,
                                                      tensor_value=t[0]).SerializeToString())
    put("fuzz_optional", "optseq.pb", onnx.OptionalProto(name="o", elem_type=onnx.OptionalProto.SEQUENCE,
                                                         sequence_value=seq).SerializeToString())
except AttributeError:  # an onnx without SequenceProto: the targets start from an empty corpus
    pass
x = helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["N", 3])
y = helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["N", 3])
w = numpy_helper.from_array(np.ones(3, np.float32), "w")
body = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "b", [x], [y])
g = helper.make_graph([helper.make_node("Mul", ["x", "w"], ["m"]),
                       helper.make_node("If", ["c"], ["y"], then_branch=body, else_branch=body)], "g",
                      [x, helper.make_tensor_value_info("c", onnx.TensorProto.BOOL, [])], [y], [w])
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
helper.set_model_props(m, {"k": "v"})
put("fuzz_graph", "model.onnx", m.SerializeToString())

import cv2  # noqa: E402
from skimage import data as skdata  # noqa: E402

small = cv2.resize(skdata.astronaut(), (64, 48))
put("fuzz_image", "rgb.jpg", cv2.imencode(".jpg", small)[1].tobytes())
put("fuzz_image", "gray.jpg", cv2.imencode(".jpg", small[..., 0])[1].tobytes())
put("fuzz_image", "prog.jpg", cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])[1].tobytes())
put("fuzz_image", "rgb.png", cv2.imencode(".png", small)[1].tobytes())
put("fuzz_image", "rgba.png", cv2.imencode(".png", cv2.cvtColor(small, cv2.COLOR_RGB2RGBA))[1].tobytes())
put("fuzz_image", "gray16.png", cv2.imencode(".png", small[..., 0].astype(np.uint16) * 257)[1].tobytes())
examples = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs", "examples")
for name in os.listdir(examples):
    with open(os.path.join(examples, name, "mdk.yaml"), "rb") as f:
        put("fuzz_spec", name + ".yaml", f.read())
put("fuzz_spec", "seg.yaml", b"name: s\nmodel: m.onnx\nlabels: [a, b]\npreprocess:\n  steps:\n    - resize: {shorter_side: 8}\n"
    b"    - center_crop: {width: 4, height: 4}\n    - color: GRAY\n  dtype: uint8\n  layout: NHWC\n"
    b"postprocess: {type: segmentation, threshold: 0.5}\n")

# a small real bundle archive: a tensor model packed by mdk itself, when the mdk binary is given
mdk = os.environ.get("MDK_BIN")
if mdk:
    import subprocess
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        x = helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 3])
        y = helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, 3])
        onnx.save(helper.make_model(helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g", [x], [y]),
                                    opset_imports=[helper.make_opsetid("", 13)]), os.path.join(tmp, "m.onnx"))
        np.savez(os.path.join(tmp, "in.npz"), x=np.array([[-1, 0, 2]], np.float32))
        with open(os.path.join(tmp, "mdk.yaml"), "w") as f:
            f.write("name: relu\nversion: 1.0.0\nmodel: m.onnx\nlabels: [a, b, c]\ntest_cases: {inputs: in.npz}\n")
        subprocess.run([mdk, "pack", os.path.join(tmp, "mdk.yaml"), "-o", tmp, "--archive"], check=True,
                       stdout=subprocess.DEVNULL)
        # fuzz_bundle takes the tar stream before compression
        tar = subprocess.run(["zstd", "-q", "-d", "-c", os.path.join(tmp, "relu-1.0.0.mdk")], capture_output=True,
                             check=True).stdout
        put("fuzz_bundle", "relu.tar", tar)
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
        import hostile
        files, name, version = hostile.read_bundle(os.path.join(tmp, "relu-1.0.0"))
        for arch, (raw, _) in hostile.refused(files, name, version).items():
            if len(raw) <= 65536:  # run.sh's -max_len
                put("fuzz_bundle", f"hostile-{arch}.tar", raw)
        for arch, raw in hostile.accepted(files, name, version).items():
            put("fuzz_bundle", f"valid-{arch}.tar", raw)

# Open Inference Protocol v2 requests: two bytes of JSON length (0xffff: all JSON), then the body
import json as _json
import struct as _struct
for i, req in enumerate([
    {"id": "a", "inputs": [{"name": "x", "shape": [2, 2], "datatype": "FP32", "data": [[1, 2], [3, 4]]}],
     "outputs": [{"name": "y", "parameters": {"binary_data": True}}]},
    {"inputs": [{"name": "s", "shape": [2], "datatype": "BYTES", "data": ["ab", ""]},
                {"name": "b", "shape": [1], "datatype": "BOOL", "data": [True]},
                {"name": "h", "shape": [1], "datatype": "FP16", "data": ["NaN"]}]},
    {"inputs": [{"name": "i", "shape": [3], "datatype": "INT64", "data": [-1, 0, 9007199254740992]}],
     "parameters": {"binary_data_output": True}},
    # an unnamed input echoed as an output while outputs are requested by name (once a NULL dereference)
    {"inputs": [{"name": "", "shape": [1], "datatype": "UINT8", "data": [1]}], "outputs": [{"name": "y"}]},
]):
    put("fuzz_v2", f"json{i}", b"\xff\xff" + _json.dumps(req).encode())
head = _json.dumps({"inputs": [{"name": "x", "shape": [2], "datatype": "INT32", "parameters": {"binary_data_size": 8}},
                               {"name": "s", "shape": [1], "datatype": "BYTES", "parameters": {"binary_data_size": 7}}]}).encode()
put("fuzz_v2", "binary", _struct.pack(">H", len(head)) + head + _struct.pack("<ii", 7, -7) + _struct.pack("<I", 3) + b"abc")
