/* worker_settings.c: the worker settings as envelope headers, and back (worker_settings.h). */
#include <config.h>

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "common/worker_settings.h"

typedef struct setting {
    const char *name; /* the config key */
    size_t off;       /* in gw_config_t */
    int wide;         /* uint64_t, else unsigned */
} setting_t;

static const setting_t settings[] = {
    {"limits.max_response_body", offsetof(gw_config_t, max_response_body), 1},
    {"limits.max_pooled_sessions", offsetof(gw_config_t, max_pooled_sessions), 0},
    {"sessions.upstream_idle", offsetof(gw_config_t, upstream_idle_ms), 1},
};
#define NSETTINGS (sizeof(settings) / sizeof(settings[0]))
_Static_assert(NSETTINGS <= GW_WORKER_SETTINGS_MAX, "GW_WORKER_SETTINGS_MAX too small");

static uint64_t get(const gw_config_t *c, const setting_t *s)
{
    const char *p = (const char *)c + s->off;
    if (s->wide) {
        uint64_t v;
        memcpy(&v, p, sizeof(v));
        return v;
    }
    unsigned v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static void set(gw_config_t *c, const setting_t *s, uint64_t v)
{
    char *p = (char *)c + s->off;
    if (s->wide) {
        memcpy(p, &v, sizeof(v));
    } else {
        unsigned u = (unsigned)v;
        memcpy(p, &u, sizeof(u));
    }
}

void gw_worker_settings_encode(const gw_config_t *c, gw_worker_settings_t *out)
{
    out->n = 0;
    for (size_t i = 0; i < NSETTINGS; i++) {
        int len = snprintf(out->text[i], sizeof(out->text[i]), "%" PRIu64, get(c, &settings[i]));
        out->headers[i].name = (gw_str_t){settings[i].name, strlen(settings[i].name)};
        out->headers[i].value = (gw_str_t){out->text[i], (size_t)len};
        out->n++;
    }
}

/* The decimal number v[0..len), at most max; 0 when it is not one. */
static int parse(gw_str_t v, uint64_t max, uint64_t *out)
{
    uint64_t n = 0;
    if (v.len == 0 || v.len >= GW_WORKER_SETTING_TEXT) {
        return 0;
    }
    for (size_t i = 0; i < v.len; i++) {
        if (v.ptr[i] < '0' || v.ptr[i] > '9' || n > (max - (uint64_t)(v.ptr[i] - '0')) / 10) {
            return 0;
        }
        n = n * 10 + (uint64_t)(v.ptr[i] - '0');
    }
    *out = n;
    return 1;
}

size_t gw_worker_settings_apply(gw_config_t *c, const gw_envelope_t *e)
{
    size_t changed = 0;
    for (size_t h = 0; h < e->nheaders; h++) {
        for (size_t i = 0; i < NSETTINGS; i++) {
            const setting_t *s = &settings[i];
            uint64_t v;
            if (gw_str_eq(e->headers[h].name, s->name) &&
                parse(e->headers[h].value, s->wide ? UINT64_MAX : UINT32_MAX, &v) &&
                v != get(c, s)) {
                set(c, s, v);
                changed++;
            }
        }
    }
    return changed;
}
