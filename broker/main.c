/* main.c: mcpgw-broker, the process systemd starts: options, start-up in order (sockets, keys,
 * metrics, admin, listeners, children), the event loop, and the orderly stop. */
#include <config.h> /* autoconf's, not common/config.h */

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <nng/nng.h>

#include "broker/broker.h"
#include "common/clock.h"
#include "common/log.h"

static void on_signals(brk_t *b)
{
    uint32_t seen = gw_signals_take(&b->signals);
    if (seen & GW_SIGBIT(SIGCHLD)) {
        brk_sup_reap(&b->sup, gw_clock_ms());
    }
    if (seen & GW_SIGBIT(SIGHUP)) {
        char msg[600];
        brk_reload(b, msg, sizeof(msg));
    }
    if (seen & (GW_SIGBIT(SIGTERM) | GW_SIGBIT(SIGINT))) {
        b->stopping = 1;
    }
}

/* How long one turn may wait: restarts due, readiness, idle sessions. */
static int turn_timeout(brk_t *b, int64_t now)
{
    int timeout = brk_sup_next_timeout(&b->sup, now);
    if (!b->ready || timeout < 0 || timeout > 1000) {
        timeout = b->ready ? 1000 : 100;
    }
    if (b->cycle->cfg->session_idle_ms > 0 && b->next_idle_ms - now < timeout) {
        timeout = b->next_idle_ms > now ? (int)(b->next_idle_ms - now) : 0;
    }
    int64_t acks = brk_listen_tick(b, now); /* listens waiting for their backends */
    if (acks != INT64_MAX && acks - now < timeout) {
        timeout = acks > now ? (int)(acks - now) : 0;
    }
    int64_t waits = brk_list_wait_run(b, now, 0); /* list requests waiting for their set */
    if (waits != INT64_MAX && waits - now < timeout) {
        timeout = waits > now ? (int)(waits - now) : 0;
    }
    int64_t dial = gw_outboxes_next_dial(&b->out); /* frames waiting for a peer that is away */
    if (dial != INT64_MAX && dial - now < timeout) {
        timeout = dial > now ? (int)(dial - now) : 0;
    }
    return timeout;
}

/* The periodic work at the end of a turn: readiness, expiry sweeps, idle sessions. */
static void on_timers(brk_t *b)
{
    int64_t now = gw_clock_ms();
    brk_ready_check(b);
    if (now >= b->next_sweep_ms) {
        b->next_sweep_ms = now + 60000;
        brk_sessions_sweep(b, gw_wallclock_s()); /* routers drop expired revocations themselves */
    }
    if (b->cycle->cfg->session_idle_ms > 0 && now >= b->next_idle_ms) {
        b->next_idle_ms = now + (int64_t)brk_activity_ms(b->cycle->cfg);
        brk_session_end_idle(b, now);
    }
}

