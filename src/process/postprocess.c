/* postprocess.c: a spec's postprocessing: model outputs to JSON results. Classification (softmax or sigmoid,
 * top-k with labels, threshold), detection (box decoding in the common layouts, mapping back through
 * resize/letterbox/crop, class-aware non-maximum suppression) and segmentation (per-pixel argmax resized back
 * to the original image, run-length encoded). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "process/postprocess.h"
#include "process/process_int.h"
#include "tensor/tensor_int.h"

#define MAX_CANDIDATES 100000

static const mdk_tensor *find_output(mdk_tensor *const *outs, size_t n, const char *name, const char *role)
{
    if (!name) {
        if (n == 0) mdki_fail(MDK_ERR_NOT_FOUND, "postprocess: the model gave no outputs");
        return n ? outs[0] : NULL;
    }
    for (size_t i = 0; i < n; i++)
        if (strcmp(mdk_tensor_name(outs[i]), name) == 0) return outs[i];
    mdki_fail(MDK_ERR_NOT_FOUND, "postprocess: %s output '%s' is not among the model's outputs", role, name);
    return NULL;
}

static const char *label_of(const mdk_spec *s, size_t i)
{
    return i < s->n_labels ? s->labels[i] : NULL;
}

/* Opens image k's result object: its name (or index) and original size. */
static void image_header(mdki_jw *w, size_t k, const char *const *names, const mdk_prep_info *info)
{
    mdki_jw_object(w);
    mdki_jw_key(w, "image");
    if (names && names[k]) mdki_jw_string(w, names[k]);
    else mdki_jw_uint(w, k);
    if (info && k < info->n) {
        mdki_jw_key(w, "width");
        mdki_jw_int(w, info->maps[k].orig_w);
        mdki_jw_key(w, "height");
        mdki_jw_int(w, info->maps[k].orig_h);
    }
}

static void label_field(mdki_jw *w, const mdk_spec *s, size_t cls)
{
    const char *l = label_of(s, cls);
    if (!l) return;
    mdki_jw_key(w, "label");
    mdki_jw_string(w, l);
}

/* Opens the document {"task": TASK, "results": [ ... */
static void open_results(mdki_jw *w, const char *task)
{
    mdki_jw_object(w);
    mdki_jw_key(w, "task");
    mdki_jw_string(w, task);
    mdki_jw_key(w, "results");
    mdki_jw_array(w);
}

/* ... and closes it, one line with its newline. */
static mdk_status close_results(mdki_jw *w)
{
    mdki_jw_end_array(w);
    mdki_jw_end_object(w);
    mdk_status st = mdki_jw_finish(w);
    return st == MDK_OK ? mdki_buf_addc(w->b, '\n') : st;
}

/* ---- classification ---- */

typedef struct scored {
    double score;
    size_t index;
} scored;

static int by_score_desc(const void *a, const void *b)
{
    const scored *x = a, *y = b;
    if (x->score != y->score) return x->score < y->score ? 1 : -1;
    return x->index < y->index ? -1 : x->index > y->index;
}

void mdki_activate(double *v, size_t n, int activation)
{
    if (activation == MDKI_ACT_SIGMOID) {
        for (size_t i = 0; i < n; i++) v[i] = 1.0 / (1.0 + exp(-v[i]));
    } else if (activation == MDKI_ACT_SOFTMAX && n) {
        double mx = v[0], sum = 0;
        for (size_t i = 1; i < n; i++) mx = v[i] > mx ? v[i] : mx;
        for (size_t i = 0; i < n; i++) sum += v[i] = exp(v[i] - mx);
        for (size_t i = 0; i < n; i++) v[i] /= sum;
    }
}

