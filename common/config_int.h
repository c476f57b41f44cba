/* config_int.h: what the parts of the configuration loader share (the line-numbered tree, the
 * checking context and its messages, the syntax of values); not for the programs. */
#ifndef MCPGW_COMMON_CONFIG_INT_H
#define MCPGW_COMMON_CONFIG_INT_H

#include <stddef.h>
#include <stdint.h>

#include "common/config.h"
#include "common/err.h"

#define GW_CONFIG_KEY_PATH_MAX 256 /* "servers[3].headers.X-Api-Key", cut when longer */

#define GW_CONFIG_NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ---- the tree: what libyaml saw, with the line of every node (config_tree.c) ---- */

typedef enum gw_config_node_kind {
    GW_CONFIG_SCALAR,
    GW_CONFIG_SEQUENCE,
    GW_CONFIG_MAPPING,
} gw_config_node_kind_t;

typedef struct gw_config_node gw_config_node_t;
struct gw_config_node {
    gw_config_node_kind_t kind;
    unsigned line; /* 1-based */
    char *text;    /* scalar: owned, NUL-terminated (may also contain NULs) */
    size_t len;
    int plain;                /* scalar written without quotes (so "~" and "" can mean null) */
    gw_config_node_t **items; /* sequence: items; mapping: key, value, key, value ... (owned) */
    size_t nitems;
    size_t cap;
};

/* ---- the checking context and its messages (config_message.c) ---- */

typedef struct gw_config_ctx {
    const char *name; /* file name as given, for messages */
    char *err;        /* may be NULL */
    size_t errlen;
} gw_config_ctx_t;

/* Writes "name:line: path: message" (n's line, 1 without a node) to the context's buffer and
 * returns GW_EINVAL. */
__attribute__((format(printf, 4, 5))) gw_err_t gw_config_fail(gw_config_ctx_t *cx,
                                                              const gw_config_node_t *n,
                                                              const char *path, const char *fmt,
                                                              ...);
/* The same without a key path, for what is wrong with the YAML itself; returns GW_EPARSE. */
__attribute__((format(printf, 3, 4))) gw_err_t
gw_config_fail_yaml(gw_config_ctx_t *cx, unsigned line, const char *fmt, ...);
/* Writes "name: out of memory" and returns GW_ENOMEM. */
gw_err_t gw_config_fail_nomem(gw_config_ctx_t *cx);
/* Writes parent.key into dst (GW_CONFIG_KEY_PATH_MAX bytes): cut when too long, control
 * characters of key as \xNN so that a message stays one line. */
void gw_config_path_join(char *dst, const char *parent, const char *key);
/* Writes parent[i] into dst (GW_CONFIG_KEY_PATH_MAX bytes). */
void gw_config_path_index(char *dst, const char *parent, size_t i);

/* Parses text into *root (NULL for a file with no document); the tree is the caller's, freed
 * with gw_config_node_destroy. Errors go to cx. */
gw_err_t gw_config_tree_read(gw_config_ctx_t *cx, const char *text, size_t len,
                             gw_config_node_t **root);
/* Frees n and everything under it (NULL is fine). */
void gw_config_node_destroy(gw_config_node_t *n);
/* Whether n is a plain null scalar: empty, ~, null, Null or NULL. */
int gw_config_node_is_null(const gw_config_node_t *n);
/* The value node of key in mapping n, or n itself when key is absent (for pointing messages at
 * the right line). */
const gw_config_node_t *gw_config_node_value_of(const gw_config_node_t *n, const char *key);

/* ---- the syntax of values, on plain strings (config_syntax.c) ---- */

/* Whether s is min..max characters of [A-Za-z0-9] and the characters of extra. */
int gw_config_is_word(const char *s, const char *extra, size_t min, size_t max);
/* Whether s is an HTTP token (a header name). */
int gw_config_is_http_token(const char *s);
/* Whether s is a numeric IPv4 or IPv6 address. */
int gw_config_is_address(const char *s);
/* Checks "http(s)://host[:port][/...]"; returns NULL or what is wrong. */
const char *gw_config_url_problem(const char *url);
/* Checks a URL path such as "/mcp"; returns NULL or what is wrong. */
const char *gw_config_url_path_problem(const char *path);

#endif
