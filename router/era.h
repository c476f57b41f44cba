/* era.h: which era a POSTed message belongs to (docs/design-2026-07-28.md §2) and the wire rules
 * of 2026-07-28 in the order of §1: a pure function of the scanned body and three header values,
 * so that every row can be tested without a server. */
#ifndef MCPGW_ROUTER_ERA_H
#define MCPGW_ROUTER_ERA_H

#include <stddef.h>

#include "common/buf.h"
#include "common/envelope.h"
#include "common/jsonrpc.h"

/* What an endpoint's server/discover advertises, which gates methods of modern requests (§1 row
 * 16); tools are always advertised. */
#define RTR_OFFERS_PROMPTS 0x01u
#define RTR_OFFERS_RESOURCES 0x02u
#define RTR_OFFERS_COMPLETIONS 0x04u
#define RTR_OFFERS_LOGGING 0x08u

typedef struct rtr_era_in {
    const char *body; /* the scanned body */
    size_t len;
    const gw_rpc_t *rpc;       /* a REQUEST, NOTIFICATION or RESPONSE (batches: rtr_era_batch) */
    gw_str_t protocol_version; /* the MCP-Protocol-Version header as sent; ptr NULL: absent */
    gw_str_t mcp_method;       /* Mcp-Method */
    gw_str_t mcp_name;         /* Mcp-Name */
    unsigned offers;           /* RTR_OFFERS_* of the caller's endpoint */
} rtr_era_in_t;

typedef enum rtr_era {
    RTR_ERA_LEGACY = 0, /* the 2025 revisions: today's rules (a session, or initialize) */
    RTR_ERA_MODERN,     /* a 2026-07-28 request that passed every row: dispatch it */
    RTR_ERA_ACCEPTED,   /* a 2026-07-28 notification: answer 202, dispatch nothing (row 22) */
    RTR_ERA_REJECT,     /* answer status with the JSON-RPC error code, message and data */
} rtr_era_t;

typedef struct rtr_era_verdict {
    rtr_era_t era;
    unsigned row; /* the row of §1 that answered (0 for LEGACY and MODERN) */
    unsigned status;
    int code;
    gw_buf_t message; /* REJECT: the error's message text (not JSON) */
    gw_buf_t data;    /* REJECT: the error's data as JSON text, or empty for none */
} rtr_era_verdict_t;

/* Decides in->rpc's era and, for the modern one, applies rows 4-16 and 22 in order; the first
 * failing row answers. Returns GW_ENOMEM when the verdict's text could not be written (answer
 * 503), else GW_OK. *out is the caller's, to release with rtr_era_verdict_fini either way. */
gw_err_t rtr_era_decide(const rtr_era_in_t *in, rtr_era_verdict_t *out);
void rtr_era_verdict_fini(rtr_era_verdict_t *v);

/* Whether the header value v names a modern revision: a date YYYY-MM-DD of 2026-07-28 or later
 * (a later revision is modern too: the claim, not the header, says which). Other unknown values
 * stay today's legacy 400. */
int rtr_era_header_is_modern(gw_str_t v);

#endif
