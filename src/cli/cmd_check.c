/* cmd_check.c: `mdk check MODEL|BUNDLE`: boundary probes (empty and malformed inputs, batch edges, NaN/Inf,
 * a huge batch against the configured limit, broken images for bundles), each run in its own process so a
 * crash or a hang is caught and reported instead of ending the check. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

extern char **environ;

#define MAX_PROBES 48
#define N_BATCH 4

typedef enum {
    EXP_RUN,    /* runs, outputs finite */
    EXP_REFUSE, /* refused with a message */
    EXP_EITHER, /* runs or is refused with a message; never crashes */
    EXP_AGREE,  /* batch results agree with single runs */
    EXP_FINITE  /* NaN/Inf inputs: runs or is refused; finite outputs preferred */
} expectation;

typedef enum {
    P_BASELINE, P_EMPTY, P_BATCH0, P_BATCH_N, P_DIM_OVER, P_DIM_MIN, P_AT_MAX_BATCH, P_HUGE_BATCH, P_RANK, P_DTYPE,
    P_NAME, P_MISSING, P_NAN, P_INF, P_IMG_OK, P_IMG_ZERO, P_IMG_TRUNC, P_IMG_CORRUPT, P_IMG_HUGE, P_IMG_TEXT
} probe_kind;

typedef struct probe {
    probe_kind kind;
    expectation expect;
    int input;        /* the model input it changes */
    int axis;         /* for P_DIM_OVER / P_DIM_MIN */
    char name[96];
} probe;

typedef struct check_ctx {
    const char *path;
    int is_bundle;
    mdk_options opts;
    mdk_bundle *bundle;
    mdk_pipeline *pipe;
    mdk_model *model;
    const dim_arg *dims;
    size_t n_dims;
    double rtol, atol;
    char *image;      /* a valid test image from the bundle, when it has one */
    size_t image_len;
    int64_t prep_shape[MDK_MAX_DIMS]; /* the preprocessed shape of that image */
    size_t prep_ndim;
    probe probes[MAX_PROBES];
    size_t n_probes;
    /* The batch: a named dim means one size across every input that has it, at whatever position (an RNN
     * state [layers, N, hidden] shares N with its input [N, features]). batch_axis[i] is that dim's position
     * in input i, -1 when the input has none. */
    const char *batch_name;   /* the symbolic name, NULL for an unnamed dynamic dim 0 */
    int batch_axis[64];
    /* A bundle's first test case, by input index: a known-good input the probes start from (NULL: random). */
    mdk_tensor *case_in[64];
    int64_t case_batch;       /* its batch size (1 without one) */
} check_ctx;

static const char *expect_text(expectation e)
{
    switch (e) {
    case EXP_RUN: return "runs, outputs finite";
    case EXP_REFUSE: return "refused with a message";
    case EXP_EITHER: return "runs or refused, no crash";
    case EXP_AGREE: return "equals single runs";
    case EXP_FINITE: return "no crash; finite outputs";
    }
    return "";
}

/* ---- shapes and inputs ---- */

/* The shape a probe starts from for input `idx`: declared dims, --dim values, the batch dim at 1, the
 * preprocessed image's dims for the pipeline's input, other dynamic dims at 64. */
static void base_shape(const check_ctx *c, size_t idx, int64_t *shape)
{
    const mdk_value_info *v = mdk_model_input(c->model, idx);
    const char *fed = c->pipe ? mdk_spec_input_name(mdk_pipeline_spec(c->pipe)) : NULL; /* NULL: the first input */
    int prep = c->pipe && c->prep_ndim == v->ndim && (fed ? strcmp(fed, v->name) == 0 : idx == 0);
    for (size_t k = 0; k < v->ndim; k++) {
        char key[512];
        snprintf(key, sizeof key, "%s:%zu", v->name, k);
        shape[k] = v->dims[k].value >= 0 ? v->dims[k].value : (int)k == c->batch_axis[idx] ? 1 : prep ? c->prep_shape[k] : 64;
        for (size_t d = 0; d < c->n_dims; d++)
            if (strcmp(c->dims[d].name, key) == 0 || (v->dims[k].param && strcmp(c->dims[d].name, v->dims[k].param) == 0))
                shape[k] = c->dims[d].value;
    }
}

static int has_batch(const check_ctx *c) { return c->batch_axis[0] >= 0; }

static mdk_status make_input(const check_ctx *c, size_t idx, mdk_dtype dtype, size_t ndim, const int64_t *shape,
                             uint64_t seed, mdk_tensor **out)
{
    mdk_status st = mdk_tensor_new(dtype, ndim, shape, out);
    if (st == MDK_OK) mdk_tensor_fill_random(*out, seed + idx);
    if (st == MDK_OK) st = mdk_tensor_set_name(*out, mdk_model_input(c->model, idx)->name);
    return st;
}

/* Every input, the batch at `batch` wherever each input has it: from the bundle's first test case when there
 * is one (its items repeated as needed), else random at the base shapes. */
