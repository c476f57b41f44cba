/* jsonrpc_modern_test.c: unit tests of what the scanner records of a 2026-07-28 envelope: the
 * _meta claim and its spans, the capability bits, repeated keys, and the params spans. */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/buf.h"
#include "common/jsonrpc.h"
#include "common/jsonrpc_assert.h"
#include "common/mcp.h"

#define META_PV "\"io.modelcontextprotocol/protocolVersion\""
#define META_CC "\"io.modelcontextprotocol/clientCapabilities\""
#define META_CI "\"io.modelcontextprotocol/clientInfo\""
#define META_LL "\"io.modelcontextprotocol/logLevel\""
#define META_SUB "\"io.modelcontextprotocol/subscriptionId\""

static void test_modern_meta(void **state)
{
    (void)state;
    gw_rpc_t r;
    const char *b =
        "{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"method\":\"tools/"
        "list\",\"params\":{\"_meta\":{" META_PV ":\"2026-07-28\"," META_CC
        ":{\"sampling\":{\"tools\":{}},"
        "\"elicitation\":{\"form\":{},\"url\":{}},\"roots\":{\"listChanged\":true}}," META_CI
        ":{\"name\":\"c\",\"version\":\"1\"}," META_LL ":\"debug\"," META_SUB ":7}}}";
    assert_int_equal(jt_scan(b, &r), GW_OK);
    assert_int_equal(r.kind, GW_MSG_REQUEST);
    assert_true(r.meta_claim);
    jt_assert_span(b, r.meta_protocol_version, "\"2026-07-28\"");
    assert_string_equal(r.meta_protocol_version_str, "2026-07-28");
    jt_assert_span(b, r.meta_client_capabilities,
                   "{\"sampling\":{\"tools\":{}},\"elicitation\":{\"form\":{},\"url\":{}},"
                   "\"roots\":{\"listChanged\":true}}");
    assert_int_equal(r.meta_caps, GW_CAP_SAMPLING | GW_CAP_SAMPLING_TOOLS | GW_CAP_ELICITATION |
                                      GW_CAP_ELICITATION_URL | GW_CAP_ROOTS);
    assert_int_equal(r.caps, 0); /* initialize's params.capabilities only */
    jt_assert_span(b, r.meta_client_info, "{\"name\":\"c\",\"version\":\"1\"}");
    assert_true(r.meta_client_info_ok);
    jt_assert_span(b, r.meta_log_level, "\"debug\"");
    assert_string_equal(r.meta_log_level_str, "debug");
    jt_assert_span(b, r.meta_subscription_id, "7");
    assert_int_equal(r.meta.off, strstr(b, "{\"io.") - b);
    assert_int_equal(b[r.meta.off + r.meta.len - 1], '}');
    assert_int_equal(b[r.meta.off + r.meta.len], '}');

    /* a claim of any type is a claim; wrong types keep their raw spans for the checks */
    b = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"server/"
        "discover\",\"params\":{\"_meta\":{" META_PV ":5," META_CC ":true," META_CI
        ":{\"name\":\"c\"}," META_LL ":null}}}";
    assert_int_equal(jt_scan(b, &r), GW_OK);
    assert_true(r.meta_claim);
    jt_assert_span(b, r.meta_protocol_version, "5");
    assert_string_equal(r.meta_protocol_version_str, "");
    jt_assert_span(b, r.meta_client_capabilities, "true");
    assert_int_equal(r.meta_caps, 0);
    assert_false(r.meta_client_info_ok); /* no version */
    jt_assert_span(b, r.meta_log_level, "null");
    jt_assert_span(b, r.meta_protocol_version, "5");

    b = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\",\"params\":{\"_meta\":{" META_PV
        ":false," META_CI ":{\"name\":1,\"version\":\"1\"}}}}";
    assert_int_equal(jt_scan(b, &r), GW_OK);
    jt_assert_span(b, r.meta_protocol_version, "false");
    assert_false(r.meta_client_info_ok);
    jt_assert_span(b, r.meta_client_capabilities, NULL);

    /* no claim: _meta without protocolVersion, the member outside _meta, _meta not an object */
    const char *no_claim[] = {
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\",\"params\":{\"_meta\":{" META_CC ":{}}}}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\",\"params\":{" META_PV ":\"2026-07-28\"}}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\",\"params\":{\"_meta\":[{" META_PV
        ":\"2026-07-28\"}]}}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\",\"params\":[{\"_meta\":{" META_PV
        ":\"2026-07-28\"}}]}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\",\"params\":{\"x\":{\"_meta\":{" META_PV
        ":\"2026-07-28\"}}}}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\",\"params\":{\"_meta\":{\"protocolVersion\":"
        "\"2026-07-28\"}}}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\",\"_meta\":{" META_PV ":\"2026-07-28\"}}",
    };
    for (size_t i = 0; i < sizeof(no_claim) / sizeof(no_claim[0]); i++) {
        assert_int_equal(jt_scan(no_claim[i], &r), GW_OK);
        if (r.meta_claim) {
            fail_msg("%s: taken for a claim", no_claim[i]);
        }
    }

    /* an escaped version is compared unescaped, echoed raw */
    b = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\",\"params\":{\"_meta\":{" META_PV
        ":\"2026\\u002d07-28\"}}}";
    assert_int_equal(jt_scan(b, &r), GW_OK);
    jt_assert_span(b, r.meta_protocol_version, "\"2026\\u002d07-28\"");
    assert_string_equal(r.meta_protocol_version_str, "2026-07-28");
}

