/* policy_ctl.c: mcpgwctl policy test at the broker: a caller described by the command (subject,
 * scopes, claims, address, or anonymous) matched against the running policy, and the decision of
 * its view for one target (docs/policy.md). */
#include <config.h> /* autoconf's, not common/config.h */

#include <stdio.h>
#include <string.h>

#include "broker/broker.h"
#include "common/json.h"

gw_err_t brk_ctl_policy_test(brk_t *b, yajl_val args, yajl_gen g, char *err, size_t errlen)
{
    const gw_policy_t *p = b->cycle->cat.policy;
    const gw_config_t *cfg = b->cycle->cfg;
    const char *target = gw_json_get_string(args, "target");
    const char *address = gw_json_get_string(args, "address");
    yajl_val claims = gw_json_get(args, "claims");
    if (target == NULL || strchr(target, '/') == NULL) {
        snprintf(err, errlen,
                 "a target is server/name (the backend's own tool or prompt name, "
                 "a resource URI or a template)");
        return GW_EINVAL;
    }
    if (claims != NULL && !YAJL_IS_OBJECT(claims)) {
        snprintf(err, errlen, "claims must be an object");
        return GW_EINVAL;
    }
    gw_policy_address_t addr = {0};
    if (address != NULL && !gw_policy_address_parse(address, &addr)) {
        snprintf(err, errlen, "not an IPv4 or IPv6 address: %s", address);
        return GW_EINVAL;
    }
    int anonymous = YAJL_IS_TRUE(gw_json_get(args, "anonymous"));
    gw_policy_caller_t who = {
        .subject = anonymous ? NULL : gw_json_get_string(args, "subject"),
        .scope = gw_json_get_string(args, "scopes"),
        .claims = claims,
    };
    if (!anonymous && who.subject == NULL) {
        snprintf(err, errlen, "give --subject S, or --anonymous for a caller without a token");
        return GW_EINVAL;
    }
    gw_policy_rules_t rules;
    gw_policy_token_rules(p, &who, &rules);
    unsigned view = gw_policy_view(p, &rules, address != NULL ? &addr : NULL);
    int allowed = gw_policy_allows(p, view, target, strlen(target));
    char name[GW_POLICY_VIEW_NAME_MAX];
    yajl_gen_map_open(g);
    brk_status_kv_str(g, "target", target);
    brk_status_kv_str(g, "rule", p == NULL ? "none" : gw_policy_view_name(view, name));
    if (view != GW_POLICY_VIEW_DEFAULT) {
        gw_json_gen_cstr(g, "line");
        yajl_gen_integer(g, cfg->policy_rules[view - 1].line);
    } else if (p != NULL) {
        brk_status_kv_str(g, "default", cfg->policy_default_deny ? "deny" : "allow");
    }
    brk_status_kv_str(g, "decision", allowed ? "allowed" : "denied");
    return yajl_gen_map_close(g) == yajl_gen_status_ok ? GW_OK : GW_EINVAL;
}
