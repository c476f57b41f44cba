/* answer.c: the check every backend answer to a call passes before it reaches a client (one
 * JSON-RPC message; a response only with the id sent, compared by bytes, never by value). */
#include "config.h"

#include <string.h>

#include "common/jsonrpc.h"
#include "worker/answer.h"

wrk_answer_t wrk_answer_check(const char *data, size_t len, const char *id, size_t id_len,
                              int event, int answered, gw_rpc_t *rpc)
{
    if (gw_rpc_scan(data, len, GW_RPC_DEFAULT_MAX_DEPTH, rpc) != GW_OK) {
        return WRK_ANSWER_NOT_JSON;
    }
    switch (rpc->kind) {
    case GW_MSG_RESPONSE:
        /* The scanner records the id's token as written: "1" and 1, or 1 and 1.0, differ. */
        if (rpc->id.len != id_len || id_len == 0 || memcmp(data + rpc->id.off, id, id_len) != 0) {
            return WRK_ANSWER_WRONG_ID;
        }
        return answered ? WRK_ANSWER_SECOND : WRK_ANSWER_RESPONSE;
    case GW_MSG_REQUEST:
    case GW_MSG_NOTIFICATION:
        return event ? WRK_ANSWER_MESSAGE : WRK_ANSWER_NOT_JSONRPC;
    case GW_MSG_BATCH: /* a call is one message: its answer is one too */
    case GW_MSG_INVALID:
        break;
    }
    return WRK_ANSWER_NOT_JSONRPC;
}

const char *wrk_answer_reason(wrk_answer_t a)
{
    static const char *const reasons[WRK_ANSWER_COUNT] = {
        [WRK_ANSWER_RESPONSE] = "ok",       [WRK_ANSWER_MESSAGE] = "ok",
        [WRK_ANSWER_NOT_JSON] = "not_json", [WRK_ANSWER_NOT_JSONRPC] = "not_jsonrpc",
        [WRK_ANSWER_WRONG_ID] = "wrong_id", [WRK_ANSWER_SECOND] = "second_response",
    };
    return (unsigned)a < WRK_ANSWER_COUNT ? reasons[a] : "unknown";
}
