/* methods.c: the JSON-RPC methods the broker answers itself: initialize (a new gateway session
 * and its sealed token) and the list methods (one page of the aggregated catalog). */
#include <config.h> /* autoconf's, not common/config.h */

#include <stdio.h>
#include <string.h>

#include "broker/broker.h"
#include "common/buf.h"
#include "common/clock.h"
#include "common/endpoint.h"
#include "common/json.h"
#include "common/jsonrpc.h"
#include "common/log.h"
#include "common/mcp.h"

/* The client address a router passes along ("" when it is missing or too long). */
static void client_address(const gw_envelope_t *e, char *client, size_t len)
{
    client[0] = '\0';
    for (size_t i = 0; i < e->nheaders; i++) {
        if (gw_str_eq(e->headers[i].name, "client-address") && e->headers[i].value.len < len) {
            memcpy(client, e->headers[i].value.ptr, e->headers[i].value.len);
            client[e->headers[i].value.len] = '\0';
        }
    }
}

/* The caller a router verified (its bearer token's sub and issuer tag); nothing without auth. A
 * router is trusted with it as with the client address. */
static void caller_of(const gw_envelope_t *e, gw_session_claims_t *c)
{
    for (size_t i = 0; i < e->nheaders; i++) {
        gw_str_t v = e->headers[i].value;
        if (gw_str_eq(e->headers[i].name, "auth-subject") && v.len < sizeof(c->subject)) {
            memcpy(c->subject, v.ptr, v.len);
            c->subject[v.len] = '\0';
        } else if (gw_str_eq(e->headers[i].name, "auth-issuer-tag") &&
                   v.len == sizeof(c->issuer_tag)) {
            memcpy(c->issuer_tag, v.ptr, v.len);
        }
    }
}

/* initialize's result object: protocolVersion, capabilities, serverInfo, instructions. The
 * capabilities are the catalog's for the endpoint, merged when a report changed them: copied here,
 * never rebuilt per client. */
static gw_err_t gen_initialize_result(brk_t *b, gw_proto_t proto, unsigned endpoint, gw_buf_t *out)
{
    gw_err_t err =
        gw_buf_appendf(out, "{\"protocolVersion\":\"%s\",\"capabilities\":", gw_proto_name(proto));
    if (err == GW_OK) {
        err = gw_buf_appends(out, brk_capabilities_of(&b->cycle->cat, endpoint));
    }
    if (err == GW_OK) {
        err = gw_buf_appends(out, ",\"serverInfo\":{\"name\":\"mcpgw\",\"version\":");
    }
    if (err == GW_OK) {
        err = gw_buf_append_json_string(out, PACKAGE_VERSION, strlen(PACKAGE_VERSION));
    }
    if (err == GW_OK) {
        err = gw_buf_appends(out, "}");
    }
    const char *instructions = gw_config_instructions(b->cycle->cfg, endpoint);
    if (err == GW_OK && instructions != NULL) {
        err = gw_buf_appends(out, ",\"instructions\":");
        if (err == GW_OK) {
            err = gw_buf_append_json_string(out, instructions, strlen(instructions));
        }
    }
    if (err == GW_OK) {
        err = gw_buf_appends(out, "}");
    }
    return err;
}

/* Refuses a new session when draining or past limits.max_sessions(_per_client); returns 1 when
 * it answered. */
static int refuse_session(brk_t *b, const gw_envelope_t *e, const char *client)
{
    const gw_config_t *cfg = b->cycle->cfg;
    if (b->drain_deadline_ms != 0) {
        brk_reply_rpc_error_status(b, e, 503, GW_RPC_INTERNAL_ERROR,
                                   "Service Unavailable: the gateway is draining");
        return 1;
    }
    if (cfg->max_sessions > 0 && b->nsessions - b->nrevoked >= cfg->max_sessions) {
        gw_log_warn("msg=\"session refused: limits.max_sessions reached\" client=%s limit=%u "
                    "request_id=%.*s",
                    client, cfg->max_sessions, (int)e->request_id.len, e->request_id.ptr);
        brk_reply_rpc_error_status(
            b, e, 503, GW_RPC_INTERNAL_ERROR,
            "Service Unavailable: the gateway has reached limits.max_sessions");
        return 1;
    }
    if (cfg->max_sessions_per_client > 0 &&
        brk_sessions_of_client(b, client) >= cfg->max_sessions_per_client) {
        gw_log_warn("msg=\"session refused: limits.max_sessions_per_client reached\" client=%s "
                    "limit=%u request_id=%.*s",
                    client, cfg->max_sessions_per_client, (int)e->request_id.len,
                    e->request_id.ptr);
        brk_reply_rpc_error_status(b, e, 429, GW_RPC_INTERNAL_ERROR,
                                   "Too Many Requests: this client has reached "
                                   "limits.max_sessions_per_client");
        return 1;
    }
    return 0;
}

