/* server.h: mdk serve's parts, shared between its modules: the model repository with versions and hot reload
 * (repo.c), inference executors with dynamic batching (exec.c; the Open Inference Protocol v2 codec is
 * libmdk's, mdk/v2.h), Prometheus metrics (metrics.c), the HTTP front end on libmicrohttpd (http.c) and the generated
 * OpenAPI document with the bundled Swagger UI (web.c). Written on libmdk's public API only. */
#ifndef MDK_SERVER_H
#define MDK_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "mdk/mdk.h"

/* ---- configuration ---- */

typedef struct srv_config {
    const char *host;          /* address to bind (default 127.0.0.1) */
    int port;                  /* 0: any free port (printed) */
    const char *const *paths;  /* repositories (NAME/VERSION/ or NAME/VERSION.mdk) or single bundles */
    size_t n_paths;
    int http_threads;          /* libmicrohttpd's thread pool */
    int workers;               /* inference workers per model version (0: the bundle's runtime.concurrency, else cores) */
    int threads;               /* intra-op threads per worker (0: the bundle's runtime.threads, else 1) */
    int max_batch_size;        /* dynamic batching: largest batch (0: the bundle's runtime.batch, else 1 = off) */
    int max_queue_delay_us;    /* how long the first request of a batch waits for others */
    uint64_t max_body_bytes;   /* larger request bodies: 413 */
    uint64_t max_image_pixels; /* larger images: 413 (0: the bundle's limit, else mdk's default) */
    int max_inflight;          /* requests admitted at once; beyond it 429, or queued when queue_timeout_ms > 0 */
    int queue_timeout_ms;      /* > 0: wait this long for a slot, then 503 */
    int request_timeout_ms;    /* an admitted request not answered by then: 503 */
    double poll_s;             /* repository poll interval for new versions (0: only on load requests) */
    const char *api_keys_file; /* one key per line; re-read on SIGHUP; NULL: no authentication */
    const char *tls_cert, *tls_key;
    const char *access_log;    /* file for JSON lines ("-": stderr; NULL: none) */
    int verify_on_load;        /* run a bundle's test cases before it serves */
} srv_config;

/* ---- metrics ---- */

#define SRV_HIST_BUCKETS 14
typedef struct srv_hist {
    atomic_ullong counts[SRV_HIST_BUCKETS + 1]; /* per bucket, the last is +Inf */
    atomic_ullong sum_us, n;
} srv_hist;

/* Per model name, shared by its versions; lives as long as the process. */
typedef struct srv_model_metrics {
    srv_hist queue, preprocess, inference, total;
    atomic_ullong batch_sizes[8]; /* 1, 2, 3-4, 5-8, 9-16, 17-32, 33-64, more */
    atomic_ullong batch_sum;
    atomic_int queue_depth;
} srv_model_metrics;

void srv_hist_add(srv_hist *h, double seconds);
srv_model_metrics *srv_metrics_model(const char *model);
void srv_metrics_request(const char *model, const char *version, const char *endpoint, int code);
void srv_metrics_batch(srv_model_metrics *m, int size);
void srv_metrics_start(double now);
/* The whole Prometheus text exposition into a new string; `inflight` is the HTTP front end's count. */
char *srv_metrics_text(double now, int inflight);

/* ---- model repository ---- */

typedef struct srv_exec srv_exec;

/* One loaded version of a model: immutable once published, freed when the last request lets go. */
typedef struct srv_version {
    char *name, *version;
    char *source;            /* the directory or archive it came from */
    char *digest;            /* the bundle digest */
    mdk_bundle *bundle;      /* NULL for a bare .onnx */
    mdk_pipeline *pipe;      /* NULL for a bare .onnx */
    mdk_model *model;
    int has_preprocess;
    uint64_t max_request_bytes;
    char *metadata;          /* the v2 model metadata JSON */
    srv_exec *exec;
    srv_model_metrics *metrics; /* shared by every version of the model name, owned by the metrics registry */
    atomic_int refs;
} srv_version;

int srv_repo_start(const srv_config *cfg);
void srv_repo_stop(void);
/* The version `version` of `name` (NULL: the newest), with a reference the caller releases. NULL when there
 * is none; `*name_known` tells an unknown model from an unknown version. */
srv_version *srv_repo_get(const char *name, const char *version, int *name_known);
void srv_version_release(srv_version *v);
/* Scans the repository for `name` now (NULL: every model), loading what is new; 0, or -1 with `err`. */
int srv_repo_load(const char *name, char *err, size_t errsize);
/* Stops serving `name` (every version); 0, or -1 when unknown. */
int srv_repo_unload(const char *name);
/* The versions of `name` being served, as a JSON array of strings. */
char *srv_repo_versions_json(const char *name);
/* The repository index as JSON (v2 repository extension). */
char *srv_repo_index_json(void);
/* 1 when every model found at startup is loaded. */
int srv_repo_ready(void);
/* OpenAPI 3 document covering every served model (merged from the bundles' docs/openapi.json). */
char *srv_repo_openapi(void);

/* ---- inference ---- */

typedef enum srv_job_kind { SRV_JOB_TENSORS, SRV_JOB_IMAGE } srv_job_kind;

typedef struct srv_job {
    srv_job_kind kind;
    /* in */
    mdk_tensor **inputs;     /* SRV_JOB_TENSORS: named inputs (owned) */
    size_t n_inputs;
    mdk_image *image;        /* SRV_JOB_IMAGE (owned) */
    char *name;              /* SRV_JOB_IMAGE: the uploaded file's name, the result's "image" (NULL: 0) */
    /* out */
    int status;              /* HTTP status */
    char error[512];
    mdk_tensor **outputs;    /* SRV_JOB_TENSORS */
    size_t n_outputs;
    int outputs_sliced;      /* outputs cut from a batch's: the array is the server's (free), not libmdk's */
    char *json;              /* SRV_JOB_IMAGE: the postprocessed result */
    double decode_s;         /* SRV_JOB_IMAGE: decoding the upload, before it was queued */
    double t_enqueue, t_start, t_prep, t_end;
    int batch_size;          /* how many requests ran together */
    /* completion */
    void (*done)(struct srv_job *job, void *ctx);
    void *done_ctx;
    struct srv_job *next;
} srv_job;

/* `timeout_ms` > 0: a request that waited longer in the queue is answered 503 without running. */
srv_exec *srv_exec_new(srv_version *v, int workers, int max_batch, int max_delay_us, int timeout_ms);
/* Queues `job`; job->done is called from a worker thread when it has a result. */
void srv_exec_submit(srv_exec *e, srv_job *job);
/* Finishes what is queued, then stops the workers. */
void srv_exec_free(srv_exec *e);
void srv_job_free(srv_job *job);

/* ---- HTTP ---- */

int srv_http_start(const srv_config *cfg);
/* Stops accepting, waits for requests in flight, closes. */
void srv_http_stop(void);
int srv_http_port(void);
/* Re-reads the API key file (SIGHUP). */
void srv_http_reload_keys(void);
int srv_http_inflight(void);

/* ---- web ---- */

/* The bundled Swagger UI file `name` ("swagger-ui.css", ...), or NULL. */
const char *srv_web_asset(const char *name, size_t *len, const char **content_type);
/* The /docs page. */
const char *srv_web_docs_page(size_t *len);

#endif
