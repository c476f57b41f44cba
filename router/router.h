/* router.h: the router's context (rtr_t) and the types its files share: peers, calls in flight,
 * batches, sessions in use, and where an answer goes (rtr_sink_t). */
#ifndef MCPGW_ROUTER_ROUTER_H
#define MCPGW_ROUTER_ROUTER_H

#include <netinet/in.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <h2o.h>
#include <yajl/yajl_tree.h>

#include "common/buf.h"
#include "common/config.h"
#include "common/envelope.h"
#include "common/err.h"
#include "common/htable.h"
#include "common/mailbox.h"
#include "common/jsonrpc.h"
#include "common/mcp.h"
#include "common/metrics.h"
#include "common/names.h"
#include "common/policy.h"
#include "common/rate.h"
#include "common/revoked.h"
#include "common/signals.h"
#include "common/token.h"
#include "router/routes.h"

#define RTR_BROKER_TIMEOUT_MS 30000 /* gateway-level methods are answered by the broker itself */
#define RTR_DEADLINE_GRACE_MS 1000  /* the router's own timer fires this long after the hop's */
#define RTR_MAX_LISTENERS 16
#define RTR_REQUEST_ID_MAX 64

typedef struct rtr rtr_t;
typedef struct rtr_peer rtr_peer_t;
typedef struct rtr_call rtr_call_t;
typedef struct rtr_batch rtr_batch_t;
typedef struct rtr_session_use rtr_session_use_t;
typedef struct rtr_timeout_list rtr_timeout_list_t;
typedef struct rtr_auth rtr_auth_t;
typedef struct rtr_auth_cache rtr_auth_cache_t;

/* Who sent the request being handled: its verified bearer token's sub and issuer (auth.c); all
 * zero without auth. A session is bound to it (its token carries both). */
typedef struct rtr_caller {
    char subject[GW_SUBJECT_MAX];
    uint8_t issuer_tag[GW_ISSUER_TAG_LEN];
    int authenticated;
    gw_policy_rules_t rules; /* the policy rules its token meets (the anonymous ones without) */
    unsigned view;           /* its policy view from those and its address (policy.c) */
    unsigned endpoint;       /* the path it came to: 0 mcp_path, n endpoints[n - 1] */
} rtr_caller_t;

/* A verified bearer token (auth_cache.c), by the SHA-256 of its text. */
typedef struct rtr_auth_entry {
    uint8_t hash[32];
    int64_t exp; /* unix seconds (exp plus leeway) it is good until; 0: a free slot */
    uint8_t issuer_tag[GW_ISSUER_TAG_LEN];
    char subject[GW_SUBJECT_MAX];
    int scopes_ok;           /* it holds every scope of auth.required_scopes */
    gw_policy_rules_t rules; /* the policy rules its claims meet, matched once at verification */
} rtr_auth_entry_t;

/* A process the router sends to: the broker or one worker. */
struct rtr_peer {
    rtr_t *rtr;
    char name[GW_NAME_MAX];  /* its inbox: GW_BROKER_NAME or gw_worker_inbox(server) */
    gw_outbox_t out;         /* to the peer's inbox */
    h2o_socket_t *send_sock; /* the outbox's fd: the peer hung up, or room for what waits */
    h2o_linklist_t calls;    /* rtr_call_t.peer_link, in flight to this peer */
    rtr_peer_t *next;
};

/* Links an h2o request (freed by h2o whenever it likes) to what answers it (a call or a batch):
 * when the request goes, the owner's req and guard become NULL; when the owner goes first, it
 * clears the guard's pointers. */
typedef struct rtr_req_guard {
    h2o_req_t **req;
    struct rtr_req_guard **guard;
    void (*gone)(void *owner); /* optional: told after the client went away first */
    void *owner;
} rtr_req_guard_t;

/* A batch of a 2025-03-26 session: every message is handled as if it came alone; the answers
 * are collected and sent as one JSON array once the last one is in (202 when none is). */
struct rtr_batch {
    rtr_t *rtr;
    h2o_req_t *req; /* NULL once the client has gone */
    rtr_req_guard_t *guard;
    size_t pending; /* messages not answered yet */
    size_t nanswers;
    int building;           /* still going through the messages */
    size_t nlimited;        /* answers that are limits.rate refusals */
    uint64_t retry_after_s; /* the longest Retry-After of those, for the batch's response */
    gw_buf_t out;           /* "[" and the answers so far, comma-separated */
};

