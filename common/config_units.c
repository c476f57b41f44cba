/* config_units.c: sizes ("1MiB", "64kB") and durations ("250ms", "1h30m") as mcpgw.yaml writes
 * them, read into bytes and milliseconds without overflow. */
#include <config.h>

#include <stdint.h>
#include <string.h>

#include "common/config_int.h"

/* Reads the leading decimal digits of *s into *out and advances *s; 0 when there are none or
 * the value overflows. */
static int read_decimal(const char **s, uint64_t *out, int *overflow)
{
    const char *p = *s;
    uint64_t v = 0;
    if (*p < '0' || *p > '9') {
        return 0;
    }
    for (; *p >= '0' && *p <= '9'; p++) {
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10) {
            *overflow = 1;
            return 0;
        }
        v = v * 10 + d;
    }
    *s = p;
    *out = v;
    return 1;
}

static int mul_overflows(uint64_t a, uint64_t b, uint64_t *out)
{
    if (b != 0 && a > UINT64_MAX / b) {
        return 1;
    }
    *out = a * b;
    return 0;
}

static const struct unit {
    const char *name;
    uint64_t mult;
} size_units[] = {
    {"", 1},
    {"B", 1},
    {"kB", 1000ull},
    {"KB", 1000ull},
    {"MB", 1000ull * 1000},
    {"GB", 1000ull * 1000 * 1000},
    {"KiB", 1ull << 10},
    {"MiB", 1ull << 20},
    {"GiB", 1ull << 30},
};

static const struct unit duration_units[] = {
    {"ms", 1}, {"s", 1000ull}, {"m", 60ull * 1000}, {"h", 3600ull * 1000}, {"d", 86400ull * 1000},
};

static const struct unit *find_unit(const struct unit *units, size_t n, const char *s, size_t len)
{
    for (size_t i = 0; i < n; i++) {
        if (strlen(units[i].name) == len && memcmp(units[i].name, s, len) == 0) {
            return &units[i];
        }
    }
    return NULL;
}

gw_err_t gw_parse_size(const char *s, uint64_t *out)
{
    uint64_t v;
    int overflow = 0;
    if (s == NULL || !read_decimal(&s, &v, &overflow)) {
        return overflow ? GW_ETOOBIG : GW_EINVAL;
    }
    while (*s == ' ') {
        s++;
    }
    const struct unit *u = find_unit(size_units, GW_CONFIG_NELEM(size_units), s, strlen(s));
    if (u == NULL) {
        return GW_EINVAL;
    }
    if (mul_overflows(v, u->mult, out)) {
        return GW_ETOOBIG;
    }
    return GW_OK;
}

gw_err_t gw_parse_duration_ms(const char *s, uint64_t *out)
{
    uint64_t total = 0;
    int overflow = 0;
    if (s == NULL || *s == '\0') {
        return GW_EINVAL;
    }
    /* "1h30m" is a sum of parts; a bare number alone means seconds. */
    for (int first = 1; *s != '\0'; first = 0) {
        uint64_t v;
        uint64_t part;
        if (!read_decimal(&s, &v, &overflow)) {
            return overflow ? GW_ETOOBIG : GW_EINVAL;
        }
        size_t ulen = 0;
        while ((s[ulen] >= 'a' && s[ulen] <= 'z') || (s[ulen] >= 'A' && s[ulen] <= 'Z')) {
            ulen++;
        }
        uint64_t mult;
        if (ulen == 0) {
            if (!first || *s != '\0') {
                return GW_EINVAL;
            }
            mult = 1000;
        } else {
            const struct unit *u =
                find_unit(duration_units, GW_CONFIG_NELEM(duration_units), s, ulen);
            if (u == NULL) {
                return GW_EINVAL;
            }
            mult = u->mult;
        }
        s += ulen;
        if (mul_overflows(v, mult, &part) || part > UINT64_MAX - total) {
            return GW_ETOOBIG;
        }
        total += part;
    }
    *out = total;
    return GW_OK;
}
