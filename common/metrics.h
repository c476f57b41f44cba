/* metrics.h: counters, gauges and latency histograms shared by every mcpgw process through one
 * shared-memory file in the runtime directory. Each process writes only its own slot with relaxed
 * atomic adds (no locks, no syscalls on the hot path); the broker reads every slot and renders the
 * Prometheus text format on its admin listener. */
#ifndef MCPGW_COMMON_METRICS_H
#define MCPGW_COMMON_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"

#define GW_METRICS_SLOTS_MAX 256
#define GW_METRICS_NAME_MAX 48

/* Counters. The rendering table in metrics.c gives each its Prometheus name and labels. */
typedef enum gw_counter {
    /* router: requests by method */
    GW_MC_REQ_INITIALIZE,
    GW_MC_REQ_TOOLS_CALL,
    GW_MC_REQ_TOOLS_LIST,
    GW_MC_REQ_PROMPTS,
    GW_MC_REQ_RESOURCES,
    GW_MC_REQ_NOTIFICATION,
    GW_MC_REQ_RESPONSE,
    GW_MC_REQ_DELETE,
    GW_MC_REQ_OTHER,
    /* router: responses by status class */
    GW_MC_RESP_2XX,
    GW_MC_RESP_4XX,
    GW_MC_RESP_5XX,
    /* router: rejections by reason */
    GW_MC_REJ_BODY_TOO_LARGE,
    GW_MC_REJ_HEADER_TOO_LARGE,
    GW_MC_REJ_SESSION_LIMIT,
    GW_MC_REJ_PARSE_ERROR,
    GW_MC_REJ_INVALID_REQUEST,
    GW_MC_REJ_NOT_ACCEPTABLE,
    GW_MC_REJ_UNSUPPORTED_MEDIA_TYPE,
    GW_MC_REJ_BAD_PROTOCOL_VERSION,
    GW_MC_REJ_MISSING_SESSION,
    GW_MC_REJ_UNKNOWN_SESSION,
    GW_MC_REJ_FORBIDDEN,
    GW_MC_REJ_UNKNOWN_NAME,
    GW_MC_REJ_UNKNOWN_METHOD,
    GW_MC_REJ_METHOD_NOT_ALLOWED,
    GW_MC_REJ_TIMEOUT,
    GW_MC_REJ_UNAVAILABLE,
    GW_MC_REJ_SESSION_REQUESTS, /* limits.max_concurrent_requests_per_session */
    GW_MC_REJ_CLIENT_TIMEOUT,   /* limits.client_timeout (HTTP/2; h2o closes HTTP/1 itself) */
    GW_MC_REJ_UNAUTHORIZED,     /* 401: no valid bearer token (auth) */
    GW_MC_REJ_H2_RESET_FLOOD,   /* an HTTP/2 connection shut for resetting requests (router) */
    GW_MC_REJ_RATE,             /* limits.rate: the caller is over its rate (router) */
    GW_MC_REJ_REQUEST_STATE,    /* a retry's requestState that does not open (router, MRTR) */
    /* router: bytes */
    GW_MC_BYTES_IN,
    GW_MC_BYTES_OUT,
    /* router: requests of callers that found no bucket of their own in the shared rate table
     * (every slot of their group live): charged to an overflow bucket shared by hash */
    GW_MC_RATE_OVERFLOW,
    /* router: requests in flight ended by the client's notifications/cancelled */
    GW_MC_CALLS_CANCELLED,
    /* worker (its calls by method and outcome: gw_backend_request_add) */
    GW_MC_UPSTREAM_CREATED,
    GW_MC_UPSTREAM_REINIT,
    /* worker: calls of 2026-07-28 callers parked for input (MRTR, design 5.3), by outcome */
    GW_MC_INPUT_WAIT_PARKED,
    GW_MC_INPUT_WAIT_RESUMED,
    GW_MC_INPUT_WAIT_EXPIRED,
    GW_MC_INPUT_WAIT_ENDED,   /* the backend ended the call, or it was cancelled, while parked */
    GW_MC_INPUT_WAIT_REFUSED, /* a resume naming no parked call, another round or caller */
    GW_MC_INPUT_WAIT_FULL,    /* limits.max_waiting_calls or the per-caller bound */
    GW_MC_INPUT_WAIT_MISSING_CAP, /* a request the caller did not declare (row 20) */
    GW_MC_INPUT_WAIT_DROPPED,     /* an event the backend sent while its call was parked */
    /* worker: backend answers refused before reaching a client, by reason (worker/answer.h) */
    GW_MC_BAD_ANSWER_NOT_JSON,
    GW_MC_BAD_ANSWER_NOT_JSONRPC,
    GW_MC_BAD_ANSWER_WRONG_ID,
    GW_MC_BAD_ANSWER_SECOND,
    /* worker: a 2026-07-28 backend's input_required for a 2025 session refused (mrtr_rounds.c) */
    GW_MC_BAD_ANSWER_INPUT_REQUIRED,   /* malformed */
    GW_MC_BAD_ANSWER_INPUT_UNDECLARED, /* asks for a capability the client did not declare */
    GW_MC_BAD_ANSWER_INPUT_ROUNDS,     /* past limits.max_input_rounds */
    /* worker: posts to the backend (refusals, client answers, notifications) not sent, by the
     * bound that was full */
    GW_MC_POST_DROP_SESSION,
    GW_MC_POST_DROP_WORKER,
    /* worker: a backend's catalog refused before it reaches the broker, by reason */
    GW_MC_CATALOG_TOO_LARGE,
    /* worker: tools of a backend's catalog left out of its report, by reason (servers[].tools) */
    GW_MC_TOOL_RENAME_COLLISION, /* renamed onto the name of the backend's own exposed tool */
    /* worker: transfers to an https:// backend that failed in TLS, by reason (worker/backend_tls.c)
     */
    GW_MC_TLS_VERIFY,                     /* the backend's certificate: CA, expiry, name */
    GW_MC_TLS_CA_FILE,                    /* tls.ca_file would not load */
    GW_MC_TLS_CLIENT_CERTIFICATE,         /* tls.client_certificate or client_key would not load */
    GW_MC_TLS_CLIENT_CERTIFICATE_REFUSED, /* the backend wanted one, or refused ours */
    GW_MC_TLS_HANDSHAKE,                  /* any other TLS failure */
    /* router: bearer tokens refused (auth), by reason; from MALFORMED to NO_MEMORY in the order
     * and with the names of common/jwt.h's gw_jwt_result_t (router/auth.c checks it) */
    GW_MC_AUTH_MISSING,            /* no Authorization header, or not a Bearer one */
    GW_MC_AUTH_TWO_HEADERS,        /* more than one Authorization header */
    GW_MC_AUTH_QUERY_TOKEN,        /* access_token in the query string (RFC 6750 2.3 refused) */
    GW_MC_AUTH_NO_KEYS,            /* the token's issuer has no usable key set */
    GW_MC_AUTH_INSUFFICIENT_SCOPE, /* valid, without a scope auth.required_scopes names */
    GW_MC_AUTH_SUBJECT_MISMATCH,   /* valid, for a session of another subject */
    GW_MC_AUTH_MALFORMED,
    GW_MC_AUTH_TOO_BIG,
    GW_MC_AUTH_JWE,
    GW_MC_AUTH_BAD_ALG,
    GW_MC_AUTH_UNKNOWN_KID,
    GW_MC_AUTH_BAD_SIGNATURE,
    GW_MC_AUTH_BAD_TYPE,
    GW_MC_AUTH_CRIT,
    GW_MC_AUTH_DUPLICATE_KEY,
    GW_MC_AUTH_EXPIRED,
    GW_MC_AUTH_NOT_YET_VALID,
    GW_MC_AUTH_BAD_ISSUER,
    GW_MC_AUTH_BAD_AUDIENCE,
    GW_MC_AUTH_NO_EXPIRY,
    GW_MC_AUTH_BAD_SUBJECT,
    GW_MC_AUTH_NO_MEMORY,
    /* router: calls the policy refused (answered as for a name that does not exist), by kind */
    GW_MC_POLICY_DENIED_TOOL,
    GW_MC_POLICY_DENIED_PROMPT,
    GW_MC_POLICY_DENIED_RESOURCE,
    GW_MC_COUNT
} gw_counter_t;

