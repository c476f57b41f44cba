/* cap_sets.c: the broker's side of client capability sets: a set made active when a session of
 * it first appears (its view built, every worker asked to fetch its lists), and list requests
 * that wait, bounded, for the first fetch of their set. */
#include <config.h> /* autoconf's, not common/config.h */

#include <stdlib.h>
#include <string.h>

#include "broker/broker.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/names.h"

/* A list request parked until its set's lists are in (or its deadline). */
typedef struct brk_list_wait {
    struct brk_list_wait *next;
    unsigned set;
    int64_t deadline_ms;
    gw_buf_t frame; /* the request's envelope, encoded (what it points to lives here) */
} brk_list_wait_t;

static int frame_write(void *data, const char *buf, size_t len)
{
    return gw_buf_append(data, buf, len) != GW_OK;
}

/* Asks worker (its inbox name) to fetch the lists of set s: "catalog/want" (docs/ipc.md). */
static void send_want(brk_t *b, gw_str_t worker, unsigned s)
{
    gw_envelope_t e = {.kind = GW_ENV_CONTROL, .caps = (uint8_t)s};
    e.method = GW_STR("catalog/want");
    brk_reply_send(b, worker, &e, GW_STR(""));
}

void brk_cap_sets_want(brk_t *b, unsigned s)
{
    brk_catalog_t *cat = &b->cycle->cat;
    unsigned changed = 0;
    s &= BRK_CAP_SET_MASK;
    if (cat->active & (1u << s)) {
        return;
    }
    if (brk_catalog_activate(cat, s, &changed) != GW_OK) {
        gw_log_err("msg=\"capability set not activated: out of memory\" caps=%u", s);
        return; /* its sessions see the default set's lists meanwhile */
    }
    if (changed & BRK_CHANGED_ROUTES) {
        brk_routes_push(b);
    }
    for (unsigned l = 0; l < GW_NLISTS; l++) {
        b->list_digest[s][l] = brk_catalog_digest(cat, s, (gw_list_t)l);
    }
    for (size_t i = 0; i < b->cycle->cfg->nservers; i++) {
        const gw_server_conf_t *srv = &b->cycle->cfg->servers[i];
        for (unsigned k = 0; k < srv->workers; k++) { /* each shard keeps its own catalogs */
            gw_name_t name = gw_worker_shard_inbox(srv->name, k);
            send_want(b, (gw_str_t){name.s, strlen(name.s)}, s);
        }
    }
}

void brk_cap_sets_on_default_report(brk_t *b, gw_str_t worker)
{
    char server[GW_SERVER_NAME_MAX + 1];
    const char *name;
    size_t len;
    unsigned shard;
    if (b->cycle->cat.active == 1u ||
        !gw_worker_inbox_parse(worker.ptr, worker.len, &name, &len, &shard)) {
        return;
    }
    memcpy(server, name, len);
    server[len] = '\0';
    const brk_backend_t *be = brk_catalog_backend(&b->cycle->cat, server);
    if (be == NULL || be->state != BRK_BACKEND_UP) {
        return;
    }
    for (unsigned s = 1; s < BRK_CAP_SETS; s++) {
        if (b->cycle->cat.active & (1u << s)) {
            send_want(b, worker, s);
        }
    }
}

/* How long a list request waits for its set: the longest servers[].timeout, at most
 * BRK_LIST_WAIT_MAX_MS (a router's call to the broker must not time out first). */
static int64_t wait_ms(const brk_t *b)
{
    uint64_t ms = 0;
    for (size_t i = 0; i < b->cycle->cfg->nservers; i++) {
        uint64_t t = b->cycle->cfg->servers[i].timeout_ms;
        ms = t > ms ? t : ms;
    }
    return (int64_t)(ms < BRK_LIST_WAIT_MAX_MS ? ms : BRK_LIST_WAIT_MAX_MS);
}

int brk_list_wait_park(brk_t *b, const gw_envelope_t *e, unsigned s)
{
    if (brk_catalog_set_complete(&b->cycle->cat, s) || b->nlist_waits >= BRK_LIST_WAITS_MAX) {
        return 0;
    }
    brk_list_wait_t *w = calloc(1, sizeof(*w));
    if (w == NULL) {
        return 0; /* answered at once, from the set with fewer capabilities */
    }
    gw_buf_init(&w->frame);
    if (gw_env_encode(e, frame_write, &w->frame) != GW_OK || gw_buf_status(&w->frame) != GW_OK) {
        gw_buf_fini(&w->frame);
        free(w);
        return 0;
    }
    w->set = s;
    w->deadline_ms = gw_clock_ms() + wait_ms(b);
    w->next = b->list_waits;
    b->list_waits = w;
    b->nlist_waits++;
    gw_log_debug("msg=\"list waits for its capability set\" caps=%u request_id=%.*s", s,
                 (int)e->request_id.len, e->request_id.ptr);
    return 1;
}

int64_t brk_list_wait_run(brk_t *b, int64_t now, int stop)
{
    int64_t next = INT64_MAX;
    brk_list_wait_t **link = &b->list_waits;
    while (*link != NULL) {
        brk_list_wait_t *w = *link;
        int done = brk_catalog_set_complete(&b->cycle->cat, w->set);
        if (!stop && !done && now < w->deadline_ms) {
            next = w->deadline_ms < next ? w->deadline_ms : next;
            link = &w->next;
            continue;
        }
        *link = w->next;
        b->nlist_waits--;
        gw_envelope_t e;
        if (!stop && gw_env_decode(w->frame.data, w->frame.len, &e) == GW_OK) {
            *(done ? &b->list_waits_fetched : &b->list_waits_timeout) += 1;
            if (!done) {
                gw_log_warn("msg=\"capability set not fetched in time; answered with fewer "
                            "capabilities\" caps=%u request_id=%.*s",
                            w->set, (int)e.request_id.len, e.request_id.ptr);
            }
            brk_methods_list_answer(b, &e);
        }
        gw_buf_fini(&w->frame);
        free(w);
    }
    return next;
}
