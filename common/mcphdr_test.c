/* mcphdr_test.c: unit tests of the 2026-07-28 header value rules: whitespace, characters, and
 * the strict =?base64?...?= form (what the suite's http-header-validation cases send). */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/mcphdr.h"

/* Decodes v and checks the outcome: want NULL means rejected. */
static void check_decode(const char *v, const char *want, size_t want_len)
{
    gw_buf_t b;
    gw_buf_init(&b);
    gw_err_t err = gw_mcphdr_decode(v, strlen(v), &b);
    if (want == NULL) {
        if (err != GW_EINVAL) {
            fail_msg("'%s' decoded (to '%.*s'), want rejected", v, (int)b.len, b.data);
        }
        assert_int_equal(b.len, 0);
    } else {
        if (err != GW_OK) {
            fail_msg("'%s' rejected, want '%s'", v, want);
        }
        assert_int_equal(b.len, want_len);
        assert_memory_equal(b.data, want, want_len);
    }
    gw_buf_fini(&b);
}

static void test_trim(void **state)
{
    (void)state;
    size_t n;
    const char *t = gw_mcphdr_trim(" \t echo\t ", 9, &n);
    assert_int_equal(n, 4);
    assert_memory_equal(t, "echo", 4);
    t = gw_mcphdr_trim("a b", 3, &n);
    assert_int_equal(n, 3); /* inner whitespace stays */
    t = gw_mcphdr_trim(" \t ", 3, &n);
    assert_int_equal(n, 0);
    t = gw_mcphdr_trim("\r\nx", 3, &n);
    assert_int_equal(n, 3); /* only SP and HTAB are whitespace here */
}

static void test_chars(void **state)
{
    (void)state;
    assert_true(gw_mcphdr_chars_ok("tools/call", 10));
    assert_true(gw_mcphdr_chars_ok("us west\t~!", 10));
    assert_true(gw_mcphdr_chars_ok("", 0));
    assert_false(gw_mcphdr_chars_ok("a\rb", 3));
    assert_false(gw_mcphdr_chars_ok("a\nb", 3));
    assert_false(gw_mcphdr_chars_ok("a\x7f", 2));
    assert_false(gw_mcphdr_chars_ok("a\0b", 3));
    assert_false(gw_mcphdr_chars_ok("caf\xc3\xa9", 5)); /* UTF-8 must come base64-encoded */
}

static void test_plain_values(void **state)
{
    (void)state;
    check_decode("echo", "echo", 4);
    check_decode("  echo ", "echo", 4);
    check_decode("\techo\t", "echo", 4);
    check_decode("file:///tmp/a b.txt", "file:///tmp/a b.txt", 19);
    check_decode("caf\xc3\xa9", NULL, 0);
    check_decode("a\x01", NULL, 0);
    /* almost a sentinel is a plain value */
    check_decode("=?base64?ZWNobw==", "=?base64?ZWNobw==", 17);
    check_decode("=?BASE64?ZWNobw==?=", "=?BASE64?ZWNobw==?=", 19); /* markers are lowercase */
}

static void test_base64(void **state)
{
    (void)state;
    check_decode("=?base64?ZWNobw==?=", "echo", 4);
    check_decode("  =?base64?ZWNobw==?=  ", "echo", 4);
    check_decode("=?base64?Y2Fmw6k=?=", "caf\xc3\xa9", 5);
    check_decode("=?base64?YWJj?=", "abc", 3);
    check_decode("=?base64?"
                 "?=",
                 "", 0); /* split: "??=" is a trigraph */
    check_decode("=?base64?AA==?=", "\0", 1);
    /* strict: length, padding, alphabet, stray bits */
    check_decode("=?base64?ZWNobw?=", NULL, 0);    /* unpadded */
    check_decode("=?base64?ZWNobw=?=", NULL, 0);   /* short padding */
    check_decode("=?base64?ZWNo=bw=?=", NULL, 0);  /* padding inside */
    check_decode("=?base64?ZW Nobw==?=", NULL, 0); /* a space inside */
    check_decode("=?base64?ZWNobw-_?=", NULL, 0);  /* the URL alphabet */
    check_decode("=?base64?ZWNobx==?=", NULL, 0);  /* stray bits: not the canonical 'w' */
    check_decode("=?base64?YWJjZA=?=", NULL, 0);   /* "abcd" needs two '=' */
    check_decode("=?base64?YWI=?=", "ab", 2);
    check_decode("=?base64?YWJ=?=", NULL, 0); /* stray bits with one '=' */
    check_decode("=?base64?A===?=", NULL, 0);
    check_decode("=?base64?====?=", NULL, 0);
    check_decode("=?base64?!!!!?=", NULL, 0);
}

static void test_appends(void **state)
{
    (void)state;
    gw_buf_t b;
    gw_buf_init(&b);
    assert_int_equal(gw_buf_appends(&b, "x:"), GW_OK);
    assert_int_equal(gw_mcphdr_decode("=?base64?YWJj?=", 15, &b), GW_OK);
    assert_int_equal(gw_mcphdr_decode("=?base64?YWJ=?=", 15, &b), GW_EINVAL);
    assert_int_equal(b.len, 5);
    assert_string_equal(b.data, "x:abc");
    gw_buf_fini(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trim),         cmocka_unit_test(test_chars),
        cmocka_unit_test(test_plain_values), cmocka_unit_test(test_base64),
        cmocka_unit_test(test_appends),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
