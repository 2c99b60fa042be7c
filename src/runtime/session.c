/* session.c: mdk_model, an ONNX Runtime session with its input/output signature, input checking and runs. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>

#include <onnxruntime_c_api.h>

#include "tensor/tensor_int.h"

static const OrtApi *g_ort;
static OrtEnv *g_env;
static OrtAllocator *g_alloc;
static mdk_status g_init_status = MDK_OK;
static char g_init_msg[512];
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

/* Turns an OrtStatus into an mdk status with `fmt`'s prefix, releasing it. NULL means success. */
static mdk_status ort_fail(OrtStatus *s, const char *what)
{
    if (!s) return MDK_OK;
    mdk_status st = mdki_fail(MDK_ERR_RUNTIME, "%s: %s", what, g_ort->GetErrorMessage(s));
    g_ort->ReleaseStatus(s);
    return st;
}

/* Frees a string ONNX Runtime allocated; a failure to free is not actionable and is released. */
static void ort_free_str(char *p)
{
    OrtStatus *s = g_ort->AllocatorFree(g_alloc, p);
    if (s) g_ort->ReleaseStatus(s);
}

static void ort_init(void)
{
    const OrtApiBase *base = OrtGetApiBase();
    g_ort = base ? base->GetApi(ORT_API_VERSION) : NULL;
    if (!g_ort) {
        g_init_status = MDK_ERR_RUNTIME;
        snprintf(g_init_msg, sizeof g_init_msg, "ONNX Runtime %s does not provide API version %d (mdk needs 1.%d or newer)",
                 base ? base->GetVersionString() : "?", ORT_API_VERSION, ORT_API_VERSION);
        return;
    }
    /* mdk turns every ORT error into its own message; ORT's log only duplicates it unless asked for. */
    int level = ORT_LOGGING_LEVEL_FATAL;
    const char *env = getenv("MDK_ORT_LOG_LEVEL");
    if (env && env[0] >= '0' && env[0] <= '4' && env[1] == '\0') level = env[0] - '0';
    OrtStatus *s = g_ort->CreateEnv((OrtLoggingLevel)level, "mdk", &g_env);
    if (!s) s = g_ort->GetAllocatorWithDefaultOptions(&g_alloc);
    if (s) {
        g_init_status = MDK_ERR_RUNTIME;
        snprintf(g_init_msg, sizeof g_init_msg, "ONNX Runtime initialisation failed: %s", g_ort->GetErrorMessage(s));
        g_ort->ReleaseStatus(s);
    }
}

static mdk_status ort_ready(void)
{
    pthread_once(&g_once, ort_init);
    if (g_init_status != MDK_OK) return mdki_fail(g_init_status, "%s", g_init_msg);
    return MDK_OK;
}

const char *mdk_ort_version(void)
{
    const OrtApiBase *base = OrtGetApiBase();
    return base ? base->GetVersionString() : "unknown";
}

const char *mdk_version(void)
{
    return MDK_VERSION_STRING;
}

void mdk_options_init_sized(mdk_options *opts, size_t size)
{
    mdk_options d;
    memset(&d, 0, sizeof d);
    d.graph_opt_level = 3;
    d.log_level = 4;
    if (!opts || size < sizeof(size_t)) return;
    if (size > sizeof d) size = sizeof d; /* a newer caller: the fields this version knows */
    d.struct_size = size;
    memcpy(opts, &d, size);
}

struct mdk_model {
    OrtSession *session;
    OrtMemoryInfo *cpu;
    size_t n_in, n_out;
    mdk_value_info *values; /* inputs, then outputs */
    const char **names;     /* same order, for Run */
    mdk_dim *dims;
    size_t n_dims;
    mdk_options opts; /* as opened, limits included */
};

