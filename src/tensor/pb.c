/* pb.c: ONNX TensorProto files (.pb), the format of ONNX's test data, read and written with protobuf-c. */
#include <string.h>

#include "onnx/onnx_int.h"
#include "tensor/tensor_int.h"

/* Copies the typed values of a repeated field into the tensor (their count was checked before). */
#define COPY_FIELD(field)                                                                           \
    do {                                                                                            \
        for (size_t i = 0; i < t->count; i++) mdki_tensor_set_f64(t, i, (double)p->field[i]);         \
    } while (0)

/* How many values the message actually carries for `dt`, so that a small file cannot make the reader
 * allocate a large declared shape. Sets *ragged when raw_data is not a whole number of elements. */
static size_t values_present(const Onnx__TensorProto *p, mdk_dtype dt, int *ragged)
{
    *ragged = 0;
    if (dt == MDK_DTYPE_STRING) return p->n_string_data;
    if (p->has_raw_data) {
        size_t es = mdk_dtype_size(dt);
        *ragged = p->raw_data.len % es != 0;
        return p->raw_data.len / es;
    }
    switch (dt) {
    case MDK_DTYPE_FLOAT32: return p->n_float_data;
    case MDK_DTYPE_FLOAT64: return p->n_double_data;
    case MDK_DTYPE_INT64: return p->n_int64_data;
    case MDK_DTYPE_UINT64: case MDK_DTYPE_UINT32: return p->n_uint64_data;
    default: return p->n_int32_data;
    }
}

static mdk_status tensor_from_proto(const Onnx__TensorProto *p, const char *what, mdk_tensor **out)
{
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
    int ragged;
    size_t present = values_present(p, dt, &ragged);
    if (present != count || ragged) {
        char sb[256];
        st = mdki_fail(MDK_ERR_FORMAT, "%s: TensorProto holds %zu%s %s values, its shape %s needs %zu", what, present,
                       ragged ? " and a fraction of" : "", mdk_dtype_name(dt), mdk_shape_str(p->n_dims, p->dims, sb, sizeof sb),
                       count);
        goto done;
    }
    st = mdk_tensor_new(dt, p->n_dims, p->dims, &t);
    if (st != MDK_OK) goto done;
    if (p->name && *p->name && (st = mdk_tensor_set_name(t, p->name)) != MDK_OK) goto done;

    if (dt == MDK_DTYPE_STRING) {
        for (size_t i = 0; i < count; i++) {
            st = mdk_tensor_set_string(t, i, (const char *)p->string_data[i].data, p->string_data[i].len);
            if (st != MDK_OK) goto done;
        }
    } else if (p->has_raw_data) {
        if (nbytes) memcpy(t->data, p->raw_data.data, nbytes);
        if (dt == MDK_DTYPE_BOOL)
            for (size_t i = 0; i < count; i++) ((uint8_t *)t->data)[i] = ((uint8_t *)t->data)[i] != 0;
    } else {
        switch (dt) {
        case MDK_DTYPE_FLOAT32:
            if (count) memcpy(t->data, p->float_data, nbytes);
            break;
        case MDK_DTYPE_FLOAT64:
            if (count) memcpy(t->data, p->double_data, nbytes);
            break;
        case MDK_DTYPE_INT64:
            if (count) memcpy(t->data, p->int64_data, nbytes);
            break;
        case MDK_DTYPE_UINT64:
            if (count) memcpy(t->data, p->uint64_data, nbytes);
            break;
        case MDK_DTYPE_UINT32: COPY_FIELD(uint64_data); break;
        case MDK_DTYPE_FLOAT16:
        case MDK_DTYPE_BFLOAT16:
            /* The 16 bits of each value sit in the low half of an int32_data entry. */
            for (size_t i = 0; i < count; i++) ((uint16_t *)t->data)[i] = (uint16_t)p->int32_data[i];
            break;
        default: COPY_FIELD(int32_data); break;
        }
    }
    *out = t;
    t = NULL;
    st = MDK_OK;
done:
    mdk_tensor_free(t);
    return st;
}

mdk_status mdki_pb_decode(const void *data, size_t len, const char *what, mdk_tensor **out)
{
    unsigned long failures = mdki_alloc_failures();
    Onnx__TensorProto *p = onnx__tensor_proto__unpack(&mdki_pb_allocator, len, data);
    if (!p && mdki_alloc_failures() != failures) return mdki_fail(MDK_ERR_NO_MEMORY, "%s: out of memory", what);
    if (!p) return mdki_fail(MDK_ERR_FORMAT, "%s: not an ONNX TensorProto (protobuf parse failed)", what);
    mdk_status st = tensor_from_proto(p, what, out);
    onnx__tensor_proto__free_unpacked(p, &mdki_pb_allocator);
    return st;
}

