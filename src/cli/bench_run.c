/* bench_run.c: measuring one configuration for mdk bench and mdk tune: the model (or pipeline) loaded with the
 * given options, warmed up, then timed requests taken by `concurrency` threads until a run count or deadline.
 * A request is mdk_model_run on the inputs, or with an image what a server request pays: decoding the encoded
 * file, preprocessing, the model and postprocessing. The batch is the inputs' named batch dim wherever it
 * sits; a bundle's inputs come from its first test case unless given. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6;
}

static double peak_rss_mb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024.0;
}

/* One configuration's shared state: the threads take run numbers until `runs` or `deadline`. */
typedef struct job {
    mdk_model *model;
    mdk_pipeline *pipe;
    mdk_tensor **feeds;
    size_t n_feeds;
    const char *image_data;  /* the encoded image file, decoded on every request */
    size_t image_len;
    size_t n_images;
    mdk_decode_options decode;
    atomic_long next;
    long runs;
    double deadline;
    double *lat;         /* seconds per request, indexed by run number */
    atomic_int failed;
    char error[512];
    int progress;
} job;

static int run_once(job *j)
{
    mdk_status st;
    if (j->pipe && j->n_images) { /* the whole pipeline from the file's bytes; without images the model alone */
        mdk_image *images[1024] = {0};
        char *json = NULL;
        st = MDK_OK;
        for (size_t k = 0; k < j->n_images && st == MDK_OK; k++)
            st = mdk_image_decode(j->image_data, j->image_len, "the image", &j->decode, &images[k]);
        if (st == MDK_OK) st = mdk_pipeline_run(j->pipe, images, j->n_images, NULL, NULL, 0, &json, NULL, NULL);
        mdk_free(json);
        for (size_t k = 0; k < j->n_images; k++) mdk_image_free(images[k]);
    } else {
        mdk_tensor **out = NULL;
        size_t n = 0;
        st = mdk_model_run(j->model, j->feeds, j->n_feeds, &out, &n);
        mdk_tensors_free(out, n);
    }
    if (st != MDK_OK && !atomic_exchange(&j->failed, 1)) snprintf(j->error, sizeof j->error, "%s", mdk_errmsg());
    return st == MDK_OK;
}