static mdk_status classify(const mdk_spec *s, const mdk_tensor *t, const mdk_prep_info *info, const char *const *names,
                           mdki_jw *w)
{
    const mdki_post *p = &s->post;
    size_t batch = t->ndim ? (size_t)t->shape[0] : 1;
    if (batch == 0 || t->count % batch) return mdki_fail(MDK_ERR_MISMATCH, "postprocess: output '%s' has no per-image scores",
                                                         mdk_tensor_name(t));
    size_t nc = t->count / batch;
    if (s->n_labels && s->n_labels != nc)
        return mdki_fail(MDK_ERR_MISMATCH, "postprocess: the labels list has %zu entries but output '%s' gives %zu scores "
                         "per image", s->n_labels, mdk_tensor_name(t), nc);
    double *v = mdki_malloc(nc * sizeof *v);
    scored *sc = mdki_malloc(nc * sizeof *sc);
    mdk_status st = v && sc ? MDK_OK : MDK_ERR_NO_MEMORY;
    open_results(w, "classification");
    for (size_t k = 0; k < batch && st == MDK_OK && w->st == MDK_OK; k++) {
        for (size_t i = 0; i < nc; i++) v[i] = mdk_tensor_get_f64(t, k * nc + i);
        mdki_activate(v, nc, p->activation);
        for (size_t i = 0; i < nc; i++) sc[i] = (scored){v[i], i};
        qsort(sc, nc, sizeof *sc, by_score_desc);
        image_header(w, k, names, info);
        mdki_jw_key(w, "top");
        mdki_jw_array(w);
        for (size_t i = 0; i < nc && i < (size_t)p->top_k && sc[i].score >= p->threshold; i++) {
            mdki_jw_object(w);
            mdki_jw_key(w, "index");
            mdki_jw_uint(w, sc[i].index);
            label_field(w, s, sc[i].index);
            mdki_jw_key(w, "score");
            mdki_jw_number(w, sc[i].score, 6);
            mdki_jw_end_object(w);
        }
        mdki_jw_end_array(w);
        mdki_jw_end_object(w);
    }
    if (st == MDK_OK) st = close_results(w);
    mdki_free(v);
    mdki_free(sc);
    return st;
}

/* ---- detection ---- */

static double iou(const float *a, const float *b)
{
    double iw = fmin(a[2], b[2]) - fmax(a[0], b[0]), ih = fmin(a[3], b[3]) - fmax(a[1], b[1]);
    if (iw <= 0 || ih <= 0) return 0;
    double inter = iw * ih;
    double ua = ((double)a[2] - a[0]) * ((double)a[3] - a[1]) + ((double)b[2] - b[0]) * ((double)b[3] - b[1]) - inter;
    return ua > 0 ? inter / ua : 0;
}

size_t mdki_nms(const float *boxes, const float *scores, const int *classes, size_t n, double iou_threshold,
                size_t max_keep, size_t *keep)
{
    scored *order = mdki_malloc((n ? n : 1) * sizeof *order); /* the top-k ordering: score down, ties by index */
    char *dead = mdki_calloc(n ? n : 1, 1);
    size_t kept = 0;
    if (!order || !dead) {
        mdki_free(order);
        mdki_free(dead);
        return (size_t)-1;
    }
    for (size_t i = 0; i < n; i++) order[i] = (scored){scores[i], i};
    qsort(order, n, sizeof *order, by_score_desc);
    for (size_t i = 0; i < n && kept < max_keep; i++) {
        if (dead[i]) continue;
        size_t a = order[i].index;
        keep[kept++] = a;
        for (size_t j = i + 1; j < n; j++) {
            size_t b = order[j].index;
            if (!dead[j] && (!classes || classes[a] == classes[b]) && iou(boxes + 4 * a, boxes + 4 * b) > iou_threshold)
                dead[j] = 1;
        }
    }
    mdki_free(order);
    mdki_free(dead);
    return kept;
}

static void to_xyxy(const float *in, mdki_box_format f, float *out)
{
    switch (f) {
    case MDKI_BOX_XYXY: memcpy(out, in, 4 * sizeof *out); break;
    case MDKI_BOX_XYWH: out[0] = in[0], out[1] = in[1], out[2] = in[0] + in[2], out[3] = in[1] + in[3]; break;
    case MDKI_BOX_CXCYWH:
        out[0] = in[0] - in[2] / 2, out[1] = in[1] - in[3] / 2, out[2] = in[0] + in[2] / 2, out[3] = in[1] + in[3] / 2;
        break;
    }
}

