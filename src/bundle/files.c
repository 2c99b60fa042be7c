/* files.c: the list of files a bundle holds, their SHA-256 (libsodium) and the manifest that records them. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bundle/bundle_int.h"

void mdki_files_free(mdki_files *f)
{
    for (size_t i = 0; i < f->n; i++) {
        mdki_free(f->items[i].path);
        mdki_free(f->items[i].data);
    }
    mdki_free(f->items);
    memset(f, 0, sizeof *f);
}

mdki_file *mdki_files_find(const mdki_files *f, const char *path)
{
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->items[i].path, path) == 0) return &f->items[i];
    return NULL;
}


/* Combining marks: a name holding one is in decomposed form (NFD), and could name the same file as its
 * precomposed twin on systems that normalize names. */
static int is_combining(uint32_t c)
{
    return (c >= 0x300 && c <= 0x36f) || (c >= 0x1ab0 && c <= 0x1aff) || (c >= 0x1dc0 && c <= 0x1dff) ||
           (c >= 0x20d0 && c <= 0x20ff) || (c >= 0xfe20 && c <= 0xfe2f) || c == 0x3099 || c == 0x309a;
}

mdk_status mdki_bundle_check_path(const char *path, int in_top_dir)
{
    const char *top_end = in_top_dir ? strchr(path, '/') : NULL;
    const char *rel = top_end ? top_end + 1 : path; /* what the limits apply to */
    size_t len = strlen(rel), depth = 1;
    /* the entry as shown in messages: its first 60 bytes, anything but printable ASCII as '?' */
    char shown[61];
    size_t k = 0;
    for (; path[k] && k < 60; k++) shown[k] = path[k] > 0x20 && path[k] < 0x7f ? path[k] : path[k] == ' ' ? ' ' : '?';
    shown[k] = '\0';
    int cut = path[k] != '\0';
    if (len > MDKI_BUNDLE_MAX_PATH)
        return mdki_fail(MDK_ERR_TOO_LARGE, "entry '%s%s' has a path of %zu bytes, the limit is %d", shown,
                         cut ? "..." : "", len, MDKI_BUNDLE_MAX_PATH);
    if (!*path || path[0] == '/')
        return mdki_fail(MDK_ERR_FORMAT, "entry '%s%s' has an absolute or empty path, expected one relative to the "
                         "bundle", shown, cut ? "..." : "");
    for (const char *c = path; *c;) {
        const char *e = strchr(c, '/');
        size_t n = e ? (size_t)(e - c) : strlen(c);
        if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.') || (e && !e[1]))
            return mdki_fail(MDK_ERR_FORMAT, "entry '%s%s' has an empty, '.' or '..' path component: refused",
                             shown, cut ? "..." : "");
        c += n + (e ? 1 : 0);
        if (e && c > rel) depth++;
    }
    if (depth > MDKI_BUNDLE_MAX_DEPTH)
        return mdki_fail(MDK_ERR_TOO_LARGE, "entry '%s%s' is %zu directories deep, the limit is %d", shown,
                         cut ? "..." : "", depth, MDKI_BUNDLE_MAX_DEPTH);
    for (const unsigned char *c = (const unsigned char *)path; *c;) {
        uint32_t cp = 0;
        size_t n = mdki_utf8_next(c, &cp);
        if (!n)
            return mdki_fail(MDK_ERR_FORMAT, "entry path '%s%s' is not valid UTF-8 (byte %zu)", shown,
                             cut ? "..." : "", (size_t)(c - (const unsigned char *)path));
        if (cp < 0x20 || cp == 0x7f || cp == '\\')
            return mdki_fail(MDK_ERR_FORMAT, "entry path '%s%s' holds a control character or a backslash "
                             "(byte %zu)", shown, cut ? "..." : "", (size_t)(c - (const unsigned char *)path));
        if (is_combining(cp))
            return mdki_fail(MDK_ERR_FORMAT, "entry path '%s%s' holds the combining mark U+%04X (decomposed Unicode): "
                             "name files in precomposed form (NFC)", shown, cut ? "..." : "", (unsigned)cp);
        c += n;
    }
    return MDK_OK;
}

