/* streams.h: the broker's record of the clients' GET streams. Per gateway session it keeps who
 * holds the stream now (a router's inbox and that router's correlation id), the id of the last
 * event and a bounded replay buffer, so that a client reconnecting with Last-Event-ID gets what
 * it missed. Pure data: the broker does the sending.
 *
 * Event ids are "<epoch>-<n>": epoch names this broker run (base 36), n counts the session's
 * events from 1. A Last-Event-ID of another run resumes from the oldest event still kept (this
 * run's events are all newer than anything the client saw from an earlier run). */
#ifndef MCPGW_COMMON_STREAMS_H
#define MCPGW_COMMON_STREAMS_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/htable.h"

#define GW_STREAM_HOLDER_MAX 32 /* longest inbox name ("router-63") */
#define GW_EVENT_ID_MAX 40      /* "<epoch>-<n>" with its NUL */

typedef struct gw_stream_event {
    uint64_t n;
    char *json; /* one JSON-RPC message (owned) */
    size_t len;
} gw_stream_event_t;

typedef struct gw_stream {
    char key[40];                      /* the gateway session uuid text */
    char holder[GW_STREAM_HOLDER_MAX]; /* the router inbox holding the stream; "" when none */
    uint64_t holder_corr;
    uint64_t last_n;         /* the id of the newest event */
    gw_stream_event_t *ring; /* the replay buffer, oldest at head */
    size_t head, count;
    size_t bytes;
    gw_hnode_t node; /* in gw_streams_t.table, by key */
} gw_stream_t;

typedef struct gw_streams {
    gw_htable_t table; /* session uuid -> gw_stream_t */
    unsigned replay;   /* events kept per session (0: none) */
    size_t max_bytes;  /* bytes kept per session; the newest event is kept whatever its size */
    char epoch[16];
    uint64_t dropped; /* events pushed out of a full replay buffer */
} gw_streams_t;

gw_err_t gw_streams_init(gw_streams_t *s, unsigned replay, size_t max_bytes, uint64_t epoch);
void gw_streams_fini(gw_streams_t *s);
/* How many sessions have a stream record. */
size_t gw_streams_count(const gw_streams_t *s);
gw_stream_t *gw_streams_find(const gw_streams_t *s, const char *key, size_t len);
/* The session's stream record, made on first use; NULL when out of memory. */
gw_stream_t *gw_streams_get(gw_streams_t *s, const char *key, size_t len);
/* Makes (holder, corr) the stream's holder. *prev gets the previous holder's corr and prev_holder
 * its name ("" when there was none): the caller ends that stream (one GET stream per session:
 * the newest wins, an old one may be a dead connection the client gave up on). */
void gw_stream_hold(gw_stream_t *st, const char *holder, size_t holder_len, uint64_t corr,
                    char prev_holder[GW_STREAM_HOLDER_MAX], uint64_t *prev_corr);
/* Clears the holder when it is (holder, corr); returns 1 when it was. */
int gw_stream_release(gw_stream_t *st, const char *holder, size_t holder_len, uint64_t corr);
/* Clears every stream held by holder (a router that restarted); returns how many. */
size_t gw_streams_release_holder(gw_streams_t *s, const char *holder);
/* Appends an event and writes its id into id. The oldest events go when the buffer is full. */
gw_err_t gw_stream_publish(gw_streams_t *s, gw_stream_t *st, const char *json, size_t len,
                           char id[GW_EVENT_ID_MAX]);
/* Calls fn for every kept event after last_event_id (all of them when it is empty, of another
 * broker run or older than what is kept), oldest first. Returns how many events the client
 * missed for good (were no longer kept). */
typedef void (*gw_stream_replay_fn)(void *arg, const char *id, const char *json, size_t len);
size_t gw_stream_replay(const gw_streams_t *s, const gw_stream_t *st, const char *last_event_id,
                        size_t len, gw_stream_replay_fn fn, void *arg);
/* Forgets the session's stream (DELETE, expiry). */
void gw_streams_drop(gw_streams_t *s, const char *key, size_t len);
/* Calls fn for every stream record. fn must not add or drop records. */
void gw_streams_each(gw_streams_t *s, void (*fn)(void *arg, gw_stream_t *st), void *arg);
/* Formats the id of event n. */
void gw_stream_event_id(const gw_streams_t *s, uint64_t n, char id[GW_EVENT_ID_MAX]);

#endif
