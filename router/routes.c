/* routes.c: the routing table the broker pushes: parsed from its JSON, looked up by tool, prompt
 * and server name and by resource URI (RFC 6570 templates). Pure: no sockets, no logging. */
#include <config.h> /* autoconf's, not common/config.h */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/shard.h"
#include "router/era.h"
#include "router/routes.h"

static int cmp_key(const void *a, const void *b)
{
    return strcmp(((const rtr_route_key_t *)a)->key, ((const rtr_route_key_t *)b)->key);
}

void rtr_routes_destroy(rtr_routes_t *r)
{
    if (r == NULL) {
        return;
    }
    for (size_t i = 0; i < r->nservers; i++) {
        free(r->servers[i].name);
        free(r->servers[i].prefix);
        for (size_t j = 0; j < r->servers[i].ntool_timeouts; j++) {
            free(r->servers[i].tool_timeouts[j].tool);
        }
        free(r->servers[i].tool_timeouts);
    }
    for (size_t k = 0; k < GW_NLISTS; k++) {
        for (size_t i = 0; i < r->nkeys[k]; i++) {
            free(r->keys[k][i].key);
        }
        free(r->keys[k]);
    }
    for (size_t i = 0; i < r->ndiscover; i++) {
        free(r->discover[i]);
        free(r->instructions != NULL ? r->instructions[i] : NULL);
    }
    free(r->discover);
    free(r->instructions);
    free(r->discover_offers);
    free(r->servers);
    free(r);
}

const rtr_route_key_t *rtr_routes_find(const rtr_routes_t *r, gw_list_t kind, const char *key)
{
    if (r == NULL || r->nkeys[kind] == 0) {
        return NULL;
    }
    rtr_route_key_t k = {.key = (char *)key};
    return bsearch(&k, r->keys[kind], r->nkeys[kind], sizeof(k), cmp_key);
}

/* The server whose prefix key starts with (the longest; an empty prefix when it is the only
 * one), or -1. */
static long server_by_prefix(const rtr_routes_t *r, const char *key)
{
    long best = -1;
    long empty = -1;
    size_t nempty = 0;
    for (size_t i = 0; i < r->nservers; i++) {
        const rtr_route_server_t *s = &r->servers[i];
        if (s->prefix_len == 0) {
            empty = (long)i;
            nempty++;
        } else if (strncmp(key, s->prefix, s->prefix_len) == 0 &&
                   (best < 0 || s->prefix_len > r->servers[best].prefix_len)) {
            best = (long)i;
        }
    }
    return best >= 0 ? best : nempty == 1 ? empty : -1;
}

const rtr_route_key_t *rtr_routes_find_for(const rtr_routes_t *r, unsigned caps, gw_list_t kind,
                                           const char *key, rtr_route_key_t *scratch)
{
    unsigned set = 1u << (caps & 0x07u);
    const rtr_route_key_t *k = rtr_routes_find(r, kind, key);
    if (r == NULL || !(r->pending & set)) {
        return k != NULL && (k->absent & set) ? NULL : k;
    }
    if (k != NULL) {
        return k; /* what the set lists is not known yet: the backend decides */
    }
    long s = server_by_prefix(r, key);
    if (s < 0) {
        return NULL;
    }
    *scratch = (rtr_route_key_t){.key = (char *)key, .server = (size_t)s};
    return scratch;
}

/* Does uri match the RFC 6570 template t? Literal characters match themselves; a simple
 * expression {x} matches one or more characters other than / ? # and ,; a reserved or fragment
 * expression ({+x}, {#x}) and a query expression ({?x}, {&x}) match any rest, possibly empty. */
static int template_match(const char *t, const char *uri)
{
    while (*t != '\0') {
        if (*t != '{') {
            if (*t++ != *uri++) {
                return 0;
            }
            continue;
        }
        const char *close = strchr(t, '}');
        if (close == NULL) {
            return 0;
        }
        char op = t[1];
        t = close + 1;
        if (op == '+' || op == '#' || op == '?' || op == '&') {
            for (const char *u = uri + strlen(uri);; u--) { /* longest first */
                if (template_match(t, u)) {
                    return 1;
                }
                if (u == uri) {
                    return 0;
                }
            }
        }
        size_t n = strcspn(uri, "/?#,");
        for (size_t k = n; k >= 1; k--) {
            if (template_match(t, uri + k)) {
                return 1;
            }
        }
        return 0;
    }
    return *uri == '\0';
}

/* The server that owns resource uri: the one listing it, else the first whose template
 * matches, else the only server offering resources (docs/routing.md); -1 when none. */