void brk_methods_initialize(brk_t *b, const gw_envelope_t *e)
{
    char client[48];
    client_address(e, client, sizeof(client));
    if (refuse_session(b, e, client)) {
        return;
    }
    gw_proto_t proto = e->proto != GW_PROTO_NONE ? (gw_proto_t)e->proto : GW_PROTO_LATEST;
    int64_t now = gw_wallclock_s();
    gw_session_claims_t c = {.issued = now,
                             .expires = now + (int64_t)b->cycle->cfg->session_ttl_s,
                             .proto = (uint8_t)proto,
                             .caps = e->caps,
                             .endpoint = (uint8_t)gw_view_endpoint(e->view)};
    caller_of(e, &c);
    char token[GW_TOKEN_MAX];
    char uuid[GW_UUID_TEXT_LEN + 1];
    if (gw_uuid_random(c.uuid) != GW_OK ||
        gw_token_seal(b->keys, &c, token, sizeof(token)) != GW_OK) {
        brk_reply_rpc_error(b, e, GW_RPC_INTERNAL_ERROR, "cannot create a session");
        return;
    }
    gw_uuid_format(c.uuid, uuid);
    gw_buf_t result;
    gw_buf_t msg;
    gw_buf_init(&result);
    gw_buf_init(&msg);
    brk_session_t *sess = NULL;
    if (gen_initialize_result(b, proto, gw_view_endpoint(e->view), &result) != GW_OK ||
        gw_rpc_result(&msg, e->rpc_id.ptr, e->rpc_id.len, result.data, result.len) != GW_OK ||
        (sess = brk_session_add(b, uuid, now, c.expires)) == NULL ||
        brk_session_set_client(b, sess, client) != GW_OK) {
        brk_reply_rpc_error(b, e, GW_RPC_INTERNAL_ERROR, "out of memory");
        goto out;
    }
    snprintf(sess->subject, sizeof(sess->subject), "%s", c.subject);
    sess->caps = (uint8_t)(c.caps & BRK_CAP_SET_MASK);
    sess->view = e->view;
    sess->view_seen = 1;
    brk_cap_sets_want(b, sess->caps);
    gw_env_header_t h = {GW_STR("mcp-session-id"), {token, strlen(token)}};
    brk_reply_json(b, e->origin, e->corr, &h, msg.data, msg.len, e->request_id);
    char subject[2 * GW_SUBJECT_MAX + 8];
    gw_log_info("msg=\"session created\" session=%s protocol=%s subject=\"%s\" request_id=%.*s",
                uuid, gw_proto_name(proto),
                gw_log_quote(subject, sizeof(subject), c.subject, strlen(c.subject)),
                (int)e->request_id.len, e->request_id.ptr);
out:
    gw_buf_fini(&result);
    gw_buf_fini(&msg);
}

void brk_methods_list(brk_t *b, const gw_envelope_t *e)
{
    unsigned set = e->caps & BRK_CAP_SET_MASK;
    brk_cap_sets_want(b, set); /* a session from before a restart or reload */
    if (gw_list_by_method(e->method.ptr, e->method.len) >= 0 && brk_list_wait_park(b, e, set)) {
        return;
    }
    brk_methods_list_answer(b, e);
}

