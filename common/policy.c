/* policy.c: the policy compiled from policy: in mcpgw.yaml: each rule's addresses as CIDRs, the
 * rules an anonymous caller meets, first match wins, deny over allow within a rule
 * (docs/policy.md). The patterns and strings stay the config's: a policy lives no longer than its
 * config. */
#include <config.h> /* autoconf's, not common/config.h */

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/glob.h"
#include "common/policy.h"

#define TARGET_STACK 512 /* targets longer than this are built on the heap */

typedef struct cidr {
    int family;
    uint8_t bytes[16];
    unsigned bits;
} cidr_t;

typedef struct rule {
    const gw_policy_rule_conf_t *conf;
    cidr_t *cidrs;
    size_t ncidrs;
} rule_t;

struct gw_policy {
    rule_t *rules;
    size_t nrules;
    int default_deny;
    gw_policy_rules_t anonymous; /* the rules a caller without a token meets */
    int anonymous_ready;         /* anonymous is computed (after create) */
};

/* ---- addresses ---- */

int gw_policy_address_parse(const char *text, gw_policy_address_t *out)
{
    memset(out, 0, sizeof(*out));
    if (inet_pton(AF_INET, text, out->bytes) == 1) {
        out->family = AF_INET;
        return 1;
    }
    if (inet_pton(AF_INET6, text, out->bytes) != 1) {
        return 0;
    }
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(out->bytes, mapped, sizeof(mapped)) == 0) {
        memmove(out->bytes, out->bytes + 12, 4);
        memset(out->bytes + 4, 0, 12);
        out->family = AF_INET;
        return 1;
    }
    out->family = AF_INET6;
    return 1;
}

/* Reads s into *c; NULL or what is wrong. */
static const char *cidr_parse(const char *s, cidr_t *c)
{
    char addr[INET6_ADDRSTRLEN + 1];
    const char *slash = strchr(s, '/');
    size_t alen = slash != NULL ? (size_t)(slash - s) : strlen(s);
    memset(c, 0, sizeof(*c));
    if (alen == 0 || alen >= sizeof(addr)) {
        return "not an IPv4 or IPv6 address or CIDR (e.g. 10.0.0.0/8, fd00::/8)";
    }
    memcpy(addr, s, alen);
    addr[alen] = '\0';
    if (inet_pton(AF_INET, addr, c->bytes) == 1) {
        c->family = AF_INET;
        c->bits = 32;
    } else if (inet_pton(AF_INET6, addr, c->bytes) == 1) {
        c->family = AF_INET6;
        c->bits = 128;
    } else {
        return "not an IPv4 or IPv6 address or CIDR (e.g. 10.0.0.0/8, fd00::/8)";
    }
    if (slash != NULL) {
        const char *p = slash + 1;
        unsigned bits = 0;
        size_t digits = strspn(p, "0123456789");
        if (digits == 0 || digits > 3 || p[digits] != '\0') {
            return "the prefix length after / must be a number";
        }
        for (size_t i = 0; i < digits; i++) {
            bits = bits * 10 + (unsigned)(p[i] - '0');
        }
        if (bits > c->bits) {
            return c->family == AF_INET ? "an IPv4 prefix length is at most 32"
                                        : "an IPv6 prefix length is at most 128";
        }
        c->bits = bits;
    }
    size_t len = c->family == AF_INET ? 4 : 16;
    for (size_t i = 0; i < len; i++) {
        unsigned keep = c->bits >= (i + 1) * 8 ? 8 : (c->bits > i * 8 ? c->bits - i * 8 : 0);
        uint8_t mask = (uint8_t)(0xff00u >> keep);
        if (c->bytes[i] & ~mask & 0xff) {
            return "has address bits set past its prefix length";
        }
    }
    return NULL;
}

const char *gw_policy_cidr_problem(const char *s)
{
    cidr_t c;
    return cidr_parse(s, &c);
}

static int cidr_holds(const cidr_t *c, const gw_policy_address_t *a)
{
    if (a->family != c->family) {
        return 0;
    }
    unsigned full = c->bits / 8, rest = c->bits % 8;
    if (memcmp(c->bytes, a->bytes, full) != 0) {
        return 0;
    }
    if (rest == 0) {
        return 1;
    }
    uint8_t mask = (uint8_t)(0xff00u >> rest);
    return (c->bytes[full] & mask) == (a->bytes[full] & mask);
}

/* ---- token keys ---- */

/* Whether word is one of the space-separated words of list. */
static int has_word(const char *list, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = list; p != NULL && *p != '\0';) {
        while (*p == ' ') {
            p++;
        }
        size_t w = strcspn(p, " ");
        if (w == n && w > 0 && memcmp(p, word, n) == 0) {
            return 1;
        }
        p += w;
    }
    return 0;
}

