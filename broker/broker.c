/* broker.c: mcpgw-broker, the process systemd starts: loads the config, binds the listeners,
 * supervises routers and workers, holds the catalog and the session map, answers gateway-level
 * methods, pushes the routing table and serves the control socket. */
#include <config.h> /* autoconf's, not common/config.h */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <nng/nng.h>

#include "broker/admin.h"
#include "broker/catalog.h"
#include "broker/supervise.h"
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
#include "common/streams.h"
#include "common/token.h"

#define MAX_LISTEN 16
#define MAX_ROUTERS 64
#define SESSION_BUCKETS 4096
#define READY_WAIT_MS 10000 /* longest wait for backends before declaring ready anyway */

typedef struct subscriber {
    int active;
    uint64_t corr;
    uint64_t acked; /* the last routing-table push this router confirmed having applied */
} subscriber_t;

/* A DELETE answered only once every router applied the revocation and every worker closed its
 * upstream session: a call made after the client saw 200 can never slip through (a router
 * still holding the old table would otherwise accept it). Bounded by a deadline. */
typedef struct pending_delete {
    uint64_t id;  /* correlation id of the session/close messages */
    uint64_t seq; /* the routing-table push that carries the revocation */
    unsigned workers_left;
    int64_t deadline_ms;
    char origin[32];
    uint64_t corr;
} pending_delete_t;

#define MAX_PENDING_DELETES 1024
#define DELETE_WAIT_MS 1000
#define DELETE_CORR_BASE (UINT64_C(1) << 62)

#define OUTBOX_MAX_QUEUED 65536
#define STREAM_REPLAY_BYTES (1u << 20) /* per session, besides sessions.stream_replay events */

typedef struct session {
    char uuid[GW_UUID_TEXT_LEN + 1];
    char client[48]; /* the client address it was created from */
    int64_t created_s;
    int64_t expires_s;
    int64_t last_s;
    int64_t last_ms; /* gw_clock_ms() of the last request seen (sessions.idle_timeout) */
    int revoked;
    struct session *next;
} session_t;

typedef struct broker {
    gw_config_t *cfg;
    char config_path[PATH_MAX];
    gw_keyring_t *keys;
    brk_catalog_t cat;
    brk_supervisor_t sup;
    nng_socket inbox; /* broker.ipc: requests and reports from routers and workers */
    nng_socket csock; /* control socket: mcpgwctl (raw REP: one or two replies a command) */
    gw_ipc_guard_t inbox_guard; /* nng 1.5.2: listeners that stop taking peers are replaced */
    gw_ipc_guard_t control_guard;
    gw_outboxes_t out; /* to routers and workers, opened on first use */
    int listen_fds[MAX_LISTEN + 1];
    size_t nlisten;
    char listen_desc[512];
    subscriber_t subs[MAX_ROUTERS];
    session_t *sessions[SESSION_BUCKETS];
    size_t nsessions;
    size_t nrevoked;
    uint64_t routes_seq;
    pending_delete_t deletes[MAX_PENDING_DELETES];
    size_t ndeletes;
    uint64_t next_delete;
    gw_metrics_t *metrics; /* <runtime_dir>/metrics: one slot per child */
    unsigned metrics_slots;
    char worker_slots[GW_METRICS_SLOTS_MAX]
                     [GW_SERVER_NAME_MAX + 1]; /* server of each worker slot */
    unsigned nworker_slots;
    brk_admin_t *admin;
    char admin_desc[80];
    int signal_pipe[2];
    int ready;
    int stopping;
    int64_t drain_deadline_ms; /* non-zero while draining (mcpgwctl drain) */
    int64_t drain_started_ms;
    int64_t start_ms;
    int64_t next_sweep_ms;
    gw_streams_t streams;             /* the clients' GET streams */
    uint64_t list_digest[BRK_NLISTS]; /* what clients last saw of each list */
    int64_t next_idle_ms;             /* when to look for idle sessions next */
    uint64_t idle_expired;            /* sessions ended by sessions.idle_timeout */
    gw_str_t request_id; /* of the message being handled, for log lines deep in replies */
} broker_t;

static broker_t B;

/* ---- sessions ---- */

static unsigned session_hash(const char *uuid)
{
    return (unsigned)gw_hash(uuid, strlen(uuid)) & (SESSION_BUCKETS - 1);
}

static session_t *session_find(const char *uuid, size_t len)
{
    char key[GW_UUID_TEXT_LEN + 1];
    if (len != GW_UUID_TEXT_LEN) {
        return NULL;
    }
    memcpy(key, uuid, len);
    key[len] = '\0';
    for (session_t *s = B.sessions[session_hash(key)]; s != NULL; s = s->next) {
        if (strcmp(s->uuid, key) == 0) {
            return s;
        }
    }
    return NULL;
}

static session_t *session_add(const char *uuid, int64_t now, int64_t expires)
{
    session_t *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        return NULL;
    }
    snprintf(s->uuid, sizeof(s->uuid), "%s", uuid);
    s->created_s = s->last_s = now;
    s->last_ms = gw_clock_ms();
    s->expires_s = expires;
    unsigned h = session_hash(s->uuid);
    s->next = B.sessions[h];
    B.sessions[h] = s;
    B.nsessions++;
    return s;
}

/* The session a router names: one this broker never saw (it was restarted) exists all the same,
 * since the router checked its token; it is learnt, valid until the longest possible expiry.
 * NULL only when out of memory. */
static session_t *session_find_or_learn(gw_str_t id)
{
    session_t *s = session_find(id.ptr, id.len);
    if (s == NULL && id.len == GW_UUID_TEXT_LEN) {
        char uuid[GW_UUID_TEXT_LEN + 1];
        snprintf(uuid, sizeof(uuid), "%.*s", (int)id.len, id.ptr);
        int64_t now = gw_wallclock_s();
        s = session_add(uuid, now, now + (int64_t)B.cfg->session_ttl_s);
    }
    return s;
}

/* Live sessions created from one client address (limits.max_sessions_per_client). A scan is
 * fine at initialize rates; a map per address is the step up if it shows in a profile. */
static size_t sessions_of_client(const char *client)
{
    size_t n = 0;
    for (size_t i = 0; i < SESSION_BUCKETS; i++) {
        for (const session_t *s = B.sessions[i]; s != NULL; s = s->next) {
            n += !s->revoked && strcmp(s->client, client) == 0;
        }
    }
    return n;
}

static void stream_forget(const char *uuid, size_t len);

/* Drops sessions past their expiry; a revoked one can go too, its token no longer opens. */
static void sessions_sweep(int64_t now)
{
    for (size_t i = 0; i < SESSION_BUCKETS; i++) {
        session_t **pp = &B.sessions[i];
        while (*pp != NULL) {
            session_t *s = *pp;
            if (s->expires_s > now) {
                pp = &s->next;
                continue;
            }
            *pp = s->next;
            B.nsessions--;
            stream_forget(s->uuid, strlen(s->uuid));
            if (s->revoked) {
                B.nrevoked--;
            }
            free(s);
        }
    }
}

/* ---- replies ---- */

static void send_to(gw_str_t to, gw_envelope_t *e)
{
    gw_outbox_t *o = gw_outboxes_get(&B.out, to);
    e->origin = GW_STR("broker");
    gw_err_t err = o != NULL ? gw_outbox_send(o, e) : GW_ENOTFOUND;
    if (err != GW_OK) {
        gw_log_warn("msg=\"send failed\" peer=%.*s error=\"%s\" request_id=%.*s", (int)to.len,
                    to.ptr, gw_strerror(err), (int)B.request_id.len, B.request_id.ptr);
    }
}

static void reply(gw_str_t to, uint64_t corr, uint8_t kind, unsigned status, const char *body,
                  size_t len)
{
    gw_envelope_t e = {.kind = kind, .corr = corr, .status = status};
    e.body = (gw_str_t){body, len};
    send_to(to, &e);
}

/* Answers one JSON-RPC message as a whole JSON reply, in one message (HEAD + F_FINAL). */
static void reply_json(gw_str_t to, uint64_t corr, const gw_env_header_t *hdr, const char *body,
                       size_t len)
{
    gw_envelope_t e = {.kind = GW_ENV_HEAD, .corr = corr, .status = 200, .flags = GW_ENV_F_FINAL};
    if (hdr != NULL) {
        e.headers[0] = *hdr;
        e.nheaders = 1;
    }
    e.body = (gw_str_t){body, len};
    send_to(to, &e);
}

static void reply_rpc_error(const gw_envelope_t *req, int code, const char *msg)
{
    gw_buf_t b;
    gw_buf_init(&b);
    gw_log_info("msg=rejected code=%d reason=\"%s\" request_id=%.*s", code, msg,
                (int)req->request_id.len, req->request_id.ptr);
    gw_rpc_error(&b, req->rpc_id.ptr, req->rpc_id.len, code, msg);
    reply_json(req->origin, req->corr, NULL, b.data, b.len);
    gw_buf_fini(&b);
}

/* A JSON-RPC error with an HTTP status of its own (429, 503). */
static void reply_rpc_error_status(const gw_envelope_t *req, unsigned status, int code,
                                   const char *msg)
{
    gw_buf_t b;
    gw_buf_init(&b);
    gw_log_info("msg=rejected status=%u code=%d reason=\"%s\" request_id=%.*s", status, code, msg,
                (int)req->request_id.len, req->request_id.ptr);
    gw_rpc_error(&b, req->rpc_id.ptr, req->rpc_id.len, code, msg);
    gw_envelope_t e = {
        .kind = GW_ENV_HEAD, .corr = req->corr, .status = status, .flags = GW_ENV_F_FINAL};
    e.body = (gw_str_t){b.data, b.len};
    send_to(req->origin, &e);
    gw_buf_fini(&b);
}

/* ---- GET streams (docs/ipc.md "GET streams") ---- */

static void stream_send(const gw_stream_t *st, const char *id, const char *json, size_t len)
{
    if (st->holder[0] == '\0') {
        return; /* kept for replay: the client resumes with Last-Event-ID */
    }
    gw_envelope_t e = {.kind = GW_ENV_CHUNK, .corr = st->holder_corr};
    e.headers[0] = (gw_env_header_t){GW_STR("event-id"), {id, strlen(id)}};
    e.nheaders = 1;
    e.body = (gw_str_t){json, len};
    send_to((gw_str_t){st->holder, strlen(st->holder)}, &e);
}

