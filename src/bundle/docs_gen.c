/* docs_gen.c: the bundle's documentation, generated from the spec and the model so that it cannot drift
 * from them: docs/README.md (the model card), docs/openapi.json (the HTTP API `mdk serve` exposes for this
 * bundle) and docs/performance.md (from an `mdk bench` report). */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bundle/bundle_int.h"
#include "tensor/tensor_int.h"

static const char *or_dash(const char *s) { return s && *s ? s : "-"; }

static mdk_status shape_text(mdki_buf *b, const mdk_value_info *v)
{
    if (!v->has_shape) return mdki_buf_addf(b, "(any)");
    mdk_status st = mdki_buf_addc(b, '[');
    for (size_t i = 0; i < v->ndim && st == MDK_OK; i++) {
        if (v->dims[i].value >= 0) st = mdki_buf_addf(b, "%s%lld", i ? ", " : "", (long long)v->dims[i].value);
        else st = mdki_buf_addf(b, "%s%s", i ? ", " : "", v->dims[i].param ? v->dims[i].param : "?");
    }
    return st == MDK_OK ? mdki_buf_addc(b, ']') : st;
}

static const char *declared_desc(const mdki_io_decl *d, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(d[i].name, name) == 0 && d[i].description) return d[i].description;
    return NULL;
}

static mdk_status io_table(mdki_buf *b, const mdk_spec *s, const mdk_model *m, int outputs)
{
    mdk_status st = mdki_buf_addf(b, "| %s | dtype | shape | meaning |\n|---|---|---|---|\n", outputs ? "output" : "input");
    size_t n = outputs ? mdk_model_output_count(m) : mdk_model_input_count(m);
    for (size_t i = 0; i < n && st == MDK_OK; i++) {
        const mdk_value_info *v = outputs ? mdk_model_output(m, i) : mdk_model_input(m, i);
        st = mdki_buf_addf(b, "| `%s` | %s | ", v->name, mdk_dtype_name(v->dtype));
        if (st == MDK_OK) st = shape_text(b, v);
        if (st == MDK_OK)
            st = mdki_buf_addf(b, " | %s |\n", or_dash(declared_desc(outputs ? s->outputs : s->inputs,
                                                                      outputs ? s->n_outputs : s->n_inputs, v->name)));
    }
    return st;
}

static mdk_status describe_steps(mdki_buf *b, const mdk_spec *s)
{
    static const char *const interp[] = {"nearest-neighbour", "bilinear", "bicubic", "area"};
    static const char *const colors[] = {"RGB", "BGR", "gray (0.299 R + 0.587 G + 0.114 B)"};
    const mdki_prep *p = &s->pre;
    mdk_status st = mdki_buf_addf(b, "Images (JPEG or PNG, EXIF orientation applied) go through these steps, in order, "
                                  "with OpenCV's arithmetic (`cv2.resize`, `cv2.cvtColor`) on 8-bit pixels:\n\n");
    for (size_t i = 0; i < p->n_steps && st == MDK_OK; i++) {
        const mdki_step *x = &p->steps[i];
        st = mdki_buf_addf(b, "%zu. ", i + 1);
        if (st != MDK_OK) break;
        switch (x->kind) {
        case MDKI_STEP_RESIZE: st = mdki_buf_addf(b, "resize to %d x %d (width x height), %s", x->width, x->height, interp[x->interp]); break;
        case MDKI_STEP_SHORTER: st = mdki_buf_addf(b, "resize so the shorter side is %d, keeping the aspect ratio (%s)", x->size, interp[x->interp]); break;
        case MDKI_STEP_LONGER: st = mdki_buf_addf(b, "resize so the longer side is %d, keeping the aspect ratio (%s)", x->size, interp[x->interp]); break;
        case MDKI_STEP_LETTERBOX:
            st = mdki_buf_addf(b, "letterbox into %d x %d: scale to fit keeping the aspect ratio (%s), centre, pad with %d",
                               x->width, x->height, interp[x->interp], x->pad);
            break;
        case MDKI_STEP_CROP: st = mdki_buf_addf(b, "crop the centre %d x %d", x->width, x->height); break;
        case MDKI_STEP_COLOR: st = mdki_buf_addf(b, "channel order %s", colors[x->color]); break;
        case MDKI_STEP_SCALE: st = mdki_buf_addf(b, "multiply by %.9g (as float32)", x->scale); break;
        case MDKI_STEP_NORMALIZE:
            st = mdki_buf_addf(b, "subtract the mean and divide by the standard deviation per channel: mean ");
            for (int c = 0; c < (x->n_ch ? x->n_ch : 1) && st == MDK_OK; c++) st = mdki_buf_addf(b, "%s%.9g", c ? ", " : "", x->mean[c]);
            if (st == MDK_OK) st = mdki_buf_addf(b, "; std ");
            for (int c = 0; c < (x->n_ch ? x->n_ch : 1) && st == MDK_OK; c++) st = mdki_buf_addf(b, "%s%.9g", c ? ", " : "", x->std[c]);
            break;
        }
        if (st == MDK_OK) st = mdki_buf_addc(b, '\n');
    }
    if (st == MDK_OK)
        st = mdki_buf_addf(b, "%zu. lay out as %s, %s%s\n\nThe exact definitions are in mdk's docs/processing.md; the same "
                           "implementation runs in the command line, the server and the bindings.\n",
                           p->n_steps + 1, p->nhwc ? "NHWC" : "NCHW", mdk_dtype_name(p->dtype),
                           p->input ? "" : " (the model's only input)");
    return st;
}

