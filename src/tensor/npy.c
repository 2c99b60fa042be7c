/* npy.c: NumPy's .npy format (versions 1.0 to 3.0), read and written. Strings are '<U' (UCS-4) or 'S'
 * (bytes) arrays; bfloat16, which NumPy lacks, is written as raw 2-byte voids ('<V2') and read back as such. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "tensor/tensor_int.h"

#define NPY_MAX_HEADER (1u << 20)

typedef struct npy_header {
    char descr[32];
    int fortran;
    size_t ndim;
    int64_t shape[MDK_MAX_DIMS];
} npy_header;

/* A small parser for the Python dict literal in the header. */
typedef struct hp {
    const char *p, *end;
} hp;

static void hp_ws(hp *h)
{
    while (h->p < h->end && isspace((unsigned char)*h->p)) h->p++;
}

static int hp_eat(hp *h, char c)
{
    hp_ws(h);
    if (h->p < h->end && *h->p == c) {
        h->p++;
        return 1;
    }
    return 0;
}

static int hp_str(hp *h, char *buf, size_t size)
{
    hp_ws(h);
    if (h->p >= h->end || (*h->p != '\'' && *h->p != '"')) return 0;
    char q = *h->p++;
    size_t n = 0;
    while (h->p < h->end && *h->p != q) {
        if (n + 1 >= size) return 0;
        buf[n++] = *h->p++;
    }
    if (h->p >= h->end) return 0;
    h->p++;
    buf[n] = '\0';
    return 1;
}

static int hp_word(hp *h, const char *w)
{
    hp_ws(h);
    size_t n = strlen(w);
    if ((size_t)(h->end - h->p) >= n && memcmp(h->p, w, n) == 0) {
        h->p += n;
        return 1;
    }
    return 0;
}

static int hp_int(hp *h, int64_t *v)
{
    hp_ws(h);
    int64_t x = 0;
    int digits = 0;
    while (h->p < h->end && isdigit((unsigned char)*h->p)) {
        if (x > (INT64_MAX - 9) / 10) return 0;
        x = x * 10 + (*h->p++ - '0');
        digits++;
    }
    if (h->p < h->end && *h->p == 'L') h->p++; /* Python 2 longs */
    *v = x;
    return digits > 0;
}

static mdk_status parse_header(const char *s, size_t len, const char *what, npy_header *out)
{
    hp h = {s, s + len};
    int have_descr = 0, have_fortran = 0, have_shape = 0;
    memset(out, 0, sizeof *out);
    if (!hp_eat(&h, '{')) goto bad;
    for (;;) {
        if (hp_eat(&h, '}')) break;
        char key[32];
        if (!hp_str(&h, key, sizeof key) || !hp_eat(&h, ':')) goto bad;
        if (strcmp(key, "descr") == 0) {
            hp_ws(&h);
            if (h.p < h.end && *h.p == '[')
                return mdki_fail(MDK_ERR_UNSUPPORTED, "%s: structured NumPy dtypes are not supported", what);
            if (!hp_str(&h, out->descr, sizeof out->descr)) goto bad;
            have_descr = 1;
        } else if (strcmp(key, "fortran_order") == 0) {
            if (hp_word(&h, "True")) out->fortran = 1;
            else if (hp_word(&h, "False")) out->fortran = 0;
            else goto bad;
            have_fortran = 1;
        } else if (strcmp(key, "shape") == 0) {
            if (!hp_eat(&h, '(')) goto bad;
            while (!hp_eat(&h, ')')) {
                if (out->ndim >= MDK_MAX_DIMS)
                    return mdki_fail(MDK_ERR_TOO_LARGE, "%s: rank exceeds the limit of %d dims", what, MDK_MAX_DIMS);
                if (!hp_int(&h, &out->shape[out->ndim++])) goto bad;
                if (!hp_eat(&h, ',')) {
                    if (!hp_eat(&h, ')')) goto bad;
                    break;
                }
            }
            have_shape = 1;
        } else {
            goto bad;
        }
        if (!hp_eat(&h, ',')) {
            if (!hp_eat(&h, '}')) goto bad;
            break;
        }
    }
    if (!have_descr || !have_fortran || !have_shape) goto bad;
    return MDK_OK;
bad:
    return mdki_fail(MDK_ERR_FORMAT, "%s: malformed .npy header, expected {'descr': ..., 'fortran_order': ..., 'shape': (...)}",
                     what);
}

