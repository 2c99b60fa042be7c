/* test_tensor.c: unit tests of the tensor type: creation and caps, element access, half-precision
 * conversion, comparison semantics, and behaviour when allocations fail. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "tensor/tensor_int.h"

static void test_new_and_access(void **state)
{
    (void)state;
    int64_t shape[] = {2, 3};
    mdk_tensor *t;
    assert_int_equal(mdk_tensor_new(MDK_DTYPE_FLOAT32, 2, shape, &t), MDK_OK);
    assert_int_equal(mdk_tensor_count(t), 6);
    assert_int_equal(mdk_tensor_nbytes(t), 24);
    assert_int_equal(mdk_tensor_ndim(t), 2);
    assert_int_equal(mdk_tensor_shape(t)[1], 3);
    ((float *)mdk_tensor_mutable_data(t))[4] = 2.5f;
    assert_true(mdk_tensor_get_f64(t, 4) == 2.5);
    assert_true(isnan(mdk_tensor_get_f64(t, 6)));
    assert_string_equal(mdk_tensor_name(t), "");
    assert_int_equal(mdk_tensor_set_name(t, "x"), MDK_OK);
    mdk_tensor *c;
    assert_int_equal(mdk_tensor_clone(t, &c), MDK_OK);
    assert_string_equal(mdk_tensor_name(c), "x");
    assert_true(mdk_tensor_get_f64(c, 4) == 2.5);
    int64_t flat[] = {6};
    assert_int_equal(mdk_tensor_reshape(c, 1, flat), MDK_OK);
    int64_t bad[] = {7};
    assert_int_equal(mdk_tensor_reshape(c, 1, bad), MDK_ERR_MISMATCH);
    assert_non_null(strstr(mdk_errmsg(), "element counts differ"));
    mdk_tensor_free(c);
    mdk_tensor_free(t);
    mdk_tensor_free(NULL);
}

static void test_scalar_and_empty(void **state)
{
    (void)state;
    mdk_tensor *t;
    assert_int_equal(mdk_tensor_new(MDK_DTYPE_INT64, 0, NULL, &t), MDK_OK);
    assert_int_equal(mdk_tensor_count(t), 1);
    mdk_tensor_free(t);
    int64_t zero[] = {0, 5};
    assert_int_equal(mdk_tensor_new(MDK_DTYPE_FLOAT32, 2, zero, &t), MDK_OK);
    assert_int_equal(mdk_tensor_count(t), 0);
    assert_int_equal(mdk_tensor_nbytes(t), 0);
    mdk_tensor_free(t);
}

static void test_caps(void **state)
{
    (void)state;
    mdk_tensor *t = NULL;
    int64_t huge[] = {1 << 20, 1 << 20, 1 << 10};
    assert_int_equal(mdk_tensor_new(MDK_DTYPE_FLOAT32, 3, huge, &t), MDK_ERR_TOO_LARGE);
    assert_null(t);
    int64_t overflow[] = {INT64_MAX, INT64_MAX};
    assert_int_equal(mdk_tensor_new(MDK_DTYPE_UINT8, 2, overflow, &t), MDK_ERR_TOO_LARGE);
    int64_t neg[] = {-1};
    assert_int_equal(mdk_tensor_new(MDK_DTYPE_UINT8, 1, neg, &t), MDK_ERR_FORMAT);
    int64_t many[MDK_MAX_DIMS + 1] = {0};
    assert_int_equal(mdk_tensor_new(MDK_DTYPE_UINT8, MDK_MAX_DIMS + 1, many, &t), MDK_ERR_TOO_LARGE);
    assert_int_equal(mdk_tensor_new(MDK_DTYPE_COMPLEX64, 0, NULL, &t), MDK_ERR_UNSUPPORTED);
    assert_non_null(strstr(mdk_errmsg(), "complex64"));
}

static void test_dtype_names(void **state)
{
    (void)state;
    assert_int_equal(mdk_dtype_from_name("float32"), MDK_DTYPE_FLOAT32);
    assert_int_equal(mdk_dtype_from_name("FP32"), MDK_DTYPE_FLOAT32);
    assert_int_equal(mdk_dtype_from_name("float"), MDK_DTYPE_FLOAT32);
    assert_int_equal(mdk_dtype_from_name("INT64"), MDK_DTYPE_INT64);
    assert_int_equal(mdk_dtype_from_name("BYTES"), MDK_DTYPE_STRING);
    assert_int_equal(mdk_dtype_from_name("bfloat16"), MDK_DTYPE_BFLOAT16);
    assert_int_equal(mdk_dtype_from_name("nope"), MDK_DTYPE_UNDEFINED);
    assert_string_equal(mdk_dtype_name(MDK_DTYPE_FLOAT16), "float16");
    assert_int_equal(mdk_dtype_size(MDK_DTYPE_FLOAT64), 8);
    assert_int_equal(mdk_dtype_size(MDK_DTYPE_STRING), 0);
}

static void test_half_precision(void **state)
{
    (void)state;
    /* Reference bit patterns of IEEE binary16. */
    struct { float f; uint16_t h; } cases[] = {
        {0.0f, 0x0000}, {-0.0f, 0x8000}, {1.0f, 0x3c00}, {-2.0f, 0xc000}, {65504.0f, 0x7bff},
        {0.333251953125f, 0x3555}, {5.960464477539063e-08f, 0x0001}, {6.103515625e-05f, 0x0400},
        {INFINITY, 0x7c00}, {-INFINITY, 0xfc00}, {1e6f, 0x7c00},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(mdki_f32_to_f16(cases[i].f), cases[i].h);
        if (cases[i].f != 1e6f) assert_true(mdki_f16_to_f32(cases[i].h) == cases[i].f);
    }
    assert_true(isnan(mdki_f16_to_f32(mdki_f32_to_f16(NAN))));
    /* round to nearest even: 1 + 2^-11 is halfway between 1 and the next half */
    assert_int_equal(mdki_f32_to_f16(1.0f + 1.0f / 2048), 0x3c00);
    assert_int_equal(mdki_f32_to_f16(1.0f + 3.0f / 2048), 0x3c02);
    /* every finite half survives a round trip */
    for (uint32_t h = 0; h < 0x10000; h++) {
        if ((h & 0x7c00) == 0x7c00) continue;
        assert_int_equal(mdki_f32_to_f16(mdki_f16_to_f32((uint16_t)h)), h);
    }
    assert_int_equal(mdki_f32_to_bf16(1.0f), 0x3f80);
    assert_true(mdki_bf16_to_f32(0x4049) == 3.140625f);
    assert_int_equal(mdki_f32_to_bf16(1.00390625f), 0x3f80); /* halfway, rounds to even */
}

