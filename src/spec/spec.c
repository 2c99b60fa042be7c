/* spec.c: reading, validating and writing mdk.yaml, the one source of truth of a model's delivery: identity,
 * model and variants, interface, labels, pre/postprocessing, runtime defaults, limits, test cases, changelog
 * and performance targets. Every error names the file, line, column and field path. */
#include <errno.h>
#include <stdarg.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "core/yaml.h"
#include "spec/spec.h"

typedef struct ctx {
    const char *file;
    mdki_file_reader reader;
    void *reader_ctx;
} ctx;

static mdk_status bad(const ctx *c, const mdki_ynode *n, const char *field, const char *fmt, ...) MDKI_PRINTF(4, 5);

static mdk_status bad(const ctx *c, const mdki_ynode *n, const char *field, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return mdki_fail(MDK_ERR_FORMAT, "%s:%d:%d: %s: %s", c->file, n ? n->line : 1, n ? n->col : 1, field, msg);
}

static const char *type_name(const mdki_ynode *n)
{
    return n->type == MDKI_Y_MAP ? "a mapping" : n->type == MDKI_Y_SEQ ? "a list" : "a scalar";
}

static mdk_status get_string(const ctx *c, const mdki_ynode *n, const char *field, char **out)
{
    if (n->type != MDKI_Y_SCALAR) return bad(c, n, field, "expected a string, got %s", type_name(n));
    char *s = mdki_strdup(n->scalar);
    if (!s) return MDK_ERR_NO_MEMORY;
    mdki_free(*out);
    *out = s;
    return MDK_OK;
}

/* A number, or a fraction written "a/b" (1/255). */
static mdk_status get_number(const ctx *c, const mdki_ynode *n, const char *field, double *out)
{
    if (n->type != MDKI_Y_SCALAR || (n->quoted && !strchr(n->scalar, '/')))
        return bad(c, n, field, "expected a number");
    const char *s = n->scalar;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end != s && *end == '/') {
        char *end2;
        double d = strtod(end + 1, &end2);
        if (end2 == end + 1 || *end2 || d == 0) return bad(c, n, field, "expected a number or a fraction like 1/255, got '%s'", s);
        v /= d;
        end = end2;
    }
    if (end == s || *end || errno || !isfinite(v)) return bad(c, n, field, "expected a number, got '%s'", s);
    *out = v;
    return MDK_OK;
}

static mdk_status get_int(const ctx *c, const mdki_ynode *n, const char *field, int lo, int hi, int *out)
{
    double v;
    mdk_status st = get_number(c, n, field, &v);
    if (st != MDK_OK) return st;
    if (v != floor(v) || v < lo || v > hi)
        return bad(c, n, field, "expected a whole number from %d to %d, got %s", lo, hi, n->scalar);
    *out = (int)v;
    return MDK_OK;
}

static mdk_status get_bool(const ctx *c, const mdki_ynode *n, const char *field, int *out)
{
    if (n->type == MDKI_Y_SCALAR && !n->quoted) {
        if (!strcasecmp(n->scalar, "true") || !strcasecmp(n->scalar, "yes")) return *out = 1, MDK_OK;
        if (!strcasecmp(n->scalar, "false") || !strcasecmp(n->scalar, "no")) return *out = 0, MDK_OK;
    }
    return bad(c, n, field, "expected true or false");
}

/* Picks `n`'s value from `names` (case-insensitive). */
static mdk_status get_enum(const ctx *c, const mdki_ynode *n, const char *field, const char *const *names, int count,
                           int *out)
{
    char list[256] = "";
    size_t used = 0;
    for (int i = 0; i < count; i++) {
        if (n->type == MDKI_Y_SCALAR && !strcasecmp(n->scalar, names[i])) return *out = i, MDK_OK;
        used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", names[i]);
        if (used >= sizeof list) break;
    }
    return bad(c, n, field, "unknown value '%s', expected one of %s", n->type == MDKI_Y_SCALAR ? n->scalar : "?", list);
}

/* Refuses keys of `map` not in `known` (NULL-terminated): typos must not pass silently. */
static mdk_status check_keys(const ctx *c, const mdki_ynode *map, const char *field, const char *const *known)
{
    for (size_t i = 0; i < map->n; i++) {
        const mdki_ynode *k = map->items[2 * i];
        int ok = 0;
        for (const char *const *p = known; *p && !ok; p++) ok = strcmp(*p, k->scalar) == 0;
        if (!ok) {
            char list[512] = "";
            size_t used = 0;
            for (const char *const *p = known; *p && used < sizeof list; p++)
                used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", p == known ? "" : ", ", *p);
            return bad(c, k, field, "unknown field '%s', expected one of %s", k->scalar, list);
        }
    }
    return MDK_OK;
}

static mdk_status need_map(const ctx *c, const mdki_ynode *n, const char *field)
{
    return n->type == MDKI_Y_MAP ? MDK_OK : bad(c, n, field, "expected a mapping, got %s", type_name(n));
}

static const char *const g_interp_names[] = {"nearest", "bilinear", "bicubic", "area"};

static mdk_status get_interp(const ctx *c, const mdki_ynode *map, const char *field, mdki_interp *out)
{
    const mdki_ynode *n = mdki_ymap_get(map, "interpolation");
    int v = MDKI_INTERP_BILINEAR;
    if (n) {
        char f[128];
        snprintf(f, sizeof f, "%s.interpolation", field);
        mdk_status st = get_enum(c, n, f, g_interp_names, 4, &v);
        if (st != MDK_OK) return st;
    }
    *out = (mdki_interp)v;
    return MDK_OK;
}

