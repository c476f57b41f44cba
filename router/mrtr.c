/* mrtr.c: the router's half of MRTR (docs/design-2026-07-28.md 5.2): the requestState of an
 * interim result sealed here, bound to the caller this router authenticated, and opened again on
 * the retry with no hop, so that any router takes it. Kind W names a call parked in a worker
 * (the worker's wait-* headers travel in the state and back on a CALL flagged GW_ENV_F_RESUME);
 * kind P wraps a modern backend's own requestState, which the retry gets back byte for byte.
 * Workers stay keyless: they parse backend output. */
#include <config.h> /* autoconf's, not common/config.h */

#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "common/json.h"
#include "common/log.h"
#include "common/reqstate.h"
#include "common/result_state.h"
#include "router/mrtr.h"
#include "router/router.h"

gw_err_t rtr_mrtr_start(rtr_t *r)
{
    /* r->keys is the session key ring, loaded (or, with no file yet, the broker created it)
     * before any router starts: the same ring every router holds, so a state sealed by one
     * opens in all of them */
    return gw_reqstate_keys(r->keys, &r->rs_keys);
}

/* The method's code in a state, or 0 for one that takes no input_required. */
static uint8_t method_code(const char *m)
{
    if (strcmp(m, "tools/call") == 0) {
        return GW_RS_TOOLS_CALL;
    }
    if (strcmp(m, "prompts/get") == 0) {
        return GW_RS_PROMPTS_GET;
    }
    if (strcmp(m, "resources/read") == 0) {
        return GW_RS_RESOURCES_READ;
    }
    return 0;
}

/* The client-visible target of a scanned request (the tool or prompt name with its prefix, or
 * the URI unescaped) into out; NULL when it has none that fits. */
static const char *target_of(const char *body, const gw_rpc_t *rpc, uint8_t method, char *out,
                             size_t outlen)
{
    if (method != GW_RS_RESOURCES_READ) {
        if (rpc->name.len == 0 || rpc->name_too_long) {
            return NULL;
        }
        snprintf(out, outlen, "%s", rpc->name_str);
        return out;
    }
    gw_span_t s = rpc->uri;
    if (s.len < 2 || s.len - 2 >= outlen) {
        return NULL;
    }
    if (memchr(body + s.off, '\\', s.len) == NULL) {
        memcpy(out, body + s.off + 1, s.len - 2);
        out[s.len - 2] = '\0';
        return memchr(out, '\0', s.len - 2) == NULL ? out : NULL;
    }
    char err[32];
    yajl_val v = gw_json_parse(body + s.off, s.len, err, sizeof(err));
    const char *t = YAJL_GET_STRING(v);
    const char *text = NULL;
    if (t != NULL && strlen(t) < outlen) {
        text = strcpy(out, t);
    }
    yajl_tree_free(v);
    return text;
}

/* The backend's config name behind a worker peer ("worker-<server>[.<shard>]"), in out. */
static const char *server_of(const rtr_peer_t *p, char out[GW_SERVER_NAME_MAX + 1])
{
    const char *server;
    size_t len;
    unsigned shard;
    if (!gw_worker_inbox_parse(p->name, strlen(p->name), &server, &len, &shard)) {
        return NULL;
    }
    memcpy(out, server, len);
    out[len] = '\0';
    return out;
}

