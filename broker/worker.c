/* worker.c: mcpgw-worker, the process that owns one backend MCP server: its HTTP client (one
 * libcurl multi), the upstream sessions behind the gateway's sessions, and the backend's catalog.
 */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>
#include <nng/nng.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/envelope.h"
#include "common/hash.h"
#include "common/err.h"
#include "common/ipc.h"
#include "common/json.h"
#include "common/jsonrpc.h"
#include "common/log.h"
#include "common/mcp.h"
#include "common/metrics.h"
#include "common/sse.h"

/* A reply body must fit one envelope under the receivers' NNG_OPT_RECVMAXSZ, with room for the
 * envelope's other fields. */
#define WRK_RETRY_MS 2000      /* catalog retry and report resend interval */
#define WRK_STOP_GRACE_MS 2000 /* how long in-flight calls may finish after SIGTERM */
#define WRK_SID_MAX 255        /* longest upstream Mcp-Session-Id accepted */
#define WRK_RID_MAX 64         /* longest x-request-id passed on */
#define WRK_KEY_MAX 64         /* longest gateway session uuid text accepted */
#define WRK_IDLE_EASY_MAX 64   /* easy handles kept for reuse */
#define WRK_CATALOG_PAGES_MAX 1000
#define WRK_RECV_BATCH 256     /* messages taken from one socket per loop turn */
#define WRK_BACKLOG_POLL_MS 10 /* safety net: the outboxes' send fds wake the loop first */
#define WRK_OUTBOXES 128       /* distinct callers (routers, the broker) replied to */
#define WRK_OUTBOX_MAX_QUEUED 65536
#define WRK_IDLE_POLL_MS 1000
#define WRK_SESSMAP_MIN 64
#define WRK_STREAM_RETRY_MS 2000 /* an upstream GET stream that ended is opened again after */
#define WRK_RESUMES_MAX 8        /* a response stream is resumed at most this often */
#define WRK_RESUME_WAIT_MAX_MS 10000

#define container_of(p, type, member) ((type *)(void *)((char *)(p)-offsetof(type, member)))

typedef struct wrk wrk_t;
typedef struct xfer xfer_t;
typedef struct upstream upstream_t;
typedef struct call call_t;

/* ---- intrusive lists ---- */

typedef struct link {
    struct link *prev;
    struct link *next;
} link_t;

static void list_init(link_t *head)
{
    head->prev = head;
    head->next = head;
}

static int list_empty(const link_t *head)
{
    return head->next == head;
}

static void list_append(link_t *head, link_t *l)
{
    l->prev = head->prev;
    l->next = head;
    head->prev->next = l;
    head->prev = l;
}

/* Unlinks l and leaves it pointing at itself, so removing twice is harmless. */
static void list_remove(link_t *l)
{
    l->prev->next = l->next;
    l->next->prev = l->prev;
    list_init(l);
}

/* ---- logging helpers ---- */

/* Keeps the visible ASCII of a peer-supplied id (it goes into an HTTP header and log lines). */
static void copy_token(char *out, size_t outlen, const char *s, size_t n)
{
    size_t o = 0;

    for (size_t i = 0; i < n && o + 1 < outlen; i++) {
        if (s[i] > 0x20 && s[i] < 0x7f && s[i] != '"' && s[i] != '\\') {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
}

/* The request id an envelope carries, fit for log lines and headers (out: WRK_RID_MAX + 1). */
static const char *env_rid(char *out, const gw_envelope_t *env)
{
    copy_token(out, WRK_RID_MAX + 1, env->request_id.ptr, env->request_id.len);
    return out;
}

/* ---- HTTP transfers to the backend ---- */

typedef enum xfer_ctype {
    CTYPE_NONE = 0,
    CTYPE_JSON,
    CTYPE_SSE,
    CTYPE_OTHER,
} xfer_ctype_t;

typedef enum xfer_abort {
    ABORT_NONE = 0,
    ABORT_TOO_BIG, /* the answer exceeded limits.max_response_body */
    ABORT_NOMEM,
    ABORT_RELAY, /* the reply could not be passed on */
} xfer_abort_t;

typedef struct xfer_ops {
    /* The final status and headers are known (x->status, x->ctype, x->sid). Optional. */
    void (*on_head)(xfer_t *x);
    /* One event of a 2xx text/event-stream answer; an error aborts the transfer. */
    gw_err_t (*on_event)(xfer_t *x, const char *data, size_t len);
    /* The transfer is over and detached from libcurl; x->body holds a non-SSE answer. */
    void (*on_done)(xfer_t *x, CURLcode rc);
} xfer_ops_t;

typedef struct xfer_req {
    const char *method; /* "POST" or "DELETE" */
    const char *body;   /* POST body, borrowed until the transfer ends */
    size_t len;
    const char *sid;           /* Mcp-Session-Id to send, or NULL */
    const char *proto;         /* MCP-Protocol-Version to send, or NULL */
    const char *rid;           /* x-request-id to send, or NULL/"" */
    const char *last_event_id; /* GET: resume a stream after this event, or NULL */
    uint64_t timeout_ms;
} xfer_req_t;

struct xfer {
    wrk_t *w;
    const xfer_ops_t *ops;
    CURL *easy; /* non-NULL while the transfer is in the multi */
    int paused;
    /* request */
    struct curl_slist hdrs[4]; /* per-transfer headers, chained in front of the shared ones */
    char lei_hdr[sizeof("Last-Event-ID: ") + GW_SSE_ID_MAX];
    char sid_hdr[sizeof("Mcp-Session-Id: ") + WRK_SID_MAX];
    char proto_hdr[64];
    char rid_hdr[sizeof("x-request-id: ") + WRK_RID_MAX];
    gw_buf_t req;       /* a body the worker built itself */
    uint64_t expect_id; /* the JSON-RPC id of a worker-built request */
    uint64_t timeout_ms;
    int64_t started_ms;
    /* response */
    long status;
    int head_seen;
    xfer_ctype_t ctype;
    char *sid;    /* the Mcp-Session-Id the backend answered (owned), or NULL */
    int sid_bad;  /* the backend answered an unusable Mcp-Session-Id */
    int discard;  /* the body is not wanted */
    int rpc_seen; /* the response to expect_id was collected into body */
    xfer_abort_t aborted;
    gw_sse_t sse;
    gw_buf_t body;
    char errbuf[CURL_ERROR_SIZE];
};

/* ---- upstream sessions ---- */

typedef enum up_state {
    UP_NONE = 0,
    UP_INITIALIZING,
    UP_READY,
    UP_FAILED, /* initialization failed or the backend lost it; out of the map */
} up_state_t;

struct upstream {
    wrk_t *w;
    upstream_t *hnext; /* hash chain */
    link_t ilink;      /* in w->initializing while UP_INITIALIZING */
    unsigned refs;     /* the map, each attached call, the running initialization, the catalog */
    up_state_t state;
    int in_map;
    int is_catalog;      /* the worker's own session for the catalog */
    int close_requested; /* session/close arrived during initialization */
    int init_step;       /* 0: initialize in flight, 1: notifications/initialized in flight */
    char key[WRK_KEY_MAX + 1];
    char rid[WRK_RID_MAX + 1]; /* the request that started it, then the one that closed it */
    gw_proto_t want_proto;
    uint8_t caps;
    char *sid;            /* upstream Mcp-Session-Id (owned); NULL for a stateless server */
    char proto[16];       /* negotiated protocol version */
    yajl_val init_result; /* catalog session only: the InitializeResult tree */
    link_t waiting;       /* calls queued until UP_READY */
    xfer_t x;
    xfer_t gx; /* the GET stream of server-initiated messages, while open */
    char gx_last_id[GW_SSE_ID_MAX + 1]; /* its last event id: the next one resumes after it */
    link_t rlink; /* in w->relisten while its GET stream waits to be opened again */
    int64_t relisten_ms;
};

/* ---- calls from routers ---- */

typedef enum call_state {
    CALL_NEW = 0,
    CALL_WAITING, /* queued on an initializing upstream session */
    CALL_RUNNING, /* its POST is with the backend */
    CALL_DONE,    /* END queued; destroyed once the backlog is out */
} call_state_t;

typedef struct outmsg {
    link_t link;
    uint8_t kind;
    uint32_t status;
    uint32_t flags;
    size_t len;
    char body[];
} outmsg_t;

struct call {
    wrk_t *w;
    link_t link;  /* w->calls */
    link_t qlink; /* up->waiting while CALL_WAITING; w->resuming while it waits to resume */
    link_t blink; /* w->backlog while outq is not empty */
    link_t outq;  /* replies nng did not take yet */
    call_state_t state;
    upstream_t *up; /* a reference */
    nng_msg *msg;   /* owns the bytes env points into */
    gw_envelope_t env;
    gw_outbox_t *out; /* to the caller's inbox (env.origin) */
    char rid[WRK_RID_MAX + 1];
    int64_t received_ms;
    int retried;  /* already sent again after a 404 */
    int sent_sid; /* the POST carried an upstream session id */
    int head_sent;
    int head_held; /* a JSON reply's HEAD, held to go out with the body in one message */
    uint32_t held_status;
    gw_buf_t held_body; /* the JSON body, while the HEAD is held */
    int answered;       /* the response to env.rpc_id went out */
    int fail_code;      /* the JSON-RPC error the gateway answered for the backend (0: none) */
    int lost;           /* replies cannot reach the caller any more */
    int resumes;        /* times its event stream was resumed with GET and Last-Event-ID */
    char resume_id[GW_SSE_ID_MAX + 1];
    int64_t resume_ms; /* when to resume (the backend's retry advice) */
    xfer_t x;
};

/* A fire-and-forget DELETE of an upstream session, or POST on one. */
typedef struct closer {
    link_t link;               /* w->posts until started, then w->closers */
    const char *done_msg;      /* its log line: "upstream session deleted" or "... posted" */
    char rid[WRK_RID_MAX + 1]; /* the request it was sent for ("" for the gateway's own) */
    char sid[WRK_SID_MAX + 1]; /* a post waiting to start: its upstream session ("": none) */
    char proto[16];
    xfer_t x;
} closer_t;

/* ---- the catalog ---- */

typedef enum cat_state {
    CAT_IDLE = 0,  /* waiting for next_ms to (re)start */
    CAT_FETCHING,  /* initialize, then tools/list pages */
    CAT_REPORTING, /* report sent; resent every WRK_RETRY_MS until the broker's END */
    CAT_DONE,
} cat_state_t;

/* The lists a catalog holds, fetched in this order; a list is fetched when the backend
 * advertises its capability. */
static const struct cat_list {
    const char *method;
    const char *key;        /* the array in the result, and in the report */
    const char *capability; /* in the backend's capabilities */
} cat_lists[] = {
    {"tools/list", "tools", "tools"},
    {"prompts/list", "prompts", "prompts"},
    {"resources/list", "resources", "resources"},
    {"resources/templates/list", "resourceTemplates", "resources"},
};
#define CAT_LISTS (sizeof(cat_lists) / sizeof(cat_lists[0]))

typedef struct catalog {
    cat_state_t state;
    upstream_t *up;           /* its own upstream session (a reference), not in the map */
    xfer_t x;                 /* the list request under way */
    size_t list;              /* index in cat_lists of the list being fetched */
    yajl_val *pages;          /* each list response tree */
    unsigned char *page_list; /* which list each page belongs to */
    size_t npages;
    size_t cappages;
    size_t ntools;
    size_t nitems[CAT_LISTS];
    char *cursor;
    gw_buf_t report;
    uint64_t report_corr;
    int64_t next_ms;
    xfer_t hx; /* the health check (ping) under way */
    int health_in_flight;
    int64_t next_health_ms; /* when CAT_DONE: the next ping */
    int again;              /* a list changed while fetching: fetch once more when done */
    int changed; /* a backend said a list changed, inside a curl callback: catalog_tick acts */
} catalog_t;

/* ---- the process ---- */

struct wrk {
    gw_config_t *cfg;
    const gw_server_conf_t *srv;
    const char *name;
    char inbox_name[GW_SERVER_NAME_MAX + 8]; /* "worker-NAME" */
    nng_socket inbox; /* worker-NAME.ipc: calls from routers, the broker's controls and replies */
    int inbox_open;
    gw_ipc_guard_t inbox_guard; /* nng 1.5.2: a listener that stopped taking peers is replaced */
    gw_outboxes_t out;          /* to callers' inboxes, opened on first use */
    CURLM *multi;
    CURL *idle[WRK_IDLE_EASY_MAX];
    size_t nidle;
    struct curl_slist *post_hdrs;  /* shared headers of every POST */
    struct curl_slist *plain_hdrs; /* shared headers of a DELETE */
    upstream_t **buckets;          /* gateway session uuid -> upstream session */
    size_t nbuckets;
    size_t nsessions;
    link_t initializing; /* upstream sessions in UP_INITIALIZING */
    link_t calls;
    link_t backlog;
    link_t closers;
    link_t posts; /* session_post()s to start from the loop (closer_t) */
    catalog_t cat;
    link_t srvreqs; /* server-initiated requests waiting for the client's answer */
    size_t nsrvreqs;
    uint64_t next_srvreq;
    link_t relisten; /* upstream sessions whose GET stream opens again soon */
    link_t resuming; /* calls whose response stream the backend closed early (call.qlink) */
    link_t levels;   /* logging/setLevel of sessions without an upstream session yet */
    size_t nlevels;
    gw_metrics_slot_t *m; /* this worker's metrics slot, or NULL */
    uint64_t next_corr;
    uint64_t next_rpc_id;
    int tasks; /* the backend offers tasks (its catalog session's capabilities) */
    int stopping;
    int64_t stop_deadline;
    int sig_fd; /* read end of the self-pipe */
};

static volatile sig_atomic_t stop_signal;
static int sig_pipe_wr = -1;

static void call_fail(call_t *c, int code, const char *msg);
static void call_dispatch(call_t *c);
static void session_unref(upstream_t *up);
static void catalog_on_session(wrk_t *w, int code, const char *msg);

/* ---- easy handles ---- */

static CURL *easy_acquire(wrk_t *w)
{
    if (w->nidle > 0) {
        return w->idle[--w->nidle];
    }
    return curl_easy_init();
}

static void easy_release(wrk_t *w, CURL *e)
{
    if (w->nidle < WRK_IDLE_EASY_MAX) {
        curl_easy_reset(e);
        w->idle[w->nidle++] = e;
        return;
    }
    curl_easy_cleanup(e);
}

/* ---- transfers ---- */

static void xfer_init(xfer_t *x, wrk_t *w, const xfer_ops_t *ops)
{
    memset(x, 0, sizeof(*x));
    x->w = w;
    x->ops = ops;
    gw_buf_init(&x->req);
    gw_buf_init(&x->body);
    gw_sse_init(&x->sse, w->cfg->max_response_body);
}

static void xfer_reset_response(xfer_t *x)
{
    x->status = 0;
    x->head_seen = 0;
    x->ctype = CTYPE_NONE;
    free(x->sid);
    x->sid = NULL;
    x->sid_bad = 0;
    x->discard = 0;
    x->rpc_seen = 0;
    x->aborted = ABORT_NONE;
    x->paused = 0;
    x->errbuf[0] = '\0';
    gw_sse_reset(&x->sse);
    gw_buf_reset(&x->body);
}

/* Takes the transfer out of libcurl without calling on_done. */
static void xfer_cancel(xfer_t *x)
{
    if (x->easy == NULL) {
        return;
    }
    curl_multi_remove_handle(x->w->multi, x->easy);
    easy_release(x->w, x->easy);
    x->easy = NULL;
}

static void xfer_fini(xfer_t *x)
{
    xfer_cancel(x);
    free(x->sid);
    x->sid = NULL;
    gw_buf_fini(&x->req);
    gw_buf_fini(&x->body);
    gw_sse_fini(&x->sse);
}

static void xfer_see_head(xfer_t *x, long status)
{
    x->head_seen = 1;
    x->status = status;
    if (x->ops->on_head != NULL) {
        x->ops->on_head(x);
    }
}

static int header_is(const char *name, size_t n, const char *want)
{
    return strlen(want) == n && strncasecmp(name, want, n) == 0;
}

static xfer_ctype_t ctype_parse(const char *v, size_t n)
{
    size_t end = 0;

    while (end < n && v[end] != ';' && v[end] != ' ' && v[end] != '\t') {
        end++;
    }
    if (header_is(v, end, "application/json")) {
        return CTYPE_JSON;
    }
    if (header_is(v, end, "text/event-stream")) {
        return CTYPE_SSE;
    }
    return CTYPE_OTHER;
}

/* The spec: visible ASCII 0x21-0x7E. */
static int sid_valid(const char *s, size_t n)
{
    if (n == 0 || n > WRK_SID_MAX) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] < 0x21 || s[i] > 0x7e) {
            return 0;
        }
    }
    return 1;
}

