/* answer.h: the check every backend answer to a call passes before it reaches a client: one
 * JSON-RPC message, and a response only with the id that was sent (compared byte for byte). */
#ifndef MCPGW_WORKER_ANSWER_H
#define MCPGW_WORKER_ANSWER_H

#include <stddef.h>

#include "common/jsonrpc.h"

typedef enum wrk_answer {
    WRK_ANSWER_RESPONSE = 0, /* the response to the id sent */
    WRK_ANSWER_MESSAGE,      /* a request or a notification (an event stream's only) */
    WRK_ANSWER_NOT_JSON,     /* not well-formed JSON, or nested too deep */
    WRK_ANSWER_NOT_JSONRPC,  /* JSON, but not one JSON-RPC message (a batch, a bare value) */
    WRK_ANSWER_WRONG_ID,     /* a response with another id (null included) */
    WRK_ANSWER_SECOND,       /* a response after the answer was already relayed */
    WRK_ANSWER_COUNT
} wrk_answer_t;

/* Judges one backend message answering the request whose raw JSON id is id[0..id_len). event:
 * it is one event of an event stream, where requests and notifications may come before the
 * response; else it is a whole application/json body, which must be the response. answered: the
 * response already came. rpc receives the scan (valid unless WRK_ANSWER_NOT_JSON). Pure. */
wrk_answer_t wrk_answer_check(const char *data, size_t len, const char *id, size_t id_len,
                              int event, int answered, gw_rpc_t *rpc);

/* The reason label of a verdict for logs and mcpgw_backend_bad_answers_total ("ok" for the two
 * good ones). */
const char *wrk_answer_reason(wrk_answer_t a);

#endif