static void stream_publish(gw_stream_t *st, const char *json, size_t len)
{
    char id[GW_EVENT_ID_MAX];
    if (gw_stream_publish(&B.streams, st, json, len, id) != GW_OK) {
        gw_log_warn("msg=\"event not kept for replay: out of memory\" session=%s", st->key);
    }
    stream_send(st, id, json, len);
}

/* Ends the session's GET stream, if one is open, and forgets it (DELETE, expiry). */
static void stream_forget(const char *uuid, size_t len)
{
    gw_stream_t *st = gw_streams_find(&B.streams, uuid, len);
    if (st == NULL) {
        return;
    }
    if (st->holder[0] != '\0') {
        reply((gw_str_t){st->holder, strlen(st->holder)}, st->holder_corr, GW_ENV_END, 200, NULL,
              0);
    }
    gw_streams_drop(&B.streams, uuid, len);
}

static void replay_one(void *arg, const char *id, const char *json, size_t len)
{
    stream_send(arg, id, json, len);
}

/* A router opens a client's GET stream: the newest stream of a session holds it (an older one is
 * ended), events after Last-Event-ID are replayed, then every new event follows. */
static void handle_stream_open(const gw_envelope_t *e)
{
    session_t *s = session_find_or_learn(e->session);
    if (s != NULL && s->revoked) {
        gw_buf_t b;
        gw_buf_init(&b);
        gw_rpc_error(&b, NULL, 0, GW_RPC_SESSION_NOT_FOUND, "Session not found");
        reply(e->origin, e->corr, GW_ENV_END, 404, b.data, b.len);
        gw_buf_fini(&b);
        return;
    }
    gw_stream_t *st = s != NULL ? gw_streams_get(&B.streams, e->session.ptr, e->session.len) : NULL;
    if (st == NULL) {
        reply(e->origin, e->corr, GW_ENV_END, 503, NULL, 0);
        return;
    }
    char prev[GW_STREAM_HOLDER_MAX];
    uint64_t prev_corr;
    gw_stream_hold(st, e->origin.ptr, e->origin.len, e->corr, prev, &prev_corr);
    if (prev[0] != '\0') {
        reply((gw_str_t){prev, strlen(prev)}, prev_corr, GW_ENV_END, 200, NULL, 0);
    }
    gw_envelope_t h = {.kind = GW_ENV_HEAD, .corr = e->corr, .status = 200, .flags = GW_ENV_F_SSE};
    send_to(e->origin, &h);
    gw_str_t last = GW_STR_NULL;
    for (size_t i = 0; i < e->nheaders; i++) {
        if (gw_str_eq(e->headers[i].name, "last-event-id")) {
            last = e->headers[i].value;
        }
    }
    size_t missed = gw_stream_replay(&B.streams, st, last.ptr, last.len, replay_one, st);
    gw_log_info("msg=\"stream opened\" session=%s request_id=%.*s last_event_id=\"%.*s\" "
                "replaced=%d missed=%zu",
                st->key, (int)e->request_id.len, e->request_id.ptr,
                (int)(last.len < 40 ? last.len : 40), last.ptr ? last.ptr : "", prev[0] != '\0',
                missed);
}

static void handle_stream_close(const gw_envelope_t *e)
{
    gw_stream_t *st = gw_streams_find(&B.streams, e->session.ptr, e->session.len);
    if (st != NULL && gw_stream_release(st, e->origin.ptr, e->origin.len, e->corr)) {
        gw_log_debug("msg=\"stream closed\" session=%s", st->key);
    }
}

/* A message for one client from a backend (its upstream GET stream): onto the client's stream. */
static void handle_session_event(const gw_envelope_t *e)
{
    gw_stream_t *st = gw_streams_find(&B.streams, e->session.ptr, e->session.len);
    if (st == NULL) {
        gw_log_debug("msg=\"event dropped: the session never opened a GET stream\" session=%.*s "
                     "from=%.*s",
                     (int)e->session.len, e->session.ptr, (int)e->origin.len, e->origin.ptr);
        return;
    }
    stream_publish(st, e->body.ptr, e->body.len);
}

typedef struct announce {
    const char *json;
    size_t len;
} announce_t;

static void announce_one(void *arg, gw_stream_t *st)
{
    const announce_t *a = arg;
    stream_publish(st, a->json, a->len);
}

/* After every catalog change: each client with a GET stream gets list_changed for the lists
 * whose contents changed (templates count as resources: the spec has one notification). */
static void announce_list_changes(void)
{
    static const char *const notes[BRK_NLISTS] = {
        [BRK_TOOLS] = "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/tools/list_changed\"}",
        [BRK_PROMPTS] = "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/prompts/list_changed\"}",
        [BRK_RESOURCES] =
            "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/resources/list_changed\"}",
    };
    int changed[BRK_NLISTS] = {0};
    for (int l = 0; l < BRK_NLISTS; l++) {
        uint64_t d = brk_catalog_digest(&B.cat, (brk_list_t)l);
        changed[l == BRK_TEMPLATES ? BRK_RESOURCES : l] |= d != B.list_digest[l];
        B.list_digest[l] = d;
    }
    for (int l = 0; l < BRK_NLISTS; l++) {
        if (!changed[l] || notes[l] == NULL) {
            continue;
        }
        gw_log_info("msg=\"list changed\" list=%s streams=%zu", brk_list_key((brk_list_t)l),
                    gw_streams_count(&B.streams));
        announce_t a = {notes[l], strlen(notes[l])};
        gw_streams_each(&B.streams, announce_one, &a);
    }
}

/* Sends one message of the routes subscription to router i, or to every router (i < 0). */
static void send_routes_message(long only, const gw_buf_t *b)
{
    for (size_t i = 0; i < MAX_ROUTERS; i++) {
        if (B.subs[i].active && (only < 0 || (size_t)only == i)) {
            char name[32];
            snprintf(name, sizeof(name), "router-%zu", i);
            reply((gw_str_t){name, strlen(name)}, B.subs[i].corr, GW_ENV_CHUNK, 0, b->data, b->len);
        }
    }
}

static void gen_revoked_entry(yajl_gen g, const session_t *s)
{
    char entry[GW_UUID_TEXT_LEN + 24];
    snprintf(entry, sizeof(entry), "%s %lld", s->uuid, (long long)s->expires_s);
    gw_json_gen_cstr(g, entry);
}

/* Revocations go to the routers as they happen, in small messages of their own ({"seq", "revoke":
 * ["<uuid> <expires>", ...]}); a router keeps each until its token expires. A router that
 * subscribes gets them all at once first (only = its index, "reset": true). Returns GW_OK when
 * the message went out (a DELETE waits for the routers' acknowledgement of its seq). */
static gw_err_t push_revoked(long only, session_t *const *list, size_t n)
{
    gw_buf_t b;
    gw_buf_init(&b);
    yajl_gen g = gw_json_gen_to_buf(&b);
    if (g == NULL) {
        return GW_ENOMEM;
    }
    B.routes_seq++;
    yajl_gen_map_open(g);
    gw_json_gen_cstr(g, "seq");
    yajl_gen_integer(g, (long long)B.routes_seq);
    if (list == NULL) {
        gw_json_gen_cstr(g, "reset");
        yajl_gen_bool(g, 1);
    }
    gw_json_gen_cstr(g, "revoke");
    yajl_gen_array_open(g);
    for (size_t i = 0; list != NULL && i < n; i++) {
        gen_revoked_entry(g, list[i]);
    }
    for (size_t i = 0; list == NULL && i < SESSION_BUCKETS; i++) {
        for (const session_t *s = B.sessions[i]; s != NULL; s = s->next) {
            if (s->revoked) {
                gen_revoked_entry(g, s);
            }
        }
    }
    yajl_gen_array_close(g);
    yajl_gen_map_close(g);
    yajl_gen_free(g);
    send_routes_message(only, &b);
    gw_buf_fini(&b);
    return GW_OK;
}

/* The routing table (catalog and settings, no revocations) to every router. */
static void push_routes(void)
{
    gw_buf_t b;
    gw_buf_init(&b);
    B.routes_seq++;
    if (brk_catalog_routes(&B.cat, B.routes_seq, &b) != GW_OK) {
        gw_log_err("msg=\"cannot build the routing table\"");
        gw_buf_fini(&b);
        return;
    }
    send_routes_message(-1, &b);
    gw_buf_fini(&b);
}

/* ---- gateway-level methods ---- */

