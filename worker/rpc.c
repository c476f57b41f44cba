/* rpc.c: the answers to JSON-RPC requests the worker makes itself (initialize, the catalog's
 * lists, health pings): the response kept out of an event stream, and the answer judged. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_tree.h>

#include "common/json.h"
#include "common/jsonrpc.h"
#include "common/log.h"
#include "worker/answer.h"
#include "worker/worker.h"

/* The id of the worker's own request as it was written in the request ("%llu"). */
static int expect_id_text(const xfer_t *x, char *buf, size_t n)
{
    return snprintf(buf, n, "%" PRIu64, x->expect_id);
}

/* Keeps the response to x->expect_id out of an event stream (notifications and server
 * requests before it are of no use to the worker's own requests); the id is compared by bytes
 * with the one sent. */
gw_err_t wrk_rpc_collect_event(xfer_t *x, const char *data, size_t len)
{
    char id[24];
    int n = expect_id_text(x, id, sizeof(id));
    gw_rpc_t rpc;

    if (x->rpc_seen ||
        wrk_answer_check(data, len, id, (size_t)n, 1, 0, &rpc) != WRK_ANSWER_RESPONSE) {
        return GW_OK;
    }
    gw_buf_reset(&x->body);
    if (gw_buf_append(&x->body, data, len) != GW_OK) {
        return GW_ENOMEM;
    }
    x->rpc_seen = 1;
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
    if (x->ctype == CTYPE_JSON) {
        /* A whole JSON body must be the response to this request: its id, by bytes. */
        char id[24];
        int n = expect_id_text(x, id, sizeof(id));
        gw_rpc_t rpc;
        wrk_answer_t a = wrk_answer_check(x->body.data, x->body.len, id, (size_t)n, 0, 0, &rpc);
        if (a != WRK_ANSWER_RESPONSE) {
            snprintf(msg, len, "backend %s answered %s with what is not its response (%s)", name,
                     what, wrk_answer_reason(a));
            yajl_tree_free(v);
            return GW_RPC_BAD_ANSWER;
        }
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
