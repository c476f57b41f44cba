/* policy.h: the compiled policy (policy: in mcpgw.yaml, docs/policy.md): which rule a caller
 * matches, first match wins, and whether that rule lets a target ("server/name") through. Pure:
 * no I/O, no globals; a policy is immutable once made, so any thread may read it. */
#ifndef MCPGW_COMMON_POLICY_H
#define MCPGW_COMMON_POLICY_H

#include <stddef.h>
#include <stdint.h>
#include <yajl/yajl_tree.h>

#include "common/config.h"
#include "common/err.h"

#define GW_POLICY_RULES_MAX 256 /* policy.rules entries */
#define GW_POLICY_VIEWS (GW_POLICY_RULES_MAX + 1)
/* A caller's view: 0 when no rule matched (policy.default decides), i + 1 for rule i. The one
 * number a list request carries to the broker (gw_envelope_t.view). */
#define GW_POLICY_VIEW_DEFAULT 0u
#define GW_POLICY_VIEW_NAME_MAX 12 /* "default", or a rule's index */

typedef struct gw_policy gw_policy_t;

/* The rules whose token keys (scopes, claims, subject, anonymous) a caller meets, bit i for rule
 * i: computed once per verified token; the addresses are checked per request (gw_policy_view). */
typedef struct gw_policy_rules {
    uint64_t bits[GW_POLICY_RULES_MAX / 64];
} gw_policy_rules_t;

/* A client address: AF_INET (4 bytes) or AF_INET6 (16); family 0 for none known. An IPv4-mapped
 * IPv6 address (::ffff:a.b.c.d) is read as the IPv4 address. */
typedef struct gw_policy_address {
    int family;
    uint8_t bytes[16];
} gw_policy_address_t;

/* What a caller's verified token says; all NULL for an anonymous caller. The strings and the
 * tree are the caller's. */
typedef struct gw_policy_caller {
    const char *subject; /* sub; NULL: anonymous */
    const char *scope;   /* scopes joined by spaces (common/jwt.h claims.scope), or NULL */
    yajl_val claims;     /* the token's payload object, or NULL */
} gw_policy_caller_t;

/* Compiles c's policy into *out (the caller's, gw_policy_destroy); *out is NULL when c has no
 * policy section: every caller sees everything. GW_ENOMEM, or GW_EINVAL for what the config
 * loader would have refused. */
gw_err_t gw_policy_create(const gw_config_t *c, gw_policy_t **out);
void gw_policy_destroy(gw_policy_t *p);
/* How many rules p has (0 for NULL). */
size_t gw_policy_nrules(const gw_policy_t *p);

/* The rules whose token keys who meets (addresses not looked at). p may be NULL. */
void gw_policy_token_rules(const gw_policy_t *p, const gw_policy_caller_t *who,
                           gw_policy_rules_t *out);
/* The view of a caller with token rules rules from address addr (NULL or family 0: no address
 * rule holds it): the first of rules whose addresses, if any, hold addr. p may be NULL (then 0). */
unsigned gw_policy_view(const gw_policy_t *p, const gw_policy_rules_t *rules,
                        const gw_policy_address_t *addr);
/* Whether view lets target (n bytes, "server/name") through: the rule's deny patterns refuse,
 * then its allow patterns let through, anything else is refused; in the default view,
 * policy.default decides. Without a policy (p NULL) everything is allowed; a view p does not
 * have is refused. */
int gw_policy_allows(const gw_policy_t *p, unsigned view, const char *target, size_t n);
/* The same for server's name (n bytes): the target "server/name", built here. */
int gw_policy_allows_name(const gw_policy_t *p, unsigned view, const char *server, const char *name,
                          size_t n);

/* Whether a and b (either may be NULL: no policy) decide alike who has view and what it lets
 * through: the default and the rules up to view's (all of them for the default view, which a
 * caller has when none matched) read the same. A reload that keeps this for a session's view
 * changes nothing that session sees but through the catalog. */
int gw_policy_same_for(const gw_policy_t *a, const gw_policy_t *b, unsigned view);

/* The text of view for logs and audit lines: "default" or the rule's index. */
const char *gw_policy_view_name(unsigned view, char out[GW_POLICY_VIEW_NAME_MAX]);
/* Reads a numeric IPv4 or IPv6 address (a client's) into *out; 0 when it is not one. */
int gw_policy_address_parse(const char *text, gw_policy_address_t *out);
/* Checks a CIDR ("10.0.0.0/8", "fd00::/8", or an address alone); returns NULL or what is
 * wrong. */
const char *gw_policy_cidr_problem(const char *s);

#endif
