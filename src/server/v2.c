/* v2.c: the Open Inference Protocol v2 tensor codec of mdk serve: inference requests in JSON (flat or nested
 * data, every v2 datatype, requested outputs) and with the binary tensor extension, and responses in both. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

static int fail(char *err, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, size, fmt, ap);
    va_end(ap);
    return -1;
}

const char *srv_v2_datatype(mdk_dtype dt)
{
    switch (dt) {
    case MDK_DTYPE_BOOL: return "BOOL";
    case MDK_DTYPE_UINT8: return "UINT8";
    case MDK_DTYPE_UINT16: return "UINT16";
    case MDK_DTYPE_UINT32: return "UINT32";
    case MDK_DTYPE_UINT64: return "UINT64";
    case MDK_DTYPE_INT8: return "INT8";
    case MDK_DTYPE_INT16: return "INT16";
    case MDK_DTYPE_INT32: return "INT32";
    case MDK_DTYPE_INT64: return "INT64";
    case MDK_DTYPE_FLOAT16: return "FP16";
    case MDK_DTYPE_FLOAT32: return "FP32";
    case MDK_DTYPE_FLOAT64: return "FP64";
    case MDK_DTYPE_STRING: return "BYTES";
    case MDK_DTYPE_BFLOAT16: return "BF16";
    default: return NULL;
    }
}

static mdk_dtype from_datatype(const char *s)
{
    static const mdk_dtype all[] = {MDK_DTYPE_BOOL, MDK_DTYPE_UINT8, MDK_DTYPE_UINT16, MDK_DTYPE_UINT32, MDK_DTYPE_UINT64,
                                    MDK_DTYPE_INT8, MDK_DTYPE_INT16, MDK_DTYPE_INT32, MDK_DTYPE_INT64, MDK_DTYPE_FLOAT16,
                                    MDK_DTYPE_FLOAT32, MDK_DTYPE_FLOAT64, MDK_DTYPE_STRING, MDK_DTYPE_BFLOAT16};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (strcmp(s, srv_v2_datatype(all[i])) == 0) return all[i];
    return MDK_DTYPE_UNDEFINED;
}

static uint16_t to_half(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000u, exp = (x >> 23) & 0xffu, man = x & 0x7fffffu;
    if (exp == 0xff) return (uint16_t)(sign | 0x7c00u | (man ? 0x200u : 0));
    int e = (int)exp - 127 + 15;
    if (e >= 31) return (uint16_t)(sign | 0x7c00u);
    if (e <= 0) {
        if (e < -10) return (uint16_t)sign;
        man |= 0x800000u;
        uint32_t shift = (uint32_t)(14 - e), half = man >> shift, rem = man & ((1u << shift) - 1), mid = 1u << (shift - 1);
        if (rem > mid || (rem == mid && (half & 1u))) half++;
        return (uint16_t)(sign | half);
    }
    uint32_t half = sign | ((uint32_t)e << 10) | (man >> 13), rem = man & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (half & 1u))) half++;
    return (uint16_t)half;
}

static uint16_t to_bf16(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40u);
    x += 0x7fffu + ((x >> 16) & 1u);
    return (uint16_t)(x >> 16);
}

typedef struct filler {
    mdk_tensor *t;
    mdk_dtype dt;
    size_t i, n;
    const char *name;
    char *err;
    size_t errsize;
} filler;

/* One JSON value into element f->i. */
static int put(filler *f, const cJSON *e)
{
    if (f->i >= f->n) return fail(f->err, f->errsize, "input '%s': more data than its shape holds (%zu elements)", f->name, f->n);
    void *d = mdk_tensor_data(f->t);
    size_t i = f->i++;
    if (f->dt == MDK_DTYPE_STRING) {
        if (!cJSON_IsString(e)) return fail(f->err, f->errsize, "input '%s': BYTES data must be strings", f->name);
        return mdk_tensor_set_string(f->t, i, e->valuestring, strlen(e->valuestring)) == MDK_OK ? 0 : fail(f->err, f->errsize, "out of memory");
    }
    double v;
    if (cJSON_IsNumber(e)) v = e->valuedouble;
    else if (cJSON_IsBool(e)) v = cJSON_IsTrue(e);
    else if (cJSON_IsString(e) && (!strcmp(e->valuestring, "NaN") || !strcmp(e->valuestring, "Infinity") ||
                                   !strcmp(e->valuestring, "-Infinity")))
        v = e->valuestring[0] == 'N' ? NAN : e->valuestring[0] == '-' ? -INFINITY : INFINITY;
    else return fail(f->err, f->errsize, "input '%s': element %zu is not a number", f->name, i);
    int is_int = f->dt != MDK_DTYPE_FLOAT32 && f->dt != MDK_DTYPE_FLOAT64 && f->dt != MDK_DTYPE_FLOAT16 &&
                 f->dt != MDK_DTYPE_BFLOAT16 && f->dt != MDK_DTYPE_BOOL;
    if (is_int && (v != floor(v) || !isfinite(v)))
        return fail(f->err, f->errsize, "input '%s': element %zu (%g) is not an integer as %s requires", f->name, i, v,
                    srv_v2_datatype(f->dt));
    switch (f->dt) {
#define RANGE(T, lo, hi)                                                                                                    \
    if (v < (double)(lo) || v > (double)(hi))                                                                               \
        return fail(f->err, f->errsize, "input '%s': element %zu (%g) is outside the range of %s", f->name, i, v,          \
                    srv_v2_datatype(f->dt));                                                                               \
    ((T *)d)[i] = (T)v;                                                                                                     \
    break;
    case MDK_DTYPE_BOOL: ((uint8_t *)d)[i] = v != 0; break;
    case MDK_DTYPE_UINT8: RANGE(uint8_t, 0, 255)
    case MDK_DTYPE_UINT16: RANGE(uint16_t, 0, 65535)
    case MDK_DTYPE_UINT32: RANGE(uint32_t, 0, 4294967295.0)
    case MDK_DTYPE_UINT64: RANGE(uint64_t, 0, 18446744073709549568.0)
    case MDK_DTYPE_INT8: RANGE(int8_t, -128, 127)
    case MDK_DTYPE_INT16: RANGE(int16_t, -32768, 32767)
    case MDK_DTYPE_INT32: RANGE(int32_t, -2147483648.0, 2147483647.0)
    case MDK_DTYPE_INT64: RANGE(int64_t, -9223372036854775808.0, 9223372036854774784.0)
#undef RANGE
    case MDK_DTYPE_FLOAT32: ((float *)d)[i] = (float)v; break;
    case MDK_DTYPE_FLOAT64: ((double *)d)[i] = v; break;
    case MDK_DTYPE_FLOAT16: ((uint16_t *)d)[i] = to_half((float)v); break;
    case MDK_DTYPE_BFLOAT16: ((uint16_t *)d)[i] = to_bf16((float)v); break;
    default: return fail(f->err, f->errsize, "input '%s': unsupported datatype", f->name);
    }
    return 0;
}

