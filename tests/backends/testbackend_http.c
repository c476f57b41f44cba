/* mcpgw-testbackend: the HTTP side: /mcp POST, GET and DELETE, /stats, and any other path. */

#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <h2o.h>

#include "tests/backends/json.h"
#include "tests/backends/serve.h"
#include "tests/backends/testbackend.h"

#define SCRATCH_KEEP (1024 * 1024)

static int content_type_is_json(const h2o_req_t *req)
{
    ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_CONTENT_TYPE, -1);

    return i != -1 && serve_media_type_is(req->headers.entries[i].value, "application/json");
}

static h2o_iovec_t session_header(const h2o_req_t *req)
{
    return serve_header(req, "mcp-session-id");
}

/* Answers 400 or 404 unless the request names a live session. */
static int check_session(tb_server_t *srv, h2o_req_t *req, h2o_iovec_t session, h2o_iovec_t raw_id)
{
    if (session.len == 0) {
        tb_send_rpc_error(srv, req, 400, "Bad Request", raw_id, -32600, "Mcp-Session-Id required");
        return -1;
    }
    if (tb_session_find(&srv->sessions, session) == NULL) {
        tb_send_rpc_error(srv, req, 404, "Not Found", raw_id, -32001, "Session not found");
        return -1;
    }
    return 0;
}

/* A NUL-terminated copy of the body for yajl_tree_parse, in srv->scratch; NULL on no memory. */
static char *copy_body(tb_server_t *srv, h2o_iovec_t entity)
{
    if (entity.len + 1 > srv->scratch_cap) {
        size_t cap = entity.len + 1 > 4096 ? entity.len + 1 : 4096;
        char *p = realloc(srv->scratch, cap);
        if (p == NULL) {
            return NULL;
        }
        srv->scratch = p;
        srv->scratch_cap = cap;
    }
    if (entity.len != 0) {
        memcpy(srv->scratch, entity.base, entity.len);
    }
    srv->scratch[entity.len] = '\0';
    return srv->scratch;
}

static void release_body(tb_server_t *srv)
{
    if (srv->scratch_cap > SCRATCH_KEEP) {
        free(srv->scratch);
        srv->scratch = NULL;
        srv->scratch_cap = 0;
    }
}

static void answer_post(tb_rpc_call_t *c)
{
    tb_server_t *srv = c->srv;
    h2o_req_t *req = c->req;
    h2o_iovec_t none = h2o_iovec_init(NULL, 0);
    enum tb_rpc_kind kind;

    c->body.base = copy_body(srv, req->entity);
    c->body.len = req->entity.len;
    if (c->body.base == NULL) {
        tb_send_rpc_error(srv, req, 500, "Internal Server Error", none, -32603, "Internal error");
        return;
    }
    if (req->entity.len == 0 || memchr(c->body.base, '\0', c->body.len) != NULL ||
        (c->msg = yajl_tree_parse(c->body.base, NULL, 0)) == NULL) {
        tb_send_rpc_error(srv, req, 400, "Bad Request", none, -32700, "Parse error");
        return;
    }
    if (!YAJL_IS_OBJECT(c->msg) || tb_rpc_classify(c, &kind) != 0) {
        tb_send_rpc_error(srv, req, 400, "Bad Request", c->raw_id, -32600, "Invalid Request");
        return;
    }
    if (kind == RPC_REQUEST && strcmp(c->method, "initialize") == 0) {
        tb_rpc_initialize(c);
        return;
    }
    c->session = session_header(req);
    if (check_session(srv, req, c->session, c->raw_id) != 0) {
        return;
    }
    switch (kind) {
    case RPC_NOTIFICATION:
        ++srv->stats.notifications;
        if (c->body.len < sizeof(srv->stats.last_note) && c->session.len <= SESSION_ID_MAX) {
            memcpy(srv->stats.last_note, c->body.base, c->body.len);
            srv->stats.last_note_len = c->body.len;
            memcpy(srv->stats.last_note_session, c->session.base, c->session.len);
            srv->stats.last_note_session[c->session.len] = '\0';
        }
        tb_send_empty(req, 202, "Accepted");
        break;
    case RPC_RESPONSE:
        ++srv->stats.responses;
        tb_send_empty(req, 202, "Accepted");
        break;
    case RPC_REQUEST:
        tb_rpc_dispatch(c);
        break;
    }
}

