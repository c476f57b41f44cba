/* mrtr.c: the table of a worker's parked calls (docs/design-2026-07-28.md 5.3): slots handed out
 * from a free list, bounded per worker (limits.max_waiting_calls) and per caller, each guarded
 * by a random nonce and its round, and named to the router by the worker's run id. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "worker/mrtr.h"

gw_err_t wrk_mrtr_init(wrk_mrtr_t *t, uint32_t max, uint64_t run)
{
    memset(t, 0, sizeof(*t));
    t->max = max;
    t->run = run;
    t->v = calloc(max > 0 ? max : 1, sizeof(*t->v));
    t->free = calloc(max > 0 ? max : 1, sizeof(*t->free));
    if (t->v == NULL || t->free == NULL) {
        wrk_mrtr_fini(t);
        return GW_ENOMEM;
    }
    return GW_OK;
}

static void wait_clear_reqs(wrk_wait_t *w)
{
    for (size_t i = 0; i < w->nreqs; i++) {
        gw_buf_fini(&w->reqs[i].id);
        gw_buf_fini(&w->reqs[i].params);
    }
    w->nreqs = 0;
}

static void wait_destroy(wrk_wait_t *w)
{
    wait_clear_reqs(w);
    gw_buf_fini(&w->tag);
    gw_buf_fini(&w->subject);
    free(w);
}

void wrk_mrtr_fini(wrk_mrtr_t *t)
{
    for (uint32_t i = 0; t->v != NULL && i < t->hwm; i++) {
        if (t->v[i] != NULL) {
            wait_destroy(t->v[i]);
        }
    }
    free(t->v);
    free(t->free);
    t->v = NULL;
    t->free = NULL;
    t->nused = t->nfree = t->hwm = 0;
}

static int same(const gw_buf_t *b, gw_str_t s)
{
    return b->len == s.len && (s.len == 0 || memcmp(b->data, s.ptr, s.len) == 0);
}

wrk_wait_t *wrk_mrtr_alloc(wrk_mrtr_t *t, gw_str_t tag, gw_str_t subject, uint32_t nonce,
                           wrk_wait_err_t *err)
{
    if (t->nused >= t->max) {
        *err = WRK_WAIT_E_FULL;
        return NULL;
    }
    if (tag.len > WRK_WAIT_CALLER_MAX || subject.len > WRK_WAIT_CALLER_MAX) {
        *err = WRK_WAIT_E_CALLER; /* the router bounds them far below: not a caller to keep */
        return NULL;
    }
    /* per caller: a walk over the slots in use, at most limits.max_waiting_calls, and only when
     * a call parks (rare next to calls) */
    unsigned mine = 0;
    for (uint32_t i = 0; i < t->hwm; i++) {
        const wrk_wait_t *o = t->v[i];
        if (o != NULL && same(&o->tag, tag) && same(&o->subject, subject) &&
            ++mine >= WRK_WAITS_PER_CALLER) {
            *err = WRK_WAIT_E_CALLER;
            return NULL;
        }
    }
    wrk_wait_t *w = calloc(1, sizeof(*w));
    if (w == NULL) {
        *err = WRK_WAIT_E_NOMEM;
        return NULL;
    }
    gw_buf_init(&w->tag);
    gw_buf_init(&w->subject);
    if (gw_buf_append(&w->tag, tag.ptr, tag.len) != GW_OK ||
        gw_buf_append(&w->subject, subject.ptr, subject.len) != GW_OK) {
        wait_destroy(w);
        *err = WRK_WAIT_E_NOMEM;
        return NULL;
    }
    w->slot = t->nfree > 0 ? t->free[--t->nfree] : t->hwm++;
    w->nonce = nonce;
    w->state = WRK_WAIT_COLLECTING;
    t->v[w->slot] = w;
    t->nused++;
    *err = WRK_WAIT_OK;
    return w;
}

void wrk_mrtr_free(wrk_mrtr_t *t, wrk_wait_t *w)
{
    if (w == NULL || w->slot >= t->hwm || t->v[w->slot] != w) {
        return;
    }
    t->v[w->slot] = NULL;
    t->free[t->nfree++] = w->slot;
    t->nused--;
    wait_destroy(w);
}

static gw_str_t header(const gw_env_header_t *h, size_t nh, const char *name)
{
    for (size_t i = 0; i < nh; i++) {
        if (gw_str_eq(h[i].name, name)) {
            return h[i].value;
        }
    }
    return GW_STR_NULL;
}

/* A decimal u32 (no sign, no leading zero but "0", at most 10 digits); 0 when malformed. */
static int parse_u32(gw_str_t s, uint32_t *out)
{
    uint64_t v = 0;
    if (s.len == 0 || s.len > 10 || (s.len > 1 && s.ptr[0] == '0')) {
        return 0;
    }
    for (size_t i = 0; i < s.len; i++) {
        if (s.ptr[i] < '0' || s.ptr[i] > '9') {
            return 0;
        }
        v = v * 10 + (uint64_t)(s.ptr[i] - '0');
    }
    if (v > UINT32_MAX) {
        return 0;
    }
    *out = (uint32_t)v;
    return 1;
}

/* 16 lowercase hex digits. */
static int parse_run(gw_str_t s, uint64_t *out)
{
    uint64_t v = 0;
    if (s.len != 16) {
        return 0;
    }
    for (size_t i = 0; i < 16; i++) {
        char c = s.ptr[i];
        unsigned d;
        if (c >= '0' && c <= '9') {
            d = (unsigned)(c - '0');
        } else if (c >= 'a' && c <= 'f') {
            d = (unsigned)(c - 'a' + 10);
        } else {
            return 0;
        }
        v = v << 4 | d;
    }
    *out = v;
    return 1;
}

