/* preprocess.c: a spec's preprocessing: geometric and color steps on 8-bit pixels (with cv2's arithmetic),
 * then scale/normalize in single precision, then layout and dtype; several images make one batch. Each
 * image's mapping from original to model coordinates is recorded for postprocessing. */
#include <math.h>
#include <string.h>

#include "process/process_int.h"
#include "tensor/tensor_int.h"

mdk_status mdki_prep_info_new(size_t n, mdk_prep_info **out)
{
    mdk_prep_info *info = mdki_calloc(1, sizeof *info);
    if (!info) return MDK_ERR_NO_MEMORY;
    info->maps = mdki_calloc(n ? n : 1, sizeof *info->maps);
    if (!info->maps) {
        mdki_free(info);
        return MDK_ERR_NO_MEMORY;
    }
    info->n = n;
    *out = info;
    return MDK_OK;
}

void mdk_prep_info_free(mdk_prep_info *info)
{
    if (!info) return;
    mdki_free(info->maps);
    mdki_free(info);
}

size_t mdk_prep_info_count(const mdk_prep_info *info) { return info ? info->n : 0; }

/* A working 8-bit image with its channel order. */
typedef struct work {
    int w, h, c;
    int bgr;       /* 3/4 channels in BGR order */
    uint8_t *px;
} work;

static mdk_status work_new(work *wk, int w, int h, int c)
{
    size_t n = (size_t)w * h * c;
    wk->px = mdki_malloc(n ? n : 1);
    if (!wk->px) return MDK_ERR_NO_MEMORY;
    wk->w = w;
    wk->h = h;
    wk->c = c;
    return MDK_OK;
}

static void work_replace(work *wk, work *next)
{
    next->bgr = wk->bgr;
    mdki_free(wk->px);
    *wk = *next;
}

static mdk_status resize_to(work *wk, int w, int h, mdki_interp interp)
{
    if (w == wk->w && h == wk->h) return MDK_OK;
    work next;
    mdk_status st = work_new(&next, w, h, wk->c);
    if (st == MDK_OK) st = mdki_resize(wk->px, wk->w, wk->h, wk->c, next.px, w, h, interp);
    if (st != MDK_OK) {
        mdki_free(next.px);
        return st;
    }
    work_replace(wk, &next);
    return MDK_OK;
}

/* Copies the part of `wk` starting at (left, top) into a w x h image filled with `fill` elsewhere. */
static mdk_status place(work *wk, int w, int h, int left, int top, uint8_t fill)
{
    work next;
    mdk_status st = work_new(&next, w, h, wk->c);
    if (st != MDK_OK) return st;
    memset(next.px, fill, (size_t)w * h * wk->c);
    for (int y = 0; y < h; y++) {
        int sy = y + top;
        if (sy < 0 || sy >= wk->h) continue;
        int x0 = left < 0 ? -left : 0, x1 = wk->w - left < w ? wk->w - left : w;
        if (x1 > x0)
            memcpy(next.px + ((size_t)y * w + x0) * wk->c, wk->px + ((size_t)sy * wk->w + x0 + left) * wk->c,
                   (size_t)(x1 - x0) * wk->c);
    }
    work_replace(wk, &next);
    return MDK_OK;
}

/* cv2.cvtColor's 8-bit luma (0.299 R + 0.587 G + 0.114 B in 15-bit fixed point, rounded). */
static uint8_t luma(uint8_t r, uint8_t g, uint8_t b)
{
    return (uint8_t)((r * 9798 + g * 19235 + b * 3735 + (1 << 14)) >> 15);
}

static mdk_status to_color(work *wk, mdki_color color)
{
    int oc = color == MDKI_COLOR_GRAY ? 1 : 3;
    if (wk->c == oc && (oc == 1 || wk->bgr == (color == MDKI_COLOR_BGR))) return MDK_OK;
    work next;
    mdk_status st = work_new(&next, wk->w, wk->h, oc);
    if (st != MDK_OK) return st;
    size_t n = (size_t)wk->w * wk->h;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *s = wk->px + i * wk->c;
        uint8_t r, g, b;
        if (wk->c < 3) r = g = b = s[0];
        else if (wk->bgr) r = s[2], g = s[1], b = s[0];
        else r = s[0], g = s[1], b = s[2];
        uint8_t *d = next.px + i * oc;
        if (oc == 1) d[0] = wk->c < 3 ? s[0] : luma(r, g, b);
        else if (color == MDKI_COLOR_BGR) d[0] = b, d[1] = g, d[2] = r;
        else d[0] = r, d[1] = g, d[2] = b;
    }
    work_replace(wk, &next);
    wk->bgr = color == MDKI_COLOR_BGR;
    return MDK_OK;
}

