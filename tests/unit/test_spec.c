/* test_spec.c: unit tests of the mdk.yaml reader (src/core/yaml.c, src/spec): every field read back, bad specs
 * refused with the exact status and a message naming file:line:col and field, the YAML caps, the canonical writer's
 * round trip, and allocation failures while parsing. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/yaml.h"
#include "spec/spec.h"

/* The labels file a spec may name, served from memory: the path asked for is recorded. */
typedef struct mem_reader {
    const char *content; /* NULL: the file does not exist */
    char asked[256];
    int calls;
} mem_reader;

static mdk_status read_mem(void *ctx, const char *path, uint64_t cap, char **data, size_t *len)
{
    mem_reader *r = ctx;
    r->calls++;
    snprintf(r->asked, sizeof r->asked, "%s", path);
    if (!r->content) return mdki_fail(MDK_ERR_NOT_FOUND, "no file '%s'", path);
    size_t n = strlen(r->content);
    if (n > cap) return mdki_fail(MDK_ERR_TOO_LARGE, "'%s' above the cap", path);
    /* through the library's allocator, as the real readers do, so that injected failures reach it too */
    if (!(*data = mdki_strndup(r->content, n))) return MDK_ERR_NO_MEMORY;
    *len = n;
    return MDK_OK;
}

static mdk_status parse(const char *yaml, mem_reader *r, mdk_spec **out)
{
    *out = NULL;
    return mdki_spec_parse(yaml, strlen(yaml), "models/cls/spec.yaml", r ? read_mem : NULL, r, out);
}

static void assert_contains(const char *haystack, const char *needle)
{
    if (!strstr(haystack, needle)) fail_msg("message '%s' lacks '%s'", haystack, needle);
}

static const char full_spec[] =
    "format_version: 1\n"
    "name: mobilenet_v2-int\n"
    "version: 1.2.0-rc.1+build.5\n"
    "description: \"An ImageNet classifier: 1000 classes\"\n"
    "task: classification\n"
    "owner: vision team\n"
    "license: Apache-2.0\n"
    "model: model.onnx\n"
    "variants: {int8: q/model.int8.onnx, fp16: /abs/model.fp16.onnx}\n"
    "inputs:\n"
    "  - name: images\n"
    "    dtype: float16\n"
    "    shape: [batch, 224, 224, 3]\n"
    "    description: RGB pixels\n"
    "outputs:\n"
    "  - {name: logits, dtype: float32, shape: [batch, 3]}\n"
    "labels: [cat, \"dog\", 'bird']\n"
    "preprocess:\n"
    "  input: images\n"
    "  steps:\n"
    "    - resize: {shorter_side: 256, interpolation: bicubic}\n"
    "    - resize: {longer_side: 300}\n"
    "    - letterbox: {width: 320, height: 240, pad: 0, interpolation: area}\n"
    "    - resize: {width: 250, height: 240, interpolation: NEAREST}\n"
    "    - center_crop: {width: 224, height: 200}\n"
    "    - color: bgr\n"
    "    - scale: 1/255\n"
    "    - normalize: {mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225]}\n"
    "    - normalize: {mean: 0.5}\n"
    "  layout: NHWC\n"
    "  dtype: float16\n"
    "postprocess:\n"
    "  type: classification\n"
    "  output: logits\n"
    "  activation: sigmoid\n"
    "  top_k: 2\n"
    "  threshold: 0.125\n"
    "runtime:\n"
    "  threads: 4\n"
    "  inter_op_threads: 2\n"
    "  execution_mode: parallel\n"
    "  graph_optimization_level: extended\n"
    "  batch: 8\n"
    "  concurrency: 3\n"
    "  providers: [CPU]\n"
    "limits: {max_batch: 16, max_image_pixels: 4000000, max_request_bytes: 1e6}\n"
    "test_cases:\n"
    "  images: [img/a.jpg, /data/b.png]\n"
    "  inputs: cases/in.npz\n"
    "  expected_outputs: cases/out.npz\n"
    "  rtol: 0.01\n"
    "  atol: 0\n"
    "changelog:\n"
    "  - {version: 1.2.0, date: 2024-05-01, changes: int8 variant}\n"
    "  - version: 1.0.0\n"
    "performance: {p99_ms: 12.5, throughput: 300}\n";