/* Maps a descr such as '<f4' to a dtype; sets *swap for big-endian data and *width for strings. */
static mdk_status descr_dtype(const char *descr, const char *what, mdk_dtype *dt, int *swap, size_t *width, char *kind)
{
    char order = descr[0];
    if (order != '<' && order != '>' && order != '|' && order != '=')
        return mdki_fail(MDK_ERR_FORMAT, "%s: bad dtype descr '%s'", what, descr);
    *kind = descr[1];
    int64_t size = 0;
    for (const char *p = descr + 2; *p; p++) {
        if (!isdigit((unsigned char)*p) || size > 100000000)
            return mdki_fail(MDK_ERR_FORMAT, "%s: bad dtype descr '%s'", what, descr);
        size = size * 10 + (*p - '0');
    }
    *swap = order == '>';
    *width = (size_t)size;
    *dt = MDK_DTYPE_UNDEFINED;
    switch (*kind) {
    case 'f':
        *dt = size == 2 ? MDK_DTYPE_FLOAT16 : size == 4 ? MDK_DTYPE_FLOAT32 : size == 8 ? MDK_DTYPE_FLOAT64 : 0;
        break;
    case 'i':
        *dt = size == 1 ? MDK_DTYPE_INT8 : size == 2 ? MDK_DTYPE_INT16 : size == 4 ? MDK_DTYPE_INT32
            : size == 8 ? MDK_DTYPE_INT64 : 0;
        break;
    case 'u':
        *dt = size == 1 ? MDK_DTYPE_UINT8 : size == 2 ? MDK_DTYPE_UINT16 : size == 4 ? MDK_DTYPE_UINT32
            : size == 8 ? MDK_DTYPE_UINT64 : 0;
        break;
    case 'b': *dt = size == 1 ? MDK_DTYPE_BOOL : 0; break;
    case 'V': *dt = size == 2 ? MDK_DTYPE_BFLOAT16 : 0; break;
    case 'U': case 'S': *dt = MDK_DTYPE_STRING; break;
    case 'O':
        return mdki_fail(MDK_ERR_UNSUPPORTED, "%s: object arrays (dtype 'O') need pickle and are refused; save strings "
                         "with dtype str", what);
    default: break;
    }
    if (*dt == MDK_DTYPE_UNDEFINED)
        return mdki_fail(MDK_ERR_UNSUPPORTED, "%s: NumPy dtype '%s' is not supported", what, descr);
    if (*kind == 'U' && size > (1 << 20))
        return mdki_fail(MDK_ERR_TOO_LARGE, "%s: string width %lld is above the limit", what, (long long)size);
    return MDK_OK;
}

