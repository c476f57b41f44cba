/* stream.c: the upstream GET streams, where a backend sends server-initiated messages: opened
 * when a session is ready, their messages passed to the broker for the client, opened again
 * after the backend's retry advice. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "common/clock.h"
#include "common/jsonrpc.h"
#include "common/lists.h"
#include "common/log.h"
#include "common/names.h"
#include "worker/worker.h"

/* Opens the GET stream of a ready upstream session (every one: the backend may send requests,
 * resource updates and log messages there; the catalog's session hears list_changed). */
void wrk_stream_start(upstream_t *up)
{
    wrk_t *w = up->w;
    xfer_req_t rq = {
        .method = "GET",
        .sid = up->sid,
        .proto = up->proto[0] ? up->proto : NULL,
        .last_event_id = up->gx_last_id[0] ? up->gx_last_id : NULL,
        .timeout_ms = 0, /* as long as the session lives */
    };
    if (w->stopping || up->sid == NULL || up->gx.easy != NULL) {
        return; /* a stateless backend has no session to listen on */
    }
    list_remove(&up->rlink);
    if (wrk_xfer_start(&up->gx, &rq) != GW_OK) {
        up->relisten_ms = gw_clock_ms() + WRK_STREAM_RETRY_MS;
        list_append(&w->relisten, &up->rlink);
    }
}

/* A message on a client session's GET stream goes to the broker, which puts it on the client's
 * GET stream (or keeps it for the client's Last-Event-ID). */
static void stream_to_client(upstream_t *up, const char *body, size_t len)
{
    wrk_t *w = up->w;
    gw_buf_t t;
    gw_buf_init(&t);
    if (wrk_tasks_rewrite(w, body, len, 0, GW_STR_NULL, &t)) {
        body = t.data;
        len = t.len;
    }
    gw_envelope_t e;
    memset(&e, 0, sizeof(e));
    e.kind = GW_ENV_CONTROL;
    e.flags = GW_ENV_F_NOREPLY;
    e.method = GW_STR("session/event");
    e.session = (gw_str_t){up->key, strlen(up->key)};
    e.body = (gw_str_t){body, len};
    gw_outbox_t *o = wrk_reply_outbox(w, GW_STR(GW_BROKER_NAME));
    if (o == NULL || wrk_reply_send_env(w, o, &e) != GW_OK) {
        gw_log_warn("msg=\"server message lost: the broker is unreachable\" backend=%s session=%s",
                    w->name, up->key);
    }
    gw_buf_fini(&t);
}

/* The catalog's own session answers what a backend asks it: no roots, pings; nothing else. */
static void catalog_answer(upstream_t *up, const char *data, const gw_rpc_t *rpc)
{
    gw_buf_t b;
    gw_buf_init(&b);
    const char *id = data + rpc->id.off;
    gw_err_t err = strcmp(rpc->method_str, "roots/list") == 0
                       ? gw_rpc_result(&b, id, rpc->id.len, "{\"roots\":[]}", 12)
                   : strcmp(rpc->method_str, "ping") == 0
                       ? gw_rpc_result(&b, id, rpc->id.len, "{}", 2)
                       : gw_rpc_error(&b, id, rpc->id.len, GW_RPC_METHOD_NOT_FOUND,
                                      "the gateway's catalog session has no client to ask");
    if (err == GW_OK) {
        wrk_closer_post(up, b.data, b.len, NULL);
    }
    gw_buf_fini(&b);
}

