/* router.c: mcpgw-router, the HTTP front: buffers each request body in full, classifies its
 * JSON-RPC message, dispatches it over nng to the broker or the owning worker and streams the
 * answer back (JSON or SSE). One thread, one h2o event loop; nng's threads never touch h2o. */
#include <config.h> /* autoconf's, not common/config.h */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <h2o.h>
#include <h2o/http2.h>
#include <nng/nng.h>
#include <openssl/rand.h>
#include <yajl/yajl_tree.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/envelope.h"
#include "common/hash.h"
#include "common/ipc.h"
#include "common/json.h"
#include "common/jsonrpc.h"
#include "common/log.h"
#include "common/mcp.h"
#include "common/metrics.h"
#include "common/revoked.h"
#include "common/streams.h"
#include "common/token.h"

#define BROKER_TIMEOUT_MS 30000    /* gateway-level methods are answered by the broker itself */
#define DEADLINE_GRACE_MS 1000     /* the router's own timer fires this long after the hop's */
#define CALL_BUCKETS 4096          /* correlation id hash buckets (a power of two) */
#define USE_BUCKETS 4096           /* sessions in use: hash buckets (a power of two) */
#define ACTIVITY_MS_DEFAULT 5000   /* session activity reports, until the broker says otherwise */
#define ACTIVITY_BATCH (64u << 10) /* bytes of one activity report message, at most (about) */
#define MAX_LISTENERS 16
#define REQUEST_ID_MAX 64
#define BATCH_MAX 256 /* messages in one batch (2025-03-26 sessions) */

typedef struct peer peer_t;
typedef struct call call_t;
typedef struct batch batch_t;
typedef struct session_use session_use_t;

/* A process the router sends to: the broker or one worker. */
struct peer {
    char name[GW_SERVER_NAME_MAX + 16]; /* "broker" or "worker-<server>" */
    gw_outbox_t out;                    /* to the peer's inbox */
    h2o_socket_t *send_sock;            /* the outbox's send fd, watched while it queues */
    int event_fd;
    h2o_socket_t *event_sock;
    atomic_uint pipes_added; /* written by nng threads, read by the loop */
    atomic_uint pipes_removed;
    unsigned seen_added;
    unsigned seen_removed;
    h2o_linklist_t calls; /* call_t.peer_link, in flight to this peer */
    peer_t *next;
};

/* A call's timer waits in the list of its duration (h2o_timeout_t lists have one duration each):
 * one list per distinct deadline the routing tables have named, never freed (a handful). */
typedef struct timeout_list {
    uint64_t ms;
    h2o_timeout_t timeout;
    struct timeout_list *next;
} timeout_list_t;

/* servers[].tool_timeouts from the routing table: a backend tool's deadline. */
typedef struct route_tool_timeout {
    char *tool; /* the backend's own name, without the prefix */
    uint64_t ms;
} route_tool_timeout_t;

typedef struct route_server {
    char *name;
    size_t prefix_len;
    peer_t *peer;
    uint64_t timeout_ms; /* the backend deadline of a call to this server (servers[].timeout) */
    route_tool_timeout_t *tool_timeouts;
    size_t ntool_timeouts;
    int resources; /* advertises resources */
    int logging;   /* advertises logging */
    int tasks;     /* advertises tasks */
} route_server_t;

/* The kinds of keys the routing table maps to their owning server (docs/ipc.md). */
enum { KEY_TOOLS, KEY_PROMPTS, KEY_RESOURCES, KEY_TEMPLATES, KEY_KINDS };
static const char *const key_kind_names[KEY_KINDS] = {"tools", "prompts", "resources",
                                                      "resourceTemplates"};

typedef struct route_key {
    char *key;
    size_t server;
} route_key_t;

/* The routing table pushed by the broker; replaced whole on every push. */
typedef struct routes {
    uint64_t generation;
    route_server_t *servers;
    size_t nservers;
    route_key_t *keys[KEY_KINDS]; /* sorted by key, but templates in the broker's order */
    size_t nkeys[KEY_KINDS];
    uint64_t activity_ms; /* how often to report the sessions in use to the broker */
} routes_t;

/* Links an h2o request (freed by h2o whenever it likes) to what answers it (a call or a batch):
 * when the request goes, the owner's req and guard become NULL; when the owner goes first, it
 * clears the guard's pointers. */
typedef struct req_guard {
    h2o_req_t **req;
    struct req_guard **guard;
} req_guard_t;

/* A batch of a 2025-03-26 session: every message is handled as if it came alone; the answers
 * are collected and sent as one JSON array once the last one is in (202 when none is). */
struct batch {
    h2o_req_t *req; /* NULL once the client has gone */
    req_guard_t *guard;
    size_t pending; /* messages not answered yet */
    size_t nanswers;
    int building; /* still going through the messages */
    gw_buf_t out; /* "[" and the answers so far, comma-separated */
};

typedef enum call_state {
    CALL_WAITING,   /* sent; nothing received yet */
    CALL_STREAMING, /* an SSE response has started */
} call_state_t;

struct call {
    uint64_t corr;
    peer_t *peer;
    h2o_linklist_t peer_link;
    call_t *hash_next;
    h2o_req_t *req; /* NULL once the client has gone */
    req_guard_t *guard;
    h2o_generator_t gen;
    h2o_timeout_entry_t timer;
    call_state_t state;
    int64_t start_us;
    unsigned status; /* from HEAD */
    int sse;
    int ended;        /* END received */
    int send_pending; /* h2o_send issued, proceed not yet called */
    char *rpc_id;     /* raw JSON id, for error answers */
    size_t rpc_id_len;
    char *audit_tool; /* tools/call: the tool, for the audit line when the call ends */
    char audit_backend[GW_SERVER_NAME_MAX + 1]; /* a copy: the routing table may change */
    char audit_session[GW_UUID_TEXT_LEN + 1];
    char request_id[REQUEST_ID_MAX + 1]; /* for every log line about this call */
    batch_t *batch; /* the batch this call answers a message of (req is NULL then) */
    int stream;     /* a client's GET stream (held open by the broker) */
    char stream_session[GW_UUID_TEXT_LEN + 1];
    const char *outcome; /* NULL: answered by the peer; else why the gateway answered */
    session_use_t *use;  /* the session's count this call holds a place in, or NULL */
    gw_buf_t body;       /* JSON: the body; SSE: events not yet handed to h2o */
    gw_buf_t sending;    /* SSE: the bytes h2o is writing now */
};

/* A session this router has seen lately: its requests in flight, held against
 * limits.max_concurrent_requests_per_session, and whether a request came since the last activity
 * report to the broker (which ends sessions idle for sessions.idle_timeout; it does not see
 * calls). Kept while either holds. */
struct session_use {
    char uuid[GW_UUID_TEXT_LEN + 1];
    int64_t expires; /* the token's expiry (unix seconds): a restarted broker learns it again */
    unsigned in_flight;
    int seen;
    session_use_t *hash_next;
};

typedef struct router {
    gw_config_t *cfg;
    gw_keyring_t *keys;
    unsigned index;
    h2o_globalconf_t h2o_config;
    h2o_context_t ctx;
    h2o_accept_ctx_t accept_ctx;
    h2o_socket_t *listeners[MAX_LISTENERS];
    size_t nlisteners;
    char inbox_name[32]; /* "router-<index>": where every reply to this router arrives */
    nng_socket inbox;
    gw_ipc_guard_t inbox_guard; /* nng 1.5.2: a listener that stopped taking peers is replaced */
    h2o_socket_t *inbox_sock;
    peer_t *broker;
    peer_t *peers; /* every peer, broker first */
    routes_t *routes;
    uint64_t routes_corr; /* correlation id of the live routes subscription */
    timeout_list_t *timeouts;
    h2o_timeout_t retry_timeout;
    h2o_timeout_entry_t retry_entry;
    h2o_timeout_t arrival_timeout; /* the sweep for HTTP/2 requests that arrive too slowly */
    h2o_timeout_entry_t arrival_entry;
    call_t *calls[CALL_BUCKETS];
    uint64_t next_corr;
    size_t ncalls;
    size_t nstreams;         /* of ncalls, GET streams: not requests in flight */
    batch_t *cur_batch;      /* while a batch's messages are handled: answers go to it */
    h2o_timeout_t heartbeat; /* http.sse_heartbeat, for idle GET streams */
    gw_revoked_t revoked;    /* sessions ended before their tokens expire */
    int64_t next_purge_ms;   /* when expired revocations are dropped next */
    session_use_t *uses[USE_BUCKETS];
    int64_t next_activity_ms; /* when the next activity report is due */
    char request_id_prefix[9];
    uint64_t next_request_id;
    gw_metrics_slot_t *m; /* this router's metrics slot, or NULL */
    int signal_pipe[2];
    h2o_socket_t *signal_sock;
    int stopping;
    int64_t stop_deadline;
} router_t;

static router_t R;

#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

/* ---- small helpers ---- */

static void add_header(h2o_req_t *req, const char *name, const char *value, size_t len)
{
    h2o_add_header_by_str(&req->pool, &req->res.headers, name, strlen(name), 1, NULL, value, len);
}

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void count_response(unsigned status, size_t bytes)
{
    gw_metric_add(R.m,
                  status < 300   ? GW_MC_RESP_2XX
                  : status < 500 ? GW_MC_RESP_4XX
                                 : GW_MC_RESP_5XX,
                  1);
    gw_metric_add(R.m, GW_MC_BYTES_OUT, bytes);
}

/* Which rejection an error answer is, for the metrics (one place, from what the client gets). */
static gw_counter_t rejection_of(unsigned status, int code, const char *msg)
{
    switch (status) {
    case 413:
        return GW_MC_REJ_BODY_TOO_LARGE;
    case 431:
        return GW_MC_REJ_HEADER_TOO_LARGE;
    case 429:
        return strstr(msg, "max_concurrent_requests_per_session") != NULL
                   ? GW_MC_REJ_SESSION_REQUESTS
                   : GW_MC_REJ_SESSION_LIMIT;
    case 406:
        return GW_MC_REJ_NOT_ACCEPTABLE;
    case 415:
        return GW_MC_REJ_UNSUPPORTED_MEDIA_TYPE;
    case 403:
        return GW_MC_REJ_FORBIDDEN;
    case 404:
        return GW_MC_REJ_UNKNOWN_SESSION;
    case 405:
        return GW_MC_REJ_METHOD_NOT_ALLOWED;
    case 503:
        return GW_MC_REJ_UNAVAILABLE;
    default:
        break;
    }
    switch (code) {
    case GW_RPC_PARSE_ERROR:
        return GW_MC_REJ_PARSE_ERROR;
    case GW_RPC_METHOD_NOT_FOUND:
        return GW_MC_REJ_UNKNOWN_METHOD;
    case GW_RPC_INVALID_PARAMS:
    case GW_RPC_RESOURCE_NOT_FOUND:
        return GW_MC_REJ_UNKNOWN_NAME;
    case GW_RPC_TIMEOUT:
        return GW_MC_REJ_TIMEOUT;
    case GW_RPC_BACKEND_UNAVAILABLE:
        return GW_MC_REJ_UNAVAILABLE;
    default:
        break;
    }
    if (strstr(msg, "Mcp-Session-Id") != NULL) {
        return GW_MC_REJ_MISSING_SESSION;
    }
    if (strstr(msg, "MCP-Protocol-Version") != NULL) {
        return GW_MC_REJ_BAD_PROTOCOL_VERSION;
    }
    return GW_MC_REJ_INVALID_REQUEST;
}

static const char *reason_phrase(unsigned status)
{
    switch (status) {
    case 200:
        return "OK";
    case 202:
        return "Accepted";
    case 400:
        return "Bad Request";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 406:
        return "Not Acceptable";
    case 413:
        return "Payload Too Large";
    case 415:
        return "Unsupported Media Type";
    case 431:
        return "Request Header Fields Too Large";
    case 502:
        return "Bad Gateway";
    case 429:
        return "Too Many Requests";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    default:
        return status < 300 ? "OK" : status < 500 ? "Client Error" : "Server Error";
    }
}

static void batch_answer(batch_t *b, const char *body, size_t len);

static void respond_raw(h2o_req_t *req, unsigned status, const char *body, size_t len)
{
    static h2o_generator_t none = {NULL, NULL};
    if (R.cur_batch != NULL && R.cur_batch->req == req) {
        batch_answer(R.cur_batch, body, len); /* one message of a batch answered here */
        return;
    }
    count_response(status, len);
    req->res.status = (int)status;
    req->res.reason = reason_phrase(status);
    if (len > 0) {
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                       H2O_STRLIT("application/json"));
        req->res.content_length = len;
        h2o_send_inline(req, body, len);
    } else {
        req->res.content_length = 0;
        h2o_start_response(req, &none);
        h2o_send(req, NULL, 0, H2O_SEND_STATE_FINAL);
    }
}

/* The request id req is answered with (its x-request-id response header, the first thing on_req
 * sets), for log lines about req. */
