/* sessmap_test.c: the upstream session map: insert and find, growth past the first table with
 * every entry still found, removal from the middle of a chain, keys that are prefixes. */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "worker/sessmap.h"

#define N 5000

typedef struct item {
    wrk_sessmap_entry_t e;
    char key[32];
} item_t;

static void item_set(item_t *it, unsigned i)
{
    snprintf(it->key, sizeof(it->key), "session-%u", i);
    it->e.key = it->key;
    it->e.keylen = strlen(it->key);
}

static wrk_sessmap_entry_t *find(const wrk_sessmap_t *m, const char *key)
{
    return wrk_sessmap_find(m, key, strlen(key));
}

static void test_empty(void **state)
{
    wrk_sessmap_t m;

    (void)state;
    wrk_sessmap_init(&m);
    assert_null(find(&m, "a"));
    assert_null(wrk_sessmap_any(&m));
    wrk_sessmap_fini(&m);
}

static void test_insert_find(void **state)
{
    wrk_sessmap_t m;
    item_t a;
    item_t b;

    (void)state;
    wrk_sessmap_init(&m);
    item_set(&a, 1);
    item_set(&b, 12);
    assert_int_equal(wrk_sessmap_insert(&m, &a.e), GW_OK);
    assert_int_equal(wrk_sessmap_insert(&m, &b.e), GW_OK);
    assert_int_equal(m.n, 2);
    assert_int_equal(m.nbuckets, WRK_SESSMAP_MIN);
    assert_ptr_equal(find(&m, "session-1"), &a.e);
    assert_ptr_equal(find(&m, "session-12"), &b.e);
    assert_null(find(&m, "session-"));                             /* a prefix of both */
    assert_null(find(&m, "session-123"));                          /* one longer */
    assert_ptr_equal(wrk_sessmap_find(&m, "session-12", 9), &a.e); /* n bytes of key, no NUL */
    wrk_sessmap_remove(&m, &a.e);
    wrk_sessmap_remove(&m, &b.e);
    assert_null(wrk_sessmap_any(&m));
    wrk_sessmap_fini(&m);
}

static void test_grow_remove(void **state)
{
    wrk_sessmap_t m;
    item_t *items = calloc(N, sizeof(*items));
    char key[32];

    (void)state;
    assert_non_null(items);
    wrk_sessmap_init(&m);
    for (unsigned i = 0; i < N; i++) {
        item_set(&items[i], i);
        assert_int_equal(wrk_sessmap_insert(&m, &items[i].e), GW_OK);
        assert_true(m.nbuckets >= WRK_SESSMAP_MIN);
        assert_int_equal(m.nbuckets & (m.nbuckets - 1), 0); /* a power of two */
    }
    assert_int_equal(m.n, N);
    assert_true(m.nbuckets >= N); /* it grew: one entry per bucket on average at most */
    for (unsigned i = 0; i < N; i++) {
        snprintf(key, sizeof(key), "session-%u", i);
        assert_ptr_equal(find(&m, key), &items[i].e);
    }
    /* every third one out, from wherever it sits in its chain */
    for (unsigned i = 0; i < N; i += 3) {
        wrk_sessmap_remove(&m, &items[i].e);
    }
    for (unsigned i = 0; i < N; i++) {
        snprintf(key, sizeof(key), "session-%u", i);
        if (i % 3 == 0) {
            assert_null(find(&m, key));
        } else {
            assert_ptr_equal(find(&m, key), &items[i].e);
        }
    }
    /* an entry taken out can go in again */
    assert_int_equal(wrk_sessmap_insert(&m, &items[0].e), GW_OK);
    assert_ptr_equal(find(&m, "session-0"), &items[0].e);
    /* emptied through any(), as the worker does at exit */
    size_t left = m.n;
    wrk_sessmap_entry_t *e;
    while ((e = wrk_sessmap_any(&m)) != NULL) {
        wrk_sessmap_remove(&m, e);
        left--;
    }
    assert_int_equal(left, 0);
    assert_int_equal(m.n, 0);
    wrk_sessmap_fini(&m);
    free(items);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_insert_find),
        cmocka_unit_test(test_grow_remove),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
