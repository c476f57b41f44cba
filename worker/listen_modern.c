/* listen_modern.c: resource subscriptions of 2026-07-28 listens on a 2026-07-28 backend
 * (docs/design-2026-07-28.md §6): one upstream subscriptions/listen per gateway listen, with the
 * URIs it subscribed here as resourceSubscriptions (the backend's own URIs: the gateway never
 * rewrites them), held with the GET streams (outside limits.max_connections, as long as it
 * lives), opened again after it ends; each resources/updated of a URI it asked for goes to the
 * broker for that listen. The backend's acknowledgement and anything else are dropped: the
 * gateway's own acknowledgement went first, and list_changed is the gateway's (broker).
 * And the catalog's: while the default set's catalog session speaks 2026-07-28, one upstream
 * listen for the three list_changed, each of which refetches the catalog (what a 2025 backend's
 * catalog session hears on its GET stream). */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_tree.h>

#include "common/clock.h"
#include "common/json.h"
#include "common/lists.h"
#include "common/jsonrpc.h"
#include "common/log.h"
#include "common/mcp.h"
#include "common/names.h"
#include "worker/meta.h"
#include "worker/worker.h"

#define RETRY_MIN_MS 1000
#define RETRY_MAX_MS 30000
#define MAX_URIS 64 /* the broker's bound per listen */

struct wrk_mlisten {
    struct wrk_mlisten *next;
    wrk_t *w;
    char lkey[32]; /* the broker's name of the listen, "L<n>" */
    uint8_t caps;
    char level[16];
    char *uris[MAX_URIS];
    size_t nuris;
    xfer_t x;
    int catalog;    /* the catalog's listen (lkey ""), not a client's */
    int ready_sent; /* listen/ready sent for its URIs as they are now */
    int due;        /* (re)open at due_ms */
    int64_t due_ms;
    int64_t backoff_ms;
};

static gw_err_t on_event(xfer_t *x, const char *data, size_t len)
{
    wrk_mlisten_t *m = GW_CONTAINER_OF(x, wrk_mlisten_t, x);
    gw_rpc_t rpc;
    if (gw_rpc_scan(data, len, GW_RPC_DEFAULT_MAX_DEPTH, &rpc) != GW_OK ||
        rpc.kind != GW_MSG_NOTIFICATION) {
        return GW_OK;
    }
    if (m->catalog) {
        if (gw_list_by_changed(rpc.method_str, strlen(rpc.method_str)) >= 0) {
            wrk_catalog_note_changed(m->w);
        }
        m->backoff_ms = RETRY_MIN_MS;
        return GW_OK;
    }
    if (strcmp(rpc.method_str, "notifications/subscriptions/acknowledged") == 0) {
        if (!m->ready_sent) { /* the backend holds the subscriptions: the broker may ack */
            m->ready_sent = 1;
            wrk_listen_ready(m->w, m->lkey);
        }
        return GW_OK;
    }
    if (strcmp(rpc.method_str, "notifications/resources/updated") != 0) {
        return GW_OK;
    }
    char err[64];
    yajl_val v = gw_json_parse(data, len, err, sizeof(err));
    const char *uri = gw_json_get_string(gw_json_get(v, "params"), "uri");
    for (size_t i = 0; uri != NULL && i < m->nuris; i++) {
        if (strcmp(m->uris[i], uri) != 0) {
            continue; /* only what this listen asked for */
        }
        gw_envelope_t e = {.kind = GW_ENV_CONTROL, .flags = GW_ENV_F_NOREPLY};
        e.method = GW_STR("listen/event");
        e.session = (gw_str_t){m->lkey, strlen(m->lkey)};
        e.body = (gw_str_t){m->uris[i], strlen(m->uris[i])};
        gw_outbox_t *o = wrk_reply_outbox(m->w, GW_STR(GW_BROKER_NAME));
        if (o == NULL || wrk_reply_send_env(m->w, o, &e) != GW_OK) {
            gw_log_warn("msg=\"resource update lost: the broker is unreachable\" backend=%s",
                        m->w->name);
        }
        break;
    }
    yajl_tree_free(v);
    m->backoff_ms = RETRY_MIN_MS; /* it works: a later end is retried soon again */
    return GW_OK;
}

