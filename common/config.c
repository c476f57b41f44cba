/* config.c: mcpgw.yaml read with libyaml into a line-numbered tree, then checked by directive
 * tables into an immutable gw_config_t. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/config.h"
#include "common/config_int.h"
#include "common/log.h"

#define CONFIG_FILE_MAX (4u << 20) /* a config file is never this big; refuse to slurp more */
#define ROUTERS_MAX 64
#define LISTEN_MAX 64
#define SERVERS_MAX 4096
#define HEADERS_MAX 64
#define TOOL_TIMEOUTS_MAX 1024
#define TOOL_NAME_MAX 128 /* the MCP spec's limit on a tool name */

#define DEFAULT_ADDRESS "127.0.0.1"
#define DEFAULT_PORT 8080
#define DEFAULT_MCP_PATH "/mcp"
#define DEFAULT_RUNTIME_DIR "/run/mcpgw"
#define DEFAULT_KEY_FILE "/var/lib/mcpgw/session.key"
#define DEFAULT_MAX_BODY (1ull << 20)
#define MIN_MAX_BODY (1ull << 10)
#define MAX_MAX_BODY (64ull << 20)
#define DEFAULT_TTL_MS (24ull * 3600 * 1000)
#define DEFAULT_TIMEOUT_MS (30ull * 1000)
#define DEFAULT_IDLE_MS (3600ull * 1000)
#define DEFAULT_REQUESTS_PER_SESSION 64
#define DEFAULT_CONTROL_MODE 0660
#define DEFAULT_CONTROL_GROUP "mcpgw"
#define GROUP_BUF_MAX (1u << 20) /* getgrnam_r's buffer grows up to this for huge groups */

/* ---- scalar helpers ---- */

/* Sets *dst to a copy of the scalar n (a plain null reads as ""); frees the old value. */
static gw_err_t take_string(gw_config_ctx_t *cx, const gw_config_node_t *n, const char *path,
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

static gw_err_t take_nonempty(gw_config_ctx_t *cx, const gw_config_node_t *n, const char *path,
                              char **dst)
{
    gw_err_t err = take_string(cx, n, path, dst);
    if (err == GW_OK && (*dst)[0] == '\0') {
        return gw_config_fail(cx, n, path, "must not be empty");
    }
    return err;
}

/* A decimal unsigned integer no greater than max. */
static int scalar_uint(const gw_config_node_t *n, uint64_t max, uint64_t *out)
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

/* ---- directive tables ---- */

typedef gw_err_t (*directive_fn)(gw_config_ctx_t *cx, const gw_config_node_t *value,
                                 const char *path, void *obj);

typedef struct directive {
    const char *key;
    directive_fn set;
} directive_t;

/* Runs the directive for every key of mapping n over obj. Unknown and repeated keys are errors.
 * seen, when not NULL, receives one flag per directive (the caller checks required keys). */
static gw_err_t check_map(gw_config_ctx_t *cx, const gw_config_node_t *n, const char *path,
                          const directive_t *table, size_t ntable, void *obj, unsigned char *seen)
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
        if (seen != NULL) {
            seen[d] = 1;
        }
        gw_err_t err = table[d].set(cx, value, sub, obj);
        if (err != GW_OK) {
            return err;
        }
    }
    return GW_OK;
}

/* ---- listen ---- */

static gw_err_t set_listen_address(gw_config_ctx_t *cx, const gw_config_node_t *v, const char *path,
                                   void *obj)
{
    gw_listen_t *l = obj;
    gw_err_t err = take_string(cx, v, path, &l->address);
    if (err != GW_OK) {
        return err;
    }
    if (!gw_config_is_address(l->address)) {
        return gw_config_fail(cx, v, path, "not a numeric IPv4 or IPv6 address");
    }
    return GW_OK;
}

static gw_err_t set_listen_port(gw_config_ctx_t *cx, const gw_config_node_t *v, const char *path,
                                void *obj)
{
    gw_listen_t *l = obj;
    uint64_t port;
    if (!scalar_uint(v, 65535, &port)) {
        return gw_config_fail(cx, v, path, "not a port number (0..65535)");
    }
    l->port = (uint16_t)port;
    return GW_OK;
}

static const directive_t listen_directives[] = {
    {"address", set_listen_address},
    {"port", set_listen_port},
};

static gw_err_t set_listen(gw_config_ctx_t *cx, const gw_config_node_t *v, const char *path,
                           void *obj)
{
    gw_config_t *c = obj;
    if (v->kind != GW_CONFIG_SEQUENCE) {
        return gw_config_fail(cx, v, path, "expected a list of {address, port}");
    }
    if (v->nitems == 0) {
        return gw_config_fail(cx, v, path, "at least one address is required");
    }
    if (v->nitems > LISTEN_MAX) {
        return gw_config_fail(cx, v, path, "at most %d addresses", LISTEN_MAX);
    }
    gw_listen_t *l = calloc(v->nitems, sizeof(*l));
    if (l == NULL) {
        return gw_config_fail_nomem(cx);
    }
    /* Owned by c from here, so that gw_config_destroy frees whatever got filled in. */
    for (size_t i = 0; i < c->nlisten; i++) {
        free(c->listen[i].address);
    }
    free(c->listen);
    c->listen = l;
    c->nlisten = v->nitems;
    for (size_t i = 0; i < v->nitems; i++) {
        char sub[GW_CONFIG_KEY_PATH_MAX];
        gw_config_path_index(sub, path, i);
        unsigned char seen[GW_CONFIG_NELEM(listen_directives)] = {0};
        gw_err_t err = check_map(cx, v->items[i], sub, listen_directives,
                                 GW_CONFIG_NELEM(listen_directives), &l[i], seen);
        if (err != GW_OK) {
            return err;
        }
        if (!seen[0]) {
            return gw_config_fail(cx, v->items[i], sub, "missing required key address");
        }
        if (!seen[1]) {
            return gw_config_fail(cx, v->items[i], sub, "missing required key port");
        }
    }
    return GW_OK;
}

