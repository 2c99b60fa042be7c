/* spec.h: the spec module's interface: the parsed mdk.yaml (identity, interface, labels, the declared pre- and
 * postprocessing steps, runtime defaults and limits, test cases), its reader and its canonical writer. Depends
 * only on core and tensor; processing and bundles build on it. */
#ifndef MDK_SPEC_SPEC_H
#define MDK_SPEC_SPEC_H

#include "core/core.h"

/* Resampling methods a resize step may name, with OpenCV's meaning. */
typedef enum mdki_interp {
    MDKI_INTERP_NEAREST = 0, /* cv2.INTER_NEAREST */
    MDKI_INTERP_BILINEAR = 1, /* cv2.INTER_LINEAR */
    MDKI_INTERP_BICUBIC = 2, /* cv2.INTER_CUBIC */
    MDKI_INTERP_AREA = 3     /* cv2.INTER_AREA */
} mdki_interp;

#define MDKI_MAX_STEPS 32
#define MDKI_SPEC_FORMAT_VERSION 1
#define MDKI_MAX_LABELS 1000000
#define MDKI_SPEC_MAX_NAME 128   /* characters of a model name: it names files, folders and URLs */
#define MDKI_SPEC_MAX_VERSION 64 /* characters of a version */

typedef enum mdki_step_kind {
    MDKI_STEP_RESIZE,      /* exact width x height */
    MDKI_STEP_SHORTER,     /* shorter side to `size`, keeping aspect */
    MDKI_STEP_LONGER,      /* longer side to `size`, keeping aspect */
    MDKI_STEP_LETTERBOX,   /* fit into width x height keeping aspect, pad the rest with `pad` */
    MDKI_STEP_CROP,        /* centre crop width x height */
    MDKI_STEP_COLOR,       /* channel order: RGB, BGR or GRAY */
    MDKI_STEP_SCALE,       /* multiply (starts the float stage) */
    MDKI_STEP_NORMALIZE    /* (x - mean[c]) / std[c] */
} mdki_step_kind;

typedef enum mdki_color { MDKI_COLOR_RGB, MDKI_COLOR_BGR, MDKI_COLOR_GRAY } mdki_color;

typedef struct mdki_step {
    mdki_step_kind kind;
    int width, height, size, pad;
    mdki_interp interp;
    mdki_color color;
    float scale;
    int n_ch;
    float mean[4], std[4];
} mdki_step;

typedef struct mdki_prep {
    int present;
    char *input;
    mdki_step steps[MDKI_MAX_STEPS];
    size_t n_steps;
    int nhwc;          /* layout NHWC instead of NCHW */
    mdk_dtype dtype;   /* float32, float16 or uint8 */
} mdki_prep;

typedef enum mdki_post_type { MDKI_POST_NONE, MDKI_POST_CLASSIFY, MDKI_POST_DETECT, MDKI_POST_SEGMENT } mdki_post_type;
typedef enum mdki_activation { MDKI_ACT_NONE, MDKI_ACT_SOFTMAX, MDKI_ACT_SIGMOID } mdki_activation;
typedef enum mdki_box_format { MDKI_BOX_XYXY, MDKI_BOX_XYWH, MDKI_BOX_CXCYWH } mdki_box_format;

typedef struct mdki_post {
    mdki_post_type type;
    char *output;          /* classification/segmentation scores, or detection's combined output */
    mdki_activation activation;
    int top_k;
    double threshold;      /* minimum score to report */
    /* detection */
    char *boxes_output, *scores_output; /* separate outputs instead of `output` */
    mdki_box_format box_format;
    int normalized;        /* coordinates in [0, 1] of the model input size */
    int channels_first;    /* combined output laid out [N, 4+C, B] instead of [N, B, 4+C] */
    int objectness;        /* a score column before the class scores (multiplied in) */
    double iou;
    int max_detections;
    int class_aware;
} mdki_post;

/* A declared input or output: its name, dtype, shape with named dims, and meaning. */
typedef struct mdki_io_decl {
    char *name;
    mdk_dtype dtype;       /* MDK_DTYPE_UNDEFINED when not declared */
    int has_shape;
    size_t ndim;
    int64_t dims[MDK_MAX_DIMS];  /* -1 for a named (dynamic) dim */
    char *dim_names[MDK_MAX_DIMS];
    char *description;
} mdki_io_decl;

typedef struct mdki_change {
    char *version, *date, *text;
} mdki_change;

/* Reads a file named by the spec (labels, test images): from disk, or from a bundle archive in memory. */
typedef mdk_status (*mdki_file_reader)(void *ctx, const char *path, uint64_t cap, char **data, size_t *len);

struct mdk_spec {
    char *path, *dir;
    int bare;                           /* made for a bare model (mdki_spec_for_model), not read from a file */
    char *name, *version, *model;
    char *description, *task, *owner, *license;
    char *variant_int8, *variant_fp16;  /* resolved paths, NULL when absent */
    char *labels_source;                /* the labels file as named (NULL when inline or absent) */
    char **labels;
    size_t n_labels;
    mdki_io_decl *inputs, *outputs;
    size_t n_inputs, n_outputs;
    mdk_spec_runtime rt;                /* runtime defaults and limits */
    char **providers;
    size_t n_providers;
    char **test_images;                 /* resolved paths */
    size_t n_test_images;
    char *test_inputs, *test_expected;  /* resolved paths of .npz/.npy files, NULL when absent */
    double rtol, atol;
    mdki_change *changelog;
    size_t n_changes;
    double perf_p99_ms, perf_throughput; /* 0 when not declared */
    mdki_prep pre;
    mdki_post post;
};

/* Parses a spec held in memory; `path` names it in messages and gives the directory relative files are
 * resolved against; `reader` (NULL: the disk) reads the files it names. */
mdk_status mdki_spec_parse(const char *data, size_t len, const char *path, mdki_file_reader reader, void *reader_ctx,
                           mdk_spec **out);

/* The spec a bare model (.onnx, .ort) stands for: named after the file, no processing, defaults throughout. */
mdk_status mdki_spec_for_model(const char *model_path, mdk_spec **out);

/* The spec as canonical YAML (what a bundle's mdk.yaml holds), naming the files as the bundle holds them: the
 * model and its variants, the labels, and the test images (`test_images`: one per spec test image, relative to
 * test_cases/ as cases.json names them; written as test_cases/...; NULL: none listed). */
mdk_status mdki_spec_emit(const mdk_spec *s, const char *model_path, const char *labels_path, const char *int8_path,
                          const char *fp16_path, const char *const *test_images, mdki_buf *out);

#endif
