/* tensor_int.h: the tensor struct and helpers shared by the tensor module's codecs. */
#ifndef MDK_TENSOR_INT_H
#define MDK_TENSOR_INT_H

#include "core/core.h"

struct mdk_tensor {
    mdk_value_kind kind;
    mdk_tensor **items; /* sequence items, or an optional's value (n_items 0 or 1) */
    size_t n_items;
    mdk_dtype dtype;    /* the element type, for every kind */
    size_t ndim;
    int64_t shape[MDK_MAX_DIMS];
    size_t count;
    size_t nbytes; /* 0 for strings */
    void *data;    /* elements, or char *[count] for strings (each NUL-terminated, never NULL) */
    char *name;
};

/* Checks ndim/shape and computes the element count and byte size against MDK_TENSOR_MAX_BYTES. `what` names
 * the tensor in messages. */
mdk_status mdki_shape_check(mdk_dtype dtype, size_t ndim, const int64_t *shape, const char *what, size_t *count,
                            size_t *nbytes);
/* Whether the dtype can be held in an mdk_tensor. */
int mdki_dtype_supported(mdk_dtype dtype);
/* Sets element i from a double, converting (rounding toward zero for integers, saturating at the type's range). */
void mdki_tensor_set_f64(mdk_tensor *t, size_t i, double v);
/* Appends `t` to a growing array of `*n` tensors, taking ownership of it (freed on failure too); at most
 * `cap` tensors. */
mdk_status mdki_tensors_push(mdk_tensor ***arr, size_t *n, mdk_tensor *t, size_t cap);
/* Takes ownership of `s` (malloc'd via mdki_malloc) as element i of a string tensor. */
void mdki_tensor_take_string(mdk_tensor *t, size_t i, char *s);

float mdki_f16_to_f32(uint16_t h);
uint16_t mdki_f32_to_f16(float f);
float mdki_bf16_to_f32(uint16_t h);
uint16_t mdki_f32_to_bf16(float f);

/* Codecs (tensor/npy.c, pb.c, json.c). `what` names the source in messages. */
mdk_status mdki_npy_decode(const void *data, size_t len, const char *what, mdk_tensor **out);
mdk_status mdki_npy_encode(const mdk_tensor *t, mdki_buf *out);
mdk_status mdki_pb_decode(const void *data, size_t len, const char *what, mdk_tensor **out);
/* Decodes a SequenceProto (kind MDK_VALUE_SEQUENCE) or OptionalProto (MDK_VALUE_OPTIONAL). */
mdk_status mdki_pb_decode_value(const void *data, size_t len, mdk_value_kind kind, const char *what, mdk_tensor **out);
mdk_status mdki_pb_encode(const mdk_tensor *t, void **data, size_t *len);
mdk_status mdki_json_decode(const void *data, size_t len, mdk_dtype expect, const char *what, mdk_tensor **out);
/* Element `i` of `t` from a JSON value (`struct cJSON`): a string for string tensors; a number, a bool, or the
 * strings "NaN", "Infinity", "-Infinity" (also "inf", any case) for the others. `strict` refuses non-integers and
 * values outside an integer dtype's range (the v2 protocol), else they are truncated and saturated. */
struct cJSON;
mdk_status mdki_json_put_value(mdk_tensor *t, size_t i, const struct cJSON *v, int strict, const char *what);
mdk_status mdki_json_encode(const mdk_tensor *t, mdki_buf *out);
/* Writes element `i` of `t` as a JSON value: a string, a number with round-trip precision (integers exact),
 * true/false, or "NaN"/"Infinity"/"-Infinity" quoted as the v2 protocol writes them. */
void mdki_jw_element(mdki_jw *w, const mdk_tensor *t, size_t i);
/* Writes "name", "datatype" (v2 names) and "shape" into the object open in `w`. */
void mdki_jw_tensor_head(mdki_jw *w, const mdk_tensor *t);
/* Writes `t` as a v2 tensor object {"name", "datatype", "shape", "data"}. */
void mdki_jw_tensor(mdki_jw *w, const mdk_tensor *t);
mdk_status mdki_npz_decode(const void *data, size_t len, const char *what, mdk_tensor ***out, size_t *count);

#endif
