/* mcp.h: MCP protocol constants shared by every process: revisions and JSON-RPC error codes. */
#ifndef MCPGW_COMMON_MCP_H
#define MCPGW_COMMON_MCP_H

#include <stddef.h>

typedef enum gw_proto {
    GW_PROTO_NONE = 0,
    GW_PROTO_2025_03_26 = 1,
    GW_PROTO_2025_06_18 = 2,
    GW_PROTO_2025_11_25 = 3,
    /* The modern era (docs/design-2026-07-28.md): no initialize and no session; every request
     * carries _meta. gw_proto_parse and gw_proto_name know only the three 2025 revisions (which
     * initialize negotiates); this value travels on envelopes of modern calls only. */
    GW_PROTO_2026_07_28 = 4,
} gw_proto_t;

#define GW_PROTO_MODERN_NAME "2026-07-28"

#define GW_PROTO_LATEST GW_PROTO_2025_11_25
/* What a request without MCP-Protocol-Version is taken to speak (transports spec). */
#define GW_PROTO_DEFAULT GW_PROTO_2025_03_26

/* Returns GW_PROTO_NONE for a revision mcpgw does not speak. */
gw_proto_t gw_proto_parse(const char *s, size_t n);
/* "2025-11-25" etc.; NULL for GW_PROTO_NONE. */
const char *gw_proto_name(gw_proto_t p);

/* Client capability bits carried in the session token and to workers. */
#define GW_CAP_SAMPLING 0x01u
#define GW_CAP_ELICITATION 0x02u
#define GW_CAP_ROOTS 0x04u
/* Modern requests only (from _meta's clientCapabilities): elicitation.url and sampling.tools,
 * which the pooled upstream sessions' key and initialize need. */
#define GW_CAP_ELICITATION_URL 0x08u
#define GW_CAP_SAMPLING_TOOLS 0x10u

enum {
    GW_RPC_PARSE_ERROR = -32700,
    GW_RPC_INVALID_REQUEST = -32600,
    GW_RPC_METHOD_NOT_FOUND = -32601,
    GW_RPC_INVALID_PARAMS = -32602,
    GW_RPC_INTERNAL_ERROR = -32603,
    GW_RPC_RESOURCE_NOT_FOUND = -32002,
    /* Implementation-defined server errors (-32000..-32099) used by the gateway. */
    GW_RPC_SESSION_NOT_FOUND = -32001, /* what the SDK servers answer with HTTP 404 */
    GW_RPC_BACKEND_UNAVAILABLE = -32010,
    GW_RPC_TIMEOUT = -32011,
    GW_RPC_BAD_ANSWER = -32012, /* the backend's answer was not the JSON-RPC response to the call */
    GW_RPC_RATE_LIMITED = -32029, /* limits.rate: the caller is over its rate (HTTP 429) */
    /* 2026-07-28 (spec basic/index#error-codes): the only codes of -32020..-32099 it allows. */
    GW_RPC_HEADER_MISMATCH = -32020,     /* a standard header disagrees with the body (400) */
    GW_RPC_MISSING_CAPABILITY = -32021,  /* the request lacks a client capability needed (400) */
    GW_RPC_UNSUPPORTED_VERSION = -32022, /* _meta names a version not served (400) */
};

#endif
