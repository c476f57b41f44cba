/* auth.c: the router as an OAuth 2.1 resource server (auth): the bearer token of every MCP
 * request taken from its one Authorization header, verified against its issuer's keys and the
 * policy (common/jwt.c) once per token (router/auth_cache.c), the 401 and 403 challenges of RFC
 * 6750 and RFC 9728, and the protected resource metadata. */
#include <config.h> /* autoconf's, not common/config.h */

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/sha.h>

#include "common/clock.h"
#include "common/endpoint.h"
#include "common/json.h"
#include "common/jwk.h"
#include "common/jwks_file.h"
#include "common/jwt.h"
#include "common/log.h"
#include "router/router.h"

#define WELL_KNOWN "/.well-known/oauth-protected-resource"
#define AUTHORITY_MAX 256
#define REFETCH_ASK_MS 5000

/* The metric reasons of common/jwt.h's results, in the same order. */
_Static_assert(GW_MC_AUTH_NO_MEMORY - GW_MC_AUTH_MALFORMED == GW_JWT_NO_MEMORY - GW_JWT_MALFORMED,
               "mcpgw_auth_failures_total reasons follow gw_jwt_result_t");

/* One accepted issuer: its config entry and the key set read from its jwks_file (NULL: none
 * usable, and every token of this issuer is refused). */
typedef struct issuer {
    const gw_auth_issuer_t *conf;
    gw_jwks_t *keys;
    uint8_t tag[GW_ISSUER_TAG_LEN];
    int64_t refetch_ms; /* when this router last asked the broker to fetch its jwks_uri again */
} issuer_t;

struct rtr_auth {
    issuer_t *issuers;
    size_t nissuers;
    char *scope; /* auth.required_scopes joined by spaces ("" for none) */
    size_t nresources;
    char **resources;   /* [endpoint]: auth.resource, then each endpoint's canonical URI */
    gw_buf_t *metadata; /* [endpoint]: the RFC 9728 document of each, built once */
    rtr_auth_cache_t *cache;
};

/* ---- keys ---- */

/* Asks the broker to fetch is's jwks_uri again (an unknown kid, or no keys yet): at most once per
 * REFETCH_ASK_MS from this router; the broker itself fetches at most once per 30 s. */
static void ask_refetch(rtr_t *r, issuer_t *is)
{
    int64_t now = gw_clock_ms();
    if (is->conf->jwks_uri == NULL ||
        (is->refetch_ms != 0 && now - is->refetch_ms < REFETCH_ASK_MS)) {
        return;
    }
    is->refetch_ms = now;
    gw_envelope_t e = {.kind = GW_ENV_CONTROL, .flags = GW_ENV_F_NOREPLY};
    e.method = GW_STR("auth/refetch");
    e.body = (gw_str_t){is->conf->issuer, strlen(is->conf->issuer)};
    rtr_peer_send(r->broker, &e);
}

void rtr_auth_keys_update(rtr_t *r, yajl_val msg)
{
    rtr_auth_t *a = r->auth;
    const char *iss = YAJL_GET_STRING(gw_json_get(msg, "issuer"));
    const char *text = YAJL_GET_STRING(gw_json_get(msg, "jwks"));
    issuer_t *is = NULL;
    for (size_t i = 0; a != NULL && iss != NULL && i < a->nissuers && is == NULL; i++) {
        if (a->issuers[i].conf->jwks_uri != NULL && strcmp(a->issuers[i].conf->issuer, iss) == 0) {
            is = &a->issuers[i];
        }
    }
    if (is == NULL || text == NULL) {
        gw_log_warn("msg=\"key set for no jwks_uri issuer of this router\" issuer=\"%s\"",
                    iss != NULL ? iss : "");
        return;
    }
    gw_jwks_t *set = NULL;
    char why[256] = "";
    if (gw_jwks_parse(text, strlen(text), gw_jwks_algorithms_mask(is->conf), &set, why,
                      sizeof(why)) != GW_OK) {
        gw_log_err("msg=\"pushed key set refused: keeping the last\" issuer=\"%s\" error=\"%s\"",
                   iss, why);
        return;
    }
    gw_jwks_destroy(is->keys);
    is->keys = set;
    /* a rotation that removed a key must refuse the tokens it signed, cached or not; the tokens
     * of the keys that stay verify again once */
    rtr_auth_cache_clear(a->cache);
    gw_log_info("msg=\"issuer keys received\" issuer=\"%s\" keys=%zu", iss, gw_jwks_count(set));
}

