/* era.c: the backend's era (docs/design-2026-07-28.md 7.2): server/discover probed on start,
 * after a failure and after a reload, classified (era_classify.c), shown in mcpgwctl backends
 * (the era and probe gauges), logged once per change; the catalog and the first calls wait for
 * the verdict.
 *
 * Dual backends (both eras: the v2 SDK server with legacy 'stateless', mcpgw-conformance --era
 * dual). A backend whose discover names 2026-07-28 is dual when it also accepts initialize. The
 * worker learns that with no extra request: the catalog session of such a backend starts the
 * 2025 way (initialize), which it needs anyway for a dual backend's catalog and list_changed (the
 * GET stream). Its initialize answered with a result: dual. Answered any other way (-32022, an
 * HTTP 4xx, a JSON-RPC error): 2026-07-28 only, and that same catalog session goes on the
 * 2026-07-28 way (its capabilities from the discover answer), so a modern-only backend costs one
 * refused initialize per verdict. Unreached (down, 5xx, 401/403): the catalog fails and retries
 * as always, and the check waits for it. Until the check answers, 2025 sessions' calls wait (as
 * all calls wait for the first probe); 2026-07-28 callers' calls go at once, as they would go
 * either way. A reprobe (a reload, a failure) naming 2026-07-28 again keeps a dual or modern
 * verdict as it is; only a dual backend refusing a 2025 session's initialize with -32022 makes
 * the next discover check again (and then what was set up for 2025 sessions goes). */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_tree.h>

#include "common/clock.h"
#include "common/json.h"
#include "common/log.h"
#include "common/mcp.h"
#include "common/metrics.h"
#include "worker/era.h"
#include "worker/worker.h"

#define PROBE_BACKOFF_MIN_MS WRK_RETRY_MS
#define PROBE_TIMEOUT_MAX_MS 10000
#define PROBE_SPACING_MS 1000

static void probe_on_done(xfer_t *x, CURLcode rc);

static const xfer_ops_t probe_ops = {
    .on_event = wrk_rpc_collect_event,
    .on_done = probe_on_done,
};

void wrk_era_init(wrk_t *w)
{
    wrk_probe_t *p = &w->probe;

    memset(p, 0, sizeof(*p));
    p->state = WRK_PROBE_DUE;
    p->backoff_ms = PROBE_BACKOFF_MIN_MS;
    list_init(&p->waiting);
    wrk_xfer_init(&p->x, w, &probe_ops);
}

void wrk_era_fini(wrk_t *w)
{
    wrk_modern_headers_free(&w->probe.x);
    wrk_xfer_fini(&w->probe.x);
    if (w->probe.discover != NULL) {
        yajl_tree_free(w->probe.discover);
        w->probe.discover = NULL;
    }
}

gw_err_t wrk_era_discover_body(gw_buf_t *out, uint64_t id)
{
    gw_err_t err = gw_buf_appendf(out,
                                  "{\"jsonrpc\":\"2.0\",\"id\":%" PRIu64
                                  ",\"method\":\"server/discover\",\"params\":{\"_meta\":{",
                                  id);
    if (err == GW_OK) {
        /* capabilities {}: the gateway's own request, no client behind it */
        err = wrk_modern_meta(out, 0, NULL);
    }
    return err == GW_OK ? gw_buf_appends(out, "}}}") : err;
}

static void probe_start(wrk_t *w)
{
    wrk_probe_t *p = &w->probe;
    xfer_t *x = &p->x;
    uint64_t timeout =
        w->srv->timeout_ms < PROBE_TIMEOUT_MAX_MS ? w->srv->timeout_ms : PROBE_TIMEOUT_MAX_MS;
    gw_err_t err;

    x->expect_id = ++w->next_rpc_id;
    gw_buf_reset(&x->req);
    err = wrk_era_discover_body(&x->req, x->expect_id);
    if (err == GW_OK) {
        err = wrk_modern_headers(x, "server/discover", NULL, 0, NULL, 0, NULL);
    }
    xfer_req_t rq = {
        .method = "POST",
        .body = x->req.data,
        .len = x->req.len,
        .proto = GW_PROTO_MODERN_NAME,
        .timeout_ms = timeout,
    };
    if (err == GW_OK) {
        err = wrk_xfer_start(x, &rq);
    }
    if (err != GW_OK) {
        gw_log_warn("msg=\"cannot start the server/discover probe\" backend=%s error=\"%s\"",
                    w->name, gw_strerror(err));
        p->next_ms = gw_clock_ms() + PROBE_BACKOFF_MIN_MS;
        return;
    }
    p->state = WRK_PROBE_RUNNING;
}

