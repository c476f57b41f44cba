/* mailbox_test.c: unit tests of inboxes and outboxes (common/mailbox.h): frames arrive whole and
 * in order, a frame longer than one read, frames waiting for a peer that comes up later, a peer
 * that hangs up and its successor, a connection announcing a frame too long, the bound on what
 * waits, and stale or live socket files. */
#include <config.h>

#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/clock.h"
#include "common/envelope.h"
#include "common/envelope_sample.h"
#include "common/mailbox.h"

static char dir[] = "/tmp/mcpgw-mailboxtest-XXXXXX";

static int setup(void **state)
{
    return mkdtemp(dir) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
    char path[256];
    static const char *names[] = {"in", "late", "gone", "long", "stale", "full"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s.ipc", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
    return 0;
}

/* What a test inbox received. */
typedef struct got {
    size_t n;
    int64_t corr[256];
    size_t body_len[256];
    int body_ok[256];
} got_t;

static void on_frame(void *arg, const gw_envelope_t *e, gw_str_t frame)
{
    got_t *g = arg;
    if (g->n < 256) {
        g->corr[g->n] = (int64_t)e->corr;
        g->body_len[g->n] = e->body.len;
        int ok = 1;
        for (size_t i = 0; i < e->body.len; i++) {
            ok &= e->body.ptr[i] == (char)('a' + (i % 26));
        }
        g->body_ok[g->n] = ok;
    }
    g->n++;
}

/* Drains in until want frames came (or 3 s), flushing o between tries. */
static void drain_until(gw_inbox_t *in, gw_outbox_t *o, got_t *g, size_t want)
{
    for (int i = 0; i < 300 && g->n < want; i++) {
        if (o != NULL) {
            gw_outbox_redial_tick(o, gw_clock_ms());
            gw_outbox_flush(o);
        }
        struct pollfd pfd = {.fd = gw_inbox_fd(in), .events = POLLIN};
        (void)poll(&pfd, 1, 10);
        gw_inbox_drain(in, on_frame, g, 0);
    }
}

static char *letters(size_t n)
{
    char *b = malloc(n);
    assert_non_null(b);
    for (size_t i = 0; i < n; i++) {
        b[i] = (char)('a' + (i % 26));
    }
    return b;
}

static void test_frames_arrive_whole_and_in_order(void **state)
{
    gw_inbox_t in;
    gw_outbox_t o;
    got_t *g = calloc(1, sizeof(*g));
    assert_int_equal(gw_inbox_open(&in, dir, "in"), GW_OK);
    assert_int_equal(gw_outbox_open(&o, dir, "in", 64u << 20, NULL, NULL), GW_OK);
    char *big = letters(3u << 20); /* longer than any one read: arrives in pieces */
    gw_envelope_t e;
    sample_fill(&e);
    for (int i = 0; i < 200; i++) {
        e.corr = (uint64_t)i;
        e.body = i == 100 ? (gw_str_t){big, 3u << 20} : (gw_str_t){big, (size_t)i};
        assert_int_equal(gw_outbox_send(&o, &e), GW_OK);
        if (i % 50 == 49) {
            gw_outbox_flush(&o); /* four writes, each of many frames */
        }
    }
    drain_until(&in, &o, g, 200);
    assert_int_equal(g->n, 200);
    for (size_t i = 0; i < 200; i++) {
        assert_int_equal(g->corr[i], (int64_t)i);
        assert_int_equal(g->body_len[i], i == 100 ? (3u << 20) : i);
        assert_true(g->body_ok[i]);
    }
    assert_int_equal(gw_outbox_waiting(&o), 0);
    assert_false(gw_outbox_backlogged(&o));
    free(big);
    free(g);
    gw_outbox_close(&o);
    gw_inbox_close(&in);
}

static int pipes_up, pipes_down;

static void on_pipe(void *arg, int added)
{
    (void)arg;
    if (added) {
        pipes_up++;
    } else {
        pipes_down++;
    }
}

/* Frames sent before the peer listens wait for it; a peer that hangs up is told at once, and
 * frames sent after it reach the process that listens next on the path. */
static void test_waits_for_the_peer_and_its_successor(void **state)
{
    gw_outbox_t o;
    gw_inbox_t in;
    got_t g = {0};
    pipes_up = pipes_down = 0;
    assert_int_equal(gw_outbox_open(&o, dir, "late", 1u << 20, on_pipe, NULL), GW_OK);
    assert_int_equal(pipes_up, 0);
    gw_envelope_t e;
    sample_fill(&e);
    e.body = (gw_str_t){"", 0};
    e.corr = 1;
    assert_int_equal(gw_outbox_send(&o, &e), GW_OK);
    gw_outbox_flush(&o);
    assert_true(gw_outbox_backlogged(&o)); /* nobody listens yet */
    assert_int_equal(gw_inbox_open(&in, dir, "late"), GW_OK);
    drain_until(&in, &o, &g, 1);
    assert_int_equal(g.n, 1);
    assert_int_equal(pipes_up, 1);
    assert_false(gw_outbox_backlogged(&o));

    gw_inbox_close(&in); /* the peer dies */
    struct pollfd pfd = {.fd = gw_outbox_fd(&o), .events = POLLIN};
    assert_int_equal(poll(&pfd, 1, 2000), 1);
    gw_outbox_poll(&o);
    assert_int_equal(pipes_down, 1);

    e.corr = 2;
    assert_int_equal(gw_outbox_send(&o, &e), GW_OK);
    gw_outbox_flush(&o);
    assert_int_equal(gw_inbox_open(&in, dir, "late"), GW_OK); /* its successor: a stale file */
    got_t g2 = {0};
    drain_until(&in, &o, &g2, 1);
    assert_int_equal(g2.n, 1);
    assert_int_equal(g2.corr[0], 2);
    assert_int_equal(pipes_up, 2);
    gw_outbox_close(&o);
    gw_inbox_close(&in);
}

static int connect_to(const char *name)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s.ipc", dir, name);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    return fd;
}

