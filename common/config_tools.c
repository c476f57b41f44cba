/* config_tools.c: servers[].tools of mcpgw.yaml: include and exclude globs over the backend's own
 * tool names, rename from a backend name to the name clients see, and what must hold at load:
 * well-formed globs, exposed names that are MCP tool names (with the prefix too), no two renames
 * to one name, no rename onto a name that is itself renamed. */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "common/config_int.h"
#include "common/glob.h"

#define TOOL_GLOBS_MAX 1024
#define TOOL_RENAMES_MAX 1024

static gw_err_t set_renames(gw_config_ctx_t *cx, const gw_config_directive_t *d,
                            const gw_config_node_t *v, const char *path, void *obj);

static const gw_config_directive_t tools_directives[] = {
    {GW_CONFIG_ROW_STRLIST("include", gw_tool_names_t, include, ninclude)},
    {GW_CONFIG_ROW_STRLIST("exclude", gw_tool_names_t, exclude, nexclude)},
    {GW_CONFIG_ROW_CUSTOM("rename", set_renames)},
};

/* One rename entry: from (the key) and to (the value), stored as t's next rename. */
static gw_err_t take_rename(gw_config_ctx_t *cx, gw_tool_names_t *t, const gw_config_node_t *key,
                            const gw_config_node_t *value, const char *path)
{
    char sub[GW_CONFIG_KEY_PATH_MAX];
    gw_config_path_join(sub, path, key->text);
    const char *problem = gw_config_tool_name_problem(key->text, key->len);
    if (problem != NULL) {
        return gw_config_fail(cx, key, key->len == 0 ? path : sub, "%s", problem);
    }
    for (size_t j = 0; j < t->nrenames; j++) {
        if (strcmp(t->renames[j].from, key->text) == 0) {
            return gw_config_fail(cx, key, sub, "duplicate tool");
        }
    }
    gw_tool_rename_t *r = &t->renames[t->nrenames];
    if ((r->from = strdup(key->text)) == NULL) {
        return gw_config_fail_nomem(cx);
    }
    t->nrenames++;
    gw_err_t err = gw_config_take_nonempty(cx, value, sub, &r->to);
    if (err != GW_OK) {
        return err;
    }
    if (!gw_config_is_word(r->to, "_.-", 1, GW_CONFIG_TOOL_NAME_MAX)) {
        return gw_config_fail(
            cx, value, sub,
            "must be 1 to " GW_CONFIG_STR(
                GW_CONFIG_TOOL_NAME_MAX) " characters of [A-Za-z0-9_.-] (an MCP tool name)");
    }
    if (strcmp(r->to, r->from) == 0) {
        return gw_config_fail(cx, value, sub, "renames the tool to its own name");
    }
    for (size_t j = 0; j + 1 < t->nrenames; j++) {
        if (strcmp(t->renames[j].to, r->to) == 0) {
            return gw_config_fail(cx, value, sub, "\"%s\" is already the new name of \"%s\"", r->to,
                                  t->renames[j].from);
        }
    }
    return GW_OK;
}

/* rename: {backend name: exposed name}. */
static gw_err_t set_renames(gw_config_ctx_t *cx, const gw_config_directive_t *d,
                            const gw_config_node_t *v, const char *path, void *obj)
{
    gw_tool_names_t *t = obj;
    if (gw_config_node_is_null(v)) {
        return GW_OK;
    }
    if (v->kind != GW_CONFIG_MAPPING) {
        return gw_config_fail(cx, v, path, "expected a mapping of backend tool names to new names");
    }
    size_t n = v->nitems / 2;
    if (n > TOOL_RENAMES_MAX) {
        return gw_config_fail(cx, v, path, "at most %d renames", TOOL_RENAMES_MAX);
    }
    if (n == 0) {
        return GW_OK;
    }
    if ((t->renames = calloc(n, sizeof(*t->renames))) == NULL) {
        return gw_config_fail_nomem(cx);
    }
    for (size_t i = 0; i < n; i++) {
        gw_err_t err = take_rename(cx, t, v->items[2 * i], v->items[2 * i + 1], path);
        if (err != GW_OK) {
            return err;
        }
    }
    /* a new name that is another entry's old name would make a name mean two tools */
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < n; j++) {
            if (strcmp(t->renames[i].to, t->renames[j].from) == 0) {
                char sub[GW_CONFIG_KEY_PATH_MAX];
                gw_config_path_join(sub, path, t->renames[i].from);
                return gw_config_fail(cx, v->items[2 * i + 1], sub,
                                      "\"%s\" is itself renamed (to \"%s\"): a new name cannot be "
                                      "the old name of another tool",
                                      t->renames[i].to, t->renames[j].to);
            }
        }
    }
    return GW_OK;
}

