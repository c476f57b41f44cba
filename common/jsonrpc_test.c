/* jsonrpc_test.c: unit tests of the hot-path JSON-RPC scanner (classification, byte spans,
 * duplicate members, hostile input, deep nesting); its writers in jsonrpc_write_test.c, the
 * 2026-07-28 envelope in jsonrpc_modern_test.c. */
#include <config.h>

#include <pthread.h>
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

static void test_request(void **state)
{
    const char *b = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":"
                    "\"alpha_echo\",\"arguments\":{\"text\":\"hi\"}}}";
    gw_rpc_t r;

    assert_int_equal(jt_scan(b, &r), GW_OK);
    assert_int_equal(r.kind, GW_MSG_REQUEST);
    assert_null(r.invalid_reason);
    jt_assert_span(b, r.id, "1");
    assert_int_equal(r.id_is_null, 0);
    jt_assert_span(b, r.method, "\"tools/call\"");
    assert_string_equal(r.method_str, "tools/call");
    assert_int_equal(r.method_too_long, 0);
    jt_assert_span(b, r.params, "{\"name\":\"alpha_echo\",\"arguments\":{\"text\":\"hi\"}}");
    jt_assert_span(b, r.name, "\"alpha_echo\"");
    assert_string_equal(r.name_str, "alpha_echo");
    assert_int_equal(r.name_too_long, 0);
    jt_assert_span(b, r.uri, NULL);
    jt_assert_span(b, r.protocol_version, NULL);
    jt_assert_span(b, r.progress_token, NULL);
    assert_int_equal(r.caps, 0);
    assert_int_equal(r.has_result, 0);
    assert_int_equal(r.has_error, 0);
}

static void test_classification(void **state)
{
    jt_assert_kind("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}",
                   GW_MSG_NOTIFICATION);
    jt_assert_kind("{\"jsonrpc\":\"2.0\",\"method\":\"n\",\"params\":[1,2]}", GW_MSG_NOTIFICATION);
    jt_assert_kind("{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"method\":\"ping\"}", GW_MSG_REQUEST);
    jt_assert_kind("{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{}}", GW_MSG_RESPONSE);
    jt_assert_kind("{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":null}", GW_MSG_RESPONSE);
    jt_assert_kind("{\"jsonrpc\":\"2.0\",\"id\":3,\"error\":{\"code\":-1,\"message\":\"m\"}}",
                   GW_MSG_RESPONSE);
    jt_assert_kind(
        "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32700,\"message\":\"m\"}}",
        GW_MSG_RESPONSE);
    jt_assert_kind("[{\"jsonrpc\":\"2.0\",\"method\":\"a\"},{\"jsonrpc\":\"2.0\",\"id\":1}]",
                   GW_MSG_BATCH);
    jt_assert_kind("[]", GW_MSG_BATCH);
    jt_assert_kind(" [1, \"x\", null] ", GW_MSG_BATCH);
    /* unknown members are ignored */
    jt_assert_kind("{\"x\":{\"method\":1},\"jsonrpc\":\"2.0\",\"method\":\"m\",\"y\":[]}",
                   GW_MSG_NOTIFICATION);

    gw_rpc_t r;
    const char *b = "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":1,\"message\":\"\"}}";
    assert_int_equal(jt_scan(b, &r), GW_OK);
    assert_int_equal(r.id_is_null, 1);
    jt_assert_span(b, r.id, "null");
    /* ... so that the reply to a backend's transport error can carry the client's id */
    gw_buf_t out;
    gw_buf_init(&out);
    assert_int_equal(gw_rpc_splice_raw(&out, b, strlen(b), r.id, "\"c-1\"", 5), GW_OK);
    assert_string_equal(
        out.data, "{\"jsonrpc\":\"2.0\",\"id\":\"c-1\",\"error\":{\"code\":1,\"message\":\"\"}}");
    gw_buf_fini(&out);
    b = "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":1,\"message\":\"\"},\"id\" : null }";
    assert_int_equal(jt_scan(b, &r), GW_OK);
    assert_int_equal(r.kind, GW_MSG_RESPONSE);
    jt_assert_span(b, r.id, "null");
    assert_int_equal(r.has_error, 1);
    b = "{\"jsonrpc\":\"2.0\",\"id\":\"r1\",\"result\":{\"content\":[]}}";
    assert_int_equal(jt_scan(b, &r), GW_OK);
    assert_int_equal(r.has_result, 1);
    jt_assert_span(b, r.id, "\"r1\"");
}

