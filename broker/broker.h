/* broker.h: the broker's context (brk_t), its reloadable cycle and the declarations its files
 * share (sessions, GET streams, routes, replies, control, reload, children, readiness). */
#ifndef MCPGW_BROKER_BROKER_H
#define MCPGW_BROKER_BROKER_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include <nng/nng.h>
#include <yajl/yajl_gen.h>

#include "broker/admin.h"
#include "broker/catalog.h"
#include "broker/supervise.h"
#include "common/config.h"
#include "common/envelope.h"
#include "common/err.h"
#include "common/htable.h"
#include "common/ipc.h"
#include "common/mailbox.h"
#include "common/metrics.h"
#include "common/names.h"
#include "common/rate.h"
#include "common/signals.h"
#include "common/streams.h"
#include "common/token.h"

#define BRK_MAX_LISTEN 16
#define BRK_MAX_ROUTERS 64
#define BRK_READY_WAIT_MS 10000 /* longest wait for backends before declaring ready anyway */
#define BRK_MAX_PENDING_DELETES 1024
#define BRK_DELETE_WAIT_MS 1000
#define BRK_DELETE_CORR_BASE (UINT64_C(1) << 62)
#define BRK_OUTBOX_MAX_BYTES (256u << 20) /* what waits for one router or worker at most */
/* Replay bytes kept per session, besides sessions.stream_replay events. */
#define BRK_STREAM_REPLAY_BYTES (1u << 20)
#define BRK_DRAIN_MAX_MS 60000

typedef struct brk_subscriber {
    int active;
    uint64_t corr;
    uint64_t acked; /* the last routing-table push this router confirmed having applied */
} brk_subscriber_t;

/* A DELETE answered only once every router applied the revocation and every worker closed its
 * upstream session: a call made after the client saw 200 can never slip through (a router
 * still holding the old table would otherwise accept it). Bounded by a deadline. */
typedef struct brk_pending_delete {
    uint64_t id;  /* correlation id of the session/close messages */
    uint64_t seq; /* the routing-table push that carries the revocation */
    unsigned workers_left;
    int64_t deadline_ms;
    char origin[32];
    uint64_t corr;
} brk_pending_delete_t;

typedef struct brk_client brk_client_t; /* live sessions of one client address (sessions.c) */

typedef struct brk_session {
    char uuid[GW_UUID_TEXT_LEN + 1];
    char client[48];              /* the client address it was created from */
    char subject[GW_SUBJECT_MAX]; /* the bearer token's sub at initialize; "" without auth */
    brk_client_t *counted; /* the address's entry while this session counts there, else NULL */
    int64_t created_s;
    int64_t expires_s;
    int64_t last_s;
    int64_t last_ms; /* gw_clock_ms() of the last request seen (sessions.idle_timeout) */
    int revoked;
    uint8_t caps;          /* GW_CAP_* of its client (from initialize, or a later request) */
    uint16_t view;         /* the policy view of its last initialize or list request */
    uint8_t view_seen;     /* view was told by a request (not after a broker restart) */
    uint8_t lists_pending; /* bit l: a reload changed list l of its view; told when its GET stream
                              opens next (routers restart on such a reload, ending streams) */
    gw_hnode_t node;       /* in brk_t.sessions, keyed by uuid */
} brk_session_t;

/* What a reload replaces as one piece (nginx's cycle): the config, the catalog made for it and
 * the metrics slot of each server's worker. Built whole, swapped in only when complete. */
typedef struct brk_cycle {
    gw_config_t *cfg; /* owned */
    brk_catalog_t cat;
    char worker_slots[GW_METRICS_SLOTS_MAX][GW_NAME_MAX]; /* worker process of each slot */
    unsigned nworker_slots;
} brk_cycle_t;

typedef struct brk_keys brk_keys_t; /* keys.c */
/* listen.c */
typedef struct brk_listens brk_listens_t;

