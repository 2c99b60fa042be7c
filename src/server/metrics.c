/* metrics.c: mdk serve's Prometheus metrics: requests by model, version and status; latency histograms
 * (queue, preprocess, inference, total) and batch sizes per model; queue depth and requests in flight;
 * rendered in the Prometheus text exposition format. */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

static const double g_bounds[SRV_HIST_BUCKETS] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                   0.1,    0.25,  0.5,    1,     2.5,  5,     10};

typedef struct named {
    char *model;
    srv_model_metrics m;
    struct named *next;
} named;

typedef struct counter {
    char *model, *version, *path;
    int code;
    atomic_ullong n;
    struct counter *next;
} counter;

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static named *g_models;
static counter *g_counters;
static double g_started;

void srv_hist_add(srv_hist *h, double seconds)
{
    size_t b = 0;
    while (b < SRV_HIST_BUCKETS && seconds > g_bounds[b]) b++;
    atomic_fetch_add(&h->counts[b], 1);
    atomic_fetch_add(&h->sum_us, (unsigned long long)(seconds > 0 ? seconds * 1e6 : 0));
    atomic_fetch_add(&h->n, 1);
}

srv_model_metrics *srv_metrics_model(const char *model)
{
    pthread_mutex_lock(&g_mu);
    named *n = g_models;
    while (n && strcmp(n->model, model)) n = n->next;
    if (!n && (n = calloc(1, sizeof *n)) && (n->model = strdup(model))) {
        n->next = g_models;
        g_models = n;
    } else if (n && !n->model) {
        free(n);
        n = NULL;
    }
    pthread_mutex_unlock(&g_mu);
    return n ? &n->m : NULL;
}

void srv_metrics_request(const char *model, const char *version, const char *path, int code)
{
    pthread_mutex_lock(&g_mu);
    counter *c = g_counters;
    while (c && (c->code != code || strcmp(c->model, model) || strcmp(c->version, version) || strcmp(c->path, path)))
        c = c->next;
    if (!c && (c = calloc(1, sizeof *c))) {
        c->model = strdup(model), c->version = strdup(version), c->path = strdup(path), c->code = code;
        if (!c->model || !c->version || !c->path) {
            free(c->model), free(c->version), free(c->path), free(c);
            c = NULL;
        } else {
            c->next = g_counters;
            g_counters = c;
        }
    }
    if (c) atomic_fetch_add(&c->n, 1);
    pthread_mutex_unlock(&g_mu);
}

void srv_metrics_start(double now) { g_started = now; }

typedef struct text {
    char *p;
    size_t len, cap;
} text;

static void addf(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void addf(text *t, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = t->p ? vsnprintf(t->p + t->len, t->cap - t->len, fmt, ap) : -1;
        va_end(ap);
        if (n >= 0 && (size_t)n < t->cap - t->len) {
            t->len += (size_t)n;
            return;
        }
        size_t cap = t->cap ? t->cap * 2 : 16384;
        char *p = realloc(t->p, cap);
        if (!p) return;
        t->p = p, t->cap = cap;
    }
}

/* A label value with \, " and newlines escaped as the format requires. */
static const char *esc(const char *s, char *buf, size_t size)
{
    size_t o = 0;
    for (; *s && o + 3 < size; s++) {
        if (*s == '\\' || *s == '"') buf[o++] = '\\', buf[o++] = *s;
        else if (*s == '\n') buf[o++] = '\\', buf[o++] = 'n';
        else buf[o++] = *s;
    }
    buf[o] = '\0';
    return buf;
}

static void hist(text *t, const char *metric, const char *model, const srv_hist *h)
{
    char m[512];
    esc(model, m, sizeof m);
    unsigned long long cum = 0;
    for (size_t b = 0; b < SRV_HIST_BUCKETS; b++) {
        cum += atomic_load(&h->counts[b]);
        addf(t, "%s_bucket{model=\"%s\",le=\"%g\"} %llu\n", metric, m, g_bounds[b], cum);
    }
    cum += atomic_load(&h->counts[SRV_HIST_BUCKETS]);
    addf(t, "%s_bucket{model=\"%s\",le=\"+Inf\"} %llu\n", metric, m, cum);
    addf(t, "%s_sum{model=\"%s\"} %.6f\n", metric, m, (double)atomic_load(&h->sum_us) * 1e-6);
    addf(t, "%s_count{model=\"%s\"} %llu\n", metric, m, (unsigned long long)atomic_load(&h->n));
}

