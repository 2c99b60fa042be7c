/* exec.c: inference workers of mdk serve, one pool per loaded model version, with dynamic batching: a worker
 * takes the oldest request and, when batching is on, waits up to the queue delay for shape-compatible ones
 * to run with it as one batch, then hands each request its own slice of the results, in order. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server.h"

#define MAX_BATCH_JOBS 1024

struct srv_exec {
    srv_version *v;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    srv_job *head, *tail;
    int stopping;
    pthread_t *threads;
    int n_threads;
    int max_batch, delay_us;
    double timeout_s;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

void srv_job_free(srv_job *job)
{
    if (!job) return;
    mdk_tensors_free(job->inputs, job->n_inputs);
    mdk_image_free(job->image);
    free(job->name);
    if (job->outputs_sliced) { /* the array is the server's, the tensors the library's */
        for (size_t i = 0; i < job->n_outputs; i++) mdk_tensor_free(job->outputs[i]);
        free(job->outputs);
    } else {
        mdk_tensors_free(job->outputs, job->n_outputs);
    }
    mdk_free(job->json);
    free(job);
}

static int status_of(mdk_status st)
{
    switch (st) {
    case MDK_ERR_INVALID_ARGUMENT:
    case MDK_ERR_NOT_FOUND:
    case MDK_ERR_FORMAT:
    case MDK_ERR_MISMATCH:
    case MDK_ERR_UNSUPPORTED: return 400;
    case MDK_ERR_TOO_LARGE: return 413;
    default: return 500;
    }
}

static void set_error(srv_job *j, mdk_status st)
{
    j->status = status_of(st);
    snprintf(j->error, sizeof j->error, "%s", mdk_errmsg());
}

/* The batch dim of a request: the first dim of its first input (requests are batched along it). */
static int64_t rows(const srv_job *j)
{
    if (j->kind == SRV_JOB_IMAGE) return 1;
    const mdk_tensor *t = j->inputs[0];
    return mdk_tensor_ndim(t) ? mdk_tensor_shape(t)[0] : -1;
}

/* Same inputs by name, dtype and shape except the first dim: then they can be concatenated. */
static int compatible(const srv_job *a, const srv_job *b)
{
    if (a->kind != b->kind) return 0;
    if (a->kind == SRV_JOB_IMAGE) return 1;
    if (a->n_inputs != b->n_inputs) return 0;
    for (size_t i = 0; i < a->n_inputs; i++) {
        const mdk_tensor *x = a->inputs[i], *y = b->inputs[i];
        if (strcmp(mdk_tensor_name(x), mdk_tensor_name(y)) || mdk_tensor_dtype(x) != mdk_tensor_dtype(y) ||
            mdk_tensor_dtype(x) == MDK_DTYPE_STRING || mdk_tensor_kind(x) != MDK_VALUE_TENSOR ||
            mdk_tensor_ndim(x) != mdk_tensor_ndim(y) || mdk_tensor_ndim(x) == 0)
            return 0;
        for (size_t k = 1; k < mdk_tensor_ndim(x); k++)
            if (mdk_tensor_shape(x)[k] != mdk_tensor_shape(y)[k]) return 0;
        if (mdk_tensor_shape(x)[0] != mdk_tensor_shape(a->inputs[0])[0] ||
            mdk_tensor_shape(y)[0] != mdk_tensor_shape(b->inputs[0])[0])
            return 0;
    }
    return 1;
}

/* The model input fed by a request's first tensor must have a dynamic first dim to be batched. */
static int batchable(const srv_version *v, const srv_job *j)
{
    if (j->kind == SRV_JOB_IMAGE) return 1;
    if (!j->n_inputs) return 0;
    for (size_t i = 0; i < j->n_inputs; i++) {
        int idx = mdk_model_input_index(v->model, mdk_tensor_name(j->inputs[i]));
        if (idx < 0) return 0;
        const mdk_value_info *vi = mdk_model_input(v->model, (size_t)idx);
        if (!vi->has_shape || !vi->ndim || vi->dims[0].value >= 0) return 0;
    }
    return rows(j) > 0;
}

/* ---- running ---- */

static void run_tensors_one(srv_version *v, srv_job *j)
{
    j->t_prep = now_s();
    mdk_status st = mdk_model_run(v->model, j->inputs, j->n_inputs, &j->outputs, &j->n_outputs);
    if (st != MDK_OK) set_error(j, st);
    else j->status = 200;
    j->t_end = now_s();
}

