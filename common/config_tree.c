/* config_tree.c: mcpgw.yaml read with libyaml into a tree of scalars, sequences and mappings that
 * keeps the line of every node (for messages), refusing aliases, deep nesting and more than one
 * document. */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "common/config_int.h"

#define TREE_DEPTH_MAX 32

void gw_config_node_destroy(gw_config_node_t *n)
{
    if (n == NULL) {
        return;
    }
    for (size_t i = 0; i < n->nitems; i++) {
        gw_config_node_destroy(n->items[i]);
    }
    free(n->items);
    free(n->text);
    free(n);
}

typedef struct reader {
    yaml_parser_t parser;
    gw_config_ctx_t *cx;
} reader_t;

static gw_err_t next_event(reader_t *r, yaml_event_t *ev)
{
    if (yaml_parser_parse(&r->parser, ev)) {
        return GW_OK;
    }
    if (r->parser.error == YAML_MEMORY_ERROR) {
        return gw_config_fail_nomem(r->cx);
    }
    unsigned line = (unsigned)r->parser.problem_mark.line + 1;
    if (r->parser.context != NULL) {
        unsigned cline = (unsigned)r->parser.context_mark.line + 1;
        return gw_config_fail_yaml(r->cx, line, "YAML: %s (%s started on line %u)",
                                   r->parser.problem != NULL ? r->parser.problem : "syntax error",
                                   r->parser.context, cline);
    }
    return gw_config_fail_yaml(r->cx, line, "YAML: %s",
                               r->parser.problem != NULL ? r->parser.problem : "syntax error");
}

static gw_err_t node_push(gw_config_node_t *parent, gw_config_node_t *child)
{
    if (parent->nitems == parent->cap) {
        size_t cap = parent->cap == 0 ? 8 : parent->cap * 2;
        gw_config_node_t **p = realloc(parent->items, cap * sizeof(*p));
        if (p == NULL) {
            return GW_ENOMEM;
        }
        parent->items = p;
        parent->cap = cap;
    }
    parent->items[parent->nitems++] = child;
    return GW_OK;
}

static gw_err_t read_node(reader_t *r, yaml_event_t *ev, int depth, gw_config_node_t **out);

/* Reads the children of a sequence or mapping up to its end event. */
static gw_err_t read_children(reader_t *r, gw_config_node_t *n, yaml_event_type_t end, int depth)
{
    for (;;) {
        yaml_event_t ev;
        gw_err_t err = next_event(r, &ev);
        if (err != GW_OK) {
            return err;
        }
        if (ev.type == end) {
            yaml_event_delete(&ev);
            return GW_OK;
        }
        gw_config_node_t *child = NULL;
        err = read_node(r, &ev, depth + 1, &child);
        yaml_event_delete(&ev);
        if (err != GW_OK) {
            return err;
        }
        if (n->kind == GW_CONFIG_MAPPING && (n->nitems % 2) == 0 &&
            child->kind != GW_CONFIG_SCALAR) {
            unsigned line = child->line;
            gw_config_node_destroy(child);
            return gw_config_fail_yaml(r->cx, line, "mapping keys must be scalars");
        }
        if (node_push(n, child) != GW_OK) {
            gw_config_node_destroy(child);
            return gw_config_fail_nomem(r->cx);
        }
    }
}

/* ev is borrowed; on success *out is a new tree owned by the caller. */
static gw_err_t read_node(reader_t *r, yaml_event_t *ev, int depth, gw_config_node_t **out)
{
    unsigned line = (unsigned)ev->start_mark.line + 1;
    if (ev->type == YAML_ALIAS_EVENT) {
        return gw_config_fail_yaml(r->cx, line, "YAML aliases are not supported");
    }
    if (depth > TREE_DEPTH_MAX) {
        return gw_config_fail_yaml(r->cx, line, "nesting too deep");
    }
    gw_config_node_t *n = calloc(1, sizeof(*n));
    if (n == NULL) {
        return gw_config_fail_nomem(r->cx);
    }
    n->line = line;
    gw_err_t err = GW_OK;
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        n->kind = GW_CONFIG_SCALAR;
        n->len = ev->data.scalar.length;
        n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
        n->text = malloc(n->len + 1);
        if (n->text == NULL) {
            err = gw_config_fail_nomem(r->cx);
            break;
        }
        memcpy(n->text, ev->data.scalar.value, n->len);
        n->text[n->len] = '\0';
        break;
    case YAML_SEQUENCE_START_EVENT:
        n->kind = GW_CONFIG_SEQUENCE;
        err = read_children(r, n, YAML_SEQUENCE_END_EVENT, depth);
        break;
    case YAML_MAPPING_START_EVENT:
        n->kind = GW_CONFIG_MAPPING;
        err = read_children(r, n, YAML_MAPPING_END_EVENT, depth);
        break;
    default:
        err = gw_config_fail(r->cx, n, NULL, "YAML: unexpected event");
        break;
    }
    if (err != GW_OK) {
        gw_config_node_destroy(n);
        return err;
    }
    *out = n;
    return GW_OK;
}

gw_err_t gw_config_tree_read(gw_config_ctx_t *cx, const char *text, size_t len,
                             gw_config_node_t **root)
{
    reader_t r = {.cx = cx};
    gw_config_node_t *doc = NULL;
    gw_err_t err = GW_OK;
    int have_event = 0;
    yaml_event_t ev;

    *root = NULL;
    if (!yaml_parser_initialize(&r.parser)) {
        return gw_config_fail_nomem(cx);
    }
    yaml_parser_set_input_string(&r.parser, (const unsigned char *)text, len);
    for (;;) {
        err = next_event(&r, &ev);
        if (err != GW_OK) {
            goto out;
        }
        have_event = 1;
        if (ev.type == YAML_STREAM_END_EVENT) {
            break;
        }
        if (ev.type == YAML_DOCUMENT_START_EVENT && doc != NULL) {
            err = gw_config_fail_yaml(cx, (unsigned)ev.start_mark.line + 1,
                                      "only one YAML document is allowed");
            goto out;
        }
        if (ev.type != YAML_STREAM_START_EVENT && ev.type != YAML_DOCUMENT_START_EVENT &&
            ev.type != YAML_DOCUMENT_END_EVENT) {
            err = read_node(&r, &ev, 0, &doc);
            if (err != GW_OK) {
                goto out;
            }
        }
        yaml_event_delete(&ev);
        have_event = 0;
    }
out:
    if (have_event) {
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&r.parser);
    if (err != GW_OK) {
        gw_config_node_destroy(doc);
        return err;
    }
    *root = doc;
    return GW_OK;
}

int gw_config_node_is_null(const gw_config_node_t *n)
{
    if (n->kind != GW_CONFIG_SCALAR || !n->plain) {
        return 0;
    }
    return n->len == 0 || strcmp(n->text, "~") == 0 || strcmp(n->text, "null") == 0 ||
           strcmp(n->text, "Null") == 0 || strcmp(n->text, "NULL") == 0;
}

const gw_config_node_t *gw_config_node_value_of(const gw_config_node_t *n, const char *key)
{
    for (size_t i = 0; i + 1 < n->nitems; i += 2) {
        if (strcmp(n->items[i]->text, key) == 0) {
            return n->items[i + 1];
        }
    }
    return n;
}
