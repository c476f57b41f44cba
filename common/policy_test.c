/* policy_test.c: unit tests of the compiled policy (policy.h): first match wins, deny over allow
 * within a rule, scopes all present, string and list claims, subject, anonymous, IPv4 and IPv6
 * CIDRs, the default, and no policy at all. */
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
#include "common/policy.h"

static const char issue_policy[] = "policy:\n"
                                   "  default: allow\n"
                                   "  rules:\n"
                                   "    - match: {scopes: [admin]}\n"
                                   "      allow: [\"*\"]\n"
                                   "    - match: {claims: {groups: ops}}\n"
                                   "      allow: [\"alpha/*\", \"beta/read_*\"]\n"
                                   "      deny:  [\"beta/read_secrets\"]\n"
                                   "    - match: {subject: \"svc-ci\"}\n"
                                   "      allow: [\"alpha/run_tests\"]\n"
                                   "    - match: {anonymous: true, addresses: [127.0.0.0/8]}\n"
                                   "      allow: [\"alpha/echo\"]\n"
                                   "    - match: {anonymous: false, addresses: [\"fd00::/8\"]}\n"
                                   "      allow: [\"beta/*\"]\n";

typedef struct fixture {
    gw_config_t *cfg;
    gw_policy_t *p;
} fixture_t;

static fixture_t load(const char *yaml)
{
    fixture_t f = {config_parse_ok(yaml), NULL};
    assert_int_equal(gw_policy_create(f.cfg, &f.p), GW_OK);
    return f;
}

static void unload(fixture_t *f)
{
    gw_policy_destroy(f->p);
    gw_config_destroy(f->cfg);
}

/* The view of a caller: subject NULL for anonymous, claims JSON or NULL, address or NULL. */
static unsigned view_of(const gw_policy_t *p, const char *subject, const char *scope,
                        const char *claims, const char *address)
{
    char err[64];
    yajl_val tree = claims != NULL ? yajl_tree_parse(claims, err, sizeof(err)) : NULL;
    gw_policy_caller_t who = {.subject = subject, .scope = scope, .claims = tree};
    gw_policy_rules_t rules;
    gw_policy_token_rules(p, &who, &rules);
    gw_policy_address_t a;
    if (address != NULL) {
        assert_true(gw_policy_address_parse(address, &a));
    }
    unsigned v = gw_policy_view(p, &rules, address != NULL ? &a : NULL);
    yajl_tree_free(tree);
    return v;
}

static int allows(const gw_policy_t *p, unsigned view, const char *target)
{
    return gw_policy_allows(p, view, target, strlen(target));
}

static void test_first_match_wins(void **state)
{
    (void)state;
    fixture_t f = load(issue_policy);
    /* admin and in ops: rule 0, which allows everything, beta/read_secrets too */
    unsigned v = view_of(f.p, "alice", "read admin", "{\"groups\":[\"dev\",\"ops\"]}", NULL);
    assert_int_equal(v, 1);
    assert_true(allows(f.p, v, "beta/read_secrets"));
    /* in ops only: rule 1 */
    v = view_of(f.p, "bob", "read", "{\"groups\":[\"dev\",\"ops\"]}", NULL);
    assert_int_equal(v, 2);
    assert_true(allows(f.p, v, "alpha/anything"));
    assert_true(allows(f.p, v, "beta/read_logs"));
    assert_false(allows(f.p, v, "beta/write_logs")); /* matching neither: denied */
    assert_false(allows(f.p, v, "gamma/x"));
    /* svc-ci in ops: rule 1 comes first */
    assert_int_equal(view_of(f.p, "svc-ci", "", "{\"groups\":\"ops\"}", NULL), 2);
    v = view_of(f.p, "svc-ci", "", "{}", NULL);
    assert_int_equal(v, 3);
    assert_true(allows(f.p, v, "alpha/run_tests"));
    assert_false(allows(f.p, v, "alpha/run_tests2"));
    unload(&f);
}

static void test_deny_over_allow(void **state)
{
    (void)state;
    fixture_t f = load(issue_policy);
    unsigned v = view_of(f.p, "bob", NULL, "{\"groups\":\"ops\"}", NULL);
    assert_int_equal(v, 2);
    assert_true(allows(f.p, v, "beta/read_other"));
    assert_false(allows(f.p, v, "beta/read_secrets"));
    assert_true(gw_policy_allows_name(f.p, v, "beta", "read_other", 10));
    assert_false(gw_policy_allows_name(f.p, v, "beta", "read_secrets", 12));
    unload(&f);
}

