/* srvreq.c: requests a backend sends the client (sampling, elicitation, roots, ping): relayed
 * with a gateway id when the client declared the capability, refused otherwise; the client's
 * answer goes back to the backend with the backend's own id. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/gwid.h"
#include "common/jsonrpc.h"
#include "common/log.h"
#include "worker/worker.h"

/* One request a backend sent the client, waiting for the client's answer. Its id went to the
 * client as a gateway id of this server and n (common/gwid.h) so that any router can send the
 * answer to this worker, and the answer only counts from the session it was sent to. */
typedef struct srvreq {
    link_t link; /* w->srvreqs, oldest first */
    uint64_t n;
    char key[WRK_KEY_MAX + 1];
    gw_buf_t id; /* the backend's own id (raw JSON) */
    int64_t expires_ms;
    call_t *call; /* an input request of a 2026-07-28 backend's call (mrtr_rounds.c), or NULL */
} srvreq_t;

#define WRK_SRVREQS_MAX 65536

static void srvreq_drop(wrk_t *w, srvreq_t *r)
{
    list_remove(&r->link);
    gw_buf_fini(&r->id);
    free(r);
    w->nsrvreqs--;
}

void wrk_srvreq_forget_session(wrk_t *w, gw_str_t key)
{
    for (link_t *l = w->srvreqs.next; l != &w->srvreqs;) {
        srvreq_t *r = GW_CONTAINER_OF(l, srvreq_t, link);
        l = l->next;
        if (gw_str_eq(key, r->key)) {
            srvreq_drop(w, r);
        }
    }
}

void wrk_srvreq_forget_call(wrk_t *w, const call_t *c)
{
    for (link_t *l = w->srvreqs.next; l != &w->srvreqs;) {
        srvreq_t *r = GW_CONTAINER_OF(l, srvreq_t, link);
        l = l->next;
        if (r->call == c) {
            srvreq_drop(w, r);
        }
    }
}

void wrk_srvreq_fini(wrk_t *w)
{
    while (!list_empty(&w->srvreqs)) {
        srvreq_drop(w, GW_CONTAINER_OF(w->srvreqs.next, srvreq_t, link));
    }
}

/* Which client capability a server request needs; NULL for one the gateway does not relay. */
static int srvreq_allowed(const char *method, uint8_t caps, const char **need)
{
    static const struct {
        const char *method;
        uint8_t cap;
        const char *name;
    } table[] = {
        {"sampling/createMessage", GW_CAP_SAMPLING, "sampling"},
        {"elicitation/create", GW_CAP_ELICITATION, "elicitation"},
        {"roots/list", GW_CAP_ROOTS, "roots"},
        {"ping", 0, NULL},
    };
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        if (strcmp(table[i].method, method) == 0) {
            *need = table[i].name;
            return table[i].cap == 0 || (caps & table[i].cap) != 0;
        }
    }
    *need = method;
    return 0;
}

/* A request from the backend (in a call's event stream or on the session's GET stream) for the
 * client of session key: written to out with a gateway id, or refused to the backend on up when
 * the client cannot answer it. Returns 1 when the event was consumed (nothing to relay). */
int wrk_srvreq_relay(wrk_t *w, upstream_t *up, gw_str_t key, uint8_t caps, const char *rid,
                     const char *data, size_t len, const gw_rpc_t *rpc, gw_buf_t *out)
{
    const char *need;
    if (!srvreq_allowed(rpc->method_str, caps, &need)) {
        gw_buf_t err;
        char msg[GW_RPC_METHOD_MAX + 64];
        gw_buf_init(&err);
        snprintf(msg, sizeof(msg), "the client did not declare the %.128s capability", need);
        /* A flood of them past the posts' bounds is dropped in wrk_closer_post, which logs it
         * once: one line per refusal would be a flood too. */
        if (up != NULL &&
            gw_rpc_error(&err, data + rpc->id.off, rpc->id.len, GW_RPC_METHOD_NOT_FOUND, msg) ==
                GW_OK &&
            wrk_closer_post(up, err.data, err.len, rid) != GW_ETOOBIG) {
            gw_log_info("msg=\"server request refused\" backend=%s method=%s reason=\"%s\" "
                        "request_id=%s",
                        w->name, rpc->method_str, msg, rid != NULL ? rid : "");
        }
        gw_buf_fini(&err);
        return 1;
    }
    while (w->nsrvreqs >= WRK_SRVREQS_MAX) {
        srvreq_drop(w, GW_CONTAINER_OF(w->srvreqs.next, srvreq_t, link));
    }
    srvreq_t *r = calloc(1, sizeof(*r));
    if (r == NULL) {
        return 1;
    }
    r->n = ++w->next_srvreq;
    memcpy(r->key, key.ptr, key.len);
    r->key[key.len] = '\0';
    gw_buf_init(&r->id);
    r->expires_ms = gw_clock_ms() + (int64_t)w->srv->timeout_ms * 10;
    char n[24];
    char gid[GW_SERVER_NAME_MAX + 48];
    snprintf(n, sizeof(n), "%" PRIu64, r->n);
    if (gw_gwid_format(gid, sizeof(gid), w->name, n) != GW_OK ||
        gw_buf_append(&r->id, data + rpc->id.off, rpc->id.len) != GW_OK ||
        gw_rpc_splice_string(out, data, len, rpc->id, gid, strlen(gid)) != GW_OK) {
        gw_buf_fini(&r->id);
        free(r);
        return 1;
    }
    list_append(&w->srvreqs, &r->link);
    w->nsrvreqs++;
    return 0;
}

