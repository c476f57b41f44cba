/* status.c: what mcpgwctl status and mcpgwctl backends show (the broker's processes and each
 * backend's state, catalog counts and traffic from its worker's metrics slot), and the key-value
 * members every control answer is made of. */
#include <config.h> /* autoconf's, not common/config.h */

#include <stdio.h>
#include <unistd.h>

#include "broker/broker.h"
#include "common/json.h"

static const char *const backend_states[] = {"pending", "up", "down"};

void brk_status_kv_str(yajl_gen g, const char *k, const char *v)
{
    gw_json_gen_cstr(g, k);
    gw_json_gen_cstr(g, v != NULL ? v : "");
}

void brk_status_kv_int(yajl_gen g, const char *k, long long v)
{
    gw_json_gen_cstr(g, k);
    yajl_gen_integer(g, v);
}

/* The state mcpgwctl shows: "failed" when a worker of it (any shard) is in a crash loop; *worker
 * is shard 0's, *restarts those of all its workers. */
static const char *backend_state(brk_t *b, const brk_backend_t *be, const brk_child_t **worker,
                                 long long *restarts)
{
    int failed = 0;
    *restarts = 0;
    for (unsigned k = 0; k < be->conf->workers; k++) {
        const brk_child_t *w = brk_sup_find(&b->sup, gw_worker_shard_proc(be->conf->name, k).s);
        failed |= w != NULL && w->state == BRK_CHILD_FAILED;
        *restarts += w != NULL ? w->restarts : 0;
        if (k == 0) {
            *worker = w;
        }
    }
    return failed ? "failed" : backend_states[be->state];
}

static void gen_process(yajl_gen g, long long pid, const char *role, const char *name,
                        const char *state, unsigned restarts)
{
    yajl_gen_map_open(g);
    brk_status_kv_int(g, "pid", pid);
    brk_status_kv_str(g, "role", role);
    brk_status_kv_str(g, "name", name);
    brk_status_kv_str(g, "state", state);
    brk_status_kv_int(g, "restarts", restarts);
    yajl_gen_map_close(g);
}

/* The last call's status: a generator that failed earlier stays in its error state. */
static gw_err_t gen_done(yajl_gen_status st)
{
    return st == yajl_gen_status_ok ? GW_OK : GW_EINVAL;
}

gw_err_t brk_status_gen(brk_t *b, yajl_gen g)
{
    const brk_catalog_t *cat = &b->cycle->cat;
    yajl_gen_map_open(g);
    brk_status_kv_str(g, "version", PACKAGE_VERSION);
    gw_json_gen_cstr(g, "ready");
    yajl_gen_bool(g, b->ready);
    brk_status_kv_str(g, "listen", b->listen_desc);
    brk_status_kv_str(g, "admin", b->admin != NULL ? b->admin_desc : "");
    brk_status_kv_int(g, "sessions", (long long)(b->nsessions - b->nrevoked));
    gw_json_gen_cstr(g, "processes");
    yajl_gen_array_open(g);
    gen_process(g, getpid(), "broker", GW_BROKER_NAME, "running", 0);
    for (size_t i = 0; i < b->sup.nchildren; i++) {
        const brk_child_t *c = &b->sup.children[i];
        gen_process(g, c->pid, brk_role_name(c->role), c->name, brk_child_state_name(c->state),
                    c->restarts);
    }
    yajl_gen_array_close(g);
    gw_json_gen_cstr(g, "backends");
    yajl_gen_array_open(g);
    for (size_t i = 0; i < cat->nbackends; i++) {
        const brk_backend_t *be = &cat->backends[i];
        yajl_gen_map_open(g);
        brk_status_kv_str(g, "name", be->conf->name);
        brk_status_kv_str(g, "url", be->conf->url);
        brk_status_kv_str(g, "prefix", be->conf->prefix);
        const brk_child_t *w;
        long long restarts;
        brk_status_kv_str(g, "state", backend_state(b, be, &w, &restarts));
        brk_status_kv_int(g, "tools", (long long)be->nitems[GW_LIST_TOOLS]);
        if (be->error != NULL) {
            brk_status_kv_str(g, "error", be->error);
        }
        yajl_gen_map_close(g);
    }
    yajl_gen_array_close(g);
    return gen_done(yajl_gen_map_close(g));
}

