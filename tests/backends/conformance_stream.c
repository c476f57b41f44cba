/* mcpgw-conformance: SSE responses in progress, with a queue of events and an owner told when
 * they go. */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <string.h>

#include <h2o.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "tests/backends/conformance.h"
#include "tests/backends/json.h"
#include "tests/backends/serve.h"

/* An SSE response in progress. It lives in its request's pool; when h2o lets the request go,
 * on_gone tells the owner, which must forget the pointer. */
struct cf_stream {
    h2o_generator_t generator;
    cf_server_t *srv;
    h2o_req_t *req;                /* NULL once h2o has stopped the response */
    H2O_VECTOR(h2o_iovec_t) queue; /* events waiting for the previous h2o_send to complete */
    int sending;
    int end_queued;
    int end_sent;
    void *owner;
    void (*on_gone)(void *owner);
};

static void stream_flush(cf_stream_t *s)
{
    if (s->req == NULL || s->sending || s->end_sent) {
        return;
    }
    if (s->queue.size == 0 && !s->end_queued) {
        return;
    }
    h2o_iovec_t *bufs = s->queue.entries;
    size_t n = s->queue.size;
    h2o_send_state_t state = H2O_SEND_STATE_IN_PROGRESS;
    memset(&s->queue, 0, sizeof(s->queue));
    if (s->end_queued) {
        state = H2O_SEND_STATE_FINAL;
        s->end_sent = 1;
    } else {
        s->sending = 1;
    }
    h2o_send(s->req, bufs, n, state);
}

static void on_stream_proceed(h2o_generator_t *generator, h2o_req_t *req)
{
    cf_stream_t *s = H2O_STRUCT_FROM_MEMBER(cf_stream_t, generator, generator);

    s->sending = 0;
    stream_flush(s);
}

static void on_stream_stop(h2o_generator_t *generator, h2o_req_t *req)
{
    H2O_STRUCT_FROM_MEMBER(cf_stream_t, generator, generator)->req = NULL;
}

/* Runs when the request's pool goes: the response ended or the client went away. */
static void on_stream_dispose(void *p)
{
    cf_stream_t *s = p;

    s->req = NULL;
    --s->srv->open_streams;
    if (s->on_gone != NULL) {
        s->on_gone(s->owner);
    }
}

/* Starts a 200 text/event-stream answer to req; NULL when out of memory. */
cf_stream_t *cf_stream_open(cf_server_t *srv, h2o_req_t *req, void *owner,
                            void (*on_gone)(void *owner))
{
    cf_stream_t *s = h2o_mem_alloc_shared(&req->pool, sizeof(*s), on_stream_dispose);

    memset(s, 0, sizeof(*s));
    s->generator.proceed = on_stream_proceed;
    s->generator.stop = on_stream_stop;
    s->srv = srv;
    s->req = req;
    s->owner = owner;
    s->on_gone = on_gone;
    ++srv->open_streams;
    req->res.status = 200;
    req->res.reason = "OK";
    cf_add_header(req, H2O_TOKEN_CONTENT_TYPE, "text/event-stream");
    cf_add_header(req, H2O_TOKEN_CACHE_CONTROL, "no-cache");
    h2o_start_response(req, &s->generator);
    return s;
}

h2o_req_t *cf_stream_req(cf_stream_t *s)
{
    return s->req;
}

/* The owner lets go: no more on_gone. */
void cf_stream_detach(cf_stream_t *s)
{
    s->owner = NULL;
    s->on_gone = NULL;
}

/* Queues text (in the request pool) and sends what the peer can take. */
static void stream_queue(cf_stream_t *s, h2o_iovec_t text)
{
    h2o_vector_reserve(&s->req->pool, &s->queue, s->queue.size + 1);
    s->queue.entries[s->queue.size++] = text;
    stream_flush(s);
}

/* Queues raw SSE text (copied). */
void cf_stream_write(cf_stream_t *s, const char *text, size_t len)
{
    if (s->req == NULL || s->end_queued) {
        return;
    }
    stream_queue(s, h2o_strdup(&s->req->pool, text, len));
}

/* Queues one JSON-RPC message as an SSE event, with an event id when event_id is not NULL. */
void cf_stream_message(cf_stream_t *s, h2o_iovec_t json, const char *event_id)
{
    if (s->req == NULL || s->end_queued) {
        return;
    }
    stream_queue(s, serve_sse_event(&s->req->pool, event_id, json));
}

/* Sends g's complete message (if g is not NULL) and frees g. */
void cf_stream_send_gen(cf_stream_t *s, yajl_gen g)
{
    if (g == NULL) {
        return;
    }
    if (s != NULL) {
        cf_stream_message(s, json_gen_output(g), NULL);
    }
    yajl_gen_free(g);
}

void cf_stream_end(cf_stream_t *s)
{
    s->end_queued = 1;
    stream_flush(s);
}