static mdk_tensor *vec(mdk_dtype dt, const double *v, size_t n)
{
    int64_t shape[] = {(int64_t)n};
    mdk_tensor *t;
    assert_int_equal(mdk_tensor_new(dt, 1, shape, &t), MDK_OK);
    for (size_t i = 0; i < n; i++) mdki_tensor_set_f64(t, i, v[i]);
    return t;
}

static void test_compare(void **state)
{
    (void)state;
    double a[] = {1.0, 2.0, NAN, INFINITY, 100.0};
    double b[] = {1.0, 2.001, NAN, INFINITY, 100.05};
    mdk_tensor *x = vec(MDK_DTYPE_FLOAT64, a, 5), *y = vec(MDK_DTYPE_FLOAT64, b, 5);
    mdk_compare c;
    assert_int_equal(mdk_tensor_compare(x, y, 1e-3, 0, &c), MDK_OK);
    assert_true(c.pass);
    assert_int_equal(mdk_tensor_compare(x, y, 1e-4, 0, &c), MDK_OK);
    assert_false(c.pass);
    assert_int_equal(c.mismatches, 2);
    assert_int_equal(c.worst_index, 4); /* 0.05 over a tolerance of 0.01 beats 0.001 over 0.0002 */
    assert_true(fabs(c.max_abs_err - 0.05) < 1e-9);
    assert_true(fabs(c.max_rel_err - 0.001 / 2.001) < 1e-9);
    assert_true(c.worst_actual == 100.0 && c.worst_expected == 100.05);
    double d[] = {1.0, 2.0, 0.0, INFINITY, 100.0};
    mdk_tensor *z = vec(MDK_DTYPE_FLOAT64, d, 5);
    assert_int_equal(mdk_tensor_compare(x, z, 1, 1, &c), MDK_OK);
    assert_false(c.pass); /* NaN against a number never matches */
    assert_int_equal(c.worst_index, 2);
    mdk_tensor *f = vec(MDK_DTYPE_FLOAT32, a, 5);
    assert_int_equal(mdk_tensor_compare(x, f, 1, 1, &c), MDK_OK);
    assert_false(c.pass);
    assert_false(c.dtype_match);
    mdk_tensor *short_vec = vec(MDK_DTYPE_FLOAT64, a, 4);
    assert_int_equal(mdk_tensor_compare(x, short_vec, 1, 1, &c), MDK_OK);
    assert_false(c.shape_match);
    assert_int_equal(mdk_tensor_compare(x, y, -1, 0, &c), MDK_ERR_INVALID_ARGUMENT);
    mdk_tensor_free(x);
    mdk_tensor_free(y);
    mdk_tensor_free(z);
    mdk_tensor_free(f);
    mdk_tensor_free(short_vec);
}

