/* metrics.c: the shared-memory metrics file and its Prometheus rendering. */
#include <config.h> /* autoconf's, not common/config.h */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/metrics.h"
#include "common/names.h"
#include "common/shm.h"

#define METRICS_MAGIC 0x6d637067u /* "mcpg" */
#define METRICS_VERSION 1

typedef struct shm_header {
    uint32_t magic;
    uint32_t version;
    uint32_t nslots;
    uint32_t slot_size;
} shm_header_t;

struct gw_metrics {
    shm_header_t *hdr;
    gw_metrics_slot_t *slots;
    size_t len;
};

static const uint64_t bucket_bounds_us[GW_HIST_BUCKETS] = {
    100,   250,   500,    1000,   2500,    5000,    10000,
    25000, 50000, 100000, 250000, 1000000, 5000000, 30000000,
};

/* name, type (counter/gauge), label name, label value, help: families are grouped by name. */
static const struct counter_info {
    const char *name;
    const char *label;
    const char *value;
    const char *help;
} counters[GW_MC_COUNT] = {
    [GW_MC_REQ_INITIALIZE] = {"mcpgw_requests_total", "method", "initialize",
                              "Client messages by method (router)."},
    [GW_MC_REQ_TOOLS_CALL] = {"mcpgw_requests_total", "method", "tools/call", NULL},
    [GW_MC_REQ_TOOLS_LIST] = {"mcpgw_requests_total", "method", "tools/list", NULL},
    [GW_MC_REQ_PROMPTS] = {"mcpgw_requests_total", "method", "prompts", NULL},
    [GW_MC_REQ_RESOURCES] = {"mcpgw_requests_total", "method", "resources", NULL},
    [GW_MC_REQ_NOTIFICATION] = {"mcpgw_requests_total", "method", "notification", NULL},
    [GW_MC_REQ_RESPONSE] = {"mcpgw_requests_total", "method", "response", NULL},
    [GW_MC_REQ_DELETE] = {"mcpgw_requests_total", "method", "DELETE", NULL},
    [GW_MC_REQ_OTHER] = {"mcpgw_requests_total", "method", "other", NULL},
    [GW_MC_RESP_2XX] = {"mcpgw_responses_total", "code", "2xx",
                        "HTTP responses by status class (router)."},
    [GW_MC_RESP_4XX] = {"mcpgw_responses_total", "code", "4xx", NULL},
    [GW_MC_RESP_5XX] = {"mcpgw_responses_total", "code", "5xx", NULL},
    [GW_MC_REJ_BODY_TOO_LARGE] = {"mcpgw_rejections_total", "reason", "body_too_large",
                                  "Requests refused before reaching a backend, by reason."},
    [GW_MC_REJ_HEADER_TOO_LARGE] = {"mcpgw_rejections_total", "reason", "header_too_large", NULL},
    [GW_MC_REJ_SESSION_LIMIT] = {"mcpgw_rejections_total", "reason", "session_limit", NULL},
    [GW_MC_REJ_PARSE_ERROR] = {"mcpgw_rejections_total", "reason", "parse_error", NULL},
    [GW_MC_REJ_INVALID_REQUEST] = {"mcpgw_rejections_total", "reason", "invalid_request", NULL},
    [GW_MC_REJ_NOT_ACCEPTABLE] = {"mcpgw_rejections_total", "reason", "not_acceptable", NULL},
    [GW_MC_REJ_UNSUPPORTED_MEDIA_TYPE] = {"mcpgw_rejections_total", "reason",
                                          "unsupported_media_type", NULL},
    [GW_MC_REJ_BAD_PROTOCOL_VERSION] = {"mcpgw_rejections_total", "reason", "bad_protocol_version",
                                        NULL},
    [GW_MC_REJ_MISSING_SESSION] = {"mcpgw_rejections_total", "reason", "missing_session", NULL},
    [GW_MC_REJ_UNKNOWN_SESSION] = {"mcpgw_rejections_total", "reason", "unknown_session", NULL},
    [GW_MC_REJ_FORBIDDEN] = {"mcpgw_rejections_total", "reason", "forbidden", NULL},
    [GW_MC_REJ_UNKNOWN_NAME] = {"mcpgw_rejections_total", "reason", "unknown_name", NULL},
    [GW_MC_REJ_UNKNOWN_METHOD] = {"mcpgw_rejections_total", "reason", "unknown_method", NULL},
    [GW_MC_REJ_METHOD_NOT_ALLOWED] = {"mcpgw_rejections_total", "reason", "method_not_allowed",
                                      NULL},
    [GW_MC_REJ_TIMEOUT] = {"mcpgw_rejections_total", "reason", "timeout", NULL},
    [GW_MC_REJ_UNAVAILABLE] = {"mcpgw_rejections_total", "reason", "unavailable", NULL},
    [GW_MC_REJ_SESSION_REQUESTS] = {"mcpgw_rejections_total", "reason", "concurrent_requests",
                                    NULL},
    [GW_MC_REJ_UNAUTHORIZED] = {"mcpgw_rejections_total", "reason", "unauthorized", NULL},
    [GW_MC_REJ_CLIENT_TIMEOUT] = {"mcpgw_rejections_total", "reason", "client_timeout", NULL},
    [GW_MC_REJ_H2_RESET_FLOOD] = {"mcpgw_rejections_total", "reason", "h2_reset_flood", NULL},
    [GW_MC_REJ_RATE] = {"mcpgw_rejections_total", "reason", "rate", NULL},
    [GW_MC_REJ_REQUEST_STATE] = {"mcpgw_rejections_total", "reason", "request_state", NULL},
    [GW_MC_BYTES_IN] = {"mcpgw_http_bytes_total", "direction", "in",
                        "Request and response body bytes (router)."},
    [GW_MC_BYTES_OUT] = {"mcpgw_http_bytes_total", "direction", "out", NULL},
    [GW_MC_RATE_OVERFLOW] = {"mcpgw_rate_overflow_total", NULL, NULL,
                             "Requests of callers that found no rate bucket of their own (the "
                             "shared table's slots for them all live), charged to an overflow "
                             "bucket shared by hash (router)."},
    [GW_MC_CALLS_CANCELLED] = {"mcpgw_cancelled_requests_total", NULL, NULL,
                               "Requests in flight the client cancelled (router): ended without "
                               "a response."},
    [GW_MC_UPSTREAM_CREATED] = {"mcpgw_upstream_sessions_created_total", NULL, NULL,
                                "Upstream sessions a worker initialized."},
    [GW_MC_UPSTREAM_REINIT] = {"mcpgw_upstream_sessions_reinitialized_total", NULL, NULL,
                               "Upstream sessions re-created after the backend lost them."},
    [GW_MC_INPUT_WAIT_PARKED] = {"mcpgw_input_waits_total", "outcome", "parked",
                                 "Calls of 2026-07-28 callers parked for the client's input to a "
                                 "2025 backend, and how the waits ended (worker)."},
    [GW_MC_INPUT_WAIT_RESUMED] = {"mcpgw_input_waits_total", "outcome", "resumed", NULL},
    [GW_MC_INPUT_WAIT_EXPIRED] = {"mcpgw_input_waits_total", "outcome", "expired", NULL},
    [GW_MC_INPUT_WAIT_ENDED] = {"mcpgw_input_waits_total", "outcome", "ended", NULL},
    [GW_MC_INPUT_WAIT_REFUSED] = {"mcpgw_input_waits_total", "outcome", "refused", NULL},
    [GW_MC_INPUT_WAIT_FULL] = {"mcpgw_input_waits_total", "outcome", "full", NULL},
    [GW_MC_INPUT_WAIT_MISSING_CAP] = {"mcpgw_input_waits_total", "outcome", "missing_capability",
                                      NULL},
    [GW_MC_INPUT_WAIT_DROPPED] = {"mcpgw_input_waits_total", "outcome", "event_dropped", NULL},
    [GW_MC_BAD_ANSWER_NOT_JSON] =
        {"mcpgw_backend_bad_answers_total", "reason", "not_json",
         "Backend answers to calls refused as not the answer, by reason."},
    [GW_MC_BAD_ANSWER_NOT_JSONRPC] = {"mcpgw_backend_bad_answers_total", "reason", "not_jsonrpc",
                                      NULL},
    [GW_MC_BAD_ANSWER_WRONG_ID] = {"mcpgw_backend_bad_answers_total", "reason", "wrong_id", NULL},
    [GW_MC_BAD_ANSWER_SECOND] = {"mcpgw_backend_bad_answers_total", "reason", "second_response",
                                 NULL},
    [GW_MC_BAD_ANSWER_INPUT_REQUIRED] = {"mcpgw_backend_bad_answers_total", "reason",
                                         "bad_input_required", NULL},
    [GW_MC_BAD_ANSWER_INPUT_UNDECLARED] = {"mcpgw_backend_bad_answers_total", "reason",
                                           "input_not_declared", NULL},
    [GW_MC_BAD_ANSWER_INPUT_ROUNDS] = {"mcpgw_backend_bad_answers_total", "reason",
                                       "too_many_input_rounds", NULL},
    [GW_MC_POST_DROP_SESSION] = {"mcpgw_backend_posts_dropped_total", "reason",
                                 "session_queue_full",
                                 "Posts to a backend not sent because a bounded queue was full."},
    [GW_MC_POST_DROP_WORKER] = {"mcpgw_backend_posts_dropped_total", "reason", "worker_queue_full",
                                NULL},
    [GW_MC_CATALOG_TOO_LARGE] = {"mcpgw_catalog_refused_total", "reason", "too_large",
                                 "Backend catalogs a worker refused to report, by reason."},
    [GW_MC_TOOL_RENAME_COLLISION] = {"mcpgw_catalog_tools_dropped_total", "reason",
                                     "rename_collision",
                                     "Tools of a backend's catalog a worker left out, by reason."},
    [GW_MC_TLS_VERIFY] = {"mcpgw_backend_tls_failures_total", "reason", "verify",
                          "Transfers to an https backend that failed in TLS, by reason."},
    [GW_MC_TLS_CA_FILE] = {"mcpgw_backend_tls_failures_total", "reason", "ca_file", NULL},
    [GW_MC_TLS_CLIENT_CERTIFICATE] = {"mcpgw_backend_tls_failures_total", "reason",
                                      "client_certificate", NULL},
    [GW_MC_TLS_CLIENT_CERTIFICATE_REFUSED] = {"mcpgw_backend_tls_failures_total", "reason",
                                              "client_certificate_refused", NULL},
    [GW_MC_TLS_HANDSHAKE] = {"mcpgw_backend_tls_failures_total", "reason", "handshake", NULL},
    [GW_MC_AUTH_MISSING] = {"mcpgw_auth_failures_total", "reason", "missing",
                            "Bearer tokens the routers refused, by reason (auth)."},
    [GW_MC_AUTH_TWO_HEADERS] = {"mcpgw_auth_failures_total", "reason", "two_headers", NULL},
    [GW_MC_AUTH_QUERY_TOKEN] = {"mcpgw_auth_failures_total", "reason", "query_token", NULL},
    [GW_MC_AUTH_NO_KEYS] = {"mcpgw_auth_failures_total", "reason", "no_keys", NULL},
    [GW_MC_AUTH_INSUFFICIENT_SCOPE] = {"mcpgw_auth_failures_total", "reason", "insufficient_scope",
                                       NULL},
    [GW_MC_AUTH_SUBJECT_MISMATCH] = {"mcpgw_auth_failures_total", "reason", "subject_mismatch",
                                     NULL},
    [GW_MC_AUTH_MALFORMED] = {"mcpgw_auth_failures_total", "reason", "malformed", NULL},
    [GW_MC_AUTH_TOO_BIG] = {"mcpgw_auth_failures_total", "reason", "too_big", NULL},
    [GW_MC_AUTH_JWE] = {"mcpgw_auth_failures_total", "reason", "jwe", NULL},
    [GW_MC_AUTH_BAD_ALG] = {"mcpgw_auth_failures_total", "reason", "bad_alg", NULL},
    [GW_MC_AUTH_UNKNOWN_KID] = {"mcpgw_auth_failures_total", "reason", "unknown_kid", NULL},
    [GW_MC_AUTH_BAD_SIGNATURE] = {"mcpgw_auth_failures_total", "reason", "bad_signature", NULL},
    [GW_MC_AUTH_BAD_TYPE] = {"mcpgw_auth_failures_total", "reason", "bad_type", NULL},
    [GW_MC_AUTH_CRIT] = {"mcpgw_auth_failures_total", "reason", "crit", NULL},
    [GW_MC_AUTH_DUPLICATE_KEY] = {"mcpgw_auth_failures_total", "reason", "duplicate_key", NULL},
    [GW_MC_AUTH_EXPIRED] = {"mcpgw_auth_failures_total", "reason", "expired", NULL},
    [GW_MC_AUTH_NOT_YET_VALID] = {"mcpgw_auth_failures_total", "reason", "not_yet_valid", NULL},
    [GW_MC_AUTH_BAD_ISSUER] = {"mcpgw_auth_failures_total", "reason", "bad_issuer", NULL},
    [GW_MC_AUTH_BAD_AUDIENCE] = {"mcpgw_auth_failures_total", "reason", "bad_audience", NULL},
    [GW_MC_AUTH_NO_EXPIRY] = {"mcpgw_auth_failures_total", "reason", "no_expiry", NULL},
    [GW_MC_AUTH_BAD_SUBJECT] = {"mcpgw_auth_failures_total", "reason", "bad_subject", NULL},
    [GW_MC_AUTH_NO_MEMORY] = {"mcpgw_auth_failures_total", "reason", "no_memory", NULL},
    [GW_MC_POLICY_DENIED_TOOL] = {"mcpgw_policy_denied_total", "kind", "tool",
                                  "Calls the policy refused (answered as unknown), by kind."},
    [GW_MC_POLICY_DENIED_PROMPT] = {"mcpgw_policy_denied_total", "kind", "prompt", NULL},
    [GW_MC_POLICY_DENIED_RESOURCE] = {"mcpgw_policy_denied_total", "kind", "resource", NULL},
};