static h2o_iovec_t request_id_of(h2o_req_t *req)
{
    ssize_t i = h2o_find_header_by_str(&req->res.headers, H2O_STRLIT("x-request-id"), -1);
    return i < 0 ? h2o_iovec_init("", 0) : req->res.headers.entries[i].value;
}

/* Answers a JSON-RPC error with the given HTTP status (and logs it at info). */
static void respond_error(h2o_req_t *req, unsigned status, const char *id, size_t id_len, int code,
                          const char *msg)
{
    gw_buf_t b;
    gw_buf_init(&b);
    h2o_iovec_t rid = request_id_of(req);
    if (gw_rpc_error(&b, id, id_len, code, msg) != GW_OK) {
        gw_buf_fini(&b);
        gw_log_err("msg=\"out of memory answering an error\" status=%u request_id=%.*s", status,
                   (int)rid.len, rid.base);
        h2o_send_error_503(req, "Service Unavailable", "out of memory", 0);
        return;
    }
    char reason[512]; /* msg may carry a name the client chose */
    gw_log_info("msg=rejected status=%u code=%d reason=\"%s\" request_id=%.*s", status, code,
                gw_log_quote(reason, sizeof(reason), msg, strlen(msg)), (int)rid.len, rid.base);
    gw_metric_add(R.m, rejection_of(status, code, msg), 1);
    respond_raw(req, status, b.data, b.len);
    gw_buf_fini(&b);
}

static void on_req_dispose(void *p)
{
    req_guard_t *g = p;
    if (g->req != NULL) {
        *g->req = NULL;
        *g->guard = NULL;
    }
}

/* Ties req to owner's req and guard fields (see req_guard_t). */
static void req_guard(h2o_req_t *req, h2o_req_t **owner_req, req_guard_t **owner_guard)
{
    req_guard_t *g = h2o_mem_alloc_shared(&req->pool, sizeof(*g), on_req_dispose);
    *owner_req = req;
    *owner_guard = g;
    g->req = owner_req;
    g->guard = owner_guard;
}

/* The owner goes first: the request no longer points at it. */
static void req_unguard(req_guard_t *g)
{
    if (g != NULL) {
        g->req = NULL;
    }
}

/* Sends the batch's answer once every message has one, and frees the batch. */
static void batch_maybe_finish(batch_t *b)
{
    if (b->building || b->pending > 0) {
        return;
    }
    if (b->req != NULL) {
        if (b->nanswers > 0 && gw_buf_append(&b->out, "]", 1) == GW_OK) {
            respond_raw(b->req, 200, b->out.data, b->out.len);
        } else {
            respond_raw(b->req, 202, NULL, 0);
        }
    }
    req_unguard(b->guard);
    gw_buf_fini(&b->out);
    free(b);
}

/* One message of the batch is done: its answer (a JSON-RPC response) or nothing (202). */
static void batch_answer(batch_t *b, const char *body, size_t len)
{
    if (len > 0 && body[0] == '{') {
        if ((b->nanswers > 0 && gw_buf_append(&b->out, ",", 1) != GW_OK) ||
            gw_buf_append(&b->out, body, len) != GW_OK) {
            h2o_iovec_t rid = b->req != NULL ? request_id_of(b->req) : h2o_iovec_init("", 0);
            gw_log_err("msg=\"out of memory collecting a batch answer\" request_id=%.*s",
                       (int)rid.len, rid.base);
        } else {
            b->nanswers++;
        }
    }
    b->pending--;
    batch_maybe_finish(b);
}

static h2o_iovec_t find_header(h2o_req_t *req, const char *name)
{
    ssize_t i = h2o_find_header_by_str(&req->headers, name, strlen(name), -1);
    if (i < 0) {
        return h2o_iovec_init(NULL, 0);
    }
    return req->headers.entries[i].value;
}

static h2o_iovec_t find_token(h2o_req_t *req, const h2o_token_t *token)
{
    ssize_t i = h2o_find_header(&req->headers, token, -1);
    if (i < 0) {
        return h2o_iovec_init(NULL, 0);
    }
    return req->headers.entries[i].value;
}

/* Does the comma-separated media-type list v contain type (ignoring parameters and case)? */
static int accepts(h2o_iovec_t v, const char *type)
{
    size_t tlen = strlen(type);
    size_t i = 0;
    while (i < v.len) {
        while (i < v.len && (v.base[i] == ' ' || v.base[i] == '\t' || v.base[i] == ',')) {
            i++;
        }
        size_t start = i;
        while (i < v.len && v.base[i] != ',' && v.base[i] != ';' && v.base[i] != ' ') {
            i++;
        }
        size_t n = i - start;
        if ((n == tlen && strncasecmp(v.base + start, type, n) == 0) ||
            (n == 3 && memcmp(v.base + start, "*/*", 3) == 0)) {
            return 1;
        }
        while (i < v.len && v.base[i] != ',') {
            i++;
        }
    }
    return 0;
}

static int is_json_content_type(h2o_iovec_t v)
{
    static const char ct[] = "application/json";
    size_t n = sizeof(ct) - 1;
    if (v.len < n || strncasecmp(v.base, ct, n) != 0) {
        return 0;
    }
    return v.len == n || v.base[n] == ';' || v.base[n] == ' ';
}

/* Is host (no port, no brackets) a loopback name or address? */
static int is_loopback_host(const char *h, size_t n)
{
    return (n == 9 && strncasecmp(h, "localhost", 9) == 0) ||
           (n == 3 && memcmp(h, "::1", 3) == 0) ||
           (n >= 4 && memcmp(h, "127.", 4) == 0 && strspn(h, "0123456789.") == n);
}

/* Splits "host:port", "[v6]:port" or "host" into the host part. */
static void host_part(const char *s, size_t n, const char **h, size_t *hn)
{
    if (n > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', n);
        *h = s + 1;
        *hn = close != NULL ? (size_t)(close - s - 1) : n - 1;
        return;
    }
    const char *colon = memchr(s, ':', n);
    *h = s;
    *hn = colon != NULL ? (size_t)(colon - s) : n;
}

static int in_list(char *const *list, size_t n, const char *s, size_t len)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(list[i], "*") == 0 ||
            (strlen(list[i]) == len && strncasecmp(list[i], s, len) == 0)) {
            return 1;
        }
    }
    return 0;
}

/* DNS-rebinding protection (transports spec): the Host must be loopback, one of the listen
 * addresses or in http.allowed_hosts; an Origin, when sent, must be loopback or in
 * http.allowed_origins. */
static int host_and_origin_allowed(h2o_req_t *req)
{
    const char *h;
    size_t hn;
    host_part(req->input.authority.base, req->input.authority.len, &h, &hn);
    int host_ok =
        is_loopback_host(h, hn) || in_list(R.cfg->allowed_hosts, R.cfg->nallowed_hosts, h, hn);
    for (size_t i = 0; !host_ok && i < R.cfg->nlisten; i++) {
        const char *a = R.cfg->listen[i].address;
        host_ok = strlen(a) == hn && strncasecmp(a, h, hn) == 0;
    }
    if (!host_ok) {
        return 0;
    }
    h2o_iovec_t origin = find_header(req, "origin");
    if (origin.len == 0) {
        return 1;
    }
    if (in_list(R.cfg->allowed_origins, R.cfg->nallowed_origins, origin.base, origin.len)) {
        return 1;
    }
    const char *sep = origin.len > 3 ? memmem(origin.base, origin.len, "://", 3) : NULL;
    if (sep == NULL) {
        return 0;
    }
    const char *auth = sep + 3;
    host_part(auth, (size_t)(origin.base + origin.len - auth), &h, &hn);
    return is_loopback_host(h, hn);
}

static void make_request_id(h2o_req_t *req, char out[REQUEST_ID_MAX + 1])
{
    h2o_iovec_t v = find_header(req, "x-request-id");
    if (v.len > 0 && v.len <= REQUEST_ID_MAX) {
        size_t i;
        for (i = 0; i < v.len; i++) {
            char c = v.base[i];
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_' || c == '.' || c == ':')) {
                break;
            }
        }
        if (i == v.len) {
            memcpy(out, v.base, v.len);
            out[v.len] = '\0';
            return;
        }
    }
    snprintf(out, REQUEST_ID_MAX + 1, "%s%08llx", R.request_id_prefix,
             (unsigned long long)(++R.next_request_id & 0xffffffffu));
}

/* ---- the routing table ---- */

static int cmp_key(const void *a, const void *b)
{
    return strcmp(((const route_key_t *)a)->key, ((const route_key_t *)b)->key);
}

static void routes_destroy(routes_t *r)
{
    if (r == NULL) {
        return;
    }
    for (size_t i = 0; i < r->nservers; i++) {
        free(r->servers[i].name);
        for (size_t j = 0; j < r->servers[i].ntool_timeouts; j++) {
            free(r->servers[i].tool_timeouts[j].tool);
        }
        free(r->servers[i].tool_timeouts);
    }
    for (size_t k = 0; k < KEY_KINDS; k++) {
        for (size_t i = 0; i < r->nkeys[k]; i++) {
            free(r->keys[k][i].key);
        }
        free(r->keys[k]);
    }
    free(r->servers);
    free(r);
}

static const route_key_t *routes_find(const routes_t *r, int kind, const char *key)
{
    if (r == NULL || r->nkeys[kind] == 0) {
        return NULL;
    }
    route_key_t k = {(char *)key, 0};
    return bsearch(&k, r->keys[kind], r->nkeys[kind], sizeof(k), cmp_key);
}

/* Does uri match the RFC 6570 template t? Literal characters match themselves; a simple
 * expression {x} matches one or more characters other than / ? # and ,; a reserved or fragment
 * expression ({+x}, {#x}) and a query expression ({?x}, {&x}) match any rest, possibly empty. */
static int template_match(const char *t, const char *uri)
{
    while (*t != '\0') {
        if (*t != '{') {
            if (*t++ != *uri++) {
                return 0;
            }
            continue;
        }
        const char *close = strchr(t, '}');
        if (close == NULL) {
            return 0;
        }
        char op = t[1];
        t = close + 1;
        if (op == '+' || op == '#' || op == '?' || op == '&') {
            for (const char *u = uri + strlen(uri);; u--) { /* longest first */
                if (template_match(t, u)) {
                    return 1;
                }
                if (u == uri) {
                    return 0;
                }
            }
        }
        size_t n = strcspn(uri, "/?#,");
        for (size_t k = n; k >= 1; k--) {
            if (template_match(t, uri + k)) {
                return 1;
            }
        }
        return 0;
    }
    return *uri == '\0';
}

/* The server that owns resource uri: the one listing it, else the first whose template
 * matches, else the only server offering resources (docs/routing.md); -1 when none. */
static long routes_resource_owner(const routes_t *r, const char *uri)
{
    if (r == NULL) {
        return -1;
    }
    const route_key_t *k = routes_find(r, KEY_RESOURCES, uri);
    if (k != NULL) {
        return (long)k->server;
    }
    for (size_t i = 0; i < r->nkeys[KEY_TEMPLATES]; i++) {
        if (template_match(r->keys[KEY_TEMPLATES][i].key, uri)) {
            return (long)r->keys[KEY_TEMPLATES][i].server;
        }
    }
    long only = -1;
    for (size_t i = 0; i < r->nservers; i++) {
        if (r->servers[i].resources) {
            if (only >= 0) {
                return -1;
            }
            only = (long)i;
        }
    }
    return only;
}

static peer_t *peer_create(const char *name);

static peer_t *peer_find(const char *name)
{
    for (peer_t *p = R.peers; p != NULL; p = p->next) {
        if (strcmp(p->name, name) == 0) {
            return p;
        }
    }
    return NULL;
}

static int parse_key_map(routes_t *r, yajl_val map, int kind)
{
    if (!YAJL_IS_OBJECT(map)) {
        return -1;
    }
    size_t n = YAJL_GET_OBJECT(map)->len;
    if ((r->keys[kind] = calloc(n + 1, sizeof(route_key_t))) == NULL) {
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        yajl_val idx = YAJL_GET_OBJECT(map)->values[i];
        if (!YAJL_IS_INTEGER(idx) || YAJL_GET_INTEGER(idx) < 0 ||
            (size_t)YAJL_GET_INTEGER(idx) >= r->nservers) {
            return -1;
        }
        route_key_t *k = &r->keys[kind][r->nkeys[kind]];
        if ((k->key = strdup(YAJL_GET_OBJECT(map)->keys[i])) == NULL) {
            return -1;
        }
        k->server = (size_t)YAJL_GET_INTEGER(idx);
        r->nkeys[kind]++;
    }
    if (kind != KEY_TEMPLATES) { /* templates are tried in the broker's (config) order */
        qsort(r->keys[kind], r->nkeys[kind], sizeof(route_key_t), cmp_key);
    }
    return 0;
}

