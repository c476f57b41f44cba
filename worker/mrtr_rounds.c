/* mrtr_rounds.c: a 2025 session's call to a 2026-07-28 backend that answers input_required
 * (docs/design-2026-07-28.md §5.4). Each inputRequests entry goes to the client as a real request
 * on the call's own event stream, with a gateway id (srvreq.c); when every answer is in, the
 * backend is called again with a new JSON-RPC id, the same params, inputResponses and its
 * requestState, at most limits.max_input_rounds times. The client never sees the state. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "common/clock.h"
#include "common/json.h"
#include "common/jsonrpc.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/result_state.h"
#include "worker/worker.h"

typedef struct round_req {
    char *key;       /* the inputRequests key */
    int elicitation; /* an error answer becomes {"action":"cancel"} */
    uint64_t n;      /* its gateway id's number (srvreq.c) */
    int answered;
    gw_buf_t result; /* the client's bare result (JSON) */
} round_req_t;

struct wrk_rounds {
    gw_buf_t ir;      /* the backend's latest input_required response */
    unsigned retries; /* retries sent */
    char *state;      /* its requestState's JSON token, byte for byte; NULL when it sent none */
    size_t state_len;
    round_req_t *reqs; /* the latest round's input requests */
    size_t nreqs;
    size_t pending;     /* of which not answered */
    char up_id[48];     /* the latest retry's JSON-RPC id (raw JSON) */
    gw_buf_t body;      /* the latest retry's body */
    int64_t wait_until; /* the client's answers are due */
};

/* The capability each input request method needs (design §5.1: these three only). */
static uint8_t method_cap(const char *m)
{
    if (m == NULL) {
        return 0;
    }
    if (strcmp(m, "elicitation/create") == 0) {
        return GW_CAP_ELICITATION;
    }
    if (strcmp(m, "sampling/createMessage") == 0) {
        return GW_CAP_SAMPLING;
    }
    if (strcmp(m, "roots/list") == 0) {
        return GW_CAP_ROOTS;
    }
    return 0;
}

static void reqs_free(wrk_t *w, call_t *c, struct wrk_rounds *r)
{
    for (size_t i = 0; i < r->nreqs; i++) {
        free(r->reqs[i].key);
        gw_buf_fini(&r->reqs[i].result);
    }
    free(r->reqs);
    r->reqs = NULL;
    r->nreqs = 0;
    r->pending = 0;
    wrk_srvreq_forget_call(w, c);
}

void wrk_rounds_free(call_t *c)
{
    struct wrk_rounds *r = c->rounds;
    if (r == NULL) {
        return;
    }
    reqs_free(c->w, c, r);
    gw_buf_fini(&r->ir);
    gw_buf_fini(&r->body);
    free(r->state);
    free(r);
    c->rounds = NULL;
}

gw_err_t wrk_rounds_keep(call_t *c, const char *data, size_t len)
{
    if (c->rounds == NULL) {
        if ((c->rounds = calloc(1, sizeof(*c->rounds))) == NULL) {
            return GW_ENOMEM;
        }
        gw_buf_init(&c->rounds->ir);
        gw_buf_init(&c->rounds->body);
    }
    gw_buf_reset(&c->rounds->ir);
    return gw_buf_append(&c->rounds->ir, data, len);
}

int wrk_rounds_fix_id(const call_t *c, const char *data, size_t len, gw_buf_t *out)
{
    const struct wrk_rounds *r = c->rounds;
    size_t n = r != NULL ? strlen(r->up_id) : 0;
    gw_rpc_t rpc;

    if (n == 0 || gw_rpc_scan(data, len, GW_RPC_DEFAULT_MAX_DEPTH, &rpc) != GW_OK ||
        rpc.kind != GW_MSG_RESPONSE || rpc.id.len != n || memcmp(data + rpc.id.off, r->up_id, n)) {
        return 0;
    }
    return gw_rpc_splice_raw(out, data, len, rpc.id, c->env.rpc_id.ptr, c->env.rpc_id.len) == GW_OK;
}

/* The client's stream becomes an event stream: a JSON answer's HEAD is still held (nothing went
 * out), so it goes out now as the head of events. */
static void reply_as_events(call_t *c)
{
    if (c->head_held) {
        c->head_held = 0;
        gw_buf_reset(&c->held_body);
        wrk_reply_head(c, c->held_status, GW_ENV_F_SSE);
    } else if (!c->head_sent) {
        wrk_reply_head(c, 200, GW_ENV_F_SSE);
    }
}