/* The element type inside a (nested) sequence or optional type; UNDEFINED when it cannot be told. */
static mdk_dtype element_dtype(const OrtTypeInfo *ti, int depth)
{
    enum ONNXType type;
    OrtStatus *s = g_ort->GetOnnxTypeFromTypeInfo(ti, &type);
    if (s || depth > 8) {
        if (s) g_ort->ReleaseStatus(s);
        return MDK_DTYPE_UNDEFINED;
    }
    mdk_dtype dt = MDK_DTYPE_UNDEFINED;
    OrtTypeInfo *inner = NULL;
    if (type == ONNX_TYPE_TENSOR) {
        const OrtTensorTypeAndShapeInfo *tsi;
        ONNXTensorElementDataType et;
        s = g_ort->CastTypeInfoToTensorInfo(ti, &tsi);
        if (!s && tsi) s = g_ort->GetTensorElementType(tsi, &et);
        if (!s && tsi) dt = (mdk_dtype)et;
    } else if (type == ONNX_TYPE_SEQUENCE) {
        const OrtSequenceTypeInfo *seq;
        s = g_ort->CastTypeInfoToSequenceTypeInfo(ti, &seq);
        if (!s && seq) s = g_ort->GetSequenceElementType(seq, &inner);
    } else if (type == ONNX_TYPE_OPTIONAL) {
        const OrtOptionalTypeInfo *opt;
        s = g_ort->CastTypeInfoToOptionalTypeInfo(ti, &opt);
        if (!s && opt) s = g_ort->GetOptionalContainedTypeInfo(opt, &inner);
    }
    if (s) g_ort->ReleaseStatus(s);
    if (inner) {
        dt = element_dtype(inner, depth + 1);
        g_ort->ReleaseTypeInfo(inner);
    }
    return dt;
}

/* Copies a string into library memory. ORT's own strings are freed by the caller. */
static mdk_status describe_value(mdk_model *m, OrtTypeInfo *ti, mdk_value_info *v)
{
    enum ONNXType type;
    OrtStatus *s = g_ort->GetOnnxTypeFromTypeInfo(ti, &type);
    if (s) return ort_fail(s, "reading the model signature");
    v->kind = type == ONNX_TYPE_TENSOR ? MDK_VALUE_TENSOR : type == ONNX_TYPE_SEQUENCE ? MDK_VALUE_SEQUENCE
              : type == ONNX_TYPE_MAP ? MDK_VALUE_MAP : type == ONNX_TYPE_OPTIONAL ? MDK_VALUE_OPTIONAL : MDK_VALUE_OTHER;
    v->doc = "";
    if (type == ONNX_TYPE_SEQUENCE || type == ONNX_TYPE_OPTIONAL) {
        v->dtype = element_dtype(ti, 0);
        return MDK_OK;
    }
    const OrtTensorTypeAndShapeInfo *tsi = NULL;
    if (type == ONNX_TYPE_TENSOR) {
        s = g_ort->CastTypeInfoToTensorInfo(ti, &tsi);
        if (s) return ort_fail(s, "reading the model signature");
    }
    if (!tsi) return MDK_OK;
    ONNXTensorElementDataType et;
    size_t nd;
    s = g_ort->GetTensorElementType(tsi, &et);
    if (!s) s = g_ort->GetDimensionsCount(tsi, &nd);
    if (s) return ort_fail(s, "reading the model signature");
    v->dtype = (mdk_dtype)et;
    if (nd > MDK_MAX_DIMS) return mdki_fail(MDK_ERR_UNSUPPORTED, "'%s' has rank %zu, above mdk's limit of %d", v->name, nd,
                                            MDK_MAX_DIMS);
    int64_t dimv[MDK_MAX_DIMS];
    const char *syms[MDK_MAX_DIMS];
    s = g_ort->GetDimensions(tsi, dimv, nd);
    if (!s) s = g_ort->GetSymbolicDimensions(tsi, syms, nd);
    if (s) return ort_fail(s, "reading the model signature");
    mdk_dim *grown = mdki_realloc(m->dims, (m->n_dims + nd + 1) * sizeof *grown);
    if (!grown) return MDK_ERR_NO_MEMORY;
    m->dims = grown;
    /* dims are stored as offsets until every value is read (the array moves as it grows) */
    v->dims = (const mdk_dim *)(uintptr_t)m->n_dims;
    for (size_t i = 0; i < nd; i++) {
        mdk_dim *d = &m->dims[m->n_dims++];
        d->value = dimv[i] >= 0 ? dimv[i] : -1;
        d->param = NULL;
        if (dimv[i] < 0 && syms[i] && *syms[i]) {
            d->param = mdki_strdup(syms[i]);
            if (!d->param) return MDK_ERR_NO_MEMORY;
        }
    }
    /* ORT reports an unknown rank as 0 dims; a declared scalar also has 0 dims. Treat both as known. */
    v->has_shape = 1;
    v->ndim = nd;
    return MDK_OK;
}

