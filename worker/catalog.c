/* catalog.c: the backend's catalogs, one per client capability set the gateway has seen (the
 * default set, none, always): each its own upstream session initialized with exactly those
 * capabilities, the tools, prompts, resources and templates lists fetched page by page, the
 * report to the broker (resent until acknowledged), fetched again on list_changed or after a
 * failure. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "common/clock.h"
#include "common/json.h"
#include "common/lists.h"
#include "common/log.h"
#include "common/names.h"
#include "worker/worker.h"

static void catalog_on_list_done(xfer_t *x, CURLcode rc);

static const xfer_ops_t catalog_list_ops = {
    .on_event = wrk_rpc_collect_event,
    .on_done = catalog_on_list_done,
};

void wrk_catalog_init(wrk_t *w)
{
    for (unsigned s = 0; s < WRK_CAP_SETS; s++) {
        catalog_t *cat = &w->cat[s];
        cat->w = w;
        cat->caps = (uint8_t)s;
        gw_buf_init(&cat->report);
        wrk_xfer_init(&cat->x, w, &catalog_list_ops);
        if (s != WRK_CAP_SET_DEFAULT) {
            wrk_xfer_init(&cat->hx, w, &catalog_list_ops); /* never started: no health check */
        }
    }
    w->cat_wanted = 1u << WRK_CAP_SET_DEFAULT;
    wrk_health_init(w);
}

void wrk_catalog_fini(wrk_t *w)
{
    wrk_catalog_clear(w);
    for (unsigned s = 0; s < WRK_CAP_SETS; s++) {
        catalog_t *cat = &w->cat[s];
        wrk_xfer_fini(&cat->x);
        wrk_xfer_fini(&cat->hx);
        free(cat->pages);
        free(cat->page_list);
        free(cat->shadowed);
        gw_buf_fini(&cat->report);
    }
}

static void catalog_clear(catalog_t *cat);

void wrk_catalog_clear(wrk_t *w)
{
    for (unsigned s = 0; s < WRK_CAP_SETS; s++) {
        catalog_clear(&w->cat[s]);
    }
}

static void catalog_clear(catalog_t *cat)
{
    wrk_xfer_cancel(&cat->x);
    wrk_xfer_cancel(&cat->hx);
    cat->health_in_flight = 0;
    for (size_t i = 0; i < cat->npages; i++) {
        yajl_tree_free(cat->pages[i]);
    }
    cat->npages = 0;
    cat->ntools = 0;
    cat->page_bytes = 0;
    cat->list = 0;
    memset(cat->nitems, 0, sizeof(cat->nitems));
    free(cat->cursor);
    cat->cursor = NULL;
    if (cat->up != NULL) {
        upstream_t *up = cat->up;
        cat->up = NULL;
        if (up->state == UP_INITIALIZING) {
            /* the initialization's reference goes with its transfer */
            wrk_xfer_cancel(&up->x);
            list_remove(&up->ilink);
            wrk_upstream_unref(up);
        }
        wrk_upstream_unref(up);
    }
}

static void catalog_send(wrk_t *w, const gw_buf_t *body, uint64_t corr)
{
    gw_envelope_t e;
    gw_err_t err;

    memset(&e, 0, sizeof(e));
    e.kind = GW_ENV_CONTROL;
    e.corr = corr;
    e.method = GW_STR("catalog");
    e.body = (gw_str_t){body->data, body->len};
    if ((err = wrk_reply_send_env(w, wrk_reply_outbox(w, GW_STR(GW_BROKER_NAME)), &e)) != GW_OK) {
        gw_log_debug("msg=\"catalog report not sent\" backend=%s error=\"%s\"", w->name,
                     gw_strerror(err));
    }
}

/* What every report to the broker starts with: the server, the capability set, and whether the
 * catalog came (reason NULL) or why not; the map stays open. */
