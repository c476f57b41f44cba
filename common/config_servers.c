/* config_servers.c: the servers[] list of mcpgw.yaml: the directive table of one backend (name,
 * url, prefix, headers, timeouts, health checks, tools, tls), its headers (and the secret files
 * they may come from) and per-tool timeouts, and the names and prefixes that must not repeat
 * across servers. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/config_int.h"

#define SERVERS_MAX GW_WORKER_PROCS_MAX /* one worker each at least */
#define HEADERS_MAX 64
#define TOOL_TIMEOUTS_MAX 1024

enum {
    SRV_NAME,
    SRV_URL,
    SRV_PREFIX,
    SRV_HEADERS,
    SRV_TIMEOUT,
    SRV_HEALTH,
    SRV_TOOL_TIMEOUTS,
    SRV_MAX_CONNECTIONS,
    SRV_WORKERS,
    SRV_TOOLS,
    SRV_TLS
};

static const char *name_problem(const char *s)
{
    return gw_config_is_word(s, "_-", 1, GW_SERVER_NAME_MAX)
               ? NULL
               : "must be 1 to " GW_CONFIG_STR(GW_SERVER_NAME_MAX) " characters of [A-Za-z0-9_-]";
}

static const char *prefix_problem(const char *s)
{
    return gw_config_is_word(s, "_.-", 0, GW_PREFIX_MAX)
               ? NULL
               : "must be at most " GW_CONFIG_STR(GW_PREFIX_MAX) " characters of [A-Za-z0-9_.-]";
}

/* Headers the gateway itself owns on the upstream hop. */
static const char *const reserved_headers[] = {
    "mcp-session-id", "mcp-protocol-version", "content-type", "accept", "content-length",
    "host",           "transfer-encoding",
};

/* The mapping of a server's headers or tool timeouts: *n entries, at most max (a null value is
 * none, and the caller leaves the field alone). */
static gw_err_t take_mapping(gw_config_ctx_t *cx, const gw_config_node_t *v, const char *path,
                             const char *of, int max, const char *items, size_t *n)
{
    *n = 0;
    if (gw_config_node_is_null(v)) {
        return GW_OK;
    }
    if (v->kind != GW_CONFIG_MAPPING) {
        return gw_config_fail(cx, v, path, "expected a mapping of %s", of);
    }
    *n = v->nitems / 2;
    if (*n > (size_t)max) {
        return gw_config_fail(cx, v, path, "at most %d %s", max, items);
    }
    return GW_OK;
}

#define HEADER_FILE_MAX 8192

