/* cli_feeds.c: the model inputs the verbs build from --input NAME=FILE|random, --dim and --seed. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"


static int find_dim(const dim_arg *dims, size_t nd, const char *input, size_t axis, const char *param, long long *v)
{
    char key[512];
    snprintf(key, sizeof key, "%s:%zu", input, axis);
    for (size_t i = 0; i < nd; i++)
        if (strcmp(dims[i].name, key) == 0 || (param && strcmp(dims[i].name, param) == 0)) {
            *v = dims[i].value;
            return 1;
        }
    return 0;
}

int cli_make_random(const char *a_verb, const mdk_model *m, int idx, const dim_arg *dims, size_t nd,
                    unsigned long long seed, mdk_tensor **out)
{
    const mdk_value_info *v = mdk_model_input(m, idx);
    if (v->kind != MDK_VALUE_TENSOR)
        return cli_error(a_verb, "input '%s' is not a tensor; random data can only fill tensors", v->name);
    int64_t shape[MDK_MAX_DIMS];
    for (size_t k = 0; k < v->ndim; k++) {
        long long val;
        if (find_dim(dims, nd, v->name, k, v->dims[k].param, &val)) shape[k] = val;
        else if (v->dims[k].value >= 0) shape[k] = v->dims[k].value;
        else if (v->dims[k].param)
            return cli_error(a_verb, "input '%s' dim %zu is the symbolic dim '%s': set it with --dim %s=VALUE", v->name, k,
                             v->dims[k].param, v->dims[k].param);
        else
            return cli_error(a_verb, "input '%s' dim %zu is dynamic: set it with --dim %s:%zu=VALUE", v->name, k, v->name, k);
    }
    mdk_status st = mdk_tensor_new(v->dtype, v->ndim, shape, out);
    if (st != MDK_OK) return cli_lib_error("run", st);
    mdk_tensor_fill_random(*out, seed + (unsigned long long)idx);
    if (mdk_tensor_set_name(*out, v->name) != MDK_OK) return cli_lib_error("run", MDK_ERR_NO_MEMORY);
    return 0;
}


/* Reads or generates each --input as a named tensor for model `m`. */
int cli_read_feeds(const mdk_model *m, const feed_args *a, mdk_tensor **feeds)
{
    const char *a_verb = a->verb;
    for (size_t i = 0; i < a->n_inputs; i++) {
        const char *eq = strchr(a->inputs[i], '=');
        char given[1024];
        const char *file, *name = given;
        if (eq) {
            size_t len = (size_t)(eq - a->inputs[i]);
            if (len >= sizeof given)
                return cli_usage_error(a_verb, "--input: the input name is %zu bytes long, the limit is %zu", len,
                                       sizeof given - 1);
            memcpy(given, a->inputs[i], len);
            given[len] = '\0';
            file = eq + 1;
        } else if (mdk_model_input_count(m) == 1) {
            name = mdk_model_input(m, 0)->name;
            file = a->inputs[i];
        } else {
            return cli_usage_error(a_verb, "--input '%s' needs NAME=FILE: the model has %zu inputs", a->inputs[i],
                                   mdk_model_input_count(m));
        }
        int idx = mdk_model_input_index(m, name);
        if (idx < 0) {
            char list[1024] = "";
            size_t used = 0;
            for (size_t k = 0; k < mdk_model_input_count(m) && used < sizeof list; k++)
                used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", k ? ", " : "", mdk_model_input(m, k)->name);
            return cli_error(a_verb, "unknown input '%s'; the model's inputs are: %s", name, list);
        }
        if (strcmp(file, "random") == 0) {
            int rc = cli_make_random(a_verb, m, idx, a->dims, a->n_dims, a->seed, &feeds[i]);
            if (rc) return rc;
            continue;
        }
        mdk_status st = mdk_value_read(file, mdk_model_input(m, idx)->kind, mdk_model_input(m, idx)->dtype, &feeds[i]);
        if (st == MDK_OK) st = mdk_tensor_set_name(feeds[i], name);
        if (st != MDK_OK) return cli_error(a_verb, "input '%s': %s", name, mdk_errmsg());
    }
    return 0;
}