static int report_head(yajl_gen g, const wrk_t *w, const catalog_t *cat, const char *reason)
{
    int bad = yajl_gen_map_open(g);
    bad |= gw_json_gen_cstr(g, "server");
    bad |= gw_json_gen_cstr(g, w->name);
    bad |= gw_json_gen_cstr(g, "caps");
    bad |= yajl_gen_integer(g, cat->caps);
    bad |= gw_json_gen_cstr(g, "ok");
    bad |= yajl_gen_bool(g, reason == NULL);
    bad |= gw_json_gen_cstr(g, "error");
    bad |= reason != NULL ? gw_json_gen_cstr(g, reason) : yajl_gen_null(g);
    return bad;
}

/* A failure of cat: its session closed, a retry after WRK_RETRY_MS, and a report that says so
 * (for the default set: the backend is down; for another: the broker forgets that set's lists
 * and serves the set with fewer capabilities it has). */
static void catalog_fail(catalog_t *cat, const char *reason)
{
    wrk_t *w = cat->w;
    gw_buf_t b;
    yajl_gen g;
    char q[512];
    int bad = 0;

    gw_log_warn("msg=\"catalog fetch failed\" backend=%s caps=%u retry_ms=%d error=\"%s\"", w->name,
                (unsigned)cat->caps, WRK_RETRY_MS,
                gw_log_quote(q, sizeof(q), reason, strlen(reason)));
    if (cat->up != NULL && cat->up->state == UP_READY) {
        wrk_closer_delete(cat->up);
    }
    catalog_clear(cat);
    cat->state = CAT_IDLE;
    cat->next_ms = gw_clock_ms() + WRK_RETRY_MS;

    gw_buf_init(&b);
    if ((g = gw_json_gen_to_buf(&b)) == NULL) {
        gw_buf_fini(&b);
        return;
    }
    bad |= report_head(g, w, cat, reason);
    bad |= yajl_gen_map_close(g);
    if (gw_json_gen_done(g, &b, bad ? yajl_gen_in_error_state : yajl_gen_status_ok) == GW_OK) {
        catalog_send(w, &b, ++w->next_corr);
    }
    gw_buf_fini(&b);
}

void wrk_catalog_fail(wrk_t *w, const char *reason)
{
    /* the backend may have changed era too: its retry waits for a new probe's verdict */
    wrk_era_reprobe(w, WRK_RETRY_MS, "failure");
    catalog_fail(&w->cat[WRK_CAP_SET_DEFAULT], reason);
    /* the backend is down: the other sets start over with it (their retry finds it up again) */
    for (unsigned s = 0; s < WRK_CAP_SETS; s++) {
        catalog_t *cat = &w->cat[s];
        if (s != WRK_CAP_SET_DEFAULT && cat->state != CAT_IDLE) {
            catalog_clear(cat);
            cat->state = CAT_IDLE;
            cat->next_ms = gw_clock_ms() + WRK_RETRY_MS;
        }
    }
}

void wrk_catalog_want(wrk_t *w, uint8_t caps)
{
    unsigned s = caps & WRK_CAP_SET_MASK;
    if (w->cat_wanted & (1u << s)) {
        return; /* fetched, or being fetched */
    }
    w->cat_wanted |= 1u << s;
    w->cat[s].state = CAT_IDLE;
    w->cat[s].next_ms = 0; /* wrk_catalog_tick starts it this turn */
    gw_log_info("msg=\"catalog wanted for a capability set\" backend=%s caps=%u", w->name, s);
}

/* A tool whose x-mcp-header declarations are invalid is left out of the catalog, for every
 * client: a 2026-07-28 client could not call it (the headers it must send are undefined) and a
 * 2025 client reaching a 2026-07-28 backend could not either (the worker could not build
 * them). Decision: simpler and safe, rather than a catalog per era. Valid declarations are kept
 * for the calls' Mcp-Param-* headers (modern.c). Returns 0 to leave tool out. */