static mdk_status describe_post(mdki_buf *b, const mdk_spec *s, const mdk_model *m)
{
    const mdki_post *o = &s->post;
    /* the output scored: the one named, else the model's first (as postprocessing takes it) */
    const char *scored = o->output ? o->output : mdk_model_output_count(m) ? mdk_model_output(m, 0)->name : "-";
    static const char *const acts[] = {"no activation", "softmax", "sigmoid"};
    switch (o->type) {
    case MDKI_POST_CLASSIFY:
        return mdki_buf_addf(b, "Classification: %s over the scores of `%s`, then the top %d classes with their labels; "
                             "scores below %g are left out.\n", acts[o->activation], scored, o->top_k, o->threshold);
    case MDKI_POST_DETECT:
        return mdki_buf_addf(b, "Detection: boxes (%s, %s) with each box's best class score%s; boxes scoring below %g are "
                             "dropped, then non-maximum suppression with IoU above %g (%s), at most %d boxes, mapped back to "
                             "original image pixels.\n",
                             o->box_format == MDKI_BOX_XYXY ? "x1, y1, x2, y2" : o->box_format == MDKI_BOX_XYWH ? "x, y, w, h"
                                                                                                           : "centre x, centre y, w, h",
                             o->normalized ? "relative to the input size" : "in input pixels",
                             o->objectness ? " times objectness" : "", o->threshold, o->iou,
                             o->class_aware ? "per class" : "across classes", o->max_detections);
    case MDKI_POST_SEGMENT:
        return mdki_buf_addf(b, "Segmentation: the class of each pixel (argmax over classes; a single map is thresholded "
                             "at %g), resized back to the original image, returned run-length encoded.\n",
                             o->threshold > 0 ? o->threshold : 0.5);
    default: return mdki_buf_addf(b, "None: the output tensors are returned as they are.\n");
    }
}

static void cpu_model(char *buf, size_t size)
{
    snprintf(buf, size, "unknown CPU");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) == 0) {
            char *c = strchr(line, ':');
            if (c) {
                snprintf(buf, size, "%s", c + 2);
                buf[strcspn(buf, "\n")] = '\0';
            }
            break;
        }
    }
    fclose(f);
}

