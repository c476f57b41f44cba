/* route_message.c: classifies one JSON-RPC message and picks who answers: the router itself
 * (ping, notifications), the broker (gateway-level methods) or the owning worker. */
#include <config.h> /* autoconf's, not common/config.h */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/endpoint.h"
#include "common/gwid.h"
#include "common/log.h"
#include "common/json.h"
#include "common/lists.h"
#include "router/router.h"

typedef enum dest {
    DEST_BROKER,    /* gateway-level: the broker answers */
    DEST_PING,      /* answered here */
    DEST_TOOL,      /* to the owner of params.name among tools, prefix removed */
    DEST_PROMPT,    /* to the owner of params.name among prompts, prefix removed */
    DEST_RESOURCE,  /* to the owner of params.uri */
    DEST_COMPLETE,  /* to the owner of params.ref (a prompt name or a resource URI) */
    DEST_TASK,      /* to the backend named in params.taskId (a gateway id, common/gwid.h) */
    DEST_TASK_LIST, /* to the backend named in params.cursor, else the first offering tasks */
} dest_t;

static const struct method_route {
    const char *method;
    dest_t dest;
} method_routes[] = {
    {"ping", DEST_PING},
    {"tools/call", DEST_TOOL},
    {"prompts/get", DEST_PROMPT},
    {"resources/read", DEST_RESOURCE},
    {"resources/subscribe", DEST_RESOURCE},
    {"resources/unsubscribe", DEST_RESOURCE},
    {"completion/complete", DEST_COMPLETE},
    {"tasks/get", DEST_TASK},
    {"tasks/result", DEST_TASK},
    {"tasks/cancel", DEST_TASK},
    {"tasks/list", DEST_TASK_LIST},
};

/* Who answers method m: the broker for the lists (common/lists.h), else as method_routes
 * says. Returns 0 for a method the gateway does not know. */
static int find_dest(const char *m, dest_t *dest)
{
    if (gw_list_by_method(m, strlen(m)) >= 0) {
        *dest = DEST_BROKER;
        return 1;
    }
    for (size_t i = 0; i < sizeof(method_routes) / sizeof(method_routes[0]); i++) {
        if (strcmp(method_routes[i].method, m) == 0) {
            *dest = method_routes[i].dest;
            return 1;
        }
    }
    return 0;
}

static rtr_call_t *send_to_server(rtr_t *r, rtr_sink_t to, gw_envelope_t *e, size_t server)
{
    const rtr_route_server_t *s = &r->routes->servers[server];
    return rtr_call_dispatch(r, to, rtr_routes_peer_of(s, e), e, s->timeout_ms);
}

/* The audit line of a tools/call the policy refused (call.c writes those that go through); the
 * tool is a name of the routing table, so it needs no quoting. */
static void audit_denied(rtr_t *r, const gw_envelope_t *e, const char *tool, const char *backend)
{
    char subject[2 * GW_SUBJECT_MAX + 8];
    char view[GW_POLICY_VIEW_NAME_MAX];
    const char *who = r->caller != NULL ? r->caller->subject : "";
    gw_str_t session = e->session.len > 0 ? e->session : GW_STR("-"); /* modern: none */
    gw_log_info("msg=audit request_id=%.*s session=%.*s subject=\"%s\" tool=%s backend=%s "
                "status=200 outcome=unknown_tool decision=denied rule=%s",
                (int)e->request_id.len, e->request_id.ptr, (int)session.len, session.ptr,
                gw_log_quote(subject, sizeof(subject), who, strlen(who)), tool, backend,
                gw_policy_view_name(rtr_policy_view(r), view));
}

/* Routes a message naming a tool or prompt (span/name) to its owner, with the owner's prefix
 * removed from exactly that string and nothing else. */
