/* mrtr_call.c: a 2026-07-28 caller's call on a 2025 backend that asks the client something
 * (sampling, elicitation, roots; docs/design-2026-07-28.md 5.3): the call is parked in the
 * worker's table (worker/mrtr.h) with its upstream transfer still open, the router call answered
 * with an input_required result flagged GW_ENV_F_INPUT_REQUIRED (the router seals its
 * requestState), and the retry (GW_ENV_F_RESUME) attached to the same transfer after the answers
 * went to the backend with its own ids. Expiry (limits.input_wait), bounds, row 20. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>
#include <yajl/yajl_tree.h>

#include "common/clock.h"
#include "common/gwid.h"
#include "common/json.h"
#include "common/jsonrpc.h"
#include "common/log.h"
#include "common/metrics.h"
#include "worker/worker.h"

static gw_str_t header(const gw_envelope_t *env, const char *name)
{
    for (size_t i = 0; i < env->nheaders; i++) {
        if (gw_str_eq(env->headers[i].name, name)) {
            return env->headers[i].value;
        }
    }
    return GW_STR_NULL;
}

gw_err_t wrk_mrtr_start(wrk_t *w)
{
    uint64_t run = 0;
    if (RAND_bytes((unsigned char *)&run, sizeof(run)) != 1) {
        return GW_EIO;
    }
    return wrk_mrtr_init(&w->mrtr, w->cfg->max_waiting_calls, run);
}

void wrk_mrtr_stop(wrk_t *w)
{
    wrk_mrtr_fini(&w->mrtr);
}

/* The client capability a server request needs (GW_CAP_*), its name and the
 * requiredCapabilities member; 0 for ping (answered here), -1 for a method not relayed. */
static int request_cap(const char *method, const char **name, const char **required)
{
    static const struct {
        const char *method;
        int cap;
        const char *name;
        const char *required;
    } table[] = {
        {"sampling/createMessage", GW_CAP_SAMPLING, "sampling", "{\"sampling\":{}}"},
        {"elicitation/create", GW_CAP_ELICITATION, "elicitation",
         "{\"elicitation\":{\"form\":{}}}"},
        {"roots/list", GW_CAP_ROOTS, "roots", "{\"roots\":{}}"},
        {"ping", 0, "ping", "{}"},
    };
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        if (strcmp(table[i].method, method) == 0) {
            *name = table[i].name;
            *required = table[i].required;
            return table[i].cap;
        }
    }
    return -1;
}

/* {"jsonrpc":"2.0","id":ID,"error":{"code":C,"message":M[,"data":D]}} */
static gw_err_t error_body(gw_buf_t *b, const char *id, size_t id_len, int code, const char *msg,
                           const char *data)
{
    char num[16];
    snprintf(num, sizeof(num), "%d", code);
    gw_err_t err = gw_buf_appends(b, "{\"jsonrpc\":\"2.0\",\"id\":");
    err = err != GW_OK ? err : gw_buf_append(b, id, id_len);
    err = err != GW_OK ? err : gw_buf_appends(b, ",\"error\":{\"code\":");
    err = err != GW_OK ? err : gw_buf_appends(b, num);
    err = err != GW_OK ? err : gw_buf_appends(b, ",\"message\":");
    err = err != GW_OK ? err : gw_buf_append_json_string(b, msg, strlen(msg));
    if (data != NULL) {
        err = err != GW_OK ? err : gw_buf_appends(b, ",\"data\":");
        err = err != GW_OK ? err : gw_buf_appends(b, data);
    }
    return err != GW_OK ? err : gw_buf_appends(b, "}}");
}

/* Posts to the backend the answer to its request id: result (raw JSON) or the error code. */
static void post_answer(call_t *c, const char *id, size_t id_len, const char *result, int code,
                        const char *msg)
{
    gw_buf_t b;
    gw_buf_init(&b);
    gw_err_t err;
    if (result != NULL) {
        err = gw_buf_appends(&b, "{\"jsonrpc\":\"2.0\",\"id\":");
        err = err != GW_OK ? err : gw_buf_append(&b, id, id_len);
        err = err != GW_OK ? err : gw_buf_appends(&b, ",\"result\":");
        err = err != GW_OK ? err : gw_buf_appends(&b, result);
        err = err != GW_OK ? err : gw_buf_appends(&b, "}");
    } else {
        err = error_body(&b, id, id_len, code, msg, NULL);
    }
    if (err == GW_OK && c->up != NULL) {
        wrk_closer_post(c->up, b.data, b.len, c->rid);
    }
    gw_buf_fini(&b);
}

