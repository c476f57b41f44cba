/* mrtr_test.c: the parked-call table: slots from the free list, the resume's run, slot, nonce,
 * round and caller checks, the per-worker and per-caller bounds, rounds, and expiry order. */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "worker/mrtr.h"

#define RUN 0x0123456789abcdefull
#define S(lit) ((gw_str_t){(lit), sizeof(lit) - 1})

typedef struct hdrs {
    char run[17], slot[12], nonce[12], round[12];
    gw_env_header_t h[4];
} hdrs_t;

static void hdrs_set(hdrs_t *x, uint64_t run, uint32_t slot, uint32_t nonce, unsigned round)
{
    snprintf(x->run, sizeof(x->run), "%016llx", (unsigned long long)run);
    snprintf(x->slot, sizeof(x->slot), "%u", slot);
    snprintf(x->nonce, sizeof(x->nonce), "%u", nonce);
    snprintf(x->round, sizeof(x->round), "%u", round);
    x->h[0] = (gw_env_header_t){S("wait-run"), {x->run, strlen(x->run)}};
    x->h[1] = (gw_env_header_t){S("wait-slot"), {x->slot, strlen(x->slot)}};
    x->h[2] = (gw_env_header_t){S("wait-nonce"), {x->nonce, strlen(x->nonce)}};
    x->h[3] = (gw_env_header_t){S("wait-round"), {x->round, strlen(x->round)}};
}

static void test_slots_reused(void **state)
{
    (void)state;
    wrk_mrtr_t t;
    wrk_wait_err_t err;
    assert_int_equal(wrk_mrtr_init(&t, 4, RUN), GW_OK);
    wrk_wait_t *a = wrk_mrtr_alloc(&t, S(""), S("a"), 1, &err);
    wrk_wait_t *b = wrk_mrtr_alloc(&t, S(""), S("b"), 2, &err);
    assert_non_null(a);
    assert_non_null(b);
    assert_int_not_equal(a->slot, b->slot);
    assert_int_equal(a->state, WRK_WAIT_COLLECTING);
    assert_int_equal(a->round, 0);
    uint32_t sa = a->slot;
    wrk_mrtr_free(&t, a);
    assert_int_equal(t.nused, 1);
    wrk_wait_t *c = wrk_mrtr_alloc(&t, S(""), S("c"), 3, &err);
    assert_non_null(c);
    assert_int_equal(c->slot, sa); /* from the free list */
    assert_int_equal(t.hwm, 2);
    wrk_mrtr_fini(&t);
}

