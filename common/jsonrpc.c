/* jsonrpc.c: one validating yajl SAX pass over a JSON-RPC body that records the routing fields
 * and their byte offsets, and the byte splices and replies built on them. */
#include <config.h>

#include <stdint.h>
#include <string.h>

#include <yajl/yajl_parse.h>

#include "common/jsonrpc.h"
#include "common/mcp.h"

/* Only members up to this depth matter: params (1) . _meta (2) . clientCapabilities (3) .
 * sampling (4) . tools (5). */
#define TRACKED_DEPTH 5

enum key {
    K_NONE = 0,
    /* top level */
    K_JSONRPC,
    K_ID,
    K_METHOD,
    K_PARAMS,
    K_RESULT,
    K_ERROR,
    /* params */
    K_NAME,
    K_URI,
    K_PROTOCOL_VERSION,
    K_CAPABILITIES,
    K_META,
    K_REF,
    K_TASK_ID,
    K_CURSOR,
    K_REQUEST_ID,
    K_INPUT_RESPONSES,
    K_REQUEST_STATE,
    K_ARGUMENTS,
    /* params._meta */
    K_PROGRESS_TOKEN,
    K_META_PROTOCOL_VERSION, /* io.modelcontextprotocol/protocolVersion: the era's claim */
    K_META_CLIENT_CAPS,
    K_META_CLIENT_INFO,
    K_META_LOG_LEVEL,
    K_META_SUBSCRIPTION_ID,
    /* params._meta.clientInfo and params._meta.clientCapabilities */
    K_CI_NAME,
    K_CI_VERSION,
    K_CC_SAMPLING,
    K_CC_ELICITATION,
    /* params.ref (completion/complete) */
    K_REF_NAME,
    K_REF_URI,
};

enum value_type { V_NULL, V_BOOL, V_NUMBER, V_STRING, V_MAP, V_ARRAY };

enum jsonrpc_member { JSONRPC_ABSENT, JSONRPC_OK, JSONRPC_BAD };

struct scan {
    yajl_handle h;
    const char *body;
    gw_rpc_t *out;
    unsigned depth; /* containers open now */
    unsigned max_depth;
    int too_deep;
    int top_type;    /* enum value_type of the top-level value, -1 before it starts */
    int params_open; /* params is a container that has not closed yet */
    int jsonrpc;     /* enum jsonrpc_member */
    int request_ids; /* params.requestId members seen: a repeated one matches nothing */
    uint64_t seen;   /* 1 << K_* of members that must not repeat */
    uint8_t key[TRACKED_DEPTH + 1]; /* the member being read in the container at each depth */
    /* the span whose length is set when the container at each depth closes */
    gw_span_t *closing[TRACKED_DEPTH + 2];
    int client_info_name;    /* params._meta.clientInfo.name is a string */
    int client_info_version; /* params._meta.clientInfo.version is a string */
};

/* The members of one params._meta that must not repeat; a repeated _meta forgets them. */
#define META_MEMBERS                                                                               \
    ((1ull << K_META_PROTOCOL_VERSION) | (1ull << K_META_CLIENT_CAPS) |                            \
     (1ull << K_META_CLIENT_INFO) | (1ull << K_META_LOG_LEVEL) | (1ull << K_META_SUBSCRIPTION_ID))

static void set_invalid(struct scan *st, const char *why)
{
    if (st->out->invalid_reason == NULL) {
        st->out->invalid_reason = why;
    }
}

static enum key top_key(const unsigned char *k, size_t n)
{
    switch (n) {
    case 2:
        return memcmp(k, "id", 2) == 0 ? K_ID : K_NONE;
    case 5:
        return memcmp(k, "error", 5) == 0 ? K_ERROR : K_NONE;
    case 6:
        if (memcmp(k, "method", 6) == 0) {
            return K_METHOD;
        }
        if (memcmp(k, "params", 6) == 0) {
            return K_PARAMS;
        }
        return memcmp(k, "result", 6) == 0 ? K_RESULT : K_NONE;
    case 7:
        return memcmp(k, "jsonrpc", 7) == 0 ? K_JSONRPC : K_NONE;
    default:
        return K_NONE;
    }
}

