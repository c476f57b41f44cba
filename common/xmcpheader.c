/* xmcpheader.c: x-mcp-header declarations of a tool's inputSchema, the header values a call's
 * arguments give them, and the base64-sentinel encoding of Mcp-* header values (see
 * xmcpheader.h; docs/design-2026-07-28.md 7.3). */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/base64.h"
#include "common/json.h"
#include "common/mcphdr.h"
#include "common/xmcpheader.h"

#define KEYWORD "x-mcp-header"

/* RFC 9110 5.6.2 tchar. */
static int is_tchar(unsigned char ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

static int is_token(const char *s, size_t n)
{
    if (n == 0) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (!is_tchar((unsigned char)s[i])) {
            return 0;
        }
    }
    return 1;
}

/* The declared property's type: "type" a string, or an array whose members other than "null"
 * are one type (an optional value is common: ["string", "null"]). 0 when not allowed. */
static gw_xmcp_type_t property_type(yajl_val schema)
{
    yajl_val t = gw_json_get(schema, "type");
    const char *name = NULL;

    if (t != NULL && YAJL_IS_STRING(t)) {
        name = t->u.string;
    } else if (t != NULL && YAJL_IS_ARRAY(t)) {
        for (size_t i = 0; i < t->u.array.len; i++) {
            yajl_val m = t->u.array.values[i];
            if (!YAJL_IS_STRING(m)) {
                return 0;
            }
            if (strcmp(m->u.string, "null") == 0) {
                continue;
            }
            if (name != NULL) {
                return 0;
            }
            name = m->u.string;
        }
    }
    if (name == NULL) {
        return 0;
    }
    if (strcmp(name, "string") == 0) {
        return GW_XMCP_STRING;
    }
    if (strcmp(name, "integer") == 0) {
        return GW_XMCP_INTEGER;
    }
    if (strcmp(name, "boolean") == 0) {
        return GW_XMCP_BOOLEAN;
    }
    return 0;
}

typedef struct walk {
    gw_xmcp_decls_t *out;
    const char *keys[GW_XMCP_DEPTH_MAX];
    size_t depth;
} walk_t;

static gw_xmcp_result_t walk_schema(walk_t *wk, yajl_val schema, int reachable);

/* Keywords whose value is a schema, an array of schemas, or a map of name to schema: a
 * declaration anywhere inside them is out of place (only properties keys lead to a header). */
static const char *const schema_keys[] = {
    "items",
    "additionalProperties",
    "not",
    "if",
    "then",
    "else",
    "contains",
    "propertyNames",
    "unevaluatedItems",
    "unevaluatedProperties",
};
static const char *const schema_array_keys[] = {"anyOf", "allOf", "oneOf", "prefixItems"};
static const char *const schema_map_keys[] = {"$defs", "definitions", "patternProperties",
                                              "dependentSchemas"};

static int key_in(const char *k, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(k, list[i]) == 0) {
            return 1;
        }
    }
    return 0;
}

#define NELEMS(a) (sizeof(a) / sizeof((a)[0]))

static gw_xmcp_result_t declare(walk_t *wk, yajl_val schema, yajl_val decl)
{
    gw_xmcp_decls_t *out = wk->out;
    gw_xmcp_decl_t *d;
    const char *name;
    size_t n;
    size_t off = 0;

    if (!YAJL_IS_STRING(decl)) {
        return GW_XMCP_NOT_A_TOKEN;
    }
    name = decl->u.string;
    n = strlen(name);
    if (!is_token(name, n)) {
        return GW_XMCP_NOT_A_TOKEN;
    }
    if (wk->depth == 0) {
        return GW_XMCP_BAD_PLACE; /* on the arguments object itself */
    }
    for (size_t i = 0; i < out->n; i++) {
        if (strcasecmp(out->v[i].name, name) == 0) {
            return GW_XMCP_DUPLICATE;
        }
    }
    if (out->n >= GW_XMCP_MAX || n > GW_XMCP_NAME_MAX) {
        return GW_XMCP_TOO_MANY;
    }
    d = &out->v[out->n];
    if ((d->type = property_type(schema)) == 0) {
        return GW_XMCP_BAD_TYPE;
    }
    for (size_t i = 0; i < wk->depth; i++) {
        size_t kl = strlen(wk->keys[i]);
        if (off + kl + 1 > sizeof(d->path)) {
            return GW_XMCP_TOO_MANY;
        }
        memcpy(d->path + off, wk->keys[i], kl + 1);
        off += kl + 1;
    }
    memcpy(d->name, name, n + 1);
    d->depth = wk->depth;
    out->n++;
    return GW_XMCP_OK;
}

static gw_xmcp_result_t walk_value(walk_t *wk, yajl_val v, int as_array)
{
    gw_xmcp_result_t r = GW_XMCP_OK;

    if (as_array && YAJL_IS_ARRAY(v)) {
        for (size_t i = 0; i < v->u.array.len && r == GW_XMCP_OK; i++) {
            r = walk_schema(wk, v->u.array.values[i], 0);
        }
        return r;
    }
    return walk_schema(wk, v, 0);
}

