/* ipc.c: raw REQ/REP nng sockets carrying msgpack envelopes between mcpgw processes. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <stdlib.h>

#include <nng/nng.h>
#include <nng/protocol/pipeline0/pull.h>
#include <nng/protocol/pipeline0/push.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>

#include "common/clock.h"
#include "common/ipc.h"
#include "common/names.h"
#include "common/log.h"

#define IPC_SCHEME "ipc://"
#define IPC_SCHEME_LEN (sizeof(IPC_SCHEME) - 1)
/* Messages queued per socket before a send says GW_EAGAIN (nng's default is 0: unbuffered). */
#define IPC_QUEUE_MSGS 128
#define IPC_RECONNECT_MIN_MS 10
#define IPC_RECONNECT_MAX_MS 500
#define STALE_PROBE_WAIT_MS 2000 /* a live listener greets within this */
/* A raw REQ's request id word: nng's REP looks for the word with the high bit set to know
 * where the backtrace ends. */
#define IPC_REQUEST_ID_BIT 0x80000000u

static gw_err_t from_nng(int rv)
{
    switch (rv) {
    case 0:
        return GW_OK;
    case NNG_EAGAIN:
        return GW_EAGAIN;
    case NNG_ENOMEM:
        return GW_ENOMEM;
    case NNG_ECLOSED:
        return GW_ECLOSED;
    case NNG_ETIMEDOUT:
        return GW_ETIMEDOUT;
    case NNG_EMSGSIZE:
        return GW_ETOOBIG;
    case NNG_EINVAL:
    case NNG_EADDRINVAL:
    case NNG_ENOTSUP:
    case NNG_EBADTYPE:
    case NNG_ESTATE:
        return GW_EINVAL;
    case NNG_ENOENT:
        return GW_ENOTFOUND;
    case NNG_EPROTO:
        return GW_EPROTO;
    case NNG_EPERM: /* EACCES and EPERM from the system */
        return GW_EPERM;
    case NNG_ECONNREFUSED:
    case NNG_ECONNRESET:
    case NNG_ECONNSHUT:
    case NNG_ECONNABORTED:
    case NNG_EUNREACHABLE:
        return GW_EUNAVAIL;
    default:
        return GW_EIO; /* NNG_ESYSERR, NNG_EADDRINUSE and the rest */
    }
}

gw_err_t gw_ipc_url(char *out, size_t outlen, const char *rundir, const char *name)
{
    size_t path_len = strlen(rundir) + 1 + strlen(name) + sizeof(".ipc") - 1;
    if (path_len >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
        return GW_ETOOBIG;
    }
    int n = snprintf(out, outlen, IPC_SCHEME "%s/%s.ipc", rundir, name);
    if (n < 0 || (size_t)n >= outlen) {
        return GW_ETOOBIG;
    }
    return GW_OK;
}

/* Whether a live process accepts on the socket file at path: 0 when nobody does (a file left by
 * a dead process is removed, so that nng can bind), 1 when someone does.
 * nng 1.5.2 stops accepting on a listener for good when a peer hangs up in the middle of its
 * handshake (nng issue 1518), and nng's own check before binding over an existing file does just
 * that; so mcpgw never lets nng bind over a live socket, and this check completes the handshake
 * (the listener's 8-byte greeting, then a compatible peer's) before it hangs up, which is an
 * ordinary peer leaving. Bounded: a startup path. */
static int socket_in_use(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct stat st;

    if (strlen(path) >= sizeof(sa.sun_path) || lstat(path, &st) != 0 || !S_ISSOCK(st.st_mode)) {
        return 0;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return 0;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        if (errno == ECONNREFUSED) {
            (void)unlink(path);
        }
        close(fd);
        return 0;
    }
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    unsigned char greeting[8]; /* 0 'S' 'P' 0, the protocol (16 bits, big-endian), 0 0 */
    size_t got = 0;
    while (got < sizeof(greeting) && poll(&pfd, 1, STALE_PROBE_WAIT_MS) == 1) {
        ssize_t n = read(fd, greeting + got, sizeof(greeting) - got);
        if (n <= 0) {
            break;
        }
        got += (size_t)n;
    }
    if (got == sizeof(greeting)) {
        greeting[5] ^= 1; /* the peer protocol: REP 0x31 -> REQ 0x30, PULL 0x51 -> PUSH 0x50 */
        ssize_t n = write(fd, greeting, sizeof(greeting));
        (void)n;
    }
    close(fd);
    return 1;
}

