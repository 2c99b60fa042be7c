/* npz.c: NumPy .npz archives (zip files of .npy members, stored or deflated), through libarchive. */
#include <archive.h>
#include <archive_entry.h>
#include <string.h>

#include "tensor/tensor_int.h"

/* The archive as a whole may hold several tensors at their cap. */
#define NPZ_MAX_FILE_BYTES ((uint64_t)8 << 30)

/* libarchive's message for the last error; it has none for some malformed archives. */
static const char *arc_msg(struct archive *a)
{
    const char *m = archive_error_string(a);
    return m && *m ? m : "not a readable zip archive";
}

mdk_status mdki_npz_decode(const void *data, size_t len, const char *what, mdk_tensor ***out, size_t *count)
{
    struct archive *a = archive_read_new();
    if (!a) return mdki_fail(MDK_ERR_NO_MEMORY, "out of memory");
    archive_read_support_format_zip(a);
    mdk_tensor **ts = NULL;
    size_t n = 0;
    mdki_buf member;
    mdki_buf_init(&member, MDK_TENSOR_MAX_BYTES + (1u << 20));
    mdk_status st = MDK_OK;
    if (len < 4 || memcmp(data, "PK", 2) != 0) {
        st = mdki_fail(MDK_ERR_FORMAT, "%s: not an .npz file (expected a zip archive)", what);
        goto done;
    }
    if (archive_read_open_memory(a, data, len) != ARCHIVE_OK) {
        st = mdki_fail(MDK_ERR_FORMAT, "%s: not an .npz file: %s", what, arc_msg(a));
        goto done;
    }
    for (;;) {
        struct archive_entry *e;
        int r = archive_read_next_header(a, &e);
        if (r == ARCHIVE_EOF) break;
        if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
            st = mdki_fail(MDK_ERR_FORMAT, "%s: corrupt .npz archive: %s", what, arc_msg(a));
            goto done;
        }
        const char *path = archive_entry_pathname(e);
        size_t plen = path ? strlen(path) : 0;
        if (plen < 5 || strcmp(path + plen - 4, ".npy") != 0 || archive_entry_filetype(e) != AE_IFREG) {
            st = mdki_fail(MDK_ERR_FORMAT, "%s: member '%s' is not an .npy file", what, path ? path : "");
            goto done;
        }
        if (n >= MDK_NPZ_MAX_MEMBERS) {
            st = mdki_fail(MDK_ERR_TOO_LARGE, "%s: more than %d arrays", what, MDK_NPZ_MAX_MEMBERS);
            goto done;
        }
        if (archive_entry_size_is_set(e) && (uint64_t)archive_entry_size(e) > member.limit) {
            st = mdki_fail(MDK_ERR_TOO_LARGE, "%s: member '%s' is larger than the limit", what, path);
            goto done;
        }
        char name[1024];
        if (plen - 4 >= sizeof name) {
            st = mdki_fail(MDK_ERR_TOO_LARGE, "%s: member '%.60s...' has a name of %zu bytes, the limit is %zu", what, path,
                           plen - 4, sizeof name - 1);
            goto done;
        }
        memcpy(name, path, plen - 4);
        name[plen - 4] = '\0';
        for (size_t i = 0; i < n; i++)
            if (strcmp(mdk_tensor_name(ts[i]), name) == 0) {
                st = mdki_fail(MDK_ERR_FORMAT, "%s: array '%s' appears twice", what, name);
                goto done;
            }
        member.len = 0;
        char chunk[1 << 16];
        for (;;) {
            la_ssize_t got = archive_read_data(a, chunk, sizeof chunk);
            if (got < 0) {
                st = mdki_fail(MDK_ERR_FORMAT, "%s: member '%s': %s", what, path, arc_msg(a));
                goto done;
            }
            if (got == 0) break;
            st = mdki_buf_add(&member, chunk, (size_t)got);
            if (st != MDK_OK) {
                st = mdki_fail_prefix(st, "%s: member '%s'", what, path);
                goto done;
            }
        }
        char mwhat[1200];
        snprintf(mwhat, sizeof mwhat, "%.100s[%s]", what, name); /* a name in messages only */
        mdk_tensor *t;
        st = mdki_npy_decode(member.data ? member.data : "", member.len, mwhat, &t);
        if (st != MDK_OK) goto done;
        mdk_tensor **grown = mdki_realloc(ts, (n + 1) * sizeof *ts);
        if (!grown || (st = mdk_tensor_set_name(t, name)) != MDK_OK) {
            mdk_tensor_free(t);
            if (grown) ts = grown;
            st = st != MDK_OK ? st : MDK_ERR_NO_MEMORY;
            goto done;
        }
        ts = grown;
        ts[n++] = t;
    }