/* {"jsonrpc":"2.0","id":"<gid>","method":M[,"params":P]} to the client's stream. */
static gw_err_t send_request(call_t *c, const char *gid, const char *method, yajl_val params)
{
    gw_buf_t b;
    gw_buf_init(&b);
    yajl_gen g = gw_json_gen_to_buf(&b);
    if (g == NULL) {
        gw_buf_fini(&b);
        return GW_ENOMEM;
    }
    yajl_gen_status st = yajl_gen_map_open(g);
    if (st == yajl_gen_status_ok && (st = gw_json_gen_cstr(g, "jsonrpc")) == yajl_gen_status_ok &&
        (st = gw_json_gen_cstr(g, "2.0")) == yajl_gen_status_ok &&
        (st = gw_json_gen_cstr(g, "id")) == yajl_gen_status_ok &&
        (st = gw_json_gen_cstr(g, gid)) == yajl_gen_status_ok &&
        (st = gw_json_gen_cstr(g, "method")) == yajl_gen_status_ok &&
        (st = gw_json_gen_cstr(g, method)) == yajl_gen_status_ok && params != NULL &&
        (st = gw_json_gen_cstr(g, "params")) == yajl_gen_status_ok) {
        st = gw_json_gen(g, params);
    }
    if (st == yajl_gen_status_ok) {
        st = yajl_gen_map_close(g);
    }
    gw_err_t err = gw_json_gen_done(g, &b, st);
    if (err == GW_OK) {
        wrk_reply_chunk(c, b.data, b.len);
    }
    gw_buf_fini(&b);
    return err;
}

/* What is wrong with an input_required result, or NULL (design §5.1). */
static const char *check_shape(yajl_val reqs, yajl_val state)
{
    if (reqs == NULL && state == NULL) {
        return "neither inputRequests nor requestState";
    }
    if (reqs != NULL && !YAJL_IS_OBJECT(reqs)) {
        return "inputRequests is not an object";
    }
    if (state != NULL && !YAJL_IS_STRING(state)) {
        return "requestState is not a string";
    }
    if (reqs == NULL) {
        return NULL;
    }
    if (reqs->u.object.len > WRK_ROUND_REQS_MAX) {
        return "too many inputRequests";
    }
    for (size_t i = 0; i < reqs->u.object.len; i++) {
        yajl_val v = reqs->u.object.values[i];
        yajl_val p = gw_json_get(v, "params");
        if (!YAJL_IS_OBJECT(v)) {
            return "an input request that is not an object";
        }
        if (method_cap(gw_json_get_string(v, "method")) == 0) {
            return "an input request of an unknown method";
        }
        if (p != NULL && !YAJL_IS_OBJECT(p)) {
            return "an input request whose params are not an object";
        }
    }
    return NULL;
}

/* The client's answers are due by the call's deadline, else after limits.input_wait (a person
 * answers an elicitation), as for the calls parked for 2026-07-28 clients. */
static int64_t wait_until(const call_t *c)
{
    int64_t t = gw_clock_ms() + (int64_t)c->w->cfg->input_wait_s * 1000;
    return c->env.deadline_ms != 0 && c->env.deadline_ms < t ? c->env.deadline_ms : t;
}

static void refuse(call_t *c, gw_counter_t metric, int code, const char *why, const char *text)
{
    gw_metric_add(c->w->m, metric, 1);
    gw_log_warn("msg=\"backend input_required refused\" request_id=%s backend=%s method=%.*s "
                "reason=\"%s\"",
                c->rid, c->w->name, (int)c->env.method.len, c->env.method.ptr, why);
    wrk_reply_failf(c, code, "%s", text);
}

static void retry(call_t *c)
{
    struct wrk_rounds *r = c->rounds;
    list_remove(&c->qlink);
    r->retries++;
    snprintf(r->up_id, sizeof(r->up_id), "\"mcpgw-input-%u-%" PRId64 "\"", r->retries,
             c->received_us);
    c->shape_refused = 0;
    c->bad_answer = 0;
    gw_log_debug("msg=\"backend called again with the client's input\" request_id=%s backend=%s "
                 "round=%u",
                 c->rid, c->w->name, r->retries);
    wrk_call_retry(c);
}