static void test_strings(void **state)
{
    (void)state;
    int64_t shape[] = {3};
    mdk_tensor *t, *u;
    assert_int_equal(mdk_tensor_new(MDK_DTYPE_STRING, 1, shape, &t), MDK_OK);
    assert_string_equal(mdk_tensor_string(t, 2), "");
    assert_int_equal(mdk_tensor_set_string(t, 1, "héllo", strlen("héllo")), MDK_OK);
    assert_int_equal(mdk_tensor_clone(t, &u), MDK_OK);
    assert_string_equal(mdk_tensor_string(u, 1), "héllo");
    mdk_compare c;
    assert_int_equal(mdk_tensor_compare(t, u, 0, 0, &c), MDK_OK);
    assert_true(c.pass);
    assert_int_equal(mdk_tensor_set_string(u, 0, "x", 1), MDK_OK);
    assert_int_equal(mdk_tensor_compare(t, u, 0, 0, &c), MDK_OK);
    assert_false(c.pass);
    assert_null(mdk_tensor_string(t, 3));
    assert_int_equal(mdk_tensor_set_string(t, 3, "x", 1), MDK_ERR_INVALID_ARGUMENT);
    mdk_tensor_free(t);
    mdk_tensor_free(u);
}

static void test_conversions(void **state)
{
    (void)state;
    double v[] = {-3.7, 300.0, 1e30, NAN};
    mdk_tensor *t = vec(MDK_DTYPE_UINT8, v, 4);
    const uint8_t *d = mdk_tensor_data(t);
    assert_int_equal(d[0], 0);   /* saturates */
    assert_int_equal(d[1], 255);
    assert_int_equal(d[2], 255);
    assert_int_equal(d[3], 0);   /* NaN becomes 0 */
    mdk_tensor_free(t);
    t = vec(MDK_DTYPE_INT64, v, 4);
    assert_true(((const int64_t *)mdk_tensor_data(t))[0] == -3);
    assert_true(((const int64_t *)mdk_tensor_data(t))[2] == INT64_MAX);
    assert_int_equal(mdk_tensor_reinterpret(t, MDK_DTYPE_FLOAT64), MDK_OK);
    assert_int_equal(mdk_tensor_reinterpret(t, MDK_DTYPE_FLOAT32), MDK_ERR_MISMATCH);
    mdk_tensor_free(t);
}

static void test_random_is_reproducible(void **state)
{
    (void)state;
    int64_t shape[] = {64};
    mdk_tensor *a, *b;
    assert_int_equal(mdk_tensor_new(MDK_DTYPE_FLOAT32, 1, shape, &a), MDK_OK);
    assert_int_equal(mdk_tensor_new(MDK_DTYPE_FLOAT32, 1, shape, &b), MDK_OK);
    mdk_tensor_fill_random(a, 7);
    mdk_tensor_fill_random(b, 7);
    assert_memory_equal(mdk_tensor_data(a), mdk_tensor_data(b), mdk_tensor_nbytes(a));
    for (size_t i = 0; i < 64; i++) assert_true(mdk_tensor_get_f64(a, i) >= 0 && mdk_tensor_get_f64(a, i) < 1);
    mdk_tensor_fill_random(b, 8);
    assert_memory_not_equal(mdk_tensor_data(a), mdk_tensor_data(b), mdk_tensor_nbytes(a));
    mdk_tensor_free(a);
    mdk_tensor_free(b);
}

/* Fails each allocation in turn: every failure must surface as MDK_ERR_NO_MEMORY with nothing leaked
 * (LeakSanitizer checks the latter in the sanitizer build). */
static void test_allocation_failures(void **state)
{
    (void)state;
    int64_t shape[] = {4};
    for (long n = 0;; n++) {
        mdki_alloc_fail_after(n);
        mdk_tensor *t = NULL, *c = NULL;
        mdk_status st = mdk_tensor_new(MDK_DTYPE_STRING, 1, shape, &t);
        if (st == MDK_OK) st = mdk_tensor_set_string(t, 1, "abc", 3);
        if (st == MDK_OK) st = mdk_tensor_set_name(t, "n");
        if (st == MDK_OK) st = mdk_tensor_clone(t, &c);
        mdki_alloc_fail_after(-1);
        mdk_tensor_free(t);
        mdk_tensor_free(c);
        if (st == MDK_OK) break;
        assert_int_equal(st, MDK_ERR_NO_MEMORY);
        assert_non_null(strstr(mdk_errmsg(), "out of memory"));
        assert_true(n < 100);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_and_access), cmocka_unit_test(test_scalar_and_empty),
        cmocka_unit_test(test_caps),           cmocka_unit_test(test_dtype_names),
        cmocka_unit_test(test_half_precision), cmocka_unit_test(test_compare),
        cmocka_unit_test(test_strings),        cmocka_unit_test(test_conversions),
        cmocka_unit_test(test_random_is_reproducible), cmocka_unit_test(test_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
