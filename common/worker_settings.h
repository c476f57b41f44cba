/* worker_settings.h: the settings of mcpgw.yaml outside servers[] that workers read (limits on
 * what a backend may send, the pooled sessions' bounds). A worker reads them at its start; a
 * reload that keeps a worker sends it the new values as the headers of its worker/reload message
 * (docs/ipc.md), so that a reload applies them without restarting the worker. */
#ifndef MCPGW_COMMON_WORKER_SETTINGS_H
#define MCPGW_COMMON_WORKER_SETTINGS_H

#include "common/config.h"
#include "common/envelope.h"

#define GW_WORKER_SETTINGS_MAX 8
#define GW_WORKER_SETTING_TEXT 24 /* a decimal uint64_t and its NUL */

typedef struct gw_worker_settings {
    char text[GW_WORKER_SETTINGS_MAX][GW_WORKER_SETTING_TEXT];
    gw_env_header_t headers[GW_WORKER_SETTINGS_MAX];
    size_t n;
} gw_worker_settings_t;

/* c's values as envelope headers (name: the config key; value: decimal), into out. */
void gw_worker_settings_encode(const gw_config_t *c, gw_worker_settings_t *out);

/* Takes into c every value of e's headers that names a worker setting and is a decimal number in
 * the setting's range; others are ignored. Returns how many values changed. */
size_t gw_worker_settings_apply(gw_config_t *c, const gw_envelope_t *e);

#endif