static mdk_status get_channels(const ctx *c, const mdki_ynode *n, const char *field, float *out, int *count)
{
    if (n->type == MDKI_Y_SCALAR) { /* one value for every channel */
        double v;
        mdk_status st = get_number(c, n, field, &v);
        if (st != MDK_OK) return st;
        for (int i = 0; i < 4; i++) out[i] = (float)v;
        *count = 0;
        return MDK_OK;
    }
    if (n->type != MDKI_Y_SEQ || n->n < 1 || n->n > 4)
        return bad(c, n, field, "expected a number or a list of 1 to 4 numbers (one per channel)");
    for (size_t i = 0; i < n->n; i++) {
        double v;
        mdk_status st = get_number(c, n->items[i], field, &v);
        if (st != MDK_OK) return st;
        out[i] = (float)v;
    }
    *count = (int)n->n;
    return MDK_OK;
}

static mdk_status parse_step(const ctx *c, const mdki_ynode *item, const char *field, mdki_step *s)
{
    memset(s, 0, sizeof *s);
    if (item->type != MDKI_Y_MAP || item->n != 1)
        return bad(c, item, field, "expected one step such as '- resize: {width: 224, height: 224}'");
    const char *name = item->items[0]->scalar;
    const mdki_ynode *v = item->items[1];
    char f[160];
    snprintf(f, sizeof f, "%s.%s", field, name);
    mdk_status st;
    if (!strcmp(name, "resize")) {
        if ((st = need_map(c, v, f)) != MDK_OK) return st;
        static const char *const keys[] = {"width", "height", "shorter_side", "longer_side", "interpolation", NULL};
        if ((st = check_keys(c, v, f, keys)) != MDK_OK) return st;
        const mdki_ynode *w = mdki_ymap_get(v, "width"), *h = mdki_ymap_get(v, "height");
        const mdki_ynode *sh = mdki_ymap_get(v, "shorter_side"), *lo = mdki_ymap_get(v, "longer_side");
        if ((w || h) + !!sh + !!lo != 1 || (w && !h) || (h && !w))
            return bad(c, v, f, "give width and height, or shorter_side, or longer_side");
        if (w) {
            s->kind = MDKI_STEP_RESIZE;
            if ((st = get_int(c, w, f, 1, 65535, &s->width)) != MDK_OK) return st;
            if ((st = get_int(c, h, f, 1, 65535, &s->height)) != MDK_OK) return st;
        } else {
            s->kind = sh ? MDKI_STEP_SHORTER : MDKI_STEP_LONGER;
            if ((st = get_int(c, sh ? sh : lo, f, 1, 65535, &s->size)) != MDK_OK) return st;
        }
        return get_interp(c, v, f, &s->interp);
    }
    if (!strcmp(name, "letterbox")) {
        if ((st = need_map(c, v, f)) != MDK_OK) return st;
        static const char *const keys[] = {"width", "height", "pad", "interpolation", NULL};
        if ((st = check_keys(c, v, f, keys)) != MDK_OK) return st;
        const mdki_ynode *w = mdki_ymap_get(v, "width"), *h = mdki_ymap_get(v, "height"), *p = mdki_ymap_get(v, "pad");
        if (!w || !h) return bad(c, v, f, "needs width and height");
        s->kind = MDKI_STEP_LETTERBOX;
        s->pad = 114;
        if ((st = get_int(c, w, f, 1, 65535, &s->width)) != MDK_OK) return st;
        if ((st = get_int(c, h, f, 1, 65535, &s->height)) != MDK_OK) return st;
        if (p && (st = get_int(c, p, f, 0, 255, &s->pad)) != MDK_OK) return st;
        return get_interp(c, v, f, &s->interp);
    }
    if (!strcmp(name, "center_crop")) {
        if ((st = need_map(c, v, f)) != MDK_OK) return st;
        static const char *const keys[] = {"width", "height", NULL};
        if ((st = check_keys(c, v, f, keys)) != MDK_OK) return st;
        const mdki_ynode *w = mdki_ymap_get(v, "width"), *h = mdki_ymap_get(v, "height");
        if (!w || !h) return bad(c, v, f, "needs width and height");
        s->kind = MDKI_STEP_CROP;
        if ((st = get_int(c, w, f, 1, 65535, &s->width)) != MDK_OK) return st;
        return get_int(c, h, f, 1, 65535, &s->height);
    }
    if (!strcmp(name, "color")) {
        static const char *const colors[] = {"RGB", "BGR", "GRAY"};
        int col;
        s->kind = MDKI_STEP_COLOR;
        if ((st = get_enum(c, v, f, colors, 3, &col)) != MDK_OK) return st;
        s->color = (mdki_color)col;
        return MDK_OK;
    }
    if (!strcmp(name, "scale")) {
        double x;
        s->kind = MDKI_STEP_SCALE;
        if ((st = get_number(c, v, f, &x)) != MDK_OK) return st;
        s->scale = (float)x;
        return MDK_OK;
    }
    if (!strcmp(name, "normalize")) {
        if ((st = need_map(c, v, f)) != MDK_OK) return st;
        static const char *const keys[] = {"mean", "std", NULL};
        if ((st = check_keys(c, v, f, keys)) != MDK_OK) return st;
        const mdki_ynode *m = mdki_ymap_get(v, "mean"), *d = mdki_ymap_get(v, "std");
        s->kind = MDKI_STEP_NORMALIZE;
        int nm = 0, nd = 0;
        for (int i = 0; i < 4; i++) s->mean[i] = 0, s->std[i] = 1;
        if (m && (st = get_channels(c, m, f, s->mean, &nm)) != MDK_OK) return st;
        if (d && (st = get_channels(c, d, f, s->std, &nd)) != MDK_OK) return st;
        if (nm && nd && nm != nd) return bad(c, v, f, "mean has %d values and std %d: give one per channel", nm, nd);
        for (int i = 0; i < 4; i++)
            if (s->std[i] == 0) return bad(c, d, f, "std must not be 0");
        s->n_ch = nm > nd ? nm : nd;
        return MDK_OK;
    }
    return bad(c, item->items[0], field,
               "unknown step '%s', expected resize, letterbox, center_crop, color, scale or normalize", name);
}