static const struct gauge_info {
    const char *name;
    const char *help;
} gauges[GW_MG_COUNT] = {
    [GW_MG_IN_FLIGHT] = {"mcpgw_in_flight_requests", "Requests a router is waiting on."},
    [GW_MG_UPSTREAM_SESSIONS] = {"mcpgw_upstream_sessions", "Live upstream sessions (worker)."},
    [GW_MG_POOLED_SESSIONS] = {"mcpgw_pooled_upstream_sessions",
                               "Upstream sessions pooled for 2026-07-28 callers (worker)."},
    [GW_MG_BACKEND_ERA] = {"mcpgw_backend_era",
                           "The backend's era: 0 unknown (down), 1 2025 revisions, 2 2026-07-28, "
                           "3 both (dual)."},
    [GW_MG_BACKEND_PROBE] = {"mcpgw_backend_probe_outcome",
                             "How the backend answered server/discover last (gw_probe_t)."},
};

/* Which gauges workers keep (the others are routers'). */
static int worker_gauge(size_t g)
{
    return g == GW_MG_UPSTREAM_SESSIONS || g == GW_MG_POOLED_SESSIONS || g == GW_MG_BACKEND_ERA ||
           g == GW_MG_BACKEND_PROBE;
}

const char *gw_era_gauge_name(int64_t v)
{
    return v == GW_ERA_LEGACY   ? "legacy"
           : v == GW_ERA_MODERN ? "modern"
           : v == GW_ERA_DUAL   ? "dual"
                                : "unknown";
}

