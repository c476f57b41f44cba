/* pool.c: the upstream sessions of 2026-07-28 callers on a 2025 backend (design 7.1): such a
 * caller has no gateway session, so the worker keeps initialized sessions keyed by caller,
 * capability set and log level, reuses them, closes them when idle (sessions.upstream_idle) or
 * past limits.max_pooled_sessions (least recently used first); what comes back to such a caller
 * (log messages at its level; server requests park the call, worker/mrtr_call.c), and its
 * cancels. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>
#include <yajl/yajl_tree.h>

#include "common/clock.h"
#include "common/json.h"
#include "common/jsonrpc.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/token.h"
#include "worker/worker.h"

/* The capability bits a pooled session declares in initialize. */
#define POOL_CAPS                                                                                  \
    (GW_CAP_SAMPLING | GW_CAP_ELICITATION | GW_CAP_ROOTS | GW_CAP_ELICITATION_URL |                \
     GW_CAP_SAMPLING_TOOLS)

static gw_str_t header(const gw_envelope_t *env, const char *name)
{
    for (size_t i = 0; i < env->nheaders; i++) {
        if (gw_str_eq(env->headers[i].name, name)) {
            return env->headers[i].value;
        }
    }
    return GW_STR_NULL;
}

static void hex(char *out, const unsigned char *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

/* The key: n:<issuer tag hex>:<sha256(subject) hex>:<caps>:<level or ->. An anonymous caller
 * (no auth headers) has zeros for both: anonymous callers share their sessions, as they share
 * everything else. The subject is hashed: keys go into log lines. */
size_t wrk_pool_key(const gw_envelope_t *env, char *out, uint8_t *caps, char level[16])
{
    gw_str_t tag = header(env, "auth-issuer-tag");
    gw_str_t subject = header(env, "auth-subject");
    gw_str_t lv = header(env, "log-level");
    unsigned char zeros[SHA256_DIGEST_LENGTH] = {0};
    unsigned char md[SHA256_DIGEST_LENGTH];
    char tag_hex[2 * GW_ISSUER_TAG_LEN + 1];
    char sub_hex[2 * SHA256_DIGEST_LENGTH + 1];

    hex(tag_hex, tag.len == GW_ISSUER_TAG_LEN ? (const unsigned char *)tag.ptr : zeros,
        GW_ISSUER_TAG_LEN);
    if (subject.len > 0) {
        SHA256((const unsigned char *)subject.ptr, subject.len, md);
        hex(sub_hex, md, sizeof(md));
    } else {
        hex(sub_hex, zeros, sizeof(zeros));
    }
    level[0] = '\0';
    if (lv.len > 0 && lv.len < 16 && wrk_level_rank(lv.ptr, lv.len) >= 0) {
        memcpy(level, lv.ptr, lv.len);
        level[lv.len] = '\0';
    }
    *caps = env->caps & POOL_CAPS;
    int n = snprintf(out, WRK_UPKEY_MAX + 1, "n:%s:%s:%u:%s", tag_hex, sub_hex, (unsigned)*caps,
                     level[0] ? level : "-");
    return n > 0 && n <= WRK_UPKEY_MAX ? (size_t)n : 0;
}

static int pool_idle(const upstream_t *up)
{
    return list_empty(&up->calls) && list_empty(&up->waiting) && up->state != UP_INITIALIZING;
}

/* Ends a pooled session: DELETE on the backend (closer.c), out of the map and the pool. */
static void pool_close(upstream_t *up, const char *why)
{
    wrk_t *w = up->w;

    gw_log_info("msg=\"pooled upstream session closed\" backend=%s session=%s reason=%s", w->name,
                up->key, why);
    snprintf(up->rid, sizeof(up->rid), "%s", "");
    if (up->state == UP_READY) {
        wrk_closer_delete(up);
    }
    wrk_upstream_detach(up); /* takes it out of the pool too */
}

void wrk_pool_add(upstream_t *up)
{
    wrk_t *w = up->w;
    unsigned max = w->cfg->max_pooled_sessions;

    /* past the bound: the least recently used idle ones go; busy ones stay (a call holds each) */
    for (link_t *l = w->pool.next; l != &w->pool && max > 0 && w->npooled >= max;) {
        upstream_t *old = GW_CONTAINER_OF(l, upstream_t, plink);
        l = l->next;
        if (pool_idle(old)) {
            pool_close(old, "max_pooled_sessions");
        }
    }
    up->last_use_ms = gw_clock_ms();
    list_append(&w->pool, &up->plink);
    w->npooled++;
    gw_gauge_set(w->m, GW_MG_POOLED_SESSIONS, (int64_t)w->npooled);
}

void wrk_pool_remove(upstream_t *up)
{
    wrk_t *w = up->w;

    if (!up->pooled || list_empty(&up->plink)) {
        return;
    }
    list_remove(&up->plink);
    w->npooled--;
    gw_gauge_set(w->m, GW_MG_POOLED_SESSIONS, (int64_t)w->npooled);
}

void wrk_pool_touch(upstream_t *up)
{
    if (list_empty(&up->plink)) {
        return; /* out of the pool already (lost, closed) */
    }
    up->last_use_ms = gw_clock_ms();
    list_remove(&up->plink);
    list_append(&up->w->pool, &up->plink);
}

int64_t wrk_pool_tick(wrk_t *w, int64_t now)
{
    int64_t idle = (int64_t)w->cfg->upstream_idle_ms;
    int64_t next = INT64_MAX;

    /* least recently used first: the first one not due says when the next one is */
    for (link_t *l = w->pool.next; l != &w->pool;) {
        upstream_t *up = GW_CONTAINER_OF(l, upstream_t, plink);
        l = l->next;
        if (!pool_idle(up)) {
            continue; /* its calls' end touches it */
        }
        if (now - up->last_use_ms < idle) {
            int64_t due = up->last_use_ms + idle;
            next = due < next ? due : next;
            break;
        }
        pool_close(up, "idle");
    }
    return next;
}

int wrk_pool_relay_event(call_t *c, const char *data, size_t len, const gw_rpc_t *rpc)
{
    if (rpc->kind == GW_MSG_REQUEST) {
        return 0; /* call.c gives requests to mrtr_call.c (they park the call) */
    }
    if (rpc->kind != GW_MSG_NOTIFICATION || strcmp(rpc->method_str, "notifications/message") != 0) {
        return 1;
    }
    /* "MUST NOT emit notifications/message for a request that did not include" a logLevel
     * (server/utilities/logging); with one, only messages at least that severe */
    const char *want = c->up != NULL ? c->up->level : "";
    if (want[0] == '\0') {
        return 0;
    }
    char err[64];
    yajl_val v = gw_json_parse(data, len, err, sizeof(err));
    const char *level = gw_json_get_string(gw_json_get(v, "params"), "level");
    int rank = level != NULL ? wrk_level_rank(level, strlen(level)) : -1;
    yajl_tree_free(v);
    return rank >= wrk_level_rank(want, strlen(want));
}

/* The caller of a 2026-07-28 call: its issuer tag and subject headers, compared as received. */
static int same_caller(const gw_envelope_t *a, const gw_envelope_t *b)
{
    static const char *const names[] = {"auth-issuer-tag", "auth-subject"};
    for (size_t i = 0; i < 2; i++) {
        gw_str_t x = header(a, names[i]);
        gw_str_t y = header(b, names[i]);
        if (x.len != y.len || (x.len > 0 && memcmp(x.ptr, y.ptr, x.len) != 0)) {
            return 0;
        }
    }
    return 1;
}

/* The router sends this when a 2026-07-28 caller's stream goes away (design 6): a NOREPLY
 * notifications/cancelled flagged GW_ENV_F_MODERN, with the call's caller headers and its
 * params.requestId. Calls are matched by caller and JSON-RPC id; on a 2025 backend the
 * notification goes to the call's pooled session first (the backend learns why the stream
 * stops), on a 2026-07-28 backend stopping the transfer is the cancel. */
size_t wrk_pool_cancel(wrk_t *w, const gw_envelope_t *env)
{
    gw_rpc_t rpc;
    char rid[WRK_RID_MAX + 1];
    size_t n = 0;

    if (gw_rpc_scan(env->body.ptr, env->body.len, GW_RPC_DEFAULT_MAX_DEPTH, &rpc) != GW_OK ||
        rpc.request_id.len == 0) {
        return 0;
    }
    const char *id = env->body.ptr + rpc.request_id.off;
    wrk_inbox_rid(rid, env);
    for (link_t *l = w->calls.next; l != &w->calls;) {
        call_t *c = GW_CONTAINER_OF(l, call_t, link);
        l = l->next;
        if (c->state == CALL_DONE || !(c->env.flags & GW_ENV_F_MODERN) ||
            c->env.rpc_id.len != rpc.request_id.len ||
            memcmp(c->env.rpc_id.ptr, id, rpc.request_id.len) != 0 || !same_caller(&c->env, env)) {
            continue;
        }
        if (wrk_era_of_call(w, &c->env) == WRK_ERA_LEGACY && c->up != NULL &&
            c->up->state == UP_READY && c->state == CALL_RUNNING) {
            gw_buf_t b;
            gw_buf_init(&b);
            if (gw_buf_appends(&b, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\","
                                   "\"params\":{\"requestId\":") == GW_OK &&
                (c->up_id.len > 0 /* resumed: the request went upstream with the first id */
                     ? gw_buf_append(&b, c->up_id.data, c->up_id.len)
                     : gw_buf_append(&b, id, rpc.request_id.len)) == GW_OK &&
                gw_buf_appends(&b, ",\"reason\":\"the client went away\"}}") == GW_OK) {
                wrk_closer_post(c->up, b.data, b.len, rid);
            }
            gw_buf_fini(&b);
        }
        list_remove(&c->qlink); /* queued behind initialize or the probe */
        wrk_reply_cancelled(c, rid);
        n++;
    }
    return n;
}
