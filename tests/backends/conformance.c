/* mcpgw-conformance: an MCP backend with exactly what the official conformance suite's server
 * scenarios call, so the suite can run through the gateway (tests/conformance/run). */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <h2o.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#define PROGRAM "mcpgw-conformance"
#define SERVER_VERSION "1.0.0"
#define LATEST_PROTOCOL_VERSION "2025-11-25"
#define STEP_MS 50          /* the pause between the steps of a slow tool */
#define RESUME_RETRY_MS 500 /* the retry a stream closed early advises */
#define RECONNECT_STEPS 2   /* steps from test_reconnection's early close to its result */
#define MAX_REQUEST_BODY (4 * 1024 * 1024)
#define MAX_JSON_DEPTH 64 /* yajl_tree_free recurses; deeper bodies are refused before parsing */
#define MAX_SESSIONS 4096
#define MAX_SUBSCRIPTIONS 64
#define MAX_URI_LEN 2048
#define SESSION_PREFIX "conf-"
#define SESSION_RANDOM_BYTES 16
#define SESSION_ID_LEN (sizeof(SESSION_PREFIX) - 1 + 2 * SESSION_RANDOM_BYTES)
#define EVENT_ID_MAX 32
#define SHUTDOWN_GRACE_MS 1000
#define STOP_POLL_MS 250
#define ACCEPT_BATCH 16

/* A 1x1 red PNG and 16 samples of 8 kHz 8-bit silence as WAV, base64. */
static const char red_pixel_png[] =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAA"
    "MBAQDJ/pLvAAAAAElFTkSuQmCC";
static const char silence_wav[] =
    "UklGRjQAAABXQVZFZm10IBAAAAABAAEAQB8AAEAfAAABAAgAZGF0YRAAAACAgICAgI"
    "CAgICAgICAgICA";

static const char *const supported_versions[] = {"2025-03-26", "2025-06-18", "2025-11-25"};

/* RFC 5424 severities as MCP names them, least severe first. */
static const char *const log_levels[] = {"debug", "info",     "notice", "warning",
                                         "error", "critical", "alert",  "emergency"};
#define LOG_LEVEL_INFO 1

typedef struct cf_server cf_server_t;
typedef struct cf_session cf_session_t;
typedef struct cf_stream cf_stream_t;
typedef struct cf_call cf_call_t;
typedef struct cf_tool cf_tool_t;

/* A JSON-RPC id or progress token: a string, or a number kept as its JSON text. */
typedef struct cf_id {
    int is_string;
    char *text; /* NUL-terminated; owned only where the holder says so */
    size_t len;
} cf_id_t;

/* An SSE response in progress. It lives in its request's pool; when h2o lets the request go,
 * on_gone tells the owner, which must forget the pointer. */
struct cf_stream {
    h2o_generator_t generator;
    cf_server_t *srv;
    h2o_req_t *req;                /* NULL once h2o has stopped the response */
    H2O_VECTOR(h2o_iovec_t) queue; /* events waiting for the previous h2o_send to complete */
    int sending;
    int end_queued;
    int end_sent;
    void *owner;
    void (*on_gone)(void *owner);
};

typedef struct cf_subscription {
    struct cf_subscription *next;
    char uri[];
} cf_subscription_t;

/* A POST stream test_reconnection closed before its result: a GET with Last-Event-ID resumes it. */
typedef struct cf_resume {
    struct cf_resume *next;
    char stream_key[EVENT_ID_MAX];
    char *result; /* the final response's JSON once ready (malloc'd) */
    size_t result_len;
    cf_stream_t *waiter; /* a resuming GET that came before the result */
} cf_resume_t;

struct cf_session {
    cf_session_t *next;
    cf_server_t *srv;
    unsigned refs; /* the session list, calls and pending updates */
    int live;      /* 0 once deleted */
    int log_level; /* index into log_levels: less severe messages are dropped */
    int client_sampling;
    int client_elicitation;
    unsigned next_stream;
    cf_stream_t *get_stream;
    cf_call_t *calls;
    cf_subscription_t *subscriptions;
    size_t nsubscriptions;
    cf_resume_t *resumes;
    char id[SESSION_ID_LEN + 1];
};

/* A tools/call that answers later: on timers, or once the client answers our request. */
struct cf_call {
    cf_call_t *next;       /* in session->calls */
    cf_session_t *session; /* counted reference */
    const cf_tool_t *tool;
    cf_stream_t *stream; /* NULL once the client went away or the stream was closed early */
    h2o_timeout_entry_t timer;
    unsigned step;
    cf_id_t id;             /* of the tools/call, owned */
    cf_id_t progress_token; /* owned; text NULL when the request had none */
    int64_t asked;          /* id of our request to the client; 0 when none is outstanding */
    cf_resume_t *resume;    /* test_reconnection only; owned by the session */
};

/* A request being answered; lives on the handler's stack. */
typedef struct cf_rpc {
    cf_server_t *srv;
    h2o_req_t *req;
    cf_session_t *session; /* NULL for initialize */
    const char *method;
    cf_id_t id; /* borrowed from the parse tree */
    yajl_val params;
} cf_rpc_t;

struct cf_tool {
    const char *name;
    const char *description;
    const char *input_schema; /* JSON text */
    int (*call)(cf_rpc_t *r, const cf_tool_t *tool, yajl_val args);
    void (*step)(cf_call_t *call);                   /* a timer step came due */
    void (*answered)(cf_call_t *call, yajl_val msg); /* the client answered our request */
    const char *form;    /* elicitation tools: the requestedSchema, JSON text */
    const char *summary; /* elicitation tools: how the result text starts */
};

typedef struct cf_prompt {
    const char *name;
    const char *description;
    const char *const *arguments; /* all required; NULL-terminated, or NULL for none */
    void (*messages)(yajl_gen g, yajl_val args);
} cf_prompt_t;

typedef struct cf_resource {
    const char *uri;
    const char *name;
    const char *description;
    const char *mime_type;
    const char *text; /* or */
    const char *blob;
} cf_resource_t;

/* A notifications/resources/updated due a little after a subscription. */
typedef struct cf_update {
    h2o_timeout_entry_t timer;
    cf_session_t *session; /* counted reference */
    char uri[];
} cf_update_t;

struct cf_server {
    h2o_globalconf_t config;
    h2o_context_t ctx;
    h2o_accept_ctx_t accept_ctx;
    h2o_evloop_t *loop;
    h2o_socket_t *listener;
    h2o_timeout_t step_timeout;
    const char *address;
    cf_session_t *sessions;
    size_t nsessions;
    size_t open_streams;
    int64_t last_ask_id;
    yajl_val *tool_schemas; /* parsed input_schema of each tool */
    yajl_val *tool_forms;   /* parsed form of each tool, or NULL */
};

typedef struct cf_handler {
    h2o_handler_t super;
    cf_server_t *srv;
} cf_handler_t;

/* ---- small helpers ---- */

