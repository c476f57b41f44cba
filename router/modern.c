/* modern.c: the 2026-07-28 front of a POST: the era decision and wire rules (era.c) applied to
 * the request with their answers, server/discover answered here from the routing table, and the
 * modern dispatch: no session, the caller and its _meta on the envelope (design §1-§3). */
#include <config.h> /* autoconf's, not common/config.h */

#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "common/mcpparam.h"
#include "router/era.h"
#include "router/router.h"

/* A header's value, or {NULL, 0} when it was not sent (an empty value is present). */
static gw_str_t header_or_null(h2o_req_t *req, const char *name)
{
    ssize_t i = h2o_find_header_by_str(&req->headers, name, strlen(name), -1);
    if (i < 0) {
        return GW_STR_NULL;
    }
    h2o_iovec_t v = req->headers.entries[i].value;
    return (gw_str_t){v.base != NULL ? v.base : "", v.len};
}

/* Answers a rejected row: its status, and the id the scan found (every row of §1 past 2 echoes
 * it). */
static void answer_verdict(rtr_t *r, h2o_req_t *req, const char *id, size_t id_len,
                           const rtr_era_verdict_t *v)
{
    char fields[16];
    snprintf(fields, sizeof(fields), " row=%u", v->row);
    rtr_respond_error_data(r, RTR_TO_CLIENT(req), v->status, id, id_len, v->code,
                           v->message.data != NULL ? v->message.data : "",
                           v->data.len > 0 ? v->data.data : NULL, v->data.len, fields);
}

/* server/discover (design §3): from the routing table, so that no backend outage can fail it; an
 * auto client takes any 5xx for a hard error. */
static void answer_discover(rtr_t *r, h2o_req_t *req, const char *id, size_t id_len,
                            unsigned endpoint)
{
    unsigned offers;
    const char *caps = rtr_routes_discover(r->routes, endpoint, &offers);
    gw_buf_t b;
    gw_buf_init(&b);
    /* private whenever auth is on: the capability set and the lists behind it are per caller's
     * policy; public only for an anonymous gateway, whose set depends on nothing per request */
    gw_err_t err = gw_buf_appends(
        &b, "{\"resultType\":\"complete\",\"supportedVersions\":[\"" GW_PROTO_MODERN_NAME
            "\"],\"capabilities\":");
    if (err == GW_OK) {
        err = gw_buf_appends(&b, caps);
    }
    const char *instructions = rtr_routes_instructions(r->routes, endpoint);
    if (err == GW_OK && instructions != NULL) {
        err = gw_buf_appends(&b, ",\"instructions\":");
        if (err == GW_OK) {
            err = gw_buf_appends(&b, instructions);
        }
    }
    if (err == GW_OK) {
        err = gw_buf_appendf(&b,
                             ",\"ttlMs\":0,\"cacheScope\":\"%s\",\"_meta\":{"
                             "\"io.modelcontextprotocol/serverInfo\":{\"name\":\"mcpgw\","
                             "\"version\":\"" PACKAGE_VERSION "\"}}}",
                             r->auth != NULL ? "private" : "public");
    }
    gw_buf_t out;
    gw_buf_init(&out);
    if (err == GW_OK) {
        err = gw_rpc_result(&out, id, id_len, b.data, b.len);
    }
    if (err == GW_OK) {
        rtr_respond(r, RTR_TO_CLIENT(req), 200, out.data, out.len);
    } else {
        /* the one 5xx discover can give: this router out of memory */
        rtr_respond_error(r, RTR_TO_CLIENT(req), 503, id, id_len, GW_RPC_INTERNAL_ERROR,
                          "gateway out of memory");
    }
    gw_buf_fini(&out);
    gw_buf_fini(&b);
}

/* The envelope of a modern message: no session (one sent is ignored, row 23); the worker and
 * broker learn the caller from it. Its strings point into rpc, body and the caller. */
static void modern_envelope(rtr_t *r, const char *body, size_t len, const gw_rpc_t *rpc,
                            const char *request_id, gw_envelope_t *e)
{
    *e = (gw_envelope_t){.kind = GW_ENV_CALL, .flags = GW_ENV_F_MODERN};
    e->method = (gw_str_t){rpc->method_str, strlen(rpc->method_str)};
    e->rpc_id = (gw_str_t){body + rpc->id.off, rpc->id.len};
    e->request_id = (gw_str_t){request_id, strlen(request_id)};
    e->body = (gw_str_t){body, len};
    e->proto = GW_PROTO_2026_07_28;
    e->caps = (uint8_t)rpc->meta_caps;
    if (r->caller != NULL && r->caller->authenticated) {
        e->headers[e->nheaders++] = (gw_env_header_t){
            GW_STR("auth-subject"), {r->caller->subject, strlen(r->caller->subject)}};
        e->headers[e->nheaders++] = (gw_env_header_t){
            GW_STR("auth-issuer-tag"), {(const char *)r->caller->issuer_tag, GW_ISSUER_TAG_LEN}};
    }
    if (rpc->meta_log_level.len > 0) { /* a LoggingLevel: era.c checked it */
        e->headers[e->nheaders++] = (gw_env_header_t){
            GW_STR("log-level"), {rpc->meta_log_level_str, strlen(rpc->meta_log_level_str)}};
    }
}

