/* config_int.h: what the parts of the configuration loader share (the line-numbered tree, the
 * checking context and its messages, the typed directive tables); not for the programs. */
#ifndef MCPGW_COMMON_CONFIG_INT_H
#define MCPGW_COMMON_CONFIG_INT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "common/config.h"
#include "common/err.h"

#define GW_CONFIG_KEY_PATH_MAX 256  /* "servers[3].headers.X-Api-Key", cut when longer */
#define GW_CONFIG_TOOL_NAME_MAX 128 /* the MCP spec's limit on a tool name */

#define GW_CONFIG_NELEM(a) (sizeof(a) / sizeof((a)[0]))
/* A number macro as a string, for messages that name a limit: GW_CONFIG_STR(ROUTERS_MAX). */
#define GW_CONFIG_STR(x) GW_CONFIG_STR_(x)
#define GW_CONFIG_STR_(x) #x

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
/* Checks a numeric IPv4 or IPv6 address; returns NULL or what is wrong. */
const char *gw_config_address_problem(const char *s);
/* Checks "http(s)://host[:port][/...]"; returns NULL or what is wrong. */
const char *gw_config_url_problem(const char *url);
/* Checks a URL path such as "/mcp"; returns NULL or what is wrong. */
const char *gw_config_url_path_problem(const char *path);
/* Checks instructions (top level or an endpoint's): at most GW_CONFIG_INSTRUCTIONS_MAX bytes. */
#define GW_CONFIG_INSTRUCTIONS_MAX 8192
const char *gw_config_instructions_problem(const char *s);
/* Checks a backend's own tool name (len bytes: tool_timeouts and tools.rename keys): 1 to 128
 * bytes, no spaces or control characters; returns NULL or what is wrong. */
const char *gw_config_tool_name_problem(const char *s, size_t len);

/* ---- typed directive tables (config_directive.c) ---- */

/* How a directive's value is read and where it is stored (the C type of the field). */
typedef enum gw_config_type {
    GW_CONFIG_STRING,   /* char *: a string (a plain null reads as "") */
    GW_CONFIG_NONEMPTY, /* char *: a string that must not be empty */
    GW_CONFIG_UINT,     /* unsigned: a decimal number from min to max */
    GW_CONFIG_PORT,     /* uint16_t: a decimal number from min to max */
    GW_CONFIG_SIZE,     /* uint64_t: a size (gw_parse_size) from min to max */
    GW_CONFIG_DURATION, /* uint64_t: a duration in ms from min to max (0 too with zero_ok) */
    GW_CONFIG_SECONDS,  /* uint64_t: the same, stored in whole seconds */
    GW_CONFIG_BOOL,     /* int: true (1) or false (0) */
    GW_CONFIG_ENUM,     /* int: the index of the value in names */
    GW_CONFIG_STRLIST,  /* char ** (NULL-terminated) and its count at count_offset */
    GW_CONFIG_SECTION,  /* a mapping of the directives of sub, over the same object */
    GW_CONFIG_CUSTOM,   /* set reads it; no default */
} gw_config_type_t;

typedef struct gw_config_directive gw_config_directive_t;

/* Reads v into obj; path is the key path for messages. */
typedef gw_err_t (*gw_config_set_fn)(gw_config_ctx_t *cx, const gw_config_directive_t *d,
                                     const gw_config_node_t *v, const char *path, void *obj);
/* What is wrong with a string value s, or NULL when it is fine. */
typedef const char *(*gw_config_check_fn)(const char *s);

/* One key: its type, the field it fills, its bounds, its default and its messages. */
struct gw_config_directive {
    const char *key;
    gw_config_type_t type;
    size_t offset;            /* of the field in the object (see GW_CONFIG_FIELD) */
    size_t count_offset;      /* STRLIST: of the size_t count */
    uint64_t min, max;        /* UINT, PORT, SIZE, DURATION, SECONDS: the range accepted */
    int zero_ok;              /* DURATION: 0 (off, never) is accepted below min */
    int required;             /* a mapping without this key is refused */
    uint64_t def;             /* numbers, BOOL, ENUM: the default */
    const char *def_str;      /* strings: the default (NULL: none, the field stays NULL) */
    unsigned (*def_fn)(void); /* UINT: a default known only at run time, instead of def */
    const char *msg;          /* a value that does not read (and one out of range) */
    const char *range_msg;    /* a value out of range, when it has its own message */
    const char *const *names; /* ENUM: the values, NULL-terminated */
    gw_config_check_fn check; /* STRING, NONEMPTY: further checks of the value */
    gw_config_set_fn set;     /* reads the value instead of the type (the type still says the
                                 field and its default) */
    const gw_config_directive_t *sub; /* SECTION: its directives */
    size_t nsub;
};

/* The offset of field f of struct type T, refused at compile time unless f is of type C: the
 * type of a row and the field it names cannot disagree. */