typedef enum gw_gauge {
    GW_MG_IN_FLIGHT,         /* router: requests waiting for a peer */
    GW_MG_UPSTREAM_SESSIONS, /* worker */
    /* worker: upstream sessions pooled for 2026-07-28 callers of a 2025 backend (worker/pool.c) */
    GW_MG_POOLED_SESSIONS,
    GW_MG_BACKEND_ERA,   /* worker: its backend's era, a gw_era_gauge_t (worker/era.c) */
    GW_MG_BACKEND_PROBE, /* worker: the outcome of its last server/discover probe, gw_probe_t */
    GW_MG_COUNT
} gw_gauge_t;

/* GW_MG_BACKEND_ERA: the values of the worker's wrk_era_t. */
typedef enum gw_era_gauge {
    GW_ERA_UNKNOWN = 0,
    GW_ERA_LEGACY = 1,
    GW_ERA_MODERN = 2,
    GW_ERA_DUAL = 3, /* both eras: each call in its caller's */
} gw_era_gauge_t;

/* GW_MG_BACKEND_PROBE: how a backend answered server/discover (docs/design-2026-07-28.md 7.2). */
typedef enum gw_probe {
    GW_PROBE_NONE = 0,      /* not probed yet */
    GW_PROBE_DISCOVER,      /* modern: a discover result listing 2026-07-28 */
    GW_PROBE_NO_SHARED,     /* legacy: a discover result without a version we speak */
    GW_PROBE_UNUSABLE,      /* legacy: 2xx, but not a discover result */
    GW_PROBE_RPC_ERROR,     /* legacy: a JSON-RPC error (including -32020, -32021, -32022) */
    GW_PROBE_HTTP_4XX,      /* legacy: another 4xx without a JSON-RPC error */
    GW_PROBE_VERSION_RETRY, /* -32022 listing 2026-07-28: probed again once */
    GW_PROBE_AUTH,          /* down: HTTP 401 or 403 */
    GW_PROBE_DOWN,          /* down: 5xx, timeout, unreachable */
    GW_PROBE_COUNT
} gw_probe_t;

