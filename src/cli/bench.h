/* bench.h: one measured configuration (load, warm up, timed requests from N threads on one loaded model),
 * shared by mdk bench and mdk tune. */
#ifndef MDK_CLI_BENCH_H
#define MDK_CLI_BENCH_H

#include "cli.h"

typedef struct bench_config {
    const char *path;       /* model, bundle or mdk.yaml */
    const char *image;      /* for a pipeline: time the whole pipeline on this image; NULL: the model alone */
    mdk_options opts;
    long long batch, concurrency;
    const char **inputs;    /* --input NAME=FILE|random; unnamed inputs are random */
    size_t n_inputs;
    const dim_arg *dims;
    size_t n_dims;
    long long runs, warmup; /* runs is a cap when duration_s > 0 */
    double duration_s;
    int progress;           /* a progress bar on stderr */
    mdk_tensor *const *first_case; /* a bundle's first test case (bench_first_case), used when no input is given */
    size_t n_first_case;
} bench_config;

typedef struct bench_result {
    long requests;
    long long batch;        /* items per request, as the inputs carried them */
    double min_ms, mean_ms, p50_ms, p90_ms, p99_ms, p999_ms, max_ms;
    double throughput;      /* items (requests x batch) per second */
    double load_ms;         /* opening the model to the first result */
    double peak_rss_mb, cpu_percent;
} bench_result;

/* Measures one configuration. Returns 0, or the exit code after printing the error. */
int bench_measure(const bench_config *cfg, bench_result *res);
/* The inputs of a bundle's first test case, read once for every configuration: nothing (*n 0) for another
 * form or a bundle without a usable case. Returns 0, or the exit code after printing why the bundle cannot
 * be opened. Free with mdk_tensors_free. */
int bench_first_case(const char *path, mdk_tensor ***inputs, size_t *n);
/* 1 when `path` runs through a spec's pipeline (bundle or mdk.yaml). */
int bench_is_pipeline(const char *path);
/* The CPU model and its notable instruction-set flags. */
void bench_cpu_info(char *model, size_t msize, char *flags, size_t fsize);

#endif