static size_t on_curl_header(char *buf, size_t size, size_t nitems, void *arg)
{
    xfer_t *x = arg;
    size_t len = size * nitems;
    size_t n = len;
    const char *colon;
    const char *v;
    const char *end;

    if (x->head_seen) {
        return len; /* trailers */
    }
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) {
        n--;
    }
    if (n == 0) {
        long status = 0;
        curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
        if (status >= 200) {
            xfer_see_head(x, status);
        }
        return len; /* a 1xx interim response: the real one follows */
    }
    if (n >= 5 && memcmp(buf, "HTTP/", 5) == 0) {
        x->ctype = CTYPE_NONE;
        free(x->sid);
        x->sid = NULL;
        x->sid_bad = 0;
        return len;
    }
    if ((colon = memchr(buf, ':', n)) == NULL) {
        return len;
    }
    v = colon + 1;
    end = buf + n;
    while (v < end && (*v == ' ' || *v == '\t')) {
        v++;
    }
    while (end > v && (end[-1] == ' ' || end[-1] == '\t')) {
        end--;
    }
    if (header_is(buf, (size_t)(colon - buf), "content-type")) {
        x->ctype = ctype_parse(v, (size_t)(end - v));
    } else if (header_is(buf, (size_t)(colon - buf), "mcp-session-id")) {
        free(x->sid);
        x->sid = NULL;
        x->sid_bad = !sid_valid(v, (size_t)(end - v));
        if (!x->sid_bad && (x->sid = strndup(v, (size_t)(end - v))) == NULL) {
            x->aborted = ABORT_NOMEM;
            return 0;
        }
    }
    return len;
}

static gw_err_t xfer_on_sse_event(void *arg, const char *data, size_t len)
{
    xfer_t *x = arg;

    return x->ops->on_event(x, data, len);
}

static size_t on_curl_write(char *buf, size_t size, size_t nmemb, void *arg)
{
    xfer_t *x = arg;
    size_t len = size * nmemb;
    gw_err_t err;

    if (!x->head_seen) {
        long status = 0;
        curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
        xfer_see_head(x, status);
    }
    if (x->discard) {
        return len;
    }
    if (x->ctype == CTYPE_SSE && x->status / 100 == 2) {
        if ((err = gw_sse_feed(&x->sse, buf, len, xfer_on_sse_event, x)) != GW_OK) {
            x->aborted = err == GW_ETOOBIG  ? ABORT_TOO_BIG
                         : err == GW_ENOMEM ? ABORT_NOMEM
                                            : ABORT_RELAY;
            return 0;
        }
        return len;
    }
    if (len > x->w->cfg->max_response_body - x->body.len) {
        x->aborted = ABORT_TOO_BIG;
        return 0;
    }
    if (gw_buf_append(&x->body, buf, len) != GW_OK) {
        x->aborted = ABORT_NOMEM;
        return 0;
    }
    return len;
}

#define SETOPT(e, opt, val) (curl_easy_setopt((e), (opt), (val)) != CURLE_OK)

/* Starts an HTTP request to the backend. On GW_OK ops->on_done will be called from the loop
 * (never from inside this call); on failure nothing was started. */