/* A malloc'd formatted string, or NULL when out of memory. */
static char *format(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *format(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (len < 0) {
        return NULL;
    }
    char *buf = malloc((size_t)len + 1);
    if (buf == NULL) {
        return NULL;
    }
    va_start(ap, fmt);
    vsnprintf(buf, (size_t)len + 1, fmt, ap);
    va_end(ap);
    return buf;
}

static yajl_val member(yajl_val obj, const char *key)
{
    if (!YAJL_IS_OBJECT(obj)) {
        return NULL;
    }
    for (size_t i = 0; i != obj->u.object.len; ++i) {
        if (strcmp(obj->u.object.keys[i], key) == 0) {
            return obj->u.object.values[i];
        }
    }
    return NULL;
}

static const char *member_string(yajl_val obj, const char *key)
{
    yajl_val v = member(obj, key);

    return YAJL_IS_STRING(v) ? YAJL_GET_STRING(v) : NULL;
}

/* Borrows the text of a string or number value as an id; -1 for any other value. */
static int id_borrow(cf_id_t *id, yajl_val v)
{
    if (YAJL_IS_STRING(v)) {
        id->is_string = 1;
        id->text = YAJL_GET_STRING(v);
    } else if (YAJL_IS_NUMBER(v)) {
        id->is_string = 0;
        id->text = YAJL_GET_NUMBER(v);
    } else {
        return -1;
    }
    id->len = strlen(id->text);
    return 0;
}

static int id_dup(cf_id_t *dst, const cf_id_t *src)
{
    *dst = *src;
    if ((dst->text = malloc(src->len + 1)) == NULL) {
        return -1;
    }
    memcpy(dst->text, src->text, src->len + 1);
    return 0;
}

static int id_equals(const cf_id_t *id, yajl_val v)
{
    cf_id_t other;

    return id->text != NULL && id_borrow(&other, v) == 0 && other.is_string == id->is_string &&
           other.len == id->len && memcmp(other.text, id->text, id->len) == 0;
}

/* Bounds the nesting of a JSON text before it is parsed; strings may hold any bracket. */
static int json_depth_ok(const char *p, size_t len, unsigned max)
{
    unsigned depth = 0;
    int in_string = 0;

    for (size_t i = 0; i < len; ++i) {
        char ch = p[i];
        if (in_string) {
            if (ch == '\\') {
                ++i;
            } else if (ch == '"') {
                in_string = 0;
            }
        } else if (ch == '"') {
            in_string = 1;
        } else if (ch == '[' || ch == '{') {
            if (++depth > max) {
                return 0;
            }
        } else if ((ch == ']' || ch == '}') && depth != 0) {
            --depth;
        }
    }
    return 1;
}

/* ---- JSON output ---- */

static void gen_str(yajl_gen g, const char *s)
{
    yajl_gen_string(g, (const unsigned char *)s, strlen(s));
}

static void gen_kv(yajl_gen g, const char *key, const char *value)
{
    gen_str(g, key);
    gen_str(g, value);
}

static void gen_id(yajl_gen g, const cf_id_t *id)
{
    if (id->text == NULL) {
        yajl_gen_null(g);
    } else if (id->is_string) {
        yajl_gen_string(g, (const unsigned char *)id->text, id->len);
    } else {
        yajl_gen_number(g, id->text, id->len);
    }
}

/* Writes a parsed value back out; depth is bounded by json_depth_ok or by our own constants. */
static void gen_value(yajl_gen g, yajl_val v)
{
    if (v == NULL) {
        yajl_gen_null(g);
        return;
    }
    switch (v->type) {
    case yajl_t_string:
        gen_str(g, v->u.string);
        break;
    case yajl_t_number:
        yajl_gen_number(g, v->u.number.r, strlen(v->u.number.r));
        break;
    case yajl_t_object:
        yajl_gen_map_open(g);
        for (size_t i = 0; i != v->u.object.len; ++i) {
            gen_str(g, v->u.object.keys[i]);
            gen_value(g, v->u.object.values[i]);
        }
        yajl_gen_map_close(g);
        break;
    case yajl_t_array:
        yajl_gen_array_open(g);
        for (size_t i = 0; i != v->u.array.len; ++i) {
            gen_value(g, v->u.array.values[i]);
        }
        yajl_gen_array_close(g);
        break;
    case yajl_t_true:
        yajl_gen_bool(g, 1);
        break;
    case yajl_t_false:
        yajl_gen_bool(g, 0);
        break;
    default:
        yajl_gen_null(g);
        break;
    }
}

static h2o_iovec_t gen_buffer(yajl_gen g)
{
    const unsigned char *buf;
    size_t len;

    yajl_gen_get_buf(g, &buf, &len);
    return h2o_iovec_init(buf, len);
}

/* A value as compact JSON text, malloc'd; NULL when out of memory. */
static char *json_text(yajl_val v)
{
    yajl_gen g = yajl_gen_alloc(NULL);

    if (g == NULL) {
        return NULL;
    }
    gen_value(g, v);
    h2o_iovec_t out = gen_buffer(g);
    char *text = malloc(out.len + 1);
    if (text != NULL) {
        memcpy(text, out.base, out.len);
        text[out.len] = '\0';
    }
    yajl_gen_free(g);
    return text;
}

/* Starts {"jsonrpc":"2.0","id":ID,"result": ; the caller writes the result and closes the map. */
static yajl_gen response_begin(const cf_id_t *id)
{
    yajl_gen g = yajl_gen_alloc(NULL);

    if (g == NULL) {
        return NULL;
    }
    yajl_gen_map_open(g);
    gen_kv(g, "jsonrpc", "2.0");
    gen_str(g, "id");
    gen_id(g, id);
    gen_str(g, "result");
    return g;
}

/* Starts a notification up to its params object, which the caller fills and closes twice. */
static yajl_gen notification_begin(const char *method)
{
    yajl_gen g = yajl_gen_alloc(NULL);

    if (g == NULL) {
        return NULL;
    }
    yajl_gen_map_open(g);
    gen_kv(g, "jsonrpc", "2.0");
    gen_kv(g, "method", method);
    gen_str(g, "params");
    yajl_gen_map_open(g);
    return g;
}

static void gen_text_content(yajl_gen g, const char *text)
{
    yajl_gen_map_open(g);
    gen_kv(g, "type", "text");
    gen_kv(g, "text", text);
    yajl_gen_map_close(g);
}

static void gen_image_content(yajl_gen g)
{
    yajl_gen_map_open(g);
    gen_kv(g, "type", "image");
    gen_kv(g, "data", red_pixel_png);
    gen_kv(g, "mimeType", "image/png");
    yajl_gen_map_close(g);
}

static void gen_resource_content(yajl_gen g, const char *uri, const char *mime_type,
                                 const char *text)
{
    yajl_gen_map_open(g);
    gen_kv(g, "type", "resource");
    gen_str(g, "resource");
    yajl_gen_map_open(g);
    gen_kv(g, "uri", uri);
    gen_kv(g, "mimeType", mime_type);
    gen_kv(g, "text", text);
    yajl_gen_map_close(g);
    yajl_gen_map_close(g);
}

/* A CallToolResult with one text item. */
static void gen_text_result(yajl_gen g, const char *text, int is_error)
{
    yajl_gen_map_open(g);
    gen_str(g, "content");
    yajl_gen_array_open(g);
    gen_text_content(g, text);
    yajl_gen_array_close(g);
    if (is_error) {
        gen_str(g, "isError");
        yajl_gen_bool(g, 1);
    }
    yajl_gen_map_close(g);
}

/* ---- HTTP answers ---- */

static void add_header(h2o_req_t *req, const h2o_token_t *token, const char *value)
{
    h2o_add_header(&req->pool, &req->res.headers, token, NULL, value, strlen(value));
}

static int send_body(h2o_req_t *req, int status, const char *reason, const char *content_type,
                     h2o_iovec_t body)
{
    req->res.status = status;
    req->res.reason = reason;
    if (content_type != NULL) {
        add_header(req, H2O_TOKEN_CONTENT_TYPE, content_type);
    }
    req->res.content_length = body.len;
    h2o_send_inline(req, body.base, body.len);
    return 0;
}

static int send_empty(h2o_req_t *req, int status, const char *reason)
{
    return send_body(req, status, reason, NULL, h2o_iovec_init("", 0));
}

/* Answers with a JSON-RPC error; HTTP-level errors (4xx, 5xx) use the same body. */
static int send_error(h2o_req_t *req, int status, const char *reason, const cf_id_t *id, int code,
                      const char *message)
{
    static const cf_id_t null_id = {0, NULL, 0};
    yajl_gen g = yajl_gen_alloc(NULL);

    if (g == NULL) {
        return send_empty(req, 500, "Internal Server Error");
    }
    yajl_gen_map_open(g);
    gen_kv(g, "jsonrpc", "2.0");
    gen_str(g, "id");
    gen_id(g, id != NULL ? id : &null_id);
    gen_str(g, "error");
    yajl_gen_map_open(g);
    gen_str(g, "code");
    yajl_gen_integer(g, code);
    gen_kv(g, "message", message);
    yajl_gen_map_close(g);
    yajl_gen_map_close(g);
    send_body(req, status, reason, "application/json", gen_buffer(g));
    yajl_gen_free(g);
    return 0;
}

static int rpc_error(cf_rpc_t *r, int code, const char *message)
{
    return send_error(r->req, 200, "OK", &r->id, code, message);
}

static int rpc_no_memory(cf_rpc_t *r)
{
    return send_error(r->req, 500, "Internal Server Error", &r->id, -32603, "Out of memory");
}

/* Closes the response begun by response_begin and sends it as application/json. */
static int rpc_answer(cf_rpc_t *r, yajl_gen g)
{
    yajl_gen_map_close(g);
    send_body(r->req, 200, "OK", "application/json", gen_buffer(g));
    yajl_gen_free(g);
    return 0;
}

/* ---- SSE streams ---- */

static void stream_flush(cf_stream_t *s)
{
    if (s->req == NULL || s->sending || s->end_sent) {
        return;
    }
    if (s->queue.size == 0 && !s->end_queued) {
        return;
    }
    h2o_iovec_t *bufs = s->queue.entries;
    size_t n = s->queue.size;
    h2o_send_state_t state = H2O_SEND_STATE_IN_PROGRESS;
    memset(&s->queue, 0, sizeof(s->queue));
    if (s->end_queued) {
        state = H2O_SEND_STATE_FINAL;
        s->end_sent = 1;
    } else {
        s->sending = 1;
    }
    h2o_send(s->req, bufs, n, state);
}

static void on_stream_proceed(h2o_generator_t *generator, h2o_req_t *req)
{
    cf_stream_t *s = H2O_STRUCT_FROM_MEMBER(cf_stream_t, generator, generator);

    s->sending = 0;
    stream_flush(s);
}

static void on_stream_stop(h2o_generator_t *generator, h2o_req_t *req)
{
    H2O_STRUCT_FROM_MEMBER(cf_stream_t, generator, generator)->req = NULL;
}

/* Runs when the request's pool goes: the response ended or the client went away. */
static void on_stream_dispose(void *p)
{
    cf_stream_t *s = p;

    s->req = NULL;
    --s->srv->open_streams;
    if (s->on_gone != NULL) {
        s->on_gone(s->owner);
    }
}

/* Starts a 200 text/event-stream answer to req; NULL when out of memory. */
static cf_stream_t *stream_open(cf_server_t *srv, h2o_req_t *req, void *owner,
                                void (*on_gone)(void *owner))
{
    cf_stream_t *s = h2o_mem_alloc_shared(&req->pool, sizeof(*s), on_stream_dispose);

    memset(s, 0, sizeof(*s));
    s->generator.proceed = on_stream_proceed;
    s->generator.stop = on_stream_stop;
    s->srv = srv;
    s->req = req;
    s->owner = owner;
    s->on_gone = on_gone;
    ++srv->open_streams;
    req->res.status = 200;
    req->res.reason = "OK";
    add_header(req, H2O_TOKEN_CONTENT_TYPE, "text/event-stream");
    add_header(req, H2O_TOKEN_CACHE_CONTROL, "no-cache");
    h2o_start_response(req, &s->generator);
    return s;
}

/* The owner lets go: no more on_gone. */
static void stream_detach(cf_stream_t *s)
{
    s->owner = NULL;
    s->on_gone = NULL;
}

/* Queues raw SSE text (copied). */
static void stream_write(cf_stream_t *s, const char *text, size_t len)
{
    if (s->req == NULL || s->end_queued) {
        return;
    }
    h2o_vector_reserve(&s->req->pool, &s->queue, s->queue.size + 1);
    s->queue.entries[s->queue.size++] = h2o_strdup(&s->req->pool, text, len);
    stream_flush(s);
}

/* Queues one JSON-RPC message as an SSE event, with an event id when event_id is not NULL. */
static void stream_message(cf_stream_t *s, h2o_iovec_t json, const char *event_id)
{
    char head[EVENT_ID_MAX + 32];
    int n = event_id != NULL
                ? snprintf(head, sizeof(head), "id: %s\nevent: message\ndata: ", event_id)
                : snprintf(head, sizeof(head), "event: message\ndata: ");

    if (s->req == NULL || s->end_queued || n < 0 || (size_t)n >= sizeof(head)) {
        return;
    }
    h2o_mem_pool_t *pool = &s->req->pool;
    char *buf = h2o_mem_alloc_pool(pool, (size_t)n + json.len + 2);
    memcpy(buf, head, (size_t)n);
    memcpy(buf + n, json.base, json.len);
    memcpy(buf + n + json.len, "\n\n", 2);
    h2o_vector_reserve(pool, &s->queue, s->queue.size + 1);
    s->queue.entries[s->queue.size++] = h2o_iovec_init(buf, (size_t)n + json.len + 2);
    stream_flush(s);
}

/* Sends g's complete message (if g is not NULL) and frees g. */
static void stream_send_gen(cf_stream_t *s, yajl_gen g)
{
    if (g == NULL) {
        return;
    }
    if (s != NULL) {
        stream_message(s, gen_buffer(g), NULL);
    }
    yajl_gen_free(g);
}

static void stream_end(cf_stream_t *s)
{
    s->end_queued = 1;
    stream_flush(s);
}

/* ---- sessions ---- */

static void call_abort(cf_call_t *call);

static cf_session_t *session_find(cf_server_t *srv, h2o_iovec_t id)
{
    if (id.len != SESSION_ID_LEN) {
        return NULL;
    }
    for (cf_session_t *s = srv->sessions; s != NULL; s = s->next) {
        if (memcmp(s->id, id.base, SESSION_ID_LEN) == 0) {
            return s;
        }
    }
    return NULL;
}

static cf_session_t *session_create(cf_server_t *srv)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char rnd[SESSION_RANDOM_BYTES];
    size_t prefix = sizeof(SESSION_PREFIX) - 1;

    if (srv->nsessions >= MAX_SESSIONS || getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
        return NULL;
    }
    cf_session_t *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        return NULL;
    }
    s->srv = srv;
    s->refs = 1;
    s->live = 1;
    s->log_level = 0;
    memcpy(s->id, SESSION_PREFIX, prefix);
    for (size_t i = 0; i != sizeof(rnd); ++i) {
        s->id[prefix + 2 * i] = hex[rnd[i] >> 4];
        s->id[prefix + 2 * i + 1] = hex[rnd[i] & 15];
    }
    s->id[SESSION_ID_LEN] = '\0';
    s->next = srv->sessions;
    srv->sessions = s;
    ++srv->nsessions;
    return s;
}

