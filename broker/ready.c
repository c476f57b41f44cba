/* ready.c: when the gateway is ready (every router on the latest routing table, the backends in)
 * and what says so: READY=1 to systemd, the admin listener's /readyz and the broker's lines of
 * /metrics. */
#include <config.h> /* autoconf's, not common/config.h */

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "broker/broker.h"
#include "common/clock.h"
#include "common/log.h"

/* systemd's readiness protocol: one datagram to $NOTIFY_SOCKET. */
static void sd_notify_ready(void)
{
    const char *path = getenv("NOTIFY_SOCKET");
    if (path == NULL || (path[0] != '/' && path[0] != '@')) {
        return;
    }
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t len = strlen(path);
    if (len >= sizeof(sa.sun_path)) {
        return;
    }
    memcpy(sa.sun_path, path, len);
    if (sa.sun_path[0] == '@') {
        sa.sun_path[0] = '\0';
    }
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return;
    }
    static const char msg[] = "READY=1";
    sendto(fd, msg, sizeof(msg) - 1, 0, (struct sockaddr *)&sa,
           (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len));
    close(fd);
}

size_t brk_ready_backends_up(const brk_t *b)
{
    const brk_catalog_t *cat = &b->cycle->cat;
    size_t n = 0;
    for (size_t i = 0; i < cat->nbackends; i++) {
        n += cat->backends[i].state == BRK_BACKEND_UP;
    }
    return n;
}

void brk_ready_check(brk_t *b)
{
    if (b->ready) {
        return;
    }
    const gw_config_t *cfg = b->cycle->cfg;
    const brk_catalog_t *cat = &b->cycle->cat;
    unsigned routers = 0;
    int applied = 1; /* every router routes with the latest table (the backends reported in it) */
    for (unsigned i = 0; i < cfg->routers && i < BRK_MAX_ROUTERS; i++) {
        routers += b->subs[i].active;
        applied &= !b->subs[i].active || b->subs[i].acked >= b->routes_seq;
    }
    int backends_in = brk_catalog_reported(cat) == cat->nbackends ||
                      gw_clock_ms() - b->start_ms > BRK_READY_WAIT_MS;
    if (routers < cfg->routers || !backends_in || !applied) {
        return;
    }
    b->ready = 1;
    gw_log_info("msg=ready listen=%s admin=%s routers=%u backends=%zu backends_up=%zu",
                b->listen_desc, b->admin != NULL ? b->admin_desc : "off", routers, cat->nbackends,
                brk_ready_backends_up(b));
    sd_notify_ready();
}

static void admin_metrics(void *arg, gw_buf_t *out)
{
    const brk_t *b = arg;
    const brk_catalog_t *cat = &b->cycle->cat;
    gw_metrics_render(b->metrics, out);
    brk_keys_metrics(b, out);
    gw_buf_appendf(out,
                   "# HELP mcpgw_ready Whether the gateway is ready (listeners up, backends in).\n"
                   "# TYPE mcpgw_ready gauge\nmcpgw_ready %d\n"
                   "# HELP mcpgw_sessions Live gateway sessions known to the broker.\n"
                   "# TYPE mcpgw_sessions gauge\nmcpgw_sessions %zu\n"
                   "# HELP mcpgw_sessions_expired_total Sessions the gateway ended, by reason.\n"
                   "# TYPE mcpgw_sessions_expired_total counter\n"
                   "mcpgw_sessions_expired_total{reason=\"idle\"} %llu\n"
                   "# HELP mcpgw_list_waits_total List requests that waited for their capability "
                   "set's first fetch, by outcome.\n"
                   "# TYPE mcpgw_list_waits_total counter\n"
                   "mcpgw_list_waits_total{outcome=\"fetched\"} %llu\n"
                   "mcpgw_list_waits_total{outcome=\"timeout\"} %llu\n"
                   "# HELP mcpgw_backend_up Whether a backend is up (its worker fetched its "
                   "catalog).\n# TYPE mcpgw_backend_up gauge\n",
                   b->ready, b->nsessions - b->nrevoked, (unsigned long long)b->idle_expired,
                   (unsigned long long)b->list_waits_fetched,
                   (unsigned long long)b->list_waits_timeout);
    for (size_t i = 0; i < cat->nbackends; i++) {
        gw_buf_appendf(out, "mcpgw_backend_up{backend=\"%s\"} %d\n", cat->backends[i].conf->name,
                       cat->backends[i].state == BRK_BACKEND_UP);
    }
    gw_buf_appends(out, "# HELP mcpgw_backend_tools Tools a backend offers.\n"
                        "# TYPE mcpgw_backend_tools gauge\n");
    for (size_t i = 0; i < cat->nbackends; i++) {
        gw_buf_appendf(out, "mcpgw_backend_tools{backend=\"%s\"} %zu\n",
                       cat->backends[i].conf->name, cat->backends[i].nitems[GW_LIST_TOOLS]);
    }
    gw_buf_appends(out, "# HELP mcpgw_process_restarts_total Restarts of a child process.\n"
                        "# TYPE mcpgw_process_restarts_total counter\n");
    for (size_t i = 0; i < b->sup.nchildren; i++) {
        gw_buf_appendf(out, "mcpgw_process_restarts_total{process=\"%s\"} %u\n",
                       b->sup.children[i].name, b->sup.children[i].restarts);
    }
    gw_buf_appendf(out,
                   "# HELP mcpgw_name_collisions Catalog items hidden by a name collision.\n"
                   "# TYPE mcpgw_name_collisions gauge\nmcpgw_name_collisions %zu\n",
                   cat->views[0].collisions);
}

static int admin_ready(void *arg, char *why, size_t whylen)
{
    const brk_t *b = arg;
    size_t nbackends = b->cycle->cat.nbackends;
    size_t min = b->cycle->cfg->ready_min_backends;
    size_t need = min < nbackends ? min : nbackends;
    if (!b->ready) {
        snprintf(why, whylen, "starting");
        return 0;
    }
    if (b->stopping || b->drain_deadline_ms != 0) {
        snprintf(why, whylen, b->stopping ? "stopping" : "draining");
        return 0;
    }
    if (brk_ready_backends_up(b) < need) {
        snprintf(why, whylen, "%zu of %zu backends up, %zu needed (admin.ready_min_backends)",
                 brk_ready_backends_up(b), nbackends, need);
        return 0;
    }
    return 1;
}

brk_admin_ops_t brk_ready_admin_ops(brk_t *b)
{
    return (brk_admin_ops_t){.metrics = admin_metrics, .ready = admin_ready, .arg = b};
}
