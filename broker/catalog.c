/* catalog.c: the aggregated catalog: workers' reports in, prefixed tool lists, the union of
 * capabilities and the routers' routing table out. Control path: yajl trees and generators. */
#include <config.h> /* autoconf's, not common/config.h */

#include <stdlib.h>
#include <string.h>

#include "broker/catalog.h"
#include "common/json.h"
#include "common/log.h"

static void backend_clear(brk_backend_t *b)
{
    for (size_t i = 0; i < b->ntools; i++) {
        free(b->tool_names[i]);
    }
    free(b->tool_names);
    free(b->error);
    free(b->capabilities);
    gw_buf_fini(&b->tools_json);
    b->tool_names = NULL;
    b->ntools = 0;
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
        gw_buf_init(&cat->backends[i].tools_json);
    }
    return GW_OK;
}

void brk_catalog_fini(brk_catalog_t *cat)
{
    for (size_t i = 0; i < cat->nbackends; i++) {
        backend_clear(&cat->backends[i]);
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

/* Is name exposed by a backend earlier in config order than before? */
static const brk_backend_t *owner_before(const brk_catalog_t *cat, const brk_backend_t *before,
                                         const char *name)
{
    for (const brk_backend_t *b = cat->backends; b < before; b++) {
        for (size_t i = 0; i < b->ntools; i++) {
            if (strcmp(b->tool_names[i], name) == 0) {
                return b;
            }
        }
    }
    return NULL;
}

/* Re-generates one tool object with its name prefixed; appends the exposed name. */
static gw_err_t add_tool(brk_backend_t *b, yajl_val tool, size_t *count)
{
    const char *name = gw_json_get_string(tool, "name");
    if (name == NULL) {
        return GW_EINVAL;
    }
    size_t plen = strlen(b->conf->prefix);
    size_t nlen = strlen(name);
    char *exposed = malloc(plen + nlen + 1);
    if (exposed == NULL) {
        return GW_ENOMEM;
    }
    memcpy(exposed, b->conf->prefix, plen);
    memcpy(exposed + plen, name, nlen + 1);
    if (plen + nlen > 128) {
        gw_log_warn("msg=\"tool name too long with prefix; hidden\" backend=%s tool=%s",
                    b->conf->name, name);
        free(exposed);
        return GW_OK;
    }
    gw_buf_t one;
    gw_buf_init(&one);
    yajl_gen g = gw_json_gen_to_buf(&one);
    if (g == NULL) {
        free(exposed);
        return GW_ENOMEM;
    }
    yajl_gen_map_open(g);
    for (size_t i = 0; i < YAJL_GET_OBJECT(tool)->len; i++) {
        const char *key = YAJL_GET_OBJECT(tool)->keys[i];
        gw_json_gen_cstr(g, key);
        if (strcmp(key, "name") == 0) {
            gw_json_gen_cstr(g, exposed);
        } else {
            gw_json_gen(g, YAJL_GET_OBJECT(tool)->values[i]);
        }
    }
    yajl_gen_map_close(g);
    yajl_gen_free(g);
    gw_err_t err = GW_OK;
    if ((*count > 0 && gw_buf_append(&b->tools_json, ",", 1) != GW_OK) ||
        gw_buf_append(&b->tools_json, one.data, one.len) != GW_OK) {
        err = GW_ENOMEM;
    }
    gw_buf_fini(&one);
    if (err != GW_OK) {
        free(exposed);
        return err;
    }
    b->tool_names[(*count)++] = exposed;
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
    gw_buf_init(&b->tools_json);
    cat->generation++;
    if (!YAJL_IS_TRUE(gw_json_get(root, "ok"))) {
        const char *why = gw_json_get_string(root, "error");
        b->state = BRK_BACKEND_DOWN;
        b->error = strdup(why ? why : "unknown error");
        gw_log_warn("msg=\"backend down\" backend=%s error=\"%s\"", b->conf->name,
                    why ? why : "unknown error");
        yajl_tree_free(root);
        return GW_OK;
    }
    yajl_val caps = gw_json_get(root, "capabilities");
    if (YAJL_IS_OBJECT(caps)) {
        gw_buf_t cb;
        gw_buf_init(&cb);
        if (gw_json_to_buf(caps, &cb) == GW_OK) {
            b->capabilities = gw_buf_steal(&cb, NULL);
        }
        gw_buf_fini(&cb);
    }
    yajl_val tools = gw_json_get(root, "tools");
    size_t n = YAJL_IS_ARRAY(tools) ? YAJL_GET_ARRAY(tools)->len : 0;
    b->tool_names = calloc(n + 1, sizeof(char *));
    if (b->tool_names == NULL) {
        yajl_tree_free(root);
        return GW_ENOMEM;
    }
    size_t count = 0;
    for (size_t i = 0; i < n; i++) {
        yajl_val t = YAJL_GET_ARRAY(tools)->values[i];
        if (!YAJL_IS_OBJECT(t) || add_tool(b, t, &count) != GW_OK) {
            gw_log_warn("msg=\"skipped a malformed tool\" backend=%s index=%zu", b->conf->name, i);
        }
    }
    b->ntools = count;
    b->state = BRK_BACKEND_UP;
    gw_log_info("msg=\"backend up\" backend=%s tools=%zu", b->conf->name, count);
    yajl_tree_free(root);
    return GW_OK;
}

gw_err_t brk_catalog_tools_result(const brk_catalog_t *cat, gw_buf_t *out)
{
    gw_err_t err = gw_buf_appends(out, "{\"tools\":[");
    int first = 1;
    for (size_t i = 0; i < cat->nbackends && err == GW_OK; i++) {
        const brk_backend_t *b = &cat->backends[i];
        if (b->state != BRK_BACKEND_UP || b->tools_json.len == 0) {
            continue;
        }
        int collides = 0;
        for (size_t t = 0; t < b->ntools && !collides; t++) {
            collides = owner_before(cat, b, b->tool_names[t]) != NULL;
        }
        if (!collides) {
            if (!first) {
                err = gw_buf_append(out, ",", 1);
            }
            if (err == GW_OK) {
                err = gw_buf_append(out, b->tools_json.data, b->tools_json.len);
            }
            first = 0;
            continue;
        }
        /* Rare: a name collision; fall back to emitting this backend's tools one by one. */
        char e[64];
        yajl_val arr = NULL;
        gw_buf_t wrapped;
        gw_buf_init(&wrapped);
        if (gw_buf_appendf(&wrapped, "[%.*s]", (int)b->tools_json.len, b->tools_json.data) ==
            GW_OK) {
            arr = gw_json_parse(wrapped.data, wrapped.len, e, sizeof(e));
        }
        gw_buf_fini(&wrapped);
        for (size_t t = 0; arr != NULL && t < YAJL_GET_ARRAY(arr)->len && err == GW_OK; t++) {
            if (owner_before(cat, b, b->tool_names[t]) != NULL) {
                continue;
            }
            if (!first) {
                err = gw_buf_append(out, ",", 1);
            }
            if (err == GW_OK) {
                err = gw_json_to_buf(YAJL_GET_ARRAY(arr)->values[t], out);
            }
            first = 0;
        }
        yajl_tree_free(arr);
    }
    if (err == GW_OK) {
        err = gw_buf_appends(out, "]}");
    }
    return err;
}

void brk_catalog_gen_capabilities(const brk_catalog_t *cat, yajl_gen g)
{
    /* The gateway's tool list can change (backends come and go), so it always says so. */
    static const char *const known[] = {"tools", "prompts", "resources", "logging", "completions"};
    int present[5] = {1, 0, 0, 0, 0};
    int list_changed[5] = {1, 0, 0, 0, 0};
    int subscribe = 0;
    for (size_t i = 0; i < cat->nbackends; i++) {
        const brk_backend_t *b = &cat->backends[i];
        char e[64];
        yajl_val caps =
            b->capabilities ? gw_json_parse(b->capabilities, strlen(b->capabilities), e, sizeof(e))
                            : NULL;
        for (size_t k = 0; caps != NULL && k < 5; k++) {
            yajl_val v = gw_json_get(caps, known[k]);
            if (v == NULL) {
                continue;
            }
            present[k] = 1;
            list_changed[k] |= YAJL_IS_TRUE(gw_json_get(v, "listChanged"));
            if (k == 2) {
                subscribe |= YAJL_IS_TRUE(gw_json_get(v, "subscribe"));
            }
        }
        yajl_tree_free(caps);
    }
    yajl_gen_map_open(g);
    for (size_t k = 0; k < 5; k++) {
        if (!present[k]) {
            continue;
        }
        gw_json_gen_cstr(g, known[k]);
        yajl_gen_map_open(g);
        if (k <= 2 && list_changed[k]) {
            gw_json_gen_cstr(g, "listChanged");
            yajl_gen_bool(g, 1);
        }
        if (k == 2 && subscribe) {
            gw_json_gen_cstr(g, "subscribe");
            yajl_gen_bool(g, 1);
        }
        yajl_gen_map_close(g);
    }
    yajl_gen_map_close(g);
}

gw_err_t brk_catalog_routes(brk_catalog_t *cat, char *const *revoked, size_t nrevoked,
                            gw_buf_t *out)
{
    yajl_gen g = gw_json_gen_to_buf(out);
    if (g == NULL) {
        return GW_ENOMEM;
    }
    yajl_gen_map_open(g);
    gw_json_gen_cstr(g, "generation");
    yajl_gen_integer(g, (long long)cat->generation);
    gw_json_gen_cstr(g, "servers");
    yajl_gen_array_open(g);
    for (size_t i = 0; i < cat->nbackends; i++) {
        const gw_server_conf_t *s = cat->backends[i].conf;
        yajl_gen_map_open(g);
        gw_json_gen_cstr(g, "name");
        gw_json_gen_cstr(g, s->name);
        gw_json_gen_cstr(g, "prefix");
        gw_json_gen_cstr(g, s->prefix);
        gw_json_gen_cstr(g, "timeout_ms");
        yajl_gen_integer(g, (long long)s->timeout_ms);
        yajl_gen_map_close(g);
    }
    yajl_gen_array_close(g);
    gw_json_gen_cstr(g, "tools");
    yajl_gen_map_open(g);
    size_t hidden = 0;
    for (size_t i = 0; i < cat->nbackends; i++) {
        const brk_backend_t *b = &cat->backends[i];
        if (b->state != BRK_BACKEND_UP) {
            continue;
        }
        for (size_t t = 0; t < b->ntools; t++) {
            const brk_backend_t *owner = owner_before(cat, b, b->tool_names[t]);
            if (owner != NULL) {
                hidden++;
                gw_log_warn("msg=\"tool name collision; later backend's tool hidden\" tool=%s "
                            "kept=%s hidden=%s",
                            b->tool_names[t], owner->conf->name, b->conf->name);
                continue;
            }
            gw_json_gen_cstr(g, b->tool_names[t]);
            yajl_gen_integer(g, (long long)i);
        }
    }
    yajl_gen_map_close(g);
    gw_json_gen_cstr(g, "revoked");
    yajl_gen_array_open(g);
    for (size_t i = 0; i < nrevoked; i++) {
        gw_json_gen_cstr(g, revoked[i]);
    }
    yajl_gen_array_close(g);
    yajl_gen_map_close(g);
    yajl_gen_status st = yajl_gen_status_ok;
    yajl_gen_free(g);
    cat->collisions = hidden;
    return st == yajl_gen_status_ok ? GW_OK : GW_ENOMEM;
}
