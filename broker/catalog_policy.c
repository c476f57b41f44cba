/* catalog_policy.c: the catalog as each view sees it (docs/policy.md): a merged list with what
 * the view's endpoint does not show (common/endpoint.h) and its policy rule does not let through
 * left out, built once per (view, capability set, list, version of the views) and kept until the
 * views change, so that a list request pages a list already filtered. */
#include <config.h> /* autoconf's, not common/config.h */

#include <stdlib.h>
#include <string.h>

#include "broker/catalog.h"
#include "common/endpoint.h"
#include "common/hash.h"
#include "common/tool_names.h"

/* One filtered list: the items of the view's list the rule lets through, in order. */
typedef struct filtered {
    uint64_t epoch; /* cat->views_epoch it was built at; 0: never built */
    const brk_item_t **items;
    size_t n;
} filtered_t;

/* The lists of one view, made when the view is first asked for: with 64 endpoints and 256
 * rules most of the 16,705 views are never used. */
typedef struct view_lists {
    filtered_t lists[BRK_CAP_SETS * GW_NLISTS]; /* [set][list] */
} view_lists_t;

struct brk_filters {
    size_t npolicy_views;  /* policy rules + 1 */
    size_t nviews;         /* (endpoints + 1) * npolicy_views */
    view_lists_t *views[]; /* [endpoint * npolicy_views + policy view]; NULL until asked */
};

gw_err_t brk_catalog_policy_init(brk_catalog_t *cat)
{
    gw_err_t err = gw_policy_create(cat->cfg, &cat->policy);
    if (err != GW_OK || (cat->policy == NULL && cat->cfg->nendpoints == 0)) {
        return err;
    }
    size_t npolicy_views = cat->policy != NULL ? gw_policy_nrules(cat->policy) + 1 : 1;
    size_t nviews = (cat->cfg->nendpoints + 1) * npolicy_views;
    cat->filters = calloc(1, sizeof(*cat->filters) + nviews * sizeof(view_lists_t *));
    if (cat->filters == NULL) {
        gw_policy_destroy(cat->policy);
        cat->policy = NULL;
        return GW_ENOMEM;
    }
    cat->filters->npolicy_views = npolicy_views;
    cat->filters->nviews = nviews;
    return GW_OK;
}

void brk_catalog_policy_fini(brk_catalog_t *cat)
{
    if (cat->filters != NULL) {
        for (size_t i = 0; i < cat->filters->nviews; i++) {
            view_lists_t *vl = cat->filters->views[i];
            for (size_t j = 0; vl != NULL && j < BRK_CAP_SETS * GW_NLISTS; j++) {
                free(vl->lists[j].items);
            }
            free(vl);
        }
        free(cat->filters);
        cat->filters = NULL;
    }
    gw_policy_destroy(cat->policy);
    cat->policy = NULL;
}

/* The name of it the policy's patterns see: a tool's or prompt's own (its prefix removed, and a
 * rename of servers[].tools undone), a resource's URI, a template's uriTemplate. */
static int item_allowed(const brk_catalog_t *cat, unsigned view, gw_list_t l, const brk_item_t *it)
{
    const gw_server_conf_t *conf = cat->backends[it->server].conf;
    const char *name = it->key;
    if (l == GW_LIST_TOOLS || l == GW_LIST_PROMPTS) {
        size_t plen = strlen(conf->prefix);
        name += strncmp(name, conf->prefix, plen) == 0 ? plen : 0;
    }
    const char *own = l == GW_LIST_TOOLS && gw_tool_names_active(&conf->tools)
                          ? gw_tool_names_backend(&conf->tools, name, NULL)
                          : NULL;
    name = own != NULL ? own : name; /* a tool renamed by servers[].tools: by its own name */
    return gw_endpoint_allows(cat->cfg, gw_view_endpoint(view), l, conf->name, name,
                              strlen(name)) &&
           gw_policy_allows_name(cat->policy, gw_view_policy(view), conf->name, name, strlen(name));
}

gw_err_t brk_catalog_filtered(const brk_catalog_t *cat, unsigned s, unsigned view, gw_list_t l,
                              const brk_item_t *const **items, size_t *n)
{
    const brk_view_t *v = brk_catalog_view(cat, s);
    if (cat->filters == NULL) {
        *items = v->merged[l];
        *n = v->nmerged[l];
        return GW_OK;
    }
    brk_filters_t *fs = cat->filters;
    size_t endpoint = gw_view_endpoint(view), pview = gw_view_policy(view);
    if (pview >= fs->npolicy_views) {
        pview = GW_POLICY_VIEW_DEFAULT; /* a router of another config: the default decides */
    }
    if (endpoint > cat->cfg->nendpoints) {
        *items = NULL; /* an endpoint of another config: it shows nothing */
        *n = 0;
        return GW_OK;
    }
    view = (unsigned)gw_view_make((unsigned)endpoint, (unsigned)pview);
    view_lists_t **vl = &fs->views[endpoint * fs->npolicy_views + pview];
    if (*vl == NULL && (*vl = calloc(1, sizeof(**vl))) == NULL) {
        return GW_ENOMEM;
    }
    filtered_t *f = &(*vl)->lists[(s & BRK_CAP_SET_MASK) * GW_NLISTS + (size_t)l];
    if (f->epoch != cat->views_epoch) {
        const brk_item_t **out = NULL;
        size_t k = 0;
        if (v->nmerged[l] > 0 && (out = malloc(v->nmerged[l] * sizeof(*out))) == NULL) {
            return GW_ENOMEM;
        }
        for (size_t i = 0; i < v->nmerged[l]; i++) {
            if (item_allowed(cat, view, l, v->merged[l][i])) {
                out[k++] = v->merged[l][i];
            }
        }
        free(f->items);
        f->items = out;
        f->n = k;
        f->epoch = cat->views_epoch;
    }
    *items = f->items;
    *n = f->n;
    return GW_OK;
}

uint64_t brk_catalog_digest_for(const brk_catalog_t *cat, unsigned s, unsigned view, gw_list_t l)
{
    const brk_item_t *const *items;
    size_t n;
    if (brk_catalog_filtered(cat, s, view, l, &items, &n) != GW_OK) {
        return 0; /* out of memory: reads as a change, which at worst tells a client too much */
    }
    uint64_t h = GW_HASH_INIT;
    for (size_t i = 0; i < n; i++) {
        h = gw_hash_more(h, items[i]->json, strlen(items[i]->json) + 1);
    }
    return h;
}
