/* image.c: JPEG (libturbojpeg) and PNG (libspng) decoding into mdk_image, with EXIF orientation, a pixel cap
 * checked before decoding, and corrupt or truncated data refused rather than half-decoded. */
#include <spng.h>
#include <string.h>
#include <turbojpeg.h>

#include "process/image_int.h"

void mdk_decode_options_init_sized(mdk_decode_options *opts, size_t size)
{
    mdk_decode_options d;
    memset(&d, 0, sizeof d);
    d.max_pixels = MDK_IMAGE_DEFAULT_MAX_PIXELS;
    d.apply_orientation = 1;
    if (!opts || size < sizeof(size_t)) return;
    if (size > sizeof d) size = sizeof d; /* a newer caller: the fields this version knows */
    d.struct_size = size;
    memcpy(opts, &d, size);
}

mdk_status mdki_image_alloc(int w, int h, int c, mdk_image **out)
{
    size_t n;
    if (w <= 0 || h <= 0 || c < 1 || c > 4 || !mdki_mul_size((size_t)w, (size_t)h, &n) || !mdki_mul_size(n, (size_t)c, &n))
        return mdki_fail(MDK_ERR_INVALID_ARGUMENT, "image size %dx%dx%d is not valid", w, h, c);
    mdk_image *img = mdki_calloc(1, sizeof *img);
    if (!img) return MDK_ERR_NO_MEMORY;
    img->px = mdki_malloc(n);
    if (!img->px) {
        mdki_free(img);
        return MDK_ERR_NO_MEMORY;
    }
    img->w = img->src_w = w;
    img->h = img->src_h = h;
    img->c = c;
    *out = img;
    return MDK_OK;
}

mdk_status mdk_image_new(int width, int height, int channels, const uint8_t *pixels, mdk_image **out)
{
    if (!pixels || !out) return mdki_fail(MDK_ERR_INVALID_ARGUMENT, "mdk_image_new: NULL argument");
    mdk_status st = mdki_image_alloc(width, height, channels, out);
    if (st == MDK_OK) memcpy((*out)->px, pixels, (size_t)width * height * channels);
    return st;
}

void mdk_image_free(mdk_image *img)
{
    if (!img) return;
    mdki_free(img->px);
    mdki_free(img);
}

int mdk_image_width(const mdk_image *img) { return img->w; }
int mdk_image_height(const mdk_image *img) { return img->h; }
int mdk_image_channels(const mdk_image *img) { return img->c; }
const uint8_t *mdk_image_pixels(const mdk_image *img) { return img->px; }
int mdk_image_source_width(const mdk_image *img) { return img->src_w; }
int mdk_image_source_height(const mdk_image *img) { return img->src_h; }

static mdk_status check_pixels(const char *what, uint64_t w, uint64_t h, const mdk_decode_options *o)
{
    if (w == 0 || h == 0) return mdki_fail(MDK_ERR_FORMAT, "%s: image has no pixels (%llux%llu)", what,
                                           (unsigned long long)w, (unsigned long long)h);
    if (w * h > o->max_pixels)
        return mdki_fail(MDK_ERR_TOO_LARGE, "%s: image is %llux%llu = %llu pixels, above the limit of %llu", what,
                         (unsigned long long)w, (unsigned long long)h, (unsigned long long)(w * h),
                         (unsigned long long)o->max_pixels);
    return MDK_OK;
}

/* ---- EXIF orientation ---- */

static unsigned rd16(const uint8_t *p, int le) { return le ? p[0] | p[1] << 8 : p[0] << 8 | p[1]; }
static unsigned long rd32(const uint8_t *p, int le)
{
    return le ? (unsigned long)p[0] | (unsigned long)p[1] << 8 | (unsigned long)p[2] << 16 | (unsigned long)p[3] << 24
              : (unsigned long)p[0] << 24 | (unsigned long)p[1] << 16 | (unsigned long)p[2] << 8 | (unsigned long)p[3];
}

