/* jsonrpc_write.c: writing JSON-RPC bodies: a scanned body with one span replaced (the router's
 * prefix removal, the worker's id rewrites), and the error and result messages the gateway makes
 * itself. The scanner is jsonrpc.c. */
#include <config.h>

#include <stdint.h>
#include <string.h>

#include "common/jsonrpc.h"

static int span_fits(size_t len, gw_span_t span)
{
    return span.len > 0 && (uint64_t)span.off + span.len <= len;
}

gw_err_t gw_rpc_splice_string(gw_buf_t *out, const char *body, size_t len, gw_span_t span,
                              const char *s, size_t n)
{
    gw_err_t err;

    if (!span_fits(len, span)) {
        return GW_EINVAL;
    }
    err = gw_buf_reserve(out, len - span.len + n + 2);
    if (err == GW_OK) {
        err = gw_buf_append(out, body, span.off);
    }
    if (err == GW_OK) {
        err = gw_buf_append_json_string(out, s, n);
    }
    if (err == GW_OK) {
        err = gw_buf_append(out, body + span.off + span.len, len - span.off - span.len);
    }
    return err;
}

gw_err_t gw_rpc_splice_raw(gw_buf_t *out, const char *body, size_t len, gw_span_t span,
                           const char *raw, size_t n)
{
    gw_err_t err;

    if (!span_fits(len, span)) {
        return GW_EINVAL;
    }
    err = gw_buf_reserve(out, len - span.len + n);
    if (err == GW_OK) {
        err = gw_buf_append(out, body, span.off);
    }
    if (err == GW_OK) {
        err = gw_buf_append(out, raw, n);
    }
    if (err == GW_OK) {
        err = gw_buf_append(out, body + span.off + span.len, len - span.off - span.len);
    }
    return err;
}

static gw_err_t append_head(gw_buf_t *out, const char *id, size_t id_len)
{
    gw_err_t err = gw_buf_appends(out, "{\"jsonrpc\":\"2.0\",\"id\":");
    if (err == GW_OK) {
        err = id_len > 0 ? gw_buf_append(out, id, id_len) : gw_buf_appends(out, "null");
    }
    return err;
}

gw_err_t gw_rpc_error(gw_buf_t *out, const char *id, size_t id_len, int code, const char *msg)
{
    gw_err_t err = append_head(out, id, id_len);
    if (err == GW_OK) {
        err = gw_buf_appendf(out, ",\"error\":{\"code\":%d,\"message\":", code);
    }
    if (err == GW_OK) {
        err = gw_buf_append_json_string(out, msg != NULL ? msg : "", msg != NULL ? strlen(msg) : 0);
    }
    if (err == GW_OK) {
        err = gw_buf_appends(out, "}}");
    }
    return err;
}

gw_err_t gw_rpc_result(gw_buf_t *out, const char *id, size_t id_len, const char *result,
                       size_t result_len)
{
    gw_err_t err = append_head(out, id, id_len);
    if (err == GW_OK) {
        err = gw_buf_appends(out, ",\"result\":");
    }
    if (err == GW_OK) {
        err = result_len > 0 ? gw_buf_append(out, result, result_len) : gw_buf_appends(out, "null");
    }
    if (err == GW_OK) {
        err = gw_buf_appends(out, "}");
    }
    return err;
}
