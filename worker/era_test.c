/* era_test.c: every row of the probe classification (docs/design-2026-07-28.md 7.2), and the
 * answers the backends the tests run actually give (8.4). */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "worker/era.h"

static gw_probe_t classify(int reached, long status, const char *body, long long *code)
{
    long long c = 0;
    gw_probe_t p = wrk_era_classify(reached, status, body, body ? strlen(body) : 0, &c, NULL);
    if (code != NULL) {
        *code = c;
    }
    return p;
}

#define DISCOVER(versions)                                                                         \
    "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"resultType\":\"complete\","                       \
    "\"supportedVersions\":" versions                                                              \
    ",\"capabilities\":{\"tools\":{}},\"ttlMs\":0,\"cacheScope\":\"private\"}}"

static void test_modern(void **state)
{
    yajl_val tree = NULL;
    long long code;
    const char *body = DISCOVER("[\"2026-07-28\"]");
    (void)state;
    assert_int_equal(wrk_era_classify(1, 200, body, strlen(body), &code, &tree), GW_PROBE_DISCOVER);
    assert_non_null(tree); /* the caller keeps capabilities and serverInfo from it */
    yajl_tree_free(tree);
    assert_int_equal(classify(1, 200, DISCOVER("[\"2027-01-01\",\"2026-07-28\"]"), NULL),
                     GW_PROBE_DISCOVER);
    assert_int_equal(wrk_era_of(GW_PROBE_DISCOVER), 2);
}

static void test_legacy_rows(void **state)
{
    long long code;
    (void)state;
    /* 2xx, a valid result, no shared version */
    assert_int_equal(classify(1, 200, DISCOVER("[\"2027-01-01\"]"), NULL), GW_PROBE_NO_SHARED);
    /* 2xx, not a discover result, or not JSON, or empty */
    assert_int_equal(classify(1, 200, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}", NULL),
                     GW_PROBE_UNUSABLE);
    assert_int_equal(classify(1, 200,
                              "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"supportedVersions\":"
                              "[1],\"capabilities\":{}}}",
                              NULL),
                     GW_PROBE_UNUSABLE);
    assert_int_equal(classify(1, 200, "not json", NULL), GW_PROBE_UNUSABLE);
    assert_int_equal(classify(1, 202, NULL, NULL), GW_PROBE_UNUSABLE);
    /* -32022 with only 2025 versions, or malformed data */
    assert_int_equal(
        classify(1, 400,
                 "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32022,\"message\":"
                 "\"x\",\"data\":{\"supported\":[\"2025-11-25\"]}}}",
                 &code),
        GW_PROBE_RPC_ERROR);
    assert_int_equal(code, -32022);
    assert_int_equal(
        classify(1, 400,
                 "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32022,\"message\":"
                 "\"x\",\"data\":\"2026-07-28\"}}",
                 NULL),
        GW_PROBE_RPC_ERROR);
    /* any other JSON-RPC error, -32020, -32021, -32001 included, in a 2xx or a 4xx */
    static const char *const codes[] = {"-32020", "-32021", "-32001", "-32601"};
    for (size_t i = 0; i < 4; i++) {
        char body[160];
        snprintf(body, sizeof(body),
                 "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":%s,\"message\":\"m\"}}",
                 codes[i]);
        assert_int_equal(classify(1, 200, body, NULL), GW_PROBE_RPC_ERROR);
        assert_int_equal(classify(1, 400, body, &code), GW_PROBE_RPC_ERROR);
        assert_int_equal(code, strtoll(codes[i], NULL, 10));
    }
    /* other 4xx, with a non-JSON-RPC body or none */
    assert_int_equal(classify(1, 404, "Not Found", NULL), GW_PROBE_HTTP_4XX);
    assert_int_equal(classify(1, 405, NULL, NULL), GW_PROBE_HTTP_4XX);
    /* what the test backends answer (design 8.4) */
    assert_int_equal(classify(1, 400,
                              "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32600,"
                              "\"message\":\"Mcp-Session-Id required\"}}",
                              NULL),
                     GW_PROBE_RPC_ERROR);
    assert_int_equal(classify(1, 400,
                              "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32000,\"message\":"
                              "\"Bad Request: Server not initialized\"},\"id\":null}",
                              NULL),
                     GW_PROBE_RPC_ERROR);
    static const gw_probe_t legacy[] = {GW_PROBE_NO_SHARED, GW_PROBE_UNUSABLE, GW_PROBE_RPC_ERROR,
                                        GW_PROBE_HTTP_4XX};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(wrk_era_of(legacy[i]), 1);
    }
}

static void test_probe_again(void **state)
{
    long long code;
    (void)state;
    assert_int_equal(
        classify(1, 400,
                 "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32022,\"message\":"
                 "\"Unsupported\",\"data\":{\"supported\":[\"2026-07-28\"],"
                 "\"requested\":\"2026-07-28\"}}}",
                 &code),
        GW_PROBE_VERSION_RETRY);
    assert_int_equal(code, -32022);
    assert_int_equal(wrk_era_of(GW_PROBE_VERSION_RETRY), 0);
}

static void test_errors(void **state)
{
    (void)state;
    assert_int_equal(classify(1, 401, "{}", NULL), GW_PROBE_AUTH);
    assert_int_equal(classify(1, 403, NULL, NULL), GW_PROBE_AUTH);
    /* a 5xx is down even with a JSON-RPC body: no fallback */
    assert_int_equal(
        classify(1, 500,
                 "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32603,\"message\":"
                 "\"x\"}}",
                 NULL),
        GW_PROBE_DOWN);
    assert_int_equal(classify(1, 503, NULL, NULL), GW_PROBE_DOWN);
    assert_int_equal(classify(0, 0, NULL, NULL), GW_PROBE_DOWN); /* timeout, refused */
    assert_int_equal(wrk_era_of(GW_PROBE_AUTH), 0);
    assert_int_equal(wrk_era_of(GW_PROBE_DOWN), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_modern),
        cmocka_unit_test(test_legacy_rows),
        cmocka_unit_test(test_probe_again),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