int rtr_mrtr_seal_reply(rtr_call_t *c, const gw_envelope_t *e, gw_buf_t *out, const char **why)
{
    rtr_t *r = c->rtr;
    *why = "gateway out of memory";
    if (c->req == NULL || !c->modern) {
        *why = "an input_required result for a call that cannot take one";
        return 0;
    }
    const char *body = c->req->entity.base != NULL ? c->req->entity.base : "";
    gw_rpc_t rpc;
    uint8_t method = 0;
    char target[2048];
    const char *t = NULL;
    if (gw_rpc_scan(body, c->req->entity.len, GW_RPC_DEFAULT_MAX_DEPTH, &rpc) == GW_OK &&
        rpc.kind == GW_MSG_REQUEST && (method = method_code(rpc.method_str)) != 0) {
        t = target_of(body, &rpc, method, target, sizeof(target));
    }
    char server_name[GW_SERVER_NAME_MAX + 1];
    const char *server = server_of(c->peer, server_name);
    if (t == NULL || server == NULL || strlen(server) > GW_REQSTATE_SERVER_MAX) {
        *why = "an input_required result for a request that cannot take one";
        return 0;
    }
    rtr_mrtr_wait_t w;
    int wait = rtr_mrtr_wait_parse(e->headers, e->nheaders, &w);
    gw_span_t span;
    int has = gw_result_state(e->body.ptr, e->body.len, &span);
    if (wait < 0 || has < 0 || (has == 1 && e->body.ptr[span.off] != '"') ||
        (wait == 1 && (has != 1 || span.len != 2))) {
        *why = wait != 0 ? "the worker sent an input_required result the gateway cannot seal"
                         : "the backend sent an input_required result whose requestState is not "
                           "a string";
        return 0;
    }
    if (wait == 0 && has == 0) {
        /* inputRequests alone (the spec allows it): nothing to wrap, the retry comes without
         * a state and routes by name */
        return gw_buf_append(out, e->body.ptr, e->body.len) == GW_OK;
    }
    gw_reqstate_t s = {.kind = wait == 1 ? GW_RS_WAIT : GW_RS_PASS,
                       .round = wait == 1 ? w.round : 1,
                       .method = method,
                       .caps = (uint8_t)rpc.meta_caps,
                       .expires = gw_wallclock_s() + (int64_t)r->cfg->input_wait_s};
    if (c->modern_authenticated) {
        memcpy(s.issuer_tag, c->modern_issuer_tag, GW_ISSUER_TAG_LEN);
        gw_reqstate_hash(c->modern_subject, strlen(c->modern_subject), s.subject_hash);
    }
    gw_reqstate_hash(t, strlen(t), s.target_hash);
    snprintf(s.server, sizeof(s.server), "%s", server);
    if (wait == 1) {
        s.worker_run = w.run;
        s.slot = w.slot;
        s.slot_nonce = w.nonce;
    } else {
        s.inner = (const uint8_t *)e->body.ptr + span.off + 1;
        s.inner_len = span.len - 2;
        if (s.inner_len > r->cfg->max_request_state) {
            gw_log_warn("msg=\"backend requestState too large to wrap\" backend=%s bytes=%zu "
                        "limit=%llu request_id=%s",
                        server, s.inner_len, (unsigned long long)r->cfg->max_request_state,
                        c->request_id);
            *why = "the backend's requestState is larger than limits.max_request_state";
            return 0;
        }
    }
    gw_buf_t sealed;
    gw_buf_init(&sealed);
    gw_err_t err = gw_reqstate_seal(r->rs_keys, &s, &sealed);
    if (err == GW_OK) {
        err = rtr_mrtr_splice_quoted(out, e->body.ptr, e->body.len, span, sealed.data, sealed.len);
    } else if (err != GW_ENOMEM) {
        *why = "the gateway could not seal the requestState";
    }
    gw_buf_fini(&sealed);
    return err == GW_OK;
}

/* Row 19 of the design's table: the retry's requestState does not open for this request. The
 * status is 400 (the contract both halves of MRTR answer it with: a client error in params, as
 * row 4's envelope errors are), the code -32602, the id echoed; counted as
 * mcpgw_rejections_total{reason="request_state"} (respond.c) and logged with why. */
static void refuse_state(rtr_t *r, rtr_sink_t to, const char *id, size_t id_len, const char *why)
{
    static const char data[] = "{\"reason\":\"invalid_request_state\"}";
    char fields[96];
    snprintf(fields, sizeof(fields), " row=19 why=\"%s\"", why);
    rtr_respond_error_data(r, to, 400, id, id_len, GW_RPC_INVALID_PARAMS,
                           "invalid or expired requestState", data, sizeof(data) - 1, fields);
}

/* The server a retry's name or URI routes to now, or NULL: a state goes back only to the
 * backend that issued it (a P state is that backend's own; a W state names its worker). */
static const char *owner_now(rtr_t *r, const gw_envelope_t *e, uint8_t method, const char *target)
{
    if (r->routes == NULL) {
        return NULL;
    }
    long i;
    if (method == GW_RS_RESOURCES_READ) {
        i = rtr_routes_resource_owner(r->routes, target);
    } else {
        rtr_route_key_t pending;
        const rtr_route_key_t *k = rtr_routes_find_for(
            r->routes, e->caps, method == GW_RS_TOOLS_CALL ? GW_LIST_TOOLS : GW_LIST_PROMPTS,
            target, &pending);
        i = k != NULL ? (long)k->server : -1;
    }
    return i >= 0 ? r->routes->servers[i].name : NULL;
}

