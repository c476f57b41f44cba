/* mcpgw-testbackend: a fast MCP backend server for the gateway's tests and benchmarks. */

#include "config.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <h2o.h>
#include <openssl/rand.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#define SERVER_VERSION "1.0.0"
#define LATEST_PROTOCOL_VERSION "2025-11-25"
#define MAX_NAME_LEN 64
#define SESSION_RANDOM_BYTES 16
#define SESSION_ID_MAX (MAX_NAME_LEN + 1 + 2 * SESSION_RANDOM_BYTES)
#define MAX_REQUEST_BODY (64 * 1024 * 1024)
#define MAX_SLOW_MS 60000
#define MAX_SLOW_STEPS 1000
#define DEFAULT_SLOW_STEPS 3
#define MAX_BIG_BYTES (16 * 1024 * 1024)
#define BIG_MARKER "@big-data@" /* cannot occur in a name or a known session id */
#define FILLER_CHUNK 65536
#define FILLER_IOVECS 16
#define ACCEPT_BATCH 32
#define TIMER_LEVELS 18 /* 0 ms, then 1 ms .. 65536 ms */
#define SHUTDOWN_GRACE_MS 1000
#define STOP_POLL_MS 250 /* bounds the wait when a signal slips in just before epoll_wait */
#define SCRATCH_KEEP (1024 * 1024)
#define DEFAULT_HEARTBEAT_MS 15000
#define MAX_HEARTBEAT_MS 3600000
#define STREAM_IOVECS 16

#define SSE_PREFIX "event: message\ndata: "
#define SSE_SUFFIX "\n\n"
#define LIST_CHANGED_EVENT                                                                         \
    SSE_PREFIX "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/tools/list_changed\"}" SSE_SUFFIX
#define HEARTBEAT_COMMENT ": keepalive\n\n"
#define STREAM_OPEN_COMMENT ": open\n\n" /* h2o 2.2 sends no head with an empty h2o_send */

static const char *const supported_versions[] = {"2025-03-26", "2025-06-18", "2025-11-25"};

typedef struct tb_server tb_server_t;

/* A one-shot timer with any delay. h2o 2.2 only has fixed-delay queues, so the timer waits in the
 * queue of the largest power-of-two delay not past its deadline, and hops on from there. */
typedef struct tb_timer {
    h2o_timeout_entry_t entry;
    tb_server_t *srv;
    uint64_t due_at;
    void (*on_due)(struct tb_timer *timer);
} tb_timer_t;

typedef struct session {
    struct session *next;
    h2o_linklist_t streams; /* its open GET streams (get_stream_t.link) */
    size_t id_len;
    char id[];
} session_t;

typedef struct session_table {
    session_t **buckets;
    size_t nbuckets; /* a power of two */
    size_t count;
} session_table_t;

typedef struct stats {
    uint64_t initializes;
    uint64_t calls;
    uint64_t deletes;
    uint64_t notifications;
    uint64_t streams;     /* GET streams open now */
    char last_note[1024]; /* the last notification as received (JSON), if it fitted */
    size_t last_note_len;
    char last_note_session[SESSION_ID_MAX + 1]; /* the session it came on */
} stats_t;

struct tb_server {
    const char *name;
    size_t name_len;
    int sse;
    const char *protocol;  /* --protocol: the only revision spoken, or NULL for all */
    uint64_t heartbeat_ms; /* an SSE comment on idle GET streams; 0: none */
    int extra_listed;      /* toggle_tools has added the tool "extra" */
    h2o_globalconf_t config;
    h2o_context_t ctx;
    h2o_accept_ctx_t accept_ctx;
    h2o_evloop_t *loop;
    h2o_socket_t *listener;
    size_t streaming; /* responses still owing data (slow, big, GET streams being ended), drained
                         on shutdown */
    h2o_timeout_t timer_levels[TIMER_LEVELS];
    session_table_t sessions;
    stats_t stats;
    yajl_gen out;  /* the JSON-RPC message being answered */
    yajl_gen text; /* the JSON text a tool returns as its content */
    char *scratch; /* NUL-terminated copy of the body being parsed */
    size_t scratch_cap;
    h2o_iovec_t tools_list;       /* the tools/list result without "extra", malloc'd */
    h2o_iovec_t tools_list_extra; /* and with it */
    char filler[FILLER_CHUNK];
};

typedef struct mcp_handler {
    h2o_handler_t super;
    tb_server_t *srv;
} mcp_handler_t;

/* One JSON-RPC message being answered; lives on the stack of the request handler, so everything
 * it points to is valid only until the handler returns. */
typedef struct rpc_call {
    tb_server_t *srv;
    h2o_req_t *req;
    h2o_iovec_t body;   /* NUL-terminated, in srv->scratch */
    yajl_val msg;       /* parse tree of body, owned by the handler */
    const char *method; /* NULL for a response */
    yajl_val params;
    h2o_iovec_t raw_id;  /* the id as JSON text, as sent; base NULL when absent */
    h2o_iovec_t session; /* Mcp-Session-Id of the request */
} rpc_call_t;

enum rpc_kind { RPC_REQUEST, RPC_NOTIFICATION, RPC_RESPONSE };

typedef struct tool {
    const char *name;
    const char *description;
    const char *properties; /* JSON Schema properties, raw JSON */
    const char *required;   /* raw JSON array, or NULL */
    int (*call)(rpc_call_t *c, yajl_val args);
} tool_t;

enum slow_state { SLOW_WAITING, SLOW_STREAMING, SLOW_DONE };

/* A slow tools/call in progress. Allocated as shared memory of the request pool: h2o frees it
 * together with the request (finished or aborted), and the dispose hook stops its timer. */
typedef struct slow_call {
    h2o_generator_t generator;
    tb_timer_t timer;
    tb_server_t *srv;
    h2o_req_t *req; /* NULL once h2o has stopped the response */
    enum slow_state state;
    int writing; /* an h2o_send is in flight and proceed has not come yet */
    uint64_t started_at;
    uint32_t ms;
    uint32_t steps; /* progress notifications to send; 0 without token or SSE */
    uint32_t progress_due;
    uint32_t progress_sent;
    int result_due;
    h2o_iovec_t token;  /* raw progressToken, in the request pool */
    h2o_iovec_t result; /* the complete final body, in the request pool */
} slow_call_t;

/* A response made of head, many filler bytes and tail, sent in rounds as the peer drains it. */
typedef struct filler_body {
    h2o_generator_t generator;
    tb_server_t *srv;
    h2o_iovec_t head;
    h2o_iovec_t tail;
    size_t filler_left;
} filler_body_t;

enum stream_state { STREAM_OPEN, STREAM_ENDING, STREAM_DONE };

/* A GET stream: an SSE response that stays open for the server's messages to a session. Shared
 * memory of the request pool like slow_call_t; linked into its session's list until the session
 * goes, the stream ends or h2o disposes of the request (the peer went away). */
typedef struct get_stream {
    h2o_generator_t generator;
    h2o_linklist_t link;
    tb_timer_t heartbeat;
    tb_server_t *srv;
    h2o_req_t *req; /* NULL once h2o has stopped the response */
    enum stream_state state;
    int writing;           /* an h2o_send is in flight and proceed has not come yet */
    int heartbeat_due;     /* nothing was sent for heartbeat_ms */
    uint32_t list_changed; /* notifications/tools/list_changed events owed */
} get_stream_t;

/* ---- timers ---- */

static void link_timer(tb_timer_t *timer);

static void on_timer_level(h2o_timeout_entry_t *entry)
{
    tb_timer_t *timer = H2O_STRUCT_FROM_MEMBER(tb_timer_t, entry, entry);

    if (h2o_now(timer->srv->loop) >= timer->due_at) {
        timer->on_due(timer);
        return;
    }
    link_timer(timer);
}

static void link_timer(tb_timer_t *timer)
{
    tb_server_t *srv = timer->srv;
    uint64_t now = h2o_now(srv->loop);
    uint64_t left = timer->due_at > now ? timer->due_at - now : 0;
    size_t level = 0;

    if (left != 0) {
        /* level k waits 2^(k-1) ms, the largest such wait <= left */
        level = 64 - (size_t)__builtin_clzll(left);
        if (level > TIMER_LEVELS - 1) {
            level = TIMER_LEVELS - 1;
        }
    }
    timer->entry.cb = on_timer_level;
    h2o_timeout_link(srv->loop, &srv->timer_levels[level], &timer->entry);
}

static void timer_start(tb_timer_t *timer, uint64_t due_at)
{
    h2o_timeout_unlink(&timer->entry);
    timer->due_at = due_at;
    link_timer(timer);
}

static void timer_stop(tb_timer_t *timer)
{
    h2o_timeout_unlink(&timer->entry);
}

static void timer_levels_init(tb_server_t *srv)
{
    for (size_t i = 0; i != TIMER_LEVELS; ++i) {
        h2o_timeout_init(srv->loop, &srv->timer_levels[i], i == 0 ? 0 : (uint64_t)1 << (i - 1));
    }
}

static int timer_levels_idle(tb_server_t *srv)
{
    for (size_t i = 0; i != TIMER_LEVELS; ++i) {
        if (!h2o_linklist_is_empty(&srv->timer_levels[i]._entries)) {
            return 0;
        }
    }
    return 1;
}

static void timer_levels_dispose(tb_server_t *srv)
{
    for (size_t i = 0; i != TIMER_LEVELS; ++i) {
        h2o_timeout_dispose(srv->loop, &srv->timer_levels[i]);
    }
}

/* ---- sessions ---- */

