/* test_process.c: unit tests of image decoding, resizing, preprocessing, postprocessing, the pipeline and bundle
 * opening, with expected values computed here or taken from OpenCV, and allocation failures injected into each. */
#define _XOPEN_SOURCE 700 /* nftw */
#include <ftw.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "bundle/bundle_int.h"
#include "process/postprocess.h"
#include "process/process_int.h"
#include "tensor/tensor_int.h"

static void assert_contains(const char *haystack, const char *needle)
{
    if (!strstr(haystack, needle)) fail_msg("'%s' lacks '%s'", haystack, needle);
}

/* A directory named by an environment variable the test registration sets; missing data fails the test. */
static const char *data_dir(const char *var)
{
    const char *d = getenv(var);
    struct stat sb;
    if (!d || stat(d, &sb) != 0 || !S_ISDIR(sb.st_mode))
        fail_msg("%s is %s: run through ctest (tests/CMakeLists.txt sets it), the test data must be installed", var,
                 d ? d : "not set");
    return d;
}

static char *data_path(const char *var, const char *name)
{
    char *p = malloc(4200);
    assert_non_null(p);
    snprintf(p, 4200, "%s/%s", data_dir(var), name);
    struct stat sb;
    if (stat(p, &sb) != 0) fail_msg("test data '%s' is missing", p);
    return p;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    if (!f) fail_msg("cannot write '%s'", path);
    fputs(text, f);
    fclose(f);
}

static char *read_whole(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("cannot read '%s'", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *d = malloc((size_t)n + 1);
    assert_non_null(d);
    assert_int_equal(fread(d, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return d;
}

/* ---- a PNG encoder for test images: stored (uncompressed) deflate blocks, so the pixels are known exactly ---- */

static uint32_t crc32_of(const uint8_t *p, size_t n, uint32_t crc)
{
    crc = ~crc;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++) crc = crc & 1 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
    }
    return ~crc;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static size_t chunk(uint8_t *out, const char *type, const uint8_t *data, size_t n)
{
    put32(out, (uint32_t)n);
    memcpy(out + 4, type, 4);
    if (n) memcpy(out + 8, data, n);
    put32(out + 8 + n, crc32_of(out + 4, n + 4, 0));
    return n + 12;
}

/* color_type 0 (gray, 1 channel), 2 (RGB, 3) or 6 (RGBA, 4); the image must be small (one stored block). */
static uint8_t *make_png(int w, int h, int color_type, const uint8_t *px, size_t *len)
{
    int c = color_type == 0 ? 1 : color_type == 2 ? 3 : 4;
    size_t raw_n = (size_t)h * (1 + (size_t)w * c);
    assert_true(raw_n < 65536);
    uint8_t *raw = malloc(raw_n), *z = malloc(raw_n + 11), *out = malloc(raw_n + 100);
    assert_true(raw && z && out);
    for (int y = 0; y < h; y++) {
        raw[(size_t)y * (1 + w * c)] = 0; /* filter: none */
        memcpy(raw + (size_t)y * (1 + w * c) + 1, px + (size_t)y * w * c, (size_t)w * c);
    }
    uint32_t a = 1, b = 0;
    for (size_t i = 0; i < raw_n; i++) a = (a + raw[i]) % 65521, b = (b + a) % 65521;
    z[0] = 0x78, z[1] = 0x01, z[2] = 0x01; /* zlib header, one final stored block */
    z[3] = (uint8_t)raw_n, z[4] = (uint8_t)(raw_n >> 8), z[5] = (uint8_t)~raw_n, z[6] = (uint8_t)(~raw_n >> 8);
    memcpy(z + 7, raw, raw_n);
    put32(z + 7 + raw_n, b << 16 | a);
    uint8_t ihdr[13];
    put32(ihdr, (uint32_t)w);
    put32(ihdr + 4, (uint32_t)h);
    ihdr[8] = 8, ihdr[9] = (uint8_t)color_type, ihdr[10] = ihdr[11] = ihdr[12] = 0;
    memcpy(out, "\x89PNG\r\n\x1a\n", 8);
    size_t n = 8;
    n += chunk(out + n, "IHDR", ihdr, 13);
    n += chunk(out + n, "IDAT", z, raw_n + 11);
    n += chunk(out + n, "IEND", NULL, 0);
    free(raw);
    free(z);
    *len = n;
    return out;
}

static uint8_t pattern(int x, int y, int c)
{
    return (uint8_t)((x * 40 + y * 90 + c * 17 + 5) % 256);
}

static mdk_image *pattern_image(int w, int h, int c)
{
    uint8_t *px = malloc((size_t)w * h * c);
    assert_non_null(px);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int k = 0; k < c; k++) px[((size_t)y * w + x) * c + k] = pattern(x, y, k);
    mdk_image *img;
    assert_int_equal(mdk_image_new(w, h, c, px, &img), MDK_OK);
    free(px);
    return img;
}

static mdk_spec *spec_of(const char *yaml)
{
    mdk_spec *s = NULL;
    mdk_status st = mdki_spec_parse(yaml, strlen(yaml), "test.yaml", NULL, NULL, &s);
    if (st != MDK_OK) fail_msg("spec refused: %s", mdk_errmsg());
    return s;
}

/* ---- decoding ---- */

static void test_decode_built_png(void **state)
{
    (void)state;
    static const int types[] = {0, 2, 6};
    for (int t = 0; t < 3; t++) {
        int c = types[t] == 0 ? 1 : types[t] == 2 ? 3 : 4, w = 7, h = 5;
        uint8_t px[7 * 5 * 4];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                for (int k = 0; k < c; k++) px[(y * w + x) * c + k] = pattern(x, y, k);
        size_t len;
        uint8_t *png = make_png(w, h, types[t], px, &len);
        mdk_image *img = NULL;
        assert_int_equal(mdk_image_decode(png, len, "built.png", NULL, &img), MDK_OK);
        assert_int_equal(mdk_image_width(img), w);
        assert_int_equal(mdk_image_height(img), h);
        assert_int_equal(mdk_image_channels(img), c);
        assert_int_equal(mdk_image_source_width(img), w);
        assert_memory_equal(mdk_image_pixels(img), px, (size_t)w * h * c);
        mdk_image_free(img);

        /* the pixel cap is checked before decoding: exactly w*h passes, one less is refused */
        mdk_decode_options o;
        mdk_decode_options_init(&o);
        o.max_pixels = (uint64_t)w * h;
        assert_int_equal(mdk_image_decode(png, len, "built.png", &o, &img), MDK_OK);
        mdk_image_free(img);
        img = NULL;
        o.max_pixels--;
        assert_int_equal(mdk_image_decode(png, len, "built.png", &o, &img), MDK_ERR_TOO_LARGE);
        assert_null(img);
        assert_contains(mdk_errmsg(), "built.png: image is 7x5 = 35 pixels, above the limit of 34");

        /* a changed byte in the pixel data breaks its CRC; a cut file is truncated */
        png[60] ^= 0x10;
        assert_int_equal(mdk_image_decode(png, len, "bad.png", NULL, &img), MDK_ERR_FORMAT);
        assert_null(img);
        assert_contains(mdk_errmsg(), "bad.png: corrupt or truncated PNG");
        png[60] ^= 0x10;
        assert_int_equal(mdk_image_decode(png, 40, "cut.png", NULL, &img), MDK_ERR_FORMAT);
        assert_null(img);
        assert_contains(mdk_errmsg(), "cut.png: corrupt");
        free(png);
    }
    mdk_image *img = NULL;
    assert_int_equal(mdk_image_decode("", 0, "e", NULL, &img), MDK_ERR_FORMAT);
    assert_contains(mdk_errmsg(), "e: empty file, expected a JPEG or PNG image");
    assert_int_equal(mdk_image_decode("GIF89a....", 10, "g.gif", NULL, &img), MDK_ERR_FORMAT);
    assert_contains(mdk_errmsg(), "g.gif: not a JPEG or PNG image");
    /* libturbojpeg reads a JPEG without a frame (only SOI and EOI, or cut before its frame) as a tables-only
     * stream and reports success without a size */
    assert_int_equal(mdk_image_decode("\xff\xd8\xff\xd9", 4, "tables.jpg", NULL, &img), MDK_ERR_FORMAT);
    assert_contains(mdk_errmsg(), "tables.jpg: image has no pixels (0x0)");
    assert_int_equal(mdk_image_decode("\xff\xd8\xff\xe0garbage", 11, "j.jpg", NULL, &img), MDK_ERR_FORMAT);
    assert_contains(mdk_errmsg(), "j.jpg: ");
    assert_int_equal(mdk_image_decode("\xff\xd8\xff\xc0\x00\x02", 6, "sof.jpg", NULL, &img), MDK_ERR_FORMAT);
    assert_contains(mdk_errmsg(), "sof.jpg: corrupt JPEG header");
    assert_null(img);
    uint8_t px[4] = {0};
    assert_int_equal(mdk_image_new(0, 1, 3, px, &img), MDK_ERR_INVALID_ARGUMENT);
    assert_int_equal(mdk_image_new(1, 1, 5, px, &img), MDK_ERR_INVALID_ARGUMENT);
    assert_null(img);
}

/* Pixels of skimage's sample photos as cv2.imread gives them (RGB order), at (y, x). */
typedef struct ref_px {
    int y, x;
    uint8_t v[3];
} ref_px;

static void check_photo(const char *name, int w, int h, int c, const ref_px *refs, size_t n, int tol)
{
    char *path = data_path("MDK_IMAGE_DATA", name);
    mdk_image *img = NULL;
    mdk_status st = mdk_image_read(path, NULL, &img);
    if (st != MDK_OK) fail_msg("%s: %s", path, mdk_errmsg());
    assert_int_equal(mdk_image_width(img), w);
    assert_int_equal(mdk_image_height(img), h);
    assert_int_equal(mdk_image_channels(img), c);
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < c; k++) {
            int got = mdk_image_pixels(img)[((size_t)refs[i].y * w + refs[i].x) * c + k];
            if (abs(got - refs[i].v[k]) > tol)
                fail_msg("%s (%d, %d) channel %d: %d, OpenCV %d", name, refs[i].y, refs[i].x, k, got, refs[i].v[k]);
        }
    mdk_image_free(img);
    free(path);
}