#define GW_CONFIG_FIELD(T, f, C)                                                                   \
    (offsetof(T, f) +                                                                              \
     0 * sizeof(char[__builtin_types_compatible_p(__typeof__(((T *)0)->f), C) ? 1 : -1]))

/* Rows by type: key, the struct and the field (the rest by designated initializers). */
#define GW_CONFIG_ROW(k, type_, T, f, C)                                                           \
    .key = (k), .type = (type_), .offset = GW_CONFIG_FIELD(T, f, C)
#define GW_CONFIG_ROW_STRING(k, T, f) GW_CONFIG_ROW(k, GW_CONFIG_STRING, T, f, char *)
#define GW_CONFIG_ROW_NONEMPTY(k, T, f) GW_CONFIG_ROW(k, GW_CONFIG_NONEMPTY, T, f, char *)
#define GW_CONFIG_ROW_UINT(k, T, f) GW_CONFIG_ROW(k, GW_CONFIG_UINT, T, f, unsigned)
#define GW_CONFIG_ROW_PORT(k, T, f) GW_CONFIG_ROW(k, GW_CONFIG_PORT, T, f, uint16_t)
#define GW_CONFIG_ROW_SIZE(k, T, f) GW_CONFIG_ROW(k, GW_CONFIG_SIZE, T, f, uint64_t)
#define GW_CONFIG_ROW_DURATION(k, T, f) GW_CONFIG_ROW(k, GW_CONFIG_DURATION, T, f, uint64_t)
#define GW_CONFIG_ROW_SECONDS(k, T, f) GW_CONFIG_ROW(k, GW_CONFIG_SECONDS, T, f, uint64_t)
#define GW_CONFIG_ROW_BOOL(k, T, f) GW_CONFIG_ROW(k, GW_CONFIG_BOOL, T, f, int)
#define GW_CONFIG_ROW_ENUM(k, T, f) GW_CONFIG_ROW(k, GW_CONFIG_ENUM, T, f, int)
#define GW_CONFIG_ROW_STRLIST(k, T, f, n)                                                          \
    .key = (k), .type = GW_CONFIG_STRLIST, .offset = GW_CONFIG_FIELD(T, f, char **),               \
    .count_offset = GW_CONFIG_FIELD(T, n, size_t)
#define GW_CONFIG_ROW_SECTION(k, table)                                                            \
    .key = (k), .type = GW_CONFIG_SECTION, .sub = (table), .nsub = GW_CONFIG_NELEM(table)
#define GW_CONFIG_ROW_CUSTOM(k, fn) .key = (k), .type = GW_CONFIG_CUSTOM, .set = (fn)

/* The start of reading v, a list of up to max entries, into a new array of elements of size
 * bytes (*items, zeroed; NULL for null or an empty list): refused with "expected a list of
 * <shape>" or "at most <max> <noun>". The caller reads each entry and counts it in the config as
 * it starts, so that gw_config_destroy frees what got filled when a later entry fails. */
gw_err_t gw_config_list_start(gw_config_ctx_t *cx, const gw_config_node_t *v, const char *path,
                              const char *shape, size_t max, const char *noun, size_t size,
                              void **items);

/* Runs the directive of every key of mapping n over obj. Unknown and repeated keys are errors,
 * and so is a missing required key (after the others were read). */
gw_err_t gw_config_check_map(gw_config_ctx_t *cx, const gw_config_node_t *n, const char *path,
                             const gw_config_directive_t *table, size_t ntable, void *obj);
/* Stores the default of every directive of table (sections included) into obj, whose fields
 * are still zero; GW_ENOMEM when a default string cannot be copied. */
gw_err_t gw_config_defaults(const gw_config_directive_t *table, size_t ntable, void *obj);
/* Reads a duration with d's checks and messages into *out (d is a DURATION row). */
gw_err_t gw_config_take_duration(gw_config_ctx_t *cx, const gw_config_directive_t *d,
                                 const gw_config_node_t *v, const char *path, uint64_t *out);
/* Sets *dst to a copy of the scalar n (a plain null reads as ""); frees the old value. */
gw_err_t gw_config_take_string(gw_config_ctx_t *cx, const gw_config_node_t *n, const char *path,
                               char **dst);
/* The same, refusing an empty string. */
gw_err_t gw_config_take_nonempty(gw_config_ctx_t *cx, const gw_config_node_t *n, const char *path,
                                 char **dst);
/* Frees a string list of the tables (n strings, then the array; NULL is fine). */
void gw_config_strings_free(char **list, size_t n);
/* Whether n is a decimal unsigned integer no greater than max (then *out). */
int gw_config_scalar_uint(const gw_config_node_t *n, uint64_t max, uint64_t *out);

/* ---- the tables (config_keys.c, config_servers.c) ---- */

/* The top-level keys of mcpgw.yaml, and their sections. */
extern const gw_config_directive_t gw_config_top_directives[];
extern const size_t gw_config_ntop_directives;
/* The keys of one listen[] entry (their defaults are those of the listener used when listen is
 * absent). */
