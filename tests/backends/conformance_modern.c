/* mcpgw-conformance: the 2026-07-28 era (--era modern or dual): which POSTs it covers, the wire
 * checks a 2026-07-28 server makes (docs/design-2026-07-28.md section 1, answered as the SDK's
 * v2 server answers them, section 8.2), server/discover, and resultType and the cache fields on
 * every result. */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <h2o.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "tests/backends/conformance.h"
#include "tests/backends/json.h"
#include "tests/backends/serve.h"

#define META_PROTOCOL_VERSION "io.modelcontextprotocol/protocolVersion"
#define META_CLIENT_CAPABILITIES "io.modelcontextprotocol/clientCapabilities"
#define META_CLIENT_INFO "io.modelcontextprotocol/clientInfo"
#define META_LOG_LEVEL "io.modelcontextprotocol/logLevel"
#define META_SERVER_INFO "io.modelcontextprotocol/serverInfo"
#define SERVER_VERSION "1.0.0"
#define MAX_NAME_HEADER 4096
/* The version a request without MCP-Protocol-Version is taken to speak (2025-11-25 transports). */
#define DEFAULT_LEGACY_VERSION "2025-03-26"

/* The lists never change per caller, so anyone may cache them for a minute; contents a little
 * less. A gateway must keep the smallest TTL and the scope (design section 4): distinct values
 * let the tests see they were passed on. */
#define LIST_CACHE "\"ttlMs\":60000,\"cacheScope\":\"public\","
#define READ_CACHE "\"ttlMs\":5000,\"cacheScope\":\"public\","

static const struct {
    const char *method;
    const char *cache; /* the cache fields of its result, or NULL when it is not cacheable */
} modern_methods[] = {
    {"server/discover", LIST_CACHE},
    {"tools/list", LIST_CACHE},
    {"tools/call", NULL},
    {"prompts/list", LIST_CACHE},
    {"prompts/get", NULL},
    {"resources/list", LIST_CACHE},
    {"resources/templates/list", LIST_CACHE},
    {"resources/read", READ_CACHE},
    {"completion/complete", NULL},
    {"subscriptions/listen", NULL},
};

#define NMETHODS (sizeof(modern_methods) / sizeof(modern_methods[0]))

static int method_index(const char *method)
{
    for (size_t i = 0; method != NULL && i != NMETHODS; ++i) {
        if (strcmp(modern_methods[i].method, method) == 0) {
            return (int)i;
        }
    }
    return -1;
}

/* Leading and trailing SP and HTAB stripped (header values are compared after that). */
static h2o_iovec_t ows_trim(h2o_iovec_t v)
{
    if (v.base == NULL) {
        return v;
    }
    while (v.len != 0 && (v.base[0] == ' ' || v.base[0] == '\t')) {
        ++v.base;
        --v.len;
    }
    while (v.len != 0 && (v.base[v.len - 1] == ' ' || v.base[v.len - 1] == '\t')) {
        --v.len;
    }
    return v;
}

static h2o_iovec_t header(const h2o_req_t *req, const char *name)
{
    return ows_trim(serve_header(req, name));
}

static int iov_is(h2o_iovec_t v, const char *s)
{
    return v.base != NULL && h2o_memis(v.base, v.len, s, strlen(s));
}

/* A revision of 2026-07-28 or later (YYYY-MM-DD): such a header promises a _meta claim. */
static int names_modern_revision(h2o_iovec_t v)
{
    static const char shape[] = "9999-99-99";

    if (v.base == NULL || v.len != sizeof(shape) - 1) {
        return 0;
    }
    for (size_t i = 0; i != v.len; ++i) {
        if (shape[i] == '-' ? v.base[i] != '-' : (v.base[i] < '0' || v.base[i] > '9')) {
            return 0;
        }
    }
    return memcmp(v.base, CF_MODERN_VERSION, v.len) >= 0;
}

static yajl_val request_meta(yajl_val msg)
{
    yajl_val meta = json_member(json_member(msg, "params"), "_meta");

    return YAJL_IS_OBJECT(meta) ? meta : NULL;
}

int cf_modern_applies(const cf_server_t *srv, const h2o_req_t *req, yajl_val msg)
{
    if (srv->era != CF_ERA_DUAL) {
        return srv->era == CF_ERA_MODERN;
    }
    return json_member(request_meta(msg), META_PROTOCOL_VERSION) != NULL ||
           names_modern_revision(header(req, "mcp-protocol-version"));
}