/* ---- top-level scalars ---- */

static gw_err_t set_mcp_path(gw_config_ctx_t *cx, const gw_config_node_t *v, const char *path,
                             void *obj)
{
    gw_config_t *c = obj;
    gw_err_t err = take_string(cx, v, path, &c->mcp_path);
    if (err != GW_OK) {
        return err;
    }
    const char *problem = gw_config_url_path_problem(c->mcp_path);
    if (problem != NULL) {
        return gw_config_fail(cx, v, path, "%s", problem);
    }
    return GW_OK;
}

static gw_err_t set_runtime_dir(gw_config_ctx_t *cx, const gw_config_node_t *v, const char *path,
                                void *obj)
{
    gw_config_t *c = obj;
    return take_nonempty(cx, v, path, &c->runtime_dir);
}

static gw_err_t set_routers(gw_config_ctx_t *cx, const gw_config_node_t *v, const char *path,
                            void *obj)
{
    gw_config_t *c = obj;
    uint64_t n;
    if (!scalar_uint(v, UINT32_MAX, &n) || n < 1 || n > ROUTERS_MAX) {
        return gw_config_fail(cx, v, path, "must be a number from 1 to %d", ROUTERS_MAX);
    }
    c->routers = (unsigned)n;
    return GW_OK;
}

static gw_err_t set_max_request_body(gw_config_ctx_t *cx, const gw_config_node_t *v,
                                     const char *path, void *obj)
{
    gw_config_t *c = obj;
    uint64_t n;
    if (v->kind != GW_CONFIG_SCALAR || gw_parse_size(v->text, &n) != GW_OK) {
        return gw_config_fail(cx, v, path, "not a size (e.g. 1MiB, 512KiB, 1048576)");
    }
    if (n < MIN_MAX_BODY || n > MAX_MAX_BODY) {
        return gw_config_fail(cx, v, path, "must be between 1KiB and 64MiB");
    }
    c->max_request_body = n;
    return GW_OK;
}

static gw_err_t set_page_size(gw_config_ctx_t *cx, const gw_config_node_t *v, const char *path,
                              void *obj)
{
    gw_config_t *c = obj;
    uint64_t n;
    if (!scalar_uint(v, UINT32_MAX, &n) || n < 1 || n > 10000) {
        return gw_config_fail(cx, v, path, "must be a number from 1 to 10000");
    }
    c->page_size = (unsigned)n;
    return GW_OK;
}

static gw_err_t set_max_header_size(gw_config_ctx_t *cx, const gw_config_node_t *v,
                                    const char *path, void *obj)
{
    gw_config_t *c = obj;
    uint64_t n;
    if (v->kind != GW_CONFIG_SCALAR || gw_parse_size(v->text, &n) != GW_OK) {
        return gw_config_fail(cx, v, path, "not a size (e.g. 16KiB)");
    }
    /* h2o itself refuses request heads past about 408 KiB, closing the connection. */
    if (n < 1024 || n > (256u << 10)) {
        return gw_config_fail(cx, v, path, "must be between 1KiB and 256KiB");
    }
    c->max_header_size = n;
    return GW_OK;
}

static gw_err_t set_max_response_body(gw_config_ctx_t *cx, const gw_config_node_t *v,
                                      const char *path, void *obj)
{
    gw_config_t *c = obj;
    uint64_t n;
    if (v->kind != GW_CONFIG_SCALAR || gw_parse_size(v->text, &n) != GW_OK) {
        return gw_config_fail(cx, v, path, "not a size (e.g. 8MiB)");
    }
    if (n < 1024 || n > GW_MAX_RESPONSE_BODY_LIMIT) {
        return gw_config_fail(cx, v, path, "must be between 1KiB and 15MiB");
    }
    c->max_response_body = n;
    return GW_OK;
}

static gw_err_t set_count(gw_config_ctx_t *cx, const gw_config_node_t *v, const char *path,
                          unsigned *out)
{
    uint64_t n;
    if (!scalar_uint(v, 10000000, &n)) {
        return gw_config_fail(cx, v, path, "must be a number from 0 (no limit) to 10000000");
    }
    *out = (unsigned)n;
    return GW_OK;
}

static gw_err_t set_max_sessions(gw_config_ctx_t *cx, const gw_config_node_t *v, const char *path,
                                 void *obj)
{
    return set_count(cx, v, path, &((gw_config_t *)obj)->max_sessions);
}

static gw_err_t set_max_sessions_per_client(gw_config_ctx_t *cx, const gw_config_node_t *v,
                                            const char *path, void *obj)
{
    return set_count(cx, v, path, &((gw_config_t *)obj)->max_sessions_per_client);
}

static gw_err_t set_client_timeout(gw_config_ctx_t *cx, const gw_config_node_t *v, const char *path,
                                   void *obj)
{
    gw_config_t *c = obj;
    uint64_t ms;
    if (v->kind != GW_CONFIG_SCALAR || gw_parse_duration_ms(v->text, &ms) != GW_OK || ms < 100 ||
        ms > 3600000) {
        return gw_config_fail(cx, v, path, "must be a duration from 100ms to 1h");
    }
    c->client_timeout_ms = ms;
    return GW_OK;
}