/* The id the call's request went upstream with: the first router call's. */
static gw_str_t upstream_id(const call_t *c)
{
    if (c->up_id.len > 0) {
        return (gw_str_t){c->up_id.data, c->up_id.len};
    }
    return c->env.rpc_id;
}

/* notifications/cancelled for the call's upstream request, on its pooled session. */
static void post_cancelled(call_t *c, const char *reason)
{
    gw_str_t id = upstream_id(c);
    gw_buf_t b;
    gw_buf_init(&b);
    if (c->up != NULL && c->up->state == UP_READY && id.len > 0 &&
        gw_buf_appends(&b, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\","
                           "\"params\":{\"requestId\":") == GW_OK &&
        gw_buf_append(&b, id.ptr, id.len) == GW_OK && gw_buf_appends(&b, ",\"reason\":") == GW_OK &&
        gw_buf_append_json_string(&b, reason, strlen(reason)) == GW_OK &&
        gw_buf_appends(&b, "}}") == GW_OK) {
        wrk_closer_post(c->up, b.data, b.len, c->rid);
    }
    gw_buf_fini(&b);
}

gw_err_t wrk_mrtr_on_request(call_t *c, const char *data, size_t len, const gw_rpc_t *rpc)
{
    wrk_t *w = c->w;
    const char *name;
    const char *required;
    int cap = request_cap(rpc->method_str, &name, &required);
    const char *id = data + rpc->id.off;

    (void)len;
    if (cap == 0) { /* ping: the gateway is there */
        post_answer(c, id, rpc->id.len, "{}", 0, NULL);
        return GW_OK;
    }
    if (cap < 0) {
        post_answer(c, id, rpc->id.len, NULL, GW_RPC_METHOD_NOT_FOUND,
                    "the gateway does not relay this request to 2026-07-28 clients");
        gw_log_info("msg=\"server request refused: 2026-07-28 caller\" request_id=%s backend=%s "
                    "method=%s",
                    c->rid, w->name, rpc->method_str);
        return GW_OK;
    }
    if (!(c->env.caps & (unsigned)cap)) {
        /* row 20: the client did not declare it; the call ends (on_done, outside libcurl) */
        char msg[96];
        snprintf(msg, sizeof(msg), "the client did not declare the %s capability", name);
        post_answer(c, id, rpc->id.len, NULL, GW_RPC_METHOD_NOT_FOUND, msg);
        c->mrtr_refuse = WRK_MRTR_REFUSE_CAP;
        snprintf(c->mrtr_need, sizeof(c->mrtr_need), "%s", name);
        gw_metric_add(w->m, GW_MC_INPUT_WAIT_MISSING_CAP, 1);
        return GW_EPROTO;
    }
    if (c->wait == NULL) {
        wrk_wait_err_t why;
        uint32_t nonce = 0;
        if (RAND_bytes((unsigned char *)&nonce, sizeof(nonce)) == 1) {
            c->wait = wrk_mrtr_alloc(&w->mrtr, header(&c->env, "auth-issuer-tag"),
                                     header(&c->env, "auth-subject"), nonce, &why);
        } else {
            why = WRK_WAIT_E_NOMEM;
        }
        if (c->wait == NULL) {
            post_answer(c, id, rpc->id.len, NULL, GW_RPC_INTERNAL_ERROR,
                        "too many calls waiting for input");
            gw_log_warn("msg=\"call not parked\" request_id=%s backend=%s reason=\"%s\"", c->rid,
                        w->name, wrk_wait_strerror(why));
            gw_metric_add(w->m, GW_MC_INPUT_WAIT_FULL, 1);
            c->mrtr_refuse = WRK_MRTR_REFUSE_FULL;
            return GW_EPROTO;
        }
        c->wait->owner = c;
    }
    const char *params = rpc->params.len > 0 ? data + rpc->params.off : "";
    if (wrk_wait_add_req(c->wait, ++w->next_srvreq, rpc->method_str, id, rpc->id.len, params,
                         rpc->params.len) == NULL) {
        post_answer(c, id, rpc->id.len, NULL, GW_RPC_INTERNAL_ERROR,
                    "too many requests waiting for the client");
        return GW_OK;
    }
    if (c->wait->state != WRK_WAIT_PARKED) {
        /* with the router call still attached: the interim result goes from the loop, so the
         * requests of the same read go in it together */
        c->wait->state = WRK_WAIT_COLLECTING;
        w->mrtr.due = 1;
    }
    return GW_OK;
}