/* A tools/call's mcp-param-* headers onto its envelope, for the worker's check of row 17
 * (worker/mcp_param.c: the worker holds the tools' x-mcp-header declarations). All of them go,
 * since which the tool declares is not known here; they fit in what the envelope has left, and
 * more is refused (0) rather than cut, since a dropped header would read as a missing one. */
static int param_headers(h2o_req_t *req, gw_envelope_t *e)
{
    for (size_t i = 0; i < req->headers.size; i++) {
        const h2o_header_t *h = &req->headers.entries[i];
        if (!gw_mcpparam_is_param_header(h->name->base, h->name->len)) {
            continue;
        }
        if (e->nheaders == GW_ENV_MAX_HEADERS) {
            return 0;
        }
        e->headers[e->nheaders++] =
            (gw_env_header_t){{h->name->base, h->name->len},
                              {h->value.base != NULL ? h->value.base : "", h->value.len}};
    }
    return 1;
}

/* A modern request past every row: routed as the old era's are, but with no session. */
static void dispatch(rtr_t *r, h2o_req_t *req, const char *body, size_t len, const gw_rpc_t *rpc,
                     const char *request_id)
{
    gw_envelope_t e;
    modern_envelope(r, body, len, rpc, request_id, &e);
    if (strcmp(rpc->method_str, "subscriptions/listen") == 0) {
        rtr_listen_open(r, req, &e); /* held open like a GET stream (stream.c) */
        return;
    }
    if (strcmp(rpc->method_str, "tools/call") == 0 && !param_headers(req, &e)) {
        static const char data[] = "{\"mismatch\":{\"header\":\"Mcp-Param-*\"}}";
        rtr_respond_error_data(
            r, RTR_TO_CLIENT(req), 400, body + rpc->id.off, rpc->id.len, GW_RPC_HEADER_MISMATCH,
            "Header mismatch: too many Mcp-Param headers", data, sizeof(data) - 1, " row=17");
        return;
    }
    if (!rtr_mrtr_retry(r, RTR_TO_CLIENT(req), &e, body, len, rpc)) {
        rtr_route_message(r, RTR_TO_CLIENT(req), &e, body, len, rpc);
    }
}

/* A modern notification is not dispatched (design §2), except notifications/cancelled naming a
 * request: on HTTP a client cancels by closing its stream, which HTTP/1.1 does not show while
 * the answer is pending, so a client that says it is honoured too. Every worker gets it (the
 * call may be held by another router) and ends the call of this caller with that id; so does
 * the broker, which ends a subscriptions/listen of this caller with that id (design §6). */
static void modern_notification(rtr_t *r, const char *body, size_t len, const gw_rpc_t *rpc,
                                const char *request_id)
{
    if (strcmp(rpc->method_str, "notifications/cancelled") != 0 || rpc->request_id.len == 0) {
        return;
    }
    gw_envelope_t e;
    modern_envelope(r, body, len, rpc, request_id, &e);
    rtr_route_broadcast(r, &e, 0);
    if (rtr_peer_send(r->broker, &e) != GW_OK) { /* NOREPLY: the broadcast set it */
        gw_log_warn("msg=\"cancel not sent to the broker\" request_id=%s", request_id);
    }
}

int rtr_modern_front(rtr_t *r, h2o_req_t *req, const char *body, size_t len, const gw_rpc_t *rpc,
                     const char *request_id)
{
    unsigned endpoint = r->caller != NULL ? r->caller->endpoint : 0;
    gw_str_t pv = header_or_null(req, "mcp-protocol-version");
    if (!rpc->meta_claim && (pv.ptr == NULL || !rtr_era_header_is_modern(pv))) {
        return 0; /* the old era's common case, decided without the other headers */
    }
    rtr_era_in_t in = {.body = body,
                       .len = len,
                       .rpc = rpc,
                       .protocol_version = pv,
                       .mcp_method = header_or_null(req, "mcp-method"),
                       .mcp_name = header_or_null(req, "mcp-name")};
    rtr_routes_discover(r->routes, endpoint, &in.offers);
    rtr_era_verdict_t v;
    gw_err_t err = rtr_era_decide(&in, &v);
    const char *id = body + rpc->id.off;
    size_t id_len = rpc->id.len;
    int handled = 1;
    if (err != GW_OK) {
        rtr_respond_error(r, RTR_TO_CLIENT(req), 503, id, id_len, GW_RPC_INTERNAL_ERROR,
                          "gateway out of memory");
    } else if (v.era == RTR_ERA_LEGACY) {
        handled = 0;
    } else if (v.era == RTR_ERA_REJECT) {
        answer_verdict(r, req, id, id_len, &v);
    } else if (v.era == RTR_ERA_ACCEPTED) {
        rtr_route_count_of_method(r, rpc);
        modern_notification(r, body, len, rpc, request_id);
        rtr_respond(r, RTR_TO_CLIENT(req), 202, NULL, 0);
    } else {
        rtr_route_count_of_method(r, rpc);
        /* limits.rate counts every request, as the old era's (ping included) */
        if (!rtr_rate_admit(r, RTR_TO_CLIENT(req), rpc, body)) {
            /* answered 429 */
        } else if (strcmp(rpc->method_str, "server/discover") == 0) {
            answer_discover(r, req, id, id_len, endpoint);
        } else {
            dispatch(r, req, body, len, rpc, request_id);
        }
    }
    rtr_era_verdict_fini(&v);
    return handled;
}