static enum key params_key(const unsigned char *k, size_t n)
{
    switch (n) {
    case 3:
        return memcmp(k, "uri", 3) == 0 ? K_URI : memcmp(k, "ref", 3) == 0 ? K_REF : K_NONE;
    case 4:
        return memcmp(k, "name", 4) == 0 ? K_NAME : K_NONE;
    case 5:
        return memcmp(k, "_meta", 5) == 0 ? K_META : K_NONE;
    case 6:
        return memcmp(k, "taskId", 6) == 0   ? K_TASK_ID
               : memcmp(k, "cursor", 6) == 0 ? K_CURSOR
                                             : K_NONE;
    case 9:
        return memcmp(k, "requestId", 9) == 0   ? K_REQUEST_ID
               : memcmp(k, "arguments", 9) == 0 ? K_ARGUMENTS
                                                : K_NONE;
    case 12:
        return memcmp(k, "capabilities", 12) == 0   ? K_CAPABILITIES
               : memcmp(k, "requestState", 12) == 0 ? K_REQUEST_STATE
                                                    : K_NONE;
    case 14:
        return memcmp(k, "inputResponses", 14) == 0 ? K_INPUT_RESPONSES : K_NONE;
    case 15:
        return memcmp(k, "protocolVersion", 15) == 0 ? K_PROTOCOL_VERSION : K_NONE;
    default:
        return K_NONE;
    }
}

/* The io.modelcontextprotocol/ members of params._meta (2026-07-28, spec basic/index#_meta). */
static enum key meta_key(const unsigned char *k, size_t n)
{
    static const char ns[] = "io.modelcontextprotocol/";
    static const struct {
        const char *name;
        enum key key;
    } names[] = {
        {"protocolVersion", K_META_PROTOCOL_VERSION}, {"clientCapabilities", K_META_CLIENT_CAPS},
        {"clientInfo", K_META_CLIENT_INFO},           {"logLevel", K_META_LOG_LEVEL},
        {"subscriptionId", K_META_SUBSCRIPTION_ID},
    };
    size_t nn = sizeof(ns) - 1;

    if (n == 13 && memcmp(k, "progressToken", 13) == 0) {
        return K_PROGRESS_TOKEN;
    }
    if (n <= nn || memcmp(k, ns, nn) != 0) {
        return K_NONE;
    }
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (n - nn == strlen(names[i].name) && memcmp(k + nn, names[i].name, n - nn) == 0) {
            return names[i].key;
        }
    }
    return K_NONE;
}

static unsigned capability_bit(const unsigned char *k, size_t n)
{
    if (n == 5 && memcmp(k, "roots", 5) == 0) {
        return GW_CAP_ROOTS;
    }
    if (n == 8 && memcmp(k, "sampling", 8) == 0) {
        return GW_CAP_SAMPLING;
    }
    if (n == 11 && memcmp(k, "elicitation", 11) == 0) {
        return GW_CAP_ELICITATION;
    }
    return 0;
}

/* Inside a callback yajl has consumed the bytes up to just past the current token. */
static uint32_t consumed(const struct scan *st)
{
    return (uint32_t)yajl_get_bytes_consumed(st->h);
}

/* The span of the string token that just ended, quotes included. When the string had no escapes
 * yajl hands out a pointer into the body and the start is known; otherwise (s is yajl's
 * unescaped copy) walk back to the opening quote: the first '"' not escaped by an odd run of
 * backslashes. */
