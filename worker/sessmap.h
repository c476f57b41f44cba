/* sessmap.h: the upstream session map, a chained hash table from a gateway session key to the
 * entry a worker embeds in its upstream session. Pure: no I/O, no worker state. */
#ifndef MCPGW_WORKER_SESSMAP_H
#define MCPGW_WORKER_SESSMAP_H

#include <stddef.h>

#include "common/err.h"

#define WRK_SESSMAP_MIN 64 /* buckets of the first table */

/* Embedded in what the map holds; key is borrowed from the holder for as long as it is in. */
typedef struct wrk_sessmap_entry {
    struct wrk_sessmap_entry *next; /* hash chain */
    const char *key;
    size_t keylen;
} wrk_sessmap_entry_t;

typedef struct wrk_sessmap {
    wrk_sessmap_entry_t **buckets; /* nbuckets, a power of two (0 before the first insert) */
    size_t nbuckets;
    size_t n; /* entries in the map */
} wrk_sessmap_t;

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
/* Some entry of the map (the first of the lowest bucket), or NULL when it is empty. */
wrk_sessmap_entry_t *wrk_sessmap_any(const wrk_sessmap_t *m);

#endif
