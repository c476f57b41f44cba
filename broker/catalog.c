/* catalog.c: the aggregated catalog: workers' reports in (what changed, if anything); prefixed
 * tools and prompts, resources and templates under their own URIs, pages with gateway cursors and
 * the routers' routing table out. Control path: yajl trees and generators. */
#include <config.h> /* autoconf's, not common/config.h */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/catalog.h"
#include "common/endpoint.h"
#include "common/hash.h"
#include "common/htable.h"
#include "common/json.h"
#include "common/log.h"

/* The spec's limit for tool and prompt names. */
#define NAME_MAX_LEN 128

static void items_free(brk_item_t *items, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(items[i].key);
        free(items[i].json);
    }
    free(items);
}

static void backend_clear(brk_backend_t *b)
{
    for (size_t l = 0; l < GW_NLISTS; l++) {
        items_free(b->items[l], b->nitems[l]);
        b->items[l] = NULL;
        b->nitems[l] = 0;
    }
    free(b->error);
    b->error = NULL;
    brk_capabilities_clear(&b->caps);
    brk_catalog_sets_clear(b);
}

gw_err_t brk_catalog_init(brk_catalog_t *cat, const gw_config_t *cfg)
{
    memset(cat, 0, sizeof(*cat));
    cat->cfg = cfg;
    cat->backends = calloc(cfg->nservers + 1, sizeof(*cat->backends));
    if (cat->backends == NULL) {
        return GW_ENOMEM;
    }
    cat->nbackends = cfg->nservers;
    cat->active = 1u; /* the default set */
    cat->views_epoch = 1;
    for (size_t i = 0; i < cfg->nservers; i++) {
        cat->backends[i].conf = &cfg->servers[i];
    }
    gw_err_t err = brk_capabilities_merge(cat, &cat->capabilities);
    if (err == GW_OK &&
        (err = brk_capabilities_merge_endpoints(cat, &cat->endpoint_capabilities)) != GW_OK) {
        free(cat->capabilities);
    }
    if (err == GW_OK && (err = brk_catalog_policy_init(cat)) != GW_OK) {
        free(cat->capabilities);
        brk_capabilities_endpoints_free(cat, cat->endpoint_capabilities);
    }
    if (err != GW_OK) {
        free(cat->backends);
        memset(cat, 0, sizeof(*cat));
    }
    return err;
}

void brk_catalog_fini(brk_catalog_t *cat)
{
    for (size_t i = 0; i < cat->nbackends; i++) {
        backend_clear(&cat->backends[i]);
    }
    for (unsigned s = 0; s < BRK_CAP_SETS; s++) {
        for (size_t l = 0; l < GW_NLISTS; l++) {
            free(cat->views[s].merged[l]);
        }
    }
    brk_catalog_policy_fini(cat);
    free(cat->backends);
    free(cat->capabilities);
    brk_capabilities_endpoints_free(cat, cat->endpoint_capabilities);
    memset(cat, 0, sizeof(*cat));
}

brk_backend_t *brk_catalog_backend(brk_catalog_t *cat, const char *name)
{
    for (size_t i = 0; i < cat->nbackends; i++) {
        if (strcmp(cat->backends[i].conf->name, name) == 0) {
            return &cat->backends[i];
        }
    }
    return NULL;
}

size_t brk_catalog_reported(const brk_catalog_t *cat)
{
    size_t n = 0;
    for (size_t i = 0; i < cat->nbackends; i++) {
        n += cat->backends[i].state != BRK_BACKEND_PENDING;
    }
    return n;
}

/* Does backend a hold what b holds (state, capabilities, every list)? A down backend's reason is
 * not compared: it is not part of what clients see. */
static int backend_same(const brk_backend_t *a, const brk_backend_t *b)
{
    if (a->state != b->state || !brk_capabilities_same(&a->caps, &b->caps)) {
        return 0;
    }
    for (size_t l = 0; l < GW_NLISTS; l++) {
        if (a->nitems[l] != b->nitems[l]) {
            return 0;
        }
        for (size_t i = 0; i < a->nitems[l]; i++) {
            if (strcmp(a->items[l][i].key, b->items[l][i].key) != 0 ||
                strcmp(a->items[l][i].json, b->items[l][i].json) != 0) {
                return 0;
            }
        }
    }
    return 1;
}