static void test_resume_checks(void **state)
{
    (void)state;
    wrk_mrtr_t t;
    wrk_wait_err_t err;
    hdrs_t x;
    assert_int_equal(wrk_mrtr_init(&t, 8, RUN), GW_OK);
    wrk_wait_t *w = wrk_mrtr_alloc(&t, S("TAGTAG01"), S("alice"), 77, &err);
    assert_non_null(w);

    /* not parked yet: round 0 is no interim result */
    hdrs_set(&x, RUN, w->slot, 77, 0);
    assert_null(wrk_mrtr_lookup(&t, x.h, 4, S("TAGTAG01"), S("alice"), &err));
    assert_int_equal(err, WRK_WAIT_E_NOT_PARKED);

    assert_int_equal(wrk_wait_park(w, 1000), GW_OK);
    assert_int_equal(w->round, 1);
    hdrs_set(&x, RUN, w->slot, 77, 1);
    assert_ptr_equal(wrk_mrtr_lookup(&t, x.h, 4, S("TAGTAG01"), S("alice"), &err), w);
    assert_int_equal(err, WRK_WAIT_OK);

    hdrs_set(&x, RUN ^ 1, w->slot, 77, 1);
    assert_null(wrk_mrtr_lookup(&t, x.h, 4, S("TAGTAG01"), S("alice"), &err));
    assert_int_equal(err, WRK_WAIT_E_RUN);
    hdrs_set(&x, RUN, w->slot + 1, 77, 1);
    assert_null(wrk_mrtr_lookup(&t, x.h, 4, S("TAGTAG01"), S("alice"), &err));
    assert_int_equal(err, WRK_WAIT_E_NO_SLOT);
    hdrs_set(&x, RUN, 4000000000u, 77, 1);
    assert_null(wrk_mrtr_lookup(&t, x.h, 4, S("TAGTAG01"), S("alice"), &err));
    assert_int_equal(err, WRK_WAIT_E_NO_SLOT);
    hdrs_set(&x, RUN, w->slot, 78, 1);
    assert_null(wrk_mrtr_lookup(&t, x.h, 4, S("TAGTAG01"), S("alice"), &err));
    assert_int_equal(err, WRK_WAIT_E_NONCE);
    hdrs_set(&x, RUN, w->slot, 77, 2);
    assert_null(wrk_mrtr_lookup(&t, x.h, 4, S("TAGTAG01"), S("alice"), &err));
    assert_int_equal(err, WRK_WAIT_E_ROUND);
    hdrs_set(&x, RUN, w->slot, 77, 1);
    assert_null(wrk_mrtr_lookup(&t, x.h, 4, S("TAGTAG01"), S("bob"), &err));
    assert_int_equal(err, WRK_WAIT_E_OTHER_CALLER);
    assert_null(wrk_mrtr_lookup(&t, x.h, 4, S(""), S("alice"), &err));
    assert_int_equal(err, WRK_WAIT_E_OTHER_CALLER);
    assert_null(wrk_mrtr_lookup(&t, x.h, 4, S(""), S(""), &err));
    assert_int_equal(err, WRK_WAIT_E_OTHER_CALLER);

    /* malformed headers: a missing one, upper-case hex, a sign, a leading zero, past u32 */
    assert_null(wrk_mrtr_lookup(&t, x.h, 3, S("TAGTAG01"), S("alice"), &err));
    assert_int_equal(err, WRK_WAIT_E_HEADERS);
    static const char *const bad_runs[] = {"0123456789ABCDEF", "0123456789abcde", "x"};
    for (size_t i = 0; i < 3; i++) {
        hdrs_set(&x, RUN, w->slot, 77, 1);
        x.h[0].value = (gw_str_t){bad_runs[i], strlen(bad_runs[i])};
        assert_null(wrk_mrtr_lookup(&t, x.h, 4, S("TAGTAG01"), S("alice"), &err));
        assert_int_equal(err, WRK_WAIT_E_HEADERS);
    }
    static const char *const bad_nums[] = {"-1", "01", "4294967296", "", "1 "};
    for (size_t i = 0; i < 5; i++) {
        hdrs_set(&x, RUN, w->slot, 77, 1);
        x.h[2].value = (gw_str_t){bad_nums[i], strlen(bad_nums[i])};
        assert_null(wrk_mrtr_lookup(&t, x.h, 4, S("TAGTAG01"), S("alice"), &err));
        assert_int_equal(err, WRK_WAIT_E_HEADERS);
    }

    /* once resumed (no longer parked), the same headers are refused: single use */
    w->state = WRK_WAIT_ATTACHED;
    hdrs_set(&x, RUN, w->slot, 77, 1);
    assert_null(wrk_mrtr_lookup(&t, x.h, 4, S("TAGTAG01"), S("alice"), &err));
    assert_int_equal(err, WRK_WAIT_E_NOT_PARKED);

    /* a freed slot reused by another call: the old headers name nothing */
    uint32_t slot = w->slot;
    wrk_mrtr_free(&t, w);
    wrk_wait_t *o = wrk_mrtr_alloc(&t, S("TAGTAG01"), S("alice"), 99, &err);
    assert_int_equal(o->slot, slot);
    assert_int_equal(wrk_wait_park(o, 1000), GW_OK);
    assert_null(wrk_mrtr_lookup(&t, x.h, 4, S("TAGTAG01"), S("alice"), &err));
    assert_int_equal(err, WRK_WAIT_E_NONCE);
    wrk_mrtr_fini(&t);
}

