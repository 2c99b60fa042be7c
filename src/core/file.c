/* file.c: bounded whole-file reads, atomic writes and a capped growable buffer. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "core/core.h"

mdk_status mdki_read_file(const char *path, uint64_t cap, const char *what, char **data, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        mdk_status st = errno == ENOENT ? MDK_ERR_NOT_FOUND : MDK_ERR_IO;
        return mdki_fail(st, "%s '%s': %s", what, path, strerror(errno));
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        return mdki_fail(MDK_ERR_IO, "%s '%s': %s", what, path, strerror(e));
    }
    if (S_ISDIR(sb.st_mode)) {
        close(fd);
        return mdki_fail(MDK_ERR_IO, "%s '%s' is a directory, expected a file", what, path);
    }
    if ((uint64_t)sb.st_size > cap) {
        close(fd);
        return mdki_fail(MDK_ERR_TOO_LARGE, "%s '%s' is %lld bytes, above the limit of %llu bytes", what, path,
                         (long long)sb.st_size, (unsigned long long)cap);
    }
    /* Read until EOF rather than trusting st_size (pipes, files that change under us). */
    mdki_buf b;
    mdki_buf_init(&b, cap);
    char chunk[1 << 16];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int e = errno;
            close(fd);
            mdki_buf_free(&b);
            return mdki_fail(MDK_ERR_IO, "%s '%s': %s", what, path, strerror(e));
        }
        if (n == 0) break;
        mdk_status st = mdki_buf_add(&b, chunk, (size_t)n);
        if (st != MDK_OK) {
            close(fd);
            mdki_buf_free(&b);
            if (st == MDK_ERR_TOO_LARGE)
                return mdki_fail(st, "%s '%s' is larger than the limit of %llu bytes", what, path,
                                 (unsigned long long)cap);
            return st;
        }
    }
    close(fd);
    if (!b.data && mdki_buf_add(&b, "", 0) != MDK_OK) return MDK_ERR_NO_MEMORY;
    *data = mdki_buf_take(&b, len);
    return MDK_OK;
}

/* A name beside `path` that did not exist: `path` + ".tmp-<pid>-<n>", created by `make` (which fails with
 * EEXIST when the name is taken). Files and directories are created with the caller's umask applied, as
 * any program's are: the library never changes the process's umask. */
static int make_temp(const char *path, char *tmp, size_t size, int (*make)(const char *, void *), void *ctx)
{
    static _Atomic unsigned long counter;
    for (int tries = 0; tries < 100; tries++) {
        unsigned long n = ++counter;
        if (snprintf(tmp, size, "%s.tmp-%ld-%lu", path, (long)getpid(), n) >= (int)size) return errno = ENAMETOOLONG, -1;
        int r = make(tmp, ctx);
        if (r >= 0 || errno != EEXIST) return r;
    }
    return -1;
}

static int make_file(const char *tmp, void *ctx)
{
    (void)ctx;
    return open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
}

static int make_dir(const char *tmp, void *ctx)
{
    (void)ctx;
    return mkdir(tmp, 0777);
}

mdk_status mdki_make_temp_dir(const char *path, char *tmp, size_t size)
{
    if (make_temp(path, tmp, size, make_dir, NULL) != 0)
        return mdki_fail(MDK_ERR_IO, "cannot create a directory beside '%s': %s", path, strerror(errno));
    return MDK_OK;
}

mdk_status mdki_write_file(const char *path, const void *data, size_t len)
{
    size_t plen = strlen(path);
    char *tmp = mdki_malloc(plen + 48);
    if (!tmp) return MDK_ERR_NO_MEMORY;
    int fd = make_temp(path, tmp, plen + 48, make_file, NULL);
    if (fd < 0) {
        mdk_status st = mdki_fail(MDK_ERR_IO, "cannot write '%s': %s", path, strerror(errno));
        mdki_free(tmp);
        return st;
    }
    const char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t n = write(fd, p, left);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) goto fail;
        p += n;
        left -= (size_t)n;
    }
    if (fsync(fd) != 0) goto fail;
    if (close(fd) != 0) {
        fd = -1;
        goto fail;
    }
    fd = -1;
    if (rename(tmp, path) != 0) goto fail;
    mdki_free(tmp);
    return MDK_OK;
fail:;
    int e = errno;
    if (fd >= 0) close(fd);
    unlink(tmp);
    mdki_free(tmp);
    return mdki_fail(MDK_ERR_IO, "cannot write '%s': %s", path, strerror(e));
}