static void handle_initialize(const gw_envelope_t *e)
{
    char client[48] = "";
    for (size_t i = 0; i < e->nheaders; i++) {
        if (gw_str_eq(e->headers[i].name, "client-address") &&
            e->headers[i].value.len < sizeof(client)) {
            memcpy(client, e->headers[i].value.ptr, e->headers[i].value.len);
            client[e->headers[i].value.len] = '\0';
        }
    }
    if (B.drain_deadline_ms != 0) {
        reply_rpc_error_status(e, 503, GW_RPC_INTERNAL_ERROR,
                               "Service Unavailable: the gateway is draining");
        return;
    }
    if (B.cfg->max_sessions > 0 && B.nsessions - B.nrevoked >= B.cfg->max_sessions) {
        gw_log_warn("msg=\"session refused: limits.max_sessions reached\" client=%s limit=%u "
                    "request_id=%.*s",
                    client, B.cfg->max_sessions, (int)e->request_id.len, e->request_id.ptr);
        reply_rpc_error_status(e, 503, GW_RPC_INTERNAL_ERROR,
                               "Service Unavailable: the gateway has reached limits.max_sessions");
        return;
    }
    if (B.cfg->max_sessions_per_client > 0 &&
        sessions_of_client(client) >= B.cfg->max_sessions_per_client) {
        gw_log_warn("msg=\"session refused: limits.max_sessions_per_client reached\" client=%s "
                    "limit=%u request_id=%.*s",
                    client, B.cfg->max_sessions_per_client, (int)e->request_id.len,
                    e->request_id.ptr);
        reply_rpc_error_status(e, 429, GW_RPC_INTERNAL_ERROR,
                               "Too Many Requests: this client has reached "
                               "limits.max_sessions_per_client");
        return;
    }
    gw_proto_t proto = e->proto != GW_PROTO_NONE ? (gw_proto_t)e->proto : GW_PROTO_LATEST;
    int64_t now = gw_wallclock_s();
    gw_session_claims_t c = {.issued = now,
                             .expires = now + (int64_t)B.cfg->session_ttl_s,
                             .proto = (uint8_t)proto,
                             .caps = e->caps};
    char token[GW_TOKEN_MAX];
    char uuid[GW_UUID_TEXT_LEN + 1];
    if (gw_uuid_random(c.uuid) != GW_OK ||
        gw_token_seal(B.keys, &c, token, sizeof(token)) != GW_OK) {
        reply_rpc_error(e, GW_RPC_INTERNAL_ERROR, "cannot create a session");
        return;
    }
    gw_uuid_format(c.uuid, uuid);
    session_t *sess = session_add(uuid, now, c.expires);
    if (sess == NULL) {
        reply_rpc_error(e, GW_RPC_INTERNAL_ERROR, "out of memory");
        return;
    }
    snprintf(sess->client, sizeof(sess->client), "%s", client);
    gw_buf_t result;
    gw_buf_init(&result);
    yajl_gen g = gw_json_gen_to_buf(&result);
    yajl_gen_map_open(g);
    gw_json_gen_cstr(g, "protocolVersion");
    gw_json_gen_cstr(g, gw_proto_name(proto));
    gw_json_gen_cstr(g, "capabilities");
    brk_catalog_gen_capabilities(&B.cat, g);
    gw_json_gen_cstr(g, "serverInfo");
    yajl_gen_map_open(g);
    gw_json_gen_cstr(g, "name");
    gw_json_gen_cstr(g, "mcpgw");
    gw_json_gen_cstr(g, "version");
    gw_json_gen_cstr(g, PACKAGE_VERSION);
    yajl_gen_map_close(g);
    yajl_gen_map_close(g);
    yajl_gen_free(g);
    gw_buf_t msg;
    gw_buf_init(&msg);
    gw_rpc_result(&msg, e->rpc_id.ptr, e->rpc_id.len, result.data, result.len);
    gw_env_header_t h = {GW_STR("mcp-session-id"), {token, strlen(token)}};
    reply_json(e->origin, e->corr, &h, msg.data, msg.len);
    gw_log_info("msg=\"session created\" session=%s protocol=%s request_id=%.*s", uuid,
                gw_proto_name(proto), (int)e->request_id.len, e->request_id.ptr);
    gw_buf_fini(&result);
    gw_buf_fini(&msg);
}

static void handle_list(const gw_envelope_t *e)
{
    static const struct {
        const char *method;
        brk_list_t list;
        const char *capability;
    } list_methods[] = {
        {"tools/list", BRK_TOOLS, NULL},
        {"prompts/list", BRK_PROMPTS, "prompts"},
        {"resources/list", BRK_RESOURCES, "resources"},
        {"resources/templates/list", BRK_TEMPLATES, "resources"},
    };
    size_t m = 0;
    while (m < sizeof(list_methods) / sizeof(list_methods[0]) &&
           !gw_str_eq(e->method, list_methods[m].method)) {
        m++;
    }
    if (m == sizeof(list_methods) / sizeof(list_methods[0])) {
        reply_rpc_error(e, GW_RPC_METHOD_NOT_FOUND, "Method not found");
        return;
    }
    if (list_methods[m].capability != NULL &&
        !brk_catalog_offers(&B.cat, list_methods[m].capability)) {
        char msg[96];
        snprintf(msg, sizeof(msg), "Method not found: no backend offers %s",
                 list_methods[m].capability);
        reply_rpc_error(e, GW_RPC_METHOD_NOT_FOUND, msg);
        return;
    }
    session_t *s = session_find(e->session.ptr, e->session.len);
    if (s != NULL) {
        s->last_s = gw_wallclock_s();
        s->last_ms = gw_clock_ms();
    }
    /* The control path may afford a tree: the cursor is all it needs from the body. */
    char err[64];
    yajl_val body = gw_json_parse(e->body.ptr, e->body.len, err, sizeof(err));
    yajl_val cursor = gw_json_get(gw_json_get(body, "params"), "cursor");
    if (cursor != NULL && !YAJL_IS_STRING(cursor)) {
        yajl_tree_free(body);
        reply_rpc_error(e, GW_RPC_INVALID_PARAMS, "Invalid params: cursor must be a string");
        return;
    }
    gw_buf_t result;
    gw_buf_t msg;
    gw_buf_init(&result);
    gw_buf_init(&msg);
    gw_err_t rc =
        brk_catalog_page(&B.cat, list_methods[m].list, cursor ? YAJL_GET_STRING(cursor) : NULL,
                         B.cfg->page_size, &result);
    yajl_tree_free(body);
    if (rc == GW_EINVAL) {
        reply_rpc_error(e, GW_RPC_INVALID_PARAMS,
                        "Invalid params: unknown or stale cursor (the list changed; start over)");
    } else if (rc != GW_OK || gw_rpc_result(&msg, e->rpc_id.ptr, e->rpc_id.len, result.data,
                                            result.len) != GW_OK) {
        reply_rpc_error(e, GW_RPC_INTERNAL_ERROR, "out of memory");
    } else {
        reply_json(e->origin, e->corr, NULL, msg.data, msg.len);
    }
    gw_buf_fini(&result);
    gw_buf_fini(&msg);
}

/* Asks every worker to close its upstream session of the gateway session (a DELETE upstream);
 * corr is for their answers (0: none awaited). Returns how many were asked. */
static unsigned close_upstream(gw_str_t session, gw_str_t request_id, uint64_t corr)
{
    unsigned sent = 0;
    gw_envelope_t close = {.kind = GW_ENV_CONTROL, .session = session};
    close.method = GW_STR("session/close");
    close.request_id = request_id;
    close.corr = corr;
    for (size_t i = 0; i < B.cfg->nservers; i++) {
        char name[GW_SERVER_NAME_MAX + 8];
        snprintf(name, sizeof(name), "worker-%s", B.cfg->servers[i].name);
        gw_outbox_t *o = gw_outboxes_get(&B.out, (gw_str_t){name, strlen(name)});
        close.origin = GW_STR("broker");
        if (o != NULL && gw_outbox_send(o, &close) == GW_OK) {
            sent++;
        }
    }
    return sent;
}

static void handle_session_delete(const gw_envelope_t *e)
{
    session_t *s = session_find_or_learn(e->session); /* its revocation is kept until then */
    if (s == NULL) {
        reply(e->origin, e->corr, GW_ENV_END, 503, NULL, 0);
        return;
    }
    if (s->revoked) {
        reply(e->origin, e->corr, GW_ENV_END, 404, NULL, 0);
        return;
    }
    s->revoked = 1;
    B.nrevoked++;
    stream_forget(s->uuid, strlen(s->uuid));
    push_revoked(-1, &s, 1);
    pending_delete_t *d = NULL;
    if (e->origin.len > 0 && B.ndeletes < MAX_PENDING_DELETES &&
        e->origin.len < sizeof(d->origin)) {
        d = &B.deletes[B.ndeletes++];
        d->id = DELETE_CORR_BASE + ++B.next_delete;
        d->seq = B.routes_seq;
        d->workers_left = 0;
        d->deadline_ms = gw_clock_ms() + DELETE_WAIT_MS;
        memcpy(d->origin, e->origin.ptr, e->origin.len);
        d->origin[e->origin.len] = '\0';
        d->corr = e->corr;
    }
    unsigned sent = close_upstream(e->session, e->request_id, d != NULL ? d->id : 0);
    if (d != NULL) {
        d->workers_left = sent;
    }
    gw_log_info("msg=\"session deleted\" session=%s request_id=%.*s", s->uuid,
                (int)e->request_id.len, e->request_id.ptr);
    if (d == NULL && e->origin.len > 0) {
        reply(e->origin, e->corr, GW_ENV_END, 200, NULL, 0); /* too many at once: don't wait */
    }
}

/* Ends the sessions with no request for sessions.idle_timeout as a DELETE would: revoked (their
 * next request gets 404), their upstream sessions closed. Routers report activity every
 * brk_activity_ms(); that much more is allowed, so that a report on its way is not missed. */
static void expire_idle_sessions(int64_t now_ms)
{
    int64_t limit = (int64_t)(B.cfg->session_idle_ms + brk_activity_ms(B.cfg));
    size_t n = 0;
    session_t *batch[256]; /* revocations go out in messages of up to this many */
    size_t nbatch = 0;
    for (size_t i = 0; i < SESSION_BUCKETS; i++) {
        for (session_t *s = B.sessions[i]; s != NULL; s = s->next) {
            if (s->revoked || now_ms - s->last_ms < limit) {
                continue;
            }
            const gw_stream_t *st = gw_streams_find(&B.streams, s->uuid, strlen(s->uuid));
            if (st != NULL && st->holder[0] != '\0') {
                s->last_ms = now_ms; /* a client listening on its GET stream is using it */
                continue;
            }
            s->revoked = 1;
            B.nrevoked++;
            stream_forget(s->uuid, strlen(s->uuid));
            close_upstream((gw_str_t){s->uuid, strlen(s->uuid)}, GW_STR_NULL, 0);
            gw_log_info("msg=\"session expired\" session=%s reason=idle idle_ms=%lld", s->uuid,
                        (long long)(now_ms - s->last_ms));
            n++;
            batch[nbatch++] = s;
            if (nbatch == sizeof(batch) / sizeof(batch[0])) {
                push_revoked(-1, batch, nbatch);
                nbatch = 0;
            }
        }
    }
    if (nbatch > 0) {
        push_revoked(-1, batch, nbatch);
    }
    B.idle_expired += n;
}

/* A router's report of the sessions used since its last one ("sessions/active", docs/ipc.md):
 * "<uuid> <expires>" lines. A session this broker does not know (it was restarted) is learnt
 * again from it; a revoked one stays revoked. */
static void handle_sessions_active(const gw_envelope_t *e)
{
    int64_t now_ms = gw_clock_ms();
    int64_t now_s = gw_wallclock_s();
    const char *p = e->body.ptr;
    const char *end = p + e->body.len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *eol = nl != NULL ? nl : end;
        char uuid[GW_UUID_TEXT_LEN + 1];
        char num[24];
        size_t nlen = (size_t)(eol - p) - (GW_UUID_TEXT_LEN + 1);
        if (eol - p > GW_UUID_TEXT_LEN + 1 && p[GW_UUID_TEXT_LEN] == ' ' && nlen < sizeof(num) &&
            strspn(p, "0123456789abcdef-") >= GW_UUID_TEXT_LEN) {
            memcpy(uuid, p, GW_UUID_TEXT_LEN);
            uuid[GW_UUID_TEXT_LEN] = '\0';
            memcpy(num, p + GW_UUID_TEXT_LEN + 1, nlen);
            num[nlen] = '\0';
            int64_t expires = strtoll(num, NULL, 10);
            session_t *s = session_find(uuid, GW_UUID_TEXT_LEN);
            if (s == NULL && expires > now_s && (s = session_add(uuid, now_s, expires)) != NULL) {
                gw_log_debug("msg=\"session learnt from a router\" session=%s", uuid);
            }
            if (s != NULL && !s->revoked) {
                s->last_s = now_s;
                s->last_ms = now_ms;
            }
        }
        p = eol + 1;
    }
}

