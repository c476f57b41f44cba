/* rpc.c: the answers to JSON-RPC requests the worker makes itself (initialize, the catalog's
 * lists, health pings): the response kept out of an event stream, and the answer judged. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_tree.h>

#include "common/json.h"
#include "common/jsonrpc.h"
#include "common/log.h"
#include "worker/worker.h"

/* Keeps the response to x->expect_id out of an event stream (notifications and server
 * requests before it are of no use to the worker's own requests). */
gw_err_t wrk_rpc_collect_event(xfer_t *x, const char *data, size_t len)
{
    char err[64];
    yajl_val v;
    yajl_val id;

    if (x->rpc_seen) {
        return GW_OK;
    }
    if ((v = gw_json_parse(data, len, err, sizeof(err))) == NULL) {
        return GW_OK;
    }
    id = gw_json_get(v, "id");
    if (id != NULL && YAJL_IS_INTEGER(id) && YAJL_GET_INTEGER(id) == (long long)x->expect_id &&
        (gw_json_get(v, "result") != NULL || gw_json_get(v, "error") != NULL)) {
        gw_buf_reset(&x->body);
        if (gw_buf_append(&x->body, data, len) != GW_OK) {
            yajl_tree_free(v);
            return GW_ENOMEM;
        }
        x->rpc_seen = 1;
    }
    yajl_tree_free(v);
    return GW_OK;
}

/* Judges the answer to a request the worker made itself. Returns 0 with *tree (the caller's,
 * free with yajl_tree_free) and *result (inside it), or a JSON-RPC error code with msg. */
int wrk_rpc_outcome(xfer_t *x, CURLcode rc, const char *what, yajl_val *tree, yajl_val *result,
                    char *msg, size_t len)
{
    const char *name = x->w->name;
    char perr[128];
    char quoted[256];
    yajl_val v;
    yajl_val error;
    int code;

    *tree = NULL;
    *result = NULL;
    if ((code = wrk_xfer_failure(x, rc, msg, len)) != 0) {
        return code;
    }
    v = x->body.len > 0 ? gw_json_parse(x->body.data, x->body.len, perr, sizeof(perr)) : NULL;
    if (x->status / 100 != 2) {
        const char *m = v ? gw_json_get_string(gw_json_get(v, "error"), "message") : NULL;
        if (m != NULL) {
            snprintf(msg, len, "backend %s answered HTTP %ld to %s: %s", name, x->status, what,
                     gw_log_quote(quoted, sizeof(quoted), m, strlen(m)));
        } else {
            snprintf(msg, len, "backend %s answered HTTP %ld to %s", name, x->status, what);
        }
        yajl_tree_free(v);
        return GW_RPC_INTERNAL_ERROR;
    }
    if (v == NULL) {
        if (x->body.len == 0) {
            snprintf(msg, len, "backend %s sent no response to %s", name, what);
        } else {
            snprintf(msg, len, "backend %s sent invalid JSON for %s: %s", name, what, perr);
        }
        return GW_RPC_INTERNAL_ERROR;
    }
    if ((error = gw_json_get(v, "error")) != NULL) {
        const char *m = gw_json_get_string(error, "message");
        snprintf(msg, len, "backend %s refused %s: %s", name, what,
                 m ? gw_log_quote(quoted, sizeof(quoted), m, strlen(m)) : "no message");
        yajl_tree_free(v);
        return GW_RPC_INTERNAL_ERROR;
    }
    *result = gw_json_get(v, "result");
    if (*result == NULL || !YAJL_IS_OBJECT(*result)) {
        snprintf(msg, len, "backend %s sent no result for %s", name, what);
        yajl_tree_free(v);
        *result = NULL;
        return GW_RPC_INTERNAL_ERROR;
    }
    *tree = v;
    return 0;
}