long rtr_routes_resource_owner(const rtr_routes_t *r, const char *uri)
{
    if (r == NULL) {
        return -1;
    }
    const rtr_route_key_t *k = rtr_routes_find(r, GW_LIST_RESOURCES, uri);
    if (k != NULL) {
        return (long)k->server;
    }
    for (size_t i = 0; i < r->nkeys[GW_LIST_TEMPLATES]; i++) {
        if (template_match(r->keys[GW_LIST_TEMPLATES][i].key, uri)) {
            return (long)r->keys[GW_LIST_TEMPLATES][i].server;
        }
    }
    long only = -1;
    for (size_t i = 0; i < r->nservers; i++) {
        if (r->servers[i].resources) {
            if (only >= 0) {
                return -1;
            }
            only = (long)i;
        }
    }
    return only;
}

/* "absent": {"tools": {name: sets}, "prompts": {...}}, optional: the names some capability sets
 * do not list. A name the table does not route is ignored. */
static gw_err_t parse_absent(rtr_routes_t *r, yajl_val absent)
{
    if (absent == NULL) {
        return GW_OK;
    }
    if (!YAJL_IS_OBJECT(absent)) {
        return GW_EPARSE;
    }
    for (gw_list_t kind = 0; kind < GW_NLISTS; kind++) {
        yajl_val map = gw_json_get(absent, gw_list_kinds[kind].key);
        if (map == NULL || kind == GW_LIST_TEMPLATES) {
            continue;
        }
        if (!YAJL_IS_OBJECT(map)) {
            return GW_EPARSE;
        }
        for (size_t i = 0; i < YAJL_GET_OBJECT(map)->len; i++) {
            yajl_val sets = YAJL_GET_OBJECT(map)->values[i];
            if (!YAJL_IS_INTEGER(sets) || YAJL_GET_INTEGER(sets) < 0 ||
                YAJL_GET_INTEGER(sets) > 0xff) {
                return GW_EPARSE;
            }
            rtr_route_key_t *k =
                (rtr_route_key_t *)rtr_routes_find(r, kind, YAJL_GET_OBJECT(map)->keys[i]);
            if (k != NULL) {
                k->absent = (unsigned)YAJL_GET_INTEGER(sets);
            }
        }
    }
    return GW_OK;
}

static gw_err_t parse_key_map(rtr_routes_t *r, yajl_val map, gw_list_t kind)
{
    if (!YAJL_IS_OBJECT(map)) {
        return GW_EPARSE;
    }
    size_t n = YAJL_GET_OBJECT(map)->len;
    if ((r->keys[kind] = calloc(n + 1, sizeof(rtr_route_key_t))) == NULL) {
        return GW_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        yajl_val idx = YAJL_GET_OBJECT(map)->values[i];
        if (!YAJL_IS_INTEGER(idx) || YAJL_GET_INTEGER(idx) < 0 ||
            (size_t)YAJL_GET_INTEGER(idx) >= r->nservers) {
            return GW_EPARSE;
        }
        rtr_route_key_t *k = &r->keys[kind][r->nkeys[kind]];
        if ((k->key = strdup(YAJL_GET_OBJECT(map)->keys[i])) == NULL) {
            return GW_ENOMEM;
        }
        k->server = (size_t)YAJL_GET_INTEGER(idx);
        r->nkeys[kind]++;
    }
    if (kind != GW_LIST_TEMPLATES) { /* templates are tried in the broker's (config) order */
        qsort(r->keys[kind], r->nkeys[kind], sizeof(rtr_route_key_t), cmp_key);
    }
    return GW_OK;
}

