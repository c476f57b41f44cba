/* get_stream.c: the clients' GET streams (docs/ipc.md "GET streams"): which router holds each,
 * replay after Last-Event-ID, backends' events relayed onto them, and list_changed after a
 * catalog change. */
#include <config.h> /* autoconf's, not common/config.h */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/broker.h"
#include "common/buf.h"
#include "common/endpoint.h"
#include "common/hash.h"
#include "common/jsonrpc.h"
#include "common/log.h"
#include "common/mcp.h"
#include "common/names.h"
#include "common/shard.h"

typedef struct stream_target {
    brk_t *b;
    const gw_stream_t *st;
} stream_target_t;

static void stream_send(brk_t *b, const gw_stream_t *st, const char *id, const char *json,
                        size_t len)
{
    if (st->holder[0] == '\0') {
        return; /* kept for replay: the client resumes with Last-Event-ID */
    }
    gw_envelope_t e = {.kind = GW_ENV_CHUNK, .corr = st->holder_corr};
    e.headers[0] = (gw_env_header_t){GW_STR("event-id"), {id, strlen(id)}};
    e.nheaders = 1;
    e.body = (gw_str_t){json, len};
    brk_reply_send(b, (gw_str_t){st->holder, strlen(st->holder)}, &e, GW_STR(""));
}

static void stream_publish(brk_t *b, gw_stream_t *st, const char *json, size_t len)
{
    char id[GW_EVENT_ID_MAX];
    if (gw_stream_publish(&b->streams, st, json, len, id) != GW_OK) {
        gw_log_warn("msg=\"event not kept for replay: out of memory\" session=%s", st->key);
    }
    stream_send(b, st, id, json, len);
}

/* Tells every backend's worker of the session's shard that the client of session now holds a GET
 * stream (session/listen) or no longer does (session/unlisten): a worker keeps an upstream GET
 * stream open only while its client listens (docs/ipc.md). A worker without that session remembers
 * it for when it creates one. */
static void tell_workers(brk_t *b, gw_str_t session, const char *method)
{
    const gw_config_t *cfg = b->cycle->cfg;
    gw_envelope_t e = {.kind = GW_ENV_CONTROL, .flags = GW_ENV_F_NOREPLY, .session = session};
    e.method = (gw_str_t){method, strlen(method)};
    e.origin = GW_STR(GW_BROKER_NAME);
    for (size_t i = 0; i < cfg->nservers; i++) {
        gw_name_t name = brk_worker_of(&cfg->servers[i], &e);
        gw_outbox_t *o = gw_outboxes_get(&b->out, (gw_str_t){name.s, strlen(name.s)});
        if (o == NULL || gw_outbox_send(o, &e) != GW_OK) {
            gw_log_warn("msg=\"worker not told of a GET stream\" backend=%s session=%.*s "
                        "method=%s",
                        cfg->servers[i].name, (int)session.len, session.ptr, method);
        }
    }
}

typedef struct relisten {
    brk_t *b;
    gw_outbox_t *o;
    unsigned shard;   /* the worker's */
    unsigned workers; /* of its backend: only the sessions of its shard are its */
} relisten_t;

static void relisten_one(void *arg, gw_stream_t *st)
{
    const relisten_t *r = arg;
    if (st->holder[0] == '\0' ||
        gw_shard_of_session((gw_str_t){st->key, strlen(st->key)}, r->workers) != r->shard) {
        return;
    }
    gw_envelope_t e = {.kind = GW_ENV_CONTROL, .flags = GW_ENV_F_NOREPLY};
    e.session = (gw_str_t){st->key, strlen(st->key)};
    e.method = GW_STR("session/listen");
    e.origin = GW_STR(GW_BROKER_NAME);
    (void)gw_outbox_send(r->o, &e); /* a full outbox: the worker is stuck, its calls fail too */
}

