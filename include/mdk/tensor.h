/* tensor.h: n-dimensional tensors of every ONNX element type, their file codecs (.npy, .npz, ONNX
 * TensorProto .pb, JSON) and numerical comparison. Included by mdk.h; do not include it alone. */
#ifndef MDK_TENSOR_H
#define MDK_TENSOR_H

#ifdef __cplusplus
extern "C" {
#endif

/* The largest rank a tensor may have. */
#define MDK_MAX_DIMS 32

/* Size caps applied to every file or buffer a tensor is read from; larger inputs are MDK_ERR_TOO_LARGE. */
#define MDK_TENSOR_MAX_BYTES ((uint64_t)4 << 30)   /* one tensor's data */
#define MDK_JSON_MAX_BYTES ((uint64_t)512 << 20)   /* one JSON document */
#define MDK_NPZ_MAX_MEMBERS 4096

/* An mdk_tensor holds one ONNX value: usually a tensor, or a sequence of tensors, or an optional (a
 * tensor, a sequence or nothing), the other kinds of value models take and return. Functions on element
 * data apply to tensors; for the others, count is 0 and data is NULL. */
typedef struct mdk_tensor mdk_tensor;

/* Kinds of value. */
typedef enum mdk_value_kind {
    MDK_VALUE_TENSOR = 0,
    MDK_VALUE_SEQUENCE = 1,
    MDK_VALUE_MAP = 2,      /* recognised in model signatures only */
    MDK_VALUE_OPTIONAL = 3,
    MDK_VALUE_OTHER = 4
} mdk_value_kind;

/* A new tensor of `dtype` with `ndim` dims `shape` (each >= 0), zero-filled (strings: ""). The element
 * count and byte size are checked against overflow and MDK_TENSOR_MAX_BYTES. */
MDK_API mdk_status mdk_tensor_new(mdk_dtype dtype, size_t ndim, const int64_t *shape, mdk_tensor **out);
/* A deep copy, name included. */
MDK_API mdk_status mdk_tensor_clone(const mdk_tensor *t, mdk_tensor **out);
MDK_API void mdk_tensor_free(mdk_tensor *t);
/* Frees `n` tensors and the array holding them (as returned by mdk_npz_read or mdk_model_run). */
MDK_API void mdk_tensors_free(mdk_tensor **ts, size_t n);

MDK_API mdk_dtype mdk_tensor_dtype(const mdk_tensor *t);
MDK_API size_t mdk_tensor_ndim(const mdk_tensor *t);
/* `ndim` dims; NULL-free even for rank 0. */
MDK_API const int64_t *mdk_tensor_shape(const mdk_tensor *t);
MDK_API size_t mdk_tensor_count(const mdk_tensor *t);
/* Bytes of element data (count * element size); 0 for string tensors. */
MDK_API size_t mdk_tensor_nbytes(const mdk_tensor *t);
/* Element data in row-major (C) order, native byte order, read-only. For string tensors use mdk_tensor_string. */
MDK_API const void *mdk_tensor_data(const mdk_tensor *t);
/* The same, writable: for filling a tensor the caller owns. Valid until the tensor is freed. */
MDK_API void *mdk_tensor_mutable_data(mdk_tensor *t);

/* Element `i` of a string tensor as a NUL-terminated UTF-8 string (NULL if `t` is not a string tensor or
 * `i` is out of range). */
MDK_API const char *mdk_tensor_string(const mdk_tensor *t, size_t i);
MDK_API mdk_status mdk_tensor_set_string(mdk_tensor *t, size_t i, const char *s, size_t len);

/* Element `i` converted to double (bool 0/1; float16/bfloat16 widened). NaN for strings or out of range. */
MDK_API double mdk_tensor_get_f64(const mdk_tensor *t, size_t i);

/* The tensor's name ("" when unnamed): the input or output it belongs to. */
MDK_API const char *mdk_tensor_name(const mdk_tensor *t);
MDK_API mdk_status mdk_tensor_set_name(mdk_tensor *t, const char *name);

MDK_API mdk_value_kind mdk_tensor_kind(const mdk_tensor *t);

/* A sequence of `n` tensors of element type `dtype`, taking ownership of `items` (each a tensor of
 * `dtype`; the array itself stays the caller's). On failure the items are freed too. */
MDK_API mdk_status mdk_sequence_new(mdk_dtype dtype, mdk_tensor *const *items, size_t n, mdk_tensor **out);
/* An optional holding `value` (a tensor or a sequence, owned from now on), or nothing when `value` is NULL;
 * `dtype` is the element type either way. */
MDK_API mdk_status mdk_optional_new(mdk_dtype dtype, mdk_tensor *value, mdk_tensor **out);
/* The items of a sequence (0 and NULL for other kinds), and an optional's value (NULL when empty or not
 * an optional). Owned by `t`. */
MDK_API size_t mdk_sequence_length(const mdk_tensor *t);
MDK_API mdk_tensor *mdk_sequence_item(const mdk_tensor *t, size_t i);
MDK_API mdk_tensor *mdk_optional_value(const mdk_tensor *t);

/* Reinterprets the element bits in place as `dtype`, which must have the same element size (e.g. uint16
 * as bfloat16: NumPy has no bfloat16, so such data is commonly stored as uint16). Strings and bools are
 * not reinterpretable. */
MDK_API mdk_status mdk_tensor_reinterpret(mdk_tensor *t, mdk_dtype dtype);

/* Reshapes in place to a shape with the same element count. */
MDK_API mdk_status mdk_tensor_reshape(mdk_tensor *t, size_t ndim, const int64_t *shape);

/* Fills the tensor with pseudo-random values from `seed`: floats uniform in [0, 1), integers uniform in
 * [0, 10) (clipped to the type's range), bools 0/1, strings of 1 to 8 lowercase letters. */
MDK_API void mdk_tensor_fill_random(mdk_tensor *t, uint64_t seed);

/* ---------------------------------------------------------------------------------------------------
 * Files. The format follows the extension: .npy (NumPy), .pb (ONNX TensorProto), .json (see below).
 * Readers never trust their input: every size is checked against the caps above and the actual length.
 *
 * JSON tensors are either
 *   {"name": "x", "datatype": "FP32", "shape": [2, 2], "data": [1, 2, 3, 4]}   (KServe v2 style; "dtype"
 *                                           is accepted for "datatype"; "data" may be flat or nested), or
 *   a bare (nested) array such as [[1, 2], [3, 4]], whose shape is its nesting and whose dtype is float32
 *   for numbers, bool for true/false and string for strings unless a dtype is expected (below).
 * NaN and infinities are written as the strings "NaN", "Infinity" and "-Infinity" and read back. */
typedef enum mdk_format {
    MDK_FORMAT_AUTO = 0,
    MDK_FORMAT_NPY = 1,
    MDK_FORMAT_PB = 2,
    MDK_FORMAT_JSON = 3
} mdk_format;

/* Reads one tensor from `path`. `expect` is the dtype the caller wants, or MDK_DTYPE_UNDEFINED: it only
 * guides bare JSON arrays, which are converted to it; files carrying their own dtype are not converted. */
MDK_API mdk_status mdk_tensor_read(const char *path, mdk_dtype expect, mdk_tensor **out);
/* Reads a value of `kind` from `path`. Files do not say which ONNX message they hold, so sequences and
 * optionals (ONNX SequenceProto / OptionalProto) are read only when asked for, and only from .pb files. */
MDK_API mdk_status mdk_value_read(const char *path, mdk_value_kind kind, mdk_dtype expect, mdk_tensor **out);
/* The same from memory; `format` must not be MDK_FORMAT_AUTO. `what` names the buffer in messages. */
MDK_API mdk_status mdk_tensor_read_memory(const void *data, size_t len, mdk_format format, mdk_dtype expect,
                                          const char *what, mdk_tensor **out);
/* Writes one tensor to `path` in the format of its extension (sequences and optionals: .pb only), atomically (a temporary file renamed into
 * place: an existing file is replaced only when the write succeeded). */
MDK_API mdk_status mdk_tensor_write(const mdk_tensor *t, const char *path);
/* Encodes to a new buffer the caller frees with mdk_free(). */
MDK_API mdk_status mdk_tensor_write_memory(const mdk_tensor *t, mdk_format format, void **data, size_t *len);

/* Reads every array of a NumPy .npz archive (stored or deflated), named by member without ".npy", in
 * archive order. Frees with mdk_tensors_free. */
MDK_API mdk_status mdk_npz_read(const char *path, mdk_tensor ***out, size_t *count);
/* Writes `n` named tensors as an .npz archive (deflated when `compress`), atomically. Names must be
 * unique and non-empty. */
MDK_API mdk_status mdk_npz_write(const char *path, mdk_tensor *const *ts, size_t n, int compress);

/* ---------------------------------------------------------------------------------------------------
 * Comparison, with NumPy's allclose rule per element: |actual - expected| <= atol + rtol * |expected|.
 * NaN equals NaN; infinities equal when identical. Strings and bools compare exactly. */
typedef struct mdk_compare {
    int pass;              /* 1 when dtype and shape agree and every element is within tolerance */
    int dtype_match;
    int shape_match;
    size_t mismatches;     /* elements out of tolerance */
    double max_abs_err;    /* largest |actual - expected| over finite pairs */
    double max_rel_err;    /* largest |actual - expected| / |expected| over finite pairs with expected != 0 */
    size_t worst_index;    /* flat index of the element furthest beyond its tolerance (or of max_abs_err) */
    double worst_actual;
    double worst_expected;
} mdk_compare;

/* Compares `actual` with `expected`. Sequences compare item by item (lengths must agree; worst_index then
 * counts elements across items); optionals compare their values (two empty optionals agree). Returns MDK_OK whenever the comparison could be made; the verdict is
 * in `out->pass`. */
MDK_API mdk_status mdk_tensor_compare(const mdk_tensor *actual, const mdk_tensor *expected, double rtol, double atol,
                                      mdk_compare *out);

/* Checks a run's outputs against expected tensors, as test cases do: each expected tensor is matched to the
 * output of the same name (an unnamed one, or any when the counts agree and no name matches, to the output
 * at its position), then compared with mdk_tensor_compare. Expected values of a bfloat16 output stored as
 * uint16 bits (NumPy has no bfloat16) are reinterpreted in place as bfloat16 first. Returns 1 when every
 * expected tensor passes, else 0 with one line in `why` (`size` bytes; may be NULL) naming the first output
 * that failed and how: missing, dtype, shape, strings, or elements out of tolerance with the worst one.
 * `results` (may be NULL) receives one comparison per expected tensor, zeroed for a missing output. */
MDK_API int mdk_outputs_check(mdk_tensor *const *outputs, size_t n_outputs, mdk_tensor *const *expected,
                              size_t n_expected, double rtol, double atol, mdk_compare *results, char *why, size_t size);

/* Writes a shape as "[1, 3, 224, 224]" into `buf` (always NUL-terminated, truncated to `size`). */
MDK_API const char *mdk_shape_str(size_t ndim, const int64_t *shape, char *buf, size_t size);

#ifdef __cplusplus
}
#endif

#endif
