/* compare.c: element-wise comparison of two tensors under NumPy's allclose rule. */
#include <math.h>
#include <string.h>

#include "tensor/tensor_int.h"

/* Sequences and optionals: item by item, folding each item's result into `out`. */
static mdk_status compare_values(const mdk_tensor *a, const mdk_tensor *e, double rtol, double atol, mdk_compare *out)
{
    out->dtype_match = a->dtype == e->dtype;
    out->shape_match = a->kind == e->kind && a->n_items == e->n_items;
    if (!out->dtype_match || !out->shape_match) return MDK_OK;
    size_t offset = 0;
    double worst = -1;
    for (size_t i = 0; i < a->n_items; i++) {
        mdk_compare c;
        mdk_status st = mdk_tensor_compare(a->items[i], e->items[i], rtol, atol, &c);
        if (st != MDK_OK) return st;
        out->dtype_match &= c.dtype_match;
        out->shape_match &= c.shape_match;
        out->mismatches += c.mismatches;
        if (c.max_abs_err > out->max_abs_err) out->max_abs_err = c.max_abs_err;
        if (c.max_rel_err > out->max_rel_err) out->max_rel_err = c.max_rel_err;
        double badness = c.pass ? 0 : 1 + c.max_abs_err;
        if (badness > worst) {
            worst = badness;
            out->worst_index = offset + c.worst_index;
            out->worst_actual = c.worst_actual;
            out->worst_expected = c.worst_expected;
        }
        offset += mdk_tensor_count(a->items[i]);
    }
    out->pass = out->dtype_match && out->shape_match && out->mismatches == 0;
    return MDK_OK;
}

mdk_status mdk_tensor_compare(const mdk_tensor *a, const mdk_tensor *e, double rtol, double atol, mdk_compare *out)
{
    if (!a || !e || !out) return mdki_fail(MDK_ERR_INVALID_ARGUMENT, "mdk_tensor_compare: NULL argument");
    if (!(rtol >= 0) || !(atol >= 0))
        return mdki_fail(MDK_ERR_INVALID_ARGUMENT, "tolerances must be >= 0 (got rtol %g, atol %g)", rtol, atol);
    memset(out, 0, sizeof *out);
    if (a->kind != MDK_VALUE_TENSOR || e->kind != MDK_VALUE_TENSOR) return compare_values(a, e, rtol, atol, out);
    out->dtype_match = a->dtype == e->dtype;
    out->shape_match = a->ndim == e->ndim && memcmp(a->shape, e->shape, a->ndim * sizeof a->shape[0]) == 0;
    if (!out->dtype_match || !out->shape_match) return MDK_OK;

    double worst_excess = -INFINITY;
    for (size_t i = 0; i < a->count; i++) {
        if (a->dtype == MDK_DTYPE_STRING) {
            if (strcmp(((char **)a->data)[i], ((char **)e->data)[i]) != 0) {
                if (out->mismatches++ == 0) out->worst_index = i;
            }
            continue;
        }
        double x = mdk_tensor_get_f64(a, i), y = mdk_tensor_get_f64(e, i);
        int bad;
        double excess;
        if (isnan(x) || isnan(y)) {
            bad = !(isnan(x) && isnan(y));
            excess = bad ? INFINITY : -INFINITY;
        } else if (isinf(x) || isinf(y)) {
            bad = x != y;
            excess = bad ? INFINITY : -INFINITY;
        } else {
            double d = fabs(x - y);
            if (d > out->max_abs_err) out->max_abs_err = d;
            if (y != 0 && d / fabs(y) > out->max_rel_err) out->max_rel_err = d / fabs(y);
            double tol = atol + rtol * fabs(y);
            bad = d > tol;
            excess = d - tol;
        }
        if (bad) out->mismatches++;
        if (excess > worst_excess) {
            worst_excess = excess;
            out->worst_index = i;
            out->worst_actual = x;
            out->worst_expected = y;
        }
    }
    out->pass = out->mismatches == 0;
    return MDK_OK;
}
