/* json.c: tensors as JSON: KServe v2-style objects {"name", "datatype", "shape", "data"} or bare nested
 * arrays. Parsing uses cJSON (with its default allocator: the library leaves the host program's cJSON as it
 * is) behind a size cap; writing is direct, with exact round-trip precision. */
#include <cjson/cJSON.h>
#include <math.h>
#include <string.h>
#include <strings.h>

#include "tensor/tensor_int.h"

/* Walks a nested array to find its shape: every array at one depth must have the same length. */
static mdk_status nested_shape(const cJSON *a, const char *what, size_t *ndim, int64_t *shape)
{
    *ndim = 0;
    const cJSON *cur = a;
    while (cJSON_IsArray(cur)) {
        if (*ndim >= MDK_MAX_DIMS)
            return mdki_fail(MDK_ERR_TOO_LARGE, "%s: nesting exceeds the limit of %d dims", what, MDK_MAX_DIMS);
        shape[(*ndim)++] = cJSON_GetArraySize(cur);
        cur = cur->child;
        if (!cur) break;
    }
    return MDK_OK;
}

typedef struct fill_ctx {
    mdk_tensor *t;
    size_t next;
    const char *what;
} fill_ctx;

/* The range of an integer dtype as doubles (the largest double not above the type's maximum); 0 for others. */
static int int_range(mdk_dtype dt, double *lo, double *hi)
{
    switch (dt) {
    case MDK_DTYPE_UINT8: *lo = 0, *hi = 255; return 1;
    case MDK_DTYPE_UINT16: *lo = 0, *hi = 65535; return 1;
    case MDK_DTYPE_UINT32: *lo = 0, *hi = 4294967295.0; return 1;
    case MDK_DTYPE_UINT64: *lo = 0, *hi = 18446744073709549568.0; return 1;
    case MDK_DTYPE_INT8: *lo = -128, *hi = 127; return 1;
    case MDK_DTYPE_INT16: *lo = -32768, *hi = 32767; return 1;
    case MDK_DTYPE_INT32: *lo = -2147483648.0, *hi = 2147483647.0; return 1;
    case MDK_DTYPE_INT64: *lo = -9223372036854775808.0, *hi = 9223372036854774784.0; return 1;
    default: return 0;
    }
}

mdk_status mdki_json_put_value(mdk_tensor *t, size_t i, const cJSON *v, int strict, const char *what)
{
    if (t->dtype == MDK_DTYPE_STRING) {
        if (!cJSON_IsString(v))
            return mdki_fail(MDK_ERR_FORMAT, "%s: value %zu is not a string, expected one for a string tensor", what, i);
        return mdk_tensor_set_string(t, i, v->valuestring, strlen(v->valuestring));
    }
    double d, lo, hi;
    if (cJSON_IsBool(v)) {
        d = cJSON_IsTrue(v) ? 1.0 : 0.0;
    } else if (cJSON_IsNumber(v)) {
        d = v->valuedouble;
    } else if (cJSON_IsString(v)) {
        const char *s = v->valuestring;
        if (strcasecmp(s, "nan") == 0) d = NAN;
        else if (strcasecmp(s, "infinity") == 0 || strcasecmp(s, "inf") == 0 || strcasecmp(s, "+inf") == 0) d = INFINITY;
        else if (strcasecmp(s, "-infinity") == 0 || strcasecmp(s, "-inf") == 0) d = -INFINITY;
        else return mdki_fail(MDK_ERR_FORMAT, "%s: value %zu is the string \"%.40s\", expected a number", what, i, s);
    } else {
        return mdki_fail(MDK_ERR_FORMAT, "%s: value %zu is not a number, bool or string", what, i);
    }
    if (strict && int_range(t->dtype, &lo, &hi)) {
        const char *dt = mdk_v2_datatype(t->dtype);
        if (d != floor(d) || !isfinite(d))
            return mdki_fail(MDK_ERR_FORMAT, "%s: value %zu (%g) is not an integer as %s requires", what, i, d, dt);
        if (d < lo || d > hi) return mdki_fail(MDK_ERR_FORMAT, "%s: value %zu (%g) is outside the range of %s", what, i, d, dt);
    }
    mdki_tensor_set_f64(t, i, d);
    return MDK_OK;
}

static mdk_status fill_leaf(fill_ctx *c, const cJSON *v)
{
    if (c->next >= c->t->count)
        return mdki_fail(MDK_ERR_MISMATCH, "%s: more values than the shape holds (%zu)", c->what, c->t->count);
    return mdki_json_put_value(c->t, c->next++, v, 0, c->what);
}