static void session_release(cf_session_t *s)
{
    if (--s->refs != 0) {
        return;
    }
    while (s->subscriptions != NULL) {
        cf_subscription_t *sub = s->subscriptions;
        s->subscriptions = sub->next;
        free(sub);
    }
    free(s);
}

static void on_get_stream_gone(void *owner)
{
    ((cf_session_t *)owner)->get_stream = NULL;
}

static void on_resume_waiter_gone(void *owner)
{
    ((cf_resume_t *)owner)->waiter = NULL;
}

static void resume_free(cf_resume_t *resume)
{
    if (resume->waiter != NULL) {
        stream_detach(resume->waiter);
        stream_end(resume->waiter);
    }
    free(resume->result);
    free(resume);
}

/* Ends a session (DELETE or shutdown): its streams close, its calls stop. */
static void session_end(cf_session_t *s)
{
    cf_server_t *srv = s->srv;

    if (!s->live) {
        return;
    }
    s->live = 0;
    for (cf_session_t **p = &srv->sessions; *p != NULL; p = &(*p)->next) {
        if (*p == s) {
            *p = s->next;
            --srv->nsessions;
            break;
        }
    }
    if (s->get_stream != NULL) {
        cf_stream_t *get = s->get_stream;
        s->get_stream = NULL;
        stream_detach(get);
        stream_end(get);
    }
    s->refs++; /* the calls' references must not free s under the loop */
    while (s->calls != NULL) {
        call_abort(s->calls);
    }
    while (s->resumes != NULL) {
        cf_resume_t *resume = s->resumes;
        s->resumes = resume->next;
        resume_free(resume);
    }
    s->refs--;
    session_release(s); /* the list's reference */
}

/* Sends a message unrelated to any request on the session's GET stream, if one is open. */
static void session_notify(cf_session_t *s, yajl_gen g)
{
    stream_send_gen(s->get_stream, g);
}

/* ---- calls that answer later ---- */

static void on_call_stream_gone(void *owner)
{
    cf_call_t *call = owner;

    call->stream = NULL;
    call_abort(call); /* the client went away: nobody is left to answer */
}

static void on_call_timer(h2o_timeout_entry_t *entry)
{
    cf_call_t *call = H2O_STRUCT_FROM_MEMBER(cf_call_t, timer, entry);

    ++call->step;
    call->tool->step(call);
}

static void call_schedule_step(cf_call_t *call)
{
    cf_server_t *srv = call->session->srv;

    h2o_timeout_link(srv->loop, &srv->step_timeout, &call->timer);
}

/* Starts a call answered on an SSE stream; NULL when out of memory (nothing was sent). */
static cf_call_t *call_start(cf_rpc_t *r, const cf_tool_t *tool)
{
    cf_call_t *call = calloc(1, sizeof(*call));
    yajl_val token = member(member(r->params, "_meta"), "progressToken");
    cf_id_t borrowed;

    if (call == NULL || id_dup(&call->id, &r->id) != 0) {
        free(call);
        return NULL;
    }
    if (id_borrow(&borrowed, token) == 0 && id_dup(&call->progress_token, &borrowed) != 0) {
        free(call->id.text);
        free(call);
        return NULL;
    }
    call->session = r->session;
    r->session->refs++;
    call->tool = tool;
    call->timer.cb = on_call_timer;
    call->next = r->session->calls;
    r->session->calls = call;
    call->stream = stream_open(r->srv, r->req, call, on_call_stream_gone);
    return call;
}

static void call_destroy(cf_call_t *call)
{
    cf_session_t *s = call->session;

    h2o_timeout_unlink(&call->timer);
    for (cf_call_t **p = &s->calls; *p != NULL; p = &(*p)->next) {
        if (*p == call) {
            *p = call->next;
            break;
        }
    }
    if (call->stream != NULL) {
        stream_detach(call->stream);
    }
    free(call->id.text);
    free(call->progress_token.text);
    free(call);
    session_release(s);
}

/* Ends the call without a result: cancelled, its session ended, or its client gone. */
static void call_abort(cf_call_t *call)
{
    if (call->stream != NULL) {
        cf_stream_t *s = call->stream;
        call->stream = NULL;
        stream_detach(s);
        stream_end(s);
    }
    call_destroy(call);
}

/* Sends the response g holds (begun by response_begin, result written) and ends the call. */
static void call_finish(cf_call_t *call, yajl_gen g)
{
    if (g != NULL) {
        yajl_gen_map_close(g);
        stream_send_gen(call->stream, g);
    }
    call_abort(call);
}

static void call_finish_text(cf_call_t *call, const char *text, int is_error)
{
    yajl_gen g = response_begin(&call->id);

    if (g != NULL) {
        gen_text_result(g, text != NULL ? text : "out of memory", is_error || text == NULL);
    }
    call_finish(call, g);
}

static void call_log(cf_call_t *call, int level, const char *text)
{
    if (level < call->session->log_level) {
        return;
    }
    yajl_gen g = notification_begin("notifications/message");
    if (g == NULL) {
        return;
    }
    gen_kv(g, "level", log_levels[level]);
    gen_kv(g, "logger", "conformance");
    gen_kv(g, "data", text);
    yajl_gen_map_close(g);
    yajl_gen_map_close(g);
    stream_send_gen(call->stream, g);
}

static void call_progress(cf_call_t *call, int progress, int total)
{
    if (call->progress_token.text == NULL) {
        return;
    }
    yajl_gen g = notification_begin("notifications/progress");
    if (g == NULL) {
        return;
    }
    gen_str(g, "progressToken");
    gen_id(g, &call->progress_token);
    gen_str(g, "progress");
    yajl_gen_integer(g, progress);
    gen_str(g, "total");
    yajl_gen_integer(g, total);
    yajl_gen_map_close(g);
    yajl_gen_map_close(g);
    stream_send_gen(call->stream, g);
}

/* Starts a request to the client on the call's stream, up to its params object (open). */
static yajl_gen call_ask_begin(cf_call_t *call, const char *method)
{
    yajl_gen g = yajl_gen_alloc(NULL);

    if (g == NULL) {
        return NULL;
    }
    call->asked = ++call->session->srv->last_ask_id;
    yajl_gen_map_open(g);
    gen_kv(g, "jsonrpc", "2.0");
    gen_str(g, "id");
    yajl_gen_integer(g, call->asked);
    gen_kv(g, "method", method);
    gen_str(g, "params");
    yajl_gen_map_open(g);
    return g;
}

static void call_ask_send(cf_call_t *call, yajl_gen g)
{
    yajl_gen_map_close(g);
    yajl_gen_map_close(g);
    stream_send_gen(call->stream, g);
}

/* Gives a client's response to the call that asked for it; 0 when none did. */
static int deliver_answer(cf_session_t *s, yajl_val msg)
{
    yajl_val id = member(msg, "id");

    if (!YAJL_IS_INTEGER(id)) {
        return 0;
    }
    for (cf_call_t *call = s->calls; call != NULL; call = call->next) {
        if (call->asked != 0 && call->asked == YAJL_GET_INTEGER(id)) {
            call->asked = 0;
            call->tool->answered(call, msg);
            return 1;
        }
    }
    return 0;
}

/* ---- tools ---- */

static int answer_tool_text(cf_rpc_t *r, const char *text, int is_error)
{
    yajl_gen g = response_begin(&r->id);

    if (g == NULL) {
        return rpc_no_memory(r);
    }
    gen_text_result(g, text, is_error);
    return rpc_answer(r, g);
}

static int tool_simple_text(cf_rpc_t *r, const cf_tool_t *tool, yajl_val args)
{
    return answer_tool_text(r, "This is a simple text response for testing.", 0);
}

static int tool_error(cf_rpc_t *r, const cf_tool_t *tool, yajl_val args)
{
    return answer_tool_text(r, "This tool intentionally returns an error for testing", 1);
}

static int tool_image(cf_rpc_t *r, const cf_tool_t *tool, yajl_val args)
{
    yajl_gen g = response_begin(&r->id);

    if (g == NULL) {
        return rpc_no_memory(r);
    }
    yajl_gen_map_open(g);
    gen_str(g, "content");
    yajl_gen_array_open(g);
    gen_image_content(g);
    yajl_gen_array_close(g);
    yajl_gen_map_close(g);
    return rpc_answer(r, g);
}

static int tool_audio(cf_rpc_t *r, const cf_tool_t *tool, yajl_val args)
{
    yajl_gen g = response_begin(&r->id);

    if (g == NULL) {
        return rpc_no_memory(r);
    }
    yajl_gen_map_open(g);
    gen_str(g, "content");
    yajl_gen_array_open(g);
    yajl_gen_map_open(g);
    gen_kv(g, "type", "audio");
    gen_kv(g, "data", silence_wav);
    gen_kv(g, "mimeType", "audio/wav");
    yajl_gen_map_close(g);
    yajl_gen_array_close(g);
    yajl_gen_map_close(g);
    return rpc_answer(r, g);
}

static int tool_embedded_resource(cf_rpc_t *r, const cf_tool_t *tool, yajl_val args)
{
    yajl_gen g = response_begin(&r->id);

    if (g == NULL) {
        return rpc_no_memory(r);
    }
    yajl_gen_map_open(g);
    gen_str(g, "content");
    yajl_gen_array_open(g);
    gen_resource_content(g, "test://embedded-resource", "text/plain",
                         "This is an embedded resource content.");
    yajl_gen_array_close(g);
    yajl_gen_map_close(g);
    return rpc_answer(r, g);
}

static int tool_mixed_content(cf_rpc_t *r, const cf_tool_t *tool, yajl_val args)
{
    yajl_gen g = response_begin(&r->id);

    if (g == NULL) {
        return rpc_no_memory(r);
    }
    yajl_gen_map_open(g);
    gen_str(g, "content");
    yajl_gen_array_open(g);
    gen_text_content(g, "Multiple content types test:");
    gen_image_content(g);
    gen_resource_content(g, "test://mixed-content-resource", "application/json",
                         "{\"test\":\"data\",\"value\":123}");
    yajl_gen_array_close(g);
    yajl_gen_map_close(g);
    return rpc_answer(r, g);
}

/* json_schema_2020_12_tool: reports the arguments it got. */
static int tool_echo_arguments(cf_rpc_t *r, const cf_tool_t *tool, yajl_val args)
{
    char *json = json_text(args);
    char *text = json != NULL ? format("Received arguments: %s", json) : NULL;
    int rc = text != NULL ? answer_tool_text(r, text, 0) : rpc_no_memory(r);

    free(json);
    free(text);
    return rc;
}

static const char *const logging_steps[] = {"Tool execution started", "Tool processing data",
                                            "Tool execution completed"};