static void route_by_name(rtr_t *r, rtr_sink_t to, gw_envelope_t *e, const char *body, size_t len,
                          const gw_rpc_t *rpc, gw_list_t kind, gw_span_t span, const char *name,
                          int too_long)
{
    const char *id = body + rpc->id.off;
    rtr_route_key_t pending;
    const rtr_route_key_t *k = too_long || span.len == 0
                                   ? NULL
                                   : rtr_routes_find_for(r->routes, e->caps, kind, name, &pending);
    int is_call = kind == GW_LIST_TOOLS && strcmp(rpc->method_str, "tools/call") == 0;
    if (k != NULL) {
        /* a name the caller may not use is answered as one that does not exist */
        const rtr_route_server_t *s = &r->routes->servers[k->server];
        if (!rtr_policy_allows(r, kind, s->name, name + s->prefix_len,
                               strlen(name) - s->prefix_len)) {
            if (is_call) {
                audit_denied(r, e, name, s->name);
            }
            k = NULL;
        }
    }
    if (k == NULL) {
        char msg[GW_RPC_NAME_MAX + 32];
        snprintf(msg, sizeof(msg), "Unknown %s: %s", kind == GW_LIST_TOOLS ? "tool" : "prompt",
                 name);
        rtr_respond_error(r, to, 200, id, rpc->id.len, GW_RPC_INVALID_PARAMS, msg);
        return;
    }
    size_t plen = r->routes->servers[k->server].prefix_len;
    gw_buf_t rewritten;
    gw_buf_init(&rewritten);
    if (gw_rpc_splice_string(&rewritten, body, len, span, name + plen, strlen(name) - plen) !=
        GW_OK) {
        gw_buf_fini(&rewritten);
        rtr_respond_error(r, to, 503, id, rpc->id.len, GW_RPC_INTERNAL_ERROR,
                          "gateway out of memory");
        return;
    }
    e->body = (gw_str_t){rewritten.data, rewritten.len};
    const rtr_route_server_t *s = &r->routes->servers[k->server];
    rtr_call_t *c =
        rtr_call_dispatch(r, to, rtr_routes_peer_of(s, e), e,
                          is_call ? rtr_routes_tool_timeout(s, name + plen) : s->timeout_ms);
    gw_buf_fini(&rewritten);
    if (c != NULL && is_call) {
        if ((c->audit_tool = strdup(name)) == NULL) { /* the call goes on, without its audit */
            gw_log_err("msg=\"out of memory keeping a call's audit\" request_id=%s", c->request_id);
        }
        snprintf(c->audit_backend, sizeof(c->audit_backend), "%s",
                 r->routes->servers[k->server].name);
        /* a modern call has no session: "-", as the log line's other absent fields */
        snprintf(c->audit_session, sizeof(c->audit_session), "%.*s",
                 e->session.len > 0 ? (int)e->session.len : 1,
                 e->session.len > 0 ? e->session.ptr : "-");
        snprintf(c->audit_subject, sizeof(c->audit_subject), "%s",
                 r->caller != NULL ? r->caller->subject : "");
        c->audit_view = rtr_policy_view(r);
    }
}

/* The text of a JSON string token; NULL when it does not fit out. */
static const char *string_token_text(const char *body, gw_span_t span, char *out, size_t outlen)
{
    if (span.len < 2 || span.len - 2 >= outlen) {
        return NULL;
    }
    const char *s = body + span.off + 1;
    size_t n = span.len - 2;
    if (memchr(s, '\\', n) == NULL) {
        memcpy(out, s, n);
        out[n] = '\0';
        return memchr(out, '\0', n) == NULL ? out : NULL;
    }
    char err[32];
    yajl_val v = gw_json_parse(body + span.off, span.len, err, sizeof(err)); /* rare: escapes */
    const char *t = YAJL_GET_STRING(v);
    const char *text = NULL;
    if (t != NULL && strlen(t) < outlen) {
        text = strcpy(out, t);
    }
    yajl_tree_free(v);
    return text;
}

