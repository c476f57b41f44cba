/* auth_cache.c: the router's verified bearer tokens, keyed by the token's SHA-256 and kept until
 * the token expires: a session's repeated requests verify one signature. Bounded: a fixed table
 * of slots where a newer token takes the place of an older one with the same slot. */
#include <config.h> /* autoconf's, not common/config.h */

#include <stdlib.h>
#include <string.h>

#include "router/router.h"

#define SLOTS 4096 /* a power of two */

struct rtr_auth_cache {
    rtr_auth_entry_t slots[SLOTS];
};

gw_err_t rtr_auth_cache_create(rtr_auth_cache_t **out)
{
    *out = calloc(1, sizeof(**out));
    return *out != NULL ? GW_OK : GW_ENOMEM;
}

void rtr_auth_cache_destroy(rtr_auth_cache_t *c)
{
    free(c);
}

static rtr_auth_entry_t *slot_of(rtr_auth_cache_t *c, const uint8_t hash[32])
{
    uint32_t i = (uint32_t)hash[0] | (uint32_t)hash[1] << 8 | (uint32_t)hash[2] << 16;
    return &c->slots[i & (SLOTS - 1)];
}

const rtr_auth_entry_t *rtr_auth_cache_find(rtr_auth_cache_t *c, const uint8_t hash[32],
                                            int64_t now)
{
    rtr_auth_entry_t *e = slot_of(c, hash);
    if (e->exp == 0 || memcmp(e->hash, hash, sizeof(e->hash)) != 0) {
        return NULL;
    }
    if (now >= e->exp) { /* expired: the token is verified again, and refused */
        memset(e, 0, sizeof(*e));
        return NULL;
    }
    return e;
}

void rtr_auth_cache_clear(rtr_auth_cache_t *c)
{
    memset(c->slots, 0, sizeof(c->slots));
}

const rtr_auth_entry_t *rtr_auth_cache_put(rtr_auth_cache_t *c, const rtr_auth_entry_t *in)
{
    rtr_auth_entry_t *e = slot_of(c, in->hash);
    *e = *in;
    return e;
}