static void *worker(void *arg)
{
    job *j = arg;
    for (;;) {
        long i = atomic_fetch_add(&j->next, 1);
        if (i >= j->runs || atomic_load(&j->failed)) break;
        if (j->deadline > 0 && now_s() > j->deadline) {
            atomic_fetch_sub(&j->next, 1);
            break;
        }
        double t0 = now_s();
        if (!run_once(j)) break;
        j->lat[i] = now_s() - t0;
        if (j->progress && (i % 25 == 0 || i + 1 == j->runs)) {
            int w = 30, done = (int)(w * (i + 1) / j->runs);
            fprintf(stderr, "\r  [%.*s%*s] %ld/%ld", done, "##############################", w - done, "", i + 1, j->runs);
        }
    }
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted values. */
static double pct(const double *v, size_t n, double p)
{
    size_t k = (size_t)ceil(p / 100.0 * (double)n);
    return v[k ? k - 1 : 0];
}

void bench_cpu_info(char *model, size_t msize, char *flags, size_t fsize)
{
    snprintf(model, msize, "unknown");
    flags[0] = '\0';
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[8192];
    while (f && fgets(line, sizeof line, f)) {
        char *c = strchr(line, ':');
        if (!c) continue;
        if (strncmp(line, "model name", 10) == 0) snprintf(model, msize, "%.*s", (int)strcspn(c + 2, "\n"), c + 2);
        if (strncmp(line, "flags", 5) == 0 && !flags[0]) {
            static const char *const wanted[] = {"sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512_vnni",
                                                 "avx_vnni", "amx_tile"};
            size_t used = 0;
            for (size_t k = 0; k < sizeof wanted / sizeof wanted[0]; k++) {
                char pat[32];
                snprintf(pat, sizeof pat, " %s", wanted[k]);
                char *hit = strstr(c, pat);
                if (hit && (hit[strlen(pat)] == ' ' || hit[strlen(pat)] == '\n'))
                    used += (size_t)snprintf(flags + used, fsize - used, "%s%s", used ? " " : "", wanted[k]);
            }
            break;
        }
    }
    if (f) fclose(f);
}

int bench_is_pipeline(const char *path)
{
    size_t n = strlen(path);
    return mdk_path_is_bundle(path) || (n > 5 && strcmp(path + n - 5, ".yaml") == 0) ||
           (n > 4 && strcmp(path + n - 4, ".yml") == 0);
}

/* The inputs of a request: given ones from their files, a bundle's first test case for the others (its items
 * repeated to fill the batch), else random; the batch is set on the named batch dim of every input that has
 * it. `*items` receives the batch the feeds carry. */
static int make_feeds(const bench_config *cfg, mdk_model *m, mdk_tensor **feeds, size_t *n_feeds, long long *items)
{
    size_t n_in = mdk_model_input_count(m);
    int axes[64];
    const char *bname = cli_batch_axes(m, axes);
    for (size_t k = 0; k < cfg->n_dims; k++)
        if (bname && strcmp(cfg->dims[k].name, bname) == 0)
            return cli_usage_error("bench", "--dim %s=%lld sets the batch, which is dim '%s' of the inputs: use --batch",
                                   bname, cfg->dims[k].value, bname);
    *items = cfg->batch;
    if (!cfg->n_inputs && cfg->n_first_case) { /* the bundle's first test case */
        mdk_status st = MDK_OK;
        int64_t have = 1, idx[1024];
        for (size_t i = 0; st == MDK_OK && i < n_in; i++) { /* the case's batch: where the first input carries it */
            for (size_t k = 0; k < cfg->n_first_case && !feeds[i] && st == MDK_OK; k++)
                if (strcmp(mdk_tensor_name(cfg->first_case[k]), mdk_model_input(m, i)->name) == 0)
                    st = mdk_tensor_clone(cfg->first_case[k], &feeds[i]);
            if (st == MDK_OK && !feeds[i]) st = MDK_ERR_NOT_FOUND;
            else if (st == MDK_OK && i == 0 && axes[0] >= 0) have = mdk_tensor_shape(feeds[0])[axes[0]];
        }
        if (st == MDK_OK && have > 0 && cfg->batch <= 1024) {
            for (long long k = 0; k < cfg->batch; k++) idx[k] = k % have;
            for (size_t i = 0; i < n_in && st == MDK_OK; i++) {
                if (axes[i] < 0) continue;
                mdk_tensor *t = NULL;
                st = cli_take_items(feeds[i], axes[i], idx, (size_t)cfg->batch, &t);
                mdk_tensor_free(feeds[i]);
                feeds[i] = t;
            }
            if (st == MDK_OK) {
                *n_feeds = n_in;
                return 0;
            }
        }
        for (size_t i = 0; i < n_in; i++) mdk_tensor_free(feeds[i]), feeds[i] = NULL; /* no usable case: random */
    }
    const char *all[64];
    dim_arg dims[128];
    size_t na = 0, nd = 0;
    char names[64][300], keys[64][300];
    for (size_t k = 0; k < cfg->n_dims && nd < 64; k++) dims[nd++] = cfg->dims[k];
    if (bname) dims[nd++] = (dim_arg){bname, cfg->batch};
    for (size_t k = 0; k < n_in && k < 64; k++) {
        const mdk_value_info *v = mdk_model_input(m, k);
        size_t len = strlen(v->name);
        int given = 0;
        for (size_t q = 0; q < cfg->n_inputs && !given; q++)
            given = strncmp(cfg->inputs[q], v->name, len) == 0 && cfg->inputs[q][len] == '=';
        if (given) continue;
        snprintf(names[k], sizeof names[k], "%s=random", v->name);
        all[na++] = names[k];
        if (!bname && axes[k] == 0) {
            snprintf(keys[k], sizeof keys[k], "%s:0", v->name);
            dims[nd++] = (dim_arg){keys[k], cfg->batch};
        }
    }
    for (size_t q = 0; q < cfg->n_inputs && na < 64; q++) all[na++] = cfg->inputs[q];
    feed_args fa = {"bench", all, na, dims, nd, 1};
    *n_feeds = na;
    int rc = cli_read_feeds(m, &fa, feeds);
    /* the items a request carries: the batch size of the first input that has the batch */
    for (size_t i = 0; !rc && i < na; i++) {
        int idx = mdk_model_input_index(m, mdk_tensor_name(feeds[i]));
        if (idx < 0 || axes[idx] < 0 || (size_t)axes[idx] >= mdk_tensor_ndim(feeds[i])) continue;
        *items = mdk_tensor_shape(feeds[i])[axes[idx]];
        break;
    }
    return rc;
}

int bench_first_case(const char *path, mdk_tensor ***inputs, size_t *n)
{
    *inputs = NULL;
    *n = 0;
    if (!mdk_path_is_bundle(path)) return 0;
    mdk_bundle *b = NULL;
    mdk_status st = mdk_bundle_open(path, &b);
    if (st == MDK_OK && mdk_bundle_first_case(b, inputs, n) != MDK_OK) *inputs = NULL, *n = 0; /* none: random inputs */
    mdk_bundle_close(b);
    return st == MDK_OK ? 0 : cli_lib_error("bench", st);
}

int bench_measure(const bench_config *cfg, bench_result *res)
{
    memset(res, 0, sizeof *res);
    long runs = cfg->duration_s > 0 ? 1000000 : (long)cfg->runs;
    if (cfg->duration_s > 0 && cfg->runs > 0 && cfg->runs < runs) runs = (long)cfg->runs;
    if (cfg->concurrency < 1 || cfg->concurrency > 1024 || cfg->batch < 1 || runs < 1)
        return cli_error("bench", "batch, concurrency and runs must be positive");
    job j;
    memset(&j, 0, sizeof j);
    mdk_tensor *feeds[64] = {0};
    int rc = 0;
    double *lat = calloc((size_t)runs, sizeof *lat);
    if (!lat) return cli_error("bench", "out of memory");
    double t_load = now_s();
    mdk_status st = bench_is_pipeline(cfg->path) ? mdk_pipeline_open(cfg->path, &cfg->opts, &j.pipe)
                                                 : mdk_model_open(cfg->path, &cfg->opts, &j.model);
    if (st != MDK_OK) {
        free(lat);
        return cli_lib_error("bench", st);
    }
    if (j.pipe) j.model = mdk_pipeline_model(j.pipe);
    long long items = cfg->batch;
    char *image = NULL;
    if (cfg->image) {
        FILE *f = fopen(cfg->image, "rb");
        size_t cap = (size_t)MDK_IMAGE_MAX_FILE_BYTES, len = 0;
        if (!f) rc = cli_error("bench", "cannot read the image '%s'", cfg->image);
        else if (!(image = malloc(cap))) rc = cli_error("bench", "out of memory");
        else len = fread(image, 1, cap, f);
        if (f) fclose(f);
        if (!rc && !j.pipe) rc = cli_error("bench", "--image needs a bundle or spec that declares preprocessing");
        if (!rc && cfg->batch > 1024) rc = cli_error("bench", "--image takes batches of at most 1024 images");
        j.image_data = image, j.image_len = len, j.n_images = (size_t)cfg->batch;
        if (!rc) mdk_spec_decode_options(mdk_pipeline_spec(j.pipe), 0, &j.decode);
    } else {
        rc = make_feeds(cfg, j.model, feeds, &j.n_feeds, &items);
        j.feeds = feeds;
    }
    j.lat = lat;
    if (!rc && !run_once(&j)) rc = cli_error("bench", "%s", j.error);
    res->load_ms = (now_s() - t_load) * 1000;
    for (long k = 0; !rc && k < cfg->warmup; k++)
        if (!run_once(&j)) rc = cli_error("bench", "%s", j.error);
    if (!rc) {
        j.runs = runs;
        j.progress = cfg->progress;
        atomic_store(&j.next, 0);
        pthread_t th[1024];
        double cpu0 = cpu_s(), t0 = now_s();
        j.deadline = cfg->duration_s > 0 ? t0 + cfg->duration_s : 0;
        for (long long k = 0; k < cfg->concurrency; k++) pthread_create(&th[k], NULL, worker, &j);
        for (long long k = 0; k < cfg->concurrency; k++) pthread_join(th[k], NULL);
        double wall = now_s() - t0, cpu_used = cpu_s() - cpu0;
        if (cfg->progress) fprintf(stderr, "\r%60s\r", "");
        long done = atomic_load(&j.next);
        if (done > j.runs) done = j.runs;
        if (atomic_load(&j.failed)) {
            rc = cli_error("bench", "%s", j.error);
        } else if (done < 1) {
            rc = cli_error("bench", "no request finished within the duration");
        } else {
            qsort(lat, (size_t)done, sizeof *lat, cmp_double);
            double sum = 0;
            for (long k = 0; k < done; k++) sum += lat[k];
            long cores = sysconf(_SC_NPROCESSORS_ONLN);
            res->requests = done;
            res->min_ms = lat[0] * 1000;
            res->mean_ms = sum / (double)done * 1000;
            res->p50_ms = pct(lat, (size_t)done, 50) * 1000;
            res->p90_ms = pct(lat, (size_t)done, 90) * 1000;
            res->p99_ms = pct(lat, (size_t)done, 99) * 1000;
            res->p999_ms = pct(lat, (size_t)done, 99.9) * 1000;
            res->max_ms = lat[done - 1] * 1000;
            res->throughput = (double)done * (double)items / wall;
            res->batch = items;
            res->peak_rss_mb = peak_rss_mb();
            res->cpu_percent = 100 * cpu_used / wall / (double)(cores > 0 ? cores : 1);
        }
    }
    for (size_t k = 0; k < 64; k++) mdk_tensor_free(feeds[k]);
    free(image);
    if (j.pipe) mdk_pipeline_close(j.pipe);
    else mdk_model_close(j.model);
    free(lat);
    return rc;
}
