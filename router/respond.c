/* respond.c: answers to the client: JSON bodies and JSON-RPC errors (with their metrics), or
 * collected into a batch; and SSE responses, their events and their flow control with h2o. */
#include <config.h> /* autoconf's, not common/config.h */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "router/router.h"

void rtr_count_response(rtr_t *r, unsigned status, size_t bytes)
{
    gw_metric_add(r->m,
                  status < 300   ? GW_MC_RESP_2XX
                  : status < 500 ? GW_MC_RESP_4XX
                                 : GW_MC_RESP_5XX,
                  1);
    gw_metric_add(r->m, GW_MC_BYTES_OUT, bytes);
}

/* Which rejection an error answer is, for the metrics (one place, from what the client gets). */
gw_counter_t rtr_rejection_of(unsigned status, int code, const char *msg)
{
    switch (status) {
    case 413:
        return GW_MC_REJ_BODY_TOO_LARGE;
    case 431:
        return GW_MC_REJ_HEADER_TOO_LARGE;
    case 429:
        if (code == GW_RPC_RATE_LIMITED) {
            return GW_MC_REJ_RATE;
        }
        return strstr(msg, "max_concurrent_requests_per_session") != NULL
                   ? GW_MC_REJ_SESSION_REQUESTS
                   : GW_MC_REJ_SESSION_LIMIT;
    case 406:
        return GW_MC_REJ_NOT_ACCEPTABLE;
    case 415:
        return GW_MC_REJ_UNSUPPORTED_MEDIA_TYPE;
    case 401:
        return GW_MC_REJ_UNAUTHORIZED;
    case 403:
        return GW_MC_REJ_FORBIDDEN;
    case 404: /* or a method 2026-07-28 does not have (design §1 rows 15, 16) */
        return code == GW_RPC_METHOD_NOT_FOUND ? GW_MC_REJ_UNKNOWN_METHOD
                                               : GW_MC_REJ_UNKNOWN_SESSION;
    case 405:
        return GW_MC_REJ_METHOD_NOT_ALLOWED;
    case 503:
        return GW_MC_REJ_UNAVAILABLE;
    default:
        break;
    }
    if (code == GW_RPC_INVALID_PARAMS && strstr(msg, "requestState") != NULL) {
        return GW_MC_REJ_REQUEST_STATE; /* MRTR's row 19, from the router or a worker */
    }
    switch (code) {
    case GW_RPC_PARSE_ERROR:
        return GW_MC_REJ_PARSE_ERROR;
    case GW_RPC_METHOD_NOT_FOUND:
        return GW_MC_REJ_UNKNOWN_METHOD;
    case GW_RPC_INVALID_PARAMS:
    case GW_RPC_RESOURCE_NOT_FOUND:
        return GW_MC_REJ_UNKNOWN_NAME;
    case GW_RPC_TIMEOUT:
        return GW_MC_REJ_TIMEOUT;
    case GW_RPC_BACKEND_UNAVAILABLE:
        return GW_MC_REJ_UNAVAILABLE;
    default:
        break;
    }
    if (strstr(msg, "Mcp-Session-Id") != NULL) {
        return GW_MC_REJ_MISSING_SESSION;
    }
    if (strstr(msg, "MCP-Protocol-Version") != NULL) {
        return GW_MC_REJ_BAD_PROTOCOL_VERSION;
    }
    return GW_MC_REJ_INVALID_REQUEST;
}

static const char *reason_phrase(unsigned status)
{
    switch (status) {
    case 200:
        return "OK";
    case 202:
        return "Accepted";
    case 400:
        return "Bad Request";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 406:
        return "Not Acceptable";
    case 413:
        return "Payload Too Large";
    case 415:
        return "Unsupported Media Type";
    case 431:
        return "Request Header Fields Too Large";
    case 502:
        return "Bad Gateway";
    case 429:
        return "Too Many Requests";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    default:
        return status < 300 ? "OK" : status < 500 ? "Client Error" : "Server Error";
    }
}