/* SequenceProto/OptionalProto elem_type values. */
enum { ELEM_TENSOR = 1, ELEM_SEQUENCE = 3 };

static mdk_status sequence_from_proto(const Onnx__SequenceProto *p, const char *what, mdk_tensor **out)
{
    if (p->has_elem_type && p->elem_type != ELEM_TENSOR && !(p->elem_type == 0 && p->n_tensor_values == 0))
        return mdki_fail(MDK_ERR_UNSUPPORTED, "%s: only sequences of tensors are supported (elem_type %d)", what,
                         p->elem_type);
    mdk_tensor **items = mdki_calloc(p->n_tensor_values ? p->n_tensor_values : 1, sizeof *items);
    if (!items) return MDK_ERR_NO_MEMORY;
    mdk_status st = MDK_OK;
    size_t n = 0;
    for (; n < p->n_tensor_values && st == MDK_OK; n++) st = tensor_from_proto(p->tensor_values[n], what, &items[n]);
    if (st != MDK_OK) n--;
    mdk_dtype dt = n ? mdk_tensor_dtype(items[0]) : MDK_DTYPE_UNDEFINED;
    if (st == MDK_OK) st = mdk_sequence_new(dt, items, n, out);
    else
        for (size_t i = 0; i < n; i++) mdk_tensor_free(items[i]);
    if (st == MDK_OK && p->name && *p->name) st = mdk_tensor_set_name(*out, p->name);
    mdki_free(items);
    return st;
}

mdk_status mdki_pb_decode_value(const void *data, size_t len, mdk_value_kind kind, const char *what, mdk_tensor **out)
{
    if (kind == MDK_VALUE_TENSOR) return mdki_pb_decode(data, len, what, out);
    unsigned long failures = mdki_alloc_failures();
    mdk_status st = MDK_OK;
    if (kind == MDK_VALUE_SEQUENCE) {
        Onnx__SequenceProto *p = onnx__sequence_proto__unpack(&mdki_pb_allocator, len, data);
        if (!p)
            return mdki_alloc_failures() != failures ? mdki_fail(MDK_ERR_NO_MEMORY, "%s: out of memory", what)
                                                    : mdki_fail(MDK_ERR_FORMAT, "%s: not an ONNX SequenceProto", what);
        st = sequence_from_proto(p, what, out);
        onnx__sequence_proto__free_unpacked(p, &mdki_pb_allocator);
        return st;
    }
    if (kind != MDK_VALUE_OPTIONAL)
        return mdki_fail(MDK_ERR_UNSUPPORTED, "%s: maps and other non-tensor values are not supported", what);
    Onnx__OptionalProto *p = onnx__optional_proto__unpack(&mdki_pb_allocator, len, data);
    if (!p)
        return mdki_alloc_failures() != failures ? mdki_fail(MDK_ERR_NO_MEMORY, "%s: out of memory", what)
                                                : mdki_fail(MDK_ERR_FORMAT, "%s: not an ONNX OptionalProto", what);
    mdk_tensor *value = NULL;
    if (p->tensor_value) st = tensor_from_proto(p->tensor_value, what, &value);
    else if (p->sequence_value) st = sequence_from_proto(p->sequence_value, what, &value);
    else if (p->sparse_tensor_value || p->map_value || p->optional_value)
        st = mdki_fail(MDK_ERR_UNSUPPORTED, "%s: optionals of sparse tensors, maps or optionals are not supported", what);
    if (st == MDK_OK) st = mdk_optional_new(value ? mdk_tensor_dtype(value) : MDK_DTYPE_UNDEFINED, value, out);
    else mdk_tensor_free(value);
    if (st == MDK_OK && p->name && *p->name) st = mdk_tensor_set_name(*out, p->name);
    onnx__optional_proto__free_unpacked(p, &mdki_pb_allocator);
    return st;
}