gw_err_t gw_config_open_secret(gw_config_ctx_t *cx, const gw_config_node_t *f, const char *path,
                               int *fd, struct stat *st)
{
    *fd = open(f->text, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (*fd < 0) {
        return gw_config_fail(cx, f, path, "%s: %s", f->text, strerror(errno));
    }
    gw_err_t rc = GW_OK;
    if (fstat(*fd, st) != 0 || !S_ISREG(st->st_mode)) {
        rc = gw_config_fail(cx, f, path, "%s: not a regular file", f->text);
    } else if (st->st_mode & S_IROTH) {
        rc = gw_config_fail(cx, f, path, "%s: readable by others (mode %04o): chmod o-r it",
                            f->text, (unsigned)(st->st_mode & 07777));
    }
    if (rc != GW_OK) {
        close(*fd);
        *fd = -1;
    }
    return rc;
}

/* A header value kept out of mcpgw.yaml: {file: PATH}, the file's text without its final
 * newline. The file must be a regular file others cannot read (it holds a credential); every
 * load (start, -t, reload) reads it again. */
static gw_err_t take_header_file(gw_config_ctx_t *cx, const gw_config_node_t *v, const char *path,
                                 char **out)
{
    char sub[GW_CONFIG_KEY_PATH_MAX];
    gw_config_path_join(sub, path, "file");
    if (v->nitems != 2 || v->items[0]->kind != GW_CONFIG_SCALAR ||
        strcmp(v->items[0]->text, "file") != 0 || v->items[1]->kind != GW_CONFIG_SCALAR ||
        v->items[1]->text[0] == '\0') {
        return gw_config_fail(cx, v, path, "expected a string or {file: PATH}");
    }
    const gw_config_node_t *f = v->items[1];
    int fd;
    struct stat st;
    gw_err_t rc = gw_config_open_secret(cx, f, sub, &fd, &st);
    if (rc != GW_OK) {
        return rc;
    }
    if (st.st_size > HEADER_FILE_MAX) {
        rc = gw_config_fail(cx, f, sub, "%s: larger than %d bytes", f->text, HEADER_FILE_MAX);
    }
    char buf[HEADER_FILE_MAX + 1];
    ssize_t n = 0;
    if (rc == GW_OK && (n = read(fd, buf, HEADER_FILE_MAX)) < 0) {
        rc = gw_config_fail(cx, f, sub, "%s: %s", f->text, strerror(errno));
    }
    close(fd);
    if (rc != GW_OK) {
        return rc;
    }
    size_t len = (size_t)n;
    if (len > 0 && buf[len - 1] == '\n') {
        len--;
        if (len > 0 && buf[len - 1] == '\r') {
            len--;
        }
    }
    if (memchr(buf, '\0', len) != NULL) {
        rc = gw_config_fail(cx, f, sub, "%s: header value contains control characters", f->text);
    } else {
        free(*out);
        if ((*out = strndup(buf, len)) == NULL) {
            rc = gw_config_fail_nomem(cx);
        }
    }
    explicit_bzero(buf, sizeof(buf));
    return rc;
}

static gw_err_t set_server_headers(gw_config_ctx_t *cx, const gw_config_directive_t *d,
                                   const gw_config_node_t *v, const char *path, void *obj)
{
    gw_server_conf_t *s = obj;
    size_t n;
    gw_err_t rc = take_mapping(cx, v, path, "header names to values", HEADERS_MAX, "headers", &n);
    if (rc != GW_OK || gw_config_node_is_null(v)) {
        return rc;
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
        gw_err_t err = value->kind == GW_CONFIG_MAPPING
                           ? take_header_file(cx, value, sub, &h->value)
                           : gw_config_take_string(cx, value, sub, &h->value);
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

/* tool_timeouts: {backend tool name: duration}. A name the backend does not list is allowed (it
 * may list it later); it just never matches. */
static gw_err_t set_server_tool_timeouts(gw_config_ctx_t *cx, const gw_config_directive_t *d,
                                         const gw_config_node_t *v, const char *path, void *obj)
{
    gw_server_conf_t *s = obj;
    size_t n;
    gw_err_t rc =
        take_mapping(cx, v, path, "tool names to durations", TOOL_TIMEOUTS_MAX, "tools", &n);
    if (rc != GW_OK || gw_config_node_is_null(v)) {
        return rc;
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
        const char *problem = gw_config_tool_name_problem(key->text, key->len);
        if (problem != NULL) {
            return gw_config_fail(cx, key, key->len == 0 ? path : sub, "%s", problem);
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
        gw_err_t err = gw_config_take_duration(cx, &gw_config_server_directives[SRV_TIMEOUT],
                                               v->items[2 * i + 1], sub, &t->timeout_ms);
        if (err != GW_OK) {
            return err;
        }
    }
    return GW_OK;
}

const gw_config_directive_t gw_config_server_directives[] = {
    [SRV_NAME] = {GW_CONFIG_ROW_STRING("name", gw_server_conf_t, name), .required = 1,
                  .check = name_problem},
    [SRV_URL] = {GW_CONFIG_ROW_STRING("url", gw_server_conf_t, url), .required = 1,
                 .check = gw_config_url_problem},
    [SRV_PREFIX] = {GW_CONFIG_ROW_STRING("prefix", gw_server_conf_t, prefix), .def_str = "",
                    .check = prefix_problem},
    [SRV_HEADERS] = {GW_CONFIG_ROW_CUSTOM("headers", set_server_headers)},
    /* tool_timeouts entries are read with this row too */
    [SRV_TIMEOUT] = {GW_CONFIG_ROW_DURATION("timeout", gw_server_conf_t, timeout_ms), .min = 1,
                     .max = UINT64_MAX, .def = 30000, .msg = "not a duration (e.g. 250ms, 30s, 5m)",
                     .range_msg = "must be greater than 0"},
    [SRV_HEALTH] = {GW_CONFIG_ROW_DURATION("health_interval", gw_server_conf_t, health_interval_ms),
                    .zero_ok = 1, .min = 100, .max = UINT64_MAX, .def = 10000,
                    .msg = "not a duration (e.g. 10s; 0 turns health checks off)",
                    .range_msg = "must be 0 (off) or at least 100ms"},
    [SRV_TOOL_TIMEOUTS] = {GW_CONFIG_ROW_CUSTOM("tool_timeouts", set_server_tool_timeouts)},
    [SRV_MAX_CONNECTIONS] = {GW_CONFIG_ROW_UINT("max_connections", gw_server_conf_t,
                                                max_connections),
                             .min = 1, .max = 10000, .def = 32,
                             .msg = "must be a number from 1 to 10000"},
    [SRV_WORKERS] = {GW_CONFIG_ROW_UINT("workers", gw_server_conf_t, workers), .min = 1,
                     .max = GW_WORKERS_MAX, .def = 1,
                     .msg = "must be a number of worker processes from 1 to " GW_CONFIG_STR(
                         GW_WORKERS_MAX)},
    [SRV_TOOLS] = {GW_CONFIG_ROW_CUSTOM("tools", gw_config_set_server_tools)},
    [SRV_TLS] = {GW_CONFIG_ROW_SECTION("tls", gw_config_server_tls_directives),
                 .set = gw_config_set_server_tls},
};
const size_t gw_config_nserver_directives = GW_CONFIG_NELEM(gw_config_server_directives);

gw_err_t gw_config_set_servers(gw_config_ctx_t *cx, const gw_config_directive_t *d,
                               const gw_config_node_t *v, const char *path, void *obj)
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
    unsigned nworkers = 0;
    for (size_t i = 0; i < v->nitems; i++) {
        const gw_config_node_t *item = v->items[i];
        char sub[GW_CONFIG_KEY_PATH_MAX];
        char field[GW_CONFIG_KEY_PATH_MAX];
        gw_config_path_index(sub, path, i);
        if (gw_config_defaults(gw_config_server_directives, gw_config_nserver_directives, &s[i]) !=
            GW_OK) {
            return gw_config_fail_nomem(cx);
        }
        gw_err_t err = gw_config_check_map(cx, item, sub, gw_config_server_directives,
                                           gw_config_nserver_directives, &s[i]);
        if (err != GW_OK || (err = gw_config_check_server_tools(cx, item, sub, &s[i])) != GW_OK ||
            (err = gw_config_server_tls_finish(cx, item, sub, &s[i])) != GW_OK) {
            return err;
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
        nworkers += s[i].workers;
        if (nworkers > GW_WORKER_PROCS_MAX) {
            const gw_config_node_t *at = gw_config_node_value_of(item, "workers");
            gw_config_path_join(field, sub, "workers");
            return gw_config_fail(cx, at != NULL ? at : item, field,
                                  "more than %d worker processes in all (the sum of every "
                                  "server's workers: routers and the broker connect to each)",
                                  GW_WORKER_PROCS_MAX);
        }
    }
    return GW_OK;
}