void brk_methods_list_answer(brk_t *b, const gw_envelope_t *e)
{
    unsigned set = e->caps & BRK_CAP_SET_MASK;
    int list = gw_list_by_method(e->method.ptr, e->method.len);
    /* A modern caller: no session (the router sends none), caps from _meta, the view and the
     * endpoint as for sessions. Its "Method not found" is HTTP 404 (design §1 rows 15-16: the
     * router answers those first; this is for a routing table a moment old). Its other errors
     * stay in-band, HTTP 200, as the SDK's server answers them. */
    int modern = (e->flags & GW_ENV_F_MODERN) != 0;
    unsigned not_found = modern ? 404 : 200;
    if (list < 0) {
        brk_reply_rpc_error_status(b, e, not_found, GW_RPC_METHOD_NOT_FOUND, "Method not found");
        return;
    }
    /* tools/list is answered even when no backend offers tools: the gateway always has them;
     * the other lists need a backend that offers their capability */
    const char *capability = list == GW_LIST_TOOLS ? NULL : gw_list_kinds[list].capability;
    if (capability != NULL &&
        !brk_catalog_offers(&b->cycle->cat, capability, gw_view_endpoint(e->view))) {
        char msg[96];
        snprintf(msg, sizeof(msg), "Method not found: no backend offers %s", capability);
        brk_reply_rpc_error_status(b, e, not_found, GW_RPC_METHOD_NOT_FOUND, msg);
        return;
    }
    brk_session_t *s = modern ? NULL : brk_session_find(b, e->session.ptr, e->session.len);
    if (s != NULL) {
        s->last_s = gw_wallclock_s();
        s->last_ms = gw_clock_ms();
        s->caps = (uint8_t)set; /* from its token: known again after a broker restart */
        s->view = e->view;      /* its caller's now: a token of another rule moves it */
        s->view_seen = 1;
    }
    /* The control path may afford a tree: the cursor is all it needs from the body. */
    char err[64];
    yajl_val body = gw_json_parse(e->body.ptr, e->body.len, err, sizeof(err));
    yajl_val cursor = gw_json_get(gw_json_get(body, "params"), "cursor");
    if (cursor != NULL && !YAJL_IS_STRING(cursor)) {
        yajl_tree_free(body);
        brk_reply_rpc_error(b, e, GW_RPC_INVALID_PARAMS, "Invalid params: cursor must be a string");
        return;
    }
    gw_buf_t result;
    gw_buf_t msg;
    gw_buf_t page; /* a modern caller's result, around the page */
    gw_buf_init(&result);
    gw_buf_init(&msg);
    gw_buf_init(&page);
    const char *at = cursor ? YAJL_GET_STRING(cursor) : NULL;
    /* decided once for this answer: its cacheScope, and the scope its cursors must carry */
    int private = modern && brk_catalog_list_private(&b->cycle->cat, (gw_list_t)list);
    char own[64];
    gw_err_t rc = GW_OK;
    if (modern && at != NULL &&
        (at = brk_modern_cursor_open(at, private, own, sizeof(own))) == NULL) {
        rc = GW_EINVAL; /* another era's, or pages of the other scope: start over */
    }
    if (rc == GW_OK) {
        rc = brk_catalog_page_for(&b->cycle->cat, set, e->view, (gw_list_t)list, at,
                                  b->cycle->cfg->page_size, &result);
    }
    yajl_tree_free(body);
    if (rc == GW_OK && modern) {
        rc = brk_modern_page(&result, private, &page);
        gw_buf_t t = result; /* the modern result is the one to send */
        result = page;
        page = t;
        rc = rc == GW_EINVAL ? GW_ENOMEM : rc;
    }
    if (rc == GW_EINVAL) {
        brk_reply_rpc_error(
            b, e, GW_RPC_INVALID_PARAMS,
            "Invalid params: unknown or stale cursor (the list changed; start over)");
    } else if (rc != GW_OK || gw_rpc_result(&msg, e->rpc_id.ptr, e->rpc_id.len, result.data,
                                            result.len) != GW_OK) {
        brk_reply_rpc_error(b, e, GW_RPC_INTERNAL_ERROR, "out of memory");
    } else {
        brk_reply_json(b, e->origin, e->corr, NULL, msg.data, msg.len, e->request_id);
    }
    gw_buf_fini(&result);
    gw_buf_fini(&msg);
    gw_buf_fini(&page);
}
