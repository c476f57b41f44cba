/* config.c: the entry points of the configuration: a file or a text read into a line-numbered
 * tree, checked by the directive tables into an immutable gw_config_t; freeing it; and the
 * look-ups the programs make in it. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/config.h"
#include "common/config_int.h"

#define CONFIG_FILE_MAX (4u << 20) /* a config file is never this big; refuse to slurp more */

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
    if (gw_config_defaults(gw_config_top_directives, gw_config_ntop_directives, c) != GW_OK) {
        rc = gw_config_fail_nomem(&cx);
        goto out;
    }
    rc = gw_config_check_map(&cx, root, "", gw_config_top_directives, gw_config_ntop_directives, c);
    if (rc == GW_OK) {
        rc = gw_config_check_endpoints(&cx, root, c);
    }
    if (rc != GW_OK) {
        goto out;
    }
    if (gw_config_finish(c) != GW_OK) {
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

void gw_listen_fini(gw_listen_t *l)
{
    free(l->address);
    free(l->tls_certificate);
    free(l->tls_key);
}

void gw_config_destroy(gw_config_t *c)
{
    if (c == NULL) {
        return;
    }
    for (size_t i = 0; i < c->nlisten; i++) {
        gw_listen_fini(&c->listen[i]);
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
        gw_tool_names_fini(&s->tools);
        free(s->name);
        free(s->url);
        free(s->prefix);
        free(s->tls.ca_file);
        free(s->tls.client_certificate);
        free(s->tls.client_key);
        free(s->tls.server_name);
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
    free(c->instructions);
    free(c->runtime_dir);
    free(c->key_file);
    free(c->control_socket);
    free(c->control_group);
    free(c->admin_address);
    gw_config_auth_fini(c);
    gw_config_policy_fini(c);
    gw_config_endpoints_fini(c);
    free(c);
}

int gw_config_strings_same(char *const *a, size_t na, char *const *b, size_t nb)
{
    if (na != nb) {
        return 0;
    }
    for (size_t i = 0; i < na; i++) {
        if (strcmp(a[i], b[i]) != 0) {
            return 0;
        }
    }
    return 1;
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

const char *gw_server_tool_timeout_exposed(const gw_server_conf_t *s, size_t i)
{
    const char *tool = s->tool_timeouts[i].tool;
    const char *out = NULL;
    if (gw_tool_names_expose(&s->tools, tool, NULL, &out) != GW_TOOL_EXPOSED) {
        return NULL;
    }
    for (size_t j = 0; out != tool && j < s->ntool_timeouts; j++) {
        if (strcmp(s->tool_timeouts[j].tool, out) == 0) {
            return NULL; /* the backend's own tool of that name keeps its name (worker/catalog.c) */
        }
    }
    return out;
}