void mdk_model_close(mdk_model *m)
{
    if (!m) return;
    if (m->session) g_ort->ReleaseSession(m->session);
    if (m->cpu) g_ort->ReleaseMemoryInfo(m->cpu);
    for (size_t i = 0; m->values && i < m->n_in + m->n_out; i++) mdki_free((char *)m->values[i].name);
    for (size_t i = 0; m->dims && i < m->n_dims; i++) mdki_free((char *)m->dims[i].param);
    mdki_free(m->values);
    mdki_free(m->names);
    mdki_free(m->dims);
    mdki_free(m);
}

static mdk_status read_signature(mdk_model *m)
{
    OrtStatus *s = g_ort->SessionGetInputCount(m->session, &m->n_in);
    if (!s) s = g_ort->SessionGetOutputCount(m->session, &m->n_out);
    if (s) return ort_fail(s, "reading the model signature");
    size_t n = m->n_in + m->n_out;
    m->values = mdki_calloc(n ? n : 1, sizeof *m->values);
    m->names = mdki_calloc(n ? n : 1, sizeof *m->names);
    if (!m->values || !m->names) return MDK_ERR_NO_MEMORY;
    for (size_t i = 0; i < n; i++) {
        int is_in = i < m->n_in;
        size_t k = is_in ? i : i - m->n_in;
        char *name = NULL;
        OrtTypeInfo *ti = NULL;
        s = is_in ? g_ort->SessionGetInputName(m->session, k, g_alloc, &name)
                  : g_ort->SessionGetOutputName(m->session, k, g_alloc, &name);
        if (!s) s = is_in ? g_ort->SessionGetInputTypeInfo(m->session, k, &ti)
                          : g_ort->SessionGetOutputTypeInfo(m->session, k, &ti);
        if (s) {
            if (name) ort_free_str(name);
            return ort_fail(s, "reading the model signature");
        }
        m->values[i].name = mdki_strdup(name);
        ort_free_str(name);
        mdk_status st = m->values[i].name ? describe_value(m, ti, &m->values[i]) : MDK_ERR_NO_MEMORY;
        g_ort->ReleaseTypeInfo(ti);
        if (st != MDK_OK) return st;
        m->names[i] = m->values[i].name;
    }
    for (size_t i = 0; i < n; i++)
        m->values[i].dims = m->values[i].ndim ? m->dims + (uintptr_t)m->values[i].dims : NULL;
    return MDK_OK;
}

static mdk_status open_session(const char *path, const void *data, size_t len, const char *what,
                               const mdk_options *opts, mdk_model **out)
{
    mdk_status st = ort_ready();
    if (st != MDK_OK) return st;
    mdk_options o;
    if ((st = mdki_options_copy(opts, &o)) != MDK_OK) return st;
    opts = &o;
    if (opts->intra_op_threads < 0 || opts->inter_op_threads < 0 || opts->graph_opt_level < 0 ||
        opts->graph_opt_level > 3 || opts->log_level < 0 || opts->log_level > 4 || opts->execution_mode < 0 ||
        opts->execution_mode > 1)
        return mdki_fail(MDK_ERR_INVALID_ARGUMENT,
                         "invalid mdk_options (threads >= 0, graph_opt_level 0-3, log_level 0-4, execution_mode 0-1)");
    static const GraphOptimizationLevel levels[] = {ORT_DISABLE_ALL, ORT_ENABLE_BASIC, ORT_ENABLE_EXTENDED, ORT_ENABLE_ALL};
    OrtSessionOptions *so = NULL;
    mdk_model *m = mdki_calloc(1, sizeof *m);
    if (!m) return MDK_ERR_NO_MEMORY;
    m->opts = o;
    OrtStatus *s = g_ort->CreateSessionOptions(&so);
    if (!s && opts->intra_op_threads) s = g_ort->SetIntraOpNumThreads(so, opts->intra_op_threads);
    if (!s && opts->inter_op_threads) s = g_ort->SetInterOpNumThreads(so, opts->inter_op_threads);
    if (!s) s = g_ort->SetSessionGraphOptimizationLevel(so, levels[opts->graph_opt_level]);
    if (!s) s = g_ort->SetSessionExecutionMode(so, opts->execution_mode ? ORT_PARALLEL : ORT_SEQUENTIAL);
    if (!s) s = g_ort->SetSessionLogSeverityLevel(so, opts->log_level);
    if (!s) s = g_ort->CreateCpuMemoryInfo(OrtArenaAllocator, OrtMemTypeDefault, &m->cpu);
    if (s) {
        st = ort_fail(s, "creating the session options");
        goto fail;
    }
    s = path ? g_ort->CreateSession(g_env, path, so, &m->session)
             : g_ort->CreateSessionFromArray(g_env, data, len, so, &m->session);
    if (s) {
        const char *msg = g_ort->GetErrorMessage(s);
        st = mdki_fail(MDK_ERR_FORMAT, "%s: ONNX Runtime cannot create a session from it: %s", what, msg);
        g_ort->ReleaseStatus(s);
        goto fail;
    }
    st = read_signature(m);
    if (st != MDK_OK) goto fail;
    g_ort->ReleaseSessionOptions(so);
    *out = m;
    return MDK_OK;
fail:
    if (so) g_ort->ReleaseSessionOptions(so);
    mdk_model_close(m);
    return st;
}

