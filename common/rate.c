/* rate.c: the shared table of GCRA buckets (the generic cell rate algorithm: each bucket holds
 * one "theoretical arrival time", TAT) and the take operation, lock-free across processes.
 *
 * A bucket is one 64-bit word: a 16-bit tag of its key's hash and its TAT in microseconds since
 * the table's origin (48 bits: 8.9 years). A key may live in the GROUP slots of one cache line
 * its hash picks; the tag tells its bucket from the others there. A bucket whose TAT has passed
 * is exactly a fresh one, so it is claimed by the first key that needs a slot: claiming and
 * charging are one compare-and-swap of the whole word, and a key never waits on another. */
#include <config.h> /* autoconf's, not common/config.h */

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <openssl/rand.h>

#include "common/clock.h"
#include "common/hash.h"
#include "common/rate.h"
#include "common/shm.h"

#define RATE_MAGIC 0x6d637274u /* "mcrt" */
#define RATE_VERSION 1
#define TAT_BITS 48
#define TAT_MAX ((UINT64_C(1) << TAT_BITS) - 1)
#define OVERFLOW_SHARE 64 /* one overflow bucket per this many slots */
#define OVERFLOW_MIN 8u

/* The file's first 64 bytes (the slots that follow stay on cache lines). */
typedef struct shm_header {
    uint32_t magic;
    uint32_t version;
    uint32_t nslots;
    uint32_t noverflow;
    uint64_t seed;     /* folded into every key's hash: callers cannot aim at one cache line */
    int64_t origin_us; /* gw_clock_us() when the broker made the table */
    uint8_t pad[32];
} shm_header_t;

_Static_assert(sizeof(shm_header_t) == 64, "the slots start on a cache line");

struct gw_rate_table {
    shm_header_t *hdr;
    uint64_t *slots; /* nslots, then noverflow (whose tag is always 0) */
    uint64_t *overflow;
    uint64_t mask;  /* nslots - 1 */
    uint64_t omask; /* noverflow - 1 */
    size_t len;
};

static unsigned overflow_of(unsigned nslots)
{
    unsigned n = nslots / OVERFLOW_SHARE;
    return n < OVERFLOW_MIN ? OVERFLOW_MIN : n;
}

static size_t file_size(unsigned nslots, unsigned noverflow)
{
    return sizeof(shm_header_t) + ((size_t)nslots + noverflow) * sizeof(uint64_t);
}

static void bind_table(gw_rate_table_t *t, void *p, size_t len)
{
    t->hdr = p;
    t->slots = (uint64_t *)(t->hdr + 1);
    t->overflow = t->slots + t->hdr->nslots;
    t->mask = t->hdr->nslots - 1;
    t->omask = t->hdr->noverflow - 1;
    t->len = len;
}

gw_err_t gw_rate_create(const char *path, unsigned slots, gw_rate_table_t **out)
{
    unsigned n = GW_RATE_SLOTS_MIN;
    while (n < slots && n < GW_RATE_SLOTS_MAX) {
        n <<= 1;
    }
    uint64_t seed;
    if (RAND_bytes((unsigned char *)&seed, sizeof(seed)) != 1) {
        return GW_EIO;
    }
    gw_rate_table_t *t = calloc(1, sizeof(*t));
    if (t == NULL) {
        return GW_ENOMEM;
    }
    size_t len = file_size(n, overflow_of(n));
    void *p = NULL;
    gw_err_t err = gw_shm_create(path, len, &p);
    if (err != GW_OK) {
        free(t);
        return err;
    }
    shm_header_t *h = p;
    h->version = RATE_VERSION;
    h->nslots = n;
    h->noverflow = overflow_of(n);
    h->seed = seed;
    h->origin_us = gw_clock_us();
    __atomic_store_n(&h->magic, RATE_MAGIC, __ATOMIC_RELEASE);
    bind_table(t, p, len);
    *out = t;
    return GW_OK;
}

static int power_of_two(uint32_t n)
{
    return n != 0 && (n & (n - 1)) == 0;
}

gw_err_t gw_rate_attach(const char *path, gw_rate_table_t **out)
{
    void *p = NULL;
    size_t len = 0;
    gw_err_t err = gw_shm_map(path, sizeof(shm_header_t), &p, &len);
    if (err != GW_OK) {
        return err;
    }
    const shm_header_t *h = p;
    if (__atomic_load_n(&h->magic, __ATOMIC_ACQUIRE) != RATE_MAGIC || h->version != RATE_VERSION ||
        !power_of_two(h->nslots) || !power_of_two(h->noverflow) || h->nslots < GW_RATE_SLOTS_MIN ||
        h->nslots > GW_RATE_SLOTS_MAX || len < file_size(h->nslots, h->noverflow)) {
        munmap(p, len);
        return GW_EPROTO;
    }
    gw_rate_table_t *t = calloc(1, sizeof(*t));
    if (t == NULL) {
        munmap(p, len);
        return GW_ENOMEM;
    }
    bind_table(t, p, len);
    *out = t;
    return GW_OK;
}

void gw_rate_destroy(gw_rate_table_t *t)
{
    if (t != NULL) {
        munmap(t->hdr, t->len);
        free(t);
    }
}

unsigned gw_rate_slots(const gw_rate_table_t *t)
{
    return t->hdr->nslots;
}