/* ---- answers ---- */

int cf_send_error_data(h2o_req_t *req, int status, const char *reason, const cf_id_t *id, int code,
                       const char *message, const char *data)
{
    static const cf_id_t null_id = {0, NULL, 0};
    yajl_gen g = cf_message_begin();

    if (g == NULL) {
        return cf_send_empty(req, 500, "Internal Server Error");
    }
    json_gen_str(g, "id");
    cf_gen_id(g, id != NULL ? id : &null_id);
    json_gen_str(g, "error");
    yajl_gen_map_open(g);
    json_gen_str(g, "code");
    yajl_gen_integer(g, code);
    cf_gen_kv(g, "message", message);
    if (data != NULL) {
        json_gen_str(g, "data");
        json_gen_raw(g, h2o_iovec_init(data, strlen(data)));
    }
    yajl_gen_map_close(g);
    yajl_gen_map_close(g);
    cf_send_body(req, status, reason, "application/json", json_gen_output(g));
    yajl_gen_free(g);
    return 0;
}

/* A header check that failed: 400 -32020 with {"mismatch":{"header","value"[,"body"]}}. */
static int header_mismatch(cf_rpc_t *r, const char *message, const char *name, h2o_iovec_t value,
                           const char *body)
{
    yajl_gen g = yajl_gen_alloc(NULL);

    if (g == NULL) {
        return cf_rpc_no_memory(r);
    }
    yajl_gen_map_open(g);
    json_gen_str(g, "mismatch");
    yajl_gen_map_open(g);
    cf_gen_kv(g, "header", name);
    json_gen_str(g, "value");
    if (value.base != NULL) {
        json_gen_iov(g, value);
    } else {
        json_gen_str(g, "(missing)");
    }
    if (body != NULL) {
        cf_gen_kv(g, "body", body);
    }
    yajl_gen_map_close(g);
    yajl_gen_map_close(g);
    h2o_iovec_t data = json_gen_output(g);
    char *text = cf_format("%.*s", (int)data.len, data.base);
    if (text != NULL) {
        cf_send_error_data(r->req, 400, "Bad Request", &r->id, -32020, message, text);
    } else {
        cf_rpc_no_memory(r);
    }
    free(text);
    yajl_gen_free(g);
    return 0;
}

/* 400 -32602 for a bad _meta: {"envelope":{"key":K,"problem":P}}. */
static int envelope_invalid(cf_rpc_t *r, const char *key, const char *problem)
{
    char *message =
        cf_format("Invalid params: _meta %s %s", problem == NULL ? "lacks" : "has", key);
    char *data = cf_format("{\"envelope\":{\"key\":\"%s\",\"problem\":\"%s\"}}", key,
                           problem != NULL ? problem : "missing");

    if (message != NULL && data != NULL) {
        cf_send_error_data(r->req, 400, "Bad Request", &r->id, -32602, message, data);
    } else {
        cf_rpc_no_memory(r);
    }
    free(message);
    free(data);
    return 0;
}

/* 400 -32022 with {"supported":["2026-07-28"],"requested":V}. */
static int unsupported_version(cf_rpc_t *r, const char *requested)
{
    yajl_gen g = yajl_gen_alloc(NULL);

    if (g == NULL) {
        return cf_rpc_no_memory(r);
    }
    yajl_gen_map_open(g);
    json_gen_str(g, "supported");
    yajl_gen_array_open(g);
    json_gen_str(g, CF_MODERN_VERSION);
    yajl_gen_array_close(g);
    cf_gen_kv(g, "requested", requested);
    yajl_gen_map_close(g);
    h2o_iovec_t data = json_gen_output(g);
    char *text = cf_format("%.*s", (int)data.len, data.base);
    char *message = cf_format("Unsupported protocol version: %s", requested);
    if (text != NULL && message != NULL) {
        cf_send_error_data(r->req, 400, "Bad Request", &r->id, -32022, message, text);
    } else {
        cf_rpc_no_memory(r);
    }
    free(text);
    free(message);
    yajl_gen_free(g);
    return 0;
}