/* Where the answer to one JSON-RPC message goes: to the client (batch NULL), or collected into
 * the batch the message is part of (req is then the batch's request). */
typedef struct rtr_sink {
    h2o_req_t *req;
    rtr_batch_t *batch;
} rtr_sink_t;

/* The sink answering req itself. */
#define RTR_TO_CLIENT(req) ((rtr_sink_t){(req), NULL})

typedef enum rtr_call_state {
    RTR_CALL_WAITING,   /* sent; nothing received yet */
    RTR_CALL_STREAMING, /* an SSE response has started */
} rtr_call_state_t;

/* A request sent to a peer and waiting for (the rest of) its replies. */
struct rtr_call {
    rtr_t *rtr;
    uint64_t corr;
    rtr_peer_t *peer;
    h2o_linklist_t peer_link;
    gw_hnode_t node; /* in rtr_t.calls, hashed by corr */
    h2o_req_t *req;  /* NULL once the client has gone */
    rtr_req_guard_t *guard;
    h2o_generator_t gen;
    h2o_timeout_entry_t timer;
    rtr_call_state_t state;
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
    char audit_subject[GW_SUBJECT_MAX];
    unsigned audit_view; /* the caller's policy view, which let the call through */
    char request_id[RTR_REQUEST_ID_MAX + 1]; /* for every log line about this call */
    rtr_batch_t *batch; /* the batch this call answers a message of (req is NULL then) */
    int stream;         /* a client's GET stream (held open by the broker) */
    int listen;         /* of those, a 2026-07-28 subscriptions/listen (stream.c) */
    char stream_session[GW_UUID_TEXT_LEN + 1];
    const char *outcome;     /* NULL: answered by the peer; else why the gateway answered */
    rtr_session_use_t *use;  /* the session's count this call holds a place in, or NULL */
    h2o_linklist_t use_link; /* in use->calls while use is set */
    int cancelled;          /* notifications/cancelled: ending without an answer, replies ignored */
    h2o_linklist_t h1_link; /* in rtr_t.h1_calls: a modern call over HTTP/1.x (h1_gone.c) */
    /* A 2026-07-28 call (GW_ENV_F_MODERN): its client cancels by going away, and the worker is
     * told so with the caller it matches the call by (worker/pool.c). */
    int modern;
    int modern_authenticated;
    char modern_subject[GW_SUBJECT_MAX];
    uint8_t modern_issuer_tag[GW_ISSUER_TAG_LEN];
    gw_buf_t body;    /* JSON: the body; SSE: events not yet handed to h2o */
    gw_buf_t sending; /* SSE: the bytes h2o is writing now */
};

/* A session this router has seen lately: its requests in flight, held against
 * limits.max_concurrent_requests_per_session, and whether a request came since the last activity
 * report to the broker (which ends sessions idle for sessions.idle_timeout; it does not see
 * calls). Kept while either holds. */
struct rtr_session_use {
    char uuid[GW_UUID_TEXT_LEN + 1];
    int64_t expires; /* the token's expiry (unix seconds): a restarted broker learns it again */
    unsigned in_flight;
    h2o_linklist_t calls; /* rtr_call_t.use_link: the in_flight calls, found by a cancel */
    int seen;
    gw_hnode_t node; /* in rtr_t.uses, hashed by uuid */
};

/* One client listener (listeners.c): its shared socket and its accept context. */
typedef struct rtr_listener {
    rtr_t *r;
    size_t index;            /* in cfg->listen */
    h2o_socket_t *sock;      /* data: this listener */
    h2o_accept_ctx_t accept; /* ssl_ctx set on a TLS listener */
} rtr_listener_t;

/* One rate limit in this router (rate_limit.c): limits.rate or a policy rule's rate. */
typedef struct rtr_rate_limit {
    gw_rate_spec_t spec; /* zero interval: no limit */
    int per_tool;        /* rate.per: tool: each tools/call tool of a caller its own bucket */
    char name[48];       /* "limits.rate", "policy.rules[2].rate": its buckets' scope too */
    char message[160];   /* "rate limit exceeded: limits.rate 100/s, burst 200" */
} rtr_rate_limit_t;

/* The rate limits of this router: the table every router maps, limits.rate, and the rate of
 * each policy rule (index: the rule's; a caller is charged under the rule of its view). */