static mdk_status model_card(const mdk_spec *s, const mdk_model *m, const mdk_graph_info *g, const mdki_sample *first,
                             const char *bench_md,
                             const char *cases_summary, mdki_buf *b)
{
    char cpu[256];
    cpu_model(cpu, sizeof cpu);
    const mdk_value_info *in0 = mdk_model_input(m, 0);
    mdk_status st = mdki_buf_addf(b, "# %s %s\n\n%s\n\n| | |\n|---|---|\n| task | %s |\n| owner | %s |\n| bundle format | 1 |\n\n",
                                  s->name, s->version, s->description ? s->description : "(no description given)",
                                  or_dash(s->task), or_dash(s->owner));
    if (st == MDK_OK)
        st = mdki_buf_addf(b, "## What it does and does not do\n\nIt %s%s. It answers only for inputs matching the interface "
                           "below%s%s; anything else is refused with an error naming what was wrong (see Troubleshooting), "
                           "never guessed at. Its quality outside the data it was trained on is not measured here: the test "
                           "cases check that the delivery computes what the vendor's model computes, not that the model is "
                           "right.\n\n",
                           s->task ? (strcmp(s->task, "classification") == 0 ? "classifies images" :
                                      strcmp(s->task, "detection") == 0 ? "finds objects in images" :
                                      strcmp(s->task, "segmentation") == 0 ? "labels every pixel of an image" :
                                      strcmp(s->task, "ocr") == 0 ? "reads text" : "computes its outputs from its inputs")
                                   : "computes its outputs from its inputs",
                           s->n_labels ? " into the classes listed in labels.txt" : "",
                           s->pre.present ? " (or JPEG/PNG images, through the preprocessing described)" : "",
                           s->rt.max_image_pixels ? " and images up to the declared pixel limit" : "");
    if (st == MDK_OK) st = mdki_buf_addf(b, "## Interface\n\n");
    if (st == MDK_OK) st = io_table(b, s, m, 0);
    if (st == MDK_OK) st = mdki_buf_addc(b, '\n');
    if (st == MDK_OK) st = io_table(b, s, m, 1);
    if (st == MDK_OK) st = mdki_buf_addf(b, "\nNamed dims (such as a batch dim) take any size; the others are fixed.\n\n");
    if (st == MDK_OK && s->pre.present) {
        st = mdki_buf_addf(b, "## Preprocessing\n\n");
        if (st == MDK_OK) st = describe_steps(b, s);
        if (st == MDK_OK) st = mdki_buf_addc(b, '\n');
    }
    if (st == MDK_OK) st = mdki_buf_addf(b, "## Postprocessing\n\n");
    if (st == MDK_OK) st = describe_post(b, s, m);
    if (st == MDK_OK && s->n_labels) {
        st = mdki_buf_addf(b, "\n%zu labels in `labels.txt`, one per line, in class order (first: \"%s\", last: \"%s\").\n",
                           s->n_labels, s->labels[0], s->labels[s->n_labels - 1]);
    }
    if (st == MDK_OK)
        st = mdki_buf_addf(b, "\n## Dependencies\n\n- mdk %s (this bundle was packed and verified with it)\n- ONNX Runtime %s\n"
                           "- model: ONNX IR %lld, opset %lld, %llu parameters, produced by %s %s\n\n",
                           mdk_version(), mdk_ort_version(), (long long)g->ir_version,
                           (long long)(g->n_opsets ? g->opsets[0].version : 0), (unsigned long long)g->n_params,
                           or_dash(g->producer_name), g->producer_version);
    if (st == MDK_OK)
        st = mdki_buf_addf(b, "## Hardware\n\nTest cases were generated and verified on %s (%ld logical cores). "
                           "Run `mdk verify` on your own hardware: results within rtol %g / atol %g are expected.\n\n",
                           cpu, sysconf(_SC_NPROCESSORS_ONLN), s->rtol, s->atol);
    if (st == MDK_OK) {
        st = mdki_buf_addf(b, "## Performance\n\n");
        if (st == MDK_OK && (s->perf_p99_ms > 0 || s->perf_throughput > 0))
            st = mdki_buf_addf(b, "Targets declared by the vendor: %s%.6g%s%s%.6g%s.\n\n", s->perf_p99_ms > 0 ? "P99 latency " : "",
                               s->perf_p99_ms > 0 ? s->perf_p99_ms : 0, s->perf_p99_ms > 0 ? " ms" : "",
                               s->perf_throughput > 0 ? (s->perf_p99_ms > 0 ? ", throughput " : "throughput ") : "",
                               s->perf_throughput, s->perf_throughput > 0 ? " inferences/s" : "");
        if (st == MDK_OK)
            st = bench_md ? mdki_buf_addf(b, "Measured (details in [performance.md](performance.md)):\n\n%s\n", bench_md)
                          : mdki_buf_addf(b, "No measurement was packed. Measure on your hardware with `mdk bench %s-%s/`.\n\n",
                                          s->name, s->version);
    }
    if (st == MDK_OK)
        st = mdki_buf_addf(b, "## Quick start\n\n```sh\n# check the delivery: integrity, then every test case\nmdk verify %s-%s/\n",
                           s->name, s->version);
    if (st == MDK_OK && s->pre.present && first->image)
        st = mdki_buf_addf(b, "# one image through the whole pipeline (the first test image), JSON out\nmdk run %s-%s/ --image "
                           "%s-%s/%s\n", s->name, s->version, s->name, s->version, first->image);
    if (st == MDK_OK && first->n) {
        st = mdki_buf_addf(b, "# tensors in, tensors out: the first test case's inputs, shipped in examples/inputs/\nmdk run %s-%s/",
                           s->name, s->version);
        for (size_t i = 0; i < first->n && st == MDK_OK; i++)
            st = mdki_buf_addf(b, " --input %s=%s-%s/%s", mdk_tensor_name(first->inputs[i]), s->name, s->version, first->files[i]);
        if (st == MDK_OK) st = mdki_buf_addf(b, " --output-dir out/\n");
    }
    if (st == MDK_OK)
        st = mdki_buf_addf(b, "# as an HTTP service (Open Inference Protocol v2%s%s%s), then call it\nmdk serve %s-%s/ &\n"
                           "sh %s-%s/examples/curl.sh\n```\n\n"
                           "In C, see `examples/c/` (copy the folder out of the bundle, where new files would fail `mdk verify`, "
                           "then `make` builds them against an installed libmdk); in Python, "
                           "`examples/python/predict.py`; over HTTP, `examples/curl.sh` (which sends %s). The API the server "
                           "exposes is in `docs/openapi.json`.\n\n",
                           s->pre.present ? ", plus POST /v1/models/" : "", s->pre.present ? s->name : "",
                           s->pre.present ? "/predict for an image" : "", s->name, s->version, s->name, s->version,
                           s->pre.present ? "the first test image" : "`examples/request.json`, the first test case as a v2 request");
    if (st == MDK_OK)
        st = mdki_buf_addf(b, "## Test cases\n\n%s, in `test_cases/` (inputs.npz, expected_outputs.npz keyed CASE/NAME, "
                           "cases.json). Run them with `mdk verify %s-%s/` or `python3 test_cases/test.py`.\n\n",
                           cases_summary, s->name, s->version);
    if (st == MDK_OK) {
        const mdk_value_info *v = in0;
        st = mdki_buf_addf(b, "## Troubleshooting\n\n| message | cause | what to do |\n|---|---|---|\n"
                           "| `input '%s': expected dtype %s, got float64` | the tensor has another element type | convert, "
                           "e.g. `x.astype(np.%s)` |\n"
                           "| `input '%s': expected rank %zu ..., got rank ...` / `dim N must be ...` | wrong shape | match the "
                           "Interface table; fixed dims cannot change |\n"
                           "| `unknown input 'x'; the model's inputs are: ...` | wrong name | use the names above |\n"
                           "%s%s%s"
                           "| `file '...' was changed` / `is missing` / `extra file` | the bundle was altered after packing | get "
                           "a fresh copy from the vendor |\n"
                           "| `ONNX Runtime ... does not provide API version ...` | an older ONNX Runtime | use ONNX Runtime %s "
                           "or newer |\n\n",
                           v->name, mdk_dtype_name(v->dtype), mdk_dtype_name(v->dtype), v->name, v->ndim,
                           s->pre.present ? "| `... not a JPEG or PNG image` / `corrupt or truncated JPEG` | the file is not "
                                            "a readable image | re-encode it as JPEG or PNG |\n| `image is WxH = N pixels, "
                                            "above the limit of M` | the image is too large | downscale it" : "",
                           s->pre.present && s->rt.max_image_pixels ? " below the limit in Limits" : "",
                           s->pre.present ? " |\n" : "", mdk_ort_version());
    }
    if (st == MDK_OK && (s->rt.max_batch || s->rt.max_image_pixels || s->rt.max_request_bytes)) {
        st = mdki_buf_addf(b, "## Limits\n\n");
        if (st == MDK_OK && s->rt.max_batch) st = mdki_buf_addf(b, "- at most %llu items per batch\n", (unsigned long long)s->rt.max_batch);
        if (st == MDK_OK && s->rt.max_image_pixels)
            st = mdki_buf_addf(b, "- images up to %llu pixels\n", (unsigned long long)s->rt.max_image_pixels);
        if (st == MDK_OK && s->rt.max_request_bytes)
            st = mdki_buf_addf(b, "- requests up to %llu bytes\n", (unsigned long long)s->rt.max_request_bytes);
        if (st == MDK_OK) st = mdki_buf_addc(b, '\n');
    }
    if (st == MDK_OK) st = mdki_buf_addf(b, "## Version notes and changelog\n\n");
    for (size_t i = 0; i < s->n_changes && st == MDK_OK; i++)
        st = mdki_buf_addf(b, "- **%s**%s%s%s: %s\n", s->changelog[i].version, s->changelog[i].date ? " (" : "",
                           s->changelog[i].date ? s->changelog[i].date : "", s->changelog[i].date ? ")" : "",
                           or_dash(s->changelog[i].text));
    if (st == MDK_OK && !s->n_changes) st = mdki_buf_addf(b, "No changelog was given.\n");
    if (st == MDK_OK)
        st = mdki_buf_addf(b, "\nCompare versions with `mdk diff OLD/ NEW/`: it lists interface changes and tells "
                           "compatible from breaking updates.\n\n## License\n\n%s\n",
                           s->license ? s->license : "No license terms were given: ask the vendor before use.");
    return st;
}