/* Makes the client-visible item of one listed object: tools and prompts get the prefix. */
static gw_err_t make_item(const brk_backend_t *b, size_t server, gw_list_t l, yajl_val obj,
                          brk_item_t *it)
{
    const char *id = gw_json_get_string(obj, gw_list_kinds[l].item_key);
    if (id == NULL || id[0] == '\0') {
        return GW_EINVAL;
    }
    const char *prefix = gw_list_kinds[l].prefixed ? b->conf->prefix : "";
    size_t plen = strlen(prefix);
    size_t nlen = strlen(id);
    if (gw_list_kinds[l].prefixed && plen + nlen > NAME_MAX_LEN) {
        gw_log_warn("msg=\"name too long with its prefix; hidden\" backend=%s list=%s name=\"%s\"",
                    b->conf->name, gw_list_kinds[l].key, id);
        return GW_ETOOBIG;
    }
    memset(it, 0, sizeof(*it));
    it->server = server;
    if ((it->key = malloc(plen + nlen + 1)) == NULL) {
        return GW_ENOMEM;
    }
    memcpy(it->key, prefix, plen);
    memcpy(it->key + plen, id, nlen + 1);
    gw_buf_t one;
    gw_buf_init(&one);
    gw_err_t err = GW_OK;
    if (!gw_list_kinds[l].prefixed) {
        err = gw_json_to_buf(obj, &one);
    } else {
        yajl_gen g = gw_json_gen_to_buf(&one);
        if (g == NULL) {
            err = GW_ENOMEM;
        } else {
            yajl_gen_status st = yajl_gen_map_open(g);
            for (size_t i = 0; i < YAJL_GET_OBJECT(obj)->len && st == yajl_gen_status_ok; i++) {
                const char *k = YAJL_GET_OBJECT(obj)->keys[i];
                st = gw_json_gen_cstr(g, k);
                if (st != yajl_gen_status_ok) {
                    break;
                }
                st = strcmp(k, "name") == 0 ? gw_json_gen_cstr(g, it->key)
                                            : gw_json_gen(g, YAJL_GET_OBJECT(obj)->values[i]);
            }
            if (st == yajl_gen_status_ok) {
                st = yajl_gen_map_close(g);
            }
            err = gw_json_gen_done(g, &one, st);
        }
    }
    if (err == GW_OK && (it->json = gw_buf_steal(&one, NULL)) == NULL) {
        err = GW_ENOMEM;
    }
    gw_buf_fini(&one);
    if (err != GW_OK) {
        free(it->key);
        it->key = NULL;
    }
    return err;
}

static gw_err_t take_list(brk_backend_t *b, size_t server, gw_list_t l, yajl_val arr)
{
    size_t n = YAJL_IS_ARRAY(arr) ? YAJL_GET_ARRAY(arr)->len : 0;
    b->items[l] = calloc(n + 1, sizeof(brk_item_t));
    if (b->items[l] == NULL) {
        return GW_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        yajl_val obj = YAJL_GET_ARRAY(arr)->values[i];
        brk_item_t *it = &b->items[l][b->nitems[l]];
        gw_err_t err = YAJL_IS_OBJECT(obj) ? make_item(b, server, l, obj, it) : GW_EINVAL;
        if (err == GW_ENOMEM) {
            return err;
        }
        if (err != GW_OK) {
            gw_log_warn("msg=\"skipped a malformed item\" backend=%s list=%s index=%zu",
                        b->conf->name, gw_list_kinds[l].key, i);
            continue;
        }
        b->nitems[l]++;
    }
    return GW_OK;
}

/* Reads one report (its root) into next, a backend with only its conf set. GW_ENOMEM, or GW_OK
 * (malformed items are skipped with a log line). */
