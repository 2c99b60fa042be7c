/* alloc.c: the single allocation path of the library, with a fault-injection hook for tests. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

static atomic_long g_countdown = -1; /* < 0: never fail */
static atomic_long g_count = 0;
static _Thread_local unsigned long g_failures;

unsigned long mdki_alloc_failures(void)
{
    return g_failures;
}

long mdki_alloc_fail_after(long n)
{
    long made = atomic_exchange(&g_count, 0);
    atomic_store(&g_countdown, n);
    return made;
}

static int should_fail(void)
{
    atomic_fetch_add(&g_count, 1);
    long c = atomic_load(&g_countdown);
    if (c < 0) return 0;
    if (c == 0) {
        g_failures++;
        return 1;
    }
    atomic_fetch_sub(&g_countdown, 1);
    return 0;
}

void *mdki_malloc(size_t n)
{
    void *p = should_fail() ? NULL : malloc(n ? n : 1);
    if (!p) mdki_fail(MDK_ERR_NO_MEMORY, "out of memory (allocating %zu bytes)", n);
    return p;
}

void *mdki_calloc(size_t count, size_t size)
{
    void *p = should_fail() ? NULL : calloc(count ? count : 1, size ? size : 1);
    if (!p) mdki_fail(MDK_ERR_NO_MEMORY, "out of memory (allocating %zu x %zu bytes)", count, size);
    return p;
}

void *mdki_realloc(void *old, size_t n)
{
    void *p = should_fail() ? NULL : realloc(old, n ? n : 1);
    if (!p) mdki_fail(MDK_ERR_NO_MEMORY, "out of memory (allocating %zu bytes)", n);
    return p;
}

void mdki_free(void *p)
{
    free(p);
}

void mdk_free(void *p)
{
    mdki_free(p);
}

char *mdki_strndup(const char *s, size_t n)
{
    char *p = mdki_malloc(n + 1);
    if (!p) return NULL;
    if (n) memcpy(p, s, n); /* s may be NULL when n is 0 (an empty protobuf bytes field) */
    p[n] = '\0';
    return p;
}

char *mdki_strdup(const char *s)
{
    return mdki_strndup(s, strlen(s));
}

int mdki_mul_size(size_t a, size_t b, size_t *out)
{
    if (a != 0 && b > SIZE_MAX / a) return 0;
    *out = a * b;
    return 1;
}
