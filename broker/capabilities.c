/* capabilities.c: what the broker keeps of each backend's capabilities (the few it acts on, read
 * once per report) and their union, the capabilities object every initialize answers with, built
 * once per catalog change so that a backend with a huge capabilities object costs a client
 * nothing. */
#include <config.h> /* autoconf's, not common/config.h */

#include <stdlib.h>
#include <string.h>

#include "broker/catalog.h"
#include "common/endpoint.h"
#include "common/json.h"

/* The capabilities the gateway reads, by name; the first three are lists it announces changes
 * of, so it offers them with listChanged whatever the backends say. */
static const struct cap_name {
    const char *name;
    unsigned bit;
    int list;
} cap_names[] = {
    {"tools", BRK_CAP_TOOLS, 1},
    {"prompts", BRK_CAP_PROMPTS, 1},
    {"resources", BRK_CAP_RESOURCES, 1},
    {"logging", BRK_CAP_LOGGING, 0},
    {"completions", BRK_CAP_COMPLETIONS, 0},
    {"tasks", BRK_CAP_TASKS, 0},
};

enum { NCAPS = sizeof(cap_names) / sizeof(cap_names[0]) };

/* The most backends whose tasks capabilities one union takes (as many as a config may hold is
 * far more than any real gateway has with tasks). */
#define UNION_MAX 64

gw_err_t brk_capabilities_read(yajl_val caps, brk_caps_t *out)
{
    memset(out, 0, sizeof(*out));
    if (!YAJL_IS_OBJECT(caps)) {
        return GW_OK;
    }
    for (size_t k = 0; k < NCAPS; k++) {
        if (gw_json_get(caps, cap_names[k].name) != NULL) {
            out->bits |= cap_names[k].bit;
        }
    }
    if (YAJL_IS_TRUE(gw_json_get(gw_json_get(caps, "resources"), "subscribe"))) {
        out->bits |= BRK_CAP_SUBSCRIBE;
    }
    yajl_val tasks = gw_json_get(caps, "tasks");
    if (tasks == NULL) {
        return GW_OK;
    }
    gw_buf_t t;
    gw_buf_init(&t);
    gw_err_t err = gw_json_to_buf(tasks, &t);
    if (err == GW_OK && (out->tasks = gw_buf_steal(&t, NULL)) == NULL) {
        err = GW_ENOMEM;
    }
    gw_buf_fini(&t);
    return err;
}

void brk_capabilities_clear(brk_caps_t *c)
{
    free(c->tasks);
    memset(c, 0, sizeof(*c));
}

int brk_capabilities_same(const brk_caps_t *a, const brk_caps_t *b)
{
    if (a->bits != b->bits || (a->tasks == NULL) != (b->tasks == NULL)) {
        return 0;
    }
    return a->tasks == NULL || strcmp(a->tasks, b->tasks) == 0;
}

int brk_capabilities_has(const brk_caps_t *c, const char *name)
{
    for (size_t k = 0; k < NCAPS; k++) {
        if (strcmp(cap_names[k].name, name) == 0) {
            return (c->bits & cap_names[k].bit) != 0;
        }
    }
    return 0;
}

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

/* Whether backend b counts for endpoint's capabilities: up, and one of the endpoint's. */
static int counts_for(const brk_catalog_t *cat, const brk_backend_t *b, unsigned endpoint)
{
    return b->state == BRK_BACKEND_UP &&
           gw_endpoint_shows_server(cat->cfg, endpoint, b->conf->name);
}

/* The capabilities object of an endpoint (0: the gateway): the lists (tools always), logging and
 * completions when a backend of it that is up offers them, and the union of their tasks
 * capabilities. */
static yajl_gen_status gen_merged(const brk_catalog_t *cat, unsigned endpoint, yajl_gen g,
                                  yajl_val *tasks, size_t ntasks)
{
    unsigned bits = BRK_CAP_TOOLS;
    for (size_t i = 0; i < cat->nbackends; i++) {
        if (counts_for(cat, &cat->backends[i], endpoint)) {
            bits |= cat->backends[i].caps.bits;
        }
    }
    yajl_gen_map_open(g);
    for (size_t k = 0; k < NCAPS; k++) {
        if (!(bits & cap_names[k].bit) || cap_names[k].bit == BRK_CAP_TASKS) {
            continue;
        }
        gw_json_gen_cstr(g, cap_names[k].name);
        yajl_gen_map_open(g);
        if (cap_names[k].list) {
            gw_json_gen_cstr(g, "listChanged");
            yajl_gen_bool(g, 1);
        }
        if (cap_names[k].bit == BRK_CAP_RESOURCES && (bits & BRK_CAP_SUBSCRIBE)) {
            gw_json_gen_cstr(g, "subscribe");
            yajl_gen_bool(g, 1);
        }
        yajl_gen_map_close(g);
    }
    if (ntasks > 0) {
        gw_json_gen_cstr(g, "tasks");
        gen_union(g, tasks, ntasks);
    }
    /* a generator that failed on the way stays in its error state: the last call says so */
    return yajl_gen_map_close(g);
}

