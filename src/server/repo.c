/* repo.c: mdk serve's model repository: bundles found as NAME/VERSION/ (or NAME/VERSION.mdk), as bundles
 * directly, or bare .onnx files; each version loaded and verified before it is published, the newest being
 * the default; a background scan (and explicit load requests) brings in new versions and switches them in
 * atomically, while requests in flight keep the version they started on. */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "server.h"

#define MAX_MODELS 256
#define MAX_VERSIONS 32
#define MAX_FOUND 1024

typedef struct model {
    char *name;
    srv_version *versions[MAX_VERSIONS]; /* sorted, oldest first */
    size_t n;
    int unloaded;                         /* by request: the scan leaves it alone until loaded again */
    char **unloaded_sources;              /* where its versions came from, for folders named by the bundle */
    size_t n_unloaded_sources;
} model;

typedef struct found {
    char name[256], version[128], path[4096];
    int bare; /* 1: a .onnx file; 2: a spec (mdk.yaml naming its model); 0: a bundle */
} found;

/* What failed to load, so that the scan does not retry it until the source changes. */
typedef struct failed {
    char path[4096];
    time_t mtime;
} failed;

static const srv_config *g_cfg;
static pthread_rwlock_t g_lock = PTHREAD_RWLOCK_INITIALIZER;
static pthread_mutex_t g_scan_lock = PTHREAD_MUTEX_INITIALIZER; /* one scan (load) at a time */
static model g_models[MAX_MODELS];
static size_t g_n_models;
static failed g_failed[256];
static size_t g_n_failed;
static pthread_t g_poller;
static int g_polling;
static pthread_mutex_t g_stop_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_stop_cv = PTHREAD_COND_INITIALIZER;
static int g_stop;

static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logf_(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "mdk serve: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* Semantic-version order (numeric major.minor.patch, then text), for "the newest version". */
static int version_cmp(const char *a, const char *b)
{
    for (;;) {
        char *ea, *eb;
        unsigned long long x = strtoull(a, &ea, 10), y = strtoull(b, &eb, 10);
        if (ea == a || eb == b) return strcmp(a, b);
        if (x != y) return x < y ? -1 : 1;
        a = ea, b = eb;
        if (*a == '.' && *b == '.') {
            a++, b++;
            continue;
        }
        if (!*a || !*b) return *a ? (*a == '-' ? -1 : 1) : *b ? (*b == '-' ? 1 : -1) : 0; /* 1.0.0-rc < 1.0.0 */
        return strcmp(a, b);
    }
}

static void version_free(srv_version *v)
{
    if (!v) return;
    srv_exec_free(v->exec);
    if (v->pipe) mdk_pipeline_close(v->pipe);
    else mdk_model_close(v->model);
    mdk_bundle_close(v->bundle);
    free(v->name), free(v->version), free(v->source), free(v->digest), free(v->metadata);
    free(v);
}

void srv_version_release(srv_version *v)
{
    if (v && atomic_fetch_sub(&v->refs, 1) == 1) version_free(v);
}

static cJSON *io_json(const mdk_value_info *vi)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", vi->name);
    const char *dt = mdk_v2_datatype(vi->dtype);
    cJSON_AddStringToObject(o, "datatype", dt ? dt : mdk_dtype_name(vi->dtype));
    cJSON *sh = cJSON_AddArrayToObject(o, "shape");
    for (size_t k = 0; k < vi->ndim; k++) cJSON_AddItemToArray(sh, cJSON_CreateNumber((double)vi->dims[k].value));
    return o;
}

