/* core.h: the library's internal foundation: error reporting, the allocation wrapper, bounded file I/O
 * and a capped growable buffer. Internal names carry the mdki_ prefix. */
#ifndef MDK_CORE_H
#define MDK_CORE_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

#include "mdk/mdk.h"

#if defined(__GNUC__)
#define MDKI_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define MDKI_HIDDEN __attribute__((visibility("hidden")))
#else
#define MDKI_PRINTF(a, b)
#define MDKI_HIDDEN
#endif

/* Programmer errors (never bad input) stop with file and line. */
#define MDKI_ASSERT(x)                                                              \
    do {                                                                            \
        if (!(x)) mdki_assert_fail(__FILE__, __LINE__, #x);                         \
    } while (0)
void mdki_assert_fail(const char *file, int line, const char *expr);

/* Records `fmt` as the calling thread's error message and returns `status`. */
mdk_status mdki_fail(mdk_status status, const char *fmt, ...) MDKI_PRINTF(2, 3);
/* Prefixes the current message with "<prefix>: " and returns `status`. */
mdk_status mdki_fail_prefix(mdk_status status, const char *fmt, ...) MDKI_PRINTF(2, 3);
void mdki_clear_error(void);

/* Allocation: every allocation of the library goes through these, so that tests can count allocations and
 * make the Nth one fail. A failing allocation records "out of memory". */
void *mdki_malloc(size_t n);
void *mdki_calloc(size_t count, size_t size);
void *mdki_realloc(void *p, size_t n);
void mdki_free(void *p);
char *mdki_strdup(const char *s);
char *mdki_strndup(const char *s, size_t n);
/* Test hook: after `n` more successful allocations, every allocation fails (n < 0 disables). Returns the
 * number of allocations made since the last call. */
long mdki_alloc_fail_after(long n);

/* The number of allocations that failed on this thread so far: lets callers of third-party parsers that
 * report only "failed" tell an allocation failure from bad input. */
unsigned long mdki_alloc_failures(void);

/* Overflow-checked a * b. Returns 0 on overflow. */
int mdki_mul_size(size_t a, size_t b, size_t *out);

/* Reads a whole file into a new buffer (NUL-terminated one byte past `*len`), refusing files larger than
 * `cap` with MDK_ERR_TOO_LARGE. `what` names the file's role in messages ("model", "input x"). */
mdk_status mdki_read_file(const char *path, uint64_t cap, const char *what, char **data, size_t *len);
/* Writes `len` bytes to `path` atomically: a temporary file beside it, fsync, rename. The file's mode is 0666
 * less the process's umask, as for any file a program creates. */
mdk_status mdki_write_file(const char *path, const void *data, size_t len);
/* snprintf that refuses to cut: MDK_ERR_TOO_LARGE naming `what`, its length and the limit when the result
 * does not fit in `size` bytes. For paths, prefer mdk_path_join. */
mdk_status mdki_format(char *out, size_t size, const char *what, const char *fmt, ...) MDKI_PRINTF(4, 5);
/* Creates a new directory beside `path` (`path`.tmp-...), mode 0777 less the umask; its name in `tmp`. */
mdk_status mdki_make_temp_dir(const char *path, char *tmp, size_t size);
/* The lowercase extension of `path` without the dot ("" when none), pointing into `path`. */
const char *mdki_path_ext(const char *path);

/* A growable byte buffer with a hard cap (curl's dynbuf idea). */
typedef struct mdki_buf {
    char *data;
    size_t len;
    size_t cap_alloc;
    size_t limit;
} mdki_buf;
void mdki_buf_init(mdki_buf *b, size_t limit);
void mdki_buf_free(mdki_buf *b);
mdk_status mdki_buf_add(mdki_buf *b, const void *p, size_t n);
mdk_status mdki_buf_addf(mdki_buf *b, const char *fmt, ...) MDKI_PRINTF(2, 3);
mdk_status mdki_buf_addv(mdki_buf *b, const char *fmt, va_list ap) MDKI_PRINTF(2, 0);
mdk_status mdki_buf_addc(mdki_buf *b, char c);
/* Appends `s` as a JSON string literal (also a YAML double-quoted scalar), escaped as mdki_jw_string does. */
mdk_status mdki_buf_json_string(mdki_buf *b, const char *s);
/* Hands the buffer's memory to the caller (NUL-terminated) and resets `b`. */
char *mdki_buf_take(mdki_buf *b, size_t *len);

/* The length of the UTF-8 sequence at `s` and its code point in `*cp`; 0 when it is not valid UTF-8 (overlong
 * forms, surrogates and values above U+10FFFF included). */
size_t mdki_utf8_next(const unsigned char *s, uint32_t *cp);

/* A JSON writer over a capped buffer: the library's one way of writing JSON. Calls after an error do nothing;
 * mdki_jw_finish returns the first error. `pretty` writes one value per line, indented by two spaces;
 * otherwise ", " and ": " separate items on one line. Strings are escaped and invalid UTF-8 replaced by
 * U+FFFD. NaN and infinities are written as the strings "NaN", "Infinity", "-Infinity". */
#define MDKI_JW_MAX_DEPTH 32
typedef struct mdki_jw {
    mdki_buf *b;
    mdk_status st;
    int pretty, depth, after_key, too_deep;
    size_t count[MDKI_JW_MAX_DEPTH]; /* items written so far at each open level */
} mdki_jw;
void mdki_jw_init(mdki_jw *w, mdki_buf *b, int pretty);
void mdki_jw_object(mdki_jw *w);
void mdki_jw_end_object(mdki_jw *w);
void mdki_jw_array(mdki_jw *w);
void mdki_jw_end_array(mdki_jw *w);
void mdki_jw_key(mdki_jw *w, const char *key);
void mdki_jw_string(mdki_jw *w, const char *s);          /* NULL writes "" */
void mdki_jw_stringn(mdki_jw *w, const char *s, size_t n);
void mdki_jw_int(mdki_jw *w, long long v);
void mdki_jw_uint(mdki_jw *w, unsigned long long v);
void mdki_jw_number(mdki_jw *w, double v, int digits);  /* %.<digits>g */
void mdki_jw_fixed(mdki_jw *w, double v, int decimals); /* %.<decimals>f; null when not finite */
void mdki_jw_bool(mdki_jw *w, int v);
void mdki_jw_null(mdki_jw *w);
/* A value already encoded as JSON (a nested document), written as it is. */
void mdki_jw_raw(mdki_jw *w, const char *json, size_t len);
mdk_status mdki_jw_finish(mdki_jw *w);

/* Copies caller options of any struct_size into a full struct with defaults for the fields it lacks. */
mdk_status mdki_options_copy(const mdk_options *in, mdk_options *out);

#endif