static mdk_status detect(const mdk_spec *s, mdk_tensor *const *outs, size_t n_outs, const mdk_prep_info *info,
                         const char *const *names, mdki_jw *w)
{
    const mdki_post *p = &s->post;
    const mdk_tensor *comb = NULL, *bt = NULL, *stens = NULL;
    size_t batch, nb, nc;
    if (p->output) {
        if (!(comb = find_output(outs, n_outs, p->output, "detection"))) return MDK_ERR_NOT_FOUND;
        if (comb->ndim != 3)
            return mdki_fail(MDK_ERR_MISMATCH, "postprocess: detection output '%s' must be [batch, boxes, 4+classes] or "
                             "[batch, 4+classes, boxes] (layout: channels_first), got rank %zu", p->output, comb->ndim);
        batch = (size_t)comb->shape[0];
        size_t rows = (size_t)comb->shape[p->channels_first ? 2 : 1], cols = (size_t)comb->shape[p->channels_first ? 1 : 2];
        size_t fixed = 4 + (size_t)p->objectness;
        if (cols <= fixed) return mdki_fail(MDK_ERR_MISMATCH, "postprocess: detection output '%s' has %zu values per box, "
                                            "expected 4 box values%s and at least one class score", p->output, cols,
                                            p->objectness ? ", an objectness score" : "");
        nb = rows;
        nc = cols - fixed;
    } else {
        if (!(bt = find_output(outs, n_outs, p->boxes_output, "boxes"))) return MDK_ERR_NOT_FOUND;
        if (!(stens = find_output(outs, n_outs, p->scores_output, "scores"))) return MDK_ERR_NOT_FOUND;
        if (bt->ndim != 3 || bt->shape[2] != 4 || stens->ndim != 3 || stens->shape[0] != bt->shape[0] ||
            stens->shape[1] != bt->shape[1])
            return mdki_fail(MDK_ERR_MISMATCH, "postprocess: boxes must be [batch, boxes, 4] and scores [batch, boxes, "
                             "classes] with the same batch and box count");
        batch = (size_t)bt->shape[0];
        nb = (size_t)bt->shape[1];
        nc = (size_t)stens->shape[2];
    }
    if (s->n_labels && s->n_labels != nc)
        return mdki_fail(MDK_ERR_MISMATCH, "postprocess: the labels list has %zu entries but the model scores %zu classes",
                         s->n_labels, nc);
    float *boxes = mdki_malloc((nb ? nb : 1) * 4 * sizeof *boxes);
    float *scores = mdki_malloc((nb ? nb : 1) * sizeof *scores);
    int *classes = mdki_malloc((nb ? nb : 1) * sizeof *classes);
    size_t *keep = mdki_malloc((nb ? nb : 1) * sizeof *keep), *src = mdki_malloc((nb ? nb : 1) * sizeof *src);
    double *cls = mdki_malloc((nc ? nc : 1) * sizeof *cls);
    mdk_status st = boxes && scores && classes && keep && src && cls ? MDK_OK : MDK_ERR_NO_MEMORY;
    if (st == MDK_OK) open_results(w, "detection");
    for (size_t k = 0; k < batch && st == MDK_OK && w->st == MDK_OK; k++) {
        const mdki_prep_map *m = info && k < info->n ? &info->maps[k] : NULL;
        size_t n = 0;
        for (size_t i = 0; i < nb && n < MAX_CANDIDATES; i++) {
            float raw[4];
            double obj = 1;
            for (size_t j = 0; j < 4 + (size_t)p->objectness + nc && comb; j++) {
                size_t idx = p->channels_first ? (k * (4 + p->objectness + nc) + j) * nb + i
                                               : (k * nb + i) * (4 + p->objectness + nc) + j;
                double v = mdk_tensor_get_f64(comb, idx);
                if (j < 4) raw[j] = (float)v;
                else if (p->objectness && j == 4) obj = v;
                else cls[j - 4 - p->objectness] = v;
            }
            if (!comb) {
                for (size_t j = 0; j < 4; j++) raw[j] = (float)mdk_tensor_get_f64(bt, (k * nb + i) * 4 + j);
                for (size_t j = 0; j < nc; j++) cls[j] = mdk_tensor_get_f64(stens, (k * nb + i) * nc + j);
            }
            mdki_activate(cls, nc, p->activation);
            size_t best = 0;
            for (size_t j = 1; j < nc; j++) best = cls[j] > cls[best] ? j : best;
            double score = cls[best] * obj;
            if (!(score >= p->threshold)) continue;
            to_xyxy(raw, p->box_format, boxes + 4 * n);
            if (p->normalized && m)
                for (int j = 0; j < 4; j++) boxes[4 * n + j] *= (float)(j % 2 ? m->in_h : m->in_w);
            scores[n] = (float)score;
            classes[n] = p->class_aware ? (int)best : 0;
            src[n] = best;
            n++;
        }
        size_t kept = mdki_nms(boxes, scores, classes, n, p->iou, (size_t)p->max_detections, keep);
        if (kept == (size_t)-1) {
            st = mdki_fail(MDK_ERR_NO_MEMORY, "out of memory");
            break;
        }
        image_header(w, k, names, info);
        mdki_jw_key(w, "detections");
        mdki_jw_array(w);
        for (size_t i = 0; i < kept; i++) {
            float *bx = boxes + 4 * keep[i];
            double o[4] = {bx[0], bx[1], bx[2], bx[3]};
            if (m) { /* back to original pixels, clipped to the image */
                o[0] = (o[0] - m->bx) / m->ax, o[2] = (o[2] - m->bx) / m->ax;
                o[1] = (o[1] - m->by) / m->ay, o[3] = (o[3] - m->by) / m->ay;
                for (int j = 0; j < 4; j++) o[j] = fmin(fmax(o[j], 0), j % 2 ? m->orig_h : m->orig_w);
            }
            mdki_jw_object(w);
            mdki_jw_key(w, "box");
            mdki_jw_array(w);
            for (int j = 0; j < 4; j++) mdki_jw_fixed(w, o[j], 2);
            mdki_jw_end_array(w);
            mdki_jw_key(w, "score");
            mdki_jw_number(w, scores[keep[i]], 6);
            mdki_jw_key(w, "class");
            mdki_jw_uint(w, src[keep[i]]);
            label_field(w, s, src[keep[i]]);
            mdki_jw_end_object(w);
        }
        mdki_jw_end_array(w);
        mdki_jw_end_object(w);
    }
    if (st == MDK_OK) st = close_results(w);
    mdki_free(boxes);
    mdki_free(scores);
    mdki_free(classes);
    mdki_free(keep);
    mdki_free(src);
    mdki_free(cls);
    return st;
}