static void step_logging(cf_call_t *call)
{
    call_log(call, LOG_LEVEL_INFO, logging_steps[call->step]);
    if (call->step + 1 < sizeof(logging_steps) / sizeof(logging_steps[0])) {
        call_schedule_step(call);
        return;
    }
    call_finish_text(call, "Tool with logging completed: sent 3 log messages", 0);
}

static int tool_logging(cf_rpc_t *r, const cf_tool_t *tool, yajl_val args)
{
    cf_call_t *call = call_start(r, tool);

    if (call == NULL) {
        return rpc_no_memory(r);
    }
    step_logging(call);
    return 0;
}

static void step_progress(cf_call_t *call)
{
    call_progress(call, 50 * (int)call->step, 100);
    if (call->step < 2) {
        call_schedule_step(call);
        return;
    }
    call_finish_text(call, "Tool with progress completed", 0);
}

static int tool_progress(cf_rpc_t *r, const cf_tool_t *tool, yajl_val args)
{
    cf_call_t *call = call_start(r, tool);

    if (call == NULL) {
        return rpc_no_memory(r);
    }
    step_progress(call);
    return 0;
}

/* The text of a CreateMessageResult's content (one block or the first of several). */
static const char *sampled_text(yajl_val result)
{
    yajl_val content = member(result, "content");

    if (YAJL_IS_ARRAY(content) && content->u.array.len != 0) {
        content = content->u.array.values[0];
    }
    const char *text = member_string(content, "text");
    return text != NULL ? text : "(no text content)";
}

/* An error answer from the client becomes a tool result with isError. */
static int answered_with_error(cf_call_t *call, yajl_val msg, const char *method)
{
    yajl_val error = member(msg, "error");

    if (error == NULL) {
        return 0;
    }
    const char *message = member_string(error, "message");
    char *text = format("%s failed: %s", method, message != NULL ? message : "(no message)");
    call_finish_text(call, text, 1);
    free(text);
    return 1;
}

static void answered_sampling(cf_call_t *call, yajl_val msg)
{
    if (answered_with_error(call, msg, "sampling/createMessage")) {
        return;
    }
    char *text = format("LLM response: %s", sampled_text(member(msg, "result")));
    call_finish_text(call, text, 0);
    free(text);
}

static int tool_sampling(cf_rpc_t *r, const cf_tool_t *tool, yajl_val args)
{
    const char *prompt = member_string(args, "prompt");

    if (prompt == NULL) {
        return answer_tool_text(r, "test_sampling: argument \"prompt\" (string) is required", 1);
    }
    if (!r->session->client_sampling) {
        return answer_tool_text(r, "test_sampling: the client does not support sampling", 1);
    }
    cf_call_t *call = call_start(r, tool);
    if (call == NULL) {
        return rpc_no_memory(r);
    }
    yajl_gen g = call_ask_begin(call, "sampling/createMessage");
    if (g == NULL) {
        call_abort(call);
        return 0;
    }
    gen_str(g, "messages");
    yajl_gen_array_open(g);
    yajl_gen_map_open(g);
    gen_kv(g, "role", "user");
    gen_str(g, "content");
    gen_text_content(g, prompt);
    yajl_gen_map_close(g);
    yajl_gen_array_close(g);
    gen_str(g, "maxTokens");
    yajl_gen_integer(g, 100);
    call_ask_send(call, g);
    return 0;
}

static void answered_elicitation(cf_call_t *call, yajl_val msg)
{
    if (answered_with_error(call, msg, "elicitation/create")) {
        return;
    }
    yajl_val result = member(msg, "result");
    const char *action = member_string(result, "action");
    char *content = json_text(member(result, "content"));
    char *text = content != NULL ? format("%s: action=%s, content=%s", call->tool->summary,
                                          action != NULL ? action : "(none)", content)
                                 : NULL;
    call_finish_text(call, text, 0);
    free(content);
    free(text);
}

static size_t tool_index(const cf_tool_t *tool);

static int tool_elicitation(cf_rpc_t *r, const cf_tool_t *tool, yajl_val args)
{
    const char *message = "Please provide your information";

    if (member(member(r->session->srv->tool_schemas[tool_index(tool)], "properties"), "message") !=
        NULL) {
        if ((message = member_string(args, "message")) == NULL) {
            return answer_tool_text(r, "argument \"message\" (string) is required", 1);
        }
    }
    if (!r->session->client_elicitation) {
        return answer_tool_text(r, "the client does not support elicitation", 1);
    }
    cf_call_t *call = call_start(r, tool);
    if (call == NULL) {
        return rpc_no_memory(r);
    }
    yajl_gen g = call_ask_begin(call, "elicitation/create");
    if (g == NULL) {
        call_abort(call);
        return 0;
    }
    gen_kv(g, "message", message);
    gen_str(g, "requestedSchema");
    gen_value(g, r->srv->tool_forms[tool_index(tool)]);
    call_ask_send(call, g);
    return 0;
}

static cf_resume_t *resume_find(cf_session_t *s, const char *stream_key)
{
    for (cf_resume_t *resume = s->resumes; resume != NULL; resume = resume->next) {
        if (strcmp(resume->stream_key, stream_key) == 0) {
            return resume;
        }
    }
    return NULL;
}

static void resume_remove(cf_session_t *s, cf_resume_t *resume)
{
    for (cf_resume_t **p = &s->resumes; *p != NULL; p = &(*p)->next) {
        if (*p == resume) {
            *p = resume->next;
            break;
        }
    }
    resume_free(resume);
}

/* Sends a ready result on a resuming GET stream and forgets the resumable stream. */
static void resume_deliver(cf_session_t *s, cf_resume_t *resume, cf_stream_t *stream)
{
    char event_id[EVENT_ID_MAX + 4];

    snprintf(event_id, sizeof(event_id), "%s-1", resume->stream_key);
    stream_message(stream, h2o_iovec_init(resume->result, resume->result_len), event_id);
    stream_detach(stream);
    stream_end(stream);
    if (resume->waiter == stream) {
        resume->waiter = NULL;
    }
    resume_remove(s, resume);
}

static void step_reconnection(cf_call_t *call)
{
    if (call->step < RECONNECT_STEPS) {
        call_schedule_step(call);
        return;
    }
    cf_session_t *s = call->session;
    cf_resume_t *resume = call->resume;
    yajl_gen g = response_begin(&call->id);
    if (g != NULL) {
        gen_text_result(g, "Reconnection test completed: result sent after the stream closed", 0);
        yajl_gen_map_close(g);
        h2o_iovec_t out = gen_buffer(g);
        if ((resume->result = malloc(out.len)) != NULL) {
            memcpy(resume->result, out.base, out.len);
            resume->result_len = out.len;
        }
        yajl_gen_free(g);
    }
    call_destroy(call);
    if (resume->result == NULL) {
        resume_remove(s, resume);
    } else if (resume->waiter != NULL) {
        resume_deliver(s, resume, resume->waiter);
    }
}

/* Sends a priming event (id, retry, empty data), closes the stream and makes the result
 * available later to a GET with Last-Event-ID (SEP-1699 polling). */
static int tool_reconnection(cf_rpc_t *r, const cf_tool_t *tool, yajl_val args)
{
    cf_resume_t *resume = calloc(1, sizeof(*resume));
    cf_call_t *call = resume != NULL ? call_start(r, tool) : NULL;

    if (call == NULL) {
        free(resume);
        return rpc_no_memory(r);
    }
    cf_session_t *s = r->session;
    snprintf(resume->stream_key, sizeof(resume->stream_key), "s%u", ++s->next_stream);
    resume->next = s->resumes;
    s->resumes = resume;
    call->resume = resume;
    char *priming = format("id: %s-0\nretry: %d\ndata: \n\n", resume->stream_key, RESUME_RETRY_MS);
    if (priming != NULL) {
        stream_write(call->stream, priming, strlen(priming));
        free(priming);
    }
    cf_stream_t *stream = call->stream;
    call->stream = NULL;
    stream_detach(stream);
    stream_end(stream);
    call_schedule_step(call);
    return 0;
}

#define NO_ARGUMENTS "{\"type\":\"object\",\"properties\":{}}"

static const char user_form[] =
    "{\"type\":\"object\",\"properties\":{"
    "\"username\":{\"type\":\"string\",\"description\":\"User's response\"},"
    "\"email\":{\"type\":\"string\",\"description\":\"User's email address\"}},"
    "\"required\":[\"username\",\"email\"]}";

static const char defaults_form[] =
    "{\"type\":\"object\",\"properties\":{"
    "\"name\":{\"type\":\"string\",\"description\":\"Name\",\"default\":\"John Doe\"},"
    "\"age\":{\"type\":\"integer\",\"description\":\"Age\",\"default\":30},"
    "\"score\":{\"type\":\"number\",\"description\":\"Score\",\"default\":95.5},"
    "\"status\":{\"type\":\"string\",\"description\":\"Status\","
    "\"enum\":[\"active\",\"inactive\",\"pending\"],\"default\":\"active\"},"
    "\"verified\":{\"type\":\"boolean\",\"description\":\"Verified\",\"default\":true}}}";

static const char enums_form[] =
    "{\"type\":\"object\",\"properties\":{"
    "\"untitledSingle\":{\"type\":\"string\",\"enum\":[\"option1\",\"option2\",\"option3\"]},"
    "\"titledSingle\":{\"type\":\"string\",\"oneOf\":["
    "{\"const\":\"value1\",\"title\":\"First Option\"},"
    "{\"const\":\"value2\",\"title\":\"Second Option\"},"
    "{\"const\":\"value3\",\"title\":\"Third Option\"}]},"
    "\"legacyEnum\":{\"type\":\"string\",\"enum\":[\"opt1\",\"opt2\",\"opt3\"],"
    "\"enumNames\":[\"Option One\",\"Option Two\",\"Option Three\"]},"
    "\"untitledMulti\":{\"type\":\"array\","
    "\"items\":{\"type\":\"string\",\"enum\":[\"option1\",\"option2\",\"option3\"]}},"
    "\"titledMulti\":{\"type\":\"array\",\"items\":{\"anyOf\":["
    "{\"const\":\"value1\",\"title\":\"First Choice\"},"
    "{\"const\":\"value2\",\"title\":\"Second Choice\"},"
    "{\"const\":\"value3\",\"title\":\"Third Choice\"}]}}}}";

static const char schema_2020_12[] =
    "{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\",\"type\":\"object\","
    "\"$defs\":{\"address\":{\"type\":\"object\",\"properties\":{"
    "\"street\":{\"type\":\"string\"},\"city\":{\"type\":\"string\"}}}},"
    "\"properties\":{\"name\":{\"type\":\"string\"},\"address\":{\"$ref\":\"#/$defs/address\"}},"
    "\"additionalProperties\":false}";

