/* test_json_writer.c: the library's JSON writer: exact compact and pretty output, escaping, invalid UTF-8
 * replaced, numbers, the depth limit, the buffer cap and allocation failures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "core/core.h"

static void sample(mdki_jw *w)
{
    mdki_jw_object(w);
    mdki_jw_key(w, "a");
    mdki_jw_int(w, -3);
    mdki_jw_key(w, "b");
    mdki_jw_array(w);
    mdki_jw_string(w, "x");
    mdki_jw_bool(w, 1);
    mdki_jw_null(w);
    mdki_jw_number(w, 0.25, 6);
    mdki_jw_end_array(w);
    mdki_jw_key(w, "e");
    mdki_jw_object(w);
    mdki_jw_end_object(w);
    mdki_jw_end_object(w);
}

static void test_compact_and_pretty(void **state)
{
    (void)state;
    mdki_buf b;
    mdki_buf_init(&b, 1 << 20);
    mdki_jw w;
    mdki_jw_init(&w, &b, 0);
    sample(&w);
    assert_int_equal(mdki_jw_finish(&w), MDK_OK);
    assert_int_equal(b.len, strlen("{\"a\": -3, \"b\": [\"x\", true, null, 0.25], \"e\": {}}"));
    assert_memory_equal(b.data, "{\"a\": -3, \"b\": [\"x\", true, null, 0.25], \"e\": {}}", b.len);
    b.len = 0;
    mdki_jw_init(&w, &b, 1);
    sample(&w);
    assert_int_equal(mdki_jw_finish(&w), MDK_OK);
    const char *want = "{\n  \"a\": -3,\n  \"b\": [\n    \"x\",\n    true,\n    null,\n    0.25\n  ],\n  \"e\": {}\n}\n";
    assert_int_equal(b.len, strlen(want));
    assert_memory_equal(b.data, want, b.len);
    mdki_buf_free(&b);
}

static void test_strings_and_numbers(void **state)
{
    (void)state;
    mdki_buf b;
    mdki_buf_init(&b, 1 << 20);
    mdki_jw w;
    mdki_jw_init(&w, &b, 0);
    mdki_jw_array(&w);
    mdki_jw_string(&w, "q\"b\\s\n\x01");
    mdki_jw_string(&w, "caf\xc3\xa9 \xe2\x82\xac");      /* valid UTF-8 kept */
    mdki_jw_string(&w, "bad\xff\xc3(\xed\xa0\x80" "end"); /* invalid byte, cut sequence, surrogate */
    mdki_jw_number(&w, 0.0 / 0.0, 9);
    mdki_jw_number(&w, -1.0 / 0.0, 9);
    mdki_jw_uint(&w, 18446744073709551615ull);
    mdki_jw_int(&w, -9223372036854775807ll - 1);
    mdki_jw_fixed(&w, 1.005, 2);
    mdki_jw_end_array(&w);
    assert_int_equal(mdki_jw_finish(&w), MDK_OK);
    const char *want = "[\"q\\\"b\\\\s\\u000a\\u0001\", \"caf\xc3\xa9 \xe2\x82\xac\", "
                       "\"bad\xef\xbf\xbd\xef\xbf\xbd(\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" "end\", \"NaN\", \"-Infinity\", "
                       "18446744073709551615, -9223372036854775808, 1.00]";
    assert_int_equal(b.len, strlen(want));
    assert_memory_equal(b.data, want, b.len);
    mdki_buf_free(&b);
}

static void test_limits(void **state)
{
    (void)state;
    mdki_buf b;
    mdki_buf_init(&b, 1 << 20);
    mdki_jw w;
    mdki_jw_init(&w, &b, 0);
    for (int i = 0; i < MDKI_JW_MAX_DEPTH + 3; i++) mdki_jw_array(&w);
    assert_int_equal(w.st, MDK_ERR_TOO_LARGE);
    assert_non_null(strstr(mdk_errmsg(), "nested deeper than"));
    for (int i = 0; i < MDKI_JW_MAX_DEPTH + 3; i++) mdki_jw_end_array(&w); /* balanced ends: no assertion */
    assert_int_equal(mdki_jw_finish(&w), MDK_ERR_TOO_LARGE);
    mdki_buf_free(&b);
    /* the buffer's cap stops the writer; the first error is kept */
    mdki_buf_init(&b, 16);
    mdki_jw_init(&w, &b, 0);
    mdki_jw_array(&w);
    for (int i = 0; i < 100; i++) mdki_jw_string(&w, "long enough");
    assert_int_equal(w.st, MDK_ERR_TOO_LARGE);
    mdki_buf_free(&b);
}

static void test_allocation_failures(void **state)
{
    (void)state;
    for (long n = 0;; n++) {
        mdki_buf b;
        mdki_buf_init(&b, 1 << 20);
        mdki_jw w;
        mdki_jw_init(&w, &b, 1);
        mdki_alloc_fail_after(n);
        sample(&w);
        mdki_jw_stringn(&w, "abc", 2);
        mdk_status st = w.st;
        mdki_alloc_fail_after(-1);
        mdki_buf_free(&b);
        if (st == MDK_OK) break;
        assert_int_equal(st, MDK_ERR_NO_MEMORY);
        assert_true(n < 100);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compact_and_pretty),
        cmocka_unit_test(test_strings_and_numbers),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