static void test_bounds(void **state)
{
    (void)state;
    wrk_mrtr_t t;
    wrk_wait_err_t err;
    assert_int_equal(wrk_mrtr_init(&t, WRK_WAITS_PER_CALLER + 3, RUN), GW_OK);
    for (unsigned i = 0; i < WRK_WAITS_PER_CALLER; i++) {
        assert_non_null(wrk_mrtr_alloc(&t, S(""), S("alice"), i, &err));
    }
    assert_null(wrk_mrtr_alloc(&t, S(""), S("alice"), 0, &err));
    assert_int_equal(err, WRK_WAIT_E_CALLER);
    /* another caller (and anonymous is one caller of its own) still parks, up to the worker's */
    assert_non_null(wrk_mrtr_alloc(&t, S("TAGTAG01"), S("alice"), 0, &err));
    assert_non_null(wrk_mrtr_alloc(&t, S(""), S("bob"), 0, &err));
    assert_non_null(wrk_mrtr_alloc(&t, S(""), S(""), 0, &err));
    assert_null(wrk_mrtr_alloc(&t, S(""), S("carol"), 0, &err));
    assert_int_equal(err, WRK_WAIT_E_FULL);
    assert_int_equal(t.nused, WRK_WAITS_PER_CALLER + 3);
    wrk_mrtr_fini(&t);

    /* requests per call and rounds */
    assert_int_equal(wrk_mrtr_init(&t, 1, RUN), GW_OK);
    wrk_wait_t *w = wrk_mrtr_alloc(&t, S(""), S(""), 5, &err);
    for (unsigned i = 0; i < WRK_WAIT_REQS_MAX; i++) {
        assert_non_null(wrk_wait_add_req(w, i + 1, "roots/list", "7", 1, "{}", 2));
    }
    assert_null(wrk_wait_add_req(w, 99, "roots/list", "7", 1, "{}", 2));
    assert_null(wrk_wait_add_req(w, 99, "a/method/name/longer/than/the/bound", "7", 1, "", 0));
    wrk_wait_remove_req(w, 0);
    assert_int_equal(w->nreqs, WRK_WAIT_REQS_MAX - 1);
    assert_int_equal(w->reqs[0].n, 2);
    assert_non_null(wrk_wait_add_req(w, 100, "elicitation/create", "\"e\"", 3, "{}", 2));
    assert_int_equal(w->reqs[w->nreqs - 1].asked, 0);
    assert_int_equal(wrk_wait_park(w, 10), GW_OK);
    assert_int_equal(w->reqs[w->nreqs - 1].asked, 1);
    for (unsigned r = 2; r <= WRK_WAIT_ROUND_MAX; r++) {
        w->state = WRK_WAIT_COLLECTING;
        assert_int_equal(wrk_wait_park(w, 10), GW_OK);
    }
    assert_int_equal(w->round, WRK_WAIT_ROUND_MAX);
    assert_int_equal(wrk_wait_park(w, 10), GW_ETOOBIG);
    wrk_mrtr_fini(&t);
}

static void test_expiry_order(void **state)
{
    (void)state;
    wrk_mrtr_t t;
    wrk_wait_err_t err;
    int64_t next;
    assert_int_equal(wrk_mrtr_init(&t, 8, RUN), GW_OK);
    wrk_wait_t *a = wrk_mrtr_alloc(&t, S(""), S("a"), 1, &err);
    wrk_wait_t *b = wrk_mrtr_alloc(&t, S(""), S("b"), 2, &err);
    wrk_wait_t *c = wrk_mrtr_alloc(&t, S(""), S("c"), 3, &err);
    wrk_wait_t *d = wrk_mrtr_alloc(&t, S(""), S("d"), 4, &err); /* collecting: never expires */
    assert_non_null(d);
    wrk_wait_park(a, 300);
    wrk_wait_park(b, 100);
    wrk_wait_park(c, 200);
    assert_null(wrk_mrtr_expired(&t, 99, &next));
    assert_int_equal(next, 100);
    assert_ptr_equal(wrk_mrtr_expired(&t, 250, &next), b); /* the earliest first */
    assert_int_equal(next, 300);
    wrk_mrtr_free(&t, b);
    assert_ptr_equal(wrk_mrtr_expired(&t, 250, &next), c);
    wrk_mrtr_free(&t, c);
    assert_null(wrk_mrtr_expired(&t, 250, &next));
    assert_int_equal(next, 300);
    a->state = WRK_WAIT_ATTACHED; /* resumed: its expiry no longer counts */
    assert_null(wrk_mrtr_expired(&t, 1000, &next));
    assert_int_equal(next, INT64_MAX);
    wrk_mrtr_fini(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slots_reused),
        cmocka_unit_test(test_resume_checks),
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_expiry_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
