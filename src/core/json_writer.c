/* json_writer.c: the one way the library writes JSON documents (results, manifests, reports, the OpenAPI
 * description, v2 responses): commas, nesting, escaping and number formats in one place, into a capped
 * buffer, with the first error kept until the end. Strings are emitted as valid UTF-8 whatever they hold. */
#include <math.h>
#include <string.h>

#include "core/core.h"

size_t mdki_utf8_next(const unsigned char *s, uint32_t *cp)
{
    if (s[0] < 0x80) return *cp = s[0], 1;
    size_t n = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 && s[0] < 0xf0 ? 3 : s[0] >= 0xc2 && s[0] < 0xe0 ? 2 : 0;
    if (!n) return 0;
    uint32_t v = s[0] & (0x7f >> n);
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        v = v << 6 | (s[i] & 0x3f);
    }
    if ((n == 3 && v < 0x800) || (n == 4 && (v < 0x10000 || v > 0x10ffff)) || (v >= 0xd800 && v <= 0xdfff)) return 0;
    return *cp = v, n;
}

void mdki_jw_init(mdki_jw *w, mdki_buf *b, int pretty)
{
    memset(w, 0, sizeof *w);
    w->b = b;
    w->pretty = pretty;
}

static void add(mdki_jw *w, const char *s, size_t n)
{
    if (w->st == MDK_OK) w->st = mdki_buf_add(w->b, s, n);
}

static void indent(mdki_jw *w)
{
    add(w, "\n", 1);
    for (int i = 0; i < w->depth && w->st == MDK_OK; i++) add(w, "  ", 2);
}

/* Before a value or a key: the separator its position needs. After a key, nothing. */
static void before(mdki_jw *w)
{
    if (w->after_key) {
        w->after_key = 0;
        return;
    }
    if (w->depth == 0) return;
    if (w->count[w->depth - 1]++) add(w, ",", 1);
    if (w->pretty) indent(w);
    else if (w->count[w->depth - 1] > 1) add(w, " ", 1);
}

static void open(mdki_jw *w, char c)
{
    before(w);
    if (w->depth == MDKI_JW_MAX_DEPTH) {
        if (w->st == MDK_OK) w->st = mdki_fail(MDK_ERR_TOO_LARGE, "JSON nested deeper than %d", MDKI_JW_MAX_DEPTH);
        w->too_deep++; /* so that the matching ends balance */
        return;
    }
    add(w, &c, 1);
    w->count[w->depth++] = 0;
}

void mdki_jw_object(mdki_jw *w) { open(w, '{'); }
void mdki_jw_array(mdki_jw *w) { open(w, '['); }

static void close_(mdki_jw *w, char c)
{
    if (w->too_deep) {
        w->too_deep--;
        return;
    }
    MDKI_ASSERT(w->depth > 0 && (!w->after_key || w->st != MDK_OK));
    int empty = w->count[--w->depth] == 0;
    if (w->pretty && !empty) indent(w);
    add(w, &c, 1);
    if (w->depth == 0 && w->pretty) add(w, "\n", 1);
}

void mdki_jw_end_object(mdki_jw *w) { close_(w, '}'); }
void mdki_jw_end_array(mdki_jw *w) { close_(w, ']'); }

static void string(mdki_jw *w, const char *s)
{
    add(w, "\"", 1);
    const unsigned char *p = (const unsigned char *)s;
    while (*p && w->st == MDK_OK) {
        const unsigned char *run = p; /* bytes that go out as they are */
        uint32_t cp = 0;
        size_t n = 0;
        while (*p && *p >= 0x20 && *p != '"' && *p != '\\' && *p < 0x80) p++;
        add(w, (const char *)run, (size_t)(p - run));
        if (!*p) break;
        if (*p == '"' || *p == '\\') {
            char esc[2] = {'\\', (char)*p++};
            add(w, esc, 2);
        } else if (*p < 0x20) {
            char esc[8];
            int k = snprintf(esc, sizeof esc, "\\u%04x", *p++);
            add(w, esc, (size_t)k);
        } else if ((n = mdki_utf8_next(p, &cp)) != 0) {
            add(w, (const char *)p, n);
            p += n;
        } else { /* not UTF-8: U+FFFD, so that the document stays valid */
            add(w, "\xef\xbf\xbd", 3);
            p++;
        }
    }
    add(w, "\"", 1);
}

void mdki_jw_key(mdki_jw *w, const char *key)
{
    before(w);
    string(w, key);
    add(w, ": ", 2);
    w->after_key = 1;
}

void mdki_jw_string(mdki_jw *w, const char *s)
{
    before(w);
    string(w, s ? s : "");
}

void mdki_jw_stringn(mdki_jw *w, const char *s, size_t n)
{
    char *copy = mdki_strndup(s, n);
    if (!copy) {
        if (w->st == MDK_OK) w->st = MDK_ERR_NO_MEMORY;
        return;
    }
    mdki_jw_string(w, copy);
    mdki_free(copy);
}

void mdki_jw_int(mdki_jw *w, long long v)
{
    char num[32];
    int n = snprintf(num, sizeof num, "%lld", v);
    before(w);
    add(w, num, (size_t)n);
}

void mdki_jw_uint(mdki_jw *w, unsigned long long v)
{
    char num[32];
    int n = snprintf(num, sizeof num, "%llu", v);
    before(w);
    add(w, num, (size_t)n);
}

void mdki_jw_number(mdki_jw *w, double v, int digits)
{
    before(w);
    if (isnan(v)) add(w, "\"NaN\"", 5);
    else if (isinf(v)) add(w, v > 0 ? "\"Infinity\"" : "\"-Infinity\"", v > 0 ? 10 : 11);
    else {
        char num[40];
        int n = snprintf(num, sizeof num, "%.*g", digits, v);
        add(w, num, (size_t)n);
    }
}

void mdki_jw_fixed(mdki_jw *w, double v, int decimals)
{
    before(w);
    if (!isfinite(v)) {
        add(w, "null", 4);
        return;
    }
    char num[64];
    int n = snprintf(num, sizeof num, "%.*f", decimals, v);
    add(w, num, n > 0 && (size_t)n < sizeof num ? (size_t)n : 0);
}

void mdki_jw_bool(mdki_jw *w, int v)
{
    before(w);
    add(w, v ? "true" : "false", v ? 4 : 5);
}

void mdki_jw_null(mdki_jw *w)
{
    before(w);
    add(w, "null", 4);
}

void mdki_jw_raw(mdki_jw *w, const char *json, size_t len)
{
    before(w);
    add(w, json, len);
}

mdk_status mdki_jw_finish(mdki_jw *w)
{
    if (w->st == MDK_OK) MDKI_ASSERT(w->depth == 0 && !w->after_key);
    return w->st;
}