mdk_status mdk_model_open(const char *path, const mdk_options *opts, mdk_model **out)
{
    if (!path || !out) return mdki_fail(MDK_ERR_INVALID_ARGUMENT, "mdk_model_open: NULL argument");
    struct stat sb;
    if (stat(path, &sb) != 0)
        return mdki_fail(errno == ENOENT ? MDK_ERR_NOT_FOUND : MDK_ERR_IO, "model '%s': %s", path, strerror(errno));
    if (!S_ISREG(sb.st_mode)) return mdki_fail(MDK_ERR_IO, "model '%s' is not a regular file", path);
    if (sb.st_size == 0) return mdki_fail(MDK_ERR_FORMAT, "model '%s': empty file, expected an ONNX model", path);
    if ((uint64_t)sb.st_size > MDK_MODEL_MAX_BYTES)
        return mdki_fail(MDK_ERR_TOO_LARGE, "model '%s' is larger than 2 GiB", path);
    char what[4200];
    snprintf(what, sizeof what, "model '%s'", path);
    return open_session(path, NULL, 0, what, opts, out);
}

mdk_status mdk_model_open_memory(const void *data, size_t len, const char *what, const mdk_options *opts, mdk_model **out)
{
    if (!data || !out) return mdki_fail(MDK_ERR_INVALID_ARGUMENT, "mdk_model_open_memory: NULL argument");
    if (len == 0) return mdki_fail(MDK_ERR_FORMAT, "%s: empty buffer, expected an ONNX model", what ? what : "model");
    if (len > MDK_MODEL_MAX_BYTES) return mdki_fail(MDK_ERR_TOO_LARGE, "%s: larger than 2 GiB", what ? what : "model");
    return open_session(NULL, data, len, what ? what : "model", opts, out);
}

size_t mdk_model_input_count(const mdk_model *m) { return m->n_in; }
size_t mdk_model_output_count(const mdk_model *m) { return m->n_out; }

const mdk_value_info *mdk_model_input(const mdk_model *m, size_t i)
{
    return i < m->n_in ? &m->values[i] : NULL;
}

const mdk_value_info *mdk_model_output(const mdk_model *m, size_t i)
{
    return i < m->n_out ? &m->values[m->n_in + i] : NULL;
}

int mdk_model_input_index(const mdk_model *m, const char *name)
{
    for (size_t i = 0; i < m->n_in; i++)
        if (strcmp(m->values[i].name, name) == 0) return (int)i;
    return -1;
}

int mdk_model_output_index(const mdk_model *m, const char *name)
{
    for (size_t i = 0; i < m->n_out; i++)
        if (strcmp(m->values[m->n_in + i].name, name) == 0) return (int)i;
    return -1;
}

/* "[N, 3, 224, 224]" with symbolic names, for messages. */
static const char *declared_shape(const mdk_value_info *v, char *buf, size_t size)
{
    size_t used = 0;
    int n = snprintf(buf, size, "[");
    used = (size_t)n;
    for (size_t i = 0; i < v->ndim && used < size; i++) {
        const mdk_dim *d = &v->dims[i];
        if (d->value >= 0) n = snprintf(buf + used, size - used, "%s%lld", i ? ", " : "", (long long)d->value);
        else n = snprintf(buf + used, size - used, "%s%s", i ? ", " : "", d->param ? d->param : "?");
        used += (size_t)n;
    }
    if (used < size) snprintf(buf + used, size - used, "]");
    return buf;
}