typedef struct rtr_rate {
    gw_rate_table_t *table; /* NULL: no limit */
    rtr_rate_limit_t global;
    rtr_rate_limit_t *rules;
    size_t nrules;
} rtr_rate_t;

/* The router: one per process, made in main and passed to everything that needs it. */
struct rtr {
    gw_config_t *cfg;
    gw_keyring_t *keys;
    gw_keyring_t *rs_keys; /* requestStates' (mrtr.c), derived from keys */
    unsigned index;
    h2o_globalconf_t h2o_config;
    h2o_context_t ctx;
    rtr_listener_t listeners[RTR_MAX_LISTENERS];
    size_t nlisteners;
    gw_name_t inbox_name; /* gw_router_inbox(index): where every reply to this router arrives */
    gw_inbox_t inbox;
    h2o_socket_t *inbox_sock;
    rtr_peer_t *broker;
    rtr_peer_t *peers; /* every peer, broker first */
    rtr_routes_t *routes;
    uint64_t routes_corr; /* correlation id of the live routes subscription */
    rtr_timeout_list_t *timeouts;
    h2o_timeout_t retry_timeout;
    h2o_timeout_entry_t retry_entry;
    h2o_timeout_t arrival_timeout; /* the sweep for HTTP/2 requests that arrive too slowly */
    h2o_timeout_entry_t arrival_entry;
    gw_htable_t h2_resets; /* h2_resets.c: HTTP/2 connections that reset requests, by conn id */
    gw_htable_t h2_reset_addrs; /* h2_resets.c: their client addresses, each with a budget */
    gw_htable_t calls;          /* rtr_call_t.node, by correlation id */
    h2o_linklist_t h1_calls; /* rtr_call_t.h1_link: modern calls whose client h1_gone.c watches */
    uint64_t next_corr;
    size_t ncalls;
    size_t nstreams;          /* of ncalls, GET streams: not requests in flight */
    h2o_timeout_t heartbeat;  /* http.sse_heartbeat, for idle GET streams */
    gw_revoked_t revoked;     /* sessions ended before their tokens expire */
    int64_t next_purge_ms;    /* when expired revocations are dropped next */
    gw_htable_t uses;         /* rtr_session_use_t.node, by uuid */
    int64_t next_activity_ms; /* when the next activity report is due */
    char request_id_prefix[9];
    uint64_t next_request_id;
    gw_metrics_slot_t *m;      /* this router's metrics slot, or NULL */
    gw_signals_t signals;      /* SIGTERM, SIGINT: the router stops */
    h2o_socket_t *signal_sock; /* watches gw_signals_fd(&signals) */
    int stopping;
    int64_t stop_deadline;
    rtr_auth_t *auth;    /* auth: keys, verified tokens, challenges; NULL without auth */
    gw_policy_t *policy; /* policy: NULL without it (everyone sees everything) */
    rtr_rate_t rate;
    /* the caller of the request whose handler runs now (mcp_endpoint.c sets it for the length
     * of one on_req), which the session check and the audit read; NULL between requests */
    const rtr_caller_t *caller;
};

/* ---- small helpers ---- */

static inline void rtr_add_header(h2o_req_t *req, const char *name, const char *value, size_t len)
{
    h2o_add_header_by_str(&req->pool, &req->res.headers, name, strlen(name), 1, NULL, value, len);
}

static inline int64_t rtr_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- policy.c ---- */

/* Sets who->view from its rules (the anonymous rules when it has no token) and req's client
 * address; 0 without a policy. */
void rtr_policy_place(rtr_t *r, h2o_req_t *req, rtr_caller_t *who);
/* Whether the caller of the request being handled may use server's name (n bytes, NUL-terminated:
 * a tool's or prompt's name without the prefix, a resource URI; a tool renamed by servers[].tools
 * is checked by the backend's own name): its endpoint shows it (common/endpoint.h) and its policy
 * view allows it; a policy refusal is counted under kind (GW_LIST_TOOLS, PROMPTS, RESOURCES). */
int rtr_policy_allows(rtr_t *r, gw_list_t kind, const char *server, const char *name, size_t n);
/* The caller's policy view now (0 between requests). */
unsigned rtr_policy_view(const rtr_t *r);
/* The view the broker filters the caller's lists by: its endpoint folded with its policy view
 * (gw_view_make; 0 between requests). */
unsigned rtr_policy_envelope_view(const rtr_t *r);

/* ---- auth.c, auth_cache.c ---- */