static void check_full(const mdk_spec *s, int from_emit)
{
    assert_string_equal(s->name, "mobilenet_v2-int");
    assert_string_equal(mdk_spec_name(s), "mobilenet_v2-int");
    assert_string_equal(mdk_spec_version(s), "1.2.0-rc.1+build.5");
    assert_string_equal(s->description, "An ImageNet classifier: 1000 classes");
    assert_string_equal(s->task, "classification");
    assert_string_equal(s->owner, "vision team");
    assert_string_equal(s->license, "Apache-2.0");
    if (!from_emit) {
        assert_string_equal(mdk_spec_model_path(s), "models/cls/model.onnx");
        assert_string_equal(s->variant_int8, "models/cls/q/model.int8.onnx");
        assert_string_equal(s->variant_fp16, "/abs/model.fp16.onnx");
        assert_string_equal(s->test_images[0], "models/cls/img/a.jpg");
        assert_string_equal(s->test_images[1], "/data/b.png");
        assert_string_equal(s->test_inputs, "models/cls/cases/in.npz");
        assert_string_equal(s->test_expected, "models/cls/cases/out.npz");
    }
    assert_int_equal(s->n_inputs, 1);
    assert_string_equal(s->inputs[0].name, "images");
    assert_int_equal(s->inputs[0].dtype, MDK_DTYPE_FLOAT16);
    assert_true(s->inputs[0].has_shape);
    assert_int_equal(s->inputs[0].ndim, 4);
    assert_true(s->inputs[0].dims[0] == -1);
    assert_string_equal(s->inputs[0].dim_names[0], "batch");
    assert_true(s->inputs[0].dims[1] == 224 && s->inputs[0].dims[3] == 3);
    assert_null(s->inputs[0].dim_names[1]);
    assert_string_equal(s->inputs[0].description, "RGB pixels");
    assert_int_equal(s->n_outputs, 1);
    assert_string_equal(s->outputs[0].name, "logits");
    assert_int_equal(s->outputs[0].dtype, MDK_DTYPE_FLOAT32);
    assert_null(s->outputs[0].description);
    assert_int_equal(s->n_labels, 3);
    assert_string_equal(s->labels[0], "cat");
    assert_string_equal(s->labels[1], "dog");
    assert_string_equal(s->labels[2], "bird");

    const mdki_prep *p = &s->pre;
    assert_true(p->present && mdk_spec_has_preprocess(s));
    assert_string_equal(mdk_spec_input_name(s), "images");
    assert_true(p->nhwc);
    assert_int_equal(p->dtype, MDK_DTYPE_FLOAT16);
    assert_int_equal(p->n_steps, 9);
    assert_int_equal(p->steps[0].kind, MDKI_STEP_SHORTER);
    assert_int_equal(p->steps[0].size, 256);
    assert_int_equal(p->steps[0].interp, MDKI_INTERP_BICUBIC);
    assert_int_equal(p->steps[1].kind, MDKI_STEP_LONGER);
    assert_int_equal(p->steps[1].size, 300);
    assert_int_equal(p->steps[1].interp, MDKI_INTERP_BILINEAR); /* the default */
    assert_int_equal(p->steps[2].kind, MDKI_STEP_LETTERBOX);
    assert_true(p->steps[2].width == 320 && p->steps[2].height == 240 && p->steps[2].pad == 0);
    assert_int_equal(p->steps[2].interp, MDKI_INTERP_AREA);
    assert_int_equal(p->steps[3].kind, MDKI_STEP_RESIZE);
    assert_true(p->steps[3].width == 250 && p->steps[3].height == 240);
    assert_int_equal(p->steps[3].interp, MDKI_INTERP_NEAREST);
    assert_int_equal(p->steps[4].kind, MDKI_STEP_CROP);
    assert_true(p->steps[4].width == 224 && p->steps[4].height == 200);
    assert_int_equal(p->steps[5].kind, MDKI_STEP_COLOR);
    assert_int_equal(p->steps[5].color, MDKI_COLOR_BGR);
    assert_int_equal(p->steps[6].kind, MDKI_STEP_SCALE);
    assert_true(p->steps[6].scale == (float)(1.0 / 255));
    assert_int_equal(p->steps[7].kind, MDKI_STEP_NORMALIZE);
    assert_int_equal(p->steps[7].n_ch, 3);
    assert_true(p->steps[7].mean[0] == 0.485f && p->steps[7].mean[2] == 0.406f);
    assert_true(p->steps[7].std[1] == 0.224f && p->steps[7].std[2] == 0.225f);
    assert_int_equal(p->steps[8].n_ch, 0); /* one value for every channel, std left at 1 */
    for (int c = 0; c < 4; c++) assert_true(p->steps[8].mean[c] == 0.5f && p->steps[8].std[c] == 1.0f);

    const mdki_post *o = &s->post;
    assert_int_equal(o->type, MDKI_POST_CLASSIFY);
    assert_string_equal(o->output, "logits");
    assert_int_equal(o->activation, MDKI_ACT_SIGMOID);
    assert_int_equal(o->top_k, 2);
    assert_true(o->threshold == 0.125);

    const mdk_spec_runtime *rt = mdk_spec_runtime_defaults(s);
    assert_int_equal(rt->threads, 4);
    assert_int_equal(rt->inter_op_threads, 2);
    assert_int_equal(rt->execution_mode, 1);
    assert_int_equal(rt->graph_opt_level, 2);
    assert_int_equal(rt->batch, 8);
    assert_int_equal(rt->concurrency, 3);
    assert_true(rt->max_batch == 16 && rt->max_image_pixels == 4000000 && rt->max_request_bytes == 1000000);
    assert_int_equal(s->n_providers, 1);
    assert_string_equal(s->providers[0], "CPU");
    assert_int_equal(s->n_test_images, 2);
    assert_true(s->rtol == 0.01 && s->atol == 0);
    assert_int_equal(s->n_changes, 2);
    assert_string_equal(s->changelog[0].version, "1.2.0");
    assert_string_equal(s->changelog[0].date, "2024-05-01");
    assert_string_equal(s->changelog[0].text, "int8 variant");
    assert_string_equal(s->changelog[1].version, "1.0.0");
    assert_null(s->changelog[1].date);
    assert_true(s->perf_p99_ms == 12.5 && s->perf_throughput == 300);
}

static void test_full_spec(void **state)
{
    (void)state;
    mdk_spec *s;
    assert_int_equal(parse(full_spec, NULL, &s), MDK_OK);
    check_full(s, 0);
    assert_string_equal(s->path, "models/cls/spec.yaml");
    assert_string_equal(s->dir, "models/cls");
    mdk_spec_free(s);
}

