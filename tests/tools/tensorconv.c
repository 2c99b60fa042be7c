/* tensorconv.c: a test tool over libmdk's public tensor API: reads tensor files and writes them back in
 * another format, so that NumPy and ONNX's Python code can check mdk's codecs from outside.
 *   tensorconv IN OUT             one tensor (.npy/.pb/.json) to another file of any of those formats
 *   tensorconv --npz IN.npz OUT.npz   every array of an .npz, rewritten (deflated)
 *   tensorconv --compare A B RTOL ATOL   prints mdk_tensor_compare's result as JSON */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdk/mdk.h"

static int fail(void)
{
    fprintf(stderr, "tensorconv: %s\n", mdk_errmsg());
    return 1;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "--npz") == 0) {
        mdk_tensor **ts;
        size_t n;
        if (mdk_npz_read(argv[2], &ts, &n) != MDK_OK) return fail();
        mdk_status st = mdk_npz_write(argv[3], ts, n, 1);
        mdk_tensors_free(ts, n);
        return st == MDK_OK ? 0 : fail();
    }
    if (argc == 6 && strcmp(argv[1], "--compare") == 0) {
        mdk_tensor *a, *b;
        mdk_compare c;
        if (mdk_tensor_read(argv[2], MDK_DTYPE_UNDEFINED, &a) != MDK_OK) return fail();
        if (mdk_tensor_read(argv[3], MDK_DTYPE_UNDEFINED, &b) != MDK_OK) return fail();
        mdk_status st = mdk_tensor_compare(a, b, strtod(argv[4], NULL), strtod(argv[5], NULL), &c);
        mdk_tensor_free(a);
        mdk_tensor_free(b);
        if (st != MDK_OK) return fail();
        printf("{\"pass\": %d, \"mismatches\": %zu, \"max_abs_err\": %.17g, \"max_rel_err\": %.17g, \"worst_index\": %zu}\n",
               c.pass, c.mismatches, c.max_abs_err, c.max_rel_err, c.worst_index);
        return 0;
    }
    if (argc != 3) {
        fprintf(stderr, "usage: tensorconv IN OUT | --npz IN OUT | --compare A B RTOL ATOL\n");
        return 2;
    }
    mdk_tensor *t;
    if (mdk_tensor_read(argv[1], MDK_DTYPE_UNDEFINED, &t) != MDK_OK) return fail();
    mdk_status st = mdk_tensor_write(t, argv[2]);
    mdk_tensor_free(t);
    return st == MDK_OK ? 0 : fail();
}