static int catalog_keep_tool(catalog_t *cat, yajl_val tool)
{
    wrk_t *w = cat->w;
    const char *name = gw_json_get_string(tool, "name");
    gw_xmcp_decls_t *d = malloc(sizeof(*d)); /* large: not on the loop's stack */
    gw_xmcp_result_t r;
    char q[256];

    if (d == NULL || name == NULL) {
        free(d);
        return 1; /* out of memory: the tool goes as it is; a nameless one is the broker's */
    }
    r = gw_xmcp_scan(gw_json_get(tool, "inputSchema"), d);
    if (r != GW_XMCP_OK) {
        cat->xmcp_left_out++;
        gw_log_warn("msg=\"tool left out: invalid x-mcp-header\" backend=%s caps=%u tool=\"%s\" "
                    "reason=\"%s\" left_out=%zu",
                    w->name, (unsigned)cat->caps, gw_log_quote(q, sizeof(q), name, strlen(name)),
                    gw_xmcp_reason(r), cat->xmcp_left_out);
        free(d);
        return 0;
    }
    if (wrk_xtools_put(w, name, d) != GW_OK) {
        gw_log_warn("msg=\"x-mcp-header declarations not kept: out of memory\" backend=%s",
                    w->name);
    }
    free(d);
    return 1;
}

/* The report into out; *caps_bytes says how much of it the capabilities object took. */
static gw_err_t catalog_build_report(catalog_t *cat, gw_buf_t *out, size_t *caps_bytes)
{
    wrk_t *w = cat->w;
    yajl_val init = cat->up->init_result;
    yajl_val result = gw_json_get(init, "result");
    yajl_val caps = gw_json_get(result, "capabilities");
    yajl_val info = gw_json_get(result, "serverInfo");
    yajl_gen g;
    int bad = 0;

    gw_buf_reset(out);
    cat->xmcp_left_out = 0;
    if (wrk_tool_names_prepare(cat) != GW_OK || (g = gw_json_gen_to_buf(out)) == NULL) {
        return GW_ENOMEM;
    }
    bad |= report_head(g, w, cat, NULL);
    bad |= gw_json_gen_cstr(g, "protocolVersion");
    bad |= gw_json_gen_cstr(g, cat->up->proto);
    bad |= gw_json_gen_cstr(g, "capabilities");
    *caps_bytes = out->len;
    if (caps != NULL && YAJL_IS_OBJECT(caps)) {
        bad |= gw_json_gen(g, caps);
    } else {
        bad |= yajl_gen_map_open(g);
        bad |= yajl_gen_map_close(g);
    }
    *caps_bytes = out->len - *caps_bytes;
    bad |= gw_json_gen_cstr(g, "serverInfo");
    bad |= info != NULL ? gw_json_gen(g, info) : yajl_gen_null(g);
    for (size_t l = 0; l < GW_NLISTS; l++) {
        bad |= gw_json_gen_cstr(g, gw_list_kinds[l].key);
        bad |= yajl_gen_array_open(g);
        for (size_t i = 0; i < cat->npages; i++) {
            yajl_val items =
                gw_json_get(gw_json_get(cat->pages[i], "result"), gw_list_kinds[l].key);
            if (cat->page_list[i] != l || items == NULL || !YAJL_IS_ARRAY(items)) {
                continue; /* checked when the page came in */
            }
            for (size_t j = 0; j < items->u.array.len; j++) {
                yajl_val item = items->u.array.values[j];
                if (l == GW_LIST_TOOLS && !catalog_keep_tool(cat, item)) {
                    continue;
                }
                /* tools as servers[].tools exposes them (worker/tool_names.c) */
                bad |= l == GW_LIST_TOOLS ? wrk_tool_names_gen(cat, g, item)
                                          : gw_json_gen(g, item) != yajl_gen_status_ok;
            }
        }
        bad |= yajl_gen_array_close(g);
    }
    bad |= yajl_gen_map_close(g);
    gw_err_t err = gw_json_gen_done(g, out, bad ? yajl_gen_in_error_state : yajl_gen_status_ok);
    return err == GW_EINVAL ? GW_ENOMEM : err; /* the generator fails only for lack of memory */
}

