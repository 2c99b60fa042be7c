/* cases.c: reads test cases (inputs and expected outputs) from ONNX's test layout or NumPy files. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tensor/tensor_int.h"

#define CASES_MAX 100000
#define CASE_MAX_TENSORS 1024

typedef struct case_priv {
    mdk_case pub;
    char *name;
    mdk_tensor **in, **exp;
} case_priv;

struct mdk_caseset {
    case_priv *cases;
    size_t n;
};

static int is_dir(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static int is_file(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
}

void mdk_caseset_free(mdk_caseset *cs)
{
    if (!cs) return;
    for (size_t i = 0; i < cs->n; i++) {
        mdki_free(cs->cases[i].name);
        mdk_tensors_free(cs->cases[i].in, cs->cases[i].pub.n_inputs);
        mdk_tensors_free(cs->cases[i].exp, cs->cases[i].pub.n_expected);
    }
    mdki_free(cs->cases);
    mdki_free(cs);
}

size_t mdk_caseset_count(const mdk_caseset *cs) { return cs->n; }

const mdk_case *mdk_caseset_get(const mdk_caseset *cs, size_t i)
{
    return i < cs->n ? &cs->cases[i].pub : NULL;
}

static case_priv *add_case(mdk_caseset *cs, const char *name)
{
    if (cs->n >= CASES_MAX) {
        mdki_fail(MDK_ERR_TOO_LARGE, "more than %d test cases", CASES_MAX);
        return NULL;
    }
    case_priv *grown = mdki_realloc(cs->cases, (cs->n + 1) * sizeof *grown);
    if (!grown) return NULL;
    cs->cases = grown;
    case_priv *c = &cs->cases[cs->n];
    memset(c, 0, sizeof *c);
    c->name = mdki_strdup(name);
    c->in = mdki_calloc(1, sizeof *c->in);
    c->exp = mdki_calloc(1, sizeof *c->exp);
    cs->n++; /* counted now so that free() releases what was allocated */
    if (!c->name || !c->in || !c->exp) return NULL;
    c->pub.name = c->name;
    return c;
}

static mdk_status push(mdk_tensor ***arr, size_t *n, mdk_tensor *t)
{
    mdk_status st = mdki_tensors_push(arr, n, t, CASE_MAX_TENSORS);
    return st == MDK_ERR_TOO_LARGE ? mdki_fail(st, "more than %d tensors in one case", CASE_MAX_TENSORS) : st;
}

static void sync_pub(case_priv *c)
{
    c->pub.inputs = c->in;
    c->pub.expected = c->exp;
}

/* Reads PREFIX_0.pb, PREFIX_1.pb, ... in order until one is missing, each as the kind of value the model
 * declares at that position. */