/* Flat or nested (any depth up to the rank) data, in row-major order. */
static int fill(filler *f, const cJSON *a, int depth)
{
    if (depth > MDK_MAX_DIMS) return fail(f->err, f->errsize, "input '%s': data nested too deep", f->name);
    for (const cJSON *e = a->child; e; e = e->next) {
        if (cJSON_IsArray(e)) {
            if (fill(f, e, depth + 1)) return -1;
        } else if (put(f, e)) {
            return -1;
        }
    }
    return 0;
}

/* Binary data for a tensor: fixed-size elements as they are (little-endian), BYTES as 4-byte length + bytes. */
static int fill_binary(mdk_tensor *t, const char *name, const char *p, size_t size, char *err, size_t errsize)
{
    if (mdk_tensor_dtype(t) != MDK_DTYPE_STRING) {
        if (size != mdk_tensor_nbytes(t))
            return fail(err, errsize, "input '%s': binary_data_size is %zu bytes, its shape and datatype need %zu", name, size,
                        mdk_tensor_nbytes(t));
        if (size) memcpy(mdk_tensor_data(t), p, size);
        return 0;
    }
    size_t off = 0;
    for (size_t i = 0; i < mdk_tensor_count(t); i++) {
        if (size - off < 4) return fail(err, errsize, "input '%s': BYTES binary data ends inside element %zu", name, i);
        uint32_t n = (uint32_t)(uint8_t)p[off] | (uint32_t)(uint8_t)p[off + 1] << 8 | (uint32_t)(uint8_t)p[off + 2] << 16 |
                     (uint32_t)(uint8_t)p[off + 3] << 24;
        off += 4;
        if (n > size - off) return fail(err, errsize, "input '%s': BYTES element %zu is longer than the data left", name, i);
        if (mdk_tensor_set_string(t, i, p + off, n) != MDK_OK) return fail(err, errsize, "out of memory");
        off += n;
    }
    if (off != size) return fail(err, errsize, "input '%s': %zu bytes of binary data left over", name, size - off);
    return 0;
}

