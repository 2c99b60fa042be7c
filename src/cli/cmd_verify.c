/* cmd_verify.c: `mdk verify MODEL --cases DIR`: runs every test case and compares each output with its
 * expected value under rtol/atol; one line per case, then "N passed, M failed". */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void help(void)
{
    printf("usage: mdk verify BUNDLE [--threads N] [--json]\n"
           "       mdk verify MODEL --cases DIR [--rtol R] [--atol A] [--threads N] [--json]\n\n"
           "A BUNDLE (directory or .mdk archive) is checked for integrity first (every file against manifest.json),\n"
           "then each of its test cases runs through the full pipeline (images through preprocessing, the model,\n"
           "outputs against the expected ones with the bundle's tolerances).\n\n"
           "Runs the test cases in DIR and compares every output with the expected one: an element passes when\n"
           "|actual - expected| <= atol + rtol * |expected| (NaN matches NaN). Exits 1 when any case fails.\n\n"
           "DIR holds either ONNX's test layout (test_data_set_*/input_<i>.pb and output_<i>.pb), or\n"
           "inputs.npz + expected_outputs.npz keyed by tensor name (keys CASE/NAME make several cases), or\n"
           "inputs.npy + expected_outputs.npy for a model with one input and one output.\n\n"
           "  --rtol R     relative tolerance (default 1e-3)\n"
           "  --atol A     absolute tolerance (default 1e-5)\n"
           "  --threads N  ONNX Runtime intra-op threads\n"
           "  --json       print a JSON report instead of text\n");
}

/* Compares the outputs of one case (mdk_outputs_check); with `jouts`, one record per expected output. */
static int check_case(const mdk_case *c, mdk_tensor **outs, size_t n_outs, double rtol, double atol, char *why,
                      size_t size, cJSON *jouts)
{
    mdk_compare *res = calloc(c->n_expected ? c->n_expected : 1, sizeof *res);
    if (!res) {
        snprintf(why, size, "out of memory");
        return 0;
    }
    int ok = mdk_outputs_check(outs, n_outs, c->expected, c->n_expected, rtol, atol, res, why, size);
    for (size_t e = 0; jouts && e < c->n_expected; e++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", mdk_tensor_name(c->expected[e]));
        cJSON_AddBoolToObject(o, "pass", res[e].pass);
        cJSON_AddNumberToObject(o, "mismatches", (double)res[e].mismatches);
        cJSON_AddNumberToObject(o, "max_abs_err", res[e].max_abs_err);
        cJSON_AddNumberToObject(o, "max_rel_err", res[e].max_rel_err);
        cJSON_AddNumberToObject(o, "worst_index", (double)res[e].worst_index);
        cJSON_AddItemToArray(jouts, o);
    }
    free(res);
    return ok;
}

typedef struct report {
    int json;
    cJSON *cases;
} report;

static void on_case(void *ctx, const char *name, int pass, const char *detail)
{
    report *r = ctx;
    if (r->json) {
        cJSON *c = cJSON_CreateObject();
        cJSON_AddStringToObject(c, "name", name);
        cJSON_AddBoolToObject(c, "pass", pass);
        if (!pass) cJSON_AddStringToObject(c, "error", detail);
        cJSON_AddItemToArray(r->cases, c);
    } else if (pass) {
        printf("PASS %s\n", name);
    } else {
        printf("FAIL %s: %s\n", name, detail);
    }
}

static int verify_bundle(const char *path, int threads, int json)
{
    mdk_bundle *b = NULL;
    mdk_status st = mdk_bundle_open(path, &b);
    if (st != MDK_OK) return cli_lib_error("verify", st);
    const mdk_spec *s = mdk_bundle_spec(b);
    if (!json)
        printf("integrity: %zu files match manifest.json (%s)\n%s %s\n", mdk_bundle_file_count(b), mdk_bundle_digest(b),
               mdk_spec_name(s), mdk_spec_version(s));
    mdk_options o;
    mdk_options_init(&o);
    o.intra_op_threads = threads;
    report r = {json, json ? cJSON_CreateArray() : NULL};
    size_t passed = 0, failed = 0;
    st = mdk_bundle_run_cases(b, &o, on_case, &r, &passed, &failed);
    int rc = 0;
    if (st != MDK_OK) rc = cli_lib_error("verify", st);
    else if (json) {
        cJSON *root = cJSON_CreateObject();
        cJSON_AddStringToObject(root, "bundle", path);
        cJSON_AddStringToObject(root, "digest", mdk_bundle_digest(b));
        cJSON_AddBoolToObject(root, "integrity", 1);
        cJSON_AddItemToObject(root, "cases", r.cases);
        r.cases = NULL;
        cJSON_AddNumberToObject(root, "passed", (double)passed);
        cJSON_AddNumberToObject(root, "failed", (double)failed);
        char *text = cJSON_Print(root);
        if (text) puts(text);
        free(text);
        cJSON_Delete(root);
    } else {
        printf("%zu passed, %zu failed\n", passed, failed);
    }
    cJSON_Delete(r.cases);
    mdk_bundle_close(b);
    return rc ? rc : failed ? CLI_EXIT_FAIL : 0;
}

