/* resize.h: 8-bit image resizing with OpenCV's cv2.resize semantics (pixel-centre mapping, its fixed-point
 * coefficients and rounding), so that preprocessing declared once gives the same pixels as the training
 * recipe. Images are interleaved HWC, 1 to 4 channels. */
#ifndef MDK_PROCESS_RESIZE_H
#define MDK_PROCESS_RESIZE_H

#include <stdint.h>

#include "core/core.h"
#include "spec/spec.h"

/* Resizes `src` (sw x sh x cn, rows of sw*cn bytes) into `dst` (dw x dh x cn). */
mdk_status mdki_resize(const uint8_t *src, int sw, int sh, int cn, uint8_t *dst, int dw, int dh, mdki_interp interp);

#endif