/* The key set of one issuer from its jwks_file; on failure logged, and the issuer keeps none. */
static void load_keys(issuer_t *is)
{
    char err[512] = "";
    gw_err_t rc = gw_jwks_file_load(is->conf, &is->keys, err, sizeof(err));
    if (rc != GW_OK) {
        gw_log_err("msg=\"no keys for an issuer: its tokens are refused\" issuer=\"%s\" "
                   "error=\"%s\"",
                   is->conf->issuer, err);
        return;
    }
    for (size_t i = 0; i < gw_jwks_skipped_count(is->keys); i++) {
        const gw_jwk_skip_t *s = gw_jwks_skipped(is->keys, i);
        gw_log_warn("msg=\"key skipped\" issuer=\"%s\" index=%zu kid=\"%s\" reason=\"%s\"",
                    is->conf->issuer, s->index, s->kid, s->reason);
    }
    gw_log_info("msg=\"issuer keys loaded\" issuer=\"%s\" keys=%zu file=%s", is->conf->issuer,
                gw_jwks_count(is->keys), is->conf->jwks_file);
}

/* ---- the metadata document (RFC 9728 section 2) ---- */

static gw_err_t append_string_array(gw_buf_t *b, char *const *list, size_t n)
{
    gw_err_t err = gw_buf_appends(b, "[");
    for (size_t i = 0; err == GW_OK && i < n; i++) {
        if (i > 0) {
            err = gw_buf_appends(b, ",");
        }
        if (err == GW_OK) {
            err = gw_buf_append_json_string(b, list[i], strlen(list[i]));
        }
    }
    return err == GW_OK ? gw_buf_appends(b, "]") : err;
}

/* The length of res's scheme and authority ("https://mcp.example.com"). */
static size_t origin_len(const char *res)
{
    const char *host = strstr(res, "://");
    host = host != NULL ? host + 3 : res;
    return (size_t)(host - res) + strcspn(host, "/?#");
}

/* The canonical URI of endpoint n (1..): its resource, else auth.resource's scheme and authority
 * and the endpoint's path. NULL on out of memory. */
static char *endpoint_resource(const gw_config_t *cfg, size_t n)
{
    const gw_endpoint_conf_t *e = &cfg->endpoints[n - 1];
    if (e->resource != NULL) {
        return strdup(e->resource);
    }
    gw_buf_t b;
    gw_buf_init(&b);
    if (gw_buf_appendf(&b, "%.*s%s", (int)origin_len(cfg->auth_resource), cfg->auth_resource,
                       e->path) != GW_OK) {
        gw_buf_fini(&b);
        return NULL;
    }
    return gw_buf_steal(&b, NULL);
}

static gw_err_t build_metadata(const gw_config_t *cfg, const char *resource, gw_buf_t *b)
{
    gw_err_t err = gw_buf_appends(b, "{\"resource\":");
    if (err == GW_OK) {
        err = gw_buf_append_json_string(b, resource, strlen(resource));
    }
    if (err == GW_OK) {
        err = gw_buf_appends(b, ",\"authorization_servers\":[");
    }
    for (size_t i = 0; err == GW_OK && i < cfg->nauth_issuers; i++) {
        const char *iss = cfg->auth_issuers[i].issuer;
        if (i > 0) {
            err = gw_buf_appends(b, ",");
        }
        if (err == GW_OK) {
            err = gw_buf_append_json_string(b, iss, strlen(iss));
        }
    }
    if (err == GW_OK) {
        err = gw_buf_appends(b, "],\"bearer_methods_supported\":[\"header\"]");
    }
    if (err == GW_OK && cfg->nauth_scopes_supported > 0) {
        err = gw_buf_appends(b, ",\"scopes_supported\":");
        if (err == GW_OK) {
            err = append_string_array(b, cfg->auth_scopes_supported, cfg->nauth_scopes_supported);
        }
    }
    return err == GW_OK ? gw_buf_appends(b, "}") : err;
}