const char *gw_probe_name(int64_t v)
{
    static const char *const names[GW_PROBE_COUNT] = {
        [GW_PROBE_NONE] = "none",
        [GW_PROBE_DISCOVER] = "discover",
        [GW_PROBE_NO_SHARED] = "no_shared_version",
        [GW_PROBE_UNUSABLE] = "unusable_reply",
        [GW_PROBE_RPC_ERROR] = "rpc_error",
        [GW_PROBE_HTTP_4XX] = "http_4xx",
        [GW_PROBE_VERSION_RETRY] = "version_retry",
        [GW_PROBE_AUTH] = "auth",
        [GW_PROBE_DOWN] = "down",
    };
    return v >= 0 && v < GW_PROBE_COUNT ? names[v] : "none";
}

static const struct hist_info {
    const char *name;
    const char *help;
} hists[GW_MH_COUNT] = {
    [GW_MH_GATEWAY] = {"mcpgw_request_duration_seconds",
                       "Time from a complete request to its answer, through a peer (router)."},
    [GW_MH_BACKEND] = {"mcpgw_backend_duration_seconds", "Time of one backend exchange (worker)."},
};

static size_t file_size(unsigned nslots)
{
    return sizeof(shm_header_t) + (size_t)nslots * sizeof(gw_metrics_slot_t);
}

