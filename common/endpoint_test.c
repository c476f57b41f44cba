/* endpoint_test.c: unit tests of what an endpoint shows (common/endpoint.h): the endpoint of a
 * path, servers and tools narrowing, and the view that folds the endpoint with the policy view. */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/config_sample.h"
#include "common/endpoint.h"

static const char yaml[] = "servers:\n"
                           "  - {name: alpha, url: \"http://127.0.0.1:1/mcp\"}\n"
                           "  - {name: beta, url: \"http://127.0.0.1:2/mcp\"}\n"
                           "endpoints:\n"
                           "  - {path: /mcp/alpha, servers: [alpha]}\n"
                           "  - {path: /mcp/dev, servers: [alpha, beta], tools: [alpha/echo, "
                           "\"beta/read_*\"]}\n"
                           "  - {path: /none, servers: [beta], tools: []}\n";

#define ALLOWS(c, ep, kind, server, name)                                                          \
    gw_endpoint_allows(c, ep, kind, server, name, strlen(name))

static void test_of_path(void **state)
{
    (void)state;
    gw_config_t *c = config_parse_ok(yaml);
    assert_int_equal(gw_endpoint_of_path(c, "/mcp", 4), 0);
    assert_int_equal(gw_endpoint_of_path(c, "/mcp/alpha", 10), 1);
    assert_int_equal(gw_endpoint_of_path(c, "/mcp/dev", 8), 2);
    assert_int_equal(gw_endpoint_of_path(c, "/none", 5), 3);
    assert_int_equal(gw_endpoint_of_path(c, "/mcp/alphax", 11), -1); /* whole paths only */
    assert_int_equal(gw_endpoint_of_path(c, "/mcp/alpha", 9), -1);
    assert_int_equal(gw_endpoint_of_path(c, "/", 1), -1);
    gw_config_destroy(c);
}

static void test_allows(void **state)
{
    (void)state;
    gw_config_t *c = config_parse_ok(yaml);
    /* the main path shows everything */
    assert_true(ALLOWS(c, 0, GW_LIST_TOOLS, "beta", "anything"));
    /* servers only: every tool of alpha, nothing of beta */
    assert_true(ALLOWS(c, 1, GW_LIST_TOOLS, "alpha", "whoami"));
    assert_false(ALLOWS(c, 1, GW_LIST_TOOLS, "beta", "whoami"));
    assert_false(ALLOWS(c, 1, GW_LIST_PROMPTS, "beta", "p"));
    assert_true(ALLOWS(c, 1, GW_LIST_RESOURCES, "alpha", "file:///x"));
    /* tools narrowed; prompts and resources by servers only */
    assert_true(ALLOWS(c, 2, GW_LIST_TOOLS, "alpha", "echo"));
    assert_false(ALLOWS(c, 2, GW_LIST_TOOLS, "alpha", "whoami"));
    assert_true(ALLOWS(c, 2, GW_LIST_TOOLS, "beta", "read_file"));
    assert_false(ALLOWS(c, 2, GW_LIST_TOOLS, "beta", "write_file"));
    assert_true(ALLOWS(c, 2, GW_LIST_PROMPTS, "alpha", "whoami"));
    assert_true(ALLOWS(c, 2, GW_LIST_TEMPLATES, "beta", "users://{id}"));
    /* tools: [] shows no tool, but the server's prompts */
    assert_false(ALLOWS(c, 3, GW_LIST_TOOLS, "beta", "read_file"));
    assert_true(ALLOWS(c, 3, GW_LIST_PROMPTS, "beta", "p"));
    /* an endpoint of no config shows nothing */
    assert_false(ALLOWS(c, 4, GW_LIST_TOOLS, "alpha", "echo"));
    assert_false(gw_endpoint_shows_server(c, 9, "alpha"));
    assert_true(gw_endpoint_shows_server(c, 0, "gamma"));
    gw_config_destroy(c);
}

static void test_view(void **state)
{
    (void)state;
    assert_int_equal(gw_view_make(0, 0), 0);
    assert_int_equal(gw_view_make(0, 5), 5); /* the main path's views are the policy's */
    unsigned v = gw_view_make(GW_ENDPOINTS_MAX, GW_POLICY_RULES_MAX);
    assert_true(v < 65536); /* fits the envelope's 16 bits */
    assert_int_equal(v, GW_VIEWS - 1);
    assert_int_equal(gw_view_endpoint(v), GW_ENDPOINTS_MAX);
    assert_int_equal(gw_view_policy(v), GW_POLICY_RULES_MAX);
    assert_int_equal(gw_view_endpoint(gw_view_make(3, 0)), 3);
    assert_int_equal(gw_view_policy(gw_view_make(3, 0)), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_of_path),
        cmocka_unit_test(test_allows),
        cmocka_unit_test(test_view),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