/* A connection that announces a frame over GW_FRAME_MAX is closed; an undecodable frame is
 * skipped; the inbox goes on serving its other peers. */
static void test_a_hostile_connection_goes_alone(void **state)
{
    gw_inbox_t in;
    gw_outbox_t o;
    got_t g = {0};
    assert_int_equal(gw_inbox_open(&in, dir, "long"), GW_OK);
    int bad = connect_to("long");
    static const unsigned char garbage[] = {0, 0, 0, 3, 0xc1, 0xc1, 0xc1};
    assert_int_equal(write(bad, garbage, sizeof(garbage)), (ssize_t)sizeof(garbage));
    static const unsigned char too_long[] = {0x7f, 0xff, 0xff, 0xff, 1, 2, 3};
    assert_int_equal(write(bad, too_long, sizeof(too_long)), (ssize_t)sizeof(too_long));
    assert_int_equal(gw_outbox_open(&o, dir, "long", 1u << 20, NULL, NULL), GW_OK);
    gw_envelope_t e;
    sample_fill(&e);
    e.body = (gw_str_t){"", 0};
    e.corr = 7;
    assert_int_equal(gw_outbox_send(&o, &e), GW_OK);
    drain_until(&in, &o, &g, 1);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.corr[0], 7);
    char c;
    struct pollfd pfd = {.fd = bad, .events = POLLIN};
    for (int i = 0; i < 100 && in.refused == 0; i++) {
        gw_inbox_drain(&in, on_frame, &g, 0);
        usleep(10000);
    }
    assert_int_equal(in.refused, 1);
    assert_int_equal(poll(&pfd, 1, 2000), 1);
    assert_int_equal(read(bad, &c, 1), 0); /* closed by the inbox */
    close(bad);
    gw_outbox_close(&o);
    gw_inbox_close(&in);
}

static void test_what_waits_is_bounded(void **state)
{
    gw_outbox_t o;
    assert_int_equal(gw_outbox_open(&o, dir, "full", 4096, NULL, NULL), GW_OK);
    gw_envelope_t e;
    sample_fill(&e);
    char *b = letters(1000);
    e.body = (gw_str_t){b, 1000};
    gw_err_t err = GW_OK;
    int sent = 0;
    while (sent < 100 && (err = gw_outbox_send(&o, &e)) == GW_OK) {
        sent++;
    }
    assert_int_equal(err, GW_ETOOBIG);
    assert_true(sent >= 3 && sent <= 6);
    free(b);
    gw_outbox_close(&o);
}

static void test_stale_and_live_socket_files(void **state)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/stale.ipc", dir);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    close(fd); /* a socket file nobody accepts on: a dead process's */
    gw_inbox_t in, second;
    assert_int_equal(gw_inbox_open(&in, dir, "stale"), GW_OK);
    assert_int_equal(gw_inbox_open(&second, dir, "stale"), GW_EBUSY); /* the first is alive */
    gw_outbox_t o;
    got_t g = {0};
    assert_int_equal(gw_outbox_open(&o, dir, "stale", 1u << 20, NULL, NULL), GW_OK);
    gw_envelope_t e;
    sample_fill(&e);
    e.body = (gw_str_t){"", 0};
    assert_int_equal(gw_outbox_send(&o, &e), GW_OK);
    drain_until(&in, &o, &g, 1);
    assert_int_equal(g.n, 1); /* the probe of the second open left the first whole */
    gw_outbox_close(&o);
    gw_inbox_close(&in);
    char longname[200];
    memset(longname, 'x', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    assert_int_equal(gw_inbox_open(&in, dir, longname), GW_ETOOBIG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frames_arrive_whole_and_in_order),
        cmocka_unit_test(test_waits_for_the_peer_and_its_successor),
        cmocka_unit_test(test_a_hostile_connection_goes_alone),
        cmocka_unit_test(test_what_waits_is_bounded),
        cmocka_unit_test(test_stale_and_live_socket_files),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