static const char *kind_name(mdk_value_kind k)
{
    return k == MDK_VALUE_TENSOR ? "a tensor" : k == MDK_VALUE_SEQUENCE ? "a sequence" : k == MDK_VALUE_OPTIONAL ? "an optional"
                                                                                                    : "a map";
}

static mdk_status check_tensor(const mdk_value_info *v, const mdk_tensor *t)
{
    char want[256], got[256];
    if (v->dtype != t->dtype && !(v->dtype == MDK_DTYPE_BFLOAT16 && t->dtype == MDK_DTYPE_UINT16))
        return mdki_fail(MDK_ERR_MISMATCH, "input '%s': expected dtype %s, got %s", v->name, mdk_dtype_name(v->dtype),
                         mdk_dtype_name(t->dtype));
    if (v->kind != MDK_VALUE_TENSOR) return MDK_OK; /* element shapes of sequences are not declared here */
    if (v->has_shape && v->ndim != t->ndim)
        return mdki_fail(MDK_ERR_MISMATCH, "input '%s': expected rank %zu %s, got rank %zu %s", v->name, v->ndim,
                         declared_shape(v, want, sizeof want), t->ndim, mdk_shape_str(t->ndim, t->shape, got, sizeof got));
    for (size_t i = 0; v->has_shape && i < v->ndim; i++)
        if (v->dims[i].value >= 0 && v->dims[i].value != t->shape[i])
            return mdki_fail(MDK_ERR_MISMATCH, "input '%s': dim %zu must be %lld (shape %s), got %lld (shape %s)", v->name, i,
                             (long long)v->dims[i].value, declared_shape(v, want, sizeof want), (long long)t->shape[i],
                             mdk_shape_str(t->ndim, t->shape, got, sizeof got));
    return MDK_OK;
}

mdk_status mdk_model_check_input(const mdk_model *m, size_t index, const mdk_tensor *t)
{
    if (!m || !t || index >= m->n_in) return mdki_fail(MDK_ERR_INVALID_ARGUMENT, "mdk_model_check_input: bad argument");
    const mdk_value_info *v = &m->values[index];
    mdk_value_kind want = v->kind;
    /* An optional input takes its value directly, or an mdk optional. */
    if (want == MDK_VALUE_OPTIONAL) {
        if (t->kind == MDK_VALUE_OPTIONAL) t = mdk_optional_value(t);
        if (!t) return MDK_OK;
        want = t->kind;
    }
    if (want != MDK_VALUE_TENSOR && want != MDK_VALUE_SEQUENCE)
        return mdki_fail(MDK_ERR_UNSUPPORTED, "input '%s' is a map; mdk feeds tensors, sequences and optionals", v->name);
    if (t->kind != want)
        return mdki_fail(MDK_ERR_MISMATCH, "input '%s': expected %s, got %s", v->name, kind_name(want), kind_name(t->kind));
    if (t->kind == MDK_VALUE_SEQUENCE) {
        for (size_t i = 0; i < mdk_sequence_length(t); i++) {
            mdk_status st = check_tensor(v, mdk_sequence_item(t, i));
            if (st != MDK_OK) return mdki_fail_prefix(st, "sequence item %zu", i);
        }
        return MDK_OK;
    }
    return check_tensor(v, t);
}