static int set_socket_options(nng_socket s)
{
    int rv = nng_socket_set_size(s, NNG_OPT_RECVMAXSZ, GW_IPC_RECV_MAX);
    if (rv == 0) {
        rv = nng_socket_set_int(s, NNG_OPT_SENDBUF, IPC_QUEUE_MSGS);
    }
    if (rv == 0) {
        rv = nng_socket_set_int(s, NNG_OPT_RECVBUF, IPC_QUEUE_MSGS);
    }
    return rv;
}

/* Opens a socket with open_fn and listens on url (a stale socket file removed first; GW_EBUSY
 * when a live process listens there); a mode other than 0 becomes the socket file's permission
 * bits. */
static gw_err_t open_listening(nng_socket *s, int (*open_fn)(nng_socket *), const char *url,
                               unsigned mode)
{
    nng_listener l;
    if (strncmp(url, IPC_SCHEME, IPC_SCHEME_LEN) == 0 && socket_in_use(url + IPC_SCHEME_LEN)) {
        return GW_EBUSY;
    }
    int rv = open_fn(s);
    if (rv != 0) {
        return from_nng(rv);
    }
    rv = set_socket_options(*s);
    if (rv == 0) {
        rv = nng_listener_create(&l, *s, url);
    }
    if (rv == 0 && mode != 0) {
        rv = nng_listener_set_int(l, NNG_OPT_IPC_PERMISSIONS, (int)mode);
    }
    if (rv == 0) {
        rv = nng_listener_start(l, 0);
    }
    if (rv != 0) {
        nng_close(*s);
        *s = (nng_socket)NNG_SOCKET_INITIALIZER;
    }
    return from_nng(rv);
}

/* A dialer of s on url, started without blocking unless wait (then the first attempt's result
 * is returned); nng reconnects by itself. */
static int start_dialer(nng_socket s, const char *url, int wait, nng_dialer *out)
{
    nng_dialer d;
    int rv = nng_dialer_create(&d, s, url);
    if (rv == 0) {
        rv = nng_dialer_set_ms(d, NNG_OPT_RECONNMINT, IPC_RECONNECT_MIN_MS);
    }
    if (rv == 0) {
        rv = nng_dialer_set_ms(d, NNG_OPT_RECONNMAXT, IPC_RECONNECT_MAX_MS);
    }
    if (rv == 0) {
        rv = nng_dialer_start(d, wait ? 0 : NNG_FLAG_NONBLOCK);
    }
    if (rv == 0 && out != NULL) {
        *out = d;
    }
    return rv;
}

/* Opens a socket with open_fn and dials url (start_dialer); before it dials, setup (may be NULL)
 * sees the socket (pipe notifications that must not miss the first pipe). */
static gw_err_t open_dialing(nng_socket *s, int (*open_fn)(nng_socket *), const char *url, int wait,
                             int (*setup)(nng_socket, void *), void *arg, nng_dialer *d)
{
    int rv = open_fn(s);
    if (rv != 0) {
        return from_nng(rv);
    }
    rv = set_socket_options(*s);
    if (rv == 0 && setup != NULL) {
        rv = setup(*s, arg);
    }
    if (rv == 0) {
        rv = start_dialer(*s, url, wait, d);
    }
    if (rv != 0) {
        nng_close(*s);
        *s = (nng_socket)NNG_SOCKET_INITIALIZER;
    }
    return from_nng(rv);
}

gw_err_t gw_ipc_listen(nng_socket *s, const char *url)
{
    return open_listening(s, nng_rep0_open_raw, url, 0);
}

gw_err_t gw_ipc_listen_mode(nng_socket *s, const char *url, unsigned mode)
{
    return open_listening(s, nng_rep0_open_raw, url, mode);
}

/* Raw REQ never re-sends (that is the cooked socket's NNG_OPT_REQ_RESENDTIME), so a tools/call
 * is never executed twice by the transport. */
gw_err_t gw_ipc_dial(nng_socket *s, const char *url)
{
    return open_dialing(s, nng_req0_open_raw, url, 0, NULL, NULL, NULL);
}

gw_err_t gw_ipc_dial_wait(nng_socket *s, const char *url)
{
    return open_dialing(s, nng_req0_open_raw, url, 1, NULL, NULL, NULL);
}

static int append_to_msg(void *data, const char *buf, size_t len)
{
    return nng_msg_append(data, buf, len);
}

/* An upper bound of the encoded size, so the message grows once. */
static size_t encoded_size_bound(const gw_envelope_t *e)
{
    size_t n = 96 + e->session.len + e->method.len + e->rpc_id.len + e->request_id.len +
               e->origin.len + e->body.len;
    for (size_t i = 0; i < e->nheaders && i < GW_ENV_MAX_HEADERS; i++) {
        n += 11 + e->headers[i].name.len + e->headers[i].value.len;
    }
    return n;
}

