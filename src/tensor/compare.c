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

/* One line on why `act` differs from `exp` under the comparison `c`. */
static void explain(const mdk_tensor *act, const mdk_tensor *exp, const mdk_compare *c, char *why, size_t size)
{
    char a[256], b[256];
    const char *name = mdk_tensor_name(exp)[0] ? mdk_tensor_name(exp) : mdk_tensor_name(act);
    if (!c->dtype_match)
        snprintf(why, size, "output '%s': dtype %s, expected %s", name, mdk_dtype_name(act->dtype),
                 mdk_dtype_name(exp->dtype));
    else if (!c->shape_match)
        snprintf(why, size, "output '%s': shape %s, expected %s", name, mdk_shape_str(act->ndim, act->shape, a, sizeof a),
                 mdk_shape_str(exp->ndim, exp->shape, b, sizeof b));
    else if (exp->dtype == MDK_DTYPE_STRING)
        snprintf(why, size, "output '%s': %zu of %zu strings differ, first at index %zu", name, c->mismatches,
                 mdk_tensor_count(exp), c->worst_index);
    else
        snprintf(why, size, "output '%s': %zu of %zu elements out of tolerance; max abs err %.3g, max rel err %.3g; "
                 "worst at index %zu: got %.9g, expected %.9g", name, c->mismatches, mdk_tensor_count(exp),
                 c->max_abs_err, c->max_rel_err, c->worst_index, c->worst_actual, c->worst_expected);
}

int mdk_outputs_check(mdk_tensor *const *outputs, size_t n_outputs, mdk_tensor *const *expected, size_t n_expected,
                      double rtol, double atol, mdk_compare *results, char *why, size_t size)
{
    int ok = 1;
    if (why && size) why[0] = '\0';
    for (size_t e = 0; e < n_expected; e++) {
        mdk_tensor *exp = expected[e];
        const char *name = mdk_tensor_name(exp);
        const mdk_tensor *act = NULL;
        for (size_t k = 0; k < n_outputs && !act && *name; k++)
            if (strcmp(mdk_tensor_name(outputs[k]), name) == 0) act = outputs[k];
        if (!act && e < n_outputs && (!*name || n_expected == n_outputs)) act = outputs[e];
        mdk_compare c;
        memset(&c, 0, sizeof c);
        if (!act) {
            if (ok && why) snprintf(why, size, "expected output '%s' is not among the outputs", name);
            ok = 0;
        } else {
            if (act->dtype == MDK_DTYPE_BFLOAT16 && exp->dtype == MDK_DTYPE_UINT16)
                mdk_tensor_reinterpret(exp, MDK_DTYPE_BFLOAT16);
            if (mdk_tensor_compare(act, exp, rtol, atol, &c) != MDK_OK) {
                if (ok && why) snprintf(why, size, "%s", mdk_errmsg());
                ok = 0;
            } else if (!c.pass) {
                if (ok && why) explain(act, exp, &c, why, size);
                ok = 0;
            }
        }
        if (results) results[e] = c;
    }
    return ok;
}
