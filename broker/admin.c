/* admin.c: the admin listener: one request per connection, answered from memory, every socket
 * non-blocking and every connection bounded in size and time, so the broker's loop never waits
 * on a slow scraper. */
#include <config.h> /* autoconf's, not common/config.h */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "broker/admin.h"
#include "common/clock.h"
#include "common/log.h"

#define ADMIN_MAX_CONNS 32
#define ADMIN_REQUEST_MAX 8192
#define ADMIN_CONN_TIMEOUT_MS 5000

typedef struct conn {
    int fd; /* -1 when the slot is free */
    int64_t deadline_ms;
    size_t in_len;
    char in[ADMIN_REQUEST_MAX];
    gw_buf_t out;
    size_t out_off;
} conn_t;

struct brk_admin {
    int listen_fd;
    brk_admin_ops_t ops;
    conn_t conns[ADMIN_MAX_CONNS];
};

gw_err_t brk_admin_open(brk_admin_t **out, const char *address, uint16_t port,
                        const brk_admin_ops_t *ops, char *desc, size_t desclen)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    memset(&ss, 0, sizeof(ss));
    int v6 = strchr(address, ':') != NULL;
    if (v6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(port);
        inet_pton(AF_INET6, address, &a->sin6_addr);
        sl = sizeof(*a);
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_port = htons(port);
        inet_pton(AF_INET, address, &a->sin_addr);
        sl = sizeof(*a);
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(fd, (struct sockaddr *)&ss, sl) != 0 || listen(fd, 64) != 0 ||
        getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
        gw_log_err("msg=\"cannot listen on the admin address\" address=%s port=%u error=\"%s\"",
                   address, port, strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        return GW_EIO;
    }
    brk_admin_t *a = calloc(1, sizeof(*a));
    if (a == NULL) {
        close(fd);
        return GW_ENOMEM;
    }
    a->listen_fd = fd;
    a->ops = *ops;
    for (size_t i = 0; i < ADMIN_MAX_CONNS; i++) {
        a->conns[i].fd = -1;
        gw_buf_init(&a->conns[i].out);
    }
    unsigned bound =
        ntohs(v6 ? ((struct sockaddr_in6 *)&ss)->sin6_port : ((struct sockaddr_in *)&ss)->sin_port);
    snprintf(desc, desclen, v6 ? "[%s]:%u" : "%s:%u", address, bound);
    *out = a;
    return GW_OK;
}

static void conn_close(conn_t *c)
{
    close(c->fd);
    c->fd = -1;
    c->in_len = 0;
    c->out_off = 0;
    gw_buf_reset(&c->out);
}

void brk_admin_close(brk_admin_t *a)
{
    if (a == NULL) {
        return;
    }
    for (size_t i = 0; i < ADMIN_MAX_CONNS; i++) {
        if (a->conns[i].fd >= 0) {
            conn_close(&a->conns[i]);
        }
        gw_buf_fini(&a->conns[i].out);
    }
    close(a->listen_fd);
    free(a);
}

size_t brk_admin_pollfds(const brk_admin_t *a, struct pollfd *fds, size_t max)
{
    size_t n = 0;
    if (max == 0) {
        return 0;
    }
    fds[n++] = (struct pollfd){.fd = a->listen_fd, .events = POLLIN};
    for (size_t i = 0; i < ADMIN_MAX_CONNS && n < max; i++) {
        const conn_t *c = &a->conns[i];
        if (c->fd >= 0) {
            fds[n++] = (struct pollfd){.fd = c->fd, .events = c->out.len > 0 ? POLLOUT : POLLIN};
        }
    }
    return n;
}