typedef struct brk {
    brk_cycle_t *cycle; /* owned; replaced by a reload */
    char config_path[PATH_MAX];
    gw_keyring_t *keys;
    brk_supervisor_t sup;
    gw_inbox_t inbox; /* broker.ipc: requests and reports from routers and workers */
    nng_socket csock; /* control socket: mcpgwctl (raw REP: one or two replies a command) */
    gw_ipc_guard_t control_guard; /* nng 1.5.2: a listener that stops taking peers is replaced */
    gw_outboxes_t out;            /* to routers and workers, opened on first use */
    int listen_fds[BRK_MAX_LISTEN + 1];
    size_t nlisten;
    char listen_desc[512];
    brk_subscriber_t subs[BRK_MAX_ROUTERS];
    gw_htable_t sessions; /* brk_session_t by uuid, owned */
    gw_htable_t clients;  /* brk_client_t by address: live sessions per client address */
    size_t nsessions;
    size_t nrevoked;
    uint64_t routes_seq;
    brk_pending_delete_t deletes[BRK_MAX_PENDING_DELETES];
    size_t ndeletes;
    uint64_t next_delete;
    gw_metrics_t *metrics; /* <runtime_dir>/metrics: one slot per child */
    unsigned metrics_slots;
    gw_rate_table_t *rate; /* <runtime_dir>/rate: limits.rate's buckets, which routers map */
    brk_admin_t *admin;
    char admin_desc[80];
    gw_signals_t signals; /* SIGTERM, SIGINT, SIGHUP, SIGCHLD */
    int ready;
    int stopping;
    int64_t drain_deadline_ms; /* non-zero while draining (mcpgwctl drain) */
    int64_t drain_started_ms;
    int64_t start_ms;
    int64_t next_sweep_ms;
    gw_streams_t streams;                          /* the clients' GET streams */
    uint64_t list_digest[BRK_CAP_SETS][GW_NLISTS]; /* what sessions of each set last saw */
    struct brk_list_wait *list_waits; /* list requests waiting for their set (cap_sets.c) */
    size_t nlist_waits;
    uint64_t list_waits_fetched; /* answered once their set came in (mcpgw_list_waits_total) */
    uint64_t list_waits_timeout; /* answered with fewer capabilities after the wait */
    int64_t next_idle_ms;        /* when to look for idle sessions next */
    uint64_t idle_expired;       /* sessions ended by sessions.idle_timeout */
    brk_keys_t *jwks;            /* the key sets of auth issuers with a jwks_uri (keys.c) */
    brk_listens_t *listens;      /* 2026-07-28 subscriptions/listen streams (listen.c) */
} brk_t;

/* ---- keys.c: the auth issuers' jwks_uri key sets, fetched and pushed to routers ---- */

/* (Re)builds the fetch state from the running cycle's config, keeping the keys of an issuer whose
 * issuer and jwks_uri stayed (call before the previous cycle is destroyed). */
gw_err_t brk_keys_configure(brk_t *b);
void brk_keys_destroy(brk_keys_t *ks);
/* Starts due fetches and takes finished ones; returns the longest poll wait it allows (ms), or -1
 * without jwks_uri issuers. */
int brk_keys_tick(brk_t *b, int64_t now);
/* Pushes every key set held to router only (or every router, only < 0). */
void brk_keys_push_all(brk_t *b, long only);
/* A router met an unknown kid of the issuer in the body: fetch again, at most once per 30 s. */
void brk_keys_on_refetch(brk_t *b, const gw_envelope_t *e);
/* mcpgw_jwks_fetches_total and mcpgw_jwks_refetch_requests_total lines. */
void brk_keys_metrics(const brk_t *b, gw_buf_t *out);
/* routes.c: sends one message of the routes subscription to router only (or every router). */
void brk_routes_send(brk_t *b, long only, const gw_buf_t *msg);

/* ---- reply.c: messages to routers and workers; request_id only names the request in logs ---- */

/* Sends e to peer to (its origin set to the broker); a failure is logged, never returned. */
void brk_reply_send(brk_t *b, gw_str_t to, gw_envelope_t *e, gw_str_t request_id);
/* Sends e to every router subscribed to routes; returns how many. */
size_t brk_reply_to_routers(brk_t *b, gw_envelope_t *e);
/* Sends e to every worker (each shard of servers[].workers) of every server, or of only that
 * server when not NULL; returns how many were sent to. */