void brk_get_stream_relisten(brk_t *b, gw_str_t worker)
{
    relisten_t r = {b, gw_outboxes_get(&b->out, worker), 0, 1};
    const char *server;
    size_t len;
    char name[GW_SERVER_NAME_MAX + 1];
    if (!gw_worker_inbox_parse(worker.ptr, worker.len, &server, &len, &r.shard)) {
        return;
    }
    snprintf(name, sizeof(name), "%.*s", (int)len, server);
    const gw_server_conf_t *s = gw_config_server(b->cycle->cfg, name);
    r.workers = s != NULL ? s->workers : 1;
    if (r.o != NULL && s != NULL) {
        gw_streams_each(&b->streams, relisten_one, &r);
    }
}

typedef struct router_release {
    brk_t *b;
    const char *router;
} router_release_t;

static void release_one(void *arg, gw_stream_t *st)
{
    const router_release_t *r = arg;
    if (st->holder[0] != '\0' && strcmp(st->holder, r->router) == 0) {
        tell_workers(r->b, (gw_str_t){st->key, strlen(st->key)}, "session/unlisten");
    }
}

void brk_get_stream_release_router(brk_t *b, const char *router)
{
    router_release_t r = {b, router};
    gw_streams_each(&b->streams, release_one, &r);
    gw_streams_release_holder(&b->streams, router);
}

void brk_get_stream_forget(brk_t *b, const char *uuid, size_t len)
{
    gw_stream_t *st = gw_streams_find(&b->streams, uuid, len);
    if (st == NULL) {
        return;
    }
    if (st->holder[0] != '\0') {
        brk_reply(b, (gw_str_t){st->holder, strlen(st->holder)}, st->holder_corr, GW_ENV_END, 200,
                  NULL, 0, GW_STR(""));
        tell_workers(b, (gw_str_t){uuid, len}, "session/unlisten");
    }
    gw_streams_drop(&b->streams, uuid, len);
}

static void replay_one(void *arg, const char *id, const char *json, size_t len)
{
    const stream_target_t *t = arg;
    stream_send(t->b, t->st, id, json, len);
}

static void reply_session_not_found(brk_t *b, const gw_envelope_t *e)
{
    gw_buf_t buf;
    gw_buf_init(&buf);
    if (gw_rpc_error(&buf, NULL, 0, GW_RPC_SESSION_NOT_FOUND, "Session not found") != GW_OK) {
        gw_buf_reset(&buf); /* out of memory: the status says it all the same */
    }
    brk_reply(b, e->origin, e->corr, GW_ENV_END, 404, buf.data, buf.len, e->request_id);
    gw_buf_fini(&buf);
}

/* The newest stream of a session holds it (an older one is ended), events after Last-Event-ID
 * are replayed, then every new event follows. */
void brk_get_stream_on_open(brk_t *b, const gw_envelope_t *e)
{
    brk_session_t *s = brk_session_find_or_learn(b, e->session);
    if (s != NULL && s->revoked) {
        reply_session_not_found(b, e);
        return;
    }
    if (s != NULL) {
        s->caps = (uint8_t)(e->caps & BRK_CAP_SET_MASK);
    }
    gw_stream_t *st =
        s != NULL ? gw_streams_get(&b->streams, e->session.ptr, e->session.len) : NULL;
    if (st == NULL) {
        brk_reply(b, e->origin, e->corr, GW_ENV_END, 503, NULL, 0, e->request_id);
        return;
    }
    char prev[GW_STREAM_HOLDER_MAX];
    uint64_t prev_corr;
    gw_stream_hold(st, e->origin.ptr, e->origin.len, e->corr, prev, &prev_corr);
    if (prev[0] == '\0') {
        tell_workers(b, e->session, "session/listen");
    }
    if (prev[0] != '\0') {
        brk_reply(b, (gw_str_t){prev, strlen(prev)}, prev_corr, GW_ENV_END, 200, NULL, 0,
                  e->request_id);
    }
    gw_envelope_t h = {.kind = GW_ENV_HEAD, .corr = e->corr, .status = 200, .flags = GW_ENV_F_SSE};
    brk_reply_send(b, e->origin, &h, e->request_id);
    gw_str_t last = GW_STR_NULL;
    for (size_t i = 0; i < e->nheaders; i++) {
        if (gw_str_eq(e->headers[i].name, "last-event-id")) {
            last = e->headers[i].value;
        }
    }
    stream_target_t t = {b, st};
    size_t missed = gw_stream_replay(&b->streams, st, last.ptr, last.len, replay_one, &t);
    for (int l = 0; s != NULL && l < GW_NLISTS; l++) {
        if (s->lists_pending & (1u << l)) { /* what a reload of the policy changed */
            char note[96];
            int n = snprintf(note, sizeof(note), "{\"jsonrpc\":\"2.0\",\"method\":\"%s\"}",
                             gw_list_kinds[l].changed);
            stream_publish(b, st, note, (size_t)n);
        }
    }
    if (s != NULL) {
        s->lists_pending = 0;
    }
    gw_log_info("msg=\"stream opened\" session=%s request_id=%.*s last_event_id=\"%.*s\" "
                "replaced=%d missed=%zu",
                st->key, (int)e->request_id.len, e->request_id.ptr,
                (int)(last.len < 40 ? last.len : 40), last.ptr ? last.ptr : "", prev[0] != '\0',
                missed);
}

