/* tool_names.c: servers[].tools applied by the worker (common/tool_names.h), so that the broker,
 * the routers and the routing table only ever see exposed names: each catalog report's tools
 * filtered and renamed (a rename onto a name the backend's own exposed tool has is dropped, with a
 * warning and a count), and each tools/call's params.name mapped back to the backend's own. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "common/json.h"
#include "common/jsonrpc.h"
#include "common/lists.h"
#include "common/log.h"
#include "common/metrics.h"
#include "worker/worker.h"

gw_err_t wrk_tool_names_prepare(catalog_t *cat)
{
    const gw_tool_names_t *t = &cat->w->srv->tools;
    if (t->nrenames == 0) {
        return GW_OK;
    }
    if (cat->shadowed == NULL && (cat->shadowed = calloc(t->nrenames, 1)) == NULL) {
        return GW_ENOMEM;
    }
    memset(cat->shadowed, 0, t->nrenames);
    for (size_t i = 0; i < cat->npages; i++) {
        yajl_val items = gw_json_get(gw_json_get(cat->pages[i], "result"), "tools");
        if (cat->page_list[i] != GW_LIST_TOOLS || items == NULL || !YAJL_IS_ARRAY(items)) {
            continue;
        }
        for (size_t j = 0; j < items->u.array.len; j++) {
            const char *name = gw_json_get_string(items->u.array.values[j], "name");
            if (name != NULL) {
                gw_tool_names_note_own(t, name, cat->shadowed);
            }
        }
    }
    return GW_OK;
}

/* tool, an object, with its name replaced by name. */
static yajl_gen_status gen_renamed(yajl_gen g, yajl_val tool, const char *name)
{
    yajl_gen_status st = yajl_gen_map_open(g);
    for (size_t i = 0; i < YAJL_GET_OBJECT(tool)->len && st == yajl_gen_status_ok; i++) {
        const char *k = YAJL_GET_OBJECT(tool)->keys[i];
        st = gw_json_gen_cstr(g, k);
        if (st == yajl_gen_status_ok) {
            st = strcmp(k, "name") == 0 ? gw_json_gen_cstr(g, name)
                                        : gw_json_gen(g, YAJL_GET_OBJECT(tool)->values[i]);
        }
    }
    return st == yajl_gen_status_ok ? yajl_gen_map_close(g) : st;
}

int wrk_tool_names_gen(catalog_t *cat, yajl_gen g, yajl_val tool)
{
    wrk_t *w = cat->w;
    const gw_tool_names_t *t = &w->srv->tools;
    const char *name = gw_json_get_string(tool, "name");
    const char *out = NULL;
    char q1[256];
    char q2[256];

    if (!gw_tool_names_active(t) || name == NULL || !YAJL_IS_OBJECT(tool)) {
        return gw_json_gen(g, tool) != yajl_gen_status_ok; /* the broker skips what is malformed */
    }
    switch (gw_tool_names_expose(t, name, cat->shadowed, &out)) {
    case GW_TOOL_HIDDEN:
        return 0;
    case GW_TOOL_SHADOWED:
        gw_metric_add(w->m, GW_MC_TOOL_RENAME_COLLISION, 1);
        gw_log_warn("msg=\"renamed tool dropped: the backend has a tool of that name\" backend=%s "
                    "caps=%u tool=\"%s\" renamed=\"%s\"",
                    w->name, (unsigned)cat->caps, gw_log_quote(q1, sizeof(q1), name, strlen(name)),
                    gw_log_quote(q2, sizeof(q2), out, strlen(out)));
        return 0;
    case GW_TOOL_EXPOSED:
        break;
    }
    if (out == name) {
        return gw_json_gen(g, tool) != yajl_gen_status_ok;
    }
    return gen_renamed(g, tool, out) != yajl_gen_status_ok;
}

/* The renames shadowed for c's capability set (its catalog's, else the default set's), or NULL
 * before any catalog was reported. */
static const unsigned char *call_shadowed(const call_t *c)
{
    const wrk_t *w = c->w;
    unsigned s = c->env.caps & WRK_CAP_SET_MASK;
    if (!(w->cat_wanted & (1u << s)) || w->cat[s].shadowed == NULL) {
        s = WRK_CAP_SET_DEFAULT;
    }
    return w->cat[s].shadowed;
}

int wrk_tool_names_call(call_t *c)
{
    wrk_t *w = c->w;
    const gw_tool_names_t *t = &w->srv->tools;
    gw_rpc_t rpc;

    if (!gw_tool_names_active(t) || !gw_str_eq(c->env.method, "tools/call") ||
        gw_rpc_scan(c->env.body.ptr, c->env.body.len, GW_RPC_DEFAULT_MAX_DEPTH, &rpc) != GW_OK ||
        rpc.name.len == 0 || rpc.name_too_long) {
        return 0; /* the router checked the message; what has no name is the backend's to refuse */
    }
    const char *own = gw_tool_names_backend(t, rpc.name_str, call_shadowed(c));
    if (own == NULL) {
        /* what the router answers for a name it does not route (router/route_message.c): a call
         * that reached this worker while its capability set's lists were not known yet */
        gw_metric_add(w->m, GW_MC_REJ_UNKNOWN_NAME, 1);
        wrk_reply_failf(c, GW_RPC_INVALID_PARAMS, "Unknown tool: %s%s", w->srv->prefix,
                        rpc.name_str);
        return 1;
    }
    if (strcmp(own, rpc.name_str) == 0) {
        return 0;
    }
    gw_buf_reset(&c->named_body);
    if (gw_rpc_splice_string(&c->named_body, c->env.body.ptr, c->env.body.len, rpc.name, own,
                             strlen(own)) != GW_OK) {
        wrk_reply_failf(c, GW_RPC_INTERNAL_ERROR, "backend %s: out of memory", w->name);
        return 1;
    }
    gw_log_debug("msg=\"tool renamed for the backend\" request_id=%s backend=%s tool=%s own=%s",
                 c->rid, w->name, rpc.name_str, own);
    c->env.body = (gw_str_t){c->named_body.data, c->named_body.len};
    return 0;
}