/* Answers the DELETEs whose revocation every router applied and every worker acted on (or
 * whose deadline passed: a dead router or worker does not hold a client up). */
static void finish_deletes(void)
{
    int64_t now = gw_clock_ms();
    for (size_t i = 0; i < B.ndeletes;) {
        pending_delete_t *d = &B.deletes[i];
        int routers_done = 1;
        for (size_t r = 0; r < MAX_ROUTERS && routers_done; r++) {
            routers_done = !B.subs[r].active || B.subs[r].acked >= d->seq;
        }
        if ((routers_done && d->workers_left == 0) || now >= d->deadline_ms) {
            reply((gw_str_t){d->origin, strlen(d->origin)}, d->corr, GW_ENV_END, 200, NULL, 0);
            B.deletes[i] = B.deletes[--B.ndeletes];
            continue;
        }
        i++;
    }
}

static void on_worker_reply(const gw_envelope_t *e)
{
    for (size_t i = 0; i < B.ndeletes; i++) {
        if (B.deletes[i].id == e->corr && B.deletes[i].workers_left > 0) {
            B.deletes[i].workers_left--;
            return;
        }
    }
}

static void on_routes_ack(const gw_envelope_t *e)
{
    char name[32];
    char buf[24];
    unsigned long r;
    if (e->origin.len >= sizeof(name) || e->body.len >= sizeof(buf)) {
        return;
    }
    memcpy(name, e->origin.ptr, e->origin.len);
    name[e->origin.len] = '\0';
    if (sscanf(name, "router-%lu", &r) != 1 || r >= MAX_ROUTERS) {
        return;
    }
    memcpy(buf, e->body.ptr, e->body.len);
    buf[e->body.len] = '\0';
    uint64_t seq = strtoull(buf, NULL, 10);
    if (seq > B.subs[r].acked) {
        B.subs[r].acked = seq;
    }
}

static void check_ready(void);
static size_t backends_up(void);
static long worker_slot(const char *server);
static int add_worker(const char *program, const char *server);
static int find_program(const char *name, char *out, size_t outlen);

static void handle_routes_subscribe(const gw_envelope_t *e)
{
    char idx[16];
    snprintf(idx, sizeof(idx), "%.*s", (int)(e->body.len < 15 ? e->body.len : 15), e->body.ptr);
    unsigned long i = strtoul(idx, NULL, 10);
    if (i >= MAX_ROUTERS) {
        return;
    }
    char expect[32];
    snprintf(expect, sizeof(expect), "router-%lu", i);
    if (!gw_str_eq(e->origin, expect)) {
        return;
    }
    B.subs[i].active = 1;
    B.subs[i].corr = e->corr;
    /* a router (re)subscribes when it starts: streams an earlier one held are gone */
    gw_streams_release_holder(&B.streams, expect);
    gw_log_debug("msg=\"router subscribed\" router=%lu", i);
    push_revoked((long)i, NULL, 0); /* every revocation first: then the table that opens it */
    push_routes();
    check_ready();
}

static void on_inbox_message(void *arg, const gw_envelope_t *e, gw_str_t frame)
{
    if (e->kind == GW_ENV_CONTROL) {
        if (gw_str_eq(e->method, "routes")) {
            handle_routes_subscribe(e);
        } else if (gw_str_eq(e->method, "catalog")) {
            if (brk_catalog_apply_report(&B.cat, e->body.ptr, e->body.len) == GW_OK) {
                push_routes();
                check_ready();
                announce_list_changes();
            }
            reply(e->origin, e->corr, GW_ENV_END, 200, NULL, 0);
        } else if (gw_str_eq(e->method, "session/delete")) {
            B.request_id = e->request_id;
            handle_session_delete(e);
            B.request_id = GW_STR("");
        } else if (gw_str_eq(e->method, "routes/ack")) {
            on_routes_ack(e);
        } else if (gw_str_eq(e->method, "session/event")) {
            handle_session_event(e);
        } else if (gw_str_eq(e->method, "stream/open")) {
            handle_stream_open(e);
        } else if (gw_str_eq(e->method, "stream/close")) {
            handle_stream_close(e);
        } else if (gw_str_eq(e->method, "sessions/active")) {
            handle_sessions_active(e);
        } else {
            reply(e->origin, e->corr, GW_ENV_END, 400, NULL, 0);
        }
        return;
    }
    if (e->kind == GW_ENV_END && e->corr > DELETE_CORR_BASE) {
        on_worker_reply(e);
        return;
    }
    if (e->kind != GW_ENV_CALL) {
        return;
    }
    gw_log_debug("msg=\"call received\" request_id=%.*s method=%.*s session=%.*s from=%.*s",
                 (int)e->request_id.len, e->request_id.ptr, (int)e->method.len, e->method.ptr,
                 (int)e->session.len, e->session.ptr, (int)e->origin.len, e->origin.ptr);
    B.request_id = e->request_id;
    if (gw_str_eq(e->method, "initialize")) {
        handle_initialize(e);
    } else {
        handle_list(e);
    }
    B.request_id = GW_STR("");
}

/* ---- control socket ---- */

static void control_status(yajl_gen g)
{
    yajl_gen_map_open(g);
    gw_json_gen_cstr(g, "version");
    gw_json_gen_cstr(g, PACKAGE_VERSION);
    gw_json_gen_cstr(g, "ready");
    yajl_gen_bool(g, B.ready);
    gw_json_gen_cstr(g, "listen");
    gw_json_gen_cstr(g, B.listen_desc);
    gw_json_gen_cstr(g, "admin");
    gw_json_gen_cstr(g, B.admin != NULL ? B.admin_desc : "");
    gw_json_gen_cstr(g, "sessions");
    yajl_gen_integer(g, (long long)(B.nsessions - B.nrevoked));
    gw_json_gen_cstr(g, "processes");
    yajl_gen_array_open(g);
    yajl_gen_map_open(g);
    gw_json_gen_cstr(g, "pid");
    yajl_gen_integer(g, getpid());
    gw_json_gen_cstr(g, "role");
    gw_json_gen_cstr(g, "broker");
    gw_json_gen_cstr(g, "name");
    gw_json_gen_cstr(g, "broker");
    gw_json_gen_cstr(g, "state");
    gw_json_gen_cstr(g, "running");
    gw_json_gen_cstr(g, "restarts");
    yajl_gen_integer(g, 0);
    yajl_gen_map_close(g);
    for (size_t i = 0; i < B.sup.nchildren; i++) {
        const brk_child_t *c = &B.sup.children[i];
        yajl_gen_map_open(g);
        gw_json_gen_cstr(g, "pid");
        yajl_gen_integer(g, c->pid);
        gw_json_gen_cstr(g, "role");
        gw_json_gen_cstr(g, brk_role_name(c->role));
        gw_json_gen_cstr(g, "name");
        gw_json_gen_cstr(g, c->name);
        gw_json_gen_cstr(g, "state");
        gw_json_gen_cstr(g, brk_child_state_name(c->state));
        gw_json_gen_cstr(g, "restarts");
        yajl_gen_integer(g, c->restarts);
        yajl_gen_map_close(g);
    }
    yajl_gen_array_close(g);
    gw_json_gen_cstr(g, "backends");
    yajl_gen_array_open(g);
    static const char *const states[] = {"pending", "up", "down"};
    for (size_t i = 0; i < B.cat.nbackends; i++) {
        const brk_backend_t *b = &B.cat.backends[i];
        char wname[64];
        snprintf(wname, sizeof(wname), "worker.%s", b->conf->name);
        const brk_child_t *w = brk_sup_find(&B.sup, wname);
        yajl_gen_map_open(g);
        gw_json_gen_cstr(g, "name");
        gw_json_gen_cstr(g, b->conf->name);
        gw_json_gen_cstr(g, "url");
        gw_json_gen_cstr(g, b->conf->url);
        gw_json_gen_cstr(g, "prefix");
        gw_json_gen_cstr(g, b->conf->prefix);
        gw_json_gen_cstr(g, "state");
        gw_json_gen_cstr(g,
                         w != NULL && w->state == BRK_CHILD_FAILED ? "failed" : states[b->state]);
        gw_json_gen_cstr(g, "tools");
        yajl_gen_integer(g, (long long)b->nitems[BRK_TOOLS]);
        if (b->error != NULL) {
            gw_json_gen_cstr(g, "error");
            gw_json_gen_cstr(g, b->error);
        }
        yajl_gen_map_close(g);
    }
    yajl_gen_array_close(g);
    yajl_gen_map_close(g);
}

/* ---- control commands (mcpgwctl) ---- */

static void gen_kv_str(yajl_gen g, const char *k, const char *v)
{
    gw_json_gen_cstr(g, k);
    gw_json_gen_cstr(g, v != NULL ? v : "");
}

static void gen_kv_int(yajl_gen g, const char *k, long long v)
{
    gw_json_gen_cstr(g, k);
    yajl_gen_integer(g, v);
}

static int ctl_status(yajl_val args, yajl_gen g, char *err, size_t errlen)
{
    control_status(g);
    return 0;
}