/* The images of `n` requests as one batch through preprocessing, the model and postprocessing; each request
 * gets the result document with only its own item. */
static void run_images(srv_version *v, srv_job **jobs, size_t n)
{
    const mdk_spec *spec = mdk_pipeline_spec(v->pipe);
    mdk_image *images[MAX_BATCH_JOBS];
    const char *names[MAX_BATCH_JOBS];
    for (size_t i = 0; i < n; i++) images[i] = jobs[i]->image, names[i] = jobs[i]->name;
    mdk_tensor *x = NULL, **outs = NULL;
    mdk_prep_info *info = NULL;
    size_t n_outs = 0;
    char *json = NULL;
    mdk_status st = mdk_preprocess(spec, images, n, &x, &info);
    double t_prep = now_s();
    if (st == MDK_OK) {
        int idx = mdk_spec_input_name(spec) ? mdk_model_input_index(v->model, mdk_spec_input_name(spec)) : 0;
        st = mdk_tensor_set_name(x, mdk_model_input(v->model, (size_t)(idx < 0 ? 0 : idx))->name);
    }
    if (st == MDK_OK) st = mdk_model_run(v->model, &x, 1, &outs, &n_outs);
    if (st == MDK_OK) st = mdk_postprocess(spec, outs, n_outs, info, names, &json);
    double t_end = now_s();
    cJSON *doc = st == MDK_OK && n > 1 ? cJSON_Parse(json) : NULL;
    const cJSON *results = cJSON_GetObjectItemCaseSensitive(doc, "results");
    for (size_t i = 0; i < n; i++) {
        srv_job *k = jobs[i];
        k->t_prep = t_prep, k->t_end = t_end, k->batch_size = (int)n;
        if (st != MDK_OK) {
            set_error(k, st);
            continue;
        }
        k->status = 200;
        if (n == 1) {
            k->json = json;
            json = NULL;
            continue;
        }
        /* this request's own result: the document with only its item, numbered as a single image */
        cJSON *mine = cJSON_Duplicate(doc, 1);
        cJSON *item = cJSON_Duplicate(cJSON_GetArrayItem(results, (int)i), 1);
        if (cJSON_IsObject(item) && cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(item, "image")))
            cJSON_ReplaceItemInObjectCaseSensitive(item, "image", cJSON_CreateNumber(0));
        cJSON *arr = cJSON_CreateArray();
        cJSON_AddItemToArray(arr, item);
        cJSON_ReplaceItemInObjectCaseSensitive(mine, "results", arr);
        k->json = cJSON_PrintUnformatted(mine);
        cJSON_Delete(mine);
        if (!k->json) {
            k->status = 500;
            snprintf(k->error, sizeof k->error, "out of memory");
        }
    }
    cJSON_Delete(doc);
    free(json);
    mdk_tensor_free(x);
    mdk_tensors_free(outs, n_outs);
    mdk_prep_info_free(info);
}

/* Concatenates the requests along the first dim, runs once, and slices every output back; falls back to
 * one run per request when an output does not carry the batch in its first dim. */