static gw_err_t read_report(brk_backend_t *next, size_t server, yajl_val root)
{
    if (!YAJL_IS_TRUE(gw_json_get(root, "ok"))) {
        const char *why = gw_json_get_string(root, "error");
        next->state = BRK_BACKEND_DOWN;
        next->error = strdup(why ? why : "unknown error");
        return next->error != NULL ? GW_OK : GW_ENOMEM;
    }
    next->state = BRK_BACKEND_UP;
    gw_err_t rc = brk_capabilities_read(gw_json_get(root, "capabilities"), &next->caps);
    for (size_t l = 0; l < GW_NLISTS && rc == GW_OK; l++) {
        rc = take_list(next, server, (gw_list_t)l, gw_json_get(root, gw_list_kinds[l].key));
    }
    return rc;
}

static void log_applied(const brk_backend_t *b, brk_backend_state_t was)
{
    if (b->state == BRK_BACKEND_DOWN) {
        if (was != BRK_BACKEND_DOWN) {
            gw_log_warn("msg=\"backend down\" backend=%s error=\"%s\"", b->conf->name, b->error);
        }
        return;
    }
    gw_log_info("msg=\"backend up\" backend=%s tools=%zu prompts=%zu resources=%zu "
                "templates=%zu",
                b->conf->name, b->nitems[GW_LIST_TOOLS], b->nitems[GW_LIST_PROMPTS],
                b->nitems[GW_LIST_RESOURCES], b->nitems[GW_LIST_TEMPLATES]);
}

/* Do two versions of one list of a backend hold the same items? */
static int items_same(const brk_item_t *a, size_t na, const brk_item_t *b, size_t nb)
{
    if (na != nb) {
        return 0;
    }
    for (size_t i = 0; i < na; i++) {
        if (strcmp(a[i].key, b[i].key) != 0 || strcmp(a[i].json, b[i].json) != 0) {
            return 0;
        }
    }
    return 1;
}

/* Do the lists ls (NULL: the default set's) read as b's of set s (reported or not)? */
static int set_lists_same(const brk_backend_t *b, unsigned s, const brk_lists_t *ls, int reported)
{
    const brk_lists_t *was = b->sets[s];
    if (reported != (int)((b->sets_reported >> s) & 1u) || (ls == NULL) != (was == NULL)) {
        return 0;
    }
    for (size_t l = 0; ls != NULL && l < GW_NLISTS; l++) {
        if (!items_same(ls->items[l], ls->nitems[l], was->items[l], was->nitems[l])) {
            return 0;
        }
    }
    return 1;
}

/* The lists of a report of set s (> 0) in *out: NULL when they read as b's default set's, so
 * that a backend that lists the same for every set costs one copy (docs/routing.md). */
static gw_err_t read_set_lists(brk_backend_t *b, size_t server, yajl_val root, brk_lists_t **out)
{
    brk_backend_t next = {.conf = b->conf};
    gw_err_t rc = GW_OK;
    int same = 1;
    *out = NULL;
    for (size_t l = 0; l < GW_NLISTS && rc == GW_OK; l++) {
        rc = take_list(&next, server, (gw_list_t)l, gw_json_get(root, gw_list_kinds[l].key));
        same = same && rc == GW_OK &&
               items_same(next.items[l], next.nitems[l], b->items[l], b->nitems[l]);
    }
    if (rc == GW_OK && !same) {
        if ((*out = calloc(1, sizeof(**out))) == NULL) {
            rc = GW_ENOMEM;
        }
        for (size_t l = 0; *out != NULL && l < GW_NLISTS; l++) {
            (*out)->items[l] = next.items[l];
            (*out)->nitems[l] = next.nitems[l];
            next.items[l] = NULL;
            next.nitems[l] = 0;
        }
    }
    backend_clear(&next);
    return rc;
}

/* A report of the lists of capability set s (> 0) for b, or of their failure (ok false: the
 * set is served with the largest reported set of fewer capabilities until it comes again). */