/* A catalog past limits.max_response_body (the pages' answers together, or the report they
 * make with the capabilities) never reaches the broker: the broker would parse it on every
 * change, and nng drops a message past its receive limit silently. The backend is reported down
 * with the reason instead. */
static void catalog_refuse_too_large(catalog_t *cat, size_t bytes, size_t caps_bytes)
{
    wrk_t *w = cat->w;
    char msg[256];
    unsigned long long limit = (unsigned long long)w->cfg->max_response_body;

    gw_metric_add(w->m, GW_MC_CATALOG_TOO_LARGE, 1);
    /* capabilities_bytes=0: the pages alone went past the limit, before the report was made */
    gw_log_warn("msg=\"catalog refused: larger than limits.max_response_body\" backend=%s "
                "bytes=%zu capabilities_bytes=%zu limit=%llu",
                w->name, bytes, caps_bytes, limit);
    snprintf(msg, sizeof(msg),
             "backend %s sent a catalog of %zu bytes or more, past limits.max_response_body "
             "(%llu bytes)",
             w->name, bytes, limit);
    gw_buf_fini(&cat->report);
    catalog_fail(cat, msg);
}

static void catalog_report(catalog_t *cat)
{
    wrk_t *w = cat->w;
    size_t caps_bytes = 0;

    if (catalog_build_report(cat, &cat->report, &caps_bytes) != GW_OK) {
        catalog_fail(cat, "cannot generate the catalog report");
        return;
    }
    if (cat->report.len > w->cfg->max_response_body) {
        catalog_refuse_too_large(cat, cat->report.len, caps_bytes);
        return;
    }
    gw_log_info("msg=\"catalog fetched\" backend=%s caps=%u tools=%zu prompts=%zu resources=%zu "
                "templates=%zu pages=%zu protocol=%s tools_left_out=%zu",
                w->name, (unsigned)cat->caps, cat->nitems[GW_LIST_TOOLS],
                cat->nitems[GW_LIST_PROMPTS], cat->nitems[GW_LIST_RESOURCES],
                cat->nitems[GW_LIST_TEMPLATES], cat->npages, cat->up->proto, cat->xmcp_left_out);
    /* The trees are in the report now; the session stays for later use. */
    for (size_t i = 0; i < cat->npages; i++) {
        yajl_tree_free(cat->pages[i]);
    }
    cat->npages = 0;
    cat->state = CAT_REPORTING;
    cat->report_corr = ++w->next_corr;
    cat->next_ms = gw_clock_ms() + WRK_RETRY_MS;
    catalog_send(w, &cat->report, cat->report_corr);
}

