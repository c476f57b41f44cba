/* htable.h: the one chained hash table of mcpgw, intrusive: an entry embeds a gw_hnode_t and
 * is found again with GW_CONTAINER_OF. The table owns only its bucket array; entries are the
 * caller's. Buckets are a power of two and double when there are as many entries as buckets.
 * Hashes are the caller's (usually gw_hash of the key, common/hash.h), kept in the node so that
 * growing never hashes again and a lookup compares keys only on a hash match. */
#ifndef MCPGW_COMMON_HTABLE_H
#define MCPGW_COMMON_HTABLE_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define GW_CONTAINER_OF(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

/* Buckets of a table's first allocation. */
#define GW_HTABLE_MIN 16

typedef struct gw_hnode {
    struct gw_hnode *next;
    uint64_t hash;
} gw_hnode_t;

typedef struct gw_htable {
    gw_hnode_t **buckets;
    size_t nbuckets; /* 0 or a power of two */
    size_t n;        /* entries */
} gw_htable_t;

/* Does the entry of node hold key (len bytes)? */
typedef int (*gw_hkey_eq_t)(const gw_hnode_t *node, const void *key, size_t len);

void gw_htable_init(gw_htable_t *t);
/* Frees the bucket array (not the entries). */
void gw_htable_fini(gw_htable_t *t);
/* The entry with this hash whose key eq says is key, or NULL. */
gw_hnode_t *gw_htable_find(const gw_htable_t *t, uint64_t hash, const void *key, size_t len,
                           gw_hkey_eq_t eq);
/* Adds node under hash (the caller made sure its key is not there yet). GW_ENOMEM only when the
 * table has no buckets and none could be had; a failed growth keeps the entry in the old ones. */
gw_err_t gw_htable_insert(gw_htable_t *t, gw_hnode_t *node, uint64_t hash);
/* Takes node out of the table; it must be in it. */
void gw_htable_remove(gw_htable_t *t, gw_hnode_t *node);
/* Iteration in no particular order: start with *pos = 0 and node = NULL; each call returns
 * the entry after node, or NULL at the end. The returned entry may be removed before the next
 * call only if the caller fetched that next entry first. */
gw_hnode_t *gw_htable_next(const gw_htable_t *t, const gw_hnode_t *node, size_t *pos);

#endif
