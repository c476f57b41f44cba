/* mcphdr.c: trimming, character checks and the strict base64 sentinel of the 2026-07-28
 * transport's header values (docs/design-2026-07-28.md §1, rows 7-14). */
#include <config.h>

#include <stdint.h>
#include <string.h>

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

/* The 6-bit value of a standard-alphabet base64 character, or -1. */
static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* Drops what was appended to out after start (keeping data NUL-terminated). */
static void truncate_to(gw_buf_t *out, size_t start)
{
    out->len = start;
    if (out->data != NULL) {
        out->data[start] = '\0';
    }
}

/* Strict RFC 4648 §4 decoding of s[0..n) onto out: one canonical encoding per value, so a value
 * cannot pass the check in one spelling and mean another. */
static gw_err_t b64_decode(const unsigned char *s, size_t n, gw_buf_t *out)
{
    if (n % 4 != 0) {
        return GW_EINVAL;
    }
    size_t start = out->len;
    for (size_t i = 0; i < n; i += 4) {
        int v[4];
        size_t pad = 0;
        for (size_t k = 0; k < 4; k++) {
            if (s[i + k] == '=' && i + 4 == n && k >= 2) {
                v[k] = 0;
                pad++;
                continue;
            }
            if (pad > 0 || (v[k] = b64_value(s[i + k])) < 0) {
                truncate_to(out, start);
                return GW_EINVAL; /* outside the alphabet, or data after padding */
            }
        }
        uint32_t w =
            (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        if ((pad == 1 && (w & 0xff) != 0) || (pad == 2 && (w & 0xffff) != 0)) {
            truncate_to(out, start);
            return GW_EINVAL; /* stray bits: a second spelling of the same bytes */
        }
        char bytes[3] = {(char)(w >> 16), (char)(w >> 8), (char)w};
        gw_err_t err = gw_buf_append(out, bytes, 3 - pad);
        if (err != GW_OK) {
            truncate_to(out, start);
            return err;
        }
    }
    return GW_OK;
}

gw_err_t gw_mcphdr_decode(const char *v, size_t n, gw_buf_t *out)
{
    size_t len;
    const char *t = gw_mcphdr_trim(v, n, &len);
    size_t open = sizeof(SENTINEL_OPEN) - 1, close = sizeof(SENTINEL_CLOSE) - 1;

    if (len >= open + close && memcmp(t, SENTINEL_OPEN, open) == 0 &&
        memcmp(t + len - close, SENTINEL_CLOSE, close) == 0) {
        return b64_decode((const unsigned char *)t + open, len - open - close, out);
    }
    if (!gw_mcphdr_chars_ok(t, len)) {
        return GW_EINVAL;
    }
    return gw_buf_append(out, t, len);
}
