/* config_rate_test.c: limits.rate and limits.rate_callers as mcpgw.yaml writes them: per second
 * and per minute, the burst and its default, and the messages of what is refused. */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/config.h"
#include "common/config_sample.h"

static void test_rate_accepted(void **state)
{
    (void)state;
    gw_config_t *c = config_parse_ok("servers: []\n");
    assert_int_equal(c->rate.requests, 0); /* no limit by default */
    assert_int_equal(c->rate_callers, 65536);
    gw_config_destroy(c);
    c = config_parse_ok("limits:\n  rate_callers: 1000\n");
    assert_int_equal(c->rate_callers, 1000);
    gw_config_destroy(c);

    static const struct {
        const char *yaml;
        unsigned requests, period_s, burst;
        const char *text;
    } cases[] = {
        {"limits:\n  rate: {requests: 100/s, burst: 200}\n", 100, 1, 200, "100/s, burst 200"},
        /* the burst defaults to the requests of one second, at least 1 */
        {"limits:\n  rate:\n    requests: 40/second\n", 40, 1, 40, "40/s, burst 40"},
        {"limits:\n  rate:\n    requests: 90/m\n", 90, 60, 2, "90/m, burst 2"},
        {"limits:\n  rate:\n    requests: 5/minute\n", 5, 60, 1, "5/m, burst 1"},
        {"limits:\n  rate: {requests: 3/s, per: tool}\n", 3, 1, 3, "3/s, burst 3, per tool"},
        {"limits:\n  rate: {requests: 3/s, per: caller}\n", 3, 1, 3, "3/s, burst 3"},
        {"limits:\n  rate: ~\n", 0, 0, 0, ""}, /* null: no limit */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        c = config_parse_ok(cases[i].yaml);
        assert_int_equal(c->rate.requests, cases[i].requests);
        assert_int_equal(c->rate.period_s, cases[i].period_s);
        assert_int_equal(c->rate.burst, cases[i].burst);
        char text[64];
        gw_rate_conf_text(&c->rate, text, sizeof(text));
        assert_string_equal(text, cases[i].text);
        gw_config_destroy(c);
    }
}

static void test_rate_refused(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"limits:\n  rate: {requests: 100}\n",
         "mcpgw.yaml:2: limits.rate.requests: must be a number of requests per second or "
         "minute, such as 100/s or 600/m"},
        {"limits:\n  rate: {requests: 10/h}\n",
         "mcpgw.yaml:2: limits.rate.requests: must be a number of requests per second or "
         "minute, such as 100/s or 600/m"},
        {"limits:\n  rate: {requests: /s}\n",
         "mcpgw.yaml:2: limits.rate.requests: must be a number of requests per second or "
         "minute, such as 100/s or 600/m"},
        {"limits:\n  rate: {requests: 0/s}\n",
         "mcpgw.yaml:2: limits.rate.requests: must be from 1 to 1000000 requests per second"},
        {"limits:\n  rate: {requests: 99999999999999999999/m}\n",
         "mcpgw.yaml:2: limits.rate.requests: must be from 1 to 1000000 requests per minute"},
        {"limits:\n  rate: {burst: 5}\n",
         "mcpgw.yaml:2: limits.rate: missing required key requests"},
        {"limits:\n  rate: {requests: 1/s, burst: 0}\n",
         "mcpgw.yaml:2: limits.rate.burst: must be a number of requests from 1 to 1000000"},
        {"limits:\n  rate: {requests: 1/s, per: session}\n",
         "mcpgw.yaml:2: limits.rate.per: must be caller or tool"},
        {"limits:\n  rate: 100/s\n", "mcpgw.yaml:2: limits.rate: expected a mapping"},
        {"limits:\n  rate_callers: 10\n",
         "mcpgw.yaml:2: limits.rate_callers: must be a number of callers from 64 to 16777216"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        config_expect_error(cases[i][0], cases[i][1]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rate_accepted),
        cmocka_unit_test(test_rate_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
