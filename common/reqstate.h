/* reqstate.h: the requestState the gateway hands a 2026-07-28 client with an input_required
 * result (docs/design-2026-07-28.md §5.2): sealed with a key ring derived from the session keys
 * (so a requestState never opens as a session token, nor the reverse), bound to the caller, the
 * request's method and target, its client capabilities and a short expiry. Any router opens it
 * without a hop. Two kinds: W names a call parked in a worker (a new-era client of an old
 * backend), P wraps a modern backend's own requestState byte for byte. */
#ifndef MCPGW_COMMON_REQSTATE_H
#define MCPGW_COMMON_REQSTATE_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/token.h"

#define GW_REQSTATE_PREFIX "mcpgw1."
#define GW_REQSTATE_SERVER_MAX 64 /* a backend's config name */
#define GW_REQSTATE_HASH_LEN 16
/* The largest backend requestState a P state wraps (limits.max_request_state may set less). */
#define GW_REQSTATE_INNER_MAX ((size_t)1 << 20)

typedef enum gw_reqstate_kind {
    GW_RS_WAIT = 'W', /* a call parked in worker_run's slot, waiting for the client's input */
    GW_RS_PASS = 'P', /* a modern backend's own state, inner */
} gw_reqstate_kind_t;

typedef enum gw_reqstate_method {
    GW_RS_TOOLS_CALL = 1,
    GW_RS_PROMPTS_GET = 2,
    GW_RS_RESOURCES_READ = 3,
} gw_reqstate_method_t;

typedef struct gw_reqstate {
    uint8_t kind;    /* gw_reqstate_kind_t */
    uint8_t round;   /* 1, 2, ...: the worker accepts only the round it waits for */
    uint8_t method;  /* gw_reqstate_method_t */
    uint8_t caps;    /* GW_CAP_* of the request answered input_required: the retry needs them */
    int64_t expires; /* unix seconds */
    uint8_t issuer_tag[GW_ISSUER_TAG_LEN];      /* the caller's; zeros when anonymous */
    uint8_t subject_hash[GW_REQSTATE_HASH_LEN]; /* gw_reqstate_hash(subject); zeros: anonymous */
    uint8_t target_hash[GW_REQSTATE_HASH_LEN];  /* gw_reqstate_hash(client-visible name/URI) */
    char server[GW_REQSTATE_SERVER_MAX + 1];    /* the backend's config name */
    uint64_t worker_run;                        /* W: the worker's random run id */
    uint32_t slot;                              /* W: the parked call in that worker */
    uint32_t slot_nonce;                        /* W: its random guard */
    const uint8_t *inner;                       /* P: the backend's bytes (open: in scratch) */
    size_t inner_len;
} gw_reqstate_t;

/* The ring requestStates are sealed with, derived from the session key ring. */
gw_err_t gw_reqstate_keys(const gw_keyring_t *session_keys, gw_keyring_t **out);

/* SHA-256 of s[0..n), cut: how subjects and targets are bound; an empty s hashes to zeros (the
 * anonymous caller). */
void gw_reqstate_hash(const char *s, size_t n, uint8_t out[GW_REQSTATE_HASH_LEN]);

/* Appends the text of s (GW_REQSTATE_PREFIX and base64url, JSON-safe) to out. GW_EINVAL for a
 * kind, method or server that cannot be sealed, GW_ETOOBIG for inner past the maximum. */
gw_err_t gw_reqstate_seal(const gw_keyring_t *rk, const gw_reqstate_t *s, gw_buf_t *out);

/* Opens text[0..len): GW_EPARSE when it is not one of ours, GW_EAUTH when tampered or sealed
 * under a key no longer held, GW_EEXPIRED when now >= expires. scratch holds the plaintext that
 * out->inner points into (reset first); it must outlive out. */
gw_err_t gw_reqstate_open(const gw_keyring_t *rk, const char *text, size_t len, int64_t now,
                          gw_buf_t *scratch, gw_reqstate_t *out);

/* Whether an opened state belongs to this retry: the same caller, method and target, and
 * capabilities that include the sealed ones. */
int gw_reqstate_binds(const gw_reqstate_t *s, const uint8_t issuer_tag[GW_ISSUER_TAG_LEN],
                      const char *subject, size_t subject_len, uint8_t method, const char *target,
                      size_t target_len, uint8_t caps);

#endif