void brk_get_stream_on_close(brk_t *b, const gw_envelope_t *e)
{
    gw_stream_t *st = gw_streams_find(&b->streams, e->session.ptr, e->session.len);
    if (st != NULL && gw_stream_release(st, e->origin.ptr, e->origin.len, e->corr)) {
        gw_log_debug("msg=\"stream closed\" session=%s", st->key);
        tell_workers(b, e->session, "session/unlisten");
    }
}

void brk_get_stream_on_session_event(brk_t *b, const gw_envelope_t *e)
{
    gw_stream_t *st = gw_streams_find(&b->streams, e->session.ptr, e->session.len);
    if (st == NULL) {
        gw_log_debug("msg=\"event dropped: the session never opened a GET stream\" session=%.*s "
                     "from=%.*s",
                     (int)e->session.len, e->session.ptr, (int)e->origin.len, e->origin.ptr);
        return;
    }
    stream_publish(b, st, e->body.ptr, e->body.len);
}

typedef struct announce {
    brk_t *b;
    const char *json;
    size_t len;
    unsigned sets; /* bit s: the list changed for sessions of capability set s */
} announce_t;

static void announce_one(void *arg, gw_stream_t *st)
{
    const announce_t *a = arg;
    const brk_session_t *s = brk_session_find(a->b, st->key, strlen(st->key));
    unsigned set = s != NULL ? s->caps & BRK_CAP_SET_MASK : 0;
    if (a->sets & (1u << set)) {
        stream_publish(a->b, st, a->json, a->len);
    }
}

/* Templates count as resources: the spec has one notification for both. A session is told of
 * a change of its own set's list only. */
void brk_get_stream_announce_list_changes(brk_t *b)
{
    unsigned changed[GW_NLISTS] = {0}; /* bit s: changed for set s */
    for (unsigned s = 0; s < BRK_CAP_SETS; s++) {
        for (int l = 0; l < GW_NLISTS; l++) {
            uint64_t d = brk_catalog_digest(&b->cycle->cat, s, (gw_list_t)l);
            if (d != b->list_digest[s][l]) {
                changed[l == GW_LIST_TEMPLATES ? GW_LIST_RESOURCES : l] |= 1u << s;
            }
            b->list_digest[s][l] = d;
        }
    }
    for (int l = 0; l < GW_NLISTS; l++) {
        if (!changed[l]) {
            continue;
        }
        char note[96];
        int n = snprintf(note, sizeof(note), "{\"jsonrpc\":\"2.0\",\"method\":\"%s\"}",
                         gw_list_kinds[l].changed);
        gw_log_info("msg=\"list changed\" list=%s sets=%u streams=%zu", gw_list_kinds[l].key,
                    changed[l], gw_streams_count(&b->streams));
        announce_t a = {b, note, (size_t)n, changed[l]};
        gw_streams_each(&b->streams, announce_one, &a);
        brk_listen_announce(b, l, changed[l]); /* and on the 2026-07-28 listens (listen.c) */
    }
}

/* ---- what a reload of the policy changes ---- */

/* One (view, set): whether its fingerprints are taken, and those of each list. */
typedef struct view_digests {
    int taken;
    uint64_t d[GW_NLISTS];
} view_digests_t;