static gw_span_t string_span(const struct scan *st, const unsigned char *s, size_t n)
{
    uint32_t end = consumed(st);
    uintptr_t b = (uintptr_t)st->body, p = (uintptr_t)s;
    size_t i;

    if (p > b && p + n == b + end - 1) {
        i = p - b - 1;
    } else {
        i = end - 1;
        while (i > 0) {
            i--;
            if (st->body[i] != '"') {
                continue;
            }
            size_t j = i;
            while (j > 0 && st->body[j - 1] == '\\') {
                j--;
            }
            if (((i - j) & 1) == 0) {
                break;
            }
        }
    }
    return (gw_span_t){(uint32_t)i, end - (uint32_t)i};
}

static gw_span_t number_span(const struct scan *st, size_t n)
{
    uint32_t end = consumed(st);
    return (gw_span_t){end - (uint32_t)n, (uint32_t)n};
}

/* Records the raw span of the value at hand in *span, of any type: a scalar ends here (n is the
 * length of a literal true/false/null), a container starts here and close_container ends it. */
static void value_span(struct scan *st, gw_span_t *span, enum value_type t, const unsigned char *s,
                       size_t n)
{
    switch (t) {
    case V_STRING:
        *span = string_span(st, s, n);
        break;
    case V_NUMBER:
    case V_NULL:
    case V_BOOL:
        *span = number_span(st, n);
        break;
    case V_MAP:
    case V_ARRAY:
        *span = (gw_span_t){consumed(st) - 1, 0};
        st->closing[st->depth + 1] = span;
        break;
    }
}

/* Is p[0..n) UTF-8 as RFC 3629 defines it: no overlong forms, no surrogates (U+D800..U+DFFF),
 * nothing above U+10FFFF? yajl's own check lets all three through. ASCII, most of any body, is
 * skipped eight bytes at a time. */
