/* h2_resets.c: the HTTP/2 rapid-reset bound (CVE-2023-44487, unfixed in libh2o 2.2.5): each
 * connection's budget of requests its client resets before they are answered, and each client
 * address's budget over all its connections; a connection past either is shut down, an address
 * past its own is refused new connections for a while; logged once and counted. */
#include <config.h> /* autoconf's, not common/config.h */

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <h2o.h>
#include <h2o/http2.h>

#include "common/clock.h"
#include "common/hash.h"
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

/* An attacker that reconnects gets a fresh connection budget each time (tens a second on
 * loopback), so its address has a budget too: three connections' worth, refilled at the same
 * pace and by the same answers. An address that runs it dry is barred: its connections are
 * shut at their next reset and new ones are closed at accept for RTR_H2_RESET_BAR_MS. Clients
 * behind one NAT address share it; they would have to reset 60 requests with none answered in
 * between, which no client that waits for its answers does. IPv6 addresses count by /64 (one
 * host usually has a whole /64 to pick from). */
#define RTR_H2_RESET_ADDR_BUDGET (3 * RTR_H2_RESET_BUDGET)
#define ADDR_FULL ((int64_t)RTR_H2_RESET_ADDR_BUDGET * MILLI)
#define RTR_H2_RESET_BAR_MS 10000
/* Addresses tracked at once: past it a new address has only its connections' budgets. */
#define RTR_H2_RESET_ADDRS_MAX 4096
#define ADDR_KEY_LEN 9 /* family byte, then 4 bytes of IPv4 or the 8 of an IPv6 /64 */

/* How long a shut connection's entry stays: the frames h2o had already read from it are refused
 * without being routed; h2o closes it at its next read. */
#define CUT_KEEP_MS 10000

/* One client address whose connections reset requests, in rtr_t.h2_reset_addrs by its key. */
typedef struct h2_addr {
    gw_hnode_t node;
    uint8_t key[ADDR_KEY_LEN];
    int64_t credit;       /* thousandths of a reset, <= ADDR_FULL */
    int64_t at_ms;        /* when credit was last brought up to date */
    int64_t barred_until; /* ms; 0: not barred */
} h2_addr_t;

/* One HTTP/2 connection that reset a request, in rtr_t.h2_resets by its h2o connection id. */
typedef struct h2_budget {
    gw_hnode_t node;
    uint64_t conn_id;
    uint8_t addr_key[ADDR_KEY_LEN]; /* its client's address (all zero: unknown) */
    int64_t credit;                 /* thousandths of a reset, <= BUDGET_FULL */
    int64_t at_ms;                  /* when credit was last brought up to date */
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

static int addr_has_key(const gw_hnode_t *n, const void *key, size_t len)
{
    return memcmp(GW_CONTAINER_OF(n, h2_addr_t, node)->key, key, len) == 0;
}

/* The address key of a peer: 0 when it is neither IPv4 nor IPv6 (no per-address budget). */
static int addr_key_of(const struct sockaddr *sa, socklen_t len, uint8_t key[ADDR_KEY_LEN])
{
    memset(key, 0, ADDR_KEY_LEN);
    if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
        key[0] = 4;
        memcpy(key + 1, &((const struct sockaddr_in *)sa)->sin_addr, 4);
        return 1;
    }
    if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
        key[0] = 6;
        memcpy(key + 1, &((const struct sockaddr_in6 *)sa)->sin6_addr, 8);
        return 1;
    }
    return 0;
}

static h2_addr_t *addr_find(rtr_t *r, const uint8_t key[ADDR_KEY_LEN])
{
    gw_hnode_t *n = gw_htable_find(&r->h2_reset_addrs, gw_hash(key, ADDR_KEY_LEN), key,
                                   ADDR_KEY_LEN, addr_has_key);
    return n != NULL ? GW_CONTAINER_OF(n, h2_addr_t, node) : NULL;
}

/* key's entry, made with a full budget when there is none and room for one; NULL otherwise. */
static h2_addr_t *addr_get(rtr_t *r, const uint8_t key[ADDR_KEY_LEN], int64_t now_ms)
{
    if (key[0] == 0) {
        return NULL;
    }
    h2_addr_t *a = addr_find(r, key);
    if (a != NULL || r->h2_reset_addrs.n >= RTR_H2_RESET_ADDRS_MAX ||
        (a = calloc(1, sizeof(*a))) == NULL) {
        return a;
    }
    memcpy(a->key, key, ADDR_KEY_LEN);
    a->credit = ADDR_FULL;
    a->at_ms = now_ms;
    if (gw_htable_insert(&r->h2_reset_addrs, &a->node, gw_hash(key, ADDR_KEY_LEN)) != GW_OK) {
        free(a);
        return NULL;
    }
    return a;
}