static void test_decode_photos(void **state)
{
    (void)state;
    /* PNG is lossless: exact; JPEG decoders may differ in the last bit of the IDCT */
    static const ref_px chelsea[] = {{0, 0, {143, 120, 104}}, {10, 20, {151, 129, 115}}, {100, 200, {76, 39, 13}},
                                     {299, 450, {162, 138, 128}}};
    check_photo("chelsea.png", 451, 300, 3, chelsea, 4, 0);
    static const ref_px camera[] = {{0, 0, {200}}, {10, 20, {200}}, {100, 200, {54}}, {511, 511, {149}}};
    check_photo("camera.png", 512, 512, 1, camera, 4, 0);
    static const ref_px rocket[] = {{0, 0, {17, 33, 58}}, {10, 20, {20, 36, 62}}, {100, 200, {43, 57, 92}},
                                    {426, 639, {83, 61, 37}}};
    check_photo("rocket.jpg", 640, 427, 3, rocket, 4, 1);

    /* the JPEG fast path: the smallest DCT scale (1/2, 1/4, 1/8) still covering 100x100 is 1/4 */
    char *path = data_path("MDK_IMAGE_DATA", "rocket.jpg");
    mdk_decode_options o;
    mdk_decode_options_init(&o);
    o.min_width = o.min_height = 100;
    mdk_image *img = NULL;
    assert_int_equal(mdk_image_read(path, &o, &img), MDK_OK);
    assert_int_equal(mdk_image_width(img), 160);
    assert_int_equal(mdk_image_height(img), 107); /* ceil(427 / 4) */
    assert_int_equal(mdk_image_source_width(img), 640);
    assert_int_equal(mdk_image_source_height(img), 427);
    mdk_image_free(img);
    free(path);
}

/* `jpg` with an APP1 Exif segment carrying `orientation` inserted after its SOI marker (a new buffer). */
static uint8_t *with_orientation(const char *jpg, size_t len, int orientation, size_t *out_len)
{
    static const uint8_t app1[] = {0xFF, 0xE1, 0, 34, 'E', 'x', 'i', 'f', 0, 0,
                                   'M', 'M', 0, 42, 0, 0, 0, 8,            /* TIFF header, big-endian, IFD at 8 */
                                   0, 1,                                    /* one entry */
                                   0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 0, 0, 0, /* Orientation, SHORT, 1 value */
                                   0, 0, 0, 0};
    uint8_t *d = malloc(len + sizeof app1);
    assert_non_null(d);
    memcpy(d, jpg, 2);
    memcpy(d + 2, app1, sizeof app1);
    d[2 + 29] = (uint8_t)orientation;
    memcpy(d + 2 + sizeof app1, jpg + 2, len - 2);
    *out_len = len + sizeof app1;
    return d;
}

static void test_decode_exif_orientation(void **state)
{
    (void)state;
    char *path = data_path("MDK_IMAGE_DATA", "rocket.jpg");
    size_t len, olen;
    char *jpg = read_whole(path, &len);
    mdk_image *plain = NULL;
    assert_int_equal(mdk_image_decode(jpg, len, "plain", NULL, &plain), MDK_OK);
    const int w = mdk_image_width(plain), h = mdk_image_height(plain);
    const uint8_t *p = mdk_image_pixels(plain);
    for (int o = 1; o <= 8; o++) {
        uint8_t *d = with_orientation(jpg, len, o, &olen);
        mdk_image *img = NULL;
        assert_int_equal(mdk_image_decode(d, olen, "exif", NULL, &img), MDK_OK);
        int swap = o >= 5, nw = swap ? h : w, nh = swap ? w : h;
        assert_int_equal(mdk_image_width(img), nw);
        assert_int_equal(mdk_image_height(img), nh);
        assert_int_equal(mdk_image_source_width(img), nw);
        /* where output pixel (x, y) comes from, per the EXIF definition of each orientation */
        for (int y = 0; y < nh; y += 37)
            for (int x = 0; x < nw; x += 41) {
                int sx = o == 1 || o == 4 ? x : o == 2 || o == 3 ? w - 1 - x : o == 5 || o == 6 ? y : w - 1 - y;
                int sy = o == 1 || o == 2 ? y : o == 3 || o == 4 ? h - 1 - y : o == 5 || o == 8 ? x : h - 1 - x;
                assert_memory_equal(mdk_image_pixels(img) + ((size_t)y * nw + x) * 3, p + ((size_t)sy * w + sx) * 3, 3);
            }
        mdk_image_free(img);
        /* ignored when asked to */
        mdk_decode_options opts;
        mdk_decode_options_init(&opts);
        opts.apply_orientation = 0;
        assert_int_equal(mdk_image_decode(d, olen, "exif", &opts, &img), MDK_OK);
        assert_int_equal(mdk_image_width(img), w);
        assert_memory_equal(mdk_image_pixels(img), p, (size_t)w * h * 3);
        mdk_image_free(img);
        free(d);
    }
    mdk_image_free(plain);
    free(jpg);
    free(path);
}

/* ---- resizing ---- */

