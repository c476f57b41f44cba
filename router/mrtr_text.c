/* mrtr_text.c: the pure text parts of MRTR in the router (router/mrtr.h): a bounded walk over a
 * worker's response to find result.requestState, the wait-* headers, and the quoted splice. The
 * walk trusts nothing: the bytes come from a backend through its worker. */
#include <config.h> /* autoconf's, not common/config.h */

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/reqstate.h"
#include "router/mrtr.h"

#define WALK_MAX_DEPTH 256

static size_t skip_ws(const char *p, size_t len, size_t i)
{
    while (i < len && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r')) {
        i++;
    }
    return i;
}

/* The index just past the string starting at p[i] == '"', or 0 when it is cut. */
static size_t skip_string(const char *p, size_t len, size_t i)
{
    for (i++; i < len; i++) {
        if (p[i] == '\\') {
            i++;
        } else if (p[i] == '"') {
            return i + 1;
        }
    }
    return 0;
}

/* The index just past the value starting at p[i], or 0 when it is cut or not JSON-like. Objects
 * and arrays are skipped by their brackets, strings by their quotes; the worker checked the
 * grammar, this only must never read past len nor loop. */
static size_t skip_value(const char *p, size_t len, size_t i)
{
    if (i >= len) {
        return 0;
    }
    if (p[i] == '"') {
        return skip_string(p, len, i);
    }
    if (p[i] == '{' || p[i] == '[') {
        unsigned depth = 0;
        for (; i < len; i++) {
            if (p[i] == '"') {
                size_t e = skip_string(p, len, i);
                if (e == 0) {
                    return 0;
                }
                i = e - 1;
            } else if (p[i] == '{' || p[i] == '[') {
                if (++depth > WALK_MAX_DEPTH) {
                    return 0;
                }
            } else if (p[i] == '}' || p[i] == ']') {
                if (--depth == 0) {
                    return i + 1;
                }
            }
        }
        return 0;
    }
    size_t s = i;
    while (i < len && p[i] != ',' && p[i] != '}' && p[i] != ']' && p[i] != ' ' && p[i] != '\t' &&
           p[i] != '\n' && p[i] != '\r') {
        i++;
    }
    return i > s ? i : 0;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* Whether the key token p[s..e) (quotes included) decodes to the ASCII text lit. Escapes are
 * decoded so that "request\u0053tate" is the member a backend's parser would read. */
static int key_is(const char *p, size_t s, size_t e, const char *lit)
{
    size_t n = strlen(lit), k = 0;
    for (size_t i = s + 1; i + 1 < e; i++) {
        char c = p[i];
        if (c == '\\') {
            if (i + 2 >= e) {
                return 0;
            }
            char x = p[++i];
            if (x == 'u') {
                if (i + 4 >= e) {
                    return 0;
                }
                int v = 0;
                for (int j = 1; j <= 4; j++) {
                    int h = hex_value(p[i + j]);
                    if (h < 0) {
                        return 0;
                    }
                    v = v * 16 + h;
                }
                i += 4;
                if (v == 0 || v > 0x7f) {
                    return 0; /* lit is ASCII with no NUL */
                }
                c = (char)v;
            } else {
                c = x == 'n'   ? '\n'
                    : x == 't' ? '\t'
                    : x == 'r' ? '\r'
                    : x == 'b' ? '\b'
                    : x == 'f' ? '\f'
                               : x;
            }
        }
        if (k >= n || lit[k] != c) {
            return 0;
        }
        k++;
    }
    return k == n;
}

/* Walks the members of the object starting at p[i] == '{'. For each, calls back with the key's
 * and value's bounds; stops at 1 (found) or -1 from the callback. Returns the last callback
 * result, 0 at the end, -1 when cut. */
typedef int (*member_fn)(void *data, const char *p, size_t ks, size_t ke, size_t vs, size_t ve);

static int walk_object(const char *p, size_t len, size_t i, member_fn fn, void *data)
{
    if (i >= len || p[i] != '{') {
        return -1;
    }
    i = skip_ws(p, len, i + 1);
    if (i < len && p[i] == '}') {
        return 0;
    }
    for (;;) {
        if (i >= len || p[i] != '"') {
            return -1;
        }
        size_t ks = i, ke = skip_string(p, len, i);
        if (ke == 0) {
            return -1;
        }
        i = skip_ws(p, len, ke);
        if (i >= len || p[i] != ':') {
            return -1;
        }
        size_t vs = skip_ws(p, len, i + 1);
        size_t ve = skip_value(p, len, vs);
        if (ve == 0) {
            return -1;
        }
        int rc = fn(data, p, ks, ke, vs, ve);
        if (rc < 0) {
            return rc;
        }
        i = skip_ws(p, len, ve);
        if (i < len && p[i] == ',') {
            i = skip_ws(p, len, i + 1);
            continue;
        }
        return i < len && p[i] == '}' ? 0 : -1;
    }
}

typedef struct find {
    const char *key;
    size_t count;
    size_t vs, ve;
} find_t;

static int find_member(void *data, const char *p, size_t ks, size_t ke, size_t vs, size_t ve)
{
    find_t *f = data;
    if (key_is(p, ks, ke, f->key)) {
        if (f->count++ > 0) {
            return -1; /* repeated: which one a client's parser keeps is not ours to guess */
        }
        f->vs = vs;
        f->ve = ve;
    }
    return 0;
}

int rtr_mrtr_result_state(const char *msg, size_t len, gw_span_t *span)
{
    if (msg == NULL || len > UINT32_MAX) {
        return -1;
    }
    find_t res = {.key = "result"};
    if (walk_object(msg, len, skip_ws(msg, len, 0), find_member, &res) < 0 || res.count != 1 ||
        msg[res.vs] != '{') {
        return -1;
    }
    find_t st = {.key = "requestState"};
    if (walk_object(msg, res.ve, res.vs, find_member, &st) < 0) {
        return -1;
    }
    if (st.count == 0) {
        return 0;
    }
    *span = (gw_span_t){(uint32_t)st.vs, (uint32_t)(st.ve - st.vs)};
    return 1;
}

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
        int x = hex_value(v[0].ptr[i]);
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