/* A server's "tool_timeouts" object ({tool: ms}), absent when it has none. */
static int parse_tool_timeouts(route_server_t *s, yajl_val map)
{
    if (map == NULL) {
        return 0;
    }
    if (!YAJL_IS_OBJECT(map)) {
        return -1;
    }
    size_t n = YAJL_GET_OBJECT(map)->len;
    if ((s->tool_timeouts = calloc(n + 1, sizeof(*s->tool_timeouts))) == NULL) {
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        yajl_val ms = YAJL_GET_OBJECT(map)->values[i];
        if (!YAJL_IS_INTEGER(ms) || YAJL_GET_INTEGER(ms) <= 0) {
            return -1;
        }
        route_tool_timeout_t *t = &s->tool_timeouts[s->ntool_timeouts];
        if ((t->tool = strdup(YAJL_GET_OBJECT(map)->keys[i])) == NULL) {
            return -1;
        }
        t->ms = (uint64_t)YAJL_GET_INTEGER(ms);
        s->ntool_timeouts++;
    }
    return 0;
}

/* The backend deadline of a tools/call of tool (the backend's name) on s. */
static uint64_t route_tool_timeout(const route_server_t *s, const char *tool)
{
    for (size_t i = 0; i < s->ntool_timeouts; i++) {
        if (strcmp(s->tool_timeouts[i].tool, tool) == 0) {
            return s->tool_timeouts[i].ms;
        }
    }
    return s->timeout_ms;
}

/* Builds a routes_t from the broker's routing table (docs/ipc.md); NULL when it is malformed. */
static routes_t *routes_from_tree(yajl_val root)
{
    routes_t *r = calloc(1, sizeof(*r));
    yajl_val gen = gw_json_get(root, "generation");
    yajl_val servers = gw_json_get(root, "servers");
    if (r == NULL || !YAJL_IS_INTEGER(gen) || !YAJL_IS_ARRAY(servers)) {
        goto fail;
    }
    r->generation = (uint64_t)YAJL_GET_INTEGER(gen);
    yajl_val activity = gw_json_get(root, "activity_ms");
    r->activity_ms = YAJL_IS_INTEGER(activity) && YAJL_GET_INTEGER(activity) > 0
                         ? (uint64_t)YAJL_GET_INTEGER(activity)
                         : ACTIVITY_MS_DEFAULT;
    size_t ns = YAJL_GET_ARRAY(servers)->len;
    r->servers = calloc(ns + 1, sizeof(*r->servers));
    if (r->servers == NULL) {
        goto fail;
    }
    for (size_t i = 0; i < ns; i++) {
        yajl_val s = YAJL_GET_ARRAY(servers)->values[i];
        const char *name = gw_json_get_string(s, "name");
        const char *prefix = gw_json_get_string(s, "prefix");
        yajl_val tmo = gw_json_get(s, "timeout_ms");
        if (name == NULL || prefix == NULL || !YAJL_IS_INTEGER(tmo)) {
            goto fail;
        }
        char pname[sizeof(((peer_t *)0)->name)];
        snprintf(pname, sizeof(pname), "worker-%s", name);
        peer_t *p = peer_find(pname);
        if (p == NULL && (p = peer_create(pname)) == NULL) {
            goto fail;
        }
        r->servers[i].name = strdup(name);
        r->servers[i].prefix_len = strlen(prefix);
        r->servers[i].peer = p;
        r->servers[i].timeout_ms = (uint64_t)YAJL_GET_INTEGER(tmo);
        r->servers[i].resources = YAJL_IS_TRUE(gw_json_get(s, "resources"));
        r->servers[i].logging = YAJL_IS_TRUE(gw_json_get(s, "logging"));
        r->servers[i].tasks = YAJL_IS_TRUE(gw_json_get(s, "tasks"));
        r->nservers++;
        if (r->servers[i].name == NULL ||
            parse_tool_timeouts(&r->servers[i], gw_json_get(s, "tool_timeouts")) != 0) {
            goto fail;
        }
    }
    for (int k = 0; k < KEY_KINDS; k++) {
        if (parse_key_map(r, gw_json_get(root, key_kind_names[k]), k) != 0) {
            goto fail;
        }
    }
    return r;
fail:
    gw_log_err("msg=\"bad routing table\"");
    routes_destroy(r);
    return NULL;
}

/* Revocations from the broker: added to the set (all of them after "reset"). */
static void revoked_apply(yajl_val root)
{
    yajl_val list = gw_json_get(root, "revoke");
    if (YAJL_IS_TRUE(gw_json_get(root, "reset"))) {
        gw_revoked_clear(&R.revoked);
    }
    for (size_t i = 0; YAJL_IS_ARRAY(list) && i < YAJL_GET_ARRAY(list)->len; i++) {
        const char *entry = YAJL_GET_STRING(YAJL_GET_ARRAY(list)->values[i]);
        uint8_t uuid[16];
        int64_t expires;
        if (entry == NULL || gw_revoked_parse_entry(entry, uuid, &expires) != GW_OK) {
            gw_log_err("msg=\"bad revocation from the broker\"");
            continue;
        }
        if (gw_revoked_add(&R.revoked, uuid, expires) != GW_OK) {
            gw_log_err("msg=\"out of memory keeping a revoked session\"");
        }
    }
}

/* ---- sessions in use ---- */

/* The slot of session uuid's entry (where a new one goes when there is none). */
static session_use_t **session_use_slot(gw_str_t uuid)
{
    session_use_t **slot = &R.uses[gw_hash(uuid.ptr, uuid.len) & (USE_BUCKETS - 1)];
    while (*slot != NULL && !gw_str_eq(uuid, (*slot)->uuid)) {
        slot = &(*slot)->hash_next;
    }
    return slot;
}

/* The entry of session uuid, created when missing; NULL when out of memory (or not a uuid). */
static session_use_t *session_use_get(gw_str_t uuid)
{
    session_use_t **slot = session_use_slot(uuid);
    if (*slot != NULL || uuid.len > GW_UUID_TEXT_LEN) {
        return *slot;
    }
    session_use_t *u = calloc(1, sizeof(*u));
    if (u != NULL) {
        memcpy(u->uuid, uuid.ptr, uuid.len);
        *slot = u;
    }
    return u;
}

/* Frees u once nothing holds it. */
static void session_use_put(session_use_t *u)
{
    if (u == NULL || u->in_flight > 0 || u->seen) {
        return;
    }
    session_use_t **slot = session_use_slot((gw_str_t){u->uuid, strlen(u->uuid)});
    *slot = u->hash_next;
    free(u);
}

/* A request of a valid session came: it counts as activity at the next report. */
static void session_seen(const char *uuid, int64_t expires)
{
    session_use_t *u = session_use_get((gw_str_t){uuid, strlen(uuid)});
    if (u != NULL) {
        u->seen = 1;
        u->expires = expires;
    }
}

/* Does a call of e take a place among its session's concurrent requests? Requests the router
 * waits on do; notifications, answers to server requests, DELETE and long-lived streams do
 * not (nor ping, answered without a peer). */
static int counts_against_session(const gw_envelope_t *e)
{
    return e->kind == GW_ENV_CALL && e->method.len > 0 && e->session.len > 0 &&
           !(e->flags & GW_ENV_F_STREAM);
}

/* ---- calls in flight ---- */

static call_t **call_slot(uint64_t corr)
{
    call_t **slot = &R.calls[corr & (CALL_BUCKETS - 1)];
    while (*slot != NULL && (*slot)->corr != corr) {
        slot = &(*slot)->hash_next;
    }
    return slot;
}

static void call_destroy(call_t *c)
{
    call_t **slot = call_slot(c->corr);
    if (*slot == c) {
        *slot = c->hash_next;
    }
    h2o_linklist_unlink(&c->peer_link);
    if (h2o_timeout_is_linked(&c->timer)) {
        h2o_timeout_unlink(&c->timer);
    }
    req_unguard(c->guard);
    if (c->use != NULL) {
        c->use->in_flight--;
        session_use_put(c->use);
    }
    batch_t *batch = c->batch;
    gw_buf_t answer = c->body; /* a batch message's answer, handed over below */
    gw_buf_init(&c->body);
    gw_buf_fini(&c->sending);
    free(c->rpc_id);
    int64_t took_us = now_us() - c->start_us;
    gw_metric_observe_us(R.m, GW_MH_GATEWAY, (uint64_t)took_us);
    if (c->audit_tool != NULL) {
        /* One audit line per tools/call: who called what, where, and how it ended. */
        gw_log_info("msg=audit request_id=%s session=%s subject=\"\" tool=%s backend=%s "
                    "status=%u outcome=%s duration_ms=%.3f",
                    c->request_id, c->audit_session, c->audit_tool, c->audit_backend,
                    c->status ? c->status : 200, c->outcome ? c->outcome : "answered",
                    took_us / 1000.0);
        free(c->audit_tool);
    }
    R.nstreams -= c->stream != 0;
    free(c);
    R.ncalls--;
    gw_gauge_set(R.m, GW_MG_IN_FLIGHT, (int64_t)(R.ncalls - R.nstreams));
    if (batch != NULL) {
        batch_answer(batch, answer.data, answer.len);
    }
    gw_buf_fini(&answer);
}

static gw_err_t peer_send(peer_t *p, gw_envelope_t *e);

/* Tells the broker to stop sending to this GET stream. */
static void stream_release(call_t *c)
{
    gw_envelope_t e = {.kind = GW_ENV_CONTROL, .corr = c->corr, .flags = GW_ENV_F_NOREPLY};
    e.method = GW_STR("stream/close");
    e.session = (gw_str_t){c->stream_session, strlen(c->stream_session)};
    peer_send(R.broker, &e);
}

/* The client left its GET stream. */
static void stream_gone(call_t *c)
{
    stream_release(c);
    call_destroy(c);
}

static void call_flush(call_t *c);

static void on_generator_proceed(h2o_generator_t *gen, h2o_req_t *req)
{
    call_t *c = container_of(gen, call_t, gen);
    c->send_pending = 0;
    gw_buf_reset(&c->sending);
    call_flush(c);
}

static void on_generator_stop(h2o_generator_t *gen, h2o_req_t *req)
{
    call_t *c = container_of(gen, call_t, gen);
    c->req = NULL;
    if (c->ended) {
        call_destroy(c);
    } else if (c->stream) {
        stream_gone(c);
    }
}

/* Hands the buffered SSE events to h2o when it is ready for them; ends the response and frees
 * the call once END has come and everything is written. */
static void call_flush(call_t *c)
{
    if (c->req == NULL) {
        if (c->ended) {
            call_destroy(c);
        }
        return;
    }
    if (c->send_pending) {
        return;
    }
    if (c->ended) {
        /* The final piece must outlive the call: copy it into the request's pool. */
        h2o_iovec_t last = h2o_strdup(&c->req->pool, c->body.data ? c->body.data : "", c->body.len);
        h2o_req_t *req = c->req;
        call_destroy(c);
        h2o_send(req, &last, last.len > 0 ? 1 : 0, H2O_SEND_STATE_FINAL);
        return;
    }
    if (c->body.len == 0) {
        return;
    }
    gw_buf_t t = c->sending;
    c->sending = c->body;
    c->body = t;
    gw_buf_reset(&c->body);
    h2o_iovec_t v = h2o_iovec_init(c->sending.data, c->sending.len);
    c->send_pending = 1;
    h2o_send(c->req, &v, 1, H2O_SEND_STATE_IN_PROGRESS);
}

static void sse_append_id(call_t *c, gw_str_t id, const char *data, size_t len)
{
    gw_metric_add(R.m, GW_MC_BYTES_OUT, len);
    if ((id.len > 0 && (gw_buf_appends(&c->body, "id: ") != GW_OK ||
                        gw_buf_append(&c->body, id.ptr, id.len) != GW_OK ||
                        gw_buf_appends(&c->body, "\n") != GW_OK)) ||
        gw_buf_appends(&c->body, "event: message\ndata: ") != GW_OK ||
        gw_buf_append(&c->body, data, len) != GW_OK || gw_buf_appends(&c->body, "\n\n") != GW_OK) {
        gw_log_err("msg=\"out of memory buffering an event\" request_id=%s", c->request_id);
    }
}

static void sse_append(call_t *c, const char *data, size_t len)
{
    sse_append_id(c, GW_STR_NULL, data, len);
}

/* An idle GET stream gets a comment now and then: proxies and clients see it is alive. */
static void on_heartbeat(h2o_timeout_entry_t *entry)
{
    call_t *c = container_of(entry, call_t, timer);
    if (gw_buf_appends(&c->body, ": keepalive\n\n") == GW_OK) {
        call_flush(c);
    }
    if (!c->ended) {
        h2o_timeout_link(R.ctx.loop, &R.heartbeat, &c->timer);
    }
}

/* Restarts the heartbeat wait of a GET stream (something was just sent). */
static void heartbeat_rearm(call_t *c)
{
    if (R.cfg->sse_heartbeat_ms == 0) {
        return;
    }
    if (h2o_timeout_is_linked(&c->timer)) {
        h2o_timeout_unlink(&c->timer);
    }
    c->timer.cb = on_heartbeat;
    h2o_timeout_link(R.ctx.loop, &R.heartbeat, &c->timer);
}

