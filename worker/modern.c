/* modern.c: requests to a 2026-07-28 backend (docs/design-2026-07-28.md 7.3): stateless POSTs
 * with _meta spliced into params (protocol version, client capabilities, clientInfo, log level)
 * and the MCP-Protocol-Version, Mcp-Method, Mcp-Name and Mcp-Param-* headers; the table of the
 * backend's tools' x-mcp-header declarations those headers come from. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <yajl/yajl_tree.h>

#include "common/json.h"
#include "common/jsonrpc.h"
#include "common/log.h"
#include "common/mcp.h"
#include "common/xmcpheader.h"
#include "worker/worker.h"

/* ---- headers ---- */

void wrk_modern_headers_free(xfer_t *x)
{
    struct curl_slist *l = x->mhdrs;

    /* the last node may point into the shared headers (wrk_xfer_start chains them): cut there */
    for (size_t i = 1; l != NULL && i < x->mhdrs_n; i++) {
        l = l->next;
    }
    if (l != NULL) {
        l->next = NULL;
    }
    curl_slist_free_all(x->mhdrs);
    x->mhdrs = NULL;
    x->mhdrs_n = 0;
}

static gw_err_t header_add(xfer_t *x, const char *name, const char *value, size_t n)
{
    gw_buf_t line;
    struct curl_slist *l;
    gw_err_t rc;

    gw_buf_init(&line);
    /* "Name;" is how libcurl sends a header with an empty value */
    rc = n == 0 ? gw_buf_appendf(&line, "%s;", name)
                : gw_buf_appendf(&line, "%s: %.*s", name, (int)n, value);
    if (rc != GW_OK || (l = curl_slist_append(NULL, line.data)) == NULL) {
        gw_buf_fini(&line);
        return GW_ENOMEM;
    }
    gw_buf_fini(&line);
    /* appended at the head: order does not matter, and the tail stays the last node */
    l->next = x->mhdrs;
    x->mhdrs = l;
    x->mhdrs_n++;
    return GW_OK;
}

gw_err_t wrk_modern_headers(xfer_t *x, const char *method, const char *name, size_t name_len,
                            const gw_xmcp_decl_t *decls, size_t ndecls, yajl_val arguments)
{
    gw_buf_t v;
    gw_err_t rc;

    wrk_modern_headers_free(x);
    /* a method reaches a worker only when the router routes it (a known name), but a header
     * line is built from it: nothing but visible ASCII ever goes in (no CR/LF injection) */
    for (const char *p = method; *p != '\0'; p++) {
        if (*p < 0x21 || *p > 0x7e) {
            return GW_EINVAL;
        }
    }
    gw_buf_init(&v);
    rc = header_add(x, "Mcp-Method", method, strlen(method));
    if (rc == GW_OK && name != NULL) {
        rc = gw_xmcp_encode(name, name_len, &v);
        rc = rc == GW_OK ? header_add(x, "Mcp-Name", v.data, v.len) : rc;
    }
    for (size_t i = 0; rc == GW_OK && i < ndecls; i++) {
        char hname[sizeof("Mcp-Param-") + GW_XMCP_NAME_MAX];
        gw_buf_reset(&v);
        int r = gw_xmcp_value(&decls[i], arguments, &v);
        if (r < 0) {
            rc = GW_ENOMEM;
        } else if (r > 0) {
            snprintf(hname, sizeof(hname), "Mcp-Param-%s", decls[i].name);
            rc = header_add(x, hname, v.data, v.len);
        }
    }
    gw_buf_fini(&v);
    if (rc != GW_OK) {
        wrk_modern_headers_free(x);
    }
    return rc;
}

/* The unescaped value of a JSON string token (quotes included) into out; GW_EPARSE. */
static gw_err_t token_string(const char *tok, size_t n, gw_buf_t *out)
{
    char err[64];
    gw_buf_t a;
    yajl_val v;
    gw_err_t rc;

    gw_buf_init(&a);
    rc = gw_buf_appends(&a, "[");
    rc = rc == GW_OK ? gw_buf_append(&a, tok, n) : rc;
    rc = rc == GW_OK ? gw_buf_appends(&a, "]") : rc;
    v = rc == GW_OK ? gw_json_parse(a.data, a.len, err, sizeof(err)) : NULL;
    gw_buf_fini(&a);
    if (v == NULL || !YAJL_IS_ARRAY(v) || v->u.array.len != 1 ||
        !YAJL_IS_STRING(v->u.array.values[0])) {
        yajl_tree_free(v);
        return rc == GW_OK ? GW_EPARSE : rc;
    }
    rc = gw_buf_appends(out, v->u.array.values[0]->u.string);
    yajl_tree_free(v);
    return rc;
}

