/* worker_settings_test.c: the worker settings go out as headers and come back the same; values
 * that are not decimal numbers in range, and unknown names, change nothing. */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/worker_settings.h"

static gw_envelope_t envelope_of(const gw_worker_settings_t *ws)
{
    gw_envelope_t e = {.kind = GW_ENV_CONTROL};
    memcpy(e.headers, ws->headers, ws->n * sizeof(ws->headers[0]));
    e.nheaders = ws->n;
    return e;
}

static void test_round_trip(void **state)
{
    (void)state;
    gw_config_t a = {
        .max_response_body = 1u << 20, .max_pooled_sessions = 7, .upstream_idle_ms = 300000};
    gw_config_t b = {
        .max_response_body = 8u << 20, .max_pooled_sessions = 1024, .upstream_idle_ms = 1000};
    gw_worker_settings_t ws;
    gw_worker_settings_encode(&a, &ws);
    assert_int_equal(ws.n, 3);
    gw_envelope_t e = envelope_of(&ws);
    assert_int_equal(gw_worker_settings_apply(&b, &e), 3);
    assert_int_equal(b.max_response_body, 1u << 20);
    assert_int_equal(b.max_pooled_sessions, 7);
    assert_int_equal(b.upstream_idle_ms, 300000);
    assert_int_equal(gw_worker_settings_apply(&b, &e), 0); /* nothing changed the second time */
}

static void test_refused_values(void **state)
{
    (void)state;
    gw_config_t c = {.max_response_body = 5, .max_pooled_sessions = 6, .upstream_idle_ms = 7};
    static const struct {
        const char *name, *value;
    } bad[] = {
        {"limits.max_pooled_sessions", ""},
        {"limits.max_pooled_sessions", "-1"},
        {"limits.max_pooled_sessions", "12x"},
        {"limits.max_pooled_sessions", "4294967296"}, /* past an unsigned */
        {"limits.max_response_body", "18446744073709551616"},
        {"limits.max_response_body", " 9"},
        {"limits.no_such_key", "9"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        gw_envelope_t e = {.kind = GW_ENV_CONTROL, .nheaders = 1};
        e.headers[0].name = (gw_str_t){bad[i].name, strlen(bad[i].name)};
        e.headers[0].value = (gw_str_t){bad[i].value, strlen(bad[i].value)};
        assert_int_equal(gw_worker_settings_apply(&c, &e), 0);
    }
    assert_int_equal(c.max_response_body, 5);
    assert_int_equal(c.max_pooled_sessions, 6);
    assert_int_equal(c.upstream_idle_ms, 7);
    gw_envelope_t e = {.kind = GW_ENV_CONTROL, .nheaders = 1};
    e.headers[0].name = GW_STR("limits.max_response_body");
    e.headers[0].value = GW_STR("18446744073709551615");
    assert_int_equal(gw_worker_settings_apply(&c, &e), 1);
    assert_true(c.max_response_body == UINT64_MAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_refused_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
