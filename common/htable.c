/* htable.c: the chained hash table (htable.h). */
#include <config.h>

#include <assert.h>
#include <stdlib.h>

#include "common/htable.h"

void gw_htable_init(gw_htable_t *t)
{
    t->buckets = NULL;
    t->nbuckets = 0;
    t->n = 0;
}

void gw_htable_fini(gw_htable_t *t)
{
    free(t->buckets);
    gw_htable_init(t);
}

gw_hnode_t *gw_htable_find(const gw_htable_t *t, uint64_t hash, const void *key, size_t len,
                           gw_hkey_eq_t eq)
{
    if (t->nbuckets == 0) {
        return NULL;
    }
    for (gw_hnode_t *n = t->buckets[hash & (t->nbuckets - 1)]; n != NULL; n = n->next) {
        if (n->hash == hash && eq(n, key, len)) {
            return n;
        }
    }
    return NULL;
}

static gw_err_t grow(gw_htable_t *t)
{
    size_t nb = t->nbuckets ? t->nbuckets * 2 : GW_HTABLE_MIN;
    gw_hnode_t **b = calloc(nb, sizeof(*b));
    if (b == NULL) {
        return GW_ENOMEM;
    }
    for (size_t i = 0; i < t->nbuckets; i++) {
        gw_hnode_t *n = t->buckets[i];
        while (n != NULL) {
            gw_hnode_t *next = n->next;
            gw_hnode_t **slot = &b[n->hash & (nb - 1)];
            n->next = *slot;
            *slot = n;
            n = next;
        }
    }
    free(t->buckets);
    t->buckets = b;
    t->nbuckets = nb;
    return GW_OK;
}

gw_err_t gw_htable_insert(gw_htable_t *t, gw_hnode_t *node, uint64_t hash)
{
    if (t->n >= t->nbuckets && grow(t) != GW_OK && t->nbuckets == 0) {
        return GW_ENOMEM;
    }
    gw_hnode_t **slot = &t->buckets[hash & (t->nbuckets - 1)];
    node->hash = hash;
    node->next = *slot;
    *slot = node;
    t->n++;
    return GW_OK;
}

void gw_htable_remove(gw_htable_t *t, gw_hnode_t *node)
{
    assert(t->nbuckets > 0);
    gw_hnode_t **p = &t->buckets[node->hash & (t->nbuckets - 1)];
    while (*p != NULL && *p != node) {
        p = &(*p)->next;
    }
    assert(*p == node);
    if (*p == node) {
        *p = node->next;
        node->next = NULL;
        t->n--;
    }
}

gw_hnode_t *gw_htable_next(const gw_htable_t *t, const gw_hnode_t *node, size_t *pos)
{
    if (node != NULL && node->next != NULL) {
        return node->next;
    }
    size_t i = node == NULL ? *pos : *pos + 1;
    for (; i < t->nbuckets; i++) {
        if (t->buckets[i] != NULL) {
            *pos = i;
            return t->buckets[i];
        }
    }
    *pos = t->nbuckets;
    return NULL;
}
