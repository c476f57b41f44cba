/* worker.h: what the files of mcpgw-worker share: the worker context (wrk_t), the transfers,
 * upstream sessions, calls and catalog it holds, and the functions one file offers the others. */
#ifndef MCPGW_WORKER_WORKER_H
#define MCPGW_WORKER_WORKER_H

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>
#include <nng/nng.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "common/buf.h"
#include "common/config.h"
#include "common/envelope.h"
#include "common/err.h"
#include "common/mailbox.h"
#include "common/jsonrpc.h"
#include "common/lists.h"
#include "common/mcp.h"
#include "common/metrics.h"
#include "common/names.h"
#include "common/signals.h"
#include "common/sse.h"
#include "common/xmcpheader.h"
#include "worker/meta.h"
#include "worker/mrtr.h"
#include "worker/mrtr_rounds.h"
#include "worker/result_shape.h"
#include "worker/sessmap.h"

/* A reply body must fit one envelope under the receivers' NNG_OPT_RECVMAXSZ, with room for the
 * envelope's other fields. */
#define WRK_RETRY_MS 2000            /* catalog retry and report resend interval */
#define WRK_STOP_GRACE_MS 2000       /* how long in-flight calls may finish after SIGTERM */
#define WRK_SID_MAX 255              /* longest upstream Mcp-Session-Id accepted */
#define WRK_RID_MAX 64               /* longest x-request-id passed on */
#define WRK_RID_HDR "x-request-id: " /* xfer_t.rid_hdr: this and the request id, or "" */
#define WRK_KEY_MAX 64               /* longest gateway session uuid text accepted */
/* longest upstream session key: a gateway session uuid, or a pooled key (worker/pool.c):
 * "n:" 16 hex ":" 64 hex ":" caps ":" level */
#define WRK_UPKEY_MAX 112
#define WRK_IDLE_EASY_MAX 64 /* easy handles kept for reuse */
#define WRK_CATALOG_PAGES_MAX 1000
/* A list_changed refetches the catalog no sooner than this after the last refetch began: a backend
 * that floods list_changed costs the broker (which parses every report) one report a second. */
#define WRK_CATALOG_REFETCH_MS 1000
#define WRK_RECV_READS 16                 /* reads of one caller's connection per loop turn */
#define WRK_BACKLOG_POLL_MS 10            /* safety net: the outboxes' fds wake the loop first */
#define WRK_OUTBOXES 128                  /* distinct callers (routers, the broker) replied to */
#define WRK_OUTBOX_MAX_BYTES (256u << 20) /* what waits for one caller at most */
#define WRK_IDLE_POLL_MS 1000
#define WRK_EPOLL_EVENTS 256     /* events taken from epoll per loop turn */
#define WRK_PUMP_MAX 16          /* rounds of timers and completions per loop turn */
#define WRK_STREAM_RETRY_MS 2000 /* an upstream GET stream that ended is opened again after */
#define WRK_STREAM_WAIT_MS 1000  /* the first calls wait this long at most for the GET stream */
#define WRK_RESUMES_MAX 8        /* a response stream is resumed at most this often */
#define WRK_RESUME_WAIT_MAX_MS 10000
/* Posts to the backend (refusals, client answers, notifications): at most this many in flight
 * per worker and per upstream session, at most this many queued or in flight per session, and
 * at most this many (and bytes) queued per worker; more are dropped (closer.c). */
#define WRK_POSTS_INFLIGHT_MAX 16u
#define WRK_POSTS_SESSION_INFLIGHT_MAX 4u
#define WRK_POSTS_SESSION_MAX 64u
#define WRK_POSTS_QUEUED_MAX 1024u
#define WRK_POSTS_QUEUED_BYTES_MAX ((size_t)16 << 20)

typedef struct wrk wrk_t;
typedef struct xfer xfer_t;
typedef struct upstream upstream_t;
typedef struct call call_t;
typedef struct wrk_listen_sub wrk_listen_sub_t; /* listen.c */
typedef struct wrk_mlisten wrk_mlisten_t;       /* listen_modern.c */
typedef struct wrk_multi wrk_multi_t;

/* ---- intrusive lists ---- */

typedef struct link {
    struct link *prev;
    struct link *next;
} link_t;

static inline void list_init(link_t *head)
{
    head->prev = head;
    head->next = head;
}

static inline int list_empty(const link_t *head)
{
    return head->next == head;
}

static inline void list_append(link_t *head, link_t *l)
{
    l->prev = head->prev;
    l->next = head;
    head->prev->next = l;
    head->prev = l;
}

/* Unlinks l and leaves it pointing at itself, so removing twice is harmless. */
static inline void list_remove(link_t *l)
{
    l->prev->next = l->next;
    l->next->prev = l->prev;
    list_init(l);
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
    int stream; /* a POST whose answer stays open (an upstream subscriptions/listen): held with
                   the GET streams, outside limits.max_connections */
} xfer_req_t;