static void test_resize_known_values(void **state)
{
    (void)state;
    uint8_t src[16], dst[64];
    for (int i = 0; i < 16; i++) src[i] = (uint8_t)(i * 16 + 3);
    /* cv2.resize(src, (w, h), interpolation=...) with OpenCV 4.x */
    static const struct {
        mdki_interp interp;
        int w, h;
        uint8_t v[30];
    } cv[] = {
        {MDKI_INTERP_NEAREST, 3, 3, {3, 19, 35, 67, 83, 99, 131, 147, 163}},
        {MDKI_INTERP_BILINEAR, 3, 3, {16, 38, 59, 102, 123, 144, 187, 208, 230}},
        {MDKI_INTERP_BILINEAR, 6, 5, {3, 11, 21, 32, 43, 51, 48, 56, 66, 77, 88, 96, 99, 107, 118,
                                      128, 139, 147, 150, 158, 169, 180, 190, 198, 195, 203, 214, 224, 235, 243}},
        {MDKI_INTERP_BICUBIC, 2, 2, {36, 71, 176, 211}},
        {MDKI_INTERP_BICUBIC, 6, 5, {0, 6, 19, 28, 41, 48, 41, 49, 61, 71, 84, 91, 98, 106, 118,
                                     128, 141, 148, 154, 162, 175, 184, 197, 205, 197, 205, 218, 227, 240, 248}},
        {MDKI_INTERP_AREA, 3, 3, {23, 43, 63, 103, 123, 143, 183, 203, 223}},
        {MDKI_INTERP_AREA, 6, 5, {3, 11, 19, 35, 43, 51, 51, 59, 67, 83, 91, 99, 99, 107, 115,
                                  131, 139, 147, 147, 155, 163, 179, 187, 195, 195, 203, 211, 227, 235, 243}},
    };
    for (size_t i = 0; i < sizeof cv / sizeof cv[0]; i++) {
        assert_int_equal(mdki_resize(src, 4, 4, 1, dst, cv[i].w, cv[i].h, cv[i].interp), MDK_OK);
        for (int k = 0; k < cv[i].w * cv[i].h; k++)
            if (dst[k] != cv[i].v[k])
                fail_msg("case %zu (%dx%d interp %d) value %d: %d, OpenCV %d", i, cv[i].w, cv[i].h, cv[i].interp, k,
                         dst[k], cv[i].v[k]);
    }

    /* computed here: nearest takes source floor(d * 2) for a 2x reduction; bilinear and area average each
     * 2x2 cell (OpenCV rounds half up there); the same size is a copy, on 3 channels too */
    uint8_t rgb[8 * 6 * 3], out[8 * 6 * 3];
    for (int i = 0; i < 8 * 6 * 3; i++) rgb[i] = (uint8_t)(i * 37 % 251);
    assert_int_equal(mdki_resize(rgb, 8, 6, 3, out, 4, 3, MDKI_INTERP_NEAREST), MDK_OK);
    for (int y = 0; y < 3; y++)
        for (int x = 0; x < 4; x++)
            for (int c = 0; c < 3; c++) assert_int_equal(out[(y * 4 + x) * 3 + c], rgb[(2 * y * 8 + 2 * x) * 3 + c]);
    for (int interp = MDKI_INTERP_BILINEAR; interp <= MDKI_INTERP_AREA; interp += 2) {
        assert_int_equal(mdki_resize(rgb, 8, 6, 3, out, 4, 3, (mdki_interp)interp), MDK_OK);
        for (int y = 0; y < 3; y++)
            for (int x = 0; x < 4; x++)
                for (int c = 0; c < 3; c++) {
                    int sum = 0;
                    for (int j = 0; j < 2; j++)
                        for (int i = 0; i < 2; i++) sum += rgb[((2 * y + j) * 8 + 2 * x + i) * 3 + c];
                    assert_int_equal(out[(y * 4 + x) * 3 + c], (sum + 2) / 4);
                }
    }
    assert_int_equal(mdki_resize(rgb, 8, 6, 3, out, 8, 6, MDKI_INTERP_BICUBIC), MDK_OK);
    assert_memory_equal(out, rgb, sizeof rgb);
    assert_int_equal(mdki_resize(rgb, 8, 6, 5, out, 4, 3, MDKI_INTERP_BILINEAR), MDK_ERR_INVALID_ARGUMENT);
    assert_int_equal(mdki_resize(rgb, 0, 6, 3, out, 4, 3, MDKI_INTERP_BILINEAR), MDK_ERR_INVALID_ARGUMENT);
}

/* ---- preprocessing ---- */

static void test_preprocess_values(void **state)
{
    (void)state;
    const int w = 4, h = 2;
    mdk_image *imgs[2] = {pattern_image(w, h, 3), pattern_image(w, h, 3)};
    static const double mean[3] = {0.5, 0.4, 0.3}, sd[3] = {0.2, 0.25, 0.5};
    for (int variant = 0; variant < 2; variant++) {
        mdk_spec *s = spec_of(variant == 0 ? "preprocess:\n  input: pixels\n  steps:\n    - scale: 1/255\n"
                                             "    - normalize: {mean: [0.5, 0.4, 0.3], std: [0.2, 0.25, 0.5]}\n"
                                           : "preprocess:\n  steps:\n    - scale: 1/255\n"
                                             "    - normalize: {mean: [0.5, 0.4, 0.3], std: [0.2, 0.25, 0.5]}\n"
                                             "  layout: NHWC\n  dtype: float16\n");
        mdk_tensor *t = NULL;
        mdk_prep_info *info = NULL;
        assert_int_equal(mdk_preprocess(s, imgs, 2, &t, &info), MDK_OK);
        int nhwc = variant == 1;
        assert_int_equal(mdk_tensor_dtype(t), nhwc ? MDK_DTYPE_FLOAT16 : MDK_DTYPE_FLOAT32);
        assert_int_equal(mdk_tensor_ndim(t), 4);
        const int64_t *shape = mdk_tensor_shape(t);
        int64_t want[4] = {2, nhwc ? h : 3, nhwc ? w : h, nhwc ? 3 : w};
        for (int i = 0; i < 4; i++) assert_true(shape[i] == want[i]);
        assert_string_equal(mdk_tensor_name(t), nhwc ? "" : "pixels");
        for (int k = 0; k < 2; k++)
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                    for (int c = 0; c < 3; c++) {
                        double expect = (pattern(x, y, c) / 255.0 - mean[c]) / sd[c];
                        size_t idx = nhwc ? (((size_t)k * h + y) * w + x) * 3 + c : (((size_t)k * 3 + c) * h + y) * w + x;
                        double got = mdk_tensor_get_f64(t, idx), tol = nhwc ? 2e-3 * fmax(1, fabs(expect)) : 1e-5;
                        if (fabs(got - expect) > tol) fail_msg("variant %d [%zu]: %g, expected %g", variant, idx, got, expect);
                    }
        assert_int_equal(mdk_prep_info_count(info), 2);
        assert_true(info->maps[1].orig_w == w && info->maps[1].in_h == h && info->maps[1].ax == 1 && info->maps[1].by == 0);
        mdk_tensor_free(t);
        mdk_prep_info_free(info);
        mdk_spec_free(s);
    }

    /* uint8 in BGR order, NHWC: the pixels themselves, channels reversed */
    mdk_spec *s = spec_of("preprocess: {steps: [{color: BGR}], layout: NHWC, dtype: uint8}\n");
    mdk_tensor *t = NULL;
    assert_int_equal(mdk_preprocess(s, imgs, 1, &t, NULL), MDK_OK);
    const uint8_t *u8 = mdk_tensor_data(t);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < 3; c++) assert_int_equal(u8[(y * w + x) * 3 + c], pattern(x, y, 2 - c));
    mdk_tensor_free(t);
    mdk_spec_free(s);

    /* gray: the luma 0.299 R + 0.587 G + 0.114 B, rounded (OpenCV's fixed point may differ by one) */
    s = spec_of("preprocess: {steps: [{color: GRAY}], dtype: uint8}\n");
    assert_int_equal(mdk_preprocess(s, imgs, 1, &t, NULL), MDK_OK);
    assert_true(mdk_tensor_shape(t)[1] == 1);
    u8 = mdk_tensor_data(t);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            double l = 0.299 * pattern(x, y, 0) + 0.587 * pattern(x, y, 1) + 0.114 * pattern(x, y, 2);
            assert_true(fabs(u8[y * w + x] - l) <= 1.0);
        }
    mdk_tensor_free(t);
    mdk_spec_free(s);

    /* images of different sizes need a resize step; a spec without preprocessing cannot take images */
    mdk_image *odd[2] = {imgs[0], pattern_image(3, 2, 3)};
    s = spec_of("preprocess: {}\n");
    assert_int_equal(mdk_preprocess(s, odd, 2, &t, NULL), MDK_ERR_MISMATCH);
    assert_contains(mdk_errmsg(), "image 1 becomes 3x2x3 but image 0 became 4x2x3; add a resize step");
    mdk_spec_free(s);
    s = spec_of("preprocess: {steps: [{normalize: {mean: [1, 2]}}]}\n");
    assert_int_equal(mdk_preprocess(s, imgs, 1, &t, NULL), MDK_ERR_MISMATCH);
    assert_contains(mdk_errmsg(), "normalize gives 2 values per channel but the image has 3 channels");
    mdk_spec_free(s);
    s = spec_of("name: raw\n");
    assert_int_equal(mdk_preprocess(s, imgs, 1, &t, NULL), MDK_ERR_NOT_FOUND);
    assert_contains(mdk_errmsg(), "declares no preprocess section");
    assert_int_equal(mdk_preprocess(s, imgs, 0, &t, NULL), MDK_ERR_INVALID_ARGUMENT);
    mdk_spec_free(s);
    mdk_image_free(odd[1]);
    mdk_image_free(imgs[0]);
    mdk_image_free(imgs[1]);
}