gw_err_t gw_metrics_create(const char *path, unsigned nslots, gw_metrics_t **out)
{
    if (nslots == 0 || nslots > GW_METRICS_SLOTS_MAX) {
        return GW_EINVAL;
    }
    gw_metrics_t *m = calloc(1, sizeof(*m));
    if (m == NULL) {
        return GW_ENOMEM;
    }
    m->len = file_size(nslots);
    void *p = NULL;
    gw_err_t err = gw_shm_create(path, m->len, &p);
    if (err != GW_OK) {
        free(m);
        return err;
    }
    m->hdr = p;
    m->slots = (gw_metrics_slot_t *)(m->hdr + 1);
    m->hdr->version = METRICS_VERSION;
    m->hdr->nslots = nslots;
    m->hdr->slot_size = sizeof(gw_metrics_slot_t);
    __atomic_store_n(&m->hdr->magic, METRICS_MAGIC, __ATOMIC_RELEASE);
    *out = m;
    return GW_OK;
}

gw_err_t gw_metrics_attach(const char *path, unsigned slot, const char *name,
                           gw_metrics_slot_t **out)
{
    void *p = NULL;
    size_t len = 0;
    gw_err_t err = gw_shm_map(path, sizeof(shm_header_t), &p, &len);
    if (err != GW_OK) {
        return err;
    }
    shm_header_t *hdr = p;
    if (hdr->magic != METRICS_MAGIC || hdr->version != METRICS_VERSION ||
        hdr->slot_size != sizeof(gw_metrics_slot_t) || slot >= hdr->nslots ||
        len < file_size(hdr->nslots)) {
        munmap(p, len);
        return GW_EPROTO;
    }
    gw_metrics_slot_t *s = (gw_metrics_slot_t *)(hdr + 1) + slot;
    snprintf(s->name, sizeof(s->name), "%s", name);
    s->pid = getpid();
    *out = s; /* mapped for the life of the process */
    return GW_OK;
}