static gw_err_t apply_set_report(brk_catalog_t *cat, brk_backend_t *b, unsigned s, yajl_val root,
                                 unsigned *changed)
{
    brk_lists_t *ls = NULL;
    int reported = YAJL_IS_TRUE(gw_json_get(root, "ok"));
    gw_err_t rc = reported ? read_set_lists(b, (size_t)(b - cat->backends), root, &ls) : GW_OK;
    if (rc != GW_OK) {
        return rc;
    }
    if (set_lists_same(b, s, ls, reported)) {
        brk_lists_destroy(ls);
        return GW_OK; /* sent again, or the same after a list_changed: nothing moves */
    }
    brk_lists_t *was = b->sets[s];
    unsigned was_reported = b->sets_reported;
    b->sets[s] = ls;
    b->sets_reported = reported ? b->sets_reported | (1u << s) : b->sets_reported & ~(1u << s);
    brk_view_t m[BRK_CAP_SETS];
    if ((rc = brk_views_build(cat, m)) != GW_OK) {
        b->sets[s] = was;
        b->sets_reported = was_reported;
        brk_lists_destroy(ls);
        return rc;
    }
    /* the routing table too: it says which sets are still being fetched */
    *changed = brk_views_swap(cat, m, NULL) | BRK_CHANGED_SET | BRK_CHANGED_ROUTES;
    brk_views_free(m);
    brk_lists_destroy(was);
    gw_log_info("msg=\"capability set lists\" backend=%s caps=%u reported=%d shared=%d tools=%zu",
                b->conf->name, s, reported, reported && ls == NULL,
                ls != NULL ? ls->nitems[GW_LIST_TOOLS] : b->nitems[GW_LIST_TOOLS]);
    return GW_OK;
}

/* A report of the default set: the backend up with its lists and capabilities, or down. The
 * lists of the other sets stay (the worker reports them again after a change). */
static gw_err_t apply_default_report(brk_catalog_t *cat, brk_backend_t *b, yajl_val root,
                                     unsigned *changed)
{
    brk_backend_t next = {.conf = b->conf};
    gw_err_t rc = read_report(&next, (size_t)(b - cat->backends), root);
    if (rc != GW_OK) {
        backend_clear(&next);
        return rc;
    }
    if (backend_same(b, &next)) {
        /* What the catalog holds already (a backend that is still down, retrying; a report sent
         * again): nothing moves, cursors stay valid. Only a reason may read differently. */
        char *why = b->error;
        b->error = next.error;
        next.error = why;
        backend_clear(&next);
        return GW_OK;
    }
    next.sets_reported = b->sets_reported;
    memcpy(next.sets, b->sets, sizeof(next.sets));
    brk_backend_t old = *b;
    *b = next;
    brk_view_t m[BRK_CAP_SETS];
    char *caps = NULL;
    char **ecaps = NULL;
    if ((rc = brk_views_build(cat, m)) == GW_OK &&
        ((rc = brk_capabilities_merge(cat, &caps)) != GW_OK ||
         (rc = brk_capabilities_merge_endpoints(cat, &ecaps)) != GW_OK)) {
        free(caps);
        brk_views_free(m);
    }
    if (rc != GW_OK) {
        next = *b;
        *b = old;
        next.sets_reported = 0;
        memset(next.sets, 0, sizeof(next.sets));
        backend_clear(&next);
        return rc;
    }
    *changed = brk_views_swap(cat, m, NULL);
    if ((old.state == BRK_BACKEND_UP) != (b->state == BRK_BACKEND_UP) ||
        !brk_capabilities_same(&old.caps, &b->caps)) {
        *changed |= BRK_CHANGED_ROUTES;
    }
    brk_views_free(m);
    free(cat->capabilities);
    cat->capabilities = caps;
    brk_capabilities_endpoints_free(cat, cat->endpoint_capabilities);
    cat->endpoint_capabilities = ecaps;
    log_applied(b, old.state);
    old.sets_reported = 0;
    memset(old.sets, 0, sizeof(old.sets)); /* moved to b */
    backend_clear(&old);
    return GW_OK;
}

