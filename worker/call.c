/* call.c: a call from a router (tools/call, prompts/get, ...): accepted, dispatched on its
 * upstream session, its POST's answer relayed (a non-2xx one by call_http_error.c), a lost session
 * retried once, a stream closed early resumed, deadlines kept; the call's state machine. */
#include "config.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <yajl/yajl_tree.h>
#include <nng/nng.h>

#include "common/clock.h"
#include "common/json.h"
#include "common/jsonrpc.h"
#include "common/lists.h"
#include "common/log.h"
#include "common/metrics.h"
#include "worker/answer.h"
#include "worker/worker.h"

void wrk_call_set_state(call_t *c, call_state_t to)
{
    static const unsigned allowed[] = {
        [CALL_NEW] = (1u << CALL_WAITING) | (1u << CALL_RUNNING) | (1u << CALL_DONE),
        [CALL_WAITING] = (1u << CALL_RUNNING) | (1u << CALL_DONE),
        /* RUNNING -> WAITING/RUNNING: sent again on a new session after a 404 */
        [CALL_RUNNING] = (1u << CALL_WAITING) | (1u << CALL_RUNNING) | (1u << CALL_DONE),
        [CALL_DONE] = 0,
    };

    assert(allowed[c->state] & (1u << to));
    c->state = to;
}

void wrk_call_destroy(call_t *c)
{
    wrk_xfer_fini(&c->x);
    wrk_mrtr_release(c);
    list_remove(&c->qlink);
    wrk_reply_clear(c);
    wrk_rounds_free(c);
    if (c->up != NULL) {
        if (c->up->pooled) {
            wrk_pool_touch(c->up); /* idle from its last call's end */
        }
        list_remove(&c->ulink);
        wrk_upstream_unref(c->up);
        c->up = NULL;
    }
    list_remove(&c->link);
    gw_buf_fini(&c->held_body);
    gw_buf_fini(&c->named_body);
    gw_buf_fini(&c->up_body);
    gw_buf_fini(&c->up_id);
    if (c->msg != NULL) {
        nng_msg_free(c->msg);
    }
    if (c->body_msg != NULL) {
        nng_msg_free(c->body_msg);
    }
    free(c);
}

static void call_on_head(xfer_t *x)
{
    call_t *c = GW_CONTAINER_OF(x, call_t, x);

    if (x->status == 404 && c->sent_sid && !c->retried && !c->w->stopping && c->resumes == 0) {
        x->discard = 1; /* not executed: it goes again on a new session */
        return;
    }
    if (x->status / 100 == 2 && x->status != 202 && c->env.rpc_id.len > 0 && !c->head_sent &&
        (x->ctype == CTYPE_SSE || x->ctype == CTYPE_JSON)) {
        if (x->ctype == CTYPE_SSE && (c->env.flags & GW_ENV_F_MODERN) &&
            wrk_era_of_call(c->w, &c->env) != WRK_ERA_MODERN) {
            /* a 2026-07-28 caller on a 2025 backend: the stream may ask for input before
             * anything else, and the answer then is an interim result or a 400 (mrtr_call.c) */
            c->head_lazy = 1;
            return;
        }
        wrk_reply_head(c, 200, x->ctype == CTYPE_SSE ? GW_ENV_F_SSE : 0);
    }
}

/* The response to the call on its event stream: shaped for the caller's era and relayed. */
static gw_err_t call_on_response(call_t *c, const char *data, size_t len)
{
    gw_buf_t shaped;
    gw_buf_init(&shaped);
    wrk_shape_rc_t s = wrk_call_shape(c, data, len, &shaped);
    if (s != WRK_SHAPE_SAME && s != WRK_SHAPE_REWRITTEN) {
        gw_buf_fini(&shaped);
        if (s == WRK_SHAPE_INPUT_REQUIRED && wrk_rounds_keep(c, data, len) != GW_OK) {
            s = WRK_SHAPE_NOMEM; /* else the rounds start from on_done (mrtr_rounds.c) */
        }
        c->shape_refused = (int)s; /* answered from on_done, outside libcurl's callback */
        return GW_EPROTO;
    }
    c->answered = 1;
    if (s == WRK_SHAPE_REWRITTEN) {
        wrk_reply_chunk(c, shaped.data, shaped.len);
    } else {
        wrk_reply_chunk(c, data, len);
    }
    gw_buf_fini(&shaped);
    return c->lost ? GW_ECLOSED : GW_OK;
}