static void respond(brk_admin_t *a, conn_t *c, const char *method, const char *path)
{
    gw_buf_t body;
    gw_buf_init(&body);
    const char *status = "200 OK";
    const char *ctype = "text/plain; charset=utf-8";
    int head = strcmp(method, "HEAD") == 0;
    if (strcmp(method, "GET") != 0 && !head) {
        status = "405 Method Not Allowed";
        gw_buf_appends(&body, "only GET and HEAD\n");
    } else if (strcmp(path, "/metrics") == 0) {
        ctype = "text/plain; version=0.0.4; charset=utf-8";
        a->ops.metrics(a->ops.arg, &body);
    } else if (strcmp(path, "/healthz") == 0) {
        gw_buf_appends(&body, "ok\n");
    } else if (strcmp(path, "/readyz") == 0) {
        char why[256] = "";
        if (a->ops.ready(a->ops.arg, why, sizeof(why))) {
            gw_buf_appends(&body, "ready\n");
        } else {
            status = "503 Service Unavailable";
            gw_buf_appendf(&body, "not ready: %s\n", why);
        }
    } else {
        status = "404 Not Found";
        gw_buf_appends(&body, "try /metrics, /healthz or /readyz\n");
    }
    gw_buf_appendf(&c->out,
                   "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                   "Cache-Control: no-store\r\nConnection: close\r\n\r\n",
                   status, ctype, body.len);
    if (!head && body.len > 0) {
        gw_buf_append(&c->out, body.data, body.len);
    }
    gw_buf_fini(&body);
}

/* Reads what is there; answers once the request head is complete. */
static void conn_read(brk_admin_t *a, conn_t *c)
{
    ssize_t n = read(c->fd, c->in + c->in_len, sizeof(c->in) - 1 - c->in_len);
    if (n <= 0) {
        if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
            conn_close(c);
        }
        return;
    }
    c->in_len += (size_t)n;
    c->in[c->in_len] = '\0';
    if (strstr(c->in, "\r\n\r\n") == NULL && strstr(c->in, "\n\n") == NULL) {
        if (c->in_len == sizeof(c->in) - 1) {
            gw_buf_appends(&c->out, "HTTP/1.1 431 Request Header Fields Too Large\r\n"
                                    "Content-Length: 0\r\nConnection: close\r\n\r\n");
        }
        return;
    }
    char method[8] = "";
    char path[256] = "";
    if (sscanf(c->in, "%7s %255s", method, path) != 2) {
        gw_buf_appends(
            &c->out, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        return;
    }
    char *q = strchr(path, '?');
    if (q != NULL) {
        *q = '\0';
    }
    respond(a, c, method, path);
}

static void conn_write(conn_t *c)
{
    ssize_t n = write(c->fd, c->out.data + c->out_off, c->out.len - c->out_off);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        return;
    }
    if (n <= 0) {
        conn_close(c);
        return;
    }
    c->out_off += (size_t)n;
    if (c->out_off == c->out.len) {
        conn_close(c);
    }
}

void brk_admin_serve(brk_admin_t *a, const struct pollfd *fds, size_t n)
{
    int64_t now = gw_clock_ms();
    for (size_t k = 1; k < n; k++) {
        for (size_t i = 0; i < ADMIN_MAX_CONNS; i++) {
            conn_t *c = &a->conns[i];
            if (c->fd != fds[k].fd || fds[k].revents == 0) {
                continue;
            }
            if (c->out.len > 0) {
                conn_write(c);
            } else {
                conn_read(a, c);
                if (c->fd >= 0 && c->out.len > 0) {
                    conn_write(c); /* usually all of it, right away */
                }
            }
            break;
        }
    }
    for (size_t i = 0; i < ADMIN_MAX_CONNS; i++) {
        if (a->conns[i].fd >= 0 && now > a->conns[i].deadline_ms) {
            conn_close(&a->conns[i]); /* a scraper that stalls loses its slot */
        }
    }
    if (n == 0 || !(fds[0].revents & POLLIN)) {
        return;
    }
    for (;;) {
        int fd = accept4(a->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            return;
        }
        size_t i = 0;
        while (i < ADMIN_MAX_CONNS && a->conns[i].fd >= 0) {
            i++;
        }
        if (i == ADMIN_MAX_CONNS) {
            close(fd); /* busy: the scraper retries */
            continue;
        }
        a->conns[i].fd = fd;
        a->conns[i].deadline_ms = now + ADMIN_CONN_TIMEOUT_MS;
    }
}
