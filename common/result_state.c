/* result_state.c: finds result.requestState in one JSON-RPC response (result_state.h): a bounded
 * walk over the top-level members of the message and of its result object, which trusts
 * nothing (the bytes come from a backend). */
#include <config.h> /* autoconf's, not common/config.h */

#include <stdint.h>
#include <string.h>

#include "common/hex.h"
#include "common/result_state.h"

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
                    int h = gw_hex_value(p[i + j]);
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

int gw_result_state(const char *msg, size_t len, gw_span_t *span)
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