static gw_err_t stream_on_event(xfer_t *x, const char *data, size_t len)
{
    upstream_t *up = container_of(x, upstream_t, gx);
    wrk_t *w = up->w;
    gw_rpc_t rpc;
    if (gw_rpc_scan(data, len, GW_RPC_DEFAULT_MAX_DEPTH, &rpc) != GW_OK ||
        rpc.kind == GW_MSG_INVALID || rpc.kind == GW_MSG_BATCH) {
        gw_log_warn("msg=\"bad message on a backend GET stream\" backend=%s", w->name);
        return GW_OK;
    }
    if (rpc.kind == GW_MSG_NOTIFICATION &&
        gw_list_by_changed(rpc.method_str, strlen(rpc.method_str)) >= 0) {
        wrk_catalog_note_changed(w);
        return GW_OK;
    }
    if (up->is_catalog) {
        if (rpc.kind == GW_MSG_REQUEST) {
            catalog_answer(up, data, &rpc);
        }
        return GW_OK;
    }
    if (rpc.kind == GW_MSG_REQUEST) {
        gw_buf_t out;
        gw_buf_init(&out);
        if (!wrk_srvreq_relay(w, up, (gw_str_t){up->key, strlen(up->key)}, up->caps, NULL, data,
                              len, &rpc, &out)) {
            stream_to_client(up, out.data, out.len);
        }
        gw_buf_fini(&out);
    } else if (rpc.kind == GW_MSG_NOTIFICATION) {
        stream_to_client(up, data, len);
    }
    return GW_OK;
}

static void stream_on_done(xfer_t *x, CURLcode rc)
{
    upstream_t *up = container_of(x, upstream_t, gx);
    wrk_t *w = up->w;
    int live = up->state == UP_READY &&
               (up->in_map || (up->is_catalog && w->cat[up->caps & WRK_CAP_SET_MASK].up == up));
    if ((x->status == 404 || x->status == 400) && up->gx_last_id[0] != '\0' && live &&
        !w->stopping) {
        /* the backend does not know the event id (it forgot, or never resumes): start afresh */
        up->gx_last_id[0] = '\0';
        up->relisten_ms = gw_clock_ms();
        list_append(&w->relisten, &up->rlink);
        return;
    }
    if (x->status == 405 || x->status == 404 || x->status == 400 ||
        (x->head_seen && x->status / 100 == 2 && x->ctype != CTYPE_SSE)) {
        /* no GET stream here (405), or the session is gone: calls find out and re-initialize */
        gw_log_debug("msg=\"no GET stream\" backend=%s session=%s status=%ld", w->name,
                     up->is_catalog ? "catalog" : up->key, x->status);
        return;
    }
    if (!live || w->stopping) {
        return;
    }
    gw_log_debug("msg=\"GET stream ended, opening it again\" backend=%s session=%s status=%ld "
                 "curl=\"%s\" last_event_id=\"%s\"",
                 w->name, up->is_catalog ? "catalog" : up->key, x->status, curl_easy_strerror(rc),
                 x->sse.last_id);
    if (x->sse.last_id[0] != '\0') {
        memcpy(up->gx_last_id, x->sse.last_id, sizeof(up->gx_last_id));
    }
    /* the backend's retry advice, but never a tight loop against one that closes at once */
    long wait = x->sse.retry_ms >= 0 ? x->sse.retry_ms : WRK_STREAM_RETRY_MS;
    wait = wait < 100 ? 100 : wait > WRK_RESUME_WAIT_MAX_MS ? WRK_RESUME_WAIT_MAX_MS : wait;
    up->relisten_ms = gw_clock_ms() + wait;
    list_append(&w->relisten, &up->rlink);
}

const xfer_ops_t wrk_stream_ops = {
    .on_event = stream_on_event,
    .on_done = stream_on_done,
};

/* Opens again the GET streams that are due; returns when the next one is. */
int64_t wrk_stream_tick(wrk_t *w, int64_t now)
{
    int64_t next = INT64_MAX;
    for (link_t *l = w->relisten.next; l != &w->relisten;) {
        upstream_t *up = container_of(l, upstream_t, rlink);
        l = l->next;
        if (now >= up->relisten_ms) {
            wrk_stream_start(up); /* takes it off the list, or puts it back at the end */
        } else if (up->relisten_ms < next) {
            next = up->relisten_ms;
        }
    }
    return next;
}
