/* mcphdr.c: trimming, character checks and the strict base64 sentinel of the 2026-07-28
 * transport's header values (docs/design-2026-07-28.md §1, rows 7-14). */
#include <config.h>

#include <stdint.h>
#include <string.h>

#include "common/base64.h"
#include "common/mcphdr.h"

#define SENTINEL_OPEN "=?base64?"
#define SENTINEL_CLOSE "?="

const char *gw_mcphdr_trim(const char *v, size_t n, size_t *out_len)
{
    while (n > 0 && (v[0] == ' ' || v[0] == '\t')) {
        v++;
        n--;
    }
    while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t')) {
        n--;
    }
    *out_len = n;
    return v;
}

int gw_mcphdr_chars_ok(const char *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if (!(c == ' ' || c == '\t' || (c >= 0x21 && c <= 0x7e))) {
            return 0;
        }
    }
    return 1;
}

/* Strict RFC 4648 §4 decoding of s[0..n) onto out: one canonical encoding per value, so a value
 * cannot pass the check in one spelling and mean another. */
static gw_err_t b64_decode(const char *s, size_t n, gw_buf_t *out)
{
    size_t got;
    gw_err_t err = gw_buf_reserve(out, n / 4 * 3);
    if (err != GW_OK) {
        return err;
    }
    if (gw_b64_decode(s, n, (uint8_t *)out->data + out->len, n / 4 * 3, &got) != 0) {
        out->data[out->len] = '\0'; /* nothing appended */
        return GW_EINVAL;
    }
    out->len += got;
    out->data[out->len] = '\0';
    return GW_OK;
}

gw_err_t gw_mcphdr_decode(const char *v, size_t n, gw_buf_t *out)
{
    size_t len;
    const char *t = gw_mcphdr_trim(v, n, &len);
    size_t open = sizeof(SENTINEL_OPEN) - 1, close = sizeof(SENTINEL_CLOSE) - 1;

    if (len >= open + close && memcmp(t, SENTINEL_OPEN, open) == 0 &&
        memcmp(t + len - close, SENTINEL_CLOSE, close) == 0) {
        return b64_decode(t + open, len - open - close, out);
    }
    if (!gw_mcphdr_chars_ok(t, len)) {
        return GW_EINVAL;
    }
    return gw_buf_append(out, t, len);
}