/* ---- life ---- */

gw_err_t rtr_auth_create(rtr_t *r)
{
    const gw_config_t *cfg = r->cfg;
    if (cfg->auth_resource == NULL) {
        return GW_OK;
    }
    rtr_auth_t *a = calloc(1, sizeof(*a));
    if (a == NULL) {
        return GW_ENOMEM;
    }
    r->auth = a; /* owned by r from here: rtr_auth_destroy frees what got filled */
    size_t n = cfg->nendpoints + 1;
    if ((a->resources = calloc(n, sizeof(*a->resources))) == NULL ||
        (a->metadata = calloc(n, sizeof(*a->metadata))) == NULL) {
        return GW_ENOMEM;
    }
    a->nresources = n;
    for (size_t i = 0; i < n; i++) {
        gw_buf_init(&a->metadata[i]);
        a->resources[i] = i == 0 ? strdup(cfg->auth_resource) : endpoint_resource(cfg, i);
        if (a->resources[i] == NULL ||
            build_metadata(cfg, a->resources[i], &a->metadata[i]) != GW_OK ||
            gw_buf_status(&a->metadata[i]) != GW_OK) {
            return GW_ENOMEM;
        }
    }
    gw_buf_t scope;
    gw_buf_init(&scope);
    for (size_t i = 0; i < cfg->nauth_required_scopes; i++) {
        gw_buf_appendf(&scope, "%s%s", i > 0 ? " " : "", cfg->auth_required_scopes[i]);
    }
    if (gw_buf_appends(&scope, "") != GW_OK || (a->scope = gw_buf_steal(&scope, NULL)) == NULL ||
        (a->issuers = calloc(cfg->nauth_issuers, sizeof(*a->issuers))) == NULL ||
        rtr_auth_cache_create(&a->cache) != GW_OK) {
        gw_buf_fini(&scope);
        return GW_ENOMEM;
    }
    a->nissuers = cfg->nauth_issuers;
    for (size_t i = 0; i < a->nissuers; i++) {
        a->issuers[i].conf = &cfg->auth_issuers[i];
        gw_issuer_tag(cfg->auth_issuers[i].issuer, strlen(cfg->auth_issuers[i].issuer),
                      a->issuers[i].tag);
        if (cfg->auth_issuers[i].jwks_file != NULL) {
            load_keys(&a->issuers[i]); /* jwks_uri: the broker pushes the set */
        }
    }
    return GW_OK;
}

void rtr_auth_destroy(rtr_t *r)
{
    rtr_auth_t *a = r->auth;
    if (a == NULL) {
        return;
    }
    for (size_t i = 0; i < a->nissuers; i++) {
        gw_jwks_destroy(a->issuers[i].keys);
    }
    free(a->issuers);
    rtr_auth_cache_destroy(a->cache);
    for (size_t i = 0; i < a->nresources; i++) {
        free(a->resources[i]);
        gw_buf_fini(&a->metadata[i]);
    }
    free(a->resources);
    free(a->metadata);
    free(a->scope);
    free(a);
    r->auth = NULL;
}

/* ---- the metadata endpoint ---- */

int rtr_auth_metadata(rtr_t *r, h2o_req_t *req)
{
    if (r->auth == NULL) {
        return 0;
    }
    h2o_iovec_t p = req->path_normalized;
    size_t wl = sizeof(WELL_KNOWN) - 1;
    if (p.len < wl || memcmp(p.base, WELL_KNOWN, wl) != 0) {
        return 0;
    }
    /* the bare document is the main path's; each endpoint's is at its path (RFC 9728 3.1) */
    int endpoint =
        p.len == wl ? (int)GW_ENDPOINT_MAIN : gw_endpoint_of_path(r->cfg, p.base + wl, p.len - wl);
    if (endpoint < 0) {
        return 0;
    }
    if (!h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET")) &&
        !h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD"))) {
        rtr_add_header(req, "allow", "GET, HEAD", 9);
        rtr_respond_error(r, RTR_TO_CLIENT(req), 405, NULL, 0, GW_RPC_INVALID_REQUEST,
                          "Method Not Allowed");
        return 1;
    }
    rtr_add_header(req, "cache-control", "max-age=300", 11);
    const gw_buf_t *doc = &r->auth->metadata[endpoint];
    rtr_respond(r, RTR_TO_CLIENT(req), 200, doc->data, doc->len);
    return 1;
}