static mdk_status read_pb_series(const char *dir, const char *prefix, const mdk_model *m, mdk_tensor ***arr, size_t *n)
{
    int inputs = strcmp(prefix, "input") == 0;
    for (size_t i = 0;; i++) {
        char file[64], path[4096];
        snprintf(file, sizeof file, "%s_%zu.pb", prefix, i);
        mdk_status st = mdk_path_join(path, sizeof path, dir, file);
        if (st != MDK_OK) return st;
        if (!is_file(path)) return MDK_OK;
        const mdk_value_info *v = !m ? NULL : inputs ? mdk_model_input(m, i) : mdk_model_output(m, i);
        mdk_tensor *t;
        st = mdk_value_read(path, v ? v->kind : MDK_VALUE_TENSOR, MDK_DTYPE_UNDEFINED, &t);
        if (st != MDK_OK) return st;
        if ((st = push(arr, n, t)) != MDK_OK) return st;
    }
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static mdk_status read_onnx_layout(mdk_caseset *cs, const char *dir, const mdk_model *m)
{
    char first[4096], out0[4096];
    if (mdk_path_join(first, sizeof first, dir, "input_0.pb") != MDK_OK ||
        mdk_path_join(out0, sizeof out0, dir, "output_0.pb") != MDK_OK)
        return MDK_ERR_TOO_LARGE;
    if (is_file(first) || is_file(out0)) { /* DIR is itself one data set, named after it */
        const char *slash = strrchr(dir, '/');
        case_priv *c = add_case(cs, slash && slash[1] ? slash + 1 : dir);
        if (!c) return MDK_ERR_NO_MEMORY;
        mdk_status st = read_pb_series(dir, "input", m, &c->in, &c->pub.n_inputs);
        if (st == MDK_OK) st = read_pb_series(dir, "output", m, &c->exp, &c->pub.n_expected);
        sync_pub(c);
        return st;
    }
    DIR *d = opendir(dir);
    if (!d) return MDK_ERR_NOT_FOUND;
    char **names = NULL;
    size_t n = 0;
    mdk_status st = MDK_OK;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, "test_data_set_", 14) != 0) continue;
        char **g = mdki_realloc(names, (n + 1) * sizeof *g);
        if (!g) {
            st = MDK_ERR_NO_MEMORY;
            break;
        }
        names = g;
        if (!(names[n] = mdki_strdup(e->d_name))) {
            st = MDK_ERR_NO_MEMORY;
            break;
        }
        n++;
        if (n > CASES_MAX) {
            st = mdki_fail(MDK_ERR_TOO_LARGE, "more than %d test cases", CASES_MAX);
            break;
        }
    }
    closedir(d);
    if (st == MDK_OK && n == 0) st = MDK_ERR_NOT_FOUND;
    if (st == MDK_OK) qsort(names, n, sizeof *names, name_cmp);
    for (size_t i = 0; st == MDK_OK && i < n; i++) {
        char sub[4096];
        if ((st = mdk_path_join(sub, sizeof sub, dir, names[i])) != MDK_OK) break;
        if (!is_dir(sub)) continue;
        case_priv *c = add_case(cs, names[i]);
        if (!c) {
            st = MDK_ERR_NO_MEMORY;
            break;
        }
        st = read_pb_series(sub, "input", m, &c->in, &c->pub.n_inputs);
        if (st == MDK_OK) st = read_pb_series(sub, "output", m, &c->exp, &c->pub.n_expected);
        sync_pub(c);
        if (st == MDK_OK && c->pub.n_expected == 0)
            st = mdki_fail(MDK_ERR_FORMAT, "'%s' holds no output_0.pb", sub);
    }
    for (size_t i = 0; i < n; i++) mdki_free(names[i]);
    mdki_free(names);
    return st;
}

/* Splits "CASE/NAME" keys into cases; plain keys make a single case named "inputs.npz". Takes ownership of
 * the tensors. */
static mdk_status group_npz(mdk_caseset *cs, mdk_tensor **ts, size_t n, int expected)
{
    mdk_status st = MDK_OK;
    size_t i;
    for (i = 0; i < n && st == MDK_OK; i++) {
        const char *full = mdk_tensor_name(ts[i]);
        const char *slash = strrchr(full, '/');
        char *cname = slash ? mdki_strndup(full, (size_t)(slash - full)) : mdki_strdup("inputs.npz");
        if (!cname) {
            st = MDK_ERR_NO_MEMORY;
            break;
        }
        case_priv *c = NULL;
        for (size_t k = 0; k < cs->n; k++)
            if (strcmp(cs->cases[k].name, cname) == 0) c = &cs->cases[k];
        if (!c) {
            if (expected) {
                st = mdki_fail(MDK_ERR_FORMAT, "expected_outputs.npz has case '%s' that inputs.npz lacks", cname);
                break;
            }
            if (!(c = add_case(cs, cname))) st = MDK_ERR_NO_MEMORY;
        }
        mdki_free(cname);
        if (st != MDK_OK) break;
        if (slash && (st = mdk_tensor_set_name(ts[i], slash + 1)) != MDK_OK) break;
        st = expected ? push(&c->exp, &c->pub.n_expected, ts[i]) : push(&c->in, &c->pub.n_inputs, ts[i]);
        ts[i] = NULL;
        sync_pub(c);
    }
    for (; i < n; i++) mdk_tensor_free(ts[i]);
    mdki_free(ts);
    return st;
}

