/* rate.h: per-caller rate limits shared by every router process: a fixed-size table of GCRA
 * buckets in one shared-memory file (the broker creates it in the runtime directory, routers map
 * it), one atomic 64-bit word per bucket advanced by compare-and-swap: no lock, no syscall and no
 * hop to another process per request. Pure: the caller passes the time. */
#ifndef MCPGW_COMMON_RATE_H
#define MCPGW_COMMON_RATE_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define GW_RATE_SLOTS_MIN 64u
#define GW_RATE_SLOTS_MAX (1u << 24) /* 128 MiB of buckets */
#define GW_RATE_GROUP 8u             /* the slots a key may live in: one 64-byte cache line */

/* A limit: requests per period_s seconds (1: N/s, 60: N/m), and the burst a caller that was
 * quiet may send at once. Made by gw_rate_spec_make; zero interval_us means no limit. */
typedef struct gw_rate_spec {
    uint64_t interval_us; /* the emission interval: one request per interval_us on average */
    uint64_t tau_us;      /* burst * interval_us: how far ahead of now a bucket may run */
} gw_rate_spec_t;

/* The spec of requests per period_s with burst (0: the default, requests per second rounded up,
 * at least 1). requests 0 gives the spec of no limit. */
gw_rate_spec_t gw_rate_spec_make(unsigned requests, unsigned period_s, unsigned burst);

/* The default burst of requests per period_s: requests per second rounded up, at least 1
 * (inline: the config loader uses it without the table). */
static inline unsigned gw_rate_default_burst(unsigned requests, unsigned period_s)
{
    unsigned p = period_s == 0 ? 1 : period_s;
    unsigned per_s = requests / p + (requests % p != 0);
    return per_s < 1 ? 1 : per_s;
}

typedef struct gw_rate_table gw_rate_table_t;

/* The broker: creates (or empties) the file at path with at least slots buckets (rounded up to
 * a power of two within GW_RATE_SLOTS_MIN..MAX) and maps it. Its time origin is now. */
gw_err_t gw_rate_create(const char *path, unsigned slots, gw_rate_table_t **out);
/* A router: maps the file the broker made (GW_ENOTFOUND when missing, GW_EPROTO when it is not
 * a table of this version). */
gw_err_t gw_rate_attach(const char *path, gw_rate_table_t **out);
/* Unmaps t (NULL is fine); the file stays. */
void gw_rate_destroy(gw_rate_table_t *t);
/* The buckets of t, and of its overflow part. */
unsigned gw_rate_slots(const gw_rate_table_t *t);
unsigned gw_rate_overflow_slots(const gw_rate_table_t *t);

/* Microseconds since t's time origin on CLOCK_MONOTONIC (host-wide: the same in every process);
 * what gw_rate_take expects as now. */
int64_t gw_rate_now(const gw_rate_table_t *t);

typedef struct gw_rate_result {
    int allowed;
    /* the key found no bucket of its own (its slots held live buckets of other keys): it was
     * counted in an overflow bucket it shares with other keys of the same hash */
    int overflow;
    uint64_t retry_after_us; /* denied: when the same request would be allowed */
} gw_rate_result_t;

/* Takes one request of the caller named by the key bytes under spec at now (gw_rate_now, or a
 * simulated time in tests; it must not go backwards by much). Any thread of any process mapping
 * the table may call it at once. A spec of no limit is always allowed and touches nothing. */
gw_rate_result_t gw_rate_take(gw_rate_table_t *t, const void *key, size_t len,
                              const gw_rate_spec_t *spec, int64_t now);

/* Retry-After in whole seconds, rounded up (at least 1 for a denied request). */
uint64_t gw_rate_retry_after_s(const gw_rate_result_t *res);

#endif
