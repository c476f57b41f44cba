/* keys.c: the JWK Sets of the auth issuers that name a jwks_uri: fetched by the broker (libcurl
 * multi, https with the system's CAs; http only for a loopback host), checked, pushed to every
 * router on the routes subscription, refreshed by their Cache-Control max-age (bounded to
 * 5 min..24 h), fetched again at most once per issuer per 30 s when a router meets an unknown kid,
 * and kept through an outage (the last good set stays, the failure is logged and counted). */
#include <config.h> /* autoconf's, not common/config.h */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "broker/broker.h"
#include "common/buf.h"
#include "common/clock.h"
#include "common/json.h"
#include "common/jwk.h"
#include "common/jwks_file.h"
#include "common/log.h"

#define REFRESH_MIN_S 300
#define REFRESH_MAX_S 86400
#define REFRESH_DEFAULT_S 3600 /* a set served without max-age */
#define REFETCH_MIN_MS 30000   /* an unknown kid fetches again at most this often */
#define RETRY_FIRST_MS 2000    /* after a failure: again soon, doubling up to REFRESH_MIN_S */
#define FETCH_TIMEOUT_MS 10000

typedef struct issuer_keys {
    const gw_auth_issuer_t *conf; /* in the running cycle's config */
    CURL *easy;                   /* while a fetch runs */
    gw_buf_t body;
    long max_age_s;  /* from the answer's Cache-Control, -1 when absent */
    char *good;      /* the last set that parsed (JSON text), pushed to routers; NULL: none yet */
    int64_t next_ms; /* when to fetch next */
    int64_t started_ms; /* when the last fetch started */
    int64_t retry_ms;   /* the wait after the next failure */
} issuer_keys_t;

struct brk_keys {
    CURLM *multi;
    issuer_keys_t *v;
    size_t n;
    uint64_t fetched;       /* mcpgw_jwks_fetches_total{result="ok"} */
    uint64_t failed;        /* {result="error"} */
    uint64_t refetch_asked; /* routers' unknown-kid reports */
};

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    issuer_keys_t *k = arg;
    size_t len = size * n;
    if (k->body.len + len > GW_JWKS_MAX_SIZE || gw_buf_append(&k->body, p, len) != GW_OK) {
        return 0; /* curl fails the transfer: too big or out of memory */
    }
    return len;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
    issuer_keys_t *k = arg;
    size_t len = size * n;
    if (len > 14 && strncasecmp(p, "cache-control:", 14) == 0) {
        char line[256];
        snprintf(line, sizeof(line), "%.*s", (int)(len - 14), p + 14);
        const char *ma = strstr(line, "max-age=");
        if (ma != NULL) {
            k->max_age_s = strtol(ma + 8, NULL, 10);
        }
    }
    return len;
}

/* The key set as a routes-subscription message: {"seq", "issuer", "jwks": "<text>"}. */
static gw_err_t push_message(brk_t *b, const issuer_keys_t *k, gw_buf_t *msg)
{
    gw_err_t err =
        gw_buf_appendf(msg, "{\"seq\":%llu,\"issuer\":", (unsigned long long)b->routes_seq);
    if (err == GW_OK) {
        err = gw_buf_append_json_string(msg, k->conf->issuer, strlen(k->conf->issuer));
    }
    if (err == GW_OK) {
        err = gw_buf_appends(msg, ",\"jwks\":");
    }
    if (err == GW_OK) {
        err = gw_buf_append_json_string(msg, k->good, strlen(k->good));
    }
    return err == GW_OK ? gw_buf_appends(msg, "}") : err;
}

/* Sends issuer k's set to router only, or to every router (only < 0). */
static void push(brk_t *b, const issuer_keys_t *k, long only)
{
    if (k->good == NULL) {
        return;
    }
    gw_buf_t msg;
    gw_buf_init(&msg);
    b->routes_seq++;
    if (push_message(b, k, &msg) != GW_OK || gw_buf_status(&msg) != GW_OK) {
        gw_log_err("msg=\"cannot push a key set: out of memory\" issuer=\"%s\"", k->conf->issuer);
    } else {
        brk_routes_send(b, only, &msg);
    }
    gw_buf_fini(&msg);
}

void brk_keys_push_all(brk_t *b, long only)
{
    for (size_t i = 0; b->jwks != NULL && i < b->jwks->n; i++) {
        push(b, &b->jwks->v[i], only);
    }
}