static int binary_flag(const cJSON *params, const char *key)
{
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(params, key);
    return cJSON_IsTrue(b);
}

int srv_v2_parse(const char *body, size_t len, size_t json_len, srv_v2_request *req, char *err, size_t errsize)
{
    memset(req, 0, sizeof *req);
    if (json_len > len) return fail(err, errsize, "Inference-Header-Content-Length %zu exceeds the body (%zu bytes)", json_len, len);
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(body, json_len, &end, 0);
    if (!root) {
        size_t at = end && end >= body ? (size_t)(end - body) : 0;
        return fail(err, errsize, "the request body is not valid JSON (at byte %zu); expected {\"inputs\": [...]}", at);
    }
    int rc = 0;
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(root, "id");
    const cJSON *inputs = cJSON_GetObjectItemCaseSensitive(root, "inputs");
    const cJSON *outputs = cJSON_GetObjectItemCaseSensitive(root, "outputs");
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(root, "parameters");
    size_t bin_off = json_len;
    if (!cJSON_IsObject(root)) rc = fail(err, errsize, "the request must be a JSON object with \"inputs\"");
    else if (id && !cJSON_IsString(id)) rc = fail(err, errsize, "\"id\" must be a string");
    else if (!cJSON_IsArray(inputs) || !cJSON_GetArraySize(inputs))
        rc = fail(err, errsize, "\"inputs\" must be a non-empty array of {name, shape, datatype, data}");
    else if (outputs && !cJSON_IsArray(outputs)) rc = fail(err, errsize, "\"outputs\" must be an array of {name}");
    if (!rc && id) snprintf(req->id, sizeof req->id, "%s", id->valuestring);
    req->all_binary = binary_flag(params, "binary_data_output");
    for (const cJSON *in = rc ? NULL : inputs->child; in && !rc; in = in->next) {
        if (req->n_inputs == SRV_MAX_TENSORS) {
            rc = fail(err, errsize, "more than %d inputs", SRV_MAX_TENSORS);
            break;
        }
        const cJSON *nm = cJSON_GetObjectItemCaseSensitive(in, "name"), *sh = cJSON_GetObjectItemCaseSensitive(in, "shape"),
                    *dt = cJSON_GetObjectItemCaseSensitive(in, "datatype"), *data = cJSON_GetObjectItemCaseSensitive(in, "data"),
                    *ip = cJSON_GetObjectItemCaseSensitive(in, "parameters");
        size_t k = req->n_inputs;
        if (!cJSON_IsString(nm)) {
            rc = fail(err, errsize, "inputs[%zu]: \"name\" must be a string", k);
            break;
        }
        mdk_dtype dtype = cJSON_IsString(dt) ? from_datatype(dt->valuestring) : MDK_DTYPE_UNDEFINED;
        if (dtype == MDK_DTYPE_UNDEFINED) {
            rc = fail(err, errsize, "input '%s': \"datatype\" must be one of BOOL, UINT8, UINT16, UINT32, UINT64, INT8, INT16, "
                      "INT32, INT64, FP16, FP32, FP64, BYTES, BF16", nm->valuestring);
            break;
        }
        int64_t shape[MDK_MAX_DIMS];
        size_t ndim = 0;
        if (!cJSON_IsArray(sh) || cJSON_GetArraySize(sh) > MDK_MAX_DIMS) {
            rc = fail(err, errsize, "input '%s': \"shape\" must be an array of at most %d sizes", nm->valuestring, MDK_MAX_DIMS);
            break;
        }
        for (const cJSON *e = sh->child; e && !rc; e = e->next) {
            if (!cJSON_IsNumber(e) || e->valuedouble < 0 || e->valuedouble > 4e9 || e->valuedouble != floor(e->valuedouble))
                rc = fail(err, errsize, "input '%s': shape sizes must be integers >= 0", nm->valuestring);
            else shape[ndim++] = (int64_t)e->valuedouble;
        }
        if (rc) break;
        /* no tensor larger than the request could fill: at least one byte per JSON element, the exact size
         * (or 4 bytes per BYTES element) in binary */
        const cJSON *bsize = cJSON_GetObjectItemCaseSensitive(ip, "binary_data_size");
        uint64_t count = 1;
        for (size_t d = 0; d < ndim; d++)
            count = count && (uint64_t)shape[d] > UINT64_MAX / count ? UINT64_MAX : count * (uint64_t)shape[d];
        uint64_t per = dtype == MDK_DTYPE_STRING ? 4 : mdk_dtype_size(dtype), room = bsize ? len - bin_off : json_len;
        if (count > room || (bsize && count * per > room)) {
            rc = fail(err, errsize, "input '%s': shape of %llu elements is larger than the request holds", nm->valuestring,
                      (unsigned long long)count);
            break;
        }
        mdk_tensor *t = NULL;
        if (mdk_tensor_new(dtype, ndim, shape, &t) != MDK_OK || mdk_tensor_set_name(t, nm->valuestring) != MDK_OK) {
            mdk_tensor_free(t);
            rc = fail(err, errsize, "input '%s': %s", nm->valuestring, mdk_errmsg());
            break;
        }
        req->inputs[req->n_inputs++] = t;
        if (bsize) {
            if (!cJSON_IsNumber(bsize) || bsize->valuedouble < 0 || bsize->valuedouble > (double)(len - bin_off)) {
                rc = fail(err, errsize, "input '%s': binary_data_size must be a byte count within the %zu bytes after the JSON",
                          nm->valuestring, len - bin_off);
                break;
            }
            size_t n = (size_t)bsize->valuedouble;
            rc = fill_binary(t, nm->valuestring, body + bin_off, n, err, errsize);
            bin_off += n;
            continue;
        }
        if (!cJSON_IsArray(data)) {
            rc = fail(err, errsize, "input '%s': \"data\" must be an array (or use binary_data_size)", nm->valuestring);
            break;
        }
        filler f = {t, dtype, 0, mdk_tensor_count(t), nm->valuestring, err, errsize};
        if ((rc = fill(&f, data, 1)) == 0 && f.i != f.n)
            rc = fail(err, errsize, "input '%s': %zu data elements for shape of %zu elements", nm->valuestring, f.i, f.n);
    }
    if (!rc && bin_off != len) rc = fail(err, errsize, "%zu bytes after the JSON belong to no input", len - bin_off);
    for (const cJSON *o = rc || !outputs ? NULL : outputs->child; o && !rc; o = o->next) {
        const cJSON *nm = cJSON_GetObjectItemCaseSensitive(o, "name");
        if (!cJSON_IsString(nm)) rc = fail(err, errsize, "outputs[%zu]: \"name\" must be a string", req->n_outputs);
        else if (req->n_outputs == SRV_MAX_TENSORS) rc = fail(err, errsize, "more than %d outputs requested", SRV_MAX_TENSORS);
        else {
            snprintf(req->outputs[req->n_outputs], sizeof req->outputs[0], "%s", nm->valuestring);
            const cJSON *op = cJSON_GetObjectItemCaseSensitive(o, "parameters");
            req->output_binary[req->n_outputs++] = binary_flag(op, "binary_data") || (req->all_binary && !cJSON_GetObjectItemCaseSensitive(op, "binary_data"));
        }
    }
    cJSON_Delete(root);
    if (rc) srv_v2_request_free(req);
    return rc;
}

