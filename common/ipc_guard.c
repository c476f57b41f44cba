/* ipc_guard.c: the guard of an nng listener against nng 1.5.2's wedge (ipc.h, docs/ipc.md):
 * now and then it connects like a peer, answers the greeting, and watches the socket add the
 * pipe; when none comes, it closes that listener and binds a fresh one on the same path. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <nng/nng.h>

#include "common/ipc.h"
#include "common/log.h"

#define IPC_SCHEME "ipc://"
#define IPC_SCHEME_LEN (sizeof(IPC_SCHEME) - 1)
#define STALE_PROBE_WAIT_MS 2000 /* a live listener greets within this */
#define GUARD_EVERY_MS 5000      /* how often a guard probes its listener */
#define GUARD_AFTER_RELISTEN_MS 10000

static void on_guarded_pipe_added(nng_pipe p, nng_pipe_ev ev, void *arg)
{
    gw_ipc_guard_t *g = arg;
    nng_listener l = nng_pipe_listener(p);
    if (nng_listener_id(l) > 0) {
        atomic_store(&g->listener_id, (unsigned)nng_listener_id(l));
    }
    atomic_fetch_add(&g->adds, 1);
}

void gw_ipc_guard_init(gw_ipc_guard_t *g, nng_socket s, const char *url, unsigned mode)
{
    memset(g, 0, sizeof(*g));
    g->sock = s;
    snprintf(g->url, sizeof(g->url), "%s", url);
    g->mode = mode;
    g->fd = -1;
    atomic_init(&g->adds, 0);
    atomic_init(&g->listener_id, 0);
    nng_pipe_notify(s, NNG_PIPE_EV_ADD_POST, on_guarded_pipe_added, g);
}

void gw_ipc_guard_fini(gw_ipc_guard_t *g)
{
    if (g->url[0] != '\0' && g->fd >= 0) { /* a guard never set up is all zero */
        close(g->fd);
        g->fd = -1;
    }
}

static void guard_relisten(gw_ipc_guard_t *g, const char *why)
{
    const char *path = g->url + IPC_SCHEME_LEN;
    nng_listener l = {.id = atomic_load(&g->listener_id)};
    if (l.id != 0) {
        nng_listener_close(l); /* with the pipes it made, the dead ones included */
    }
    (void)unlink(path);
    int rv = nng_listener_create(&l, g->sock, g->url);
    if (rv == 0 && g->mode != 0) {
        rv = nng_listener_set_int(l, NNG_OPT_IPC_PERMISSIONS, (int)g->mode);
    }
    if (rv == 0) {
        rv = nng_listener_start(l, 0);
    }
    g->relistens++;
    if (rv != 0) {
        gw_log_err("msg=\"cannot listen afresh\" path=%s reason=\"%s\" error=\"%s\"", path, why,
                   nng_strerror(rv));
    } else {
        gw_log_err("msg=\"listener stopped accepting; listening afresh\" path=%s reason=\"%s\" "
                   "times=%u",
                   path, why, g->relistens);
    }
}

int64_t gw_ipc_guard_tick(gw_ipc_guard_t *g, int64_t now_ms)
{
    const char *path = g->url + IPC_SCHEME_LEN;
    if (strncmp(g->url, IPC_SCHEME, IPC_SCHEME_LEN) != 0) {
        return INT64_MAX;
    }
    if (g->fd < 0) {
        if (now_ms < g->next_ms) {
            return g->next_ms;
        }
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        if (strlen(path) >= sizeof(sa.sun_path)) {
            return INT64_MAX;
        }
        memcpy(sa.sun_path, path, strlen(path) + 1);
        g->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (g->fd < 0) {
            g->next_ms = now_ms + GUARD_EVERY_MS;
            return g->next_ms;
        }
        g->got = 0;
        g->answered = 0;
        g->adds_before = atomic_load(&g->adds);
        g->deadline_ms = now_ms + STALE_PROBE_WAIT_MS;
        if (connect(g->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 && errno != EINPROGRESS &&
            errno != EAGAIN) {
            int e = errno;
            close(g->fd);
            g->fd = -1;
            g->next_ms = now_ms + GUARD_AFTER_RELISTEN_MS;
            if (e == ENOENT || e == ECONNREFUSED) { /* the file is gone: nobody can reach us */
                guard_relisten(g, e == ENOENT ? "socket file removed" : "connection refused");
            }
            return g->next_ms;
        }
    }
    while (g->got < sizeof(g->greeting)) {
        ssize_t n = read(g->fd, g->greeting + g->got, sizeof(g->greeting) - g->got);
        if (n <= 0) {
            break;
        }
        g->got += (size_t)n;
    }
    if (g->got == sizeof(g->greeting) && !g->answered) {
        g->greeting[5] ^= 1; /* the peer protocol: REP 0x31 -> REQ 0x30, PULL 0x51 -> PUSH 0x50 */
        g->answered =
            write(g->fd, g->greeting, sizeof(g->greeting)) == (ssize_t)sizeof(g->greeting);
    }
    if (g->answered && atomic_load(&g->adds) != g->adds_before) {
        close(g->fd); /* a pipe was added (this one, or another peer's): the listener works */
        g->fd = -1;
        g->next_ms = now_ms + GUARD_EVERY_MS;
        return g->next_ms;
    }
    if (now_ms >= g->deadline_ms) {
        close(g->fd);
        g->fd = -1;
        g->next_ms = now_ms + GUARD_AFTER_RELISTEN_MS;
        guard_relisten(g, g->answered ? "the socket took no new pipe" : "no greeting");
        return g->next_ms;
    }
    return now_ms + 50; /* the pipe is usually there at the next look */
}