static void test_invalid_messages(void **state)
{
    jt_assert_invalid("{\"id\":1,\"method\":\"m\"}", "jsonrpc must be \"2.0\"");
    jt_assert_invalid("{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"m\"}", "jsonrpc must be \"2.0\"");
    jt_assert_invalid("{\"jsonrpc\":2.0,\"id\":1,\"method\":\"m\"}", "jsonrpc must be \"2.0\"");
    jt_assert_invalid("{\"jsonrpc\":\"2.0 \",\"method\":\"m\"}", "jsonrpc must be \"2.0\"");
    jt_assert_invalid("{\"jsonrpc\":\"2.0\",\"id\":true,\"method\":\"m\"}",
                      "id must be a string or number");
    jt_assert_invalid("{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"m\"}",
                      "id must be a string or number");
    jt_assert_invalid("{\"jsonrpc\":\"2.0\",\"id\":[1],\"method\":\"m\"}",
                      "id must be a string or number");
    jt_assert_invalid("{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"m\"}",
                      "id must be a string or number");
    jt_assert_invalid("{\"jsonrpc\":\"2.0\",\"id\":null,\"result\":{}}",
                      "id must be a string or number");
    jt_assert_invalid("{\"jsonrpc\":\"2.0\",\"result\":{}}", "id must be a string or number");
    jt_assert_invalid("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":7}", "method must be a string");
    jt_assert_invalid("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":null}", "method must be a string");
    jt_assert_invalid("{\"jsonrpc\":\"2.0\",\"id\":1}", "method must be a string");
    jt_assert_invalid("{}", "jsonrpc must be \"2.0\"");
    jt_assert_invalid("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\",\"params\":\"x\"}",
                      "params must be an object or array");
    jt_assert_invalid("{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"params\":null}",
                      "params must be an object or array");
    jt_assert_invalid("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":1,\"error\":{}}",
                      "a response has either result or error");
    jt_assert_invalid("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\",\"result\":1}",
                      "a request has no result or error");
    jt_assert_invalid("{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":\"bad\"}",
                      "error must be an object");
    jt_assert_invalid("null", "not a JSON-RPC object");
    jt_assert_invalid("true", "not a JSON-RPC object");
    jt_assert_invalid("12", "not a JSON-RPC object");
    jt_assert_invalid("-1.5e3", "not a JSON-RPC object");
    jt_assert_invalid("\"str\"", "not a JSON-RPC object");
    jt_assert_invalid(" \t\r\n0\n", "not a JSON-RPC object");
}

static void test_id_spans(void **state)
{
    static const char *ids[] = {"1",
                                "0",
                                "-7",
                                "1.5",
                                "1e3",
                                "-2E-10",
                                "123456789012345678901234567890",
                                "\"\"",
                                "\"abc\"",
                                "\"a\\\"b\\\\\"",
                                "\"\\\\\"",
                                "\"\\u00e9\"",
                                "\"\xc3\xa9\""};
    char body[256];
    gw_rpc_t r;

    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        /* id in the middle, first and last, with spaces around */
        snprintf(body, sizeof(body), "{\"jsonrpc\":\"2.0\",\"id\": %s ,\"method\":\"m\"}", ids[i]);
        assert_int_equal(jt_scan(body, &r), GW_OK);
        assert_int_equal(r.kind, GW_MSG_REQUEST);
        jt_assert_span(body, r.id, ids[i]);
        snprintf(body, sizeof(body), "{\"id\":%s,\"jsonrpc\":\"2.0\",\"method\":\"m\"}", ids[i]);
        assert_int_equal(jt_scan(body, &r), GW_OK);
        jt_assert_span(body, r.id, ids[i]);
        snprintf(body, sizeof(body), "{\"jsonrpc\":\"2.0\",\"result\":{},\"id\":%s}", ids[i]);
        assert_int_equal(jt_scan(body, &r), GW_OK);
        assert_int_equal(r.kind, GW_MSG_RESPONSE);
        jt_assert_span(body, r.id, ids[i]);
    }
}

