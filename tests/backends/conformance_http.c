/* mcpgw-conformance: the HTTP side: Host and Origin checks, /mcp POST, GET and DELETE. */

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

#define MAX_JSON_DEPTH 64 /* yajl_tree_free recurses; deeper bodies are refused before parsing */

/* host[:port] (or [v6][:port]) without the port; base NULL when malformed. */
static h2o_iovec_t host_part(h2o_iovec_t hostport)
{
    const char *p = hostport.base, *end = hostport.base + hostport.len, *host_end;

    if (hostport.len != 0 && p[0] == '[') {
        const char *close = memchr(p, ']', hostport.len);
        if (close == NULL) {
            return h2o_iovec_init(NULL, 0);
        }
        host_end = close + 1;
    } else {
        const char *colon = memchr(p, ':', hostport.len);
        host_end = colon != NULL ? colon : end;
    }
    if (host_end != end) {
        if (*host_end != ':' || host_end + 1 == end) {
            return h2o_iovec_init(NULL, 0);
        }
        for (const char *d = host_end + 1; d != end; ++d) {
            if (*d < '0' || *d > '9') {
                return h2o_iovec_init(NULL, 0);
            }
        }
    }
    return h2o_iovec_init(p, (size_t)(host_end - p));
}

static int is_loopback_host(const cf_server_t *srv, h2o_iovec_t host)
{
    static const char *const names[] = {"localhost", "127.0.0.1", "[::1]"};

    if (host.base == NULL) {
        return 0;
    }
    for (size_t i = 0; i != sizeof(names) / sizeof(names[0]); ++i) {
        if (h2o_lcstris(host.base, host.len, names[i], strlen(names[i]))) {
            return 1;
        }
    }
    return h2o_memis(host.base, host.len, srv->address, strlen(srv->address));
}

/* DNS-rebinding protection: the Host and any Origin must name this loopback server. */
static int host_and_origin_ok(const cf_server_t *srv, const h2o_req_t *req)
{
    if (!is_loopback_host(srv, host_part(req->input.authority))) {
        return 0;
    }
    h2o_iovec_t origin = serve_header(req, "origin");
    if (origin.base == NULL) {
        return 1;
    }
    const char *sep = NULL;
    for (size_t i = 0; i + 3 <= origin.len && sep == NULL; ++i) {
        if (memcmp(origin.base + i, "://", 3) == 0) {
            sep = origin.base + i;
        }
    }
    if (sep == NULL) {
        return 0;
    }
    h2o_iovec_t scheme = h2o_iovec_init(origin.base, (size_t)(sep - origin.base));
    if (!h2o_lcstris(scheme.base, scheme.len, H2O_STRLIT("http")) &&
        !h2o_lcstris(scheme.base, scheme.len, H2O_STRLIT("https"))) {
        return 0;
    }
    h2o_iovec_t rest = h2o_iovec_init(sep + 3, origin.len - scheme.len - 3);
    return is_loopback_host(srv, host_part(rest));
}

static int version_header_ok(const h2o_req_t *req)
{
    h2o_iovec_t v = serve_header(req, "mcp-protocol-version");

    if (v.base == NULL) {
        return 1;
    }
    for (size_t i = 0; i != CF_NVERSIONS; ++i) {
        if (h2o_memis(v.base, v.len, cf_supported_versions[i], strlen(cf_supported_versions[i]))) {
            return 1;
        }
    }
    return 0;
}

/* The session a request names, or NULL after answering 400 or 404. */
static cf_session_t *request_session(cf_server_t *srv, h2o_req_t *req, const cf_id_t *id)
{
    h2o_iovec_t sid = serve_header(req, "mcp-session-id");
    cf_session_t *s;

    if (sid.base == NULL) {
        cf_send_error(req, 400, "Bad Request", id, -32600, "Bad Request: Mcp-Session-Id required");
        return NULL;
    }
    if ((s = cf_session_find(srv, sid)) == NULL) {
        cf_send_error(req, 404, "Not Found", id, -32001, "Session not found");
        return NULL;
    }
    return s;
}

static int handle_message(cf_server_t *srv, h2o_req_t *req, yajl_val msg)
{
    const char *jsonrpc = cf_member_string(msg, "jsonrpc");
    yajl_val method = json_member(msg, "method");
    yajl_val idval = json_member(msg, "id");
    cf_rpc_t r = {.srv = srv, .req = req, .params = json_member(msg, "params")};
    int has_id = cf_id_borrow(&r.id, idval) == 0;

    if (jsonrpc == NULL || strcmp(jsonrpc, "2.0") != 0 || (idval != NULL && !has_id) ||
        (method != NULL && !YAJL_IS_STRING(method))) {
        return cf_send_error(req, 400, "Bad Request", has_id ? &r.id : NULL, -32600,
                             "Invalid Request");
    }
    if (cf_modern_applies(srv, req, msg)) {
        r.method = method != NULL ? YAJL_GET_STRING(method) : NULL;
        return cf_modern_handle(&r, msg, has_id);
    }
    if (method == NULL) {
        /* a response to one of our requests */
        if (!has_id ||
            (json_member(msg, "result") == NULL) == (json_member(msg, "error") == NULL)) {
            return cf_send_error(req, 400, "Bad Request", NULL, -32600, "Invalid Request");
        }
        if ((r.session = request_session(srv, req, NULL)) == NULL) {
            return 0;
        }
        cf_call_deliver_answer(r.session, msg);
        return cf_send_empty(req, 202, "Accepted");
    }
    r.method = YAJL_GET_STRING(method);
    if (has_id && strcmp(r.method, "initialize") == 0) {
        return cf_answer_initialize(&r);
    }
    if (!version_header_ok(req)) {
        return cf_send_error(req, 400, "Bad Request", has_id ? &r.id : NULL, -32600,
                             "Bad Request: Unsupported protocol version");
    }
    if ((r.session = request_session(srv, req, has_id ? &r.id : NULL)) == NULL) {
        return 0;
    }
    if (!has_id) {
        cf_on_notification(r.session, r.method, r.params);
        return cf_send_empty(req, 202, "Accepted");
    }
    return cf_dispatch(&r);
}