static mdk_status make_feeds(const check_ctx *c, int64_t batch, uint64_t seed, mdk_tensor **feeds)
{
    mdk_status st = MDK_OK;
    int64_t *items = c->case_in[0] && batch > 0 ? calloc((size_t)batch, sizeof *items) : NULL;
    for (int64_t j = 0; items && j < batch; j++) items[j] = j % c->case_batch;
    for (size_t i = 0; i < mdk_model_input_count(c->model) && st == MDK_OK; i++) {
        const mdk_value_info *v = mdk_model_input(c->model, i);
        if (c->case_in[0] && (items || batch == 0)) {
            st = c->batch_axis[i] < 0 ? mdk_tensor_clone(c->case_in[i], &feeds[i])
                                      : cli_take_items(c->case_in[i], c->batch_axis[i], items, (size_t)batch, &feeds[i]);
            continue;
        }
        int64_t shape[MDK_MAX_DIMS];
        base_shape(c, i, shape);
        if (c->batch_axis[i] >= 0) shape[c->batch_axis[i]] = batch;
        st = make_input(c, i, v->dtype, v->ndim, shape, seed, &feeds[i]);
    }
    free(items);
    return st;
}

/* Far beyond max_batch, yet small enough (1 GiB) that the tensor itself can be made: the limit, not the
 * tensor size cap, must be what refuses it. */
static int64_t huge_batch(const check_ctx *c)
{
    const mdk_value_info *v = mdk_model_input(c->model, 0);
    int64_t shape[MDK_MAX_DIMS];
    base_shape(c, 0, shape);
    uint64_t per = 8;
    for (size_t k = 0; k < v->ndim; k++)
        if ((int)k != c->batch_axis[0]) per *= shape[k] > 0 ? (uint64_t)shape[k] : 1;
    uint64_t n = c->opts.max_batch * 1024, cap = ((uint64_t)1 << 30) / per;
    if (n > cap) n = cap;
    if (n <= c->opts.max_batch) n = c->opts.max_batch + 1;
    return (int64_t)n;
}

/* ---- one probe, in the child ---- */

typedef struct outcome {
    char code[16]; /* ran, nonfinite, refused, agrees, differs, skipped */
    char detail[400];
} outcome;

static void set(outcome *o, const char *code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set(outcome *o, const char *code, const char *fmt, ...)
{
    snprintf(o->code, sizeof o->code, "%s", code);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(o->detail, sizeof o->detail, fmt, ap);
    va_end(ap);
    for (char *p = o->detail; *p; p++)
        if (*p == '\n' || *p == '\t') *p = ' ';
}

static void refused(outcome *o) { set(o, "refused", "%s", mdk_errmsg()); }

static size_t count_nonfinite(mdk_tensor *const *outs, size_t n)
{
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        mdk_dtype dt = mdk_tensor_dtype(outs[i]);
        if (dt != MDK_DTYPE_FLOAT32 && dt != MDK_DTYPE_FLOAT64 && dt != MDK_DTYPE_FLOAT16 && dt != MDK_DTYPE_BFLOAT16) continue;
        for (size_t k = 0; k < mdk_tensor_count(outs[i]); k++) bad += !isfinite(mdk_tensor_get_f64(outs[i], k));
    }
    return bad;
}

static void run_feeds(check_ctx *c, mdk_tensor **feeds, size_t n, outcome *o)
{
    mdk_tensor **outs = NULL;
    size_t n_out = 0;
    mdk_status st = mdk_model_run(c->model, feeds, n, &outs, &n_out);
    if (st != MDK_OK) {
        refused(o);
        return;
    }
    size_t bad = count_nonfinite(outs, n_out), total = 0;
    char shape[128] = "";
    for (size_t i = 0; i < n_out; i++) total += mdk_tensor_count(outs[i]);
    if (n_out) mdk_shape_str(mdk_tensor_ndim(outs[0]), mdk_tensor_shape(outs[0]), shape, sizeof shape);
    if (bad) set(o, "nonfinite", "ran; %zu of %zu output values are NaN or Inf", bad, total);
    else set(o, "ran", "ran; %zu output%s (first %s), all finite", n_out, n_out == 1 ? "" : "s", shape);
    mdk_tensors_free(outs, n_out);
}

