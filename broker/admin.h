/* admin.h: the broker's admin listener, a small HTTP/1.1 server apart from client traffic:
 * /metrics (Prometheus text), /healthz (alive) and /readyz (ready to serve). */
#ifndef MCPGW_BROKER_ADMIN_H
#define MCPGW_BROKER_ADMIN_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"

typedef struct brk_admin_ops {
    /* Appends the Prometheus text of every metric to out. */
    void (*metrics)(void *arg, gw_buf_t *out);
    /* Returns 1 when ready; else 0 with a one-line reason in why. */
    int (*ready)(void *arg, char *why, size_t whylen);
    void *arg;
} brk_admin_ops_t;

typedef struct brk_admin brk_admin_t;

/* Listens on address:port (port 0: ephemeral); desc receives "address:port" as bound. */
gw_err_t brk_admin_open(brk_admin_t **out, const char *address, uint16_t port,
                        const brk_admin_ops_t *ops, char *desc, size_t desclen);
void brk_admin_close(brk_admin_t *a);
/* Fills fds with what the admin server waits for; returns how many (at most max). */
size_t brk_admin_pollfds(const brk_admin_t *a, struct pollfd *fds, size_t max);
/* Serves what poll reported in fds[0..n) (the array brk_admin_pollfds filled), never blocking. */
void brk_admin_serve(brk_admin_t *a, const struct pollfd *fds, size_t n);

#endif