static int utf8_valid(const unsigned char *p, size_t n)
{
    size_t i = 0;

    while (i < n) {
        if (n - i >= 8) {
            uint64_t w;
            memcpy(&w, p + i, 8);
            if ((w & 0x8080808080808080ull) == 0) {
                i += 8;
                continue;
            }
        }
        unsigned c = p[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t more;
        unsigned lo = 0x80, hi = 0xbf; /* the range of the second byte */
        if (c >= 0xc2 && c <= 0xdf) {
            more = 1;
        } else if (c >= 0xe0 && c <= 0xef) {
            more = 2;
            if (c == 0xe0) {
                lo = 0xa0; /* overlong below U+0800 */
            } else if (c == 0xed) {
                hi = 0x9f; /* surrogates */
            }
        } else if (c >= 0xf0 && c <= 0xf4) {
            more = 3;
            if (c == 0xf0) {
                lo = 0x90; /* overlong below U+10000 */
            } else if (c == 0xf4) {
                hi = 0x8f; /* above U+10FFFF */
            }
        } else {
            return 0; /* a continuation byte, C0/C1 (always overlong) or F5..FF */
        }
        if (n - i - 1 < more || p[i + 1] < lo || p[i + 1] > hi) {
            return 0;
        }
        for (size_t k = 2; k <= more; k++) {
            if ((p[i + k] & 0xc0) != 0x80) {
                return 0;
            }
        }
        i += more + 1;
    }
    return 1;
}

int gw_rpc_utf8_valid(const char *p, size_t n)
{
    return utf8_valid((const unsigned char *)p, n);
}

/* Copies an unescaped string for matching; 0 when it does not fit, holds a NUL (which a C string
 * would silently cut: "tools/call\u0000x" must not be taken for "tools/call") or is not UTF-8
 * (yajl turns a lone "\udc00" escape into surrogate bytes, which must not reach a backend or a
 * reply as a name). */
static int copy_text(char *dst, size_t cap, const unsigned char *s, size_t n)
{
    if (n >= cap || memchr(s, '\0', n) != NULL || !utf8_valid(s, n)) {
        dst[0] = '\0';
        return 0;
    }
    memcpy(dst, s, n);
    dst[n] = '\0';
    return 1;
}

static void top_value(struct scan *st, enum key key, enum value_type t, const unsigned char *s,
                      size_t n)
{
    gw_rpc_t *out = st->out;

    switch (key) {
    case K_JSONRPC:
        st->jsonrpc =
            t == V_STRING && n == 3 && memcmp(s, "2.0", 3) == 0 ? JSONRPC_OK : JSONRPC_BAD;
        break;
    case K_ID:
        if (t == V_STRING) {
            out->id = string_span(st, s, n);
        } else if (t == V_NUMBER) {
            out->id = number_span(st, n);
        } else if (t == V_NULL) {
            /* the span of the null token too, so an error reply's id can be spliced */
            out->id = (gw_span_t){consumed(st) - 4, 4};
            out->id_is_null = 1;
        } else {
            set_invalid(st, "id must be a string or number");
        }
        break;
    case K_METHOD:
        if (t != V_STRING) {
            set_invalid(st, "method must be a string");
            break;
        }
        out->method = string_span(st, s, n);
        out->method_too_long = !copy_text(out->method_str, sizeof(out->method_str), s, n);
        break;
    case K_PARAMS:
        if (t != V_MAP && t != V_ARRAY) {
            set_invalid(st, "params must be an object or array");
            break;
        }
        out->params.off = consumed(st) - 1;
        st->params_open = 1;
        break;
    case K_RESULT:
        out->has_result = 1;
        break;
    case K_ERROR:
        out->has_error = 1;
        if (t != V_MAP) {
            set_invalid(st, "error must be an object");
        }
        break;
    default:
        break;
    }
}

static void params_value(struct scan *st, enum key key, enum value_type t, const unsigned char *s,
                         size_t n)
{
    gw_rpc_t *out = st->out;

    switch (key) {
    case K_META:
        value_span(st, &out->meta, t, s, n);
        return;
    case K_INPUT_RESPONSES:
        value_span(st, &out->input_responses, t, s, n);
        return;
    case K_REQUEST_STATE:
        value_span(st, &out->request_state, t, s, n);
        return;
    case K_ARGUMENTS:
        value_span(st, &out->arguments, t, s, n);
        return;
    default:
        break;
    }
    if (key == K_REQUEST_ID) {
        if (st->request_ids == 1 && t == V_STRING) {
            out->request_id = string_span(st, s, n);
        } else if (st->request_ids == 1 && t == V_NUMBER) {
            out->request_id = number_span(st, n);
        }
        return;
    }
    if (t != V_STRING) {
        return; /* wrong types are the backend's to reject; nothing here is routed on them */
    }
    switch (key) {
    case K_NAME:
        out->name = string_span(st, s, n);
        out->name_too_long = !copy_text(out->name_str, sizeof(out->name_str), s, n);
        break;
    case K_URI:
        out->uri = string_span(st, s, n);
        break;
    case K_PROTOCOL_VERSION:
        out->protocol_version = string_span(st, s, n);
        break;
    case K_TASK_ID:
        out->task_id = string_span(st, s, n);
        break;
    case K_CURSOR:
        out->cursor = string_span(st, s, n);
        break;
    default:
        break;
    }
}

/* The io.modelcontextprotocol/ members of params._meta. */
static void meta_value(struct scan *st, enum key key, enum value_type t, const unsigned char *s,
                       size_t n)
{
    gw_rpc_t *out = st->out;

    switch (key) {
    case K_META_PROTOCOL_VERSION:
        value_span(st, &out->meta_protocol_version, t, s, n);
        if (t == V_STRING) {
            copy_text(out->meta_protocol_version_str, sizeof(out->meta_protocol_version_str), s, n);
        }
        break;
    case K_META_CLIENT_CAPS:
        value_span(st, &out->meta_client_capabilities, t, s, n);
        break;
    case K_META_CLIENT_INFO:
        value_span(st, &out->meta_client_info, t, s, n);
        break;
    case K_META_LOG_LEVEL:
        value_span(st, &out->meta_log_level, t, s, n);
        if (t == V_STRING) {
            copy_text(out->meta_log_level_str, sizeof(out->meta_log_level_str), s, n);
        }
        break;
    case K_META_SUBSCRIPTION_ID:
        value_span(st, &out->meta_subscription_id, t, s, n);
        break;
    default:
        break;
    }
}

/* Every value (scalar or container start) passes here before its container is entered. */
static int on_value(struct scan *st, enum value_type t, const unsigned char *s, size_t n)
{
    unsigned d = st->depth;

    if (d == 0) {
        st->top_type = (int)t;
        return 1;
    }
    if (d > TRACKED_DEPTH || st->key[d] == K_NONE) {
        return 1;
    }
    switch (d) {
    case 1:
        top_value(st, (enum key)st->key[1], t, s, n);
        break;
    case 2:
        params_value(st, (enum key)st->key[2], t, s, n);
        break;
    case 3:
        meta_value(st, (enum key)st->key[3], t, s, n);
        /* params._meta.progressToken, params.ref.name and params.ref.uri */
        if (st->key[3] == K_REF_NAME && t == V_STRING) {
            st->out->ref_name = string_span(st, s, n);
            st->out->ref_name_too_long =
                !copy_text(st->out->ref_name_str, sizeof(st->out->ref_name_str), s, n);
        } else if (st->key[3] == K_REF_URI && t == V_STRING) {
            st->out->ref_uri = string_span(st, s, n);
        } else if (st->key[3] == K_PROGRESS_TOKEN && t == V_STRING) {
            st->out->progress_token = string_span(st, s, n);
        } else if (st->key[3] == K_PROGRESS_TOKEN && t == V_NUMBER) {
            st->out->progress_token = number_span(st, n);
        }
        break;
    case 4:
        if (st->key[4] == K_CI_NAME) {
            st->client_info_name = t == V_STRING;
        } else if (st->key[4] == K_CI_VERSION) {
            st->client_info_version = t == V_STRING;
        }
        break;
    default:
        break;
    }
    return 1;
}

static int on_null(void *ctx)
{
    return on_value(ctx, V_NULL, NULL, 4);
}

static int on_boolean(void *ctx, int v)
{
    return on_value(ctx, V_BOOL, NULL, v ? 4 : 5);
}

static int on_number(void *ctx, const char *s, size_t n)
{
    return on_value(ctx, V_NUMBER, (const unsigned char *)s, n);
}

static int on_string(void *ctx, const unsigned char *s, size_t n)
{
    return on_value(ctx, V_STRING, s, n);
}

static int open_container(struct scan *st, enum value_type t)
{
    if (st->depth >= st->max_depth) {
        st->too_deep = 1;
        return 0;
    }
    on_value(st, t, NULL, 0);
    st->depth++;
    if (st->depth <= TRACKED_DEPTH) {
        st->key[st->depth] = K_NONE;
    }
    return 1;
}

static int close_container(struct scan *st)
{
    if (st->depth == 2 && st->params_open) {
        st->out->params.len = consumed(st) - st->out->params.off;
        st->params_open = 0;
    }
    if (st->depth <= TRACKED_DEPTH + 1 && st->closing[st->depth] != NULL) {
        gw_span_t *span = st->closing[st->depth];
        span->len = consumed(st) - span->off;
        st->closing[st->depth] = NULL;
    }
    st->depth--;
    return 1;
}

static int on_start_map(void *ctx)
{
    return open_container(ctx, V_MAP);
}

static int on_start_array(void *ctx)
{
    return open_container(ctx, V_ARRAY);
}

static int on_end(void *ctx)
{
    return close_container(ctx);
}

static void note_member(struct scan *st, enum key key)
{
    uint64_t bit = 1ull << key;
    if (st->seen & bit) {
        set_invalid(st, "duplicate member");
    }
    st->seen |= bit;
}

/* A (repeated) params._meta starts: what an earlier one said no longer counts. */
static void forget_meta(struct scan *st)
{
    gw_rpc_t *out = st->out;

    out->progress_token = (gw_span_t){0, 0};
    out->meta = (gw_span_t){0, 0};
    out->meta_claim = 0;
    out->meta_protocol_version = (gw_span_t){0, 0};
    out->meta_protocol_version_str[0] = '\0';
    out->meta_client_capabilities = (gw_span_t){0, 0};
    out->meta_caps = 0;
    out->meta_client_info = (gw_span_t){0, 0};
    out->meta_log_level = (gw_span_t){0, 0};
    out->meta_log_level_str[0] = '\0';
    out->meta_subscription_id = (gw_span_t){0, 0};
    st->client_info_name = 0;
    st->client_info_version = 0;
    st->seen &= ~META_MEMBERS;
}

/* The members of params._meta.clientCapabilities and of its sampling and elicitation. */
static enum key client_caps_key(struct scan *st, const unsigned char *k, size_t n)
{
    unsigned bit = capability_bit(k, n);
    st->out->meta_caps |= bit;
    return bit == GW_CAP_SAMPLING      ? K_CC_SAMPLING
           : bit == GW_CAP_ELICITATION ? K_CC_ELICITATION
                                       : K_NONE;
}

static int on_map_key(void *ctx, const unsigned char *k, size_t n)
{
    struct scan *st = ctx;
    enum key key = K_NONE;

    switch (st->depth) {
    case 1:
        key = top_key(k, n);
        if (key != K_NONE) {
            note_member(st, key);
        }
        break;
    case 2:
        if (st->key[1] != K_PARAMS) {
            break;
        }
        key = params_key(k, n);
        if (key == K_NAME || key == K_URI || key == K_REF || key == K_TASK_ID || key == K_CURSOR ||
            key == K_INPUT_RESPONSES || key == K_REQUEST_STATE || key == K_ARGUMENTS) {
            note_member(st, key);
        } else if (key == K_CAPABILITIES) {
            st->out->caps = 0; /* a repeated member: the backend's parser keeps the last */
        } else if (key == K_META) {
            forget_meta(st);
        } else if (key == K_REQUEST_ID && ++st->request_ids > 1) {
            st->out->request_id = (gw_span_t){0, 0};
        }
        break;
    case 3:
        if (st->key[1] != K_PARAMS) {
            break;
        }
        if (st->key[2] == K_CAPABILITIES) {
            st->out->caps |= capability_bit(k, n);
        } else if (st->key[2] == K_META) {
            key = meta_key(k, n);
            if (key != K_NONE && key != K_PROGRESS_TOKEN) {
                note_member(st, key);
            }
            if (key == K_META_PROTOCOL_VERSION) {
                st->out->meta_claim = 1; /* whatever its value (the SDK's hasEnvelopeClaim) */
            }
        } else if (st->key[2] == K_REF && n == 4 && memcmp(k, "name", 4) == 0) {
            key = K_REF_NAME;
            note_member(st, key);
        } else if (st->key[2] == K_REF && n == 3 && memcmp(k, "uri", 3) == 0) {
            key = K_REF_URI;
            note_member(st, key);
        }
        break;
    case 4:
        if (st->key[3] == K_META_CLIENT_INFO) {
            key = n == 4 && memcmp(k, "name", 4) == 0      ? K_CI_NAME
                  : n == 7 && memcmp(k, "version", 7) == 0 ? K_CI_VERSION
                                                           : K_NONE;
        } else if (st->key[3] == K_META_CLIENT_CAPS) {
            key = client_caps_key(st, k, n);
        }
        break;
    case 5:
        if (st->key[4] == K_CC_SAMPLING && st->key[3] == K_META_CLIENT_CAPS && n == 5 &&
            memcmp(k, "tools", 5) == 0) {
            st->out->meta_caps |= GW_CAP_SAMPLING_TOOLS;
        } else if (st->key[4] == K_CC_ELICITATION && st->key[3] == K_META_CLIENT_CAPS && n == 3 &&
                   memcmp(k, "url", 3) == 0) {
            st->out->meta_caps |= GW_CAP_ELICITATION_URL;
        }
        break;
    default:
        return 1;
    }
    st->key[st->depth] = (uint8_t)key;
    return 1;
}

static const yajl_callbacks callbacks = {
    .yajl_null = on_null,
    .yajl_boolean = on_boolean,
    .yajl_number = on_number,
    .yajl_string = on_string,
    .yajl_start_map = on_start_map,
    .yajl_map_key = on_map_key,
    .yajl_end_map = on_end,
    .yajl_start_array = on_start_array,
    .yajl_end_array = on_end,
};

static void classify(struct scan *st)
{
    gw_rpc_t *out = st->out;
    int has_id = out->id.len > 0 && !out->id_is_null;

    if (st->top_type == V_ARRAY) {
        out->kind = GW_MSG_BATCH;
        return;
    }
    out->kind = GW_MSG_INVALID;
    if (st->top_type != V_MAP) {
        out->invalid_reason = "not a JSON-RPC object";
        return;
    }
    if (out->invalid_reason != NULL) {
        return;
    }
    out->meta_client_info_ok = out->meta_client_info.len > 0 &&
                               st->body[out->meta_client_info.off] == '{' && st->client_info_name &&
                               st->client_info_version;
    if (st->jsonrpc != JSONRPC_OK) {
        out->invalid_reason = "jsonrpc must be \"2.0\"";
    } else if (out->method.len > 0) {
        if (out->has_result || out->has_error) {
            out->invalid_reason = "a request has no result or error";
        } else if (out->id_is_null) {
            out->invalid_reason = "id must be a string or number";
        } else {
            out->kind = has_id ? GW_MSG_REQUEST : GW_MSG_NOTIFICATION;
        }
    } else if (out->has_result || out->has_error) {
        if (out->has_result && out->has_error) {
            out->invalid_reason = "a response has either result or error";
        } else if (!has_id && !(out->id_is_null && out->has_error)) {
            out->invalid_reason = "id must be a string or number";
        } else {
            out->kind = GW_MSG_RESPONSE;
        }
    } else {
        out->invalid_reason = "method must be a string";
    }
}

gw_err_t gw_rpc_scan(const char *body, size_t len, unsigned max_depth, gw_rpc_t *out)
{
    struct scan st;
    yajl_status s;
    gw_err_t err = GW_OK;

    memset(out, 0, sizeof(*out));
    if (len > UINT32_MAX) {
        return GW_ETOOBIG;
    }
    /* JSON text is UTF-8 (RFC 8259); what yajl's looser check would pass must not be routed. */
    if (!utf8_valid((const unsigned char *)body, len)) {
        return GW_EPARSE;
    }
    memset(&st, 0, sizeof(st));
    st.body = body;
    st.out = out;
    st.max_depth = max_depth != 0 ? max_depth : GW_RPC_DEFAULT_MAX_DEPTH;
    st.top_type = -1;
    st.h = yajl_alloc(&callbacks, NULL, &st);
    if (st.h == NULL) {
        return GW_ENOMEM;
    }
    yajl_config(st.h, yajl_dont_validate_strings, 0);
    s = yajl_parse(st.h, (const unsigned char *)body, len);
    if (s == yajl_status_ok) {
        s = yajl_complete_parse(st.h);
    }
    if (s != yajl_status_ok) {
        err = st.too_deep ? GW_ETOOBIG : GW_EPARSE;
    }
    yajl_free(st.h);
    if (err != GW_OK) {
        memset(out, 0, sizeof(*out));
        return err;
    }
    classify(&st);
    return GW_OK;
}
