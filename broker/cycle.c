/* cycle.c: the broker's cycle, what a reload replaces as one piece: the config, the catalog
 * made for it and the metrics slot of each server's worker. */
#include <config.h> /* autoconf's, not common/config.h */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/broker.h"

gw_err_t brk_cycle_create(gw_config_t *cfg, brk_cycle_t **out)
{
    *out = NULL;
    brk_cycle_t *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        gw_config_destroy(cfg);
        return GW_ENOMEM;
    }
    c->cfg = cfg;
    gw_err_t err = brk_catalog_init(&c->cat, cfg);
    if (err != GW_OK) {
        brk_cycle_destroy(c);
        return err;
    }
    *out = c;
    return GW_OK;
}

void brk_cycle_destroy(brk_cycle_t *c)
{
    if (c == NULL) {
        return;
    }
    brk_catalog_fini(&c->cat); /* before the config its backends borrow from */
    gw_config_destroy(c->cfg);
    free(c);
}

unsigned brk_cycle_nworkers(const gw_config_t *cfg)
{
    unsigned n = 0;
    for (size_t i = 0; i < cfg->nservers; i++) {
        n += cfg->servers[i].workers;
    }
    return n;
}

long brk_cycle_worker_slot(brk_cycle_t *c, unsigned metrics_slots, const char *server,
                           unsigned shard)
{
    gw_name_t proc = gw_worker_shard_proc(server, shard);
    for (unsigned i = 0; i < c->nworker_slots; i++) {
        if (strcmp(c->worker_slots[i], proc.s) == 0) {
            return (long)(c->cfg->routers + i);
        }
    }
    if (c->cfg->routers + c->nworker_slots >= metrics_slots) {
        return -1;
    }
    snprintf(c->worker_slots[c->nworker_slots], sizeof(c->worker_slots[0]), "%s", proc.s);
    return (long)(c->cfg->routers + c->nworker_slots++);
}
