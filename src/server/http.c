/* http.c: mdk serve's HTTP front end on libmicrohttpd (thread pool, keep-alive, optional TLS): routing of the
 * Open Inference Protocol v2 endpoints, /v1 image upload, repository control, /metrics, /openapi.json and
 * /docs; body and concurrency limits; API keys; a JSON access log. Inference requests are suspended while
 * a worker runs them and resumed with the answer, so HTTP threads never wait on a model. */
#include <cjson/cJSON.h>
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "server.h"

#define MAX_KEYS 256

typedef enum route {
    R_NONE, R_SERVER, R_LIVE, R_READY, R_MODEL, R_MODEL_READY, R_INFER, R_PREDICT, R_REPO_INDEX, R_REPO_LOAD,
    R_REPO_UNLOAD, R_OPENAPI, R_DOCS, R_ASSET, R_METRICS, R_ROOT
} route;

static const char *const g_endpoint[] = {"none", "server", "live", "ready", "model", "model_ready", "infer", "predict",
                                          "repository_index", "repository_load", "repository_unload", "openapi", "docs",
                                          "docs", "metrics", "root"};

typedef struct req {
    route r;
    char model[256], version[128], asset[64];
    int has_version;
    char *body;
    size_t len, cap, alloc;
    int too_large;
    double t0;
    int admitted;
    srv_version *v;
    srv_job *job;
    mdk_v2_request *v2;
    atomic_int finished;
    struct MHD_Connection *conn;
    int status;
    size_t sent;
    char *file; /* multipart: the uploaded file */
    char *file_name; /* its name in the form, if it has one */
    size_t file_len;
    int file_fields;
} req;

static const srv_config *g_cfg;
static struct MHD_Daemon *g_daemon;
static atomic_int g_inflight;
static atomic_int g_stopping;
static int g_port;
static pthread_mutex_t g_keys_mu = PTHREAD_MUTEX_INITIALIZER;
static char *g_keys[MAX_KEYS];
static size_t g_n_keys;
static FILE *g_log;
static pthread_mutex_t g_log_mu = PTHREAD_MUTEX_INITIALIZER;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---- responses ---- */

/* Metrics are counted as the response is queued, so that a client reading /metrics next sees its request. */
static void count(req *q)
{
    srv_metrics_request(q->v ? q->v->name : "", q->v ? q->v->version : "", g_endpoint[q->r], q->status);
    if (q->v && q->job) srv_hist_add(&q->v->metrics->total, now_s() - q->t0);
}

static enum MHD_Result send_buf(req *q, int status, const char *type, char *data, size_t len, const char *extra_name,
                                const char *extra_value)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(data);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if (extra_name) MHD_add_response_header(resp, extra_name, extra_value);
    if (status == 401) MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    q->status = status;
    q->sent = len;
    count(q);
    enum MHD_Result rc = MHD_queue_response(q->conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return rc;
}

static enum MHD_Result send_json(req *q, int status, char *json)
{
    if (!json) return send_buf(q, 500, "application/json", strdup("{\"error\":\"out of memory\"}"), 25, NULL, NULL);
    return send_buf(q, status, "application/json", json, strlen(json), NULL, NULL);
}

static enum MHD_Result send_error(req *q, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static enum MHD_Result send_error(req *q, int status, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error", msg);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return send_json(q, status, s);
}

static enum MHD_Result send_static(req *q, const char *type, const char *data, size_t len)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_PERSISTENT);
    if (!resp) return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "max-age=3600");
    q->status = 200;
    q->sent = len;
    count(q);
    enum MHD_Result rc = MHD_queue_response(q->conn, 200, resp);
    MHD_destroy_response(resp);
    return rc;
}

/* ---- routing ---- */

static int seg(const char **p, char *out, size_t size)
{
    if (**p != '/') return 0;
    (*p)++;
    size_t n = strcspn(*p, "/");
    if (!n || n >= size) return 0;
    memcpy(out, *p, n);
    out[n] = '\0';
    *p += n;
    return 1;
}

