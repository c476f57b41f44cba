/* names.h: the names of mcpgw's processes, written in one place.
 *
 * Inbox name: where a process receives nng messages and what its envelopes carry as origin:
 * "broker", "router-<index>", "worker-<server>" (the ipc socket is <runtime_dir>/<name>.ipc).
 * Process name: how a process shows in logs, metrics and mcpgwctl: "broker", "router.<index>",
 * "worker.<server>". Server names are [A-Za-z0-9_-]{1,GW_SERVER_NAME_MAX} (config checks it).
 * A backend with servers[].workers: N has N workers: shard 0 keeps the names above, shard k > 0
 * is "worker-<server>.<k>" and "worker.<server>.<k>" ('.' is no server name character, so no
 * shard's name is another server's). */
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
/* The names of shard (0..GW_WORKERS_MAX - 1) of server's workers; shard 0's are the above. */
gw_name_t gw_worker_shard_inbox(const char *server, unsigned shard);
gw_name_t gw_worker_shard_proc(const char *server, unsigned shard);

/* "router-<index>" (no sign, no leading zero but "0", nothing after) -> 1 and *index; else 0. */
int gw_router_inbox_parse(const char *name, size_t len, unsigned *index);
/* "worker.<server>" -> the server part (a pointer into name); else NULL (a shard k > 0 too). */
const char *gw_worker_proc_server(const char *name);
/* "worker-<server>" or "worker-<server>.<k>" (len bytes; k 1..GW_WORKERS_MAX - 1, no leading
 * zero) -> 1, the server part (pointing into name) and the shard; else 0. */
int gw_worker_inbox_parse(const char *name, size_t len, const char **server, size_t *server_len,
                          unsigned *shard);
/* The same for a process name ("worker.<server>[.<k>]", NUL-terminated). */
int gw_worker_proc_parse(const char *name, const char **server, size_t *server_len,
                         unsigned *shard);
/* Is name the inbox name of some process ("broker", "router-<digits>", "worker-<server>",
 * "worker-<server>.<k>")? */
int gw_is_inbox_name(const char *name);

#endif
