/* rate_test.c: the shared GCRA table over simulated time: the rate and the burst hold, Retry-After
 * is rounded up, stale buckets are reclaimed, a full group overflows into a shared bucket that is
 * counted, and two mappings of one file (and two processes hammering it) share one bucket. */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/rate.h"

#define SEC 1000000
#define KIDS 4 /* processes charging the same buckets at once (more than the cores) */
#define HAMMER_KEYS 6

static char path[64];

static int setup(void **state)
{
    (void)state;
    snprintf(path, sizeof(path), "/tmp/mcpgw-rate-test-%ld", (long)getpid());
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(path);
    return 0;
}

static gw_rate_table_t *table(unsigned slots)
{
    gw_rate_table_t *t = NULL;
    assert_int_equal(gw_rate_create(path, slots, &t), GW_OK);
    return t;
}

static int take(gw_rate_table_t *t, const char *key, const gw_rate_spec_t *spec, int64_t now)
{
    return gw_rate_take(t, key, strlen(key), spec, now).allowed;
}

static void test_spec(void **state)
{
    (void)state;
    gw_rate_spec_t s = gw_rate_spec_make(100, 1, 200);
    assert_int_equal(s.interval_us, 10000);
    assert_int_equal(s.tau_us, 2000000);
    s = gw_rate_spec_make(6000, 60, 0); /* 6000/m: 100/s, burst 100 */
    assert_int_equal(s.interval_us, 10000);
    assert_int_equal(s.tau_us, 1000000);
    assert_int_equal(gw_rate_default_burst(5, 60), 1);
    assert_int_equal(gw_rate_default_burst(40, 1), 40);
    assert_int_equal(gw_rate_default_burst(90, 60), 2);
    s = gw_rate_spec_make(0, 1, 10);
    assert_int_equal(s.interval_us, 0);
}

/* Offered far above the limit for 10 simulated seconds: burst + rate x time get through. */
static void test_rate_holds(void **state)
{
    (void)state;
    gw_rate_table_t *t = table(1024);
    gw_rate_spec_t s = gw_rate_spec_make(100, 1, 10);
    unsigned allowed = 0;
    for (int64_t now = 0; now <= 10 * SEC; now += 1000) { /* 1,000 per second offered */
        allowed += (unsigned)take(t, "caller", &s, now);
    }
    assert_in_range(allowed, 10 + 1000, 10 + 1001);
    /* per minute */
    s = gw_rate_spec_make(30, 60, 1);
    allowed = 0;
    for (int64_t now = 0; now < 120 * SEC; now += SEC / 10) {
        allowed += (unsigned)take(t, "per-minute", &s, now);
    }
    assert_int_equal(allowed, 1 + 59);
    gw_rate_destroy(t);
}

static void test_burst_and_retry_after(void **state)
{
    (void)state;
    gw_rate_table_t *t = table(64);
    gw_rate_spec_t s = gw_rate_spec_make(40, 1, 10); /* one per 25 ms */
    int64_t now = 5 * SEC;
    for (int i = 0; i < 10; i++) {
        assert_true(take(t, "a", &s, now));
    }
    gw_rate_result_t r = gw_rate_take(t, "a", 1, &s, now);
    assert_false(r.allowed);
    assert_int_equal(r.retry_after_us, 25000);
    assert_int_equal(gw_rate_retry_after_s(&r), 1); /* rounded up */
    assert_false(take(t, "a", &s, now + 24999));
    assert_true(take(t, "a", &s, now + 25000));
    assert_false(take(t, "a", &s, now + 25000));
    /* a quiet caller earns its burst back, no more */
    now += 10 * SEC;
    for (int i = 0; i < 10; i++) {
        assert_true(take(t, "a", &s, now));
    }
    assert_false(take(t, "a", &s, now));
    /* a denied request is not charged: waiting retry_after is enough */
    r = gw_rate_take(t, "a", 1, &s, now);
    assert_true(take(t, "a", &s, now + (int64_t)r.retry_after_us));

    /* a long period: Retry-After in whole seconds */
    s = gw_rate_spec_make(1, 60, 1);
    assert_true(take(t, "slow", &s, now));
    r = gw_rate_take(t, "slow", 4, &s, now + 1);
    assert_false(r.allowed);
    assert_int_equal(gw_rate_retry_after_s(&r), 60);
    /* no limit: always allowed */
    gw_rate_spec_t none = gw_rate_spec_make(0, 1, 0);
    for (int i = 0; i < 1000; i++) {
        assert_true(take(t, "a", &none, now));
    }
    gw_rate_destroy(t);
}