/* A repeated envelope member is INVALID (the gateway must route on what the backend reads); a
 * repeated _meta starts over, as the backend's parser keeps the last one. */
static void test_modern_duplicates(void **state)
{
    (void)state;
    gw_rpc_t r;
    const char *dups[] = {
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\",\"params\":{\"_meta\":{" META_PV
        ":\"a\"," META_PV ":\"b\"}}}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\",\"params\":{\"_meta\":{" META_CC
        ":{}," META_CC ":{}}}}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\",\"params\":{\"_meta\":{" META_CI
        ":{}," META_CI ":{}}}}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\",\"params\":{\"_meta\":{" META_LL
        ":\"a\"," META_LL ":\"b\"}}}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\",\"params\":{\"_meta\":{" META_SUB
        ":1," META_SUB ":2}}}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\",\"params\":{\"arguments\":{},"
        "\"arguments\":{}}}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\",\"params\":{\"requestState\":\"a\","
        "\"requestState\":\"b\"}}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\",\"params\":{\"inputResponses\":{},"
        "\"inputResponses\":{}}}",
    };
    for (size_t i = 0; i < sizeof(dups) / sizeof(dups[0]); i++) {
        assert_int_equal(jt_scan(dups[i], &r), GW_OK);
        if (r.kind != GW_MSG_INVALID) {
            fail_msg("%s: kind %d, want INVALID", dups[i], r.kind);
        }
    }
    const char *b =
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\",\"params\":{\"_meta\":{" META_PV
        ":\"2026-07-28\"," META_CC ":{\"sampling\":{}}},\"_meta\":{" META_CC ":{\"roots\":{}}}}}";
    assert_int_equal(jt_scan(b, &r), GW_OK);
    assert_int_equal(r.kind, GW_MSG_REQUEST);
    assert_false(r.meta_claim);
    assert_int_equal(r.meta_caps, GW_CAP_ROOTS);
    jt_assert_span(b, r.meta_protocol_version, NULL);
    assert_string_equal(r.meta_protocol_version_str, "");
    jt_assert_span(b, r.meta_client_capabilities, "{\"roots\":{}}");
    /* the same member names in another container are not the envelope's */
    b = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\",\"params\":{\"arguments\":{\"_meta\":"
        "{" META_PV ":1," META_PV ":2},\"requestState\":1,\"requestState\":2}}}";
    assert_int_equal(jt_scan(b, &r), GW_OK);
    assert_int_equal(r.kind, GW_MSG_REQUEST);
    assert_false(r.meta_claim);
}

/* The MRTR retry's members and the call's arguments, by raw span. */
static void test_modern_params_spans(void **state)
{
    (void)state;
    gw_rpc_t r;
    const char *b = "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":"
                    "\"ask\",\"arguments\":{\"a\":[1,{\"b\":2}]},\"inputResponses\":{\"k\":{"
                    "\"action\":\"accept\"}},\"requestState\":\"v1.AA.BB\"}}";
    assert_int_equal(jt_scan(b, &r), GW_OK);
    assert_int_equal(r.kind, GW_MSG_REQUEST);
    jt_assert_span(b, r.arguments, "{\"a\":[1,{\"b\":2}]}");
    jt_assert_span(b, r.input_responses, "{\"k\":{\"action\":\"accept\"}}");
    jt_assert_span(b, r.request_state, "\"v1.AA.BB\"");
    jt_assert_span(b, r.name, "\"ask\"");
    b = "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"arguments\":[],"
        "\"requestState\":null}}";
    assert_int_equal(jt_scan(b, &r), GW_OK);
    jt_assert_span(b, r.arguments, "[]");
    jt_assert_span(b, r.request_state, "null");
    jt_assert_span(b, r.input_responses, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_modern_meta),
        cmocka_unit_test(test_modern_duplicates),
        cmocka_unit_test(test_modern_params_spans),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