static gw_err_t call_event(call_t *c, const char *data, size_t len)
{
    if (!c->head_sent && !c->head_lazy) {
        return GW_OK; /* an event stream answering a notification: nobody to give it to */
    }
    gw_rpc_t rpc;
    gw_str_t want = c->up_id.len > 0 ? (gw_str_t){c->up_id.data, c->up_id.len} : c->env.rpc_id;
    wrk_answer_t a = wrk_answer_check(data, len, want.ptr, want.len, 1, c->answered, &rpc);
    if (a != WRK_ANSWER_RESPONSE && a != WRK_ANSWER_MESSAGE) {
        c->bad_answer = (int)a; /* answered from on_done, outside libcurl's callback */
        return GW_EPROTO;
    }
    if (a == WRK_ANSWER_MESSAGE && rpc.kind == GW_MSG_REQUEST && (c->env.flags & GW_ENV_F_MODERN) &&
        wrk_era_of_call(c->w, &c->env) != WRK_ERA_MODERN) {
        /* parks the call; while parked, waits for the next round */
        gw_err_t err = wrk_mrtr_on_request(c, data, len, &rpc);
        return err != GW_OK ? err : c->lost && !wrk_mrtr_parked(c) ? GW_ECLOSED : GW_OK;
    }
    if (wrk_mrtr_parked(c)) {
        return wrk_mrtr_parked_event(c, &rpc, a == WRK_ANSWER_RESPONSE);
    }
    gw_buf_t reid; /* a resumed call's response, with the retry's id */
    gw_buf_init(&reid);
    if (a == WRK_ANSWER_RESPONSE && c->up_id.len > 0) {
        if (gw_rpc_splice_raw(&reid, data, len, rpc.id, c->env.rpc_id.ptr, c->env.rpc_id.len) !=
            GW_OK) {
            gw_buf_fini(&reid);
            return GW_ENOMEM;
        }
        gw_err_t err = call_on_response(c, reid.data, reid.len);
        gw_buf_fini(&reid);
        return err;
    }
    if (a == WRK_ANSWER_RESPONSE) {
        return call_on_response(c, data, len);
    }
    if (a == WRK_ANSWER_MESSAGE && (c->env.flags & GW_ENV_F_MODERN) &&
        (wrk_era_of_call(c->w, &c->env) != WRK_ERA_MODERN
             ? !wrk_pool_relay_event(c, data, len, &rpc)
             : rpc.kind == GW_MSG_REQUEST)) {
        /* not for a 2026-07-28 caller (pool.c); a 2026-07-28 backend has no server requests
         * on a stream (it asks with input_required) and no session to answer one on */
        return c->lost ? GW_ECLOSED : GW_OK;
    }
    if (rpc.kind == GW_MSG_NOTIFICATION &&
        gw_list_by_changed(rpc.method_str, strlen(rpc.method_str)) >= 0) {
        wrk_catalog_note_changed(c->w); /* the broker tells the clients once it is fresh */
        return c->lost ? GW_ECLOSED : GW_OK;
    } else if (rpc.kind == GW_MSG_REQUEST) {
        gw_buf_t out;
        gw_buf_init(&out);
        if (!wrk_srvreq_relay(c->w, c->up, c->env.session, c->env.caps, c->rid, data, len, &rpc,
                              &out)) {
            wrk_reply_chunk(c, out.data, out.len);
        }
        gw_buf_fini(&out);
        return c->lost ? GW_ECLOSED : GW_OK;
    }
    wrk_reply_chunk(c, data, len);
    return c->lost ? GW_ECLOSED : GW_OK;
}

/* An event of the call's stream; a retry's response comes with the retry's own id, which the
 * client never sent (mrtr_rounds.c): its own id goes back in. */
static gw_err_t call_on_event(xfer_t *x, const char *data, size_t len)
{
    call_t *c = GW_CONTAINER_OF(x, call_t, x);
    gw_buf_t fixed;

    if (c->rounds == NULL) {
        return call_event(c, data, len);
    }
    gw_buf_init(&fixed);
    gw_err_t rc = wrk_rounds_fix_id(c, data, len, &fixed) ? call_event(c, fixed.data, fixed.len)
                                                          : call_event(c, data, len);
    gw_buf_fini(&fixed);
    return rc;
}