static void test_escaped_strings(void **state)
{
    const char *b = "{\"jsonrpc\":\"2.0\",\"id\":\"q\\\"\",\"method\":\"tools\\/call\","
                    "\"params\":{\"name\":\"\\u0061lpha_echo\",\"uri\":\"file:\\/\\/x\"}}";
    gw_rpc_t r;

    assert_int_equal(jt_scan(b, &r), GW_OK);
    assert_int_equal(r.kind, GW_MSG_REQUEST);
    jt_assert_span(b, r.id, "\"q\\\"\"");
    jt_assert_span(b, r.method, "\"tools\\/call\"");
    assert_string_equal(r.method_str, "tools/call");
    jt_assert_span(b, r.name, "\"\\u0061lpha_echo\"");
    assert_string_equal(r.name_str, "alpha_echo");
    jt_assert_span(b, r.uri, "\"file:\\/\\/x\"");

    /* a string ending in escaped backslashes, then a quote inside another string before it */
    b = "{\"a\":\"x\\\"\",\"method\":\"m\\\\\",\"jsonrpc\":\"2.0\"}";
    assert_int_equal(jt_scan(b, &r), GW_OK);
    jt_assert_span(b, r.method, "\"m\\\\\"");
    assert_string_equal(r.method_str, "m\\");
    b = "{\"method\":\"\\\"\",\"jsonrpc\":\"2.0\"}";
    assert_int_equal(jt_scan(b, &r), GW_OK);
    jt_assert_span(b, r.method, "\"\\\"\"");
    assert_string_equal(r.method_str, "\"");

    /* "tools/call\u0000x" must not be taken for tools/call */
    b = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\\u0000x\"}";
    assert_int_equal(jt_scan(b, &r), GW_OK);
    assert_int_equal(r.kind, GW_MSG_REQUEST);
    assert_int_equal(r.method_too_long, 1);
    assert_string_equal(r.method_str, "");
    b = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/"
        "call\",\"params\":{\"name\":\"a\\u0000\"}}";
    assert_int_equal(jt_scan(b, &r), GW_OK);
    assert_int_equal(r.name_too_long, 1);
    assert_string_equal(r.name_str, "");
}

static void test_member_order(void **state)
{
    /* jsonrpc last, params before method, id at the end */
    const char *b = "{\"params\":{\"_meta\":{\"progressToken\":\"pt-1\"},\"name\":\"beta_x\"},"
                    "\"method\":\"tools/call\",\"id\":\"z\",\"jsonrpc\":\"2.0\"}";
    gw_rpc_t r;

    assert_int_equal(jt_scan(b, &r), GW_OK);
    assert_int_equal(r.kind, GW_MSG_REQUEST);
    jt_assert_span(b, r.params, "{\"_meta\":{\"progressToken\":\"pt-1\"},\"name\":\"beta_x\"}");
    jt_assert_span(b, r.name, "\"beta_x\"");
    jt_assert_span(b, r.progress_token, "\"pt-1\"");
    jt_assert_span(b, r.method, "\"tools/call\"");
    jt_assert_span(b, r.id, "\"z\"");
}