static mdk_status to_ort(const mdk_model *m, const mdk_tensor *t, mdk_dtype as, OrtValue **out)
{
    OrtStatus *s;
    if (t->kind == MDK_VALUE_OPTIONAL) return to_ort(m, mdk_optional_value(t), as, out);
    if (t->kind == MDK_VALUE_SEQUENCE) {
        size_t n = mdk_sequence_length(t);
        if (n == 0) return mdki_fail(MDK_ERR_UNSUPPORTED, "ONNX Runtime cannot take an empty sequence as input");
        OrtValue **items = mdki_calloc(n, sizeof *items);
        if (!items) return MDK_ERR_NO_MEMORY;
        mdk_status st = MDK_OK;
        for (size_t i = 0; i < n && st == MDK_OK; i++) st = to_ort(m, mdk_sequence_item(t, i), as, &items[i]);
        if (st == MDK_OK)
            st = ort_fail(g_ort->CreateValue((const OrtValue *const *)items, n, ONNX_TYPE_SEQUENCE, out),
                          "passing a sequence to ONNX Runtime");
        for (size_t i = 0; i < n; i++)
            if (items[i]) g_ort->ReleaseValue(items[i]);
        mdki_free(items);
        return st;
    }
    if (t->dtype == MDK_DTYPE_STRING) {
        s = g_ort->CreateTensorAsOrtValue(g_alloc, t->shape, t->ndim, ONNX_TENSOR_ELEMENT_DATA_TYPE_STRING, out);
        if (!s && t->count) s = g_ort->FillStringTensor(*out, (const char *const *)t->data, t->count);
    } else {
        s = g_ort->CreateTensorWithDataAsOrtValue(m->cpu, t->data, t->nbytes, t->shape, t->ndim,
                                                  (ONNXTensorElementDataType)as, out);
    }
    return ort_fail(s, "passing an input to ONNX Runtime");
}

static mdk_status from_ort(const OrtValue *v, const mdk_value_info *info, mdk_tensor **out);

static mdk_status sequence_from_ort(const OrtValue *v, const mdk_value_info *info, mdk_tensor **out)
{
    size_t n;
    OrtStatus *s = g_ort->GetValueCount(v, &n);
    if (s) return ort_fail(s, "reading a sequence output");
    mdk_tensor **items = mdki_calloc(n ? n : 1, sizeof *items);
    if (!items) return MDK_ERR_NO_MEMORY;
    mdk_status st = MDK_OK;
    mdk_value_info item_info = *info;
    item_info.kind = MDK_VALUE_TENSOR;
    size_t got = 0;
    for (; got < n && st == MDK_OK; got++) {
        OrtValue *item = NULL;
        st = ort_fail(g_ort->GetValue(v, (int)got, g_alloc, &item), "reading a sequence output");
        if (st == MDK_OK) st = from_ort(item, &item_info, &items[got]);
        if (item) g_ort->ReleaseValue(item);
    }
    if (st == MDK_OK) st = mdk_sequence_new(n ? mdk_tensor_dtype(items[0]) : info->dtype, items, n, out);
    else
        for (size_t i = 0; i < got; i++) mdk_tensor_free(items[i]);
    mdki_free(items);
    if (st == MDK_OK && (st = mdk_tensor_set_name(*out, info->name)) != MDK_OK) mdk_tensor_free(*out);
    return st;
}

