/* result_shape_test.c: answers reshaped between eras: resultType and the cache fields spliced in
 * for modern callers, -32002 mapped to -32602 with data.uri, the modern fields removed for 2025
 * sessions; nested and escaped keys, whitespace, empty results and errors. */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/jsonrpc.h"
#include "worker/result_shape.h"

static gw_buf_t out;

static int setup(void **state)
{
    (void)state;
    gw_buf_init(&out);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    gw_buf_fini(&out);
    return 0;
}

/* Shapes msg for a modern caller and checks the verdict, and the new text when rewritten (which
 * must still be one valid JSON-RPC response). */
static void modern(const char *msg, int cacheable, const char *uri, wrk_shape_rc_t want,
                   const char *want_text)
{
    gw_buf_reset(&out);
    wrk_shape_rc_t rc =
        wrk_shape_for_modern(msg, strlen(msg), cacheable, uri, uri ? strlen(uri) : 0, &out);
    assert_int_equal(rc, want);
    if (want == WRK_SHAPE_REWRITTEN) {
        assert_non_null(out.data);
        assert_string_equal(out.data, want_text);
        gw_rpc_t rpc;
        assert_int_equal(gw_rpc_scan(out.data, out.len, GW_RPC_DEFAULT_MAX_DEPTH, &rpc), GW_OK);
        assert_int_equal(rpc.kind, GW_MSG_RESPONSE);
    }
}

static void legacy(const char *msg, wrk_shape_rc_t want, const char *want_text)
{
    gw_buf_reset(&out);
    wrk_shape_rc_t rc = wrk_shape_for_legacy(msg, strlen(msg), &out);
    assert_int_equal(rc, want);
    if (want == WRK_SHAPE_REWRITTEN) {
        assert_non_null(out.data);
        assert_string_equal(out.data, want_text);
        gw_rpc_t rpc;
        assert_int_equal(gw_rpc_scan(out.data, out.len, GW_RPC_DEFAULT_MAX_DEPTH, &rpc), GW_OK);
        assert_int_equal(rpc.kind, GW_MSG_RESPONSE);
    }
}

static void test_direction(void **state)
{
    (void)state;
    assert_int_equal(wrk_shape_dir(1, 0), WRK_SHAPE_FOR_MODERN);
    assert_int_equal(wrk_shape_dir(0, 1), WRK_SHAPE_FOR_LEGACY);
    assert_int_equal(wrk_shape_dir(1, 1), WRK_SHAPE_AS_IS);
    assert_int_equal(wrk_shape_dir(0, 0), WRK_SHAPE_AS_IS);
}

static void test_result_type_spliced_after_the_brace(void **state)
{
    (void)state;
    modern(
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"content\":[]}}", 0, NULL, WRK_SHAPE_REWRITTEN,
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"resultType\":\"complete\",\"content\":[]}}");
    /* the result first, the id last */
    modern("{\"result\":{\"a\":1},\"id\":\"x\",\"jsonrpc\":\"2.0\"}", 0, NULL, WRK_SHAPE_REWRITTEN,
           "{\"result\":{\"resultType\":\"complete\",\"a\":1},\"id\":\"x\",\"jsonrpc\":\"2.0\"}");
}

static void test_empty_result(void **state)
{
    (void)state;
    modern("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}", 0, NULL, WRK_SHAPE_REWRITTEN,
           "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"resultType\":\"complete\"}}");
    modern("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{ \n }}", 0, NULL, WRK_SHAPE_REWRITTEN,
           "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"resultType\":\"complete\" \n }}");
    modern("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}", 1, NULL, WRK_SHAPE_REWRITTEN,
           "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"resultType\":\"complete\",\"ttlMs\":0,"
           "\"cacheScope\":\"private\"}}");
}

static void test_whitespace_variants(void **state)
{
    (void)state;
    modern(
        "{ \"jsonrpc\" : \"2.0\" ,\n\t\"id\" : 1 , \"result\" :\r\n { \"a\" : 1 } }", 0, NULL,
        WRK_SHAPE_REWRITTEN,
        "{ \"jsonrpc\" : \"2.0\" ,\n\t\"id\" : 1 , \"result\" :\r\n {\"resultType\":\"complete\", "
        "\"a\" : 1 } }");
    modern("{\"id\":1,\"result\": { \"resultType\" : \"complete\" } ,\"jsonrpc\":\"2.0\"}", 0, NULL,
           WRK_SHAPE_SAME, NULL);
    /* yajl also skips form feeds and vertical tabs: so must the walker (found by fuzzing) */
    legacy("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"ttlMs\":\f\v0\f,\"x\":\f{\"y\":1}}}",
           WRK_SHAPE_REWRITTEN, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"x\":\f{\"y\":1}}}");
}