done:
    mdki_buf_free(&member);
    archive_read_free(a);
    if (st != MDK_OK) {
        mdk_tensors_free(ts, n);
        return st;
    }
    if (!ts && !(ts = mdki_malloc(sizeof *ts))) return MDK_ERR_NO_MEMORY;
    *out = ts;
    *count = n;
    return MDK_OK;
}

mdk_status mdk_npz_read(const char *path, mdk_tensor ***out, size_t *count)
{
    char *data;
    size_t len;
    if (!path || !out || !count) return mdki_fail(MDK_ERR_INVALID_ARGUMENT, "mdk_npz_read: NULL argument");
    mdk_status st = mdki_read_file(path, NPZ_MAX_FILE_BYTES, "npz file", &data, &len);
    if (st != MDK_OK) return st;
    st = mdki_npz_decode(data, len, path, out, count);
    mdki_free(data);
    return st;
}

static la_ssize_t buf_writer(struct archive *a, void *ctx, const void *p, size_t n)
{
    (void)a;
    return mdki_buf_add(ctx, p, n) == MDK_OK ? (la_ssize_t)n : -1;
}

mdk_status mdk_npz_write(const char *path, mdk_tensor *const *ts, size_t n, int compress)
{
    if (!path || (n && !ts)) return mdki_fail(MDK_ERR_INVALID_ARGUMENT, "mdk_npz_write: NULL argument");
    for (size_t i = 0; i < n; i++) {
        if (!*mdk_tensor_name(ts[i]))
            return mdki_fail(MDK_ERR_INVALID_ARGUMENT, "npz: array %zu has no name", i);
        for (size_t j = 0; j < i; j++)
            if (strcmp(mdk_tensor_name(ts[i]), mdk_tensor_name(ts[j])) == 0)
                return mdki_fail(MDK_ERR_INVALID_ARGUMENT, "npz: array name '%s' is used twice", mdk_tensor_name(ts[i]));
    }
    mdki_buf zip, npy;
    mdki_buf_init(&zip, NPZ_MAX_FILE_BYTES);
    mdki_buf_init(&npy, MDK_TENSOR_MAX_BYTES + (1u << 20));
    mdk_status st = MDK_OK;
    struct archive *a = archive_write_new();
    struct archive_entry *e = archive_entry_new();
    if (!a || !e) {
        st = mdki_fail(MDK_ERR_NO_MEMORY, "out of memory");
        goto done;
    }
    if (archive_write_set_format_zip(a) != ARCHIVE_OK ||
        archive_write_set_options(a, compress ? "zip:compression=deflate" : "zip:compression=store") != ARCHIVE_OK ||
        archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
        archive_write_open(a, &zip, NULL, buf_writer, NULL) != ARCHIVE_OK) {
        st = mdki_fail(MDK_ERR_IO, "npz '%s': %s", path, arc_msg(a));
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        npy.len = 0;
        st = mdki_npy_encode(ts[i], &npy);
        if (st != MDK_OK) goto done;
        char name[1028];
        st = mdki_format(name, sizeof name, "npz member name", "%s.npy", mdk_tensor_name(ts[i]));
        if (st != MDK_OK) goto done;
        archive_entry_clear(e);
        archive_entry_set_pathname(e, name);
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_size(e, (la_int64_t)npy.len);
        archive_entry_set_mtime(e, 315532800, 0); /* 1980-01-01: reproducible output */
        if (archive_write_header(a, e) != ARCHIVE_OK ||
            (npy.len && archive_write_data(a, npy.data, npy.len) != (la_ssize_t)npy.len)) {
            st = mdki_fail(MDK_ERR_IO, "npz '%s': %s", path, arc_msg(a));
            goto done;
        }
    }
    if (archive_write_close(a) != ARCHIVE_OK) {
        st = mdki_fail(MDK_ERR_IO, "npz '%s': %s", path, arc_msg(a));
        goto done;
    }
    st = mdki_write_file(path, zip.data, zip.len);
done:
    archive_entry_free(e);
    if (a) archive_write_free(a);
    mdki_buf_free(&zip);
    mdki_buf_free(&npy);
    return st;
}
