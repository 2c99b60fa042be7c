"""mdk: the Model Delivery Kit's Python binding, ctypes over libmdk (NumPy is the only dependency).

    import mdk
    m = mdk.Model("mobilenet_v2-1.0.0/")     # a bundle (directory or .mdk), an mdk.yaml, or an .onnx file
    m.inputs, m.outputs                       # names, dtypes, shapes (named dims as strings)
    m.predict({"input": x})                   # {output name: numpy array}
    m.predict_image("cat.jpg")                # the bundle's pre/postprocessing: the JSON result as a dict

libmdk is found through MDK_LIBRARY (a path), next to this package, or the system's library path.
Errors raise mdk.Error carrying mdk's one-line message and status.
"""
import ctypes
import ctypes.util
import json
import os

import numpy as np

__all__ = ["Model", "Error", "ValueInfo", "version", "ort_version"]


def _load():
    candidates = []
    if os.environ.get("MDK_LIBRARY"):
        candidates.append(os.environ["MDK_LIBRARY"])
    here = os.path.dirname(os.path.abspath(__file__))
    candidates += [os.path.join(here, "libmdk.so.0"), os.path.join(here, "libmdk.so")]
    found = ctypes.util.find_library("mdk")
    if found:
        candidates.append(found)
    candidates.append("libmdk.so.0")
    errors = []
    for c in candidates:
        try:
            return ctypes.CDLL(c)
        except OSError as e:
            errors.append(f"{c}: {e}")
    raise ImportError("libmdk not found (set MDK_LIBRARY to its path): " + "; ".join(errors))


_lib = _load()
_c = ctypes
_vp, _sz, _i64p = _c.c_void_p, _c.c_size_t, _c.POINTER(_c.c_int64)


class _Dim(_c.Structure):
    _fields_ = [("value", _c.c_int64), ("param", _c.c_char_p)]


class _ValueInfo(_c.Structure):
    _fields_ = [("name", _c.c_char_p), ("kind", _c.c_int), ("dtype", _c.c_int), ("has_shape", _c.c_int),
                ("ndim", _sz), ("dims", _c.POINTER(_Dim)), ("doc", _c.c_char_p)]


class _Options(_c.Structure):
    _fields_ = [("struct_size", _sz), ("intra_op_threads", _c.c_int), ("inter_op_threads", _c.c_int),
                ("graph_opt_level", _c.c_int), ("log_level", _c.c_int), ("execution_mode", _c.c_int),
                ("max_batch", _c.c_uint64), ("max_input_bytes", _c.c_uint64)]


def _fn(name, res, *args):
    f = getattr(_lib, name)
    f.restype, f.argtypes = res, list(args)
    return f


_errmsg = _fn("mdk_errmsg", _c.c_char_p)
_status_str = _fn("mdk_status_str", _c.c_char_p, _c.c_int)
_version = _fn("mdk_version", _c.c_char_p)
_ort_version = _fn("mdk_ort_version", _c.c_char_p)
_options_init = _fn("mdk_options_init_sized", None, _c.POINTER(_Options), _sz)
_model_open = _fn("mdk_model_open", _c.c_int, _c.c_char_p, _c.POINTER(_Options), _c.POINTER(_vp))
_model_close = _fn("mdk_model_close", None, _vp)
_in_count = _fn("mdk_model_input_count", _sz, _vp)
_out_count = _fn("mdk_model_output_count", _sz, _vp)
_input = _fn("mdk_model_input", _c.POINTER(_ValueInfo), _vp, _sz)
_output = _fn("mdk_model_output", _c.POINTER(_ValueInfo), _vp, _sz)
_run = _fn("mdk_model_run", _c.c_int, _vp, _c.POINTER(_vp), _sz, _c.POINTER(_c.POINTER(_vp)), _c.POINTER(_sz))
_pipe_open = _fn("mdk_pipeline_open", _c.c_int, _c.c_char_p, _c.POINTER(_Options), _c.POINTER(_vp))
_pipe_close = _fn("mdk_pipeline_close", None, _vp)
_pipe_model = _fn("mdk_pipeline_model", _vp, _vp)
_pipe_run = _fn("mdk_pipeline_run", _c.c_int, _vp, _c.POINTER(_vp), _sz, _c.POINTER(_c.c_char_p), _c.POINTER(_vp), _sz,
                _c.POINTER(_c.c_void_p), _c.POINTER(_c.POINTER(_vp)), _c.POINTER(_sz))
