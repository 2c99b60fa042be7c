/* tensor.c: the mdk_tensor type: creation, element access, dtypes and half-precision conversion. */
#include <math.h>
#include <string.h>

#include "tensor/tensor_int.h"

static const struct {
    mdk_dtype dtype;
    const char *name;
    size_t size;
} g_dtypes[] = {
    {MDK_DTYPE_FLOAT32, "float32", 4}, {MDK_DTYPE_UINT8, "uint8", 1},     {MDK_DTYPE_INT8, "int8", 1},
    {MDK_DTYPE_UINT16, "uint16", 2},   {MDK_DTYPE_INT16, "int16", 2},     {MDK_DTYPE_INT32, "int32", 4},
    {MDK_DTYPE_INT64, "int64", 8},     {MDK_DTYPE_STRING, "string", 0},   {MDK_DTYPE_BOOL, "bool", 1},
    {MDK_DTYPE_FLOAT16, "float16", 2}, {MDK_DTYPE_FLOAT64, "float64", 8}, {MDK_DTYPE_UINT32, "uint32", 4},
    {MDK_DTYPE_UINT64, "uint64", 8},   {MDK_DTYPE_COMPLEX64, "complex64", 0},
    {MDK_DTYPE_COMPLEX128, "complex128", 0}, {MDK_DTYPE_BFLOAT16, "bfloat16", 2},
};

/* Other spellings: ONNX's TensorProto names and KServe v2 datatypes. */
static const struct {
    const char *alias;
    mdk_dtype dtype;
} g_aliases[] = {
    {"float", MDK_DTYPE_FLOAT32},  {"double", MDK_DTYPE_FLOAT64}, {"half", MDK_DTYPE_FLOAT16},
    {"fp32", MDK_DTYPE_FLOAT32},   {"fp64", MDK_DTYPE_FLOAT64},   {"fp16", MDK_DTYPE_FLOAT16},
    {"bf16", MDK_DTYPE_BFLOAT16},  {"bytes", MDK_DTYPE_STRING},   {"str", MDK_DTYPE_STRING},
    {"boolean", MDK_DTYPE_BOOL},
};

const char *mdk_dtype_name(mdk_dtype dtype)
{
    for (size_t i = 0; i < sizeof g_dtypes / sizeof g_dtypes[0]; i++)
        if (g_dtypes[i].dtype == dtype) return g_dtypes[i].name;
    return "undefined";
}

mdk_dtype mdk_dtype_from_name(const char *name)
{
    if (!name) return MDK_DTYPE_UNDEFINED;
    for (size_t i = 0; i < sizeof g_dtypes / sizeof g_dtypes[0]; i++)
        if (strcasecmp(g_dtypes[i].name, name) == 0) return g_dtypes[i].dtype;
    for (size_t i = 0; i < sizeof g_aliases / sizeof g_aliases[0]; i++)
        if (strcasecmp(g_aliases[i].alias, name) == 0) return g_aliases[i].dtype;
    /* KServe's INT8/UINT64/... and ONNX's INT8/UINT64 are the NumPy names uppercased. */
    return MDK_DTYPE_UNDEFINED;
}

size_t mdk_dtype_size(mdk_dtype dtype)
{
    for (size_t i = 0; i < sizeof g_dtypes / sizeof g_dtypes[0]; i++)
        if (g_dtypes[i].dtype == dtype) return g_dtypes[i].size;
    return 0;
}

int mdki_dtype_supported(mdk_dtype dtype)
{
    return dtype == MDK_DTYPE_STRING || mdk_dtype_size(dtype) > 0;
}

