/* mcp.c: the MCP protocol revisions mcpgw speaks, by name. */
#include <config.h>

#include <string.h>

#include "common/mcp.h"

static const char *const proto_names[] = {
    [GW_PROTO_2025_03_26] = "2025-03-26",
    [GW_PROTO_2025_06_18] = "2025-06-18",
    [GW_PROTO_2025_11_25] = "2025-11-25",
};

#define PROTO_COUNT (sizeof(proto_names) / sizeof(proto_names[0]))

gw_proto_t gw_proto_parse(const char *s, size_t n)
{
    if (s == NULL) {
        return GW_PROTO_NONE;
    }
    for (size_t i = 1; i < PROTO_COUNT; i++) {
        if (strlen(proto_names[i]) == n && memcmp(proto_names[i], s, n) == 0) {
            return (gw_proto_t)i;
        }
    }
    return GW_PROTO_NONE;
}

const char *gw_proto_name(gw_proto_t p)
{
    if ((unsigned)p == GW_PROTO_NONE || (unsigned)p >= PROTO_COUNT) {
        return NULL;
    }
    return proto_names[p];
}