class _DecodeOptions(_c.Structure):
    _fields_ = [("struct_size", _sz), ("max_pixels", _c.c_uint64), ("apply_orientation", _c.c_int),
                ("min_width", _c.c_int), ("min_height", _c.c_int)]


_image_read = _fn("mdk_image_read", _c.c_int, _c.c_char_p, _c.POINTER(_DecodeOptions), _c.POINTER(_vp))
_pipe_spec = _fn("mdk_pipeline_spec", _vp, _vp)
_decode_options = _fn("mdk_spec_decode_options", None, _vp, _c.c_int, _c.POINTER(_DecodeOptions))
_image_free = _fn("mdk_image_free", None, _vp)
_t_new = _fn("mdk_tensor_new", _c.c_int, _c.c_int, _sz, _i64p, _c.POINTER(_vp))
_t_free = _fn("mdk_tensor_free", None, _vp)
_ts_free = _fn("mdk_tensors_free", None, _c.POINTER(_vp), _sz)
_t_dtype = _fn("mdk_tensor_dtype", _c.c_int, _vp)
_t_ndim = _fn("mdk_tensor_ndim", _sz, _vp)
_t_shape = _fn("mdk_tensor_shape", _i64p, _vp)
_t_count = _fn("mdk_tensor_count", _sz, _vp)
_t_nbytes = _fn("mdk_tensor_nbytes", _sz, _vp)
_t_data = _fn("mdk_tensor_data", _vp, _vp)
_t_mut = _fn("mdk_tensor_mutable_data", _vp, _vp)
_t_name = _fn("mdk_tensor_name", _c.c_char_p, _vp)
_t_set_name = _fn("mdk_tensor_set_name", _c.c_int, _vp, _c.c_char_p)
_t_string = _fn("mdk_tensor_string", _c.c_char_p, _vp, _sz)
_t_set_string = _fn("mdk_tensor_set_string", _c.c_int, _vp, _sz, _c.c_char_p, _sz)
_t_kind = _fn("mdk_tensor_kind", _c.c_int, _vp)
_path_is_bundle = _fn("mdk_path_is_bundle", _c.c_int, _c.c_char_p)
_free = _fn("mdk_free", None, _vp)

# ONNX element type numbers (mdk_dtype) and NumPy dtypes; bfloat16 travels as uint16 bits.
_DTYPES = {1: np.float32, 2: np.uint8, 3: np.int8, 4: np.uint16, 5: np.int16, 6: np.int32, 7: np.int64, 9: np.bool_,
           10: np.float16, 11: np.float64, 12: np.uint32, 13: np.uint64, 16: np.uint16}
_FROM_NUMPY = {np.dtype(v): k for k, v in _DTYPES.items() if k != 16}
_NAMES = {1: "float32", 2: "uint8", 3: "int8", 4: "uint16", 5: "int16", 6: "int32", 7: "int64", 8: "string", 9: "bool",
          10: "float16", 11: "float64", 12: "uint32", 13: "uint64", 16: "bfloat16"}


