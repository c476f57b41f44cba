/* rate_limit.c: limits.rate and policy.rules[].rate in the router: every JSON-RPC request of a
 * POST (each request of a batch) charged to its caller's buckets in the table all routers share
 * (common/rate.c, made by the broker); past a limit, 429 with Retry-After and a JSON-RPC error
 * naming it. The caller is the verified token's issuer and subject with auth, else the client
 * address (IPv4 whole, IPv6 by its /64: one host's usual share); a limit with per: tool keeps a
 * bucket per caller and tool for tools/call. */
#include <config.h> /* autoconf's, not common/config.h */

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "router/router.h"

/* One bucket's key: the limit's name and a NUL, the tool and a NUL (per: tool), a kind byte,
 * then the issuer tag and subject, or the address bytes. */
#define KEY_MAX                                                                                    \
    (sizeof(((rtr_rate_limit_t *)0)->name) + GW_RPC_NAME_MAX + 2 + 1 + GW_ISSUER_TAG_LEN +         \
     GW_SUBJECT_MAX)

static void limit_init(rtr_rate_limit_t *l, const char *name, const gw_rate_conf_t *c)
{
    char text[64];
    l->spec = gw_rate_spec_make(c->requests, c->period_s, c->burst);
    l->per_tool = c->per_tool;
    snprintf(l->name, sizeof(l->name), "%s", name);
    gw_rate_conf_text(c, text, sizeof(text));
    snprintf(l->message, sizeof(l->message), "rate limit exceeded: %s %s", name, text);
}

/* Whether any limit is set: limits.rate or a rule's rate. */
static int any_limit(const gw_config_t *cfg)
{
    int any = cfg->rate.requests > 0;
    for (size_t i = 0; i < cfg->npolicy_rules && !any; i++) {
        any = cfg->policy_rules[i].rate.requests > 0;
    }
    return any;
}

gw_err_t rtr_rate_open(rtr_t *r)
{
    const gw_rate_conf_t *c = &r->cfg->rate;
    limit_init(&r->rate.global, "limits.rate", c);
    if (r->cfg->npolicy_rules > 0) {
        r->rate.rules = calloc(r->cfg->npolicy_rules, sizeof(*r->rate.rules));
        if (r->rate.rules == NULL) {
            return GW_ENOMEM;
        }
        r->rate.nrules = r->cfg->npolicy_rules;
        for (size_t i = 0; i < r->rate.nrules; i++) {
            char name[48];
            snprintf(name, sizeof(name), "policy.rules[%zu].rate", i);
            limit_init(&r->rate.rules[i], name, &r->cfg->policy_rules[i].rate);
        }
    }
    char path[GW_MAILBOX_PATH_MAX + 16];
    snprintf(path, sizeof(path), "%s/rate", r->cfg->runtime_dir);
    gw_err_t err = gw_rate_attach(path, &r->rate.table);
    if (err != GW_OK && any_limit(r->cfg)) {
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
    free(r->rate.rules);
    r->rate.rules = NULL;
    r->rate.nrules = 0;
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

/* The audit line of a tools/call a limit refused (call.c writes those that go through). */
static void audit_rate_limited(rtr_t *r, rtr_sink_t to, const char *tool, const char *limit)
{
    char subject[2 * GW_SUBJECT_MAX + 8];
    char name[2 * GW_RPC_NAME_MAX + 8];
    const char *who = r->caller != NULL ? r->caller->subject : "";
    h2o_iovec_t rid = rtr_request_id_of(to.req);
    gw_log_info("msg=audit request_id=%.*s subject=\"%s\" tool=\"%s\" status=429 "
                "outcome=rate_limited decision=rate_limited rule=%s",
                (int)rid.len, rid.base, gw_log_quote(subject, sizeof(subject), who, strlen(who)),
                gw_log_quote(name, sizeof(name), tool, strlen(tool)), limit);
}

/* Charges one request to the caller's bucket of limit l (tool: the tools/call's tool, or NULL);
 * 1 when it may go on, else answered (0). */
static int charge(rtr_t *r, rtr_sink_t to, const char *id, size_t id_len, const rtr_rate_limit_t *l,
                  const char *tool)
{
    if (r->rate.table == NULL || l->spec.interval_us == 0) {
        return 1;
    }
    uint8_t key[KEY_MAX];
    size_t nl = strnlen(l->name, sizeof(l->name) - 1);
    memcpy(key, l->name, nl);
    key[nl++] = '\0';
    if (l->per_tool && tool != NULL) {
        size_t tl = strnlen(tool, GW_RPC_NAME_MAX);
        memcpy(key + nl, tool, tl);
        nl += tl;
        key[nl++] = '\0';
    }
    size_t len = nl + caller_key(r, to.req, key + nl);
    gw_rate_result_t res =
        gw_rate_take(r->rate.table, key, len, &l->spec, gw_rate_now(r->rate.table));
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
    describe_caller(r, key + nl, who, sizeof(who));
    char fields[sizeof(who) + 48];
    snprintf(fields, sizeof(fields), " %s retry_after=%" PRIu64 "%s", who, after,
             res.overflow ? " overflow=1" : "");
    rtr_respond_error_fields(r, to, 429, id, id_len, GW_RPC_RATE_LIMITED, l->message, fields);
    if (tool != NULL) {
        audit_rate_limited(r, to, tool, l->name);
    }
    return 0;
}

int rtr_rate_admit(rtr_t *r, rtr_sink_t to, const gw_rpc_t *rpc, const char *body)
{
    const char *id = body + rpc->id.off;
    const char *tool = strcmp(rpc->method_str, "tools/call") == 0 ? rpc->name_str : NULL;
    if (!charge(r, to, id, rpc->id.len, &r->rate.global, tool)) {
        return 0;
    }
    unsigned view = rtr_policy_view(r); /* the matched rule plus one; 0: none */
    return view == 0 || view > r->rate.nrules ||
           charge(r, to, id, rpc->id.len, &r->rate.rules[view - 1], tool);
}