int64_t wrk_era_tick(wrk_t *w, int64_t now)
{
    wrk_probe_t *p = &w->probe;

    if (w->stopping || p->state != WRK_PROBE_DUE) {
        return INT64_MAX;
    }
    if (now >= p->next_ms) {
        probe_start(w);
    }
    return p->state == WRK_PROBE_DUE ? p->next_ms : INT64_MAX;
}

void wrk_era_reprobe(wrk_t *w, int64_t delay_ms, const char *why)
{
    wrk_probe_t *p = &w->probe;

    if (p->state != WRK_PROBE_DONE) {
        return; /* running, or due already */
    }
    gw_log_debug("msg=\"server/discover probe due\" backend=%s why=%s delay_ms=%" PRId64, w->name,
                 why, delay_ms);
    p->state = WRK_PROBE_DUE;
    p->next_ms = gw_clock_ms() + delay_ms;
    /* whatever asks, a backend is probed at most once a PROBE_SPACING_MS: a backend that fails
     * every request must not make a loop of probes */
    if (p->next_ms < p->done_ms + PROBE_SPACING_MS) {
        p->next_ms = p->done_ms + PROBE_SPACING_MS;
    }
}

int wrk_era_decided(const wrk_t *w)
{
    return w->probe.state == WRK_PROBE_DONE;
}

void wrk_era_hold_call(call_t *c)
{
    wrk_call_set_state(c, CALL_WAITING);
    list_append(&c->w->probe.waiting, &c->qlink);
}

int64_t wrk_era_sweep_held(wrk_t *w, int64_t now)
{
    int64_t next = INT64_MAX;

    for (link_t *l = w->probe.waiting.next; l != &w->probe.waiting;) {
        call_t *c = GW_CONTAINER_OF(l, call_t, qlink);
        l = l->next;
        if (c->env.deadline_ms == 0) {
            continue;
        }
        if (now >= c->env.deadline_ms) {
            list_remove(&c->qlink);
            wrk_reply_failf(c, GW_RPC_TIMEOUT, "backend %s timed out after %" PRId64 " ms", w->name,
                            now - c->received_ms);
        } else if (c->env.deadline_ms < next) {
            next = c->env.deadline_ms;
        }
    }
    return next;
}

yajl_val wrk_era_init_result(const wrk_t *w)
{
    yajl_val result = gw_json_get(w->probe.discover, "result");
    yajl_val caps = gw_json_get(result, "capabilities");
    yajl_val info = gw_json_get(gw_json_get(result, "_meta"), "io.modelcontextprotocol/serverInfo");
    char err[64];
    gw_buf_t b;
    yajl_val tree = NULL;

    if (info == NULL) {
        info = gw_json_get(result, "serverInfo");
    }
    gw_buf_init(&b);
    gw_err_t rc =
        gw_buf_appends(&b, "{\"result\":{\"protocolVersion\":\"" GW_PROTO_MODERN_NAME "\"");
    if (rc == GW_OK && caps != NULL && YAJL_IS_OBJECT(caps)) {
        rc = gw_buf_appends(&b, ",\"capabilities\":");
        rc = rc == GW_OK ? gw_json_to_buf(caps, &b) : rc;
    }
    if (rc == GW_OK && info != NULL && YAJL_IS_OBJECT(info)) {
        rc = gw_buf_appends(&b, ",\"serverInfo\":");
        rc = rc == GW_OK ? gw_json_to_buf(info, &b) : rc;
    }
    rc = rc == GW_OK ? gw_buf_appends(&b, "}}") : rc;
    if (rc == GW_OK) {
        tree = gw_json_parse(b.data, b.len, err, sizeof(err));
    }
    gw_buf_fini(&b);
    return tree;
}