static void run(brk_t *b)
{
    struct pollfd pfd[3 + GW_OUTBOXES_MAX + 64];
    pfd[0] = (struct pollfd){.fd = gw_signals_fd(&b->signals), .events = POLLIN};
    pfd[1] = (struct pollfd){.fd = gw_inbox_fd(&b->inbox), .events = POLLIN};
    pfd[2] = (struct pollfd){.fd = gw_ipc_recv_fd(b->csock), .events = POLLIN};
    while (!b->stopping) {
        int64_t now = gw_clock_ms();
        brk_sup_start_due(&b->sup, now);
        int timeout = turn_timeout(b, now);
        int keys_wait = brk_keys_tick(b, now);
        if (keys_wait >= 0 && keys_wait < timeout) {
            timeout = keys_wait;
        }
        /* every outbox: its fd is quiet unless its peer hung up or bytes wait for room */
        size_t nout = b->out.n;
        for (size_t i = 0; i < nout; i++) {
            pfd[3 + i] = (struct pollfd){.fd = gw_outbox_fd(b->out.v[i]), .events = POLLIN};
        }
        size_t nadmin = b->admin != NULL ? brk_admin_pollfds(b->admin, pfd + 3 + nout, 64) : 0;
        if (poll(pfd, 3 + nout + nadmin, timeout) < 0 && errno != EINTR) {
            gw_log_err("msg=\"poll failed\" error=\"%s\"", strerror(errno));
            break;
        }
        if (pfd[0].revents & POLLIN) {
            on_signals(b);
        }
        for (size_t i = 0; i < nout; i++) {
            if (pfd[3 + i].revents & POLLIN) {
                gw_outbox_poll(b->out.v[i]);
            }
        }
        if (b->admin != NULL) {
            brk_admin_serve(b->admin, pfd + 3 + nout, nadmin);
        }
        gw_inbox_drain(&b->inbox, brk_inbox_on_message, b, 0);
        brk_control_serve(b);
        brk_session_end_answer_deletes(b);
        brk_control_check_drain(b);
        gw_outboxes_redial_tick(&b->out, gw_clock_ms());
        unsigned relistens = b->control_guard.relistens;
        gw_ipc_guard_tick(&b->control_guard, gw_clock_ms());
        if (b->control_guard.relistens != relistens) {
            brk_control_socket_group(b);
        }
        gw_outboxes_flush(&b->out); /* the end of the turn: batches go out */
        on_timers(b);
    }
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: mcpgw-broker [-c FILE] [-t] [--version] [--help]\n"
            "  -c, --config FILE  configuration file (default %s/mcpgw/mcpgw.yaml)\n"
            "  -t, --test         check the configuration and exit (0 good, 1 bad)\n"
            "  -V, --version      print the version and exit\n"
            "  -h, --help         print this help and exit\n"
            "Runs in the foreground until SIGTERM or SIGINT; see mcpgw-broker(8).\n",
            MCPGW_SYSCONFDIR);
}

/* Everything after the config, in order: a failure logs its reason and stops the start. */
static gw_err_t start(brk_t *b)
{
    const gw_config_t *cfg = b->cycle->cfg;
    char err[512];
    if (brk_startup_make_dirs(cfg->runtime_dir) != GW_OK) {
        gw_log_err("msg=\"cannot create the runtime directory\" path=%s error=\"%s\"",
                   cfg->runtime_dir, strerror(errno));
        return GW_EIO;
    }
    /* The sockets first: a second broker on the same runtime_dir stops here, before it could
     * touch the running one's metrics file. */
    gw_err_t rc = brk_startup_open_sockets(b);
    if (rc != GW_OK) {
        return rc;
    }
    if ((rc = gw_keyring_load(cfg->key_file, 1, &b->keys, err, sizeof(err))) != GW_OK) {
        gw_log_err("msg=\"cannot load session keys\" error=\"%s\"", err);
        return rc;
    }
    char mpath[PATH_MAX];
    snprintf(mpath, sizeof(mpath), "%s/metrics", cfg->runtime_dir);
    /* Room for the routers, the workers and servers added by later reloads. */
    b->metrics_slots = cfg->routers + brk_cycle_nworkers(cfg) + 64;
    if (b->metrics_slots > GW_METRICS_SLOTS_MAX) {
        b->metrics_slots = GW_METRICS_SLOTS_MAX;
    }
    if ((rc = gw_metrics_create(mpath, b->metrics_slots, &b->metrics)) != GW_OK) {
        gw_log_err("msg=\"cannot create the metrics file\" path=%s", mpath);
        return rc;
    }
    /* Made even without limits.rate, so that a reload can set one: untouched pages cost nothing. */
    snprintf(mpath, sizeof(mpath), "%s/rate", cfg->runtime_dir);
    if ((rc = gw_rate_create(mpath, cfg->rate_callers, &b->rate)) != GW_OK) {
        gw_log_err("msg=\"cannot create the rate limit table\" path=%s", mpath);
        return rc;
    }
    brk_admin_ops_t aops = brk_ready_admin_ops(b);
    if (cfg->admin_enabled &&
        (rc = brk_admin_open(&b->admin, cfg->admin_address, cfg->admin_port, &aops, b->admin_desc,
                             sizeof(b->admin_desc))) != GW_OK) {
        return rc;
    }
    if ((rc = brk_startup_bind_listeners(b)) != GW_OK || (rc = brk_children_add_all(b)) != GW_OK) {
        return rc;
    }
    for (unsigned s = 0; s < BRK_CAP_SETS; s++) {
        for (int l = 0; l < GW_NLISTS; l++) {
            b->list_digest[s][l] = brk_catalog_digest(&b->cycle->cat, s, (gw_list_t)l);
        }
    }
    return GW_OK;
}