/* ---- OpenAPI ---- */

/* {"type": TYPE} as the value of `key`. */
static void typed(mdki_jw *w, const char *key, const char *type)
{
    mdki_jw_key(w, key);
    mdki_jw_object(w);
    mdki_jw_key(w, "type");
    mdki_jw_string(w, type);
    mdki_jw_end_object(w);
}

static void tensor_schema(mdki_jw *w)
{
    static const mdk_dtype types[] = {MDK_DTYPE_BOOL, MDK_DTYPE_UINT8, MDK_DTYPE_UINT16, MDK_DTYPE_UINT32,
                                      MDK_DTYPE_UINT64, MDK_DTYPE_INT8, MDK_DTYPE_INT16, MDK_DTYPE_INT32,
                                      MDK_DTYPE_INT64, MDK_DTYPE_FLOAT16, MDK_DTYPE_FLOAT32, MDK_DTYPE_FLOAT64,
                                      MDK_DTYPE_STRING, MDK_DTYPE_BFLOAT16};
    mdki_jw_object(w);
    mdki_jw_key(w, "type");
    mdki_jw_string(w, "object");
    mdki_jw_key(w, "required");
    mdki_jw_array(w);
    mdki_jw_string(w, "name");
    mdki_jw_string(w, "shape");
    mdki_jw_string(w, "datatype");
    mdki_jw_end_array(w);
    mdki_jw_key(w, "properties");
    mdki_jw_object(w);
    typed(w, "name", "string");
    mdki_jw_key(w, "shape");
    mdki_jw_object(w);
    mdki_jw_key(w, "type");
    mdki_jw_string(w, "array");
    typed(w, "items", "integer");
    mdki_jw_end_object(w);
    mdki_jw_key(w, "datatype");
    mdki_jw_object(w);
    mdki_jw_key(w, "type");
    mdki_jw_string(w, "string");
    mdki_jw_key(w, "enum");
    mdki_jw_array(w);
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) mdki_jw_string(w, mdk_v2_datatype(types[i]));
    mdki_jw_end_array(w);
    mdki_jw_end_object(w);
    typed(w, "data", "array");
    typed(w, "parameters", "object");
    mdki_jw_end_object(w);
    mdki_jw_end_object(w);
}