/* Reads the issuers' key sets (auth set) into r->auth; GW_ENOMEM only: an issuer whose keys do
 * not load is logged and its tokens refused. */
gw_err_t rtr_auth_create(rtr_t *r);
void rtr_auth_destroy(rtr_t *r);
/* Serves the protected resource metadata (RFC 9728) when req asks for it; 1 when it answered. */
int rtr_auth_metadata(rtr_t *r, h2o_req_t *req);
/* With auth, req's bearer token verified into *who (1), or req answered 400, 401 or 403 (0);
 * without auth, *who is zeroed and 1. */
int rtr_auth_check(rtr_t *r, h2o_req_t *req, unsigned endpoint, rtr_caller_t *who);
/* A key set the broker fetched ({"issuer", "jwks": "<JWK Set text>"}) replaces that issuer's. */
void rtr_auth_keys_update(rtr_t *r, yajl_val msg);
/* Whether a session's claims belong to who (subject and issuer); else counted, logged, 0. */
int rtr_auth_binds(rtr_t *r, const rtr_caller_t *who, const gw_session_claims_t *claims,
                   h2o_req_t *req);
gw_err_t rtr_auth_cache_create(rtr_auth_cache_t **out);
void rtr_auth_cache_destroy(rtr_auth_cache_t *c);
/* The entry of hash still good at now, or NULL. */
const rtr_auth_entry_t *rtr_auth_cache_find(rtr_auth_cache_t *c, const uint8_t hash[32],
                                            int64_t now);
/* Forgets every verified token (an issuer's keys changed: a token of a removed key must fail). */
void rtr_auth_cache_clear(rtr_auth_cache_t *c);
/* Keeps a copy of in (over whatever held its slot) and returns it. */
const rtr_auth_entry_t *rtr_auth_cache_put(rtr_auth_cache_t *c, const rtr_auth_entry_t *in);

/* ---- rate_limit.c ---- */

/* Maps the shared table (an error, logged, when limits.rate is set and it cannot). */
gw_err_t rtr_rate_open(rtr_t *r);
void rtr_rate_close(rtr_t *r);
/* Charges one JSON-RPC request (rpc, scanned from body) to its caller's buckets: limits.rate,
 * then the rate of the policy rule of the caller's view (r->caller, set for this request; the
 * caller is its token's issuer and subject, else the client address). 1 when it may go on;
 * else to was answered 429 with Retry-After and a JSON-RPC error naming the limit, counted,
 * logged, and for a tools/call audited as rate_limited (0). No table, or no limit, lets
 * everything through. */
int rtr_rate_admit(rtr_t *r, rtr_sink_t to, const gw_rpc_t *rpc, const char *body);

/* ---- request.c ---- */

/* The value of req's header name (lower case), or an empty iovec. */
h2o_iovec_t rtr_header(h2o_req_t *req, const char *name);
/* The value of req's header token, or an empty iovec. */
h2o_iovec_t rtr_header_token(h2o_req_t *req, const h2o_token_t *token);
/* The request id req is answered with (its x-request-id response header), for log lines. */
h2o_iovec_t rtr_request_id_of(h2o_req_t *req);
/* The client's x-request-id when it is sane, else a new one of this router. */
void rtr_request_id_make(rtr_t *r, h2o_req_t *req, char out[RTR_REQUEST_ID_MAX + 1]);
/* Ties req to owner's req and guard fields (see rtr_req_guard_t); the guard is req's. */
void rtr_req_guard(h2o_req_t *req, h2o_req_t **owner_req, rtr_req_guard_t **owner_guard);
/* The owner goes first: the request no longer points at it; g may be NULL. */
void rtr_req_unguard(rtr_req_guard_t *g);
/* The client's numeric address of conn into out ("" when unknown). */
void rtr_client_address(h2o_conn_t *conn, char out[INET6_ADDRSTRLEN]);

/* ---- respond.c ---- */

/* Counts a response of status and bytes in the metrics. */
void rtr_count_response(rtr_t *r, unsigned status, size_t bytes);
/* Which rejection an error answer is, for the metrics. */
gw_counter_t rtr_rejection_of(unsigned status, int code, const char *msg);
/* Answers to (the client, or into its batch) with status and a JSON body (none when len is 0). */
void rtr_respond(rtr_t *r, rtr_sink_t to, unsigned status, const char *body, size_t len);
/* Answers to with a JSON-RPC error and the given HTTP status (and logs it at info). */
void rtr_respond_error(rtr_t *r, rtr_sink_t to, unsigned status, const char *id, size_t id_len,
                       int code, const char *msg);