static void test_preprocess_geometry(void **state)
{
    (void)state;
    mdk_image *img = pattern_image(4, 2, 3);
    mdk_tensor *t = NULL;
    mdk_prep_info *info = NULL;

    /* letterbox 4x2 into 4x4: no scaling, one padding row above and below */
    mdk_spec *s = spec_of("preprocess: {steps: [{letterbox: {width: 4, height: 4, pad: 9}}], layout: NHWC, dtype: uint8}\n");
    assert_int_equal(mdk_preprocess(s, &img, 1, &t, &info), MDK_OK);
    const uint8_t *u8 = mdk_tensor_data(t);
    for (int y = 0; y < 4; y++)
        for (int x = 0; x < 4; x++)
            for (int c = 0; c < 3; c++)
                assert_int_equal(u8[(y * 4 + x) * 3 + c], y == 0 || y == 3 ? 9 : pattern(x, y - 1, c));
    const mdki_prep_map *m = &info->maps[0];
    assert_true(m->ax == 1 && m->bx == 0 && m->ay == 1 && m->by == 1 && m->in_w == 4 && m->in_h == 4);
    mdk_tensor_free(t);
    mdk_prep_info_free(info);
    mdk_spec_free(s);

    /* centre crop 2x2 of 4x2: columns 1 and 2 */
    s = spec_of("preprocess: {steps: [{center_crop: {width: 2, height: 2}}], layout: NHWC, dtype: uint8}\n");
    assert_int_equal(mdk_preprocess(s, &img, 1, &t, &info), MDK_OK);
    u8 = mdk_tensor_data(t);
    for (int y = 0; y < 2; y++)
        for (int x = 0; x < 2; x++)
            for (int c = 0; c < 3; c++) assert_int_equal(u8[(y * 2 + x) * 3 + c], pattern(x + 1, y, c));
    assert_true(info->maps[0].bx == -1 && info->maps[0].by == 0);
    mdk_tensor_free(t);
    mdk_prep_info_free(info);
    mdk_spec_free(s);

    /* resize to half: the 2x2 cells' means; the map scales by 1/2 */
    s = spec_of("preprocess: {steps: [{resize: {width: 2, height: 1}}], dtype: uint8}\n");
    assert_int_equal(mdk_preprocess(s, &img, 1, &t, &info), MDK_OK);
    u8 = mdk_tensor_data(t);
    for (int x = 0; x < 2; x++)
        for (int c = 0; c < 3; c++) {
            int sum = pattern(2 * x, 0, c) + pattern(2 * x + 1, 0, c) + pattern(2 * x, 1, c) + pattern(2 * x + 1, 1, c);
            assert_int_equal(u8[c * 2 + x], (sum + 2) / 4);
        }
    assert_true(info->maps[0].ax == 0.5 && info->maps[0].ay == 0.5);
    mdk_tensor_free(t);
    mdk_prep_info_free(info);

    /* shorter side to 4 keeps the aspect: 4x2 becomes 8x4 */
    mdk_spec_free(s);
    s = spec_of("preprocess: {steps: [{resize: {shorter_side: 4, interpolation: nearest}}], dtype: uint8}\n");
    assert_int_equal(mdk_preprocess(s, &img, 1, &t, NULL), MDK_OK);
    assert_true(mdk_tensor_shape(t)[2] == 4 && mdk_tensor_shape(t)[3] == 8);
    mdk_tensor_free(t);
    mdk_spec_free(s);

    /* RGBA loses its alpha, gray becomes three equal channels */
    s = spec_of("preprocess: {dtype: uint8, layout: NHWC}\n");
    mdk_image *rgba = pattern_image(2, 2, 4), *gray = pattern_image(2, 2, 1);
    assert_int_equal(mdk_preprocess(s, &rgba, 1, &t, NULL), MDK_OK);
    u8 = mdk_tensor_data(t);
    assert_true(mdk_tensor_shape(t)[3] == 3);
    for (int i = 0; i < 4; i++)
        for (int c = 0; c < 3; c++) assert_int_equal(u8[i * 3 + c], pattern(i % 2, i / 2, c));
    mdk_tensor_free(t);
    assert_int_equal(mdk_preprocess(s, &gray, 1, &t, NULL), MDK_OK);
    u8 = mdk_tensor_data(t);
    for (int i = 0; i < 4; i++)
        for (int c = 0; c < 3; c++) assert_int_equal(u8[i * 3 + c], pattern(i % 2, i / 2, 0));
    mdk_tensor_free(t);
    mdk_spec_free(s);
    mdk_image_free(rgba);
    mdk_image_free(gray);
    mdk_image_free(img);
}

/* ---- postprocessing ---- */

static mdk_tensor *f32_tensor(const char *name, size_t ndim, const int64_t *shape, const float *v)
{
    mdk_tensor *t;
    assert_int_equal(mdk_tensor_new(MDK_DTYPE_FLOAT32, ndim, shape, &t), MDK_OK);
    memcpy(mdk_tensor_mutable_data(t), v, mdk_tensor_nbytes(t));
    assert_int_equal(mdk_tensor_set_name(t, name), MDK_OK);
    return t;
}

static void expect_json(const mdk_spec *s, mdk_tensor *const *outs, size_t n, const mdk_prep_info *info,
                        const char *const *names, const char *want)
{
    char *json = NULL;
    mdk_status st = mdk_postprocess(s, outs, n, info, names, &json);
    if (st != MDK_OK) fail_msg("postprocess: %s", mdk_errmsg());
    if (strcmp(json, want) != 0) fail_msg("got\n%s\nexpected\n%s", json, want);
    mdk_free(json);
}

