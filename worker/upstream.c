/* upstream.c: the upstream sessions behind the gateway's sessions: created lazily, initialize
 * single-flight (calls wait in the session), ready (GET stream, pending log level, waiting calls
 * run), failed, lost on a 404 (the next call initializes a new one), closed with DELETE. */
#include "config.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_tree.h>

#include "common/json.h"
#include "common/jsonrpc.h"
#include "common/log.h"
#include "common/mcp.h"
#include "common/metrics.h"
#include "worker/worker.h"

/* ---- upstream sessions: the map ---- */

upstream_t *wrk_upstream_find(wrk_t *w, const char *key, size_t n)
{
    wrk_sessmap_entry_t *e = wrk_sessmap_find(&w->sessions, key, n);

    return e != NULL ? GW_CONTAINER_OF(e, upstream_t, hentry) : NULL;
}

gw_err_t wrk_upstream_insert(wrk_t *w, upstream_t *up)
{
    gw_err_t err;

    if ((err = wrk_sessmap_insert(&w->sessions, &up->hentry)) != GW_OK) {
        return err;
    }
    up->in_map = 1;
    up->refs++;
    gw_metric_add(w->m, GW_MC_UPSTREAM_CREATED, 1);
    gw_gauge_set(w->m, GW_MG_UPSTREAM_SESSIONS, (int64_t)w->sessions.n);
    return GW_OK;
}

void wrk_upstream_detach(upstream_t *up)
{
    wrk_t *w = up->w;

    if (!up->in_map) {
        return;
    }
    wrk_sessmap_remove(&w->sessions, &up->hentry);
    up->in_map = 0;
    wrk_pool_remove(up);
    wrk_xfer_cancel(&up->gx); /* no more server messages for a session that is gone */
    list_remove(&up->rlink);
    gw_gauge_set(w->m, GW_MG_UPSTREAM_SESSIONS, (int64_t)w->sessions.n);
    wrk_upstream_unref(up);
}

void wrk_upstream_detach_all(wrk_t *w)
{
    wrk_sessmap_entry_t *e;

    while ((e = wrk_sessmap_any(&w->sessions)) != NULL) {
        wrk_upstream_detach(GW_CONTAINER_OF(e, upstream_t, hentry));
    }
    wrk_sessmap_fini(&w->sessions);
}

/* ---- upstream sessions: lifecycle ---- */

static void session_on_done(xfer_t *x, CURLcode rc);

static const xfer_ops_t session_ops = {
    .on_event = wrk_rpc_collect_event,
    .on_done = session_on_done,
};

static void session_set_state(upstream_t *up, up_state_t to)
{
    static const unsigned allowed[] = {
        [UP_NONE] = 1u << UP_INITIALIZING,
        [UP_INITIALIZING] = (1u << UP_READY) | (1u << UP_FAILED),
        [UP_READY] = 1u << UP_FAILED,
        [UP_FAILED] = 0,
    };

    assert(allowed[up->state] & (1u << to));
    up->state = to;
}

upstream_t *wrk_upstream_create(wrk_t *w, const char *key, size_t n, gw_proto_t proto, uint8_t caps)
{
    upstream_t *up = calloc(1, sizeof(*up));

    if (up == NULL) {
        return NULL;
    }
    up->w = w;
    up->refs = 1;
    list_init(&up->ilink);
    list_init(&up->waiting);
    list_init(&up->calls);
    memcpy(up->key, key, n);
    up->key[n] = '\0';
    up->hentry.key = up->key;
    up->hentry.keylen = n;
    up->want_proto = gw_proto_name(proto) != NULL ? proto : GW_PROTO_LATEST;
    up->caps = caps;
    wrk_xfer_init(&up->x, w, &session_ops);
    wrk_xfer_init(&up->gx, w, &wrk_stream_ops);
    list_init(&up->rlink);
    list_init(&up->swlink);
    list_init(&up->plink);
    return up;
}

void wrk_upstream_unref(upstream_t *up)
{
    assert(up->refs > 0);
    if (--up->refs > 0) {
        return;
    }
    assert(!up->in_map && list_empty(&up->waiting) && up->x.easy == NULL);
    list_remove(&up->ilink);
    list_remove(&up->rlink);
    wrk_xfer_fini(&up->x);
    wrk_xfer_fini(&up->gx);
    free(up->sid);
    if (up->init_result != NULL) {
        yajl_tree_free(up->init_result);
    }
    free(up);
}

