/* inbox.c: a process's inbox: a unix stream socket it listens on, the peers' connections, and the
 * frames read from them on the owner's loop (common/mailbox.h). */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/log.h"
#include "common/mailbox.h"

/* A connection's buffer: grown for a longer frame, shrunk again after it. */
#define CONN_BUF_MIN (64u << 10)
#define LISTEN_BACKLOG 128
#define DRAIN_EVENTS 64
#define TAG_LISTENER 0 /* epoll data of the listener; a connection's is its slot + 1 */

struct gw_inbox_conn {
    int fd;
    uint8_t *buf; /* bytes read, not yet handed on: [0, len) */
    size_t len;
    size_t cap;
};

gw_err_t gw_mailbox_path(char *out, size_t outlen, const char *rundir, const char *name)
{
    size_t n = strlen(rundir) + 1 + strlen(name) + sizeof(".ipc") - 1;
    if (n >= GW_MAILBOX_PATH_MAX || n >= outlen) {
        return GW_ETOOBIG;
    }
    int w = snprintf(out, outlen, "%s/%s.ipc", rundir, name);
    return w >= 0 && (size_t)w < outlen ? GW_OK : GW_ETOOBIG;
}

/* Whether a live process accepts on the socket file at path (1), or nobody does (0: a file left
 * by a dead process is removed). A connect that succeeds is hung up at once: an inbox takes that
 * as a peer that left. */
static int socket_in_use(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct stat st;

    if (lstat(path, &st) != 0 || !S_ISSOCK(st.st_mode)) {
        return 0;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return 0;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int live = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    if (!live && errno == ECONNREFUSED) {
        (void)unlink(path);
    }
    close(fd);
    return live;
}

static gw_err_t watch(int ep, int fd, uint64_t tag)
{
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.u64 = tag};
    return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0 ? GW_OK : GW_EIO;
}

gw_err_t gw_inbox_open(gw_inbox_t *in, const char *rundir, const char *name)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    gw_err_t err;

    memset(in, 0, sizeof(*in));
    in->lfd = in->ep = -1;
    if ((err = gw_mailbox_path(in->path, sizeof(in->path), rundir, name)) != GW_OK) {
        return err;
    }
    if (socket_in_use(in->path)) {
        return GW_EBUSY;
    }
    memcpy(sa.sun_path, in->path, strlen(in->path) + 1);
    in->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    in->ep = epoll_create1(EPOLL_CLOEXEC);
    if (in->lfd < 0 || in->ep < 0) {
        err = GW_EIO;
    } else if (bind(in->lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        err = errno == EACCES || errno == EPERM ? GW_EPERM
              : errno == EADDRINUSE             ? GW_EBUSY
                                                : GW_EIO;
    } else if (listen(in->lfd, LISTEN_BACKLOG) != 0) {
        err = GW_EIO;
    } else {
        err = watch(in->ep, in->lfd, TAG_LISTENER);
    }
    if (err != GW_OK) {
        gw_inbox_close(in);
    }
    return err;
}

int gw_inbox_fd(const gw_inbox_t *in)
{
    return in->ep;
}

static void conn_free(gw_inbox_conn_t *c)
{
    if (c->fd >= 0) {
        close(c->fd);
    }
    free(c->buf);
    free(c);
}

static void drop_conn(gw_inbox_t *in, size_t slot)
{
    gw_inbox_conn_t *c = in->conns[slot];
    (void)epoll_ctl(in->ep, EPOLL_CTL_DEL, c->fd, NULL);
    conn_free(c);
    in->conns[slot] = NULL;
    in->nconns--;
}

static void accept_peers(gw_inbox_t *in)
{
    for (;;) {
        int fd = accept4(in->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
                gw_log_warn("msg=\"accept failed on an inbox\" path=%s error=\"%s\"", in->path,
                            strerror(errno));
            }
            if (errno == EINTR || errno == ECONNABORTED) {
                continue;
            }
            return;
        }
        size_t slot = 0;
        while (slot < in->cap && in->conns[slot] != NULL) {
            slot++;
        }
        if (slot == in->cap) {
            size_t cap = in->cap ? in->cap * 2 : 16;
            gw_inbox_conn_t **v = realloc(in->conns, cap * sizeof(*v));
            if (v == NULL) {
                close(fd);
                return;
            }
            memset(v + in->cap, 0, (cap - in->cap) * sizeof(*v));
            in->conns = v;
            in->cap = cap;
        }
        gw_inbox_conn_t *c = calloc(1, sizeof(*c));
        if (c == NULL || (c->buf = malloc(CONN_BUF_MIN)) == NULL) {
            free(c);
            close(fd);
            return;
        }
        c->fd = fd;
        c->cap = CONN_BUF_MIN;
        if (watch(in->ep, fd, slot + 1) != GW_OK) {
            conn_free(c);
            continue;
        }
        in->conns[slot] = c;
        in->nconns++;
    }
}

