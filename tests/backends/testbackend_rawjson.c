/* mcpgw-testbackend: values of a request as they were sent (raw JSON text), and integer
 * arguments in range. */

#include "config.h"

#include <stdint.h>
#include <string.h>

#include <h2o.h>

#include "tests/backends/json.h"
#include "tests/backends/serve.h"
#include "tests/backends/testbackend.h"

/* Raw JSON: finding values as they were sent, in text already validated by yajl. */

static const char *skip_space(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')) {
        ++p;
    }
    return p;
}

/* p is at an opening quote; returns the position after the closing one (or end). */
static const char *skip_string(const char *p, const char *end)
{
    ++p;
    while (p < end) {
        if (*p == '\\') {
            if (end - p < 2) {
                return end;
            }
            p += 2;
            continue;
        }
        if (*p == '"') {
            return p + 1;
        }
        ++p;
    }
    return end;
}

static const char *skip_value(const char *p, const char *end)
{
    if (p >= end) {
        return end;
    }
    if (*p == '"') {
        return skip_string(p, end);
    }
    if (*p == '{' || *p == '[') {
        size_t depth = 0;
        while (p < end) {
            if (*p == '"') {
                p = skip_string(p, end);
                continue;
            }
            if (*p == '{' || *p == '[') {
                ++depth;
            } else if ((*p == '}' || *p == ']') && --depth == 0) {
                return p + 1;
            }
            ++p;
        }
        return end;
    }
    while (p < end && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\t' &&
           *p != '\r' && *p != '\n') {
        ++p;
    }
    return p;
}

/* The raw text of the first member named key of the object in json, or base NULL. Keys written
 * with escapes are not recognised; callers fall back to the parse tree. */
static h2o_iovec_t raw_member(h2o_iovec_t json, const char *key)
{
    const char *p = json.base, *end = json.base + json.len;
    size_t key_len = strlen(key);

    if (p == NULL) {
        return h2o_iovec_init(NULL, 0);
    }
    p = skip_space(p, end);
    if (p == end || *p != '{') {
        return h2o_iovec_init(NULL, 0);
    }
    ++p;
    for (;;) {
        p = skip_space(p, end);
        if (p == end || *p != '"') {
            break;
        }
        const char *name = p + 1, *name_end = skip_string(p, end);
        if (name_end == end) {
            break;
        }
        int match = (size_t)(name_end - 1 - name) == key_len && memcmp(name, key, key_len) == 0;
        p = skip_space(name_end, end);
        if (p == end || *p != ':') {
            break;
        }
        const char *value = skip_space(p + 1, end);
        p = skip_value(value, end);
        if (match) {
            return h2o_iovec_init(value, (size_t)(p - value));
        }
        p = skip_space(p, end);
        if (p == end || *p != ',') {
            break;
        }
        ++p;
    }
    return h2o_iovec_init(NULL, 0);
}

/* Follows a NULL-terminated list of member names from the top-level object. */
static h2o_iovec_t raw_path(h2o_iovec_t json, const char *const *path)
{
    for (; *path != NULL && json.base != NULL; ++path) {
        json = raw_member(json, *path);
    }
    return json;
}

/* A JSON string literal for s, in pool. */
static h2o_iovec_t json_quote(h2o_mem_pool_t *pool, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    char *buf = h2o_mem_alloc_pool(pool, len * 6 + 2), *p = buf;

    *p++ = '"';
    for (size_t i = 0; i != len; ++i) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\') {
            *p++ = '\\';
            *p++ = (char)ch;
        } else if (ch < 0x20) {
            memcpy(p, "\\u00", 4);
            p[4] = hex[ch >> 4];
            p[5] = hex[ch & 15];
            p += 6;
        } else {
            *p++ = (char)ch;
        }
    }
    *p++ = '"';
    return h2o_iovec_init(buf, (size_t)(p - buf));
}

/* The JSON text of the string or number v found at path: as sent when possible, else re-encoded
 * from the tree. Points into the body, the tree or the request pool. */
h2o_iovec_t tb_raw_json(tb_rpc_call_t *c, yajl_val v, const char *const *path)
{
    h2o_iovec_t raw = raw_path(c->body, path);

    if (raw.base != NULL && raw.len != 0) {
        return raw;
    }
    if (YAJL_IS_NUMBER(v)) {
        return h2o_iovec_init(v->u.number.r, strlen(v->u.number.r));
    }
    if (YAJL_IS_STRING(v)) {
        return json_quote(&c->req->pool, v->u.string, strlen(v->u.string));
    }
    return h2o_iovec_init(NULL, 0);
}

/* Reads a non-negative integral number no larger than max. */
int tb_get_uint(yajl_val v, uint64_t max, uint64_t *out)
{
    if (YAJL_IS_INTEGER(v)) {
        if (v->u.number.i < 0 || (uint64_t)v->u.number.i > max) {
            return 0;
        }
        *out = (uint64_t)v->u.number.i;
        return 1;
    }
    if (YAJL_IS_DOUBLE(v)) {
        double d = v->u.number.d;
        if (!(d >= 0 && d <= (double)max) || d != (double)(uint64_t)d) {
            return 0;
        }
        *out = (uint64_t)d;
        return 1;
    }
    return 0;
}