/* Requests, errors and the mean latency of one backend, summed over its workers' metrics slots
 * (servers[].workers); the era and probe are shard 0's. */
static void gen_backend_traffic(brk_t *b, yajl_gen g, const gw_server_conf_t *conf)
{
    uint64_t calls = 0, errors = 0, count = 0, sum_us = 0;
    int64_t upstream = 0, pooled = 0, era = 0, probe = 0;
    for (unsigned w = 0; w < conf->workers; w++) {
        long slot = brk_cycle_worker_slot(b->cycle, b->metrics_slots, conf->name, w);
        const gw_metrics_slot_t *m = slot >= 0 ? gw_metrics_slot(b->metrics, (unsigned)slot) : NULL;
        if (m == NULL) {
            continue;
        }
        for (size_t bm = 0; bm < GW_BM_COUNT; bm++) {
            for (size_t bs = 0; bs < GW_BS_COUNT; bs++) {
                calls += m->backend_requests[bm][bs];
                errors += bs != GW_BS_OK ? m->backend_requests[bm][bs] : 0;
            }
        }
        for (size_t k = 0; k <= GW_HIST_BUCKETS; k++) {
            count += m->buckets[GW_MH_BACKEND][k];
        }
        sum_us += m->sum_us[GW_MH_BACKEND];
        upstream += m->gauges[GW_MG_UPSTREAM_SESSIONS];
        pooled += m->gauges[GW_MG_POOLED_SESSIONS];
        if (w == 0) {
            era = m->gauges[GW_MG_BACKEND_ERA];
            probe = m->gauges[GW_MG_BACKEND_PROBE];
        }
    }
    brk_status_kv_int(g, "workers", conf->workers);
    brk_status_kv_int(g, "upstream_sessions", upstream);
    /* 2026-07-28 (worker/era.c, worker/pool.c): the era its probe found, how server/discover
     * was answered, and the sessions pooled for 2026-07-28 callers of a 2025 backend */
    brk_status_kv_str(g, "era", gw_era_gauge_name(era));
    brk_status_kv_str(g, "probe", gw_probe_name(probe));
    brk_status_kv_int(g, "pooled_sessions", pooled);
    brk_status_kv_int(g, "requests", (long long)calls);
    brk_status_kv_int(g, "errors", (long long)errors);
    gw_json_gen_cstr(g, "latency_ms");
    yajl_gen_double(g, count > 0 ? sum_us / 1000.0 / (double)count : 0.0);
}

gw_err_t brk_status_gen_backends(brk_t *b, yajl_gen g)
{
    brk_cycle_t *cy = b->cycle;
    yajl_gen_map_open(g);
    gw_json_gen_cstr(g, "backends");
    yajl_gen_array_open(g);
    for (size_t i = 0; i < cy->cat.nbackends; i++) {
        const brk_backend_t *be = &cy->cat.backends[i];
        const brk_child_t *w = NULL;
        long long restarts;
        const char *state = backend_state(b, be, &w, &restarts);
        yajl_gen_map_open(g);
        brk_status_kv_str(g, "name", be->conf->name);
        brk_status_kv_str(g, "url", be->conf->url);
        brk_status_kv_str(g, "prefix", be->conf->prefix);
        brk_status_kv_str(g, "state", state);
        brk_status_kv_int(g, "tools", (long long)be->nitems[GW_LIST_TOOLS]);
        brk_status_kv_int(g, "prompts", (long long)be->nitems[GW_LIST_PROMPTS]);
        brk_status_kv_int(g, "resources", (long long)be->nitems[GW_LIST_RESOURCES]);
        brk_status_kv_int(g, "pid", w != NULL ? w->pid : 0);
        brk_status_kv_int(g, "restarts", restarts);
        gen_backend_traffic(b, g, be->conf);
        if (be->error != NULL) {
            brk_status_kv_str(g, "error", be->error);
        }
        yajl_gen_map_close(g);
    }
    yajl_gen_array_close(g);
    return gen_done(yajl_gen_map_close(g));
}
