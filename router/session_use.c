/* session_use.c: the sessions in use: requests in flight per session (for
 * limits.max_concurrent_requests_per_session) and the activity reports to the broker. */
#include <config.h> /* autoconf's, not common/config.h */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "common/htable.h"
#include "common/log.h"
#include "router/router.h"

#define ACTIVITY_BATCH (64u << 10) /* bytes of one activity report message, at most (about) */

#define USE_OF(n) ((n) != NULL ? GW_CONTAINER_OF(n, rtr_session_use_t, node) : NULL)

static int use_has_uuid(const gw_hnode_t *n, const void *uuid, size_t len)
{
    return gw_str_eq((gw_str_t){uuid, len}, USE_OF(n)->uuid);
}

rtr_session_use_t *rtr_session_use_find(rtr_t *r, gw_str_t uuid)
{
    return USE_OF(
        gw_htable_find(&r->uses, gw_hash(uuid.ptr, uuid.len), uuid.ptr, uuid.len, use_has_uuid));
}

rtr_session_use_t *rtr_session_use_get(rtr_t *r, gw_str_t uuid)
{
    uint64_t hash = gw_hash(uuid.ptr, uuid.len);
    rtr_session_use_t *u = USE_OF(gw_htable_find(&r->uses, hash, uuid.ptr, uuid.len, use_has_uuid));
    if (u != NULL || uuid.len > GW_UUID_TEXT_LEN) {
        return u;
    }
    if ((u = calloc(1, sizeof(*u))) == NULL) {
        return NULL;
    }
    memcpy(u->uuid, uuid.ptr, uuid.len);
    h2o_linklist_init_anchor(&u->calls);
    if (gw_htable_insert(&r->uses, &u->node, hash) != GW_OK) {
        free(u);
        return NULL;
    }
    return u;
}

void rtr_session_use_put(rtr_t *r, rtr_session_use_t *u)
{
    if (u == NULL || u->in_flight > 0 || u->seen) {
        return;
    }
    gw_htable_remove(&r->uses, &u->node);
    free(u);
}

void rtr_session_seen(rtr_t *r, const char *uuid, int64_t expires)
{
    rtr_session_use_t *u = rtr_session_use_get(r, (gw_str_t){uuid, strlen(uuid)});
    if (u != NULL) {
        u->seen = 1;
        u->expires = expires;
    }
}

/* Does a call of e take a place among its session's concurrent requests? Requests the router
 * waits on do; notifications, answers to server requests, DELETE and long-lived streams do
 * not (nor ping, answered without a peer). */
int rtr_session_use_counts(const gw_envelope_t *e)
{
    return e->kind == GW_ENV_CALL && e->method.len > 0 && e->session.len > 0 &&
           !(e->flags & GW_ENV_F_STREAM);
}

static void send_activity(rtr_t *r, gw_buf_t *b)
{
    gw_envelope_t e = {.kind = GW_ENV_CONTROL, .flags = GW_ENV_F_NOREPLY};
    e.method = GW_STR("sessions/active");
    e.body = (gw_str_t){b->data, b->len};
    gw_err_t err = rtr_peer_send(r->broker, &e);
    if (err != GW_OK) {
        gw_log_warn("msg=\"activity report lost\" error=\"%s\"", gw_strerror(err));
    }
    gw_buf_reset(b);
}

/* Tells the broker which sessions were used since the last report, or have requests in flight
 * (a long call is activity too): one "<uuid> <expires>" line each, in messages of at most about
 * ACTIVITY_BATCH bytes. Entries nothing holds any more are dropped. */
void rtr_session_use_report(rtr_t *r)
{
    gw_buf_t b;
    gw_buf_init(&b);
    size_t pos = 0;
    gw_hnode_t *n = gw_htable_next(&r->uses, NULL, &pos);
    while (n != NULL) {
        gw_hnode_t *next = gw_htable_next(&r->uses, n, &pos); /* before n may go */
        rtr_session_use_t *u = USE_OF(n);
        if (gw_buf_appendf(&b, "%s %lld\n", u->uuid, (long long)u->expires) != GW_OK) {
            gw_log_err("msg=\"out of memory building an activity report\"");
        }
        u->seen = 0;
        if (u->in_flight == 0) {
            gw_htable_remove(&r->uses, &u->node);
            free(u);
        }
        if (b.len >= ACTIVITY_BATCH) {
            send_activity(r, &b);
        }
        n = next;
    }
    if (b.len > 0) {
        send_activity(r, &b);
    }
    gw_buf_fini(&b);
}