/* ---- challenges ---- */

/* The URL of the metadata as the client reached this gateway (its scheme and authority, which
 * the Host check let through; anything unusual in it falls back to the resource's). */
static void metadata_url(rtr_t *r, h2o_req_t *req, unsigned endpoint, gw_buf_t *out)
{
    const char *path =
        endpoint == GW_ENDPOINT_MAIN ? r->cfg->mcp_path : r->cfg->endpoints[endpoint - 1].path;
    h2o_iovec_t a = req->input.authority;
    int ok = a.len > 0 && a.len < AUTHORITY_MAX;
    for (size_t i = 0; ok && i < a.len; i++) {
        char c = a.base[i];
        ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '.' || c == '-' || c == ':' || c == '[' || c == ']';
    }
    if (ok) {
        gw_buf_appendf(out, "%.*s://%.*s%s%s", (int)req->scheme->name.len, req->scheme->name.base,
                       (int)a.len, a.base, WELL_KNOWN, path);
        return;
    }
    const char *res = r->cfg->auth_resource;
    gw_buf_appendf(out, "%.*s%s%s", (int)origin_len(res), res, WELL_KNOWN, path);
}

/* Answers 401 (or status) with a Bearer challenge; error NULL when no token was given. */
static void challenge(rtr_t *r, h2o_req_t *req, unsigned endpoint, unsigned status,
                      const char *error, const char *scope, gw_counter_t reason, const char *msg)
{
    gw_metric_add(r->m, reason, 1);
    gw_buf_t h;
    gw_buf_init(&h);
    gw_buf_appends(&h, "Bearer resource_metadata=\"");
    metadata_url(r, req, endpoint, &h);
    gw_buf_appends(&h, "\"");
    if (scope[0] != '\0') {
        gw_buf_appendf(&h, ", scope=\"%s\"", scope);
    }
    if (error != NULL) {
        gw_buf_appendf(&h, ", error=\"%s\"", error);
    }
    if (gw_buf_status(&h) == GW_OK) {
        h2o_iovec_t v = h2o_strdup(&req->pool, h.data, h.len);
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_WWW_AUTHENTICATE, NULL, v.base,
                       v.len);
    }
    gw_buf_fini(&h);
    rtr_respond_error(r, RTR_TO_CLIENT(req), status, NULL, 0, GW_RPC_INVALID_REQUEST, msg);
}

/* ---- the check ---- */

/* Whether the query string names access_token (RFC 6750 section 2.3, which mcpgw refuses). */
static int query_has_token(h2o_req_t *req)
{
    if (req->input.query_at == SIZE_MAX || req->input.query_at >= req->input.path.len) {
        return 0;
    }
    const char *q = req->input.path.base + req->input.query_at + 1;
    size_t n = req->input.path.len - req->input.query_at - 1;
    for (size_t i = 0; i < n;) {
        size_t end = i;
        while (end < n && q[end] != '&' && q[end] != ';') {
            end++;
        }
        if (end - i >= 13 && memcmp(q + i, "access_token=", 13) == 0) {
            return 1;
        }
        if (end - i == 12 && memcmp(q + i, "access_token", 12) == 0) {
            return 1;
        }
        i = end + 1;
    }
    return 0;
}

