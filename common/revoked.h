/* revoked.h: the set of revoked gateway sessions a router checks every request against. Session
 * tokens are sealed and stateless, so a DELETE (or an idle expiry) must be remembered until the
 * token would have expired anyway; each entry is 16 bytes of uuid and its token's expiry, kept
 * in one open-addressing table (linear probing), and dropped once past that expiry. */
#ifndef MCPGW_COMMON_REVOKED_H
#define MCPGW_COMMON_REVOKED_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

typedef struct gw_revoked_entry {
    uint8_t uuid[16];
    int64_t expires; /* wall-clock seconds; 0 marks an empty slot */
} gw_revoked_entry_t;

typedef struct gw_revoked {
    gw_revoked_entry_t *slots;
    size_t cap; /* a power of two, or 0 */
    size_t count;
} gw_revoked_t;

void gw_revoked_init(gw_revoked_t *r);
void gw_revoked_fini(gw_revoked_t *r);
/* Adds (or refreshes) uuid until expires. GW_ENOMEM when the table cannot grow. */
gw_err_t gw_revoked_add(gw_revoked_t *r, const uint8_t uuid[16], int64_t expires);
int gw_revoked_has(const gw_revoked_t *r, const uint8_t uuid[16]);
/* Drops the entries whose expiry is at or before now; returns how many. */
size_t gw_revoked_purge(gw_revoked_t *r, int64_t now);
void gw_revoked_clear(gw_revoked_t *r);
/* Parses one "<uuid text> <expires>" entry of the broker's routes messages (docs/ipc.md). */
gw_err_t gw_revoked_parse_entry(const char *s, uint8_t uuid[16], int64_t *expires);

#endif
