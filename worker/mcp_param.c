/* mcp_param.c: a 2026-07-28 caller's tools/call checked against its Mcp-Param-* headers before
 * anything goes upstream (docs/design-2026-07-28.md §1 row 17): HTTP 400 -32020 when a declared
 * argument's header is missing, different, invalid or sent twice.
 *
 * Why here and not in the router: the worker keeps each tool's x-mcp-header declarations
 * (catalog.c into w->xtools) and sees every call's body, after the tool's name is mapped back to
 * the backend's own; the router would need the declarations of every tool in its routing table
 * and a parse of the arguments it otherwise never makes. The router passes the client's
 * mcp-param-* headers on the CALL envelope (router/modern.c), and the check costs nothing for a
 * tool that declares none. It holds for a backend of either era: the caller is told to send the
 * headers by the tool list the gateway gave it, whatever the backend speaks. */
#include "config.h"

#include <string.h>

#include <yajl/yajl_tree.h>

#include "common/json.h"
#include "common/jsonrpc.h"
#include "common/log.h"
#include "common/mcp.h"
#include "common/mcpparam.h"
#include "worker/worker.h"

/* Answers c with HTTP 400 and the verdict's -32020 error. */
static void answer_rejected(call_t *c, const gw_mcpparam_verdict_t *v)
{
    const char *msg = v->message.data != NULL ? v->message.data : "Header mismatch";
    char q[512];
    gw_buf_t b;

    /* info, not warn: the v2 client sends its first call of such a tool without the header by
     * design (it has no tool list yet) and retries after this answer */
    gw_log_info("msg=\"call rejected: Mcp-Param header\" request_id=%s backend=%s error=\"%s\"",
                c->rid, c->w->name, gw_log_quote(q, sizeof(q), msg, strlen(msg)));
    gw_buf_init(&b);
    /* gw_rpc_error's text, the data spliced in before its last two braces (router/respond.c) */
    gw_err_t err =
        gw_rpc_error(&b, c->env.rpc_id.ptr, c->env.rpc_id.len, GW_RPC_HEADER_MISMATCH, msg);
    if (err == GW_OK && b.len >= 2 && v->data.len > 0) {
        b.len -= 2;
        err = gw_buf_appends(&b, ",\"data\":");
        err = err == GW_OK ? gw_buf_append(&b, v->data.data, v->data.len) : err;
        err = err == GW_OK ? gw_buf_appends(&b, "}}") : err;
    }
    if (err != GW_OK) {
        gw_buf_fini(&b);
        wrk_reply_failf(c, GW_RPC_INTERNAL_ERROR, "backend %s: out of memory", c->w->name);
        return;
    }
    /* counted as an error of this backend's tools/call, as an unknown tool name is (tool_names.c)
     */
    c->fail_code = GW_RPC_HEADER_MISMATCH;
    wrk_reply_head(c, 400, 0);
    wrk_reply_chunk(c, b.data, b.len);
    c->answered = 1;
    wrk_reply_end(c, 0, NULL, 0);
    gw_buf_fini(&b);
}

int wrk_mcp_param_call(call_t *c)
{
    gw_rpc_t rpc;

    /* no tool of this backend declares a header (the common case): nothing to check, no scan */
    if (c->w->nxtools == 0 || !(c->env.flags & GW_ENV_F_MODERN) ||
        !gw_str_eq(c->env.method, "tools/call") ||
        gw_rpc_scan(c->env.body.ptr, c->env.body.len, GW_RPC_DEFAULT_MAX_DEPTH, &rpc) != GW_OK ||
        rpc.name.len == 0 || rpc.name_too_long) {
        return 0;
    }
    const wrk_xtool_t *xt = wrk_xtools_find(c->w, rpc.name_str, strlen(rpc.name_str));
    if (xt == NULL) {
        return 0; /* no declarations: nothing to check (the common case, no parse) */
    }
    gw_mcpparam_hdr_t hdrs[GW_ENV_MAX_HEADERS];
    size_t n = 0;
    for (size_t i = 0; i < c->env.nheaders; i++) {
        const gw_env_header_t *h = &c->env.headers[i];
        if (gw_mcpparam_is_param_header(h->name.ptr, h->name.len)) {
            hdrs[n++] = (gw_mcpparam_hdr_t){h->name.ptr, h->name.len, h->value.ptr, h->value.len};
        }
    }
    char err[64];
    yajl_val tree = gw_json_parse(c->env.body.ptr, c->env.body.len, err, sizeof(err));
    if (tree == NULL) {
        return 0; /* the router parsed it; what cannot be parsed here is the backend's to refuse */
    }
    gw_mcpparam_verdict_t v;
    gw_mcpparam_verdict_init(&v);
    gw_err_t rc = gw_mcpparam_check(
        xt->v, xt->n, gw_json_get(gw_json_get(tree, "params"), "arguments"), hdrs, n, &v);
    yajl_tree_free(tree);
    int answered = 1;
    if (rc != GW_OK) {
        wrk_reply_failf(c, GW_RPC_INTERNAL_ERROR, "backend %s: out of memory", c->w->name);
    } else if (v.rejected) {
        answer_rejected(c, &v);
    } else {
        answered = 0;
    }
    gw_mcpparam_verdict_fini(&v);
    return answered;
}