/* Loads, verifies and prepares a version; NULL with `err` set. */
static srv_version *load_version(const found *f, char *err, size_t errsize)
{
    srv_version *v = calloc(1, sizeof *v);
    if (!v) return snprintf(err, errsize, "out of memory"), NULL;
    atomic_init(&v->refs, 1);
    mdk_options o;
    mdk_options_init(&o);
    const mdk_spec_runtime *rt = NULL;
    mdk_status st = MDK_OK;
    mdk_spec *spec = NULL; /* a spec served as it is: read for its runtime defaults, then opened as a pipeline */
    mdk_spec_runtime spec_rt;
    if (!f->bare) {
        st = mdk_bundle_open(f->path, &v->bundle);
        if (st == MDK_OK) rt = mdk_spec_runtime_defaults(mdk_bundle_spec(v->bundle));
    } else if (f->bare == 2) {
        st = mdk_spec_read(f->path, &spec);
        if (st == MDK_OK) spec_rt = *mdk_spec_runtime_defaults(spec), rt = &spec_rt; /* a copy: the spec is freed below */
    }
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int workers = g_cfg->workers ? g_cfg->workers : rt && rt->concurrency ? rt->concurrency : (int)(cores > 0 ? cores : 1);
    o.intra_op_threads = g_cfg->threads ? g_cfg->threads : rt && rt->threads ? rt->threads : 1;
    int max_batch = g_cfg->max_batch_size ? g_cfg->max_batch_size : rt && rt->batch ? rt->batch : 1;
    if (st == MDK_OK && v->bundle && g_cfg->verify_on_load) {
        size_t passed = 0, failed_n = 0;
        st = mdk_bundle_run_cases(v->bundle, &o, NULL, NULL, &passed, &failed_n);
        if (st == MDK_OK && failed_n) {
            snprintf(err, errsize, "%s: %zu of %zu test cases fail; not serving it", f->path, failed_n, passed + failed_n);
            version_free(v);
            return NULL;
        }
    }
    if (st == MDK_OK) {
        if (v->bundle || spec) {
            st = v->bundle ? mdk_bundle_pipeline(v->bundle, &o, &v->pipe) : mdk_pipeline_open(f->path, &o, &v->pipe);
            if (st == MDK_OK) v->model = mdk_pipeline_model(v->pipe);
        } else {
            st = mdk_model_open(f->path, &o, &v->model);
        }
    }
    mdk_spec_free(spec);
    if (st != MDK_OK) {
        snprintf(err, errsize, "%s", mdk_errmsg());
        version_free(v);
        return NULL;
    }
    const mdk_spec *named = v->pipe && f->bare != 1 ? mdk_pipeline_spec(v->pipe) : NULL; /* bundles and specs */
    v->name = strdup(named ? mdk_spec_name(named) : f->name);
    v->version = strdup(named ? (*mdk_spec_version(named) ? mdk_spec_version(named) : "1") : f->version);
    v->source = strdup(f->path);
    v->digest = strdup(v->bundle ? mdk_bundle_digest(v->bundle) : "");
    v->has_preprocess = v->pipe && mdk_spec_has_preprocess(mdk_pipeline_spec(v->pipe));
    if (rt) v->max_request_bytes = rt->max_request_bytes;
    cJSON *meta = cJSON_CreateObject();
    cJSON_AddStringToObject(meta, "platform", "onnxruntime_onnx");
    cJSON *ins = cJSON_AddArrayToObject(meta, "inputs"), *outs = cJSON_AddArrayToObject(meta, "outputs");
    for (size_t i = 0; i < mdk_model_input_count(v->model); i++) cJSON_AddItemToArray(ins, io_json(mdk_model_input(v->model, i)));
    for (size_t i = 0; i < mdk_model_output_count(v->model); i++) cJSON_AddItemToArray(outs, io_json(mdk_model_output(v->model, i)));
    v->metadata = cJSON_PrintUnformatted(meta);
    cJSON_Delete(meta);
    v->metrics = v->name ? srv_metrics_model(v->name) : NULL;
    if (!v->name || !v->version || !v->source || !v->digest || !v->metadata || !v->metrics ||
        !(v->exec = srv_exec_new(v, workers, max_batch, g_cfg->max_queue_delay_us, g_cfg->request_timeout_ms))) {
        snprintf(err, errsize, "out of memory");
        version_free(v);
        return NULL;
    }
    if (strcmp(v->name, f->name) && !f->bare && f->name[0] && strcmp(f->name, "*")) {
        snprintf(err, errsize, "%.300s: the bundle is '%.200s', but the repository folder is '%.200s'", f->path, v->name, f->name);
        version_free(v);
        return NULL;
    }
    if (strcmp(v->version, f->version) && f->version[0] && strcmp(f->version, "*")) {
        snprintf(err, errsize, "%.300s: the bundle is version %.100s, but its folder says %.100s", f->path, v->version, f->version);
        version_free(v);
        return NULL;
    }
    return v;
}