static void stop(brk_t *b)
{
    brk_list_wait_run(b, gw_clock_ms(), 1);
    brk_listen_end_all(b, "stopping"); /* before the routers go: their clients get the result */
    brk_sup_stop_all(&b->sup, 5000);
    brk_sup_fini(&b->sup);
    gw_inbox_close(&b->inbox);
    nng_close(b->csock);
    gw_ipc_guard_fini(&b->control_guard);
    gw_outboxes_fini(&b->out);
    brk_listens_fini(b);
    brk_sessions_fini(b);
    gw_streams_fini(&b->streams);
    brk_admin_close(b->admin);
    gw_metrics_destroy(b->metrics);
    gw_rate_destroy(b->rate);
    gw_keyring_destroy(b->keys);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"test", no_argument, NULL, 't'},
                                         {"version", no_argument, NULL, 'V'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *path = MCPGW_SYSCONFDIR "/mcpgw/mcpgw.yaml";
    int test_only = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, "c:tVh", opts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            path = optarg;
            break;
        case 't':
            test_only = 1;
            break;
        case 'V':
            printf("mcpgw-broker %s\n", PACKAGE_VERSION);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    char err[512];
    gw_config_t *cfg = NULL;
    gw_log_setup(GW_BROKER_NAME, GW_LOG_INFO);
    if (brk_config_load(path, &cfg, err, sizeof(err)) != GW_OK) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    if (test_only) {
        printf("%s: configuration is valid (%zu servers)\n", path, cfg->nservers);
        gw_config_destroy(cfg);
        return 0;
    }
    gw_log_setup(GW_BROKER_NAME, cfg->log_level);
    gw_log_set_json(cfg->log_json);
    brk_t *b = calloc(1, sizeof(*b));
    if (b == NULL || brk_cycle_create(cfg, &b->cycle) != GW_OK) {
        fprintf(stderr, "mcpgw-broker: out of memory\n");
        if (b == NULL) {
            gw_config_destroy(cfg);
        }
        free(b);
        return 1;
    }
    brk_sessions_init(b);
    int rc = 1;
    if (realpath(path, b->config_path) == NULL) {
        gw_log_err("msg=\"cannot resolve the config path\" path=%s", path);
        goto out_cycle;
    }
    static const int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGCHLD};
    if (gw_signals_open(&b->signals, sigs, sizeof(sigs) / sizeof(sigs[0])) != GW_OK) {
        goto out_cycle;
    }
    b->start_ms = gw_clock_ms();
    /* event ids name this run: a client resuming with an id of an earlier run gets all we kept */
    if (gw_streams_init(&b->streams, cfg->stream_replay, BRK_STREAM_REPLAY_BYTES,
                        (uint64_t)gw_wallclock_s() * 100000u + (uint64_t)getpid() % 100000u) !=
        GW_OK) {
        fprintf(stderr, "mcpgw-broker: out of memory\n");
        goto out_cycle;
    }
    if (brk_listens_init(b) != GW_OK) {
        fprintf(stderr, "mcpgw-broker: out of memory\n");
        goto out_cycle;
    }
    b->next_sweep_ms = b->start_ms + 60000;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || brk_keys_configure(b) != GW_OK) {
        fprintf(stderr, "mcpgw-broker: cannot set up fetching jwks_uri\n");
        goto out_cycle;
    }
    brk_sup_init(&b->sup);
    if (start(b) == GW_OK) {
        gw_log_info("msg=starting version=%s config=%s routers=%u servers=%zu", PACKAGE_VERSION,
                    b->config_path, b->cycle->cfg->routers, b->cycle->cfg->nservers);
        run(b);
        gw_log_info("msg=stopping");
        rc = 0;
    }
    stop(b);
    gw_signals_close(&b->signals);
out_cycle:
    brk_keys_destroy(b->jwks);
    curl_global_cleanup();
    brk_cycle_destroy(b->cycle);
    free(b);
    return rc;
}