int cf_missing_capability(cf_rpc_t *r, unsigned missing)
{
    char data[160];
    const char *names[] = {"sampling", "elicitation", "roots"};
    size_t len = (size_t)snprintf(data, sizeof(data), "{\"requiredCapabilities\":{");
    char message[96] = "Missing required client capability:";

    for (unsigned i = 0; i != 3; ++i) {
        if (missing & (1u << i)) {
            const char *value = i == 1 ? "{\"form\":{}}" : "{}";
            len += (size_t)snprintf(data + len, sizeof(data) - len, "%s\"%s\":%s",
                                    data[len - 1] == '{' ? "" : ",", names[i], value);
            strncat(message, " ", sizeof(message) - strlen(message) - 1);
            strncat(message, names[i], sizeof(message) - strlen(message) - 1);
        }
    }
    snprintf(data + len, sizeof(data) - len, "}}");
    return cf_send_error_data(r->req, 400, "Bad Request", &r->id, -32021, message, data);
}

int cf_modern_method_not_allowed(h2o_req_t *req)
{
    cf_add_header(req, H2O_TOKEN_ALLOW, "POST");
    return cf_send_error(req, 405, "Method Not Allowed", NULL, -32000, "Method not allowed.");
}

h2o_iovec_t cf_modern_result(h2o_req_t *req, const char *method, h2o_iovec_t json)
{
    static const char marker[] = "\"result\":{";
    static const char type[] = "\"resultType\":\"complete\",";
    int i = method_index(method);
    const char *cache = i >= 0 && modern_methods[i].cache != NULL ? modern_methods[i].cache : "";
    const char *at = NULL;

    /* the first "result":{ is the member: the id before it is a number or an escaped string */
    for (size_t k = 0; k + sizeof(marker) - 1 <= json.len && at == NULL; ++k) {
        if (memcmp(json.base + k, marker, sizeof(marker) - 1) == 0) {
            at = json.base + k + sizeof(marker) - 1;
        }
    }
    size_t head = at != NULL ? (size_t)(at - json.base) : 0;
    if (at == NULL || (json.len - head >= 12 && memcmp(at, "\"resultType\"", 12) == 0)) {
        return json;
    }
    size_t extra = strlen(type) + strlen(cache), out_len = json.len + extra;
    char *out = h2o_mem_alloc_pool(&req->pool, out_len + 1);
    memcpy(out, json.base, head);
    memcpy(out + head, type, strlen(type));
    memcpy(out + head + strlen(type), cache, strlen(cache));
    if (*at == '}') {
        --out_len; /* an empty result: no comma before its brace */
        --extra;
    }
    memcpy(out + head + extra, at, json.len - head);
    out[out_len] = '\0';
    return h2o_iovec_init(out, out_len);
}

/* ---- server/discover ---- */

static int answer_discover(cf_rpc_t *r)
{
    yajl_gen g = cf_response_begin(&r->id);

    if (g == NULL) {
        return cf_rpc_no_memory(r);
    }
    yajl_gen_map_open(g);
    json_gen_str(g, "supportedVersions");
    yajl_gen_array_open(g);
    json_gen_str(g, CF_MODERN_VERSION); /* a dual-era server lists only the modern ones */
    yajl_gen_array_close(g);
    json_gen_str(g, "capabilities");
    yajl_gen_map_open(g);
    json_gen_str(g, "tools");
    yajl_gen_map_open(g);
    json_gen_str(g, "listChanged");
    yajl_gen_bool(g, 1); /* test_trigger_tool_change tells listens */
    yajl_gen_map_close(g);
    json_gen_str(g, "prompts");
    yajl_gen_map_open(g);
    json_gen_str(g, "listChanged");
    yajl_gen_bool(g, 1);
    yajl_gen_map_close(g);
    json_gen_str(g, "resources");
    yajl_gen_map_open(g);
    json_gen_str(g, "subscribe");
    yajl_gen_bool(g, 1);
    json_gen_str(g, "listChanged");
    yajl_gen_bool(g, 0);
    yajl_gen_map_close(g);
    json_gen_str(g, "logging");
    yajl_gen_map_open(g);
    yajl_gen_map_close(g);
    json_gen_str(g, "completions");
    yajl_gen_map_open(g);
    yajl_gen_map_close(g);
    yajl_gen_map_close(g);
    cf_gen_kv(g, "instructions", "The conformance suite's server scenarios, for mcpgw's tests.");
    json_gen_str(g, "_meta");
    yajl_gen_map_open(g);
    json_gen_str(g, META_SERVER_INFO);
    yajl_gen_map_open(g);
    cf_gen_kv(g, "name", PROGRAM);
    cf_gen_kv(g, "version", SERVER_VERSION);
    yajl_gen_map_close(g);
    yajl_gen_map_close(g);
    yajl_gen_map_close(g);
    return cf_rpc_answer(r, g);
}

