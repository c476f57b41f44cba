/* config.h: the mcpgw.yaml configuration, loaded with libyaml, checked by a directive table, and
 * immutable once loaded (a reload builds a new one). */
#ifndef MCPGW_COMMON_CONFIG_H
#define MCPGW_COMMON_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/tool_names.h"

#define GW_WORKERS_MAX 64 /* servers[].workers at most */
/* Worker processes of all servers at most: each router and the broker keep an outbox to every
 * one (GW_OUTBOXES_MAX, with the broker's 64 routers at most). */
#define GW_WORKER_PROCS_MAX 255
#define GW_SERVER_NAME_MAX 32 /* [A-Za-z0-9_-]{1,32}: it names ipc sockets and log fields */
#define GW_PREFIX_MAX 64      /* [A-Za-z0-9_.-]{0,64} */
/* One backend answer must fit an inter-process message with room for the envelope. */
#define GW_MAX_RESPONSE_BODY_LIMIT (15u << 20)

typedef struct gw_header {
    char *name;
    char *value;
} gw_header_t;

/* listen[].tls.min_version */
enum { GW_TLS_1_2 = 0, GW_TLS_1_3 = 1 };

typedef struct gw_listen {
    char *address;         /* numeric IPv4 or IPv6 address */
    uint16_t port;         /* 0 asks the kernel for an ephemeral port (tests) */
    char *tls_certificate; /* PEM chain (leaf first); NULL: plain HTTP on this listener */
    char *tls_key;         /* PEM private key of the certificate */
    int tls_min_version;   /* GW_TLS_1_2 (default) or GW_TLS_1_3 */
} gw_listen_t;

/* servers[].tool_timeouts: one backend tool (its own name, without the prefix) and the longest
 * wait for a tools/call of it. */
typedef struct gw_tool_timeout {
    char *tool;
    uint64_t timeout_ms;
} gw_tool_timeout_t;

/* servers[].tls: how the worker speaks TLS to an https:// backend. The files are read by every
 * load (start, -t, reload: the broker checks that they load) and by the worker at each new
 * connection. */
typedef struct gw_server_tls {
    int set;                  /* the server has a tls block (refused on an http:// url) */
    char *ca_file;            /* PEM CAs the backend's chain must lead to; NULL: the system's */
    char *client_certificate; /* PEM chain shown when the backend asks for one (with client_key) */
    char *client_key;         /* its PEM private key, a file others cannot read */
    char *server_name;        /* verified and sent as SNI and Host instead of the url's host */
    int verify;               /* check the backend's certificate and name; default 1 */
} gw_server_tls_t;

typedef struct gw_server_conf {
    char *name;
    char *url; /* http:// or https:// */
    char *prefix;
    gw_header_t *headers; /* sent to this backend only */
    size_t nheaders;
    uint64_t timeout_ms;              /* default 30 s */
    uint64_t health_interval_ms;      /* ping the backend this often; 0: never; default 10 s */
    gw_tool_timeout_t *tool_timeouts; /* per-tool overrides of timeout_ms, in file order */
    size_t ntool_timeouts;
    /* TCP connections the worker's requests (POSTs, DELETEs) keep to this backend at most; more
     * requests queue in the worker. GET streams have a pool of their own. Default 32. */
    unsigned max_connections;
    /* worker processes of this backend (1..GW_WORKERS_MAX, default 1): sessions are sharded
     * over them by their uuid (common/shard.h), each its own max_connections */
    unsigned workers;
    gw_tool_names_t tools; /* servers[].tools: which tools are exposed, under which names */
    gw_server_tls_t tls;
} gw_server_conf_t;

