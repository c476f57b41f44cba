/* era_test.c: the era decision and the 2026-07-28 wire rules over a table of (headers, body)
 * cases taken from docs/design-2026-07-28.md §1, §2 and what the v2 SDK server answers (§8.2). */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/mcp.h"
#include "router/era.h"

#define PV "\"io.modelcontextprotocol/protocolVersion\""
#define CC "\"io.modelcontextprotocol/clientCapabilities\""
#define CI "\"io.modelcontextprotocol/clientInfo\""
#define LL "\"io.modelcontextprotocol/logLevel\""
#define META "\"_meta\":{" PV ":\"2026-07-28\"," CC ":{}}"
#define REQ(method, params)                                                                        \
    "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"" method "\",\"params\":{" params "}}"
#define NOTE(method, params)                                                                       \
    "{\"jsonrpc\":\"2.0\",\"method\":\"" method "\",\"params\":{" params "}}"
#define ALL (RTR_OFFERS_PROMPTS | RTR_OFFERS_RESOURCES | RTR_OFFERS_COMPLETIONS)
#define NONE "\x01" /* a header left out */
#define M26 "2026-07-28"

typedef struct era_case {
    const char *what;
    const char *body;
    const char *pv, *method, *name; /* header values; NONE: absent */
    unsigned offers;
    rtr_era_t era;
    unsigned row;
    unsigned status;
    int code;
    const char *data; /* expected data JSON, or NULL not to check */
} era_case_t;