/* The same, with more logfmt fields (" key=value ...", already quoted) on its log line. */
void rtr_respond_error_fields(rtr_t *r, rtr_sink_t to, unsigned status, const char *id,
                              size_t id_len, int code, const char *msg, const char *fields);
/* The same with the error's data (raw JSON, data_len bytes; none when NULL). */
void rtr_respond_error_data(rtr_t *r, rtr_sink_t to, unsigned status, const char *id, size_t id_len,
                            int code, const char *msg, const char *data, size_t data_len,
                            const char *fields);
/* The answer to a POSTed request cancelled before its response started: an event stream with
 * no event, closed (docs/routing.md). */
void rtr_respond_cancelled(rtr_t *r, h2o_req_t *req);
/* Starts c's SSE response (headers, and the first bytes for a GET stream). */
void rtr_sse_start(rtr_call_t *c);
/* Buffers one SSE event (with its id when id is not empty) for c's client. */
void rtr_sse_append_id(rtr_call_t *c, gw_str_t id, const char *data, size_t len);
/* Buffers one SSE event without an id. */
void rtr_sse_append(rtr_call_t *c, const char *data, size_t len);
/* Hands c's buffered events to h2o when it is ready; ends and frees c once all is written. */
void rtr_sse_flush(rtr_call_t *c);

/* ---- http_checks.c ---- */

/* Does the comma-separated media-type list v contain type (ignoring parameters and case)? */
int rtr_http_accepts(h2o_iovec_t v, const char *type);
/* Is v an application/json Content-Type? */
int rtr_http_is_json(h2o_iovec_t v);
/* DNS-rebinding protection: are req's Host and Origin allowed? */
int rtr_http_host_allowed(rtr_t *r, h2o_req_t *req);
/* Is req's MCP-Protocol-Version, if any, one mcpgw speaks? Answers 400 when not. */
int rtr_http_protocol_version_ok(rtr_t *r, h2o_req_t *req);
/* Validates req's session header; fills claims and uuid text (1), else answers req (0). */
int rtr_http_check_session(rtr_t *r, h2o_req_t *req, gw_session_claims_t *claims, char *uuid,
                           const char *id, size_t id_len);

/* ---- mcp_endpoint.c ---- */

/* Registers the MCP endpoint's h2o handler (POST, GET, DELETE on http.path) at pathconf. */
void rtr_endpoint_register(rtr_t *r, h2o_pathconf_t *pathconf);

/* ---- route_message.c ---- */

/* Counts a message in the request metrics by its method. */
void rtr_route_count_of_method(rtr_t *r, const gw_rpc_t *rpc);
/* Handles one JSON-RPC message (not initialize) of a checked session (e carries it): answers it
 * here or sends it to the broker or its owner, answering to exactly once. */
/* Sends e to every backend's worker, no reply expected; with logging_only, only to those that
 * offer logging. Returns how many it was sent to. */
size_t rtr_route_broadcast(rtr_t *r, gw_envelope_t *e, int logging_only);
void rtr_route_message(rtr_t *r, rtr_sink_t to, gw_envelope_t *e, const char *body, size_t len,
                       const gw_rpc_t *rpc);

/* ---- modern.c ---- */

/* The 2026-07-28 front of a scanned POST (not a batch): decides its era (design §2) and, for the
 * modern one, applies the wire rules of §1, answers server/discover and dispatches the request
 * without a session. Returns 0 when the message is of the old era, for today's path to handle;
 * 1 when it was answered or dispatched. */
int rtr_modern_front(rtr_t *r, h2o_req_t *req, const char *body, size_t len, const gw_rpc_t *rpc,
                     const char *request_id);

/* ---- mrtr.c ---- */

/* Derives the requestState key ring from the session keys (at start; GW_ENOMEM only). */
gw_err_t rtr_mrtr_start(rtr_t *r);
/* A reply of modern call c flagged GW_ENV_F_INPUT_REQUIRED (its HEAD|FINAL or its CHUNK): the
 * body with its requestState sealed for c's caller, request and backend (kind W when the worker
 * named its parked call in wait-* headers, else P wrapping the backend's own state; as it is when
 * it has none) into out (1). 0 with *why when it cannot be sealed: the caller fails c (-32603). */
