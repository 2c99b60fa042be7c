/* v2.c: the Open Inference Protocol v2 tensor codec: inference requests (JSON data, flat or nested, and the
 * binary tensor extension) parsed into tensors, and responses encoded from output tensors. Element values are
 * written by the same number writer as the library's other JSON tensors (json.c). */
#include <cjson/cJSON.h>
#include <math.h>
#include <string.h>

#include "tensor/tensor_int.h"

#define V2_MAX_TENSORS 1024
#define V2_MAX_RESPONSE_BYTES ((size_t)4 << 30)

struct mdk_v2_request {
    char *id;
    mdk_tensor **inputs;
    size_t n_inputs;
    char **outputs;       /* requested outputs; none: all */
    int *output_binary;
    size_t n_outputs;
    int all_binary;       /* "binary_data_output": true in the request parameters */
};

static const mdk_dtype v2_types[] = {MDK_DTYPE_BOOL, MDK_DTYPE_UINT8, MDK_DTYPE_UINT16, MDK_DTYPE_UINT32,
                                     MDK_DTYPE_UINT64, MDK_DTYPE_INT8, MDK_DTYPE_INT16, MDK_DTYPE_INT32,
                                     MDK_DTYPE_INT64, MDK_DTYPE_FLOAT16, MDK_DTYPE_FLOAT32, MDK_DTYPE_FLOAT64,
                                     MDK_DTYPE_STRING, MDK_DTYPE_BFLOAT16};

const char *mdk_v2_datatype(mdk_dtype dt)
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
    for (size_t i = 0; i < sizeof v2_types / sizeof v2_types[0]; i++)
        if (strcmp(s, mdk_v2_datatype(v2_types[i])) == 0) return v2_types[i];
    return MDK_DTYPE_UNDEFINED;
}

typedef struct filler {
    mdk_tensor *t;
    size_t i;
    const char *name;
    char what[300];  /* "input 'NAME'" for messages */
} filler;

/* One JSON value into element f->i. */
static mdk_status put(filler *f, const cJSON *e)
{
    if (f->i >= f->t->count)
        return mdki_fail(MDK_ERR_MISMATCH, "input '%s': more data than its shape holds (%zu elements)", f->name, f->t->count);
    return mdki_json_put_value(f->t, f->i++, e, 1, f->what);
}

/* Flat or nested (any depth up to the rank) data, in row-major order. */
static mdk_status fill(filler *f, const cJSON *a, int depth)
{
    if (depth > MDK_MAX_DIMS) return mdki_fail(MDK_ERR_FORMAT, "input '%s': data nested too deep", f->name);
    for (const cJSON *e = a->child; e; e = e->next) {
        mdk_status st = cJSON_IsArray(e) ? fill(f, e, depth + 1) : put(f, e);
        if (st != MDK_OK) return st;
    }
    return MDK_OK;
}

/* Binary data for a tensor: fixed-size elements as they are (little-endian), BYTES as 4-byte length + bytes. */
static mdk_status fill_binary(mdk_tensor *t, const char *name, const unsigned char *p, size_t size)
{
    if (t->dtype != MDK_DTYPE_STRING) {
        if (size != t->nbytes)
            return mdki_fail(MDK_ERR_MISMATCH, "input '%s': binary_data_size is %zu bytes, its shape and datatype need %zu",
                             name, size, t->nbytes);
        if (size) memcpy(t->data, p, size);
        return MDK_OK;
    }
    size_t off = 0;
    for (size_t i = 0; i < t->count; i++) {
        if (size - off < 4)
            return mdki_fail(MDK_ERR_FORMAT, "input '%s': BYTES binary data ends inside element %zu", name, i);
        uint32_t n = (uint32_t)p[off] | (uint32_t)p[off + 1] << 8 | (uint32_t)p[off + 2] << 16 | (uint32_t)p[off + 3] << 24;
        off += 4;
        if (n > size - off)
            return mdki_fail(MDK_ERR_FORMAT, "input '%s': BYTES element %zu is longer than the data left", name, i);
        mdk_status st = mdk_tensor_set_string(t, i, (const char *)p + off, n);
        if (st != MDK_OK) return st;
        off += n;
    }
    if (off != size) return mdki_fail(MDK_ERR_FORMAT, "input '%s': %zu bytes of binary data left over", name, size - off);
    return MDK_OK;
}

