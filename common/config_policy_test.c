/* config_policy_test.c: unit tests of the policy section of mcpgw.yaml: every key read, the
 * default, and the messages of what is refused. */
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
    assert_int_equal(c->policy_set, 0);
    assert_int_equal(c->npolicy_rules, 0);
    gw_config_destroy(c);
    c = config_parse_ok("policy: {}\n");
    assert_int_equal(c->policy_set, 1);
    assert_int_equal(c->policy_default_deny, 0);
    gw_config_destroy(c);
}

static void test_every_key(void **state)
{
    (void)state;
    gw_config_t *c = config_parse_ok("policy:\n"
                                     "  default: deny\n"
                                     "  rules:\n"
                                     "    - match: {scopes: [admin, ops]}\n"
                                     "      allow: [\"*\"]\n"
                                     "    - match: {claims: {groups: ops, tier: \"2\"}}\n"
                                     "      allow: [\"alpha/*\", \"beta/read_*\"]\n"
                                     "      deny: [beta/read_secrets]\n"
                                     "    - match: {subject: svc-ci, anonymous: false}\n"
                                     "      allow: [alpha/run_tests]\n"
                                     "      rate: {requests: 10/s, burst: 20, per: tool}\n"
                                     "    - match:\n"
                                     "        anonymous: true\n"
                                     "        addresses: [127.0.0.0/8, \"::1\", fd00::/8]\n"
                                     "      allow: [alpha/echo]\n"
                                     "    - deny: [\"*\"]\n");
    assert_int_equal(c->policy_set, 1);
    assert_int_equal(c->policy_default_deny, 1);
    assert_int_equal(c->npolicy_rules, 5);
    const gw_policy_rule_conf_t *r = c->policy_rules;
    assert_int_equal(r[0].nscopes, 2);
    assert_string_equal(r[0].scopes[1], "ops");
    assert_int_equal(r[0].nallow, 1);
    assert_int_equal(r[1].nclaims, 2);
    assert_string_equal(r[1].claims[0].name, "groups");
    assert_string_equal(r[1].claims[0].value, "ops");
    assert_string_equal(r[1].claims[1].value, "2");
    assert_string_equal(r[1].deny[0], "beta/read_secrets");
    assert_string_equal(r[2].subject, "svc-ci");
    assert_int_equal(r[2].anonymous_set, 1);
    assert_int_equal(r[2].anonymous, 0);
    assert_int_equal(r[3].anonymous_set, 1);
    assert_int_equal(r[3].anonymous, 1);
    assert_int_equal(r[3].naddresses, 3);
    assert_int_equal(r[4].anonymous_set, 0);
    assert_int_equal(r[4].nallow, 0);
    assert_int_equal(r[4].ndeny, 1);
    assert_int_equal(r[3].line, 12);
    assert_int_equal(r[1].rate.requests, 0); /* no rate: none beyond limits.rate */
    assert_int_equal(r[2].rate.requests, 10);
    assert_int_equal(r[2].rate.period_s, 1);
    assert_int_equal(r[2].rate.burst, 20);
    assert_int_equal(r[2].rate.per_tool, 1);
    gw_config_destroy(c);
}

static void test_refused(void **state)
{
    (void)state;
    config_expect_error("policy: {default: maybe}\n",
                        "mcpgw.yaml:1: policy.default: must be allow or deny");
    config_expect_error("policy: {rules: {a: 1}}\n",
                        "mcpgw.yaml:1: policy.rules: expected a list of {match, allow, deny}");
    config_expect_error(
        "policy:\n  rules:\n    - allow: [a]\n      rate: {requests: 5/s, per: x}\n",
        "mcpgw.yaml:4: policy.rules[0].rate.per: must be caller or tool");
    config_expect_error("policy:\n  rules:\n    - allow: [a]\n      rate: {burst: 5}\n",
                        "mcpgw.yaml:4: policy.rules[0].rate: missing required key requests");
    config_expect_error("policy:\n  rules:\n    - match: {addresses: [10.0.0.0/33]}\n",
                        "mcpgw.yaml:3: policy.rules[0].match.addresses[0]: an IPv4 prefix length "
                        "is at most 32");
    config_expect_error("policy:\n  rules:\n    - match: {addresses: [10.0.0.1/8]}\n",
                        "mcpgw.yaml:3: policy.rules[0].match.addresses[0]: has address bits set "
                        "past its prefix length");
    config_expect_error("policy:\n  rules:\n    - match: {addresses: [example.com]}\n",
                        "mcpgw.yaml:3: policy.rules[0].match.addresses[0]: not an IPv4 or IPv6 "
                        "address or CIDR (e.g. 10.0.0.0/8, fd00::/8)");
    config_expect_error("policy:\n  rules:\n    - match: {addresses: [\"::/129\"]}\n",
                        "mcpgw.yaml:3: policy.rules[0].match.addresses[0]: an IPv6 prefix length "
                        "is at most 128");
    config_expect_error("policy:\n  rules:\n    - match: {anonymous: true, scopes: [a]}\n",
                        "mcpgw.yaml:3: policy.rules[0].match: anonymous: true matches callers "
                        "without a token: it cannot be combined with scopes, claims or subject");
    config_expect_error("policy:\n  rules:\n    - match: {claims: {groups: [a, b]}}\n",
                        "mcpgw.yaml:3: policy.rules[0].match.claims.groups: expected a string (a "
                        "list claim matches when it contains it)");
    config_expect_error("policy:\n  rules:\n    - allow: [\"a\\\\\"]\n",
                        "mcpgw.yaml:3: policy.rules[0].allow[0]: a pattern must not end in a "
                        "lone \\");
    config_expect_error("policy:\n  rules:\n    - match: {who: me}\n",
                        "mcpgw.yaml:3: policy.rules[0].match.who: unknown key");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_absent),
        cmocka_unit_test(test_every_key),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
