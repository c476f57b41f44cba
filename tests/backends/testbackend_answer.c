/* mcpgw-testbackend: sending answers: HTTP responses, JSON-RPC results and errors, tool results. */

#include "config.h"

#include <string.h>

#include <h2o.h>

#include "tests/backends/json.h"
#include "tests/backends/serve.h"
#include "tests/backends/testbackend.h"

/* memcpy that accepts the NULL base of an empty iovec. */
static char *append(char *dst, h2o_iovec_t src)
{
    if (src.len != 0) {
        memcpy(dst, src.base, src.len);
    }
    return dst + src.len;
}

h2o_iovec_t tb_concat3(h2o_mem_pool_t *pool, h2o_iovec_t a, h2o_iovec_t b, h2o_iovec_t c)
{
    char *buf = h2o_mem_alloc_pool(pool, a.len + b.len + c.len + 1);
    char *end = append(append(append(buf, a), b), c);

    *end = '\0';
    return h2o_iovec_init(buf, (size_t)(end - buf));
}

/* A copy of json in pool, framed as one SSE message event when sse is set. */
h2o_iovec_t tb_frame_body(h2o_mem_pool_t *pool, h2o_iovec_t json, int sse)
{
    h2o_iovec_t none = h2o_iovec_init(NULL, 0);

    if (!sse) {
        return tb_concat3(pool, none, json, none);
    }
    return serve_sse_event(pool, NULL, json);
}

void tb_set_response_head(h2o_req_t *req, int status, const char *reason, int sse)
{
    req->res.status = status;
    req->res.reason = reason;
    if (sse) {
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                       H2O_STRLIT("text/event-stream"));
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL,
                       H2O_STRLIT("no-cache"));
    } else {
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                       H2O_STRLIT("application/json"));
    }
}

/* Sends a whole response at once; body must live in the request pool or be static. */
void tb_send_whole(h2o_req_t *req, h2o_iovec_t body)
{
    static h2o_generator_t generator = {NULL, NULL};

    req->res.content_length = body.len;
    h2o_start_response(req, &generator);
    h2o_send(req, &body, body.len != 0 ? 1 : 0, H2O_SEND_STATE_FINAL);
}

void tb_send_empty(h2o_req_t *req, int status, const char *reason)
{
    req->res.status = status;
    req->res.reason = reason;
    tb_send_whole(req, h2o_iovec_init(NULL, 0));
}

void tb_send_json(h2o_req_t *req, int status, const char *reason, h2o_iovec_t json, int sse)
{
    tb_set_response_head(req, status, reason, sse);
    tb_send_whole(req, tb_frame_body(&req->pool, json, sse));
}

/* An HTTP-level rejection: always application/json, with a JSON-RPC error body. */
int tb_send_rpc_error(tb_server_t *srv, h2o_req_t *req, int status, const char *reason,
                      h2o_iovec_t raw_id, int code, const char *message)
{
    yajl_gen g = srv->out;

    json_gen_restart(g);
    yajl_gen_map_open(g);
    json_gen_str(g, "jsonrpc");
    json_gen_str(g, "2.0");
    json_gen_str(g, "id");
    json_gen_raw(g, raw_id);
    json_gen_str(g, "error");
    yajl_gen_map_open(g);
    json_gen_str(g, "code");
    yajl_gen_integer(g, code);
    json_gen_str(g, "message");
    json_gen_str(g, message);
    yajl_gen_map_close(g);
    yajl_gen_map_close(g);
    tb_send_json(req, status, reason, json_gen_output(g), 0);
    return 0;
}

int tb_send_not_allowed(tb_server_t *srv, h2o_req_t *req, const char *allow)
{
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ALLOW, NULL, allow, strlen(allow));
    return tb_send_rpc_error(srv, req, 405, "Method Not Allowed", h2o_iovec_init(NULL, 0), -32000,
                             "Method not allowed");
}

/* Opens {"jsonrpc":"2.0","id":ID, in srv->out; the caller adds "result" or "error". */
yajl_gen tb_begin_answer(tb_rpc_call_t *c)
{
    yajl_gen g = c->srv->out;

    json_gen_restart(g);
    yajl_gen_map_open(g);
    json_gen_str(g, "jsonrpc");
    json_gen_str(g, "2.0");
    json_gen_str(g, "id");
    json_gen_raw(g, c->raw_id);
    return g;
}

/* Closes the answer; the text is valid until srv->out is used again. */
static h2o_iovec_t close_answer(tb_rpc_call_t *c)
{
    yajl_gen_map_close(c->srv->out);
    return json_gen_output(c->srv->out);
}

int tb_finish_answer(tb_rpc_call_t *c)
{
    tb_send_json(c->req, 200, "OK", close_answer(c), c->srv->sse);
    return 0;
}

int tb_answer_raw_result(tb_rpc_call_t *c, h2o_iovec_t result)
{
    yajl_gen g = tb_begin_answer(c);

    json_gen_str(g, "result");
    json_gen_raw(g, result);
    return tb_finish_answer(c);
}

int tb_answer_error(tb_rpc_call_t *c, int code, h2o_iovec_t message)
{
    yajl_gen g = tb_begin_answer(c);

    json_gen_str(g, "error");
    yajl_gen_map_open(g);
    json_gen_str(g, "code");
    yajl_gen_integer(g, code);
    json_gen_str(g, "message");
    json_gen_iov(g, message);
    yajl_gen_map_close(g);
    return tb_finish_answer(c);
}

/* Opens the JSON text a tool returns, with the fields every tool shares, in srv->text. */
yajl_gen tb_begin_text(tb_rpc_call_t *c, const char *tool)
{
    yajl_gen t = c->srv->text;

    json_gen_restart(t);
    yajl_gen_map_open(t);
    json_gen_str(t, "backend");
    json_gen_iov(t, h2o_iovec_init(c->srv->name, c->srv->name_len));
    json_gen_str(t, "session");
    json_gen_iov(t, c->session);
    json_gen_str(t, "tool");
    json_gen_str(t, tool);
    return t;
}

static void gen_text_content(yajl_gen g, h2o_iovec_t text)
{
    yajl_gen_map_open(g);
    json_gen_str(g, "content");
    yajl_gen_array_open(g);
    yajl_gen_map_open(g);
    json_gen_str(g, "type");
    json_gen_str(g, "text");
    json_gen_str(g, "text");
    json_gen_iov(g, text);
    yajl_gen_map_close(g);
    yajl_gen_array_close(g);
}

/* Closes the tool's text and wraps it as the answer's only content; valid until srv->out is
 * used again. */
h2o_iovec_t tb_close_text_answer(tb_rpc_call_t *c)
{
    yajl_gen_map_close(c->srv->text);
    yajl_gen g = tb_begin_answer(c);
    json_gen_str(g, "result");
    gen_text_content(g, json_gen_output(c->srv->text));
    yajl_gen_map_close(g);
    return close_answer(c);
}

int tb_finish_text(tb_rpc_call_t *c)
{
    tb_send_json(c->req, 200, "OK", tb_close_text_answer(c), c->srv->sse);
    return 0;
}

/* A tool execution failure: a result with isError, which clients show to the model. */
int tb_answer_tool_error(tb_rpc_call_t *c, const char *message)
{
    yajl_gen g = tb_begin_answer(c);

    json_gen_str(g, "result");
    gen_text_content(g, h2o_iovec_init(message, strlen(message)));
    json_gen_str(g, "isError");
    yajl_gen_bool(g, 1);
    yajl_gen_map_close(g);
    return tb_finish_answer(c);
}