mdk_status mdki_shape_check(mdk_dtype dtype, size_t ndim, const int64_t *shape, const char *what, size_t *count,
                            size_t *nbytes)
{
    if (!mdki_dtype_supported(dtype))
        return mdki_fail(MDK_ERR_UNSUPPORTED, "%s: element type %s (%d) is not supported", what,
                         mdk_dtype_name(dtype), (int)dtype);
    if (ndim > MDK_MAX_DIMS)
        return mdki_fail(MDK_ERR_TOO_LARGE, "%s: rank %zu exceeds the limit of %d dims", what, ndim, MDK_MAX_DIMS);
    size_t n = 1;
    for (size_t i = 0; i < ndim; i++) {
        if (shape[i] < 0)
            return mdki_fail(MDK_ERR_FORMAT, "%s: dim %zu is %lld, expected a size >= 0", what, i, (long long)shape[i]);
        if ((uint64_t)shape[i] > SIZE_MAX || !mdki_mul_size(n, (size_t)shape[i], &n))
            return mdki_fail(MDK_ERR_TOO_LARGE, "%s: element count overflows (above the limit of %llu bytes)", what,
                             (unsigned long long)MDK_TENSOR_MAX_BYTES);
    }
    size_t esize = dtype == MDK_DTYPE_STRING ? sizeof(char *) : mdk_dtype_size(dtype);
    size_t bytes;
    if (!mdki_mul_size(n, esize, &bytes) || bytes > MDK_TENSOR_MAX_BYTES)
        return mdki_fail(MDK_ERR_TOO_LARGE, "%s: %zu elements of %s exceed the limit of %llu bytes", what, n,
                         mdk_dtype_name(dtype), (unsigned long long)MDK_TENSOR_MAX_BYTES);
    *count = n;
    *nbytes = dtype == MDK_DTYPE_STRING ? 0 : bytes;
    return MDK_OK;
}

static char g_empty[] = "";

mdk_status mdk_tensor_new(mdk_dtype dtype, size_t ndim, const int64_t *shape, mdk_tensor **out)
{
    size_t count, nbytes;
    if (!out || (ndim && !shape)) return mdki_fail(MDK_ERR_INVALID_ARGUMENT, "mdk_tensor_new: NULL argument");
    mdk_status st = mdki_shape_check(dtype, ndim, shape, "tensor", &count, &nbytes);
    if (st != MDK_OK) return st;
    mdk_tensor *t = mdki_calloc(1, sizeof *t);
    if (!t) return MDK_ERR_NO_MEMORY;
    t->dtype = dtype;
    t->ndim = ndim;
    if (ndim) memcpy(t->shape, shape, ndim * sizeof *shape);
    t->count = count;
    t->nbytes = nbytes;
    t->data = mdki_calloc(count ? count : 1, dtype == MDK_DTYPE_STRING ? sizeof(char *) : mdk_dtype_size(dtype));
    if (!t->data) {
        mdki_free(t);
        return MDK_ERR_NO_MEMORY;
    }
    if (dtype == MDK_DTYPE_STRING) {
        char **s = t->data;
        for (size_t i = 0; i < count; i++) s[i] = g_empty;
    }
    *out = t;
    return MDK_OK;
}

void mdk_tensor_free(mdk_tensor *t)
{
    if (!t) return;
    for (size_t i = 0; i < t->n_items; i++) mdk_tensor_free(t->items[i]);
    mdki_free(t->items);
    if (t->dtype == MDK_DTYPE_STRING && t->data) {
        char **s = t->data;
        for (size_t i = 0; i < t->count; i++)
            if (s[i] != g_empty) mdki_free(s[i]);
    }
    mdki_free(t->data);
    mdki_free(t->name);
    mdki_free(t);
}

void mdk_tensors_free(mdk_tensor **ts, size_t n)
{
    if (!ts) return;
    for (size_t i = 0; i < n; i++) mdk_tensor_free(ts[i]);
    mdki_free(ts);
}

/* A sequence or optional shell with room for `n` items and no data. */
static mdk_status container_new(mdk_value_kind kind, mdk_dtype dtype, size_t n, mdk_tensor **out)
{
    mdk_tensor *t = mdki_calloc(1, sizeof *t);
    if (!t) return MDK_ERR_NO_MEMORY;
    t->kind = kind;
    t->dtype = dtype;
    t->items = mdki_calloc(n ? n : 1, sizeof *t->items);
    if (!t->items) {
        mdki_free(t);
        return MDK_ERR_NO_MEMORY;
    }
    *out = t;
    return MDK_OK;
}