/* auth.issuers[]: one authorization server whose tokens the gateway accepts. */
typedef struct gw_auth_issuer {
    char *issuer;     /* iss, compared byte for byte */
    char *jwks_file;  /* its JWK Set in a file, read by routers (one of jwks_file, jwks_uri) */
    char *jwks_uri;   /* its JWK Set fetched by the broker (https; http to loopback only) */
    char **audiences; /* aud must name one of them; default [auth.resource] */
    size_t naudiences;
    int audiences_set; /* audiences was written (not the default): an endpoint accepts them too */
    char **algorithms; /* JWS algorithms its keys may verify; default RS256 PS256 ES256 EdDSA */
    size_t nalgorithms;
} gw_auth_issuer_t;

/* policy.rules[].match.claims: a claim and the string it must equal (or, for an array claim,
 * contain). */
typedef struct gw_policy_claim_conf {
    char *name;
    char *value;
} gw_policy_claim_conf_t;

/* limits.rate (and policy.rules[].rate): requests per period, and the burst a caller that was
 * quiet may send at once. All zero: no limit. */
typedef struct gw_rate_conf {
    unsigned requests; /* per period_s; 0: no limit */
    unsigned period_s; /* 1 (written N/s) or 60 (N/m) */
    unsigned burst;    /* default: requests per second rounded up, at least 1 */
    int per_tool;      /* per: tool (1): each tools/call tool of a caller its own bucket; per:
                          caller (0, the default): one bucket for all of a caller's requests */
} gw_rate_conf_t;

/* policy.rules[]: who the rule is for (every key given must hold) and what it lets through. */
typedef struct gw_policy_rule_conf {
    unsigned line; /* of the entry in the file, for messages */
    char **scopes; /* match.scopes: all of them in the token's scope */
    size_t nscopes;
    gw_policy_claim_conf_t *claims; /* match.claims */
    size_t nclaims;
    char *subject;     /* match.subject: the token's sub, or NULL */
    int anonymous;     /* match.anonymous: true only without a verified token, false only with */
    int anonymous_set; /* match.anonymous was written */
    char **addresses;  /* match.addresses: CIDRs (IPv4, IPv6) one of which holds the client */
    size_t naddresses;
    char **allow; /* server/name globs (common/glob.h) the rule lets through */
    size_t nallow;
    char **deny; /* ... and those it does not, whatever allow says */
    size_t ndeny;
    gw_rate_conf_t rate; /* rate: each caller of this rule, besides limits.rate; none by default */
} gw_policy_rule_conf_t;
/* endpoints[]: a virtual server, its own MCP endpoint on the gateway's listeners, showing only
 * some servers (and of their tools, those tools narrows to). Endpoint n of a request is its
 * index here plus one; 0 is mcp_path, the gateway itself. */
#define GW_ENDPOINTS_MAX 64
typedef struct gw_endpoint_conf {
    unsigned line;  /* of the entry in the file, for messages */
    char *path;     /* its URL path: starts with '/', not mcp_path, not under /.well-known/ */
    char **servers; /* servers[] names, at least one, each once */
    size_t nservers;
    char **tools; /* server/name globs (common/glob.h) of the backends' own tool names */
    size_t ntools;
    int tools_set;      /* tools was written: only tools matching one of them (none for []) */
    char *resource;     /* its canonical URI for auth, or NULL (derived from auth.resource) */
    char *instructions; /* what initialize and server/discover tell its clients, or NULL (the
                         * top-level instructions) */
} gw_endpoint_conf_t;

