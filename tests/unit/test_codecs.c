/* test_codecs.c: unit tests of the tensor file codecs (.npy, .npz, .pb, JSON): round trips of every
 * dtype, refusal of malformed input with a message, and allocation failures while decoding. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "tensor/tensor_int.h"

static const mdk_dtype all_dtypes[] = {
    MDK_DTYPE_FLOAT32, MDK_DTYPE_UINT8, MDK_DTYPE_INT8, MDK_DTYPE_UINT16, MDK_DTYPE_INT16, MDK_DTYPE_INT32,
    MDK_DTYPE_INT64, MDK_DTYPE_STRING, MDK_DTYPE_BOOL, MDK_DTYPE_FLOAT16, MDK_DTYPE_FLOAT64, MDK_DTYPE_UINT32,
    MDK_DTYPE_UINT64, MDK_DTYPE_BFLOAT16,
};

static mdk_tensor *sample(mdk_dtype dt)
{
    int64_t shape[] = {2, 3};
    mdk_tensor *t;
    assert_int_equal(mdk_tensor_new(dt, 2, shape, &t), MDK_OK);
    mdk_tensor_fill_random(t, (uint64_t)dt);
    assert_int_equal(mdk_tensor_set_name(t, "sample"), MDK_OK);
    return t;
}

static void assert_same(const mdk_tensor *a, const mdk_tensor *b)
{
    mdk_compare c;
    assert_int_equal(mdk_tensor_compare(a, b, 0, 0, &c), MDK_OK);
    assert_true(c.dtype_match);
    assert_true(c.shape_match);
    assert_true(c.pass);
}

static void round_trip(mdk_format f, int check_name)
{
    for (size_t i = 0; i < sizeof all_dtypes / sizeof all_dtypes[0]; i++) {
        mdk_tensor *t = sample(all_dtypes[i]), *u = NULL;
        void *buf;
        size_t len;
        assert_int_equal(mdk_tensor_write_memory(t, f, &buf, &len), MDK_OK);
        assert_int_equal(mdk_tensor_read_memory(buf, len, f, MDK_DTYPE_UNDEFINED, "buf", &u), MDK_OK);
        assert_same(u, t);
        if (check_name) assert_string_equal(mdk_tensor_name(u), "sample");
        free(buf);
        mdk_tensor_free(t);
        mdk_tensor_free(u);
    }
}

static void test_npy_round_trip(void **state) { (void)state; round_trip(MDK_FORMAT_NPY, 0); }
static void test_pb_round_trip(void **state) { (void)state; round_trip(MDK_FORMAT_PB, 1); }
static void test_json_round_trip(void **state) { (void)state; round_trip(MDK_FORMAT_JSON, 1); }

static mdk_status read_str(const char *s, mdk_format f, mdk_dtype expect, mdk_tensor **out)
{
    return mdk_tensor_read_memory(s, strlen(s), f, expect, "input", out);
}

static void expect_fail(const char *data, size_t len, mdk_format f, mdk_status st, const char *needle)
{
    mdk_tensor *t = NULL;
    assert_int_equal(mdk_tensor_read_memory(data, len, f, MDK_DTYPE_UNDEFINED, "input", &t), st);
    assert_null(t);
    if (!strstr(mdk_errmsg(), needle)) fail_msg("message '%s' lacks '%s'", mdk_errmsg(), needle);
}

static void npy_with_header(char *buf, size_t *len, const char *header, size_t data_bytes)
{
    size_t h = strlen(header);
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (char)(h & 0xff);
    buf[9] = (char)(h >> 8);
    memcpy(buf + 10, header, h);
    memset(buf + 10 + h, 0, data_bytes);
    *len = 10 + h + data_bytes;
}

static void test_npy_malformed(void **state)
{
    (void)state;
    char buf[4096];
    size_t len;
    expect_fail("", 0, MDK_FORMAT_NPY, MDK_ERR_FORMAT, "not a .npy file");
    expect_fail("PK\x03\x04zzzzzzzz", 12, MDK_FORMAT_NPY, MDK_ERR_FORMAT, "magic");
    npy_with_header(buf, &len, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }\n", 15);
    expect_fail(buf, len, MDK_FORMAT_NPY, MDK_ERR_FORMAT, "expected 16");
    npy_with_header(buf, &len, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }\n", 17);
    expect_fail(buf, len, MDK_FORMAT_NPY, MDK_ERR_FORMAT, "expected 16");
    npy_with_header(buf, &len, "{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }\n", 8);
    expect_fail(buf, len, MDK_FORMAT_NPY, MDK_ERR_UNSUPPORTED, "'<c8'");
    npy_with_header(buf, &len, "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }\n", 8);
    expect_fail(buf, len, MDK_FORMAT_NPY, MDK_ERR_UNSUPPORTED, "pickle");
    npy_with_header(buf, &len, "{'descr': '<f4', 'shape': (1,), }\n", 4);
    expect_fail(buf, len, MDK_FORMAT_NPY, MDK_ERR_FORMAT, "malformed .npy header");
    npy_with_header(buf, &len, "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999, 99999999999), }\n", 0);
    expect_fail(buf, len, MDK_FORMAT_NPY, MDK_ERR_TOO_LARGE, "limit");
    npy_with_header(buf, &len, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,", 0);
    expect_fail(buf, len, MDK_FORMAT_NPY, MDK_ERR_FORMAT, "malformed");
    memcpy(buf, "\x93NUMPY\x01\x00\xff\xff", 10);
    expect_fail(buf, 10, MDK_FORMAT_NPY, MDK_ERR_FORMAT, "truncated");
    memcpy(buf, "\x93NUMPY\x09\x00\x00\x00", 10);
    expect_fail(buf, 10, MDK_FORMAT_NPY, MDK_ERR_UNSUPPORTED, "version 9");
}

static void test_npy_fortran_and_big_endian(void **state)
{
    (void)state;
    char buf[4096];
    size_t len;
    /* [[1, 2, 3], [4, 5, 6]] stored column-major as big-endian int16 */
    npy_with_header(buf, &len, "{'descr': '>i2', 'fortran_order': True, 'shape': (2, 3), }\n", 12);
    const int16_t col_major[] = {1, 4, 2, 5, 3, 6};
    for (int i = 0; i < 6; i++) {
        buf[len - 12 + 2 * i] = (char)(col_major[i] >> 8);
        buf[len - 12 + 2 * i + 1] = (char)(col_major[i] & 0xff);
    }
    mdk_tensor *t;
    assert_int_equal(mdk_tensor_read_memory(buf, len, MDK_FORMAT_NPY, MDK_DTYPE_UNDEFINED, "x", &t), MDK_OK);
    for (int i = 0; i < 6; i++) assert_true(mdk_tensor_get_f64(t, (size_t)i) == i + 1);
    mdk_tensor_free(t);
}