static int ctl_backends(yajl_val args, yajl_gen g, char *err, size_t errlen)
{
    static const char *const states[] = {"pending", "up", "down"};
    yajl_gen_map_open(g);
    gw_json_gen_cstr(g, "backends");
    yajl_gen_array_open(g);
    for (size_t i = 0; i < B.cat.nbackends; i++) {
        const brk_backend_t *b = &B.cat.backends[i];
        char wname[64];
        snprintf(wname, sizeof(wname), "worker.%s", b->conf->name);
        const brk_child_t *w = brk_sup_find(&B.sup, wname);
        long slot = worker_slot(b->conf->name);
        const gw_metrics_slot_t *m = slot >= 0 ? gw_metrics_slot(B.metrics, (unsigned)slot) : NULL;
        yajl_gen_map_open(g);
        gen_kv_str(g, "name", b->conf->name);
        gen_kv_str(g, "url", b->conf->url);
        gen_kv_str(g, "prefix", b->conf->prefix);
        gen_kv_str(g, "state",
                   w != NULL && w->state == BRK_CHILD_FAILED ? "failed" : states[b->state]);
        gen_kv_int(g, "tools", (long long)b->nitems[BRK_TOOLS]);
        gen_kv_int(g, "prompts", (long long)b->nitems[BRK_PROMPTS]);
        gen_kv_int(g, "resources", (long long)b->nitems[BRK_RESOURCES]);
        gen_kv_int(g, "pid", w != NULL ? w->pid : 0);
        gen_kv_int(g, "restarts", w != NULL ? w->restarts : 0);
        uint64_t calls = 0, errors = 0;
        for (size_t bm = 0; m != NULL && bm < GW_BM_COUNT; bm++) {
            for (size_t bs = 0; bs < GW_BS_COUNT; bs++) {
                calls += m->backend_requests[bm][bs];
                errors += bs != GW_BS_OK ? m->backend_requests[bm][bs] : 0;
            }
        }
        uint64_t count = 0;
        for (size_t k = 0; m != NULL && k <= GW_HIST_BUCKETS; k++) {
            count += m->buckets[GW_MH_BACKEND][k];
        }
        gen_kv_int(g, "upstream_sessions", m ? m->gauges[GW_MG_UPSTREAM_SESSIONS] : 0);
        gen_kv_int(g, "requests", (long long)calls);
        gen_kv_int(g, "errors", (long long)errors);
        gw_json_gen_cstr(g, "latency_ms");
        yajl_gen_double(g, count > 0 ? m->sum_us[GW_MH_BACKEND] / 1000.0 / (double)count : 0.0);
        if (b->error != NULL) {
            gen_kv_str(g, "error", b->error);
        }
        yajl_gen_map_close(g);
    }
    yajl_gen_array_close(g);
    yajl_gen_map_close(g);
    return 0;
}

static int ctl_tools(yajl_val args, yajl_gen g, char *err, size_t errlen)
{
    const char *only = gw_json_get_string(args, "backend");
    if (only != NULL && brk_catalog_backend(&B.cat, only) == NULL) {
        snprintf(err, errlen, "no backend named %s", only);
        return 1;
    }
    yajl_gen_map_open(g);
    gw_json_gen_cstr(g, "tools");
    yajl_gen_array_open(g);
    for (size_t i = 0; i < B.cat.nmerged[BRK_TOOLS]; i++) {
        const brk_item_t *it = B.cat.merged[BRK_TOOLS][i];
        const char *backend = B.cat.backends[it->server].conf->name;
        if (only != NULL && strcmp(only, backend) != 0) {
            continue;
        }
        yajl_gen_map_open(g);
        gen_kv_str(g, "name", it->key);
        gen_kv_str(g, "backend", backend);
        yajl_gen_map_close(g);
    }
    yajl_gen_array_close(g);
    yajl_gen_map_close(g);
    return 0;
}

static void gen_session(yajl_gen g, const session_t *s)
{
    yajl_gen_map_open(g);
    gen_kv_str(g, "id", s->uuid);
    gen_kv_int(g, "created", s->created_s);
    gen_kv_int(g, "last_activity", s->last_s);
    gen_kv_int(g, "expires", s->expires_s);
    gw_json_gen_cstr(g, "revoked");
    yajl_gen_bool(g, s->revoked);
    yajl_gen_map_close(g);
}

static int ctl_sessions(yajl_val args, yajl_gen g, char *err, size_t errlen)
{
    yajl_gen_map_open(g);
    gw_json_gen_cstr(g, "sessions");
    yajl_gen_array_open(g);
    for (size_t i = 0; i < SESSION_BUCKETS; i++) {
        for (const session_t *s = B.sessions[i]; s != NULL; s = s->next) {
            if (!s->revoked) {
                gen_session(g, s);
            }
        }
    }
    yajl_gen_array_close(g);
    yajl_gen_map_close(g);
    return 0;
}

static session_t *session_arg(yajl_val args, char *err, size_t errlen)
{
    const char *id = gw_json_get_string(args, "id");
    session_t *s = id != NULL ? session_find(id, strlen(id)) : NULL;
    if (s == NULL) {
        snprintf(err, errlen, "no session %s (ids are the uuids `mcpgwctl sessions` lists)",
                 id != NULL ? id : "(none given)");
    }
    return s;
}

static int ctl_session_show(yajl_val args, yajl_gen g, char *err, size_t errlen)
{
    session_t *s = session_arg(args, err, errlen);
    if (s == NULL) {
        return 1;
    }
    gen_session(g, s);
    return 0;
}

/* log-level LEVEL: every process logs at LEVEL from now on (until it restarts or a reload sets
 * the configured level again). */
/* Sets the log level of every process now (the broker's, and its routers' and workers');
 * returns how many processes that is. */
static size_t set_log_level_everywhere(int level)
{
    gw_log_threshold = level;
    gw_envelope_t e = {.kind = GW_ENV_CONTROL, .flags = GW_ENV_F_NOREPLY};
    e.method = GW_STR("log-level");
    e.body = (gw_str_t){gw_log_level_name(level), strlen(gw_log_level_name(level))};
    size_t sent = 0;
    for (size_t i = 0; i < MAX_ROUTERS; i++) {
        if (B.subs[i].active) {
            char to[32];
            snprintf(to, sizeof(to), "router-%zu", i);
            send_to((gw_str_t){to, strlen(to)}, &e);
            sent++;
        }
    }
    for (size_t i = 0; i < B.cfg->nservers; i++) {
        char to[GW_SERVER_NAME_MAX + 8];
        snprintf(to, sizeof(to), "worker-%s", B.cfg->servers[i].name);
        send_to((gw_str_t){to, strlen(to)}, &e);
        sent++;
    }
    gw_log_notice("msg=\"log level set\" level=%s processes=%zu", gw_log_level_name(level),
                  sent + 1);
    return sent + 1;
}

static int ctl_log_level(yajl_val args, yajl_gen g, char *err, size_t errlen)
{
    const char *name = gw_json_get_string(args, "level");
    int level = name != NULL ? gw_log_level_parse(name) : -1;
    if (level < 0) {
        snprintf(err, errlen, "not a log level: %s (err, warning, notice, info, debug)",
                 name != NULL ? name : "(none given)");
        return 1;
    }
    size_t sent = set_log_level_everywhere(level);
    yajl_gen_map_open(g);
    gen_kv_str(g, "level", gw_log_level_name(level));
    gen_kv_int(g, "processes", (long long)sent);
    yajl_gen_map_close(g);
    return 0;
}

#define DRAIN_MAX_MS 60000

/* drain: no new sessions (initialize gets 503, /readyz 503 so balancers move away), requests in
 * flight finish (the routers' in-flight gauges reach 0), then the gateway exits as on SIGTERM;
 * at most DRAIN_MAX_MS. */
static int ctl_drain(yajl_val args, yajl_gen g, char *err, size_t errlen)
{
    if (B.drain_deadline_ms == 0) {
        B.drain_started_ms = gw_clock_ms();
        B.drain_deadline_ms = B.drain_started_ms + DRAIN_MAX_MS;
        gw_log_notice("msg=draining max_ms=%d", DRAIN_MAX_MS);
    }
    yajl_gen_map_open(g);
    gen_kv_str(g, "drain", "started: no new sessions; exiting once requests in flight are done");
    yajl_gen_map_close(g);
    return 0;
}

/* Requests the routers are waiting on, from their metrics slots. */
static int64_t routers_in_flight(void)
{
    int64_t n = 0;
    for (unsigned i = 0; i < B.cfg->routers; i++) {
        const gw_metrics_slot_t *m = gw_metrics_slot(B.metrics, i);
        n += m != NULL ? __atomic_load_n(&m->gauges[GW_MG_IN_FLIGHT], __ATOMIC_RELAXED) : 0;
    }
    return n;
}

static void check_drain(void)
{
    /* a moment first: mcpgwctl gets its answer, and calls just accepted reach a router's count */
    if (B.drain_deadline_ms == 0 || B.stopping || gw_clock_ms() < B.drain_started_ms + 300) {
        return;
    }
    int64_t left = routers_in_flight();
    if (left == 0 || gw_clock_ms() >= B.drain_deadline_ms) {
        gw_log_notice("msg=\"drained; stopping\" in_flight=%lld", (long long)left);
        B.stopping = 1;
    }
}

static int reload_config(char *msg, size_t msglen);

static int ctl_reload(yajl_val args, yajl_gen g, char *err, size_t errlen)
{
    char msg[600];
    if (reload_config(msg, sizeof(msg)) != 0) {
        snprintf(err, errlen, "%s", msg);
        return 1;
    }
    yajl_gen_map_open(g);
    gen_kv_str(g, "reload", msg);
    yajl_gen_map_close(g);
    return 0;
}

static int ctl_session_kill(yajl_val args, yajl_gen g, char *err, size_t errlen)
{
    session_t *s = session_arg(args, err, errlen);
    if (s == NULL) {
        return 1;
    }
    if (!s->revoked) {
        /* The same path as a client's DELETE, answered to nobody. */
        gw_envelope_t e = {.kind = GW_ENV_CONTROL, .corr = 0};
        e.session = (gw_str_t){s->uuid, strlen(s->uuid)};
        e.origin = GW_STR("");
        handle_session_delete(&e);
    }
    yajl_gen_map_open(g);
    gen_kv_str(g, "killed", s->uuid);
    yajl_gen_map_close(g);
    return 0;
}

/* The broker side of mcpgwctl's commands: one table, arguments as a JSON object. */
static const struct control_command {
    const char *name;
    int (*run)(yajl_val args, yajl_gen g, char *err, size_t errlen); /* 0 done, 1 failed */
} control_commands[] = {
    {"status", ctl_status},
    {"backends", ctl_backends},
    {"tools", ctl_tools},
    {"sessions", ctl_sessions},
    {"session/show", ctl_session_show},
    {"session/kill", ctl_session_kill},
    {"reload", ctl_reload},
    {"log-level", ctl_log_level},
    {"drain", ctl_drain},
};