/* Batch of N_BATCH against N_BATCH single runs of the same items. */
static void probe_batch(check_ctx *c, outcome *o)
{
    size_t n_in = mdk_model_input_count(c->model);
    mdk_tensor *batch[64] = {0}, **bout = NULL;
    size_t n_bout = 0;
    if (make_feeds(c, N_BATCH, 7, batch) != MDK_OK || mdk_model_run(c->model, batch, n_in, &bout, &n_bout) != MDK_OK) {
        refused(o);
        for (size_t i = 0; i < n_in; i++) mdk_tensor_free(batch[i]);
        return;
    }
    double worst = 0;
    char worst_name[256] = "";
    int differs = 0;
    for (int item = 0; item < N_BATCH && !o->code[0]; item++) {
        mdk_tensor *single[64] = {0}, **sout = NULL;
        size_t n_sout = 0;
        mdk_status st = MDK_OK;
        int64_t one = item;
        for (size_t i = 0; i < n_in && st == MDK_OK; i++) /* item `item` of the batch, as a batch of one */
            st = c->batch_axis[i] < 0 ? mdk_tensor_clone(batch[i], &single[i])
                                      : cli_take_items(batch[i], c->batch_axis[i], &one, 1, &single[i]);
        if (st == MDK_OK) st = mdk_model_run(c->model, single, n_in, &sout, &n_sout);
        if (st != MDK_OK) refused(o);
        for (size_t k = 0; st == MDK_OK && k < n_sout && k < n_bout; k++) {
            /* the output's batch dim: the batch's name among its dims, else dim 0 when it has the batch's size */
            const mdk_value_info *ov = mdk_model_output(c->model, k);
            int axis = -1;
            for (size_t d = 0; c->batch_name && d < ov->ndim && axis < 0; d++)
                if (ov->dims[d].param && strcmp(ov->dims[d].param, c->batch_name) == 0) axis = (int)d;
            if (axis < 0 && mdk_tensor_ndim(bout[k]) > 0 && mdk_tensor_shape(bout[k])[0] == N_BATCH) axis = 0;
            if (axis < 0 || mdk_tensor_kind(bout[k]) != MDK_VALUE_TENSOR || mdk_tensor_dtype(bout[k]) == MDK_DTYPE_STRING ||
                (size_t)axis >= mdk_tensor_ndim(bout[k]) || mdk_tensor_shape(bout[k])[axis] != N_BATCH)
                continue;
            mdk_tensor *mine = NULL; /* this item's slice of the batch's output */
            if (cli_take_items(bout[k], axis, &one, 1, &mine) != MDK_OK || mdk_tensor_count(mine) != mdk_tensor_count(sout[k])) {
                mdk_tensor_free(mine);
                continue;
            }
            size_t per = mdk_tensor_count(sout[k]);
            for (size_t e = 0; e < per; e++) {
                double a = mdk_tensor_get_f64(mine, e), b = mdk_tensor_get_f64(sout[k], e);
                double err = fabs(a - b);
                if (isnan(a) && isnan(b)) continue;
                if (err > worst) {
                    worst = err;
                    snprintf(worst_name, sizeof worst_name, "%s", mdk_tensor_name(sout[k]));
                }
                if (!(err <= c->atol + c->rtol * fabs(b))) differs = 1;
            }
            mdk_tensor_free(mine);
        }
        mdk_tensors_free(sout, n_sout);
        for (size_t i = 0; i < n_in; i++) mdk_tensor_free(single[i]);
    }
    if (!o->code[0]) {
        if (differs)
            set(o, "differs", "batch of %d differs from single runs: max abs error %.3g in '%s' (rtol %g, atol %g)", N_BATCH,
                worst, worst_name, c->rtol, c->atol);
        else
            set(o, "agrees", "batch of %d equals %d single runs: max abs error %.3g (rtol %g, atol %g)", N_BATCH, N_BATCH,
                worst, c->rtol, c->atol);
    }
    mdk_tensors_free(bout, n_bout);
    for (size_t i = 0; i < n_in; i++) mdk_tensor_free(batch[i]);
}

/* A minimal PNG whose header declares `w` x `h` RGB pixels: what a decompression bomb looks like up front. */
static size_t huge_png(uint8_t *buf, uint32_t w, uint32_t h)
{
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    uint8_t ihdr[17] = {'I', 'H', 'D', 'R', (uint8_t)(w >> 24), (uint8_t)(w >> 16), (uint8_t)(w >> 8), (uint8_t)w,
                        (uint8_t)(h >> 24), (uint8_t)(h >> 16), (uint8_t)(h >> 8), (uint8_t)h, 8, 2, 0, 0, 0};
    uint32_t crc = 0xffffffffu;
    for (size_t i = 0; i < sizeof ihdr; i++) {
        crc ^= ihdr[i];
        for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
    }
    crc ^= 0xffffffffu;
    size_t n = 0;
    memcpy(buf, sig, 8), n = 8;
    buf[n++] = 0, buf[n++] = 0, buf[n++] = 0, buf[n++] = 13;
    memcpy(buf + n, ihdr, sizeof ihdr), n += sizeof ihdr;
    buf[n++] = (uint8_t)(crc >> 24), buf[n++] = (uint8_t)(crc >> 16), buf[n++] = (uint8_t)(crc >> 8), buf[n++] = (uint8_t)crc;
    return n;
}