static void test_nested_result_type_untouched(void **state)
{
    (void)state;
    /* resultType keys inside content, structuredContent and _meta are the tool's, not ours */
    modern("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"content\":[{\"type\":\"text\",\"text\":"
           "\"x\",\"resultType\":\"input_required\"}],\"structuredContent\":{\"resultType\":"
           "\"nope\",\"ttlMs\":5},\"_meta\":{\"resultType\":1}}}",
           1, NULL, WRK_SHAPE_REWRITTEN,
           "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"resultType\":\"complete\",\"ttlMs\":0,"
           "\"cacheScope\":\"private\",\"content\":[{\"type\":\"text\",\"text\":\"x\","
           "\"resultType\":\"input_required\"}],\"structuredContent\":{\"resultType\":\"nope\","
           "\"ttlMs\":5},\"_meta\":{\"resultType\":1}}}");
}

static void test_escaped_strings(void **state)
{
    (void)state;
    /* braces, quotes and key-like text inside strings are not structure */
    modern("{\"jsonrpc\":\"2.0\",\"id\":\"a\\\"}\",\"result\":{\"text\":\"}\\\"resultType\\\":"
           "\\\"input_required\\\"{\\\\\"}}",
           0, NULL, WRK_SHAPE_REWRITTEN,
           "{\"jsonrpc\":\"2.0\",\"id\":\"a\\\"}\",\"result\":{\"resultType\":\"complete\","
           "\"text\":\"}\\\"resultType\\\":\\\"input_required\\\"{\\\\\"}}");
    /* a key written with escapes is the same key to the client */
    modern("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"result\\u0054ype\":\"input_required\"}}", 0,
           NULL, WRK_SHAPE_BAD_RESULT_TYPE, NULL);
    modern("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"resultType\":\"comp\\u006cete\"}}", 0, NULL,
           WRK_SHAPE_SAME, NULL);
}

static void test_old_backend_result_type(void **state)
{
    (void)state;
    modern("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"resultType\":\"complete\",\"a\":1}}", 0,
           NULL, WRK_SHAPE_SAME, NULL);
    modern("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"resultType\":\"input_required\"}}", 0, NULL,
           WRK_SHAPE_BAD_RESULT_TYPE, NULL);
    modern("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"resultType\":true}}", 0, NULL,
           WRK_SHAPE_BAD_RESULT_TYPE, NULL);
    /* a second copy that is not complete: some parser would read that one */
    modern("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"resultType\":\"complete\",\"resultType\":"
           "\"partial\"}}",
           0, NULL, WRK_SHAPE_BAD_RESULT_TYPE, NULL);
    modern("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":[1,2]}", 0, NULL, WRK_SHAPE_NOT_OBJECT, NULL);
    modern("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":null}", 0, NULL, WRK_SHAPE_NOT_OBJECT, NULL);
}

static void test_read_cache_fields(void **state)
{
    (void)state;
    modern("{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{\"contents\":[{\"uri\":\"file:///a\","
           "\"text\":\"hi\"}]}}",
           1, "\"file:///a\"", WRK_SHAPE_REWRITTEN,
           "{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{\"resultType\":\"complete\",\"ttlMs\":0,"
           "\"cacheScope\":\"private\",\"contents\":[{\"uri\":\"file:///a\",\"text\":\"hi\"}]}}");
    /* the backend's own values win where it sent them */
    modern("{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{\"contents\":[],\"ttlMs\":60000}}", 1, NULL,
           WRK_SHAPE_REWRITTEN,
           "{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{\"resultType\":\"complete\","
           "\"cacheScope\":\"private\",\"contents\":[],\"ttlMs\":60000}}");
    modern("{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{\"resultType\":\"complete\",\"ttlMs\":0,"
           "\"cacheScope\":\"public\",\"contents\":[]}}",
           1, NULL, WRK_SHAPE_SAME, NULL);
}

