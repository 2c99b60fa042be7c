/* test_model.c: unit tests of models on ONNX Runtime and of graph reading, on models from ONNX's own test
 * data: signatures, runs checked against ONNX's expected outputs, input checking with its messages,
 * refusal of files that are not models, and concurrent runs on one model. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "mdk/mdk.h"

static char g_add[1024], g_add_dir[1024], g_cast[1024];

static void setup_paths(void)
{
    const char *root = getenv("MDK_ONNX_NODE_DATA");
    if (!root) root = "/usr/share/libonnx-testdata/data/node";
    snprintf(g_add, sizeof g_add, "%s/test_add/model.onnx", root);
    snprintf(g_add_dir, sizeof g_add_dir, "%s/test_add/test_data_set_0", root);
    snprintf(g_cast, sizeof g_cast, "%s/test_cast_FLOAT_to_STRING/model.onnx", root);
}

static mdk_model *open_add(void)
{
    mdk_model *m = NULL;
    assert_int_equal(mdk_model_open(g_add, NULL, &m), MDK_OK);
    return m;
}

static mdk_tensor *load(const char *name)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/%s", g_add_dir, name);
    mdk_tensor *t;
    assert_int_equal(mdk_tensor_read(path, MDK_DTYPE_UNDEFINED, &t), MDK_OK);
    return t;
}

static void test_signature(void **state)
{
    (void)state;
    mdk_model *m = open_add();
    assert_int_equal(mdk_model_input_count(m), 2);
    assert_int_equal(mdk_model_output_count(m), 1);
    const mdk_value_info *x = mdk_model_input(m, 0);
    assert_string_equal(x->name, "x");
    assert_int_equal(x->dtype, MDK_DTYPE_FLOAT32);
    assert_int_equal(x->ndim, 3);
    assert_int_equal(x->dims[2].value, 5);
    assert_string_equal(mdk_model_output(m, 0)->name, "sum");
    assert_int_equal(mdk_model_input_index(m, "y"), 1);
    assert_int_equal(mdk_model_output_index(m, "nope"), -1);
    assert_null(mdk_model_input(m, 2));
    mdk_model_close(m);
    mdk_model_close(NULL);
}

static void test_run_matches_onnx_expected(void **state)
{
    (void)state;
    mdk_model *m = open_add();
    mdk_tensor *in[2] = {load("input_0.pb"), load("input_1.pb")};
    mdk_tensor *expected = load("output_0.pb");
    mdk_tensor **out;
    size_t n;
    assert_int_equal(mdk_model_run(m, in, 2, &out, &n), MDK_OK);
    assert_int_equal(n, 1);
    assert_string_equal(mdk_tensor_name(out[0]), "sum");
    mdk_compare c;
    assert_int_equal(mdk_tensor_compare(out[0], expected, 1e-6, 0, &c), MDK_OK);
    assert_true(c.pass);
    mdk_tensors_free(out, n);
    /* unnamed tensors take their position */
    assert_int_equal(mdk_tensor_set_name(in[0], NULL), MDK_OK);
    assert_int_equal(mdk_tensor_set_name(in[1], ""), MDK_OK);
    assert_int_equal(mdk_model_run(m, in, 2, &out, &n), MDK_OK);
    mdk_tensors_free(out, n);
    mdk_tensor_free(in[0]);
    mdk_tensor_free(in[1]);
    mdk_tensor_free(expected);
    mdk_model_close(m);
}

static void expect_run_error(mdk_model *m, mdk_tensor **in, size_t n_in, mdk_status st, const char *needle)
{
    mdk_tensor **out = NULL;
    size_t n = 0;
    assert_int_equal(mdk_model_run(m, in, n_in, &out, &n), st);
    assert_null(out);
    if (!strstr(mdk_errmsg(), needle)) fail_msg("message '%s' lacks '%s'", mdk_errmsg(), needle);
}