static int on_post(cf_server_t *srv, h2o_req_t *req)
{
    if (!serve_accepts(req, "application/json") || !serve_accepts(req, "text/event-stream")) {
        return cf_send_error(req, 406, "Not Acceptable", NULL, -32000,
                             "Not Acceptable: Client must accept both application/json and "
                             "text/event-stream");
    }
    ssize_t ct = h2o_find_header(&req->headers, H2O_TOKEN_CONTENT_TYPE, -1);
    if (ct == -1 || !serve_lists_media_type(req->headers.entries[ct].value, "application/json")) {
        return cf_send_error(req, 415, "Unsupported Media Type", NULL, -32000,
                             "Unsupported Media Type: Content-Type must be application/json");
    }
    h2o_iovec_t body = req->entity;
    if (body.base == NULL || body.len == 0 || memchr(body.base, '\0', body.len) != NULL ||
        !cf_json_depth_ok(body.base, body.len, MAX_JSON_DEPTH)) {
        return cf_send_error(req, 400, "Bad Request", NULL, -32700, "Parse error");
    }
    char *text = malloc(body.len + 1);
    if (text == NULL) {
        return cf_send_error(req, 500, "Internal Server Error", NULL, -32603, "Out of memory");
    }
    memcpy(text, body.base, body.len);
    text[body.len] = '\0';
    yajl_val msg = yajl_tree_parse(text, NULL, 0);
    free(text);
    if (msg == NULL) {
        return cf_send_error(req, 400, "Bad Request", NULL, -32700, "Parse error");
    }
    if (!YAJL_IS_OBJECT(msg)) {
        cf_send_error(req, 400, "Bad Request", NULL, -32600, "Invalid Request");
    } else {
        handle_message(srv, req, msg);
    }
    yajl_tree_free(msg);
    return 0;
}

/* GET: the session's stream of messages unrelated to a request, or with Last-Event-ID the
 * resumption of a POST stream that test_reconnection closed early. */
static int on_get(cf_server_t *srv, h2o_req_t *req)
{
    if (srv->era == CF_ERA_MODERN) {
        return cf_modern_method_not_allowed(req); /* 2026-07-28 has no GET stream */
    }
    if (!serve_accepts(req, "text/event-stream")) {
        return cf_send_error(req, 406, "Not Acceptable", NULL, -32000,
                             "Not Acceptable: Client must accept text/event-stream");
    }
    cf_session_t *s = request_session(srv, req, NULL);
    if (s == NULL) {
        return 0;
    }
    h2o_iovec_t last = serve_header(req, "last-event-id");
    if (last.base != NULL) {
        return cf_resume_get(srv, req, s, last);
    }
    if (s->get_stream != NULL) {
        return cf_send_error(req, 409, "Conflict", NULL, -32000,
                             "Conflict: Only one SSE stream is allowed per session");
    }
    s->get_stream = cf_stream_open(srv, req, s, cf_session_on_get_stream_gone);
    cf_stream_write(s->get_stream, H2O_STRLIT(": stream open\n\n"));
    return 0;
}

static int on_delete(cf_server_t *srv, h2o_req_t *req)
{
    if (srv->era == CF_ERA_MODERN) {
        return cf_modern_method_not_allowed(req); /* nor sessions to end */
    }
    cf_session_t *s = request_session(srv, req, NULL);

    if (s != NULL) {
        cf_session_end(s);
        cf_send_empty(req, 200, "OK");
    }
    return 0;
}

int cf_http_on_req(h2o_handler_t *self, h2o_req_t *req)
{
    cf_server_t *srv = H2O_STRUCT_FROM_MEMBER(cf_server_t, serve, ((serve_handler_t *)self)->serve);

    if (!host_and_origin_ok(srv, req)) {
        return cf_send_error(req, 403, "Forbidden", NULL, -32000,
                             "Forbidden: invalid Host or Origin");
    }
    if (!h2o_memis(req->path_normalized.base, req->path_normalized.len, H2O_STRLIT("/mcp"))) {
        return cf_send_body(req, 404, "Not Found", "text/plain; charset=utf-8",
                            h2o_iovec_init(H2O_STRLIT("not found\n")));
    }
    if (serve_is_method(req, "POST")) {
        return on_post(srv, req);
    }
    if (serve_is_method(req, "GET")) {
        return on_get(srv, req);
    }
    if (serve_is_method(req, "DELETE")) {
        return on_delete(srv, req);
    }
    cf_add_header(req, H2O_TOKEN_ALLOW, "GET, POST, DELETE");
    return cf_send_error(req, 405, "Method Not Allowed", NULL, -32000, "Method not allowed");
}