static void start_fetch(brk_keys_t *ks, issuer_keys_t *k, int64_t now)
{
    k->started_ms = now;
    k->max_age_s = -1;
    gw_buf_reset(&k->body);
    CURL *e = curl_easy_init();
    if (e == NULL) {
        k->next_ms = now + RETRY_FIRST_MS;
        return;
    }
    curl_easy_setopt(e, CURLOPT_URL, k->conf->jwks_uri);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https,http"); /* http: loopback only (config) */
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)FETCH_TIMEOUT_MS);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, k);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, k);
    curl_easy_setopt(e, CURLOPT_PRIVATE, k);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "mcpgw/" PACKAGE_VERSION);
    if (curl_multi_add_handle(ks->multi, e) != CURLM_OK) {
        curl_easy_cleanup(e);
        k->next_ms = now + RETRY_FIRST_MS;
        return;
    }
    k->easy = e;
}

static void fetch_failed(brk_keys_t *ks, issuer_keys_t *k, int64_t now, const char *why)
{
    ks->failed++;
    gw_log_warn("msg=\"jwks fetch failed: keeping the last good keys\" issuer=\"%s\" uri=%s "
                "error=\"%s\" have_keys=%d retry_ms=%lld",
                k->conf->issuer, k->conf->jwks_uri, why, k->good != NULL, (long long)k->retry_ms);
    k->next_ms = now + k->retry_ms;
    k->retry_ms = k->retry_ms * 2 > REFRESH_MIN_S * 1000 ? REFRESH_MIN_S * 1000 : k->retry_ms * 2;
}

static void fetch_done(brk_t *b, issuer_keys_t *k, CURLcode rc, int64_t now)
{
    brk_keys_t *ks = b->jwks;
    long status = 0;
    curl_easy_getinfo(k->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_multi_remove_handle(ks->multi, k->easy);
    curl_easy_cleanup(k->easy);
    k->easy = NULL;
    char why[256];
    if (rc != CURLE_OK) {
        snprintf(why, sizeof(why), "%s", curl_easy_strerror(rc));
        fetch_failed(ks, k, now, why);
        return;
    }
    if (status != 200) {
        snprintf(why, sizeof(why), "HTTP %ld", status);
        fetch_failed(ks, k, now, why);
        return;
    }
    gw_jwks_t *set = NULL;
    char perr[200] = "";
    if (gw_jwks_parse(k->body.data != NULL ? k->body.data : "", k->body.len,
                      gw_jwks_algorithms_mask(k->conf), &set, perr, sizeof(perr)) != GW_OK) {
        fetch_failed(ks, k, now, perr);
        return;
    }
    size_t nkeys = gw_jwks_count(set);
    gw_jwks_destroy(set);
    char *text = strndup(k->body.data, k->body.len);
    if (text == NULL) {
        fetch_failed(ks, k, now, "out of memory");
        return;
    }
    int changed = k->good == NULL || strcmp(k->good, text) != 0;
    free(k->good);
    k->good = text;
    ks->fetched++;
    long age = k->max_age_s < 0 ? REFRESH_DEFAULT_S : k->max_age_s;
    age = age < REFRESH_MIN_S ? REFRESH_MIN_S : age > REFRESH_MAX_S ? REFRESH_MAX_S : age;
    k->next_ms = now + (int64_t)age * 1000;
    k->retry_ms = RETRY_FIRST_MS;
    gw_log_info("msg=\"jwks fetched\" issuer=\"%s\" uri=%s keys=%zu changed=%d refresh_s=%ld",
                k->conf->issuer, k->conf->jwks_uri, nkeys, changed, age);
    if (changed) {
        push(b, k, -1);
    }
}

gw_err_t brk_keys_configure(brk_t *b)
{
    const gw_config_t *cfg = b->cycle->cfg;
    brk_keys_t *old = b->jwks;
    brk_keys_t *ks = calloc(1, sizeof(*ks));
    size_t n = 0;
    for (size_t i = 0; i < cfg->nauth_issuers; i++) {
        n += cfg->auth_issuers[i].jwks_uri != NULL;
    }
    if (ks == NULL || (n > 0 && (ks->v = calloc(n, sizeof(*ks->v))) == NULL) ||
        (ks->multi = curl_multi_init()) == NULL) {
        if (ks != NULL) {
            free(ks->v);
        }
        free(ks);
        return GW_ENOMEM;
    }
    int64_t now = gw_clock_ms();
    for (size_t i = 0; i < cfg->nauth_issuers; i++) {
        const gw_auth_issuer_t *is = &cfg->auth_issuers[i];
        if (is->jwks_uri == NULL) {
            continue;
        }
        issuer_keys_t *k = &ks->v[ks->n++];
        k->conf = is;
        gw_buf_init(&k->body);
        k->retry_ms = RETRY_FIRST_MS;
        k->next_ms = now;
        /* the same issuer and uri as before a reload: its keys and schedule stay */
        for (size_t j = 0; old != NULL && j < old->n; j++) {
            issuer_keys_t *o = &old->v[j];
            if (o->good != NULL && strcmp(o->conf->issuer, is->issuer) == 0 &&
                strcmp(o->conf->jwks_uri, is->jwks_uri) == 0) {
                k->good = o->good;
                o->good = NULL;
                k->next_ms = o->next_ms;
            }
        }
    }
    if (old != NULL) {
        ks->fetched = old->fetched;
        ks->failed = old->failed;
        ks->refetch_asked = old->refetch_asked;
    }
    brk_keys_destroy(old);
    b->jwks = ks;
    return GW_OK;
}

void brk_keys_destroy(brk_keys_t *ks)
{
    if (ks == NULL) {
        return;
    }
    for (size_t i = 0; i < ks->n; i++) {
        if (ks->v[i].easy != NULL) {
            curl_multi_remove_handle(ks->multi, ks->v[i].easy);
            curl_easy_cleanup(ks->v[i].easy);
        }
        gw_buf_fini(&ks->v[i].body);
        free(ks->v[i].good);
    }
    free(ks->v);
    curl_multi_cleanup(ks->multi);
    free(ks);
}

int brk_keys_tick(brk_t *b, int64_t now)
{
    brk_keys_t *ks = b->jwks;
    if (ks == NULL || ks->n == 0) {
        return -1;
    }
    int running = 0;
    for (size_t i = 0; i < ks->n; i++) {
        issuer_keys_t *k = &ks->v[i];
        if (k->easy == NULL && now >= k->next_ms) {
            start_fetch(ks, k, now);
        }
    }
    curl_multi_perform(ks->multi, &running);
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(ks->multi, &left)) != NULL) {
        if (m->msg != CURLMSG_DONE) {
            continue;
        }
        issuer_keys_t *k = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&k);
        if (k != NULL) {
            fetch_done(b, k, m->data.result, now);
        }
    }
    int64_t wait = REFRESH_MAX_S * 1000LL;
    for (size_t i = 0; i < ks->n; i++) {
        const issuer_keys_t *k = &ks->v[i];
        int64_t w = k->easy != NULL ? 20 : k->next_ms - now;
        wait = w < wait ? w : wait;
    }
    return wait < 0 ? 0 : wait > 1000 ? 1000 : (int)wait;
}