int rtr_mrtr_retry(rtr_t *r, rtr_sink_t to, gw_envelope_t *e, const char *body, size_t len,
                   const gw_rpc_t *rpc)
{
    uint8_t method = method_code(rpc->method_str);
    if (rpc->request_state.len == 0 || method == 0) {
        return 0;
    }
    const char *id = body + rpc->id.off;
    size_t id_len = rpc->id.len;
    const char *text;
    size_t text_len;
    if (!rtr_mrtr_state_text(body, rpc->request_state, &text, &text_len)) {
        /* never forwarded: the backend sees every caller as the gateway and could not bind a
         * state it was handed to one */
        refuse_state(r, to, id, id_len, "not sealed by this gateway");
        return 1;
    }
    gw_buf_t scratch;
    gw_buf_init(&scratch);
    gw_reqstate_t s;
    gw_err_t err = gw_reqstate_open(r->rs_keys, text, text_len, gw_wallclock_s(), &scratch, &s);
    char target[2048];
    const char *t = target_of(body, rpc, method, target, sizeof(target));
    const rtr_caller_t *who = r->caller;
    int authed = who != NULL && who->authenticated;
    const char *why = NULL;
    if (err != GW_OK) {
        why = err == GW_EEXPIRED ? "expired" : err == GW_EAUTH ? "tampered" : "malformed";
    } else if (t == NULL ||
               !gw_reqstate_binds(&s, authed ? who->issuer_tag : NULL, authed ? who->subject : "",
                                  authed ? strlen(who->subject) : 0, method, t, strlen(t),
                                  (uint8_t)rpc->meta_caps)) {
        why = "another caller, request or capability set";
    } else {
        const char *owner = owner_now(r, e, method, t);
        if (owner == NULL || strcmp(owner, s.server) != 0) {
            why = "its backend no longer serves this name";
        }
    }
    if (why != NULL) {
        gw_buf_fini(&scratch);
        refuse_state(r, to, id, id_len, why);
        return 1;
    }
    gw_buf_t b;
    gw_buf_init(&b);
    gw_rpc_t again;
    if (s.kind == GW_RS_WAIT) {
        /* to the worker holding the call (the route checked above names it), body unchanged */
        rtr_mrtr_wait_t w = {
            .run = s.worker_run, .slot = s.slot, .nonce = s.slot_nonce, .round = s.round};
        rtr_mrtr_wait_text_t wt;
        rtr_mrtr_wait_format(&w, &wt);
        if (e->nheaders + 4 > GW_ENV_MAX_HEADERS) {
            gw_buf_fini(&scratch);
            rtr_respond_error(r, to, 400, id, id_len, GW_RPC_INVALID_PARAMS,
                              "Invalid params: too many Mcp-Param headers for a retry");
            return 1;
        }
        e->headers[e->nheaders++] = (gw_env_header_t){GW_STR("wait-run"), {wt.run, strlen(wt.run)}};
        e->headers[e->nheaders++] =
            (gw_env_header_t){GW_STR("wait-slot"), {wt.slot, strlen(wt.slot)}};
        e->headers[e->nheaders++] =
            (gw_env_header_t){GW_STR("wait-nonce"), {wt.nonce, strlen(wt.nonce)}};
        e->headers[e->nheaders++] =
            (gw_env_header_t){GW_STR("wait-round"), {wt.round, strlen(wt.round)}};
        e->flags |= GW_ENV_F_RESUME;
        rtr_route_message(r, to, e, body, len, rpc);
    } else if (rtr_mrtr_splice_quoted(&b, body, len, rpc->request_state, (const char *)s.inner,
                                      s.inner_len) != GW_OK ||
               gw_rpc_scan(b.data, b.len, GW_RPC_DEFAULT_MAX_DEPTH, &again) != GW_OK ||
               again.kind != GW_MSG_REQUEST) {
        rtr_respond_error(r, to, 503, id, id_len, GW_RPC_INTERNAL_ERROR, "gateway out of memory");
    } else {
        /* the backend's own bytes back in place; the spans moved, so the body is scanned again */
        e->body = (gw_str_t){b.data, b.len};
        e->rpc_id = (gw_str_t){b.data + again.id.off, again.id.len};
        rtr_route_message(r, to, e, b.data, b.len, &again);
    }
    gw_buf_fini(&b);
    gw_buf_fini(&scratch);
    return 1;
}