static gw_err_t set_max_concurrent_requests_per_session(gw_config_ctx_t *cx,
                                                        const gw_config_node_t *v, const char *path,
                                                        void *obj)
{
    return set_count(cx, v, path, &((gw_config_t *)obj)->max_concurrent_requests_per_session);
}

static const directive_t limits_directives[] = {
    {"max_request_body", set_max_request_body},
    {"max_header_size", set_max_header_size},
    {"max_response_body", set_max_response_body},
    {"max_sessions", set_max_sessions},
    {"max_sessions_per_client", set_max_sessions_per_client},
    {"max_concurrent_requests_per_session", set_max_concurrent_requests_per_session},
    {"client_timeout", set_client_timeout},
    {"page_size", set_page_size},
};

static gw_err_t set_limits(gw_config_ctx_t *cx, const gw_config_node_t *v, const char *path,
                           void *obj)
{
    return check_map(cx, v, path, limits_directives, GW_CONFIG_NELEM(limits_directives), obj, NULL);
}

static gw_err_t set_key_file(gw_config_ctx_t *cx, const gw_config_node_t *v, const char *path,
                             void *obj)
{
    gw_config_t *c = obj;
    return take_nonempty(cx, v, path, &c->key_file);
}

static gw_err_t set_ttl(gw_config_ctx_t *cx, const gw_config_node_t *v, const char *path, void *obj)
{
    gw_config_t *c = obj;
    uint64_t ms;
    if (v->kind != GW_CONFIG_SCALAR || gw_parse_duration_ms(v->text, &ms) != GW_OK) {
        return gw_config_fail(cx, v, path, "not a duration (e.g. 30s, 5m, 24h, 7d)");
    }
    if (ms < 1000) {
        return gw_config_fail(cx, v, path, "must be at least 1s");
    }
    c->session_ttl_s = ms / 1000;
    return GW_OK;
}

static gw_err_t set_stream_replay(gw_config_ctx_t *cx, const gw_config_node_t *v, const char *path,
                                  void *obj)
{
    uint64_t n;
    if (!scalar_uint(v, 100000, &n)) {
        return gw_config_fail(cx, v, path,
                              "must be a number of events from 0 (no replay) to 100000");
    }
    ((gw_config_t *)obj)->stream_replay = (unsigned)n;
    return GW_OK;
}

static gw_err_t set_idle_timeout(gw_config_ctx_t *cx, const gw_config_node_t *v, const char *path,
                                 void *obj)
{
    gw_config_t *c = obj;
    uint64_t ms;
    if (v->kind != GW_CONFIG_SCALAR || gw_parse_duration_ms(v->text, &ms) != GW_OK) {
        return gw_config_fail(cx, v, path,
                              "not a duration (e.g. 30m, 1h; 0 never ends an idle session)");
    }
    if (ms != 0 && ms < 1000) {
        return gw_config_fail(cx, v, path, "must be 0 (never) or at least 1s");
    }
    c->session_idle_ms = ms;
    return GW_OK;
}

static const directive_t sessions_directives[] = {
    {"key_file", set_key_file},
    {"ttl", set_ttl},
    {"stream_replay", set_stream_replay},
    {"idle_timeout", set_idle_timeout},
};

static gw_err_t set_sessions(gw_config_ctx_t *cx, const gw_config_node_t *v, const char *path,
                             void *obj)
{
    return check_map(cx, v, path, sessions_directives, GW_CONFIG_NELEM(sessions_directives), obj,
                     NULL);
}

static gw_err_t set_control_socket(gw_config_ctx_t *cx, const gw_config_node_t *v, const char *path,
                                   void *obj)
{
    gw_config_t *c = obj;
    return take_nonempty(cx, v, path, &c->control_socket);
}

/* Permission bits as chmod takes them, in octal with or without a leading 0: "0660", "640". */
static gw_err_t set_control_mode(gw_config_ctx_t *cx, const gw_config_node_t *v, const char *path,
                                 void *obj)
{
    gw_config_t *c = obj;
    unsigned mode = 0;
    int ok = v->kind == GW_CONFIG_SCALAR && v->len >= 1 && v->len <= 4;
    for (size_t i = 0; ok && i < v->len; i++) {
        ok = v->text[i] >= '0' && v->text[i] <= '7';
        mode = mode * 8 + (unsigned)(v->text[i] - '0');
    }
    /* nng takes 0 as "leave the mode alone", so 0000 cannot be asked for. */
    if (!ok || mode == 0 || mode > 0777) {
        return gw_config_fail(cx, v, path, "must be an octal mode from 0001 to 0777, such as 0660");
    }
    c->control_mode = mode;
    return GW_OK;
}

/* Looks name up in the group database: 0 and *gid when found, ENOENT when there is no such
 * group, another errno when the lookup itself failed. */
static int lookup_group(const char *name, int64_t *gid)
{
    size_t size = 16384;
    for (;;) {
        char *buf = malloc(size);
        if (buf == NULL) {
            return ENOMEM;
        }
        struct group gr;
        struct group *found = NULL;
        int rc = getgrnam_r(name, &gr, buf, size, &found);
        if (rc == 0 && found != NULL) {
            *gid = (int64_t)found->gr_gid;
        }
        free(buf);
        if (rc == ERANGE && size < GROUP_BUF_MAX) {
            size *= 2;
            continue;
        }
        if (rc != 0) {
            return rc;
        }
        return found != NULL ? 0 : ENOENT;
    }
}