/* "discover": [capabilities object per endpoint], optional. */
static gw_err_t parse_discover(rtr_routes_t *r, yajl_val list)
{
    static const struct {
        const char *key;
        unsigned bit;
    } offers[] = {
        {"prompts", RTR_OFFERS_PROMPTS},
        {"resources", RTR_OFFERS_RESOURCES},
        {"completions", RTR_OFFERS_COMPLETIONS},
        {"logging", RTR_OFFERS_LOGGING},
    };
    if (list == NULL) {
        return GW_OK;
    }
    if (!YAJL_IS_ARRAY(list)) {
        return GW_EPARSE;
    }
    size_t n = YAJL_GET_ARRAY(list)->len;
    if ((r->discover = calloc(n + 1, sizeof(*r->discover))) == NULL ||
        (r->instructions = calloc(n + 1, sizeof(*r->instructions))) == NULL ||
        (r->discover_offers = calloc(n + 1, sizeof(*r->discover_offers))) == NULL) {
        return GW_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        yajl_val caps = YAJL_GET_ARRAY(list)->values[i];
        if (!YAJL_IS_OBJECT(caps)) {
            return GW_EPARSE;
        }
        gw_buf_t b;
        gw_buf_init(&b);
        gw_err_t err = gw_json_to_buf(caps, &b);
        if (err == GW_OK && (r->discover[i] = gw_buf_steal(&b, NULL)) == NULL) {
            err = GW_ENOMEM;
        }
        gw_buf_fini(&b);
        if (err != GW_OK) {
            return err;
        }
        r->ndiscover++;
        for (size_t k = 0; k < sizeof(offers) / sizeof(offers[0]); k++) {
            if (gw_json_get(caps, offers[k].key) != NULL) {
                r->discover_offers[i] |= offers[k].bit;
            }
        }
    }
    return GW_OK;
}

/* "instructions": [string or null per endpoint], optional, after "discover" (as many or fewer);
 * kept as JSON text to append as it is. */
static gw_err_t parse_instructions(rtr_routes_t *r, yajl_val list)
{
    if (list == NULL || r->instructions == NULL) {
        return GW_OK;
    }
    if (!YAJL_IS_ARRAY(list) || YAJL_GET_ARRAY(list)->len > r->ndiscover) {
        return GW_EPARSE;
    }
    for (size_t i = 0; i < YAJL_GET_ARRAY(list)->len; i++) {
        yajl_val v = YAJL_GET_ARRAY(list)->values[i];
        if (YAJL_IS_NULL(v)) {
            continue;
        }
        const char *text = YAJL_IS_STRING(v) ? YAJL_GET_STRING(v) : NULL;
        if (text == NULL) {
            return GW_EPARSE;
        }
        gw_buf_t b;
        gw_buf_init(&b);
        gw_err_t err = gw_buf_append_json_string(&b, text, strlen(text));
        if (err == GW_OK && (r->instructions[i] = gw_buf_steal(&b, NULL)) == NULL) {
            err = GW_ENOMEM;
        }
        gw_buf_fini(&b);
        if (err != GW_OK) {
            return err;
        }
    }
    return GW_OK;
}

const char *rtr_routes_instructions(const rtr_routes_t *r, unsigned endpoint)
{
    return r != NULL && r->instructions != NULL && endpoint < r->ndiscover
               ? r->instructions[endpoint]
               : NULL;
}

const char *rtr_routes_discover(const rtr_routes_t *r, unsigned endpoint, unsigned *offers)
{
    if (r == NULL || endpoint >= r->ndiscover) {
        *offers = 0;
        return "{\"tools\":{\"listChanged\":true}}";
    }
    *offers = r->discover_offers[endpoint];
    return r->discover[endpoint];
}

/* A server's "tool_timeouts" object ({tool: ms}), absent when it has none. */
static gw_err_t parse_tool_timeouts(rtr_route_server_t *s, yajl_val map)
{
    if (map == NULL) {
        return GW_OK;
    }
    if (!YAJL_IS_OBJECT(map)) {
        return GW_EPARSE;
    }
    size_t n = YAJL_GET_OBJECT(map)->len;
    if ((s->tool_timeouts = calloc(n + 1, sizeof(*s->tool_timeouts))) == NULL) {
        return GW_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        yajl_val ms = YAJL_GET_OBJECT(map)->values[i];
        if (!YAJL_IS_INTEGER(ms) || YAJL_GET_INTEGER(ms) <= 0) {
            return GW_EPARSE;
        }
        rtr_route_tool_timeout_t *t = &s->tool_timeouts[s->ntool_timeouts];
        if ((t->tool = strdup(YAJL_GET_OBJECT(map)->keys[i])) == NULL) {
            return GW_ENOMEM;
        }
        t->ms = (uint64_t)YAJL_GET_INTEGER(ms);
        s->ntool_timeouts++;
    }
    return GW_OK;
}

/* The backend deadline of a tools/call of tool (the backend's name) on s. */
struct rtr_peer *rtr_routes_peer_of(const rtr_route_server_t *s, const gw_envelope_t *e)
{
    return s->peers[gw_shard_of(e, s->workers)];
}

uint64_t rtr_routes_tool_timeout(const rtr_route_server_t *s, const char *tool)
{
    for (size_t i = 0; i < s->ntool_timeouts; i++) {
        if (strcmp(s->tool_timeouts[i].tool, tool) == 0) {
            return s->tool_timeouts[i].ms;
        }
    }
    return s->timeout_ms;
}

