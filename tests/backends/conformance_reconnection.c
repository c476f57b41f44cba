/* mcpgw-conformance: test_reconnection, whose stream closes before its result, and the
 * resumption of that stream by a GET with Last-Event-ID. */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <h2o.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "tests/backends/conformance.h"
#include "tests/backends/json.h"
#include "tests/backends/serve.h"

#define RESUME_RETRY_MS 500 /* the retry a stream closed early advises */
#define RECONNECT_STEPS 2   /* steps from test_reconnection's early close to its result */

static void on_resume_waiter_gone(void *owner)
{
    ((cf_resume_t *)owner)->waiter = NULL;
}

void cf_resume_free(cf_resume_t *resume)
{
    if (resume->waiter != NULL) {
        cf_stream_detach(resume->waiter);
        cf_stream_end(resume->waiter);
    }
    free(resume->result);
    free(resume);
}

/* Ends a session (DELETE or shutdown): its streams close, its calls stop. */

static cf_resume_t *resume_find(cf_session_t *s, const char *stream_key)
{
    for (cf_resume_t *resume = s->resumes; resume != NULL; resume = resume->next) {
        if (strcmp(resume->stream_key, stream_key) == 0) {
            return resume;
        }
    }
    return NULL;
}

static void resume_remove(cf_session_t *s, cf_resume_t *resume)
{
    for (cf_resume_t **p = &s->resumes; *p != NULL; p = &(*p)->next) {
        if (*p == resume) {
            *p = resume->next;
            break;
        }
    }
    cf_resume_free(resume);
}

/* Sends a ready result on a resuming GET stream and forgets the resumable stream. */
static void resume_deliver(cf_session_t *s, cf_resume_t *resume, cf_stream_t *stream)
{
    char event_id[EVENT_ID_MAX + 4];

    snprintf(event_id, sizeof(event_id), "%s-1", resume->stream_key);
    cf_stream_message(stream, h2o_iovec_init(resume->result, resume->result_len), event_id);
    cf_stream_detach(stream);
    cf_stream_end(stream);
    if (resume->waiter == stream) {
        resume->waiter = NULL;
    }
    resume_remove(s, resume);
}

void cf_step_reconnection(cf_call_t *call)
{
    if (call->step < RECONNECT_STEPS) {
        cf_call_schedule_step(call);
        return;
    }
    cf_session_t *s = call->session;
    cf_resume_t *resume = call->resume;
    yajl_gen g = cf_response_begin(&call->id);
    if (g != NULL) {
        cf_gen_text_result(g, "Reconnection test completed: result sent after the stream closed",
                           0);
        yajl_gen_map_close(g);
        h2o_iovec_t out = json_gen_output(g);
        if ((resume->result = malloc(out.len)) != NULL) {
            memcpy(resume->result, out.base, out.len);
            resume->result_len = out.len;
        }
        yajl_gen_free(g);
    }
    cf_call_destroy(call);
    if (resume->result == NULL) {
        resume_remove(s, resume);
    } else if (resume->waiter != NULL) {
        resume_deliver(s, resume, resume->waiter);
    }
}

/* Sends a priming event (id, retry, empty data), closes the stream and makes the result
 * available later to a GET with Last-Event-ID (SEP-1699 polling). */
int cf_tool_reconnection(cf_rpc_t *r, const cf_tool_t *tool, yajl_val args)
{
    cf_resume_t *resume = calloc(1, sizeof(*resume));
    cf_call_t *call = resume != NULL ? cf_call_start(r, tool) : NULL;

    if (call == NULL) {
        free(resume);
        return cf_rpc_no_memory(r);
    }
    cf_session_t *s = r->session;
    snprintf(resume->stream_key, sizeof(resume->stream_key), "s%u", ++s->next_stream);
    resume->next = s->resumes;
    s->resumes = resume;
    call->resume = resume;
    char *priming =
        cf_format("id: %s-0\nretry: %d\ndata: \n\n", resume->stream_key, RESUME_RETRY_MS);
    if (priming != NULL) {
        cf_stream_write(call->stream, priming, strlen(priming));
        free(priming);
    }
    cf_stream_t *stream = call->stream;
    call->stream = NULL;
    cf_stream_detach(stream);
    cf_stream_end(stream);
    cf_call_schedule_step(call);
    return 0;
}

int cf_resume_get(cf_server_t *srv, h2o_req_t *req, cf_session_t *s, h2o_iovec_t last)
{
    char key[EVENT_ID_MAX];
    const char *dash = memchr(last.base, '-', last.len);
    size_t key_len = dash != NULL ? (size_t)(dash - last.base) : last.len;
    cf_resume_t *resume = NULL;

    if (key_len < sizeof(key)) {
        memcpy(key, last.base, key_len);
        key[key_len] = '\0';
        resume = resume_find(s, key);
    }
    if (resume == NULL || resume->waiter != NULL) {
        return cf_send_error(req, 404, "Not Found", NULL, -32000, "Unknown Last-Event-ID");
    }
    cf_stream_t *stream = cf_stream_open(srv, req, resume, on_resume_waiter_gone);
    if (resume->result != NULL) {
        resume_deliver(s, resume, stream);
    } else {
        resume->waiter = stream;
    }
    return 0;
}
