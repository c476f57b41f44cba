/* sse_test.c: the event-stream parser on every way a stream can be split and framed. */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/sse.h"

typedef struct seen {
    gw_buf_t all; /* every event's data, each followed by '|' */
    int events;
} seen_t;

static gw_err_t on_event(void *arg, const char *data, size_t len)
{
    seen_t *s = arg;
    s->events++;
    gw_buf_append(&s->all, data, len);
    gw_buf_append(&s->all, "|", 1);
    return GW_OK;
}

/* Feeds text in pieces of step bytes and returns what was seen. */
static void feed_in_steps(const char *text, size_t step, seen_t *s, size_t max)
{
    gw_sse_t p;
    gw_sse_init(&p, max);
    gw_buf_init(&s->all);
    s->events = 0;
    size_t n = strlen(text);
    for (size_t off = 0; off < n; off += step) {
        size_t k = n - off < step ? n - off : step;
        assert_int_equal(gw_sse_feed(&p, text + off, k, on_event, s), GW_OK);
    }
    gw_sse_fini(&p);
}

static void expect(const char *text, const char *want, int events)
{
    for (size_t step = 1; step <= strlen(text) + 1; step++) {
        seen_t s;
        feed_in_steps(text, step, &s, 1 << 20);
        assert_int_equal(s.events, events);
        assert_string_equal(s.all.data ? s.all.data : "", want);
        gw_buf_fini(&s.all);
    }
}

static void test_basic_events(void **state)
{
    expect("event: message\ndata: {\"a\":1}\n\n", "{\"a\":1}|", 1);
    expect("data: one\n\ndata: two\n\n", "one|two|", 2);
}

static void test_line_endings(void **state)
{
    expect("data: a\r\n\r\ndata: b\r\rdata: c\n\n", "a|b|c|", 3);
}

static void test_multiline_data_and_no_space(void **state)
{
    expect("data:x\ndata: y\n\n", "x\ny|", 1);
}

static void test_comments_fields_and_priming(void **state)
{
    /* a priming event (id, empty data), a comment, retry and unknown fields carry nothing */
    expect(": keep-alive\nid: 7\ndata:\n\nretry: 100\nfoo: bar\n\nid: 8\ndata: real\n\n", "real|",
           1);
}

static void test_bom_and_unterminated_event(void **state)
{
    expect("\xef\xbb\xbf"
           "data: first\n\ndata: never dispatched\n",
           "first|", 1);
}

static void test_limits(void **state)
{
    gw_sse_t p;
    seen_t s = {.events = 0};
    gw_buf_init(&s.all);
    gw_sse_init(&p, 16);
    assert_int_equal(gw_sse_feed(&p, "data: 0123456789abcdef\n\n", 24, on_event, &s), GW_ETOOBIG);
    gw_sse_reset(&p);
    /* a long line split across feeds is refused as well */
    assert_int_equal(gw_sse_feed(&p, "data: 01234", 11, on_event, &s), GW_OK);
    assert_int_equal(gw_sse_feed(&p, "56789abcdef", 11, on_event, &s), GW_ETOOBIG);
    /* data lines adding up past the limit */
    gw_sse_reset(&p);
    assert_int_equal(gw_sse_feed(&p, "data: 0123456\ndata: 0123456\ndata: x\n", 38, on_event, &s),
                     GW_ETOOBIG);
    assert_int_equal(s.events, 0);
    gw_sse_fini(&p);
    gw_buf_fini(&s.all);
}

/* A line over the limit is refused however it arrives: whole in one read as well as split (the
 * fate of a backend stream must not depend on how TCP cut it). Found by tests/fuzz/fuzz_sse. */
static void test_long_line_refused_in_one_read(void **state)
{
    static const char line[] = ": a comment line longer than sixteen bytes\n";
    gw_sse_t p;
    seen_t s = {.events = 0};
    gw_buf_init(&s.all);
    gw_sse_init(&p, 16);
    assert_int_equal(gw_sse_feed(&p, line, sizeof(line) - 1, on_event, &s), GW_ETOOBIG);
    gw_sse_reset(&p);
    assert_int_equal(gw_sse_feed(&p, line, 20, on_event, &s), GW_ETOOBIG);
    gw_sse_reset(&p);
    /* exactly the limit is fine either way */
    assert_int_equal(gw_sse_feed(&p, "id: 0123456789ab\ndata: x\n\n", 26, on_event, &s), GW_OK);
    assert_int_equal(gw_sse_feed(&p, "id: 0123456789ab", 16, on_event, &s), GW_OK);
    assert_int_equal(gw_sse_feed(&p, "\ndata: y\n\n", 10, on_event, &s), GW_OK);
    assert_int_equal(s.events, 2);
    assert_string_equal(s.all.data, "x|y|");
    gw_sse_fini(&p);
    gw_buf_fini(&s.all);
}

static gw_err_t stop_at_first(void *arg, const char *data, size_t len)
{
    (*(int *)arg)++;
    return GW_ECLOSED;
}

static void test_callback_error_stops_the_feed(void **state)
{
    gw_sse_t p;
    int calls = 0;
    gw_sse_init(&p, 1024);
    assert_int_equal(gw_sse_feed(&p, "data: a\n\ndata: b\n\n", 18, stop_at_first, &calls),
                     GW_ECLOSED);
    assert_int_equal(calls, 1);
    gw_sse_fini(&p);
}

/* The last id and retry are kept (a stream closed early is resumed with Last-Event-ID), the
 * priming event (an id and empty data) dispatches nothing. */
static void test_last_id_and_retry(void **state)
{
    seen_t seen;
    gw_sse_t p;
    gw_buf_init(&seen.all);
    seen.events = 0;
    gw_sse_init(&p, 1024);
    assert_string_equal(p.last_id, "");
    assert_int_equal(p.retry_ms, -1);
    const char *priming = "id: s1-0\nretry: 500\ndata: \n\n";
    assert_int_equal(gw_sse_feed(&p, priming, strlen(priming), on_event, &seen), GW_OK);
    assert_int_equal(seen.events, 0);
    assert_string_equal(p.last_id, "s1-0");
    assert_int_equal(p.retry_ms, 500);
    const char *more = "id:s1-1\ndata: {}\n\nretry: soon\nid: bad\0id\n\n";
    assert_int_equal(gw_sse_feed(&p, more, 42, on_event, &seen), GW_OK);
    assert_int_equal(seen.events, 1);
    assert_string_equal(p.last_id, "s1-1"); /* an id holding NUL is ignored */
    assert_int_equal(p.retry_ms, 500);      /* so is a retry that is not all digits */
    char longid[300];
    memset(longid, 'x', sizeof(longid));
    memcpy(longid, "id: ", 4);
    longid[sizeof(longid) - 2] = '\n';
    longid[sizeof(longid) - 1] = '\n';
    assert_int_equal(gw_sse_feed(&p, longid, sizeof(longid), on_event, &seen), GW_OK);
    assert_string_equal(p.last_id, ""); /* too long to keep: forgotten, never cut */
    gw_sse_reset(&p);
    assert_int_equal(p.retry_ms, -1);
    gw_sse_fini(&p);
    gw_buf_fini(&seen.all);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic_events),
        cmocka_unit_test(test_line_endings),
        cmocka_unit_test(test_multiline_data_and_no_space),
        cmocka_unit_test(test_comments_fields_and_priming),
        cmocka_unit_test(test_bom_and_unterminated_event),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_long_line_refused_in_one_read),
        cmocka_unit_test(test_callback_error_stops_the_feed),
        cmocka_unit_test(test_last_id_and_retry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
