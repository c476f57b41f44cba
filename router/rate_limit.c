/* rate_limit.c: limits.rate in the router: every JSON-RPC request of a POST (each request of a
 * batch) charged to its caller's bucket in the table all routers share (common/rate.c, made by
 * the broker); past the limit, 429 with Retry-After and a JSON-RPC error naming the limit. The
 * caller is the verified token's issuer and subject with auth, else the client address (IPv4
 * whole, IPv6 by its /64: one host's usual share). */
#include <config.h> /* autoconf's, not common/config.h */

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "router/router.h"

/* One bucket's key: the scope and a NUL, a kind byte, then the issuer tag and subject, or the
 * address bytes. */
#define KEY_MAX (RTR_RATE_SCOPE_MAX + 1 + 1 + GW_ISSUER_TAG_LEN + GW_SUBJECT_MAX)

void rtr_rate_message(char *out, size_t outlen, const char *name, const gw_rate_conf_t *c)
{
    char text[64];
    gw_rate_conf_text(c, text, sizeof(text));
    snprintf(out, outlen, "rate limit exceeded: %s %s", name, text);
}

gw_err_t rtr_rate_open(rtr_t *r)
{
    const gw_rate_conf_t *c = &r->cfg->rate;
    r->rate.spec = gw_rate_spec_make(c->requests, c->period_s, c->burst);
    rtr_rate_message(r->rate.message, sizeof(r->rate.message), "limits.rate", c);
    char path[GW_IPC_URL_MAX + 16];
    snprintf(path, sizeof(path), "%s/rate", r->cfg->runtime_dir);
    gw_err_t err = gw_rate_attach(path, &r->rate.table);
    if (err != GW_OK && c->requests > 0) {
        /* a limit the router cannot hold must not be let go silently: it stops, and is seen */
        gw_log_err("msg=\"cannot map the rate limit table\" path=%s error=\"%s\"", path,
                   gw_strerror(err));
        return err;
    }
    if (err != GW_OK) {
        gw_log_warn("msg=\"running without the rate limit table\" path=%s error=\"%s\"", path,
                    gw_strerror(err));
    } else if (c->requests > 0) {
        char text[64];
        gw_rate_conf_text(c, text, sizeof(text));
        gw_log_info("msg=\"rate limit\" limit=\"%s\" callers=%u", text,
                    gw_rate_slots(r->rate.table));
    }
    return GW_OK;
}

void rtr_rate_close(rtr_t *r)
{
    gw_rate_destroy(r->rate.table);
    r->rate.table = NULL;
}

/* The key of req's caller into key (the rest of KEY_MAX); only bytes, no text: this runs for
 * every request. */
static size_t caller_key(rtr_t *r, h2o_req_t *req, uint8_t *key)
{
    const rtr_caller_t *c = r->caller;
    if (c != NULL && c->authenticated) {
        size_t sl = strnlen(c->subject, GW_SUBJECT_MAX);
        key[0] = 's';
        memcpy(key + 1, c->issuer_tag, GW_ISSUER_TAG_LEN);
        memcpy(key + 1 + GW_ISSUER_TAG_LEN, c->subject, sl);
        return 1 + GW_ISSUER_TAG_LEN + sl;
    }
    struct sockaddr_storage ss;
    socklen_t len = req->conn->callbacks->get_peername(req->conn, (struct sockaddr *)&ss);
    if (len > 0 && ss.ss_family == AF_INET6) {
        const struct in6_addr *a = &((struct sockaddr_in6 *)&ss)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a)) {
            key[0] = '4';
            memcpy(key + 1, a->s6_addr + 12, 4);
            return 5;
        }
        key[0] = '6';
        memcpy(key + 1, a->s6_addr, 8); /* the /64 */
        return 9;
    }
    if (len > 0 && ss.ss_family == AF_INET) {
        key[0] = '4';
        memcpy(key + 1, &((struct sockaddr_in *)&ss)->sin_addr, 4);
        return 5;
    }
    key[0] = '?'; /* no address (not on a socket): these callers share one bucket */
    return 1;
}

/* The caller of a caller_key, as a log line names it (a refusal only). */
static void describe_caller(const rtr_t *r, const uint8_t *key, char *out, size_t outlen)
{
    char text[INET6_ADDRSTRLEN] = "";
    if (key[0] == 's') {
        char q[2 * GW_SUBJECT_MAX + 8];
        const char *sub = r->caller->subject;
        snprintf(out, outlen, "subject=\"%s\"",
                 gw_log_quote(q, sizeof(q), sub, strnlen(sub, GW_SUBJECT_MAX)));
    } else if (key[0] == '6') {
        uint8_t prefix[16] = {0};
        memcpy(prefix, key + 1, 8);
        inet_ntop(AF_INET6, prefix, text, sizeof(text));
        snprintf(out, outlen, "client=%s/64", text);
    } else if (key[0] == '4') {
        inet_ntop(AF_INET, key + 1, text, sizeof(text));
        snprintf(out, outlen, "client=%s", text);
    } else {
        snprintf(out, outlen, "client=unknown");
    }
}

int rtr_rate_charge(rtr_t *r, rtr_sink_t to, const char *id, size_t id_len, const char *scope,
                    const gw_rate_spec_t *spec, const char *message)
{
    if (r->rate.table == NULL || spec->interval_us == 0) {
        return 1;
    }
    uint8_t key[KEY_MAX];
    size_t sl = strnlen(scope, RTR_RATE_SCOPE_MAX);
    memcpy(key, scope, sl);
    key[sl] = '\0';
    size_t len = sl + 1 + caller_key(r, to.req, key + sl + 1);
    gw_rate_result_t res = gw_rate_take(r->rate.table, key, len, spec, gw_rate_now(r->rate.table));
    if (res.overflow) {
        gw_metric_add(r->m, GW_MC_RATE_OVERFLOW, 1);
    }
    if (res.allowed) {
        return 1;
    }
    uint64_t after = gw_rate_retry_after_s(&res);
    if (to.batch != NULL) {
        rtr_batch_rate_limited(to.batch, after);
    } else {
        char v[24];
        int n = snprintf(v, sizeof(v), "%" PRIu64, after);
        rtr_add_header(to.req, "retry-after", h2o_strdup(&to.req->pool, v, (size_t)n).base,
                       (size_t)n);
    }
    char who[2 * GW_SUBJECT_MAX + 32];
    describe_caller(r, key + sl + 1, who, sizeof(who));
    char fields[sizeof(who) + 48];
    snprintf(fields, sizeof(fields), " %s retry_after=%" PRIu64 "%s", who, after,
             res.overflow ? " overflow=1" : "");
    rtr_respond_error_fields(r, to, 429, id, id_len, GW_RPC_RATE_LIMITED, message, fields);
    return 0;
}

int rtr_rate_admit(rtr_t *r, rtr_sink_t to, const char *id, size_t id_len)
{
    return rtr_rate_charge(r, to, id, id_len, "", &r->rate.spec, r->rate.message);
}