/* Matches "/{m}[/versions/{v}]" at *p into the request. */
static int model_path(const char **p, req *q)
{
    if (!seg(p, q->model, sizeof q->model)) return 0;
    if (strncmp(*p, "/versions/", 10) == 0) {
        *p += 9;
        if (!seg(p, q->version, sizeof q->version)) return 0;
        q->has_version = 1;
    }
    return 1;
}

static route match(const char *url, const char *method, req *q, int *bad_method)
{
    int get = !strcmp(method, "GET") || !strcmp(method, "HEAD"), post = !strcmp(method, "POST");
    const char *p;
    route r = R_NONE;
    int want_post = 0;
    if (!strcmp(url, "/")) r = R_ROOT;
    else if (!strcmp(url, "/v2")) r = R_SERVER;
    else if (!strcmp(url, "/v2/health/live")) r = R_LIVE;
    else if (!strcmp(url, "/v2/health/ready")) r = R_READY;
    else if (!strcmp(url, "/metrics")) r = R_METRICS;
    else if (!strcmp(url, "/openapi.json")) r = R_OPENAPI;
    else if (!strcmp(url, "/docs") || !strcmp(url, "/docs/")) r = R_DOCS;
    else if (!strncmp(url, "/docs/", 6) && strlen(url + 6) < sizeof q->asset && !strchr(url + 6, '/')) {
        snprintf(q->asset, sizeof q->asset, "%s", url + 6);
        r = R_ASSET;
    } else if (!strcmp(url, "/v2/repository/index")) {
        r = R_REPO_INDEX, want_post = 1;
    } else if (!strncmp(url, "/v2/repository/models/", 21)) {
        p = url + 21;
        if (seg(&p, q->model, sizeof q->model)) {
            if (!strcmp(p, "/load")) r = R_REPO_LOAD, want_post = 1;
            else if (!strcmp(p, "/unload")) r = R_REPO_UNLOAD, want_post = 1;
        }
    } else if (!strncmp(url, "/v2/models/", 10)) {
        p = url + 10;
        if (model_path(&p, q)) {
            if (!*p) r = R_MODEL;
            else if (!strcmp(p, "/ready")) r = R_MODEL_READY;
            else if (!strcmp(p, "/infer")) r = R_INFER, want_post = 1;
        }
    } else if (!strncmp(url, "/v1/models/", 10)) {
        p = url + 10;
        if (model_path(&p, q) && !strcmp(p, "/predict")) r = R_PREDICT, want_post = 1;
    }
    *bad_method = r != R_NONE && (want_post ? !post : !get);
    return r;
}

/* ---- authentication ---- */

static int ct_equal(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned char d = (unsigned char)(la != lb);
    for (size_t i = 0; i < la; i++) d |= (unsigned char)(a[i] ^ b[i % (lb ? lb : 1)]);
    return d == 0;
}

static int authorized(struct MHD_Connection *c)
{
    pthread_mutex_lock(&g_keys_mu);
    int ok = g_n_keys == 0;
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!ok && h && strncasecmp(h, "Bearer ", 7) == 0)
        for (size_t i = 0; i < g_n_keys; i++) ok |= ct_equal(h + 7, g_keys[i]);
    pthread_mutex_unlock(&g_keys_mu);
    return ok;
}

static int read_keys(const char *path, char **keys, size_t *n)
{
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char line[1024];
    *n = 0;
    while (fgets(line, sizeof line, f) && *n < MAX_KEYS) {
        line[strcspn(line, "\r\n")] = '\0';
        char *s = line;
        while (*s == ' ' || *s == '\t') s++;
        if (!*s || *s == '#') continue;
        if (!(keys[*n] = strdup(s))) break;
        (*n)++;
    }
    fclose(f);
    return 0;
}