size_t brk_reply_to_workers(brk_t *b, const gw_server_conf_t *only, gw_envelope_t *e);
/* The inbox of the worker of server s that serves e: its session's shard, or its caller's
 * (common/shard.h). */
gw_name_t brk_worker_of(const gw_server_conf_t *s, const gw_envelope_t *e);
/* Sends one message of kind with status and body (borrowed) to peer to. */
void brk_reply(brk_t *b, gw_str_t to, uint64_t corr, uint8_t kind, unsigned status,
               const char *body, size_t len, gw_str_t request_id);
/* Answers one JSON-RPC message as a whole JSON reply (HEAD + F_FINAL), with an optional header. */
void brk_reply_json(brk_t *b, gw_str_t to, uint64_t corr, const gw_env_header_t *hdr,
                    const char *body, size_t len, gw_str_t request_id);
/* Answers req with a JSON-RPC error (HTTP 200). */
void brk_reply_rpc_error(brk_t *b, const gw_envelope_t *req, int code, const char *msg);
/* Answers req with a JSON-RPC error under an HTTP status of its own (429, 503). */
void brk_reply_rpc_error_status(brk_t *b, const gw_envelope_t *req, unsigned status, int code,
                                const char *msg);

/* ---- sessions.c: the session map ---- */

/* Starts the empty session map. */
void brk_sessions_init(brk_t *b);
/* The session of uuid[0..len), or NULL. */
brk_session_t *brk_session_find(brk_t *b, const char *uuid, size_t len);
/* Adds a session (the map owns it); NULL when out of memory. */
brk_session_t *brk_session_add(brk_t *b, const char *uuid, int64_t now, int64_t expires);
/* The session a router names, learnt when this broker never saw it; NULL only when out of
 * memory (or the id is not a uuid). */
brk_session_t *brk_session_find_or_learn(brk_t *b, gw_str_t id);
/* Iteration in no particular order: s = NULL and *pos = 0 first; NULL at the end. */
brk_session_t *brk_sessions_next(const brk_t *b, const brk_session_t *s, size_t *pos);
/* Live sessions created from one client address (limits.max_sessions_per_client). */
size_t brk_sessions_of_client(const brk_t *b, const char *client);
/* Records that s was created from client (initialize): it counts there until revoked or gone. */
gw_err_t brk_session_set_client(brk_t *b, brk_session_t *s, const char *client);
/* Marks s revoked (DELETE, kill, idle expiry): it no longer counts for its client. */
void brk_session_revoke(brk_t *b, brk_session_t *s);
/* Drops sessions past their expiry (and their GET streams). */
void brk_sessions_sweep(brk_t *b, int64_t now);
/* A router's "sessions/active" report: marks them used, learns those this broker lacks. */
void brk_sessions_on_active(brk_t *b, const gw_envelope_t *e);
/* Frees every session (at exit). */
void brk_sessions_fini(brk_t *b);

/* ---- session_end.c: DELETE, mcpgwctl session kill, idle expiry ---- */

/* A client's DELETE (or a kill with an empty origin, answered to nobody): revokes the session,
 * closes its upstream sessions and answers once routers and workers acted on it. */
void brk_session_end_delete(brk_t *b, const gw_envelope_t *e);
/* Answers the DELETEs whose revocation is applied everywhere (or whose deadline passed). */
void brk_session_end_answer_deletes(brk_t *b);
/* A worker's answer to a session/close of a DELETE. */
void brk_session_end_on_worker_reply(brk_t *b, const gw_envelope_t *e);
/* Ends the sessions idle for sessions.idle_timeout as a DELETE would. */
void brk_session_end_idle(brk_t *b, int64_t now_ms);

/* ---- listen.c: 2026-07-28 subscriptions/listen (docs/design-2026-07-28.md §6) ---- */