static void catalog_list(catalog_t *cat)
{
    wrk_t *w = cat->w;
    xfer_t *x = &cat->x;
    gw_err_t err;
    xfer_req_t rq;

    /* A dual backend's catalog session is a 2025 one (its GET stream brings list_changed, its
     * health is a ping), but its lists are asked the 2026-07-28 way, stateless with the set's
     * capabilities in _meta: the gateway keeps one catalog for callers of both eras, and what
     * the backend lists for 2026-07-28 (for the SDK's dual server the same tools; for one that
     * lists differently per era, its 2026-07-28-only tools) stays callable by 2026-07-28
     * callers, as it was before dual backends were told apart. A tool it lists only for 2025
     * sessions is not in the catalog. */
    int modern = cat->up != NULL && (cat->up->modern || w->era == WRK_ERA_DUAL);

    x->expect_id = ++w->next_rpc_id;
    gw_buf_reset(&x->req);
    err = gw_buf_appendf(&x->req, "{\"jsonrpc\":\"2.0\",\"id\":%" PRIu64 ",\"method\":\"%s\"",
                         x->expect_id, gw_list_kinds[cat->list].method);
    if (err == GW_OK && (cat->cursor != NULL || modern)) {
        err = gw_buf_appends(&x->req, ",\"params\":{");
        if (err == GW_OK && modern) {
            /* a 2026-07-28 backend lists for the set's capabilities, told in _meta */
            err = gw_buf_appends(&x->req, "\"_meta\":{");
            err = err == GW_OK ? wrk_modern_meta(&x->req, cat->caps, NULL) : err;
            err = err == GW_OK ? gw_buf_appends(&x->req, cat->cursor != NULL ? "}," : "}") : err;
        }
        if (err == GW_OK && cat->cursor != NULL) {
            err = gw_buf_appends(&x->req, "\"cursor\":");
        }
        if (err == GW_OK && cat->cursor != NULL) {
            err = gw_buf_append_json_string(&x->req, cat->cursor, strlen(cat->cursor));
        }
        if (err == GW_OK) {
            err = gw_buf_appends(&x->req, "}");
        }
    }
    if (err == GW_OK) {
        err = gw_buf_appends(&x->req, "}");
    }
    if (err == GW_OK && modern) {
        err = wrk_modern_headers(x, gw_list_kinds[cat->list].method, NULL, 0, NULL, 0, NULL);
    }
    rq = (xfer_req_t){
        .method = "POST",
        .body = x->req.data,
        .len = x->req.len,
        .sid = modern ? NULL : cat->up->sid,
        .proto = modern ? GW_PROTO_MODERN_NAME : cat->up->proto,
        .timeout_ms = w->srv->timeout_ms,
    };
    if (err == GW_OK) {
        err = wrk_xfer_start(x, &rq);
    }
    if (err != GW_OK) {
        char msg[128];
        snprintf(msg, sizeof(msg), "cannot start %s: %s", gw_list_kinds[cat->list].method,
                 gw_strerror(err));
        catalog_fail(cat, msg);
    }
}

/* Does the backend advertise the capability list l needs? */
static int catalog_wants(const catalog_t *cat, size_t l)
{
    yajl_val caps = gw_json_get(gw_json_get(cat->up->init_result, "result"), "capabilities");
    return gw_json_get(caps, gw_list_kinds[l].capability) != NULL;
}

/* Fetches the next list the backend offers (the lists of common/lists.h, in the order of
 * gw_list_kinds), or reports when none is left. */
static void catalog_next_list(catalog_t *cat)
{
    free(cat->cursor);
    cat->cursor = NULL;
    while (++cat->list < GW_NLISTS) {
        if (catalog_wants(cat, cat->list)) {
            catalog_list(cat);
            return;
        }
    }
    catalog_report(cat);
}

