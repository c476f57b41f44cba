/* config_endpoints_test.c: unit tests of the endpoints section of mcpgw.yaml: every key read, and
 * the messages of what is refused (paths, servers, tools patterns, the limit). */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/buf.h"
#include "common/config.h"
#include "common/config_int.h"
#include "common/config_sample.h"

#define SERVERS                                                                                    \
    "servers:\n"                                                                                   \
    "  - {name: alpha, url: \"http://127.0.0.1:1/mcp\"}\n"                                         \
    "  - {name: beta, url: \"http://127.0.0.1:2/mcp\"}\n"

static void test_absent(void **state)
{
    (void)state;
    gw_config_t *c = config_parse_ok(SERVERS);
    assert_int_equal(c->nendpoints, 0);
    assert_null(c->endpoints);
    gw_config_destroy(c);
}

static void test_every_key(void **state)
{
    (void)state;
    /* endpoints before servers and mcp_path: checked once the whole file is read */
    gw_config_t *c = config_parse_ok("endpoints:\n"
                                     "  - path: /mcp/dev\n"
                                     "    servers: [alpha, beta]\n"
                                     "    tools: [\"alpha/*\", beta/search, \"*/echo\"]\n"
                                     "    resource: https://mcp.example.com/mcp/dev\n"
                                     "  - path: /ops\n"
                                     "    servers: [beta]\n"
                                     "  - {path: /none, servers: [alpha], tools: []}\n" SERVERS
                                     "mcp_path: /gw\n");
    assert_int_equal(c->nendpoints, 3);
    const gw_endpoint_conf_t *e = c->endpoints;
    assert_string_equal(e[0].path, "/mcp/dev");
    assert_int_equal(e[0].nservers, 2);
    assert_string_equal(e[0].servers[1], "beta");
    assert_int_equal(e[0].tools_set, 1);
    assert_int_equal(e[0].ntools, 3);
    assert_string_equal(e[0].tools[1], "beta/search");
    assert_string_equal(e[0].resource, "https://mcp.example.com/mcp/dev");
    assert_int_equal(e[0].line, 2);
    assert_string_equal(e[1].path, "/ops");
    assert_int_equal(e[1].tools_set, 0);
    assert_null(e[1].resource);
    assert_int_equal(e[2].tools_set, 1);
    assert_int_equal(e[2].ntools, 0);
    gw_config_destroy(c);
}

/* instructions at the top level apply to every endpoint without its own; bounded */
static void test_instructions(void **state)
{
    (void)state;
    gw_config_t *c =
        config_parse_ok(SERVERS "instructions: \"Use alpha_ for search.\"\n"
                                "endpoints:\n"
                                "  - {path: /a, servers: [alpha], instructions: Alpha.}\n"
                                "  - {path: /b, servers: [beta]}\n");
    assert_string_equal(gw_config_instructions(c, 0), "Use alpha_ for search.");
    assert_string_equal(gw_config_instructions(c, 1), "Alpha.");
    assert_string_equal(gw_config_instructions(c, 2), "Use alpha_ for search.");
    gw_config_destroy(c);
    c = config_parse_ok(SERVERS);
    assert_null(gw_config_instructions(c, 0));
    gw_config_destroy(c);

    char *yaml = malloc(sizeof(SERVERS) + GW_CONFIG_INSTRUCTIONS_MAX + 32);
    assert_non_null(yaml);
    int n = sprintf(yaml, SERVERS "instructions: ");
    memset(yaml + n, 'x', GW_CONFIG_INSTRUCTIONS_MAX);
    strcpy(yaml + n + GW_CONFIG_INSTRUCTIONS_MAX, "\n");
    c = config_parse_ok(yaml); /* exactly the bound */
    gw_config_destroy(c);
    strcpy(yaml + n + GW_CONFIG_INSTRUCTIONS_MAX, "x\n");
    config_expect_error(yaml, "mcpgw.yaml:4: instructions: at most 8192 bytes");
    free(yaml);
    config_expect_error(SERVERS
                        "endpoints:\n  - {path: /a, servers: [alpha], instructions: \"\"}\n",
                        "mcpgw.yaml:5: endpoints[0].instructions: must not be empty");
}