gw_err_t brk_listens_init(brk_t *b);
void brk_listens_fini(brk_t *b);
size_t brk_listens_count(const brk_t *b);
/* A router's subscriptions/listen (a modern CALL flagged GW_ENV_F_STREAM): refused, or held
 * open: the acknowledgement first, then what its filter asks for. */
void brk_listen_open(brk_t *b, const gw_envelope_t *e);
/* The router's client left its listen ("listen/close": found by router and corr). */
void brk_listen_on_close(brk_t *b, const gw_envelope_t *e);
/* A modern notifications/cancelled (any router): ends the caller's listen of that id, if any. */
void brk_listen_on_cancelled(brk_t *b, const gw_envelope_t *e);
/* A worker's resources/updated for a listen ("listen/event": session "L<n>", body the URI). */
void brk_listen_on_event(brk_t *b, const gw_envelope_t *e);
/* List list (GW_LIST_*, templates folded into resources) changed for the sets in bits sets. */
void brk_listen_announce(brk_t *b, int list, unsigned sets);
/* Tells worker (an inbox name) again of every listen's URIs there (it may have restarted: it
 * knows none; one that knows them ignores them). */
void brk_listen_resubscribe(brk_t *b, gw_str_t worker);
/* A worker confirmed a listen's subscriptions ("listen/ready", or the answer to its own
 * resources/subscribe, corr flagged GW_LISTEN_CORR_FLAG). */
void brk_listen_on_ready(brk_t *b, const gw_envelope_t *e);
/* Acknowledges the listens whose wait for their backends is over; returns when the next is. */
int64_t brk_listen_tick(brk_t *b, int64_t now);
/* The listens router held are gone with it (it restarted). */
void brk_listen_release_router(brk_t *b, const char *router);
/* Ends every listen gracefully (the broker stops). */
void brk_listen_end_all(brk_t *b, const char *why);

/* ---- get_stream.c: the clients' GET streams ---- */

/* A router opens a client's GET stream ("stream/open"). */
void brk_get_stream_on_open(brk_t *b, const gw_envelope_t *e);
/* A router's client left its GET stream ("stream/close"). */
void brk_get_stream_on_close(brk_t *b, const gw_envelope_t *e);
/* A backend's message for one client ("session/event"): onto the client's stream. */
void brk_get_stream_on_session_event(brk_t *b, const gw_envelope_t *e);
/* Tells worker (an inbox name) again of every session whose client holds its GET stream
 * (session/listen): a worker that (re)started and reports its catalog knows none. */
void brk_get_stream_relisten(brk_t *b, gw_str_t worker);
/* Releases the streams router (an inbox name) held: it restarted. Their workers are told the
 * clients no longer listen. */
void brk_get_stream_release_router(brk_t *b, const char *router);
/* Ends the session's GET stream, if one is open, and forgets it (DELETE, expiry). */
void brk_get_stream_forget(brk_t *b, const char *uuid, size_t len);
/* After a catalog change: list_changed on every GET stream for the lists that changed. */
void brk_get_stream_announce_list_changes(brk_t *b);
/* The lists each policy view of the sessions holding GET streams sees, as fingerprints: taken
 * before a reload (brk_policy_digests_take), compared after it (brk_get_stream_announce_policy),
 * so that a session whose view lets something else through now is told its lists changed. */
typedef struct brk_policy_digests brk_policy_digests_t;
/* Takes the fingerprints of the running cycle into *out (NULL when there is no policy, or no
 * memory: then every session of a view the new policy decides differently is told). */
void brk_policy_digests_take(brk_t *b, brk_policy_digests_t **out);
void brk_policy_digests_free(brk_policy_digests_t *d);
/* After a reload from the cycle whose policy was old (its fingerprints d, freed here): each
 * session with a GET stream whose view now sees another list of it (or whose view the rules
 * decide differently now) is told that the list changed when its stream opens again (the
 * routers restart), unless set_notified (bit l of entry s: the catalog change announced it
 * already) says it was. */
void brk_get_stream_announce_policy(brk_t *b, const gw_policy_t *old, brk_policy_digests_t *d,
                                    const unsigned set_notified[BRK_CAP_SETS]);

/* ---- routes.c: the routing table and revocations pushed to routers ---- */