static const era_case_t cases[] = {
    /* §2: what stays legacy */
    {"legacy request, no headers", "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}", NONE,
     NONE, NONE, ALL, RTR_ERA_LEGACY, 0, 0, 0, NULL},
    {"legacy request, 2025 header", REQ("tools/list", ""), "2025-11-25", NONE, NONE, ALL,
     RTR_ERA_LEGACY, 0, 0, 0, NULL},
    {"legacy request, garbage header (today's 400)", REQ("tools/list", ""), "garbage", NONE, NONE,
     ALL, RTR_ERA_LEGACY, 0, 0, 0, NULL},
    {"legacy initialize", REQ("initialize", "\"protocolVersion\":\"2025-11-25\""), NONE, NONE, NONE,
     ALL, RTR_ERA_LEGACY, 0, 0, 0, NULL},
    {"legacy notification with a modern header (no claim: a session's)",
     NOTE("notifications/initialized", ""), M26, NONE, NONE, ALL, RTR_ERA_LEGACY, 0, 0, 0, NULL},
    {"a response is always legacy", "{\"jsonrpc\":\"2.0\",\"id\":\"s1\",\"result\":{}}", M26, NONE,
     NONE, ALL, RTR_ERA_LEGACY, 0, 0, 0, NULL},
    {"_meta without a claim, no modern header", REQ("tools/list", "\"_meta\":{" CC ":{}}"), NONE,
     NONE, NONE, ALL, RTR_ERA_LEGACY, 0, 0, 0, NULL},
    /* row 4 */
    {"row 4: clientCapabilities missing", REQ("server/discover", "\"_meta\":{" PV ":\"" M26 "\"}"),
     M26, "server/discover", NONE, ALL, RTR_ERA_REJECT, 4, 400, -32602,
     "{\"envelope\":{\"key\":\"io.modelcontextprotocol/clientCapabilities\",\"problem\":"
     "\"missing\"}}"},
    {"row 4: clientCapabilities not an object",
     REQ("server/discover", "\"_meta\":{" PV ":\"" M26 "\"," CC ":[]}"), M26, "server/discover",
     NONE, ALL, RTR_ERA_REJECT, 4, 400, -32602,
     "{\"envelope\":{\"key\":\"io.modelcontextprotocol/clientCapabilities\",\"problem\":"
     "\"invalid\"}}"},
    {"row 4: protocolVersion not a string",
     REQ("tools/list", "\"_meta\":{" PV ":20260728," CC ":{}}"), M26, "tools/list", NONE, ALL,
     RTR_ERA_REJECT, 4, 400, -32602,
     "{\"envelope\":{\"key\":\"io.modelcontextprotocol/"
     "protocolVersion\",\"problem\":\"invalid\"}}"},
    {"row 4: clientInfo without version",
     REQ("tools/list", "\"_meta\":{" PV ":\"" M26 "\"," CC ":{}," CI ":{\"name\":\"x\"}}"), M26,
     "tools/list", NONE, ALL, RTR_ERA_REJECT, 4, 400, -32602, NULL},
    {"row 4: logLevel not a level",
     REQ("tools/list", "\"_meta\":{" PV ":\"" M26 "\"," CC ":{}," LL ":\"loud\"}"), M26,
     "tools/list", NONE, ALL, RTR_ERA_REJECT, 4, 400, -32602,
     "{\"envelope\":{\"key\":\"io.modelcontextprotocol/logLevel\",\"problem\":\"invalid\"}}"},
    {"clientInfo is optional, logLevel a level",
     REQ("server/discover", "\"_meta\":{" PV ":\"" M26 "\"," CC ":{}," LL ":\"warning\"}"), M26,
     "server/discover", NONE, 0, RTR_ERA_MODERN, 0, 0, 0, NULL},
    /* row 5 */
    {"row 5: modern header, params {}", REQ("server/discover", ""), M26, "server/discover", NONE,
     ALL, RTR_ERA_REJECT, 5, 400, -32602, "{\"envelope\":{\"missing\":[\"_meta\"]}}"},
    {"row 5: modern header, no params",
     "{\"jsonrpc\":\"2.0\",\"id\":101,\"method\":\"server/discover\"}", M26, "server/discover",
     NONE, ALL, RTR_ERA_REJECT, 5, 400, -32602, "{\"envelope\":{\"missing\":[\"_meta\"]}}"},
    {"row 5: _meta without protocolVersion", REQ("server/discover", "\"_meta\":{" CC ":{}}"), M26,
     "server/discover", NONE, ALL, RTR_ERA_REJECT, 5, 400, -32602,
     "{\"envelope\":{\"missing\":[\"io.modelcontextprotocol/protocolVersion\"]}}"},
    {"row 5: a later revision's header is modern too", REQ("tools/list", ""), "2027-01-01", NONE,
     NONE, ALL, RTR_ERA_REJECT, 5, 400, -32602, NULL},
    /* row 6 */
    {"row 6: initialize with a modern header",
     REQ("initialize", "\"protocolVersion\":\"2025-11-25\""), M26, NONE, NONE, ALL, RTR_ERA_REJECT,
     6, 400, -32020,
     "{\"mismatch\":{\"header\":\"MCP-Protocol-Version\",\"value\":\"2026-07-28\"}}"},
    /* row 7 */
    {"row 7: header 2025, claim 2026", REQ("tools/list", META), "2025-11-25", "tools/list", NONE,
     ALL, RTR_ERA_REJECT, 7, 400, -32020,
     "{\"mismatch\":{\"header\":\"MCP-Protocol-Version\",\"value\":\"2025-11-25\",\"body\":"
     "\"2026-07-28\"}}"},
    {"row 7 before row 9: header 2026, claim v999",
     REQ("tools/list", "\"_meta\":{" PV ":\"v999.0.0\"," CC ":{}}"), M26, "tools/list", NONE, ALL,
     RTR_ERA_REJECT, 7, 400, -32020, NULL},
    {"whitespace around header values", REQ("tools/list", META), " \t2026-07-28 ", "\ttools/list ",
     NONE, ALL, RTR_ERA_MODERN, 0, 0, 0, NULL},
    /* row 8 */
    {"row 8: Mcp-Method differs", REQ("tools/list", META), M26, "tools/call", NONE, ALL,
     RTR_ERA_REJECT, 8, 400, -32020,
     "{\"mismatch\":{\"header\":\"Mcp-Method\",\"value\":\"tools/call\",\"body\":\"tools/list\"}}"},
    {"row 8: a header of bytes that are not UTF-8 is echoed as JSON", REQ("tools/list", META), M26,
     "tool\x8d\xd0s", NONE, ALL, RTR_ERA_REJECT, 8, 400, -32020,
     "{\"mismatch\":{\"header\":\"Mcp-Method\",\"value\":\"tool??s\",\"body\":\"tools/list\"}}"},
    {"row 8: values are case-sensitive", REQ("tools/call", META ",\"name\":\"echo\""), M26,
     "Tools/call", "echo", ALL, RTR_ERA_REJECT, 8, 400, -32020, NULL},
    /* row 9 */
    {"row 9: v999 in both", REQ("tools/list", "\"_meta\":{" PV ":\"v999.0.0\"," CC ":{}}"),
     "v999.0.0", "tools/list", NONE, ALL, RTR_ERA_REJECT, 9, 400, -32022,
     "{\"supported\":[\"2026-07-28\"],\"requested\":\"v999.0.0\"}"},
    {"row 9: a 2025 revision inside _meta",
     REQ("tools/list", "\"_meta\":{" PV ":\"2025-11-25\"," CC ":{}}"), "2025-11-25", "tools/list",
     NONE, ALL, RTR_ERA_REJECT, 9, 400, -32022,
     "{\"supported\":[\"2026-07-28\"],\"requested\":\"2025-11-25\"}"},
    /* rows 10, 11 */
    {"row 10: no MCP-Protocol-Version", REQ("tools/list", META), NONE, "tools/list", NONE, ALL,
     RTR_ERA_REJECT, 10, 400, -32020,
     "{\"mismatch\":{\"header\":\"MCP-Protocol-Version\",\"value\":\"(missing)\"}}"},
    {"row 11: no Mcp-Method", REQ("tools/list", META), M26, NONE, NONE, ALL, RTR_ERA_REJECT, 11,
     400, -32020, "{\"mismatch\":{\"header\":\"Mcp-Method\",\"value\":\"(missing)\"}}"},
    /* rows 12-14 */
    {"row 12: tools/call without Mcp-Name", REQ("tools/call", META ",\"name\":\"echo\""), M26,
     "tools/call", NONE, ALL, RTR_ERA_REJECT, 12, 400, -32020,
     "{\"mismatch\":{\"header\":\"Mcp-Name\",\"value\":\"(missing)\"}}"},
    {"row 12: resources/read without Mcp-Name", REQ("resources/read", META ",\"uri\":\"a://b\""),
     M26, "resources/read", NONE, ALL, RTR_ERA_REJECT, 12, 400, -32020, NULL},
    {"tools/call without a string name needs no Mcp-Name", REQ("tools/call", META ",\"name\":5"),
     M26, "tools/call", NONE, ALL, RTR_ERA_MODERN, 0, 0, 0, NULL},
    {"row 13: bad base64", REQ("tools/call", META ",\"name\":\"echo\""), M26, "tools/call",
     "=?base64?ZWNobw?=", ALL, RTR_ERA_REJECT, 13, 400, -32020, NULL},
    {"row 13: a control character", REQ("prompts/get", META ",\"name\":\"echo\""), M26,
     "prompts/get", "ec\x01ho", ALL, RTR_ERA_REJECT, 13, 400, -32020, NULL},
    {"row 14: Mcp-Name differs", REQ("tools/call", META ",\"name\":\"echo\""), M26, "tools/call",
     "echo2", ALL, RTR_ERA_REJECT, 14, 400, -32020,
     "{\"mismatch\":{\"header\":\"Mcp-Name\",\"value\":\"echo2\",\"body\":\"echo\"}}"},
    {"row 14: the URI differs", REQ("resources/read", META ",\"uri\":\"a://b\""), M26,
     "resources/read", "a://c", ALL, RTR_ERA_REJECT, 14, 400, -32020, NULL},
    {"Mcp-Name base64 matches", REQ("tools/call", META ",\"name\":\"echo\""), M26, "tools/call",
     "=?base64?ZWNobw==?=", ALL, RTR_ERA_MODERN, 0, 0, 0, NULL},
    {"Mcp-Name with whitespace matches", REQ("tools/call", META ",\"name\":\"echo\""), M26,
     "tools/call", "  echo ", ALL, RTR_ERA_MODERN, 0, 0, 0, NULL},
    {"Mcp-Name of an escaped name", REQ("tools/call", META ",\"name\":\"caf\\u00e9\""), M26,
     "tools/call", "=?base64?Y2Fmw6k=?=", ALL, RTR_ERA_MODERN, 0, 0, 0, NULL},
    {"Mcp-Name of a resource URI", REQ("resources/read", META ",\"uri\":\"file:///a b\""), M26,
     "resources/read", "file:///a b", ALL, RTR_ERA_MODERN, 0, 0, 0, NULL},
    /* row 15 */
    {"row 15: initialize with a claim", REQ("initialize", META), M26, "initialize", NONE, ALL,
     RTR_ERA_REJECT, 15, 404, -32601, NULL},
    {"row 15: ping", REQ("ping", META), M26, "ping", NONE, ALL, RTR_ERA_REJECT, 15, 404, -32601,
     NULL},
    {"row 15: logging/setLevel", REQ("logging/setLevel", META ",\"level\":\"info\""), M26,
     "logging/setLevel", NONE, ALL, RTR_ERA_REJECT, 15, 404, -32601, NULL},
    {"row 15: resources/subscribe", REQ("resources/subscribe", META ",\"uri\":\"a://b\""), M26,
     "resources/subscribe", NONE, ALL, RTR_ERA_REJECT, 15, 404, -32601, NULL},
    {"row 15: tasks/get (no tasks extension)", REQ("tasks/get", META ",\"taskId\":\"t\""), M26,
     "tasks/get", NONE, ALL, RTR_ERA_REJECT, 15, 404, -32601, NULL},
    {"row 15: unknown/method", REQ("unknown/method", META), M26, "unknown/method", NONE, ALL,
     RTR_ERA_REJECT, 15, 404, -32601, NULL},
    /* row 16 */
    {"row 16: prompts/list not advertised", REQ("prompts/list", META), M26, "prompts/list", NONE,
     RTR_OFFERS_RESOURCES, RTR_ERA_REJECT, 16, 404, -32601, NULL},
    {"row 16: resources/templates/list not advertised", REQ("resources/templates/list", META), M26,
     "resources/templates/list", NONE, RTR_OFFERS_PROMPTS, RTR_ERA_REJECT, 16, 404, -32601, NULL},
    {"row 16: completion/complete not advertised", REQ("completion/complete", META), M26,
     "completion/complete", NONE, RTR_OFFERS_PROMPTS | RTR_OFFERS_RESOURCES, RTR_ERA_REJECT, 16,
     404, -32601, NULL},
    {"tools/list always", REQ("tools/list", META), M26, "tools/list", NONE, 0, RTR_ERA_MODERN, 0, 0,
     0, NULL},
    {"prompts/list when advertised", REQ("prompts/list", META), M26, "prompts/list", NONE,
     RTR_OFFERS_PROMPTS, RTR_ERA_MODERN, 0, 0, 0, NULL},
    /* row 22 */
    {"row 22: a notification needs no header",
     NOTE("notifications/cancelled", META ",\"requestId\":1"), NONE, NONE, NONE, ALL,
     RTR_ERA_ACCEPTED, 22, 202, 0, NULL},
    {"row 22: the v2 client's cancel (no Mcp-Method)",
     NOTE("notifications/cancelled", META ",\"requestId\":\"listen:0\""), M26, NONE, NONE, ALL,
     RTR_ERA_ACCEPTED, 22, 202, 0, NULL},
    {"row 22: but a mismatching one is -32020", NOTE("notifications/cancelled", META), "2025-11-25",
     NONE, NONE, ALL, RTR_ERA_REJECT, 7, 400, -32020, NULL},
    {"row 22: a mismatching Mcp-Method too", NOTE("notifications/cancelled", META), NONE,
     "notifications/initialized", NONE, ALL, RTR_ERA_REJECT, 8, 400, -32020, NULL},
    {"row 22: a notification's envelope is not checked",
     NOTE("notifications/roots/list_changed", "\"_meta\":{" PV ":\"" M26 "\"}"), NONE, NONE, NONE,
     ALL, RTR_ERA_ACCEPTED, 22, 202, 0, NULL},
};

