/* xmcpheader_test.c: x-mcp-header declarations found and each way they are refused; the header
 * values arguments give them; the base64-sentinel encoding. */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/json.h"
#include "common/xmcpheader.h"

static gw_xmcp_result_t scan(const char *schema, gw_xmcp_decls_t *d)
{
    char err[128];
    yajl_val v = gw_json_parse(schema, strlen(schema), err, sizeof(err));
    assert_non_null(v);
    gw_xmcp_result_t r = gw_xmcp_scan(v, d);
    yajl_tree_free(v);
    return r;
}

static void test_found(void **state)
{
    gw_xmcp_decls_t d;
    (void)state;
    assert_int_equal(scan("{\"type\":\"object\",\"properties\":{"
                          "\"region\":{\"type\":\"string\",\"x-mcp-header\":\"Region\"},"
                          "\"n\":{\"type\":\"integer\",\"x-mcp-header\":\"Count\"},"
                          "\"opt\":{\"type\":[\"boolean\",\"null\"],\"x-mcp-header\":\"Dry-Run\"},"
                          "\"inner\":{\"type\":\"object\",\"properties\":{"
                          "\"x-mcp-header\":{\"type\":\"string\",\"x-mcp-header\":\"Deep\"}}},"
                          "\"plain\":{\"type\":\"number\"}}}",
                          &d),
                     GW_XMCP_OK);
    assert_int_equal(d.n, 4);
    assert_string_equal(d.v[0].name, "Region");
    assert_int_equal(d.v[0].type, GW_XMCP_STRING);
    assert_int_equal(d.v[0].depth, 1);
    assert_string_equal(d.v[0].path, "region");
    assert_int_equal(d.v[1].type, GW_XMCP_INTEGER);
    assert_int_equal(d.v[2].type, GW_XMCP_BOOLEAN);
    /* a property named like the keyword is a property, not a declaration */
    assert_string_equal(d.v[3].name, "Deep");
    assert_int_equal(d.v[3].depth, 2);
    assert_string_equal(d.v[3].path, "inner");
    assert_string_equal(d.v[3].path + strlen("inner") + 1, "x-mcp-header");

    assert_int_equal(scan("{\"type\":\"object\"}", &d), GW_XMCP_OK);
    assert_int_equal(d.n, 0);
    assert_int_equal(gw_xmcp_scan(NULL, &d), GW_XMCP_OK);
    assert_int_equal(d.n, 0);
}

static void test_refused(void **state)
{
    gw_xmcp_decls_t d;
    (void)state;
    /* not a token: empty, a space, a colon, not a string */
    assert_int_equal(
        scan("{\"properties\":{\"a\":{\"type\":\"string\",\"x-mcp-header\":\"\"}}}", &d),
        GW_XMCP_NOT_A_TOKEN);
    assert_int_equal(
        scan("{\"properties\":{\"a\":{\"type\":\"string\",\"x-mcp-header\":\"A B\"}}}", &d),
        GW_XMCP_NOT_A_TOKEN);
    assert_int_equal(
        scan("{\"properties\":{\"a\":{\"type\":\"string\",\"x-mcp-header\":\"A:B\"}}}", &d),
        GW_XMCP_NOT_A_TOKEN);
    assert_int_equal(scan("{\"properties\":{\"a\":{\"type\":\"string\",\"x-mcp-header\":7}}}", &d),
                     GW_XMCP_NOT_A_TOKEN);
    /* duplicates, ignoring case */
    assert_int_equal(scan("{\"properties\":{"
                          "\"a\":{\"type\":\"string\",\"x-mcp-header\":\"Region\"},"
                          "\"b\":{\"type\":\"string\",\"x-mcp-header\":\"rEGION\"}}}",
                          &d),
                     GW_XMCP_DUPLICATE);
    assert_int_equal(d.n, 0);
    /* types */
    assert_int_equal(
        scan("{\"properties\":{\"a\":{\"type\":\"number\",\"x-mcp-header\":\"A\"}}}", &d),
        GW_XMCP_BAD_TYPE);
    assert_int_equal(scan("{\"properties\":{\"a\":{\"x-mcp-header\":\"A\"}}}", &d),
                     GW_XMCP_BAD_TYPE);
    assert_int_equal(
        scan("{\"properties\":{\"a\":{\"type\":[\"string\",\"integer\"],\"x-mcp-header\":\"A\"}}}",
             &d),
        GW_XMCP_BAD_TYPE);
    assert_int_equal(
        scan("{\"properties\":{\"a\":{\"type\":\"object\",\"x-mcp-header\":\"A\"}}}", &d),
        GW_XMCP_BAD_TYPE);
    /* places: the root, items, additionalProperties, anyOf, $defs, not, if/then */
    assert_int_equal(scan("{\"type\":\"string\",\"x-mcp-header\":\"A\"}", &d), GW_XMCP_BAD_PLACE);
    assert_int_equal(scan("{\"properties\":{\"a\":{\"type\":\"array\",\"items\":{\"type\":"
                          "\"string\",\"x-mcp-header\":\"A\"}}}}",
                          &d),
                     GW_XMCP_BAD_PLACE);
    assert_int_equal(
        scan("{\"additionalProperties\":{\"type\":\"string\",\"x-mcp-header\":\"A\"}}", &d),
        GW_XMCP_BAD_PLACE);
    assert_int_equal(
        scan("{\"anyOf\":[{\"properties\":{\"a\":{\"type\":\"string\",\"x-mcp-header\":\"A\"}}}]}",
             &d),
        GW_XMCP_BAD_PLACE);
    assert_int_equal(
        scan("{\"$defs\":{\"r\":{\"type\":\"string\",\"x-mcp-header\":\"A\"}},\"properties\":{"
             "\"a\":{\"$ref\":\"#/$defs/r\"}}}",
             &d),
        GW_XMCP_BAD_PLACE);
    assert_int_equal(scan("{\"not\":{\"type\":\"string\",\"x-mcp-header\":\"A\"}}", &d),
                     GW_XMCP_BAD_PLACE);
    assert_int_equal(
        scan("{\"if\":{},\"then\":{\"properties\":{\"a\":{\"type\":\"string\",\"x-mcp-header\":"
             "\"A\"}}}}",
             &d),
        GW_XMCP_BAD_PLACE);
    assert_string_equal(gw_xmcp_reason(GW_XMCP_DUPLICATE),
                        "header name declared twice (ignoring case)");
}

