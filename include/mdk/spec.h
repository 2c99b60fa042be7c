/* spec.h: the spec (mdk.yaml), the one source of truth of a model's delivery: identity, model, interface,
 * labels, pre/postprocessing, runtime defaults and limits, test cases. Reading and querying it needs no model
 * and no ONNX Runtime. Included by mdk.h; the format is documented in docs/processing.md. */
#ifndef MDK_SPEC_H
#define MDK_SPEC_H

#ifdef __cplusplus
extern "C" {
#endif

/* A parsed and validated spec. Immutable once read: safe to share between threads. */
typedef struct mdk_spec mdk_spec;

/* Reads `path`: an mdk.yaml file, or a directory holding one (a bundle). Errors name the file, line and
 * field ("mdk.yaml:12:7: preprocess.steps[1].resize: unknown interpolation 'linear2', expected one of
 * nearest, bilinear, bicubic, area"). Relative paths inside the spec are resolved against its directory. */
MDK_API mdk_status mdk_spec_read(const char *path, mdk_spec **out);
MDK_API void mdk_spec_free(mdk_spec *spec);

MDK_API const char *mdk_spec_name(const mdk_spec *spec);
MDK_API const char *mdk_spec_version(const mdk_spec *spec);
/* The model file, resolved against the spec's directory ("" when the spec names none). */
MDK_API const char *mdk_spec_model_path(const mdk_spec *spec);
/* The model input the preprocessing feeds (NULL: the model's only input). */
MDK_API const char *mdk_spec_input_name(const mdk_spec *spec);
MDK_API int mdk_spec_has_preprocess(const mdk_spec *spec);

/* The runtime defaults (`runtime:`) and limits (`limits:`) a spec declares; 0 (-1 for the two enums) where
 * it declares none. Read-only, owned by the spec. Fields may be appended in later minor versions. */
typedef struct mdk_spec_runtime {
    int threads;             /* intra-op threads */
    int inter_op_threads;
    int execution_mode;      /* 0 sequential, 1 parallel */
    int graph_opt_level;     /* 0 none .. 3 all */
    int batch;               /* the batch size a server groups requests into */
    int concurrency;         /* requests run in parallel on one loaded model */
    uint64_t max_batch, max_image_pixels, max_request_bytes;
} mdk_spec_runtime;
/* The spec's runtime defaults and limits. */
MDK_API const mdk_spec_runtime *mdk_spec_runtime_defaults(const mdk_spec *spec);
/* Sets the fields of `opts` still at their defaults to the spec's runtime defaults and max_batch limit:
 * what mdk_pipeline_open and mdk_bundle_pipeline do with the options they are given. */
MDK_API void mdk_spec_apply_options(const mdk_spec *spec, mdk_options *opts);

/* The performance the vendor states for the bundle (`performance:`): P99 latency in milliseconds and
 * throughput in items per second; 0 where the spec states none. */
MDK_API void mdk_spec_performance(const mdk_spec *spec, double *p99_ms, double *throughput);

#ifdef __cplusplus
}
#endif

#endif
