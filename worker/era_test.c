/* era_test.c: every row of the probe classification (docs/design-2026-07-28.md 7.2), the
 * answers the backends the tests run actually give (8.4), and the era each call and new session
 * is made in (era_call.c), a dual backend's by its caller. */
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
#include "worker/worker.h"

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

/* The era of a call: the backend's, except on a dual backend, where it is the caller's. */
static void test_call_era(void **state)
{
    static wrk_t w;
    gw_envelope_t session = {.flags = 0};
    gw_envelope_t modern = {.flags = GW_ENV_F_MODERN};
    (void)state;

    for (wrk_era_t e = WRK_ERA_UNKNOWN; e <= WRK_ERA_MODERN; e++) {
        w.era = e;
        assert_int_equal(wrk_era_of_call(&w, &session), e);
        assert_int_equal(wrk_era_of_call(&w, &modern), e);
    }
    w.era = WRK_ERA_DUAL;
    assert_int_equal(wrk_era_of_call(&w, &session), WRK_ERA_LEGACY);
    assert_int_equal(wrk_era_of_call(&w, &modern), WRK_ERA_MODERN);
}

/* What waits: every call before the first verdict; while a 2026-07-28 backend's catalog
 * initialize says whether it is dual, only the 2025 sessions' calls. */
static void test_hold(void **state)
{
    static wrk_t w;
    gw_envelope_t session = {.flags = 0};
    gw_envelope_t modern = {.flags = GW_ENV_F_MODERN};
    (void)state;

    w.era = WRK_ERA_UNKNOWN;
    assert_true(wrk_era_must_hold(&w, &session));
    assert_true(wrk_era_must_hold(&w, &modern));
    w.era = WRK_ERA_MODERN;
    w.probe.dual_check = 1;
    assert_true(wrk_era_must_hold(&w, &session));
    assert_false(wrk_era_must_hold(&w, &modern));
    w.probe.dual_check = 0;
    for (wrk_era_t e = WRK_ERA_LEGACY; e <= WRK_ERA_DUAL; e++) {
        w.era = e;
        assert_false(wrk_era_must_hold(&w, &session));
        assert_false(wrk_era_must_hold(&w, &modern));
    }
}

/* A new session's way: the catalog's is a 2025 one on a dual backend and during the check (its
 * initialize is the check); a call's follows the era the call set in up->modern. */
static void test_session_era(void **state)
{
    static wrk_t w;
    static upstream_t cat;
    static upstream_t up;
    (void)state;

    cat.w = up.w = &w;
    cat.is_catalog = 1;
    w.era = WRK_ERA_MODERN;
    w.probe.dual_check = 1;
    assert_false(wrk_era_session_modern(&cat));
    up.modern = 1;
    assert_true(wrk_era_session_modern(&up)); /* a 2026-07-28 caller's, meanwhile */
    w.probe.dual_check = 0;
    assert_true(wrk_era_session_modern(&cat));
    w.era = WRK_ERA_DUAL;
    assert_false(wrk_era_session_modern(&cat));
    assert_true(wrk_era_session_modern(&up));
    up.modern = 0;
    assert_false(wrk_era_session_modern(&up)); /* a 2025 session's */
    w.era = WRK_ERA_LEGACY;
    up.modern = 1; /* whatever a call thought, a 2025 backend has no other way */
    assert_false(wrk_era_session_modern(&up));
    assert_false(wrk_era_session_modern(&cat));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_modern),      cmocka_unit_test(test_legacy_rows),
        cmocka_unit_test(test_probe_again), cmocka_unit_test(test_errors),
        cmocka_unit_test(test_call_era),    cmocka_unit_test(test_hold),
        cmocka_unit_test(test_session_era),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