static mdk_status geometry(const mdki_prep *p, const mdk_image *img, work *wk, mdki_prep_map *map, size_t *value_from)
{
    mdk_status st = work_new(wk, img->w, img->h, img->c);
    if (st != MDK_OK) return st;
    memcpy(wk->px, img->px, (size_t)img->w * img->h * img->c);
    wk->bgr = 0;
    map->orig_w = img->src_w;
    map->orig_h = img->src_h;
    map->ax = (double)img->w / img->src_w;
    map->ay = (double)img->h / img->src_h;
    map->bx = map->by = 0;
    int colored = 0;
    size_t i = 0;
    for (; i < p->n_steps && st == MDK_OK; i++) {
        const mdki_step *s = &p->steps[i];
        int w = wk->w, h = wk->h, nw = w, nh = h;
        if (s->kind == MDKI_STEP_SCALE || s->kind == MDKI_STEP_NORMALIZE) break;
        switch (s->kind) {
        case MDKI_STEP_RESIZE:
            nw = s->width, nh = s->height;
            break;
        case MDKI_STEP_SHORTER:
        case MDKI_STEP_LONGER:
            /* torchvision's rule: the other side is truncated, int(size * long / short) */
            if ((w <= h) == (s->kind == MDKI_STEP_SHORTER)) nw = s->size, nh = (int)((long long)s->size * h / w);
            else nh = s->size, nw = (int)((long long)s->size * w / h);
            if (nw < 1) nw = 1;
            if (nh < 1) nh = 1;
            break;
        case MDKI_STEP_LETTERBOX: {
            double r = fmin((double)s->width / w, (double)s->height / h);
            int fw = (int)lrint(w * r), fh = (int)lrint(h * r);
            fw = fw < 1 ? 1 : fw > s->width ? s->width : fw;
            fh = fh < 1 ? 1 : fh > s->height ? s->height : fh;
            /* `continue`, not `break`: a break would only leave the switch, and the resize after it would
             * overwrite the failure */
            if ((st = resize_to(wk, fw, fh, s->interp)) != MDK_OK) continue;
            int left = (s->width - fw) / 2, top = (s->height - fh) / 2;
            map->ax *= (double)fw / w, map->bx = map->bx * fw / w + left;
            map->ay *= (double)fh / h, map->by = map->by * fh / h + top;
            st = place(wk, s->width, s->height, -left, -top, (uint8_t)s->pad);
            continue;
        }
        case MDKI_STEP_CROP: {
            /* torchvision's CenterCrop: centred with round-half-even, zero padding when the image is smaller */
            int left = w >= s->width ? (int)lrint((w - s->width) / 2.0) : -((s->width - w) / 2);
            int top = h >= s->height ? (int)lrint((h - s->height) / 2.0) : -((s->height - h) / 2);
            map->bx -= left, map->by -= top;
            st = place(wk, s->width, s->height, left, top, 0);
            continue;
        }
        case MDKI_STEP_COLOR:
            st = to_color(wk, s->color);
            colored = 1;
            continue;
        default:
            continue;
        }
        if ((st = resize_to(wk, nw, nh, s->interp)) != MDK_OK) break;
        map->ax *= (double)nw / w, map->bx *= (double)nw / w;
        map->ay *= (double)nh / h, map->by *= (double)nh / h;
    }
    /* Without a color step the model gets RGB. */
    if (st == MDK_OK && !colored) st = to_color(wk, MDKI_COLOR_RGB);
    if (st == MDK_OK && wk->c == 4) st = to_color(wk, wk->bgr ? MDKI_COLOR_BGR : MDKI_COLOR_RGB);
    map->in_w = wk->w;
    map->in_h = wk->h;
    *value_from = i;
    return st;
}

/* Writes image k's pixels through the value steps into the batch tensor. */
static mdk_status values(const mdki_prep *p, size_t from, const work *wk, mdk_tensor *t, size_t k)
{
    size_t hw = (size_t)wk->w * wk->h, c = (size_t)wk->c;
    for (size_t i = from; i < p->n_steps; i++)
        if (p->steps[i].kind == MDKI_STEP_NORMALIZE && p->steps[i].n_ch && (size_t)p->steps[i].n_ch != c)
            return mdki_fail(MDK_ERR_MISMATCH, "preprocess: normalize gives %d values per channel but the image has %zu "
                             "channels", p->steps[i].n_ch, c);
    for (size_t pix = 0; pix < hw; pix++)
        for (size_t ch = 0; ch < c; ch++) {
            float v = wk->px[pix * c + ch];
            for (size_t i = from; i < p->n_steps; i++) {
                const mdki_step *s = &p->steps[i];
                if (s->kind == MDKI_STEP_SCALE) v *= s->scale;
                else v = (v - s->mean[ch]) / s->std[ch];
            }
            size_t idx = k * hw * c + (p->nhwc ? pix * c + ch : ch * hw + pix);
            if (t->dtype == MDK_DTYPE_FLOAT32) ((float *)t->data)[idx] = v;
            else mdki_tensor_set_f64(t, idx, t->dtype == MDK_DTYPE_UINT8 ? nearbyint(v) : v);
        }
    return MDK_OK;
}

