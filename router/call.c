/* call.c: a call in flight to a peer: correlation, deadline, the replies (HEAD, CHUNK, END) and
 * how they become the client's answer, and the failures the gateway answers itself. */
#include <config.h> /* autoconf's, not common/config.h */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/htable.h"
#include "common/log.h"
#include "router/router.h"

/* A call's timer waits in the list of its duration (h2o_timeout_t lists have one duration each):
 * one list per distinct deadline the routing tables have named, never freed (a handful). */
struct rtr_timeout_list {
    uint64_t ms;
    h2o_timeout_t timeout;
    rtr_timeout_list_t *next;
};

/* Correlation ids are a counter: the id itself spreads calls over the buckets. */
static int call_has_corr(const gw_hnode_t *n, const void *corr, size_t len)
{
    (void)len;
    return GW_CONTAINER_OF(n, rtr_call_t, node)->corr == *(const uint64_t *)corr;
}

rtr_call_t *rtr_call_find(rtr_t *r, uint64_t corr)
{
    gw_hnode_t *n = gw_htable_find(&r->calls, corr, &corr, sizeof(corr), call_has_corr);
    return n != NULL ? GW_CONTAINER_OF(n, rtr_call_t, node) : NULL;
}

/* Gives back c's place among its session's requests in flight. */
static void call_release_use(rtr_call_t *c)
{
    if (c->use == NULL) {
        return;
    }
    h2o_linklist_unlink(&c->use_link);
    c->use->in_flight--;
    rtr_session_use_put(c->rtr, c->use);
    c->use = NULL;
}

void rtr_call_destroy(rtr_call_t *c)
{
    rtr_t *r = c->rtr;
    gw_htable_remove(&r->calls, &c->node);
    if (h2o_linklist_is_linked(&c->peer_link)) { /* a cancelled call left its peer's list */
        h2o_linklist_unlink(&c->peer_link);
    }
    if (h2o_timeout_is_linked(&c->timer)) {
        h2o_timeout_unlink(&c->timer);
    }
    rtr_req_unguard(c->guard);
    rtr_h1_gone_unwatch(c);
    call_release_use(c);
    rtr_batch_t *batch = c->batch;
    gw_buf_t answer = c->body; /* a batch message's answer, handed over below */
    gw_buf_init(&c->body);
    gw_buf_fini(&c->sending);
    free(c->rpc_id);
    int64_t took_us = rtr_now_us() - c->start_us;
    gw_metric_observe_us(r->m, GW_MH_GATEWAY, (uint64_t)took_us);
    if (c->audit_tool != NULL) {
        /* One audit line per tools/call: who called what, where, and how it ended. */
        char subject[2 * GW_SUBJECT_MAX + 8];
        char view[GW_POLICY_VIEW_NAME_MAX];
        gw_log_info(
            "msg=audit request_id=%s session=%s subject=\"%s\" tool=%s backend=%s "
            "status=%u outcome=%s duration_ms=%.3f decision=allowed rule=%s",
            c->request_id, c->audit_session,
            gw_log_quote(subject, sizeof(subject), c->audit_subject, strlen(c->audit_subject)),
            c->audit_tool, c->audit_backend, c->status ? c->status : 200,
            c->outcome ? c->outcome : "answered", took_us / 1000.0,
            r->policy != NULL ? gw_policy_view_name(c->audit_view, view) : "none");
        free(c->audit_tool);
    }
    r->nstreams -= c->stream != 0;
    free(c);
    r->ncalls--;
    gw_gauge_set(r->m, GW_MG_IN_FLIGHT, (int64_t)(r->ncalls - r->nstreams));
    if (batch != NULL) {
        rtr_batch_answer(batch, answer.data, answer.len);
    }
    gw_buf_fini(&answer);
}