static void test_resource_not_found_mapped(void **state)
{
    (void)state;
    const char *uri = "\"file:///missing\"";
    modern("{\"jsonrpc\":\"2.0\",\"id\":2,\"error\":{\"code\":-32002,\"message\":\"Resource not "
           "found\"}}",
           1, uri, WRK_SHAPE_REWRITTEN,
           "{\"jsonrpc\":\"2.0\",\"id\":2,\"error\":{\"code\":-32602,\"message\":\"Resource not "
           "found\",\"data\":{\"uri\":\"file:///missing\"}}}");
    /* data with its own uri: only the code changes */
    modern("{\"jsonrpc\":\"2.0\",\"id\":2,\"error\":{\"data\":{\"uri\":\"file:///x\"},\"code\":"
           "-32002,\"message\":\"m\"}}",
           1, uri, WRK_SHAPE_REWRITTEN,
           "{\"jsonrpc\":\"2.0\",\"id\":2,\"error\":{\"data\":{\"uri\":\"file:///x\"},\"code\":"
           "-32602,\"message\":\"m\"}}");
    /* data without uri gets it first, an empty data object too */
    modern("{\"jsonrpc\":\"2.0\",\"id\":2,\"error\":{\"code\":-32002,\"message\":\"m\",\"data\":"
           "{\"why\":\"gone\"}}}",
           1, uri, WRK_SHAPE_REWRITTEN,
           "{\"jsonrpc\":\"2.0\",\"id\":2,\"error\":{\"code\":-32602,\"message\":\"m\",\"data\":"
           "{\"uri\":\"file:///missing\",\"why\":\"gone\"}}}");
    modern("{\"jsonrpc\":\"2.0\",\"id\":2,\"error\":{\"code\":-32002,\"message\":\"m\",\"data\":"
           "{ }}}",
           1, uri, WRK_SHAPE_REWRITTEN,
           "{\"jsonrpc\":\"2.0\",\"id\":2,\"error\":{\"code\":-32602,\"message\":\"m\",\"data\":"
           "{\"uri\":\"file:///missing\" }}}");
    /* data that is not an object stays the backend's; no uri known adds none */
    modern("{\"jsonrpc\":\"2.0\",\"id\":2,\"error\":{\"code\":-32002,\"message\":\"m\",\"data\":"
           "\"file:///x\"}}",
           1, uri, WRK_SHAPE_REWRITTEN,
           "{\"jsonrpc\":\"2.0\",\"id\":2,\"error\":{\"code\":-32602,\"message\":\"m\",\"data\":"
           "\"file:///x\"}}");
    modern("{\"jsonrpc\":\"2.0\",\"id\":2,\"error\":{\"code\":-32002,\"message\":\"m\"}}", 0, NULL,
           WRK_SHAPE_REWRITTEN,
           "{\"jsonrpc\":\"2.0\",\"id\":2,\"error\":{\"code\":-32602,\"message\":\"m\"}}");
    /* the same number written otherwise */
    modern("{\"jsonrpc\":\"2.0\",\"id\":2,\"error\":{\"code\":-32002.0,\"message\":\"m\"}}", 0,
           NULL, WRK_SHAPE_REWRITTEN,
           "{\"jsonrpc\":\"2.0\",\"id\":2,\"error\":{\"code\":-32602,\"message\":\"m\"}}");
}

static void test_other_errors_untouched(void **state)
{
    (void)state;
    modern("{\"jsonrpc\":\"2.0\",\"id\":2,\"error\":{\"code\":-32601,\"message\":\"m\"}}", 1,
           "\"u\"", WRK_SHAPE_SAME, NULL);
    /* a -32002 nested in data is not the error's code */
    modern("{\"jsonrpc\":\"2.0\",\"id\":2,\"error\":{\"code\":-1,\"message\":\"m\",\"data\":{"
           "\"code\":-32002}}}",
           1, "\"u\"", WRK_SHAPE_SAME, NULL);
    modern("{\"jsonrpc\":\"2.0\",\"id\":2,\"error\":{\"code\":-320020,\"message\":\"m\"}}", 1,
           "\"u\"", WRK_SHAPE_SAME, NULL);
}