unsigned gw_rate_overflow_slots(const gw_rate_table_t *t)
{
    return t->hdr->noverflow;
}

int64_t gw_rate_now(const gw_rate_table_t *t)
{
    return gw_clock_us() - t->hdr->origin_us;
}

/* ---- limits ---- */

gw_rate_spec_t gw_rate_spec_make(unsigned requests, unsigned period_s, unsigned burst)
{
    gw_rate_spec_t s = {0, 0};
    if (requests == 0) {
        return s;
    }
    if (period_s == 0) {
        period_s = 1;
    }
    if (burst == 0) {
        burst = gw_rate_default_burst(requests, period_s);
    }
    s.interval_us = (uint64_t)period_s * 1000000u / requests;
    if (s.interval_us == 0) {
        s.interval_us = 1; /* over 1,000,000/s: the config refuses it, the table would round */
    }
    s.tau_us = s.interval_us * burst;
    return s;
}

/* ---- the take ---- */

/* murmur3's 64-bit finalizer: FNV-1a's high bits alone mix poorly. */
static uint64_t mix64(uint64_t h)
{
    h ^= h >> 33;
    h *= UINT64_C(0xff51afd7ed558ccd);
    h ^= h >> 33;
    h *= UINT64_C(0xc4ceb9fe1a85ec53);
    h ^= h >> 33;
    return h;
}

static uint64_t key_hash(const gw_rate_table_t *t, const void *key, size_t len)
{
    uint64_t seed = t->hdr->seed;
    return mix64(gw_hash_more(gw_hash_more(GW_HASH_INIT, &seed, sizeof(seed)), key, len));
}

#define WORD(tag, tat) (((uint64_t)(tag) << TAT_BITS) | (tat))
#define TAG_OF(w) ((uint16_t)((w) >> TAT_BITS))
#define TAT_OF(w) ((w)&TAT_MAX)

/* One GCRA step on the word at *slot (read as w): charged and stored as tag when allowed. 1 when
 * decided (res filled), 0 when another process changed the word first (read it again). */
static int step(uint64_t *slot, uint64_t w, uint16_t tag, const gw_rate_spec_t *spec, uint64_t now,
                gw_rate_result_t *res)
{
    uint64_t tat = TAG_OF(w) == tag && TAT_OF(w) > now ? TAT_OF(w) : now;
    uint64_t next = tat + spec->interval_us;
    if (next - now > spec->tau_us) {
        res->allowed = 0;
        res->retry_after_us = next - now - spec->tau_us;
        return 1;
    }
    if (next > TAT_MAX) {
        next = TAT_MAX;
    }
    if (__atomic_compare_exchange_n(slot, &w, WORD(tag, next), 0, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE)) {
        res->allowed = 1;
        return 1;
    }
    return 0;
}

gw_rate_result_t gw_rate_take(gw_rate_table_t *t, const void *key, size_t len,
                              const gw_rate_spec_t *spec, int64_t now_signed)
{
    gw_rate_result_t res = {.allowed = 1};
    if (spec->interval_us == 0) {
        return res;
    }
    uint64_t now = now_signed < 0 ? 0 : (uint64_t)now_signed;
    if (now > TAT_MAX - spec->tau_us - spec->interval_us) {
        now = TAT_MAX - spec->tau_us - spec->interval_us; /* a table 8.9 years old */
    }
    uint64_t h = key_hash(t, key, len);
    uint16_t tag = (uint16_t)(h >> TAT_BITS);
    uint64_t *group = t->slots + ((h & t->mask) & ~(uint64_t)(GW_RATE_GROUP - 1));
    /* Every failed compare-and-swap is another request's success: lock-free, never a wait. */
    for (;;) {
        /* The key's own bucket anywhere in the group first (a live one elsewhere must not be
         * passed over for a stale slot, or the key would start afresh); else the first stale
         * slot, the same one for every process that looks, so two first requests of a key
         * race for one slot and the loser finds the winner's bucket. */
        uint64_t *mine = NULL, *stale = NULL;
        uint64_t wm = 0, ws = 0;
        for (unsigned i = 0; i < GW_RATE_GROUP && mine == NULL; i++) {
            uint64_t w = __atomic_load_n(&group[i], __ATOMIC_ACQUIRE);
            if (TAG_OF(w) == tag) {
                mine = &group[i];
                wm = w;
            } else if (stale == NULL && TAT_OF(w) <= now) {
                stale = &group[i];
                ws = w;
            }
        }
        if (mine != NULL) {
            if (step(mine, wm, tag, spec, now, &res)) {
                return res;
            }
        } else if (stale != NULL) {
            if (step(stale, ws, tag, spec, now, &res)) {
                return res;
            }
        } else {
            break; /* eight live buckets of other keys */
        }
    }
    res.overflow = 1;
    uint64_t *o = t->overflow + ((h >> 16) & t->omask);
    for (;;) {
        uint64_t w = __atomic_load_n(o, __ATOMIC_ACQUIRE);
        if (step(o, w, 0, spec, now, &res)) {
            return res;
        }
    }
}

uint64_t gw_rate_retry_after_s(const gw_rate_result_t *res)
{
    if (res->allowed) {
        return 0;
    }
    uint64_t s = (res->retry_after_us + 999999) / 1000000;
    return s < 1 ? 1 : s;
}