static mdk_status parse_preprocess(const ctx *c, const mdki_ynode *n, mdki_prep *p)
{
    mdk_status st;
    if ((st = need_map(c, n, "preprocess")) != MDK_OK) return st;
    static const char *const keys[] = {"input", "steps", "layout", "dtype", NULL};
    if ((st = check_keys(c, n, "preprocess", keys)) != MDK_OK) return st;
    p->present = 1;
    p->dtype = MDK_DTYPE_FLOAT32;
    const mdki_ynode *v;
    if ((v = mdki_ymap_get(n, "input")) && (st = get_string(c, v, "preprocess.input", &p->input)) != MDK_OK) return st;
    if ((v = mdki_ymap_get(n, "layout"))) {
        static const char *const layouts[] = {"NCHW", "NHWC"};
        if ((st = get_enum(c, v, "preprocess.layout", layouts, 2, &p->nhwc)) != MDK_OK) return st;
    }
    if ((v = mdki_ymap_get(n, "dtype"))) {
        static const char *const types[] = {"float32", "float16", "uint8"};
        static const mdk_dtype map[] = {MDK_DTYPE_FLOAT32, MDK_DTYPE_FLOAT16, MDK_DTYPE_UINT8};
        int t;
        if ((st = get_enum(c, v, "preprocess.dtype", types, 3, &t)) != MDK_OK) return st;
        p->dtype = map[t];
    }
    const mdki_ynode *steps = mdki_ymap_get(n, "steps");
    if (!steps) return MDK_OK;
    if (steps->type != MDKI_Y_SEQ) return bad(c, steps, "preprocess.steps", "expected a list of steps");
    if (steps->n > MDKI_MAX_STEPS) return bad(c, steps, "preprocess.steps", "more than %d steps", MDKI_MAX_STEPS);
    int value_stage = 0;
    for (size_t i = 0; i < steps->n; i++) {
        char f[64];
        snprintf(f, sizeof f, "preprocess.steps[%zu]", i);
        mdki_step *s = &p->steps[p->n_steps];
        if ((st = parse_step(c, steps->items[i], f, s)) != MDK_OK) return st;
        if (s->kind == MDKI_STEP_SCALE || s->kind == MDKI_STEP_NORMALIZE) value_stage = 1;
        else if (value_stage)
            return bad(c, steps->items[i], f, "%s works on 8-bit pixels: put it before scale and normalize",
                       steps->items[i]->items[0]->scalar);
        p->n_steps++;
    }
    return MDK_OK;
}

static mdk_status parse_postprocess(const ctx *c, const mdki_ynode *n, mdki_post *p)
{
    mdk_status st;
    if ((st = need_map(c, n, "postprocess")) != MDK_OK) return st;
    static const char *const keys[] = {"type", "output", "activation", "top_k", "threshold", "boxes", "scores",
                                       "box_format", "normalized", "layout", "objectness", "iou_threshold",
                                       "max_detections", "class_aware", NULL};
    if ((st = check_keys(c, n, "postprocess", keys)) != MDK_OK) return st;
    const mdki_ynode *v = mdki_ymap_get(n, "type");
    if (!v) return bad(c, n, "postprocess", "needs a type: classification, detection, segmentation or none");
    static const char *const types[] = {"none", "classification", "detection", "segmentation"};
    int t;
    if ((st = get_enum(c, v, "postprocess.type", types, 4, &t)) != MDK_OK) return st;
    p->type = (mdki_post_type)t;
    p->top_k = p->type == MDKI_POST_CLASSIFY ? 5 : 0;
    p->threshold = p->type == MDKI_POST_DETECT ? 0.25 : 0;
    p->iou = 0.45;
    p->max_detections = 100;
    p->class_aware = 1;
    p->activation = p->type == MDKI_POST_CLASSIFY ? MDKI_ACT_SOFTMAX : MDKI_ACT_NONE;
    if ((v = mdki_ymap_get(n, "output")) && (st = get_string(c, v, "postprocess.output", &p->output)) != MDK_OK) return st;
    if ((v = mdki_ymap_get(n, "activation"))) {
        static const char *const acts[] = {"none", "softmax", "sigmoid"};
        int a;
        if ((st = get_enum(c, v, "postprocess.activation", acts, 3, &a)) != MDK_OK) return st;
        p->activation = (mdki_activation)a;
    }
    if ((v = mdki_ymap_get(n, "top_k")) && (st = get_int(c, v, "postprocess.top_k", 1, 1000000, &p->top_k)) != MDK_OK)
        return st;
    if ((v = mdki_ymap_get(n, "threshold")) && (st = get_number(c, v, "postprocess.threshold", &p->threshold)) != MDK_OK)
        return st;
    if ((v = mdki_ymap_get(n, "boxes")) && (st = get_string(c, v, "postprocess.boxes", &p->boxes_output)) != MDK_OK)
        return st;
    if ((v = mdki_ymap_get(n, "scores")) && (st = get_string(c, v, "postprocess.scores", &p->scores_output)) != MDK_OK)
        return st;
    if ((v = mdki_ymap_get(n, "box_format"))) {
        static const char *const fmts[] = {"xyxy", "xywh", "cxcywh"};
        int f;
        if ((st = get_enum(c, v, "postprocess.box_format", fmts, 3, &f)) != MDK_OK) return st;
        p->box_format = (mdki_box_format)f;
    }
    if ((v = mdki_ymap_get(n, "normalized")) && (st = get_bool(c, v, "postprocess.normalized", &p->normalized)) != MDK_OK)
        return st;
    if ((v = mdki_ymap_get(n, "layout"))) {
        static const char *const layouts[] = {"boxes_first", "channels_first"};
        if ((st = get_enum(c, v, "postprocess.layout", layouts, 2, &p->channels_first)) != MDK_OK) return st;
    }
    if ((v = mdki_ymap_get(n, "objectness")) && (st = get_bool(c, v, "postprocess.objectness", &p->objectness)) != MDK_OK)
        return st;
    if ((v = mdki_ymap_get(n, "iou_threshold")) && (st = get_number(c, v, "postprocess.iou_threshold", &p->iou)) != MDK_OK)
        return st;
    if ((v = mdki_ymap_get(n, "max_detections")) &&
        (st = get_int(c, v, "postprocess.max_detections", 1, 100000, &p->max_detections)) != MDK_OK)
        return st;
    if ((v = mdki_ymap_get(n, "class_aware")) && (st = get_bool(c, v, "postprocess.class_aware", &p->class_aware)) != MDK_OK)
        return st;
    if (p->type == MDKI_POST_DETECT && !p->output && !(p->boxes_output && p->scores_output))
        return bad(c, n, "postprocess", "detection needs 'output' (boxes and scores in one tensor) or 'boxes' and 'scores'");
    if (p->iou < 0 || p->iou > 1) return bad(c, mdki_ymap_get(n, "iou_threshold"), "postprocess.iou_threshold", "must be in [0, 1]");
    return MDK_OK;
}

