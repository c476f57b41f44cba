/* fuzz_era.c: libFuzzer driver for the era decision and the 2026-07-28 wire rules
 * (router/era.c), over a client's body and its MCP-Protocol-Version, Mcp-Method and Mcp-Name.
 *
 * The input is four parts split at the first three 0xff bytes (which no JSON text and no
 * header the checks accept holds): the three header values (an empty part is an absent header,
 * a part of one 0xfe byte an empty one), then the body. Properties checked:
 * - rtr_era_decide returns OK for whatever was scanned;
 * - a refusal answers 400 or 404 with one of the codes of its row, a message, and data that is
 *   one JSON object (or none); 404 only with -32601;
 * - nothing without a claim is modern, a notification is never MODERN (it is ACCEPTED or
 *   refused), and ACCEPTED is only for notifications;
 * - a modern request has both standard headers, and its claim is "2026-07-28". */
#include <config.h>

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/json.h"
#include "common/jsonrpc.h"
#include "common/mcp.h"
#include "router/era.h"
#include "tests/fuzz/fuzz.h"

static gw_str_t part(const char *p, size_t n)
{
    if (n == 0) {
        return GW_STR_NULL;
    }
    if (n == 1 && (unsigned char)p[0] == 0xfe) {
        return (gw_str_t){"", 0};
    }
    return (gw_str_t){p, n};
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    gw_str_t h[3];
    size_t at = 0;
    for (int k = 0; k < 3; k++) {
        const char *end = memchr(p + at, 0xff, size - at);
        if (end == NULL) {
            return 0;
        }
        h[k] = part(p + at, (size_t)(end - (p + at)));
        at = (size_t)(end - p) + 1;
    }
    const char *body = p + at;
    size_t len = size - at;
    gw_rpc_t rpc;
    if (gw_rpc_scan(body, len, 0, &rpc) != GW_OK || rpc.kind == GW_MSG_INVALID ||
        rpc.kind == GW_MSG_BATCH) {
        return 0;
    }
    rtr_era_in_t in = {.body = body,
                       .len = len,
                       .rpc = &rpc,
                       .protocol_version = h[0],
                       .mcp_method = h[1],
                       .mcp_name = h[2],
                       .offers = len % 16};
    rtr_era_verdict_t v;
    FUZZ_CHECK(rtr_era_decide(&in, &v) == GW_OK, "decide failed");
    switch (v.era) {
    case RTR_ERA_LEGACY:
        break;
    case RTR_ERA_MODERN:
        FUZZ_CHECK(rpc.meta_claim && rpc.kind == GW_MSG_REQUEST, "modern without a claim");
        FUZZ_CHECK(h[0].ptr != NULL && h[1].ptr != NULL, "modern without the standard headers");
        FUZZ_CHECK(strcmp(rpc.meta_protocol_version_str, GW_PROTO_MODERN_NAME) == 0,
                   "modern with claim '%s'", rpc.meta_protocol_version_str);
        break;
    case RTR_ERA_ACCEPTED:
        FUZZ_CHECK(rpc.kind == GW_MSG_NOTIFICATION && rpc.meta_claim && v.status == 202,
                   "accepted a request");
        break;
    case RTR_ERA_REJECT: {
        FUZZ_CHECK(v.message.len > 0, "a refusal without a message");
        FUZZ_CHECK((v.status == 400 &&
                    (v.code == GW_RPC_INVALID_PARAMS || v.code == GW_RPC_HEADER_MISMATCH ||
                     v.code == GW_RPC_UNSUPPORTED_VERSION)) ||
                       (v.status == 404 && v.code == GW_RPC_METHOD_NOT_FOUND),
                   "row %u: status %u code %d", v.row, v.status, v.code);
        if (v.data.len > 0) {
            char e[64];
            yajl_val d = gw_json_parse(v.data.data, v.data.len, e, sizeof(e));
            FUZZ_CHECK(YAJL_IS_OBJECT(d), "row %u: data is not one JSON object: %s", v.row,
                       v.data.data);
            yajl_tree_free(d);
        }
        break;
    }
    default:
        FUZZ_CHECK(0, "era %d", v.era);
    }
    rtr_era_verdict_fini(&v);
    return 0;
}