static gw_err_t xfer_start(xfer_t *x, const xfer_req_t *rq)
{
    wrk_t *w = x->w;
    int post = strcmp(rq->method, "POST") == 0;
    struct curl_slist *head = post ? w->post_hdrs : w->plain_hdrs;
    struct curl_slist *mine[4];
    size_t n = 0;
    CURL *e;
    int bad = 0;

    assert(x->easy == NULL);
    xfer_reset_response(x);
    if (rq->rid != NULL && rq->rid[0] != '\0') {
        snprintf(x->rid_hdr, sizeof(x->rid_hdr), "x-request-id: %s", rq->rid);
        mine[n++] = &x->hdrs[0];
        x->hdrs[0].data = x->rid_hdr;
    }
    if (rq->proto != NULL) {
        snprintf(x->proto_hdr, sizeof(x->proto_hdr), "MCP-Protocol-Version: %s", rq->proto);
        mine[n++] = &x->hdrs[1];
        x->hdrs[1].data = x->proto_hdr;
    }
    if (rq->sid != NULL) {
        snprintf(x->sid_hdr, sizeof(x->sid_hdr), "Mcp-Session-Id: %s", rq->sid);
        mine[n++] = &x->hdrs[2];
        x->hdrs[2].data = x->sid_hdr;
    }
    if (rq->last_event_id != NULL) {
        snprintf(x->lei_hdr, sizeof(x->lei_hdr), "Last-Event-ID: %s", rq->last_event_id);
        mine[n++] = &x->hdrs[3];
        x->hdrs[3].data = x->lei_hdr;
    }
    for (size_t i = n; i-- > 0;) {
        mine[i]->next = head;
        head = mine[i];
    }
    if ((e = easy_acquire(w)) == NULL) {
        return GW_ENOMEM;
    }
    bad |= SETOPT(e, CURLOPT_URL, w->srv->url);
    bad |= SETOPT(e, CURLOPT_PRIVATE, (void *)x);
    bad |= SETOPT(e, CURLOPT_NOSIGNAL, 1L);
    bad |= SETOPT(e, CURLOPT_TCP_NODELAY, 1L);
    bad |= SETOPT(e, CURLOPT_TCP_KEEPALIVE, 1L);
    bad |= SETOPT(e, CURLOPT_PROXY, "");
    bad |= SETOPT(e, CURLOPT_NOPROXY, "*");
#if LIBCURL_VERSION_NUM >= 0x075500
    bad |= SETOPT(e, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    bad |= SETOPT(e, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    bad |= SETOPT(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    if (strncasecmp(w->srv->url, "https:", 6) == 0) {
        bad |= SETOPT(e, CURLOPT_PIPEWAIT, 1L); /* prefer multiplexing on an h2 connection */
    }
    bad |= SETOPT(e, CURLOPT_USERAGENT, "mcpgw/" PACKAGE_VERSION);
    bad |= SETOPT(e, CURLOPT_HTTPHEADER, head);
    bad |= SETOPT(e, CURLOPT_TIMEOUT_MS, (long)rq->timeout_ms);
    bad |= SETOPT(e, CURLOPT_ERRORBUFFER, x->errbuf);
    bad |= SETOPT(e, CURLOPT_HEADERFUNCTION, on_curl_header);
    bad |= SETOPT(e, CURLOPT_HEADERDATA, (void *)x);
    bad |= SETOPT(e, CURLOPT_WRITEFUNCTION, on_curl_write);
    bad |= SETOPT(e, CURLOPT_WRITEDATA, (void *)x);
    if (post) {
        bad |= SETOPT(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->len);
        bad |= SETOPT(e, CURLOPT_POSTFIELDS, rq->len > 0 ? rq->body : "");
    } else {
        bad |= SETOPT(e, CURLOPT_CUSTOMREQUEST, rq->method);
    }
    if (bad) {
        easy_release(w, e);
        return GW_EINVAL;
    }
    x->timeout_ms = rq->timeout_ms;
    x->started_ms = gw_clock_ms();
    x->easy = e;
    if (curl_multi_add_handle(w->multi, e) != CURLM_OK) {
        x->easy = NULL;
        easy_release(w, e);
        return GW_EIO;
    }
    return GW_OK;
}

static void xfer_set_paused(xfer_t *x, int paused)
{
    if (x->easy == NULL || x->paused == paused) {
        return;
    }
    x->paused = paused;
    /* Unpausing may deliver buffered data through on_curl_write right here. */
    curl_easy_pause(x->easy, paused ? CURLPAUSE_RECV : CURLPAUSE_CONT);
}

static void xfer_complete(wrk_t *w, CURL *e, CURLcode rc)
{
    char *priv = NULL;
    xfer_t *x;

    curl_easy_getinfo(e, CURLINFO_PRIVATE, &priv);
    x = (xfer_t *)(void *)priv;
    if (x == NULL || x->easy != e) {
        curl_multi_remove_handle(w->multi, e);
        curl_easy_cleanup(e);
        return;
    }
    if (!x->head_seen && rc == CURLE_OK) {
        long status = 0;
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
        xfer_see_head(x, status);
    }
    xfer_cancel(x);
    x->ops->on_done(x, rc);
}

/* Describes a failed transfer (libcurl error, our own abort) for a JSON-RPC error. Returns 0
 * when the transfer completed, else the JSON-RPC error code with msg filled in. */
static int xfer_failure(const xfer_t *x, CURLcode rc, char *msg, size_t len)
{
    const char *name = x->w->name;

    if (x->aborted == ABORT_TOO_BIG) {
        snprintf(msg, len, "backend %s answer exceeds limits.max_response_body (%zu bytes)", name,
                 (size_t)x->w->cfg->max_response_body);
        return GW_RPC_INTERNAL_ERROR;
    }
    if (x->aborted == ABORT_NOMEM) {
        snprintf(msg, len, "backend %s answer: out of memory", name);
        return GW_RPC_INTERNAL_ERROR;
    }
    if (x->aborted == ABORT_RELAY) {
        snprintf(msg, len, "backend %s answer could not be relayed", name);
        return GW_RPC_INTERNAL_ERROR;
    }
    if (rc == CURLE_OK) {
        return 0;
    }
    if (rc == CURLE_OPERATION_TIMEDOUT) {
        snprintf(msg, len, "backend %s timed out after %" PRIu64 " ms", name, x->timeout_ms);
        return GW_RPC_TIMEOUT;
    }
    snprintf(msg, len, "backend %s %s: %s", name,
             x->head_seen ? "broke off its answer" : "unreachable",
             x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc));
    return GW_RPC_BACKEND_UNAVAILABLE;
}

/* Keeps the response to x->expect_id out of an event stream (notifications and server
 * requests before it are of no use to the worker's own requests). */
static gw_err_t rpc_collect_event(xfer_t *x, const char *data, size_t len)
{
    char err[64];
    yajl_val v;
    yajl_val id;

    if (x->rpc_seen) {
        return GW_OK;
    }
    if ((v = gw_json_parse(data, len, err, sizeof(err))) == NULL) {
        return GW_OK;
    }
    id = gw_json_get(v, "id");
    if (id != NULL && YAJL_IS_INTEGER(id) && YAJL_GET_INTEGER(id) == (long long)x->expect_id &&
        (gw_json_get(v, "result") != NULL || gw_json_get(v, "error") != NULL)) {
        gw_buf_reset(&x->body);
        if (gw_buf_append(&x->body, data, len) != GW_OK) {
            yajl_tree_free(v);
            return GW_ENOMEM;
        }
        x->rpc_seen = 1;
    }
    yajl_tree_free(v);
    return GW_OK;
}

/* Judges the answer to a request the worker made itself. Returns 0 with *tree (the caller's,
 * free with yajl_tree_free) and *result (inside it), or a JSON-RPC error code with msg. */
static int rpc_outcome(xfer_t *x, CURLcode rc, const char *what, yajl_val *tree, yajl_val *result,
                       char *msg, size_t len)
{
    const char *name = x->w->name;
    char perr[128];
    char quoted[256];
    yajl_val v;
    yajl_val error;
    int code;

    *tree = NULL;
    *result = NULL;
    if ((code = xfer_failure(x, rc, msg, len)) != 0) {
        return code;
    }
    v = x->body.len > 0 ? gw_json_parse(x->body.data, x->body.len, perr, sizeof(perr)) : NULL;
    if (x->status / 100 != 2) {
        const char *m = v ? gw_json_get_string(gw_json_get(v, "error"), "message") : NULL;
        if (m != NULL) {
            snprintf(msg, len, "backend %s answered HTTP %ld to %s: %s", name, x->status, what,
                     gw_log_quote(quoted, sizeof(quoted), m, strlen(m)));
        } else {
            snprintf(msg, len, "backend %s answered HTTP %ld to %s", name, x->status, what);
        }
        yajl_tree_free(v);
        return GW_RPC_INTERNAL_ERROR;
    }
    if (v == NULL) {
        if (x->body.len == 0) {
            snprintf(msg, len, "backend %s sent no response to %s", name, what);
        } else {
            snprintf(msg, len, "backend %s sent invalid JSON for %s: %s", name, what, perr);
        }
        return GW_RPC_INTERNAL_ERROR;
    }
    if ((error = gw_json_get(v, "error")) != NULL) {
        const char *m = gw_json_get_string(error, "message");
        snprintf(msg, len, "backend %s refused %s: %s", name, what,
                 m ? gw_log_quote(quoted, sizeof(quoted), m, strlen(m)) : "no message");
        yajl_tree_free(v);
        return GW_RPC_INTERNAL_ERROR;
    }
    *result = gw_json_get(v, "result");
    if (*result == NULL || !YAJL_IS_OBJECT(*result)) {
        snprintf(msg, len, "backend %s sent no result for %s", name, what);
        yajl_tree_free(v);
        *result = NULL;
        return GW_RPC_INTERNAL_ERROR;
    }
    *tree = v;
    return 0;
}

/* ---- upstream sessions: the map ---- */

static size_t key_hash(const char *s, size_t n)
{
    return (size_t)gw_hash(s, n);
}

static upstream_t *sessmap_find(wrk_t *w, const char *key, size_t n)
{
    upstream_t *up;

    if (w->nbuckets == 0) {
        return NULL;
    }
    for (up = w->buckets[key_hash(key, n) & (w->nbuckets - 1)]; up != NULL; up = up->hnext) {
        if (strlen(up->key) == n && memcmp(up->key, key, n) == 0) {
            return up;
        }
    }
    return NULL;
}

static gw_err_t sessmap_grow(wrk_t *w)
{
    size_t nb = w->nbuckets ? w->nbuckets * 2 : WRK_SESSMAP_MIN;
    upstream_t **b = calloc(nb, sizeof(*b));

    if (b == NULL) {
        return GW_ENOMEM;
    }
    for (size_t i = 0; i < w->nbuckets; i++) {
        upstream_t *up = w->buckets[i];
        while (up != NULL) {
            upstream_t *next = up->hnext;
            size_t h = key_hash(up->key, strlen(up->key)) & (nb - 1);
            up->hnext = b[h];
            b[h] = up;
            up = next;
        }
    }
    free(w->buckets);
    w->buckets = b;
    w->nbuckets = nb;
    return GW_OK;
}

/* The map takes a reference. */
static gw_err_t sessmap_insert(wrk_t *w, upstream_t *up)
{
    size_t h;

    if (w->nsessions >= w->nbuckets && sessmap_grow(w) != GW_OK && w->nbuckets == 0) {
        return GW_ENOMEM;
    }
    h = key_hash(up->key, strlen(up->key)) & (w->nbuckets - 1);
    up->hnext = w->buckets[h];
    w->buckets[h] = up;
    up->in_map = 1;
    up->refs++;
    w->nsessions++;
    gw_metric_add(w->m, GW_MC_UPSTREAM_CREATED, 1);
    gw_gauge_set(w->m, GW_MG_UPSTREAM_SESSIONS, (int64_t)w->nsessions);
    return GW_OK;
}

/* Takes up out of the map and drops the map's reference (up may be freed). */
static void session_detach(upstream_t *up)
{
    wrk_t *w = up->w;
    upstream_t **pp;

    if (!up->in_map) {
        return;
    }
    pp = &w->buckets[key_hash(up->key, strlen(up->key)) & (w->nbuckets - 1)];
    while (*pp != up) {
        pp = &(*pp)->hnext;
    }
    *pp = up->hnext;
    up->hnext = NULL;
    up->in_map = 0;
    xfer_cancel(&up->gx); /* no more server messages for a session that is gone */
    list_remove(&up->rlink);
    w->nsessions--;
    gw_gauge_set(w->m, GW_MG_UPSTREAM_SESSIONS, (int64_t)w->nsessions);
    session_unref(up);
}

/* ---- upstream sessions: lifecycle ---- */

static void session_on_done(xfer_t *x, CURLcode rc);
static void stream_start(upstream_t *up);
static const xfer_ops_t stream_ops;

static const xfer_ops_t session_ops = {
    .on_event = rpc_collect_event,
    .on_done = session_on_done,
};

static void session_set_state(upstream_t *up, up_state_t to)
{
    static const unsigned allowed[] = {
        [UP_NONE] = 1u << UP_INITIALIZING,
        [UP_INITIALIZING] = (1u << UP_READY) | (1u << UP_FAILED),
        [UP_READY] = 1u << UP_FAILED,
        [UP_FAILED] = 0,
    };

    assert(allowed[up->state] & (1u << to));
    up->state = to;
}

static upstream_t *session_create(wrk_t *w, const char *key, size_t n, gw_proto_t proto,
                                  uint8_t caps)
{
    upstream_t *up = calloc(1, sizeof(*up));

    if (up == NULL) {
        return NULL;
    }
    up->w = w;
    up->refs = 1;
    list_init(&up->ilink);
    list_init(&up->waiting);
    memcpy(up->key, key, n);
    up->key[n] = '\0';
    up->want_proto = gw_proto_name(proto) != NULL ? proto : GW_PROTO_LATEST;
    up->caps = caps;
    xfer_init(&up->x, w, &session_ops);
    xfer_init(&up->gx, w, &stream_ops);
    list_init(&up->rlink);
    return up;
}

static void session_unref(upstream_t *up)
{
    assert(up->refs > 0);
    if (--up->refs > 0) {
        return;
    }
    assert(!up->in_map && list_empty(&up->waiting) && up->x.easy == NULL);
    list_remove(&up->ilink);
    list_remove(&up->rlink);
    xfer_fini(&up->x);
    xfer_fini(&up->gx);
    free(up->sid);
    if (up->init_result != NULL) {
        yajl_tree_free(up->init_result);
    }
    free(up);
}

static void closer_on_done(xfer_t *x, CURLcode rc)
{
    closer_t *cl = container_of(x, closer_t, x);

    gw_log_debug("msg=\"%s\" backend=%s status=%ld curl=\"%s\" request_id=%s", cl->done_msg,
                 x->w->name, x->status, curl_easy_strerror(rc), cl->rid);
    list_remove(&cl->link);
    xfer_fini(&cl->x);
    free(cl);
}

static gw_err_t ignore_event(xfer_t *x, const char *data, size_t len)
{
    return GW_OK;
}

static const xfer_ops_t closer_ops = {
    .on_done = closer_on_done,
    .on_event = ignore_event,
};

/* POSTs one message on the upstream session, fire and forget (answers to server requests,
 * notifications, logging/setLevel): the result is only logged. rid: the client's request it is
 * sent for, passed on as x-request-id ("" for none). */
static void session_post(upstream_t *up, const char *body, size_t len, const char *rid)
{
    wrk_t *w = up->w;
    closer_t *cl = calloc(1, sizeof(*cl));

    if (cl == NULL) {
        return;
    }
    cl->done_msg = "upstream message posted";
    snprintf(cl->rid, sizeof(cl->rid), "%s", rid != NULL ? rid : "");
    snprintf(cl->sid, sizeof(cl->sid), "%s", up->sid != NULL ? up->sid : "");
    snprintf(cl->proto, sizeof(cl->proto), "%s", up->proto);
    xfer_init(&cl->x, w, &closer_ops);
    if (gw_buf_append(&cl->x.req, body, len) != GW_OK) {
        xfer_fini(&cl->x);
        free(cl);
        return;
    }
    /* Started from the loop: this may run inside a libcurl callback (a server request refused
     * while its event is being read), where libcurl refuses to add a transfer. */
    list_append(&w->posts, &cl->link);
}

/* Starts the posts session_post() queued. */
static void posts_start(wrk_t *w)
{
    while (!list_empty(&w->posts)) {
        closer_t *cl = container_of(w->posts.next, closer_t, link);
        list_remove(&cl->link);
        xfer_req_t rq = {
            .method = "POST",
            .body = cl->x.req.data,
            .len = cl->x.req.len,
            .sid = cl->sid[0] ? cl->sid : NULL,
            .proto = cl->proto[0] ? cl->proto : NULL,
            .rid = cl->rid,
            .timeout_ms = w->srv->timeout_ms,
        };
        if (xfer_start(&cl->x, &rq) != GW_OK) {
            gw_log_warn("msg=\"cannot post to the backend\" backend=%s request_id=%s", w->name,
                        cl->rid);
            xfer_fini(&cl->x);
            free(cl);
            continue;
        }
        list_append(&w->closers, &cl->link);
    }
}

/* DELETE the backend's session: fire and forget (the result is only logged). It carries
 * up->rid, the request that closed the session, as x-request-id. */
static void session_send_delete(upstream_t *up)
{
    wrk_t *w = up->w;
    closer_t *cl;

    if (up->sid == NULL) {
        return;
    }
    if ((cl = calloc(1, sizeof(*cl))) == NULL) {
        return;
    }
    cl->done_msg = "upstream session deleted";
    snprintf(cl->rid, sizeof(cl->rid), "%s", up->rid);
    xfer_req_t rq = {
        .method = "DELETE",
        .sid = up->sid,
        .proto = up->proto[0] ? up->proto : NULL,
        .rid = cl->rid,
        .timeout_ms = w->srv->timeout_ms,
    };
    xfer_init(&cl->x, w, &closer_ops);
    if (xfer_start(&cl->x, &rq) != GW_OK) {
        xfer_fini(&cl->x);
        free(cl);
        return;
    }
    list_append(&w->closers, &cl->link);
}

static void session_fail(upstream_t *up, int code, const char *msg)
{
    wrk_t *w = up->w;
    char q[512];

    session_set_state(up, UP_FAILED);
    list_remove(&up->ilink);
    session_detach(up);
    if (up->is_catalog) {
        catalog_on_session(w, code, msg); /* logs the failure itself */
    } else {
        gw_log_warn("msg=\"upstream initialize failed\" backend=%s session=%s error=\"%s\" "
                    "request_id=%s",
                    w->name, up->key, gw_log_quote(q, sizeof(q), msg, strlen(msg)), up->rid);
    }
    while (!list_empty(&up->waiting)) {
        call_t *c = container_of(up->waiting.next, call_t, qlink);
        list_remove(&c->qlink);
        call_fail(c, code, msg);
    }
    session_unref(up); /* the initialization's reference */
}

/* ---- per-session log levels (logging/setLevel) ---- */

/* A session's logging/setLevel request, kept until that session first uses this backend. */
typedef struct level {
    link_t link; /* w->levels */
    char key[WRK_KEY_MAX + 1];
    gw_buf_t body; /* the client's logging/setLevel message, sent as it is */
} level_t;

#define WRK_LEVELS_MAX 65536

static level_t *level_find(wrk_t *w, const char *key, size_t n)
{
    for (link_t *l = w->levels.next; l != &w->levels; l = l->next) {
        level_t *lv = container_of(l, level_t, link);
        if (strlen(lv->key) == n && memcmp(lv->key, key, n) == 0) {
            return lv;
        }
    }
    return NULL;
}

static void level_drop(wrk_t *w, level_t *lv)
{
    list_remove(&lv->link);
    gw_buf_fini(&lv->body);
    free(lv);
    w->nlevels--;
}

static void level_apply_pending(upstream_t *up)
{
    level_t *lv = level_find(up->w, up->key, strlen(up->key));
    if (lv != NULL) {
        session_post(up, lv->body.data, lv->body.len, up->rid);
        level_drop(up->w, lv);
    }
}

static void session_ready(upstream_t *up)
{
    wrk_t *w = up->w;

    session_set_state(up, UP_READY);
    list_remove(&up->ilink);
    if (!up->close_requested) {
        stream_start(up);
    }
    gw_log_debug("msg=\"upstream session ready\" backend=%s session=%s protocol=%s stateless=%d "
                 "request_id=%s",
                 w->name, up->is_catalog ? "catalog" : up->key, up->proto, up->sid == NULL,
                 up->rid);
    if (up->is_catalog) {
        catalog_on_session(w, 0, NULL);
    } else if (up->close_requested) {
        session_send_delete(up);
        while (!list_empty(&up->waiting)) {
            call_t *c = container_of(up->waiting.next, call_t, qlink);
            list_remove(&c->qlink);
            call_fail(c, GW_RPC_INTERNAL_ERROR, "the session was closed");
        }
    } else {
        level_apply_pending(up);
        while (!list_empty(&up->waiting)) {
            call_t *c = container_of(up->waiting.next, call_t, qlink);
            list_remove(&c->qlink);
            call_dispatch(c);
        }
    }
    session_unref(up); /* the initialization's reference */
}

/* Starts initialize on a new session; the session takes a reference for it. May fail the
 * session (and its waiting calls) before returning. */
static void session_start(upstream_t *up, const char *rid)
{
    wrk_t *w = up->w;
    xfer_t *x = &up->x;
    const char *proto = gw_proto_name(up->want_proto);
    gw_err_t err = GW_OK;
    xfer_req_t rq;
    char msg[256];

    session_set_state(up, UP_INITIALIZING);
    list_append(&w->initializing, &up->ilink);
    snprintf(up->rid, sizeof(up->rid), "%s", rid != NULL ? rid : "");
    up->refs++;
    up->init_step = 0;
    x->expect_id = ++w->next_rpc_id;
    gw_buf_reset(&x->req);
    err = gw_buf_appendf(&x->req,
                         "{\"jsonrpc\":\"2.0\",\"id\":%" PRIu64 ",\"method\":\"initialize\","
                         "\"params\":{\"protocolVersion\":\"%s\",\"capabilities\":{",
                         x->expect_id, proto);
    if (err == GW_OK && (up->caps & GW_CAP_SAMPLING)) {
        err = gw_buf_appends(&x->req, "\"sampling\":{},");
    }
    if (err == GW_OK && (up->caps & GW_CAP_ELICITATION)) {
        err = gw_buf_appends(&x->req, "\"elicitation\":{},");
    }
    if (err == GW_OK && (up->caps & GW_CAP_ROOTS)) {
        err = gw_buf_appends(&x->req, "\"roots\":{\"listChanged\":true},");
    }
    if (err == GW_OK && x->req.data[x->req.len - 1] == ',') {
        x->req.len--;
    }
    if (err == GW_OK) {
        err = gw_buf_appends(
            &x->req, "},\"clientInfo\":{\"name\":\"mcpgw\",\"version\":\"" PACKAGE_VERSION "\"}}}");
    }
    rq = (xfer_req_t){
        .method = "POST",
        .body = x->req.data,
        .len = x->req.len,
        .rid = rid,
        .timeout_ms = w->srv->timeout_ms,
    };
    if (err == GW_OK) {
        err = xfer_start(x, &rq);
    }
    if (err != GW_OK) {
        snprintf(msg, sizeof(msg), "backend %s: cannot start initialize: %s", w->name,
                 gw_strerror(err));
        session_fail(up, GW_RPC_INTERNAL_ERROR, msg);
    }
}

static void session_on_done(xfer_t *x, CURLcode rc)
{
    upstream_t *up = container_of(x, upstream_t, x);
    wrk_t *w = up->w;
    char msg[512];
    yajl_val tree;
    yajl_val result;
    const char *pv;
    gw_proto_t p;
    int code;
    static const char initialized[] =
        "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}";
    xfer_req_t rq;

    if (up->init_step == 1) {
        if ((code = xfer_failure(x, rc, msg, sizeof(msg))) != 0) {
            session_fail(up, code, msg);
        } else if (x->status / 100 != 2) {
            snprintf(msg, sizeof(msg), "backend %s answered HTTP %ld to notifications/initialized",
                     w->name, x->status);
            session_fail(up, GW_RPC_INTERNAL_ERROR, msg);
        } else {
            session_ready(up);
        }
        return;
    }
    if ((code = rpc_outcome(x, rc, "initialize", &tree, &result, msg, sizeof(msg))) != 0) {
        session_fail(up, code, msg);
        return;
    }
    pv = gw_json_get_string(result, "protocolVersion");
    p = pv != NULL ? gw_proto_parse(pv, strlen(pv)) : GW_PROTO_NONE;
    if (p == GW_PROTO_NONE) {
        char q[64];
        snprintf(msg, sizeof(msg),
                 "backend %s answered initialize with unsupported protocolVersion %s", w->name,
                 pv ? gw_log_quote(q, sizeof(q), pv, strlen(pv)) : "(none)");
        yajl_tree_free(tree);
        session_fail(up, GW_RPC_INTERNAL_ERROR, msg);
        return;
    }
    if (x->sid_bad) {
        snprintf(msg, sizeof(msg), "backend %s answered initialize with an invalid Mcp-Session-Id",
                 w->name);
        yajl_tree_free(tree);
        session_fail(up, GW_RPC_INTERNAL_ERROR, msg);
        return;
    }
    snprintf(up->proto, sizeof(up->proto), "%s", gw_proto_name(p));
    free(up->sid);
    up->sid = x->sid;
    x->sid = NULL;
    if (up->is_catalog) {
        up->init_result = tree;
        w->tasks = gw_json_get(gw_json_get(result, "capabilities"), "tasks") != NULL;
    } else {
        yajl_tree_free(tree);
    }
    up->init_step = 1;
    rq = (xfer_req_t){
        .method = "POST",
        .body = initialized,
        .len = sizeof(initialized) - 1,
        .sid = up->sid,
        .proto = up->proto,
        .timeout_ms = w->srv->timeout_ms,
    };
    if (xfer_start(x, &rq) != GW_OK) {
        snprintf(msg, sizeof(msg), "backend %s: cannot send notifications/initialized", w->name);
        session_fail(up, GW_RPC_INTERNAL_ERROR, msg);
    }
}

/* The backend forgot the session (404): later calls must initialize a new one. Calls still in
 * flight on it keep their reference. */
static void session_lost(upstream_t *up)
{
    if (up->state == UP_READY) {
        session_set_state(up, UP_FAILED);
    }
    session_detach(up);
}

/* ---- replies to callers ---- */

/* Replies go to the caller's inbox through an outbox (docs/ipc.md). While an outbox queues (the
 * caller is slow), further replies wait in the calls' own queues and their transfers pause, so
 * the slowdown reaches the backend instead of growing memory. */
static gw_outbox_t *outbox_for(wrk_t *w, gw_str_t name)
{
    return gw_outboxes_get(&w->out, name);
}

/* May a reply go to o now? Only when nothing queues ahead of it. */
static int out_admit(gw_outbox_t *o)
{
    return !gw_outbox_backlogged(o);
}

static gw_err_t out_send(wrk_t *w, gw_outbox_t *o, gw_envelope_t *e)
{
    e->origin = (gw_str_t){w->inbox_name, strlen(w->inbox_name)};
    return o != NULL ? gw_outbox_send(o, e) : GW_ENOTFOUND;
}

static int send_retryable(gw_err_t err)
{
    return err == GW_EAGAIN || err == GW_ETIMEDOUT;
}

static gw_err_t call_send_now(call_t *c, uint8_t kind, uint32_t status, uint32_t flags,
                              const char *body, size_t len)
{
    gw_envelope_t e;

    memset(&e, 0, sizeof(e));
    e.kind = kind;
    e.corr = c->env.corr;
    e.status = status;
    e.flags = flags;
    e.request_id = c->env.request_id;
    e.body = (gw_str_t){body, len};
    return out_send(c->w, c->out, &e);
}

/* Sends one reply of the call's stream, or queues it (and the call's backlog keeps the order)
 * when nng cannot take it now. */
static void call_send(call_t *c, uint8_t kind, uint32_t status, uint32_t flags, const char *body,
                      size_t len)
{
    outmsg_t *m;
    gw_err_t err;

    if (c->lost) {
        return;
    }
    if (list_empty(&c->outq) && out_admit(c->out)) {
        err = call_send_now(c, kind, status, flags, body, len);
        if (err == GW_OK) {
            return;
        }
        if (!send_retryable(err)) {
            gw_log_warn("msg=\"reply lost\" request_id=%s backend=%s error=\"%s\"", c->rid,
                        c->w->name, gw_strerror(err));
            c->lost = 1;
            return;
        }
    }
    if ((m = malloc(sizeof(*m) + len)) == NULL) {
        gw_log_warn("msg=\"reply lost\" request_id=%s backend=%s error=\"out of memory\"", c->rid,
                    c->w->name);
        c->lost = 1;
        return;
    }
    m->kind = kind;
    m->status = status;
    m->flags = flags;
    m->len = len;
    if (len > 0) {
        memcpy(m->body, body, len);
    }
    list_append(&c->outq, &m->link);
    if (c->blink.next == &c->blink) {
        list_append(&c->w->backlog, &c->blink);
    }
}

static void call_outq_clear(call_t *c)
{
    while (!list_empty(&c->outq)) {
        outmsg_t *m = container_of(c->outq.next, outmsg_t, link);
        list_remove(&m->link);
        free(m);
    }
    list_remove(&c->blink);
}

static void call_set_state(call_t *c, call_state_t to)
{
    static const unsigned allowed[] = {
        [CALL_NEW] = (1u << CALL_WAITING) | (1u << CALL_RUNNING) | (1u << CALL_DONE),
        [CALL_WAITING] = (1u << CALL_RUNNING) | (1u << CALL_DONE),
        /* RUNNING -> WAITING/RUNNING: sent again on a new session after a 404 */
        [CALL_RUNNING] = (1u << CALL_WAITING) | (1u << CALL_RUNNING) | (1u << CALL_DONE),
        [CALL_DONE] = 0,
    };

    assert(allowed[c->state] & (1u << to));
    c->state = to;
}

static void call_destroy(call_t *c)
{
    xfer_fini(&c->x);
    list_remove(&c->qlink);
    call_outq_clear(c);
    if (c->up != NULL) {
        session_unref(c->up);
        c->up = NULL;
    }
    list_remove(&c->link);
    gw_buf_fini(&c->held_body);
    nng_msg_free(c->msg);
    free(c);
}

static void call_head(call_t *c, uint32_t status, uint32_t flags)
{
    c->head_sent = 1;
    if (!(flags & GW_ENV_F_SSE)) {
        /* A JSON reply is one body: send HEAD, body and end as one message (call_end). */
        c->head_held = 1;
        c->held_status = status;
        return;
    }
    call_send(c, GW_ENV_HEAD, status, flags, NULL, 0);
}

/* ---- task ids ---- */

/* Task ids reach clients as "mcpgw:<server>:<the backend's id>", so that a router can send
 * tasks/get, tasks/result and tasks/cancel to the backend that owns the task (and two backends'
 * ids never collide). Only the members the spec gives task ids are rewritten. */

/* Prefixes the string member key of obj in place; returns 1 when it did. */
static int task_prefix_member(wrk_t *w, yajl_val obj, const char *key)
{
    yajl_val v = gw_json_get(obj, key);
    if (!YAJL_IS_STRING(v)) {
        return 0;
    }
    size_t n = strlen(w->name) + strlen(v->u.string) + 8;
    char *p = malloc(n);
    if (p == NULL) {
        return 0;
    }
    snprintf(p, n, "mcpgw:%s:%s", w->name, v->u.string);
    free(v->u.string);
    v->u.string = p;
    return 1;
}

/* Adds the string member key (obj has none) to obj; returns 1 when it did. */
static int json_add_string(yajl_val obj, const char *key, const char *value)
{
    size_t n = obj->u.object.len;
    const char **keys = realloc((void *)obj->u.object.keys, (n + 1) * sizeof(*keys));
    if (keys == NULL) {
        return 0;
    }
    obj->u.object.keys = keys;
    yajl_val *values = realloc(obj->u.object.values, (n + 1) * sizeof(*values));
    if (values == NULL) {
        return 0;
    }
    obj->u.object.values = values;
    yajl_val v = calloc(1, sizeof(*v));
    char *k = strdup(key);
    char *s = strdup(value);
    if (v == NULL || k == NULL || s == NULL) {
        free(v);
        free(k);
        free(s);
        return 0;
    }
    v->type = yajl_t_string;
    v->u.string = s;
    keys[n] = k;
    values[n] = v;
    obj->u.object.len = n + 1;
    return 1;
}

/* Writes into out the message with its task ids (and, for a tasks/list answer, its nextCursor)
 * made the gateway's; returns 0 when there was nothing to change. next names the backend whose
 * tasks come after this one's in tasks/list (NULL: none). */
static int tasks_rewrite(wrk_t *w, const char *data, size_t len, int list_reply, gw_str_t next,
                         gw_buf_t *out)
{
    static const char related[] = "io.modelcontextprotocol/related-task";
    if (!w->tasks || (!list_reply && memmem(data, len, "\"taskId\"", 8) == NULL)) {
        /* a backend without tasks costs its answers nothing here (every reply passes by) */
        return 0;
    }
    char err[64];
    yajl_val tree = gw_json_parse(data, len, err, sizeof(err));
    if (tree == NULL) {
        return 0;
    }
    yajl_val result = gw_json_get(tree, "result");
    yajl_val params = gw_json_get(tree, "params");
    int changed =
        task_prefix_member(w, gw_json_get(result, "task"), "taskId"); /* CreateTaskResult */
    changed |= task_prefix_member(w, result, "taskId");               /* tasks/get, tasks/cancel */
    changed |= task_prefix_member(w, params, "taskId"); /* notifications/tasks/status */
    changed |= task_prefix_member(w, gw_json_get(gw_json_get(result, "_meta"), related), "taskId");
    changed |= task_prefix_member(w, gw_json_get(gw_json_get(params, "_meta"), related), "taskId");
    yajl_val tasks = gw_json_get(result, "tasks");
    for (size_t i = 0; list_reply && YAJL_IS_ARRAY(tasks) && i < tasks->u.array.len; i++) {
        changed |= task_prefix_member(w, tasks->u.array.values[i], "taskId");
    }
    if (list_reply && YAJL_IS_OBJECT(result)) {
        if (gw_json_get(result, "nextCursor") != NULL) {
            changed |= task_prefix_member(w, result, "nextCursor");
        } else if (next.len > 0 && next.len <= GW_SERVER_NAME_MAX) {
            char cursor[GW_SERVER_NAME_MAX + 16];
            snprintf(cursor, sizeof(cursor), "mcpgw:%.*s:", (int)next.len, next.ptr);
            changed |= json_add_string(result, "nextCursor", cursor);
        }
    }
    if (changed && gw_json_to_buf(tree, out) != GW_OK) {
        changed = 0;
    }
    yajl_tree_free(tree);
    return changed;
}

/* The next-task-server header of a tasks/list call (see the router's route_task_list). */
static gw_str_t call_next_task_server(const call_t *c)
{
    for (size_t i = 0; i < c->env.nheaders; i++) {
        if (gw_str_eq(c->env.headers[i].name, "next-task-server")) {
            return c->env.headers[i].value;
        }
    }
    return GW_STR_NULL;
}

/* Sends one CHUNK of the reply, or keeps it for the held HEAD. */
static void call_chunk(call_t *c, const char *body, size_t len)
{
    gw_buf_t t;
    gw_buf_init(&t);
    if (tasks_rewrite(c->w, body, len, gw_str_eq(c->env.method, "tasks/list"),
                      call_next_task_server(c), &t)) {
        body = t.data;
        len = t.len;
    }
    if (!c->head_held) {
        call_send(c, GW_ENV_CHUNK, 0, 0, body, len);
    } else if (gw_buf_append(&c->held_body, body, len) != GW_OK) {
        gw_log_warn("msg=\"reply lost\" request_id=%s backend=%s error=\"out of memory\"", c->rid,
                    c->w->name);
        c->lost = 1;
    }
    gw_buf_fini(&t);
}

/* Ends the reply stream. c is destroyed here unless replies are still queued; do not touch it
 * afterwards. */
static void call_end(call_t *c, uint32_t status, const char *body, size_t len)
{
    wrk_t *w = c->w;

    call_set_state(c, CALL_DONE);
    xfer_cancel(&c->x);
    gw_backend_request_add(w->m, gw_backend_method_of(c->env.method.ptr, c->env.method.len),
                           c->fail_code == 0                ? GW_BS_OK
                           : c->fail_code == GW_RPC_TIMEOUT ? GW_BS_TIMEOUT
                                                            : GW_BS_ERROR);
    gw_metric_observe_us(w->m, GW_MH_BACKEND, (uint64_t)(gw_clock_ms() - c->received_ms) * 1000);
    gw_log_debug("msg=call request_id=%s backend=%s method=%.*s status=%ld retried=%d ms=%" PRId64,
                 c->rid, w->name, (int)c->env.method.len, c->env.method.ptr, c->x.status,
                 c->retried, gw_clock_ms() - c->received_ms);
    if (c->head_held) {
        c->head_held = 0;
        call_send(c, GW_ENV_HEAD, c->held_status, GW_ENV_F_FINAL, c->held_body.data,
                  c->held_body.len);
        gw_buf_fini(&c->held_body);
    } else {
        call_send(c, GW_ENV_END, status, 0, body, len);
    }
    if (list_empty(&c->outq)) {
        call_destroy(c);
    }
}

/* Answers the call with a JSON-RPC error (a HEAD-less END for a notification). */
static void call_fail(call_t *c, int code, const char *msg)
{
    gw_buf_t b;
    char q[512];

    c->fail_code = code;
    gw_log_warn("msg=\"call failed\" request_id=%s backend=%s method=%.*s code=%d error=\"%s\"",
                c->rid, c->w->name, (int)c->env.method.len, c->env.method.ptr, code,
                gw_log_quote(q, sizeof(q), msg, strlen(msg)));
    gw_buf_init(&b);
    if (gw_rpc_error(&b, c->env.rpc_id.ptr, c->env.rpc_id.len, code, msg) != GW_OK) {
        gw_buf_reset(&b);
    }
    if (c->env.rpc_id.len == 0 && !c->head_sent) {
        call_end(c, code == GW_RPC_TIMEOUT ? 504 : 502, b.data, b.len);
    } else {
        if (!c->head_sent) {
            call_head(c, 200, 0);
        }
        if (!c->answered && b.len > 0) {
            call_chunk(c, b.data, b.len);
        }
        call_end(c, 0, NULL, 0);
    }
    gw_buf_fini(&b);
}

static void call_failf(call_t *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void call_failf(call_t *c, int code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    call_fail(c, code, msg);
}

/* ---- calls: the backend exchange ---- */

/* ---- server-initiated requests (sampling, elicitation, roots, ping) ---- */

/* One request a backend sent the client, waiting for the client's answer. Its id went to the
 * client as "mcpgw:<server>:<n>" so that any router can send the answer to this worker, and
 * the answer only counts from the session it was sent to. */
typedef struct srvreq {
    link_t link; /* w->srvreqs, oldest first */
    uint64_t n;
    char key[WRK_KEY_MAX + 1];
    gw_buf_t id; /* the backend's own id (raw JSON) */
    int64_t expires_ms;
} srvreq_t;

#define WRK_SRVREQS_MAX 65536

static void srvreq_drop(wrk_t *w, srvreq_t *r)
{
    list_remove(&r->link);
    gw_buf_fini(&r->id);
    free(r);
    w->nsrvreqs--;
}

/* Which client capability a server request needs; NULL for one the gateway does not relay. */
static int srvreq_allowed(const char *method, uint8_t caps, const char **need)
{
    static const struct {
        const char *method;
        uint8_t cap;
        const char *name;
    } table[] = {
        {"sampling/createMessage", GW_CAP_SAMPLING, "sampling"},
        {"elicitation/create", GW_CAP_ELICITATION, "elicitation"},
        {"roots/list", GW_CAP_ROOTS, "roots"},
        {"ping", 0, NULL},
    };
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        if (strcmp(table[i].method, method) == 0) {
            *need = table[i].name;
            return table[i].cap == 0 || (caps & table[i].cap) != 0;
        }
    }
    *need = method;
    return 0;
}

/* A request from the backend (in a call's event stream or on the session's GET stream) for the
 * client of session key: written to out with a gateway id, or refused to the backend on up when
 * the client cannot answer it. Returns 1 when the event was consumed (nothing to relay). */
static int relay_server_request(wrk_t *w, upstream_t *up, gw_str_t key, uint8_t caps,
                                const char *rid, const char *data, size_t len, const gw_rpc_t *rpc,
                                gw_buf_t *out)
{
    const char *need;
    if (!srvreq_allowed(rpc->method_str, caps, &need)) {
        gw_buf_t err;
        char msg[GW_RPC_METHOD_MAX + 64];
        gw_buf_init(&err);
        snprintf(msg, sizeof(msg), "the client did not declare the %.128s capability", need);
        if (up != NULL && gw_rpc_error(&err, data + rpc->id.off, rpc->id.len,
                                       GW_RPC_METHOD_NOT_FOUND, msg) == GW_OK) {
            session_post(up, err.data, err.len, rid);
        }
        gw_log_info("msg=\"server request refused\" backend=%s method=%s reason=\"%s\" "
                    "request_id=%s",
                    w->name, rpc->method_str, msg, rid != NULL ? rid : "");
        gw_buf_fini(&err);
        return 1;
    }
    while (w->nsrvreqs >= WRK_SRVREQS_MAX) {
        srvreq_drop(w, container_of(w->srvreqs.next, srvreq_t, link));
    }
    srvreq_t *r = calloc(1, sizeof(*r));
    if (r == NULL) {
        return 1;
    }
    r->n = ++w->next_srvreq;
    memcpy(r->key, key.ptr, key.len);
    r->key[key.len] = '\0';
    gw_buf_init(&r->id);
    r->expires_ms = gw_clock_ms() + (int64_t)w->srv->timeout_ms * 10;
    char gid[GW_SERVER_NAME_MAX + 48];
    snprintf(gid, sizeof(gid), "mcpgw:%s:%" PRIu64, w->name, r->n);
    if (gw_buf_append(&r->id, data + rpc->id.off, rpc->id.len) != GW_OK ||
        gw_rpc_splice_string(out, data, len, rpc->id, gid, strlen(gid)) != GW_OK) {
        gw_buf_fini(&r->id);
        free(r);
        return 1;
    }
    list_append(&w->srvreqs, &r->link);
    w->nsrvreqs++;
    return 0;
}

/* ---- upstream GET streams: the backend's server-initiated messages ---- */

/* A list_changed seen in an event stream, that is inside a curl write callback, where libcurl
 * refuses curl_multi_add_handle and curl_multi_remove_handle (CURLM_RECURSIVE_API_CALL): the
 * refetch starts from the loop (catalog_tick), right after this turn's curl_multi_perform. */
static void catalog_note_changed(wrk_t *w)
{
    w->cat.changed = 1;
}

static int is_list_changed(const char *method)
{
    return strcmp(method, "notifications/tools/list_changed") == 0 ||
           strcmp(method, "notifications/prompts/list_changed") == 0 ||
           strcmp(method, "notifications/resources/list_changed") == 0;
}

/* Opens the GET stream of a ready upstream session (every one: the backend may send requests,
 * resource updates and log messages there; the catalog's session hears list_changed). */
static void stream_start(upstream_t *up)
{
    wrk_t *w = up->w;
    xfer_req_t rq = {
        .method = "GET",
        .sid = up->sid,
        .proto = up->proto[0] ? up->proto : NULL,
        .last_event_id = up->gx_last_id[0] ? up->gx_last_id : NULL,
        .timeout_ms = 0, /* as long as the session lives */
    };
    if (w->stopping || up->sid == NULL || up->gx.easy != NULL) {
        return; /* a stateless backend has no session to listen on */
    }
    list_remove(&up->rlink);
    if (xfer_start(&up->gx, &rq) != GW_OK) {
        up->relisten_ms = gw_clock_ms() + WRK_STREAM_RETRY_MS;
        list_append(&w->relisten, &up->rlink);
    }
}

/* A message on a client session's GET stream goes to the broker, which puts it on the client's
 * GET stream (or keeps it for the client's Last-Event-ID). */
static void stream_to_client(upstream_t *up, const char *body, size_t len)
{
    wrk_t *w = up->w;
    gw_buf_t t;
    gw_buf_init(&t);
    if (tasks_rewrite(w, body, len, 0, GW_STR_NULL, &t)) {
        body = t.data;
        len = t.len;
    }
    gw_envelope_t e;
    memset(&e, 0, sizeof(e));
    e.kind = GW_ENV_CONTROL;
    e.flags = GW_ENV_F_NOREPLY;
    e.method = GW_STR("session/event");
    e.session = (gw_str_t){up->key, strlen(up->key)};
    e.body = (gw_str_t){body, len};
    gw_outbox_t *o = outbox_for(w, GW_STR("broker"));
    if (o == NULL || out_send(w, o, &e) != GW_OK) {
        gw_log_warn("msg=\"server message lost: the broker is unreachable\" backend=%s session=%s",
                    w->name, up->key);
    }
    gw_buf_fini(&t);
}

/* The catalog's own session answers what a backend asks it: no roots, pings; nothing else. */
static void catalog_answer(upstream_t *up, const char *data, const gw_rpc_t *rpc)
{
    gw_buf_t b;
    gw_buf_init(&b);
    const char *id = data + rpc->id.off;
    gw_err_t err = strcmp(rpc->method_str, "roots/list") == 0
                       ? gw_rpc_result(&b, id, rpc->id.len, "{\"roots\":[]}", 12)
                   : strcmp(rpc->method_str, "ping") == 0
                       ? gw_rpc_result(&b, id, rpc->id.len, "{}", 2)
                       : gw_rpc_error(&b, id, rpc->id.len, GW_RPC_METHOD_NOT_FOUND,
                                      "the gateway's catalog session has no client to ask");
    if (err == GW_OK) {
        session_post(up, b.data, b.len, NULL);
    }
    gw_buf_fini(&b);
}

static gw_err_t stream_on_event(xfer_t *x, const char *data, size_t len)
{
    upstream_t *up = container_of(x, upstream_t, gx);
    wrk_t *w = up->w;
    gw_rpc_t rpc;
    if (gw_rpc_scan(data, len, GW_RPC_DEFAULT_MAX_DEPTH, &rpc) != GW_OK ||
        rpc.kind == GW_MSG_INVALID || rpc.kind == GW_MSG_BATCH) {
        gw_log_warn("msg=\"bad message on a backend GET stream\" backend=%s", w->name);
        return GW_OK;
    }
    if (rpc.kind == GW_MSG_NOTIFICATION && is_list_changed(rpc.method_str)) {
        catalog_note_changed(w);
        return GW_OK;
    }
    if (up->is_catalog) {
        if (rpc.kind == GW_MSG_REQUEST) {
            catalog_answer(up, data, &rpc);
        }
        return GW_OK;
    }
    if (rpc.kind == GW_MSG_REQUEST) {
        gw_buf_t out;
        gw_buf_init(&out);
        if (!relay_server_request(w, up, (gw_str_t){up->key, strlen(up->key)}, up->caps, NULL, data,
                                  len, &rpc, &out)) {
            stream_to_client(up, out.data, out.len);
        }
        gw_buf_fini(&out);
    } else if (rpc.kind == GW_MSG_NOTIFICATION) {
        stream_to_client(up, data, len);
    }
    return GW_OK;
}

static void stream_on_done(xfer_t *x, CURLcode rc)
{
    upstream_t *up = container_of(x, upstream_t, gx);
    wrk_t *w = up->w;
    int live = up->state == UP_READY && (up->in_map || (up->is_catalog && w->cat.up == up));
    if ((x->status == 404 || x->status == 400) && up->gx_last_id[0] != '\0' && live &&
        !w->stopping) {
        /* the backend does not know the event id (it forgot, or never resumes): start afresh */
        up->gx_last_id[0] = '\0';
        up->relisten_ms = gw_clock_ms();
        list_append(&w->relisten, &up->rlink);
        return;
    }
    if (x->status == 405 || x->status == 404 || x->status == 400 ||
        (x->head_seen && x->status / 100 == 2 && x->ctype != CTYPE_SSE)) {
        /* no GET stream here (405), or the session is gone: calls find out and re-initialize */
        gw_log_debug("msg=\"no GET stream\" backend=%s session=%s status=%ld", w->name,
                     up->is_catalog ? "catalog" : up->key, x->status);
        return;
    }
    if (!live || w->stopping) {
        return;
    }
    gw_log_debug("msg=\"GET stream ended, opening it again\" backend=%s session=%s status=%ld "
                 "curl=\"%s\" last_event_id=\"%s\"",
                 w->name, up->is_catalog ? "catalog" : up->key, x->status, curl_easy_strerror(rc),
                 x->sse.last_id);
    if (x->sse.last_id[0] != '\0') {
        memcpy(up->gx_last_id, x->sse.last_id, sizeof(up->gx_last_id));
    }
    /* the backend's retry advice, but never a tight loop against one that closes at once */
    long wait = x->sse.retry_ms >= 0 ? x->sse.retry_ms : WRK_STREAM_RETRY_MS;
    wait = wait < 100 ? 100 : wait > WRK_RESUME_WAIT_MAX_MS ? WRK_RESUME_WAIT_MAX_MS : wait;
    up->relisten_ms = gw_clock_ms() + wait;
    list_append(&w->relisten, &up->rlink);
}

static const xfer_ops_t stream_ops = {
    .on_event = stream_on_event,
    .on_done = stream_on_done,
};

/* Opens again the GET streams that are due; returns when the next one is. */
static int64_t streams_tick(wrk_t *w, int64_t now)
{
    int64_t next = INT64_MAX;
    for (link_t *l = w->relisten.next; l != &w->relisten;) {
        upstream_t *up = container_of(l, upstream_t, rlink);
        l = l->next;
        if (now >= up->relisten_ms) {
            stream_start(up); /* takes it off the list, or puts it back at the end */
        } else if (up->relisten_ms < next) {
            next = up->relisten_ms;
        }
    }
    return next;
}

static void call_on_head(xfer_t *x)
{
    call_t *c = container_of(x, call_t, x);

    if (x->status == 404 && c->sent_sid && !c->retried && !c->w->stopping && c->resumes == 0) {
        x->discard = 1; /* not executed: it goes again on a new session */
        return;
    }
    if (x->status / 100 == 2 && x->status != 202 && c->env.rpc_id.len > 0 && !c->head_sent &&
        (x->ctype == CTYPE_SSE || x->ctype == CTYPE_JSON)) {
        call_head(c, 200, x->ctype == CTYPE_SSE ? GW_ENV_F_SSE : 0);
    }
}

static gw_err_t call_on_event(xfer_t *x, const char *data, size_t len)
{
    call_t *c = container_of(x, call_t, x);

    if (!c->head_sent) {
        return GW_OK; /* an event stream answering a notification: nobody to give it to */
    }
    gw_rpc_t rpc;
    if (gw_rpc_scan(data, len, GW_RPC_DEFAULT_MAX_DEPTH, &rpc) == GW_OK) {
        if (!c->answered && rpc.kind == GW_MSG_RESPONSE && rpc.id.len == c->env.rpc_id.len &&
            memcmp(data + rpc.id.off, c->env.rpc_id.ptr, rpc.id.len) == 0) {
            c->answered = 1;
        } else if (rpc.kind == GW_MSG_NOTIFICATION && is_list_changed(rpc.method_str)) {
            catalog_note_changed(c->w); /* the broker tells the clients once it is fresh */
            return c->lost ? GW_ECLOSED : GW_OK;
        } else if (rpc.kind == GW_MSG_REQUEST) {
            gw_buf_t out;
            gw_buf_init(&out);
            if (!relay_server_request(c->w, c->up, c->env.session, c->env.caps, c->rid, data, len,
                                      &rpc, &out)) {
                call_chunk(c, out.data, out.len);
            }
            gw_buf_fini(&out);
            return c->lost ? GW_ECLOSED : GW_OK;
        }
    }
    call_chunk(c, data, len);
    return c->lost ? GW_ECLOSED : GW_OK;
}

/* The message of a JSON error body ({"error":{"message":...}}), or NULL; *tree is the caller's
 * to free. Error bodies are rare and small: a tree is fine here. */
static const char *error_body_message(const xfer_t *x, yajl_val *tree, long long *code)
{
    char err[64];
    yajl_val e;
    yajl_val c;

    *tree = NULL;
    if (x->ctype != CTYPE_JSON || x->body.len == 0 ||
        (*tree = gw_json_parse(x->body.data, x->body.len, err, sizeof(err))) == NULL) {
        return NULL;
    }
    e = gw_json_get(*tree, "error");
    c = gw_json_get(e, "code");
    if (code != NULL) {
        *code = c != NULL && YAJL_IS_INTEGER(c) ? YAJL_GET_INTEGER(c) : GW_RPC_INTERNAL_ERROR;
    }
    return gw_json_get_string(e, "message");
}

/* The spec says a backend answers 404 for a session it does not know; the reference server
 * (server-everything, the SDK's examples) answers 400 "No valid session ID provided". Either
 * way the call was not executed, so a 400 whose error names the session counts as a lost
 * session too. */
static int session_rejected(const call_t *c)
{
    const xfer_t *x = &c->x;
    yajl_val tree;
    const char *m;
    int yes;

    if (x->status != 400 || !c->sent_sid || c->retried || c->w->stopping || c->resumes > 0) {
        return 0;
    }
    m = error_body_message(x, &tree, NULL);
    yes = m != NULL && strcasestr(m, "session") != NULL;
    yajl_tree_free(tree);
    return yes;
}

/* A non-2xx answer: relay a JSON-RPC error body (with the client's id when the backend gave
 * none), else describe the status. */
static void call_relay_http_error(call_t *c)
{
    xfer_t *x = &c->x;
    gw_rpc_t rpc;
    gw_buf_t b;
    const char *body = x->body.data;
    size_t len = x->body.len;
    yajl_val tree = NULL;

    if (c->env.rpc_id.len == 0 || x->ctype != CTYPE_JSON || len == 0 ||
        gw_rpc_scan(body, len, GW_RPC_DEFAULT_MAX_DEPTH, &rpc) != GW_OK || !rpc.has_error ||
        rpc.has_result || rpc.method.len > 0) {
        call_failf(c, GW_RPC_INTERNAL_ERROR, "backend %s answered HTTP %ld", c->w->name, x->status);
        return;
    }
    gw_log_warn("msg=\"backend error relayed\" request_id=%s backend=%s method=%.*s status=%ld",
                c->rid, c->w->name, (int)c->env.method.len, c->env.method.ptr, x->status);
    gw_buf_init(&b);
    if (rpc.kind == GW_MSG_RESPONSE && rpc.id_is_null && rpc.id.len == 4 &&
        memcmp(body + rpc.id.off, "null", 4) == 0) {
        /* An error about the transport (no session, bad header) comes with id null; the client
         * waits for its own id. */
        if (gw_rpc_splice_raw(&b, body, len, rpc.id, c->env.rpc_id.ptr, c->env.rpc_id.len) ==
            GW_OK) {
            body = b.data;
            len = b.len;
        }
    } else if (rpc.kind != GW_MSG_RESPONSE && rpc.id.len == 0) {
        /* No id at all: rebuild the error around the client's id. */
        long long code = GW_RPC_INTERNAL_ERROR;
        const char *m = error_body_message(x, &tree, &code);
        if (m == NULL || code < INT32_MIN || code > INT32_MAX ||
            gw_rpc_error(&b, c->env.rpc_id.ptr, c->env.rpc_id.len, (int)code, m) != GW_OK) {
            yajl_tree_free(tree);
            gw_buf_fini(&b);
            call_failf(c, GW_RPC_INTERNAL_ERROR, "backend %s answered HTTP %ld", c->w->name,
                       x->status);
            return;
        }
        body = b.data;
        len = b.len;
    } else if (rpc.kind != GW_MSG_RESPONSE) {
        gw_buf_fini(&b);
        call_failf(c, GW_RPC_INTERNAL_ERROR, "backend %s answered HTTP %ld", c->w->name, x->status);
        return;
    }
    call_head(c, 200, 0);
    call_chunk(c, body, len);
    c->answered = 1;
    call_end(c, 0, NULL, 0);
    yajl_tree_free(tree);
    gw_buf_fini(&b);
}

static void call_on_done(xfer_t *x, CURLcode rc)
{
    call_t *c = container_of(x, call_t, x);
    wrk_t *w = c->w;
    char msg[512];
    int code;

    if ((x->discard && x->aborted == ABORT_NONE) || (rc == CURLE_OK && session_rejected(c))) {
        gw_log_info("msg=\"upstream session lost, initializing a new one\" request_id=%s "
                    "backend=%s session=%s status=%ld",
                    c->rid, w->name, c->up->key, x->status);
        c->retried = 1;
        gw_metric_add(w->m, GW_MC_UPSTREAM_REINIT, 1);
        session_lost(c->up);
        session_unref(c->up);
        c->up = NULL;
        call_dispatch(c);
        return;
    }
    if ((code = xfer_failure(x, rc, msg, sizeof(msg))) != 0) {
        call_fail(c, code, msg);
        return;
    }
    if (x->status / 100 != 2 && c->resumes > 0) {
        call_failf(c, GW_RPC_INTERNAL_ERROR,
                   "backend %s could not resume its event stream (HTTP %ld to GET with "
                   "Last-Event-ID)",
                   w->name, x->status);
        return;
    }
    if (x->status / 100 != 2) {
        call_relay_http_error(c);
        return;
    }
    if (c->env.rpc_id.len == 0 || x->status == 202) {
        if (!c->head_sent) {
            call_head(c, 202, 0);
        }
        call_end(c, 0, NULL, 0);
        return;
    }
    switch (x->ctype) {
    case CTYPE_SSE:
        if (!c->answered && x->sse.last_id[0] != '\0' && c->resumes < WRK_RESUMES_MAX &&
            c->up != NULL && c->up->sid != NULL && !w->stopping) {
            /* closed early with an event id (2025-11-25 polling): resume it with a GET */
            long wait = x->sse.retry_ms < 0 ? 0 : x->sse.retry_ms;
            snprintf(c->resume_id, sizeof(c->resume_id), "%s", x->sse.last_id);
            c->resume_ms =
                gw_clock_ms() + (wait < WRK_RESUME_WAIT_MAX_MS ? wait : WRK_RESUME_WAIT_MAX_MS);
            list_append(&w->resuming, &c->qlink);
            gw_log_debug("msg=\"response stream closed early; resuming it\" request_id=%s "
                         "backend=%s last_event_id=%s retry_ms=%ld",
                         c->rid, w->name, c->resume_id, wait);
            return;
        }
        if (!c->answered) {
            call_failf(c, GW_RPC_INTERNAL_ERROR,
                       "backend %s ended the event stream without a response", w->name);
            return;
        }
        call_end(c, 0, NULL, 0);
        return;
    case CTYPE_JSON:
        if (x->body.len == 0) {
            call_failf(c, GW_RPC_INTERNAL_ERROR, "backend %s answered HTTP %ld without a body",
                       w->name, x->status);
            return;
        }
        call_chunk(c, x->body.data, x->body.len);
        c->answered = 1;
        call_end(c, 0, NULL, 0);
        return;
    default:
        call_failf(c, GW_RPC_INTERNAL_ERROR,
                   "backend %s answered HTTP %ld with an unexpected content type", w->name,
                   x->status);
        return;
    }
}

static const xfer_ops_t call_ops = {
    .on_head = call_on_head,
    .on_event = call_on_event,
    .on_done = call_on_done,
};

/* The backend timeout of a call: servers[].tool_timeouts for a tools/call of a tool listed
 * there, else servers[].timeout. The body is scanned only when the server has such a list. */
static uint64_t call_timeout_ms(const call_t *c)
{
    const gw_server_conf_t *srv = c->w->srv;
    gw_rpc_t rpc;

    if (srv->ntool_timeouts == 0 || !gw_str_eq(c->env.method, "tools/call") ||
        gw_rpc_scan(c->env.body.ptr, c->env.body.len, 0, &rpc) != GW_OK || rpc.name.len == 0 ||
        rpc.name_too_long) {
        return srv->timeout_ms;
    }
    return gw_server_tool_timeout_ms(srv, rpc.name_str, strlen(rpc.name_str));
}

/* The transfer timeout for the call's next exchange with the backend: its own timeout, cut to
 * the caller's deadline; 0 (and the call answered) when the deadline has passed. */
static uint64_t call_time_left(call_t *c)
{
    uint64_t timeout = call_timeout_ms(c);
    if (c->env.deadline_ms != 0) {
        int64_t left = c->env.deadline_ms - gw_clock_ms();
        if (left <= 0) {
            call_failf(c, GW_RPC_TIMEOUT, "backend %s timed out after %" PRId64 " ms", c->w->name,
                       gw_clock_ms() - c->received_ms);
            return 0;
        }
        if ((uint64_t)left < timeout) {
            timeout = (uint64_t)left;
        }
    }
    return timeout;
}

static void call_run(call_t *c)
{
    wrk_t *w = c->w;
    upstream_t *up = c->up;
    uint64_t timeout = call_time_left(c);
    xfer_req_t rq;
    gw_err_t err;

    if (timeout == 0) {
        return;
    }
    rq = (xfer_req_t){
        .method = "POST",
        .body = c->env.body.ptr,
        .len = c->env.body.len,
        .sid = up->sid,
        .proto = up->proto,
        .rid = c->rid,
        .timeout_ms = timeout,
    };
    call_set_state(c, CALL_RUNNING);
    c->sent_sid = up->sid != NULL;
    if ((err = xfer_start(&c->x, &rq)) != GW_OK) {
        call_failf(c, GW_RPC_INTERNAL_ERROR, "backend %s: cannot start the request: %s", w->name,
                   gw_strerror(err));
    }
}

/* Resumes the response streams that are due: GET with Last-Event-ID on the same upstream
 * session; the events go on into the same reply. Returns when the next one is due. */
static int64_t resumes_tick(wrk_t *w, int64_t now)
{
    int64_t next = INT64_MAX;
    for (link_t *l = w->resuming.next; l != &w->resuming;) {
        call_t *c = container_of(l, call_t, qlink);
        l = l->next;
        if (now < c->resume_ms) {
            next = c->resume_ms < next ? c->resume_ms : next;
            continue;
        }
        list_remove(&c->qlink);
        uint64_t timeout = call_time_left(c);
        if (timeout == 0) {
            continue;
        }
        c->resumes++;
        xfer_req_t rq = {
            .method = "GET",
            .sid = c->up->sid,
            .proto = c->up->proto,
            .rid = c->rid,
            .last_event_id = c->resume_id,
            .timeout_ms = timeout,
        };
        gw_err_t err = xfer_start(&c->x, &rq);
        if (err != GW_OK) {
            call_failf(c, GW_RPC_INTERNAL_ERROR, "backend %s: cannot resume the event stream: %s",
                       w->name, gw_strerror(err));
        }
    }
    return next;
}

/* Runs the call on its gateway session's upstream session, creating that lazily: the first
 * call starts initialize, the others queue behind it (single flight). */
static void call_dispatch(call_t *c)
{
    wrk_t *w = c->w;
    upstream_t *up = c->up;

    if (up == NULL) {
        up = sessmap_find(w, c->env.session.ptr, c->env.session.len);
        if (up == NULL) {
            up = session_create(w, c->env.session.ptr, c->env.session.len, c->env.proto,
                                c->env.caps);
            if (up == NULL || sessmap_insert(w, up) != GW_OK) {
                if (up != NULL) {
                    session_unref(up);
                }
                call_failf(c, GW_RPC_INTERNAL_ERROR, "backend %s: out of memory", w->name);
                return;
            }
            session_unref(up); /* the map holds it now */
        }
        up->refs++;
        c->up = up;
    }
    switch (up->state) {
    case UP_READY:
        call_run(c);
        return;
    case UP_NONE:
        call_set_state(c, CALL_WAITING);
        list_append(&up->waiting, &c->qlink);
        session_start(up, c->rid); /* may fail c right here */
        return;
    case UP_INITIALIZING:
        call_set_state(c, CALL_WAITING);
        list_append(&up->waiting, &c->qlink);
        return;
    case UP_FAILED:
        break;
    }
    call_failf(c, GW_RPC_INTERNAL_ERROR, "backend %s: upstream session unusable", w->name);
}

/* A gateway session uuid becomes a map key and a log field: visible ASCII, bounded. */
static int session_key_valid(gw_str_t s)
{
    if (s.len > WRK_KEY_MAX) {
        return 0;
    }
    for (size_t i = 0; i < s.len; i++) {
        if (s.ptr[i] < 0x21 || s.ptr[i] > 0x7e || s.ptr[i] == '"' || s.ptr[i] == '\\') {
            return 0;
        }
    }
    return 1;
}

/* Takes ownership of msg (env points into it). */
static void call_accept(wrk_t *w, nng_msg *msg, const gw_envelope_t *env)
{
    gw_outbox_t *out = outbox_for(w, env->origin);
    call_t *c = out != NULL ? calloc(1, sizeof(*c)) : NULL;

    if (c == NULL) {
        char rid[WRK_RID_MAX + 1];
        gw_log_warn("msg=\"call dropped\" backend=%s error=\"out of memory\" request_id=%s",
                    w->name, env_rid(rid, env));
        nng_msg_free(msg);
        return;
    }
    c->w = w;
    c->msg = msg;
    c->env = *env;
    c->out = out;
    c->received_ms = gw_clock_ms();
    list_init(&c->qlink);
    list_init(&c->blink);
    list_init(&c->outq);
    list_append(&w->calls, &c->link);
    copy_token(c->rid, sizeof(c->rid), env->request_id.ptr, env->request_id.len);
    xfer_init(&c->x, w, &call_ops);
    gw_log_debug("msg=\"call received\" request_id=%s backend=%s method=%.*s session=%.*s", c->rid,
                 w->name, (int)env->method.len, env->method.ptr,
                 (int)(env->session.len > WRK_KEY_MAX ? WRK_KEY_MAX : env->session.len),
                 env->session.ptr);

    if (w->stopping) {
        call_failf(c, GW_RPC_BACKEND_UNAVAILABLE, "backend %s unavailable: worker shutting down",
                   w->name);
        return;
    }
    if (!session_key_valid(env->session)) {
        call_failf(c, GW_RPC_INVALID_REQUEST, "invalid gateway session id");
        return;
    }
    if (env->deadline_ms != 0 && gw_clock_ms() >= env->deadline_ms) {
        call_failf(c, GW_RPC_TIMEOUT, "backend %s timed out after 0 ms", w->name);
        return;
    }
    call_dispatch(c);
}

/* Sends what nng refused earlier; pauses the transfers of calls still backlogged (backpressure
 * from slow callers) and resumes the others. */
static void backlog_flush(wrk_t *w)
{
    link_t *l;

    l = w->backlog.next;
    while (l != &w->backlog) {
        call_t *c = container_of(l, call_t, blink);
        l = l->next;
        while (!list_empty(&c->outq) && !c->lost) {
            outmsg_t *m = container_of(c->outq.next, outmsg_t, link);
            gw_err_t err;
            if (!out_admit(c->out)) {
                break;
            }
            err = call_send_now(c, m->kind, m->status, m->flags, m->body, m->len);
            if (send_retryable(err)) {
                break;
            }
            if (err != GW_OK) {
                gw_log_warn("msg=\"reply lost\" request_id=%s backend=%s error=\"%s\"", c->rid,
                            w->name, gw_strerror(err));
                c->lost = 1;
                break;
            }
            list_remove(&m->link);
            free(m);
        }
        if (c->lost) {
            call_outq_clear(c);
        }
        if (!list_empty(&c->outq)) {
            xfer_set_paused(&c->x, 1);
            continue;
        }
        list_remove(&c->blink);
        if (c->state == CALL_DONE) {
            call_destroy(c);
            continue;
        }
        xfer_set_paused(&c->x, 0);
    }
}

/* Fails queued calls whose deadline passed; returns the earliest deadline still ahead. */
static int64_t sweep_waiting(wrk_t *w, int64_t now)
{
    int64_t next = INT64_MAX;

    for (link_t *il = w->initializing.next; il != &w->initializing; il = il->next) {
        upstream_t *up = container_of(il, upstream_t, ilink);
        link_t *l = up->waiting.next;
        while (l != &up->waiting) {
            call_t *c = container_of(l, call_t, qlink);
            l = l->next;
            if (c->env.deadline_ms == 0) {
                continue;
            }
            if (now >= c->env.deadline_ms) {
                list_remove(&c->qlink);
                call_failf(c, GW_RPC_TIMEOUT, "backend %s timed out after %" PRId64 " ms", w->name,
                           now - c->received_ms);
            } else if (c->env.deadline_ms < next) {
                next = c->env.deadline_ms;
            }
        }
    }
    return next;
}

/* ---- control operations from the broker ---- */

static void reply_end(wrk_t *w, const gw_envelope_t *req, uint32_t status)
{
    gw_envelope_t e;
    gw_err_t err;

    memset(&e, 0, sizeof(e));
    e.kind = GW_ENV_END;
    e.corr = req->corr;
    e.status = status;
    e.request_id = req->request_id;
    if ((err = out_send(w, outbox_for(w, req->origin), &e)) != GW_OK) {
        char rid[WRK_RID_MAX + 1];
        gw_log_warn("msg=\"reply lost\" backend=%s method=%.*s error=\"%s\" request_id=%s", w->name,
                    (int)req->method.len, req->method.ptr, gw_strerror(err), env_rid(rid, req));
    }
}

static void handle_session_close(wrk_t *w, const gw_envelope_t *env)
{
    upstream_t *up = NULL;
    level_t *lv =
        session_key_valid(env->session) ? level_find(w, env->session.ptr, env->session.len) : NULL;
    if (lv != NULL) {
        level_drop(w, lv);
    }
    for (link_t *l = w->srvreqs.next; l != &w->srvreqs;) {
        srvreq_t *r = container_of(l, srvreq_t, link);
        l = l->next;
        if (gw_str_eq(env->session, r->key)) {
            srvreq_drop(w, r);
        }
    }

    if (session_key_valid(env->session)) {
        up = sessmap_find(w, env->session.ptr, env->session.len);
    }
    if (up != NULL) {
        env_rid(up->rid, env); /* the DELETE to the backend carries it */
        gw_log_debug("msg=\"upstream session closing\" backend=%s session=%s state=%d "
                     "request_id=%s",
                     w->name, up->key, (int)up->state, up->rid);
        if (up->state == UP_READY) {
            session_send_delete(up);
        } else {
            up->close_requested = 1; /* DELETE once initialize has given us an id */
        }
        session_detach(up);
    }
    reply_end(w, env, 200);
}

/* A message for the upstream session of env->session, if this worker has a live one: client
 * notifications (cancelled, roots/list_changed, ...) and logging/setLevel. Never creates an
 * upstream session; a log level waits for the session's first call here. */
static void handle_broadcast(wrk_t *w, const gw_envelope_t *env)
{
    upstream_t *up = session_key_valid(env->session)
                         ? sessmap_find(w, env->session.ptr, env->session.len)
                         : NULL;
    int is_level = gw_str_eq(env->method, "logging/setLevel");
    if (up != NULL && up->state == UP_READY) {
        char rid[WRK_RID_MAX + 1];
        session_post(up, env->body.ptr, env->body.len, env_rid(rid, env));
        return;
    }
    if (!is_level || !session_key_valid(env->session)) {
        return; /* a notification about requests this backend never saw */
    }
    level_t *lv = level_find(w, env->session.ptr, env->session.len);
    if (lv == NULL) {
        if (w->nlevels >= WRK_LEVELS_MAX || (lv = calloc(1, sizeof(*lv))) == NULL) {
            return;
        }
        memcpy(lv->key, env->session.ptr, env->session.len);
        lv->key[env->session.len] = '\0';
        gw_buf_init(&lv->body);
        list_append(&w->levels, &lv->link);
        w->nlevels++;
    }
    gw_buf_reset(&lv->body);
    gw_buf_append(&lv->body, env->body.ptr, env->body.len);
}

/* The client's answer (a JSON-RPC response whose id is one of ours) to a server request: back to
 * the backend with the backend's own id, on the upstream session it came from. */
static void handle_client_response(wrk_t *w, const gw_envelope_t *env)
{
    char want[GW_SERVER_NAME_MAX + 16];
    unsigned status = 400;
    const char *why = "no server request with this id is pending";
    snprintf(want, sizeof(want), "\"mcpgw:%s:", w->name);
    size_t wl = strlen(want);
    if (env->rpc_id.len > wl + 1 && memcmp(env->rpc_id.ptr, want, wl) == 0) {
        uint64_t n = strtoull(env->rpc_id.ptr + wl, NULL, 10);
        for (link_t *l = w->srvreqs.next; l != &w->srvreqs; l = l->next) {
            srvreq_t *r = container_of(l, srvreq_t, link);
            if (r->n != n || !gw_str_eq(env->session, r->key)) {
                continue;
            }
            upstream_t *up = sessmap_find(w, r->key, strlen(r->key));
            gw_rpc_t rpc;
            gw_buf_t body;
            gw_buf_init(&body);
            if (up != NULL && up->state == UP_READY &&
                gw_rpc_scan(env->body.ptr, env->body.len, 0, &rpc) == GW_OK && rpc.id.len > 0 &&
                gw_rpc_splice_raw(&body, env->body.ptr, env->body.len, rpc.id, r->id.data,
                                  r->id.len) == GW_OK) {
                char rid[WRK_RID_MAX + 1];
                session_post(up, body.data, body.len, env_rid(rid, env));
                status = 202;
            } else {
                why = "the backend session this request came from is gone";
            }
            gw_buf_fini(&body);
            srvreq_drop(w, r);
            break;
        }
    }
    gw_envelope_t e;
    gw_buf_t b;
    memset(&e, 0, sizeof(e));
    gw_buf_init(&b);
    e.kind = GW_ENV_END;
    e.corr = env->corr;
    e.status = status;
    e.request_id = env->request_id;
    if (status != 202) {
        char rid[WRK_RID_MAX + 1];
        gw_log_info("msg=\"client response refused\" backend=%s reason=\"%s\" request_id=%s",
                    w->name, why, env_rid(rid, env));
    }
    if (status != 202 && gw_rpc_error(&b, NULL, 0, GW_RPC_INVALID_REQUEST, why) == GW_OK) {
        e.body = (gw_str_t){b.data, b.len};
    }
    out_send(w, outbox_for(w, env->origin), &e);
    gw_buf_fini(&b);
}

/* Takes ownership of msg. */
static void handle_request(wrk_t *w, nng_msg *msg, const gw_envelope_t *env)
{
    if (env->kind == GW_ENV_CONTROL && gw_str_eq(env->method, "log-level")) {
        char name[16];
        snprintf(name, sizeof(name), "%.*s", (int)(env->body.len < 15 ? env->body.len : 15),
                 env->body.ptr);
        int level = gw_log_level_parse(name);
        if (level >= 0) {
            gw_log_threshold = level; /* mcpgwctl log-level, relayed by the broker */
        }
        nng_msg_free(msg);
        return;
    }
    if (env->flags & GW_ENV_F_NOREPLY) {
        handle_broadcast(w, env);
        nng_msg_free(msg);
        return;
    }
    if (env->kind == GW_ENV_CALL && env->method.len == 0) {
        handle_client_response(w, env);
        nng_msg_free(msg);
        return;
    }
    if (env->kind == GW_ENV_CALL && !(env->flags & GW_ENV_F_STREAM)) {
        call_accept(w, msg, env);
        return;
    }
    if (env->kind == GW_ENV_CALL) {
        reply_end(w, env, 405); /* no server-to-client stream from this worker yet */
    } else if (env->kind == GW_ENV_CONTROL && gw_str_eq(env->method, "session/close")) {
        handle_session_close(w, env);
    } else if (env->kind == GW_ENV_CONTROL) {
        char rid[WRK_RID_MAX + 1];
        gw_log_warn("msg=\"unknown control operation\" backend=%s method=%.*s request_id=%s",
                    w->name, (int)env->method.len, env->method.ptr, env_rid(rid, env));
        reply_end(w, env, 404);
    } else {
        char rid[WRK_RID_MAX + 1];
        gw_log_warn("msg=\"unexpected envelope dropped\" backend=%s kind=%u request_id=%s", w->name,
                    (unsigned)env->kind, env_rid(rid, env));
    }
    nng_msg_free(msg);
}

/* ---- the catalog ---- */

static void catalog_on_list_done(xfer_t *x, CURLcode rc);

static const xfer_ops_t catalog_list_ops = {
    .on_event = rpc_collect_event,
    .on_done = catalog_on_list_done,
};

static void catalog_clear(wrk_t *w)
{
    catalog_t *cat = &w->cat;

    xfer_cancel(&cat->x);
    xfer_cancel(&cat->hx);
    cat->health_in_flight = 0;
    for (size_t i = 0; i < cat->npages; i++) {
        yajl_tree_free(cat->pages[i]);
    }
    cat->npages = 0;
    cat->ntools = 0;
    cat->list = 0;
    memset(cat->nitems, 0, sizeof(cat->nitems));
    free(cat->cursor);
    cat->cursor = NULL;
    if (cat->up != NULL) {
        upstream_t *up = cat->up;
        cat->up = NULL;
        if (up->state == UP_INITIALIZING) {
            /* the initialization's reference goes with its transfer */
            xfer_cancel(&up->x);
            list_remove(&up->ilink);
            session_unref(up);
        }
        session_unref(up);
    }
}

static void catalog_send(wrk_t *w, const gw_buf_t *body, uint64_t corr)
{
    gw_envelope_t e;
    gw_err_t err;

    memset(&e, 0, sizeof(e));
    e.kind = GW_ENV_CONTROL;
    e.corr = corr;
    e.method = GW_STR("catalog");
    e.body = (gw_str_t){body->data, body->len};
    if ((err = out_send(w, outbox_for(w, GW_STR("broker")), &e)) != GW_OK) {
        gw_log_debug("msg=\"catalog report not sent\" backend=%s error=\"%s\"", w->name,
                     gw_strerror(err));
    }
}

static void catalog_fail(wrk_t *w, const char *reason)
{
    catalog_t *cat = &w->cat;
    gw_buf_t b;
    yajl_gen g;
    char q[512];
    int bad = 0;

    gw_log_warn("msg=\"catalog fetch failed\" backend=%s retry_ms=%d error=\"%s\"", w->name,
                WRK_RETRY_MS, gw_log_quote(q, sizeof(q), reason, strlen(reason)));
    if (cat->up != NULL && cat->up->state == UP_READY) {
        session_send_delete(cat->up);
    }
    catalog_clear(w);
    cat->state = CAT_IDLE;
    cat->next_ms = gw_clock_ms() + WRK_RETRY_MS;

    gw_buf_init(&b);
    if ((g = gw_json_gen_to_buf(&b)) == NULL) {
        gw_buf_fini(&b);
        return;
    }
    bad |= yajl_gen_map_open(g);
    bad |= gw_json_gen_cstr(g, "server");
    bad |= gw_json_gen_cstr(g, w->name);
    bad |= gw_json_gen_cstr(g, "ok");
    bad |= yajl_gen_bool(g, 0);
    bad |= gw_json_gen_cstr(g, "error");
    bad |= gw_json_gen_cstr(g, reason);
    bad |= yajl_gen_map_close(g);
    yajl_gen_free(g);
    if (!bad) {
        catalog_send(w, &b, ++w->next_corr);
    }
    gw_buf_fini(&b);
}

static int catalog_build_report(wrk_t *w, gw_buf_t *out)
{
    catalog_t *cat = &w->cat;
    yajl_val init = cat->up->init_result;
    yajl_val result = gw_json_get(init, "result");
    yajl_val caps = gw_json_get(result, "capabilities");
    yajl_val info = gw_json_get(result, "serverInfo");
    yajl_gen g;
    int bad = 0;

    gw_buf_reset(out);
    if ((g = gw_json_gen_to_buf(out)) == NULL) {
        return -1;
    }
    bad |= yajl_gen_map_open(g);
    bad |= gw_json_gen_cstr(g, "server");
    bad |= gw_json_gen_cstr(g, w->name);
    bad |= gw_json_gen_cstr(g, "ok");
    bad |= yajl_gen_bool(g, 1);
    bad |= gw_json_gen_cstr(g, "error");
    bad |= yajl_gen_null(g);
    bad |= gw_json_gen_cstr(g, "protocolVersion");
    bad |= gw_json_gen_cstr(g, cat->up->proto);
    bad |= gw_json_gen_cstr(g, "capabilities");
    if (caps != NULL && YAJL_IS_OBJECT(caps)) {
        bad |= gw_json_gen(g, caps);
    } else {
        bad |= yajl_gen_map_open(g);
        bad |= yajl_gen_map_close(g);
    }
    bad |= gw_json_gen_cstr(g, "serverInfo");
    bad |= info != NULL ? gw_json_gen(g, info) : yajl_gen_null(g);
    for (size_t l = 0; l < CAT_LISTS; l++) {
        bad |= gw_json_gen_cstr(g, cat_lists[l].key);
        bad |= yajl_gen_array_open(g);
        for (size_t i = 0; i < cat->npages; i++) {
            yajl_val items = gw_json_get(gw_json_get(cat->pages[i], "result"), cat_lists[l].key);
            if (cat->page_list[i] != l || items == NULL || !YAJL_IS_ARRAY(items)) {
                continue; /* checked when the page came in */
            }
            for (size_t j = 0; j < items->u.array.len; j++) {
                bad |= gw_json_gen(g, items->u.array.values[j]);
            }
        }
        bad |= yajl_gen_array_close(g);
    }
    bad |= yajl_gen_map_close(g);
    yajl_gen_free(g);
    return bad ? -1 : 0;
}

static void catalog_report(wrk_t *w)
{
    catalog_t *cat = &w->cat;

    if (catalog_build_report(w, &cat->report) != 0) {
        catalog_fail(w, "cannot generate the catalog report");
        return;
    }
    gw_log_info("msg=\"catalog fetched\" backend=%s tools=%zu prompts=%zu resources=%zu "
                "templates=%zu pages=%zu protocol=%s",
                w->name, cat->nitems[0], cat->nitems[1], cat->nitems[2], cat->nitems[3],
                cat->npages, cat->up->proto);
    /* The trees are in the report now; the session stays for later use. */
    for (size_t i = 0; i < cat->npages; i++) {
        yajl_tree_free(cat->pages[i]);
    }
    cat->npages = 0;
    cat->state = CAT_REPORTING;
    cat->report_corr = ++w->next_corr;
    cat->next_ms = gw_clock_ms() + WRK_RETRY_MS;
    catalog_send(w, &cat->report, cat->report_corr);
}

static void catalog_list(wrk_t *w)
{
    catalog_t *cat = &w->cat;
    xfer_t *x = &cat->x;
    gw_err_t err;
    xfer_req_t rq;

    x->expect_id = ++w->next_rpc_id;
    gw_buf_reset(&x->req);
    err = gw_buf_appendf(&x->req, "{\"jsonrpc\":\"2.0\",\"id\":%" PRIu64 ",\"method\":\"%s\"",
                         x->expect_id, cat_lists[cat->list].method);
    if (err == GW_OK && cat->cursor != NULL) {
        err = gw_buf_appends(&x->req, ",\"params\":{\"cursor\":");
        if (err == GW_OK) {
            err = gw_buf_append_json_string(&x->req, cat->cursor, strlen(cat->cursor));
        }
        if (err == GW_OK) {
            err = gw_buf_appends(&x->req, "}");
        }
    }
    if (err == GW_OK) {
        err = gw_buf_appends(&x->req, "}");
    }
    rq = (xfer_req_t){
        .method = "POST",
        .body = x->req.data,
        .len = x->req.len,
        .sid = cat->up->sid,
        .proto = cat->up->proto,
        .timeout_ms = w->srv->timeout_ms,
    };
    if (err == GW_OK) {
        err = xfer_start(x, &rq);
    }
    if (err != GW_OK) {
        char msg[128];
        snprintf(msg, sizeof(msg), "cannot start %s: %s", cat_lists[cat->list].method,
                 gw_strerror(err));
        catalog_fail(w, msg);
    }
}

/* Does the backend advertise the capability list l needs? */
static int catalog_wants(const catalog_t *cat, size_t l)
{
    yajl_val caps = gw_json_get(gw_json_get(cat->up->init_result, "result"), "capabilities");
    return gw_json_get(caps, cat_lists[l].capability) != NULL;
}

/* Fetches the next list the backend offers, or reports when none is left. */
static void catalog_next_list(wrk_t *w)
{
    catalog_t *cat = &w->cat;

    free(cat->cursor);
    cat->cursor = NULL;
    while (++cat->list < CAT_LISTS) {
        if (catalog_wants(cat, cat->list)) {
            catalog_list(w);
            return;
        }
    }
    catalog_report(w);
}

static void catalog_on_list_done(xfer_t *x, CURLcode rc)
{
    wrk_t *w = x->w;
    catalog_t *cat = &w->cat;
    const struct cat_list *l = &cat_lists[cat->list];
    char msg[512];
    yajl_val tree;
    yajl_val result;
    yajl_val items;
    const char *next;

    if (rpc_outcome(x, rc, l->method, &tree, &result, msg, sizeof(msg)) != 0) {
        catalog_fail(w, msg);
        return;
    }
    items = gw_json_get(result, l->key);
    if (items == NULL || !YAJL_IS_ARRAY(items)) {
        yajl_tree_free(tree);
        snprintf(msg, sizeof(msg), "backend %s answered %s without a %s array", w->name, l->method,
                 l->key);
        catalog_fail(w, msg);
        return;
    }
    if (cat->npages == cat->cappages) {
        size_t n = cat->cappages ? cat->cappages * 2 : 4;
        yajl_val *p = realloc(cat->pages, n * sizeof(*p));
        unsigned char *pl = p != NULL ? realloc(cat->page_list, n) : NULL;
        if (p != NULL) {
            cat->pages = p;
        }
        if (pl == NULL) {
            yajl_tree_free(tree);
            catalog_fail(w, "out of memory");
            return;
        }
        cat->page_list = pl;
        cat->cappages = n;
    }
    cat->page_list[cat->npages] = (unsigned char)cat->list;
    cat->pages[cat->npages++] = tree;
    cat->nitems[cat->list] += items->u.array.len;
    if (cat->list == 0) {
        cat->ntools += items->u.array.len;
    }
    next = gw_json_get_string(result, "nextCursor");
    if (next == NULL || next[0] == '\0') {
        catalog_next_list(w);
        return;
    }
    if (cat->npages >= WRK_CATALOG_PAGES_MAX || (cat->cursor && strcmp(cat->cursor, next) == 0)) {
        snprintf(msg, sizeof(msg), "backend %s paginates %s without end", w->name, l->method);
        catalog_fail(w, msg);
        return;
    }
    free(cat->cursor);
    if ((cat->cursor = strdup(next)) == NULL) {
        catalog_fail(w, "out of memory");
        return;
    }
    catalog_list(w);
}

/* Called when the catalog's upstream session is ready (code 0) or failed. */
static void catalog_on_session(wrk_t *w, int code, const char *msg)
{
    catalog_t *cat = &w->cat;

    if (cat->state != CAT_FETCHING) {
        return;
    }
    if (code != 0) {
        catalog_fail(w, msg);
        return;
    }
    cat->list = 0;
    if (catalog_wants(cat, 0)) {
        catalog_list(w);
    } else {
        cat->list = 0;
        catalog_next_list(w);
    }
}

static void catalog_start(wrk_t *w)
{
    catalog_t *cat = &w->cat;

    catalog_clear(w);
    cat->state = CAT_FETCHING;
    /* Declaring every client capability makes backends list the tools that need one (sampling,
     * elicitation, roots); whether a client may use them is decided per session. */
    if ((cat->up = session_create(w, "", 0, GW_PROTO_LATEST,
                                  GW_CAP_SAMPLING | GW_CAP_ELICITATION | GW_CAP_ROOTS)) == NULL) {
        catalog_fail(w, "out of memory");
        return;
    }
    cat->up->is_catalog = 1;
    session_start(cat->up, NULL);
}

/* A list_changed from the backend: fetch the lists again on the live catalog session (no new
 * initialize), or once more after the fetch under way. */
static void catalog_changed(wrk_t *w)
{
    catalog_t *cat = &w->cat;
    gw_log_info("msg=\"backend lists changed\" backend=%s", w->name);
    if (cat->state != CAT_DONE) {
        cat->again = cat->state != CAT_IDLE; /* an idle catalog starts over anyway */
        return;
    }
    upstream_t *up = cat->up;
    if (up == NULL || up->state != UP_READY) {
        catalog_start(w);
        return;
    }
    cat->up = NULL; /* keep the session (and its reference) through the clear */
    catalog_clear(w);
    cat->up = up;
    cat->state = CAT_FETCHING;
    catalog_on_session(w, 0, NULL);
}

static void catalog_on_broker_reply(wrk_t *w, const gw_envelope_t *e)
{
    catalog_t *cat = &w->cat;

    if (e->kind != GW_ENV_END || cat->state != CAT_REPORTING || e->corr != cat->report_corr) {
        return; /* answers to failure reports, or stale ones */
    }
    if (e->status != 200) {
        gw_log_warn("msg=\"broker refused the catalog\" backend=%s status=%u", w->name,
                    (unsigned)e->status);
        return; /* resent on the timer */
    }
    cat->state = CAT_DONE;
    cat->next_health_ms = gw_clock_ms() + (int64_t)w->srv->health_interval_ms;
    gw_buf_fini(&cat->report);
    gw_log_info("msg=\"catalog reported\" backend=%s tools=%zu", w->name, cat->ntools);
    if (cat->again) {
        cat->again = 0;
        catalog_changed(w);
    }
}

/* Health checks: a ping on the catalog's own live upstream session (never a second
 * initialize on it). A failure reports the backend down (its tools leave the catalog) and starts
 * the catalog again, which reports it up once the backend answers. */
static void health_on_done(xfer_t *x, CURLcode rc)
{
    wrk_t *w = x->w;
    catalog_t *cat = &w->cat;
    char msg[512];
    char why[600];
    yajl_val tree = NULL;
    yajl_val result = NULL;

    cat->health_in_flight = 0;
    if (rpc_outcome(x, rc, "ping", &tree, &result, msg, sizeof(msg)) != 0) {
        snprintf(why, sizeof(why), "health check failed: %s", msg);
        catalog_fail(w, why);
        return;
    }
    yajl_tree_free(tree);
    cat->next_health_ms = gw_clock_ms() + (int64_t)w->srv->health_interval_ms;
}

static const xfer_ops_t health_ops = {
    .on_event = rpc_collect_event,
    .on_done = health_on_done,
};

static void health_start(wrk_t *w)
{
    catalog_t *cat = &w->cat;
    xfer_t *x = &cat->hx;

    x->expect_id = ++w->next_rpc_id;
    gw_buf_reset(&x->req);
    if (gw_buf_appendf(&x->req, "{\"jsonrpc\":\"2.0\",\"id\":%" PRIu64 ",\"method\":\"ping\"}",
                       x->expect_id) != GW_OK) {
        return;
    }
    uint64_t timeout = w->srv->timeout_ms < 10000 ? w->srv->timeout_ms : 10000;
    xfer_req_t rq = {
        .method = "POST",
        .body = x->req.data,
        .len = x->req.len,
        .sid = cat->up->sid,
        .proto = cat->up->proto,
        .timeout_ms = timeout,
    };
    if (xfer_start(x, &rq) == GW_OK) {
        cat->health_in_flight = 1;
    }
}

static int64_t catalog_tick(wrk_t *w, int64_t now)
{
    catalog_t *cat = &w->cat;

    if (w->stopping) {
        return INT64_MAX;
    }
    if (cat->changed) {
        cat->changed = 0;
        catalog_changed(w);
    }
    if (cat->state == CAT_DONE && w->srv->health_interval_ms > 0 && cat->up != NULL) {
        if (!cat->health_in_flight && now >= cat->next_health_ms) {
            health_start(w);
        }
        return cat->health_in_flight ? INT64_MAX : cat->next_health_ms;
    }
    if (cat->state == CAT_IDLE && now >= cat->next_ms) {
        catalog_start(w);
    } else if (cat->state == CAT_REPORTING && now >= cat->next_ms) {
        cat->next_ms = now + WRK_RETRY_MS;
        catalog_send(w, &cat->report, cat->report_corr);
    }
    if (cat->state == CAT_IDLE || cat->state == CAT_REPORTING) {
        return cat->next_ms;
    }
    return INT64_MAX;
}

/* ---- signals ---- */

static void on_signal(int sig)
{
    int saved = errno;
    char ch = (char)sig;

    stop_signal = 1;
    if (sig_pipe_wr >= 0) {
        ssize_t r = write(sig_pipe_wr, &ch, 1);
        (void)r;
    }
    errno = saved;
}

static int signals_setup(wrk_t *w)
{
    struct sigaction sa;
    int fds[2];

    if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) {
        return -1;
    }
    w->sig_fd = fds[0];
    sig_pipe_wr = fds[1];
    memset(&sa, 0, sizeof(sa));
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    return 0;
}

static void signals_teardown(wrk_t *w)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = SIG_DFL;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    if (sig_pipe_wr >= 0) {
        close(sig_pipe_wr);
        sig_pipe_wr = -1;
    }
    if (w->sig_fd >= 0) {
        close(w->sig_fd);
        w->sig_fd = -1;
    }
}