char *srv_metrics_text(double now, int inflight)
{
    text t = {0};
    char a[512], b[512], c[512];
    pthread_mutex_lock(&g_mu);
    addf(&t, "# HELP mdk_requests_total HTTP requests answered, by model, version, endpoint and status code.\n"
             "# TYPE mdk_requests_total counter\n");
    for (counter *k = g_counters; k; k = k->next)
        addf(&t, "mdk_requests_total{model=\"%s\",version=\"%s\",endpoint=\"%s\",code=\"%d\"} %llu\n", esc(k->model, a, sizeof a),
             esc(k->version, b, sizeof b), esc(k->path, c, sizeof c), k->code, (unsigned long long)atomic_load(&k->n));
    static const struct {
        const char *name, *help;
        size_t off;
    } hs[] = {
        {"mdk_queue_seconds", "Time from admission to the start of inference.", offsetof(srv_model_metrics, queue)},
        {"mdk_preprocess_seconds", "Image decoding and preprocessing time.", offsetof(srv_model_metrics, preprocess)},
        {"mdk_inference_seconds", "Model execution time (whole batch).", offsetof(srv_model_metrics, inference)},
        {"mdk_request_seconds", "Total time from the request's arrival to its answer.", offsetof(srv_model_metrics, total)},
    };
    for (size_t i = 0; i < sizeof hs / sizeof hs[0]; i++) {
        addf(&t, "# HELP %s %s\n# TYPE %s histogram\n", hs[i].name, hs[i].help, hs[i].name);
        for (named *n = g_models; n; n = n->next) hist(&t, hs[i].name, n->model, (const srv_hist *)((const char *)&n->m + hs[i].off));
    }
    static const char *const sizes[] = {"1", "2", "4", "8", "16", "32", "64", "+Inf"};
    addf(&t, "# HELP mdk_batch_size Requests run together in one model execution.\n# TYPE mdk_batch_size histogram\n");
    for (named *n = g_models; n; n = n->next) {
        unsigned long long cum = 0, sum = 0;
        for (size_t k = 0; k < 8; k++) {
            cum += atomic_load(&n->m.batch_sizes[k]);
            addf(&t, "mdk_batch_size_bucket{model=\"%s\",le=\"%s\"} %llu\n", esc(n->model, a, sizeof a), sizes[k], cum);
        }
        sum = atomic_load(&n->m.batch_sum);
        addf(&t, "mdk_batch_size_sum{model=\"%s\"} %llu\nmdk_batch_size_count{model=\"%s\"} %llu\n", a, sum, a, cum);
    }
    addf(&t, "# HELP mdk_queue_depth Requests waiting for an inference worker.\n# TYPE mdk_queue_depth gauge\n");
    for (named *n = g_models; n; n = n->next)
        addf(&t, "mdk_queue_depth{model=\"%s\"} %d\n", esc(n->model, a, sizeof a), atomic_load(&n->m.queue_depth));
    pthread_mutex_unlock(&g_mu);
    addf(&t, "# HELP mdk_inflight_requests Requests admitted and not yet answered.\n# TYPE mdk_inflight_requests gauge\n"
             "mdk_inflight_requests %d\n", inflight);
    addf(&t, "# HELP mdk_uptime_seconds Seconds since the server started.\n# TYPE mdk_uptime_seconds gauge\n"
             "mdk_uptime_seconds %.3f\n", now - g_started);
    return t.p;
}

void srv_metrics_batch(srv_model_metrics *m, int size)
{
    size_t k = 0;
    for (int lim = 1; k < 7 && size > lim; lim *= 2) k++;
    atomic_fetch_add(&m->batch_sizes[k], 1);
    atomic_fetch_add(&m->batch_sum, (unsigned long long)size);
}
