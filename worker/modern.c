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

#define META_NS "io.modelcontextprotocol/"

/* ---- _meta ---- */

gw_err_t wrk_modern_meta(gw_buf_t *out, uint8_t caps, const char *level)
{
    gw_err_t err = gw_buf_appends(out, "\"" META_NS "protocolVersion\":\"" GW_PROTO_MODERN_NAME
                                       "\",\"" META_NS "clientCapabilities\":{");
    const char *sep = "";

    if (err == GW_OK && (caps & GW_CAP_SAMPLING)) {
        err = gw_buf_appendf(out, "%s\"sampling\":%s", sep,
                             (caps & GW_CAP_SAMPLING_TOOLS) ? "{\"tools\":{}}" : "{}");
        sep = ",";
    }
    if (err == GW_OK && (caps & GW_CAP_ELICITATION)) {
        err = gw_buf_appendf(out, "%s\"elicitation\":%s", sep,
                             (caps & GW_CAP_ELICITATION_URL) ? "{\"form\":{},\"url\":{}}"
                                                             : "{\"form\":{}}");
        sep = ",";
    }
    if (err == GW_OK && (caps & GW_CAP_ROOTS)) {
        err = gw_buf_appendf(out, "%s\"roots\":{}", sep);
    }
    if (err == GW_OK) {
        err = gw_buf_appends(out, "},\"" META_NS
                                  "clientInfo\":{\"name\":\"mcpgw\",\"version\":\"" PACKAGE_VERSION
                                  "\"}");
    }
    if (err == GW_OK && level != NULL && level[0] != '\0') {
        /* level is one of the eight LoggingLevel names (checked where it was taken) */
        err = gw_buf_appendf(out, ",\"" META_NS "logLevel\":\"%s\"", level);
    }
    return err;
}

/* The offset of the last '}' of body (the message object's end), or len. */
static size_t object_end(const char *body, size_t len)
{
    size_t i = len;
    while (i > 0 && body[i - 1] != '}') {
        i--;
    }
    return i > 0 ? i - 1 : len;
}

/* params holds a _meta member: params generated again with our members first in it and its own
 * after them (ours replace any of the io.modelcontextprotocol/ keys it had). */
static gw_err_t splice_into_meta(const char *body, size_t len, gw_span_t params, uint8_t caps,
                                 const char *level, gw_buf_t *out, int *done)
{
    char err[64];
    yajl_val p = gw_json_parse(body + params.off, params.len, err, sizeof(err));
    yajl_val meta = gw_json_get(p, "_meta");
    gw_buf_t np;
    gw_err_t rc = GW_OK;

    *done = 0;
    if (meta == NULL || !YAJL_IS_OBJECT(meta)) {
        yajl_tree_free(p);
        return GW_OK; /* the bytes "_meta" were elsewhere, or _meta is not an object */
    }
    gw_buf_init(&np);
    rc = gw_buf_appends(&np, "{");
    for (size_t i = 0; rc == GW_OK && i < p->u.object.len; i++) {
        const char *k = p->u.object.keys[i];
        yajl_val v = p->u.object.values[i];
        if (i > 0) {
            rc = gw_buf_appends(&np, ",");
        }
        rc = rc == GW_OK ? gw_buf_append_json_string(&np, k, strlen(k)) : rc;
        rc = rc == GW_OK ? gw_buf_appends(&np, ":") : rc;
        if (rc != GW_OK || v != meta) {
            rc = rc == GW_OK ? gw_json_to_buf(v, &np) : rc;
            continue;
        }
        rc = gw_buf_appends(&np, "{");
        rc = rc == GW_OK ? wrk_modern_meta(&np, caps, level) : rc;
        for (size_t j = 0; rc == GW_OK && j < meta->u.object.len; j++) {
            const char *mk = meta->u.object.keys[j];
            if (strncmp(mk, META_NS, sizeof(META_NS) - 1) == 0) {
                continue;
            }
            rc = gw_buf_appends(&np, ",");
            rc = rc == GW_OK ? gw_buf_append_json_string(&np, mk, strlen(mk)) : rc;
            rc = rc == GW_OK ? gw_buf_appends(&np, ":") : rc;
            rc = rc == GW_OK ? gw_json_to_buf(meta->u.object.values[j], &np) : rc;
        }
        rc = rc == GW_OK ? gw_buf_appends(&np, "}") : rc;
    }
    rc = rc == GW_OK ? gw_buf_appends(&np, "}") : rc;
    if (rc == GW_OK) {
        rc = gw_rpc_splice_raw(out, body, len, params, np.data, np.len);
        *done = rc == GW_OK;
    }
    gw_buf_fini(&np);
    yajl_tree_free(p);
    return rc;
}

gw_err_t wrk_modern_splice(const char *body, size_t len, uint8_t caps, const char *level,
                           gw_buf_t *out)
{
    gw_rpc_t rpc;
    gw_err_t rc;
    size_t at;
    int done = 0;

    gw_buf_reset(out);
    if ((rc = gw_rpc_scan(body, len, GW_RPC_DEFAULT_MAX_DEPTH, &rpc)) != GW_OK) {
        return rc;
    }
    if (rpc.params.len == 0) {
        at = object_end(body, len);
        rc = gw_buf_append(out, body, at);
        rc = rc == GW_OK ? gw_buf_appends(out, ",\"params\":{\"_meta\":{") : rc;
        rc = rc == GW_OK ? wrk_modern_meta(out, caps, level) : rc;
        rc = rc == GW_OK ? gw_buf_appends(out, "}}") : rc;
        return rc == GW_OK ? gw_buf_append(out, body + at, len - at) : rc;
    }
    if (body[rpc.params.off] != '{') {
        return GW_EINVAL; /* by-position params: no room for _meta */
    }
    if (memmem(body + rpc.params.off, rpc.params.len, "\"_meta\"", 7) != NULL) {
        if ((rc = splice_into_meta(body, len, rpc.params, caps, level, out, &done)) != GW_OK ||
            done) {
            return rc;
        }
        gw_buf_reset(out);
    }
    /* no _meta yet: one right after params' brace */
    at = rpc.params.off + 1;
    size_t i = at;
    while (i < rpc.params.off + rpc.params.len &&
           (body[i] == ' ' || body[i] == '\t' || body[i] == '\r' || body[i] == '\n')) {
        i++;
    }
    int empty = body[i] == '}';
    rc = gw_buf_append(out, body, at);
    rc = rc == GW_OK ? gw_buf_appends(out, "\"_meta\":{") : rc;
    rc = rc == GW_OK ? wrk_modern_meta(out, caps, level) : rc;
    rc = rc == GW_OK ? gw_buf_appends(out, empty ? "}" : "},") : rc;
    return rc == GW_OK ? gw_buf_append(out, body + at, len - at) : rc;
}

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