void gw_metrics_destroy(gw_metrics_t *m)
{
    if (m != NULL) {
        munmap(m->hdr, m->len);
        free(m);
    }
}

const gw_metrics_slot_t *gw_metrics_slot(const gw_metrics_t *m, unsigned i)
{
    return m != NULL && i < m->hdr->nslots ? &m->slots[i] : NULL;
}

void gw_metric_observe_us(gw_metrics_slot_t *s, gw_histogram_t h, uint64_t us)
{
    if (s == NULL) {
        return;
    }
    size_t b = 0;
    while (b < GW_HIST_BUCKETS && us > bucket_bounds_us[b]) {
        b++;
    }
    __atomic_fetch_add(&s->buckets[h][b], 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&s->sum_us[h], us, __ATOMIC_RELAXED);
}

static const char *const backend_method_names[GW_BM_COUNT] = {
    [GW_BM_TOOLS_CALL] = "tools/call", [GW_BM_PROMPTS_GET] = "prompts/get",
    [GW_BM_RESOURCES] = "resources",   [GW_BM_COMPLETION] = "completion/complete",
    [GW_BM_TASKS] = "tasks",           [GW_BM_OTHER] = "other",
};
static const char *const backend_status_names[GW_BS_COUNT] = {"ok", "error", "timeout",
                                                              "cancelled"};

