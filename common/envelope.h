/* envelope.h: the one message type between mcpgw processes, msgpack-encoded and versioned.
 * Decoding is zero-copy: every string of a decoded envelope points into the message buffer. */
#ifndef MCPGW_COMMON_ENVELOPE_H
#define MCPGW_COMMON_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define GW_ENV_VERSION 3
#define GW_ENV_MAX_HEADERS 16

typedef enum gw_env_kind {
    GW_ENV_CALL = 1,    /* a client's JSON-RPC message for the receiver to handle */
    GW_ENV_HEAD = 2,    /* reply start: status, flags (GW_ENV_F_SSE), headers */
    GW_ENV_CHUNK = 3,   /* one JSON-RPC message of the reply (an SSE event, or the JSON body) */
    GW_ENV_END = 4,     /* the reply is complete; status != 0 on HEAD-less failure */
    GW_ENV_CONTROL = 5, /* an internal operation named by method ("catalog", "routes", ...) */
} gw_env_kind_t;

/* HEAD: the reply is an event stream; CHUNKs are events. Without it the single CHUNK is the
 * whole application/json body. */
#define GW_ENV_F_SSE 0x01u
/* CALL/CONTROL: the sender expects a stream of replies that stays open (subscriptions). */
#define GW_ENV_F_STREAM 0x02u
/* HEAD: this message is the whole reply: its body is the JSON body, no CHUNK or END follows.
 * One message instead of three is what makes a JSON answer cheap (each nng message costs
 * thread hand-offs on both sides). */
#define GW_ENV_F_FINAL 0x04u
/* CALL/CONTROL: fire and forget; the receiver sends no reply (broadcast notifications). */
#define GW_ENV_F_NOREPLY 0x08u
/* END: the client cancelled the call (notifications/cancelled); the receiver ends the client's
 * response without a JSON-RPC response, and nothing more comes for this correlation id. */
#define GW_ENV_F_CANCELLED 0x10u
/* CALL: from a 2026-07-28 client (docs/design-2026-07-28.md §2). No session: the caller is in the
 * auth-subject and auth-issuer-tag headers (absent when anonymous), proto is GW_PROTO_2026_07_28,
 * caps are the bits of _meta's clientCapabilities, and a "log-level" header carries _meta's
 * logLevel when it has one. The body is the client's, _meta included. Every result relayed back
 * must be modern-shaped (resultType, and ttlMs/cacheScope where cacheable). */
#define GW_ENV_F_MODERN 0x20u
/* CHUNK/HEAD (worker → router): the result is an input_required whose requestState the router
 * seals (part D of the design; reserved). */
#define GW_ENV_F_INPUT_REQUIRED 0x40u
/* CALL (router → worker): a retry resuming a parked call (part D; reserved). */
#define GW_ENV_F_RESUME 0x80u

/* corr of a worker's own call for a 2026-07-28 listen (worker/listen.c: resources/subscribe on
 * the caller's pooled session), answered to the broker: this bit and the listen's serial, so
 * that the broker learns the subscription is in place (broker/listen.c). */
#define GW_LISTEN_CORR_FLAG (UINT64_C(1) << 63)

typedef struct gw_str {
    const char *ptr; /* not NUL-terminated */
    size_t len;
} gw_str_t;

#define GW_STR(lit) ((gw_str_t){(lit), sizeof(lit) - 1})
#define GW_STR_NULL ((gw_str_t){NULL, 0})

typedef struct gw_env_header {
    gw_str_t name;
    gw_str_t value;
} gw_env_header_t;

typedef struct gw_envelope {
    uint8_t kind;        /* gw_env_kind_t */
    uint64_t corr;       /* the sender's correlation id, echoed on every reply */
    int64_t deadline_ms; /* absolute gw_clock_ms(); 0 for none */
    gw_str_t session;    /* gateway session uuid text, or empty */
    gw_str_t method;     /* JSON-RPC method or control operation */
    gw_str_t rpc_id;     /* the raw JSON of the JSON-RPC id, or empty */
    gw_str_t request_id; /* x-request-id that follows the request across processes */
    gw_str_t origin;     /* the sender's inbox name ("router-0"): where replies go */
    uint32_t status;     /* HTTP status on HEAD/END */
    uint32_t flags;      /* GW_ENV_F_* */
    uint8_t proto;       /* gw_proto_t of the client session */
    uint8_t caps;        /* GW_CAP_* of the client session */
    uint16_t view;       /* CALL: the caller's policy view (common/policy.h: 0 when no rule
                            matched, rule + 1), by which the broker filters lists */
    size_t nheaders;
    gw_env_header_t headers[GW_ENV_MAX_HEADERS];
    gw_str_t body;
} gw_envelope_t;

/* Called by gw_env_encode with successive pieces of the encoding; returns 0 on success. */
typedef int (*gw_env_write_fn)(void *data, const char *buf, size_t len);

/* Encodes e through write (e.g. appending to an nng_msg or a gw_buf_t). */
gw_err_t gw_env_encode(const gw_envelope_t *e, gw_env_write_fn write, void *data);
/* Decodes one envelope from data; strings in *out point into data, which must outlive it.
 * GW_EPARSE for anything malformed, GW_EPROTO for another version, GW_ETOOBIG for more than
 * GW_ENV_MAX_HEADERS headers. */
gw_err_t gw_env_decode(const void *data, size_t len, gw_envelope_t *out);

/* Returns 1 when s equals the NUL-terminated lit. */
int gw_str_eq(gw_str_t s, const char *lit);

#endif
