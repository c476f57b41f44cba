/* mcpparam_test.c: a tools/call's Mcp-Param-* headers against its arguments: the header missing,
 * different, invalid or twice; names ignoring case; integers, booleans, nested properties, and
 * absent or null arguments. */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/json.h"
#include "common/mcpparam.h"

static const char *SCHEMA = "{\"type\":\"object\",\"properties\":{"
                            "\"region\":{\"type\":\"string\",\"x-mcp-header\":\"Region\"},"
                            "\"n\":{\"type\":\"integer\",\"x-mcp-header\":\"Count\"},"
                            "\"dry\":{\"type\":\"boolean\",\"x-mcp-header\":\"Dry-Run\"},"
                            "\"inner\":{\"type\":\"object\",\"properties\":{"
                            "\"zone\":{\"type\":\"string\",\"x-mcp-header\":\"Zone\"}}}}}";

/* Checks args against the headers given as name, value pairs (NULL-terminated); returns
 * rejected and leaves the message in msg and the data in data. */
static int check(const char *args, const char *const *pairs, char *msg, char *data)
{
    char err[128];
    gw_xmcp_decls_t d;
    yajl_val schema = gw_json_parse(SCHEMA, strlen(SCHEMA), err, sizeof(err));
    yajl_val a = args != NULL ? gw_json_parse(args, strlen(args), err, sizeof(err)) : NULL;
    assert_non_null(schema);
    assert_int_equal(gw_xmcp_scan(schema, &d), GW_XMCP_OK);
    assert_int_equal(d.n, 4);
    gw_mcpparam_hdr_t h[8];
    size_t n = 0;
    for (; pairs[2 * n] != NULL; n++) {
        h[n] = (gw_mcpparam_hdr_t){pairs[2 * n], strlen(pairs[2 * n]), pairs[2 * n + 1],
                                   strlen(pairs[2 * n + 1])};
    }
    gw_mcpparam_verdict_t v;
    gw_mcpparam_verdict_init(&v);
    assert_int_equal(gw_mcpparam_check(d.v, d.n, a, h, n, &v), GW_OK);
    int r = v.rejected;
    strcpy(msg, v.message.data != NULL ? v.message.data : "");
    strcpy(data, v.data.data != NULL ? v.data.data : "");
    gw_mcpparam_verdict_fini(&v);
    yajl_tree_free(a);
    yajl_tree_free(schema);
    return r;
}

#define CHECK(args, ...) check(args, (const char *const[]){__VA_ARGS__, NULL}, msg, data)

static void test_missing(void **state)
{
    char msg[512], data[512];
    (void)state;
    assert_true(CHECK("{\"region\":\"us-west1\"}", "mcp-param-other", "x"));
    assert_string_equal(msg, "Header mismatch: Mcp-Param-Region header is required");
    assert_string_equal(data, "{\"mismatch\":{\"header\":\"Mcp-Param-Region\",\"value\":"
                              "\"(missing)\"}}");
}

static void test_match_and_mismatch(void **state)
{
    char msg[512], data[512];
    (void)state;
    assert_false(CHECK("{\"region\":\"us-west1\"}", "mcp-param-region", "us-west1"));
    assert_false(CHECK("{\"region\":\"us-west1\"}", "MCP-PARAM-REGION", " us-west1\t"));
    assert_true(CHECK("{\"region\":\"us-west1\"}", "Mcp-Param-Region", "eu-west1"));
    assert_string_equal(msg, "Header mismatch: Mcp-Param-Region 'eu-west1' does not match "
                             "arguments.region 'us-west1'");
    assert_string_equal(data, "{\"mismatch\":{\"header\":\"Mcp-Param-Region\",\"value\":"
                              "\"eu-west1\",\"body\":\"us-west1\"}}");
    /* values are case-sensitive */
    assert_true(CHECK("{\"region\":\"us-west1\"}", "Mcp-Param-Region", "US-WEST1"));
}