/* A group name, or a number taken as a gid as it is. A name given here must exist: the broker
 * could not give the socket to it. */
static gw_err_t set_control_group(gw_config_ctx_t *cx, const gw_config_node_t *v, const char *path,
                                  void *obj)
{
    gw_config_t *c = obj;
    gw_err_t err = take_nonempty(cx, v, path, &c->control_group);
    if (err != GW_OK) {
        return err;
    }
    c->control_group_set = 1;
    uint64_t n;
    if (scalar_uint(v, 0x7fffffff, &n)) {
        c->control_gid = (int64_t)n;
        return GW_OK;
    }
    int rc = lookup_group(c->control_group, &c->control_gid);
    if (rc == ENOENT) {
        return gw_config_fail(cx, v, path, "no such group: %s", c->control_group);
    }
    if (rc != 0) {
        return gw_config_fail(cx, v, path, "cannot look up group %s: %s", c->control_group,
                              strerror(rc));
    }
    return GW_OK;
}

static const directive_t control_directives[] = {
    {"socket", set_control_socket},
    {"mode", set_control_mode},
    {"group", set_control_group},
};

static gw_err_t set_control(gw_config_ctx_t *cx, const gw_config_node_t *v, const char *path,
                            void *obj)
{
    return check_map(cx, v, path, control_directives, GW_CONFIG_NELEM(control_directives), obj,
                     NULL);
}

static gw_err_t set_log_level(gw_config_ctx_t *cx, const gw_config_node_t *v, const char *path,
                              void *obj)
{
    gw_config_t *c = obj;
    int level = v->kind == GW_CONFIG_SCALAR ? gw_log_level_parse(v->text) : -1;
    if (level < 0) {
        return gw_config_fail(cx, v, path, "must be one of err, warning, notice, info, debug");
    }
    c->log_level = level;
    return GW_OK;
}

static gw_err_t set_log_format(gw_config_ctx_t *cx, const gw_config_node_t *v, const char *path,
                               void *obj)
{
    gw_config_t *c = obj;
    if (v->kind != GW_CONFIG_SCALAR ||
        (strcmp(v->text, "logfmt") != 0 && strcmp(v->text, "json") != 0)) {
        return gw_config_fail(cx, v, path, "must be logfmt or json");
    }
    c->log_json = strcmp(v->text, "json") == 0;
    return GW_OK;
}

static const directive_t log_directives[] = {
    {"level", set_log_level},
    {"format", set_log_format},
};

static gw_err_t set_log(gw_config_ctx_t *cx, const gw_config_node_t *v, const char *path, void *obj)
{
    return check_map(cx, v, path, log_directives, GW_CONFIG_NELEM(log_directives), obj, NULL);
}

/* ---- servers ---- */

static gw_err_t set_server_name(gw_config_ctx_t *cx, const gw_config_node_t *v, const char *path,
                                void *obj)
{
    gw_server_conf_t *s = obj;
    gw_err_t err = take_string(cx, v, path, &s->name);
    if (err != GW_OK) {
        return err;
    }
    if (!gw_config_is_word(s->name, "_-", 1, GW_SERVER_NAME_MAX)) {
        return gw_config_fail(cx, v, path, "must be 1 to %d characters of [A-Za-z0-9_-]",
                              GW_SERVER_NAME_MAX);
    }
    return GW_OK;
}

static gw_err_t set_server_url(gw_config_ctx_t *cx, const gw_config_node_t *v, const char *path,
                               void *obj)
{
    gw_server_conf_t *s = obj;
    gw_err_t err = take_string(cx, v, path, &s->url);
    if (err != GW_OK) {
        return err;
    }
    const char *problem = gw_config_url_problem(s->url);
    if (problem != NULL) {
        return gw_config_fail(cx, v, path, "%s", problem);
    }
    return GW_OK;
}

static gw_err_t set_server_prefix(gw_config_ctx_t *cx, const gw_config_node_t *v, const char *path,
                                  void *obj)
{
    gw_server_conf_t *s = obj;
    gw_err_t err = take_string(cx, v, path, &s->prefix);
    if (err != GW_OK) {
        return err;
    }
    if (!gw_config_is_word(s->prefix, "_.-", 0, GW_PREFIX_MAX)) {
        return gw_config_fail(cx, v, path, "must be at most %d characters of [A-Za-z0-9_.-]",
                              GW_PREFIX_MAX);
    }
    return GW_OK;
}

/* Headers the gateway itself owns on the upstream hop. */
static const char *const reserved_headers[] = {
    "mcp-session-id", "mcp-protocol-version", "content-type", "accept", "content-length",
    "host",           "transfer-encoding",
};