void rtr_call_fail(rtr_call_t *c, int code, const char *msg)
{
    c->outcome = code == GW_RPC_TIMEOUT ? "timeout" : "unavailable";
    gw_log_warn("msg=\"call failed\" peer=%s code=%d reason=\"%s\" request_id=%s", c->peer->name,
                code, msg, c->request_id);
    if (c->batch != NULL) {
        gw_buf_reset(&c->body);
        if (c->rpc_id_len > 0 &&
            gw_rpc_error(&c->body, c->rpc_id, c->rpc_id_len, code, msg) != GW_OK) {
            gw_log_err("msg=\"out of memory answering a batch message\" request_id=%s",
                       c->request_id);
            gw_buf_reset(&c->body); /* the batch goes without this answer */
        }
        rtr_call_destroy(c);
        return;
    }
    if (c->req == NULL) {
        rtr_call_destroy(c);
        return;
    }
    if (c->state == RTR_CALL_STREAMING) {
        gw_buf_t e;
        gw_buf_init(&e);
        if (c->rpc_id_len > 0 && gw_rpc_error(&e, c->rpc_id, c->rpc_id_len, code, msg) == GW_OK) {
            rtr_sse_append(c, e.data, e.len);
        }
        gw_buf_fini(&e);
        c->ended = 1;
        rtr_sse_flush(c);
        return;
    }
    rtr_t *r = c->rtr;
    h2o_req_t *req = c->req;
    char *id = c->rpc_id;
    size_t id_len = c->rpc_id_len;
    c->rpc_id = NULL;
    rtr_call_destroy(c);
    rtr_respond_error(r, RTR_TO_CLIENT(req), id_len > 0 ? 200 : 503, id, id_len, code, msg);
    free(id);
}

/* Cancellation (basic/utilities/cancellation): the receiver does not answer a cancelled request,
 * and the sender ignores a late response. The router is the client's receiver: its response to
 * the POST ends without a JSON-RPC response. by: who saw the cancel ("client" here, "<worker>"
 * when the cancel came through another router). */
void rtr_call_cancel(rtr_call_t *c, const char *by)
{
    rtr_t *r = c->rtr;
    c->cancelled = 1;
    c->outcome = "cancelled";
    gw_log_info("msg=\"call cancelled\" peer=%s by=%s streaming=%d request_id=%s", c->peer->name,
                by, c->state == RTR_CALL_STREAMING, c->request_id);
    gw_metric_add(r->m, GW_MC_CALLS_CANCELLED, 1);
    h2o_linklist_unlink(&c->peer_link); /* a peer that goes now owes this call nothing */
    if (h2o_timeout_is_linked(&c->timer)) {
        h2o_timeout_unlink(&c->timer);
    }
    call_release_use(c);
    if (c->batch != NULL || c->req == NULL) {
        gw_buf_reset(&c->body); /* a batch message cancelled adds no answer to the batch */
        rtr_call_destroy(c);
        return;
    }
    if (c->state == RTR_CALL_STREAMING) {
        c->ended = 1; /* what was relayed before the cancel is written, then the stream ends */
        rtr_sse_flush(c);
        return;
    }
    h2o_req_t *req = c->req;
    rtr_call_destroy(c);
    rtr_respond_cancelled(r, req);
}

size_t rtr_call_cancel_request(rtr_t *r, gw_str_t session, const char *id, size_t id_len)
{
    rtr_session_use_t *u = session.len > 0 ? rtr_session_use_find(r, session) : NULL;
    size_t n = 0;
    if (u == NULL || id_len == 0) {
        return 0;
    }
    h2o_linklist_t *l = u->calls.next;
    while (l != &u->calls) {
        rtr_call_t *c = H2O_STRUCT_FROM_MEMBER(rtr_call_t, use_link, l);
        l = l->next;
        if (c->rpc_id_len == id_len && memcmp(c->rpc_id, id, id_len) == 0) {
            int last = l == &u->calls; /* u may be freed with the last call's place */
            rtr_call_cancel(c, "client");
            n++;
            if (last) {
                break;
            }
        }
    }
    return n;
}

static void on_call_timeout(h2o_timeout_entry_t *entry)
{
    rtr_call_t *c = H2O_STRUCT_FROM_MEMBER(rtr_call_t, timer, entry);
    char msg[96];
    snprintf(msg, sizeof(msg), "gateway timed out waiting for %s", c->peer->name);
    rtr_call_fail(c, GW_RPC_TIMEOUT, msg);
}