mdk_status mdk_preprocess(const mdk_spec *spec, mdk_image *const *images, size_t n, mdk_tensor **out,
                          mdk_prep_info **info)
{
    if (!spec || (n && !images) || !out) return mdki_fail(MDK_ERR_INVALID_ARGUMENT, "mdk_preprocess: NULL argument");
    if (n == 0) return mdki_fail(MDK_ERR_INVALID_ARGUMENT, "preprocess: no images given");
    if (!spec->pre.present && spec->bare)
        return mdki_fail(MDK_ERR_UNSUPPORTED, "%s is a bare model: it takes tensors; images need a spec or bundle that "
                         "declares their preprocessing", spec->path);
    if (!spec->pre.present)
        return mdki_fail(MDK_ERR_NOT_FOUND, "%s declares no preprocess section: images cannot be turned into tensors",
                         spec->path);
    const mdki_prep *p = &spec->pre;
    mdk_prep_info *pi = NULL;
    mdk_tensor *t = NULL;
    work wk = {0};
    mdk_status st = mdki_prep_info_new(n, &pi);
    for (size_t k = 0; k < n && st == MDK_OK; k++) {
        size_t from;
        st = geometry(p, images[k], &wk, &pi->maps[k], &from);
        if (st == MDK_OK && !t) {
            int64_t shape[4] = {(int64_t)n, wk.c, wk.h, wk.w};
            if (p->nhwc) shape[1] = wk.h, shape[2] = wk.w, shape[3] = wk.c;
            st = mdk_tensor_new(p->dtype, 4, shape, &t);
            if (st == MDK_OK && p->input) st = mdk_tensor_set_name(t, p->input);
        } else if (st == MDK_OK && ((int)pi->maps[0].in_w != wk.w || (int)pi->maps[0].in_h != wk.h ||
                                    (int64_t)wk.c != t->shape[p->nhwc ? 3 : 1])) {
            st = mdki_fail(MDK_ERR_MISMATCH, "preprocess: image %zu becomes %dx%dx%d but image 0 became %dx%dx%lld; add a "
                           "resize step so that a batch has one size", k, wk.w, wk.h, wk.c, pi->maps[0].in_w,
                           pi->maps[0].in_h, (long long)t->shape[p->nhwc ? 3 : 1]);
        }
        if (st == MDK_OK) st = values(p, from, &wk, t, k);
        mdki_free(wk.px);
        wk.px = NULL;
    }
    if (st != MDK_OK) {
        mdk_tensor_free(t);
        mdk_prep_info_free(pi);
        return st;
    }
    *out = t;
    if (info) *info = pi;
    else mdk_prep_info_free(pi);
    return MDK_OK;
}

/* The spec's pixel limit applies in every front end that decodes through these options. The fast path may
 * reduce a JPEG to what the first geometric step needs; a crop or value step first allows no reduction. */
void mdk_spec_decode_options(const mdk_spec *spec, int fast, mdk_decode_options *o)
{
    mdk_decode_options_init(o);
    if (spec->rt.max_image_pixels) o->max_pixels = spec->rt.max_image_pixels;
    for (size_t i = 0; fast && i < spec->pre.n_steps; i++) {
        const mdki_step *s = &spec->pre.steps[i];
        if (s->kind == MDKI_STEP_COLOR) continue;
        if (s->kind == MDKI_STEP_RESIZE || s->kind == MDKI_STEP_LETTERBOX) o->min_width = s->width, o->min_height = s->height;
        else if (s->kind == MDKI_STEP_SHORTER || s->kind == MDKI_STEP_LONGER) o->min_width = o->min_height = s->size;
        return;
    }
}

mdk_status mdk_preprocess_files(const mdk_spec *spec, const char *const *paths, size_t n, const mdk_decode_options *opts,
                                mdk_tensor **out, mdk_prep_info **info)
{
    if (!spec || (n && !paths) || !out) return mdki_fail(MDK_ERR_INVALID_ARGUMENT, "mdk_preprocess_files: NULL argument");
    mdk_image **imgs = mdki_calloc(n ? n : 1, sizeof *imgs);
    if (!imgs) return MDK_ERR_NO_MEMORY;
    mdk_decode_options def;
    if (!opts) {
        mdk_spec_decode_options(spec, 0, &def);
        opts = &def;
    }
    mdk_status st = MDK_OK;
    for (size_t i = 0; i < n && st == MDK_OK; i++) st = mdk_image_read(paths[i], opts, &imgs[i]);
    if (st == MDK_OK) st = mdk_preprocess(spec, imgs, n, out, info);
    for (size_t i = 0; i < n; i++) mdk_image_free(imgs[i]);
    mdki_free(imgs);
    return st;
}
