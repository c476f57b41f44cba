/* config_endpoints.c: the endpoints section of mcpgw.yaml (virtual servers, docs/routing.md): each
 * entry's path, servers, tools narrowing, resource and instructions read by the directive table,
 * then checked against the rest of the file (mcp_path, servers[]) once all of it was read; and
 * freeing it. */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "common/config_int.h"
#include "common/endpoint.h"
#include "common/glob.h"

#define WELL_KNOWN_PREFIX "/.well-known/"
#define LIST_MAX 1024 /* entries of one endpoint's servers or tools */

static const char *endpoint_path_problem(const char *s)
{
    const char *why = gw_config_url_path_problem(s);
    if (why != NULL) {
        return why;
    }
    if (strncmp(s, WELL_KNOWN_PREFIX, strlen(WELL_KNOWN_PREFIX)) == 0) {
        return "must not be under /.well-known/ (the gateway's metadata lives there)";
    }
    return NULL;
}

static const gw_config_directive_t endpoint_directives[] = {
    {GW_CONFIG_ROW_NONEMPTY("path", gw_endpoint_conf_t, path), .required = 1,
     .check = endpoint_path_problem},
    {GW_CONFIG_ROW_STRLIST("servers", gw_endpoint_conf_t, servers, nservers), .required = 1},
    {GW_CONFIG_ROW_STRLIST("tools", gw_endpoint_conf_t, tools, ntools)},
    {GW_CONFIG_ROW_NONEMPTY("instructions", gw_endpoint_conf_t, instructions),
     .check = gw_config_instructions_problem},
    {GW_CONFIG_ROW_NONEMPTY("resource", gw_endpoint_conf_t, resource),
     .check = gw_config_resource_problem},
};

gw_err_t gw_config_set_endpoints(gw_config_ctx_t *cx, const gw_config_directive_t *d,
                                 const gw_config_node_t *v, const char *path, void *obj)
{
    gw_config_t *c = obj;
    (void)d;
    void *items;
    gw_err_t started =
        gw_config_list_start(cx, v, path, "{path, servers, tools, resource, instructions}",
                             GW_ENDPOINTS_MAX, "endpoints", sizeof(*c->endpoints), &items);
    if (started != GW_OK || (c->endpoints = items) == NULL) {
        return started;
    }
    for (size_t i = 0; i < v->nitems; i++) {
        char sub[GW_CONFIG_KEY_PATH_MAX];
        gw_config_path_index(sub, path, i);
        gw_endpoint_conf_t *e = &c->endpoints[i];
        c->nendpoints++; /* owned by c from here: gw_config_destroy frees what got filled */
        e->line = v->items[i]->line;
        if (v->items[i]->kind != GW_CONFIG_MAPPING) {
            return gw_config_fail(cx, v->items[i], sub, "expected a mapping {path, servers, ...}");
        }
        gw_err_t err = gw_config_check_map(cx, v->items[i], sub, endpoint_directives,
                                           GW_CONFIG_NELEM(endpoint_directives), e);
        if (err != GW_OK) {
            return err;
        }
        e->tools_set = gw_config_node_value_of(v->items[i], "tools") != v->items[i];
    }
    return GW_OK;
}

static int in_list(char *const *list, size_t n, const char *s, size_t len)
{
    for (size_t i = 0; i < n; i++) {
        if (strlen(list[i]) == len && memcmp(list[i], s, len) == 0) {
            return 1;
        }
    }
    return 0;
}

/* What is wrong with tools pattern p of endpoint e, or NULL: a pattern whose server part (up to
 * the first '/') is written out must name one of the endpoint's servers, else it could never
 * match (a typo). */
static const char *tool_pattern_problem(const gw_endpoint_conf_t *e, const char *p)
{
    if (!gw_glob_valid(p)) {
        return "a pattern must not end in a lone \\";
    }
    const char *slash = strchr(p, '/');
    if (slash == NULL) {
        return "expected server/name (a server of this endpoint, a slash, a tool name glob)";
    }
    size_t len = (size_t)(slash - p);
    if (memchr(p, '*', len) == NULL && memchr(p, '?', len) == NULL &&
        memchr(p, '\\', len) == NULL && !in_list(e->servers, e->nservers, p, len)) {
        return "names no server of this endpoint";
    }
    return NULL;
}

/* The item of list node key in entry item, or the best node there is, for a message's line. */
static const gw_config_node_t *item_node(const gw_config_node_t *item, const char *key, size_t i)
{
    const gw_config_node_t *v = gw_config_node_value_of(item, key);
    return v != item && v->kind == GW_CONFIG_SEQUENCE && i < v->nitems ? v->items[i] : v;
}

