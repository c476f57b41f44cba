/* stream.c: a client's GET stream, and a 2026-07-28 subscriptions/listen, which is held the same
 * way: opened with the broker, relayed, kept alive with heartbeats, and released when the client
 * or the router goes. */
#include <config.h> /* autoconf's, not common/config.h */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/streams.h"
#include "router/router.h"

void rtr_stream_release(rtr_call_t *c)
{
    gw_envelope_t e = {.kind = GW_ENV_CONTROL, .corr = c->corr, .flags = GW_ENV_F_NOREPLY};
    if (c->listen) {
        /* the broker finds a listen by this router and corr: a newer listen of the same caller
         * and id that replaced it is not closed by the older one going */
        e.method = GW_STR("listen/close");
    } else {
        e.method = GW_STR("stream/close");
        e.session = (gw_str_t){c->stream_session, strlen(c->stream_session)};
    }
    rtr_peer_send(c->rtr->broker, &e);
}

void rtr_stream_gone(rtr_call_t *c)
{
    rtr_stream_release(c);
    rtr_call_destroy(c);
}

/* An idle GET stream gets a comment now and then: proxies and clients see it is alive. */
static void on_heartbeat(h2o_timeout_entry_t *entry)
{
    rtr_call_t *c = H2O_STRUCT_FROM_MEMBER(rtr_call_t, timer, entry);
    if (gw_buf_appends(&c->body, ": keepalive\n\n") == GW_OK) {
        rtr_sse_flush(c);
    }
    if (!c->ended) {
        h2o_timeout_link(c->rtr->ctx.loop, &c->rtr->heartbeat, &c->timer);
    }
}

void rtr_stream_heartbeat_rearm(rtr_call_t *c)
{
    rtr_t *r = c->rtr;
    if (r->cfg->sse_heartbeat_ms == 0) {
        return;
    }
    if (h2o_timeout_is_linked(&c->timer)) {
        h2o_timeout_unlink(&c->timer);
    }
    c->timer.cb = on_heartbeat;
    h2o_timeout_link(r->ctx.loop, &r->heartbeat, &c->timer);
}

/* GET: the session's stream of server-initiated messages (list_changed, requests and
 * notifications from backends' GET streams). The broker holds its state and replay buffer;
 * this router relays the events with their ids and sends the heartbeat. */
void rtr_stream_open(rtr_t *r, h2o_req_t *req, const char *request_id)
{
    if (!rtr_http_accepts(rtr_header_token(req, H2O_TOKEN_ACCEPT), "text/event-stream")) {
        rtr_respond_error(r, RTR_TO_CLIENT(req), 406, NULL, 0, GW_RPC_INVALID_REQUEST,
                          "Not Acceptable: Accept must list text/event-stream");
        return;
    }
    if (!rtr_http_protocol_version_ok(r, req)) {
        return;
    }
    gw_session_claims_t claims;
    char uuid[GW_UUID_TEXT_LEN + 1];
    if (!rtr_http_check_session(r, req, &claims, uuid, NULL, 0)) {
        return;
    }
    gw_metric_add(r->m, GW_MC_REQ_OTHER, 1);
    gw_envelope_t e = {.kind = GW_ENV_CONTROL, .flags = GW_ENV_F_STREAM};
    e.method = GW_STR("stream/open");
    e.session = (gw_str_t){uuid, strlen(uuid)};
    e.caps = claims.caps; /* the broker announces list changes of this set */
    e.request_id = (gw_str_t){request_id, strlen(request_id)};
    h2o_iovec_t last = rtr_header(req, "last-event-id");
    if (last.len > 0 && last.len <= GW_EVENT_ID_MAX) {
        e.headers[0] = (gw_env_header_t){GW_STR("last-event-id"), {last.base, last.len}};
        e.nheaders = 1;
    }
    rtr_call_t *c = rtr_call_dispatch(r, RTR_TO_CLIENT(req), r->broker, &e, RTR_BROKER_TIMEOUT_MS);
    if (c != NULL) {
        c->stream = 1;
        r->nstreams++;
        gw_gauge_set(r->m, GW_MG_IN_FLIGHT, (int64_t)(r->ncalls - r->nstreams));
        memcpy(c->stream_session, uuid, sizeof(c->stream_session));
    }
}

/* The graceful end of a listen (spec basic/patterns/subscriptions, graceful closure): its
 * request's result, complete, tagged with the subscription id. The broker sends the same when
 * it drops a listen; this is for a router that stops first. */
static void listen_complete(rtr_call_t *c)
{
    gw_buf_t b;
    gw_buf_init(&b);
    (void)gw_buf_appends(&b, "{\"jsonrpc\":\"2.0\",\"id\":");
    (void)gw_buf_append(&b, c->rpc_id, c->rpc_id_len);
    (void)gw_buf_appends(&b, ",\"result\":{\"resultType\":\"complete\",\"_meta\":{"
                             "\"io.modelcontextprotocol/subscriptionId\":");
    (void)gw_buf_append(&b, c->rpc_id, c->rpc_id_len);
    if (gw_buf_appends(&b, "}}}") == GW_OK) {
        rtr_sse_append(c, b.data, b.len);
    }
    gw_buf_fini(&b);
}

void rtr_streams_end(rtr_t *r)
{
    for (h2o_linklist_t *l = r->broker->calls.next; l != &r->broker->calls;) {
        rtr_call_t *c = H2O_STRUCT_FROM_MEMBER(rtr_call_t, peer_link, l);
        l = l->next;
        if (c->stream && c->req != NULL && c->sse && !c->ended) {
            if (c->listen && c->rpc_id != NULL) {
                listen_complete(c);
            }
            rtr_stream_release(c);
            c->ended = 1;
            rtr_sse_flush(c);
        }
    }
}

void rtr_listen_client_gone(rtr_call_t *c)
{
    /* from a dispose (req NULL) the generator's stop releases it; before the stream opened the
     * broker's answer finds the client gone (call.c) */
    if (c->req == NULL || c->ended || !c->sse) {
        return;
    }
    rtr_stream_release(c);
    c->ended = 1;
    rtr_sse_flush(c);
}

/* subscriptions/listen (design §6): the broker answers with an event stream that stays open; the
 * acknowledgement and every later event come from it, tagged there. No deadline once open, a
 * heartbeat while idle, as a GET stream. */
void rtr_listen_open(rtr_t *r, h2o_req_t *req, gw_envelope_t *e)
{
    e->flags |= GW_ENV_F_STREAM;
    e->view = (uint16_t)rtr_policy_envelope_view(r); /* the broker checks URIs against it */
    rtr_call_t *c = rtr_call_dispatch(r, RTR_TO_CLIENT(req), r->broker, e, RTR_BROKER_TIMEOUT_MS);
    if (c != NULL) {
        c->stream = 1;
        c->listen = 1;
        r->nstreams++;
        gw_gauge_set(r->m, GW_MG_IN_FLIGHT, (int64_t)(r->ncalls - r->nstreams));
    }
}