gw_err_t rtr_routes_parse(yajl_val root, rtr_routes_t **out)
{
    gw_err_t err = GW_EPARSE;
    rtr_routes_t *r = calloc(1, sizeof(*r));
    yajl_val gen = gw_json_get(root, "generation");
    yajl_val servers = gw_json_get(root, "servers");
    if (r == NULL) {
        err = GW_ENOMEM;
        goto fail;
    }
    if (!YAJL_IS_INTEGER(gen) || !YAJL_IS_ARRAY(servers)) {
        goto fail;
    }
    r->generation = (uint64_t)YAJL_GET_INTEGER(gen);
    yajl_val activity = gw_json_get(root, "activity_ms");
    r->activity_ms = YAJL_IS_INTEGER(activity) && YAJL_GET_INTEGER(activity) > 0
                         ? (uint64_t)YAJL_GET_INTEGER(activity)
                         : RTR_ACTIVITY_MS_DEFAULT;
    size_t ns = YAJL_GET_ARRAY(servers)->len;
    if ((r->servers = calloc(ns + 1, sizeof(*r->servers))) == NULL) {
        err = GW_ENOMEM;
        goto fail;
    }
    for (size_t i = 0; i < ns; i++) {
        yajl_val s = YAJL_GET_ARRAY(servers)->values[i];
        const char *name = gw_json_get_string(s, "name");
        const char *prefix = gw_json_get_string(s, "prefix");
        yajl_val tmo = gw_json_get(s, "timeout_ms");
        if (name == NULL || prefix == NULL || !YAJL_IS_INTEGER(tmo)) {
            err = GW_EPARSE;
            goto fail;
        }
        rtr_route_server_t *rs = &r->servers[i];
        rs->name = strdup(name);
        rs->prefix = strdup(prefix);
        rs->prefix_len = strlen(prefix);
        rs->timeout_ms = (uint64_t)YAJL_GET_INTEGER(tmo);
        /* a broker before servers[].workers sends none: one worker */
        yajl_val nw = gw_json_get(s, "workers");
        rs->workers = YAJL_IS_INTEGER(nw) ? (unsigned)YAJL_GET_INTEGER(nw) : 1;
        if (nw != NULL && (!YAJL_IS_INTEGER(nw) || YAJL_GET_INTEGER(nw) < 1 ||
                           YAJL_GET_INTEGER(nw) > GW_WORKERS_MAX)) {
            r->nservers++; /* its strings are freed with the rest */
            err = GW_EPARSE;
            goto fail;
        }
        rs->resources = YAJL_IS_TRUE(gw_json_get(s, "resources"));
        rs->logging = YAJL_IS_TRUE(gw_json_get(s, "logging"));
        rs->tasks = YAJL_IS_TRUE(gw_json_get(s, "tasks"));
        r->nservers++;
        if (rs->name == NULL || rs->prefix == NULL) {
            err = GW_ENOMEM;
            goto fail;
        }
        if ((err = parse_tool_timeouts(rs, gw_json_get(s, "tool_timeouts"))) != GW_OK) {
            goto fail;
        }
    }
    for (gw_list_t k = 0; k < GW_NLISTS; k++) {
        if ((err = parse_key_map(r, gw_json_get(root, gw_list_kinds[k].key), k)) != GW_OK) {
            goto fail;
        }
    }
    if ((err = parse_absent(r, gw_json_get(root, "absent"))) != GW_OK) {
        goto fail;
    }
    if ((err = parse_discover(r, gw_json_get(root, "discover"))) != GW_OK ||
        (err = parse_instructions(r, gw_json_get(root, "instructions"))) != GW_OK) {
        goto fail;
    }
    yajl_val pending = gw_json_get(root, "pending");
    r->pending = YAJL_IS_INTEGER(pending) ? (unsigned)(YAJL_GET_INTEGER(pending) & 0xff) : 0;
    *out = r;
    return GW_OK;
fail:
    rtr_routes_destroy(r);
    return err;
}

long rtr_routes_server_named(const rtr_routes_t *r, const char *name, size_t len, int tasks_only)
{
    for (size_t i = 0; r != NULL && i < r->nservers; i++) {
        const rtr_route_server_t *s = &r->servers[i];
        if ((!tasks_only || s->tasks) && strlen(s->name) == len &&
            memcmp(s->name, name, len) == 0) {
            return (long)i;
        }
    }
    return -1;
}