static void on_control_message(const gw_ipc_route_t *route, const gw_envelope_t *e)
{
    gw_buf_t b;
    gw_buf_init(&b);
    unsigned status = 2;
    char err[256] = "";
    const struct control_command *cmd = NULL;
    for (size_t i = 0; i < sizeof(control_commands) / sizeof(control_commands[0]); i++) {
        if (gw_str_eq(e->method, control_commands[i].name)) {
            cmd = &control_commands[i];
        }
    }
    yajl_val args =
        e->body.len > 0 ? gw_json_parse(e->body.ptr, e->body.len, err, sizeof(err)) : NULL;
    if (cmd == NULL) {
        snprintf(err, sizeof(err), "unknown command: %.*s", (int)e->method.len, e->method.ptr);
    } else if (e->body.len == 0 || args != NULL) {
        err[0] = '\0';
        yajl_gen g = gw_json_gen_to_buf(&b);
        status = (unsigned)cmd->run(args, g, err, sizeof(err));
        yajl_gen_free(g);
    }
    if (err[0] != '\0') {
        gw_buf_reset(&b);
        yajl_gen g = gw_json_gen_to_buf(&b);
        yajl_gen_map_open(g);
        gen_kv_str(g, "error", err);
        yajl_gen_map_close(g);
        yajl_gen_free(g);
        if (status == 0) {
            status = 1;
        }
    }
    yajl_tree_free(args);
    gw_envelope_t r = {.kind = GW_ENV_CHUNK, .corr = e->corr};
    r.body = (gw_str_t){b.data, b.len};
    gw_ipc_reply(B.csock, route, &r);
    r.kind = GW_ENV_END;
    r.status = status;
    r.body = GW_STR_NULL;
    gw_ipc_reply(B.csock, route, &r);
    gw_buf_fini(&b);
}

/* ---- readiness ---- */

/* systemd's readiness protocol: one datagram to $NOTIFY_SOCKET. */
static void sd_notify_ready(void)
{
    const char *path = getenv("NOTIFY_SOCKET");
    if (path == NULL || (path[0] != '/' && path[0] != '@')) {
        return;
    }
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t len = strlen(path);
    if (len >= sizeof(sa.sun_path)) {
        return;
    }
    memcpy(sa.sun_path, path, len);
    if (sa.sun_path[0] == '@') {
        sa.sun_path[0] = '\0';
    }
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return;
    }
    static const char msg[] = "READY=1";
    sendto(fd, msg, sizeof(msg) - 1, 0, (struct sockaddr *)&sa,
           (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len));
    close(fd);
}

static void check_ready(void)
{
    if (B.ready) {
        return;
    }
    unsigned routers = 0;
    int applied = 1; /* every router routes with the latest table (the backends reported in it) */
    for (unsigned i = 0; i < B.cfg->routers && i < MAX_ROUTERS; i++) {
        routers += B.subs[i].active;
        applied &= !B.subs[i].active || B.subs[i].acked >= B.routes_seq;
    }
    int backends_in = brk_catalog_reported(&B.cat) == B.cat.nbackends ||
                      gw_clock_ms() - B.start_ms > READY_WAIT_MS;
    if (routers < B.cfg->routers || !backends_in || !applied) {
        return;
    }
    B.ready = 1;
    gw_log_info("msg=ready listen=%s admin=%s routers=%u backends=%zu backends_up=%zu",
                B.listen_desc, B.admin != NULL ? B.admin_desc : "off", routers, B.cat.nbackends,
                backends_up());
    sd_notify_ready();
}

/* ---- startup ---- */

static int bind_listeners(void)
{
    size_t off = 0;
    for (size_t i = 0; i < B.cfg->nlisten && i < MAX_LISTEN; i++) {
        const gw_listen_t *l = &B.cfg->listen[i];
        struct sockaddr_storage ss;
        socklen_t sl;
        memset(&ss, 0, sizeof(ss));
        int family = strchr(l->address, ':') ? AF_INET6 : AF_INET;
        if (family == AF_INET6) {
            struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
            a->sin6_family = AF_INET6;
            a->sin6_port = htons(l->port);
            inet_pton(AF_INET6, l->address, &a->sin6_addr);
            sl = sizeof(*a);
        } else {
            struct sockaddr_in *a = (struct sockaddr_in *)&ss;
            a->sin_family = AF_INET;
            a->sin_port = htons(l->port);
            inet_pton(AF_INET, l->address, &a->sin_addr);
            sl = sizeof(*a);
        }
        int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int one = 1;
        if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
            (family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one))) ||
            bind(fd, (struct sockaddr *)&ss, sl) != 0 || listen(fd, 1024) != 0 ||
            getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
            gw_log_err("msg=\"cannot listen\" address=%s port=%u error=\"%s\"", l->address, l->port,
                       strerror(errno));
            if (fd >= 0) {
                close(fd);
            }
            return -1;
        }
        unsigned port = ntohs(family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                 : ((struct sockaddr_in *)&ss)->sin_port);
        off += (size_t)snprintf(B.listen_desc + off, sizeof(B.listen_desc) - off,
                                family == AF_INET6 ? "%s[%s]:%u" : "%s%s:%u", i ? "," : "",
                                l->address, port);
        if (off >= sizeof(B.listen_desc)) {
            off = sizeof(B.listen_desc) - 1;
        }
        B.listen_fds[B.nlisten++] = fd;
    }
    B.listen_fds[B.nlisten] = -1;
    return 0;
}

/* Finds a child program next to this one (build tree, tests) or in the libexec directory. */
static int find_program(const char *name, char *out, size_t outlen)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n > 0) {
        self[n] = '\0';
        char *slash = strrchr(self, '/');
        if (slash != NULL) {
            *slash = '\0';
            int w = snprintf(out, outlen, "%s/%s", self, name);
            if (w > 0 && (size_t)w < outlen && access(out, X_OK) == 0) {
                return 0;
            }
        }
    }
    snprintf(out, outlen, "%s/%s", MCPGW_LIBEXECDIR, name);
    return access(out, X_OK) == 0 ? 0 : -1;
}

/* The metrics slot of a server's worker: kept across restarts and reloads; -1 when none is left
 * (the worker then runs without metrics). */
static long worker_slot(const char *server)
{
    for (unsigned i = 0; i < B.nworker_slots; i++) {
        if (strcmp(B.worker_slots[i], server) == 0) {
            return (long)(B.cfg->routers + i);
        }
    }
    if (B.cfg->routers + B.nworker_slots >= B.metrics_slots) {
        return -1;
    }
    snprintf(B.worker_slots[B.nworker_slots], sizeof(B.worker_slots[0]), "%s", server);
    return (long)(B.cfg->routers + B.nworker_slots++);
}

static int add_worker(const char *program, const char *server)
{
    char name[64];
    char slot[16];
    snprintf(name, sizeof(name), "worker.%s", server);
    snprintf(slot, sizeof(slot), "%ld", worker_slot(server));
    char *argv[] = {(char *)program,  "-c", B.config_path, "--server", (char *)server,
                    "--metrics-slot", slot, NULL};
    return brk_sup_add(&B.sup, BRK_ROLE_WORKER, name, argv, NULL) != NULL ? 0 : -1;
}

static int add_children(void)
{
    char router[PATH_MAX];
    char worker[PATH_MAX];
    if (find_program("mcpgw-router", router, sizeof(router)) != 0 ||
        (B.cfg->nservers > 0 && find_program("mcpgw-worker", worker, sizeof(worker)) != 0)) {
        gw_log_err("msg=\"cannot find mcpgw-router or mcpgw-worker\" libexecdir=%s",
                   MCPGW_LIBEXECDIR);
        return -1;
    }
    char fds[128] = "";
    size_t off = 0;
    for (size_t i = 0; i < B.nlisten; i++) {
        off +=
            (size_t)snprintf(fds + off, sizeof(fds) - off, "%s%d", i ? "," : "", B.listen_fds[i]);
    }
    for (unsigned i = 0; i < B.cfg->routers; i++) {
        char idx[16];
        char name[32];
        snprintf(idx, sizeof(idx), "%u", i);
        snprintf(name, sizeof(name), "router.%u", i);
        char *argv[] = {router, "-c", B.config_path, "--index", idx, "--listen-fd", fds, NULL};
        if (brk_sup_add(&B.sup, BRK_ROLE_ROUTER, name, argv, B.listen_fds) == NULL) {
            return -1;
        }
    }
    for (size_t i = 0; i < B.cfg->nservers; i++) {
        if (add_worker(worker, B.cfg->servers[i].name) != 0) {
            return -1;
        }
    }
    return 0;
}

/* The control socket with control.mode and control.group. Giving a file to one of its own
 * groups needs no privilege, so the broker running as mcpgw (systemd) makes it mcpgw:mcpgw as it
 * is; another group needs the broker's user to be a member (or root). The default group may be
 * missing or out of reach (a run from a build tree): the socket then keeps the broker's group. */
static int control_socket_group(void);

static int open_control_socket(void)
{
    const gw_config_t *c = B.cfg;
    char url[GW_IPC_URL_MAX];
    int n = snprintf(url, sizeof(url), "ipc://%s", c->control_socket);
    gw_err_t err = n < 0 || (size_t)n >= sizeof(url)
                       ? GW_ETOOBIG
                       : gw_ipc_listen_mode(&B.csock, url, c->control_mode);
    if (err != GW_OK) {
        gw_log_err("msg=\"cannot listen on the control socket\" path=%s error=\"%s\"",
                   c->control_socket, gw_strerror(err));
        return -1;
    }
    gw_ipc_guard_init(&B.control_guard, B.csock, url, c->control_mode);
    if (control_socket_group() != 0) {
        return -1;
    }
    if (c->control_mode & 0002) {
        gw_log_warn("msg=\"control.mode lets every local user control the gateway\" mode=%04o",
                    c->control_mode);
    }
    return 0;
}

/* Gives the control socket file to control.group (again after the guard listened afresh). */
static int control_socket_group(void)
{
    const gw_config_t *c = B.cfg;
    if (c->control_gid < 0) {
        gw_log_info("msg=\"control socket keeps the broker's group: group mcpgw does not exist\" "
                    "path=%s gid=%ld",
                    c->control_socket, (long)getegid());
    } else if (chown(c->control_socket, (uid_t)-1, (gid_t)c->control_gid) != 0) {
        if (c->control_group_set) {
            gw_log_err("msg=\"cannot give the control socket to control.group (the broker's user "
                       "must be a member of it)\" path=%s group=%s error=\"%s\"",
                       c->control_socket, c->control_group, strerror(errno));
            return -1;
        }
        gw_log_info("msg=\"control socket keeps the broker's group: cannot give it to group "
                    "mcpgw\" path=%s gid=%ld error=\"%s\"",
                    c->control_socket, (long)getegid(), strerror(errno));
    }
    return 0;
}