gw_backend_method_t gw_backend_method_of(const char *method, size_t len)
{
#define IS(lit) (len == sizeof(lit) - 1 && memcmp(method, lit, len) == 0)
#define STARTS(lit) (len >= sizeof(lit) - 1 && memcmp(method, lit, sizeof(lit) - 1) == 0)
    if (IS("tools/call")) {
        return GW_BM_TOOLS_CALL;
    }
    if (IS("prompts/get")) {
        return GW_BM_PROMPTS_GET;
    }
    if (STARTS("resources/")) {
        return GW_BM_RESOURCES;
    }
    if (IS("completion/complete")) {
        return GW_BM_COMPLETION;
    }
    if (STARTS("tasks/")) {
        return GW_BM_TASKS;
    }
    return GW_BM_OTHER;
#undef IS
#undef STARTS
}

/* The labels every series of a slot carries: process, and backend for a worker. */
static void slot_labels(const gw_metrics_slot_t *s, char *out, size_t outlen)
{
    const char *server;
    size_t len;
    unsigned shard;
    if (gw_worker_proc_parse(s->name, &server, &len, &shard)) { /* worker.<server>[.<shard>] */
        snprintf(out, outlen, "process=\"%s\",backend=\"%.*s\"", s->name, (int)len, server);
    } else {
        snprintf(out, outlen, "process=\"%s\"", s->name);
    }
}

/* Counters with many reasons that most processes never count: only their non-zero lines. */
static int sparse(const char *name)
{
    return strcmp(name, "mcpgw_rejections_total") == 0 ||
           strcmp(name, "mcpgw_auth_failures_total") == 0;
}