mdk_status mdk_sequence_new(mdk_dtype dtype, mdk_tensor *const *items, size_t n, mdk_tensor **out)
{
    mdk_status st = MDK_OK;
    for (size_t i = 0; i < n && st == MDK_OK; i++)
        if (!items[i] || items[i]->kind != MDK_VALUE_TENSOR || items[i]->dtype != dtype)
            st = mdki_fail(MDK_ERR_MISMATCH, "sequence item %zu is not a %s tensor", i, mdk_dtype_name(dtype));
    mdk_tensor *t = NULL;
    if (st == MDK_OK) st = container_new(MDK_VALUE_SEQUENCE, dtype, n, &t);
    if (st != MDK_OK) {
        for (size_t i = 0; i < n; i++) mdk_tensor_free(items[i]);
        return st;
    }
    if (n) memcpy(t->items, items, n * sizeof *items);
    t->n_items = n;
    *out = t;
    return MDK_OK;
}

mdk_status mdk_optional_new(mdk_dtype dtype, mdk_tensor *value, mdk_tensor **out)
{
    mdk_status st = MDK_OK;
    if (value && value->kind == MDK_VALUE_OPTIONAL)
        st = mdki_fail(MDK_ERR_UNSUPPORTED, "an optional cannot hold another optional");
    mdk_tensor *t = NULL;
    if (st == MDK_OK) st = container_new(MDK_VALUE_OPTIONAL, dtype, 1, &t);
    if (st != MDK_OK) {
        mdk_tensor_free(value);
        return st;
    }
    t->items[0] = value;
    t->n_items = value ? 1 : 0;
    *out = t;
    return MDK_OK;
}

mdk_value_kind mdk_tensor_kind(const mdk_tensor *t) { return t->kind; }
size_t mdk_sequence_length(const mdk_tensor *t) { return t->kind == MDK_VALUE_SEQUENCE ? t->n_items : 0; }

mdk_tensor *mdk_sequence_item(const mdk_tensor *t, size_t i)
{
    return t->kind == MDK_VALUE_SEQUENCE && i < t->n_items ? t->items[i] : NULL;
}

mdk_tensor *mdk_optional_value(const mdk_tensor *t)
{
    return t->kind == MDK_VALUE_OPTIONAL && t->n_items ? t->items[0] : NULL;
}

mdk_status mdki_tensors_push(mdk_tensor ***arr, size_t *n, mdk_tensor *t, size_t cap)
{
    mdk_tensor **g = *n < cap ? mdki_realloc(*arr, (*n + 1) * sizeof *g) : NULL;
    if (!g) {
        mdk_tensor_free(t);
        return *n >= cap ? mdki_fail(MDK_ERR_TOO_LARGE, "more than %zu tensors", cap) : MDK_ERR_NO_MEMORY;
    }
    *arr = g;
    g[(*n)++] = t;
    return MDK_OK;
}

mdk_status mdk_tensor_clone(const mdk_tensor *t, mdk_tensor **out)
{
    mdk_tensor *c;
    mdk_status st;
    if (t->kind != MDK_VALUE_TENSOR) {
        st = container_new(t->kind, t->dtype, t->n_items, &c);
        if (st != MDK_OK) return st;
        for (; c->n_items < t->n_items; c->n_items++) {
            st = mdk_tensor_clone(t->items[c->n_items], &c->items[c->n_items]);
            if (st != MDK_OK) goto fail;
        }
        st = mdk_tensor_set_name(c, mdk_tensor_name(t));
        if (st != MDK_OK) goto fail;
        *out = c;
        return MDK_OK;
    }
    st = mdk_tensor_new(t->dtype, t->ndim, t->shape, &c);
    if (st != MDK_OK) return st;
    if (t->dtype == MDK_DTYPE_STRING) {
        for (size_t i = 0; i < t->count; i++) {
            const char *s = ((char **)t->data)[i];
            st = mdk_tensor_set_string(c, i, s, strlen(s));
            if (st != MDK_OK) goto fail;
        }
    } else if (t->nbytes) {
        memcpy(c->data, t->data, t->nbytes);
    }
    st = mdk_tensor_set_name(c, mdk_tensor_name(t));
    if (st != MDK_OK) goto fail;
    *out = c;
    return MDK_OK;
fail:
    mdk_tensor_free(c);
    return st;
}

