/* mrtr.h: the table of a worker's parked calls (MRTR for a 2026-07-28 caller of a 2025 backend,
 * docs/design-2026-07-28.md 5.3): slots with a free list, each with a random nonce, its round,
 * its caller as received, its expiry and the backend's server requests the client is asked to
 * answer. Pure: no call, no transfer (worker/mrtr_call.c does those), so it is unit-tested. */
#ifndef MCPGW_WORKER_MRTR_H
#define MCPGW_WORKER_MRTR_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/envelope.h"
#include "common/err.h"

#define WRK_WAITS_PER_CALLER 16 /* parked calls of one caller (issuer tag and subject) */
#define WRK_WAIT_REQS_MAX 16    /* server requests one parked call holds */
#define WRK_WAIT_ROUND_MAX 255  /* the sealed state's round is one byte */
#define WRK_WAIT_METHOD_MAX 32
#define WRK_WAIT_CALLER_MAX 1024 /* bytes of auth-subject kept to compare */

typedef enum wrk_wait_state {
    WRK_WAIT_FREE = 0,
    WRK_WAIT_COLLECTING, /* a router call is attached; its interim result goes out next turn */
    WRK_WAIT_PARKED,     /* the interim result went out; waiting for the retry */
    WRK_WAIT_ATTACHED,   /* resumed with every answer in: the call runs on (mrtr_call.c frees it) */
} wrk_wait_state_t;

/* One request of the backend (sampling, elicitation, roots) the client is asked to answer. */
typedef struct wrk_wait_req {
    uint64_t n; /* its gateway id is mcpgw:<server>:<n> (common/gwid.h): the inputRequests key */
    int asked;  /* sent in the last interim result */
    char method[WRK_WAIT_METHOD_MAX];
    gw_buf_t id;     /* the backend's own id (raw JSON) */
    gw_buf_t params; /* its raw params, or empty */
} wrk_wait_req_t;

typedef struct wrk_wait {
    uint32_t slot;
    uint32_t nonce;
    uint8_t round; /* of the last interim result; 0 before the first */
    wrk_wait_state_t state;
    int64_t expires_ms; /* while PARKED */
    void *owner;        /* the call (worker/mrtr_call.c) */
    gw_buf_t tag;       /* auth-issuer-tag as received (empty: anonymous) */
    gw_buf_t subject;   /* auth-subject as received */
    wrk_wait_req_t reqs[WRK_WAIT_REQS_MAX];
    size_t nreqs;
} wrk_wait_t;

typedef struct wrk_mrtr {
    wrk_wait_t **v; /* by slot; NULL: never used or freed */
    uint32_t *free; /* slots freed, reused last in first out */
    uint32_t nfree;
    uint32_t hwm; /* slots below it were handed out once */
    uint32_t max; /* limits.max_waiting_calls */
    uint32_t nused;
    uint64_t run; /* the worker's run id, random at start: a restart's slots never match */
    int due;      /* some wait is COLLECTING: the loop sends its interim result */
} wrk_mrtr_t;

typedef enum wrk_wait_err {
    WRK_WAIT_OK = 0,
    WRK_WAIT_E_FULL,   /* limits.max_waiting_calls */
    WRK_WAIT_E_CALLER, /* WRK_WAITS_PER_CALLER */
    WRK_WAIT_E_NOMEM,
    WRK_WAIT_E_HEADERS, /* wait-* headers missing or malformed */
    WRK_WAIT_E_RUN,     /* another run of the worker */
    WRK_WAIT_E_NO_SLOT, /* no such parked call (expired, used, never) */
    WRK_WAIT_E_NONCE,
    WRK_WAIT_E_ROUND,
    WRK_WAIT_E_NOT_PARKED, /* the call is not waiting for a retry now */
    WRK_WAIT_E_OTHER_CALLER,
} wrk_wait_err_t;

/* Prepares t for at most max parked calls of run id run; GW_ENOMEM. */
gw_err_t wrk_mrtr_init(wrk_mrtr_t *t, uint32_t max, uint64_t run);
/* Frees every wait (their owners are not told) and the table. */
void wrk_mrtr_fini(wrk_mrtr_t *t);
/* A new wait for the caller (tag, subject as received) with nonce, COLLECTING, round 0; NULL
 * with *err when a bound is reached or out of memory. */
wrk_wait_t *wrk_mrtr_alloc(wrk_mrtr_t *t, gw_str_t tag, gw_str_t subject, uint32_t nonce,
                           wrk_wait_err_t *err);
/* Frees w's slot (and its requests). */
void wrk_mrtr_free(wrk_mrtr_t *t, wrk_wait_t *w);
/* The wait a resume's headers (wait-run, wait-slot, wait-nonce, wait-round) and caller name, when
 * it is PARKED in that round for that caller; else NULL with *err. */
wrk_wait_t *wrk_mrtr_lookup(wrk_mrtr_t *t, const gw_env_header_t *h, size_t nh, gw_str_t tag,
                            gw_str_t subject, wrk_wait_err_t *err);
/* The PARKED wait that expires first at or before now, or NULL; *next (may be NULL) gets the
 * earliest expiry still ahead (INT64_MAX: none). */
wrk_wait_t *wrk_mrtr_expired(const wrk_mrtr_t *t, int64_t now, int64_t *next);
/* Adds a request (unasked); NULL when w holds WRK_WAIT_REQS_MAX already or out of memory. */
wrk_wait_req_t *wrk_wait_add_req(wrk_wait_t *w, uint64_t n, const char *method, const char *id,
                                 size_t id_len, const char *params, size_t params_len);
/* Removes request i (the later ones move down). */
void wrk_wait_remove_req(wrk_wait_t *w, size_t i);
/* Moves w to PARKED in the next round until expires_ms, every request asked; GW_ETOOBIG past
 * WRK_WAIT_ROUND_MAX. */
gw_err_t wrk_wait_park(wrk_wait_t *w, int64_t expires_ms);
/* The words for err in log lines. */
const char *wrk_wait_strerror(wrk_wait_err_t err);

#endif
