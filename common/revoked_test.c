/* revoked_test.c: the revoked-session set: lookups across growth, purges that shift probe runs,
 * and the broker's entry format. */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/revoked.h"

static void make_uuid(uint8_t u[16], unsigned n, unsigned salt)
{
    /* clustered first bytes on purpose: long probe runs */
    memset(u, 0, 16);
    u[0] = (uint8_t)(n % 7);
    u[8] = (uint8_t)n;
    u[9] = (uint8_t)(n >> 8);
    u[10] = (uint8_t)(n >> 16);
    u[11] = (uint8_t)salt;
}

static void test_add_has_purge(void **state)
{
    gw_revoked_t r;
    uint8_t u[16];
    gw_revoked_init(&r);
    make_uuid(u, 1, 0);
    assert_false(gw_revoked_has(&r, u));
    for (unsigned i = 0; i < 5000; i++) {
        make_uuid(u, i, 0);
        assert_int_equal(gw_revoked_add(&r, u, i % 2 ? 100 : 200), GW_OK);
    }
    assert_int_equal(r.count, 5000);
    make_uuid(u, 7, 0);
    assert_int_equal(gw_revoked_add(&r, u, 100), GW_OK); /* again: no second entry */
    assert_int_equal(r.count, 5000);
    for (unsigned i = 0; i < 5000; i++) {
        make_uuid(u, i, 0);
        assert_true(gw_revoked_has(&r, u));
        make_uuid(u, i, 1);
        assert_false(gw_revoked_has(&r, u));
    }
    assert_int_equal(gw_revoked_purge(&r, 99), 0);
    assert_int_equal(gw_revoked_purge(&r, 100), 2500); /* the odd ones */
    assert_int_equal(r.count, 2500);
    for (unsigned i = 0; i < 5000; i++) {
        make_uuid(u, i, 0);
        assert_int_equal(gw_revoked_has(&r, u), i % 2 == 0);
    }
    assert_int_equal(gw_revoked_purge(&r, 1000), 2500);
    assert_int_equal(r.count, 0);
    make_uuid(u, 2, 0);
    assert_false(gw_revoked_has(&r, u));
    gw_revoked_add(&r, u, 5);
    gw_revoked_clear(&r);
    assert_false(gw_revoked_has(&r, u));
    gw_revoked_fini(&r);
}

static void test_random_churn(void **state)
{
    gw_revoked_t r;
    gw_revoked_init(&r);
    srand(7);
    enum { N = 20000 };
    static uint8_t ids[N][16];
    static int64_t exp[N];
    for (int i = 0; i < N; i++) {
        for (int b = 0; b < 16; b++) {
            ids[i][b] = (uint8_t)rand();
        }
        exp[i] = 1 + rand() % 50;
        assert_int_equal(gw_revoked_add(&r, ids[i], exp[i]), GW_OK);
    }
    for (int64_t now = 0; now <= 50; now += 5) {
        gw_revoked_purge(&r, now);
        for (int i = 0; i < N; i++) {
            assert_int_equal(gw_revoked_has(&r, ids[i]), exp[i] > now);
        }
    }
    assert_int_equal(r.count, 0);
    gw_revoked_fini(&r);
}

static void test_parse_entry(void **state)
{
    uint8_t u[16];
    int64_t e = 0;
    assert_int_equal(
        gw_revoked_parse_entry("0123abcd-4567-89ab-cdef-0123456789ab 1790000000", u, &e), GW_OK);
    assert_int_equal(e, 1790000000);
    assert_int_equal(u[0], 0x01);
    assert_int_equal(u[3], 0xcd);
    assert_int_equal(u[15], 0xab);
    static const char *bad[] = {
        "",
        "0123abcd-4567-89ab-cdef-0123456789ab",
        "0123abcd-4567-89ab-cdef-0123456789ab ",
        "0123abcd-4567-89ab-cdef-0123456789ab x",
        "0123abcd-4567-89ab-cdef-0123456789ab 12x",
        "0123abcd+4567-89ab-cdef-0123456789ab 1",
        "0123ABCD-4567-89ab-cdef-0123456789ab 1",
        "0123abcd-4567-89ab-cdef-0123456789a 1",
        "0123abcd-4567-89ab-cdef-0123456789ab 0",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(gw_revoked_parse_entry(bad[i], u, &e), GW_EPARSE);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_has_purge),
        cmocka_unit_test(test_random_churn),
        cmocka_unit_test(test_parse_entry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
