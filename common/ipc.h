/* ipc.h: the nng sockets of the control socket (mcpgwctl <-> broker): raw REQ (the command) and
 * raw REP (the broker) carrying gw_envelope_t, so one command can have a stream of replies; and
 * the guard nng 1.5.2's listener needs. Envelopes between mcpgw's own processes travel through
 * inboxes and outboxes instead (common/mailbox.h). */
#ifndef MCPGW_COMMON_IPC_H
#define MCPGW_COMMON_IPC_H

#include <nng/nng.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "common/envelope.h"
#include "common/err.h"

#define GW_IPC_URL_MAX 128
#define GW_IPC_RECV_MAX (16u << 20) /* NNG_OPT_RECVMAXSZ: larger messages are dropped */
#define GW_IPC_ROUTE_MAX 64         /* bytes of nng backtrace a reply needs */

/* "ipc://" + gw_mailbox_path: GW_ETOOBIG when it would not fit a unix socket path. */
gw_err_t gw_ipc_url(char *out, size_t outlen, const char *rundir, const char *name);

/* Opens a raw REP socket listening on url (the server side: broker, worker). A stale socket file
 * from a dead process is removed first; GW_EBUSY when a live process listens on it (left alone:
 * binding over it would make nng 1.5.2 stop accepting on the live one). */
gw_err_t gw_ipc_listen(nng_socket *s, const char *url);
/* The same with mode (0001..0777) as the socket file's permission bits, set by nng right after
 * bind(2) (the control socket). */
gw_err_t gw_ipc_listen_mode(nng_socket *s, const char *url, unsigned mode);
/* Opens a raw REQ socket dialing url without blocking (nng reconnects by itself). */
gw_err_t gw_ipc_dial(nng_socket *s, const char *url);
/* The same, but waits for the first connection (a command-line client): GW_EUNAVAIL when nobody
 * listens or there is no socket file, GW_EPERM when the socket or a directory on the way is
 * closed to this user; nothing is left open on failure. */
gw_err_t gw_ipc_dial_wait(nng_socket *s, const char *url);

/* The backtrace of a received request: what its replies must carry to find their way home. */
typedef struct gw_ipc_route {
    uint8_t hdr[GW_IPC_ROUTE_MAX];
    size_t len;
} gw_ipc_route_t;

/* Sends e as a new request on a raw REQ socket, without blocking. On failure nothing was sent. */
gw_err_t gw_ipc_send(nng_socket s, const gw_envelope_t *e);
/* Sends e as a reply along route on a raw REP socket, without blocking. */
gw_err_t gw_ipc_reply(nng_socket s, const gw_ipc_route_t *route, const gw_envelope_t *e);

/* Receives one message without blocking: GW_EAGAIN when none is waiting. On GW_OK *msg is the
 * caller's (free with nng_msg_free after use; e's strings point into it), route is filled when
 * non-NULL (REP side). A message that does not decode is freed and GW_EPARSE returned. */
gw_err_t gw_ipc_recv(nng_socket s, nng_msg **msg, gw_envelope_t *e, gw_ipc_route_t *route);

/* The fd that polls readable when a message can be received (NNG_OPT_RECVFD). */
int gw_ipc_recv_fd(nng_socket s);

/* A listener guard. nng 1.5.2 stops accepting on a listener for good when a peer hangs up in the
 * middle of its handshake (nng issue 1518): a process killed right after its connect(2) is
 * enough. The listener still greets new peers, but never hands their pipes to the socket again:
 * no restarted peer can reach this inbox any more. The guard probes the listener now and then
 * like a peer would (connect, the greeting, a compatible answer, so the probe never causes what it
 * looks for) and watches the socket add the pipe (it takes the socket's NNG_PIPE_EV_ADD_POST
 * notification); when no pipe comes, it closes that listener and binds a fresh one on the path.
 * Closing drops the pipes the old listener made (peers redial at once; what they had in flight
 * is answered as after a peer's restart), but it is the only way to free the peers that
 * connected since: their handshake completed, so they send into a pipe the socket never reads. */
typedef struct gw_ipc_guard {
    nng_socket sock;
    char url[GW_IPC_URL_MAX];
    unsigned mode; /* the socket file's permission bits for a new listener (0: nng's default) */
    int fd;        /* the probe under way, or -1 */
    size_t got;
    int answered; /* the probe sent its half of the handshake */
    unsigned adds_before;
    atomic_uint adds;        /* pipes the socket added (nng's thread) */
    atomic_uint listener_id; /* the listener that made the last of them */
    unsigned char greeting[8];
    int64_t next_ms;     /* when the next probe starts */
    int64_t deadline_ms; /* when the probe under way has waited long enough */
    unsigned relistens;
} gw_ipc_guard_t;

/* Guards the listener of s on url (an "ipc://" path). */
void gw_ipc_guard_init(gw_ipc_guard_t *g, nng_socket s, const char *url, unsigned mode);
/* Moves the probe on (now: gw_clock_ms()); call it every loop turn or timer tick. Returns when
 * it wants to be called again (ms, same clock). */
int64_t gw_ipc_guard_tick(gw_ipc_guard_t *g, int64_t now_ms);
void gw_ipc_guard_fini(gw_ipc_guard_t *g);

#endif