gw_err_t brk_catalog_apply_report(brk_catalog_t *cat, const char *json, size_t len,
                                  unsigned *changed)
{
    unsigned none;
    changed = changed != NULL ? changed : &none;
    *changed = 0;
    char err[128];
    yajl_val root = gw_json_parse(json, len, err, sizeof(err));
    if (root == NULL) {
        gw_log_err("msg=\"bad catalog report\" error=\"%s\"", err);
        return GW_EPARSE;
    }
    const char *server = gw_json_get_string(root, "server");
    brk_backend_t *b = server ? brk_catalog_backend(cat, server) : NULL;
    if (b == NULL) {
        gw_log_warn("msg=\"catalog report for an unknown server\" server=%s",
                    server ? server : "(none)");
        yajl_tree_free(root);
        return GW_ENOTFOUND;
    }
    yajl_val caps = gw_json_get(root, "caps");
    unsigned s = 0;
    if (caps != NULL && (!YAJL_IS_INTEGER(caps) || YAJL_GET_INTEGER(caps) < 0 ||
                         YAJL_GET_INTEGER(caps) >= (long long)BRK_CAP_SETS)) {
        gw_log_err("msg=\"bad catalog report\" backend=%s error=\"caps is not a capability set\"",
                   b->conf->name);
        yajl_tree_free(root);
        return GW_EPARSE;
    }
    s = caps != NULL ? (unsigned)YAJL_GET_INTEGER(caps) : 0;
    gw_err_t rc = s == 0 ? apply_default_report(cat, b, root, changed)
                         : apply_set_report(cat, b, s, root, changed);
    yajl_tree_free(root);
    if (rc != GW_OK) {
        gw_log_err("msg=\"catalog report not applied\" backend=%s caps=%u error=\"%s\"",
                   b->conf->name, s, gw_strerror(rc));
    }
    return rc;
}

static int same_or_both_null(const char *a, const char *b)
{
    return a == NULL ? b == NULL : b != NULL && strcmp(a, b) == 0;
}

/* servers[].tls: the same paths and flags (a file renewed under its path is read by the worker's
 * next connection: no restart needed for it). */
static int tls_same(const gw_server_tls_t *a, const gw_server_tls_t *b)
{
    return a->set == b->set && a->verify == b->verify &&
           same_or_both_null(a->ca_file, b->ca_file) &&
           same_or_both_null(a->client_certificate, b->client_certificate) &&
           same_or_both_null(a->client_key, b->client_key) &&
           same_or_both_null(a->server_name, b->server_name);
}

int brk_server_same(const gw_server_conf_t *a, const gw_server_conf_t *b)
{
    if (strcmp(a->url, b->url) != 0 || strcmp(a->prefix, b->prefix) != 0 ||
        a->timeout_ms != b->timeout_ms || a->health_interval_ms != b->health_interval_ms ||
        a->nheaders != b->nheaders || a->ntool_timeouts != b->ntool_timeouts) {
        return 0;
    }
    if (a->max_connections != b->max_connections || a->workers != b->workers ||
        !gw_tool_names_same(&a->tools, &b->tools) || !tls_same(&a->tls, &b->tls)) {
        return 0;
    }
    for (size_t i = 0; i < a->ntool_timeouts; i++) {
        if (strcmp(a->tool_timeouts[i].tool, b->tool_timeouts[i].tool) != 0 ||
            a->tool_timeouts[i].timeout_ms != b->tool_timeouts[i].timeout_ms) {
            return 0;
        }
    }
    for (size_t i = 0; i < a->nheaders; i++) {
        if (strcmp(a->headers[i].name, b->headers[i].name) != 0 ||
            strcmp(a->headers[i].value, b->headers[i].value) != 0) {
            return 0;
        }
    }
    return 1;
}