/* Pushes revocations (list[0..n), or every one with "reset" when list is NULL) to router only,
 * or to all (only < 0). GW_OK when the message went out. */
gw_err_t brk_routes_push_revoked(brk_t *b, long only, brk_session_t *const *list, size_t n,
                                 gw_str_t request_id);
/* Pushes the routing table (catalog and settings) to every router. */
void brk_routes_push(brk_t *b);
/* A router subscribes to the routing table ("routes"). */
void brk_routes_on_subscribe(brk_t *b, const gw_envelope_t *e);
/* A router applied push seq ("routes/ack"). */
void brk_routes_on_ack(brk_t *b, const gw_envelope_t *e);

/* ---- methods.c: the gateway-level JSON-RPC methods ---- */

/* initialize: a new gateway session and its sealed token. */
void brk_methods_initialize(brk_t *b, const gw_envelope_t *e);
/* tools/list, prompts/list, resources/list, resources/templates/list: one page, from the view
 * of the session's capability set (waiting for that set's first fetch: cap_sets.c). */
void brk_methods_list(brk_t *b, const gw_envelope_t *e);
/* The same answered now, whatever the set's fetch (a wait is over). */
void brk_methods_list_answer(brk_t *b, const gw_envelope_t *e);

/* ---- modern_page.c: list pages for 2026-07-28 callers (pure) ---- */

/* The gateway cursor in a modern caller's cursor handed out with pages of the scope private,
 * copied into buf[0..len); NULL when it is not one (a session's cursor, a forged one) or its
 * pages had the other scope (the list's scope changed: the client starts over, -32602). */
const char *brk_modern_cursor_open(const char *cursor, int private, char *buf, size_t len);
/* Appends to out the modern result of page (brk_catalog_page_for's {"tools":[…],
 * "nextCursor":"…"}): "resultType":"complete", the page's members with the scope marked in
 * nextCursor, "ttlMs":0, cacheScope ("private" or "public") and _meta's
 * io.modelcontextprotocol/serverInfo. GW_EINVAL for a page that is not an object, GW_ENOMEM. */
gw_err_t brk_modern_page(const gw_buf_t *page, int private, gw_buf_t *out);

/* ---- cap_sets.c: client capability sets ---- */

/* The longest a list request waits for its set's first fetch, and how many may wait. */
#define BRK_LIST_WAIT_MAX_MS 5000
#define BRK_LIST_WAITS_MAX 10000

/* A session of capability set s exists: its view is made (routing table pushed) and every
 * worker asked to fetch the set's lists, once per set. */
void brk_cap_sets_want(brk_t *b, unsigned s);
/* After a report from worker (its inbox name) that was not of another set: when its backend is
 * up, the worker is asked again for every active set (a restarted worker knows none; one that
 * does ignores the request). */
void brk_cap_sets_on_default_report(brk_t *b, gw_str_t worker);
/* Parks list request e of a session of set s until every backend up reported the set; returns
 * 1 when it did (answered later by brk_list_wait_run), 0 when e is to be answered now. */
int brk_list_wait_park(brk_t *b, const gw_envelope_t *e, unsigned s);
/* Answers the parked requests whose set is in or whose wait is over (all of them, dropped
 * unanswered, with stop); returns when the next wait ends (INT64_MAX: none). */
int64_t brk_list_wait_run(brk_t *b, int64_t now, int stop);

/* ---- inbox.c ---- */

/* Handles one message of the broker's inbox (gw_ipc_drain_inbox callback; arg is the brk_t). */
void brk_inbox_on_message(void *arg, const gw_envelope_t *e, gw_str_t frame);

/* ---- policy_ctl.c: mcpgwctl policy test ---- */

/* The control command policy/test: args {target, subject | anonymous, scopes, claims, address};
 * generates {target, rule, line | default, decision} into g, or fails with a message in err. */
gw_err_t brk_ctl_policy_test(brk_t *b, yajl_val args, yajl_gen g, char *err, size_t errlen);

/* ---- control.c: the control socket (mcpgwctl) ---- */

