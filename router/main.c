/* main.c: mcpgw-router's main: options, config, keys, the h2o context, listeners, signals, the
 * maintenance timer and the event loop. */
#include <config.h> /* autoconf's, not common/config.h */

#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "common/log.h"
#include "common/clock.h"
#include "router/router.h"

static void on_signal_readable(h2o_socket_t *sock, const char *err)
{
    rtr_t *r = sock->data;
    if (gw_signals_take(&r->signals) == 0 || r->stopping) {
        return;
    }
    r->stopping = 1;
    r->stop_deadline = gw_clock_ms() + 5000;
    gw_log_info("msg=stopping in_flight=%zu streams=%zu", r->ncalls - r->nstreams, r->nstreams);
    /* GET streams never end by themselves: end them now (clients reconnect elsewhere) */
    rtr_streams_end(r);
    rtr_listeners_stop(r);
}

/* Every 500 ms: the subscription until a routing table came, expired revocations, HTTP/1
 * clients of modern calls gone, activity reports, and outboxes whose peer is away (dialed again
 * when their backoff has passed, so an idle router reconnects too). */
static void on_retry_timer(h2o_timeout_entry_t *entry)
{
    rtr_t *r = H2O_STRUCT_FROM_MEMBER(rtr_t, retry_entry, entry);
    if (r->routes == NULL) {
        rtr_control_subscribe(r);
    }
    int64_t now = gw_clock_ms();
    if (now >= r->next_purge_ms) {
        r->next_purge_ms = now + 60000;
        gw_revoked_purge(&r->revoked, gw_wallclock_s()); /* their tokens no longer open anyway */
    }
    rtr_h2_resets_sweep(r, now);
    rtr_h1_gone_sweep(r);
    if (now >= r->next_activity_ms) {
        rtr_session_use_report(r);
        r->next_activity_ms =
            now + (int64_t)(r->routes != NULL ? r->routes->activity_ms : RTR_ACTIVITY_MS_DEFAULT);
    }
    for (rtr_peer_t *p = r->peers; p != NULL; p = p->next) {
        gw_outbox_redial_tick(&p->out, now);
    }
    h2o_timeout_link(r->ctx.loop, &r->retry_timeout, &r->retry_entry);
}

static void usage(FILE *f)
{
    fprintf(f, "usage: mcpgw-router -c CONFIG --index N --listen-fd FD[,FD...]\n"
               "The HTTP front of mcpgw; started and supervised by mcpgw-broker.\n");
}

static int parse_fds(const char *s, int *fds, size_t max, size_t *n)
{
    *n = 0;
    while (*s != '\0') {
        char *end;
        long v = strtol(s, &end, 10);
        if (end == s || v < 0 || v > 65535 || *n >= max) {
            return -1;
        }
        fds[(*n)++] = (int)v;
        s = *end == ',' ? end + 1 : end;
        if (*end != ',' && *end != '\0') {
            return -1;
        }
    }
    return *n > 0 ? 0 : -1;
}