int brk_catalog_adopt(brk_catalog_t *cat, brk_catalog_t *old, const char *name)
{
    brk_backend_t *to = brk_catalog_backend(cat, name);
    brk_backend_t *from = brk_catalog_backend(old, name);
    if (to == NULL || from == NULL || !brk_server_same(to->conf, from->conf)) {
        return 0;
    }
    size_t index = (size_t)(to - cat->backends);
    const gw_server_conf_t *conf = to->conf;
    backend_clear(to);
    *to = *from;
    to->conf = conf;
    for (size_t l = 0; l < GW_NLISTS; l++) {
        for (size_t i = 0; i < to->nitems[l]; i++) {
            to->items[l][i].server = index;
        }
        for (unsigned s = 0; s < BRK_CAP_SETS; s++) {
            for (size_t i = 0; to->sets[s] != NULL && i < to->sets[s]->nitems[l]; i++) {
                to->sets[s]->items[l][i].server = index;
            }
        }
    }
    memset(from, 0, sizeof(*from));
    from->conf = conf; /* never read again: old is being dropped */
    return 1;
}

uint64_t brk_catalog_digest(const brk_catalog_t *cat, unsigned s, gw_list_t l)
{
    const brk_view_t *v = brk_catalog_view(cat, s);
    uint64_t h = GW_HASH_INIT; /* over the items as clients see them */
    for (size_t i = 0; i < v->nmerged[l]; i++) {
        const char *json = v->merged[l][i]->json;
        h = gw_hash_more(h, json, strlen(json) + 1); /* the NUL marks the item's end */
    }
    return h;
}

gw_err_t brk_catalog_refresh(brk_catalog_t *cat, const brk_catalog_t *prev)
{
    brk_view_t m[BRK_CAP_SETS];
    char *caps = NULL;
    if (prev != NULL) {
        cat->active |= prev->active; /* the sessions of those sets live on */
    }
    char **ecaps = NULL;
    gw_err_t rc = brk_views_build(cat, m);
    if (rc == GW_OK && ((rc = brk_capabilities_merge(cat, &caps)) != GW_OK ||
                        (rc = brk_capabilities_merge_endpoints(cat, &ecaps)) != GW_OK)) {
        free(caps);
        brk_views_free(m);
    }
    if (rc != GW_OK) {
        return rc;
    }
    brk_views_swap(cat, m, NULL);
    brk_views_free(m);
    free(cat->capabilities);
    cat->capabilities = caps;
    brk_capabilities_endpoints_free(cat, cat->endpoint_capabilities);
    cat->endpoint_capabilities = ecaps;
    int same[BRK_CAP_SETS][GW_NLISTS];
    int all_same = 1;
    /* another policy or other endpoints filter the lists otherwise: the offsets of old cursors
     * mean nothing now */
    int policy_same = prev != NULL && gw_policy_same_for(prev->policy, cat->policy, 0) &&
                      gw_config_endpoints_same(prev->cfg, cat->cfg);
    for (unsigned s = 0; s < BRK_CAP_SETS; s++) {
        const brk_view_t *v = &cat->views[s];
        const brk_view_t *p = prev != NULL ? &prev->views[s] : NULL;
        for (size_t l = 0; l < GW_NLISTS; l++) {
            same[s][l] =
                !(cat->active & (1u << s)) ||
                (p != NULL && policy_same && (prev->active & (1u << s)) &&
                 brk_list_same(p->merged[l], p->nmerged[l], v->merged[l], v->nmerged[l], NULL));
            all_same = all_same && same[s][l];
        }
    }
    cat->generation = (prev != NULL ? prev->generation : cat->generation) + !all_same;
    for (unsigned s = 0; s < BRK_CAP_SETS; s++) {
        for (size_t l = 0; (cat->active & (1u << s)) && l < GW_NLISTS; l++) {
            cat->views[s].list_generation[l] =
                same[s][l] ? prev->views[s].list_generation[l] : cat->generation;
        }
    }
    return GW_OK;
}

/* ---- pages ---- */