static void test_initialize_fields(void **state)
{
    const char *b = "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{"
                    "\"protocolVersion\":\"2025-06-18\",\"capabilities\":{\"roots\":{"
                    "\"listChanged\":true},\"sampling\":{},\"experimental\":{\"elicitation\":{}}},"
                    "\"clientInfo\":{\"name\":\"c\",\"version\":\"1\"}}}";
    gw_rpc_t r;

    assert_int_equal(jt_scan(b, &r), GW_OK);
    assert_int_equal(r.kind, GW_MSG_REQUEST);
    jt_assert_span(b, r.protocol_version, "\"2025-06-18\"");
    assert_int_equal(r.caps, GW_CAP_ROOTS | GW_CAP_SAMPLING);
    /* clientInfo.name is not params.name */
    jt_assert_span(b, r.name, NULL);

    b = "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{\"capabilities\":{"
        "\"elicitation\":{\"form\":{}},\"roots\":{},\"sampling\":{}}}}";
    assert_int_equal(jt_scan(b, &r), GW_OK);
    assert_int_equal(r.caps, GW_CAP_ROOTS | GW_CAP_SAMPLING | GW_CAP_ELICITATION);

    /* capabilities outside params, or params as an array, declare nothing */
    b = "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"capabilities\":{\"roots\":{}},"
        "\"params\":[{\"capabilities\":{\"roots\":{}}},{\"name\":\"n\"}]}";
    assert_int_equal(jt_scan(b, &r), GW_OK);
    assert_int_equal(r.caps, 0);
    jt_assert_span(b, r.name, NULL);
    jt_assert_span(b, r.params, "[{\"capabilities\":{\"roots\":{}}},{\"name\":\"n\"}]");
}

static void test_progress_token(void **state)
{
    const char *b = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":"
                    "\"t\",\"_meta\":{\"other\":1,\"progressToken\":-42},\"arguments\":{\"_meta\":"
                    "{\"progressToken\":\"inner\"}}}}";
    gw_rpc_t r;

    assert_int_equal(jt_scan(b, &r), GW_OK);
    jt_assert_span(b, r.progress_token, "-42");
    b = "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{\"_meta\":{"
        "\"progressToken\":{\"x\":1}}}}";
    assert_int_equal(jt_scan(b, &r), GW_OK);
    jt_assert_span(b, r.progress_token, NULL);
    b = "{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"_meta\":{\"progressToken\":1}}";
    assert_int_equal(jt_scan(b, &r), GW_OK);
    jt_assert_span(b, r.progress_token, NULL);
}

/* notifications/cancelled names the request it cancels: a string or a number, raw; a repeated
 * member, or one of another type, names none (the gateway cannot know which one the backend
 * reads). */
static void test_cancelled_request_id(void **state)
{
    static const struct {
        const char *params;
        const char *want;
    } cases[] = {
        {"{\"requestId\":\"r-\\u0037\",\"reason\":\"user\"}", "\"r-\\u0037\""},
        {"{\"reason\":\"x\",\"requestId\":-12}", "-12"},
        {"{\"requestId\":1,\"requestId\":2}", NULL},
        {"{\"requestId\":{\"requestId\":1}}", NULL},
        {"{\"requestId\":true}", NULL},
    };
    char b[256];
    gw_rpc_t r;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(b, sizeof(b),
                 "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":%s}",
                 cases[i].params);
        assert_int_equal(jt_scan(b, &r), GW_OK);
        assert_int_equal(r.kind, GW_MSG_NOTIFICATION);
        jt_assert_span(b, r.request_id, cases[i].want);
    }
}

static void test_completion_ref(void **state)
{
    gw_rpc_t r;
    const char *prompt = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"completion/complete\","
                         "\"params\":{\"argument\":{\"name\":\"a\",\"value\":\"x\"},"
                         "\"ref\":{\"type\":\"ref/prompt\",\"name\":\"ev1_simple\"}}}";
    assert_int_equal(jt_scan(prompt, &r), GW_OK);
    jt_assert_span(prompt, r.ref_name, "\"ev1_simple\"");
    assert_string_equal(r.ref_name_str, "ev1_simple");
    assert_int_equal(r.ref_uri.len, 0);
    assert_int_equal(r.name.len, 0); /* argument.name is not params.name */

    const char *res = "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"completion/complete\","
                      "\"params\":{\"ref\":{\"type\":\"ref/resource\",\"uri\":\"test://x/{id}\"}}}";
    assert_int_equal(jt_scan(res, &r), GW_OK);
    jt_assert_span(res, r.ref_uri, "\"test://x/{id}\"");
    assert_int_equal(r.ref_name.len, 0);

    jt_assert_invalid("{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"completion/complete\","
                      "\"params\":{\"ref\":{\"name\":\"a\",\"name\":\"b\"}}}",
                      "duplicate member");
}

