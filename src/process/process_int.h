/* process_int.h: what preprocessing, postprocessing and the pipeline share: where each image of a batch came
 * from, and the pipeline constructor bundles use. The spec they execute is the spec module's (spec/spec.h). */
#ifndef MDK_PROCESS_INT_H
#define MDK_PROCESS_INT_H

#include "core/core.h"
#include "process/image_int.h"
#include "process/resize.h"
#include "spec/spec.h"

/* What preprocessing did to one image: model coordinate = original * a + b, per axis. */
typedef struct mdki_prep_map {
    int orig_w, orig_h;   /* the image as decoded (full size, oriented) */
    int in_w, in_h;       /* the model input's spatial size */
    double ax, bx, ay, by;
} mdki_prep_map;

struct mdk_prep_info {
    size_t n;
    mdki_prep_map *maps;
};

mdk_status mdki_prep_info_new(size_t n, mdk_prep_info **out);

/* A pipeline over a parsed spec and a loaded model, both owned from now on (freed on failure too). */
mdk_status mdki_pipeline_new(mdk_spec *spec, mdk_model *model, mdk_pipeline **out);

#endif