/* A gateway id for an input request of call c (a 2026-07-28 backend's input_required, which has
 * no id of its own): the client's answer, from c's session, goes to wrk_rounds_answer. */
gw_err_t wrk_srvreq_add_call(wrk_t *w, call_t *c, uint64_t *n, char *gid, size_t gid_size)
{
    char num[24];
    srvreq_t *r;

    while (w->nsrvreqs >= WRK_SRVREQS_MAX) {
        srvreq_drop(w, GW_CONTAINER_OF(w->srvreqs.next, srvreq_t, link));
    }
    if (c->env.session.len > WRK_KEY_MAX || (r = calloc(1, sizeof(*r))) == NULL) {
        return GW_ENOMEM;
    }
    r->n = ++w->next_srvreq;
    memcpy(r->key, c->env.session.ptr, c->env.session.len);
    r->key[c->env.session.len] = '\0';
    gw_buf_init(&r->id);
    r->call = c;
    snprintf(num, sizeof(num), "%" PRIu64, r->n);
    if (gw_gwid_format(gid, gid_size, w->name, num) != GW_OK) {
        free(r);
        return GW_ENOMEM;
    }
    *n = r->n;
    list_append(&w->srvreqs, &r->link);
    w->nsrvreqs++;
    return GW_OK;
}

/* The client's answer (a JSON-RPC response whose id is one of ours) to a server request: back to
 * the backend with the backend's own id, on the upstream session it came from. */
void wrk_srvreq_answer(wrk_t *w, const gw_envelope_t *env)
{
    unsigned status = 400;
    const char *why = "no server request with this id is pending";
    gw_str_t server;
    gw_str_t rest;
    if (gw_gwid_parse_token(env->rpc_id.ptr, env->rpc_id.len, &server, &rest) &&
        gw_str_eq(server, w->name) && rest.len > 0) {
        uint64_t n = strtoull(rest.ptr, NULL, 10); /* stops at the closing quote */
        for (link_t *l = w->srvreqs.next; l != &w->srvreqs; l = l->next) {
            srvreq_t *r = GW_CONTAINER_OF(l, srvreq_t, link);
            if (r->n != n || !gw_str_eq(env->session, r->key)) {
                continue;
            }
            if (r->call != NULL) {
                call_t *c = r->call;
                srvreq_drop(w, r); /* before: the call may end in wrk_rounds_answer */
                if (wrk_rounds_answer(c, n, env)) {
                    status = 202;
                } else {
                    why = "the answer is not a JSON-RPC response";
                }
                break;
            }
            upstream_t *up = wrk_upstream_find(w, r->key, strlen(r->key));
            gw_rpc_t rpc;
            gw_buf_t body;
            gw_buf_init(&body);
            if (up != NULL && up->state == UP_READY &&
                gw_rpc_scan(env->body.ptr, env->body.len, 0, &rpc) == GW_OK && rpc.id.len > 0 &&
                gw_rpc_splice_raw(&body, env->body.ptr, env->body.len, rpc.id, r->id.data,
                                  r->id.len) == GW_OK) {
                char rid[WRK_RID_MAX + 1];
                if (wrk_closer_post(up, body.data, body.len, wrk_inbox_rid(rid, env)) == GW_OK) {
                    status = 202;
                } else {
                    status = 503;
                    why = "too many messages are waiting to go to the backend";
                }
            } else {
                why = "the backend session this request came from is gone";
            }
            gw_buf_fini(&body);
            srvreq_drop(w, r);
            break;
        }
    }
    gw_envelope_t e;
    gw_buf_t b;
    memset(&e, 0, sizeof(e));
    gw_buf_init(&b);
    e.kind = GW_ENV_END;
    e.corr = env->corr;
    e.status = status;
    e.request_id = env->request_id;
    if (status != 202) {
        char rid[WRK_RID_MAX + 1];
        gw_log_info("msg=\"client response refused\" backend=%s reason=\"%s\" request_id=%s",
                    w->name, why, wrk_inbox_rid(rid, env));
    }
    if (status != 202 && gw_rpc_error(&b, NULL, 0, GW_RPC_INVALID_REQUEST, why) == GW_OK) {
        e.body = (gw_str_t){b.data, b.len};
    }
    wrk_reply_send_env(w, wrk_reply_outbox(w, env->origin), &e);
    gw_buf_fini(&b);
}