static int open_sockets(void)
{
    char url[GW_IPC_URL_MAX];
    gw_outboxes_init(&B.out, B.cfg->runtime_dir, OUTBOX_MAX_QUEUED);
    gw_err_t err = gw_ipc_url(url, sizeof(url), B.cfg->runtime_dir, "broker");
    if (err == GW_OK) {
        err = gw_ipc_inbox(&B.inbox, url);
    }
    if (err == GW_EBUSY) {
        gw_log_err("msg=\"another mcpgw-broker runs with this runtime_dir; nothing was touched\" "
                   "runtime_dir=%s",
                   B.cfg->runtime_dir);
        return -1;
    }
    if (err != GW_OK) {
        gw_log_err("msg=\"cannot listen on the broker socket\" url=%s error=\"%s\"", url,
                   gw_strerror(err));
        return -1;
    }
    gw_ipc_guard_init(&B.inbox_guard, B.inbox, url, 0);
    return open_control_socket();
}

static int make_dirs(const char *path)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof(tmp), "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, 0755) != 0 && errno != EEXIST) {
                return -1;
            }
            *p = '/';
        }
    }
    return mkdir(tmp, 0750) != 0 && errno != EEXIST ? -1 : 0;
}

/* ---- the loop ---- */

static void on_signal(int sig)
{
    char c = (char)sig;
    ssize_t n = write(B.signal_pipe[1], &c, 1);
    (void)n;
}

/* ---- admin listener ---- */

static size_t backends_up(void)
{
    size_t n = 0;
    for (size_t i = 0; i < B.cat.nbackends; i++) {
        n += B.cat.backends[i].state == BRK_BACKEND_UP;
    }
    return n;
}

static void admin_metrics(void *arg, gw_buf_t *out)
{
    gw_metrics_render(B.metrics, out);
    gw_buf_appendf(out,
                   "# HELP mcpgw_ready Whether the gateway is ready (listeners up, backends in).\n"
                   "# TYPE mcpgw_ready gauge\nmcpgw_ready %d\n"
                   "# HELP mcpgw_sessions Live gateway sessions known to the broker.\n"
                   "# TYPE mcpgw_sessions gauge\nmcpgw_sessions %zu\n"
                   "# HELP mcpgw_sessions_expired_total Sessions the gateway ended, by reason.\n"
                   "# TYPE mcpgw_sessions_expired_total counter\n"
                   "mcpgw_sessions_expired_total{reason=\"idle\"} %llu\n"
                   "# HELP mcpgw_backend_up Whether a backend is up (its worker fetched its "
                   "catalog).\n# TYPE mcpgw_backend_up gauge\n",
                   B.ready, B.nsessions - B.nrevoked, (unsigned long long)B.idle_expired);
    for (size_t i = 0; i < B.cat.nbackends; i++) {
        gw_buf_appendf(out, "mcpgw_backend_up{backend=\"%s\"} %d\n", B.cat.backends[i].conf->name,
                       B.cat.backends[i].state == BRK_BACKEND_UP);
    }
    gw_buf_appends(out, "# HELP mcpgw_backend_tools Tools a backend offers.\n"
                        "# TYPE mcpgw_backend_tools gauge\n");
    for (size_t i = 0; i < B.cat.nbackends; i++) {
        gw_buf_appendf(out, "mcpgw_backend_tools{backend=\"%s\"} %zu\n",
                       B.cat.backends[i].conf->name, B.cat.backends[i].nitems[BRK_TOOLS]);
    }
    gw_buf_appends(out, "# HELP mcpgw_process_restarts_total Restarts of a child process.\n"
                        "# TYPE mcpgw_process_restarts_total counter\n");
    for (size_t i = 0; i < B.sup.nchildren; i++) {
        gw_buf_appendf(out, "mcpgw_process_restarts_total{process=\"%s\"} %u\n",
                       B.sup.children[i].name, B.sup.children[i].restarts);
    }
    gw_buf_appendf(out,
                   "# HELP mcpgw_name_collisions Catalog items hidden by a name collision.\n"
                   "# TYPE mcpgw_name_collisions gauge\nmcpgw_name_collisions %zu\n",
                   B.cat.collisions);
}

static int admin_ready(void *arg, char *why, size_t whylen)
{
    size_t need =
        B.cfg->ready_min_backends < B.cat.nbackends ? B.cfg->ready_min_backends : B.cat.nbackends;
    if (!B.ready) {
        snprintf(why, whylen, "starting");
        return 0;
    }
    if (B.stopping || B.drain_deadline_ms != 0) {
        snprintf(why, whylen, B.stopping ? "stopping" : "draining");
        return 0;
    }
    if (backends_up() < need) {
        snprintf(why, whylen, "%zu of %zu backends up, %zu needed (admin.ready_min_backends)",
                 backends_up(), B.cat.nbackends, need);
        return 0;
    }
    return 1;
}

/* Settings only a restart can change: listeners, processes, sockets, keys. */
static const char *immutable_change(const gw_config_t *a, const gw_config_t *b)
{
    if (a->nlisten != b->nlisten) {
        return "listen";
    }
    for (size_t i = 0; i < a->nlisten; i++) {
        if (strcmp(a->listen[i].address, b->listen[i].address) != 0 ||
            a->listen[i].port != b->listen[i].port) {
            return "listen";
        }
    }
    if (strcmp(a->mcp_path, b->mcp_path) != 0) {
        return "mcp_path";
    }
    if (strcmp(a->runtime_dir, b->runtime_dir) != 0) {
        return "runtime_dir";
    }
    if (a->routers != b->routers) {
        return "routers";
    }
    if (strcmp(a->key_file, b->key_file) != 0) {
        return "sessions.key_file";
    }
    if (a->stream_replay != b->stream_replay) {
        return "sessions.stream_replay";
    }
    if (strcmp(a->control_socket, b->control_socket) != 0) {
        return "control.socket";
    }
    if (a->control_mode != b->control_mode) {
        return "control.mode";
    }
    if (strcmp(a->control_group, b->control_group) != 0) {
        return "control.group";
    }
    if (a->admin_enabled != b->admin_enabled || a->admin_port != b->admin_port ||
        strcmp(a->admin_address, b->admin_address) != 0) {
        return "admin";
    }
    return NULL;
}

/* Reload (SIGHUP, mcpgwctl reload): the new file is built completely and swapped in only if it
 * is valid; servers are added, removed and changed while traffic runs (only the workers concerned
 * are started, stopped or restarted; the others keep their upstream sessions); sessions continue.
 * Settings routers read at start (limits, http) apply as routers restart. Returns 0 when applied,
 * with a summary in msg; else 1 with the reason. */
static int same_strings(char *const *a, size_t na, char *const *b, size_t nb)
{
    if (na != nb) {
        return 0;
    }
    for (size_t i = 0; i < na; i++) {
        if (strcmp(a[i], b[i]) != 0) {
            return 0;
        }
    }
    return 1;
}

/* Do the settings a router reads at its start (limits, http, log.format) differ? */
static int router_settings_differ(const gw_config_t *a, const gw_config_t *b)
{
    return a->max_request_body != b->max_request_body || a->max_header_size != b->max_header_size ||
           a->client_timeout_ms != b->client_timeout_ms ||
           a->max_concurrent_requests_per_session != b->max_concurrent_requests_per_session ||
           a->sse_heartbeat_ms != b->sse_heartbeat_ms || a->log_json != b->log_json ||
           !same_strings(a->allowed_hosts, a->nallowed_hosts, b->allowed_hosts,
                         b->nallowed_hosts) ||
           !same_strings(a->allowed_origins, a->nallowed_origins, b->allowed_origins,
                         b->nallowed_origins);
}

static int reload_config(char *msg, size_t msglen)
{
    char err[512];
    gw_config_t *next = NULL;
    if (gw_config_load(B.config_path, &next, err, sizeof(err)) != GW_OK) {
        snprintf(msg, msglen, "the new configuration is broken; the running one stays: %s", err);
        gw_log_err("msg=\"reload refused: the new configuration is broken; the running one stays\" "
                   "error=\"%s\"",
                   err);
        return 1;
    }
    const char *fixed = immutable_change(B.cfg, next);
    if (fixed != NULL) {
        snprintf(msg, msglen, "%s changed: restart mcpgw to apply it; nothing was changed", fixed);
        gw_log_err("msg=\"reload refused\" reason=\"%s changed: needs a restart\"", fixed);
        gw_config_destroy(next);
        return 1;
    }
    char worker[PATH_MAX];
    brk_catalog_t cat;
    if (brk_catalog_init(&cat, next) != GW_OK ||
        (next->nservers > 0 && find_program("mcpgw-worker", worker, sizeof(worker)) != 0)) {
        snprintf(msg, msglen, "cannot prepare the new catalog");
        gw_config_destroy(next);
        return 1;
    }
    size_t added = 0, removed = 0, changed = 0;
    for (size_t i = 0; i < B.cfg->nservers; i++) {
        const gw_server_conf_t *old = &B.cfg->servers[i];
        char wname[64];
        snprintf(wname, sizeof(wname), "worker.%s", old->name);
        const gw_server_conf_t *now = gw_config_server(next, old->name);
        if (now == NULL) {
            brk_sup_retire(&B.sup, wname);
            removed++;
        } else if (!brk_server_same(old, now)) {
            brk_sup_restart(&B.sup, wname);
            changed++;
        }
    }
    gw_config_t *prev = B.cfg;
    B.cfg = next;
    for (size_t i = 0; i < next->nservers; i++) {
        const char *name = next->servers[i].name;
        if (gw_config_server(prev, name) == NULL) {
            add_worker(worker, name);
            added++;
        } else {
            brk_catalog_adopt(&cat, &B.cat, name);
        }
    }
    cat.generation = B.cat.generation;
    brk_catalog_fini(&B.cat);
    B.cat = cat;
    brk_catalog_refresh(&B.cat);
    announce_list_changes();
    gw_log_setup("broker", B.cfg->log_level);
    gw_log_set_json(B.cfg->log_json);
    if (prev->log_level != next->log_level) {
        set_log_level_everywhere(next->log_level);
    }
    /* Routers read limits and http at their start: restart them (each finishes what it has in
     * flight; the shared listening sockets hold new connections until the new one accepts). */
    int restart_routers = router_settings_differ(prev, next);
    for (unsigned i = 0; restart_routers && i < next->routers; i++) {
        char rname[32];
        snprintf(rname, sizeof(rname), "router.%u", i);
        brk_sup_restart(&B.sup, rname);
    }
    gw_config_destroy(prev);
    push_routes();
    snprintf(msg, msglen, "applied: %zu servers added, %zu removed, %zu changed%s", added, removed,
             changed, restart_routers ? "; routers restarted for limits/http" : "");
    gw_log_notice("msg=\"reload applied\" added=%zu removed=%zu changed=%zu servers=%zu "
                  "routers_restarted=%d",
                  added, removed, changed, B.cfg->nservers, restart_routers);
    return 0;
}