static int on_post_mcp(tb_server_t *srv, h2o_req_t *req)
{
    h2o_iovec_t none = h2o_iovec_init(NULL, 0);

    if (!serve_accepts(req, "application/json") || !serve_accepts(req, "text/event-stream")) {
        return tb_send_rpc_error(srv, req, 406, "Not Acceptable", none, -32000,
                                 "Not Acceptable: Client must accept both application/json and "
                                 "text/event-stream");
    }
    if (!content_type_is_json(req)) {
        return tb_send_rpc_error(srv, req, 415, "Unsupported Media Type", none, -32000,
                                 "Unsupported Media Type: Content-Type must be application/json");
    }
    if (srv->protocol != NULL) {
        /* a strict server of one revision: after initialize, requests must name it */
        ssize_t i = h2o_find_header_by_str(&req->headers, H2O_STRLIT("mcp-protocol-version"), -1);
        if (i >= 0 &&
            !h2o_memis(req->headers.entries[i].value.base, req->headers.entries[i].value.len,
                       srv->protocol, strlen(srv->protocol))) {
            return tb_send_rpc_error(srv, req, 400, "Bad Request", none, -32000,
                                     "Bad Request: Unsupported protocol version");
        }
    }
    tb_rpc_call_t c = {.srv = srv, .req = req};
    answer_post(&c);
    yajl_tree_free(c.msg);
    release_body(srv);
    return 0;
}

static int on_get_mcp(tb_server_t *srv, h2o_req_t *req)
{
    h2o_iovec_t session = session_header(req);

    if (!serve_accepts(req, "text/event-stream")) {
        return tb_send_rpc_error(srv, req, 406, "Not Acceptable", h2o_iovec_init(NULL, 0), -32000,
                                 "Not Acceptable: Client must accept text/event-stream");
    }
    if (check_session(srv, req, session, h2o_iovec_init(NULL, 0)) != 0) {
        return 0;
    }
    tb_stream_open(srv, req, tb_session_find(&srv->sessions, session));
    return 0;
}

static int on_delete_mcp(tb_server_t *srv, h2o_req_t *req)
{
    h2o_iovec_t session = session_header(req);

    if (check_session(srv, req, session, h2o_iovec_init(NULL, 0)) != 0) {
        return 0;
    }
    tb_session_streams_end(tb_session_find(&srv->sessions, session));
    tb_session_remove(&srv->sessions, session);
    ++srv->stats.deletes;
    tb_send_empty(req, 200, "OK");
    return 0;
}

static int on_get_stats(tb_server_t *srv, h2o_req_t *req)
{
    char buf[1600];
    const tb_stats_t *st = &srv->stats;
    int len =
        snprintf(buf, sizeof(buf),
                 "{\"initializes\":%" PRIu64 ",\"sessions\":%zu,\"calls\":%" PRIu64
                 ",\"deletes\":%" PRIu64 ",\"notifications\":%" PRIu64 ",\"responses\":%" PRIu64
                 ",\"streams\":%" PRIu64 ",\"last_notification\":%.*s"
                 ",\"last_notification_session\":\"%s\"}",
                 st->initializes, srv->sessions.count, st->calls, st->deletes, st->notifications,
                 st->responses, st->streams, st->last_note_len ? (int)st->last_note_len : 4,
                 st->last_note_len ? st->last_note : "null", st->last_note_session);

    tb_send_json(req, 200, "OK", h2o_iovec_init(buf, (size_t)len), 0);
    return 0;
}

int tb_http_on_req(h2o_handler_t *self, h2o_req_t *req)
{
    tb_server_t *srv = H2O_STRUCT_FROM_MEMBER(tb_server_t, serve, ((serve_handler_t *)self)->serve);
    h2o_iovec_t path = req->path_normalized;

    if (h2o_memis(path.base, path.len, H2O_STRLIT("/mcp"))) {
        if (serve_is_method(req, "POST")) {
            return on_post_mcp(srv, req);
        }
        if (serve_is_method(req, "GET")) {
            return on_get_mcp(srv, req);
        }
        if (serve_is_method(req, "DELETE")) {
            return on_delete_mcp(srv, req);
        }
        return tb_send_not_allowed(srv, req, "GET, POST, DELETE");
    }
    if (h2o_memis(path.base, path.len, H2O_STRLIT("/stats"))) {
        if (serve_is_method(req, "GET")) {
            return on_get_stats(srv, req);
        }
        return tb_send_not_allowed(srv, req, "GET");
    }
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                   H2O_STRLIT("text/plain; charset=utf-8"));
    req->res.status = 404;
    req->res.reason = "Not Found";
    tb_send_whole(req, h2o_iovec_init(H2O_STRLIT("not found\n")));
    return 0;
}