static void test_values(void **state)
{
    gw_xmcp_decls_t d;
    char err[128];
    gw_buf_t b;
    (void)state;
    assert_int_equal(scan("{\"properties\":{"
                          "\"s\":{\"type\":\"string\",\"x-mcp-header\":\"S\"},"
                          "\"i\":{\"type\":\"integer\",\"x-mcp-header\":\"I\"},"
                          "\"b\":{\"type\":\"boolean\",\"x-mcp-header\":\"B\"},"
                          "\"o\":{\"properties\":{\"t\":{\"type\":\"string\",\"x-mcp-header\":"
                          "\"T\"}}},"
                          "\"m\":{\"type\":\"string\",\"x-mcp-header\":\"M\"}}}",
                          &d),
                     GW_XMCP_OK);
    const char *args = "{\"s\":\"us west\",\"i\":-42,\"b\":false,\"o\":{\"t\":\" x\"},\"m\":null}";
    yajl_val a = gw_json_parse(args, strlen(args), err, sizeof(err));
    assert_non_null(a);
    static const char *const want[] = {"us west", "-42", "false", "=?base64?IHg=?=", NULL};
    for (size_t i = 0; i < d.n; i++) {
        gw_buf_init(&b);
        int r = gw_xmcp_value(&d.v[i], a, &b);
        if (want[i] == NULL) {
            assert_int_equal(r, 0); /* null: no header */
        } else {
            assert_int_equal(r, 1);
            assert_string_equal(b.data, want[i]);
        }
        gw_buf_fini(&b);
    }
    yajl_tree_free(a);
    /* absent */
    a = gw_json_parse("{}", 2, err, sizeof(err));
    gw_buf_init(&b);
    assert_int_equal(gw_xmcp_value(&d.v[0], a, &b), 0);
    gw_buf_fini(&b);
    yajl_tree_free(a);
}

static void encoded(const char *in, size_t n, const char *want)
{
    gw_buf_t b;
    gw_buf_init(&b);
    assert_int_equal(gw_xmcp_encode(in, n, &b), GW_OK);
    assert_int_equal(b.len, strlen(want));
    assert_memory_equal(b.data, want, b.len);
    gw_buf_fini(&b);
}

static void test_encode(void **state)
{
    (void)state;
    encoded("echo", 4, "echo");
    encoded("us west", 7, "us west");
    encoded("  echo ", 7, "=?base64?ICBlY2hvIA==?=");
    encoded("caf\xc3\xa9", 5, "=?base64?Y2Fmw6k=?=");
    encoded("=?base64?abc?=", 14, "=?base64?PT9iYXNlNjQ/YWJjPz0=?=");
    encoded("a\nb", 3, "=?base64?YQpi?=");
    encoded("", 0, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_found),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_encode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
