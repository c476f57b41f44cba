/* catalog.c: the aggregated catalog: workers' reports in; prefixed tools and prompts, resources
 * and templates under their own URIs, pages with gateway cursors, the union of capabilities and
 * the routers' routing table out. Control path: yajl trees and generators. */
#include <config.h> /* autoconf's, not common/config.h */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/catalog.h"
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
    free(b->capabilities);
    b->error = NULL;
    b->capabilities = NULL;
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
    for (size_t i = 0; i < cfg->nservers; i++) {
        cat->backends[i].conf = &cfg->servers[i];
    }
    return GW_OK;
}

void brk_catalog_fini(brk_catalog_t *cat)
{
    for (size_t i = 0; i < cat->nbackends; i++) {
        backend_clear(&cat->backends[i]);
    }
    for (size_t l = 0; l < GW_NLISTS; l++) {
        free(cat->merged[l]);
    }
    free(cat->backends);
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

/* ---- building the merged lists ---- */

static int item_has_key(const gw_hnode_t *node, const void *key, size_t len)
{
    const brk_item_t *it = GW_CONTAINER_OF(node, brk_item_t, node);
    return strlen(it->key) == len && memcmp(it->key, key, len) == 0;
}

/* Rebuilds cat->merged from the backends: config order, first owner of a key wins. */
static gw_err_t merge(brk_catalog_t *cat)
{
    size_t collisions = 0;
    for (size_t l = 0; l < GW_NLISTS; l++) {
        size_t total = 0;
        for (size_t i = 0; i < cat->nbackends; i++) {
            if (cat->backends[i].state == BRK_BACKEND_UP) {
                total += cat->backends[i].nitems[l];
            }
        }
        gw_htable_t seen; /* the keys merged so far, through the items' nodes */
        gw_htable_init(&seen);
        const brk_item_t **out = calloc(total + 1, sizeof(*out));
        if (out == NULL) {
            return GW_ENOMEM;
        }
        size_t n = 0;
        for (size_t i = 0; i < cat->nbackends; i++) {
            brk_backend_t *b = &cat->backends[i];
            for (size_t k = 0; b->state == BRK_BACKEND_UP && k < b->nitems[l]; k++) {
                brk_item_t *it = &b->items[l][k];
                size_t len = strlen(it->key);
                uint64_t h = gw_hash(it->key, len);
                gw_hnode_t *kept = gw_htable_find(&seen, h, it->key, len, item_has_key);
                if (kept != NULL) {
                    const brk_item_t *owner = GW_CONTAINER_OF(kept, brk_item_t, node);
                    collisions++;
                    gw_log_warn("msg=\"name collision; the later backend's item is hidden\" "
                                "list=%s key=\"%s\" kept=%s hidden=%s",
                                gw_list_kinds[l].key, it->key,
                                cat->backends[owner->server].conf->name, b->conf->name);
                    continue;
                }
                if (gw_htable_insert(&seen, &it->node, h) != GW_OK) {
                    gw_htable_fini(&seen);
                    free(out);
                    return GW_ENOMEM;
                }
                out[n++] = it;
            }
        }
        gw_htable_fini(&seen);
        free(cat->merged[l]);
        cat->merged[l] = out;
        cat->nmerged[l] = n;
    }
    cat->collisions = collisions;
    return GW_OK;
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
            yajl_gen_free(g);
            if (st != yajl_gen_status_ok) {
                err = st == yajl_max_depth_exceeded ? GW_ETOOBIG : GW_EINVAL;
            }
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

gw_err_t brk_catalog_apply_report(brk_catalog_t *cat, const char *json, size_t len)
{
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
    backend_clear(b);
    cat->generation++;
    gw_err_t rc = GW_OK;
    if (!YAJL_IS_TRUE(gw_json_get(root, "ok"))) {
        const char *why = gw_json_get_string(root, "error");
        b->state = BRK_BACKEND_DOWN;
        b->error = strdup(why ? why : "unknown error"); /* NULL (out of memory): no reason shown */
        gw_log_warn("msg=\"backend down\" backend=%s error=\"%s\"", b->conf->name,
                    why ? why : "unknown error");
    } else {
        yajl_val caps = gw_json_get(root, "capabilities");
        if (YAJL_IS_OBJECT(caps)) {
            gw_buf_t cb;
            gw_buf_init(&cb);
            if (gw_json_to_buf(caps, &cb) == GW_OK) {
                b->capabilities = gw_buf_steal(&cb, NULL);
            }
            gw_buf_fini(&cb);
        }
        size_t server_idx = (size_t)(b - cat->backends);
        for (size_t l = 0; l < GW_NLISTS && rc == GW_OK; l++) {
            rc = take_list(b, server_idx, (gw_list_t)l, gw_json_get(root, gw_list_kinds[l].key));
        }
        b->state = rc == GW_OK ? BRK_BACKEND_UP : BRK_BACKEND_DOWN;
        gw_log_info("msg=\"backend up\" backend=%s tools=%zu prompts=%zu resources=%zu "
                    "templates=%zu",
                    b->conf->name, b->nitems[GW_LIST_TOOLS], b->nitems[GW_LIST_PROMPTS],
                    b->nitems[GW_LIST_RESOURCES], b->nitems[GW_LIST_TEMPLATES]);
    }
    yajl_tree_free(root);
    gw_err_t merr = merge(cat);
    return rc != GW_OK ? rc : merr;
}

int brk_server_same(const gw_server_conf_t *a, const gw_server_conf_t *b)
{
    if (strcmp(a->url, b->url) != 0 || strcmp(a->prefix, b->prefix) != 0 ||
        a->timeout_ms != b->timeout_ms || a->health_interval_ms != b->health_interval_ms ||
        a->nheaders != b->nheaders || a->ntool_timeouts != b->ntool_timeouts) {
        return 0;
    }
    if (a->max_connections != b->max_connections) {
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
    }
    memset(from, 0, sizeof(*from));
    from->conf = conf; /* never read again: old is being dropped */
    return 1;
}

uint64_t brk_catalog_digest(const brk_catalog_t *cat, gw_list_t l)
{
    uint64_t h = GW_HASH_INIT; /* over the items as clients see them */
    for (size_t i = 0; i < cat->nmerged[l]; i++) {
        const char *json = cat->merged[l][i]->json;
        h = gw_hash_more(h, json, strlen(json) + 1); /* the NUL marks the item's end */
    }
    return h;
}

gw_err_t brk_catalog_refresh(brk_catalog_t *cat)
{
    cat->generation++;
    return merge(cat);
}

/* ---- pages ---- */

/* A gateway cursor: "<generation>.<offset>" in base 36, opaque to clients. It names a position
 * in one version of the merged list; after any change the version differs and the cursor is
 * refused (-32602) rather than answered with a page of another list. */
static void cursor_make(char *out, size_t outlen, uint64_t generation, size_t offset)
{
    char g[16];
    char o[16];
    size_t gi = sizeof(g);
    size_t oi = sizeof(o);
    static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    g[--gi] = '\0';
    o[--oi] = '\0';
    do {
        g[--gi] = digits[generation % 36];
        generation /= 36;
    } while (generation > 0 && gi > 0);
    do {
        o[--oi] = digits[offset % 36];
        offset /= 36;
    } while (offset > 0 && oi > 0);
    snprintf(out, outlen, "%s.%s", g + gi, o + oi);
}

static int cursor_parse(const char *c, uint64_t *generation, size_t *offset)
{
    char *end;
    if (strlen(c) > 30) {
        return -1;
    }
    unsigned long long g = strtoull(c, &end, 36);
    if (end == c || *end != '.') {
        return -1;
    }
    const char *o = end + 1;
    unsigned long long off = strtoull(o, &end, 36);
    if (end == o || *end != '\0' || c[0] == '-' || c[0] == '+' || o[0] == '-' || o[0] == '+') {
        return -1;
    }
    *generation = g;
    *offset = (size_t)off;
    return 0;
}

gw_err_t brk_catalog_page(const brk_catalog_t *cat, gw_list_t l, const char *cursor,
                          size_t page_size, gw_buf_t *out)
{
    size_t offset = 0;
    if (cursor != NULL) {
        uint64_t gen;
        if (cursor_parse(cursor, &gen, &offset) != 0 || gen != cat->generation || offset == 0 ||
            offset >= cat->nmerged[l]) {
            return GW_EINVAL;
        }
    }
    size_t end = cat->nmerged[l];
    if (page_size > 0 && end - offset > page_size) {
        end = offset + page_size;
    }
    gw_err_t err = gw_buf_appendf(out, "{\"%s\":[", gw_list_kinds[l].key);
    for (size_t i = offset; i < end && err == GW_OK; i++) {
        if (i > offset) {
            err = gw_buf_append(out, ",", 1);
        }
        if (err == GW_OK) {
            err = gw_buf_appends(out, cat->merged[l][i]->json);
        }
    }
    if (err == GW_OK) {
        err = gw_buf_append(out, "]", 1);
    }
    if (err == GW_OK && end < cat->nmerged[l]) {
        char next[48];
        cursor_make(next, sizeof(next), cat->generation, end);
        err = gw_buf_appendf(out, ",\"nextCursor\":\"%s\"", next);
    }
    if (err == GW_OK) {
        err = gw_buf_append(out, "}", 1);
    }
    return err;
}

/* ---- capabilities and routes ---- */

/* Writes the union of objects vals[0..n) (keys of all, values merged the same way; a value that
 * is not an object is taken from the first that has the key). */
static void gen_union(yajl_gen g, yajl_val *vals, size_t n)
{
    if (!YAJL_IS_OBJECT(vals[0])) {
        gw_json_gen(g, vals[0]);
        return;
    }
    yajl_gen_map_open(g);
    for (size_t i = 0; i < n; i++) {
        if (!YAJL_IS_OBJECT(vals[i])) {
            continue;
        }
        for (size_t k = 0; k < YAJL_GET_OBJECT(vals[i])->len; k++) {
            const char *key = YAJL_GET_OBJECT(vals[i])->keys[k];
            int earlier = 0;
            for (size_t j = 0; j < i && !earlier; j++) {
                earlier = gw_json_get(vals[j], key) != NULL;
            }
            if (earlier) {
                continue; /* merged when its first owner came */
            }
            yajl_val sub[16];
            size_t m = 0;
            for (size_t j = i; j < n && m < 16; j++) {
                yajl_val v = gw_json_get(vals[j], key);
                if (v != NULL) {
                    sub[m++] = v;
                }
            }
            gw_json_gen_cstr(g, key);
            gen_union(g, sub, m);
        }
    }
    yajl_gen_map_close(g);
}

gw_err_t brk_catalog_gen_capabilities(const brk_catalog_t *cat, yajl_gen g)
{
    /* The gateway's lists change whenever backends come and go, so every list it offers says
     * listChanged (the broker announces changes on the clients' GET streams). */
    static const char *const known[] = {"tools", "prompts", "resources", "logging", "completions"};
    enum { N = sizeof(known) / sizeof(known[0]) };
    int present[N] = {1, 0, 0, 0, 0};
    int subscribe = 0;
    yajl_val trees[64];
    yajl_val tasks[64]; /* the backends' tasks capabilities: their union is the gateway's */
    size_t ntrees = 0, ntasks = 0;
    for (size_t i = 0; i < cat->nbackends; i++) {
        const brk_backend_t *b = &cat->backends[i];
        char e[64];
        yajl_val caps = b->capabilities
                            ? gw_json_parse(b->capabilities, strlen(b->capabilities), e, sizeof(e))
                            : NULL;
        if (caps != NULL && ntrees < 64) {
            trees[ntrees++] = caps;
            yajl_val t = gw_json_get(caps, "tasks");
            if (t != NULL) {
                tasks[ntasks++] = t;
            }
        }
        for (size_t k = 0; caps != NULL && k < N; k++) {
            yajl_val v = gw_json_get(caps, known[k]);
            if (v == NULL) {
                continue;
            }
            present[k] = 1;
            if (k == 2) {
                subscribe |= YAJL_IS_TRUE(gw_json_get(v, "subscribe"));
            }
        }
        if (caps != NULL && trees[ntrees - 1] != caps) {
            yajl_tree_free(caps); /* beyond 64 backends: not kept */
        }
    }
    yajl_gen_map_open(g);
    for (size_t k = 0; k < N; k++) {
        if (!present[k]) {
            continue;
        }
        gw_json_gen_cstr(g, known[k]);
        yajl_gen_map_open(g);
        if (k <= 2) {
            gw_json_gen_cstr(g, "listChanged");
            yajl_gen_bool(g, 1);
        }
        if (k == 2 && subscribe) {
            gw_json_gen_cstr(g, "subscribe");
            yajl_gen_bool(g, 1);
        }
        yajl_gen_map_close(g);
    }
    if (ntasks > 0) {
        gw_json_gen_cstr(g, "tasks");
        gen_union(g, tasks, ntasks);
    }
    yajl_gen_status st = yajl_gen_map_close(g);
    for (size_t i = 0; i < ntrees; i++) {
        yajl_tree_free(trees[i]);
    }
    return st == yajl_gen_status_ok ? GW_OK : GW_EINVAL;
}

/* Does backend b advertise the capability named cap? */
static int has_capability(const brk_backend_t *b, const char *cap)
{
    char e[64];
    if (b->state != BRK_BACKEND_UP || b->capabilities == NULL) {
        return 0;
    }
    yajl_val caps = gw_json_parse(b->capabilities, strlen(b->capabilities), e, sizeof(e));
    int has = gw_json_get(caps, cap) != NULL;
    yajl_tree_free(caps);
    return has;
}

int brk_catalog_offers(const brk_catalog_t *cat, const char *capability)
{
    for (size_t i = 0; i < cat->nbackends; i++) {
        if (has_capability(&cat->backends[i], capability)) {
            return 1;
        }
    }
    return 0;
}

static void gen_owner_map(const brk_catalog_t *cat, gw_list_t l, yajl_gen g)
{
    gw_json_gen_cstr(g, gw_list_kinds[l].key);
    yajl_gen_map_open(g);
    for (size_t i = 0; i < cat->nmerged[l]; i++) {
        gw_json_gen_cstr(g, cat->merged[l][i]->key);
        yajl_gen_integer(g, (long long)cat->merged[l][i]->server);
    }
    yajl_gen_map_close(g);
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
        if (b->conf->ntool_timeouts > 0) {
            gw_json_gen_cstr(g, "tool_timeouts");
            yajl_gen_map_open(g);
            for (size_t t = 0; t < b->conf->ntool_timeouts; t++) {
                gw_json_gen_cstr(g, b->conf->tool_timeouts[t].tool);
                yajl_gen_integer(g, (long long)b->conf->tool_timeouts[t].timeout_ms);
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
    gen_owner_map(cat, GW_LIST_TOOLS, g);
    gen_owner_map(cat, GW_LIST_PROMPTS, g);
    gen_owner_map(cat, GW_LIST_RESOURCES, g);
    gen_owner_map(cat, GW_LIST_TEMPLATES, g);
    /* a generator that failed on the way stays in its error state: the last call says so */
    yajl_gen_status st = yajl_gen_map_close(g);
    yajl_gen_free(g);
    return st == yajl_gen_status_ok ? GW_OK : GW_EINVAL;
}
