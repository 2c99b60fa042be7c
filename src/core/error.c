/* error.c: status descriptions and the per-thread error message behind mdk_errmsg(). */
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

static _Thread_local char g_errmsg[1024];

const char *mdk_status_str(mdk_status status)
{
    switch (status) {
    case MDK_OK: return "ok";
    case MDK_ERR_INVALID_ARGUMENT: return "invalid argument";
    case MDK_ERR_NOT_FOUND: return "not found";
    case MDK_ERR_IO: return "I/O error";
    case MDK_ERR_FORMAT: return "bad format";
    case MDK_ERR_TOO_LARGE: return "too large";
    case MDK_ERR_NO_MEMORY: return "out of memory";
    case MDK_ERR_MISMATCH: return "mismatch";
    case MDK_ERR_RUNTIME: return "runtime error";
    case MDK_ERR_UNSUPPORTED: return "unsupported";
    }
    return "unknown status";
}

const char *mdk_errmsg(void)
{
    return g_errmsg;
}

void mdki_clear_error(void)
{
    g_errmsg[0] = '\0';
}

mdk_status mdki_fail(mdk_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_errmsg, sizeof g_errmsg, fmt, ap);
    va_end(ap);
    return status;
}

mdk_status mdki_fail_prefix(mdk_status status, const char *fmt, ...)
{
    char prefix[512];
    char old[sizeof g_errmsg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, g_errmsg, sizeof old);
    /* A message is one line of at most sizeof g_errmsg - 1 bytes: a longer one ends in "..." */
    size_t p = strlen(prefix), o = strlen(old), room = sizeof g_errmsg - 1;
    memcpy(g_errmsg, prefix, p);
    memcpy(g_errmsg + p, ": ", 2);
    if (p + 2 + o > room) {
        o = room - p - 2 - 3;
        memcpy(g_errmsg + p + 2 + o, "...", 4);
    } else {
        g_errmsg[p + 2 + o] = '\0';
    }
    memcpy(g_errmsg + p + 2, old, o);
    return status;
}

void mdki_assert_fail(const char *file, int line, const char *expr)
{
    fprintf(stderr, "mdk: internal error at %s:%d: assertion '%s' failed\n", file, line, expr);
    abort();
}
