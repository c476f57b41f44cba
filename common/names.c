/* names.c: inbox and process names (names.h). */
#include <config.h>

#include <stdio.h>
#include <string.h>

#include "common/names.h"

#define ROUTER_INBOX "router-"
#define WORKER_INBOX "worker-"
#define ROUTER_PROC "router."
#define WORKER_PROC "worker."
#define SERVER_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"

static gw_name_t name_of(const char *kind, const char *id)
{
    gw_name_t n;
    /* id is a server name bounded by config, or a number: it always fits */
    snprintf(n.s, sizeof(n.s), "%s%s", kind, id);
    return n;
}

static gw_name_t name_of_index(const char *kind, unsigned index)
{
    char id[16];
    snprintf(id, sizeof(id), "%u", index);
    return name_of(kind, id);
}

gw_name_t gw_router_inbox(unsigned index)
{
    return name_of_index(ROUTER_INBOX, index);
}

gw_name_t gw_worker_inbox(const char *server)
{
    return name_of(WORKER_INBOX, server);
}

static gw_name_t shard_name(const char *kind, const char *server, unsigned shard)
{
    gw_name_t n;
    if (shard == 0) {
        return name_of(kind, server);
    }
    snprintf(n.s, sizeof(n.s), "%s%s.%u", kind, server, shard);
    return n;
}

gw_name_t gw_worker_shard_inbox(const char *server, unsigned shard)
{
    return shard_name(WORKER_INBOX, server, shard);
}

gw_name_t gw_worker_shard_proc(const char *server, unsigned shard)
{
    return shard_name(WORKER_PROC, server, shard);
}

gw_name_t gw_router_proc(unsigned index)
{
    return name_of_index(ROUTER_PROC, index);
}

gw_name_t gw_worker_proc(const char *server)
{
    return name_of(WORKER_PROC, server);
}

int gw_router_inbox_parse(const char *name, size_t len, unsigned *index)
{
    size_t tag = sizeof(ROUTER_INBOX) - 1;
    unsigned long v = 0;
    if (len <= tag || len > tag + 9 || memcmp(name, ROUTER_INBOX, tag) != 0) {
        return 0;
    }
    if (name[tag] == '0' && len > tag + 1) {
        return 0;
    }
    for (size_t i = tag; i < len; i++) {
        if (name[i] < '0' || name[i] > '9') {
            return 0;
        }
        v = v * 10 + (unsigned long)(name[i] - '0');
    }
    *index = (unsigned)v;
    return 1;
}

static int is_server_name(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && n <= GW_SERVER_NAME_MAX && strspn(s, SERVER_CHARS) == n;
}

/* kind<server>[.<k>] in name's len bytes, as gw_worker_inbox_parse says. */
static int worker_parse(const char *kind, const char *name, size_t len, const char **server,
                        size_t *server_len, unsigned *shard)
{
    size_t tag = strlen(kind);
    if (len <= tag || memcmp(name, kind, tag) != 0) {
        return 0;
    }
    const char *s = name + tag;
    size_t rest = len - tag;
    size_t n = 0;
    while (n < rest && strchr(SERVER_CHARS, s[n]) != NULL && s[n] != '\0') {
        n++;
    }
    if (n == 0 || n > GW_SERVER_NAME_MAX) {
        return 0;
    }
    unsigned k = 0;
    if (n < rest) {
        const char *d = s + n + 1;
        size_t nd = rest - n - 1;
        if (s[n] != '.' || nd == 0 || nd > 2 || d[0] == '0') {
            return 0;
        }
        for (size_t i = 0; i < nd; i++) {
            if (d[i] < '0' || d[i] > '9') {
                return 0;
            }
            k = k * 10 + (unsigned)(d[i] - '0');
        }
        if (k >= GW_WORKERS_MAX) {
            return 0;
        }
    }
    *server = s;
    *server_len = n;
    *shard = k;
    return 1;
}

int gw_worker_inbox_parse(const char *name, size_t len, const char **server, size_t *server_len,
                          unsigned *shard)
{
    return worker_parse(WORKER_INBOX, name, len, server, server_len, shard);
}

int gw_worker_proc_parse(const char *name, const char **server, size_t *server_len, unsigned *shard)
{
    return worker_parse(WORKER_PROC, name, strlen(name), server, server_len, shard);
}

const char *gw_worker_proc_server(const char *name)
{
    size_t tag = sizeof(WORKER_PROC) - 1;
    if (strncmp(name, WORKER_PROC, tag) != 0 || !is_server_name(name + tag)) {
        return NULL;
    }
    return name + tag;
}

int gw_is_inbox_name(const char *name)
{
    unsigned index;
    if (strcmp(name, GW_BROKER_NAME) == 0) {
        return 1;
    }
    if (gw_router_inbox_parse(name, strlen(name), &index)) {
        return 1;
    }
    const char *server;
    size_t len;
    unsigned shard;
    return gw_worker_inbox_parse(name, strlen(name), &server, &len, &shard);
}