/* ---- the loop ---- */

static void drain_signals(wrk_t *w)
{
    char buf[64];

    while (read(w->sig_fd, buf, sizeof(buf)) > 0) {
    }
    if (stop_signal && !w->stopping) {
        w->stopping = 1;
        w->stop_deadline = gw_clock_ms() + WRK_STOP_GRACE_MS;
        gw_log_info("msg=stopping backend=%s calls_in_flight=%d", w->name, !list_empty(&w->calls));
        catalog_clear(w);
    }
}

/* A call keeps its message for its life: a frame of a batch gets a message of its own. */
static nng_msg *frame_message(gw_str_t frame, gw_envelope_t *env)
{
    nng_msg *m;
    if (nng_msg_alloc(&m, frame.len) != 0) {
        return NULL;
    }
    memcpy(nng_msg_body(m), frame.ptr, frame.len);
    if (gw_env_decode(nng_msg_body(m), nng_msg_len(m), env) != GW_OK) {
        nng_msg_free(m);
        return NULL;
    }
    return m;
}

static void on_inbox_envelope(void *arg, const gw_envelope_t *env, gw_str_t frame)
{
    wrk_t *w = arg;
    if (env->kind == GW_ENV_HEAD || env->kind == GW_ENV_CHUNK || env->kind == GW_ENV_END) {
        /* a reply to this worker's own request: the broker answering a catalog report */
        if (gw_str_eq(env->origin, "broker")) {
            catalog_on_broker_reply(w, env);
        }
        return;
    }
    gw_envelope_t own_env;
    nng_msg *own = frame_message(frame, &own_env);
    if (own == NULL) {
        char rid[WRK_RID_MAX + 1];
        gw_log_warn("msg=\"call dropped\" backend=%s error=\"out of memory\" request_id=%s",
                    w->name, env_rid(rid, env));
        return;
    }
    handle_request(w, own, &own_env);
}

