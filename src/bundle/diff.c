/* diff.c: mdk diff: what changed between two bundles and whether the new one can replace the old in place.
 * Breaking: an input or output removed, renamed, retyped or reshaped, a new required input, a fixed dim
 * narrowed, different preprocessing (tensor clients must change), another postprocessing type, labels
 * reordered or removed. Compatible: outputs added, dims relaxed, labels appended, new weights, other
 * postprocessing parameters. */
#include <stdarg.h>
#include <string.h>

#include "bundle/bundle_int.h"

typedef struct diff {
    mdki_jw *w;     /* inside the "changes" array */
    int breaking;
    size_t n;
    mdk_status st;
} diff;

static void change(diff *d, int breaking, const char *what, const char *fmt, ...) MDKI_PRINTF(4, 5);

static void change(diff *d, int breaking, const char *what, const char *fmt, ...)
{
    if (d->st != MDK_OK) return;
    mdki_buf detail;
    mdki_buf_init(&detail, 16u << 20);
    va_list ap;
    va_start(ap, fmt);
    d->st = mdki_buf_addv(&detail, fmt, ap);
    va_end(ap);
    if (d->st != MDK_OK) {
        mdki_buf_free(&detail);
        return;
    }
    d->breaking |= breaking;
    d->n++;
    mdki_jw_object(d->w);
    mdki_jw_key(d->w, "impact");
    mdki_jw_string(d->w, breaking ? "breaking" : "compatible");
    mdki_jw_key(d->w, "what");
    mdki_jw_string(d->w, what);
    mdki_jw_key(d->w, "detail");
    mdki_jw_stringn(d->w, detail.data ? detail.data : "", detail.len);
    mdki_jw_end_object(d->w);
    mdki_buf_free(&detail);
}

static mdk_status graph_of(const mdk_bundle *b, mdk_graph_info **g, char sha[65])
{
    char *data;
    size_t len;
    mdk_status st = mdki_bundle_load(b, "model/model.onnx", MDKI_BUNDLE_MAX_FILE_BYTES, &data, &len);
    if (st != MDK_OK) return st;
    mdk_sha256_hex(data, len, sha);
    st = mdk_graph_info_read_memory(data, len, "model/model.onnx", g);
    mdki_free(data);
    return st;
}

static const mdk_value_info *find_value(const mdk_value_info *vs, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(vs[i].name, name) == 0) return &vs[i];
    return NULL;
}

static void dim_text(const mdk_dim *d, char *buf, size_t size)
{
    if (d->value >= 0) snprintf(buf, size, "%lld", (long long)d->value);
    else snprintf(buf, size, "%s", d->param ? d->param : "?");
}

static void compare_values(diff *d, const char *kind, const mdk_value_info *a, size_t na, const mdk_value_info *b, size_t nb)
{
    int inputs = strcmp(kind, "input") == 0;
    for (size_t i = 0; i < na; i++) {
        char what[600];
        snprintf(what, sizeof what, "%s '%s'", kind, a[i].name);
        const mdk_value_info *v = find_value(b, nb, a[i].name);
        if (!v) {
            change(d, 1, what, "removed (or renamed): clients using it break");
            continue;
        }
        if (v->dtype != a[i].dtype)
            change(d, 1, what, "dtype %s -> %s", mdk_dtype_name(a[i].dtype), mdk_dtype_name(v->dtype));
        if (a[i].has_shape && v->has_shape && v->ndim != a[i].ndim) {
            change(d, 1, what, "rank %zu -> %zu", a[i].ndim, v->ndim);
            continue;
        }
        for (size_t k = 0; a[i].has_shape && v->has_shape && k < v->ndim; k++) {
            const mdk_dim *x = &a[i].dims[k], *y = &v->dims[k];
            char ox[128], oy[128];
            dim_text(x, ox, sizeof ox);
            dim_text(y, oy, sizeof oy);
            if (x->value >= 0 && y->value >= 0 && x->value != y->value)
                change(d, 1, what, "dim %zu: %s -> %s", k, ox, oy);
            else if (x->value >= 0 && y->value < 0) /* relaxed: inputs accept more; outputs may now vary */
                change(d, !inputs, what, "dim %zu: fixed %s -> dynamic %s%s", k, ox, oy,
                       inputs ? "" : " (clients relying on the fixed size must adapt)");
            else if (x->value < 0 && y->value >= 0)
                change(d, inputs, what, "dim %zu: dynamic %s -> fixed %s%s", k, ox, oy,
                       inputs ? " (inputs of other sizes are now refused)" : "");
        }
    }
    for (size_t i = 0; i < nb; i++)
        if (!find_value(a, na, b[i].name)) {
            char what[600];
            snprintf(what, sizeof what, "%s '%s'", kind, b[i].name);
            change(d, inputs, what, inputs ? "added: the model now requires it" : "added");
        }
}