/* A claim's scalar equals value: a string byte for byte; true, false and numbers by their JSON
 * text. */
static int scalar_is(yajl_val v, const char *value)
{
    if (YAJL_IS_STRING(v)) {
        return strcmp(v->u.string, value) == 0;
    }
    if (YAJL_IS_TRUE(v)) {
        return strcmp(value, "true") == 0;
    }
    if (YAJL_IS_FALSE(v)) {
        return strcmp(value, "false") == 0;
    }
    if (YAJL_IS_NUMBER(v)) {
        return strcmp(v->u.number.r, value) == 0;
    }
    return 0;
}

static int claim_holds(yajl_val claims, const gw_policy_claim_conf_t *want)
{
    if (!YAJL_IS_OBJECT(claims)) {
        return 0;
    }
    yajl_val v = NULL;
    for (size_t i = 0; i < claims->u.object.len && v == NULL; i++) {
        if (strcmp(claims->u.object.keys[i], want->name) == 0) {
            v = claims->u.object.values[i];
        }
    }
    if (YAJL_IS_ARRAY(v)) {
        for (size_t i = 0; i < v->u.array.len; i++) {
            if (scalar_is(v->u.array.values[i], want->value)) {
                return 1;
            }
        }
        return 0;
    }
    return v != NULL && scalar_is(v, want->value);
}

static int token_keys_hold(const gw_policy_rule_conf_t *r, const gw_policy_caller_t *who)
{
    int anonymous = who->subject == NULL;
    if (r->anonymous_set && r->anonymous != anonymous) {
        return 0;
    }
    if (r->subject != NULL && (anonymous || strcmp(r->subject, who->subject) != 0)) {
        return 0;
    }
    for (size_t i = 0; i < r->nscopes; i++) {
        if (anonymous || !has_word(who->scope, r->scopes[i])) {
            return 0;
        }
    }
    for (size_t i = 0; i < r->nclaims; i++) {
        if (anonymous || !claim_holds(who->claims, &r->claims[i])) {
            return 0;
        }
    }
    return 1;
}

/* ---- life ---- */

gw_err_t gw_policy_create(const gw_config_t *c, gw_policy_t **out)
{
    *out = NULL;
    if (!c->policy_set) {
        return GW_OK;
    }
    if (c->npolicy_rules > GW_POLICY_RULES_MAX) {
        return GW_EINVAL;
    }
    gw_policy_t *p = calloc(1, sizeof(*p));
    if (p == NULL || (c->npolicy_rules > 0 &&
                      (p->rules = calloc(c->npolicy_rules, sizeof(*p->rules))) == NULL)) {
        free(p);
        return GW_ENOMEM;
    }
    p->default_deny = c->policy_default_deny;
    for (size_t i = 0; i < c->npolicy_rules; i++) {
        const gw_policy_rule_conf_t *rc = &c->policy_rules[i];
        rule_t *r = &p->rules[i];
        r->conf = rc;
        p->nrules++;
        if (rc->naddresses > 0 && (r->cidrs = calloc(rc->naddresses, sizeof(*r->cidrs))) == NULL) {
            gw_policy_destroy(p);
            return GW_ENOMEM;
        }
        for (size_t j = 0; j < rc->naddresses; j++, r->ncidrs++) {
            if (cidr_parse(rc->addresses[j], &r->cidrs[j]) != NULL) {
                gw_policy_destroy(p);
                return GW_EINVAL;
            }
        }
    }
    gw_policy_caller_t nobody = {0};
    gw_policy_token_rules(p, &nobody, &p->anonymous);
    p->anonymous_ready = 1;
    *out = p;
    return GW_OK;
}

void gw_policy_destroy(gw_policy_t *p)
{
    if (p == NULL) {
        return;
    }
    for (size_t i = 0; i < p->nrules; i++) {
        free(p->rules[i].cidrs);
    }
    free(p->rules);
    free(p);
}

size_t gw_policy_nrules(const gw_policy_t *p)
{
    return p != NULL ? p->nrules : 0;
}

/* ---- decisions ---- */

void gw_policy_token_rules(const gw_policy_t *p, const gw_policy_caller_t *who,
                           gw_policy_rules_t *out)
{
    memset(out, 0, sizeof(*out));
    if (p == NULL) {
        return;
    }
    if (who->subject == NULL && p->anonymous_ready) {
        *out = p->anonymous;
        return;
    }
    for (size_t i = 0; i < p->nrules; i++) {
        if (token_keys_hold(p->rules[i].conf, who)) {
            out->bits[i / 64] |= 1ull << (i % 64);
        }
    }
}

