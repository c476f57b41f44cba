/* streams.c: per-session GET stream records for the broker (see streams.h). */
#include <config.h> /* autoconf's, not common/config.h */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "common/streams.h"

static int stream_has_key(const gw_hnode_t *n, const void *key, size_t len)
{
    const gw_stream_t *st = GW_CONTAINER_OF(n, gw_stream_t, node);
    return strlen(st->key) == len && memcmp(st->key, key, len) == 0;
}

#define STREAM_OF(n) ((n) == NULL ? NULL : GW_CONTAINER_OF((n), gw_stream_t, node))

static void base36(uint64_t v, char *out, size_t outlen)
{
    char tmp[16];
    size_t n = 0;
    do {
        tmp[n++] = "0123456789abcdefghijklmnopqrstuvwxyz"[v % 36];
        v /= 36;
    } while (v > 0 && n < sizeof(tmp));
    size_t o = 0;
    while (n > 0 && o + 1 < outlen) {
        out[o++] = tmp[--n];
    }
    out[o] = '\0';
}

gw_err_t gw_streams_init(gw_streams_t *s, unsigned replay, size_t max_bytes, uint64_t epoch)
{
    memset(s, 0, sizeof(*s));
    gw_htable_init(&s->table);
    s->replay = replay;
    s->max_bytes = max_bytes;
    base36(epoch, s->epoch, sizeof(s->epoch));
    return GW_OK;
}

static void stream_free(gw_stream_t *st, unsigned cap)
{
    for (size_t i = 0; i < st->count; i++) {
        free(st->ring[(st->head + i) % cap].json);
    }
    free(st->ring);
    free(st);
}

void gw_streams_fini(gw_streams_t *s)
{
    size_t pos = 0;
    gw_hnode_t *n = gw_htable_next(&s->table, NULL, &pos);
    while (n != NULL) {
        gw_hnode_t *next = gw_htable_next(&s->table, n, &pos);
        stream_free(STREAM_OF(n), s->replay);
        n = next;
    }
    gw_htable_fini(&s->table);
}

size_t gw_streams_count(const gw_streams_t *s)
{
    return s->table.n;
}

gw_stream_t *gw_streams_find(const gw_streams_t *s, const char *key, size_t len)
{
    if (len >= sizeof(((gw_stream_t *)0)->key)) {
        return NULL;
    }
    return STREAM_OF(gw_htable_find(&s->table, gw_hash(key, len), key, len, stream_has_key));
}

gw_stream_t *gw_streams_get(gw_streams_t *s, const char *key, size_t len)
{
    gw_stream_t *st = gw_streams_find(s, key, len);
    if (st != NULL || len == 0 || len >= sizeof(st->key)) {
        return st;
    }
    if ((st = calloc(1, sizeof(*st))) == NULL) {
        return NULL;
    }
    if (s->replay > 0 && (st->ring = calloc(s->replay, sizeof(*st->ring))) == NULL) {
        free(st);
        return NULL;
    }
    memcpy(st->key, key, len);
    if (gw_htable_insert(&s->table, &st->node, gw_hash(key, len)) != GW_OK) {
        stream_free(st, s->replay);
        return NULL;
    }
    return st;
}

static void set_holder(gw_stream_t *st, const char *holder, size_t len, uint64_t corr)
{
    if (len >= sizeof(st->holder)) {
        len = 0; /* not a name the broker gives out: hold nothing rather than a wrong name */
    }
    memcpy(st->holder, holder, len);
    st->holder[len] = '\0';
    st->holder_corr = len > 0 ? corr : 0;
}

void gw_stream_hold(gw_stream_t *st, const char *holder, size_t holder_len, uint64_t corr,
                    char prev_holder[GW_STREAM_HOLDER_MAX], uint64_t *prev_corr)
{
    memcpy(prev_holder, st->holder, sizeof(st->holder));
    *prev_corr = st->holder_corr;
    set_holder(st, holder, holder_len, corr);
}

int gw_stream_release(gw_stream_t *st, const char *holder, size_t holder_len, uint64_t corr)
{
    if (st->holder_corr != corr || strlen(st->holder) != holder_len ||
        memcmp(st->holder, holder, holder_len) != 0) {
        return 0;
    }
    set_holder(st, "", 0, 0);
    return 1;
}