static mdk_status from_ort(const OrtValue *v, const mdk_value_info *info, mdk_tensor **out)
{
    const char *name = info->name;
    enum ONNXType type;
    OrtStatus *s;
    if (info->kind == MDK_VALUE_OPTIONAL) {
        int has = 0;
        s = g_ort->HasValue(v, &has);
        if (s) return ort_fail(s, "reading an optional output");
        mdk_tensor *value = NULL;
        mdk_value_info inner = *info;
        inner.kind = MDK_VALUE_OTHER;
        mdk_status st = has ? from_ort(v, &inner, &value) : MDK_OK;
        if (st == MDK_OK) st = mdk_optional_new(info->dtype, value, out);
        if (st == MDK_OK && (st = mdk_tensor_set_name(*out, name)) != MDK_OK) mdk_tensor_free(*out);
        return st;
    }
    s = g_ort->GetValueType(v, &type);
    if (s) return ort_fail(s, "reading an output");
    if (type == ONNX_TYPE_SEQUENCE) return sequence_from_ort(v, info, out);
    if (type != ONNX_TYPE_TENSOR)
        return mdki_fail(MDK_ERR_UNSUPPORTED, "output '%s' is a map; mdk returns tensors, sequences and optionals", name);
    OrtTensorTypeAndShapeInfo *tsi;
    s = g_ort->GetTensorTypeAndShape(v, &tsi);
    if (s) return ort_fail(s, "reading an output");
    ONNXTensorElementDataType et;
    size_t nd = 0;
    int64_t dims[MDK_MAX_DIMS];
    s = g_ort->GetTensorElementType(tsi, &et);
    if (!s) s = g_ort->GetDimensionsCount(tsi, &nd);
    if (!s && nd <= MDK_MAX_DIMS) s = g_ort->GetDimensions(tsi, dims, nd);
    g_ort->ReleaseTensorTypeAndShapeInfo(tsi);
    if (s) return ort_fail(s, "reading an output");
    if (nd > MDK_MAX_DIMS) return mdki_fail(MDK_ERR_UNSUPPORTED, "output '%s' has rank %zu, above %d", name, nd, MDK_MAX_DIMS);
    mdk_tensor *t;
    mdk_status st = mdk_tensor_new((mdk_dtype)et, nd, dims, &t);
    if (st != MDK_OK) return mdki_fail_prefix(st, "output '%s'", name);
    if (t->dtype == MDK_DTYPE_STRING) {
        for (size_t i = 0; i < t->count; i++) {
            size_t len;
            s = g_ort->GetStringTensorElementLength(v, i, &len);
            char *str = s ? NULL : mdki_malloc(len + 1);
            if (!s && str) s = g_ort->GetStringTensorElement(v, len, i, str);
            if (s || !str) {
                mdki_free(str);
                mdk_tensor_free(t);
                return s ? ort_fail(s, "reading a string output") : MDK_ERR_NO_MEMORY;
            }
            str[len] = '\0';
            mdki_tensor_take_string(t, i, str);
        }
    } else if (t->nbytes) {
        void *p;
        s = g_ort->GetTensorMutableData((OrtValue *)v, &p);
        if (s) {
            mdk_tensor_free(t);
            return ort_fail(s, "reading an output");
        }
        memcpy(t->data, p, t->nbytes);
    }
    if ((st = mdk_tensor_set_name(t, name)) != MDK_OK) {
        mdk_tensor_free(t);
        return st;
    }
    *out = t;
    return MDK_OK;
}

static void list_inputs(const mdk_model *m, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < m->n_in && used < size; i++) {
        int n = snprintf(buf + used, size - used, "%s%s", i ? ", " : "", m->values[i].name);
        if (n < 0) break;
        used += (size_t)n;
    }
}

mdk_status mdki_options_copy(const mdk_options *in, mdk_options *out)
{
    /* a caller built against older headers passes a shorter struct: the fields it lacks keep their defaults */
    mdk_options_init(out);
    if (!in) return MDK_OK;
    if (in->struct_size < offsetof(mdk_options, log_level) + sizeof(int))
        return mdki_fail(MDK_ERR_INVALID_ARGUMENT, "mdk_options.struct_size is %zu; call mdk_options_init first", in->struct_size);
    memcpy(out, in, in->struct_size < sizeof *out ? in->struct_size : sizeof *out);
    out->struct_size = sizeof *out;
    return MDK_OK;
}

const mdk_options *mdk_model_options(const mdk_model *m) { return m ? &m->opts : NULL; }

/* The configured batch and size limits, checked before ONNX Runtime allocates anything for the run. */
static mdk_status check_limits(const mdk_model *m, size_t i, const mdk_tensor *t, uint64_t *total)
{
    const mdk_value_info *v = &m->values[i];
    if (t->kind != MDK_VALUE_TENSOR) return MDK_OK;
    for (size_t k = 0; !m->opts.allow_empty && v->has_shape && k < v->ndim && k < t->ndim; k++)
        if (v->dims[k].value < 0 && t->shape[k] == 0)
            return mdki_fail(MDK_ERR_INVALID_ARGUMENT, "input '%s': dim %zu is 0, an empty input: refused (some ONNX "
                             "Runtime kernels abort on one; mdk_options.allow_empty lets it through)", v->name, k);
    if (m->opts.max_batch && v->has_shape && v->ndim >= 1 && v->dims[0].value < 0 && t->ndim >= 1 &&
        (uint64_t)t->shape[0] > m->opts.max_batch)
        return mdki_fail(MDK_ERR_TOO_LARGE, "input '%s': batch of %lld exceeds the limit of %llu (max_batch)", v->name,
                         (long long)t->shape[0], (unsigned long long)m->opts.max_batch);
    *total += mdk_tensor_nbytes(t);
    if (m->opts.max_input_bytes && *total > m->opts.max_input_bytes)
        return mdki_fail(MDK_ERR_TOO_LARGE, "inputs of %llu bytes or more exceed the limit of %llu bytes (max_input_bytes)",
                         (unsigned long long)*total, (unsigned long long)m->opts.max_input_bytes);
    return MDK_OK;
}