static void session_fail(upstream_t *up, int code, const char *msg)
{
    wrk_t *w = up->w;
    char q[512];

    session_set_state(up, UP_FAILED);
    list_remove(&up->ilink);
    wrk_upstream_detach(up);
    if (up->is_catalog) {
        wrk_catalog_on_session(up, code, msg); /* logs the failure itself */
    } else {
        gw_log_warn("msg=\"upstream initialize failed\" backend=%s session=%s error=\"%s\" "
                    "request_id=%s",
                    w->name, up->key, gw_log_quote(q, sizeof(q), msg, strlen(msg)), up->rid);
    }
    while (!list_empty(&up->waiting)) {
        call_t *c = GW_CONTAINER_OF(up->waiting.next, call_t, qlink);
        list_remove(&c->qlink);
        wrk_reply_fail(c, code, msg);
    }
    wrk_upstream_unref(up); /* the initialization's reference */
}

static void session_ready(upstream_t *up)
{
    wrk_t *w = up->w;

    session_set_state(up, UP_READY);
    list_remove(&up->ilink);
    wrk_xfer_trim(&up->x); /* initialize is over: an idle session keeps only its record */
    if (!up->close_requested) {
        wrk_stream_start(up);
    }
    gw_log_debug("msg=\"upstream session ready\" backend=%s session=%s protocol=%s stateless=%d "
                 "request_id=%s",
                 w->name, up->is_catalog ? "catalog" : up->key, up->proto, up->sid == NULL,
                 up->rid);
    if (up->is_catalog) {
        wrk_catalog_on_session(up, 0, NULL);
    } else if (up->close_requested) {
        wrk_closer_delete(up);
        while (!list_empty(&up->waiting)) {
            call_t *c = GW_CONTAINER_OF(up->waiting.next, call_t, qlink);
            list_remove(&c->qlink);
            wrk_reply_fail(c, GW_RPC_INTERNAL_ERROR, "the session was closed");
        }
    } else {
        wrk_level_apply_pending(up);
        while (!wrk_stream_hold_calls(up) && !list_empty(&up->waiting)) {
            call_t *c = GW_CONTAINER_OF(up->waiting.next, call_t, qlink);
            list_remove(&c->qlink);
            wrk_call_dispatch(c);
        }
    }
    wrk_upstream_unref(up); /* the initialization's reference */
}

/* Starts initialize on a new session; the session takes a reference for it. May fail the
 * session (and its waiting calls) before returning. */
void wrk_upstream_start(upstream_t *up, const char *rid)
{
    wrk_t *w = up->w;
    xfer_t *x = &up->x;
    const char *proto = gw_proto_name(up->want_proto);
    gw_err_t err = GW_OK;
    xfer_req_t rq;
    char msg[256];

    session_set_state(up, UP_INITIALIZING);
    list_append(&w->initializing, &up->ilink);
    snprintf(up->rid, sizeof(up->rid), "%s", rid != NULL ? rid : "");
    up->refs++;
    up->init_step = 0;
    up->modern = wrk_era_session_modern(up);
    if (up->modern) {
        /* 2026-07-28: no initialize and no session; every request stands alone. The catalog's
         * session takes the backend's capabilities from its server/discover answer. No GET
         * stream either (sid NULL: wrk_stream_start does nothing): a 2026-07-28 backend's
         * list_changed comes with part E's subscriptions/listen (design 6), until then its
         * catalog is fetched again only after a failure or a reload's probe finds a new era. */
        snprintf(up->proto, sizeof(up->proto), "%s", GW_PROTO_MODERN_NAME);
        if (up->is_catalog && (up->init_result = wrk_era_init_result(w)) == NULL) {
            session_fail(up, GW_RPC_INTERNAL_ERROR, "out of memory");
            return;
        }
        session_ready(up);
        return;
    }
    x->expect_id = ++w->next_rpc_id;
    gw_buf_reset(&x->req);
    err = gw_buf_appendf(&x->req,
                         "{\"jsonrpc\":\"2.0\",\"id\":%" PRIu64 ",\"method\":\"initialize\","
                         "\"params\":{\"protocolVersion\":\"%s\",\"capabilities\":{",
                         x->expect_id, proto);
    /* sampling.tools and elicitation.url come only from 2026-07-28 callers (pooled keys) */
    if (err == GW_OK && (up->caps & GW_CAP_SAMPLING)) {
        err = gw_buf_appends(&x->req, (up->caps & GW_CAP_SAMPLING_TOOLS)
                                          ? "\"sampling\":{\"tools\":{}},"
                                          : "\"sampling\":{},");
    }
    if (err == GW_OK && (up->caps & GW_CAP_ELICITATION)) {
        err = gw_buf_appends(&x->req, (up->caps & GW_CAP_ELICITATION_URL)
                                          ? "\"elicitation\":{\"form\":{},\"url\":{}},"
                                          : "\"elicitation\":{},");
    }
    if (err == GW_OK && (up->caps & GW_CAP_ROOTS)) {
        err = gw_buf_appends(&x->req, "\"roots\":{\"listChanged\":true},");
    }
    if (err == GW_OK && x->req.data[x->req.len - 1] == ',') {
        x->req.len--;
    }
    if (err == GW_OK) {
        err = gw_buf_appends(
            &x->req, "},\"clientInfo\":{\"name\":\"mcpgw\",\"version\":\"" PACKAGE_VERSION "\"}}}");
    }
    rq = (xfer_req_t){
        .method = "POST",
        .body = x->req.data,
        .len = x->req.len,
        .rid = rid,
        .timeout_ms = w->srv->timeout_ms,
    };
    if (err == GW_OK) {
        err = wrk_xfer_start(x, &rq);
    }
    if (err != GW_OK) {
        snprintf(msg, sizeof(msg), "backend %s: cannot start initialize: %s", w->name,
                 gw_strerror(err));
        session_fail(up, GW_RPC_INTERNAL_ERROR, msg);
    }
}