static void call_on_head(rtr_call_t *c, const gw_envelope_t *e)
{
    c->status = e->status ? e->status : 200;
    c->sse = (e->flags & GW_ENV_F_SSE) != 0;
    if (c->req == NULL) {
        return;
    }
    if (c->stream && c->sse) {
        /* open: no deadline from now on, a heartbeat while idle */
        h2o_timeout_unlink(&c->timer);
        rtr_stream_heartbeat_rearm(c);
    }
    for (size_t i = 0; i < e->nheaders; i++) {
        if (e->headers[i].name.len > 5 && memcmp(e->headers[i].name.ptr, "wait-", 5) == 0) {
            continue; /* a parked call's names (mrtr.c seals them), never the client's */
        }
        h2o_iovec_t name =
            h2o_strdup(&c->req->pool, e->headers[i].name.ptr, e->headers[i].name.len);
        h2o_iovec_t value =
            h2o_strdup(&c->req->pool, e->headers[i].value.ptr, e->headers[i].value.len);
        h2o_add_header_by_str(&c->req->pool, &c->req->res.headers, name.base, name.len, 1, NULL,
                              value.base, value.len);
    }
    if (c->sse) {
        rtr_sse_start(c);
    }
}

/* An interim result (GW_ENV_F_INPUT_REQUIRED): its body with the requestState sealed (mrtr.c),
 * in sealed and *body (1); else c failed with -32603 and the reason, logged (0). */
static int seal_interim(rtr_call_t *c, const gw_envelope_t *e, gw_buf_t *sealed, gw_str_t *body)
{
    const char *why;
    if (!rtr_mrtr_seal_reply(c, e, sealed, &why)) {
        gw_buf_fini(sealed);
        rtr_call_fail(c, GW_RPC_INTERNAL_ERROR, why);
        return 0;
    }
    *body = (gw_str_t){sealed->data, sealed->len};
    return 1;
}

void rtr_call_on_reply(rtr_call_t *c, const gw_envelope_t *e)
{
    rtr_t *r = c->rtr;
    if (c->cancelled || (c->listen && c->ended)) {
        return; /* a late reply of a cancelled call reaches nobody; a listen this router ended
                   (it stops) has had its result */
    }
    if (e->kind == GW_ENV_END && (e->flags & GW_ENV_F_CANCELLED)) {
        rtr_call_cancel(c, c->peer->name); /* the cancel reached another router first */
        return;
    }
    if (c->batch != NULL) {
        rtr_batch_on_reply(c, e);
        return;
    }
    switch (e->kind) {
    case GW_ENV_HEAD:
        call_on_head(c, e);
        if (c->stream && c->req == NULL) {
            rtr_stream_gone(c); /* the client left before the stream opened */
            return;
        }
        if ((e->flags & GW_ENV_F_FINAL) && !c->sse) {
            /* the whole JSON reply in one message: answer straight from it */
            h2o_req_t *req = c->req;
            unsigned status = e->status ? e->status : 200;
            gw_buf_t sealed;
            gw_buf_init(&sealed);
            gw_str_t body = e->body;
            if ((e->flags & GW_ENV_F_INPUT_REQUIRED) && !seal_interim(c, e, &sealed, &body)) {
                return;
            }
            if (status >= 400) { /* a refusal decided behind the router (session limits) */
                gw_log_info("msg=rejected status=%u by=%s request_id=%s", status, c->peer->name,
                            c->request_id);
                gw_metric_add(r->m, rtr_rejection_of(status, 0, ""), 1);
            }
            rtr_call_destroy(c);
            if (req != NULL) {
                rtr_respond(r, RTR_TO_CLIENT(req), status, body.ptr, body.len);
            }
            gw_buf_fini(&sealed);
        }
        return;
    case GW_ENV_CHUNK:
        if (e->flags & GW_ENV_F_INPUT_REQUIRED) {
            gw_buf_t sealed;
            gw_buf_init(&sealed);
            gw_envelope_t chunk = *e;
            if (seal_interim(c, e, &sealed, &chunk.body)) {
                chunk.flags &= ~GW_ENV_F_INPUT_REQUIRED;
                rtr_call_on_reply(c, &chunk);
                gw_buf_fini(&sealed);
            }
            return;
        }
        if (c->sse) {
            gw_str_t id = GW_STR_NULL;
            for (size_t i = 0; i < e->nheaders; i++) {
                if (gw_str_eq(e->headers[i].name, "event-id")) {
                    id = e->headers[i].value;
                }
            }
            rtr_sse_append_id(c, id, e->body.ptr, e->body.len);
            if (c->stream) {
                rtr_stream_heartbeat_rearm(c);
            }
            rtr_sse_flush(c);
        } else if (gw_buf_append(&c->body, e->body.ptr, e->body.len) != GW_OK) {
            rtr_call_fail(c, GW_RPC_INTERNAL_ERROR, "gateway out of memory");
        }
        return;
    case GW_ENV_END:
        break;
    default:
        return;
    }
    if (c->sse) {
        c->ended = 1;
        rtr_sse_flush(c);
        return;
    }
    h2o_req_t *req = c->req;
    if (req == NULL) {
        rtr_call_destroy(c);
        return;
    }
    unsigned status = c->status ? c->status : (e->status ? e->status : 502);
    if (status >= 400) {
        gw_log_info("msg=\"call ended with an error\" status=%u by=%s request_id=%s", status,
                    c->peer->name, c->request_id);
    }
    if (c->status == 0 && e->body.len > 0) {
        gw_buf_reset(&c->body);
        if (gw_buf_append(&c->body, e->body.ptr, e->body.len) != GW_OK) {
            rtr_call_fail(c, GW_RPC_INTERNAL_ERROR, "gateway out of memory");
            return;
        }
    }
    gw_buf_t body = c->body;
    gw_buf_init(&c->body);
    rtr_call_destroy(c);
    rtr_respond(r, RTR_TO_CLIENT(req), status, body.data, body.len);
    gw_buf_fini(&body);
}