int wrk_mrtr_parked(const call_t *c)
{
    return c->wait != NULL && c->wait->state == WRK_WAIT_PARKED;
}

gw_err_t wrk_mrtr_parked_event(call_t *c, const gw_rpc_t *rpc, int is_response)
{
    if (is_response) {
        c->mrtr_ended = 1; /* the backend answered nobody's call: on_done ends the wait */
        return GW_EPROTO;
    }
    (void)rpc;
    gw_metric_add(c->w->m, GW_MC_INPUT_WAIT_DROPPED, 1);
    return GW_OK;
}

/* Ends a parked call: the backend's pending requests answered (elicitation declined as
 * cancelled; sampling and roots an error), the upstream request cancelled, the call freed. */
static void abandon(call_t *c, gw_counter_t outcome, const char *why)
{
    wrk_wait_t *wt = c->wait;
    gw_metric_add(c->w->m, outcome, 1);
    gw_log_info("msg=\"parked call ended\" request_id=%s backend=%s reason=\"%s\" round=%u", c->rid,
                c->w->name, why, (unsigned)wt->round);
    for (size_t i = 0; i < wt->nreqs; i++) {
        wrk_wait_req_t *r = &wt->reqs[i];
        if (strcmp(r->method, "elicitation/create") == 0) {
            post_answer(c, r->id.data, r->id.len, "{\"action\":\"cancel\"}", 0, NULL);
        } else {
            post_answer(c, r->id.data, r->id.len, NULL, GW_RPC_INTERNAL_ERROR,
                        "the client did not answer");
        }
    }
    post_cancelled(c, why);
    wrk_call_set_state(c, CALL_DONE);
    wrk_xfer_cancel(&c->x);
    wrk_call_destroy(c);
}

int wrk_mrtr_on_done(call_t *c)
{
    if (c->mrtr_refuse == WRK_MRTR_REFUSE_CAP) {
        char msg[96];
        char data[96];
        const char *name;
        const char *required = "{}";
        (void)request_cap(strcmp(c->mrtr_need, "sampling") == 0      ? "sampling/createMessage"
                          : strcmp(c->mrtr_need, "elicitation") == 0 ? "elicitation/create"
                                                                     : "roots/list",
                          &name, &required);
        snprintf(msg, sizeof(msg), "Missing required client capability: %s", c->mrtr_need);
        snprintf(data, sizeof(data), "{\"requiredCapabilities\":%s}", required);
        post_cancelled(c, "the client did not declare the capability the backend asked for");
        gw_buf_t b;
        gw_buf_init(&b);
        if (c->answered || error_body(&b, c->env.rpc_id.ptr, c->env.rpc_id.len,
                                      GW_RPC_MISSING_CAPABILITY, msg, data) != GW_OK) {
            gw_buf_fini(&b);
            wrk_reply_fail(c, GW_RPC_MISSING_CAPABILITY, msg);
            return 1;
        }
        gw_log_info("msg=\"server request needs an undeclared capability\" request_id=%s "
                    "backend=%s capability=%s",
                    c->rid, c->w->name, c->mrtr_need);
        c->fail_code = GW_RPC_MISSING_CAPABILITY;
        /* HTTP 400 when nothing went out yet (design §1 row 20); else in-band on the stream */
        if (!c->head_sent) {
            wrk_reply_head(c, 400, 0);
        }
        wrk_reply_chunk(c, b.data, b.len);
        c->answered = 1;
        wrk_reply_end(c, 0, NULL, 0);
        gw_buf_fini(&b);
        return 1;
    }
    if (c->mrtr_refuse == WRK_MRTR_REFUSE_FULL) {
        post_cancelled(c, "too many calls waiting for input");
        wrk_reply_fail(c, GW_RPC_INTERNAL_ERROR, "too many calls waiting for input");
        return 1;
    }
    if (wrk_mrtr_parked(c)) {
        abandon(c, GW_MC_INPUT_WAIT_ENDED,
                c->mrtr_ended ? "the backend answered while its client was asked for input"
                              : "the backend ended the call while its client was asked for input");
        return 1;
    }
    return 0;
}