static void test_refused(void **state)
{
    (void)state;
    config_expect_error(SERVERS "endpoints: {path: /x}\n",
                        "mcpgw.yaml:4: endpoints: expected a list of {path, servers, tools, "
                        "resource, instructions}");
    config_expect_error(SERVERS "endpoints:\n  - servers: [alpha]\n",
                        "mcpgw.yaml:5: endpoints[0]: missing required key path");
    config_expect_error(SERVERS "endpoints:\n  - path: /x\n",
                        "mcpgw.yaml:5: endpoints[0]: missing required key servers");
    config_expect_error(SERVERS "endpoints:\n  - {path: x, servers: [alpha]}\n",
                        "mcpgw.yaml:5: endpoints[0].path: must start with '/'");
    config_expect_error(SERVERS "endpoints:\n  - {path: \"/a b\", servers: [alpha]}\n",
                        "mcpgw.yaml:5: endpoints[0].path: must be a plain URL path (no spaces, "
                        "'?' or '#')");
    config_expect_error(SERVERS "endpoints:\n"
                                "  - {path: /.well-known/oauth-protected-resource, servers: "
                                "[alpha]}\n",
                        "mcpgw.yaml:5: endpoints[0].path: must not be under /.well-known/ (the "
                        "gateway's metadata lives there)");
    config_expect_error(SERVERS "endpoints:\n  - {path: /mcp, servers: [alpha]}\n",
                        "mcpgw.yaml:5: endpoints[0].path: is mcp_path (/mcp), the gateway's own "
                        "MCP endpoint");
    config_expect_error(SERVERS "endpoints:\n"
                                "  - {path: /a, servers: [alpha]}\n"
                                "  - {path: /a, servers: [beta]}\n",
                        "mcpgw.yaml:6: endpoints[1].path: is already endpoints[0]'s path");
    config_expect_error(SERVERS "endpoints:\n  - {path: /a, servers: []}\n",
                        "mcpgw.yaml:5: endpoints[0].servers: at least one server is required");
    config_expect_error(SERVERS "endpoints:\n  - {path: /a, servers: [alpha, gamma]}\n",
                        "mcpgw.yaml:5: endpoints[0].servers[1]: no server is called gamma in "
                        "servers");
    config_expect_error(SERVERS "endpoints:\n  - {path: /a, servers: [beta, beta]}\n",
                        "mcpgw.yaml:5: endpoints[0].servers[1]: beta is listed twice");
    config_expect_error(SERVERS "endpoints:\n  - {path: /a, servers: [alpha], tools: [echo]}\n",
                        "mcpgw.yaml:5: endpoints[0].tools[0]: expected server/name (a server of "
                        "this endpoint, a slash, a tool name glob)");
    config_expect_error(SERVERS
                        "endpoints:\n  - {path: /a, servers: [alpha], tools: [beta/search]}\n",
                        "mcpgw.yaml:5: endpoints[0].tools[0]: names no server of this endpoint");
    config_expect_error(SERVERS
                        "endpoints:\n  - {path: /a, servers: [alpha], tools: [\"alpha/a\\\\\"]}\n",
                        "mcpgw.yaml:5: endpoints[0].tools[0]: a pattern must not end in a lone "
                        "\\");
    config_expect_error(SERVERS "endpoints:\n  - {path: /a, servers: [alpha], resource: ftp://x}\n",
                        "mcpgw.yaml:5: endpoints[0].resource: not an http(s) URL");
    config_expect_error(SERVERS "endpoints:\n  - {path: /a, servers: [alpha], who: me}\n",
                        "mcpgw.yaml:5: endpoints[0].who: unknown key");
}

static void test_at_most_64(void **state)
{
    (void)state;
    gw_buf_t b;
    gw_buf_init(&b);
    assert_int_equal(gw_buf_appendf(&b, SERVERS "endpoints:\n"), GW_OK);
    for (int i = 0; i < GW_ENDPOINTS_MAX; i++) {
        assert_int_equal(gw_buf_appendf(&b, "  - {path: /e%d, servers: [alpha]}\n", i), GW_OK);
    }
    assert_int_equal(gw_buf_reserve(&b, 1), GW_OK);
    b.data[b.len] = '\0';
    gw_config_t *c = config_parse_ok(b.data);
    assert_int_equal(c->nendpoints, GW_ENDPOINTS_MAX);
    gw_config_destroy(c);
    assert_int_equal(gw_buf_appendf(&b, "  - {path: /e64, servers: [alpha]}\n"), GW_OK);
    assert_int_equal(gw_buf_reserve(&b, 1), GW_OK);
    b.data[b.len] = '\0';
    config_expect_error(b.data, "mcpgw.yaml:5: endpoints: at most 64 endpoints");
    gw_buf_fini(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_absent),     cmocka_unit_test(test_every_key),
        cmocka_unit_test(test_refused),    cmocka_unit_test(test_instructions),
        cmocka_unit_test(test_at_most_64),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