gw_err_t gw_metrics_render(const gw_metrics_t *m, gw_buf_t *out)
{
    gw_err_t err = GW_OK;
    unsigned n = m->hdr->nslots;
    char labels[160];
    for (size_t c = 0; c < GW_MC_COUNT && err == GW_OK; c++) {
        if (counters[c].help != NULL) {
            err = gw_buf_appendf(out, "# HELP %s %s\n# TYPE %s counter\n", counters[c].name,
                                 counters[c].help, counters[c].name);
        }
        for (unsigned i = 0; i < n && err == GW_OK; i++) {
            const gw_metrics_slot_t *s = &m->slots[i];
            uint64_t v = __atomic_load_n(&s->counters[c], __ATOMIC_RELAXED);
            if (s->name[0] == '\0' ||
                (v == 0 && counters[c].label != NULL && sparse(counters[c].name))) {
                continue;
            }
            slot_labels(s, labels, sizeof(labels));
            if (counters[c].label != NULL) {
                err = gw_buf_appendf(out, "%s{%s,%s=\"%s\"} %" PRIu64 "\n", counters[c].name,
                                     labels, counters[c].label, counters[c].value, v);
            } else {
                err = gw_buf_appendf(out, "%s{%s} %" PRIu64 "\n", counters[c].name, labels, v);
            }
        }
    }
    if (err == GW_OK) {
        err = gw_buf_appends(out, "# HELP mcpgw_backend_requests_total Requests a worker sent to "
                                  "its backend, by method and how they ended.\n"
                                  "# TYPE mcpgw_backend_requests_total counter\n");
    }
    for (unsigned i = 0; i < n && err == GW_OK; i++) {
        const gw_metrics_slot_t *s = &m->slots[i];
        const char *server;
        size_t len;
        unsigned shard;
        if (!gw_worker_proc_parse(s->name, &server, &len, &shard)) {
            continue;
        }
        slot_labels(s, labels, sizeof(labels));
        for (size_t bm = 0; bm < GW_BM_COUNT && err == GW_OK; bm++) {
            for (size_t bs = 0; bs < GW_BS_COUNT && err == GW_OK; bs++) {
                uint64_t v = __atomic_load_n(&s->backend_requests[bm][bs], __ATOMIC_RELAXED);
                if (v > 0 || (bm == GW_BM_TOOLS_CALL && bs == GW_BS_OK)) {
                    err = gw_buf_appendf(out,
                                         "mcpgw_backend_requests_total{%s,method=\"%s\","
                                         "status=\"%s\"} %" PRIu64 "\n",
                                         labels, backend_method_names[bm], backend_status_names[bs],
                                         v);
                }
            }
        }
    }
    for (size_t g = 0; g < GW_MG_COUNT && err == GW_OK; g++) {
        err = gw_buf_appendf(out, "# HELP %s %s\n# TYPE %s gauge\n", gauges[g].name, gauges[g].help,
                             gauges[g].name);
        for (unsigned i = 0; i < n && err == GW_OK; i++) {
            const gw_metrics_slot_t *s = &m->slots[i];
            int64_t v = __atomic_load_n(&s->gauges[g], __ATOMIC_RELAXED);
            if (s->name[0] == '\0' || worker_gauge(g) != (s->name[0] == 'w')) {
                continue;
            }
            slot_labels(s, labels, sizeof(labels));
            err = gw_buf_appendf(out, "%s{%s} %" PRId64 "\n", gauges[g].name, labels, v);
        }
    }
    for (size_t h = 0; h < GW_MH_COUNT && err == GW_OK; h++) {
        err = gw_buf_appendf(out, "# HELP %s %s\n# TYPE %s histogram\n", hists[h].name,
                             hists[h].help, hists[h].name);
        for (unsigned i = 0; i < n && err == GW_OK; i++) {
            const gw_metrics_slot_t *s = &m->slots[i];
            if (s->name[0] == '\0' || (h == GW_MH_BACKEND) != (s->name[0] == 'w')) {
                continue;
            }
            slot_labels(s, labels, sizeof(labels));
            uint64_t cum = 0;
            for (size_t b = 0; b <= GW_HIST_BUCKETS && err == GW_OK; b++) {
                cum += __atomic_load_n(&s->buckets[h][b], __ATOMIC_RELAXED);
                if (b < GW_HIST_BUCKETS) {
                    err = gw_buf_appendf(out, "%s_bucket{%s,le=\"%g\"} %" PRIu64 "\n",
                                         hists[h].name, labels, bucket_bounds_us[b] / 1e6, cum);
                } else {
                    err = gw_buf_appendf(out, "%s_bucket{%s,le=\"+Inf\"} %" PRIu64 "\n",
                                         hists[h].name, labels, cum);
                }
            }
            if (err == GW_OK) {
                err = gw_buf_appendf(out, "%s_sum{%s} %.6f\n%s_count{%s} %" PRIu64 "\n",
                                     hists[h].name, labels,
                                     __atomic_load_n(&s->sum_us[h], __ATOMIC_RELAXED) / 1e6,
                                     hists[h].name, labels, cum);
            }
        }
    }
    return err;
}