/* Routes a message naming a resource URI (never rewritten: URIs stay the backend's). */
static void route_by_uri(rtr_t *r, rtr_sink_t to, gw_envelope_t *e, const char *body,
                         const gw_rpc_t *rpc, gw_span_t span)
{
    const char *id = body + rpc->id.off;
    char uri[2048];
    const char *u = string_token_text(body, span, uri, sizeof(uri));
    long owner = u != NULL ? rtr_routes_resource_owner(r->routes, u) : -1;
    if (owner >= 0 &&
        !rtr_policy_allows(r, GW_LIST_RESOURCES, r->routes->servers[owner].name, u, strlen(u))) {
        owner = -1; /* a resource the caller may not use is one that does not exist */
    }
    if (owner < 0 && (e->flags & GW_ENV_F_MODERN) && u != NULL) {
        /* 2026-07-28 has no -32002: invalid params, with the URI (design §1 row 21) */
        gw_buf_t data;
        gw_buf_init(&data);
        if (gw_buf_appends(&data, "{\"uri\":") == GW_OK &&
            gw_buf_append_json_string(&data, u, strlen(u)) == GW_OK &&
            gw_buf_appends(&data, "}") == GW_OK) {
            rtr_respond_error_data(r, to, 200, id, rpc->id.len, GW_RPC_INVALID_PARAMS,
                                   "Resource not found", data.data, data.len, "");
        } else {
            rtr_respond_error(r, to, 200, id, rpc->id.len, GW_RPC_INVALID_PARAMS,
                              "Resource not found");
        }
        gw_buf_fini(&data);
        return;
    }
    if (owner < 0) {
        rtr_respond_error(r, to, 200, id, rpc->id.len,
                          (e->flags & GW_ENV_F_MODERN) ? GW_RPC_INVALID_PARAMS
                                                       : GW_RPC_RESOURCE_NOT_FOUND,
                          "Resource not found");
        return;
    }
    send_to_server(r, to, e, (size_t)owner);
}

/* Whether the caller's endpoint shows server i of the routing table: tasks of a backend it does
 * not are as unknown to it as tasks that do not exist. */
static int on_endpoint(const rtr_t *r, size_t i)
{
    unsigned ep = r->caller != NULL ? r->caller->endpoint : GW_ENDPOINT_MAIN;
    return gw_endpoint_shows_server(r->cfg, ep, r->routes->servers[i].name);
}

/* A gateway task id or tasks/list cursor names its backend (common/gwid.h). Returns the
 * server's index (and the backend's part of text in *rest), or -1 (also for a backend the
 * caller's endpoint does not show); text may be NULL. */
static long task_owner(const rtr_t *r, const char *text, gw_str_t *rest)
{
    gw_str_t server, own;
    if (text == NULL || !gw_gwid_parse(text, strlen(text), &server, &own)) {
        return -1;
    }
    long i = rtr_routes_server_named(r->routes, server.ptr, server.len, 1);
    if (i < 0 || !on_endpoint(r, (size_t)i)) {
        return -1;
    }
    *rest = own;
    return i;
}

/* tasks/get, tasks/result, tasks/cancel: to the backend the task id names, with its own id. */
static void route_task(rtr_t *r, rtr_sink_t to, gw_envelope_t *e, const char *body, size_t len,
                       const gw_rpc_t *rpc)
{
    const char *id = body + rpc->id.off;
    char text[1024];
    gw_str_t rest = GW_STR_NULL;
    const char *t = string_token_text(body, rpc->task_id, text, sizeof(text));
    long owner = task_owner(r, t, &rest);
    if (owner < 0) {
        rtr_respond_error(r, to, 200, id, rpc->id.len, GW_RPC_INVALID_PARAMS,
                          t == NULL ? "Invalid params: taskId is required" : "Unknown task");
        return;
    }
    gw_buf_t b;
    gw_buf_init(&b);
    if (gw_rpc_splice_string(&b, body, len, rpc->task_id, rest.ptr, rest.len) != GW_OK) {
        gw_buf_fini(&b);
        rtr_respond_error(r, to, 503, id, rpc->id.len, GW_RPC_INTERNAL_ERROR,
                          "gateway out of memory");
        return;
    }
    e->body = (gw_str_t){b.data, b.len};
    send_to_server(r, to, e, (size_t)owner);
    gw_buf_fini(&b);
}

/* tasks/list walks the backends that offer tasks one after the other: the worker turns each
 * backend's nextCursor into a gateway cursor, and its last page's into the next backend's
 * start (a gateway id of <next> with an empty rest), which it learns from the next-task-server
 * header. */