void srv_http_reload_keys(void)
{
    if (!g_cfg || !g_cfg->api_keys_file) return;
    char *keys[MAX_KEYS];
    size_t n = 0;
    if (read_keys(g_cfg->api_keys_file, keys, &n) != 0 || n == 0) {
        fprintf(stderr, "mdk serve: cannot re-read API keys from %s (%s); keeping the %zu loaded\n", g_cfg->api_keys_file,
                n ? "no key in it" : strerror(errno), g_n_keys);
        for (size_t i = 0; i < n; i++) free(keys[i]);
        return;
    }
    pthread_mutex_lock(&g_keys_mu);
    for (size_t i = 0; i < g_n_keys; i++) free(g_keys[i]);
    memcpy(g_keys, keys, n * sizeof *keys);
    g_n_keys = n;
    pthread_mutex_unlock(&g_keys_mu);
    fprintf(stderr, "mdk serve: %zu API keys loaded from %s\n", n, g_cfg->api_keys_file);
}

/* ---- inference ---- */

static void job_done(srv_job *job, void *ctx)
{
    req *q = ctx;
    (void)job;
    atomic_store(&q->finished, 1);
    MHD_resume_connection(q->conn);
}

static int admit(req *q)
{
    int n = atomic_fetch_add(&g_inflight, 1);
    if (g_cfg->max_inflight > 0 && n >= g_cfg->max_inflight) {
        atomic_fetch_sub(&g_inflight, 1);
        return 0;
    }
    q->admitted = 1;
    return 1;
}

/* Finds the model (404 otherwise) and keeps a reference for the request's lifetime. */
static int resolve(req *q)
{
    int known = 0;
    q->v = srv_repo_get(q->model, q->has_version ? q->version : NULL, &known);
    if (q->v) return 1;
    if (!known) send_error(q, 404, "unknown model '%s'", q->model);
    else send_error(q, 404, "model '%s' has no version '%s'", q->model, q->version);
    return 0;
}

static enum MHD_Result start_infer(req *q)
{
    const char *hl = MHD_lookup_connection_value(q->conn, MHD_HEADER_KIND, "Inference-Header-Content-Length");
    size_t json_len = q->len;
    if (hl) {
        char *end;
        unsigned long long v = strtoull(hl, &end, 10);
        if (!*hl || *end || v > q->len)
            return send_error(q, 400, "Inference-Header-Content-Length must be a byte count within the body (%zu bytes)", q->len);
        json_len = (size_t)v;
    }
    mdk_status st = mdk_v2_request_parse(q->body, q->len, json_len, &q->v2);
    if (st != MDK_OK) return send_error(q, st == MDK_ERR_NO_MEMORY ? 500 : st == MDK_ERR_TOO_LARGE ? 413 : 400, "%s", mdk_errmsg());
    for (size_t i = 0; i < mdk_v2_request_output_count(q->v2); i++)
        if (mdk_model_output_index(q->v->model, mdk_v2_request_output(q->v2, i)) < 0)
            return send_error(q, 400, "unknown output '%s' requested", mdk_v2_request_output(q->v2, i));
    srv_job *j = calloc(1, sizeof *j);
    if (!j || mdk_v2_request_take_inputs(q->v2, &j->inputs, &j->n_inputs) != MDK_OK) { /* owned by the job now */
        free(j);
        return send_error(q, 500, "out of memory");
    }
    j->kind = SRV_JOB_TENSORS;
    j->done = job_done, j->done_ctx = q;
    q->job = j;
    MHD_suspend_connection(q->conn);
    srv_exec_submit(q->v->exec, j);
    return MHD_YES;
}

static enum MHD_Result multipart_part(void *cls, enum MHD_ValueKind kind, const char *key, const char *filename,
                                      const char *content_type, const char *transfer_encoding, const char *data,
                                      uint64_t off, size_t size)
{
    (void)kind, (void)content_type, (void)transfer_encoding;
    req *q = cls;
    if (!filename && strcmp(key, "file") != 0) return MHD_YES; /* other form fields are ignored */
    if (off == 0) q->file_fields++; /* each part starts at offset 0 */
    if (q->file_fields > 1) return MHD_YES;
    if (off == 0 && filename && *filename && !q->file_name && !(q->file_name = strdup(filename))) return MHD_NO;
    if (q->file_len + size > q->len) return MHD_NO; /* a part cannot be larger than the body it came in */
    if (!q->file && !(q->file = malloc(q->len + 1))) return MHD_NO;
    memcpy(q->file + q->file_len, data, size);
    q->file_len += size;
    return MHD_YES;
}

