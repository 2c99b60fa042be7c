/* ort_loop.c: the peer of `mdk bench`: a bare ONNX Runtime C loop on a model with one float input, timing
 * each Run with the same clock. Prints {"p50_ms": ..., "runs": ...}.
 * usage: ort_loop MODEL THREADS RUNS WARMUP DIM0 DIM1 ... (the input's shape) */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <onnxruntime_c_api.h>

static const OrtApi *ort;

static void check(OrtStatus *s)
{
    if (s) {
        fprintf(stderr, "ort_loop: %s\n", ort->GetErrorMessage(s));
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

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: ort_loop MODEL THREADS RUNS WARMUP DIM...\n");
        return 2;
    }
    ort = OrtGetApiBase()->GetApi(ORT_API_VERSION);
    int threads = atoi(argv[2]), runs = atoi(argv[3]), warmup = atoi(argv[4]);
    size_t nd = (size_t)argc - 5, count = 1;
    int64_t dims[16];
    for (size_t i = 0; i < nd && i < 16; i++) count *= (size_t)(dims[i] = atoll(argv[5 + i]));
    OrtEnv *env;
    OrtSessionOptions *so;
    OrtSession *sess;
    OrtAllocator *alloc;
    OrtMemoryInfo *mem;
    check(ort->CreateEnv(ORT_LOGGING_LEVEL_FATAL, "ort_loop", &env));
    check(ort->CreateSessionOptions(&so));
    check(ort->SetIntraOpNumThreads(so, threads));
    check(ort->SetSessionGraphOptimizationLevel(so, ORT_ENABLE_ALL));
    check(ort->CreateSession(env, argv[1], so, &sess));
    check(ort->GetAllocatorWithDefaultOptions(&alloc));
    check(ort->CreateCpuMemoryInfo(OrtArenaAllocator, OrtMemTypeDefault, &mem));
    char *in_name, *out_name;
    check(ort->SessionGetInputName(sess, 0, alloc, &in_name));
    check(ort->SessionGetOutputName(sess, 0, alloc, &out_name));
    float *data = malloc(count * sizeof *data);
    for (size_t i = 0; i < count; i++) data[i] = (float)((i * 2654435761u) % 1000) / 1000.0f;
    OrtValue *input;
    check(ort->CreateTensorWithDataAsOrtValue(mem, data, count * sizeof *data, dims, nd, ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT,
                                              &input));
    const char *ins[] = {in_name}, *outs[] = {out_name};
    double *lat = malloc((size_t)runs * sizeof *lat);
    for (int i = 0; i < warmup + runs; i++) {
        OrtValue *out = NULL;
        double t0 = now_s();
        check(ort->Run(sess, NULL, ins, (const OrtValue *const *)&input, 1, outs, 1, &out));
        if (i >= warmup) lat[i - warmup] = now_s() - t0;
        ort->ReleaseValue(out);
    }
    qsort(lat, (size_t)runs, sizeof *lat, cmp);
    printf("{\"p50_ms\": %.6f, \"runs\": %d}\n", lat[(runs + 1) / 2 - 1] * 1000, runs);
    return 0;
}
