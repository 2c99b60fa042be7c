/* nmstool.c: a test tool over the internal NMS: boxes [N,4] (x1,y1,x2,y2) and scores [N] as float32 .npy in,
 * kept indexes as int64 .npy out, for comparison with torchvision.ops.nms.
 * usage: nmstool BOXES.npy SCORES.npy IOU OUT.npy [CLASSES.npy] */
#include <stdio.h>
#include <stdlib.h>

#include "process/postprocess.h"
#include "tensor/tensor_int.h"

int main(int argc, char **argv)
{
    if (argc != 5 && argc != 6) {
        fprintf(stderr, "usage: nmstool BOXES.npy SCORES.npy IOU OUT.npy [CLASSES.npy]\n");
        return 2;
    }
    mdk_tensor *b, *s, *c = NULL, *out;
    if (mdk_tensor_read(argv[1], MDK_DTYPE_UNDEFINED, &b) != MDK_OK || mdk_tensor_read(argv[2], MDK_DTYPE_UNDEFINED, &s) != MDK_OK ||
        (argc == 6 && mdk_tensor_read(argv[5], MDK_DTYPE_UNDEFINED, &c) != MDK_OK)) {
        fprintf(stderr, "nmstool: %s\n", mdk_errmsg());
        return 1;
    }
    size_t n = s->count;
    size_t *keep = malloc((n ? n : 1) * sizeof *keep);
    size_t k = keep ? mdki_nms(b->data, s->data, c ? c->data : NULL, n, strtod(argv[3], NULL), n, keep) : (size_t)-1;
    int64_t shape[1] = {(int64_t)k};
    int rc = 1;
    if (k != (size_t)-1 && mdk_tensor_new(MDK_DTYPE_INT64, 1, shape, &out) == MDK_OK) {
        for (size_t i = 0; i < k; i++) ((int64_t *)out->data)[i] = (int64_t)keep[i];
        rc = mdk_tensor_write(out, argv[4]) == MDK_OK ? 0 : 1;
        mdk_tensor_free(out);
    }
    free(keep);
    mdk_tensor_free(b);
    mdk_tensor_free(s);
    mdk_tensor_free(c);
    return rc;
}