static void catalog_on_list_done(xfer_t *x, CURLcode rc)
{
    wrk_t *w = x->w;
    catalog_t *cat = GW_CONTAINER_OF(x, catalog_t, x);
    const gw_list_kind_t *l = &gw_list_kinds[cat->list];
    char msg[512];
    yajl_val tree;
    yajl_val result;
    yajl_val items;
    const char *next;

    if (wrk_rpc_outcome(x, rc, l->method, &tree, &result, msg, sizeof(msg)) != 0) {
        catalog_fail(cat, msg);
        return;
    }
    cat->page_bytes += x->body.len;
    if (cat->page_bytes > w->cfg->max_response_body) {
        yajl_tree_free(tree);
        catalog_refuse_too_large(cat, cat->page_bytes, 0);
        return;
    }
    items = gw_json_get(result, l->key);
    if (items == NULL || !YAJL_IS_ARRAY(items)) {
        yajl_tree_free(tree);
        snprintf(msg, sizeof(msg), "backend %s answered %s without a %s array", w->name, l->method,
                 l->key);
        catalog_fail(cat, msg);
        return;
    }
    if (cat->npages == cat->cappages) {
        size_t n = cat->cappages ? cat->cappages * 2 : 4;
        yajl_val *p = realloc(cat->pages, n * sizeof(*p));
        unsigned char *pl = p != NULL ? realloc(cat->page_list, n) : NULL;
        if (p != NULL) {
            cat->pages = p;
        }
        if (pl == NULL) {
            yajl_tree_free(tree);
            catalog_fail(cat, "out of memory");
            return;
        }
        cat->page_list = pl;
        cat->cappages = n;
    }
    cat->page_list[cat->npages] = (unsigned char)cat->list;
    cat->pages[cat->npages++] = tree;
    cat->nitems[cat->list] += items->u.array.len;
    if (cat->list == GW_LIST_TOOLS) {
        cat->ntools += items->u.array.len;
    }
    next = gw_json_get_string(result, "nextCursor");
    if (next == NULL || next[0] == '\0') {
        catalog_next_list(cat);
        return;
    }
    if (cat->npages >= WRK_CATALOG_PAGES_MAX || (cat->cursor && strcmp(cat->cursor, next) == 0)) {
        snprintf(msg, sizeof(msg), "backend %s paginates %s without end", w->name, l->method);
        catalog_fail(cat, msg);
        return;
    }
    free(cat->cursor);
    if ((cat->cursor = strdup(next)) == NULL) {
        catalog_fail(cat, "out of memory");
        return;
    }
    catalog_list(cat);
}

/* The lists of cat, on its session now ready. */
static void catalog_fetch_lists(catalog_t *cat)
{
    cat->list = GW_LIST_TOOLS;
    if (catalog_wants(cat, GW_LIST_TOOLS)) {
        catalog_list(cat);
    } else {
        catalog_next_list(cat);
    }
}

/* Called when a catalog's upstream session up is ready (code 0) or failed. */
void wrk_catalog_on_session(upstream_t *up, int code, const char *msg)
{
    catalog_t *cat = &up->w->cat[up->caps & WRK_CAP_SET_MASK];

    if (cat->state != CAT_FETCHING || cat->up != up) {
        return;
    }
    if (code != 0) {
        catalog_fail(cat, msg);
        return;
    }
    catalog_fetch_lists(cat);
}

static void catalog_start(catalog_t *cat)
{
    wrk_t *w = cat->w;

    catalog_clear(cat);
    cat->state = CAT_FETCHING;
    /* The session declares exactly the capabilities of the set: a backend lists for it what it
     * lists for a client with those capabilities (docs/routing.md). */
    if ((cat->up = wrk_upstream_create(w, "", 0, GW_PROTO_LATEST, cat->caps)) == NULL) {
        catalog_fail(cat, "out of memory");
        return;
    }
    cat->up->is_catalog = 1;
    wrk_upstream_start(cat->up, NULL);
}

/* A list_changed from the backend: fetch the lists again on the live catalog session (no new
 * initialize), or once more after the fetch under way. */
static void catalog_changed(catalog_t *cat)
{
    wrk_t *w = cat->w;
    gw_log_info("msg=\"backend lists changed\" backend=%s caps=%u", w->name, (unsigned)cat->caps);
    if (cat->state != CAT_DONE) {
        cat->again = cat->state != CAT_IDLE; /* an idle catalog starts over anyway */
        return;
    }
    upstream_t *up = cat->up;
    if (up == NULL || up->state != UP_READY) {
        cat->refetch_ms = gw_clock_ms() + WRK_CATALOG_REFETCH_MS;
        catalog_start(cat);
        return;
    }
    cat->refetch_ms = gw_clock_ms() + WRK_CATALOG_REFETCH_MS;
    cat->up = NULL; /* keep the session (and its reference) through the clear */
    catalog_clear(cat);
    cat->up = up;
    cat->state = CAT_FETCHING;
    catalog_fetch_lists(cat);
}

