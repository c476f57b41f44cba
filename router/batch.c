/* batch.c: JSON-RPC batches (2025-03-26 sessions): split, each message routed alone, the
 * answers collected into one JSON array. */
#include <config.h> /* autoconf's, not common/config.h */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "router/router.h"

#define BATCH_MAX 256 /* messages in one batch (2025-03-26 sessions) */

/* Sends the batch's answer once every message has one, and frees the batch. */
static void batch_maybe_finish(rtr_batch_t *b)
{
    if (b->building || b->pending > 0) {
        return;
    }
    if (b->req != NULL) {
        if (b->retry_after_s > 0) {
            char v[24];
            int n = snprintf(v, sizeof(v), "%llu", (unsigned long long)b->retry_after_s);
            rtr_add_header(b->req, "retry-after", h2o_strdup(&b->req->pool, v, (size_t)n).base,
                           (size_t)n);
        }
        if (b->nanswers > 0 && gw_buf_append(&b->out, "]", 1) == GW_OK) {
            /* 429 only when every answer is a refusal of limits.rate */
            unsigned status = b->nlimited == b->nanswers ? 429 : 200;
            rtr_respond(b->rtr, RTR_TO_CLIENT(b->req), status, b->out.data, b->out.len);
        } else {
            rtr_respond(b->rtr, RTR_TO_CLIENT(b->req), 202, NULL, 0);
        }
    }
    rtr_req_unguard(b->guard);
    gw_buf_fini(&b->out);
    free(b);
}

void rtr_batch_answer(rtr_batch_t *b, const char *body, size_t len)
{
    if (len > 0 && body[0] == '{') {
        if ((b->nanswers > 0 && gw_buf_append(&b->out, ",", 1) != GW_OK) ||
            gw_buf_append(&b->out, body, len) != GW_OK) {
            h2o_iovec_t rid = b->req != NULL ? rtr_request_id_of(b->req) : h2o_iovec_init("", 0);
            gw_log_err("msg=\"out of memory collecting a batch answer\" request_id=%.*s",
                       (int)rid.len, rid.base);
        } else {
            b->nanswers++;
        }
    }
    b->pending--;
    batch_maybe_finish(b);
}

void rtr_batch_rate_limited(rtr_batch_t *b, uint64_t retry_after_s)
{
    b->nlimited++;
    if (retry_after_s > b->retry_after_s) {
        b->retry_after_s = retry_after_s;
    }
}

/* Adds p to the answer c keeps for its batch; out of memory, the batch goes without it. */
static void keep_answer(rtr_call_t *c, const char *p, size_t n)
{
    if (gw_buf_append(&c->body, p, n) != GW_OK) {
        gw_log_err("msg=\"out of memory keeping a batch answer\" request_id=%s", c->request_id);
        gw_buf_reset(&c->body);
    }
}

/* A reply to one message of a batch: only its JSON-RPC response is kept (what an event stream
 * carries besides, progress and server requests, has nowhere to go in a JSON array). */
void rtr_batch_on_reply(rtr_call_t *c, const gw_envelope_t *e)
{
    gw_rpc_t rpc;
    switch (e->kind) {
    case GW_ENV_HEAD:
        c->status = e->status ? e->status : 200;
        c->sse = (e->flags & GW_ENV_F_SSE) != 0;
        if (e->flags & GW_ENV_F_FINAL) {
            gw_buf_reset(&c->body);
            keep_answer(c, e->body.ptr, e->body.len);
            rtr_call_destroy(c);
        }
        return;
    case GW_ENV_CHUNK:
        if (!c->sse) {
            keep_answer(c, e->body.ptr, e->body.len);
        } else if (gw_rpc_scan(e->body.ptr, e->body.len, GW_RPC_DEFAULT_MAX_DEPTH, &rpc) == GW_OK &&
                   rpc.kind == GW_MSG_RESPONSE && rpc.id.len == c->rpc_id_len &&
                   memcmp(e->body.ptr + rpc.id.off, c->rpc_id, rpc.id.len) == 0) {
            gw_buf_reset(&c->body);
            keep_answer(c, e->body.ptr, e->body.len);
        }
        return;
    case GW_ENV_END:
        if (c->body.len == 0 && e->body.len > 0) {
            keep_answer(c, e->body.ptr, e->body.len);
        }
        rtr_call_destroy(c);
        return;
    default:
        return;
    }
}

/* The spans of the elements of a JSON array the scanner already validated. Returns how many, or
 * more than max when there are too many. */
static size_t split_array(const char *p, size_t len, gw_span_t *spans, size_t max)
{
    size_t n = 0;
    size_t i = 0;
    while (i < len && p[i] != '[') {
        i++;
    }
    i++;
    int depth = 0;
    int in_string = 0;
    size_t start = SIZE_MAX;
    for (; i < len; i++) {
        char ch = p[i];
        if (in_string) {
            if (ch == '\\') {
                i++;
            } else if (ch == '"') {
                in_string = 0;
            }
            continue;
        }
        if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r') {
            continue;
        }
        if (depth == 0 && (ch == ',' || ch == ']')) {
            if (start != SIZE_MAX) {
                if (n < max) {
                    size_t end = i;
                    while (end > start && (p[end - 1] == ' ' || p[end - 1] == '\t' ||
                                           p[end - 1] == '\n' || p[end - 1] == '\r')) {
                        end--;
                    }
                    spans[n] = (gw_span_t){.off = start, .len = end - start};
                }
                n++;
                start = SIZE_MAX;
            }
            if (ch == ']') {
                break;
            }
            continue;
        }
        if (start == SIZE_MAX) {
            start = i;
        }
        if (ch == '"') {
            in_string = 1;
        } else if (ch == '{' || ch == '[') {
            depth++;
        } else if (ch == '}' || ch == ']') {
            depth--;
        }
    }
    return n;
}

