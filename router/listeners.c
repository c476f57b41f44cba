/* listeners.c: the client listeners a router shares with the others (the broker bound them):
 * each with its own h2o accept context, a TLS one with its OpenSSL context (ALPN h2 and
 * http/1.1; common/tls.c builds it from listen[].tls). Accepting starts with the first routing
 * table. On the broker's tls/reload the certificate files are read again for new connections;
 * connections already open keep the context they were accepted with. */
#include <config.h> /* autoconf's, not common/config.h */

#include <fcntl.h>

#include "common/log.h"
#include "common/tls.h"
#include "router/router.h"

static gw_err_t listener_tls(rtr_listener_t *l, SSL_CTX **out)
{
    char err[512];
    gw_err_t rc = gw_tls_server_ctx(&l->r->cfg->listen[l->index], l->index, out, err, sizeof(err));
    if (rc != GW_OK) {
        gw_log_err("msg=\"cannot load TLS certificate\" error=\"%s\"", err);
        return rc;
    }
    h2o_ssl_register_alpn_protocols(*out, h2o_http2_alpn_protocols);
    return GW_OK;
}

gw_err_t rtr_listeners_open(rtr_t *r, const int *fds, size_t nfds)
{
    if (nfds != r->cfg->nlisten || nfds > RTR_MAX_LISTENERS) {
        gw_log_err("msg=\"listening sockets do not match the config\" fds=%zu listen=%zu", nfds,
                   r->cfg->nlisten);
        return GW_EINVAL;
    }
    for (size_t i = 0; i < nfds; i++) {
        rtr_listener_t *l = &r->listeners[i];
        l->r = r;
        l->index = i;
        l->accept.ctx = &r->ctx;
        l->accept.hosts = r->h2o_config.hosts;
        if (r->cfg->listen[i].tls_certificate != NULL &&
            listener_tls(l, &l->accept.ssl_ctx) != GW_OK) {
            return GW_EINVAL;
        }
        fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
        fcntl(fds[i], F_SETFD, FD_CLOEXEC);
        l->sock = h2o_evloop_socket_create(r->ctx.loop, fds[i], H2O_SOCKET_FLAG_DONT_READ);
        l->sock->data = l;
        r->nlisteners++;
    }
    return GW_OK;
}

static void on_accept(h2o_socket_t *listener, const char *err)
{
    if (err != NULL) {
        return;
    }
    rtr_listener_t *l = listener->data;
    for (int i = 0; i < 16; i++) {
        h2o_socket_t *sock = h2o_evloop_socket_accept(listener);
        if (sock == NULL) {
            return;
        }
        if (rtr_h2_accept_refused(l->r, sock)) {
            h2o_socket_close(sock);
            continue;
        }
        h2o_accept(&l->accept, sock);
    }
}

/* A router takes connections once it has a routing table: before, it could only answer
 * "unknown tool" (a router restarted under load shares the listening sockets with live ones,
 * which take the connections meanwhile). */
void rtr_listeners_start(rtr_t *r)
{
    for (size_t i = 0; i < r->nlisteners && !r->stopping; i++) {
        h2o_socket_read_start(r->listeners[i].sock, on_accept);
    }
    gw_log_debug("msg=\"accepting connections\" listeners=%zu", r->nlisteners);
}

void rtr_listeners_stop(rtr_t *r)
{
    for (size_t i = 0; i < r->nlisteners; i++) {
        h2o_socket_read_stop(r->listeners[i].sock);
    }
}

void rtr_listeners_reload_tls(rtr_t *r)
{
    size_t reloaded = 0;
    for (size_t i = 0; i < r->nlisteners; i++) {
        rtr_listener_t *l = &r->listeners[i];
        SSL_CTX *fresh = NULL;
        if (l->accept.ssl_ctx == NULL || listener_tls(l, &fresh) != GW_OK) {
            continue; /* plain, or the files broke since the broker checked: keep the old */
        }
        /* every accepted connection holds a reference to the context it started with */
        SSL_CTX_free(l->accept.ssl_ctx);
        l->accept.ssl_ctx = fresh;
        reloaded++;
    }
    gw_log_info("msg=\"TLS certificates loaded again\" listeners=%zu", reloaded);
}

void rtr_listeners_close(rtr_t *r)
{
    for (size_t i = 0; i < r->nlisteners; i++) {
        SSL_CTX_free(r->listeners[i].accept.ssl_ctx);
        r->listeners[i].accept.ssl_ctx = NULL;
    }
}