class Error(Exception):
    """An mdk failure: the message names what was wrong and what was expected; .status is mdk_status."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def _check(st):
    if st != 0:
        msg = _errmsg().decode("utf-8", "replace") or _status_str(st).decode()
        raise Error(st, msg)


class ValueInfo:
    """An input or output: name, dtype ("float32", ...) and shape (ints, and names for dynamic dims)."""

    def __init__(self, v):
        self.name = v.name.decode()
        self.dtype = _NAMES.get(v.dtype, "undefined")
        self.shape = None
        if v.has_shape:
            self.shape = [v.dims[i].value if v.dims[i].value >= 0 else (v.dims[i].param or b"?").decode()
                          for i in range(v.ndim)]

    def __repr__(self):
        return f"ValueInfo({self.name!r}, {self.dtype}, {self.shape})"


def version():
    return _version().decode()


def ort_version():
    return _ort_version().decode()


def _to_tensor(name, value):
    a = np.asarray(value)
    if a.dtype.kind in "USO":
        flat = [x.encode() if isinstance(x, str) else bytes(x) for x in a.ravel().tolist()]
        dt = 8
    else:
        if a.dtype.byteorder == ">":
            a = a.astype(a.dtype.newbyteorder("<"))
        if a.dtype not in _FROM_NUMPY:
            raise Error(1, f"input '{name}': NumPy dtype {a.dtype} has no ONNX equivalent")
        a = np.require(a, requirements="C")  # keeps 0-d arrays 0-d (np.ascontiguousarray makes them 1-d)
        dt = _FROM_NUMPY[a.dtype]
    shape = (_c.c_int64 * max(1, a.ndim))(*a.shape)
    t = _vp()
    _check(_t_new(dt, a.ndim, shape, _c.byref(t)))
    try:
        _check(_t_set_name(t, name.encode()))
        if dt == 8:
            for i, s in enumerate(flat):
                _check(_t_set_string(t, i, s, len(s)))
        elif a.nbytes:
            _c.memmove(_t_mut(t), a.ctypes.data, a.nbytes)
    except Exception:
        _t_free(t)
        raise
    return t


def _from_tensor(t):
    if _t_kind(t) != 0:
        raise Error(9, f"output '{_t_name(t).decode()}' is a sequence or optional: not supported by this binding")
    dt, n = _t_dtype(t), _t_ndim(t)
    shape = tuple(_t_shape(t)[i] for i in range(n))
    if dt == 8:
        return np.array([_t_string(t, i).decode("utf-8", "replace") for i in range(_t_count(t))], dtype=object).reshape(shape)
    a = np.empty(shape, dtype=_DTYPES[dt])
    if a.nbytes:
        _c.memmove(a.ctypes.data, _t_data(t), _t_nbytes(t))
    return a


class Model:
    """A loaded model: a bundle directory or .mdk archive (integrity checked), an mdk.yaml, or an .onnx file.
    Thread-safe: predict() may be called from several threads at once."""

    def __init__(self, path, threads=0):
        self._pipe = None
        self._model = None
        opts = _Options()
        _options_init(_c.byref(opts), _c.sizeof(opts))
        opts.intra_op_threads = int(threads)
        p = os.fspath(path).encode()
        h = _vp()
        if path.endswith((".onnx", ".ort")) and not _path_is_bundle(p):
            _check(_model_open(p, _c.byref(opts), _c.byref(h)))
            self._model = h
        else:
            _check(_pipe_open(p, _c.byref(opts), _c.byref(h)))
            self._pipe = h
            self._model = _vp(_pipe_model(h))
        self.inputs = [ValueInfo(_input(self._model, i).contents) for i in range(_in_count(self._model))]
        self.outputs = [ValueInfo(_output(self._model, i).contents) for i in range(_out_count(self._model))]

    def close(self):
        if self._pipe:
            _pipe_close(self._pipe)
        elif self._model:
            _model_close(self._model)
        self._pipe = self._model = None

    def __del__(self):
        self.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def predict(self, feeds):
        """{input name: array} -> {output name: array}; a single array feeds a one-input model."""
        if not isinstance(feeds, dict):
            if len(self.inputs) != 1:
                raise Error(1, f"the model has {len(self.inputs)} inputs: pass a dict {{name: array}}")
            feeds = {self.inputs[0].name: feeds}
        ts = []
        try:
            for name, value in feeds.items():
                ts.append(_to_tensor(name, value))
            arr = (_vp * max(1, len(ts)))(*ts)
            outs, n = _c.POINTER(_vp)(), _sz()
            _check(_run(self._model, arr, len(ts), _c.byref(outs), _c.byref(n)))
            try:
                return {_t_name(outs[i]).decode(): _from_tensor(outs[i]) for i in range(n.value)}
            finally:
                _ts_free(outs, n)
        finally:
            for t in ts:
                _t_free(t)

    def predict_image(self, *paths):
        """One or more image files through the bundle's preprocessing, model and postprocessing (one batch);
        the JSON result as a dict."""
        if not self._pipe:
            raise Error(1, "predict_image needs a bundle or an mdk.yaml with preprocessing")
        imgs = []
        try:
            dec = _DecodeOptions()  # the spec's limits (max_image_pixels) apply here as in every front end
            _decode_options(_pipe_spec(self._pipe), 0, _c.byref(dec))
            for p in paths:
                h = _vp()
                _check(_image_read(os.fspath(p).encode(), _c.byref(dec), _c.byref(h)))
                imgs.append(h)
            arr = (_vp * len(imgs))(*imgs)
            names = (_c.c_char_p * len(paths))(*[os.fspath(p).encode() for p in paths])
            out = _c.c_void_p()
            _check(_pipe_run(self._pipe, arr, len(imgs), names, None, 0, _c.byref(out), None, None))
            try:
                return json.loads(_c.string_at(out).decode())
            finally:
                _free(out)
        finally:
            for h in imgs:
                _image_free(h)