mdk_dtype mdk_tensor_dtype(const mdk_tensor *t) { return t->dtype; }
size_t mdk_tensor_ndim(const mdk_tensor *t) { return t->ndim; }
const int64_t *mdk_tensor_shape(const mdk_tensor *t) { return t->shape; }
size_t mdk_tensor_count(const mdk_tensor *t) { return t->count; }
size_t mdk_tensor_nbytes(const mdk_tensor *t) { return t->nbytes; }
const void *mdk_tensor_data(const mdk_tensor *t) { return t->data; }
void *mdk_tensor_mutable_data(mdk_tensor *t) { return t->data; }
const char *mdk_tensor_name(const mdk_tensor *t) { return t->name ? t->name : ""; }

mdk_status mdk_tensor_set_name(mdk_tensor *t, const char *name)
{
    char *n = NULL;
    if (name && *name) {
        n = mdki_strdup(name);
        if (!n) return MDK_ERR_NO_MEMORY;
    }
    mdki_free(t->name);
    t->name = n;
    return MDK_OK;
}

const char *mdk_tensor_string(const mdk_tensor *t, size_t i)
{
    if (t->dtype != MDK_DTYPE_STRING || i >= t->count) return NULL;
    return ((char **)t->data)[i];
}

void mdki_tensor_take_string(mdk_tensor *t, size_t i, char *s)
{
    char **arr = t->data;
    if (arr[i] != g_empty) mdki_free(arr[i]);
    arr[i] = s;
}

mdk_status mdk_tensor_set_string(mdk_tensor *t, size_t i, const char *s, size_t len)
{
    if (t->dtype != MDK_DTYPE_STRING || i >= t->count)
        return mdki_fail(MDK_ERR_INVALID_ARGUMENT, "mdk_tensor_set_string: not a string tensor or index out of range");
    char *c = mdki_strndup(s, len);
    if (!c) return MDK_ERR_NO_MEMORY;
    mdki_tensor_take_string(t, i, c);
    return MDK_OK;
}

mdk_status mdk_tensor_reinterpret(mdk_tensor *t, mdk_dtype dtype)
{
    if (t->kind != MDK_VALUE_TENSOR) {
        for (size_t i = 0; i < t->n_items; i++) {
            mdk_status st = mdk_tensor_reinterpret(t->items[i], dtype);
            if (st != MDK_OK) return st;
        }
        t->dtype = dtype;
        return MDK_OK;
    }
    size_t a = mdk_dtype_size(t->dtype), b = mdk_dtype_size(dtype);
    if (!a || a != b || t->dtype == MDK_DTYPE_BOOL || dtype == MDK_DTYPE_BOOL)
        return mdki_fail(MDK_ERR_MISMATCH, "cannot reinterpret %s as %s: element sizes differ or are not numeric",
                         mdk_dtype_name(t->dtype), mdk_dtype_name(dtype));
    t->dtype = dtype;
    return MDK_OK;
}

mdk_status mdk_tensor_reshape(mdk_tensor *t, size_t ndim, const int64_t *shape)
{
    if (t->kind != MDK_VALUE_TENSOR) return mdki_fail(MDK_ERR_INVALID_ARGUMENT, "only tensors can be reshaped");
    size_t count, nbytes;
    mdk_status st = mdki_shape_check(t->dtype, ndim, shape, "reshape", &count, &nbytes);
    if (st != MDK_OK) return st;
    if (count != t->count) {
        char a[128], b[128];
        return mdki_fail(MDK_ERR_MISMATCH, "cannot reshape %s to %s: element counts differ",
                         mdk_shape_str(t->ndim, t->shape, a, sizeof a), mdk_shape_str(ndim, shape, b, sizeof b));
    }
    t->ndim = ndim;
    if (ndim) memcpy(t->shape, shape, ndim * sizeof *shape);
    return MDK_OK;
}