static void on_done(xfer_t *x, CURLcode rc)
{
    wrk_mlisten_t *m = GW_CONTAINER_OF(x, wrk_mlisten_t, x);
    if (m->w->stopping) {
        return;
    }
    gw_log_info("msg=\"upstream listen ended, opening it again\" backend=%s listen=%s status=%ld "
                "curl=\"%s\" wait_ms=%" PRId64,
                m->w->name, m->lkey, x->status, curl_easy_strerror(rc), m->backoff_ms);
    m->due = 1;
    m->due_ms = gw_clock_ms() + m->backoff_ms;
    m->backoff_ms = m->backoff_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : m->backoff_ms * 2;
}

static const xfer_ops_t mlisten_ops = {.on_event = on_event, .on_done = on_done};

static void start(wrk_mlisten_t *m)
{
    wrk_t *w = m->w;
    xfer_t *x = &m->x;
    wrk_xfer_cancel(x);
    x->expect_id = ++w->next_rpc_id;
    gw_buf_reset(&x->req);
    gw_err_t err =
        gw_buf_appendf(&x->req,
                       "{\"jsonrpc\":\"2.0\",\"id\":\"mcpgw-listen-%" PRIu64
                       "\",\"method\":\"subscriptions/listen\",\"params\":{"
                       "\"notifications\":{%s\"resourceSubscriptions\":[",
                       x->expect_id,
                       m->catalog ? "\"toolsListChanged\":true,\"promptsListChanged\":true,"
                                    "\"resourcesListChanged\":true,"
                                  : "");
    for (size_t i = 0; err == GW_OK && i < m->nuris; i++) {
        err = gw_buf_appends(&x->req, i > 0 ? "," : "");
        err =
            err == GW_OK ? gw_buf_append_json_string(&x->req, m->uris[i], strlen(m->uris[i])) : err;
    }
    err = err == GW_OK ? gw_buf_appends(&x->req, "]},\"_meta\":{") : err;
    err = err == GW_OK ? wrk_modern_meta(&x->req, m->caps, m->level) : err;
    err = err == GW_OK ? gw_buf_appends(&x->req, "}}}") : err;
    if (err == GW_OK) {
        err = wrk_modern_headers(x, "subscriptions/listen", NULL, 0, NULL, 0, NULL);
    }
    xfer_req_t rq = {
        .method = "POST",
        .body = x->req.data,
        .len = x->req.len,
        .proto = GW_PROTO_MODERN_NAME,
        .timeout_ms = 0, /* as long as the listen lives */
        .stream = 1,
    };
    if (err == GW_OK) {
        err = wrk_xfer_start(x, &rq);
    }
    m->due = err != GW_OK;
    m->due_ms = gw_clock_ms() + m->backoff_ms;
    if (err != GW_OK) {
        gw_log_warn("msg=\"cannot open an upstream listen\" backend=%s listen=%s error=\"%s\"",
                    w->name, m->lkey, gw_strerror(err));
    } else {
        gw_log_debug("msg=\"upstream listen opened\" backend=%s listen=%s uris=%zu", w->name,
                     m->lkey, m->nuris);
    }
}