/* ---- scanning ---- */

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n > k && strcmp(s + n - k, suffix) == 0;
}

static void add_found(found *out, size_t *n, const char *name, const char *version, const char *path, int bare)
{
    if (*n == MAX_FOUND) return;
    found *f = &out[*n];
    if (strlen(name) >= sizeof f->name || strlen(version) >= sizeof f->version || strlen(path) >= sizeof f->path) {
        logf_("skipping '%.200s': its name (limit %zu bytes), version (limit %zu) or path (limit %zu) is too long",
              path, sizeof f->name - 1, sizeof f->version - 1, sizeof f->path - 1);
        return;
    }
    memcpy(f->name, name, strlen(name) + 1);
    memcpy(f->version, version, strlen(version) + 1);
    memcpy(f->path, path, strlen(path) + 1);
    f->bare = bare;
    (*n)++;
}

/* A bundle or .onnx given directly, or a repository: NAME/VERSION[.mdk] folders, bundles ("*" until opened). */
static void scan_path(const char *path, found *out, size_t *n)
{
    struct stat st;
    if (stat(path, &st) != 0) return;
    if (mdk_path_is_bundle(path)) return add_found(out, n, "*", "*", path, 0);
    if (S_ISREG(st.st_mode) && ends_with(path, ".onnx")) {
        const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
        char name[256];
        snprintf(name, sizeof name, "%.*s", (int)(strlen(base) - 5), base);
        return add_found(out, n, name, "1", path, 1);
    }
    if (S_ISREG(st.st_mode) && (ends_with(path, ".yaml") || ends_with(path, ".yml")))
        return add_found(out, n, "*", "*", path, 2);
    DIR *d = S_ISDIR(st.st_mode) ? opendir(path) : NULL;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char sub[4096];
        if (mdk_path_join(sub, sizeof sub, path, e->d_name) != MDK_OK) {
            logf_("skipping: %s", mdk_errmsg());
            continue;
        }
        if (mdk_path_is_bundle(sub)) { /* NAME-VERSION/ as mdk pack writes it */
            add_found(out, n, "*", "*", sub, 0);
            continue;
        }
        DIR *vd = opendir(sub);
        struct dirent *ve;
        while (vd && (ve = readdir(vd))) {
            if (ve->d_name[0] == '.') continue;
            char vpath[4096], ver[256];
            if (mdk_path_join(vpath, sizeof vpath, sub, ve->d_name) != MDK_OK) {
                logf_("skipping: %s", mdk_errmsg());
                continue;
            }
            size_t vlen = ends_with(ve->d_name, ".mdk") ? strlen(ve->d_name) - 4 : strlen(ve->d_name);
            memcpy(ver, ve->d_name, vlen); /* d_name is at most NAME_MAX (255) bytes */
            ver[vlen] = '\0';
            if (mdk_path_is_bundle(vpath)) add_found(out, n, e->d_name, ver, vpath, 0);
        }
        if (vd) closedir(vd);
    }
    if (d) closedir(d);
}

static time_t mtime_of(const char *path)
{
    struct stat st;
    char m[4200];
    if ((mdk_path_join(m, sizeof m, path, "manifest.json") == MDK_OK && stat(m, &st) == 0) || stat(path, &st) == 0)
        return st.st_mtime;
    return 0;
}

static void forget_unloaded(model *m)
{
    for (size_t i = 0; i < m->n_unloaded_sources; i++) free(m->unloaded_sources[i]);
    free(m->unloaded_sources);
    m->unloaded_sources = NULL;
    m->n_unloaded_sources = 0;
}

/* Whether the scan must leave `f` alone: its model was unloaded by request (known by the folder name, or for
 * bundles found directly, by the source the unloaded versions came from). */
static int unloaded_source(const found *f)
{
    for (size_t k = 0; k < g_n_models; k++) {
        const model *m = &g_models[k];
        if (!m->unloaded) continue;
        if (!strcmp(m->name, f->name)) return 1;
        for (size_t i = 0; i < m->n_unloaded_sources; i++)
            if (!strcmp(m->unloaded_sources[i], f->path)) return 1;
    }
    return 0;
}