static char *join_dir(const char *dir, const char *rel)
{
    if (rel[0] == '/') return mdki_strdup(rel);
    size_t n = strlen(dir) + strlen(rel) + 2;
    char *p = mdki_malloc(n);
    if (p) snprintf(p, n, "%s/%s", dir, rel);
    return p;
}

static mdk_status read_labels(const ctx *c, const mdki_ynode *n, mdk_spec *s)
{
    mdk_status st = MDK_OK;
    if (n->type == MDKI_Y_SEQ) {
        if (n->n > MDKI_MAX_LABELS) return bad(c, n, "labels", "more than %d labels", MDKI_MAX_LABELS);
        s->labels = mdki_calloc(n->n ? n->n : 1, sizeof *s->labels);
        if (!s->labels) return MDK_ERR_NO_MEMORY;
        for (size_t i = 0; i < n->n && st == MDK_OK; i++, s->n_labels++)
            st = get_string(c, n->items[i], "labels", &s->labels[i]);
        return st;
    }
    if (n->type != MDKI_Y_SCALAR) return bad(c, n, "labels", "expected a file name or a list of labels");
    char *path = join_dir(s->dir, n->scalar), *data = NULL;
    size_t len;
    if (!path || !(s->labels_source = mdki_strdup(n->scalar))) {
        mdki_free(path);
        return MDK_ERR_NO_MEMORY;
    }
    st = c->reader(c->reader_ctx, path, 64u << 20, &data, &len);
    mdki_free(path);
    if (st != MDK_OK) return mdki_fail_prefix(st, "%s:%d:%d: labels", c->file, n->line, n->col);
    size_t lines = 0;
    for (size_t i = 0; i < len; i++) lines += data[i] == '\n';
    if (lines + 1 > MDKI_MAX_LABELS) st = bad(c, n, "labels", "more than %d labels", MDKI_MAX_LABELS);
    if (st == MDK_OK && !(s->labels = mdki_calloc(lines + 1, sizeof *s->labels))) st = MDK_ERR_NO_MEMORY;
    for (char *p = data; st == MDK_OK && p < data + len;) {
        char *nl = memchr(p, '\n', (size_t)(data + len - p));
        size_t l = nl ? (size_t)(nl - p) : (size_t)(data + len - p);
        size_t k = l;
        if (k && p[k - 1] == '\r') k--;
        if (!(s->labels[s->n_labels++] = mdki_strndup(p, k))) st = MDK_ERR_NO_MEMORY;
        p += l + 1;
    }
    mdki_free(data);
    return st;
}

void mdk_spec_free(mdk_spec *s)
{
    if (!s) return;
    mdki_free(s->path);
    mdki_free(s->dir);
    mdki_free(s->name);
    mdki_free(s->version);
    mdki_free(s->model);
    for (size_t i = 0; i < s->n_labels; i++) mdki_free(s->labels[i]);
    mdki_free(s->labels);
    mdki_free(s->description);
    mdki_free(s->task);
    mdki_free(s->owner);
    mdki_free(s->license);
    mdki_free(s->variant_int8);
    mdki_free(s->variant_fp16);
    mdki_free(s->labels_source);
    for (int k = 0; k < 2; k++) {
        mdki_io_decl *d = k ? s->outputs : s->inputs;
        size_t n = k ? s->n_outputs : s->n_inputs;
        for (size_t i = 0; d && i < n; i++) {
            mdki_free(d[i].name);
            mdki_free(d[i].description);
            for (size_t j = 0; j < d[i].ndim; j++) mdki_free(d[i].dim_names[j]);
        }
        mdki_free(d);
    }
    for (size_t i = 0; i < s->n_providers; i++) mdki_free(s->providers[i]);
    mdki_free(s->providers);
    for (size_t i = 0; i < s->n_test_images; i++) mdki_free(s->test_images[i]);
    mdki_free(s->test_images);
    mdki_free(s->test_inputs);
    mdki_free(s->test_expected);
    for (size_t i = 0; i < s->n_changes; i++) {
        mdki_free(s->changelog[i].version);
        mdki_free(s->changelog[i].date);
        mdki_free(s->changelog[i].text);
    }
    mdki_free(s->changelog);
    mdki_free(s->pre.input);
    mdki_free(s->post.output);
    mdki_free(s->post.boxes_output);
    mdki_free(s->post.scores_output);
    mdki_free(s);
}