/* The h2o configuration and context: limits from the config, the MCP endpoint's handler. */
static void setup_h2o(rtr_t *r)
{
    h2o_config_init(&r->h2o_config);
    r->h2o_config.server_name = h2o_iovec_init(H2O_STRLIT("mcpgw"));
    /* h2o buffers a body before our handler sees it and cuts the connection (a plain 413 that
     * clients often see as a reset) past this cap; below it a client gets our JSON-RPC 413. A
     * clear answer for anything up to 64 MiB is worth reading that much before refusing it. */
    uint64_t cap = 64u << 20;
    if (cap < r->cfg->max_request_body + 65536) {
        cap = r->cfg->max_request_body + 65536;
    }
    r->h2o_config.max_request_entity_size = cap;
    r->h2o_config.http1.req_timeout = r->cfg->client_timeout_ms;
    r->h2o_config.http2.idle_timeout = r->cfg->client_timeout_ms;
    h2o_hostconf_t *host =
        h2o_config_register_host(&r->h2o_config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    rtr_endpoint_register(r, h2o_config_register_path(host, "/", 0));
    h2o_context_init(&r->ctx, h2o_evloop_create(), &r->h2o_config);
}

/* SIGTERM and SIGINT stop the router gracefully, through common/signals' pipe read in the
 * loop. */
static gw_err_t setup_signals(rtr_t *r)
{
    static const int sigs[] = {SIGTERM, SIGINT};
    gw_err_t err = gw_signals_open(&r->signals, sigs, sizeof(sigs) / sizeof(sigs[0]));
    if (err != GW_OK) {
        return err;
    }
    r->signal_sock = h2o_evloop_socket_create(r->ctx.loop, gw_signals_fd(&r->signals),
                                              H2O_SOCKET_FLAG_DONT_READ);
    r->signal_sock->data = r;
    h2o_socket_read_start(r->signal_sock, on_signal_readable);
    return GW_OK;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"index", required_argument, NULL, 'i'},
                                         {"listen-fd", required_argument, NULL, 'l'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    static rtr_t rtr; /* alive until exit: what it holds is never reported as leaked */
    rtr_t *r = &rtr;
    const char *config_path = NULL;
    const char *fds_arg = NULL;
    int opt;
    while ((opt = getopt_long(argc, argv, "c:i:l:h", opts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            config_path = optarg;
            break;
        case 'i':
            r->index = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'l':
            fds_arg = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    int fds[RTR_MAX_LISTENERS];
    size_t nfds = 0;
    if (config_path == NULL || fds_arg == NULL ||
        parse_fds(fds_arg, fds, RTR_MAX_LISTENERS, &nfds)) {
        usage(stderr);
        return 2;
    }
    gw_name_t procname = gw_router_proc(r->index);
    const char *proc = procname.s;
    gw_log_setup(proc, GW_LOG_INFO);
    char err[512];
    if (gw_config_load(config_path, &r->cfg, err, sizeof(err)) != GW_OK) {
        gw_log_err("msg=\"bad config\" error=\"%s\"", err);
        return 1;
    }
    gw_log_setup(proc, r->cfg->log_level);
    gw_log_set_json(r->cfg->log_json);
    char mpath[GW_MAILBOX_PATH_MAX + 16];
    snprintf(mpath, sizeof(mpath), "%s/metrics", r->cfg->runtime_dir);
    if (gw_metrics_attach(mpath, r->index, proc, &r->m) != GW_OK) {
        gw_log_warn("msg=\"running without metrics\" path=%s", mpath);
    }
    if (rtr_rate_open(r) != GW_OK) {
        return 1;
    }
    if (gw_keyring_load(r->cfg->key_file, 0, &r->keys, err, sizeof(err)) != GW_OK) {
        gw_log_err("msg=\"cannot load session keys\" error=\"%s\"", err);
        return 1;
    }
    if (rtr_mrtr_start(r) != GW_OK) {
        gw_log_err("msg=\"out of memory deriving the requestState keys\"");
        return 1;
    }
    if (rtr_auth_create(r) != GW_OK) {
        gw_log_err("msg=\"out of memory reading auth\"");
        return 1;
    }
    if (gw_policy_create(r->cfg, &r->policy) != GW_OK) {
        gw_log_err("msg=\"cannot compile the policy\"");
        return 1;
    }
    unsigned char rnd[4];
    RAND_bytes(rnd, sizeof(rnd));
    snprintf(r->request_id_prefix, sizeof(r->request_id_prefix), "%02x%02x%02x%02x", rnd[0], rnd[1],
             rnd[2], rnd[3]);
    signal(SIGPIPE, SIG_IGN);

    gw_htable_init(&r->calls);
    h2o_linklist_init_anchor(&r->h1_calls);
    gw_htable_init(&r->uses);
    gw_htable_init(&r->h2_resets);
    gw_htable_init(&r->h2_reset_addrs);
    setup_h2o(r);
    if (rtr_inbox_open(r) != GW_OK) {
        return 1;
    }
    rtr_call_timeout_list(r, RTR_BROKER_TIMEOUT_MS + RTR_DEADLINE_GRACE_MS);
    if (rtr_peer_create(r, GW_BROKER_NAME, &r->broker) != GW_OK) {
        return 1;
    }
    /* accepting starts with the first routing table (rtr_listeners_start) */
    if (rtr_listeners_open(r, fds, nfds) != GW_OK) {
        return 1;
    }
    if (setup_signals(r) != GW_OK) {
        return 1;
    }
    rtr_slow_clients_start(r);
    h2o_timeout_init(r->ctx.loop, &r->retry_timeout, 500);
    h2o_timeout_init(r->ctx.loop, &r->heartbeat, r->cfg->sse_heartbeat_ms);
    r->retry_entry.cb = on_retry_timer;
    h2o_timeout_link(r->ctx.loop, &r->retry_timeout, &r->retry_entry);
    rtr_control_subscribe(r);
    rtr_peers_flush(r);
    gw_log_info("msg=started listeners=%zu", r->nlisteners);

    while (!r->stopping || (r->ncalls > 0 && gw_clock_ms() < r->stop_deadline)) {
        h2o_evloop_run(r->ctx.loop, r->stopping ? 100 : INT32_MAX);
        rtr_peers_flush(r);
    }
    gw_log_info("msg=stopped in_flight=%zu", r->ncalls);
    rtr_listeners_close(r);
    rtr_auth_destroy(r);
    gw_policy_destroy(r->policy);
    rtr_rate_close(r);
    return 0;
}
