/* sessions.c: the broker's session map: what a sealed token cannot hold (last activity,
 * revocation, the client address), found by uuid, learnt from routers after a restart, swept at
 * expiry. */
#include <config.h> /* autoconf's, not common/config.h */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/broker.h"
#include "common/clock.h"
#include "common/hash.h"
#include "common/log.h"

/* A function, not a macro: its argument (a table call) is evaluated once. */
static brk_session_t *session_of(gw_hnode_t *n)
{
    return n != NULL ? GW_CONTAINER_OF(n, brk_session_t, node) : NULL;
}

static int session_has_key(const gw_hnode_t *node, const void *key, size_t len)
{
    const brk_session_t *s = GW_CONTAINER_OF(node, brk_session_t, node);
    return memcmp(s->uuid, key, len) == 0; /* len is GW_UUID_TEXT_LEN, as every uuid's */
}

struct brk_client {
    char addr[sizeof(((brk_session_t *)0)->client)];
    size_t live; /* its sessions not revoked */
    gw_hnode_t node;
};

static int client_has_key(const gw_hnode_t *node, const void *key, size_t len)
{
    const brk_client_t *c = GW_CONTAINER_OF(node, brk_client_t, node);
    return strlen(c->addr) == len && memcmp(c->addr, key, len) == 0;
}

static brk_client_t *client_find(const brk_t *b, const char *addr)
{
    size_t len = strlen(addr);
    gw_hnode_t *n = gw_htable_find(&b->clients, gw_hash(addr, len), addr, len, client_has_key);
    return n != NULL ? GW_CONTAINER_OF(n, brk_client_t, node) : NULL;
}

/* s counts for its address no more; the address's entry goes with its last session. */
static void session_uncount(brk_t *b, brk_session_t *s)
{
    brk_client_t *c = s->counted;
    s->counted = NULL;
    if (c != NULL && --c->live == 0) {
        gw_htable_remove(&b->clients, &c->node);
        free(c);
    }
}

void brk_sessions_init(brk_t *b)
{
    gw_htable_init(&b->sessions);
    gw_htable_init(&b->clients);
    b->nsessions = 0;
}

brk_session_t *brk_session_find(brk_t *b, const char *uuid, size_t len)
{
    if (len != GW_UUID_TEXT_LEN) {
        return NULL;
    }
    return session_of(gw_htable_find(&b->sessions, gw_hash(uuid, len), uuid, len, session_has_key));
}

brk_session_t *brk_sessions_next(const brk_t *b, const brk_session_t *s, size_t *pos)
{
    return session_of(gw_htable_next(&b->sessions, s != NULL ? &s->node : NULL, pos));
}

brk_session_t *brk_session_add(brk_t *b, const char *uuid, int64_t now, int64_t expires)
{
    brk_session_t *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        return NULL;
    }
    snprintf(s->uuid, sizeof(s->uuid), "%s", uuid);
    s->created_s = s->last_s = now;
    s->last_ms = gw_clock_ms();
    s->expires_s = expires;
    if (gw_htable_insert(&b->sessions, &s->node, gw_hash(s->uuid, strlen(s->uuid))) != GW_OK) {
        free(s);
        return NULL;
    }
    b->nsessions++;
    return s;
}

/* The session a router names: one this broker never saw (it was restarted) exists all the same,
 * since the router checked its token; it is learnt, valid until the longest possible expiry. */
brk_session_t *brk_session_find_or_learn(brk_t *b, gw_str_t id)
{
    brk_session_t *s = brk_session_find(b, id.ptr, id.len);
    if (s == NULL && id.len == GW_UUID_TEXT_LEN) {
        char uuid[GW_UUID_TEXT_LEN + 1];
        snprintf(uuid, sizeof(uuid), "%.*s", (int)id.len, id.ptr);
        int64_t now = gw_wallclock_s();
        s = brk_session_add(b, uuid, now, now + (int64_t)b->cycle->cfg->session_ttl_s);
    }
    return s;
}

