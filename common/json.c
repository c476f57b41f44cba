/* json.c: control-path JSON over yajl's tree and generator (catalogs, routes, CLI output). */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"

/* yajl_tree_free and gw_json_gen recurse once per level, and yajl's generator refuses to go
 * deeper than YAJL_MAX_DEPTH; a tree we parse must be one we can free and print again. */
#define JSON_DEPTH_MAX 100

static void set_err(char *err, size_t errlen, const char *msg)
{
    if (err != NULL && errlen > 0) {
        snprintf(err, errlen, "%s", msg);
    }
}

/* An upper bound on the nesting of text, following strings and comments as yajl's lexer does
 * (yajl_tree_parse accepts comments), so brackets inside them do not count. */
static size_t nesting_bound(const char *text, size_t len)
{
    size_t depth = 0;
    size_t max = 0;
    size_t i = 0;
    while (i < len) {
        char c = text[i++];
        if (c == '"') {
            while (i < len && text[i] != '"') {
                i += text[i] == '\\' ? 2 : 1;
            }
            i++;
        } else if (c == '/' && i < len && text[i] == '*') {
            const char *end = NULL;
            for (size_t j = i + 1; j + 1 < len; j++) {
                if (text[j] == '*' && text[j + 1] == '/') {
                    end = text + j + 2;
                    break;
                }
            }
            i = end != NULL ? (size_t)(end - text) : len;
        } else if (c == '/' && i < len && text[i] == '/') {
            while (i < len && text[i] != '\n') {
                i++;
            }
        } else if (c == '[' || c == '{') {
            if (++depth > max) {
                max = depth;
            }
        } else if ((c == ']' || c == '}') && depth > 0) {
            depth--;
        }
    }
    return max;
}

yajl_val gw_json_parse(const char *text, size_t len, char *err, size_t errlen)
{
    if (memchr(text, '\0', len) != NULL) {
        /* yajl would stop at the NUL and accept only the text before it. */
        set_err(err, errlen, "NUL byte in JSON text");
        return NULL;
    }
    if (nesting_bound(text, len) > JSON_DEPTH_MAX) {
        set_err(err, errlen, "JSON nested too deeply");
        return NULL;
    }
    char *copy = malloc(len + 1);
    if (copy == NULL) {
        set_err(err, errlen, "out of memory");
        return NULL;
    }
    memcpy(copy, text, len);
    copy[len] = '\0';
    char msg[256] = "";
    yajl_val v = yajl_tree_parse(copy, msg, sizeof(msg));
    free(copy);
    if (v == NULL) {
        /* yajl's message spans several lines with a caret under the error; keep it to one. */
        for (char *p = msg; *p != '\0'; p++) {
            if (*p == '\n' || *p == '\r') {
                *p = ' ';
            }
        }
        size_t n = strlen(msg);
        while (n > 0 && msg[n - 1] == ' ') {
            msg[--n] = '\0';
        }
        set_err(err, errlen, msg[0] != '\0' ? msg : "malformed JSON");
    }
    return v;
}

yajl_val gw_json_get(yajl_val v, const char *key)
{
    if (!YAJL_IS_OBJECT(v)) {
        return NULL;
    }
    for (size_t i = 0; i < v->u.object.len; i++) {
        if (strcmp(v->u.object.keys[i], key) == 0) {
            return v->u.object.values[i];
        }
    }
    return NULL;
}

const char *gw_json_get_string(yajl_val v, const char *key)
{
    yajl_val m = gw_json_get(v, key);
    return YAJL_IS_STRING(m) ? m->u.string : NULL;
}

yajl_gen_status gw_json_gen_cstr(yajl_gen g, const char *s)
{
    return yajl_gen_string(g, (const unsigned char *)s, strlen(s));
}