/* IEEE binary16 <-> binary32, round to nearest even. */
float mdki_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f;
    uint32_t mant = h & 0x3ff;
    uint32_t bits;
    if (exp == 0) {
        if (mant == 0) {
            bits = sign;
        } else { /* subnormal: normalise */
            int e = -1;
            do {
                e++;
                mant <<= 1;
            } while ((mant & 0x400) == 0);
            bits = sign | ((uint32_t)(127 - 15 - e) << 23) | ((mant & 0x3ff) << 13);
        }
    } else if (exp == 0x1f) {
        bits = sign | 0x7f800000u | (mant << 13);
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
    }
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

uint16_t mdki_f32_to_f16(float f)
{
    uint32_t x;
    memcpy(&x, &f, sizeof x);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
    uint32_t absx = x & 0x7fffffffu;
    if (absx >= 0x7f800000u) return sign | (absx > 0x7f800000u ? 0x7e00 : 0x7c00);
    if (absx >= 0x477ff000u) return sign | 0x7c00; /* rounds to >= 65520: infinity */
    if (absx < 0x38800000u) {                       /* below the smallest normal: subnormal or zero */
        if (absx < 0x33000000u) return sign;        /* below half the smallest subnormal */
        uint32_t mant = (absx & 0x7fffff) | 0x800000;
        int shift = 126 - (int)(absx >> 23);        /* 14..24 */
        uint32_t r = mant >> shift;
        uint32_t rem = mant & ((1u << shift) - 1);
        uint32_t half = 1u << (shift - 1);
        if (rem > half || (rem == half && (r & 1))) r++;
        return sign | (uint16_t)r;
    }
    uint32_t r = ((absx >> 13) - ((127 - 15) << 10));
    uint32_t rem = absx & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (r & 1))) r++;
    return sign | (uint16_t)r;
}

float mdki_bf16_to_f32(uint16_t h)
{
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

uint16_t mdki_f32_to_bf16(float f)
{
    uint32_t x;
    memcpy(&x, &f, sizeof x);
    if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40); /* quiet NaN */
    uint32_t lsb = (x >> 16) & 1;
    x += 0x7fff + lsb;
    return (uint16_t)(x >> 16);
}

double mdk_tensor_get_f64(const mdk_tensor *t, size_t i)
{
    if (i >= t->count) return NAN;
    const void *d = t->data;
    switch (t->dtype) {
    case MDK_DTYPE_FLOAT32: return ((const float *)d)[i];
    case MDK_DTYPE_FLOAT64: return ((const double *)d)[i];
    case MDK_DTYPE_FLOAT16: return mdki_f16_to_f32(((const uint16_t *)d)[i]);
    case MDK_DTYPE_BFLOAT16: return mdki_bf16_to_f32(((const uint16_t *)d)[i]);
    case MDK_DTYPE_UINT8: return ((const uint8_t *)d)[i];
    case MDK_DTYPE_INT8: return ((const int8_t *)d)[i];
    case MDK_DTYPE_UINT16: return ((const uint16_t *)d)[i];
    case MDK_DTYPE_INT16: return ((const int16_t *)d)[i];
    case MDK_DTYPE_INT32: return ((const int32_t *)d)[i];
    case MDK_DTYPE_INT64: return (double)((const int64_t *)d)[i];
    case MDK_DTYPE_UINT32: return ((const uint32_t *)d)[i];
    case MDK_DTYPE_UINT64: return (double)((const uint64_t *)d)[i];
    case MDK_DTYPE_BOOL: return ((const uint8_t *)d)[i] ? 1.0 : 0.0;
    default: return NAN;
    }
}

/* Saturating conversion of a double to an integer range; NaN becomes 0. */
static double clampd(double v, double lo, double hi)
{
    if (isnan(v)) return 0;
    v = trunc(v);
    return v < lo ? lo : v > hi ? hi : v;
}