static void test_base64(void **state)
{
    char msg[512], data[512];
    (void)state;
    assert_false(CHECK("{\"region\":\"Hello\"}", "mcp-param-region", "=?base64?SGVsbG8=?="));
    assert_false(CHECK("{\"region\":\"日本\"}", "mcp-param-region", "=?base64?5pel5pys?="));
    assert_true(CHECK("{\"region\":\"Hello\"}", "mcp-param-region", "=?base64?SGVsbG8?="));
    assert_string_equal(msg, "Header mismatch: Mcp-Param-Region carries an invalid value");
    assert_string_equal(data, "{\"mismatch\":{\"header\":\"Mcp-Param-Region\"}}");
    assert_true(CHECK("{\"region\":\"Hello\"}", "mcp-param-region", "=?base64?SGVs!!!bG8=?="));
    /* without both markers the value is literal */
    assert_false(CHECK("{\"region\":\"SGVsbG8=\"}", "mcp-param-region", "SGVsbG8="));
    assert_false(
        CHECK("{\"region\":\"=?base64?SGVsbG8=\"}", "mcp-param-region", "=?base64?SGVsbG8="));
    /* a plain value with a byte past ASCII */
    assert_true(CHECK("{\"region\":\"\xc3\xa9\"}", "mcp-param-region", "\xc3\xa9"));
    assert_string_equal(msg, "Header mismatch: Mcp-Param-Region carries an invalid value");
}

static void test_integer_boolean(void **state)
{
    char msg[512], data[512];
    (void)state;
    assert_false(CHECK("{\"n\":42}", "mcp-param-count", "42"));
    assert_false(CHECK("{\"n\":42}", "mcp-param-count", "42.0"));
    assert_false(CHECK("{\"n\":42.0}", "mcp-param-count", "42"));
    assert_false(CHECK("{\"n\":-7}", "mcp-param-count", "-7"));
    assert_true(CHECK("{\"n\":42}", "mcp-param-count", "43"));
    assert_string_equal(msg, "Header mismatch: Mcp-Param-Count '43' does not match arguments.n "
                             "'42'");
    assert_true(CHECK("{\"n\":42}", "mcp-param-count", "0x2a"));
    assert_true(CHECK("{\"n\":42}", "mcp-param-count", "forty-two"));
    assert_true(CHECK("{\"n\":9007199254740993}", "mcp-param-count", "9007199254740992"));
    assert_false(CHECK("{\"dry\":true}", "mcp-param-dry-run", "true"));
    assert_false(CHECK("{\"dry\":false}", "mcp-param-dry-run", "false"));
    assert_false(CHECK("{\"dry\":true}", "mcp-param-dry-run", "TRUE"));
    assert_true(CHECK("{\"dry\":true}", "mcp-param-dry-run", "false"));
    assert_true(CHECK("{\"dry\":true}", "mcp-param-dry-run", "1"));
    assert_true(CHECK("{\"dry\":true}", "mcp-param-dry-run", "\"true\""));
}

static void test_absent_null_nested_twice(void **state)
{
    char msg[512], data[512];
    (void)state;
    /* absent or null: no header expected, one sent ignored */
    assert_false(CHECK("{}", "x-other", "1"));
    assert_false(CHECK(NULL, "x-other", "1"));
    assert_false(CHECK("{\"region\":null}", "mcp-param-region", "anything"));
    assert_false(CHECK("{\"n\":null,\"dry\":null}", "x-other", "1"));
    /* nested */
    assert_false(CHECK("{\"inner\":{\"zone\":\"a\"}}", "mcp-param-zone", "a"));
    assert_true(CHECK("{\"inner\":{\"zone\":\"a\"}}", "mcp-param-zone", "b"));
    assert_string_equal(msg, "Header mismatch: Mcp-Param-Zone 'b' does not match "
                             "arguments.inner.zone 'a'");
    assert_false(CHECK("{\"inner\":\"not an object\"}", "x-other", "1"));
    /* a declared header sent twice */
    assert_true(CHECK("{\"region\":\"a\"}", "mcp-param-region", "a", "Mcp-Param-Region", "a"));
    assert_string_equal(msg, "Header mismatch: Mcp-Param-Region sent more than once");
    /* a value of another type than declared: compared with its JSON text */
    assert_false(CHECK("{\"region\":[1,2]}", "mcp-param-region", "[1,2]"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_missing),
        cmocka_unit_test(test_match_and_mismatch),
        cmocka_unit_test(test_base64),
        cmocka_unit_test(test_integer_boolean),
        cmocka_unit_test(test_absent_null_nested_twice),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