/* Ends a call that will get no (more) answer from its peer, telling the client why. */
static void call_fail(call_t *c, int code, const char *msg)
{
    c->outcome = code == GW_RPC_TIMEOUT ? "timeout" : "unavailable";
    gw_log_warn("msg=\"call failed\" peer=%s code=%d reason=\"%s\" request_id=%s", c->peer->name,
                code, msg, c->request_id);
    if (c->batch != NULL) {
        gw_buf_reset(&c->body);
        if (c->rpc_id_len > 0) {
            gw_rpc_error(&c->body, c->rpc_id, c->rpc_id_len, code, msg);
        }
        call_destroy(c);
        return;
    }
    if (c->req == NULL) {
        call_destroy(c);
        return;
    }
    if (c->state == CALL_STREAMING) {
        gw_buf_t e;
        gw_buf_init(&e);
        if (c->rpc_id_len > 0 && gw_rpc_error(&e, c->rpc_id, c->rpc_id_len, code, msg) == GW_OK) {
            sse_append(c, e.data, e.len);
        }
        gw_buf_fini(&e);
        c->ended = 1;
        call_flush(c);
        return;
    }
    h2o_req_t *req = c->req;
    char *id = c->rpc_id;
    size_t id_len = c->rpc_id_len;
    c->rpc_id = NULL;
    call_destroy(c);
    respond_error(req, id_len > 0 ? 200 : 503, id, id_len, code, msg);
    free(id);
}

static void on_call_timeout(h2o_timeout_entry_t *entry)
{
    call_t *c = container_of(entry, call_t, timer);
    char msg[96];
    snprintf(msg, sizeof(msg), "gateway timed out waiting for %s", c->peer->name);
    call_fail(c, GW_RPC_TIMEOUT, msg);
}

static void call_on_head(call_t *c, const gw_envelope_t *e)
{
    c->status = e->status ? e->status : 200;
    c->sse = (e->flags & GW_ENV_F_SSE) != 0;
    if (c->req == NULL) {
        return;
    }
    if (c->stream && c->sse) {
        /* open: no deadline from now on, a heartbeat while idle */
        h2o_timeout_unlink(&c->timer);
        heartbeat_rearm(c);
    }
    for (size_t i = 0; i < e->nheaders; i++) {
        h2o_iovec_t name =
            h2o_strdup(&c->req->pool, e->headers[i].name.ptr, e->headers[i].name.len);
        h2o_iovec_t value =
            h2o_strdup(&c->req->pool, e->headers[i].value.ptr, e->headers[i].value.len);
        h2o_add_header_by_str(&c->req->pool, &c->req->res.headers, name.base, name.len, 1, NULL,
                              value.base, value.len);
    }
    if (c->sse) {
        count_response(c->status, 0);
        c->state = CALL_STREAMING;
        c->req->res.status = (int)c->status;
        c->req->res.reason = "OK";
        h2o_add_header(&c->req->pool, &c->req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                       H2O_STRLIT("text/event-stream"));
        h2o_add_header(&c->req->pool, &c->req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL,
                       H2O_STRLIT("no-cache"));
        c->gen.proceed = on_generator_proceed;
        c->gen.stop = on_generator_stop;
        h2o_start_response(c->req, &c->gen);
        /* Send the headers now: the client learns the stream is open before the first event.
         * h2o 2.2 holds back a head sent without body bytes, so a GET stream, which may stay
         * idle until the first heartbeat, starts with a comment. */
        if (c->stream && gw_buf_appends(&c->body, ": open\n\n") == GW_OK) {
            call_flush(c);
            return;
        }
        c->send_pending = 1;
        h2o_send(c->req, NULL, 0, H2O_SEND_STATE_IN_PROGRESS);
    }
}

/* A reply to one message of a batch: only its JSON-RPC response is kept (what an event stream
 * carries besides, progress and server requests, has nowhere to go in a JSON array). */
static void batch_call_on_reply(call_t *c, const gw_envelope_t *e)
{
    gw_rpc_t rpc;
    switch (e->kind) {
    case GW_ENV_HEAD:
        c->status = e->status ? e->status : 200;
        c->sse = (e->flags & GW_ENV_F_SSE) != 0;
        if (e->flags & GW_ENV_F_FINAL) {
            gw_buf_reset(&c->body);
            gw_buf_append(&c->body, e->body.ptr, e->body.len);
            call_destroy(c);
        }
        return;
    case GW_ENV_CHUNK:
        if (!c->sse) {
            gw_buf_append(&c->body, e->body.ptr, e->body.len);
        } else if (gw_rpc_scan(e->body.ptr, e->body.len, GW_RPC_DEFAULT_MAX_DEPTH, &rpc) == GW_OK &&
                   rpc.kind == GW_MSG_RESPONSE && rpc.id.len == c->rpc_id_len &&
                   memcmp(e->body.ptr + rpc.id.off, c->rpc_id, rpc.id.len) == 0) {
            gw_buf_reset(&c->body);
            gw_buf_append(&c->body, e->body.ptr, e->body.len);
        }
        return;
    case GW_ENV_END:
        if (c->body.len == 0 && e->body.len > 0) {
            gw_buf_append(&c->body, e->body.ptr, e->body.len);
        }
        call_destroy(c);
        return;
    default:
        return;
    }
}

static void call_on_reply(call_t *c, const gw_envelope_t *e)
{
    if (c->batch != NULL) {
        batch_call_on_reply(c, e);
        return;
    }
    switch (e->kind) {
    case GW_ENV_HEAD:
        call_on_head(c, e);
        if (c->stream && c->req == NULL) {
            stream_gone(c); /* the client left before the stream opened */
            return;
        }
        if ((e->flags & GW_ENV_F_FINAL) && !c->sse) {
            /* the whole JSON reply in one message: answer straight from it */
            h2o_req_t *req = c->req;
            unsigned status = e->status ? e->status : 200;
            if (status >= 400) { /* a refusal decided behind the router (session limits) */
                gw_log_info("msg=rejected status=%u by=%s request_id=%s", status, c->peer->name,
                            c->request_id);
                gw_metric_add(R.m, rejection_of(status, 0, ""), 1);
            }
            call_destroy(c);
            if (req != NULL) {
                respond_raw(req, status, e->body.ptr, e->body.len);
            }
        }
        return;
    case GW_ENV_CHUNK:
        if (c->sse) {
            gw_str_t id = GW_STR_NULL;
            for (size_t i = 0; i < e->nheaders; i++) {
                if (gw_str_eq(e->headers[i].name, "event-id")) {
                    id = e->headers[i].value;
                }
            }
            sse_append_id(c, id, e->body.ptr, e->body.len);
            if (c->stream) {
                heartbeat_rearm(c);
            }
            call_flush(c);
        } else if (gw_buf_append(&c->body, e->body.ptr, e->body.len) != GW_OK) {
            call_fail(c, GW_RPC_INTERNAL_ERROR, "gateway out of memory");
        }
        return;
    case GW_ENV_END:
        break;
    default:
        return;
    }
    if (c->sse) {
        c->ended = 1;
        call_flush(c);
        return;
    }
    h2o_req_t *req = c->req;
    if (req == NULL) {
        call_destroy(c);
        return;
    }
    unsigned status = c->status ? c->status : (e->status ? e->status : 502);
    if (status >= 400) {
        gw_log_info("msg=\"call ended with an error\" status=%u by=%s request_id=%s", status,
                    c->peer->name, c->request_id);
    }
    if (c->status == 0 && e->body.len > 0) {
        gw_buf_reset(&c->body);
        gw_buf_append(&c->body, e->body.ptr, e->body.len);
    }
    gw_buf_t body = c->body;
    gw_buf_init(&c->body);
    call_destroy(c);
    respond_raw(req, status, body.data, body.len);
    gw_buf_fini(&body);
}

/* The timer list for ms: the router's own wait for a peer, which is the hop's deadline plus
 * DEADLINE_GRACE_MS so that the peer's clearer answer (a worker's -32011 naming the backend)
 * arrives first. */
static h2o_timeout_t *timeout_list(uint64_t ms)
{
    for (timeout_list_t *t = R.timeouts; t != NULL; t = t->next) {
        if (t->ms == ms) {
            return &t->timeout;
        }
    }
    timeout_list_t *t = calloc(1, sizeof(*t));
    if (t == NULL) {
        /* out of memory: any list times the call out; the first one made is the broker's */
        timeout_list_t *last = R.timeouts;
        while (last->next != NULL) {
            last = last->next;
        }
        return &last->timeout;
    }
    t->ms = ms;
    h2o_timeout_init(R.ctx.loop, &t->timeout, ms);
    t->next = R.timeouts;
    R.timeouts = t;
    return &t->timeout;
}

/* Sends a CALL/CONTROL for req to peer and tracks it; answers the client at once on failure.
 * Returns the call while it is in flight (NULL once answered), for the caller to annotate. */
static call_t *dispatch(h2o_req_t *req, peer_t *peer, gw_envelope_t *e, uint64_t timeout_ms)
{
    session_use_t *use = counts_against_session(e) ? session_use_get(e->session) : NULL;
    unsigned limit = R.cfg->max_concurrent_requests_per_session;
    if (use != NULL && limit > 0 && use->in_flight >= limit) {
        char msg[160];
        h2o_iovec_t rid = request_id_of(req);
        gw_log_warn("msg=\"request refused: limits.max_concurrent_requests_per_session reached\" "
                    "session=%s limit=%u request_id=%.*s",
                    use->uuid, limit, (int)rid.len, rid.base);
        snprintf(msg, sizeof(msg),
                 "Too Many Requests: this session already has %u requests in flight "
                 "(limits.max_concurrent_requests_per_session)",
                 use->in_flight);
        respond_error(req, 429, e->rpc_id.ptr, e->rpc_id.len, GW_RPC_INTERNAL_ERROR, msg);
        return NULL;
    }
    call_t *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        session_use_put(use);
        respond_error(req, 503, e->rpc_id.ptr, e->rpc_id.len, GW_RPC_INTERNAL_ERROR,
                      "gateway out of memory");
        return NULL;
    }
    if (use != NULL) {
        use->in_flight++;
        c->use = use;
    }
    c->corr = ++R.next_corr;
    c->start_us = now_us();
    c->peer = peer;
    if (R.cur_batch != NULL && R.cur_batch->req == req) {
        c->batch = R.cur_batch; /* the batch answers the client, not this call */
    } else {
        req_guard(req, &c->req, &c->guard);
    }
    gw_buf_init(&c->body);
    gw_buf_init(&c->sending);
    snprintf(c->request_id, sizeof(c->request_id), "%.*s", (int)e->request_id.len,
             e->request_id.ptr);
    if (e->rpc_id.len > 0 && (c->rpc_id = malloc(e->rpc_id.len)) != NULL) {
        memcpy(c->rpc_id, e->rpc_id.ptr, e->rpc_id.len);
        c->rpc_id_len = e->rpc_id.len;
    }
    c->hash_next = NULL;
    *call_slot(c->corr) = c;
    h2o_linklist_insert(&peer->calls, &c->peer_link);
    R.ncalls++;
    gw_gauge_set(R.m, GW_MG_IN_FLIGHT, (int64_t)(R.ncalls - R.nstreams));
    c->timer.cb = on_call_timeout;
    h2o_timeout_link(R.ctx.loop, timeout_list(timeout_ms + DEADLINE_GRACE_MS), &c->timer);

    e->corr = c->corr;
    e->deadline_ms = gw_clock_ms() + (int64_t)timeout_ms;
    gw_err_t err = peer_send(peer, e);
    if (err != GW_OK) {
        char msg[128];
        snprintf(msg, sizeof(msg), "%s unavailable: %s", peer->name, gw_strerror(err));
        call_fail(c, GW_RPC_BACKEND_UNAVAILABLE, msg);
        return NULL;
    }
    return c;
}

/* ---- peers ---- */

static void on_pipe_event(nng_pipe pipe, nng_pipe_ev ev, void *arg)
{
    peer_t *p = arg;
    if (ev == NNG_PIPE_EV_ADD_POST) {
        atomic_fetch_add(&p->pipes_added, 1);
    } else {
        atomic_fetch_add(&p->pipes_removed, 1);
    }
    uint64_t one = 1;
    ssize_t n = write(p->event_fd, &one, sizeof(one));
    (void)n;
}

static void subscribe_routes(void);

