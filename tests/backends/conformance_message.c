/* mcpgw-conformance: JSON-RPC ids, JSON values written back, and the messages and content
 * blocks it writes. */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <h2o.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "tests/backends/conformance.h"
#include "tests/backends/json.h"
#include "tests/backends/serve.h"

/* A 1x1 red PNG, base64. */
const char cf_red_pixel_png[] = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAA"
                                "MBAQDJ/pLvAAAAAElFTkSuQmCC";

char *cf_format(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (len < 0) {
        return NULL;
    }
    char *buf = malloc((size_t)len + 1);
    if (buf == NULL) {
        return NULL;
    }
    va_start(ap, fmt);
    vsnprintf(buf, (size_t)len + 1, fmt, ap);
    va_end(ap);
    return buf;
}

const char *cf_member_string(yajl_val obj, const char *key)
{
    yajl_val v = json_member(obj, key);

    return YAJL_IS_STRING(v) ? YAJL_GET_STRING(v) : NULL;
}

/* Borrows the text of a string or number value as an id; -1 for any other value. */
int cf_id_borrow(cf_id_t *id, yajl_val v)
{
    if (YAJL_IS_STRING(v)) {
        id->is_string = 1;
        id->text = YAJL_GET_STRING(v);
    } else if (YAJL_IS_NUMBER(v)) {
        id->is_string = 0;
        id->text = YAJL_GET_NUMBER(v);
    } else {
        return -1;
    }
    id->len = strlen(id->text);
    return 0;
}

int cf_id_dup(cf_id_t *dst, const cf_id_t *src)
{
    *dst = *src;
    if ((dst->text = malloc(src->len + 1)) == NULL) {
        return -1;
    }
    memcpy(dst->text, src->text, src->len + 1);
    return 0;
}

int cf_id_equals(const cf_id_t *id, yajl_val v)
{
    cf_id_t other;

    return id->text != NULL && cf_id_borrow(&other, v) == 0 && other.is_string == id->is_string &&
           other.len == id->len && memcmp(other.text, id->text, id->len) == 0;
}

/* Bounds the nesting of a JSON text before it is parsed; strings may hold any bracket. */
int cf_json_depth_ok(const char *p, size_t len, unsigned max)
{
    unsigned depth = 0;
    int in_string = 0;

    for (size_t i = 0; i < len; ++i) {
        char ch = p[i];
        if (in_string) {
            if (ch == '\\') {
                ++i;
            } else if (ch == '"') {
                in_string = 0;
            }
        } else if (ch == '"') {
            in_string = 1;
        } else if (ch == '[' || ch == '{') {
            if (++depth > max) {
                return 0;
            }
        } else if ((ch == ']' || ch == '}') && depth != 0) {
            --depth;
        }
    }
    return 1;
}

void cf_gen_kv(yajl_gen g, const char *key, const char *value)
{
    json_gen_str(g, key);
    json_gen_str(g, value);
}

void cf_gen_id(yajl_gen g, const cf_id_t *id)
{
    if (id->text == NULL) {
        yajl_gen_null(g);
    } else if (id->is_string) {
        yajl_gen_string(g, (const unsigned char *)id->text, id->len);
    } else {
        yajl_gen_number(g, id->text, id->len);
    }
}

/* Writes a parsed value back out; depth is bounded by cf_json_depth_ok or by our own constants. */
void cf_gen_value(yajl_gen g, yajl_val v)
{
    if (v == NULL) {
        yajl_gen_null(g);
        return;
    }
    switch (v->type) {
    case yajl_t_string:
        json_gen_str(g, v->u.string);
        break;
    case yajl_t_number:
        yajl_gen_number(g, v->u.number.r, strlen(v->u.number.r));
        break;
    case yajl_t_object:
        yajl_gen_map_open(g);
        for (size_t i = 0; i != v->u.object.len; ++i) {
            json_gen_str(g, v->u.object.keys[i]);
            cf_gen_value(g, v->u.object.values[i]);
        }
        yajl_gen_map_close(g);
        break;
    case yajl_t_array:
        yajl_gen_array_open(g);
        for (size_t i = 0; i != v->u.array.len; ++i) {
            cf_gen_value(g, v->u.array.values[i]);
        }
        yajl_gen_array_close(g);
        break;
    case yajl_t_true:
        yajl_gen_bool(g, 1);
        break;
    case yajl_t_false:
        yajl_gen_bool(g, 0);
        break;
    default:
        yajl_gen_null(g);
        break;
    }
}

char *cf_json_text(yajl_val v)
{
    yajl_gen g = yajl_gen_alloc(NULL);

    if (g == NULL) {
        return NULL;
    }
    cf_gen_value(g, v);
    h2o_iovec_t out = json_gen_output(g);
    char *text = malloc(out.len + 1);
    if (text != NULL) {
        memcpy(text, out.base, out.len);
        text[out.len] = '\0';
    }
    yajl_gen_free(g);
    return text;
}

yajl_gen cf_message_begin(void)
{
    yajl_gen g = yajl_gen_alloc(NULL);

    if (g != NULL) {
        yajl_gen_map_open(g);
        cf_gen_kv(g, "jsonrpc", "2.0");
    }
    return g;
}

/* Starts {"jsonrpc":"2.0","id":ID,"result": ; the caller writes the result and closes the map. */
yajl_gen cf_response_begin(const cf_id_t *id)
{
    yajl_gen g = cf_message_begin();

    if (g == NULL) {
        return NULL;
    }
    json_gen_str(g, "id");
    cf_gen_id(g, id);
    json_gen_str(g, "result");
    return g;
}

/* Starts a notification up to its params object, which the caller fills and closes twice. */
yajl_gen cf_notification_begin(const char *method)
{
    yajl_gen g = cf_message_begin();

    if (g == NULL) {
        return NULL;
    }
    cf_gen_kv(g, "method", method);
    json_gen_str(g, "params");
    yajl_gen_map_open(g);
    return g;
}

void cf_gen_text_content(yajl_gen g, const char *text)
{
    yajl_gen_map_open(g);
    cf_gen_kv(g, "type", "text");
    cf_gen_kv(g, "text", text);
    yajl_gen_map_close(g);
}

void cf_gen_image_content(yajl_gen g)
{
    yajl_gen_map_open(g);
    cf_gen_kv(g, "type", "image");
    cf_gen_kv(g, "data", cf_red_pixel_png);
    cf_gen_kv(g, "mimeType", "image/png");
    yajl_gen_map_close(g);
}

void cf_gen_resource_content(yajl_gen g, const char *uri, const char *mime_type, const char *text)
{
    yajl_gen_map_open(g);
    cf_gen_kv(g, "type", "resource");
    json_gen_str(g, "resource");
    yajl_gen_map_open(g);
    cf_gen_kv(g, "uri", uri);
    cf_gen_kv(g, "mimeType", mime_type);
    cf_gen_kv(g, "text", text);
    yajl_gen_map_close(g);
    yajl_gen_map_close(g);
}

/* A CallToolResult with one text item. */
void cf_gen_text_result(yajl_gen g, const char *text, int is_error)
{
    yajl_gen_map_open(g);
    json_gen_str(g, "content");
    yajl_gen_array_open(g);
    cf_gen_text_content(g, text);
    yajl_gen_array_close(g);
    if (is_error) {
        json_gen_str(g, "isError");
        yajl_gen_bool(g, 1);
    }
    yajl_gen_map_close(g);
}