void wrk_mrtr_release(call_t *c)
{
    if (c->wait != NULL) {
        wrk_mrtr_free(&c->w->mrtr, c->wait);
        c->wait = NULL;
    }
}

/* The interim result of c's wait for its router call: every request still pending, keyed by its
 * gateway id. */
static gw_err_t interim_body(call_t *c, gw_buf_t *b)
{
    wrk_wait_t *wt = c->wait;
    gw_err_t err = gw_buf_appends(b, "{\"jsonrpc\":\"2.0\",\"id\":");
    err = err != GW_OK ? err : gw_buf_append(b, c->env.rpc_id.ptr, c->env.rpc_id.len);
    err = err != GW_OK ? err
                       : gw_buf_appends(b, ",\"result\":{\"resultType\":\"input_required\","
                                           "\"inputRequests\":{");
    for (size_t i = 0; i < wt->nreqs && err == GW_OK; i++) {
        char n[24];
        char gid[GW_SERVER_NAME_MAX + 48];
        snprintf(n, sizeof(n), "%" PRIu64, wt->reqs[i].n);
        err = gw_gwid_format(gid, sizeof(gid), c->w->name, n);
        err = err != GW_OK ? err : gw_buf_appends(b, i > 0 ? "," : "");
        err = err != GW_OK ? err : gw_buf_append_json_string(b, gid, strlen(gid));
        err = err != GW_OK ? err : gw_buf_appends(b, ":{\"method\":");
        err = err != GW_OK
                  ? err
                  : gw_buf_append_json_string(b, wt->reqs[i].method, strlen(wt->reqs[i].method));
        if (wt->reqs[i].params.len > 0) {
            err = err != GW_OK ? err : gw_buf_appends(b, ",\"params\":");
            err = err != GW_OK ? err
                               : gw_buf_append(b, wt->reqs[i].params.data, wt->reqs[i].params.len);
        }
        err = err != GW_OK ? err : gw_buf_appends(b, "}");
    }
    return err != GW_OK ? err : gw_buf_appends(b, "},\"requestState\":\"\"}}");
}

/* Sends c's interim result and ends its router call (not the upstream one): 1 when it went (or
 * cannot ever go: c was failed), 0 to try again next turn (the caller's outbox is backed up). */