void mdki_tensor_set_f64(mdk_tensor *t, size_t i, double v)
{
    void *d = t->data;
    switch (t->dtype) {
    case MDK_DTYPE_FLOAT32: ((float *)d)[i] = (float)v; break;
    case MDK_DTYPE_FLOAT64: ((double *)d)[i] = v; break;
    case MDK_DTYPE_FLOAT16: ((uint16_t *)d)[i] = mdki_f32_to_f16((float)v); break;
    case MDK_DTYPE_BFLOAT16: ((uint16_t *)d)[i] = mdki_f32_to_bf16((float)v); break;
    case MDK_DTYPE_UINT8: ((uint8_t *)d)[i] = (uint8_t)clampd(v, 0, UINT8_MAX); break;
    case MDK_DTYPE_INT8: ((int8_t *)d)[i] = (int8_t)clampd(v, INT8_MIN, INT8_MAX); break;
    case MDK_DTYPE_UINT16: ((uint16_t *)d)[i] = (uint16_t)clampd(v, 0, UINT16_MAX); break;
    case MDK_DTYPE_INT16: ((int16_t *)d)[i] = (int16_t)clampd(v, INT16_MIN, INT16_MAX); break;
    case MDK_DTYPE_INT32: ((int32_t *)d)[i] = (int32_t)clampd(v, INT32_MIN, INT32_MAX); break;
    case MDK_DTYPE_UINT32: ((uint32_t *)d)[i] = (uint32_t)clampd(v, 0, UINT32_MAX); break;
    /* 2^63 and 2^64 are exact doubles; values at or above them saturate. */
    case MDK_DTYPE_INT64: {
        double c = clampd(v, -9223372036854775808.0, 9223372036854775807.0);
        ((int64_t *)d)[i] = c >= 9223372036854775808.0 ? INT64_MAX : (int64_t)c;
        break;
    }
    case MDK_DTYPE_UINT64: {
        double c = clampd(v, 0, 18446744073709551615.0);
        ((uint64_t *)d)[i] = c >= 18446744073709551616.0 ? UINT64_MAX : (uint64_t)c;
        break;
    }
    case MDK_DTYPE_BOOL: ((uint8_t *)d)[i] = v != 0 && !isnan(v); break;
    default: break;
    }
}

/* splitmix64: small, fast and reproducible across platforms. */
static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void mdk_tensor_fill_random(mdk_tensor *t, uint64_t seed)
{
    uint64_t s = seed;
    for (size_t i = 0; i < t->count; i++) {
        uint64_t r = splitmix64(&s);
        if (t->dtype == MDK_DTYPE_STRING) {
            char buf[9];
            size_t n = 1 + (size_t)(r % 8);
            for (size_t k = 0; k < n; k++) buf[k] = (char)('a' + (splitmix64(&s) % 26));
            if (mdk_tensor_set_string(t, i, buf, n) != MDK_OK) return;
            continue;
        }
        double u = (double)(r >> 11) * (1.0 / 9007199254740992.0);
        switch (t->dtype) {
        case MDK_DTYPE_FLOAT32: case MDK_DTYPE_FLOAT64: case MDK_DTYPE_FLOAT16: case MDK_DTYPE_BFLOAT16:
            mdki_tensor_set_f64(t, i, u);
            break;
        case MDK_DTYPE_BOOL: mdki_tensor_set_f64(t, i, (double)(r & 1)); break;
        default: mdki_tensor_set_f64(t, i, (double)(r % 10)); break;
        }
    }
}

const char *mdk_shape_str(size_t ndim, const int64_t *shape, char *buf, size_t size)
{
    size_t used = 0;
    if (size == 0) return buf;
    buf[0] = '\0';
    int n = snprintf(buf, size, "[");
    used = n > 0 ? (size_t)n : 0;
    for (size_t i = 0; i < ndim && used < size; i++) {
        n = snprintf(buf + used, size - used, "%s%lld", i ? ", " : "", (long long)shape[i]);
        if (n < 0) break;
        used += (size_t)n;
    }
    if (used < size) snprintf(buf + used, size - used, "]");
    return buf;
}