unsigned gw_policy_view(const gw_policy_t *p, const gw_policy_rules_t *rules,
                        const gw_policy_address_t *addr)
{
    if (p == NULL) {
        return GW_POLICY_VIEW_DEFAULT;
    }
    for (size_t w = 0; w < GW_POLICY_RULES_MAX / 64; w++) {
        for (uint64_t bits = rules->bits[w]; bits != 0; bits &= bits - 1) {
            size_t i = w * 64 + (size_t)__builtin_ctzll(bits);
            if (i >= p->nrules) {
                return GW_POLICY_VIEW_DEFAULT;
            }
            const rule_t *r = &p->rules[i];
            if (r->ncidrs == 0) {
                return (unsigned)i + 1;
            }
            for (size_t j = 0; addr != NULL && j < r->ncidrs; j++) {
                if (cidr_holds(&r->cidrs[j], addr)) {
                    return (unsigned)i + 1;
                }
            }
        }
    }
    return GW_POLICY_VIEW_DEFAULT;
}

static int any_matches(char *const *patterns, size_t n, const char *target, size_t len)
{
    for (size_t i = 0; i < n; i++) {
        if (gw_glob_match(patterns[i], target, len)) {
            return 1;
        }
    }
    return 0;
}

int gw_policy_allows(const gw_policy_t *p, unsigned view, const char *target, size_t n)
{
    if (p == NULL) {
        return 1;
    }
    if (view == GW_POLICY_VIEW_DEFAULT) {
        return !p->default_deny;
    }
    if (view > p->nrules) {
        return 0;
    }
    const gw_policy_rule_conf_t *r = p->rules[view - 1].conf;
    return !any_matches(r->deny, r->ndeny, target, n) &&
           any_matches(r->allow, r->nallow, target, n);
}

int gw_policy_allows_name(const gw_policy_t *p, unsigned view, const char *server, const char *name,
                          size_t n)
{
    if (p == NULL) {
        return 1;
    }
    char stack[TARGET_STACK];
    size_t len;
    char *t = gw_glob_target_join(stack, sizeof(stack), server, name, n, &len);
    if (t == NULL) {
        return 0; /* out of memory: refused, never let through */
    }
    int ok = gw_policy_allows(p, view, t, len);
    if (t != stack) {
        free(t);
    }
    return ok;
}

const char *gw_policy_view_name(unsigned view, char out[GW_POLICY_VIEW_NAME_MAX])
{
    if (view == GW_POLICY_VIEW_DEFAULT) {
        return "default";
    }
    snprintf(out, GW_POLICY_VIEW_NAME_MAX, "%u", view - 1);
    return out;
}

/* ---- comparing two policies ---- */

static int rule_same(const gw_policy_rule_conf_t *a, const gw_policy_rule_conf_t *b)
{
    if (a->anonymous_set != b->anonymous_set ||
        (a->anonymous_set && a->anonymous != b->anonymous) ||
        (a->subject == NULL) != (b->subject == NULL) ||
        (a->subject != NULL && strcmp(a->subject, b->subject) != 0) || a->nclaims != b->nclaims ||
        !gw_config_strings_same(a->scopes, a->nscopes, b->scopes, b->nscopes) ||
        !gw_config_strings_same(a->addresses, a->naddresses, b->addresses, b->naddresses) ||
        !gw_config_strings_same(a->allow, a->nallow, b->allow, b->nallow) ||
        !gw_config_strings_same(a->deny, a->ndeny, b->deny, b->ndeny)) {
        return 0;
    }
    for (size_t i = 0; i < a->nclaims; i++) {
        if (strcmp(a->claims[i].name, b->claims[i].name) != 0 ||
            strcmp(a->claims[i].value, b->claims[i].value) != 0) {
            return 0;
        }
    }
    return 1;
}

int gw_policy_same_for(const gw_policy_t *a, const gw_policy_t *b, unsigned view)
{
    if (a == NULL || b == NULL) {
        return a == b;
    }
    size_t upto = view == GW_POLICY_VIEW_DEFAULT ? a->nrules : view;
    if (view == GW_POLICY_VIEW_DEFAULT &&
        (a->nrules != b->nrules || a->default_deny != b->default_deny)) {
        return 0;
    }
    if (upto > a->nrules || upto > b->nrules) {
        return 0;
    }
    for (size_t i = 0; i < upto; i++) {
        if (!rule_same(a->rules[i].conf, b->rules[i].conf)) {
            return 0;
        }
    }
    return 1;
}