/* Did the backend answer with a JSON-RPC error -32022 (unsupported protocol version)? */
static int answered_unsupported_version(const xfer_t *x)
{
    char err[64];
    yajl_val v;
    yajl_val c;
    int yes;

    if (x->status / 100 != 4 || x->body.len == 0 ||
        (v = gw_json_parse(x->body.data, x->body.len, err, sizeof(err))) == NULL) {
        return 0;
    }
    c = gw_json_get(gw_json_get(v, "error"), "code");
    yes = c != NULL && YAJL_IS_INTEGER(c) && YAJL_GET_INTEGER(c) == GW_RPC_UNSUPPORTED_VERSION;
    yajl_tree_free(v);
    return yes;
}

/* A pooled session whose key has a log level, on a backend offering logging: logging/setLevel
 * before its first call (7.1), so that the call's own messages are filtered already. Returns 1
 * when it was started (session_on_done goes on at init_step 2). */
static int session_set_level(upstream_t *up)
{
    wrk_t *w = up->w;
    xfer_t *x = &up->x;
    xfer_req_t rq;

    if (!up->pooled || up->level[0] == '\0' || !up->has_logging) {
        return 0;
    }
    up->init_step = 2;
    x->expect_id = ++w->next_rpc_id;
    gw_buf_reset(&x->req);
    if (gw_buf_appendf(&x->req,
                       "{\"jsonrpc\":\"2.0\",\"id\":%" PRIu64
                       ",\"method\":\"logging/setLevel\",\"params\":{\"level\":\"%s\"}}",
                       x->expect_id, up->level) != GW_OK) {
        return 0;
    }
    rq = (xfer_req_t){
        .method = "POST",
        .body = x->req.data,
        .len = x->req.len,
        .sid = up->sid,
        .proto = up->proto,
        .rid = up->rid,
        .timeout_ms = w->srv->timeout_ms,
    };
    return wrk_xfer_start(x, &rq) == GW_OK;
}

/* The catalog's initialize on a backend whose discover named 2026-07-28 was answered, and not
 * with a result: by an HTTP 4xx (not 401/403, which say nothing of the era) or a JSON-RPC error
 * in a 2xx. Unreached, timed out, or a 5xx: the backend is down, not modern only. */
static int refused_not_down(const xfer_t *x, CURLcode rc)
{
    return rc == CURLE_OK && x->aborted == 0 && x->status != 401 && x->status != 403 &&
           (x->status / 100 == 4 || x->status / 100 == 2);
}

/* A backend whose discover named 2026-07-28 refused the catalog's initialize: it speaks only
 * 2026-07-28. The same session goes on that way (wrk_upstream_start's modern branch). */
static void catalog_goes_modern(upstream_t *up)
{
    wrk_t *w = up->w;

    wrk_era_settle_dual(w, 0);
    up->modern = 1;
    free(up->sid);
    up->sid = NULL;
    snprintf(up->proto, sizeof(up->proto), "%s", GW_PROTO_MODERN_NAME);
    if ((up->init_result = wrk_era_init_result(w)) == NULL) {
        session_fail(up, GW_RPC_INTERNAL_ERROR, "out of memory");
        return;
    }
    session_ready(up);
}

