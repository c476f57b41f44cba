/* names.h: the names of mcpgw's processes, written in one place.
 *
 * Inbox name: where a process receives nng messages and what its envelopes carry as origin:
 * "broker", "router-<index>", "worker-<server>" (the ipc socket is <runtime_dir>/<name>.ipc).
 * Process name: how a process shows in logs, metrics and mcpgwctl: "broker", "router.<index>",
 * "worker.<server>". Server names are [A-Za-z0-9_-]{1,GW_SERVER_NAME_MAX} (config checks it). */
#ifndef MCPGW_COMMON_NAMES_H
#define MCPGW_COMMON_NAMES_H

#include <stddef.h>

#include "common/config.h"

/* Room for any inbox or process name and its NUL. */
#define GW_NAME_MAX (GW_SERVER_NAME_MAX + 16)

typedef struct gw_name {
    char s[GW_NAME_MAX];
} gw_name_t;

#define GW_BROKER_NAME "broker"

gw_name_t gw_router_inbox(unsigned index);
gw_name_t gw_worker_inbox(const char *server);
gw_name_t gw_router_proc(unsigned index);
gw_name_t gw_worker_proc(const char *server);

/* "router-<index>" (no sign, no leading zero but "0", nothing after) -> 1 and *index; else 0. */
int gw_router_inbox_parse(const char *name, size_t len, unsigned *index);
/* "worker.<server>" -> the server part (a pointer into name); else NULL. */
const char *gw_worker_proc_server(const char *name);
/* Is name the inbox name of some process ("broker", "router-<digits>", "worker-<server>")? */
int gw_is_inbox_name(const char *name);

#endif