/* The orientation tag (1..8) of the first APP1 Exif segment, or 1 when absent or unreadable. */
static int exif_orientation(const uint8_t *d, size_t len)
{
    size_t pos = 2;
    while (pos + 4 <= len && d[pos] == 0xFF) {
        unsigned marker = d[pos + 1];
        if (marker == 0xD9 || marker == 0xDA) break; /* end of image, start of scan */
        size_t seg = rd16(d + pos + 2, 0);
        if (seg < 2 || pos + 2 + seg > len) break;
        const uint8_t *p = d + pos + 4;
        size_t n = seg - 2;
        if (marker == 0xE1 && n >= 14 && memcmp(p, "Exif\0\0", 6) == 0) {
            const uint8_t *t = p + 6;
            size_t tn = n - 6;
            int le = t[0] == 'I' && t[1] == 'I';
            if (!le && !(t[0] == 'M' && t[1] == 'M')) return 1;
            unsigned long ifd = rd32(t + 4, le);
            if (ifd + 2 > tn) return 1;
            unsigned count = rd16(t + ifd, le);
            for (unsigned i = 0; i < count; i++) {
                unsigned long e = ifd + 2 + 12ul * i;
                if (e + 12 > tn) return 1;
                if (rd16(t + e, le) == 0x0112) {
                    unsigned v = rd16(t + e + 8, le);
                    return v >= 1 && v <= 8 ? (int)v : 1;
                }
            }
            return 1;
        }
        pos += 2 + seg;
    }
    return 1;
}

/* Applies EXIF orientation o (2..8) to `img`, replacing its pixels. */
static mdk_status orient(mdk_image *img, int o)
{
    int w = img->w, h = img->h, c = img->c;
    int swap = o >= 5; /* 5..8 transpose */
    int nw = swap ? h : w, nh = swap ? w : h;
    uint8_t *out = mdki_malloc((size_t)w * h * c);
    if (!out) return MDK_ERR_NO_MEMORY;
    for (int y = 0; y < nh; y++)
        for (int x = 0; x < nw; x++) {
            int sx, sy;
            switch (o) {
            case 2: sx = w - 1 - x; sy = y; break;          /* mirror horizontal */
            case 3: sx = w - 1 - x; sy = h - 1 - y; break;  /* rotate 180 */
            case 4: sx = x; sy = h - 1 - y; break;          /* mirror vertical */
            case 5: sx = y; sy = x; break;                  /* transpose */
            case 6: sx = y; sy = h - 1 - x; break;          /* rotate 90 clockwise */
            case 7: sx = w - 1 - y; sy = h - 1 - x; break;  /* transverse */
            default: sx = w - 1 - y; sy = x; break;         /* 8: rotate 270 clockwise */
            }
            memcpy(out + ((size_t)y * nw + x) * c, img->px + ((size_t)sy * w + sx) * c, (size_t)c);
        }
    mdki_free(img->px);
    img->px = out;
    img->w = nw;
    img->h = nh;
    int t = img->src_w;
    if (swap) img->src_w = img->src_h, img->src_h = t;
    return MDK_OK;
}

/* ---- JPEG ---- */

static mdk_status decode_jpeg(const uint8_t *d, size_t len, const char *what, const mdk_decode_options *o, mdk_image **out)
{
    tjhandle tj = tjInitDecompress();
    if (!tj) return mdki_fail(MDK_ERR_NO_MEMORY, "out of memory (JPEG decoder)");
    mdk_image *img = NULL;
    mdk_status st = MDK_OK;
    int w = 0, h = 0, subsamp = 0, cs = TJCS_RGB; /* a tables-only JPEG succeeds without setting them */
    if (tjDecompressHeader3(tj, d, (unsigned long)len, &w, &h, &subsamp, &cs) != 0) {
        st = mdki_fail(MDK_ERR_FORMAT, "%s: corrupt JPEG header (%s)", what, tjGetErrorStr2(tj));
        goto done;
    }
    if ((st = check_pixels(what, (uint64_t)w, (uint64_t)h, o)) != MDK_OK) goto done;
    if (cs == TJCS_CMYK || cs == TJCS_YCCK) {
        st = mdki_fail(MDK_ERR_UNSUPPORTED, "%s: CMYK JPEGs are not supported, expected grayscale or color", what);
        goto done;
    }
    int ow = w, oh = h;
    if (o->min_width > 0 || o->min_height > 0) { /* the smallest DCT scaling that still covers the target */
        int n;
        tjscalingfactor *sf = tjGetScalingFactors(&n);
        for (int i = 0; sf && i < n; i++) {
            if (sf[i].num != 1 || (sf[i].denom != 2 && sf[i].denom != 4 && sf[i].denom != 8)) continue;
            int sw = TJSCALED(w, sf[i]), sh = TJSCALED(h, sf[i]);
            if (sw >= o->min_width && sh >= o->min_height && sw < ow) ow = sw, oh = sh;
        }
    }
    int c = cs == TJCS_GRAY ? 1 : 3;
    if ((st = mdki_image_alloc(ow, oh, c, &img)) != MDK_OK) goto done;
    img->src_w = w;
    img->src_h = h;
    if (tjDecompress2(tj, d, (unsigned long)len, img->px, ow, 0, oh, c == 1 ? TJPF_GRAY : TJPF_RGB,
                      TJFLAG_STOPONWARNING) != 0) {
        st = mdki_fail(MDK_ERR_FORMAT, "%s: corrupt or truncated JPEG (%s)", what, tjGetErrorStr2(tj));
        goto done;
    }
    if (o->apply_orientation) {
        int orientation = exif_orientation(d, len);
        if (orientation > 1 && (st = orient(img, orientation)) != MDK_OK) goto done;
    }
    *out = img;
    img = NULL;
done:
    mdk_image_free(img);
    tjDestroy(tj);
    return st;
}