static void test_input_checks(void **state)
{
    (void)state;
    mdk_model *m = open_add();
    int64_t good[] = {3, 4, 5}, wrong_dim[] = {3, 4, 6}, rank2[] = {12, 5};
    mdk_tensor *x, *y, *bad;
    assert_int_equal(mdk_tensor_new(MDK_DTYPE_FLOAT32, 3, good, &x), MDK_OK);
    assert_int_equal(mdk_tensor_new(MDK_DTYPE_FLOAT32, 3, good, &y), MDK_OK);
    assert_int_equal(mdk_tensor_set_name(x, "x"), MDK_OK);
    assert_int_equal(mdk_tensor_set_name(y, "y"), MDK_OK);
    mdk_tensor *only_x[] = {x};
    expect_run_error(m, only_x, 1, MDK_ERR_NOT_FOUND, "input 'y' is missing");
    mdk_tensor *twice[] = {x, x};
    expect_run_error(m, twice, 2, MDK_ERR_INVALID_ARGUMENT, "input 'x' is given twice");

    assert_int_equal(mdk_tensor_new(MDK_DTYPE_FLOAT64, 3, good, &bad), MDK_OK);
    assert_int_equal(mdk_tensor_set_name(bad, "y"), MDK_OK);
    mdk_tensor *dt[] = {x, bad};
    expect_run_error(m, dt, 2, MDK_ERR_MISMATCH, "input 'y': expected dtype float32, got float64");
    mdk_tensor_free(bad);

    assert_int_equal(mdk_tensor_new(MDK_DTYPE_FLOAT32, 3, wrong_dim, &bad), MDK_OK);
    assert_int_equal(mdk_tensor_set_name(bad, "y"), MDK_OK);
    mdk_tensor *dim[] = {x, bad};
    expect_run_error(m, dim, 2, MDK_ERR_MISMATCH, "input 'y': dim 2 must be 5 (shape [3, 4, 5]), got 6 (shape [3, 4, 6])");
    mdk_tensor_free(bad);

    assert_int_equal(mdk_tensor_new(MDK_DTYPE_FLOAT32, 2, rank2, &bad), MDK_OK);
    assert_int_equal(mdk_tensor_set_name(bad, "x"), MDK_OK);
    mdk_tensor *rank[] = {bad, y};
    expect_run_error(m, rank, 2, MDK_ERR_MISMATCH, "input 'x': expected rank 3 [3, 4, 5], got rank 2 [12, 5]");
    assert_int_equal(mdk_tensor_set_name(bad, "z"), MDK_OK);
    expect_run_error(m, rank, 2, MDK_ERR_NOT_FOUND, "unknown input 'z'; the model's inputs are: x, y");
    mdk_tensor_free(bad);
    mdk_tensor_free(x);
    mdk_tensor_free(y);
    mdk_model_close(m);
}

static void test_not_models(void **state)
{
    (void)state;
    mdk_model *m = NULL;
    assert_int_equal(mdk_model_open("/nonexistent/model.onnx", NULL, &m), MDK_ERR_NOT_FOUND);
    assert_non_null(strstr(mdk_errmsg(), "/nonexistent/model.onnx"));
    char path[512];
    const char *tmp = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/mdk-test-model-XXXXXX", tmp && *tmp ? tmp : P_tmpdir);
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(mdk_model_open(path, NULL, &m), MDK_ERR_FORMAT);
    assert_non_null(strstr(mdk_errmsg(), "empty file"));
    assert_int_equal(write(fd, "this is not a model at all", 26), 26);
    assert_int_equal(mdk_model_open(path, NULL, &m), MDK_ERR_FORMAT);
    assert_non_null(strstr(mdk_errmsg(), path));
    mdk_graph_info *g = NULL;
    assert_int_equal(mdk_graph_info_read(path, &g), MDK_ERR_FORMAT);
    assert_null(g);
    close(fd);
    unlink(path);
    assert_null(m);
    assert_int_equal(mdk_model_open_memory("x", 0, "buffer", NULL, &m), MDK_ERR_FORMAT);
}

static void test_graph_info(void **state)
{
    (void)state;
    mdk_graph_info *g;
    assert_int_equal(mdk_graph_info_read(g_add, &g), MDK_OK);
    assert_int_equal(g->n_inputs, 2);
    assert_int_equal(g->n_outputs, 1);
    assert_string_equal(g->outputs[0].name, "sum");
    assert_int_equal(g->n_op_types, 1);
    assert_string_equal(g->ops[0].op_type, "Add");
    assert_int_equal(g->n_nodes, 1);
    assert_true(g->n_opsets >= 1);
    mdk_graph_info_free(g);
}