static void probe_image(check_ctx *c, const probe *p, outcome *o)
{
    uint8_t small[64];
    char *data = NULL;
    size_t len = 0;
    switch (p->kind) {
    case P_IMG_OK: data = c->image, len = c->image_len; break;
    case P_IMG_ZERO: data = c->image, len = 0; break;
    case P_IMG_TRUNC: data = c->image, len = c->image_len / 2; break;
    case P_IMG_CORRUPT:
        /* the real image's first 16 bytes (signature and header start), then noise */
        data = malloc(c->image_len);
        if (!data) return set(o, "refused", "out of memory");
        memcpy(data, c->image, 16);
        srand(11);
        for (size_t i = 16; i < c->image_len; i++) data[i] = (char)(rand() & 0xff);
        len = c->image_len;
        break;
    case P_IMG_HUGE: data = (char *)small, len = huge_png(small, 60000, 60000); break;
    case P_IMG_TEXT: data = "name,score\nresnet,0.7\n", len = strlen(data); break;
    default: break;
    }
    mdk_decode_options dopts;
    mdk_spec_decode_options(mdk_pipeline_spec(c->pipe), 0, &dopts);
    mdk_image *img = NULL;
    char *json = NULL;
    mdk_status st = mdk_image_decode(data, len, p->name, &dopts, &img);
    if (st == MDK_OK) st = mdk_pipeline_run(c->pipe, &img, 1, NULL, NULL, 0, &json, NULL, NULL);
    if (st != MDK_OK) refused(o);
    else set(o, "ran", "ran; %zu bytes of JSON", strlen(json));
    mdk_free(json);
    mdk_image_free(img);
    if (p->kind == P_IMG_CORRUPT) free(data);
}

static void run_probe(check_ctx *c, const probe *p, outcome *o)
{
    size_t n_in = mdk_model_input_count(c->model);
    mdk_tensor *feeds[64] = {0};
    size_t n_feeds = n_in;
    const mdk_value_info *v = mdk_model_input(c->model, (size_t)p->input);
    memset(o, 0, sizeof *o);
    if (p->kind >= P_IMG_OK) return probe_image(c, p, o);
    if (p->kind == P_BATCH_N) return probe_batch(c, o);
    mdk_status st = make_feeds(c, 1, 1, feeds);
    if (st != MDK_OK) return refused(o);
    mdk_tensor **slot = &feeds[p->input];
    int64_t shape[MDK_MAX_DIMS];
    size_t ndim = v->ndim;
    memcpy(shape, mdk_tensor_shape(*slot), ndim * sizeof *shape);
    mdk_tensor *repl = NULL;
    switch (p->kind) {
    case P_EMPTY: {
        int64_t zero = 0;
        st = make_input(c, (size_t)p->input, v->dtype, 1, &zero, 1, &repl);
        break;
    }
    case P_BATCH0: /* every input that carries the batch, at 0 */
        for (size_t i = 0; i < n_in; i++) mdk_tensor_free(feeds[i]), feeds[i] = NULL;
        st = make_feeds(c, 0, 1, feeds);
        break;
    case P_DIM_OVER: shape[p->axis] += 1; st = make_input(c, (size_t)p->input, v->dtype, ndim, shape, 1, &repl); break;
    case P_DIM_MIN: shape[p->axis] = 1; st = make_input(c, (size_t)p->input, v->dtype, ndim, shape, 1, &repl); break;
    case P_AT_MAX_BATCH: /* every input that carries the batch, at the limit */
        for (size_t i = 0; i < n_in; i++) mdk_tensor_free(feeds[i]), feeds[i] = NULL;
        st = make_feeds(c, (int64_t)c->opts.max_batch, 1, feeds);
        break;
    case P_HUGE_BATCH:
        /* zero-filled pages are not touched until written: the huge tensor costs address space, not memory,
         * unless something tries to use it */
        shape[c->batch_axis[p->input]] = huge_batch(c);
        st = mdk_tensor_new(v->dtype, ndim, shape, &repl);
        if (st == MDK_OK) st = mdk_tensor_set_name(repl, v->name);
        break;
    case P_RANK:
        memmove(shape + 1, shape, ndim * sizeof *shape);
        shape[0] = 1;
        st = make_input(c, (size_t)p->input, v->dtype, ndim + 1, shape, 1, &repl);
        break;
    case P_DTYPE:
        st = make_input(c, (size_t)p->input, v->dtype == MDK_DTYPE_FLOAT32 ? MDK_DTYPE_INT64 : MDK_DTYPE_FLOAT32, ndim,
                        shape, 1, &repl);
        break;
    case P_NAME: st = mdk_tensor_set_name(*slot, "no_such_input"); break;
    case P_MISSING: n_feeds = n_in - 1; break; /* the last input left out */
    case P_NAN:
    case P_INF:
        for (size_t k = 0; k < mdk_tensor_count(*slot); k++) {
            double x = p->kind == P_NAN ? NAN : INFINITY;
            if (v->dtype == MDK_DTYPE_FLOAT32) ((float *)mdk_tensor_mutable_data(*slot))[k] = (float)x;
            else if (v->dtype == MDK_DTYPE_FLOAT64) ((double *)mdk_tensor_mutable_data(*slot))[k] = x;
        }
        break;
    default: break;
    }
    if (st == MDK_OK && repl) {
        mdk_tensor_free(*slot);
        *slot = repl;
    }
    if (st != MDK_OK) refused(o);
    else run_feeds(c, feeds, n_feeds, o);
    for (size_t i = 0; i < n_in; i++) mdk_tensor_free(feeds[i]);
}

/* ---- the probe list (built the same way in the parent and in each child) ---- */