static void test_classification(void **state)
{
    (void)state;
    const float logits[8] = {1.0f, 3.0f, 0.5f, 2.0f, -1.0f, 0.0f, 4.0f, 0.0f};
    const int64_t shape[2] = {2, 4};
    mdk_tensor *t = f32_tensor("logits", 2, shape, logits);
    /* softmax computed here, top 2 of each row */
    double p[8];
    for (int r = 0; r < 2; r++) {
        double sum = 0;
        for (int i = 0; i < 4; i++) sum += exp(logits[r * 4 + i]);
        for (int i = 0; i < 4; i++) p[r * 4 + i] = exp(logits[r * 4 + i]) / sum;
    }
    char want[1024];
    snprintf(want, sizeof want,
             "{\"task\": \"classification\", \"results\": [{\"image\": \"a.jpg\", \"top\": [{\"index\": 1, \"label\": \"cat\", "
             "\"score\": %.6g}, {\"index\": 3, \"label\": \"fox\", \"score\": %.6g}]}, {\"image\": \"b.jpg\", \"top\": "
             "[{\"index\": 2, \"label\": \"dog\", \"score\": %.6g}, {\"index\": 1, \"label\": \"cat\", \"score\": %.6g}]}]}\n",
             p[1], p[3], p[6], p[5]);
    mdk_spec *s = spec_of("labels: [bird, cat, dog, fox]\npostprocess: {type: classification, output: logits, top_k: 2}\n");
    const char *names[] = {"a.jpg", "b.jpg"};
    expect_json(s, &t, 1, NULL, names, want);
    mdk_spec_free(s);

    /* sigmoid with a threshold: only scores reaching it, however large top_k */
    s = spec_of("postprocess: {type: classification, activation: sigmoid, threshold: 0.7, top_k: 10}\n");
    snprintf(want, sizeof want,
             "{\"task\": \"classification\", \"results\": [{\"image\": 0, \"top\": [{\"index\": 1, \"score\": %.6g}, "
             "{\"index\": 3, \"score\": %.6g}, {\"index\": 0, \"score\": %.6g}]}, {\"image\": 1, \"top\": [{\"index\": 2, "
             "\"score\": %.6g}]}]}\n",
             1 / (1 + exp(-3.0)), 1 / (1 + exp(-2.0)), 1 / (1 + exp(-1.0)), 1 / (1 + exp(-4.0)));
    expect_json(s, &t, 1, NULL, NULL, want);
    mdk_spec_free(s);

    /* the raw scores, ties in index order; the original size when preprocessing is known */
    s = spec_of("postprocess: {type: classification, activation: none, top_k: 2}\n");
    mdk_prep_info *info;
    assert_int_equal(mdki_prep_info_new(2, &info), MDK_OK);
    info->maps[0].orig_w = 640, info->maps[0].orig_h = 480;
    info->maps[1].orig_w = 32, info->maps[1].orig_h = 16;
    expect_json(s, &t, 1, info, NULL,
                "{\"task\": \"classification\", \"results\": [{\"image\": 0, \"width\": 640, \"height\": 480, \"top\": "
                "[{\"index\": 1, \"score\": 3}, {\"index\": 3, \"score\": 2}]}, {\"image\": 1, \"width\": 32, \"height\": 16, "
                "\"top\": [{\"index\": 2, \"score\": 4}, {\"index\": 1, \"score\": 0}]}]}\n");
    mdk_prep_info_free(info);
    mdk_spec_free(s);

    char *json = NULL;
    s = spec_of("labels: [a, b, c]\npostprocess: {type: classification}\n");
    assert_int_equal(mdk_postprocess(s, &t, 1, NULL, NULL, &json), MDK_ERR_MISMATCH);
    assert_contains(mdk_errmsg(), "the labels list has 3 entries but output 'logits' gives 4 scores per image");
    mdk_spec_free(s);
    s = spec_of("postprocess: {type: classification, output: probs}\n");
    assert_int_equal(mdk_postprocess(s, &t, 1, NULL, NULL, &json), MDK_ERR_NOT_FOUND);
    assert_contains(mdk_errmsg(), "classification output 'probs' is not among the model's outputs");
    assert_null(json);
    mdk_spec_free(s);
    mdk_tensor_free(t);
}

static void test_nms(void **state)
{
    (void)state;
    const float boxes[] = {0, 0, 10, 10, 1, 1, 11, 11, 20, 20, 30, 30, 0, 0, 10, 10, 0, 0, 10, 10};
    const float scores[] = {0.9f, 0.8f, 0.7f, 0.6f, 0.6f};
    size_t keep[5];
    /* IoU(0, 1) = 81 / 119 = 0.68: box 1 goes at 0.5 and stays at 0.7 */
    assert_int_equal(mdki_nms(boxes, scores, NULL, 5, 0.5, 5, keep), 2);
    assert_true(keep[0] == 0 && keep[1] == 2);
    assert_int_equal(mdki_nms(boxes, scores, NULL, 5, 0.7, 5, keep), 3);
    assert_true(keep[0] == 0 && keep[1] == 1 && keep[2] == 2);
    /* classes: box 3 is another class than box 0; box 4 equals box 3 with the same score, the lower index wins */
    const int classes[] = {0, 0, 1, 1, 1};
    assert_int_equal(mdki_nms(boxes, scores, classes, 5, 0.5, 5, keep), 3);
    assert_true(keep[0] == 0 && keep[1] == 2 && keep[2] == 3);
    assert_int_equal(mdki_nms(boxes, scores, classes, 5, 0.5, 2, keep), 2);
    assert_int_equal(mdki_nms(boxes, scores, NULL, 0, 0.5, 5, keep), 0);
}

static void test_detection(void **state)
{
    (void)state;
    const float bv[] = {0, 0, 10, 10, 1, 1, 11, 11, 20, 20, 30, 30, 0, 0, 10, 10, 50, 50, 60, 60};
    const float sv[] = {0.9f, 0.1f, 0.8f, 0.0f, 0.2f, 0.7f, 0.0f, 0.6f, 0.2f, 0.1f};
    const int64_t bshape[3] = {1, 5, 4}, sshape[3] = {1, 5, 2};
    mdk_tensor *outs[2] = {f32_tensor("scores", 3, sshape, sv), f32_tensor("boxes", 3, bshape, bv)};
    mdk_spec *s = spec_of("labels: [cat, dog]\npostprocess: {type: detection, boxes: boxes, scores: scores, "
                          "iou_threshold: 0.5, threshold: 0.3}\n");
    expect_json(s, outs, 2, NULL, NULL,
                "{\"task\": \"detection\", \"results\": [{\"image\": 0, \"detections\": ["
                "{\"box\": [0.00, 0.00, 10.00, 10.00], \"score\": 0.9, \"class\": 0, \"label\": \"cat\"}, "
                "{\"box\": [20.00, 20.00, 30.00, 30.00], \"score\": 0.7, \"class\": 1, \"label\": \"dog\"}, "
                "{\"box\": [0.00, 0.00, 10.00, 10.00], \"score\": 0.6, \"class\": 1, \"label\": \"dog\"}]}]}\n");
    mdk_spec_free(s);
    /* without class awareness the dog on the cat's box goes; max_detections cuts the rest */
    s = spec_of("postprocess: {type: detection, boxes: boxes, scores: scores, iou_threshold: 0.5, threshold: 0.3, "
                "class_aware: false, max_detections: 1}\n");
    expect_json(s, outs, 2, NULL, NULL,
                "{\"task\": \"detection\", \"results\": [{\"image\": 0, \"detections\": ["
                "{\"box\": [0.00, 0.00, 10.00, 10.00], \"score\": 0.9, \"class\": 0}]}]}\n");
    mdk_spec_free(s);

    /* one combined output [1, 4 + 1 + 2, 2], channels first, centre boxes, an objectness column, mapped back
     * through a letterbox that scaled by 2 and padded 5 pixels above */
    const float cv[] = {5, 25, 5, 25, 10, 10, 10, 10, 0.5f, 1, 0.9f, 0.2f, 0.1f, 0.8f};
    const int64_t cshape[3] = {1, 7, 2};
    mdk_tensor *comb = f32_tensor("output0", 3, cshape, cv);
    s = spec_of("postprocess: {type: detection, output: output0, layout: channels_first, box_format: cxcywh, "
                "objectness: true}\n");
    expect_json(s, &comb, 1, NULL, NULL,
                "{\"task\": \"detection\", \"results\": [{\"image\": 0, \"detections\": ["
                "{\"box\": [20.00, 20.00, 30.00, 30.00], \"score\": 0.8, \"class\": 1}, "
                "{\"box\": [0.00, 0.00, 10.00, 10.00], \"score\": 0.45, \"class\": 0}]}]}\n");
    mdk_prep_info *info;
    assert_int_equal(mdki_prep_info_new(1, &info), MDK_OK);
    info->maps[0] = (mdki_prep_map){.orig_w = 12, .orig_h = 12, .in_w = 40, .in_h = 40, .ax = 2, .bx = 0, .ay = 2, .by = 5};
    expect_json(s, &comb, 1, info, NULL,
                "{\"task\": \"detection\", \"results\": [{\"image\": 0, \"width\": 12, \"height\": 12, \"detections\": ["
                "{\"box\": [10.00, 7.50, 12.00, 12.00], \"score\": 0.8, \"class\": 1}, "
                "{\"box\": [0.00, 0.00, 5.00, 2.50], \"score\": 0.45, \"class\": 0}]}]}\n");
    mdk_prep_info_free(info);
    mdk_spec_free(s);

    char *json = NULL;
    s = spec_of("labels: [a, b, c]\npostprocess: {type: detection, boxes: boxes, scores: scores}\n");
    assert_int_equal(mdk_postprocess(s, outs, 2, NULL, NULL, &json), MDK_ERR_MISMATCH);
    assert_contains(mdk_errmsg(), "the labels list has 3 entries but the model scores 2 classes");
    mdk_spec_free(s);
    s = spec_of("postprocess: {type: detection, output: boxes}\n");
    assert_int_equal(mdk_postprocess(s, outs, 2, NULL, NULL, &json), MDK_ERR_MISMATCH);
    assert_contains(mdk_errmsg(), "detection output 'boxes' has 4 values per box");
    assert_null(json);
    mdk_spec_free(s);
    mdk_tensor_free(comb);
    mdk_tensor_free(outs[0]);
    mdk_tensor_free(outs[1]);
}