struct xfer {
    wrk_t *w;
    const xfer_ops_t *ops;
    CURL *easy;      /* non-NULL while the transfer is in a multi */
    wrk_multi_t *mx; /* the multi it is in: GETs in w->streams, the rest in w->requests */
    int paused;
    /* request */
    struct curl_slist hdrs[4]; /* per-transfer headers, chained in front of the shared ones */
    /* the Mcp-Method, Mcp-Name and Mcp-Param-* headers of a request to a 2026-07-28 backend
     * (worker/modern.c; owned, mhdrs_n nodes), chained between hdrs and the shared ones */
    struct curl_slist *mhdrs;
    size_t mhdrs_n;
    char lei_hdr[sizeof("Last-Event-ID: ") + GW_SSE_ID_MAX];
    char sid_hdr[sizeof("Mcp-Session-Id: ") + WRK_SID_MAX];
    char proto_hdr[64];
    char rid_hdr[sizeof(WRK_RID_HDR) + WRK_RID_MAX];
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
    int want_sid; /* sid and sid_bad are read: the request had no Mcp-Session-Id (initialize) */
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
    wrk_sessmap_entry_t hentry; /* in w->sessions while in_map (its gw_hnode_t); key: key */
    link_t ilink;               /* in w->initializing while UP_INITIALIZING */
    unsigned refs; /* the map, each attached call, the running initialization, the catalog */
    up_state_t state;
    int in_map;
    int is_catalog; /* the worker's own session for the catalog */
    int modern;     /* it speaks 2026-07-28 (no initialize, no session): from wrk_upstream_start */
    int close_requested; /* session/close arrived during initialization */
    int init_step;       /* 0: initialize in flight, 1: notifications/initialized in flight */
    char key[WRK_UPKEY_MAX + 1];
    char rid[WRK_RID_MAX + 1]; /* the request that started it, then the one that closed it */
    gw_proto_t want_proto;
    uint8_t caps;
    char *sid;            /* upstream Mcp-Session-Id (owned); NULL for a stateless server */
    char proto[16];       /* negotiated protocol version */
    yajl_val init_result; /* catalog session only: the InitializeResult tree */
    link_t waiting;       /* calls queued until UP_READY */
    link_t calls;         /* call_t.ulink: every call attached (c->up), found by a cancel */
    xfer_t x;
    xfer_t gx; /* the GET stream of server-initiated messages, while open */
    char gx_last_id[GW_SSE_ID_MAX + 1]; /* its last event id: the next one resumes after it */
    link_t rlink; /* in w->relisten while its GET stream waits to be opened again */
    int64_t relisten_ms;
    int subscribed; /* the client subscribed to a resource here: its GET stream stays open */
    int gx_head;    /* the GET stream's answer began */
    link_t swlink;  /* in w->stream_waits while its first calls wait for the GET stream */
    int64_t stream_wait_ms;
    unsigned posts;          /* its posts queued or in flight (closer.c), each a reference */
    unsigned posts_inflight; /* of which with libcurl */
    int posts_dropping;      /* posts were dropped since it last had none: logged once */
    int has_logging;         /* initialize's answer offered logging */
    /* The log level of its caller: a pooled session's key's (sent with logging/setLevel after
     * initialize), or for a 2026-07-28 backend the session's last logging/setLevel (sent in
     * every request's _meta); "" for none. */
    char level[16];
    int pooled;          /* a pooled session of 2026-07-28 callers (worker/pool.c) */
    link_t plink;        /* in w->pool while pooled and in the map, least recently used first */
    int64_t last_use_ms; /* pooled: when a call last started or ended on it */
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
    link_t outq;  /* replies that wait while the caller's outbox is backed up */
    call_state_t state;
    upstream_t *up; /* a reference */
    link_t ulink;   /* in up->calls while up is set */
    nng_msg *msg;   /* owns the bytes env points into */
    gw_envelope_t env;
    gw_outbox_t *out; /* to the caller's inbox (env.origin) */
    char rid[WRK_RID_MAX + 1];
    int64_t received_ms;
    int64_t received_us; /* the same, in gw_clock_us(): the backend latency histogram */
    int retried;         /* already sent again after a 404 */
    int sent_sid;        /* the POST carried an upstream session id */
    int head_sent;
    int head_held;         /* a JSON reply's HEAD, held to go out with the body in one message */
    uint32_t answer_flags; /* GW_ENV_F_INPUT_REQUIRED: the answer's chunk (or held HEAD) has it */
    uint32_t held_status;
    gw_buf_t held_body;  /* the JSON body, while the HEAD is held */
    gw_buf_t named_body; /* the body with the backend's own tool name, when renamed (env.body) */
    int answered;        /* the response to env.rpc_id went out */
    int fail_code;       /* the JSON-RPC error the gateway answered for the backend (0: none) */
    int bad_answer;      /* the wrk_answer_t that refused what the backend sent (0: none) */
    int shape_refused;   /* the wrk_shape_rc_t that refused the response for the caller's era
                            (0: none; call_shape.c), answered from on_done */
    int lost;            /* replies cannot reach the caller any more */
    int resumes;         /* times its event stream was resumed with GET and Last-Event-ID */
    char resume_id[GW_SSE_ID_MAX + 1];
    int64_t resume_ms; /* when to resume (the backend's retry advice) */
    gw_buf_t up_body;  /* the body sent upstream when it is not env.body (_meta spliced, MRTR
                          fields removed) */
    /* MRTR (worker/mrtr_call.c): its parked-call slot, or NULL; the JSON-RPC id its request
     * went upstream with once a retry took its place (empty before); the first router call's
     * message, which the upstream POST's body points into, kept after a retry; the HEAD sent
     * only with the first reply (a call that may park: row 20 can still be a 400); why the
     * transfer was stopped from its callback (WRK_MRTR_REFUSE_*) and the capability wanted;
     * the backend answered while parked */
    wrk_wait_t *wait;
    gw_buf_t up_id;
    nng_msg *body_msg;
    int head_lazy;
    int mrtr_refuse;
    char mrtr_need[16];
    int mrtr_ended;
    struct wrk_rounds *rounds; /* a 2026-07-28 backend asked for input (mrtr_rounds.c), or NULL */
    xfer_t x;
};

