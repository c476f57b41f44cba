/* h2_resets.c: the HTTP/2 rapid-reset bound (CVE-2023-44487, unfixed in libh2o 2.2.5): each
 * connection's budget of requests its client resets before they are answered; a connection
 * past it is shut down, logged once and counted. */
#include <config.h> /* autoconf's, not common/config.h */

#include <arpa/inet.h>
#include <stdlib.h>
#include <sys/socket.h>

#include <h2o.h>
#include <h2o/http2.h>

#include "common/clock.h"
#include "common/log.h"
#include "router/router.h"

/* A connection's budget, in thousandths of a reset. It starts full; a request the client resets
 * before its answer costs one reset, a request answered gives one back, and time gives back
 * RTR_H2_RESET_REFILL_PER_S a second, never past RTR_H2_RESET_BUDGET. A client that waits for
 * its answers never runs dry however many it cancels now and then; a flood of resets runs dry
 * after RTR_H2_RESET_BUDGET of them and then goes on at most at the refill rate. */
/* 20 rather than 100: against a flood that reconnects at once, other clients' p99 was about half
 * (docs/BENCHMARKS.md). A client would have to reset 20 of its calls with none answered in
 * between to be cut, and it may then reconnect. */
#define RTR_H2_RESET_BUDGET 20
#define RTR_H2_RESET_REFILL_PER_S 10
#define MILLI 1000
#define BUDGET_FULL ((int64_t)RTR_H2_RESET_BUDGET * MILLI)

/* How long a shut connection's entry stays: the frames h2o had already read from it are refused
 * without being routed; h2o closes it at its next read. */
#define CUT_KEEP_MS 10000

/* One HTTP/2 connection that reset a request, in rtr_t.h2_resets by its h2o connection id. */
typedef struct h2_budget {
    gw_hnode_t node;
    uint64_t conn_id;
    int64_t credit; /* thousandths of a reset, <= BUDGET_FULL */
    int64_t at_ms;  /* when credit was last brought up to date */
    uint64_t resets;
    int cut; /* shut down: what it still sends is refused */
} h2_budget_t;

static int budget_has_id(const gw_hnode_t *n, const void *id, size_t len)
{
    (void)len;
    return GW_CONTAINER_OF(n, h2_budget_t, node)->conn_id == *(const uint64_t *)id;
}

/* Is req one of an HTTP/2 connection? (h2o 2.2.5 installs no headers of its HTTP/2 internals:
 * the connection is known by its h2o_conn_t alone.) */
static int is_http2(h2o_req_t *req)
{
    return req != NULL && req->conn != NULL && req->version >= 0x200 && req->version < 0x300;
}

static h2_budget_t *budget_find(rtr_t *r, uint64_t id)
{
    gw_hnode_t *n = gw_htable_find(&r->h2_resets, id, &id, sizeof(id), budget_has_id);
    return n != NULL ? GW_CONTAINER_OF(n, h2_budget_t, node) : NULL;
}

/* Brings b's credit up to now with the time-based refill. */
static void budget_refill(h2_budget_t *b, int64_t now_ms)
{
    if (now_ms > b->at_ms) {
        int64_t add = (now_ms - b->at_ms) * RTR_H2_RESET_REFILL_PER_S; /* thousandths per ms */
        b->credit = add >= BUDGET_FULL - b->credit ? BUDGET_FULL : b->credit + add;
        b->at_ms = now_ms;
    }
}

static rtr_t *rtr_of(h2o_req_t *req)
{
    return H2O_STRUCT_FROM_MEMBER(rtr_t, ctx, req->conn->ctx);
}

/* Shuts the connection of req (h2o sees the end of its input and closes it), logs it once with
 * the client's address and counts it. */
static void cut(rtr_t *r, h2o_req_t *req, h2_budget_t *b)
{
    b->cut = 1;
    b->at_ms = gw_clock_ms();
    char addr[INET6_ADDRSTRLEN] = "";
    rtr_client_address(req->conn, addr);
    h2o_socket_t *sock = req->conn->callbacks->get_socket(req->conn);
    int fd = sock != NULL ? h2o_socket_get_fd(sock) : -1;
    h2o_iovec_t rid = rtr_request_id_of(req);
    gw_log_warn("msg=\"HTTP/2 rapid reset: too many requests reset by the client before their "
                "answer; connection closed\" client=%s resets=%llu budget=%d refill_per_s=%d "
                "request_id=%.*s",
                addr, (unsigned long long)b->resets, RTR_H2_RESET_BUDGET, RTR_H2_RESET_REFILL_PER_S,
                (int)rid.len, rid.base);
    gw_metric_add(r->m, GW_MC_REJ_H2_RESET_FLOOD, 1);
    if (fd >= 0) {
        shutdown(fd, SHUT_RDWR);
    }
}

void rtr_h2_reset_seen(h2o_req_t *req)
{
    if (!is_http2(req)) {
        return;
    }
    /* A stream the client resets is closed while h2o reads its frames; when the connection
     * ends (read error, end of input) h2o stops reading first, then closes every stream. */
    h2o_socket_t *sock = req->conn->callbacks->get_socket(req->conn);
    if (sock == NULL || !h2o_socket_is_reading(sock)) {
        return;
    }
    rtr_t *r = rtr_of(req);
    int64_t now = gw_clock_ms();
    h2_budget_t *b = budget_find(r, req->conn->id);
    if (b == NULL) {
        if ((b = calloc(1, sizeof(*b))) == NULL) {
            return; /* out of memory: this reset goes uncounted, nothing else fails */
        }
        b->conn_id = req->conn->id;
        b->credit = BUDGET_FULL;
        b->at_ms = now;
        if (gw_htable_insert(&r->h2_resets, &b->node, b->conn_id) != GW_OK) {
            free(b);
            return;
        }
    }
    if (b->cut) {
        return;
    }
    b->resets++;
    budget_refill(b, now);
    b->credit -= MILLI;
    if (b->credit < 0) {
        cut(r, req, b);
    }
}

void rtr_h2_answered(h2o_req_t *req)
{
    if (!is_http2(req)) {
        return;
    }
    rtr_t *r = rtr_of(req);
    if (r->h2_resets.n == 0) {
        return;
    }
    h2_budget_t *b = budget_find(r, req->conn->id);
    if (b != NULL && !b->cut) {
        b->credit = b->credit >= BUDGET_FULL - MILLI ? BUDGET_FULL : b->credit + MILLI;
    }
}

int rtr_h2_conn_is_cut(rtr_t *r, h2o_req_t *req)
{
    if (!is_http2(req) || r->h2_resets.n == 0) {
        return 0;
    }
    h2_budget_t *b = budget_find(r, req->conn->id);
    return b != NULL && b->cut;
}

void rtr_h2_resets_sweep(rtr_t *r, int64_t now_ms)
{
    size_t pos = 0;
    gw_hnode_t *n = gw_htable_next(&r->h2_resets, NULL, &pos);
    while (n != NULL) {
        gw_hnode_t *next = gw_htable_next(&r->h2_resets, n, &pos); /* before n may go */
        h2_budget_t *b = GW_CONTAINER_OF(n, h2_budget_t, node);
        if (!b->cut) {
            budget_refill(b, now_ms);
        }
        /* a full budget is what a connection without an entry has */
        if (b->cut ? now_ms - b->at_ms >= CUT_KEEP_MS : b->credit == BUDGET_FULL) {
            gw_htable_remove(&r->h2_resets, &b->node);
            free(b);
        }
        n = next;
    }
}