static const cf_tool_t tools[] = {
    {.name = "test_simple_text",
     .description = "Returns a simple text result",
     .input_schema = NO_ARGUMENTS,
     .call = tool_simple_text},
    {.name = "test_image_content",
     .description = "Returns a 1x1 red PNG image",
     .input_schema = NO_ARGUMENTS,
     .call = tool_image},
    {.name = "test_audio_content",
     .description = "Returns a short silent WAV clip",
     .input_schema = NO_ARGUMENTS,
     .call = tool_audio},
    {.name = "test_embedded_resource",
     .description = "Returns an embedded text resource",
     .input_schema = NO_ARGUMENTS,
     .call = tool_embedded_resource},
    {.name = "test_multiple_content_types",
     .description = "Returns text, image and embedded resource content",
     .input_schema = NO_ARGUMENTS,
     .call = tool_mixed_content},
    {.name = "test_tool_with_logging",
     .description = "Sends three info log messages 50 ms apart, then returns",
     .input_schema = NO_ARGUMENTS,
     .call = tool_logging,
     .step = step_logging},
    {.name = "test_tool_with_progress",
     .description = "Reports progress 0, 50 and 100 of 100, 50 ms apart, then returns",
     .input_schema = NO_ARGUMENTS,
     .call = tool_progress,
     .step = step_progress},
    {.name = "test_error_handling",
     .description = "Always returns a result with isError: true",
     .input_schema = NO_ARGUMENTS,
     .call = tool_error},
    {.name = "test_sampling",
     .description = "Asks the client to sample an LLM with the prompt",
     .input_schema =
         "{\"type\":\"object\",\"properties\":{\"prompt\":{\"type\":\"string\","
         "\"description\":\"The prompt to send to the LLM\"}},\"required\":[\"prompt\"]}",
     .call = tool_sampling,
     .answered = answered_sampling},
    {.name = "test_elicitation",
     .description = "Asks the user for a username and an email address",
     .input_schema =
         "{\"type\":\"object\",\"properties\":{\"message\":{\"type\":\"string\","
         "\"description\":\"The message to show the user\"}},\"required\":[\"message\"]}",
     .call = tool_elicitation,
     .answered = answered_elicitation,
     .form = user_form,
     .summary = "User response"},
    {.name = "test_elicitation_sep1034_defaults",
     .description = "Elicits a form whose fields all have defaults (SEP-1034)",
     .input_schema = NO_ARGUMENTS,
     .call = tool_elicitation,
     .answered = answered_elicitation,
     .form = defaults_form,
     .summary = "Elicitation completed"},
    {.name = "test_elicitation_sep1330_enums",
     .description = "Elicits a form with every kind of enum field (SEP-1330)",
     .input_schema = NO_ARGUMENTS,
     .call = tool_elicitation,
     .answered = answered_elicitation,
     .form = enums_form,
     .summary = "Elicitation completed"},
    {.name = "json_schema_2020_12_tool",
     .description = "Tool with JSON Schema 2020-12 features",
     .input_schema = schema_2020_12,
     .call = tool_echo_arguments},
    {.name = "test_reconnection",
     .description = "Closes its SSE stream before the result; resume with GET and Last-Event-ID",
     .input_schema = NO_ARGUMENTS,
     .call = tool_reconnection,
     .step = step_reconnection},
};

#define NTOOLS (sizeof(tools) / sizeof(tools[0]))

static size_t tool_index(const cf_tool_t *tool)
{
    return (size_t)(tool - tools);
}

static int answer_tools_list(cf_rpc_t *r)
{
    yajl_gen g = response_begin(&r->id);

    if (g == NULL) {
        return rpc_no_memory(r);
    }
    yajl_gen_map_open(g);
    gen_str(g, "tools");
    yajl_gen_array_open(g);
    for (size_t i = 0; i != NTOOLS; ++i) {
        yajl_gen_map_open(g);
        gen_kv(g, "name", tools[i].name);
        gen_kv(g, "description", tools[i].description);
        gen_str(g, "inputSchema");
        gen_value(g, r->srv->tool_schemas[i]);
        yajl_gen_map_close(g);
    }
    yajl_gen_array_close(g);
    yajl_gen_map_close(g);
    return rpc_answer(r, g);
}

static int answer_tools_call(cf_rpc_t *r)
{
    const char *name = member_string(r->params, "name");
    yajl_val args = member(r->params, "arguments");

    if (name == NULL || (args != NULL && !YAJL_IS_OBJECT(args))) {
        return rpc_error(r, -32602, "Invalid params");
    }
    for (size_t i = 0; i != NTOOLS; ++i) {
        if (strcmp(tools[i].name, name) == 0) {
            return tools[i].call(r, &tools[i], args);
        }
    }
    char *message = format("Unknown tool: %s", name);
    int rc = message != NULL ? rpc_error(r, -32602, message) : rpc_no_memory(r);
    free(message);
    return rc;
}

/* ---- prompts ---- */

static void gen_user_message_begin(yajl_gen g)
{
    yajl_gen_map_open(g);
    gen_kv(g, "role", "user");
    gen_str(g, "content");
}

static void messages_simple(yajl_gen g, yajl_val args)
{
    gen_user_message_begin(g);
    gen_text_content(g, "This is a simple prompt for testing.");
    yajl_gen_map_close(g);
}

static void messages_with_arguments(yajl_gen g, yajl_val args)
{
    char *text = format("Prompt with arguments: arg1='%s', arg2='%s'", member_string(args, "arg1"),
                        member_string(args, "arg2"));

    gen_user_message_begin(g);
    gen_text_content(g, text != NULL ? text : "out of memory");
    yajl_gen_map_close(g);
    free(text);
}

static void messages_embedded_resource(yajl_gen g, yajl_val args)
{
    gen_user_message_begin(g);
    gen_resource_content(g, member_string(args, "resourceUri"), "text/plain",
                         "Embedded resource content for testing.");
    yajl_gen_map_close(g);
    gen_user_message_begin(g);
    gen_text_content(g, "Please process the embedded resource above.");
    yajl_gen_map_close(g);
}

static void messages_image(yajl_gen g, yajl_val args)
{
    gen_user_message_begin(g);
    gen_image_content(g);
    yajl_gen_map_close(g);
    gen_user_message_begin(g);
    gen_text_content(g, "Please analyze the image above.");
    yajl_gen_map_close(g);
}

static const char *const two_arguments[] = {"arg1", "arg2", NULL};
static const char *const resource_argument[] = {"resourceUri", NULL};

static const cf_prompt_t prompts[] = {
    {.name = "test_simple_prompt",
     .description = "A simple prompt without arguments",
     .messages = messages_simple},
    {.name = "test_prompt_with_arguments",
     .description = "A prompt with two required arguments",
     .arguments = two_arguments,
     .messages = messages_with_arguments},
    {.name = "test_prompt_with_embedded_resource",
     .description = "A prompt that embeds the resource it names",
     .arguments = resource_argument,
     .messages = messages_embedded_resource},
    {.name = "test_prompt_with_image",
     .description = "A prompt with an image",
     .messages = messages_image},
};

#define NPROMPTS (sizeof(prompts) / sizeof(prompts[0]))

static const cf_prompt_t *prompt_find(const char *name)
{
    for (size_t i = 0; name != NULL && i != NPROMPTS; ++i) {
        if (strcmp(prompts[i].name, name) == 0) {
            return &prompts[i];
        }
    }
    return NULL;
}

static int answer_prompts_list(cf_rpc_t *r)
{
    yajl_gen g = response_begin(&r->id);

    if (g == NULL) {
        return rpc_no_memory(r);
    }
    yajl_gen_map_open(g);
    gen_str(g, "prompts");
    yajl_gen_array_open(g);
    for (size_t i = 0; i != NPROMPTS; ++i) {
        yajl_gen_map_open(g);
        gen_kv(g, "name", prompts[i].name);
        gen_kv(g, "description", prompts[i].description);
        gen_str(g, "arguments");
        yajl_gen_array_open(g);
        for (const char *const *a = prompts[i].arguments; a != NULL && *a != NULL; ++a) {
            yajl_gen_map_open(g);
            gen_kv(g, "name", *a);
            gen_kv(g, "description", *a);
            gen_str(g, "required");
            yajl_gen_bool(g, 1);
            yajl_gen_map_close(g);
        }
        yajl_gen_array_close(g);
        yajl_gen_map_close(g);
    }
    yajl_gen_array_close(g);
    yajl_gen_map_close(g);
    return rpc_answer(r, g);
}

static int answer_prompts_get(cf_rpc_t *r)
{
    const char *name = member_string(r->params, "name");
    const cf_prompt_t *prompt = prompt_find(name);
    yajl_val args = member(r->params, "arguments");

    if (name == NULL || (args != NULL && !YAJL_IS_OBJECT(args))) {
        return rpc_error(r, -32602, "Invalid params");
    }
    if (prompt == NULL) {
        return rpc_error(r, -32602, "Unknown prompt");
    }
    for (const char *const *a = prompt->arguments; a != NULL && *a != NULL; ++a) {
        if (member_string(args, *a) == NULL) {
            return rpc_error(r, -32602, "Missing required argument");
        }
    }
    yajl_gen g = response_begin(&r->id);
    if (g == NULL) {
        return rpc_no_memory(r);
    }
    yajl_gen_map_open(g);
    gen_kv(g, "description", prompt->description);
    gen_str(g, "messages");
    yajl_gen_array_open(g);
    prompt->messages(g, args);
    yajl_gen_array_close(g);
    yajl_gen_map_close(g);
    return rpc_answer(r, g);
}

/* ---- resources ---- */

#define TEMPLATE_URI "test://template/{id}/data"
#define TEMPLATE_HEAD "test://template/"
#define TEMPLATE_TAIL "/data"

static const cf_resource_t resources[] = {
    {.uri = "test://static-text",
     .name = "static-text",
     .description = "A static text resource",
     .mime_type = "text/plain",
     .text = "This is the content of the static text resource."},
    {.uri = "test://static-binary",
     .name = "static-binary",
     .description = "A static binary resource (a PNG image)",
     .mime_type = "image/png",
     .blob = red_pixel_png},
    {.uri = "test://watched-resource",
     .name = "watched-resource",
     .description = "A resource to subscribe to; subscribers hear of an update shortly after",
     .mime_type = "text/plain",
     .text = "This is the watched resource."},
};

#define NRESOURCES (sizeof(resources) / sizeof(resources[0]))

static int answer_resources_list(cf_rpc_t *r)
{
    yajl_gen g = response_begin(&r->id);

    if (g == NULL) {
        return rpc_no_memory(r);
    }
    yajl_gen_map_open(g);
    gen_str(g, "resources");
    yajl_gen_array_open(g);
    for (size_t i = 0; i != NRESOURCES; ++i) {
        yajl_gen_map_open(g);
        gen_kv(g, "uri", resources[i].uri);
        gen_kv(g, "name", resources[i].name);
        gen_kv(g, "description", resources[i].description);
        gen_kv(g, "mimeType", resources[i].mime_type);
        yajl_gen_map_close(g);
    }
    yajl_gen_array_close(g);
    yajl_gen_map_close(g);
    return rpc_answer(r, g);
}