/* Encodes e after the header already in m; m is freed on failure. */
static gw_err_t encode_into(nng_msg *m, const gw_envelope_t *e)
{
    gw_err_t err;
    int rv = nng_msg_reserve(m, encoded_size_bound(e));

    if (rv != 0) {
        nng_msg_free(m);
        return from_nng(rv);
    }
    err = gw_env_encode(e, append_to_msg, m);
    if (err != GW_OK) {
        nng_msg_free(m);
    }
    return err;
}

/* Encodes e after the header already in m and sends it; m is freed on failure. */
static gw_err_t send_envelope(nng_socket s, nng_msg *m, const gw_envelope_t *e)
{
    gw_err_t err = encode_into(m, e);
    if (err != GW_OK) {
        return err;
    }
    int rv = nng_sendmsg(s, m, NNG_FLAG_NONBLOCK);
    if (rv != 0) {
        nng_msg_free(m); /* still ours: nng takes a message only when the send succeeds */
        return from_nng(rv);
    }
    return GW_OK;
}

gw_err_t gw_ipc_send(nng_socket s, const gw_envelope_t *e)
{
    nng_msg *m;
    int rv = nng_msg_alloc(&m, 0);

    if (rv != 0) {
        return from_nng(rv);
    }
    rv = nng_msg_header_append_u32(m, IPC_REQUEST_ID_BIT | (uint32_t)e->corr);
    if (rv != 0) {
        nng_msg_free(m);
        return from_nng(rv);
    }
    return send_envelope(s, m, e);
}

gw_err_t gw_ipc_reply(nng_socket s, const gw_ipc_route_t *route, const gw_envelope_t *e)
{
    nng_msg *m;
    int rv;

    if (route->len == 0 || route->len > GW_IPC_ROUTE_MAX) {
        return GW_EINVAL;
    }
    rv = nng_msg_alloc(&m, 0);
    if (rv != 0) {
        return from_nng(rv);
    }
    rv = nng_msg_header_append(m, route->hdr, route->len);
    if (rv != 0) {
        nng_msg_free(m);
        return from_nng(rv);
    }
    return send_envelope(s, m, e);
}

gw_err_t gw_ipc_recv(nng_socket s, nng_msg **msg, gw_envelope_t *e, gw_ipc_route_t *route)
{
    nng_msg *m;
    int rv;

    *msg = NULL;
    rv = nng_recvmsg(s, &m, NNG_FLAG_NONBLOCK);
    if (rv != 0) {
        return from_nng(rv);
    }
    if (gw_env_decode(nng_msg_body(m), nng_msg_len(m), e) != GW_OK) {
        nng_msg_free(m);
        return GW_EPARSE;
    }
    if (route != NULL) {
        size_t hlen = nng_msg_header_len(m);
        if (hlen == 0 || hlen > GW_IPC_ROUTE_MAX) {
            nng_msg_free(m);
            memset(e, 0, sizeof(*e));
            return GW_EPROTO;
        }
        memcpy(route->hdr, nng_msg_header(m), hlen);
        route->len = hlen;
    }
    *msg = m;
    return GW_OK;
}

int gw_ipc_recv_fd(nng_socket s)
{
    int fd;
    if (nng_socket_get_int(s, NNG_OPT_RECVFD, &fd) != 0) {
        return -1;
    }
    return fd;
}

/* Runs on an nng thread: it may only poke the caller's eventfd. */
static void on_pipe_removed(nng_pipe p, nng_pipe_ev ev, void *arg)
{
    uint64_t one = 1;
    ssize_t r = write((int)(intptr_t)arg, &one, sizeof(one));
    (void)r; /* an eventfd only refuses at a counter of 2^64-2, and then it is readable anyway */
}

gw_err_t gw_ipc_notify_pipe_loss(nng_socket s, int fd)
{
    if (fd < 0) {
        return GW_EINVAL;
    }
    return from_nng(
        nng_pipe_notify(s, NNG_PIPE_EV_REM_POST, on_pipe_removed, (void *)(intptr_t)fd));
}

/* ---- inboxes and outboxes ---- */

gw_err_t gw_ipc_inbox(nng_socket *s, const char *url)
{
    return open_listening(s, nng_pull0_open, url, 0);
}

