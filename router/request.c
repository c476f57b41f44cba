/* request.c: an h2o request's helpers: its headers, its request id, and the guard that ties it
 * to what answers it (a call or a batch) whichever goes first. */
#include <config.h> /* autoconf's, not common/config.h */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/log.h"
#include "router/router.h"

h2o_iovec_t rtr_header(h2o_req_t *req, const char *name)
{
    ssize_t i = h2o_find_header_by_str(&req->headers, name, strlen(name), -1);
    if (i < 0) {
        return h2o_iovec_init(NULL, 0);
    }
    return req->headers.entries[i].value;
}

h2o_iovec_t rtr_header_token(h2o_req_t *req, const h2o_token_t *token)
{
    ssize_t i = h2o_find_header(&req->headers, token, -1);
    if (i < 0) {
        return h2o_iovec_init(NULL, 0);
    }
    return req->headers.entries[i].value;
}

/* The request id req is answered with (its x-request-id response header, the first thing on_req
 * sets), for log lines about req. */
h2o_iovec_t rtr_request_id_of(h2o_req_t *req)
{
    ssize_t i = h2o_find_header_by_str(&req->res.headers, H2O_STRLIT("x-request-id"), -1);
    return i < 0 ? h2o_iovec_init("", 0) : req->res.headers.entries[i].value;
}

void rtr_request_id_make(rtr_t *r, h2o_req_t *req, char out[RTR_REQUEST_ID_MAX + 1])
{
    h2o_iovec_t v = rtr_header(req, "x-request-id");
    if (v.len > 0 && v.len <= RTR_REQUEST_ID_MAX) {
        size_t i;
        for (i = 0; i < v.len; i++) {
            char c = v.base[i];
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_' || c == '.' || c == ':')) {
                break;
            }
        }
        if (i == v.len) {
            memcpy(out, v.base, v.len);
            out[v.len] = '\0';
            return;
        }
    }
    snprintf(out, RTR_REQUEST_ID_MAX + 1, "%s%08llx", r->request_id_prefix,
             (unsigned long long)(++r->next_request_id & 0xffffffffu));
}

static void on_req_dispose(void *p)
{
    rtr_req_guard_t *g = p;
    if (g->req != NULL) {
        rtr_h2_reset_seen(*g->req);
        *g->req = NULL;
        *g->guard = NULL;
        if (g->gone != NULL) {
            g->gone(g->owner);
        }
    }
}

/* Ties req to owner's req and guard fields (see rtr_req_guard_t). */
void rtr_req_guard(h2o_req_t *req, h2o_req_t **owner_req, rtr_req_guard_t **owner_guard)
{
    rtr_req_guard_t *g = h2o_mem_alloc_shared(&req->pool, sizeof(*g), on_req_dispose);
    *owner_req = req;
    *owner_guard = g;
    g->req = owner_req;
    g->guard = owner_guard;
    g->gone = NULL;
    g->owner = NULL;
}

/* The owner goes first: the request no longer points at it. */
void rtr_req_unguard(rtr_req_guard_t *g)
{
    if (g != NULL && g->req != NULL) {
        rtr_h2_answered(*g->req);
        g->req = NULL;
    }
}

void rtr_client_address(h2o_conn_t *conn, char out[INET6_ADDRSTRLEN])
{
    struct sockaddr_storage ss;
    socklen_t sl = conn->callbacks->get_peername(conn, (struct sockaddr *)&ss);
    out[0] = '\0';
    if (sl > 0) {
        h2o_socket_getnumerichost((struct sockaddr *)&ss, sl, out);
    }
}