void wrk_catalog_on_broker_reply(wrk_t *w, const gw_envelope_t *e)
{
    catalog_t *cat = NULL;

    for (unsigned s = 0; s < WRK_CAP_SETS && e->kind == GW_ENV_END; s++) {
        if (w->cat[s].state == CAT_REPORTING && e->corr == w->cat[s].report_corr) {
            cat = &w->cat[s];
        }
    }
    if (cat == NULL) {
        return; /* answers to failure reports, or stale ones */
    }
    if (e->status != 200) {
        gw_log_warn("msg=\"broker refused the catalog\" backend=%s caps=%u status=%u", w->name,
                    (unsigned)cat->caps, (unsigned)e->status);
        return; /* resent on the timer */
    }
    cat->state = CAT_DONE;
    cat->next_health_ms = gw_clock_ms() + (int64_t)w->srv->health_interval_ms;
    gw_buf_fini(&cat->report);
    gw_log_info("msg=\"catalog reported\" backend=%s caps=%u tools=%zu", w->name,
                (unsigned)cat->caps, cat->ntools);
    if (cat->again) {
        cat->again = 0;
        cat->changed = 1; /* wrk_catalog_tick refetches, once WRK_CATALOG_REFETCH_MS allows */
    }
}

/* A list_changed seen in an event stream, that is inside a curl write callback, where libcurl
 * refuses curl_multi_add_handle and curl_multi_remove_handle (CURLM_RECURSIVE_API_CALL): the
 * refetch starts from the loop (wrk_catalog_tick), right after this turn's curl_multi_perform, or
 * WRK_CATALOG_REFETCH_MS after the last refetch began when that is later (every list_changed in
 * between makes one refetch). Every capability set's catalog is fetched again: a backend's
 * notification does not say for which clients its list changed. */
void wrk_catalog_note_changed(wrk_t *w)
{
    for (unsigned s = 0; s < WRK_CAP_SETS; s++) {
        if (w->cat_wanted & (1u << s)) {
            w->cat[s].changed = 1;
        }
    }
}

/* When cat next needs the loop, for what is not a list_changed. Health checks run on the
 * default set's session only: one ping says whether the backend is up. */
static int64_t catalog_tick_state(catalog_t *cat, int64_t now)
{
    wrk_t *w = cat->w;

    if (cat->state == CAT_DONE && cat->caps == WRK_CAP_SET_DEFAULT &&
        w->srv->health_interval_ms > 0 && cat->up != NULL) {
        if (!cat->health_in_flight && now >= cat->next_health_ms) {
            wrk_health_start(w);
        }
        return cat->health_in_flight ? INT64_MAX : cat->next_health_ms;
    }
    if (cat->state == CAT_IDLE && now >= cat->next_ms && wrk_era_decided(w)) {
        /* the catalog waits for the probe's verdict: which era its requests speak */
        catalog_start(cat);
    } else if (cat->state == CAT_REPORTING && now >= cat->next_ms) {
        cat->next_ms = now + WRK_RETRY_MS;
        catalog_send(w, &cat->report, cat->report_corr);
    }
    if (cat->state == CAT_REPORTING || (cat->state == CAT_IDLE && wrk_era_decided(w))) {
        return cat->next_ms;
    }
    return INT64_MAX;
}

int64_t wrk_catalog_tick(wrk_t *w, int64_t now)
{
    int64_t next = INT64_MAX;

    if (w->stopping) {
        return INT64_MAX;
    }
    next = wrk_era_tick(w, now);
    int64_t pool = wrk_pool_tick(w, now);
    next = pool < next ? pool : next;
    for (unsigned s = 0; s < WRK_CAP_SETS; s++) {
        catalog_t *cat = &w->cat[s];
        if (!(w->cat_wanted & (1u << s))) {
            continue;
        }
        if (cat->changed && now >= cat->refetch_ms) {
            cat->changed = 0;
            catalog_changed(cat);
        }
        int64_t at = catalog_tick_state(cat, now);
        if (cat->changed && cat->refetch_ms < at) {
            at = cat->refetch_ms;
        }
        next = at < next ? at : next;
    }
    return next;
}