/* Callers are independent: one at its limit does not slow another. */
static void test_independent_keys(void **state)
{
    (void)state;
    gw_rate_table_t *t = table(4096);
    gw_rate_spec_t s = gw_rate_spec_make(10, 1, 3);
    char key[32];
    for (int k = 0; k < 200; k++) {
        snprintf(key, sizeof(key), "caller-%d", k);
        for (int i = 0; i < 3; i++) {
            gw_rate_result_t r = gw_rate_take(t, key, strlen(key), &s, SEC);
            assert_true(r.allowed);
            assert_false(r.overflow);
        }
        assert_false(take(t, key, &s, SEC));
    }
    gw_rate_destroy(t);
}

/* More live callers than slots: the table does not grow; those that find no slot share overflow
 * buckets (flagged), never get more than the limit each; once the buckets go stale every caller
 * gets a slot of its own again. */
static void test_full_table_and_reclaim(void **state)
{
    (void)state;
    gw_rate_table_t *t = table(64);
    assert_int_equal(gw_rate_slots(t), 64);
    assert_int_equal(gw_rate_overflow_slots(t), 8);
    gw_rate_spec_t s = gw_rate_spec_make(1, 1, 2); /* a bucket stays live for 2 s */
    char key[32];
    unsigned allowed = 0, overflowed = 0, own = 0;
    for (int k = 0; k < 1000; k++) {
        snprintf(key, sizeof(key), "k%d", k);
        for (int i = 0; i < 3; i++) {
            gw_rate_result_t r = gw_rate_take(t, key, strlen(key), &s, SEC);
            allowed += (unsigned)r.allowed;
            overflowed += (unsigned)r.overflow;
            own += (unsigned)(r.allowed && !r.overflow);
        }
    }
    /* each slot and each overflow bucket let 2 through, no more */
    assert_int_equal(own, 64 * 2);
    assert_int_equal(allowed, (64 + 8) * 2);
    /* the others overflowed, but for the rare key whose 16-bit tag equals a live one's in its
     * group (~0.1 of 936 here): it shares that bucket, denied as it is full */
    assert_true(overflowed >= (1000 - 64 - 16) * 3);
    /* 3 s later every bucket is stale: new callers are reclaimed into slots of their own */
    unsigned fresh_own = 0;
    for (int k = 0; k < 64; k++) {
        snprintf(key, sizeof(key), "new%d", k);
        gw_rate_result_t r = gw_rate_take(t, key, strlen(key), &s, 4 * SEC);
        fresh_own += (unsigned)(r.allowed && !r.overflow);
    }
    assert_true(fresh_own >= 40); /* the groups the 64 hashes fall in, not all 8 each */
    /* and later again: a few new callers all find slots (8 per group; 16 keys fill none) */
    for (int k = 0; k < 16; k++) {
        snprintf(key, sizeof(key), "other%d", k);
        gw_rate_result_t r = gw_rate_take(t, key, strlen(key), &s, 10 * SEC);
        assert_true(r.allowed);
        assert_false(r.overflow);
    }
    gw_rate_destroy(t);
}