static void run_tensor_batch(srv_version *v, srv_job **jobs, size_t n)
{
    size_t n_in = jobs[0]->n_inputs;
    int64_t total = 0;
    for (size_t i = 0; i < n; i++) total += rows(jobs[i]);
    mdk_tensor **cat = calloc(n_in, sizeof *cat), **outs = NULL;
    size_t n_outs = 0;
    mdk_status st = cat ? MDK_OK : MDK_ERR_NO_MEMORY;
    for (size_t k = 0; k < n_in && st == MDK_OK; k++) {
        const mdk_tensor *first = jobs[0]->inputs[k];
        int64_t shape[MDK_MAX_DIMS];
        memcpy(shape, mdk_tensor_shape(first), mdk_tensor_ndim(first) * sizeof *shape);
        shape[0] = total;
        st = mdk_tensor_new(mdk_tensor_dtype(first), mdk_tensor_ndim(first), shape, &cat[k]);
        if (st == MDK_OK) st = mdk_tensor_set_name(cat[k], mdk_tensor_name(first));
        char *dst = st == MDK_OK ? mdk_tensor_mutable_data(cat[k]) : NULL;
        for (size_t i = 0; dst && i < n; i++) {
            size_t nb = mdk_tensor_nbytes(jobs[i]->inputs[k]);
            if (nb) memcpy(dst, mdk_tensor_data(jobs[i]->inputs[k]), nb);
            dst += nb;
        }
    }
    double t0 = now_s();
    if (st == MDK_OK) st = mdk_model_run(v->model, cat, n_in, &outs, &n_outs);
    int sliceable = st == MDK_OK;
    for (size_t o = 0; sliceable && o < n_outs; o++)
        sliceable = mdk_tensor_kind(outs[o]) == MDK_VALUE_TENSOR && mdk_tensor_ndim(outs[o]) >= 1 &&
                    mdk_tensor_shape(outs[o])[0] == total && mdk_tensor_dtype(outs[o]) != MDK_DTYPE_STRING;
    double t1 = now_s();
    if (!sliceable) { /* refused as a batch or not sliceable: each request on its own */
        mdk_tensors_free(outs, n_outs);
        for (size_t k = 0; cat && k < n_in; k++) mdk_tensor_free(cat[k]);
        free(cat);
        for (size_t i = 0; i < n; i++) {
            jobs[i]->batch_size = 1;
            run_tensors_one(v, jobs[i]);
        }
        return;
    }
    int64_t row0 = 0;
    for (size_t i = 0; i < n; i++) {
        srv_job *j = jobs[i];
        j->t_prep = t0, j->t_end = t1, j->batch_size = (int)n, j->status = 200;
        j->outputs = calloc(n_outs, sizeof *j->outputs);
        j->n_outputs = j->outputs ? n_outs : 0;
        j->outputs_sliced = 1;
        for (size_t o = 0; o < j->n_outputs && j->status == 200; o++) {
            int64_t shape[MDK_MAX_DIMS];
            const mdk_tensor *src = outs[o];
            memcpy(shape, mdk_tensor_shape(src), mdk_tensor_ndim(src) * sizeof *shape);
            size_t per_row = mdk_tensor_nbytes(src) / (size_t)total;
            shape[0] = rows(j);
            if (mdk_tensor_new(mdk_tensor_dtype(src), mdk_tensor_ndim(src), shape, &j->outputs[o]) != MDK_OK ||
                mdk_tensor_set_name(j->outputs[o], mdk_tensor_name(src)) != MDK_OK) {
                set_error(j, MDK_ERR_NO_MEMORY);
                break;
            }
            if (per_row) memcpy(mdk_tensor_mutable_data(j->outputs[o]), (const char *)mdk_tensor_data(src) + per_row * (size_t)row0,
                                per_row * (size_t)rows(j));
        }
        if (!j->outputs) set_error(j, MDK_ERR_NO_MEMORY);
        row0 += rows(j);
    }
    mdk_tensors_free(outs, n_outs);
    for (size_t k = 0; k < n_in; k++) mdk_tensor_free(cat[k]);
    free(cat);
}

static void run_batch(srv_exec *e, srv_job **jobs, size_t n)
{
    double t = now_s();
    if (e->timeout_s > 0) { /* requests that waited too long are answered without running */
        size_t kept = 0;
        for (size_t i = 0; i < n; i++) {
            srv_job *j = jobs[i];
            if (t - j->t_enqueue <= e->timeout_s) {
                jobs[kept++] = j;
                continue;
            }
            j->t_start = j->t_prep = j->t_end = t, j->batch_size = 0, j->status = 503;
            snprintf(j->error, sizeof j->error, "waited %.0f ms in the queue, longer than the %.0f ms request timeout",
                     (t - j->t_enqueue) * 1000, e->timeout_s * 1000);
            j->done(j, j->done_ctx);
        }
        if (!(n = kept)) return;
    }
    for (size_t i = 0; i < n; i++) jobs[i]->t_start = t, jobs[i]->batch_size = (int)n;
    if (jobs[0]->kind == SRV_JOB_IMAGE) {
        run_images(e->v, jobs, n);
        if (n > 1 && jobs[0]->status == 400) /* e.g. images reaching different sizes: one at a time */
            for (size_t i = 0; i < n; i++) run_images(e->v, &jobs[i], 1);
    } else if (n == 1) {
        jobs[0]->batch_size = 1;
        run_tensors_one(e->v, jobs[0]);
    } else {
        run_tensor_batch(e->v, jobs, n);
    }
    for (size_t i = 0; i < n; i++) jobs[i]->done(jobs[i], jobs[i]->done_ctx);
}