static enum MHD_Result start_predict(req *q)
{
    if (!q->v->has_preprocess)
        return send_error(q, 400, "model '%s' has no preprocessing: send tensors to /v2/models/%s/infer", q->model, q->model);
    const char *ct = MHD_lookup_connection_value(q->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    const char *img = q->body;
    size_t img_len = q->len;
    if (ct && strncasecmp(ct, "multipart/form-data", 19) == 0) {
        struct MHD_PostProcessor *pp = MHD_create_post_processor(q->conn, 65536, multipart_part, q);
        if (!pp) return send_error(q, 400, "multipart/form-data without a boundary");
        enum MHD_Result ok = MHD_post_process(pp, q->body, q->len);
        MHD_destroy_post_processor(pp);
        if (ok != MHD_YES && !q->file_len) return send_error(q, 400, "malformed multipart/form-data body");
        if (!q->file_fields) return send_error(q, 400, "no file in the form: send it as -F file=@image.jpg");
        if (q->file_fields > 1) return send_error(q, 400, "one image per request: the form has %d files", q->file_fields);
        img = q->file, img_len = q->file_len;
    }
    mdk_decode_options dopts;
    mdk_spec_decode_options(mdk_pipeline_spec(q->v->pipe), 0, &dopts);
    if (g_cfg->max_image_pixels) dopts.max_pixels = g_cfg->max_image_pixels; /* the spec's limit is in dopts */
    mdk_image *image = NULL;
    double t = now_s();
    mdk_status st = mdk_image_decode(img, img_len, "the uploaded image", &dopts, &image);
    if (st != MDK_OK) return send_error(q, st == MDK_ERR_TOO_LARGE ? 413 : 400, "%s", mdk_errmsg());
    double decode_s = now_s() - t;
    srv_job *j = calloc(1, sizeof *j);
    if (!j) {
        mdk_image_free(image);
        return send_error(q, 500, "out of memory");
    }
    j->kind = SRV_JOB_IMAGE;
    j->image = image;
    j->name = q->file_name; /* owned by the job now */
    q->file_name = NULL;
    j->decode_s = decode_s;
    j->done = job_done, j->done_ctx = q;
    q->job = j;
    MHD_suspend_connection(q->conn);
    srv_exec_submit(q->v->exec, j);
    return MHD_YES;
}

static enum MHD_Result finish_job(req *q)
{
    srv_job *j = q->job;
    srv_model_metrics *m = q->v->metrics;
    srv_hist_add(&m->queue, j->t_start - j->t_enqueue);
    if (j->kind == SRV_JOB_IMAGE) srv_hist_add(&m->preprocess, j->decode_s + (j->t_prep - j->t_start));
    srv_hist_add(&m->inference, j->t_end - j->t_prep);
    srv_metrics_batch(m, j->batch_size);
    if (j->status != 200) return send_error(q, j->status, "%s", j->error);
    if (j->kind == SRV_JOB_IMAGE) {
        char *json = j->json;
        j->json = NULL;
        return send_json(q, 200, json);
    }
    char *body = NULL;
    size_t len = 0, json_len = 0;
    mdk_status st = mdk_v2_response_encode(q->v->name, q->v->version, q->v2, j->outputs, j->n_outputs, &body, &len, &json_len);
    if (st != MDK_OK) return send_error(q, 500, "%s", mdk_errmsg());
    if (json_len == len) return send_buf(q, 200, "application/json", body, len, NULL, NULL);
    char hl[32];
    snprintf(hl, sizeof hl, "%zu", json_len);
    return send_buf(q, 200, "application/octet-stream", body, len, "Inference-Header-Content-Length", hl);
}

/* ---- the other endpoints ---- */

static enum MHD_Result model_metadata(req *q)
{
    char *versions = srv_repo_versions_json(q->v->name);
    cJSON *meta = cJSON_Parse(q->v->metadata);
    cJSON_AddStringToObject(meta, "name", q->v->name);
    cJSON_AddItemToObject(meta, "versions", cJSON_Parse(versions ? versions : "[]"));
    if (q->has_version) cJSON_AddStringToObject(meta, "version", q->v->version);
    free(versions);
    char *s = cJSON_PrintUnformatted(meta);
    cJSON_Delete(meta);
    return send_json(q, 200, s);
}

static enum MHD_Result server_metadata(req *q)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", "mdk");
    cJSON_AddStringToObject(o, "version", mdk_version());
    cJSON *ext = cJSON_AddArrayToObject(o, "extensions");
    static const char *const exts[] = {"binary_tensor_data", "model_repository", "metrics", "image_predict"};
    for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++) cJSON_AddItemToArray(ext, cJSON_CreateString(exts[i]));
    cJSON_AddStringToObject(o, "onnxruntime", mdk_ort_version());
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return send_json(q, 200, s);
}