/* ---- the checks ---- */

static int b64_value(char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* Strict standard base64 (padding required) into out (NUL-terminated); its length or -1. */
static ssize_t b64_decode(h2o_iovec_t in, char *out, size_t cap)
{
    size_t n = 0;

    if (in.len % 4 != 0 || in.len / 4 * 3 >= cap) {
        return -1;
    }
    for (size_t i = 0; i != in.len; i += 4) {
        int v[4];
        int last = i + 4 == in.len;
        for (int k = 0; k != 4; ++k) {
            v[k] = b64_value(in.base[i + k]);
            if (v[k] < 0 && !(last && k >= 2 && in.base[i + k] == '=')) {
                return -1;
            }
        }
        if (v[2] < 0 && v[3] >= 0) {
            return -1;
        }
        out[n++] = (char)(v[0] << 2 | v[1] >> 4);
        if (v[2] >= 0) {
            out[n++] = (char)((v[1] & 15) << 4 | v[2] >> 2);
        } else if ((v[1] & 15) != 0) {
            return -1;
        }
        if (v[3] >= 0) {
            out[n++] = (char)((v[2] & 3) << 6 | v[3]);
        } else if (v[2] >= 0 && (v[2] & 3) != 0) {
            return -1;
        }
    }
    out[n] = '\0';
    return (ssize_t)n;
}

/* A standard or custom header's value as sent: "=?base64?…?=" decoded (strict), else literal,
 * which must be VCHAR, SP or HTAB; into *value (out holds a decoded one). 0, or -1 if invalid. */
static int header_value(h2o_iovec_t v, char *out, size_t cap, h2o_iovec_t *value)
{
    *value = v;
    if (v.len >= 11 && memcmp(v.base, "=?base64?", 9) == 0 &&
        memcmp(v.base + v.len - 2, "?=", 2) == 0) {
        ssize_t n = b64_decode(h2o_iovec_init(v.base + 9, v.len - 11), out, cap);
        if (n < 0) {
            return -1;
        }
        *value = h2o_iovec_init(out, (size_t)n);
        return 0;
    }
    for (size_t i = 0; i != v.len; ++i) {
        unsigned char c = (unsigned char)v.base[i];
        if (!(c == ' ' || c == '\t' || (c >= 0x21 && c <= 0x7e))) {
            return -1;
        }
    }
    return 0;
}

/* Mcp-Name must carry the body's name (tools/call, prompts/get) or URI (resources/read). */
static int check_name_header(cf_rpc_t *r)
{
    const char *member = strcmp(r->method, "resources/read") == 0 ? "uri" : "name";
    const char *body = NULL;

    if (strcmp(r->method, "tools/call") == 0 || strcmp(r->method, "prompts/get") == 0 ||
        strcmp(r->method, "resources/read") == 0) {
        body = cf_member_string(r->params, member);
    }
    if (body == NULL) {
        return 1; /* no string to mirror: the method's own checks answer */
    }
    h2o_iovec_t v = header(r->req, "mcp-name"), value;
    char decoded[MAX_NAME_HEADER];
    if (v.base == NULL) {
        header_mismatch(r, "Header mismatch: Mcp-Name header is required", "Mcp-Name", v, body);
        return 0;
    }
    if (header_value(v, decoded, sizeof(decoded), &value) != 0) {
        header_mismatch(r, "Header mismatch: Mcp-Name carries an invalid value", "Mcp-Name", v,
                        body);
        return 0;
    }
    if (!h2o_memis(value.base, value.len, body, strlen(body))) {
        header_mismatch(r, "Header mismatch: Mcp-Name does not match the body", "Mcp-Name", v,
                        body);
        return 0;
    }
    return 1;
}

/* test_custom_header: its string argument "region" is declared "x-mcp-header": "Region", so a
 * 2026-07-28 call must mirror it in Mcp-Param-Region (absent only when the argument is). */
int cf_tool_custom_header(cf_rpc_t *r, const cf_tool_t *tool, yajl_val args)
{
    const char *region = cf_member_string(args, "region");
    h2o_iovec_t v = header(r->req, "mcp-param-region"), value;
    char decoded[MAX_NAME_HEADER];

    if (region == NULL) {
        return cf_rpc_error(r, -32602, "Invalid params: argument \"region\" (string) is required");
    }
    if (v.base == NULL) {
        return header_mismatch(r, "Header mismatch: Mcp-Param-Region header is required",
                               "Mcp-Param-Region", v, region);
    }
    if (header_value(v, decoded, sizeof(decoded), &value) != 0) {
        return header_mismatch(r, "Header mismatch: Mcp-Param-Region carries an invalid value",
                               "Mcp-Param-Region", v, region);
    }
    if (!h2o_memis(value.base, value.len, region, strlen(region))) {
        return header_mismatch(r, "Header mismatch: Mcp-Param-Region does not match the body",
                               "Mcp-Param-Region", v, region);
    }
    char *text = cf_format("Region: %s", region);
    yajl_gen g = text != NULL ? cf_response_begin(&r->id) : NULL;
    if (g == NULL) {
        free(text);
        return cf_rpc_no_memory(r);
    }
    cf_gen_text_result(g, text, 0);
    free(text);
    return cf_rpc_answer(r, g);
}

/* The CF_CAP_* bits of a clientCapabilities object. */
static unsigned capability_bits(yajl_val caps)
{
    return (YAJL_IS_OBJECT(json_member(caps, "sampling")) ? CF_CAP_SAMPLING : 0) |
           (YAJL_IS_OBJECT(json_member(caps, "elicitation")) ? CF_CAP_ELICITATION : 0) |
           (YAJL_IS_OBJECT(json_member(caps, "roots")) ? CF_CAP_ROOTS : 0);
}

static int log_level_index(const char *level)
{
    for (int i = 0; level != NULL && i != CF_NLOG_LEVELS; ++i) {
        if (strcmp(cf_log_levels[i], level) == 0) {
            return i;
        }
    }
    return -1;
}

/* A request (or notification) without a claim. */
static int handle_unclaimed(cf_rpc_t *r, int has_id, h2o_iovec_t version)
{
    yajl_val meta = json_member(r->params, "_meta");

    if (strcmp(r->method, "initialize") == 0 && has_id) {
        if (names_modern_revision(version)) {
            return header_mismatch(r,
                                   "Header mismatch: initialize sent with MCP-Protocol-Version "
                                   "2026-07-28",
                                   "MCP-Protocol-Version", version, NULL);
        }
        const char *asked = cf_member_string(r->params, "protocolVersion");
        return unsupported_version(r, asked != NULL ? asked : DEFAULT_LEGACY_VERSION);
    }
    if (!has_id) {
        return cf_send_empty(r->req, 202, "Accepted"); /* as the SDK: nothing to answer */
    }
    if (names_modern_revision(version)) {
        const char *data = YAJL_IS_OBJECT(meta)
                               ? "{\"envelope\":{\"missing\":[\"" META_PROTOCOL_VERSION "\"]}}"
                               : "{\"envelope\":{\"missing\":[\"_meta\"]}}";
        return cf_send_error_data(r->req, 400, "Bad Request", &r->id, -32602,
                                  "Invalid params: MCP-Protocol-Version names 2026-07-28 but "
                                  "_meta lacks " META_PROTOCOL_VERSION,
                                  data);
    }
    /* modern mode only (dual serves these as 2025 requests) */
    char requested[64];
    snprintf(requested, sizeof(requested), "%.*s", version.base != NULL ? (int)version.len : 0,
             version.base != NULL ? version.base : "");
    return unsupported_version(r, version.base != NULL ? requested : DEFAULT_LEGACY_VERSION);
}

/* Rows 4 and 7-15 of the design's table, in its order; 1 to serve the request. */
static int wire_checks(cf_rpc_t *r, int has_id, yajl_val meta, h2o_iovec_t version)
{
    yajl_val claim = json_member(meta, META_PROTOCOL_VERSION);
    yajl_val caps = json_member(meta, META_CLIENT_CAPABILITIES);
    yajl_val info = json_member(meta, META_CLIENT_INFO);
    yajl_val level = json_member(meta, META_LOG_LEVEL);
    h2o_iovec_t method_header = header(r->req, "mcp-method");

    if (!YAJL_IS_STRING(claim)) {
        return envelope_invalid(r, META_PROTOCOL_VERSION, "invalid"), 0;
    }
    if (caps == NULL || !YAJL_IS_OBJECT(caps)) {
        return envelope_invalid(r, META_CLIENT_CAPABILITIES, caps == NULL ? NULL : "invalid"), 0;
    }
    if (info != NULL &&
        (cf_member_string(info, "name") == NULL || cf_member_string(info, "version") == NULL)) {
        return envelope_invalid(r, META_CLIENT_INFO, "invalid"), 0;
    }
    if (level != NULL &&
        log_level_index(YAJL_IS_STRING(level) ? YAJL_GET_STRING(level) : NULL) < 0) {
        return envelope_invalid(r, META_LOG_LEVEL, "invalid"), 0;
    }
    const char *claimed = YAJL_GET_STRING(claim);
    if (version.base != NULL && !iov_is(version, claimed)) {
        return header_mismatch(r, "Header mismatch: MCP-Protocol-Version does not match _meta",
                               "MCP-Protocol-Version", version, claimed),
               0;
    }
    if (method_header.base != NULL && !iov_is(method_header, r->method)) {
        return header_mismatch(r, "Header mismatch: Mcp-Method does not match method", "Mcp-Method",
                               method_header, r->method),
               0;
    }
    if (strcmp(claimed, CF_MODERN_VERSION) != 0) {
        return unsupported_version(r, claimed), 0;
    }
    if (!has_id) {
        return 1; /* notifications need no standard headers (the v2 client's cancel has none) */
    }
    if (version.base == NULL) {
        return header_mismatch(r, "Header mismatch: MCP-Protocol-Version header is required",
                               "MCP-Protocol-Version", version, NULL),
               0;
    }
    if (method_header.base == NULL) {
        return header_mismatch(r, "Header mismatch: Mcp-Method header is required", "Mcp-Method",
                               method_header, NULL),
               0;
    }
    if (!check_name_header(r)) {
        return 0;
    }
    if (method_index(r->method) < 0) {
        /* removed in 2026-07-28 (initialize, ping, logging/setLevel, resources/subscribe, …)
         * or unknown: 404 with the id */
        return cf_send_error(r->req, 404, "Not Found", &r->id, -32601, "Method not found"), 0;
    }
    return 1;
}

int cf_modern_handle(cf_rpc_t *r, yajl_val msg, int has_id)
{
    h2o_iovec_t version = header(r->req, "mcp-protocol-version");
    yajl_val meta = request_meta(msg);

    if (r->method == NULL) {
        /* 2026-07-28 clients never post responses: there are no server requests to answer */
        return cf_send_error(r->req, 400, "Bad Request", NULL, -32600,
                             "Invalid Request: responses are not accepted in 2026-07-28");
    }
    if (r->params != NULL && !YAJL_IS_OBJECT(r->params)) {
        return cf_send_error(r->req, 400, "Bad Request", has_id ? &r->id : NULL, -32602,
                             "Invalid params");
    }
    if (json_member(meta, META_PROTOCOL_VERSION) == NULL) {
        return handle_unclaimed(r, has_id, version);
    }
    if (!wire_checks(r, has_id, meta, version)) {
        return 0;
    }
    if (!has_id) {
        if (strcmp(r->method, "notifications/cancelled") == 0) {
            cf_listen_cancel(r->srv, json_member(r->params, "requestId"));
        }
        return cf_send_empty(r->req, 202, "Accepted");
    }
    r->modern = 1;
    r->caps = capability_bits(json_member(meta, META_CLIENT_CAPABILITIES));
    int level = log_level_index(cf_member_string(meta, META_LOG_LEVEL));
    /* without a logLevel the request gets no notifications/message at all */
    r->session = cf_session_transient(r->srv, r->caps, level >= 0 ? level : CF_NLOG_LEVELS);
    if (r->session == NULL) {
        return cf_rpc_no_memory(r);
    }
    if (strcmp(r->method, "server/discover") == 0) {
        answer_discover(r);
    } else if (strcmp(r->method, "subscriptions/listen") == 0) {
        cf_answer_listen(r);
    } else {
        cf_dispatch(r);
    }
    cf_session_release(r->session); /* calls answered later hold their own reference */
    return 0;
}
