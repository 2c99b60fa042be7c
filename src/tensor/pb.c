/* pb.c: ONNX TensorProto files (.pb), the format of ONNX's test data, read and written with protobuf-c. */
#include <string.h>

#include "onnx/onnx_int.h"
#include "tensor/tensor_int.h"

/* Copies `n` typed values of a repeated field into the tensor, checking the count. */
#define COPY_FIELD(field, nfield)                                                                   \
    do {                                                                                            \
        if (p->nfield != t->count) goto count_bad;                                                   \
        for (size_t i = 0; i < t->count; i++) mdki_tensor_set_f64(t, i, (double)p->field[i]);         \
    } while (0)

mdk_status mdki_pb_decode(const void *data, size_t len, const char *what, mdk_tensor **out)
{
    unsigned long failures = mdki_alloc_failures();
    Onnx__TensorProto *p = onnx__tensor_proto__unpack(&mdki_pb_allocator, len, data);
    if (!p && mdki_alloc_failures() != failures) return mdki_fail(MDK_ERR_NO_MEMORY, "%s: out of memory", what);
    if (!p) return mdki_fail(MDK_ERR_FORMAT, "%s: not an ONNX TensorProto (protobuf parse failed)", what);
    mdk_status st;
    mdk_tensor *t = NULL;
    if (!p->has_data_type) {
        st = mdki_fail(MDK_ERR_FORMAT, "%s: TensorProto has no data_type", what);
        goto done;
    }
    if (p->segment) {
        st = mdki_fail(MDK_ERR_UNSUPPORTED, "%s: segmented TensorProto is not supported", what);
        goto done;
    }
    if (p->has_data_location && p->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL) {
        st = mdki_fail(MDK_ERR_UNSUPPORTED, "%s: TensorProto with external data is not supported", what);
        goto done;
    }
    if (p->n_dims > MDK_MAX_DIMS) {
        st = mdki_fail(MDK_ERR_TOO_LARGE, "%s: rank %zu exceeds the limit of %d dims", what, p->n_dims, MDK_MAX_DIMS);
        goto done;
    }
    mdk_dtype dt = (mdk_dtype)p->data_type;
    size_t count, nbytes;
    st = mdki_shape_check(dt, p->n_dims, p->dims, what, &count, &nbytes);
    if (st != MDK_OK) goto done;
    st = mdk_tensor_new(dt, p->n_dims, p->dims, &t);
    if (st != MDK_OK) goto done;
    if (p->name && *p->name && (st = mdk_tensor_set_name(t, p->name)) != MDK_OK) goto done;

    if (dt == MDK_DTYPE_STRING) {
        if (p->n_string_data != count) goto count_bad;
        for (size_t i = 0; i < count; i++) {
            st = mdk_tensor_set_string(t, i, (const char *)p->string_data[i].data, p->string_data[i].len);
            if (st != MDK_OK) goto done;
        }
    } else if (p->has_raw_data) {
        if (p->raw_data.len != nbytes) {
            st = mdki_fail(MDK_ERR_FORMAT, "%s: raw_data is %zu bytes, expected %zu for %zu %s elements", what,
                           p->raw_data.len, nbytes, count, mdk_dtype_name(dt));
            goto done;
        }
        if (nbytes) memcpy(t->data, p->raw_data.data, nbytes);
        if (dt == MDK_DTYPE_BOOL)
            for (size_t i = 0; i < count; i++) ((uint8_t *)t->data)[i] = ((uint8_t *)t->data)[i] != 0;
    } else {
        switch (dt) {
        case MDK_DTYPE_FLOAT32:
            if (p->n_float_data != count) goto count_bad;
            if (count) memcpy(t->data, p->float_data, nbytes);
            break;
        case MDK_DTYPE_FLOAT64:
            if (p->n_double_data != count) goto count_bad;
            if (count) memcpy(t->data, p->double_data, nbytes);
            break;
        case MDK_DTYPE_INT64:
            if (p->n_int64_data != count) goto count_bad;
            if (count) memcpy(t->data, p->int64_data, nbytes);
            break;
        case MDK_DTYPE_UINT64:
            if (p->n_uint64_data != count) goto count_bad;
            if (count) memcpy(t->data, p->uint64_data, nbytes);
            break;
        case MDK_DTYPE_UINT32: COPY_FIELD(uint64_data, n_uint64_data); break;
        case MDK_DTYPE_FLOAT16:
        case MDK_DTYPE_BFLOAT16:
            /* The 16 bits of each value sit in the low half of an int32_data entry. */
            if (p->n_int32_data != count) goto count_bad;
            for (size_t i = 0; i < count; i++) ((uint16_t *)t->data)[i] = (uint16_t)p->int32_data[i];
            break;
        default: COPY_FIELD(int32_data, n_int32_data); break;
        }
    }
    *out = t;
    t = NULL;
    st = MDK_OK;
    goto done;
count_bad:
    st = mdki_fail(MDK_ERR_FORMAT, "%s: TensorProto holds the wrong number of values for %zu %s elements", what,
                   t->count, mdk_dtype_name(dt));
done:
    mdk_tensor_free(t);
    onnx__tensor_proto__free_unpacked(p, &mdki_pb_allocator);
    return st;
}

mdk_status mdki_pb_encode(const mdk_tensor *t, void **data, size_t *len)
{
    Onnx__TensorProto p = ONNX__TENSOR_PROTO__INIT;
    ProtobufCBinaryData *strs = NULL;
    p.n_dims = t->ndim;
    p.dims = (int64_t *)t->shape;
    p.has_data_type = 1;
    p.data_type = (int32_t)t->dtype;
    p.name = (char *)mdk_tensor_name(t);
    if (t->dtype == MDK_DTYPE_STRING) {
        strs = mdki_calloc(t->count ? t->count : 1, sizeof *strs);
        if (!strs) return MDK_ERR_NO_MEMORY;
        for (size_t i = 0; i < t->count; i++) {
            strs[i].data = (uint8_t *)((char **)t->data)[i];
            strs[i].len = strlen(((char **)t->data)[i]);
        }
        p.n_string_data = t->count;
        p.string_data = strs;
    } else {
        p.has_raw_data = 1;
        p.raw_data.data = t->data;
        p.raw_data.len = t->nbytes;
    }
    size_t n = onnx__tensor_proto__get_packed_size(&p);
    uint8_t *buf = mdki_malloc(n);
    if (!buf) {
        mdki_free(strs);
        return MDK_ERR_NO_MEMORY;
    }
    onnx__tensor_proto__pack(&p, buf);
    mdki_free(strs);
    *data = buf;
    *len = n;
    return MDK_OK;
}
