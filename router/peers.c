/* peers.c: the outboxes to the broker and the workers (a loop turn's frames to one peer in one
 * write), their connections (a peer gone fails its calls at once), and the inbox every reply
 * arrives at. */
#include <config.h> /* autoconf's, not common/config.h */

#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "router/router.h"

/* What waits for one peer at most (a worker restarting, or reading slowly); past it sends fail
 * and their calls are answered as a peer's failure. */
#define OUTBOX_MAX_BYTES (64u << 20)

/* Told by the outbox, on this loop: a peer that hung up fails its calls at once; a new
 * connection to the broker asks for the routing table again (the broker may have restarted). */
static void on_pipe_event(void *arg, int added)
{
    rtr_peer_t *p = arg;
    if (added) {
        if (p == p->rtr->broker) {
            rtr_control_subscribe(p->rtr);
        }
        return;
    }
    gw_log_warn("msg=\"peer went away\" peer=%s in_flight=%s", p->name,
                h2o_linklist_is_empty(&p->calls) ? "0" : "some");
    char msg[96];
    snprintf(msg, sizeof(msg), "%s went away while handling the request", p->name);
    while (!h2o_linklist_is_empty(&p->calls)) {
        rtr_call_t *c = H2O_STRUCT_FROM_MEMBER(rtr_call_t, peer_link, p->calls.next);
        rtr_call_fail(c, GW_RPC_BACKEND_UNAVAILABLE, msg);
    }
}

static void on_peer_ready(h2o_socket_t *sock, const char *err)
{
    rtr_peer_t *p = sock->data;
    gw_outbox_poll(&p->out);
}

gw_err_t rtr_peer_send(rtr_peer_t *p, gw_envelope_t *e)
{
    e->origin = (gw_str_t){p->rtr->inbox_name.s, strlen(p->rtr->inbox_name.s)};
    return gw_outbox_send(&p->out, e);
}

/* The end of a loop turn: what this turn has for each peer leaves in one write. */
void rtr_peers_flush(rtr_t *r)
{
    for (rtr_peer_t *p = r->peers; p != NULL; p = p->next) {
        gw_outbox_flush(&p->out);
    }
}

gw_err_t rtr_peer_create(rtr_t *r, const char *name, rtr_peer_t **out)
{
    gw_err_t err = GW_EIO;
    rtr_peer_t *p = calloc(1, sizeof(*p));
    if (p == NULL) {
        return GW_ENOMEM;
    }
    p->rtr = r;
    snprintf(p->name, sizeof(p->name), "%s", name);
    h2o_linklist_init_anchor(&p->calls);
    p->next = r->peers; /* before the open: its first connection may tell on_pipe_event */
    r->peers = p;
    if ((err = gw_outbox_open(&p->out, r->cfg->runtime_dir, name, OUTBOX_MAX_BYTES, on_pipe_event,
                              p)) != GW_OK) {
        r->peers = p->next;
        goto fail;
    }
    p->send_sock =
        h2o_evloop_socket_create(r->ctx.loop, gw_outbox_fd(&p->out), H2O_SOCKET_FLAG_DONT_READ);
    p->send_sock->data = p;
    h2o_socket_read_start(p->send_sock, on_peer_ready);
    *out = p;
    return GW_OK;
fail:
    gw_log_err("msg=\"cannot open a socket\" peer=%s", name);
    free(p);
    return err;
}

rtr_peer_t *rtr_peer_find(rtr_t *r, const char *name)
{
    for (rtr_peer_t *p = r->peers; p != NULL; p = p->next) {
        if (strcmp(p->name, name) == 0) {
            return p;
        }
    }
    return NULL;
}

static void on_inbox_envelope(void *arg, const gw_envelope_t *e, gw_str_t frame)
{
    rtr_t *r = arg;
    if (e->kind == GW_ENV_CONTROL && gw_str_eq(e->origin, GW_BROKER_NAME) &&
        gw_str_eq(e->method, "log-level")) {
        rtr_control_set_log_level(e);
        return;
    }
    if (e->kind == GW_ENV_CONTROL && gw_str_eq(e->origin, GW_BROKER_NAME) &&
        gw_str_eq(e->method, "tls/reload")) {
        rtr_listeners_reload_tls(r);
        return;
    }
    if (e->corr == r->routes_corr && gw_str_eq(e->origin, GW_BROKER_NAME)) {
        rtr_control_on_routes(r, e);
        return;
    }
    rtr_call_t *c = rtr_call_find(r, e->corr);
    if (c != NULL && gw_str_eq(e->origin, c->peer->name)) {
        rtr_call_on_reply(c, e);
    }
}

static void on_inbox_readable(h2o_socket_t *sock, const char *err)
{
    rtr_t *r = sock->data;
    gw_inbox_drain(&r->inbox, on_inbox_envelope, r, 0);
}

gw_err_t rtr_inbox_open(rtr_t *r)
{
    r->inbox_name = gw_router_inbox(r->index);
    gw_err_t err = gw_inbox_open(&r->inbox, r->cfg->runtime_dir, r->inbox_name.s);
    if (err != GW_OK) {
        gw_log_err("msg=\"cannot open the inbox\" name=%s error=\"%s\"", r->inbox_name.s,
                   gw_strerror(err));
        return err;
    }
    r->inbox_sock =
        h2o_evloop_socket_create(r->ctx.loop, gw_inbox_fd(&r->inbox), H2O_SOCKET_FLAG_DONT_READ);
    r->inbox_sock->data = r;
    h2o_socket_read_start(r->inbox_sock, on_inbox_readable);
    return GW_OK;
}