/* The backend sent something that is not the call's answer (worker/answer.h): counted and
 * logged, the upstream session closed as broken (the next call initializes a new one), and the
 * client answered -32012 naming the backend, or, when its answer already went out, its stream
 * ended. Loop only, outside libcurl callbacks. */
static void call_refuse_answer(call_t *c, wrk_answer_t a)
{
    static const struct {
        gw_counter_t metric;
        const char *text;
    } why[WRK_ANSWER_COUNT] = {
        [WRK_ANSWER_NOT_JSON] = {GW_MC_BAD_ANSWER_NOT_JSON, "an answer that is not JSON"},
        [WRK_ANSWER_NOT_JSONRPC] = {GW_MC_BAD_ANSWER_NOT_JSONRPC,
                                    "an answer that is not one JSON-RPC message"},
        [WRK_ANSWER_WRONG_ID] = {GW_MC_BAD_ANSWER_WRONG_ID, "a response with another id"},
        [WRK_ANSWER_SECOND] = {GW_MC_BAD_ANSWER_SECOND, "a second response"},
    };
    wrk_t *w = c->w;
    upstream_t *up = c->up;

    gw_metric_add(w->m, why[a].metric, 1);
    gw_log_warn("msg=\"backend answer refused\" request_id=%s backend=%s method=%.*s reason=%s "
                "session=%s",
                c->rid, w->name, (int)c->env.method.len, c->env.method.ptr, wrk_answer_reason(a),
                up != NULL ? up->key : "");
    if (up != NULL && up->in_map) {
        snprintf(up->rid, sizeof(up->rid), "%s", c->rid); /* the DELETE names this request */
        if (up->state == UP_READY) {
            wrk_closer_delete(up);
        }
        wrk_upstream_lost(up);
    }
    if (c->answered) {
        wrk_reply_end(c, 0, NULL, 0);
        return;
    }
    wrk_reply_failf(c, GW_RPC_BAD_ANSWER, "backend %s sent %s", w->name, why[a].text);
}

