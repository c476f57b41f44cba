/* main.c: mcpgw-worker, the process that owns one backend MCP server: its HTTP client (one
 * libcurl multi), the upstream sessions behind the gateway's sessions, and the backend's catalog.
 * Options, the worker context's init and fini. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <nng/nng.h>

#include "common/config.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/names.h"
#include "worker/worker.h"

/* Sets the context up; on failure what was set up is for wrk_fini. */
static gw_err_t wrk_init(wrk_t *w, gw_config_t *cfg, const gw_server_conf_t *srv, unsigned shard)
{
    gw_err_t err;

    memset(w, 0, sizeof(*w));
    w->cfg = cfg;
    w->srv = srv;
    w->name = srv->name;
    w->sigs.rd = -1;
    w->ep = -1;
    list_init(&w->initializing);
    list_init(&w->calls);
    list_init(&w->backlog);
    list_init(&w->closers);
    list_init(&w->posts);
    list_init(&w->srvreqs);
    list_init(&w->levels);
    list_init(&w->relisten);
    list_init(&w->stream_waits);
    list_init(&w->resuming);
    list_init(&w->input_waits);
    list_init(&w->pool);
    wrk_sessmap_init(&w->sessions);
    wrk_sessmap_init(&w->listeners);
    wrk_era_init(w);
    wrk_catalog_init(w);
    if ((err = wrk_mrtr_start(w)) != GW_OK) {
        gw_log_err("msg=\"cannot prepare the table of parked calls\" backend=%s error=\"%s\"",
                   w->name, gw_strerror(err));
        return err;
    }

    if ((err = wrk_loop_setup(w)) != GW_OK) {
        gw_log_err("msg=\"cannot create the epoll set or the signal pipe\" backend=%s error=\"%s\"",
                   w->name, strerror(errno));
        return err;
    }
    if ((err = wrk_xfer_setup(w)) != GW_OK) {
        gw_log_err("msg=\"cannot set up libcurl\" backend=%s", w->name);
        return err;
    }
    w->inbox_name = gw_worker_shard_inbox(w->name, shard); /* servers[].workers */
    if ((err = gw_inbox_open(&w->inbox, cfg->runtime_dir, w->inbox_name.s)) != GW_OK) {
        gw_log_err("msg=\"cannot listen\" backend=%s inbox=%s error=\"%s\"", w->name,
                   w->inbox_name.s, gw_strerror(err));
        return err;
    }
    w->inbox_open = 1;
    if ((err = wrk_loop_watch_inbox(w)) != GW_OK) {
        return err;
    }
    gw_outboxes_init(&w->out, cfg->runtime_dir, WRK_OUTBOX_MAX_BYTES);
    if (wrk_reply_outbox(w, GW_STR(GW_BROKER_NAME)) == NULL) {
        return GW_ENOMEM;
    }
    gw_log_info("msg=started backend=%s url=%s timeout_ms=%" PRIu64, w->name, srv->url,
                srv->timeout_ms);
    return GW_OK;
}

static void wrk_fini(wrk_t *w)
{
    while (!list_empty(&w->calls)) {
        wrk_call_destroy(GW_CONTAINER_OF(w->calls.next, call_t, link));
    }
    wrk_catalog_fini(w);
    while (!list_empty(&w->probe.waiting)) {
        call_t *c = GW_CONTAINER_OF(w->probe.waiting.next, call_t, qlink);
        list_remove(&c->qlink);
    }
    wrk_era_fini(w);
    wrk_xtools_fini(w);
    wrk_srvreq_fini(w);
    wrk_levels_fini(w);
    wrk_closer_free_all(&w->closers);
    wrk_closer_free_all(&w->posts);
    while (!list_empty(&w->initializing)) {
        upstream_t *up = GW_CONTAINER_OF(w->initializing.next, upstream_t, ilink);
        wrk_xfer_cancel(&up->x);
        list_remove(&up->ilink);
        wrk_upstream_unref(up);
    }
    wrk_upstream_detach_all(w);
    wrk_stream_listeners_fini(w);
    wrk_xfer_teardown(w);
    if (w->inbox_open) {
        gw_inbox_close(&w->inbox);
    }
    gw_outboxes_fini(&w->out);
    wrk_loop_teardown(w);
    wrk_mrtr_stop(w); /* after the calls, which free their slots */
}

static void usage(FILE *f)
{
    fprintf(f, "usage: mcpgw-worker -c CONFIG --server NAME [--shard K] [--metrics-slot N]\n"
               "\n"
               "Serves one backend MCP server of the mcpgw gateway: started by mcpgw-broker.\n"
               "\n"
               "  -c, --config CONFIG  the mcpgw.yaml to load\n"
               "  -s, --server NAME    the configured server (servers[].name) to serve\n"
               "  -k, --shard K        which of its servers[].workers this is (default 0)\n"
               "  -h, --help           show this help\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"server", required_argument, NULL, 's'},
        {"metrics-slot", required_argument, NULL, 'm'},
        {"shard", required_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *path = NULL;
    const char *name = NULL;
    gw_config_t *cfg = NULL;
    const gw_server_conf_t *srv;
    char err[512];
    gw_name_t proc;
    wrk_t w;
    int opt;
    int rc = 1;
    long slot = -1;
    long shard = 0;

    while ((opt = getopt_long(argc, argv, "c:s:m:k:h", opts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            path = optarg;
            break;
        case 's':
            name = optarg;
            break;
        case 'm':
            slot = strtol(optarg, NULL, 10);
            break;
        case 'k':
            shard = strtol(optarg, NULL, 10);
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (path == NULL || name == NULL || optind != argc) {
        usage(stderr);
        return 2;
    }
    if (gw_config_load(path, &cfg, err, sizeof(err)) != GW_OK) {
        fprintf(stderr, "mcpgw-worker: %s\n", err);
        return 1;
    }
    if ((srv = gw_config_server(cfg, name)) == NULL) {
        fprintf(stderr, "mcpgw-worker: %s: no server named \"%s\"\n", path, name);
        gw_config_destroy(cfg);
        return 1;
    }
    if (shard < 0 || shard >= (long)srv->workers) {
        fprintf(stderr, "mcpgw-worker: %s: server \"%s\" has no worker %ld (servers[].workers)\n",
                path, name, shard);
        gw_config_destroy(cfg);
        return 1;
    }
    proc = gw_worker_shard_proc(srv->name, (unsigned)shard);
    gw_log_setup(proc.s, cfg->log_level);
    gw_log_set_json(cfg->log_json);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        gw_log_err("msg=\"cannot initialise libcurl\" backend=%s", srv->name);
        gw_config_destroy(cfg);
        return 1;
    }
    gw_metrics_slot_t *m = NULL;
    if (slot >= 0) {
        char mpath[GW_MAILBOX_PATH_MAX + 16];
        snprintf(mpath, sizeof(mpath), "%s/metrics", cfg->runtime_dir);
        if (gw_metrics_attach(mpath, (unsigned)slot, proc.s, &m) != GW_OK) {
            gw_log_warn("msg=\"running without metrics\" path=%s", mpath);
        }
    }
    if (wrk_init(&w, cfg, srv, (unsigned)shard) == GW_OK) {
        w.m = m;
        wrk_loop_run(&w);
        if (!list_empty(&w.calls)) {
            wrk_call_abort_all(&w);
            gw_outboxes_flush(&w.out);
        }
        gw_log_info("msg=stopped backend=%s", w.name);
        rc = 0;
    }
    wrk_fini(&w);
    curl_global_cleanup();
    gw_config_destroy(cfg);
    nng_fini();
    return rc;
}