static size_t frame_len(const uint8_t *p)
{
    return ((size_t)p[0] << 24) | ((size_t)p[1] << 16) | ((size_t)p[2] << 8) | (size_t)p[3];
}

/* Hands on every complete frame in c's buffer and keeps the rest at its start. 0 when a frame
 * announces more than GW_FRAME_MAX (the connection must go). */
static int deliver(gw_inbox_conn_t *c, gw_frame_fn fn, void *arg)
{
    size_t off = 0;
    while (c->len - off >= 4) {
        size_t n = frame_len(c->buf + off);
        if (n > GW_FRAME_MAX) {
            return 0;
        }
        if (c->len - off - 4 < n) {
            break;
        }
        gw_envelope_t e;
        const char *f = (const char *)c->buf + off + 4;
        off += 4 + n;
        if (gw_env_decode(f, n, &e) != GW_OK) {
            gw_log_warn("msg=\"dropped an undecodable message\" bytes=%zu", n);
            continue;
        }
        fn(arg, &e, (gw_str_t){f, n});
    }
    if (off > 0) {
        memmove(c->buf, c->buf + off, c->len - off);
        c->len -= off;
    }
    return 1;
}

/* Room in c's buffer for the frame it has begun (at least one byte); 0 when there is no memory. */
static int make_room(gw_inbox_conn_t *c)
{
    size_t want = c->len >= 4 ? 4 + frame_len(c->buf) : CONN_BUF_MIN;
    if (want < CONN_BUF_MIN) {
        want = CONN_BUF_MIN;
    }
    if (c->len == 0 && c->cap > CONN_BUF_MIN) {
        want = CONN_BUF_MIN; /* a long frame is gone: give its memory back */
    } else if (want <= c->cap && c->len < c->cap) {
        return 1;
    }
    uint8_t *b = realloc(c->buf, want);
    if (b == NULL) {
        return 0;
    }
    c->buf = b;
    c->cap = want;
    return 1;
}

/* Reads c until it has nothing more or max_reads reads (0: no limit); 0 when c must go (the
 * peer hung up, an error, a frame over GW_FRAME_MAX). */
static int read_conn(gw_inbox_t *in, gw_inbox_conn_t *c, gw_frame_fn fn, void *arg,
                     size_t max_reads)
{
    for (size_t i = 0; max_reads == 0 || i < max_reads; i++) {
        if (!make_room(c)) {
            return 0;
        }
        size_t room = c->cap - c->len;
        ssize_t n = read(c->fd, c->buf + c->len, room);
        if (n < 0) {
            return errno == EAGAIN || errno == EINTR;
        }
        if (n == 0) {
            return 0;
        }
        c->len += (size_t)n;
        if (!deliver(c, fn, arg)) {
            in->refused++;
            gw_log_warn("msg=\"closed a connection to an inbox: frame too long\" path=%s",
                        in->path);
            return 0;
        }
        if ((size_t)n < room) {
            return 1; /* the socket had less than the room: nothing more waits */
        }
    }
    return 1;
}

void gw_inbox_drain(gw_inbox_t *in, gw_frame_fn fn, void *arg, size_t max_reads)
{
    struct epoll_event evs[DRAIN_EVENTS];
    int n = epoll_wait(in->ep, evs, DRAIN_EVENTS, 0);
    for (int i = 0; i < n; i++) {
        uint64_t tag = evs[i].data.u64;
        if (tag == TAG_LISTENER) {
            accept_peers(in);
            continue;
        }
        size_t slot = (size_t)(tag - 1);
        gw_inbox_conn_t *c = slot < in->cap ? in->conns[slot] : NULL;
        if (c != NULL && !read_conn(in, c, fn, arg, max_reads)) {
            drop_conn(in, slot);
        }
    }
}

void gw_inbox_close(gw_inbox_t *in)
{
    for (size_t i = 0; i < in->cap; i++) {
        if (in->conns[i] != NULL) {
            conn_free(in->conns[i]);
        }
    }
    free(in->conns);
    in->conns = NULL;
    in->nconns = in->cap = 0;
    if (in->lfd >= 0) {
        close(in->lfd);
    }
    if (in->ep >= 0) {
        close(in->ep);
    }
    in->lfd = in->ep = -1;
}