mdk_status mdk_model_run(mdk_model *m, mdk_tensor *const *inputs, size_t n_inputs, mdk_tensor ***outputs,
                         size_t *n_outputs)
{
    if (!m || (n_inputs && !inputs) || !outputs || !n_outputs)
        return mdki_fail(MDK_ERR_INVALID_ARGUMENT, "mdk_model_run: NULL argument");
    /* Place each given tensor at its model input. */
    const mdk_tensor *slot[256] = {0};
    if (m->n_in > 256) return mdki_fail(MDK_ERR_UNSUPPORTED, "models with more than 256 inputs are not supported");
    char names[1024];
    for (size_t i = 0; i < n_inputs; i++) {
        const char *nm = mdk_tensor_name(inputs[i]);
        int idx = *nm ? mdk_model_input_index(m, nm) : (i < m->n_in ? (int)i : -1);
        if (idx < 0) {
            list_inputs(m, names, sizeof names);
            if (*nm) return mdki_fail(MDK_ERR_NOT_FOUND, "unknown input '%s'; the model's inputs are: %s", nm, names);
            return mdki_fail(MDK_ERR_MISMATCH, "%zu inputs given, the model takes %zu (%s)", n_inputs, m->n_in, names);
        }
        if (slot[idx]) return mdki_fail(MDK_ERR_INVALID_ARGUMENT, "input '%s' is given twice", m->values[idx].name);
        slot[idx] = inputs[i];
    }
    uint64_t total_bytes = 0;
    const char *feed_names[256];
    const mdk_tensor *feeds[256];
    mdk_dtype feed_types[256];
    size_t n_feed = 0;
    for (size_t i = 0; i < m->n_in; i++) {
        if (!slot[i] && m->values[i].kind != MDK_VALUE_OPTIONAL)
            return mdki_fail(MDK_ERR_NOT_FOUND, "input '%s' is missing", m->values[i].name);
        if (!slot[i]) continue;
        mdk_status st = mdk_model_check_input(m, i, slot[i]);
        if (st == MDK_OK) st = check_limits(m, i, slot[i], &total_bytes);
        if (st != MDK_OK) return st;
        /* an empty optional is fed by leaving the input out */
        if (slot[i]->kind == MDK_VALUE_OPTIONAL && !mdk_optional_value(slot[i])) continue;
        feed_names[n_feed] = m->values[i].name;
        feed_types[n_feed] = m->values[i].dtype;
        feeds[n_feed++] = slot[i];
    }
    OrtValue *in_vals[256] = {0};
    OrtValue **out_vals = mdki_calloc(m->n_out ? m->n_out : 1, sizeof *out_vals);
    mdk_tensor **res = mdki_calloc(m->n_out ? m->n_out : 1, sizeof *res);
    mdk_status st = out_vals && res ? MDK_OK : MDK_ERR_NO_MEMORY;
    for (size_t i = 0; st == MDK_OK && i < n_feed; i++) st = to_ort(m, feeds[i], feed_types[i], &in_vals[i]);
    if (st == MDK_OK) {
        OrtStatus *s = g_ort->Run(m->session, NULL, feed_names, (const OrtValue *const *)in_vals, n_feed,
                                  m->names + m->n_in, m->n_out, out_vals);
        if (s) st = ort_fail(s, "inference failed (ONNX Runtime)");
    }
    for (size_t i = 0; st == MDK_OK && i < m->n_out; i++) st = from_ort(out_vals[i], &m->values[m->n_in + i], &res[i]);
    for (size_t i = 0; i < n_feed; i++)
        if (in_vals[i]) g_ort->ReleaseValue(in_vals[i]);
    for (size_t i = 0; out_vals && i < m->n_out; i++)
        if (out_vals[i]) g_ort->ReleaseValue(out_vals[i]);
    mdki_free(out_vals);
    if (st != MDK_OK) {
        mdk_tensors_free(res, m->n_out);
        return st;
    }
    *outputs = res;
    *n_outputs = m->n_out;
    return MDK_OK;
}