static void test_segmentation(void **state)
{
    (void)state;
    /* [1, 3, 2, 2] scores: pixel classes 0 1 / 2 2 */
    const float v[] = {5, 0, 0, 0, 0, 5, 0, 0, 0, 0, 5, 5};
    const int64_t shape[4] = {1, 3, 2, 2};
    mdk_tensor *t = f32_tensor("masks", 4, shape, v);
    mdk_spec *s = spec_of("labels: [bg, cat, dog]\npostprocess: {type: segmentation}\n");
    expect_json(s, &t, 1, NULL, NULL,
                "{\"task\": \"segmentation\", \"results\": [{\"image\": 0, \"mask\": {\"encoding\": \"rle\", \"size\": [2, 2], "
                "\"runs\": [0, 1, 1, 1, 2, 2]}, \"classes\": [{\"class\": 0, \"label\": \"bg\", \"pixels\": 1}, "
                "{\"class\": 1, \"label\": \"cat\", \"pixels\": 1}, {\"class\": 2, \"label\": \"dog\", \"pixels\": 2}]}]}\n");
    /* back onto a 4x4 original that preprocessing halved: each mask pixel covers 2x2 */
    mdk_prep_info *info;
    assert_int_equal(mdki_prep_info_new(1, &info), MDK_OK);
    info->maps[0] = (mdki_prep_map){.orig_w = 4, .orig_h = 4, .in_w = 2, .in_h = 2, .ax = 0.5, .ay = 0.5};
    expect_json(s, &t, 1, info, NULL,
                "{\"task\": \"segmentation\", \"results\": [{\"image\": 0, \"width\": 4, \"height\": 4, \"mask\": "
                "{\"encoding\": \"rle\", \"size\": [4, 4], \"runs\": [0, 2, 1, 2, 0, 2, 1, 2, 2, 8]}, \"classes\": "
                "[{\"class\": 0, \"label\": \"bg\", \"pixels\": 4}, {\"class\": 1, \"label\": \"cat\", \"pixels\": 4}, "
                "{\"class\": 2, \"label\": \"dog\", \"pixels\": 8}]}]}\n");
    mdk_prep_info_free(info);
    mdk_spec_free(s);
    mdk_tensor_free(t);

    /* one probability map with a threshold, and a map of class indexes */
    const float prob[] = {0.1f, 0.6f, 0.7f, 0.2f};
    const int64_t pshape[4] = {1, 1, 2, 2}, ishape[3] = {1, 2, 2};
    t = f32_tensor("p", 4, pshape, prob);
    s = spec_of("postprocess: {type: segmentation, threshold: 0.65}\n");
    expect_json(s, &t, 1, NULL, NULL,
                "{\"task\": \"segmentation\", \"results\": [{\"image\": 0, \"mask\": {\"encoding\": \"rle\", \"size\": [2, 2], "
                "\"runs\": [0, 2, 1, 1, 0, 1]}, \"classes\": [{\"class\": 0, \"pixels\": 3}, {\"class\": 1, \"pixels\": 1}]}]}\n");
    mdk_tensor_free(t);
    const float idx[] = {7, 7, 7, 3};
    t = f32_tensor("i", 3, ishape, idx);
    expect_json(s, &t, 1, NULL, NULL,
                "{\"task\": \"segmentation\", \"results\": [{\"image\": 0, \"mask\": {\"encoding\": \"rle\", \"size\": [2, 2], "
                "\"runs\": [7, 3, 3, 1]}, \"classes\": [{\"class\": 3, \"pixels\": 1}, {\"class\": 7, \"pixels\": 3}]}]}\n");
    char *json = NULL;
    const int64_t flat[2] = {1, 4};
    assert_int_equal(mdk_tensor_reshape(t, 2, flat), MDK_OK);
    assert_int_equal(mdk_postprocess(s, &t, 1, NULL, NULL, &json), MDK_ERR_MISMATCH);
    assert_contains(mdk_errmsg(), "segmentation output 'i' must be [batch, classes, height, width] or [batch, height, width]");
    assert_null(json);
    mdk_tensor_free(t);
    mdk_spec_free(s);
}

/* ---- allocation failures ---- */

/* One operation under test: returns its status and hands what it made to `release`. */
typedef struct oom_op {
    const char *what;
    mdk_status (*run)(void *ctx, void **made);
    void (*release)(void *made);
    void *ctx;
} oom_op;

/* Runs `op` with every allocation from the nth on failing, for n = 0, 1, ... until it runs without a failure:
 * each failing run must return MDK_ERR_NO_MEMORY and hand nothing over (the sanitizers see any leak, double
 * free or use of a half-built object). */
static void under_oom(const oom_op *op)
{
    long n = 0;
    for (;; n++) {
        void *made = NULL;
        mdki_alloc_fail_after(n);
        unsigned long before = mdki_alloc_failures();
        mdk_status st = op->run(op->ctx, &made);
        int injected = mdki_alloc_failures() != before;
        mdki_alloc_fail_after(-1);
        if (!injected) {
            if (st != MDK_OK) fail_msg("%s without failures: %s (%s)", op->what, mdk_status_str(st), mdk_errmsg());
            op->release(made);
            break;
        }
        if (st != MDK_ERR_NO_MEMORY)
            fail_msg("%s with allocation %ld failing: %s (%s)", op->what, n, mdk_status_str(st), mdk_errmsg());
        if (made) fail_msg("%s with allocation %ld failing handed over a result", op->what, n);
        assert_true(n < 200000);
    }
    if (n == 0) fail_msg("%s made no allocation through the library's allocator", op->what);
}

