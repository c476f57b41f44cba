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
#include "common/policy.h"

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

/* Client capability sets (GW_CAP_* bits of a session): the lists a backend offers may differ
 * per set (docs/routing.md). Set 0, no capability, is the default set every worker fetches. */
#define BRK_CAP_SETS 8u
#define BRK_CAP_SET_MASK 0x07u

/* A backend's lists for one capability set other than the default. */
typedef struct brk_lists {
    brk_item_t *items[GW_NLISTS];
    size_t nitems[GW_NLISTS];
} brk_lists_t;

typedef struct brk_backend {
    const gw_server_conf_t *conf; /* borrowed from the config the catalog was made for */
    brk_backend_state_t state;
    char *error; /* the worker's reason when DOWN */
    brk_caps_t caps;
    /* the lists of the default set (from the report of set 0, which also says up or down) */
    brk_item_t *items[GW_NLISTS];
    size_t nitems[GW_NLISTS];
    /* bit s: the worker reported the lists of set s (> 0); sets[s] holds them (owned), or is
     * NULL when they read as the default set's (shared, nothing copied) */
    unsigned sets_reported;
    brk_lists_t *sets[BRK_CAP_SETS];
} brk_backend_t;

/* What sessions of one capability set page through: every UP backend's items for that set (or,
 * until its worker reported the set, for the largest reported set with fewer capabilities) in
 * config order, an item whose key an earlier backend already uses left out (and counted:
 * "collisions are reported, never silently shadowed"). Pointers into the backends' items. */
typedef struct brk_view {
    const brk_item_t **merged[GW_NLISTS];
    size_t nmerged[GW_NLISTS];
    size_t collisions;
    /* The generation at which each merged list last changed: its gateway cursors carry it, so a
     * change of one list (or of another set's) leaves the other cursors valid. */
    uint64_t list_generation[GW_NLISTS];
} brk_view_t;

typedef struct brk_filters brk_filters_t; /* catalog_policy.c */

typedef struct brk_catalog {
    const gw_config_t *cfg;
    brk_backend_t *backends; /* in config order, one per server */
    size_t nbackends;
    /* Moves only when what a client pages through changed (an item of a merged list of any
     * view added, removed, reordered or rewritten); one counter for every view, so that a
     * cursor of one set is never valid in another. */
    uint64_t generation;
    /* views[s] for sessions of capability set s; built while bit s of active is set (a session
     * of that set was seen since start or reload), the default set's always. */
    brk_view_t views[BRK_CAP_SETS];
    unsigned active;
    /* Moves whenever a view's lists are replaced (brk_views_swap, brk_catalog_activate): what
     * was filtered from them before is built again. Starts at 1. */
    uint64_t views_epoch;
    /* Bit l: two active capability sets see list l differently (a backend lists more to clients
     * that declare sampling, say), so one caller's page says nothing of another's: modern
     * answers say cacheScope "private" (brk_catalog_caps_vary_update keeps it). */
    unsigned caps_vary;
    gw_policy_t *policy;    /* the config's policy, or NULL (everything listed to everyone) */
    brk_filters_t *filters; /* the lists filtered per view (owned; with policy or endpoints) */
    /* The capabilities object initialize answers with (JSON text, owned): the union of the
     * backends that are up, rebuilt when a report changes one of them. Never NULL after init. */
    char *capabilities;
    char **endpoint_capabilities; /* the same for each endpoint, its servers' only (owned) */
} brk_catalog_t;