struct brk_policy_digests {
    size_t nviews;
    view_digests_t v[]; /* [view][set] */
};

typedef struct take {
    brk_t *b;
    brk_policy_digests_t *d;
} take_t;

static void take_one(void *arg, gw_stream_t *st)
{
    take_t *t = arg;
    const brk_session_t *s = brk_session_find(t->b, st->key, strlen(st->key));
    if (s == NULL || !s->view_seen || s->view >= t->d->nviews) {
        return;
    }
    unsigned set = s->caps & BRK_CAP_SET_MASK;
    view_digests_t *v = &t->d->v[s->view * BRK_CAP_SETS + set];
    for (int l = 0; !v->taken && l < GW_NLISTS; l++) {
        v->d[l] = brk_catalog_digest_for(&t->b->cycle->cat, set, s->view, (gw_list_t)l);
    }
    v->taken = 1;
}

void brk_policy_digests_take(brk_t *b, brk_policy_digests_t **out)
{
    *out = NULL;
    const gw_policy_t *p = b->cycle->cat.policy;
    if (p == NULL) {
        return;
    }
    size_t nviews = gw_policy_nrules(p) + 1;
    brk_policy_digests_t *d =
        calloc(1, sizeof(*d) + nviews * BRK_CAP_SETS * sizeof(view_digests_t));
    if (d == NULL) {
        gw_log_err("msg=\"out of memory: a reload tells every session of a changed view\"");
        return;
    }
    d->nviews = nviews;
    take_t t = {b, d};
    gw_streams_each(&b->streams, take_one, &t);
    *out = d;
}

void brk_policy_digests_free(brk_policy_digests_t *d)
{
    free(d);
}

typedef struct policy_announce {
    brk_t *b;
    const gw_policy_t *old;
    const brk_policy_digests_t *d;
    const unsigned *set_notified;
    size_t told;
} policy_announce_t;

static void policy_announce_one(void *arg, gw_stream_t *st)
{
    policy_announce_t *a = arg;
    const brk_catalog_t *cat = &a->b->cycle->cat;
    brk_session_t *s = brk_session_find(a->b, st->key, strlen(st->key));
    unsigned set = s != NULL ? s->caps & BRK_CAP_SET_MASK : 0;
    unsigned view = s != NULL && s->view_seen ? s->view : GW_POLICY_VIEW_DEFAULT;
    /* a session of unknown view, or of a view the rules decide differently now, may see any list
     * differently: each one is announced */
    const view_digests_t *before = s != NULL && s->view_seen && a->d != NULL && view < a->d->nviews
                                       ? &a->d->v[view * BRK_CAP_SETS + set]
                                       : NULL;
    int decided_alike =
        s != NULL && s->view_seen && gw_policy_same_for(a->old, cat->policy, gw_view_policy(view));
    unsigned lists = 0;
    for (int l = 0; l < GW_NLISTS; l++) {
        uint64_t now = brk_catalog_digest_for(cat, set, view, (gw_list_t)l);
        int known = before != NULL && before->taken;
        int changed = known ? before->d[l] != now || !decided_alike
                            : now != GW_HASH_INIT; /* unknown before: a list it has now */
        int folded = l == GW_LIST_TEMPLATES ? GW_LIST_RESOURCES : l;
        if (changed && !(a->set_notified[set] & (1u << folded))) {
            lists |= 1u << folded;
        }
    }
    if (s != NULL) {
        s->lists_pending |= (uint8_t)lists;
    }
    a->told += lists != 0;
}

void brk_get_stream_announce_policy(brk_t *b, const gw_policy_t *old, brk_policy_digests_t *d,
                                    const unsigned set_notified[BRK_CAP_SETS])
{
    if (old != NULL || b->cycle->cat.policy != NULL) {
        policy_announce_t a = {b, old, d, set_notified, 0};
        gw_streams_each(&b->streams, policy_announce_one, &a);
        gw_log_info("msg=\"policy reloaded\" sessions_told=%zu streams=%zu", a.told,
                    gw_streams_count(&b->streams));
    }
    brk_policy_digests_free(d);
}