static void test_defaults_and_options(void **state)
{
    (void)state;
    mdk_spec *s;
    assert_int_equal(mdki_spec_parse("model: m.onnx\n", 14, "spec.yaml", NULL, NULL, &s), MDK_OK);
    assert_string_equal(mdk_spec_name(s), "model");
    assert_string_equal(mdk_spec_version(s), "");
    assert_string_equal(mdk_spec_model_path(s), "./m.onnx"); /* a path without a directory: relative to "." */
    assert_false(mdk_spec_has_preprocess(s));
    assert_null(mdk_spec_input_name(s));
    assert_int_equal(s->post.type, MDKI_POST_NONE);
    assert_true(s->rtol == 1e-3 && s->atol == 1e-5);
    const mdk_spec_runtime *rt = mdk_spec_runtime_defaults(s);
    assert_true(rt->execution_mode == -1 && rt->graph_opt_level == -1 && rt->threads == 0);
    mdk_options o, def;
    mdk_options_init(&o);
    mdk_options_init(&def);
    mdk_spec_apply_options(s, &o);
    assert_int_equal(o.execution_mode, def.execution_mode); /* -1: nothing declared, the caller's value kept */
    assert_int_equal(o.graph_opt_level, def.graph_opt_level);
    mdk_spec_free(s);

    /* declared runtime values fill the options still at their defaults, never the ones the caller set */
    assert_int_equal(parse("runtime: {threads: 3, execution_mode: parallel, graph_optimization_level: none}\n"
                           "limits: {max_batch: 7}\n", NULL, &s), MDK_OK);
    mdk_options_init(&o);
    o.inter_op_threads = 5;
    mdk_spec_apply_options(s, &o);
    assert_int_equal(o.intra_op_threads, 3);
    assert_int_equal(o.inter_op_threads, 5);
    assert_int_equal(o.execution_mode, 1);
    assert_int_equal(o.graph_opt_level, 0);
    assert_true(o.max_batch == 7);
    mdk_spec_free(s);

    /* preprocess defaults: NCHW float32, no steps; a preprocess section alone is present */
    assert_int_equal(parse("preprocess: {}\n", NULL, &s), MDK_OK);
    assert_true(s->pre.present && !s->pre.nhwc && s->pre.n_steps == 0);
    assert_int_equal(s->pre.dtype, MDK_DTYPE_FLOAT32);
    mdk_spec_free(s);
    assert_int_equal(parse("preprocess:\n  steps: [{letterbox: {width: 64, height: 32}}]\n  dtype: uint8\n", NULL, &s),
                     MDK_OK);
    assert_int_equal(s->pre.steps[0].pad, 114);
    assert_int_equal(s->pre.steps[0].interp, MDKI_INTERP_BILINEAR);
    assert_int_equal(s->pre.dtype, MDK_DTYPE_UINT8);
    mdk_spec_free(s);
}

static void test_postprocess_types(void **state)
{
    (void)state;
    mdk_spec *s;
    assert_int_equal(parse("postprocess: {type: classification}\n", NULL, &s), MDK_OK);
    assert_int_equal(s->post.type, MDKI_POST_CLASSIFY);
    assert_int_equal(s->post.activation, MDKI_ACT_SOFTMAX);
    assert_int_equal(s->post.top_k, 5);
    assert_true(s->post.threshold == 0);
    assert_null(s->post.output);
    mdk_spec_free(s);

    assert_int_equal(parse("postprocess:\n  type: detection\n  output: output0\n  layout: channels_first\n"
                           "  box_format: cxcywh\n  objectness: yes\n  normalized: true\n  iou_threshold: 0.6\n"
                           "  max_detections: 20\n  class_aware: false\n  activation: sigmoid\n", NULL, &s), MDK_OK);
    const mdki_post *p = &s->post;
    assert_int_equal(p->type, MDKI_POST_DETECT);
    assert_string_equal(p->output, "output0");
    assert_true(p->channels_first && p->objectness && p->normalized && !p->class_aware);
    assert_int_equal(p->box_format, MDKI_BOX_CXCYWH);
    assert_true(p->iou == 0.6);
    assert_int_equal(p->max_detections, 20);
    assert_int_equal(p->activation, MDKI_ACT_SIGMOID);
    assert_true(p->threshold == 0.25); /* detection's default */
    mdk_spec_free(s);

    assert_int_equal(parse("postprocess: {type: detection, boxes: b, scores: s, box_format: xywh}\n", NULL, &s), MDK_OK);
    p = &s->post;
    assert_null(p->output);
    assert_string_equal(p->boxes_output, "b");
    assert_string_equal(p->scores_output, "s");
    assert_int_equal(p->box_format, MDKI_BOX_XYWH);
    assert_true(p->iou == 0.45 && p->max_detections == 100 && p->class_aware && !p->channels_first);
    assert_int_equal(p->activation, MDKI_ACT_NONE);
    mdk_spec_free(s);

    assert_int_equal(parse("postprocess: {type: segmentation, output: masks, threshold: 0.7}\n", NULL, &s), MDK_OK);
    assert_int_equal(s->post.type, MDKI_POST_SEGMENT);
    assert_string_equal(s->post.output, "masks");
    assert_true(s->post.threshold == 0.7);
    assert_int_equal(s->post.activation, MDKI_ACT_NONE);
    assert_int_equal(s->post.top_k, 0);
    mdk_spec_free(s);

    assert_int_equal(parse("postprocess: {type: none}\n", NULL, &s), MDK_OK);
    assert_int_equal(s->post.type, MDKI_POST_NONE);
    mdk_spec_free(s);
}