/* Opens the operation METHOD of `path` (its own path item: every path has one method here): summary, tag,
 * responses. The caller adds to it, then closes it with end_op. */
static void op(mdki_jw *w, const char *path, const char *method, const char *summary, const char *tag)
{
    mdki_jw_key(w, path);
    mdki_jw_object(w);
    mdki_jw_key(w, method);
    mdki_jw_object(w);
    mdki_jw_key(w, "summary");
    mdki_jw_string(w, summary);
    mdki_jw_key(w, "tags");
    mdki_jw_array(w);
    mdki_jw_string(w, tag);
    mdki_jw_end_array(w);
    mdki_jw_key(w, "responses");
    mdki_jw_object(w);
    mdki_jw_key(w, "200");
    mdki_jw_object(w);
    mdki_jw_key(w, "description");
    mdki_jw_string(w, "OK");
    mdki_jw_end_object(w);
    mdki_jw_key(w, "default");
    mdki_jw_object(w);
    mdki_jw_key(w, "description");
    mdki_jw_string(w, "Error: {\"error\": \"what was wrong and what was expected\"}");
    mdki_jw_end_object(w);
    mdki_jw_end_object(w);
}

static void end_op(mdki_jw *w)
{
    mdki_jw_end_object(w);
    mdki_jw_end_object(w);
}

