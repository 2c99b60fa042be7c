/* image_int.h: the mdk_image struct, shared by decoding and preprocessing. */
#ifndef MDK_PROCESS_IMAGE_INT_H
#define MDK_PROCESS_IMAGE_INT_H

#include "core/core.h"

struct mdk_image {
    int w, h, c;
    int src_w, src_h; /* before a fast-path reduction, after orientation */
    uint8_t *px;
};

mdk_status mdki_image_alloc(int w, int h, int c, mdk_image **out);

#endif
