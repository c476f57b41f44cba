/* mrtr_text.c: the pure text parts of MRTR in the router (router/mrtr.h): the wait-* headers, a
 * retry's state text and the quoted splice (result.requestState is found by
 * common/result_state.c). */
#include <config.h> /* autoconf's, not common/config.h */

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/hex.h"
#include "common/reqstate.h"
#include "router/mrtr.h"

/* A decimal u32 of 1 to 10 digits, no sign or leading zero (but "0"). */
static int parse_u32(gw_str_t v, uint32_t *out)
{
    if (v.len == 0 || v.len > 10 || (v.len > 1 && v.ptr[0] == '0')) {
        return 0;
    }
    uint64_t n = 0;
    for (size_t i = 0; i < v.len; i++) {
        if (v.ptr[i] < '0' || v.ptr[i] > '9') {
            return 0;
        }
        n = n * 10 + (uint64_t)(v.ptr[i] - '0');
    }
    if (n > UINT32_MAX) {
        return 0;
    }
    *out = (uint32_t)n;
    return 1;
}

int rtr_mrtr_wait_parse(const gw_env_header_t *h, size_t n, rtr_mrtr_wait_t *out)
{
    static const char *const names[4] = {"wait-run", "wait-slot", "wait-nonce", "wait-round"};
    gw_str_t v[4] = {GW_STR_NULL, GW_STR_NULL, GW_STR_NULL, GW_STR_NULL};
    unsigned seen = 0;
    for (size_t i = 0; i < n; i++) {
        for (unsigned k = 0; k < 4; k++) {
            if (gw_str_eq(h[i].name, names[k])) {
                if (seen & (1u << k)) {
                    return -1;
                }
                seen |= 1u << k;
                v[k] = h[i].value;
            }
        }
    }
    if (seen == 0) {
        return 0;
    }
    if (seen != 0xf || v[0].len != 16) {
        return -1;
    }
    uint64_t run = 0;
    for (size_t i = 0; i < 16; i++) {
        int x = gw_hex_value(v[0].ptr[i]);
        if (x < 0) {
            return -1;
        }
        run = run << 4 | (uint64_t)x;
    }
    uint32_t round;
    rtr_mrtr_wait_t w = {.run = run};
    if (!parse_u32(v[1], &w.slot) || !parse_u32(v[2], &w.nonce) || !parse_u32(v[3], &round) ||
        round == 0 || round > 255) {
        return -1;
    }
    w.round = (uint8_t)round;
    *out = w;
    return 1;
}

void rtr_mrtr_wait_format(const rtr_mrtr_wait_t *w, rtr_mrtr_wait_text_t *out)
{
    snprintf(out->run, sizeof(out->run), "%016" PRIx64, w->run);
    snprintf(out->slot, sizeof(out->slot), "%" PRIu32, w->slot);
    snprintf(out->nonce, sizeof(out->nonce), "%" PRIu32, w->nonce);
    snprintf(out->round, sizeof(out->round), "%u", (unsigned)w->round);
}

int rtr_mrtr_state_text(const char *body, gw_span_t tok, const char **text, size_t *len)
{
    static const size_t plen = sizeof(GW_REQSTATE_PREFIX) - 1;
    if (tok.len <= 2 + plen || body[tok.off] != '"' || body[tok.off + tok.len - 1] != '"') {
        return 0;
    }
    const char *s = body + tok.off + 1;
    size_t n = tok.len - 2;
    if (memcmp(s, GW_REQSTATE_PREFIX, plen) != 0 || memchr(s, '\\', n) != NULL) {
        return 0;
    }
    *text = s;
    *len = n;
    return 1;
}

gw_err_t rtr_mrtr_splice_quoted(gw_buf_t *out, const char *body, size_t len, gw_span_t span,
                                const char *raw, size_t n)
{
    if ((size_t)span.off + span.len > len) {
        return GW_EINVAL;
    }
    gw_err_t err = gw_buf_append(out, body, span.off);
    if (err == GW_OK) {
        err = gw_buf_append(out, "\"", 1);
    }
    if (err == GW_OK && n > 0) {
        err = gw_buf_append(out, raw, n);
    }
    if (err == GW_OK) {
        err = gw_buf_append(out, "\"", 1);
    }
    if (err == GW_OK) {
        err = gw_buf_append(out, body + span.off + span.len, len - span.off - span.len);
    }
    return err;
}