static gw_str_t header(const char *v)
{
    return strcmp(v, NONE) == 0 ? GW_STR_NULL : (gw_str_t){v, strlen(v)};
}

static void test_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const era_case_t *c = &cases[i];
        gw_rpc_t rpc;
        assert_int_equal(gw_rpc_scan(c->body, strlen(c->body), 0, &rpc), GW_OK);
        if (rpc.kind == GW_MSG_INVALID) {
            fail_msg("%s: the body is invalid (%s)", c->what, rpc.invalid_reason);
        }
        rtr_era_in_t in = {.body = c->body,
                           .len = strlen(c->body),
                           .rpc = &rpc,
                           .protocol_version = header(c->pv),
                           .mcp_method = header(c->method),
                           .mcp_name = header(c->name),
                           .offers = c->offers};
        rtr_era_verdict_t v;
        assert_int_equal(rtr_era_decide(&in, &v), GW_OK);
        if (v.era != c->era || v.row != c->row ||
            (c->era == RTR_ERA_REJECT && (v.status != c->status || v.code != c->code)) ||
            (c->era == RTR_ERA_ACCEPTED && v.status != 202)) {
            fail_msg(
                "%s: era %d row %u status %u code %d (%s), want era %d row %u status %u code %d",
                c->what, v.era, v.row, v.status, v.code, v.message.data ? v.message.data : "",
                c->era, c->row, c->status, c->code);
        }
        if (c->era == RTR_ERA_REJECT) {
            assert_non_null(v.message.data);
        }
        if (c->data != NULL && (v.data.data == NULL || strcmp(v.data.data, c->data) != 0)) {
            fail_msg("%s: data %s, want %s", c->what, v.data.data ? v.data.data : "(none)",
                     c->data);
        }
        rtr_era_verdict_fini(&v);
    }
}