static mdk_status get_path(const ctx *c, const mdk_spec *s, const mdki_ynode *n, const char *field, char **out)
{
    if (n->type != MDKI_Y_SCALAR || !*n->scalar) return bad(c, n, field, "expected a file name");
    char *p = join_dir(s->dir, n->scalar);
    if (!p) return MDK_ERR_NO_MEMORY;
    mdki_free(*out);
    *out = p;
    return MDK_OK;
}

/* "1.2.3", with optional -prerelease and +build parts, as semver.org defines. */
static int is_semver(const char *v)
{
    for (int part = 0; part < 3; part++) {
        if (!(*v >= '0' && *v <= '9') || (v[0] == '0' && v[1] >= '0' && v[1] <= '9')) return 0;
        while (*v >= '0' && *v <= '9') v++;
        if (part < 2 && *v++ != '.') return 0;
    }
    if (*v == '-' || *v == '+') {
        for (v++; *v; v++)
            if (!((*v >= '0' && *v <= '9') || (*v >= 'a' && *v <= 'z') || (*v >= 'A' && *v <= 'Z') || *v == '.' ||
                  *v == '-' || *v == '+'))
                return 0;
        return 1;
    }
    return *v == '\0';
}

static mdk_status parse_io(const ctx *c, const mdki_ynode *n, const char *field, mdki_io_decl **out, size_t *count)
{
    if (n->type != MDKI_Y_SEQ) return bad(c, n, field, "expected a list of {name, dtype, shape, description}");
    if (n->n > 256) return bad(c, n, field, "more than 256 entries");
    mdki_io_decl *d = mdki_calloc(n->n ? n->n : 1, sizeof *d);
    if (!d) return MDK_ERR_NO_MEMORY;
    *out = d;
    mdk_status st = MDK_OK;
    for (size_t i = 0; i < n->n && st == MDK_OK; i++) {
        (*count)++; /* counted before it is filled: an entry left half-filled by an error is freed with the rest */
        const mdki_ynode *e = n->items[i], *v;
        char f[64];
        snprintf(f, sizeof f, "%s[%zu]", field, i);
        static const char *const keys[] = {"name", "dtype", "shape", "description", NULL};
        if ((st = need_map(c, e, f)) != MDK_OK || (st = check_keys(c, e, f, keys)) != MDK_OK) break;
        if (!(v = mdki_ymap_get(e, "name"))) {
            st = bad(c, e, f, "needs a name");
            break;
        }
        if ((st = get_string(c, v, f, &d[i].name)) != MDK_OK) break;
        if ((v = mdki_ymap_get(e, "dtype"))) {
            if (v->type != MDKI_Y_SCALAR || (d[i].dtype = mdk_dtype_from_name(v->scalar)) == MDK_DTYPE_UNDEFINED) {
                st = bad(c, v, f, "unknown dtype '%s', expected float32, float16, int64, uint8, ...",
                         v->type == MDKI_Y_SCALAR ? v->scalar : "?");
                break;
            }
        }
        if ((v = mdki_ymap_get(e, "shape"))) {
            if (v->type != MDKI_Y_SEQ || v->n > MDK_MAX_DIMS) {
                st = bad(c, v, f, "shape must be a list of sizes and dim names, such as [batch, 3, 224, 224]");
                break;
            }
            d[i].has_shape = 1;
            for (size_t k = 0; k < v->n && st == MDK_OK; k++, d[i].ndim++) {
                const mdki_ynode *dim = v->items[k];
                char *end = NULL;
                long long x = dim->type == MDKI_Y_SCALAR && !dim->quoted ? strtoll(dim->scalar, &end, 10) : -1;
                if (end && !*end && *dim->scalar && x >= 0) {
                    d[i].dims[k] = x;
                } else if (dim->type == MDKI_Y_SCALAR && *dim->scalar) {
                    d[i].dims[k] = -1;
                    if (!(d[i].dim_names[k] = mdki_strdup(dim->scalar))) st = MDK_ERR_NO_MEMORY;
                } else {
                    st = bad(c, dim, f, "a dim is a size >= 0 or a name");
                }
            }
        }
        if (st == MDK_OK && (v = mdki_ymap_get(e, "description"))) st = get_string(c, v, f, &d[i].description);
    }
    return st;
}

static mdk_status get_strings(const ctx *c, const mdki_ynode *n, const char *field, char ***out, size_t *count)
{
    if (n->type != MDKI_Y_SEQ) return bad(c, n, field, "expected a list");
    *out = mdki_calloc(n->n ? n->n : 1, sizeof **out);
    if (!*out) return MDK_ERR_NO_MEMORY;
    mdk_status st = MDK_OK;
    for (size_t i = 0; i < n->n && st == MDK_OK; i++, (*count)++) st = get_string(c, n->items[i], field, &(*out)[i]);
    return st;
}

static mdk_status get_u64(const ctx *c, const mdki_ynode *n, const char *field, uint64_t *out)
{
    double v;
    mdk_status st = get_number(c, n, field, &v);
    if (st == MDK_OK && (v < 1 || v != floor(v) || v > 9.0e15)) st = bad(c, n, field, "expected a whole number >= 1");
    if (st == MDK_OK) *out = (uint64_t)v;
    return st;
}