static int answer_templates_list(cf_rpc_t *r)
{
    yajl_gen g = response_begin(&r->id);

    if (g == NULL) {
        return rpc_no_memory(r);
    }
    yajl_gen_map_open(g);
    gen_str(g, "resourceTemplates");
    yajl_gen_array_open(g);
    yajl_gen_map_open(g);
    gen_kv(g, "uriTemplate", TEMPLATE_URI);
    gen_kv(g, "name", "template-data");
    gen_kv(g, "description", "Data for an id, substituted into the content");
    gen_kv(g, "mimeType", "application/json");
    yajl_gen_map_close(g);
    yajl_gen_array_close(g);
    yajl_gen_map_close(g);
    return rpc_answer(r, g);
}

/* The {id} of a URI matching TEMPLATE_URI (one or more characters, no '/'), malloc'd. */
static char *template_id(const char *uri)
{
    size_t len = strlen(uri), head = strlen(TEMPLATE_HEAD), tail = strlen(TEMPLATE_TAIL);

    if (len <= head + tail || strncmp(uri, TEMPLATE_HEAD, head) != 0 ||
        strcmp(uri + len - tail, TEMPLATE_TAIL) != 0) {
        return NULL;
    }
    size_t id_len = len - head - tail;
    if (memchr(uri + head, '/', id_len) != NULL) {
        return NULL;
    }
    return format("%.*s", (int)id_len, uri + head);
}

static void gen_resource_contents(yajl_gen g, const char *uri, const char *mime_type,
                                  const char *text, const char *blob)
{
    yajl_gen_map_open(g);
    gen_str(g, "contents");
    yajl_gen_array_open(g);
    yajl_gen_map_open(g);
    gen_kv(g, "uri", uri);
    gen_kv(g, "mimeType", mime_type);
    gen_kv(g, text != NULL ? "text" : "blob", text != NULL ? text : blob);
    yajl_gen_map_close(g);
    yajl_gen_array_close(g);
    yajl_gen_map_close(g);
}

static int answer_template_read(cf_rpc_t *r, const char *uri, const char *id)
{
    yajl_gen data = yajl_gen_alloc(NULL);
    yajl_gen g = data != NULL ? response_begin(&r->id) : NULL;

    if (g == NULL) {
        if (data != NULL) {
            yajl_gen_free(data);
        }
        return rpc_no_memory(r);
    }
    char *text = format("Data for ID: %s", id);
    yajl_gen_map_open(data);
    gen_kv(data, "id", id);
    gen_str(data, "templateTest");
    yajl_gen_bool(data, 1);
    gen_kv(data, "data", text != NULL ? text : "");
    yajl_gen_map_close(data);
    h2o_iovec_t json = gen_buffer(data);
    char *json_z = format("%.*s", (int)json.len, json.base);
    gen_resource_contents(g, uri, "application/json", json_z != NULL ? json_z : "", NULL);
    free(text);
    free(json_z);
    yajl_gen_free(data);
    return rpc_answer(r, g);
}

static int answer_resources_read(cf_rpc_t *r)
{
    const char *uri = member_string(r->params, "uri");

    if (uri == NULL) {
        return rpc_error(r, -32602, "Invalid params");
    }
    for (size_t i = 0; i != NRESOURCES; ++i) {
        if (strcmp(resources[i].uri, uri) == 0) {
            yajl_gen g = response_begin(&r->id);
            if (g == NULL) {
                return rpc_no_memory(r);
            }
            gen_resource_contents(g, uri, resources[i].mime_type, resources[i].text,
                                  resources[i].blob);
            return rpc_answer(r, g);
        }
    }
    char *id = template_id(uri);
    if (id != NULL) {
        int rc = answer_template_read(r, uri, id);
        free(id);
        return rc;
    }
    return rpc_error(r, -32002, "Resource not found");
}

static cf_subscription_t **subscription_link(cf_session_t *s, const char *uri)
{
    cf_subscription_t **p = &s->subscriptions;

    while (*p != NULL && strcmp((*p)->uri, uri) != 0) {
        p = &(*p)->next;
    }
    return p;
}

static void on_update_due(h2o_timeout_entry_t *entry)
{
    cf_update_t *update = H2O_STRUCT_FROM_MEMBER(cf_update_t, timer, entry);
    cf_session_t *s = update->session;

    if (s->live && *subscription_link(s, update->uri) != NULL) {
        yajl_gen g = notification_begin("notifications/resources/updated");
        if (g != NULL) {
            gen_kv(g, "uri", update->uri);
            yajl_gen_map_close(g);
            yajl_gen_map_close(g);
            session_notify(s, g);
        }
    }
    free(update);
    session_release(s);
}

/* Subscribing succeeds for any URI; one update notification follows on the GET stream. */
static int answer_resources_subscribe(cf_rpc_t *r)
{
    cf_session_t *s = r->session;
    const char *uri = member_string(r->params, "uri");

    if (uri == NULL || strlen(uri) > MAX_URI_LEN) {
        return rpc_error(r, -32602, "Invalid params");
    }
    if (*subscription_link(s, uri) == NULL) {
        if (s->nsubscriptions >= MAX_SUBSCRIPTIONS) {
            return rpc_error(r, -32602, "Too many subscriptions");
        }
        cf_subscription_t *sub = malloc(sizeof(*sub) + strlen(uri) + 1);
        if (sub == NULL) {
            return rpc_no_memory(r);
        }
        strcpy(sub->uri, uri);
        sub->next = s->subscriptions;
        s->subscriptions = sub;
        ++s->nsubscriptions;
    }
    cf_update_t *update = calloc(1, sizeof(*update) + strlen(uri) + 1);
    if (update != NULL) {
        strcpy(update->uri, uri);
        update->session = s;
        s->refs++;
        update->timer.cb = on_update_due;
        h2o_timeout_link(r->srv->loop, &r->srv->step_timeout, &update->timer);
    }
    yajl_gen g = response_begin(&r->id);
    if (g == NULL) {
        return rpc_no_memory(r);
    }
    yajl_gen_map_open(g);
    yajl_gen_map_close(g);
    return rpc_answer(r, g);
}

static int answer_resources_unsubscribe(cf_rpc_t *r)
{
    cf_session_t *s = r->session;
    const char *uri = member_string(r->params, "uri");

    if (uri == NULL) {
        return rpc_error(r, -32602, "Invalid params");
    }
    cf_subscription_t **p = subscription_link(s, uri);
    if (*p != NULL) {
        cf_subscription_t *sub = *p;
        *p = sub->next;
        free(sub);
        --s->nsubscriptions;
    }
    yajl_gen g = response_begin(&r->id);
    if (g == NULL) {
        return rpc_no_memory(r);
    }
    yajl_gen_map_open(g);
    yajl_gen_map_close(g);
    return rpc_answer(r, g);
}

/* ---- completion, logging, ping ---- */

static const char *const arg1_values[] = {"hello", "help", "test1", "test2", NULL};
static const char *const arg2_values[] = {"world", "word", "test3", NULL};
static const char *const uri_values[] = {"test://static-text", "test://static-binary",
                                         "test://watched-resource", NULL};
static const char *const template_id_values[] = {"1", "2", "3", "123", NULL};

static const struct {
    const char *ref_type;
    const char *ref; /* the prompt name or the template URI */
    const char *argument;
    const char *const *values;
} completions[] = {
    {"ref/prompt", "test_prompt_with_arguments", "arg1", arg1_values},
    {"ref/prompt", "test_prompt_with_arguments", "arg2", arg2_values},
    {"ref/prompt", "test_prompt_with_embedded_resource", "resourceUri", uri_values},
    {"ref/resource", TEMPLATE_URI, "id", template_id_values},
};

static int answer_completion(cf_rpc_t *r)
{
    yajl_val ref = member(r->params, "ref");
    const char *type = member_string(ref, "type");
    const char *argument = member_string(member(r->params, "argument"), "name");
    const char *value = member_string(member(r->params, "argument"), "value");
    const char *name = NULL;

    if (type != NULL && strcmp(type, "ref/prompt") == 0) {
        name = member_string(ref, "name");
        if (prompt_find(name) == NULL) {
            return rpc_error(r, -32602, "Unknown prompt");
        }
    } else if (type != NULL && strcmp(type, "ref/resource") == 0) {
        name = member_string(ref, "uri");
        if (name == NULL || strcmp(name, TEMPLATE_URI) != 0) {
            return rpc_error(r, -32602, "Unknown resource template");
        }
    }
    if (name == NULL || argument == NULL) {
        return rpc_error(r, -32602, "Invalid params");
    }
    const char *const *values = NULL;
    for (size_t i = 0; i != sizeof(completions) / sizeof(completions[0]); ++i) {
        if (strcmp(completions[i].ref_type, type) == 0 && strcmp(completions[i].ref, name) == 0 &&
            strcmp(completions[i].argument, argument) == 0) {
            values = completions[i].values;
        }
    }
    yajl_gen g = response_begin(&r->id);
    if (g == NULL) {
        return rpc_no_memory(r);
    }
    size_t prefix = value != NULL ? strlen(value) : 0, total = 0;
    yajl_gen_map_open(g);
    gen_str(g, "completion");
    yajl_gen_map_open(g);
    gen_str(g, "values");
    yajl_gen_array_open(g);
    for (const char *const *v = values; v != NULL && *v != NULL; ++v) {
        if (strncmp(*v, value != NULL ? value : "", prefix) == 0) {
            gen_str(g, *v);
            ++total;
        }
    }
    yajl_gen_array_close(g);
    gen_str(g, "total");
    yajl_gen_integer(g, (long long)total);
    gen_str(g, "hasMore");
    yajl_gen_bool(g, 0);
    yajl_gen_map_close(g);
    yajl_gen_map_close(g);
    return rpc_answer(r, g);
}

static int answer_empty(cf_rpc_t *r)
{
    yajl_gen g = response_begin(&r->id);

    if (g == NULL) {
        return rpc_no_memory(r);
    }
    yajl_gen_map_open(g);
    yajl_gen_map_close(g);
    return rpc_answer(r, g);
}

static int answer_logging_set_level(cf_rpc_t *r)
{
    const char *level = member_string(r->params, "level");

    for (size_t i = 0; level != NULL && i != sizeof(log_levels) / sizeof(log_levels[0]); ++i) {
        if (strcmp(log_levels[i], level) == 0) {
            r->session->log_level = (int)i;
            return answer_empty(r);
        }
    }
    return rpc_error(r, -32602, "Invalid log level");
}

/* ---- initialize and dispatch ---- */

static const char *negotiate_version(const char *asked)
{
    for (size_t i = 0; asked != NULL && i != sizeof(supported_versions) / sizeof(char *); ++i) {
        if (strcmp(supported_versions[i], asked) == 0) {
            return supported_versions[i];
        }
    }
    return LATEST_PROTOCOL_VERSION;
}