static void simple_op(mdki_jw *w, const char *path, const char *method, const char *summary, const char *tag)
{
    op(w, path, method, summary, tag);
    end_op(w);
}

/* A path from a format and the model's name and version (a name is at most 128 characters, checked by the
 * spec reader; a longer path would be a programming error). */
static const char *model_path(char *buf, size_t size, const char *fmt, const mdk_spec *s)
{
    int n = snprintf(buf, size, fmt, s->name, s->version);
    MDKI_ASSERT(n > 0 && (size_t)n < size);
    return buf;
}

/* "requestBody": {"required": true, "content": { ... the media types the caller writes, closed by end_body. */
static void open_body(mdki_jw *w)
{
    mdki_jw_key(w, "requestBody");
    mdki_jw_object(w);
    mdki_jw_key(w, "required");
    mdki_jw_bool(w, 1);
    mdki_jw_key(w, "content");
    mdki_jw_object(w);
}

static void end_body(mdki_jw *w)
{
    mdki_jw_end_object(w);
    mdki_jw_end_object(w);
}

/* The v2 inference request body: its schema and an example, the first test case (which the model answers;
 * zeros of the smallest valid shape when there is none). */
static void infer_body(mdki_jw *w, const mdk_model *m, const mdki_sample *first)
{
    open_body(w);
    mdki_jw_key(w, "application/json");
    mdki_jw_object(w);
    mdki_jw_key(w, "schema");
    mdki_jw_object(w);
    mdki_jw_key(w, "type");
    mdki_jw_string(w, "object");
    mdki_jw_key(w, "properties");
    mdki_jw_object(w);
    typed(w, "id", "string");
    mdki_jw_key(w, "inputs");
    mdki_jw_object(w);
    mdki_jw_key(w, "type");
    mdki_jw_string(w, "array");
    mdki_jw_key(w, "items");
    tensor_schema(w);
    mdki_jw_end_object(w);
    mdki_jw_key(w, "outputs");
    mdki_jw_object(w);
    mdki_jw_key(w, "type");
    mdki_jw_string(w, "array");
    mdki_jw_key(w, "items");
    mdki_jw_object(w);
    mdki_jw_key(w, "properties");
    mdki_jw_object(w);
    typed(w, "name", "string");
    mdki_jw_end_object(w);
    mdki_jw_end_object(w);
    mdki_jw_end_object(w);
    mdki_jw_end_object(w); /* properties */
    mdki_jw_end_object(w); /* schema */
    mdki_jw_key(w, "example");
    mdki_jw_object(w);
    mdki_jw_key(w, "inputs");
    mdki_jw_array(w);
    for (size_t i = 0; i < first->n; i++) mdki_jw_tensor(w, first->inputs[i]);
    for (size_t i = 0; !first->n && i < mdk_model_input_count(m); i++) {
        const mdk_value_info *v = mdk_model_input(m, i);
        const char *dt = mdk_v2_datatype(v->dtype);
        size_t count = 1;
        mdki_jw_object(w);
        mdki_jw_key(w, "name");
        mdki_jw_string(w, v->name);
        mdki_jw_key(w, "shape");
        mdki_jw_array(w);
        for (size_t k = 0; k < v->ndim; k++) {
            long long d = v->dims[k].value >= 0 ? v->dims[k].value : 1;
            mdki_jw_int(w, d);
            count *= (size_t)d;
        }
        mdki_jw_end_array(w);
        mdki_jw_key(w, "datatype");
        mdki_jw_string(w, dt ? dt : "FP32");
        mdki_jw_key(w, "data");
        mdki_jw_array(w);
        for (size_t k = 0; k < count && k < 100000; k++) mdki_jw_int(w, 0);
        mdki_jw_end_array(w);
        mdki_jw_end_object(w);
    }
    mdki_jw_end_array(w);
    mdki_jw_end_object(w); /* example */
    mdki_jw_end_object(w); /* application/json */
    end_body(w);
}