static void test_task_id_and_cursor(void **state)
{
    gw_rpc_t r;
    const char *get = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tasks/get\","
                      "\"params\":{\"_meta\":{\"taskId\":\"no\"},\"taskId\":\"mcpgw:ev1:abc\"}}";
    assert_int_equal(jt_scan(get, &r), GW_OK);
    jt_assert_span(get, r.task_id, "\"mcpgw:ev1:abc\"");
    assert_int_equal(r.cursor.len, 0);
    const char *list = "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tasks/list\","
                       "\"params\":{\"cursor\":\"mcpgw:ev2:\"}}";
    assert_int_equal(jt_scan(list, &r), GW_OK);
    jt_assert_span(list, r.cursor, "\"mcpgw:ev2:\"");
    assert_int_equal(r.task_id.len, 0);
    jt_assert_invalid("{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tasks/get\","
                      "\"params\":{\"taskId\":\"a\",\"taskId\":\"b\"}}",
                      "duplicate member");
    jt_assert_invalid("{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tasks/list\","
                      "\"params\":{\"cursor\":\"a\",\"cursor\":\"b\"}}",
                      "duplicate member");
}

static void test_duplicate_members(void **state)
{
    static const char *dups[] = {
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"id\":2,\"method\":\"m\"}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\",\"method\":\"tools/call\"}",
        "{\"jsonrpc\":\"2.0\",\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\"}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\",\"params\":{},\"params\":{}}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{},\"result\":{}}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{},\"error\":{}}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"a_x\","
        "\"name\":\"b_x\"}}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"resources/read\",\"params\":{\"uri\":\"a\","
        "\"x\":1,\"uri\":\"b\"}}",
        /* an escaped spelling is the same member */
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\",\"m\\u0065thod\":\"tools/call\"}",
    };
    for (size_t i = 0; i < sizeof(dups) / sizeof(dups[0]); i++) {
        jt_assert_invalid(dups[i], "duplicate member");
    }
    /* repeats elsewhere are the backend's business */
    jt_assert_kind(
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"a\","
        "\"arguments\":{\"name\":1,\"name\":2}},\"x\":1,\"x\":2}",
        GW_MSG_REQUEST);
    /* a method named like a member is not a member */
    jt_assert_kind("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"id\"}", GW_MSG_REQUEST);
}

static void test_too_long(void **state)
{
    char body[1024], name[GW_RPC_NAME_MAX + 2];
    gw_rpc_t r;

    memset(name, 'n', sizeof(name));
    name[GW_RPC_NAME_MAX] = '\0';
    snprintf(body, sizeof(body),
             "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"%s\",\"params\":{\"name\":\"%s\"}}", name,
             name);
    assert_int_equal(jt_scan(body, &r), GW_OK);
    assert_int_equal(r.kind, GW_MSG_REQUEST);
    assert_int_equal(r.name_too_long, 0);
    assert_int_equal(r.method_too_long, 0);
    assert_string_equal(r.name_str, name);
    assert_string_equal(r.method_str, name);

    name[GW_RPC_NAME_MAX] = 'n';
    name[GW_RPC_NAME_MAX + 1] = '\0';
    snprintf(body, sizeof(body),
             "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"%s\",\"params\":{\"name\":\"%s\"}}", name,
             name);
    assert_int_equal(jt_scan(body, &r), GW_OK);
    assert_int_equal(r.kind, GW_MSG_REQUEST);
    assert_int_equal(r.name_too_long, 1);
    assert_int_equal(r.method_too_long, 1);
    assert_string_equal(r.name_str, "");
    assert_string_equal(r.method_str, "");
    assert_int_equal(r.name.len, GW_RPC_NAME_MAX + 3);
    snprintf(body, sizeof(body), "{\"jsonrpc\":\"2.0\",\"method\":\"%s\"}", name);
    assert_int_equal(jt_scan(body, &r), GW_OK);
    assert_int_equal(r.kind, GW_MSG_NOTIFICATION);
    assert_int_equal(r.method_too_long, 1);
}