/* Two mappings of the same file, as two router processes have: one bucket per caller. */
static void test_two_mappings(void **state)
{
    (void)state;
    gw_rate_table_t *a = table(256);
    gw_rate_table_t *b = NULL;
    assert_int_equal(gw_rate_attach(path, &b), GW_OK);
    assert_int_equal(gw_rate_slots(b), 256);
    gw_rate_spec_t s = gw_rate_spec_make(50, 1, 5);
    unsigned allowed = 0;
    for (int64_t now = 0; now < 4 * SEC; now += 2000) {
        allowed += (unsigned)take((now / 2000) % 2 ? a : b, "shared", &s, now);
    }
    assert_in_range(allowed, 5 + 200 - 1, 5 + 200);
    /* the clock origin is the file's: both mappings read the same now */
    int64_t na = gw_rate_now(a), nb = gw_rate_now(b);
    assert_true(nb >= na && nb - na < SEC);
    gw_rate_destroy(b);
    gw_rate_destroy(a);
}

/* Processes charge the same buckets at once, as fast as they can: exactly the burst of each
 * bucket gets through between them (every compare-and-swap lost is retried, never double-spent;
 * a plain load and store instead lets thousands more through in most runs). */
static void test_two_processes(void **state)
{
    (void)state;
    gw_rate_table_t *t = table(1024);
    gw_rate_spec_t s = gw_rate_spec_make(1, 1, 200000);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    /* a barrier the children spin on, so that they charge the buckets at the same time */
    unsigned *ready =
        mmap(NULL, sizeof(unsigned), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(ready != MAP_FAILED);
    *ready = 0;
    pid_t kids[KIDS];
    for (int p = 0; p < KIDS; p++) {
        kids[p] = fork();
        assert_true(kids[p] >= 0);
        if (kids[p] == 0) {
            gw_rate_table_t *mine = NULL;
            unsigned n = 0;
            if (gw_rate_attach(path, &mine) == GW_OK) {
                __atomic_add_fetch(ready, 1, __ATOMIC_ACQ_REL);
                while (__atomic_load_n(ready, __ATOMIC_ACQUIRE) < KIDS) {
                }
                static const char *const keys[HAMMER_KEYS] = {"a", "b", "c", "d", "e", "f"};
                for (int i = 0; i < 1500000; i++) {
                    n += (unsigned)take(mine, keys[i % HAMMER_KEYS], &s, SEC);
                }
            }
            ssize_t w = write(fds[1], &n, sizeof(n));
            _exit(w == sizeof(n) ? 0 : 1);
        }
    }
    unsigned total = 0;
    for (int p = 0; p < KIDS; p++) {
        unsigned n = 0;
        assert_int_equal(read(fds[0], &n, sizeof(n)), sizeof(n));
        total += n;
        int st = 0;
        assert_int_equal(waitpid(kids[p], &st, 0), kids[p]);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    close(fds[0]);
    close(fds[1]);
    munmap(ready, sizeof(unsigned));
    assert_int_equal(total, HAMMER_KEYS * 200000);
    gw_rate_destroy(t);
}

static void test_attach_refuses(void **state)
{
    (void)state;
    gw_rate_table_t *t = NULL;
    unlink(path);
    assert_int_equal(gw_rate_attach(path, &t), GW_ENOTFOUND);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("not a rate table, not at all; long enough to hold a header of sixty-four bytes", f);
    fclose(f);
    assert_int_equal(gw_rate_attach(path, &t), GW_EPROTO);
    /* sizes are rounded up to a power of two, within bounds */
    t = table(1000);
    assert_int_equal(gw_rate_slots(t), 1024);
    gw_rate_destroy(t);
    t = table(1);
    assert_int_equal(gw_rate_slots(t), GW_RATE_SLOTS_MIN);
    gw_rate_destroy(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec),
        cmocka_unit_test_setup_teardown(test_rate_holds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_burst_and_retry_after, setup, teardown),
        cmocka_unit_test_setup_teardown(test_independent_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_table_and_reclaim, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_mappings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_processes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_attach_refuses, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