static uint64_t hash_bytes(const char *p, size_t len)
{
    uint64_t h = 14695981039346656037u; /* FNV-1a */

    for (size_t i = 0; i != len; ++i) {
        h = (h ^ (unsigned char)p[i]) * 1099511628211u;
    }
    return h;
}

static int session_table_init(session_table_t *t)
{
    t->nbuckets = 256;
    t->count = 0;
    t->buckets = calloc(t->nbuckets, sizeof(*t->buckets));
    return t->buckets != NULL ? 0 : -1;
}

/* Streams still listed are left to h2o (they are ended before this on shutdown); they are only
 * unlinked, so that disposing of them later touches no freed session. */
static void session_table_fini(session_table_t *t)
{
    for (size_t i = 0; i != t->nbuckets; ++i) {
        session_t *s = t->buckets[i];
        while (s != NULL) {
            session_t *next = s->next;
            while (!h2o_linklist_is_empty(&s->streams)) {
                h2o_linklist_unlink(s->streams.next);
            }
            free(s);
            s = next;
        }
    }
    free(t->buckets);
    t->buckets = NULL;
    t->nbuckets = 0;
    t->count = 0;
}

/* Returns the link that points at the session with this id, or the NULL link ending its chain. */
static session_t **session_link(session_table_t *t, h2o_iovec_t id)
{
    session_t **link = &t->buckets[hash_bytes(id.base, id.len) & (t->nbuckets - 1)];

    while (*link != NULL && !h2o_memis((*link)->id, (*link)->id_len, id.base, id.len)) {
        link = &(*link)->next;
    }
    return link;
}

static void session_table_grow(session_table_t *t)
{
    size_t nbuckets = t->nbuckets * 2;
    session_t **buckets = calloc(nbuckets, sizeof(*buckets));

    if (buckets == NULL) {
        return; /* longer chains, still correct */
    }
    for (size_t i = 0; i != t->nbuckets; ++i) {
        session_t *s = t->buckets[i];
        while (s != NULL) {
            session_t *next = s->next;
            size_t slot = hash_bytes(s->id, s->id_len) & (nbuckets - 1);
            s->next = buckets[slot];
            buckets[slot] = s;
            s = next;
        }
    }
    free(t->buckets);
    t->buckets = buckets;
    t->nbuckets = nbuckets;
}

static session_t *session_find(session_table_t *t, h2o_iovec_t id)
{
    return *session_link(t, id);
}

static int session_add(session_table_t *t, h2o_iovec_t id)
{
    session_t *s = malloc(sizeof(*s) + id.len);

    if (s == NULL) {
        return -1;
    }
    if (t->count >= t->nbuckets) {
        session_table_grow(t);
    }
    h2o_linklist_init_anchor(&s->streams);
    s->id_len = id.len;
    memcpy(s->id, id.base, id.len);
    session_t **link = session_link(t, id);
    s->next = *link;
    *link = s;
    ++t->count;
    return 0;
}

/* Returns 1 if the session existed. Its GET streams must have been ended (unlinked) first. */
static int session_remove(session_table_t *t, h2o_iovec_t id)
{
    session_t **link = session_link(t, id);
    session_t *s = *link;

    if (s == NULL) {
        return 0;
    }
    assert(h2o_linklist_is_empty(&s->streams));
    *link = s->next;
    free(s);
    --t->count;
    return 1;
}

/* Writes NAME-<32 hex digits> into buf (SESSION_ID_MAX bytes); returns its length or 0. */
static size_t new_session_id(const tb_server_t *srv, char *buf)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char rnd[SESSION_RANDOM_BYTES];
    char *p = buf;

    if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
        return 0;
    }
    memcpy(p, srv->name, srv->name_len);
    p += srv->name_len;
    *p++ = '-';
    for (size_t i = 0; i != sizeof(rnd); ++i) {
        *p++ = hex[rnd[i] >> 4];
        *p++ = hex[rnd[i] & 15];
    }
    return (size_t)(p - buf);
}

/* ---- raw JSON: finding values as they were sent, in text already validated by yajl ---- */

static const char *skip_space(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')) {
        ++p;
    }
    return p;
}

/* p is at an opening quote; returns the position after the closing one (or end). */
static const char *skip_string(const char *p, const char *end)
{
    ++p;
    while (p < end) {
        if (*p == '\\') {
            if (end - p < 2) {
                return end;
            }
            p += 2;
            continue;
        }
        if (*p == '"') {
            return p + 1;
        }
        ++p;
    }
    return end;
}

static const char *skip_value(const char *p, const char *end)
{
    if (p >= end) {
        return end;
    }
    if (*p == '"') {
        return skip_string(p, end);
    }
    if (*p == '{' || *p == '[') {
        size_t depth = 0;
        while (p < end) {
            if (*p == '"') {
                p = skip_string(p, end);
                continue;
            }
            if (*p == '{' || *p == '[') {
                ++depth;
            } else if ((*p == '}' || *p == ']') && --depth == 0) {
                return p + 1;
            }
            ++p;
        }
        return end;
    }
    while (p < end && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\t' &&
           *p != '\r' && *p != '\n') {
        ++p;
    }
    return p;
}

/* The raw text of the first member named key of the object in json, or base NULL. Keys written
 * with escapes are not recognised; callers fall back to the parse tree. */
static h2o_iovec_t raw_member(h2o_iovec_t json, const char *key)
{
    const char *p = json.base, *end = json.base + json.len;
    size_t key_len = strlen(key);

    if (p == NULL) {
        return h2o_iovec_init(NULL, 0);
    }
    p = skip_space(p, end);
    if (p == end || *p != '{') {
        return h2o_iovec_init(NULL, 0);
    }
    ++p;
    for (;;) {
        p = skip_space(p, end);
        if (p == end || *p != '"') {
            break;
        }
        const char *name = p + 1, *name_end = skip_string(p, end);
        if (name_end == end) {
            break;
        }
        int match = (size_t)(name_end - 1 - name) == key_len && memcmp(name, key, key_len) == 0;
        p = skip_space(name_end, end);
        if (p == end || *p != ':') {
            break;
        }
        const char *value = skip_space(p + 1, end);
        p = skip_value(value, end);
        if (match) {
            return h2o_iovec_init(value, (size_t)(p - value));
        }
        p = skip_space(p, end);
        if (p == end || *p != ',') {
            break;
        }
        ++p;
    }
    return h2o_iovec_init(NULL, 0);
}

/* Follows a NULL-terminated list of member names from the top-level object. */
static h2o_iovec_t raw_path(h2o_iovec_t json, const char *const *path)
{
    for (; *path != NULL && json.base != NULL; ++path) {
        json = raw_member(json, *path);
    }
    return json;
}

/* A JSON string literal for s, in pool. */
static h2o_iovec_t json_quote(h2o_mem_pool_t *pool, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    char *buf = h2o_mem_alloc_pool(pool, len * 6 + 2), *p = buf;

    *p++ = '"';
    for (size_t i = 0; i != len; ++i) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\') {
            *p++ = '\\';
            *p++ = (char)ch;
        } else if (ch < 0x20) {
            memcpy(p, "\\u00", 4);
            p[4] = hex[ch >> 4];
            p[5] = hex[ch & 15];
            p += 6;
        } else {
            *p++ = (char)ch;
        }
    }
    *p++ = '"';
    return h2o_iovec_init(buf, (size_t)(p - buf));
}

/* The JSON text of the string or number v found at path: as sent when possible, else re-encoded
 * from the tree. Points into the body, the tree or the request pool. */
static h2o_iovec_t raw_json(rpc_call_t *c, yajl_val v, const char *const *path)
{
    h2o_iovec_t raw = raw_path(c->body, path);

    if (raw.base != NULL && raw.len != 0) {
        return raw;
    }
    if (YAJL_IS_NUMBER(v)) {
        return h2o_iovec_init(v->u.number.r, strlen(v->u.number.r));
    }
    if (YAJL_IS_STRING(v)) {
        return json_quote(&c->req->pool, v->u.string, strlen(v->u.string));
    }
    return h2o_iovec_init(NULL, 0);
}

/* ---- JSON helpers ---- */

static yajl_val object_get(yajl_val obj, const char *key)
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

/* Reads a non-negative integral number no larger than max. */
static int get_uint(yajl_val v, uint64_t max, uint64_t *out)
{
    if (YAJL_IS_INTEGER(v)) {
        if (v->u.number.i < 0 || (uint64_t)v->u.number.i > max) {
            return 0;
        }
        *out = (uint64_t)v->u.number.i;
        return 1;
    }
    if (YAJL_IS_DOUBLE(v)) {
        double d = v->u.number.d;
        if (!(d >= 0 && d <= (double)max) || d != (double)(uint64_t)d) {
            return 0;
        }
        *out = (uint64_t)d;
        return 1;
    }
    return 0;
}

static void gen_cstr(yajl_gen g, const char *s)
{
    yajl_gen_string(g, (const unsigned char *)s, strlen(s));
}

static void gen_iov(yajl_gen g, h2o_iovec_t v)
{
    yajl_gen_string(g, (const unsigned char *)v.base, v.len);
}

/* Inserts JSON text verbatim as a value (yajl copies number text unchecked); null if absent. */
static void gen_raw(yajl_gen g, h2o_iovec_t raw)
{
    if (raw.base == NULL) {
        yajl_gen_null(g);
        return;
    }
    yajl_gen_number(g, raw.base, raw.len);
}

static void gen_restart(yajl_gen g)
{
    yajl_gen_reset(g, NULL);
    yajl_gen_clear(g);
}