/* A batch: allowed in 2025-03-26 sessions only (later revisions removed them). Each message is
 * handled as if it came alone; the answers go back as one JSON array. */
/* Does an element of the batch carry a 2026-07-28 claim? Those have one message per POST
 * (design §1 row 3): such a batch is refused whole, before any session is looked at. */
static int has_modern_element(const char *body, size_t len)
{
    gw_span_t spans[BATCH_MAX];
    size_t n = split_array(body, len, spans, BATCH_MAX);
    for (size_t i = 0; i < n && i < BATCH_MAX; i++) {
        gw_rpc_t rpc;
        if (gw_rpc_scan(body + spans[i].off, spans[i].len, GW_RPC_DEFAULT_MAX_DEPTH, &rpc) ==
                GW_OK &&
            rpc.meta_claim) {
            return 1;
        }
    }
    return 0;
}

void rtr_batch_handle(rtr_t *r, h2o_req_t *req, const char *body, size_t len,
                      const char *request_id)
{
    rtr_sink_t client = RTR_TO_CLIENT(req);
    if (has_modern_element(body, len)) {
        rtr_respond_error(r, client, 400, NULL, 0, GW_RPC_INVALID_REQUEST,
                          "Invalid Request: batches cannot carry 2026-07-28 requests");
        return;
    }
    if (!rtr_http_protocol_version_ok(r, req)) {
        return; /* the old era's rules from here on */
    }
    gw_session_claims_t claims;
    char uuid[GW_UUID_TEXT_LEN + 1];
    if (!rtr_http_check_session(r, req, &claims, uuid, NULL, 0)) {
        return;
    }
    if (claims.proto != GW_PROTO_2025_03_26) {
        rtr_respond_error(r, client, 400, NULL, 0, GW_RPC_INVALID_REQUEST,
                          "Invalid Request: batches are not supported in this protocol version");
        return;
    }
    gw_span_t spans[BATCH_MAX];
    size_t n = split_array(body, len, spans, BATCH_MAX);
    if (n == 0 || n > BATCH_MAX) {
        rtr_respond_error(r, client, 400, NULL, 0, GW_RPC_INVALID_REQUEST,
                          n == 0 ? "Invalid Request: empty batch"
                                 : "Invalid Request: more than 256 messages in one batch");
        return;
    }
    rtr_batch_t *b = calloc(1, sizeof(*b));
    if (b == NULL) {
        rtr_respond_error(r, client, 503, NULL, 0, GW_RPC_INTERNAL_ERROR, "gateway out of memory");
        return;
    }
    gw_buf_init(&b->out);
    if (gw_buf_append(&b->out, "[", 1) != GW_OK) {
        free(b);
        rtr_respond_error(r, client, 503, NULL, 0, GW_RPC_INTERNAL_ERROR, "gateway out of memory");
        return;
    }
    b->rtr = r;
    rtr_req_guard(req, &b->req, &b->guard);
    b->building = 1;
    rtr_sink_t to = {req, b}; /* every message's answer goes into the batch */
    for (size_t i = 0; i < n; i++) {
        const char *m = body + spans[i].off;
        size_t ml = spans[i].len;
        gw_rpc_t rpc;
        b->pending++;
        gw_err_t err = gw_rpc_scan(m, ml, GW_RPC_DEFAULT_MAX_DEPTH, &rpc);
        if (err != GW_OK) {
            rtr_respond_error(r, to, 400, NULL, 0, GW_RPC_PARSE_ERROR, "Parse error");
            continue;
        }
        if (rpc.kind == GW_MSG_INVALID || rpc.kind == GW_MSG_BATCH ||
            (rpc.kind == GW_MSG_REQUEST && strcmp(rpc.method_str, "initialize") == 0)) {
            char msg[160];
            snprintf(msg, sizeof(msg), "Invalid Request: %s",
                     rpc.kind == GW_MSG_BATCH     ? "a batch inside a batch"
                     : rpc.kind == GW_MSG_REQUEST ? "initialize cannot be part of a batch"
                     : rpc.invalid_reason         ? rpc.invalid_reason
                                                  : "not a JSON-RPC 2.0 message");
            rtr_respond_error(r, to, 400, m + rpc.id.off, rpc.id.len, GW_RPC_INVALID_REQUEST, msg);
            continue;
        }
        rtr_route_count_of_method(r, &rpc);
        if (rpc.kind == GW_MSG_REQUEST && !rtr_rate_admit(r, to, &rpc, m)) {
            continue; /* answered into the batch */
        }
        gw_envelope_t e = {.kind = GW_ENV_CALL};
        e.method = (gw_str_t){rpc.method_str, strlen(rpc.method_str)};
        e.rpc_id = (gw_str_t){m + rpc.id.off, rpc.id.len};
        e.request_id = (gw_str_t){request_id, strlen(request_id)};
        e.body = (gw_str_t){m, ml};
        e.session = (gw_str_t){uuid, strlen(uuid)};
        e.proto = claims.proto;
        e.caps = claims.caps;
        rtr_route_message(r, to, &e, m, ml, &rpc);
    }
    b->building = 0;
    batch_maybe_finish(b);
}
