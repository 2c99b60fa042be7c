/* resizetool.c: a test tool over the internal resize: reads an HWC uint8 .npy, resizes, writes .npy, so that
 * tests can compare the result with cv2.resize.  usage: resizetool IN.npy OUT.npy WIDTH HEIGHT INTERP(0-3) */
#include <stdio.h>
#include <stdlib.h>

#include "process/resize.h"
#include "tensor/tensor_int.h"

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: resizetool IN.npy OUT.npy WIDTH HEIGHT INTERP\n");
        return 2;
    }
    mdk_tensor *in = NULL, *out = NULL;
    if (mdk_tensor_read(argv[1], MDK_DTYPE_UNDEFINED, &in) != MDK_OK) goto fail;
    int dw = atoi(argv[3]), dh = atoi(argv[4]);
    int cn = in->ndim == 3 ? (int)in->shape[2] : 1;
    int64_t shape[3] = {dh, dw, cn};
    if (mdk_tensor_new(MDK_DTYPE_UINT8, in->ndim, shape, &out) != MDK_OK) goto fail;
    if (mdki_resize(in->data, (int)in->shape[1], (int)in->shape[0], cn, out->data, dw, dh, (mdki_interp)atoi(argv[5])) !=
        MDK_OK)
        goto fail;
    if (mdk_tensor_write(out, argv[2]) != MDK_OK) goto fail;
    mdk_tensor_free(in);
    mdk_tensor_free(out);
    return 0;
fail:
    fprintf(stderr, "resizetool: %s\n", mdk_errmsg());
    mdk_tensor_free(in);
    mdk_tensor_free(out);
    return 1;
}