/* The generated text; valid until g is used again. */
static h2o_iovec_t gen_output(yajl_gen g)
{
    const unsigned char *buf;
    size_t len;

    if (yajl_gen_get_buf(g, &buf, &len) != yajl_gen_status_ok) {
        return h2o_iovec_init(NULL, 0);
    }
    return h2o_iovec_init(buf, len);
}

/* ---- sending responses ---- */

/* memcpy that accepts the NULL base of an empty iovec. */
static char *append(char *dst, h2o_iovec_t src)
{
    if (src.len != 0) {
        memcpy(dst, src.base, src.len);
    }
    return dst + src.len;
}

static h2o_iovec_t concat3(h2o_mem_pool_t *pool, h2o_iovec_t a, h2o_iovec_t b, h2o_iovec_t c)
{
    char *buf = h2o_mem_alloc_pool(pool, a.len + b.len + c.len + 1);
    char *end = append(append(append(buf, a), b), c);

    *end = '\0';
    return h2o_iovec_init(buf, (size_t)(end - buf));
}

/* A copy of json in pool, framed as one SSE message event when sse is set. */
static h2o_iovec_t frame_body(h2o_mem_pool_t *pool, h2o_iovec_t json, int sse)
{
    h2o_iovec_t none = h2o_iovec_init(NULL, 0);

    if (!sse) {
        return concat3(pool, none, json, none);
    }
    return concat3(pool, h2o_iovec_init(H2O_STRLIT(SSE_PREFIX)), json,
                   h2o_iovec_init(H2O_STRLIT(SSE_SUFFIX)));
}

static void set_response_head(h2o_req_t *req, int status, const char *reason, int sse)
{
    req->res.status = status;
    req->res.reason = reason;
    if (sse) {
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                       H2O_STRLIT("text/event-stream"));
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL,
                       H2O_STRLIT("no-cache"));
    } else {
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                       H2O_STRLIT("application/json"));
    }
}

/* Sends a whole response at once; body must live in the request pool or be static. */
static void send_whole(h2o_req_t *req, h2o_iovec_t body)
{
    static h2o_generator_t generator = {NULL, NULL};

    req->res.content_length = body.len;
    h2o_start_response(req, &generator);
    h2o_send(req, &body, body.len != 0 ? 1 : 0, H2O_SEND_STATE_FINAL);
}

static void send_empty(h2o_req_t *req, int status, const char *reason)
{
    req->res.status = status;
    req->res.reason = reason;
    send_whole(req, h2o_iovec_init(NULL, 0));
}

static void send_json(h2o_req_t *req, int status, const char *reason, h2o_iovec_t json, int sse)
{
    set_response_head(req, status, reason, sse);
    send_whole(req, frame_body(&req->pool, json, sse));
}

/* An HTTP-level rejection: always application/json, with a JSON-RPC error body. */
static int send_rpc_error(tb_server_t *srv, h2o_req_t *req, int status, const char *reason,
                          h2o_iovec_t raw_id, int code, const char *message)
{
    yajl_gen g = srv->out;

    gen_restart(g);
    yajl_gen_map_open(g);
    gen_cstr(g, "jsonrpc");
    gen_cstr(g, "2.0");
    gen_cstr(g, "id");
    gen_raw(g, raw_id);
    gen_cstr(g, "error");
    yajl_gen_map_open(g);
    gen_cstr(g, "code");
    yajl_gen_integer(g, code);
    gen_cstr(g, "message");
    gen_cstr(g, message);
    yajl_gen_map_close(g);
    yajl_gen_map_close(g);
    send_json(req, status, reason, gen_output(g), 0);
    return 0;
}

static int send_not_allowed(tb_server_t *srv, h2o_req_t *req, const char *allow)
{
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ALLOW, NULL, allow, strlen(allow));
    return send_rpc_error(srv, req, 405, "Method Not Allowed", h2o_iovec_init(NULL, 0), -32000,
                          "Method not allowed");
}

/* Opens {"jsonrpc":"2.0","id":ID, in srv->out; the caller adds "result" or "error". */
static yajl_gen begin_answer(rpc_call_t *c)
{
    yajl_gen g = c->srv->out;

    gen_restart(g);
    yajl_gen_map_open(g);
    gen_cstr(g, "jsonrpc");
    gen_cstr(g, "2.0");
    gen_cstr(g, "id");
    gen_raw(g, c->raw_id);
    return g;
}

/* Closes the answer; the text is valid until srv->out is used again. */
static h2o_iovec_t close_answer(rpc_call_t *c)
{
    yajl_gen_map_close(c->srv->out);
    return gen_output(c->srv->out);
}

static int finish_answer(rpc_call_t *c)
{
    send_json(c->req, 200, "OK", close_answer(c), c->srv->sse);
    return 0;
}

static int answer_raw_result(rpc_call_t *c, h2o_iovec_t result)
{
    yajl_gen g = begin_answer(c);

    gen_cstr(g, "result");
    gen_raw(g, result);
    return finish_answer(c);
}

static int answer_error(rpc_call_t *c, int code, h2o_iovec_t message)
{
    yajl_gen g = begin_answer(c);

    gen_cstr(g, "error");
    yajl_gen_map_open(g);
    gen_cstr(g, "code");
    yajl_gen_integer(g, code);
    gen_cstr(g, "message");
    gen_iov(g, message);
    yajl_gen_map_close(g);
    return finish_answer(c);
}

/* Opens the JSON text a tool returns, with the fields every tool shares, in srv->text. */
static yajl_gen begin_text(rpc_call_t *c, const char *tool)
{
    yajl_gen t = c->srv->text;

    gen_restart(t);
    yajl_gen_map_open(t);
    gen_cstr(t, "backend");
    gen_iov(t, h2o_iovec_init(c->srv->name, c->srv->name_len));
    gen_cstr(t, "session");
    gen_iov(t, c->session);
    gen_cstr(t, "tool");
    gen_cstr(t, tool);
    return t;
}

static void gen_text_content(yajl_gen g, h2o_iovec_t text)
{
    yajl_gen_map_open(g);
    gen_cstr(g, "content");
    yajl_gen_array_open(g);
    yajl_gen_map_open(g);
    gen_cstr(g, "type");
    gen_cstr(g, "text");
    gen_cstr(g, "text");
    gen_iov(g, text);
    yajl_gen_map_close(g);
    yajl_gen_array_close(g);
}

/* Closes the tool's text and wraps it as the answer's only content; valid until srv->out is
 * used again. */
static h2o_iovec_t close_text_answer(rpc_call_t *c)
{
    yajl_gen_map_close(c->srv->text);
    yajl_gen g = begin_answer(c);
    gen_cstr(g, "result");
    gen_text_content(g, gen_output(c->srv->text));
    yajl_gen_map_close(g);
    return close_answer(c);
}

static int finish_text(rpc_call_t *c)
{
    send_json(c->req, 200, "OK", close_text_answer(c), c->srv->sse);
    return 0;
}

/* A tool execution failure: a result with isError, which clients show to the model. */
static int answer_tool_error(rpc_call_t *c, const char *message)
{
    yajl_gen g = begin_answer(c);

    gen_cstr(g, "result");
    gen_text_content(g, h2o_iovec_init(message, strlen(message)));
    gen_cstr(g, "isError");
    yajl_gen_bool(g, 1);
    yajl_gen_map_close(g);
    return finish_answer(c);
}

/* ---- GET streams ---- */

static void set_stream_state(get_stream_t *st, enum stream_state next)
{
    if (st->state == next) {
        return;
    }
    assert((st->state == STREAM_OPEN && next == STREAM_ENDING) ||
           (st->state == STREAM_ENDING && next == STREAM_DONE));
    if (next == STREAM_ENDING) {
        ++st->srv->streaming;
    } else {
        --st->srv->streaming;
    }
    st->state = next;
}

/* Sends the events owed, a heartbeat if nothing else went out for a while, or the end of an
 * ending stream, unless a send is still in flight. h2o_send comes last: nothing touches the
 * stream after it. */
static void flush_stream(get_stream_t *st)
{
    h2o_req_t *req = st->req;
    h2o_iovec_t bufs[STREAM_IOVECS];
    size_t n = 0;

    if (req == NULL || st->writing || st->state == STREAM_DONE) {
        return;
    }
    while (st->list_changed != 0 && n != STREAM_IOVECS) {
        bufs[n++] = h2o_iovec_init(H2O_STRLIT(LIST_CHANGED_EVENT));
        --st->list_changed;
    }
    if (n == 0 && st->heartbeat_due) {
        bufs[n++] = h2o_iovec_init(H2O_STRLIT(HEARTBEAT_COMMENT));
    }
    st->heartbeat_due = 0;
    h2o_send_state_t send_state = H2O_SEND_STATE_IN_PROGRESS;
    if (st->state == STREAM_ENDING && st->list_changed == 0) {
        send_state = H2O_SEND_STATE_FINAL;
        timer_stop(&st->heartbeat);
        set_stream_state(st, STREAM_DONE);
    } else if (n == 0) {
        return;
    }
    st->writing = send_state == H2O_SEND_STATE_IN_PROGRESS;
    h2o_send(req, bufs, n, send_state);
}

static void on_stream_heartbeat(tb_timer_t *timer)
{
    get_stream_t *st = H2O_STRUCT_FROM_MEMBER(get_stream_t, heartbeat, timer);

    st->heartbeat_due = 1;
    timer_start(&st->heartbeat, h2o_now(st->srv->loop) + st->srv->heartbeat_ms);
    flush_stream(st);
}

