/* mcpgw-conformance: HTTP answers: whole bodies, JSON-RPC errors and results. */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include <h2o.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "tests/backends/conformance.h"
#include "tests/backends/json.h"
#include "tests/backends/serve.h"

void cf_add_header(h2o_req_t *req, const h2o_token_t *token, const char *value)
{
    h2o_add_header(&req->pool, &req->res.headers, token, NULL, value, strlen(value));
}

int cf_send_body(h2o_req_t *req, int status, const char *reason, const char *content_type,
                 h2o_iovec_t body)
{
    req->res.status = status;
    req->res.reason = reason;
    if (content_type != NULL) {
        cf_add_header(req, H2O_TOKEN_CONTENT_TYPE, content_type);
    }
    req->res.content_length = body.len;
    h2o_send_inline(req, body.base, body.len);
    return 0;
}

int cf_send_empty(h2o_req_t *req, int status, const char *reason)
{
    return cf_send_body(req, status, reason, NULL, h2o_iovec_init("", 0));
}

/* Answers with a JSON-RPC error; HTTP-level errors (4xx, 5xx) use the same body. */
int cf_send_error(h2o_req_t *req, int status, const char *reason, const cf_id_t *id, int code,
                  const char *message)
{
    static const cf_id_t null_id = {0, NULL, 0};
    yajl_gen g = cf_message_begin();

    if (g == NULL) {
        return cf_send_empty(req, 500, "Internal Server Error");
    }
    json_gen_str(g, "id");
    cf_gen_id(g, id != NULL ? id : &null_id);
    json_gen_str(g, "error");
    yajl_gen_map_open(g);
    json_gen_str(g, "code");
    yajl_gen_integer(g, code);
    cf_gen_kv(g, "message", message);
    yajl_gen_map_close(g);
    yajl_gen_map_close(g);
    cf_send_body(req, status, reason, "application/json", json_gen_output(g));
    yajl_gen_free(g);
    return 0;
}

int cf_rpc_error(cf_rpc_t *r, int code, const char *message)
{
    return cf_send_error(r->req, 200, "OK", &r->id, code, message);
}

int cf_rpc_no_memory(cf_rpc_t *r)
{
    return cf_send_error(r->req, 500, "Internal Server Error", &r->id, -32603, "Out of memory");
}

/* Closes the response begun by cf_response_begin and sends it as application/json. */
int cf_rpc_answer(cf_rpc_t *r, yajl_gen g)
{
    yajl_gen_map_close(g);
    h2o_iovec_t out = json_gen_output(g);
    if (r->modern) {
        out = cf_modern_result(r->req, r->method, out);
    }
    cf_send_body(r->req, 200, "OK", "application/json", out);
    yajl_gen_free(g);
    return 0;
}

int cf_answer_empty(cf_rpc_t *r)
{
    yajl_gen g = cf_response_begin(&r->id);

    if (g == NULL) {
        return cf_rpc_no_memory(r);
    }
    yajl_gen_map_open(g);
    yajl_gen_map_close(g);
    return cf_rpc_answer(r, g);
}

yajl_gen cf_result_array_begin(cf_rpc_t *r, const char *key)
{
    yajl_gen g = cf_response_begin(&r->id);

    if (g == NULL) {
        cf_rpc_no_memory(r);
        return NULL;
    }
    yajl_gen_map_open(g);
    json_gen_str(g, key);
    yajl_gen_array_open(g);
    return g;
}

int cf_result_array_answer(cf_rpc_t *r, yajl_gen g)
{
    yajl_gen_array_close(g);
    yajl_gen_map_close(g);
    return cf_rpc_answer(r, g);
}
