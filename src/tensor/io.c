/* io.c: reading and writing single tensors by format, from files or memory. */
#include <string.h>

#include "tensor/tensor_int.h"

static mdk_format format_of(const char *path)
{
    const char *ext = mdki_path_ext(path);
    if (strcasecmp(ext, "npy") == 0) return MDK_FORMAT_NPY;
    if (strcasecmp(ext, "pb") == 0) return MDK_FORMAT_PB;
    if (strcasecmp(ext, "json") == 0) return MDK_FORMAT_JSON;
    return MDK_FORMAT_AUTO;
}

mdk_status mdk_tensor_read_memory(const void *data, size_t len, mdk_format format, mdk_dtype expect,
                                  const char *what, mdk_tensor **out)
{
    if ((!data && len) || !out) return mdki_fail(MDK_ERR_INVALID_ARGUMENT, "mdk_tensor_read_memory: NULL argument");
    if (!what) what = "tensor";
    if (!data) data = "";
    switch (format) {
    case MDK_FORMAT_NPY: return mdki_npy_decode(data, len, what, out);
    case MDK_FORMAT_PB: return mdki_pb_decode(data, len, what, out);
    case MDK_FORMAT_JSON: return mdki_json_decode(data, len, expect, what, out);
    default: return mdki_fail(MDK_ERR_INVALID_ARGUMENT, "%s: no tensor format given", what);
    }
}

mdk_status mdk_tensor_read(const char *path, mdk_dtype expect, mdk_tensor **out)
{
    return mdk_value_read(path, MDK_VALUE_TENSOR, expect, out);
}

mdk_status mdk_value_read(const char *path, mdk_value_kind kind, mdk_dtype expect, mdk_tensor **out)
{
    if (!path || !out) return mdki_fail(MDK_ERR_INVALID_ARGUMENT, "mdk_value_read: NULL argument");
    mdk_format f = format_of(path);
    if (f == MDK_FORMAT_AUTO)
        return mdki_fail(MDK_ERR_UNSUPPORTED, "'%s': unknown tensor file type, expected .npy, .pb or .json", path);
    char *data;
    size_t len;
    uint64_t cap = f == MDK_FORMAT_JSON ? MDK_JSON_MAX_BYTES : MDK_TENSOR_MAX_BYTES + (1u << 20);
    mdk_status st = mdki_read_file(path, cap, "tensor file", &data, &len);
    if (st != MDK_OK) return st;
    if (kind != MDK_VALUE_TENSOR && f != MDK_FORMAT_PB)
        st = mdki_fail(MDK_ERR_UNSUPPORTED, "'%s': sequences and optionals are read from .pb files only", path);
    else if (kind != MDK_VALUE_TENSOR)
        st = mdki_pb_decode_value(data, len, kind, path, out);
    else
        st = mdk_tensor_read_memory(data, len, f, expect, path, out);
    mdki_free(data);
    return st;
}

mdk_status mdk_tensor_write_memory(const mdk_tensor *t, mdk_format format, void **data, size_t *len)
{
    if (!t || !data || !len) return mdki_fail(MDK_ERR_INVALID_ARGUMENT, "mdk_tensor_write_memory: NULL argument");
    if (format == MDK_FORMAT_PB) return mdki_pb_encode(t, data, len);
    if (t->kind != MDK_VALUE_TENSOR)
        return mdki_fail(MDK_ERR_UNSUPPORTED, "sequences and optionals are written as .pb only");
    mdki_buf b;
    mdki_buf_init(&b, MDK_TENSOR_MAX_BYTES * 8);
    mdk_status st;
    if (format == MDK_FORMAT_NPY) st = mdki_npy_encode(t, &b);
    else if (format == MDK_FORMAT_JSON) st = mdki_json_encode(t, &b);
    else st = mdki_fail(MDK_ERR_INVALID_ARGUMENT, "no tensor format given");
    if (st == MDK_OK && !b.data) st = mdki_buf_add(&b, "", 0);
    if (st != MDK_OK) {
        mdki_buf_free(&b);
        return st;
    }
    *data = mdki_buf_take(&b, len);
    return MDK_OK;
}

mdk_status mdk_tensor_write(const mdk_tensor *t, const char *path)
{
    if (!t || !path) return mdki_fail(MDK_ERR_INVALID_ARGUMENT, "mdk_tensor_write: NULL argument");
    mdk_format f = format_of(path);
    if (f == MDK_FORMAT_AUTO)
        return mdki_fail(MDK_ERR_UNSUPPORTED, "'%s': unknown tensor file type, expected .npy, .pb or .json", path);
    void *data;
    size_t len;
    mdk_status st = mdk_tensor_write_memory(t, f, &data, &len);
    if (st != MDK_OK) return st;
    st = mdki_write_file(path, data, len);
    mdki_free(data);
    return st;
}