/* ---- segmentation: [N, C, H, W] scores (argmax over C; with C = 1, foreground where the map reaches the
 * threshold, 0.5 by default), or [N, H, W] class indexes ---- */

static mdk_status segment(const mdk_spec *s, const mdk_tensor *t, const mdk_prep_info *info, const char *const *names,
                          mdki_jw *w)
{
    if (t->ndim != 4 && t->ndim != 3)
        return mdki_fail(MDK_ERR_MISMATCH, "postprocess: segmentation output '%s' must be [batch, classes, height, width] "
                         "or [batch, height, width], got rank %zu", mdk_tensor_name(t), t->ndim);
    size_t batch = (size_t)t->shape[0], nc = t->ndim == 4 ? (size_t)t->shape[1] : 0;
    size_t mh = (size_t)t->shape[t->ndim - 2], mw = (size_t)t->shape[t->ndim - 1];
    if (mh == 0 || mw == 0) return mdki_fail(MDK_ERR_MISMATCH, "postprocess: segmentation output '%s' is empty",
                                             mdk_tensor_name(t));
    size_t *counts = mdki_calloc(nc > 1 ? nc : 65536, sizeof *counts);
    mdk_status st = counts ? MDK_OK : MDK_ERR_NO_MEMORY;
    open_results(w, "segmentation");
    for (size_t k = 0; k < batch && st == MDK_OK && w->st == MDK_OK; k++) {
        const mdki_prep_map *m = info && k < info->n ? &info->maps[k] : NULL;
        size_t ow = m ? (size_t)m->orig_w : mw, oh = m ? (size_t)m->orig_h : mh;
        size_t ncount = nc > 1 ? nc : 65536;
        memset(counts, 0, ncount * sizeof *counts);
        image_header(w, k, names, info);
        mdki_jw_key(w, "mask");
        mdki_jw_object(w);
        mdki_jw_key(w, "encoding");
        mdki_jw_string(w, "rle");
        mdki_jw_key(w, "size");
        mdki_jw_array(w);
        mdki_jw_uint(w, oh);
        mdki_jw_uint(w, ow);
        mdki_jw_end_array(w);
        mdki_jw_key(w, "runs"); /* (class, length) pairs in row-major order */
        mdki_jw_array(w);
        long prev = -1;
        size_t run = 0;
        for (size_t y = 0; y < oh && w->st == MDK_OK; y++)
            for (size_t x = 0; x < ow; x++) {
                /* nearest mask pixel for this original pixel centre, through the preprocessing map */
                double fx = m ? (((x + 0.5) * m->ax + m->bx) * mw / m->in_w) : x + 0.5;
                double fy = m ? (((y + 0.5) * m->ay + m->by) * mh / m->in_h) : y + 0.5;
                size_t mx = fx < 0 ? 0 : (size_t)fx >= mw ? mw - 1 : (size_t)fx;
                size_t my = fy < 0 ? 0 : (size_t)fy >= mh ? mh - 1 : (size_t)fy;
                long cls = 0;
                if (nc == 1) { /* one probability map: foreground where it reaches the threshold */
                    double v = mdk_tensor_get_f64(t, (k * mh + my) * mw + mx);
                    cls = v >= (s->post.threshold > 0 ? s->post.threshold : 0.5);
                } else if (nc) {
                    double best = -INFINITY;
                    for (size_t c = 0; c < nc; c++) {
                        double v = mdk_tensor_get_f64(t, ((k * nc + c) * mh + my) * mw + mx);
                        if (v > best) best = v, cls = (long)c;
                    }
                } else {
                    double v = mdk_tensor_get_f64(t, (k * mh + my) * mw + mx);
                    cls = v >= 0 && v < 65536 ? (long)v : 0;
                }
                counts[cls]++;
                if (cls == prev) {
                    run++;
                    continue;
                }
                if (run) {
                    mdki_jw_int(w, prev);
                    mdki_jw_uint(w, run);
                }
                prev = cls;
                run = 1;
            }
        if (run) {
            mdki_jw_int(w, prev);
            mdki_jw_uint(w, run);
        }
        mdki_jw_end_array(w);
        mdki_jw_end_object(w);
        mdki_jw_key(w, "classes");
        mdki_jw_array(w);
        for (size_t c = 0; c < ncount; c++) {
            if (!counts[c]) continue;
            mdki_jw_object(w);
            mdki_jw_key(w, "class");
            mdki_jw_uint(w, c);
            label_field(w, s, c);
            mdki_jw_key(w, "pixels");
            mdki_jw_uint(w, counts[c]);
            mdki_jw_end_object(w);
        }
        mdki_jw_end_array(w);
        mdki_jw_end_object(w);
    }
    if (st == MDK_OK) st = close_results(w);
    mdki_free(counts);
    return st;
}

