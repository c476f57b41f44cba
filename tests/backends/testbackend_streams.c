/* mcpgw-testbackend: GET streams, the SSE responses that carry a session's notifications. */

#include "config.h"

#include <assert.h>
#include <string.h>

#include <h2o.h>

#include "tests/backends/json.h"
#include "tests/backends/serve.h"
#include "tests/backends/testbackend.h"

#define STREAM_IOVECS 16
#define HEARTBEAT_COMMENT ": keepalive\n\n"
#define STREAM_OPEN_COMMENT ": open\n\n" /* h2o 2.2 sends no head with an empty h2o_send */

enum stream_state { STREAM_OPEN, STREAM_ENDING, STREAM_DONE };

/* A GET stream: an SSE response that stays open for the server's messages to a session. Shared
 * memory of the request pool like a slow call; linked into its session's list until the session
 * goes, the stream ends or h2o disposes of the request (the peer went away). */
struct tb_stream {
    h2o_generator_t generator;
    h2o_linklist_t link;
    tb_timer_t heartbeat;
    tb_server_t *srv;
    h2o_req_t *req; /* NULL once h2o has stopped the response */
    enum stream_state state;
    int writing;           /* an h2o_send is in flight and proceed has not come yet */
    int heartbeat_due;     /* nothing was sent for heartbeat_ms */
    uint32_t list_changed; /* notifications/tools/list_changed events owed */
};

static void set_stream_state(tb_stream_t *st, enum stream_state next)
{
    if (st->state == next) {
        return;
    }
    assert((st->state == STREAM_OPEN && next == STREAM_ENDING) ||
           (st->state == STREAM_ENDING && next == STREAM_DONE));
    if (next == STREAM_ENDING) {
        ++st->srv->streaming;
    } else {
        --st->srv->streaming;
    }
    st->state = next;
}

/* Sends the events owed, a heartbeat if nothing else went out for a while, or the end of an
 * ending stream, unless a send is still in flight. h2o_send comes last: nothing touches the
 * stream after it. */
static void flush_stream(tb_stream_t *st)
{
    h2o_req_t *req = st->req;
    h2o_iovec_t bufs[STREAM_IOVECS];
    size_t n = 0;

    if (req == NULL || st->writing || st->state == STREAM_DONE) {
        return;
    }
    while (st->list_changed != 0 && n != STREAM_IOVECS) {
        bufs[n++] = h2o_iovec_init(H2O_STRLIT(LIST_CHANGED_EVENT));
        --st->list_changed;
    }
    if (n == 0 && st->heartbeat_due) {
        bufs[n++] = h2o_iovec_init(H2O_STRLIT(HEARTBEAT_COMMENT));
    }
    st->heartbeat_due = 0;
    h2o_send_state_t send_state = H2O_SEND_STATE_IN_PROGRESS;
    if (st->state == STREAM_ENDING && st->list_changed == 0) {
        send_state = H2O_SEND_STATE_FINAL;
        tb_timer_stop(&st->heartbeat);
        set_stream_state(st, STREAM_DONE);
    } else if (n == 0) {
        return;
    }
    st->writing = send_state == H2O_SEND_STATE_IN_PROGRESS;
    h2o_send(req, bufs, n, send_state);
}

static void on_stream_heartbeat(tb_timer_t *timer)
{
    tb_stream_t *st = H2O_STRUCT_FROM_MEMBER(tb_stream_t, heartbeat, timer);

    st->heartbeat_due = 1;
    tb_timer_start(&st->heartbeat, h2o_now(st->srv->serve.loop) + st->srv->heartbeat_ms);
    flush_stream(st);
}

static void on_stream_proceed(h2o_generator_t *generator, h2o_req_t *req)
{
    tb_stream_t *st = H2O_STRUCT_FROM_MEMBER(tb_stream_t, generator, generator);

    st->writing = 0;
    flush_stream(st);
}

static void on_stream_stop(h2o_generator_t *generator, h2o_req_t *req)
{
    tb_stream_t *st = H2O_STRUCT_FROM_MEMBER(tb_stream_t, generator, generator);

    st->req = NULL;
    tb_timer_stop(&st->heartbeat);
}

/* Called by h2o when the request pool goes: the stream was ended or the peer went away. */
static void on_stream_dispose(void *p)
{
    tb_stream_t *st = p;

    tb_timer_stop(&st->heartbeat);
    if (h2o_linklist_is_linked(&st->link)) {
        h2o_linklist_unlink(&st->link);
    }
    if (st->state == STREAM_ENDING) {
        --st->srv->streaming;
    }
    --st->srv->stats.streams;
}

/* Takes the stream off its session and ends the response once what it owes is sent. */
void tb_stream_end(tb_stream_t *st)
{
    h2o_linklist_unlink(&st->link);
    set_stream_state(st, STREAM_ENDING);
    flush_stream(st);
}

void tb_session_streams_end(tb_session_t *s)
{
    while (!h2o_linklist_is_empty(&s->streams)) {
        tb_stream_end(H2O_STRUCT_FROM_MEMBER(tb_stream_t, link, s->streams.next));
    }
}

/* Calls fn on every GET stream of every session; fn may take the stream off its list. */
void tb_each_stream(tb_server_t *srv, void (*fn)(tb_stream_t *st))
{
    for (size_t i = 0; i != srv->sessions.nbuckets; ++i) {
        for (tb_session_t *s = srv->sessions.buckets[i]; s != NULL; s = s->next) {
            h2o_linklist_t *l = s->streams.next;
            while (l != &s->streams) {
                h2o_linklist_t *next = l->next;
                fn(H2O_STRUCT_FROM_MEMBER(tb_stream_t, link, l));
                l = next;
            }
        }
    }
}

void tb_stream_send_list_changed(tb_stream_t *st)
{
    ++st->list_changed;
    flush_stream(st);
}

/* Opens a GET stream of a live session: the head (with a comment) goes out now, events when
 * they come. */
void tb_stream_open(tb_server_t *srv, h2o_req_t *req, tb_session_t *session)
{
    tb_stream_t *st = h2o_mem_alloc_shared(&req->pool, sizeof(*st), on_stream_dispose);
    h2o_iovec_t open = h2o_iovec_init(H2O_STRLIT(STREAM_OPEN_COMMENT));

    memset(st, 0, sizeof(*st));
    st->generator.proceed = on_stream_proceed;
    st->generator.stop = on_stream_stop;
    st->heartbeat.srv = srv;
    st->heartbeat.on_due = on_stream_heartbeat;
    st->srv = srv;
    st->req = req;
    st->state = STREAM_OPEN;
    h2o_linklist_insert(&session->streams, &st->link);
    ++srv->stats.streams;
    if (srv->heartbeat_ms != 0) {
        tb_timer_start(&st->heartbeat, h2o_now(srv->serve.loop) + srv->heartbeat_ms);
    }
    tb_set_response_head(req, 200, "OK", 1);
    h2o_start_response(req, &st->generator);
    st->writing = 1;
    h2o_send(req, &open, 1, H2O_SEND_STATE_IN_PROGRESS);
}
