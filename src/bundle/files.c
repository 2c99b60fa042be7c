/* files.c: the list of files a bundle holds, their SHA-256 (libsodium) and the manifest that records them. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

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

void mdki_sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, data, len);
    sodium_bin2hex(out, 65, h, sizeof h);
}

mdk_status mdki_files_add(mdki_files *f, const char *path, char *data, size_t size)
{
    mdk_status st = MDK_OK;
    if (f->n >= MDKI_BUNDLE_MAX_FILES) st = mdki_fail(MDK_ERR_TOO_LARGE, "more than %d files in a bundle", MDKI_BUNDLE_MAX_FILES);
    else if (mdki_files_find(f, path)) st = mdki_fail(MDK_ERR_FORMAT, "file '%s' appears twice", path);
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
    mdki_sha256_hex(data ? data : "", data ? size : 0, e->sha256);
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
    crypto_hash_sha256_state s;
    crypto_hash_sha256_init(&s);
    for (size_t i = 0; i < f->n; i++) {
        char line[4200];
        int n = snprintf(line, sizeof line, "%s %zu %s\n", f->items[i].sha256, f->items[i].size, f->items[i].path);
        crypto_hash_sha256_update(&s, (const unsigned char *)line, (unsigned long long)n);
    }
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_final(&s, h);
    sodium_bin2hex(out, 65, h, sizeof h);
}

mdk_status mdki_manifest_write(const mdki_files *f, const char *name, const char *version, mdki_buf *b)
{
    char digest[65];
    mdki_files_digest(f, digest);
    mdk_status st = mdki_buf_addf(b, "{\n  \"format\": \"mdk-bundle\",\n  \"format_version\": %d,\n  \"name\": ",
                                  MDKI_BUNDLE_FORMAT_VERSION);
    if (st == MDK_OK) st = mdki_buf_json_string(b, name);
    if (st == MDK_OK) st = mdki_buf_addf(b, ",\n  \"version\": ");
    if (st == MDK_OK) st = mdki_buf_json_string(b, version);
    if (st == MDK_OK) st = mdki_buf_addf(b, ",\n  \"digest\": \"sha256:%s\",\n  \"files\": [", digest);
    for (size_t i = 0; i < f->n && st == MDK_OK; i++) {
        st = mdki_buf_addf(b, "%s\n    {\"path\": ", i ? "," : "");
        if (st == MDK_OK) st = mdki_buf_json_string(b, f->items[i].path);
        if (st == MDK_OK) st = mdki_buf_addf(b, ", \"size\": %zu, \"sha256\": \"%s\"}", f->items[i].size, f->items[i].sha256);
    }
    if (st == MDK_OK) st = mdki_buf_addf(b, "\n  ]\n}\n");
    return st;
}