static void on_stream_proceed(h2o_generator_t *generator, h2o_req_t *req)
{
    get_stream_t *st = H2O_STRUCT_FROM_MEMBER(get_stream_t, generator, generator);

    st->writing = 0;
    flush_stream(st);
}

static void on_stream_stop(h2o_generator_t *generator, h2o_req_t *req)
{
    get_stream_t *st = H2O_STRUCT_FROM_MEMBER(get_stream_t, generator, generator);

    st->req = NULL;
    timer_stop(&st->heartbeat);
}

/* Called by h2o when the request pool goes: the stream was ended or the peer went away. */
static void on_stream_dispose(void *p)
{
    get_stream_t *st = p;

    timer_stop(&st->heartbeat);
    if (h2o_linklist_is_linked(&st->link)) {
        h2o_linklist_unlink(&st->link);
    }
    if (st->state == STREAM_ENDING) {
        --st->srv->streaming;
    }
    --st->srv->stats.streams;
}

/* Takes the stream off its session and ends the response once what it owes is sent. */
static void end_stream(get_stream_t *st)
{
    h2o_linklist_unlink(&st->link);
    set_stream_state(st, STREAM_ENDING);
    flush_stream(st);
}

static void end_session_streams(session_t *s)
{
    while (!h2o_linklist_is_empty(&s->streams)) {
        end_stream(H2O_STRUCT_FROM_MEMBER(get_stream_t, link, s->streams.next));
    }
}

/* Calls fn on every GET stream of every session; fn may take the stream off its list. */
static void each_stream(tb_server_t *srv, void (*fn)(get_stream_t *st))
{
    for (size_t i = 0; i != srv->sessions.nbuckets; ++i) {
        for (session_t *s = srv->sessions.buckets[i]; s != NULL; s = s->next) {
            h2o_linklist_t *l = s->streams.next;
            while (l != &s->streams) {
                h2o_linklist_t *next = l->next;
                fn(H2O_STRUCT_FROM_MEMBER(get_stream_t, link, l));
                l = next;
            }
        }
    }
}

static void send_list_changed(get_stream_t *st)
{
    ++st->list_changed;
    flush_stream(st);
}

/* Opens a GET stream of a live session: the head (with a comment) goes out now, events when
 * they come. */
static void open_stream(tb_server_t *srv, h2o_req_t *req, session_t *session)
{
    get_stream_t *st = h2o_mem_alloc_shared(&req->pool, sizeof(*st), on_stream_dispose);
    h2o_iovec_t open = h2o_iovec_init(H2O_STRLIT(STREAM_OPEN_COMMENT));

    memset(st, 0, sizeof(*st));
    st->generator.proceed = on_stream_proceed;
    st->generator.stop = on_stream_stop;
    st->heartbeat.srv = srv;
    st->heartbeat.on_due = on_stream_heartbeat;
    st->srv = srv;
    st->req = req;
    st->state = STREAM_OPEN;
    h2o_linklist_insert(&session->streams, &st->link);
    ++srv->stats.streams;
    if (srv->heartbeat_ms != 0) {
        timer_start(&st->heartbeat, h2o_now(srv->loop) + srv->heartbeat_ms);
    }
    set_response_head(req, 200, "OK", 1);
    h2o_start_response(req, &st->generator);
    st->writing = 1;
    h2o_send(req, &open, 1, H2O_SEND_STATE_IN_PROGRESS);
}

/* ---- tools ---- */

static int tool_whoami(rpc_call_t *c, yajl_val args)
{
    begin_text(c, "whoami");
    return finish_text(c);
}

static int tool_echo(rpc_call_t *c, yajl_val args)
{
    static const char *const path[] = {"params", "arguments", "text", NULL};
    yajl_val text = object_get(args, "text");

    if (!YAJL_IS_STRING(text)) {
        return answer_tool_error(c, "echo: \"text\" must be a string");
    }
    h2o_iovec_t raw = raw_json(c, text, path);
    yajl_gen t = begin_text(c, "echo");
    gen_cstr(t, "text");
    gen_raw(t, raw);
    return finish_text(c);
}

static int tool_add(rpc_call_t *c, yajl_val args)
{
    yajl_val a = object_get(args, "a"), b = object_get(args, "b");
    long long isum;

    if (!YAJL_IS_DOUBLE(a) || !YAJL_IS_DOUBLE(b)) {
        return answer_tool_error(c, "add: \"a\" and \"b\" must be numbers");
    }
    if (YAJL_IS_INTEGER(a) && YAJL_IS_INTEGER(b) &&
        !__builtin_add_overflow(a->u.number.i, b->u.number.i, &isum)) {
        yajl_gen t = begin_text(c, "add");
        gen_cstr(t, "sum");
        yajl_gen_integer(t, isum);
        return finish_text(c);
    }
    double sum = a->u.number.d + b->u.number.d;
    if (!isfinite(sum)) {
        return answer_tool_error(c, "add: the sum is out of range");
    }
    yajl_gen t = begin_text(c, "add");
    gen_cstr(t, "sum");
    yajl_gen_double(t, sum);
    return finish_text(c);
}

/* All values of the header named like headers[first], joined as a list, in pool. */
static h2o_iovec_t joined_header(h2o_mem_pool_t *pool, const h2o_headers_t *headers, size_t first)
{
    const h2o_iovec_t *name = headers->entries[first].name;
    int is_cookie = h2o_memis(name->base, name->len, H2O_STRLIT("cookie"));
    h2o_iovec_t joined = headers->entries[first].value;

    for (size_t i = first + 1; i != headers->size; ++i) {
        const h2o_header_t *h = &headers->entries[i];
        if (!h2o_memis(h->name->base, h->name->len, name->base, name->len)) {
            continue;
        }
        joined =
            concat3(pool, joined,
                    is_cookie ? h2o_iovec_init(H2O_STRLIT("; ")) : h2o_iovec_init(H2O_STRLIT(", ")),
                    h->value);
    }
    return joined;
}

static int header_seen_before(const h2o_headers_t *headers, size_t index)
{
    const h2o_iovec_t *name = headers->entries[index].name;

    for (size_t i = 0; i != index; ++i) {
        const h2o_iovec_t *other = headers->entries[i].name;
        if (h2o_memis(other->base, other->len, name->base, name->len)) {
            return 1;
        }
    }
    return 0;
}

/* Every request header under its lower-case name, repeated ones joined. HTTP/2 carries the host
 * as :authority, so that is reported as "host" when no host header came. */
static int tool_headers(rpc_call_t *c, yajl_val args)
{
    const h2o_headers_t *headers = &c->req->headers;
    yajl_gen t = begin_text(c, "headers");
    int have_host = 0;

    gen_cstr(t, "headers");
    yajl_gen_map_open(t);
    for (size_t i = 0; i != headers->size; ++i) {
        if (header_seen_before(headers, i)) {
            continue;
        }
        const h2o_iovec_t *name = headers->entries[i].name;
        if (h2o_memis(name->base, name->len, H2O_STRLIT("host"))) {
            have_host = 1;
        }
        gen_iov(t, *name);
        gen_iov(t, joined_header(&c->req->pool, headers, i));
    }
    if (!have_host && c->req->authority.len != 0) {
        gen_cstr(t, "host");
        gen_iov(t, c->req->authority);
    }
    yajl_gen_map_close(t);
    return finish_text(c);
}

static void set_slow_state(slow_call_t *call, enum slow_state next)
{
    if (call->state == next) {
        return;
    }
    assert((call->state == SLOW_WAITING && next == SLOW_STREAMING) ||
           (call->state == SLOW_WAITING && next == SLOW_DONE) ||
           (call->state == SLOW_STREAMING && next == SLOW_DONE));
    if (next == SLOW_DONE) {
        --call->srv->streaming;
    }
    call->state = next;
}

static uint64_t slow_progress_at(const slow_call_t *call, uint32_t progress)
{
    return call->started_at + (uint64_t)call->ms * progress / call->steps;
}

static uint64_t slow_next_due_at(const slow_call_t *call)
{
    if (call->progress_due < call->steps) {
        return slow_progress_at(call, call->progress_due + 1);
    }
    return call->started_at + call->ms;
}

static h2o_iovec_t progress_event(slow_call_t *call, uint32_t progress)
{
    size_t cap = call->token.len + 192;
    char *buf = h2o_mem_alloc_pool(&call->req->pool, cap);
    int len = snprintf(buf, cap,
                       SSE_PREFIX "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\","
                                  "\"params\":{\"progressToken\":%.*s,\"progress\":%" PRIu32
                                  ",\"total\":%" PRIu32 "}}" SSE_SUFFIX,
                       (int)call->token.len, call->token.base, progress, call->steps);

    return h2o_iovec_init(buf, len > 0 && (size_t)len < cap ? (size_t)len : 0);
}

/* Sends whatever has come due, unless a send is still in flight. h2o_send comes last: nothing
 * touches the call after it. */
static void flush_slow_call(slow_call_t *call)
{
    h2o_req_t *req = call->req;

    if (req == NULL || call->writing || call->state == SLOW_DONE) {
        return;
    }
    size_t n = call->progress_due - call->progress_sent + (call->result_due ? 1 : 0);
    if (n == 0) {
        return;
    }
    h2o_iovec_t *bufs = h2o_mem_alloc_pool(&req->pool, sizeof(*bufs) * n);
    size_t i = 0, total = 0;
    while (call->progress_sent < call->progress_due) {
        bufs[i] = progress_event(call, ++call->progress_sent);
        total += bufs[i++].len;
    }
    h2o_send_state_t send_state = H2O_SEND_STATE_IN_PROGRESS;
    if (call->result_due) {
        bufs[i] = call->result;
        total += bufs[i++].len;
        send_state = H2O_SEND_STATE_FINAL;
    }
    if (call->state == SLOW_WAITING) {
        set_response_head(req, 200, "OK", call->srv->sse);
        if (send_state == H2O_SEND_STATE_FINAL) {
            req->res.content_length = total;
        }
        h2o_start_response(req, &call->generator);
    }
    set_slow_state(call, send_state == H2O_SEND_STATE_FINAL ? SLOW_DONE : SLOW_STREAMING);
    call->writing = send_state == H2O_SEND_STATE_IN_PROGRESS;
    h2o_send(req, bufs, n, send_state);
}

