/* catalog_sets.c: the catalog per client capability set: which of a backend's lists a set sees,
 * the merged view of each active set, their generations, and the routing table's names with
 * the tools and prompts a set does not list. */
#include <config.h> /* autoconf's, not common/config.h */

#include <stdlib.h>
#include <string.h>

#include "broker/catalog.h"
#include "common/hash.h"
#include "common/htable.h"
#include "common/json.h"
#include "common/log.h"

static unsigned popcount3(unsigned s)
{
    return (s & 1u) + ((s >> 1) & 1u) + ((s >> 2) & 1u);
}

const brk_view_t *brk_catalog_view(const brk_catalog_t *cat, unsigned s)
{
    s &= BRK_CAP_SET_MASK;
    return (cat->active & (1u << s)) ? &cat->views[s] : &cat->views[0];
}

unsigned brk_catalog_set_for(const brk_backend_t *b, unsigned s)
{
    unsigned best = 0;
    s &= BRK_CAP_SET_MASK;
    for (unsigned t = 1; t < BRK_CAP_SETS; t++) {
        if ((t & ~s) == 0 && (b->sets_reported & (1u << t)) && popcount3(t) > popcount3(best)) {
            best = t; /* a subset of s: what a client with fewer capabilities sees */
        }
    }
    return best;
}

int brk_catalog_set_complete(const brk_catalog_t *cat, unsigned s)
{
    s &= BRK_CAP_SET_MASK;
    for (size_t i = 0; s != 0 && i < cat->nbackends; i++) {
        const brk_backend_t *b = &cat->backends[i];
        if (b->state == BRK_BACKEND_UP && !(b->sets_reported & (1u << s))) {
            return 0;
        }
    }
    return 1;
}

void brk_lists_destroy(brk_lists_t *ls)
{
    for (size_t l = 0; ls != NULL && l < GW_NLISTS; l++) {
        for (size_t i = 0; i < ls->nitems[l]; i++) {
            free(ls->items[l][i].key);
            free(ls->items[l][i].json);
        }
        free(ls->items[l]);
    }
    free(ls);
}

void brk_catalog_sets_clear(brk_backend_t *b)
{
    for (unsigned s = 0; s < BRK_CAP_SETS; s++) {
        brk_lists_destroy(b->sets[s]);
        b->sets[s] = NULL;
    }
    b->sets_reported = 0;
}

/* ---- building the views ---- */

static int item_has_key(const gw_hnode_t *node, const void *key, size_t len)
{
    const brk_item_t *it = GW_CONTAINER_OF(node, brk_item_t, node);
    return strlen(it->key) == len && memcmp(it->key, key, len) == 0;
}

/* Backend b's items of list l for sessions of set s. */
static brk_item_t *backend_items(brk_backend_t *b, unsigned s, size_t l, size_t *n)
{
    unsigned t = brk_catalog_set_for(b, s);
    const brk_lists_t *ls = t != 0 ? b->sets[t] : NULL;
    *n = ls != NULL ? ls->nitems[l] : b->nitems[l];
    return ls != NULL ? ls->items[l] : b->items[l];
}

void brk_views_free(brk_view_t *m)
{
    for (unsigned s = 0; s < BRK_CAP_SETS; s++) {
        for (size_t l = 0; l < GW_NLISTS; l++) {
            free(m[s].merged[l]);
            m[s].merged[l] = NULL;
            m[s].nmerged[l] = 0;
        }
    }
}

static void view_free(brk_view_t *m)
{
    for (size_t l = 0; l < GW_NLISTS; l++) {
        free(m->merged[l]);
        m->merged[l] = NULL;
    }
}

gw_err_t brk_view_build(brk_catalog_t *cat, unsigned s, brk_view_t *m)
{
    memset(m, 0, sizeof(*m));
    for (size_t l = 0; l < GW_NLISTS; l++) {
        size_t total = 0;
        for (size_t i = 0; i < cat->nbackends; i++) {
            size_t n;
            if (cat->backends[i].state == BRK_BACKEND_UP) {
                backend_items(&cat->backends[i], s, l, &n);
                total += n;
            }
        }
        gw_htable_t seen; /* the keys merged so far, through the items' nodes */
        gw_htable_init(&seen);
        const brk_item_t **out = calloc(total + 1, sizeof(*out));
        if (out == NULL) {
            view_free(m);
            return GW_ENOMEM;
        }
        size_t n = 0;
        for (size_t i = 0; i < cat->nbackends; i++) {
            brk_backend_t *b = &cat->backends[i];
            size_t nb = 0;
            brk_item_t *items = b->state == BRK_BACKEND_UP ? backend_items(b, s, l, &nb) : NULL;
            for (size_t k = 0; k < nb; k++) {
                brk_item_t *it = &items[k];
                size_t len = strlen(it->key);
                uint64_t h = gw_hash(it->key, len);
                gw_hnode_t *kept = gw_htable_find(&seen, h, it->key, len, item_has_key);
                if (kept != NULL) {
                    const brk_item_t *owner = GW_CONTAINER_OF(kept, brk_item_t, node);
                    m->collisions++;
                    gw_log_warn("msg=\"name collision; the later backend's item is hidden\" "
                                "list=%s key=\"%s\" kept=%s hidden=%s caps=%u",
                                gw_list_kinds[l].key, it->key,
                                cat->backends[owner->server].conf->name, b->conf->name, s);
                    continue;
                }
                if (gw_htable_insert(&seen, &it->node, h) != GW_OK) {
                    gw_htable_fini(&seen);
                    free(out);
                    view_free(m);
                    return GW_ENOMEM;
                }
                out[n++] = it;
            }
        }
        gw_htable_fini(&seen);
        m->merged[l] = out;
        m->nmerged[l] = n;
    }
    return GW_OK;
}

