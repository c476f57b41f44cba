/* config_directive.c: the typed directive tables at work: a mapping read key by key into the
 * fields its rows name, each value checked by its type (string, number, size, duration, bool,
 * enum, list of strings, section) against the row's bounds, and every default from its row. */
#include <config.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/config_int.h"

#define FIELD(obj, d, C) ((C *)(void *)((char *)(obj) + (d)->offset))

gw_err_t gw_config_take_string(gw_config_ctx_t *cx, const gw_config_node_t *n, const char *path,
                               char **dst)
{
    if (n->kind != GW_CONFIG_SCALAR) {
        return gw_config_fail(cx, n, path, "expected a string");
    }
    const char *s = gw_config_node_is_null(n) ? "" : n->text;
    size_t len = gw_config_node_is_null(n) ? 0 : n->len;
    if (memchr(s, '\0', len) != NULL) {
        return gw_config_fail(cx, n, path, "contains a NUL byte");
    }
    char *copy = strdup(s);
    if (copy == NULL) {
        return gw_config_fail_nomem(cx);
    }
    free(*dst);
    *dst = copy;
    return GW_OK;
}

gw_err_t gw_config_take_nonempty(gw_config_ctx_t *cx, const gw_config_node_t *n, const char *path,
                                 char **dst)
{
    gw_err_t err = gw_config_take_string(cx, n, path, dst);
    if (err == GW_OK && (*dst)[0] == '\0') {
        return gw_config_fail(cx, n, path, "must not be empty");
    }
    return err;
}

int gw_config_scalar_uint(const gw_config_node_t *n, uint64_t max, uint64_t *out)
{
    if (n->kind != GW_CONFIG_SCALAR || n->len == 0 || n->len > 20) {
        return 0;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < n->len; i++) {
        unsigned char c = (unsigned char)n->text[i];
        if (c < '0' || c > '9') {
            return 0;
        }
        if (v > (max - (c - '0')) / 10) {
            return 0;
        }
        v = v * 10 + (c - '0');
    }
    *out = v;
    return 1;
}

/* The message for a value that reads but is out of d's range. */
static const char *range_msg(const gw_config_directive_t *d)
{
    return d->range_msg != NULL ? d->range_msg : d->msg;
}

static gw_err_t take_string_row(gw_config_ctx_t *cx, const gw_config_directive_t *d,
                                const gw_config_node_t *v, const char *path, void *obj)
{
    char **dst = FIELD(obj, d, char *);
    gw_err_t err = d->type == GW_CONFIG_NONEMPTY ? gw_config_take_nonempty(cx, v, path, dst)
                                                 : gw_config_take_string(cx, v, path, dst);
    if (err != GW_OK || d->check == NULL) {
        return err;
    }
    const char *problem = d->check(*dst);
    if (problem != NULL) {
        return gw_config_fail(cx, v, path, "%s", problem);
    }
    return GW_OK;
}

/* UINT and PORT: a decimal number from min to max, one message for anything else. */
static gw_err_t take_number(gw_config_ctx_t *cx, const gw_config_directive_t *d,
                            const gw_config_node_t *v, const char *path, uint64_t *out)
{
    if (!gw_config_scalar_uint(v, d->max, out) || *out < d->min) {
        return gw_config_fail(cx, v, path, "%s", d->msg);
    }
    return GW_OK;
}

static gw_err_t take_size(gw_config_ctx_t *cx, const gw_config_directive_t *d,
                          const gw_config_node_t *v, const char *path, uint64_t *out)
{
    uint64_t n;
    if (v->kind != GW_CONFIG_SCALAR || gw_parse_size(v->text, &n) != GW_OK) {
        return gw_config_fail(cx, v, path, "%s", d->msg);
    }
    if (n < d->min || n > d->max) {
        return gw_config_fail(cx, v, path, "%s", range_msg(d));
    }
    *out = n;
    return GW_OK;
}

gw_err_t gw_config_take_duration(gw_config_ctx_t *cx, const gw_config_directive_t *d,
                                 const gw_config_node_t *v, const char *path, uint64_t *out)
{
    uint64_t ms;
    if (v->kind != GW_CONFIG_SCALAR || gw_parse_duration_ms(v->text, &ms) != GW_OK) {
        return gw_config_fail(cx, v, path, "%s", d->msg);
    }
    if (!(ms == 0 && d->zero_ok) && (ms < d->min || ms > d->max)) {
        return gw_config_fail(cx, v, path, "%s", range_msg(d));
    }
    *out = ms;
    return GW_OK;
}