static void call_on_done(xfer_t *x, CURLcode rc)
{
    call_t *c = GW_CONTAINER_OF(x, call_t, x);
    wrk_t *w = c->w;
    char msg[512];
    int code;

    if (wrk_mrtr_on_done(c)) {
        return; /* row 20, no room to park, or it ended while parked */
    }
    if (c->bad_answer != 0) {
        call_refuse_answer(c, (wrk_answer_t)c->bad_answer);
        return;
    }
    if (c->shape_refused != 0) {
        wrk_call_refuse_shape(c, (wrk_shape_rc_t)c->shape_refused);
        return;
    }
    if ((x->discard && x->aborted == ABORT_NONE) ||
        (rc == CURLE_OK && wrk_call_session_rejected(c))) {
        gw_log_info("msg=\"upstream session lost, initializing a new one\" request_id=%s "
                    "backend=%s session=%s status=%ld",
                    c->rid, w->name, c->up->key, x->status);
        c->retried = 1;
        gw_metric_add(w->m, GW_MC_UPSTREAM_REINIT, 1);
        wrk_upstream_lost(c->up);
        list_remove(&c->ulink);
        wrk_upstream_unref(c->up);
        c->up = NULL;
        wrk_call_dispatch(c);
        return;
    }
    if ((code = wrk_xfer_failure(x, rc, msg, sizeof(msg))) != 0) {
        wrk_reply_fail(c, code, msg);
        return;
    }
    if (x->status / 100 != 2 && c->resumes > 0) {
        wrk_reply_failf(c, GW_RPC_INTERNAL_ERROR,
                        "backend %s could not resume its event stream (HTTP %ld to GET with "
                        "Last-Event-ID)",
                        w->name, x->status);
        return;
    }
    if (x->status / 100 != 2) {
        wrk_call_relay_http_error(c);
        return;
    }
    if (c->env.rpc_id.len == 0 || x->status == 202) {
        if (!c->head_sent) {
            wrk_reply_head(c, 202, 0);
        }
        wrk_reply_end(c, 0, NULL, 0);
        return;
    }
    switch (x->ctype) {
    case CTYPE_SSE:
        if (!c->answered && x->sse.last_id[0] != '\0' && c->resumes < WRK_RESUMES_MAX &&
            c->up != NULL && c->up->sid != NULL && !w->stopping) {
            /* closed early with an event id (2025-11-25 polling): resume it with a GET */
            long wait = x->sse.retry_ms < 0 ? 0 : x->sse.retry_ms;
            snprintf(c->resume_id, sizeof(c->resume_id), "%s", x->sse.last_id);
            c->resume_ms =
                gw_clock_ms() + (wait < WRK_RESUME_WAIT_MAX_MS ? wait : WRK_RESUME_WAIT_MAX_MS);
            list_append(&w->resuming, &c->qlink);
            gw_log_debug("msg=\"response stream closed early; resuming it\" request_id=%s "
                         "backend=%s last_event_id=%s retry_ms=%ld",
                         c->rid, w->name, c->resume_id, wait);
            return;
        }
        if (!c->answered) {
            wrk_reply_failf(c, GW_RPC_INTERNAL_ERROR,
                            "backend %s ended the event stream without a response", w->name);
            return;
        }
        wrk_reply_end(c, 0, NULL, 0);
        return;
    case CTYPE_JSON:
        if (x->body.len == 0) {
            wrk_reply_failf(c, GW_RPC_INTERNAL_ERROR, "backend %s answered HTTP %ld without a body",
                            w->name, x->status);
            return;
        }
        gw_buf_t fixed; /* a retry's response: the client's id back in (mrtr_rounds.c) */
        gw_buf_init(&fixed);
        if (c->rounds != NULL && wrk_rounds_fix_id(c, x->body.data, x->body.len, &fixed)) {
            gw_buf_reset(&x->body);
            if (gw_buf_append(&x->body, fixed.data, fixed.len) != GW_OK) {
                gw_buf_reset(&x->body);
            }
        }
        gw_buf_fini(&fixed);
        gw_rpc_t rpc;
        wrk_answer_t a = wrk_answer_check(x->body.data, x->body.len, c->env.rpc_id.ptr,
                                          c->env.rpc_id.len, 0, 0, &rpc);
        if (a != WRK_ANSWER_RESPONSE) {
            call_refuse_answer(c, a);
            return;
        }
        gw_buf_t shaped;
        gw_buf_init(&shaped);
        wrk_shape_rc_t s = wrk_call_shape(c, x->body.data, x->body.len, &shaped);
        if (s != WRK_SHAPE_SAME && s != WRK_SHAPE_REWRITTEN) {
            gw_buf_fini(&shaped);
            if (s == WRK_SHAPE_INPUT_REQUIRED &&
                wrk_rounds_keep(c, x->body.data, x->body.len) != GW_OK) {
                s = WRK_SHAPE_NOMEM;
            }
            wrk_call_refuse_shape(c, s);
            return;
        }
        if (s == WRK_SHAPE_REWRITTEN) {
            wrk_reply_chunk(c, shaped.data, shaped.len);
        } else {
            wrk_reply_chunk(c, x->body.data, x->body.len);
        }
        gw_buf_fini(&shaped);
        c->answered = 1;
        wrk_reply_end(c, 0, NULL, 0);
        return;
    default:
        wrk_reply_failf(c, GW_RPC_INTERNAL_ERROR,
                        "backend %s answered HTTP %ld with an unexpected content type", w->name,
                        x->status);
        return;
    }
}

static const xfer_ops_t call_ops = {
    .on_head = call_on_head,
    .on_event = call_on_event,
    .on_done = call_on_done,
};

/* The backend timeout of a call: servers[].tool_timeouts for a tools/call of a tool listed
 * there, else servers[].timeout. The body is scanned only when the server has such a list. */
static uint64_t call_timeout_ms(const call_t *c)
{
    const gw_server_conf_t *srv = c->w->srv;
    gw_rpc_t rpc;

    if (srv->ntool_timeouts == 0 || !gw_str_eq(c->env.method, "tools/call") ||
        gw_rpc_scan(c->env.body.ptr, c->env.body.len, 0, &rpc) != GW_OK || rpc.name.len == 0 ||
        rpc.name_too_long) {
        return srv->timeout_ms;
    }
    return gw_server_tool_timeout_ms(srv, rpc.name_str, strlen(rpc.name_str));
}

/* The transfer timeout for the call's next exchange with the backend: its own timeout, cut to
 * the caller's deadline; 0 (and the call answered) when the deadline has passed. */