static model *find_model(const char *name)
{
    for (size_t i = 0; i < g_n_models; i++)
        if (strcmp(g_models[i].name, name) == 0) return &g_models[i];
    return NULL;
}

/* Publishes `v` (replacing a loaded version of the same number); returns the replaced one, or NULL. */
static srv_version *publish(srv_version *v)
{
    srv_version *old = NULL;
    pthread_rwlock_wrlock(&g_lock);
    model *m = find_model(v->name);
    if (!m && g_n_models < MAX_MODELS && (g_models[g_n_models].name = strdup(v->name))) m = &g_models[g_n_models++];
    if (!m) {
        pthread_rwlock_unlock(&g_lock);
        return v; /* no room: dropped */
    }
    m->unloaded = 0;
    forget_unloaded(m);
    size_t i = 0;
    while (i < m->n && version_cmp(m->versions[i]->version, v->version) < 0) i++;
    if (i < m->n && version_cmp(m->versions[i]->version, v->version) == 0) {
        old = m->versions[i];
        m->versions[i] = v;
    } else if (m->n < MAX_VERSIONS) {
        memmove(&m->versions[i + 1], &m->versions[i], (m->n - i) * sizeof *m->versions);
        m->versions[i] = v;
        m->n++;
    } else {
        old = v;
    }
    pthread_rwlock_unlock(&g_lock);
    return old;
}

static int known_failure(const char *path, time_t mt)
{
    for (size_t i = 0; i < g_n_failed; i++)
        if (strcmp(g_failed[i].path, path) == 0 && g_failed[i].mtime == mt) return 1;
    return 0;
}

/* Loads what is new under the configured paths (only `name` when not NULL), retires what disappeared.
 * Returns the number of versions that failed to load; the last message goes to `err`. */
static int scan(const char *name, int explicit, char *err, size_t errsize)
{
    static found list[MAX_FOUND];
    size_t n = 0;
    int failures = 0;
    pthread_mutex_lock(&g_scan_lock);
    for (size_t i = 0; i < g_cfg->n_paths; i++) scan_path(g_cfg->paths[i], list, &n);
    for (size_t i = 0; i < n; i++) {
        const found *f = &list[i];
        if (name && strcmp(f->name, "*") && strcmp(f->name, name)) continue;
        /* already serving this source unchanged? */
        int have = 0, skip = 0;
        time_t mt = mtime_of(f->path);
        pthread_rwlock_rdlock(&g_lock);
        skip = !explicit && unloaded_source(f);
        for (size_t k = 0; k < g_n_models && !have; k++) {
            for (size_t j = 0; j < g_models[k].n; j++)
                if (strcmp(g_models[k].versions[j]->source, f->path) == 0) have = 1;
        }
        pthread_rwlock_unlock(&g_lock);
        if (have || skip || (!explicit && known_failure(f->path, mt))) continue;
        char why[1024] = "";
        srv_version *v = load_version(f, why, sizeof why);
        if (v && name && strcmp(v->name, name)) { /* a bundle folder of another model */
            version_free(v);
            continue;
        }
        if (!v) {
            failures++;
            snprintf(err, errsize, "%s", why);
            logf_("cannot load %s: %s", f->path, why);
            if (g_n_failed < sizeof g_failed / sizeof g_failed[0]) {
                snprintf(g_failed[g_n_failed].path, sizeof g_failed[0].path, "%s", f->path);
                g_failed[g_n_failed++].mtime = mt;
            }
            continue;
        }
        logf_("serving %s %s from %s (%s)", v->name, v->version, v->source, v->digest[0] ? v->digest : f->bare == 2 ? "spec, unpacked" : "bare model");
        srv_version *old = publish(v);
        if (old) srv_version_release(old);
    }
    /* versions whose source is gone */
    for (size_t k = 0; k < g_n_models; k++) {
        model *m = &g_models[k];
        for (size_t j = 0; j < m->n;) {
            struct stat st;
            if (stat(m->versions[j]->source, &st) == 0) {
                j++;
                continue;
            }
            pthread_rwlock_wrlock(&g_lock);
            srv_version *gone = m->versions[j];
            memmove(&m->versions[j], &m->versions[j + 1], (m->n - j - 1) * sizeof *m->versions);
            m->n--;
            pthread_rwlock_unlock(&g_lock);
            logf_("retired %s %s: %s is gone", gone->name, gone->version, gone->source);
            srv_version_release(gone);
        }
    }
    pthread_mutex_unlock(&g_scan_lock);
    return failures;
}