/* ---- PNG ---- */

static mdk_status decode_png(const uint8_t *d, size_t len, const char *what, const mdk_decode_options *o, mdk_image **out)
{
    spng_ctx *ctx = spng_ctx_new(0);
    if (!ctx) return mdki_fail(MDK_ERR_NO_MEMORY, "out of memory (PNG decoder)");
    mdk_image *img = NULL;
    mdk_status st = MDK_OK;
    struct spng_ihdr ih;
    int r;
    spng_set_crc_action(ctx, SPNG_CRC_ERROR, SPNG_CRC_ERROR);
    spng_set_chunk_limits(ctx, 16u << 20, 64u << 20);
    if ((r = spng_set_png_buffer(ctx, d, len)) != 0 || (r = spng_get_ihdr(ctx, &ih)) != 0) {
        st = mdki_fail(MDK_ERR_FORMAT, "%s: corrupt PNG header (%s)", what, spng_strerror(r));
        goto done;
    }
    if ((st = check_pixels(what, ih.width, ih.height, o)) != MDK_OK) goto done;
    struct spng_trns trns;
    int alpha = ih.color_type == SPNG_COLOR_TYPE_TRUECOLOR_ALPHA || ih.color_type == SPNG_COLOR_TYPE_GRAYSCALE_ALPHA ||
                spng_get_trns(ctx, &trns) == 0;
    int gray = ih.color_type == SPNG_COLOR_TYPE_GRAYSCALE && !alpha && ih.bit_depth <= 8;
    int fmt = alpha ? SPNG_FMT_RGBA8 : gray ? SPNG_FMT_G8 : SPNG_FMT_RGB8;
    int c = alpha ? 4 : gray ? 1 : 3;
    if ((st = mdki_image_alloc((int)ih.width, (int)ih.height, c, &img)) != MDK_OK) goto done;
    if ((r = spng_decode_image(ctx, img->px, (size_t)ih.width * ih.height * c, fmt, SPNG_DECODE_TRNS)) != 0) {
        st = mdki_fail(MDK_ERR_FORMAT, "%s: corrupt or truncated PNG (%s)", what, spng_strerror(r));
        goto done;
    }
    *out = img;
    img = NULL;
done:
    mdk_image_free(img);
    spng_ctx_free(ctx);
    return st;
}

mdk_status mdk_image_decode(const void *data, size_t len, const char *what, const mdk_decode_options *opts,
                            mdk_image **out)
{
    mdk_decode_options def;
    if (!opts) {
        mdk_decode_options_init(&def);
        opts = &def;
    }
    if (!what) what = "image";
    if ((!data && len) || !out) return mdki_fail(MDK_ERR_INVALID_ARGUMENT, "mdk_image_decode: NULL argument");
    const uint8_t *d = data;
    if (len == 0) return mdki_fail(MDK_ERR_FORMAT, "%s: empty file, expected a JPEG or PNG image", what);
    if (len >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF) return decode_jpeg(d, len, what, opts, out);
    if (len >= 8 && memcmp(d, "\x89PNG\r\n\x1a\n", 8) == 0) return decode_png(d, len, what, opts, out);
    return mdki_fail(MDK_ERR_FORMAT, "%s: not a JPEG or PNG image", what);
}

mdk_status mdk_image_read(const char *path, const mdk_decode_options *opts, mdk_image **out)
{
    char *data;
    size_t len;
    if (!path || !out) return mdki_fail(MDK_ERR_INVALID_ARGUMENT, "mdk_image_read: NULL argument");
    mdk_status st = mdki_read_file(path, MDK_IMAGE_MAX_FILE_BYTES, "image", &data, &len);
    if (st != MDK_OK) return st;
    st = mdk_image_decode(data, len, path, opts, out);
    mdki_free(data);
    return st;
}
