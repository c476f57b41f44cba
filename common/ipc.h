/* ipc.h: nng sockets between mcpgw processes: raw REQ (callers) and raw REP (servers) carrying
 * gw_envelope_t, so one request can have a stream of replies matched by our correlation ids. */
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

/* "ipc://<rundir>/<name>.ipc"; GW_ETOOBIG when it would not fit a unix socket path. */
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

/* Makes fd (an eventfd the caller owns and reads) readable each time a pipe of s goes away, so
 * a loop learns of a dead peer without an nng thread touching its state. */
gw_err_t gw_ipc_notify_pipe_loss(nng_socket s, int fd);

/* An inbox: a PULL socket listening on url. Every message sent to a process (requests and the
 * replies to its own requests) arrives in its inbox; envelope.origin names the sender's inbox. */
gw_err_t gw_ipc_inbox(nng_socket *s, const char *url);

/* An outbox: a PUSH socket dialing a peer's inbox, with a batch and a queue in front of it.
 * Replies travel this way, never back through a raw REP: nng's raw REP silently drops replies
 * once 64 wait for one pipe, while PUSH pushes back and the queue holds the rest, in order.
 * What a loop turn sends to one peer travels as one nng message (a batch of frames: 4 bytes of
 * big-endian length, then an envelope), because each nng message costs thread hand-offs on both
 * sides; gw_outbox_flush at the end of the turn sends it. */
/* Told of each pipe an outbox gains (added 1) or loses (added 0), on an nng thread. */
typedef void (*gw_outbox_pipe_fn)(void *arg, int added);

typedef struct gw_outbox {
    char name[64]; /* the peer's inbox name ("router-0", "worker-alpha", "broker") */
    nng_socket sock;
    nng_dialer dialer;
    char url[GW_IPC_URL_MAX];
    gw_outbox_pipe_fn on_pipe; /* may be NULL */
    void *on_pipe_arg;
    atomic_uint pipe_id;       /* the connected pipe's id, 0 while there is none (nng threads) */
    atomic_llong lonely_since; /* gw_clock_ms() when it was last left without a pipe */
    atomic_ullong redials;     /* dialers replaced by gw_outbox_redial_tick */
    nng_msg *batch;            /* the frames of this loop turn, not yet handed on */
    nng_msg **queue;           /* ring of batches nng could not take yet */
    size_t head;
    size_t count;
    size_t cap;
    size_t max_queued;
} gw_outbox_t;

#define GW_IPC_BATCH_MAX (64u << 10) /* a batch is closed once it would grow past this */

/* Dials <rundir>/<name>.ipc without blocking (nng reconnects by itself); on_pipe (may be NULL)
 * hears of every pipe from the first one on. */
gw_err_t gw_outbox_open(gw_outbox_t *o, const char *rundir, const char *name, size_t max_queued,
                        gw_outbox_pipe_fn on_pipe, void *arg);
/* nng 1.5.2's dialer can stop redialing for good when its peer dies in the middle of the
 * handshake (a process killed while a restarted peer connects to it): the outbox then never
 * reaches any later process on that path. Seen here: a router that never again reached a worker
 * restarted after a SIGKILL, its calls timing out. An outbox left without a pipe for
 * GW_IPC_REDIAL_MS gets a fresh dialer (the peer may simply be down: redialing a unix socket
 * costs one refused connect). Call it from every timer tick with gw_clock_ms(). */
#define GW_IPC_REDIAL_MS 1000
void gw_outbox_redial_tick(gw_outbox_t *o, int64_t now_ms);
void gw_outbox_close(gw_outbox_t *o);
/* Adds e to this turn's batch. GW_ETOOBIG (e dropped) when max_queued batches wait already: the
 * peer is gone or stuck, and its requests fail by their deadlines. */
gw_err_t gw_outbox_send(gw_outbox_t *o, const gw_envelope_t *e);
/* Closes the batch and hands queued batches to nng until it pushes back. Call at the end of
 * every loop turn, and when the send fd polls readable. */
void gw_outbox_flush(gw_outbox_t *o);
/* Tries the queue; 1 while batches still wait for nng (the peer reads slowly). */
int gw_outbox_backlogged(gw_outbox_t *o);
/* Readable while nng can take a message (NNG_OPT_SENDFD); poll it only while count > 0. */
int gw_outbox_send_fd(const gw_outbox_t *o);

/* Called for each envelope of an inbox message; frame is its encoded bytes (valid during the
 * call, like e's strings). */
typedef void (*gw_frame_fn)(void *arg, const gw_envelope_t *e, gw_str_t frame);
/* Hands every envelope waiting in inbox s to fn (at most max_messages inbox messages; 0: until
 * none waits). Frames that do not decode are logged and skipped. */
void gw_ipc_drain_inbox(nng_socket s, gw_frame_fn fn, void *arg, size_t max_messages);

/* The outboxes a process replies through, opened on first use by the peer's inbox name. */
#define GW_OUTBOXES_MAX 320

typedef struct gw_outboxes {
    char rundir[96];
    size_t max_queued;
    gw_outbox_t *v[GW_OUTBOXES_MAX];
    size_t n;
} gw_outboxes_t;

void gw_outboxes_init(gw_outboxes_t *set, const char *rundir, size_t max_queued);
void gw_outboxes_fini(gw_outboxes_t *set);
/* The outbox to the inbox called name, opened if need be; NULL for a name that is not one of
 * mcpgw's own inboxes ("broker", "router-<n>", "worker-<server>": a hostile origin never makes a
 * socket), when the set is full, or when it cannot be opened. */
gw_outbox_t *gw_outboxes_get(gw_outboxes_t *set, gw_str_t name);
/* gw_outbox_flush on every outbox: the end of a loop turn. */
void gw_outboxes_flush(gw_outboxes_t *set);
/* gw_outbox_redial_tick on every outbox. */
void gw_outboxes_redial_tick(gw_outboxes_t *set, int64_t now_ms);

/* Receives one inbox message (a batch of frames) without blocking: GW_EAGAIN when none waits.
 * The caller frees *msg after reading its frames. */
gw_err_t gw_ipc_recv_frames(nng_socket s, nng_msg **msg);
/* Decodes the frame at *off and moves *off past it: GW_ENOTFOUND after the last frame,
 * GW_EPARSE for a frame that does not decode (a broken length ends the message). e's strings
 * and *frame (the frame's envelope bytes; may be NULL) point into msg. */
gw_err_t gw_ipc_next_frame(nng_msg *msg, size_t *off, gw_envelope_t *e, gw_str_t *frame);

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
