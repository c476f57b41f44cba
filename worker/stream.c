/* stream.c: the upstream GET streams, where a backend sends server-initiated messages: opened
 * only while needed (the client holds its own GET stream, which the broker tells with
 * session/listen and session/unlisten, or subscribed to resources here; and the catalog's
 * session), their messages passed to the broker for the client, opened again after the
 * backend's retry advice, closed when no longer needed. */
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

/* ---- which sessions listen ---- */

/* A session whose client holds its GET stream; the upstream session may not exist yet. */
typedef struct listener {
    wrk_sessmap_entry_t hentry; /* in w->listeners; its key is key */
    char key[WRK_KEY_MAX + 1];
} listener_t;

/* Of the catalog sessions only the default set's holds a GET stream: a list_changed on it
 * refetches every set (worker/catalog.c), and the other sets cost no connection. */
int wrk_stream_wanted(const upstream_t *up)
{
    return (up->is_catalog && up->caps == WRK_CAP_SET_DEFAULT) || up->subscribed ||
           wrk_sessmap_find(&up->w->listeners, up->key, strlen(up->key)) != NULL;
}

/* Closes up's GET stream (and its pending reopen): nobody needs it now. */
static void stream_stop(upstream_t *up);

void wrk_stream_stop_unneeded(upstream_t *up)
{
    if (!wrk_stream_wanted(up)) {
        stream_stop(up);
    }
}

static void stream_stop(upstream_t *up)
{
    if (up->gx.easy != NULL) {
        gw_log_debug("msg=\"GET stream closed: not needed\" backend=%s session=%s", up->w->name,
                     up->key);
    }
    if (up->gx.easy != NULL && up->gx.sse.last_id[0] != '\0') {
        /* opened again with Last-Event-ID: a backend that keeps messages replays the gap */
        memcpy(up->gx_last_id, up->gx.sse.last_id, sizeof(up->gx_last_id));
    }
    wrk_xfer_cancel(&up->gx);
    wrk_xfer_trim(&up->gx);
    list_remove(&up->rlink);
}

void wrk_stream_listen(wrk_t *w, gw_str_t key, int on)
{
    wrk_sessmap_entry_t *e = wrk_sessmap_find(&w->listeners, key.ptr, key.len);
    upstream_t *up = wrk_upstream_find(w, key.ptr, key.len);

    if (on && e == NULL) {
        listener_t *l = calloc(1, sizeof(*l));
        if (l == NULL) {
            gw_log_warn("msg=\"GET stream not opened: out of memory\" backend=%s session=%.*s",
                        w->name, (int)key.len, key.ptr);
            return;
        }
        memcpy(l->key, key.ptr, key.len);
        l->hentry.key = l->key;
        l->hentry.keylen = key.len;
        if (wrk_sessmap_insert(&w->listeners, &l->hentry) != GW_OK) {
            free(l);
            return;
        }
    } else if (!on && e != NULL) {
        wrk_sessmap_remove(&w->listeners, e);
        free(GW_CONTAINER_OF(e, listener_t, hentry));
    }
    gw_log_debug("msg=\"client %s\" backend=%s session=%.*s upstream=%s", on ? "listens" : "left",
                 w->name, (int)key.len, key.ptr,
                 up == NULL              ? "none"
                 : up->state == UP_READY ? "ready"
                                         : "not ready");
    if (up == NULL || up->state != UP_READY) {
        return; /* a session that becomes ready opens its stream then */
    }
    if (on) {
        wrk_stream_start(up);
    } else if (!wrk_stream_wanted(up)) {
        stream_stop(up);
    }
}

void wrk_stream_subscribed(upstream_t *up)
{
    up->subscribed = 1;
    wrk_stream_start(up);
}

int wrk_stream_hold_calls(upstream_t *up)
{
    if (up->gx.easy == NULL || up->gx_head || list_empty(&up->waiting) ||
        !list_empty(&up->swlink)) {
        return !list_empty(&up->swlink);
    }
    up->stream_wait_ms = gw_clock_ms() + WRK_STREAM_WAIT_MS;
    list_append(&up->w->stream_waits, &up->swlink);
    up->refs++; /* the list's */
    return 1;
}

