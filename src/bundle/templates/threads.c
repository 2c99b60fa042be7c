/* threads.c: one loaded @NAME@ @VERSION@ shared by several threads running inference at the same time (an
 * mdk_model is thread-safe); every thread runs each test case and checks it gets the single-threaded result.
 * usage: ./threads BUNDLE_DIR [THREADS]   (run from the bundle directory's parent or give its path) */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <mdk/mdk.h>

typedef struct job {
    mdk_model *m;
    const mdk_caseset *cs;
    mdk_tensor ***reference; /* per case, the outputs of a first, single-threaded run */
    int failures;
} job;

static void *worker(void *arg)
{
    job *j = arg;
    for (int round = 0; round < 10; round++)
        for (size_t i = 0; i < mdk_caseset_count(j->cs); i++) {
            const mdk_case *c = mdk_caseset_get(j->cs, i);
            mdk_tensor **out = NULL;
            size_t n = 0;
            if (mdk_model_run(j->m, c->inputs, c->n_inputs, &out, &n) != MDK_OK) {
                j->failures++;
                continue;
            }
            for (size_t k = 0; k < n; k++) {
                mdk_compare cmp;
                if (mdk_tensor_compare(out[k], j->reference[i][k], 0, 0, &cmp) != MDK_OK || !cmp.pass) j->failures++;
            }
            mdk_tensors_free(out, n);
        }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s BUNDLE_DIR [THREADS]\n", argv[0]);
        return 2;
    }
    int n_threads = argc > 2 ? atoi(argv[2]) : 4;
    if (n_threads < 1 || n_threads > 256) n_threads = 4;
    mdk_pipeline *p = NULL;
    mdk_caseset *cs = NULL;
    char cases[4096];
    snprintf(cases, sizeof cases, "%s/test_cases", argv[1]);
    mdk_status st = mdk_pipeline_open(argv[1], NULL, &p);
    if (st == MDK_OK) st = mdk_caseset_read(cases, mdk_pipeline_model(p), &cs);
    size_t n_cases = st == MDK_OK ? mdk_caseset_count(cs) : 0;
    mdk_tensor ***ref = calloc(n_cases ? n_cases : 1, sizeof *ref);
    size_t *n_ref = calloc(n_cases ? n_cases : 1, sizeof *n_ref);
    for (size_t i = 0; st == MDK_OK && i < n_cases; i++) {
        const mdk_case *c = mdk_caseset_get(cs, i);
        st = mdk_model_run(mdk_pipeline_model(p), c->inputs, c->n_inputs, &ref[i], &n_ref[i]);
    }
    int failures = 0;
    if (st == MDK_OK) {
        pthread_t *th = calloc((size_t)n_threads, sizeof *th);
        job *jobs = calloc((size_t)n_threads, sizeof *jobs);
        for (int t = 0; t < n_threads; t++) {
            jobs[t] = (job){mdk_pipeline_model(p), cs, ref, 0};
            pthread_create(&th[t], NULL, worker, &jobs[t]);
        }
        for (int t = 0; t < n_threads; t++) {
            pthread_join(th[t], NULL);
            failures += jobs[t].failures;
        }
        printf("%d threads x 10 rounds x %zu cases: %d mismatches\n", n_threads, n_cases, failures);
        free(th);
        free(jobs);
    } else {
        fprintf(stderr, "threads: %s\n", mdk_errmsg());
    }
    for (size_t i = 0; i < n_cases; i++) mdk_tensors_free(ref[i], n_ref[i]);
    free(ref);
    free(n_ref);
    mdk_caseset_free(cs);
    mdk_pipeline_close(p);
    return st == MDK_OK && failures == 0 ? 0 : 1;
}