static void *worker(void *arg)
{
    srv_exec *e = arg;
    srv_job *batch[MAX_BATCH_JOBS];
    pthread_mutex_lock(&e->mu);
    for (;;) {
        while (!e->head && !e->stopping) pthread_cond_wait(&e->cv, &e->mu);
        if (!e->head) break;
        srv_job *first = e->head;
        e->head = first->next;
        if (!e->head) e->tail = NULL;
        atomic_fetch_sub(&e->v->metrics->queue_depth, 1);
        size_t n = 1;
        batch[0] = first;
        if (e->max_batch > 1 && batchable(e->v, first)) {
            int64_t have = rows(first);
            double deadline = first->t_enqueue + e->delay_us * 1e-6;
            for (;;) {
                /* take compatible requests in queue order while they fit */
                srv_job **pp = &e->head, *prev = NULL;
                while (*pp && have < e->max_batch && n < MAX_BATCH_JOBS) {
                    srv_job *j = *pp;
                    if (compatible(first, j) && batchable(e->v, j) && have + rows(j) <= e->max_batch) {
                        *pp = j->next;
                        if (e->tail == j) e->tail = prev;
                        batch[n++] = j;
                        have += rows(j);
                        atomic_fetch_sub(&e->v->metrics->queue_depth, 1);
                    } else {
                        prev = j;
                        pp = &j->next;
                    }
                }
                if (have >= e->max_batch || e->stopping || now_s() >= deadline) break;
                double left = deadline - now_s();
                struct timespec ts;
                clock_gettime(CLOCK_REALTIME, &ts);
                long long ns = (long long)ts.tv_nsec + (long long)(left * 1e9);
                ts.tv_sec += (time_t)(ns / 1000000000LL);
                ts.tv_nsec = (long)(ns % 1000000000LL);
                pthread_cond_timedwait(&e->cv, &e->mu, &ts);
            }
        }
        pthread_mutex_unlock(&e->mu);
        run_batch(e, batch, n);
        pthread_mutex_lock(&e->mu);
    }
    pthread_mutex_unlock(&e->mu);
    return NULL;
}

srv_exec *srv_exec_new(srv_version *v, int workers, int max_batch, int max_delay_us, int timeout_ms)
{
    srv_exec *e = calloc(1, sizeof *e);
    if (!e) return NULL;
    e->v = v;
    e->max_batch = max_batch < 1 ? 1 : max_batch;
    e->delay_us = max_delay_us < 0 ? 0 : max_delay_us;
    e->timeout_s = timeout_ms > 0 ? timeout_ms * 1e-3 : 0;
    pthread_mutex_init(&e->mu, NULL);
    pthread_cond_init(&e->cv, NULL);
    e->threads = calloc((size_t)(workers < 1 ? 1 : workers), sizeof *e->threads);
    if (!e->threads) {
        free(e);
        return NULL;
    }
    for (int i = 0; i < (workers < 1 ? 1 : workers); i++)
        if (pthread_create(&e->threads[i], NULL, worker, e) == 0) e->n_threads++;
    if (!e->n_threads) {
        srv_exec_free(e);
        return NULL;
    }
    return e;
}

void srv_exec_submit(srv_exec *e, srv_job *job)
{
    job->next = NULL;
    job->t_enqueue = now_s();
    pthread_mutex_lock(&e->mu);
    if (e->tail) e->tail->next = job;
    else e->head = job;
    e->tail = job;
    atomic_fetch_add(&e->v->metrics->queue_depth, 1);
    /* batching workers wait on the same condition for more requests: wake them all */
    if (e->max_batch > 1) pthread_cond_broadcast(&e->cv);
    else pthread_cond_signal(&e->cv);
    pthread_mutex_unlock(&e->mu);
}

void srv_exec_free(srv_exec *e)
{
    if (!e) return;
    pthread_mutex_lock(&e->mu);
    e->stopping = 1;
    pthread_cond_broadcast(&e->cv);
    pthread_mutex_unlock(&e->mu);
    for (int i = 0; i < e->n_threads; i++) pthread_join(e->threads[i], NULL);
    pthread_mutex_destroy(&e->mu);
    pthread_cond_destroy(&e->cv);
    free(e->threads);
    free(e);
}
