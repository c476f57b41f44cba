/* reply.c: what goes back to the caller (a router, or the broker): a call's head, chunks and end,
 * JSON-RPC errors, the outboxes, and the replies nng could not take yet (backpressure). */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/jsonrpc.h"
#include "common/log.h"
#include "common/metrics.h"
#include "worker/worker.h"

/* ---- replies to callers ---- */

/* Replies go to the caller's inbox through an outbox (docs/ipc.md). While an outbox queues (the
 * caller is slow), further replies wait in the calls' own queues and their transfers pause, so
 * the slowdown reaches the backend instead of growing memory. */
gw_outbox_t *wrk_reply_outbox(wrk_t *w, gw_str_t name)
{
    return gw_outboxes_get(&w->out, name);
}

/* May a reply go to o now? Only when nothing queues ahead of it. */
static int out_admit(gw_outbox_t *o)
{
    return !gw_outbox_backlogged(o);
}

gw_err_t wrk_reply_send_env(wrk_t *w, gw_outbox_t *o, gw_envelope_t *e)
{
    e->origin = (gw_str_t){w->inbox_name.s, strlen(w->inbox_name.s)};
    return o != NULL ? gw_outbox_send(o, e) : GW_ENOTFOUND;
}

static int send_retryable(gw_err_t err)
{
    return err == GW_EAGAIN || err == GW_ETIMEDOUT;
}

static gw_err_t call_send_now(call_t *c, uint8_t kind, uint32_t status, uint32_t flags,
                              const char *body, size_t len)
{
    gw_envelope_t e;

    memset(&e, 0, sizeof(e));
    e.kind = kind;
    e.corr = c->env.corr;
    e.status = status;
    e.flags = flags;
    e.request_id = c->env.request_id;
    e.body = (gw_str_t){body, len};
    return wrk_reply_send_env(c->w, c->out, &e);
}

/* Sends one reply of the call's stream, or queues it (and the call's backlog keeps the order)
 * when nng cannot take it now. */
static void call_send(call_t *c, uint8_t kind, uint32_t status, uint32_t flags, const char *body,
                      size_t len)
{
    outmsg_t *m;
    gw_err_t err;

    if (c->lost) {
        return;
    }
    if (list_empty(&c->outq) && out_admit(c->out)) {
        err = call_send_now(c, kind, status, flags, body, len);
        if (err == GW_OK) {
            return;
        }
        if (!send_retryable(err)) {
            gw_log_warn("msg=\"reply lost\" request_id=%s backend=%s error=\"%s\"", c->rid,
                        c->w->name, gw_strerror(err));
            c->lost = 1;
            return;
        }
    }
    if ((m = malloc(sizeof(*m) + len)) == NULL) {
        gw_log_warn("msg=\"reply lost\" request_id=%s backend=%s error=\"out of memory\"", c->rid,
                    c->w->name);
        c->lost = 1;
        return;
    }
    m->kind = kind;
    m->status = status;
    m->flags = flags;
    m->len = len;
    if (len > 0) {
        memcpy(m->body, body, len);
    }
    list_append(&c->outq, &m->link);
    if (c->blink.next == &c->blink) {
        list_append(&c->w->backlog, &c->blink);
    }
}

void wrk_reply_clear(call_t *c)
{
    while (!list_empty(&c->outq)) {
        outmsg_t *m = GW_CONTAINER_OF(c->outq.next, outmsg_t, link);
        list_remove(&m->link);
        free(m);
    }
    list_remove(&c->blink);
}

void wrk_reply_head(call_t *c, uint32_t status, uint32_t flags)
{
    c->head_sent = 1;
    if (!(flags & GW_ENV_F_SSE)) {
        /* A JSON reply is one body: send HEAD, body and end as one message (wrk_reply_end). */
        c->head_held = 1;
        c->held_status = status;
        return;
    }
    call_send(c, GW_ENV_HEAD, status, flags, NULL, 0);
}