static int send_interim(call_t *c, int64_t now)
{
    wrk_t *w = c->w;
    wrk_wait_t *wt = c->wait;
    if (!list_empty(&c->outq) || gw_outbox_backlogged(c->out)) {
        return 0;
    }
    int64_t expires = now + (int64_t)w->cfg->input_wait_s * 1000;
    uint8_t round = wt->round;
    if (wrk_wait_park(wt, expires) != GW_OK) {
        wt->state = WRK_WAIT_ATTACHED;
        wrk_reply_failf(c, GW_RPC_INTERNAL_ERROR, "backend %s asked for input in too many rounds",
                        w->name);
        return 1;
    }
    gw_buf_t b;
    gw_buf_init(&b);
    char run[17];
    char slot[12];
    char nonce[12];
    char rnd[4];
    snprintf(run, sizeof(run), "%016" PRIx64, w->mrtr.run);
    snprintf(slot, sizeof(slot), "%" PRIu32, wt->slot);
    snprintf(nonce, sizeof(nonce), "%" PRIu32, wt->nonce);
    snprintf(rnd, sizeof(rnd), "%u", (unsigned)wt->round);
    gw_envelope_t e;
    memset(&e, 0, sizeof(e));
    e.corr = c->env.corr;
    e.request_id = c->env.request_id;
    e.headers[0] = (gw_env_header_t){GW_STR("wait-run"), {run, strlen(run)}};
    e.headers[1] = (gw_env_header_t){GW_STR("wait-slot"), {slot, strlen(slot)}};
    e.headers[2] = (gw_env_header_t){GW_STR("wait-nonce"), {nonce, strlen(nonce)}};
    e.headers[3] = (gw_env_header_t){GW_STR("wait-round"), {rnd, strlen(rnd)}};
    e.nheaders = 4;
    gw_err_t err = interim_body(c, &b);
    if (err == GW_OK) {
        e.body = (gw_str_t){b.data, b.len};
        if (!c->head_sent) { /* the whole reply in one message */
            e.kind = GW_ENV_HEAD;
            e.status = 200;
            e.flags = GW_ENV_F_FINAL | GW_ENV_F_INPUT_REQUIRED;
        } else {
            e.kind = GW_ENV_CHUNK;
            e.flags = GW_ENV_F_INPUT_REQUIRED;
        }
        err = wrk_reply_send_env(w, c->out, &e);
        if (err == GW_EAGAIN || err == GW_ETIMEDOUT) {
            gw_buf_fini(&b);
            wt->round = round; /* nothing went: the next turn tries again */
            wt->state = WRK_WAIT_COLLECTING;
            return 0;
        }
        if (err == GW_OK && e.kind == GW_ENV_CHUNK) {
            gw_envelope_t end;
            memset(&end, 0, sizeof(end));
            end.kind = GW_ENV_END;
            end.corr = c->env.corr;
            end.request_id = c->env.request_id;
            err = wrk_reply_send_env(w, c->out, &end);
        }
    }
    gw_buf_fini(&b);
    if (err != GW_OK) {
        gw_log_warn("msg=\"reply lost\" request_id=%s backend=%s error=\"%s\"", c->rid, w->name,
                    gw_strerror(err));
        /* the client never gets the state: the wait expires */
    }
    c->head_sent = 1;
    c->lost = 1; /* that router call is over: nothing more goes to it (a resume clears this) */
    gw_metric_add(w->m, GW_MC_INPUT_WAIT_PARKED, 1);
    gw_log_info("msg=\"call parked for input\" request_id=%s backend=%s slot=%" PRIu32
                " round=%u requests=%zu",
                c->rid, w->name, wt->slot, (unsigned)wt->round, wt->nreqs);
    return 1;
}

int64_t wrk_mrtr_tick(wrk_t *w, int64_t now)
{
    wrk_mrtr_t *t = &w->mrtr;
    int64_t next = INT64_MAX;

    if (t->due) {
        t->due = 0;
        for (uint32_t i = 0; i < t->hwm; i++) {
            wrk_wait_t *wt = t->v[i];
            if (wt != NULL && wt->state == WRK_WAIT_COLLECTING && wt->nreqs > 0 &&
                !send_interim((call_t *)wt->owner, now)) {
                t->due = 1;
            }
        }
        if (t->due) {
            next = now + WRK_BACKLOG_POLL_MS;
        }
    }
    wrk_wait_t *wt;
    int64_t ahead;
    while ((wt = wrk_mrtr_expired(t, now, &ahead)) != NULL) {
        abandon((call_t *)wt->owner, GW_MC_INPUT_WAIT_EXPIRED,
                "the client did not answer within limits.input_wait");
    }
    return ahead < next ? ahead : next;
}

/* Row 19 for the retry r: 400 -32602 with its id; r ends. */
static void refuse_resume(call_t *r, wrk_wait_err_t why)
{
    static const char data[] = "{\"reason\":\"invalid_request_state\"}";
    gw_metric_add(r->w->m, GW_MC_INPUT_WAIT_REFUSED, 1);
    gw_log_info("msg=\"resume refused\" request_id=%s backend=%s reason=\"%s\"", r->rid, r->w->name,
                wrk_wait_strerror(why));
    gw_buf_t b;
    gw_buf_init(&b);
    if (error_body(&b, r->env.rpc_id.ptr, r->env.rpc_id.len, GW_RPC_INVALID_PARAMS,
                   "invalid or expired requestState", data) != GW_OK) {
        gw_buf_fini(&b);
        wrk_reply_fail(r, GW_RPC_INTERNAL_ERROR, "out of memory");
        return;
    }
    r->fail_code = GW_RPC_INVALID_PARAMS;
    wrk_reply_head(r, 400, 0);
    wrk_reply_chunk(r, b.data, b.len);
    r->answered = 1;
    wrk_reply_end(r, 0, NULL, 0);
    gw_buf_fini(&b);
}

/* Posts each answer in the retry's params.inputResponses whose key is pending and whose value
 * is an object; those are done. Unknown keys are ignored (spec: "MUST ignore"). */