/* ---- the catalog ---- */

typedef enum cat_state {
    CAT_IDLE = 0,  /* waiting for next_ms to (re)start */
    CAT_FETCHING,  /* initialize, then tools/list pages */
    CAT_REPORTING, /* report sent; resent every WRK_RETRY_MS until the broker's END */
    CAT_DONE,
} cat_state_t;

/* One catalog per client capability set (GW_CAP_* bits: 8 sets), the default set first. */
#define WRK_CAP_SETS 8u
#define WRK_CAP_SET_MASK 0x07u
#define WRK_CAP_SET_DEFAULT 0u /* no client capability: fetched at start, health-checked */

typedef struct catalog {
    struct wrk *w;
    uint8_t caps; /* the capability set its session declares (its index in wrk_t.cat) */
    cat_state_t state;
    upstream_t *up;           /* its own upstream session (a reference), not in the map */
    xfer_t x;                 /* the list request under way */
    size_t list;              /* the list being fetched (gw_list_t) */
    yajl_val *pages;          /* each list response tree */
    unsigned char *page_list; /* which list each page belongs to */
    size_t npages;
    size_t cappages;
    size_t ntools;
    size_t nitems[GW_NLISTS];
    size_t page_bytes; /* the pages' answers together: bounded like the report they make */
    char *cursor;
    gw_buf_t report;
    uint64_t report_corr;
    int64_t next_ms;
    xfer_t hx; /* the health check (ping) under way */
    int health_in_flight;
    int64_t next_health_ms; /* when CAT_DONE: the next ping */
    int again;              /* a list changed while fetching: fetch once more when done */
    int changed; /* a backend said a list changed, inside a curl callback: wrk_catalog_tick acts */
    int64_t refetch_ms;      /* no refetch for a list_changed before (WRK_CATALOG_REFETCH_MS) */
    unsigned char *shadowed; /* per servers[].tools rename: dropped for the backend's own tool */
    size_t xmcp_left_out;    /* tools of its last report left out: invalid x-mcp-header */
} catalog_t;

/* ---- libcurl multis on the loop's epoll set ---- */

/* One libcurl multi driven by curl_multi_socket_action: its sockets are on w->ep (tagged with
 * tag), its timer is timer_ms. Each multi has its own connection cache, so the long-lived GET
 * streams never take the connections calls need. */
struct wrk_multi {
    wrk_t *w;
    CURLM *m;
    uint32_t tag;     /* the epoll tag of its sockets (WRK_EV_*) */
    int64_t timer_ms; /* when libcurl wants CURL_SOCKET_TIMEOUT; -1: no timer */
};

/* What an epoll event is for: the tag in the high 32 bits of data.u64, an fd or an index in the
 * low ones. */
#define WRK_EV_INBOX 1u
#define WRK_EV_SIGNAL 2u
#define WRK_EV_OUTBOX 3u   /* low bits: the index in w->out.v */
#define WRK_EV_REQUESTS 4u /* low bits: a socket of w->requests */
#define WRK_EV_STREAMS 5u  /* low bits: a socket of w->streams */

/* ---- the process ---- */

/* The backend's era (docs/design-2026-07-28.md §7.2): decided by worker/era.c's probe of
 * server/discover on start, after a failure and after a reload. */
typedef enum wrk_era {
    WRK_ERA_UNKNOWN = 0, /* not probed yet, or the probe failed (the backend is down) */
    WRK_ERA_LEGACY,      /* 2025 revisions: initialize and Mcp-Session-Id */
    WRK_ERA_MODERN,      /* 2026-07-28: stateless POSTs carrying _meta and the Mcp-* headers */
    WRK_ERA_DUAL, /* both: discover names 2026-07-28 and initialize is accepted; each call takes
                   * its caller's era (wrk_era_of_call), the catalog comes the 2025 way */
} wrk_era_t;