static uint64_t call_time_left(call_t *c)
{
    uint64_t timeout = call_timeout_ms(c);
    if (c->env.deadline_ms != 0) {
        int64_t left = c->env.deadline_ms - gw_clock_ms();
        if (left <= 0) {
            wrk_reply_failf(c, GW_RPC_TIMEOUT, "backend %s timed out after %" PRId64 " ms",
                            c->w->name, gw_clock_ms() - c->received_ms);
            return 0;
        }
        if ((uint64_t)left < timeout) {
            timeout = (uint64_t)left;
        }
    }
    return timeout;
}

static void call_run(call_t *c)
{
    wrk_t *w = c->w;
    upstream_t *up = c->up;
    uint64_t timeout = call_time_left(c);
    xfer_req_t rq;
    gw_err_t err;

    if (timeout == 0) {
        return;
    }
    rq = (xfer_req_t){
        .method = "POST",
        .body = c->env.body.ptr,
        .len = c->env.body.len,
        .sid = up->sid,
        .proto = up->proto,
        .rid = c->rid,
        .timeout_ms = timeout,
    };
    if (wrk_era_of_call(w, &c->env) == WRK_ERA_MODERN) {
        /* a stateless POST with _meta and the Mcp-* headers (modern.c) */
        if (wrk_modern_prepare_call(c, &rq.body, &rq.len) != GW_OK ||
            (c->rounds != NULL && wrk_rounds_body(c, &rq.body, &rq.len) != GW_OK)) {
            return; /* answered */
        }
        rq.sid = NULL;
        rq.proto = GW_PROTO_MODERN_NAME;
    } else if (c->env.flags & GW_ENV_F_MODERN) {
        int r = wrk_pool_strip_body(c->env.body.ptr, c->env.body.len, &c->up_body);
        if (r < 0) {
            wrk_reply_failf(c, GW_RPC_INTERNAL_ERROR, "backend %s: out of memory", w->name);
            return;
        }
        if (r > 0) {
            rq.body = c->up_body.data;
            rq.len = c->up_body.len;
        }
    }
    wrk_call_set_state(c, CALL_RUNNING);
    c->sent_sid = up->sid != NULL;
    if ((err = wrk_xfer_start(&c->x, &rq)) != GW_OK) {
        wrk_reply_failf(c, GW_RPC_INTERNAL_ERROR, "backend %s: cannot start the request: %s",
                        w->name, gw_strerror(err));
    }
}

void wrk_call_retry(call_t *c)
{
    call_run(c);
}

/* Only the calls of the session's upstream session are looked at: a cancel costs what that
 * session has in flight. A call that has not reached the backend (queued behind initialize)
 * just ends; the notification goes to the backend only on a ready upstream session (inbox.c). */
size_t wrk_call_cancel(wrk_t *w, const gw_envelope_t *env)
{
    gw_rpc_t rpc;
    char rid[WRK_RID_MAX + 1];
    size_t n = 0;
    upstream_t *up = wrk_inbox_key_valid(env->session)
                         ? wrk_upstream_find(w, env->session.ptr, env->session.len)
                         : NULL;

    if (up == NULL ||
        gw_rpc_scan(env->body.ptr, env->body.len, GW_RPC_DEFAULT_MAX_DEPTH, &rpc) != GW_OK ||
        rpc.request_id.len == 0) {
        return 0;
    }
    const char *id = env->body.ptr + rpc.request_id.off;
    wrk_inbox_rid(rid, env);
    up->refs++; /* the last call's end must not free the list under the walk */
    for (link_t *l = up->calls.next; l != &up->calls;) {
        call_t *c = GW_CONTAINER_OF(l, call_t, ulink);
        l = l->next;
        if (c->state == CALL_DONE || c->env.rpc_id.len != rpc.request_id.len ||
            memcmp(c->env.rpc_id.ptr, id, rpc.request_id.len) != 0) {
            continue;
        }
        list_remove(&c->qlink); /* queued behind initialize, or waiting to resume */
        wrk_reply_cancelled(c, rid);
        n++;
    }
    wrk_upstream_unref(up);
    return n;
}

/* Resumes the response streams that are due: GET with Last-Event-ID on the same upstream
 * session; the events go on into the same reply. Returns when the next one is due. */
