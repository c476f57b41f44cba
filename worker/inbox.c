/* inbox.c: the envelopes that reach the worker's inbox, from routers and the broker, dispatched:
 * calls, client answers to server requests, notifications for a session, session/close,
 * session/listen and session/unlisten, log-level, and the broker's replies to catalog reports. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>

#include "common/log.h"
#include "common/names.h"
#include "common/worker_settings.h"
#include "worker/worker.h"

/* ---- ids from envelopes, fit for headers and log lines ---- */

/* Keeps the visible ASCII of a peer-supplied id (it goes into an HTTP header and log lines). */
void wrk_inbox_copy_token(char *out, size_t outlen, const char *s, size_t n)
{
    size_t o = 0;

    for (size_t i = 0; i < n && o + 1 < outlen; i++) {
        if (s[i] > 0x20 && s[i] < 0x7f && s[i] != '"' && s[i] != '\\') {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
}

/* The request id an envelope carries, fit for log lines and headers (out: WRK_RID_MAX + 1). */
const char *wrk_inbox_rid(char *out, const gw_envelope_t *env)
{
    wrk_inbox_copy_token(out, WRK_RID_MAX + 1, env->request_id.ptr, env->request_id.len);
    return out;
}

/* A gateway session uuid becomes a map key and a log field: visible ASCII, bounded. */
int wrk_inbox_key_valid(gw_str_t s)
{
    if (s.len > WRK_KEY_MAX) {
        return 0;
    }
    for (size_t i = 0; i < s.len; i++) {
        if (s.ptr[i] < 0x21 || s.ptr[i] > 0x7e || s.ptr[i] == '"' || s.ptr[i] == '\\') {
            return 0;
        }
    }
    return 1;
}

static void handle_session_close(wrk_t *w, const gw_envelope_t *env)
{
    upstream_t *up = NULL;

    if (wrk_inbox_key_valid(env->session)) {
        wrk_level_forget(w, env->session.ptr, env->session.len);
    }
    wrk_srvreq_forget_session(w, env->session);

    if (wrk_inbox_key_valid(env->session)) {
        wrk_stream_listen(w, env->session, 0);
        up = wrk_upstream_find(w, env->session.ptr, env->session.len);
    }
    if (up != NULL) {
        wrk_inbox_rid(up->rid, env); /* the DELETE to the backend carries it */
        gw_log_debug("msg=\"upstream session closing\" backend=%s session=%s state=%d "
                     "request_id=%s",
                     w->name, up->key, (int)up->state, up->rid);
        if (up->state == UP_READY) {
            wrk_closer_delete(up);
        } else {
            up->close_requested = 1; /* DELETE once initialize has given us an id */
        }
        wrk_upstream_detach(up);
    }
    wrk_reply_control_end(w, env, 200);
}

/* A message for the upstream session of env->session, if this worker has a live one: client
 * notifications (cancelled, roots/list_changed, ...) and logging/setLevel. Never creates an
 * upstream session; a log level waits for the session's first call here. */
static void handle_broadcast(wrk_t *w, const gw_envelope_t *env)
{
    if (env->flags & GW_ENV_F_MODERN) {
        /* a 2026-07-28 caller has no session: the one message for a worker is the cancel of a
         * call it went away from (design 6) */
        if (gw_str_eq(env->method, "notifications/cancelled")) {
            wrk_pool_cancel(w, env);
        }
        return;
    }
    upstream_t *up = wrk_inbox_key_valid(env->session)
                         ? wrk_upstream_find(w, env->session.ptr, env->session.len)
                         : NULL;
    int is_level = gw_str_eq(env->method, "logging/setLevel");
    if (up != NULL ? up->modern : wrk_era_of_call(w, env) == WRK_ERA_MODERN) {
        /* no upstream session to post on: a level goes in the session's requests' _meta, a
         * cancel stops the call's transfer (which is the 2026-07-28 cancel), the rest has no
         * meaning for a stateless backend */
        if (is_level && up != NULL) {
            wrk_level_take(env->body.ptr, env->body.len, up->level);
        } else if (is_level && wrk_inbox_key_valid(env->session)) {
            (void)wrk_level_keep(w, env->session, env->body);
        } else if (gw_str_eq(env->method, "notifications/cancelled")) {
            wrk_call_cancel(w, env);
        }
        return;
    }
    if (up != NULL && up->state == UP_READY) {
        char rid[WRK_RID_MAX + 1];
        wrk_closer_post(up, env->body.ptr, env->body.len, wrk_inbox_rid(rid, env));
    }
    if (gw_str_eq(env->method, "notifications/cancelled")) {
        wrk_call_cancel(w, env); /* after the post: the backend learns why the stream stops */
        return;
    }
    if (up != NULL && up->state == UP_READY) {
        return;
    }
    if (!is_level || !wrk_inbox_key_valid(env->session)) {
        return; /* a notification about requests this backend never saw */
    }
    (void)wrk_level_keep(w, env->session, env->body); /* when full or out of memory: dropped */
}

/* Takes ownership of msg. */
static void handle_request(wrk_t *w, nng_msg *msg, const gw_envelope_t *env)
{
    if (env->kind == GW_ENV_CONTROL && gw_str_eq(env->method, "log-level")) {
        char name[16];
        snprintf(name, sizeof(name), "%.*s", (int)(env->body.len < 15 ? env->body.len : 15),
                 env->body.ptr);
        int level = gw_log_level_parse(name);
        if (level >= 0) {
            gw_log_threshold = level; /* mcpgwctl log-level, relayed by the broker */
        }
        nng_msg_free(msg);
        return;
    }
    if (env->kind == GW_ENV_CONTROL && (env->flags & GW_ENV_F_NOREPLY) &&
        (gw_str_eq(env->method, "session/listen") || gw_str_eq(env->method, "session/unlisten"))) {
        if (wrk_inbox_key_valid(env->session) && env->session.len > 0) {
            wrk_stream_listen(w, env->session, gw_str_eq(env->method, "session/listen"));
        }
        nng_msg_free(msg);
        return;
    }
    if (env->kind == GW_ENV_CONTROL && (env->flags & GW_ENV_F_NOREPLY) &&
        gw_str_eq(env->method, "worker/reload")) {
        /* the broker's, after a reload kept this worker: the new settings, a new era probe */
        size_t changed = gw_worker_settings_apply(w->cfg, env);
        if (changed > 0) {
            gw_log_info("msg=\"reload: worker settings applied\" backend=%s changed=%zu", w->name,
                        changed);
        }
        wrk_era_reprobe(w, 0, "reload");
        nng_msg_free(msg);
        return;
    }
    if (env->kind == GW_ENV_CONTROL && (env->flags & GW_ENV_F_NOREPLY) &&
        (gw_str_eq(env->method, "listen/subscribe") || gw_str_eq(env->method, "listen/drop"))) {
        wrk_listen_control(w, env); /* listen.c */
        nng_msg_free(msg);
        return;
    }
    if (env->flags & GW_ENV_F_NOREPLY) {
        handle_broadcast(w, env);
        nng_msg_free(msg);
        return;
    }
    if (env->kind == GW_ENV_CALL && env->method.len == 0) {
        wrk_srvreq_answer(w, env);
        nng_msg_free(msg);
        return;
    }
    if (env->kind == GW_ENV_CALL && !(env->flags & GW_ENV_F_STREAM)) {
        wrk_call_accept(w, msg, env);
        return;
    }
    if (env->kind == GW_ENV_CALL) {
        wrk_reply_control_end(w, env, 405); /* no server-to-client stream from this worker yet */
    } else if (env->kind == GW_ENV_CONTROL && gw_str_eq(env->method, "session/close")) {
        handle_session_close(w, env);
    } else if (env->kind == GW_ENV_CONTROL && gw_str_eq(env->method, "catalog/want")) {
        wrk_catalog_want(w, env->caps); /* the report that follows is the answer */
    } else if (env->kind == GW_ENV_CONTROL) {
        char rid[WRK_RID_MAX + 1];
        gw_log_warn("msg=\"unknown control operation\" backend=%s method=%.*s request_id=%s",
                    w->name, (int)env->method.len, env->method.ptr, wrk_inbox_rid(rid, env));
        wrk_reply_control_end(w, env, 404);
    } else {
        char rid[WRK_RID_MAX + 1];
        gw_log_warn("msg=\"unexpected envelope dropped\" backend=%s kind=%u request_id=%s", w->name,
                    (unsigned)env->kind, wrk_inbox_rid(rid, env));
    }
    nng_msg_free(msg);
}

/* A call keeps its message for its life: a frame of a batch gets a message of its own. */
static nng_msg *frame_message(gw_str_t frame, gw_envelope_t *env)
{
    nng_msg *m;
    if (nng_msg_alloc(&m, frame.len) != 0) {
        return NULL;
    }
    memcpy(nng_msg_body(m), frame.ptr, frame.len);
    if (gw_env_decode(nng_msg_body(m), nng_msg_len(m), env) != GW_OK) {
        nng_msg_free(m);
        return NULL;
    }
    return m;
}

static void on_inbox_envelope(void *arg, const gw_envelope_t *env, gw_str_t frame)
{
    wrk_t *w = arg;
    if (env->kind == GW_ENV_HEAD || env->kind == GW_ENV_CHUNK || env->kind == GW_ENV_END) {
        /* a reply to this worker's own request: the broker answering a catalog report */
        if (gw_str_eq(env->origin, GW_BROKER_NAME)) {
            wrk_catalog_on_broker_reply(w, env);
        }
        return;
    }
    gw_envelope_t own_env;
    nng_msg *own = frame_message(frame, &own_env);
    if (own == NULL) {
        char rid[WRK_RID_MAX + 1];
        gw_log_warn("msg=\"call dropped\" backend=%s error=\"out of memory\" request_id=%s",
                    w->name, wrk_inbox_rid(rid, env));
        return;
    }
    handle_request(w, own, &own_env);
}

void wrk_inbox_drain(wrk_t *w)
{
    gw_inbox_drain(&w->inbox, on_inbox_envelope, w, WRK_RECV_READS);
}
