/* jsonrpc_write_test.c: unit tests of the JSON-RPC writers (common/jsonrpc_write.c): the prefix
 * splice and strip, and the error and result replies, each checked by scanning what they wrote. */
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

static void test_splice_prefix_strip(void **state)
{
    const char *b = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":"
                    "\"alpha_echo\",\"arguments\":{\"name\":\"alpha_x\"}}}";
    gw_rpc_t r;
    gw_buf_t out;

    assert_int_equal(jt_scan(b, &r), GW_OK);
    assert_string_equal(r.name_str, "alpha_echo");
    gw_buf_init(&out);
    assert_int_equal(
        gw_rpc_splice_string(&out, b, strlen(b), r.name, r.name_str + 6, strlen(r.name_str + 6)),
        GW_OK);
    assert_string_equal(out.data,
                        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":"
                        "{\"name\":\"echo\",\"arguments\":{\"name\":\"alpha_x\"}}}");
    /* the result scans to the new name */
    assert_int_equal(gw_rpc_scan(out.data, out.len, 0, &r), GW_OK);
    assert_string_equal(r.name_str, "echo");

    /* an escaped original is replaced as a whole, and the new string is escaped */
    b = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":"
        "\"\\u0061lpha_echo\"}}";
    assert_int_equal(jt_scan(b, &r), GW_OK);
    gw_buf_reset(&out);
    assert_int_equal(gw_rpc_splice_string(&out, b, strlen(b), r.name, "e\"c\n", 4), GW_OK);
    assert_string_equal(out.data, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\","
                                  "\"params\":{\"name\":\"e\\\"c\\n\"}}");

    /* id rewrite with a raw splice */
    gw_buf_reset(&out);
    assert_int_equal(gw_rpc_splice_raw(&out, b, strlen(b), r.id, "\"gw-17\"", 7), GW_OK);
    assert_string_equal(out.data, "{\"jsonrpc\":\"2.0\",\"id\":\"gw-17\",\"method\":\"tools/call\","
                                  "\"params\":{\"name\":\"\\u0061lpha_echo\"}}");

    /* absent or out-of-range spans are refused */
    gw_buf_reset(&out);
    assert_int_equal(gw_rpc_splice_raw(&out, b, strlen(b), r.uri, "1", 1), GW_EINVAL);
    gw_span_t past = {(uint32_t)strlen(b) - 1, 2};
    assert_int_equal(gw_rpc_splice_string(&out, b, strlen(b), past, "x", 1), GW_EINVAL);
    gw_span_t huge = {UINT32_MAX, UINT32_MAX};
    assert_int_equal(gw_rpc_splice_raw(&out, b, strlen(b), huge, "x", 1), GW_EINVAL);
    assert_int_equal(out.len, 0);
    gw_buf_fini(&out);
}

static void test_error_and_result(void **state)
{
    gw_buf_t out;

    gw_buf_init(&out);
    assert_int_equal(gw_rpc_error(&out, "7", 1, GW_RPC_METHOD_NOT_FOUND, "Method not found"),
                     GW_OK);
    assert_string_equal(out.data, "{\"jsonrpc\":\"2.0\",\"id\":7,\"error\":{\"code\":-32601,"
                                  "\"message\":\"Method not found\"}}");
    gw_buf_reset(&out);
    assert_int_equal(gw_rpc_error(&out, NULL, 0, GW_RPC_PARSE_ERROR, "Parse error"), GW_OK);
    assert_string_equal(out.data, "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32700,"
                                  "\"message\":\"Parse error\"}}");
    gw_buf_reset(&out);
    assert_int_equal(
        gw_rpc_error(&out, "\"a\"", 3, GW_RPC_INVALID_PARAMS, "Unknown tool: \"x\"\\y"), GW_OK);
    assert_string_equal(out.data, "{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"error\":{\"code\":-32602,"
                                  "\"message\":\"Unknown tool: \\\"x\\\"\\\\y\"}}");
    gw_buf_reset(&out);
    assert_int_equal(gw_rpc_result(&out, "\"a\"", 3, "{}", 2), GW_OK);
    assert_string_equal(out.data, "{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"result\":{}}");
    /* appends: two replies in one buffer */
    assert_int_equal(gw_rpc_result(&out, "1", 1, "{\"x\":[]}", 8), GW_OK);
    assert_string_equal(out.data, "{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"result\":{}}"
                                  "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"x\":[]}}");
    gw_buf_fini(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_splice_prefix_strip),
        cmocka_unit_test(test_error_and_result),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