mdk_status mdk_postprocess(const mdk_spec *spec, mdk_tensor *const *outputs, size_t n_outputs, const mdk_prep_info *info,
                           const char *const *names, char **json)
{
    if (!spec || (n_outputs && !outputs) || !json) return mdki_fail(MDK_ERR_INVALID_ARGUMENT, "mdk_postprocess: NULL argument");
    mdki_buf b;
    mdki_buf_init(&b, (size_t)1 << 30);
    mdki_jw w;
    mdki_jw_init(&w, &b, 0);
    mdk_status st;
    const mdki_post *p = &spec->post;
    const mdk_tensor *t;
    switch (p->type) {
    case MDKI_POST_CLASSIFY:
        st = (t = find_output(outputs, n_outputs, p->output, "classification")) ? classify(spec, t, info, names, &w)
                                                                                : MDK_ERR_NOT_FOUND;
        break;
    case MDKI_POST_DETECT:
        st = detect(spec, outputs, n_outputs, info, names, &w);
        break;
    case MDKI_POST_SEGMENT:
        st = (t = find_output(outputs, n_outputs, p->output, "segmentation")) ? segment(spec, t, info, names, &w)
                                                                              : MDK_ERR_NOT_FOUND;
        break;
    default: /* no postprocessing: the raw outputs */
        st = MDK_OK;
        mdki_jw_object(&w);
        mdki_jw_key(&w, "task");
        mdki_jw_string(&w, "none");
        mdki_jw_key(&w, "outputs");
        mdki_jw_array(&w);
        for (size_t i = 0; i < n_outputs && st == MDK_OK; i++) {
            const mdk_tensor *o = outputs[i];
            if (o->kind != MDK_VALUE_TENSOR || !mdk_v2_datatype(o->dtype)) {
                st = mdki_fail(MDK_ERR_UNSUPPORTED, "postprocess: output '%s' is not a tensor JSON can carry",
                               mdk_tensor_name(o));
                break;
            }
            mdki_jw_tensor(&w, o);
        }
        if (st == MDK_OK) {
            mdki_jw_end_array(&w);
            mdki_jw_end_object(&w);
            st = mdki_jw_finish(&w);
        }
        if (st == MDK_OK) st = mdki_buf_addc(&b, '\n');
        break;
    }
    if (st != MDK_OK) {
        mdki_buf_free(&b);
        return st;
    }
    *json = mdki_buf_take(&b, NULL);
    return MDK_OK;
}