void wrk_rounds_start(call_t *c)
{
    wrk_t *w = c->w;
    struct wrk_rounds *r = c->rounds;
    char err[64];
    char text[256];
    yajl_val tree = gw_json_parse(r->ir.data, r->ir.len, err, sizeof(err));
    yajl_val res = gw_json_get(tree, "result");
    yajl_val reqs = gw_json_get(res, "inputRequests");
    yajl_val state = gw_json_get(res, "requestState");
    const char *bad = check_shape(reqs, state);
    size_t n = reqs != NULL && YAJL_IS_OBJECT(reqs) ? reqs->u.object.len : 0;

    if (bad == NULL && !gw_str_eq(c->env.method, "tools/call") &&
        !gw_str_eq(c->env.method, "prompts/get") && !gw_str_eq(c->env.method, "resources/read")) {
        bad = "input_required answering a method that cannot ask for input";
    }
    if (bad != NULL) {
        yajl_tree_free(tree);
        snprintf(text, sizeof(text), "the backend sent a bad input_required (backend %s)", w->name);
        refuse(c, GW_MC_BAD_ANSWER_INPUT_REQUIRED, GW_RPC_INTERNAL_ERROR, bad, text);
        return;
    }
    if (r->retries >= w->cfg->max_input_rounds) {
        yajl_tree_free(tree);
        snprintf(text, sizeof(text),
                 "backend %s asked for input more than %u times (limits.max_input_rounds)", w->name,
                 w->cfg->max_input_rounds);
        refuse(c, GW_MC_BAD_ANSWER_INPUT_ROUNDS, GW_RPC_INTERNAL_ERROR, "too many rounds", text);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const char *m = gw_json_get_string(reqs->u.object.values[i], "method");
        if ((c->env.caps & method_cap(m)) == 0) {
            /* the backend was told the session's capabilities in _meta (design §7.3) */
            snprintf(text, sizeof(text),
                     "backend %s asked the client for %s, which the client did not declare",
                     w->name, m);
            yajl_tree_free(tree); /* m is in it */
            refuse(c, GW_MC_BAD_ANSWER_INPUT_UNDECLARED, GW_RPC_BAD_ANSWER, "not declared", text);
            return;
        }
    }
    reqs_free(w, c, r);
    free(r->state);
    r->state = NULL;
    /* the state's JSON token as the backend wrote it, quotes and escapes included: it goes back
     * byte for byte (the spec's "byte-exact"), whatever it holds */
    gw_span_t span;
    if (state != NULL && gw_result_state(r->ir.data, r->ir.len, &span) == 1) {
        if ((r->state = malloc(span.len)) == NULL) {
            goto nomem;
        }
        memcpy(r->state, r->ir.data + span.off, span.len);
        r->state_len = span.len;
    } else {
        r->state_len = 0;
    }
    if (n > 0 && (r->reqs = calloc(n, sizeof(*r->reqs))) == NULL) {
        goto nomem;
    }
    reply_as_events(c);
    for (size_t i = 0; i < n; i++) {
        round_req_t *q = &r->reqs[i];
        yajl_val v = reqs->u.object.values[i];
        const char *m = gw_json_get_string(v, "method");
        char gid[GW_SERVER_NAME_MAX + 48];
        gw_buf_init(&q->result);
        r->nreqs++;
        if ((q->key = strdup(reqs->u.object.keys[i])) == NULL ||
            wrk_srvreq_add_call(w, c, &q->n, gid, sizeof(gid)) != GW_OK ||
            send_request(c, gid, m, gw_json_get(v, "params")) != GW_OK) {
            goto nomem;
        }
        q->elicitation = method_cap(m) == GW_CAP_ELICITATION;
        r->pending++;
    }
    yajl_tree_free(tree);
    gw_log_debug("msg=\"backend asked for input\" request_id=%s backend=%s requests=%zu round=%u",
                 c->rid, w->name, n, r->retries + 1);
    if (n == 0) {
        retry(c); /* a requestState alone: the backend goes on with it */
        return;
    }
    r->wait_until = wait_until(c);
    list_remove(&c->qlink);
    list_append(&w->input_waits, &c->qlink);
    return;
nomem:
    yajl_tree_free(tree);
    wrk_reply_failf(c, GW_RPC_INTERNAL_ERROR, "backend %s: out of memory", w->name);
}

int wrk_rounds_answer(call_t *c, uint64_t n, const gw_envelope_t *env)
{
    struct wrk_rounds *r = c->rounds;
    round_req_t *q = NULL;
    char err[64];

    for (size_t i = 0; r != NULL && i < r->nreqs; i++) {
        if (r->reqs[i].n == n && !r->reqs[i].answered) {
            q = &r->reqs[i];
        }
    }
    if (q == NULL || c->state == CALL_DONE) {
        return 0;
    }
    yajl_val tree = gw_json_parse(env->body.ptr, env->body.len, err, sizeof(err));
    yajl_val result = gw_json_get(tree, "result");
    yajl_val error = gw_json_get(tree, "error");
    if ((result == NULL) == (error == NULL)) {
        yajl_tree_free(tree);
        return 0;
    }
    if (result != NULL && YAJL_IS_OBJECT(result)) {
        if (gw_json_to_buf(result, &q->result) != GW_OK) {
            yajl_tree_free(tree);
            wrk_reply_failf(c, GW_RPC_INTERNAL_ERROR, "backend %s: out of memory", c->w->name);
            return 1;
        }
    } else if (q->elicitation) {
        /* declined by an error: the backend hears a cancel, the spec's answer for that */
        if (gw_buf_appends(&q->result, "{\"action\":\"cancel\"}") != GW_OK) {
            yajl_tree_free(tree);
            wrk_reply_failf(c, GW_RPC_INTERNAL_ERROR, "backend %s: out of memory", c->w->name);
            return 1;
        }
    } else {
        /* sampling or roots refused by the client: the call ends with the client's error */
        yajl_val code = gw_json_get(error, "code");
        const char *m = gw_json_get_string(error, "message");
        long long k = code != NULL && YAJL_IS_INTEGER(code) ? YAJL_GET_INTEGER(code) : 0;
        char msg[256];
        snprintf(msg, sizeof(msg), "%s", m != NULL ? m : "the client did not answer the request");
        yajl_tree_free(tree);
        wrk_reply_fail(
            c, k != 0 && k >= INT32_MIN && k <= INT32_MAX ? (int)k : GW_RPC_INTERNAL_ERROR, msg);
        return 1;
    }
    yajl_tree_free(tree);
    q->answered = 1;
    if (--r->pending == 0) {
        retry(c);
    }
    return 1;
}