static void test_claims(void **state)
{
    (void)state;
    fixture_t f = load("policy:\n"
                       "  default: deny\n"
                       "  rules:\n"
                       "    - match: {claims: {groups: ops, tier: \"2\", staff: \"true\"}}\n"
                       "      allow: [\"*\"]\n");
    const char *ok = "{\"groups\":[\"ops\"],\"tier\":2,\"staff\":true}";
    assert_int_equal(view_of(f.p, "a", NULL, ok, NULL), 1);
    assert_int_equal(
        view_of(f.p, "a", NULL, "{\"groups\":\"ops\",\"tier\":\"2\",\"staff\":true}", NULL), 1);
    /* every claim must hold */
    assert_int_equal(view_of(f.p, "a", NULL, "{\"groups\":[\"ops\"],\"tier\":2}", NULL), 0);
    /* not a prefix, not a substring, not a nested object */
    assert_int_equal(
        view_of(f.p, "a", NULL, "{\"groups\":\"opsx\",\"tier\":2,\"staff\":true}", NULL), 0);
    assert_int_equal(
        view_of(f.p, "a", NULL, "{\"groups\":{\"ops\":1},\"tier\":2,\"staff\":true}", NULL), 0);
    assert_int_equal(
        view_of(f.p, "a", NULL, "{\"groups\":[[\"ops\"]],\"tier\":2,\"staff\":true}", NULL), 0);
    /* an anonymous caller has no claims */
    assert_int_equal(view_of(f.p, NULL, NULL, NULL, NULL), 0);
    assert_false(allows(f.p, 0, "alpha/echo")); /* default: deny */
    unload(&f);
}

static void test_scopes(void **state)
{
    (void)state;
    fixture_t f = load("policy:\n"
                       "  rules:\n"
                       "    - match: {scopes: [tools.read, tools.write]}\n"
                       "      allow: [\"*\"]\n");
    assert_int_equal(view_of(f.p, "a", "tools.write openid tools.read", NULL, NULL), 1);
    assert_int_equal(view_of(f.p, "a", "tools.read", NULL, NULL), 0);
    assert_int_equal(view_of(f.p, "a", "tools.readx tools.write", NULL, NULL), 0);
    assert_int_equal(view_of(f.p, "a", "tools tools.write", NULL, NULL), 0);
    assert_int_equal(view_of(f.p, "a", NULL, NULL, NULL), 0);
    assert_true(allows(f.p, 0, "alpha/echo")); /* default: allow */
    unload(&f);
}

static void test_addresses(void **state)
{
    (void)state;
    fixture_t f = load(issue_policy);
    /* anonymous from loopback: rule 3; from elsewhere: the default */
    unsigned v = view_of(f.p, NULL, NULL, NULL, "127.0.0.1");
    assert_int_equal(v, 4);
    assert_true(allows(f.p, v, "alpha/echo"));
    assert_false(allows(f.p, v, "alpha/add"));
    assert_int_equal(view_of(f.p, NULL, NULL, NULL, "127.255.0.9"), 4);
    assert_int_equal(view_of(f.p, NULL, NULL, NULL, "::ffff:127.0.0.1"), 4); /* mapped */
    assert_int_equal(view_of(f.p, NULL, NULL, NULL, "128.0.0.1"), 0);
    assert_int_equal(view_of(f.p, NULL, NULL, NULL, NULL), 0);
    /* a token's caller never matches anonymous: true; rule 4 wants a token and fd00::/8 */
    assert_int_equal(view_of(f.p, "carol", NULL, "{}", "127.0.0.1"), 0);
    assert_int_equal(view_of(f.p, "carol", NULL, "{}", "fd12:3456::1"), 5);
    assert_int_equal(view_of(f.p, "carol", NULL, "{}", "fe80::1"), 0);
    assert_int_equal(view_of(f.p, NULL, NULL, NULL, "fd12:3456::1"), 0);
    unload(&f);
    /* prefix lengths that do not fall on a byte */
    f = load("policy:\n  rules:\n    - match: {addresses: [10.0.0.0/9, \"2001:db8::/33\"]}\n");
    assert_int_equal(view_of(f.p, NULL, NULL, NULL, "10.127.1.1"), 1);
    assert_int_equal(view_of(f.p, NULL, NULL, NULL, "10.128.0.0"), 0);
    assert_int_equal(view_of(f.p, NULL, NULL, NULL, "2001:db8:7fff::1"), 1);
    assert_int_equal(view_of(f.p, NULL, NULL, NULL, "2001:db8:8000::1"), 0);
    assert_false(allows(f.p, 1, "alpha/echo")); /* a rule without allow lets nothing through */
    unload(&f);
    f = load("policy:\n  rules:\n    - match: {addresses: [0.0.0.0/0]}\n      allow: [\"*\"]\n");
    assert_int_equal(view_of(f.p, NULL, NULL, NULL, "192.0.2.1"), 1);
    assert_int_equal(view_of(f.p, NULL, NULL, NULL, "::1"), 0);
    unload(&f);
}

