/* mrtr.h: the pure text parts of the router's half of MRTR (docs/design-2026-07-28.md 5.2):
 * finding the requestState of an input_required result and of a retry, the worker's wait-*
 * headers, and the splice that puts a state's text between quotes. router/mrtr.c seals, opens
 * and routes with them. */
#ifndef MCPGW_ROUTER_MRTR_H
#define MCPGW_ROUTER_MRTR_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/envelope.h"
#include "common/err.h"
#include "common/jsonrpc.h"

/* A call parked in a worker (kind W), as its interim result's chunk headers name it. */
typedef struct rtr_mrtr_wait {
    uint64_t run;   /* wait-run: the worker's run id, 16 hex digits */
    uint32_t slot;  /* wait-slot, decimal */
    uint32_t nonce; /* wait-nonce, decimal */
    uint8_t round;  /* wait-round, decimal 1..255 */
} rtr_mrtr_wait_t;

/* The four header values of a resume CALL, NUL-terminated. */
typedef struct rtr_mrtr_wait_text {
    char run[17];
    char slot[11];
    char nonce[11];
    char round[4];
} rtr_mrtr_wait_text_t;

/* The wait-* headers among h[0..n): 1 and *out when all four are there and valid, 0 when none
 * is, -1 when some are missing or invalid (a worker's bug: the state cannot be sealed). */
int rtr_mrtr_wait_parse(const gw_env_header_t *h, size_t n, rtr_mrtr_wait_t *out);

/* The header values naming w (wait-run in 16 lowercase hex digits). */
void rtr_mrtr_wait_format(const rtr_mrtr_wait_t *w, rtr_mrtr_wait_text_t *out);

/* A retry's params.requestState token body[tok): 1 and its text between the quotes when it is a
 * string starting with GW_REQSTATE_PREFIX with no escape in it (a state the gateway sealed is
 * base64url text, sent back byte for byte); 0 otherwise: not one of ours. */
int rtr_mrtr_state_text(const char *body, gw_span_t tok, const char **text, size_t *len);

/* Writes body[0..len) to out with span replaced by the JSON string whose content, between the
 * quotes, is raw[0..n) as it is (already escaped JSON string text). */
gw_err_t rtr_mrtr_splice_quoted(gw_buf_t *out, const char *body, size_t len, gw_span_t span,
                                const char *raw, size_t n);

#endif