static mdk_status parse_sections(const ctx *c, const mdki_ynode *root, mdk_spec *s)
{
    const mdki_ynode *v, *sub = NULL;
    mdk_status st = MDK_OK;
    if ((v = mdki_ymap_get(root, "description"))) st = get_string(c, v, "description", &s->description);
    if (st == MDK_OK && (v = mdki_ymap_get(root, "task"))) {
        static const char *const tasks[] = {"classification", "detection", "segmentation", "ocr", "custom"};
        int t;
        if ((st = get_enum(c, v, "task", tasks, 5, &t)) == MDK_OK) st = get_string(c, v, "task", &s->task);
    }
    if (st == MDK_OK && (v = mdki_ymap_get(root, "owner"))) st = get_string(c, v, "owner", &s->owner);
    if (st == MDK_OK && (v = mdki_ymap_get(root, "license"))) st = get_string(c, v, "license", &s->license);
    if (st == MDK_OK && (v = mdki_ymap_get(root, "variants"))) {
        static const char *const keys[] = {"int8", "fp16", NULL};
        if ((st = need_map(c, v, "variants")) == MDK_OK) st = check_keys(c, v, "variants", keys);
        if (st == MDK_OK && (sub = mdki_ymap_get(v, "int8"))) st = get_path(c, s, sub, "variants.int8", &s->variant_int8);
        if (st == MDK_OK && (sub = mdki_ymap_get(v, "fp16"))) st = get_path(c, s, sub, "variants.fp16", &s->variant_fp16);
    }
    if (st == MDK_OK && (v = mdki_ymap_get(root, "inputs"))) st = parse_io(c, v, "inputs", &s->inputs, &s->n_inputs);
    if (st == MDK_OK && (v = mdki_ymap_get(root, "outputs"))) st = parse_io(c, v, "outputs", &s->outputs, &s->n_outputs);
    if (st == MDK_OK && (v = mdki_ymap_get(root, "runtime"))) {
        static const char *const keys[] = {"threads", "inter_op_threads", "execution_mode", "graph_optimization_level",
                                           "batch", "concurrency", "providers", NULL};
        static const char *const modes[] = {"sequential", "parallel"};
        static const char *const levels[] = {"none", "basic", "extended", "all"};
        if ((st = need_map(c, v, "runtime")) == MDK_OK) st = check_keys(c, v, "runtime", keys);
        if (st == MDK_OK && (sub = mdki_ymap_get(v, "threads"))) st = get_int(c, sub, "runtime.threads", 0, 1024, &s->rt.threads);
        if (st == MDK_OK && (sub = mdki_ymap_get(v, "inter_op_threads")))
            st = get_int(c, sub, "runtime.inter_op_threads", 0, 1024, &s->rt.inter_op_threads);
        if (st == MDK_OK && (sub = mdki_ymap_get(v, "execution_mode")))
            st = get_enum(c, sub, "runtime.execution_mode", modes, 2, &s->rt.execution_mode);
        if (st == MDK_OK && (sub = mdki_ymap_get(v, "graph_optimization_level")))
            st = get_enum(c, sub, "runtime.graph_optimization_level", levels, 4, &s->rt.graph_opt_level);
        if (st == MDK_OK && (sub = mdki_ymap_get(v, "batch"))) st = get_int(c, sub, "runtime.batch", 1, 65536, &s->rt.batch);
        if (st == MDK_OK && (sub = mdki_ymap_get(v, "concurrency")))
            st = get_int(c, sub, "runtime.concurrency", 1, 1024, &s->rt.concurrency);
        if (st == MDK_OK && (sub = mdki_ymap_get(v, "providers")))
            st = get_strings(c, sub, "runtime.providers", &s->providers, &s->n_providers);
        for (size_t i = 0; st == MDK_OK && i < s->n_providers; i++)
            if (strcasecmp(s->providers[i], "cpu") != 0)
                st = bad(c, sub->items[i], "runtime.providers", "execution provider '%s' is not available in this build; "
                         "expected cpu", s->providers[i]);
    }
    if (st == MDK_OK && (v = mdki_ymap_get(root, "limits"))) {
        static const char *const keys[] = {"max_batch", "max_image_pixels", "max_request_bytes", NULL};
        if ((st = need_map(c, v, "limits")) == MDK_OK) st = check_keys(c, v, "limits", keys);
        if (st == MDK_OK && (sub = mdki_ymap_get(v, "max_batch"))) st = get_u64(c, sub, "limits.max_batch", &s->rt.max_batch);
        if (st == MDK_OK && (sub = mdki_ymap_get(v, "max_image_pixels")))
            st = get_u64(c, sub, "limits.max_image_pixels", &s->rt.max_image_pixels);
        if (st == MDK_OK && (sub = mdki_ymap_get(v, "max_request_bytes")))
            st = get_u64(c, sub, "limits.max_request_bytes", &s->rt.max_request_bytes);
    }
    if (st == MDK_OK && (v = mdki_ymap_get(root, "test_cases"))) {
        static const char *const keys[] = {"images", "inputs", "expected_outputs", "rtol", "atol", NULL};
        if ((st = need_map(c, v, "test_cases")) == MDK_OK) st = check_keys(c, v, "test_cases", keys);
        if (st == MDK_OK && (sub = mdki_ymap_get(v, "images"))) {
            st = get_strings(c, sub, "test_cases.images", &s->test_images, &s->n_test_images);
            for (size_t i = 0; st == MDK_OK && i < s->n_test_images; i++) {
                char *p = join_dir(s->dir, s->test_images[i]);
                if (!p) st = MDK_ERR_NO_MEMORY;
                mdki_free(s->test_images[i]);
                s->test_images[i] = p;
            }
        }
        if (st == MDK_OK && (sub = mdki_ymap_get(v, "inputs"))) st = get_path(c, s, sub, "test_cases.inputs", &s->test_inputs);
        if (st == MDK_OK && (sub = mdki_ymap_get(v, "expected_outputs")))
            st = get_path(c, s, sub, "test_cases.expected_outputs", &s->test_expected);
        if (st == MDK_OK && (sub = mdki_ymap_get(v, "rtol"))) st = get_number(c, sub, "test_cases.rtol", &s->rtol);
        if (st == MDK_OK && (sub = mdki_ymap_get(v, "atol"))) st = get_number(c, sub, "test_cases.atol", &s->atol);
        if (st == MDK_OK && (s->rtol < 0 || s->atol < 0)) st = bad(c, v, "test_cases", "rtol and atol must be >= 0");
        if (st == MDK_OK && s->test_expected && !s->test_inputs)
            st = bad(c, v, "test_cases", "expected_outputs needs inputs");
    }
    if (st == MDK_OK && (v = mdki_ymap_get(root, "changelog"))) {
        if (v->type != MDKI_Y_SEQ) st = bad(c, v, "changelog", "expected a list of {version, date, changes}");
        else if (!(s->changelog = mdki_calloc(v->n ? v->n : 1, sizeof *s->changelog))) st = MDK_ERR_NO_MEMORY;
        for (size_t i = 0; st == MDK_OK && i < v->n; i++, s->n_changes++) {
            const mdki_ynode *e = v->items[i];
            static const char *const keys[] = {"version", "date", "changes", NULL};
            if ((st = need_map(c, e, "changelog")) != MDK_OK || (st = check_keys(c, e, "changelog", keys)) != MDK_OK) break;
            if ((sub = mdki_ymap_get(e, "version"))) st = get_string(c, sub, "changelog.version", &s->changelog[i].version);
            if (st == MDK_OK && (sub = mdki_ymap_get(e, "date"))) st = get_string(c, sub, "changelog.date", &s->changelog[i].date);
            if (st == MDK_OK && (sub = mdki_ymap_get(e, "changes"))) st = get_string(c, sub, "changelog.changes", &s->changelog[i].text);
            if (st == MDK_OK && !s->changelog[i].version) st = bad(c, e, "changelog", "each entry needs a version");
        }
    }
    if (st == MDK_OK && (v = mdki_ymap_get(root, "performance"))) {
        static const char *const keys[] = {"p99_ms", "throughput", NULL};
        if ((st = need_map(c, v, "performance")) == MDK_OK) st = check_keys(c, v, "performance", keys);
        if (st == MDK_OK && (sub = mdki_ymap_get(v, "p99_ms"))) st = get_number(c, sub, "performance.p99_ms", &s->perf_p99_ms);
        if (st == MDK_OK && (sub = mdki_ymap_get(v, "throughput")))
            st = get_number(c, sub, "performance.throughput", &s->perf_throughput);
    }
    return st;
}

