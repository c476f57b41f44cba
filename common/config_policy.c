/* config_policy.c: the policy section of mcpgw.yaml (docs/policy.md): the default and the rules,
 * each a match (scopes, claims, subject, anonymous, addresses) and its allow and deny patterns,
 * checked here so that common/policy.c compiles them without a failure of its own; and freeing
 * it all. */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "common/config_int.h"
#include "common/glob.h"
#include "common/policy.h"

#define CLAIMS_MAX 16
#define LIST_MAX 1024 /* entries of one rule's scopes, addresses, allow or deny */

static const char *const default_names[] = {"allow", "deny", NULL}; /* policy_default_deny 0, 1 */

static gw_err_t set_claims(gw_config_ctx_t *cx, const gw_config_directive_t *d,
                           const gw_config_node_t *v, const char *path, void *obj)
{
    gw_policy_rule_conf_t *r = obj;
    (void)d;
    if (v->kind != GW_CONFIG_MAPPING) {
        return gw_config_fail(cx, v, path, "expected a mapping of claim names to strings");
    }
    size_t n = v->nitems / 2;
    if (n > CLAIMS_MAX) {
        return gw_config_fail(cx, v, path, "at most %d claims", CLAIMS_MAX);
    }
    if (n > 0 && (r->claims = calloc(n, sizeof(*r->claims))) == NULL) {
        return gw_config_fail_nomem(cx);
    }
    for (size_t i = 0; i < n; i++) {
        const gw_config_node_t *key = v->items[2 * i], *val = v->items[2 * i + 1];
        char sub[GW_CONFIG_KEY_PATH_MAX];
        gw_config_path_join(sub, path, key->text);
        r->nclaims++; /* owned by r from here */
        if (key->len == 0 || memchr(key->text, '\0', key->len) != NULL) {
            return gw_config_fail(cx, key, sub, "a claim name must not be empty");
        }
        if ((r->claims[i].name = strdup(key->text)) == NULL) {
            return gw_config_fail_nomem(cx);
        }
        if (val->kind != GW_CONFIG_SCALAR) {
            return gw_config_fail(cx, val, sub,
                                  "expected a string (a list claim matches when it contains it)");
        }
        gw_err_t err = gw_config_take_nonempty(cx, val, sub, &r->claims[i].value);
        if (err != GW_OK) {
            return err;
        }
    }
    return GW_OK;
}

static const gw_config_directive_t match_directives[] = {
    {GW_CONFIG_ROW_STRLIST("scopes", gw_policy_rule_conf_t, scopes, nscopes)},
    {GW_CONFIG_ROW_CUSTOM("claims", set_claims)},
    {GW_CONFIG_ROW_NONEMPTY("subject", gw_policy_rule_conf_t, subject)},
    {GW_CONFIG_ROW_BOOL("anonymous", gw_policy_rule_conf_t, anonymous),
     .msg = "must be true or false"},
    {GW_CONFIG_ROW_STRLIST("addresses", gw_policy_rule_conf_t, addresses, naddresses)},
};

static const gw_config_directive_t rule_directives[] = {
    {GW_CONFIG_ROW_SECTION("match", match_directives)},
    {GW_CONFIG_ROW_STRLIST("allow", gw_policy_rule_conf_t, allow, nallow)},
    {GW_CONFIG_ROW_STRLIST("deny", gw_policy_rule_conf_t, deny, ndeny)},
    {.key = "rate",
     .type = GW_CONFIG_CUSTOM,
     .offset = GW_CONFIG_FIELD(gw_policy_rule_conf_t, rate, gw_rate_conf_t),
     .set = gw_config_set_rate},
};

/* The entries of key's list in rule n (count of them), each checked by problem. */
static gw_err_t check_list(gw_config_ctx_t *cx, const gw_config_node_t *n, const char *path,
                           const char *key, char *const *list, size_t count,
                           const char *(*problem)(const char *))
{
    char sub[GW_CONFIG_KEY_PATH_MAX], item[GW_CONFIG_KEY_PATH_MAX];
    gw_config_path_join(sub, path, key);
    const gw_config_node_t *v = gw_config_node_value_of(n, key);
    if (count > LIST_MAX) {
        return gw_config_fail(cx, v, sub, "at most %d entries", LIST_MAX);
    }
    for (size_t i = 0; i < count; i++) {
        const char *why = problem(list[i]);
        if (why != NULL) {
            gw_config_path_index(item, sub, i);
            return gw_config_fail(cx, v != n && i < v->nitems ? v->items[i] : v, item, "%s", why);
        }
    }
    return GW_OK;
}

