/* pipeline.c: a spec with its model loaded: images in, JSON results out, the same in every front end. */
#include <string.h>

#include "process/process_int.h"

struct mdk_pipeline {
    mdk_spec *spec;
    mdk_model *model;
    int input;
};

void mdk_pipeline_close(mdk_pipeline *p)
{
    if (!p) return;
    mdk_model_close(p->model);
    mdk_spec_free(p->spec);
    mdki_free(p);
}

mdk_status mdki_pipeline_new(mdk_spec *spec, mdk_model *model, mdk_pipeline **out)
{
    mdk_pipeline *p = mdki_calloc(1, sizeof *p);
    if (!p) {
        mdk_spec_free(spec);
        mdk_model_close(model);
        return MDK_ERR_NO_MEMORY;
    }
    p->spec = spec;
    p->model = model;
    mdk_status st = MDK_OK;
    const char *want = spec->pre.input;
    if (want) {
        p->input = mdk_model_input_index(model, want);
        if (p->input < 0) {
            char names[512] = "";
            size_t used = 0;
            for (size_t j = 0; j < mdk_model_input_count(model) && used < sizeof names; j++)
                used += (size_t)snprintf(names + used, sizeof names - used, "%s%s", j ? ", " : "", mdk_model_input(model, j)->name);
            st = mdki_fail(MDK_ERR_NOT_FOUND, "%s: preprocess.input '%s' is not an input of the model; its inputs are: %s",
                           spec->path, want, names);
        }
    } else if (spec->pre.present && mdk_model_input_count(model) != 1) {
        st = mdki_fail(MDK_ERR_INVALID_ARGUMENT, "%s: the model has %zu inputs; name the one images feed with "
                       "preprocess.input", spec->path, mdk_model_input_count(model));
    }
    if (st == MDK_OK && spec->pre.present) {
        const mdk_value_info *v = mdk_model_input(model, (size_t)p->input);
        if (v->dtype != spec->pre.dtype)
            st = mdki_fail(MDK_ERR_MISMATCH, "%s: preprocess produces %s but model input '%s' takes %s (set preprocess.dtype)",
                           spec->path, mdk_dtype_name(spec->pre.dtype), v->name, mdk_dtype_name(v->dtype));
        else if (v->has_shape && v->ndim != 4)
            st = mdki_fail(MDK_ERR_MISMATCH, "%s: preprocess produces a 4-d batch but model input '%s' has rank %zu",
                           spec->path, v->name, v->ndim);
    }
    if (st != MDK_OK) {
        mdk_pipeline_close(p);
        return st;
    }
    *out = p;
    return MDK_OK;
}

const mdk_spec *mdk_pipeline_spec(const mdk_pipeline *p) { return p->spec; }
mdk_model *mdk_pipeline_model(const mdk_pipeline *p) { return p->model; }

mdk_status mdk_pipeline_run(mdk_pipeline *p, mdk_image *const *images, size_t n, const char *const *names,
                            mdk_tensor *const *extra, size_t n_extra, char **json, mdk_tensor ***outputs, size_t *n_outputs)
{
    if (!p || !json || (n_extra && !extra)) return mdki_fail(MDK_ERR_INVALID_ARGUMENT, "mdk_pipeline_run: NULL argument");
    if (n_extra >= 255) return mdki_fail(MDK_ERR_INVALID_ARGUMENT, "too many extra inputs");
    mdk_tensor *x = NULL, **outs = NULL, *feeds[256];
    mdk_prep_info *info = NULL;
    size_t n_outs = 0;
    mdk_status st = mdk_preprocess(p->spec, images, n, &x, &info);
    if (st == MDK_OK) st = mdk_tensor_set_name(x, mdk_model_input(p->model, (size_t)p->input)->name);
    if (st == MDK_OK) {
        feeds[0] = x;
        for (size_t i = 0; i < n_extra; i++) feeds[i + 1] = extra[i];
        st = mdk_model_run(p->model, feeds, n_extra + 1, &outs, &n_outs);
    }
    if (st == MDK_OK) st = mdk_postprocess(p->spec, outs, n_outs, info, names, json);
    mdk_tensor_free(x);
    mdk_prep_info_free(info);
    if (st == MDK_OK && outputs) {
        *outputs = outs;
        if (n_outputs) *n_outputs = n_outs;
    } else {
        mdk_tensors_free(outs, n_outs);
    }
    return st;
}