/* The server/discover probe (worker/era.c). */
typedef enum wrk_probe_state {
    WRK_PROBE_DUE = 0, /* to run at next_ms */
    WRK_PROBE_RUNNING,
    WRK_PROBE_DONE, /* the era is known; probed again after a failure or a reload */
} wrk_probe_state_t;

typedef struct wrk_probe {
    wrk_probe_state_t state;
    int retried;       /* the one probe again after a -32022 naming 2026-07-28 was made */
    int reported;      /* an outcome was logged: the next one is logged only when it differs */
    int dual_check;    /* discover named 2026-07-28: the catalog session's initialize says dual */
    int recheck;       /* a dual backend refused initialize: the next discover checks again */
    wrk_era_t verdict; /* the last era decided (not WRK_ERA_UNKNOWN once there was one) */
    gw_probe_t outcome;
    long long rpc_code;
    int64_t next_ms;
    int64_t done_ms; /* when the last probe's answer came */
    int64_t backoff_ms;
    yajl_val discover; /* modern: the backend's last server/discover answer (a tree, owned) */
    link_t waiting;    /* calls that came before the first verdict (call.qlink) */
    xfer_t x;
} wrk_probe_t;

/* A backend tool's x-mcp-header declarations (worker/catalog.c keeps them for the calls). */
typedef struct wrk_xtool {
    char *name; /* the backend's own name (owned) */
    size_t n;
    gw_xmcp_decl_t *v; /* owned */
} wrk_xtool_t;

struct wrk {
    gw_config_t *cfg;
    wrk_era_t era;
    wrk_probe_t probe;
    wrk_xtool_t *xtools; /* the backend's tools that declare x-mcp-header, sorted by name */
    size_t nxtools;
    link_t pool;     /* pooled upstream sessions (upstream.plink), least recently used first */
    wrk_mrtr_t mrtr; /* calls parked for their 2026-07-28 caller's input (worker/mrtr_call.c) */
    size_t npooled;
    const gw_server_conf_t *srv;
    const char *name;
    const char *url; /* where requests go: srv->url, or tls_url */
    char *tls_url;   /* srv->url with tls.server_name as its host (curl_free), or NULL */
    struct curl_slist *tls_connect_to; /* then CURLOPT_CONNECT_TO: to the url's own host */
    gw_name_t inbox_name;              /* gw_worker_inbox(name) */
    gw_inbox_t inbox; /* worker-NAME.ipc: calls from routers, the broker's controls and replies */
    int inbox_open;
    gw_outboxes_t out;             /* to callers' inboxes, opened on first use */
    int ep;                        /* the loop's epoll set */
    wrk_multi_t requests;          /* POSTs and DELETEs: at most srv->max_connections connections */
    wrk_multi_t streams;           /* GETs: upstream GET streams and resumed response streams */
    size_t out_watched;            /* outboxes w->out.v[0..out_watched) are on the epoll set */
    CURL *idle[WRK_IDLE_EASY_MAX]; /* easy handles with the shared options set (backend_http.c) */
    size_t nidle;
    CURLU *curlu; /* the backend's url (w->url), parsed once; every easy handle points to it */
    int https;    /* w->url is https: */
    struct curl_slist *post_hdrs;  /* shared headers of every POST */
    struct curl_slist *plain_hdrs; /* shared headers of a DELETE */
    wrk_sessmap_t sessions;        /* gateway session uuid -> upstream session */
    link_t initializing;           /* upstream sessions in UP_INITIALIZING */
    link_t calls;
    link_t backlog;
    link_t closers;
    link_t posts;                /* wrk_closer_post()s to start from the loop (closer_t) */
    unsigned posts_queued;       /* on posts */
    size_t posts_queued_bytes;   /* their bodies */
    unsigned posts_inflight;     /* started, on closers */
    catalog_t cat[WRK_CAP_SETS]; /* per capability set; only the wanted ones are fetched */
    unsigned cat_wanted;         /* bit s: the broker asked for set s (the default always) */
    link_t srvreqs;              /* server-initiated requests waiting for the client's answer */
    size_t nsrvreqs;
    uint64_t next_srvreq;
    link_t relisten;         /* upstream sessions whose GET stream opens again soon */
    wrk_sessmap_t listeners; /* sessions whose client holds its GET stream (session/listen) */
    link_t stream_waits;     /* new sessions whose calls wait for their GET stream (swlink) */
    link_t resuming;         /* calls whose response stream the backend closed early (call.qlink) */
    link_t input_waits;      /* calls waiting for the client's answers to input (call.qlink) */
    link_t levels;           /* logging/setLevel of sessions without an upstream session yet */
    size_t nlevels;
    /* URIs 2026-07-28 listens subscribed here, and when their pooled sessions are touched next
     * (listen.c) */
    wrk_listen_sub_t *listen_subs;
    int64_t listen_touch_ms;
    /* upstream listens on a 2026-07-28 backend (listen_modern.c) */
    wrk_mlisten_t *mlistens;
    gw_metrics_slot_t *m; /* this worker's metrics slot, or NULL */
    uint64_t next_corr;
    uint64_t next_rpc_id;
    int tasks; /* the backend offers tasks (its catalog session's capabilities) */
    int stopping;
    int64_t stop_deadline;
    gw_signals_t sigs; /* SIGTERM and SIGINT, through the self-pipe of common/signals */
};

