/* mcp_endpoint.c: the h2o handler of the MCP endpoint: POST, GET and DELETE, the request id, the
 * HTTP-level rejections, and the JSON-RPC envelope parsed once before routing. */
#include <config.h> /* autoconf's, not common/config.h */

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/endpoint.h"
#include "common/log.h"
#include "router/router.h"

static void handle_post(rtr_t *r, h2o_req_t *req, const char *request_id)
{
    if (!rtr_http_is_json(rtr_header_token(req, H2O_TOKEN_CONTENT_TYPE))) {
        rtr_respond_error(r, RTR_TO_CLIENT(req), 415, NULL, 0, GW_RPC_INVALID_REQUEST,
                          "Unsupported Media Type: Content-Type must be application/json");
        return;
    }
    h2o_iovec_t accept = rtr_header_token(req, H2O_TOKEN_ACCEPT);
    if (!rtr_http_accepts(accept, "application/json") ||
        !rtr_http_accepts(accept, "text/event-stream")) {
        rtr_respond_error(
            r, RTR_TO_CLIENT(req), 406, NULL, 0, GW_RPC_INVALID_REQUEST,
            "Not Acceptable: Accept must list application/json and text/event-stream");
        return;
    }
    if (req->entity.len > r->cfg->max_request_body) {
        rtr_respond_error(r, RTR_TO_CLIENT(req), 413, NULL, 0, GW_RPC_INVALID_REQUEST,
                          "Payload Too Large: the request body exceeds limits.max_request_body");
        return;
    }
    if (!rtr_http_protocol_version_ok(r, req)) {
        return;
    }
    const char *body = req->entity.base ? req->entity.base : "";
    size_t len = req->entity.len;
    gw_rpc_t rpc;
    gw_err_t err = gw_rpc_scan(body, len, GW_RPC_DEFAULT_MAX_DEPTH, &rpc);
    if (err != GW_OK) {
        rtr_respond_error(r, RTR_TO_CLIENT(req), 400, NULL, 0, GW_RPC_PARSE_ERROR,
                          err == GW_ETOOBIG ? "Parse error: nesting too deep" : "Parse error");
        return;
    }
    const char *id = body + rpc.id.off;
    size_t id_len = rpc.id.len;
    if (rpc.kind == GW_MSG_INVALID) {
        char msg[160];
        snprintf(msg, sizeof(msg), "Invalid Request: %s",
                 rpc.invalid_reason ? rpc.invalid_reason : "not a JSON-RPC 2.0 message");
        rtr_respond_error(r, RTR_TO_CLIENT(req), 400, id, id_len, GW_RPC_INVALID_REQUEST, msg);
        return;
    }
    if (rpc.kind == GW_MSG_BATCH) {
        rtr_batch_handle(r, req, body, len, request_id);
        return;
    }
    rtr_route_count_of_method(r, &rpc);
    if (rpc.kind == GW_MSG_REQUEST && !rtr_rate_admit(r, RTR_TO_CLIENT(req), &rpc, body)) {
        return;
    }
    gw_envelope_t e = {.kind = GW_ENV_CALL};
    e.method = (gw_str_t){rpc.method_str, strlen(rpc.method_str)};
    e.rpc_id = (gw_str_t){id, id_len};
    e.request_id = (gw_str_t){request_id, strlen(request_id)};
    e.body = (gw_str_t){body, len};

    if (rpc.kind == GW_MSG_REQUEST && strcmp(rpc.method_str, "initialize") == 0) {
        /* The broker negotiates from what the client asked for; it need not parse again. */
        if (rpc.protocol_version.len >= 2) {
            e.proto = (uint8_t)gw_proto_parse(body + rpc.protocol_version.off + 1,
                                              rpc.protocol_version.len - 2);
        }
        e.caps = (uint8_t)rpc.caps;
        e.view = (uint16_t)rtr_policy_envelope_view(r);
        /* The broker limits sessions per client address. */
        char addr[INET6_ADDRSTRLEN] = "";
        struct sockaddr_storage ss;
        socklen_t sl = req->conn->callbacks->get_peername(req->conn, (struct sockaddr *)&ss);
        if (sl > 0 && ss.ss_family == AF_INET) {
            inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, addr, sizeof(addr));
        } else if (sl > 0 && ss.ss_family == AF_INET6) {
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, addr, sizeof(addr));
        }
        e.headers[0] = (gw_env_header_t){GW_STR("client-address"), {addr, strlen(addr)}};
        e.nheaders = 1;
        if (r->caller != NULL && r->caller->authenticated) { /* the session is bound to them */
            e.headers[e.nheaders++] = (gw_env_header_t){
                GW_STR("auth-subject"), {r->caller->subject, strlen(r->caller->subject)}};
            e.headers[e.nheaders++] =
                (gw_env_header_t){GW_STR("auth-issuer-tag"),
                                  {(const char *)r->caller->issuer_tag, GW_ISSUER_TAG_LEN}};
        }
        rtr_call_dispatch(r, RTR_TO_CLIENT(req), r->broker, &e, RTR_BROKER_TIMEOUT_MS);
        return;
    }
    gw_session_claims_t claims;
    char uuid[GW_UUID_TEXT_LEN + 1];
    if (!rtr_http_check_session(r, req, &claims, uuid, id, id_len)) {
        return;
    }
    e.session = (gw_str_t){uuid, strlen(uuid)};
    e.proto = claims.proto;
    e.caps = claims.caps;
    rtr_route_message(r, RTR_TO_CLIENT(req), &e, body, len, &rpc);
}

