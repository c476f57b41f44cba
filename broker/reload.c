/* reload.c: reload (SIGHUP, mcpgwctl reload) as nginx's cycle: a new config, catalog and worker
 * slots are built whole and swapped in only when complete; then only the workers concerned are
 * started, stopped or restarted (the others keep their upstream sessions), sessions continue. */
#include <config.h> /* autoconf's, not common/config.h */

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "broker/broker.h"
#include "common/log.h"
#include "common/worker_settings.h"

/* Settings only a restart can change: listeners, processes, sockets, keys. */
static const char *immutable_change(const gw_config_t *a, const gw_config_t *b)
{
    if (a->nlisten != b->nlisten) {
        return "listen";
    }
    for (size_t i = 0; i < a->nlisten; i++) {
        if (strcmp(a->listen[i].address, b->listen[i].address) != 0 ||
            a->listen[i].port != b->listen[i].port) {
            return "listen";
        }
    }
    if (strcmp(a->mcp_path, b->mcp_path) != 0) {
        return "mcp_path";
    }
    if (strcmp(a->runtime_dir, b->runtime_dir) != 0) {
        return "runtime_dir";
    }
    if (a->routers != b->routers) {
        return "routers";
    }
    if (a->rate_callers != b->rate_callers) {
        return "limits.rate_callers";
    }
    if (strcmp(a->key_file, b->key_file) != 0) {
        return "sessions.key_file";
    }
    if (a->stream_replay != b->stream_replay) {
        return "sessions.stream_replay";
    }
    if (strcmp(a->control_socket, b->control_socket) != 0) {
        return "control.socket";
    }
    if (a->control_mode != b->control_mode) {
        return "control.mode";
    }
    if (strcmp(a->control_group, b->control_group) != 0) {
        return "control.group";
    }
    if (a->admin_enabled != b->admin_enabled || a->admin_port != b->admin_port ||
        strcmp(a->admin_address, b->admin_address) != 0) {
        return "admin";
    }
    return NULL;
}