static void on_slow_due(tb_timer_t *timer)
{
    slow_call_t *call = H2O_STRUCT_FROM_MEMBER(slow_call_t, timer, timer);
    uint64_t now = h2o_now(call->srv->loop);

    while (call->progress_due < call->steps &&
           now >= slow_progress_at(call, call->progress_due + 1)) {
        ++call->progress_due;
    }
    if (call->progress_due == call->steps && now >= call->started_at + call->ms) {
        call->result_due = 1;
    } else {
        timer_start(&call->timer, slow_next_due_at(call));
    }
    flush_slow_call(call);
}

static void on_slow_proceed(h2o_generator_t *generator, h2o_req_t *req)
{
    slow_call_t *call = H2O_STRUCT_FROM_MEMBER(slow_call_t, generator, generator);

    call->writing = 0;
    flush_slow_call(call);
}

static void on_slow_stop(h2o_generator_t *generator, h2o_req_t *req)
{
    slow_call_t *call = H2O_STRUCT_FROM_MEMBER(slow_call_t, generator, generator);

    call->req = NULL;
    timer_stop(&call->timer);
}

/* Called by h2o when the request pool goes: the response finished or the peer went away. */
static void on_slow_call_dispose(void *p)
{
    slow_call_t *call = p;

    timer_stop(&call->timer);
    if (call->state != SLOW_DONE) {
        --call->srv->streaming;
    }
}

static h2o_iovec_t progress_token(rpc_call_t *c)
{
    static const char *const path[] = {"params", "_meta", "progressToken", NULL};
    yajl_val token = object_get(object_get(c->params, "_meta"), "progressToken");

    if (!YAJL_IS_STRING(token) && !YAJL_IS_NUMBER(token)) {
        return h2o_iovec_init(NULL, 0);
    }
    h2o_iovec_t raw = raw_json(c, token, path);
    return h2o_strdup(&c->req->pool, raw.base, raw.len);
}

static int tool_slow(rpc_call_t *c, yajl_val args)
{
    tb_server_t *srv = c->srv;
    yajl_val steps_arg = object_get(args, "steps");
    uint64_t ms, steps = DEFAULT_SLOW_STEPS;

    if (!get_uint(object_get(args, "ms"), MAX_SLOW_MS, &ms)) {
        return answer_tool_error(c, "slow: \"ms\" must be an integer from 0 to 60000");
    }
    if (steps_arg != NULL && !get_uint(steps_arg, MAX_SLOW_STEPS, &steps)) {
        return answer_tool_error(c, "slow: \"steps\" must be an integer from 0 to 1000");
    }
    slow_call_t *call = h2o_mem_alloc_shared(&c->req->pool, sizeof(*call), on_slow_call_dispose);
    memset(call, 0, sizeof(*call));
    call->generator.proceed = on_slow_proceed;
    call->generator.stop = on_slow_stop;
    call->timer.srv = srv;
    call->timer.on_due = on_slow_due;
    call->srv = srv;
    call->req = c->req;
    call->state = SLOW_WAITING;
    call->started_at = h2o_now(srv->loop);
    call->ms = (uint32_t)ms;
    if (srv->sse) {
        call->token = progress_token(c);
        call->steps = call->token.base != NULL ? (uint32_t)steps : 0;
    }
    yajl_gen t = begin_text(c, "slow");
    gen_cstr(t, "ms");
    yajl_gen_integer(t, (long long)ms);
    call->result = frame_body(&c->req->pool, close_text_answer(c), srv->sse);
    ++srv->streaming;
    timer_start(&call->timer, slow_next_due_at(call));
    return 0;
}

static int tool_fail(rpc_call_t *c, yajl_val args)
{
    return answer_tool_error(c, "failed on purpose");
}

/* Sends the head, up to FILLER_IOVECS filler chunks and, once the filler is out, the tail. */
static void send_filler_round(filler_body_t *body, h2o_req_t *req)
{
    h2o_iovec_t bufs[FILLER_IOVECS + 2];
    size_t n = 0;
    h2o_send_state_t send_state = H2O_SEND_STATE_IN_PROGRESS;

    if (body->head.len != 0) {
        bufs[n++] = body->head;
        body->head.len = 0;
    }
    while (n < FILLER_IOVECS && body->filler_left != 0) {
        size_t len = body->filler_left < FILLER_CHUNK ? body->filler_left : FILLER_CHUNK;
        bufs[n++] = h2o_iovec_init(body->srv->filler, len);
        body->filler_left -= len;
    }
    if (body->filler_left == 0) {
        bufs[n++] = body->tail;
        send_state = H2O_SEND_STATE_FINAL;
    }
    h2o_send(req, bufs, n, send_state);
}

static void on_filler_proceed(h2o_generator_t *generator, h2o_req_t *req)
{
    send_filler_round(H2O_STRUCT_FROM_MEMBER(filler_body_t, generator, generator), req);
}

static void on_filler_dispose(void *p)
{
    filler_body_t *body = p;

    --body->srv->streaming;
}

/* memrchr for a needle: the last occurrence, or NULL. */
static const char *find_last(h2o_iovec_t hay, const char *needle)
{
    size_t len = strlen(needle);

    if (hay.len < len) {
        return NULL;
    }
    for (const char *p = hay.base + hay.len - len;; --p) {
        if (memcmp(p, needle, len) == 0) {
            return p;
        }
        if (p == hay.base) {
            return NULL;
        }
    }
}

/* The answer is built once around a marker, then streamed with the marker replaced by the
 * filler, so megabytes of data are never formatted or copied. */
static int tool_big(rpc_call_t *c, yajl_val args)
{
    tb_server_t *srv = c->srv;
    h2o_req_t *req = c->req;
    uint64_t bytes;

    if (!get_uint(object_get(args, "bytes"), MAX_BIG_BYTES, &bytes)) {
        return answer_tool_error(c, "big: \"bytes\" must be an integer from 0 to 16777216");
    }
    yajl_gen t = begin_text(c, "big");
    gen_cstr(t, "data");
    gen_cstr(t, BIG_MARKER);
    h2o_iovec_t json = close_text_answer(c);
    const char *mark = find_last(json, BIG_MARKER);
    if (mark == NULL) {
        return answer_error(c, -32603, h2o_iovec_init(H2O_STRLIT("Internal error")));
    }
    const char *after = mark + strlen(BIG_MARKER);
    h2o_iovec_t empty = h2o_iovec_init(NULL, 0);
    filler_body_t *body = h2o_mem_alloc_shared(&req->pool, sizeof(*body), on_filler_dispose);
    body->generator.proceed = on_filler_proceed;
    body->generator.stop = NULL;
    body->srv = srv;
    body->head = concat3(&req->pool, srv->sse ? h2o_iovec_init(H2O_STRLIT(SSE_PREFIX)) : empty,
                         h2o_iovec_init(json.base, (size_t)(mark - json.base)), empty);
    body->tail = concat3(&req->pool, h2o_iovec_init(after, (size_t)(json.base + json.len - after)),
                         srv->sse ? h2o_iovec_init(H2O_STRLIT(SSE_SUFFIX)) : empty, empty);
    body->filler_left = (size_t)bytes;
    ++srv->streaming;
    set_response_head(req, 200, "OK", srv->sse);
    req->res.content_length = body->head.len + body->filler_left + body->tail.len;
    h2o_start_response(req, &body->generator);
    send_filler_round(body, req);
    return 0;
}

static int tool_extra(rpc_call_t *c, yajl_val args)
{
    begin_text(c, "extra");
    return finish_text(c);
}

/* Flips whether tools/list has "extra" (for every session) and says so: in this call's event
 * stream before the result with --sse, else on every open GET stream. */
static int tool_toggle_tools(rpc_call_t *c, yajl_val args)
{
    tb_server_t *srv = c->srv;

    srv->extra_listed = !srv->extra_listed;
    yajl_gen t = begin_text(c, "toggle_tools");
    gen_cstr(t, "extra");
    yajl_gen_bool(t, srv->extra_listed);
    h2o_iovec_t json = close_text_answer(c);
    if (!srv->sse) {
        each_stream(srv, send_list_changed);
        send_json(c->req, 200, "OK", json, 0);
        return 0;
    }
    set_response_head(c->req, 200, "OK", 1);
    send_whole(c->req, concat3(&c->req->pool, h2o_iovec_init(H2O_STRLIT(LIST_CHANGED_EVENT)),
                               frame_body(&c->req->pool, json, 1), h2o_iovec_init(NULL, 0)));
    return 0;
}