static void test_string_output(void **state)
{
    (void)state;
    mdk_model *m;
    assert_int_equal(mdk_model_open(g_cast, NULL, &m), MDK_OK);
    int64_t shape[] = {3, 4};
    mdk_tensor *x;
    assert_int_equal(mdk_tensor_new(MDK_DTYPE_FLOAT32, 2, shape, &x), MDK_OK);
    ((float *)mdk_tensor_mutable_data(x))[0] = 1.5f;
    mdk_tensor **out;
    size_t n;
    assert_int_equal(mdk_model_run(m, &x, 1, &out, &n), MDK_OK);
    assert_int_equal(mdk_tensor_dtype(out[0]), MDK_DTYPE_STRING);
    assert_string_equal(mdk_tensor_string(out[0], 0), "1.5");
    mdk_tensors_free(out, n);
    mdk_tensor_free(x);
    mdk_model_close(m);
}

typedef struct worker {
    mdk_model *m;
    mdk_tensor *in[2];
    const mdk_tensor *expected;
    int failures;
} worker;

static void *run_many(void *arg)
{
    worker *w = arg;
    for (int i = 0; i < 200; i++) {
        mdk_tensor **out;
        size_t n;
        mdk_compare c;
        if (mdk_model_run(w->m, w->in, 2, &out, &n) != MDK_OK) {
            w->failures++;
            continue;
        }
        if (mdk_tensor_compare(out[0], w->expected, 0, 0, &c) != MDK_OK || !c.pass) w->failures++;
        mdk_tensors_free(out, n);
    }
    return NULL;
}

/* One model, several threads, each with its own inputs: every result must be exactly its own. */
static void test_concurrent_runs(void **state)
{
    (void)state;
    mdk_model *m = open_add();
    enum { N = 4 };
    worker w[N];
    pthread_t th[N];
    int64_t shape[] = {3, 4, 5};
    for (int k = 0; k < N; k++) {
        w[k].m = m;
        w[k].failures = 0;
        mdk_tensor *sum;
        assert_int_equal(mdk_tensor_new(MDK_DTYPE_FLOAT32, 3, shape, &sum), MDK_OK);
        for (int j = 0; j < 2; j++) {
            assert_int_equal(mdk_tensor_new(MDK_DTYPE_FLOAT32, 3, shape, &w[k].in[j]), MDK_OK);
            mdk_tensor_fill_random(w[k].in[j], (uint64_t)(k * 2 + j));
        }
        for (size_t i = 0; i < 60; i++)
            ((float *)mdk_tensor_mutable_data(sum))[i] =
                ((const float *)mdk_tensor_data(w[k].in[0]))[i] + ((const float *)mdk_tensor_data(w[k].in[1]))[i];
        w[k].expected = sum;
        assert_int_equal(pthread_create(&th[k], NULL, run_many, &w[k]), 0);
    }
    for (int k = 0; k < N; k++) {
        pthread_join(th[k], NULL);
        assert_int_equal(w[k].failures, 0);
        mdk_tensor_free(w[k].in[0]);
        mdk_tensor_free(w[k].in[1]);
        mdk_tensor_free((mdk_tensor *)w[k].expected);
    }
    mdk_model_close(m);
}

static void test_versions(void **state)
{
    (void)state;
    assert_string_equal(mdk_version(), MDK_VERSION_STRING);
    assert_true(strlen(mdk_ort_version()) >= 5);
    assert_string_equal(mdk_status_str(MDK_ERR_MISMATCH), "mismatch");
}

int main(void)
{
    setup_paths();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signature),   cmocka_unit_test(test_run_matches_onnx_expected),
        cmocka_unit_test(test_input_checks), cmocka_unit_test(test_not_models),
        cmocka_unit_test(test_graph_info),  cmocka_unit_test(test_string_output),
        cmocka_unit_test(test_concurrent_runs), cmocka_unit_test(test_versions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