static enum MHD_Result handle(req *q)
{
    char err[1024];
    switch (q->r) {
    case R_ROOT:
        return send_json(q, 200, strdup("{\"name\":\"mdk\",\"docs\":\"/docs\",\"openapi\":\"/openapi.json\",\"metadata\":\"/v2\","
                                        "\"metrics\":\"/metrics\"}"));
    case R_SERVER: return server_metadata(q);
    case R_LIVE: return send_json(q, 200, strdup("{\"live\":true}"));
    case R_READY:
        if (atomic_load(&g_stopping) || !srv_repo_ready()) return send_json(q, 503, strdup("{\"ready\":false}"));
        return send_json(q, 200, strdup("{\"ready\":true}"));
    case R_METRICS: {
        char *t = srv_metrics_text(now_s(), atomic_load(&g_inflight));
        if (!t) return send_error(q, 500, "out of memory");
        return send_buf(q, 200, "text/plain; version=0.0.4; charset=utf-8", t, strlen(t), NULL, NULL);
    }
    case R_OPENAPI: return send_json(q, 200, srv_repo_openapi());
    case R_DOCS: {
        size_t len;
        const char *page = srv_web_docs_page(&len);
        return send_static(q, "text/html; charset=utf-8", page, len);
    }
    case R_ASSET: {
        size_t len;
        const char *type;
        const char *data = srv_web_asset(q->asset, &len, &type);
        if (!data) return send_error(q, 404, "no file '%s' under /docs", q->asset);
        return send_static(q, type, data, len);
    }
    case R_REPO_INDEX: return send_json(q, 200, srv_repo_index_json());
    case R_REPO_LOAD:
        if (srv_repo_load(q->model, err, sizeof err) != 0) return send_error(q, 400, "%s", err);
        return send_json(q, 200, strdup("{}"));
    case R_REPO_UNLOAD:
        if (srv_repo_unload(q->model) != 0) return send_error(q, 404, "unknown model '%s'", q->model);
        return send_json(q, 200, strdup("{}"));
    case R_MODEL:
        if (!resolve(q)) return MHD_YES;
        return model_metadata(q);
    case R_MODEL_READY: {
        if (!resolve(q)) return MHD_YES;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", q->v->name);
        cJSON_AddStringToObject(o, "version", q->v->version);
        cJSON_AddBoolToObject(o, "ready", 1);
        char *s = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        return send_json(q, 200, s);
    }
    case R_INFER:
    case R_PREDICT:
        if (!resolve(q)) return MHD_YES;
        if (q->v->max_request_bytes && q->len > q->v->max_request_bytes)
            return send_error(q, 413, "the request body is %zu bytes; model '%s' accepts at most %llu", q->len, q->model,
                              (unsigned long long)q->v->max_request_bytes);
        if (atomic_load(&g_stopping)) return send_error(q, 503, "the server is shutting down");
        if (!admit(q))
            return send_error(q, 429, "too many requests in flight (at most %d); retry later", g_cfg->max_inflight);
        return q->r == R_INFER ? start_infer(q) : start_predict(q);
    default: return send_error(q, 404, "not found");
    }
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    (void)cls, (void)version;
    req *q = *con_cls;
    if (!q) {
        q = calloc(1, sizeof *q);
        if (!q) return MHD_NO;
        q->conn = c;
        q->t0 = now_s();
        *con_cls = q;
        int bad_method = 0;
        q->r = match(url, method, q, &bad_method);
        if (bad_method) q->status = 405;
        else if (q->r == R_NONE) q->status = 404;
        else if (q->r != R_LIVE && q->r != R_READY && !authorized(c)) q->status = 401;
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (!q->status && cl && strtoull(cl, NULL, 10) > g_cfg->max_body_bytes) q->status = 413;
        q->cap = g_cfg->max_body_bytes;
        return MHD_YES;
    }
    if (*upload_size) { /* body chunks: kept up to the cap, or dropped when the request is refused anyway */
        if (!q->status && q->len + *upload_size > q->cap) q->status = 413;
        if (!q->status) {
            if (q->len + *upload_size + 1 > q->alloc) { /* the declared length at once, else doubling */
                const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
                size_t want = q->alloc ? q->alloc * 2 : cl ? (size_t)strtoull(cl, NULL, 10) + 1 : 65536;
                if (want < q->len + *upload_size + 1) want = q->len + *upload_size + 1;
                if (want > q->cap + 1) want = q->cap + 1;
                char *b = realloc(q->body, want);
                if (!b) return MHD_NO;
                q->body = b, q->alloc = want;
            }
            memcpy(q->body + q->len, upload, *upload_size);
            q->len += *upload_size;
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (q->job) return atomic_load(&q->finished) ? finish_job(q) : MHD_YES;
    if (q->body) q->body[q->len] = '\0';
    switch (q->status) {
    case 405: return send_error(q, 405, "%s is not allowed on %s", method, url);
    case 404: return send_error(q, 404, "no endpoint %s %s (see /openapi.json)", method, url);
    case 401: return send_error(q, 401, "missing or unknown API key: send 'Authorization: Bearer KEY'");
    case 413: return send_error(q, 413, "the request body exceeds %llu bytes", (unsigned long long)g_cfg->max_body_bytes);
    default: break;
    }
    return handle(q);
}

static void log_request(req *q, struct MHD_Connection *c)
{
    if (!g_log) return;
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    char addr[64] = "-";
    if (ci && ci->client_addr) {
        const struct sockaddr *sa = ci->client_addr;
        if (sa->sa_family == AF_INET) inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, addr, sizeof addr);
        else if (sa->sa_family == AF_INET6) inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, addr, sizeof addr);
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[64];
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    cJSON *o = cJSON_CreateObject();
    char t[80];
    snprintf(t, sizeof t, "%s.%03ldZ", when, ts.tv_nsec / 1000000);
    cJSON_AddStringToObject(o, "time", t);
    cJSON_AddStringToObject(o, "remote", addr);
    cJSON_AddStringToObject(o, "endpoint", g_endpoint[q->r]);
    if (q->model[0]) cJSON_AddStringToObject(o, "model", q->model);
    if (q->v) cJSON_AddStringToObject(o, "version", q->v->version);
    cJSON_AddNumberToObject(o, "status", q->status);
    cJSON_AddNumberToObject(o, "request_bytes", (double)q->len);
    cJSON_AddNumberToObject(o, "response_bytes", (double)q->sent);
    cJSON_AddNumberToObject(o, "ms", (now_s() - q->t0) * 1000);
    if (q->job) cJSON_AddNumberToObject(o, "batch", q->job->batch_size);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    pthread_mutex_lock(&g_log_mu);
    if (s) fprintf(g_log, "%s\n", s), fflush(g_log);
    pthread_mutex_unlock(&g_log_mu);
    free(s);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)toe;
    req *q = *con_cls;
    if (!q) return;
    *con_cls = NULL;
    if (q->job && !atomic_load(&q->finished)) {
        /* the client went away while a worker holds the job: the worker still calls job_done, so the
         * request cannot be freed here; this happens only on shutdown, which waits for workers first */
        return;
    }
    log_request(q, c);
    if (q->admitted) atomic_fetch_sub(&g_inflight, 1);
    srv_job_free(q->job);
    mdk_v2_request_free(q->v2);
    srv_version_release(q->v);
    free(q->body);
    free(q->file);
    free(q->file_name);
    free(q);
}