static void release_image(void *p) { mdk_image_free(p); }
static void release_tensor(void *p) { mdk_tensor_free(p); }
static void release_json(void *p) { mdk_free(p); }
static void release_pipeline(void *p) { mdk_pipeline_close(p); }
static void release_bundle(void *p) { mdk_bundle_close(p); }

typedef struct bytes {
    const void *data;
    size_t len;
} bytes;

static mdk_status run_decode(void *ctx, void **made)
{
    const bytes *b = ctx;
    return mdk_image_decode(b->data, b->len, "oom", NULL, (mdk_image **)made);
}

static mdk_status run_read(void *ctx, void **made)
{
    return mdk_image_read(ctx, NULL, (mdk_image **)made);
}

static void test_decode_allocation_failures(void **state)
{
    (void)state;
    uint8_t px[6 * 4 * 4];
    for (int i = 0; i < 6 * 4 * 4; i++) px[i] = (uint8_t)(i * 7);
    for (int t = 0; t < 3; t++) {
        size_t len;
        uint8_t *png = make_png(6, 4, t == 0 ? 0 : t == 1 ? 2 : 6, px, &len);
        bytes b = {png, len};
        under_oom(&(oom_op){"PNG decode", run_decode, release_image, &b});
        free(png);
    }
    char *jpg = data_path("MDK_IMAGE_DATA", "rocket.jpg"), *png = data_path("MDK_IMAGE_DATA", "coffee.png");
    size_t len, olen;
    char *raw = read_whole(jpg, &len);
    uint8_t *rotated = with_orientation(raw, len, 6, &olen);
    bytes b = {rotated, olen};
    under_oom(&(oom_op){"JPEG decode with EXIF orientation", run_decode, release_image, &b});
    free(rotated);
    free(raw);
    under_oom(&(oom_op){"JPEG read", run_read, release_image, jpg});
    under_oom(&(oom_op){"PNG read", run_read, release_image, png});
    free(jpg);
    free(png);
}

typedef struct prep_ctx {
    const mdk_spec *spec;
    mdk_image **images;
    size_t n;
} prep_ctx;

static mdk_status run_preprocess(void *ctx, void **made)
{
    const prep_ctx *c = ctx;
    mdk_prep_info *info = NULL;
    mdk_status st = mdk_preprocess(c->spec, c->images, c->n, (mdk_tensor **)made, &info);
    if (st == MDK_OK) assert_int_equal(mdk_prep_info_count(info), c->n);
    else assert_null(info);
    mdk_prep_info_free(info);
    return st;
}

static void test_preprocess_allocation_failures(void **state)
{
    (void)state;
    static const char *const specs[] = {
        "preprocess:\n  steps:\n    - resize: {shorter_side: 20, interpolation: bicubic}\n"
        "    - center_crop: {width: 16, height: 16}\n    - color: BGR\n    - scale: 1/255\n"
        "    - normalize: {mean: [0.5, 0.4, 0.3], std: [0.2, 0.2, 0.2]}\n  dtype: float16\n",
        "preprocess:\n  steps:\n    - letterbox: {width: 24, height: 24, interpolation: area}\n    - color: GRAY\n"
        "  layout: NHWC\n  dtype: uint8\n",
        "preprocess:\n  steps: [{resize: {width: 7, height: 5}}, {resize: {longer_side: 9, interpolation: nearest}}]\n",
    };
    mdk_image *imgs[3] = {pattern_image(30, 20, 3), pattern_image(30, 20, 4), pattern_image(30, 20, 1)};
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        mdk_spec *s = spec_of(specs[i]);
        prep_ctx c = {s, imgs, 3};
        under_oom(&(oom_op){specs[i], run_preprocess, release_tensor, &c});
        mdk_spec_free(s);
    }
    for (int i = 0; i < 3; i++) mdk_image_free(imgs[i]);
}

typedef struct post_ctx {
    const mdk_spec *spec;
    mdk_tensor **outs;
    size_t n;
    const mdk_prep_info *info;
} post_ctx;

static mdk_status run_postprocess(void *ctx, void **made)
{
    const post_ctx *c = ctx;
    const char *names[] = {"first", "second"};
    return mdk_postprocess(c->spec, c->outs, c->n, c->info, names, (char **)made);
}

static void test_postprocess_allocation_failures(void **state)
{
    (void)state;
    float v[2 * 3 * 6 * 4];
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) v[i] = (float)((i * 37) % 17) / 4;
    const int64_t cls_shape[2] = {2, 6}, seg_shape[4] = {2, 3, 4, 4}, det_shape[3] = {2, 6, 7};
    mdk_tensor *cls = f32_tensor("cls", 2, cls_shape, v), *seg = f32_tensor("seg", 4, seg_shape, v);
    mdk_tensor *det = f32_tensor("det", 3, det_shape, v);
    mdk_prep_info *info;
    assert_int_equal(mdki_prep_info_new(2, &info), MDK_OK);
    for (int k = 0; k < 2; k++)
        info->maps[k] = (mdki_prep_map){.orig_w = 9, .orig_h = 7, .in_w = 4, .in_h = 4, .ax = 0.5, .ay = 0.5, .by = 0.25};
    struct {
        const char *yaml;
        mdk_tensor *t;
    } cases[] = {
        {"labels: [a, b, c, d, e, f]\npostprocess: {type: classification, top_k: 4}\n", cls},
        {"labels: [a, b]\npostprocess: {type: detection, output: det, threshold: 0.1, objectness: true}\n", det},
        {"labels: [a, b, c]\npostprocess: {type: segmentation}\n", seg},
        {"name: raw\n", seg},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        mdk_spec *s = spec_of(cases[i].yaml);
        post_ctx c = {s, &cases[i].t, 1, info};
        under_oom(&(oom_op){cases[i].yaml, run_postprocess, release_json, &c});
        mdk_spec_free(s);
    }
    mdk_prep_info_free(info);
    mdk_tensor_free(cls);
    mdk_tensor_free(seg);
    mdk_tensor_free(det);
}

/* ---- the pipeline and bundles, on ONNX's GlobalAveragePool node test model ([1, 3, 5, 5] -> [1, 3, 1, 1]) ---- */

static char g_tmp[64];
static char g_spec[128], g_bundle_dir[4200], g_archive[4200];

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

/* A spec beside its labels and tensor test case in a temporary directory, packed into a bundle and archive. */
static int setup_bundle(void **state)
{
    (void)state;
    char *model = data_path("MDK_ONNX_NODE_DATA", "test_globalaveragepool/model.onnx");
    const char *tmp = getenv("TMPDIR");
    snprintf(g_tmp, sizeof g_tmp, "%s/mdk_test_process_XXXXXX", tmp && *tmp ? tmp : P_tmpdir);
    assert_non_null(mkdtemp(g_tmp));
    snprintf(g_spec, sizeof g_spec, "%s/mdk.yaml", g_tmp);
    char text[4600], path[200];
    snprintf(text, sizeof text,
             "name: gap\nversion: 1.0.0\nmodel: %s\nlabels: labels.txt\n"
             "preprocess:\n  steps:\n    - resize: {width: 5, height: 5, interpolation: nearest}\n    - scale: 1/255\n"
             "postprocess: {type: classification, activation: none, top_k: 3}\n"
             "test_cases: {inputs: in.npz}\nruntime: {threads: 1}\n",
             model);
    write_text(g_spec, text);
    snprintf(path, sizeof path, "%s/labels.txt", g_tmp);
    write_text(path, "red\ngreen\nblue\n");
    const int64_t shape[4] = {1, 3, 5, 5};
    mdk_tensor *x;
    assert_int_equal(mdk_tensor_new(MDK_DTYPE_FLOAT32, 4, shape, &x), MDK_OK);
    mdk_tensor_fill_random(x, 7);
    assert_int_equal(mdk_tensor_set_name(x, "x"), MDK_OK);
    snprintf(path, sizeof path, "%s/in.npz", g_tmp);
    assert_int_equal(mdk_npz_write(path, &x, 1, 0), MDK_OK);
    mdk_tensor_free(x);
    mdk_pack_options o;
    mdk_pack_options_init(&o);
    o.out_dir = g_tmp;
    o.archive = 1;
    char *dir = NULL, *archive = NULL;
    mdk_status st = mdk_pack(g_spec, &o, &dir, &archive);
    if (st != MDK_OK) fail_msg("mdk_pack: %s", mdk_errmsg());
    snprintf(g_bundle_dir, sizeof g_bundle_dir, "%s", dir);
    snprintf(g_archive, sizeof g_archive, "%s", archive);
    mdk_free(dir);
    mdk_free(archive);
    free(model);
    return 0;
}