int64_t wrk_call_resumes_tick(wrk_t *w, int64_t now)
{
    int64_t next = INT64_MAX;
    for (link_t *l = w->resuming.next; l != &w->resuming;) {
        call_t *c = GW_CONTAINER_OF(l, call_t, qlink);
        l = l->next;
        if (now < c->resume_ms) {
            next = c->resume_ms < next ? c->resume_ms : next;
            continue;
        }
        list_remove(&c->qlink);
        uint64_t timeout = call_time_left(c);
        if (timeout == 0) {
            continue;
        }
        c->resumes++;
        xfer_req_t rq = {
            .method = "GET",
            .sid = c->up->sid,
            .proto = c->up->proto,
            .rid = c->rid,
            .last_event_id = c->resume_id,
            .timeout_ms = timeout,
        };
        gw_err_t err = wrk_xfer_start(&c->x, &rq);
        if (err != GW_OK) {
            wrk_reply_failf(c, GW_RPC_INTERNAL_ERROR,
                            "backend %s: cannot resume the event stream: %s", w->name,
                            gw_strerror(err));
        }
    }
    return next;
}

/* Runs the call on its gateway session's upstream session, creating that lazily: the first
 * call starts initialize, the others queue behind it (single flight). */
void wrk_call_dispatch(call_t *c)
{
    wrk_t *w = c->w;
    upstream_t *up = c->up;

    if (wrk_era_must_hold(w, &c->env)) {
        wrk_era_hold_call(c); /* which era to speak is not known yet */
        return;
    }
    if (up == NULL) {
        /* The upstream session: the gateway session's; for a 2026-07-28 caller (no session) a
         * pooled one by caller, capabilities and level on a 2025 backend (pool.c), or on a
         * 2026-07-28 backend one shared record, every request standing alone. */
        char key[WRK_UPKEY_MAX + 1];
        size_t n = c->env.session.len;
        uint8_t caps = c->env.caps;
        char level[16] = "";
        wrk_era_t era = wrk_era_of_call(w, &c->env);
        int pooled = (c->env.flags & GW_ENV_F_MODERN) && era == WRK_ERA_LEGACY;
        if (pooled) {
            n = wrk_pool_key(&c->env, key, &caps, level);
        } else if (c->env.flags & GW_ENV_F_MODERN) {
            n = (size_t)snprintf(key, sizeof(key), "m:");
        } else {
            memcpy(key, c->env.session.ptr, n);
        }
        up = wrk_upstream_find(w, key, n);
        if (up == NULL) {
            up = wrk_upstream_create(w, key, n, pooled ? GW_PROTO_LATEST : c->env.proto, caps);
            if (up != NULL) {
                up->pooled = pooled;
                up->modern = era == WRK_ERA_MODERN; /* for a dual backend: the caller's */
                memcpy(up->level, level, sizeof(up->level));
            }
            if (up == NULL || wrk_upstream_insert(w, up) != GW_OK) {
                if (up != NULL) {
                    wrk_upstream_unref(up);
                }
                wrk_reply_failf(c, GW_RPC_INTERNAL_ERROR, "backend %s: out of memory", w->name);
                return;
            }
            if (pooled) {
                wrk_pool_add(up);
            }
            wrk_upstream_unref(up); /* the map holds it now */
        }
        if (up->pooled) {
            wrk_pool_touch(up);
        }
        up->refs++;
        c->up = up;
        list_append(&up->calls, &c->ulink);
    }
    switch (up->state) {
    case UP_READY:
        if (!list_empty(&up->swlink)) { /* behind the first calls, held for the GET stream */
            wrk_call_set_state(c, CALL_WAITING);
            list_append(&up->waiting, &c->qlink);
            return;
        }
        if (gw_str_eq(c->env.method, "resources/subscribe")) {
            wrk_stream_subscribed(up); /* updates come on the GET stream */
        }
        call_run(c);
        return;
    case UP_NONE:
        wrk_call_set_state(c, CALL_WAITING);
        list_append(&up->waiting, &c->qlink);
        wrk_upstream_start(up, c->rid); /* may fail c right here */
        return;
    case UP_INITIALIZING:
        wrk_call_set_state(c, CALL_WAITING);
        list_append(&up->waiting, &c->qlink);
        return;
    case UP_FAILED:
        break;
    }
    wrk_reply_failf(c, GW_RPC_INTERNAL_ERROR, "backend %s: upstream session unusable", w->name);
}