/* The next-task-server header of a tasks/list call (see the router's route_task_list). */
static gw_str_t call_next_task_server(const call_t *c)
{
    for (size_t i = 0; i < c->env.nheaders; i++) {
        if (gw_str_eq(c->env.headers[i].name, "next-task-server")) {
            return c->env.headers[i].value;
        }
    }
    return GW_STR_NULL;
}

/* Sends one CHUNK of the reply, or keeps it for the held HEAD. */
void wrk_reply_chunk(call_t *c, const char *body, size_t len)
{
    if (!c->head_sent && c->head_lazy) {
        wrk_reply_head(c, 200, GW_ENV_F_SSE); /* the event stream begins with its first event */
    }
    gw_buf_t t;
    gw_buf_init(&t);
    if (wrk_tasks_rewrite(c->w, body, len, gw_str_eq(c->env.method, "tasks/list"),
                          call_next_task_server(c), &t)) {
        body = t.data;
        len = t.len;
    }
    if (!c->head_held) {
        call_send(c, GW_ENV_CHUNK, 0, c->answer_flags, body, len);
    } else if (gw_buf_append(&c->held_body, body, len) != GW_OK) {
        gw_log_warn("msg=\"reply lost\" request_id=%s backend=%s error=\"out of memory\"", c->rid,
                    c->w->name);
        c->lost = 1;
    }
    gw_buf_fini(&t);
}

/* Ends the reply stream. c is destroyed here unless replies are still queued; do not touch it
 * afterwards. */
void wrk_reply_end(call_t *c, uint32_t status, const char *body, size_t len)
{
    wrk_t *w = c->w;

    wrk_call_set_state(c, CALL_DONE);
    wrk_xfer_cancel(&c->x);
    gw_backend_request_add(w->m, gw_backend_method_of(c->env.method.ptr, c->env.method.len),
                           c->fail_code == 0                ? GW_BS_OK
                           : c->fail_code == GW_RPC_TIMEOUT ? GW_BS_TIMEOUT
                                                            : GW_BS_ERROR);
    gw_metric_observe_us(w->m, GW_MH_BACKEND, (uint64_t)(gw_clock_us() - c->received_us));
    gw_log_debug("msg=call request_id=%s backend=%s method=%.*s status=%ld retried=%d ms=%" PRId64,
                 c->rid, w->name, (int)c->env.method.len, c->env.method.ptr, c->x.status,
                 c->retried, gw_clock_ms() - c->received_ms);
    if (c->head_held) {
        c->head_held = 0;
        call_send(c, GW_ENV_HEAD, c->held_status, GW_ENV_F_FINAL | c->answer_flags,
                  c->held_body.data, c->held_body.len);
        gw_buf_fini(&c->held_body);
    } else {
        call_send(c, GW_ENV_END, status, 0, body, len);
    }
    if (list_empty(&c->outq)) {
        wrk_call_destroy(c);
    }
}

/* Cancellation (basic/utilities/cancellation): the backend's late answer, if it still comes, goes
 * nowhere (the transfer is stopped), and the caller learns the call ended without an answer. */
void wrk_reply_cancelled(call_t *c, const char *cancel_rid)
{
    wrk_t *w = c->w;

    wrk_call_set_state(c, CALL_DONE);
    wrk_xfer_cancel(&c->x);
    gw_backend_request_add(w->m, gw_backend_method_of(c->env.method.ptr, c->env.method.len),
                           GW_BS_CANCELLED);
    gw_log_info("msg=\"call cancelled\" request_id=%s backend=%s method=%.*s cancel_request_id=%s "
                "answered=%d ms=%" PRId64,
                c->rid, w->name, (int)c->env.method.len, c->env.method.ptr, cancel_rid, c->answered,
                gw_clock_ms() - c->received_ms);
    wrk_reply_clear(c); /* progress still queued for the caller goes nowhere */
    c->head_held = 0;
    gw_buf_fini(&c->held_body);
    call_send(c, GW_ENV_END, 0, GW_ENV_F_CANCELLED, NULL, 0);
    if (list_empty(&c->outq)) {
        wrk_call_destroy(c);
    }
}