static void drain_inbox(wrk_t *w)
{
    gw_ipc_drain_inbox(w->inbox, on_inbox_envelope, w, WRK_RECV_BATCH);
}

static void process_done(wrk_t *w)
{
    CURLMsg *m;
    int left;

    while ((m = curl_multi_info_read(w->multi, &left)) != NULL) {
        if (m->msg == CURLMSG_DONE) {
            xfer_complete(w, m->easy_handle, m->data.result);
        }
    }
}

static int loop_timeout(wrk_t *w, int64_t now, int64_t next)
{
    int64_t wait = WRK_IDLE_POLL_MS;

    if (w->stopping && w->stop_deadline < next) {
        next = w->stop_deadline;
    }
    if (next != INT64_MAX) {
        wait = next - now < 0 ? 0 : next - now;
    }
    if (!list_empty(&w->backlog) && wait > WRK_BACKLOG_POLL_MS) {
        wait = WRK_BACKLOG_POLL_MS;
    }
    return wait > WRK_IDLE_POLL_MS ? WRK_IDLE_POLL_MS : (int)wait;
}

static void run(wrk_t *w)
{
    int64_t next = 0;

    for (;;) {
        struct curl_waitfd fds[2 + WRK_OUTBOXES];
        unsigned nfds = 2;
        int64_t now = gw_clock_ms();
        int running = 0;
        CURLMcode mc;

        if (w->stopping &&
            ((list_empty(&w->calls) && list_empty(&w->closers) && list_empty(&w->posts)) ||
             now >= w->stop_deadline)) {
            return;
        }
        memset(fds, 0, sizeof(fds));
        fds[0].fd = gw_ipc_recv_fd(w->inbox);
        fds[0].events = CURL_WAIT_POLLIN;
        fds[1].fd = w->sig_fd;
        fds[1].events = CURL_WAIT_POLLIN;
        for (size_t i = 0; i < w->out.n && nfds < sizeof(fds) / sizeof(fds[0]); i++) {
            if (w->out.v[i]->count > 0) { /* readable once nng can take more */
                fds[nfds].fd = gw_outbox_send_fd(w->out.v[i]);
                fds[nfds++].events = CURL_WAIT_POLLIN;
            }
        }
        mc = curl_multi_poll(w->multi, fds, nfds, loop_timeout(w, now, next), NULL);
        if (mc != CURLM_OK) {
            gw_log_warn("msg=\"poll failed\" backend=%s error=\"%s\"", w->name,
                        curl_multi_strerror(mc));
        }
        if (fds[1].revents != 0 || (stop_signal && !w->stopping)) {
            drain_signals(w);
        }
        drain_inbox(w);
        posts_start(w);
        curl_multi_perform(w->multi, &running);
        process_done(w);
        posts_start(w);
        backlog_flush(w);
        gw_outboxes_flush(&w->out); /* the end of the turn: batches go out */
        now = gw_clock_ms();
        next = sweep_waiting(w, now);
        {
            int64_t cat_next = catalog_tick(w, now);
            int64_t streams_next = streams_tick(w, now);
            int64_t guard_next = gw_ipc_guard_tick(&w->inbox_guard, now);
            int64_t resume_next = resumes_tick(w, now);
            if (resume_next < next) {
                next = resume_next;
            }
            if (guard_next < next) {
                next = guard_next;
            }
            if (cat_next < next) {
                next = cat_next;
            }
            if (streams_next < next) {
                next = streams_next;
            }
        }
    }
}