static void *poller(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&g_stop_mu);
    while (!g_stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        long long ns = (long long)ts.tv_nsec + (long long)(g_cfg->poll_s * 1e9);
        ts.tv_sec += (time_t)(ns / 1000000000LL);
        ts.tv_nsec = (long)(ns % 1000000000LL);
        pthread_cond_timedwait(&g_stop_cv, &g_stop_mu, &ts);
        if (g_stop) break;
        pthread_mutex_unlock(&g_stop_mu);
        char err[1024];
        scan(NULL, 0, err, sizeof err);
        pthread_mutex_lock(&g_stop_mu);
    }
    pthread_mutex_unlock(&g_stop_mu);
    return NULL;
}

int srv_repo_start(const srv_config *cfg)
{
    g_cfg = cfg;
    char err[1024] = "";
    for (size_t i = 0; i < cfg->n_paths; i++) {
        struct stat st;
        if (stat(cfg->paths[i], &st) != 0) {
            logf_("cannot open '%s': %s", cfg->paths[i], strerror(errno));
            return -1;
        }
    }
    int failures = scan(NULL, 1, err, sizeof err);
    size_t served = 0;
    for (size_t k = 0; k < g_n_models; k++) served += g_models[k].n;
    if (!served) {
        logf_("no model to serve%s%s (expected bundles, NAME/VERSION/ bundle folders or .onnx files)", failures ? ": " : "",
              failures ? err : "");
        return -1;
    }
    if (cfg->poll_s > 0 && pthread_create(&g_poller, NULL, poller, NULL) == 0) g_polling = 1;
    return 0;
}

void srv_repo_stop(void)
{
    pthread_mutex_lock(&g_stop_mu);
    g_stop = 1;
    pthread_cond_broadcast(&g_stop_cv);
    pthread_mutex_unlock(&g_stop_mu);
    if (g_polling) pthread_join(g_poller, NULL);
    pthread_rwlock_wrlock(&g_lock);
    for (size_t k = 0; k < g_n_models; k++) {
        for (size_t j = 0; j < g_models[k].n; j++) srv_version_release(g_models[k].versions[j]);
        forget_unloaded(&g_models[k]);
        free(g_models[k].name);
    }
    g_n_models = 0;
    pthread_rwlock_unlock(&g_lock);
}

srv_version *srv_repo_get(const char *name, const char *version, int *name_known)
{
    srv_version *v = NULL;
    pthread_rwlock_rdlock(&g_lock);
    model *m = find_model(name);
    *name_known = m && m->n;
    if (m && m->n) {
        if (!version) v = m->versions[m->n - 1];
        for (size_t j = 0; version && j < m->n && !v; j++)
            if (strcmp(m->versions[j]->version, version) == 0) v = m->versions[j];
    }
    if (v) atomic_fetch_add(&v->refs, 1);
    pthread_rwlock_unlock(&g_lock);
    return v;
}

int srv_repo_load(const char *name, char *err, size_t errsize)
{
    err[0] = '\0';
    int failures = scan(name, 1, err, errsize);
    int dummy = 0;
    srv_version *v = srv_repo_get(name, NULL, &dummy);
    if (!v) {
        if (!err[0]) snprintf(err, errsize, "no bundle of model '%s' in the repository", name);
        return -1;
    }
    srv_version_release(v);
    return failures ? -1 : 0;
}

int srv_repo_unload(const char *name)
{
    srv_version *gone[MAX_VERSIONS];
    size_t n = 0;
    pthread_mutex_lock(&g_scan_lock);
    pthread_rwlock_wrlock(&g_lock);
    model *m = find_model(name);
    if (m) {
        memcpy(gone, m->versions, m->n * sizeof *gone);
        n = m->n;
        m->n = 0;
        m->unloaded = 1;
        char **src = realloc(m->unloaded_sources, (m->n_unloaded_sources + n) * sizeof *src + 1);
        if (src) {
            m->unloaded_sources = src;
            for (size_t i = 0; i < n; i++)
                if ((src[m->n_unloaded_sources] = strdup(gone[i]->source))) m->n_unloaded_sources++;
        }
    }
    pthread_rwlock_unlock(&g_lock);
    pthread_mutex_unlock(&g_scan_lock);
    for (size_t i = 0; i < n; i++) srv_version_release(gone[i]);
    if (m) logf_("unloaded %s", name);
    return m ? 0 : -1;
}