static void test_parse_errors(void **state)
{
    static const char *bad[] = {
        "",
        " ",
        "\n\t ",
        "{",
        "}",
        "{\"jsonrpc\":\"2.0\",}",
        "{\"jsonrpc\":\"2.0\" \"id\":1}",
        "{'jsonrpc':'2.0'}",
        "{\"jsonrpc\":\"2.0\",\"id\":01,\"method\":\"m\"}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\"} x",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\"}{}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\"}]",
        "[1,]",
        "nul",
        "1 2",
        "{\"a\":\"\t\"}",
        "{\"a\":\"\\x\"}",
        "{\"a\":NaN}",
        "{\"a\":.5}",
        "{\"a\":1.}",
        /* invalid UTF-8: a stray continuation byte, truncated sequences, a 5-byte form, and
         * one in a key */
        "{\"jsonrpc\":\"2.0\",\"method\":\"\x80\"}",
        "{\"jsonrpc\":\"2.0\",\"method\":\"\xc3\"}",
        "{\"jsonrpc\":\"2.0\",\"method\":\"\xe2\x82\"}",
        "{\"jsonrpc\":\"2.0\",\"method\":\"\xf8\x88\x80\x80\x80\"}",
        "{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"\xff\":1}",
    };
    gw_rpc_t r;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (jt_scan(bad[i], &r) != GW_EPARSE) {
            fail_msg("case %zu '%s' is not a parse error", i, bad[i]);
        }
        assert_int_equal(r.kind, GW_MSG_INVALID);
    }
    /* a NUL inside the body is not JSON either */
    assert_int_equal(gw_rpc_scan("{\"a\":1}\0", 8, 0, &r), GW_EPARSE);
    assert_int_equal(gw_rpc_scan("{\"a\":\"\0\"}", 8, 0, &r), GW_EPARSE);
    assert_int_equal(gw_rpc_scan(NULL, 0, 0, &r), GW_EPARSE);
    /* trailing whitespace is fine */
    jt_assert_kind("{\"jsonrpc\":\"2.0\",\"method\":\"m\"}\r\n \t", GW_MSG_NOTIFICATION);
}

/* UTF-8 that yajl's own check lets through but RFC 3629 forbids: overlong forms, surrogates and
 * code points above U+10FFFF, in values and in keys, and at the very end of the body. Found by
 * tests/fuzz/fuzz_jsonrpc (the gateway answered them 200 and passed them on to backends). */