static int binary_flag(const cJSON *params, const char *key)
{
    return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(params, key));
}

/* One element of "inputs": its tensor, from JSON data or from the binary part at `*bin_off`. */
static mdk_status parse_input(const cJSON *in, size_t k, const unsigned char *body, size_t len, size_t json_len,
                              size_t *bin_off, mdk_tensor **out)
{
    const cJSON *nm = cJSON_GetObjectItemCaseSensitive(in, "name"), *sh = cJSON_GetObjectItemCaseSensitive(in, "shape"),
                *dt = cJSON_GetObjectItemCaseSensitive(in, "datatype"), *data = cJSON_GetObjectItemCaseSensitive(in, "data"),
                *ip = cJSON_GetObjectItemCaseSensitive(in, "parameters");
    if (!cJSON_IsString(nm)) return mdki_fail(MDK_ERR_FORMAT, "inputs[%zu]: \"name\" must be a string", k);
    const char *name = nm->valuestring;
    mdk_dtype dtype = cJSON_IsString(dt) ? from_datatype(dt->valuestring) : MDK_DTYPE_UNDEFINED;
    if (dtype == MDK_DTYPE_UNDEFINED)
        return mdki_fail(MDK_ERR_FORMAT, "input '%s': \"datatype\" must be one of BOOL, UINT8, UINT16, UINT32, UINT64, "
                         "INT8, INT16, INT32, INT64, FP16, FP32, FP64, BYTES, BF16", name);
    int64_t shape[MDK_MAX_DIMS];
    size_t ndim = 0;
    if (!cJSON_IsArray(sh) || cJSON_GetArraySize(sh) > MDK_MAX_DIMS)
        return mdki_fail(MDK_ERR_FORMAT, "input '%s': \"shape\" must be an array of at most %d sizes", name, MDK_MAX_DIMS);
    for (const cJSON *e = sh->child; e; e = e->next) {
        if (!cJSON_IsNumber(e) || e->valuedouble < 0 || e->valuedouble > 4e9 || e->valuedouble != floor(e->valuedouble))
            return mdki_fail(MDK_ERR_FORMAT, "input '%s': shape sizes must be integers >= 0", name);
        shape[ndim++] = (int64_t)e->valuedouble;
    }
    /* no tensor larger than the request could fill: at least one byte per JSON element, the exact size (or 4
     * bytes per BYTES element) in binary */
    const cJSON *bsize = cJSON_GetObjectItemCaseSensitive(ip, "binary_data_size");
    uint64_t count = 1;
    for (size_t d = 0; d < ndim; d++)
        count = count && (uint64_t)shape[d] > UINT64_MAX / count ? UINT64_MAX : count * (uint64_t)shape[d];
    uint64_t per = dtype == MDK_DTYPE_STRING ? 4 : mdk_dtype_size(dtype), room = bsize ? len - *bin_off : json_len;
    if (count > room || (bsize && count * per > room))
        return mdki_fail(MDK_ERR_TOO_LARGE, "input '%s': shape of %llu elements is larger than the request holds", name,
                         (unsigned long long)count);
    mdk_tensor *t = NULL;
    mdk_status st = mdk_tensor_new(dtype, ndim, shape, &t);
    if (st == MDK_OK) st = mdk_tensor_set_name(t, name);
    if (st != MDK_OK) {
        mdk_tensor_free(t);
        return mdki_fail_prefix(st, "input '%s'", name);
    }
    if (bsize) {
        if (!cJSON_IsNumber(bsize) || bsize->valuedouble < 0 || bsize->valuedouble > (double)(len - *bin_off))
            st = mdki_fail(MDK_ERR_FORMAT, "input '%s': binary_data_size must be a byte count within the %zu bytes after "
                           "the JSON", name, len - *bin_off);
        if (st == MDK_OK) {
            size_t n = (size_t)bsize->valuedouble;
            st = fill_binary(t, name, body + *bin_off, n);
            *bin_off += n;
        }
    } else if (!cJSON_IsArray(data)) {
        st = mdki_fail(MDK_ERR_FORMAT, "input '%s': \"data\" must be an array (or use binary_data_size)", name);
    } else {
        filler f = {t, 0, name, ""};
        snprintf(f.what, sizeof f.what, "input '%.200s'", name);
        st = fill(&f, data, 1);
        if (st == MDK_OK && f.i != t->count)
            st = mdki_fail(MDK_ERR_MISMATCH, "input '%s': %zu data elements for shape of %zu elements", name, f.i, t->count);
    }
    if (st != MDK_OK) {
        mdk_tensor_free(t);
        return st;
    }
    *out = t;
    return MDK_OK;
}

