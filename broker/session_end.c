/* session_end.c: how a gateway session ends: a client's DELETE (answered once every router and
 * worker acted on it), mcpgwctl session kill, and sessions.idle_timeout. */
#include <config.h> /* autoconf's, not common/config.h */

#include <stdio.h>
#include <string.h>

#include "broker/broker.h"
#include "common/clock.h"
#include "common/log.h"

/* Asks every backend's worker of the session's shard (common/shard.h) to close its upstream
 * session of the gateway session (a DELETE upstream); corr is for their answers (0: none
 * awaited). Returns how many were asked. */
static unsigned close_upstream(brk_t *b, gw_str_t session, gw_str_t request_id, uint64_t corr)
{
    const gw_config_t *cfg = b->cycle->cfg;
    unsigned sent = 0;
    gw_envelope_t close = {.kind = GW_ENV_CONTROL, .session = session};
    close.method = GW_STR("session/close");
    close.request_id = request_id;
    close.corr = corr;
    for (size_t i = 0; i < cfg->nservers; i++) {
        gw_name_t name = brk_worker_of(&cfg->servers[i], &close);
        gw_outbox_t *o = gw_outboxes_get(&b->out, (gw_str_t){name.s, strlen(name.s)});
        close.origin = GW_STR(GW_BROKER_NAME);
        if (o != NULL && gw_outbox_send(o, &close) == GW_OK) {
            sent++;
        }
    }
    return sent;
}

void brk_session_end_delete(brk_t *b, const gw_envelope_t *e)
{
    gw_str_t rid = e->request_id;
    brk_session_t *s = brk_session_find_or_learn(b, e->session); /* revocation kept until then */
    if (s == NULL) {
        brk_reply(b, e->origin, e->corr, GW_ENV_END, 503, NULL, 0, rid);
        return;
    }
    if (s->revoked) {
        brk_reply(b, e->origin, e->corr, GW_ENV_END, 404, NULL, 0, rid);
        return;
    }
    brk_session_revoke(b, s);
    brk_get_stream_forget(b, s->uuid, strlen(s->uuid));
    brk_routes_push_revoked(b, -1, &s, 1, rid);
    brk_pending_delete_t *d = NULL;
    if (e->origin.len > 0 && b->ndeletes < BRK_MAX_PENDING_DELETES &&
        e->origin.len < sizeof(d->origin)) {
        d = &b->deletes[b->ndeletes++];
        d->id = BRK_DELETE_CORR_BASE + ++b->next_delete;
        d->seq = b->routes_seq;
        d->workers_left = 0;
        d->deadline_ms = gw_clock_ms() + BRK_DELETE_WAIT_MS;
        memcpy(d->origin, e->origin.ptr, e->origin.len);
        d->origin[e->origin.len] = '\0';
        d->corr = e->corr;
    }
    unsigned sent = close_upstream(b, e->session, rid, d != NULL ? d->id : 0);
    if (d != NULL) {
        d->workers_left = sent;
    }
    gw_log_info("msg=\"session deleted\" session=%s request_id=%.*s", s->uuid, (int)rid.len,
                rid.ptr);
    if (d == NULL && e->origin.len > 0) {
        /* too many at once: don't wait */
        brk_reply(b, e->origin, e->corr, GW_ENV_END, 200, NULL, 0, rid);
    }
}

/* A dead router or worker does not hold a client up: the deadline answers for it. */
void brk_session_end_answer_deletes(brk_t *b)
{
    int64_t now = gw_clock_ms();
    for (size_t i = 0; i < b->ndeletes;) {
        brk_pending_delete_t *d = &b->deletes[i];
        int routers_done = 1;
        for (size_t r = 0; r < BRK_MAX_ROUTERS && routers_done; r++) {
            routers_done = !b->subs[r].active || b->subs[r].acked >= d->seq;
        }
        if ((routers_done && d->workers_left == 0) || now >= d->deadline_ms) {
            brk_reply(b, (gw_str_t){d->origin, strlen(d->origin)}, d->corr, GW_ENV_END, 200, NULL,
                      0, GW_STR(""));
            b->deletes[i] = b->deletes[--b->ndeletes];
            continue;
        }
        i++;
    }
}

void brk_session_end_on_worker_reply(brk_t *b, const gw_envelope_t *e)
{
    for (size_t i = 0; i < b->ndeletes; i++) {
        if (b->deletes[i].id == e->corr && b->deletes[i].workers_left > 0) {
            b->deletes[i].workers_left--;
            return;
        }
    }
}

/* Ends the sessions with no request for sessions.idle_timeout as a DELETE would: revoked (their
 * next request gets 404), their upstream sessions closed. Routers report activity every
 * brk_activity_ms(); that much more is allowed, so that a report on its way is not missed. */
void brk_session_end_idle(brk_t *b, int64_t now_ms)
{
    const gw_config_t *cfg = b->cycle->cfg;
    int64_t limit = (int64_t)(cfg->session_idle_ms + brk_activity_ms(cfg));
    size_t n = 0;
    brk_session_t *batch[256]; /* revocations go out in messages of up to this many */
    size_t nbatch = 0;
    size_t pos = 0;
    for (brk_session_t *s = brk_sessions_next(b, NULL, &pos); s != NULL;
         s = brk_sessions_next(b, s, &pos)) {
        if (s->revoked || now_ms - s->last_ms < limit) {
            continue;
        }
        const gw_stream_t *st = gw_streams_find(&b->streams, s->uuid, strlen(s->uuid));
        if (st != NULL && st->holder[0] != '\0') {
            s->last_ms = now_ms; /* a client listening on its GET stream is using it */
            continue;
        }
        brk_session_revoke(b, s);
        brk_get_stream_forget(b, s->uuid, strlen(s->uuid));
        close_upstream(b, (gw_str_t){s->uuid, strlen(s->uuid)}, GW_STR_NULL, 0);
        gw_log_info("msg=\"session expired\" session=%s reason=idle idle_ms=%lld", s->uuid,
                    (long long)(now_ms - s->last_ms));
        n++;
        batch[nbatch++] = s;
        if (nbatch == sizeof(batch) / sizeof(batch[0])) {
            brk_routes_push_revoked(b, -1, batch, nbatch, GW_STR(""));
            nbatch = 0;
        }
    }
    if (nbatch > 0) {
        brk_routes_push_revoked(b, -1, batch, nbatch, GW_STR(""));
    }
    b->idle_expired += n;
}