static gw_err_t merge_for(const brk_catalog_t *cat, unsigned endpoint, char **out)
{
    yajl_val tasks[UNION_MAX];
    size_t ntasks = 0;
    gw_err_t err = GW_OK;
    for (size_t i = 0; i < cat->nbackends && ntasks < UNION_MAX; i++) {
        const brk_backend_t *b = &cat->backends[i];
        if (!counts_for(cat, b, endpoint) || b->caps.tasks == NULL) {
            continue;
        }
        char e[64];
        if ((tasks[ntasks] = gw_json_parse(b->caps.tasks, strlen(b->caps.tasks), e, sizeof(e))) ==
            NULL) {
            err = GW_ENOMEM; /* it was JSON when it was written: parsing it can only run short */
            break;
        }
        ntasks++;
    }
    gw_buf_t buf;
    gw_buf_init(&buf);
    yajl_gen g = err == GW_OK ? gw_json_gen_to_buf(&buf) : NULL;
    if (err == GW_OK && g == NULL) {
        err = GW_ENOMEM;
    }
    if (g != NULL) {
        err = gw_json_gen_done(g, &buf, gen_merged(cat, endpoint, g, tasks, ntasks));
    }
    for (size_t i = 0; i < ntasks; i++) {
        yajl_tree_free(tasks[i]);
    }
    if (err == GW_OK && (*out = gw_buf_steal(&buf, NULL)) == NULL) {
        err = GW_ENOMEM;
    }
    gw_buf_fini(&buf);
    return err;
}

gw_err_t brk_capabilities_merge(const brk_catalog_t *cat, char **out)
{
    return merge_for(cat, GW_ENDPOINT_MAIN, out);
}

gw_err_t brk_capabilities_merge_endpoints(const brk_catalog_t *cat, char ***out)
{
    *out = NULL;
    size_t n = cat->cfg->nendpoints;
    if (n == 0) {
        return GW_OK;
    }
    char **caps = calloc(n, sizeof(*caps));
    if (caps == NULL) {
        return GW_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        gw_err_t err = merge_for(cat, (unsigned)i + 1, &caps[i]);
        if (err != GW_OK) {
            brk_capabilities_endpoints_free(cat, caps);
            return err;
        }
    }
    *out = caps;
    return GW_OK;
}

void brk_capabilities_endpoints_free(const brk_catalog_t *cat, char **caps)
{
    for (size_t i = 0; caps != NULL && i < cat->cfg->nendpoints; i++) {
        free(caps[i]);
    }
    free(caps);
}

yajl_gen_status brk_capabilities_gen_discover(const brk_catalog_t *cat, yajl_gen g)
{
    gw_json_gen_cstr(g, "discover");
    yajl_gen_array_open(g);
    for (unsigned endpoint = 0; endpoint <= cat->cfg->nendpoints; endpoint++) {
        /* initialize's set without tasks: an extension in 2026-07-28, which mcpgw does not offer
         * there (design §3) */
        gen_merged(cat, endpoint, g, NULL, 0);
    }
    yajl_gen_array_close(g);
    /* what discover says beside them, per endpoint: a string, or null for none */
    gw_json_gen_cstr(g, "instructions");
    yajl_gen_array_open(g);
    for (unsigned endpoint = 0; endpoint <= cat->cfg->nendpoints; endpoint++) {
        const char *s = gw_config_instructions(cat->cfg, endpoint);
        if (s != NULL) {
            gw_json_gen_cstr(g, s);
        } else {
            yajl_gen_null(g);
        }
    }
    return yajl_gen_array_close(g);
}

const char *brk_capabilities_of(const brk_catalog_t *cat, unsigned endpoint)
{
    if (endpoint == GW_ENDPOINT_MAIN || cat->endpoint_capabilities == NULL ||
        endpoint > cat->cfg->nendpoints) {
        return cat->capabilities;
    }
    return cat->endpoint_capabilities[endpoint - 1];
}