wrk_wait_t *wrk_mrtr_lookup(wrk_mrtr_t *t, const gw_env_header_t *h, size_t nh, gw_str_t tag,
                            gw_str_t subject, wrk_wait_err_t *err)
{
    uint64_t run;
    uint32_t slot;
    uint32_t nonce;
    uint32_t round;

    if (!parse_run(header(h, nh, "wait-run"), &run) ||
        !parse_u32(header(h, nh, "wait-slot"), &slot) ||
        !parse_u32(header(h, nh, "wait-nonce"), &nonce) ||
        !parse_u32(header(h, nh, "wait-round"), &round)) {
        *err = WRK_WAIT_E_HEADERS;
        return NULL;
    }
    if (run != t->run) {
        *err = WRK_WAIT_E_RUN;
        return NULL;
    }
    wrk_wait_t *w = slot < t->hwm ? t->v[slot] : NULL;
    if (w == NULL) {
        *err = WRK_WAIT_E_NO_SLOT;
        return NULL;
    }
    /* the nonce first: a slot reused for another call must not say anything about that call */
    if (w->nonce != nonce) {
        *err = WRK_WAIT_E_NONCE;
        return NULL;
    }
    if (!same(&w->tag, tag) || !same(&w->subject, subject)) {
        *err = WRK_WAIT_E_OTHER_CALLER;
        return NULL;
    }
    if (w->round != round) {
        *err = WRK_WAIT_E_ROUND;
        return NULL;
    }
    if (w->state != WRK_WAIT_PARKED) {
        *err = WRK_WAIT_E_NOT_PARKED;
        return NULL;
    }
    *err = WRK_WAIT_OK;
    return w;
}

wrk_wait_t *wrk_mrtr_expired(const wrk_mrtr_t *t, int64_t now, int64_t *next)
{
    wrk_wait_t *due = NULL;
    int64_t ahead = INT64_MAX;

    for (uint32_t i = 0; i < t->hwm; i++) {
        wrk_wait_t *w = t->v[i];
        if (w == NULL || w->state != WRK_WAIT_PARKED) {
            continue;
        }
        if (w->expires_ms <= now) {
            if (due == NULL || w->expires_ms < due->expires_ms) {
                due = w;
            }
        } else if (w->expires_ms < ahead) {
            ahead = w->expires_ms;
        }
    }
    if (next != NULL) {
        *next = ahead;
    }
    return due;
}

wrk_wait_req_t *wrk_wait_add_req(wrk_wait_t *w, uint64_t n, const char *method, const char *id,
                                 size_t id_len, const char *params, size_t params_len)
{
    if (w->nreqs >= WRK_WAIT_REQS_MAX || strlen(method) >= WRK_WAIT_METHOD_MAX) {
        return NULL;
    }
    wrk_wait_req_t *r = &w->reqs[w->nreqs];
    memset(r, 0, sizeof(*r));
    r->n = n;
    memcpy(r->method, method, strlen(method) + 1);
    gw_buf_init(&r->id);
    gw_buf_init(&r->params);
    if (gw_buf_append(&r->id, id, id_len) != GW_OK ||
        gw_buf_append(&r->params, params, params_len) != GW_OK) {
        gw_buf_fini(&r->id);
        gw_buf_fini(&r->params);
        return NULL;
    }
    w->nreqs++;
    return r;
}

void wrk_wait_remove_req(wrk_wait_t *w, size_t i)
{
    if (i >= w->nreqs) {
        return;
    }
    gw_buf_fini(&w->reqs[i].id);
    gw_buf_fini(&w->reqs[i].params);
    memmove(&w->reqs[i], &w->reqs[i + 1], (w->nreqs - i - 1) * sizeof(w->reqs[0]));
    w->nreqs--;
}

gw_err_t wrk_wait_park(wrk_wait_t *w, int64_t expires_ms)
{
    if (w->round >= WRK_WAIT_ROUND_MAX) {
        return GW_ETOOBIG;
    }
    w->round++;
    w->state = WRK_WAIT_PARKED;
    w->expires_ms = expires_ms;
    for (size_t i = 0; i < w->nreqs; i++) {
        w->reqs[i].asked = 1;
    }
    return GW_OK;
}

const char *wrk_wait_strerror(wrk_wait_err_t err)
{
    static const char *const words[] = {
        [WRK_WAIT_OK] = "ok",
        [WRK_WAIT_E_FULL] = "too many calls waiting for input",
        [WRK_WAIT_E_CALLER] = "too many calls of this caller waiting for input",
        [WRK_WAIT_E_NOMEM] = "out of memory",
        [WRK_WAIT_E_HEADERS] = "wait headers missing or malformed",
        [WRK_WAIT_E_RUN] = "another run of the worker",
        [WRK_WAIT_E_NO_SLOT] = "no such parked call",
        [WRK_WAIT_E_NONCE] = "nonce mismatch",
        [WRK_WAIT_E_ROUND] = "another round",
        [WRK_WAIT_E_NOT_PARKED] = "the call is not waiting for a retry",
        [WRK_WAIT_E_OTHER_CALLER] = "another caller",
    };
    return (size_t)err < sizeof(words) / sizeof(words[0]) ? words[err] : "?";
}
