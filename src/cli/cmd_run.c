/* cmd_run.c: `mdk run MODEL --input NAME=FILE|random ...`: one inference, outputs to .npy files or a summary. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define MAX_ARGS 256

static void help(void)
{
    printf("usage: mdk run MODEL --input NAME=FILE ... [--dim DIM=VALUE ...] [--output-dir DIR] [--threads N]\n"
           "               [--seed S] [--json]\n"
           "       mdk run SPEC --image FILE ... [--input NAME=FILE ...] [--fast] [--max-pixels N] [--output-dir DIR]\n\n"
           "Runs one inference on ONNX Runtime. MODEL is any form of a model: a bare .onnx, a spec (mdk.yaml), a\n"
           "bundle directory or a .mdk archive; tensors go to its model as they are. With --image, SPEC is a spec or\n"
           "bundle that declares preprocessing: the images go through it, the model and the postprocessing, and the\n"
           "result is printed as JSON (schema in docs/processing.md).\n\n"
           "  --image FILE         a JPEG or PNG image; several make one batch. The model's other inputs, if any,\n"
           "                       come unchanged from --input NAME=FILE\n"
           "  --fast               reduced-scale JPEG decoding (see mdk preprocess --help)\n"
           "  --max-pixels N       refuse images above N pixels (default 100000000)\n"
           "  --input NAME=FILE    feed input NAME from FILE: .npy, .pb (ONNX TensorProto, or SequenceProto /\n"
           "                       OptionalProto for such inputs) or .json; NAME= may be left out when the model\n"
           "                       has one input\n"
           "  --input NAME=random  fill input NAME with random data (floats in [0,1), integers in [0,10))\n"
           "  --dim DIM=VALUE      size of a symbolic dim for random inputs (e.g. --dim batch=4); an unnamed\n"
           "                       dynamic dim is set with --dim INPUT:AXIS=VALUE\n"
           "  --output-dir DIR     write each output to DIR/<output name>.npy (characters outside [A-Za-z0-9_.-]\n"
           "                       become _; sequence and optional outputs are written as ONNX .pb); without it,\n"
           "                       print a summary of each output\n"
           "  --threads N          ONNX Runtime intra-op threads (default: one per core)\n"
           "  --seed S             seed for random inputs (default 0)\n"
           "  --json               print the outputs as JSON tensors (name, datatype, shape, data)\n");
}

static void summary(const mdk_tensor *t);

/* Sequences and optionals: a header line, then each contained tensor. */
static void summary_value(const mdk_tensor *t)
{
    if (mdk_tensor_kind(t) == MDK_VALUE_SEQUENCE) {
        printf("%s: sequence of %zu %s tensors\n", mdk_tensor_name(t), mdk_sequence_length(t),
               mdk_dtype_name(mdk_tensor_dtype(t)));
        for (size_t i = 0; i < mdk_sequence_length(t); i++) {
            printf("  [%zu] ", i);
            summary(mdk_sequence_item(t, i));
        }
    } else if (mdk_tensor_kind(t) == MDK_VALUE_OPTIONAL) {
        const mdk_tensor *v = mdk_optional_value(t);
        printf("%s: optional, %s\n", mdk_tensor_name(t), v ? "with a value:" : "empty");
        if (v) summary_value(v);
    } else {
        summary(t);
    }
}

static void summary(const mdk_tensor *t)
{
    char shape[256];
    size_t n = mdk_tensor_count(t);
    printf("%s: %s %s", mdk_tensor_name(t), mdk_dtype_name(mdk_tensor_dtype(t)),
           mdk_shape_str(mdk_tensor_ndim(t), mdk_tensor_shape(t), shape, sizeof shape));
    if (mdk_tensor_dtype(t) == MDK_DTYPE_STRING) {
        printf("\n  first:");
        for (size_t i = 0; i < n && i < 5; i++) printf(" \"%s\"", mdk_tensor_string(t, i));
        printf("\n");
        return;
    }
    double mn = INFINITY, mx = -INFINITY, sum = 0;
    size_t finite = 0, nan = 0;
    for (size_t i = 0; i < n; i++) {
        double x = mdk_tensor_get_f64(t, i);
        if (isnan(x)) {
            nan++;
            continue;
        }
        if (x < mn) mn = x;
        if (x > mx) mx = x;
        if (isfinite(x)) {
            sum += x;
            finite++;
        }
    }
    if (n) printf("  min %.6g  max %.6g  mean %.6g", mn, mx, finite ? sum / (double)finite : NAN);
    if (nan) printf("  (%zu NaN)", nan);
    printf("\n  first:");
    for (size_t i = 0; i < n && i < 8; i++) printf(" %.6g", mdk_tensor_get_f64(t, i));
    if (n > 8) printf(" ...");
    printf("\n");
}