static void addr_refill(h2_addr_t *a, int64_t now_ms)
{
    if (now_ms > a->at_ms) {
        int64_t add = (now_ms - a->at_ms) * RTR_H2_RESET_REFILL_PER_S;
        a->credit = add >= ADDR_FULL - a->credit ? ADDR_FULL : a->credit + add;
        a->at_ms = now_ms;
    }
}

static int addr_barred(const h2_addr_t *a, int64_t now_ms)
{
    return a != NULL && a->barred_until > now_ms;
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
static void cut(rtr_t *r, h2o_req_t *req, h2_budget_t *b, const char *why)
{
    b->cut = 1;
    b->at_ms = gw_clock_ms();
    char addr[INET6_ADDRSTRLEN] = "";
    rtr_client_address(req->conn, addr);
    h2o_socket_t *sock = req->conn->callbacks->get_socket(req->conn);
    int fd = sock != NULL ? h2o_socket_get_fd(sock) : -1;
    h2o_iovec_t rid = rtr_request_id_of(req);
    gw_log_warn("msg=\"HTTP/2 rapid reset: too many requests reset by the client before their "
                "answer; connection closed\" client=%s budget=%s resets=%llu conn_budget=%d "
                "address_budget=%d refill_per_s=%d request_id=%.*s",
                addr, why, (unsigned long long)b->resets, RTR_H2_RESET_BUDGET,
                RTR_H2_RESET_ADDR_BUDGET, RTR_H2_RESET_REFILL_PER_S, (int)rid.len, rid.base);
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
        struct sockaddr_storage ss;
        socklen_t sl = req->conn->callbacks->get_peername(req->conn, (struct sockaddr *)&ss);
        if (sl > 0) {
            addr_key_of((struct sockaddr *)&ss, sl, b->addr_key);
        }
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
    h2_addr_t *a = addr_get(r, b->addr_key, now);
    if (a != NULL && !addr_barred(a, now)) {
        addr_refill(a, now);
        a->credit -= MILLI;
        if (a->credit < 0) {
            a->barred_until = now + RTR_H2_RESET_BAR_MS;
            a->credit = 0;
            char text[INET6_ADDRSTRLEN] = "";
            rtr_client_address(req->conn, text);
            gw_log_warn("msg=\"HTTP/2 rapid reset: this address reset too many requests over its "
                        "connections; new connections from it are refused\" client=%s "
                        "address_budget=%d barred_ms=%d",
                        text, RTR_H2_RESET_ADDR_BUDGET, RTR_H2_RESET_BAR_MS);
        }
    }
    if (addr_barred(a, now)) {
        cut(r, req, b, "address");
    } else if (b->credit < 0) {
        cut(r, req, b, "connection");
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
        h2_addr_t *a = b->addr_key[0] != 0 ? addr_find(r, b->addr_key) : NULL;
        if (a != NULL && !addr_barred(a, gw_clock_ms())) {
            a->credit = a->credit >= ADDR_FULL - MILLI ? ADDR_FULL : a->credit + MILLI;
        }
    }
}

int rtr_h2_accept_refused(rtr_t *r, h2o_socket_t *sock)
{
    if (r->h2_reset_addrs.n == 0) {
        return 0;
    }
    struct sockaddr_storage ss;
    uint8_t key[ADDR_KEY_LEN];
    socklen_t sl = h2o_socket_getpeername(sock, (struct sockaddr *)&ss);
    if (sl == 0 || !addr_key_of((struct sockaddr *)&ss, sl, key) ||
        !addr_barred(addr_find(r, key), gw_clock_ms())) {
        return 0;
    }
    gw_metric_add(r->m, GW_MC_REJ_H2_RESET_FLOOD, 1);
    return 1;
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
    pos = 0;
    n = gw_htable_next(&r->h2_reset_addrs, NULL, &pos);
    while (n != NULL) {
        gw_hnode_t *next = gw_htable_next(&r->h2_reset_addrs, n, &pos);
        h2_addr_t *a = GW_CONTAINER_OF(n, h2_addr_t, node);
        if (!addr_barred(a, now_ms)) {
            addr_refill(a, now_ms);
            if (a->credit == ADDR_FULL) {
                gw_htable_remove(&r->h2_reset_addrs, &a->node);
                free(a);
            }
        }
        n = next;
    }
}