static const char *const bool_names[] = {"false", "true", NULL};

/* BOOL and ENUM: the index of the value among the names (false 0, true 1). */
static gw_err_t take_name(gw_config_ctx_t *cx, const gw_config_directive_t *d,
                          const gw_config_node_t *v, const char *path, int *out)
{
    const char *const *names = d->type == GW_CONFIG_BOOL ? bool_names : d->names;
    if (v->kind == GW_CONFIG_SCALAR) {
        for (int i = 0; names[i] != NULL; i++) {
            if (strcmp(v->text, names[i]) == 0) {
                *out = i;
                return GW_OK;
            }
        }
    }
    return gw_config_fail(cx, v, path, "%s", d->msg);
}

/* A list of strings into a NULL-terminated vector (a null value is an empty list). */
void gw_config_strings_free(char **list, size_t n)
{
    for (size_t i = 0; list != NULL && i < n; i++) {
        free(list[i]);
    }
    free(list);
}

static gw_err_t take_string_list(gw_config_ctx_t *cx, const gw_config_directive_t *d,
                                 const gw_config_node_t *v, const char *path, void *obj)
{
    char ***out = FIELD(obj, d, char **);
    size_t *n = (size_t *)(void *)((char *)obj + d->count_offset);
    if (gw_config_node_is_null(v)) {
        return GW_OK;
    }
    if (v->kind != GW_CONFIG_SEQUENCE) {
        return gw_config_fail(cx, v, path, "expected a list of strings");
    }
    char **list = calloc(v->nitems + 1, sizeof(char *));
    if (list == NULL) {
        return gw_config_fail_nomem(cx);
    }
    *out = list;
    for (size_t i = 0; i < v->nitems; i++) {
        char sub[GW_CONFIG_KEY_PATH_MAX];
        gw_config_path_index(sub, path, i);
        gw_err_t err = gw_config_take_nonempty(cx, v->items[i], sub, &list[i]);
        /* Counted before any check: a string that take_nonempty stored and a check below refuses
         * is still freed by gw_config_destroy (list[i] may be NULL; free copes). */
        (*n)++;
        if (err != GW_OK) {
            return err;
        }
        for (char *c = list[i]; *c; c++) {
            if ((unsigned char)*c <= 0x20 || *c == 0x7f) {
                return gw_config_fail(cx, v->items[i], sub,
                                      "must not contain spaces or control characters");
            }
        }
    }
    return GW_OK;
}

/* Reads v with directive d into obj (its type, or its own set). */
static gw_err_t set_value(gw_config_ctx_t *cx, const gw_config_directive_t *d,
                          const gw_config_node_t *v, const char *path, void *obj)
{
    uint64_t n;
    gw_err_t err;

    if (d->set != NULL) {
        return d->set(cx, d, v, path, obj);
    }
    switch (d->type) {
    case GW_CONFIG_STRING:
    case GW_CONFIG_NONEMPTY:
        return take_string_row(cx, d, v, path, obj);
    case GW_CONFIG_UINT:
        if ((err = take_number(cx, d, v, path, &n)) == GW_OK) {
            *FIELD(obj, d, unsigned) = (unsigned)n;
        }
        return err;
    case GW_CONFIG_PORT:
        if ((err = take_number(cx, d, v, path, &n)) == GW_OK) {
            *FIELD(obj, d, uint16_t) = (uint16_t)n;
        }
        return err;
    case GW_CONFIG_SIZE:
        return take_size(cx, d, v, path, FIELD(obj, d, uint64_t));
    case GW_CONFIG_DURATION:
        return gw_config_take_duration(cx, d, v, path, FIELD(obj, d, uint64_t));
    case GW_CONFIG_SECONDS:
        if ((err = gw_config_take_duration(cx, d, v, path, &n)) == GW_OK) {
            *FIELD(obj, d, uint64_t) = n / 1000;
        }
        return err;
    case GW_CONFIG_BOOL:
    case GW_CONFIG_ENUM:
        return take_name(cx, d, v, path, FIELD(obj, d, int));
    case GW_CONFIG_STRLIST:
        return take_string_list(cx, d, v, path, obj);
    case GW_CONFIG_SECTION:
        return gw_config_check_map(cx, v, path, d->sub, d->nsub, obj);
    case GW_CONFIG_CUSTOM:
        break;
    }
    return gw_config_fail(cx, v, path, "no reader for this key");
}