static void handle_delete(rtr_t *r, h2o_req_t *req, const char *request_id)
{
    gw_session_claims_t claims;
    char uuid[GW_UUID_TEXT_LEN + 1];
    if (!rtr_http_check_session(r, req, &claims, uuid, NULL, 0)) {
        return;
    }
    gw_metric_add(r->m, GW_MC_REQ_DELETE, 1);
    gw_envelope_t e = {.kind = GW_ENV_CONTROL};
    e.method = GW_STR("session/delete");
    e.session = (gw_str_t){uuid, strlen(uuid)};
    e.request_id = (gw_str_t){request_id, strlen(request_id)};
    rtr_call_dispatch(r, RTR_TO_CLIENT(req), r->broker, &e, RTR_BROKER_TIMEOUT_MS);
}

/* The endpoint's h2o handler, with the router it belongs to. */
typedef struct endpoint {
    h2o_handler_t super;
    rtr_t *rtr;
} endpoint_t;

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    rtr_t *r = H2O_STRUCT_FROM_MEMBER(endpoint_t, super, self)->rtr;
    h2o_iovec_t path = req->path_normalized;
    if (rtr_auth_metadata(r, req)) {
        return 0;
    }
    int endpoint = gw_endpoint_of_path(r->cfg, path.base, path.len);
    if (endpoint < 0) {
        return -1; /* h2o answers 404 */
    }
    if (rtr_h2_conn_is_cut(r, req)) {
        /* read before its connection was shut for resetting requests: not routed, not logged */
        h2o_send_error_503(req, "Service Unavailable", "connection closed", 0);
        return 0;
    }
    char request_id[RTR_REQUEST_ID_MAX + 1];
    gw_metric_add(r->m, GW_MC_BYTES_IN, req->entity.len);
    rtr_request_id_make(r, req, request_id);
    rtr_add_header(req, "x-request-id", h2o_strdup(&req->pool, request_id, SIZE_MAX).base,
                   strlen(request_id));
    if (r->stopping) {
        rtr_respond_error(r, RTR_TO_CLIENT(req), 503, NULL, 0, GW_RPC_INTERNAL_ERROR,
                          "gateway is shutting down");
        return 0;
    }
    size_t header_bytes = 0;
    for (size_t i = 0; i < req->headers.size; i++) {
        header_bytes += req->headers.entries[i].name->len + req->headers.entries[i].value.len + 4;
    }
    if (header_bytes > r->cfg->max_header_size) {
        rtr_respond_error(r, RTR_TO_CLIENT(req), 431, NULL, 0, GW_RPC_INVALID_REQUEST,
                          "Request Header Fields Too Large: over limits.max_header_size");
        return 0;
    }
    if (!rtr_http_host_allowed(r, req)) {
        rtr_respond_error(r, RTR_TO_CLIENT(req), 403, NULL, 0, GW_RPC_INVALID_REQUEST,
                          "Forbidden: Host or Origin not allowed (http.allowed_hosts, "
                          "http.allowed_origins)");
        return 0;
    }
    rtr_caller_t who;
    if (!rtr_auth_check(r, req, (unsigned)endpoint, &who)) {
        return 0;
    }
    rtr_policy_place(r, req, &who);
    r->caller = &who;
    if (h2o_memis(req->method.base, req->method.len, H2O_STRLIT("POST"))) {
        handle_post(r, req, request_id);
    } else if (h2o_memis(req->method.base, req->method.len, H2O_STRLIT("DELETE"))) {
        handle_delete(r, req, request_id);
    } else if (h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET"))) {
        rtr_stream_open(r, req, request_id);
    } else {
        rtr_add_header(req, "allow", "GET, POST, DELETE", 17);
        rtr_respond_error(r, RTR_TO_CLIENT(req), 405, NULL, 0, GW_RPC_INVALID_REQUEST,
                          "Method Not Allowed");
    }
    r->caller = NULL;
    return 0;
}

void rtr_endpoint_register(rtr_t *r, h2o_pathconf_t *pathconf)
{
    endpoint_t *ep = (endpoint_t *)h2o_create_handler(pathconf, sizeof(*ep));
    ep->rtr = r;
    ep->super.on_req = on_req;
}
