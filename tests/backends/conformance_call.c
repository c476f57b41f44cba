/* mcpgw-conformance: tools/calls that answer later, on timers or once the client answers a
 * request of ours, on an SSE stream. */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdlib.h>
#include <string.h>

#include <h2o.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "tests/backends/conformance.h"
#include "tests/backends/json.h"
#include "tests/backends/serve.h"

static void on_call_stream_gone(void *owner)
{
    cf_call_t *call = owner;

    call->stream = NULL;
    cf_call_abort(call); /* the client went away: nobody is left to answer */
}

static void on_call_timer(h2o_timeout_entry_t *entry)
{
    cf_call_t *call = H2O_STRUCT_FROM_MEMBER(cf_call_t, timer, entry);

    ++call->step;
    call->tool->step(call);
}

void cf_call_schedule_step(cf_call_t *call)
{
    cf_server_t *srv = call->session->srv;

    h2o_timeout_link(srv->serve.loop, &srv->step_timeout, &call->timer);
}

/* Starts a call answered on an SSE stream; NULL when out of memory (nothing was sent). */
cf_call_t *cf_call_start(cf_rpc_t *r, const cf_tool_t *tool)
{
    cf_call_t *call = calloc(1, sizeof(*call));
    yajl_val token = json_member(json_member(r->params, "_meta"), "progressToken");
    cf_id_t borrowed;

    if (call == NULL || cf_id_dup(&call->id, &r->id) != 0) {
        free(call);
        return NULL;
    }
    if (cf_id_borrow(&borrowed, token) == 0 && cf_id_dup(&call->progress_token, &borrowed) != 0) {
        free(call->id.text);
        free(call);
        return NULL;
    }
    call->session = r->session;
    r->session->refs++;
    call->tool = tool;
    call->timer.cb = on_call_timer;
    call->next = r->session->calls;
    r->session->calls = call;
    call->stream = cf_stream_open(r->srv, r->req, call, on_call_stream_gone);
    return call;
}

void cf_call_destroy(cf_call_t *call)
{
    cf_session_t *s = call->session;

    h2o_timeout_unlink(&call->timer);
    for (cf_call_t **p = &s->calls; *p != NULL; p = &(*p)->next) {
        if (*p == call) {
            *p = call->next;
            break;
        }
    }
    if (call->stream != NULL) {
        cf_stream_detach(call->stream);
    }
    free(call->id.text);
    free(call->progress_token.text);
    free(call);
    cf_session_release(s);
}

/* Ends the call without a result: cancelled, its session ended, or its client gone. */
void cf_call_abort(cf_call_t *call)
{
    if (call->stream != NULL) {
        cf_stream_t *s = call->stream;
        call->stream = NULL;
        cf_stream_detach(s);
        cf_stream_end(s);
    }
    cf_call_destroy(call);
}

/* Sends the response g holds (begun by cf_response_begin, result written) and ends the call. */
static void call_finish(cf_call_t *call, yajl_gen g)
{
    h2o_req_t *req = call->stream != NULL ? cf_stream_req(call->stream) : NULL;

    if (g != NULL) {
        yajl_gen_map_close(g);
        if (call->session->modern && req != NULL) {
            /* every result a 2026-07-28 client gets says what it is */
            cf_stream_message(call->stream, cf_modern_result(req, "tools/call", json_gen_output(g)),
                              NULL);
            yajl_gen_free(g);
        } else {
            cf_stream_send_gen(call->stream, g);
        }
    }
    cf_call_abort(call);
}

void cf_call_finish_text(cf_call_t *call, const char *text, int is_error)
{
    yajl_gen g = cf_response_begin(&call->id);

    if (g != NULL) {
        cf_gen_text_result(g, text != NULL ? text : "out of memory", is_error || text == NULL);
    }
    call_finish(call, g);
}

void cf_call_log(cf_call_t *call, int level, const char *text)
{
    if (level < call->session->log_level) {
        return;
    }
    yajl_gen g = cf_notification_begin("notifications/message");
    if (g == NULL) {
        return;
    }
    cf_gen_kv(g, "level", cf_log_levels[level]);
    cf_gen_kv(g, "logger", "conformance");
    cf_gen_kv(g, "data", text);
    yajl_gen_map_close(g);
    yajl_gen_map_close(g);
    cf_stream_send_gen(call->stream, g);
}

void cf_call_progress(cf_call_t *call, int progress, int total)
{
    if (call->progress_token.text == NULL) {
        return;
    }
    yajl_gen g = cf_notification_begin("notifications/progress");
    if (g == NULL) {
        return;
    }
    json_gen_str(g, "progressToken");
    cf_gen_id(g, &call->progress_token);
    json_gen_str(g, "progress");
    yajl_gen_integer(g, progress);
    json_gen_str(g, "total");
    yajl_gen_integer(g, total);
    yajl_gen_map_close(g);
    yajl_gen_map_close(g);
    cf_stream_send_gen(call->stream, g);
}

/* Starts a request to the client on the call's stream, up to its params object (open). */
yajl_gen cf_call_ask_begin(cf_call_t *call, const char *method)
{
    if (call->session->modern) {
        /* 2026-07-28 servers send no requests: the question is the call's input_required
         * result, asked by the first part of the method ("sampling", "elicitation"); the retry
         * brings the answer (conformance_tools.c answer_by_input_response) */
        yajl_gen g = cf_response_begin(&call->id);
        if (g == NULL) {
            return NULL;
        }
        yajl_gen_map_open(g);
        cf_gen_kv(g, "resultType", "input_required");
        json_gen_str(g, "inputRequests");
        yajl_gen_map_open(g);
        json_gen_iov(g, h2o_iovec_init(method, strcspn(method, "/")));
        yajl_gen_map_open(g);
        cf_gen_kv(g, "method", method);
        json_gen_str(g, "params");
        yajl_gen_map_open(g);
        return g;
    }
    yajl_gen g = cf_message_begin();

    if (g == NULL) {
        return NULL;
    }
    call->asked = ++call->session->srv->last_ask_id;
    json_gen_str(g, "id");
    yajl_gen_integer(g, call->asked);
    cf_gen_kv(g, "method", method);
    json_gen_str(g, "params");
    yajl_gen_map_open(g);
    return g;
}

void cf_call_ask_send(cf_call_t *call, yajl_gen g)
{
    if (call->session->modern) {
        yajl_gen_map_close(g); /* params */
        yajl_gen_map_close(g); /* the input request */
        yajl_gen_map_close(g); /* inputRequests */
        yajl_gen_map_close(g); /* result */
        yajl_gen_map_close(g);
        cf_stream_send_gen(call->stream, g);
        cf_call_abort(call); /* the call ends here; the retry is a new one */
        return;
    }
    yajl_gen_map_close(g);
    yajl_gen_map_close(g);
    cf_stream_send_gen(call->stream, g);
}

/* Gives a client's response to the call that asked for it; 0 when none did. */
int cf_call_deliver_answer(cf_session_t *s, yajl_val msg)
{
    yajl_val id = json_member(msg, "id");

    if (!YAJL_IS_INTEGER(id)) {
        return 0;
    }
    for (cf_call_t *call = s->calls; call != NULL; call = call->next) {
        if (call->asked != 0 && call->asked == YAJL_GET_INTEGER(id)) {
            call->asked = 0;
            call->tool->answered(call, msg);
            return 1;
        }
    }
    return 0;
}