static gw_err_t set_server_headers(gw_config_ctx_t *cx, const gw_config_node_t *v, const char *path,
                                   void *obj)
{
    gw_server_conf_t *s = obj;
    if (gw_config_node_is_null(v)) {
        return GW_OK;
    }
    if (v->kind != GW_CONFIG_MAPPING) {
        return gw_config_fail(cx, v, path, "expected a mapping of header names to values");
    }
    size_t n = v->nitems / 2;
    if (n > HEADERS_MAX) {
        return gw_config_fail(cx, v, path, "at most %d headers", HEADERS_MAX);
    }
    for (size_t i = 0; i < s->nheaders; i++) {
        free(s->headers[i].name);
        free(s->headers[i].value);
    }
    free(s->headers);
    s->headers = NULL;
    s->nheaders = 0;
    if (n == 0) {
        return GW_OK;
    }
    s->headers = calloc(n, sizeof(*s->headers));
    if (s->headers == NULL) {
        return gw_config_fail_nomem(cx);
    }
    s->nheaders = n;
    for (size_t i = 0; i < n; i++) {
        const gw_config_node_t *key = v->items[2 * i];
        const gw_config_node_t *value = v->items[2 * i + 1];
        gw_header_t *h = &s->headers[i];
        char sub[GW_CONFIG_KEY_PATH_MAX];
        gw_config_path_join(sub, path, key->text);
        if (memchr(key->text, '\0', key->len) != NULL || !gw_config_is_http_token(key->text)) {
            return gw_config_fail(cx, key, sub, "not a valid HTTP header name");
        }
        for (size_t r = 0; r < GW_CONFIG_NELEM(reserved_headers); r++) {
            if (strcasecmp(key->text, reserved_headers[r]) == 0) {
                return gw_config_fail(cx, key, sub, "header is set by the gateway");
            }
        }
        for (size_t j = 0; j < i; j++) {
            if (strcasecmp(s->headers[j].name, key->text) == 0) {
                return gw_config_fail(cx, key, sub, "duplicate header");
            }
        }
        h->name = strdup(key->text);
        if (h->name == NULL) {
            return gw_config_fail_nomem(cx);
        }
        gw_err_t err = take_string(cx, value, sub, &h->value);
        if (err != GW_OK) {
            return err;
        }
        for (const char *p = h->value; *p != '\0'; p++) {
            if (((unsigned char)*p < 0x20 && *p != '\t') || *p == 0x7f) {
                return gw_config_fail(cx, value, sub, "header value contains control characters");
            }
        }
    }
    return GW_OK;
}

/* A backend timeout: a duration greater than 0. */
static gw_err_t take_timeout(gw_config_ctx_t *cx, const gw_config_node_t *v, const char *path,
                             uint64_t *out)
{
    uint64_t ms;
    if (v->kind != GW_CONFIG_SCALAR || gw_parse_duration_ms(v->text, &ms) != GW_OK) {
        return gw_config_fail(cx, v, path, "not a duration (e.g. 250ms, 30s, 5m)");
    }
    if (ms == 0) {
        return gw_config_fail(cx, v, path, "must be greater than 0");
    }
    *out = ms;
    return GW_OK;
}

static gw_err_t set_server_timeout(gw_config_ctx_t *cx, const gw_config_node_t *v, const char *path,
                                   void *obj)
{
    gw_server_conf_t *s = obj;
    return take_timeout(cx, v, path, &s->timeout_ms);
}

/* tool_timeouts: {backend tool name: duration}. A name the backend does not list is allowed (it
 * may list it later); it just never matches. */
static gw_err_t set_server_tool_timeouts(gw_config_ctx_t *cx, const gw_config_node_t *v,
                                         const char *path, void *obj)
{
    gw_server_conf_t *s = obj;
    if (gw_config_node_is_null(v)) {
        return GW_OK;
    }
    if (v->kind != GW_CONFIG_MAPPING) {
        return gw_config_fail(cx, v, path, "expected a mapping of tool names to durations");
    }
    size_t n = v->nitems / 2;
    if (n > TOOL_TIMEOUTS_MAX) {
        return gw_config_fail(cx, v, path, "at most %d tools", TOOL_TIMEOUTS_MAX);
    }
    for (size_t i = 0; i < s->ntool_timeouts; i++) {
        free(s->tool_timeouts[i].tool);
    }
    free(s->tool_timeouts);
    s->tool_timeouts = NULL;
    s->ntool_timeouts = 0;
    if (n == 0) {
        return GW_OK;
    }
    if ((s->tool_timeouts = calloc(n, sizeof(*s->tool_timeouts))) == NULL) {
        return gw_config_fail_nomem(cx);
    }
    for (size_t i = 0; i < n; i++) {
        const gw_config_node_t *key = v->items[2 * i];
        char sub[GW_CONFIG_KEY_PATH_MAX];
        gw_config_path_join(sub, path, key->text);
        if (key->len == 0 || key->len > TOOL_NAME_MAX) {
            return gw_config_fail(cx, key, key->len == 0 ? path : sub,
                                  "a tool name is 1 to %d characters", TOOL_NAME_MAX);
        }
        for (size_t k = 0; k < key->len; k++) {
            unsigned char c = (unsigned char)key->text[k];
            if (c <= 0x20 || c == 0x7f) {
                return gw_config_fail(cx, key, sub,
                                      "a tool name has no spaces or control characters");
            }
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(s->tool_timeouts[j].tool, key->text) == 0) {
                return gw_config_fail(cx, key, sub, "duplicate tool");
            }
        }
        gw_tool_timeout_t *t = &s->tool_timeouts[s->ntool_timeouts];
        if ((t->tool = strdup(key->text)) == NULL) {
            return gw_config_fail_nomem(cx);
        }
        s->ntool_timeouts++;
        gw_err_t err = take_timeout(cx, v->items[2 * i + 1], sub, &t->timeout_ms);
        if (err != GW_OK) {
            return err;
        }
    }
    return GW_OK;
}

