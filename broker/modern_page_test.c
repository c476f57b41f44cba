/* modern_page_test.c: list pages as 2026-07-28 clients get them: the fields around the page,
 * the scope marked in nextCursor, and cursors refused when their pages had the other scope. */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "broker/broker.h"

static void page_of(const char *page, int private, const char *want)
{
    gw_buf_t in, out;
    gw_buf_init(&in);
    gw_buf_init(&out);
    gw_buf_appends(&in, page);
    assert_int_equal(brk_modern_page(&in, private, &out), GW_OK);
    char expect[1024];
    snprintf(expect, sizeof(expect),
             "%s,\"ttlMs\":0,\"cacheScope\":\"%s\",\"_meta\":{\"io.modelcontextprotocol/"
             "serverInfo\":{\"name\":\"mcpgw\",\"version\":\"%s\"}}}",
             want, private ? "private" : "public", PACKAGE_VERSION);
    assert_string_equal(out.data, expect);
    gw_buf_fini(&in);
    gw_buf_fini(&out);
}

static void test_fields_around_the_page(void **state)
{
    (void)state;
    page_of("{\"tools\":[{\"name\":\"a_echo\"}]}", 0,
            "{\"resultType\":\"complete\",\"tools\":[{\"name\":\"a_echo\"}]");
    page_of("{\"prompts\":[]}", 1, "{\"resultType\":\"complete\",\"prompts\":[]");
}

static void test_scope_marked_in_next_cursor(void **state)
{
    (void)state;
    page_of("{\"tools\":[{\"name\":\"x\"}],\"nextCursor\":\"3.4\"}", 0,
            "{\"resultType\":\"complete\",\"tools\":[{\"name\":\"x\"}],\"nextCursor\":\"3.4~s\"");
    page_of("{\"tools\":[],\"nextCursor\":\"1z.a.2\"}", 1,
            "{\"resultType\":\"complete\",\"tools\":[],\"nextCursor\":\"1z.a.2~p\"");
    /* an item's own text that looks like a cursor is not one: only the page's last member */
    page_of("{\"tools\":[{\"d\":\",\\\"nextCursor\\\":\\\"1.2\\\"\"}]}", 0,
            "{\"resultType\":\"complete\",\"tools\":[{\"d\":\",\\\"nextCursor\\\":\\\"1.2\\\"\"}]");
}

static void test_cursor_scope_checked(void **state)
{
    (void)state;
    char buf[64];
    assert_string_equal(brk_modern_cursor_open("3.4~s", 0, buf, sizeof(buf)), "3.4");
    assert_string_equal(brk_modern_cursor_open("1z.a.2~p", 1, buf, sizeof(buf)), "1z.a.2");
    /* pages of the other scope: start over */
    assert_null(brk_modern_cursor_open("3.4~s", 1, buf, sizeof(buf)));
    assert_null(brk_modern_cursor_open("3.4~p", 0, buf, sizeof(buf)));
    /* a session's cursor, or nothing like one */
    assert_null(brk_modern_cursor_open("3.4", 0, buf, sizeof(buf)));
    assert_null(brk_modern_cursor_open("~s", 0, buf, sizeof(buf)));
    assert_null(brk_modern_cursor_open("", 0, buf, sizeof(buf)));
    assert_null(brk_modern_cursor_open("3.4~x", 0, buf, sizeof(buf)));
    /* too long for the buffer */
    assert_null(brk_modern_cursor_open("0123456789~s", 0, buf, 8));
}

static void test_not_a_page(void **state)
{
    (void)state;
    gw_buf_t in, out;
    gw_buf_init(&in);
    gw_buf_init(&out);
    gw_buf_appends(&in, "[]");
    assert_int_equal(brk_modern_page(&in, 0, &out), GW_EINVAL);
    gw_buf_fini(&in);
    gw_buf_fini(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fields_around_the_page),
        cmocka_unit_test(test_scope_marked_in_next_cursor),
        cmocka_unit_test(test_cursor_scope_checked),
        cmocka_unit_test(test_not_a_page),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