static mdk_status parse_spec(mdk_spec *s, const mdki_ydoc *doc, mdki_file_reader reader, void *reader_ctx)
{
    ctx c = {s->path, reader, reader_ctx};
    const mdki_ynode *root = doc->root;
    if (!root) return mdki_fail(MDK_ERR_FORMAT, "%s: empty spec, expected a mapping with name, model, preprocess, ...", s->path);
    mdk_status st = need_map(&c, root, "spec");
    static const char *const keys[] = {"format_version", "name", "version", "description", "task", "owner", "license",
                                       "model", "variants", "inputs", "outputs", "labels", "preprocess", "postprocess",
                                       "runtime", "limits", "test_cases", "changelog", "performance", NULL};
    if (st == MDK_OK) st = check_keys(&c, root, "spec", keys);
    const mdki_ynode *v;
    if (st == MDK_OK && (v = mdki_ymap_get(root, "format_version"))) {
        int fv;
        if ((st = get_int(&c, v, "format_version", 1, 1000, &fv)) == MDK_OK && fv != MDKI_SPEC_FORMAT_VERSION)
            st = bad(&c, v, "format_version", "this mdk reads spec format %d, the spec is format %d", MDKI_SPEC_FORMAT_VERSION, fv);
    }
    if (st == MDK_OK && (v = mdki_ymap_get(root, "name"))) {
        st = get_string(&c, v, "name", &s->name);
        if (st == MDK_OK && strlen(s->name) > MDKI_SPEC_MAX_NAME)
            st = bad(&c, v, "name", "'%.40s...' is %zu characters long, the limit is %d", s->name, strlen(s->name),
                     MDKI_SPEC_MAX_NAME);
        for (const char *p = s->name; st == MDK_OK && *p; p++)
            if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' ||
                  *p == '_' || *p == '.'))
                st = bad(&c, v, "name", "'%s' has characters outside [A-Za-z0-9._-] (it names files and URLs)", s->name);
    }
    if (st == MDK_OK && (v = mdki_ymap_get(root, "version"))) {
        st = get_string(&c, v, "version", &s->version);
        if (st == MDK_OK && strlen(s->version) > MDKI_SPEC_MAX_VERSION)
            st = bad(&c, v, "version", "'%.40s...' is %zu characters long, the limit is %d", s->version,
                     strlen(s->version), MDKI_SPEC_MAX_VERSION);
        else if (st == MDK_OK && !is_semver(s->version))
            st = bad(&c, v, "version", "'%s' is not a semantic version such as 1.2.0", s->version);
    }
    if (st == MDK_OK && (v = mdki_ymap_get(root, "model"))) st = get_path(&c, s, v, "model", &s->model);
    if (st == MDK_OK && (v = mdki_ymap_get(root, "labels"))) st = read_labels(&c, v, s);
    if (st == MDK_OK && (v = mdki_ymap_get(root, "preprocess"))) st = parse_preprocess(&c, v, &s->pre);
    if (st == MDK_OK && (v = mdki_ymap_get(root, "postprocess"))) st = parse_postprocess(&c, v, &s->post);
    if (st == MDK_OK) st = parse_sections(&c, root, s);
    return st;
}