static gw_err_t set_server_health_interval(gw_config_ctx_t *cx, const gw_config_node_t *v,
                                           const char *path, void *obj)
{
    gw_server_conf_t *s = obj;
    uint64_t ms;
    if (v->kind != GW_CONFIG_SCALAR || gw_parse_duration_ms(v->text, &ms) != GW_OK) {
        return gw_config_fail(cx, v, path, "not a duration (e.g. 10s; 0 turns health checks off)");
    }
    if (ms != 0 && ms < 100) {
        return gw_config_fail(cx, v, path, "must be 0 (off) or at least 100ms");
    }
    s->health_interval_ms = ms;
    return GW_OK;
}

enum { SRV_NAME, SRV_URL, SRV_PREFIX, SRV_HEADERS, SRV_TIMEOUT, SRV_HEALTH, SRV_TOOL_TIMEOUTS };
static const directive_t server_directives[] = {
    [SRV_NAME] = {"name", set_server_name},
    [SRV_URL] = {"url", set_server_url},
    [SRV_PREFIX] = {"prefix", set_server_prefix},
    [SRV_HEADERS] = {"headers", set_server_headers},
    [SRV_TIMEOUT] = {"timeout", set_server_timeout},
    [SRV_HEALTH] = {"health_interval", set_server_health_interval},
    [SRV_TOOL_TIMEOUTS] = {"tool_timeouts", set_server_tool_timeouts},
};

static gw_err_t set_servers(gw_config_ctx_t *cx, const gw_config_node_t *v, const char *path,
                            void *obj)
{
    gw_config_t *c = obj;
    if (gw_config_node_is_null(v)) {
        return GW_OK;
    }
    if (v->kind != GW_CONFIG_SEQUENCE) {
        return gw_config_fail(cx, v, path, "expected a list of servers");
    }
    if (v->nitems > SERVERS_MAX) {
        return gw_config_fail(cx, v, path, "at most %d servers", SERVERS_MAX);
    }
    if (v->nitems == 0) {
        return GW_OK;
    }
    gw_server_conf_t *s = calloc(v->nitems, sizeof(*s));
    if (s == NULL) {
        return gw_config_fail_nomem(cx);
    }
    c->servers = s;
    c->nservers = v->nitems;
    for (size_t i = 0; i < v->nitems; i++) {
        const gw_config_node_t *item = v->items[i];
        char sub[GW_CONFIG_KEY_PATH_MAX];
        char field[GW_CONFIG_KEY_PATH_MAX];
        gw_config_path_index(sub, path, i);
        s[i].timeout_ms = DEFAULT_TIMEOUT_MS;
        s[i].health_interval_ms = 10000;
        unsigned char seen[GW_CONFIG_NELEM(server_directives)] = {0};
        gw_err_t err = check_map(cx, item, sub, server_directives,
                                 GW_CONFIG_NELEM(server_directives), &s[i], seen);
        if (err != GW_OK) {
            return err;
        }
        if (!seen[SRV_NAME]) {
            return gw_config_fail(cx, item, sub, "missing required key name");
        }
        if (!seen[SRV_URL]) {
            return gw_config_fail(cx, item, sub, "missing required key url");
        }
        if (s[i].prefix == NULL) {
            s[i].prefix = strdup("");
            if (s[i].prefix == NULL) {
                return gw_config_fail_nomem(cx);
            }
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(s[j].name, s[i].name) == 0) {
                gw_config_path_join(field, sub, "name");
                return gw_config_fail(cx, gw_config_node_value_of(item, "name"), field,
                                      "duplicate server name \"%s\" (also servers[%zu])", s[i].name,
                                      j);
            }
            if (s[i].prefix[0] != '\0' && strcmp(s[j].prefix, s[i].prefix) == 0) {
                gw_config_path_join(field, sub, "prefix");
                return gw_config_fail(cx, gw_config_node_value_of(item, "prefix"), field,
                                      "prefix \"%s\" is already used by server \"%s\"", s[i].prefix,
                                      s[j].name);
            }
        }
    }
    return GW_OK;
}

/* ---- http ---- */