gw_err_t wrk_modern_prepare_call(call_t *c, const char **body, size_t *len)
{
    wrk_t *w = c->w;
    const char *method = NULL;
    gw_buf_t name;
    gw_rpc_t rpc;
    gw_err_t rc = GW_OK;
    yajl_val tree = NULL;
    const wrk_xtool_t *xt = NULL;
    int has_name = 0;
    char m[GW_RPC_METHOD_MAX + 1];

    *body = c->env.body.ptr;
    *len = c->env.body.len;
    if (!(c->env.flags & GW_ENV_F_MODERN)) {
        /* an old-era session's request: _meta from its capabilities and log level */
        const char *level = c->up != NULL ? c->up->level : "";
        if ((rc = wrk_modern_splice(*body, *len, c->env.caps, level, &c->up_body)) != GW_OK) {
            wrk_reply_failf(c, GW_RPC_INTERNAL_ERROR, "backend %s: cannot add _meta: %s", w->name,
                            gw_strerror(rc));
            return rc;
        }
        *body = c->up_body.data;
        *len = c->up_body.len;
    } /* else a 2026-07-28 caller's own body, _meta and all */
    if (gw_rpc_scan(*body, *len, GW_RPC_DEFAULT_MAX_DEPTH, &rpc) != GW_OK || rpc.method.len == 0) {
        snprintf(m, sizeof(m), "%.*s", (int)c->env.method.len, c->env.method.ptr);
        method = m;
    } else {
        method = rpc.method_str;
    }
    gw_buf_init(&name);
    if ((strcmp(method, "tools/call") == 0 || strcmp(method, "prompts/get") == 0) &&
        rpc.name.len > 0) {
        rc = token_string(*body + rpc.name.off, rpc.name.len, &name);
        has_name = 1;
    } else if (strcmp(method, "resources/read") == 0 && rpc.uri.len > 0) {
        rc = token_string(*body + rpc.uri.off, rpc.uri.len, &name);
        has_name = 1;
    }
    if (rc == GW_OK && has_name && strcmp(method, "tools/call") == 0 &&
        (xt = wrk_xtools_find(w, name.data, name.len)) != NULL) {
        char err[64];
        tree = gw_json_parse(*body, *len, err, sizeof(err));
    }
    if (rc == GW_OK) {
        rc = wrk_modern_headers(&c->x, method, has_name ? (name.data ? name.data : "") : NULL,
                                name.len, xt ? xt->v : NULL, xt ? xt->n : 0,
                                gw_json_get(gw_json_get(tree, "params"), "arguments"));
    }
    yajl_tree_free(tree);
    gw_buf_fini(&name);
    if (rc != GW_OK) {
        wrk_reply_failf(c, GW_RPC_INTERNAL_ERROR, "backend %s: cannot build the request: %s",
                        w->name, gw_strerror(rc));
    }
    return rc;
}

/* ---- the x-mcp-header table ---- */

static int xtool_cmp(const char *a, size_t an, const char *b)
{
    size_t bn = strlen(b);
    int r = memcmp(a, b, an < bn ? an : bn);
    return r != 0 ? r : (an > bn) - (an < bn);
}

/* The index of name in the sorted table, or where it goes (*found 0). */
static size_t xtools_index(const wrk_t *w, const char *name, size_t n, int *found)
{
    size_t lo = 0, hi = w->nxtools;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int r = xtool_cmp(name, n, w->xtools[mid].name);
        if (r == 0) {
            *found = 1;
            return mid;
        }
        if (r < 0) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    *found = 0;
    return lo;
}

const wrk_xtool_t *wrk_xtools_find(const wrk_t *w, const char *name, size_t n)
{
    int found;
    size_t i = w->nxtools > 0 ? xtools_index(w, name, n, &found) : 0;
    return w->nxtools > 0 && found ? &w->xtools[i] : NULL;
}

/* Tools without declarations are kept out of the table (a call looks up only those with some);
 * a tool that lost its declarations is taken out. */
gw_err_t wrk_xtools_put(wrk_t *w, const char *name, const gw_xmcp_decls_t *d)
{
    size_t n = strlen(name);
    int found;
    size_t i = xtools_index(w, name, n, &found);

    if (d->n == 0) {
        if (found) {
            free(w->xtools[i].name);
            free(w->xtools[i].v);
            memmove(&w->xtools[i], &w->xtools[i + 1], (w->nxtools - i - 1) * sizeof(*w->xtools));
            w->nxtools--;
        }
        return GW_OK;
    }
    gw_xmcp_decl_t *v = malloc(d->n * sizeof(*v));
    if (v == NULL) {
        return GW_ENOMEM;
    }
    memcpy(v, d->v, d->n * sizeof(*v));
    if (found) {
        free(w->xtools[i].v);
        w->xtools[i].v = v;
        w->xtools[i].n = d->n;
        return GW_OK;
    }
    char *copy = strdup(name);
    wrk_xtool_t *t = copy != NULL ? realloc(w->xtools, (w->nxtools + 1) * sizeof(*t)) : NULL;
    if (t == NULL) {
        free(copy);
        free(v);
        return GW_ENOMEM;
    }
    w->xtools = t;
    memmove(&t[i + 1], &t[i], (w->nxtools - i) * sizeof(*t));
    t[i] = (wrk_xtool_t){.name = copy, .n = d->n, .v = v};
    w->nxtools++;
    return GW_OK;
}

void wrk_xtools_fini(wrk_t *w)
{
    for (size_t i = 0; i < w->nxtools; i++) {
        free(w->xtools[i].name);
        free(w->xtools[i].v);
    }
    free(w->xtools);
    w->xtools = NULL;
    w->nxtools = 0;
}