/* Verifies token[0..len) once: the cache, else its issuer's keys and the policy. */
static gw_jwt_result_t verify(rtr_t *r, const char *token, size_t len, unsigned endpoint,
                              const rtr_auth_entry_t **out, h2o_req_t *req)
{
    rtr_auth_t *a = r->auth;
    uint8_t hash[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)token, len, hash);
    if (endpoint != GW_ENDPOINT_MAIN) {
        /* verified for one endpoint (its audience) is not verified for another: each endpoint
         * keys its own entries */
        uint8_t keyed[SHA256_DIGEST_LENGTH + 1];
        memcpy(keyed, hash, SHA256_DIGEST_LENGTH);
        keyed[SHA256_DIGEST_LENGTH] = (uint8_t)endpoint;
        SHA256(keyed, sizeof(keyed), hash);
    }
    int64_t now = gw_wallclock_s();
    if ((*out = rtr_auth_cache_find(a->cache, hash, now)) != NULL) {
        return GW_JWT_OK;
    }
    gw_jwt_peek_t pk;
    gw_jwt_result_t res = gw_jwt_peek(token, len, r->cfg->auth_max_token_size, &pk);
    if (res != GW_JWT_OK) {
        return res;
    }
    issuer_t *is = NULL;
    for (size_t i = 0; i < a->nissuers && is == NULL; i++) {
        if (strcmp(a->issuers[i].conf->issuer, pk.iss) == 0) {
            is = &a->issuers[i];
        }
    }
    if (is == NULL) {
        return GW_JWT_BAD_ISSUER;
    }
    if (is->keys == NULL) {
        ask_refetch(r, is);
        return GW_JWT_RESULT_COUNT; /* no keys: counted as no_keys by the caller */
    }
    /* the main path: the issuer's audiences; an endpoint: its resource, and the issuer's
     * audiences only when written out */
    const char *stack_aud[8];
    const char **aud = (const char **)is->conf->audiences;
    size_t naud = is->conf->naudiences;
    if (endpoint != GW_ENDPOINT_MAIN) {
        size_t extra = is->conf->audiences_set ? is->conf->naudiences : 0;
        aud = extra + 1 <= 8 ? stack_aud : malloc((extra + 1) * sizeof(*aud));
        if (aud == NULL) {
            return GW_JWT_NO_MEMORY;
        }
        aud[0] = a->resources[endpoint];
        for (size_t i = 0; i < extra; i++) {
            aud[i + 1] = is->conf->audiences[i];
        }
        naud = extra + 1;
    }
    gw_jwt_policy_t policy = {.issuer = is->conf->issuer,
                              .audiences = aud,
                              .naudiences = naud,
                              .now = now,
                              .leeway_s = (int64_t)r->cfg->auth_leeway_s,
                              .max_size = r->cfg->auth_max_token_size};
    gw_jwt_claims_t claims;
    res = gw_jwt_verify(token, len, is->keys, &policy, &claims);
    if (aud != stack_aud && aud != (const char **)is->conf->audiences) {
        free(aud);
    }
    if (res == GW_JWT_UNKNOWN_KID) {
        ask_refetch(r, is);
    }
    if (res != GW_JWT_OK) {
        h2o_iovec_t rid = rtr_request_id_of(req);
        gw_log_debug("msg=\"token refused\" issuer=\"%s\" kid=\"%s\" reason=%s request_id=%.*s",
                     is->conf->issuer, pk.kid, gw_jwt_result_name(res), (int)rid.len, rid.base);
        return res;
    }
    rtr_auth_entry_t e = {.exp = claims.exp + policy.leeway_s, .scopes_ok = 1};
    for (size_t i = 0; i < r->cfg->nauth_required_scopes; i++) {
        e.scopes_ok &= gw_jwt_has_scope(&claims, r->cfg->auth_required_scopes[i]);
    }
    /* the claims are at hand only now: the policy rules they meet are kept with the token */
    gw_policy_caller_t caller = {
        .subject = claims.sub, .scope = claims.scope, .claims = claims.payload};
    gw_policy_token_rules(r->policy, &caller, &e.rules);
    memcpy(e.hash, hash, sizeof(e.hash));
    memcpy(e.issuer_tag, is->tag, sizeof(e.issuer_tag));
    snprintf(e.subject, sizeof(e.subject), "%s", claims.sub);
    *out = rtr_auth_cache_put(a->cache, &e);
    gw_jwt_claims_fini(&claims);
    return GW_JWT_OK;
}