void rtr_respond(rtr_t *r, rtr_sink_t to, unsigned status, const char *body, size_t len)
{
    static h2o_generator_t none = {NULL, NULL};
    if (to.batch != NULL) {
        rtr_batch_answer(to.batch, body, len); /* one message of a batch answered here */
        return;
    }
    h2o_req_t *req = to.req;
    rtr_count_response(r, status, len);
    req->res.status = (int)status;
    req->res.reason = reason_phrase(status);
    if (len > 0) {
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                       H2O_STRLIT("application/json"));
        req->res.content_length = len;
        h2o_send_inline(req, body, len);
    } else {
        req->res.content_length = 0;
        h2o_start_response(req, &none);
        h2o_send(req, NULL, 0, H2O_SEND_STATE_FINAL);
    }
}

void rtr_respond_error(rtr_t *r, rtr_sink_t to, unsigned status, const char *id, size_t id_len,
                       int code, const char *msg)
{
    rtr_respond_error_fields(r, to, status, id, id_len, code, msg, "");
}

void rtr_respond_error_fields(rtr_t *r, rtr_sink_t to, unsigned status, const char *id,
                              size_t id_len, int code, const char *msg, const char *fields)
{
    h2o_req_t *req = to.req;
    gw_buf_t b;
    gw_buf_init(&b);
    h2o_iovec_t rid = rtr_request_id_of(req);
    if (gw_rpc_error(&b, id, id_len, code, msg) != GW_OK) {
        gw_buf_fini(&b);
        gw_log_err("msg=\"out of memory answering an error\" status=%u request_id=%.*s", status,
                   (int)rid.len, rid.base);
        h2o_send_error_503(req, "Service Unavailable", "out of memory", 0);
        return;
    }
    char reason[512]; /* msg may carry a name the client chose */
    gw_log_info("msg=rejected status=%u code=%d reason=\"%s\"%s request_id=%.*s", status, code,
                gw_log_quote(reason, sizeof(reason), msg, strlen(msg)), fields, (int)rid.len,
                rid.base);
    gw_metric_add(r->m, rtr_rejection_of(status, code, msg), 1);
    rtr_respond(r, to, status, b.data, b.len);
    gw_buf_fini(&b);
}

void rtr_respond_error_data(rtr_t *r, rtr_sink_t to, unsigned status, const char *id, size_t id_len,
                            int code, const char *msg, const char *data, size_t data_len,
                            const char *fields)
{
    if (data == NULL || data_len == 0) {
        rtr_respond_error_fields(r, to, status, id, id_len, code, msg, fields);
        return;
    }
    h2o_req_t *req = to.req;
    gw_buf_t b;
    gw_buf_init(&b);
    h2o_iovec_t rid = rtr_request_id_of(req);
    /* gw_rpc_error's text, with data spliced in before its last two braces */
    gw_err_t err = gw_rpc_error(&b, id, id_len, code, msg);
    if (err == GW_OK && b.len >= 2) {
        b.len -= 2;
        err = gw_buf_appends(&b, ",\"data\":");
        if (err == GW_OK) {
            err = gw_buf_append(&b, data, data_len);
        }
        if (err == GW_OK) {
            err = gw_buf_appends(&b, "}}");
        }
    }
    if (err != GW_OK) {
        gw_buf_fini(&b);
        gw_log_err("msg=\"out of memory answering an error\" status=%u request_id=%.*s", status,
                   (int)rid.len, rid.base);
        h2o_send_error_503(req, "Service Unavailable", "out of memory", 0);
        return;
    }
    char reason[512];
    gw_log_info("msg=rejected status=%u code=%d reason=\"%s\"%s request_id=%.*s", status, code,
                gw_log_quote(reason, sizeof(reason), msg, strlen(msg)), fields, (int)rid.len,
                rid.base);
    gw_metric_add(r->m, rtr_rejection_of(status, code, msg), 1);
    rtr_respond(r, to, status, b.data, b.len);
    gw_buf_fini(&b);
}

/* A request's response must be JSON or an event stream (basic/transports); an event stream with
 * no event says "no response" within the rules, and the client asked for both kinds. */
void rtr_respond_cancelled(rtr_t *r, h2o_req_t *req)
{
    static h2o_generator_t none = {NULL, NULL};
    rtr_count_response(r, 200, 0);
    req->res.status = 200;
    req->res.reason = "OK";
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                   H2O_STRLIT("text/event-stream"));
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL,
                   H2O_STRLIT("no-cache"));
    req->res.content_length = 0;
    h2o_start_response(req, &none);
    h2o_send(req, NULL, 0, H2O_SEND_STATE_FINAL);
}

