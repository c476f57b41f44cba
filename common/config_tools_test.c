/* config_tools_test.c: servers[].tools in mcpgw.yaml: include, exclude and rename read and
 * indexed, and every refusal at load with its file:line (bad globs, bad new names, two renames to
 * one name, a new name that is itself renamed, a name too long with the prefix). */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/config.h"
#include "common/config_sample.h"

#define HEAD "servers:\n  - name: a\n    url: http://a/\n    prefix: a_\n    tools:\n"

static void test_tools_read(void **state)
{
    (void)state;
    gw_config_t *c = config_parse_ok(HEAD "      include: [\"read_*\", echo, whoami]\n"
                                          "      exclude: [read_secrets]\n"
                                          "      rename:\n"
                                          "        whoami: who\n"
                                          "        echo: say.it\n"
                                          "  - name: b\n"
                                          "    url: http://b/\n"
                                          "    tools:\n"
                                          "  - name: c\n"
                                          "    url: http://c/\n"
                                          "    tools: {exclude: [\"admin_*\"]}\n");
    const gw_tool_names_t *t = &c->servers[0].tools;
    assert_true(gw_tool_names_active(t));
    assert_int_equal(t->ninclude, 3);
    assert_string_equal(t->include[0], "read_*");
    assert_int_equal(t->nexclude, 1);
    assert_int_equal(t->nrenames, 2);
    assert_string_equal(gw_tool_names_backend(t, "who", NULL), "whoami");
    assert_string_equal(gw_tool_names_backend(t, "say.it", NULL), "echo");
    assert_string_equal(gw_tool_names_backend(t, "read_file", NULL), "read_file");
    assert_null(gw_tool_names_backend(t, "read_secrets", NULL));
    assert_null(gw_tool_names_backend(t, "whoami", NULL));
    assert_null(gw_tool_names_backend(t, "add", NULL));
    /* no tools, or an empty one: every tool as it is */
    assert_false(gw_tool_names_active(&c->servers[1].tools));
    assert_string_equal(gw_tool_names_backend(&c->servers[1].tools, "add", NULL), "add");
    assert_null(c->servers[2].tools.include);
    assert_null(gw_tool_names_backend(&c->servers[2].tools, "admin_reset", NULL));
    assert_string_equal(gw_tool_names_backend(&c->servers[2].tools, "add", NULL), "add");
    gw_config_destroy(c);
}

static void test_err_rename_collisions(void **state)
{
    (void)state;
    config_expect_error(HEAD "      rename:\n"
                             "        whoami: who\n"
                             "        echo: who\n",
                        "mcpgw.yaml:8: servers[0].tools.rename.echo: \"who\" is already the new "
                        "name of \"whoami\"");
    config_expect_error(HEAD "      rename:\n"
                             "        whoami: echo\n"
                             "        echo: say\n",
                        "mcpgw.yaml:7: servers[0].tools.rename.whoami: \"echo\" is itself renamed "
                        "(to \"say\"): a new name cannot be the old name of another tool");
    config_expect_error(HEAD "      rename:\n"
                             "        echo: echo\n",
                        "mcpgw.yaml:7: servers[0].tools.rename.echo: renames the tool to its own "
                        "name");
    config_expect_error(HEAD "      rename:\n"
                             "        echo: a\n"
                             "        \"echo\": b\n",
                        "mcpgw.yaml:8: servers[0].tools.rename.echo: duplicate tool");
}