static mdk_status read_numpy_layout(mdk_caseset *cs, const char *dir)
{
    char in[4096], ex[4096];
    mdk_status st = mdk_path_join(in, sizeof in, dir, "inputs.npz");
    if (st == MDK_OK) st = mdk_path_join(ex, sizeof ex, dir, "expected_outputs.npz");
    if (st != MDK_OK) return st;
    if (is_file(in)) {
        mdk_tensor **ts;
        size_t n;
        if ((st = mdk_npz_read(in, &ts, &n)) != MDK_OK) return st;
        if ((st = group_npz(cs, ts, n, 0)) != MDK_OK) return st;
        if (!is_file(ex)) return mdki_fail(MDK_ERR_NOT_FOUND, "'%s' is missing (inputs.npz needs it)", ex);
        if ((st = mdk_npz_read(ex, &ts, &n)) != MDK_OK) return st;
        if ((st = group_npz(cs, ts, n, 1)) != MDK_OK) return st;
        for (size_t k = 0; k < cs->n; k++)
            if (cs->cases[k].pub.n_expected == 0)
                return mdki_fail(MDK_ERR_FORMAT, "case '%s' has no expected outputs in '%s'", cs->cases[k].name, ex);
        return MDK_OK;
    }
    if ((st = mdk_path_join(in, sizeof in, dir, "inputs.npy")) != MDK_OK) return st;
    if ((st = mdk_path_join(ex, sizeof ex, dir, "expected_outputs.npy")) != MDK_OK) return st;
    if (!is_file(in)) return MDK_ERR_NOT_FOUND;
    if (!is_file(ex)) return mdki_fail(MDK_ERR_NOT_FOUND, "'%s' is missing (inputs.npy needs it)", ex);
    case_priv *c = add_case(cs, "inputs.npy");
    if (!c) return MDK_ERR_NO_MEMORY;
    mdk_tensor *t;
    if ((st = mdk_tensor_read(in, MDK_DTYPE_UNDEFINED, &t)) != MDK_OK) return st;
    if ((st = push(&c->in, &c->pub.n_inputs, t)) != MDK_OK) return st;
    if ((st = mdk_tensor_read(ex, MDK_DTYPE_UNDEFINED, &t)) != MDK_OK) return st;
    st = push(&c->exp, &c->pub.n_expected, t);
    sync_pub(c);
    return st;
}

mdk_status mdk_caseset_read(const char *dir, const mdk_model *model, mdk_caseset **out)
{
    if (!dir || !out) return mdki_fail(MDK_ERR_INVALID_ARGUMENT, "mdk_caseset_read: NULL argument");
    if (!is_dir(dir)) return mdki_fail(MDK_ERR_NOT_FOUND, "cases directory '%s' does not exist", dir);
    mdk_caseset *cs = mdki_calloc(1, sizeof *cs);
    if (!cs) return MDK_ERR_NO_MEMORY;
    mdki_clear_error();
    mdk_status st = read_numpy_layout(cs, dir);
    if (st == MDK_ERR_NOT_FOUND && !*mdk_errmsg()) st = read_onnx_layout(cs, dir, model);
    if (st == MDK_ERR_NOT_FOUND && !*mdk_errmsg())
        st = mdki_fail(MDK_ERR_NOT_FOUND, "'%s' holds no test cases: expected test_data_set_*/input_*.pb + output_*.pb, "
                       "inputs.npz + expected_outputs.npz, or inputs.npy + expected_outputs.npy", dir);
    if (st != MDK_OK) {
        mdk_caseset_free(cs);
        return st;
    }
    *out = cs;
    return MDK_OK;
}