mdk_status mdk_v2_request_parse(const void *data, size_t len, size_t json_len, mdk_v2_request **out)
{
    if ((!data && len) || !out) return mdki_fail(MDK_ERR_INVALID_ARGUMENT, "mdk_v2_request_parse: NULL argument");
    const unsigned char *body = data;
    if (json_len > len)
        return mdki_fail(MDK_ERR_FORMAT, "Inference-Header-Content-Length %zu exceeds the body (%zu bytes)", json_len, len);
    if (json_len > MDK_JSON_MAX_BYTES)
        return mdki_fail(MDK_ERR_TOO_LARGE, "the request's JSON is %zu bytes, above the limit of %llu", json_len,
                         (unsigned long long)MDK_JSON_MAX_BYTES);
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts((const char *)body, json_len, &end, 0);
    if (!root) {
        size_t at = end && end >= (const char *)body ? (size_t)(end - (const char *)body) : 0;
        return mdki_fail(MDK_ERR_FORMAT, "the request body is not valid JSON (at byte %zu); expected {\"inputs\": [...]}", at);
    }
    mdk_v2_request *r = mdki_calloc(1, sizeof *r);
    mdk_status st = r ? MDK_OK : MDK_ERR_NO_MEMORY;
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(root, "id");
    const cJSON *inputs = cJSON_GetObjectItemCaseSensitive(root, "inputs");
    const cJSON *outputs = cJSON_GetObjectItemCaseSensitive(root, "outputs");
    size_t bin_off = json_len, n_in = (size_t)cJSON_GetArraySize(inputs), n_out = (size_t)cJSON_GetArraySize(outputs);
    if (st != MDK_OK) {
    } else if (!cJSON_IsObject(root)) {
        st = mdki_fail(MDK_ERR_FORMAT, "the request must be a JSON object with \"inputs\"");
    } else if (id && !cJSON_IsString(id)) {
        st = mdki_fail(MDK_ERR_FORMAT, "\"id\" must be a string");
    } else if (!cJSON_IsArray(inputs) || !n_in) {
        st = mdki_fail(MDK_ERR_FORMAT, "\"inputs\" must be a non-empty array of {name, shape, datatype, data}");
    } else if (outputs && !cJSON_IsArray(outputs)) {
        st = mdki_fail(MDK_ERR_FORMAT, "\"outputs\" must be an array of {name}");
    } else if (n_in > V2_MAX_TENSORS || n_out > V2_MAX_TENSORS) {
        st = mdki_fail(MDK_ERR_TOO_LARGE, "more than %d inputs or outputs", V2_MAX_TENSORS);
    }
    if (st == MDK_OK) {
        r->all_binary = binary_flag(cJSON_GetObjectItemCaseSensitive(root, "parameters"), "binary_data_output");
        r->id = mdki_strdup(id ? id->valuestring : "");
        r->inputs = mdki_calloc(n_in, sizeof *r->inputs);
        r->outputs = mdki_calloc(n_out ? n_out : 1, sizeof *r->outputs);
        r->output_binary = mdki_calloc(n_out ? n_out : 1, sizeof *r->output_binary);
        if (!r->id || !r->inputs || !r->outputs || !r->output_binary) st = MDK_ERR_NO_MEMORY;
    }
    for (const cJSON *in = st == MDK_OK ? inputs->child : NULL; in && st == MDK_OK; in = in->next) {
        st = parse_input(in, r->n_inputs, body, len, json_len, &bin_off, &r->inputs[r->n_inputs]);
        if (st == MDK_OK) r->n_inputs++;
    }
    if (st == MDK_OK && bin_off != len)
        st = mdki_fail(MDK_ERR_FORMAT, "%zu bytes after the JSON belong to no input", len - bin_off);
    for (const cJSON *o = st == MDK_OK && outputs ? outputs->child : NULL; o && st == MDK_OK; o = o->next) {
        const cJSON *nm = cJSON_GetObjectItemCaseSensitive(o, "name");
        const cJSON *op = cJSON_GetObjectItemCaseSensitive(o, "parameters");
        if (!cJSON_IsString(nm)) {
            st = mdki_fail(MDK_ERR_FORMAT, "outputs[%zu]: \"name\" must be a string", r->n_outputs);
        } else if (!(r->outputs[r->n_outputs] = mdki_strdup(nm->valuestring))) {
            st = MDK_ERR_NO_MEMORY;
        } else {
            r->output_binary[r->n_outputs++] = binary_flag(op, "binary_data") ||
                                               (r->all_binary && !cJSON_GetObjectItemCaseSensitive(op, "binary_data"));
        }
    }
    cJSON_Delete(root);
    if (st != MDK_OK) {
        mdk_v2_request_free(r);
        return st;
    }
    *out = r;
    return MDK_OK;
}