/* reachable: schema is the root or reached from it through properties keys only. */
static gw_xmcp_result_t walk_schema(walk_t *wk, yajl_val schema, int reachable)
{
    gw_xmcp_result_t r = GW_XMCP_OK;

    if (schema == NULL || !YAJL_IS_OBJECT(schema)) {
        return GW_XMCP_OK; /* true/false schemas and garbage declare nothing */
    }
    for (size_t i = 0; i < schema->u.object.len && r == GW_XMCP_OK; i++) {
        const char *k = schema->u.object.keys[i];
        yajl_val v = schema->u.object.values[i];
        if (strcmp(k, KEYWORD) == 0) {
            r = reachable ? declare(wk, schema, v) : GW_XMCP_BAD_PLACE;
        } else if (strcmp(k, "properties") == 0 && YAJL_IS_OBJECT(v)) {
            for (size_t j = 0; j < v->u.object.len && r == GW_XMCP_OK; j++) {
                int deeper = reachable && wk->depth < GW_XMCP_DEPTH_MAX;
                if (reachable && !deeper) {
                    /* too deep to follow: only a declaration down there matters */
                    r = walk_schema(wk, v->u.object.values[j], 0);
                    r = r == GW_XMCP_BAD_PLACE ? GW_XMCP_TOO_MANY : r;
                    continue;
                }
                if (deeper) {
                    wk->keys[wk->depth++] = v->u.object.keys[j];
                }
                r = walk_schema(wk, v->u.object.values[j], deeper);
                if (deeper) {
                    wk->depth--;
                }
            }
        } else if (key_in(k, schema_keys, NELEMS(schema_keys))) {
            r = walk_value(wk, v, 0);
        } else if (key_in(k, schema_array_keys, NELEMS(schema_array_keys))) {
            r = walk_value(wk, v, 1);
        } else if (key_in(k, schema_map_keys, NELEMS(schema_map_keys)) && YAJL_IS_OBJECT(v)) {
            for (size_t j = 0; j < v->u.object.len && r == GW_XMCP_OK; j++) {
                r = walk_schema(wk, v->u.object.values[j], 0);
            }
        }
    }
    return r;
}

gw_xmcp_result_t gw_xmcp_scan(yajl_val input_schema, gw_xmcp_decls_t *out)
{
    walk_t wk = {.out = out};
    gw_xmcp_result_t r;

    out->n = 0;
    r = walk_schema(&wk, input_schema, 1);
    if (r != GW_XMCP_OK) {
        out->n = 0;
    }
    return r;
}

const char *gw_xmcp_reason(gw_xmcp_result_t r)
{
    switch (r) {
    case GW_XMCP_OK:
        return "ok";
    case GW_XMCP_NOT_A_TOKEN:
        return "header name is not a non-empty token";
    case GW_XMCP_DUPLICATE:
        return "header name declared twice (ignoring case)";
    case GW_XMCP_BAD_TYPE:
        return "declared on a property that is not string, integer or boolean";
    case GW_XMCP_BAD_PLACE:
        return "declared where only properties keys lead";
    case GW_XMCP_TOO_MANY:
        return "too many or too deep declarations";
    }
    return "invalid";
}

/* ---- values ---- */

static int looks_plain(const char *s, size_t n)
{
    static const char open[] = "=?base64?";

    if (n > 0 && (s[0] == ' ' || s[0] == '\t' || s[n - 1] == ' ' || s[n - 1] == '\t')) {
        return 0;
    }
    if (!gw_mcphdr_chars_ok(s, n)) {
        return 0;
    }
    /* a value that reads as the sentinel would be decoded by the receiver: encode it */
    if (n >= sizeof(open) - 1 && strncasecmp(s, open, sizeof(open) - 1) == 0) {
        return 0;
    }
    return 1;
}

gw_err_t gw_xmcp_encode(const char *s, size_t n, gw_buf_t *out)
{
    if (looks_plain(s, n)) {
        return gw_buf_append(out, s, n);
    }
    if (gw_buf_appends(out, "=?base64?") != GW_OK || gw_buf_reserve(out, GW_B64_LEN(n)) != GW_OK) {
        return GW_ENOMEM;
    }
    out->len += gw_b64_encode((const uint8_t *)s, n, out->data + out->len);
    return gw_buf_appends(out, "?=");
}

int gw_xmcp_value(const gw_xmcp_decl_t *d, yajl_val arguments, gw_buf_t *out)
{
    yajl_val v = arguments;
    const char *key = d->path;
    gw_err_t err;

    for (size_t i = 0; i < d->depth && v != NULL; i++) {
        v = gw_json_get(v, key);
        key += strlen(key) + 1;
    }
    if (v == NULL || YAJL_IS_NULL(v)) {
        return 0;
    }
    if (YAJL_IS_STRING(v)) {
        const char *s = v->u.string;
        err = gw_xmcp_encode(s, strlen(s), out);
    } else if (YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v)) {
        err = gw_buf_appends(out, YAJL_IS_TRUE(v) ? "true" : "false");
    } else if (YAJL_IS_INTEGER(v)) {
        err = gw_buf_appendf(out, "%lld", (long long)YAJL_GET_INTEGER(v));
    } else {
        /* not what the schema says: its JSON text, so the backend sees what the body holds */
        gw_buf_t j;
        gw_buf_init(&j);
        err = gw_json_to_buf(v, &j);
        if (err == GW_OK) {
            err = gw_xmcp_encode(j.data, j.len, out);
        }
        gw_buf_fini(&j);
    }
    return err == GW_OK ? 1 : -1;
}
