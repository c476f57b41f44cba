/* tool_names_test.c: servers[].tools on names (tool_names.h): include and exclude, renames both
 * ways, the old name of a renamed tool unknown, a rename shadowed by the backend's own tool, and
 * equality for reload. */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/tool_names.h"

static char **globs(const char *const *in, size_t *n)
{
    size_t k = 0;
    while (in[k] != NULL) {
        k++;
    }
    char **out = calloc(k + 1, sizeof(*out));
    assert_non_null(out);
    for (size_t i = 0; i < k; i++) {
        assert_non_null(out[i] = strdup(in[i]));
    }
    *n = k;
    return out;
}

/* include (NULL: none), exclude (NULL: none), renames as "from", "to", ..., NULL. */
static void make(gw_tool_names_t *t, const char *const *include, const char *const *exclude,
                 const char *const *renames)
{
    memset(t, 0, sizeof(*t));
    if (include != NULL) {
        t->include = globs(include, &t->ninclude);
    }
    if (exclude != NULL) {
        t->exclude = globs(exclude, &t->nexclude);
    }
    size_t n = 0;
    while (renames != NULL && renames[2 * n] != NULL) {
        n++;
    }
    if (n > 0) {
        assert_non_null(t->renames = calloc(n, sizeof(*t->renames)));
        for (size_t i = 0; i < n; i++) {
            assert_non_null(t->renames[i].from = strdup(renames[2 * i]));
            assert_non_null(t->renames[i].to = strdup(renames[2 * i + 1]));
        }
        t->nrenames = n;
    }
    assert_int_equal(gw_tool_names_index(t), GW_OK);
}

/* The exposed name of the backend's tool, or NULL when hidden or shadowed. */
static const char *exposed(const gw_tool_names_t *t, const char *name, const unsigned char *sh)
{
    const char *out = NULL;
    return gw_tool_names_expose(t, name, sh, &out) == GW_TOOL_EXPOSED ? out : NULL;
}

static void test_nothing_set_changes_nothing(void **state)
{
    (void)state;
    gw_tool_names_t t;
    make(&t, NULL, NULL, NULL);
    assert_false(gw_tool_names_active(&t));
    assert_string_equal(exposed(&t, "echo", NULL), "echo");
    assert_string_equal(gw_tool_names_backend(&t, "echo", NULL), "echo");
    gw_tool_names_fini(&t);
}

static void test_include_and_exclude(void **state)
{
    (void)state;
    gw_tool_names_t t;
    make(&t, (const char *const[]){"read_*", "echo", NULL},
         (const char *const[]){"read_secret*", NULL}, NULL);
    assert_true(gw_tool_names_active(&t));
    assert_string_equal(exposed(&t, "echo", NULL), "echo");
    assert_string_equal(exposed(&t, "read_file", NULL), "read_file");
    assert_null(exposed(&t, "read_secrets", NULL)); /* included, then excluded */
    assert_null(exposed(&t, "write_file", NULL));   /* not included */
    assert_null(exposed(&t, "echo2", NULL));        /* a glob matches the whole name */
    assert_string_equal(gw_tool_names_backend(&t, "read_file", NULL), "read_file");
    assert_null(gw_tool_names_backend(&t, "read_secrets", NULL));
    assert_null(gw_tool_names_backend(&t, "write_file", NULL));
    gw_tool_names_fini(&t);

    /* exclude alone: everything else */
    make(&t, NULL, (const char *const[]){"admin_*", NULL}, NULL);
    assert_string_equal(exposed(&t, "echo", NULL), "echo");
    assert_null(exposed(&t, "admin_reset", NULL));
    gw_tool_names_fini(&t);
}

static void test_renames_both_ways(void **state)
{
    (void)state;
    gw_tool_names_t t;
    /* given out of order: the index sorts both sides */
    make(&t, NULL, NULL,
         (const char *const[]){"whoami", "who", "add", "plus", "echo", "say", NULL});
    assert_string_equal(exposed(&t, "add", NULL), "plus");
    assert_string_equal(exposed(&t, "echo", NULL), "say");
    assert_string_equal(exposed(&t, "whoami", NULL), "who");
    assert_string_equal(exposed(&t, "slow", NULL), "slow");
    assert_string_equal(gw_tool_names_backend(&t, "plus", NULL), "add");
    assert_string_equal(gw_tool_names_backend(&t, "say", NULL), "echo");
    assert_string_equal(gw_tool_names_backend(&t, "who", NULL), "whoami");
    assert_string_equal(gw_tool_names_backend(&t, "slow", NULL), "slow");
    /* the old names are no tool's any more */
    assert_null(gw_tool_names_backend(&t, "add", NULL));
    assert_null(gw_tool_names_backend(&t, "whoami", NULL));
    assert_int_equal(gw_tool_names_find_from(&t, "echo"), gw_tool_names_find_to(&t, "say"));
    assert_int_equal(gw_tool_names_find_from(&t, "say"), -1);
    assert_int_equal(gw_tool_names_find_to(&t, "echo"), -1);
    gw_tool_names_fini(&t);
}

