/* sessmap.h: the upstream session map, from a gateway session key to the entry a worker embeds
 * in its upstream session, kept in the common hash table (common/htable.h). Pure: no I/O, no
 * worker state. */
#ifndef MCPGW_WORKER_SESSMAP_H
#define MCPGW_WORKER_SESSMAP_H

#include <stddef.h>

#include "common/err.h"
#include "common/htable.h"

#define WRK_SESSMAP_MIN GW_HTABLE_MIN /* buckets of the first table */

/* Embedded in what the map holds; key is borrowed from the holder for as long as it is in. */
typedef struct wrk_sessmap_entry {
    gw_hnode_t node; /* in the table, hashed by key */
    const char *key;
    size_t keylen;
} wrk_sessmap_entry_t;

/* n: the entries in the map; nbuckets: 0 before the first insert, then a power of two. */
typedef gw_htable_t wrk_sessmap_t;

/* Makes an empty map (allocates nothing). */
void wrk_sessmap_init(wrk_sessmap_t *m);
/* Frees the table; the entries still in it are the caller's (remove them first). */
void wrk_sessmap_fini(wrk_sessmap_t *m);
/* The entry for key (n bytes), or NULL. */
wrk_sessmap_entry_t *wrk_sessmap_find(const wrk_sessmap_t *m, const char *key, size_t n);
/* Inserts e (e->key, e->keylen set; not in the map yet), doubling the table when it is full:
 * GW_ENOMEM only when there is no table at all (a full one keeps working with longer chains). */
gw_err_t wrk_sessmap_insert(wrk_sessmap_t *m, wrk_sessmap_entry_t *e);
/* Takes e (which is in the map) out. */
void wrk_sessmap_remove(wrk_sessmap_t *m, wrk_sessmap_entry_t *e);
/* Some entry of the map, or NULL when it is empty. */
wrk_sessmap_entry_t *wrk_sessmap_any(const wrk_sessmap_t *m);

#endif
