/* config_auth_test.c: unit tests of the auth section of mcpgw.yaml: defaults, every key read,
 * and the messages of what is refused. */
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

static void test_absent(void **state)
{
    (void)state;
    gw_config_t *c = config_parse_ok("routers: 1\n");
    assert_null(c->auth_resource);
    assert_int_equal(c->nauth_issuers, 0);
    gw_config_destroy(c);
}

static void test_defaults(void **state)
{
    (void)state;
    gw_config_t *c = config_parse_ok("auth:\n"
                                     "  resource: https://mcp.example.com/mcp\n"
                                     "  issuers:\n"
                                     "    - issuer: https://idp.example.com\n"
                                     "      jwks_file: /etc/mcpgw/idp.jwks\n");
    assert_string_equal(c->auth_resource, "https://mcp.example.com/mcp");
    assert_int_equal(c->nauth_issuers, 1);
    const gw_auth_issuer_t *is = &c->auth_issuers[0];
    assert_string_equal(is->issuer, "https://idp.example.com");
    assert_string_equal(is->jwks_file, "/etc/mcpgw/idp.jwks");
    assert_int_equal(is->naudiences, 1);
    assert_string_equal(is->audiences[0], "https://mcp.example.com/mcp");
    assert_int_equal(is->nalgorithms, 4);
    assert_string_equal(is->algorithms[0], "RS256");
    assert_string_equal(is->algorithms[1], "PS256");
    assert_string_equal(is->algorithms[2], "ES256");
    assert_string_equal(is->algorithms[3], "EdDSA");
    assert_int_equal(c->auth_leeway_s, 60);
    assert_int_equal(c->auth_max_token_size, 8192);
    assert_int_equal(c->nauth_required_scopes, 0);
    assert_int_equal(c->nauth_scopes_supported, 0);
    gw_config_destroy(c);
}

static void test_every_key(void **state)
{
    (void)state;
    gw_config_t *c = config_parse_ok("auth:\n"
                                     "  resource: https://mcp.example.com/mcp\n"
                                     "  issuers:\n"
                                     "    - issuer: https://a.example.com\n"
                                     "      jwks_file: /a.jwks\n"
                                     "      audiences: [https://mcp.example.com/mcp, api://mcp]\n"
                                     "      algorithms: [ES256]\n"
                                     "    - issuer: https://b.example.com\n"
                                     "      jwks_file: /b.jwks\n"
                                     "    - issuer: https://c.example.com\n"
                                     "      jwks_uri: https://c.example.com/jwks\n"
                                     "    - issuer: http://127.0.0.1:9999\n"
                                     "      jwks_uri: http://127.0.0.1:9999/jwks\n"
                                     "  scopes_supported: [tools, prompts, resources]\n"
                                     "  required_scopes: [tools]\n"
                                     "  leeway: 5s\n"
                                     "  max_token_size: 4KiB\n");
    assert_int_equal(c->nauth_issuers, 4);
    assert_int_equal(c->auth_issuers[0].naudiences, 2);
    assert_string_equal(c->auth_issuers[0].audiences[1], "api://mcp");
    assert_int_equal(c->auth_issuers[0].nalgorithms, 1);
    assert_string_equal(c->auth_issuers[0].algorithms[0], "ES256");
    assert_int_equal(c->auth_issuers[1].nalgorithms, 4);
    assert_string_equal(c->auth_issuers[2].jwks_uri, "https://c.example.com/jwks");
    assert_null(c->auth_issuers[2].jwks_file);
    assert_string_equal(c->auth_issuers[3].jwks_uri, "http://127.0.0.1:9999/jwks");
    assert_int_equal(c->nauth_scopes_supported, 3);
    assert_int_equal(c->nauth_required_scopes, 1);
    assert_string_equal(c->auth_required_scopes[0], "tools");
    assert_int_equal(c->auth_leeway_s, 5);
    assert_int_equal(c->auth_max_token_size, 4096);
    gw_config_destroy(c);
}

#define HEAD "auth:\n  resource: https://mcp.example.com/mcp\n"

static void test_refused(void **state)
{
    (void)state;
    config_expect_error("auth:\n  issuers:\n    - {issuer: https://a, jwks_file: /a}\n",
                        "mcpgw.yaml:2: auth: missing required key resource");
    config_expect_error(HEAD, "mcpgw.yaml:2: auth: missing required key issuers");
    config_expect_error(HEAD "  issuers: []\n",
                        "mcpgw.yaml:3: auth.issuers: expected a list of {issuer, jwks_file}");
    config_expect_error(
        HEAD "  issuers:\n    - issuer: https://a\n",
        "mcpgw.yaml:4: auth.issuers[0]: needs exactly one of jwks_file and jwks_uri");
    config_expect_error(
        HEAD "  issuers:\n    - {issuer: https://a, jwks_file: /a, jwks_uri: https://a/j}\n",
        "mcpgw.yaml:4: auth.issuers[0]: needs exactly one of jwks_file and jwks_uri");
    config_expect_error(
        HEAD "  issuers:\n    - {issuer: https://a, jwks_uri: http://idp.example/j}\n",
        "mcpgw.yaml:4: auth.issuers[0].jwks_uri: must be https:// (http:// only to a "
        "loopback address)");
    config_expect_error(
        HEAD "  issuers:\n    - {issuer: https://a, jwks_uri: http://127.0.0.1.example/j}\n",
        "mcpgw.yaml:4: auth.issuers[0].jwks_uri: must be https:// (http:// only to a "
        "loopback address)");
    config_expect_error(
        HEAD "  issuers:\n    - {issuer: https://a, jwks_file: /a, algorithms: [HS256]}\n",
        "mcpgw.yaml:4: auth.issuers[0].algorithms[0]: must be one of RS256, RS384, RS512, "
        "PS256, ES256, ES384, EdDSA");
    config_expect_error(
        HEAD "  issuers:\n    - {issuer: https://a, jwks_file: /a, algorithms: [none]}\n",
        "mcpgw.yaml:4: auth.issuers[0].algorithms[0]: must be one of RS256, RS384, RS512, "
        "PS256, ES256, ES384, EdDSA");
    config_expect_error(HEAD
                        "  issuers:\n    - {issuer: https://a, jwks_file: /a, audiences: []}\n",
                        "mcpgw.yaml:4: auth.issuers[0]: audiences: at least one is required");
    config_expect_error(HEAD "  issuers:\n    - {issuer: https://a, jwks_file: /a}\n"
                             "    - {issuer: https://a, jwks_file: /b}\n",
                        "mcpgw.yaml:5: auth.issuers[1]: issuer https://a is listed twice");
    config_expect_error(HEAD "  issuers:\n    - {issuer: https://a, jwks_file: /a}\n  leeway: 1h\n",
                        "mcpgw.yaml:5: auth.leeway: must be 0 or a duration from 1s to 10m");
    config_expect_error(HEAD "  issuers:\n    - {issuer: https://a, jwks_file: /a}\n"
                             "  max_token_size: 1MiB\n",
                        "mcpgw.yaml:5: auth.max_token_size: must be between 1KiB and 64KiB");
    config_expect_error("auth:\n  resource: https://mcp.example.com/mcp#x\n"
                        "  issuers:\n    - {issuer: https://a, jwks_file: /a}\n",
                        "mcpgw.yaml:2: auth.resource: must not have a fragment (RFC 8707)");
    config_expect_error(HEAD "  issuers:\n    - {issuer: https://a, jwks_file: /a, kid: x}\n",
                        "mcpgw.yaml:4: auth.issuers[0].kid: unknown key");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_absent),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_every_key),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