static gw_err_t check_endpoint(gw_config_ctx_t *cx, const gw_config_t *c, size_t i,
                               const gw_config_node_t *item, const char *path)
{
    const gw_endpoint_conf_t *e = &c->endpoints[i];
    char sub[GW_CONFIG_KEY_PATH_MAX], elt[GW_CONFIG_KEY_PATH_MAX];
    gw_config_path_join(sub, path, "path");
    if (strcmp(e->path, c->mcp_path) == 0) {
        return gw_config_fail(cx, gw_config_node_value_of(item, "path"), sub,
                              "is mcp_path (%s), the gateway's own MCP endpoint", c->mcp_path);
    }
    for (size_t j = 0; j < i; j++) {
        if (strcmp(e->path, c->endpoints[j].path) == 0) {
            return gw_config_fail(cx, gw_config_node_value_of(item, "path"), sub,
                                  "is already endpoints[%zu]'s path", j);
        }
    }
    gw_config_path_join(sub, path, "servers");
    if (e->nservers == 0) {
        return gw_config_fail(cx, gw_config_node_value_of(item, "servers"), sub,
                              "at least one server is required");
    }
    if (e->nservers > LIST_MAX || e->ntools > LIST_MAX) {
        return gw_config_fail(cx, item, path, "at most %d servers and %d tools patterns", LIST_MAX,
                              LIST_MAX);
    }
    for (size_t j = 0; j < e->nservers; j++) {
        gw_config_path_index(elt, sub, j);
        if (gw_config_server(c, e->servers[j]) == NULL) {
            return gw_config_fail(cx, item_node(item, "servers", j), elt,
                                  "no server is called %s in servers", e->servers[j]);
        }
        if (in_list(e->servers, j, e->servers[j], strlen(e->servers[j]))) {
            return gw_config_fail(cx, item_node(item, "servers", j), elt, "%s is listed twice",
                                  e->servers[j]);
        }
    }
    gw_config_path_join(sub, path, "tools");
    for (size_t j = 0; j < e->ntools; j++) {
        const char *why = tool_pattern_problem(e, e->tools[j]);
        if (why != NULL) {
            gw_config_path_index(elt, sub, j);
            return gw_config_fail(cx, item_node(item, "tools", j), elt, "%s", why);
        }
    }
    return GW_OK;
}

gw_err_t gw_config_check_endpoints(gw_config_ctx_t *cx, const gw_config_node_t *root,
                                   const gw_config_t *c)
{
    const gw_config_node_t *v = gw_config_node_value_of(root, "endpoints");
    for (size_t i = 0; i < c->nendpoints; i++) {
        char sub[GW_CONFIG_KEY_PATH_MAX];
        gw_config_path_index(sub, "endpoints", i);
        gw_err_t err = check_endpoint(cx, c, i, v->items[i], sub);
        if (err != GW_OK) {
            return err;
        }
    }
    return GW_OK;
}

static int same_string(const char *a, const char *b)
{
    return a == NULL ? b == NULL : b != NULL && strcmp(a, b) == 0;
}

const char *gw_config_instructions(const gw_config_t *c, unsigned endpoint)
{
    if (endpoint != GW_ENDPOINT_MAIN && endpoint <= c->nendpoints &&
        c->endpoints[endpoint - 1].instructions != NULL) {
        return c->endpoints[endpoint - 1].instructions;
    }
    return c->instructions;
}

int gw_config_endpoints_same(const gw_config_t *a, const gw_config_t *b)
{
    if (a->nendpoints != b->nendpoints) {
        return 0;
    }
    for (size_t i = 0; i < a->nendpoints; i++) {
        const gw_endpoint_conf_t *x = &a->endpoints[i], *y = &b->endpoints[i];
        if (strcmp(x->path, y->path) != 0 || x->tools_set != y->tools_set ||
            !same_string(x->resource, y->resource) ||
            !gw_config_strings_same(x->servers, x->nservers, y->servers, y->nservers) ||
            !gw_config_strings_same(x->tools, x->ntools, y->tools, y->ntools)) {
            return 0;
        }
    }
    return 1;
}

void gw_config_endpoints_fini(gw_config_t *c)
{
    for (size_t i = 0; i < c->nendpoints; i++) {
        gw_endpoint_conf_t *e = &c->endpoints[i];
        free(e->path);
        gw_config_strings_free(e->servers, e->nservers);
        gw_config_strings_free(e->tools, e->ntools);
        free(e->resource);
        free(e->instructions);
    }
    free(c->endpoints);
}