yajl_gen_status gw_json_gen(yajl_gen g, yajl_val v)
{
    yajl_gen_status st;
    if (v == NULL) {
        return yajl_gen_null(g);
    }
    switch (v->type) {
    case yajl_t_string:
        return gw_json_gen_cstr(g, v->u.string);
    case yajl_t_number:
        /* The text as received: re-printing a double would change 0.1 or 1e400. */
        if (v->u.number.r != NULL) {
            return yajl_gen_number(g, v->u.number.r, strlen(v->u.number.r));
        }
        if (v->u.number.flags & YAJL_NUMBER_INT_VALID) {
            return yajl_gen_integer(g, v->u.number.i);
        }
        return yajl_gen_double(g, v->u.number.d);
    case yajl_t_object:
        if ((st = yajl_gen_map_open(g)) != yajl_gen_status_ok) {
            return st;
        }
        for (size_t i = 0; i < v->u.object.len; i++) {
            if ((st = gw_json_gen_cstr(g, v->u.object.keys[i])) != yajl_gen_status_ok ||
                (st = gw_json_gen(g, v->u.object.values[i])) != yajl_gen_status_ok) {
                return st;
            }
        }
        return yajl_gen_map_close(g);
    case yajl_t_array:
        if ((st = yajl_gen_array_open(g)) != yajl_gen_status_ok) {
            return st;
        }
        for (size_t i = 0; i < v->u.array.len; i++) {
            if ((st = gw_json_gen(g, v->u.array.values[i])) != yajl_gen_status_ok) {
                return st;
            }
        }
        return yajl_gen_array_close(g);
    case yajl_t_true:
        return yajl_gen_bool(g, 1);
    case yajl_t_false:
        return yajl_gen_bool(g, 0);
    case yajl_t_null:
        return yajl_gen_null(g);
    default:
        return yajl_gen_invalid_string;
    }
}

static void print_to_buf(void *ctx, const char *s, size_t len)
{
    /* yajl gives a print callback no way to fail; an append that runs out of memory marks the
     * buffer failed (gw_buf_status), and every later append fails too. */
    (void)gw_buf_append(ctx, s, len);
}

yajl_gen gw_json_gen_to_buf(gw_buf_t *out)
{
    yajl_gen g = yajl_gen_alloc(NULL);
    if (g == NULL) {
        return NULL;
    }
    if (!yajl_gen_config(g, yajl_gen_print_callback, print_to_buf, out)) {
        yajl_gen_free(g);
        return NULL;
    }
    return g;
}

gw_err_t gw_json_gen_done(yajl_gen g, gw_buf_t *out, yajl_gen_status st)
{
    yajl_gen_free(g);
    if (gw_buf_status(out) != GW_OK) {
        return GW_ENOMEM;
    }
    if (st != yajl_gen_status_ok) {
        return st == yajl_max_depth_exceeded ? GW_ETOOBIG : GW_EINVAL;
    }
    return GW_OK;
}

typedef struct buf_sink {
    gw_buf_t *out;
    gw_err_t err;
} buf_sink_t;

static void print_to_sink(void *ctx, const char *s, size_t len)
{
    buf_sink_t *sink = ctx;
    if (sink->err == GW_OK) {
        sink->err = gw_buf_append(sink->out, s, len);
    }
}

gw_err_t gw_json_to_buf(yajl_val v, gw_buf_t *out)
{
    buf_sink_t sink = {.out = out, .err = GW_OK};
    size_t start = out->len;
    yajl_gen g = yajl_gen_alloc(NULL);
    if (g == NULL) {
        return GW_ENOMEM;
    }
    if (!yajl_gen_config(g, yajl_gen_print_callback, print_to_sink, &sink)) {
        yajl_gen_free(g);
        return GW_ENOMEM;
    }
    yajl_gen_status st = gw_json_gen(g, v);
    yajl_gen_free(g);
    gw_err_t err = sink.err;
    if (err == GW_OK && st != yajl_gen_status_ok) {
        err = st == yajl_max_depth_exceeded ? GW_ETOOBIG : GW_EINVAL;
    }
    if (err != GW_OK) {
        /* Leave no half-written JSON behind. */
        out->len = start;
        if (out->data != NULL) {
            out->data[start] = '\0';
        }
    }
    return err;
}