int cli_parse_dim(const char *verb, int r, const char *v, dim_arg *dims, size_t *n, size_t max)
{
    const char *eq = r > 0 ? strrchr(v, '=') : NULL;
    long long val;
    if (!eq || eq == v || cli_parse_i64(eq + 1, 0, INT64_MAX, &val) != 0)
        return cli_usage_error(verb, "--dim needs DIM=VALUE with VALUE >= 0, got '%s'", r > 0 ? v : "");
    if (*n == max) return cli_usage_error(verb, "too many --dim options");
    char *name = strndup(v, (size_t)(eq - v));
    if (!name) return cli_error(verb, "out of memory");
    dims[(*n)++] = (dim_arg){name, val};
    return 0;
}

void cli_dims_free(dim_arg *dims, size_t n)
{
    for (size_t i = 0; i < n; i++) free((char *)dims[i].name);
}

/* Where each input carries the batch: the dim named like the first input's dynamic dim 0 (a named dim means
 * one size across every input that has it, at whatever position: an RNN state [layers, N, hidden] shares N with
 * its input [N, features]); unnamed, dim 0 itself where dynamic. axes[i] is -1 for an input without it.
 * Returns the batch dim's name (NULL when unnamed or absent). */
const char *cli_batch_axes(const mdk_model *m, int *axes)
{
    size_t n_in = mdk_model_input_count(m);
    int unnamed = 0;
    const char *name = NULL;
    for (size_t i = 0; i < n_in && !name && !unnamed; i++) {
        const mdk_value_info *v = mdk_model_input(m, i);
        if (v->ndim >= 1 && v->dims[0].value < 0) {
            if (v->dims[0].param && *v->dims[0].param) name = v->dims[0].param;
            else unnamed = 1;
        }
    }
    for (size_t i = 0; i < n_in; i++) {
        const mdk_value_info *v = mdk_model_input(m, i);
        axes[i] = -1;
        for (size_t k = 0; k < v->ndim && axes[i] < 0; k++) {
            if (v->dims[k].value >= 0) continue;
            if (name ? v->dims[k].param && strcmp(v->dims[k].param, name) == 0
                     : unnamed && k == 0 && !(v->dims[k].param && *v->dims[k].param))
                axes[i] = (int)k;
        }
    }
    return name;
}

/* A tensor of `src`'s items items[0..n) along `axis` (the other dims unchanged), named as `src`. */
mdk_status cli_take_items(const mdk_tensor *src, int axis, const int64_t *items, size_t n, mdk_tensor **out)
{
    size_t nd = mdk_tensor_ndim(src);
    int64_t shape[MDK_MAX_DIMS];
    memcpy(shape, mdk_tensor_shape(src), nd * sizeof *shape);
    int64_t have = shape[axis];
    shape[axis] = (int64_t)n;
    mdk_status st = mdk_tensor_new(mdk_tensor_dtype(src), nd, shape, out);
    if (st == MDK_OK) st = mdk_tensor_set_name(*out, mdk_tensor_name(src));
    if (st != MDK_OK) return st;
    size_t outer = 1, inner = 1;
    for (int k = 0; k < axis; k++) outer *= (size_t)shape[k];
    for (size_t k = (size_t)axis + 1; k < nd; k++) inner *= (size_t)shape[k];
    int strings = mdk_tensor_dtype(src) == MDK_DTYPE_STRING;
    size_t es = strings ? 0 : mdk_dtype_size(mdk_tensor_dtype(src));
    for (size_t o = 0; o < outer && st == MDK_OK; o++)
        for (size_t j = 0; j < n && st == MDK_OK; j++) {
            size_t from = (o * (size_t)have + (size_t)items[j]) * inner, to = (o * n + j) * inner;
            if (!strings) {
                memcpy((char *)mdk_tensor_mutable_data(*out) + to * es, (const char *)mdk_tensor_data(src) + from * es,
                       inner * es);
                continue;
            }
            for (size_t e = 0; e < inner && st == MDK_OK; e++) {
                const char *str = mdk_tensor_string(src, from + e);
                st = mdk_tensor_set_string(*out, to + e, str, strlen(str));
            }
        }
    return st;
}
