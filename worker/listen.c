/* listen.c: the worker's part of a 2026-07-28 subscriptions/listen (docs/design-2026-07-28.md §6):
 * for a 2025 backend, each URI a listen subscribes is subscribed upstream on the caller's pooled
 * session (pool.c's key, so the caller's own calls and the subscription share a session, as the
 * backend ties both to it), whose GET stream then stays open; resources/updated heard there goes
 * to the broker for exactly the listens that want that URI on that session; unsubscribed when
 * the last such listen ends. URIs are the backend's own (the gateway never rewrites them). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_tree.h>

#include "common/json.h"
#include "common/jsonrpc.h"
#include "common/log.h"
#include "common/mcp.h"
#include "common/names.h"
#include "common/token.h"
#include "worker/worker.h"

/* A pooled session with subscriptions is touched this often, so that sessions.upstream_idle does
 * not close it under a listen that is quiet (pool.c closes sessions without calls). */
#define LISTEN_TOUCH_MS 10000

/* One URI one listen wants, on one pooled session; with the caller's headers, so that it can be
 * subscribed again on a new session (the pooled one was closed, or the backend lost it). */
struct wrk_listen_sub {
    struct wrk_listen_sub *next;
    char lkey[32];                /* the broker's name of the listen, "L<n>" */
    char pkey[WRK_UPKEY_MAX + 1]; /* the pooled session's key */
    char *uri;
    char subject[GW_SUBJECT_MAX];
    size_t subject_len;
    char tag[GW_ISSUER_TAG_LEN];
    size_t tag_len;
    char level[16];
    uint8_t caps;
    char *sid; /* the upstream session it was subscribed on (owned), NULL until seen ready */
};

static void sub_free(wrk_listen_sub_t *s)
{
    free(s->uri);
    free(s->sid);
    free(s);
}

/* The listen/subscribe envelope s came from, again (its strings point into s). */
static void sub_env(const wrk_listen_sub_t *s, gw_envelope_t *e)
{
    *e = (gw_envelope_t){.kind = GW_ENV_CONTROL, .flags = GW_ENV_F_MODERN, .caps = s->caps};
    e->proto = GW_PROTO_2026_07_28;
    e->session = (gw_str_t){s->lkey, strlen(s->lkey)};
    if (s->subject_len > 0) {
        e->headers[e->nheaders++] =
            (gw_env_header_t){GW_STR("auth-subject"), {s->subject, s->subject_len}};
    }
    if (s->tag_len > 0) {
        e->headers[e->nheaders++] =
            (gw_env_header_t){GW_STR("auth-issuer-tag"), {s->tag, s->tag_len}};
    }
    if (s->level[0] != '\0') {
        e->headers[e->nheaders++] =
            (gw_env_header_t){GW_STR("log-level"), {s->level, strlen(s->level)}};
    }
}

static int wanted(const wrk_t *w, const char *pkey, const char *uri)
{
    for (const wrk_listen_sub_t *s = w->listen_subs; s != NULL; s = s->next) {
        if (strcmp(s->pkey, pkey) == 0 && (uri == NULL || strcmp(s->uri, uri) == 0)) {
            return 1;
        }
    }
    return 0;
}

static int append_to_buf(void *data, const char *p, size_t len)
{
    return gw_buf_append(data, p, len) == GW_OK ? 0 : -1;
}

/* resources/subscribe of uri as a call of the listen's caller (env: its headers and caps): the
 * call path makes or finds the pooled session, holds the GET stream open (call.c) and sends the
 * answer to the broker, which does not need it. */
static void subscribe_call(wrk_t *w, const gw_envelope_t *env, const char *uri, const char *rid)
{
    gw_buf_t body, id, enc;
    gw_buf_init(&body);
    gw_buf_init(&id);
    gw_buf_init(&enc);
    (void)gw_buf_appendf(&id, "\"mcpgw-listen-%llu\"", (unsigned long long)++w->next_rpc_id);
    (void)gw_buf_appends(&body, "{\"jsonrpc\":\"2.0\",\"id\":");
    (void)gw_buf_append(&body, id.data, id.len);
    (void)gw_buf_appends(&body, ",\"method\":\"resources/subscribe\",\"params\":{\"uri\":");
    (void)gw_buf_append_json_string(&body, uri, strlen(uri));
    gw_err_t err = gw_buf_appends(&body, "}}");
    gw_envelope_t c = *env;
    c.kind = GW_ENV_CALL;
    c.flags = GW_ENV_F_MODERN;
    /* the answer goes to the broker, which learns from it that the subscription is in place */
    unsigned long long serial = 0;
    char lkey[32];
    snprintf(lkey, sizeof(lkey), "%.*s", (int)(env->session.len < 31 ? env->session.len : 31),
             env->session.ptr != NULL ? env->session.ptr : "");
    c.corr = sscanf(lkey, "L%llu", &serial) == 1 ? GW_LISTEN_CORR_FLAG | serial : 0;
    c.method = GW_STR("resources/subscribe");
    c.rpc_id = (gw_str_t){id.data, id.len};
    c.session = GW_STR_NULL;
    c.origin = GW_STR(GW_BROKER_NAME);
    c.deadline_ms = 0;
    c.body = (gw_str_t){body.data, body.len};
    nng_msg *m = NULL;
    gw_envelope_t decoded;
    if (err == GW_OK && gw_buf_status(&id) == GW_OK) {
        err = gw_env_encode(&c, append_to_buf, &enc);
    }
    if (err == GW_OK && gw_buf_status(&enc) == GW_OK && nng_msg_alloc(&m, enc.len) == 0) {
        memcpy(nng_msg_body(m), enc.data, enc.len);
        if (gw_env_decode(nng_msg_body(m), nng_msg_len(m), &decoded) == GW_OK) {
            wrk_call_accept(w, m, &decoded); /* takes m */
            m = NULL;
        } else {
            err = GW_EPARSE;
        }
    } else {
        err = GW_ENOMEM;
    }
    if (m != NULL) {
        nng_msg_free(m);
    }
    if (err != GW_OK) {
        gw_log_warn("msg=\"listen subscription not made\" backend=%s error=\"%s\" request_id=%s",
                    w->name, gw_strerror(err), rid);
    }
    gw_buf_fini(&enc);
    gw_buf_fini(&id);
    gw_buf_fini(&body);
}