/* What applying a report changed (brk_catalog_apply_report's *changed). */
typedef enum brk_change {
    BRK_CHANGED_LISTS = 1u << 0,  /* a merged list: a new generation, list_changed to clients */
    BRK_CHANGED_ROUTES = 1u << 1, /* the routing table: push it to the routers */
    BRK_CHANGED_SET = 1u << 2,    /* the report was of a set other than the default: a wait for
                                     that set may be over (broker/cap_sets.c) */
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
/* A fingerprint of what sessions of set s see of list l: it differs when the list changed. */
uint64_t brk_catalog_digest(const brk_catalog_t *cat, unsigned s, gw_list_t l);
/* How many backends have reported (up or down). */
size_t brk_catalog_reported(const brk_catalog_t *cat);
/* Appends one page of list l for sessions of capability set s as a result object
 * ({"tools":[…],"nextCursor":"…"}) to out. cursor is the client's (NULL for the first page).
 * GW_EINVAL for a stale or forged cursor. */
gw_err_t brk_catalog_page(const brk_catalog_t *cat, unsigned s, gw_list_t l, const char *cursor,
                          size_t page_size, gw_buf_t *out);
/* The same for a caller of policy view view (common/policy.h): the page of the list filtered for
 * that view, its cursors valid in that view only. GW_ENOMEM when the filtered list cannot be
 * built. */
gw_err_t brk_catalog_page_for(const brk_catalog_t *cat, unsigned s, unsigned view, gw_list_t l,
                              const char *cursor, size_t page_size, gw_buf_t *out);
/* Does any backend that is up, and that endpoint shows (0: the main path, all of them),
 * advertise the capability (e.g. "prompts")? */
int brk_catalog_offers(const brk_catalog_t *cat, const char *capability, unsigned endpoint);

/* ---- catalog_sets.c: capability sets ---- */

/* The view sessions of set s page through (the default set's while s is not active). */
const brk_view_t *brk_catalog_view(const brk_catalog_t *cat, unsigned s);
/* The set whose lists backend b has for sessions of set s: s once reported, else the largest
 * reported set with fewer capabilities, at worst the default (0). */
unsigned brk_catalog_set_for(const brk_backend_t *b, unsigned s);
/* Has every backend that is up reported the lists of set s (always true for 0)? */
int brk_catalog_set_complete(const brk_catalog_t *cat, unsigned s);
/* Makes set s active: its view is built (from what backends reported, with fallbacks) and kept
 * from now on. *changed gets BRK_CHANGED_ROUTES when that changed the routing table. Returns
 * GW_ENOMEM with nothing changed; GW_OK at once for a set already active. */
gw_err_t brk_catalog_activate(brk_catalog_t *cat, unsigned s, unsigned *changed);
/* Recomputes cat->caps_vary from the active views (whenever they change). */
void brk_catalog_caps_vary_update(brk_catalog_t *cat);
/* Is list l filtered per caller, so that a modern answer of it must say cacheScope "private"?
 * Yes with auth (auth.resource) or a policy configured, or when capability sets see it
 * differently (caps_vary); else "public". The answer may change between two pages of one list
 * (a set that lists otherwise appears): modern cursors carry the scope of their pages
 * (broker/methods.c), so that no client pages through one list under two scopes. */
int brk_catalog_list_private(const brk_catalog_t *cat, gw_list_t l);
/* Frees ls and its items; NULL is fine. */
void brk_lists_destroy(brk_lists_t *ls);
/* Frees a backend's lists of the other sets. */
void brk_catalog_sets_clear(brk_backend_t *b);
/* Rebuilds every active view into m (BRK_CAP_SETS of them; the inactive ones empty): on
 * failure m holds nothing. */
gw_err_t brk_views_build(brk_catalog_t *cat, brk_view_t *m);
/* Swaps the views m in (their list generations set: kept where a list reads the same, a new
 * generation where one changed), m then holds the ones replaced (for brk_views_free). Returns
 * the brk_change_t bits; *sets (may be NULL) gets bit s for each set s whose lists changed. */
unsigned brk_views_swap(brk_catalog_t *cat, brk_view_t *m, unsigned *sets);
void brk_views_free(brk_view_t *m);
/* Builds one view for set s into *m (config order, first owner of a key wins); on failure *m
 * holds nothing. */
gw_err_t brk_view_build(brk_catalog_t *cat, unsigned s, brk_view_t *m);
/* Do two versions of a merged list read alike to a client (the same objects in the same order)?
 * *owners_same (may be NULL) says whether the same backends own them too. */
int brk_list_same(const brk_item_t *const *a, size_t na, const brk_item_t *const *b, size_t nb,
                  int *owners_same);
/* The routing table's name maps (the union of the active views, in set order, first owner of a
 * key wins) and, for tools and prompts a set does not list, the "absent" map (docs/ipc.md). */
gw_err_t brk_catalog_gen_names(const brk_catalog_t *cat, yajl_gen g);

/* ---- catalog_policy.c: the lists per policy view ---- */

/* Compiles the config's policy into cat (nothing without one); GW_ENOMEM. */
gw_err_t brk_catalog_policy_init(brk_catalog_t *cat);
void brk_catalog_policy_fini(brk_catalog_t *cat);
/* List l of set s as policy view view sees it, in *items (valid until the views next change) and
 * *n: the merged list itself without a policy, else the filtered one, built at the first request
 * after a change of the views and kept. GW_ENOMEM. */
gw_err_t brk_catalog_filtered(const brk_catalog_t *cat, unsigned s, unsigned view, gw_list_t l,
                              const brk_item_t *const **items, size_t *n);
/* A fingerprint of list l of set s as policy view view sees it (brk_catalog_digest, filtered). */
uint64_t brk_catalog_digest_for(const brk_catalog_t *cat, unsigned s, unsigned view, gw_list_t l);

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
/* The same for each endpoint of cat's config, of its servers only: an array of one string per
 * endpoint (NULL without endpoints), freed with brk_capabilities_endpoints_free. */
gw_err_t brk_capabilities_merge_endpoints(const brk_catalog_t *cat, char ***out);
void brk_capabilities_endpoints_free(const brk_catalog_t *cat, char **caps);
/* Writes "discover": [...] into the routing table: the capabilities object server/discover
 * answers with on each endpoint (index 0: mcp_path, n: endpoints[n - 1]), in 2026-07-28 form (no
 * tasks key); routers answer server/discover and gate methods by it (docs/design-2026-07-28.md
 * §3). Then "instructions": [...], each endpoint's (a string, or null for none). */
yajl_gen_status brk_capabilities_gen_discover(const brk_catalog_t *cat, yajl_gen g);
/* The capabilities object initialize answers on endpoint (0: mcp_path); a string of cat. */
const char *brk_capabilities_of(const brk_catalog_t *cat, unsigned endpoint);
/* How often routers report the sessions in use to the broker (the routing table's activity_ms):
 * a quarter of sessions.idle_timeout, from 500 ms to 5 s; 5 s when sessions never idle out. */
uint64_t brk_activity_ms(const gw_config_t *cfg);
/* Appends the routing table JSON (docs/ipc.md) to out; seq numbers the push (routers
 * acknowledge it). Revocations travel in messages of their own. */
gw_err_t brk_catalog_routes(const brk_catalog_t *cat, uint64_t seq, gw_buf_t *out);

#endif
