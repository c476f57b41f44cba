/* endpoint.c: what an endpoint (a virtual server of endpoints[]) shows of the catalog, and which
 * endpoint a path is; read by the router for calls and by the broker for lists. */
#include <config.h> /* autoconf's, not common/config.h */

#include <stdlib.h>
#include <string.h>

#include "common/endpoint.h"
#include "common/glob.h"

#define TARGET_STACK 512

int gw_endpoint_of_path(const gw_config_t *c, const char *path, size_t len)
{
    if (strlen(c->mcp_path) == len && memcmp(c->mcp_path, path, len) == 0) {
        return (int)GW_ENDPOINT_MAIN;
    }
    for (size_t i = 0; i < c->nendpoints; i++) {
        if (strlen(c->endpoints[i].path) == len && memcmp(c->endpoints[i].path, path, len) == 0) {
            return (int)i + 1;
        }
    }
    return -1;
}

/* Whether server/name (n bytes) matches one of e's tools patterns. */
static int tool_matches(const gw_endpoint_conf_t *e, const char *server, const char *name, size_t n)
{
    char stack[TARGET_STACK];
    size_t len;
    char *t = gw_glob_target_join(stack, sizeof(stack), server, name, n, &len);
    if (t == NULL) {
        return 0; /* out of memory: refused, never let through */
    }
    int ok = 0;
    for (size_t i = 0; !ok && i < e->ntools; i++) {
        ok = gw_glob_match(e->tools[i], t, len);
    }
    if (t != stack) {
        free(t);
    }
    return ok;
}

int gw_endpoint_shows_server(const gw_config_t *c, unsigned endpoint, const char *server)
{
    if (endpoint == GW_ENDPOINT_MAIN) {
        return 1;
    }
    if (endpoint > c->nendpoints) {
        return 0;
    }
    const gw_endpoint_conf_t *e = &c->endpoints[endpoint - 1];
    for (size_t i = 0; i < e->nservers; i++) {
        if (strcmp(e->servers[i], server) == 0) {
            return 1;
        }
    }
    return 0;
}

int gw_endpoint_allows(const gw_config_t *c, unsigned endpoint, gw_list_t kind, const char *server,
                       const char *name, size_t n)
{
    if (endpoint == GW_ENDPOINT_MAIN) {
        return 1;
    }
    if (!gw_endpoint_shows_server(c, endpoint, server)) {
        return 0;
    }
    const gw_endpoint_conf_t *e = &c->endpoints[endpoint - 1];
    return kind != GW_LIST_TOOLS || !e->tools_set || tool_matches(e, server, name, n);
}