static void post_answers(call_t *p, yajl_val responses)
{
    wrk_wait_t *wt = p->wait;
    for (size_t i = 0; i < wt->nreqs;) {
        wrk_wait_req_t *q = &wt->reqs[i];
        char n[24];
        char gid[GW_SERVER_NAME_MAX + 48];
        snprintf(n, sizeof(n), "%" PRIu64, q->n);
        yajl_val v = q->asked && gw_gwid_format(gid, sizeof(gid), p->w->name, n) == GW_OK
                         ? gw_json_get(responses, gid)
                         : NULL;
        gw_buf_t text;
        gw_buf_init(&text);
        if (v == NULL || !YAJL_IS_OBJECT(v) || gw_json_to_buf(v, &text) != GW_OK ||
            gw_buf_append(&text, "", 1) != GW_OK) {
            gw_buf_fini(&text);
            i++; /* asked again in the next round */
            continue;
        }
        post_answer(p, q->id.data, q->id.len, text.data, 0, NULL);
        gw_buf_fini(&text);
        wrk_wait_remove_req(wt, i);
    }
}

void wrk_mrtr_resume(call_t *r)
{
    wrk_t *w = r->w;
    wrk_wait_err_t why;
    wrk_wait_t *wt =
        wrk_mrtr_lookup(&w->mrtr, r->env.headers, r->env.nheaders,
                        header(&r->env, "auth-issuer-tag"), header(&r->env, "auth-subject"), &why);
    call_t *p = wt != NULL ? (call_t *)wt->owner : NULL;
    if (p == NULL || p->state != CALL_RUNNING || p->up == NULL) {
        refuse_resume(r, wt == NULL ? why : WRK_WAIT_E_NO_SLOT);
        return;
    }
    gw_rpc_t rpc;
    yajl_val responses = NULL;
    char err[64];
    if (gw_rpc_scan(r->env.body.ptr, r->env.body.len, GW_RPC_DEFAULT_MAX_DEPTH, &rpc) == GW_OK &&
        rpc.input_responses.len > 0) {
        responses = gw_json_parse(r->env.body.ptr + rpc.input_responses.off,
                                  rpc.input_responses.len, err, sizeof(err));
    }
    /* the retry's router call takes the parked call's place: its envelope, outbox and id; the
     * first call's message stays (the upstream POST's body points into it) */
    if (p->up_id.len == 0 &&
        gw_buf_append(&p->up_id, p->env.rpc_id.ptr, p->env.rpc_id.len) != GW_OK) {
        yajl_tree_free(responses);
        wrk_reply_fail(r, GW_RPC_INTERNAL_ERROR, "out of memory");
        return;
    }
    if (!list_empty(&p->outq)) {
        gw_log_warn("msg=\"replies of the last round dropped\" request_id=%s backend=%s", p->rid,
                    w->name);
        wrk_reply_clear(p);
    }
    if (p->body_msg == NULL) {
        p->body_msg = p->msg;
    } else {
        nng_msg_free(p->msg);
    }
    p->msg = r->msg;
    p->env = r->env;
    p->out = r->out;
    memcpy(p->rid, r->rid, sizeof(p->rid));
    r->msg = NULL;
    p->head_sent = 0;
    p->head_held = 0;
    p->head_lazy = 1;
    gw_buf_reset(&p->held_body);
    p->lost = 0;
    p->answered = 0;
    p->fail_code = 0;
    if (p->up->pooled) {
        wrk_pool_touch(p->up);
    }
    wrk_call_destroy(r);

    post_answers(p, responses);
    yajl_tree_free(responses);
    gw_metric_add(w->m, GW_MC_INPUT_WAIT_RESUMED, 1);
    gw_log_info("msg=\"parked call resumed\" request_id=%s backend=%s slot=%" PRIu32
                " round=%u still_pending=%zu",
                p->rid, w->name, wt->slot, (unsigned)wt->round, wt->nreqs);
    if (wt->nreqs > 0) {
        wt->state = WRK_WAIT_COLLECTING; /* missing answers, or requests that came meanwhile */
        w->mrtr.due = 1;
    } else {
        /* every answer in: the call runs on without a slot (the bounds count waiting calls); a
         * later request parks it again in a new slot, with a new nonce */
        wt->state = WRK_WAIT_ATTACHED;
        wrk_mrtr_release(p);
    }
}
