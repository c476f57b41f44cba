/* children.c: the routers and workers the broker spawns (servers[].workers of each backend, one
 * per shard): where their programs are, the argument list of each, handed to the supervisor. */
#include <config.h> /* autoconf's, not common/config.h */

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "broker/broker.h"
#include "common/log.h"

gw_err_t brk_children_find_program(const char *name, char *out, size_t outlen)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n > 0) {
        self[n] = '\0';
        char *slash = strrchr(self, '/');
        if (slash != NULL) {
            *slash = '\0';
            int w = snprintf(out, outlen, "%s/%s", self, name);
            if (w > 0 && (size_t)w < outlen && access(out, X_OK) == 0) {
                return GW_OK;
            }
        }
    }
    snprintf(out, outlen, "%s/%s", MCPGW_LIBEXECDIR, name);
    return access(out, X_OK) == 0 ? GW_OK : GW_ENOTFOUND;
}

gw_err_t brk_children_add_worker(brk_t *b, const char *program, const char *server, unsigned shard)
{
    gw_name_t name = gw_worker_shard_proc(server, shard);
    char slot[16];
    char k[16];
    snprintf(slot, sizeof(slot), "%ld",
             brk_cycle_worker_slot(b->cycle, b->metrics_slots, server, shard));
    snprintf(k, sizeof(k), "%u", shard);
    char *argv[] = {(char *)program, "-c", b->config_path,   "--server", (char *)server,
                    "--shard",       k,    "--metrics-slot", slot,       NULL};
    return brk_sup_add(&b->sup, BRK_ROLE_WORKER, name.s, argv, NULL) != NULL ? GW_OK : GW_ENOMEM;
}

gw_err_t brk_children_add_all(brk_t *b)
{
    const gw_config_t *cfg = b->cycle->cfg;
    char router[PATH_MAX];
    char worker[PATH_MAX];
    if (brk_children_find_program("mcpgw-router", router, sizeof(router)) != GW_OK ||
        (cfg->nservers > 0 &&
         brk_children_find_program("mcpgw-worker", worker, sizeof(worker)) != GW_OK)) {
        gw_log_err("msg=\"cannot find mcpgw-router or mcpgw-worker\" libexecdir=%s",
                   MCPGW_LIBEXECDIR);
        return GW_ENOTFOUND;
    }
    char fds[128] = "";
    size_t off = 0;
    for (size_t i = 0; i < b->nlisten; i++) {
        off +=
            (size_t)snprintf(fds + off, sizeof(fds) - off, "%s%d", i ? "," : "", b->listen_fds[i]);
    }
    for (unsigned i = 0; i < cfg->routers; i++) {
        char idx[16];
        gw_name_t name = gw_router_proc(i);
        snprintf(idx, sizeof(idx), "%u", i);
        char *argv[] = {router, "-c", b->config_path, "--index", idx, "--listen-fd", fds, NULL};
        if (brk_sup_add(&b->sup, BRK_ROLE_ROUTER, name.s, argv, b->listen_fds) == NULL) {
            return GW_ENOMEM;
        }
    }
    for (size_t i = 0; i < cfg->nservers; i++) {
        for (unsigned k = 0; k < cfg->servers[i].workers; k++) {
            gw_err_t err = brk_children_add_worker(b, worker, cfg->servers[i].name, k);
            if (err != GW_OK) {
                return err;
            }
        }
    }
    return GW_OK;
}
