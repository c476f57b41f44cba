/* config_server_tls.c: servers[].tls of mcpgw.yaml, how the worker speaks TLS to an https://
 * backend: its directive table, and what it needs of the rest of the server (an https:// url,
 * the client certificate and key together, a key others cannot read). Whether the files load as
 * PEM is checked by the broker (common/tls.c). */
#include <config.h>

#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/config_int.h"

#define SERVER_NAME_MAX 253 /* a DNS name */

/* The name the backend's certificate is checked against: a DNS name or an IPv4 address, no
 * port (an IPv6 literal would need brackets in the url it is put into). */
static const char *server_name_problem(const char *s)
{
    return gw_config_is_word(s, "-.", 1, SERVER_NAME_MAX) && s[0] != '.' && s[0] != '-'
               ? NULL
               : "must be a host name (letters, digits, - and .) or an IPv4 address, no port";
}

const gw_config_directive_t gw_config_server_tls_directives[GW_CONFIG_NSERVER_TLS_DIRECTIVES] = {
    {GW_CONFIG_ROW_NONEMPTY("ca_file", gw_server_conf_t, tls.ca_file)},
    {GW_CONFIG_ROW_NONEMPTY("client_certificate", gw_server_conf_t, tls.client_certificate)},
    {GW_CONFIG_ROW_NONEMPTY("client_key", gw_server_conf_t, tls.client_key)},
    {GW_CONFIG_ROW_NONEMPTY("server_name", gw_server_conf_t, tls.server_name),
     .check = server_name_problem},
    {GW_CONFIG_ROW_BOOL("verify", gw_server_conf_t, tls.verify), .def = 1,
     .msg = "must be true or false"},
};

gw_err_t gw_config_set_server_tls(gw_config_ctx_t *cx, const gw_config_directive_t *d,
                                  const gw_config_node_t *v, const char *path, void *obj)
{
    gw_server_conf_t *s = obj;
    s->tls.set = 1;
    return gw_config_check_map(cx, v, path, d->sub, d->nsub, obj);
}

gw_err_t gw_config_server_tls_finish(gw_config_ctx_t *cx, const gw_config_node_t *item,
                                     const char *path, const gw_server_conf_t *s)
{
    if (!s->tls.set) {
        return GW_OK;
    }
    char sub[GW_CONFIG_KEY_PATH_MAX];
    char field[GW_CONFIG_KEY_PATH_MAX];
    const gw_config_node_t *tls = gw_config_node_value_of(item, "tls");
    gw_config_path_join(sub, path, "tls");
    if (strncasecmp(s->url, "https://", 8) != 0) {
        /* never a silent downgrade: the block says the operator expects TLS */
        return gw_config_fail(cx, tls, sub, "needs an https:// url (url is %s)", s->url);
    }
    if ((s->tls.client_certificate == NULL) != (s->tls.client_key == NULL)) {
        const char *missing = s->tls.client_key == NULL ? "client_key" : "client_certificate";
        return gw_config_fail(cx, tls, sub,
                              "client_certificate and client_key come together (%s "
                              "is missing)",
                              missing);
    }
    if (s->tls.client_key != NULL) {
        int fd;
        struct stat st;
        gw_config_path_join(field, sub, "client_key");
        gw_err_t rc =
            gw_config_open_secret(cx, gw_config_node_value_of(tls, "client_key"), field, &fd, &st);
        if (rc != GW_OK) {
            return rc;
        }
        close(fd);
    }
    return GW_OK;
}