/* Answers what is still in flight when the grace period ends. */
static void abort_calls(wrk_t *w)
{
    link_t *l = w->calls.next;

    while (l != &w->calls) {
        call_t *c = container_of(l, call_t, link);
        l = l->next;
        if (c->state != CALL_DONE) {
            xfer_cancel(&c->x);
            list_remove(&c->qlink);
            call_failf(c, GW_RPC_BACKEND_UNAVAILABLE,
                       "backend %s call aborted: worker shutting down", w->name);
        }
    }
    backlog_flush(w);
}

/* ---- setup and teardown ---- */

static struct curl_slist *headers_add(struct curl_slist *list, const char *line, int *bad)
{
    struct curl_slist *l;

    if (*bad) {
        return list;
    }
    if ((l = curl_slist_append(list, line)) == NULL) {
        *bad = 1;
        return list;
    }
    return l;
}

/* The headers every request carries: fixed ones, then the server's configured headers. */
static int headers_build(wrk_t *w)
{
    const gw_server_conf_t *srv = w->srv;
    int bad = 0;
    char line[1024];

    w->post_hdrs = headers_add(w->post_hdrs, "Content-Type: application/json", &bad);
    w->post_hdrs = headers_add(w->post_hdrs, "Accept: application/json, text/event-stream", &bad);
    w->post_hdrs = headers_add(w->post_hdrs, "Expect:", &bad); /* no 100-continue round trip */
    w->plain_hdrs = headers_add(w->plain_hdrs, "Accept: application/json, text/event-stream", &bad);
    for (size_t i = 0; i < srv->nheaders; i++) {
        const gw_header_t *h = &srv->headers[i];
        /* "Name;" is how libcurl sends a header with an empty value */
        int n = h->value[0] ? snprintf(line, sizeof(line), "%s: %s", h->name, h->value)
                            : snprintf(line, sizeof(line), "%s;", h->name);
        if (n < 0 || (size_t)n >= sizeof(line)) {
            gw_log_err("msg=\"configured header too long\" backend=%s header=%s", w->name, h->name);
            return -1;
        }
        w->post_hdrs = headers_add(w->post_hdrs, line, &bad);
        w->plain_hdrs = headers_add(w->plain_hdrs, line, &bad);
    }
    return bad ? -1 : 0;
}