/* The era changed under a running worker (a backend upgraded behind the same URL): what was
 * set up for the other era goes; calls in flight finish as they can. */
static void era_changed(wrk_t *w)
{
    wrk_sessmap_entry_t *e;

    while ((e = wrk_sessmap_any(&w->sessions)) != NULL) {
        upstream_t *up = GW_CONTAINER_OF(e, upstream_t, hentry);
        if (up->state == UP_READY) {
            wrk_closer_delete(up);
        }
        wrk_upstream_lost(up);
    }
    wrk_catalog_clear(w);
    for (unsigned s = 0; s < WRK_CAP_SETS; s++) {
        w->cat[s].state = CAT_IDLE;
        w->cat[s].next_ms = 0;
    }
}

static void release_held(wrk_t *w, int code, const char *msg)
{
    link_t held;

    list_init(&held);
    while (!list_empty(&w->probe.waiting)) { /* a dispatch may hold again: not this list */
        link_t *l = w->probe.waiting.next;
        list_remove(l);
        list_append(&held, l);
    }
    while (!list_empty(&held)) {
        call_t *c = GW_CONTAINER_OF(held.next, call_t, qlink);
        list_remove(&c->qlink);
        if (code != 0) {
            wrk_reply_fail(c, code, msg);
        } else {
            wrk_call_dispatch(c);
        }
    }
}

static const char *probe_words(gw_probe_t o)
{
    switch (o) {
    case GW_PROBE_DISCOVER:
        return "server/discover answered with 2026-07-28";
    case GW_PROBE_NO_SHARED:
        return "server/discover answered without a version the gateway speaks";
    case GW_PROBE_UNUSABLE:
        return "server/discover answered with what is not a discover result";
    case GW_PROBE_RPC_ERROR:
        return "server/discover refused with a JSON-RPC error";
    case GW_PROBE_HTTP_4XX:
        return "server/discover refused with an HTTP error";
    case GW_PROBE_VERSION_RETRY:
        return "server/discover refused the version twice";
    case GW_PROBE_AUTH:
        return "server/discover refused the gateway's credentials (HTTP 401/403)";
    case GW_PROBE_DOWN:
        return "server/discover got no answer (unreachable, timeout or HTTP 5xx)";
    default:
        return "not probed";
    }
}

static void era_report(wrk_t *w, gw_probe_t o, long status, long long code, wrk_era_t era,
                       const char *detail)
{
    int down = era == WRK_ERA_UNKNOWN;
    gw_log(down ? GW_LOG_WARNING : GW_LOG_NOTICE,
           "msg=\"backend era\" backend=%s era=%s probe=%s status=%ld rpc_code=%lld "
           "detail=\"%s\"%s",
           w->name, gw_era_gauge_name(era), gw_probe_name(o), status, code, detail,
           code == GW_RPC_HEADER_MISMATCH
               ? " note=\"-32020: the backend refused the probe's headers\""
               : "");
    gw_gauge_set(w->m, GW_MG_BACKEND_ERA, (int64_t)era);
}

void wrk_era_settle_dual(wrk_t *w, int accepted)
{
    wrk_probe_t *p = &w->probe;

    if (!p->dual_check) {
        return;
    }
    p->dual_check = 0;
    w->era = accepted ? WRK_ERA_DUAL : WRK_ERA_MODERN;
    p->verdict = w->era;
    p->reported = 1;
    era_report(w, p->outcome, 200, p->rpc_code, w->era,
               accepted ? "server/discover answered with 2026-07-28 and initialize was accepted"
                        : "server/discover answered with 2026-07-28 and initialize was refused");
    release_held(w, 0, NULL);
}

void wrk_era_dual_unreached(wrk_t *w, const char *msg)
{
    if (w->probe.dual_check) {
        release_held(w, GW_RPC_BACKEND_UNAVAILABLE, msg);
    }
}