/* ---- lifecycle ---- */

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = malloc(1 << 20);
    size_t n = buf ? fread(buf, 1, (1 << 20) - 1, f) : 0;
    fclose(f);
    if (buf) buf[n] = '\0';
    return buf;
}

int srv_http_start(const srv_config *cfg)
{
    g_cfg = cfg;
    if (cfg->access_log) {
        g_log = strcmp(cfg->access_log, "-") == 0 ? stderr : fopen(cfg->access_log, "a");
        if (!g_log) {
            fprintf(stderr, "mdk serve: cannot open the access log '%s': %s\n", cfg->access_log, strerror(errno));
            return -1;
        }
    }
    if (cfg->api_keys_file) {
        if (read_keys(cfg->api_keys_file, g_keys, &g_n_keys) != 0 || g_n_keys == 0) {
            fprintf(stderr, "mdk serve: %s: %s\n", cfg->api_keys_file, g_n_keys ? "" : errno ? strerror(errno) : "no key in it");
            return -1;
        }
    }
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)cfg->port);
    if (inet_pton(AF_INET, cfg->host, &sa.sin_addr) != 1) {
        fprintf(stderr, "mdk serve: --host '%s' is not an IPv4 address (expected e.g. 127.0.0.1 or 0.0.0.0)\n", cfg->host);
        return -1;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ITC;
    char *cert = NULL, *key = NULL;
    if (cfg->tls_cert || cfg->tls_key) {
        if (!MHD_is_feature_supported(MHD_FEATURE_TLS)) {
            fprintf(stderr, "mdk serve: this libmicrohttpd has no TLS support\n");
            return -1;
        }
        cert = cfg->tls_cert ? read_all(cfg->tls_cert) : NULL;
        key = cfg->tls_key ? read_all(cfg->tls_key) : NULL;
        if (!cert || !key) {
            fprintf(stderr, "mdk serve: TLS needs both --tls-cert and --tls-key as readable PEM files\n");
            free(cert), free(key);
            return -1;
        }
        flags |= MHD_USE_TLS;
    }
    struct MHD_OptionItem tls[] = {{MHD_OPTION_HTTPS_MEM_CERT, 0, cert}, {MHD_OPTION_HTTPS_MEM_KEY, 0, key},
                                   {MHD_OPTION_END, 0, NULL}};
    g_daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                                MHD_OPTION_THREAD_POOL_SIZE, (unsigned)cfg->http_threads, MHD_OPTION_NOTIFY_COMPLETED,
                                on_completed, NULL, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
                                MHD_OPTION_CONNECTION_LIMIT, (unsigned)4096, MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)1024,
                                MHD_OPTION_ARRAY, cert ? tls : tls + 2, MHD_OPTION_END);
    if (!g_daemon) {
        fprintf(stderr, "mdk serve: cannot listen on %s:%d (%s)\n", cfg->host, cfg->port, errno ? strerror(errno) : "in use?");
        free(cert), free(key);
        return -1;
    }
    /* libmicrohttpd copies the key material */
    free(cert), free(key);
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(g_daemon, MHD_DAEMON_INFO_BIND_PORT);
    g_port = di ? di->port : cfg->port;
    return 0;
}

int srv_http_port(void) { return g_port; }
int srv_http_inflight(void) { return atomic_load(&g_inflight); }

void srv_http_stop(void)
{
    atomic_store(&g_stopping, 1);
    if (!g_daemon) return;
    MHD_quiesce_daemon(g_daemon); /* no new connections */
    for (int i = 0; i < 3000 && atomic_load(&g_inflight) > 0; i++) {
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
    }
    MHD_stop_daemon(g_daemon);
    g_daemon = NULL;
    if (g_log && g_log != stderr) fclose(g_log);
    g_log = NULL;
}