/* "legacy", "modern", "unknown". */
const char *gw_era_gauge_name(int64_t v);
/* "discover", "rpc_error", "auth", ... ("none" for anything else). */
const char *gw_probe_name(int64_t v);

typedef enum gw_histogram {
    GW_MH_GATEWAY, /* router: from a complete request to its answer's start, via a peer */
    GW_MH_BACKEND, /* worker: one call to the backend, first byte sent to the end */
    GW_MH_COUNT
} gw_histogram_t;

/* Upper bounds of the histogram buckets, in microseconds (+Inf is implied). */
#define GW_HIST_BUCKETS 14

/* A worker's requests to its backend: by method ... */
typedef enum gw_backend_method {
    GW_BM_TOOLS_CALL,
    GW_BM_PROMPTS_GET,
    GW_BM_RESOURCES, /* resources/read, subscribe, unsubscribe */
    GW_BM_COMPLETION,
    GW_BM_TASKS,
    GW_BM_OTHER, /* answers to server requests, anything else */
    GW_BM_COUNT
} gw_backend_method_t;

/* ... and how they ended: the backend answered (a result or its own JSON-RPC error), the gateway
 * answered an error for it (unreachable, HTTP error, bad answer), its deadline passed, or the
 * client cancelled it (notifications/cancelled: nobody is answered). */
typedef enum gw_backend_status {
    GW_BS_OK,
    GW_BS_ERROR,
    GW_BS_TIMEOUT,
    GW_BS_CANCELLED,
    GW_BS_COUNT
} gw_backend_status_t;

gw_backend_method_t gw_backend_method_of(const char *method, size_t len);

typedef struct gw_metrics_slot {
    char name[GW_METRICS_NAME_MAX]; /* "router.0", "worker.alpha"; "" while unused */
    int64_t pid;
    uint64_t counters[GW_MC_COUNT];
    int64_t gauges[GW_MG_COUNT];
    uint64_t buckets[GW_MH_COUNT][GW_HIST_BUCKETS + 1];
    uint64_t sum_us[GW_MH_COUNT];
    uint64_t backend_requests[GW_BM_COUNT][GW_BS_COUNT]; /* mcpgw_backend_requests_total */
} gw_metrics_slot_t;

typedef struct gw_metrics gw_metrics_t;

/* The broker: creates (or empties) the file at path with room for nslots and maps it. */
gw_err_t gw_metrics_create(const char *path, unsigned nslots, gw_metrics_t **out);
/* A child: maps the file and claims slot (its name and pid are written there). */
gw_err_t gw_metrics_attach(const char *path, unsigned slot, const char *name,
                           gw_metrics_slot_t **out);
/* A restarted child attaches to its old slot again: its counters go on from where they were. */
void gw_metrics_destroy(gw_metrics_t *m);

/* Slot i as the broker reads it (NULL past the end). */
const gw_metrics_slot_t *gw_metrics_slot(const gw_metrics_t *m, unsigned i);

/* Appends every slot's metrics in the Prometheus text format. */
gw_err_t gw_metrics_render(const gw_metrics_t *m, gw_buf_t *out);

/* Hot-path updates; s may be NULL (a process running without metrics). */
static inline void gw_metric_add(gw_metrics_slot_t *s, gw_counter_t c, uint64_t n)
{
    if (s != NULL) {
        __atomic_fetch_add(&s->counters[c], n, __ATOMIC_RELAXED);
    }
}

static inline void gw_gauge_set(gw_metrics_slot_t *s, gw_gauge_t g, int64_t v)
{
    if (s != NULL) {
        __atomic_store_n(&s->gauges[g], v, __ATOMIC_RELAXED);
    }
}

void gw_metric_observe_us(gw_metrics_slot_t *s, gw_histogram_t h, uint64_t us);

static inline void gw_backend_request_add(gw_metrics_slot_t *s, gw_backend_method_t m,
                                          gw_backend_status_t st)
{
    if (s != NULL) {
        __atomic_fetch_add(&s->backend_requests[m][st], 1, __ATOMIC_RELAXED);
    }
}

#endif