static void on_outbox_pipe(nng_pipe pipe, nng_pipe_ev ev, void *arg)
{
    gw_outbox_t *o = arg;
    unsigned id = nng_pipe_id(pipe);
    int added = ev == NNG_PIPE_EV_ADD_POST;
    if (added) {
        atomic_store(&o->pipe_id, id);
    } else if (atomic_compare_exchange_strong(&o->pipe_id, &id, 0)) {
        atomic_store(&o->lonely_since, gw_clock_ms());
    }
    if (o->on_pipe != NULL) {
        o->on_pipe(o->on_pipe_arg, added);
    }
}

static int watch_outbox_pipes(nng_socket s, void *arg)
{
    int rv = nng_pipe_notify(s, NNG_PIPE_EV_ADD_POST, on_outbox_pipe, arg);
    return rv != 0 ? rv : nng_pipe_notify(s, NNG_PIPE_EV_REM_POST, on_outbox_pipe, arg);
}

gw_err_t gw_outbox_open(gw_outbox_t *o, const char *rundir, const char *name, size_t max_queued,
                        gw_outbox_pipe_fn on_pipe, void *arg)
{
    memset(o, 0, sizeof(*o));
    snprintf(o->name, sizeof(o->name), "%s", name);
    o->max_queued = max_queued;
    o->on_pipe = on_pipe;
    o->on_pipe_arg = arg;
    atomic_init(&o->pipe_id, 0);
    atomic_init(&o->lonely_since, gw_clock_ms());
    atomic_init(&o->redials, 0);
    gw_err_t err = gw_ipc_url(o->url, sizeof(o->url), rundir, name);
    if (err != GW_OK) {
        return err;
    }
    return open_dialing(&o->sock, nng_push0_open, o->url, 0, watch_outbox_pipes, o, &o->dialer);
}

void gw_outbox_redial_tick(gw_outbox_t *o, int64_t now_ms)
{
    if (atomic_load(&o->pipe_id) != 0 ||
        now_ms - atomic_load(&o->lonely_since) < GW_IPC_REDIAL_MS) {
        return;
    }
    atomic_store(&o->lonely_since, now_ms);
    nng_dialer_close(o->dialer);
    int rv = start_dialer(o->sock, o->url, 0, &o->dialer);
    atomic_fetch_add(&o->redials, 1);
    gw_log_debug("msg=\"no pipe to a peer: dialing afresh\" peer=%s rv=%d", o->name, rv);
}

void gw_outbox_close(gw_outbox_t *o)
{
    while (o->count > 0) {
        nng_msg_free(o->queue[o->head]);
        o->head = (o->head + 1) % o->cap;
        o->count--;
    }
    if (o->batch != NULL) {
        nng_msg_free(o->batch);
        o->batch = NULL;
    }
    free(o->queue);
    o->queue = NULL;
    o->cap = 0;
    nng_close(o->sock);
    o->sock = (nng_socket)NNG_SOCKET_INITIALIZER;
}

static gw_err_t enqueue(gw_outbox_t *o, nng_msg *m)
{
    if (o->count == o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 64;
        nng_msg **q = malloc(cap * sizeof(*q));
        if (q == NULL) {
            return GW_ENOMEM;
        }
        for (size_t i = 0; i < o->count; i++) {
            q[i] = o->queue[(o->head + i) % o->cap];
        }
        free(o->queue);
        o->queue = q;
        o->head = 0;
        o->cap = cap;
    }
    o->queue[(o->head + o->count) % o->cap] = m;
    o->count++;
    return GW_OK;
}

/* Hands queued messages to nng, oldest first, until it pushes back. */
static void send_queued(gw_outbox_t *o)
{
    while (o->count > 0) {
        nng_msg *m = o->queue[o->head];
        if (nng_sendmsg(o->sock, m, NNG_FLAG_NONBLOCK) != 0) {
            return; /* still ours; nng says when it can take more (gw_outbox_send_fd) */
        }
        o->head = (o->head + 1) % o->cap;
        o->count--;
    }
}

/* Moves the open batch behind the queued messages. */
static gw_err_t close_batch(gw_outbox_t *o)
{
    if (o->batch == NULL) {
        return GW_OK;
    }
    nng_msg *m = o->batch;
    o->batch = NULL;
    if (o->count >= o->max_queued) {
        nng_msg_free(m);
        return GW_ETOOBIG;
    }
    gw_err_t err = enqueue(o, m);
    if (err != GW_OK) {
        nng_msg_free(m);
    }
    return err;
}

void gw_outbox_flush(gw_outbox_t *o)
{
    if (close_batch(o) != GW_OK) {
        gw_log_warn("msg=\"messages dropped: the peer is gone or stuck\" peer=%s queued=%zu",
                    o->name, o->count);
    }
    send_queued(o);
}