/* A list of strings into a NULL-terminated vector (a null value is an empty list). */
static gw_err_t take_string_list(gw_config_ctx_t *cx, const gw_config_node_t *v, const char *path,
                                 char ***out, size_t *n)
{
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
        snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
        gw_err_t err = take_nonempty(cx, v->items[i], sub, &list[i]);
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

static gw_err_t set_allowed_hosts(gw_config_ctx_t *cx, const gw_config_node_t *v, const char *path,
                                  void *obj)
{
    gw_config_t *c = obj;
    return take_string_list(cx, v, path, &c->allowed_hosts, &c->nallowed_hosts);
}

static gw_err_t set_allowed_origins(gw_config_ctx_t *cx, const gw_config_node_t *v,
                                    const char *path, void *obj)
{
    gw_config_t *c = obj;
    return take_string_list(cx, v, path, &c->allowed_origins, &c->nallowed_origins);
}

static gw_err_t set_sse_heartbeat(gw_config_ctx_t *cx, const gw_config_node_t *v, const char *path,
                                  void *obj)
{
    uint64_t ms;
    if (v->kind != GW_CONFIG_SCALAR || gw_parse_duration_ms(v->text, &ms) != GW_OK ||
        (ms != 0 && ms < 100) || ms > 3600000) {
        return gw_config_fail(cx, v, path, "must be 0 (never) or a duration from 100ms to 1h");
    }
    ((gw_config_t *)obj)->sse_heartbeat_ms = ms;
    return GW_OK;
}

static const directive_t http_directives[] = {
    {"allowed_hosts", set_allowed_hosts},
    {"allowed_origins", set_allowed_origins},
    {"sse_heartbeat", set_sse_heartbeat},
};

static gw_err_t set_http(gw_config_ctx_t *cx, const gw_config_node_t *v, const char *path,
                         void *obj)
{
    return check_map(cx, v, path, http_directives, GW_CONFIG_NELEM(http_directives), obj, NULL);
}

/* ---- admin ---- */

static gw_err_t set_admin_address(gw_config_ctx_t *cx, const gw_config_node_t *v, const char *path,
                                  void *obj)
{
    gw_config_t *c = obj;
    gw_err_t err = take_string(cx, v, path, &c->admin_address);
    if (err != GW_OK) {
        return err;
    }
    if (!gw_config_is_address(c->admin_address)) {
        return gw_config_fail(cx, v, path, "not a numeric IPv4 or IPv6 address");
    }
    return GW_OK;
}

static gw_err_t set_admin_port(gw_config_ctx_t *cx, const gw_config_node_t *v, const char *path,
                               void *obj)
{
    gw_config_t *c = obj;
    uint64_t port;
    if (!scalar_uint(v, 65535, &port)) {
        return gw_config_fail(cx, v, path, "not a port number (0..65535)");
    }
    c->admin_port = (uint16_t)port;
    return GW_OK;
}

static gw_err_t set_admin_enabled(gw_config_ctx_t *cx, const gw_config_node_t *v, const char *path,
                                  void *obj)
{
    gw_config_t *c = obj;
    if (v->kind != GW_CONFIG_SCALAR ||
        (strcmp(v->text, "true") != 0 && strcmp(v->text, "false") != 0)) {
        return gw_config_fail(cx, v, path, "must be true or false");
    }
    c->admin_enabled = strcmp(v->text, "true") == 0;
    return GW_OK;
}

static gw_err_t set_ready_min_backends(gw_config_ctx_t *cx, const gw_config_node_t *v,
                                       const char *path, void *obj)
{
    gw_config_t *c = obj;
    uint64_t n;
    if (!scalar_uint(v, 1024, &n)) {
        return gw_config_fail(cx, v, path, "must be a number from 0 to 1024");
    }
    c->ready_min_backends = (unsigned)n;
    return GW_OK;
}

static const directive_t admin_directives[] = {
    {"enabled", set_admin_enabled},
    {"address", set_admin_address},
    {"port", set_admin_port},
    {"ready_min_backends", set_ready_min_backends},
};

static gw_err_t set_admin(gw_config_ctx_t *cx, const gw_config_node_t *v, const char *path,
                          void *obj)
{
    return check_map(cx, v, path, admin_directives, GW_CONFIG_NELEM(admin_directives), obj, NULL);
}

static const directive_t top_directives[] = {
    {"listen", set_listen},   {"mcp_path", set_mcp_path}, {"runtime_dir", set_runtime_dir},
    {"routers", set_routers}, {"limits", set_limits},     {"sessions", set_sessions},
    {"control", set_control}, {"log", set_log},           {"servers", set_servers},
    {"http", set_http},       {"admin", set_admin},
};

/* ---- defaults and the public functions ---- */

static unsigned default_routers(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1) {
        return 1;
    }
    return n > ROUTERS_MAX ? ROUTERS_MAX : (unsigned)n;
}

static gw_err_t fill_defaults(gw_config_t *c)
{
    if (c->listen == NULL) {
        c->listen = calloc(1, sizeof(*c->listen));
        if (c->listen == NULL) {
            return GW_ENOMEM;
        }
        c->nlisten = 1;
        c->listen[0].port = DEFAULT_PORT;
        if ((c->listen[0].address = strdup(DEFAULT_ADDRESS)) == NULL) {
            return GW_ENOMEM;
        }
    }
    if (c->mcp_path == NULL && (c->mcp_path = strdup(DEFAULT_MCP_PATH)) == NULL) {
        return GW_ENOMEM;
    }
    if (c->runtime_dir == NULL && (c->runtime_dir = strdup(DEFAULT_RUNTIME_DIR)) == NULL) {
        return GW_ENOMEM;
    }
    if (c->key_file == NULL && (c->key_file = strdup(DEFAULT_KEY_FILE)) == NULL) {
        return GW_ENOMEM;
    }
    if (c->control_socket == NULL) {
        gw_buf_t b;
        gw_buf_init(&b);
        if (gw_buf_appendf(&b, "%s/control.ipc", c->runtime_dir) != GW_OK) {
            gw_buf_fini(&b);
            return GW_ENOMEM;
        }
        c->control_socket = gw_buf_steal(&b, NULL);
    }
    if (c->control_group == NULL) {
        /* The default group may be missing (a run from a build tree): the broker then keeps
         * its own group on the socket and says so. */
        if ((c->control_group = strdup(DEFAULT_CONTROL_GROUP)) == NULL) {
            return GW_ENOMEM;
        }
        if (lookup_group(c->control_group, &c->control_gid) != 0) {
            c->control_gid = -1;
        }
    }
    if (c->admin_address == NULL && (c->admin_address = strdup("127.0.0.1")) == NULL) {
        return GW_ENOMEM;
    }
    return GW_OK;
}