/* A count kept per address, not a scan: an initialize costs the same with 10,000 sessions. */
size_t brk_sessions_of_client(const brk_t *b, const char *client)
{
    const brk_client_t *c = client_find(b, client);
    return c != NULL ? c->live : 0;
}

gw_err_t brk_session_set_client(brk_t *b, brk_session_t *s, const char *client)
{
    snprintf(s->client, sizeof(s->client), "%s", client);
    brk_client_t *c = client_find(b, s->client);
    if (c == NULL) {
        if ((c = calloc(1, sizeof(*c))) == NULL) {
            return GW_ENOMEM;
        }
        snprintf(c->addr, sizeof(c->addr), "%s", s->client);
        if (gw_htable_insert(&b->clients, &c->node, gw_hash(c->addr, strlen(c->addr))) != GW_OK) {
            free(c);
            return GW_ENOMEM;
        }
    }
    c->live++;
    s->counted = c;
    return GW_OK;
}

void brk_session_revoke(brk_t *b, brk_session_t *s)
{
    if (!s->revoked) {
        s->revoked = 1;
        b->nrevoked++;
        session_uncount(b, s);
    }
}

/* A revoked session can go too once expired: its token no longer opens. */
void brk_sessions_sweep(brk_t *b, int64_t now)
{
    size_t pos = 0;
    brk_session_t *next = brk_sessions_next(b, NULL, &pos);
    for (brk_session_t *s = next; s != NULL; s = next) {
        next = brk_sessions_next(b, s, &pos); /* fetched before s may go */
        if (s->expires_s > now) {
            continue;
        }
        gw_htable_remove(&b->sessions, &s->node);
        b->nsessions--;
        session_uncount(b, s);
        brk_get_stream_forget(b, s->uuid, strlen(s->uuid));
        if (s->revoked) {
            b->nrevoked--;
        }
        free(s);
    }
}

/* A router's report of the sessions used since its last one ("sessions/active", docs/ipc.md):
 * "<uuid> <expires>" lines. A session this broker does not know (it was restarted) is learnt
 * again from it; a revoked one stays revoked. */
void brk_sessions_on_active(brk_t *b, const gw_envelope_t *e)
{
    int64_t now_ms = gw_clock_ms();
    int64_t now_s = gw_wallclock_s();
    const char *p = e->body.ptr;
    const char *end = p + e->body.len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *eol = nl != NULL ? nl : end;
        char uuid[GW_UUID_TEXT_LEN + 1];
        char num[24];
        size_t nlen = (size_t)(eol - p) - (GW_UUID_TEXT_LEN + 1);
        if (eol - p > GW_UUID_TEXT_LEN + 1 && p[GW_UUID_TEXT_LEN] == ' ' && nlen < sizeof(num) &&
            strspn(p, "0123456789abcdef-") >= GW_UUID_TEXT_LEN) {
            memcpy(uuid, p, GW_UUID_TEXT_LEN);
            uuid[GW_UUID_TEXT_LEN] = '\0';
            memcpy(num, p + GW_UUID_TEXT_LEN + 1, nlen);
            num[nlen] = '\0';
            int64_t expires = strtoll(num, NULL, 10);
            brk_session_t *s = brk_session_find(b, uuid, GW_UUID_TEXT_LEN);
            if (s == NULL && expires > now_s &&
                (s = brk_session_add(b, uuid, now_s, expires)) != NULL) {
                gw_log_debug("msg=\"session learnt from a router\" session=%s", uuid);
            }
            if (s != NULL && !s->revoked) {
                s->last_s = now_s;
                s->last_ms = now_ms;
            }
        }
        p = eol + 1;
    }
}

void brk_sessions_fini(brk_t *b)
{
    size_t pos = 0;
    brk_session_t *next = brk_sessions_next(b, NULL, &pos);
    for (brk_session_t *s = next; s != NULL; s = next) {
        next = brk_sessions_next(b, s, &pos);
        session_uncount(b, s);
        free(s); /* the table is dropped whole: no removal needed */
    }
    gw_htable_fini(&b->sessions);
    gw_htable_fini(&b->clients);
    b->nsessions = 0;
}
