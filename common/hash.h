/* hash.h: FNV-1a, the one string hash of mcpgw (hash tables keyed by session ids and names, the
 * catalog's list fingerprints). Not for anything an attacker must not predict. */
#ifndef MCPGW_COMMON_HASH_H
#define MCPGW_COMMON_HASH_H

#include <stddef.h>
#include <stdint.h>

#define GW_HASH_INIT UINT64_C(14695981039346656037)

/* Folds n bytes at p into h (start with GW_HASH_INIT). */
static inline uint64_t gw_hash_more(uint64_t h, const void *p, size_t n)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) {
        h = (h ^ s[i]) * UINT64_C(1099511628211);
    }
    return h;
}

static inline uint64_t gw_hash(const void *p, size_t n)
{
    return gw_hash_more(GW_HASH_INIT, p, n);
}

#endif
