/* sessmap.c: the upstream session map, gateway session key -> upstream session (a chained hash
 * table of entries embedded in the sessions; see sessmap.h). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "worker/sessmap.h"

static size_t key_hash(const char *s, size_t n)
{
    return (size_t)gw_hash(s, n);
}

void wrk_sessmap_init(wrk_sessmap_t *m)
{
    memset(m, 0, sizeof(*m));
}

void wrk_sessmap_fini(wrk_sessmap_t *m)
{
    free(m->buckets);
    memset(m, 0, sizeof(*m));
}

wrk_sessmap_entry_t *wrk_sessmap_find(const wrk_sessmap_t *m, const char *key, size_t n)
{
    wrk_sessmap_entry_t *e;

    if (m->nbuckets == 0) {
        return NULL;
    }
    for (e = m->buckets[key_hash(key, n) & (m->nbuckets - 1)]; e != NULL; e = e->next) {
        if (e->keylen == n && memcmp(e->key, key, n) == 0) {
            return e;
        }
    }
    return NULL;
}

static gw_err_t sessmap_grow(wrk_sessmap_t *m)
{
    size_t nb = m->nbuckets ? m->nbuckets * 2 : WRK_SESSMAP_MIN;
    wrk_sessmap_entry_t **b = calloc(nb, sizeof(*b));

    if (b == NULL) {
        return GW_ENOMEM;
    }
    for (size_t i = 0; i < m->nbuckets; i++) {
        wrk_sessmap_entry_t *e = m->buckets[i];
        while (e != NULL) {
            wrk_sessmap_entry_t *next = e->next;
            size_t h = key_hash(e->key, e->keylen) & (nb - 1);
            e->next = b[h];
            b[h] = e;
            e = next;
        }
    }
    free(m->buckets);
    m->buckets = b;
    m->nbuckets = nb;
    return GW_OK;
}

gw_err_t wrk_sessmap_insert(wrk_sessmap_t *m, wrk_sessmap_entry_t *e)
{
    size_t h;

    if (m->n >= m->nbuckets && sessmap_grow(m) != GW_OK && m->nbuckets == 0) {
        return GW_ENOMEM;
    }
    h = key_hash(e->key, e->keylen) & (m->nbuckets - 1);
    e->next = m->buckets[h];
    m->buckets[h] = e;
    m->n++;
    return GW_OK;
}

void wrk_sessmap_remove(wrk_sessmap_t *m, wrk_sessmap_entry_t *e)
{
    wrk_sessmap_entry_t **pp = &m->buckets[key_hash(e->key, e->keylen) & (m->nbuckets - 1)];

    while (*pp != e) {
        pp = &(*pp)->next;
    }
    *pp = e->next;
    e->next = NULL;
    m->n--;
}

wrk_sessmap_entry_t *wrk_sessmap_any(const wrk_sessmap_t *m)
{
    for (size_t i = 0; i < m->nbuckets; i++) {
        if (m->buckets[i] != NULL) {
            return m->buckets[i];
        }
    }
    return NULL;
}