static void add(check_ctx *c, probe_kind kind, expectation e, int input, int axis, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
static void add(check_ctx *c, probe_kind kind, expectation e, int input, int axis, const char *fmt, ...)
{
    if (c->n_probes == MAX_PROBES) return;
    probe *p = &c->probes[c->n_probes++];
    p->kind = kind, p->expect = e, p->input = input, p->axis = axis;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->name, sizeof p->name, fmt, ap);
    va_end(ap);
}

static int is_float(mdk_dtype d) { return d == MDK_DTYPE_FLOAT32 || d == MDK_DTYPE_FLOAT64; }

static void build_probes(check_ctx *c)
{
    const mdk_value_info *v = mdk_model_input(c->model, 0);
    size_t n_in = mdk_model_input_count(c->model);
    add(c, P_BASELINE, EXP_RUN, 0, 0, "valid input");
    add(c, P_EMPTY, v->ndim == 1 ? EXP_EITHER : EXP_REFUSE, 0, 0, "empty tensor");
    if (has_batch(c)) {
        add(c, P_BATCH0, EXP_EITHER, 0, 0, "batch 0");
        add(c, P_BATCH_N, EXP_AGREE, 0, 0, "batch of %d = %d singles", N_BATCH, N_BATCH);
    }
    for (size_t i = 0; i < n_in; i++) {
        const mdk_value_info *w = mdk_model_input(c->model, i);
        for (size_t k = 0; k < w->ndim; k++) {
            if (w->dims[k].value > 0)
                add(c, P_DIM_OVER, EXP_REFUSE, (int)i, (int)k, "%s dim %zu at %lld+1", w->name, k, (long long)w->dims[k].value);
            else if ((int)k != c->batch_axis[i])
                add(c, P_DIM_MIN, EXP_EITHER, (int)i, (int)k, "%s dim %zu (dynamic) at 1", w->name, k);
        }
    }
    if (has_batch(c) && c->opts.max_batch) {
        /* at the limit only when that stays small enough to run in a check */
        uint64_t per = 1;
        int64_t shape[MDK_MAX_DIMS];
        base_shape(c, 0, shape);
        for (size_t k = 0; k < v->ndim; k++)
            if ((int)k != c->batch_axis[0]) per *= (uint64_t)shape[k];
        if (per * c->opts.max_batch <= (64u << 20))
            add(c, P_AT_MAX_BATCH, EXP_RUN, 0, 0, "batch at max_batch (%llu)", (unsigned long long)c->opts.max_batch);
        add(c, P_HUGE_BATCH, EXP_REFUSE, 0, 0, "huge batch (%lld)", (long long)huge_batch(c));
    }
    add(c, P_RANK, EXP_REFUSE, 0, 0, "wrong rank (%zu)", v->ndim + 1);
    add(c, P_DTYPE, EXP_REFUSE, 0, 0, "wrong dtype (%s)", v->dtype == MDK_DTYPE_FLOAT32 ? "int64" : "float32");
    add(c, P_NAME, EXP_REFUSE, 0, 0, "wrong input name");
    add(c, P_MISSING, EXP_REFUSE, 0, 0, "%s", n_in > 1 ? "missing input" : "no input at all");
    if (is_float(v->dtype)) {
        add(c, P_NAN, EXP_FINITE, 0, 0, "NaN input");
        add(c, P_INF, EXP_FINITE, 0, 0, "Inf input");
    }
    if (c->pipe && mdk_spec_has_preprocess(mdk_pipeline_spec(c->pipe))) {
        if (c->image) {
            add(c, P_IMG_OK, EXP_RUN, 0, 0, "valid image");
            add(c, P_IMG_TRUNC, EXP_REFUSE, 0, 0, "truncated image");
            add(c, P_IMG_CORRUPT, EXP_REFUSE, 0, 0, "corrupt image");
        }
        add(c, P_IMG_ZERO, EXP_REFUSE, 0, 0, "zero-byte image");
        add(c, P_IMG_HUGE, EXP_REFUSE, 0, 0, "huge image (60000x60000)");
        add(c, P_IMG_TEXT, EXP_REFUSE, 0, 0, "not an image (CSV)");
    }
}