static void on_peer_event(h2o_socket_t *sock, const char *err)
{
    peer_t *p = sock->data;
    uint64_t v;
    ssize_t n = read(p->event_fd, &v, sizeof(v));
    (void)n;
    unsigned removed = atomic_load(&p->pipes_removed);
    unsigned added = atomic_load(&p->pipes_added);
    if (removed != p->seen_removed) {
        p->seen_removed = removed;
        gw_log_warn("msg=\"peer went away\" peer=%s in_flight=%s", p->name,
                    h2o_linklist_is_empty(&p->calls) ? "0" : "some");
        char msg[96];
        snprintf(msg, sizeof(msg), "%s went away while handling the request", p->name);
        while (!h2o_linklist_is_empty(&p->calls)) {
            call_t *c = H2O_STRUCT_FROM_MEMBER(call_t, peer_link, p->calls.next);
            call_fail(c, GW_RPC_BACKEND_UNAVAILABLE, msg);
        }
    }
    if (added != p->seen_added) {
        p->seen_added = added;
        if (p == R.broker) {
            subscribe_routes();
        }
    }
}

static void on_accept(h2o_socket_t *listener, const char *err);

/* A router takes connections once it has a routing table: before, it could only answer
 * "unknown tool" (a router restarted under load shares the listening sockets with live ones,
 * which take the connections meanwhile). */
static void start_accepting(void)
{
    for (size_t i = 0; i < R.nlisteners && !R.stopping; i++) {
        h2o_socket_read_start(R.listeners[i], on_accept);
    }
    gw_log_debug("msg=\"accepting connections\" listeners=%zu", R.nlisteners);
}

static void on_routes(const gw_envelope_t *e)
{
    if (e->kind != GW_ENV_CHUNK) {
        return;
    }
    char err[128];
    yajl_val root = gw_json_parse(e->body.ptr, e->body.len, err, sizeof(err));
    if (root == NULL) {
        gw_log_err("msg=\"bad routing table\" error=\"%s\"", err);
        return;
    }
    yajl_val seqv = gw_json_get(root, "seq");
    uint64_t seqn = YAJL_IS_INTEGER(seqv) ? (uint64_t)YAJL_GET_INTEGER(seqv) : 0;
    if (gw_json_get(root, "revoke") != NULL) {
        revoked_apply(root);
    } else {
        routes_t *r = routes_from_tree(root);
        if (r == NULL) {
            yajl_tree_free(root);
            return;
        }
        gw_log_debug("msg=\"routing table\" generation=%llu tools=%zu",
                     (unsigned long long)r->generation, r->nkeys[KEY_TOOLS]);
        int first = R.routes == NULL;
        routes_destroy(R.routes);
        R.routes = r;
        if (first) {
            start_accepting();
        }
    }
    yajl_tree_free(root);
    /* Tell the broker this is in force (a DELETE waits for it). */
    char seq[24];
    snprintf(seq, sizeof(seq), "%llu", (unsigned long long)seqn);
    gw_envelope_t ack = {.kind = GW_ENV_CONTROL, .flags = GW_ENV_F_NOREPLY};
    ack.method = GW_STR("routes/ack");
    ack.body = (gw_str_t){seq, strlen(seq)};
    peer_send(R.broker, &ack);
}

/* log-level from the broker (mcpgwctl log-level). */
static void set_log_level(const gw_envelope_t *e)
{
    char name[16];
    snprintf(name, sizeof(name), "%.*s", (int)(e->body.len < 15 ? e->body.len : 15), e->body.ptr);
    int level = gw_log_level_parse(name);
    if (level >= 0) {
        gw_log_threshold = level;
    }
}

static void on_inbox_envelope(void *arg, const gw_envelope_t *e, gw_str_t frame)
{
    if (e->kind == GW_ENV_CONTROL && gw_str_eq(e->origin, "broker") &&
        gw_str_eq(e->method, "log-level")) {
        set_log_level(e);
        return;
    }
    if (e->corr == R.routes_corr && gw_str_eq(e->origin, "broker")) {
        on_routes(e);
        return;
    }
    call_t *c = *call_slot(e->corr);
    if (c != NULL && gw_str_eq(e->origin, c->peer->name)) {
        call_on_reply(c, e);
    }
}

static void on_inbox_readable(h2o_socket_t *sock, const char *err)
{
    /* drain: the fd stays readable only while messages wait */
    gw_ipc_drain_inbox(R.inbox, on_inbox_envelope, NULL, 0);
}

static void on_peer_writable(h2o_socket_t *sock, const char *err)
{
    peer_t *p = sock->data;
    gw_outbox_flush(&p->out);
    if (p->out.count == 0) {
        h2o_socket_read_stop(sock);
    }
}

/* Sends to a peer through its outbox; while the outbox queues, its send fd is watched. */
/* Adds e to this loop turn's batch for p; flush_peers sends it when the turn ends. */
static gw_err_t peer_send(peer_t *p, gw_envelope_t *e)
{
    e->origin = (gw_str_t){R.inbox_name, strlen(R.inbox_name)};
    return gw_outbox_send(&p->out, e);
}

/* The end of a loop turn: every peer's batch goes out; an outbox nng cannot take whole is
 * watched until it can. */
static void flush_peers(void)
{
    for (peer_t *p = R.peers; p != NULL; p = p->next) {
        gw_outbox_flush(&p->out);
        if (p->out.count > 0 && !h2o_socket_is_reading(p->send_sock)) {
            h2o_socket_read_start(p->send_sock, on_peer_writable);
        }
    }
}

#define OUTBOX_MAX_QUEUED 4096