static void test_err_rename_names(void **state)
{
    (void)state;
    config_expect_error(HEAD "      rename:\n"
                             "        echo: \"say it\"\n",
                        "mcpgw.yaml:7: servers[0].tools.rename.echo: must be 1 to 128 characters "
                        "of [A-Za-z0-9_.-] (an MCP tool name)");
    config_expect_error(HEAD "      rename:\n"
                             "        echo: \"\"\n",
                        "mcpgw.yaml:7: servers[0].tools.rename.echo: must not be empty");
    config_expect_error(HEAD "      rename:\n"
                             "        \"a b\": ab\n",
                        "mcpgw.yaml:7: servers[0].tools.rename.a b: a tool name has no spaces or "
                        "control characters");
    config_expect_error(HEAD "      rename: [echo]\n",
                        "mcpgw.yaml:6: servers[0].tools.rename: expected a mapping of backend tool "
                        "names to new names");
    /* 126 characters are fine alone, not behind the prefix a_ */
    char name[130];
    char yaml[512];
    char want[512];
    memset(name, 'n', 127);
    name[127] = '\0';
    snprintf(yaml, sizeof(yaml), HEAD "      rename:\n        echo: %s\n", name);
    snprintf(want, sizeof(want),
             "mcpgw.yaml:7: servers[0].tools.rename.echo: \"a_%s\" (with the prefix) is longer "
             "than 128 characters",
             name);
    config_expect_error(yaml, want);
    name[126] = '\0';
    snprintf(yaml, sizeof(yaml), HEAD "      rename:\n        echo: %s\n", name);
    gw_config_destroy(config_parse_ok(yaml));
}

static void test_err_globs_and_shape(void **state)
{
    (void)state;
    config_expect_error(HEAD "      include: [echo, \"a\\\\\"]\n",
                        "mcpgw.yaml:6: servers[0].tools.include[1]: ends in a lone \\ (write \\\\ "
                        "for a backslash)");
    config_expect_error(HEAD "      exclude: [\"x\\\\\"]\n",
                        "mcpgw.yaml:6: servers[0].tools.exclude[0]: ends in a lone \\ (write \\\\ "
                        "for a backslash)");
    config_expect_error(HEAD "      include: []\n",
                        "mcpgw.yaml:6: servers[0].tools.include: an empty include exposes no "
                        "tool: leave include out to expose every tool");
    config_expect_error(HEAD "      include: echo\n",
                        "mcpgw.yaml:6: servers[0].tools.include: expected a list of strings");
    config_expect_error(HEAD "      prompts: [x]\n",
                        "mcpgw.yaml:6: servers[0].tools.prompts: unknown key");
    config_expect_error(HEAD "      - echo\n",
                        "mcpgw.yaml:6: servers[0].tools: expected a mapping of include, exclude "
                        "and rename");
}

/* Routers get each tool_timeouts entry under the name clients call (before the prefix). */
static void test_tool_timeouts_exposed(void **state)
{
    (void)state;
    gw_config_t *c = config_parse_ok(HEAD "      exclude: [hidden]\n"
                                          "      rename: {slow: wait, quick: fast}\n"
                                          "    tool_timeouts: {slow: 5m, hidden: 1s, fast: 2s, "
                                          "quick: 3s, other: 4s}\n");
    const gw_server_conf_t *s = &c->servers[0];
    assert_int_equal(s->ntool_timeouts, 5);
    assert_string_equal(gw_server_tool_timeout_exposed(s, 0), "wait");
    assert_null(gw_server_tool_timeout_exposed(s, 1)); /* excluded */
    /* the backend's own fast keeps the name: quick's rename onto it loses (worker/catalog.c) */
    assert_string_equal(gw_server_tool_timeout_exposed(s, 2), "fast");
    assert_null(gw_server_tool_timeout_exposed(s, 3));
    assert_string_equal(gw_server_tool_timeout_exposed(s, 4), "other");
    /* the worker looks them up by the backend's own names */
    assert_int_equal(gw_server_tool_timeout_ms(s, "slow", 4), 300000);
    gw_config_destroy(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tools_read),
        cmocka_unit_test(test_err_rename_collisions),
        cmocka_unit_test(test_err_rename_names),
        cmocka_unit_test(test_err_globs_and_shape),
        cmocka_unit_test(test_tool_timeouts_exposed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