/* Loads the model (or the bundle's pipeline) and builds the probe list. */
static int load(check_ctx *c)
{
    mdk_status st;
    if (c->is_bundle) {
        st = mdk_bundle_open(c->path, &c->bundle);
        if (st == MDK_OK) {
            const mdk_spec_runtime *rt = mdk_spec_runtime_defaults(mdk_bundle_spec(c->bundle));
            if (!c->opts.max_batch) c->opts.max_batch = rt->max_batch ? rt->max_batch : 64;
            st = mdk_bundle_pipeline(c->bundle, &c->opts, &c->pipe);
        }
        if (st == MDK_OK) c->model = mdk_pipeline_model(c->pipe);
        /* the first test image, for the image probes and the input shape preprocessing produces */
        for (size_t i = 0; st == MDK_OK && i < mdk_bundle_file_count(c->bundle) && !c->image; i++) {
            const char *f = mdk_bundle_file_name(c->bundle, i);
            if (strncmp(f, "test_cases/images/", 18) != 0) continue;
            st = mdk_bundle_read_file(c->bundle, f, MDK_IMAGE_MAX_FILE_BYTES, &c->image, &c->image_len);
        }
        if (st == MDK_OK && c->image && mdk_spec_has_preprocess(mdk_pipeline_spec(c->pipe))) {
            mdk_image *img = NULL;
            mdk_tensor *x = NULL;
            mdk_prep_info *info = NULL;
            st = mdk_image_decode(c->image, c->image_len, "test image", NULL, &img);
            if (st == MDK_OK) st = mdk_preprocess(mdk_pipeline_spec(c->pipe), &img, 1, &x, &info);
            if (st == MDK_OK) {
                c->prep_ndim = mdk_tensor_ndim(x);
                memcpy(c->prep_shape, mdk_tensor_shape(x), c->prep_ndim * sizeof *c->prep_shape);
            }
            mdk_tensor_free(x);
            mdk_prep_info_free(info);
            mdk_image_free(img);
        }
    } else { /* a spec or a bare model: its pipeline (a bare model's has no processing) */
        mdk_spec *spec = NULL;
        if (!c->opts.max_batch && mdk_spec_read(c->path, &spec) == MDK_OK) /* a spec's own limit, as for bundles */
            c->opts.max_batch = mdk_spec_runtime_defaults(spec)->max_batch;
        mdk_spec_free(spec);
        if (!c->opts.max_batch) c->opts.max_batch = 64;
        st = mdk_pipeline_open(c->path, &c->opts, &c->pipe);
        if (st == MDK_OK) c->model = mdk_pipeline_model(c->pipe);
    }
    if (st != MDK_OK) return cli_lib_error("check", st);
    if (mdk_model_input_count(c->model) == 0 || mdk_model_input_count(c->model) > 64)
        return cli_error("check", "%s: mdk check probes models with 1 to 64 inputs", c->path);
    for (size_t i = 0; i < mdk_model_input_count(c->model); i++) {
        const mdk_value_info *v = mdk_model_input(c->model, i);
        if (v->kind != MDK_VALUE_TENSOR || !v->has_shape)
            return cli_error("check", "input '%s' is not a tensor of declared rank; mdk check probes tensor inputs only",
                             v->name);
    }
    c->batch_name = cli_batch_axes(c->model, c->batch_axis);
    if (c->bundle) { /* the first test case, when it gives every input */
        mdk_tensor **ts = NULL;
        size_t nt = 0, found = 0, n_in = mdk_model_input_count(c->model);
        if (mdk_bundle_first_case(c->bundle, &ts, &nt) == MDK_OK) {
            for (size_t i = 0; i < n_in; i++)
                for (size_t k = 0; k < nt && !c->case_in[i]; k++)
                    if (ts[k] && strcmp(mdk_tensor_name(ts[k]), mdk_model_input(c->model, i)->name) == 0)
                        c->case_in[i] = ts[k], ts[k] = NULL, found++;
            mdk_tensors_free(ts, nt);
        }
        if (found != n_in)
            for (size_t i = 0; i < n_in; i++) mdk_tensor_free(c->case_in[i]), c->case_in[i] = NULL;
        c->case_batch = 1;
        if (c->case_in[0] && has_batch(c)) c->case_batch = mdk_tensor_shape(c->case_in[0])[c->batch_axis[0]];
        if (c->case_batch < 1) /* an empty case cannot seed a batch */
            for (size_t i = 0; i < n_in; i++) mdk_tensor_free(c->case_in[i]), c->case_in[i] = NULL;
    }
    build_probes(c);
    return 0;
}

static void unload(check_ctx *c)
{
    for (size_t i = 0; i < 64; i++) mdk_tensor_free(c->case_in[i]);
    if (c->pipe) mdk_pipeline_close(c->pipe);
    else mdk_model_close(c->model);
    mdk_bundle_close(c->bundle);
    mdk_free(c->image);
}

/* ---- the parent: one child per probe ---- */

typedef struct result {
    char code[16];
    char detail[400];
    const char *verdict; /* pass, warn, fail */
    double ms;
} result;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void judge(const probe *p, result *r)
{
    int ran = !strcmp(r->code, "ran"), nonfinite = !strcmp(r->code, "nonfinite"), ref = !strcmp(r->code, "refused");
    if (ref && !r->detail[0]) snprintf(r->detail, sizeof r->detail, "refused without a message");
    r->verdict = "fail";
    switch (p->expect) {
    case EXP_RUN: r->verdict = ran ? "pass" : nonfinite ? "warn" : "fail"; break;
    case EXP_REFUSE:
        if (ref && r->detail[0] && strcmp(r->detail, "refused without a message")) r->verdict = "pass";
        else if (ran || nonfinite) {
            char was[400];
            snprintf(was, sizeof was, "%s", r->detail);
            snprintf(r->detail, sizeof r->detail, "accepted: %.380s", was);
        }
        break;
    case EXP_EITHER: r->verdict = ran || nonfinite || ref ? "pass" : "fail"; break;
    case EXP_AGREE: r->verdict = !strcmp(r->code, "agrees") ? "pass" : "fail"; break;
    case EXP_FINITE: r->verdict = ran || ref ? "pass" : nonfinite ? "warn" : "fail"; break;
    }
}