static void route_task_list(rtr_t *r, rtr_sink_t to, gw_envelope_t *e, const char *body, size_t len,
                            const gw_rpc_t *rpc)
{
    const char *id = body + rpc->id.off;
    char text[1024];
    gw_str_t rest = GW_STR_NULL;
    long owner = -1;
    if (rpc->cursor.len > 0) {
        owner = task_owner(r, string_token_text(body, rpc->cursor, text, sizeof(text)), &rest);
        if (owner < 0) {
            rtr_respond_error(r, to, 200, id, rpc->id.len, GW_RPC_INVALID_PARAMS,
                              "Invalid params: unknown cursor");
            return;
        }
    } else {
        for (size_t i = 0; r->routes != NULL && i < r->routes->nservers && owner < 0; i++) {
            owner = r->routes->servers[i].tasks && on_endpoint(r, i) ? (long)i : -1;
        }
        if (owner < 0) {
            rtr_respond_error(r, to, 200, id, rpc->id.len, GW_RPC_METHOD_NOT_FOUND,
                              "Method not found: no backend offers tasks");
            return;
        }
    }
    for (size_t i = (size_t)owner + 1; i < r->routes->nservers; i++) {
        if (r->routes->servers[i].tasks && on_endpoint(r, i) && e->nheaders < GW_ENV_MAX_HEADERS) {
            const char *n = r->routes->servers[i].name;
            e->headers[e->nheaders++] =
                (gw_env_header_t){GW_STR("next-task-server"), {n, strlen(n)}};
            break;
        }
    }
    gw_buf_t b;
    gw_buf_init(&b);
    gw_err_t err = GW_OK;
    if (rpc->cursor.len > 0) {
        /* the backend's own cursor, or none at all for the first page of the next backend */
        err = rest.len > 0 ? gw_rpc_splice_string(&b, body, len, rpc->cursor, rest.ptr, rest.len)
                           : gw_rpc_splice_raw(&b, body, len, rpc->params, "{}", 2);
        e->body = (gw_str_t){b.data, b.len};
    }
    if (err != GW_OK) {
        gw_buf_fini(&b);
        rtr_respond_error(r, to, 503, id, rpc->id.len, GW_RPC_INTERNAL_ERROR,
                          "gateway out of memory");
        return;
    }
    send_to_server(r, to, e, (size_t)owner);
    gw_buf_fini(&b);
}

size_t rtr_route_broadcast(rtr_t *r, gw_envelope_t *e, int logging_only)
{
    size_t n = 0;
    e->flags |= GW_ENV_F_NOREPLY;
    e->corr = 0;
    for (size_t i = 0; r->routes != NULL && i < r->routes->nservers; i++) {
        if (logging_only && !r->routes->servers[i].logging) {
            continue;
        }
        /* the shard holding the session's upstream session (or the caller's pooled one) */
        if (rtr_peer_send(rtr_routes_peer_of(&r->routes->servers[i], e), e) == GW_OK) {
            n++;
        }
    }
    return n;
}

/* A client's answer to a server-initiated request: its id (a gateway id, common/gwid.h, given
 * by the worker that relayed the request) names the worker to take it there. */
static void route_client_response(rtr_t *r, rtr_sink_t to, gw_envelope_t *e, const char *body,
                                  const gw_rpc_t *rpc)
{
    gw_str_t server, rest;
    if (gw_gwid_parse_token(body + rpc->id.off, rpc->id.len, &server, &rest)) {
        long i = rtr_routes_server_named(r->routes, server.ptr, server.len, 0);
        if (i >= 0) {
            const rtr_route_server_t *s = &r->routes->servers[i];
            e->method = GW_STR_NULL;
            rtr_call_dispatch(r, to, rtr_routes_peer_of(s, e), e, s->timeout_ms);
            return;
        }
    }
    rtr_respond_error(r, to, 400, NULL, 0, GW_RPC_INVALID_REQUEST,
                      "Bad Request: no server request with this id is pending");
}

static gw_counter_t counter_of_method(const gw_rpc_t *rpc)
{
    const char *m = rpc->method_str;
    if (rpc->kind == GW_MSG_NOTIFICATION) {
        return GW_MC_REQ_NOTIFICATION;
    }
    if (rpc->kind == GW_MSG_RESPONSE) {
        return GW_MC_REQ_RESPONSE;
    }
    if (strcmp(m, "tools/call") == 0) {
        return GW_MC_REQ_TOOLS_CALL;
    }
    if (strcmp(m, "tools/list") == 0) {
        return GW_MC_REQ_TOOLS_LIST;
    }
    if (strcmp(m, "initialize") == 0) {
        return GW_MC_REQ_INITIALIZE;
    }
    if (strncmp(m, "prompts/", 8) == 0) {
        return GW_MC_REQ_PROMPTS;
    }
    if (strncmp(m, "resources/", 10) == 0) {
        return GW_MC_REQ_RESOURCES;
    }
    return GW_MC_REQ_OTHER;
}