static const tool_t tools[] = {
    {"whoami", "Returns this backend's name and the caller's session id.", "{}", NULL, tool_whoami},
    {"echo", "Returns the given text.", "{\"text\":{\"type\":\"string\"}}", "[\"text\"]",
     tool_echo},
    {"add", "Adds two numbers.", "{\"a\":{\"type\":\"number\"},\"b\":{\"type\":\"number\"}}",
     "[\"a\",\"b\"]", tool_add},
    {"headers", "Returns the HTTP request headers this backend received.", "{}", NULL,
     tool_headers},
    {"slow",
     "Waits ms milliseconds; with a progress token on an SSE response, reports progress in steps.",
     "{\"ms\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":60000},"
     "\"steps\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":1000,\"default\":3}}",
     "[\"ms\"]", tool_slow},
    {"sleep", "The same as slow under another name (per-tool settings of a gateway).",
     "{\"ms\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":60000},"
     "\"steps\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":1000,\"default\":3}}",
     "[\"ms\"]", tool_slow},
    {"fail", "Always fails with a tool error.", "{}", NULL, tool_fail},
    {"big", "Returns a text holding the given number of bytes of data.",
     "{\"bytes\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":16777216}}", "[\"bytes\"]",
     tool_big},
    {"toggle_tools",
     "Adds the tool extra to tools/list for every session, or removes it again, and sends "
     "notifications/tools/list_changed.",
     "{}", NULL, tool_toggle_tools},
};

/* Listed, and callable, only while toggle_tools has it on. */
static const tool_t extra_tool = {
    "extra", "Returns this backend's name and the caller's session id; listed after toggle_tools.",
    "{}", NULL, tool_extra};

static void gen_tool(yajl_gen g, const tool_t *tool)
{
    yajl_gen_map_open(g);
    gen_cstr(g, "name");
    gen_cstr(g, tool->name);
    gen_cstr(g, "description");
    gen_cstr(g, tool->description);
    gen_cstr(g, "inputSchema");
    yajl_gen_map_open(g);
    gen_cstr(g, "type");
    gen_cstr(g, "object");
    gen_cstr(g, "properties");
    gen_raw(g, h2o_iovec_init(tool->properties, strlen(tool->properties)));
    if (tool->required != NULL) {
        gen_cstr(g, "required");
        gen_raw(g, h2o_iovec_init(tool->required, strlen(tool->required)));
    }
    yajl_gen_map_close(g);
    yajl_gen_map_close(g);
}

/* Builds a constant tools/list result, with or without "extra", into malloc'd memory. */
static int build_tools_list(tb_server_t *srv, int with_extra, h2o_iovec_t *list)
{
    yajl_gen g = srv->out;

    gen_restart(g);
    yajl_gen_map_open(g);
    gen_cstr(g, "tools");
    yajl_gen_array_open(g);
    for (size_t i = 0; i != sizeof(tools) / sizeof(tools[0]); ++i) {
        gen_tool(g, &tools[i]);
    }
    if (with_extra) {
        gen_tool(g, &extra_tool);
    }
    yajl_gen_array_close(g);
    yajl_gen_map_close(g);
    h2o_iovec_t out = gen_output(g);
    if (out.base == NULL || (list->base = malloc(out.len)) == NULL) {
        return -1;
    }
    memcpy(list->base, out.base, out.len);
    list->len = out.len;
    return 0;
}

/* ---- methods ---- */

static int answer_ping(rpc_call_t *c)
{
    return answer_raw_result(c, h2o_iovec_init(H2O_STRLIT("{}")));
}

static int answer_tools_list(rpc_call_t *c)
{
    tb_server_t *srv = c->srv;

    return answer_raw_result(c, srv->extra_listed ? srv->tools_list_extra : srv->tools_list);
}

static int answer_tools_call(rpc_call_t *c)
{
    yajl_val name = object_get(c->params, "name");
    yajl_val args = object_get(c->params, "arguments");

    ++c->srv->stats.calls;
    if (!YAJL_IS_STRING(name) || (args != NULL && !YAJL_IS_OBJECT(args) && !YAJL_IS_NULL(args))) {
        return answer_error(c, -32602, h2o_iovec_init(H2O_STRLIT("Invalid params")));
    }
    for (size_t i = 0; i != sizeof(tools) / sizeof(tools[0]); ++i) {
        if (strcmp(tools[i].name, name->u.string) == 0) {
            return tools[i].call(c, args);
        }
    }
    if (c->srv->extra_listed && strcmp(extra_tool.name, name->u.string) == 0) {
        return extra_tool.call(c, args);
    }
    return answer_error(c, -32602,
                        concat3(&c->req->pool, h2o_iovec_init(H2O_STRLIT("Unknown tool: ")),
                                h2o_iovec_init(name->u.string, strlen(name->u.string)),
                                h2o_iovec_init(NULL, 0)));
}

static const struct rpc_method {
    const char *name;
    int (*answer)(rpc_call_t *c);
} rpc_methods[] = {
    {"ping", answer_ping},
    {"tools/list", answer_tools_list},
    {"tools/call", answer_tools_call},
};

static int answer_initialize(rpc_call_t *c)
{
    tb_server_t *srv = c->srv;
    yajl_val asked = object_get(c->params, "protocolVersion");
    const char *version = LATEST_PROTOCOL_VERSION;
    char id[SESSION_ID_MAX];
    size_t id_len;

    for (size_t i = 0; i != sizeof(supported_versions) / sizeof(supported_versions[0]); ++i) {
        if (YAJL_IS_STRING(asked) && strcmp(asked->u.string, supported_versions[i]) == 0) {
            version = supported_versions[i];
        }
    }
    if (srv->protocol != NULL) {
        version = srv->protocol; /* whatever was asked: the client must follow (spec) */
    }
    if ((id_len = new_session_id(srv, id)) == 0 ||
        session_add(&srv->sessions, h2o_iovec_init(id, id_len)) != 0) {
        return send_rpc_error(srv, c->req, 500, "Internal Server Error", c->raw_id, -32603,
                              "Internal error");
    }
    ++srv->stats.initializes;
    h2o_iovec_t header = h2o_strdup(&c->req->pool, id, id_len);
    h2o_add_header_by_str(&c->req->pool, &c->req->res.headers, H2O_STRLIT("mcp-session-id"), 0,
                          "Mcp-Session-Id", header.base, header.len);

    yajl_gen g = begin_answer(c);
    gen_cstr(g, "result");
    yajl_gen_map_open(g);
    gen_cstr(g, "protocolVersion");
    gen_cstr(g, version);
    gen_cstr(g, "capabilities");
    gen_raw(g, h2o_iovec_init(H2O_STRLIT("{\"tools\":{\"listChanged\":true}}")));
    gen_cstr(g, "serverInfo");
    yajl_gen_map_open(g);
    gen_cstr(g, "name");
    gen_iov(g, h2o_iovec_init(srv->name, srv->name_len));
    gen_cstr(g, "version");
    gen_cstr(g, SERVER_VERSION);
    yajl_gen_map_close(g);
    yajl_gen_map_close(g);
    return finish_answer(c);
}

static int dispatch_request(rpc_call_t *c)
{
    for (size_t i = 0; i != sizeof(rpc_methods) / sizeof(rpc_methods[0]); ++i) {
        if (strcmp(rpc_methods[i].name, c->method) == 0) {
            return rpc_methods[i].answer(c);
        }
    }
    return answer_error(c, -32601, h2o_iovec_init(H2O_STRLIT("Method not found")));
}

/* Checks the JSON-RPC 2.0 shape of c->msg and fills in method, params and raw_id. */
static int classify_message(rpc_call_t *c, enum rpc_kind *kind)
{
    static const char *const id_path[] = {"id", NULL};
    yajl_val jsonrpc = object_get(c->msg, "jsonrpc");
    yajl_val id = object_get(c->msg, "id");
    yajl_val method = object_get(c->msg, "method");

    if (!YAJL_IS_STRING(jsonrpc) || strcmp(jsonrpc->u.string, "2.0") != 0) {
        return -1;
    }
    if (YAJL_IS_STRING(id) || YAJL_IS_NUMBER(id)) {
        c->raw_id = raw_json(c, id, id_path);
    } else if (id != NULL && !YAJL_IS_NULL(id)) {
        return -1;
    }
    if (method != NULL) {
        if (!YAJL_IS_STRING(method) || YAJL_IS_NULL(id)) {
            return -1;
        }
        c->method = method->u.string;
        c->params = object_get(c->msg, "params");
        *kind = id != NULL ? RPC_REQUEST : RPC_NOTIFICATION;
        return 0;
    }
    if (id == NULL ||
        (object_get(c->msg, "result") == NULL) == (object_get(c->msg, "error") == NULL)) {
        return -1;
    }
    *kind = RPC_RESPONSE;
    return 0;
}

/* ---- HTTP ---- */

static h2o_iovec_t trim(h2o_iovec_t v)
{
    while (v.len != 0 && (v.base[0] == ' ' || v.base[0] == '\t')) {
        ++v.base;
        --v.len;
    }
    while (v.len != 0 && (v.base[v.len - 1] == ' ' || v.base[v.len - 1] == '\t')) {
        --v.len;
    }
    return v;
}

/* The media type of a Content-Type value or an Accept list element, without parameters. */
static h2o_iovec_t media_type(h2o_iovec_t v)
{
    const char *semi = memchr(v.base, ';', v.len);

    if (semi != NULL) {
        v.len = (size_t)(semi - v.base);
    }
    return trim(v);
}

