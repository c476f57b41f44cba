/* config_load.c: the configuration as the broker takes it, at start, for -t and on reload: the
 * file loaded (common/config.c), then what the file only names checked (every TLS listener's
 * certificate and key load and match; so do every backend's servers[].tls files; every auth
 * issuer's jwks_file gives keys), and warnings for a listener others can reach in clear text
 * without auth and for a backend whose certificate is not verified. */
#include <config.h>

#include <stdio.h>

#include "broker/broker.h"
#include "common/jwks_file.h"
#include "common/log.h"
#include "common/tls.h"

/* Every auth issuer's jwks_file loads with at least one usable key (routers read them again). */
static gw_err_t check_key_files(const gw_config_t *cfg, char *err, size_t errlen)
{
    for (size_t i = 0; i < cfg->nauth_issuers; i++) {
        if (cfg->auth_issuers[i].jwks_file == NULL) {
            continue; /* a jwks_uri: fetched once running; the gateway starts without it */
        }
        gw_jwks_t *set = NULL;
        char why[300];
        if (gw_jwks_file_load(&cfg->auth_issuers[i], &set, why, sizeof(why)) != GW_OK) {
            snprintf(err, errlen, "auth.issuers[%zu].jwks_file: %.300s", i, why);
            return GW_EINVAL;
        }
        gw_jwks_destroy(set);
    }
    return GW_OK;
}

gw_err_t brk_config_load(const char *path, gw_config_t **out, char *err, size_t errlen)
{
    gw_config_t *cfg = NULL;
    char why[400];
    gw_err_t rc = gw_config_load(path, &cfg, err, errlen);
    if (rc != GW_OK) {
        return rc;
    }
    if ((rc = gw_tls_check(cfg, why, sizeof(why))) != GW_OK) {
        snprintf(err, errlen, "%s: %s", path, why);
        gw_config_destroy(cfg);
        return rc;
    }
    if ((rc = gw_tls_check_backends(cfg, why, sizeof(why))) != GW_OK ||
        (rc = check_key_files(cfg, why, sizeof(why))) != GW_OK) {
        snprintf(err, errlen, "%s: %s", path, why);
        gw_config_destroy(cfg);
        return rc;
    }
    for (size_t i = 0; i < cfg->nlisten; i++) {
        const gw_listen_t *l = &cfg->listen[i];
        if (l->tls_certificate == NULL && cfg->auth_resource == NULL && !gw_listen_is_loopback(l)) {
            gw_log_warn("msg=\"a listener others can reach has no TLS: clients' traffic and "
                        "session ids travel in clear text\" listen=%s port=%u",
                        l->address, l->port);
        }
    }
    for (size_t i = 0; i < cfg->nservers; i++) {
        const gw_server_conf_t *s = &cfg->servers[i];
        if (s->tls.set && !s->tls.verify) {
            gw_log_warn("msg=\"servers[%zu].tls.verify is false: the backend's certificate and "
                        "name are not checked, anyone on the path can answer for it\" backend=%s",
                        i, s->name);
        }
    }
    *out = cfg;
    return GW_OK;
}
