/* mcpgw-testbackend: JSON-RPC messages: their shape, initialize and the method table. */

#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <h2o.h>

#include "tests/backends/json.h"
#include "tests/backends/serve.h"
#include "tests/backends/testbackend.h"

#define SERVER_VERSION "1.0.0"
#define LATEST_PROTOCOL_VERSION "2025-11-25"

const char *const tb_supported_versions[TB_NVERSIONS] = {"2025-03-26", "2025-06-18", "2025-11-25"};

static int answer_ping(tb_rpc_call_t *c)
{
    return tb_answer_raw_result(c, h2o_iovec_init(H2O_STRLIT("{}")));
}

static int answer_tools_list(tb_rpc_call_t *c)
{
    tb_server_t *srv = c->srv;

    if (tb_session_sampling(c)) {
        return tb_answer_raw_result(c, srv->extra_listed ? srv->tools_list_extra_sampling
                                                         : srv->tools_list_sampling);
    }
    return tb_answer_raw_result(c, srv->extra_listed ? srv->tools_list_extra : srv->tools_list);
}

static const struct rpc_method {
    const char *name;
    int (*answer)(tb_rpc_call_t *c);
} rpc_methods[] = {
    {"ping", answer_ping},
    {"tools/list", answer_tools_list},
    {"tools/call", tb_tools_call},
};

#define CAPS_HEAD "{\"tools\":{\"listChanged\":true}"
#define CAPS_LOGGING ",\"logging\":{}"
#define CAPS_PAD_HEAD ",\"experimental\":{\"padding\":{\"data\":\""
#define CAPS_PAD_TAIL "\"}}"

int tb_rpc_capabilities_build(tb_server_t *srv)
{
    const char *head = srv->caps_logging ? CAPS_HEAD CAPS_LOGGING : CAPS_HEAD;
    size_t fixed = strlen(head) + strlen(CAPS_PAD_HEAD) + strlen(CAPS_PAD_TAIL) + 1;
    size_t pad = srv->capabilities_bytes > fixed ? srv->capabilities_bytes - fixed : 0;
    size_t len = srv->capabilities_bytes == 0 ? strlen(head) + 1 : fixed + pad;
    char *p = malloc(len);

    if (p == NULL) {
        return -1;
    }
    if (srv->capabilities_bytes == 0) {
        memcpy(p, head, strlen(head));
        p[strlen(head)] = '}'; /* the text is len bytes, without a NUL */
    } else {
        size_t off = strlen(head) + strlen(CAPS_PAD_HEAD);
        memcpy(p, head, strlen(head));
        memcpy(p + strlen(head), CAPS_PAD_HEAD, strlen(CAPS_PAD_HEAD));
        memset(p + off, 'x', pad);
        memcpy(p + off + pad, CAPS_PAD_TAIL "}", strlen(CAPS_PAD_TAIL) + 1);
    }
    srv->capabilities = h2o_iovec_init(p, len);
    return 0;
}

int tb_rpc_initialize(tb_rpc_call_t *c)
{
    tb_server_t *srv = c->srv;
    yajl_val asked = json_member(c->params, "protocolVersion");
    const char *version = LATEST_PROTOCOL_VERSION;
    char id[SESSION_ID_MAX];
    size_t id_len;

    for (size_t i = 0; i != TB_NVERSIONS; ++i) {
        if (YAJL_IS_STRING(asked) && strcmp(asked->u.string, tb_supported_versions[i]) == 0) {
            version = tb_supported_versions[i];
        }
    }
    if (srv->protocol != NULL) {
        version = srv->protocol; /* whatever was asked: the client must follow (spec) */
    }
    if ((id_len = tb_session_new_id(srv, id)) == 0 ||
        tb_session_add(&srv->sessions, h2o_iovec_init(id, id_len)) != 0) {
        return tb_send_rpc_error(srv, c->req, 500, "Internal Server Error", c->raw_id, -32603,
                                 "Internal error");
    }
    yajl_val sampling = json_member(json_member(c->params, "capabilities"), "sampling");
    if (sampling != NULL && YAJL_IS_OBJECT(sampling)) {
        tb_session_find(&srv->sessions, h2o_iovec_init(id, id_len))->sampling = 1;
    }
    ++srv->stats.initializes;
    h2o_iovec_t header = h2o_strdup(&c->req->pool, id, id_len);
    h2o_add_header_by_str(&c->req->pool, &c->req->res.headers, H2O_STRLIT("mcp-session-id"), 0,
                          "Mcp-Session-Id", header.base, header.len);

    yajl_gen g = tb_begin_answer(c);
    json_gen_str(g, "result");
    yajl_gen_map_open(g);
    json_gen_str(g, "protocolVersion");
    json_gen_str(g, version);
    json_gen_str(g, "capabilities");
    json_gen_raw(g, srv->capabilities);
    json_gen_str(g, "serverInfo");
    yajl_gen_map_open(g);
    json_gen_str(g, "name");
    json_gen_iov(g, h2o_iovec_init(srv->name, srv->name_len));
    json_gen_str(g, "version");
    json_gen_str(g, SERVER_VERSION);
    yajl_gen_map_close(g);
    yajl_gen_map_close(g);
    return tb_finish_answer(c);
}

int tb_rpc_dispatch(tb_rpc_call_t *c)
{
    for (size_t i = 0; i != sizeof(rpc_methods) / sizeof(rpc_methods[0]); ++i) {
        if (strcmp(rpc_methods[i].name, c->method) == 0) {
            return rpc_methods[i].answer(c);
        }
    }
    return tb_answer_error(c, -32601, h2o_iovec_init(H2O_STRLIT("Method not found")));
}

/* Checks the JSON-RPC 2.0 shape of c->msg and fills in method, params and raw_id. */
int tb_rpc_classify(tb_rpc_call_t *c, enum tb_rpc_kind *kind)
{
    static const char *const id_path[] = {"id", NULL};
    yajl_val jsonrpc = json_member(c->msg, "jsonrpc");
    yajl_val id = json_member(c->msg, "id");
    yajl_val method = json_member(c->msg, "method");

    if (!YAJL_IS_STRING(jsonrpc) || strcmp(jsonrpc->u.string, "2.0") != 0) {
        return -1;
    }
    if (YAJL_IS_STRING(id) || YAJL_IS_NUMBER(id)) {
        c->raw_id = tb_raw_json(c, id, id_path);
    } else if (id != NULL && !YAJL_IS_NULL(id)) {
        return -1;
    }
    if (method != NULL) {
        if (!YAJL_IS_STRING(method) || YAJL_IS_NULL(id)) {
            return -1;
        }
        c->method = method->u.string;
        c->params = json_member(c->msg, "params");
        *kind = id != NULL ? RPC_REQUEST : RPC_NOTIFICATION;
        return 0;
    }
    if (id == NULL ||
        (json_member(c->msg, "result") == NULL) == (json_member(c->msg, "error") == NULL)) {
        return -1;
    }
    *kind = RPC_RESPONSE;
    return 0;
}