void mdk_v2_request_free(mdk_v2_request *r)
{
    if (!r) return;
    mdk_tensors_free(r->inputs, r->n_inputs);
    for (size_t i = 0; i < r->n_outputs; i++) mdki_free(r->outputs[i]);
    mdki_free(r->outputs);
    mdki_free(r->output_binary);
    mdki_free(r->id);
    mdki_free(r);
}

const char *mdk_v2_request_id(const mdk_v2_request *r) { return r && r->id ? r->id : ""; }
size_t mdk_v2_request_input_count(const mdk_v2_request *r) { return r ? r->n_inputs : 0; }
mdk_tensor *mdk_v2_request_input(const mdk_v2_request *r, size_t i) { return r && i < r->n_inputs ? r->inputs[i] : NULL; }
size_t mdk_v2_request_output_count(const mdk_v2_request *r) { return r ? r->n_outputs : 0; }
const char *mdk_v2_request_output(const mdk_v2_request *r, size_t i) { return r && i < r->n_outputs ? r->outputs[i] : NULL; }

mdk_status mdk_v2_request_take_inputs(mdk_v2_request *r, mdk_tensor ***inputs, size_t *n)
{
    if (!r || !inputs || !n) return mdki_fail(MDK_ERR_INVALID_ARGUMENT, "mdk_v2_request_take_inputs: NULL argument");
    *inputs = r->inputs;
    *n = r->n_inputs;
    r->inputs = NULL;
    r->n_inputs = 0;
    return MDK_OK;
}

/* ---- responses ---- */

/* Whether the request asked for output `name`, and in binary. */
static int wanted(const mdk_v2_request *r, const char *name, int *binary)
{
    *binary = r ? r->all_binary : 0;
    if (!r || !r->n_outputs) return 1;
    for (size_t i = 0; i < r->n_outputs; i++)
        if (strcmp(r->outputs[i], name) == 0) return *binary = r->output_binary[i], 1;
    return 0;
}