static void test_header_is_modern(void **state)
{
    (void)state;
    assert_true(rtr_era_header_is_modern(GW_STR("2026-07-28")));
    assert_true(rtr_era_header_is_modern(GW_STR(" 2026-07-28\t")));
    assert_true(rtr_era_header_is_modern(GW_STR("2030-01-01")));
    assert_false(rtr_era_header_is_modern(GW_STR("2025-11-25")));
    assert_false(rtr_era_header_is_modern(GW_STR("2026-07-27")));
    assert_false(rtr_era_header_is_modern(GW_STR("garbage")));
    assert_false(rtr_era_header_is_modern(GW_STR("v999.0.0")));
    assert_false(rtr_era_header_is_modern(GW_STR("2026-07-28x")));
    assert_false(rtr_era_header_is_modern(GW_STR("")));
}

/* The messages name the row's subject, for a client's log. */
static void test_messages(void **state)
{
    (void)state;
    const char *b = REQ("tools/call", META ",\"name\":\"echo\"");
    gw_rpc_t rpc;
    assert_int_equal(gw_rpc_scan(b, strlen(b), 0, &rpc), GW_OK);
    rtr_era_in_t in = {.body = b,
                       .len = strlen(b),
                       .rpc = &rpc,
                       .protocol_version = GW_STR(M26),
                       .mcp_method = GW_STR("tools/call"),
                       .mcp_name = GW_STR("nope"),
                       .offers = ALL};
    rtr_era_verdict_t v;
    assert_int_equal(rtr_era_decide(&in, &v), GW_OK);
    assert_string_equal(v.message.data,
                        "Header mismatch: Mcp-Name 'nope' does not match params.name 'echo'");
    rtr_era_verdict_fini(&v);
    in.mcp_name = GW_STR_NULL;
    in.mcp_method = GW_STR(" tools/list");
    assert_int_equal(rtr_era_decide(&in, &v), GW_OK);
    assert_string_equal(
        v.message.data,
        "Header mismatch: Mcp-Method 'tools/list' does not match method 'tools/call'");
    rtr_era_verdict_fini(&v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_header_is_modern),
        cmocka_unit_test(test_messages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