/* {"type": "string", "format": "binary"} as the value of `key`: a file's bytes. */
static void binary_string(mdki_jw *w, const char *key)
{
    mdki_jw_key(w, key);
    mdki_jw_object(w);
    mdki_jw_key(w, "type");
    mdki_jw_string(w, "string");
    mdki_jw_key(w, "format");
    mdki_jw_string(w, "binary");
    mdki_jw_end_object(w);
}

/* The image upload body of /v1/.../predict: multipart or a raw JPEG/PNG body. */
static void upload_body(mdki_jw *w)
{
    open_body(w);
    mdki_jw_key(w, "multipart/form-data");
    mdki_jw_object(w);
    mdki_jw_key(w, "schema");
    mdki_jw_object(w);
    mdki_jw_key(w, "type");
    mdki_jw_string(w, "object");
    mdki_jw_key(w, "properties");
    mdki_jw_object(w);
    binary_string(w, "file");
    mdki_jw_end_object(w);
    mdki_jw_end_object(w);
    mdki_jw_end_object(w);
    for (int k = 0; k < 2; k++) {
        mdki_jw_key(w, k ? "image/png" : "image/jpeg");
        mdki_jw_object(w);
        binary_string(w, "schema");
        mdki_jw_end_object(w);
    }
    end_body(w);
}

