/* tasks.c: task ids rewritten on their way to clients, so that a router can route tasks/get,
 * tasks/result and tasks/cancel back to the backend that owns the task. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_tree.h>

#include "common/gwid.h"
#include "common/json.h"
#include "worker/worker.h"

/* ---- task ids ---- */

/* Task ids reach clients as gateway ids (common/gwid.h), so that a router can send
 * tasks/get, tasks/result and tasks/cancel to the backend that owns the task (and two backends'
 * ids never collide). Only the members the spec gives task ids are rewritten. */

/* Prefixes the string member key of obj in place; returns 1 when it did. */
static int task_prefix_member(wrk_t *w, yajl_val obj, const char *key)
{
    yajl_val v = gw_json_get(obj, key);
    if (!YAJL_IS_STRING(v)) {
        return 0;
    }
    size_t n = sizeof(GW_GWID_TAG) + strlen(w->name) + 1 + strlen(v->u.string); /* NUL, ":" */
    char *p = malloc(n);
    if (p == NULL) {
        return 0;
    }
    if (gw_gwid_format(p, n, w->name, v->u.string) != GW_OK) {
        free(p);
        return 0;
    }
    free(v->u.string);
    v->u.string = p;
    return 1;
}

/* Adds the string member key (obj has none) to obj; returns 1 when it did. */
static int json_add_string(yajl_val obj, const char *key, const char *value)
{
    size_t n = obj->u.object.len;
    const char **keys = realloc((void *)obj->u.object.keys, (n + 1) * sizeof(*keys));
    if (keys == NULL) {
        return 0;
    }
    obj->u.object.keys = keys;
    yajl_val *values = realloc(obj->u.object.values, (n + 1) * sizeof(*values));
    if (values == NULL) {
        return 0;
    }
    obj->u.object.values = values;
    yajl_val v = calloc(1, sizeof(*v));
    char *k = strdup(key);
    char *s = strdup(value);
    if (v == NULL || k == NULL || s == NULL) {
        free(v);
        free(k);
        free(s);
        return 0;
    }
    v->type = yajl_t_string;
    v->u.string = s;
    keys[n] = k;
    values[n] = v;
    obj->u.object.len = n + 1;
    return 1;
}

/* Writes into out the message with its task ids (and, for a tasks/list answer, its nextCursor)
 * made the gateway's; returns 0 when there was nothing to change. next names the backend whose
 * tasks come after this one's in tasks/list (NULL: none). */
int wrk_tasks_rewrite(wrk_t *w, const char *data, size_t len, int list_reply, gw_str_t next,
                      gw_buf_t *out)
{
    static const char related[] = "io.modelcontextprotocol/related-task";
    if (!w->tasks || (!list_reply && memmem(data, len, "\"taskId\"", 8) == NULL)) {
        /* a backend without tasks costs its answers nothing here (every reply passes by) */
        return 0;
    }
    char err[64];
    yajl_val tree = gw_json_parse(data, len, err, sizeof(err));
    if (tree == NULL) {
        return 0;
    }
    yajl_val result = gw_json_get(tree, "result");
    yajl_val params = gw_json_get(tree, "params");
    int changed =
        task_prefix_member(w, gw_json_get(result, "task"), "taskId"); /* CreateTaskResult */
    changed |= task_prefix_member(w, result, "taskId");               /* tasks/get, tasks/cancel */
    changed |= task_prefix_member(w, params, "taskId"); /* notifications/tasks/status */
    changed |= task_prefix_member(w, gw_json_get(gw_json_get(result, "_meta"), related), "taskId");
    changed |= task_prefix_member(w, gw_json_get(gw_json_get(params, "_meta"), related), "taskId");
    yajl_val tasks = gw_json_get(result, "tasks");
    for (size_t i = 0; list_reply && YAJL_IS_ARRAY(tasks) && i < tasks->u.array.len; i++) {
        changed |= task_prefix_member(w, tasks->u.array.values[i], "taskId");
    }
    if (list_reply && YAJL_IS_OBJECT(result)) {
        if (gw_json_get(result, "nextCursor") != NULL) {
            changed |= task_prefix_member(w, result, "nextCursor");
        } else if (next.len > 0 && next.len <= GW_SERVER_NAME_MAX) {
            /* a cursor that starts the next backend's tasks */
            char server[GW_SERVER_NAME_MAX + 1];
            char cursor[GW_SERVER_NAME_MAX + 16];
            memcpy(server, next.ptr, next.len);
            server[next.len] = '\0';
            if (gw_gwid_format(cursor, sizeof(cursor), server, "") == GW_OK) {
                changed |= json_add_string(result, "nextCursor", cursor);
            }
        }
    }
    if (changed && gw_json_to_buf(tree, out) != GW_OK) {
        changed = 0;
    }
    yajl_tree_free(tree);
    return changed;
}
