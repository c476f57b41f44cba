/* outbox.c: a connection to a peer's inbox, the frames waiting for it, and the set of outboxes a
 * process replies through (common/mailbox.h).
 *
 * What happens to frames when the connection goes: the ones written whole are the peer's (it may
 * have read them or not: the same as any message in flight to a process that dies, and the
 * callers answer their requests when on_pipe says the peer went); one cut in its middle is
 * dropped (a new peer would read garbage); the ones not yet written wait for the next connection,
 * as they wait while the peer has not come up yet. */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/config.h"
#include "common/log.h"
#include "common/mailbox.h"
#include "common/names.h"

/* The broker keeps an outbox to each of at most 64 routers (config_keys.c ROUTERS_MAX) and every
 * worker, a router one to the broker and every worker: the config's bound must fit. */
_Static_assert(64 + GW_WORKER_PROCS_MAX <= GW_OUTBOXES_MAX, "GW_WORKER_PROCS_MAX past outboxes");

#define BUF_MIN (16u << 10)
#define BUF_KEEP (1u << 20) /* an emptied buffer larger than this is given back */

static void arm(gw_outbox_t *o)
{
    int want = gw_outbox_waiting(o) > 0;
    if (o->fd < 0 || want == o->out_armed) {
        return;
    }
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | (want ? EPOLLOUT : 0)};
    if (epoll_ctl(o->ep, EPOLL_CTL_MOD, o->fd, &ev) == 0) {
        o->out_armed = want;
    }
}

/* The frame that write cut: from the frame boundary before sent to the one after it. */
static void drop_cut_frame(gw_outbox_t *o)
{
    size_t off = 0;
    while (off + 4 <= o->len) {
        size_t end = off + 4 +
                     (((size_t)o->buf[off] << 24) | ((size_t)o->buf[off + 1] << 16) |
                      ((size_t)o->buf[off + 2] << 8) | (size_t)o->buf[off + 3]);
        if (o->sent < end) {
            if (o->sent > off) {
                o->sent = end; /* begun but not finished: nobody can read it now */
                o->dropped++;
            }
            break;
        }
        off = end;
    }
    if (o->sent > 0) {
        memmove(o->buf, o->buf + o->sent, o->len - o->sent);
        o->len -= o->sent;
        o->sent = 0;
    }
}

static void hang_up(gw_outbox_t *o, const char *why)
{
    (void)epoll_ctl(o->ep, EPOLL_CTL_DEL, o->fd, NULL);
    close(o->fd);
    o->fd = -1;
    o->out_armed = 0;
    drop_cut_frame(o);
    o->backoff_ms = GW_OUTBOX_DIAL_MIN_MS;
    o->next_dial_ms = 0; /* the peer may be back already (a restart): dial at the next chance */
    gw_log_debug("msg=\"connection to a peer gone\" peer=%s why=\"%s\" waiting=%zu", o->name, why,
                 gw_outbox_waiting(o));
    if (o->on_pipe != NULL) {
        o->on_pipe(o->on_pipe_arg, 0);
    }
}

static void dial(gw_outbox_t *o, int64_t now_ms)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (o->fd >= 0 || now_ms < o->next_dial_ms) {
        return;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    memcpy(sa.sun_path, o->path, strlen(o->path) + 1);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
        struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP};
        if (epoll_ctl(o->ep, EPOLL_CTL_ADD, fd, &ev) == 0) {
            o->fd = fd;
            o->out_armed = 0;
            o->backoff_ms = GW_OUTBOX_DIAL_MIN_MS;
            o->connects++;
            if (o->on_pipe != NULL) {
                o->on_pipe(o->on_pipe_arg, 1);
            }
            return;
        }
    }
    /* nobody listens (ENOENT, ECONNREFUSED) or its backlog is full (EAGAIN): later */
    if (fd >= 0) {
        close(fd);
    }
    o->next_dial_ms = now_ms + o->backoff_ms;
    o->backoff_ms =
        o->backoff_ms * 2 > GW_OUTBOX_DIAL_MAX_MS ? GW_OUTBOX_DIAL_MAX_MS : o->backoff_ms * 2;
}

gw_err_t gw_outbox_open(gw_outbox_t *o, const char *rundir, const char *name, size_t max_bytes,
                        gw_outbox_pipe_fn on_pipe, void *arg)
{
    memset(o, 0, sizeof(*o));
    o->fd = o->ep = -1;
    snprintf(o->name, sizeof(o->name), "%s", name);
    o->max_bytes = max_bytes;
    o->on_pipe = on_pipe;
    o->on_pipe_arg = arg;
    o->backoff_ms = GW_OUTBOX_DIAL_MIN_MS;
    gw_err_t err = gw_mailbox_path(o->path, sizeof(o->path), rundir, name);
    if (err != GW_OK) {
        return err;
    }
    if ((o->ep = epoll_create1(EPOLL_CLOEXEC)) < 0) {
        return GW_EIO;
    }
    dial(o, gw_clock_ms());
    return GW_OK;
}

void gw_outbox_close(gw_outbox_t *o)
{
    if (o->fd >= 0) {
        close(o->fd);
    }
    if (o->ep >= 0) {
        close(o->ep);
    }
    o->fd = o->ep = -1;
    free(o->buf);
    o->buf = NULL;
    o->len = o->sent = o->cap = 0;
}

