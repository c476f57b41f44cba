/* meta_test.c: the _meta members for capability sets and levels, their splice into a message's
 * params in each shape params come in, and the MRTR fields taken out. */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/json.h"
#include "common/mcp.h"
#include "worker/meta.h"

#define NS "io.modelcontextprotocol/"

/* Splices and parses the result; the caller frees the tree. */
static yajl_val spliced(const char *body, uint8_t caps, const char *level)
{
    gw_buf_t out;
    char err[128];
    gw_buf_init(&out);
    assert_int_equal(wrk_modern_splice(body, strlen(body), caps, level, &out), GW_OK);
    yajl_val v = gw_json_parse(out.data, out.len, err, sizeof(err));
    assert_non_null(v);
    gw_buf_fini(&out);
    return v;
}

static yajl_val meta_of(yajl_val v)
{
    yajl_val m = gw_json_get(gw_json_get(v, "params"), "_meta");
    assert_non_null(m);
    assert_string_equal(gw_json_get_string(m, NS "protocolVersion"), "2026-07-28");
    assert_string_equal(gw_json_get_string(gw_json_get(m, NS "clientInfo"), "name"), "mcpgw");
    return m;
}

static void test_capabilities(void **state)
{
    (void)state;
    yajl_val v = spliced("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}", 0, NULL);
    yajl_val m = meta_of(v);
    yajl_val caps = gw_json_get(m, NS "clientCapabilities");
    assert_true(YAJL_IS_OBJECT(caps));
    assert_int_equal(caps->u.object.len, 0);
    assert_null(gw_json_get(m, NS "logLevel"));
    yajl_tree_free(v);

    v = spliced("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}",
                GW_CAP_SAMPLING | GW_CAP_SAMPLING_TOOLS | GW_CAP_ELICITATION |
                    GW_CAP_ELICITATION_URL | GW_CAP_ROOTS,
                "warning");
    m = meta_of(v);
    caps = gw_json_get(m, NS "clientCapabilities");
    assert_non_null(gw_json_get(gw_json_get(caps, "sampling"), "tools"));
    assert_non_null(gw_json_get(gw_json_get(caps, "elicitation"), "form"));
    assert_non_null(gw_json_get(gw_json_get(caps, "elicitation"), "url"));
    assert_non_null(gw_json_get(caps, "roots"));
    assert_string_equal(gw_json_get_string(m, NS "logLevel"), "warning");
    yajl_tree_free(v);
}

static void test_params_shapes(void **state)
{
    (void)state;
    /* empty params */
    yajl_val v = spliced("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\",\"params\":{ }}",
                         GW_CAP_ROOTS, NULL);
    meta_of(v);
    yajl_tree_free(v);
    /* params with members, no _meta: kept */
    v = spliced("{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"method\":\"tools/call\",\"params\":{\"name\":"
                "\"echo\",\"arguments\":{\"text\":\"_meta\"}}}",
                0, NULL);
    meta_of(v);
    assert_string_equal(gw_json_get_string(gw_json_get(v, "params"), "name"), "echo");
    assert_string_equal(
        gw_json_get_string(gw_json_get(gw_json_get(v, "params"), "arguments"), "text"), "_meta");
    yajl_tree_free(v);
    /* _meta of its own: progressToken kept, a stale protocolVersion of its own replaced */
    v = spliced("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":"
                "\"echo\",\"_meta\":{\"progressToken\":7,\"" NS "protocolVersion\":\"old\"}}}",
                0, NULL);
    yajl_val m = meta_of(v);
    yajl_val pt = gw_json_get(m, "progressToken");
    assert_non_null(pt);
    assert_int_equal(YAJL_GET_INTEGER(pt), 7);
    size_t versions = 0;
    for (size_t i = 0; i < m->u.object.len; i++) {
        versions += strcmp(m->u.object.keys[i], NS "protocolVersion") == 0;
    }
    assert_int_equal(versions, 1);
    yajl_tree_free(v);
    /* a notification */
    v = spliced("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/x\"}", 0, NULL);
    meta_of(v);
    assert_null(gw_json_get(v, "id"));
    yajl_tree_free(v);
}

static void test_refused(void **state)
{
    gw_buf_t out;
    (void)state;
    gw_buf_init(&out);
    const char *byposition = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\",\"params\":[1]}";
    assert_int_equal(wrk_modern_splice(byposition, strlen(byposition), 0, NULL, &out), GW_EINVAL);
    assert_int_equal(wrk_modern_splice("{nope", 5, 0, NULL, &out), GW_EPARSE);
    gw_buf_fini(&out);
}

static void test_strip_mrtr(void **state)
{
    gw_buf_t out;
    (void)state;
    gw_buf_init(&out);
    const char *plain = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{"
                        "\"name\":\"requestState\"}}";
    assert_int_equal(wrk_pool_strip_body(plain, strlen(plain), &out), 0); /* a value, not a key */
    const char *mrtr = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{"
                       "\"name\":\"t\",\"inputResponses\":{\"k\":{\"action\":\"accept\"}},"
                       "\"arguments\":{\"requestState\":1},\"requestState\":\"s\",\"_meta\":{"
                       "\"progressToken\":2}}}";
    assert_int_equal(wrk_pool_strip_body(mrtr, strlen(mrtr), &out), 1);
    char err[64];
    yajl_val v = gw_json_parse(out.data, out.len, err, sizeof(err));
    assert_non_null(v);
    yajl_val p = gw_json_get(v, "params");
    assert_null(gw_json_get(p, "inputResponses"));
    assert_null(gw_json_get(p, "requestState"));
    assert_string_equal(gw_json_get_string(p, "name"), "t");
    assert_non_null(gw_json_get(gw_json_get(p, "arguments"), "requestState")); /* nested: kept */
    assert_non_null(gw_json_get(gw_json_get(p, "_meta"), "progressToken"));
    assert_int_equal(YAJL_GET_INTEGER(gw_json_get(v, "id")), 1);
    yajl_tree_free(v);
    gw_buf_fini(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_capabilities),
        cmocka_unit_test(test_params_shapes),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_strip_mrtr),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
