/* routes.h: the routing table the broker pushes (tool, prompt, resource and template names to
 * their owning server); a pure module: parsing and lookups, no sockets. */
#ifndef MCPGW_ROUTER_ROUTES_H
#define MCPGW_ROUTER_ROUTES_H

#include <stddef.h>
#include <stdint.h>

#include <yajl/yajl_tree.h>

#include "common/config.h"
#include "common/envelope.h"
#include "common/err.h"
#include "common/lists.h"

/* How often to report the sessions in use, until the broker says otherwise. */
#define RTR_ACTIVITY_MS_DEFAULT 5000

struct rtr_peer;

/* servers[].tool_timeouts from the routing table: a backend tool's deadline. */
typedef struct rtr_route_tool_timeout {
    char *tool; /* the backend's own name, without the prefix */
    uint64_t ms;
} rtr_route_tool_timeout_t;

typedef struct rtr_route_server {
    char *name;
    char *prefix;
    size_t prefix_len;
    unsigned workers; /* its servers[].workers: shards 0..workers - 1 (common/shard.h) */
    /* each shard's worker: NULL from rtr_routes_parse; the router sets them (not owned) */
    struct rtr_peer *peers[GW_WORKERS_MAX];
    uint64_t timeout_ms; /* the backend deadline of a call to this server (servers[].timeout) */
    rtr_route_tool_timeout_t *tool_timeouts;
    size_t ntool_timeouts;
    int resources; /* advertises resources */
    int logging;   /* advertises logging */
    int tasks;     /* advertises tasks */
} rtr_route_server_t;

typedef struct rtr_route_key {
    char *key;
    size_t server;
    unsigned absent; /* bit s: sessions of capability set s (GW_CAP_* bits) are not listed it */
} rtr_route_key_t;

/* The routing table pushed by the broker; replaced whole on every push. */
typedef struct rtr_routes {
    uint64_t generation;
    rtr_route_server_t *servers;
    size_t nservers;
    /* per list (common/lists.h, whose key names the table's map): sorted by key, but templates
     * in the broker's order */
    rtr_route_key_t *keys[GW_NLISTS];
    size_t nkeys[GW_NLISTS];
    uint64_t activity_ms; /* how often to report the sessions in use to the broker */
    unsigned pending;     /* bit s: capability set s is being fetched; names not known yet */
    /* "discover": per endpoint (0: mcp_path, n: endpoints[n - 1]), the capabilities object of
     * server/discover (JSON text, owned) and what it offers (RTR_OFFERS_* of router/era.h);
     * ndiscover 0 when the broker sent none */
    char **discover;
    unsigned *discover_offers;
    char **instructions; /* per endpoint likewise: a JSON string's text, or NULL for none */
    size_t ndiscover;
} rtr_routes_t;

/* Builds a table from the broker's JSON (docs/ipc.md) into *out (the caller's, to destroy);
 * GW_EPARSE when it is malformed, GW_ENOMEM when out of memory. Servers' peers are NULL. */
gw_err_t rtr_routes_parse(yajl_val root, rtr_routes_t **out);

/* Frees r and everything it holds; NULL is fine. */
void rtr_routes_destroy(rtr_routes_t *r);

/* The entry for key among the list kind's, or NULL; r may be NULL. */
const rtr_route_key_t *rtr_routes_find(const rtr_routes_t *r, gw_list_t kind, const char *key);
/* The same for a session whose client has capabilities caps (GW_CAP_*): NULL too for a name its
 * capability set does not list. While the set's lists are being fetched (pending), a name not
 * known yet goes to the server whose prefix it carries, in *scratch (docs/routing.md). */
const rtr_route_key_t *rtr_routes_find_for(const rtr_routes_t *r, unsigned caps, gw_list_t kind,
                                           const char *key, rtr_route_key_t *scratch);

/* The index of the server that owns resource uri (listed, else a matching template, else the
 * only server offering resources), or -1; r may be NULL. */
long rtr_routes_resource_owner(const rtr_routes_t *r, const char *uri);

/* The index of the server named name (len bytes), or -1; with tasks_only, only one offering
 * tasks. r may be NULL. */
long rtr_routes_server_named(const rtr_routes_t *r, const char *name, size_t len, int tasks_only);

/* The capabilities object server/discover answers with on endpoint, and what it offers in
 * *offers (RTR_OFFERS_*); with no table or none for endpoint, tools only. r may be NULL. */
const char *rtr_routes_discover(const rtr_routes_t *r, unsigned endpoint, unsigned *offers);
/* The instructions server/discover gives on endpoint, as a JSON string ("..."), or NULL. */
const char *rtr_routes_instructions(const rtr_routes_t *r, unsigned endpoint);

/* The peer (the worker of its shard) of s that serves e: its session's, or with no session its
 * caller's (common/shard.h). */
struct rtr_peer *rtr_routes_peer_of(const rtr_route_server_t *s, const gw_envelope_t *e);

/* The backend deadline of a tools/call of tool (the backend's own name) on s. */
uint64_t rtr_routes_tool_timeout(const rtr_route_server_t *s, const char *tool);

#endif
