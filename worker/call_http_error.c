/* call_http_error.c: a backend's answer to a call with a non-2xx status: a lost session told
 * apart (retried once by call.c), a JSON-RPC error body relayed with the client's id (a status
 * kept where the revision wants one), anything else described. */
#include "config.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

#include <yajl/yajl_tree.h>

#include "common/json.h"
#include "common/jsonrpc.h"
#include "common/log.h"
#include "worker/worker.h"

/* The message of a JSON error body ({"error":{"message":...}}), or NULL; *tree is the caller's
 * to free. Error bodies are rare and small: a tree is fine here. */
static const char *error_body_message(const xfer_t *x, yajl_val *tree, long long *code)
{
    char err[64];
    yajl_val e;
    yajl_val c;

    *tree = NULL;
    if (x->ctype != CTYPE_JSON || x->body.len == 0 ||
        (*tree = gw_json_parse(x->body.data, x->body.len, err, sizeof(err))) == NULL) {
        return NULL;
    }
    e = gw_json_get(*tree, "error");
    c = gw_json_get(e, "code");
    if (code != NULL) {
        *code = c != NULL && YAJL_IS_INTEGER(c) ? YAJL_GET_INTEGER(c) : GW_RPC_INTERNAL_ERROR;
    }
    return gw_json_get_string(e, "message");
}

/* The spec says a backend answers 404 for a session it does not know; the reference server
 * (server-everything, the SDK's examples) answers 400 "No valid session ID provided". Either
 * way the call was not executed, so a 400 whose error names the session counts as a lost
 * session too. */
int wrk_call_session_rejected(const call_t *c)
{
    const xfer_t *x = &c->x;
    yajl_val tree;
    const char *m;
    int yes;

    if (x->status != 400 || !c->sent_sid || c->retried || c->w->stopping || c->resumes > 0) {
        return 0;
    }
    m = error_body_message(x, &tree, NULL);
    yes = m != NULL && strcasestr(m, "session") != NULL;
    yajl_tree_free(tree);
    return yes;
}

/* A non-2xx answer: relay a JSON-RPC error body (with the client's id when the backend gave
 * none), else describe the status. */
void wrk_call_relay_http_error(call_t *c)
{
    xfer_t *x = &c->x;
    gw_rpc_t rpc;
    gw_buf_t b;
    const char *body = x->body.data;
    size_t len = x->body.len;
    yajl_val tree = NULL;

    if (c->env.rpc_id.len == 0 || x->ctype != CTYPE_JSON || len == 0 ||
        gw_rpc_scan(body, len, GW_RPC_DEFAULT_MAX_DEPTH, &rpc) != GW_OK || !rpc.has_error ||
        rpc.has_result || rpc.method.len > 0) {
        wrk_reply_failf(c, GW_RPC_INTERNAL_ERROR, "backend %s answered HTTP %ld", c->w->name,
                        x->status);
        return;
    }
    gw_log_warn("msg=\"backend error relayed\" request_id=%s backend=%s method=%.*s status=%ld",
                c->rid, c->w->name, (int)c->env.method.len, c->env.method.ptr, x->status);
    unsigned status = 200; /* a JSON-RPC error is in-band, */
    if (wrk_era_of_call(c->w, &c->env) == WRK_ERA_MODERN) {
        /* -32020/-32022 from a 2026-07-28 backend: our headers, or its era changed (design 4);
         * the probe looks again. (Mapping the client's answer is part B's.) */
        long long code = 0;
        yajl_val t = NULL;
        (void)error_body_message(x, &t, &code);
        yajl_tree_free(t);
        if (code == GW_RPC_UNSUPPORTED_VERSION || code == GW_RPC_HEADER_MISMATCH) {
            gw_log_warn("msg=\"backend refused the request's protocol headers\" request_id=%s "
                        "backend=%s code=%lld",
                        c->rid, c->w->name, code);
            if (code == GW_RPC_UNSUPPORTED_VERSION) {
                wrk_era_reprobe(c->w, 0, "a call answered -32022");
            }
        }
        if (code == GW_RPC_MISSING_CAPABILITY && x->status == 400 &&
            (c->env.flags & GW_ENV_F_MODERN)) {
            /* except -32021 to a 2026-07-28 caller, whose own capabilities the backend was given:
             * HTTP 400, as the revision says (design §1 row 20) */
            status = 400;
        }
    }
    gw_buf_init(&b);
    if (rpc.kind == GW_MSG_RESPONSE && rpc.id_is_null && rpc.id.len == 4 &&
        memcmp(body + rpc.id.off, "null", 4) == 0) {
        /* An error about the transport (no session, bad header) comes with id null; the client
         * waits for its own id. */
        if (gw_rpc_splice_raw(&b, body, len, rpc.id, c->env.rpc_id.ptr, c->env.rpc_id.len) ==
            GW_OK) {
            body = b.data;
            len = b.len;
        }
    } else if (rpc.id.len == 0 ||
               (rpc.kind == GW_MSG_RESPONSE &&
                (rpc.id.len != c->env.rpc_id.len ||
                 memcmp(body + rpc.id.off, c->env.rpc_id.ptr, rpc.id.len) != 0))) {
        /* No id, or another request's: rebuild the error around the client's id, so that it
         * never answers a call that was not this one. */
        long long code = GW_RPC_INTERNAL_ERROR;
        const char *m = error_body_message(x, &tree, &code);
        if (m == NULL || code < INT32_MIN || code > INT32_MAX ||
            gw_rpc_error(&b, c->env.rpc_id.ptr, c->env.rpc_id.len, (int)code, m) != GW_OK) {
            yajl_tree_free(tree);
            gw_buf_fini(&b);
            wrk_reply_failf(c, GW_RPC_INTERNAL_ERROR, "backend %s answered HTTP %ld", c->w->name,
                            x->status);
            return;
        }
        body = b.data;
        len = b.len;
    } else if (rpc.kind != GW_MSG_RESPONSE) {
        gw_buf_fini(&b);
        wrk_reply_failf(c, GW_RPC_INTERNAL_ERROR, "backend %s answered HTTP %ld", c->w->name,
                        x->status);
        return;
    }
    gw_buf_t shaped; /* an error for a modern caller: -32002 mapped (call_shape.c) */
    gw_buf_init(&shaped);
    if (wrk_call_shape(c, body, len, &shaped) == WRK_SHAPE_REWRITTEN) {
        body = shaped.data;
        len = shaped.len;
    }
    wrk_reply_head(c, status, 0);
    wrk_reply_chunk(c, body, len);
    c->answered = 1;
    wrk_reply_end(c, 0, NULL, 0);
    yajl_tree_free(tree);
    gw_buf_fini(&b);
    gw_buf_fini(&shaped);
}