static int answer_initialize(cf_rpc_t *r)
{
    yajl_val capabilities = member(r->params, "capabilities");
    const char *version = negotiate_version(member_string(r->params, "protocolVersion"));

    if (!YAJL_IS_OBJECT(r->params)) {
        return send_error(r->req, 400, "Bad Request", &r->id, -32602, "Invalid params");
    }
    cf_session_t *s = session_create(r->srv);
    if (s == NULL) {
        return send_error(r->req, 503, "Service Unavailable", &r->id, -32603,
                          "Cannot create a session");
    }
    s->client_sampling = YAJL_IS_OBJECT(member(capabilities, "sampling"));
    s->client_elicitation = YAJL_IS_OBJECT(member(capabilities, "elicitation"));
    yajl_gen g = response_begin(&r->id);
    if (g == NULL) {
        session_end(s);
        return rpc_no_memory(r);
    }
    yajl_gen_map_open(g);
    gen_kv(g, "protocolVersion", version);
    gen_str(g, "capabilities");
    yajl_gen_map_open(g);
    gen_str(g, "tools");
    yajl_gen_map_open(g);
    gen_str(g, "listChanged");
    yajl_gen_bool(g, 0);
    yajl_gen_map_close(g);
    gen_str(g, "prompts");
    yajl_gen_map_open(g);
    gen_str(g, "listChanged");
    yajl_gen_bool(g, 0);
    yajl_gen_map_close(g);
    gen_str(g, "resources");
    yajl_gen_map_open(g);
    gen_str(g, "subscribe");
    yajl_gen_bool(g, 1);
    gen_str(g, "listChanged");
    yajl_gen_bool(g, 0);
    yajl_gen_map_close(g);
    gen_str(g, "logging");
    yajl_gen_map_open(g);
    yajl_gen_map_close(g);
    gen_str(g, "completions");
    yajl_gen_map_open(g);
    yajl_gen_map_close(g);
    yajl_gen_map_close(g);
    gen_str(g, "serverInfo");
    yajl_gen_map_open(g);
    gen_kv(g, "name", PROGRAM);
    gen_kv(g, "version", SERVER_VERSION);
    yajl_gen_map_close(g);
    gen_kv(g, "instructions", "The conformance suite's server scenarios, for mcpgw's tests.");
    yajl_gen_map_close(g);
    h2o_add_header_by_str(&r->req->pool, &r->req->res.headers, H2O_STRLIT("mcp-session-id"), 0,
                          NULL, s->id, SESSION_ID_LEN);
    return rpc_answer(r, g);
}

static int answer_tools_call(cf_rpc_t *r);

static const struct {
    const char *method;
    int (*answer)(cf_rpc_t *r);
} methods[] = {
    {"ping", answer_empty},
    {"tools/list", answer_tools_list},
    {"tools/call", answer_tools_call},
    {"prompts/list", answer_prompts_list},
    {"prompts/get", answer_prompts_get},
    {"resources/list", answer_resources_list},
    {"resources/templates/list", answer_templates_list},
    {"resources/read", answer_resources_read},
    {"resources/subscribe", answer_resources_subscribe},
    {"resources/unsubscribe", answer_resources_unsubscribe},
    {"completion/complete", answer_completion},
    {"logging/setLevel", answer_logging_set_level},
};

static int dispatch(cf_rpc_t *r)
{
    if (r->params != NULL && !YAJL_IS_OBJECT(r->params)) {
        return rpc_error(r, -32602, "Invalid params");
    }
    if (member(r->params, "cursor") != NULL) {
        return rpc_error(r, -32602, "Invalid cursor"); /* every list fits on one page */
    }
    for (size_t i = 0; i != sizeof(methods) / sizeof(methods[0]); ++i) {
        if (strcmp(methods[i].method, r->method) == 0) {
            return methods[i].answer(r);
        }
    }
    return rpc_error(r, -32601, "Method not found");
}

static void on_notification(cf_session_t *s, const char *method, yajl_val params)
{
    if (strcmp(method, "notifications/cancelled") == 0) {
        yajl_val request_id = member(params, "requestId");
        for (cf_call_t *call = s->calls; call != NULL; call = call->next) {
            if (id_equals(&call->id, request_id)) {
                call_abort(call);
                return;
            }
        }
    }
}

/* ---- HTTP ---- */

static h2o_iovec_t header_value(const h2o_req_t *req, const char *name)
{
    ssize_t i = h2o_find_header_by_str(&req->headers, name, strlen(name), -1);

    return i != -1 ? req->headers.entries[i].value : h2o_iovec_init(NULL, 0);
}

/* Whether a comma-separated header (Accept) lists a media type, parameters aside. */
static int lists_media_type(h2o_iovec_t list, const char *type)
{
    size_t type_len = strlen(type);
    const char *p = list.base, *end = list.base + list.len;

    while (p < end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *item_end = comma != NULL ? comma : end;
        const char *semi = memchr(p, ';', (size_t)(item_end - p));
        const char *q = semi != NULL ? semi : item_end;
        while (p < q && (*p == ' ' || *p == '\t')) {
            ++p;
        }
        while (q > p && (q[-1] == ' ' || q[-1] == '\t')) {
            --q;
        }
        if ((size_t)(q - p) == type_len && h2o_lcstris(p, type_len, type, type_len)) {
            return 1;
        }
        p = item_end + 1;
    }
    return 0;
}

static int accepts(const h2o_req_t *req, const char *type)
{
    for (ssize_t i = -1; (i = h2o_find_header(&req->headers, H2O_TOKEN_ACCEPT, i)) != -1;) {
        if (lists_media_type(req->headers.entries[i].value, type)) {
            return 1;
        }
    }
    return 0;
}

/* host[:port] (or [v6][:port]) without the port; base NULL when malformed. */
static h2o_iovec_t host_part(h2o_iovec_t hostport)
{
    const char *p = hostport.base, *end = hostport.base + hostport.len, *host_end;

    if (hostport.len != 0 && p[0] == '[') {
        const char *close = memchr(p, ']', hostport.len);
        if (close == NULL) {
            return h2o_iovec_init(NULL, 0);
        }
        host_end = close + 1;
    } else {
        const char *colon = memchr(p, ':', hostport.len);
        host_end = colon != NULL ? colon : end;
    }
    if (host_end != end) {
        if (*host_end != ':' || host_end + 1 == end) {
            return h2o_iovec_init(NULL, 0);
        }
        for (const char *d = host_end + 1; d != end; ++d) {
            if (*d < '0' || *d > '9') {
                return h2o_iovec_init(NULL, 0);
            }
        }
    }
    return h2o_iovec_init(p, (size_t)(host_end - p));
}

static int is_loopback_host(const cf_server_t *srv, h2o_iovec_t host)
{
    static const char *const names[] = {"localhost", "127.0.0.1", "[::1]"};

    if (host.base == NULL) {
        return 0;
    }
    for (size_t i = 0; i != sizeof(names) / sizeof(names[0]); ++i) {
        if (h2o_lcstris(host.base, host.len, names[i], strlen(names[i]))) {
            return 1;
        }
    }
    return h2o_memis(host.base, host.len, srv->address, strlen(srv->address));
}

/* DNS-rebinding protection: the Host and any Origin must name this loopback server. */
static int host_and_origin_ok(const cf_server_t *srv, const h2o_req_t *req)
{
    if (!is_loopback_host(srv, host_part(req->input.authority))) {
        return 0;
    }
    h2o_iovec_t origin = header_value(req, "origin");
    if (origin.base == NULL) {
        return 1;
    }
    const char *sep = NULL;
    for (size_t i = 0; i + 3 <= origin.len && sep == NULL; ++i) {
        if (memcmp(origin.base + i, "://", 3) == 0) {
            sep = origin.base + i;
        }
    }
    if (sep == NULL) {
        return 0;
    }
    h2o_iovec_t scheme = h2o_iovec_init(origin.base, (size_t)(sep - origin.base));
    if (!h2o_lcstris(scheme.base, scheme.len, H2O_STRLIT("http")) &&
        !h2o_lcstris(scheme.base, scheme.len, H2O_STRLIT("https"))) {
        return 0;
    }
    h2o_iovec_t rest = h2o_iovec_init(sep + 3, origin.len - scheme.len - 3);
    return is_loopback_host(srv, host_part(rest));
}

static int version_header_ok(const h2o_req_t *req)
{
    h2o_iovec_t v = header_value(req, "mcp-protocol-version");

    if (v.base == NULL) {
        return 1;
    }
    for (size_t i = 0; i != sizeof(supported_versions) / sizeof(char *); ++i) {
        if (h2o_memis(v.base, v.len, supported_versions[i], strlen(supported_versions[i]))) {
            return 1;
        }
    }
    return 0;
}

/* The session a request names, or NULL after answering 400 or 404. */
static cf_session_t *request_session(cf_server_t *srv, h2o_req_t *req, const cf_id_t *id)
{
    h2o_iovec_t sid = header_value(req, "mcp-session-id");
    cf_session_t *s;

    if (sid.base == NULL) {
        send_error(req, 400, "Bad Request", id, -32600, "Bad Request: Mcp-Session-Id required");
        return NULL;
    }
    if ((s = session_find(srv, sid)) == NULL) {
        send_error(req, 404, "Not Found", id, -32001, "Session not found");
        return NULL;
    }
    return s;
}

static int handle_message(cf_server_t *srv, h2o_req_t *req, yajl_val msg)
{
    const char *jsonrpc = member_string(msg, "jsonrpc");
    yajl_val method = member(msg, "method");
    yajl_val idval = member(msg, "id");
    cf_rpc_t r = {.srv = srv, .req = req, .params = member(msg, "params")};
    int has_id = id_borrow(&r.id, idval) == 0;

    if (jsonrpc == NULL || strcmp(jsonrpc, "2.0") != 0 || (idval != NULL && !has_id) ||
        (method != NULL && !YAJL_IS_STRING(method))) {
        return send_error(req, 400, "Bad Request", has_id ? &r.id : NULL, -32600,
                          "Invalid Request");
    }
    if (method == NULL) {
        /* a response to one of our requests */
        if (!has_id || (member(msg, "result") == NULL) == (member(msg, "error") == NULL)) {
            return send_error(req, 400, "Bad Request", NULL, -32600, "Invalid Request");
        }
        if ((r.session = request_session(srv, req, NULL)) == NULL) {
            return 0;
        }
        deliver_answer(r.session, msg);
        return send_empty(req, 202, "Accepted");
    }
    r.method = YAJL_GET_STRING(method);
    if (has_id && strcmp(r.method, "initialize") == 0) {
        return answer_initialize(&r);
    }
    if (!version_header_ok(req)) {
        return send_error(req, 400, "Bad Request", has_id ? &r.id : NULL, -32600,
                          "Bad Request: Unsupported protocol version");
    }
    if ((r.session = request_session(srv, req, has_id ? &r.id : NULL)) == NULL) {
        return 0;
    }
    if (!has_id) {
        on_notification(r.session, r.method, r.params);
        return send_empty(req, 202, "Accepted");
    }
    return dispatch(&r);
}