static void test_globs_see_the_backend_names(void **state)
{
    (void)state;
    gw_tool_names_t t;
    make(&t, NULL, (const char *const[]){"secret", NULL},
         (const char *const[]){"secret", "open", "echo", "secret2", NULL});
    /* an excluded tool stays hidden under its new name too */
    assert_null(exposed(&t, "secret", NULL));
    assert_null(gw_tool_names_backend(&t, "secret", NULL));
    /* so "open" names the backend's own open, if it has one, not the hidden secret */
    assert_string_equal(gw_tool_names_backend(&t, "open", NULL), "open");
    /* the globs look at the backend's name, not at the rename's target */
    assert_string_equal(exposed(&t, "echo", NULL), "secret2");
    assert_string_equal(gw_tool_names_backend(&t, "secret2", NULL), "echo");
    gw_tool_names_fini(&t);
}

static void test_rename_onto_an_own_tool_is_shadowed(void **state)
{
    (void)state;
    gw_tool_names_t t;
    make(&t, NULL, (const char *const[]){"hidden", NULL},
         (const char *const[]){"echo", "add", "slow", "hidden", NULL});
    unsigned char sh[2] = {0, 0};
    /* the backend lists echo, add, slow, hidden */
    const char *list[] = {"echo", "add", "slow", "hidden"};
    for (size_t i = 0; i < 4; i++) {
        gw_tool_names_note_own(&t, list[i], sh);
    }
    const char *out = NULL;
    assert_int_equal(gw_tool_names_expose(&t, "echo", sh, &out), GW_TOOL_SHADOWED);
    assert_string_equal(out, "add");
    assert_string_equal(exposed(&t, "add", sh), "add"); /* the backend's own tool is kept */
    /* hidden is excluded, so slow may take its name */
    assert_string_equal(exposed(&t, "slow", sh), "hidden");
    /* a call to add reaches the backend's add; echo stays unknown under either name */
    assert_string_equal(gw_tool_names_backend(&t, "add", sh), "add");
    assert_null(gw_tool_names_backend(&t, "echo", sh));
    assert_string_equal(gw_tool_names_backend(&t, "hidden", sh), "slow");
    /* without the catalog's knowledge the rename wins */
    assert_string_equal(gw_tool_names_backend(&t, "add", NULL), "echo");
    gw_tool_names_fini(&t);
}

static void test_same(void **state)
{
    (void)state;
    gw_tool_names_t a, b;
    make(&a, (const char *const[]){"*", NULL}, NULL, (const char *const[]){"x", "y", NULL});
    make(&b, (const char *const[]){"*", NULL}, NULL, (const char *const[]){"x", "y", NULL});
    assert_true(gw_tool_names_same(&a, &b));
    gw_tool_names_fini(&b);
    make(&b, (const char *const[]){"*", NULL}, NULL, (const char *const[]){"x", "z", NULL});
    assert_false(gw_tool_names_same(&a, &b));
    gw_tool_names_fini(&b);
    make(&b, NULL, NULL, (const char *const[]){"x", "y", NULL});
    assert_false(gw_tool_names_same(&a, &b)); /* include [*] is written, so it differs */
    gw_tool_names_fini(&b);
    make(&b, (const char *const[]){"*", NULL}, (const char *const[]){"q", NULL},
         (const char *const[]){"x", "y", NULL});
    assert_false(gw_tool_names_same(&a, &b));
    gw_tool_names_fini(&b);
    gw_tool_names_fini(&a);
    assert_null(a.renames);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nothing_set_changes_nothing),
        cmocka_unit_test(test_include_and_exclude),
        cmocka_unit_test(test_renames_both_ways),
        cmocka_unit_test(test_globs_see_the_backend_names),
        cmocka_unit_test(test_rename_onto_an_own_tool_is_shadowed),
        cmocka_unit_test(test_same),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
