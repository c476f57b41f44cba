/* glob_test.c: the configuration's name patterns (glob.h): wildcards, escapes, whole-text
 * matching, and a pattern built to make a naive matcher backtrack exponentially. */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/glob.h"

static int m(const char *pattern, const char *text)
{
    return gw_glob_match(pattern, text, strlen(text));
}

static void test_wildcards(void **state)
{
    (void)state;
    assert_true(m("*", ""));
    assert_true(m("*", "alpha/echo"));
    assert_true(m("alpha/*", "alpha/echo"));
    assert_true(m("alpha/*", "alpha/"));
    assert_false(m("alpha/*", "alpha"));
    assert_false(m("alpha/*", "beta/echo"));
    assert_true(m("beta/read_*", "beta/read_secrets"));
    assert_false(m("beta/read_*", "beta/write_x"));
    assert_true(m("*/echo", "alpha/echo"));
    assert_false(m("*/echo", "alpha/echo2"));
    assert_true(m("a?c", "abc"));
    assert_false(m("a?c", "ac"));
    assert_true(m("file:///docs/*.md", "file:///docs/a/b.md"));
    assert_false(m("file:///docs/*.md", "file:///docs/a/b.mdx"));
    assert_true(m("**a**", "xxa"));
    assert_true(m("", ""));
    assert_false(m("", "x"));
    assert_false(m("abc", "ab"));
    assert_false(m("ab", "abc"));
    /* the text is bounded by its length, not by a NUL */
    assert_true(gw_glob_match("ab", "abc", 2));
}

static void test_escapes(void **state)
{
    (void)state;
    assert_true(m("a\\*", "a*"));
    assert_false(m("a\\*", "ab"));
    assert_true(m("a\\?", "a?"));
    assert_false(m("a\\?", "ab"));
    assert_true(m("a\\\\", "a\\"));
    assert_true(gw_glob_valid("a\\*"));
    assert_false(gw_glob_valid("a\\"));
    assert_true(gw_glob_is_literal("alpha/echo"));
    assert_false(gw_glob_is_literal("alpha/*"));
    assert_false(gw_glob_is_literal("a\\*"));
}

static void test_no_exponential_backtracking(void **state)
{
    (void)state;
    char text[4097];
    memset(text, 'a', sizeof text - 1);
    text[sizeof text - 1] = '\0';
    /* a*a*a*...*b against aaaa...: a recursive matcher takes forever */
    assert_false(m("a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", text));
    assert_true(m("a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a", text));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wildcards),
        cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_no_exponential_backtracking),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