static const char *pattern_problem(const char *s)
{
    return gw_glob_valid(s) ? NULL : "a pattern must not end in a lone \\";
}

static const char *any_problem(const char *s)
{
    (void)s;
    return NULL;
}

/* What a rule must say beyond its keys. */
static gw_err_t check_rule(gw_config_ctx_t *cx, const gw_config_node_t *n, const char *path,
                           gw_policy_rule_conf_t *r)
{
    const gw_config_node_t *match = gw_config_node_value_of(n, "match");
    char mpath[GW_CONFIG_KEY_PATH_MAX];
    gw_config_path_join(mpath, path, "match");
    r->anonymous_set = match != n && gw_config_node_value_of(match, "anonymous") != match;
    if (r->anonymous_set && r->anonymous &&
        (r->nscopes > 0 || r->nclaims > 0 || r->subject != NULL)) {
        return gw_config_fail(cx, match, mpath,
                              "anonymous: true matches callers without a token: it cannot be "
                              "combined with scopes, claims or subject");
    }
    gw_err_t err = GW_OK;
    if (match != n) {
        err = check_list(cx, match, mpath, "scopes", r->scopes, r->nscopes, any_problem);
        if (err == GW_OK) {
            err = check_list(cx, match, mpath, "addresses", r->addresses, r->naddresses,
                             gw_policy_cidr_problem);
        }
    }
    if (err == GW_OK) {
        err = check_list(cx, n, path, "allow", r->allow, r->nallow, pattern_problem);
    }
    if (err == GW_OK) {
        err = check_list(cx, n, path, "deny", r->deny, r->ndeny, pattern_problem);
    }
    return err;
}

static gw_err_t set_rules(gw_config_ctx_t *cx, const gw_config_directive_t *d,
                          const gw_config_node_t *v, const char *path, void *obj)
{
    gw_config_t *c = obj;
    (void)d;
    void *items;
    gw_err_t started =
        gw_config_list_start(cx, v, path, "{match, allow, deny}", GW_POLICY_RULES_MAX, "rules",
                             sizeof(*c->policy_rules), &items);
    if (started != GW_OK || (c->policy_rules = items) == NULL) {
        return started;
    }
    for (size_t i = 0; i < v->nitems; i++) {
        char sub[GW_CONFIG_KEY_PATH_MAX];
        gw_config_path_index(sub, path, i);
        gw_policy_rule_conf_t *r = &c->policy_rules[i];
        c->npolicy_rules++; /* owned by c from here: gw_config_destroy frees what got filled */
        r->line = v->items[i]->line;
        gw_err_t err = gw_config_check_map(cx, v->items[i], sub, rule_directives,
                                           GW_CONFIG_NELEM(rule_directives), r);
        if (err == GW_OK) {
            err = check_rule(cx, v->items[i], sub, r);
        }
        if (err != GW_OK) {
            return err;
        }
    }
    return GW_OK;
}

static const gw_config_directive_t policy_directives[] = {
    {GW_CONFIG_ROW_ENUM("default", gw_config_t, policy_default_deny), .def = 0,
     .names = default_names, .msg = "must be allow or deny"},
    {GW_CONFIG_ROW_CUSTOM("rules", set_rules)},
};

gw_err_t gw_config_set_policy(gw_config_ctx_t *cx, const gw_config_directive_t *d,
                              const gw_config_node_t *v, const char *path, void *obj)
{
    gw_config_t *c = obj;
    (void)d;
    if (gw_config_node_is_null(v)) {
        return GW_OK;
    }
    c->policy_set = 1;
    return gw_config_check_map(cx, v, path, policy_directives, GW_CONFIG_NELEM(policy_directives),
                               c);
}

void gw_config_policy_fini(gw_config_t *c)
{
    for (size_t i = 0; i < c->npolicy_rules; i++) {
        gw_policy_rule_conf_t *r = &c->policy_rules[i];
        gw_config_strings_free(r->scopes, r->nscopes);
        for (size_t j = 0; j < r->nclaims; j++) {
            free(r->claims[j].name);
            free(r->claims[j].value);
        }
        free(r->claims);
        free(r->subject);
        gw_config_strings_free(r->addresses, r->naddresses);
        gw_config_strings_free(r->allow, r->nallow);
        gw_config_strings_free(r->deny, r->ndeny);
    }
    free(c->policy_rules);
}
