/* result_state.h: the requestState of an input_required result, found in the response's bytes,
 * so that it can be handed on byte for byte (design-2026-07-28 5.2, 5.4): the router seals or
 * wraps it, the worker sends a 2026-07-28 backend its own state back unchanged. */
#ifndef MCPGW_COMMON_RESULT_STATE_H
#define MCPGW_COMMON_RESULT_STATE_H

#include <stddef.h>

#include "common/jsonrpc.h"

/* In one JSON-RPC response msg[0..len), the value of result.requestState (a top-level member of
 * the result object; a key written with escapes counts by what it decodes to). Returns 1 with
 * *span the value's token (quotes included when a string), 0 when the result has none, -1 when
 * msg is not a response with an object result, the member repeats, or the JSON is cut. */
int gw_result_state(const char *msg, size_t len, gw_span_t *span);

#endif
