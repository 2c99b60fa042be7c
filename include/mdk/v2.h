/* v2.h: the Open Inference Protocol (KServe v2) tensor codec: inference requests in JSON (flat or nested data,
 * every v2 datatype, requested outputs) and with the binary tensor extension, and responses in both. What
 * `mdk serve` speaks, available to any program that embeds libmdk. Included by mdk.h. */
#ifndef MDK_V2_H
#define MDK_V2_H

#ifdef __cplusplus
extern "C" {
#endif

/* The v2 name of a dtype ("FP32", "INT64", "BYTES", "BF16", ...); NULL for dtypes v2 has no name for. */
MDK_API const char *mdk_v2_datatype(mdk_dtype dtype);

/* A parsed inference request. Immutable after parsing except through mdk_v2_request_take_inputs. */
typedef struct mdk_v2_request mdk_v2_request;

/* Parses a request body of `len` bytes whose first `json_len` bytes are JSON (the Inference-Header-Content-Length
 * of the binary extension; `len` when the body is JSON only) and the rest the inputs' binary data. No tensor is
 * allocated larger than the body could fill. Bad requests are MDK_ERR_FORMAT, MDK_ERR_MISMATCH or
 * MDK_ERR_TOO_LARGE with a one-line message naming the input and what was expected. */
MDK_API mdk_status mdk_v2_request_parse(const void *body, size_t len, size_t json_len, mdk_v2_request **out);
/* Frees the request and the inputs it still owns (NULL accepted). */
MDK_API void mdk_v2_request_free(mdk_v2_request *req);
/* The request's "id" ("" when it has none). */
MDK_API const char *mdk_v2_request_id(const mdk_v2_request *req);
MDK_API size_t mdk_v2_request_input_count(const mdk_v2_request *req);
/* Input `i` in request order, named as the request names it; owned by the request. NULL when out of range. */
MDK_API mdk_tensor *mdk_v2_request_input(const mdk_v2_request *req, size_t i);
/* Moves the inputs to the caller: `*inputs` is a new array (mdk_tensors_free) of `*n` tensors; the request
 * keeps none afterwards. */
MDK_API mdk_status mdk_v2_request_take_inputs(mdk_v2_request *req, mdk_tensor ***inputs, size_t *n);
/* The outputs the request names ("outputs"); 0 means all of the model's. */
MDK_API size_t mdk_v2_request_output_count(const mdk_v2_request *req);
MDK_API const char *mdk_v2_request_output(const mdk_v2_request *req, size_t i);

/* Encodes a response for `outputs` (in model order) of model `name` at `version`: the outputs `req` asked for
 * (all when `req` is NULL or names none), each as JSON data or, where the request asked for binary data, in
 * the binary extension after the JSON. `*body` is a new buffer (mdk_free) of `*len` bytes, of which the first
 * `*json_len` are JSON (== `*len` without binary outputs). MDK_ERR_UNSUPPORTED for an output v2 cannot carry
 * (a sequence, or a dtype without a v2 name). */
MDK_API mdk_status mdk_v2_response_encode(const char *name, const char *version, const mdk_v2_request *req,
                                          mdk_tensor *const *outputs, size_t n, char **body, size_t *len,
                                          size_t *json_len);

#ifdef __cplusplus
}
#endif

#endif