void rtr_route_count_of_method(rtr_t *r, const gw_rpc_t *rpc)
{
    gw_metric_add(r->m, counter_of_method(rpc), 1);
}

/* Answers id with an empty result ({}). */
static void respond_empty_result(rtr_t *r, rtr_sink_t to, const char *id, size_t id_len)
{
    gw_buf_t b;
    gw_buf_init(&b);
    if (gw_rpc_result(&b, id, id_len, "{}", 2) != GW_OK) {
        gw_buf_fini(&b);
        rtr_respond_error(r, to, 503, id, id_len, GW_RPC_INTERNAL_ERROR, "gateway out of memory");
        return;
    }
    rtr_respond(r, to, 200, b.data, b.len);
    gw_buf_fini(&b);
}

/* Every path answers through rtr_respond/rtr_respond_error or rtr_call_dispatch, exactly once
 * (batches count on it). */
void rtr_route_message(rtr_t *r, rtr_sink_t to, gw_envelope_t *ep, const char *body, size_t len,
                       const gw_rpc_t *rp)
{
    gw_envelope_t e = *ep;
    e.view = (uint16_t)rtr_policy_envelope_view(r); /* the broker filters lists by it */
    gw_rpc_t rpc = *rp;
    const char *id = body + rpc.id.off;
    size_t id_len = rpc.id.len;
    if (rpc.kind == GW_MSG_NOTIFICATION) {
        /* cancelled, roots/list_changed, ...: every backend this session uses gets it (a
         * cancelled requestId is the client's own id, which backends saw unchanged); the worker
         * that has the call also ends it, for whichever router holds it */
        if (strcmp(rpc.method_str, "notifications/initialized") != 0) {
            rtr_route_broadcast(r, &e, 0);
        }
        if (strcmp(rpc.method_str, "notifications/cancelled") == 0 && rpc.request_id.len > 0) {
            /* here at once: the session's next request finds its place free */
            rtr_call_cancel_request(r, e.session, body + rpc.request_id.off, rpc.request_id.len);
        }
        rtr_respond(r, to, 202, NULL, 0);
        return;
    }
    if (rpc.kind == GW_MSG_RESPONSE) {
        route_client_response(r, to, &e, body, &rpc);
        return;
    }
    if (strcmp(rpc.method_str, "logging/setLevel") == 0) {
        if (!rtr_route_broadcast(r, &e, 1)) {
            rtr_respond_error(r, to, 200, id, id_len, GW_RPC_METHOD_NOT_FOUND,
                              "Method not found: no backend offers logging");
            return;
        }
        respond_empty_result(r, to, id, id_len);
        return;
    }
    dest_t dest;
    if (rpc.method_too_long || !find_dest(rpc.method_str, &dest)) {
        rtr_respond_error(r, to, 200, id, id_len, GW_RPC_METHOD_NOT_FOUND, "Method not found");
        return;
    }
    switch (dest) {
    case DEST_PING:
        respond_empty_result(r, to, id, id_len);
        return;
    case DEST_BROKER:
        rtr_call_dispatch(r, to, r->broker, &e, RTR_BROKER_TIMEOUT_MS);
        return;
    case DEST_TOOL:
        route_by_name(r, to, &e, body, len, &rpc, GW_LIST_TOOLS, rpc.name, rpc.name_str,
                      rpc.name_too_long);
        return;
    case DEST_PROMPT:
        route_by_name(r, to, &e, body, len, &rpc, GW_LIST_PROMPTS, rpc.name, rpc.name_str,
                      rpc.name_too_long);
        return;
    case DEST_RESOURCE:
        route_by_uri(r, to, &e, body, &rpc, rpc.uri);
        return;
    case DEST_TASK:
        route_task(r, to, &e, body, len, &rpc);
        return;
    case DEST_TASK_LIST:
        route_task_list(r, to, &e, body, len, &rpc);
        return;
    case DEST_COMPLETE:
        if (rpc.ref_name.len > 0) {
            route_by_name(r, to, &e, body, len, &rpc, GW_LIST_PROMPTS, rpc.ref_name,
                          rpc.ref_name_str, rpc.ref_name_too_long);
        } else {
            route_by_uri(r, to, &e, body, &rpc, rpc.ref_uri);
        }
        return;
    }
}
