/* config_load.c: the configuration as the broker takes it, at start, for -t and on reload: the
 * file loaded (common/config.c), then what the file only names checked (every TLS listener's
 * certificate and key load and match), and a warning for a listener others can reach in clear
 * text. */
#include <config.h>

#include <stdio.h>

#include "broker/broker.h"
#include "common/log.h"
#include "common/tls.h"

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
    for (size_t i = 0; i < cfg->nlisten; i++) {
        const gw_listen_t *l = &cfg->listen[i];
        if (l->tls_certificate == NULL && !gw_listen_is_loopback(l)) {
            gw_log_warn("msg=\"a listener others can reach has no TLS: clients' traffic and "
                        "session ids travel in clear text\" listen=%s port=%u",
                        l->address, l->port);
        }
    }
    *out = cfg;
    return GW_OK;
}
