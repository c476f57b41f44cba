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
    char *scope;       /* auth.required_scopes joined by spaces ("" for none) */
    gw_buf_t metadata; /* the RFC 9728 document, built once */
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

static gw_err_t build_metadata(const gw_config_t *cfg, gw_buf_t *b)
{
    gw_err_t err = gw_buf_appends(b, "{\"resource\":");
    if (err == GW_OK) {
        err = gw_buf_append_json_string(b, cfg->auth_resource, strlen(cfg->auth_resource));
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
    gw_buf_init(&a->metadata);
    gw_buf_t scope;
    gw_buf_init(&scope);
    for (size_t i = 0; i < cfg->nauth_required_scopes; i++) {
        gw_buf_appendf(&scope, "%s%s", i > 0 ? " " : "", cfg->auth_required_scopes[i]);
    }
    if (gw_buf_appends(&scope, "") != GW_OK || (a->scope = gw_buf_steal(&scope, NULL)) == NULL ||
        build_metadata(cfg, &a->metadata) != GW_OK || gw_buf_status(&a->metadata) != GW_OK ||
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
    gw_buf_fini(&a->metadata);
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
    size_t wl = sizeof(WELL_KNOWN) - 1, ml = strlen(r->cfg->mcp_path);
    if (p.len < wl || memcmp(p.base, WELL_KNOWN, wl) != 0 ||
        !(p.len == wl || (p.len == wl + ml && memcmp(p.base + wl, r->cfg->mcp_path, ml) == 0))) {
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
    rtr_respond(r, RTR_TO_CLIENT(req), 200, r->auth->metadata.data, r->auth->metadata.len);
    return 1;
}

/* ---- challenges ---- */

/* The URL of the metadata as the client reached this gateway (its scheme and authority, which
 * the Host check let through; anything unusual in it falls back to the resource's). */
static void metadata_url(rtr_t *r, h2o_req_t *req, gw_buf_t *out)
{
    h2o_iovec_t a = req->input.authority;
    int ok = a.len > 0 && a.len < AUTHORITY_MAX;
    for (size_t i = 0; ok && i < a.len; i++) {
        char c = a.base[i];
        ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '.' || c == '-' || c == ':' || c == '[' || c == ']';
    }
    if (ok) {
        gw_buf_appendf(out, "%.*s://%.*s%s%s", (int)req->scheme->name.len, req->scheme->name.base,
                       (int)a.len, a.base, WELL_KNOWN, r->cfg->mcp_path);
        return;
    }
    const char *res = r->cfg->auth_resource;
    const char *host = strstr(res, "://");
    host = host != NULL ? host + 3 : res;
    size_t hl = strcspn(host, "/?#");
    gw_buf_appendf(out, "%.*s%s%s", (int)(host + hl - res), res, WELL_KNOWN, r->cfg->mcp_path);
}

/* Answers 401 (or status) with a Bearer challenge; error NULL when no token was given. */
static void challenge(rtr_t *r, h2o_req_t *req, unsigned status, const char *error,
                      const char *scope, gw_counter_t reason, const char *msg)
{
    gw_metric_add(r->m, reason, 1);
    gw_buf_t h;
    gw_buf_init(&h);
    gw_buf_appends(&h, "Bearer resource_metadata=\"");
    metadata_url(r, req, &h);
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
static gw_jwt_result_t verify(rtr_t *r, const char *token, size_t len, const rtr_auth_entry_t **out,
                              h2o_req_t *req)
{
    rtr_auth_t *a = r->auth;
    uint8_t hash[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)token, len, hash);
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
    gw_jwt_policy_t policy = {.issuer = is->conf->issuer,
                              .audiences = (const char *const *)is->conf->audiences,
                              .naudiences = is->conf->naudiences,
                              .now = now,
                              .leeway_s = (int64_t)r->cfg->auth_leeway_s,
                              .max_size = r->cfg->auth_max_token_size};
    gw_jwt_claims_t claims;
    res = gw_jwt_verify(token, len, is->keys, &policy, &claims);
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

int rtr_auth_check(rtr_t *r, h2o_req_t *req, rtr_caller_t *who)
{
    memset(who, 0, sizeof(*who));
    rtr_auth_t *a = r->auth;
    if (a == NULL) {
        return 1;
    }
    if (query_has_token(req)) {
        /* RFC 6750 3.1: a request using a method it does not allow is invalid_request, 400 */
        challenge(r, req, 400, "invalid_request", a->scope, GW_MC_AUTH_QUERY_TOKEN,
                  "Bad Request: access_token in the query string is refused; send an "
                  "Authorization: Bearer header");
        return 0;
    }
    ssize_t at = h2o_find_header(&req->headers, H2O_TOKEN_AUTHORIZATION, -1);
    if (at >= 0 && h2o_find_header(&req->headers, H2O_TOKEN_AUTHORIZATION, at) >= 0) {
        challenge(r, req, 400, "invalid_request", a->scope, GW_MC_AUTH_TWO_HEADERS,
                  "Bad Request: more than one Authorization header");
        return 0;
    }
    h2o_iovec_t v = at >= 0 ? req->headers.entries[at].value : h2o_iovec_init(NULL, 0);
    if (v.len < 7 || strncasecmp(v.base, "bearer ", 7) != 0) {
        challenge(r, req, 401, NULL, a->scope, GW_MC_AUTH_MISSING,
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
    gw_jwt_result_t res =
        len > r->cfg->auth_max_token_size ? GW_JWT_TOO_BIG : verify(r, token, len, &e, req);
    if (res != GW_JWT_OK) {
        gw_counter_t reason = res == GW_JWT_RESULT_COUNT
                                  ? GW_MC_AUTH_NO_KEYS
                                  : (gw_counter_t)(GW_MC_AUTH_MALFORMED + (res - GW_JWT_MALFORMED));
        const char *name = res == GW_JWT_RESULT_COUNT ? "no_keys" : gw_jwt_result_name(res);
        char msg[128];
        snprintf(msg, sizeof(msg), "Unauthorized: invalid bearer token (%s)", name);
        challenge(r, req, 401, "invalid_token", a->scope, reason, msg);
        return 0;
    }
    if (!e->scopes_ok) {
        challenge(r, req, 403, "insufficient_scope", a->scope, GW_MC_AUTH_INSUFFICIENT_SCOPE,
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