static void session_on_done(xfer_t *x, CURLcode rc)
{
    upstream_t *up = GW_CONTAINER_OF(x, upstream_t, x);
    wrk_t *w = up->w;
    char msg[512];
    yajl_val tree;
    yajl_val result;
    const char *pv;
    gw_proto_t p;
    int code;
    static const char initialized[] =
        "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}";
    xfer_req_t rq;

    if (up->init_step == 1) {
        if ((code = wrk_xfer_failure(x, rc, msg, sizeof(msg))) != 0) {
            session_fail(up, code, msg);
        } else if (x->status / 100 != 2) {
            snprintf(msg, sizeof(msg), "backend %s answered HTTP %ld to notifications/initialized",
                     w->name, x->status);
            session_fail(up, GW_RPC_INTERNAL_ERROR, msg);
        } else if (!session_set_level(up)) {
            session_ready(up);
        }
        return;
    }
    if (up->init_step == 2) {
        /* the level only filters what the backend sends: a refusal fails nothing */
        if ((code = wrk_rpc_outcome(x, rc, "logging/setLevel", &tree, &result, msg, sizeof(msg))) !=
            0) {
            char q[512];
            gw_log_warn("msg=\"logging/setLevel of a pooled session failed\" backend=%s "
                        "session=%s error=\"%s\"",
                        w->name, up->key, gw_log_quote(q, sizeof(q), msg, strlen(msg)));
        }
        yajl_tree_free(tree);
        session_ready(up);
        return;
    }
    if ((code = wrk_rpc_outcome(x, rc, "initialize", &tree, &result, msg, sizeof(msg))) != 0) {
        if (up->is_catalog && w->probe.dual_check && refused_not_down(x, rc)) {
            catalog_goes_modern(up); /* 2026-07-28 only (era.c) */
            return;
        }
        if (up->is_catalog) {
            wrk_era_dual_unreached(w, msg); /* nothing when no check is under way */
        }
        if (answered_unsupported_version(x)) {
            /* a backend taken for 2025 refused initialize as a 2026-07-28 server does: it was
             * upgraded, or its probe answer misled us (design 7.2); a dual one may have stopped
             * speaking 2025: its next discover checks that again */
            if (w->era == WRK_ERA_DUAL) {
                w->probe.recheck = 1;
            }
            wrk_era_reprobe(w, 0, "initialize answered -32022");
        }
        session_fail(up, code, msg);
        return;
    }
    pv = gw_json_get_string(result, "protocolVersion");
    p = pv != NULL ? gw_proto_parse(pv, strlen(pv)) : GW_PROTO_NONE;
    if (p == GW_PROTO_NONE && up->is_catalog && w->probe.dual_check) {
        yajl_tree_free(tree); /* not a 2025 revision: no 2025 server either */
        catalog_goes_modern(up);
        return;
    }
    if (up->is_catalog) {
        wrk_era_settle_dual(w, 1); /* initialize accepted: dual, when that was the question */
    }
    if (p == GW_PROTO_NONE) {
        char q[64];
        snprintf(msg, sizeof(msg),
                 "backend %s answered initialize with unsupported protocolVersion %s", w->name,
                 pv ? gw_log_quote(q, sizeof(q), pv, strlen(pv)) : "(none)");
        yajl_tree_free(tree);
        session_fail(up, GW_RPC_INTERNAL_ERROR, msg);
        return;
    }
    if (x->sid_bad) {
        snprintf(msg, sizeof(msg), "backend %s answered initialize with an invalid Mcp-Session-Id",
                 w->name);
        yajl_tree_free(tree);
        session_fail(up, GW_RPC_INTERNAL_ERROR, msg);
        return;
    }
    snprintf(up->proto, sizeof(up->proto), "%s", gw_proto_name(p));
    free(up->sid);
    up->sid = x->sid;
    x->sid = NULL;
    up->has_logging = gw_json_get(gw_json_get(result, "capabilities"), "logging") != NULL;
    if (up->is_catalog) {
        up->init_result = tree;
        w->tasks = gw_json_get(gw_json_get(result, "capabilities"), "tasks") != NULL;
    } else {
        yajl_tree_free(tree);
    }
    up->init_step = 1;
    rq = (xfer_req_t){
        .method = "POST",
        .body = initialized,
        .len = sizeof(initialized) - 1,
        .sid = up->sid,
        .proto = up->proto,
        .timeout_ms = w->srv->timeout_ms,
    };
    if (wrk_xfer_start(x, &rq) != GW_OK) {
        snprintf(msg, sizeof(msg), "backend %s: cannot send notifications/initialized", w->name);
        session_fail(up, GW_RPC_INTERNAL_ERROR, msg);
    }
}

/* The backend forgot the session (404): later calls must initialize a new one. Calls still in
 * flight on it keep their reference. */
void wrk_upstream_lost(upstream_t *up)
{
    if (up->state == UP_READY) {
        session_set_state(up, UP_FAILED);
    }
    wrk_upstream_detach(up);
}