static void on_generator_proceed(h2o_generator_t *gen, h2o_req_t *req)
{
    rtr_call_t *c = H2O_STRUCT_FROM_MEMBER(rtr_call_t, gen, gen);
    c->send_pending = 0;
    gw_buf_reset(&c->sending);
    rtr_sse_flush(c);
}

static void on_generator_stop(h2o_generator_t *gen, h2o_req_t *req)
{
    rtr_call_t *c = H2O_STRUCT_FROM_MEMBER(rtr_call_t, gen, gen);
    c->req = NULL;
    if (c->ended) {
        rtr_call_destroy(c);
    } else if (c->stream) {
        rtr_stream_gone(c);
    }
}

void rtr_sse_start(rtr_call_t *c)
{
    rtr_count_response(c->rtr, c->status, 0);
    c->state = RTR_CALL_STREAMING;
    c->req->res.status = (int)c->status;
    c->req->res.reason = "OK";
    h2o_add_header(&c->req->pool, &c->req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                   H2O_STRLIT("text/event-stream"));
    h2o_add_header(&c->req->pool, &c->req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL,
                   H2O_STRLIT("no-cache"));
    c->gen.proceed = on_generator_proceed;
    c->gen.stop = on_generator_stop;
    h2o_start_response(c->req, &c->gen);
    /* Send the headers now: the client learns the stream is open before the first event.
     * h2o 2.2 holds back a head sent without body bytes, so a GET stream, which may stay
     * idle until the first heartbeat, starts with a comment. */
    if (c->stream && gw_buf_appends(&c->body, ": open\n\n") == GW_OK) {
        rtr_sse_flush(c);
        return;
    }
    c->send_pending = 1;
    h2o_send(c->req, NULL, 0, H2O_SEND_STATE_IN_PROGRESS);
}

/* Hands the buffered SSE events to h2o when it is ready for them; ends the response and frees
 * the call once END has come and everything is written. */
void rtr_sse_flush(rtr_call_t *c)
{
    if (c->req == NULL) {
        if (c->ended) {
            rtr_call_destroy(c);
        }
        return;
    }
    if (c->send_pending) {
        return;
    }
    if (c->ended) {
        /* The final piece must outlive the call: copy it into the request's pool. */
        h2o_iovec_t last = h2o_strdup(&c->req->pool, c->body.data ? c->body.data : "", c->body.len);
        h2o_req_t *req = c->req;
        rtr_call_destroy(c);
        h2o_send(req, &last, last.len > 0 ? 1 : 0, H2O_SEND_STATE_FINAL);
        return;
    }
    if (c->body.len == 0) {
        return;
    }
    gw_buf_t t = c->sending;
    c->sending = c->body;
    c->body = t;
    gw_buf_reset(&c->body);
    h2o_iovec_t v = h2o_iovec_init(c->sending.data, c->sending.len);
    c->send_pending = 1;
    h2o_send(c->req, &v, 1, H2O_SEND_STATE_IN_PROGRESS);
}

void rtr_sse_append_id(rtr_call_t *c, gw_str_t id, const char *data, size_t len)
{
    gw_metric_add(c->rtr->m, GW_MC_BYTES_OUT, len);
    if ((id.len > 0 && (gw_buf_appends(&c->body, "id: ") != GW_OK ||
                        gw_buf_append(&c->body, id.ptr, id.len) != GW_OK ||
                        gw_buf_appends(&c->body, "\n") != GW_OK)) ||
        gw_buf_appends(&c->body, "event: message\ndata: ") != GW_OK ||
        gw_buf_append(&c->body, data, len) != GW_OK || gw_buf_appends(&c->body, "\n\n") != GW_OK) {
        gw_log_err("msg=\"out of memory buffering an event\" request_id=%s", c->request_id);
    }
}

void rtr_sse_append(rtr_call_t *c, const char *data, size_t len)
{
    rtr_sse_append_id(c, GW_STR_NULL, data, len);
}