/* The GET stream answered, failed or took too long: the held calls run (or fail when the
 * session was closed meanwhile). */
static void release_calls(upstream_t *up)
{
    list_remove(&up->swlink);
    while (!list_empty(&up->waiting)) {
        call_t *c = GW_CONTAINER_OF(up->waiting.next, call_t, qlink);
        list_remove(&c->qlink);
        if (up->in_map && up->state == UP_READY) {
            wrk_call_dispatch(c);
        } else {
            wrk_reply_fail(c, GW_RPC_INTERNAL_ERROR, "the session was closed");
        }
    }
    wrk_upstream_unref(up);
}

static int64_t release_due_calls(wrk_t *w, int64_t now)
{
    int64_t next = INT64_MAX;
    link_t due;
    list_init(&due);
    for (link_t *l = w->stream_waits.next; l != &w->stream_waits;) {
        upstream_t *up = GW_CONTAINER_OF(l, upstream_t, swlink);
        l = l->next;
        if (up->gx_head || up->gx.easy == NULL || !up->in_map || now >= up->stream_wait_ms) {
            list_remove(&up->swlink);
            list_append(&due, &up->swlink);
        } else if (up->stream_wait_ms < next) {
            next = up->stream_wait_ms;
        }
    }
    while (!list_empty(&due)) {
        release_calls(GW_CONTAINER_OF(due.next, upstream_t, swlink));
    }
    return next;
}

void wrk_stream_listeners_fini(wrk_t *w)
{
    wrk_sessmap_entry_t *e;

    while (!list_empty(&w->stream_waits)) {
        upstream_t *up = GW_CONTAINER_OF(w->stream_waits.next, upstream_t, swlink);
        list_remove(&up->swlink);
        wrk_upstream_unref(up);
    }
    wrk_listen_fini(w);
    while ((e = wrk_sessmap_any(&w->listeners)) != NULL) {
        wrk_sessmap_remove(&w->listeners, e);
        free(GW_CONTAINER_OF(e, listener_t, hentry));
    }
    wrk_sessmap_fini(&w->listeners);
}

/* ---- the streams ---- */

/* Opens the GET stream of a ready upstream session while it is needed: the backend may send
 * requests, resource updates and log messages there; the catalog's session hears list_changed.
 * A session nobody listens on has none, so an idle session holds no connection. */
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
    if (!wrk_stream_wanted(up)) {
        return;
    }
    up->gx_head = 0;
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
    upstream_t *up = GW_CONTAINER_OF(x, upstream_t, gx);
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
    } else if (rpc.kind == GW_MSG_NOTIFICATION && up->pooled) {
        /* a 2026-07-28 caller's session: no GET stream of a client, only its listens */
        wrk_listen_on_notification(up, data, len, &rpc);
    } else if (rpc.kind == GW_MSG_NOTIFICATION) {
        stream_to_client(up, data, len);
    }
    return GW_OK;
}

static void stream_on_done(xfer_t *x, CURLcode rc)
{
    upstream_t *up = GW_CONTAINER_OF(x, upstream_t, gx);
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

static void stream_on_head(xfer_t *x)
{
    GW_CONTAINER_OF(x, upstream_t, gx)->gx_head = 1;
}

const xfer_ops_t wrk_stream_ops = {
    .on_head = stream_on_head,
    .on_event = stream_on_event,
    .on_done = stream_on_done,
};

/* Opens again the GET streams that are due; returns when the next one is. */
int64_t wrk_stream_tick(wrk_t *w, int64_t now)
{
    int64_t next = release_due_calls(w, now);
    int64_t touch = wrk_listen_tick(w, now);
    next = touch < next ? touch : next;
    for (link_t *l = w->relisten.next; l != &w->relisten;) {
        upstream_t *up = GW_CONTAINER_OF(l, upstream_t, rlink);
        l = l->next;
        if (now >= up->relisten_ms) {
            wrk_stream_start(up); /* takes it off the list, or puts it back at the end */
        } else if (up->relisten_ms < next) {
            next = up->relisten_ms;
        }
    }
    return next;
}