const char *mdki_path_ext(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    const char *dot = strrchr(base, '.');
    return dot && dot != base ? dot + 1 : "";
}

void mdki_buf_init(mdki_buf *b, size_t limit)
{
    b->data = NULL;
    b->len = 0;
    b->cap_alloc = 0;
    b->limit = limit;
}

void mdki_buf_free(mdki_buf *b)
{
    mdki_free(b->data);
    mdki_buf_init(b, b->limit);
}

mdk_status mdki_buf_add(mdki_buf *b, const void *p, size_t n)
{
    if (n > b->limit || b->len > b->limit - n)
        return mdki_fail(MDK_ERR_TOO_LARGE, "data larger than the limit of %zu bytes", b->limit);
    if (b->len + n + 1 > b->cap_alloc) {
        size_t want = b->cap_alloc ? b->cap_alloc : 256;
        while (want < b->len + n + 1) want = want > SIZE_MAX / 2 ? b->len + n + 1 : want * 2;
        char *d = mdki_realloc(b->data, want);
        if (!d) return MDK_ERR_NO_MEMORY;
        b->data = d;
        b->cap_alloc = want;
    }
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return MDK_OK;
}

mdk_status mdki_buf_addc(mdki_buf *b, char c)
{
    return mdki_buf_add(b, &c, 1);
}

mdk_status mdki_buf_addv(mdki_buf *b, const char *fmt, va_list ap)
{
    char small[256];
    va_list again;
    va_copy(again, ap);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    if (n < 0 || (size_t)n < sizeof small) {
        va_end(again);
        return n < 0 ? mdki_fail(MDK_ERR_INVALID_ARGUMENT, "bad format string") : mdki_buf_add(b, small, (size_t)n);
    }
    char *big = mdki_malloc((size_t)n + 1);
    if (!big) {
        va_end(again);
        return MDK_ERR_NO_MEMORY;
    }
    vsnprintf(big, (size_t)n + 1, fmt, again);
    va_end(again);
    mdk_status st = mdki_buf_add(b, big, (size_t)n);
    mdki_free(big);
    return st;
}

mdk_status mdki_buf_addf(mdki_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    mdk_status st = mdki_buf_addv(b, fmt, ap);
    va_end(ap);
    return st;
}

mdk_status mdki_buf_json_string(mdki_buf *b, const char *s)
{
    mdki_jw w;
    mdki_jw_init(&w, b, 0);
    mdki_jw_string(&w, s);
    return mdki_jw_finish(&w);
}

char *mdki_buf_take(mdki_buf *b, size_t *len)
{
    char *d = b->data;
    if (len) *len = b->len;
    mdki_buf_init(b, b->limit);
    return d;
}

mdk_status mdk_path_join(char *out, size_t size, const char *dir, const char *name)
{
    if (!out || !size || !name) return mdki_fail(MDK_ERR_INVALID_ARGUMENT, "mdk_path_join: NULL argument");
    size_t dl = dir ? strlen(dir) : 0, nl = strlen(name);
    int sep = dl && dir[dl - 1] != '/';
    size_t total = dl + (size_t)sep + nl;
    if (total >= size) {
        out[0] = '\0';
        return mdki_fail(MDK_ERR_TOO_LARGE, "path '%.*s%s%.60s%s' is %zu bytes long, the limit is %zu", (int)(dl < 60 ? dl : 60),
                         dir ? dir : "", dl > 60 ? ".../" : sep ? "/" : "", name, nl > 60 ? "..." : "", total, size - 1);
    }
    if (dl) memcpy(out, dir, dl);
    if (sep) out[dl] = '/';
    memcpy(out + dl + (size_t)sep, name, nl + 1);
    return MDK_OK;
}

mdk_status mdki_format(char *out, size_t size, const char *what, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, size, fmt, ap);
    va_end(ap);
    if (n < 0) return mdki_fail(MDK_ERR_INVALID_ARGUMENT, "%s: cannot be formatted", what);
    if ((size_t)n >= size)
        return mdki_fail(MDK_ERR_TOO_LARGE, "%s '%.60s...' is %d bytes long, the limit is %zu", what, out, n, size - 1);
    return MDK_OK;
}

void mdk_sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, data ? data : (const void *)"", data ? len : 0);
    sodium_bin2hex(out, 65, h, sizeof h);
}