gw_err_t brk_views_build(brk_catalog_t *cat, brk_view_t *m)
{
    memset(m, 0, BRK_CAP_SETS * sizeof(*m));
    for (unsigned s = 0; s < BRK_CAP_SETS; s++) {
        if (!(cat->active & (1u << s))) {
            continue;
        }
        gw_err_t rc = brk_view_build(cat, s, &m[s]);
        if (rc != GW_OK) {
            brk_views_free(m);
            return rc;
        }
    }
    return GW_OK;
}

int brk_list_same(const brk_item_t *const *a, size_t na, const brk_item_t *const *b, size_t nb,
                  int *owners_same)
{
    int owners = na == nb;
    int same = na == nb;
    for (size_t i = 0; i < na && same; i++) {
        same = strcmp(a[i]->key, b[i]->key) == 0 && strcmp(a[i]->json, b[i]->json) == 0;
        owners = owners && a[i]->server == b[i]->server;
    }
    if (owners_same != NULL) {
        *owners_same = same && owners;
    }
    return same;
}

unsigned brk_views_swap(brk_catalog_t *cat, brk_view_t *m, unsigned *sets)
{
    unsigned changed = 0;
    unsigned lists[BRK_CAP_SETS] = {0};
    unsigned none;
    sets = sets != NULL ? sets : &none;
    *sets = 0;
    for (unsigned s = 0; s < BRK_CAP_SETS; s++) {
        brk_view_t *v = &cat->views[s];
        for (size_t l = 0; (cat->active & (1u << s)) && l < GW_NLISTS; l++) {
            int owners_same;
            if (!brk_list_same(v->merged[l], v->nmerged[l], m[s].merged[l], m[s].nmerged[l],
                               &owners_same)) {
                changed |= BRK_CHANGED_LISTS | BRK_CHANGED_ROUTES;
                lists[s] |= 1u << l;
                *sets |= 1u << s;
            } else if (!owners_same) {
                changed |= BRK_CHANGED_ROUTES; /* the same names, served by another backend */
            }
        }
    }
    if (changed & BRK_CHANGED_LISTS) {
        cat->generation++;
    }
    cat->views_epoch++; /* new arrays (the same lists, maybe): filtered again when asked */
    for (unsigned s = 0; s < BRK_CAP_SETS; s++) {
        brk_view_t *v = &cat->views[s];
        if (!(cat->active & (1u << s))) {
            continue;
        }
        for (size_t l = 0; l < GW_NLISTS; l++) {
            const brk_item_t **items = v->merged[l];
            size_t n = v->nmerged[l];
            v->merged[l] = m[s].merged[l];
            v->nmerged[l] = m[s].nmerged[l];
            m[s].merged[l] = items;
            m[s].nmerged[l] = n;
            if (lists[s] & (1u << l)) {
                v->list_generation[l] = cat->generation;
            }
        }
        size_t c = v->collisions;
        v->collisions = m[s].collisions;
        m[s].collisions = c;
    }
    brk_catalog_caps_vary_update(cat);
    return changed;
}

void brk_catalog_caps_vary_update(brk_catalog_t *cat)
{
    unsigned vary = 0;
    const brk_view_t *d = &cat->views[0];
    for (unsigned s = 1; s < BRK_CAP_SETS; s++) {
        const brk_view_t *v = &cat->views[s];
        for (size_t l = 0; (cat->active & (1u << s)) && l < GW_NLISTS; l++) {
            if (!brk_list_same(v->merged[l], v->nmerged[l], d->merged[l], d->nmerged[l], NULL)) {
                vary |= 1u << l;
            }
        }
    }
    cat->caps_vary = vary;
}

int brk_catalog_list_private(const brk_catalog_t *cat, gw_list_t l)
{
    return cat->cfg->auth_resource != NULL || cat->policy != NULL ||
           (cat->caps_vary & (1u << l)) != 0;
}

gw_err_t brk_catalog_activate(brk_catalog_t *cat, unsigned s, unsigned *changed)
{
    s &= BRK_CAP_SET_MASK;
    *changed = 0;
    if (cat->active & (1u << s)) {
        return GW_OK;
    }
    brk_view_t m;
    gw_err_t rc = brk_view_build(cat, s, &m);
    if (rc != GW_OK) {
        return rc;
    }
    brk_view_t *v = &cat->views[s];
    *v = m;
    cat->views_epoch++;
    /* a new version of every list of this set: no cursor of another set names a place in it */
    cat->generation++;
    for (size_t l = 0; l < GW_NLISTS; l++) {
        v->list_generation[l] = cat->generation;
    }
    cat->active |= 1u << s;
    brk_catalog_caps_vary_update(cat);
    *changed = BRK_CHANGED_ROUTES; /* what the set does not list is named in the table */
    gw_log_info("msg=\"capability set active\" caps=%u tools=%zu", s, v->nmerged[GW_LIST_TOOLS]);
    return GW_OK;
}

