/* era.c: the era of a POSTed message and the 2026-07-28 wire rules, row by row in the order of
 * docs/design-2026-07-28.md §1 (the suite checks the order: a header mismatch before an
 * unsupported version). Pure: no h2o, no router state. */
#include <config.h> /* autoconf's, not common/config.h */

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/json.h"
#include "common/mcp.h"
#include "common/mcphdr.h"
#include "router/era.h"

#define META_NS "io.modelcontextprotocol/"

/* The methods a 2026-07-28 server has, and the capability each needs (0: none). Everything else
 * is removed (initialize, ping, logging/setLevel, resources/subscribe and unsubscribe, the tasks
 * methods: the tasks extension is not offered) or unknown: 404 -32601 (row 15). */
static const struct modern_method {
    const char *method;
    unsigned needs;
} modern_methods[] = {
    {"server/discover", 0},
    {"tools/list", 0},
    {"tools/call", 0},
    {"subscriptions/listen", 0},
    {"prompts/list", RTR_OFFERS_PROMPTS},
    {"prompts/get", RTR_OFFERS_PROMPTS},
    {"resources/list", RTR_OFFERS_RESOURCES},
    {"resources/templates/list", RTR_OFFERS_RESOURCES},
    {"resources/read", RTR_OFFERS_RESOURCES},
    {"completion/complete", RTR_OFFERS_COMPLETIONS},
};

static const char *const log_levels[] = {"debug", "info",     "notice", "warning",
                                         "error", "critical", "alert",  "emergency"};

void rtr_era_verdict_fini(rtr_era_verdict_t *v)
{
    gw_buf_fini(&v->message);
    gw_buf_fini(&v->data);
}

int rtr_era_header_is_modern(gw_str_t v)
{
    size_t n;
    const char *t = gw_mcphdr_trim(v.ptr != NULL ? v.ptr : "", v.len, &n);
    if (n != 10 || t[4] != '-' || t[7] != '-') {
        return 0;
    }
    for (size_t i = 0; i < 10; i++) {
        if (i != 4 && i != 7 && (t[i] < '0' || t[i] > '9')) {
            return 0;
        }
    }
    return memcmp(t, GW_PROTO_MODERN_NAME, 10) >= 0;
}