static void test_labels_from_reader(void **state)
{
    (void)state;
    mdk_spec *s;
    mem_reader r = {.content = "tabby cat\r\ndog\n\nbird"};
    assert_int_equal(parse("labels: names/labels.txt\n", &r, &s), MDK_OK);
    assert_int_equal(r.calls, 1);
    assert_string_equal(r.asked, "models/cls/names/labels.txt");
    assert_string_equal(s->labels_source, "names/labels.txt");
    assert_int_equal(s->n_labels, 4);
    assert_string_equal(s->labels[0], "tabby cat"); /* CR of a CRLF line end dropped */
    assert_string_equal(s->labels[1], "dog");
    assert_string_equal(s->labels[2], "");
    assert_string_equal(s->labels[3], "bird");
    mdk_spec_free(s);

    r = (mem_reader){.content = "a\nb\n"}; /* a final newline ends the last label, it starts none */
    assert_int_equal(parse("labels: /etc/l.txt\n", &r, &s), MDK_OK);
    assert_string_equal(r.asked, "/etc/l.txt");
    assert_int_equal(s->n_labels, 2);
    assert_string_equal(s->labels[1], "b");
    mdk_spec_free(s);

    r = (mem_reader){.content = ""};
    assert_int_equal(parse("labels: empty.txt\n", &r, &s), MDK_OK);
    assert_int_equal(s->n_labels, 0);
    mdk_spec_free(s);

    /* the reader's failure keeps its status, prefixed with the place of the labels field */
    r = (mem_reader){.content = NULL};
    assert_int_equal(parse("name: x\nlabels: missing.txt\n", &r, &s), MDK_ERR_NOT_FOUND);
    assert_null(s);
    assert_contains(mdk_errmsg(), "models/cls/spec.yaml:2:9: labels: no file 'models/cls/missing.txt'");

    /* more lines than the label cap */
    size_t n = MDKI_MAX_LABELS + 1;
    char *many = malloc(n + 1);
    assert_non_null(many);
    memset(many, '\n', n);
    many[n] = '\0';
    r = (mem_reader){.content = many};
    assert_int_equal(parse("labels: many.txt\n", &r, &s), MDK_ERR_FORMAT);
    assert_null(s);
    assert_contains(mdk_errmsg(), "labels: more than 1000000 labels");
    free(many);
}

static void test_spec_read_from_disk(void **state)
{
    (void)state;
    char dir[200];
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%.160s/mdk_test_spec_XXXXXX", tmp && *tmp ? tmp : P_tmpdir);
    assert_non_null(mkdtemp(dir));
    char yaml[256], labels[256];
    snprintf(yaml, sizeof yaml, "%s/mdk.yaml", dir);
    snprintf(labels, sizeof labels, "%s/labels.txt", dir);
    FILE *f = fopen(yaml, "w");
    assert_non_null(f);
    fputs("name: disk\nmodel: m.onnx\nlabels: labels.txt\n", f);
    fclose(f);
    f = fopen(labels, "w");
    assert_non_null(f);
    fputs("zero\none\n", f);
    fclose(f);
    for (int as_dir = 0; as_dir < 2; as_dir++) {
        mdk_spec *s = NULL;
        assert_int_equal(mdk_spec_read(as_dir ? dir : yaml, &s), MDK_OK);
        assert_string_equal(s->path, yaml);
        assert_int_equal(s->n_labels, 2);
        assert_string_equal(s->labels[1], "one");
        char model[300];
        snprintf(model, sizeof model, "%s/m.onnx", dir);
        assert_string_equal(mdk_spec_model_path(s), model);
        mdk_spec_free(s);
    }
    mdk_spec *s = NULL;
    assert_int_equal(mdk_spec_read(NULL, &s), MDK_ERR_INVALID_ARGUMENT);
    remove(labels);
    assert_int_not_equal(mdk_spec_read(yaml, &s), MDK_OK);
    assert_null(s);
    assert_contains(mdk_errmsg(), "labels");
    remove(yaml);
    assert_int_not_equal(mdk_spec_read(dir, &s), MDK_OK);
    assert_null(s);
    assert_contains(mdk_errmsg(), "mdk.yaml");
    rmdir(dir);
}

/* A spec that must be refused: the status, and every needle in the one-line message. */
typedef struct bad_case {
    const char *yaml;
    mdk_status status;
    const char *needles[3];
} bad_case;