/* ---- backend_http.c: HTTP transfers (loop thread only, never from inside a libcurl callback
 * unless said) ---- */

/* Prepares x (embedded in its owner) for transfers handled by ops; allocates nothing. */
void wrk_xfer_init(xfer_t *x, wrk_t *w, const xfer_ops_t *ops);
/* Takes the transfer out of libcurl without calling on_done. */
void wrk_xfer_cancel(xfer_t *x);
/* Cancels and frees what x holds (x itself is its owner's). */
void wrk_xfer_fini(xfer_t *x);
/* Frees the buffers of an idle x (request, answer, event parser), which stays usable: what an
 * idle upstream session keeps is then only its own record. */
void wrk_xfer_trim(xfer_t *x);
/* Starts an HTTP request to the backend. On GW_OK ops->on_done will be called from the loop
 * (never from inside this call); on failure nothing was started. rq's strings are borrowed. */
gw_err_t wrk_xfer_start(xfer_t *x, const xfer_req_t *rq);
/* Pauses or resumes receiving (backpressure); resuming may deliver data right here. */
void wrk_xfer_set_paused(xfer_t *x, int paused);
/* Describes a failed transfer for a JSON-RPC error: 0 when it completed, else the code with msg
 * filled in. */
int wrk_xfer_failure(const xfer_t *x, CURLcode rc, char *msg, size_t len);
/* Hands every finished transfer of both multis to its on_done. */
void wrk_xfer_complete_done(wrk_t *w);
/* Tells libcurl about readiness (CURL_CSELECT_* in flags) of socket fd of the multi tagged tag. */
void wrk_xfer_socket_ready(wrk_t *w, uint32_t tag, int fd, int flags);
/* Runs the multis' timers that are due at now; returns the earliest one still ahead. */
int64_t wrk_xfer_run_timers(wrk_t *w, int64_t now);
/* When libcurl next wants a timeout action (INT64_MAX: never); transfers just added are due at
 * once. */
int64_t wrk_xfer_next_timer(const wrk_t *w);

/* ---- backend_tls.c: servers[].tls (loop thread only) ---- */

/* Sets w->url: the server's url, or with tls.server_name its host rewritten (and the connect-to
 * that still reaches the url's host); logs the backend's TLS settings. */
gw_err_t wrk_tls_setup(wrk_t *w);
/* Frees what wrk_tls_setup made. */
void wrk_tls_teardown(wrk_t *w);
/* Sets servers[].tls's options on easy handle e; nonzero when libcurl refused one. */
int wrk_tls_setopts(const wrk_t *w, CURL *e);
/* The words for a transfer that failed with rc in TLS ("TLS certificate verify failed"), or
 * NULL when it was not a TLS failure. */
const char *wrk_tls_describe(const xfer_t *x, CURLcode rc);
/* Counts (mcpgw_backend_tls_failures_total) and logs a transfer that failed in TLS; nothing for
 * any other end. Called once per finished transfer. */
void wrk_tls_note_failure(const xfer_t *x, CURLcode rc);

/* Creates the multis on w->ep (created first) and the shared headers (fixed ones, then the
 * server's). */
gw_err_t wrk_xfer_setup(wrk_t *w);
/* Frees the multis, the idle easy handles and the shared headers. */
void wrk_xfer_teardown(wrk_t *w);

/* ---- rpc.c: the answers to the worker's own JSON-RPC requests ---- */

/* on_event of the worker's own requests: keeps the response to x->expect_id in x->body. */
gw_err_t wrk_rpc_collect_event(xfer_t *x, const char *data, size_t len);
/* Judges the answer to a request the worker made itself. Returns 0 with *tree (the caller's,
 * free with yajl_tree_free) and *result (inside it), or a JSON-RPC error code with msg. */
int wrk_rpc_outcome(xfer_t *x, CURLcode rc, const char *what, yajl_val *tree, yajl_val *result,
                    char *msg, size_t len);

/* ---- upstream.c: upstream sessions ---- */

/* The upstream session of gateway session key (n bytes) in the map, or NULL. */
upstream_t *wrk_upstream_find(wrk_t *w, const char *key, size_t n);
/* Puts up in the map, which takes a reference; GW_ENOMEM when there is no room. */
gw_err_t wrk_upstream_insert(wrk_t *w, upstream_t *up);
/* Takes up out of the map and drops the map's reference (up may be freed). */
void wrk_upstream_detach(upstream_t *up);
/* Detaches every session in the map and frees the map (at exit). */
void wrk_upstream_detach_all(wrk_t *w);
/* A new session for key (n bytes, at most WRK_KEY_MAX) with one reference, the caller's; NULL
 * when out of memory. */