static int append(void *data, const char *p, size_t n)
{
    gw_outbox_t *o = data;
    if (n == 0) {
        return 0;
    }
    if (o->cap - o->len < n) {
        size_t cap = o->cap ? o->cap : BUF_MIN;
        while (cap - o->len < n) {
            cap *= 2;
        }
        uint8_t *b = realloc(o->buf, cap);
        if (b == NULL) {
            return -1;
        }
        o->buf = b;
        o->cap = cap;
    }
    memcpy(o->buf + o->len, p, n);
    o->len += n;
    return 0;
}

gw_err_t gw_outbox_send(gw_outbox_t *o, const gw_envelope_t *e)
{
    if (gw_outbox_waiting(o) >= o->max_bytes) {
        return GW_ETOOBIG; /* the peer is gone or stuck; its requests fail by their deadlines */
    }
    size_t start = o->len;
    static const char zero[4];
    gw_err_t err = append(o, zero, sizeof(zero)) == 0 ? gw_env_encode(e, append, o) : GW_ENOMEM;
    size_t n = o->len - start - 4;
    if (err == GW_OK && n > GW_FRAME_MAX) {
        err = GW_ETOOBIG;
    }
    if (err != GW_OK) {
        o->len = start;
        return err;
    }
    uint8_t *p = o->buf + start;
    p[0] = (uint8_t)(n >> 24);
    p[1] = (uint8_t)(n >> 16);
    p[2] = (uint8_t)(n >> 8);
    p[3] = (uint8_t)n;
    return GW_OK;
}

/* Writes what waits until the socket takes no more. */
static void write_out(gw_outbox_t *o)
{
    while (o->fd >= 0 && o->sent < o->len) {
        ssize_t n = send(o->fd, o->buf + o->sent, o->len - o->sent, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            o->sent += (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && errno == EAGAIN) {
            break;
        } else {
            hang_up(o, n < 0 ? strerror(errno) : "short write");
        }
    }
    o->stalled = o->sent < o->len;
    if (!o->stalled) {
        o->sent = o->len = 0;
        if (o->cap > BUF_KEEP) {
            free(o->buf);
            o->buf = NULL;
            o->cap = 0;
        }
    }
    arm(o);
}

void gw_outbox_flush(gw_outbox_t *o)
{
    if (gw_outbox_waiting(o) == 0) {
        return;
    }
    if (o->fd < 0) {
        dial(o, gw_clock_ms());
    }
    write_out(o);
}

int gw_outbox_fd(const gw_outbox_t *o)
{
    return o->ep;
}

void gw_outbox_poll(gw_outbox_t *o)
{
    struct epoll_event ev;
    if (o->fd < 0 || epoll_wait(o->ep, &ev, 1, 0) != 1) {
        return;
    }
    if (ev.events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
        /* a peer never writes on this connection: readable means it hung up */
        char c;
        ssize_t n = recv(o->fd, &c, 1, MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR) ||
            (ev.events & (EPOLLHUP | EPOLLERR))) {
            hang_up(o, "the peer hung up");
            return;
        }
    }
    write_out(o);
}

void gw_outbox_redial_tick(gw_outbox_t *o, int64_t now_ms)
{
    if (o->fd < 0) {
        dial(o, now_ms);
        write_out(o);
    }
}

int gw_outbox_backlogged(gw_outbox_t *o)
{
    if (o->stalled) {
        write_out(o);
    }
    return o->stalled;
}

/* ---- sets of outboxes ---- */

void gw_outboxes_init(gw_outboxes_t *set, const char *rundir, size_t max_bytes)
{
    memset(set, 0, sizeof(*set));
    snprintf(set->rundir, sizeof(set->rundir), "%s", rundir);
    set->max_bytes = max_bytes;
}

void gw_outboxes_fini(gw_outboxes_t *set)
{
    for (size_t i = 0; i < set->n; i++) {
        gw_outbox_close(set->v[i]);
        free(set->v[i]);
    }
    set->n = 0;
}

gw_outbox_t *gw_outboxes_get(gw_outboxes_t *set, gw_str_t name)
{
    for (size_t i = 0; i < set->n; i++) {
        if (gw_str_eq(name, set->v[i]->name)) {
            return set->v[i];
        }
    }
    char n[64];
    if (name.len == 0 || name.len >= sizeof(n) || set->n == GW_OUTBOXES_MAX) {
        return NULL;
    }
    memcpy(n, name.ptr, name.len);
    n[name.len] = '\0';
    if (!gw_is_inbox_name(n)) {
        return NULL;
    }
    gw_outbox_t *o = calloc(1, sizeof(*o));
    if (o == NULL || gw_outbox_open(o, set->rundir, n, set->max_bytes, NULL, NULL) != GW_OK) {
        gw_log_warn("msg=\"cannot open an outbox\" peer=%s", n);
        if (o != NULL) {
            gw_outbox_close(o);
        }
        free(o);
        return NULL;
    }
    set->v[set->n++] = o;
    return o;
}

void gw_outboxes_redial_tick(gw_outboxes_t *set, int64_t now_ms)
{
    for (size_t i = 0; i < set->n; i++) {
        gw_outbox_redial_tick(set->v[i], now_ms);
    }
}

void gw_outboxes_flush(gw_outboxes_t *set)
{
    for (size_t i = 0; i < set->n; i++) {
        gw_outbox_flush(set->v[i]);
    }
}

int64_t gw_outboxes_next_dial(const gw_outboxes_t *set)
{
    int64_t next = INT64_MAX;
    for (size_t i = 0; i < set->n; i++) {
        const gw_outbox_t *o = set->v[i];
        if (o->fd < 0 && gw_outbox_waiting(o) > 0 && o->next_dial_ms < next) {
            next = o->next_dial_ms;
        }
    }
    return next;
}