static const bad_case bad_cases[] = {
    {"name: x\nmodle: m.onnx\n", MDK_ERR_FORMAT,
     {"models/cls/spec.yaml:2:1: spec: unknown field 'modle', expected one of format_version, name, version", "performance"}},
    {"preprocess:\n  steps:\n    - resize: {width: 2, height: 2, interpolation: linear2}\n", MDK_ERR_FORMAT,
     {"spec.yaml:3:52: preprocess.steps[0].resize.interpolation: unknown value 'linear2', expected one of nearest, "
      "bilinear, bicubic, area"}},
    {"preprocess:\n  steps:\n    - color: RGB\n    - blur: 3\n", MDK_ERR_FORMAT,
     {"spec.yaml:4:7: preprocess.steps[1]: unknown step 'blur', expected resize, letterbox"}},
    {"preprocess:\n  steps:\n    - resize: {width: 2, heigth: 2}\n", MDK_ERR_FORMAT,
     {"spec.yaml:3:26: preprocess.steps[0].resize: unknown field 'heigth', expected one of width, height"}},
    {"preprocess:\n  steps: [{scale: 2}, {resize: {width: 4, height: 4}}]\n", MDK_ERR_FORMAT,
     {"preprocess.steps[1]: resize works on 8-bit pixels: put it before scale and normalize"}},
    {"preprocess:\n  steps: [{resize: {width: 4}}]\n", MDK_ERR_FORMAT,
     {"preprocess.steps[0].resize: give width and height, or shorter_side, or longer_side"}},
    {"preprocess:\n  steps: [{resize: {width: 4, height: 4, shorter_side: 3}}]\n", MDK_ERR_FORMAT,
     {"give width and height, or shorter_side, or longer_side"}},
    {"preprocess:\n  steps: [{resize: {width: 0, height: 4}}]\n", MDK_ERR_FORMAT,
     {"spec.yaml:2:28: preprocess.steps[0].resize: expected a whole number from 1 to 65535, got 0"}},
    {"preprocess:\n  steps: [{resize: {width: 2.5, height: 4}}]\n", MDK_ERR_FORMAT, {"whole number", "got 2.5"}},
    {"preprocess:\n  steps: [{letterbox: {width: 4}}]\n", MDK_ERR_FORMAT,
     {"preprocess.steps[0].letterbox: needs width and height"}},
    {"preprocess:\n  steps: [{letterbox: {width: 4, height: 4, pad: 256}}]\n", MDK_ERR_FORMAT,
     {"letterbox: expected a whole number from 0 to 255, got 256"}},
    {"preprocess:\n  steps: [{center_crop: {height: 4}}]\n", MDK_ERR_FORMAT, {"center_crop: needs width and height"}},
    {"preprocess:\n  steps: [{color: HSV}]\n", MDK_ERR_FORMAT,
     {"preprocess.steps[0].color: unknown value 'HSV', expected one of RGB, BGR, GRAY"}},
    {"preprocess:\n  steps: [{scale: abc}]\n", MDK_ERR_FORMAT, {"preprocess.steps[0].scale: expected a number, got 'abc'"}},
    {"preprocess:\n  steps: [{scale: 1/0}]\n", MDK_ERR_FORMAT, {"expected a number or a fraction like 1/255, got '1/0'"}},
    {"preprocess:\n  steps: [{scale: \"2\"}]\n", MDK_ERR_FORMAT, {"scale: expected a number"}},
    {"preprocess:\n  steps: [{scale: .inf}]\n", MDK_ERR_FORMAT, {"scale: expected a number, got '.inf'"}},
    {"preprocess:\n  steps: [{normalize: {mean: [1, 2, 3], std: [1, 2]}}]\n", MDK_ERR_FORMAT,
     {"normalize: mean has 3 values and std 2: give one per channel"}},
    {"preprocess:\n  steps: [{normalize: {std: [1, 0, 1]}}]\n", MDK_ERR_FORMAT, {"normalize: std must not be 0"}},
    {"preprocess:\n  steps: [{normalize: {mean: [1, 2, 3, 4, 5]}}]\n", MDK_ERR_FORMAT,
     {"expected a number or a list of 1 to 4 numbers (one per channel)"}},
    {"preprocess:\n  steps: [{resize: {width: 4, height: 4}, scale: 2}]\n", MDK_ERR_FORMAT,
     {"preprocess.steps[0]: expected one step such as"}},
    {"preprocess:\n  steps: {scale: 2}\n", MDK_ERR_FORMAT, {"spec.yaml:2:10: preprocess.steps: expected a list of steps"}},
    {"preprocess: {layout: NCWH}\n", MDK_ERR_FORMAT,
     {"spec.yaml:1:22: preprocess.layout: unknown value 'NCWH', expected one of NCHW, NHWC"}},
    {"preprocess: {dtype: int8}\n", MDK_ERR_FORMAT, {"preprocess.dtype: unknown value 'int8', expected one of float32, float16, uint8"}},
    {"preprocess: [1]\n", MDK_ERR_FORMAT, {"spec.yaml:1:13: preprocess: expected a mapping, got a list"}},
    {"postprocess: {output: y}\n", MDK_ERR_FORMAT,
     {"spec.yaml:1:14: postprocess: needs a type: classification, detection, segmentation or none"}},
    {"postprocess: {type: ocr}\n", MDK_ERR_FORMAT,
     {"postprocess.type: unknown value 'ocr', expected one of none, classification, detection, segmentation"}},
    {"postprocess: {type: detection}\n", MDK_ERR_FORMAT,
     {"postprocess: detection needs 'output' (boxes and scores in one tensor) or 'boxes' and 'scores'"}},
    {"postprocess: {type: detection, boxes: b}\n", MDK_ERR_FORMAT, {"detection needs 'output'"}},
    {"postprocess: {type: detection, output: y, iou_threshold: 1.5}\n", MDK_ERR_FORMAT,
     {"spec.yaml:1:58: postprocess.iou_threshold: must be in [0, 1]"}},
    {"postprocess: {type: detection, output: y, normalized: maybe}\n", MDK_ERR_FORMAT,
     {"postprocess.normalized: expected true or false"}},
    {"postprocess: {type: detection, output: y, normalized: \"true\"}\n", MDK_ERR_FORMAT,
     {"postprocess.normalized: expected true or false"}},
    {"postprocess: {type: classification, top_k: 0}\n", MDK_ERR_FORMAT,
     {"postprocess.top_k: expected a whole number from 1 to 1000000, got 0"}},
    {"postprocess: {type: classification, activation: relu}\n", MDK_ERR_FORMAT,
     {"postprocess.activation: unknown value 'relu', expected one of none, softmax, sigmoid"}},
    {"postprocess: {type: classification, topk: 3}\n", MDK_ERR_FORMAT, {"postprocess: unknown field 'topk'"}},
    {"version: \"1.2\"\n", MDK_ERR_FORMAT, {"spec.yaml:1:10: version: '1.2' is not a semantic version such as 1.2.0"}},
    {"version: 01.2.3\n", MDK_ERR_FORMAT, {"is not a semantic version"}},
    {"name: \"a b\"\n", MDK_ERR_FORMAT, {"spec.yaml:1:7: name: 'a b' has characters outside [A-Za-z0-9._-]"}},
    {"name: [a]\n", MDK_ERR_FORMAT, {"name: expected a string, got a list"}},
    {"format_version: 2\n", MDK_ERR_FORMAT, {"format_version: this mdk reads spec format 1, the spec is format 2"}},
    {"task: painting\n", MDK_ERR_FORMAT, {"task: unknown value 'painting', expected one of classification, detection"}},
    {"model: \"\"\n", MDK_ERR_FORMAT, {"model: expected a file name"}},
    {"variants: {int4: m.onnx}\n", MDK_ERR_FORMAT, {"variants: unknown field 'int4', expected one of int8, fp16"}},
    {"labels: {a: 1}\n", MDK_ERR_FORMAT, {"labels: expected a file name or a list of labels"}},
    {"labels: [a, [b]]\n", MDK_ERR_FORMAT, {"spec.yaml:1:13: labels: expected a string, got a list"}},
    {"inputs: {name: x}\n", MDK_ERR_FORMAT, {"inputs: expected a list of {name, dtype, shape, description}"}},
    {"inputs:\n  - {dtype: float32}\n", MDK_ERR_FORMAT, {"spec.yaml:2:5: inputs[0]: needs a name"}},
    {"outputs:\n  - {name: y}\n  - {name: z, dtype: float128}\n", MDK_ERR_FORMAT,
     {"spec.yaml:3:22: outputs[1]: unknown dtype 'float128'"}},
    {"inputs:\n  - {name: x, shape: [1, \"\", 3]}\n", MDK_ERR_FORMAT, {"inputs[0]: a dim is a size >= 0 or a name"}},
    {"inputs:\n  - {name: x, shape: 3}\n", MDK_ERR_FORMAT, {"inputs[0]: shape must be a list of sizes and dim names"}},
    {"inputs:\n  - {name: x, rank: 3}\n", MDK_ERR_FORMAT, {"inputs[0]: unknown field 'rank'"}},
    {"runtime: {providers: [cpu, cuda]}\n", MDK_ERR_FORMAT,
     {"spec.yaml:1:28: runtime.providers: execution provider 'cuda' is not available in this build; expected cpu"}},
    {"runtime: {threads: 5000}\n", MDK_ERR_FORMAT, {"runtime.threads: expected a whole number from 0 to 1024, got 5000"}},
    {"runtime: {execution_mode: async}\n", MDK_ERR_FORMAT,
     {"runtime.execution_mode: unknown value 'async', expected one of sequential, parallel"}},
    {"runtime: {gpu: true}\n", MDK_ERR_FORMAT, {"runtime: unknown field 'gpu', expected one of threads"}},
    {"limits: {max_batch: 0}\n", MDK_ERR_FORMAT, {"spec.yaml:1:21: limits.max_batch: expected a whole number >= 1"}},
    {"limits: {max_image_pixels: 1.5}\n", MDK_ERR_FORMAT, {"limits.max_image_pixels: expected a whole number >= 1"}},
    {"limits: [1]\n", MDK_ERR_FORMAT, {"limits: expected a mapping, got a list"}},
    {"test_cases: {expected_outputs: out.npz}\n", MDK_ERR_FORMAT, {"spec.yaml:1:13: test_cases: expected_outputs needs inputs"}},
    {"test_cases: {inputs: in.npz, rtol: -1}\n", MDK_ERR_FORMAT, {"test_cases: rtol and atol must be >= 0"}},
    {"test_cases: {images: a.jpg}\n", MDK_ERR_FORMAT, {"test_cases.images: expected a list"}},
    {"changelog:\n  - {date: 2024-01-01}\n", MDK_ERR_FORMAT, {"spec.yaml:2:5: changelog: each entry needs a version"}},
    {"changelog: {version: 1}\n", MDK_ERR_FORMAT, {"changelog: expected a list of {version, date, changes}"}},
    {"performance: {p99_ms: fast}\n", MDK_ERR_FORMAT, {"performance.p99_ms: expected a number, got 'fast'"}},
    /* the document itself */
    {"", MDK_ERR_FORMAT, {"models/cls/spec.yaml: empty spec, expected a mapping with name, model, preprocess"}},
    {"- a\n- b\n", MDK_ERR_FORMAT, {"spec.yaml:1:1: spec: expected a mapping, got a list"}},
    {"just text\n", MDK_ERR_FORMAT, {"spec: expected a mapping, got a scalar"}},
    {"name: x\nname: y\n", MDK_ERR_FORMAT, {"models/cls/spec.yaml:2:1: key 'name' appears twice"}},
    {"name: [a, b\n", MDK_ERR_FORMAT, {"models/cls/spec.yaml:2:1: "}},
    {"name: a\n  b: c\n", MDK_ERR_FORMAT, {"models/cls/spec.yaml:2:4: mapping values are not allowed in this context"}},
    {"? [a]\n: 1\n", MDK_ERR_FORMAT, {"spec.yaml:1:3: mapping keys must be plain scalars"}},
    {"name: x\n---\nname: y\n", MDK_ERR_FORMAT, {"spec.yaml:2:1: more than one YAML document"}},
    {"name: &n x\nmodel: *n\n", MDK_ERR_FORMAT, {"spec.yaml:1:7: anchors (&name) are not supported"}},
    {"name: *n\n", MDK_ERR_FORMAT, {"spec.yaml:1:7: aliases (*name) are not supported"}},
    {"preprocess: &p {input: x}\n", MDK_ERR_FORMAT, {"spec.yaml:1:13: anchors (&name) are not supported"}},
    {"labels: &l [a]\n", MDK_ERR_FORMAT, {"spec.yaml:1:9: anchors (&name) are not supported"}},
};

