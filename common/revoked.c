/* revoked.c: the revoked-session set (see revoked.h). */
#include <config.h> /* autoconf's, not common/config.h */

#include <stdlib.h>
#include <string.h>

#include "common/revoked.h"

#define MIN_CAP 64

void gw_revoked_init(gw_revoked_t *r)
{
    memset(r, 0, sizeof(*r));
}

void gw_revoked_fini(gw_revoked_t *r)
{
    free(r->slots);
    memset(r, 0, sizeof(*r));
}

static size_t slot_of(const uint8_t uuid[16], size_t cap)
{
    uint64_t h;
    memcpy(&h, uuid, sizeof(h)); /* uuids are random: their bytes are a good hash already */
    return (size_t)(h ^ (h >> 29)) & (cap - 1);
}

static void put(gw_revoked_entry_t *slots, size_t cap, const uint8_t uuid[16], int64_t expires)
{
    size_t i = slot_of(uuid, cap);
    while (slots[i].expires != 0 && memcmp(slots[i].uuid, uuid, 16) != 0) {
        i = (i + 1) & (cap - 1);
    }
    memcpy(slots[i].uuid, uuid, 16);
    slots[i].expires = expires;
}

static gw_err_t grow(gw_revoked_t *r)
{
    size_t cap = r->cap ? r->cap * 2 : MIN_CAP;
    gw_revoked_entry_t *slots = calloc(cap, sizeof(*slots));
    if (slots == NULL) {
        return GW_ENOMEM;
    }
    for (size_t i = 0; i < r->cap; i++) {
        if (r->slots[i].expires != 0) {
            put(slots, cap, r->slots[i].uuid, r->slots[i].expires);
        }
    }
    free(r->slots);
    r->slots = slots;
    r->cap = cap;
    return GW_OK;
}

gw_err_t gw_revoked_add(gw_revoked_t *r, const uint8_t uuid[16], int64_t expires)
{
    if (expires <= 0) {
        expires = 1; /* 0 means an empty slot; such an entry goes at the next purge */
    }
    if ((r->count + 1) * 2 > r->cap && grow(r) != GW_OK) {
        return GW_ENOMEM;
    }
    if (!gw_revoked_has(r, uuid)) {
        r->count++;
    }
    put(r->slots, r->cap, uuid, expires);
    return GW_OK;
}

int gw_revoked_has(const gw_revoked_t *r, const uint8_t uuid[16])
{
    if (r->count == 0) {
        return 0;
    }
    for (size_t i = slot_of(uuid, r->cap); r->slots[i].expires != 0; i = (i + 1) & (r->cap - 1)) {
        if (memcmp(r->slots[i].uuid, uuid, 16) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Removes slot i and moves later entries of its probe run back, so that no lookup stops early
 * at the hole (backward-shift deletion). */
static void remove_at(gw_revoked_t *r, size_t i)
{
    size_t mask = r->cap - 1;
    size_t j = i;
    for (;;) {
        r->slots[i].expires = 0;
        for (;;) {
            j = (j + 1) & mask;
            if (r->slots[j].expires == 0) {
                return;
            }
            size_t home = slot_of(r->slots[j].uuid, r->cap);
            /* j's entry may fill the hole at i unless its home lies cyclically in (i, j] */
            if (i <= j ? (i < home && home <= j) : (i < home || home <= j)) {
                continue;
            }
            r->slots[i] = r->slots[j];
            i = j;
            break;
        }
    }
}

size_t gw_revoked_purge(gw_revoked_t *r, int64_t now)
{
    size_t n = 0;
    for (size_t i = 0; i < r->cap;) {
        if (r->slots[i].expires != 0 && r->slots[i].expires <= now) {
            remove_at(r, i); /* an entry may have moved into i: look at it again */
            r->count--;
            n++;
            continue;
        }
        i++;
    }
    return n;
}

void gw_revoked_clear(gw_revoked_t *r)
{
    if (r->slots != NULL) {
        memset(r->slots, 0, r->cap * sizeof(*r->slots));
    }
    r->count = 0;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

gw_err_t gw_revoked_parse_entry(const char *s, uint8_t uuid[16], int64_t *expires)
{
    size_t o = 0;
    const char *p = s;
    for (int i = 0; i < 36; i++, p++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (*p != '-') {
                return GW_EPARSE;
            }
            continue;
        }
        int hi = hexval(p[0]);
        int lo = hi >= 0 ? hexval(p[1]) : -1;
        if (lo < 0) {
            return GW_EPARSE;
        }
        uuid[o++] = (uint8_t)(hi << 4 | lo);
        p++;
        i++;
    }
    if (*p != ' ' || p[1] < '0' || p[1] > '9') {
        return GW_EPARSE;
    }
    char *end = NULL;
    long long v = strtoll(p + 1, &end, 10);
    if (*end != '\0' || v <= 0) {
        return GW_EPARSE;
    }
    *expires = v;
    return GW_OK;
}