/* The timer list for ms: the router's own wait for a peer, which is the hop's deadline plus
 * RTR_DEADLINE_GRACE_MS so that the peer's clearer answer (a worker's -32011 naming the backend)
 * arrives first. */
h2o_timeout_t *rtr_call_timeout_list(rtr_t *r, uint64_t ms)
{
    for (rtr_timeout_list_t *t = r->timeouts; t != NULL; t = t->next) {
        if (t->ms == ms) {
            return &t->timeout;
        }
    }
    rtr_timeout_list_t *t = calloc(1, sizeof(*t));
    if (t == NULL) {
        /* out of memory: any list times the call out; the first one made is the broker's */
        rtr_timeout_list_t *last = r->timeouts;
        while (last->next != NULL) {
            last = last->next;
        }
        return &last->timeout;
    }
    t->ms = ms;
    h2o_timeout_init(r->ctx.loop, &t->timeout, ms);
    t->next = r->timeouts;
    r->timeouts = t;
    return &t->timeout;
}

/* A 2026-07-28 client went away from its call (design §6: on HTTP, closing the stream is the
 * cancel): the worker is told, as a NOREPLY notifications/cancelled naming the call's id with
 * the caller it matches by, and the call ends here without an answer. Called from the request's
 * dispose (c->req is NULL already), or by h1_gone.c (c->req still set: answered as cancelled, to
 * a connection that is gone). */
static void modern_call_gone(void *owner)
{
    rtr_call_client_gone(owner);
}

void rtr_call_client_gone(rtr_call_t *c)
{
    rtr_t *r = c->rtr;
    if (c->listen) {
        rtr_listen_client_gone(c); /* no cancel: the broker drops it (stream.c) */
        return;
    }
    if (c->ended || c->cancelled || c->peer == r->broker || c->rpc_id == NULL) {
        return; /* answered (an interim result's stream ending is no cancel), or a list */
    }
    gw_buf_t b;
    gw_buf_init(&b);
    (void)gw_buf_appends(&b, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\","
                             "\"params\":{\"requestId\":");
    (void)gw_buf_append(&b, c->rpc_id, c->rpc_id_len);
    if (gw_buf_appends(&b, "}}") == GW_OK) {
        gw_envelope_t e = {.kind = GW_ENV_CALL, .flags = GW_ENV_F_MODERN | GW_ENV_F_NOREPLY};
        e.method = GW_STR("notifications/cancelled");
        e.proto = GW_PROTO_2026_07_28;
        e.request_id = (gw_str_t){c->request_id, strlen(c->request_id)};
        e.body = (gw_str_t){b.data, b.len};
        if (c->modern_authenticated) {
            e.headers[e.nheaders++] = (gw_env_header_t){
                GW_STR("auth-subject"), {c->modern_subject, strlen(c->modern_subject)}};
            e.headers[e.nheaders++] = (gw_env_header_t){
                GW_STR("auth-issuer-tag"), {(const char *)c->modern_issuer_tag, GW_ISSUER_TAG_LEN}};
        }
        if (rtr_peer_send(c->peer, &e) != GW_OK) {
            gw_log_warn("msg=\"cancel of a gone client's call not sent\" peer=%s request_id=%s",
                        c->peer->name, c->request_id);
        }
    }
    gw_buf_fini(&b);
    rtr_call_cancel(c, "client");
}

