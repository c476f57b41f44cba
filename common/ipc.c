/* ipc.c: raw REQ/REP nng sockets carrying msgpack envelopes: the control socket (common/ipc.h). */
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

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>

#include "common/ipc.h"
#include "common/log.h"
#include "common/mailbox.h"

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
    if (outlen <= IPC_SCHEME_LEN) {
        return GW_ETOOBIG;
    }
    memcpy(out, IPC_SCHEME, IPC_SCHEME_LEN);
    return gw_mailbox_path(out + IPC_SCHEME_LEN, outlen - IPC_SCHEME_LEN, rundir, name);
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
