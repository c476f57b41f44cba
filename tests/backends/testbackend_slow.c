/* mcpgw-testbackend: the slow tool, answered on timers, with progress notifications on SSE. */

#include "config.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <h2o.h>

#include "tests/backends/json.h"
#include "tests/backends/serve.h"
#include "tests/backends/testbackend.h"

#define MAX_SLOW_MS 60000
#define MAX_SLOW_STEPS 1000
#define DEFAULT_SLOW_STEPS 3

enum slow_state { SLOW_WAITING, SLOW_STREAMING, SLOW_DONE };

/* A slow tools/call in progress. Allocated as shared memory of the request pool: h2o frees it
 * together with the request (finished or aborted), and the dispose hook stops its timer. */
typedef struct slow_call {
    h2o_generator_t generator;
    tb_timer_t timer;
    tb_server_t *srv;
    h2o_req_t *req; /* NULL once h2o has stopped the response */
    enum slow_state state;
    int writing; /* an h2o_send is in flight and proceed has not come yet */
    uint64_t started_at;
    uint32_t ms;
    uint32_t steps; /* progress notifications to send; 0 without token or SSE */
    uint32_t progress_due;
    uint32_t progress_sent;
    int result_due;
    h2o_iovec_t token;  /* raw progressToken, in the request pool */
    h2o_iovec_t result; /* the complete final body, in the request pool */
} slow_call_t;

static void set_slow_state(slow_call_t *call, enum slow_state next)
{
    if (call->state == next) {
        return;
    }
    assert((call->state == SLOW_WAITING && next == SLOW_STREAMING) ||
           (call->state == SLOW_WAITING && next == SLOW_DONE) ||
           (call->state == SLOW_STREAMING && next == SLOW_DONE));
    if (next == SLOW_DONE) {
        --call->srv->streaming;
    }
    call->state = next;
}

static uint64_t slow_progress_at(const slow_call_t *call, uint32_t progress)
{
    return call->started_at + (uint64_t)call->ms * progress / call->steps;
}

static uint64_t slow_next_due_at(const slow_call_t *call)
{
    if (call->progress_due < call->steps) {
        return slow_progress_at(call, call->progress_due + 1);
    }
    return call->started_at + call->ms;
}

static h2o_iovec_t progress_event(slow_call_t *call, uint32_t progress)
{
    size_t cap = call->token.len + 192;
    char *buf = h2o_mem_alloc_pool(&call->req->pool, cap);
    int len =
        snprintf(buf, cap,
                 SERVE_SSE_PREFIX "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\","
                                  "\"params\":{\"progressToken\":%.*s,\"progress\":%" PRIu32
                                  ",\"total\":%" PRIu32 "}}" SERVE_SSE_SUFFIX,
                 (int)call->token.len, call->token.base, progress, call->steps);

    return h2o_iovec_init(buf, len > 0 && (size_t)len < cap ? (size_t)len : 0);
}

/* Sends whatever has come due, unless a send is still in flight. h2o_send comes last: nothing
 * touches the call after it. */
static void flush_slow_call(slow_call_t *call)
{
    h2o_req_t *req = call->req;

    if (req == NULL || call->writing || call->state == SLOW_DONE) {
        return;
    }
    size_t n = call->progress_due - call->progress_sent + (call->result_due ? 1 : 0);
    if (n == 0) {
        return;
    }
    h2o_iovec_t *bufs = h2o_mem_alloc_pool(&req->pool, sizeof(*bufs) * n);
    size_t i = 0, total = 0;
    while (call->progress_sent < call->progress_due) {
        bufs[i] = progress_event(call, ++call->progress_sent);
        total += bufs[i++].len;
    }
    h2o_send_state_t send_state = H2O_SEND_STATE_IN_PROGRESS;
    if (call->result_due) {
        bufs[i] = call->result;
        total += bufs[i++].len;
        send_state = H2O_SEND_STATE_FINAL;
    }
    if (call->state == SLOW_WAITING) {
        tb_set_response_head(req, 200, "OK", call->srv->sse);
        if (send_state == H2O_SEND_STATE_FINAL) {
            req->res.content_length = total;
        }
        h2o_start_response(req, &call->generator);
    }
    set_slow_state(call, send_state == H2O_SEND_STATE_FINAL ? SLOW_DONE : SLOW_STREAMING);
    call->writing = send_state == H2O_SEND_STATE_IN_PROGRESS;
    h2o_send(req, bufs, n, send_state);
}

