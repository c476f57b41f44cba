/* call_shape.c: a call's answer fitted to its caller's era before it is relayed (design
 * docs/design-2026-07-28.md §4): the direction from the call's flags and the backend's era, and
 * the client's error when the answer cannot be fitted. The rewrites are worker/result_shape.c. */
#include "config.h"

#include "common/jsonrpc.h"
#include "worker/result_shape.h"
#include "worker/worker.h"

/* The call's era, not the backend's: a dual backend answers each call in the era it was made in
 * (wrk_era_of_call). An era not probed yet (WRK_ERA_UNKNOWN) counts as legacy: until the probe
 * says otherwise the worker calls the backend the 2025 way (initialize, a session), so what it
 * answers is a 2025 answer. */
static wrk_shape_dir_t call_shape_dir(const call_t *c)
{
    return wrk_shape_dir((c->env.flags & GW_ENV_F_MODERN) != 0,
                         wrk_era_of_call(c->w, &c->env) == WRK_ERA_MODERN);
}

/* The methods whose results may be input_required (spec basic/patterns/mrtr). */
static int takes_input(const call_t *c)
{
    return gw_str_eq(c->env.method, "tools/call") || gw_str_eq(c->env.method, "prompts/get") ||
           gw_str_eq(c->env.method, "resources/read");
}

wrk_shape_rc_t wrk_call_shape(call_t *c, const char *data, size_t len, gw_buf_t *out)
{
    switch (call_shape_dir(c)) {
    case WRK_SHAPE_FOR_MODERN: {
        /* resources/read is the one cacheable method a worker answers (the lists are the
         * broker's, server/discover the router's); its uri goes into a mapped -32002 */
        int read = gw_str_eq(c->env.method, "resources/read");
        const char *uri = NULL;
        size_t uri_len = 0;
        gw_rpc_t req;
        if (read &&
            gw_rpc_scan(c->env.body.ptr, c->env.body.len, GW_RPC_DEFAULT_MAX_DEPTH, &req) ==
                GW_OK &&
            req.uri.len > 0) {
            uri = c->env.body.ptr + req.uri.off;
            uri_len = req.uri.len;
        }
        return wrk_shape_for_modern(data, len, read, uri, uri_len, out);
    }
    case WRK_SHAPE_FOR_LEGACY:
        return wrk_shape_for_legacy(data, len, out);
    case WRK_SHAPE_AS_IS:
        /* new <-> new: the router wraps the backend's requestState in one it seals for the
         * caller (kind P), since the backend sees every caller as the gateway */
        if ((c->env.flags & GW_ENV_F_MODERN) && takes_input(c) &&
            wrk_shape_is_input_required(data, len)) {
            c->answer_flags |= GW_ENV_F_INPUT_REQUIRED;
        }
        break;
    }
    return WRK_SHAPE_SAME;
}

void wrk_call_refuse_shape(call_t *c, wrk_shape_rc_t rc)
{
    const char *name = c->w->name;
    switch (rc) {
    case WRK_SHAPE_BAD_RESULT_TYPE:
        wrk_reply_failf(c, GW_RPC_BAD_ANSWER,
                        "backend %s sent a result whose resultType is not \"complete\" (it "
                        "speaks 2025 revisions)",
                        name);
        return;
    case WRK_SHAPE_NOT_OBJECT:
    case WRK_SHAPE_MALFORMED:
        wrk_reply_failf(c, GW_RPC_BAD_ANSWER, "backend %s sent a result that is not an object",
                        name);
        return;
    case WRK_SHAPE_INPUT_REQUIRED:
        /* the requests go to the session's client, the backend is called again (§5.4); the
         * result was kept by call.c (wrk_rounds_keep) */
        wrk_rounds_start(c);
        return;
    case WRK_SHAPE_NOMEM:
        wrk_reply_fail(c, GW_RPC_INTERNAL_ERROR, "out of memory");
        return;
    case WRK_SHAPE_SAME:
    case WRK_SHAPE_REWRITTEN:
        break;
    }
}
