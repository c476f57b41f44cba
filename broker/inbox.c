/* inbox.c: the broker's inbox: each message from a router or worker handed to its handler
 * (control messages by method, gateway-level calls, workers' answers to session/close). */
#include <config.h> /* autoconf's, not common/config.h */

#include "broker/broker.h"
#include "common/clock.h"
#include "common/log.h"

/* Whether origin is shard 0 of its backend's workers (servers[].workers), the one whose catalog
 * reports the broker keeps: every shard fetches the catalog for itself (its calls need the
 * tools' x-mcp-header declarations, its health pings say when its backend is down), and a
 * shard's report tells the broker it (re)started, but one shard's lists and up/down make the
 * backend's, so that shards that see the backend at different moments never make it flap. */
static int reports_catalog(gw_str_t origin)
{
    const char *server;
    size_t len;
    unsigned shard = 0;
    return !gw_worker_inbox_parse(origin.ptr, origin.len, &server, &len, &shard) || shard == 0;
}

/* A worker's "catalog" report: applied (shard 0's); what it changed is pushed to the routers
 * (the routing table) and announced to clients (list_changed). A report that changed nothing
 * (a backend still down, retrying) moves neither. Out of memory: 503, and the worker sends it
 * again. */
static void on_catalog_report(brk_t *b, const gw_envelope_t *e)
{
    unsigned changed = 0;
    gw_err_t rc = GW_OK;
    if (!reports_catalog(e->origin)) {
        brk_cap_sets_on_default_report(b, e->origin); /* a restarted shard knows no set */
    } else if ((rc = brk_catalog_apply_report(&b->cycle->cat, e->body.ptr, e->body.len,
                                              &changed)) == GW_OK) {
        if (changed & BRK_CHANGED_ROUTES) {
            brk_routes_push(b);
        }
        brk_ready_check(b);
        if (changed & BRK_CHANGED_LISTS) {
            brk_get_stream_announce_list_changes(b);
        }
        if (!(changed & BRK_CHANGED_SET)) {
            brk_cap_sets_on_default_report(b, e->origin);
        }
        if (changed & BRK_CHANGED_SET) {
            brk_list_wait_run(b, gw_clock_ms(), 0);
        }
    }
    brk_get_stream_relisten(b, e->origin); /* a worker that restarted lost who listens */
    brk_listen_resubscribe(b, e->origin);  /* and what listens subscribed there */
    brk_reply(b, e->origin, e->corr, GW_ENV_END, rc == GW_ENOMEM ? 503 : 200, NULL, 0, GW_STR(""));
}

static const struct control_handler {
    const char *method;
    void (*handle)(brk_t *b, const gw_envelope_t *e);
} control_handlers[] = {
    {"routes", brk_routes_on_subscribe},
    {"catalog", on_catalog_report},
    {"session/delete", brk_session_end_delete},
    {"routes/ack", brk_routes_on_ack},
    {"session/event", brk_get_stream_on_session_event},
    {"stream/open", brk_get_stream_on_open},
    {"stream/close", brk_get_stream_on_close},
    {"listen/close", brk_listen_on_close},
    {"listen/event", brk_listen_on_event},
    {"listen/ready", brk_listen_on_ready},
    {"sessions/active", brk_sessions_on_active},
    {"auth/refetch", brk_keys_on_refetch},
};

static void on_control(brk_t *b, const gw_envelope_t *e)
{
    for (size_t i = 0; i < sizeof(control_handlers) / sizeof(control_handlers[0]); i++) {
        if (gw_str_eq(e->method, control_handlers[i].method)) {
            control_handlers[i].handle(b, e);
            return;
        }
    }
    brk_reply(b, e->origin, e->corr, GW_ENV_END, 400, NULL, 0, GW_STR(""));
}

void brk_inbox_on_message(void *arg, const gw_envelope_t *e, gw_str_t frame)
{
    brk_t *b = arg;
    (void)frame;
    if (e->kind == GW_ENV_CONTROL) {
        on_control(b, e);
        return;
    }
    if ((e->kind == GW_ENV_HEAD || e->kind == GW_ENV_END) && (e->corr & GW_LISTEN_CORR_FLAG)) {
        brk_listen_on_ready(b, e); /* a worker's resources/subscribe for a listen answered */
        return;
    }
    if (e->kind == GW_ENV_END && e->corr > BRK_DELETE_CORR_BASE) {
        brk_session_end_on_worker_reply(b, e);
        return;
    }
    if (e->kind != GW_ENV_CALL) {
        return;
    }
    gw_log_debug("msg=\"call received\" request_id=%.*s method=%.*s session=%.*s from=%.*s",
                 (int)e->request_id.len, e->request_id.ptr, (int)e->method.len, e->method.ptr,
                 (int)e->session.len, e->session.ptr, (int)e->origin.len, e->origin.ptr);
    if (gw_str_eq(e->method, "initialize")) {
        brk_methods_initialize(b, e);
    } else if ((e->flags & GW_ENV_F_MODERN) && gw_str_eq(e->method, "subscriptions/listen")) {
        brk_listen_open(b, e);
    } else if ((e->flags & GW_ENV_F_MODERN) && gw_str_eq(e->method, "notifications/cancelled")) {
        brk_listen_on_cancelled(b, e);
    } else {
        brk_methods_list(b, e);
    }
}