static void on_slow_due(tb_timer_t *timer)
{
    slow_call_t *call = H2O_STRUCT_FROM_MEMBER(slow_call_t, timer, timer);
    uint64_t now = h2o_now(call->srv->serve.loop);

    while (call->progress_due < call->steps &&
           now >= slow_progress_at(call, call->progress_due + 1)) {
        ++call->progress_due;
    }
    if (call->progress_due == call->steps && now >= call->started_at + call->ms) {
        call->result_due = 1;
    } else {
        tb_timer_start(&call->timer, slow_next_due_at(call));
    }
    flush_slow_call(call);
}

static void on_slow_proceed(h2o_generator_t *generator, h2o_req_t *req)
{
    slow_call_t *call = H2O_STRUCT_FROM_MEMBER(slow_call_t, generator, generator);

    call->writing = 0;
    flush_slow_call(call);
}

static void on_slow_stop(h2o_generator_t *generator, h2o_req_t *req)
{
    slow_call_t *call = H2O_STRUCT_FROM_MEMBER(slow_call_t, generator, generator);

    call->req = NULL;
    tb_timer_stop(&call->timer);
}

/* Called by h2o when the request pool goes: the response finished or the peer went away. */
static void on_slow_call_dispose(void *p)
{
    slow_call_t *call = p;

    tb_timer_stop(&call->timer);
    if (call->state != SLOW_DONE) {
        --call->srv->streaming;
    }
}

static h2o_iovec_t progress_token(tb_rpc_call_t *c)
{
    static const char *const path[] = {"params", "_meta", "progressToken", NULL};
    yajl_val token = json_member(json_member(c->params, "_meta"), "progressToken");

    if (!YAJL_IS_STRING(token) && !YAJL_IS_NUMBER(token)) {
        return h2o_iovec_init(NULL, 0);
    }
    h2o_iovec_t raw = tb_raw_json(c, token, path);
    return h2o_strdup(&c->req->pool, raw.base, raw.len);
}

int tb_tool_slow(tb_rpc_call_t *c, yajl_val args)
{
    tb_server_t *srv = c->srv;
    yajl_val steps_arg = json_member(args, "steps");
    uint64_t ms, steps = DEFAULT_SLOW_STEPS;

    if (!tb_get_uint(json_member(args, "ms"), MAX_SLOW_MS, &ms)) {
        return tb_answer_tool_error(c, "slow: \"ms\" must be an integer from 0 to 60000");
    }
    if (steps_arg != NULL && !tb_get_uint(steps_arg, MAX_SLOW_STEPS, &steps)) {
        return tb_answer_tool_error(c, "slow: \"steps\" must be an integer from 0 to 1000");
    }
    slow_call_t *call = h2o_mem_alloc_shared(&c->req->pool, sizeof(*call), on_slow_call_dispose);
    memset(call, 0, sizeof(*call));
    call->generator.proceed = on_slow_proceed;
    call->generator.stop = on_slow_stop;
    call->timer.srv = srv;
    call->timer.on_due = on_slow_due;
    call->srv = srv;
    call->req = c->req;
    call->state = SLOW_WAITING;
    call->started_at = h2o_now(srv->serve.loop);
    call->ms = (uint32_t)ms;
    if (srv->sse) {
        call->token = progress_token(c);
        call->steps = call->token.base != NULL ? (uint32_t)steps : 0;
    }
    yajl_gen t = tb_begin_text(c, "slow");
    json_gen_str(t, "ms");
    yajl_gen_integer(t, (long long)ms);
    call->result = tb_frame_body(&c->req->pool, tb_close_text_answer(c), srv->sse);
    ++srv->streaming;
    tb_timer_start(&call->timer, slow_next_due_at(call));
    return 0;
}