static int has_key(const gw_config_node_t *n, const char *key)
{
    for (size_t i = 0; i + 1 < n->nitems; i += 2) {
        if (strcmp(n->items[i]->text, key) == 0) {
            return 1;
        }
    }
    return 0;
}

gw_err_t gw_config_list_start(gw_config_ctx_t *cx, const gw_config_node_t *v, const char *path,
                              const char *shape, size_t max, const char *noun, size_t size,
                              void **items)
{
    *items = NULL;
    if (gw_config_node_is_null(v)) {
        return GW_OK;
    }
    if (v->kind != GW_CONFIG_SEQUENCE) {
        return gw_config_fail(cx, v, path, "expected a list of %s", shape);
    }
    if (v->nitems > max) {
        return gw_config_fail(cx, v, path, "at most %zu %s", max, noun);
    }
    if (v->nitems > 0 && (*items = calloc(v->nitems, size)) == NULL) {
        return gw_config_fail_nomem(cx);
    }
    return GW_OK;
}

gw_err_t gw_config_check_map(gw_config_ctx_t *cx, const gw_config_node_t *n, const char *path,
                             const gw_config_directive_t *table, size_t ntable, void *obj)
{
    if (n->kind != GW_CONFIG_MAPPING) {
        return gw_config_fail(cx, n, path, "expected a mapping");
    }
    for (size_t i = 0; i + 1 < n->nitems; i += 2) {
        const gw_config_node_t *key = n->items[i];
        const gw_config_node_t *value = n->items[i + 1];
        char sub[GW_CONFIG_KEY_PATH_MAX];
        gw_config_path_join(sub, path, key->text);
        for (size_t j = 0; j < i; j += 2) {
            if (strcmp(n->items[j]->text, key->text) == 0) {
                return gw_config_fail(cx, key, sub, "duplicate key");
            }
        }
        size_t d = 0;
        while (d < ntable && strcmp(table[d].key, key->text) != 0) {
            d++;
        }
        if (d == ntable) {
            return gw_config_fail(cx, key, sub, "unknown key");
        }
        gw_err_t err = set_value(cx, &table[d], value, sub, obj);
        if (err != GW_OK) {
            return err;
        }
    }
    for (size_t d = 0; d < ntable; d++) {
        if (table[d].required && !has_key(n, table[d].key)) {
            return gw_config_fail(cx, n, path, "missing required key %s", table[d].key);
        }
    }
    return GW_OK;
}

gw_err_t gw_config_defaults(const gw_config_directive_t *table, size_t ntable, void *obj)
{
    for (size_t i = 0; i < ntable; i++) {
        const gw_config_directive_t *d = &table[i];
        switch (d->type) {
        case GW_CONFIG_STRING:
        case GW_CONFIG_NONEMPTY:
            if (d->def_str != NULL) {
                char *copy = strdup(d->def_str);
                if (copy == NULL) {
                    return GW_ENOMEM;
                }
                free(*FIELD(obj, d, char *));
                *FIELD(obj, d, char *) = copy;
            }
            break;
        case GW_CONFIG_UINT:
            *FIELD(obj, d, unsigned) = d->def_fn != NULL ? d->def_fn() : (unsigned)d->def;
            break;
        case GW_CONFIG_PORT:
            *FIELD(obj, d, uint16_t) = (uint16_t)d->def;
            break;
        case GW_CONFIG_SIZE:
        case GW_CONFIG_DURATION:
            *FIELD(obj, d, uint64_t) = d->def;
            break;
        case GW_CONFIG_SECONDS:
            *FIELD(obj, d, uint64_t) = d->def / 1000;
            break;
        case GW_CONFIG_BOOL:
        case GW_CONFIG_ENUM:
            *FIELD(obj, d, int) = (int)d->def;
            break;
        case GW_CONFIG_SECTION: {
            gw_err_t err = gw_config_defaults(d->sub, d->nsub, obj);
            if (err != GW_OK) {
                return err;
            }
            break;
        }
        case GW_CONFIG_STRLIST:
        case GW_CONFIG_CUSTOM:
            break;
        }
    }
    return GW_OK;
}
