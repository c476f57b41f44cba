/* jsonrpc.h: the hot-path JSON-RPC scanner (one validating yajl SAX pass that records the envelope
 * fields and their byte offsets) and the byte-splice rewrites built on it. */
#ifndef MCPGW_COMMON_JSONRPC_H
#define MCPGW_COMMON_JSONRPC_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"

#define GW_RPC_METHOD_MAX 128 /* longer methods are unknown methods (method_too_long) */
#define GW_RPC_NAME_MAX 128   /* the spec's limit for tool and prompt names */
#define GW_RPC_DEFAULT_MAX_DEPTH 128

/* A byte range of the scanned body: [off, off + len). len == 0 means absent. */
typedef struct gw_span {
    uint32_t off;
    uint32_t len;
} gw_span_t;

typedef enum gw_msg_kind {
    GW_MSG_INVALID = 0,  /* valid JSON but not a JSON-RPC 2.0 message: -32600 */
    GW_MSG_REQUEST,      /* method + id */
    GW_MSG_NOTIFICATION, /* method, no id */
    GW_MSG_RESPONSE,     /* id + exactly one of result / error, no method */
    GW_MSG_BATCH,        /* a top-level array (not scanned further) */
} gw_msg_kind_t;

typedef struct gw_rpc {
    gw_msg_kind_t kind;
    const char *invalid_reason; /* static text when kind == GW_MSG_INVALID */
    gw_span_t id;               /* raw JSON token of "id" (a string with its quotes, or a number) */
    int id_is_null;             /* "id": null (allowed only in error responses) */
    gw_span_t method;           /* the method's string token, quotes included */
    char method_str[GW_RPC_METHOD_MAX + 1]; /* unescaped, NUL-terminated */
    int method_too_long;
    gw_span_t params; /* the whole params value */
    gw_span_t name;   /* params.name string token, quotes included (tools/call, prompts/get) */
    char name_str[GW_RPC_NAME_MAX + 1];
    int name_too_long;
    gw_span_t uri;              /* params.uri string token, quotes included */
    gw_span_t protocol_version; /* params.protocolVersion string token (initialize) */
    unsigned caps;              /* GW_CAP_* keys present in params.capabilities (initialize) */
    gw_span_t progress_token;   /* params._meta.progressToken raw token */
    gw_span_t ref_name;         /* params.ref.name string token (completion/complete) */
    char ref_name_str[GW_RPC_NAME_MAX + 1];
    int ref_name_too_long;
    gw_span_t ref_uri;    /* params.ref.uri string token (completion/complete) */
    gw_span_t task_id;    /* params.taskId string token (tasks/get, tasks/result, tasks/cancel) */
    gw_span_t cursor;     /* params.cursor string token (list methods) */
    gw_span_t request_id; /* params.requestId raw token, string or number (notifications/cancelled);
                           * absent when the member repeats */
    int has_result;
    int has_error;
    /* 2026-07-28 (docs/design-2026-07-28.md §2): the request envelope in params._meta, whose
     * members are io.modelcontextprotocol/<name>. Spans are raw tokens of any JSON type (an
     * object or array from its brace to its closing one), so the checks can tell a wrong type
     * from an absent member. A repeated _meta starts over: the backend's parser keeps the last. */
    gw_span_t meta;                     /* the whole params._meta value (any type) */
    int meta_claim;                     /* _meta is an object with a protocolVersion member */
    gw_span_t meta_protocol_version;    /* its raw token */
    char meta_protocol_version_str[32]; /* unescaped when a string that fits, else "" */
    gw_span_t meta_client_capabilities;
    unsigned
        meta_caps; /* GW_CAP_* from clientCapabilities (with ELICITATION_URL, SAMPLING_TOOLS) */
    gw_span_t meta_client_info;
    int meta_client_info_ok; /* clientInfo is an object whose name and version are strings */
    gw_span_t meta_log_level;
    char meta_log_level_str[16]; /* unescaped when a string that fits, else "" */
    gw_span_t meta_subscription_id;
    gw_span_t input_responses; /* params.inputResponses raw value (MRTR retries) */
    gw_span_t request_state;   /* params.requestState raw value */
    gw_span_t arguments;       /* params.arguments raw value (tools/call, prompts/get) */
} gw_rpc_t;

/* Scans one complete body. Returns GW_EPARSE for anything that is not well-formed UTF-8 JSON
 * (answer -32700) and GW_ETOOBIG for nesting deeper than max_depth; otherwise GW_OK with
 * out->kind saying what the message is (GW_MSG_INVALID answers -32600). Duplicate keys among
 * jsonrpc/id/method/params/result/error,
 * params.name/uri/ref/taskId/cursor/arguments/inputResponses/ requestState, params.ref.name/uri and
 * the io.modelcontextprotocol/ members of one params._meta (protocolVersion, clientCapabilities,
 * clientInfo, logLevel, subscriptionId) make the message GW_MSG_INVALID: the gateway must route on
 * exactly what the backend will read. */
gw_err_t gw_rpc_scan(const char *body, size_t len, unsigned max_depth, gw_rpc_t *out);

/* Is p[0..n) UTF-8 as RFC 3629 defines it (no overlong forms, surrogates, or code points above
 * U+10FFFF)? The check the scanner applies to every body, for text from elsewhere (a header
 * value echoed in a JSON reply). */
int gw_rpc_utf8_valid(const char *p, size_t n);

/* Writes body to out with the bytes of span replaced by the JSON string of s[0..n). */
gw_err_t gw_rpc_splice_string(gw_buf_t *out, const char *body, size_t len, gw_span_t span,
                              const char *s, size_t n);
/* Writes body to out with the bytes of span replaced by raw[0..n) (already JSON). */
gw_err_t gw_rpc_splice_raw(gw_buf_t *out, const char *body, size_t len, gw_span_t span,
                           const char *raw, size_t n);

/* Appends {"jsonrpc":"2.0","id":<id>,"error":{"code":code,"message":"msg"}} to out. id is raw
 * JSON (id_len 0 writes null). */
gw_err_t gw_rpc_error(gw_buf_t *out, const char *id, size_t id_len, int code, const char *msg);
/* Appends {"jsonrpc":"2.0","id":<id>,"result":<result>} where result is raw JSON. */
gw_err_t gw_rpc_result(gw_buf_t *out, const char *id, size_t id_len, const char *result,
                       size_t result_len);

#endif