/* include or exclude, read: at most TOOL_GLOBS_MAX well-formed globs; include not empty. */
static gw_err_t check_globs(gw_config_ctx_t *cx, const gw_config_node_t *tools, const char *path,
                            const char *key, char *const *globs, size_t n)
{
    const gw_config_node_t *list = gw_config_node_value_of(tools, key);
    char sub[GW_CONFIG_KEY_PATH_MAX];
    gw_config_path_join(sub, path, key);
    if (globs == NULL) {
        return GW_OK;
    }
    if (n == 0 && strcmp(key, "include") == 0) {
        return gw_config_fail(cx, list, sub,
                              "an empty include exposes no tool: leave include out to expose "
                              "every tool");
    }
    if (n > TOOL_GLOBS_MAX) {
        return gw_config_fail(cx, list, sub, "at most %d patterns", TOOL_GLOBS_MAX);
    }
    for (size_t i = 0; i < n; i++) {
        if (!gw_glob_valid(globs[i])) {
            char item[GW_CONFIG_KEY_PATH_MAX];
            gw_config_path_index(item, sub, i);
            return gw_config_fail(cx, list->items[i], item,
                                  "ends in a lone \\ (write \\\\ for a backslash)");
        }
    }
    return GW_OK;
}

gw_err_t gw_config_set_server_tools(gw_config_ctx_t *cx, const gw_config_directive_t *d,
                                    const gw_config_node_t *v, const char *path, void *obj)
{
    gw_server_conf_t *s = obj;
    gw_tool_names_t *t = &s->tools;
    if (gw_config_node_is_null(v)) {
        return GW_OK;
    }
    if (v->kind != GW_CONFIG_MAPPING) {
        return gw_config_fail(cx, v, path, "expected a mapping of include, exclude and rename");
    }
    gw_err_t err =
        gw_config_check_map(cx, v, path, tools_directives, GW_CONFIG_NELEM(tools_directives), t);
    if (err == GW_OK) {
        err = check_globs(cx, v, path, "include", t->include, t->ninclude);
    }
    if (err == GW_OK) {
        err = check_globs(cx, v, path, "exclude", t->exclude, t->nexclude);
    }
    if (err == GW_OK && gw_tool_names_index(t) != GW_OK) {
        err = gw_config_fail_nomem(cx);
    }
    return err;
}

gw_err_t gw_config_check_server_tools(gw_config_ctx_t *cx, const gw_config_node_t *item,
                                      const char *path, const gw_server_conf_t *s)
{
    size_t plen = strlen(s->prefix);
    for (size_t i = 0; i < s->tools.nrenames; i++) {
        const gw_tool_rename_t *r = &s->tools.renames[i];
        if (plen + strlen(r->to) <= GW_CONFIG_TOOL_NAME_MAX) {
            continue;
        }
        const gw_config_node_t *rename =
            gw_config_node_value_of(gw_config_node_value_of(item, "tools"), "rename");
        char sub[GW_CONFIG_KEY_PATH_MAX];
        char field[GW_CONFIG_KEY_PATH_MAX];
        gw_config_path_join(sub, path, "tools");
        gw_config_path_join(field, sub, "rename");
        gw_config_path_join(sub, field, r->from);
        return gw_config_fail(cx, gw_config_node_value_of(rename, r->from), sub,
                              "\"%s%s\" (with the prefix) is longer than " GW_CONFIG_STR(
                                  GW_CONFIG_TOOL_NAME_MAX) " characters",
                              s->prefix, r->to);
    }
    return GW_OK;
}