static int wrk_init(wrk_t *w, gw_config_t *cfg, const gw_server_conf_t *srv)
{
    char url[GW_IPC_URL_MAX];
    gw_err_t err;

    memset(w, 0, sizeof(*w));
    w->cfg = cfg;
    w->srv = srv;
    w->name = srv->name;
    w->sig_fd = -1;
    list_init(&w->initializing);
    list_init(&w->calls);
    list_init(&w->backlog);
    list_init(&w->closers);
    list_init(&w->posts);
    list_init(&w->srvreqs);
    list_init(&w->levels);
    list_init(&w->relisten);
    list_init(&w->resuming);
    gw_buf_init(&w->cat.report);
    xfer_init(&w->cat.x, w, &catalog_list_ops);
    xfer_init(&w->cat.hx, w, &health_ops);

    if (signals_setup(w) != 0) {
        gw_log_err("msg=\"cannot create the signal pipe\" backend=%s error=\"%s\"", w->name,
                   strerror(errno));
        return -1;
    }
    if ((w->multi = curl_multi_init()) == NULL || headers_build(w) != 0) {
        gw_log_err("msg=\"cannot set up libcurl\" backend=%s", w->name);
        return -1;
    }
    snprintf(w->inbox_name, sizeof(w->inbox_name), "worker-%s", w->name);
    if ((err = gw_ipc_url(url, sizeof(url), cfg->runtime_dir, w->inbox_name)) != GW_OK ||
        (err = gw_ipc_inbox(&w->inbox, url)) != GW_OK) {
        gw_log_err("msg=\"cannot listen\" backend=%s url=%s error=\"%s\"", w->name, url,
                   gw_strerror(err));
        return -1;
    }
    w->inbox_open = 1;
    gw_ipc_guard_init(&w->inbox_guard, w->inbox, url, 0);
    gw_outboxes_init(&w->out, cfg->runtime_dir, WRK_OUTBOX_MAX_QUEUED);
    if (outbox_for(w, GW_STR("broker")) == NULL) {
        return -1;
    }
    gw_log_info("msg=started backend=%s url=%s timeout_ms=%" PRIu64, w->name, srv->url,
                srv->timeout_ms);
    return 0;
}

