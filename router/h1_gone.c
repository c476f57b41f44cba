/* h1_gone.c: a 2026-07-28 client that closes its HTTP/1.x connection while its call is pending
 * cancels the call (design §6: on HTTP, going away is the cancel), as an HTTP/2 stream reset does
 * through the request's dispose (router/call.c). h2o 2.2.5 reads nothing from an HTTP/1
 * connection while it answers a request there, so it sees no FIN until it writes; the router
 * therefore looks at the sockets of such calls itself, on its 500 ms timer: a peer that shut its
 * side (POLLRDHUP) or reset the connection has gone. Only modern calls are watched: for a 2025
 * session a disconnect is no cancel (its client resumes, or sends notifications/cancelled). */
#include <config.h>

#include <poll.h>

#include "common/log.h"
#include "router/router.h"

void rtr_h1_gone_watch(rtr_t *r, rtr_call_t *c)
{
    if (c->req != NULL && c->req->version < 0x200 && !h2o_linklist_is_linked(&c->h1_link)) {
        h2o_linklist_insert(&r->h1_calls, &c->h1_link);
    }
}

void rtr_h1_gone_unwatch(rtr_call_t *c)
{
    if (h2o_linklist_is_linked(&c->h1_link)) {
        h2o_linklist_unlink(&c->h1_link);
    }
}

/* Whether the client of req has closed or reset its connection. */
static int client_closed(h2o_req_t *req)
{
    h2o_socket_t *sock = req->conn->callbacks->get_socket(req->conn);
    int fd = sock != NULL ? h2o_socket_get_fd(sock) : -1;
    if (fd < 0) {
        return 0;
    }
    struct pollfd p = {.fd = fd, .events = POLLRDHUP};
    return poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

void rtr_h1_gone_sweep(rtr_t *r)
{
    h2o_linklist_t *n = r->h1_calls.next;
    while (n != &r->h1_calls) {
        rtr_call_t *c = H2O_STRUCT_FROM_MEMBER(rtr_call_t, h1_link, n);
        n = n->next; /* ending c frees it, and only it: an HTTP/1 connection has one request */
        if (c->req == NULL || c->ended || c->cancelled || !client_closed(c->req)) {
            continue;
        }
        rtr_h1_gone_unwatch(c);
        gw_log_info("msg=\"client closed its HTTP/1.1 connection during a 2026-07-28 call\" "
                    "peer=%s request_id=%s",
                    c->peer->name, c->request_id);
        rtr_call_client_gone(c);
    }
}
