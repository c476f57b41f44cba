/* mailbox.h: how mcpgw processes send each other envelopes: every process that serves or calls
 * has an inbox (a unix stream socket it listens on, <runtime_dir>/<name>.ipc) and writes to its
 * peers through outboxes (one connected unix socket per peer). On the wire an outbox writes
 * frames: 4 bytes of big-endian length, then one msgpack envelope (common/envelope.h).
 *
 * Why not nng here (it still carries mcpgwctl's control socket, common/ipc.h): nng hands every
 * message between its own threads on both sides, which cost ~190 us of CPU per round trip
 * measured alone (tests/bench/floors) against ~17 us for a plain socket, and made the two hops of
 * a tools/call the larger part of the gateway's CPU. Both ends here are the processes' own event
 * loops: a loop turn's frames to one peer leave in one write(2), and a readable inbox is read in
 * the loop that handles it, so no thread is woken for a message. */
#ifndef MCPGW_COMMON_MAILBOX_H
#define MCPGW_COMMON_MAILBOX_H

#include <stddef.h>
#include <stdint.h>

#include "common/envelope.h"
#include "common/err.h"

#define GW_FRAME_MAX (16u << 20) /* a longer frame is refused: the connection is closed */
#define GW_MAILBOX_PATH_MAX 108  /* sizeof(sockaddr_un.sun_path) */

/* "<rundir>/<name>.ipc"; GW_ETOOBIG when it would not fit a unix socket path. */
gw_err_t gw_mailbox_path(char *out, size_t outlen, const char *rundir, const char *name);

/* ---- inbox ---- */

/* Called for each envelope that arrives; frame is its encoded bytes. e's strings and frame are
 * valid during the call only. */
typedef void (*gw_frame_fn)(void *arg, const gw_envelope_t *e, gw_str_t frame);

typedef struct gw_inbox_conn gw_inbox_conn_t;

typedef struct gw_inbox {
    int lfd; /* the listening socket */
    int ep;  /* epoll of lfd and every connection: the one fd a loop watches (gw_inbox_fd) */
    char path[GW_MAILBOX_PATH_MAX];
    gw_inbox_conn_t **conns;
    size_t nconns;
    size_t cap;
    uint64_t refused; /* connections closed for a frame over GW_FRAME_MAX */
} gw_inbox_t;

/* Listens on <rundir>/<name>.ipc. A socket file nobody accepts on (left by a dead process) is
 * removed first; GW_EBUSY when a live process accepts on it (it is left alone). */
gw_err_t gw_inbox_open(gw_inbox_t *in, const char *rundir, const char *name);
/* Readable while a peer connects or a connection has bytes (or hung up). */
int gw_inbox_fd(const gw_inbox_t *in);
/* Accepts waiting peers and hands every complete frame read to fn, reading each ready connection
 * at most max_reads times (0: until it has nothing more). Frames that do not decode are logged and
 * skipped; a connection that sends a frame over GW_FRAME_MAX is closed. fn must not close in. */
void gw_inbox_drain(gw_inbox_t *in, gw_frame_fn fn, void *arg, size_t max_reads);
/* Closes the connections and the listener. The socket file stays (a successor may already own
 * the path; the next gw_inbox_open removes a stale one). */
void gw_inbox_close(gw_inbox_t *in);

/* ---- outbox ---- */

/* Told when the outbox connects to its peer (added 1) and when the connection goes (added 0),
 * on the caller's loop, from gw_outbox_poll, gw_outbox_flush or gw_outbox_redial_tick. */
typedef void (*gw_outbox_pipe_fn)(void *arg, int added);