static void spawn_probe(char **child_argv, double timeout, result *r)
{
    int fds[2];
    memset(r, 0, sizeof *r);
    if (pipe(fds) != 0) {
        snprintf(r->detail, sizeof r->detail, "cannot create a pipe: %s", strerror(errno));
        return;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    pid_t pid;
    double t0 = now_s();
    int e = posix_spawn(&pid, "/proc/self/exe", &fa, NULL, child_argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (e != 0) {
        close(fds[0]);
        snprintf(r->detail, sizeof r->detail, "cannot start a probe process: %s", strerror(e));
        return;
    }
    char buf[1024];
    size_t used = 0;
    int timed_out = 0;
    for (;;) {
        double left = timeout - (now_s() - t0);
        if (left <= 0) {
            timed_out = 1;
            break;
        }
        struct pollfd pf = {fds[0], POLLIN, 0};
        int n = poll(&pf, 1, (int)(left * 1000) + 1);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) continue;
        ssize_t got = read(fds[0], buf + used, sizeof buf - 1 - used);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;
        used += (size_t)got;
        if (used == sizeof buf - 1) break;
    }
    close(fds[0]);
    if (timed_out) kill(pid, SIGKILL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    r->ms = (now_s() - t0) * 1000;
    buf[used] = '\0';
    char *tab = strchr(buf, '\t');
    if (timed_out) {
        snprintf(r->code, sizeof r->code, "timeout");
        snprintf(r->detail, sizeof r->detail, "no outcome within %g s: killed", timeout);
    } else if (WIFSIGNALED(status)) {
        snprintf(r->code, sizeof r->code, "crashed");
        snprintf(r->detail, sizeof r->detail, "crashed: %s", strsignal(WTERMSIG(status)));
    } else if (!tab || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        snprintf(r->code, sizeof r->code, "unclear");
        snprintf(r->detail, sizeof r->detail, "ended (exit %d) without an outcome", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    } else {
        *tab = '\0';
        snprintf(r->code, sizeof r->code, "%.15s", buf); /* the probe's short status word */
        snprintf(r->detail, sizeof r->detail, "%.*s", (int)strcspn(tab + 1, "\n"), tab + 1);
    }
}

static void usage(void)
{
    printf("usage: mdk check MODEL|SPEC|BUNDLE [options]\n\n"
           "Probes a model (or a bundle's whole pipeline) with boundary inputs and prints what happened: an empty\n"
           "tensor, batch 0, a batch against the same items run one by one, dims beyond their declared sizes or at 1,\n"
           "wrong rank, dtype and name, a missing input, NaN and Inf, a batch at and far beyond the max_batch limit,\n"
           "and for bundles truncated, corrupt, zero-byte, huge and non-image files. Each probe runs in its own\n"
           "process, so a crash or hang is reported as such. Verdicts: pass; warn (clear outcome worth knowing,\n"
           "such as NaN reaching the outputs); fail (crash, hang, no clear outcome, bad input accepted, batch\n"
           "results differing). Exit status: 0 when nothing failed, 1 otherwise, 2 on usage errors.\n\n"
           "  --max-batch N     the batch limit to enforce and probe (default: the bundle's limits.max_batch, else 64)\n"
           "  --dim DIM=V       a dynamic dim's size (by name, or INPUT:AXIS=V); defaults: batch 1, others 64\n"
           "  --threads N       intra-op threads (default: ONNX Runtime's)\n"
           "  --rtol X --atol X tolerance for batch against single runs (default 1e-3, 1e-4)\n"
           "  --timeout S       seconds before a probe counts as hung (default 120)\n"
           "  --json            print the results as JSON\n");
}

int cmd_check(int argc, char **argv)
{
    check_ctx c;
    memset(&c, 0, sizeof c);
    mdk_options_init(&c.opts);
    c.rtol = 1e-3, c.atol = 1e-4;
    double timeout = 120;
    long long probe_index = -1, max_batch = -1;
    int json = 0;
    dim_arg dims[32];
    size_t n_dims = 0;
    for (int i = 1; i < argc; i++) {
        const char *v;
        int r;
        long long n;
        if (cli_is_help(argv[i])) {
            usage();
            return 0;
        } else if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else if ((r = cli_opt_value(argc, argv, &i, "--run-probe", &v))) { /* internal: the child's side */
            if (r < 0 || cli_parse_i64(v, 0, MAX_PROBES - 1, &probe_index)) return cli_usage_error("check", "bad --run-probe");
        } else if ((r = cli_opt_value(argc, argv, &i, "--max-batch", &v))) {
            if (r < 0 || cli_parse_i64(v, 1, 1 << 20, &max_batch))
                return cli_usage_error("check", "--max-batch needs an integer from 1 to 1048576");
        } else if ((r = cli_opt_value(argc, argv, &i, "--threads", &v))) {
            if (r < 0 || cli_parse_i64(v, 0, 1024, &n)) return cli_usage_error("check", "--threads needs an integer from 0 to 1024");
            c.opts.intra_op_threads = (int)n;
        } else if ((r = cli_opt_value(argc, argv, &i, "--timeout", &v))) {
            if (r < 0 || cli_parse_f64(v, &timeout) || !(timeout > 0))
                return cli_usage_error("check", "--timeout needs a positive number of seconds");
        } else if ((r = cli_opt_value(argc, argv, &i, "--rtol", &v))) {
            if (r < 0 || cli_parse_f64(v, &c.rtol) || !(c.rtol >= 0)) return cli_usage_error("check", "--rtol needs a number >= 0");
        } else if ((r = cli_opt_value(argc, argv, &i, "--atol", &v))) {
            if (r < 0 || cli_parse_f64(v, &c.atol) || !(c.atol >= 0)) return cli_usage_error("check", "--atol needs a number >= 0");
        } else if ((r = cli_opt_value(argc, argv, &i, "--dim", &v))) {
            if ((r = cli_parse_dim("check", r, v, dims, &n_dims, 32)) != 0) return r;
        } else if ((r = cli_positional("check", argv[i], &c.path)) != 0) {
            return r;
        }
    }
    if (!c.path) return cli_usage_error("check", "missing MODEL or BUNDLE");
    c.is_bundle = mdk_path_is_bundle(c.path);
    /* --max-batch, else the bundle's limits.max_batch, else 64 */
    c.opts.max_batch = max_batch > 0 ? (uint64_t)max_batch : 0;
    c.dims = dims, c.n_dims = n_dims;
    int rc = 0;
    if (probe_index >= 0) { /* child: run one probe and print "CODE\tDETAIL" */
        if ((rc = load(&c)) == 0) {
            if ((size_t)probe_index >= c.n_probes) {
                rc = cli_error("check", "no probe %lld", probe_index);
            } else {
                outcome o;
                run_probe(&c, &c.probes[probe_index], &o);
                printf("%s\t%s\n", o.code, o.detail);
            }
        }
        unload(&c);
        return rc;
    }
    if ((rc = load(&c)) != 0) {
        unload(&c);
        return rc;
    }
    size_t n = c.n_probes;
    probe probes[MAX_PROBES];
    memcpy(probes, c.probes, sizeof probes);
    unload(&c);
    /* the child gets the same arguments plus --run-probe K */
    char **cargv = calloc((size_t)argc + 4, sizeof *cargv), idx[32];
    if (!cargv) return cli_error("check", "out of memory");
    cargv[0] = "mdk", cargv[1] = "check", cargv[2] = "--run-probe", cargv[3] = idx;
    for (int i = 1; i < argc; i++) cargv[i + 3] = argv[i];
    result res[MAX_PROBES];
    int tty = isatty(STDERR_FILENO), failed = 0, warned = 0;
    if (!json) {
        printf("mdk check %s: %zu probes, each in its own process (max_batch %llu, timeout %g s)\n", c.path, n,
               (unsigned long long)c.opts.max_batch, timeout);
        printf("%-30s %-27s %-6s %s\n", "PROBE", "EXPECTATION", "VERDICT", "OUTCOME");
    }
    for (size_t k = 0; k < n; k++) {
        snprintf(idx, sizeof idx, "%zu", k);
        if (tty) fprintf(stderr, "\r  probe %zu/%zu: %-40s", k + 1, n, probes[k].name);
        spawn_probe(cargv, timeout, &res[k]);
        judge(&probes[k], &res[k]);
        if (tty) fprintf(stderr, "\r%70s\r", "");
        failed += !strcmp(res[k].verdict, "fail");
        warned += !strcmp(res[k].verdict, "warn");
        if (!json) printf("%-30s %-27s %-6s %s\n", probes[k].name, expect_text(probes[k].expect), res[k].verdict, res[k].detail);
    }
    if (json) {
        cJSON *root = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(root, "probes");
        cJSON_AddStringToObject(root, "target", c.path);
        cJSON_AddNumberToObject(root, "max_batch", (double)c.opts.max_batch);
        for (size_t k = 0; k < n; k++) {
            cJSON *p = cJSON_CreateObject();
            cJSON_AddStringToObject(p, "probe", probes[k].name);
            cJSON_AddStringToObject(p, "expectation", expect_text(probes[k].expect));
            cJSON_AddStringToObject(p, "outcome", res[k].code);
            cJSON_AddStringToObject(p, "detail", res[k].detail);
            cJSON_AddStringToObject(p, "verdict", res[k].verdict);
            cJSON_AddNumberToObject(p, "ms", res[k].ms);
            cJSON_AddItemToArray(arr, p);
        }
        cJSON_AddNumberToObject(root, "passed", (double)(n - (size_t)failed - (size_t)warned));
        cJSON_AddNumberToObject(root, "warnings", warned);
        cJSON_AddNumberToObject(root, "failed", failed);
        char *s = cJSON_Print(root);
        puts(s);
        free(s);
        cJSON_Delete(root);
    } else {
        printf("%zu probes: %zu passed, %d warnings, %d failed\n", n, n - (size_t)failed - (size_t)warned, warned, failed);
    }
    free(cargv);
    cli_dims_free(dims, n_dims);
    return failed ? CLI_EXIT_FAIL : 0;
}