static size_t utf8_put(char *o, uint32_t c)
{
    if (c < 0x80) { o[0] = (char)c; return 1; }
    if (c < 0x800) { o[0] = (char)(0xc0 | (c >> 6)); o[1] = (char)(0x80 | (c & 0x3f)); return 2; }
    if (c < 0x10000) {
        o[0] = (char)(0xe0 | (c >> 12)); o[1] = (char)(0x80 | ((c >> 6) & 0x3f)); o[2] = (char)(0x80 | (c & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | (c >> 18)); o[1] = (char)(0x80 | ((c >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((c >> 6) & 0x3f)); o[3] = (char)(0x80 | (c & 0x3f));
    return 4;
}

/* Decodes one UTF-8 code point; returns its length, or 0 on invalid input. */
static size_t utf8_get(const unsigned char *s, size_t n, uint32_t *c)
{
    if (n == 0) return 0;
    if (s[0] < 0x80) { *c = s[0]; return 1; }
    size_t len = (s[0] & 0xe0) == 0xc0 ? 2 : (s[0] & 0xf0) == 0xe0 ? 3 : (s[0] & 0xf8) == 0xf0 ? 4 : 0;
    if (len == 0 || len > n) return 0;
    uint32_t v = s[0] & (0x7f >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        v = (v << 6) | (s[i] & 0x3f);
    }
    *c = v;
    return len;
}

static void swap_bytes(unsigned char *p, size_t count, size_t width)
{
    for (size_t i = 0; i < count; i++, p += width)
        for (size_t a = 0, b = width - 1; a < b; a++, b--) {
            unsigned char t = p[a];
            p[a] = p[b];
            p[b] = t;
        }
}

/* Reorders Fortran-ordered data (first index fastest) into C order. */
static mdk_status fortran_to_c(mdk_tensor *t, size_t esize)
{
    if (t->ndim < 2 || t->count == 0) return MDK_OK;
    unsigned char *src = t->data;
    unsigned char *dst = mdki_malloc(t->count * esize);
    if (!dst) return MDK_ERR_NO_MEMORY;
    size_t idx[MDK_MAX_DIMS] = {0};
    for (size_t c = 0; c < t->count; c++) {
        size_t f = 0, stride = 1;
        for (size_t d = 0; d < t->ndim; d++) {
            f += idx[d] * stride;
            stride *= (size_t)t->shape[d];
        }
        memcpy(dst + c * esize, src + f * esize, esize);
        for (size_t d = t->ndim; d-- > 0;) {
            if (++idx[d] < (size_t)t->shape[d]) break;
            idx[d] = 0;
        }
    }
    mdki_free(t->data);
    t->data = dst;
    return MDK_OK;
}

mdk_status mdki_npy_decode(const void *data, size_t len, const char *what, mdk_tensor **out)
{
    const unsigned char *b = data;
    if (len < 10 || memcmp(b, "\x93NUMPY", 6) != 0)
        return mdki_fail(MDK_ERR_FORMAT, "%s: not a .npy file (missing the \\x93NUMPY magic)", what);
    unsigned major = b[6];
    size_t hlen, pre;
    if (major == 1) {
        hlen = (size_t)b[8] | ((size_t)b[9] << 8);
        pre = 10;
    } else if (major == 2 || major == 3) {
        if (len < 12) return mdki_fail(MDK_ERR_FORMAT, "%s: truncated .npy header", what);
        hlen = (size_t)b[8] | ((size_t)b[9] << 8) | ((size_t)b[10] << 16) | ((size_t)b[11] << 24);
        pre = 12;
    } else {
        return mdki_fail(MDK_ERR_UNSUPPORTED, "%s: .npy format version %u is not supported (expected 1, 2 or 3)", what,
                         major);
    }
    if (hlen > NPY_MAX_HEADER) return mdki_fail(MDK_ERR_TOO_LARGE, "%s: .npy header of %zu bytes is too large", what, hlen);
    if (hlen > len - pre) return mdki_fail(MDK_ERR_FORMAT, "%s: truncated .npy header", what);
    npy_header h;
    mdk_status st = parse_header((const char *)b + pre, hlen, what, &h);
    if (st != MDK_OK) return st;
    mdk_dtype dt = MDK_DTYPE_UNDEFINED;
    int swap = 0;
    size_t width = 0;
    char kind = 0;
    st = descr_dtype(h.descr, what, &dt, &swap, &width, &kind);
    if (st != MDK_OK) return st;

    size_t count, nbytes;
    st = mdki_shape_check(dt, h.ndim, h.shape, what, &count, &nbytes);
    if (st != MDK_OK) return st;
    size_t esize = dt == MDK_DTYPE_STRING ? (kind == 'U' ? 4 * width : width) : mdk_dtype_size(dt);
    /* zero-width strings take no data but one allocation each: keep their number proportional to the input */
    if (esize == 0 && count > (size_t)1 << 20)
        return mdki_fail(MDK_ERR_TOO_LARGE, "%s: %zu zero-width strings, above the limit of %d", what, count, 1 << 20);
    size_t need;
    if (!mdki_mul_size(count, esize, &need) || need > MDK_TENSOR_MAX_BYTES)
        return mdki_fail(MDK_ERR_TOO_LARGE, "%s: data exceeds the limit of %llu bytes", what,
                         (unsigned long long)MDK_TENSOR_MAX_BYTES);
    const unsigned char *body = b + pre + hlen;
    size_t have = len - pre - hlen;
    if (have != need)
        return mdki_fail(MDK_ERR_FORMAT, "%s: .npy data is %zu bytes, expected %zu for %s %s", what, have, need,
                         h.descr, h.ndim ? "array" : "scalar");

    mdk_tensor *t;
    st = mdk_tensor_new(dt, h.ndim, h.shape, &t);
    if (st != MDK_OK) return st;
    if (dt != MDK_DTYPE_STRING) {
        if (need) memcpy(t->data, body, need);
        if (swap && esize > 1) swap_bytes(t->data, count, esize);
        if (dt == MDK_DTYPE_BOOL)
            for (size_t i = 0; i < count; i++) ((uint8_t *)t->data)[i] = ((uint8_t *)t->data)[i] != 0;
        if (h.fortran && (st = fortran_to_c(t, esize)) != MDK_OK) goto fail;
    } else {
        for (size_t i = 0; i < count; i++) {
            const unsigned char *e = body + i * esize;
            char *s;
            if (kind == 'S') {
                size_t n = width;
                while (n > 0 && e[n - 1] == 0) n--;
                s = mdki_strndup((const char *)e, n);
            } else {
                s = mdki_malloc(4 * width + 1);
                if (s) {
                    size_t o = 0;
                    for (size_t k = 0; k < width; k++) {
                        const unsigned char *q = e + 4 * k;
                        uint32_t c = swap ? ((uint32_t)q[0] << 24 | (uint32_t)q[1] << 16 | (uint32_t)q[2] << 8 | q[3])
                                          : ((uint32_t)q[3] << 24 | (uint32_t)q[2] << 16 | (uint32_t)q[1] << 8 | q[0]);
                        if (c == 0) break;
                        if (c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) {
                            mdki_free(s);
                            st = mdki_fail(MDK_ERR_FORMAT, "%s: invalid code point U+%X in string %zu", what, c, i);
                            goto fail;
                        }
                        o += utf8_put(s + o, c);
                    }
                    s[o] = '\0';
                }
            }
            if (!s) {
                st = MDK_ERR_NO_MEMORY;
                goto fail;
            }
            mdki_tensor_take_string(t, i, s);
        }
        if (h.fortran && h.ndim >= 2) {
            /* Strings are pointers: reorder them like any 8-byte element. */
            st = fortran_to_c(t, sizeof(char *));
            if (st != MDK_OK) goto fail;
        }
    }
    *out = t;
    return MDK_OK;
fail:
    mdk_tensor_free(t);
    return st;
}

static const char *descr_for(const mdk_tensor *t, char *buf, size_t size)
{
    switch (t->dtype) {
    case MDK_DTYPE_FLOAT32: return "<f4";
    case MDK_DTYPE_FLOAT64: return "<f8";
    case MDK_DTYPE_FLOAT16: return "<f2";
    case MDK_DTYPE_BFLOAT16: return "|V2";
    case MDK_DTYPE_UINT8: return "|u1";
    case MDK_DTYPE_INT8: return "|i1";
    case MDK_DTYPE_UINT16: return "<u2";
    case MDK_DTYPE_INT16: return "<i2";
    case MDK_DTYPE_INT32: return "<i4";
    case MDK_DTYPE_INT64: return "<i8";
    case MDK_DTYPE_UINT32: return "<u4";
    case MDK_DTYPE_UINT64: return "<u8";
    case MDK_DTYPE_BOOL: return "|b1";
    case MDK_DTYPE_STRING: {
        size_t w = 1;
        for (size_t i = 0; i < t->count; i++) {
            const unsigned char *s = (const unsigned char *)((char **)t->data)[i];
            size_t n = 0, len = strlen((const char *)s), k = 0;
            uint32_t c;
            while (k < len) {
                size_t l = utf8_get(s + k, len - k, &c);
                k += l ? l : 1;
                n++;
            }
            if (n > w) w = n;
        }
        snprintf(buf, size, "<U%zu", w);
        return buf;
    }
    default: return NULL;
    }
}

mdk_status mdki_npy_encode(const mdk_tensor *t, mdki_buf *out)
{
    char dbuf[32];
    const char *descr = descr_for(t, dbuf, sizeof dbuf);
    if (!descr) return mdki_fail(MDK_ERR_UNSUPPORTED, "cannot write %s tensors as .npy", mdk_dtype_name(t->dtype));
    mdki_buf h;
    mdki_buf_init(&h, NPY_MAX_HEADER);
    mdk_status st = mdki_buf_addf(&h, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
    /* Python tuple syntax: "()", "(3,)", "(2, 3)". */
    for (size_t i = 0; st == MDK_OK && i < t->ndim; i++)
        st = mdki_buf_addf(&h, "%s%lld", i ? ", " : "", (long long)t->shape[i]);
    if (st == MDK_OK) st = mdki_buf_add(&h, t->ndim == 1 ? ",), }" : "), }", t->ndim == 1 ? 5 : 4);
    if (st != MDK_OK) goto done;
    size_t pre = h.len + 10 + 1 > 65535 ? 12 : 10;
    size_t total = pre + h.len + 1;
    size_t pad = (64 - total % 64) % 64;
    unsigned char magic[12] = {0x93, 'N', 'U', 'M', 'P', 'Y', pre == 10 ? 1 : 2, 0};
    size_t hl = h.len + pad + 1;
    magic[8] = (unsigned char)(hl & 0xff);
    magic[9] = (unsigned char)((hl >> 8) & 0xff);
    magic[10] = (unsigned char)((hl >> 16) & 0xff);
    magic[11] = (unsigned char)((hl >> 24) & 0xff);
    st = mdki_buf_add(out, magic, pre);
    if (st == MDK_OK) st = mdki_buf_add(out, h.data, h.len);
    for (size_t i = 0; st == MDK_OK && i < pad; i++) st = mdki_buf_addc(out, ' ');
    if (st == MDK_OK) st = mdki_buf_addc(out, '\n');
    if (st != MDK_OK) goto done;
    if (t->dtype != MDK_DTYPE_STRING) {
        st = mdki_buf_add(out, t->data, t->nbytes); /* little-endian hosts only, checked at configure time */
    } else {
        size_t w = (size_t)strtoull(descr + 2, NULL, 10);
        unsigned char *row = mdki_calloc(w, 4);
        if (!row) {
            st = MDK_ERR_NO_MEMORY;
            goto done;
        }
        for (size_t i = 0; st == MDK_OK && i < t->count; i++) {
            const unsigned char *s = (const unsigned char *)((char **)t->data)[i];
            size_t len = strlen((const char *)s), k = 0, n = 0;
            memset(row, 0, w * 4);
            while (k < len && n < w) {
                uint32_t c = 0xfffd;
                size_t l = utf8_get(s + k, len - k, &c);
                if (l == 0) { c = 0xfffd; l = 1; }
                k += l;
                row[4 * n] = (unsigned char)c;
                row[4 * n + 1] = (unsigned char)(c >> 8);
                row[4 * n + 2] = (unsigned char)(c >> 16);
                row[4 * n + 3] = (unsigned char)(c >> 24);
                n++;
            }
            st = mdki_buf_add(out, row, w * 4);
        }
        mdki_free(row);
    }
done:
    mdki_buf_free(&h);
    return st;
}
