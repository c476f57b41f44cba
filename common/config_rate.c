/* config_rate.c: a rate limit as mcpgw.yaml writes it, {requests: 100/s, burst: 200} (limits.rate,
 * and any later table with a rate): requests per second or per minute, the burst and its default,
 * and the text that names a limit in messages. */
#include <config.h>

#include <stdio.h>
#include <string.h>

#include "common/config_int.h"
#include "common/rate.h"

#define RATE_MAX 1000000 /* per period: a bucket counts in microseconds */
#define RATE_MSG "must be a number of requests per second or minute, such as 100/s or 600/m"

/* "N/s" or "N/m" (also "N/second", "N/minute"), N from 1 to RATE_MAX. */
static gw_err_t set_requests(gw_config_ctx_t *cx, const gw_config_directive_t *d,
                             const gw_config_node_t *v, const char *path, void *obj)
{
    gw_rate_conf_t *r = obj;
    if (v->kind != GW_CONFIG_SCALAR) {
        return gw_config_fail(cx, v, path, "%s", RATE_MSG);
    }
    const char *s = v->text;
    uint64_t n = 0;
    size_t i = 0;
    for (; s[i] >= '0' && s[i] <= '9'; i++) {
        n = n <= RATE_MAX ? n * 10 + (uint64_t)(s[i] - '0') : n; /* past the cap: refused below */
    }
    const char *unit = s + i;
    unsigned period = strcmp(unit, "/s") == 0 || strcmp(unit, "/second") == 0   ? 1
                      : strcmp(unit, "/m") == 0 || strcmp(unit, "/minute") == 0 ? 60
                                                                                : 0;
    if (i == 0 || period == 0 || strlen(s) != v->len) {
        return gw_config_fail(cx, v, path, "%s", RATE_MSG);
    }
    if (n < 1 || n > RATE_MAX) {
        return gw_config_fail(cx, v, path, "must be from 1 to 1000000 requests per %s",
                              period == 1 ? "second" : "minute");
    }
    r->requests = (unsigned)n;
    r->period_s = period;
    return GW_OK;
}

static const char *const per_names[] = {"caller", "tool", NULL}; /* per_tool 0, 1 */

static const gw_config_directive_t rate_directives[] = {
    {.key = "requests", .type = GW_CONFIG_CUSTOM, .set = set_requests, .required = 1},
    {GW_CONFIG_ROW_UINT("burst", gw_rate_conf_t, burst), .min = 1, .max = RATE_MAX,
     .msg = "must be a number of requests from 1 to 1000000"},
    {GW_CONFIG_ROW_ENUM("per", gw_rate_conf_t, per_tool), .def = 0, .names = per_names,
     .msg = "must be caller or tool"},
};

gw_err_t gw_config_take_rate(gw_config_ctx_t *cx, const gw_config_node_t *v, const char *path,
                             gw_rate_conf_t *out)
{
    memset(out, 0, sizeof(*out));
    if (gw_config_node_is_null(v)) {
        return GW_OK; /* no limit */
    }
    gw_err_t err =
        gw_config_check_map(cx, v, path, rate_directives, GW_CONFIG_NELEM(rate_directives), out);
    if (err != GW_OK) {
        memset(out, 0, sizeof(*out));
        return err;
    }
    if (out->burst == 0) {
        out->burst = gw_rate_default_burst(out->requests, out->period_s);
    }
    return GW_OK;
}

gw_err_t gw_config_set_rate(gw_config_ctx_t *cx, const gw_config_directive_t *d,
                            const gw_config_node_t *v, const char *path, void *obj)
{
    return gw_config_take_rate(cx, v, path, (gw_rate_conf_t *)(void *)((char *)obj + d->offset));
}

void gw_rate_conf_text(const gw_rate_conf_t *r, char *out, size_t outlen)
{
    if (r->requests == 0) {
        snprintf(out, outlen, "%s", "");
        return;
    }
    snprintf(out, outlen, "%u/%c, burst %u%s", r->requests, r->period_s == 60 ? 'm' : 's', r->burst,
             r->per_tool ? ", per tool" : "");
}
