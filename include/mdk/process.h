/* process.h: pre- and post-processing declared once in a spec (mdk/spec.h) and executed by this one
 * implementation everywhere: images to input tensors, output tensors to JSON results. Included by mdk.h.
 * The steps are documented in docs/processing.md. */
#ifndef MDK_PROCESS_H
#define MDK_PROCESS_H

#ifdef __cplusplus
extern "C" {
#endif

/* Where each preprocessed image came from: what postprocessing needs to map results back onto the
 * original image. Freed with mdk_prep_info_free. */
typedef struct mdk_prep_info mdk_prep_info;
/* Frees `info` (NULL accepted). */
MDK_API void mdk_prep_info_free(mdk_prep_info *info);
MDK_API size_t mdk_prep_info_count(const mdk_prep_info *info);

/* Runs the spec's preprocessing on `n` images as one batch: `*out` is a new tensor (named after the model
 * input) whose first dim is n. Every image must reach the same size (a resize step ensures it). */
MDK_API mdk_status mdk_preprocess(const mdk_spec *spec, mdk_image *const *images, size_t n, mdk_tensor **out,
                                  mdk_prep_info **info);

/* Decode options for images this spec will preprocess: defaults, the spec's `limits.max_image_pixels`, and
 * with `fast` the reduced-scale JPEG size the spec's first resize step allows. */
MDK_API void mdk_spec_decode_options(const mdk_spec *spec, int fast, mdk_decode_options *opts);

/* Reads and preprocesses image files, decoded with `opts` (NULL: mdk_spec_decode_options(spec, 0, ...)). */
MDK_API mdk_status mdk_preprocess_files(const mdk_spec *spec, const char *const *paths, size_t n,
                                        const mdk_decode_options *opts, mdk_tensor **out, mdk_prep_info **info);

/* Runs the spec's postprocessing on a model's outputs for the batch described by `info` (NULL: no
 * mapping back to original images) and returns a new NUL-terminated JSON document (free with mdk_free()).
 * `names` may give one label per image for the "image" field (NULL, or a NULL entry: the image's index). */
MDK_API mdk_status mdk_postprocess(const mdk_spec *spec, mdk_tensor *const *outputs, size_t n_outputs,
                                   const mdk_prep_info *info, const char *const *names, char **json);

/* ---------------------------------------------------------------------------------------------------
 * The whole pipeline: a spec with its model loaded. Thread-safe like mdk_model. */
typedef struct mdk_pipeline mdk_pipeline;

/* Opens a model in any of its forms and loads it: a bundle directory or .mdk archive (integrity checked first),
 * a spec (mdk.yaml, or a directory holding one), or a bare model (.onnx, .ort: no processing; it takes tensors,
 * and images are refused with a message saying so). `opts` may be NULL: the spec's runtime defaults apply. */
MDK_API mdk_status mdk_pipeline_open(const char *path, const mdk_options *opts, mdk_pipeline **out);
MDK_API void mdk_pipeline_close(mdk_pipeline *p);
MDK_API const mdk_spec *mdk_pipeline_spec(const mdk_pipeline *p);
MDK_API mdk_model *mdk_pipeline_model(const mdk_pipeline *p);

/* Preprocesses the images as one batch, runs the model and postprocesses: `*json` as mdk_postprocess.
 * The model's other inputs, if any, are `n_extra` named tensors in `extra`, passed through unchanged.
 * When `outputs` is not NULL, the raw output tensors are handed over too (mdk_tensors_free). */
MDK_API mdk_status mdk_pipeline_run(mdk_pipeline *p, mdk_image *const *images, size_t n, const char *const *names,
                                    mdk_tensor *const *extra, size_t n_extra, char **json, mdk_tensor ***outputs,
                                    size_t *n_outputs);

#ifdef __cplusplus
}
#endif

#endif
