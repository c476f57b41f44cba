/* slow_clients.c: limits.client_timeout for HTTP/2: a request still arriving past it has its
 * connection shut down. */
#include <config.h> /* autoconf's, not common/config.h */

#include <arpa/inet.h>
#include <stdio.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>

#include <h2o.h>
#include <h2o/http2.h>

#include "common/log.h"
#include "router/router.h"

/* What the sweep hands every HTTP/2 request. */
typedef struct sweep {
    rtr_t *rtr;
    struct timeval now;
} sweep_t;

/* limits.client_timeout for HTTP/2. HTTP/1 needs nothing here: h2o closes a connection whose
 * request has not arrived within http1.req_timeout. On HTTP/2 its idle timeout restarts with every
 * frame, so a stream whose headers or body trickle in a byte at a time would live on. A request
 * still arriving past the limit gets its connection shut down (h2o then closes it as if the client
 * had gone), logged and counted. */
static int check_arrival(h2o_req_t *req, void *arg)
{
    sweep_t *sw = arg;
    rtr_t *r = sw->rtr;
    const struct timeval *now = &sw->now;
    if (h2o_timeval_is_null(&req->timestamps.request_begin_at) ||
        !h2o_timeval_is_null(&req->processed_at.at) || req->entity.base != NULL ||
        h2o_timeval_subtract(&req->timestamps.request_begin_at, (struct timeval *)now) <
            (int64_t)r->cfg->client_timeout_ms * 1000) {
        return 0; /* not arriving (being answered, or waiting for its turn), or not late */
    }
    h2o_socket_t *sock = req->conn->callbacks->get_socket(req->conn);
    int fd = sock != NULL ? h2o_socket_get_fd(sock) : -1;
    if (fd < 0) {
        return 0;
    }
    char addr[INET6_ADDRSTRLEN];
    rtr_client_address(req->conn, addr);
    gw_log_warn("msg=\"client too slow: request not received within limits.client_timeout; "
                "connection closed\" client=%s protocol=HTTP/2 timeout_ms=%llu",
                addr, (unsigned long long)r->cfg->client_timeout_ms);
    gw_metric_add(r->m, GW_MC_REJ_CLIENT_TIMEOUT, 1);
    shutdown(fd, SHUT_RDWR);
    return 0;
}

static void on_arrival_timer(h2o_timeout_entry_t *entry)
{
    rtr_t *r = H2O_STRUCT_FROM_MEMBER(rtr_t, arrival_entry, entry);
    sweep_t sw = {r, *h2o_get_timestamp(&r->ctx, NULL, NULL)};
    H2O_HTTP2_CALLBACKS.foreach_request(&r->ctx, check_arrival, &sw);
    h2o_timeout_link(r->ctx.loop, &r->arrival_timeout, &r->arrival_entry);
}

void rtr_slow_clients_start(rtr_t *r)
{
    /* HTTP/2 requests are cut off between client_timeout and a quarter of it later */
    uint64_t sweep_ms = r->cfg->client_timeout_ms / 4;
    sweep_ms = sweep_ms < 50 ? 50 : sweep_ms > 1000 ? 1000 : sweep_ms;
    h2o_timeout_init(r->ctx.loop, &r->arrival_timeout, sweep_ms);
    r->arrival_entry.cb = on_arrival_timer;
    h2o_timeout_link(r->ctx.loop, &r->arrival_timeout, &r->arrival_entry);
}