/* Fills in row-major order from nested or flat data; nested arrays are checked against `shape`. */
static mdk_status fill(fill_ctx *c, const cJSON *v, size_t depth, int nested)
{
    if (cJSON_IsArray(v)) {
        if (nested) {
            if (depth >= c->t->ndim)
                return mdki_fail(MDK_ERR_MISMATCH, "%s: data is nested deeper than its rank %zu", c->what, c->t->ndim);
            if (cJSON_GetArraySize(v) != c->t->shape[depth])
                return mdki_fail(MDK_ERR_MISMATCH, "%s: data is ragged or does not match the shape at dim %zu "
                                 "(expected %lld values, got %d)", c->what, depth, (long long)c->t->shape[depth],
                                 cJSON_GetArraySize(v));
        }
        for (const cJSON *e = v->child; e; e = e->next) {
            mdk_status st = fill(c, e, depth + 1, nested);
            if (st != MDK_OK) return st;
        }
        return MDK_OK;
    }
    if (nested && depth != c->t->ndim)
        return mdki_fail(MDK_ERR_MISMATCH, "%s: data is ragged (a value at depth %zu, expected %zu)", c->what, depth,
                         c->t->ndim);
    return fill_leaf(c, v);
}

/* The number of scalar values in a (nested) array; cJSON bounds the nesting depth. */
static size_t count_leaves(const cJSON *v)
{
    if (!cJSON_IsArray(v)) return 1;
    size_t n = 0;
    for (const cJSON *e = v->child; e; e = e->next) n += count_leaves(e);
    return n;
}

static mdk_dtype infer_dtype(const cJSON *v)
{
    while (cJSON_IsArray(v) && v->child) v = v->child;
    if (cJSON_IsBool(v)) return MDK_DTYPE_BOOL;
    if (cJSON_IsString(v)) return MDK_DTYPE_STRING;
    return MDK_DTYPE_FLOAT32;
}

mdk_status mdki_json_decode(const void *data, size_t len, mdk_dtype expect, const char *what, mdk_tensor **out)
{
    if (len > MDK_JSON_MAX_BYTES)
        return mdki_fail(MDK_ERR_TOO_LARGE, "%s: JSON of %zu bytes is above the limit of %llu bytes", what, len,
                         (unsigned long long)MDK_JSON_MAX_BYTES);
    unsigned long failures = mdki_alloc_failures();
    cJSON *root = cJSON_ParseWithLength(data, len);
    if (!root && mdki_alloc_failures() != failures) return mdki_fail(MDK_ERR_NO_MEMORY, "%s: out of memory", what);
    if (!root) return mdki_fail(MDK_ERR_FORMAT, "%s: malformed JSON near byte %zu", what,
                                (size_t)(cJSON_GetErrorPtr() ? cJSON_GetErrorPtr() - (const char *)data : 0));
    mdk_status st;
    mdk_tensor *t = NULL;
    const cJSON *payload = root;
    size_t ndim = 0;
    int64_t shape[MDK_MAX_DIMS];
    int shape_given = 0;
    mdk_dtype dt = expect;
    const char *name = NULL;
    int nested = 1;
    if (cJSON_IsObject(root)) {
        const cJSON *jd = cJSON_GetObjectItemCaseSensitive(root, "data");
        const cJSON *js = cJSON_GetObjectItemCaseSensitive(root, "shape");
        const cJSON *jt = cJSON_GetObjectItemCaseSensitive(root, "datatype");
        if (!jt) jt = cJSON_GetObjectItemCaseSensitive(root, "dtype");
        const cJSON *jn = cJSON_GetObjectItemCaseSensitive(root, "name");
        if (!cJSON_IsArray(jd)) {
            st = mdki_fail(MDK_ERR_FORMAT, "%s: expected a \"data\" array in the tensor object", what);
            goto done;
        }
        payload = jd;
        if (cJSON_IsString(jn)) name = jn->valuestring;
        if (jt) {
            dt = cJSON_IsString(jt) ? mdk_dtype_from_name(jt->valuestring) : MDK_DTYPE_UNDEFINED;
            if (dt == MDK_DTYPE_UNDEFINED || !mdki_dtype_supported(dt)) {
                st = mdki_fail(MDK_ERR_FORMAT, "%s: unknown datatype %s%s%s", what, cJSON_IsString(jt) ? "\"" : "",
                               cJSON_IsString(jt) ? jt->valuestring : "(not a string)", cJSON_IsString(jt) ? "\"" : "");
                goto done;
            }
        }
        if (js) {
            if (!cJSON_IsArray(js) || cJSON_GetArraySize(js) > MDK_MAX_DIMS) {
                st = mdki_fail(MDK_ERR_FORMAT, "%s: \"shape\" must be an array of at most %d sizes", what, MDK_MAX_DIMS);
                goto done;
            }
            for (const cJSON *e = js->child; e; e = e->next) {
                if (!cJSON_IsNumber(e) || e->valuedouble < 0 || e->valuedouble != floor(e->valuedouble) ||
                    e->valuedouble > 9.0e15) {
                    st = mdki_fail(MDK_ERR_FORMAT, "%s: \"shape\" holds a value that is not a size >= 0", what);
                    goto done;
                }
                shape[ndim++] = (int64_t)e->valuedouble;
            }
            shape_given = 1;
            /* With an explicit shape the data may be flat or nested. */
            size_t dn;
            int64_t ds[MDK_MAX_DIMS];
            st = nested_shape(jd, what, &dn, ds);
            if (st != MDK_OK) goto done;
            nested = dn == ndim && memcmp(ds, shape, ndim * sizeof *ds) == 0 && ndim > 1;
        } else {
            st = nested_shape(jd, what, &ndim, shape);
            if (st != MDK_OK) goto done;
        }
    } else if (cJSON_IsArray(root)) {
        st = nested_shape(root, what, &ndim, shape);
        if (st != MDK_OK) goto done;
    } else if (cJSON_IsNumber(root) || cJSON_IsBool(root) || cJSON_IsString(root)) {
        ndim = 0; /* a scalar */
    } else {
        st = mdki_fail(MDK_ERR_FORMAT, "%s: expected a tensor object, an array or a scalar", what);
        goto done;
    }
    if (dt == MDK_DTYPE_UNDEFINED) dt = infer_dtype(payload);
    /* Check that the values are all there before allocating what the shape declares. */
    size_t count, nbytes, leaves = count_leaves(payload);
    st = mdki_shape_check(dt, ndim, shape, what, &count, &nbytes);
    if (st == MDK_OK && leaves != count && !shape_given) {
        st = mdki_fail(MDK_ERR_MISMATCH, "%s: data is ragged (arrays at the same depth differ in length)", what);
    } else if (st == MDK_OK && leaves != count) {
        char sb[128];
        st = mdki_fail(MDK_ERR_MISMATCH, "%s: %zu values for shape %s, expected %zu", what, leaves,
                       mdk_shape_str(ndim, shape, sb, sizeof sb), count);
    }
    if (st != MDK_OK) goto done;
    st = mdk_tensor_new(dt, ndim, shape, &t);
    if (st != MDK_OK) {
        mdki_fail_prefix(st, "%s", what);
        goto done;
    }
    fill_ctx c = {t, 0, what};
    st = fill(&c, payload, 0, nested);
    if (st != MDK_OK) goto done;
    if (c.next != t->count) {
        char sb[128];
        st = mdki_fail(MDK_ERR_MISMATCH, "%s: %zu values for shape %s, expected %zu", what, c.next,
                       mdk_shape_str(ndim, shape, sb, sizeof sb), t->count);
        goto done;
    }
    if (name && (st = mdk_tensor_set_name(t, name)) != MDK_OK) goto done;
    *out = t;
    t = NULL;
done:
    mdk_tensor_free(t);
    cJSON_Delete(root);
    return st;
}

