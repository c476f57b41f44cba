/* The server scaffolding both C test backends share: signals, listening, h2o's accept loop. */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <h2o.h>

#include "tests/backends/serve.h"

volatile sig_atomic_t serve_stop_signalled;

static void on_stop_signal(int signo)
{
    serve_stop_signalled = 1;
}

int serve_install_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_IGN;
    if (sigaction(SIGPIPE, &sa, NULL) != 0) {
        return -1;
    }
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0) {
        return -1;
    }
    return 0;
}

int serve_listen(const char *program, const char *address, uint16_t port, int loopback_only)
{
    struct sockaddr_storage ss;
    socklen_t sslen;
    struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
    int fd, on = 1;

    memset(&ss, 0, sizeof(ss));
    if (inet_pton(AF_INET, address, &sin->sin_addr) == 1 &&
        (!loopback_only || (ntohl(sin->sin_addr.s_addr) >> 24) == 127)) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons(port);
        sslen = sizeof(*sin);
    } else if (inet_pton(AF_INET6, address, &sin6->sin6_addr) == 1 &&
               (!loopback_only || IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr))) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(port);
        sslen = sizeof(*sin6);
    } else {
        fprintf(stderr, "%s: --address %s: %s\n", program, address,
                loopback_only ? "not a loopback IP address" : "not an IP address");
        return -1;
    }
    if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
        fprintf(stderr, "%s: socket: %s\n", program, strerror(errno));
        return -1;
    }
    /* accepted sockets inherit TCP_NODELAY from the listener on Linux */
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) != 0 ||
        bind(fd, (struct sockaddr *)&ss, sslen) != 0 || listen(fd, SOMAXCONN) != 0) {
        fprintf(stderr, "%s: listen on %s port %u: %s\n", program, address, port, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

int serve_parse_port(const char *program, const char *text, uint16_t *port)
{
    char *end;
    unsigned long n;

    errno = 0;
    n = strtoul(text, &end, 10);
    if (errno != 0 || *text == '\0' || *end != '\0' || n > 65535) {
        fprintf(stderr, "%s: --port %s: not a port number\n", program, text);
        return -1;
    }
    *port = (uint16_t)n;
    return 0;
}

int serve_bound_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);

    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) {
        return -1;
    }
    if (ss.ss_family == AF_INET6) {
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    }
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