static void test_bad_specs(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const bad_case *c = &bad_cases[i];
        mdk_spec *s = (mdk_spec *)&s; /* must be left alone */
        mdk_status st = mdki_spec_parse(c->yaml, strlen(c->yaml), "models/cls/spec.yaml", NULL, NULL, &s);
        if (st != c->status)
            fail_msg("case %zu (%s): status %s, expected %s (%s)", i, c->yaml, mdk_status_str(st),
                     mdk_status_str(c->status), mdk_errmsg());
        assert_true(s == (mdk_spec *)&s);
        const char *msg = mdk_errmsg();
        assert_null(strchr(msg, '\n')); /* one line */
        for (int k = 0; k < 3 && c->needles[k]; k++)
            if (!strstr(msg, c->needles[k])) fail_msg("case %zu (%s): message '%s' lacks '%s'", i, c->yaml, msg, c->needles[k]);
    }
}

/* A string of `n` copies of `unit` between `head` and `tail`, from the heap. */
static char *repeat(const char *head, const char *unit, size_t n, const char *tail)
{
    size_t hl = strlen(head), ul = strlen(unit), tl = strlen(tail);
    char *s = malloc(hl + ul * n + tl + 1);
    assert_non_null(s);
    memcpy(s, head, hl);
    for (size_t i = 0; i < n; i++) memcpy(s + hl + i * ul, unit, ul);
    memcpy(s + hl + ul * n, tail, tl + 1);
    return s;
}