void srv_v2_request_free(srv_v2_request *req)
{
    for (size_t i = 0; i < req->n_inputs; i++) mdk_tensor_free(req->inputs[i]);
    req->n_inputs = 0;
}

/* ---- responses ---- */

typedef struct out {
    char *p;
    size_t len, cap;
    int oom;
} out;

static void grow(out *o, size_t need)
{
    if (o->oom || o->len + need + 1 <= o->cap) return;
    size_t cap = o->cap ? o->cap : 4096;
    while (cap < o->len + need + 1) cap *= 2;
    char *p = realloc(o->p, cap);
    if (!p) {
        o->oom = 1;
        return;
    }
    o->p = p, o->cap = cap;
}

static void add(out *o, const char *s, size_t n)
{
    grow(o, n);
    if (o->oom) return;
    memcpy(o->p + o->len, s, n);
    o->len += n;
    o->p[o->len] = '\0';
}

static void addf(out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void addf(out *o, const char *fmt, ...)
{
    char buf[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < sizeof buf) add(o, buf, (size_t)n);
}

static void add_json_string(out *o, const char *s)
{
    cJSON *j = cJSON_CreateString(s);
    char *t = j ? cJSON_PrintUnformatted(j) : NULL;
    if (t) add(o, t, strlen(t));
    else o->oom = 1;
    free(t);
    cJSON_Delete(j);
}

static void add_number(out *o, mdk_dtype dt, double v)
{
    if (isnan(v)) add(o, "\"NaN\"", 5);
    else if (isinf(v)) add(o, v > 0 ? "\"Infinity\"" : "\"-Infinity\"", v > 0 ? 10 : 11);
    else if (dt == MDK_DTYPE_FLOAT32 || dt == MDK_DTYPE_FLOAT16 || dt == MDK_DTYPE_BFLOAT16) addf(o, "%.9g", v);
    else if (dt == MDK_DTYPE_FLOAT64) addf(o, "%.17g", v);
    else if (dt == MDK_DTYPE_BOOL) add(o, v != 0 ? "true" : "false", v != 0 ? 4 : 5);
    else addf(o, "%.0f", v);
}

static int wanted(const srv_v2_request *req, const char *name, int *binary)
{
    *binary = req ? req->all_binary : 0;
    if (!req || !req->n_outputs) return 1;
    for (size_t i = 0; i < req->n_outputs; i++)
        if (strcmp(req->outputs[i], name) == 0) return *binary = req->output_binary[i], 1;
    return 0;
}

int srv_v2_encode(const char *model, const char *version, const char *id, mdk_tensor *const *outputs, size_t n,
                  const srv_v2_request *req, char **body, size_t *len, size_t *json_len)
{
    out o = {0}, bin = {0};
    add(&o, "{\"model_name\":", 14);
    add_json_string(&o, model);
    add(&o, ",\"model_version\":", 17);
    add_json_string(&o, version);
    if (id && *id) {
        add(&o, ",\"id\":", 6);
        add_json_string(&o, id);
    }
    add(&o, ",\"outputs\":[", 12);
    int first = 1;
    for (size_t i = 0; i < n; i++) {
        const mdk_tensor *t = outputs[i];
        int binary;
        if (!wanted(req, mdk_tensor_name(t), &binary)) continue;
        mdk_dtype dt = mdk_tensor_dtype(t);
        if (mdk_tensor_kind(t) != MDK_VALUE_TENSOR || !srv_v2_datatype(dt)) {
            free(o.p), free(bin.p);
            return -1;
        }
        if (!first) add(&o, ",", 1);
        first = 0;
        add(&o, "{\"name\":", 8);
        add_json_string(&o, mdk_tensor_name(t));
        addf(&o, ",\"datatype\":\"%s\",\"shape\":[", srv_v2_datatype(dt));
        for (size_t k = 0; k < mdk_tensor_ndim(t); k++) addf(&o, "%s%lld", k ? "," : "", (long long)mdk_tensor_shape(t)[k]);
        add(&o, "]", 1);
        size_t count = mdk_tensor_count(t);
        if (binary) {
            size_t before = bin.len;
            if (dt == MDK_DTYPE_STRING) {
                for (size_t k = 0; k < count; k++) {
                    const char *s = mdk_tensor_string(t, k);
                    uint32_t sl = (uint32_t)strlen(s);
                    char hdr[4] = {(char)(sl & 0xff), (char)((sl >> 8) & 0xff), (char)((sl >> 16) & 0xff), (char)(sl >> 24)};
                    add(&bin, hdr, 4);
                    add(&bin, s, sl);
                }
            } else {
                add(&bin, mdk_tensor_data(t), mdk_tensor_nbytes(t));
            }
            addf(&o, ",\"parameters\":{\"binary_data_size\":%zu}}", bin.len - before);
            continue;
        }
        add(&o, ",\"data\":[", 9);
        for (size_t k = 0; k < count; k++) {
            if (k) add(&o, ",", 1);
            if (dt == MDK_DTYPE_STRING) add_json_string(&o, mdk_tensor_string(t, k));
            else if (dt == MDK_DTYPE_INT64) addf(&o, "%lld", (long long)((const int64_t *)mdk_tensor_data(t))[k]);
            else if (dt == MDK_DTYPE_UINT64) addf(&o, "%llu", (unsigned long long)((const uint64_t *)mdk_tensor_data(t))[k]);
            else add_number(&o, dt, mdk_tensor_get_f64(t, k));
        }
        add(&o, "]}", 2);
    }
    add(&o, "]}", 2);
    if (o.oom || bin.oom) {
        free(o.p), free(bin.p);
        return -1;
    }
    *json_len = o.len;
    if (bin.len) add(&o, bin.p, bin.len);
    free(bin.p);
    if (o.oom) {
        free(o.p);
        return -1;
    }
    *body = o.p;
    *len = o.len;
    return 0;
}