static gw_err_t reject(rtr_era_verdict_t *out, unsigned row, unsigned status, int code,
                       const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Fills out as the answer of row (message from fmt; data is appended by the caller). */
static gw_err_t reject(rtr_era_verdict_t *out, unsigned row, unsigned status, int code,
                       const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    out->era = RTR_ERA_REJECT;
    out->row = row;
    out->status = status;
    out->code = code;
    return gw_buf_appends(&out->message, msg);
}

/* A header value for a message: printable, bounded (it is the client's). */
static void printable(char *dst, size_t cap, const char *s, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k + 1 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        dst[k++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    dst[k] = '\0';
}

/* Appends a header's value (or a decoded one) as a JSON string: as it is when it is UTF-8, else
 * with '?' for every byte outside printable ASCII (a reply must stay JSON, which is UTF-8). */
static gw_err_t append_value(gw_buf_t *d, const char *v, size_t n)
{
    if (gw_rpc_utf8_valid(v, n)) {
        return gw_buf_append_json_string(d, v, n);
    }
    char safe[512];
    printable(safe, sizeof(safe), v, n);
    return gw_buf_append_json_string(d, safe, strlen(safe));
}

/* {"mismatch":{"header":H,"value":V[,"body":B]}}: what the SDK answers, which the suite takes. */
static gw_err_t mismatch_data(gw_buf_t *d, const char *header, const char *value, size_t vlen,
                              const char *body, size_t blen)
{
    gw_err_t err = gw_buf_appends(d, "{\"mismatch\":{\"header\":");
    if (err == GW_OK) {
        err = gw_buf_append_json_string(d, header, strlen(header));
    }
    if (err == GW_OK && value != NULL) {
        err = gw_buf_appends(d, ",\"value\":");
        if (err == GW_OK) {
            err = append_value(d, value, vlen);
        }
    }
    if (err == GW_OK && body != NULL) {
        err = gw_buf_appends(d, ",\"body\":");
        if (err == GW_OK) {
            err = append_value(d, body, blen);
        }
    }
    return err == GW_OK ? gw_buf_appends(d, "}}") : err;
}

static gw_err_t missing_header(rtr_era_verdict_t *out, unsigned row, const char *header)
{
    gw_err_t err = reject(out, row, 400, GW_RPC_HEADER_MISMATCH,
                          "Header mismatch: %s header is required", header);
    return err == GW_OK ? mismatch_data(&out->data, header, "(missing)", 9, NULL, 0) : err;
}

static gw_err_t envelope_problem(rtr_era_verdict_t *out, const char *key, int missing)
{
    gw_err_t err =
        reject(out, 4, 400, GW_RPC_INVALID_PARAMS, "Invalid params: _meta %s " META_NS "%s",
               missing ? "is missing" : "has an invalid", key);
    if (err == GW_OK) {
        err = gw_buf_appendf(&out->data,
                             "{\"envelope\":{\"key\":\"" META_NS "%s\",\"problem\":\"%s\"}}", key,
                             missing ? "missing" : "invalid");
    }
    return err;
}

static int body_is(const rtr_era_in_t *in, gw_span_t span, char c)
{
    return span.len > 0 && in->body[span.off] == c;
}

/* Row 4: the envelope's members, first bad one named. */
static gw_err_t check_envelope(const rtr_era_in_t *in, rtr_era_verdict_t *out)
{
    const gw_rpc_t *rpc = in->rpc;
    if (!body_is(in, rpc->meta_protocol_version, '"')) {
        return envelope_problem(out, "protocolVersion", 0);
    }
    if (rpc->meta_client_capabilities.len == 0) {
        return envelope_problem(out, "clientCapabilities", 1);
    }
    if (!body_is(in, rpc->meta_client_capabilities, '{')) {
        return envelope_problem(out, "clientCapabilities", 0);
    }
    if (rpc->meta_client_info.len > 0 && !rpc->meta_client_info_ok) {
        return envelope_problem(out, "clientInfo", 0);
    }
    if (rpc->meta_log_level.len > 0) {
        int ok = 0;
        for (size_t i = 0; i < sizeof(log_levels) / sizeof(log_levels[0]) && !ok; i++) {
            ok = body_is(in, rpc->meta_log_level, '"') &&
                 strcmp(rpc->meta_log_level_str, log_levels[i]) == 0;
        }
        if (!ok) {
            return envelope_problem(out, "logLevel", 0);
        }
    }
    return GW_OK;
}

/* Row 5: a modern header over a body without a claim. */
static gw_err_t claim_missing(const rtr_era_in_t *in, rtr_era_verdict_t *out)
{
    const gw_rpc_t *rpc = in->rpc;
    gw_err_t err = reject(out, 5, 400, GW_RPC_INVALID_PARAMS,
                          "Invalid params: MCP-Protocol-Version names %s but _meta lacks " META_NS
                          "protocolVersion",
                          GW_PROTO_MODERN_NAME);
    if (err != GW_OK) {
        return err;
    }
    if (!body_is(in, rpc->meta, '{')) {
        return gw_buf_appends(&out->data, "{\"envelope\":{\"missing\":[\"_meta\"]}}");
    }
    err = gw_buf_appends(&out->data, "{\"envelope\":{\"missing\":[\"" META_NS "protocolVersion\"");
    if (err == GW_OK && rpc->meta_client_capabilities.len == 0) {
        err = gw_buf_appends(&out->data, ",\"" META_NS "clientCapabilities\"");
    }
    return err == GW_OK ? gw_buf_appends(&out->data, "]}}") : err;
}

/* Rows 7 and 8: a standard header present and different from the body's value. Returns 1 when
 * it answered (or ran out of memory: *err says). */
static int header_differs(rtr_era_verdict_t *out, unsigned row, const char *header, gw_str_t h,
                          const char *what, const char *b, gw_err_t *err)
{
    size_t n;
    const char *t = gw_mcphdr_trim(h.ptr, h.len, &n);
    if (strlen(b) == n && memcmp(t, b, n) == 0) {
        return 0;
    }
    char hv[160], bv[160];
    printable(hv, sizeof(hv), t, n);
    printable(bv, sizeof(bv), b, strlen(b));
    *err = reject(out, row, 400, GW_RPC_HEADER_MISMATCH,
                  "Header mismatch: %s%s '%s' does not match %s '%s'", header,
                  row == 7 ? " header" : "", hv, what, bv);
    if (*err == GW_OK) {
        *err = mismatch_data(&out->data, header, t, n, b, strlen(b));
    }
    return 1;
}

/* The text of the JSON string token at span into out (NUL-terminated, *n its length; it may hold
 * NULs of \u0000); 0 when it is not a string or is too long for cap. */
static int token_text(const rtr_era_in_t *in, gw_span_t span, char *dst, size_t cap, size_t *n)
{
    if (!body_is(in, span, '"') || span.len < 2) {
        return 0;
    }
    const char *s = in->body + span.off + 1;
    size_t len = span.len - 2;
    if (memchr(s, '\\', len) == NULL) {
        if (len >= cap) {
            return 0;
        }
        memcpy(dst, s, len);
        dst[len] = '\0';
        *n = len;
        return 1;
    }
    char e[32];
    yajl_val v = gw_json_parse(in->body + span.off, span.len, e, sizeof(e)); /* rare: escapes */
    const char *t = YAJL_GET_STRING(v);
    int ok = t != NULL && strlen(t) < cap;
    if (ok) {
        *n = strlen(t);
        memcpy(dst, t, *n + 1);
    }
    yajl_tree_free(v);
    return ok;
}

/* Rows 12-14: Mcp-Name of tools/call, prompts/get (params.name) and resources/read
 * (params.uri), when the body's value is a string. */
static gw_err_t check_name(const rtr_era_in_t *in, rtr_era_verdict_t *out)
{
    const gw_rpc_t *rpc = in->rpc;
    const char *m = rpc->method_str;
    int by_uri = strcmp(m, "resources/read") == 0;
    if (!by_uri && strcmp(m, "tools/call") != 0 && strcmp(m, "prompts/get") != 0) {
        return GW_OK;
    }
    gw_span_t span = by_uri ? rpc->uri : rpc->name;
    if (span.len == 0) {
        return GW_OK; /* no string to name: the backend's -32602 */
    }
    if (in->mcp_name.ptr == NULL) {
        return missing_header(out, 12, "Mcp-Name");
    }
    gw_buf_t v;
    gw_buf_init(&v);
    gw_err_t err = gw_mcphdr_decode(in->mcp_name.ptr, in->mcp_name.len, &v);
    if (err == GW_EINVAL) {
        gw_buf_fini(&v);
        err = reject(out, 13, 400, GW_RPC_HEADER_MISMATCH,
                     "Header mismatch: Mcp-Name carries an invalid value");
        return err == GW_OK ? mismatch_data(&out->data, "Mcp-Name", NULL, 0, NULL, 0) : err;
    }
    char b[4096];
    size_t bn = 0;
    int have = err == GW_OK && token_text(in, span, b, sizeof(b), &bn);
    if (err == GW_OK &&
        (!have || bn != v.len || memcmp(b, v.data != NULL ? v.data : "", bn) != 0)) {
        char hv[160], bv[160];
        printable(hv, sizeof(hv), v.data != NULL ? v.data : "", v.len);
        printable(bv, sizeof(bv), have ? b : "", bn);
        err = reject(out, 14, 400, GW_RPC_HEADER_MISMATCH,
                     "Header mismatch: Mcp-Name '%s' does not match params.%s '%s'", hv,
                     by_uri ? "uri" : "name", bv);
        if (err == GW_OK) {
            err = mismatch_data(&out->data, "Mcp-Name", v.data != NULL ? v.data : "", v.len,
                                have ? b : "", bn);
        }
    }
    gw_buf_fini(&v);
    return err;
}

/* Rows 15 and 16. */
static gw_err_t check_method(const rtr_era_in_t *in, rtr_era_verdict_t *out)
{
    const gw_rpc_t *rpc = in->rpc;
    for (size_t i = 0;
         !rpc->method_too_long && i < sizeof(modern_methods) / sizeof(modern_methods[0]); i++) {
        if (strcmp(modern_methods[i].method, rpc->method_str) == 0) {
            if ((modern_methods[i].needs & in->offers) != modern_methods[i].needs) {
                return reject(out, 16, 404, GW_RPC_METHOD_NOT_FOUND, "Method not found");
            }
            out->era = RTR_ERA_MODERN;
            return GW_OK;
        }
    }
    return reject(out, 15, 404, GW_RPC_METHOD_NOT_FOUND, "Method not found");
}

/* A message with a claim: rows 4 and 7-16 for a request, 7, 8 and 22 for a notification. */
static gw_err_t decide_modern(const rtr_era_in_t *in, rtr_era_verdict_t *out)
{
    const gw_rpc_t *rpc = in->rpc;
    int request = rpc->kind == GW_MSG_REQUEST;
    gw_err_t err = GW_OK;
    if (request && ((err = check_envelope(in, out)) != GW_OK || out->era == RTR_ERA_REJECT)) {
        return err;
    }
    /* a notification needs no standard header, but one it sends must agree (the SDK's rule) */
    if (in->protocol_version.ptr != NULL && body_is(in, rpc->meta_protocol_version, '"') &&
        header_differs(out, 7, "MCP-Protocol-Version", in->protocol_version,
                       "_meta protocolVersion", rpc->meta_protocol_version_str, &err)) {
        return err;
    }
    if (in->mcp_method.ptr != NULL &&
        header_differs(out, 8, "Mcp-Method", in->mcp_method, "method", rpc->method_str, &err)) {
        return err;
    }
    if (!request) {
        out->era = RTR_ERA_ACCEPTED;
        out->row = 22;
        out->status = 202;
        return GW_OK;
    }
    if (strcmp(rpc->meta_protocol_version_str, GW_PROTO_MODERN_NAME) != 0) {
        gw_span_t v = rpc->meta_protocol_version;
        char pv[64];
        printable(pv, sizeof(pv), rpc->meta_protocol_version_str,
                  strlen(rpc->meta_protocol_version_str));
        err = reject(out, 9, 400, GW_RPC_UNSUPPORTED_VERSION, "Unsupported protocol version: %s",
                     pv[0] != '\0' ? pv : "(too long)");
        if (err == GW_OK) {
            err = gw_buf_appends(&out->data,
                                 "{\"supported\":[\"" GW_PROTO_MODERN_NAME "\"],\"requested\":");
        }
        if (err == GW_OK) {
            err = gw_buf_append(&out->data, in->body + v.off, v.len); /* the raw token, echoed */
        }
        return err == GW_OK ? gw_buf_appends(&out->data, "}") : err;
    }
    if (in->protocol_version.ptr == NULL) {
        return missing_header(out, 10, "MCP-Protocol-Version");
    }
    if (in->mcp_method.ptr == NULL) {
        return missing_header(out, 11, "Mcp-Method");
    }
    if ((err = check_name(in, out)) != GW_OK || out->era == RTR_ERA_REJECT) {
        return err;
    }
    return check_method(in, out);
}

gw_err_t rtr_era_decide(const rtr_era_in_t *in, rtr_era_verdict_t *out)
{
    const gw_rpc_t *rpc = in->rpc;
    memset(out, 0, sizeof(*out));
    gw_buf_init(&out->message);
    gw_buf_init(&out->data);
    out->era = RTR_ERA_LEGACY;
    if (rpc->kind != GW_MSG_REQUEST && rpc->kind != GW_MSG_NOTIFICATION) {
        return GW_OK; /* a client's answer to a server request: a session's (§2 "Responses") */
    }
    int header_modern =
        in->protocol_version.ptr != NULL && rtr_era_header_is_modern(in->protocol_version);
    if (rpc->kind == GW_MSG_REQUEST && strcmp(rpc->method_str, "initialize") == 0) {
        if (rpc->meta_claim && strcmp(rpc->meta_protocol_version_str, GW_PROTO_MODERN_NAME) == 0) {
            return decide_modern(in, out); /* ends at row 15: initialize is removed */
        }
        if (header_modern) {
            char hv[64];
            size_t n;
            const char *t = gw_mcphdr_trim(in->protocol_version.ptr, in->protocol_version.len, &n);
            printable(hv, sizeof(hv), t, n);
            gw_err_t err =
                reject(out, 6, 400, GW_RPC_HEADER_MISMATCH,
                       "Header mismatch: initialize sent with MCP-Protocol-Version %s", hv);
            return err == GW_OK ? mismatch_data(&out->data, "MCP-Protocol-Version", t, n, NULL, 0)
                                : err;
        }
        return GW_OK;
    }
    if (rpc->meta_claim) {
        return decide_modern(in, out);
    }
    if (rpc->kind == GW_MSG_REQUEST && header_modern) {
        return claim_missing(in, out);
    }
    return GW_OK;
}