int rtr_mrtr_seal_reply(rtr_call_t *c, const gw_envelope_t *e, gw_buf_t *out, const char **why);
/* A modern tools/call, prompts/get or resources/read carrying params.requestState: opened and
 * checked against this caller and request, then routed (W: to its worker, flagged
 * GW_ENV_F_RESUME with the wait-* headers; P: by name with the backend's state put back), or
 * answered row 19 (400 -32602). Returns 0, doing nothing, for any other message. */
int rtr_mrtr_retry(rtr_t *r, rtr_sink_t to, gw_envelope_t *e, const char *body, size_t len,
                   const gw_rpc_t *rpc);

/* ---- batch.c ---- */

/* Handles a POSTed batch (2025-03-26 sessions): each message alone, the answers as one array. */
void rtr_batch_handle(rtr_t *r, h2o_req_t *req, const char *body, size_t len,
                      const char *request_id);
/* One message of b is done: its answer (a JSON-RPC response) or nothing. */
void rtr_batch_answer(rtr_batch_t *b, const char *body, size_t len);
/* One message of b was refused by limits.rate: the batch's response carries Retry-After. */
void rtr_batch_rate_limited(rtr_batch_t *b, uint64_t retry_after_s);
/* A peer's reply to a call answering one message of a batch. */
void rtr_batch_on_reply(rtr_call_t *c, const gw_envelope_t *e);

/* ---- call.c ---- */

/* Sends a CALL/CONTROL for to.req to peer and tracks it; answers to at once on failure.
 * Returns the call while it is in flight (NULL once answered), for the caller to annotate. */
rtr_call_t *rtr_call_dispatch(rtr_t *r, rtr_sink_t to, rtr_peer_t *peer, gw_envelope_t *e,
                              uint64_t timeout_ms);
/* The call of correlation id corr, or NULL. */
rtr_call_t *rtr_call_find(rtr_t *r, uint64_t corr);
/* A reply (HEAD, CHUNK, END) from c's peer. */
void rtr_call_on_reply(rtr_call_t *c, const gw_envelope_t *e);
/* Ends a call that will get no (more) answer from its peer, telling the client why. */
void rtr_call_fail(rtr_call_t *c, int code, const char *msg);
/* The client cancelled c: its response ends without a JSON-RPC response, its place among the
 * session's requests is given back at once, and whatever its peer still sends is ignored. */
void rtr_call_cancel(rtr_call_t *c, const char *by);
/* notifications/cancelled of session for the request id (raw JSON, id_len bytes): cancels the
 * session's calls in flight on this router with that id; returns how many. */
size_t rtr_call_cancel_request(rtr_t *r, gw_str_t session, const char *id, size_t id_len);
/* The 2026-07-28 client of c went away (its stream reset, its connection closed): the worker
 * is told to cancel and c ends without an answer; nothing for an answered call or a list. */
void rtr_call_client_gone(rtr_call_t *c);
/* Frees c, logging its audit line and handing a batch message's answer to its batch. */
void rtr_call_destroy(rtr_call_t *c);
/* The timer list of calls waiting ms (made on first use). */
h2o_timeout_t *rtr_call_timeout_list(rtr_t *r, uint64_t ms);

/* ---- stream.c ---- */

/* GET: opens the session's stream of server-initiated messages (held by the broker). */
void rtr_stream_open(rtr_t *r, h2o_req_t *req, const char *request_id);
/* Tells the broker to stop sending to GET stream c. */
void rtr_stream_release(rtr_call_t *c);
/* The client left its GET stream c: released and freed. */
void rtr_stream_gone(rtr_call_t *c);
/* Restarts the heartbeat wait of GET stream c (something was just sent). */
void rtr_stream_heartbeat_rearm(rtr_call_t *c);
/* Ends every open GET stream (the router is stopping; clients reconnect elsewhere). */
void rtr_streams_end(rtr_t *r);
/* A 2026-07-28 subscriptions/listen (e: its modern envelope): held open by the broker like a GET
 * stream, ended by the broker, the client, or this router stopping (docs/design-2026-07-28.md
 * §6). */
void rtr_listen_open(rtr_t *r, h2o_req_t *req, gw_envelope_t *e);
/* The client of listen c went away (h1_gone.c saw its HTTP/1.1 connection close): released
 * with the broker and ended now, not at the next heartbeat's write. */
void rtr_listen_client_gone(rtr_call_t *c);