static void test_strict_utf8(void **state)
{
    static const char *bad[] = {
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":{\"x\":\"\xc0\xaf\"}}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":{\"x\":\"\xc1\xbf\"}}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":{\"x\":\"\xe0\x80\xaf\"}}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":{\"x\":\"\xed\xa0\x80\"}}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":{\"x\":\"\xed\xbf\xbf\"}}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":{\"x\":\"\xf0\x80\x80\xaf\"}"
        "}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":{\"x\":\"\xf4\x90\x80\x80\"}"
        "}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":{\"x\":\"\xf5\x80\x80\x80\"}"
        "}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"\xed\xa0\x80\":1}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/"
        "call\",\"params\":{\"name\":\"a\xc0\x80\"}}",
    };
    gw_rpc_t r;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (jt_scan(bad[i], &r) != GW_EPARSE) {
            fail_msg("case %zu is not a parse error", i);
        }
    }
    /* the edges that are valid: U+0080, U+07FF, U+0800, U+D7FF, U+E000, U+FFFF, U+10000,
     * U+10FFFF, each also as the last bytes before the closing quote */
    jt_assert_kind(
        "{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"params\":{\"x\":\"\xc2\x80\xdf\xbf"
        "\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbf\xf0\x90\x80\x80\xf4\x8f\xbf\xbf\"}}",
        GW_MSG_NOTIFICATION);
    /* more than eight bytes of ASCII before and after a multi-byte character */
    jt_assert_kind("{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"params\":{\"text\":\"abcdefghij"
                   "\xc3\xa9klmnopqrstu\"}}",
                   GW_MSG_NOTIFICATION);
}

/* A lone low surrogate escape is valid JSON, but yajl unescapes it into surrogate bytes (ED B0
 * 80), which are not UTF-8: such a name or method must not match, be spliced into what goes to a
 * backend, or be echoed in an "Unknown tool" reply. Found by tests/fuzz/fuzz_jsonrpc. */
static void test_escaped_surrogate_never_routed(void **state)
{
    gw_rpc_t r;
    const char *b = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{"
                    "\"name\":\"alpha_\\udc00\"}}";
    assert_int_equal(jt_scan(b, &r), GW_OK);
    assert_int_equal(r.kind, GW_MSG_REQUEST);
    assert_int_equal(r.name_too_long, 1);
    assert_string_equal(r.name_str, "");
    assert_int_equal(r.name.len, strlen("\"alpha_\\udc00\""));

    b = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/c\\udc00all\"}";
    assert_int_equal(jt_scan(b, &r), GW_OK);
    assert_int_equal(r.method_too_long, 1);
    assert_string_equal(r.method_str, "");

    b = "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"completion/complete\",\"params\":{\"ref\":{"
        "\"type\":\"ref/prompt\",\"name\":\"\\udfff\"}}}";
    assert_int_equal(jt_scan(b, &r), GW_OK);
    assert_int_equal(r.ref_name_too_long, 1);
    assert_string_equal(r.ref_name_str, "");

    /* a proper surrogate pair is one character and routes as such */
    b = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{"
        "\"name\":\"a\\ud83d\\ude00\"}}";
    assert_int_equal(jt_scan(b, &r), GW_OK);
    assert_int_equal(r.name_too_long, 0);
    assert_string_equal(r.name_str, "a\xf0\x9f\x98\x80");
}

static void test_truncated_every_length(void **state)
{
    const char *b = "{\"jsonrpc\":\"2.0\",\"id\":-12.5e1,\"method\":\"tools\\/call\",\"params\":{"
                    "\"name\":\"\\u0061lpha\",\"arguments\":{\"list\":[1,true,null,{}]}}}";
    size_t n = strlen(b);
    gw_rpc_t r;

    for (size_t i = 0; i < n; i++) {
        char *copy = malloc(i + 1); /* exactly i bytes visible to ASan */
        assert_non_null(copy);
        memcpy(copy, b, i);
        assert_int_equal(gw_rpc_scan(copy, i, 0, &r), GW_EPARSE);
        free(copy);
    }
    assert_int_equal(gw_rpc_scan(b, n, 0, &r), GW_OK);
}

static void test_depth_limit(void **state)
{
    char body[64];
    gw_rpc_t r;

    /* depth 3 exactly: {"params":{"a":{}}} */
    snprintf(body, sizeof(body), "{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"params\":[[]]}");
    assert_int_equal(gw_rpc_scan(body, strlen(body), 3, &r), GW_OK);
    assert_int_equal(r.kind, GW_MSG_NOTIFICATION);
    assert_int_equal(gw_rpc_scan(body, strlen(body), 2, &r), GW_ETOOBIG);
    assert_int_equal(r.kind, GW_MSG_INVALID);
    assert_int_equal(gw_rpc_scan("[]", 2, 1, &r), GW_OK);
    assert_int_equal(gw_rpc_scan("[{}]", 4, 1, &r), GW_ETOOBIG);
}

struct deep_job {
    char *body;
    size_t len;
    unsigned max_depth;
    gw_err_t err;
    gw_msg_kind_t kind;
};

static void *run_deep_job(void *arg)
{
    struct deep_job *j = arg;
    gw_rpc_t r;
    j->err = gw_rpc_scan(j->body, j->len, j->max_depth, &r);
    j->kind = r.kind;
    return NULL;
}

/* Runs the scan on a thread with a 64 KiB stack: recursion per nesting level would overflow. */
static void scan_on_small_stack(struct deep_job *j)
{
    pthread_attr_t attr;
    pthread_t t;
    assert_int_equal(pthread_attr_init(&attr), 0);
    assert_int_equal(pthread_attr_setstacksize(&attr, 64 * 1024), 0);
    assert_int_equal(pthread_create(&t, &attr, run_deep_job, j), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    pthread_attr_destroy(&attr);
}

static void test_deep_nesting(void **state)
{
    const size_t depth = 100000;
    char *body = malloc(6 * depth + 64);
    size_t n = 0;
    struct deep_job j;

    assert_non_null(body);
    /* 100000 open arrays, never closed */
    memset(body, '[', depth);
    j = (struct deep_job){.body = body, .len = depth, .max_depth = GW_RPC_DEFAULT_MAX_DEPTH};
    scan_on_small_stack(&j);
    assert_int_equal(j.err, GW_ETOOBIG);

    /* {"jsonrpc":"2.0","method":"m","params":{"a":{"a":...}}} */
    n = (size_t)sprintf(body, "{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"params\":");
    for (size_t i = 0; i < depth; i++) {
        memcpy(body + n, "{\"a\":", 5);
        n += 5;
    }
    j = (struct deep_job){.body = body, .len = n, .max_depth = 0};
    scan_on_small_stack(&j);
    assert_int_equal(j.err, GW_ETOOBIG);

    /* the same depth, closed, with the limit raised: yajl keeps its stack on the heap */
    memset(body, '[', depth);
    memset(body + depth, ']', depth);
    j = (struct deep_job){.body = body, .len = 2 * depth, .max_depth = 2 * depth};
    scan_on_small_stack(&j);
    assert_int_equal(j.err, GW_OK);
    assert_int_equal(j.kind, GW_MSG_BATCH);
    free(body);
}

static void test_mutations_never_crash(void **state)
{
    const char *b = "{\"jsonrpc\":\"2.0\",\"id\":\"a\\\"b\",\"method\":\"tools/call\",\"params\":{"
                    "\"name\":\"x\\u0041\",\"_meta\":{\"progressToken\":5},\"uri\":\"u\"}}";
    size_t n = strlen(b);
    char *copy = malloc(n);
    unsigned seed = 7;
    gw_rpc_t r;

    assert_non_null(copy);
    for (int round = 0; round < 50000; round++) {
        memcpy(copy, b, n);
        int flips = 1 + (int)(rand_r(&seed) % 3);
        for (int f = 0; f < flips; f++) {
            copy[rand_r(&seed) % n] = "{}[]\",:\\ 0a-e.\x80"[rand_r(&seed) % 16];
        }
        if (gw_rpc_scan(copy, n, 0, &r) != GW_OK) {
            continue;
        }
        /* every span recorded lies inside the body and starts where its token starts */
        const gw_span_t spans[] = {r.id,  r.method,           r.params,         r.name,
                                   r.uri, r.protocol_version, r.progress_token, r.request_id};
        for (size_t i = 0; i < sizeof(spans) / sizeof(spans[0]); i++) {
            assert_true((uint64_t)spans[i].off + spans[i].len <= n);
        }
        if (r.method.len > 0) {
            assert_int_equal(copy[r.method.off], '"');
            assert_int_equal(copy[r.method.off + r.method.len - 1], '"');
        }
        if (r.params.len > 0) {
            assert_true(copy[r.params.off] == '{' || copy[r.params.off] == '[');
        }
    }
    free(copy);
}

/* The 2026-07-28 envelope in params._meta: the claim, each member's raw span whatever its type,
 * and the capability bits. */

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request),
        cmocka_unit_test(test_classification),
        cmocka_unit_test(test_invalid_messages),
        cmocka_unit_test(test_id_spans),
        cmocka_unit_test(test_escaped_strings),
        cmocka_unit_test(test_member_order),
        cmocka_unit_test(test_initialize_fields),
        cmocka_unit_test(test_progress_token),
        cmocka_unit_test(test_cancelled_request_id),
        cmocka_unit_test(test_completion_ref),
        cmocka_unit_test(test_task_id_and_cursor),
        cmocka_unit_test(test_duplicate_members),
        cmocka_unit_test(test_too_long),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_strict_utf8),
        cmocka_unit_test(test_escaped_surrogate_never_routed),
        cmocka_unit_test(test_truncated_every_length),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_deep_nesting),
        cmocka_unit_test(test_mutations_never_crash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