char *srv_repo_index_json(void)
{
    cJSON *arr = cJSON_CreateArray();
    pthread_rwlock_rdlock(&g_lock);
    for (size_t k = 0; k < g_n_models; k++) {
        if (!g_models[k].n) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "name", g_models[k].name);
            cJSON_AddStringToObject(o, "state", "UNAVAILABLE");
            cJSON_AddStringToObject(o, "reason", "unloaded");
            cJSON_AddItemToArray(arr, o);
        }
        for (size_t j = 0; j < g_models[k].n; j++) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "name", g_models[k].name);
            cJSON_AddStringToObject(o, "version", g_models[k].versions[j]->version);
            cJSON_AddStringToObject(o, "state", "READY");
            cJSON_AddStringToObject(o, "digest", g_models[k].versions[j]->digest);
            cJSON_AddItemToArray(arr, o);
        }
    }
    pthread_rwlock_unlock(&g_lock);
    char *s = cJSON_PrintUnformatted(arr);
    cJSON_Delete(arr);
    return s;
}

int srv_repo_ready(void)
{
    int any = 0;
    pthread_rwlock_rdlock(&g_lock);
    for (size_t k = 0; k < g_n_models; k++) any |= g_models[k].n > 0;
    pthread_rwlock_unlock(&g_lock);
    return any;
}

char *srv_repo_versions_json(const char *name)
{
    cJSON *arr = cJSON_CreateArray();
    pthread_rwlock_rdlock(&g_lock);
    model *m = find_model(name);
    for (size_t j = 0; m && j < m->n; j++) cJSON_AddItemToArray(arr, cJSON_CreateString(m->versions[j]->version));
    pthread_rwlock_unlock(&g_lock);
    char *s = cJSON_PrintUnformatted(arr);
    cJSON_Delete(arr);
    return s;
}

char *srv_repo_openapi(void)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "openapi", "3.0.3");
    cJSON *info = cJSON_AddObjectToObject(doc, "info");
    cJSON_AddStringToObject(info, "title", "mdk serve");
    cJSON_AddStringToObject(info, "version", mdk_version());
    cJSON_AddStringToObject(info, "description", "Models served over the Open Inference Protocol (v2) and, for bundles "
                                                 "with preprocessing, a plain image upload.");
    cJSON *srv = cJSON_CreateObject();
    cJSON_AddStringToObject(srv, "url", "/");
    cJSON_AddItemToArray(cJSON_AddArrayToObject(doc, "servers"), srv);
    cJSON *paths = cJSON_AddObjectToObject(doc, "paths");
    srv_version *vs[MAX_MODELS];
    size_t n = 0;
    pthread_rwlock_rdlock(&g_lock);
    for (size_t k = 0; k < g_n_models; k++)
        if (g_models[k].n) {
            vs[n] = g_models[k].versions[g_models[k].n - 1];
            atomic_fetch_add(&vs[n++]->refs, 1);
        }
    pthread_rwlock_unlock(&g_lock);
    for (size_t i = 0; i < n; i++) {
        char *text = NULL;
        size_t len = 0;
        cJSON *one = vs[i]->bundle && mdk_bundle_read_file(vs[i]->bundle, "docs/openapi.json", 64u << 20, &text, &len) == MDK_OK
                         ? cJSON_ParseWithLength(text, len)
                         : NULL;
        mdk_free(text);
        cJSON *p = cJSON_GetObjectItemCaseSensitive(one, "paths");
        for (cJSON *e = p ? p->child : NULL; e; e = e->next)
            if (!cJSON_GetObjectItemCaseSensitive(paths, e->string))
                cJSON_AddItemToObject(paths, e->string, cJSON_Duplicate(e, 1));
        cJSON_Delete(one);
        srv_version_release(vs[i]);
    }
    char *s = cJSON_Print(doc);
    cJSON_Delete(doc);
    return s;
}