static void expect_refused(const char *yaml, mdk_status status, const char *needle)
{
    mdk_spec *s = NULL;
    assert_int_equal(mdki_spec_parse(yaml, strlen(yaml), "big.yaml", NULL, NULL, &s), status);
    assert_null(s);
    assert_contains(mdk_errmsg(), needle);
}

static void test_caps(void **state)
{
    (void)state;
    mdk_spec *s = NULL;
    /* size: one byte over the cap is refused before parsing, the cap itself is read */
    char *big = malloc(MDKI_YAML_MAX_BYTES + 2);
    assert_non_null(big);
    memcpy(big, "name: x\n", 8);
    memset(big + 8, '#', MDKI_YAML_MAX_BYTES - 8);
    big[MDKI_YAML_MAX_BYTES] = '\0';
    assert_int_equal(mdki_spec_parse(big, MDKI_YAML_MAX_BYTES, "big.yaml", NULL, NULL, &s), MDK_OK);
    mdk_spec_free(s);
    s = NULL;
    big[MDKI_YAML_MAX_BYTES] = '\n';
    big[MDKI_YAML_MAX_BYTES + 1] = '\0';
    expect_refused(big, MDK_ERR_TOO_LARGE, "big.yaml: 1048577 bytes, above the limit of 1048576 for a spec");
    free(big);

    /* depth: the root is level 0, so 32 nested lists inside a mapping are read and 33 are not */
    char *deep = repeat("description: ", "[", 32, "");
    char *text = repeat(deep, "]", 32, "\n");
    expect_refused(text, MDK_ERR_FORMAT, "description: expected a string, got a list");
    free(text);
    free(deep);
    deep = repeat("description: ", "[", 33, "");
    text = repeat(deep, "]", 33, "\n");
    expect_refused(text, MDK_ERR_FORMAT, "big.yaml:1:46: nesting deeper than 32 levels");
    free(text);
    free(deep);
    /* far deeper than the cap: refused as early, no recursion beyond it */
    deep = repeat("a: ", "[", 100000, "");
    expect_refused(deep, MDK_ERR_FORMAT, "nesting deeper than 32 levels");
    free(deep);

    /* node count */
    text = repeat("labels: [", "0,", MDKI_YAML_MAX_NODES, "0]\n");
    expect_refused(text, MDK_ERR_FORMAT, "more than 100000 nodes");
    free(text);
    text = repeat("labels: [", "0,", MDKI_YAML_MAX_NODES - 4, "0]\n");
    assert_int_equal(mdki_spec_parse(text, strlen(text), "big.yaml", NULL, NULL, &s), MDK_OK);
    assert_int_equal(s->n_labels, MDKI_YAML_MAX_NODES - 3);
    mdk_spec_free(s);
    free(text);

    /* steps and declared inputs */
    text = repeat("preprocess:\n  steps:\n", "    - color: RGB\n", MDKI_MAX_STEPS, "");
    assert_int_equal(mdki_spec_parse(text, strlen(text), "big.yaml", NULL, NULL, &s), MDK_OK);
    assert_int_equal(s->pre.n_steps, MDKI_MAX_STEPS);
    mdk_spec_free(s);
    free(text);
    text = repeat("preprocess:\n  steps:\n", "    - color: RGB\n", MDKI_MAX_STEPS + 1, "");
    expect_refused(text, MDK_ERR_FORMAT, "big.yaml:3:5: preprocess.steps: more than 32 steps");
    free(text);
    text = repeat("inputs:\n", "  - {name: x}\n", 257, "");
    expect_refused(text, MDK_ERR_FORMAT, "big.yaml:2:3: inputs: more than 256 entries");
    free(text);
    text = repeat("inputs:\n  - name: x\n    shape: [", "1, ", MDK_MAX_DIMS, "1]\n");
    expect_refused(text, MDK_ERR_FORMAT, "inputs[0]: shape must be a list of sizes and dim names");
    free(text);
}

/* Labels emitted as a file name: the reader serves them back joined by newlines. */
static char *labels_text(const mdk_spec *s)
{
    size_t n = 1;
    for (size_t i = 0; i < s->n_labels; i++) n += strlen(s->labels[i]) + 1;
    char *t = malloc(n), *p = t;
    assert_non_null(t);
    for (size_t i = 0; i < s->n_labels; i++) p += sprintf(p, "%s\n", s->labels[i]);
    *p = '\0';
    return t;
}

static void assert_same_spec(const mdk_spec *a, const mdk_spec *b)
{
    assert_int_equal(a->pre.n_steps, b->pre.n_steps);
    for (size_t i = 0; i < a->pre.n_steps; i++)
        if (memcmp(&a->pre.steps[i], &b->pre.steps[i], sizeof a->pre.steps[i]) != 0) fail_msg("step %zu differs", i);
    assert_int_equal(a->pre.nhwc, b->pre.nhwc);
    assert_int_equal(a->pre.dtype, b->pre.dtype);
    const mdki_post *p = &a->post, *q = &b->post;
    assert_int_equal(p->type, q->type);
    assert_int_equal(p->activation, q->activation);
    assert_true(p->threshold == q->threshold);
    if (p->type == MDKI_POST_CLASSIFY) assert_int_equal(p->top_k, q->top_k);
    if (p->type == MDKI_POST_DETECT) {
        assert_true(p->box_format == q->box_format && p->normalized == q->normalized &&
                    p->channels_first == q->channels_first && p->objectness == q->objectness && p->iou == q->iou &&
                    p->max_detections == q->max_detections && p->class_aware == q->class_aware);
        assert_true((p->boxes_output == NULL) == (q->boxes_output == NULL));
    }
    assert_true(memcmp(&a->rt, &b->rt, sizeof a->rt) == 0);
    assert_true(a->rtol == b->rtol && a->atol == b->atol);
    assert_true(a->perf_p99_ms == b->perf_p99_ms && a->perf_throughput == b->perf_throughput);
    assert_int_equal(a->n_labels, b->n_labels);
    for (size_t i = 0; i < a->n_labels; i++) assert_string_equal(a->labels[i], b->labels[i]);
}

