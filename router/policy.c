/* policy.c: the policy at the router (docs/policy.md): the caller's view from its token's rules
 * and its client address, once per request, and the check of the target a call names. */
#include <config.h> /* autoconf's, not common/config.h */

#include <sys/socket.h>

#include "common/endpoint.h"
#include "common/tool_names.h"
#include "router/router.h"

/* The client address of req (family 0 when unknown). */
static void address_of(h2o_req_t *req, gw_policy_address_t *a)
{
    struct sockaddr_storage ss;
    memset(a, 0, sizeof(*a));
    socklen_t sl = req->conn->callbacks->get_peername(req->conn, (struct sockaddr *)&ss);
    if (sl > 0 && ss.ss_family == AF_INET) {
        a->family = AF_INET;
        memcpy(a->bytes, &((struct sockaddr_in *)&ss)->sin_addr, 4);
    } else if (sl > 0 && ss.ss_family == AF_INET6) {
        const uint8_t *b = (const uint8_t *)&((struct sockaddr_in6 *)&ss)->sin6_addr;
        static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(b, mapped, sizeof(mapped)) == 0) { /* a dual-stack listener's IPv4 client */
            a->family = AF_INET;
            memcpy(a->bytes, b + 12, 4);
        } else {
            a->family = AF_INET6;
            memcpy(a->bytes, b, 16);
        }
    }
}

void rtr_policy_place(rtr_t *r, h2o_req_t *req, rtr_caller_t *who)
{
    who->view = GW_POLICY_VIEW_DEFAULT;
    if (r->policy == NULL) {
        return;
    }
    if (!who->authenticated) {
        gw_policy_caller_t nobody = {0};
        gw_policy_token_rules(r->policy, &nobody, &who->rules); /* kept by the policy */
    }
    gw_policy_address_t a;
    address_of(req, &a);
    who->view = gw_policy_view(r->policy, &who->rules, &a);
}

unsigned rtr_policy_view(const rtr_t *r)
{
    return r->caller != NULL ? r->caller->view : GW_POLICY_VIEW_DEFAULT;
}

unsigned rtr_policy_envelope_view(const rtr_t *r)
{
    return r->caller != NULL ? gw_view_make(r->caller->endpoint, r->caller->view) : 0;
}

int rtr_policy_allows(rtr_t *r, gw_list_t kind, const char *server, const char *name, size_t n)
{
    unsigned endpoint = r->caller != NULL ? r->caller->endpoint : GW_ENDPOINT_MAIN;
    if (r->policy == NULL && endpoint == GW_ENDPOINT_MAIN) {
        return 1;
    }
    /* the patterns name the backend's own tools: a renamed one (servers[].tools) by its own */
    const gw_server_conf_t *conf = kind == GW_LIST_TOOLS ? gw_config_server(r->cfg, server) : NULL;
    const char *own = conf != NULL && gw_tool_names_active(&conf->tools)
                          ? gw_tool_names_backend(&conf->tools, name, NULL)
                          : NULL;
    if (own != NULL) {
        name = own;
        n = strlen(own);
    }
    if (!gw_endpoint_allows(r->cfg, endpoint, kind, server, name, n)) {
        return 0; /* not on this endpoint: as absent as a name no backend has */
    }
    if (gw_policy_allows_name(r->policy, rtr_policy_view(r), server, name, n)) {
        return 1;
    }
    gw_metric_add(r->m,
                  kind == GW_LIST_TOOLS     ? GW_MC_POLICY_DENIED_TOOL
                  : kind == GW_LIST_PROMPTS ? GW_MC_POLICY_DENIED_PROMPT
                                            : GW_MC_POLICY_DENIED_RESOURCE,
                  1);
    return 0;
}