static int same_path(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* Do the TLS settings of the listeners (files, minimum version) differ? (The listeners
 * themselves are the same: immutable_change refused anything else.) */
static int tls_settings_differ(const gw_config_t *a, const gw_config_t *b)
{
    for (size_t i = 0; i < a->nlisten; i++) {
        const gw_listen_t *x = &a->listen[i], *y = &b->listen[i];
        if (!same_path(x->tls_certificate, y->tls_certificate) ||
            !same_path(x->tls_key, y->tls_key) || x->tls_min_version != y->tls_min_version) {
            return 1;
        }
    }
    return 0;
}

static int any_tls(const gw_config_t *c)
{
    for (size_t i = 0; i < c->nlisten; i++) {
        if (c->listen[i].tls_certificate != NULL) {
            return 1;
        }
    }
    return 0;
}

/* Do the settings a router reads at its start (limits, input_wait and max_request_state among
 * them, http, log.format, TLS settings, auth, policy, endpoints: the paths it serves) differ? With
 * auth on either side they do: its key files may have changed under the same names, and routers
 * read them at start. With a policy on either side too: routers match tokens to its rules once and
 * keep the result with the token. */
static int router_settings_differ(const gw_config_t *a, const gw_config_t *b)
{
    return tls_settings_differ(a, b) || a->auth_resource != NULL || b->auth_resource != NULL ||
           a->policy_set || b->policy_set || !gw_config_endpoints_same(a, b) ||
           a->max_request_body != b->max_request_body || a->max_header_size != b->max_header_size ||
           a->client_timeout_ms != b->client_timeout_ms || a->input_wait_s != b->input_wait_s ||
           a->max_request_state != b->max_request_state ||
           a->max_concurrent_requests_per_session != b->max_concurrent_requests_per_session ||
           memcmp(&a->rate, &b->rate, sizeof(a->rate)) != 0 ||
           a->sse_heartbeat_ms != b->sse_heartbeat_ms || a->log_json != b->log_json ||
           !gw_config_strings_same(a->allowed_hosts, a->nallowed_hosts, b->allowed_hosts,
                                   b->nallowed_hosts) ||
           !gw_config_strings_same(a->allowed_origins, a->nallowed_origins, b->allowed_origins,
                                   b->nallowed_origins);
}

/* Moves what the running catalog learnt about every kept server into the new one and rebuilds
 * what clients see; on failure moves it all back, so the running cycle is as it was. */
static gw_err_t adopt_catalog(brk_cycle_t *next, brk_cycle_t *cur)
{
    const gw_config_t *cfg = next->cfg;
    for (size_t i = 0; i < cfg->nservers; i++) {
        if (gw_config_server(cur->cfg, cfg->servers[i].name) != NULL) {
            brk_catalog_adopt(&next->cat, &cur->cat, cfg->servers[i].name);
        }
    }
    gw_err_t err = brk_catalog_refresh(&next->cat, &cur->cat);
    if (err != GW_OK) {
        for (size_t i = 0; i < cfg->nservers; i++) {
            brk_catalog_adopt(&cur->cat, &next->cat, cfg->servers[i].name);
        }
    }
    return err;
}

/* The new cycle, complete: the config in the file (with nothing a restart must apply), its
 * catalog holding what the running one learnt, the worker slots kept and new ones assigned. */
static gw_err_t build_cycle(brk_t *b, brk_cycle_t **out, char *worker, size_t workerlen, char *msg,
                            size_t msglen)
{
    brk_cycle_t *cur = b->cycle;
    char err[512];
    gw_config_t *cfg = NULL;
    gw_err_t rc = brk_config_load(b->config_path, &cfg, err, sizeof(err));
    if (rc != GW_OK) {
        snprintf(msg, msglen, "the new configuration is broken; the running one stays: %s", err);
        gw_log_err("msg=\"reload refused: the new configuration is broken; the running one stays\" "
                   "error=\"%s\"",
                   err);
        return rc;
    }
    const char *fixed = immutable_change(cur->cfg, cfg);
    if (fixed != NULL) {
        snprintf(msg, msglen, "%s changed: restart mcpgw to apply it; nothing was changed", fixed);
        gw_log_err("msg=\"reload refused\" reason=\"%s changed: needs a restart\"", fixed);
        gw_config_destroy(cfg);
        return GW_EINVAL;
    }
    brk_cycle_t *next = NULL;
    if ((rc = brk_cycle_create(cfg, &next)) != GW_OK ||
        (next->cfg->nservers > 0 &&
         (rc = brk_children_find_program("mcpgw-worker", worker, workerlen)) != GW_OK)) {
        snprintf(msg, msglen, "cannot prepare the new catalog");
        brk_cycle_destroy(next);
        return rc;
    }
    memcpy(next->worker_slots, cur->worker_slots, sizeof(next->worker_slots));
    next->nworker_slots = cur->nworker_slots;
    for (size_t i = 0; i < next->cfg->nservers; i++) {
        for (unsigned k = 0; k < next->cfg->servers[i].workers; k++) {
            brk_cycle_worker_slot(next, b->metrics_slots, next->cfg->servers[i].name, k);
        }
    }
    if ((rc = adopt_catalog(next, cur)) != GW_OK) { /* last: it alone touches the running one */
        snprintf(msg, msglen, "cannot prepare the new catalog");
        brk_cycle_destroy(next);
        return rc;
    }
    *out = next;
    return GW_OK;
}

/* Adds shards from..to - 1 of server's workers. */
static void add_shards(brk_t *b, const char *worker, const char *server, unsigned from, unsigned to)
{
    for (unsigned k = from; k < to; k++) {
        if (brk_children_add_worker(b, worker, server, k) != GW_OK) {
            gw_log_err("msg=\"cannot add a worker: out of memory\" server=%s shard=%u", server, k);
        }
    }
}

/* The supervisor follows the new cycle: workers of removed servers retire, those of changed
 * servers restart (a new servers[].workers too: every shard of the backend restarts, since a
 * session's shard moves with the count; shards past the new count retire, new ones start),
 * new servers get theirs. */
static void apply_servers(brk_t *b, const gw_config_t *prev, const char *worker, size_t *added,
                          size_t *removed, size_t *changed)
{
    const gw_config_t *next = b->cycle->cfg;
    for (size_t i = 0; i < prev->nservers; i++) {
        const gw_server_conf_t *old = &prev->servers[i];
        const gw_server_conf_t *now = gw_config_server(next, old->name);
        if (now != NULL && brk_server_same(old, now)) {
            continue;
        }
        for (unsigned k = 0; k < old->workers; k++) {
            gw_name_t wname = gw_worker_shard_proc(old->name, k);
            if (now != NULL && k < now->workers) {
                brk_sup_restart(&b->sup, wname.s);
            } else {
                brk_sup_retire(&b->sup, wname.s);
            }
        }
        if (now != NULL) {
            add_shards(b, worker, now->name, old->workers, now->workers);
        }
        (*(now == NULL ? removed : changed))++;
    }
    for (size_t i = 0; i < next->nservers; i++) {
        const gw_server_conf_t *s = &next->servers[i];
        if (gw_config_server(prev, s->name) == NULL) {
            add_shards(b, worker, s->name, 0, s->workers);
            (*added)++;
        }
    }
}

/* Settings routers read at start (limits, http) apply as routers restart. */
gw_err_t brk_reload(brk_t *b, char *msg, size_t msglen)
{
    char worker[PATH_MAX];
    brk_cycle_t *next = NULL;
    /* what each view of a session sees now, before the new catalog takes the backends' lists */
    brk_policy_digests_t *views = NULL;
    brk_policy_digests_take(b, &views);
    gw_err_t rc = build_cycle(b, &next, worker, sizeof(worker), msg, msglen);
    if (rc != GW_OK) {
        brk_policy_digests_free(views);
        return rc;
    }
    brk_cycle_t *prev = b->cycle;
    b->cycle = next;
    size_t added = 0, removed = 0, changed = 0;
    apply_servers(b, prev->cfg, worker, &added, &removed, &changed);
    uint64_t digests[BRK_CAP_SETS][GW_NLISTS];
    memcpy(digests, b->list_digest, sizeof(digests));
    brk_get_stream_announce_list_changes(b);
    unsigned notified[BRK_CAP_SETS] = {0}; /* bit l: the catalog's change was announced */
    for (unsigned s = 0; s < BRK_CAP_SETS; s++) {
        for (int l = 0; l < GW_NLISTS; l++) {
            if (digests[s][l] != b->list_digest[s][l]) {
                notified[s] |= 1u << (l == GW_LIST_TEMPLATES ? GW_LIST_RESOURCES : l);
            }
        }
    }
    brk_get_stream_announce_policy(b, prev->cat.policy, views, notified);
    gw_log_setup(GW_BROKER_NAME, next->cfg->log_level);
    gw_log_set_json(next->cfg->log_json);
    if (prev->cfg->log_level != next->cfg->log_level) {
        brk_control_set_log_level(b, next->cfg->log_level);
    }
    /* Routers read limits and http at their start: restart them (each finishes what it has in
     * flight; the shared listening sockets hold new connections until the new one accepts). */
    int restart_routers = router_settings_differ(prev->cfg, next->cfg);
    for (unsigned i = 0; restart_routers && i < next->cfg->routers; i++) {
        brk_sup_restart(&b->sup, gw_router_proc(i).s);
    }
    /* Certificates renewed under the same paths: routers load them again for new connections
     * (build_cycle checked they load); connections already open keep theirs. */
    if (!restart_routers && any_tls(next->cfg)) {
        gw_envelope_t e = {.kind = GW_ENV_CONTROL, .flags = GW_ENV_F_NOREPLY};
        e.method = GW_STR("tls/reload");
        brk_reply_to_routers(b, &e);
    }
    if (brk_keys_configure(b) != GW_OK) {
        gw_log_err("msg=\"out of memory: jwks_uri key sets not fetched\"");
    }
    /* Workers kept across the reload take the new worker settings (common/worker_settings.h)
     * and probe their backend's era again (design 7.2: a backend may have been upgraded behind
     * the same URL); restarted and new ones read both as they start. */
    gw_worker_settings_t ws;
    gw_worker_settings_encode(next->cfg, &ws);
    gw_envelope_t note = {.kind = GW_ENV_CONTROL, .flags = GW_ENV_F_NOREPLY};
    note.method = GW_STR("worker/reload");
    memcpy(note.headers, ws.headers, ws.n * sizeof(ws.headers[0]));
    note.nheaders = ws.n;
    brk_reply_to_workers(b, NULL, &note);
    brk_cycle_destroy(prev);
    brk_routes_push(b);
    snprintf(msg, msglen, "applied: %zu servers added, %zu removed, %zu changed%s", added, removed,
             changed,
             restart_routers ? "; routers restarted for limits/http/auth/policy/endpoints" : "");
    gw_log_notice("msg=\"reload applied\" added=%zu removed=%zu changed=%zu servers=%zu "
                  "routers_restarted=%d",
                  added, removed, changed, next->cfg->nservers, restart_routers);
    return GW_OK;
}
