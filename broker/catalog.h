/* catalog.h: the aggregated catalog the broker builds from its workers' reports: every backend's
 * tools and prompts under its prefix, resources and templates under their own URIs, the union of
 * capabilities, the pages of every list method and the routing table routers receive. */
#ifndef MCPGW_BROKER_CATALOG_H
#define MCPGW_BROKER_CATALOG_H

#include <stddef.h>
#include <stdint.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "common/buf.h"
#include "common/config.h"
#include "common/err.h"
#include "common/htable.h"
#include "common/lists.h"

typedef enum brk_backend_state {
    BRK_BACKEND_PENDING = 0, /* no report from its worker yet */
    BRK_BACKEND_UP,
    BRK_BACKEND_DOWN, /* the worker reported a failure */
} brk_backend_state_t;

/* The capabilities the gateway acts on (brk_capabilities_read). */
typedef enum brk_cap {
    BRK_CAP_TOOLS = 1u << 0,
    BRK_CAP_PROMPTS = 1u << 1,
    BRK_CAP_RESOURCES = 1u << 2,
    BRK_CAP_SUBSCRIBE = 1u << 3, /* resources.subscribe */
    BRK_CAP_LOGGING = 1u << 4,
    BRK_CAP_COMPLETIONS = 1u << 5,
    BRK_CAP_TASKS = 1u << 6,
} brk_cap_t;

/* What the broker keeps of a backend's capabilities object: read once per report, so that one
 * with a huge object (an experimental member of megabytes) costs nothing afterwards. */
typedef struct brk_caps {
    unsigned bits; /* brk_cap_t */
    char *tasks;   /* the tasks capability, JSON text (owned), or NULL */
} brk_caps_t;

/* One listed thing: its key (exposed tool or prompt name, resource URI, URI template) and its
 * JSON object as clients see it. */
typedef struct brk_item {
    char *key;
    char *json;
    size_t server;   /* index of the owning backend */
    gw_hnode_t node; /* in the key table of a merge (catalog.c), only while it runs */
} brk_item_t;

typedef struct brk_backend {
    const gw_server_conf_t *conf; /* borrowed from the config the catalog was made for */
    brk_backend_state_t state;
    char *error; /* the worker's reason when DOWN */
    brk_caps_t caps;
    brk_item_t *items[GW_NLISTS];
    size_t nitems[GW_NLISTS];
} brk_backend_t;

typedef struct brk_catalog {
    const gw_config_t *cfg;
    brk_backend_t *backends; /* in config order, one per server */
    size_t nbackends;
    /* Moves only when what a client pages through changed (an item of a merged list added,
     * removed, reordered or rewritten). */
    uint64_t generation;
    /* The generation at which each merged list last changed: its gateway cursors carry it, so a
     * change of one list leaves the cursors of the others valid. */
    uint64_t list_generation[GW_NLISTS];
    /* What clients see: every UP backend's items in config order, an item whose key an earlier
     * backend already uses left out (and counted: "collisions are reported, never silently
     * shadowed"). Pointers into the backends' items. */
    const brk_item_t **merged[GW_NLISTS];
    size_t nmerged[GW_NLISTS];
    size_t collisions;
    /* The capabilities object initialize answers with (JSON text, owned): the union of the
     * backends that are up, rebuilt when a report changes one of them. Never NULL after init. */
    char *capabilities;
} brk_catalog_t;

/* What applying a report changed (brk_catalog_apply_report's *changed). */
typedef enum brk_change {
    BRK_CHANGED_LISTS = 1u << 0,  /* a merged list: a new generation, list_changed to clients */
    BRK_CHANGED_ROUTES = 1u << 1, /* the routing table: push it to the routers */
} brk_change_t;

gw_err_t brk_catalog_init(brk_catalog_t *cat, const gw_config_t *cfg);
void brk_catalog_fini(brk_catalog_t *cat);
/* Takes a worker's "catalog" report (docs/ipc.md). Returns GW_OK when it was applied, with
 * *changed (may be NULL) the brk_change_t bits of what moved: none for a report that says what
 * the catalog already holds (the same lists again, a backend down that is still down). On
 * GW_ENOMEM the catalog is as it was. */
gw_err_t brk_catalog_apply_report(brk_catalog_t *cat, const char *json, size_t len,
                                  unsigned *changed);
brk_backend_t *brk_catalog_backend(brk_catalog_t *cat, const char *name);
/* Reload: moves what old learnt about server name (its worker's last report) into cat, where the
 * server kept its settings; returns 1 when it did. Call brk_catalog_refresh after the moves. */
int brk_catalog_adopt(brk_catalog_t *cat, brk_catalog_t *old, const char *name);
/* Rebuilds what clients see after adoptions. The generation is prev's when every merged list is
 * as prev had it (old cursors stay valid), a new one otherwise (they are refused); prev NULL: a
 * new one. */
gw_err_t brk_catalog_refresh(brk_catalog_t *cat, const brk_catalog_t *prev);
/* Do two server settings route and call alike (url, prefix, headers, timeouts)? */
int brk_server_same(const gw_server_conf_t *a, const gw_server_conf_t *b);
/* A fingerprint of what clients see of list l: it differs when the list changed. */
uint64_t brk_catalog_digest(const brk_catalog_t *cat, gw_list_t l);
/* How many backends have reported (up or down). */
size_t brk_catalog_reported(const brk_catalog_t *cat);
/* Appends one page of list l as a result object ({"tools":[…],"nextCursor":"…"}) to out.
 * cursor is the client's (NULL for the first page). GW_EINVAL for a stale or forged cursor. */
gw_err_t brk_catalog_page(const brk_catalog_t *cat, gw_list_t l, const char *cursor,
                          size_t page_size, gw_buf_t *out);
/* Does any backend that is up advertise the capability (e.g. "prompts")? */
int brk_catalog_offers(const brk_catalog_t *cat, const char *capability);

/* ---- capabilities.c ---- */

/* Reads what the gateway keeps of a backend's capabilities object caps (anything else: none)
 * into *out; GW_ENOMEM leaves *out for brk_capabilities_clear. */
gw_err_t brk_capabilities_read(yajl_val caps, brk_caps_t *out);
void brk_capabilities_clear(brk_caps_t *c);
int brk_capabilities_same(const brk_caps_t *a, const brk_caps_t *b);
/* Does c hold the capability called name ("prompts", "logging", ...)? */
int brk_capabilities_has(const brk_caps_t *c, const char *name);
/* The gateway's capabilities object for what cat's backends that are up offer, as JSON text in
 * *out (the caller's, free()). */
gw_err_t brk_capabilities_merge(const brk_catalog_t *cat, char **out);
/* How often routers report the sessions in use to the broker (the routing table's activity_ms):
 * a quarter of sessions.idle_timeout, from 500 ms to 5 s; 5 s when sessions never idle out. */
uint64_t brk_activity_ms(const gw_config_t *cfg);
/* Appends the routing table JSON (docs/ipc.md) to out; seq numbers the push (routers
 * acknowledge it). Revocations travel in messages of their own. */
gw_err_t brk_catalog_routes(const brk_catalog_t *cat, uint64_t seq, gw_buf_t *out);

#endif
