/* sessmap.c: the upstream session map, gateway session key -> upstream session (entries embedded
 * in the sessions, in a gw_htable_t; see sessmap.h). */
#include "config.h"

#include <string.h>

#include "common/hash.h"
#include "common/htable.h"
#include "worker/sessmap.h"

static int entry_has_key(const gw_hnode_t *node, const void *key, size_t n)
{
    const wrk_sessmap_entry_t *e = GW_CONTAINER_OF(node, wrk_sessmap_entry_t, node);

    return e->keylen == n && memcmp(e->key, key, n) == 0;
}

void wrk_sessmap_init(wrk_sessmap_t *m)
{
    gw_htable_init(m);
}

void wrk_sessmap_fini(wrk_sessmap_t *m)
{
    gw_htable_fini(m);
}

wrk_sessmap_entry_t *wrk_sessmap_find(const wrk_sessmap_t *m, const char *key, size_t n)
{
    gw_hnode_t *node = gw_htable_find(m, gw_hash(key, n), key, n, entry_has_key);

    return node != NULL ? GW_CONTAINER_OF(node, wrk_sessmap_entry_t, node) : NULL;
}

gw_err_t wrk_sessmap_insert(wrk_sessmap_t *m, wrk_sessmap_entry_t *e)
{
    return gw_htable_insert(m, &e->node, gw_hash(e->key, e->keylen));
}

void wrk_sessmap_remove(wrk_sessmap_t *m, wrk_sessmap_entry_t *e)
{
    gw_htable_remove(m, &e->node);
}

wrk_sessmap_entry_t *wrk_sessmap_any(const wrk_sessmap_t *m)
{
    size_t pos = 0;
    gw_hnode_t *node = gw_htable_next(m, NULL, &pos);

    return node != NULL ? GW_CONTAINER_OF(node, wrk_sessmap_entry_t, node) : NULL;
}
