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