static mdk_status disk_reader(void *unused, const char *path, uint64_t cap, char **data, size_t *len)
{
    (void)unused;
    return mdki_read_file(path, cap, "file", data, len);
}

mdk_status mdki_spec_parse(const char *data, size_t len, const char *path, mdki_file_reader reader, void *reader_ctx,
                           mdk_spec **out)
{
    mdk_spec *s = mdki_calloc(1, sizeof *s);
    if (s) s->rt.execution_mode = s->rt.graph_opt_level = -1;
    if (!s) return MDK_ERR_NO_MEMORY;
    mdk_status st = MDK_OK;
    mdki_ydoc *doc = NULL;
    const char *slash = strrchr(path, '/');
    if (!(s->path = mdki_strdup(path))) st = MDK_ERR_NO_MEMORY;
    if (st == MDK_OK && !(s->dir = slash ? mdki_strndup(path, (size_t)(slash - path)) : mdki_strdup(".")))
        st = MDK_ERR_NO_MEMORY;
    if (st == MDK_OK) st = mdki_yaml_parse(data, len, s->path, &doc);
    s->rtol = 1e-3;
    s->atol = 1e-5;
    if (st == MDK_OK) st = parse_spec(s, doc, reader ? reader : disk_reader, reader_ctx);
    if (st == MDK_OK && !s->name && !(s->name = mdki_strdup("model"))) st = MDK_ERR_NO_MEMORY;
    mdki_yaml_free(doc);
    if (st != MDK_OK) {
        mdk_spec_free(s);
        return st;
    }
    *out = s;
    return MDK_OK;
}

mdk_status mdki_spec_for_model(const char *model_path, mdk_spec **out)
{
    mdk_spec *s = NULL;
    mdk_status st = mdki_spec_parse("{}", 2, model_path, NULL, NULL, &s);
    if (st != MDK_OK) return st;
    const char *slash = strrchr(model_path, '/'), *base = slash ? slash + 1 : model_path, *dot = strrchr(base, '.');
    size_t n = dot && dot > base ? (size_t)(dot - base) : strlen(base);
    if (n > MDKI_SPEC_MAX_NAME) n = MDKI_SPEC_MAX_NAME;
    s->bare = 1;
    mdki_free(s->name);
    s->name = mdki_strndup(base, n);
    s->model = mdki_strdup(model_path);
    for (char *c = s->name; c && *c; c++) /* the name rule of specs: it names files and URLs */
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '-' || *c == '_' ||
              *c == '.'))
            *c = '_';
    if (!s->name || !s->model) {
        mdk_spec_free(s);
        return MDK_ERR_NO_MEMORY;
    }
    *out = s;
    return MDK_OK;
}

mdk_status mdk_spec_read(const char *path, mdk_spec **out)
{
    if (!path || !out) return mdki_fail(MDK_ERR_INVALID_ARGUMENT, "mdk_spec_read: NULL argument");
    struct stat sb;
    int is_dir = stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
    size_t n = strlen(path) + 16;
    char *file = mdki_malloc(n), *data = NULL;
    if (!file) return MDK_ERR_NO_MEMORY;
    snprintf(file, n, is_dir ? "%s/mdk.yaml" : "%s", path);
    size_t len = 0;
    mdk_status st = mdki_read_file(file, MDKI_YAML_MAX_BYTES, "spec", &data, &len);
    if (st == MDK_OK) st = mdki_spec_parse(data, len, file, NULL, NULL, out);
    mdki_free(data);
    mdki_free(file);
    return st;
}

const char *mdk_spec_name(const mdk_spec *s) { return s->name; }
const char *mdk_spec_version(const mdk_spec *s) { return s->version ? s->version : ""; }
const char *mdk_spec_model_path(const mdk_spec *s) { return s->model ? s->model : ""; }
const char *mdk_spec_input_name(const mdk_spec *s) { return s->pre.input; }
const mdk_spec_runtime *mdk_spec_runtime_defaults(const mdk_spec *s) { return &s->rt; }

void mdk_spec_apply_options(const mdk_spec *s, mdk_options *o)
{
    mdk_options def;
    mdk_options_init(&def);
    if (o->intra_op_threads == def.intra_op_threads) o->intra_op_threads = s->rt.threads;
    if (o->inter_op_threads == def.inter_op_threads) o->inter_op_threads = s->rt.inter_op_threads;
    if (o->execution_mode == def.execution_mode && s->rt.execution_mode >= 0) o->execution_mode = s->rt.execution_mode;
    if (o->graph_opt_level == def.graph_opt_level && s->rt.graph_opt_level >= 0) o->graph_opt_level = s->rt.graph_opt_level;
    if (o->max_batch == def.max_batch) o->max_batch = s->rt.max_batch;
}
int mdk_spec_has_preprocess(const mdk_spec *s) { return s->pre.present; }

void mdk_spec_performance(const mdk_spec *s, double *p99_ms, double *throughput)
{
    if (p99_ms) *p99_ms = s->perf_p99_ms;
    if (throughput) *throughput = s->perf_throughput;
}
