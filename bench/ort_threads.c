/* ort_threads.c: the in-process peer of `mdk serve`: one ONNX Runtime session run by CONCURRENCY threads at
 * once for SECONDS, each Run timed; prints {"throughput": items/s, "p50_ms": ..., "p99_ms": ..., "runs": ...}.
 * usage: ort_threads MODEL INTRA_THREADS CONCURRENCY SECONDS DIM0 DIM1 ... (the float input's shape) */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <onnxruntime_c_api.h>

#define MAX_RUNS 2000000

static const OrtApi *ort;
static OrtSession *sess;
static OrtValue *input;
static const char *ins[1], *outs[1];
static double deadline, lat[MAX_RUNS];
static long n_runs;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static void check(OrtStatus *s)
{
    if (s) {
        fprintf(stderr, "ort_threads: %s\n", ort->GetErrorMessage(s));
        exit(1);
    }
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void *worker(void *arg)
{
    (void)arg;
    while (now_s() < deadline) {
        OrtValue *out = NULL;
        double t0 = now_s();
        check(ort->Run(sess, NULL, ins, (const OrtValue *const *)&input, 1, outs, 1, &out));
        double t = now_s() - t0;
        ort->ReleaseValue(out);
        pthread_mutex_lock(&mu);
        if (n_runs < MAX_RUNS) lat[n_runs++] = t;
        pthread_mutex_unlock(&mu);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: ort_threads MODEL INTRA_THREADS CONCURRENCY SECONDS DIM...\n");
        return 2;
    }
    ort = OrtGetApiBase()->GetApi(ORT_API_VERSION);
    int intra = atoi(argv[2]), conc = atoi(argv[3]);
    double seconds = atof(argv[4]);
    size_t nd = (size_t)argc - 5, count = 1;
    int64_t dims[16];
    for (size_t i = 0; i < nd && i < 16; i++) count *= (size_t)(dims[i] = atoll(argv[5 + i]));
    OrtEnv *env;
    OrtSessionOptions *so;
    OrtAllocator *alloc;
    OrtMemoryInfo *mem;
    check(ort->CreateEnv(ORT_LOGGING_LEVEL_FATAL, "ort_threads", &env));
    check(ort->CreateSessionOptions(&so));
    check(ort->SetIntraOpNumThreads(so, intra));
    check(ort->SetSessionGraphOptimizationLevel(so, ORT_ENABLE_ALL));
    check(ort->CreateSession(env, argv[1], so, &sess));
    check(ort->GetAllocatorWithDefaultOptions(&alloc));
    check(ort->CreateCpuMemoryInfo(OrtArenaAllocator, OrtMemTypeDefault, &mem));
    char *in_name, *out_name;
    check(ort->SessionGetInputName(sess, 0, alloc, &in_name));
    check(ort->SessionGetOutputName(sess, 0, alloc, &out_name));
    ins[0] = in_name, outs[0] = out_name;
    float *data = malloc(count * sizeof *data);
    for (size_t i = 0; i < count; i++) data[i] = (float)((i * 2654435761u) % 1000) / 1000.0f;
    check(ort->CreateTensorWithDataAsOrtValue(mem, data, count * sizeof *data, dims, nd, ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT,
                                              &input));
    deadline = now_s() + 1; /* warm-up second, not counted */
    worker(NULL);
    n_runs = 0;
    pthread_t th[256];
    double t0 = now_s();
    deadline = t0 + seconds;
    for (int i = 0; i < conc && i < 256; i++) pthread_create(&th[i], NULL, worker, NULL);
    for (int i = 0; i < conc && i < 256; i++) pthread_join(th[i], NULL);
    double wall = now_s() - t0;
    qsort(lat, (size_t)n_runs, sizeof *lat, cmp);
    printf("{\"throughput\": %.3f, \"p50_ms\": %.4f, \"p99_ms\": %.4f, \"runs\": %ld}\n", (double)n_runs * (double)dims[0] / wall,
           lat[(n_runs + 1) / 2 - 1] * 1000, lat[(size_t)((double)n_runs * 0.99)] * 1000, n_runs);
    return 0;
}