static peer_t *peer_create(const char *name)
{
    peer_t *p = calloc(1, sizeof(*p));
    if (p == NULL) {
        return NULL;
    }
    snprintf(p->name, sizeof(p->name), "%s", name);
    h2o_linklist_init_anchor(&p->calls);
    if ((p->event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
        goto fail;
    }
    if (gw_outbox_open(&p->out, R.cfg->runtime_dir, name, OUTBOX_MAX_QUEUED) != GW_OK) {
        close(p->event_fd);
        goto fail;
    }
    nng_pipe_notify(p->out.sock, NNG_PIPE_EV_ADD_POST, on_pipe_event, p);
    nng_pipe_notify(p->out.sock, NNG_PIPE_EV_REM_POST, on_pipe_event, p);
    p->send_sock =
        h2o_evloop_socket_create(R.ctx.loop, gw_outbox_send_fd(&p->out), H2O_SOCKET_FLAG_DONT_READ);
    p->send_sock->data = p;
    p->event_sock = h2o_evloop_socket_create(R.ctx.loop, p->event_fd, H2O_SOCKET_FLAG_DONT_READ);
    p->event_sock->data = p;
    h2o_socket_read_start(p->event_sock, on_peer_event);
    p->next = R.peers;
    R.peers = p;
    return p;
fail:
    gw_log_err("msg=\"cannot open a socket\" peer=%s", name);
    free(p);
    return NULL;
}

static void subscribe_routes(void)
{
    gw_envelope_t e = {.kind = GW_ENV_CONTROL, .flags = GW_ENV_F_STREAM};
    char idx[16];
    snprintf(idx, sizeof(idx), "%u", R.index);
    e.method = GW_STR("routes");
    e.body = (gw_str_t){idx, strlen(idx)};
    e.corr = ++R.next_corr;
    if (peer_send(R.broker, &e) == GW_OK) {
        R.routes_corr = e.corr;
    }
}

static void send_activity(gw_buf_t *b)
{
    gw_envelope_t e = {.kind = GW_ENV_CONTROL, .flags = GW_ENV_F_NOREPLY};
    e.method = GW_STR("sessions/active");
    e.body = (gw_str_t){b->data, b->len};
    gw_err_t err = peer_send(R.broker, &e);
    if (err != GW_OK) {
        gw_log_warn("msg=\"activity report lost\" error=\"%s\"", gw_strerror(err));
    }
    gw_buf_reset(b);
}

/* Tells the broker which sessions were used since the last report, or have requests in flight
 * (a long call is activity too): one "<uuid> <expires>" line each, in messages of at most about
 * ACTIVITY_BATCH bytes. Entries nothing holds any more are dropped. */
static void report_activity(void)
{
    gw_buf_t b;
    gw_buf_init(&b);
    for (size_t i = 0; i < USE_BUCKETS; i++) {
        session_use_t **slot = &R.uses[i];
        while (*slot != NULL) {
            session_use_t *u = *slot;
            if (gw_buf_appendf(&b, "%s %lld\n", u->uuid, (long long)u->expires) != GW_OK) {
                gw_log_err("msg=\"out of memory building an activity report\"");
            }
            u->seen = 0;
            if (u->in_flight == 0) {
                *slot = u->hash_next;
                free(u);
            } else {
                slot = &u->hash_next;
            }
            if (b.len >= ACTIVITY_BATCH) {
                send_activity(&b);
            }
        }
    }
    if (b.len > 0) {
        send_activity(&b);
    }
    gw_buf_fini(&b);
}

static void on_retry_timer(h2o_timeout_entry_t *entry)
{
    if (R.routes == NULL) {
        subscribe_routes();
    }
    int64_t now = gw_clock_ms();
    gw_ipc_guard_tick(&R.inbox_guard, now); /* this timer's 500 ms are fine for its probes */
    if (now >= R.next_purge_ms) {
        R.next_purge_ms = now + 60000;
        gw_revoked_purge(&R.revoked, gw_wallclock_s()); /* their tokens no longer open anyway */
    }
    if (now >= R.next_activity_ms) {
        report_activity();
        R.next_activity_ms =
            now + (int64_t)(R.routes != NULL ? R.routes->activity_ms : ACTIVITY_MS_DEFAULT);
    }
    /* Safety net: an outbox that queued while its peer was away is flushed at least this often,
     * even if nng's send fd never signals (seen once in CI right after a worker restart). */
    for (peer_t *p = R.peers; p != NULL; p = p->next) {
        if (p->out.count > 0) {
            gw_log_debug("msg=\"flushing a queued outbox\" peer=%s queued=%zu", p->name,
                         p->out.count);
            gw_outbox_flush(&p->out);
        }
    }
    h2o_timeout_link(R.ctx.loop, &R.retry_timeout, &R.retry_entry);
}

/* ---- requests ---- */

typedef enum dest {
    DEST_BROKER,    /* gateway-level: the broker answers */
    DEST_PING,      /* answered here */
    DEST_TOOL,      /* to the owner of params.name among tools, prefix removed */
    DEST_PROMPT,    /* to the owner of params.name among prompts, prefix removed */
    DEST_RESOURCE,  /* to the owner of params.uri */
    DEST_COMPLETE,  /* to the owner of params.ref (a prompt name or a resource URI) */
    DEST_TASK,      /* to the backend named in params.taskId ("mcpgw:<server>:<its id>") */
    DEST_TASK_LIST, /* to the backend named in params.cursor, else the first offering tasks */
} dest_t;

static const struct method_route {
    const char *method;
    dest_t dest;
} method_routes[] = {
    {"ping", DEST_PING},
    {"tools/call", DEST_TOOL},
    {"prompts/get", DEST_PROMPT},
    {"resources/read", DEST_RESOURCE},
    {"resources/subscribe", DEST_RESOURCE},
    {"resources/unsubscribe", DEST_RESOURCE},
    {"completion/complete", DEST_COMPLETE},
    {"tasks/get", DEST_TASK},
    {"tasks/result", DEST_TASK},
    {"tasks/cancel", DEST_TASK},
    {"tasks/list", DEST_TASK_LIST},
    {"tools/list", DEST_BROKER},
    {"prompts/list", DEST_BROKER},
    {"resources/list", DEST_BROKER},
    {"resources/templates/list", DEST_BROKER},
};

static const struct method_route *find_method_route(const char *m)
{
    for (size_t i = 0; i < sizeof(method_routes) / sizeof(method_routes[0]); i++) {
        if (strcmp(method_routes[i].method, m) == 0) {
            return &method_routes[i];
        }
    }
    return NULL;
}

/* Validates the session header; on success fills claims and uuid text, else answers. */
static int check_session(h2o_req_t *req, gw_session_claims_t *claims, char *uuid, const char *id,
                         size_t id_len)
{
    h2o_iovec_t sid = find_header(req, "mcp-session-id");
    if (sid.len == 0) {
        respond_error(req, 400, id, id_len, GW_RPC_INVALID_REQUEST,
                      "Bad Request: Mcp-Session-Id header is required");
        return 0;
    }
    gw_err_t err = gw_token_open(R.keys, sid.base, sid.len, gw_wallclock_s(), claims);
    if (err == GW_OK) {
        gw_uuid_format(claims->uuid, uuid);
        if (!gw_revoked_has(&R.revoked, claims->uuid)) {
            session_seen(uuid, claims->expires);
            return 1;
        }
    }
    h2o_iovec_t rid = request_id_of(req);
    gw_log_debug("msg=\"session refused\" error=\"%s\" request_id=%.*s",
                 err == GW_OK ? "revoked" : gw_strerror(err), (int)rid.len, rid.base);
    respond_error(req, 404, id, id_len, GW_RPC_SESSION_NOT_FOUND, "Session not found");
    return 0;
}

static call_t *send_to_server(h2o_req_t *req, gw_envelope_t *e, size_t server)
{
    const route_server_t *s = &R.routes->servers[server];
    return dispatch(req, s->peer, e, s->timeout_ms);
}

/* Routes a message naming a tool or prompt (span/name) to its owner, with the owner's prefix
 * removed from exactly that string and nothing else. */
static void route_by_name(h2o_req_t *req, gw_envelope_t *e, const char *body, size_t len,
                          const gw_rpc_t *rpc, int kind, gw_span_t span, const char *name,
                          int too_long)
{
    const char *id = body + rpc->id.off;
    const route_key_t *k = too_long || span.len == 0 ? NULL : routes_find(R.routes, kind, name);
    if (k == NULL) {
        char msg[GW_RPC_NAME_MAX + 32];
        snprintf(msg, sizeof(msg), "Unknown %s: %s", kind == KEY_TOOLS ? "tool" : "prompt", name);
        respond_error(req, 200, id, rpc->id.len, GW_RPC_INVALID_PARAMS, msg);
        return;
    }
    size_t plen = R.routes->servers[k->server].prefix_len;
    gw_buf_t rewritten;
    gw_buf_init(&rewritten);
    if (gw_rpc_splice_string(&rewritten, body, len, span, name + plen, strlen(name) - plen) !=
        GW_OK) {
        gw_buf_fini(&rewritten);
        respond_error(req, 503, id, rpc->id.len, GW_RPC_INTERNAL_ERROR, "gateway out of memory");
        return;
    }
    e->body = (gw_str_t){rewritten.data, rewritten.len};
    const route_server_t *s = &R.routes->servers[k->server];
    int is_call = kind == KEY_TOOLS && strcmp(rpc->method_str, "tools/call") == 0;
    call_t *c =
        dispatch(req, s->peer, e, is_call ? route_tool_timeout(s, name + plen) : s->timeout_ms);
    gw_buf_fini(&rewritten);
    if (c != NULL && is_call) {
        c->audit_tool = strdup(name);
        snprintf(c->audit_backend, sizeof(c->audit_backend), "%s",
                 R.routes->servers[k->server].name);
        snprintf(c->audit_session, sizeof(c->audit_session), "%.*s", (int)e->session.len,
                 e->session.ptr);
    }
}

/* The text of a JSON string token; NULL when it does not fit out. */
static const char *string_token_text(const char *body, gw_span_t span, char *out, size_t outlen)
{
    if (span.len < 2 || span.len - 2 >= outlen) {
        return NULL;
    }
    const char *s = body + span.off + 1;
    size_t n = span.len - 2;
    if (memchr(s, '\\', n) == NULL) {
        memcpy(out, s, n);
        out[n] = '\0';
        return memchr(out, '\0', n) == NULL ? out : NULL;
    }
    char err[32];
    yajl_val v = gw_json_parse(body + span.off, span.len, err, sizeof(err)); /* rare: escapes */
    const char *t = YAJL_GET_STRING(v);
    const char *r = NULL;
    if (t != NULL && strlen(t) < outlen) {
        r = strcpy(out, t);
    }
    yajl_tree_free(v);
    return r;
}

/* Routes a message naming a resource URI (never rewritten: URIs stay the backend's). */
static void route_by_uri(h2o_req_t *req, gw_envelope_t *e, const char *body, const gw_rpc_t *rpc,
                         gw_span_t span)
{
    const char *id = body + rpc->id.off;
    char uri[2048];
    const char *u = string_token_text(body, span, uri, sizeof(uri));
    long owner = u != NULL ? routes_resource_owner(R.routes, u) : -1;
    if (owner < 0) {
        respond_error(req, 200, id, rpc->id.len, GW_RPC_RESOURCE_NOT_FOUND, "Resource not found");
        return;
    }
    send_to_server(req, e, (size_t)owner);
}

/* A gateway task id or tasks/list cursor names its backend: "mcpgw:<server>:<the backend's>".
 * Returns the server's index (and where the backend's part starts in text), or -1. */
static long task_owner(const char *text, const char **rest)
{
    static const char tag[] = "mcpgw:";
    if (text == NULL || strncmp(text, tag, sizeof(tag) - 1) != 0) {
        return -1;
    }
    const char *name = text + sizeof(tag) - 1;
    const char *colon = strchr(name, ':');
    for (size_t i = 0; colon != NULL && R.routes != NULL && i < R.routes->nservers; i++) {
        const route_server_t *s = &R.routes->servers[i];
        if (s->tasks && strlen(s->name) == (size_t)(colon - name) &&
            memcmp(s->name, name, (size_t)(colon - name)) == 0) {
            *rest = colon + 1;
            return (long)i;
        }
    }
    return -1;
}

/* tasks/get, tasks/result, tasks/cancel: to the backend the task id names, with its own id. */
static void route_task(h2o_req_t *req, gw_envelope_t *e, const char *body, size_t len,
                       const gw_rpc_t *rpc)
{
    const char *id = body + rpc->id.off;
    char text[1024];
    const char *rest = NULL;
    const char *t = string_token_text(body, rpc->task_id, text, sizeof(text));
    long owner = task_owner(t, &rest);
    if (owner < 0) {
        respond_error(req, 200, id, rpc->id.len, GW_RPC_INVALID_PARAMS,
                      t == NULL ? "Invalid params: taskId is required" : "Unknown task");
        return;
    }
    gw_buf_t b;
    gw_buf_init(&b);
    if (gw_rpc_splice_string(&b, body, len, rpc->task_id, rest, strlen(rest)) != GW_OK) {
        gw_buf_fini(&b);
        respond_error(req, 503, id, rpc->id.len, GW_RPC_INTERNAL_ERROR, "gateway out of memory");
        return;
    }
    e->body = (gw_str_t){b.data, b.len};
    send_to_server(req, e, (size_t)owner);
    gw_buf_fini(&b);
}

/* tasks/list walks the backends that offer tasks one after the other: the worker turns each
 * backend's nextCursor into a gateway cursor, and its last page's into the next backend's
 * start ("mcpgw:<next>:"), which it learns from the next-task-server header. */
static void route_task_list(h2o_req_t *req, gw_envelope_t *e, const char *body, size_t len,
                            const gw_rpc_t *rpc)
{
    const char *id = body + rpc->id.off;
    char text[1024];
    const char *rest = "";
    long owner = -1;
    if (rpc->cursor.len > 0) {
        owner = task_owner(string_token_text(body, rpc->cursor, text, sizeof(text)), &rest);
        if (owner < 0) {
            respond_error(req, 200, id, rpc->id.len, GW_RPC_INVALID_PARAMS,
                          "Invalid params: unknown cursor");
            return;
        }
    } else {
        for (size_t i = 0; R.routes != NULL && i < R.routes->nservers && owner < 0; i++) {
            owner = R.routes->servers[i].tasks ? (long)i : -1;
        }
        if (owner < 0) {
            respond_error(req, 200, id, rpc->id.len, GW_RPC_METHOD_NOT_FOUND,
                          "Method not found: no backend offers tasks");
            return;
        }
    }
    for (size_t i = (size_t)owner + 1; i < R.routes->nservers; i++) {
        if (R.routes->servers[i].tasks && e->nheaders < GW_ENV_MAX_HEADERS) {
            const char *n = R.routes->servers[i].name;
            e->headers[e->nheaders++] =
                (gw_env_header_t){GW_STR("next-task-server"), {n, strlen(n)}};
            break;
        }
    }
    gw_buf_t b;
    gw_buf_init(&b);
    gw_err_t err = GW_OK;
    if (rpc->cursor.len > 0) {
        /* the backend's own cursor, or none at all for the first page of the next backend */
        err = rest[0] != '\0' ? gw_rpc_splice_string(&b, body, len, rpc->cursor, rest, strlen(rest))
                              : gw_rpc_splice_raw(&b, body, len, rpc->params, "{}", 2);
        e->body = (gw_str_t){b.data, b.len};
    }
    if (err != GW_OK) {
        gw_buf_fini(&b);
        respond_error(req, 503, id, rpc->id.len, GW_RPC_INTERNAL_ERROR, "gateway out of memory");
        return;
    }
    send_to_server(req, e, (size_t)owner);
    gw_buf_fini(&b);
}

/* Sends e to every backend's worker, no reply expected; with logging_only, only to those that
 * offer logging. Returns how many it was sent to. */
static size_t broadcast(gw_envelope_t *e, int logging_only)
{
    size_t n = 0;
    e->flags |= GW_ENV_F_NOREPLY;
    e->corr = 0;
    for (size_t i = 0; R.routes != NULL && i < R.routes->nservers; i++) {
        if (logging_only && !R.routes->servers[i].logging) {
            continue;
        }
        if (peer_send(R.routes->servers[i].peer, e) == GW_OK) {
            n++;
        }
    }
    return n;
}

/* A client's answer to a server-initiated request: its id ("mcpgw:<server>:<n>", given by the
 * worker that relayed the request) names the worker to take it there. */
static void route_client_response(h2o_req_t *req, gw_envelope_t *e, const char *body,
                                  const gw_rpc_t *rpc)
{
    static const char tag[] = "\"mcpgw:";
    const char *id = body + rpc->id.off;
    size_t n = rpc->id.len;
    if (n > sizeof(tag) && memcmp(id, tag, sizeof(tag) - 1) == 0) {
        const char *name = id + sizeof(tag) - 1;
        const char *colon = memchr(name, ':', n - (sizeof(tag) - 1));
        for (size_t i = 0; colon != NULL && R.routes != NULL && i < R.routes->nservers; i++) {
            const route_server_t *s = &R.routes->servers[i];
            if (strlen(s->name) == (size_t)(colon - name) &&
                memcmp(s->name, name, (size_t)(colon - name)) == 0) {
                e->method = GW_STR_NULL;
                dispatch(req, s->peer, e, s->timeout_ms);
                return;
            }
        }
    }
    respond_error(req, 400, NULL, 0, GW_RPC_INVALID_REQUEST,
                  "Bad Request: no server request with this id is pending");
}

static void handle_delete(h2o_req_t *req, const char *request_id)
{
    gw_session_claims_t claims;
    char uuid[GW_UUID_TEXT_LEN + 1];
    if (!check_session(req, &claims, uuid, NULL, 0)) {
        return;
    }
    gw_metric_add(R.m, GW_MC_REQ_DELETE, 1);
    gw_envelope_t e = {.kind = GW_ENV_CONTROL};
    e.method = GW_STR("session/delete");
    e.session = (gw_str_t){uuid, strlen(uuid)};
    e.request_id = (gw_str_t){request_id, strlen(request_id)};
    dispatch(req, R.broker, &e, BROKER_TIMEOUT_MS);
}

static gw_counter_t count_of_method(const gw_rpc_t *rpc)
{
    const char *m = rpc->method_str;
    if (rpc->kind == GW_MSG_NOTIFICATION) {
        return GW_MC_REQ_NOTIFICATION;
    }
    if (rpc->kind == GW_MSG_RESPONSE) {
        return GW_MC_REQ_RESPONSE;
    }
    if (strcmp(m, "tools/call") == 0) {
        return GW_MC_REQ_TOOLS_CALL;
    }
    if (strcmp(m, "tools/list") == 0) {
        return GW_MC_REQ_TOOLS_LIST;
    }
    if (strcmp(m, "initialize") == 0) {
        return GW_MC_REQ_INITIALIZE;
    }
    if (strncmp(m, "prompts/", 8) == 0) {
        return GW_MC_REQ_PROMPTS;
    }
    if (strncmp(m, "resources/", 10) == 0) {
        return GW_MC_REQ_RESOURCES;
    }
    return GW_MC_REQ_OTHER;
}

/* An MCP-Protocol-Version header, when present, must name a revision mcpgw speaks (absent means
 * 2025-03-26, or the session's); answers 400 otherwise. */
static int protocol_version_ok(h2o_req_t *req)
{
    h2o_iovec_t pv = find_header(req, "mcp-protocol-version");
    if (pv.len > 0 && gw_proto_parse(pv.base, pv.len) == GW_PROTO_NONE) {
        respond_error(req, 400, NULL, 0, GW_RPC_INVALID_REQUEST,
                      "Bad Request: Unsupported MCP-Protocol-Version");
        return 0;
    }
    return 1;
}

static void handle_message(h2o_req_t *req, gw_envelope_t *ep, const char *body, size_t len,
                           const gw_rpc_t *rp);

/* The spans of the elements of a JSON array the scanner already validated. Returns how many, or
 * more than max when there are too many. */
static size_t split_array(const char *p, size_t len, gw_span_t *spans, size_t max)
{
    size_t n = 0;
    size_t i = 0;
    while (i < len && p[i] != '[') {
        i++;
    }
    i++;
    int depth = 0;
    int in_string = 0;
    size_t start = SIZE_MAX;
    for (; i < len; i++) {
        char ch = p[i];
        if (in_string) {
            if (ch == '\\') {
                i++;
            } else if (ch == '"') {
                in_string = 0;
            }
            continue;
        }
        if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r') {
            continue;
        }
        if (depth == 0 && (ch == ',' || ch == ']')) {
            if (start != SIZE_MAX) {
                if (n < max) {
                    size_t end = i;
                    while (end > start && (p[end - 1] == ' ' || p[end - 1] == '\t' ||
                                           p[end - 1] == '\n' || p[end - 1] == '\r')) {
                        end--;
                    }
                    spans[n] = (gw_span_t){.off = start, .len = end - start};
                }
                n++;
                start = SIZE_MAX;
            }
            if (ch == ']') {
                break;
            }
            continue;
        }
        if (start == SIZE_MAX) {
            start = i;
        }
        if (ch == '"') {
            in_string = 1;
        } else if (ch == '{' || ch == '[') {
            depth++;
        } else if (ch == '}' || ch == ']') {
            depth--;
        }
    }
    return n;
}