int rtr_auth_check(rtr_t *r, h2o_req_t *req, unsigned endpoint, rtr_caller_t *who)
{
    memset(who, 0, sizeof(*who));
    who->endpoint = endpoint;
    rtr_auth_t *a = r->auth;
    if (a == NULL) {
        return 1;
    }
    if (query_has_token(req)) {
        /* RFC 6750 3.1: a request using a method it does not allow is invalid_request, 400 */
        challenge(r, req, endpoint, 400, "invalid_request", a->scope, GW_MC_AUTH_QUERY_TOKEN,
                  "Bad Request: access_token in the query string is refused; send an "
                  "Authorization: Bearer header");
        return 0;
    }
    ssize_t at = h2o_find_header(&req->headers, H2O_TOKEN_AUTHORIZATION, -1);
    if (at >= 0 && h2o_find_header(&req->headers, H2O_TOKEN_AUTHORIZATION, at) >= 0) {
        challenge(r, req, endpoint, 400, "invalid_request", a->scope, GW_MC_AUTH_TWO_HEADERS,
                  "Bad Request: more than one Authorization header");
        return 0;
    }
    h2o_iovec_t v = at >= 0 ? req->headers.entries[at].value : h2o_iovec_init(NULL, 0);
    if (v.len < 7 || strncasecmp(v.base, "bearer ", 7) != 0) {
        challenge(r, req, endpoint, 401, NULL, a->scope, GW_MC_AUTH_MISSING,
                  "Unauthorized: this gateway needs an Authorization: Bearer token");
        return 0;
    }
    const char *token = v.base + 7;
    size_t len = v.len - 7;
    while (len > 0 && token[0] == ' ') {
        token++;
        len--;
    }
    while (len > 0 && token[len - 1] == ' ') {
        len--;
    }
    const rtr_auth_entry_t *e = NULL;
    gw_jwt_result_t res = len > r->cfg->auth_max_token_size
                              ? GW_JWT_TOO_BIG
                              : verify(r, token, len, endpoint, &e, req);
    if (res != GW_JWT_OK) {
        gw_counter_t reason = res == GW_JWT_RESULT_COUNT
                                  ? GW_MC_AUTH_NO_KEYS
                                  : (gw_counter_t)(GW_MC_AUTH_MALFORMED + (res - GW_JWT_MALFORMED));
        const char *name = res == GW_JWT_RESULT_COUNT ? "no_keys" : gw_jwt_result_name(res);
        char msg[128];
        snprintf(msg, sizeof(msg), "Unauthorized: invalid bearer token (%s)", name);
        challenge(r, req, endpoint, 401, "invalid_token", a->scope, reason, msg);
        return 0;
    }
    if (!e->scopes_ok) {
        challenge(r, req, endpoint, 403, "insufficient_scope", a->scope,
                  GW_MC_AUTH_INSUFFICIENT_SCOPE,
                  "Forbidden: the bearer token lacks a scope this gateway requires");
        return 0;
    }
    snprintf(who->subject, sizeof(who->subject), "%s", e->subject);
    memcpy(who->issuer_tag, e->issuer_tag, sizeof(who->issuer_tag));
    who->rules = e->rules;
    who->authenticated = 1;
    return 1;
}

int rtr_auth_binds(rtr_t *r, const rtr_caller_t *who, const gw_session_claims_t *claims,
                   h2o_req_t *req)
{
    if (strcmp(who->subject, claims->subject) == 0 &&
        memcmp(who->issuer_tag, claims->issuer_tag, sizeof(who->issuer_tag)) == 0) {
        return 1;
    }
    gw_metric_add(r->m, GW_MC_AUTH_SUBJECT_MISMATCH, 1);
    char subject[2 * GW_SUBJECT_MAX + 8];
    h2o_iovec_t rid = rtr_request_id_of(req);
    gw_log_notice("msg=\"session of another subject\" subject=\"%s\" request_id=%.*s",
                  gw_log_quote(subject, sizeof(subject), who->subject, strlen(who->subject)),
                  (int)rid.len, rid.base);
    return 0;
}