void brk_keys_on_refetch(brk_t *b, const gw_envelope_t *e)
{
    brk_keys_t *ks = b->jwks;
    if (ks == NULL) {
        return;
    }
    ks->refetch_asked++;
    int64_t now = gw_clock_ms();
    for (size_t i = 0; i < ks->n; i++) {
        issuer_keys_t *k = &ks->v[i];
        if (!gw_str_eq(e->body, k->conf->issuer) || k->easy != NULL) {
            continue;
        }
        if (now - k->started_ms >= REFETCH_MIN_MS && k->next_ms > now) {
            gw_log_info("msg=\"jwks fetched again: a router met an unknown kid\" issuer=\"%s\"",
                        k->conf->issuer);
            k->next_ms = now;
        }
    }
}

void brk_keys_metrics(const brk_t *b, gw_buf_t *out)
{
    const brk_keys_t *ks = b->jwks;
    if (ks == NULL || ks->n == 0) {
        return;
    }
    gw_buf_appendf(out,
                   "# HELP mcpgw_jwks_fetches_total Fetches of the issuers' jwks_uri, by result.\n"
                   "# TYPE mcpgw_jwks_fetches_total counter\n"
                   "mcpgw_jwks_fetches_total{result=\"ok\"} %llu\n"
                   "mcpgw_jwks_fetches_total{result=\"error\"} %llu\n"
                   "# HELP mcpgw_jwks_refetch_requests_total Routers' reports of an unknown kid.\n"
                   "# TYPE mcpgw_jwks_refetch_requests_total counter\n"
                   "mcpgw_jwks_refetch_requests_total %llu\n",
                   (unsigned long long)ks->fetched, (unsigned long long)ks->failed,
                   (unsigned long long)ks->refetch_asked);
}