gw_err_t gw_config_parse(const char *name, const char *text, size_t len, gw_config_t **out,
                         char *err, size_t errlen)
{
    gw_config_ctx_t cx = {.name = name != NULL ? name : "config", .err = err, .errlen = errlen};
    gw_config_node_t *root = NULL;
    gw_config_t *c = NULL;
    gw_err_t rc;

    *out = NULL;
    if (err != NULL && errlen > 0) {
        err[0] = '\0';
    }
    rc = gw_config_tree_read(&cx, text, len, &root);
    if (rc != GW_OK) {
        goto out;
    }
    if (root == NULL || gw_config_node_is_null(root)) {
        rc = gw_config_fail(&cx, root, NULL, "empty configuration: expected a mapping of settings");
        goto out;
    }
    if (root->kind != GW_CONFIG_MAPPING) {
        rc = gw_config_fail(&cx, root, NULL, "the top level must be a mapping of settings");
        goto out;
    }
    c = calloc(1, sizeof(*c));
    if (c == NULL || (c->path = strdup(cx.name)) == NULL) {
        rc = gw_config_fail_nomem(&cx);
        goto out;
    }
    c->routers = default_routers();
    c->max_request_body = DEFAULT_MAX_BODY;
    c->page_size = 100;
    c->max_header_size = 16384;
    c->max_response_body = 8u << 20;
    c->max_sessions = 100000;
    c->max_sessions_per_client = 10000;
    c->client_timeout_ms = 10000;
    c->max_concurrent_requests_per_session = DEFAULT_REQUESTS_PER_SESSION;
    c->session_idle_ms = DEFAULT_IDLE_MS;
    c->admin_enabled = 1;
    c->admin_port = 9090;
    c->ready_min_backends = 1;
    c->session_ttl_s = DEFAULT_TTL_MS / 1000;
    c->stream_replay = 64;
    c->sse_heartbeat_ms = 15000;
    c->log_level = GW_LOG_INFO;
    c->control_mode = DEFAULT_CONTROL_MODE;
    c->control_gid = -1;
    rc = check_map(&cx, root, "", top_directives, GW_CONFIG_NELEM(top_directives), c, NULL);
    if (rc != GW_OK) {
        goto out;
    }
    if (fill_defaults(c) != GW_OK) {
        rc = gw_config_fail_nomem(&cx);
        goto out;
    }
    *out = c;
    c = NULL;
out:
    gw_config_destroy(c);
    gw_config_node_destroy(root);
    return rc;
}

gw_err_t gw_config_load(const char *path, gw_config_t **out, char *err, size_t errlen)
{
    gw_buf_t b;
    gw_err_t rc = GW_OK;
    int fd = -1;

    *out = NULL;
    gw_buf_init(&b);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = errno == ENOENT ? GW_ENOTFOUND : GW_EIO;
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        goto out;
    }
    for (;;) {
        if (b.len > CONFIG_FILE_MAX) {
            rc = GW_ETOOBIG;
            snprintf(err, errlen, "%s: larger than %u bytes", path, CONFIG_FILE_MAX);
            goto out;
        }
        if (gw_buf_reserve(&b, 16384) != GW_OK) {
            rc = GW_ENOMEM;
            snprintf(err, errlen, "%s: out of memory", path);
            goto out;
        }
        ssize_t n = read(fd, b.data + b.len, b.cap - b.len - 1);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            rc = GW_EIO;
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
            goto out;
        }
        if (n == 0) {
            break;
        }
        b.len += (size_t)n;
    }
    rc = gw_config_parse(path, b.data != NULL ? b.data : "", b.len, out, err, errlen);
out:
    if (fd >= 0) {
        close(fd);
    }
    gw_buf_fini(&b);
    return rc;
}

void gw_config_destroy(gw_config_t *c)
{
    if (c == NULL) {
        return;
    }
    for (size_t i = 0; i < c->nlisten; i++) {
        free(c->listen[i].address);
    }
    free(c->listen);
    for (size_t i = 0; i < c->nservers; i++) {
        gw_server_conf_t *s = &c->servers[i];
        for (size_t j = 0; j < s->nheaders; j++) {
            free(s->headers[j].name);
            free(s->headers[j].value);
        }
        free(s->headers);
        for (size_t j = 0; j < s->ntool_timeouts; j++) {
            free(s->tool_timeouts[j].tool);
        }
        free(s->tool_timeouts);
        free(s->name);
        free(s->url);
        free(s->prefix);
    }
    free(c->servers);
    for (size_t i = 0; i < c->nallowed_hosts; i++) {
        free(c->allowed_hosts[i]);
    }
    free(c->allowed_hosts);
    for (size_t i = 0; i < c->nallowed_origins; i++) {
        free(c->allowed_origins[i]);
    }
    free(c->allowed_origins);
    free(c->path);
    free(c->mcp_path);
    free(c->runtime_dir);
    free(c->key_file);
    free(c->control_socket);
    free(c->control_group);
    free(c->admin_address);
    free(c);
}

const gw_server_conf_t *gw_config_server(const gw_config_t *c, const char *name)
{
    for (size_t i = 0; i < c->nservers; i++) {
        if (strcmp(c->servers[i].name, name) == 0) {
            return &c->servers[i];
        }
    }
    return NULL;
}

uint64_t gw_server_tool_timeout_ms(const gw_server_conf_t *s, const char *tool, size_t len)
{
    for (size_t i = 0; i < s->ntool_timeouts; i++) {
        if (strlen(s->tool_timeouts[i].tool) == len &&
            memcmp(s->tool_timeouts[i].tool, tool, len) == 0) {
            return s->tool_timeouts[i].timeout_ms;
        }
    }
    return s->timeout_ms;
}
