/* mrtr_rounds.h: a 2025 session's call to a 2026-07-28 backend that answers input_required
 * (docs/design-2026-07-28.md §5.4): the input requests sent to the client as real requests on the
 * call's own event stream, the client's answers collected, and the backend called again with
 * inputResponses and its requestState, a bounded number of rounds. */
#ifndef MCPGW_WORKER_MRTR_ROUNDS_H
#define MCPGW_WORKER_MRTR_ROUNDS_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/envelope.h"
#include "common/err.h"

struct call;
struct wrk;

/* limits.max_input_rounds' default: the retries one call may make */
#define WRK_INPUT_ROUNDS_DEFAULT 8u
/* inputRequests entries of one interim result: more is a bad input_required */
#define WRK_ROUND_REQS_MAX 64u

/* Keeps the backend's input_required response (from an event stream, inside libcurl's callback)
 * for wrk_rounds_start, which runs from the transfer's end. */
gw_err_t wrk_rounds_keep(struct call *c, const char *data, size_t len);

/* The kept input_required: checked, its requests sent to the client (or, without any, the backend
 * called again at once), or the call ended with the error it earns. Loop only. */
void wrk_rounds_start(struct call *c);

/* A response in data whose id is the id the call's latest retry went upstream with: written to
 * out with the client's own id instead. Returns 1 when out holds the rewrite. */
int wrk_rounds_fix_id(const struct call *c, const char *data, size_t len, gw_buf_t *out);

/* The retry's body: body (what call.c would send, _meta spliced) with the retry's own id and
 * params.inputResponses and params.requestState added; before the first retry body unchanged.
 * Answers the call on failure. */
gw_err_t wrk_rounds_body(struct call *c, const char **body, size_t *len);

/* The client's answer to input request n of the call (srvreq.c found it by its gateway id).
 * Returns 1 when it was taken; the call may have ended or been retried here. */
int wrk_rounds_answer(struct call *c, uint64_t n, const gw_envelope_t *env);

/* Ends calls whose client did not answer their input requests in time; returns when the next
 * wait ends. */
int64_t wrk_rounds_tick(struct wrk *w, int64_t now);

/* Frees the call's rounds and forgets their gateway ids (the call is being destroyed). */
void wrk_rounds_free(struct call *c);

#endif