/* params: ...,"inputResponses":{KEY:RESULT,...},"requestState":S} appended at the end of params,
 * so that they win over any the client's body already had (parsers keep the last). */
static gw_err_t add_fields(gw_buf_t *out, const struct wrk_rounds *r)
{
    gw_err_t e = gw_buf_appends(out, "\"inputResponses\":{");
    for (size_t i = 0; e == GW_OK && i < r->nreqs; i++) {
        if (i > 0) {
            e = gw_buf_appends(out, ",");
        }
        if (e == GW_OK) {
            e = gw_buf_append_json_string(out, r->reqs[i].key, strlen(r->reqs[i].key));
        }
        if (e == GW_OK) {
            e = gw_buf_appends(out, ":");
        }
        if (e == GW_OK) {
            e = gw_buf_append(out, r->reqs[i].result.data, r->reqs[i].result.len);
        }
    }
    if (e == GW_OK) {
        e = gw_buf_appends(out, "}");
    }
    if (e == GW_OK && r->state != NULL) {
        e = gw_buf_appends(out, ",\"requestState\":");
        if (e == GW_OK) {
            e = gw_buf_append(out, r->state, r->state_len); /* the backend's token, as it was */
        }
    }
    return e;
}

gw_err_t wrk_rounds_body(call_t *c, const char **body, size_t *len)
{
    struct wrk_rounds *r = c->rounds;
    gw_buf_t with_id;
    gw_rpc_t rpc;
    gw_err_t e = GW_EINVAL;

    if (r->retries == 0) {
        return GW_OK; /* the first call: as it is */
    }
    gw_buf_init(&with_id);
    gw_buf_reset(&r->body);
    if (gw_rpc_scan(*body, *len, GW_RPC_DEFAULT_MAX_DEPTH, &rpc) == GW_OK && rpc.id.len > 0 &&
        (e = gw_rpc_splice_raw(&with_id, *body, *len, rpc.id, r->up_id, strlen(r->up_id))) ==
            GW_OK &&
        (e = gw_rpc_scan(with_id.data, with_id.len, GW_RPC_DEFAULT_MAX_DEPTH, &rpc)) == GW_OK) {
        e = GW_EINVAL;
        if (rpc.params.len >= 2 && with_id.data[rpc.params.off] == '{') {
            size_t close = rpc.params.off + rpc.params.len - 1;
            size_t k = close;
            while (k > rpc.params.off + 1 && strchr(" \t\r\n", with_id.data[k - 1]) != NULL) {
                k--;
            }
            int empty = k == rpc.params.off + 1;
            if ((e = gw_buf_append(&r->body, with_id.data, close)) == GW_OK && !empty) {
                e = gw_buf_appends(&r->body, ",");
            }
            if (e == GW_OK) {
                e = add_fields(&r->body, r);
            }
            if (e == GW_OK) {
                e = gw_buf_append(&r->body, with_id.data + close, with_id.len - close);
            }
        }
    }
    gw_buf_fini(&with_id);
    if (e != GW_OK) {
        wrk_reply_failf(c, GW_RPC_INTERNAL_ERROR, "backend %s: cannot build the retry: %s",
                        c->w->name, gw_strerror(e));
        return e;
    }
    *body = r->body.data;
    *len = r->body.len;
    return GW_OK;
}

int64_t wrk_rounds_tick(wrk_t *w, int64_t now)
{
    int64_t next = INT64_MAX;
    for (link_t *l = w->input_waits.next; l != &w->input_waits;) {
        call_t *c = GW_CONTAINER_OF(l, call_t, qlink);
        l = l->next;
        if (now < c->rounds->wait_until) {
            next = c->rounds->wait_until < next ? c->rounds->wait_until : next;
            continue;
        }
        list_remove(&c->qlink);
        wrk_reply_failf(c, GW_RPC_TIMEOUT,
                        "backend %s asked for input and the client did not answer in time",
                        w->name);
    }
    return next;
}
