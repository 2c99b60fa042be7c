/* mdk.h: the public API of libmdk, the Model Delivery Kit. Everything the mdk tool, the server and
 * the bindings use is declared here and in the headers this one includes.
 *
 * Conventions that hold for every function unless its comment says otherwise:
 * - Functions that can fail return an mdk_status. On failure a one-line message naming what was wrong
 *   and what was expected is kept for the calling thread and read with mdk_errmsg(); outputs are left
 *   untouched (no half-built object is ever returned).
 * - Objects are opaque handles created by *_new / *_open / *_read and released by the matching *_free /
 *   *_close, which accept NULL.
 * - Strings returned as `const char *` are owned by the object they came from and stay valid until that
 *   object is freed or modified.
 * - Thread safety: distinct objects may be used from distinct threads freely. An mdk_model may be run
 *   from many threads at once (see mdk_model_run); other objects must not be modified concurrently.
 *
 * ABI policy: the soname carries the major version. Within a major version, functions and enum values
 * are only added, never removed or renumbered; structs the caller allocates carry a `struct_size` first
 * field so that fields can be appended; structs the library allocates are read-only to the caller and may
 * gain fields at their end. */
#ifndef MDK_MDK_H
#define MDK_MDK_H

#include <stddef.h>
#include <stdint.h>

#include "mdk/version.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define MDK_API __declspec(dllexport)
#elif defined(__GNUC__)
#define MDK_API __attribute__((visibility("default")))
#else
#define MDK_API
#endif

/* ---------------------------------------------------------------------------------------------------
 * Status and errors */

/* Append-only: values are never renumbered. */
typedef enum mdk_status {
    MDK_OK = 0,
    MDK_ERR_INVALID_ARGUMENT = 1, /* a caller passed a value outside the documented range */
    MDK_ERR_NOT_FOUND = 2,        /* a file, tensor, input or output that does not exist */
    MDK_ERR_IO = 3,               /* reading or writing a file failed */
    MDK_ERR_FORMAT = 4,           /* a file or buffer is not in the expected format */
    MDK_ERR_TOO_LARGE = 5,        /* an input exceeds a size cap */
    MDK_ERR_NO_MEMORY = 6,        /* an allocation failed */
    MDK_ERR_MISMATCH = 7,         /* a name, dtype, rank or shape does not match what the model expects */
    MDK_ERR_RUNTIME = 8,          /* ONNX Runtime reported an error */
    MDK_ERR_UNSUPPORTED = 9       /* valid input that mdk does not handle (yet) */
} mdk_status;

/* A short fixed description of a status ("invalid argument", ...); never NULL. */
MDK_API const char *mdk_status_str(mdk_status status);

/* The message of the last failure on the calling thread; "" when none. Valid until the next call into
 * libmdk on the same thread. */
MDK_API const char *mdk_errmsg(void);

/* ---------------------------------------------------------------------------------------------------
 * Memory and paths */

/* Frees memory libmdk handed to the caller (JSON documents, file contents, paths, tensor lists' arrays);
 * NULL accepted. Use it rather than free(): the library's allocator is its own business. */
MDK_API void mdk_free(void *p);

/* The SHA-256 of `len` bytes as 64 lowercase hex digits and a NUL in `out` (what manifests record). */
MDK_API void mdk_sha256_hex(const void *data, size_t len, char out[65]);

/* Joins `dir` and `name` with one '/' into `out` (`size` bytes, NUL-terminated). When the result does not
 * fit, nothing is cut: MDK_ERR_TOO_LARGE with a message giving the path's length and the limit. A NULL or
 * empty `dir` gives `name` alone. */
MDK_API mdk_status mdk_path_join(char *out, size_t size, const char *dir, const char *name);

/* ---------------------------------------------------------------------------------------------------
 * Versions */

/* mdk's version, "MAJOR.MINOR.PATCH"; equals MDK_VERSION_STRING of the headers the library was built with. */
MDK_API const char *mdk_version(void);

/* The version of the ONNX Runtime library actually loaded in this process, e.g. "1.30.0". */
MDK_API const char *mdk_ort_version(void);

/* ---------------------------------------------------------------------------------------------------
 * Element types: the numbering is ONNX's TensorProto.DataType (and ONNX Runtime's). */

typedef enum mdk_dtype {
    MDK_DTYPE_UNDEFINED = 0,
    MDK_DTYPE_FLOAT32 = 1,
    MDK_DTYPE_UINT8 = 2,
    MDK_DTYPE_INT8 = 3,
    MDK_DTYPE_UINT16 = 4,
    MDK_DTYPE_INT16 = 5,
    MDK_DTYPE_INT32 = 6,
    MDK_DTYPE_INT64 = 7,
    MDK_DTYPE_STRING = 8,
    MDK_DTYPE_BOOL = 9,
    MDK_DTYPE_FLOAT16 = 10,
    MDK_DTYPE_FLOAT64 = 11,
    MDK_DTYPE_UINT32 = 12,
    MDK_DTYPE_UINT64 = 13,
    MDK_DTYPE_COMPLEX64 = 14, /* recognised by name only; tensors of it are MDK_ERR_UNSUPPORTED */
    MDK_DTYPE_COMPLEX128 = 15,
    MDK_DTYPE_BFLOAT16 = 16
} mdk_dtype;

/* NumPy-style name ("float32", "int64", "bool", "string", "bfloat16", ...); "undefined" for unknown values. */
MDK_API const char *mdk_dtype_name(mdk_dtype dtype);
/* Parses a name as printed by mdk_dtype_name, also ONNX and KServe spellings ("float", "FP32", "INT64",
 * "BYTES", ...), case-insensitively. MDK_DTYPE_UNDEFINED when unknown. */
MDK_API mdk_dtype mdk_dtype_from_name(const char *name);
/* Bytes per element; 0 for string and unsupported types. */
MDK_API size_t mdk_dtype_size(mdk_dtype dtype);

#ifdef __cplusplus
}
#endif

#include "mdk/tensor.h"
#include "mdk/model.h"
#include "mdk/cases.h"
#include "mdk/image.h"
#include "mdk/spec.h"
#include "mdk/process.h"
#include "mdk/bundle.h"
#include "mdk/v2.h"

#endif