/* ---- session_use.c ---- */

/* The entry of session uuid, or NULL. */
rtr_session_use_t *rtr_session_use_find(rtr_t *r, gw_str_t uuid);
/* The entry of session uuid, created when missing; NULL when out of memory (or not a uuid). */
rtr_session_use_t *rtr_session_use_get(rtr_t *r, gw_str_t uuid);
/* Frees u once nothing holds it; u may be NULL. */
void rtr_session_use_put(rtr_t *r, rtr_session_use_t *u);
/* A request of a valid session came: it counts as activity at the next report. */
void rtr_session_seen(rtr_t *r, const char *uuid, int64_t expires);
/* Does a call of e take a place among its session's concurrent requests? */
int rtr_session_use_counts(const gw_envelope_t *e);
/* Reports the sessions in use to the broker and drops the entries nothing holds. */
void rtr_session_use_report(rtr_t *r);

/* ---- peers.c ---- */

/* Opens an outbox to the peer name and watches its pipes; into *out (r's, until exit). */
gw_err_t rtr_peer_create(rtr_t *r, const char *name, rtr_peer_t **out);
/* The peer called name, or NULL. */
rtr_peer_t *rtr_peer_find(rtr_t *r, const char *name);
/* Adds e to this loop turn's batch for p (rtr_peers_flush sends it); e's origin is set. */
gw_err_t rtr_peer_send(rtr_peer_t *p, gw_envelope_t *e);
/* The end of a loop turn: every peer's batch goes out. */
void rtr_peers_flush(rtr_t *r);
/* Opens the inbox every reply to this router arrives at and watches it. */
gw_err_t rtr_inbox_open(rtr_t *r);

/* ---- control.c ---- */

/* Asks the broker for the routing table (a stream of pushes). */
void rtr_control_subscribe(rtr_t *r);
/* A push of the routes subscription: a routing table or revocations; acknowledged. */
void rtr_control_on_routes(rtr_t *r, const gw_envelope_t *e);
/* log-level from the broker (mcpgwctl log-level). */
void rtr_control_set_log_level(const gw_envelope_t *e);

/* ---- h2_resets.c ---- */

/* req (guarded) went before its answer: on HTTP/2 the client reset it; counts it against its
 * connection's budget and shuts the connection when that runs dry. */
void rtr_h2_reset_seen(h2o_req_t *req);
/* req (guarded) was answered: gives its HTTP/2 connection one reset back. */
void rtr_h2_answered(h2o_req_t *req);
/* Was req's connection shut for its resets? (Its already-read requests are refused unrouted.) */
int rtr_h2_conn_is_cut(rtr_t *r, h2o_req_t *req);
/* Is sock, just accepted, from an address barred for its resets? (Counted; the caller closes.) */
int rtr_h2_accept_refused(rtr_t *r, h2o_socket_t *sock);
/* Drops the entries of connections and addresses whose budget is full again, or shut long
 * enough ago. */
void rtr_h2_resets_sweep(rtr_t *r, int64_t now_ms);

/* ---- h1_gone.c ---- */

/* Watches the HTTP/1.x connection of modern call c (nothing for HTTP/2: its resets dispose the
 * request) until c ends; a client seen gone ends c as rtr_call_client_gone. */
void rtr_h1_gone_watch(rtr_t *r, rtr_call_t *c);
void rtr_h1_gone_unwatch(rtr_call_t *c);
/* Looks at every watched connection once (the router's 500 ms timer). */
void rtr_h1_gone_sweep(rtr_t *r);

/* ---- slow_clients.c ---- */

/* Starts the sweep that cuts HTTP/2 requests arriving slower than limits.client_timeout. */
void rtr_slow_clients_start(rtr_t *r);

/* ---- listeners.c ---- */

/* Takes the listening sockets fds (in the order of cfg->listen), each with its accept context
 * (TLS where the config says). */
gw_err_t rtr_listeners_open(rtr_t *r, const int *fds, size_t nfds);
/* Takes connections on every listener (once the first routing table is in). */
void rtr_listeners_start(rtr_t *r);
/* Takes no more connections (stopping). */
void rtr_listeners_stop(rtr_t *r);
/* Loads every TLS listener's certificate and key again, for new connections (tls/reload). */
void rtr_listeners_reload_tls(rtr_t *r);
/* Frees the TLS contexts (at exit). */
void rtr_listeners_close(rtr_t *r);

#endif