int gw_outbox_backlogged(gw_outbox_t *o)
{
    send_queued(o);
    return o->count > 0;
}

gw_err_t gw_outbox_send(gw_outbox_t *o, const gw_envelope_t *e)
{
    size_t bound = encoded_size_bound(e);
    if (o->batch != NULL && nng_msg_len(o->batch) + bound > GW_IPC_BATCH_MAX) {
        gw_err_t err = close_batch(o);
        if (err != GW_OK) {
            return err;
        }
    }
    if (o->count >= o->max_queued) {
        return GW_ETOOBIG; /* the peer is gone or stuck; its requests fail by their deadlines */
    }
    if (o->batch == NULL) {
        int rv = nng_msg_alloc(&o->batch, 0);
        if (rv != 0) {
            o->batch = NULL;
            return from_nng(rv);
        }
    }
    /* A frame: 4 bytes of length (big-endian), then the envelope. */
    size_t start = nng_msg_len(o->batch);
    if (nng_msg_reserve(o->batch, bound + 4) != 0 || nng_msg_append_u32(o->batch, 0) != 0) {
        return GW_ENOMEM;
    }
    gw_err_t err = gw_env_encode(e, append_to_msg, o->batch);
    if (err != GW_OK) {
        nng_msg_chop(o->batch, nng_msg_len(o->batch) - start);
        return err;
    }
    uint32_t len = (uint32_t)(nng_msg_len(o->batch) - start - 4);
    uint8_t *p = (uint8_t *)nng_msg_body(o->batch) + start;
    p[0] = (uint8_t)(len >> 24);
    p[1] = (uint8_t)(len >> 16);
    p[2] = (uint8_t)(len >> 8);
    p[3] = (uint8_t)len;
    return GW_OK;
}

gw_err_t gw_ipc_recv_frames(nng_socket s, nng_msg **msg)
{
    *msg = NULL;
    return from_nng(nng_recvmsg(s, msg, NNG_FLAG_NONBLOCK));
}

gw_err_t gw_ipc_next_frame(nng_msg *msg, size_t *off, gw_envelope_t *e, gw_str_t *frame)
{
    const uint8_t *p = nng_msg_body(msg);
    size_t len = nng_msg_len(msg);
    if (*off >= len) {
        return GW_ENOTFOUND;
    }
    if (len - *off < 4) {
        *off = len;
        return GW_EPARSE;
    }
    size_t n = ((size_t)p[*off] << 24) | ((size_t)p[*off + 1] << 16) | ((size_t)p[*off + 2] << 8) |
               (size_t)p[*off + 3];
    if (n > len - *off - 4) {
        *off = len;
        return GW_EPARSE;
    }
    const char *f = (const char *)p + *off + 4;
    *off += 4 + n;
    if (frame != NULL) {
        *frame = (gw_str_t){f, n};
    }
    return gw_env_decode(f, n, e) == GW_OK ? GW_OK : GW_EPARSE;
}

int gw_outbox_send_fd(const gw_outbox_t *o)
{
    int fd;
    if (nng_socket_get_int(o->sock, NNG_OPT_SENDFD, &fd) != 0) {
        return -1;
    }
    return fd;
}

/* ---- sets of outboxes ---- */

void gw_outboxes_init(gw_outboxes_t *set, const char *rundir, size_t max_queued)
{
    memset(set, 0, sizeof(*set));
    snprintf(set->rundir, sizeof(set->rundir), "%s", rundir);
    set->max_queued = max_queued;
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
    if (o == NULL || gw_outbox_open(o, set->rundir, n, set->max_queued, NULL, NULL) != GW_OK) {
        gw_log_warn("msg=\"cannot open an outbox\" peer=%s", n);
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

void gw_ipc_drain_inbox(nng_socket s, gw_frame_fn fn, void *arg, size_t max_messages)
{
    for (size_t i = 0; max_messages == 0 || i < max_messages; i++) {
        nng_msg *m = NULL;
        if (gw_ipc_recv_frames(s, &m) != GW_OK) {
            return;
        }
        size_t off = 0;
        gw_envelope_t e;
        gw_str_t frame;
        gw_err_t err;
        while ((err = gw_ipc_next_frame(m, &off, &e, &frame)) != GW_ENOTFOUND) {
            if (err != GW_OK) {
                gw_log_warn("msg=\"dropped an undecodable message\" error=\"%s\"",
                            gw_strerror(err));
                continue;
            }
            fn(arg, &e, frame);
        }
        nng_msg_free(m);
    }
}
