/* peers.c: the nng side: outboxes to the broker and the workers (batched per loop turn), their
 * pipe events (a peer gone fails its calls at once), and the inbox every reply arrives at. */
#include <config.h> /* autoconf's, not common/config.h */

#include <stdio.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "router/router.h"

#define OUTBOX_MAX_QUEUED 4096

static void on_pipe_event(void *arg, int added)
{
    rtr_peer_t *p = arg;
    if (added) {
        atomic_fetch_add(&p->pipes_added, 1);
    } else {
        atomic_fetch_add(&p->pipes_removed, 1);
    }
    uint64_t one = 1;
    ssize_t n = write(p->event_fd, &one, sizeof(one));
    (void)n;
}

static void on_peer_event(h2o_socket_t *sock, const char *err)
{
    rtr_peer_t *p = sock->data;
    uint64_t v;
    ssize_t n = read(p->event_fd, &v, sizeof(v));
    (void)n;
    unsigned removed = atomic_load(&p->pipes_removed);
    unsigned added = atomic_load(&p->pipes_added);
    if (removed != p->seen_removed) {
        p->seen_removed = removed;
        gw_log_warn("msg=\"peer went away\" peer=%s in_flight=%s", p->name,
                    h2o_linklist_is_empty(&p->calls) ? "0" : "some");
        char msg[96];
        snprintf(msg, sizeof(msg), "%s went away while handling the request", p->name);
        while (!h2o_linklist_is_empty(&p->calls)) {
            rtr_call_t *c = H2O_STRUCT_FROM_MEMBER(rtr_call_t, peer_link, p->calls.next);
            rtr_call_fail(c, GW_RPC_BACKEND_UNAVAILABLE, msg);
        }
    }
    if (added != p->seen_added) {
        p->seen_added = added;
        if (p == p->rtr->broker) {
            rtr_control_subscribe(p->rtr);
        }
    }
}

static void on_peer_writable(h2o_socket_t *sock, const char *err)
{
    rtr_peer_t *p = sock->data;
    gw_outbox_flush(&p->out);
    if (p->out.count == 0) {
        h2o_socket_read_stop(sock);
    }
}

gw_err_t rtr_peer_send(rtr_peer_t *p, gw_envelope_t *e)
{
    e->origin = (gw_str_t){p->rtr->inbox_name.s, strlen(p->rtr->inbox_name.s)};
    return gw_outbox_send(&p->out, e);
}

/* The end of a loop turn: every peer's batch goes out; an outbox nng cannot take whole is
 * watched until it can. */
void rtr_peers_flush(rtr_t *r)
{
    for (rtr_peer_t *p = r->peers; p != NULL; p = p->next) {
        gw_outbox_flush(&p->out);
        if (p->out.count > 0 && !h2o_socket_is_reading(p->send_sock)) {
            h2o_socket_read_start(p->send_sock, on_peer_writable);
        }
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
    if ((p->event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
        goto fail;
    }
    if ((err = gw_outbox_open(&p->out, r->cfg->runtime_dir, name, OUTBOX_MAX_QUEUED, on_pipe_event,
                              p)) != GW_OK) {
        close(p->event_fd);
        goto fail;
    }
    p->send_sock = h2o_evloop_socket_create(r->ctx.loop, gw_outbox_send_fd(&p->out),
                                            H2O_SOCKET_FLAG_DONT_READ);
    p->send_sock->data = p;
    p->event_sock = h2o_evloop_socket_create(r->ctx.loop, p->event_fd, H2O_SOCKET_FLAG_DONT_READ);
    p->event_sock->data = p;
    h2o_socket_read_start(p->event_sock, on_peer_event);
    p->next = r->peers;
    r->peers = p;
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
    /* drain: the fd stays readable only while messages wait */
    gw_ipc_drain_inbox(r->inbox, on_inbox_envelope, r, 0);
}

gw_err_t rtr_inbox_open(rtr_t *r)
{
    char url[GW_IPC_URL_MAX];
    r->inbox_name = gw_router_inbox(r->index);
    gw_err_t err = gw_ipc_url(url, sizeof(url), r->cfg->runtime_dir, r->inbox_name.s);
    if (err == GW_OK) {
        err = gw_ipc_inbox(&r->inbox, url);
    }
    if (err != GW_OK) {
        gw_log_err("msg=\"cannot open the inbox\" name=%s", r->inbox_name.s);
        return err;
    }
    gw_ipc_guard_init(&r->inbox_guard, r->inbox, url, 0);
    r->inbox_sock =
        h2o_evloop_socket_create(r->ctx.loop, gw_ipc_recv_fd(r->inbox), H2O_SOCKET_FLAG_DONT_READ);
    r->inbox_sock->data = r;
    h2o_socket_read_start(r->inbox_sock, on_inbox_readable);
    return GW_OK;
}