static mdk_status put_binary(mdki_buf *bin, const mdk_tensor *t)
{
    if (t->dtype != MDK_DTYPE_STRING) return mdki_buf_add(bin, t->data, t->nbytes);
    mdk_status st = MDK_OK;
    for (size_t k = 0; k < t->count && st == MDK_OK; k++) {
        const char *s = ((char *const *)t->data)[k];
        size_t sl = strlen(s);
        if (sl > UINT32_MAX) return mdki_fail(MDK_ERR_TOO_LARGE, "output '%s': string %zu is too long", mdk_tensor_name(t), k);
        unsigned char hdr[4] = {(unsigned char)sl, (unsigned char)(sl >> 8), (unsigned char)(sl >> 16),
                                (unsigned char)(sl >> 24)};
        st = mdki_buf_add(bin, hdr, 4);
        if (st == MDK_OK) st = mdki_buf_add(bin, s, sl);
    }
    return st;
}

mdk_status mdk_v2_response_encode(const char *name, const char *version, const mdk_v2_request *req,
                                  mdk_tensor *const *outputs, size_t n, char **body, size_t *len, size_t *json_len)
{
    if (!name || !version || (n && !outputs) || !body || !len || !json_len)
        return mdki_fail(MDK_ERR_INVALID_ARGUMENT, "mdk_v2_response_encode: NULL argument");
    mdki_buf o, bin;
    mdki_buf_init(&o, V2_MAX_RESPONSE_BYTES);
    mdki_buf_init(&bin, V2_MAX_RESPONSE_BYTES);
    mdki_jw w;
    mdki_jw_init(&w, &o, 0);
    mdki_jw_object(&w);
    mdki_jw_key(&w, "model_name");
    mdki_jw_string(&w, name);
    mdki_jw_key(&w, "model_version");
    mdki_jw_string(&w, version);
    if (req && req->id && *req->id) {
        mdki_jw_key(&w, "id");
        mdki_jw_string(&w, req->id);
    }
    mdki_jw_key(&w, "outputs");
    mdki_jw_array(&w);
    mdk_status st = MDK_OK;
    for (size_t i = 0; i < n && st == MDK_OK && w.st == MDK_OK; i++) {
        const mdk_tensor *t = outputs[i];
        int binary;
        if (!wanted(req, mdk_tensor_name(t), &binary)) continue;
        if (t->kind != MDK_VALUE_TENSOR || !mdk_v2_datatype(t->dtype)) {
            st = mdki_fail(MDK_ERR_UNSUPPORTED, "output '%s' is a %s, which the v2 protocol cannot carry", mdk_tensor_name(t),
                           t->kind != MDK_VALUE_TENSOR ? "sequence or optional" : mdk_dtype_name(t->dtype));
            break;
        }
        if (!binary) {
            mdki_jw_tensor(&w, t);
            continue;
        }
        size_t before = bin.len; /* the binary extension: the data after the JSON, its size here */
        st = put_binary(&bin, t);
        mdki_jw_object(&w);
        mdki_jw_tensor_head(&w, t);
        mdki_jw_key(&w, "parameters");
        mdki_jw_object(&w);
        mdki_jw_key(&w, "binary_data_size");
        mdki_jw_uint(&w, bin.len - before);
        mdki_jw_end_object(&w);
        mdki_jw_end_object(&w);
    }
    if (st == MDK_OK) {
        mdki_jw_end_array(&w);
        mdki_jw_end_object(&w);
        st = mdki_jw_finish(&w);
    }
    size_t jl = o.len;
    if (st == MDK_OK && bin.len) st = mdki_buf_add(&o, bin.data, bin.len);
    mdki_buf_free(&bin);
    if (st != MDK_OK) {
        mdki_buf_free(&o);
        return st;
    }
    *json_len = jl;
    *body = mdki_buf_take(&o, len);
    return MDK_OK;
}
