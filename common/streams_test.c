/* streams_test.c: the broker's GET stream records: holders, event ids, bounded replay. */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/streams.h"

#define KEY "4c1f0d9e-0000-4000-8000-000000000001"

typedef struct seen {
    char ids[16][GW_EVENT_ID_MAX];
    char bodies[1024];
    int n;
} seen_t;

static void collect(void *arg, const char *id, const char *json, size_t len)
{
    seen_t *s = arg;
    snprintf(s->ids[s->n++], GW_EVENT_ID_MAX, "%s", id);
    strncat(s->bodies, json, len);
    strcat(s->bodies, "|");
}

static size_t replay(gw_streams_t *s, gw_stream_t *st, const char *last, seen_t *out)
{
    memset(out, 0, sizeof(*out));
    return gw_stream_replay(s, st, last, strlen(last), collect, out);
}

static void test_holders(void **state)
{
    gw_streams_t s;
    char prev[GW_STREAM_HOLDER_MAX];
    uint64_t pc;
    assert_int_equal(gw_streams_init(&s, 4, 1024, 36), GW_OK);
    assert_null(gw_streams_find(&s, KEY, strlen(KEY)));
    gw_stream_t *st = gw_streams_get(&s, KEY, strlen(KEY));
    assert_non_null(st);
    assert_ptr_equal(gw_streams_get(&s, KEY, strlen(KEY)), st);
    assert_int_equal(gw_streams_count(&s), 1);

    gw_stream_hold(st, "router-0", 8, 7, prev, &pc);
    assert_string_equal(prev, "");
    gw_stream_hold(st, "router-1", 8, 9, prev, &pc); /* the newest stream wins */
    assert_string_equal(prev, "router-0");
    assert_int_equal(pc, 7);
    assert_int_equal(gw_stream_release(st, "router-0", 8, 7), 0); /* not the holder any more */
    assert_string_equal(st->holder, "router-1");
    assert_int_equal(gw_stream_release(st, "router-1", 8, 9), 1);
    assert_string_equal(st->holder, "");

    gw_stream_hold(st, "router-2", 8, 3, prev, &pc);
    assert_int_equal(gw_streams_release_holder(&s, "router-2"), 1);
    assert_string_equal(st->holder, "");

    gw_streams_drop(&s, KEY, strlen(KEY));
    assert_null(gw_streams_find(&s, KEY, strlen(KEY)));
    assert_int_equal(gw_streams_count(&s), 0);
    gw_streams_fini(&s);
}

static void test_ids_and_replay(void **state)
{
    gw_streams_t s;
    seen_t seen;
    char id[GW_EVENT_ID_MAX];
    assert_int_equal(gw_streams_init(&s, 3, 1024, 36 * 36 + 1), GW_OK); /* epoch "101" */
    gw_stream_t *st = gw_streams_get(&s, KEY, strlen(KEY));
    for (int i = 1; i <= 5; i++) {
        char body[16];
        snprintf(body, sizeof(body), "{\"e\":%d}", i);
        assert_int_equal(gw_stream_publish(&s, st, body, strlen(body), id), GW_OK);
    }
    assert_string_equal(id, "101-5");
    assert_int_equal(st->count, 3); /* 1 and 2 pushed out */
    assert_int_equal(s.dropped, 2);

    /* a fresh stream: nothing replayed */
    assert_int_equal(replay(&s, st, "", &seen), 0);
    assert_int_equal(seen.n, 0);
    /* resumed after event 3: 4 and 5, with their ids */
    assert_int_equal(replay(&s, st, "101-3", &seen), 0);
    assert_int_equal(seen.n, 2);
    assert_string_equal(seen.ids[0], "101-4");
    assert_string_equal(seen.bodies, "{\"e\":4}|{\"e\":5}|");
    /* resumed after event 1: 2 is gone for good, 3..5 replayed */
    assert_int_equal(replay(&s, st, "101-1", &seen), 1);
    assert_int_equal(seen.n, 3);
    /* up to date: nothing */
    assert_int_equal(replay(&s, st, "101-5", &seen), 0);
    assert_int_equal(seen.n, 0);
    /* another broker run's id, or junk: everything kept */
    assert_int_equal(replay(&s, st, "zz-9", &seen), 2);
    assert_int_equal(seen.n, 3);
    assert_int_equal(replay(&s, st, "101-x", &seen), 2);
    assert_int_equal(seen.n, 3);
    assert_int_equal(replay(&s, st, "101-999", &seen), 2); /* from the future: not ours */
    assert_int_equal(seen.n, 3);
    gw_streams_fini(&s);
}

static void test_byte_bound_and_no_replay(void **state)
{
    gw_streams_t s;
    seen_t seen;
    char id[GW_EVENT_ID_MAX];
    char big[100];
    memset(big, 'x', sizeof(big));
    assert_int_equal(gw_streams_init(&s, 10, 150, 1), GW_OK);
    gw_stream_t *st = gw_streams_get(&s, KEY, strlen(KEY));
    gw_stream_publish(&s, st, big, sizeof(big), id);
    gw_stream_publish(&s, st, big, sizeof(big), id); /* 200 > 150: the first goes */
    assert_int_equal(st->count, 1);
    assert_int_equal(st->bytes, 100);
    char huge[300];
    memset(huge, 'y', sizeof(huge));
    gw_stream_publish(&s, st, huge, sizeof(huge), id); /* the newest stays whatever its size */
    assert_int_equal(st->count, 1);
    assert_int_equal(replay(&s, st, "1-0", &seen), 2);
    assert_int_equal(seen.n, 1);
    gw_streams_fini(&s);

    assert_int_equal(gw_streams_init(&s, 0, 150, 1), GW_OK); /* sessions.stream_replay: 0 */
    st = gw_streams_get(&s, KEY, strlen(KEY));
    assert_int_equal(gw_stream_publish(&s, st, "{}", 2, id), GW_OK);
    assert_string_equal(id, "1-1");
    assert_int_equal(replay(&s, st, "1-0", &seen), 1);
    assert_int_equal(seen.n, 0);
    gw_streams_fini(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_holders),
        cmocka_unit_test(test_ids_and_replay),
        cmocka_unit_test(test_byte_bound_and_no_replay),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