/* Answers the call with a JSON-RPC error (a HEAD-less END for a notification). */
void wrk_reply_fail(call_t *c, int code, const char *msg)
{
    gw_buf_t b;
    char q[512];

    c->fail_code = code;
    gw_log_warn("msg=\"call failed\" request_id=%s backend=%s method=%.*s code=%d error=\"%s\"",
                c->rid, c->w->name, (int)c->env.method.len, c->env.method.ptr, code,
                gw_log_quote(q, sizeof(q), msg, strlen(msg)));
    gw_buf_init(&b);
    if (gw_rpc_error(&b, c->env.rpc_id.ptr, c->env.rpc_id.len, code, msg) != GW_OK) {
        gw_buf_reset(&b);
    }
    if (c->env.rpc_id.len == 0 && !c->head_sent) {
        wrk_reply_end(c, code == GW_RPC_TIMEOUT ? 504 : 502, b.data, b.len);
    } else {
        if (!c->head_sent) {
            wrk_reply_head(c, 200, 0);
        }
        if (!c->answered && b.len > 0) {
            wrk_reply_chunk(c, b.data, b.len);
        }
        wrk_reply_end(c, 0, NULL, 0);
    }
    gw_buf_fini(&b);
}

void wrk_reply_failf(call_t *c, int code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    wrk_reply_fail(c, code, msg);
}

/* Sends what nng refused earlier; pauses the transfers of calls still backlogged (backpressure
 * from slow callers) and resumes the others. */
void wrk_reply_flush_backlog(wrk_t *w)
{
    link_t *l;

    l = w->backlog.next;
    while (l != &w->backlog) {
        call_t *c = GW_CONTAINER_OF(l, call_t, blink);
        l = l->next;
        while (!list_empty(&c->outq) && !c->lost) {
            outmsg_t *m = GW_CONTAINER_OF(c->outq.next, outmsg_t, link);
            gw_err_t err;
            if (!out_admit(c->out)) {
                break;
            }
            err = call_send_now(c, m->kind, m->status, m->flags, m->body, m->len);
            if (send_retryable(err)) {
                break;
            }
            if (err != GW_OK) {
                gw_log_warn("msg=\"reply lost\" request_id=%s backend=%s error=\"%s\"", c->rid,
                            w->name, gw_strerror(err));
                c->lost = 1;
                break;
            }
            list_remove(&m->link);
            free(m);
        }
        if (c->lost) {
            wrk_reply_clear(c);
        }
        if (!list_empty(&c->outq)) {
            wrk_xfer_set_paused(&c->x, 1);
            continue;
        }
        list_remove(&c->blink);
        if (c->state == CALL_DONE) {
            wrk_call_destroy(c);
            continue;
        }
        wrk_xfer_set_paused(&c->x, 0);
    }
}

/* ---- replies to the broker's control operations ---- */

void wrk_reply_control_end(wrk_t *w, const gw_envelope_t *req, uint32_t status)
{
    gw_envelope_t e;
    gw_err_t err;

    memset(&e, 0, sizeof(e));
    e.kind = GW_ENV_END;
    e.corr = req->corr;
    e.status = status;
    e.request_id = req->request_id;
    if ((err = wrk_reply_send_env(w, wrk_reply_outbox(w, req->origin), &e)) != GW_OK) {
        char rid[WRK_RID_MAX + 1];
        gw_log_warn("msg=\"reply lost\" backend=%s method=%.*s error=\"%s\" request_id=%s", w->name,
                    (int)req->method.len, req->method.ptr, gw_strerror(err),
                    wrk_inbox_rid(rid, req));
    }
}