static void on_subscribe(wrk_t *w, const gw_envelope_t *env, const char *rid)
{
    char pkey[WRK_UPKEY_MAX + 1];
    uint8_t caps;
    char level[16];
    if (wrk_era_of_call(w, env) == WRK_ERA_MODERN) {
        char uri[2049];
        if (env->body.len > 0 && env->body.len < sizeof(uri)) {
            memcpy(uri, env->body.ptr, env->body.len);
            uri[env->body.len] = '\0';
            wrk_listen_modern_add(w, env, uri, rid); /* an upstream listen (listen_modern.c) */
        }
        return;
    }
    size_t n = wrk_pool_key(env, pkey, &caps, level);
    wrk_listen_sub_t *s = calloc(1, sizeof(*s));
    if (n == 0 || env->session.len == 0 || env->session.len >= sizeof(s->lkey) || s == NULL ||
        env->body.len == 0 || (s->uri = strndup(env->body.ptr, env->body.len)) == NULL) {
        free(s);
        gw_log_warn("msg=\"listen subscription not made: out of memory or bad key\" backend=%s "
                    "request_id=%s",
                    w->name, rid);
        return;
    }
    memcpy(s->lkey, env->session.ptr, env->session.len);
    memcpy(s->pkey, pkey, n + 1);
    for (const wrk_listen_sub_t *o = w->listen_subs; o != NULL; o = o->next) {
        if (strcmp(o->lkey, s->lkey) == 0 && strcmp(o->pkey, s->pkey) == 0 &&
            strcmp(o->uri, s->uri) == 0) {
            sub_free(s); /* the broker tells again after each catalog report: known */
            return;
        }
    }
    s->caps = env->caps;
    for (size_t i = 0; i < env->nheaders; i++) {
        gw_str_t k = env->headers[i].name, v = env->headers[i].value;
        if (gw_str_eq(k, "auth-subject") && v.len < sizeof(s->subject)) {
            memcpy(s->subject, v.ptr, v.len);
            s->subject_len = v.len;
        } else if (gw_str_eq(k, "auth-issuer-tag") && v.len <= sizeof(s->tag)) {
            memcpy(s->tag, v.ptr, v.len);
            s->tag_len = v.len;
        } else if (gw_str_eq(k, "log-level") && v.len < sizeof(s->level)) {
            memcpy(s->level, v.ptr, v.len);
        }
    }
    int again = wanted(w, s->pkey, s->uri);
    s->next = w->listen_subs;
    w->listen_subs = s;
    gw_log_debug("msg=\"listen subscribes\" backend=%s listen=%s session=%s again=%d", w->name,
                 s->lkey, s->pkey, again);
    if (!again) {
        subscribe_call(w, env, s->uri, rid);
    } else {
        wrk_listen_ready(w, s->lkey); /* subscribed there already, for another listen */
    }
}

void wrk_listen_ready(wrk_t *w, const char *lkey)
{
    gw_envelope_t e = {.kind = GW_ENV_CONTROL, .flags = GW_ENV_F_NOREPLY};
    e.method = GW_STR("listen/ready");
    e.session = (gw_str_t){lkey, strlen(lkey)};
    gw_outbox_t *o = wrk_reply_outbox(w, GW_STR(GW_BROKER_NAME));
    if (o == NULL || wrk_reply_send_env(w, o, &e) != GW_OK) {
        gw_log_warn("msg=\"listen confirmation lost: the broker is unreachable\" backend=%s",
                    w->name);
    }
}