static mdk_status section(const mdk_spec *s, int pre, mdki_buf *out)
{
    /* the canonical spec text of one section, for comparison and display */
    mdki_buf all;
    mdki_buf_init(&all, 1u << 20);
    mdk_status st = mdki_spec_emit(s, "m", NULL, NULL, NULL, NULL, &all);
    if (st == MDK_OK) {
        const char *start = strstr(all.data, pre ? "\npreprocess:\n" : "\npostprocess:\n");
        if (start) {
            start++;
            const char *end = start + 1;
            while ((end = strchr(end, '\n')) && end[1] == ' ') end++;
            st = mdki_buf_add(out, start, end ? (size_t)(end - start) : strlen(start));
        }
    }
    mdki_buf_free(&all);
    return st;
}

mdk_status mdk_bundle_diff(const mdk_bundle *old_b, const mdk_bundle *new_b, char **report, int *breaking)
{
    if (!old_b || !new_b || !report || !breaking) return mdki_fail(MDK_ERR_INVALID_ARGUMENT, "mdk_bundle_diff: NULL argument");
    const mdk_spec *a = mdk_bundle_spec(old_b), *b = mdk_bundle_spec(new_b);
    mdki_buf out, sa, sb;
    mdki_buf_init(&out, 16u << 20);
    mdki_buf_init(&sa, 1u << 20);
    mdki_buf_init(&sb, 1u << 20);
    mdk_graph_info *ga = NULL, *gb = NULL;
    char ha[65], hb[65];
    mdki_jw w;
    mdki_jw_init(&w, &out, 1);
    diff d = {&w, 0, 0, MDK_OK};
    mdk_status st = graph_of(old_b, &ga, ha);
    if (st == MDK_OK) st = graph_of(new_b, &gb, hb);
    if (st == MDK_OK) {
        mdki_buf id;
        mdki_buf_init(&id, 1024);
        mdki_jw_object(&w);
        for (int k = 0; k < 2; k++) {
            const mdk_spec *sp = k ? b : a;
            id.len = 0;
            if (mdki_buf_addf(&id, "%s %s", sp->name, mdk_spec_version(sp)) != MDK_OK) w.st = MDK_ERR_NO_MEMORY;
            mdki_jw_key(&w, k ? "new" : "old");
            mdki_jw_stringn(&w, id.data ? id.data : "", id.len);
        }
        mdki_buf_free(&id);
        mdki_jw_key(&w, "changes");
        mdki_jw_array(&w);
        st = w.st;
    }
    if (st == MDK_OK) {
        if (strcmp(a->name, b->name) != 0) change(&d, 1, "name", "%s -> %s: clients address the model by name", a->name, b->name);
        compare_values(&d, "input", ga->inputs, ga->n_inputs, gb->inputs, gb->n_inputs);
        compare_values(&d, "output", ga->outputs, ga->n_outputs, gb->outputs, gb->n_outputs);
        for (int pre = 1; pre >= 0 && d.st == MDK_OK; pre--) {
            sa.len = sb.len = 0;
            d.st = section(a, pre, &sa);
            if (d.st == MDK_OK) d.st = section(b, pre, &sb);
            if (d.st != MDK_OK || (sa.len == sb.len && (!sa.len || memcmp(sa.data, sb.data, sa.len) == 0))) continue;
            if (pre)
                change(&d, 1, "preprocessing", "changed: clients that preprocess images themselves must change; was:\n%.*s\nnow:\n%.*s",
                       (int)sa.len, sa.len ? sa.data : "", (int)sb.len, sb.len ? sb.data : "");
            else
                change(&d, a->post.type != b->post.type || a->post.box_format != b->post.box_format, "postprocessing",
                       "changed; was:\n%.*s\nnow:\n%.*s", (int)sa.len, sa.len ? sa.data : "", (int)sb.len, sb.len ? sb.data : "");
        }
        size_t common = a->n_labels < b->n_labels ? a->n_labels : b->n_labels, differ = 0;
        for (size_t i = 0; i < common; i++) differ += strcmp(a->labels[i], b->labels[i]) != 0;
        if (differ || b->n_labels < a->n_labels)
            change(&d, 1, "labels", "%zu of %zu labels changed or removed (class indexes no longer mean the same)",
                   differ + (a->n_labels - common), a->n_labels);
        else if (b->n_labels > a->n_labels)
            change(&d, 0, "labels", "%zu labels appended (existing classes unchanged)", b->n_labels - a->n_labels);
        if (strcmp(ha, hb) != 0) change(&d, 0, "model", "new weights or graph: sha256 %.12s... -> %.12s...", ha, hb);
        st = d.st;
    }
    if (st == MDK_OK) {
        mdki_jw_end_array(&w);
        mdki_jw_key(&w, "breaking");
        mdki_jw_bool(&w, d.breaking);
        mdki_jw_key(&w, "summary");
        mdki_jw_string(&w, d.breaking ? "breaking: the new bundle cannot replace the old one in place"
                           : d.n ? "compatible: the new bundle can replace the old one in place"
                                 : "identical interfaces");
        mdki_jw_end_object(&w);
        st = mdki_jw_finish(&w);
    }
    mdk_graph_info_free(ga);
    mdk_graph_info_free(gb);
    mdki_buf_free(&sa);
    mdki_buf_free(&sb);
    if (st != MDK_OK) {
        mdki_buf_free(&out);
        return st;
    }
    *breaking = d.breaking;
    *report = mdki_buf_take(&out, NULL);
    return MDK_OK;
}