extern const gw_config_directive_t gw_config_listen_directives[];
extern const size_t gw_config_nlisten_directives;
/* The keys of one servers[] entry. */
extern const gw_config_directive_t gw_config_server_directives[];
extern const size_t gw_config_nserver_directives;

/* The keys of the auth section (config_auth.c). */
#define GW_CONFIG_NAUTH_DIRECTIVES 6 /* a constant, for the top table's row */
extern const gw_config_directive_t gw_config_auth_directives[GW_CONFIG_NAUTH_DIRECTIVES];
/* The defaults that follow from auth.resource (audiences) and the default algorithms. */
gw_err_t gw_config_auth_finish(gw_config_t *c);
/* Frees what the auth section owns. */
void gw_config_auth_fini(gw_config_t *c);

/* Reads the endpoints list (the custom directive of "endpoints", config_endpoints.c). */
gw_err_t gw_config_set_endpoints(gw_config_ctx_t *cx, const gw_config_directive_t *d,
                                 const gw_config_node_t *v, const char *path, void *obj);
/* Checks what the endpoints need of the rest of the file once root was read into c: their
 * servers exist, their paths differ from mcp_path and from each other, their tools patterns
 * name their servers. */
gw_err_t gw_config_check_endpoints(gw_config_ctx_t *cx, const gw_config_node_t *root,
                                   const gw_config_t *c);
/* Frees what the endpoints list owns. */
void gw_config_endpoints_fini(gw_config_t *c);
/* What is wrong with s as a resource's canonical URI (RFC 8707: absolute, no fragment), or NULL
 * (config_auth.c). */
const char *gw_config_resource_problem(const char *s);

/* Reads the policy section (the custom directive of "policy", config_policy.c). */
gw_err_t gw_config_set_policy(gw_config_ctx_t *cx, const gw_config_directive_t *d,
                              const gw_config_node_t *v, const char *path, void *obj);
/* Frees what the policy section owns. */
void gw_config_policy_fini(gw_config_t *c);
/* A rate limit value ({requests: N/s or N/m, burst: N}; null for none) into *out
 * (config_rate.c): for limits.rate and for any table with a rate. */
gw_err_t gw_config_take_rate(gw_config_ctx_t *cx, const gw_config_node_t *v, const char *path,
                             gw_rate_conf_t *out);
/* The custom directive of a rate: reads it into the gw_rate_conf_t at d->offset of obj (a row
 * {.key = "rate", .type = GW_CONFIG_CUSTOM, .offset = GW_CONFIG_FIELD(T, f, gw_rate_conf_t),
 * .set = gw_config_set_rate}). */
gw_err_t gw_config_set_rate(gw_config_ctx_t *cx, const gw_config_directive_t *d,
                            const gw_config_node_t *v, const char *path, void *obj);

/* Opens the file scalar f names, which holds a credential: a regular file others cannot read.
 * GW_OK with *fd (the caller's to close) and *st; else the message names path and the file. */
gw_err_t gw_config_open_secret(gw_config_ctx_t *cx, const gw_config_node_t *f, const char *path,
                               int *fd, struct stat *st);

/* The keys of servers[].tls (config_server_tls.c), over gw_server_conf_t. */
#define GW_CONFIG_NSERVER_TLS_DIRECTIVES 5 /* a constant, for the server table's row */
extern const gw_config_directive_t
    gw_config_server_tls_directives[GW_CONFIG_NSERVER_TLS_DIRECTIVES];
/* Reads servers[].tls (the set of its row): the section, and that the server has one. */
gw_err_t gw_config_set_server_tls(gw_config_ctx_t *cx, const gw_config_directive_t *d,
                                  const gw_config_node_t *v, const char *path, void *obj);
/* What servers[].tls needs of the rest of server s, whose mapping item was read at path: an
 * https:// url, the client certificate and key together, a key others cannot read. */
gw_err_t gw_config_server_tls_finish(gw_config_ctx_t *cx, const gw_config_node_t *item,
                                     const char *path, const gw_server_conf_t *s);

/* Reads the servers list (the custom directive of "servers"). */
gw_err_t gw_config_set_servers(gw_config_ctx_t *cx, const gw_config_directive_t *d,
                               const gw_config_node_t *v, const char *path, void *obj);
/* Reads servers[].tools (the custom directive of "tools", config_tools.c). */
gw_err_t gw_config_set_server_tools(gw_config_ctx_t *cx, const gw_config_directive_t *d,
                                    const gw_config_node_t *v, const char *path, void *obj);
/* Checks what servers[].tools needs the whole entry for (the prefix) once item, the server's
 * mapping at path, is read into s. */
gw_err_t gw_config_check_server_tools(gw_config_ctx_t *cx, const gw_config_node_t *item,
                                      const char *path, const gw_server_conf_t *s);
/* Fills what is known only once the file was read (the default listener, the control socket in
 * runtime_dir, the default control group's gid); GW_ENOMEM on out of memory. */
gw_err_t gw_config_finish(gw_config_t *c);

#endif