/* Takes ownership of msg (env points into it). */
void wrk_call_accept(wrk_t *w, nng_msg *msg, const gw_envelope_t *env)
{
    gw_outbox_t *out = wrk_reply_outbox(w, env->origin);
    call_t *c = out != NULL ? calloc(1, sizeof(*c)) : NULL;

    if (c == NULL) {
        char rid[WRK_RID_MAX + 1];
        gw_log_warn("msg=\"call dropped\" backend=%s error=\"out of memory\" request_id=%s",
                    w->name, wrk_inbox_rid(rid, env));
        nng_msg_free(msg);
        return;
    }
    c->w = w;
    c->msg = msg;
    c->env = *env;
    c->out = out;
    c->received_ms = gw_clock_ms();
    c->received_us = gw_clock_us();
    list_init(&c->qlink);
    list_init(&c->ulink);
    list_init(&c->blink);
    list_init(&c->outq);
    gw_buf_init(&c->named_body);
    gw_buf_init(&c->up_body);
    gw_buf_init(&c->up_id);
    list_append(&w->calls, &c->link);
    wrk_inbox_copy_token(c->rid, sizeof(c->rid), env->request_id.ptr, env->request_id.len);
    wrk_xfer_init(&c->x, w, &call_ops);
    gw_log_debug("msg=\"call received\" request_id=%s backend=%s method=%.*s session=%.*s", c->rid,
                 w->name, (int)env->method.len, env->method.ptr,
                 (int)(env->session.len > WRK_KEY_MAX ? WRK_KEY_MAX : env->session.len),
                 env->session.ptr);

    if (w->stopping) {
        wrk_reply_failf(c, GW_RPC_BACKEND_UNAVAILABLE,
                        "backend %s unavailable: worker shutting down", w->name);
        return;
    }
    if (!wrk_inbox_key_valid(env->session)) {
        wrk_reply_failf(c, GW_RPC_INVALID_REQUEST, "invalid gateway session id");
        return;
    }
    if (env->deadline_ms != 0 && gw_clock_ms() >= env->deadline_ms) {
        wrk_reply_failf(c, GW_RPC_TIMEOUT, "backend %s timed out after 0 ms", w->name);
        return;
    }
    if (env->flags & GW_ENV_F_RESUME) {
        wrk_mrtr_resume(c); /* onto its parked call, or row 19 */
        return;
    }
    if (wrk_tool_names_call(c) || wrk_mcp_param_call(c)) {
        return;
    }
    wrk_call_dispatch(c);
}

/* Fails queued calls whose deadline passed; returns the earliest deadline still ahead. */
int64_t wrk_call_sweep_waiting(wrk_t *w, int64_t now)
{
    int64_t next = wrk_era_sweep_held(w, now);
    int64_t rounds = wrk_rounds_tick(w, now);

    next = rounds < next ? rounds : next;
    for (link_t *il = w->initializing.next; il != &w->initializing; il = il->next) {
        upstream_t *up = GW_CONTAINER_OF(il, upstream_t, ilink);
        link_t *l = up->waiting.next;
        while (l != &up->waiting) {
            call_t *c = GW_CONTAINER_OF(l, call_t, qlink);
            l = l->next;
            if (c->env.deadline_ms == 0) {
                continue;
            }
            if (now >= c->env.deadline_ms) {
                list_remove(&c->qlink);
                wrk_reply_failf(c, GW_RPC_TIMEOUT, "backend %s timed out after %" PRId64 " ms",
                                w->name, now - c->received_ms);
            } else if (c->env.deadline_ms < next) {
                next = c->env.deadline_ms;
            }
        }
    }
    return next;
}

/* Answers what is still in flight when the grace period ends. */
void wrk_call_abort_all(wrk_t *w)
{
    link_t *l = w->calls.next;

    while (l != &w->calls) {
        call_t *c = GW_CONTAINER_OF(l, call_t, link);
        l = l->next;
        if (c->state != CALL_DONE) {
            wrk_xfer_cancel(&c->x);
            list_remove(&c->qlink);
            wrk_reply_failf(c, GW_RPC_BACKEND_UNAVAILABLE,
                            "backend %s call aborted: worker shutting down", w->name);
        }
    }
    wrk_reply_flush_backlog(w);
}