rtr_call_t *rtr_call_dispatch(rtr_t *r, rtr_sink_t to, rtr_peer_t *peer, gw_envelope_t *e,
                              uint64_t timeout_ms)
{
    h2o_req_t *req = to.req;
    rtr_session_use_t *use = rtr_session_use_counts(e) ? rtr_session_use_get(r, e->session) : NULL;
    unsigned limit = r->cfg->max_concurrent_requests_per_session;
    if (use != NULL && limit > 0 && use->in_flight >= limit) {
        char msg[160];
        h2o_iovec_t rid = rtr_request_id_of(req);
        gw_log_warn("msg=\"request refused: limits.max_concurrent_requests_per_session reached\" "
                    "session=%s limit=%u request_id=%.*s",
                    use->uuid, limit, (int)rid.len, rid.base);
        snprintf(msg, sizeof(msg),
                 "Too Many Requests: this session already has %u requests in flight "
                 "(limits.max_concurrent_requests_per_session)",
                 use->in_flight);
        rtr_respond_error(r, to, 429, e->rpc_id.ptr, e->rpc_id.len, GW_RPC_INTERNAL_ERROR, msg);
        return NULL;
    }
    rtr_call_t *c = calloc(1, sizeof(*c));
    if (c != NULL) {
        c->corr = ++r->next_corr;
        if (gw_htable_insert(&r->calls, &c->node, c->corr) != GW_OK) {
            free(c);
            c = NULL;
        }
    }
    if (c == NULL) {
        rtr_session_use_put(r, use);
        rtr_respond_error(r, to, 503, e->rpc_id.ptr, e->rpc_id.len, GW_RPC_INTERNAL_ERROR,
                          "gateway out of memory");
        return NULL;
    }
    if (use != NULL) {
        use->in_flight++;
        c->use = use;
        h2o_linklist_insert(&use->calls, &c->use_link);
    }
    c->rtr = r;
    c->start_us = rtr_now_us();
    c->peer = peer;
    if (to.batch != NULL) {
        c->batch = to.batch; /* the batch answers the client, not this call */
    } else {
        rtr_req_guard(req, &c->req, &c->guard);
        if (e->flags & GW_ENV_F_MODERN) {
            c->modern = 1;
            if (r->caller != NULL && r->caller->authenticated) {
                c->modern_authenticated = 1;
                memcpy(c->modern_subject, r->caller->subject, sizeof(c->modern_subject));
                memcpy(c->modern_issuer_tag, r->caller->issuer_tag, GW_ISSUER_TAG_LEN);
            }
            c->guard->gone = modern_call_gone;
            c->guard->owner = c;
            rtr_h1_gone_watch(r, c);
        }
    }
    gw_buf_init(&c->body);
    gw_buf_init(&c->sending);
    snprintf(c->request_id, sizeof(c->request_id), "%.*s", (int)e->request_id.len,
             e->request_id.ptr);
    if (e->rpc_id.len > 0 && (c->rpc_id = malloc(e->rpc_id.len)) != NULL) {
        memcpy(c->rpc_id, e->rpc_id.ptr, e->rpc_id.len);
        c->rpc_id_len = e->rpc_id.len;
    }
    h2o_linklist_insert(&peer->calls, &c->peer_link);
    r->ncalls++;
    gw_gauge_set(r->m, GW_MG_IN_FLIGHT, (int64_t)(r->ncalls - r->nstreams));
    c->timer.cb = on_call_timeout;
    h2o_timeout_link(r->ctx.loop, rtr_call_timeout_list(r, timeout_ms + RTR_DEADLINE_GRACE_MS),
                     &c->timer);

    e->corr = c->corr;
    e->deadline_ms = gw_clock_ms() + (int64_t)timeout_ms;
    gw_err_t err = rtr_peer_send(peer, e);
    if (err != GW_OK) {
        char msg[128];
        snprintf(msg, sizeof(msg), "%s unavailable: %s", peer->name, gw_strerror(err));
        rtr_call_fail(c, GW_RPC_BACKEND_UNAVAILABLE, msg);
        return NULL;
    }
    return c;
}