upstream_t *wrk_upstream_create(wrk_t *w, const char *key, size_t n, gw_proto_t proto,
                                uint8_t caps);
/* Drops a reference; the last one frees up. */
void wrk_upstream_unref(upstream_t *up);
/* Starts initialize on a new session; the session takes a reference for it. May fail the
 * session (and its waiting calls) before returning. */
void wrk_upstream_start(upstream_t *up, const char *rid);
/* The backend forgot the session (404): later calls initialize a new one. */
void wrk_upstream_lost(upstream_t *up);

/* ---- closer.c: fire-and-forget requests on upstream sessions ---- */

/* Queues a POST of body (copied) on up, started from the loop; the result is only logged. rid:
 * the client's request it is sent for ("" or NULL for none). GW_ETOOBIG: a bound of the queue
 * was full and the post was dropped (counted and logged). */
gw_err_t wrk_closer_post(upstream_t *up, const char *body, size_t len, const char *rid);
/* Starts the posts wrk_closer_post() queued (loop only, outside libcurl callbacks). */
void wrk_closer_start_posts(wrk_t *w);
/* DELETEs the backend's session (x-request-id: up->rid); the result is only logged. */
gw_err_t wrk_closer_delete(upstream_t *up);
/* Frees every request on list (w->closers or w->posts) at exit. */
void wrk_closer_free_all(link_t *list);

/* ---- levels.c: logging/setLevel of sessions without an upstream session yet ---- */

/* Keeps body (copied) as session key's log level; GW_ETOOBIG when too many are kept. */
gw_err_t wrk_level_keep(wrk_t *w, gw_str_t key, gw_str_t body);
/* Forgets session key's kept log level, if any. */
void wrk_level_forget(wrk_t *w, const char *key, size_t n);
/* Posts the kept log level of up's session on up, and forgets it. */
void wrk_level_apply_pending(upstream_t *up);
/* Forgets every kept log level (at exit). */
void wrk_levels_fini(wrk_t *w);
/* The rank of a LoggingLevel name (debug 0 .. emergency 7), or -1 for another word. */
int wrk_level_rank(const char *level, size_t n);
/* A logging/setLevel message's level into out; 0 when it has none that is a LoggingLevel. */
int wrk_level_take(const char *body, size_t len, char out[16]);

/* ---- reply.c: what goes back to callers ---- */

/* The outbox to inbox name (opened on first use), or NULL. */
gw_outbox_t *wrk_reply_outbox(wrk_t *w, gw_str_t name);
/* Sends e (from this worker's inbox) through o; GW_ENOTFOUND when o is NULL. */
gw_err_t wrk_reply_send_env(wrk_t *w, gw_outbox_t *o, gw_envelope_t *e);
/* Frees the call's queued replies and takes it off the backlog. */
void wrk_reply_clear(call_t *c);
/* Starts the call's reply; a JSON one (no GW_ENV_F_SSE) is held to go out with its body. */
void wrk_reply_head(call_t *c, uint32_t status, uint32_t flags);
/* Sends one CHUNK of the reply (task ids rewritten), or keeps it for the held HEAD. */
void wrk_reply_chunk(call_t *c, const char *body, size_t len);
/* Ends the reply stream. c is destroyed here unless replies are still queued; do not touch it
 * afterwards. */
void wrk_reply_end(call_t *c, uint32_t status, const char *body, size_t len);
/* Ends the call the client cancelled: no response, its queued replies dropped, an END flagged
 * GW_ENV_F_CANCELLED; destroyed here unless that END queues. */