void serve_init(serve_t *s, const char *program, size_t accept_batch, size_t max_request_body,
                int (*on_req)(h2o_handler_t *self, h2o_req_t *req))
{
    s->program = program;
    s->accept_batch = accept_batch;
    h2o_config_init(&s->config);
    s->config.server_name = h2o_iovec_init(program, strlen(program));
    s->config.max_request_entity_size = max_request_body;
    h2o_hostconf_t *hostconf =
        h2o_config_register_host(&s->config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h2o_pathconf_t *pathconf = h2o_config_register_path(hostconf, "/", 0);
    serve_handler_t *handler = (serve_handler_t *)h2o_create_handler(pathconf, sizeof(*handler));
    handler->super.on_req = on_req;
    handler->serve = s;

    s->loop = h2o_evloop_create();
    h2o_context_init(&s->ctx, s->loop, &s->config);
    s->accept_ctx.ctx = &s->ctx;
    s->accept_ctx.hosts = s->config.hosts;
}

static void on_accept(h2o_socket_t *listener, const char *err)
{
    serve_t *s = listener->data;

    if (err != NULL) {
        return;
    }
    for (size_t i = 0; i != s->accept_batch; ++i) {
        h2o_socket_t *sock = h2o_evloop_socket_accept(listener);
        if (sock == NULL) {
            return;
        }
        h2o_accept(&s->accept_ctx, sock);
    }
}

void serve_start(serve_t *s, int listen_fd)
{
    s->listener = h2o_evloop_socket_create(s->loop, listen_fd, H2O_SOCKET_FLAG_DONT_READ);
    s->listener->data = s;
    h2o_socket_read_start(s->listener, on_accept);

    printf("listening port=%d\n", serve_bound_port(listen_fd));
    fflush(stdout);
}

void serve_run_until_signalled(serve_t *s)
{
    while (!serve_stop_signalled) {
        h2o_evloop_run(s->loop, SERVE_STOP_POLL_MS);
    }
    h2o_socket_read_stop(s->listener);
    h2o_socket_close(s->listener);
}

void serve_drain(serve_t *s, const size_t *pending, uint64_t grace_ms)
{
    uint64_t give_up_at = h2o_now(s->loop) + grace_ms;

    while (*pending != 0 && h2o_now(s->loop) < give_up_at) {
        h2o_evloop_run(s->loop, 10);
    }
}

int serve_has_connections(serve_t *s)
{
    return !h2o_linklist_is_empty(&s->ctx.http1._conns) ||
           !h2o_linklist_is_empty(&s->ctx.http2._conns);
}

void serve_dispose(serve_t *s)
{
    h2o_context_dispose(&s->ctx);
    h2o_evloop_destroy(s->loop);
    h2o_config_dispose(&s->config);
}

int serve_is_method(const h2o_req_t *req, const char *method)
{
    return h2o_memis(req->method.base, req->method.len, method, strlen(method));
}

h2o_iovec_t serve_header(const h2o_req_t *req, const char *name)
{
    ssize_t i = h2o_find_header_by_str(&req->headers, name, strlen(name), -1);

    return i != -1 ? req->headers.entries[i].value : h2o_iovec_init(NULL, 0);
}

int serve_media_type_is(h2o_iovec_t value, const char *type)
{
    const char *p = value.base, *q = value.base + value.len;
    const char *semi = value.len != 0 ? memchr(p, ';', value.len) : NULL;

    if (semi != NULL) {
        q = semi;
    }
    while (p < q && (*p == ' ' || *p == '\t')) {
        ++p;
    }
    while (q > p && (q[-1] == ' ' || q[-1] == '\t')) {
        --q;
    }
    return h2o_lcstris(p, (size_t)(q - p), type, strlen(type));
}

int serve_lists_media_type(h2o_iovec_t list, const char *type)
{
    const char *p = list.base, *end = list.base + list.len;

    while (p < end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *item_end = comma != NULL ? comma : end;
        if (serve_media_type_is(h2o_iovec_init(p, (size_t)(item_end - p)), type)) {
            return 1;
        }
        p = item_end + 1;
    }
    return 0;
}

int serve_accepts(const h2o_req_t *req, const char *type)
{
    for (ssize_t i = -1; (i = h2o_find_header(&req->headers, H2O_TOKEN_ACCEPT, i)) != -1;) {
        if (serve_lists_media_type(req->headers.entries[i].value, type)) {
            return 1;
        }
    }
    return 0;
}

h2o_iovec_t serve_sse_event(h2o_mem_pool_t *pool, const char *event_id, h2o_iovec_t json)
{
    size_t id_len = event_id != NULL ? strlen(event_id) : 0;
    size_t head_len =
        (event_id != NULL ? sizeof("id: \n") - 1 + id_len : 0) + sizeof(SERVE_SSE_PREFIX) - 1;
    size_t len = head_len + json.len + sizeof(SERVE_SSE_SUFFIX) - 1;
    char *buf = h2o_mem_alloc_pool(pool, len + 1), *p = buf;

    if (event_id != NULL) {
        memcpy(p, "id: ", 4);
        memcpy(p + 4, event_id, id_len);
        p[4 + id_len] = '\n';
        p += 5 + id_len;
    }
    memcpy(p, SERVE_SSE_PREFIX, sizeof(SERVE_SSE_PREFIX) - 1);
    p += sizeof(SERVE_SSE_PREFIX) - 1;
    if (json.len != 0) {
        memcpy(p, json.base, json.len);
    }
    p += json.len;
    memcpy(p, SERVE_SSE_SUFFIX, sizeof(SERVE_SSE_SUFFIX));
    return h2o_iovec_init(buf, len);
}