/* Which of the two media types the Accept headers list (wildcards do not count). */
static void accepted_types(const h2o_req_t *req, int *json, int *sse)
{
    *json = 0;
    *sse = 0;
    for (ssize_t i = -1; (i = h2o_find_header(&req->headers, H2O_TOKEN_ACCEPT, i)) != -1;) {
        h2o_iovec_t rest = req->headers.entries[i].value;
        while (rest.len != 0) {
            const char *comma = memchr(rest.base, ',', rest.len);
            size_t len = comma != NULL ? (size_t)(comma - rest.base) : rest.len;
            h2o_iovec_t type = media_type(h2o_iovec_init(rest.base, len));
            *json |= h2o_lcstris(type.base, type.len, H2O_STRLIT("application/json"));
            *sse |= h2o_lcstris(type.base, type.len, H2O_STRLIT("text/event-stream"));
            rest.base += len;
            rest.len -= len;
            if (rest.len != 0) {
                ++rest.base;
                --rest.len;
            }
        }
    }
}

static int accepts_json_and_sse(const h2o_req_t *req)
{
    int json, sse;

    accepted_types(req, &json, &sse);
    return json && sse;
}

static int accepts_sse(const h2o_req_t *req)
{
    int json, sse;

    accepted_types(req, &json, &sse);
    return sse;
}

static int content_type_is_json(const h2o_req_t *req)
{
    ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_CONTENT_TYPE, -1);

    if (i == -1) {
        return 0;
    }
    h2o_iovec_t type = media_type(req->headers.entries[i].value);
    return h2o_lcstris(type.base, type.len, H2O_STRLIT("application/json"));
}

static h2o_iovec_t session_header(const h2o_req_t *req)
{
    ssize_t i = h2o_find_header_by_str(&req->headers, H2O_STRLIT("mcp-session-id"), -1);

    return i != -1 ? req->headers.entries[i].value : h2o_iovec_init(NULL, 0);
}

/* Answers 400 or 404 unless the request names a live session. */
static int check_session(tb_server_t *srv, h2o_req_t *req, h2o_iovec_t session, h2o_iovec_t raw_id)
{
    if (session.len == 0) {
        send_rpc_error(srv, req, 400, "Bad Request", raw_id, -32600, "Mcp-Session-Id required");
        return -1;
    }
    if (session_find(&srv->sessions, session) == NULL) {
        send_rpc_error(srv, req, 404, "Not Found", raw_id, -32001, "Session not found");
        return -1;
    }
    return 0;
}

/* A NUL-terminated copy of the body for yajl_tree_parse, in srv->scratch; NULL on no memory. */
static char *copy_body(tb_server_t *srv, h2o_iovec_t entity)
{
    if (entity.len + 1 > srv->scratch_cap) {
        size_t cap = entity.len + 1 > 4096 ? entity.len + 1 : 4096;
        char *p = realloc(srv->scratch, cap);
        if (p == NULL) {
            return NULL;
        }
        srv->scratch = p;
        srv->scratch_cap = cap;
    }
    *append(srv->scratch, entity) = '\0';
    return srv->scratch;
}

static void release_body(tb_server_t *srv)
{
    if (srv->scratch_cap > SCRATCH_KEEP) {
        free(srv->scratch);
        srv->scratch = NULL;
        srv->scratch_cap = 0;
    }
}

static void answer_post(rpc_call_t *c)
{
    tb_server_t *srv = c->srv;
    h2o_req_t *req = c->req;
    h2o_iovec_t none = h2o_iovec_init(NULL, 0);
    enum rpc_kind kind;

    c->body.base = copy_body(srv, req->entity);
    c->body.len = req->entity.len;
    if (c->body.base == NULL) {
        send_rpc_error(srv, req, 500, "Internal Server Error", none, -32603, "Internal error");
        return;
    }
    if (req->entity.len == 0 || memchr(c->body.base, '\0', c->body.len) != NULL ||
        (c->msg = yajl_tree_parse(c->body.base, NULL, 0)) == NULL) {
        send_rpc_error(srv, req, 400, "Bad Request", none, -32700, "Parse error");
        return;
    }
    if (!YAJL_IS_OBJECT(c->msg) || classify_message(c, &kind) != 0) {
        send_rpc_error(srv, req, 400, "Bad Request", c->raw_id, -32600, "Invalid Request");
        return;
    }
    if (kind == RPC_REQUEST && strcmp(c->method, "initialize") == 0) {
        answer_initialize(c);
        return;
    }
    c->session = session_header(req);
    if (check_session(srv, req, c->session, c->raw_id) != 0) {
        return;
    }
    switch (kind) {
    case RPC_NOTIFICATION:
        ++srv->stats.notifications;
        if (c->body.len < sizeof(srv->stats.last_note) && c->session.len <= SESSION_ID_MAX) {
            memcpy(srv->stats.last_note, c->body.base, c->body.len);
            srv->stats.last_note_len = c->body.len;
            memcpy(srv->stats.last_note_session, c->session.base, c->session.len);
            srv->stats.last_note_session[c->session.len] = '\0';
        }
        send_empty(req, 202, "Accepted");
        break;
    case RPC_RESPONSE:
        send_empty(req, 202, "Accepted");
        break;
    case RPC_REQUEST:
        dispatch_request(c);
        break;
    }
}

static int on_post_mcp(tb_server_t *srv, h2o_req_t *req)
{
    h2o_iovec_t none = h2o_iovec_init(NULL, 0);

    if (!accepts_json_and_sse(req)) {
        return send_rpc_error(srv, req, 406, "Not Acceptable", none, -32000,
                              "Not Acceptable: Client must accept both application/json and "
                              "text/event-stream");
    }
    if (!content_type_is_json(req)) {
        return send_rpc_error(srv, req, 415, "Unsupported Media Type", none, -32000,
                              "Unsupported Media Type: Content-Type must be application/json");
    }
    if (srv->protocol != NULL) {
        /* a strict server of one revision: after initialize, requests must name it */
        ssize_t i = h2o_find_header_by_str(&req->headers, H2O_STRLIT("mcp-protocol-version"), -1);
        if (i >= 0 &&
            !h2o_memis(req->headers.entries[i].value.base, req->headers.entries[i].value.len,
                       srv->protocol, strlen(srv->protocol))) {
            return send_rpc_error(srv, req, 400, "Bad Request", none, -32000,
                                  "Bad Request: Unsupported protocol version");
        }
    }
    rpc_call_t c = {.srv = srv, .req = req};
    answer_post(&c);
    yajl_tree_free(c.msg);
    release_body(srv);
    return 0;
}

static int on_get_mcp(tb_server_t *srv, h2o_req_t *req)
{
    h2o_iovec_t session = session_header(req);

    if (!accepts_sse(req)) {
        return send_rpc_error(srv, req, 406, "Not Acceptable", h2o_iovec_init(NULL, 0), -32000,
                              "Not Acceptable: Client must accept text/event-stream");
    }
    if (check_session(srv, req, session, h2o_iovec_init(NULL, 0)) != 0) {
        return 0;
    }
    open_stream(srv, req, session_find(&srv->sessions, session));
    return 0;
}

static int on_delete_mcp(tb_server_t *srv, h2o_req_t *req)
{
    h2o_iovec_t session = session_header(req);

    if (check_session(srv, req, session, h2o_iovec_init(NULL, 0)) != 0) {
        return 0;
    }
    end_session_streams(session_find(&srv->sessions, session));
    session_remove(&srv->sessions, session);
    ++srv->stats.deletes;
    send_empty(req, 200, "OK");
    return 0;
}

static int on_get_stats(tb_server_t *srv, h2o_req_t *req)
{
    char buf[1600];
    const stats_t *st = &srv->stats;
    int len = snprintf(
        buf, sizeof(buf),
        "{\"initializes\":%" PRIu64 ",\"sessions\":%zu,\"calls\":%" PRIu64 ",\"deletes\":%" PRIu64
        ",\"notifications\":%" PRIu64 ",\"streams\":%" PRIu64 ",\"last_notification\":%.*s"
        ",\"last_notification_session\":\"%s\"}",
        st->initializes, srv->sessions.count, st->calls, st->deletes, st->notifications,
        st->streams, st->last_note_len ? (int)st->last_note_len : 4,
        st->last_note_len ? st->last_note : "null", st->last_note_session);

    send_json(req, 200, "OK", h2o_iovec_init(buf, (size_t)len), 0);
    return 0;
}

static int is_method(const h2o_req_t *req, const char *method)
{
    return h2o_memis(req->method.base, req->method.len, method, strlen(method));
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    tb_server_t *srv = ((mcp_handler_t *)self)->srv;
    h2o_iovec_t path = req->path_normalized;

    if (h2o_memis(path.base, path.len, H2O_STRLIT("/mcp"))) {
        if (is_method(req, "POST")) {
            return on_post_mcp(srv, req);
        }
        if (is_method(req, "GET")) {
            return on_get_mcp(srv, req);
        }
        if (is_method(req, "DELETE")) {
            return on_delete_mcp(srv, req);
        }
        return send_not_allowed(srv, req, "GET, POST, DELETE");
    }
    if (h2o_memis(path.base, path.len, H2O_STRLIT("/stats"))) {
        if (is_method(req, "GET")) {
            return on_get_stats(srv, req);
        }
        return send_not_allowed(srv, req, "GET");
    }
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                   H2O_STRLIT("text/plain; charset=utf-8"));
    req->res.status = 404;
    req->res.reason = "Not Found";
    send_whole(req, h2o_iovec_init(H2O_STRLIT("not found\n")));
    return 0;
}

/* ---- process ---- */

static void on_accept(h2o_socket_t *listener, const char *err)
{
    tb_server_t *srv = listener->data;

    if (err != NULL) {
        return;
    }
    for (size_t i = 0; i != ACCEPT_BATCH; ++i) {
        h2o_socket_t *sock = h2o_evloop_socket_accept(listener);
        if (sock == NULL) {
            return;
        }
        h2o_accept(&srv->accept_ctx, sock);
    }
}