static void test_no_policy(void **state)
{
    (void)state;
    fixture_t f = load("routers: 1\n");
    assert_null(f.p);
    assert_int_equal(view_of(f.p, "a", NULL, NULL, NULL), 0);
    assert_true(allows(f.p, 0, "anything/at_all"));
    assert_true(gw_policy_allows_name(NULL, 7, "alpha", "echo", 4));
    unload(&f);
    f = load("policy: {default: deny}\n");
    assert_non_null(f.p);
    assert_int_equal(view_of(f.p, "a", NULL, NULL, NULL), 0);
    assert_false(allows(f.p, 0, "alpha/echo"));
    assert_false(allows(f.p, 1, "alpha/echo")); /* a view the policy does not have */
    unload(&f);
}

static void test_long_target(void **state)
{
    (void)state;
    fixture_t f = load("policy:\n  rules:\n    - allow: [\"alpha/file:///*\"]\n");
    char uri[3000];
    memset(uri, 'x', sizeof(uri));
    memcpy(uri, "file:///", 8);
    assert_true(gw_policy_allows_name(f.p, 1, "alpha", uri, sizeof(uri)));
    assert_false(gw_policy_allows_name(f.p, 1, "beta", uri, sizeof(uri)));
    unload(&f);
}

static void test_view_names(void **state)
{
    (void)state;
    char b[GW_POLICY_VIEW_NAME_MAX];
    assert_string_equal(gw_policy_view_name(0, b), "default");
    assert_string_equal(gw_policy_view_name(1, b), "0");
    assert_string_equal(gw_policy_view_name(256, b), "255");
    assert_null(gw_policy_cidr_problem("::1"));
    assert_null(gw_policy_cidr_problem("0.0.0.0/0"));
    assert_non_null(gw_policy_cidr_problem("10.0.0.0/"));
    assert_non_null(gw_policy_cidr_problem("/8"));
    assert_non_null(gw_policy_cidr_problem("10.0.0.0/+8"));
}

static void test_same_for(void **state)
{
    (void)state;
    fixture_t a = load(issue_policy);
    fixture_t b = load(issue_policy);
    for (unsigned v = 0; v <= 5; v++) {
        assert_true(gw_policy_same_for(a.p, b.p, v));
    }
    unload(&b);
    /* rule 2 changed: views 3 and later and the default may differ, 1 and 2 cannot */
    char changed[sizeof(issue_policy) + 16];
    snprintf(changed, sizeof(changed), "%s", issue_policy);
    memcpy(strstr(changed, "svc-ci"), "svc-cd", 6);
    b = load(changed);
    assert_true(gw_policy_same_for(a.p, b.p, 1));
    assert_true(gw_policy_same_for(a.p, b.p, 2));
    assert_false(gw_policy_same_for(a.p, b.p, 3));
    assert_false(gw_policy_same_for(a.p, b.p, 5));
    assert_false(gw_policy_same_for(a.p, b.p, 0));
    unload(&b);
    b = load("policy: {default: deny}\n");
    assert_false(gw_policy_same_for(a.p, b.p, 1));
    assert_false(gw_policy_same_for(a.p, NULL, 0));
    assert_true(gw_policy_same_for(NULL, NULL, 0));
    unload(&b);
    unload(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_match_wins), cmocka_unit_test(test_deny_over_allow),
        cmocka_unit_test(test_claims),           cmocka_unit_test(test_scopes),
        cmocka_unit_test(test_addresses),        cmocka_unit_test(test_no_policy),
        cmocka_unit_test(test_long_target),      cmocka_unit_test(test_view_names),
        cmocka_unit_test(test_same_for),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