/* A batch: allowed in 2025-03-26 sessions only (later revisions removed them). Each message is
 * handled as if it came alone; the answers go back as one JSON array. */
static void handle_batch(h2o_req_t *req, const char *body, size_t len, const char *request_id)
{
    gw_session_claims_t claims;
    char uuid[GW_UUID_TEXT_LEN + 1];
    if (!check_session(req, &claims, uuid, NULL, 0)) {
        return;
    }
    if (claims.proto != GW_PROTO_2025_03_26) {
        respond_error(req, 400, NULL, 0, GW_RPC_INVALID_REQUEST,
                      "Invalid Request: batches are not supported in this protocol version");
        return;
    }
    static gw_span_t spans[BATCH_MAX];
    size_t n = split_array(body, len, spans, BATCH_MAX);
    if (n == 0 || n > BATCH_MAX) {
        respond_error(req, 400, NULL, 0, GW_RPC_INVALID_REQUEST,
                      n == 0 ? "Invalid Request: empty batch"
                             : "Invalid Request: more than 256 messages in one batch");
        return;
    }
    batch_t *b = calloc(1, sizeof(*b));
    if (b == NULL) {
        respond_error(req, 503, NULL, 0, GW_RPC_INTERNAL_ERROR, "gateway out of memory");
        return;
    }
    req_guard(req, &b->req, &b->guard);
    b->building = 1;
    gw_buf_init(&b->out);
    gw_buf_append(&b->out, "[", 1);
    R.cur_batch = b;
    for (size_t i = 0; i < n; i++) {
        const char *m = body + spans[i].off;
        size_t ml = spans[i].len;
        gw_rpc_t rpc;
        b->pending++;
        gw_err_t err = gw_rpc_scan(m, ml, GW_RPC_DEFAULT_MAX_DEPTH, &rpc);
        if (err != GW_OK) {
            respond_error(req, 400, NULL, 0, GW_RPC_PARSE_ERROR, "Parse error");
            continue;
        }
        if (rpc.kind == GW_MSG_INVALID || rpc.kind == GW_MSG_BATCH ||
            (rpc.kind == GW_MSG_REQUEST && strcmp(rpc.method_str, "initialize") == 0)) {
            char msg[160];
            snprintf(msg, sizeof(msg), "Invalid Request: %s",
                     rpc.kind == GW_MSG_BATCH     ? "a batch inside a batch"
                     : rpc.kind == GW_MSG_REQUEST ? "initialize cannot be part of a batch"
                     : rpc.invalid_reason         ? rpc.invalid_reason
                                                  : "not a JSON-RPC 2.0 message");
            respond_error(req, 400, m + rpc.id.off, rpc.id.len, GW_RPC_INVALID_REQUEST, msg);
            continue;
        }
        gw_metric_add(R.m, count_of_method(&rpc), 1);
        gw_envelope_t e = {.kind = GW_ENV_CALL};
        e.method = (gw_str_t){rpc.method_str, strlen(rpc.method_str)};
        e.rpc_id = (gw_str_t){m + rpc.id.off, rpc.id.len};
        e.request_id = (gw_str_t){request_id, strlen(request_id)};
        e.body = (gw_str_t){m, ml};
        e.session = (gw_str_t){uuid, strlen(uuid)};
        e.proto = claims.proto;
        e.caps = claims.caps;
        handle_message(req, &e, m, ml, &rpc);
    }
    R.cur_batch = NULL;
    b->building = 0;
    batch_maybe_finish(b);
}

static void handle_post(h2o_req_t *req, const char *request_id)
{
    if (!is_json_content_type(find_token(req, H2O_TOKEN_CONTENT_TYPE))) {
        respond_error(req, 415, NULL, 0, GW_RPC_INVALID_REQUEST,
                      "Unsupported Media Type: Content-Type must be application/json");
        return;
    }
    h2o_iovec_t accept = find_token(req, H2O_TOKEN_ACCEPT);
    if (!accepts(accept, "application/json") || !accepts(accept, "text/event-stream")) {
        respond_error(req, 406, NULL, 0, GW_RPC_INVALID_REQUEST,
                      "Not Acceptable: Accept must list application/json and text/event-stream");
        return;
    }
    if (req->entity.len > R.cfg->max_request_body) {
        respond_error(req, 413, NULL, 0, GW_RPC_INVALID_REQUEST,
                      "Payload Too Large: the request body exceeds limits.max_request_body");
        return;
    }
    if (!protocol_version_ok(req)) {
        return;
    }
    const char *body = req->entity.base ? req->entity.base : "";
    size_t len = req->entity.len;
    gw_rpc_t rpc;
    gw_err_t err = gw_rpc_scan(body, len, GW_RPC_DEFAULT_MAX_DEPTH, &rpc);
    if (err != GW_OK) {
        respond_error(req, 400, NULL, 0, GW_RPC_PARSE_ERROR,
                      err == GW_ETOOBIG ? "Parse error: nesting too deep" : "Parse error");
        return;
    }
    const char *id = body + rpc.id.off;
    size_t id_len = rpc.id.len;
    if (rpc.kind == GW_MSG_INVALID) {
        char msg[160];
        snprintf(msg, sizeof(msg), "Invalid Request: %s",
                 rpc.invalid_reason ? rpc.invalid_reason : "not a JSON-RPC 2.0 message");
        respond_error(req, 400, id, id_len, GW_RPC_INVALID_REQUEST, msg);
        return;
    }
    if (rpc.kind == GW_MSG_BATCH) {
        handle_batch(req, body, len, request_id);
        return;
    }
    gw_metric_add(R.m, count_of_method(&rpc), 1);
    gw_envelope_t e = {.kind = GW_ENV_CALL};
    e.method = (gw_str_t){rpc.method_str, strlen(rpc.method_str)};
    e.rpc_id = (gw_str_t){id, id_len};
    e.request_id = (gw_str_t){request_id, strlen(request_id)};
    e.body = (gw_str_t){body, len};

    if (rpc.kind == GW_MSG_REQUEST && strcmp(rpc.method_str, "initialize") == 0) {
        /* The broker negotiates from what the client asked for; it need not parse again. */
        if (rpc.protocol_version.len >= 2) {
            e.proto = (uint8_t)gw_proto_parse(body + rpc.protocol_version.off + 1,
                                              rpc.protocol_version.len - 2);
        }
        e.caps = (uint8_t)rpc.caps;
        /* The broker limits sessions per client address. */
        char addr[INET6_ADDRSTRLEN] = "";
        struct sockaddr_storage ss;
        socklen_t sl = req->conn->callbacks->get_peername(req->conn, (struct sockaddr *)&ss);
        if (sl > 0 && ss.ss_family == AF_INET) {
            inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, addr, sizeof(addr));
        } else if (sl > 0 && ss.ss_family == AF_INET6) {
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, addr, sizeof(addr));
        }
        e.headers[0] = (gw_env_header_t){GW_STR("client-address"), {addr, strlen(addr)}};
        e.nheaders = 1;
        dispatch(req, R.broker, &e, BROKER_TIMEOUT_MS);
        return;
    }
    gw_session_claims_t claims;
    char uuid[GW_UUID_TEXT_LEN + 1];
    if (!check_session(req, &claims, uuid, id, id_len)) {
        return;
    }
    e.session = (gw_str_t){uuid, strlen(uuid)};
    e.proto = claims.proto;
    e.caps = claims.caps;
    handle_message(req, &e, body, len, &rpc);
}

/* Handles one JSON-RPC message (not initialize) of a checked session; e carries the session.
 * Every path answers through respond_raw/respond_error or dispatch, exactly once (batches count
 * on it). */
static void handle_message(h2o_req_t *req, gw_envelope_t *ep, const char *body, size_t len,
                           const gw_rpc_t *rp)
{
    gw_envelope_t e = *ep;
    gw_rpc_t rpc = *rp;
    const char *id = body + rpc.id.off;
    size_t id_len = rpc.id.len;
    if (rpc.kind == GW_MSG_NOTIFICATION) {
        /* cancelled, roots/list_changed, ...: every backend this session uses gets it (a
         * cancelled requestId is the client's own id, which backends saw unchanged) */
        if (strcmp(rpc.method_str, "notifications/initialized") != 0) {
            broadcast(&e, 0);
        }
        respond_raw(req, 202, NULL, 0);
        return;
    }
    if (rpc.kind == GW_MSG_RESPONSE) {
        route_client_response(req, &e, body, &rpc);
        return;
    }
    if (strcmp(rpc.method_str, "logging/setLevel") == 0) {
        if (!broadcast(&e, 1)) {
            respond_error(req, 200, id, id_len, GW_RPC_METHOD_NOT_FOUND,
                          "Method not found: no backend offers logging");
            return;
        }
        gw_buf_t b;
        gw_buf_init(&b);
        gw_rpc_result(&b, id, id_len, "{}", 2);
        respond_raw(req, 200, b.data, b.len);
        gw_buf_fini(&b);
        return;
    }
    const struct method_route *mr = rpc.method_too_long ? NULL : find_method_route(rpc.method_str);
    if (mr == NULL) {
        respond_error(req, 200, id, id_len, GW_RPC_METHOD_NOT_FOUND, "Method not found");
        return;
    }
    switch (mr->dest) {
    case DEST_PING: {
        gw_buf_t b;
        gw_buf_init(&b);
        gw_rpc_result(&b, id, id_len, "{}", 2);
        respond_raw(req, 200, b.data, b.len);
        gw_buf_fini(&b);
        return;
    }
    case DEST_BROKER:
        dispatch(req, R.broker, &e, BROKER_TIMEOUT_MS);
        return;
    case DEST_TOOL:
        route_by_name(req, &e, body, len, &rpc, KEY_TOOLS, rpc.name, rpc.name_str,
                      rpc.name_too_long);
        return;
    case DEST_PROMPT:
        route_by_name(req, &e, body, len, &rpc, KEY_PROMPTS, rpc.name, rpc.name_str,
                      rpc.name_too_long);
        return;
    case DEST_RESOURCE:
        route_by_uri(req, &e, body, &rpc, rpc.uri);
        return;
    case DEST_TASK:
        route_task(req, &e, body, len, &rpc);
        return;
    case DEST_TASK_LIST:
        route_task_list(req, &e, body, len, &rpc);
        return;
    case DEST_COMPLETE:
        if (rpc.ref_name.len > 0) {
            route_by_name(req, &e, body, len, &rpc, KEY_PROMPTS, rpc.ref_name, rpc.ref_name_str,
                          rpc.ref_name_too_long);
        } else {
            route_by_uri(req, &e, body, &rpc, rpc.ref_uri);
        }
        return;
    }
}

/* GET: the session's stream of server-initiated messages (list_changed, requests and
 * notifications from backends' GET streams). The broker holds its state and replay buffer;
 * this router relays the events with their ids and sends the heartbeat. */