static mdk_status openapi(const mdk_spec *s, const mdk_model *m, const mdki_sample *first, mdki_buf *b)
{
    char p[400];
    mdki_jw w;
    mdki_jw_init(&w, b, 1);
    mdki_jw_object(&w);
    mdki_jw_key(&w, "openapi");
    mdki_jw_string(&w, "3.0.3");
    mdki_jw_key(&w, "info");
    mdki_jw_object(&w);
    mdki_jw_key(&w, "title");
    mdki_jw_string(&w, model_path(p, sizeof p, "%s %s", s));
    mdki_jw_key(&w, "version");
    mdki_jw_string(&w, s->version);
    mdki_jw_key(&w, "description");
    mdki_jw_string(&w, s->description ? s->description : "Served by mdk serve.");
    mdki_jw_end_object(&w);
    mdki_jw_key(&w, "paths");
    mdki_jw_object(&w);
    simple_op(&w, "/v2", "get", "Server metadata (name, version, extensions)", "server");
    simple_op(&w, "/v2/health/live", "get", "Liveness", "server");
    simple_op(&w, "/v2/health/ready", "get", "Readiness", "server");
    simple_op(&w, model_path(p, sizeof p, "/v2/models/%s", s), "get",
              "Model metadata: inputs and outputs with datatypes and shapes", "model");
    simple_op(&w, model_path(p, sizeof p, "/v2/models/%s/versions/%s", s), "get", "Metadata of this version", "model");
    simple_op(&w, model_path(p, sizeof p, "/v2/models/%s/ready", s), "get", "Model readiness", "model");
    op(&w, model_path(p, sizeof p, "/v2/models/%s/infer", s), "post", "Inference on tensors (Open Inference Protocol v2)",
       "inference");
    infer_body(&w, m, first);
    end_op(&w);
    if (s->pre.present) {
        op(&w, model_path(p, sizeof p, "/v1/models/%s/predict", s), "post",
           "An image file through the model's pre- and post-processing (JSON result)", "inference");
        upload_body(&w);
        end_op(&w);
    }
    simple_op(&w, "/metrics", "get", "Prometheus metrics", "server");
    mdki_jw_end_object(&w); /* paths */
    mdki_jw_end_object(&w);
    return mdki_jw_finish(&w);
}

mdk_status mdki_gen_docs(const mdk_spec *s, const mdk_model *m, const char *model_path, const char *bench_json,
                         const char *cases_summary, const mdki_sample *first, mdki_files *f)
{
    mdki_buf b;
    mdki_buf_init(&b, 64u << 20);
    mdk_graph_info *g = NULL;
    char *bench = NULL, *bench_md = NULL;
    size_t blen;
    mdk_status st = mdk_graph_info_read(model_path, &g);
    if (st == MDK_OK && bench_json) {
        st = mdki_read_file(bench_json, 16u << 20, "bench report", &bench, &blen);
        cJSON *j = st == MDK_OK ? cJSON_ParseWithLength(bench, blen) : NULL;
        const cJSON *md = cJSON_GetObjectItemCaseSensitive(j, "markdown");
        const cJSON *sha = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "environment"), "model_sha256");
        const mdki_file *mf = mdki_files_find(f, "model/model.onnx");
        if (st == MDK_OK && !cJSON_IsString(md))
            st = mdki_fail(MDK_ERR_FORMAT, "'%s' is not an mdk bench report (no \"markdown\" field)", bench_json);
        else if (st == MDK_OK && !cJSON_IsString(sha))
            st = mdki_fail(MDK_ERR_FORMAT, "'%s' does not say which model it measured (no environment.model_sha256): "
                           "measure this bundle's model again with mdk bench", bench_json);
        else if (st == MDK_OK && mf && strcmp(sha->valuestring, mf->sha256) != 0)
            st = mdki_fail(MDK_ERR_MISMATCH, "'%s' measured another model (sha256 %.16s...), not this bundle's (%.16s...): "
                           "measure it again with mdk bench", bench_json, sha->valuestring, mf->sha256);
        if (st == MDK_OK && !(bench_md = mdki_strdup(md->valuestring))) st = MDK_ERR_NO_MEMORY;
        cJSON_Delete(j);
    }
    if (st == MDK_OK) st = model_card(s, m, g, first, bench_md, cases_summary, &b);
    if (st == MDK_OK) st = mdki_files_add_buf(f, "docs/README.md", &b);
    if (st == MDK_OK) st = openapi(s, m, first, &b);
    if (st == MDK_OK) st = mdki_files_add_buf(f, "docs/openapi.json", &b);
    if (st == MDK_OK && bench_md) {
        st = mdki_buf_addf(&b, "# Performance of %s %s\n\nFrom `mdk bench` (the report packed with this bundle):\n\n%s\n",
                           s->name, s->version, bench_md);
        if (st == MDK_OK) st = mdki_files_add_buf(f, "docs/performance.md", &b);
    }
    mdki_free(bench);
    mdki_free(bench_md);
    mdk_graph_info_free(g);
    mdki_buf_free(&b);
    return st;
}
