/* postprocess.h: the postprocessing primitives other modules and tests use directly. */
#ifndef MDK_PROCESS_POSTPROCESS_H
#define MDK_PROCESS_POSTPROCESS_H

#include <stddef.h>

/* Greedy non-maximum suppression: boxes (x1, y1, x2, y2) in descending score order (ties by index); a box is
 * dropped when its IoU with a kept box of the same class (classes may be NULL: one class) is above
 * `iou_threshold`. Writes up to `max_keep` kept indexes into `keep` and returns their count, or (size_t)-1
 * when out of memory. */
size_t mdki_nms(const float *boxes, const float *scores, const int *classes, size_t n, double iou_threshold,
                size_t max_keep, size_t *keep);

/* In place: softmax (numerically stable) or sigmoid over `n` values; activation is an mdki_activation. */
void mdki_activate(double *v, size_t n, int activation);

#endif
