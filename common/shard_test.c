/* shard_test.c: the shard of a session or caller (shard.h): the same every time, within range,
 * spread evenly, and one shard for every message of one session or caller. */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/shard.h"

static gw_str_t text(const char *s)
{
    return (gw_str_t){s, strlen(s)};
}

static void test_session_stable_and_spread(void **state)
{
    (void)state;
    unsigned count[3] = {0};
    char uuid[40];
    for (unsigned i = 0; i < 3000; i++) {
        snprintf(uuid, sizeof(uuid), "4c1f0d9e-7a1b-4c2d-9e3f-%012x", i * 7919u);
        unsigned k = gw_shard_of_session(text(uuid), 3);
        assert_true(k < 3);
        assert_int_equal(k, gw_shard_of_session(text(uuid), 3));
        count[k]++;
    }
    for (unsigned k = 0; k < 3; k++) { /* 1000 expected each; 10 sigma is about 260 */
        assert_in_range(count[k], 800, 1200);
    }
    assert_int_equal(gw_shard_of_session(text(uuid), 1), 0);
    assert_int_equal(gw_shard_of_session(text(uuid), 0), 0);
}

static void test_envelope_follows_session_then_caller(void **state)
{
    (void)state;
    const char *uuid = "0b7a4e2c-2f9d-4d1e-8c3b-5a6f7e8d9c0b";
    gw_envelope_t e = {.session = text(uuid)};
    e.headers[0] = (gw_env_header_t){GW_STR("auth-subject"), text("alice")};
    e.nheaders = 1;
    for (unsigned n = 1; n <= 64; n++) {
        assert_int_equal(gw_shard_of(&e, n), gw_shard_of_session(text(uuid), n));
    }
    /* a modern call: no session, the caller decides; a second caller lands elsewhere for some n */
    e.session = GW_STR_NULL;
    e.headers[1] = (gw_env_header_t){GW_STR("auth-issuer-tag"), text("12345678")};
    e.nheaders = 2;
    int differs = 0;
    for (unsigned n = 2; n <= 64; n++) {
        unsigned k = gw_shard_of(&e, n);
        assert_int_equal(k, gw_shard_of_caller(text("12345678"), text("alice"), n));
        differs |= k != gw_shard_of_caller(text("12345678"), text("bob"), n);
    }
    assert_true(differs);
    gw_envelope_t anon = {0};
    assert_int_equal(gw_shard_of(&anon, 7), gw_shard_of_caller(GW_STR_NULL, GW_STR_NULL, 7));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_session_stable_and_spread),
        cmocka_unit_test(test_envelope_follows_session_then_caller),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