/* Listens on control.socket with control.mode and control.group. */
gw_err_t brk_control_open(brk_t *b);
/* Gives the control socket file to control.group (again after the guard listened afresh). */
gw_err_t brk_control_socket_group(brk_t *b);
/* Handles every command waiting on the control socket. */
void brk_control_serve(brk_t *b);
/* Sets the log level of every process now; returns how many processes that is. */
size_t brk_control_set_log_level(brk_t *b, int level);
/* Stops the gateway once a drain is done (or overdue). */
void brk_control_check_drain(brk_t *b);

/* ---- status.c: what mcpgwctl status and backends show ---- */

/* Generates the "status" object into g. */
gw_err_t brk_status_gen(brk_t *b, yajl_gen g);
/* Generates the "backends" object into g. */
gw_err_t brk_status_gen_backends(brk_t *b, yajl_gen g);
/* Generates one member k: v into the open object of g (v NULL: ""). */
void brk_status_kv_str(yajl_gen g, const char *k, const char *v);
/* Generates one member k: v (an integer) into the open object of g. */
void brk_status_kv_int(yajl_gen g, const char *k, long long v);

/* ---- config_load.c ---- */

/* Loads the file at path (as gw_config_load) and checks what it names: every TLS listener's
 * certificate and key load and match (else err: "PATH: listen[i].tls.key: FILE: why"). Warns
 * about a listener that is not on loopback and has no TLS. */
gw_err_t brk_config_load(const char *path, gw_config_t **out, char *err, size_t errlen);

/* ---- reload.c ---- */

/* Builds a new cycle from the config file and swaps it in only when complete (SIGHUP, mcpgwctl
 * reload). GW_OK with a summary in msg; else an error with the reason, the running cycle
 * untouched. */
gw_err_t brk_reload(brk_t *b, char *msg, size_t msglen);

/* ---- cycle.c: the reloadable part of the context ---- */

/* A cycle for cfg (taken over: destroyed with the cycle, even on failure). */
gw_err_t brk_cycle_create(gw_config_t *cfg, brk_cycle_t **out);
/* Frees the cycle: its catalog, then the config the catalog borrows from (NULL: nothing). */
void brk_cycle_destroy(brk_cycle_t *c);
/* The metrics slot of shard of a server's workers, assigned on first use and kept across
 * restarts and reloads; -1 when none is left (the worker then runs without metrics). */
long brk_cycle_worker_slot(brk_cycle_t *c, unsigned metrics_slots, const char *server,
                           unsigned shard);
/* The worker processes cfg asks for: every server's servers[].workers. */
unsigned brk_cycle_nworkers(const gw_config_t *cfg);

/* ---- children.c: the routers and workers the broker spawns ---- */

/* Finds a child program next to this one (build tree, tests) or in the libexec directory. */
gw_err_t brk_children_find_program(const char *name, char *out, size_t outlen);
/* Adds shard (0..servers[].workers - 1) of server's workers (program is mcpgw-worker's path) to
 * the supervisor. */
gw_err_t brk_children_add_worker(brk_t *b, const char *program, const char *server, unsigned shard);
/* Adds every router and worker of the running cycle to the supervisor. */
gw_err_t brk_children_add_all(brk_t *b);

/* ---- ready.c: readiness (systemd, /readyz) and the admin listener's broker metrics ---- */

/* Declares the gateway ready (READY=1 to systemd) once routers and backends are in. */
void brk_ready_check(brk_t *b);
/* How many backends are up. */
size_t brk_ready_backends_up(const brk_t *b);
/* The admin listener's callbacks for b (/metrics lines of the broker, /readyz). */
brk_admin_ops_t brk_ready_admin_ops(brk_t *b);

/* ---- startup.c ---- */

/* Binds the client listeners (config listen); their fds go to the routers. */
gw_err_t brk_startup_bind_listeners(brk_t *b);
/* Opens the broker's inbox, its outboxes and the control socket. */
gw_err_t brk_startup_open_sockets(brk_t *b);
/* mkdir -p, the last component 0750. */
gw_err_t brk_startup_make_dirs(const char *path);

#endif