void mdki_jw_element(mdki_jw *w, const mdk_tensor *t, size_t i)
{
    const void *d = t->data;
    switch (t->dtype) {
    case MDK_DTYPE_STRING: mdki_jw_string(w, ((char *const *)d)[i]); return;
    case MDK_DTYPE_INT64: mdki_jw_int(w, ((const int64_t *)d)[i]); return;
    case MDK_DTYPE_UINT64: mdki_jw_uint(w, ((const uint64_t *)d)[i]); return;
    case MDK_DTYPE_BOOL: mdki_jw_bool(w, ((const uint8_t *)d)[i] != 0); return;
    case MDK_DTYPE_FLOAT64: mdki_jw_number(w, mdk_tensor_get_f64(t, i), 17); return;
    case MDK_DTYPE_FLOAT32:
    case MDK_DTYPE_FLOAT16:
    case MDK_DTYPE_BFLOAT16: mdki_jw_number(w, mdk_tensor_get_f64(t, i), 9); return;
    default: mdki_jw_int(w, (long long)mdk_tensor_get_f64(t, i)); return; /* the narrower integers: exact */
    }
}

void mdki_jw_tensor_head(mdki_jw *w, const mdk_tensor *t)
{
    const char *dt = mdk_v2_datatype(t->dtype);
    mdki_jw_key(w, "name");
    mdki_jw_string(w, mdk_tensor_name(t));
    mdki_jw_key(w, "datatype");
    mdki_jw_string(w, dt ? dt : "UNDEFINED");
    mdki_jw_key(w, "shape");
    mdki_jw_array(w);
    for (size_t i = 0; i < t->ndim; i++) mdki_jw_int(w, t->shape[i]);
    mdki_jw_end_array(w);
}

void mdki_jw_tensor(mdki_jw *w, const mdk_tensor *t)
{
    mdki_jw_object(w);
    mdki_jw_tensor_head(w, t);
    mdki_jw_key(w, "data");
    mdki_jw_array(w);
    for (size_t i = 0; i < t->count && w->st == MDK_OK; i++) mdki_jw_element(w, t, i);
    mdki_jw_end_array(w);
    mdki_jw_end_object(w);
}

mdk_status mdki_json_encode(const mdk_tensor *t, mdki_buf *b)
{
    mdki_jw w;
    mdki_jw_init(&w, b, 0);
    mdki_jw_tensor(&w, t);
    mdk_status st = mdki_jw_finish(&w);
    return st == MDK_OK ? mdki_buf_addc(b, '\n') : st;
}
