/* resize.c: cv2.resize's results for 8-bit images, reproduced: the same source coordinates, the same
 * 11-bit fixed-point coefficients and the same rounding, including the two roundings OpenCV's vertical pass
 * uses (its vector loop over the first multiple-of-16 values of a row, exact rounding for the rest), so that
 * the uint8 output is identical to OpenCV 4.x on x86-64 without IPP (what Debian ships). */
#include <math.h>
#include <string.h>

#include "process/resize.h"

#define COEF_BITS 11
#define COEF_SCALE (1 << COEF_BITS)

/* cvRound: nearest, ties to even (the default rounding mode). */
static int round_even(double v)
{
    return (int)lrint(v);
}

static short coef(float v)
{
    int r = round_even(v * COEF_SCALE);
    return (short)(r < -32768 ? -32768 : r > 32767 ? 32767 : r);
}

static uint8_t sat_u8(int v)
{
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

static int clampi(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* ---- nearest: source index floor(d * src/dst), as cv2.INTER_NEAREST ---- */

static void resize_nearest(const uint8_t *src, int sw, int sh, int cn, uint8_t *dst, int dw, int dh)
{
    double ifx = 1.0 / ((double)dw / sw), ify = 1.0 / ((double)dh / sh);
    for (int y = 0; y < dh; y++) {
        int sy = clampi((int)floor(y * ify), 0, sh - 1);
        const uint8_t *row = src + (size_t)sy * sw * cn;
        uint8_t *out = dst + (size_t)y * dw * cn;
        for (int x = 0; x < dw; x++) {
            int sx = clampi((int)floor(x * ifx), 0, sw - 1);
            memcpy(out + (size_t)x * cn, row + (size_t)sx * cn, (size_t)cn);
        }
    }
}

/* ---- separable fixed-point filters: bilinear (2 taps), bicubic (4 taps), area-upscaling (2 taps) ---- */

typedef struct filter {
    int taps;
    int *ofs;     /* per destination position: first source index (may be out of range) */
    short *w;     /* taps coefficients per position */
} filter;

static void cubic_weights(float x, float c[4])
{
    const float A = -0.75f;
    c[0] = ((A * (x + 1) - 5 * A) * (x + 1) + 8 * A) * (x + 1) - 4 * A;
    c[1] = ((A + 2) * x - (A + 3)) * x * x + 1;
    c[2] = ((A + 2) * (1 - x) - (A + 3)) * (1 - x) * (1 - x) + 1;
    c[3] = 1.f - c[0] - c[1] - c[2];
}

/* Coefficients along one axis. `horizontal` applies OpenCV's clamping of the source position for the
 * 2-tap filters (the vertical axis clamps rows instead). */
static mdk_status make_filter(int sn, int dn, mdki_interp interp, int horizontal, filter *f)
{
    f->taps = interp == MDKI_INTERP_BICUBIC ? 4 : 2;
    f->ofs = mdki_malloc((size_t)dn * sizeof *f->ofs);
    f->w = mdki_malloc((size_t)dn * (size_t)f->taps * sizeof *f->w);
    if (!f->ofs || !f->w) return MDK_ERR_NO_MEMORY;
    double inv_scale = (double)dn / sn, scale = 1.0 / inv_scale;
    for (int d = 0; d < dn; d++) {
        float fx;
        int sx;
        if (interp == MDKI_INTERP_AREA) { /* upscaling with INTER_AREA */
            sx = (int)floor(d * scale);
            fx = (float)((d + 1) - (sx + 1) * inv_scale);
            fx = fx <= 0 ? 0.f : fx - floorf(fx);
        } else {
            fx = (float)((d + 0.5) * scale - 0.5);
            sx = (int)floorf(fx);
            fx -= (float)sx;
        }
        float c[4];
        if (f->taps == 4) {
            cubic_weights(fx, c);
            f->ofs[d] = sx - 1;
        } else {
            if (horizontal && sx < 0) fx = 0, sx = 0;
            if (horizontal && sx >= sn - 1) fx = 0, sx = sn - 1;
            c[0] = 1.f - fx;
            c[1] = fx;
            f->ofs[d] = sx;
        }
        for (int k = 0; k < f->taps; k++) f->w[(size_t)d * f->taps + k] = coef(c[k]);
    }
    return MDK_OK;
}

static void filter_free(filter *f)
{
    mdki_free(f->ofs);
    mdki_free(f->w);
}

/* One source row through the horizontal filter into `out` (dw*cn ints scaled by COEF_SCALE); taps outside
 * the row take the nearest edge pixel. */
static void hpass(const uint8_t *row, int sw, int cn, const filter *f, int dw, int *out)
{
    for (int d = 0; d < dw; d++) {
        const short *w = f->w + (size_t)d * f->taps;
        int base = f->ofs[d];
        for (int k = 0; k < cn; k++) {
            int acc = 0;
            for (int t = 0; t < f->taps; t++) {
                int sx = clampi(base + t, 0, sw - 1);
                acc += row[sx * cn + k] * w[t];
            }
            out[d * cn + k] = acc;
        }
    }
}

/* The vertical pass of the 2-tap filters: OpenCV's vector loop (16 values at a time) drops 4 bits from each
 * row before a high multiply and rounds once more at the end; its scalar tail rounds the exact sum. */
static void vpass_linear(const int *r0, const int *r1, const short *b, int width, uint8_t *out)
{
    int vec_end = width;
    for (int x = 0; x < vec_end; x++) {
        int a = ((r0[x] >> 4) * b[0]) >> 16;
        int c = ((r1[x] >> 4) * b[1]) >> 16;
        out[x] = sat_u8((a + c + 2) >> 2);
    }
    for (int x = vec_end; x < width; x++) out[x] = sat_u8((r0[x] * b[0] + r1[x] * b[1] + (1 << 21)) >> 22);
}

/* The vertical pass of bicubic: single-precision sums in the vector loop (8 values at a time), exact integer
 * rounding in the tail. */
static void vpass_cubic(const int *const r[4], const short *b, int width, uint8_t *out)
{
    const float scale = 1.f / (COEF_SCALE * COEF_SCALE);
    float bf[4];
    for (int k = 0; k < 4; k++) bf[k] = b[k] * scale;
    int vec_end = width / 8 * 8;
    for (int x = 0; x < vec_end; x++) {
        float s = (float)r[3][x] * bf[3];
        s = (float)r[2][x] * bf[2] + s;
        s = (float)r[1][x] * bf[1] + s;
        s = (float)r[0][x] * bf[0] + s;
        int v = (int)lrintf(s);
        out[x] = sat_u8(v < -32768 ? -32768 : v > 32767 ? 32767 : v);
    }
    for (int x = vec_end; x < width; x++) {
        int v = r[0][x] * b[0] + r[1][x] * b[1] + r[2][x] * b[2] + r[3][x] * b[3];
        out[x] = sat_u8((v + (1 << 21)) >> 22);
    }
}

static mdk_status resize_separable(const uint8_t *src, int sw, int sh, int cn, uint8_t *dst, int dw, int dh,
                                   mdki_interp interp)
{
    filter fx = {0}, fy = {0};
    int width = dw * cn;
    int *rows = NULL;
    mdk_status st = make_filter(sw, dw, interp, 1, &fx);
    if (st == MDK_OK) st = make_filter(sh, dh, interp, 0, &fy);
    if (st == MDK_OK && !(rows = mdki_malloc((size_t)width * (size_t)fy.taps * sizeof *rows))) st = MDK_ERR_NO_MEMORY;
    if (st != MDK_OK) goto done;
    int cached[4] = {-1, -1, -1, -1}; /* source row held in each slot */
    for (int y = 0; y < dh; y++) {
        const int *r[4];
        for (int t = 0; t < fy.taps; t++) {
            int sy = clampi(fy.ofs[y] + t, 0, sh - 1);
            int slot = -1;
            for (int k = 0; k < fy.taps; k++)
                if (cached[k] == sy) slot = k;
            if (slot < 0) { /* reuse a slot no tap of this row needs */
                for (int k = 0; k < fy.taps && slot < 0; k++) {
                    int needed = 0;
                    for (int u = 0; u < fy.taps; u++) needed |= cached[k] == clampi(fy.ofs[y] + u, 0, sh - 1);
                    if (!needed) slot = k;
                }
                hpass(src + (size_t)sy * sw * cn, sw, cn, &fx, dw, rows + (size_t)slot * width);
                cached[slot] = sy;
            }
            r[t] = rows + (size_t)slot * width;
        }
        const short *b = fy.w + (size_t)y * fy.taps;
        uint8_t *out = dst + (size_t)y * width;
        if (fy.taps == 2) vpass_linear(r[0], r[1], b, width, out);
        else vpass_cubic(r, b, width, out);
    }
done:
    mdki_free(rows);
    filter_free(&fx);
    filter_free(&fy);
    return st;
}

mdk_status mdki_area_down(const uint8_t *src, int sw, int sh, int cn, uint8_t *dst, int dw, int dh);

mdk_status mdki_resize(const uint8_t *src, int sw, int sh, int cn, uint8_t *dst, int dw, int dh, mdki_interp interp)
{
    if (sw <= 0 || sh <= 0 || dw <= 0 || dh <= 0 || cn < 1 || cn > 4)
        return mdki_fail(MDK_ERR_INVALID_ARGUMENT, "resize: sizes must be positive and channels 1 to 4");
    if (sw == dw && sh == dh) {
        memcpy(dst, src, (size_t)sw * sh * cn);
        return MDK_OK;
    }
    double scale_x = 1.0 / ((double)dw / sw), scale_y = 1.0 / ((double)dh / sh);
    int exact2 = fabs(scale_x - 2) < 2.220446049250313e-16 && fabs(scale_y - 2) < 2.220446049250313e-16;
    switch (interp) {
    case MDKI_INTERP_NEAREST:
        resize_nearest(src, sw, sh, cn, dst, dw, dh);
        return MDK_OK;
    case MDKI_INTERP_BILINEAR:
        /* OpenCV computes an exact 2x reduction as area averaging */
        if (exact2) return mdki_area_down(src, sw, sh, cn, dst, dw, dh);
        return resize_separable(src, sw, sh, cn, dst, dw, dh, interp);
    case MDKI_INTERP_BICUBIC:
        return resize_separable(src, sw, sh, cn, dst, dw, dh, interp);
    case MDKI_INTERP_AREA:
        if (scale_x >= 1 && scale_y >= 1) return mdki_area_down(src, sw, sh, cn, dst, dw, dh);
        return resize_separable(src, sw, sh, cn, dst, dw, dh, interp);
    }
    return mdki_fail(MDK_ERR_INVALID_ARGUMENT, "resize: unknown interpolation");
}

/* ---- area reduction (cv2.INTER_AREA with both scales >= 1) ---- */

/* Integer factors: the mean of each cell, computed as sum * (1/area) in single precision and rounded to
 * nearest even; for 2x2 cells of 1, 3 or 4 channels OpenCV's vector code rounds half up instead, across the
 * whole row. */
static void area_fast(const uint8_t *src, int sw, int cn, uint8_t *dst, int dw, int dh, int kx, int ky)
{
    const float scale = 1.f / (float)(kx * ky);
    int width = dw * cn;
    int vec_end = 0;
    if (kx == 2 && ky == 2 && cn != 2) vec_end = width;
    for (int y = 0; y < dh; y++) {
        const uint8_t *top = src + (size_t)y * ky * sw * cn;
        uint8_t *out = dst + (size_t)y * width;
        for (int v = 0; v < width; v++) {
            int x = v / cn, c = v % cn, sum = 0;
            for (int j = 0; j < ky; j++) {
                const uint8_t *row = top + (size_t)j * sw * cn;
                for (int i = 0; i < kx; i++) sum += row[(x * kx + i) * cn + c];
            }
            out[v] = v < vec_end ? (uint8_t)((sum + 2) >> 2) : sat_u8((int)lrintf((float)sum * scale));
        }
    }
}

typedef struct area_tab {
    int si, di;
    float alpha;
} area_tab;

/* The source cells each destination cell overlaps, with their fraction of it, as OpenCV tabulates them. */
static int area_table(int sn, int dn, int cn, double scale, area_tab *tab)
{
    int k = 0;
    for (int d = 0; d < dn; d++) {
        double f1 = d * scale, f2 = f1 + scale;
        double cell = scale < sn - f1 ? scale : sn - f1;
        int s1 = (int)ceil(f1), s2 = (int)floor(f2);
        if (s2 > sn - 1) s2 = sn - 1;
        if (s1 > s2) s1 = s2;
        if (s1 - f1 > 1e-3) tab[k++] = (area_tab){(s1 - 1) * cn, d * cn, (float)((s1 - f1) / cell)};
        for (int s = s1; s < s2; s++) tab[k++] = (area_tab){s * cn, d * cn, (float)(1.0 / cell)};
        if (f2 - s2 > 1e-3) {
            double part = f2 - s2 < 1.0 ? f2 - s2 : 1.0;
            tab[k++] = (area_tab){s2 * cn, d * cn, (float)((part < cell ? part : cell) / cell)};
        }
    }
    return k;
}

/* Fractional factors: weighted sums in single precision, row by row, rounded to nearest even at the end. */
static mdk_status area_general(const uint8_t *src, int sw, int sh, int cn, uint8_t *dst, int dw, int dh, double sx,
                               double sy)
{
    area_tab *xt = mdki_malloc(((size_t)sw * 2 + 2) * sizeof *xt);
    area_tab *yt = mdki_malloc(((size_t)sh * 2 + 2) * sizeof *yt);
    float *buf = mdki_malloc((size_t)dw * cn * sizeof *buf);
    float *sum = mdki_malloc((size_t)dw * cn * sizeof *sum);
    mdk_status st = xt && yt && buf && sum ? MDK_OK : MDK_ERR_NO_MEMORY;
    if (st != MDK_OK) goto done;
    int nx = area_table(sw, dw, cn, sx, xt);
    int ny = area_table(sh, dh, 1, sy, yt);
    int width = dw * cn, prev = -1;
    for (int j = 0; j < ny; j++) {
        const uint8_t *row = src + (size_t)yt[j].si * sw * cn;
        memset(buf, 0, (size_t)width * sizeof *buf);
        for (int k = 0; k < nx; k++)
            for (int c = 0; c < cn; c++) buf[xt[k].di + c] += (float)row[xt[k].si + c] * xt[k].alpha;
        float beta = yt[j].alpha;
        if (yt[j].di != prev) {
            if (prev >= 0)
                for (int v = 0; v < width; v++) dst[(size_t)prev * width + v] = sat_u8((int)lrintf(sum[v]));
            for (int v = 0; v < width; v++) sum[v] = beta * buf[v];
            prev = yt[j].di;
        } else {
            for (int v = 0; v < width; v++) sum[v] += beta * buf[v];
        }
    }
    if (prev >= 0)
        for (int v = 0; v < width; v++) dst[(size_t)prev * width + v] = sat_u8((int)lrintf(sum[v]));
done:
    mdki_free(xt);
    mdki_free(yt);
    mdki_free(buf);
    mdki_free(sum);
    return st;
}

mdk_status mdki_area_down(const uint8_t *src, int sw, int sh, int cn, uint8_t *dst, int dw, int dh)
{
    double sx = 1.0 / ((double)dw / sw), sy = 1.0 / ((double)dh / sh);
    int kx = (int)lrint(sx), ky = (int)lrint(sy);
    if (fabs(sx - kx) < 2.220446049250313e-16 && fabs(sy - ky) < 2.220446049250313e-16) {
        area_fast(src, sw, cn, dst, dw, dh, kx, ky);
        return MDK_OK;
    }
    return area_general(src, sw, sh, cn, dst, dw, dh, sx, sy);
}
