/* catalog.h: the aggregated catalog the broker builds from its workers' reports: every backend's
 * tools under its prefix, the union of capabilities, and the routing table routers receive. */
#ifndef MCPGW_BROKER_CATALOG_H
#define MCPGW_BROKER_CATALOG_H

#include <stddef.h>
#include <stdint.h>
#include <yajl/yajl_gen.h>

#include "common/buf.h"
#include "common/config.h"
#include "common/err.h"

typedef enum brk_backend_state {
    BRK_BACKEND_PENDING = 0, /* no report from its worker yet */
    BRK_BACKEND_UP,
    BRK_BACKEND_DOWN, /* the worker reported a failure */
} brk_backend_state_t;

typedef struct brk_backend {
    const gw_server_conf_t *conf; /* borrowed from the config the catalog was made for */
    brk_backend_state_t state;
    char *error;         /* the worker's reason when DOWN */
    char *capabilities;  /* the backend's capabilities object, JSON text, or NULL */
    char **tool_names;   /* exposed (prefixed) names of the tools this backend serves */
    size_t ntools;
    gw_buf_t tools_json; /* those tools' objects, prefixed, comma-joined */
} brk_backend_t;

typedef struct brk_catalog {
    const gw_config_t *cfg;
    brk_backend_t *backends; /* in config order, one per server */
    size_t nbackends;
    uint64_t generation; /* bumped on every change */
    size_t collisions;   /* tools hidden because an earlier backend exposes the same name */
} brk_catalog_t;

gw_err_t brk_catalog_init(brk_catalog_t *cat, const gw_config_t *cfg);
void brk_catalog_fini(brk_catalog_t *cat);
/* Takes a worker's "catalog" report (docs/ipc.md). Returns GW_OK when it was applied. */
gw_err_t brk_catalog_apply_report(brk_catalog_t *cat, const char *json, size_t len);
brk_backend_t *brk_catalog_backend(brk_catalog_t *cat, const char *name);
/* How many backends have reported (up or down). */
size_t brk_catalog_reported(const brk_catalog_t *cat);
/* Appends the tools/list result object {"tools":[…]} to out. */
gw_err_t brk_catalog_tools_result(const brk_catalog_t *cat, gw_buf_t *out);
/* Writes the union of the backends' capabilities (plus the gateway's own) as an object into g. */
void brk_catalog_gen_capabilities(const brk_catalog_t *cat, yajl_gen g);
/* Appends the routing table JSON (docs/ipc.md) to out; revoked is a list of session uuids.
 * Counts (and logs) name collisions into cat->collisions. */
gw_err_t brk_catalog_routes(brk_catalog_t *cat, char *const *revoked, size_t nrevoked,
                            gw_buf_t *out);

#endif