static int on_post(cf_server_t *srv, h2o_req_t *req)
{
    if (!accepts(req, "application/json") || !accepts(req, "text/event-stream")) {
        return send_error(req, 406, "Not Acceptable", NULL, -32000,
                          "Not Acceptable: Client must accept both application/json and "
                          "text/event-stream");
    }
    ssize_t ct = h2o_find_header(&req->headers, H2O_TOKEN_CONTENT_TYPE, -1);
    if (ct == -1 || !lists_media_type(req->headers.entries[ct].value, "application/json")) {
        return send_error(req, 415, "Unsupported Media Type", NULL, -32000,
                          "Unsupported Media Type: Content-Type must be application/json");
    }
    h2o_iovec_t body = req->entity;
    if (body.base == NULL || body.len == 0 || memchr(body.base, '\0', body.len) != NULL ||
        !json_depth_ok(body.base, body.len, MAX_JSON_DEPTH)) {
        return send_error(req, 400, "Bad Request", NULL, -32700, "Parse error");
    }
    char *text = malloc(body.len + 1);
    if (text == NULL) {
        return send_error(req, 500, "Internal Server Error", NULL, -32603, "Out of memory");
    }
    memcpy(text, body.base, body.len);
    text[body.len] = '\0';
    yajl_val msg = yajl_tree_parse(text, NULL, 0);
    free(text);
    if (msg == NULL) {
        return send_error(req, 400, "Bad Request", NULL, -32700, "Parse error");
    }
    if (!YAJL_IS_OBJECT(msg)) {
        send_error(req, 400, "Bad Request", NULL, -32600, "Invalid Request");
    } else {
        handle_message(srv, req, msg);
    }
    yajl_tree_free(msg);
    return 0;
}

/* GET: the session's stream of messages unrelated to a request, or with Last-Event-ID the
 * resumption of a POST stream that test_reconnection closed early. */
static int on_get(cf_server_t *srv, h2o_req_t *req)
{
    if (!accepts(req, "text/event-stream")) {
        return send_error(req, 406, "Not Acceptable", NULL, -32000,
                          "Not Acceptable: Client must accept text/event-stream");
    }
    cf_session_t *s = request_session(srv, req, NULL);
    if (s == NULL) {
        return 0;
    }
    h2o_iovec_t last = header_value(req, "last-event-id");
    if (last.base != NULL) {
        char key[EVENT_ID_MAX];
        const char *dash = memchr(last.base, '-', last.len);
        size_t key_len = dash != NULL ? (size_t)(dash - last.base) : last.len;
        cf_resume_t *resume = NULL;
        if (key_len < sizeof(key)) {
            memcpy(key, last.base, key_len);
            key[key_len] = '\0';
            resume = resume_find(s, key);
        }
        if (resume == NULL || resume->waiter != NULL) {
            return send_error(req, 404, "Not Found", NULL, -32000, "Unknown Last-Event-ID");
        }
        cf_stream_t *stream = stream_open(srv, req, resume, on_resume_waiter_gone);
        if (resume->result != NULL) {
            resume_deliver(s, resume, stream);
        } else {
            resume->waiter = stream;
        }
        return 0;
    }
    if (s->get_stream != NULL) {
        return send_error(req, 409, "Conflict", NULL, -32000,
                          "Conflict: Only one SSE stream is allowed per session");
    }
    s->get_stream = stream_open(srv, req, s, on_get_stream_gone);
    stream_write(s->get_stream, H2O_STRLIT(": stream open\n\n"));
    return 0;
}

static int on_delete(cf_server_t *srv, h2o_req_t *req)
{
    cf_session_t *s = request_session(srv, req, NULL);

    if (s != NULL) {
        session_end(s);
        send_empty(req, 200, "OK");
    }
    return 0;
}

static int is_method(const h2o_req_t *req, const char *method)
{
    return h2o_memis(req->method.base, req->method.len, method, strlen(method));
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    cf_server_t *srv = ((cf_handler_t *)self)->srv;

    if (!host_and_origin_ok(srv, req)) {
        return send_error(req, 403, "Forbidden", NULL, -32000, "Forbidden: invalid Host or Origin");
    }
    if (!h2o_memis(req->path_normalized.base, req->path_normalized.len, H2O_STRLIT("/mcp"))) {
        return send_body(req, 404, "Not Found", "text/plain; charset=utf-8",
                         h2o_iovec_init(H2O_STRLIT("not found\n")));
    }
    if (is_method(req, "POST")) {
        return on_post(srv, req);
    }
    if (is_method(req, "GET")) {
        return on_get(srv, req);
    }
    if (is_method(req, "DELETE")) {
        return on_delete(srv, req);
    }
    add_header(req, H2O_TOKEN_ALLOW, "GET, POST, DELETE");
    return send_error(req, 405, "Method Not Allowed", NULL, -32000, "Method not allowed");
}

/* ---- process ---- */

static volatile sig_atomic_t stop_signalled;

static void on_stop_signal(int signo)
{
    stop_signalled = 1;
}

static int install_signal_handlers(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_IGN;
    if (sigaction(SIGPIPE, &sa, NULL) != 0) {
        return -1;
    }
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    return sigaction(SIGINT, &sa, NULL) == 0 && sigaction(SIGTERM, &sa, NULL) == 0 ? 0 : -1;
}

static void on_accept(h2o_socket_t *listener, const char *err)
{
    cf_server_t *srv = listener->data;

    if (err != NULL) {
        return;
    }
    for (int i = 0; i != ACCEPT_BATCH; ++i) {
        h2o_socket_t *sock = h2o_evloop_socket_accept(listener);
        if (sock == NULL) {
            return;
        }
        h2o_accept(&srv->accept_ctx, sock);
    }
}

/* A listening socket on a loopback address, or -1 after saying why. */
static int listen_loopback(const char *address, uint16_t port)
{
    struct sockaddr_storage ss;
    struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
    socklen_t len;
    int fd, on = 1;

    memset(&ss, 0, sizeof(ss));
    if (inet_pton(AF_INET, address, &sin->sin_addr) == 1 &&
        (ntohl(sin->sin_addr.s_addr) >> 24) == 127) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons(port);
        len = sizeof(*sin);
    } else if (inet_pton(AF_INET6, address, &sin6->sin6_addr) == 1 &&
               IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr)) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(port);
        len = sizeof(*sin6);
    } else {
        fprintf(stderr, PROGRAM ": --address %s: not a loopback IP address\n", address);
        return -1;
    }
    if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
        fprintf(stderr, PROGRAM ": socket: %s\n", strerror(errno));
        return -1;
    }
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) != 0 ||
        bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, SOMAXCONN) != 0) {
        fprintf(stderr, PROGRAM ": listen on %s port %u: %s\n", address, port, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static int bound_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);

    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) {
        return -1;
    }
    return ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                    : ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

/* Parses the constant JSON texts once; a failure is a bug in this file. */
static int parse_constants(cf_server_t *srv)
{
    char err[128];

    srv->tool_schemas = calloc(NTOOLS, sizeof(yajl_val));
    srv->tool_forms = calloc(NTOOLS, sizeof(yajl_val));
    if (srv->tool_schemas == NULL || srv->tool_forms == NULL) {
        fprintf(stderr, PROGRAM ": out of memory\n");
        return -1;
    }
    for (size_t i = 0; i != NTOOLS; ++i) {
        if ((srv->tool_schemas[i] = yajl_tree_parse(tools[i].input_schema, err, sizeof(err))) ==
                NULL ||
            (tools[i].form != NULL &&
             (srv->tool_forms[i] = yajl_tree_parse(tools[i].form, err, sizeof(err))) == NULL)) {
            fprintf(stderr, PROGRAM ": tool %s: bad JSON: %s\n", tools[i].name, err);
            return -1;
        }
    }
    return 0;
}

static void free_constants(cf_server_t *srv)
{
    for (size_t i = 0; i != NTOOLS; ++i) {
        yajl_tree_free(srv->tool_schemas[i]);
        yajl_tree_free(srv->tool_forms[i]);
    }
    free(srv->tool_schemas);
    free(srv->tool_forms);
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: " PROGRAM " [--address ADDR] [--port N] [--help]\n"
            "\n"
            "An MCP Streamable HTTP server on /mcp implementing the tools, prompts, resources and\n"
            "utilities the official conformance suite's server scenarios call.\n"
            "  --address ADDR  loopback IPv4 or IPv6 address to listen on (default 127.0.0.1)\n"
            "  --port N        TCP port; 0 picks a free one (default 0)\n"
            "  --help          show this help\n"
            "\n"
            "Prints \"listening port=N\" once listening; SIGTERM or SIGINT stops it.\n");
}

/* Returns -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, const char **address, uint16_t *port)
{
    static const struct option options[] = {
        {"address", required_argument, NULL, 'a'},
        {"port", required_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int opt;

    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        char *end;
        unsigned long n;
        switch (opt) {
        case 'a':
            *address = optarg;
            break;
        case 'p':
            errno = 0;
            n = strtoul(optarg, &end, 10);
            if (errno != 0 || *optarg == '\0' || *end != '\0' || n > 65535) {
                fprintf(stderr, PROGRAM ": --port %s: not a port number\n", optarg);
                return 2;
            }
            *port = (uint16_t)n;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }
    return -1;
}

int main(int argc, char **argv)
{
    static cf_server_t srv; /* static: what h2o still holds at exit stays reachable */
    const char *address = "127.0.0.1";
    uint16_t port = 0;
    int rc, fd;

    if ((rc = parse_args(argc, argv, &address, &port)) != -1) {
        return rc;
    }
    srv.address = address;
    if (install_signal_handlers() != 0) {
        fprintf(stderr, PROGRAM ": sigaction: %s\n", strerror(errno));
        return 1;
    }
    if (parse_constants(&srv) != 0 || (fd = listen_loopback(address, port)) == -1) {
        return 1;
    }

    h2o_config_init(&srv.config);
    srv.config.server_name = h2o_iovec_init(H2O_STRLIT(PROGRAM));
    srv.config.max_request_entity_size = MAX_REQUEST_BODY;
    h2o_hostconf_t *hostconf =
        h2o_config_register_host(&srv.config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h2o_pathconf_t *pathconf = h2o_config_register_path(hostconf, "/", 0);
    cf_handler_t *handler = (cf_handler_t *)h2o_create_handler(pathconf, sizeof(*handler));
    handler->super.on_req = on_req;
    handler->srv = &srv;

    srv.loop = h2o_evloop_create();
    h2o_context_init(&srv.ctx, srv.loop, &srv.config);
    h2o_timeout_init(srv.loop, &srv.step_timeout, STEP_MS);
    srv.accept_ctx.ctx = &srv.ctx;
    srv.accept_ctx.hosts = srv.config.hosts;
    srv.listener = h2o_evloop_socket_create(srv.loop, fd, H2O_SOCKET_FLAG_DONT_READ);
    srv.listener->data = &srv;
    h2o_socket_read_start(srv.listener, on_accept);

    printf("listening port=%d\n", bound_port(fd));
    fflush(stdout);

    while (!stop_signalled) {
        h2o_evloop_run(srv.loop, STOP_POLL_MS);
    }

    /* stop taking connections, end every session (closing its streams), let them drain */
    h2o_socket_read_stop(srv.listener);
    h2o_socket_close(srv.listener);
    while (srv.sessions != NULL) {
        session_end(srv.sessions);
    }
    uint64_t give_up_at = h2o_now(srv.loop) + SHUTDOWN_GRACE_MS;
    while (srv.open_streams != 0 && h2o_now(srv.loop) < give_up_at) {
        h2o_evloop_run(srv.loop, 10);
    }
    free_constants(&srv);
    return 0;
}