typedef struct gw_outbox {
    char name[64]; /* the peer's inbox name ("router-0", "worker-alpha", "broker") */
    char path[GW_MAILBOX_PATH_MAX];
    int fd;        /* connected to the peer's inbox, or -1 */
    int ep;        /* epoll of fd: the one fd a loop watches (gw_outbox_fd) */
    int out_armed; /* fd is watched for writability (bytes wait for it) */
    int stalled;   /* the last write left bytes behind (the socket was full, or no peer) */
    gw_outbox_pipe_fn on_pipe; /* may be NULL */
    void *on_pipe_arg;
    uint8_t *buf; /* frames not yet written: [sent, len) */
    size_t sent;
    size_t len;
    size_t cap;
    size_t max_bytes;     /* gw_outbox_send refuses once this many wait */
    int64_t next_dial_ms; /* no dial before this (backoff while the peer is away) */
    unsigned backoff_ms;  /* the wait after the next refused dial */
    uint64_t dropped;     /* frames lost to a connection that went in their middle */
    uint64_t connects;    /* connections made */
} gw_outbox_t;

#define GW_OUTBOX_DIAL_MIN_MS 10
#define GW_OUTBOX_DIAL_MAX_MS 500

/* Opens an outbox to <rundir>/<name>.ipc and dials it without blocking (dialed again while the
 * peer is away, backing off from GW_OUTBOX_DIAL_MIN_MS to GW_OUTBOX_DIAL_MAX_MS). At most
 * max_bytes of frames wait for the peer. on_pipe may be NULL. */
gw_err_t gw_outbox_open(gw_outbox_t *o, const char *rundir, const char *name, size_t max_bytes,
                        gw_outbox_pipe_fn on_pipe, void *arg);
void gw_outbox_close(gw_outbox_t *o);
/* Adds e's frame to what waits for the peer; gw_outbox_flush writes it. GW_ETOOBIG (e dropped)
 * when max_bytes wait already: the peer is gone or stuck, and its requests fail by their
 * deadlines. */
gw_err_t gw_outbox_send(gw_outbox_t *o, const gw_envelope_t *e);
/* Writes what waits (dialing first when the peer is away and its backoff has passed). Call at
 * the end of every loop turn. */
void gw_outbox_flush(gw_outbox_t *o);
/* Readable when the peer hung up or, while bytes wait, when the socket can take more: call
 * gw_outbox_poll then. Watch it all the time: an idle outbox's fd is quiet. */
int gw_outbox_fd(const gw_outbox_t *o);
/* Handles what made gw_outbox_fd readable: a hang-up (on_pipe(0)) or room to write. */
void gw_outbox_poll(gw_outbox_t *o);
/* Dials a peer that is away when its backoff has passed (now: gw_clock_ms()); call it from a
 * timer so that an idle outbox reconnects too. */
void gw_outbox_redial_tick(gw_outbox_t *o, int64_t now_ms);
/* 1 while frames from an earlier flush still wait (the peer reads slowly, or is away), after
 * trying to write them: a caller holding more then keeps them in its own queue. Frames added
 * since the last flush do not count. */
int gw_outbox_backlogged(gw_outbox_t *o);
/* Bytes waiting, without writing. */
static inline size_t gw_outbox_waiting(const gw_outbox_t *o)
{
    return o->len - o->sent;
}

/* ---- the outboxes a process replies through, opened on first use by the peer's name ---- */

#define GW_OUTBOXES_MAX 320

typedef struct gw_outboxes {
    char rundir[96];
    size_t max_bytes;
    gw_outbox_t *v[GW_OUTBOXES_MAX];
    size_t n;
} gw_outboxes_t;

void gw_outboxes_init(gw_outboxes_t *set, const char *rundir, size_t max_bytes);
void gw_outboxes_fini(gw_outboxes_t *set);
/* The outbox to the inbox called name, opened if need be; NULL for a name that is not one of
 * mcpgw's own inboxes ("broker", "router-<n>", "worker-<server>": a hostile origin never makes a
 * socket), when the set is full, or when it cannot be opened. */
gw_outbox_t *gw_outboxes_get(gw_outboxes_t *set, gw_str_t name);
/* gw_outbox_flush on every outbox: the end of a loop turn. */
void gw_outboxes_flush(gw_outboxes_t *set);
/* gw_outbox_redial_tick on every outbox. */
void gw_outboxes_redial_tick(gw_outboxes_t *set, int64_t now_ms);
/* When the next dial is due of an outbox whose frames wait for a peer that is away (a loop's
 * timeout), or INT64_MAX. */
int64_t gw_outboxes_next_dial(const gw_outboxes_t *set);

#endif
