/* htable_test.c: the chained hash table: find across growth, collisions, removal while
 * iterating, and every entry visited exactly once. */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/hash.h"
#include "common/htable.h"

typedef struct item {
    char key[16];
    int visits;
    gw_hnode_t node;
} item_t;

static int item_eq(const gw_hnode_t *n, const void *key, size_t len)
{
    const item_t *it = GW_CONTAINER_OF(n, item_t, node);
    return strlen(it->key) == len && memcmp(it->key, key, len) == 0;
}

static item_t *find(gw_htable_t *t, const char *key, uint64_t hash)
{
    gw_hnode_t *n = gw_htable_find(t, hash, key, strlen(key), item_eq);
    return n == NULL ? NULL : GW_CONTAINER_OF(n, item_t, node);
}

#define N 1000

static void test_insert_find_grow(void **state)
{
    (void)state;
    gw_htable_t t;
    item_t *items = calloc(N, sizeof(*items));
    gw_htable_init(&t);
    assert_null(find(&t, "nothing", gw_hash("nothing", 7)));
    for (int i = 0; i < N; i++) {
        snprintf(items[i].key, sizeof(items[i].key), "k%d", i);
        assert_int_equal(
            gw_htable_insert(&t, &items[i].node, gw_hash(items[i].key, strlen(items[i].key))),
            GW_OK);
    }
    assert_int_equal(t.n, N);
    assert_true(t.nbuckets >= N);
    assert_int_equal(t.nbuckets & (t.nbuckets - 1), 0);
    for (int i = 0; i < N; i++) {
        assert_ptr_equal(find(&t, items[i].key, gw_hash(items[i].key, strlen(items[i].key))),
                         &items[i]);
    }
    assert_null(find(&t, "k1000", gw_hash("k1000", 5)));
    gw_htable_fini(&t);
    free(items);
}

static void test_collisions(void **state)
{
    (void)state;
    gw_htable_t t;
    item_t a = {.key = "a"}, b = {.key = "b"}, c = {.key = "c"};
    gw_htable_init(&t);
    /* one hash for all: the keys decide */
    gw_htable_insert(&t, &a.node, 42);
    gw_htable_insert(&t, &b.node, 42);
    gw_htable_insert(&t, &c.node, 42 + 16); /* same bucket, another hash */
    assert_ptr_equal(find(&t, "a", 42), &a);
    assert_ptr_equal(find(&t, "b", 42), &b);
    assert_null(find(&t, "c", 42));
    assert_ptr_equal(find(&t, "c", 42 + 16), &c);
    gw_htable_remove(&t, &b.node);
    assert_null(find(&t, "b", 42));
    assert_ptr_equal(find(&t, "a", 42), &a);
    assert_int_equal(t.n, 2);
    gw_htable_fini(&t);
}

static void test_iterate_and_remove(void **state)
{
    (void)state;
    gw_htable_t t;
    item_t *items = calloc(N, sizeof(*items));
    gw_htable_init(&t);
    for (int i = 0; i < N; i++) {
        snprintf(items[i].key, sizeof(items[i].key), "k%d", i);
        gw_htable_insert(&t, &items[i].node, gw_hash(items[i].key, strlen(items[i].key)));
    }
    /* every entry once; remove the even ones on the way */
    size_t pos = 0;
    gw_hnode_t *n = gw_htable_next(&t, NULL, &pos);
    while (n != NULL) {
        gw_hnode_t *next = gw_htable_next(&t, n, &pos);
        item_t *it = GW_CONTAINER_OF(n, item_t, node);
        it->visits++;
        if ((it - items) % 2 == 0) {
            gw_htable_remove(&t, n);
        }
        n = next;
    }
    for (int i = 0; i < N; i++) {
        assert_int_equal(items[i].visits, 1);
    }
    assert_int_equal(t.n, N / 2);
    size_t left = 0;
    pos = 0;
    for (n = gw_htable_next(&t, NULL, &pos); n != NULL; n = gw_htable_next(&t, n, &pos)) {
        item_t *it = GW_CONTAINER_OF(n, item_t, node);
        assert_int_equal((it - items) % 2, 1);
        left++;
    }
    assert_int_equal(left, N / 2);
    gw_htable_fini(&t);
    free(items);
}

static void test_empty_iteration(void **state)
{
    (void)state;
    gw_htable_t t;
    size_t pos = 0;
    gw_htable_init(&t);
    assert_null(gw_htable_next(&t, NULL, &pos));
    gw_htable_fini(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_insert_find_grow),
        cmocka_unit_test(test_collisions),
        cmocka_unit_test(test_iterate_and_remove),
        cmocka_unit_test(test_empty_iteration),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