void wrk_reply_cancelled(call_t *c, const char *cancel_rid);
/* Answers the call with a JSON-RPC error (a HEAD-less END for a notification) and ends it. */
void wrk_reply_fail(call_t *c, int code, const char *msg);
/* wrk_reply_fail with a formatted message. */
void wrk_reply_failf(call_t *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Sends what waited for a backed-up outbox; pauses the transfers of calls still backlogged. */
void wrk_reply_flush_backlog(wrk_t *w);
/* Answers a control request with an END of status. */
void wrk_reply_control_end(wrk_t *w, const gw_envelope_t *req, uint32_t status);

/* ---- tasks.c: task ids ---- */

/* Writes into out the message with its task ids (and, for a tasks/list answer, its nextCursor)
 * made the gateway's; returns 0 when there was nothing to change. next names the backend whose
 * tasks come after this one's in tasks/list (NULL: none). */
int wrk_tasks_rewrite(wrk_t *w, const char *data, size_t len, int list_reply, gw_str_t next,
                      gw_buf_t *out);

/* ---- srvreq.c: server-to-client requests ---- */

/* A request from the backend for the client of session key: written to out with a gateway id,
 * or refused to the backend on up. Returns 1 when the event was consumed (nothing to relay). */
int wrk_srvreq_relay(wrk_t *w, upstream_t *up, gw_str_t key, uint8_t caps, const char *rid,
                     const char *data, size_t len, const gw_rpc_t *rpc, gw_buf_t *out);
/* The client's answer to a server request: back to the backend with its own id; answers the
 * caller with an END (202, or 400 with a JSON-RPC error). */
void wrk_srvreq_answer(wrk_t *w, const gw_envelope_t *env);
/* Forgets the pending server requests of session key. */
void wrk_srvreq_forget_session(wrk_t *w, gw_str_t key);
/* Forgets every pending server request (at exit). */
void wrk_srvreq_fini(wrk_t *w);
/* input requests of a 2026-07-28 backend's call (mrtr_rounds.c): a gateway id, and forgetting */
gw_err_t wrk_srvreq_add_call(wrk_t *w, call_t *c, uint64_t *n, char *gid, size_t gid_size);
void wrk_srvreq_forget_call(wrk_t *w, const call_t *c);

/* ---- stream.c: upstream GET streams ---- */

/* The transfer ops of an upstream session's GET stream (up->gx). */
extern const xfer_ops_t wrk_stream_ops;
/* Opens the GET stream of a ready upstream session while it is needed (wrk_stream_wanted); none
 * for a stateless backend. */
void wrk_stream_start(upstream_t *up);
/* Is up's GET stream needed: the catalog's session, a client holding its own GET stream, or
 * resource subscriptions on it? */
int wrk_stream_wanted(const upstream_t *up);
/* session/listen (on) or session/unlisten of gateway session key from the broker: opens or
 * closes the GET stream of its upstream session, now or when it is created. */
void wrk_stream_listen(wrk_t *w, gw_str_t key, int on);
/* The client subscribed to a resource on up: its GET stream stays open for the session's life. */
void wrk_stream_subscribed(upstream_t *up);
/* A session just ready whose GET stream is opening keeps its waiting calls until the stream's
 * answer begins (at most WRK_STREAM_WAIT_MS), so what the backend sends there at once is heard.
 * Returns 1 when it kept them (they run from wrk_stream_tick), 0 when they may run now. */
int wrk_stream_hold_calls(upstream_t *up);
/* Opens again the GET streams that are due; returns when the next one is. */
int64_t wrk_stream_tick(wrk_t *w, int64_t now);
/* Forgets every listening session (at exit). */
void wrk_stream_listeners_fini(wrk_t *w);

/* Closes up's GET stream when nobody needs it any more (wrk_stream_wanted). */
void wrk_stream_stop_unneeded(upstream_t *up);

/* ---- listen.c: resource subscriptions of 2026-07-28 listens ---- */

/* listen/subscribe (env: session the listen's name, body one URI, the caller's headers and caps)
 * or listen/drop (session the listen's name) from the broker. */
void wrk_listen_control(wrk_t *w, const gw_envelope_t *env);
/* A notification on pooled session up's GET stream: a resources/updated a listen wants goes to
 * the broker for it; anything else is dropped (nobody listens for it). */
void wrk_listen_on_notification(upstream_t *up, const char *data, size_t len, const gw_rpc_t *rpc);
/* Tells the broker that listen lkey's subscriptions here are in place ("listen/ready"). */
void wrk_listen_ready(wrk_t *w, const char *lkey);
/* Keeps the pooled sessions with subscriptions from idling out; returns when it is due next. */
int64_t wrk_listen_tick(wrk_t *w, int64_t now);
void wrk_listen_fini(wrk_t *w);

/* ---- listen_modern.c: upstream subscriptions/listen on a 2026-07-28 backend ---- */

/* uri joins the upstream listen of the broker's listen env->session (made on first use with the
 * caller's caps and log level), opened again with it from the next tick. */
void wrk_listen_modern_add(wrk_t *w, const gw_envelope_t *env, const char *uri, const char *rid);
/* The broker's listen lkey ended: its upstream listen closes. */
void wrk_listen_modern_drop(wrk_t *w, gw_str_t lkey);
/* Opens the upstream listens that are due; returns when the next one is. */
int64_t wrk_listen_modern_tick(wrk_t *w, int64_t now);
void wrk_listen_modern_fini(wrk_t *w);

/* ---- call.c: calls from routers ---- */

/* Moves c to state to (asserts the transition). */
void wrk_call_set_state(call_t *c, call_state_t to);
/* Frees c and drops its upstream session reference. */
void wrk_call_destroy(call_t *c);
/* Runs the call on its gateway session's upstream session, creating that lazily (single
 * flight). May answer and destroy c before returning. */
void wrk_call_dispatch(call_t *c);
/* Sends the call to the backend again, as it is now (an MRTR retry: mrtr_rounds.c). */
void wrk_call_retry(call_t *c);
/* call_http_error.c: whether c's non-2xx answer says the backend lost its session (a call not
 * executed: retried once), and the relay of any other non-2xx answer to the client. */
int wrk_call_session_rejected(const call_t *c);
void wrk_call_relay_http_error(call_t *c);
/* A call envelope from a router: takes ownership of msg (env points into it). */
void wrk_call_accept(wrk_t *w, nng_msg *msg, const gw_envelope_t *env);
/* A client's notifications/cancelled (env): the calls of its session with that request id end
 * without an answer and their transfers stop. Returns how many. */
size_t wrk_call_cancel(wrk_t *w, const gw_envelope_t *env);
/* Resumes the response streams that are due; returns when the next one is. */
int64_t wrk_call_resumes_tick(wrk_t *w, int64_t now);
/* Fails queued calls whose deadline passed; returns the earliest deadline still ahead. */
int64_t wrk_call_sweep_waiting(wrk_t *w, int64_t now);
/* Answers what is still in flight when the grace period ends. */
void wrk_call_abort_all(wrk_t *w);

/* ---- inbox.c: envelopes in ---- */

/* Keeps the visible ASCII of a peer-supplied id (it goes into an HTTP header and log lines). */
void wrk_inbox_copy_token(char *out, size_t outlen, const char *s, size_t n);
/* The request id an envelope carries, fit for log lines and headers (out: WRK_RID_MAX + 1). */
const char *wrk_inbox_rid(char *out, const gw_envelope_t *env);
/* Is s usable as a gateway session key (visible ASCII, at most WRK_KEY_MAX)? */
int wrk_inbox_key_valid(gw_str_t s);
/* Takes the envelopes waiting in the inbox and handles them. */
void wrk_inbox_drain(wrk_t *w);

/* ---- catalog.c and health.c: the backend's catalog and health checks ---- */

/* Prepares the catalogs (and the health check) of w, the default set wanted; allocates nothing. */
void wrk_catalog_init(wrk_t *w);
/* Frees everything the catalogs hold. */
void wrk_catalog_fini(wrk_t *w);
/* Cancels every catalog's transfers, drops their pages and their upstream sessions. */
void wrk_catalog_clear(wrk_t *w);
/* Reports the default set's catalog failed (the backend down) to the broker and retries every
 * set after WRK_RETRY_MS. */
void wrk_catalog_fail(wrk_t *w, const char *reason);
/* The broker needs the lists for clients with capability set caps (GW_CAP_*): fetched from the
 * loop, then kept fresh like the default set's; nothing when already wanted. */
void wrk_catalog_want(wrk_t *w, uint8_t caps);
/* A catalog's upstream session up is ready (code 0) or failed. */
void wrk_catalog_on_session(upstream_t *up, int code, const char *msg);
/* The broker's answer to a catalog report. */
void wrk_catalog_on_broker_reply(wrk_t *w, const gw_envelope_t *e);
/* A list_changed arrived (maybe inside a libcurl callback): the refetch starts from the loop. */
void wrk_catalog_note_changed(wrk_t *w);
/* Starts, resends, refetches and health-checks what is due; returns when the next thing is. */
int64_t wrk_catalog_tick(wrk_t *w, int64_t now);
/* Prepares the health check's transfer; allocates nothing. */
void wrk_health_init(wrk_t *w);
/* Sends a ping on the catalog's upstream session. */
gw_err_t wrk_health_start(wrk_t *w);

/* ---- tool_names.c: servers[].tools applied ---- */

/* Works out which of the server's renames the backend's own tools shadow, from cat's tool pages,
 * before its report is generated. GW_ENOMEM, or GW_OK. */
gw_err_t wrk_tool_names_prepare(catalog_t *cat);
/* Generates tool (one item of cat's tools pages) as clients see it: renamed, or nothing when
 * hidden or shadowed (a warning and a count). Returns nonzero when the generator failed. */
int wrk_tool_names_gen(catalog_t *cat, yajl_gen g, yajl_val tool);
/* A tools/call's params.name mapped to the backend's own name (c->env.body then points into
 * c->named_body). Returns 1 when c was answered instead: -32602 "Unknown tool: NAME" for a name
 * no exposed tool has, or an out-of-memory error. */
int wrk_tool_names_call(call_t *c);

/* ---- loop.c: the event loop and signals ---- */

/* Creates the epoll set and opens the signal self-pipe for SIGTERM and SIGINT (common/signals;
 * SIGPIPE ignored), on the epoll set. */
gw_err_t wrk_loop_setup(wrk_t *w);
/* Puts the inbox (open) on the epoll set. */
gw_err_t wrk_loop_watch_inbox(wrk_t *w);
/* Restores the default handlers, closes the self-pipe and the epoll set. */
void wrk_loop_teardown(wrk_t *w);
/* Runs until stopped (a signal) and the calls in flight are done or the grace period is over. */
void wrk_loop_run(wrk_t *w);

/* The functions of the files that serve the two protocol eras. */
#include "worker/eras.h"

#endif