typedef struct gw_config {
    char *path;          /* the file it came from (for messages) */
    gw_listen_t *listen; /* at least one */
    size_t nlisten;
    char *mcp_path;             /* default "/mcp" */
    char *instructions;         /* initialize's and server/discover's, or NULL (none) */
    char *runtime_dir;          /* default "/run/mcpgw" */
    unsigned routers;           /* default: number of online CPUs; 1..64 */
    uint64_t max_request_body;  /* limits.max_request_body, default 1 MiB */
    unsigned page_size;         /* limits.page_size: items per page of a list method, default 100 */
    uint64_t max_header_size;   /* limits.max_header_size: all request headers, default 16 KiB */
    uint64_t max_response_body; /* limits.max_response_body: one backend answer, default 8 MiB */
    unsigned max_sessions;      /* limits.max_sessions: live sessions, default 100000 (0: none) */
    unsigned max_sessions_per_client; /* limits.max_sessions_per_client: per client address,
                                         default 10000 (0: none) */
    uint64_t client_timeout_ms; /* limits.client_timeout: a client's request must arrive within
                                   it, and an idle connection closes after it; default 10s */
    /* limits.max_concurrent_requests_per_session: requests of one session a router process
     * waits on at once (answers and notifications do not count); default 64 (0: no limit) */
    unsigned max_concurrent_requests_per_session;
    gw_rate_conf_t rate;      /* limits.rate: per caller, shared by every router; default none */
    unsigned rate_callers;    /* limits.rate_callers: buckets of the shared table, default 65536 */
    char *key_file;           /* sessions.key_file, default /var/lib/mcpgw/session.key */
    uint64_t session_ttl_s;   /* sessions.ttl, default 24h */
    unsigned stream_replay;   /* sessions.stream_replay: events of a session's GET stream kept for
                                 Last-Event-ID resumption, default 64 (0: no replay) */
    uint64_t session_idle_ms; /* sessions.idle_timeout: a session with no request for this long
                                 is ended; default 1h (0: never) */
    char *control_socket;     /* control.socket, default <runtime_dir>/control.ipc */
    unsigned control_mode;    /* control.mode: the socket's permission bits, default 0660 */
    char *control_group;      /* control.group as written (a name or a number), default "mcpgw" */
    int64_t control_gid;      /* control.group resolved; -1 when the default group "mcpgw" does not
                                 exist (the socket keeps the broker's own group) */
    int control_group_set;    /* control.group was written in the file (not the default) */
    int log_level;            /* log.level, default info (GW_LOG_INFO) */
    int log_json;             /* log.format: json (1) or logfmt (0, the default) */
    /* limits.max_waiting_calls: calls one worker keeps parked for their 2026-07-28 caller's
     * answers to a 2025 backend's requests (MRTR, design 5.3); default 1024 */
    unsigned max_waiting_calls;
    /* limits.max_pooled_sessions: upstream sessions one worker keeps for 2026-07-28 callers of a
     * 2025 backend, least recently used closed first; default 1024 */
    unsigned max_pooled_sessions;
    /* limits.max_input_rounds: the retries a worker makes of a 2025 session's call to a
     * 2026-07-28 backend that keeps answering input_required; default 8 */
    unsigned max_input_rounds;
    /* limits.max_listens: 2026-07-28 subscriptions/listen streams the gateway holds; default 4096
     * (0: no limit) */
    unsigned max_listens;
    /* sessions.upstream_idle: a pooled upstream session unused this long is closed; default 300s */
    uint64_t upstream_idle_ms;
    /* limits.input_wait: a requestState the router seals opens for this long; default 300s */
    uint64_t input_wait_s;
    /* limits.max_request_state: the largest backend requestState the router wraps; 64 KiB */
    uint64_t max_request_state;
    gw_server_conf_t *servers;
    size_t nservers;
    /* http.allowed_hosts / http.allowed_origins: besides loopback, the Host names and Origins
     * clients may use (DNS-rebinding protection); "*" allows any. */
    char **allowed_hosts;
    size_t nallowed_hosts;
    char **allowed_origins;
    size_t nallowed_origins;
    uint64_t sse_heartbeat_ms; /* http.sse_heartbeat: comment on an idle GET stream, default 15s
                                  (0: never) */
    /* admin: the listener for /metrics, /healthz and /readyz (separate from client traffic) */
    int admin_enabled;           /* admin.enabled, default true */
    char *admin_address;         /* admin.address, default 127.0.0.1 */
    uint16_t admin_port;         /* admin.port, default 9090 (0: ephemeral, for tests) */
    unsigned ready_min_backends; /* admin.ready_min_backends: /readyz needs this many up (1) */
    /* auth: the OAuth 2.1 resource server; with auth_resource NULL every client is let in */
    char *auth_resource; /* auth.resource: this gateway's canonical URI, the default audience */
    gw_auth_issuer_t *auth_issuers;
    size_t nauth_issuers;
    char **auth_scopes_supported; /* auth.scopes_supported: announced in the metadata */
    size_t nauth_scopes_supported;
    char **auth_required_scopes; /* auth.required_scopes: every request needs all of them */
    size_t nauth_required_scopes;
    uint64_t auth_leeway_s;       /* auth.leeway: clock skew on exp, nbf, iat; default 60s */
    uint64_t auth_max_token_size; /* auth.max_token_size: bytes of one bearer token, 8 KiB */
    /* policy: what each caller may see and call (docs/policy.md); without it, everything */
    int policy_set;                      /* the section is in the file */
    int policy_default_deny;             /* policy.default: allow (0, the default) or deny (1) */
    gw_policy_rule_conf_t *policy_rules; /* policy.rules, first match wins */
    size_t npolicy_rules;
    gw_endpoint_conf_t *endpoints; /* endpoints, in file order; at most GW_ENDPOINTS_MAX */
    size_t nendpoints;
} gw_config_t;

