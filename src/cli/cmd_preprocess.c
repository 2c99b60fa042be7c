/* cmd_preprocess.c: `mdk preprocess SPEC IMAGE... -o OUT.npy`: only the preprocessing a spec declares. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cmd_preprocess(int argc, char **argv)
{
    const char *spec_path = NULL, *out = NULL;
    const char **images = calloc((size_t)argc, sizeof *images);
    size_t n = 0;
    int fast = 0, rc = 0;
    long long max_pixels = 0;
    if (!images) return cli_error("preprocess", "out of memory");
    for (int i = 1; i < argc; i++) {
        const char *v;
        int r;
        if (cli_is_help(argv[i])) {
            printf("usage: mdk preprocess SPEC IMAGE... -o OUT.npy [--fast] [--max-pixels N]\n\n"
                   "Runs the preprocessing that SPEC (an mdk.yaml, or a bundle directory) declares on the images (JPEG or\n"
                   "PNG) and writes the batch tensor, one image per row of the first dim.\n\n"
                   "  -o, --output FILE   where to write the tensor (.npy, .pb or .json)\n"
                   "  --fast              decode JPEGs at reduced scale in the DCT domain when the first resize is much\n"
                   "                      smaller (faster, results differ slightly: see docs/processing.md)\n"
                   "  --max-pixels N      refuse images above N pixels (default 100000000)\n");
            free(images);
            return 0;
        }
        if ((r = cli_opt_value(argc, argv, &i, "--output", &v)) || (r = cli_opt_value(argc, argv, &i, "-o", &v))) {
            if (r < 0) rc = cli_usage_error("preprocess", "-o needs a file");
            out = v;
        } else if (strcmp(argv[i], "--fast") == 0) {
            fast = 1;
        } else if ((r = cli_opt_value(argc, argv, &i, "--max-pixels", &v))) {
            if (r < 0 || cli_parse_i64(v, 1, INT64_MAX, &max_pixels) != 0)
                rc = cli_usage_error("preprocess", "--max-pixels needs a number >= 1");
        } else if (argv[i][0] == '-' && argv[i][1]) {
            rc = cli_usage_error("preprocess", "unknown option '%s'", argv[i]);
        } else if (!spec_path) {
            spec_path = argv[i];
        } else {
            images[n++] = argv[i];
        }
        if (rc) break;
    }
    if (!rc && !spec_path) rc = cli_usage_error("preprocess", "missing SPEC");
    if (!rc && !n) rc = cli_usage_error("preprocess", "missing IMAGE");
    if (!rc && !out) rc = cli_usage_error("preprocess", "missing -o OUT.npy");
    mdk_spec *spec = NULL;
    mdk_tensor *t = NULL;
    mdk_status st = MDK_OK;
    if (!rc && (st = mdk_spec_read(spec_path, &spec)) != MDK_OK) rc = cli_lib_error("preprocess", st);
    mdk_decode_options dec;
    if (!rc) {
        mdk_spec_decode_options(spec, fast, &dec);
        if (max_pixels) dec.max_pixels = (uint64_t)max_pixels;
        if ((st = mdk_preprocess_files(spec, images, n, &dec, &t, NULL)) != MDK_OK) rc = cli_lib_error("preprocess", st);
    }
    if (!rc && (st = mdk_tensor_write(t, out)) != MDK_OK) rc = cli_lib_error("preprocess", st);
    if (!rc) {
        char shape[128];
        printf("%s: %s %s\n", out, mdk_dtype_name(mdk_tensor_dtype(t)),
               mdk_shape_str(mdk_tensor_ndim(t), mdk_tensor_shape(t), shape, sizeof shape));
    }
    mdk_tensor_free(t);
    mdk_spec_free(spec);
    free(images);
    return rc;
}