static void round_trip(const char *yaml, int full)
{
    mdk_spec *a = NULL, *b = NULL;
    mem_reader r = {.content = "x\ny\nz\n"};
    assert_int_equal(parse(yaml, &r, &a), MDK_OK);
    mdki_buf out;
    mdki_buf_init(&out, 1u << 20);
    const char *images[] = {"images/0.jpg", "images/1.png"}; /* as cases.json names them, below test_cases/ */
    assert_int_equal(mdki_spec_emit(a, "model/model.onnx", a->n_labels ? "labels.txt" : NULL,
                                    a->variant_int8 ? "model/model.int8.onnx" : NULL,
                                    a->variant_fp16 ? "model/model.fp16.onnx" : NULL, images, &out), MDK_OK);
    char *labels = labels_text(a);
    mem_reader r2 = {.content = labels};
    mdk_status st = mdki_spec_parse(out.data, out.len, "bundle/mdk.yaml", read_mem, &r2, &b);
    if (st != MDK_OK) fail_msg("emitted spec refused: %s\n%s", mdk_errmsg(), out.data);
    if (a->n_labels) assert_string_equal(r2.asked, "bundle/labels.txt");
    assert_same_spec(a, b);
    if (full) {
        check_full(b, 1);
        assert_string_equal(b->model, "bundle/model/model.onnx");
        assert_string_equal(b->variant_int8, "bundle/model/model.int8.onnx");
        assert_string_equal(b->test_images[1], "bundle/test_cases/images/1.png");
        assert_string_equal(b->test_inputs, "bundle/test_cases/inputs.npz");
        assert_string_equal(b->labels_source, "labels.txt");
    }
    /* canonical: the emitted spec emits itself */
    mdki_buf again;
    mdki_buf_init(&again, 1u << 20);
    assert_int_equal(mdki_spec_emit(b, "model/model.onnx", b->n_labels ? "labels.txt" : NULL,
                                    b->variant_int8 ? "model/model.int8.onnx" : NULL,
                                    b->variant_fp16 ? "model/model.fp16.onnx" : NULL, images, &again), MDK_OK);
    assert_int_equal(again.len, out.len);
    assert_memory_equal(again.data, out.data, out.len);
    mdki_buf_free(&again);
    mdki_buf_free(&out);
    free(labels);
    mdk_spec_free(a);
    mdk_spec_free(b);
}

static void test_emit_round_trip(void **state)
{
    (void)state;
    round_trip(full_spec, 1);
    round_trip("name: det\nversion: 0.1.0\nmodel: m.onnx\nlabels: l.txt\n"
               "preprocess: {steps: [{letterbox: {width: 640, height: 480, pad: 7}}, {color: GRAY}, {scale: 0.1}]}\n"
               "postprocess: {type: detection, boxes: b, scores: s, box_format: xywh, normalized: true, objectness: true,"
               " layout: channels_first, iou_threshold: 0.3, max_detections: 9, class_aware: false, threshold: 0.3}\n"
               "test_cases: {inputs: i.npz, rtol: 0.5, atol: 1e-7}\n",
               0);
    round_trip("name: seg\nmodel: m.onnx\npreprocess: {steps: [{normalize: {mean: [1, 2], std: [3, 4]}}], dtype: uint8}\n"
               "postprocess: {type: segmentation, output: out, threshold: 0.6}\nruntime: {threads: 0, batch: 2}\n",
               0);
}

/* Parses `yaml` with every allocation from the nth on failing, for n = 0, 1, ... until the parse succeeds: each
 * failure must be a clean MDK_ERR_NO_MEMORY with nothing returned (the sanitizers see any leak). */
static void parse_under_oom(const char *yaml, const char *labels, mdk_status final)
{
    long n = 0;
    for (;; n++) {
        mem_reader r = {.content = labels};
        mdk_spec *s = NULL;
        mdki_alloc_fail_after(n);
        unsigned long before = mdki_alloc_failures();
        mdk_status st = mdki_spec_parse(yaml, strlen(yaml), "models/cls/spec.yaml", read_mem, &r, &s);
        int injected = mdki_alloc_failures() != before;
        mdki_alloc_fail_after(-1);
        if (!injected) {
            if (st != final) fail_msg("without failures: %s (%s)", mdk_status_str(st), mdk_errmsg());
            if (st == MDK_OK) check_full(s, 0);
            mdk_spec_free(s);
            break;
        }
        /* a refused spec may be refused before the failing allocation */
        if (st != MDK_ERR_NO_MEMORY && st != final)
            fail_msg("allocation %ld failing: %s (%s)", n, mdk_status_str(st), mdk_errmsg());
        if (st == MDK_ERR_NO_MEMORY) assert_null(s);
        if (st == MDK_OK) mdk_spec_free(s);
        assert_true(n < 100000);
    }
    assert_true(n > 10); /* the loop went through the parser's allocations */
}

static void test_parse_allocation_failures(void **state)
{
    (void)state;
    parse_under_oom(full_spec, NULL, MDK_OK);
    /* labels through the reader, then a refusal late in the spec */
    parse_under_oom("name: x\nlabels: l.txt\ninputs: [{name: a, shape: [n, 3]}]\nruntime: {providers: [gpu]}\n", "a\nb\nc\n",
                    MDK_ERR_FORMAT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_spec),
        cmocka_unit_test(test_defaults_and_options),
        cmocka_unit_test(test_postprocess_types),
        cmocka_unit_test(test_labels_from_reader),
        cmocka_unit_test(test_spec_read_from_disk),
        cmocka_unit_test(test_bad_specs),
        cmocka_unit_test(test_caps),
        cmocka_unit_test(test_emit_round_trip),
        cmocka_unit_test(test_parse_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