static void on_sighup(void)
{
    char msg[600];
    reload_config(msg, sizeof(msg));
}

/* Handles every command waiting on the control socket (raw REP: replies follow the route). */
static void drain_control(void)
{
    for (;;) {
        nng_msg *m = NULL;
        gw_envelope_t e;
        gw_ipc_route_t route = {.len = 0};
        gw_err_t err = gw_ipc_recv(B.csock, &m, &e, &route);
        if (err == GW_EAGAIN) {
            return;
        }
        if (err != GW_OK) {
            gw_log_warn("msg=\"dropped a message\" error=\"%s\"", gw_strerror(err));
            continue;
        }
        on_control_message(&route, &e);
        nng_msg_free(m);
    }
}

static void run(void)
{
    struct pollfd pfd[3 + GW_OUTBOXES_MAX + 64];
    gw_outbox_t *watched[GW_OUTBOXES_MAX];
    pfd[0] = (struct pollfd){.fd = B.signal_pipe[0], .events = POLLIN};
    pfd[1] = (struct pollfd){.fd = gw_ipc_recv_fd(B.inbox), .events = POLLIN};
    pfd[2] = (struct pollfd){.fd = gw_ipc_recv_fd(B.csock), .events = POLLIN};
    while (!B.stopping) {
        int64_t now = gw_clock_ms();
        brk_sup_start_due(&B.sup, now);
        int timeout = brk_sup_next_timeout(&B.sup, now);
        if (!B.ready || timeout < 0 || timeout > 1000) {
            timeout = B.ready ? 1000 : 100;
        }
        if (B.cfg->session_idle_ms > 0 && B.next_idle_ms - now < timeout) {
            timeout = B.next_idle_ms > now ? (int)(B.next_idle_ms - now) : 0;
        }
        size_t nwatched = 0;
        for (size_t i = 0; i < B.out.n; i++) {
            if (B.out.v[i]->count > 0) {
                watched[nwatched] = B.out.v[i];
                pfd[3 + nwatched++] =
                    (struct pollfd){.fd = gw_outbox_send_fd(B.out.v[i]), .events = POLLIN};
            }
        }
        size_t nadmin = B.admin != NULL ? brk_admin_pollfds(B.admin, pfd + 3 + nwatched, 64) : 0;
        if (poll(pfd, 3 + nwatched + nadmin, timeout) < 0 && errno != EINTR) {
            gw_log_err("msg=\"poll failed\" error=\"%s\"", strerror(errno));
            break;
        }
        if (pfd[0].revents & POLLIN) {
            char sigs[32];
            ssize_t n = read(B.signal_pipe[0], sigs, sizeof(sigs));
            for (ssize_t i = 0; i < n; i++) {
                if (sigs[i] == SIGCHLD) {
                    brk_sup_reap(&B.sup, gw_clock_ms());
                } else if (sigs[i] == SIGHUP) {
                    on_sighup();
                } else if (sigs[i] == SIGTERM || sigs[i] == SIGINT) {
                    B.stopping = 1;
                }
            }
        }
        for (size_t i = 0; i < nwatched; i++) {
            if (pfd[3 + i].revents & POLLIN) {
                gw_outbox_flush(watched[i]);
            }
        }
        if (B.admin != NULL) {
            brk_admin_serve(B.admin, pfd + 3 + nwatched, nadmin);
        }
        gw_ipc_drain_inbox(B.inbox, on_inbox_message, NULL, 0);
        drain_control();
        finish_deletes();
        check_drain();
        gw_ipc_guard_tick(&B.inbox_guard, gw_clock_ms());
        unsigned relistens = B.control_guard.relistens;
        gw_ipc_guard_tick(&B.control_guard, gw_clock_ms());
        if (B.control_guard.relistens != relistens) {
            control_socket_group();
        }
        gw_outboxes_flush(&B.out); /* the end of the turn: batches go out */
        now = gw_clock_ms();
        check_ready();
        if (now >= B.next_sweep_ms) {
            B.next_sweep_ms = now + 60000;
            sessions_sweep(gw_wallclock_s()); /* routers drop expired revocations themselves */
        }
        if (B.cfg->session_idle_ms > 0 && now >= B.next_idle_ms) {
            B.next_idle_ms = now + (int64_t)brk_activity_ms(B.cfg);
            expire_idle_sessions(now);
        }
    }
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: mcpgw-broker [-c FILE] [-t] [--version] [--help]\n"
            "  -c, --config FILE  configuration file (default %s/mcpgw/mcpgw.yaml)\n"
            "  -t, --test         check the configuration and exit (0 good, 1 bad)\n"
            "  -V, --version      print the version and exit\n"
            "  -h, --help         print this help and exit\n"
            "Runs in the foreground until SIGTERM or SIGINT; see mcpgw-broker(8).\n",
            MCPGW_SYSCONFDIR);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"test", no_argument, NULL, 't'},
                                         {"version", no_argument, NULL, 'V'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *path = MCPGW_SYSCONFDIR "/mcpgw/mcpgw.yaml";
    int test_only = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, "c:tVh", opts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            path = optarg;
            break;
        case 't':
            test_only = 1;
            break;
        case 'V':
            printf("mcpgw-broker %s\n", PACKAGE_VERSION);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    char err[512];
    gw_log_setup("broker", GW_LOG_INFO);
    if (gw_config_load(path, &B.cfg, err, sizeof(err)) != GW_OK) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    if (test_only) {
        printf("%s: configuration is valid (%zu servers)\n", path, B.cfg->nservers);
        gw_config_destroy(B.cfg);
        return 0;
    }
    gw_log_setup("broker", B.cfg->log_level);
    gw_log_set_json(B.cfg->log_json);
    if (realpath(path, B.config_path) == NULL) {
        gw_log_err("msg=\"cannot resolve the config path\" path=%s", path);
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    if (pipe2(B.signal_pipe, O_NONBLOCK | O_CLOEXEC) != 0) {
        return 1;
    }
    struct sigaction sa = {.sa_handler = on_signal, .sa_flags = SA_RESTART | SA_NOCLDSTOP};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGCHLD, &sa, NULL);

    B.start_ms = gw_clock_ms();
    /* event ids name this run: a client resuming with an id of an earlier run gets all we kept */
    if (gw_streams_init(&B.streams, B.cfg->stream_replay, STREAM_REPLAY_BYTES,
                        (uint64_t)gw_wallclock_s() * 100000u + (uint64_t)getpid() % 100000u) !=
        GW_OK) {
        fprintf(stderr, "mcpgw-broker: out of memory\n");
        return 1;
    }
    B.request_id = GW_STR("");
    B.next_sweep_ms = B.start_ms + 60000;
    brk_sup_init(&B.sup);
    int rc = 1;
    if (make_dirs(B.cfg->runtime_dir) != 0) {
        gw_log_err("msg=\"cannot create the runtime directory\" path=%s error=\"%s\"",
                   B.cfg->runtime_dir, strerror(errno));
        goto out;
    }
    /* The sockets first: a second broker on the same runtime_dir stops here, before it could
     * touch the running one's metrics file. */
    if (open_sockets() != 0) {
        goto out;
    }
    if (gw_keyring_load(B.cfg->key_file, 1, &B.keys, err, sizeof(err)) != GW_OK) {
        gw_log_err("msg=\"cannot load session keys\" error=\"%s\"", err);
        goto out;
    }
    char mpath[PATH_MAX];
    snprintf(mpath, sizeof(mpath), "%s/metrics", B.cfg->runtime_dir);
    /* Room for the routers, the workers and servers added by later reloads. */
    B.metrics_slots = B.cfg->routers + (unsigned)B.cfg->nservers + 64;
    if (B.metrics_slots > GW_METRICS_SLOTS_MAX) {
        B.metrics_slots = GW_METRICS_SLOTS_MAX;
    }
    if (gw_metrics_create(mpath, B.metrics_slots, &B.metrics) != GW_OK) {
        gw_log_err("msg=\"cannot create the metrics file\" path=%s", mpath);
        goto out;
    }
    brk_admin_ops_t aops = {.metrics = admin_metrics, .ready = admin_ready};
    if (B.cfg->admin_enabled &&
        brk_admin_open(&B.admin, B.cfg->admin_address, B.cfg->admin_port, &aops, B.admin_desc,
                       sizeof(B.admin_desc)) != GW_OK) {
        goto out;
    }
    if (brk_catalog_init(&B.cat, B.cfg) != GW_OK || bind_listeners() != 0 || add_children() != 0) {
        goto out;
    }
    for (int l = 0; l < BRK_NLISTS; l++) {
        B.list_digest[l] = brk_catalog_digest(&B.cat, (brk_list_t)l);
    }
    gw_log_info("msg=starting version=%s config=%s routers=%u servers=%zu", PACKAGE_VERSION,
                B.config_path, B.cfg->routers, B.cfg->nservers);
    run();
    gw_log_info("msg=stopping");
    rc = 0;
out:
    brk_sup_stop_all(&B.sup, 5000);
    brk_sup_fini(&B.sup);
    nng_close(B.inbox);
    nng_close(B.csock);
    gw_ipc_guard_fini(&B.inbox_guard);
    gw_ipc_guard_fini(&B.control_guard);
    gw_outboxes_fini(&B.out);
    for (size_t i = 0; i < SESSION_BUCKETS; i++) {
        while (B.sessions[i] != NULL) {
            session_t *s = B.sessions[i];
            B.sessions[i] = s->next;
            free(s);
        }
    }
    brk_catalog_fini(&B.cat);
    gw_streams_fini(&B.streams);
    brk_admin_close(B.admin);
    gw_metrics_destroy(B.metrics);
    gw_keyring_destroy(B.keys);
    gw_config_destroy(B.cfg);
    return rc;
}