static void test_json_forms(void **state)
{
    (void)state;
    mdk_tensor *t;
    assert_int_equal(read_str("[[1, 2, 3], [4, 5, 6]]", MDK_FORMAT_JSON, MDK_DTYPE_INT64, &t), MDK_OK);
    assert_int_equal(mdk_tensor_dtype(t), MDK_DTYPE_INT64);
    assert_int_equal(mdk_tensor_shape(t)[0], 2);
    assert_true(mdk_tensor_get_f64(t, 5) == 6);
    mdk_tensor_free(t);
    assert_int_equal(read_str("{\"datatype\": \"FP16\", \"shape\": [2, 2], \"data\": [1, 2, \"NaN\", \"-Infinity\"]}",
                              MDK_FORMAT_JSON, MDK_DTYPE_UNDEFINED, &t), MDK_OK);
    assert_int_equal(mdk_tensor_dtype(t), MDK_DTYPE_FLOAT16);
    assert_true(isnan(mdk_tensor_get_f64(t, 2)));
    assert_true(mdk_tensor_get_f64(t, 3) == -INFINITY);
    mdk_tensor_free(t);
    assert_int_equal(read_str("{\"dtype\": \"bool\", \"shape\": [2, 1], \"data\": [[true], [false]]}", MDK_FORMAT_JSON,
                              MDK_DTYPE_UNDEFINED, &t), MDK_OK);
    assert_int_equal(mdk_tensor_dtype(t), MDK_DTYPE_BOOL);
    mdk_tensor_free(t);
    assert_int_equal(read_str("3.5", MDK_FORMAT_JSON, MDK_DTYPE_UNDEFINED, &t), MDK_OK);
    assert_int_equal(mdk_tensor_ndim(t), 0);
    mdk_tensor_free(t);
    assert_int_equal(read_str("[\"a\", \"b\"]", MDK_FORMAT_JSON, MDK_DTYPE_UNDEFINED, &t), MDK_OK);
    assert_string_equal(mdk_tensor_string(t, 1), "b");
    mdk_tensor_free(t);

    const char *bad[][2] = {
        {"[[1, 2], [3]]", "ragged"},
        {"[1, 2", "malformed JSON"},
        {"{\"shape\": [2]}", "\"data\""},
        {"{\"datatype\": \"FP99\", \"data\": [1]}", "unknown datatype"},
        {"{\"shape\": [3], \"data\": [1, 2]}", "2 values for shape [3], expected 3"},
        {"{\"shape\": [100000000, 4], \"data\": []}", "0 values for shape [100000000, 4]"},
        {"{\"shape\": [-1], \"data\": []}", "not a size"},
        {"[1, \"x\"]", "expected a number"},
        {"[1, {}]", "not a number"},
        {"null", "expected a tensor object"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        t = NULL;
        assert_int_not_equal(read_str(bad[i][0], MDK_FORMAT_JSON, MDK_DTYPE_UNDEFINED, &t), MDK_OK);
        assert_null(t);
        if (!strstr(mdk_errmsg(), bad[i][1])) fail_msg("'%s': message '%s' lacks '%s'", bad[i][0], mdk_errmsg(), bad[i][1]);
    }
}

static void test_pb_malformed(void **state)
{
    (void)state;
    expect_fail("\xff\xff\xff", 3, MDK_FORMAT_PB, MDK_ERR_FORMAT, "TensorProto");
    /* dims [2], data_type FLOAT, two floats too few: field 1 (dims) = 2, field 2 (data_type) = 1 */
    expect_fail("\x08\x02\x10\x01", 4, MDK_FORMAT_PB, MDK_ERR_FORMAT, "holds 0 float32 values, its shape [2] needs 2");
    expect_fail("\x08\x02", 2, MDK_FORMAT_PB, MDK_ERR_FORMAT, "no data_type");
    /* raw_data (field 9) of 3 bytes for one float */
    expect_fail("\x08\x01\x10\x01\x4a\x03\x00\x00\x00", 9, MDK_FORMAT_PB, MDK_ERR_FORMAT, "a fraction of");
    /* a 2 GiB declared shape with no data is refused before anything is allocated: dims [2^27, 4] */
    expect_fail("\x08\x80\x80\x80\x40\x08\x04\x10\x01", 9, MDK_FORMAT_PB, MDK_ERR_FORMAT, "needs 536870912");
}

static void test_npz_files(void **state)
{
    (void)state;
    char dir[512];
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/mdk-test-npz-XXXXXX", tmp && *tmp ? tmp : P_tmpdir);
    assert_non_null(mkdtemp(dir));
    char path[600];
    snprintf(path, sizeof path, "%s/a.npz", dir);
    mdk_tensor *ts[3];
    for (int i = 0; i < 3; i++) {
        ts[i] = sample(i == 0 ? MDK_DTYPE_FLOAT32 : i == 1 ? MDK_DTYPE_STRING : MDK_DTYPE_INT64);
        char name[16];
        snprintf(name, sizeof name, "case%d/t", i);
        assert_int_equal(mdk_tensor_set_name(ts[i], name), MDK_OK);
    }
    for (int compress = 0; compress < 2; compress++) {
        assert_int_equal(mdk_npz_write(path, ts, 3, compress), MDK_OK);
        mdk_tensor **back;
        size_t n;
        assert_int_equal(mdk_npz_read(path, &back, &n), MDK_OK);
        assert_int_equal(n, 3);
        for (int i = 0; i < 3; i++) {
            assert_same(back[i], ts[i]);
            assert_string_equal(mdk_tensor_name(back[i]), mdk_tensor_name(ts[i]));
        }
        mdk_tensors_free(back, n);
    }
    assert_int_equal(mdk_tensor_set_name(ts[2], "case0/t"), MDK_OK);
    assert_int_equal(mdk_npz_write(path, ts, 3, 0), MDK_ERR_INVALID_ARGUMENT);
    for (int i = 0; i < 3; i++) mdk_tensor_free(ts[i]);
    /* truncation of a valid archive is reported, not crashed on */
    FILE *f = fopen(path, "r+");
    assert_non_null(f);
    assert_int_equal(ftruncate(fileno(f), 100), 0);
    fclose(f);
    mdk_tensor **back = NULL;
    size_t n;
    assert_int_not_equal(mdk_npz_read(path, &back, &n), MDK_OK);
    assert_null(back);
    unlink(path);
    assert_int_equal(mdk_npz_read(path, &back, &n), MDK_ERR_NOT_FOUND);
    assert_non_null(strstr(mdk_errmsg(), "a.npz"));
    rmdir(dir);
}

static void test_sequences_and_optionals(void **state)
{
    (void)state;
    mdk_tensor *items[2] = {sample(MDK_DTYPE_FLOAT32), sample(MDK_DTYPE_FLOAT32)};
    mdk_tensor *seq, *opt, *none, *back;
    assert_int_equal(mdk_sequence_new(MDK_DTYPE_FLOAT32, items, 2, &seq), MDK_OK);
    assert_int_equal(mdk_tensor_kind(seq), MDK_VALUE_SEQUENCE);
    assert_int_equal(mdk_sequence_length(seq), 2);
    assert_int_equal(mdk_tensor_set_name(seq, "s"), MDK_OK);
    void *buf;
    size_t len;
    assert_int_equal(mdk_tensor_write_memory(seq, MDK_FORMAT_PB, &buf, &len), MDK_OK);
    assert_int_equal(mdki_pb_decode_value(buf, len, MDK_VALUE_SEQUENCE, "seq", &back), MDK_OK);
    assert_same(back, seq);
    assert_string_equal(mdk_tensor_name(back), "s");
    free(buf);
    /* a sequence cannot go to .npy or JSON */
    assert_int_equal(mdk_tensor_write_memory(seq, MDK_FORMAT_NPY, &buf, &len), MDK_ERR_UNSUPPORTED);
    /* one changed element is found, at its index counted across items */
    ((float *)mdk_tensor_mutable_data(mdk_sequence_item(back, 1)))[2] += 1.0f;
    mdk_compare c;
    assert_int_equal(mdk_tensor_compare(back, seq, 0, 0, &c), MDK_OK);
    assert_false(c.pass);
    assert_int_equal(c.mismatches, 1);
    assert_int_equal(c.worst_index, 6 + 2);
    mdk_tensor_free(back);

    assert_int_equal(mdk_optional_new(MDK_DTYPE_FLOAT32, seq, &opt), MDK_OK);
    assert_int_equal(mdk_tensor_write_memory(opt, MDK_FORMAT_PB, &buf, &len), MDK_OK);
    assert_int_equal(mdki_pb_decode_value(buf, len, MDK_VALUE_OPTIONAL, "opt", &back), MDK_OK);
    assert_same(back, opt);
    assert_int_equal(mdk_tensor_kind(mdk_optional_value(back)), MDK_VALUE_SEQUENCE);
    free(buf);
    assert_int_equal(mdk_optional_new(MDK_DTYPE_FLOAT32, NULL, &none), MDK_OK);
    assert_null(mdk_optional_value(none));
    assert_int_equal(mdk_tensor_compare(none, opt, 0, 0, &c), MDK_OK);
    assert_false(c.pass); /* an empty optional differs from one with a value */
    mdk_tensor *clone;
    assert_int_equal(mdk_tensor_clone(opt, &clone), MDK_OK);
    assert_same(clone, opt);
    mdk_tensor_free(clone);
    mdk_tensor_free(back);
    mdk_tensor_free(opt);
    mdk_tensor_free(none);

    /* items of another dtype are refused, and freed */
    mdk_tensor *mixed[2] = {sample(MDK_DTYPE_FLOAT32), sample(MDK_DTYPE_INT64)};
    assert_int_equal(mdk_sequence_new(MDK_DTYPE_FLOAT32, mixed, 2, &seq), MDK_ERR_MISMATCH);
    assert_non_null(strstr(mdk_errmsg(), "item 1"));
}

static void test_decode_allocation_failures(void **state)
{
    (void)state;
    const mdk_format formats[] = {MDK_FORMAT_NPY, MDK_FORMAT_PB, MDK_FORMAT_JSON};
    for (size_t f = 0; f < 3; f++) {
        mdk_tensor *t = sample(MDK_DTYPE_STRING);
        void *buf;
        size_t len;
        assert_int_equal(mdk_tensor_write_memory(t, formats[f], &buf, &len), MDK_OK);
        mdk_tensor_free(t);
        for (long n = 0;; n++) {
            mdki_alloc_fail_after(n);
            mdk_tensor *u = NULL;
            mdk_status st = mdk_tensor_read_memory(buf, len, formats[f], MDK_DTYPE_UNDEFINED, "x", &u);
            mdki_alloc_fail_after(-1);
            mdk_tensor_free(u);
            if (st == MDK_OK) break;
            assert_true(st == MDK_ERR_NO_MEMORY);
            assert_true(n < 200);
        }
        free(buf);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_npy_round_trip),  cmocka_unit_test(test_pb_round_trip),
        cmocka_unit_test(test_json_round_trip), cmocka_unit_test(test_npy_malformed),
        cmocka_unit_test(test_npy_fortran_and_big_endian), cmocka_unit_test(test_json_forms),
        cmocka_unit_test(test_pb_malformed),    cmocka_unit_test(test_npz_files),
        cmocka_unit_test(test_sequences_and_optionals),
        cmocka_unit_test(test_decode_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