/* The output's file name: its name with characters outside [A-Za-z0-9_.-] replaced by '_'. With ".npy"
 * appended, no name can escape the output directory. */
static void safe_name(const char *in, char *out, size_t size)
{
    size_t i = 0;
    for (; in[i] && i + 1 < size; i++) {
        char c = in[i];
        int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
                 c == '-';
        out[i] = ok ? c : '_';
    }
    out[i] = '\0';
}

static int write_outputs(mdk_tensor **outs, size_t n_outs, const char *out_dir, int quiet);

/* The spec's whole pipeline on image files; prints the postprocessed JSON. */
static int run_images(const char *spec_path, const mdk_options *opts, const char *const *paths, size_t n, int fast,
                      unsigned long long max_pixels, const feed_args *fa, const char *out_dir)
{
    mdk_pipeline *p = NULL;
    mdk_image **imgs = calloc(n, sizeof *imgs);
    mdk_tensor *extra[MAX_ARGS] = {0};
    mdk_tensor **outs = NULL;
    size_t n_outs = 0;
    char *json = NULL;
    int rc = 0;
    if (!imgs) return cli_error("run", "out of memory");
    mdk_status st = mdk_pipeline_open(spec_path, opts, &p);
    mdk_decode_options dec;
    if (st == MDK_OK && !mdk_spec_has_preprocess(mdk_pipeline_spec(p))) /* the library's message, before decoding */
        st = mdk_preprocess(mdk_pipeline_spec(p), imgs, n, &extra[0], NULL);
    if (st == MDK_OK) {
        mdk_spec_decode_options(mdk_pipeline_spec(p), fast, &dec);
        if (max_pixels) dec.max_pixels = max_pixels;
        rc = cli_read_feeds(mdk_pipeline_model(p), fa, extra);
    }
    for (size_t i = 0; i < n && st == MDK_OK && !rc; i++) st = mdk_image_read(paths[i], &dec, &imgs[i]);
    if (st == MDK_OK && !rc)
        st = mdk_pipeline_run(p, imgs, n, paths, extra, fa->n_inputs, &json, out_dir ? &outs : NULL, &n_outs);
    if (st != MDK_OK) rc = cli_lib_error("run", st);
    if (!rc && out_dir) rc = write_outputs(outs, n_outs, out_dir, 1);
    if (!rc) fputs(json, stdout);
    mdk_free(json);
    mdk_tensors_free(outs, n_outs);
    for (size_t i = 0; i < n; i++) mdk_image_free(imgs[i]);
    for (size_t i = 0; i < fa->n_inputs; i++) mdk_tensor_free(extra[i]);
    free(imgs);
    mdk_pipeline_close(p);
    return rc;
}

/* Each output to DIR/<name>.npy (.pb for sequences and optionals); lists them unless `quiet`. */
static int write_outputs(mdk_tensor **outs, size_t n_outs, const char *out_dir, int quiet)
{
    if (cli_mkdirs(out_dir) != 0) return cli_error("run", "cannot create output directory '%s'", out_dir);
    for (size_t i = 0; i < n_outs; i++) {
        char base[512], path[4096];
        safe_name(mdk_tensor_name(outs[i]), base, sizeof base);
        /* .npy holds tensors; sequences and optionals keep ONNX's own message format */
        char file[520];
        snprintf(file, sizeof file, "%s.%s", base, mdk_tensor_kind(outs[i]) == MDK_VALUE_TENSOR ? "npy" : "pb");
        mdk_status st = mdk_path_join(path, sizeof path, out_dir, file);
        if (st == MDK_OK) st = mdk_tensor_write(outs[i], path);
        if (st != MDK_OK) return cli_lib_error("run", st);
        if (!quiet) printf("%s -> %s\n", mdk_tensor_name(outs[i]), path);
    }
    return 0;
}

