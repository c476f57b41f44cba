/* startup.c: what the broker sets up once at start: the runtime directory, the client listeners
 * its routers share, and its own inbox and control socket. */
#include <config.h> /* autoconf's, not common/config.h */

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker/broker.h"
#include "common/log.h"

gw_err_t brk_startup_bind_listeners(brk_t *b)
{
    const gw_config_t *cfg = b->cycle->cfg;
    size_t off = 0;
    for (size_t i = 0; i < cfg->nlisten && i < BRK_MAX_LISTEN; i++) {
        const gw_listen_t *l = &cfg->listen[i];
        struct sockaddr_storage ss;
        socklen_t sl;
        memset(&ss, 0, sizeof(ss));
        int family = strchr(l->address, ':') ? AF_INET6 : AF_INET;
        if (family == AF_INET6) {
            struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
            a->sin6_family = AF_INET6;
            a->sin6_port = htons(l->port);
            inet_pton(AF_INET6, l->address, &a->sin6_addr);
            sl = sizeof(*a);
        } else {
            struct sockaddr_in *a = (struct sockaddr_in *)&ss;
            a->sin_family = AF_INET;
            a->sin_port = htons(l->port);
            inet_pton(AF_INET, l->address, &a->sin_addr);
            sl = sizeof(*a);
        }
        int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int one = 1;
        if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
            (family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one))) ||
            bind(fd, (struct sockaddr *)&ss, sl) != 0 || listen(fd, 1024) != 0 ||
            getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
            gw_log_err("msg=\"cannot listen\" address=%s port=%u error=\"%s\"", l->address, l->port,
                       strerror(errno));
            if (fd >= 0) {
                close(fd);
            }
            return GW_EIO;
        }
        unsigned port = ntohs(family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                 : ((struct sockaddr_in *)&ss)->sin_port);
        off += (size_t)snprintf(b->listen_desc + off, sizeof(b->listen_desc) - off,
                                family == AF_INET6 ? "%s[%s]:%u" : "%s%s:%u", i ? "," : "",
                                l->address, port);
        if (off >= sizeof(b->listen_desc)) {
            off = sizeof(b->listen_desc) - 1;
        }
        b->listen_fds[b->nlisten++] = fd;
    }
    b->listen_fds[b->nlisten] = -1;
    return GW_OK;
}

gw_err_t brk_startup_open_sockets(brk_t *b)
{
    const gw_config_t *cfg = b->cycle->cfg;
    gw_outboxes_init(&b->out, cfg->runtime_dir, BRK_OUTBOX_MAX_BYTES);
    gw_err_t err = gw_inbox_open(&b->inbox, cfg->runtime_dir, GW_BROKER_NAME);
    if (err == GW_EBUSY) {
        gw_log_err("msg=\"another mcpgw-broker runs with this runtime_dir; nothing was touched\" "
                   "runtime_dir=%s",
                   cfg->runtime_dir);
        return err;
    }
    if (err != GW_OK) {
        gw_log_err("msg=\"cannot listen on the broker socket\" runtime_dir=%s error=\"%s\"",
                   cfg->runtime_dir, gw_strerror(err));
        return err;
    }
    return brk_control_open(b);
}

gw_err_t brk_startup_make_dirs(const char *path)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof(tmp), "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, 0755) != 0 && errno != EEXIST) {
                return GW_EIO;
            }
            *p = '/';
        }
    }
    return mkdir(tmp, 0750) != 0 && errno != EEXIST ? GW_EIO : GW_OK;
}
