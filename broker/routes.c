/* routes.c: the routes subscription of each router: the routing table pushed after every catalog
 * change, revocations pushed as they happen, and the routers' acknowledgements of each push. */
#include <config.h> /* autoconf's, not common/config.h */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/broker.h"
#include "common/buf.h"
#include "common/json.h"
#include "common/log.h"

/* Sends one message of the routes subscription to router only, or to every router (only < 0). */
static void send_routes_message(brk_t *b, long only, const gw_buf_t *msg, gw_str_t request_id)
{
    for (size_t i = 0; i < BRK_MAX_ROUTERS; i++) {
        if (b->subs[i].active && (only < 0 || (size_t)only == i)) {
            gw_name_t name = gw_router_inbox((unsigned)i);
            brk_reply(b, (gw_str_t){name.s, strlen(name.s)}, b->subs[i].corr, GW_ENV_CHUNK, 0,
                      msg->data, msg->len, request_id);
        }
    }
}

static yajl_gen_status gen_revoked_entry(yajl_gen g, const brk_session_t *s)
{
    char entry[GW_UUID_TEXT_LEN + 24];
    snprintf(entry, sizeof(entry), "%s %lld", s->uuid, (long long)s->expires_s);
    return gw_json_gen_cstr(g, entry);
}

/* {"seq", ["reset": true,] "revoke": [...]}: every revoked session when list is NULL. */
static yajl_gen_status gen_revoked(brk_t *b, yajl_gen g, brk_session_t *const *list, size_t n)
{
    yajl_gen_status st;
    if ((st = yajl_gen_map_open(g)) != yajl_gen_status_ok ||
        (st = gw_json_gen_cstr(g, "seq")) != yajl_gen_status_ok ||
        (st = yajl_gen_integer(g, (long long)b->routes_seq)) != yajl_gen_status_ok) {
        return st;
    }
    if (list == NULL && ((st = gw_json_gen_cstr(g, "reset")) != yajl_gen_status_ok ||
                         (st = yajl_gen_bool(g, 1)) != yajl_gen_status_ok)) {
        return st;
    }
    if ((st = gw_json_gen_cstr(g, "revoke")) != yajl_gen_status_ok ||
        (st = yajl_gen_array_open(g)) != yajl_gen_status_ok) {
        return st;
    }
    for (size_t i = 0; list != NULL && i < n; i++) {
        if ((st = gen_revoked_entry(g, list[i])) != yajl_gen_status_ok) {
            return st;
        }
    }
    size_t pos = 0;
    for (const brk_session_t *s = list == NULL ? brk_sessions_next(b, NULL, &pos) : NULL; s != NULL;
         s = brk_sessions_next(b, s, &pos)) {
        if (s->revoked && (st = gen_revoked_entry(g, s)) != yajl_gen_status_ok) {
            return st;
        }
    }
    if ((st = yajl_gen_array_close(g)) != yajl_gen_status_ok) {
        return st;
    }
    return yajl_gen_map_close(g);
}

/* Revocations go to the routers as they happen, in small messages of their own; a router keeps
 * each until its token expires. A router that subscribes gets them all at once first (only = its
 * index, list NULL). A DELETE waits for the routers' acknowledgement of the seq. */
gw_err_t brk_routes_push_revoked(brk_t *b, long only, brk_session_t *const *list, size_t n,
                                 gw_str_t request_id)
{
    gw_buf_t msg;
    gw_buf_init(&msg);
    yajl_gen g = gw_json_gen_to_buf(&msg);
    if (g == NULL) {
        gw_log_err("msg=\"cannot push revocations: out of memory\"");
        return GW_ENOMEM;
    }
    b->routes_seq++;
    gw_err_t err = gw_json_gen_done(g, &msg, gen_revoked(b, g, list, n));
    if (err != GW_OK) {
        gw_log_err("msg=\"cannot push revocations\" error=\"%s\"", gw_strerror(err));
        gw_buf_fini(&msg);
        return GW_ENOMEM;
    }
    send_routes_message(b, only, &msg, request_id);
    gw_buf_fini(&msg);
    return GW_OK;
}

void brk_routes_send(brk_t *b, long only, const gw_buf_t *msg)
{
    send_routes_message(b, only, msg, GW_STR(""));
}

void brk_routes_push(brk_t *b)
{
    gw_buf_t msg;
    gw_buf_init(&msg);
    b->routes_seq++;
    if (brk_catalog_routes(&b->cycle->cat, b->routes_seq, &msg) != GW_OK) {
        gw_log_err("msg=\"cannot build the routing table\"");
        gw_buf_fini(&msg);
        return;
    }
    send_routes_message(b, -1, &msg, GW_STR(""));
    gw_buf_fini(&msg);
}

void brk_routes_on_ack(brk_t *b, const gw_envelope_t *e)
{
    char buf[24];
    unsigned r;
    if (e->body.len >= sizeof(buf)) {
        return;
    }
    if (!gw_router_inbox_parse(e->origin.ptr, e->origin.len, &r) || r >= BRK_MAX_ROUTERS) {
        return;
    }
    memcpy(buf, e->body.ptr, e->body.len);
    buf[e->body.len] = '\0';
    uint64_t seq = strtoull(buf, NULL, 10);
    if (seq > b->subs[r].acked) {
        b->subs[r].acked = seq;
    }
}

void brk_routes_on_subscribe(brk_t *b, const gw_envelope_t *e)
{
    char idx[16];
    snprintf(idx, sizeof(idx), "%.*s", (int)(e->body.len < 15 ? e->body.len : 15), e->body.ptr);
    unsigned long i = strtoul(idx, NULL, 10);
    if (i >= BRK_MAX_ROUTERS) {
        return;
    }
    gw_name_t expect = gw_router_inbox((unsigned)i);
    if (!gw_str_eq(e->origin, expect.s)) {
        return;
    }
    b->subs[i].active = 1;
    b->subs[i].corr = e->corr;
    /* a router (re)subscribes when it starts: streams an earlier one held are gone */
    brk_get_stream_release_router(b, expect.s);
    brk_listen_release_router(b, expect.s);
    gw_log_debug("msg=\"router subscribed\" router=%lu", i);
    /* every revocation first: then the table that opens it */
    brk_routes_push_revoked(b, (long)i, NULL, 0, GW_STR(""));
    brk_keys_push_all(b, (long)i);
    brk_routes_push(b);
    brk_ready_check(b);
}