static void test_modern_fields_removed_for_sessions(void **state)
{
    (void)state;
    legacy("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"resultType\":\"complete\",\"contents\":[],"
           "\"ttlMs\":0,\"cacheScope\":\"public\",\"_meta\":{\"ttlMs\":1,\"resultType\":\"x\"}}}",
           WRK_SHAPE_REWRITTEN,
           "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"contents\":[],\"_meta\":{\"ttlMs\":1,"
           "\"resultType\":\"x\"}}}");
    legacy("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"resultType\":\"complete\"}}",
           WRK_SHAPE_REWRITTEN, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}");
    legacy("{\"result\": { \"resultType\" : \"complete\" , \"x\" : 1 } ,\"id\":1,\"jsonrpc\":"
           "\"2.0\"}",
           WRK_SHAPE_REWRITTEN, "{\"result\": {\"x\" : 1} ,\"id\":1,\"jsonrpc\":\"2.0\"}");
    /* an escaped key is the same key */
    legacy("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"a\":\"}\",\"ttl\\u004ds\":0}}",
           WRK_SHAPE_REWRITTEN, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"a\":\"}\"}}");
}

static void test_legacy_untouched(void **state)
{
    (void)state;
    legacy("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"content\":[{\"resultType\":\"complete\","
           "\"ttlMs\":0}]}}",
           WRK_SHAPE_SAME, NULL);
    legacy("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}", WRK_SHAPE_SAME, NULL);
    legacy("{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32602,\"message\":\"m\",\"data\":{"
           "\"resultType\":\"complete\"}}}",
           WRK_SHAPE_SAME, NULL);
}

static void test_input_required_for_sessions(void **state)
{
    (void)state;
    legacy("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"resultType\":\"input_required\","
           "\"inputRequests\":{\"k\":{}},\"requestState\":\"s\"}}",
           WRK_SHAPE_INPUT_REQUIRED, NULL);
}

static int is_ir(const char *msg)
{
    return wrk_shape_is_input_required(msg, strlen(msg));
}

static void test_input_required_for_modern_callers(void **state)
{
    (void)state;
    assert_true(is_ir("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"inputRequests\":{},"
                      "\"resultType\":\"input_required\",\"requestState\":\"s\"}}"));
    assert_true(is_ir("{\"id\":1,\"result\":{\"result\\u0054ype\":\"input\\u005frequired\"}}"));
    assert_false(is_ir("{\"id\":1,\"result\":{\"resultType\":\"complete\",\"content\":[{"
                       "\"type\":\"text\",\"text\":\"input_required\"}]}}"));
    assert_false(is_ir("{\"id\":1,\"result\":{\"content\":[],\"_meta\":{\"resultType\":"
                       "\"input_required\"}}}"));
    assert_false(is_ir("{\"id\":1,\"error\":{\"code\":1,\"message\":\"input_required\"}}"));
    assert_false(is_ir("{\"id\":1,\"result\":{\"resultType\":\"input_required\""));
    assert_false(is_ir("{\"id\":1,\"result\":{\"content\":[]}}"));
}

static void test_malformed(void **state)
{
    (void)state;
    modern("[1]", 0, NULL, WRK_SHAPE_MALFORMED, NULL);
    modern("{\"jsonrpc\":\"2.0\",\"id\":1}", 0, NULL, WRK_SHAPE_MALFORMED, NULL);
    modern("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"a\":", 0, NULL, WRK_SHAPE_MALFORMED, NULL);
    legacy("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"resultType\":\"x\"", WRK_SHAPE_MALFORMED,
           NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_direction),
        cmocka_unit_test_setup_teardown(test_result_type_spliced_after_the_brace, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_result, setup, teardown),
        cmocka_unit_test_setup_teardown(test_whitespace_variants, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nested_result_type_untouched, setup, teardown),
        cmocka_unit_test_setup_teardown(test_escaped_strings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_old_backend_result_type, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_cache_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resource_not_found_mapped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_errors_untouched, setup, teardown),
        cmocka_unit_test_setup_teardown(test_modern_fields_removed_for_sessions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_legacy_untouched, setup, teardown),
        cmocka_unit_test_setup_teardown(test_input_required_for_sessions, setup, teardown),
        cmocka_unit_test(test_input_required_for_modern_callers),
        cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