int cmd_run(int argc, char **argv)
{
    const char *model_path = NULL, *out_dir = NULL;
    const char *inputs[MAX_ARGS];
    dim_arg dims[MAX_ARGS];
    size_t n_inputs = 0, n_dims = 0;
    const char *images[MAX_ARGS];
    size_t n_images = 0;
    long long threads = 0, seed = 0, max_pixels = 0;
    int json = 0, fast = 0;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int r;
        if (cli_is_help(argv[i])) {
            help();
            return 0;
        }
        if ((r = cli_opt_value(argc, argv, &i, "--input", &v))) {
            if (r < 0) return cli_usage_error("run", "--input needs NAME=FILE");
            if (n_inputs == MAX_ARGS) return cli_usage_error("run", "too many --input options");
            inputs[n_inputs++] = v;
        } else if ((r = cli_opt_value(argc, argv, &i, "--image", &v))) {
            if (r < 0) return cli_usage_error("run", "--image needs a file");
            if (n_images == MAX_ARGS) return cli_usage_error("run", "too many --image options");
            images[n_images++] = v;
        } else if (strcmp(argv[i], "--fast") == 0) {
            fast = 1;
        } else if ((r = cli_opt_value(argc, argv, &i, "--max-pixels", &v))) {
            if (r < 0 || cli_parse_i64(v, 1, INT64_MAX, &max_pixels) != 0)
                return cli_usage_error("run", "--max-pixels needs a number >= 1");
        } else if ((r = cli_opt_value(argc, argv, &i, "--dim", &v))) {
            if ((r = cli_parse_dim("run", r, v, dims, &n_dims, MAX_ARGS)) != 0) return r;
        } else if ((r = cli_opt_value(argc, argv, &i, "--output-dir", &v))) {
            if (r < 0) return cli_usage_error("run", "--output-dir needs a directory");
            out_dir = v;
        } else if ((r = cli_opt_value(argc, argv, &i, "--threads", &v))) {
            if (r < 0 || cli_parse_i64(v, 1, 1024, &threads) != 0)
                return cli_usage_error("run", "--threads needs a number from 1 to 1024");
        } else if ((r = cli_opt_value(argc, argv, &i, "--seed", &v))) {
            if (r < 0 || cli_parse_i64(v, 0, INT64_MAX, &seed) != 0) return cli_usage_error("run", "--seed needs a number >= 0");
        } else if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else if ((r = cli_positional("run", argv[i], &model_path)) != 0) {
            return r;
        }
    }
    if (!model_path) return cli_usage_error("run", "missing MODEL");

    mdk_options opts;
    mdk_options_init(&opts);
    opts.intra_op_threads = (int)threads;
    feed_args fa = {"run", inputs, n_inputs, dims, n_dims, (unsigned long long)seed};
    if (n_images) return run_images(model_path, &opts, images, n_images, fast, (unsigned long long)max_pixels, &fa, out_dir);
    mdk_pipeline *p = NULL; /* any form: bundle, .mdk, spec or bare model; tensors go to its model */
    mdk_model *m = NULL;
    mdk_tensor *feeds[MAX_ARGS] = {0};
    mdk_tensor **outs = NULL;
    size_t n_outs = 0;
    int rc = 0;
    mdk_status st = mdk_pipeline_open(model_path, &opts, &p);
    if (st != MDK_OK) {
        rc = cli_lib_error("run", st);
        goto done;
    }
    m = mdk_pipeline_model(p);
    if (!n_inputs && mdk_model_input_count(m)) {
        char list[1024] = "";
        size_t used = 0;
        for (size_t k = 0; k < mdk_model_input_count(m) && used < sizeof list; k++)
            used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", k ? ", " : "", mdk_model_input(m, k)->name);
        rc = cli_usage_error("run", "no inputs given: feed the model's inputs (%s) with --input NAME=FILE or "
                             "NAME=random%s", list, mdk_spec_has_preprocess(mdk_pipeline_spec(p)) ? ", or images with --image" : "");
        goto done;
    }
    if ((rc = cli_read_feeds(m, &fa, feeds)) != 0) goto done;
    st = mdk_model_run(m, feeds, n_inputs, &outs, &n_outs);
    if (st != MDK_OK) {
        rc = cli_lib_error("run", st);
        goto done;
    }
    if (out_dir && (rc = write_outputs(outs, n_outs, out_dir, json)) != 0) goto done;
    if (json) {
        printf("[");
        for (size_t i = 0; i < n_outs; i++) {
            void *buf;
            size_t len;
            if (mdk_tensor_kind(outs[i]) != MDK_VALUE_TENSOR) {
                rc = cli_error("run", "output '%s' is a sequence or optional: use --output-dir (written as .pb)",
                               mdk_tensor_name(outs[i]));
                goto done;
            }
            if ((st = mdk_tensor_write_memory(outs[i], MDK_FORMAT_JSON, &buf, &len)) != MDK_OK) {
                rc = cli_lib_error("run", st);
                goto done;
            }
            while (len && ((char *)buf)[len - 1] == '\n') len--;
            fputs(i ? ",\n " : "", stdout);
            fwrite(buf, 1, len, stdout);
            free(buf);
        }
        printf("]\n");
    } else if (!out_dir) {
        for (size_t i = 0; i < n_outs; i++) summary_value(outs[i]);
    }
done:
    mdk_tensors_free(outs, n_outs);
    for (size_t i = 0; i < n_inputs; i++) mdk_tensor_free(feeds[i]);
    cli_dims_free(dims, n_dims);
    mdk_pipeline_close(p);
    return rc;
}