int cmd_verify(int argc, char **argv)
{
    const char *model_path = NULL, *cases_dir = NULL;
    double rtol = 1e-3, atol = 1e-5;
    long long threads = 0;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int r;
        if (cli_is_help(argv[i])) {
            help();
            return 0;
        }
        if ((r = cli_opt_value(argc, argv, &i, "--cases", &v))) {
            if (r < 0) return cli_usage_error("verify", "--cases needs a directory");
            cases_dir = v;
        } else if ((r = cli_opt_value(argc, argv, &i, "--rtol", &v))) {
            if (r < 0 || cli_parse_f64(v, &rtol) != 0 || rtol < 0)
                return cli_usage_error("verify", "--rtol needs a number >= 0");
        } else if ((r = cli_opt_value(argc, argv, &i, "--atol", &v))) {
            if (r < 0 || cli_parse_f64(v, &atol) != 0 || atol < 0)
                return cli_usage_error("verify", "--atol needs a number >= 0");
        } else if ((r = cli_opt_value(argc, argv, &i, "--threads", &v))) {
            if (r < 0 || cli_parse_i64(v, 1, 1024, &threads) != 0)
                return cli_usage_error("verify", "--threads needs a number from 1 to 1024");
        } else if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else if ((r = cli_positional("verify", argv[i], &model_path)) != 0) {
            return r;
        }
    }
    if (!model_path) return cli_usage_error("verify", "missing MODEL");
    if (!cases_dir && mdk_path_is_bundle(model_path)) return verify_bundle(model_path, (int)threads, json);
    if (!cases_dir) return cli_usage_error("verify", "missing --cases DIR (or give a bundle)");

    mdk_options opts;
    mdk_options_init(&opts);
    opts.intra_op_threads = (int)threads;
    mdk_model *m = NULL;
    mdk_caseset *cs = NULL;
    mdk_status st = mdk_model_open(model_path, &opts, &m);
    if (st != MDK_OK) return cli_lib_error("verify", st);
    st = mdk_caseset_read(cases_dir, m, &cs);
    if (st != MDK_OK) {
        mdk_model_close(m);
        return cli_lib_error("verify", st);
    }
    cJSON *jroot = json ? cJSON_CreateObject() : NULL;
    cJSON *jcases = json ? cJSON_AddArrayToObject(jroot, "cases") : NULL;
    size_t passed = 0, failed = 0;
    for (size_t i = 0; i < mdk_caseset_count(cs); i++) {
        const mdk_case *c = mdk_caseset_get(cs, i);
        mdk_tensor **outs = NULL;
        size_t n_outs = 0;
        char why[1024];
        cJSON *jc = json ? cJSON_CreateObject() : NULL;
        cJSON *jouts = json ? cJSON_CreateArray() : NULL;
        int ok;
        st = mdk_model_run(m, c->inputs, c->n_inputs, &outs, &n_outs);
        if (st != MDK_OK) {
            ok = 0;
            snprintf(why, sizeof why, "%s", mdk_errmsg());
        } else {
            ok = check_case(c, outs, n_outs, rtol, atol, why, sizeof why, jouts);
        }
        mdk_tensors_free(outs, n_outs);
        ok ? passed++ : failed++;
        if (json) {
            cJSON_AddStringToObject(jc, "name", c->name);
            cJSON_AddBoolToObject(jc, "pass", ok);
            if (!ok) cJSON_AddStringToObject(jc, "error", why);
            cJSON_AddItemToObject(jc, "outputs", jouts);
            cJSON_AddItemToArray(jcases, jc);
        } else if (ok) {
            printf("PASS %s\n", c->name);
        } else {
            printf("FAIL %s: %s\n", c->name, why);
        }
    }
    if (json) {
        cJSON_AddStringToObject(jroot, "model", model_path);
        cJSON_AddNumberToObject(jroot, "rtol", rtol);
        cJSON_AddNumberToObject(jroot, "atol", atol);
        cJSON_AddNumberToObject(jroot, "passed", (double)passed);
        cJSON_AddNumberToObject(jroot, "failed", (double)failed);
        char *s = cJSON_Print(jroot);
        if (s) puts(s);
        free(s);
        cJSON_Delete(jroot);
    } else {
        printf("%zu passed, %zu failed\n", passed, failed);
    }
    mdk_caseset_free(cs);
    mdk_model_close(m);
    return failed ? CLI_EXIT_FAIL : 0;
}