static void unsubscribe(wrk_t *w, const char *pkey, const char *uri, const char *rid)
{
    upstream_t *up = wrk_upstream_find(w, pkey, strlen(pkey));
    if (up == NULL || up->state != UP_READY) {
        return; /* the session went: so did its subscriptions */
    }
    gw_buf_t b;
    gw_buf_init(&b);
    (void)gw_buf_appendf(&b,
                         "{\"jsonrpc\":\"2.0\",\"id\":\"mcpgw-unlisten-%llu\",\"method\":"
                         "\"resources/unsubscribe\",\"params\":{\"uri\":",
                         (unsigned long long)++w->next_rpc_id);
    (void)gw_buf_append_json_string(&b, uri, strlen(uri));
    if (gw_buf_appends(&b, "}}") == GW_OK) {
        wrk_closer_post(up, b.data, b.len, rid);
    }
    gw_buf_fini(&b);
    if (!wanted(w, pkey, NULL)) {
        up->subscribed = 0;
        wrk_stream_stop_unneeded(up);
    }
}

static void on_drop(wrk_t *w, const gw_envelope_t *env, const char *rid)
{
    wrk_listen_modern_drop(w, env->session);
    for (wrk_listen_sub_t **p = &w->listen_subs; *p != NULL;) {
        wrk_listen_sub_t *s = *p;
        if (!gw_str_eq(env->session, s->lkey)) {
            p = &s->next;
            continue;
        }
        *p = s->next;
        if (!wanted(w, s->pkey, s->uri)) {
            unsubscribe(w, s->pkey, s->uri, rid);
        }
        sub_free(s);
    }
}

void wrk_listen_control(wrk_t *w, const gw_envelope_t *env)
{
    char rid[WRK_RID_MAX + 1];
    wrk_inbox_rid(rid, env);
    if (gw_str_eq(env->method, "listen/subscribe")) {
        on_subscribe(w, env, rid);
    } else {
        on_drop(w, env, rid);
    }
}

void wrk_listen_on_notification(upstream_t *up, const char *data, size_t len, const gw_rpc_t *rpc)
{
    wrk_t *w = up->w;
    if (strcmp(rpc->method_str, "notifications/resources/updated") != 0 ||
        !wanted(w, up->key, NULL)) {
        return; /* a pooled session's other notifications have nobody to go to */
    }
    char err[64];
    yajl_val v = gw_json_parse(data, len, err, sizeof(err));
    const char *uri = gw_json_get_string(gw_json_get(v, "params"), "uri");
    gw_outbox_t *o = wrk_reply_outbox(w, GW_STR(GW_BROKER_NAME));
    for (const wrk_listen_sub_t *s = w->listen_subs; uri != NULL && s != NULL; s = s->next) {
        if (strcmp(s->pkey, up->key) != 0 || strcmp(s->uri, uri) != 0) {
            continue;
        }
        gw_envelope_t e = {.kind = GW_ENV_CONTROL, .flags = GW_ENV_F_NOREPLY};
        e.method = GW_STR("listen/event");
        e.session = (gw_str_t){s->lkey, strlen(s->lkey)};
        e.body = (gw_str_t){s->uri, strlen(s->uri)};
        if (o == NULL || wrk_reply_send_env(w, o, &e) != GW_OK) {
            gw_log_warn("msg=\"resource update lost: the broker is unreachable\" backend=%s",
                        w->name);
        }
    }
    yajl_tree_free(v);
}

int64_t wrk_listen_tick(wrk_t *w, int64_t now)
{
    int64_t modern = wrk_listen_modern_tick(w, now);
    if (w->listen_subs == NULL) {
        return modern;
    }
    if (now >= w->listen_touch_ms) {
        for (wrk_listen_sub_t *s = w->listen_subs; s != NULL; s = s->next) {
            upstream_t *up = wrk_upstream_find(w, s->pkey, strlen(s->pkey));
            if (up != NULL && up->pooled) {
                wrk_pool_touch(up);
            }
            if (up != NULL && (up->state != UP_READY || up->sid == NULL)) {
                continue; /* initializing (its calls, ours among them, are on the way), or
                             stateless: no GET stream to hear updates on */
            }
            if (up != NULL && (s->sid == NULL || strcmp(s->sid, up->sid) == 0)) {
                if (s->sid == NULL) {
                    s->sid = strdup(up->sid); /* NULL: noted next time */
                }
                continue;
            }
            /* the session is gone (closed, lost by the backend) or is another one now: what was
             * subscribed on it is not any more */
            gw_log_info("msg=\"listen subscription made again: its pooled session changed\" "
                        "backend=%s listen=%s",
                        w->name, s->lkey);
            free(s->sid);
            s->sid = NULL;
            gw_envelope_t e;
            sub_env(s, &e);
            subscribe_call(w, &e, s->uri, "");
        }
        w->listen_touch_ms = now + LISTEN_TOUCH_MS;
    }
    return w->listen_touch_ms < modern ? w->listen_touch_ms : modern;
}

void wrk_listen_fini(wrk_t *w)
{
    wrk_listen_modern_fini(w);
    while (w->listen_subs != NULL) {
        wrk_listen_sub_t *s = w->listen_subs;
        w->listen_subs = s->next;
        sub_free(s);
    }
}