/* A gateway cursor: "<generation>.<offset>" in base 36, opaque to clients, and ".<view>" after
 * it with a policy. It names a position in one version of one merged list (its list_generation)
 * as one policy view sees it; after a change of that list the version differs and the cursor is
 * refused (-32602) rather than answered with a page of another list, and so is a cursor of
 * another view (its offsets count another filtered list). */
static void base36(char *out, size_t outlen, uint64_t v)
{
    static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    char t[16];
    size_t i = sizeof(t);
    t[--i] = '\0';
    do {
        t[--i] = digits[v % 36];
        v /= 36;
    } while (v > 0 && i > 0);
    snprintf(out, outlen, "%s", t + i);
}

static void cursor_make(char *out, size_t outlen, uint64_t generation, size_t offset, int with_view,
                        unsigned view)
{
    char g[16], o[16], v[16];
    base36(g, sizeof(g), generation);
    base36(o, sizeof(o), offset);
    base36(v, sizeof(v), view);
    snprintf(out, outlen, with_view ? "%s.%s.%s" : "%s.%s", g, o, v);
}

/* Reads one base-36 number ending at a '.' or the end of the text; NULL when there is none. */
static const char *base36_read(const char *c, unsigned long long *out)
{
    char *end;
    if (c[0] == '-' || c[0] == '+' || c[0] == ' ') {
        return NULL;
    }
    *out = strtoull(c, &end, 36);
    return end == c || (*end != '.' && *end != '\0') ? NULL : end;
}

static int cursor_parse(const char *c, uint64_t *generation, size_t *offset, int with_view,
                        unsigned view)
{
    unsigned long long g, off, v = 0;
    const char *p;
    if (strlen(c) > 40 || (p = base36_read(c, &g)) == NULL || *p != '.' ||
        (p = base36_read(p + 1, &off)) == NULL) {
        return -1;
    }
    if (with_view && (*p != '.' || (p = base36_read(p + 1, &v)) == NULL || v != view)) {
        return -1;
    }
    if (*p != '\0') {
        return -1;
    }
    *generation = g;
    *offset = (size_t)off;
    return 0;
}

gw_err_t brk_catalog_page(const brk_catalog_t *cat, unsigned s, gw_list_t l, const char *cursor,
                          size_t page_size, gw_buf_t *out)
{
    return brk_catalog_page_for(cat, s, GW_POLICY_VIEW_DEFAULT, l, cursor, page_size, out);
}

gw_err_t brk_catalog_page_for(const brk_catalog_t *cat, unsigned s, unsigned view, gw_list_t l,
                              const char *cursor, size_t page_size, gw_buf_t *out)
{
    const brk_view_t *v = brk_catalog_view(cat, s);
    const brk_item_t *const *items;
    size_t n;
    gw_err_t err = brk_catalog_filtered(cat, s, view, l, &items, &n);
    if (err != GW_OK) {
        return err;
    }
    int with_view = cat->filters != NULL;
    size_t offset = 0;
    if (cursor != NULL) {
        uint64_t gen;
        if (cursor_parse(cursor, &gen, &offset, with_view, view) != 0 ||
            gen != v->list_generation[l] || offset == 0 || offset >= n) {
            return GW_EINVAL;
        }
    }
    size_t end = n;
    if (page_size > 0 && end - offset > page_size) {
        end = offset + page_size;
    }
    err = gw_buf_appendf(out, "{\"%s\":[", gw_list_kinds[l].key);
    for (size_t i = offset; i < end && err == GW_OK; i++) {
        if (i > offset) {
            err = gw_buf_append(out, ",", 1);
        }
        if (err == GW_OK) {
            err = gw_buf_appends(out, items[i]->json);
        }
    }
    if (err == GW_OK) {
        err = gw_buf_append(out, "]", 1);
    }
    if (err == GW_OK && end < n) {
        char next[64];
        cursor_make(next, sizeof(next), v->list_generation[l], end, with_view, view);
        err = gw_buf_appendf(out, ",\"nextCursor\":\"%s\"", next);
    }
    if (err == GW_OK) {
        err = gw_buf_append(out, "}", 1);
    }
    return err;
}