/* Set by SIGINT and SIGTERM; a signal also interrupts epoll_wait, so the loop sees it at once. */
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
    if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0) {
        return -1;
    }
    return 0;
}

/* Returns a listening socket's fd, or -1 after printing why. */
static int listen_on(const char *address, uint16_t port)
{
    struct sockaddr_storage ss;
    socklen_t sslen;
    struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
    int fd, on = 1;

    memset(&ss, 0, sizeof(ss));
    if (inet_pton(AF_INET, address, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons(port);
        sslen = sizeof(*sin);
    } else if (inet_pton(AF_INET6, address, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(port);
        sslen = sizeof(*sin6);
    } else {
        fprintf(stderr, "mcpgw-testbackend: --address %s: not an IP address\n", address);
        return -1;
    }
    if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
        fprintf(stderr, "mcpgw-testbackend: socket: %s\n", strerror(errno));
        return -1;
    }
    /* accepted sockets inherit TCP_NODELAY from the listener on Linux */
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) != 0 ||
        bind(fd, (struct sockaddr *)&ss, sslen) != 0 || listen(fd, SOMAXCONN) != 0) {
        fprintf(stderr, "mcpgw-testbackend: listen on %s port %u: %s\n", address, port,
                strerror(errno));
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
    if (ss.ss_family == AF_INET6) {
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    }
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

/* h2o 2.2 has no public count of open connections; its graceful-shutdown lists are the truth. */
static int has_connections(tb_server_t *srv)
{
    return !h2o_linklist_is_empty(&srv->ctx.http1._conns) ||
           !h2o_linklist_is_empty(&srv->ctx.http2._conns);
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: mcpgw-testbackend --name NAME [--address ADDR] [--port N] [--sse]\n"
            "                         [--heartbeat MS] [--protocol VERSION]\n"
            "\n"
            "An MCP Streamable HTTP server on /mcp for the gateway's tests and benchmarks.\n"
            "  --name NAME     backend name: 1-64 of A-Z a-z 0-9 _ . - (required)\n"
            "  --address ADDR  IPv4 or IPv6 address to listen on (default 127.0.0.1)\n"
            "  --port N        TCP port; 0 picks a free one (default 0)\n"
            "  --sse           answer every request as text/event-stream\n"
            "  --heartbeat MS  a comment on GET streams idle for MS ms; 0: none\n"
            "                  (default 15000)\n"
            "  --protocol VERSION  speak only this revision (2025-03-26, 2025-06-18 or\n"
            "                  2025-11-25): initialize answers it, other MCP-Protocol-Version\n"
            "                  headers get 400\n"
            "  --hang-up PATH  connect to the unix socket PATH, close at once and exit\n"
            "                  (a peer that hangs up mid-handshake)\n"
            "  --help          show this help\n"
            "\n"
            "Prints \"listening port=N\" once listening; GET /stats shows counters.\n");
}

static int valid_name(const char *name)
{
    size_t len = strlen(name);

    if (len == 0 || len > MAX_NAME_LEN) {
        return 0;
    }
    for (size_t i = 0; i != len; ++i) {
        char ch = name[i];
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '.' || ch == '-')) {
            return 0;
        }
    }
    return 1;
}

/* --hang-up PATH: connects to the unix socket at PATH and closes at once, before its listener
 * can greet; what wedges an nng 1.5.2 listener (tests/integration/wedge.test.mjs). */
static int hang_up(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path)) {
        fprintf(stderr, "mcpgw-testbackend: --hang-up %s: path too long\n", path);
        return 2;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        fprintf(stderr, "mcpgw-testbackend: --hang-up %s: %s\n", path, strerror(errno));
        return 1;
    }
    close(fd);
    return 0;
}

static int parse_args(tb_server_t *srv, int argc, char **argv, const char **address, uint16_t *port)
{
    static const struct option options[] = {
        {"name", required_argument, NULL, 'n'},
        {"address", required_argument, NULL, 'a'},
        {"port", required_argument, NULL, 'p'},
        {"sse", no_argument, NULL, 's'},
        {"heartbeat", required_argument, NULL, 'b'},
        {"protocol", required_argument, NULL, 'P'},
        {"hang-up", required_argument, NULL, 'U'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int opt;

    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        char *end;
        unsigned long n;
        switch (opt) {
        case 'n':
            srv->name = optarg;
            break;
        case 'a':
            *address = optarg;
            break;
        case 'p':
            errno = 0;
            n = strtoul(optarg, &end, 10);
            if (errno != 0 || *optarg == '\0' || *end != '\0' || n > 65535) {
                fprintf(stderr, "mcpgw-testbackend: --port %s: not a port number\n", optarg);
                return 2;
            }
            *port = (uint16_t)n;
            break;
        case 's':
            srv->sse = 1;
            break;
        case 'b':
            errno = 0;
            n = strtoul(optarg, &end, 10);
            if (errno != 0 || *optarg == '\0' || *end != '\0' || n > MAX_HEARTBEAT_MS) {
                fprintf(stderr, "mcpgw-testbackend: --heartbeat %s: not a number of ms up to %d\n",
                        optarg, MAX_HEARTBEAT_MS);
                return 2;
            }
            srv->heartbeat_ms = n;
            break;
        case 'U':
            return hang_up(optarg);
        case 'P':
            srv->protocol = NULL;
            for (size_t i = 0; i != sizeof(supported_versions) / sizeof(supported_versions[0]);
                 ++i) {
                if (strcmp(optarg, supported_versions[i]) == 0) {
                    srv->protocol = supported_versions[i];
                }
            }
            if (srv->protocol == NULL) {
                fprintf(stderr, "mcpgw-testbackend: --protocol %s: not a revision it knows\n",
                        optarg);
                return 2;
            }
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
    if (srv->name == NULL || !valid_name(srv->name)) {
        fprintf(stderr, "mcpgw-testbackend: --name must be 1-64 of A-Z a-z 0-9 _ . -\n");
        return 2;
    }
    srv->name_len = strlen(srv->name);
    return -1;
}

int main(int argc, char **argv)
{
    /* static: whatever h2o still holds at exit stays reachable for leak checkers */
    static tb_server_t srv;
    const char *address = "127.0.0.1";
    uint16_t port = 0;
    int rc, listen_fd;

    srv.heartbeat_ms = DEFAULT_HEARTBEAT_MS;
    if ((rc = parse_args(&srv, argc, argv, &address, &port)) != -1) {
        return rc;
    }
    if (install_signal_handlers() != 0) {
        fprintf(stderr, "mcpgw-testbackend: sigaction: %s\n", strerror(errno));
        return 1;
    }
    if ((listen_fd = listen_on(address, port)) == -1) {
        return 1;
    }
    memset(srv.filler, 'x', sizeof(srv.filler));
    srv.out = yajl_gen_alloc(NULL);
    srv.text = yajl_gen_alloc(NULL);
    if (srv.out == NULL || srv.text == NULL || session_table_init(&srv.sessions) != 0 ||
        build_tools_list(&srv, 0, &srv.tools_list) != 0 ||
        build_tools_list(&srv, 1, &srv.tools_list_extra) != 0) {
        fprintf(stderr, "mcpgw-testbackend: out of memory\n");
        return 1;
    }

    h2o_config_init(&srv.config);
    srv.config.server_name = h2o_iovec_init(H2O_STRLIT("mcpgw-testbackend"));
    srv.config.max_request_entity_size = MAX_REQUEST_BODY;
    h2o_hostconf_t *hostconf =
        h2o_config_register_host(&srv.config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h2o_pathconf_t *pathconf = h2o_config_register_path(hostconf, "/", 0);
    mcp_handler_t *handler = (mcp_handler_t *)h2o_create_handler(pathconf, sizeof(*handler));
    handler->super.on_req = on_req;
    handler->srv = &srv;

    srv.loop = h2o_evloop_create();
    h2o_context_init(&srv.ctx, srv.loop, &srv.config);
    timer_levels_init(&srv);
    srv.accept_ctx.ctx = &srv.ctx;
    srv.accept_ctx.hosts = srv.config.hosts;

    srv.listener = h2o_evloop_socket_create(srv.loop, listen_fd, H2O_SOCKET_FLAG_DONT_READ);
    srv.listener->data = &srv;
    h2o_socket_read_start(srv.listener, on_accept);

    printf("listening port=%d\n", bound_port(listen_fd));
    fflush(stdout);

    while (!stop_signalled) {
        h2o_evloop_run(srv.loop, STOP_POLL_MS);
    }

    /* stop taking connections, end the GET streams, give streaming responses a moment, leave */
    h2o_socket_read_stop(srv.listener);
    h2o_socket_close(srv.listener);
    each_stream(&srv, end_stream);
    uint64_t give_up_at = h2o_now(srv.loop) + SHUTDOWN_GRACE_MS;
    while (srv.streaming != 0 && h2o_now(srv.loop) < give_up_at) {
        h2o_evloop_run(srv.loop, 10);
    }
    h2o_evloop_run(srv.loop, 0); /* let the closed listener go */

    if (!has_connections(&srv) && timer_levels_idle(&srv)) {
        timer_levels_dispose(&srv);
        h2o_context_dispose(&srv.ctx);
        h2o_evloop_destroy(srv.loop);
        h2o_config_dispose(&srv.config);
    }
    session_table_fini(&srv.sessions);
    yajl_gen_free(srv.out);
    yajl_gen_free(srv.text);
    free(srv.scratch);
    free(srv.tools_list.base);
    free(srv.tools_list_extra.base);
    return 0;
}