mdk_status mdki_files_add(mdki_files *f, const char *path, char *data, size_t size)
{
    mdk_status st = mdki_bundle_check_path(path, 0);
    if (st == MDK_OK && f->n >= MDKI_BUNDLE_MAX_FILES)
        st = mdki_fail(MDK_ERR_TOO_LARGE, "more than %d files in a bundle", MDKI_BUNDLE_MAX_FILES);
    for (size_t i = 0; i < f->n && st == MDK_OK; i++) {
        if (strcasecmp(f->items[i].path, path) != 0) continue;
        if (strcmp(f->items[i].path, path) == 0) st = mdki_fail(MDK_ERR_FORMAT, "file '%s' appears twice", path);
        else st = mdki_fail(MDK_ERR_FORMAT, "files '%s' and '%s' differ only by case: they would collide on a "
                            "case-insensitive file system", f->items[i].path, path);
    }
    if (st == MDK_OK && f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 32;
        mdki_file *g = mdki_realloc(f->items, cap * sizeof *g);
        if (!g) st = MDK_ERR_NO_MEMORY;
        else f->items = g, f->cap = cap;
    }
    char *p = st == MDK_OK ? mdki_strdup(path) : NULL;
    if (st == MDK_OK && !p) st = MDK_ERR_NO_MEMORY;
    if (st != MDK_OK) {
        mdki_free(data);
        return st;
    }
    mdki_file *e = &f->items[f->n++];
    e->path = p;
    e->data = data;
    e->size = size;
    mdk_sha256_hex(data ? data : "", data ? size : 0, e->sha256);
    return MDK_OK;
}

mdk_status mdki_files_add_buf(mdki_files *f, const char *path, mdki_buf *b)
{
    size_t len;
    if (!b->data && mdki_buf_add(b, "", 0) != MDK_OK) return MDK_ERR_NO_MEMORY;
    char *data = mdki_buf_take(b, &len);
    return mdki_files_add(f, path, data, len);
}

static int by_path(const void *a, const void *b)
{
    return strcmp(((const mdki_file *)a)->path, ((const mdki_file *)b)->path);
}

void mdki_files_sort(mdki_files *f)
{
    if (f->n) qsort(f->items, f->n, sizeof *f->items, by_path);
}

void mdki_files_digest(const mdki_files *f, char out[65])
{
    /* Each line "sha256 size path\n" is hashed in parts: a path of any length is hashed whole. */
    crypto_hash_sha256_state s;
    crypto_hash_sha256_init(&s);
    for (size_t i = 0; i < f->n; i++) {
        char size[32];
        int n = snprintf(size, sizeof size, " %zu ", f->items[i].size);
        crypto_hash_sha256_update(&s, (const unsigned char *)f->items[i].sha256, 64);
        crypto_hash_sha256_update(&s, (const unsigned char *)size, (unsigned long long)n);
        crypto_hash_sha256_update(&s, (const unsigned char *)f->items[i].path, strlen(f->items[i].path));
        crypto_hash_sha256_update(&s, (const unsigned char *)"\n", 1);
    }
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_final(&s, h);
    sodium_bin2hex(out, 65, h, sizeof h);
}

mdk_status mdki_manifest_write(const mdki_files *f, const char *name, const char *version, mdki_buf *b)
{
    char digest[65], tagged[80];
    mdki_files_digest(f, digest);
    snprintf(tagged, sizeof tagged, "sha256:%s", digest);
    mdki_jw w;
    mdki_jw_init(&w, b, 1);
    mdki_jw_object(&w);
    mdki_jw_key(&w, "format");
    mdki_jw_string(&w, "mdk-bundle");
    mdki_jw_key(&w, "format_version");
    mdki_jw_int(&w, MDKI_BUNDLE_FORMAT_VERSION);
    mdki_jw_key(&w, "name");
    mdki_jw_string(&w, name);
    mdki_jw_key(&w, "version");
    mdki_jw_string(&w, version);
    mdki_jw_key(&w, "digest");
    mdki_jw_string(&w, tagged);
    mdki_jw_key(&w, "files");
    mdki_jw_array(&w);
    for (size_t i = 0; i < f->n; i++) {
        mdki_jw_object(&w);
        mdki_jw_key(&w, "path");
        mdki_jw_string(&w, f->items[i].path);
        mdki_jw_key(&w, "size");
        mdki_jw_uint(&w, f->items[i].size);
        mdki_jw_key(&w, "sha256");
        mdki_jw_string(&w, f->items[i].sha256);
        mdki_jw_end_object(&w);
    }
    mdki_jw_end_array(&w);
    mdki_jw_end_object(&w);
    return mdki_jw_finish(&w);
}
