/* bundle.h: delivery bundles: packing a spec into NAME-VERSION/ (and NAME-VERSION.mdk), opening one with
 * every file's hash checked, running its test cases, and telling compatible from breaking updates.
 * Included by mdk.h. The layout is documented in docs/bundle.md. */
#ifndef MDK_BUNDLE_H
#define MDK_BUNDLE_H

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mdk_pack_options {
    size_t struct_size;     /* sizeof(mdk_pack_options), set by mdk_pack_options_init */
    const char *out_dir;    /* where NAME-VERSION/ goes (default ".") */
    int archive;            /* also write NAME-VERSION.mdk (tar + zstd), byte-for-byte reproducible */
    int force;              /* replace an existing NAME-VERSION/ and .mdk */
    const char *bench_json; /* an `mdk bench --json` report to embed in docs/performance.md, or NULL */
} mdk_pack_options;

/* The function behind mdk_pack_options_init(), for callers that cannot use the macro (other languages): `size` is
 * the caller's sizeof(mdk_pack_options). */
MDK_API void mdk_pack_options_init_sized(mdk_pack_options *opts, size_t size);
/* Sets every field of `opts` to its default, struct_size to the caller's sizeof: fields appended in later
 * versions are never written into an older caller's smaller struct. */
#define mdk_pack_options_init(opts) mdk_pack_options_init_sized((opts), sizeof *(opts))

/* Builds the bundle the spec at `spec_path` describes: copies the model, its variants and the test images,
 * generates test cases by running the model, the model card, the OpenAPI description, examples and
 * deployment files, hashes every file into manifest.json, then verifies the result. The directory appears
 * only when complete. `*bundle_dir` and `*archive_path` (either may be NULL) receive new paths to mdk_free(). */
MDK_API mdk_status mdk_pack(const char *spec_path, const mdk_pack_options *opts, char **bundle_dir, char **archive_path);

typedef struct mdk_bundle mdk_bundle;

/* 1 when `path` is a bundle: a directory holding manifest.json, or a file ending in .mdk. */
MDK_API int mdk_path_is_bundle(const char *path);

/* Opens a bundle directory or .mdk archive and checks its integrity before anything else: a file changed,
 * missing from or added to what manifest.json lists is MDK_ERR_FORMAT naming the file. Archives are read in
 * memory and treated as untrusted: absolute paths, "..", links, devices, duplicates and oversized entries are
 * refused. */
MDK_API mdk_status mdk_bundle_open(const char *path, mdk_bundle **out);
MDK_API void mdk_bundle_close(mdk_bundle *b);
MDK_API const mdk_spec *mdk_bundle_spec(const mdk_bundle *b);
/* "sha256:<hex>" over the manifest's file list. */
MDK_API const char *mdk_bundle_digest(const mdk_bundle *b);
MDK_API size_t mdk_bundle_file_count(const mdk_bundle *b);
/* The relative path of file `i` ("docs/openapi.json"; the last is "manifest.json"), NULL when out of range. */
MDK_API const char *mdk_bundle_file_name(const mdk_bundle *b, size_t i);
/* Reads the bundle's file `rel` (at most `cap` bytes) into `*data` (NUL-terminated, mdk_free()); a directory
 * bundle's file is hashed again and refused if it changed since mdk_bundle_open. */
MDK_API mdk_status mdk_bundle_read_file(const mdk_bundle *b, const char *rel, uint64_t cap, char **data, size_t *len);
/* The bundle's model with its pre/postprocessing, loaded for inference. */
MDK_API mdk_status mdk_bundle_pipeline(const mdk_bundle *b, const mdk_options *opts, mdk_pipeline **out);

/* Runs every test case of the bundle through the full pipeline (images through preprocessing, the model,
 * the expected outputs compared with the bundle's rtol/atol). `cb` (may be NULL) is called once per case. */
typedef void (*mdk_case_callback)(void *ctx, const char *name, int pass, const char *detail);
/* `*passed` and `*failed` (either may be NULL) receive the counts; the status is MDK_OK when the cases could
 * be run, whatever their outcome. Thread-safe for distinct bundles. */
MDK_API mdk_status mdk_bundle_run_cases(const mdk_bundle *b, const mdk_options *opts, mdk_case_callback cb, void *ctx,
                                        size_t *passed, size_t *failed);

/* The inputs of the bundle's first test case, named by model input: the stored tensors (for an image case, its
 * image as preprocessing made it). A known-good input to start probes, benchmarks and examples from.
 * `*inputs` is a new array of `*n` tensors (mdk_tensors_free). */
MDK_API mdk_status mdk_bundle_first_case(const mdk_bundle *b, mdk_tensor ***inputs, size_t *n);

/* Compares two bundles' interfaces: inputs/outputs (names, dtypes, shapes), preprocessing, postprocessing,
 * labels and the model digest. `*report` is a new JSON document (mdk_free()) listing each change with its
 * impact; `*breaking` is 1 when the new bundle cannot replace the old one in place. */
MDK_API mdk_status mdk_bundle_diff(const mdk_bundle *old_b, const mdk_bundle *new_b, char **report, int *breaking);

#ifdef __cplusplus
}
#endif

#endif