/* ---- the routing table's names ---- */

/* One key of the union of the active views. */
typedef struct name_entry {
    gw_hnode_t node;
    const char *key;
    size_t server;
    unsigned present; /* bit s: view s lists it */
} name_entry_t;

static int entry_has_key(const gw_hnode_t *node, const void *key, size_t len)
{
    const name_entry_t *e = GW_CONTAINER_OF(node, name_entry_t, node);
    return strlen(e->key) == len && memcmp(e->key, key, len) == 0;
}

/* The union of list l over the active views into *out (the caller's, free()), in set order,
 * each key once with the sets listing it; NULL and 0 when out of memory. */
static name_entry_t *names_union(const brk_catalog_t *cat, size_t l, size_t *count)
{
    size_t total = 0;
    for (unsigned s = 0; s < BRK_CAP_SETS; s++) {
        total += (cat->active & (1u << s)) ? cat->views[s].nmerged[l] : 0;
    }
    name_entry_t *v = calloc(total + 1, sizeof(*v));
    gw_htable_t seen;
    size_t n = 0;
    *count = 0;
    if (v == NULL) {
        return NULL;
    }
    gw_htable_init(&seen);
    for (unsigned s = 0; s < BRK_CAP_SETS; s++) {
        const brk_view_t *view = &cat->views[s];
        for (size_t i = 0; (cat->active & (1u << s)) && i < view->nmerged[l]; i++) {
            const brk_item_t *it = view->merged[l][i];
            size_t len = strlen(it->key);
            uint64_t h = gw_hash(it->key, len);
            gw_hnode_t *found = gw_htable_find(&seen, h, it->key, len, entry_has_key);
            if (found != NULL) {
                GW_CONTAINER_OF(found, name_entry_t, node)->present |= 1u << s;
                continue;
            }
            v[n] = (name_entry_t){.key = it->key, .server = it->server, .present = 1u << s};
            if (gw_htable_insert(&seen, &v[n].node, h) != GW_OK) {
                gw_htable_fini(&seen);
                free(v);
                return NULL;
            }
            n++;
        }
    }
    gw_htable_fini(&seen);
    *count = n;
    return v;
}

gw_err_t brk_catalog_gen_names(const brk_catalog_t *cat, yajl_gen g)
{
    name_entry_t *names[GW_NLISTS];
    size_t n[GW_NLISTS];
    int failed = 0;
    for (size_t l = 0; l < GW_NLISTS; l++) {
        names[l] = names_union(cat, l, &n[l]);
        failed |= names[l] == NULL;
    }
    if (failed) {
        for (size_t l = 0; l < GW_NLISTS; l++) {
            free(names[l]);
        }
        return GW_ENOMEM;
    }
    for (size_t l = 0; l < GW_NLISTS; l++) {
        gw_json_gen_cstr(g, gw_list_kinds[l].key);
        yajl_gen_map_open(g);
        for (size_t i = 0; !failed && i < n[l]; i++) {
            gw_json_gen_cstr(g, names[l][i].key);
            yajl_gen_integer(g, (long long)names[l][i].server);
        }
        yajl_gen_map_close(g);
    }
    /* {"tools": {name: sets}}: the sets (bit s: sessions with capability set s) that do not
     * list a name the table routes; only active sets, only tools and prompts (the names a call
     * gives) */
    /* the active sets whose lists some backend up has not reported yet: calls to names the
     * router does not know go to the backend their prefix names meanwhile */
    unsigned pending = 0;
    for (unsigned s = 1; s < BRK_CAP_SETS; s++) {
        if ((cat->active & (1u << s)) && !brk_catalog_set_complete(cat, s)) {
            pending |= 1u << s;
        }
    }
    gw_json_gen_cstr(g, "pending");
    yajl_gen_integer(g, (long long)pending);
    gw_json_gen_cstr(g, "absent");
    yajl_gen_map_open(g);
    for (size_t l = 0; l < GW_NLISTS; l++) {
        if (!gw_list_kinds[l].prefixed) {
            continue;
        }
        gw_json_gen_cstr(g, gw_list_kinds[l].key);
        yajl_gen_map_open(g);
        for (size_t i = 0; !failed && i < n[l]; i++) {
            unsigned absent = cat->active & ~names[l][i].present;
            if (absent != 0) {
                gw_json_gen_cstr(g, names[l][i].key);
                yajl_gen_integer(g, (long long)absent);
            }
        }
        yajl_gen_map_close(g);
    }
    yajl_gen_map_close(g);
    for (size_t l = 0; l < GW_NLISTS; l++) {
        free(names[l]);
    }
    return failed ? GW_ENOMEM : GW_OK; /* a routing table without its names would be wrong */
}