size_t gw_streams_release_holder(gw_streams_t *s, const char *holder)
{
    size_t n = 0, pos = 0;
    for (gw_hnode_t *h = gw_htable_next(&s->table, NULL, &pos); h != NULL;
         h = gw_htable_next(&s->table, h, &pos)) {
        gw_stream_t *st = STREAM_OF(h);
        if (st->holder[0] != '\0' && strcmp(st->holder, holder) == 0) {
            set_holder(st, "", 0, 0);
            n++;
        }
    }
    return n;
}

void gw_stream_event_id(const gw_streams_t *s, uint64_t n, char id[GW_EVENT_ID_MAX])
{
    snprintf(id, GW_EVENT_ID_MAX, "%s-%" PRIu64, s->epoch, n);
}

static void drop_oldest(gw_streams_t *s, gw_stream_t *st)
{
    gw_stream_event_t *ev = &st->ring[st->head];
    st->bytes -= ev->len;
    free(ev->json);
    ev->json = NULL;
    st->head = (st->head + 1) % s->replay;
    st->count--;
    s->dropped++;
}

gw_err_t gw_stream_publish(gw_streams_t *s, gw_stream_t *st, const char *json, size_t len,
                           char id[GW_EVENT_ID_MAX])
{
    st->last_n++;
    gw_stream_event_id(s, st->last_n, id);
    if (s->replay == 0) {
        return GW_OK;
    }
    char *copy = malloc(len + 1);
    if (copy == NULL) {
        return GW_ENOMEM; /* the event still goes out live; it just cannot be replayed */
    }
    memcpy(copy, json, len);
    copy[len] = '\0';
    while (st->count > 0 && (st->count == s->replay || st->bytes + len > s->max_bytes)) {
        drop_oldest(s, st);
    }
    gw_stream_event_t *ev = &st->ring[(st->head + st->count) % s->replay];
    ev->n = st->last_n;
    ev->json = copy;
    ev->len = len;
    st->count++;
    st->bytes += len;
    return GW_OK;
}

size_t gw_stream_replay(const gw_streams_t *s, const gw_stream_t *st, const char *last_event_id,
                        size_t len, gw_stream_replay_fn fn, void *arg)
{
    if (len == 0) {
        return 0; /* a new stream, not a resumption: only what happens from now on */
    }
    uint64_t after = 0; /* another run's id, or one this broker never gave: replay all it has */
    size_t el = strlen(s->epoch);
    if (len > el + 1 && len < 64 && memcmp(last_event_id, s->epoch, el) == 0 &&
        last_event_id[el] == '-') {
        char digits[64];
        memcpy(digits, last_event_id + el + 1, len - el - 1);
        digits[len - el - 1] = '\0';
        char *end = NULL;
        unsigned long long v = strtoull(digits, &end, 10);
        if (end != NULL && *end == '\0' && digits[0] >= '0' && digits[0] <= '9' &&
            v <= st->last_n) {
            after = v;
        }
    }
    size_t missed = 0;
    if (st->count > 0) {
        uint64_t oldest = st->ring[st->head].n;
        missed = oldest > after + 1 ? (size_t)(oldest - after - 1) : 0;
    } else if (st->last_n > after) {
        missed = (size_t)(st->last_n - after);
    }
    for (size_t i = 0; i < st->count; i++) {
        const gw_stream_event_t *ev = &st->ring[(st->head + i) % s->replay];
        if (ev->n > after) {
            char id[GW_EVENT_ID_MAX];
            gw_stream_event_id(s, ev->n, id);
            fn(arg, id, ev->json, ev->len);
        }
    }
    return missed;
}

void gw_streams_drop(gw_streams_t *s, const char *key, size_t len)
{
    gw_stream_t *st = gw_streams_find(s, key, len);
    if (st != NULL) {
        gw_htable_remove(&s->table, &st->node);
        stream_free(st, s->replay);
    }
}

void gw_streams_each(gw_streams_t *s, void (*fn)(void *arg, gw_stream_t *st), void *arg)
{
    size_t pos = 0;
    for (gw_hnode_t *h = gw_htable_next(&s->table, NULL, &pos); h != NULL;
         h = gw_htable_next(&s->table, h, &pos)) {
        fn(arg, STREAM_OF(h));
    }
}
