/* mcp.h: MCP protocol constants shared by every process: revisions and JSON-RPC error codes. */
#ifndef MCPGW_COMMON_MCP_H
#define MCPGW_COMMON_MCP_H

#include <stddef.h>

typedef enum gw_proto {
    GW_PROTO_NONE = 0,
    GW_PROTO_2025_03_26 = 1,
    GW_PROTO_2025_06_18 = 2,
    GW_PROTO_2025_11_25 = 3,
} gw_proto_t;

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
};

#endif
