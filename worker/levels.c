/* levels.c: per-session log levels: a logging/setLevel for a session that has no upstream
 * session here yet, kept until its first call creates one. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/log.h"
#include "worker/worker.h"

/* A session's logging/setLevel request, kept until that session first uses this backend. */
typedef struct level {
    link_t link; /* w->levels */
    char key[WRK_UPKEY_MAX + 1];
    gw_buf_t body; /* the client's logging/setLevel message, sent as it is */
} level_t;

#define WRK_LEVELS_MAX 65536

static level_t *level_find(wrk_t *w, const char *key, size_t n)
{
    for (link_t *l = w->levels.next; l != &w->levels; l = l->next) {
        level_t *lv = GW_CONTAINER_OF(l, level_t, link);
        if (strlen(lv->key) == n && memcmp(lv->key, key, n) == 0) {
            return lv;
        }
    }
    return NULL;
}

static void level_drop(wrk_t *w, level_t *lv)
{
    list_remove(&lv->link);
    gw_buf_fini(&lv->body);
    free(lv);
    w->nlevels--;
}

/* A 2026-07-28 backend has no logging/setLevel: the level goes in each request's _meta. */
void wrk_level_apply_pending(upstream_t *up)
{
    level_t *lv = level_find(up->w, up->key, strlen(up->key));
    if (lv != NULL) {
        if (up->modern) {
            wrk_level_take(lv->body.data, lv->body.len, up->level);
        } else {
            wrk_closer_post(up, lv->body.data, lv->body.len, up->rid);
        }
        level_drop(up->w, lv);
    }
}

int wrk_level_rank(const char *level, size_t n)
{
    static const char *const names[] = {"debug", "info",     "notice", "warning",
                                        "error", "critical", "alert",  "emergency"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strlen(names[i]) == n && memcmp(names[i], level, n) == 0) {
            return (int)i;
        }
    }
    return -1;
}

int wrk_level_take(const char *body, size_t len, char out[16])
{
    char err[64];
    yajl_val v = gw_json_parse(body, len, err, sizeof(err));
    const char *level = gw_json_get_string(gw_json_get(v, "params"), "level");
    int ok = level != NULL && wrk_level_rank(level, strlen(level)) >= 0;

    if (ok) {
        snprintf(out, 16, "%s", level);
    }
    yajl_tree_free(v);
    return ok;
}

gw_err_t wrk_level_keep(wrk_t *w, gw_str_t key, gw_str_t body)
{
    level_t *lv = level_find(w, key.ptr, key.len);
    if (lv == NULL) {
        if (w->nlevels >= WRK_LEVELS_MAX) {
            return GW_ETOOBIG;
        }
        if ((lv = calloc(1, sizeof(*lv))) == NULL) {
            return GW_ENOMEM;
        }
        memcpy(lv->key, key.ptr, key.len);
        lv->key[key.len] = '\0';
        gw_buf_init(&lv->body);
        list_append(&w->levels, &lv->link);
        w->nlevels++;
    }
    gw_buf_reset(&lv->body);
    if (gw_buf_append(&lv->body, body.ptr, body.len) != GW_OK) {
        level_drop(w, lv); /* an empty message would be no logging/setLevel at all */
        return GW_ENOMEM;
    }
    return GW_OK;
}

void wrk_level_forget(wrk_t *w, const char *key, size_t n)
{
    level_t *lv = level_find(w, key, n);
    if (lv != NULL) {
        level_drop(w, lv);
    }
}

void wrk_levels_fini(wrk_t *w)
{
    while (!list_empty(&w->levels)) {
        level_drop(w, GW_CONTAINER_OF(w->levels.next, level_t, link));
    }
}