void wrk_listen_modern_add(wrk_t *w, const gw_envelope_t *env, const char *uri, const char *rid)
{
    wrk_mlisten_t *m = w->mlistens;
    while (m != NULL && !gw_str_eq(env->session, m->lkey)) {
        m = m->next;
    }
    if (m == NULL) {
        if (env->session.len >= sizeof(m->lkey) || (m = calloc(1, sizeof(*m))) == NULL) {
            gw_log_warn("msg=\"upstream listen not made: out of memory\" backend=%s "
                        "request_id=%s",
                        w->name, rid);
            return;
        }
        m->w = w;
        memcpy(m->lkey, env->session.ptr, env->session.len);
        m->caps = env->caps;
        for (size_t i = 0; i < env->nheaders; i++) {
            gw_str_t v = env->headers[i].value;
            if (gw_str_eq(env->headers[i].name, "log-level") && v.len < sizeof(m->level)) {
                memcpy(m->level, v.ptr, v.len);
            }
        }
        m->backoff_ms = RETRY_MIN_MS;
        wrk_xfer_init(&m->x, w, &mlisten_ops);
        m->next = w->mlistens;
        w->mlistens = m;
    }
    for (size_t i = 0; i < m->nuris; i++) {
        if (strcmp(m->uris[i], uri) == 0) {
            return;
        }
    }
    if (m->nuris == MAX_URIS || (m->uris[m->nuris] = strdup(uri)) == NULL) {
        gw_log_warn("msg=\"upstream listen URI not added\" backend=%s request_id=%s", w->name, rid);
        return;
    }
    m->nuris++;
    m->ready_sent = 0;
    /* the broker sends a listen's URIs back to back: one opening for all of them, next turn */
    m->due = 1;
    m->due_ms = gw_clock_ms();
}

static void mlisten_free(wrk_mlisten_t *m)
{
    wrk_xfer_fini(&m->x);
    for (size_t i = 0; i < m->nuris; i++) {
        free(m->uris[i]);
    }
    free(m);
}

void wrk_listen_modern_drop(wrk_t *w, gw_str_t lkey)
{
    for (wrk_mlisten_t **p = &w->mlistens; *p != NULL; p = &(*p)->next) {
        wrk_mlisten_t *m = *p;
        if (gw_str_eq(lkey, m->lkey)) {
            *p = m->next;
            gw_log_debug("msg=\"upstream listen closed\" backend=%s listen=%s", w->name, m->lkey);
            mlisten_free(m); /* the stream closing is the end of a 2026-07-28 listen */
            return;
        }
    }
}

/* The catalog's listen: wanted while the default set's catalog session is a ready 2026-07-28
 * one, or a dual backend's (whose 2025 catalog session has a GET stream, but whose changes of
 * the 2026-07-28 lists it fetches may be told to listens only); made, or dropped, here. */
static void catalog_listen_check(wrk_t *w)
{
    const upstream_t *up = w->cat[WRK_CAP_SET_DEFAULT].up;
    int want = up != NULL && (up->modern || w->era == WRK_ERA_DUAL) && up->state == UP_READY &&
               !w->stopping;
    wrk_mlisten_t **p = &w->mlistens;
    while (*p != NULL && !(*p)->catalog) {
        p = &(*p)->next;
    }
    if (!want && *p != NULL) {
        wrk_mlisten_t *m = *p;
        *p = m->next;
        mlisten_free(m);
    } else if (want && *p == NULL) {
        wrk_mlisten_t *m = calloc(1, sizeof(*m));
        if (m == NULL) {
            return; /* tried again next turn */
        }
        m->w = w;
        m->catalog = 1;
        m->backoff_ms = RETRY_MIN_MS;
        m->due = 1;
        m->due_ms = gw_clock_ms();
        wrk_xfer_init(&m->x, w, &mlisten_ops);
        m->next = w->mlistens;
        w->mlistens = m;
    }
}

int64_t wrk_listen_modern_tick(wrk_t *w, int64_t now)
{
    int64_t next = INT64_MAX;
    catalog_listen_check(w);
    for (wrk_mlisten_t *m = w->mlistens; m != NULL; m = m->next) {
        if (m->due && now >= m->due_ms && !w->stopping) {
            start(m);
        }
        if (m->due && m->due_ms < next) {
            next = m->due_ms;
        }
    }
    return next;
}

void wrk_listen_modern_fini(wrk_t *w)
{
    while (w->mlistens != NULL) {
        wrk_mlisten_t *m = w->mlistens;
        w->mlistens = m->next;
        mlisten_free(m);
    }
}
