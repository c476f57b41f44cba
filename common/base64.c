/* base64.c: strict base64 (RFC 4648): unpadded base64url (§5) of session tokens, requestStates
 * and JWTs, and padded standard base64 (§4) of the 2026-07-28 =?base64?...?= header values. */
#include <config.h>

#include "common/base64.h"

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
static const char b64std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static size_t encode(const char *alphabet, const uint8_t *in, size_t n, char *out)
{
    size_t o = 0, i = 0;

    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = alphabet[v >> 18];
        out[o++] = alphabet[(v >> 12) & 63];
        out[o++] = alphabet[(v >> 6) & 63];
        out[o++] = alphabet[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = alphabet[v >> 18];
        out[o++] = alphabet[(v >> 12) & 63];
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = alphabet[v >> 18];
        out[o++] = alphabet[(v >> 12) & 63];
        out[o++] = alphabet[(v >> 6) & 63];
    }
    return o;
}

static int value(unsigned char c, int url)
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
    if (c == (url ? '-' : '+')) {
        return 62;
    }
    if (c == (url ? '_' : '/')) {
        return 63;
    }
    return -1;
}

/* A flipped spare bit of the last character would be a second spelling of the same bytes: refused,
 * so that a changed token is always a different, invalid one. */
static int decode(int url, const char *in, size_t n, uint8_t *out, size_t cap, size_t *outlen)
{
    uint32_t acc = 0;
    unsigned bits = 0;
    size_t o = 0;

    if (n % 4 == 1) {
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        int v = value((unsigned char)in[i], url);
        if (v < 0) {
            return -1;
        }
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o == cap) {
                return -1;
            }
            out[o++] = (uint8_t)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (acc != 0) {
        return -1;
    }
    *outlen = o;
    return 0;
}

size_t gw_b64url_encode(const uint8_t *in, size_t n, char *out)
{
    return encode(b64url, in, n, out);
}

int gw_b64url_decode(const char *in, size_t n, uint8_t *out, size_t cap, size_t *outlen)
{
    return decode(1, in, n, out, cap, outlen);
}

size_t gw_b64_encode(const uint8_t *in, size_t n, char *out)
{
    size_t o = encode(b64std, in, n, out);
    while (o % 4 != 0) {
        out[o++] = '=';
    }
    return o;
}

int gw_b64_decode(const char *in, size_t n, uint8_t *out, size_t cap, size_t *outlen)
{
    size_t pad = 0;
    if (n % 4 != 0) {
        return -1;
    }
    while (pad < 2 && pad < n && in[n - 1 - pad] == '=') {
        pad++;
    }
    /* the padding is exactly what the unpadded form lacks of a multiple of four; the rest is
     * the unpadded decoding, spare bits and all */
    if (pad > 0 && (n - pad) % 4 != 4 - pad) {
        return -1;
    }
    return decode(0, in, n - pad, out, cap, outlen);
}
