/* cases.h: sets of test cases (inputs with their expected outputs) read from a directory, as used by
 * `mdk verify`. Included by mdk.h; do not include it alone.
 *
 * Two layouts are recognised:
 * - ONNX's test layout: subdirectories `test_data_set_*` each holding `input_<i>.pb` and `output_<i>.pb`
 *   (TensorProto files; a tensor without a name takes the model input or output at position i);
 * - NumPy: `inputs.npz` + `expected_outputs.npz` keyed by tensor name (one case), or keyed by
 *   `CASE/NAME` (one case per distinct CASE, in archive order); or `inputs.npy` + `expected_outputs.npy`
 *   for a model with one input and one output (one case, tensors unnamed). */
#ifndef MDK_CASES_H
#define MDK_CASES_H

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mdk_caseset mdk_caseset;

/* One case; all pointers are owned by the case set. */
typedef struct mdk_case {
    const char *name;
    size_t n_inputs;
    mdk_tensor *const *inputs;
    size_t n_expected;
    mdk_tensor *const *expected;
} mdk_case;

/* Reads every case under `dir`. `model` may be NULL; when given, .pb files are read as the kind of value
 * (tensor, sequence, optional) its input or output at that position declares, as ONNX's test data needs.
 * MDK_ERR_NOT_FOUND when `dir` holds neither layout. */
MDK_API mdk_status mdk_caseset_read(const char *dir, const mdk_model *model, mdk_caseset **out);
MDK_API void mdk_caseset_free(mdk_caseset *cs);
MDK_API size_t mdk_caseset_count(const mdk_caseset *cs);
/* Case `i` (NULL when out of range). */
MDK_API const mdk_case *mdk_caseset_get(const mdk_caseset *cs, size_t i);

#ifdef __cplusplus
}
#endif

#endif