/* Loads and validates path. On failure returns an error and writes one line to err, in the form
 * "mcpgw.yaml:12: servers[1].url: not an http(s) URL" (the file name as given). *out is owned by
 * the caller and freed with gw_config_destroy. */
gw_err_t gw_config_load(const char *path, gw_config_t **out, char *err, size_t errlen);
/* The same for text already in memory; name is used in messages. */
gw_err_t gw_config_parse(const char *name, const char *text, size_t len, gw_config_t **out,
                         char *err, size_t errlen);
void gw_config_destroy(gw_config_t *c);
/* Frees what one listen[] entry owns (not the entry). */
void gw_listen_fini(gw_listen_t *l);
/* Whether two string lists of a config hold the same strings in the same order. */
int gw_config_strings_same(char *const *a, size_t na, char *const *b, size_t nb);
/* The instructions of endpoint (0: mcp_path): its own, else the top level's, else NULL. */
const char *gw_config_instructions(const gw_config_t *c, unsigned endpoint);

/* Whether a and b have the same endpoints (paths, servers, tools, resources, in order). */
int gw_config_endpoints_same(const gw_config_t *a, const gw_config_t *b);
/* Returns the server called name, or NULL. */
const gw_server_conf_t *gw_config_server(const gw_config_t *c, const char *name);
/* The longest wait for a tools/call of tool (the backend's own name, len bytes) on server s: its
 * servers[].tool_timeouts entry, else servers[].timeout. */
uint64_t gw_server_tool_timeout_ms(const gw_server_conf_t *s, const char *tool, size_t len);
/* The name clients call tool_timeouts[i] by, before the prefix (servers[].tools applied: its
 * rename, unless another entry has that name as the backend's own), or NULL when servers[].tools
 * hides it. A string of s. */
const char *gw_server_tool_timeout_exposed(const gw_server_conf_t *s, size_t i);

/* r as the config writes it, for messages: "100/s, burst 200" ("" for no limit). */
void gw_rate_conf_text(const gw_rate_conf_t *r, char *out, size_t outlen);

/* "1MiB", "512KiB", "64kB", "1048576" -> bytes (KiB/MiB/GiB are 1024-based, kB/MB/GB 1000). */
gw_err_t gw_parse_size(const char *s, uint64_t *out);
/* "250ms", "30s", "5m", "24h", "7d", or a bare number of seconds -> milliseconds. */
gw_err_t gw_parse_duration_ms(const char *s, uint64_t *out);

#endif
