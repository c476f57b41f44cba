/* health.c: health checks: a ping on the catalog's live upstream session (never a second
 * initialize), server/discover on a 2026-07-28 backend; a failure reports the backend down and
 * starts the probe and the catalog again. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_tree.h>

#include "common/clock.h"
#include "worker/worker.h"

/* Health checks: a ping on the catalog's own live upstream session (never a second
 * initialize on it). A failure reports the backend down (its tools leave the catalog) and starts
 * the catalog again, which reports it up once the backend answers. */
static void health_on_done(xfer_t *x, CURLcode rc)
{
    wrk_t *w = x->w;
    catalog_t *cat = &w->cat[WRK_CAP_SET_DEFAULT];
    char msg[512];
    char why[600];
    yajl_val tree = NULL;
    yajl_val result = NULL;

    cat->health_in_flight = 0;
    if (wrk_rpc_outcome(x, rc, cat->up != NULL && cat->up->modern ? "server/discover" : "ping",
                        &tree, &result, msg, sizeof(msg)) != 0) {
        snprintf(why, sizeof(why), "health check failed: %s", msg);
        wrk_catalog_fail(w, why);
        return;
    }
    yajl_tree_free(tree);
    cat->next_health_ms = gw_clock_ms() + (int64_t)w->srv->health_interval_ms;
}

static const xfer_ops_t health_ops = {
    .on_event = wrk_rpc_collect_event,
    .on_done = health_on_done,
};

void wrk_health_init(wrk_t *w)
{
    wrk_xfer_init(&w->cat[WRK_CAP_SET_DEFAULT].hx, w, &health_ops);
}

gw_err_t wrk_health_start(wrk_t *w)
{
    catalog_t *cat = &w->cat[WRK_CAP_SET_DEFAULT];
    xfer_t *x = &cat->hx;
    gw_err_t err;

    /* the catalog session's era: a dual backend's is a 2025 session, pinged on its own */
    int modern = cat->up == NULL || cat->up->modern;

    x->expect_id = ++w->next_rpc_id;
    gw_buf_reset(&x->req);
    /* 2026-07-28 has no ping: server/discover is the health check (design 7.2) */
    err = modern ? wrk_era_discover_body(&x->req, x->expect_id)
                 : gw_buf_appendf(&x->req,
                                  "{\"jsonrpc\":\"2.0\",\"id\":%" PRIu64 ",\"method\":\"ping\"}",
                                  x->expect_id);
    if (err == GW_OK && modern) {
        err = wrk_modern_headers(x, "server/discover", NULL, 0, NULL, 0, NULL);
    }
    if (err != GW_OK) {
        return err;
    }
    uint64_t timeout = w->srv->timeout_ms < 10000 ? w->srv->timeout_ms : 10000;
    xfer_req_t rq = {
        .method = "POST",
        .body = x->req.data,
        .len = x->req.len,
        .sid = modern ? NULL : cat->up->sid,
        .proto = modern ? GW_PROTO_MODERN_NAME : cat->up->proto,
        .timeout_ms = timeout,
    };
    if ((err = wrk_xfer_start(x, &rq)) != GW_OK) {
        return err;
    }
    cat->health_in_flight = 1;
    return GW_OK;
}
