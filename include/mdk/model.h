/* model.h: ONNX models, read as graphs (mdk_graph_info, without ONNX Runtime) and loaded for inference
 * (mdk_model, on ONNX Runtime). Included by mdk.h; do not include it alone. */
#ifndef MDK_MODEL_H
#define MDK_MODEL_H

#ifdef __cplusplus
extern "C" {
#endif

/* The largest ONNX file mdk reads (protobuf's own limit). */
#define MDK_MODEL_MAX_BYTES ((uint64_t)2 << 30)

/* One dimension of a declared shape: a fixed size, a named symbolic size, or unknown. */
typedef struct mdk_dim {
    int64_t value;     /* >= 0 when fixed; -1 otherwise */
    const char *param; /* the symbolic name ("batch") when declared; NULL otherwise */
} mdk_dim;

/* An input or output as declared by the model. For sequences and optionals, dtype and dims describe the
 * element tensor when known. */
typedef struct mdk_value_info {
    const char *name;
    mdk_value_kind kind;
    mdk_dtype dtype;
    int has_shape;       /* 0 when the model declares no shape (rank unknown) */
    size_t ndim;
    const mdk_dim *dims;
    const char *doc;     /* doc_string, "" when none */
} mdk_value_info;

/* ---------------------------------------------------------------------------------------------------
 * Graph information, read from the ONNX protobuf directly (no ONNX Runtime involved). */

typedef struct mdk_opset {
    const char *domain; /* "" for the default ONNX domain */
    int64_t version;
} mdk_opset;

typedef struct mdk_op_count {
    const char *domain;
    const char *op_type;
    size_t count;        /* nodes of this type, subgraphs included */
} mdk_op_count;

typedef struct mdk_meta_prop {
    const char *key;
    const char *value;
} mdk_meta_prop;

/* Read-only; allocated and freed by the library. Fields may be appended in later minor versions. */
typedef struct mdk_graph_info {
    uint64_t file_bytes;
    int64_t ir_version;
    const char *producer_name;
    const char *producer_version;
    const char *domain;
    int64_t model_version;
    const char *doc;
    const char *graph_name;
    size_t n_opsets;
    const mdk_opset *opsets;
    size_t n_inputs;             /* graph inputs that are not initializers: what a caller feeds */
    const mdk_value_info *inputs;
    size_t n_outputs;
    const mdk_value_info *outputs;
    size_t n_nodes;              /* subgraphs included */
    size_t n_op_types;
    const mdk_op_count *ops;     /* sorted by count, most frequent first */
    size_t n_initializers;
    uint64_t n_params;           /* elements of all initializers and Constant-node tensors */
    uint64_t param_bytes;        /* bytes of that data */
    int has_external_data;       /* 1 when some initializer lives in an external file */
    size_t n_meta;
    const mdk_meta_prop *meta;   /* metadata_props in file order */
    size_t n_constants;          /* Constant nodes holding a tensor (some exporters keep weights there) */
} mdk_graph_info;

/* Parses the ONNX file at `path` (at most MDK_MODEL_MAX_BYTES). */
MDK_API mdk_status mdk_graph_info_read(const char *path, mdk_graph_info **out);
MDK_API mdk_status mdk_graph_info_read_memory(const void *data, size_t len, const char *what, mdk_graph_info **out);
MDK_API void mdk_graph_info_free(mdk_graph_info *info);

/* ---------------------------------------------------------------------------------------------------
 * Inference on ONNX Runtime. */

typedef struct mdk_model mdk_model;

/* Session settings. Initialise with mdk_options_init, then change fields. */
typedef struct mdk_options {
    size_t struct_size;      /* sizeof(mdk_options), set by mdk_options_init */
    int intra_op_threads;    /* 0: ONNX Runtime's default (one per physical core) */
    int inter_op_threads;    /* 0: default */
    int graph_opt_level;     /* 0 none, 1 basic, 2 extended, 3 all (default 3) */
    int log_level;           /* ONNX Runtime's: 0 verbose .. 4 fatal (default 4: mdk reports errors itself) */
    /* since 0.2 */
    int execution_mode;      /* 0 sequential (default), 1 parallel: independent branches run on inter-op threads */
    uint64_t max_batch;      /* 0: no limit; otherwise a larger first dim of an input declared with a dynamic
                              * first dim is refused by mdk_model_run with MDK_ERR_TOO_LARGE */
    uint64_t max_input_bytes; /* 0: no limit; otherwise inputs larger in total are refused (MDK_ERR_TOO_LARGE) */
    /* since 0.3 */
    int allow_empty;         /* 1: a dynamic dim may be 0. By default (0) such an input is refused with
                              * MDK_ERR_INVALID_ARGUMENT before ONNX Runtime sees it: some of its kernels (GRU,
                              * LSTM) abort the whole process on an empty batch */
} mdk_options;

/* The function behind mdk_options_init(), for callers that cannot use the macro (other languages): `size` is
 * the caller's sizeof(mdk_options). */
MDK_API void mdk_options_init_sized(mdk_options *opts, size_t size);
/* Sets every field of `opts` to its default, struct_size to the caller's sizeof: fields appended in later
 * versions are never written into an older caller's smaller struct. */
#define mdk_options_init(opts) mdk_options_init_sized((opts), sizeof *(opts))

/* The options a model is actually opened with, limits included. */
MDK_API const mdk_options *mdk_model_options(const mdk_model *m);

/* Loads the ONNX model at `path` into an ONNX Runtime session. `opts` may be NULL for defaults. */
MDK_API mdk_status mdk_model_open(const char *path, const mdk_options *opts, mdk_model **out);
/* The same from a buffer, which the caller may free once this returns. `what` names it in messages. */
MDK_API mdk_status mdk_model_open_memory(const void *data, size_t len, const char *what, const mdk_options *opts,
                                         mdk_model **out);
/* Closes the session. Must not race with mdk_model_run on the same model. */
MDK_API void mdk_model_close(mdk_model *m);

/* The inputs the caller must or may feed, and the outputs, as ONNX Runtime reports them. Pointers stay
 * valid until mdk_model_close. */
MDK_API size_t mdk_model_input_count(const mdk_model *m);
MDK_API const mdk_value_info *mdk_model_input(const mdk_model *m, size_t i);
MDK_API size_t mdk_model_output_count(const mdk_model *m);
MDK_API const mdk_value_info *mdk_model_output(const mdk_model *m, size_t i);
/* The index of the input/output called `name`, or -1. */
MDK_API int mdk_model_input_index(const mdk_model *m, const char *name);
MDK_API int mdk_model_output_index(const mdk_model *m, const char *name);

/* Runs the model once. Each input tensor is matched to a model input by its name (mdk_tensor_name); an
 * unnamed tensor takes the position it has in `inputs`. Names, dtypes, ranks and fixed dims are checked
 * before ONNX Runtime sees them, and a mismatch is MDK_ERR_MISMATCH with a message naming the input, what
 * was expected and what was given. On success `*outputs` is a new array of `*n_outputs` named tensors in
 * model output order, freed with mdk_tensors_free.
 * Thread-safe: any number of threads may run the same model concurrently. */
MDK_API mdk_status mdk_model_run(mdk_model *m, mdk_tensor *const *inputs, size_t n_inputs, mdk_tensor ***outputs,
                                 size_t *n_outputs);

/* Checks `t` against model input `index` exactly as mdk_model_run would, without running. A uint16 tensor
 * is accepted for a bfloat16 input and passed bit for bit (NumPy's way of holding bfloat16). */
MDK_API mdk_status mdk_model_check_input(const mdk_model *m, size_t index, const mdk_tensor *t);

#ifdef __cplusplus
}
#endif

#endif