static void probe_on_done(xfer_t *x, CURLcode rc)
{
    wrk_t *w = x->w;
    wrk_probe_t *p = &w->probe;
    char msg[512];
    long long code = 0;
    yajl_val discover = NULL;
    int reached = wrk_xfer_failure(x, rc, msg, sizeof(msg)) == 0;
    gw_probe_t o;
    wrk_era_t era;
    wrk_era_t before = w->era;

    p->done_ms = gw_clock_ms();
    o = wrk_era_classify(reached, x->status, x->body.data, x->body.len, &code, &discover);
    if (o == GW_PROBE_VERSION_RETRY && !p->retried) {
        p->retried = 1; /* the backend named our version as supported: once more, then legacy */
        probe_start(w);
        if (p->state == WRK_PROBE_RUNNING) {
            return;
        }
    }
    p->retried = 0;
    era = o == GW_PROBE_VERSION_RETRY ? WRK_ERA_LEGACY : (wrk_era_t)wrk_era_of(o);
    /* 2026-07-28 named: dual or not is the catalog's initialize's to say (see the top), unless
     * a verdict of this backend stands */
    int check = era == WRK_ERA_MODERN &&
                (p->recheck || (p->verdict != WRK_ERA_MODERN && p->verdict != WRK_ERA_DUAL));
    if (era == WRK_ERA_MODERN && p->verdict == WRK_ERA_DUAL && !check) {
        era = WRK_ERA_DUAL;
    }
    if (era != WRK_ERA_UNKNOWN) {
        p->recheck = 0;
    }
    if (!check && (!p->reported || o != p->outcome || era != before || code != p->rpc_code)) {
        era_report(w, o, x->status, code, era, probe_words(o));
        p->reported = 1;
    } else if (!check) {
        gw_gauge_set(w->m, GW_MG_BACKEND_ERA, (int64_t)era);
    }
    p->outcome = o;
    p->rpc_code = code;
    p->dual_check = check;
    gw_gauge_set(w->m, GW_MG_BACKEND_PROBE, (int64_t)o);
    if (era == WRK_ERA_UNKNOWN) {
        char why[700];
        w->era = WRK_ERA_UNKNOWN;
        p->state = WRK_PROBE_DUE;
        /* a backend that is down is retried every WRK_RETRY_MS, as its catalog always was
         * (a test holds it to that); the probe is one small POST */
        p->next_ms = gw_clock_ms() + p->backoff_ms;
        /* a transfer that failed says why in its own words (TLS, refused, timeout: the reason
         * mcpgwctl shows today); an answer that means down says what came */
        if (reached) {
            snprintf(why, sizeof(why), "backend %s answered HTTP %ld to server/discover: %s",
                     w->name, x->status, probe_words(o));
        } else {
            snprintf(why, sizeof(why), "%s", msg);
        }
        release_held(w, GW_RPC_BACKEND_UNAVAILABLE, why);
        wrk_catalog_fail(w, why); /* shown down with the reason; its retry waits for a verdict */
        return;
    }
    p->backoff_ms = PROBE_BACKOFF_MIN_MS;
    if (p->discover != NULL) {
        yajl_tree_free(p->discover);
    }
    p->discover = discover;
    w->era = era;
    p->state = WRK_PROBE_DONE;
    if ((before != WRK_ERA_UNKNOWN && before != era) || (check && p->verdict != WRK_ERA_UNKNOWN)) {
        era_changed(w); /* a check starts the catalog over: its initialize is the check */
    }
    if (!check) {
        p->verdict = era;
    }
    for (unsigned s = 0; s < WRK_CAP_SETS && (before != era || check); s++) {
        /* the catalog waited for the first verdict (or a new era): now. Same era again (a probe
         * after a failure): the catalog keeps its own retry time. */
        if ((w->cat_wanted & (1u << s)) && w->cat[s].state == CAT_IDLE) {
            w->cat[s].next_ms = 0;
        }
    }
    release_held(w, 0, NULL);
}