static void handle_get(h2o_req_t *req, const char *request_id)
{
    if (!accepts(find_token(req, H2O_TOKEN_ACCEPT), "text/event-stream")) {
        respond_error(req, 406, NULL, 0, GW_RPC_INVALID_REQUEST,
                      "Not Acceptable: Accept must list text/event-stream");
        return;
    }
    if (!protocol_version_ok(req)) {
        return;
    }
    gw_session_claims_t claims;
    char uuid[GW_UUID_TEXT_LEN + 1];
    if (!check_session(req, &claims, uuid, NULL, 0)) {
        return;
    }
    gw_metric_add(R.m, GW_MC_REQ_OTHER, 1);
    gw_envelope_t e = {.kind = GW_ENV_CONTROL, .flags = GW_ENV_F_STREAM};
    e.method = GW_STR("stream/open");
    e.session = (gw_str_t){uuid, strlen(uuid)};
    e.request_id = (gw_str_t){request_id, strlen(request_id)};
    h2o_iovec_t last = find_header(req, "last-event-id");
    if (last.len > 0 && last.len <= GW_EVENT_ID_MAX) {
        e.headers[0] = (gw_env_header_t){GW_STR("last-event-id"), {last.base, last.len}};
        e.nheaders = 1;
    }
    call_t *c = dispatch(req, R.broker, &e, BROKER_TIMEOUT_MS);
    if (c != NULL) {
        c->stream = 1;
        R.nstreams++;
        gw_gauge_set(R.m, GW_MG_IN_FLIGHT, (int64_t)(R.ncalls - R.nstreams));
        memcpy(c->stream_session, uuid, sizeof(c->stream_session));
    }
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    h2o_iovec_t path = req->path_normalized;
    if (!h2o_memis(path.base, path.len, R.cfg->mcp_path, strlen(R.cfg->mcp_path))) {
        return -1; /* h2o answers 404 */
    }
    char request_id[REQUEST_ID_MAX + 1];
    gw_metric_add(R.m, GW_MC_BYTES_IN, req->entity.len);
    make_request_id(req, request_id);
    add_header(req, "x-request-id", h2o_strdup(&req->pool, request_id, SIZE_MAX).base,
               strlen(request_id));
    if (R.stopping) {
        respond_error(req, 503, NULL, 0, GW_RPC_INTERNAL_ERROR, "gateway is shutting down");
        return 0;
    }
    size_t header_bytes = 0;
    for (size_t i = 0; i < req->headers.size; i++) {
        header_bytes += req->headers.entries[i].name->len + req->headers.entries[i].value.len + 4;
    }
    if (header_bytes > R.cfg->max_header_size) {
        respond_error(req, 431, NULL, 0, GW_RPC_INVALID_REQUEST,
                      "Request Header Fields Too Large: over limits.max_header_size");
        return 0;
    }
    if (!host_and_origin_allowed(req)) {
        respond_error(req, 403, NULL, 0, GW_RPC_INVALID_REQUEST,
                      "Forbidden: Host or Origin not allowed (http.allowed_hosts, "
                      "http.allowed_origins)");
        return 0;
    }
    if (h2o_memis(req->method.base, req->method.len, H2O_STRLIT("POST"))) {
        handle_post(req, request_id);
    } else if (h2o_memis(req->method.base, req->method.len, H2O_STRLIT("DELETE"))) {
        handle_delete(req, request_id);
    } else if (h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET"))) {
        handle_get(req, request_id);
    } else {
        add_header(req, "allow", "GET, POST, DELETE", 17);
        respond_error(req, 405, NULL, 0, GW_RPC_INVALID_REQUEST, "Method Not Allowed");
    }
    return 0;
}

/* ---- slow clients ---- */

/* limits.client_timeout for HTTP/2. HTTP/1 needs nothing here: h2o closes a connection whose
 * request has not arrived within http1.req_timeout. On HTTP/2 its idle timeout restarts with every
 * frame, so a stream whose headers or body trickle in a byte at a time would live on. A request
 * still arriving past the limit gets its connection shut down (h2o then closes it as if the client
 * had gone), logged and counted. */
static int check_arrival(h2o_req_t *req, void *arg)
{
    const struct timeval *now = arg;
    if (h2o_timeval_is_null(&req->timestamps.request_begin_at) ||
        !h2o_timeval_is_null(&req->processed_at.at) || req->entity.base != NULL ||
        h2o_timeval_subtract(&req->timestamps.request_begin_at, (struct timeval *)now) <
            (int64_t)R.cfg->client_timeout_ms * 1000) {
        return 0; /* not arriving (being answered, or waiting for its turn), or not late */
    }
    h2o_socket_t *sock = req->conn->callbacks->get_socket(req->conn);
    int fd = sock != NULL ? h2o_socket_get_fd(sock) : -1;
    if (fd < 0) {
        return 0;
    }
    char addr[INET6_ADDRSTRLEN] = "";
    struct sockaddr_storage ss;
    socklen_t sl = req->conn->callbacks->get_peername(req->conn, (struct sockaddr *)&ss);
    if (sl > 0) {
        h2o_socket_getnumerichost((struct sockaddr *)&ss, sl, addr);
    }
    gw_log_warn("msg=\"client too slow: request not received within limits.client_timeout; "
                "connection closed\" client=%s protocol=HTTP/2 timeout_ms=%llu",
                addr, (unsigned long long)R.cfg->client_timeout_ms);
    gw_metric_add(R.m, GW_MC_REJ_CLIENT_TIMEOUT, 1);
    shutdown(fd, SHUT_RDWR);
    return 0;
}

static void on_arrival_timer(h2o_timeout_entry_t *entry)
{
    struct timeval now = *h2o_get_timestamp(&R.ctx, NULL, NULL);
    H2O_HTTP2_CALLBACKS.foreach_request(&R.ctx, check_arrival, &now);
    h2o_timeout_link(R.ctx.loop, &R.arrival_timeout, &R.arrival_entry);
}

/* ---- listeners, signals, main ---- */

static void on_accept(h2o_socket_t *listener, const char *err)
{
    if (err != NULL) {
        return;
    }
    for (int i = 0; i < 16; i++) {
        h2o_socket_t *sock = h2o_evloop_socket_accept(listener);
        if (sock == NULL) {
            return;
        }
        h2o_accept(&R.accept_ctx, sock);
    }
}

static void on_signal(int sig)
{
    char c = (char)sig;
    ssize_t n = write(R.signal_pipe[1], &c, 1);
    (void)n;
}

static void on_signal_readable(h2o_socket_t *sock, const char *err)
{
    char buf[16];
    ssize_t n = read(R.signal_pipe[0], buf, sizeof(buf));
    if (n <= 0 || R.stopping) {
        return;
    }
    R.stopping = 1;
    R.stop_deadline = gw_clock_ms() + 5000;
    gw_log_info("msg=stopping in_flight=%zu streams=%zu", R.ncalls - R.nstreams, R.nstreams);
    /* GET streams never end by themselves: end them now (clients reconnect elsewhere) */
    for (h2o_linklist_t *l = R.broker->calls.next; l != &R.broker->calls;) {
        call_t *c = H2O_STRUCT_FROM_MEMBER(call_t, peer_link, l);
        l = l->next;
        if (c->stream && c->req != NULL && c->sse) {
            stream_release(c);
            c->ended = 1;
            call_flush(c);
        }
    }
    for (size_t i = 0; i < R.nlisteners; i++) {
        h2o_socket_read_stop(R.listeners[i]);
    }
}

static void usage(FILE *f)
{
    fprintf(f, "usage: mcpgw-router -c CONFIG --index N --listen-fd FD[,FD...]\n"
               "The HTTP front of mcpgw; started and supervised by mcpgw-broker.\n");
}

static int parse_fds(const char *s, int *fds, size_t max, size_t *n)
{
    *n = 0;
    while (*s != '\0') {
        char *end;
        long v = strtol(s, &end, 10);
        if (end == s || v < 0 || v > 65535 || *n >= max) {
            return -1;
        }
        fds[(*n)++] = (int)v;
        s = *end == ',' ? end + 1 : end;
        if (*end != ',' && *end != '\0') {
            return -1;
        }
    }
    return *n > 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"index", required_argument, NULL, 'i'},
                                         {"listen-fd", required_argument, NULL, 'l'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *config_path = NULL;
    const char *fds_arg = NULL;
    int opt;
    while ((opt = getopt_long(argc, argv, "c:i:l:h", opts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            config_path = optarg;
            break;
        case 'i':
            R.index = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'l':
            fds_arg = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    int fds[MAX_LISTENERS];
    size_t nfds = 0;
    if (config_path == NULL || fds_arg == NULL || parse_fds(fds_arg, fds, MAX_LISTENERS, &nfds)) {
        usage(stderr);
        return 2;
    }
    char proc[32];
    snprintf(proc, sizeof(proc), "router.%u", R.index);
    gw_log_setup(proc, GW_LOG_INFO);
    char err[512];
    if (gw_config_load(config_path, &R.cfg, err, sizeof(err)) != GW_OK) {
        gw_log_err("msg=\"bad config\" error=\"%s\"", err);
        return 1;
    }
    gw_log_setup(proc, R.cfg->log_level);
    gw_log_set_json(R.cfg->log_json);
    char mpath[GW_IPC_URL_MAX + 16];
    snprintf(mpath, sizeof(mpath), "%s/metrics", R.cfg->runtime_dir);
    if (gw_metrics_attach(mpath, R.index, proc, &R.m) != GW_OK) {
        gw_log_warn("msg=\"running without metrics\" path=%s", mpath);
    }
    if (gw_keyring_load(R.cfg->key_file, 0, &R.keys, err, sizeof(err)) != GW_OK) {
        gw_log_err("msg=\"cannot load session keys\" error=\"%s\"", err);
        return 1;
    }
    unsigned char rnd[4];
    RAND_bytes(rnd, sizeof(rnd));
    snprintf(R.request_id_prefix, sizeof(R.request_id_prefix), "%02x%02x%02x%02x", rnd[0], rnd[1],
             rnd[2], rnd[3]);
    signal(SIGPIPE, SIG_IGN);

    h2o_config_init(&R.h2o_config);
    R.h2o_config.server_name = h2o_iovec_init(H2O_STRLIT("mcpgw"));
    /* h2o buffers a body before our handler sees it and cuts the connection (a plain 413 that
     * clients often see as a reset) past this cap; below it a client gets our JSON-RPC 413. A
     * clear answer for anything up to 64 MiB is worth reading that much before refusing it. */
    uint64_t cap = 64u << 20;
    if (cap < R.cfg->max_request_body + 65536) {
        cap = R.cfg->max_request_body + 65536;
    }
    R.h2o_config.max_request_entity_size = cap;
    R.h2o_config.http1.req_timeout = R.cfg->client_timeout_ms;
    R.h2o_config.http2.idle_timeout = R.cfg->client_timeout_ms;
    h2o_hostconf_t *host =
        h2o_config_register_host(&R.h2o_config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h2o_pathconf_t *pathconf = h2o_config_register_path(host, "/", 0);
    h2o_handler_t *handler = h2o_create_handler(pathconf, sizeof(*handler));
    handler->on_req = on_req;
    h2o_context_init(&R.ctx, h2o_evloop_create(), &R.h2o_config);
    R.accept_ctx.ctx = &R.ctx;
    R.accept_ctx.hosts = R.h2o_config.hosts;

    char url[GW_IPC_URL_MAX];
    snprintf(R.inbox_name, sizeof(R.inbox_name), "router-%u", R.index);
    if (gw_ipc_url(url, sizeof(url), R.cfg->runtime_dir, R.inbox_name) != GW_OK ||
        gw_ipc_inbox(&R.inbox, url) != GW_OK) {
        gw_log_err("msg=\"cannot open the inbox\" name=%s", R.inbox_name);
        return 1;
    }
    gw_ipc_guard_init(&R.inbox_guard, R.inbox, url, 0);
    R.inbox_sock =
        h2o_evloop_socket_create(R.ctx.loop, gw_ipc_recv_fd(R.inbox), H2O_SOCKET_FLAG_DONT_READ);
    h2o_socket_read_start(R.inbox_sock, on_inbox_readable);
    timeout_list(BROKER_TIMEOUT_MS + DEADLINE_GRACE_MS);
    R.broker = peer_create("broker");
    if (R.broker == NULL) {
        return 1;
    }
    for (size_t i = 0; i < nfds; i++) {
        fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
        fcntl(fds[i], F_SETFD, FD_CLOEXEC);
        /* accepting starts with the first routing table (start_accepting) */
        R.listeners[i] = h2o_evloop_socket_create(R.ctx.loop, fds[i], H2O_SOCKET_FLAG_DONT_READ);
        R.nlisteners++;
    }
    if (pipe2(R.signal_pipe, O_NONBLOCK | O_CLOEXEC) != 0) {
        return 1;
    }
    R.signal_sock =
        h2o_evloop_socket_create(R.ctx.loop, R.signal_pipe[0], H2O_SOCKET_FLAG_DONT_READ);
    h2o_socket_read_start(R.signal_sock, on_signal_readable);
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    /* HTTP/2 requests are cut off between client_timeout and a quarter of it later */
    uint64_t sweep_ms = R.cfg->client_timeout_ms / 4;
    sweep_ms = sweep_ms < 50 ? 50 : sweep_ms > 1000 ? 1000 : sweep_ms;
    h2o_timeout_init(R.ctx.loop, &R.arrival_timeout, sweep_ms);
    R.arrival_entry.cb = on_arrival_timer;
    h2o_timeout_link(R.ctx.loop, &R.arrival_timeout, &R.arrival_entry);
    h2o_timeout_init(R.ctx.loop, &R.retry_timeout, 500);
    h2o_timeout_init(R.ctx.loop, &R.heartbeat, R.cfg->sse_heartbeat_ms);
    R.retry_entry.cb = on_retry_timer;
    h2o_timeout_link(R.ctx.loop, &R.retry_timeout, &R.retry_entry);
    subscribe_routes();
    flush_peers();
    gw_log_info("msg=started listeners=%zu", R.nlisteners);

    while (!R.stopping || (R.ncalls > 0 && gw_clock_ms() < R.stop_deadline)) {
        h2o_evloop_run(R.ctx.loop, R.stopping ? 100 : INT32_MAX);
        flush_peers();
    }
    gw_log_info("msg=stopped in_flight=%zu", R.ncalls);
    return 0;
}