static int teardown_bundle(void **state)
{
    (void)state;
    if (g_tmp[0]) nftw(g_tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

/* A 10x10 image the nearest 5x5 resize samples at even coordinates: the model averages those 25 pixels. */
static mdk_image *gap_image(double mean[3])
{
    mdk_image *img = pattern_image(10, 10, 3);
    for (int c = 0; c < 3; c++) {
        double sum = 0;
        for (int y = 0; y < 10; y += 2)
            for (int x = 0; x < 10; x += 2) sum += pattern(x, y, c) / 255.0;
        mean[c] = sum / 25;
    }
    return img;
}

static void check_gap_result(const char *json, mdk_tensor **outs, size_t n_outs, const double mean[3])
{
    static const char *const labels[] = {"red", "green", "blue"};
    cJSON *root = cJSON_Parse(json);
    assert_non_null(root);
    const cJSON *top = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(root, "results"), 0), "top");
    assert_int_equal(cJSON_GetArraySize(top), 3);
    double prev = INFINITY;
    for (int i = 0; i < 3; i++) {
        const cJSON *e = cJSON_GetArrayItem(top, i);
        int index = cJSON_GetObjectItem(e, "index")->valueint;
        double score = cJSON_GetObjectItem(e, "score")->valuedouble;
        assert_string_equal(cJSON_GetObjectItem(e, "label")->valuestring, labels[index]);
        if (fabs(score - mean[index]) > 1e-5) fail_msg("score of %s: %g, expected %g", labels[index], score, mean[index]);
        assert_true(score <= prev);
        prev = score;
    }
    cJSON_Delete(root);
    if (outs) {
        assert_int_equal(n_outs, 1);
        assert_string_equal(mdk_tensor_name(outs[0]), "y");
        for (int c = 0; c < 3; c++) assert_true(fabs(mdk_tensor_get_f64(outs[0], (size_t)c) - mean[c]) < 1e-5);
    }
}

static void test_pipeline(void **state)
{
    (void)state;
    double mean[3];
    mdk_image *img = gap_image(mean);
    const char *paths[] = {g_spec, g_bundle_dir, g_archive};
    for (int i = 0; i < 3; i++) {
        mdk_pipeline *p = NULL;
        mdk_status st = mdk_pipeline_open(paths[i], NULL, &p);
        if (st != MDK_OK) fail_msg("%s: %s", paths[i], mdk_errmsg());
        assert_string_equal(mdk_spec_name(mdk_pipeline_spec(p)), "gap");
        char *json = NULL;
        mdk_tensor **outs = NULL;
        size_t n_outs = 0;
        assert_int_equal(mdk_pipeline_run(p, &img, 1, NULL, NULL, 0, &json, &outs, &n_outs), MDK_OK);
        check_gap_result(json, outs, n_outs, mean);
        mdk_free(json);
        mdk_tensors_free(outs, n_outs);
        mdk_pipeline_close(p);
    }
    mdk_image_free(img);

    mdk_bundle *b = NULL;
    assert_int_equal(mdk_bundle_open(g_archive, &b), MDK_OK);
    size_t passed = 0, failed = 9;
    assert_int_equal(mdk_bundle_run_cases(b, NULL, NULL, NULL, &passed, &failed), MDK_OK);
    assert_int_equal(passed, 1);
    assert_int_equal(failed, 0);
    mdk_bundle_close(b);
}

static mdk_status run_pipeline_open(void *ctx, void **made)
{
    return mdk_pipeline_open(ctx, NULL, (mdk_pipeline **)made);
}

typedef struct run_ctx {
    mdk_pipeline *p;
    mdk_image *img;
    const double *mean;
} run_ctx;

static mdk_status run_pipeline_run(void *ctx, void **made)
{
    const run_ctx *c = ctx;
    mdk_tensor **outs = NULL;
    size_t n_outs = 0;
    mdk_status st = mdk_pipeline_run(c->p, &c->img, 1, NULL, NULL, 0, (char **)made, &outs, &n_outs);
    if (st == MDK_OK) check_gap_result(*made, outs, n_outs, c->mean);
    else assert_null(outs);
    mdk_tensors_free(outs, n_outs);
    return st;
}

static void test_pipeline_allocation_failures(void **state)
{
    (void)state;
    const char *paths[] = {g_spec, g_bundle_dir, g_archive};
    for (int i = 0; i < 3; i++) under_oom(&(oom_op){paths[i], run_pipeline_open, release_pipeline, (void *)paths[i]});
    double mean[3];
    run_ctx c = {NULL, gap_image(mean), mean};
    assert_int_equal(mdk_pipeline_open(g_spec, NULL, &c.p), MDK_OK);
    under_oom(&(oom_op){"mdk_pipeline_run", run_pipeline_run, release_json, &c});
    mdk_pipeline_close(c.p);
    mdk_image_free(c.img);
}

static mdk_status run_bundle_open(void *ctx, void **made)
{
    mdk_status st = mdk_bundle_open(ctx, (mdk_bundle **)made);
    if (st == MDK_OK) assert_string_equal(mdk_spec_name(mdk_bundle_spec(*made)), "gap");
    return st;
}

static mdk_status run_bundle_open_memory(void *ctx, void **made)
{
    const bytes *b = ctx;
    mdk_status st = mdki_bundle_open_memory(b->data, b->len, "gap-1.0.0.mdk", (mdk_bundle **)made);
    if (st == MDK_OK) assert_int_equal(mdk_bundle_spec(*made)->n_labels, 3);
    return st;
}

static void test_bundle_open_allocation_failures(void **state)
{
    (void)state;
    under_oom(&(oom_op){"bundle directory", run_bundle_open, release_bundle, g_bundle_dir});
    under_oom(&(oom_op){"bundle archive", run_bundle_open, release_bundle, g_archive});
    size_t len;
    char *raw = read_whole(g_archive, &len);
    bytes b = {raw, len};
    under_oom(&(oom_op){"bundle in memory", run_bundle_open_memory, release_bundle, &b});
    free(raw);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_built_png),
        cmocka_unit_test(test_decode_photos),
        cmocka_unit_test(test_decode_exif_orientation),
        cmocka_unit_test(test_resize_known_values),
        cmocka_unit_test(test_preprocess_values),
        cmocka_unit_test(test_preprocess_geometry),
        cmocka_unit_test(test_classification),
        cmocka_unit_test(test_nms),
        cmocka_unit_test(test_detection),
        cmocka_unit_test(test_segmentation),
        cmocka_unit_test(test_decode_allocation_failures),
        cmocka_unit_test(test_preprocess_allocation_failures),
        cmocka_unit_test(test_postprocess_allocation_failures),
    };
    const struct CMUnitTest bundle_tests[] = {
        cmocka_unit_test(test_pipeline),
        cmocka_unit_test(test_pipeline_allocation_failures),
        cmocka_unit_test(test_bundle_open_allocation_failures),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    return failed + cmocka_run_group_tests(bundle_tests, setup_bundle, teardown_bundle);
}
