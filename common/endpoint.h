/* endpoint.h: virtual servers (endpoints[] of mcpgw.yaml, docs/routing.md): which path a request
 * came to, what of the catalog that endpoint shows (one check for the router's calls and the
 * broker's lists), and the view number a request carries between processes, its endpoint folded
 * with its policy view. */
#ifndef MCPGW_COMMON_ENDPOINT_H
#define MCPGW_COMMON_ENDPOINT_H

#include <stddef.h>

#include "common/config.h"
#include "common/lists.h"
#include "common/policy.h"

#define GW_ENDPOINT_MAIN 0u /* mcp_path: the whole catalog */
/* Views a request may carry: (GW_ENDPOINTS_MAX + 1) * GW_POLICY_VIEWS, 16705, fits the
 * envelope's 16 bits. */
#define GW_VIEWS ((GW_ENDPOINTS_MAX + 1) * GW_POLICY_VIEWS)

/* The view of a request to endpoint (0: mcp_path) whose caller's policy view is pview. */
static inline unsigned gw_view_make(unsigned endpoint, unsigned pview)
{
    return endpoint * GW_POLICY_VIEWS + pview;
}
/* The endpoint of view v, and its policy view. */
static inline unsigned gw_view_endpoint(unsigned v)
{
    return v / GW_POLICY_VIEWS;
}
static inline unsigned gw_view_policy(unsigned v)
{
    return v % GW_POLICY_VIEWS;
}

/* The endpoint served at path (len bytes): 0 for mcp_path, n for endpoints[n - 1]; -1 for none. */
int gw_endpoint_of_path(const gw_config_t *c, const char *path, size_t len);

/* Whether endpoint (0: mcp_path, every server) shows server (its initialize's capabilities
 * count that backend's). */
int gw_endpoint_shows_server(const gw_config_t *c, unsigned endpoint, const char *server);

/* Whether endpoint (0: mcp_path, which shows everything) shows server's item of kind: a tool
 * when server is one of its servers and, when it narrows tools, server/name matches one of its
 * patterns; a prompt, resource or template when server is one of its servers. name (n bytes) is
 * the backend's own (a tool before its prefix and any rename). An endpoint of no config (a
 * number past c's endpoints) shows nothing. */
int gw_endpoint_allows(const gw_config_t *c, unsigned endpoint, gw_list_t kind, const char *server,
                       const char *name, size_t n);

#endif