static void closers_free(link_t *list)
{
    while (!list_empty(list)) {
        closer_t *cl = container_of(list->next, closer_t, link);
        list_remove(&cl->link);
        xfer_fini(&cl->x);
        free(cl);
    }
}

static void wrk_fini(wrk_t *w)
{
    while (!list_empty(&w->calls)) {
        call_destroy(container_of(w->calls.next, call_t, link));
    }
    catalog_clear(w);
    xfer_fini(&w->cat.x);
    xfer_fini(&w->cat.hx);
    free(w->cat.pages);
    free(w->cat.page_list);
    gw_buf_fini(&w->cat.report);
    while (!list_empty(&w->srvreqs)) {
        srvreq_drop(w, container_of(w->srvreqs.next, srvreq_t, link));
    }
    while (!list_empty(&w->levels)) {
        level_drop(w, container_of(w->levels.next, level_t, link));
    }
    closers_free(&w->closers);
    closers_free(&w->posts);
    while (!list_empty(&w->initializing)) {
        upstream_t *up = container_of(w->initializing.next, upstream_t, ilink);
        xfer_cancel(&up->x);
        list_remove(&up->ilink);
        session_unref(up);
    }
    for (size_t i = 0; i < w->nbuckets; i++) {
        while (w->buckets[i] != NULL) {
            session_detach(w->buckets[i]);
        }
    }
    free(w->buckets);
    if (w->multi != NULL) {
        curl_multi_cleanup(w->multi);
    }
    while (w->nidle > 0) {
        curl_easy_cleanup(w->idle[--w->nidle]);
    }
    curl_slist_free_all(w->post_hdrs);
    curl_slist_free_all(w->plain_hdrs);
    if (w->inbox_open) {
        nng_close(w->inbox);
        gw_ipc_guard_fini(&w->inbox_guard);
    }
    gw_outboxes_fini(&w->out);
    signals_teardown(w);
}

static void usage(FILE *f)
{
    fprintf(f, "usage: mcpgw-worker -c CONFIG --server NAME [--metrics-slot N]\n"
               "\n"
               "Serves one backend MCP server of the mcpgw gateway: started by mcpgw-broker.\n"
               "\n"
               "  -c, --config CONFIG  the mcpgw.yaml to load\n"
               "  -s, --server NAME    the configured server (servers[].name) to serve\n"
               "  -h, --help           show this help\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"server", required_argument, NULL, 's'},
        {"metrics-slot", required_argument, NULL, 'm'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *path = NULL;
    const char *name = NULL;
    gw_config_t *cfg = NULL;
    const gw_server_conf_t *srv;
    char err[512];
    char proc[GW_SERVER_NAME_MAX + 16];
    wrk_t w;
    int opt;
    int rc = 1;
    long slot = -1;

    while ((opt = getopt_long(argc, argv, "c:s:m:h", opts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            path = optarg;
            break;
        case 's':
            name = optarg;
            break;
        case 'm':
            slot = strtol(optarg, NULL, 10);
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (path == NULL || name == NULL || optind != argc) {
        usage(stderr);
        return 2;
    }
    if (gw_config_load(path, &cfg, err, sizeof(err)) != GW_OK) {
        fprintf(stderr, "mcpgw-worker: %s\n", err);
        return 1;
    }
    if ((srv = gw_config_server(cfg, name)) == NULL) {
        fprintf(stderr, "mcpgw-worker: %s: no server named \"%s\"\n", path, name);
        gw_config_destroy(cfg);
        return 1;
    }
    snprintf(proc, sizeof(proc), "worker.%s", srv->name);
    gw_log_setup(proc, cfg->log_level);
    gw_log_set_json(cfg->log_json);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        gw_log_err("msg=\"cannot initialise libcurl\" backend=%s", srv->name);
        gw_config_destroy(cfg);
        return 1;
    }
    gw_metrics_slot_t *m = NULL;
    if (slot >= 0) {
        char mpath[GW_IPC_URL_MAX + 16];
        snprintf(mpath, sizeof(mpath), "%s/metrics", cfg->runtime_dir);
        if (gw_metrics_attach(mpath, (unsigned)slot, proc, &m) != GW_OK) {
            gw_log_warn("msg=\"running without metrics\" path=%s", mpath);
        }
    }
    if (wrk_init(&w, cfg, srv) == 0) {
        w.m = m;
        run(&w);
        if (!list_empty(&w.calls)) {
            abort_calls(&w);
            gw_outboxes_flush(&w.out);
        }
        gw_log_info("msg=stopped backend=%s", w.name);
        rc = 0;
    }
    wrk_fini(&w);
    curl_global_cleanup();
    gw_config_destroy(cfg);
    nng_fini();
    return rc;
}