/* ---- capabilities and routes ---- */

/* Does backend b, up, advertise the capability named cap? */
static int has_capability(const brk_backend_t *b, const char *cap)
{
    return b->state == BRK_BACKEND_UP && brk_capabilities_has(&b->caps, cap);
}

int brk_catalog_offers(const brk_catalog_t *cat, const char *capability, unsigned endpoint)
{
    for (size_t i = 0; i < cat->nbackends; i++) {
        if (has_capability(&cat->backends[i], capability) &&
            gw_endpoint_shows_server(cat->cfg, endpoint, cat->backends[i].conf->name)) {
            return 1;
        }
    }
    return 0;
}

uint64_t brk_activity_ms(const gw_config_t *cfg)
{
    uint64_t ms = cfg->session_idle_ms / 4;
    if (cfg->session_idle_ms == 0 || ms > 5000) {
        return 5000;
    }
    return ms < 500 ? 500 : ms;
}

gw_err_t brk_catalog_routes(const brk_catalog_t *cat, uint64_t seq, gw_buf_t *out)
{
    yajl_gen g = gw_json_gen_to_buf(out);
    if (g == NULL) {
        return GW_ENOMEM;
    }
    yajl_gen_map_open(g);
    gw_json_gen_cstr(g, "seq");
    yajl_gen_integer(g, (long long)seq);
    gw_json_gen_cstr(g, "generation");
    yajl_gen_integer(g, (long long)cat->generation);
    gw_json_gen_cstr(g, "activity_ms");
    yajl_gen_integer(g, (long long)brk_activity_ms(cat->cfg));
    gw_json_gen_cstr(g, "servers");
    yajl_gen_array_open(g);
    for (size_t i = 0; i < cat->nbackends; i++) {
        const brk_backend_t *b = &cat->backends[i];
        yajl_gen_map_open(g);
        gw_json_gen_cstr(g, "name");
        gw_json_gen_cstr(g, b->conf->name);
        gw_json_gen_cstr(g, "prefix");
        gw_json_gen_cstr(g, b->conf->prefix);
        gw_json_gen_cstr(g, "timeout_ms");
        yajl_gen_integer(g, (long long)b->conf->timeout_ms);
        gw_json_gen_cstr(g, "workers");
        yajl_gen_integer(g, (long long)b->conf->workers);
        if (b->conf->ntool_timeouts > 0) {
            gw_json_gen_cstr(g, "tool_timeouts");
            yajl_gen_map_open(g);
            for (size_t t = 0; t < b->conf->ntool_timeouts; t++) {
                /* routers look tools up by the names clients call (servers[].tools) */
                const char *name = gw_server_tool_timeout_exposed(b->conf, t);
                if (name != NULL) {
                    gw_json_gen_cstr(g, name);
                    yajl_gen_integer(g, (long long)b->conf->tool_timeouts[t].timeout_ms);
                }
            }
            yajl_gen_map_close(g);
        }
        gw_json_gen_cstr(g, "up");
        yajl_gen_bool(g, b->state == BRK_BACKEND_UP);
        gw_json_gen_cstr(g, "resources");
        yajl_gen_bool(g, has_capability(b, "resources"));
        gw_json_gen_cstr(g, "completions");
        yajl_gen_bool(g, has_capability(b, "completions"));
        gw_json_gen_cstr(g, "logging");
        yajl_gen_bool(g, has_capability(b, "logging"));
        gw_json_gen_cstr(g, "tasks");
        yajl_gen_bool(g, has_capability(b, "tasks"));
        yajl_gen_map_close(g);
    }
    yajl_gen_array_close(g);
    brk_capabilities_gen_discover(cat, g);
    if (brk_catalog_gen_names(cat, g) != GW_OK) {
        yajl_gen_free(g);
        return GW_ENOMEM;
    }
    /* a generator that failed on the way stays in its error state: the last call says so */
    yajl_gen_status st = yajl_gen_map_close(g);
    return gw_json_gen_done(g, out, st);
}
