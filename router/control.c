/* control.c: what the broker pushes to the router: routing tables (with a peer for every
 * server), revocations and the log level; and the subscription that brings them. */
#include <config.h> /* autoconf's, not common/config.h */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/json.h"
#include "router/router.h"

/* Revocations from the broker: added to the set (all of them after "reset"). */
static void revoked_apply(rtr_t *r, yajl_val root)
{
    yajl_val list = gw_json_get(root, "revoke");
    if (YAJL_IS_TRUE(gw_json_get(root, "reset"))) {
        gw_revoked_clear(&r->revoked);
    }
    for (size_t i = 0; YAJL_IS_ARRAY(list) && i < YAJL_GET_ARRAY(list)->len; i++) {
        const char *entry = YAJL_GET_STRING(YAJL_GET_ARRAY(list)->values[i]);
        uint8_t uuid[16];
        int64_t expires;
        if (entry == NULL || gw_revoked_parse_entry(entry, uuid, &expires) != GW_OK) {
            gw_log_err("msg=\"bad revocation from the broker\"");
            continue;
        }
        if (gw_revoked_add(&r->revoked, uuid, expires) != GW_OK) {
            gw_log_err("msg=\"out of memory keeping a revoked session\"");
        }
    }
}

/* Gives every server of table its peers: each shard's worker inbox, opened when new. */
static gw_err_t bind_peers(rtr_t *r, rtr_routes_t *table)
{
    for (size_t i = 0; i < table->nservers; i++) {
        for (unsigned k = 0; k < table->servers[i].workers; k++) {
            gw_name_t pname = gw_worker_shard_inbox(table->servers[i].name, k);
            rtr_peer_t *p = rtr_peer_find(r, pname.s);
            gw_err_t err = p != NULL ? GW_OK : rtr_peer_create(r, pname.s, &p);
            if (err != GW_OK) {
                return err;
            }
            table->servers[i].peers[k] = p;
        }
    }
    return GW_OK;
}

/* The calls in flight to a worker the new table no longer names (its server was removed by a
 * reload) fail now: a call routed by the old table in the moment before this one came may have
 * reached the retired worker after it exited, and would otherwise wait for its deadline. */
static void fail_calls_of_removed(rtr_t *r, const rtr_routes_t *table)
{
    for (rtr_peer_t *p = r->peers; p != NULL; p = p->next) {
        if (p == r->broker || h2o_linklist_is_empty(&p->calls)) {
            continue;
        }
        int named = 0;
        for (size_t i = 0; i < table->nservers && !named; i++) {
            for (unsigned k = 0; k < table->servers[i].workers && !named; k++) {
                named = table->servers[i].peers[k] == p;
            }
        }
        if (!named) {
            char msg[96];
            snprintf(msg, sizeof(msg), "%s was removed by a reload", p->name);
            gw_log_info("msg=\"calls to a removed backend failed\" peer=%s", p->name);
            while (!h2o_linklist_is_empty(&p->calls)) {
                rtr_call_fail(H2O_STRUCT_FROM_MEMBER(rtr_call_t, peer_link, p->calls.next),
                              GW_RPC_BACKEND_UNAVAILABLE, msg);
            }
        }
    }
}

void rtr_control_on_routes(rtr_t *r, const gw_envelope_t *e)
{
    if (e->kind != GW_ENV_CHUNK) {
        return;
    }
    char err[128];
    yajl_val root = gw_json_parse(e->body.ptr, e->body.len, err, sizeof(err));
    if (root == NULL) {
        gw_log_err("msg=\"bad routing table\" error=\"%s\"", err);
        return;
    }
    yajl_val seqv = gw_json_get(root, "seq");
    uint64_t seqn = YAJL_IS_INTEGER(seqv) ? (uint64_t)YAJL_GET_INTEGER(seqv) : 0;
    if (gw_json_get(root, "revoke") != NULL) {
        revoked_apply(r, root);
    } else if (gw_json_get(root, "jwks") != NULL) {
        rtr_auth_keys_update(r, root);
    } else {
        rtr_routes_t *table = NULL;
        gw_err_t perr = rtr_routes_parse(root, &table);
        if (perr == GW_OK) {
            perr = bind_peers(r, table);
        }
        if (perr != GW_OK) {
            gw_log_err("msg=\"bad routing table\" error=\"%s\"", gw_strerror(perr));
            rtr_routes_destroy(table);
            yajl_tree_free(root);
            return;
        }
        gw_log_debug("msg=\"routing table\" generation=%llu tools=%zu",
                     (unsigned long long)table->generation, table->nkeys[GW_LIST_TOOLS]);
        int first = r->routes == NULL;
        rtr_routes_destroy(r->routes);
        r->routes = table;
        fail_calls_of_removed(r, table);
        if (first) {
            rtr_listeners_start(r);
        }
    }
    yajl_tree_free(root);
    /* Tell the broker this is in force (a DELETE waits for it). */
    char seq[24];
    snprintf(seq, sizeof(seq), "%llu", (unsigned long long)seqn);
    gw_envelope_t ack = {.kind = GW_ENV_CONTROL, .flags = GW_ENV_F_NOREPLY};
    ack.method = GW_STR("routes/ack");
    ack.body = (gw_str_t){seq, strlen(seq)};
    rtr_peer_send(r->broker, &ack);
}

void rtr_control_set_log_level(const gw_envelope_t *e)
{
    char name[16];
    snprintf(name, sizeof(name), "%.*s", (int)(e->body.len < 15 ? e->body.len : 15), e->body.ptr);
    int level = gw_log_level_parse(name);
    if (level >= 0) {
        gw_log_threshold = level;
    }
}

void rtr_control_subscribe(rtr_t *r)
{
    gw_envelope_t e = {.kind = GW_ENV_CONTROL, .flags = GW_ENV_F_STREAM};
    char idx[16];
    snprintf(idx, sizeof(idx), "%u", r->index);
    e.method = GW_STR("routes");
    e.body = (gw_str_t){idx, strlen(idx)};
    e.corr = ++r->next_corr;
    if (rtr_peer_send(r->broker, &e) == GW_OK) {
        r->routes_corr = e.corr;
    }
}