/* Points `p` at `t`'s data (no copy); `*strs` receives an array to free after packing. */
static mdk_status tensor_to_proto(const mdk_tensor *t, Onnx__TensorProto *p, ProtobufCBinaryData **strs)
{
    onnx__tensor_proto__init(p);
    *strs = NULL;
    p->n_dims = t->ndim;
    p->dims = (int64_t *)t->shape;
    p->has_data_type = 1;
    p->data_type = (int32_t)t->dtype;
    p->name = (char *)mdk_tensor_name(t);
    if (t->dtype == MDK_DTYPE_STRING) {
        *strs = mdki_calloc(t->count ? t->count : 1, sizeof **strs);
        if (!*strs) return MDK_ERR_NO_MEMORY;
        for (size_t i = 0; i < t->count; i++) {
            (*strs)[i].data = (uint8_t *)((char **)t->data)[i];
            (*strs)[i].len = strlen(((char **)t->data)[i]);
        }
        p->n_string_data = t->count;
        p->string_data = *strs;
    } else {
        p->has_raw_data = 1;
        p->raw_data.data = t->data;
        p->raw_data.len = t->nbytes;
    }
    return MDK_OK;
}

/* The protobuf messages that encode one value, kept until packed. */
typedef struct pb_parts {
    Onnx__TensorProto *tensors;
    Onnx__TensorProto **tensor_ptrs;
    ProtobufCBinaryData **strs;
    size_t n;
    Onnx__SequenceProto seq;
} pb_parts;

static void parts_free(pb_parts *pp)
{
    for (size_t i = 0; i < pp->n; i++) mdki_free(pp->strs ? pp->strs[i] : NULL);
    mdki_free(pp->strs);
    mdki_free(pp->tensors);
    mdki_free(pp->tensor_ptrs);
}

static mdk_status sequence_to_proto(const mdk_tensor *t, pb_parts *pp)
{
    memset(pp, 0, sizeof *pp);
    onnx__sequence_proto__init(&pp->seq);
    size_t n = t->n_items;
    pp->tensors = mdki_calloc(n ? n : 1, sizeof *pp->tensors);
    pp->tensor_ptrs = mdki_calloc(n ? n : 1, sizeof *pp->tensor_ptrs);
    pp->strs = mdki_calloc(n ? n : 1, sizeof *pp->strs);
    if (!pp->tensors || !pp->tensor_ptrs || !pp->strs) return MDK_ERR_NO_MEMORY;
    for (; pp->n < n; pp->n++) {
        mdk_status st = tensor_to_proto(t->items[pp->n], &pp->tensors[pp->n], &pp->strs[pp->n]);
        if (st != MDK_OK) return st;
        pp->tensor_ptrs[pp->n] = &pp->tensors[pp->n];
    }
    pp->seq.name = (char *)mdk_tensor_name(t);
    pp->seq.has_elem_type = 1;
    pp->seq.elem_type = ELEM_TENSOR;
    pp->seq.n_tensor_values = n;
    pp->seq.tensor_values = pp->tensor_ptrs;
    return MDK_OK;
}

mdk_status mdki_pb_encode(const mdk_tensor *t, void **data, size_t *len)
{
    const ProtobufCMessage *msg;
    Onnx__TensorProto tp;
    Onnx__OptionalProto op;
    ProtobufCBinaryData *strs = NULL;
    pb_parts pp;
    memset(&pp, 0, sizeof pp);
    mdk_status st = MDK_OK;
    if (t->kind == MDK_VALUE_TENSOR) {
        st = tensor_to_proto(t, &tp, &strs);
        msg = &tp.base;
    } else if (t->kind == MDK_VALUE_SEQUENCE) {
        st = sequence_to_proto(t, &pp);
        msg = &pp.seq.base;
    } else {
        const mdk_tensor *v = mdk_optional_value(t);
        onnx__optional_proto__init(&op);
        op.name = (char *)mdk_tensor_name(t);
        op.has_elem_type = 1;
        op.elem_type = v && v->kind == MDK_VALUE_SEQUENCE ? ELEM_SEQUENCE : ELEM_TENSOR;
        if (v && v->kind == MDK_VALUE_SEQUENCE) {
            st = sequence_to_proto(v, &pp);
            op.sequence_value = &pp.seq;
        } else if (v) {
            st = tensor_to_proto(v, &tp, &strs);
            op.tensor_value = &tp;
        }
        msg = &op.base;
    }
    uint8_t *buf = NULL;
    size_t n = 0;
    if (st == MDK_OK) {
        n = protobuf_c_message_get_packed_size(msg);
        buf = mdki_malloc(n);
        if (!buf) st = MDK_ERR_NO_MEMORY;
        else protobuf_c_message_pack(msg, buf);
    }
    mdki_free(strs);
    parts_free(&pp);
    if (st != MDK_OK) return st;
    *data = buf;
    *len = n;
    return MDK_OK;
}
