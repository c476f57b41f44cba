/* meta.c: the _meta members of a request to a 2026-07-28 backend and their splice into params,
 * and the MRTR fields taken out of a 2026-07-28 caller's body for a 2025 backend (meta.h). */
#include "config.h"

#include <string.h>

#include <yajl/yajl_tree.h>

#include "common/json.h"
#include "common/jsonrpc.h"
#include "common/mcp.h"
#include "worker/meta.h"

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

int wrk_pool_strip_body(const char *body, size_t len, gw_buf_t *out)
{
    char err[64];
    gw_rpc_t rpc;
    yajl_val p;
    gw_buf_t np;
    gw_err_t rc = GW_OK;
    int removed = 0;

    /* the common case, no scan: neither name appears anywhere in the body */
    if ((memmem(body, len, "\"inputResponses\"", 16) == NULL &&
         memmem(body, len, "\"requestState\"", 14) == NULL) ||
        gw_rpc_scan(body, len, GW_RPC_DEFAULT_MAX_DEPTH, &rpc) != GW_OK || rpc.params.len == 0 ||
        (memmem(body + rpc.params.off, rpc.params.len, "\"inputResponses\"", 16) == NULL &&
         memmem(body + rpc.params.off, rpc.params.len, "\"requestState\"", 14) == NULL)) {
        return 0; /* the common case: nothing to take out, the bytes go as they came */
    }
    if ((p = gw_json_parse(body + rpc.params.off, rpc.params.len, err, sizeof(err))) == NULL ||
        !YAJL_IS_OBJECT(p)) {
        yajl_tree_free(p);
        return 0;
    }
    gw_buf_init(&np);
    rc = gw_buf_appends(&np, "{");
    for (size_t i = 0, n = 0; rc == GW_OK && i < p->u.object.len; i++) {
        const char *k = p->u.object.keys[i];
        if (strcmp(k, "inputResponses") == 0 || strcmp(k, "requestState") == 0) {
            removed = 1;
            continue;
        }
        rc = n++ > 0 ? gw_buf_appends(&np, ",") : GW_OK;
        rc = rc == GW_OK ? gw_buf_append_json_string(&np, k, strlen(k)) : rc;
        rc = rc == GW_OK ? gw_buf_appends(&np, ":") : rc;
        rc = rc == GW_OK ? gw_json_to_buf(p->u.object.values[i], &np) : rc;
    }
    rc = rc == GW_OK ? gw_buf_appends(&np, "}") : rc;
    yajl_tree_free(p);
    if (rc == GW_OK && removed) {
        gw_buf_reset(out);
        rc = gw_rpc_splice_raw(out, body, len, rpc.params, np.data, np.len);
    }
    gw_buf_fini(&np);
    return rc != GW_OK ? -1 : removed;
}
